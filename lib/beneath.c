/*
 * beneath.c - a path opened beneath its root, never through a link
 * (see beneath.h).  Moved here from gateway/files.c so that the support
 * bundle writer walks the disk under exactly the rules the monitor's
 * file access does.
 */
#include "lib/beneath.h"

#include <sys/syscall.h>
#include <linux/openat2.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BENEATH_TRIES	8	/* openat2 attempts on EAGAIN or EINTR */

/*
 * Every component beneath the root is resolved without following a
 * link of any kind and without leaving the root's mount.
 */
#define BENEATH_RESOLVE	(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | \
	RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

/* openat2 beneath dir with BENEATH_RESOLVE; flags gain O_NOFOLLOW. */
static int
beneath_openat2(int dir, const char *rest, uint64_t flags)
{
	struct open_how	how;
	long		fd;
	int		tries = 0;

	memset(&how, 0, sizeof(how));
	how.flags = flags | O_NOFOLLOW | O_CLOEXEC;
	how.resolve = BENEATH_RESOLVE;
	/*
	 * The kernel answers EAGAIN when a rename or mount raced with a
	 * RESOLVE_BENEATH walk; trying again is what it asks for.
	 */
	do {
		fd = syscall(SYS_openat2, dir, rest, &how, sizeof(how));
	} while (fd == -1 && (errno == EAGAIN || errno == EINTR) &&
	    ++tries < BENEATH_TRIES);
	return (int)fd;
}

/* Why resolving path failed with err, in words for the engineer. */
static void
beneath_why_errno(int err, const char *path, char *why, size_t whylen)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		snprintf(why, whylen, "no such file: %s", path);
		break;
	case ELOOP:
		snprintf(why, whylen, "%s goes through a symbolic link", path);
		break;
	case EXDEV:
		snprintf(why, whylen, "%s leaves its file path or crosses a "
		    "mount point", path);
		break;
	case EACCES:
	case EPERM:
		snprintf(why, whylen, "permission denied: %s", path);
		break;
	case ENOSYS:
		snprintf(why, whylen, "file access needs openat2() (Linux "
		    "5.6 or later), which this kernel lacks");
		break;
	default:
		snprintf(why, whylen, "%s: %s", path, strerror(err));
		break;
	}
}

int
beneath_check_type(const struct stat *st, const char *path, char *why,
    size_t whylen)
{
	const char *what;

	if (S_ISDIR(st->st_mode))
		return 0;
	if (S_ISREG(st->st_mode)) {
		/* Another name may lie outside the roots or be denied. */
		if (st->st_nlink == 1)
			return 0;
		snprintf(why, whylen, "%s is a hard-linked file", path);
		return -1;
	}
	switch (st->st_mode & S_IFMT) {
	case S_IFLNK:
		what = "a symbolic link";
		break;
	case S_IFIFO:
		what = "a FIFO";
		break;
	case S_IFSOCK:
		what = "a socket";
		break;
	case S_IFCHR:
	case S_IFBLK:
		what = "a device";
		break;
	default:
		what = "of an unknown type";
		break;
	}
	snprintf(why, whylen, "%s is not a regular file or directory (%s)",
	    path, what);
	return -1;
}

void
beneath_close(struct beneath *b)
{
	if (b->fd != -1)
		close(b->fd);
	if (b->root != -1)
		close(b->root);
	b->fd = b->root = -1;
}

/*
 * openat2 beneath the root to an O_PATH descriptor whose type is
 * checked.  Opening with O_PATH neither blocks on a FIFO nor touches a
 * device.
 */
int
beneath_resolve(const char *root, const char *rest, const char *path,
    struct beneath *b, char *why, size_t whylen)
{
	b->root = b->fd = -1;
	b->rest = rest;
	/* The root itself is the customer's own configuration: trusted. */
	if ((b->root = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(why, whylen, "cannot open the file path %s: %s",
		    root, strerror(errno));
		goto fail;
	}
	if ((b->fd = beneath_openat2(b->root, rest, O_PATH)) == -1) {
		beneath_why_errno(errno, path, why, whylen);
		goto fail;
	}
	if (fstat(b->fd, &b->st) == -1) {
		beneath_why_errno(errno, path, why, whylen);
		goto fail;
	}
	if (beneath_check_type(&b->st, path, why, whylen) == -1)
		goto fail;
	return 0;
fail:
	beneath_close(b);
	return -1;
}

/*
 * A rename between the two opens must not swap in something else, so
 * the new descriptor must be the object that was checked.
 */
int
beneath_reopen(const struct beneath *b, int flags, const char *path,
    struct stat *st, char *why, size_t whylen)
{
	int fd;

	if ((fd = beneath_openat2(b->root, b->rest, (uint64_t)flags)) == -1) {
		beneath_why_errno(errno, path, why, whylen);
		return -1;
	}
	if (fstat(fd, st) == -1) {
		beneath_why_errno(errno, path, why, whylen);
		goto fail;
	}
	if (st->st_dev != b->st.st_dev || st->st_ino != b->st.st_ino) {
		snprintf(why, whylen, "%s changed while it was being opened",
		    path);
		goto fail;
	}
	if (beneath_check_type(st, path, why, whylen) == -1)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

int
beneath_open_file(const char *root, const char *rest, const char *path,
    int *fd, struct stat *st, char *why, size_t whylen)
{
	struct beneath	b;
	struct stat	sb;
	int		f = -1, fl, rc = -1;

	if (beneath_resolve(root, rest, path, &b, why, whylen) == -1)
		return -1;
	if (S_ISDIR(b.st.st_mode)) {
		snprintf(why, whylen, "%s is a directory", path);
		goto out;
	}
	/* O_NONBLOCK: should a FIFO be swapped in, the open cannot hang. */
	f = beneath_reopen(&b, O_RDONLY | O_NOCTTY | O_NONBLOCK, path, &sb,
	    why, whylen);
	if (f == -1)
		goto out;
	if ((fl = fcntl(f, F_GETFL)) == -1 ||
	    fcntl(f, F_SETFL, fl & ~O_NONBLOCK) == -1) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		goto out;
	}
	*fd = f;
	*st = sb;
	f = -1;
	rc = 0;
out:
	if (f != -1)
		close(f);
	beneath_close(&b);
	return rc;
}

int
beneath_entry(int dirfd, const char *name, dev_t dev, const char *path,
    struct stat *st, char *why, size_t whylen)
{
	if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) == -1) {
		beneath_why_errno(errno, path, why, whylen);
		return -1;
	}
	/* RESOLVE_NO_XDEV would refuse it when asked for: not listed. */
	if (st->st_dev != dev) {
		snprintf(why, whylen, "%s is a mount point", path);
		return -1;
	}
	return beneath_check_type(st, path, why, whylen);
}
