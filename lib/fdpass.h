/*
 * fdpass.h - one message, and optionally descriptors, over a UNIX
 * SOCK_SEQPACKET socket (SCM_RIGHTS).
 */
#ifndef PH_FDPASS_H
#define PH_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

#define FDPASS_MAX_FDS	4

/* Returns 0, or -1 with errno set. */
int	fdpass_send(int sock, const void *buf, size_t len, const int *fds,
	    int nfds);
/*
 * Receive one message into buf (at most max bytes) and up to maxfds
 * descriptors.  Returns the message length, 0 at end of file, or -1 on
 * error; a truncated message or extra descriptors are errors (EMSGSIZE),
 * and any descriptors that came with them are closed.
 */
ssize_t	fdpass_recv(int sock, void *buf, size_t max, int *fds, int maxfds,
	    int *nfds);

#endif
