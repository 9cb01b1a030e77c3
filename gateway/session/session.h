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

#define SESSION_HOST_KEY_MAX	(64 * 1024)	/* bytes of the key file */

/*
 * Serve one engineer on fd, asking the monitor on mon.  Reads the
 * session host key from host_key_fd (session_host_key) and closes it,
 * then confines itself (sandbox.h) before the key exchange.  Never
 * returns: exits 0 when the engineer disconnects, 1 on refusal or error.
 */
void	session_child(int fd, int mon, const struct policy *pol,
	    int host_key_fd) __attribute__((noreturn));

/*
 * The session host key from fd, a file holding the key file's text (the
 * gateway keeps it in a sealed memory file).  Only the processes that
 * sign with it read it: the text is wiped once read, but libssh leaves
 * its own copy in freed memory.  0 with *key, or -1.
 */
int	session_host_key(int fd, ssh_key *key);

/*
 * The support shell's process: make the pty slave its controlling
 * terminal and standard descriptors, the monitor socket rpc its fd 3,
 * confine itself and serve engineer's shell (shell.h).  Never returns.
 */
void	session_shell(int slave, int rpc, const struct policy *pol,
	    const char *engineer) __attribute__((noreturn));

#endif
