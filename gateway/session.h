/*
 * session.h - the session child: libssh SERVER end to end with the
 * engineer, over one end of a socketpair, inside the sandbox.  It holds
 * the session host key and two descriptors (the engineer's stream and
 * the monitor) and asks the monitor for every decision.
 */
#ifndef PH_SESSION_H
#define PH_SESSION_H

#include <libssh/libssh.h>
#include <stdint.h>

#include "policy/policy.h"

#define SESSION_ID_LEN		16	/* hex characters */
/*
 * Seconds from the channel's open to a login.  The engineer's ssh has
 * already logged in to the relay when the gateway's clock starts, so this
 * is one key exchange and a signature - or a passphrase typed at ssh's
 * second prompt, which is why it is not shorter.  The relay's own
 * login_grace is as long.
 */
#define SESSION_LOGIN_GRACE	20
#define SESSION_MAX_AUTH_TRIES	6
#define SESSION_USER		"support"	/* the login name engineers use */

/*
 * Audit requests from a session's monitor to the broker: one JSON object
 * per datagram on a SOCK_SEQPACKET socket, answered by one byte: 'y' when
 * the event is durable, 'n' when it could not be written.
 */
#define SESSION_AUDIT_MAX	4096

/*
 * Why the broker ends a session: the value it queues with SIGTERM
 * (sigqueue), so the monitor can tell the engineer.
 */
#define SESSION_END_KILLED	1	/* porthole kill */
#define SESSION_END_IDLE	2	/* idle_timeout */
#define SESSION_END_WITHDRAWN	3	/* a reload withdrew its grant */
#define SESSION_END_AUDIT	4	/* the audit log cannot be written */
#define SESSION_END_SHUTDOWN	5	/* the gateway stops */
#define SESSION_END_CROWDED	6	/* a login dropped: too many at once */

/*
 * Serve one engineer on fd, asking the monitor on mon.  Confines itself
 * (sandbox.h) before the key exchange.  Never returns: exits 0 when the
 * engineer disconnects, 1 on refusal or error.
 */
void	session_child(int fd, int mon, const struct policy *pol,
	    ssh_key host_key) __attribute__((noreturn));

struct mm_identity;

/*
 * After login (session_loop.c): serve every channel of the connection
 * until the engineer disconnects or the monitor is lost.  id is who
 * logged in, with what the certificate permits.
 */
void	session_serve(ssh_session s, int mon, const struct policy *pol,
	    const struct mm_identity *id);

#endif
