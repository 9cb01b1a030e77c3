/*
 * broker_msg.c - the messages a session's monitor sends the broker
 * (broker_proto.h), each taken only in the phases the protocol's table
 * lists for it: the audit events it proxies, a slot for a login, who
 * logged in, the grants relied on, what runs, activity.
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

#include "lib/clock.h"
#include "lib/log.h"

/*
 * BM_SLOT: the monitor accepted a certificate and the key behind it: the
 * login takes one of max_sessions' slots now, and the session goes on
 * record.  A login dropped meanwhile takes none.
 */
static int
gs_msg_slot(struct gsess *gs, json_t *msg)
{
	struct broker	*b = gs->b;
	const char	*eng = json_string_value(json_object_get(msg,
			    "engineer"));
	char		 why[160];

	if (eng == NULL)
		return -1;
	if (gs->end_asked != 0) {
		gs_answer(gs, BM_SLOT_DROPPED);
		return 0;
	}
	if (!policy_allow_session_slot(b->pol, b->nslots, why, sizeof(why))) {
		log_warn("session %s refused: %s (max_sessions)", gs->id, why);
		gs_answer(gs, gs_refusal(gs, "session_refused", json_pack(
		    "{s:s, s:s, s:s}", "engineer", eng, "reason",
		    "max_sessions reached", "detail", why)) == 0 ?
		    BM_SLOT_FULL : BM_SLOT_DROPPED);
		return 0;
	}
	if (broker_audit(b, "session_opened", gs->id, json_pack("{s:s, s:s}",
	    "from", gs->from, "engineer", eng)) == -1) {
		gs_answer(gs, BM_SLOT_NO_AUDIT);
		return 0;
	}
	gs->recorded = 1;
	gs_set_state(gs, BM_PH_SLOTTED);
	gs_answer(gs, BM_SLOT_TAKEN);
	return 0;
}

/* BM_LOGIN: who logged in, for porthole sessions and telemetry. */
static int
gs_msg_login(struct gsess *gs, json_t *msg)
{
	if (json_string_value(json_object_get(msg, "engineer")) == NULL)
		return -1;
	gs_copy(msg, "engineer", gs->engineer, sizeof(gs->engineer));
	gs_copy(msg, "ticket", gs->ticket, sizeof(gs->ticket));
	gs_copy(msg, "key_id", gs->key_id, sizeof(gs->key_id));
	gs_set_state(gs, BM_PH_ACTIVE);
	/* Waiting for approval was not idleness. */
	gs->last_active = gs->moved_ms = clock_mono_ms();
	if (gs->b->telem != NULL)
		telem_event(gs->b->telem, "session_opened", json_pack(
		    "{s:s, s:s}", "session", gs->id, "engineer", gs->engineer));
	return 0;
}

/* BM_GRANT: a reload that withdraws this grant ends the session. */
static int
gs_msg_grant(struct gsess *gs, json_t *msg)
{
	const char	*name = json_string_value(json_object_get(msg,
			    "grant"));
	int		 g;

	if (name == NULL || (g = bm_grant_lookup(name)) == -1)
		return -1;
	gs->uses |= 1 << g;
	return 0;
}

/* BM_DOING: the diagnostic now running, or none. */
static int
gs_msg_doing(struct gsess *gs, json_t *msg)
{
	json_t *cmd = json_object_get(msg, "command");

	if (cmd != NULL && !json_is_string(cmd))
		return -1;
	snprintf(gs->doing, sizeof(gs->doing), "%s", cmd != NULL ?
	    json_string_value(cmd) : "");
	return 0;
}

/* BM_ACTIVITY: channel data moved; nothing is written, nothing answered. */
static int
gs_msg_activity(struct gsess *gs, json_t *msg)
{
	(void)msg;
	gs->last_active = clock_mono_ms();
	return 0;
}

/*
 * BM_BUNDLE: the engineer asks for a support bundle.  Who asks and the
 * ticket are the broker's own record of the login, not the monitor's
 * word; the id is the monitor's, which tells the engineer.
 */
static int
gs_msg_bundle(struct gsess *gs, json_t *msg)
{
	struct broker	*b = gs->b;
	const char	*id = json_string_value(json_object_get(msg, "id"));
	char		 why[256];
	int		 rc;

	if (id == NULL)
		return -1;
	if (b->bundle == NULL) {
		gs_answer(gs, BM_BUNDLE_NOT);
		return 0;
	}
	rc = b->bundle(b->bundle_arg, id, gs->engineer, gs->ticket, gs->id,
	    why, sizeof(why));
	if (rc != 0)
		log_warn("session %s: bundle not requested: %s", gs->id, why);
	gs_answer(gs, rc == 0 ? BM_BUNDLE_QUEUED : rc == 1 ? BM_BUNDLE_FULL :
	    BM_BUNDLE_NOT);
	return 0;
}

/* BM_AUDIT: write the event, then say whether it is durable. */
static int
gs_msg_audit(struct gsess *gs, json_t *msg)
{
	static const char *allowed[] = { "auth_accepted", "auth_refused",
	    "command_allowed", "command_refused", "command_finished",
	    "command_failed", "request_refused", "channel_refused",
	    "session_refused", "session_violation", "session_ended",
	    "file_opened", "file_closed", "file_refused", "dir_listed",
	    "write_refused", "setting_read", "setting_changed",
	    "setting_refused", "forward_opened", "forward_closed",
	    "forward_refused", "shell_opened", "shell_closed",
	    "action_refused", "action_output", NULL };
	json_t		*ev = json_object_get(msg, "event");
	const char	*type;
	char		 typebuf[40];
	size_t		 i;
	int		 rc;

	if (!json_is_object(ev) || json_object_get(ev, "session") != NULL ||
	    (type = json_string_value(json_object_get(ev, "type"))) == NULL)
		return -1;
	for (i = 0; allowed[i] != NULL; i++)
		if (strcmp(type, allowed[i]) == 0)
			break;
	if (allowed[i] == NULL)
		return -1;
	snprintf(typebuf, sizeof(typebuf), "%s", type);
	json_incref(ev);
	json_object_del(ev, "type");
	/* Refusals of a login in progress may come in floods. */
	if (!gs_slotted(gs) && (strcmp(typebuf, "auth_refused") == 0 ||
	    strcmp(typebuf, "session_refused") == 0))
		rc = gs_refusal(gs, typebuf, ev);
	else {
		gs->recorded = 1;
		rc = broker_audit(gs->b, typebuf, gs->id, ev);
	}
	gs_answer(gs, rc == 0 ? BM_DURABLE : BM_LOST);
	if (rc != 0 && gs->pid > 0)
		kill(gs->pid, SIGKILL);
	return 0;
}

/* What the broker does with each of the monitor's messages. */
static int (*const gs_handlers[BM_NMSG])(struct gsess *, json_t *) = {
	[BM_AUDIT] =	gs_msg_audit,
	[BM_SLOT] =	gs_msg_slot,
	[BM_APPROVAL] =	gs_msg_approval,
	[BM_LOGIN] =	gs_msg_login,
	[BM_GRANT] =	gs_msg_grant,
	[BM_DOING] =	gs_msg_doing,
	[BM_ACTIVITY] =	gs_msg_activity,
	[BM_TICKET_CHECK] = gs_msg_ticket_check,
	[BM_ACTION] =	gs_msg_action,
	[BM_ACTION_CANCEL] = gs_msg_action_cancel,
	[BM_SHELL] =	gs_msg_shell,
	[BM_BUNDLE] =	gs_msg_bundle,
};

/*
 * A message from the session's monitor, taken only in the phases the
 * protocol's table lists for it; anything else ends the session, on
 * record.
 */
void
gs_msg_read(evutil_socket_t fd, short what, void *arg)
{
	struct gsess	*gs = arg;
	char		 buf[BM_MSG_MAX];
	json_t		*msg = NULL;
	const char	*name;
	ssize_t		 n;
	int		 kind = -1;

	(void)what;
	n = recv(fd, buf, sizeof(buf), MSG_TRUNC);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		event_del(gs->ev_audit);
		return;
	}
	if ((size_t)n <= sizeof(buf) && (msg = json_loadb(buf, (size_t)n,
	    JSON_REJECT_DUPLICATES, NULL)) != NULL &&
	    (name = json_string_value(json_object_get(msg, "msg"))) != NULL)
		kind = bm_msg_lookup(name, BM_FROM_MONITOR);
	if (kind == -1 || gs_handlers[kind] == NULL ||
	    !(bm_msgs[kind].phases & BM_IN(gs->state)) ||
	    gs_handlers[kind](gs, msg) == -1) {
		log_error("session %s: malformed or misplaced message from its "
		    "monitor; ending the session", gs->id);
		(void)broker_audit(gs->b, "session_violation", gs->id,
		    json_pack("{s:s}", "reason", "malformed audit request"));
		if (gs->pid > 0)
			kill(gs->pid, SIGKILL);
		event_del(gs->ev_audit);
	}
	json_decref(msg);
}
