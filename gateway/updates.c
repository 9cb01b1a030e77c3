/*
 * updates.c - the vendor's update notices judged, and each accepted one
 * taken through its schedule (updates.h).
 *
 * Time here is the wall clock (clock_now()), because windows are wall
 * time; every step is taken again from the state on a timer, so a
 * clock that jumps or a gateway that was down finds the schedule where
 * it should be rather than where the last timer left it.
 */
#include "gateway/updates_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/sshcert.h"
#include "lib/sshsig.h"

#define UPDATES_TICK	5	/* seconds between looks at the schedule */
#define STEPPED		"the wall clock is"	/* what clock_stepped says */

static void	updates_eval(struct updates *);

/* ---- the installed version ---- */

/*
 * The higher of porthole's record of its last install and what
 * version_command printed last (the product may have been upgraded by
 * other means); NULL when neither is known.
 */
static const char *
installed_now(const struct updates *up, const struct version **v)
{
	if (up->have_record && (!up->have_product ||
	    version_cmp(&up->installed, &up->product) >= 0)) {
		*v = &up->installed;
		return up->installed_s;
	}
	*v = up->have_product ? &up->product : NULL;
	return up->have_product ? up->product_s : NULL;
}

/*
 * The installed version, with version_command's part read at since_ms
 * (clock_mono_ms) or later: 0 with *v and its text *s, or -1 with why
 * it is not known now (version_command was started, or waits to be
 * tried again; updates_eval and inbox_retry follow its answer).
 */
static int
updates_installed_fresh(struct updates *up, uint64_t since_ms,
    const struct version **v, const char **s, char *why, size_t whylen)
{
	uint64_t now = clock_mono_ms();

	if (up->pol->version_command == NULL) {
		snprintf(why, whylen, "[updates] version_command is not set: "
		    "the installed version is not known");
		return -1;
	}
	if (up->have_product && up->product_ms >= since_ms) {
		*s = installed_now(up, v);
		return 0;
	}
	if (up->version_job == NULL && now >= up->product_retry_ms)
		updates_run_version(up);
	if (up->version_job != NULL)
		snprintf(why, whylen, "the installed version is being read "
		    "(version_command)");
	else
		snprintf(why, whylen, "the installed version is not known: %s",
		    up->product_error);
	return -1;
}

/* ---- notices arrive ---- */

/* The notice and its signature from a message body, bounded. */
static int
body_parts(json_t *body, const char **text, size_t *tlen, const char **sig,
    size_t *slen, char *why, size_t whylen)
{
	json_t *jt = json_object_get(body, "notice");
	json_t *js = json_object_get(body, "signature");

	if (!json_is_string(jt) || !json_is_string(js)) {
		snprintf(why, whylen, "malformed update_notice: \"notice\" and "
		    "\"signature\" must be strings");
		return -1;
	}
	*tlen = json_string_length(jt);
	*slen = json_string_length(js);
	if (*tlen > NOTICE_MAX || *slen > SSHSIG_ARMOR_MAX) {
		snprintf(why, whylen, "malformed update_notice: a notice over %d "
		    "or a signature over %d bytes", NOTICE_MAX,
		    SSHSIG_ARMOR_MAX);
		return -1;
	}
	*text = json_string_value(jt);
	*sig = json_string_value(js);
	return 0;
}

/*
 * A notice for a version there is a record of already is news only if
 * the vendor published it later: an older signed notice for the same
 * version, offered again by the relay, must not swap the package (or
 * the notes) of the newer one.  1 if it is, or 0 with why not.
 */
static int
newer_notice(const struct update *u, const struct notice *n, char *why,
    size_t whylen)
{
	char was[32], is[32];

	if (n->published > u->n.published)
		return 1;
	parse_format_time(u->n.published, was, sizeof(was));
	parse_format_time(n->published, is, sizeof(is));
	snprintf(why, whylen, "an older notice for %s: published %s, the one "
	    "%s was published %s", n->version, is,
	    updates_state_name(u->state), was);
	return 0;
}

/* What an accepted notice for n's version would do to what is known. */
static enum inbox_verdict
judge_known(struct updates *up, const struct notice *n, char *why,
    size_t whylen)
{
	struct update	*u = updates_find(up, n->version);
	size_t		 i;

	for (i = 0; i < up->n; i++)
		if ((up->u[i].state == US_ANNOUNCED ||
		    up->u[i].state == US_SCHEDULED ||
		    up->u[i].state == US_STARTED) &&
		    version_cmp(&up->u[i].n.v, &n->v) > 0) {
			snprintf(why, whylen, "version %s is older than %s, "
			    "announced already", n->version,
			    up->u[i].n.version);
			return INBOX_REFUSE;
		}
	if (u == NULL)
		return INBOX_ACCEPT;
	switch (u->state) {
	case US_ANNOUNCED:
	case US_SCHEDULED:
		if (newer_notice(u, n, why, whylen))
			return INBOX_ACCEPT;	/* announced anew */
		if (strcmp(u->n.sha256, n->sha256) != 0)
			return INBOX_REFUSE;
		snprintf(why, whylen, "version %s is announced already "
		    "(message %" PRIu64 ")", n->version, u->msg_id);
		return INBOX_HAVE;
	case US_STARTED:
		snprintf(why, whylen, "version %s is being installed",
		    n->version);
		return INBOX_REFUSE;
	case US_SUPERSEDED:
		snprintf(why, whylen, "version %s was superseded: %s",
		    n->version, u->reason);
		return INBOX_REFUSE;
	default:
		/*
		 * Another try after a failure or a refused package, with the
		 * same package; another package only from a later notice.
		 */
		if (strcmp(u->n.sha256, n->sha256) != 0 &&
		    !newer_notice(u, n, why, whylen))
			return INBOX_REFUSE;
		return INBOX_ACCEPT;
	}
}

/*
 * When message id was first judged and waited for version_command:
 * the reading that judges it must have started after that.  Kept for
 * the few messages waiting at once; one forgotten only waits longer.
 */
static uint64_t
judging_since(struct updates *up, uint64_t id)
{
	size_t i;

	for (i = 0; i < up->njudging; i++)
		if (up->judging[i].id == id)
			return up->judging[i].since_ms;
	if (up->njudging == UPDATES_JUDGING) {
		memmove(&up->judging[0], &up->judging[1], (up->njudging - 1) *
		    sizeof(up->judging[0]));
		up->njudging--;
	}
	up->judging[up->njudging].id = id;
	up->judging[up->njudging].since_ms = clock_mono_ms();
	return up->judging[up->njudging++].since_ms;
}

static void
judging_done(struct updates *up, uint64_t id)
{
	size_t i;

	for (i = 0; i < up->njudging; i++)
		if (up->judging[i].id == id) {
			memmove(&up->judging[i], &up->judging[i + 1],
			    (up->njudging - i - 1) * sizeof(up->judging[0]));
			up->njudging--;
			return;
		}
}

static int
not_newer(const struct notice *n, const struct version *iv, const char *is,
    char *why, size_t whylen)
{
	if (iv == NULL || version_cmp(&n->v, iv) > 0)
		return 0;
	snprintf(why, whylen, "version %s is not newer than the installed %s",
	    n->version, is);
	return 1;
}

/*
 * Whether a notice (signature checked) may become a record now: not
 * expired, what it would do to the records there are allowed, and
 * newer than the installed version.  Every record is created through
 * this.  What is known of the installed version is enough to refuse;
 * to accept, message id (0: it was judged just now, in this turn)
 * waits for a reading of version_command started after it came, so
 * that an upgrade made by other means in the meantime is seen.
 */
static enum inbox_verdict
admit(struct updates *up, uint64_t id, const struct notice *n, char *why,
    size_t whylen)
{
	const struct version	*iv;
	const char		*is;
	char			 when[32];
	enum inbox_verdict	 v;

	if (n->expires <= clock_now()) {
		parse_format_time(n->expires, when, sizeof(when));
		snprintf(why, whylen, "notice for %s expired at %s", n->version,
		    when);
		return INBOX_REFUSE;
	}
	if ((v = judge_known(up, n, why, whylen)) != INBOX_ACCEPT)
		return v;
	is = installed_now(up, &iv);
	if (not_newer(n, iv, is, why, whylen))
		return INBOX_REFUSE;
	if (updates_installed_fresh(up, id != 0 ? judging_since(up, id) : 0,
	    &iv, &is, why, whylen) == -1)
		return INBOX_DEFER;
	return not_newer(n, iv, is, why, whylen) ? INBOX_REFUSE : INBOX_ACCEPT;
}

static enum inbox_verdict
notice_check(void *arg, uint64_t id, json_t *body, char *why, size_t whylen)
{
	struct updates		*up = arg;
	struct notice		 n;
	const char		*text, *sig;
	size_t			 tlen, slen;
	enum inbox_verdict	 v;

	if (!up->have_key) {
		snprintf(why, whylen, "no vendor_key: %s", up->key_error);
		return INBOX_REFUSE;
	}
	if (body_parts(body, &text, &tlen, &sig, &slen, why, whylen) == -1 ||
	    notice_verify(text, tlen, sig, slen, up->key, clock_now(), &n, why,
	    whylen) == -1)
		v = INBOX_REFUSE;
	else
		v = admit(up, id, &n, why, whylen);
	if (v != INBOX_DEFER)
		judging_done(up, id);
	return v;
}

/*
 * A refused notice: update_refused, with the version it claims.  When
 * porthole has an update of that version that this refusal does not
 * end (an older notice, a replay of one installed or being installed),
 * update_state says what that update still is: the notice offered was
 * refused, not the update, and the relay's view keeps its state.
 */
static void
notice_refused(void *arg, uint64_t id, json_t *body, const char *why)
{
	struct updates		*up = arg;
	const struct update	*u;
	struct notice		 n;
	const char		*text, *sig;
	char			 ignored[256];
	size_t			 tlen, slen;
	json_t			*ev;

	ev = json_pack("{s:I, s:s}", "message_id", (json_int_t)id, "reason",
	    why);
	if (ev != NULL && body_parts(body, &text, &tlen, &sig, &slen, ignored,
	    sizeof(ignored)) == 0 && notice_parse(text, tlen, &n, ignored,
	    sizeof(ignored)) == 0) {
		json_object_set_new(ev, "version", json_string(n.version));
		if ((u = updates_find(up, n.version)) != NULL &&
		    u->state != US_REFUSED)
			json_object_set_new(ev, "update_state", json_string(
			    updates_state_name(u->state)));
	}
	updates_event(up, "update_refused", NULL, ev);
}

/*
 * Make room for one more record: the oldest finished one goes (its
 * files with the sweep that follows a saved change).
 */
static struct update *
record_new(struct updates *up)
{
	size_t i;

	if (up->n == UPDATES_KEEP) {
		for (i = 0; i < up->n; i++)
			if (updates_terminal(up->u[i].state))
				break;
		if (i == up->n)
			return NULL;
		memmove(&up->u[i], &up->u[i + 1], (up->n - i - 1) *
		    sizeof(up->u[0]));
		up->n--;
	}
	memset(&up->u[up->n], 0, sizeof(up->u[0]));
	return &up->u[up->n++];
}

/*
 * Older notices not started yet give way to a newer one: marked here,
 * and their packages released and their events written by superseded()
 * once the change is saved.
 */
static void
supersede(struct updates *up, const struct update *newer)
{
	struct update	*u;
	size_t		 i;

	for (i = 0; i < up->n; i++) {
		u = &up->u[i];
		if ((u->state != US_ANNOUNCED && u->state != US_SCHEDULED) ||
		    version_cmp(&u->n.v, &newer->n.v) >= 0)
			continue;
		u->state = US_SUPERSEDED;
		snprintf(u->reason, sizeof(u->reason), "superseded by %s",
		    newer->n.version);
	}
}

/* What supersede() marked, now that it is saved: was holds the before. */
static void
superseded(struct updates *up, const struct update *was, size_t nwas,
    const struct update *newer)
{
	struct update	*u;
	size_t		 i, j;

	for (i = 0; i < up->n; i++) {
		u = &up->u[i];
		if (u->state != US_SUPERSEDED)
			continue;
		for (j = 0; j < nwas; j++)
			if (was[j].msg_id == u->msg_id)
				break;
		if (j == nwas || was[j].state == US_SUPERSEDED)
			continue;
		updates_release(up, u);
		updates_event(up, "update_superseded", u, json_pack("{s:s}",
		    "by", newer->n.version));
	}
}

/* Fetch u's package unless it is here already. */
static void
fetch(struct updates *up, struct update *u)
{
	switch (pkgget_want(up->pkgget, u->n.sha256, u->n.size)) {
	case 1:
		u->downloaded = 1;
		break;
	case -1:
		snprintf(u->waiting, sizeof(u->waiting), "too many packages "
		    "wanted at once");
		break;
	}
}

/*
 * A notice whose package was refused, offered again (the relay's store
 * repaired, say): it is taken up where it was - the admins were told
 * of it already - and its package fetched afresh.  Changed in u only:
 * notice_act saves it.
 */
static void
revive(struct update *u, uint64_t id)
{
	u->msg_id = id;
	u->state = u->notified != 0 ? US_SCHEDULED : US_ANNOUNCED;
	u->reason[0] = u->waiting[0] = '\0';
	u->downloaded = 0;
}

/*
 * What notice n (message id) makes of the records, in them: a revived
 * record, or a new one replacing any other of its version; *old gets
 * the one it replaced (msg_id 0: none).  The record, or NULL with why.
 */
static struct update *
notice_apply(struct updates *up, uint64_t id, const struct notice *n,
    struct update *old, char *why, size_t whylen)
{
	struct update *u;

	memset(old, 0, sizeof(*old));
	if ((u = updates_find(up, n->version)) != NULL &&
	    u->state == US_REFUSED && strcmp(u->n.sha256, n->sha256) == 0) {
		*old = *u;
		revive(u, id);
		return u;
	}
	if (u != NULL) {
		/*
		 * A later notice for a version announced already is a new
		 * announcement: the admins are told again and get their 24
		 * hours from then.  Its package goes unless it is the same.
		 */
		*old = *u;
		memmove(u, u + 1, (size_t)(&up->u[up->n] - (u + 1)) *
		    sizeof(*u));
		up->n--;
	}
	if ((u = record_new(up)) == NULL) {
		snprintf(why, whylen, "no room for %s: %d updates are kept and "
		    "none is finished", n->version, UPDATES_KEEP);
		return NULL;
	}
	u->n = *n;
	u->msg_id = id;
	u->state = US_ANNOUNCED;
	u->accepted = clock_now();
	return u;
}

/* A notice taken, and saved: now it may be seen and acted on. */
static void
notice_taken(struct updates *up, struct update *u, struct update *old,
    const struct update *was, size_t nwas)
{
	json_t *ev;

	if (old->msg_id != 0 && old->state == US_REFUSED &&
	    strcmp(old->n.sha256, u->n.sha256) == 0) {
		log_info("updates: %s offered again (message %" PRIu64 "): its "
		    "package is fetched again", u->n.version, u->msg_id);
		ev = json_pack("{s:s, s:I, s:I, s:s}", "sha256", u->n.sha256,
		    "size", (json_int_t)u->n.size, "replaces",
		    (json_int_t)old->msg_id, "reason", "offered again after "
		    "its package was refused");
	} else {
		if (old->msg_id != 0 && strcmp(old->n.sha256,
		    u->n.sha256) != 0)
			updates_release(up, old);
		log_info("updates: %s announced by the vendor (message %"
		    PRIu64 ")", u->n.version, u->msg_id);
		ev = json_pack("{s:s, s:I}", "sha256", u->n.sha256, "size",
		    (json_int_t)u->n.size);
		if (ev != NULL && old->msg_id != 0)
			json_object_set_new(ev, "replaces", json_integer(
			    (json_int_t)old->msg_id));
	}
	updates_event(up, "update_announced", u, ev);
	superseded(up, was, nwas, u);
	/* The files of a record that made room go too. */
	updates_sweep(up);
	fetch(up, u);
	if (u->downloaded)
		updates_save(up);
	updates_eval(up);
}

/*
 * A message stored: a new record for its notice, just checked by
 * notice_check, kept in the state file before anything of it is seen
 * (an audit line, notify_command): one that cannot be kept is undone,
 * and the inbox does not acknowledge it.  Found again at a restart, it
 * only resumes the record it made: a message without one was never
 * taken (the gateway stopped first: the relay offers it again) or is
 * finished (a duplicate, or its record is gone), and creating one now
 * would bypass the checks that made it finished - a notice kept back
 * until a newer version is installed must not come back as an update.
 */
static enum inbox_acted
notice_act(void *arg, uint64_t id, json_t *body, int restart, char *why,
    size_t whylen)
{
	struct updates	*up = arg;
	struct update	*u, *was, old;
	struct notice	 n;
	const char	*text, *sig;
	size_t		 tlen, slen, nwas;

	if ((u = updates_find_msg(up, id)) != NULL) {
		/* Known from the state file: it goes on from there. */
		if (!updates_terminal(u->state) && !u->downloaded)
			fetch(up, u);
		return INBOX_KEPT;
	}
	if (restart)
		return INBOX_UNKNOWN;
	if (body_parts(body, &text, &tlen, &sig, &slen, why, whylen) == -1 ||
	    notice_parse(text, tlen, &n, why, whylen) == -1) {
		log_error("updates: message %" PRIu64 ": %s", id, why);
		return INBOX_KEPT;	/* nothing to keep: checked before */
	}
	if (admit(up, 0, &n, why, whylen) != INBOX_ACCEPT) {
		log_error("updates: message %" PRIu64 " not taken: %s", id, why);
		return INBOX_KEPT;
	}
	if ((was = malloc(sizeof(up->u))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return INBOX_UNSAVED;
	}
	memcpy(was, up->u, sizeof(up->u));
	nwas = up->n;
	if ((u = notice_apply(up, id, &n, &old, why, whylen)) != NULL) {
		supersede(up, u);
		if (updates_store(up, why, whylen) == 0) {
			notice_taken(up, u, &old, was, nwas);
			free(was);
			return INBOX_KEPT;
		}
	}
	/* Not kept: as it was. */
	memcpy(up->u, was, sizeof(up->u));
	up->n = nwas;
	free(was);
	return INBOX_UNSAVED;
}

/* Finished with: it may leave the inbox. */
static int
notice_done(void *arg, uint64_t id)
{
	struct update *u = updates_find_msg(arg, id);

	return u == NULL || updates_terminal(u->state);
}

/* ---- the package arrives ---- */

static void
package_done(void *arg, const char *sha, int ok, const char *why)
{
	struct updates	*up = arg;
	struct update	*u;
	size_t		 i;

	for (i = 0; i < up->n; i++) {
		u = &up->u[i];
		if (strcmp(u->n.sha256, sha) != 0 || updates_terminal(u->state) ||
		    u->state == US_STARTED)
			continue;
		if (ok) {
			u->downloaded = 1;
			u->waiting[0] = '\0';
			log_info("updates: the package of %s is here",
			    u->n.version);
			updates_event(up, "update_downloaded", u, json_pack(
			    "{s:s, s:I}", "sha256", sha, "size",
			    (json_int_t)u->n.size));
		} else {
			u->state = US_REFUSED;
			snprintf(u->reason, sizeof(u->reason), "%s", why);
			updates_release(up, u);
			updates_event(up, "update_refused", u, json_pack(
			    "{s:s}", "reason", why));
		}
	}
	updates_save(up);
	updates_eval(up);
}

/* ---- the schedule ---- */

/* The first window starting at or after t (t itself without a window). */
static time_t
window_at(struct updates *up, time_t t)
{
	time_t start;

	if (!up->have_window || window_next(&up->window, t, &start) == -1)
		return t;
	return start;
}

/*
 * The start an announced update gets once the admins are told now: the
 * first window at least 24 hours after the latest moment the notify
 * could end.
 */
static time_t
planned(struct updates *up, time_t now)
{
	return window_at(up, now + UPDATES_NOTICE +
	    (up->pol->notify_command != NULL ? UPDATES_NOTIFY_TIMEOUT : 0));
}

static void
schedule_event(struct updates *up, struct update *u, const char *reason,
    const char *who)
{
	char when[32];

	parse_format_time(u->when, when, sizeof(when));
	log_info("updates: %s scheduled for %s (%s)", u->n.version, when,
	    reason);
	updates_event(up, "update_scheduled", u, json_pack("{s:s, s:s, s:s?}",
	    "when", when, "reason", reason, "by", who));
}

/* The admins were told (at notified) that it runs at when. */
static void
updates_scheduled(struct updates *up, struct update *u, time_t notified,
    time_t when)
{
	u->notified = notified;
	u->notified_boot = clock_boot() - (clock_now() - notified);
	snprintf(u->boot_id, sizeof(u->boot_id), "%s", up->boot_id);
	u->earliest = notified + UPDATES_NOTICE;
	u->when = u->first_window = when < u->earliest ? window_at(up,
	    u->earliest) : when;
	u->state = US_SCHEDULED;
	schedule_event(up, u, up->pol->notify_command != NULL ?
	    "the admins were notified" : "no notify_command: counted from "
	    "acceptance", NULL);
}

static void
eval_announced(struct updates *up, struct update *u, time_t now)
{
	if (up->pol->notify_command == NULL) {
		updates_scheduled(up, u, u->accepted, window_at(up,
		    u->accepted + UPDATES_NOTICE));
		updates_save(up);
		return;
	}
	if (up->notify_job == NULL && now >= u->next_notify)
		(void)updates_run_notify(up, u, planned(up, now), "scheduled");
}

/* A start missed by more than a window: the next window, audited. */
static void
eval_missed(struct updates *up, struct update *u, time_t now)
{
	char	was[32], reason[96];

	parse_format_time(u->when, was, sizeof(was));
	u->when = window_at(up, now > u->earliest ? now : u->earliest);
	snprintf(reason, sizeof(reason), "the window at %s was missed%s", was,
	    u->downloaded ? "" : " (no package yet)");
	schedule_event(up, u, reason, NULL);
	u->renotify = 1;
	updates_save(up);
}

/*
 * Did the wall clock step ahead since the admins were told, so that
 * their 24 hours have not really passed?  Measured on the boot clock,
 * which no step moves, when the gateway has not been rebooted since
 * (after a reboot only the wall clock is left).  1 with why, or 0.
 */
static int
clock_stepped(struct updates *up, const struct update *u, time_t now,
    char *why, size_t whylen)
{
	int64_t real, wall;

	if (u->run_now || u->notified == 0 || up->boot_id[0] == '\0' ||
	    strcmp(u->boot_id, up->boot_id) != 0)
		return 0;
	real = clock_boot() - u->notified_boot;
	wall = (int64_t)(now - u->notified);
	if (real >= UPDATES_NOTICE || wall - real <= UPDATES_CLOCK_SLACK)
		return 0;
	snprintf(why, whylen, STEPPED " %llds ahead of the time that passed "
	    "since the admins were told; it starts once 24 hours have passed "
	    "(in %llds)", (long long)(wall - real),
	    (long long)(UPDATES_NOTICE - real));
	return 1;
}

/*
 * The product is at u's version or past it already (upgraded by other
 * means): u is superseded, never installed.  1 if so.
 */
static int
overtaken(struct updates *up, struct update *u, const struct version *iv,
    const char *is)
{
	if (iv == NULL || version_cmp(&u->n.v, iv) > 0)
		return 0;
	u->state = US_SUPERSEDED;
	snprintf(u->reason, sizeof(u->reason), "version %s is installed "
	    "already", is);
	u->waiting[0] = '\0';
	updates_release(up, u);
	log_info("updates: %s is not installed: %s", u->n.version, u->reason);
	updates_event(up, "update_superseded", u, json_pack("{s:s, s:s}",
	    "by", is, "reason", u->reason));
	updates_save(up);
	return 1;
}

/*
 * u's notice expired before u ran: it ends refused.  expires bounds how
 * long the vendor's notice may be acted on, not only when it may
 * arrive: a relay holding a notice back until just before it expires
 * must not stretch it by the 24 hours' notice and a week's delay.
 * Looked at before the admins are told and before it runs.  1 if so.
 */
static int
expired(struct updates *up, struct update *u, time_t now)
{
	char when[32];

	if (now < u->n.expires)
		return 0;
	parse_format_time(u->n.expires, when, sizeof(when));
	u->state = US_REFUSED;
	snprintf(u->reason, sizeof(u->reason), "its notice expired at %s, "
	    "before it was installed", when);
	u->waiting[0] = '\0';
	updates_release(up, u);
	log_warn("updates: %s is not installed: %s", u->n.version, u->reason);
	updates_event(up, "update_refused", u, json_pack("{s:s}", "reason",
	    u->reason));
	updates_save(up);
	return 1;
}

static void
eval_scheduled(struct updates *up, struct update *u, time_t now)
{
	const struct version	*iv;
	const char		*is;
	char			 why[256];

	if (!u->run_now && now >= u->when + UPDATES_WINDOW) {
		eval_missed(up, u, now);
		return;
	}
	if (u->renotify && up->notify_job == NULL) {
		u->renotify = 0;
		(void)updates_run_notify(up, u, u->when, "rescheduled");
		updates_save(up);
	}
	if (now < u->when)
		return;
	if (clock_stepped(up, u, now, why, sizeof(why))) {
		/* Said once: the seconds left change at every look. */
		if (strncmp(u->waiting, STEPPED, strlen(STEPPED)) != 0)
			log_warn("updates: %s does not start: %s", u->n.version,
			    why);
		snprintf(u->waiting, sizeof(u->waiting), "%.190s", why);
		return;
	}
	if (!u->downloaded) {
		snprintf(u->waiting, sizeof(u->waiting), "its window has come; "
		    "waiting for the package");
		return;
	}
	if (up->install_job != NULL)
		return;
	/*
	 * What is installed now, read again once the update is due: not
	 * what it was when the notice came.
	 */
	if (up->due_msg != u->msg_id) {
		up->due_msg = u->msg_id;
		up->due_ms = clock_mono_ms();
	}
	if (updates_installed_fresh(up, up->due_ms, &iv, &is, why,
	    sizeof(why)) == -1) {
		snprintf(u->waiting, sizeof(u->waiting), "its window has come; "
		    "%.150s", why);
		return;
	}
	if (!overtaken(up, u, iv, is))
		(void)updates_run_install(up, u);
}

static void
updates_eval(struct updates *up)
{
	const struct version	*iv;
	const char		*is;
	time_t			 now = clock_now();
	size_t			 i;

	is = installed_now(up, &iv);
	for (i = 0; i < up->n; i++) {
		/* The last reading may stop an update; only a fresh one runs it. */
		if ((up->u[i].state == US_ANNOUNCED ||
		    up->u[i].state == US_SCHEDULED) &&
		    (overtaken(up, &up->u[i], iv, is) ||
		    expired(up, &up->u[i], now)))
			continue;
		switch (up->u[i].state) {
		case US_ANNOUNCED:
			eval_announced(up, &up->u[i], now);
			break;
		case US_SCHEDULED:
			eval_scheduled(up, &up->u[i], now);
			break;
		default:
			break;
		}
	}
}

static void
updates_tick(evutil_socket_t fd, short what, void *arg)
{
	struct updates *up = arg;

	(void)fd;
	(void)what;
	/* A change that stands was not written: written now, if it can be. */
	if (up->unsaved)
		(void)updates_save(up);
	updates_eval(up);
}

/* ---- what the admins do ---- */

/*
 * An admin's change to u is kept only once the state file has it: the
 * audit line and the answer then tell what a restart finds too.  Not
 * saved, u goes back to was, and nothing is audited.  0, or -1 with
 * why.
 */
static int
saved(struct updates *up, struct update *u, const struct update *was,
    char *err, size_t errlen)
{
	if (updates_save(up) == 0)
		return 0;
	*u = *was;
	snprintf(err, errlen, "nothing changed: the state of the updates "
	    "cannot be saved (the gateway's log says why)");
	return -1;
}

int
updates_reschedule(struct updates *up, const char *version, time_t t,
    const char *who, char *err, size_t errlen)
{
	struct update	*u = updates_find(up, version), was;
	char		 bound[32];

	if (u == NULL) {
		snprintf(err, errlen, "no update to version %s", version);
		return -1;
	}
	if (u->state != US_SCHEDULED) {
		snprintf(err, errlen, "update %s is %s%s", u->n.version,
		    updates_state_name(u->state), u->state == US_ANNOUNCED ?
		    ": the admins were not notified yet, so its earliest time "
		    "is not known" : ", not scheduled");
		return -1;
	}
	if (t < u->earliest) {
		parse_format_time(u->earliest, bound, sizeof(bound));
		snprintf(err, errlen, "%s may not run before %s, 24 hours after "
		    "the admins were first notified", u->n.version, bound);
		return -1;
	}
	if (t >= u->n.expires) {
		parse_format_time(u->n.expires, bound, sizeof(bound));
		snprintf(err, errlen, "%s may not run after its notice expires "
		    "at %s", u->n.version, bound);
		return -1;
	}
	if (t > u->first_window + UPDATES_DELAY_MAX) {
		parse_format_time(u->first_window + UPDATES_DELAY_MAX, bound,
		    sizeof(bound));
		snprintf(err, errlen, "%s may not run after %s, 7 days after its "
		    "first window: updates are delayed, not skipped",
		    u->n.version, bound);
		return -1;
	}
	was = *u;
	u->when = t;
	u->run_now = 0;
	u->renotify = 1;
	if (saved(up, u, &was, err, errlen) == -1)
		return -1;
	schedule_event(up, u, "rescheduled", who);
	updates_eval(up);
	return 0;
}

int
updates_run_now(struct updates *up, const char *version, const char *who,
    char *err, size_t errlen)
{
	struct update *u = updates_find(up, version), was;

	if (u == NULL) {
		snprintf(err, errlen, "no update to version %s", version);
		return -1;
	}
	if (u->state != US_ANNOUNCED && u->state != US_SCHEDULED) {
		snprintf(err, errlen, "update %s is %s", u->n.version,
		    updates_state_name(u->state));
		return -1;
	}
	was = *u;
	if (u->state == US_ANNOUNCED) {
		u->notified = u->earliest = 0;
		u->first_window = clock_now();
	}
	u->state = US_SCHEDULED;
	u->when = clock_now();
	u->run_now = 1;
	if (saved(up, u, &was, err, errlen) == -1)
		return -1;
	schedule_event(up, u, "run now", who);
	updates_eval(up);
	return 0;
}

/* ---- views ---- */

static json_t *
update_json(struct updates *up, const struct update *u)
{
	const char	*waiting = "";
	uint64_t	 have = 0;
	const char	*pkg;

	if (u->downloaded || u->state == US_INSTALLED)
		pkg = "downloaded";
	else if (pkgget_progress(up->pkgget, u->n.sha256, &have, &waiting))
		pkg = "downloading";
	else
		pkg = "missing";
	return json_pack("{s:s, s:s, s:s, s:I, s:o, s:o, s:s, s:I, s:o, s:o, "
	    "s:o, s:o, s:o, s:b, s:s, s:I, s:s, s:o, s:o, s:s, s:s, s:s, s:s}",
	    "version", u->n.version,
	    "state", updates_state_name(u->state),
	    "sha256", u->n.sha256,
	    "size", (json_int_t)u->n.size,
	    "published", updates_jtime(u->n.published),
	    "expires", updates_jtime(u->n.expires),
	    "notes", u->n.notes,
	    "message_id", (json_int_t)u->msg_id,
	    "accepted", updates_jtime(u->accepted),
	    "notified", updates_jtime(u->notified),
	    "earliest", updates_jtime(u->earliest),
	    "latest", updates_jtime(u->first_window == 0 ? 0 : u->first_window +
	    UPDATES_DELAY_MAX),
	    "when", updates_jtime(u->state == US_ANNOUNCED ? 0 : u->when),
	    "run_now", u->run_now,
	    "package", pkg,
	    "package_bytes", (json_int_t)(u->downloaded ? u->n.size : have),
	    "package_waiting", waiting,
	    "started", updates_jtime(u->started),
	    "finished", updates_jtime(u->finished),
	    "result", u->result,
	    "log_sha256", u->log_sha256,
	    "reason", u->reason,
	    "waiting", u->waiting);
}

json_t *
updates_list(struct updates *up)
{
	const struct version	*v = NULL;
	const char		*s = NULL;
	json_t			*list;
	size_t			 i;

	if ((list = json_array()) == NULL)
		return NULL;
	for (i = up->n; i > 0; i--)
		json_array_append_new(list, update_json(up, &up->u[i - 1]));
	s = installed_now(up, &v);
	return json_pack("{s:s?, s:s, s:o, s:s?, s:s?, s:s?, s:s?, s:o}",
	    "installed", s,
	    "installed_from", v == NULL ? "unknown" : v == &up->installed ?
	    "porthole" : "version_command",
	    "installed_at", updates_jtime(up->have_record ? up->installed_at :
	    0),
	    "version_command", up->have_product ? up->product_s : NULL,
	    "version_command_error", up->product_error[0] != '\0' ?
	    up->product_error : NULL,
	    "window", up->have_window ? up->pol->update_window : NULL,
	    "vendor_key", up->have_key ? up->pol->vendor_key : NULL,
	    "updates", list);
}

json_t *
updates_next(struct updates *up)
{
	const struct update	*next = NULL;
	size_t			 i;

	for (i = 0; i < up->n; i++)
		if ((up->u[i].state == US_SCHEDULED ||
		    up->u[i].state == US_STARTED) && (next == NULL ||
		    up->u[i].when < next->when))
			next = &up->u[i];
	if (next == NULL)
		return json_null();
	return json_pack("{s:s, s:s, s:o}", "version", next->n.version,
	    "state", updates_state_name(next->state), "when",
	    updates_jtime(next->when));
}

/* ---- set-up ---- */

void
updates_set_policy(struct updates *up, const struct policy *pol)
{
	up->pol = pol;
	up->have_key = 0;
	up->key_error[0] = '\0';
	if (pol->vendor_key == NULL)
		snprintf(up->key_error, sizeof(up->key_error), "[updates] "
		    "vendor_key is not set");
	else if (sshcert_load_ca(pol->vendor_key, up->key, up->key_error,
	    sizeof(up->key_error)) == 0)
		up->have_key = 1;
	else
		log_error("updates: vendor_key: %s", up->key_error);
	up->have_window = pol->update_window != NULL &&
	    window_parse(pol->update_window, &up->window) == 0;
}

struct pkgget *
updates_pkgget(struct updates *up)
{
	return up->pkgget;
}

struct updates *
updates_new(struct event_base *base, const struct policy *pol,
    struct jobs *jobs, struct telem *telem, struct inbox *inbox,
    inbox_audit_fn audit, void *audit_arg, void (*kick)(void *),
    void *kick_arg, char *err, size_t errlen)
{
	struct inbox_kind	 k = { "update_notice", notice_check,
	    notice_refused, notice_act, notice_done, NULL };
	struct updates		*up;

	if ((up = calloc(1, sizeof(*up))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	up->base = base;
	up->jobs = jobs;
	if (clock_boot_id(up->boot_id, sizeof(up->boot_id)) == -1)
		up->boot_id[0] = '\0';
	up->telem = telem;
	up->inbox = inbox;
	up->audit = audit;
	up->audit_arg = audit_arg;
	up->eval = updates_eval;
	up->scheduled = updates_scheduled;
	updates_set_policy(up, pol);
	if ((size_t)snprintf(up->dir, sizeof(up->dir), "%s/%s",
	    pol->state_dir, UPDATES_DIR) >= sizeof(up->dir)) {
		snprintf(err, errlen, "%s: path too long", pol->state_dir);
		goto fail;
	}
	if ((up->pkgget = pkgget_new(base, up->dir, package_done, up, kick,
	    kick_arg, err, errlen)) == NULL)
		goto fail;
	k.arg = up;
	if (inbox_register(inbox, &k) == -1 || (up->ev_tick = event_new(base,
	    -1, EV_PERSIST, updates_tick, up)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	updates_load(up);
	updates_sweep(up);
	updates_run_version(up);
	event_add(up->ev_tick, &(struct timeval){ UPDATES_TICK, 0 });
	return up;
fail:
	updates_free(up);
	return NULL;
}

void
updates_free(struct updates *up)
{
	if (up == NULL)
		return;
	if (up->ev_tick != NULL)
		event_free(up->ev_tick);
	pkgget_free(up->pkgget);
	free(up);
}
