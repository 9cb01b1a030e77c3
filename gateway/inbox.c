/*
 * inbox.c - the vendor's messages, stored before they are acknowledged
 * and handed to their kind's handler (inbox.h).
 *
 * The relay is not trusted.  A message it offers is judged before
 * anything is written, its body is bounded before it is parsed again,
 * its kind must be one of ours, and what it costs the gateway is
 * bounded three ways: the inbox holds at most INBOX_MAX_MESSAGES and
 * INBOX_MAX_BYTES, at most a few messages are offered at a time (the
 * relay's side), and the audit lines about them are rationed per
 * minute.  The rule of the telemetry spool holds here too: nothing is
 * acknowledged that is not durable - neither the message nor what its
 * kind keeps of acting on it.
 */
#include "gateway/inbox.h"

#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/escape.h"
#include "lib/fileio.h"
#include "lib/ident.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/testhook.h"

#define INBOX_KINDS		8
#define INBOX_FILE_MAX		(INBOX_BODY_MAX + 1024)
#define INBOX_BURST_KINDS	8	/* kinds named in a summary */
#define INBOX_MINUTE_MS		60000

/* One stored message, as the inbox keeps it in memory. */
struct entry {
	uint64_t	 id;
	char		 kind[INBOX_KIND_MAX + 1];
	size_t		 bytes;		/* its file */
	time_t		 received;
	int		 audited;	/* its message_received is written */
	int		 pending;	/* resumed, but not kept: again */
};

/*
 * The lines about messages this minute, and those not written: a
 * ration over every line about a message, whatever its kind or verdict.
 * lib/burst does not fit this: it writes the first of each kind of
 * refusal (event, reason, who) and counts its repeats, but every
 * message carries an id of its own that its audit line must name - a
 * flood is thousands of distinct lines, not one line repeated - and a
 * quiet vendor's few messages a month should each be written in full.
 */
struct inbox_ration {
	uint64_t	 start_ms;	/* the minute began (clock_mono_ms) */
	unsigned	 written;
	uint64_t	 count;		/* not written */
	uint64_t	 first_id, last_id;
	struct {
		char	 name[INBOX_KIND_MAX + 1];
		uint64_t n;
	}		 kinds[INBOX_BURST_KINDS];
	size_t		 nkinds;
	uint64_t	 other;		/* of kinds past INBOX_BURST_KINDS */
	struct event	*ev;		/* the end of the minute */
};

struct inbox {
	char			 dir[4096];
	inbox_audit_fn		 audit;
	void			*audit_arg;
	struct inbox_kind	 kinds[INBOX_KINDS];
	size_t			 nkinds;
	struct entry		*e;		/* by id */
	size_t			 n;
	size_t			 bytes;
	char			 waiting[256];	/* why a message waits, or "" */
	char			 unkept[256];	/* why one was not kept, as said */
	struct inbox_ration	 ration;
	json_t			*held[INBOX_HELD];	/* deferred frames */
	size_t			 nheld;
	uint64_t		 seen[INBOX_SEEN_MAX];	/* finished, sorted */
	size_t			 nseen;
	struct event		*ev_prune;
	struct event		*ev_retry;	/* held ones not kept: again */
	void			(*send)(void *, json_t *);
	void			*send_arg;
};

static const struct inbox_kind *
kind_find(const struct inbox *ib, const char *name)
{
	size_t i;

	for (i = 0; i < ib->nkinds; i++)
		if (strcmp(ib->kinds[i].name, name) == 0)
			return &ib->kinds[i];
	return NULL;
}

static struct entry *
entry_find(const struct inbox *ib, uint64_t id)
{
	size_t i;

	for (i = 0; i < ib->n; i++)
		if (ib->e[i].id == id)
			return &ib->e[i];
	return NULL;
}

static int
valid_kind(const char *k)
{
	return ident_valid(k, INBOX_KIND_MAX, IDENT_SNAKE);
}

static void
entry_path(const struct inbox *ib, uint64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%" PRIu64 ".json", ib->dir, id);
}

/* ---- the audit ration ---- */

static void
ration_count(struct inbox_ration *b, const char *kind, uint64_t id)
{
	size_t i;

	if (b->count++ == 0)
		b->first_id = id;
	b->last_id = id;
	for (i = 0; i < b->nkinds; i++)
		if (strcmp(b->kinds[i].name, kind) == 0)
			break;
	if (i == b->nkinds && b->nkinds < INBOX_BURST_KINDS)
		snprintf(b->kinds[b->nkinds++].name, sizeof(b->kinds[0].name),
		    "%s", kind);
	if (i < b->nkinds)
		b->kinds[i].n++;
	else
		b->other++;
}

/* The minute is over: one line for what was not written in it. */
static void
ration_end(evutil_socket_t fd, short what, void *arg)
{
	struct inbox		*ib = arg;
	struct inbox_ration	*b = &ib->ration;
	json_t		*kinds;
	size_t		 i;

	(void)fd;
	(void)what;
	if (b->count > 0 && (kinds = json_object()) != NULL) {
		for (i = 0; i < b->nkinds; i++)
			json_object_set_new(kinds, b->kinds[i].name,
			    json_integer((json_int_t)b->kinds[i].n));
		if (b->other > 0)
			json_object_set_new(kinds, "(other)",
			    json_integer((json_int_t)b->other));
		log_warn("inbox: %" PRIu64 " more messages from the relay in a "
		    "minute (ids %" PRIu64 "-%" PRIu64 "); summarised in the "
		    "audit log", b->count, b->first_id, b->last_id);
		(void)ib->audit(ib->audit_arg, "message_burst", json_pack(
		    "{s:I, s:o, s:I, s:I, s:i}", "count", (json_int_t)b->count,
		    "kinds", kinds, "first_id", (json_int_t)b->first_id,
		    "last_id", (json_int_t)b->last_id, "audited",
		    INBOX_AUDIT_PER_MIN));
	}
	b->count = b->other = 0;
	b->nkinds = 0;
	b->written = 0;
	b->start_ms = 0;
}

int
inbox_limit(struct inbox *ib, const char *kind, uint64_t id)
{
	struct inbox_ration	*b = &ib->ration;
	struct timeval		 tv = { INBOX_MINUTE_MS / 1000, 0 };

	if (b->start_ms == 0) {
		b->start_ms = clock_mono_ms();
		evtimer_add(b->ev, &tv);
	}
	if (b->written < INBOX_AUDIT_PER_MIN) {
		b->written++;
		return 1;
	}
	ration_count(b, valid_kind(kind) ? kind : "(invalid)", id);
	return 0;
}

/* ---- storing ---- */

/* Write state_dir/inbox/ID.json; 0, or -1 with err (the file, why). */
static int
entry_write(struct inbox *ib, uint64_t id, const char *kind, json_t *body,
    time_t now, size_t *bytes, char *err, size_t errlen)
{
	char	 path[4200], when[32], *text;
	json_t	*j;
	int	 rc;

	parse_format_time(now, when, sizeof(when));
	j = json_pack("{s:I, s:s, s:s, s:O}", "id", (json_int_t)id, "kind",
	    kind, "received", when, "body", body);
	text = j == NULL ? NULL : json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	entry_path(ib, id, path, sizeof(path));
	*bytes = strlen(text);
	rc = fileio_replace(path, text, *bytes, 0600, err, errlen);
	free(text);
	return rc;
}

/* Into the inbox's list: the entry, or NULL (out of memory). */
static struct entry *
entry_add(struct inbox *ib, uint64_t id, const char *kind, size_t bytes,
    time_t received)
{
	struct entry	*ne;
	size_t		 i;

	if ((ne = reallocarray(ib->e, ib->n + 1, sizeof(*ne))) == NULL)
		return NULL;
	ib->e = ne;
	/* Kept in id order: that is the order they are resumed in. */
	for (i = ib->n; i > 0 && ib->e[i - 1].id > id; i--)
		ib->e[i] = ib->e[i - 1];
	ib->e[i].id = id;
	snprintf(ib->e[i].kind, sizeof(ib->e[i].kind), "%s", kind);
	ib->e[i].bytes = bytes;
	ib->e[i].received = received;
	ib->e[i].audited = 1;
	ib->e[i].pending = 0;
	ib->n++;
	ib->bytes += bytes;
	return &ib->e[i];
}

static void
entry_remove(struct inbox *ib, size_t i)
{
	char path[4200];

	entry_path(ib, ib->e[i].id, path, sizeof(path));
	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("inbox: %s: %s", path, strerror(errno));
	ib->bytes -= ib->e[i].bytes;
	memmove(&ib->e[i], &ib->e[i + 1], (ib->n - i - 1) * sizeof(ib->e[0]));
	ib->n--;
}

/* ---- finished messages ---- */

static int
seen_has(const struct inbox *ib, uint64_t id)
{
	size_t lo = 0, hi = ib->nseen, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ib->seen[mid] == id)
			return 1;
		if (ib->seen[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Keep id among the newest INBOX_SEEN_MAX (the store's ids grow). */
static void
seen_add(struct inbox *ib, uint64_t id)
{
	size_t i;

	if (seen_has(ib, id))
		return;
	if (ib->nseen == INBOX_SEEN_MAX) {
		if (id < ib->seen[0])
			return;
		memmove(&ib->seen[0], &ib->seen[1], (ib->nseen - 1) *
		    sizeof(ib->seen[0]));
		ib->nseen--;
	}
	for (i = ib->nseen; i > 0 && ib->seen[i - 1] > id; i--)
		ib->seen[i] = ib->seen[i - 1];
	ib->seen[i] = id;
	ib->nseen++;
}

/* state_dir/inbox/seen: one id a line.  0, or -1 (logged). */
static int
seen_save(struct inbox *ib)
{
	char	path[4200], err[4400], *text, *p;
	size_t	i;
	int	rc;

	if ((text = malloc(ib->nseen * 21 + 1)) == NULL) {
		log_error("inbox: out of memory");
		return -1;
	}
	p = text;
	*p = '\0';
	for (i = 0; i < ib->nseen; i++)
		p += sprintf(p, "%" PRIu64 "\n", ib->seen[i]);
	snprintf(path, sizeof(path), "%s/%s", ib->dir, INBOX_SEEN_FILE);
	if ((rc = fileio_replace(path, text, (size_t)(p - text), 0600, err,
	    sizeof(err))) == -1)
		log_error("inbox: %s", err);
	free(text);
	return rc;
}

/* At start: the ids finished before; a line that is not one is skipped. */
static void
seen_load(struct inbox *ib)
{
	char		 path[4200], line[32], *end;
	FILE		*f;
	uint64_t	 id;
	unsigned	 bad = 0;

	snprintf(path, sizeof(path), "%s/%s", ib->dir, INBOX_SEEN_FILE);
	if ((f = fopen(path, "re")) == NULL) {
		if (errno != ENOENT)
			log_error("inbox: %s: %s", path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		id = strtoull(line, &end, 10);
		if (line[0] < '1' || line[0] > '9' || *end != '\n') {
			bad++;
			continue;
		}
		seen_add(ib, id);
	}
	fclose(f);
	if (bad > 0)
		log_warn("inbox: %s: %u lines that are no message id skipped",
		    path, bad);
}

/*
 * Let the messages their kinds are finished with go: their ids are
 * remembered first (durably), then their files are removed.  A message
 * is not kept once finished: at a restart it would be one more thing a
 * kind must be careful not to take up again.
 */
static void
inbox_prune(struct inbox *ib)
{
	const struct inbox_kind	*k;
	size_t			 i, nfinished = 0;

	for (i = 0; i < ib->n; i++) {
		k = kind_find(ib, ib->e[i].kind);
		/* One not kept at a restart is not done with, whatever it is. */
		if (ib->e[i].pending)
			continue;
		if (k != NULL && k->done != NULL && k->done(k->arg,
		    ib->e[i].id)) {
			seen_add(ib, ib->e[i].id);
			nfinished++;
		}
	}
	if (nfinished == 0 || seen_save(ib) == -1)
		return;
	i = 0;
	while (i < ib->n) {
		if (seen_has(ib, ib->e[i].id))
			entry_remove(ib, i);
		else
			i++;
	}
}

static int	entry_resume(struct inbox *, size_t);

static void
inbox_prune_tick(evutil_socket_t fd, short what, void *arg)
{
	struct inbox	*ib = arg;
	size_t		 i = 0;

	(void)fd;
	(void)what;
	while (i < ib->n)
		if (!ib->e[i].pending || !entry_resume(ib, i))
			i++;
	inbox_prune(ib);
}

static int
has_room(const struct inbox *ib, size_t bytes)
{
	return ib->n < INBOX_MAX_MESSAGES &&
	    ib->bytes + bytes <= INBOX_MAX_BYTES;
}

/* ---- a message arrives ---- */

/*
 * A message waits: said once per reason, and in status; *out is the
 * msg_wait that tells the relay so, which frees the place it took
 * among the few the relay offers at a time - unanswered, a few
 * messages that must wait kept every later one from the cluster.
 * Returns 1 (an answer to send).
 */
static int
inbox_wait_said(struct inbox *ib, uint64_t id, const char *why, char *said,
    size_t saidlen, json_t **out)
{
	char shown[sizeof(ib->waiting)];

	/* Compared as kept: a long reason is said once, too. */
	snprintf(shown, sizeof(shown), "%s", why);
	if (strncmp(said, why, saidlen - 1) != 0)
		log_warn("inbox: message %" PRIu64 " not acknowledged, the "
		    "relay will offer it again: %s", id, why);
	snprintf(said, saidlen, "%s", why);
	snprintf(ib->waiting, sizeof(ib->waiting), "%s", shown);
	*out = json_pack("{s:s, s:I, s:s}", "t", "msg_wait", "id",
	    (json_int_t)id, "reason", shown);
	return 1;
}

static int
inbox_wait(struct inbox *ib, uint64_t id, const char *why, json_t **out)
{
	return inbox_wait_said(ib, id, why, ib->waiting, sizeof(ib->waiting),
	    out);
}

static json_t *
ack(uint64_t id, const char *refused)
{
	if (refused == NULL)
		return json_pack("{s:s, s:I}", "t", "msg_ack", "id",
		    (json_int_t)id);
	return json_pack("{s:s, s:I, s:s}", "t", "msg_ack", "id",
	    (json_int_t)id, "refused", refused);
}

/*
 * Judge a message before anything is written: 0 with the kind's
 * verdict (and its handler in *kp, NULL for a message no handler may
 * see), why set unless accepted.
 */
static enum inbox_verdict
judge(struct inbox *ib, uint64_t id, const char *kind, json_t *body,
    size_t *size, const struct inbox_kind **kp, char *why, size_t whylen)
{
	char	name[INBOX_KIND_MAX * 4 + 8];

	*kp = NULL;
	*size = 0;
	if (kind == NULL || !valid_kind(kind)) {
		snprintf(why, whylen, "a message kind must be 1-%d of a-z 0-9 _",
		    INBOX_KIND_MAX);
		return INBOX_REFUSE;
	}
	if (!json_is_object(body)) {
		snprintf(why, whylen, "the body is not a JSON object");
		return INBOX_REFUSE;
	}
	if ((*size = json_dumpb(body, NULL, 0, JSON_COMPACT)) >
	    INBOX_BODY_MAX) {
		snprintf(why, whylen, "a body of %zu bytes (at most %d)", *size,
		    INBOX_BODY_MAX);
		return INBOX_REFUSE;
	}
	if ((*kp = kind_find(ib, kind)) == NULL) {
		escape_text(kind, strlen(kind), name, sizeof(name));
		snprintf(why, whylen, "this gateway knows no messages of kind "
		    "'%s'", name);
		return INBOX_REFUSE;
	}
	return (*kp)->check((*kp)->arg, id, body, why, whylen);
}

/* Refused: audited (rationed) and acknowledged with the reason. */
static int
inbox_refuse(struct inbox *ib, uint64_t id, const char *kind, json_t *body,
    const struct inbox_kind *k, const char *why, json_t **out)
{
	char reason[INBOX_REASON_MAX + 1];

	snprintf(reason, sizeof(reason), "%s", why);
	if (inbox_limit(ib, kind != NULL ? kind : "", id)) {
		if (ib->audit(ib->audit_arg, "message_received", json_pack(
		    "{s:I, s:s, s:s, s:s}", "id", (json_int_t)id, "kind",
		    kind != NULL && valid_kind(kind) ? kind : "(invalid)",
		    "verdict", "refused", "reason", reason)) == -1) {
			return inbox_wait(ib, id, "the audit log cannot be "
			    "written", out);
		}
		if (k != NULL && k->refused != NULL)
			k->refused(k->arg, id, body, reason);
		/* The log is rationed with the audit log: it floods as well. */
		log_info("inbox: message %" PRIu64 " refused: %s", id, reason);
	}
	*out = ack(id, reason);
	return 1;
}

/* Keep a deferred frame to judge again on inbox_retry(). */
static void
inbox_hold(struct inbox *ib, json_t *f, uint64_t id)
{
	size_t i;

	for (i = 0; i < ib->nheld; i++)
		if ((uint64_t)json_integer_value(json_object_get(ib->held[i],
		    "id")) == id)
			return;
	if (ib->nheld < INBOX_HELD)
		ib->held[ib->nheld++] = json_incref(f);
}

/*
 * Frame f could not be kept (why: a file that cannot be written):
 * nothing of it is, and it waits; held, it is tried again in
 * INBOX_RETRY_WRITE seconds, so that it goes in soon after the disk
 * takes writes again, without the relay's minute.
 */
static int
inbox_unkept(struct inbox *ib, json_t *f, uint64_t id, const char *why,
    json_t **out)
{
	struct timeval tv = { INBOX_RETRY_WRITE, 0 };

	inbox_hold(ib, f, id);
	if (!evtimer_pending(ib->ev_retry, NULL))
		evtimer_add(ib->ev_retry, &tv);
	/*
	 * Said once until one is kept again, though a deferral (a fresh
	 * reading of the installed version, say) comes between the tries.
	 */
	return inbox_wait_said(ib, id, why, ib->unkept, sizeof(ib->unkept),
	    out);
}

/*
 * Message e is stored and acted on: audited (rationed), then
 * acknowledged, so that "accepted" in the audit log means it is in the
 * inbox and its kind keeps what it did.  Without its audit line it is
 * not acknowledged yet: offered again, the line is tried again.
 */
static int
inbox_acknowledge(struct inbox *ib, struct entry *e, json_t **out)
{
	if (!e->audited && inbox_limit(ib, e->kind, e->id)) {
		if (ib->audit(ib->audit_arg, "message_received", json_pack(
		    "{s:I, s:s, s:s}", "id", (json_int_t)e->id, "kind",
		    e->kind, "verdict", "accepted")) == -1)
			return inbox_wait(ib, e->id, "the audit log cannot be "
			    "written", out);
		/* The log is rationed with the audit log. */
		log_info("inbox: message %" PRIu64 " (%s) from the vendor "
		    "stored", e->id, e->kind);
	}
	e->audited = 1;
	ib->waiting[0] = ib->unkept[0] = '\0';
	*out = ack(e->id, NULL);
	return 1;
}

static int
inbox_accept(struct inbox *ib, json_t *f, uint64_t id, const char *kind,
    json_t *body, const struct inbox_kind *k, size_t size, json_t **out)
{
	time_t			 now = clock_now();
	char			 path[4200], why[4400];
	struct entry		*e;
	enum inbox_acted	 r;
	size_t			 bytes;

	if (!has_room(ib, size + 256))
		inbox_prune(ib);
	if (!has_room(ib, size + 256)) {
		char full[96];

		if (ib->n >= INBOX_MAX_MESSAGES)
			snprintf(full, sizeof(full), "the inbox is full (%d "
			    "messages)", INBOX_MAX_MESSAGES);
		else
			snprintf(full, sizeof(full), "the inbox is full (%d "
			    "MiB)", INBOX_MAX_BYTES / (1024 * 1024));
		return inbox_wait(ib, id, full, out);
	}
	if (entry_write(ib, id, kind, body, now, &bytes, why,
	    sizeof(why)) == -1)
		return inbox_unkept(ib, f, id, why, out);
	if ((e = entry_add(ib, id, kind, bytes, now)) == NULL) {
		entry_path(ib, id, path, sizeof(path));
		(void)unlink(path);
		return inbox_wait(ib, id, "out of memory", out);
	}
	e->audited = 0;
	testhook_kill_at("inbox_stored");
	/*
	 * Acted on before it is acknowledged: what its kind must keep of
	 * it is durable by then, or nothing of it is kept and the message
	 * leaves again, unacknowledged - acknowledged and then lost with
	 * a restart, it would never be offered again.
	 */
	why[0] = '\0';
	r = k->act(k->arg, id, body, 0, why, sizeof(why));
	/* Found again: the kind may have reached the inbox meanwhile. */
	if ((e = entry_find(ib, id)) == NULL)
		return inbox_wait(ib, id, "it left the inbox while it was acted "
		    "on", out);
	if (r != INBOX_KEPT) {
		entry_remove(ib, (size_t)(e - ib->e));
		return inbox_unkept(ib, f, id, why[0] != '\0' ? why :
		    "its kind could not keep it", out);
	}
	(void)inbox_acknowledge(ib, e, out);
	inbox_prune(ib);
	return 1;
}

/*
 * Its kind has it under another id: acknowledged, so the relay stops
 * offering it, but neither stored nor acted on.  Audited (rationed).
 */
static int
inbox_duplicate(struct inbox *ib, uint64_t id, const char *kind,
    const char *why, json_t **out)
{
	char reason[INBOX_REASON_MAX + 1];

	snprintf(reason, sizeof(reason), "%s", why);
	if (inbox_limit(ib, kind, id)) {
		if (ib->audit(ib->audit_arg, "message_received", json_pack(
		    "{s:I, s:s, s:s, s:s}", "id", (json_int_t)id, "kind", kind,
		    "verdict", "duplicate", "reason", reason)) == -1) {
			return inbox_wait(ib, id, "the audit log cannot be "
			    "written", out);
		}
		log_info("inbox: message %" PRIu64 " is a duplicate: %s", id,
		    reason);
	}
	*out = ack(id, NULL);
	return 1;
}

int
inbox_offer(struct inbox *ib, json_t *f, json_t **out, char *why,
    size_t whylen)
{
	json_t				*jid = json_object_get(f, "id");
	json_t				*body = json_object_get(f, "body");
	const char			*kind;
	const struct inbox_kind		*k;
	struct entry			*e;
	enum inbox_verdict		 v;
	char				 reason[INBOX_REASON_MAX + 1];
	uint64_t			 id;
	size_t				 size;

	*out = NULL;
	if (!json_is_integer(jid) || json_integer_value(jid) <= 0) {
		snprintf(why, whylen, "a message without a valid id");
		return -1;
	}
	id = (uint64_t)json_integer_value(jid);
	/*
	 * Stored before, or finished with: the acknowledgement was lost
	 * (or its audit line could not be written).  Not judged or acted
	 * on again.
	 */
	if ((e = entry_find(ib, id)) != NULL)
		return inbox_acknowledge(ib, e, out);
	if (seen_has(ib, id)) {
		*out = ack(id, NULL);
		return 1;
	}
	kind = json_string_value(json_object_get(f, "kind"));
	reason[0] = '\0';
	v = judge(ib, id, kind, body, &size, &k, reason, sizeof(reason));
	switch (v) {
	case INBOX_REFUSE:
		return inbox_refuse(ib, id, kind, body, k, reason, out);
	case INBOX_DEFER:
		inbox_hold(ib, f, id);
		return inbox_wait(ib, id, reason, out);
	case INBOX_HAVE:
		return inbox_duplicate(ib, id, kind, reason, out);
	case INBOX_ACCEPT:
		break;
	}
	return inbox_accept(ib, f, id, kind, body, k, size, out);
}

/* ---- after a restart ---- */

/*
 * Read stored message name ("ID.json"): its contents with *id and the
 * file's size, or NULL (logged when it is not a message file).
 */
static json_t *
entry_read(struct inbox *ib, const char *name, uint64_t *id, size_t *bytes)
{
	char		 path[4200], *end;
	struct stat	 sb;
	json_t		*j = NULL, *jid;
	const char	*kind;
	int		 fd;

	*id = strtoull(name, &end, 10);
	if (*id == 0 || strcmp(end, ".json") != 0 || name[0] == '0')
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", ib->dir, name);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > INBOX_FILE_MAX) {
		log_error("inbox: %s: %s; left alone", path, fd == -1 ?
		    strerror(errno) : "not a message file");
		goto out;
	}
	*bytes = (size_t)sb.st_size;
	j = json_loadfd(fd, JSON_REJECT_DUPLICATES, NULL);
	jid = json_object_get(j, "id");
	kind = json_string_value(json_object_get(j, "kind"));
	if (j == NULL || !json_is_integer(jid) ||
	    (uint64_t)json_integer_value(jid) != *id || kind == NULL ||
	    !valid_kind(kind) || !json_is_object(json_object_get(j, "body"))) {
		log_error("inbox: %s: not a message file; left alone", path);
		json_decref(j);
		j = NULL;
	}
out:
	if (fd != -1)
		close(fd);
	return j;
}

static int
by_id(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Hand stored message i to its kind again: 1 if it left the inbox, 0.
 * One its kind holds nothing of goes, and is not remembered as
 * finished: either the gateway stopped between storing it and acting
 * on it, and the relay, never told it was had, offers it again to be
 * judged afresh; or it is finished, and the relay does not.  One whose
 * kind cannot keep what it resumes stays, and is tried again with the
 * next prune.
 */
static int
entry_resume(struct inbox *ib, size_t i)
{
	const struct inbox_kind	*k;
	char			 name[32], why[4400], shown[sizeof(ib->unkept)];
	json_t			*j;
	uint64_t		 id;
	size_t			 bytes;
	enum inbox_acted	 r;

	if ((k = kind_find(ib, ib->e[i].kind)) == NULL) {
		log_warn("inbox: message %" PRIu64 " is of kind %s, which this "
		    "gateway does not know; kept", ib->e[i].id, ib->e[i].kind);
		return 0;
	}
	snprintf(name, sizeof(name), "%" PRIu64 ".json", ib->e[i].id);
	if ((j = entry_read(ib, name, &id, &bytes)) == NULL)
		return 0;
	why[0] = '\0';
	r = k->act(k->arg, id, json_object_get(j, "body"), 1, why,
	    sizeof(why));
	json_decref(j);
	ib->e[i].pending = r == INBOX_UNSAVED;
	if (r == INBOX_UNKNOWN) {
		log_info("inbox: message %" PRIu64 " (%s) was not acted on "
		    "before the gateway stopped, or is finished: it leaves the "
		    "inbox, for the relay to offer again if it was never "
		    "acknowledged", id, k->name);
		entry_remove(ib, i);
		return 1;
	}
	if (r == INBOX_UNSAVED) {
		/* Said once per reason: it is tried again every minute. */
		snprintf(shown, sizeof(shown), "%s", why);
		if (strcmp(ib->unkept, shown) != 0)
			log_error("inbox: message %" PRIu64 " (%s) could not "
			    "be resumed, tried again in %d seconds: %s", id,
			    k->name, INBOX_PRUNE_EVERY, why);
		snprintf(ib->unkept, sizeof(ib->unkept), "%s", shown);
	} else
		ib->unkept[0] = '\0';
	return 0;
}

void
inbox_start(struct inbox *ib)
{
	struct dirent	*de;
	DIR		*d;
	json_t		*j;
	uint64_t	 id;
	time_t		 t;
	const char	*s;
	size_t		 i, bytes;

	struct timeval	 tv = { INBOX_PRUNE_EVERY, 0 };

	seen_load(ib);
	event_add(ib->ev_prune, &tv);
	if ((d = opendir(ib->dir)) == NULL) {
		log_error("inbox: %s: %s", ib->dir, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if ((j = entry_read(ib, de->d_name, &id, &bytes)) == NULL)
			continue;
		s = json_string_value(json_object_get(j, "received"));
		if (s == NULL || parse_time(s, &t) == -1)
			t = clock_now();
		if (entry_add(ib, id, json_string_value(json_object_get(j,
		    "kind")), bytes, t) == NULL)
			log_error("inbox: out of memory");
		json_decref(j);
	}
	closedir(d);
	if (ib->n > 1)
		qsort(ib->e, ib->n, sizeof(ib->e[0]), by_id);
	/* Oldest first, as they arrived; then finished ones go. */
	i = 0;
	while (i < ib->n)
		if (!entry_resume(ib, i))
			i++;
	inbox_prune(ib);
	log_info("inbox: %zu messages from the vendor (%zu bytes)", ib->n,
	    ib->bytes);
}

void
inbox_retry(struct inbox *ib)
{
	json_t	*held[INBOX_HELD], *ack;
	char	 why[128];
	size_t	 i, n = ib->nheld;

	/*
	 * Judged again in order; one still deferred is held again, and the
	 * relay, told it waits already, is not told again.
	 */
	memcpy(held, ib->held, n * sizeof(held[0]));
	ib->nheld = 0;
	for (i = 0; i < n; i++) {
		if (inbox_offer(ib, held[i], &ack, why, sizeof(why)) == 1 &&
		    ib->send != NULL && ack != NULL && strcmp(json_string_value(
		    json_object_get(ack, "t")), "msg_ack") == 0)
			ib->send(ib->send_arg, ack);
		else
			json_decref(ack);
		json_decref(held[i]);
	}
}

static void
inbox_retry_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	inbox_retry(arg);
}

void
inbox_flush(struct inbox *ib)
{
	if (ib != NULL && ib->ration.count > 0)
		ration_end(-1, 0, ib);
}

void
inbox_link_down(struct inbox *ib)
{
	while (ib->nheld > 0)
		json_decref(ib->held[--ib->nheld]);
}

void
inbox_set_sender(struct inbox *ib, void (*send)(void *, json_t *),
    void *arg)
{
	ib->send = send;
	ib->send_arg = arg;
}

/* ---- the rest ---- */

json_t *
inbox_status(struct inbox *ib)
{
	return json_pack("{s:I, s:I, s:s}", "messages", (json_int_t)ib->n,
	    "bytes", (json_int_t)ib->bytes, "waiting", ib->waiting);
}

int
inbox_register(struct inbox *ib, const struct inbox_kind *k)
{
	if (ib->nkinds == INBOX_KINDS || !valid_kind(k->name) ||
	    k->check == NULL || k->act == NULL)
		return -1;
	ib->kinds[ib->nkinds++] = *k;
	return 0;
}

struct inbox *
inbox_new(struct event_base *base, const struct policy *pol,
    inbox_audit_fn audit, void *audit_arg, char *err, size_t errlen)
{
	struct inbox *ib;

	if ((ib = calloc(1, sizeof(*ib))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ib->audit = audit;
	ib->audit_arg = audit_arg;
	if ((size_t)snprintf(ib->dir, sizeof(ib->dir), "%s/%s",
	    pol->state_dir, INBOX_DIR) >= sizeof(ib->dir) ||
	    (mkdir(ib->dir, 0700) == -1 && errno != EEXIST)) {
		snprintf(err, errlen, "%s: %s", ib->dir, strerror(errno));
		free(ib);
		return NULL;
	}
	if ((ib->ration.ev = evtimer_new(base, ration_end, ib)) == NULL ||
	    (ib->ev_prune = event_new(base, -1, EV_PERSIST, inbox_prune_tick,
	    ib)) == NULL || (ib->ev_retry = evtimer_new(base,
	    inbox_retry_tick, ib)) == NULL) {
		snprintf(err, errlen, "out of memory");
		if (ib->ration.ev != NULL)
			event_free(ib->ration.ev);
		if (ib->ev_prune != NULL)
			event_free(ib->ev_prune);
		free(ib);
		return NULL;
	}
	return ib;
}

void
inbox_free(struct inbox *ib)
{
	if (ib == NULL)
		return;
	/* What was not written yet of a burst is written now. */
	inbox_flush(ib);
	inbox_link_down(ib);
	event_free(ib->ration.ev);
	event_free(ib->ev_prune);
	event_free(ib->ev_retry);
	free(ib->e);
	free(ib);
}
