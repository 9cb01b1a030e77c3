/*
 * bundles.c - support bundles at the gateway: who asked, what became
 * of each, and the customer's decision (bundles.h).
 *
 * A bundle's state is written to state_dir/bundles/ID.json before the
 * change is acted on or acknowledged, so after a crash or a restart
 * every request is still there: one that was being built is built
 * again, one that was being uploaded goes on from where the relay has
 * it.  Everything a request carries is checked where it enters: the
 * vendor's message (bounded, its ticket a plain name, control
 * characters stripped from who it says asked), the engineer's id (hex
 * digits of the monitor's choosing, never a path), an event's type.
 */
#include "gateway/bundles_int.h"

#include <sys/random.h>
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/actor.h"
#include "lib/clock.h"
#include "lib/escape.h"
#include "lib/fileio.h"
#include "lib/ident.h"
#include "lib/log.h"
#include "lib/parse.h"

#define STATE_FILE_MAX	(16 * 1024)
#define MANIFEST_MAX	(16 * 1024 * 1024)	/* what show reads back */

static void	bundles_schedule(struct bundles *);
static void	bundles_built(struct bundles *, const char *, json_t *,
		    const char *);

/* A string field of at most max bytes into dst; 0, or -1. */
static int
copy_field(json_t *j, const char *key, char *dst, size_t max)
{
	const char *s = json_string_value(json_object_get(j, key));

	if (s == NULL || strlen(s) >= max)
		return -1;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static uint64_t
uint_field(json_t *j, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(j, key));

	return v < 0 ? 0 : (uint64_t)v;
}

static time_t
time_field(json_t *j, const char *key)
{
	const char	*s = json_string_value(json_object_get(j, key));
	time_t		 t;

	return s != NULL && parse_time(s, &t) == 0 ? t : 0;
}

/* Read ID.json (name) into b: 0, or -1 when it is not one of ours. */
static int
bundle_load(struct bundles *bs, const char *name, struct bundle *b)
{
	char		 path[4200], id[BUNDLES_ID_LEN + 1];
	struct stat	 sb;
	json_t		*j = NULL;
	int		 fd, st, rc = -1;

	if (strlen(name) != BUNDLES_ID_LEN + 5 ||
	    strcmp(name + BUNDLES_ID_LEN, ".json") != 0)
		return -1;
	memcpy(id, name, BUNDLES_ID_LEN);
	id[BUNDLES_ID_LEN] = '\0';
	if (!ident_valid(id, BUNDLES_ID_LEN, IDENT_HEX))
		return -1;
	bundle_path(bs, id, ".json", path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    sb.st_size <= STATE_FILE_MAX)
		j = json_loadfd(fd, JSON_REJECT_DUPLICATES, NULL);
	close(fd);
	memset(b, 0, sizeof(*b));
	if (j == NULL || copy_field(j, "id", b->id, sizeof(b->id)) == -1 ||
	    strcmp(b->id, id) != 0 ||
	    (st = bundle_state_lookup(json_string_value(json_object_get(j,
	    "state")))) == -1 ||
	    copy_field(j, "source", b->source, sizeof(b->source)) == -1 ||
	    copy_field(j, "requested_by", b->by, sizeof(b->by)) == -1 ||
	    copy_field(j, "ticket", b->ticket, sizeof(b->ticket)) == -1 ||
	    copy_field(j, "session", b->session, sizeof(b->session)) == -1 ||
	    copy_field(j, "sha256", b->sha256, sizeof(b->sha256)) == -1 ||
	    copy_field(j, "manifest_sha256", b->manifest_sha256,
	    sizeof(b->manifest_sha256)) == -1 ||
	    copy_field(j, "decided_by", b->decided_by,
	    sizeof(b->decided_by)) == -1 ||
	    copy_field(j, "reason", b->reason, sizeof(b->reason)) == -1) {
		log_error("%s: not a bundle's state; left alone", path);
		goto out;
	}
	b->state = (enum bstate)st;
	b->msg_id = uint_field(j, "message_id");
	b->requested = time_field(j, "requested");
	b->built = time_field(j, "built");
	b->finished = time_field(j, "finished");
	b->size = uint_field(j, "size");
	b->bytes_read = uint_field(j, "bytes_read");
	b->files = uint_field(j, "files");
	b->left_out = uint_field(j, "left_out");
	b->redactions = uint_field(j, "redactions");
	b->truncated = json_is_true(json_object_get(j, "truncated"));
	b->timed_out = json_is_true(json_object_get(j, "timed_out"));
	b->uploaded = uint_field(j, "uploaded");
	/* Kept since the relay could refuse a bundle (absent before). */
	b->refusals = (unsigned)uint_field(j, "refusals");
	if (json_object_get(j, "refused") != NULL &&
	    copy_field(j, "refused", b->refused, sizeof(b->refused)) == -1) {
		log_error("%s: not a bundle's state; left alone", path);
		goto out;
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

/* ---- keeping it bounded ---- */

static void
bundle_unlink(struct bundles *bs, const char *id, const char *suffix)
{
	char path[4200];

	bundle_path(bs, id, suffix, path, sizeof(path));
	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("bundle %s: %s: %s", id, path, strerror(errno));
}

/* Remove bundle i and everything of it from state_dir. */
static void
bundle_remove(struct bundles *bs, size_t i)
{
	const char *id = bs->b[i].id;

	upload_forget(bs, id);
	bundle_unlink(bs, id, ".tar.gz");
	bundle_unlink(bs, id, ".tar.gz.part");
	bundle_unlink(bs, id, ".manifest.json");
	bundle_unlink(bs, id, ".manifest.json.part");
	bundle_unlink(bs, id, ".json");
	memmove(&bs->b[i], &bs->b[i + 1], (bs->n - i - 1) * sizeof(bs->b[0]));
	bs->n--;
}

/*
 * Finished bundles go after BUNDLES_KEEP; to make room for one more
 * (room set), the oldest finished one goes at once.  1 if there is
 * room then (or room was not asked for), else 0.
 */
static int
bundles_prune(struct bundles *bs, int room)
{
	time_t	now = clock_now();
	size_t	i = 0;

	while (i < bs->n) {
		if (bundle_finished(&bs->b[i]) && now - bs->b[i].finished >
		    BUNDLES_KEEP)
			bundle_remove(bs, i);
		else
			i++;
	}
	for (i = 0; room && bs->n >= BUNDLES_MAX && i < bs->n; )
		if (bundle_finished(&bs->b[i]))
			bundle_remove(bs, i);
		else
			i++;
	return !room || bs->n < BUNDLES_MAX;
}

static size_t
count_state(const struct bundles *bs, enum bstate st)
{
	size_t i, n = 0;

	for (i = 0; i < bs->n; i++)
		n += bs->b[i].state == st;
	return n;
}

/* ---- requests ---- */

static void
new_id(char *id)
{
	uint8_t	rnd[BUNDLES_ID_LEN / 2];
	size_t	i;

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		fatal("getrandom failed");
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
}

/*
 * May one more bundle be requested now?  [bundle] enabled, and room
 * in the queue and in state_dir.  0; 1 for now, not now (why); -1
 * not at all (why).
 */
static int
may_request(struct bundles *bs, char *why, size_t whylen)
{
	if (!bs->pol->bundle_enabled) {
		snprintf(why, whylen, "support bundles are disabled on this "
		    "cluster");
		return -1;
	}
	if (count_state(bs, BS_REQUESTED) >= BUNDLES_QUEUED_MAX) {
		snprintf(why, whylen, "%d bundles wait to be built already",
		    BUNDLES_QUEUED_MAX);
		return 1;
	}
	if (!bundles_prune(bs, 1)) {
		snprintf(why, whylen, "%d bundles are kept and none is "
		    "finished (porthole bundles lists them)", BUNDLES_MAX);
		return 1;
	}
	return 0;
}

/*
 * Queue a request (nb: everything but its state and time), on record
 * before it counts.  0; 1 refused for now, -1 refused (why).
 */
static int
bundles_add(struct bundles *bs, struct bundle *nb, char *why, size_t whylen)
{
	struct bundle	*grown;
	json_t		*ev;
	char		 path[4200];
	int		 rc;

	if ((rc = may_request(bs, why, whylen)) != 0)
		return rc;
	if (bundle_find(bs, nb->id) != NULL) {
		snprintf(why, whylen, "bundle %s exists already", nb->id);
		return -1;
	}
	nb->state = BS_REQUESTED;
	nb->requested = clock_now();
	ev = json_pack("{s:s, s:s, s:s, s:s*, s:s*}", "bundle", nb->id,
	    "source", nb->source, "requested_by", nb->by, "ticket",
	    nb->ticket[0] != '\0' ? nb->ticket : NULL, "session",
	    nb->session[0] != '\0' ? nb->session : NULL);
	if (nb->msg_id != 0)
		json_object_set_new(ev, "message_id",
		    json_integer((json_int_t)nb->msg_id));
	/* Kept before it is audited: the audit line says it is queued. */
	bundle_path(bs, nb->id, ".json", path, sizeof(path));
	if ((grown = reallocarray(bs->b, bs->n + 1, sizeof(*grown))) == NULL ||
	    bundle_save(bs, nb) == -1) {
		if (grown != NULL)
			bs->b = grown;
		json_decref(ev);
		snprintf(why, whylen, "%s cannot be written (the log says why)",
		    path);
		return -1;
	}
	bs->b = grown;
	if (bundles_audit(bs, "bundle_requested", ev) == -1) {
		(void)unlink(path);
		snprintf(why, whylen, "the audit log cannot be written");
		return -1;
	}
	bs->b[bs->n++] = *nb;
	log_info("bundle %s requested by %s%s%s", nb->id, nb->by,
	    nb->ticket[0] != '\0' ? ", ticket " : "", nb->ticket);
	bundles_schedule(bs);
	return 0;
}

int
bundles_engineer(struct bundles *bs, const char *id, const char *engineer,
    const char *ticket, const char *sid, char *why, size_t whylen)
{
	struct bundle nb;

	memset(&nb, 0, sizeof(nb));
	if (strlen(id) != BUNDLES_ID_LEN ||
	    !ident_valid(id, BUNDLES_ID_LEN, IDENT_HEX)) {
		snprintf(why, whylen, "not a bundle id");
		return -1;
	}
	memcpy(nb.id, id, BUNDLES_ID_LEN + 1);
	snprintf(nb.source, sizeof(nb.source), "engineer");
	/* The certificate's principal and ticket were checked at login. */
	escape_text(engineer, strlen(engineer), nb.by + 9, sizeof(nb.by) - 9);
	memcpy(nb.by, "engineer ", 9);
	if (ticket != NULL && ident_valid(ticket, BUNDLES_TICKET_MAX,
	    IDENT_NAME))
		snprintf(nb.ticket, sizeof(nb.ticket), "%s", ticket);
	snprintf(nb.session, sizeof(nb.session), "%s", sid);
	return bundles_add(bs, &nb, why, whylen);
}

void
bundles_event(struct bundles *bs, const char *type)
{
	struct bundle	nb;
	time_t		now = clock_now();
	char		why[256];
	size_t		i, slot = 0;

	if (type == NULL)
		return;
	for (i = 0; bs->pol->bundle_enabled &&
	    i < bs->pol->nbundle_on_events; i++)
		if (strcmp(bs->pol->bundle_on_events[i], type) == 0)
			break;
	if (!bs->pol->bundle_enabled || i == bs->pol->nbundle_on_events)
		return;
	/* A product that crashes in a loop must not fill the disk. */
	for (i = 0; i < sizeof(bs->events) / sizeof(bs->events[0]); i++) {
		if (strcmp(bs->events[i].type, type) == 0) {
			if (now - bs->events[i].at < BUNDLES_EVENT_QUIET &&
			    now >= bs->events[i].at)
				return;
			slot = i;
			break;
		}
		if (bs->events[i].at < bs->events[slot].at)
			slot = i;
	}
	snprintf(bs->events[slot].type, sizeof(bs->events[slot].type), "%s",
	    type);
	bs->events[slot].at = now;
	memset(&nb, 0, sizeof(nb));
	new_id(nb.id);
	snprintf(nb.source, sizeof(nb.source), "event");
	snprintf(nb.by, sizeof(nb.by), "event %s", type);
	if (bundles_add(bs, &nb, why, sizeof(why)) != 0)
		log_warn("bundle for event %s not gathered: %s", type, why);
}

/* ---- the vendor's requests (inbox.h) ---- */

/*
 * A bundle_request body: {"ticket": T, "requested_by": WHO}, both
 * optional but bounded; the ticket a plain name.  0, or -1 with why.
 */
static int
vendor_body(json_t *body, struct bundle *nb, char *why, size_t whylen)
{
	json_t		*jt = json_object_get(body, "ticket");
	json_t		*jb = json_object_get(body, "requested_by");
	const char	*t = json_string_value(jt), *by = json_string_value(jb);
	char		 shown[BUNDLES_BY_MAX + 1];
	size_t		 i;

	if ((jt != NULL && (t == NULL || !ident_valid(t, BUNDLES_TICKET_MAX,
	    IDENT_NAME))) || (jb != NULL && (by == NULL ||
	    strlen(by) > 64))) {
		snprintf(why, whylen, "a bundle_request carries a ticket of "
		    "1-%d of %s and requested_by of at most 64 bytes",
		    BUNDLES_TICKET_MAX, ident_alphabet(IDENT_NAME));
		return -1;
	}
	snprintf(nb->source, sizeof(nb->source), "vendor");
	if (t != NULL)
		snprintf(nb->ticket, sizeof(nb->ticket), "%s", t);
	/* Shown as the vendor's, with its control characters stripped. */
	snprintf(shown, sizeof(shown), "%s", by != NULL ? by : "");
	for (i = 0; shown[i] != '\0'; i++)
		if ((unsigned char)shown[i] < 0x20 || shown[i] == 0x7f)
			shown[i] = ' ';
	if (!parse_utf8(shown, strlen(shown)))
		shown[0] = '\0';
	snprintf(nb->by, sizeof(nb->by), "vendor%s%s%s", shown[0] != '\0' ?
	    " (" : "", shown, shown[0] != '\0' ? ")" : "");
	return 0;
}

static struct bundle *
find_message(struct bundles *bs, uint64_t id)
{
	size_t i;

	for (i = 0; i < bs->n; i++)
		if (bs->b[i].msg_id == id)
			return &bs->b[i];
	return NULL;
}

static enum inbox_verdict
vendor_check(void *arg, uint64_t id, json_t *body, char *why, size_t whylen)
{
	struct bundles	*bs = arg;
	struct bundle	 nb;

	memset(&nb, 0, sizeof(nb));
	if (vendor_body(body, &nb, why, whylen) == -1)
		return INBOX_REFUSE;
	if (find_message(bs, id) != NULL)
		return INBOX_ACCEPT;	/* acted on already */
	if (!bs->pol->bundle_enabled) {
		snprintf(why, whylen, "support bundles are disabled on this "
		    "cluster");
		return INBOX_REFUSE;
	}
	/* A full queue is a wait, not a refusal: offered again later. */
	switch (may_request(bs, why, whylen)) {
	case 0:
		return INBOX_ACCEPT;
	case 1:
		return INBOX_DEFER;
	default:
		return INBOX_REFUSE;
	}
}

/*
 * A request not queued (its record could not be kept, the audit log
 * not written, or the queue filled since it was judged) is not kept:
 * not acknowledged, it is judged again when offered again.
 */
static enum inbox_acted
vendor_act(void *arg, uint64_t id, json_t *body, int restart, char *why,
    size_t whylen)
{
	struct bundles	*bs = arg;
	struct bundle	 nb;

	if (find_message(bs, id) != NULL)
		return INBOX_KEPT;
	/*
	 * None at a restart: never queued (the gateway stopped first), or
	 * finished and removed since - queued now, that would be built
	 * twice.  The relay offers it again if it was never acknowledged.
	 */
	if (restart)
		return INBOX_UNKNOWN;
	memset(&nb, 0, sizeof(nb));
	if (vendor_body(body, &nb, why, whylen) == -1) {
		log_error("bundle request %" PRIu64 ": %s", id, why);
		return INBOX_KEPT;	/* nothing to keep: checked before */
	}
	new_id(nb.id);
	nb.msg_id = id;
	if (bundles_add(bs, &nb, why, whylen) != 0)
		return INBOX_UNSAVED;
	return INBOX_KEPT;
}

/* The message may leave the inbox once its bundle is finished or gone. */
static int
vendor_done(void *arg, uint64_t id)
{
	struct bundle *b = find_message(arg, id);

	return b == NULL || bundle_finished(b);
}

/* ---- building ---- */

static void
next_build(evutil_socket_t fd, short what, void *arg)
{
	struct bundles	*bs = arg;
	struct bundle	*b;
	char		 why[256];
	size_t		 i;

	(void)fd;
	(void)what;
	if (bs->build != NULL)
		return;
	for (i = 0; i < bs->n; i++) {
		b = &bs->b[i];
		if (b->state != BS_REQUESTED)
			continue;
		if (build_start(bs, b, why, sizeof(why)) == 0)
			return;
		bundles_built(bs, b->id, NULL, why);
	}
}

/* Start the next build soon, if none runs. */
static void
bundles_schedule(struct bundles *bs)
{
	if (bs->build == NULL)
		event_active(bs->ev_next, EV_TIMEOUT, 0);
}

/* What the builder reported, into b; 0, or -1 when it makes no sense. */
static int
take_result(struct bundle *b, json_t *r)
{
	const char *sha = json_string_value(json_object_get(r, "sha256"));
	const char *msha = json_string_value(json_object_get(r,
	    "manifest_sha256"));

	if (sha == NULL || strlen(sha) != 64 || !ident_valid(sha, 64,
	    IDENT_HEX) || msha == NULL || strlen(msha) != 64 ||
	    !ident_valid(msha, 64, IDENT_HEX))
		return -1;
	memcpy(b->sha256, sha, 65);
	memcpy(b->manifest_sha256, msha, 65);
	b->size = uint_field(r, "size");
	b->bytes_read = uint_field(r, "bytes_read");
	b->files = uint_field(r, "files");
	b->left_out = uint_field(r, "left_out");
	b->redactions = uint_field(r, "redactions");
	b->truncated = json_is_true(json_object_get(r, "truncated"));
	b->timed_out = json_is_true(json_object_get(r, "timed_out"));
	return 0;
}

/* Move ID.SUFFIX.part to ID.SUFFIX; 0, or -1 (logged). */
static int
bundle_commit(struct bundles *bs, const char *id, const char *suffix)
{
	char from[4200], to[4200], part[64];

	snprintf(part, sizeof(part), "%s.part", suffix);
	bundle_path(bs, id, part, from, sizeof(from));
	bundle_path(bs, id, suffix, to, sizeof(to));
	if (rename(from, to) == -1) {
		log_error("bundle %s: %s: %s", id, to, strerror(errno));
		return -1;
	}
	return 0;
}

static void
bundle_failed(struct bundles *bs, struct bundle *b, const char *why)
{
	b->state = BS_FAILED;
	b->finished = clock_now();
	snprintf(b->reason, sizeof(b->reason), "%s", why);
	bundle_unlink(bs, b->id, ".tar.gz.part");
	bundle_unlink(bs, b->id, ".manifest.json.part");
	log_warn("bundle %s could not be built: %s", b->id, why);
	(void)bundles_audit(bs, "bundle_failed", json_pack("{s:s, s:s}",
	    "bundle", b->id, "reason", why));
	(void)bundle_save(bs, b);
}

/* The builder ended: its result applied to the bundle. */
static void
bundles_built(struct bundles *bs, const char *id, json_t *r,
    const char *why)
{
	struct bundle	*b = bundle_find(bs, id);
	char		 dirpath[4200];
	int		 dfd;

	if (b == NULL)
		return;
	if (r == NULL || take_result(b, r) == -1) {
		bundle_failed(bs, b, r == NULL ? why : "the builder's result "
		    "is malformed");
		goto next;
	}
	if (bundle_commit(bs, id, ".manifest.json") == -1 ||
	    bundle_commit(bs, id, ".tar.gz") == -1) {
		bundle_failed(bs, b, "the bundle cannot be kept in state_dir");
		goto next;
	}
	snprintf(dirpath, sizeof(dirpath), "%s", bs->dir);
	if ((dfd = open(dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	b->built = clock_now();
	b->state = bs->pol->bundle_approval_required ? BS_WAITING : BS_READY;
	/* Its hash and what it holds are on record before it can leave. */
	if (bundles_audit(bs, "bundle_built", json_pack("{s:s, s:s, s:I, "
	    "s:I, s:I, s:I, s:I, s:b, s:b, s:s, s:s}", "bundle", b->id,
	    "sha256", b->sha256, "size", (json_int_t)b->size, "bytes_read",
	    (json_int_t)b->bytes_read, "files", (json_int_t)b->files,
	    "left_out", (json_int_t)b->left_out, "redactions",
	    (json_int_t)b->redactions, "truncated", b->truncated,
	    "timed_out", b->timed_out, "manifest_sha256", b->manifest_sha256,
	    "approval", b->state == BS_WAITING ? "required" : "none")) == -1) {
		bundle_failed(bs, b, "the audit log cannot be written");
		bundle_unlink(bs, b->id, ".tar.gz");
		goto next;
	}
	(void)bundle_save(bs, b);
	log_info("bundle %s built: %" PRIu64 " bytes, SHA-256 %s%s", b->id,
	    b->size, b->sha256, b->state == BS_WAITING ?
	    "; it waits for porthole bundle approve" : "");
	if (b->state == BS_READY && bs->kick != NULL)
		bs->kick(bs->kick_arg);
next:
	bundles_schedule(bs);
	/* A vendor's request that waited for room may come in now. */
	if (bs->inbox != NULL)
		inbox_retry(bs->inbox);
}

/* ---- the customer ---- */

/* The audit fields of a's decision on b: the actor's, and the bundle. */
static json_t *
decision_fields(const struct actor *a, const struct bundle *b)
{
	json_t *ev;

	if ((ev = actor_fields(a)) == NULL)
		return NULL;
	json_object_set_new(ev, "bundle", json_string(b->id));
	json_object_set_new(ev, "sha256", json_string(b->sha256));
	return ev;
}

int
bundles_decide(struct bundles *bs, const char *id, int approve,
    const struct actor *a, char *why, size_t whylen)
{
	struct bundle *b = bundle_find(bs, id);

	if (b == NULL) {
		snprintf(why, whylen, "no such bundle");
		return -1;
	}
	if (b->state != BS_WAITING && !(b->state == BS_REQUESTED && !approve) &&
	    !(b->state == BS_BUILDING && !approve)) {
		snprintf(why, whylen, "bundle %s is %s, not waiting for "
		    "approval", id, bundle_state_name(b->state));
		return -1;
	}
	if (bundles_audit(bs, approve ? "bundle_approved" : "bundle_denied",
	    decision_fields(a, b)) == -1) {
		snprintf(why, whylen, "the audit log cannot be written");
		return -1;
	}
	if (b->state == BS_BUILDING)
		build_kill(bs);
	snprintf(b->decided_by, sizeof(b->decided_by), "%s", a->by);
	snprintf(b->reason, sizeof(b->reason), "%s", a->reason);
	if (approve) {
		b->state = BS_READY;
	} else {
		b->state = BS_DENIED;
		b->finished = clock_now();
		upload_forget(bs, id);
		bundle_unlink(bs, id, ".tar.gz");
		bundle_unlink(bs, id, ".tar.gz.part");
	}
	(void)bundle_save(bs, b);
	log_info("bundle %s %s by %s", id, approve ? "approved" : "denied",
	    a->by);
	if (approve && bs->kick != NULL)
		bs->kick(bs->kick_arg);
	bundles_schedule(bs);
	return 0;
}

int
bundles_retry(struct bundles *bs, const char *id, const struct actor *a,
    char *why, size_t whylen)
{
	struct bundle	*b = bundle_find(bs, id);
	struct stat	 sb;
	char		 path[4200];
	json_t		*ev;

	if (b == NULL) {
		snprintf(why, whylen, "no such bundle");
		return -1;
	}
	if (b->state != BS_FAILED) {
		snprintf(why, whylen, "bundle %s is %s, not failed", id,
		    bundle_state_name(b->state));
		return -1;
	}
	if (!bs->pol->bundle_enabled) {
		snprintf(why, whylen, "support bundles are disabled on this "
		    "cluster");
		return -1;
	}
	/* Only what was built, audited and kept may leave: never rebuilt. */
	bundle_path(bs, id, ".tar.gz", path, sizeof(path));
	if (b->built == 0 || b->sha256[0] == '\0' || lstat(path, &sb) == -1 ||
	    !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != b->size) {
		snprintf(why, whylen, "bundle %s has no archive to send (%s): "
		    "ask for a new bundle", id, b->reason);
		return -1;
	}
	if ((ev = decision_fields(a, b)) != NULL) {
		json_object_set_new(ev, "refusals",
		    json_integer((json_int_t)b->refusals));
		json_object_set_new(ev, "failed", json_string(b->reason));
	}
	if (bundles_audit(bs, "bundle_retried", ev) == -1) {
		snprintf(why, whylen, "the audit log cannot be written");
		return -1;
	}
	b->state = BS_READY;
	b->finished = 0;
	b->refusals = b->bad_hashes = 0;
	b->refused[0] = '\0';
	b->next_try = 0;
	snprintf(b->decided_by, sizeof(b->decided_by), "%s", a->by);
	snprintf(b->reason, sizeof(b->reason), "%s", a->reason);
	(void)bundle_save(bs, b);
	log_info("bundle %s sent again by %s", id, a->by);
	if (bs->kick != NULL)
		bs->kick(bs->kick_arg);
	return 0;
}

json_t *
bundles_list(struct bundles *bs)
{
	json_t	*list = json_array(), *j;
	size_t	 i;

	for (i = bs->n; list != NULL && i > 0; i--)
		if ((j = bundle_json(&bs->b[i - 1])) != NULL)
			json_array_append_new(list, j);
	return json_pack("{s:o}", "bundles", list);
}

json_t *
bundles_show(struct bundles *bs, const char *id, char *why, size_t whylen)
{
	struct bundle	*b = bundle_find(bs, id);
	char		 path[4200];
	json_t		*j, *man = NULL;

	if (b == NULL) {
		snprintf(why, whylen, "no such bundle");
		return NULL;
	}
	if ((j = bundle_json(b)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	bundle_path(bs, id, ".manifest.json", path, sizeof(path));
	if (b->built != 0)
		man = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	json_object_set_new(j, "manifest", man != NULL ? man : json_null());
	return j;
}

json_t *
bundles_status(struct bundles *bs)
{
	return json_pack("{s:I, s:I, s:I}", "requested",
	    (json_int_t)(count_state(bs, BS_REQUESTED) +
	    count_state(bs, BS_BUILDING)), "waiting",
	    (json_int_t)count_state(bs, BS_WAITING), "uploading",
	    (json_int_t)count_state(bs, BS_READY));
}

/* ---- start and stop ---- */

static int
by_time(const void *a, const void *b)
{
	const struct bundle *x = a, *y = b;

	if (x->requested != y->requested)
		return x->requested < y->requested ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Read state_dir/bundles; a build cut short is to be done again. */
static void
bundles_load(struct bundles *bs)
{
	struct dirent	*de;
	struct bundle	 b, *grown;
	DIR		*d;
	size_t		 i;

	if ((d = opendir(bs->dir)) == NULL) {
		log_error("bundles: %s: %s", bs->dir, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (bundle_load(bs, de->d_name, &b) == -1)
			continue;
		if ((grown = reallocarray(bs->b, bs->n + 1,
		    sizeof(*grown))) == NULL) {
			log_error("bundles: out of memory");
			break;
		}
		bs->b = grown;
		bs->b[bs->n++] = b;
	}
	closedir(d);
	if (bs->n > 1)
		qsort(bs->b, bs->n, sizeof(bs->b[0]), by_time);
	for (i = 0; i < bs->n; i++) {
		if (bs->b[i].state != BS_BUILDING)
			continue;
		bs->b[i].state = BS_REQUESTED;
		bundle_unlink(bs, bs->b[i].id, ".tar.gz.part");
		bundle_unlink(bs, bs->b[i].id, ".manifest.json.part");
		(void)bundle_save(bs, &bs->b[i]);
	}
	(void)bundles_prune(bs, 0);
	if (bs->n > 0)
		log_info("bundles: %zu kept (%zu to build, %zu waiting for "
		    "approval, %zu to upload)", bs->n,
		    count_state(bs, BS_REQUESTED), count_state(bs, BS_WAITING),
		    count_state(bs, BS_READY));
}

struct bundles *
bundles_new(struct event_base *base, const struct policy *pol,
    struct inbox *inbox, inbox_audit_fn audit, void *audit_arg,
    void (*kick)(void *), void *kick_arg, char *err, size_t errlen)
{
	struct inbox_kind	 k;
	struct bundles		*bs;

	if ((bs = calloc(1, sizeof(*bs))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	bs->base = base;
	bs->pol = pol;
	bs->inbox = inbox;
	bs->audit = audit;
	bs->audit_arg = audit_arg;
	bs->kick = kick;
	bs->kick_arg = kick_arg;
	bs->built = bundles_built;
	bs->up_fd = -1;
	if ((size_t)snprintf(bs->dir, sizeof(bs->dir), "%s/%s",
	    pol->state_dir, BUNDLES_DIR) >= sizeof(bs->dir) ||
	    (mkdir(bs->dir, 0700) == -1 && errno != EEXIST)) {
		snprintf(err, errlen, "%s: %s", bs->dir, strerror(errno));
		free(bs);
		return NULL;
	}
	if ((bs->ev_next = event_new(base, -1, 0, next_build, bs)) == NULL ||
	    (bs->ev_up = evtimer_new(base, upload_wake, bs)) == NULL) {
		snprintf(err, errlen, "out of memory");
		if (bs->ev_next != NULL)
			event_free(bs->ev_next);
		free(bs);
		return NULL;
	}
	memset(&k, 0, sizeof(k));
	k.name = "bundle_request";
	k.check = vendor_check;
	k.act = vendor_act;
	k.done = vendor_done;
	k.arg = bs;
	if (inbox != NULL && inbox_register(inbox, &k) == -1) {
		snprintf(err, errlen, "the inbox takes no more kinds");
		event_free(bs->ev_next);
		event_free(bs->ev_up);
		free(bs);
		return NULL;
	}
	bundles_load(bs);
	bundles_schedule(bs);
	return bs;
}

void
bundles_set_policy(struct bundles *bs, const struct policy *pol)
{
	bs->pol = pol;
}

void
bundles_free(struct bundles *bs)
{
	if (bs == NULL)
		return;
	build_kill(bs);
	upload_forget(bs, bs->up_id);
	event_free(bs->ev_next);
	event_free(bs->ev_up);
	free(bs->b);
	free(bs);
}
