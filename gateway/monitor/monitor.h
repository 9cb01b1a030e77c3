/*
 * monitor.h - privilege separation for one engineer session, as the
 * broker starts it.
 *
 * The session is two processes.  The child runs libssh and parses every
 * byte the engineer sends, inside the sandbox, holding no authority
 * (gateway/session/).  The monitor holds the policy snapshot and the CA
 * key, decides, audits and performs every privileged act: it answers
 * the child's requests (gateway/monitor_proto.h) and talks to the
 * broker (gateway/broker_proto.h).
 */
#ifndef PH_MONITOR_H
#define PH_MONITOR_H

#include <sys/types.h>
#include <stdint.h>

#include "lib/krl.h"
#include "policy/policy.h"

/*
 * Seconds from the channel's open to a login.  The engineer's ssh has
 * already logged in to the relay when the gateway's clock starts, so this
 * is one key exchange and a signature - or a passphrase typed at ssh's
 * second prompt, which is why it is not shorter.  The relay's own
 * login_grace is as long.
 */
#define MONITOR_LOGIN_GRACE	20

/*
 * In the broker's forked process: start the sandboxed child on the
 * engineer's stream, handing it the session host key (host_key_fd: see
 * session_host_key()), then serve it as its monitor until it ends.  On
 * policy_fd the broker hands over each reloaded policy: the message
 * "policy " and the CA key in hex, with a policy_write() copy attached
 * and, when revoked_keys is set, a copy of the revocation list's bytes.
 * krl (NULL: none) is checked at every login, and a reloaded list ends
 * a session whose certificate it revokes.
 */
void	monitor_session(int stream_fd, int audit_fd, int policy_fd,
	    int host_key_fd, const struct policy *pol,
	    const uint8_t ca_key[32], const struct krl *krl, const char *sid)
	    __attribute__((noreturn));

/*
 * The same for a sandboxed child already started, holding the other end
 * of child_fd: child is its pid, or 0 when it is not this process's to
 * reap (the unit test's harness plays the child itself).
 */
void	monitor_serve(int child_fd, pid_t child, int audit_fd, int policy_fd,
	    const struct policy *pol, const uint8_t ca_key[32],
	    const struct krl *krl, const char *sid)
	    __attribute__((noreturn));

#endif
