/*
 * sshwire.c - bounded SSH wire format, base64 and Ed25519 (see
 * sshwire.h).
 */
#include "lib/sshwire.h"

#include <string.h>

#include <openssl/evp.h>

void
sshwire_init(struct sshwire *w, const uint8_t *p, size_t len)
{
	w->p = p;
	w->left = len;
	w->short_read = 0;
}

int
sshwire_u8(struct sshwire *w, uint8_t *v)
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

int
sshwire_u32(struct sshwire *w, uint32_t *v)
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

int
sshwire_u64(struct sshwire *w, uint64_t *v)
{
	uint32_t hi, lo;

	if (sshwire_u32(w, &hi) == -1 || sshwire_u32(w, &lo) == -1)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

int
sshwire_string(struct sshwire *w, const uint8_t **s, size_t *len)
{
	uint32_t n;

	if (sshwire_u32(w, &n) == -1)
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

int
sshwire_is(const uint8_t *s, size_t len, const char *t)
{
	return len == strlen(t) && memcmp(s, t, len) == 0;
}

/* The value of a base64 digit, or -1. */
static int
b64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

ssize_t
sshwire_b64_len(const char *in, size_t len)
{
	size_t pad = 0;

	if (len == 0 || len % 4 != 0)
		return -1;
	if (in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	return (ssize_t)(len / 4 * 3 - pad);
}

ssize_t
sshwire_b64_decode(const char *in, size_t len, uint8_t *out, size_t outmax)
{
	ssize_t		 dlen;
	size_t		 i, j, o = 0;
	uint32_t	 v;
	unsigned char	 ch;
	int		 d, ndigits;

	if ((dlen = sshwire_b64_len(in, len)) == -1 || (size_t)dlen > outmax)
		return -1;
	for (i = 0; i < len; i += 4) {
		v = 0;
		ndigits = 0;
		for (j = 0; j < 4; j++) {
			ch = (unsigned char)in[i + j];
			if (ch == '=' && i + 4 == len &&
			    (j == 3 || (j == 2 && in[i + 3] == '=')))
				d = 0;
			else if ((d = b64_value(ch)) == -1)
				return -1;
			else
				ndigits++;
			v = v << 6 | (uint32_t)d;
		}
		if (ndigits < 2)
			return -1;
		out[o++] = (uint8_t)(v >> 16);
		if (ndigits > 2)
			out[o++] = (uint8_t)(v >> 8);
		if (ndigits > 3)
			out[o++] = (uint8_t)v;
	}
	return (ssize_t)o;
}

int
sshwire_ed25519_verify(const uint8_t key[32], const uint8_t *msg, size_t len,
    const uint8_t sig[64])
{
	EVP_PKEY	*pk;
	EVP_MD_CTX	*ctx = NULL;
	int		 ok = 0;

	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key, 32);
	if (pk == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	/* Ed25519 hashes internally: no digest, one-shot verify. */
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
	    EVP_DigestVerify(ctx, sig, 64, msg, len) == 1)
		ok = 1;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return ok;
}
