/*
 * wire.h - a bounded reader over bytes in SSH wire format (RFC 4251
 * section 5): every length read from the input is checked against the
 * bytes that remain before it is used.  A read that needs more bytes
 * than remain fails and sets short_read, so that a caller can tell a
 * truncated input from a malformed one.
 */
#ifndef PH_WIRE_H
#define PH_WIRE_H

#include <stddef.h>
#include <stdint.h>

struct wire {
	const uint8_t	*p;		/* next unread byte */
	size_t		 left;		/* bytes after p */
	int		 short_read;	/* a read ran past the end */
};

static inline void
wire_init(struct wire *w, const uint8_t *p, size_t len)
{
	w->p = p;
	w->left = len;
	w->short_read = 0;
}

static inline int
wire_u8(struct wire *w, uint8_t *v)
{
	if (w->left < 1) {
		w->short_read = 1;
		return -1;
	}
	*v = w->p[0];
	w->p++;
	w->left--;
	return 0;
}

static inline int
wire_u32(struct wire *w, uint32_t *v)
{
	if (w->left < 4) {
		w->short_read = 1;
		return -1;
	}
	*v = (uint32_t)w->p[0] << 24 | (uint32_t)w->p[1] << 16 |
	    (uint32_t)w->p[2] << 8 | (uint32_t)w->p[3];
	w->p += 4;
	w->left -= 4;
	return 0;
}

static inline int
wire_u64(struct wire *w, uint64_t *v)
{
	uint32_t hi, lo;

	if (wire_u32(w, &hi) == -1 || wire_u32(w, &lo) == -1)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

/* A string; *s points into the bytes being read, it is not copied. */
static inline int
wire_string(struct wire *w, const uint8_t **s, size_t *len)
{
	uint32_t n;

	if (wire_u32(w, &n) == -1)
		return -1;
	if (n > w->left) {
		w->short_read = 1;
		return -1;
	}
	*s = w->p;
	*len = n;
	w->p += n;
	w->left -= n;
	return 0;
}

#endif
