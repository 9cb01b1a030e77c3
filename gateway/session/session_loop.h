/*
 * session_loop.h - the session child after login (session_loop.c),
 * as session.c hands the connection over.
 */
#ifndef PH_SESSION_LOOP_H
#define PH_SESSION_LOOP_H

#include <libssh/libssh.h>

#include "gateway/monitor_proto.h"
#include "policy/policy.h"

/*
 * Serve every channel of the connection until the engineer disconnects
 * or the monitor is lost.  id is who logged in, with what the
 * certificate permits.
 */
void	session_serve(ssh_session s, int mon, const struct policy *pol,
	    const struct mm_identity *id);

#endif
