/*
 * session.h - the session process: the SSH server end to end with the
 * engineer, over one end of a socketpair.  Authenticates by vendor-CA
 * certificate only, asks the policy, runs allowed diagnostics, and sends
 * every decision to the broker's audit writer before acting on it.
 */
#ifndef PH_SESSION_H
#define PH_SESSION_H

#include <libssh/libssh.h>
#include <stdint.h>

#include "policy/policy.h"

#define SESSION_ID_LEN		16	/* hex characters */
#define SESSION_LOGIN_GRACE	60	/* seconds to log in */
#define SESSION_MAX_AUTH_TRIES	6

/* Audit requests from the session to the broker: one JSON object per
 * datagram on a SOCK_SEQPACKET socket, answered by one byte: 'y' when the
 * event is durable, 'n' when it could not be written. */
#define SESSION_AUDIT_MAX	4096

/*
 * Serve one engineer on fd.  Never returns: exits 0 when the engineer
 * disconnects, 1 on refusal or error.
 */
void	session_main(int fd, int audit_fd, const struct policy *pol,
	    ssh_key host_key, const uint8_t ca_key[32])
	    __attribute__((noreturn));

#endif
