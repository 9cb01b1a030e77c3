/*
 * monitor.h - privilege separation for one engineer session.
 *
 * The session is two processes.  The child runs libssh and parses every
 * byte the engineer sends, inside the sandbox, holding no authority.  The
 * monitor holds the policy snapshot and the CA key, decides, audits and
 * performs every privileged act.  They talk over a SOCK_SEQPACKET pair:
 * each request is one JSON object {"req": NAME, ...} answered by one JSON
 * object (descriptors ride along with SCM_RIGHTS).  The monitor's dispatch
 * table says in which phase each request is allowed; any other request,
 * or a malformed one, ends the session and is audited.
 *
 * mm_*() are the child's side of each request; the monitor's answers
 * live in monitor.c.
 */
#ifndef PH_MONITOR_H
#define PH_MONITOR_H

#include <libssh/libssh.h>
#include <stdint.h>

#include <jansson.h>

#include "gateway/access.h"
#include "lib/krl.h"
#include "policy/policy.h"

#define MONITOR_MSG_MAX		16384	/* one request or answer */

/* Who logged in, as the monitor established it. */
struct mm_identity {
	char		 engineer[257];
	char		 key_id[257];
	char		 ticket[257];
	uint64_t	 serial;
	uint32_t	 permits;	/* the certificate's SSHCERT_PERMIT_* */
};

struct mm_exec_result {
	int		 exit_status;
	int		 timed_out;
	uint64_t	 timeout;	/* seconds, as configured */
};

/*
 * In the broker's forked process: start the sandboxed child on the
 * engineer's stream, then serve it as its monitor until it ends.  On
 * policy_fd the broker hands over each reloaded policy: the message
 * "policy " and the CA key in hex, with a policy_write() copy attached
 * and, when revoked_keys is set, a copy of the revocation list's bytes.
 * krl (NULL: none) is checked at every login, and a reloaded list ends
 * a session whose certificate it revokes.
 */
void	monitor_session(int stream_fd, int audit_fd, int policy_fd,
	    const struct policy *pol, ssh_key host_key,
	    const uint8_t ca_key[32], const struct krl *krl, const char *sid)
	    __attribute__((noreturn));

/*
 * The child's requests.  Each returns -1 when the monitor cannot be
 * reached (the child must end), else as documented.
 */
/*
 * 1: this key (base64 blob of type key_type) may log in (login: and it
 * just did, the signature being verified), 2: it may, once the customer
 * approves (call mm_approval_wait), 0: refused with why, 3: refused with
 * why and the connection is to end (no session slot is free).
 */
int	mm_auth(int mon, const char *user, const char *key_type,
	    const char *key_b64, int login, struct mm_identity *id, char *why,
	    size_t whylen);
/* Wait for the customer's decision: 1 approved (id filled), 0 not (why). */
int	mm_approval_wait(int mon, struct mm_identity *id, char *why,
	    size_t whylen);
/* 1: running, *out and *err its output pipes; 0: refused with why. */
int	mm_exec(int mon, const char *cmdline, int *out, int *err, char *why,
	    size_t whylen);
/*
 * A command line the child cannot pass on (not UTF-8, or too long): the
 * monitor records the refusal with shown (its start, escaped where it is
 * not UTF-8), its length and why.  0, or -1.
 */
int	mm_exec_refused(int mon, const char *shown, size_t length,
	    const char *why);
/*
 * Channel data moved since the last call: the session is not idle.
 * Transport traffic (keepalives, window adjustments, key exchanges) is
 * not activity.  0, or -1.
 */
int	mm_activity(int mon);
/* The diagnostic's output is all sent: its exit status. */
int	mm_exec_wait(int mon, uint64_t bytes_out, struct mm_exec_result *res);
/*
 * The monitor may end the session with a notice instead of an answer:
 * mm_read_notice reads one that arrived unasked (0, or -1 when the
 * monitor is gone), mm_notice returns it (NULL if none came).
 */
int	mm_read_notice(int mon);
const char *mm_notice(void);

/* Something the child refused on its own (steals fields). */
int	mm_event(int mon, const char *type, json_t *fields);

/*
 * Files and settings, for the SFTP server and the support shell: the
 * access_ops table (access.h) over the monitor on *mon.  ops->home is
 * the first [files] path (or "/").
 */
void	mm_access_ops(int *mon, const struct policy *pol,
	    struct access_ops *ops);

/*
 * A direct-tcpip forward to host:port: 1 with *fd connected and *id
 * naming it until mm_forward_close, 0 refused with why.
 */
int	mm_forward_open(int mon, const char *host, uint16_t port,
	    const char *orig_host, uint16_t orig_port, int *fd, uint32_t *id,
	    char *why, size_t whylen);
int	mm_forward_close(int mon, uint32_t id, uint64_t to_target,
	    uint64_t from_target);

/*
 * The support shell: 1 with *fd the terminal's byte stream (the
 * engineer's keystrokes in, the recorded screen out), 0 refused.
 */
int	mm_shell_open(int mon, const char *term, uint32_t cols, uint32_t rows,
	    int *fd, char *why, size_t whylen);
int	mm_window_change(int mon, uint32_t cols, uint32_t rows);

#endif
