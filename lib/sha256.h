/*
 * sha256.h - SHA-256 of files and streams, as lowercase hex: what the
 * update notices, the relay's package store and the audit log name a
 * file by.
 */
#ifndef PH_SHA256_H
#define PH_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_HEX_LEN	64

struct sha256;

/* A new running digest, or NULL when out of memory. */
struct sha256	*sha256_new(void);
void		 sha256_update(struct sha256 *, const void *p, size_t len);
/* The digest as hex (SHA256_HEX_LEN + 1 bytes) and free the state. */
void		 sha256_final(struct sha256 *, char hex[SHA256_HEX_LEN + 1]);
void		 sha256_free(struct sha256 *);

/*
 * The digest of everything fd holds from its current offset to its end,
 * and how many bytes that was.  0, or -1 with errno set.
 */
int		 sha256_fd(int fd, char hex[SHA256_HEX_LEN + 1],
		    uint64_t *size);
/* Whether s is SHA256_HEX_LEN lowercase hex digits and nothing else. */
int		 sha256_valid_hex(const char *s);

#endif
