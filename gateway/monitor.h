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

#include "policy/policy.h"

#define MONITOR_MSG_MAX		16384	/* one request or answer */

/* Who logged in, as the monitor established it. */
struct mm_identity {
	char		 engineer[257];
	char		 key_id[257];
	char		 ticket[257];
	uint64_t	 serial;
};

struct mm_exec_result {
	int		 exit_status;
	int		 timed_out;
	uint64_t	 timeout;	/* seconds, as configured */
};

/*
 * In the broker's forked process: start the sandboxed child on the
 * engineer's stream, then serve it as its monitor until it ends.
 */
void	monitor_session(int stream_fd, int audit_fd, const struct policy *pol,
	    ssh_key host_key, const uint8_t ca_key[32])
	    __attribute__((noreturn));

/*
 * The child's requests.  Each returns -1 when the monitor cannot be
 * reached (the child must end), else as documented.
 */
/*
 * 1: this key (base64 blob of type key_type) may log in (login: and it
 * just did, the signature being verified), 2: it may, once the customer
 * approves (call mm_approval_wait), 0: refused with why.
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
/* The diagnostic's output is all sent: its exit status. */
int	mm_exec_wait(int mon, uint64_t bytes_out, struct mm_exec_result *res);
/* Something the child refused on its own (steals fields). */
int	mm_event(int mon, const char *type, json_t *fields);

#endif
