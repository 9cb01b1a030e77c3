/*
 * be.h - big-endian integers in byte buffers, for the on-disk frames of
 * the telemetry spool and outbox.
 */
#ifndef PH_BE_H
#define PH_BE_H

#include <stdint.h>

static inline void
be_put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static inline void
be_put64(unsigned char *p, uint64_t v)
{
	be_put32(p, (uint32_t)(v >> 32));
	be_put32(p + 4, (uint32_t)v);
}

static inline uint32_t
be_get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t
be_get64(const unsigned char *p)
{
	return (uint64_t)be_get32(p) << 32 | be_get32(p + 4);
}

#endif
