/*
 * fuzz_sftp.c - libFuzzer target for the SFTP server: any byte stream,
 * cut into pieces of any size, must be answered with well-formed
 * packets or refused with -1, never crash, leak, read out of bounds or
 * let the output grow past its bound; every file the fake monitor
 * opens must be closed again by the time the server is freed.
 *
 * The first input byte chooses how the rest is cut (low seven bits 0:
 * all at once, n: pieces of n bytes) and, with its high bit, whether
 * the client takes only part of the output each time.  The fake monitor
 * needs no file system: paths naming "lost", "deny" or "nosuch" get
 * those answers, a last component naming "dir" is a directory, anything
 * else is a 16 MiB file.
 *
 * ./configure --enable-fuzzing CC=clang && make tests/fuzz/fuzz_sftp
 * tests/fuzz/fuzz_sftp -max_total_time=60 NEW_DIR tests/fuzz/corpus_sftp
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/session/sftp.h"

/* Large enough for READs to outrun SFTP_OUT_HIGH; mostly a hole. */
#define FILE_SIZE	(16 * 1024 * 1024)
#define DIR_ENTRIES	150
/* The largest reply: a DATA packet of SFTP_MAX_READ bytes. */
#define REPLY_MAX	(SFTP_MAX_READ + 13)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	 file_fd = -1;		/* what every open_file dups */
static int	 open_fds;		/* opened and not yet closed */
static uint32_t	 handles;		/* handed out by open_file */

/* -1 for "lost", 0 with why for "deny" and "nosuch", else 1. */
static int
verdict(const char *path, char *why, size_t whylen)
{
	if (path[0] != '/' || strlen(path) > ACCESS_PATH_MAX)
		abort();
	if (strstr(path, "lost") != NULL)
		return -1;
	if (strstr(path, "deny") != NULL) {
		snprintf(why, whylen, "denied by policy");
		return 0;
	}
	if (strstr(path, "nosuch") != NULL) {
		snprintf(why, whylen, "No such file or directory");
		return 0;
	}
	return 1;
}

static void
fake_attr(const char *path, struct access_attr *a)
{
	const char	*base = strrchr(path, '/');

	base = base == NULL ? path : base + 1;
	memset(a, 0, sizeof(*a));
	if (strstr(base, "dir") != NULL || strcmp(path, "/") == 0) {
		a->mode = S_IFDIR | 0755;
		a->size = 4096;
	} else {
		a->mode = S_IFREG | 04644;
		a->size = FILE_SIZE;
	}
	a->mtime = 0xffffffff;
	a->nlink = 1;
}

static int
fake_open(void *arg, const char *path, int *fd, uint32_t *handle,
    struct access_attr *attr, char *why, size_t whylen)
{
	int	 r;

	if ((r = verdict(path, why, whylen)) != 1)
		return r;
	if ((*fd = dup(file_fd)) == -1)
		return -1;
	fake_attr(path, attr);
	open_fds++;
	*handle = ++handles;
	return 1;
}

static int
fake_close(void *arg, uint32_t handle, uint64_t bytes)
{
	if (open_fds <= 0)
		abort();
	open_fds--;
	return handle % 7 == 3 ? 0 : 1;
}

static int
fake_stat(void *arg, const char *path, struct access_attr *attr, char *why,
    size_t whylen)
{
	int	 r;

	if ((r = verdict(path, why, whylen)) != 1)
		return r;
	fake_attr(path, attr);
	return 1;
}

/*
 * Entries "e0" ... in batches; "emptydir" never has any and never says
 * so, and every tenth name fills its buffer with no NUL at all.
 */
static int
fake_list(void *arg, const char *path, uint32_t *cookie,
    struct access_dirent *ents, size_t max, size_t *n, int *eof, char *why,
    size_t whylen)
{
	int	 r;

	if ((r = verdict(path, why, whylen)) != 1)
		return r;
	*n = 0;
	*eof = 0;
	if (strstr(path, "empty") != NULL)
		return 1;
	for (; *cookie < DIR_ENTRIES && *n < max; (*cookie)++, (*n)++) {
		if (*cookie % 10 == 9)
			memset(ents[*n].name, 'x', sizeof(ents[*n].name));
		else
			snprintf(ents[*n].name, sizeof(ents[*n].name), "e%u",
			    *cookie);
		fake_attr("f", &ents[*n].attr);
		ents[*n].attr.mtime = *cookie * 86399u;
	}
	*eof = *cookie >= DIR_ENTRIES;
	return 1;
}

static int
fake_refused(void *arg, const char *op, const char *path)
{
	char	 why[ACCESS_WHY_MAX];

	return verdict(path, why, sizeof(why)) == -1 ? -1 : 1;
}

static const struct access_ops ops = {
	.home = "/home/dir",
	.open_file = fake_open,
	.close_file = fake_close,
	.stat = fake_stat,
	.list_dir = fake_list,
	.refused = fake_refused,
};

/*
 * Every byte of output is whole packets of sane size.  Take it all, or
 * only part of it to leave the server a backlog with a taken head;
 * rest counts the bytes of a checked packet not yet taken.
 */
static size_t	 rest;

static void
drain(struct sftp *s, int partly)
{
	const unsigned char	*o;
	size_t			 n, off, len, take;

	if ((o = sftp_output(s, &n)) == NULL)
		return;
	if (n > SFTP_OUT_HIGH + REPLY_MAX || rest > n)
		abort();
	take = partly ? n / 2 + 1 : n;
	for (off = rest; off < take; off += 4 + len) {
		if (n - off < 5)
			abort();
		len = (size_t)o[off] << 24 | (size_t)o[off + 1] << 16 |
		    (size_t)o[off + 2] << 8 | o[off + 3];
		if (len < 5 || len > REPLY_MAX || len > n - off - 4)
			abort();
	}
	rest = off - take;
	sftp_output_consume(s, take);
}

static int
make_file(void)
{
	unsigned char	 buf[4096];
	size_t		 i;

	if ((file_fd = memfd_create("fuzz_sftp", 0)) == -1)
		return -1;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)i;
	if (write(file_fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		return -1;
	return ftruncate(file_fd, FILE_SIZE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sftp	*s;
	size_t		 chunk, off = 1, n;
	ssize_t		 used;
	int		 partly;

	if (file_fd == -1 && make_file() == -1)
		abort();
	if (size == 0 || (s = sftp_new(&ops)) == NULL)
		return 0;
	rest = 0;
	chunk = (data[0] & 0x7f) == 0 ? size : (data[0] & 0x7f);
	partly = (data[0] & 0x80) != 0;
	while (off < size) {
		n = size - off < chunk ? size - off : chunk;
		if ((used = sftp_input(s, data + off, n)) == -1)
			break;
		/* Taking nothing while the backlog is drained is a hang. */
		if (used == 0 && sftp_output(s, &n) == NULL)
			abort();
		off += (size_t)used;
		drain(s, partly);
	}
	drain(s, 0);
	sftp_free(s);
	if (open_fds != 0)
		abort();
	return 0;
}
