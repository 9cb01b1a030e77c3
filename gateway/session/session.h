/*
 * session.h - the sandboxed side of a session, as its monitor starts
 * it: the session child (libssh SERVER end to end with the engineer,
 * over one end of a socketpair) and the support shell's process.  Both
 * confine themselves before they read a byte from the engineer, and ask
 * the monitor for every decision (monitor_wrap.h).
 */
#ifndef PH_SESSION_H
#define PH_SESSION_H

#include <libssh/libssh.h>

#include "gateway/monitor_proto.h"
#include "policy/policy.h"

#define SESSION_MAX_AUTH_TRIES	6
#define SESSION_USER		"support"	/* the login name engineers use */

/*
 * Serve one engineer on fd, asking the monitor on mon.  Confines itself
 * (sandbox.h) before the key exchange.  Never returns: exits 0 when the
 * engineer disconnects, 1 on refusal or error.
 */
void	session_child(int fd, int mon, const struct policy *pol,
	    ssh_key host_key) __attribute__((noreturn));

/*
 * The support shell's process: make the pty slave its controlling
 * terminal and standard descriptors, the monitor socket rpc its fd 3,
 * confine itself and serve engineer's shell (shell.h).  Never returns.
 */
void	session_shell(int slave, int rpc, const struct policy *pol,
	    const char *engineer) __attribute__((noreturn));

#endif
