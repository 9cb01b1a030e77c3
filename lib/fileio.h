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
 * Replace path with buf: a temporary file of a name of its own beside
 * it (created with mode, as open(2) would), fsync, rename over path,
 * fsync of the directory.  A reader sees the old file or the new, never
 * a mixture; a crash leaves one of them (and perhaps a stray temporary
 * file).  Never follows a link at the temporary name.  0, or -1 with
 * "PATH: reason" in err and the temporary file removed.
 */
int	fileio_replace(const char *path, const void *buf, size_t len,
	    mode_t mode, char *err, size_t errlen);
/*
 * The same, with prepare(fd, arg, err, errlen) called on the temporary
 * file before it is written (to give it the old file's owner, say): 0,
 * or -1 with err set, which stops the replacement.
 */
int	fileio_replace_with(const char *path, const void *buf, size_t len,
	    mode_t mode, int (*prepare)(int fd, void *arg, char *err,
	    size_t errlen), void *arg, char *err, size_t errlen);

/*
 * The file at path (a regular file of at most max bytes), whole, in a
 * sealed memory file named name: its descriptor (close-on-exec), or -1
 * with errno set.  What was read is wiped on the way: it may be a
 * private key, and a process forked later must not find it.
 */
int	fileio_sealed_copy(const char *path, const char *name, size_t max);
/*
 * The whole of a (sealed) file of at most max bytes, read with pread,
 * in a new buffer with a NUL after it (*len bytes): free it with
 * fileio_wipe_free().  NULL with errno set.
 */
char	*fileio_sealed_read(int fd, size_t max, size_t *len);
/* Wipe buf[0..len] (the NUL too) and free it. */
void	fileio_wipe_free(char *buf, size_t len);

#endif
