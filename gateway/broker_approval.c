/*
 * broker_approval.c - a session waiting for the customer's approval:
 * asked for by its monitor, decided with porthole approve or deny, ended
 * by approval_timeout or by the engineer hanging up, all on record.
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

#include "gateway/approvals.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/parse.h"

static void	gs_ticket_admit(struct gsess *, const struct approval *);

/*
 * A pending approval is decided by a (a person, or the gateway itself:
 * "timeout", "reload"), on record with why (a's --reason, else
 * reason); a decision that cannot be recorded is a denial.  ans is
 * what the monitor hears when it is not approved.
 */
void
gs_approval_answer(struct gsess *gs, int approved, const struct actor *a,
    const char *reason, enum bm_answer ans)
{
	json_t *ev;

	gs_set_state(gs, BM_PH_SLOTTED);
	if (gs->ev_approval != NULL)
		event_del(gs->ev_approval);
	if ((ev = actor_fields(a)) != NULL) {
		json_object_set_new(ev, "engineer", json_string(gs->engineer));
		if (json_object_get(ev, "reason") == NULL)
			json_object_set_new(ev, "reason", json_string(reason));
	}
	if (ev == NULL || broker_audit(gs->b, approved ? "session_approved" :
	    "session_denied", gs->id, ev) == -1)
		approved = 0;
	log_info("session %s %s by %s", gs->id, approved ? "approved" :
	    "denied", a->by);
	gs_answer(gs, approved ? BM_APPROVED : ans);
}

/*
 * The engineer hung up while the session waited: it ends, on record, and
 * nobody can approve it any more (its monitor hears BM_GONE).
 */
void
gs_approval_gone(struct gsess *gs)
{
	gs_set_state(gs, BM_PH_SLOTTED);
	if (gs->ev_approval != NULL)
		event_del(gs->ev_approval);
	(void)broker_audit(gs->b, "session_ended", gs->id, json_pack(
	    "{s:s, s:s}", "engineer", gs->engineer, "reason", "the engineer "
	    "left before the customer decided"));
	log_info("session %s: %s left while it waited for approval", gs->id,
	    gs->engineer);
	gs_answer(gs, BM_GONE);
}

static void
gs_approval_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct gsess	*gs = arg;
	struct actor	 a;

	(void)fd;
	(void)what;
	if (gs->state != BM_PH_PENDING)
		return;
	actor_internal(&a, "timeout");
	gs_approval_answer(gs, 0, &a, "nobody approved the session in time",
	    BM_TIMED_OUT);
}

/* A string field of a message, copied (empty if it has none). */
void
gs_copy(json_t *msg, const char *key, char *dst, size_t len)
{
	const char *v = json_string_value(json_object_get(msg, key));

	if (v != NULL)
		snprintf(dst, len, "%s", v);
}

/* BM_APPROVAL: the monitor asks for the customer's approval. */
int
gs_msg_approval(struct gsess *gs, json_t *msg)
{
	struct timeval		 tv = { (time_t)gs->b->pol->approval_timeout,
				    0 };
	const struct approval	*a;
	struct actor		 gw;

	gs_copy(msg, "engineer", gs->engineer, sizeof(gs->engineer));
	gs_copy(msg, "ticket", gs->ticket, sizeof(gs->ticket));
	gs_copy(msg, "key_id", gs->key_id, sizeof(gs->key_id));
	gs_set_state(gs, BM_PH_PENDING);
	if (broker_audit(gs->b, "session_pending", gs->id, json_pack(
	    "{s:s, s:s, s:s}", "engineer", gs->engineer, "ticket", gs->ticket,
	    "key_id", gs->key_id)) == -1) {
		actor_internal(&gw, "gateway");
		gs_approval_answer(gs, 0, &gw, "cannot record the request",
		    BM_DENIED);
		return 0;
	}
	/* Approved since the monitor asked: in at once. */
	if ((a = approvals_find(gs->b->approvals, gs->ticket,
	    clock_now())) != NULL) {
		gs_set_state(gs, BM_PH_SLOTTED);
		gs_ticket_admit(gs, a);
		return 0;
	}
	if (gs->ev_approval == NULL)
		gs->ev_approval = evtimer_new(gs->b->base, gs_approval_timeout,
		    gs);
	if (gs->ev_approval != NULL)
		evtimer_add(gs->ev_approval, &tv);
	log_info("session %s: %s (ticket %s) waits for approval", gs->id,
	    gs->engineer, gs->ticket[0] ? gs->ticket : "none");
	gs_notify_waiting(gs);
	return 0;
}

int
broker_approve(struct broker *b, const char *id, int approve,
    const struct actor *who)
{
	struct gsess *gs;

	TAILQ_FOREACH(gs, &b->sessions, entry) {
		if (strcmp(gs->id, id) != 0)
			continue;
		if (gs->state != BM_PH_PENDING)
			return -2;
		gs_approval_answer(gs, approve, who, approve ? "approved" :
		    "denied by the customer", BM_DENIED);
		return 0;
	}
	return -1;
}

/*
 * Approvals of a ticket for a time (approvals.h).
 */

/* "approved for ticket T until U (4h left), by WHO" into note. */
static void
ticket_note(const struct approval *a, char *note, size_t len)
{
	char until[32], left[32];

	parse_format_time(a->until, until, sizeof(until));
	parse_format_duration((uint64_t)(a->until - clock_now()), left,
	    sizeof(left));
	snprintf(note, len, "approved for ticket %.64s until %s (%s left), "
	    "by %.80s", a->ticket, until, left, a->by);
}

/*
 * Let gs in on ticket approval a, on record; the monitor hears how long
 * it lasts.  A session that cannot be recorded so is refused.  gs is
 * slotted (its login waited, or is about to).
 */
static void
gs_ticket_admit(struct gsess *gs, const struct approval *a)
{
	char	until[32], note[BM_NOTE_MAX];

	parse_format_time(a->until, until, sizeof(until));
	if (broker_audit(gs->b, "session_approved", gs->id, json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s}", "engineer", gs->engineer,
	    "by", "ticket approval", "ticket", a->ticket, "until", until,
	    "approved_by", a->by, "reason", a->reason)) == -1) {
		gs_answer(gs, BM_DENIED);
		return;
	}
	snprintf(gs->by_ticket, sizeof(gs->by_ticket), "%s", a->ticket);
	ticket_note(a, note, sizeof(note));
	log_info("session %s: %s let in on the approval of ticket %s",
	    gs->id, gs->engineer, a->ticket);
	gs_answer_note(gs, BM_APPROVED, note);
}

/*
 * BM_TICKET_CHECK: before a login waits, is its ticket approved?  Then
 * it goes in at once, and never shows as pending.
 */
int
gs_msg_ticket_check(struct gsess *gs, json_t *msg)
{
	const struct approval *a;

	if (json_string_value(json_object_get(msg, "engineer")) == NULL)
		return -1;
	gs_copy(msg, "engineer", gs->engineer, sizeof(gs->engineer));
	gs_copy(msg, "ticket", gs->ticket, sizeof(gs->ticket));
	gs_copy(msg, "key_id", gs->key_id, sizeof(gs->key_id));
	if ((a = approvals_find(gs->b->approvals, gs->ticket,
	    clock_now())) == NULL) {
		gs_answer(gs, BM_NOT_COVERED);
		return 0;
	}
	gs_ticket_admit(gs, a);
	return 0;
}

void
broker_set_approvals(struct broker *b, struct approvals *ap)
{
	b->approvals = ap;
}

json_t *
broker_approvals(struct broker *b)
{
	if (b->approvals == NULL)
		return json_array();
	return approvals_list(b->approvals, clock_now());
}

/*
 * End the running sessions that carry ticket (came_in: only those let
 * in on its approval), on record with why; how many.
 */
static int
broker_end_ticket(struct broker *b, const char *ticket, int came_in,
    const char *why, enum bm_end end)
{
	struct gsess	*gs;
	int		 n = 0;

	TAILQ_FOREACH(gs, &b->sessions, entry) {
		if (gs->pid <= 0 || gs->end_asked != 0 ||
		    gs->state != BM_PH_ACTIVE ||
		    strcmp(came_in ? gs->by_ticket : gs->ticket, ticket) != 0)
			continue;
		(void)broker_audit(b, "session_ended", gs->id, json_pack(
		    "{s:s, s:s, s:s}", "engineer", gs->engineer, "ticket",
		    ticket, "reason", why));
		log_info("session %s: %s; ending it", gs->id, why);
		gs_end(gs, end);
		n++;
	}
	return n;
}

int
broker_approve_ticket(struct broker *b, const char *ticket, uint64_t secs,
    const struct actor *who, char *err, size_t errlen)
{
	struct approval		 a;
	const struct approval	*in;
	struct gsess		*gs;
	json_t			*ev;
	char			 until[32];
	int			 n = 0;

	if (b->approvals == NULL) {
		snprintf(err, errlen, "ticket approvals are not available");
		return -1;
	}
	memset(&a, 0, sizeof(a));
	snprintf(a.ticket, sizeof(a.ticket), "%s", ticket);
	a.granted = clock_now();
	a.until = a.granted + (time_t)secs;
	snprintf(a.by, sizeof(a.by), "%s", who->by);
	snprintf(a.reason, sizeof(a.reason), "%s", who->reason);
	parse_format_time(a.until, until, sizeof(until));
	/* On record first: an approval that is not is not given. */
	if ((ev = actor_fields(who)) == NULL)
		goto unrecorded;
	json_object_set_new(ev, "ticket", json_string(ticket));
	json_object_set_new(ev, "until", json_string(until));
	json_object_set_new(ev, "for_s", json_integer((json_int_t)secs));
	if (broker_audit(b, "ticket_approved", NULL, ev) == -1)
		goto unrecorded;
	if (approvals_grant(b->approvals, &a, err, errlen) == -1) {
		(void)broker_audit(b, "ticket_approval_failed", NULL,
		    json_pack("{s:s, s:s}", "ticket", ticket, "error", err));
		return -1;
	}
	log_info("ticket %s approved until %s by %s", ticket, until, who->by);
	/* Those waiting on it go in now. */
	in = approvals_find(b->approvals, ticket, clock_now());
	TAILQ_FOREACH(gs, &b->sessions, entry) {
		if (in == NULL || gs->state != BM_PH_PENDING ||
		    strcmp(gs->ticket, ticket) != 0)
			continue;
		gs_set_state(gs, BM_PH_SLOTTED);
		if (gs->ev_approval != NULL)
			event_del(gs->ev_approval);
		gs_ticket_admit(gs, in);
		n++;
	}
	return n;
unrecorded:
	snprintf(err, errlen, "the audit log cannot be written");
	return -1;
}

int
broker_revoke_ticket(struct broker *b, const char *ticket,
    const struct actor *who, char *err, size_t errlen)
{
	struct approval	 gone;
	json_t		*ev;
	char		 why[400];
	int		 rc;

	if (b->approvals == NULL || (rc = approvals_revoke(b->approvals,
	    ticket, &gone, err, errlen)) == 1) {
		snprintf(err, errlen, "ticket %s is not approved", ticket);
		return -1;
	}
	if (rc == -1)
		return -1;
	if ((ev = actor_fields(who)) != NULL)
		json_object_set_new(ev, "ticket", json_string(ticket));
	(void)broker_audit(b, "ticket_revoked", NULL, ev);
	log_info("ticket %s: approval revoked by %s", ticket, who->by);
	snprintf(why, sizeof(why), "the approval of ticket %.64s was revoked",
	    ticket);
	return broker_end_ticket(b, ticket, 0, why, BM_END_REVOKED);
}

/*
 * Once a second: an approval whose time is up ends, with the sessions
 * it let in (the customer approved them for that long).
 */
void
broker_approvals_tick(struct broker *b)
{
	struct approval	over;
	char		until[32], why[400];

	while (b->approvals != NULL && approvals_expire(b->approvals,
	    clock_now(), &over) == 1) {
		parse_format_time(over.until, until, sizeof(until));
		(void)broker_audit(b, "ticket_approval_ended", NULL, json_pack(
		    "{s:s, s:s, s:s}", "ticket", over.ticket, "until", until,
		    "approved_by", over.by));
		snprintf(why, sizeof(why), "the approval of ticket %.64s "
		    "ended at %s", over.ticket, until);
		(void)broker_end_ticket(b, over.ticket, 1, why,
		    BM_END_TICKET_OVER);
	}
}
