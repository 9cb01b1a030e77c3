/*
 * files.h - the monitor's file access for the SFTP server and the
 * support shell: only beneath the [files] paths roots, never through a
 * symbolic link, a magic link (/proc/self/root) or a hard link, never a
 * name matching a deny glob, only regular files and directories.
 *
 * The path is matched lexically against the roots, then resolved on
 * disk with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV) from the root's descriptor;
 * the type is checked on an O_PATH descriptor before anything is opened
 * for reading, so a device or a FIFO is never opened.
 */
#ifndef PH_FILES_H
#define PH_FILES_H

#include <sys/stat.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/session/access.h"
#include "policy/policy.h"

/*
 * Open a regular file read-only: 0 with *fd (blocking, close-on-exec)
 * and *st, or -1 with why.
 */
int	files_open(const struct policy *pol, const char *path, int *fd,
	    struct stat *st, char *why, size_t whylen);
/* Attributes of a regular file or directory: 0, or -1 with why. */
int	files_stat(const struct policy *pol, const char *path,
	    struct stat *st, char *why, size_t whylen);
/*
 * List a directory from position *cookie: up to max entries, sorted by
 * name.  Left out is whatever files_stat would refuse: denied names,
 * entries that are neither regular files nor directories, hard-linked
 * files and mount points.  The cookie is a position in that sorted
 * list, so the directory is read again for every page; more than
 * 100000 entries are refused.  0 with *n, *cookie advanced and *eof, or
 * -1 with why.
 */
int	files_list(const struct policy *pol, const char *path,
	    uint32_t *cookie, struct access_dirent *ents, size_t max,
	    size_t *n, int *eof, char *why, size_t whylen);

void	files_attr(const struct stat *st, struct access_attr *attr);

#endif
