/*
 * fileio.c - whole-file writes that survive a crash.
 */
#include "lib/fileio.h"

#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
fileio_write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The directory holding path, synced, so that a rename in it lasts. */
static int
fileio_sync_dir(const char *path)
{
	char	dir[4096];
	int	fd, rc;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((fd = open(dirname(dir), O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * A new file of a name of its own beside path (".NAME.XXXXXXXX"), so
 * that two writers never share one and a link planted there is not
 * followed.  Its descriptor, with its name in tmp; or -1.
 */
static int
fileio_temp(const char *path, mode_t mode, char *tmp, size_t tmplen)
{
	const char	*base = strrchr(path, '/');
	uint32_t	 r;
	int		 fd, i;

	base = base == NULL ? path : base + 1;
	for (i = 0; i < 16; i++) {
		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			return -1;
		if ((size_t)snprintf(tmp, tmplen, "%.*s.%s.%08x",
		    (int)(base - path), path, base, r) >= tmplen) {
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, mode);
		if (fd != -1 || errno != EEXIST)
			return fd;
	}
	return -1;
}

int
fileio_replace_with(const char *path, const void *buf, size_t len,
    mode_t mode, int (*prepare)(int, void *, char *, size_t), void *arg,
    char *err, size_t errlen)
{
	char	tmp[4200];
	int	fd, rc = -1;

	if ((fd = fileio_temp(path, mode, tmp, sizeof(tmp))) == -1) {
		snprintf(err, errlen, "%s: cannot create a temporary file "
		    "beside it: %s", path, strerror(errno));
		return -1;
	}
	if (prepare != NULL && prepare(fd, arg, err, errlen) == -1)
		goto out;
	if (fileio_write_all(fd, buf, len) == -1 || fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	rc = close(fd);
	fd = -1;
	if (rc == -1 || rename(tmp, path) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
		goto out;
	}
	tmp[0] = '\0';		/* renamed: nothing left to remove */
	if (fileio_sync_dir(path) == -1) {
		snprintf(err, errlen, "%s was replaced but may not survive a "
		    "crash: fsync of its directory: %s", path, strerror(errno));
		rc = -1;
	}
out:
	if (fd != -1)
		close(fd);
	if (tmp[0] != '\0')
		(void)unlink(tmp);
	return rc;
}

int
fileio_replace(const char *path, const void *buf, size_t len, mode_t mode,
    char *err, size_t errlen)
{
	return fileio_replace_with(path, buf, len, mode, NULL, NULL, err,
	    errlen);
}

char *
fileio_sealed_read(int fd, size_t max, size_t *len)
{
	struct stat	 st;
	char		*buf;
	size_t		 got = 0;
	ssize_t		 n;

	if (fstat(fd, &st) == -1)
		return NULL;
	if (!S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (uint64_t)st.st_size > max) {
		errno = EFBIG;
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		return NULL;
	while (got < (size_t)st.st_size) {
		n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			fileio_wipe_free(buf, (size_t)st.st_size);
			if (n == 0)
				errno = EIO;	/* it shrank: sealed it cannot */
			return NULL;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*len = got;
	return buf;
}

void
fileio_wipe_free(char *buf, size_t len)
{
	if (buf == NULL)
		return;
	explicit_bzero(buf, len + 1);
	free(buf);
}

int
fileio_sealed_copy(const char *path, const char *name, size_t max)
{
	char	*buf = NULL;
	size_t	 len = 0;
	int	 fd, mfd = -1, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return -1;
	if ((buf = fileio_sealed_read(fd, max, &len)) == NULL ||
	    (mfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1)
		goto out;
	if (fileio_write_all(mfd, buf, len) == -1 ||
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1) {
		saved = errno;
		close(mfd);
		mfd = -1;
		errno = saved;
	}
out:
	saved = errno;
	fileio_wipe_free(buf, len);
	close(fd);
	errno = saved;
	return mfd;
}
