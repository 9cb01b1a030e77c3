/*
 * sshwire.h - reading the SSH wire format (RFC 4251 section 5) from
 * untrusted bytes, the base64 OpenSSH wraps it in, and the one
 * signature porthole checks: Ed25519.
 *
 * Every read is bounded by the bytes that remain; a read past the end
 * fails and sets short_read, so a caller can tell a truncated input
 * from a malformed one.  Nothing is copied unless the call says so:
 * strings point into the buffer being read.
 */
#ifndef PH_SSHWIRE_H
#define PH_SSHWIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sshwire {
	const uint8_t	*p;		/* next unread byte */
	size_t		 left;		/* bytes after p */
	int		 short_read;	/* a read ran past the end */
};

void	sshwire_init(struct sshwire *, const uint8_t *p, size_t len);
int	sshwire_u8(struct sshwire *, uint8_t *v);
int	sshwire_u32(struct sshwire *, uint32_t *v);
int	sshwire_u64(struct sshwire *, uint64_t *v);
/* A string: *s points into the buffer, *len bytes.  0 or -1. */
int	sshwire_string(struct sshwire *, const uint8_t **s, size_t *len);
/* Whether s[0..len) is exactly the text t (no NUL, same length). */
int	sshwire_is(const uint8_t *s, size_t len, const char *t);

/* The decoded length of padded base64 text of length len, or -1. */
ssize_t	sshwire_b64_len(const char *in, size_t len);
/*
 * Decode padded base64 in[0..len) into out (outmax bytes); '=' only as
 * padding at the very end.  The decoded length, or -1.
 */
ssize_t	sshwire_b64_decode(const char *in, size_t len, uint8_t *out,
	    size_t outmax);

/* Whether sig is key's Ed25519 signature over msg[0..len): 1 or 0. */
int	sshwire_ed25519_verify(const uint8_t key[32], const uint8_t *msg,
	    size_t len, const uint8_t sig[64]);

#endif
