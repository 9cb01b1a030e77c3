/*
 * broker_audit.c - the broker is the audit log's single writer: every
 * session's events are written here, a log that cannot be written
 * refuses new sessions and ends running ones until it can, and refusals
 * of logins in progress are summarised (burst.h).
 */
#include "gateway/broker_int.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "lib/burst.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/parse.h"

static void	broker_audit_failed(struct broker *);

/* Append an event to the audit log; -1 if it could not be written. */
int
broker_audit(struct broker *b, const char *type, const char *sid,
    json_t *fields)
{
	json_t	*ev;
	int	 rc;

	/* Not every event is about a session (a refused control peer). */
	ev = sid != NULL ? json_pack("{s:s}", "session", sid) : json_object();
	if (ev == NULL) {
		json_decref(fields);
		return -1;
	}
	if (fields != NULL) {
		json_object_update(ev, fields);
		json_decref(fields);
	}
	rc = b->audit_failing ? -1 : audit_write(b->audit, type, ev);
	json_decref(ev);
	if (rc == -1) {
		log_error("audit: cannot write a %s event%s%s", type,
		    sid != NULL ? " for session " : "", sid != NULL ? sid : "");
		broker_audit_failed(b);
	}
	return rc;
}

int
broker_record(struct broker *b, const char *type, const char *sid,
    json_t *fields)
{
	return broker_audit(b, type, sid, fields);
}

/*
 * The audit log cannot be written: fail closed.  New sessions are refused
 * (their first event cannot be recorded) and running ones end now; a
 * timer retries and service resumes once a line can be written again.
 */
static void
broker_audit_failed(struct broker *b)
{
	struct gsess *gs;

	if (b->audit_failing)
		return;
	b->audit_failing = 1;
	log_error("audit: the log cannot be written; refusing new sessions "
	    "and ending running ones until it can");
	/* A login in progress is refused, with the reason, at its slot. */
	TAILQ_FOREACH(gs, &b->sessions, entry)
		if (gs_slotted(gs))
			gs_end(gs, BM_END_AUDIT);
}

/* Retry the audit log; 1 if it works again. */
int
broker_audit_retry(struct broker *b)
{
	json_t *ev;

	ev = json_pack("{s:s}", "reason", "the audit log could not be "
	    "written; sessions were refused and ended meanwhile");
	if (audit_write(b->audit, "audit_resumed", ev) == -1) {
		json_decref(ev);
		return 0;
	}
	json_decref(ev);
	b->audit_failing = 0;
	log_info("audit: the log can be written again; accepting sessions");
	return 1;
}

int
broker_audit_ok(const struct broker *b)
{
	return !b->audit_failing;
}

/* A burst's summary line (burst.h). */
void
broker_summary(void *arg, const struct burst_summary *sum)
{
	struct broker	*b = arg;
	char		 first[32], last[32];

	parse_format_time(sum->first, first, sizeof(first));
	parse_format_time(sum->last, last, sizeof(last));
	(void)broker_audit(b, "refusal_summary", NULL, json_pack(
	    "{s:s, s:s, s:s, s:I, s:s, s:s}", "event", sum->type, "reason",
	    sum->reason, sum->who_field, sum->who, "count",
	    (json_int_t)sum->count, "first", first, "last", last));
	log_info("%llu more %s (%s) for %s %s", (unsigned long long)sum->count,
	    sum->type, sum->reason, sum->who_field, sum->who);
}

/*
 * A refusal of a login in progress: written in full when it is the first
 * of its kind in a burst, else counted for the burst's summary.  Its kind
 * is its event, its reason and whom it names: the engineer, else the
 * certificate's first principal, else the source the relay reported.
 * Principals count only when the vendor CA signed them (the monitor
 * records a certificate it did not sign as claimed_*): whoever makes
 * their own would otherwise name a new principal each time, and get a
 * full line each time.  Each source has a bounded number of full lines
 * (lib/burst.h) whatever it names.  Steals fields; 0, or -1 when the log
 * cannot be written.
 */
int
gs_refusal(struct gsess *gs, const char *type, json_t *fields)
{
	struct broker	*b = gs->b;
	const char	*reason, *who = gs->src, *field = "from", *p;

	if (fields == NULL)
		return broker_audit(b, type, gs->id, NULL);
	gs->recorded = 1;
	reason = json_string_value(json_object_get(fields, "reason"));
	if ((p = json_string_value(json_object_get(fields, "engineer"))) !=
	    NULL && *p != '\0') {
		who = p;
		field = "engineer";
	} else if ((p = json_string_value(json_array_get(json_object_get(
	    fields, "principals"), 0))) != NULL) {
		who = p;
		field = "principal";
	}
	if (!burst_note(b->burst, type, reason != NULL ? reason : "", field,
	    who, gs->src, clock_mono_ms(), clock_now())) {
		json_decref(fields);
		return b->audit_failing ? -1 : 0;
	}
	json_object_set_new(fields, "from", json_string(gs->from));
	return broker_audit(b, type, gs->id, fields);
}
