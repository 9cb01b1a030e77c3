/*
 * sha256.c - SHA-256 with OpenSSL's EVP, as hex.
 */
#include "lib/sha256.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

struct sha256 {
	EVP_MD_CTX	*ctx;
	int		 failed;
};

struct sha256 *
sha256_new(void)
{
	struct sha256 *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	if ((h->ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		sha256_free(h);
		return NULL;
	}
	return h;
}

void
sha256_update(struct sha256 *h, const void *p, size_t len)
{
	if (len > 0 && EVP_DigestUpdate(h->ctx, p, len) != 1)
		h->failed = 1;
}

/*
 * A digest that could not be computed is all 'x': never a valid hex
 * digest, so it matches nothing it is compared with.
 */
void
sha256_final(struct sha256 *h, char hex[SHA256_HEX_LEN + 1])
{
	static const char	 digits[] = "0123456789abcdef";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 n = 0, i;

	if (h->failed || EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n != 32) {
		memset(hex, 'x', SHA256_HEX_LEN);
		hex[SHA256_HEX_LEN] = '\0';
	} else {
		for (i = 0; i < 32; i++) {
			hex[2 * i] = digits[md[i] >> 4];
			hex[2 * i + 1] = digits[md[i] & 0xf];
		}
		hex[SHA256_HEX_LEN] = '\0';
	}
	sha256_free(h);
}

void
sha256_free(struct sha256 *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int
sha256_fd(int fd, char hex[SHA256_HEX_LEN + 1], uint64_t *size)
{
	struct sha256	*h;
	char		 buf[65536];
	ssize_t		 n;
	int		 e;

	*size = 0;
	if ((h = sha256_new()) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (;;) {
		if ((n = read(fd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			e = errno;
			sha256_free(h);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		sha256_update(h, buf, (size_t)n);
		*size += (uint64_t)n;
	}
	sha256_final(h, hex);
	return 0;
}

int
sha256_valid_hex(const char *s)
{
	return s != NULL && strlen(s) == SHA256_HEX_LEN &&
	    strspn(s, "0123456789abcdef") == SHA256_HEX_LEN;
}
