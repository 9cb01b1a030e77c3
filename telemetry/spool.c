/*
 * spool.c - the gateway's durable telemetry spool: segment files of
 * CRC-checked frames, a synced cursor, group commit and a size bound.
 *
 * DIR holds segment files, each named for the sequence number it was
 * created with ("%020llu.seg": its first record's, or lower once health
 * records were dropped from it), and a cursor file.  A segment is a run
 * of frames, integers big-endian:
 *
 *	u32	length		of the payload, 1..RECORD_MAX
 *	u32	crc		CRC-32C of everything below
 *	u64	seq		strictly increasing across the spool
 *	u8	class		enum record_class
 *	i64	time		append time, seconds since the epoch
 *		payload		the record's JSON text
 *
 * The cursor file holds five lines: "acked N" (every record <= N is in
 * the relay's store), "last N" (no sequence number above N was handed
 * out when it was written), "dropped N" (health records dropped for
 * room since the spool was created), "base N" and "fresh 0|1" (below).
 * A cursor of only the first three lines is read as base 0, fresh 0.
 *
 * Numbers in files are the spool's own; the numbers the relay sees are
 * those plus base.  A spool created in an empty directory is fresh: it
 * cannot know which numbers the relay already holds for this cluster
 * (state_dir was wiped, or this is a new machine for the cluster).
 * spool_align() places it after the relay's and clears fresh; it also
 * moves a spool whose newest number is below the relay's (restored
 * from an old copy).  Only base changes: nothing is rewritten.
 *
 * Durability, each rule enforced where it is stated:
 *   - spool_append() only writes; spool_sync() makes every append so
 *     far durable with one fdatasync (group commit).  Only durable
 *     records are visible to spool_read(), so a sequence number never
 *     leaves the machine before it is durable, and a crash can never
 *     make the spool hand the same number to a different record.
 *   - The cursor is replaced atomically and synced before a segment it
 *     makes obsolete is deleted.  Otherwise it is rewritten at most
 *     once a CURSOR_LAZY_MS and when the spool is closed: after a crash
 *     the records acknowledged since are sent again, and the relay
 *     drops them as duplicates by sequence number.  (Writing it for
 *     every acknowledgement cost the drain two syncs per batch.)
 *   - To drop records, a segment is copied into a new file without
 *     them, and that file is synced before it is renamed over the old
 *     one: a crash leaves one whole version or the other.
 *
 * Memory stays small whatever the spool holds: a few counters for each
 * segment, and the frame index of one segment at a time, loaded when an
 * acknowledgement or a read starts in the middle of that segment.
 */
#include "telemetry/spool.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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

#define FRAME_HDR	25		/* length, crc, seq, class, time */
#define FRAME_CRC_FROM	8		/* the crc covers seq onwards */
#define FRAME_BIG	(FRAME_HDR + RECORD_MAX)
#define READ_CHUNK	(256 * 1024)	/* holds any frame whole */
#define CURSOR_LAZY_MS	1000		/* the cursor may lag acks this long */
#define SEG_NAME_LEN	24		/* 20 digits and ".seg" */
#define SEG_FILE_MAX	32		/* a segment's file name, ".tmp" too */
#define CURSOR		"cursor"
#define CURSOR_TMP	"cursor.tmp"
#define CURSOR_MAX	128		/* bytes of a cursor file */

/* One segment file: what the spool knows about it without reading it. */
struct seg {
	uint64_t	 name;		/* the seq in its file name */
	uint64_t	 first;		/* seq of its first frame */
	uint64_t	 last;		/* seq of its last frame */
	time_t		 first_time;	/* append time of its first frame */
	uint64_t	 nframes;
	uint64_t	 unacked;	/* frames above the cursor */
	uint64_t	 health_bytes;	/* frames holding health records */
	off_t		 end;		/* end of the last good frame */
	off_t		 size;		/* on disk; past end is damage */
};

/* A frame as read back; raw points into the reader's buffer. */
struct frame {
	uint64_t	 seq;
	int64_t		 time;
	uint8_t		 cls;
	uint32_t	 len;		/* of the payload */
	const char	*raw;		/* the header, then the payload */
	off_t		 off;		/* of the header in the file */
};

/* Reads one segment's frames in order, a chunk at a time. */
struct reader {
	int		 fd;
	off_t		 off;		/* the next frame */
	off_t		 end;		/* no frame reaches past this */
	char		*buf;		/* READ_CHUNK bytes */
	off_t		 bufoff;	/* file offset of buf[0] */
	size_t		 buflen;
	const char	*err;		/* why a frame was refused */
};

/* One frame of the indexed segment. */
struct ient {
	uint64_t	 seq;
	int64_t		 time;
	off_t		 off;
	uint32_t	 len;
	uint8_t		 cls;
};

/* The open spool. */
struct spool {
	char		 dir[4096];
	int		 dirfd;
	uint64_t	 max_bytes;
	struct seg	*segs;		/* oldest first */
	size_t		 nsegs, capsegs;
	int		 afd;		/* the last segment's, when appending */
	int		 adirty;	/* appended to since its fdatasync */
	int		 ddirty;	/* a segment created since dir fsync */
	int		 broken;	/* a write failed: refuse more */
	uint64_t	 last_seq;	/* handed out */
	uint64_t	 synced_seq;	/* durable, so readable */
	uint64_t	 acked;
	uint64_t	 cursor_acked;	/* what the cursor file says */
	uint64_t	 cursor_ms;	/* when it was written */
	uint64_t	 dropped;	/* health records, ever */
	uint64_t	 base;		/* added to every seq the caller sees */
	int		 fresh;		/* not yet aligned with the relay */
	uint64_t	 depth;
	uint64_t	 bytes;
	time_t		 oldest;
	struct ient	*idx;		/* frames of segment idx_name */
	size_t		 nidx, capidx;
	uint64_t	 idx_name;	/* 0: no index loaded */
	int		 rfd;		/* open on segment rfd_name */
	uint64_t	 rfd_name;
	uint64_t	 hint_seq;	/* the last record read ... */
	uint64_t	 hint_name;	/* ... its segment ... */
	off_t		 hint_off;	/* ... and the offset after it */
	char		*rbuf;		/* READ_CHUNK, for every reader */
	char		*wbuf;		/* FRAME_BIG: the frame to append */
};



static void
seg_file(uint64_t name, int tmp, char *buf, size_t len)
{
	snprintf(buf, len, "%020" PRIu64 ".seg%s", name, tmp ? ".tmp" : "");
}

/* "123...0.seg" -> 123; 0 if the name is not a segment's. */
static uint64_t
seg_name_parse(const char *s)
{
	char		 digits[SEG_NAME_LEN - 3];
	uint64_t	 v;

	if (strlen(s) != SEG_NAME_LEN || strcmp(s + 20, ".seg") != 0)
		return 0;
	memcpy(digits, s, 20);
	digits[20] = '\0';
	if (parse_uint(digits, 1, UINT64_MAX, &v) == -1)
		return 0;
	return v;
}

static void
reader_init(struct reader *rd, char *buf, int fd, off_t off, off_t end)
{
	rd->fd = fd;
	rd->off = off;
	rd->end = end;
	rd->buf = buf;
	rd->bufoff = off;
	rd->buflen = 0;
	rd->err = NULL;
}

/* Refill the buffer from rd->off on.  0, or -1 on an I/O error. */
static int
reader_fill(struct reader *rd)
{
	size_t	 want = READ_CHUNK;
	ssize_t	 n;

	if ((off_t)want > rd->end - rd->off)
		want = (size_t)(rd->end - rd->off);
	rd->bufoff = rd->off;
	rd->buflen = 0;
	while (rd->buflen < want) {
		n = pread(rd->fd, rd->buf + rd->buflen, want - rd->buflen,
		    rd->bufoff + (off_t)rd->buflen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;	/* shorter than we were told: a cut frame */
		rd->buflen += (size_t)n;
	}
	return 0;
}

/* Bytes buffered from rd->off on. */
static size_t
reader_avail(const struct reader *rd)
{
	off_t stop = rd->bufoff + (off_t)rd->buflen;

	return rd->off < stop ? (size_t)(stop - rd->off) : 0;
}

/*
 * The next frame: 1 with *f, 0 at the end, -1 for a frame that is cut
 * short or damaged (rd->err says how, rd->off stays at its start), -2
 * on an I/O error (errno says which).
 */
static int
reader_next(struct reader *rd, struct frame *f)
{
	const unsigned char	*p;
	uint32_t		 len;
	size_t			 flen;

	if (rd->off >= rd->end)
		return 0;
	if (reader_avail(rd) < FRAME_HDR && reader_fill(rd) == -1)
		return -2;
	if (reader_avail(rd) < FRAME_HDR) {
		rd->err = "frame header cut short";
		return -1;
	}
	p = (const unsigned char *)rd->buf + (rd->off - rd->bufoff);
	len = be_get32(p);
	if (len == 0 || len > RECORD_MAX) {
		rd->err = "frame length out of bounds";
		return -1;
	}
	flen = FRAME_HDR + (size_t)len;
	if ((off_t)flen > rd->end - rd->off) {
		rd->err = "frame cut short";
		return -1;
	}
	if (reader_avail(rd) < flen) {
		if (reader_fill(rd) == -1)
			return -2;
		if (reader_avail(rd) < flen) {
			rd->err = "frame cut short";
			return -1;
		}
		p = (const unsigned char *)rd->buf;
	}
	if (be_get32(p + 4) != crc32c(p + FRAME_CRC_FROM,
	    flen - FRAME_CRC_FROM)) {
		rd->err = "checksum mismatch";
		return -1;
	}
	if (p[16] < RECORD_USAGE || p[16] > RECORD_HEALTH) {
		rd->err = "unknown record class";
		return -1;
	}
	f->seq = be_get64(p + 8);
	f->cls = p[16];
	f->time = (int64_t)be_get64(p + 17);
	f->len = len;
	f->raw = (const char *)p;
	f->off = rd->off;
	rd->off += (off_t)flen;
	return 1;
}

/* Count one good frame into seg. */
static void
seg_add(const struct spool *sp, struct seg *seg, uint64_t seq, time_t t,
    int cls, uint32_t len)
{
	if (seg->nframes == 0) {
		seg->first = seq;
		seg->first_time = t;
	}
	seg->last = seq;
	seg->nframes++;
	if (seq > sp->acked)
		seg->unacked++;
	if (cls == RECORD_HEALTH)
		seg->health_bytes += FRAME_HDR + len;
	seg->end += FRAME_HDR + len;
}

static int
seg_push(struct spool *sp, uint64_t name)
{
	struct seg	*p;
	size_t		 n;

	if (sp->nsegs == sp->capsegs) {
		n = sp->capsegs == 0 ? 16 : sp->capsegs * 2;
		if ((p = reallocarray(sp->segs, n, sizeof(*p))) == NULL)
			return -1;
		sp->segs = p;
		sp->capsegs = n;
	}
	memset(&sp->segs[sp->nsegs], 0, sizeof(*sp->segs));
	sp->segs[sp->nsegs++].name = name;
	return 0;
}

/* Segment i by name, or sp->nsegs. */
static size_t
seg_find(const struct spool *sp, uint64_t name)
{
	size_t lo = 0, hi = sp->nsegs, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (sp->segs[mid].name < name)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < sp->nsegs && sp->segs[lo].name == name ? lo : sp->nsegs;
}

/* The file of segment name changed or went: forget what points into it. */
static void
seg_changed(struct spool *sp, uint64_t name)
{
	if (sp->idx_name == name)
		sp->idx_name = 0;
	if (sp->hint_name == name)
		sp->hint_name = 0;
	if (sp->rfd_name == name) {
		close(sp->rfd);
		sp->rfd = -1;
		sp->rfd_name = 0;
	}
}

/* Forget segment i, whose file is gone, keeping the totals right. */
static void
seg_forget(struct spool *sp, size_t i)
{
	struct seg *seg = &sp->segs[i];

	sp->bytes -= (uint64_t)seg->size;
	sp->depth -= seg->unacked;
	seg_changed(sp, seg->name);
	if (i == sp->nsegs - 1 && sp->afd != -1) {
		close(sp->afd);
		sp->afd = -1;
		sp->adirty = 0;
	}
	memmove(seg, seg + 1, (sp->nsegs - i - 1) * sizeof(*seg));
	sp->nsegs--;
}

/*
 * Delete segment i.  A failure is only logged: every record in a
 * segment we delete is acknowledged or empty, and a leftover is found
 * and deleted again on the next open.
 */
static void
seg_unlink(struct spool *sp, size_t i)
{
	char name[SEG_FILE_MAX];

	seg_file(sp->segs[i].name, 0, name, sizeof(name));
	if (unlinkat(sp->dirfd, name, 0) == -1 && errno != ENOENT)
		log_warn("%s/%s: cannot delete: %s", sp->dir, name,
		    strerror(errno));
	seg_forget(sp, i);
}

static int
index_push(struct spool *sp, const struct frame *f)
{
	struct ient	*p;
	size_t		 n;

	if (sp->nidx == sp->capidx) {
		n = sp->capidx == 0 ? 1024 : sp->capidx * 2;
		if ((p = reallocarray(sp->idx, n, sizeof(*p))) == NULL)
			return -1;
		sp->idx = p;
		sp->capidx = n;
	}
	p = &sp->idx[sp->nidx++];
	p->seq = f->seq;
	p->time = f->time;
	p->off = f->off;
	p->len = f->len;
	p->cls = f->cls;
	return 0;
}

/* Load the frame index of segment i, unless it is the one loaded. */
static int
index_load(struct spool *sp, size_t i)
{
	struct seg	*seg = &sp->segs[i];
	struct reader	 rd;
	struct frame	 f;
	char		 name[SEG_FILE_MAX];
	int		 fd, r;

	if (sp->idx_name == seg->name)
		return 0;
	sp->idx_name = 0;
	sp->nidx = 0;
	seg_file(seg->name, 0, name, sizeof(name));
	if ((fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		log_error("%s/%s: cannot open: %s", sp->dir, name,
		    strerror(errno));
		return -1;
	}
	reader_init(&rd, sp->rbuf, fd, 0, seg->end);
	while ((r = reader_next(&rd, &f)) == 1)
		if (index_push(sp, &f) == -1) {
			rd.err = "out of memory";
			r = -1;
			break;
		}
	if (r != 0)
		log_error("%s/%s: cannot index at offset %lld: %s", sp->dir,
		    name, (long long)rd.off,
		    r == -2 ? strerror(errno) : rd.err);
	close(fd);
	if (r != 0)
		return -1;
	sp->idx_name = seg->name;
	return 0;
}

/* The position in the index of the first frame above seq. */
static size_t
index_upper(const struct spool *sp, uint64_t seq)
{
	size_t lo = 0, hi = sp->nidx, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (sp->idx[mid].seq <= seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* How many frames of segment i are at or below seq, into *n. */
static int
count_upto(struct spool *sp, size_t i, uint64_t seq, uint64_t *n)
{
	const struct seg *seg = &sp->segs[i];

	if (seg->first > seq)
		*n = 0;
	else if (seg->last <= seq)
		*n = seg->nframes;
	else if (index_load(sp, i) == -1)
		return -1;
	else
		*n = index_upper(sp, seq);
	return 0;
}

/* The append time of the oldest unacknowledged record, or 0. */
static void
find_oldest(struct spool *sp)
{
	size_t i, j;

	sp->oldest = 0;
	for (i = 0; i < sp->nsegs; i++) {
		if (sp->segs[i].unacked == 0)
			continue;
		if (sp->segs[i].first > sp->acked) {
			sp->oldest = sp->segs[i].first_time;
			return;
		}
		if (index_load(sp, i) == -1)
			return;
		if ((j = index_upper(sp, sp->acked)) < sp->nidx)
			sp->oldest = sp->idx[j].time;
		return;
	}
}

/* Read DIR/cursor: 0, 1 if there is none, or -1. */
static int
cursor_read(struct spool *sp, uint64_t *last, char *err, size_t errlen)
{
	static const char *const keys[] = { "acked", "last", "dropped",
	    "base", "fresh" };
	char		 buf[CURSOR_MAX + 1], *line, *nl, *val;
	uint64_t	 v[5] = { 0, 0, 0, 0, 0 };
	size_t		 len = 0, i;
	ssize_t		 n;
	int		 fd;

	if ((fd = openat(sp->dirfd, CURSOR, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		if (errno == ENOENT)
			return 1;
		log_reason(err, errlen, "%s/%s: cannot open: %s", sp->dir,
		    CURSOR, strerror(errno));
		return -1;
	}
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_reason(err, errlen, "%s/%s: cannot read: %s",
			    sp->dir, CURSOR, strerror(errno));
			close(fd);
			return -1;
		}
		len += (size_t)n;
	}
	close(fd);
	if (len == sizeof(buf) - 1)
		goto bad;
	buf[len] = '\0';
	line = buf;
	for (i = 0; i < 5 && !(i == 3 && *line == '\0'); i++) {
		if ((nl = strchr(line, '\n')) == NULL ||
		    (val = strchr(line, ' ')) == NULL || val > nl)
			goto bad;
		*nl = '\0';
		*val++ = '\0';
		if (strcmp(line, keys[i]) != 0 || parse_uint(val, 0, i == 4 ?
		    1 : UINT64_MAX, &v[i]) == -1)
			goto bad;
		line = nl + 1;
	}
	/* Three lines or five, and no number the relay sees may wrap. */
	if (line != buf + len || i == 4 || v[1] > INT64_MAX ||
	    v[3] > (uint64_t)INT64_MAX - v[1])
		goto bad;
	sp->acked = sp->cursor_acked = v[0];
	*last = v[1];
	sp->dropped = v[2];
	sp->base = v[3];
	sp->fresh = (int)v[4];
	return 0;
bad:
	/* Guessing would resend or, worse, reuse sequence numbers. */
	log_reason(err, errlen, "%s/%s: not a spool cursor; refusing to guess "
	    "what the relay has", sp->dir, CURSOR);
	return -1;
}

/*
 * Replace the cursor: a new file, synced, renamed over the old one,
 * and the directory synced, so a crash leaves the old or the new.
 */
static int
cursor_write(struct spool *sp, uint64_t acked, uint64_t dropped, char *why,
    size_t whylen)
{
	char	buf[CURSOR_MAX];
	int	fd, n;

	n = snprintf(buf, sizeof(buf), "acked %" PRIu64 "\nlast %" PRIu64
	    "\ndropped %" PRIu64 "\nbase %" PRIu64 "\nfresh %d\n", acked,
	    sp->last_seq, dropped, sp->base, sp->fresh);
	if ((fd = openat(sp->dirfd, CURSOR_TMP, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1)
		goto fail;
	if (fileio_write_all(fd, buf, (size_t)n) == -1 || fdatasync(fd) == -1) {
		close(fd);
		goto fail;
	}
	if (close(fd) == -1 ||
	    renameat(sp->dirfd, CURSOR_TMP, sp->dirfd, CURSOR) == -1 ||
	    fsync(sp->dirfd) == -1)
		goto fail;
	sp->cursor_acked = acked;
	sp->cursor_ms = clock_mono_ms();
	return 0;
fail:
	log_reason(why, whylen, "%s/%s: cannot write: %s", sp->dir, CURSOR,
	    strerror(errno));
	return -1;
}

/*
 * Validate every frame of segment seg and count it.  Frames end at the
 * first one that is cut short, damaged or out of sequence.  In the last
 * segment that is where a crash tore an append, and the rest is cut off
 * so appends can go on; in an older one it is damage, which is reported
 * and left for an operator to look at.  prev is the sequence number of
 * the frame before.
 */
static int
seg_scan(struct spool *sp, struct seg *seg, int last, uint64_t *prev,
    char *err, size_t errlen)
{
	struct reader	 rd;
	struct frame	 f;
	struct stat	 st;
	char		 name[SEG_FILE_MAX];
	int		 fd, r, rc = -1;

	seg_file(seg->name, 0, name, sizeof(name));
	if ((fd = openat(sp->dirfd, name, O_RDWR | O_CLOEXEC |
	    O_NOFOLLOW)) == -1 || fstat(fd, &st) == -1) {
		log_reason(err, errlen, "%s/%s: cannot open: %s", sp->dir, name,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		log_reason(err, errlen, "%s/%s: not a regular file", sp->dir,
		    name);
		goto out;
	}
	reader_init(&rd, sp->rbuf, fd, 0, st.st_size);
	while ((r = reader_next(&rd, &f)) == 1) {
		if (f.seq <= *prev || f.seq < seg->name) {
			rd.err = "sequence number out of order";
			rd.off = f.off;
			r = -1;
			break;
		}
		if (f.seq > sp->acked && sp->depth == 0)
			sp->oldest = (time_t)f.time;
		seg_add(sp, seg, f.seq, (time_t)f.time, f.cls, f.len);
		if (f.seq > sp->acked)
			sp->depth++;
		*prev = f.seq;
	}
	if (r == -2) {
		log_reason(err, errlen, "%s/%s: cannot read: %s", sp->dir,
		    name, strerror(errno));
		goto out;
	}
	seg->size = st.st_size;
	if (r == -1 && last) {
		log_warn("%s/%s: %s at offset %lld: cutting the %lld bytes "
		    "from there (an append torn by a crash, or damage)",
		    sp->dir, name, rd.err, (long long)rd.off,
		    (long long)(st.st_size - rd.off));
		if (ftruncate(fd, rd.off) == -1) {
			log_reason(err, errlen, "%s/%s: cannot cut the torn "
			    "tail: %s", sp->dir, name, strerror(errno));
			goto out;
		}
		seg->size = rd.off;
	} else if (r == -1)
		log_error("%s/%s: %s at offset %lld: the %lld bytes from "
		    "there cannot be read, and their records are lost",
		    sp->dir, name, rd.err, (long long)rd.off,
		    (long long)(st.st_size - rd.off));
	/*
	 * What an earlier process wrote may still be only in the page
	 * cache.  Make it durable before the uplink may send it, so that
	 * no sequence number read here can be lost and handed out again.
	 */
	if (fdatasync(fd) == -1) {
		log_reason(err, errlen, "%s/%s: cannot sync: %s", sp->dir, name,
		    strerror(errno));
		goto out;
	}
	sp->bytes += (uint64_t)seg->size;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	return rc;
}

static int
seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	return x->name < y->name ? -1 : x->name > y->name;
}

/* Find the segment files, and remove temporary files a crash left. */
static int
seg_list(struct spool *sp, char *err, size_t errlen)
{
	struct dirent	*de;
	DIR		*d;
	uint64_t	 name;
	size_t		 len;
	int		 fd, rc = -1;

	if ((fd = dup(sp->dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		log_reason(err, errlen, "%s: cannot list: %s", sp->dir,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	rewinddir(d);
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if ((name = seg_name_parse(de->d_name)) != 0) {
			if (seg_push(sp, name) == -1) {
				log_reason(err, errlen, "%s: out of memory",
				    sp->dir);
				goto out;
			}
		} else if (strcmp(de->d_name, CURSOR_TMP) == 0 ||
		    (len == SEG_NAME_LEN + 4 &&
		    strcmp(de->d_name + SEG_NAME_LEN, ".tmp") == 0)) {
			/* An unfinished rewrite: the original is whole. */
			if (unlinkat(sp->dirfd, de->d_name, 0) == -1)
				log_warn("%s/%s: cannot delete: %s", sp->dir,
				    de->d_name, strerror(errno));
		}
		errno = 0;
	}
	if (errno != 0) {
		log_reason(err, errlen, "%s: cannot list: %s", sp->dir,
		    strerror(errno));
		goto out;
	}
	if (sp->nsegs > 1)
		qsort(sp->segs, sp->nsegs, sizeof(*sp->segs), seg_cmp);
	rc = 0;
out:
	closedir(d);
	return rc;
}

/*
 * Bring the spool back as the last process left it: check every frame,
 * cut a torn tail, delete segments with nothing left to send (but keep
 * the last one to append to), and carry on the sequence numbers.
 */
static int
spool_load(struct spool *sp, char *err, size_t errlen)
{
	struct seg	*seg;
	uint64_t	 floor = 0, prev = 0;
	size_t		 i;
	char		 name[SEG_FILE_MAX];
	int		 none;

	if ((none = cursor_read(sp, &floor, err, errlen)) == -1 ||
	    seg_list(sp, err, errlen) == -1)
		return -1;
	/*
	 * An empty directory is a new spool, fresh until it is aligned -
	 * and it says so in a cursor at once, before a record goes in.
	 * Segments without a cursor are an old spool that lost its cursor:
	 * its numbers are its own, and it sends everything again.
	 */
	if (none && sp->nsegs == 0) {
		sp->fresh = 1;
		if (cursor_write(sp, 0, 0, err, errlen) == -1)
			return -1;
	}
	for (i = 0; i < sp->nsegs; i++)
		if (seg_scan(sp, &sp->segs[i], i == sp->nsegs - 1, &prev,
		    err, errlen) == -1)
			return -1;
	for (i = 0; i < sp->nsegs;) {
		seg = &sp->segs[i];
		if (seg->nframes == 0 ||
		    (i < sp->nsegs - 1 && seg->last <= sp->acked)) {
			if (seg->nframes == 0 && seg->size > 0)
				log_warn("%s: deleting segment %" PRIu64
				    ": not one good frame", sp->dir,
				    seg->name);
			seg_unlink(sp, i);
			continue;
		}
		i++;
	}
	if (fsync(sp->dirfd) == -1) {
		log_reason(err, errlen, "%s: cannot sync: %s", sp->dir,
		    strerror(errno));
		return -1;
	}
	/*
	 * Numbers go on from the newest frame, or from the cursor when
	 * that frame went with its segment (acknowledged, or dropped).
	 */
	sp->last_seq = prev;
	if (sp->acked > sp->last_seq)
		sp->last_seq = sp->acked;
	if (floor > sp->last_seq)
		sp->last_seq = floor;
	sp->synced_seq = sp->last_seq;
	if (sp->nsegs == 0)
		return 0;
	seg_file(sp->segs[sp->nsegs - 1].name, 0, name, sizeof(name));
	if ((sp->afd = openat(sp->dirfd, name, O_WRONLY | O_APPEND |
	    O_CLOEXEC | O_NOFOLLOW)) == -1) {
		log_reason(err, errlen, "%s/%s: cannot open: %s", sp->dir, name,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
spool_open(const char *dir, uint64_t max_bytes, struct spool **out,
    char *err, size_t errlen)
{
	struct spool *sp;

	if ((sp = calloc(1, sizeof(*sp))) == NULL) {
		log_reason(err, errlen, "%s: out of memory", dir);
		return -1;
	}
	sp->dirfd = sp->afd = sp->rfd = -1;
	if ((size_t)snprintf(sp->dir, sizeof(sp->dir), "%s", dir) >=
	    sizeof(sp->dir)) {
		log_reason(err, errlen, "%s: path too long", dir);
		goto fail;
	}
	if (max_bytes < FRAME_BIG) {
		log_reason(err, errlen, "%s: a spool of %" PRIu64 " bytes "
		    "cannot hold a record of %d", dir, max_bytes, RECORD_MAX);
		goto fail;
	}
	sp->max_bytes = max_bytes;
	if ((sp->rbuf = malloc(READ_CHUNK)) == NULL ||
	    (sp->wbuf = malloc(FRAME_BIG)) == NULL) {
		log_reason(err, errlen, "%s: out of memory", dir);
		goto fail;
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_reason(err, errlen, "%s: cannot create: %s", dir,
		    strerror(errno));
		goto fail;
	}
	/*
	 * Sync the directory first: a cursor renamed just before a crash
	 * must be durable before it is trusted to delete anything.
	 */
	if ((sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || fsync(sp->dirfd) == -1) {
		log_reason(err, errlen, "%s: cannot open: %s", dir,
		    strerror(errno));
		goto fail;
	}
	if (spool_load(sp, err, errlen) == -1)
		goto fail;
	*out = sp;
	return 0;
fail:
	spool_close(sp);
	return -1;
}

void
spool_close(struct spool *sp)
{
	char	why[512];

	if (sp == NULL)
		return;
	if (sp->acked > sp->cursor_acked && sp->dirfd != -1 &&
	    cursor_write(sp, sp->acked, sp->dropped, why, sizeof(why)) == -1)
		log_warn("%s (records up to %" PRIu64 " will be sent again)",
		    why, sp->base + sp->acked);
	if (sp->afd != -1)
		close(sp->afd);
	if (sp->rfd != -1)
		close(sp->rfd);
	if (sp->dirfd != -1)
		close(sp->dirfd);
	free(sp->segs);
	free(sp->idx);
	free(sp->rbuf);
	free(sp->wbuf);
	free(sp);
}

/*
 * Start a new segment for seq.  The one appended to so far is synced
 * now, since spool_sync() only syncs the segment it appends to.
 */
static int
seg_create(struct spool *sp, uint64_t seq, char *why, size_t whylen)
{
	char	name[SEG_FILE_MAX];
	int	fd;

	seg_file(seq, 0, name, sizeof(name));
	if (sp->afd != -1) {
		if (sp->adirty && fdatasync(sp->afd) == -1) {
			log_reason(why, whylen, "%s: cannot sync: %s", sp->dir,
			    strerror(errno));
			sp->broken = 1;
			return -1;
		}
		close(sp->afd);
		sp->afd = -1;
		sp->adirty = 0;
	}
	if (seg_push(sp, seq) == -1) {
		log_reason(why, whylen, "%s: out of memory", sp->dir);
		return -1;
	}
	if ((fd = openat(sp->dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
		log_reason(why, whylen, "%s/%s: cannot create: %s", sp->dir,
		    name, strerror(errno));
		sp->nsegs--;
		return -1;
	}
	sp->afd = fd;
	sp->ddirty = 1;
	return 0;
}

/*
 * How many bytes could be freed for a new frame, counting up to need:
 * frames the relay already has, damaged tails, and for a health record
 * unacknowledged health records.  -1 if a segment cannot be indexed.
 */
static int
reclaimable(struct spool *sp, int health, uint64_t need, uint64_t *can)
{
	const struct seg	*seg;
	size_t			 i, j;

	*can = 0;
	for (i = 0; i < sp->nsegs && *can < need; i++) {
		seg = &sp->segs[i];
		*can += (uint64_t)(seg->size - seg->end);
		if (seg->first > sp->acked) {
			if (health)
				*can += seg->health_bytes;
			continue;
		}
		if (seg->last <= sp->acked) {
			*can += (uint64_t)seg->end;
			continue;
		}
		if (index_load(sp, i) == -1)
			return -1;
		for (j = 0; j < sp->nidx; j++)
			if (sp->idx[j].seq <= sp->acked ||
			    (health && sp->idx[j].cls == RECORD_HEALTH))
				*can += FRAME_HDR + sp->idx[j].len;
	}
	return 0;
}

/* Write a segment's new contents to its temporary file, synced. */
static int
seg_write_tmp(struct spool *sp, const char *tmp, const char *buf, size_t len,
    char *why, size_t whylen)
{
	int fd;

	if ((fd = openat(sp->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1)
		goto fail;
	if (fileio_write_all(fd, buf, len) == -1 || fdatasync(fd) == -1) {
		close(fd);
		goto fail;
	}
	if (close(fd) == -1)
		goto fail;
	return 0;
fail:
	log_reason(why, whylen, "%s/%s: cannot write: %s", sp->dir, tmp,
	    strerror(errno));
	unlinkat(sp->dirfd, tmp, 0);
	return -1;
}

/*
 * Put the rewritten segment i in place: the cursor first when health
 * records were dropped (it carries the drop count and the highest
 * sequence number handed out, which must survive the segment that held
 * it), then the new file over the old, or no file if nothing is left.
 */
static int
seg_replace(struct spool *sp, size_t i, size_t len, uint64_t dropped,
    char *why, size_t whylen)
{
	char name[SEG_FILE_MAX], tmp[SEG_FILE_MAX];

	seg_file(sp->segs[i].name, 0, name, sizeof(name));
	seg_file(sp->segs[i].name, 1, tmp, sizeof(tmp));
	if (dropped > 0 && cursor_write(sp, sp->acked, sp->dropped + dropped,
	    why, whylen) == -1) {
		if (len > 0)
			unlinkat(sp->dirfd, tmp, 0);
		return -1;
	}
	if (len > 0 ? renameat(sp->dirfd, tmp, sp->dirfd, name) == -1 :
	    unlinkat(sp->dirfd, name, 0) == -1) {
		log_reason(why, whylen, "%s/%s: cannot replace: %s", sp->dir,
		    name, strerror(errno));
		if (len > 0)
			unlinkat(sp->dirfd, tmp, 0);
		return -1;
	}
	sp->dropped += dropped;
	if (dropped > 0)
		log_info("%s/%s: dropped the %" PRIu64 " oldest health "
		    "records to make room", sp->dir, name, dropped);
	return 0;
}

/*
 * Rewrite segment i without the frames the relay already has, without
 * a damaged tail and, while fewer than need bytes are freed and health
 * is set, without its oldest unacknowledged health records.  Returns 1
 * if the segment is gone, 0 if it stays, -1 on an error.
 */
static int
seg_rewrite(struct spool *sp, size_t i, int health, uint64_t need,
    char *why, size_t whylen)
{
	struct seg	*seg = &sp->segs[i], nseg;
	struct reader	 rd;
	struct frame	 f;
	char		 name[SEG_FILE_MAX], tmp[SEG_FILE_MAX], *out = NULL;
	uint64_t	 freed, dropped = 0;
	size_t		 len = 0, flen;
	int		 fd, r, rc = -1;

	if (seg->first > sp->acked && seg->end == seg->size &&
	    (!health || seg->health_bytes == 0))
		return 0;
	seg_file(seg->name, 0, name, sizeof(name));
	seg_file(seg->name, 1, tmp, sizeof(tmp));
	if ((out = malloc((size_t)seg->end)) == NULL) {
		log_reason(why, whylen, "%s: out of memory", sp->dir);
		return -1;
	}
	if ((fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		log_reason(why, whylen, "%s/%s: cannot open: %s", sp->dir, name,
		    strerror(errno));
		goto out;
	}
	memset(&nseg, 0, sizeof(nseg));
	nseg.name = seg->name;
	freed = (uint64_t)(seg->size - seg->end);
	reader_init(&rd, sp->rbuf, fd, 0, seg->end);
	while ((r = reader_next(&rd, &f)) == 1) {
		flen = FRAME_HDR + f.len;
		if (f.seq > sp->acked && !(health && f.cls == RECORD_HEALTH &&
		    freed < need)) {
			memcpy(out + len, f.raw, flen);
			len += flen;
			seg_add(sp, &nseg, f.seq, (time_t)f.time, f.cls, f.len);
			continue;
		}
		if (f.seq > sp->acked)
			dropped++;
		freed += flen;
	}
	close(fd);
	if (r != 0) {
		log_reason(why, whylen, "%s/%s: offset %lld: %s", sp->dir, name,
		    (long long)rd.off, r == -2 ? strerror(errno) : rd.err);
		goto out;
	}
	if ((len > 0 && seg_write_tmp(sp, tmp, out, len, why, whylen) == -1) ||
	    seg_replace(sp, i, len, dropped, why, whylen) == -1)
		goto out;
	seg_changed(sp, seg->name);
	if (len == 0) {
		seg_forget(sp, i);
		rc = 1;
	} else {
		sp->bytes -= (uint64_t)seg->size - len;
		sp->depth -= seg->unacked - nseg.unacked;
		nseg.size = nseg.end;
		*seg = nseg;
		rc = 0;
		if (i == sp->nsegs - 1 && sp->afd != -1) {
			close(sp->afd);
			if ((sp->afd = openat(sp->dirfd, name, O_WRONLY |
			    O_APPEND | O_CLOEXEC | O_NOFOLLOW)) == -1) {
				log_reason(why, whylen,
				    "%s/%s: cannot reopen: %s", sp->dir, name,
				    strerror(errno));
				sp->broken = 1;
				rc = -1;
			}
		}
	}
	if (fsync(sp->dirfd) == -1 && rc != -1) {
		log_reason(why, whylen, "%s: cannot sync: %s", sp->dir,
		    strerror(errno));
		sp->broken = 1;
		rc = -1;
	}
out:
	free(out);
	return rc;
}

/*
 * Free room for a frame of flen bytes, oldest segment first: frames the
 * relay already has may always go, and so may the oldest
 * unacknowledged health records (health is "latest wins"; usage and
 * events are never dropped, they are refused instead).  Nothing is
 * dropped unless enough room can be made, so a refused record costs no
 * history.  For a usage record or an event a sixteenth of the spool is
 * freed at once, so that a burst of them while the spool is full does
 * not rewrite a segment per record.
 */
static int
make_room(struct spool *sp, size_t flen, int health, char *why,
    size_t whylen)
{
	uint64_t	 can, need, slack, target;
	size_t		 i;
	int		 r;

	need = sp->bytes + flen - sp->max_bytes;
	slack = health ? 0 : sp->max_bytes / 16;
	if (reclaimable(sp, 1, need + slack, &can) == -1) {
		log_reason(why, whylen, "%s: cannot index a segment", sp->dir);
		return -1;
	}
	if (can < need)
		return 0;
	target = need + (can - need < slack ? can - need : slack);
	/* A rewrite copies what is on disk: make every append durable. */
	if (spool_sync(sp, why, whylen) == -1)
		return -1;
	for (i = 0; i < sp->nsegs &&
	    sp->bytes + flen + (target - need) > sp->max_bytes;) {
		r = seg_rewrite(sp, i, 1, sp->bytes + flen + (target - need) -
		    sp->max_bytes, why, whylen);
		if (r == -1)
			return -1;
		if (r == 0)
			i++;
	}
	find_oldest(sp);
	return 0;
}

/* An append failed: take its partial frame back off the segment. */
static void
append_undo(struct spool *sp)
{
	struct seg *seg = &sp->segs[sp->nsegs - 1];

	if (seg->nframes == 0) {
		seg_unlink(sp, sp->nsegs - 1);
		return;
	}
	if (ftruncate(sp->afd, seg->size) == -1) {
		log_error("%s: cannot take back a partial append: %s",
		    sp->dir, strerror(errno));
		sp->broken = 1;
	}
}

int
spool_append(struct spool *sp, enum record_class cls, const char *rec,
    size_t len, time_t now, uint64_t *seq, char *why, size_t whylen)
{
	unsigned char	*p = (unsigned char *)sp->wbuf;
	struct seg	*seg;
	struct frame	 f;
	size_t		 flen = FRAME_HDR + len;
	uint64_t	 s = sp->last_seq + 1;

	if (sp->broken) {
		log_reason(why, whylen, "%s: a write failed; the spool must be "
		    "reopened", sp->dir);
		return -1;
	}
	if (cls < RECORD_USAGE || cls > RECORD_HEALTH) {
		log_reason(why, whylen, "unknown record class %d", (int)cls);
		return -1;
	}
	if (len == 0 || len > RECORD_MAX) {
		log_reason(why, whylen, "record of %zu bytes (1 to %d allowed)",
		    len, RECORD_MAX);
		return -1;
	}
	if (sp->bytes + flen > sp->max_bytes) {
		if (make_room(sp, flen, cls == RECORD_HEALTH, why,
		    whylen) == -1)
			return -1;
		if (sp->bytes + flen > sp->max_bytes) {
			log_reason(why, whylen, "spool full");
			return -1;
		}
	}
	if ((sp->afd == -1 || (uint64_t)sp->segs[sp->nsegs - 1].size + flen >
	    SPOOL_SEGMENT_MAX) && seg_create(sp, s, why, whylen) == -1)
		return -1;
	seg = &sp->segs[sp->nsegs - 1];
	be_put32(p, (uint32_t)len);
	be_put64(p + 8, s);
	p[16] = (unsigned char)cls;
	be_put64(p + 17, (uint64_t)(int64_t)now);
	memcpy(p + FRAME_HDR, rec, len);
	be_put32(p + 4, crc32c(p + FRAME_CRC_FROM, flen - FRAME_CRC_FROM));
	if (fileio_write_all(sp->afd, p, flen) == -1) {
		log_reason(why, whylen,
		    "%s/%020" PRIu64 ".seg: cannot write: %s", sp->dir,
		    seg->name, strerror(errno));
		append_undo(sp);
		return -1;
	}
	if (sp->idx_name == seg->name) {
		f.seq = s;
		f.time = now;
		f.off = seg->end;
		f.len = (uint32_t)len;
		f.cls = (uint8_t)cls;
		if (index_push(sp, &f) == -1)
			sp->idx_name = 0;
	}
	if (sp->depth == 0)
		sp->oldest = now;
	seg_add(sp, seg, s, now, cls, (uint32_t)len);
	seg->size = seg->end;
	sp->adirty = 1;
	sp->bytes += flen;
	sp->depth++;
	sp->last_seq = s;
	*seq = s + sp->base;
	return 0;
}

int
spool_sync(struct spool *sp, char *why, size_t whylen)
{
	/*
	 * After a failed fsync the kernel may have dropped the pages and
	 * marked them clean, so a second fsync could succeed falsely:
	 * refuse everything until the spool is reopened and rescanned.
	 */
	if (sp->broken) {
		log_reason(why, whylen, "%s: a write failed; the spool must be "
		    "reopened", sp->dir);
		return -1;
	}
	if (sp->adirty && fdatasync(sp->afd) == -1) {
		log_reason(why, whylen, "%s: cannot sync: %s", sp->dir,
		    strerror(errno));
		sp->broken = 1;
		return -1;
	}
	sp->adirty = 0;
	if (sp->ddirty && fsync(sp->dirfd) == -1) {
		log_reason(why, whylen, "%s: cannot sync: %s", sp->dir,
		    strerror(errno));
		sp->broken = 1;
		return -1;
	}
	sp->ddirty = 0;
	sp->synced_seq = sp->last_seq;
	return 0;
}

/* Where the first record above after lies: segment *i, offset *off. */
static int
read_start(struct spool *sp, uint64_t after, size_t *i, off_t *off)
{
	size_t j;

	/* Usually the uplink goes on where its last read stopped. */
	if (sp->hint_name != 0 && sp->hint_seq == after &&
	    (*i = seg_find(sp, sp->hint_name)) < sp->nsegs) {
		*off = sp->hint_off;
		return 0;
	}
	for (*i = 0; *i < sp->nsegs && sp->segs[*i].last <= after; (*i)++)
		;
	*off = 0;
	if (*i == sp->nsegs || sp->segs[*i].first > after)
		return 0;
	if (index_load(sp, *i) == -1)
		return -1;
	j = index_upper(sp, after);
	*off = j < sp->nidx ? sp->idx[j].off : sp->segs[*i].end;
	return 0;
}

static int
read_fd(struct spool *sp, size_t i)
{
	char name[SEG_FILE_MAX];

	if (sp->rfd != -1 && sp->rfd_name == sp->segs[i].name)
		return 0;
	if (sp->rfd != -1)
		close(sp->rfd);
	sp->rfd_name = 0;
	seg_file(sp->segs[i].name, 0, name, sizeof(name));
	if ((sp->rfd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		log_error("%s/%s: cannot open: %s", sp->dir, name,
		    strerror(errno));
		return -1;
	}
	sp->rfd_name = sp->segs[i].name;
	return 0;
}

int
spool_read(struct spool *sp, uint64_t after, size_t max, size_t max_bytes,
    spool_visit_fn fn, void *arg)
{
	struct reader	 rd;
	struct frame	 f;
	size_t		 i, n = 0, bytes = 0;
	off_t		 off;
	int		 r;

	after = after > sp->base ? after - sp->base : 0;
	if (after < sp->acked)
		after = sp->acked;
	if (max == 0 || after >= sp->synced_seq)
		return 0;
	if (read_start(sp, after, &i, &off) == -1)
		return -1;
	for (; i < sp->nsegs; i++, off = 0) {
		if (read_fd(sp, i) == -1)
			return -1;
		reader_init(&rd, sp->rbuf, sp->rfd, off, sp->segs[i].end);
		while ((r = reader_next(&rd, &f)) == 1) {
			if (f.seq <= after)
				continue;
			if (f.seq > sp->synced_seq ||
			    (n > 0 && bytes + f.len > max_bytes))
				return (int)n;
			n++;
			bytes += f.len;
			sp->hint_seq = f.seq;
			sp->hint_name = sp->segs[i].name;
			sp->hint_off = rd.off;
			if (fn(arg, f.seq + sp->base, (enum record_class)f.cls,
			    f.raw + FRAME_HDR, f.len) != 0 || n == max)
				return (int)n;
		}
		if (r != 0) {
			log_error("%s/%020" PRIu64 ".seg: offset %lld: %s",
			    sp->dir, sp->segs[i].name, (long long)rd.off,
			    r == -2 ? strerror(errno) : rd.err);
			return -1;
		}
	}
	return (int)n;
}

int
spool_ack(struct spool *sp, uint64_t seq, char *why, size_t whylen)
{
	struct seg	*seg;
	uint64_t	 n;
	size_t		 i;

	if (seq <= sp->base + sp->acked)
		return 0;
	if (seq > sp->base + sp->synced_seq) {
		log_reason(why, whylen, "acknowledgement of %" PRIu64 " is past "
		    "the last durable record %" PRIu64, seq,
		    sp->base + sp->synced_seq);
		return -1;
	}
	seq -= sp->base;
	/* A segment this makes obsolete may go only once the cursor says so. */
	for (i = 0; i < sp->nsegs && sp->segs[i].first <= seq; i++)
		if (sp->segs[i].last <= seq && !(i == sp->nsegs - 1 &&
		    sp->afd != -1))
			break;
	if ((i < sp->nsegs && sp->segs[i].first <= seq) ||
	    clock_mono_ms() - sp->cursor_ms >= CURSOR_LAZY_MS)
		if (cursor_write(sp, seq, sp->dropped, why, whylen) == -1)
			return -1;
	sp->acked = seq;
	/* The records now acknowledged are in the oldest segments. */
	for (i = 0; i < sp->nsegs && sp->segs[i].first <= seq;) {
		seg = &sp->segs[i];
		/* The ack is durable; a failure here only skews the stats. */
		if (count_upto(sp, i, seq, &n) == 0) {
			sp->depth -= seg->unacked - (seg->nframes - n);
			seg->unacked = seg->nframes - n;
		}
		/* The segment appended to stays until it is full. */
		if (seg->last <= seq && !(i == sp->nsegs - 1 &&
		    sp->afd != -1)) {
			seg_unlink(sp, i);
			continue;
		}
		i++;
	}
	find_oldest(sp);
	return 0;
}

void
spool_stats(const struct spool *sp, struct spool_stats *st)
{
	st->depth = sp->depth;
	st->bytes = sp->bytes;
	st->oldest = sp->depth > 0 ? sp->oldest : 0;
	st->dropped_health = sp->dropped;
	st->last_seq = sp->base + sp->last_seq;
	st->acked_seq = sp->base + sp->acked;
}

int
spool_align(struct spool *sp, uint64_t relay_seq, char *why, size_t whylen)
{
	uint64_t	old = sp->base;
	int		fresh = sp->fresh;

	if (!sp->fresh && relay_seq <= sp->base + sp->last_seq)
		return 0;	/* numbers this spool handed out */
	if (relay_seq > (uint64_t)INT64_MAX - sp->last_seq) {
		log_reason(why, whylen, "the relay's seq %" PRIu64 " leaves no "
		    "numbers to hand out", relay_seq);
		return -1;
	}
	/* Never lower: a relay behind the cursor lost records, not gained. */
	if (relay_seq > sp->base + sp->acked)
		sp->base = relay_seq - sp->acked;
	sp->fresh = 0;
	if (cursor_write(sp, sp->acked, sp->dropped, why, whylen) == -1) {
		sp->base = old;
		sp->fresh = fresh;
		return -1;
	}
	sp->hint_name = 0;
	return sp->base != old;
}
