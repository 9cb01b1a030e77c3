/*
 * sftp.h - a read-only SFTP version 3 server, fed bytes from the
 * engineer's "sftp" subsystem channel and producing bytes for it.
 *
 * It serves INIT, REALPATH, OPEN (read only), READ, CLOSE, OPENDIR,
 * READDIR, STAT, LSTAT and FSTAT through an access_ops table (the
 * monitor, in the gateway); every other request is answered
 * SSH_FX_OP_UNSUPPORTED, and write-like requests (OPEN for writing,
 * WRITE, REMOVE, RENAME, MKDIR, RMDIR, SETSTAT, FSETSTAT, SYMLINK) are
 * answered SSH_FX_PERMISSION_DENIED and reported through ops->refused.
 * Every length in a packet is bounded; a malformed packet ends the
 * conversation (sftp_input returns -1).  No I/O happens here except
 * pread() on descriptors ops->open_file returned.
 */
#ifndef PH_SFTP_H
#define PH_SFTP_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/session/access.h"

#define SFTP_MAX_PACKET		(256 * 1024)	/* one request */
#define SFTP_MAX_READ		(64 * 1024)	/* one READ's reply data */
#define SFTP_MAX_HANDLES	64
#define SFTP_OUT_HIGH		(1024 * 1024)	/* stop taking input above */

struct sftp;

/* ops is borrowed and must outlive the server. */
struct sftp	*sftp_new(const struct access_ops *ops);
/* Closes every handle still open (ops->close_file). */
void		 sftp_free(struct sftp *);

/*
 * Take up to len bytes of input; returns how many were consumed (fewer
 * when the output backlog is above SFTP_OUT_HIGH: offer the rest again
 * after draining), or -1 on a protocol error or a lost monitor.
 */
ssize_t		 sftp_input(struct sftp *, const void *data, size_t len);
/*
 * Bytes waiting to go to the engineer (NULL when none).  The pointer is
 * valid until the next call into the server.
 */
const void	*sftp_output(struct sftp *, size_t *len);
void		 sftp_output_consume(struct sftp *, size_t n);

#endif
