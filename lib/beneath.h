/*
 * beneath.h - opening a path beneath a root directory without ever
 * leaving it: the disk half of the gateway's file access, shared by the
 * monitor's SFTP and shell file service (gateway/files.c) and the
 * support bundle writer (bundle/).
 *
 * The path is resolved from the root's descriptor with openat2(
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
 * RESOLVE_NO_XDEV): no "..", no link of any kind, no other mount.  Its
 * type is checked on an O_PATH descriptor before anything is opened for
 * reading, so a device or a FIFO is never opened; then it is opened
 * again by the same walk and must be the same object.  Only regular
 * files with one name and directories pass.
 *
 * What may be asked for at all (the roots, the deny globs) is the
 * policy's to say (policy_allow_file, policy_file_reachable); this
 * module only knows the root it is given.
 */
#ifndef PH_BENEATH_H
#define PH_BENEATH_H

#include <sys/stat.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

/* A path resolved beneath its root. */
struct beneath {
	int		 root;		/* O_PATH, the root directory */
	int		 fd;		/* O_PATH, the path itself */
	const char	*rest;		/* the path relative to root */
	struct stat	 st;		/* of fd */
};

/*
 * Resolve rest ("." for the root itself) beneath the directory root
 * (an absolute path the caller trusts: the customer's configuration).
 * path names the file in messages.  0 with b filled (beneath_close it),
 * or -1 with why.
 */
int	beneath_resolve(const char *root, const char *rest, const char *path,
	    struct beneath *b, char *why, size_t whylen);
/*
 * Open b's path again with flags (O_RDONLY ...) by the same walk; it
 * must still be the object resolved.  The descriptor, with its stat in
 * st, or -1 with why.
 */
int	beneath_reopen(const struct beneath *b, int flags, const char *path,
	    struct stat *st, char *why, size_t whylen);
void	beneath_close(struct beneath *b);
/*
 * Resolve and open a regular file for reading: 0 with *fd (blocking,
 * close-on-exec) and *st, or -1 with why ("... is a directory" too).
 */
int	beneath_open_file(const char *root, const char *rest, const char *path,
	    int *fd, struct stat *st, char *why, size_t whylen);
/*
 * Would entry name of the open directory dirfd (on device dev) be
 * served: a regular file with one name or a directory, not a mount
 * point, not a link?  0 with *st, or -1 with why; path names it.
 */
int	beneath_entry(int dirfd, const char *name, dev_t dev, const char *path,
	    struct stat *st, char *why, size_t whylen);
/* Only regular files with one name and directories: 0, or -1 with why. */
int	beneath_check_type(const struct stat *st, const char *path, char *why,
	    size_t whylen);

#endif
