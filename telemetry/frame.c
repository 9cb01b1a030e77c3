/*
 * frame.c - the control channel's frame codec, used by both ends.
 *
 * The peer on the other end of a frame stream is not trusted: a length
 * of zero or above FRAME_MAX, bytes that are not one JSON object, or an
 * object without a string "t" end the stream.  Once the reader has seen
 * a protocol error it keeps answering -1, so a caller cannot go on
 * reading from the middle of a broken stream by mistake.
 */
#include "telemetry/frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/escape.h"

/*
 * A drained reader keeps a small buffer for the next frames, but gives a
 * large one back: the relay holds a reader for each of many thousand
 * mostly idle tunnels, and one big frame must not pin a megabyte each.
 */
#define FRAME_KEEP	(64 * 1024)

/* Bytes fed and not yet returned as frames: buf[start..end). */
struct frame_reader {
	unsigned char	*buf;
	size_t		 cap;
	size_t		 start;		/* the next frame's first byte */
	size_t		 end;		/* one past the last byte fed */
	int		 failed;	/* a protocol error was seen */
};

const struct frame_spec frame_specs[FRAME__COUNT] = {
	[FRAME_HELLO] =		{ "hello", FRAME_UP, FRAME_PHASE_GREET },
	[FRAME_RECORDS] =	{ "records", FRAME_UP, FRAME_PHASE_AFTER },
	[FRAME_LICENSE_CHECK] =	{ "license_check", FRAME_UP,
				    FRAME_PHASE_AFTER },
	[FRAME_ANCHOR] =	{ "anchor", FRAME_UP, FRAME_PHASE_AFTER },
	[FRAME_PING] =		{ "ping", FRAME_UP, FRAME_PHASE_AFTER },
	[FRAME_MSG_ACK] =	{ "msg_ack", FRAME_UP, FRAME_PHASE_AFTER },
	[FRAME_MSG_WAIT] =	{ "msg_wait", FRAME_UP, FRAME_PHASE_AFTER },
	[FRAME_PKG_GET] =	{ "pkg_get", FRAME_UP, FRAME_PHASE_AFTER },
	[FRAME_BUNDLE_BEGIN] =	{ "bundle_begin", FRAME_UP, FRAME_PHASE_AFTER },
	[FRAME_BUNDLE_DATA] =	{ "bundle_data", FRAME_UP, FRAME_PHASE_AFTER },
	/*
	 * A relay without a store never welcomes: what it answers to
	 * checks, pings and anchors comes in either phase.  Acks of
	 * records follow records, which follow the welcome.
	 */
	[FRAME_WELCOME] =	{ "welcome", FRAME_DOWN, FRAME_PHASE_GREET },
	[FRAME_ACK] =		{ "ack", FRAME_DOWN, FRAME_PHASE_AFTER },
	[FRAME_ERROR] =		{ "error", FRAME_DOWN, FRAME_PHASE_ANY },
	[FRAME_LICENSE] =	{ "license", FRAME_DOWN, FRAME_PHASE_ANY },
	[FRAME_ANCHOR_ACK] =	{ "anchor_ack", FRAME_DOWN, FRAME_PHASE_ANY },
	[FRAME_PONG] =		{ "pong", FRAME_DOWN, FRAME_PHASE_ANY },
	/* Only a relay with a store has messages, and it welcomes first. */
	[FRAME_MSG] =		{ "msg", FRAME_DOWN, FRAME_PHASE_AFTER },
	[FRAME_PKG_CHUNK] =	{ "pkg_chunk", FRAME_DOWN, FRAME_PHASE_AFTER },
	[FRAME_BUNDLE_ACK] =	{ "bundle_ack", FRAME_DOWN, FRAME_PHASE_AFTER },
};

int
frame_classify(json_t *f, enum frame_dir dir, int greeted,
    enum frame_kind *kind, char *why, size_t whylen)
{
	const char	*t = json_string_value(json_object_get(f, "t"));
	const struct frame_spec *fs;
	char		 name[40];
	size_t		 k;

	for (k = 0; t != NULL && k < FRAME__COUNT; k++)
		if (strcmp(t, frame_specs[k].name) == 0)
			break;
	if (t == NULL || k == FRAME__COUNT) {
		/* The peer chose the name: shown short and escaped. */
		escape_text(t == NULL ? "" : t, t == NULL ? 0 :
		    strnlen(t, 32), name, sizeof(name));
		snprintf(why, whylen, "unknown frame '%s'", name);
		return -1;
	}
	fs = &frame_specs[k];
	if (fs->dir != dir) {
		snprintf(why, whylen, "'%s' goes from the %s to the %s",
		    fs->name, fs->dir == FRAME_UP ? "gateway" : "relay",
		    fs->dir == FRAME_UP ? "relay" : "gateway");
		return -1;
	}
	if ((fs->phase == FRAME_PHASE_GREET && greeted) ||
	    (fs->phase == FRAME_PHASE_AFTER && !greeted)) {
		snprintf(why, whylen, "'%s' %s the hello/welcome exchange",
		    fs->name, greeted ? "after" : "before");
		return -1;
	}
	*kind = (enum frame_kind)k;
	return 0;
}

static uint32_t
get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
put_be32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* A frame's object: anything with a string "t" names a kind. */
static int
valid_frame_object(json_t *obj)
{
	return json_is_object(obj) &&
	    json_is_string(json_object_get(obj, "t"));
}

int
frame_encode(json_t *obj, char **out, size_t *len)
{
	unsigned char	*buf;
	size_t		 n;

	if (!valid_frame_object(obj))
		return -1;
	/* The first call only measures; the second writes after the header. */
	if ((n = json_dumpb(obj, NULL, 0, JSON_COMPACT)) == 0 ||
	    n > FRAME_MAX)
		return -1;
	if ((buf = malloc(FRAME_HDR_LEN + n)) == NULL)
		return -1;
	if (json_dumpb(obj, (char *)buf + FRAME_HDR_LEN, n, JSON_COMPACT) != n) {
		free(buf);
		return -1;
	}
	put_be32(buf, (uint32_t)n);
	*out = (char *)buf;
	*len = FRAME_HDR_LEN + n;
	return 0;
}

int
frame_header(char *buf, size_t len)
{
	if (len == 0 || len > FRAME_MAX)
		return -1;
	put_be32((unsigned char *)buf, (uint32_t)len);
	return 0;
}

struct frame_reader *
frame_reader_new(void)
{
	return calloc(1, sizeof(struct frame_reader));
}

void
frame_reader_free(struct frame_reader *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r);
}

/*
 * The length of the frame at the start of the buffer, once its header
 * is complete: 1 with *n, 0 if the header is still partial, -1 if the
 * length is out of bounds (and the reader has failed).
 */
static int
peek_length(struct frame_reader *r, size_t *n)
{
	uint32_t v;

	if (r->end - r->start < FRAME_HDR_LEN)
		return 0;
	v = get_be32(r->buf + r->start);
	if (v == 0 || v > FRAME_MAX) {
		r->failed = 1;
		return -1;
	}
	*n = v;
	return 1;
}

/* Room for len more bytes: move unread bytes to the front, then grow. */
static int
make_room(struct frame_reader *r, size_t len)
{
	unsigned char	*p;
	size_t		 used, want;

	used = r->end - r->start;
	if (len > SIZE_MAX / 2 - used)
		return -1;
	if (r->cap - r->end >= len)
		return 0;
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, used);
		r->start = 0;
		r->end = used;
		if (r->cap - r->end >= len)
			return 0;
	}
	want = r->cap == 0 ? 4096 : r->cap;
	while (want < used + len)
		want *= 2;
	if ((p = realloc(r->buf, want)) == NULL)
		return -1;
	r->buf = p;
	r->cap = want;
	return 0;
}

int
frame_reader_feed(struct frame_reader *r, const void *data, size_t len)
{
	size_t n;

	if (r->failed)
		return -1;
	if (len == 0)
		return 0;
	if (make_room(r, len) == -1)
		return -1;
	memcpy(r->buf + r->end, data, len);
	r->end += len;
	/* A bad length is refused now, before the rest of it arrives. */
	if (peek_length(r, &n) == -1)
		return -1;
	return 0;
}

/* Everything fed has been returned: forget it, and a big buffer too. */
static void
drained(struct frame_reader *r)
{
	r->start = r->end = 0;
	if (r->cap > FRAME_KEEP) {
		free(r->buf);
		r->buf = NULL;
		r->cap = 0;
	}
}

int
frame_reader_next(struct frame_reader *r, json_t **obj)
{
	json_t	*j;
	size_t	 n;
	int	 rc;

	if (r->failed)
		return -1;
	if ((rc = peek_length(r, &n)) != 1)
		return rc;
	if (r->end - r->start - FRAME_HDR_LEN < n)
		return 0;
	j = json_loadb((const char *)r->buf + r->start + FRAME_HDR_LEN, n,
	    JSON_REJECT_DUPLICATES, NULL);
	if (j == NULL || !valid_frame_object(j)) {
		json_decref(j);
		r->failed = 1;
		return -1;
	}
	r->start += FRAME_HDR_LEN + n;
	if (r->start == r->end)
		drained(r);
	*obj = j;
	return 1;
}
