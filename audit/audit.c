/*
 * audit.c - append-only JSON Lines audit log with a SHA-256 hash chain.
 *
 * One writer owns the file.  Each event is formatted completely, written
 * with one write(2) and made durable with fdatasync() before the caller
 * is told it succeeded; the caller acts on a decision only after that.
 */
#include "audit/audit.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/clock.h"
#include "lib/log.h"

struct audit {
	char		 path[4096];
	int		 fd;
	uint64_t	 seq;		/* of the last line written */
	char		 prev[65];	/* hex SHA-256 of the last line */
	off_t		 size;		/* bytes of complete lines */
};

static void
hash_line(const char *line, size_t len, char out[65])
{
	unsigned char	md[32];
	unsigned int	mdlen = 0;
	size_t		i;

	EVP_Digest(line, len, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < sizeof(md); i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/*
 * Find the last complete line of the file: resume seq and prev from it,
 * and cut off a torn tail (bytes after the last newline) left by a crash.
 */
static int
audit_resume(struct audit *a, char *err, size_t errlen)
{
	struct stat	 st;
	char		*buf = NULL, *end, *start;
	off_t		 from;
	size_t		 want, len;
	ssize_t		 n;
	json_t		*j = NULL, *jseq;
	int		 rc = -1;

	if (fstat(a->fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", a->path, strerror(errno));
		return -1;
	}
	memset(a->prev, '0', 64);
	a->prev[64] = '\0';
	a->seq = 0;
	a->size = st.st_size;
	if (st.st_size == 0)
		return 0;
	/* The last line, newline included, is within the final window. */
	want = st.st_size < (off_t)(2 * AUDIT_MAX_LINE + 2) ?
	    (size_t)st.st_size : 2 * AUDIT_MAX_LINE + 2;
	from = st.st_size - (off_t)want;
	if ((buf = malloc(want + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", a->path);
		return -1;
	}
	if ((n = pread(a->fd, buf, want, from)) != (ssize_t)want) {
		snprintf(err, errlen, "%s: cannot read: %s", a->path,
		    n == -1 ? strerror(errno) : "short read");
		goto out;
	}
	buf[want] = '\0';
	end = memrchr(buf, '\n', want);
	if (end == NULL && !(from == 0 && want <= AUDIT_MAX_LINE)) {
		snprintf(err, errlen, "%s: last line longer than %d bytes; "
		    "refusing to append", a->path, AUDIT_MAX_LINE);
		goto out;
	}
	/* Bytes after the last newline (all of them if there is none). */
	len = end == NULL ? want : (size_t)(buf + want - (end + 1));
	if (len > 0) {
		log_warn("%s: cutting a torn last line of %zu bytes", a->path,
		    len);
		a->size = st.st_size - (off_t)len;
		if (ftruncate(a->fd, a->size) == -1) {
			snprintf(err, errlen, "%s: cannot cut the torn line: %s",
			    a->path, strerror(errno));
			goto out;
		}
	}
	if (a->size == 0 || end == NULL) {
		rc = 0;
		goto out;
	}
	*end = '\0';
	start = memrchr(buf, '\n', (size_t)(end - buf));
	start = start == NULL ? buf : start + 1;
	if (start == buf && from != 0) {
		snprintf(err, errlen, "%s: last line longer than %d bytes; "
		    "refusing to append", a->path, AUDIT_MAX_LINE);
		goto out;
	}
	if ((j = json_loads(start, 0, NULL)) == NULL ||
	    (jseq = json_object_get(j, "seq")) == NULL ||
	    !json_is_integer(jseq) || json_integer_value(jseq) < 1) {
		snprintf(err, errlen, "%s: last line is not an audit event; "
		    "refusing to append", a->path);
		goto out;
	}
	a->seq = (uint64_t)json_integer_value(jseq);
	hash_line(start, strlen(start), a->prev);
	rc = 0;
out:
	json_decref(j);
	free(buf);
	return rc;
}

int
audit_open(const char *dir, struct audit **out, char *err, size_t errlen)
{
	struct audit *a;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", dir);
		return -1;
	}
	a->fd = -1;
	snprintf(a->path, sizeof(a->path), "%s/%s", dir, AUDIT_FILE);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create: %s", dir,
		    strerror(errno));
		goto fail;
	}
	a->fd = open(a->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (a->fd == -1) {
		snprintf(err, errlen, "%s: cannot open: %s", a->path,
		    strerror(errno));
		goto fail;
	}
	if (audit_resume(a, err, errlen) == -1)
		goto fail;
	*out = a;
	return 0;
fail:
	audit_close(a);
	return -1;
}

static int
valid_type(const char *type)
{
	size_t n = strlen(type);

	return n >= 1 && n <= 32 && strspn(type,
	    "abcdefghijklmnopqrstuvwxyz_") == n;
}

int
audit_write(struct audit *a, const char *type, json_t *fields)
{
	static const char *reserved[] = { "seq", "ts", "type", "prev", NULL };
	json_t		*ev = NULL;
	char		*line = NULL, ts[32];
	struct tm	 tm;
	time_t		 now = clock_now();
	size_t		 len, off = 0, i;
	ssize_t		 n;
	int		 rc = -1;

	if (!valid_type(type) || (fields != NULL && !json_is_object(fields)))
		return -1;
	for (i = 0; fields != NULL && reserved[i] != NULL; i++)
		if (json_object_get(fields, reserved[i]) != NULL)
			return -1;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	ev = json_pack("{s:I, s:s, s:s, s:s}", "seq",
	    (json_int_t)(a->seq + 1), "ts", ts, "type", type, "prev", a->prev);
	if (ev == NULL || (fields != NULL && json_object_update(ev,
	    fields) == -1))
		goto out;
	line = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_ENSURE_ASCII);
	if (line == NULL || (len = strlen(line)) >= AUDIT_MAX_LINE)
		goto out;
	line[len] = '\n';	/* json_dumps' NUL becomes the newline */
	while (off < len + 1) {
		n = write(a->fd, line + off, len + 1 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_error("%s: write: %s", a->path,
			    n == -1 ? strerror(errno) : "no progress");
			/* Leave no torn line behind. */
			(void)ftruncate(a->fd, a->size);
			goto out;
		}
		off += (size_t)n;
	}
	if (fdatasync(a->fd) == -1) {
		log_error("%s: fdatasync: %s", a->path, strerror(errno));
		goto out;
	}
	a->size += (off_t)(len + 1);
	a->seq++;
	hash_line(line, len, a->prev);
	rc = 0;
out:
	free(line);
	json_decref(ev);
	return rc;
}

uint64_t
audit_seq(const struct audit *a)
{
	return a->seq;
}

void
audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	if (a->fd != -1)
		close(a->fd);
	free(a);
}
