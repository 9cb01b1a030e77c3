/*
 * outbox.c - the copy of what the gateway sent (outbox.h): append-only
 * files of CRC-checked frames, buffered and written once per batch,
 * dropped whole when they are too old or too many.
 */
#include "telemetry/outbox.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/be.h"
#include "lib/clock.h"
#include "lib/crc32c.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/parse.h"

#define HDR		25		/* length, crc, seq, kind, time */
#define CRC_FROM	8		/* the crc covers seq onwards */
#define NAME_LEN	24		/* 20 digits and ".out" */
#define FILES_MAX	100000		/* files an outbox may hold */
#define READ_MAX	(1ULL << 30)	/* bytes of one file read */

struct outbox {
	char		 dir[PATH_MAX];
	int		 dirfd;
	int		 fd;		/* the newest file; -1: none open */
	uint64_t	 num;		/* its number */
	uint64_t	 size;		/* its bytes */
	uint64_t	 keep;		/* seconds */
	uint64_t	 max;		/* bytes; 0: keep nothing */
	uint64_t	 last_seq;	/* newest record written or buffered */
	uint64_t	 last_ack;
	time_t		 last_time;	/* of the newest frame written */
	char		*buf;		/* frames not yet written */
	size_t		 len, cap;
	time_t		 buf_time;	/* of the newest of them */
};

/* "000...17.out" -> 17; 0 for any other name. */
static uint64_t
file_number(const char *name)
{
	char		digits[21];
	uint64_t	v;

	if (strlen(name) != NAME_LEN || strcmp(name + 20, ".out") != 0)
		return 0;
	memcpy(digits, name, 20);
	digits[20] = '\0';
	if (parse_uint(digits, 1, UINT64_MAX, &v) == -1)
		return 0;
	return v;
}

static void
file_name(uint64_t num, char *buf, size_t len)
{
	snprintf(buf, len, "%020" PRIu64 ".out", num);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The numbers of dir's files, in order (free *nums).  0, or -1. */
static int
list_files(int dirfd, uint64_t **nums, size_t *n)
{
	DIR		*d;
	struct dirent	*de;
	uint64_t	*v = NULL, *nv, num;
	size_t		 cap = 0;
	int		 fd;

	*nums = NULL;
	*n = 0;
	if ((fd = dup(dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if ((num = file_number(de->d_name)) == 0)
			continue;
		if (*n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if (cap > FILES_MAX || (nv = reallocarray(v, cap,
			    sizeof(*v))) == NULL) {
				errno = cap > FILES_MAX ? EMFILE : ENOMEM;
				goto fail;
			}
			v = nv;
		}
		v[(*n)++] = num;
	}
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), cmp_u64);
	*nums = v;
	return 0;
fail:
	closedir(d);
	free(v);
	*n = 0;
	return -1;
}

/* A whole file into memory (free *buf): 0, or -1 with errno. */
static int
read_file(int dirfd, uint64_t num, char **buf, size_t *len)
{
	struct stat	 st;
	char		 name[32];
	size_t		 off = 0;
	ssize_t		 r;
	int		 fd, saved;

	*buf = NULL;
	*len = 0;
	file_name(num, name, sizeof(name));
	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) ==
	    -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > READ_MAX) {
		saved = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		close(fd);
		errno = saved;
		return -1;
	}
	if ((*buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	while (off < (size_t)st.st_size &&
	    (r = read(fd, *buf + off, (size_t)st.st_size - off)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			saved = errno;
			free(*buf);
			*buf = NULL;
			close(fd);
			errno = saved;
			return -1;
		}
		off += (size_t)r;
	}
	close(fd);
	*len = off;
	return 0;
}

/*
 * The frame at buf[off..len): 1 with its parts and *next, 0 at a torn
 * or damaged end.
 */
static int
frame_at(const char *buf, size_t len, size_t off, uint64_t *seq, int *kind,
    time_t *when, const char **rec, size_t *rlen, size_t *next)
{
	const unsigned char	*p = (const unsigned char *)buf + off;
	uint32_t		 plen;

	if (len - off < HDR)
		return 0;
	plen = be_get32(p);
	if (plen > RECORD_MAX || len - off - HDR < plen ||
	    be_get32(p + 4) != crc32c(p + CRC_FROM, HDR - CRC_FROM + plen))
		return 0;
	*kind = p[16];
	if (!((*kind >= RECORD_USAGE && *kind <= RECORD_HEALTH && plen > 0) ||
	    (*kind == OUTBOX_ACK && plen == 0)))
		return 0;
	*seq = be_get64(p + 8);
	*when = (time_t)(int64_t)be_get64(p + 17);
	*rec = buf + off + HDR;
	*rlen = plen;
	*next = off + HDR + plen;
	return 1;
}

int
outbox_read(const char *dir, outbox_fn fn, void *arg, char *why,
    size_t whylen)
{
	uint64_t	*nums = NULL, seq;
	const char	*rec;
	char		*buf;
	size_t		 n, i, len, off, rlen, next;
	time_t		 when;
	int		 dirfd, kind, rc = -1, stop = 0;

	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(why, whylen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (list_files(dirfd, &nums, &n) == -1) {
		snprintf(why, whylen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	for (i = 0; i < n && !stop; i++) {
		if (read_file(dirfd, nums[i], &buf, &len) == -1) {
			if (errno == ENOENT)
				continue;	/* pruned as we went */
			snprintf(why, whylen, "%s/%020" PRIu64 ".out: %s", dir,
			    nums[i], strerror(errno));
			goto out;
		}
		for (off = 0; !stop && frame_at(buf, len, off, &seq, &kind,
		    &when, &rec, &rlen, &next); off = next)
			stop = fn(arg, seq, kind, when, rec, rlen) != 0;
		free(buf);
	}
	rc = 0;
out:
	free(nums);
	close(dirfd);
	return rc;
}

/*
 * The newest record and ack of the files, newest file first until a
 * record is found; a torn end of the last file is cut off.
 */
static int
outbox_scan(struct outbox *ob, const uint64_t *nums, size_t n, char *err,
    size_t errlen)
{
	const char	*rec;
	char		*buf, name[32];
	uint64_t	 seq;
	size_t		 len, off, rlen, next;
	time_t		 when;
	int		 kind;
	size_t		 i;

	for (i = n; i-- > 0 && ob->last_seq == 0;) {
		if (read_file(ob->dirfd, nums[i], &buf, &len) == -1) {
			snprintf(err, errlen, "%s/%020" PRIu64 ".out: %s",
			    ob->dir, nums[i], strerror(errno));
			return -1;
		}
		for (off = 0; frame_at(buf, len, off, &seq, &kind, &when,
		    &rec, &rlen, &next); off = next) {
			if (kind == OUTBOX_ACK && seq > ob->last_ack)
				ob->last_ack = seq;
			else if (kind != OUTBOX_ACK && seq > ob->last_seq)
				ob->last_seq = seq;
			if (i + 1 == n && when > ob->last_time)
				ob->last_time = when;
		}
		free(buf);
		if (i + 1 == n && off < len) {
			file_name(nums[i], name, sizeof(name));
			log_warn("%s/%s: cutting a torn or damaged end of %zu "
			    "bytes", ob->dir, name, len - off);
			if ((ob->fd = openat(ob->dirfd, name, O_WRONLY |
			    O_CLOEXEC | O_NOFOLLOW)) == -1 ||
			    ftruncate(ob->fd, (off_t)off) == -1) {
				snprintf(err, errlen, "%s/%s: %s", ob->dir,
				    name, strerror(errno));
				return -1;
			}
			close(ob->fd);
			ob->fd = -1;
		}
		if (i + 1 == n)
			ob->size = off;
	}
	return 0;
}

int
outbox_open(const char *dir, uint64_t keep, uint64_t max,
    struct outbox **out, char *err, size_t errlen)
{
	struct outbox	*ob;
	uint64_t	*nums = NULL;
	size_t		 n = 0;

	*out = NULL;
	if ((ob = calloc(1, sizeof(*ob))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", dir);
		return -1;
	}
	ob->fd = ob->dirfd = -1;
	ob->keep = keep;
	ob->max = max;
	snprintf(ob->dir, sizeof(ob->dir), "%s", dir);
	if ((mkdir(dir, 0700) == -1 && errno != EEXIST) ||
	    (ob->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || list_files(ob->dirfd, &nums, &n) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	if (outbox_scan(ob, nums, n, err, errlen) == -1)
		goto fail;
	/* Appends go on in the newest file, or in a new one. */
	ob->num = n > 0 ? nums[n - 1] : 0;
	free(nums);
	*out = ob;
	return 0;
fail:
	free(nums);
	outbox_close(ob);
	return -1;
}

void
outbox_close(struct outbox *ob)
{
	char why[256];

	if (ob == NULL)
		return;
	if (ob->len > 0 && outbox_flush(ob, why, sizeof(why)) == -1)
		log_error("outbox: %s", why);
	if (ob->fd != -1)
		close(ob->fd);
	if (ob->dirfd != -1)
		close(ob->dirfd);
	free(ob->buf);
	free(ob);
}

void
outbox_set_limits(struct outbox *ob, uint64_t keep, uint64_t max)
{
	ob->keep = keep;
	ob->max = max;
}

/* Append one frame to the buffer.  0, or -1. */
static int
frame_put(struct outbox *ob, uint64_t seq, int kind, time_t when,
    const char *rec, size_t len)
{
	unsigned char	*p;
	char		*nb;
	size_t		 cap;

	if (ob->len + HDR + len > ob->cap) {
		cap = ob->cap == 0 ? 64 * 1024 : ob->cap;
		while (cap < ob->len + HDR + len)
			cap *= 2;
		if ((nb = realloc(ob->buf, cap)) == NULL)
			return -1;
		ob->buf = nb;
		ob->cap = cap;
	}
	p = (unsigned char *)ob->buf + ob->len;
	be_put32(p, (uint32_t)len);
	be_put64(p + 8, seq);
	p[16] = (unsigned char)kind;
	be_put64(p + 17, (uint64_t)(int64_t)when);
	if (len > 0)
		memcpy(p + HDR, rec, len);
	be_put32(p + 4, crc32c(p + CRC_FROM, HDR - CRC_FROM + len));
	ob->len += HDR + len;
	if (when > ob->buf_time)
		ob->buf_time = when;
	return 0;
}

int
outbox_record(struct outbox *ob, uint64_t seq, enum record_class cls,
    const char *rec, size_t len, time_t now)
{
	if (ob->max == 0 || seq <= ob->last_seq)
		return 0;
	if (len == 0 || len > RECORD_MAX || frame_put(ob, seq, (int)cls, now,
	    rec, len) == -1)
		return -1;
	ob->last_seq = seq;
	return 0;
}

int
outbox_ack(struct outbox *ob, uint64_t seq, time_t now)
{
	if (ob->max == 0 || seq <= ob->last_ack)
		return 0;
	if (frame_put(ob, seq, OUTBOX_ACK, now, NULL, 0) == -1)
		return -1;
	ob->last_ack = seq;
	return 0;
}

static int	prune_to(struct outbox *, time_t, uint64_t);

/* The size a file may grow to: a sixteenth of the bound, at least MIN. */
static uint64_t
file_max(const struct outbox *ob)
{
	return ob->max / 16 > OUTBOX_FILE_MIN ? ob->max / 16 : OUTBOX_FILE_MIN;
}

/* Start the next file. */
static int
file_next(struct outbox *ob, char *why, size_t whylen)
{
	char name[32];

	if (ob->fd != -1) {
		close(ob->fd);
		ob->fd = -1;
	}
	/*
	 * A new file is where the outbox grows: room for it is made first,
	 * so that the outbox never holds more than max.
	 */
	(void)prune_to(ob, clock_now(), file_max(ob));
	file_name(ob->num + 1, name, sizeof(name));
	if ((ob->fd = openat(ob->dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
		snprintf(why, whylen, "%s/%s: cannot create: %s", ob->dir,
		    name, strerror(errno));
		return -1;
	}
	ob->num++;
	ob->size = 0;
	return 0;
}

int
outbox_flush(struct outbox *ob, char *why, size_t whylen)
{
	char name[32];

	if (ob->len == 0)
		return 0;
	if (ob->fd == -1 && ob->num > 0 && ob->size + ob->len <= file_max(ob)) {
		file_name(ob->num, name, sizeof(name));
		ob->fd = openat(ob->dirfd, name, O_WRONLY | O_APPEND |
		    O_CLOEXEC | O_NOFOLLOW);
	}
	if ((ob->fd == -1 || ob->size + ob->len > file_max(ob)) &&
	    file_next(ob, why, whylen) == -1)
		return -1;
	if (fileio_write_all(ob->fd, ob->buf, ob->len) == -1) {
		snprintf(why, whylen, "%s/%020" PRIu64 ".out: cannot write: %s",
		    ob->dir, ob->num, strerror(errno));
		/*
		 * Take back what was written of it; failing that, leave it
		 * as a torn end (readers stop there) and go on in a new file.
		 */
		if (ftruncate(ob->fd, (off_t)ob->size) == -1) {
			close(ob->fd);
			ob->fd = -1;
			ob->size = file_max(ob) + 1;
		}
		return -1;
	}
	ob->size += ob->len;
	ob->len = 0;
	ob->last_time = ob->buf_time;
	return 0;
}

/* The time of file num's first frame into *t: 0, or -1 (left as is). */
static int
first_time(struct outbox *ob, uint64_t num, time_t *t)
{
	unsigned char	hdr[HDR];
	char		name[32];
	int		fd, rc = -1;

	file_name(num, name, sizeof(name));
	if ((fd = openat(ob->dirfd, name, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		return -1;
	if (pread(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr)) {
		*t = (time_t)(int64_t)be_get64(hdr + 17);
		rc = 0;
	}
	close(fd);
	return rc;
}

/*
 * Delete the files past the bounds, oldest first, leaving reserve bytes
 * of room under max (for the file about to be started).
 */
static int
prune_to(struct outbox *ob, time_t now, uint64_t reserve)
{
	struct stat	 st;
	uint64_t	*nums = NULL, total = 0, *sizes = NULL;
	time_t		*newest = NULL;
	char		 name[32];
	size_t		 n, i;
	int		 rc = -1;

	if (list_files(ob->dirfd, &nums, &n) == -1) {
		log_error("%s: %s", ob->dir, strerror(errno));
		return -1;
	}
	if (n > 0 && ((sizes = calloc(n, sizeof(*sizes))) == NULL ||
	    (newest = calloc(n, sizeof(*newest))) == NULL)) {
		log_error("%s: out of memory", ob->dir);
		goto out;
	}
	for (i = 0; i < n; i++) {
		file_name(nums[i], name, sizeof(name));
		if (fstatat(ob->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			sizes[i] = (uint64_t)st.st_size;
			newest[i] = st.st_mtime;
			total += sizes[i];
		}
	}
	/*
	 * A file's age is its newest frame's, and every frame of a file is
	 * older than the first of the next one; the newest file's is the
	 * last written.  The frames carry the clock that stamped them
	 * (the one tests move); the files' modification times stand in
	 * only where a first frame cannot be read.
	 */
	for (i = 0; i < n; i++) {
		if (i + 1 < n)
			(void)first_time(ob, nums[i + 1], &newest[i]);
		else if (nums[i] == ob->num && ob->last_time != 0)
			newest[i] = ob->last_time;
	}
	/*
	 * Oldest first: too old, or the outbox too large.  The file being
	 * appended to goes only when even it is too old (nothing was sent
	 * for keep): appends then start a new one.
	 */
	for (i = 0; i < n; i++) {
		if (!(newest[i] < now - (time_t)ob->keep || (total + reserve >
		    ob->max && nums[i] != ob->num)))
			continue;
		file_name(nums[i], name, sizeof(name));
		if (unlinkat(ob->dirfd, name, 0) == -1 && errno != ENOENT) {
			log_error("%s/%s: cannot delete: %s", ob->dir, name,
			    strerror(errno));
			continue;
		}
		log_info("%s/%s: %" PRIu64 " bytes of records sent %s dropped",
		    ob->dir, name, sizes[i],
		    newest[i] < now - (time_t)ob->keep ?
		    "longer ago than outbox_keep" : "past outbox_max");
		total -= sizes[i];
		if (nums[i] == ob->num && ob->fd != -1) {
			close(ob->fd);
			ob->fd = -1;
			ob->size = file_max(ob) + 1;	/* a new file next */
		}
	}
	rc = 0;
out:
	free(nums);
	free(sizes);
	free(newest);
	return rc;
}

int
outbox_prune(struct outbox *ob, time_t now)
{
	return prune_to(ob, now, 0);
}
