/*
 * redacted.c - redacted copies of files, for the monitor (redacted.h).
 *
 * The copy is written before it is handed over and sealed, so the
 * child never sees the file and never sees a copy change under it.
 * Reading is bounded by the file's size at open: a log that grows
 * while it is copied does not keep the monitor busy forever.
 */
#include "config.h"

#include "gateway/monitor/redacted.h"

#include <sys/mman.h>
#include <sys/statvfs.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fileio.h"

#define CHUNK		(256 * 1024)
#define MIB(n)		((double)(n) / (1024.0 * 1024.0))

/* Where redacted bytes go: the copy, and where its last line ended. */
struct sink {
	int		 fd;
	uint64_t	 n;
	uint64_t	 lines;		/* bytes up to the last '\n' */
	int		 err;
};

static int
sink_emit(void *arg, const void *buf, size_t len)
{
	struct sink	*k = arg;
	const char	*nl;

	if (k->err != 0)
		return -1;
	if (fileio_write_all(k->fd, buf, len) == -1) {
		k->err = errno;
		return -1;
	}
	if ((nl = memrchr(buf, '\n', len)) != NULL)
		k->lines = k->n + (uint64_t)(nl - (const char *)buf) + 1;
	k->n += len;
	return 0;
}

/* Add a finished stream's counts to rd's. */
static void
absorb(const struct redact *r, struct redacted *rd,
    const struct redact_stream *s)
{
	size_t i;

	for (i = 0; i < redact_count(r) && i < REDACT_MAX_PATTERNS; i++)
		rd->matches[i] += redact_stream_matches(s, i);
	rd->whole_lines += redact_stream_long_lines(s);
}

/* Copies up to this size stay in memory; test builds may lower it. */
static uint64_t
mem_max(void)
{
#ifdef PORTHOLE_TEST_HOOKS
	const char		*s = getenv("PORTHOLE_REDACT_MEM_MAX");
	char			*end;
	unsigned long long	 v;

	if (s != NULL) {
		v = strtoull(s, &end, 10);
		if (*s != '\0' && *end == '\0' && v < REDACTED_MEM_MAX)
			return v;
	}
#endif
	return REDACTED_MEM_MAX;
}

/*
 * Somewhere to write a copy of size bytes: a memory file, or an
 * unnamed file in tmpdir for a large one if tmpdir has room.  The
 * descriptor, or -1 with why.
 */
static int
copy_new(uint64_t size, const char *path, const char *tmpdir, char *why,
    size_t whylen)
{
	struct statvfs	sv;
	uint64_t	avail;
	int		fd;

	if (size <= mem_max()) {
		fd = memfd_create("porthole-redacted", MFD_CLOEXEC |
		    MFD_ALLOW_SEALING);
		if (fd == -1)
			snprintf(why, whylen, "%s: cannot redact it: "
			    "memfd_create: %s", path, strerror(errno));
		return fd;
	}
	if (statvfs(tmpdir, &sv) == -1) {
		snprintf(why, whylen, "%s: cannot redact it: %s: %s", path,
		    tmpdir, strerror(errno));
		return -1;
	}
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (avail < REDACTED_RESERVE || avail - REDACTED_RESERVE < size) {
		snprintf(why, whylen, "%s: %.1f MiB to redact, more than the "
		    "gateway's state_dir has free (%.1f MiB, %.0f MiB of it "
		    "kept for the gateway)", path, MIB(size), MIB(avail),
		    MIB(REDACTED_RESERVE));
		return -1;
	}
	if ((fd = open(tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) == -1)
		snprintf(why, whylen, "%s: cannot redact it: a file in %s: %s",
		    path, tmpdir, strerror(errno));
	return fd;
}

/*
 * The finished copy as the child gets it: sealed against every change,
 * or (a file on disk, which cannot be sealed) reopened read-only.  The
 * descriptor to hand over (fd is consumed), or -1 with why.
 */
static int
copy_seal(int fd, const char *path, char *why, size_t whylen)
{
	char	proc[64];
	int	ro;

	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == 0)
		return fd;
	if (errno != EINVAL) {
		snprintf(why, whylen, "%s: cannot seal its redacted copy: %s",
		    path, strerror(errno));
		close(fd);
		return -1;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if ((ro = open(proc, O_RDONLY | O_CLOEXEC)) == -1)
		snprintf(why, whylen, "%s: cannot reopen its redacted copy: "
		    "%s", path, strerror(errno));
	close(fd);
	return ro;
}

/*
 * Feed fd's bytes [from, from + len) through s into k.  The bytes read
 * (fewer if the file shrank), or -1 with why.
 */
static int64_t
feed_range(struct redact_stream *s, int fd, uint64_t from, uint64_t len,
    struct sink *k, char *buf, const char *path, char *why, size_t whylen)
{
	uint64_t	got = 0;
	ssize_t		n;

	while (got < len) {
		n = pread(fd, buf, len - got < CHUNK ? (size_t)(len - got) :
		    CHUNK, (off_t)(from + got));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(why, whylen, "%s: read: %s", path,
			    strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		got += (uint64_t)n;
		if (redact_stream_feed(s, buf, (size_t)n, sink_emit, k) == -1) {
			snprintf(why, whylen, "%s: cannot redact it: %s", path,
			    k->err != 0 ? strerror(k->err) : "out of memory");
			return -1;
		}
	}
	return (int64_t)got;
}

/* Did the file change while it was read?  Its size or time moved. */
static int
file_changed(int fd, const struct stat *before, uint64_t got)
{
	struct stat after;

	return fstat(fd, &after) == -1 || after.st_size != before->st_size ||
	    after.st_mtim.tv_sec != before->st_mtim.tv_sec ||
	    after.st_mtim.tv_nsec != before->st_mtim.tv_nsec ||
	    got != (uint64_t)before->st_size;
}

/* Is the file's start text that patterns can work on?  0, or -1. */
static int
sniff(int fd, uint64_t size, const char *path, char *buf, char *why,
    size_t whylen)
{
	const char	*bad;
	ssize_t		 n;

	do
		n = pread(fd, buf, size < REDACT_SNIFF_LEN ? (size_t)size :
		    REDACT_SNIFF_LEN, 0);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		snprintf(why, whylen, "%s: read: %s", path, strerror(errno));
		return -1;
	}
	if ((bad = redact_sniff(buf, (size_t)n)) != NULL) {
		snprintf(why, whylen, "%s: refused: %s under a redacted path "
		    "(its secrets could not be starred)", path, bad);
		return -1;
	}
	return 0;
}

int
redacted_open(const struct redact *r, int fd, const struct stat *st,
    const char *path, const char *tmpdir, int *copy, struct redacted *rd,
    char *why, size_t whylen)
{
	struct redact_stream	*s = NULL;
	struct sink		 k = { -1, 0, 0, 0 };
	uint64_t		 size = st->st_size < 0 ? 0 :
	    (uint64_t)st->st_size;
	char			*buf = NULL;
	int64_t			 got;
	int			 rc = -1, cut;

	memset(rd, 0, sizeof(*rd));
	*copy = -1;
	if ((buf = malloc(CHUNK)) == NULL ||
	    (s = redact_stream_new(r)) == NULL) {
		snprintf(why, whylen, "%s: cannot redact it: out of memory",
		    path);
		goto out;
	}
	if (sniff(fd, size, path, buf, why, whylen) == -1 ||
	    (k.fd = copy_new(size, path, tmpdir, why, whylen)) == -1)
		goto out;
	if ((got = feed_range(s, fd, 0, size, &k, buf, path, why,
	    whylen)) == -1)
		goto out;
	/* A line the read may have cut holds part of a secret: starred. */
	cut = file_changed(fd, st, (uint64_t)got);
	if ((cut ? redact_stream_cut(s, sink_emit, &k) :
	    redact_stream_end(s, sink_emit, &k)) == -1) {
		snprintf(why, whylen, "%s: cannot redact it: %s", path,
		    k.err != 0 ? strerror(k.err) : "out of memory");
		goto out;
	}
	absorb(r, rd, s);
	rd->read_to = (uint64_t)got;
	rd->lines_end = k.lines;
	*copy = copy_seal(k.fd, path, why, whylen);
	k.fd = -1;
	rc = *copy == -1 ? -1 : 0;
out:
	if (k.fd != -1)
		close(k.fd);
	redact_stream_free(s);
	if (buf != NULL)
		explicit_bzero(buf, CHUNK);
	free(buf);
	return rc;
}

int
redacted_more(const struct redact *r, int fd, const char *path,
    const char *tmpdir, struct redacted *rd, int *copy, uint64_t *base,
    int *truncated, char *why, size_t whylen)
{
	struct sink	 k = { -1, 0, 0, 0 };
	struct stat	 st;
	uint64_t	 size, len;
	char		*buf = NULL;
	int64_t		 got;
	int		 rc = -1;

	*copy = -1;
	*truncated = 0;
	if (fstat(fd, &st) == -1) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	size = st.st_size < 0 ? 0 : (uint64_t)st.st_size;
	if (size < rd->read_to) {
		/* Truncated (or rotated in place): from its start again. */
		if (rd->follow != NULL)
			absorb(r, rd, rd->follow);
		redact_stream_free(rd->follow);
		rd->follow = NULL;
		rd->read_to = rd->lines_end = 0;
		*truncated = 1;
	}
	/*
	 * The first look goes back to where the copy's last whole line
	 * ended: the line being written then is matched whole now.
	 */
	if (rd->follow == NULL) {
		if ((rd->follow = redact_stream_new(r)) == NULL) {
			snprintf(why, whylen, "%s: out of memory", path);
			return -1;
		}
		rd->read_to = rd->lines_end;
	}
	*base = rd->lines_end;
	if (size <= rd->read_to)
		return 0;
	len = size - rd->read_to;
	if (len > REDACTED_MORE_MAX)
		len = REDACTED_MORE_MAX;
	if ((buf = malloc(CHUNK)) == NULL) {
		snprintf(why, whylen, "%s: out of memory", path);
		return -1;
	}
	if ((k.fd = copy_new(len, path, tmpdir, why, whylen)) == -1)
		goto out;
	if ((got = feed_range(rd->follow, fd, rd->read_to, len, &k, buf, path,
	    why, whylen)) == -1)
		goto out;
	rd->read_to += (uint64_t)got;
	rd->lines_end += k.n;
	rc = 0;
	if (k.n == 0)
		goto out;	/* only part of a line so far */
	if ((*copy = copy_seal(k.fd, path, why, whylen)) == -1)
		rc = -1;
	else
		rc = 1;
	k.fd = -1;
out:
	if (k.fd != -1)
		close(k.fd);
	if (buf != NULL)
		explicit_bzero(buf, CHUNK);
	free(buf);
	return rc;
}

void
redacted_clear(struct redacted *rd)
{
	redact_stream_free(rd->follow);
	rd->follow = NULL;
}

uint64_t
redacted_total(const struct redact *r, const struct redacted *rd)
{
	uint64_t	n = rd->whole_lines;
	size_t		i;

	for (i = 0; i < redact_count(r) && i < REDACT_MAX_PATTERNS; i++)
		n += rd->matches[i];
	if (rd->follow != NULL)
		n += redact_stream_total(rd->follow);
	return n;
}

json_t *
redacted_counts(const struct redact *r, const struct redacted *rd)
{
	json_t		*o;
	uint64_t	 n;
	size_t		 i;

	if ((o = json_object()) == NULL)
		return NULL;
	for (i = 0; i < redact_count(r) && i < REDACT_MAX_PATTERNS; i++) {
		n = rd->matches[i] + (rd->follow != NULL ?
		    redact_stream_matches(rd->follow, i) : 0);
		if (json_object_set_new(o, redact_name(r, i),
		    json_integer((json_int_t)n)) == -1)
			goto fail;
	}
	n = rd->whole_lines + (rd->follow != NULL ?
	    redact_stream_long_lines(rd->follow) : 0);
	if (json_object_set_new(o, "whole_lines", json_integer((json_int_t)n))
	    == -1)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}
