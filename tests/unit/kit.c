/*
 * kit.c - the unit tests' shared helpers (kit.h).
 */
#include "tests/unit/kit.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

int
kit_tmpdir(char *dir, const char *name)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	if ((size_t)snprintf(dir, KIT_PATH_MAX, "%s/porthole-%s.XXXXXX", tmp,
	    name) >= KIT_PATH_MAX || mkdtemp(dir) == NULL)
		return -1;
	return 0;
}

/* A directory is opened up first, so that what is in it can go. */
static int
kit_open_up(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_D || type == FTW_DNR)
		(void)chmod(path, (st->st_mode & 07777) | S_IRWXU);
	return 0;
}

static int
kit_remove(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (type == FTW_DP ? rmdir(path) : unlink(path)) == -1 &&
	    errno != ENOENT ? -1 : 0;
}

int
kit_rmtree(const char *dir)
{
	if (nftw(dir, kit_open_up, 16, FTW_PHYS) == -1 && errno != ENOENT)
		return -1;
	if (nftw(dir, kit_remove, 16, FTW_PHYS | FTW_DEPTH) == -1 &&
	    errno != ENOENT)
		return -1;
	return 0;
}

const char *
kit_path(const char *dir, const char *name)
{
	static char	buf[8][KIT_PATH_MAX];
	static int	i;

	i = (i + 1) % 8;
	if ((size_t)snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name) >=
	    sizeof(buf[i]))
		fail_msg("path too long: %s/%s", dir, name);
	return buf[i];
}

void
kit_write(const char *path, const void *data, size_t len, mode_t mode)
{
	const char	*p = data;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    mode)) == -1)
		fail_msg("%s: %s", path, strerror(errno));
	while (len > 0) {
		if ((n = write(fd, p, len)) <= 0)
			fail_msg("%s: %s", path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	/* open(2)'s mode is cut by the umask; the test asked for this one. */
	if (fchmod(fd, mode) == -1 || close(fd) == -1)
		fail_msg("%s: %s", path, strerror(errno));
}

char *
kit_slurp(const char *path, size_t *len)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	size_t		 have = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1)
		fail_msg("%s: %s", path, strerror(errno));
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		fail_msg("%s: out of memory", path);
	while (have < (size_t)st.st_size &&
	    (n = read(fd, buf + have, (size_t)st.st_size - have)) > 0)
		have += (size_t)n;
	close(fd);
	buf[have] = '\0';
	if (len != NULL)
		*len = have;
	return buf;
}

void
kit_run(const char *fmt, ...)
{
	char	cmd[8192];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}
