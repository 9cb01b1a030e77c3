/*
 * fileio.h - writing files so that a crash leaves the old contents or
 * the new ones, never a mixture.
 */
#ifndef PH_FILEIO_H
#define PH_FILEIO_H

#include <sys/types.h>
#include <stddef.h>

/* write(2) all of it, through EINTR and short writes.  0, or -1. */
int	fileio_write_all(int fd, const void *buf, size_t len);

/*
 * Replace path with buf: a temporary file beside it (mode), fsync,
 * rename, fsync of the directory.  Never follows a link at the
 * temporary name.  0, or -1 with "PATH: reason" in err.
 */
int	fileio_replace(const char *path, const void *buf, size_t len,
	    mode_t mode, char *err, size_t errlen);

#endif
