/*
 * monitor_int.h - the monitor's state and the helpers every one of its
 * answers uses, shared between the files of gateway/monitor/:
 *
 *   monitor.c          the session's start, its loop, the dispatch table,
 *                      time limits and reloaded policies
 *   monitor_login.c    logins and the customer's approval
 *   monitor_exec.c     diagnostics
 *   monitor_action.c   [actions]: asked for, approved, streamed
 *   monitor_access.c   files, settings and forwards
 *   monitor_shell.c    the support shell's pty and recording
 *   monitor_redact.c   [redact]: redacted copies of files, diagnostics'
 *                      output redacted on its way to the child
 *   monitor_bundle.c   the engineer's request for a support bundle
 *   monitor_core.c     answering, auditing and ending, under all of them
 *
 * Not a public surface: only gateway/monitor/ includes it.
 */
#ifndef PH_MONITOR_INT_H
#define PH_MONITOR_INT_H

#include <sys/stat.h>
#include <sys/types.h>
#include <poll.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "gateway/broker_proto.h"
#include "gateway/monitor/redacted.h"
#include "gateway/monitor_proto.h"
#include "gateway/session/access.h"
#include "policy/policy.h"

struct krl;
struct sshcert;

#define MON_MAX_FILES	128	/* open files per session */
#define MON_MAX_FWDS	64	/* open forwards per session */
#define MON_RELAY_BUF	16384
#define MON_ACTION_TAIL_MS 100	/* an action's output file, read this often */

/* A file the engineer holds open, until the child says it is closed. */
struct mon_file {
	uint32_t	 id;		/* 0: free slot */
	int		 peer;		/* MON_FROM_*: who opened it */
	char		 path[ACCESS_PATH_MAX + 1];
	uint64_t	 size;
	/* Under [redact]: the child has a copy; the file itself is here. */
	int		 orig;		/* -1: not redacted */
	struct redacted	*rd;
	const struct redact *redact;	/* the patterns of its copy */
};

/* One of a diagnostic's output pipes, redacted on its way to the peer. */
struct mon_pump {
	int			 in;	/* the diagnostic's; -1 at its end */
	int			 out;	/* to the peer; -1 once closed */
	struct redact_stream	*s;
	char			*buf;	/* redacted, not yet written */
	size_t			 len, off, cap;
};

/* A forward the engineer holds open. */
struct mon_fwd {
	uint32_t	 id;		/* 0: free slot */
	char		 target[300];	/* as asked: host:port */
	char		 addr[80];	/* as connected */
};

/* One direction of the shell's terminal relay. */
struct mon_pipe {
	char		 buf[MON_RELAY_BUF];
	size_t		 len, off;
};

/* The support shell: its process, its pty and its recording. */
struct mon_shell {
	pid_t		 pid;		/* 0: none */
	int		 rpc;		/* its monitor requests */
	int		 master;	/* pty master */
	int		 term;		/* to the child: the engineer's bytes */
	struct mon_pipe	 in;		/* term -> master */
	struct mon_pipe	 out;		/* master -> term (recorded) */
	int		 rec;		/* the asciicast file */
	char		 rec_name[64];
	EVP_MD_CTX	*rec_hash;
	uint64_t	 rec_bytes;
	uint64_t	 started_ms;
	unsigned char	 utf8[4];	/* an incomplete sequence held back */
	size_t		 nutf8;
	int		 held;		/* require_watch: until a watcher */
	char		 notice[200];	/* who watches, shown after the
					   redraw; "" if nothing to show */
	uint64_t	 notice_ms;	/* clock_mono_ms() it was set */
};

/*
 * An [actions] run the engineer asked for.  The broker runs it; the
 * monitor holds the pipes to the child, on which the engineer reads
 * that it waits, who approved it and its output, copied from the file
 * the broker writes it to.
 */
struct mon_action {
	char		 id[BM_ACTION_ID_LEN + 1];	/* "": none */
	char		 name[65];
	int		 out;		/* to the child: its output, -1 */
	int		 err;		/* ... porthole's lines about it, -1 */
	int		 log;		/* its output's file, -1 */
	struct mon_pipe	 buf;		/* log -> out */
	int		 running;	/* approved and started */
	int		 done;		/* the broker said how it ended */
	int		 exit_status;
	char		 result[160];
	int		 peer;		/* MM_FROM_*: who asked for it */
};

struct mon {
	int			 child_fd;
	pid_t			 child;
	int			 peer_fd;	/* who the current request came from */
	int			 peer;		/* MON_FROM_* */
	int			 audit_fd;
	int			 pol_fd;	/* new policies from the broker */
	const struct policy	*pol;
	const uint8_t		*ca_key;
	uint8_t			 ca_buf[32];	/* the CA key a reload gave */
	const struct krl	*krl;		/* revoked_keys, or NULL */
	struct krl		*krl_buf;	/* the list a reload gave */
	struct sshcert		*cert;		/* the accepted certificate */
	uint64_t		 login_ms;	/* clock_mono_ms() at login */
	const char		*sid;
	int			 phase;
	int			 auth_requests;
	struct mm_identity	 id;
	uint64_t		 cert_valid_before;	/* the login certificate's */
	uint64_t		 activity_ms;	/* activity last told the broker */
	uint64_t		 login_deadline;	/* clock_mono_ms() */
	uint64_t		 session_deadline;	/* 0: none */
	pid_t			 diag;			/* running diagnostic */
	int			 diag_peer;
	uint64_t		 diag_deadline;
	int			 diag_timed_out;
	int			 diag_cancelled;	/* the engineer's ^C */
	char			 diag_cmd[POLICY_MAX_CMDLINE + 1];
	struct mon_pump		 pump[2];	/* its stdout and stderr */
	int			 pump_pfd[2];	/* their poll entries */
	const struct redact	*diag_redact;	/* NULL: not redacted */
	struct redacted		 diag_red;	/* what was starred */
	int			 builtin;	/* exec answered by porthole */
	int			 builtin_status;
	uint32_t		 next_id;
	struct mon_file		 files[MON_MAX_FILES];
	struct mon_fwd		 fwds[MON_MAX_FWDS];
	struct mon_shell	 sh;
	struct mon_action	 act;
	int			 grants_told;	/* 1 << bm_grant: BM_GRANT sent */
	char			 note[BM_NOTE_MAX + 1];	/* for the engineer at
						   login: how long it is approved */
	/*
	 * What else must be closed, and recorded as closed, before the
	 * session ends: set by the part that opened it (the support shell).
	 */
	void			(*on_end)(struct mon *, const char *why);
};

/* monitor_core.c: answering the peer. */
int		 mon_answer(struct mon *, json_t *ans, const int *fds, int nfds);
int		 mon_refuse(struct mon *, const char *why);

/* monitor_core.c: the broker (broker_proto.h). */
/* Write an event (steals fields); one that cannot be written ends it all. */
void		 mon_audit(struct mon *, const char *type, json_t *fields);
/* Message kind with fields (stolen); 0, or -1. */
int		 mon_broker_send(struct mon *, enum bm_msg kind, json_t *fields);
/* The broker's one-byte answer (enum bm_answer), or -1. */
int		 mon_broker_answer(struct mon *);
/* The same, and the line for the engineer that may follow it (note). */
int		 mon_broker_answer_note(struct mon *, char *note, size_t len);
/* The session relies on a grant from now (BM_GRANT, once each). */
void		 mon_relies(struct mon *, enum bm_grant);
/* The diagnostic now running, or none (BM_DOING). */
void		 mon_doing(struct mon *, const char *cmd);

/* monitor_core.c: waiting, and ending. */
/* SIGTERM from the broker ends the session; it is caught in mon_wait(). */
void		 mon_signals(void);
/* poll() that the broker's SIGTERM interrupts: the session ends then. */
int		 mon_wait(struct mon *, struct pollfd *pfd, nfds_t n,
		    int timeout_ms);
/* The session ends (why: BM_END_*): tell the engineer, then end. */
void		 mon_end_with(struct mon *, int why) __attribute__((noreturn));
/* Tell the engineer why the session ends (the child shows it). */
void		 mon_notify(struct mon *, const char *why);
void		 mon_end(struct mon *, int) __attribute__((noreturn));
void		 mon_violation(struct mon *, const char *why, const char *req)
		    __attribute__((noreturn));
/* The child's end of the socket closed: record how it ended, and end. */
void		 mon_child_gone(struct mon *) __attribute__((noreturn));

/* monitor_core.c: what the session holds open. */
void		 mon_kill_diag(struct mon *);
/* The diagnostic's requester is gone: kill, reap and audit it. */
void		 mon_diag_abandon(struct mon *);
/*
 * Close the records of files (opened by a peer in peers, MON_FROM_*
 * bits) and forwards (if peers has MM_FROM_CHILD) still open because
 * their opener is gone: audited as closed with the reason and without
 * byte counts, which only the opener knew.
 */
void		 mon_access_abandon(struct mon *, int peers, const char *why);

/* monitor.c */
/*
 * One request of n bytes in buf from peer (MM_FROM_*, on fd), looked up
 * in the protocol's table and answered; one that is malformed, unknown
 * or out of place ends the session, on the record.
 */
void	mon_dispatch(struct mon *, int fd, int peer, const char *buf,
	    ssize_t n);

/* monitor_login.c */
int	mm_answer_auth(struct mon *, json_t *);
int	mm_answer_approval_wait(struct mon *, json_t *);

/* monitor_exec.c */
int	mm_answer_exec(struct mon *, json_t *);
int	mm_answer_exec_refused(struct mon *, json_t *);
int	mm_answer_exec_wait(struct mon *, json_t *);
int	mm_answer_exec_cancel(struct mon *, json_t *);

/* monitor_action.c */
/* "action NAME [WORDS]" from the engineer: asked for, and streamed. */
int	mm_answer_action(struct mon *, const char *words);
int	mon_action_wait(struct mon *);
int	mon_action_cancel(struct mon *);
/*
 * The peer that asked for the action is gone without waiting for it
 * (the support shell ended): one still waiting is withdrawn, and its
 * pipes and output are let go.
 */
void	mon_action_abandon(struct mon *);
/* The broker says how action goes (BM_ACTION_STATE); fd: its output. */
void	mon_action_state(struct mon *, json_t *msg, int fd);
int	mon_action_pollfds(struct mon *, struct pollfd *pfd);
void	mon_action_service(struct mon *);
/* Is its output file read as it grows (the loop wakes to read it)? */
int	mon_action_tailing(const struct mon *);

/* monitor_access.c */
int	mm_answer_file_open(struct mon *, json_t *);
int	mm_answer_file_close(struct mon *, json_t *);
int	mm_answer_file_more(struct mon *, json_t *);
int	mm_answer_file_stat(struct mon *, json_t *);
int	mm_answer_dir_list(struct mon *, json_t *);
int	mm_answer_setting_get(struct mon *, json_t *);
int	mm_answer_setting_set(struct mon *, json_t *);
int	mm_answer_forward_open(struct mon *, json_t *);
int	mm_answer_forward_close(struct mon *, json_t *);
int	mm_answer_refused(struct mon *, json_t *);

/* monitor_redact.c: files */
/*
 * Under [redact], swap the file open on *fd (slot files[slot], st as
 * opened) for its redacted copy, keeping the file in the slot: 1 with
 * *fd the copy and st its attributes, 0 when path is not redacted, -1
 * refused with why (*fd still the file's).
 */
int	mon_file_redact(struct mon *, size_t slot, const char *path, int *fd,
	    struct stat *st, char *why, size_t whylen);
/* The slot's file is closed: what redaction kept goes too. */
void	mon_file_release(struct mon *, size_t slot);
/* {"redactions", "patterns"} of a redacted slot, else NULL. */
json_t	*mon_file_counts(struct mon *, size_t slot);
/*
 * tail -f on the redacted file in slot: what it gained since the last
 * look, redacted, as a new copy (*copy; *base: the file offset of its
 * byte 0).  1 with a copy, 0 nothing new yet, -1 with why.
 */
int	mon_file_more(struct mon *, size_t slot, int *copy, uint64_t *base,
	    int *trunc, char *why, size_t whylen);
/*
 * Would slot's file be handed over as it was under the reloaded np:
 * redacted by the same patterns, or not redacted in either?  1 or 0.
 */
int	mon_file_redaction_kept(struct mon *, size_t slot,
	    const struct policy *np);
/* A setting's value from path, redacted in place: how many matches. */
uint64_t mon_redact_text(struct mon *, const char *path, char *text);

/* monitor_redact.c: a diagnostic's output */
/*
 * With [redact] patterns, put a pump between each of the diagnostic's
 * pipes (fds: its stdout and stderr) and the peer: fds become the
 * peer's ends.  1 pumping, 0 no patterns (fds unchanged), -1 with why.
 */
int	mon_pump_start(struct mon *, int fds[2], char *why, size_t whylen);
int	mon_pump_pollfds(struct mon *, struct pollfd *pfd);
void	mon_pump_service(struct mon *, const struct pollfd *pfd, int n);
/* Close the pumps (whatever they held is dropped). */
void	mon_pump_stop(struct mon *);
/*
 * The diagnostic's end: the pumps stop, and {"redactions",
 * "patterns"} for its audit line (NULL when it was not redacted).
 */
json_t	*mon_pump_end(struct mon *);

/* monitor_bundle.c */
/* `bundle`: a support bundle for the session's ticket. */
int	mon_bundle(struct mon *, const char *cmd);

/* monitor_shell.c */
int	mm_answer_shell_open(struct mon *, json_t *);
int	mm_answer_window_change(struct mon *, json_t *);
/* Relay the shell's terminal for the poll entries mon_shell_pollfds set. */
int	mon_shell_pollfds(struct mon *, struct pollfd *pfd);
/* Write what p holds to fd, as much as it takes now: 0, or -1. */
int	mon_pipe_flush(struct mon_pipe *p, int fd);
void	mon_shell_service(struct mon *, const struct pollfd *pfd, int n);
/* porthole watch: a watcher joined or left (BM_WATCH). */
void	mon_shell_watch(struct mon *, json_t *msg);

#endif
