/*
 * control_proto.h - the protocol of portholed's control socket
 * (run_dir/POLICY_CONTROL_SOCKET), between the porthole CLI and the
 * gateway.  One request per connection: a JSON line {"cmd": NAME, ...},
 * answered by one JSON line {"ok": true, ...} or {"ok": false,
 * "error": WHY}.
 *
 * control_cmds[] is the one table of requests, read by both ends: the
 * CLI names each request from it and knows what it must carry, the
 * gateway looks each one up in it and refuses what it does not list.
 */
#ifndef PH_CONTROL_PROTO_H
#define PH_CONTROL_PROTO_H

#define CONTROL_MAX_REQUEST	4096	/* bytes of one request line */
#define CONTROL_ID_MAX		64	/* bytes of a session id */
#define CONTROL_VERSION_MAX	64	/* bytes of an update's version */
#define CONTROL_REASON_MAX	256	/* bytes of a --reason */
#define CONTROL_REASON_RULE	"at most 256 bytes of UTF-8 text without " \
				"control characters"

enum control_cmd {
	CONTROL_STATUS,		/* the gateway, its tunnels and telemetry */
	CONTROL_SESSIONS,	/* the sessions running and waiting */
	CONTROL_APPROVE,	/* a session waiting for approval */
	CONTROL_DENY,
	CONTROL_KILL,		/* end a session now */
	CONTROL_RELOAD,		/* read porthole.conf again */
	CONTROL_RECORDING_VIEWED, /* an auditor replays or exports one */
	CONTROL_UPDATES,	/* the updates the gateway knows of */
	CONTROL_UPDATE_RESCHEDULE, /* move a scheduled update */
	CONTROL_UPDATE_RUN_NOW,	/* install one now */
	CONTROL_APPROVE_TICKET,	/* every session of a ticket, for a time */
	CONTROL_APPROVALS,	/* the tickets approved now */
	CONTROL_REVOKE,		/* withdraw a ticket's approval */
	CONTROL_BUNDLES,	/* the support bundles and their states */
	CONTROL_BUNDLE_SHOW,	/* one bundle with its manifest */
	CONTROL_BUNDLE_APPROVE,	/* let a bundle leave */
	CONTROL_BUNDLE_DENY,
	CONTROL_ALERTS,		/* the vendor's alerts */
	CONTROL_ACTIONS,	/* [actions] waiting and running */
	CONTROL_ACTION_APPROVE,	/* let one action run */
	CONTROL_ACTION_DENY,
	CONTROL_WATCH,		/* watch a support shell: its recording's
				   descriptor comes before the answer */
	CONTROL_WATCH_END,
	CONTROL_BUNDLE_RETRY,	/* send a bundle the relay refused again */
	CONTROL_NCMD
};

/* What a request carries besides its name. */
#define CONTROL_ARG_ID		0x01	/* "id": a session or an action */
#define CONTROL_ARG_ACTION	0x02	/* "action": replay or export */
#define CONTROL_ARG_VERSION	0x04	/* "version": an update's */
#define CONTROL_ARG_WHEN	0x08	/* "when": an RFC 3339 time */
#define CONTROL_ARG_TICKET	0x10	/* "ticket": as ticket@porthole */
#define CONTROL_ARG_FOR		0x20	/* "for": seconds */
#define CONTROL_ARG_BUNDLE	0x40	/* "bundle": a bundle's id */

/*
 * CONTROL_WATCH's answer is preceded by this one byte, which carries the
 * descriptor (SCM_RIGHTS).
 */
#define CONTROL_FD_MARK		'F'

/* How long porthole approve --ticket may approve a ticket for. */
#define CONTROL_APPROVAL_MIN	60
#define CONTROL_APPROVAL_MAX	(7 * 86400)

struct control_cmd_info {
	const char	*name;		/* "cmd" on the wire */
	int		 args;		/* CONTROL_ARG_* it must carry */
	int		 acts;		/* changes something, on the record */
};

extern const struct control_cmd_info control_cmds[CONTROL_NCMD];

/* The request named name, or -1. */
int	control_cmd_lookup(const char *name);

/*
 * Every request may carry "reason" (porthole approve, deny, kill and
 * revoke take --reason) and "sudo_user" (the client's SUDO_USER, which
 * the gateway records as a claim).  Is s a reason it takes?  1 or 0.
 */
int	control_reason_valid(const char *s);

#endif
