/*
 * broker_int.h - the broker's state, shared between its files:
 *
 *   broker.c           the registry of sessions: accepting a channel,
 *                      starting the session's process, reaping it,
 *                      porthole sessions and kill, idleness, reloads
 *   broker_splice.c    a session's stream spliced to its channel, and
 *                      the session's end once both are done
 *   broker_msg.c       the monitor's messages (broker_proto.h): the
 *                      audit proxy, slots, logins, grants
 *   broker_approval.c  the customer's approval of a session
 *   broker_action.c    [actions]: each run approved, then run as a job
 *   broker_watch.c     porthole watch of a support shell
 *   broker_audit.c     writing the audit log, and failing closed
 *   broker_state.c     a session's phase, its end, its monitor's answers
 *
 * Each file calls only those below it.  Not a public surface:
 * broker.h is.
 */
#ifndef PH_BROKER_INT_H
#define PH_BROKER_INT_H

#include <sys/queue.h>
#include <sys/types.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>

#include "gateway/actor.h"
#include "gateway/broker.h"
#include "gateway/broker_proto.h"
#include "lib/burst.h"

#define BROKER_CHUNK	65536
#define GS_ID_LEN	16	/* a session id: hex characters */

struct krl;
struct notify;
struct gaction;

/*
 * One engineer session, seen from the main process.  Its state is the
 * session's phase (broker_proto.h), changed only by gs_set_state(); the
 * rest is the splice of its stream, and what porthole sessions shows.
 */
struct gsess {
	struct broker		*b;
	char			 id[GS_ID_LEN + 1];
	enum bm_phase		 state;
	pid_t			 pid;		/* 0 once reaped */
	int			 status;	/* wait status */
	int			 fd;		/* stream to the session */
	int			 audit_fd;	/* its audit requests */
	int			 pol_fd;	/* new policies, to its monitor */
	ssh_channel		 ch;		/* NULL once gone */
	struct ssh_channel_callbacks_struct cb;
	struct event		*ev_read;	/* fd readable */
	struct event		*ev_write;	/* fd writable */
	struct event		*ev_audit;
	char			 hold[BROKER_CHUNK];	/* channel -> fd */
	size_t			 hold_off;
	size_t			 hold_len;
	uint32_t		 pending;	/* offered by libssh, not taken */
	char			 out[BROKER_CHUNK];	/* fd -> channel */
	size_t			 out_off;
	size_t			 out_len;	/* read, not yet taken by libssh */
	int			 wait_window;	/* fd reading paused */
	int			 ch_eof;
	int			 ch_closed;
	int			 fd_eof;
	int			 shut_wr;
	uint64_t		 bytes_in;	/* engineer -> session */
	uint64_t		 bytes_out;	/* session -> engineer */
	uint64_t		 started;	/* clock_mono_ms() */
	time_t			 started_at;	/* clock_now(), for people */
	char			 from[80];
	char			 src[80];	/* from without the port */
	int			 recorded;	/* something of it is on record */
	char			 engineer[257];
	char			 ticket[257];
	char			 key_id[257];
	struct event		*ev_approval;	/* approval timeout */
	uint64_t		 last_active;	/* clock_mono_ms() of channel data,
						   as the session reports it */
	uint64_t		 moved_ms;	/* ... of bytes the broker saw move */
	uint64_t		 moved;		/* bytes_in + bytes_out then */
	char			 doing[128];	/* the running diagnostic */
	int			 uses;		/* 1 << bm_grant: grants relied on */
	uint64_t		 end_asked;	/* clock_mono_ms() of gs_end(), 0 */
	char			 by_ticket[257];	/* let in by that ticket's
						   approval, or "" */
	char			 shell_rec[64];	/* its support shell's
						   recording, or "" */
	int			 watchers;	/* porthole watch, now */
	TAILQ_ENTRY(gsess)	 entry;
};
TAILQ_HEAD(gsess_list, gsess);

/*
 * A stream refused before any session process: kept open a moment after
 * the disconnect is written, so its client reads why before it sees the
 * channel close (it is still writing its own key exchange).
 */
struct turned {
	struct broker			*b;
	ssh_channel			 ch;
	struct event			*ev;
	struct ssh_channel_callbacks_struct cb;
	TAILQ_ENTRY(turned)		 entry;
};
TAILQ_HEAD(turned_list, turned);

#define TURNED_MAX		64	/* more are closed at once */
#define TURNED_LINGER_SECS	3

struct broker {
	struct event_base	*base;
	const struct policy	*pol;
	struct audit		*audit;
	int			 host_key_fd;	/* session_host_key() */
	uint8_t			 ca_key[32];
	const struct krl	*krl;		/* revoked_keys, or NULL */
	struct gsess_list	 sessions;
	size_t			 nsessions;
	size_t			 nslots;	/* sessions past their login */
	struct burst		*burst;		/* refusals summarised */
	struct turned_list	 turned;
	size_t			 nturned;
	void			(*flush)(void *);
	void			*flush_arg;
	struct event		*ev_idle;	/* checks idle_timeout */
	struct event		*ev_retry;	/* a write stalled in a rekey */
	int			 audit_failing;	/* the log cannot be written */
	struct telem		*telem;		/* session events, or NULL */
	struct approvals	*approvals;	/* tickets approved, or NULL */
	struct jobs		*jobs;		/* notify_command runs here */
	TAILQ_HEAD(, notify)	 notifying;	/* ... these now */
	TAILQ_HEAD(, gaction)	 actions;	/* [actions] waiting, running,
						   expired */
	size_t			 nactions;	/* waiting or running */
	int			 actions_pruned;	/* outputs checked */
	uint64_t		 actions_pruned_ms;	/* ... then */
	broker_bundle_fn	 bundle;	/* engineers' bundle requests */
	void			*bundle_arg;
};

/* broker_state.c */
int	gs_slotted(const struct gsess *gs);
void	gs_set_state(struct gsess *gs, enum bm_phase st);
void	gs_end(struct gsess *gs, int why);
void	gs_end_overdue(struct gsess *gs, uint64_t now);
void	broker_flush(struct broker *b);
void	gs_answer(struct gsess *gs, enum bm_answer ans);
void	gs_answer_note(struct gsess *gs, enum bm_answer ans, const char *note);

/* broker_audit.c */
int	broker_audit(struct broker *b, const char *type, const char *sid, json_t *fields);
int	broker_audit_retry(struct broker *b);
void	broker_summary(void *arg, const struct burst_summary *sum);
int	gs_refusal(struct gsess *gs, const char *type, json_t *fields);

/* broker_notify.c */
void	gs_notify_waiting(struct gsess *gs);
void	broker_notify_free(struct broker *b);

/* broker_action.c */
int	gs_msg_action(struct gsess *gs, json_t *msg);
int	gs_msg_action_cancel(struct gsess *gs, json_t *msg);
/* Its session ended: what of it waits is withdrawn. */
void	broker_actions_session_gone(struct broker *b, const char *sid);
/*
 * Once a second: a waiting action nobody decided in approval_timeout
 * expires, an expired one is forgotten after a day, and once an hour
 * the outputs older than [actions] output_keep are removed.
 */
void	broker_actions_tick(struct broker *b);
void	broker_actions_free(struct broker *b);

/* broker_watch.c */
int	gs_msg_shell(struct gsess *gs, json_t *msg);

/* broker_approval.c */
void	gs_approval_answer(struct gsess *gs, int approved, const struct actor *a, const char *reason, enum bm_answer ans);
void	gs_approval_gone(struct gsess *gs);
void	gs_copy(json_t *msg, const char *key, char *dst, size_t len);
int	gs_msg_approval(struct gsess *gs, json_t *msg);
int	gs_msg_ticket_check(struct gsess *gs, json_t *msg);
void	broker_approvals_tick(struct broker *b);

/* broker_msg.c */
void	gs_msg_read(evutil_socket_t fd, short what, void *arg);

/* broker_splice.c */
int	gs_on_data(ssh_session s, ssh_channel ch, void *data, uint32_t len, int is_stderr, void *arg);
void	gs_on_eof(ssh_session s, ssh_channel ch, void *arg);
void	gs_on_close(ssh_session s, ssh_channel ch, void *arg);
void	gs_drop_channel(struct gsess *gs, int free_it);
void	gs_fd_write(evutil_socket_t fd, short what, void *arg);
void	gs_fd_read(evutil_socket_t fd, short what, void *arg);
void	gs_free(struct gsess *gs);
void	gs_check_done(struct gsess *gs);
void	broker_retry(evutil_socket_t fd, short what, void *arg);

#endif
