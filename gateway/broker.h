/*
 * broker.h - one engineer session per forwarded-tcpip channel: the
 * channel is spliced to a socketpair whose other end a forked session
 * process serves as an SSH server.  The broker also writes the session's
 * audit events (it is the audit log's single writer) and reaps children.
 */
#ifndef PH_BROKER_H
#define PH_BROKER_H

#include <event2/event.h>
#include <libssh/libssh.h>
#include <jansson.h>

#include "audit/audit.h"
#include "gateway/actor.h"
#include "gateway/telem.h"
#include "lib/krl.h"
#include "policy/policy.h"

struct broker;

/*
 * host_key_fd holds the session host key's file (see session_host_key());
 * each session's process reads it, the broker never does.
 */
struct broker	*broker_new(struct event_base *base, const struct policy *pol,
		    struct audit *audit, int host_key_fd,
		    const uint8_t ca_key[32]);
/* Tunnel callbacks (see tunnel.h). */
void		 broker_channel(ssh_channel ch, const char *orig_host,
		    int orig_port, void *arg);
void		 broker_poll(void *arg);
/* The tunnel with session s went down: its channels are gone. */
void		 broker_tunnel_down(struct broker *b, ssh_session s);
/* Tell the broker how to ask for tunnel output to be flushed. */
void		 broker_set_flush(struct broker *b, void (*flush)(void *),
		    void *arg);
/* SIGCHLD: reap sessions and diagnostics that ended. */
void		 broker_reap(struct broker *b);
/* The running sessions, as a JSON array (new reference). */
json_t		*broker_sessions(struct broker *b);
/*
 * End session id now, on the customer's order (who: for the audit).
 * Returns 0, or -1 if there is no such session.
 */
int		 broker_kill(struct broker *b, const char *id,
		    const struct actor *who);

/*
 * Approve (or deny) session id, which waits in state pending.  Returns 0,
 * -1 if there is no such session, -2 if it is not waiting.
 */
int		 broker_approve(struct broker *b, const char *id, int approve,
		    const struct actor *who);

/*
 * [actions]: approve (or deny) action id, which waits; who is named in
 * the audit log.  0; -2 if there is no such action; or -1 with why in
 * err (it runs already, the policy no longer allows it, the audit log).
 */
int		 broker_action_decide(struct broker *b, const char *id,
		    int approve, const struct actor *who, char *err,
		    size_t errlen);
/* The actions waiting and running, as a JSON array (new reference). */
json_t		*broker_actions(struct broker *b);

/*
 * porthole watch: who starts (joined) or stops watching session id's
 * support shell, on record.  Joining gives *fd, the shell's recording
 * open for reading at its end (what comes next is what the watcher
 * sees), and its shell redraws its screen.  0, or -1 with why in err.
 */
int		 broker_watch(struct broker *b, const char *id, int joined,
		    const struct actor *who, int *fd, char *err,
		    size_t errlen);

/*
 * Approvals of a ticket for a time (approvals.h), which the broker
 * consults for every login that would wait: ap (NULL: none) must
 * outlive the broker.
 */
struct approvals;
void		 broker_set_approvals(struct broker *b, struct approvals *ap);
/*
 * Approve every session carrying ticket for secs from now, on behalf of
 * who: on record, stored, and the sessions waiting with it let in.
 * Returns how many were let in, or -1 with err (nothing approved).
 */
int		 broker_approve_ticket(struct broker *b, const char *ticket,
		    uint64_t secs, const struct actor *who, char *err,
		    size_t errlen);
/*
 * Withdraw ticket's approval and end the sessions carrying the ticket:
 * how many, or -1 with err (it has none, or it cannot be stored).
 */
int		 broker_revoke_ticket(struct broker *b, const char *ticket,
		    const struct actor *who, char *err, size_t errlen);
/* The tickets approved now, as a JSON array (new reference). */
json_t		*broker_approvals(struct broker *b);

/*
 * A new policy took effect (reload): new sessions use it, and running
 * sessions whose grant it withdraws are ended and audited.  The old
 * policy is no longer referenced when this returns.
 */
void		 broker_set_policy(struct broker *b, const struct policy *pol);

/* Where [remote_access] notify_command runs (job.h); NULL: nowhere. */
struct jobs;
void		 broker_set_jobs(struct broker *b, struct jobs *jobs);

/* Can the audit log be written (else sessions are refused)? */
int		 broker_audit_ok(const struct broker *b);
/* Session opened/closed events go to telemetry too. */
void		 broker_set_telem(struct broker *b, struct telem *telem);
/*
 * Where a session's request for a support bundle goes (bundles.h): id
 * chosen by its monitor, who and the ticket as the broker knows them
 * from the login.  0 queued, 1 refused for now (too many wait), -1
 * refused; why for the log.
 */
typedef int (*broker_bundle_fn)(void *arg, const char *id,
    const char *engineer, const char *ticket, const char *sid, char *why,
    size_t whylen);
void		 broker_set_bundles(struct broker *b, broker_bundle_fn fn,
		    void *arg);
/*
 * Write an event about session sid (steals fields) for someone outside
 * the session (the CLI); 0, or -1 if the log cannot be written.
 */
int		 broker_record(struct broker *b, const char *type,
		    const char *sid, json_t *fields);

/* The vendor CA for new sessions (reload). */
void		 broker_set_ca(struct broker *b, const uint8_t ca_key[32]);

/*
 * The revocation list (NULL: none) for new sessions, and for running
 * ones with the next broker_set_policy(); k must outlive its use here.
 */
void		 broker_set_revoked(struct broker *b, const struct krl *k);

/* End every session (shutdown). */
void		 broker_free(struct broker *b);

#endif
