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

#include "lib/log.h"

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
	struct timeval tv = { (time_t)gs->b->pol->approval_timeout, 0 };

	gs_copy(msg, "engineer", gs->engineer, sizeof(gs->engineer));
	gs_copy(msg, "ticket", gs->ticket, sizeof(gs->ticket));
	gs_copy(msg, "key_id", gs->key_id, sizeof(gs->key_id));
	gs_set_state(gs, BM_PH_PENDING);
	if (broker_audit(gs->b, "session_pending", gs->id, json_pack(
	    "{s:s, s:s, s:s}", "engineer", gs->engineer, "ticket", gs->ticket,
	    "key_id", gs->key_id)) == -1) {
		struct actor a;

		actor_internal(&a, "gateway");
		gs_approval_answer(gs, 0, &a, "cannot record the request",
		    BM_DENIED);
		return 0;
	}
	if (gs->ev_approval == NULL)
		gs->ev_approval = evtimer_new(gs->b->base, gs_approval_timeout,
		    gs);
	if (gs->ev_approval != NULL)
		evtimer_add(gs->ev_approval, &tv);
	log_info("session %s: %s (ticket %s) waits for approval", gs->id,
	    gs->engineer, gs->ticket[0] ? gs->ticket : "none");
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
