/*
 * sshrefuse.h - turn an SSH client away before any session exists.
 *
 * When the gateway refuses a stream before a session process runs (too
 * many sessions, audit log not writable), a bare close leaves the
 * engineer with "Connection closed by remote host".  Instead the stream
 * gets an identification line and one cleartext SSH_MSG_DISCONNECT
 * (RFC 4253 11.1), which OpenSSH shows as "Received disconnect from
 * ...: CODE: TEXT".  Nothing from the client is read.
 */
#ifndef PH_SSHREFUSE_H
#define PH_SSHREFUSE_H

#include <stddef.h>
#include <stdint.h>

#define SSHREFUSE_MAX_TEXT	200	/* longer text is cut */
#define SSHREFUSE_BUF		(64 + SSHREFUSE_MAX_TEXT)

/* RFC 4253 reason codes used here. */
#define SSHREFUSE_BY_APPLICATION	11
#define SSHREFUSE_TOO_MANY		12

/*
 * Write identification and disconnect into buf (SSHREFUSE_BUF bytes);
 * returns the length.  text must be printable ASCII.
 */
size_t	sshrefuse_build(uint8_t *buf, uint32_t reason, const char *text);

#endif
