/*
 * broker_proto.h - the protocol between the broker (the gateway's main
 * process) and each session's monitor.
 *
 * The monitor holds three descriptors from the broker besides the
 * engineer's stream:
 *  - a SOCK_SEQPACKET socket for its messages to the broker, one JSON
 *    object {"msg": NAME, ...} per datagram; the messages that are
 *    answered get one byte back (enum bm_answer), in order;
 *  - a SOCK_SEQPACKET socket on which the broker hands over each
 *    reloaded policy (BM_POLICY, with the policy's and the revocation
 *    list's copies attached as descriptors);
 *  - the session host key's file, which it passes to the sandboxed
 *    child (gateway/session/session.h).
 * The broker ends a session with SIGTERM, queuing the reason (sigqueue,
 * enum bm_end).
 *
 * bm_msgs[] is the one table of messages, read by both ends: the
 * monitor names its messages from it, the broker looks each one up in
 * it and takes it only in the phases of the session it lists (a message
 * out of place, or malformed, ends the session on the record).  The
 * broker never learns what a session does from the audit events it
 * writes for it: the monitor says it in so many words (BM_LOGIN,
 * BM_GRANT, BM_DOING).
 */
#ifndef PH_BROKER_PROTO_H
#define PH_BROKER_PROTO_H

#include <stddef.h>

#define BM_EVENT_MAX		4096	/* an audit event, in bytes */
#define BM_MSG_MAX		(BM_EVENT_MAX + 64)	/* one message */
#define BM_NAME_MAX		16	/* bytes of a message's name */

enum bm_msg {
	BM_AUDIT,	/* an event for the audit log: BM_DURABLE or BM_LOST */
	BM_SLOT,	/* a login's certificate is accepted: a slot? BM_SLOT_* */
	BM_APPROVAL,	/* wait for the customer's decision: BM_APPROVED ... */
	BM_LOGIN,	/* logged in: who (engineer, ticket, key_id) */
	BM_GRANT,	/* the session relies on a grant (bm_grant) from now */
	BM_DOING,	/* the diagnostic now running ("command"), or none */
	BM_ACTIVITY,	/* channel data moved: the session is not idle */
	BM_BUNDLE,	/* the engineer asks for a support bundle ("id") */
	BM_POLICY,	/* broker to monitor: a reloaded policy ("ca") */
	BM_TICKET_CHECK, /* is the login's ticket approved now? BM_APPROVED... */
	BM_ACTION,	/* an action asked for: BM_DURABLE with its id, BM_LOST */
	BM_ACTION_CANCEL, /* the engineer left it ("id"): withdrawn if waiting */
	BM_ACTION_STATE, /* broker to monitor: "id" approved and running
			   (its output's file attached), denied, done */
	BM_SHELL,	/* the support shell's "recording", "" once closed */
	BM_WATCH,	/* broker to monitor: a watcher joined or left ("by",
			   "joined") */
	BM_NMSG
};

/*
 * A session's phases as the broker tracks them (broker.c's state).
 * A login in progress holds no max_sessions slot; BM_SLOT takes one.
 */
enum bm_phase {
	BM_PH_LOGIN,	/* a login in progress: not yet a session on record */
	BM_PH_SLOTTED,	/* its certificate accepted: a slot, session_opened */
	BM_PH_PENDING,	/* waiting for the customer's approval */
	BM_PH_ACTIVE,	/* logged in */
	BM_PH_CLOSED,	/* its process gone and its stream drained */
	BM_NPHASE
};
#define BM_IN(ph)	(1 << (ph))

#define BM_FROM_MONITOR	0x01
#define BM_FROM_BROKER	0x02

struct bm_msg_info {
	const char	*name;		/* "msg" on the wire */
	int		 from;		/* BM_FROM_* */
	int		 phases;	/* BM_IN(): when the broker takes it */
	int		 answered;	/* one byte answers it */
};

extern const struct bm_msg_info bm_msgs[BM_NMSG];

/* The message named name, sent by from; or -1. */
int	bm_msg_lookup(const char *name, int from);

/* The broker's one-byte answers. */
enum bm_answer {
	BM_DURABLE = 'y',	/* BM_AUDIT: the event is on record */
	BM_LOST = 'n',		/* ... it could not be written */
	BM_SLOT_TAKEN = 's',	/* BM_SLOT: one of max_sessions' slots */
	BM_SLOT_FULL = 'f',	/* ... all in use (audited) */
	BM_SLOT_NO_AUDIT = 'a',	/* ... the audit log cannot be written */
	BM_SLOT_DROPPED = 'd',	/* ... the login was dropped meanwhile */
	BM_APPROVED = 'A',	/* BM_APPROVAL: the customer approved */
	BM_DENIED = 'D',	/* ... denied, or it could not be recorded */
	BM_TIMED_OUT = 'T',	/* ... nobody decided in approval_timeout */
	BM_GONE = 'G',		/* ... the engineer hung up meanwhile */
	BM_NOT_COVERED = 'N',	/* BM_TICKET_CHECK: no approval of the ticket */
	BM_BUNDLE_QUEUED = 'Q',	/* BM_BUNDLE: requested, on record */
	BM_BUNDLE_FULL = 'F',	/* ... too many bundles wait already */
	BM_BUNDLE_NOT = 'X'	/* ... not requested (disabled, no record) */
};
/*
 * BM_APPROVED may carry, after its byte in the same datagram, a line
 * for the engineer (how long a ticket's approval lasts): at most
 * BM_NOTE_MAX bytes of text.
 */
#define BM_NOTE_MAX	256
/* BM_DURABLE answers BM_ACTION with the action's id as its note. */
#define BM_ACTION_ID_LEN	16	/* hex characters */

/* Grants a session relies on: withdrawing one ends it (BM_GRANT). */
enum bm_grant {
	BM_GRANT_COMMANDS,
	BM_GRANT_FILES,
	BM_GRANT_FORWARD,
	BM_GRANT_SETTINGS,
	BM_NGRANT
};

extern const char *const bm_grants[BM_NGRANT];

/* The grant named name, or -1. */
int	bm_grant_lookup(const char *name);

/* Why the broker ends a session: the value queued with SIGTERM. */
enum bm_end {
	BM_END_KILLED = 1,	/* porthole kill */
	BM_END_IDLE,		/* idle_timeout */
	BM_END_WITHDRAWN,	/* a reload withdrew its grant */
	BM_END_AUDIT,		/* the audit log cannot be written */
	BM_END_SHUTDOWN,	/* the gateway stops */
	BM_END_CROWDED,		/* a login dropped: too many at once */
	BM_END_TICKET_OVER,	/* the ticket's approval it came in on ended */
	BM_END_REVOKED		/* porthole revoke of its ticket */
};

#endif
