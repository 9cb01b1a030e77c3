/*
 * seal.c - epoch keys for forward-secure audit seals.
 */
#include "audit/seal.h"

#include <sys/random.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lib/fileio.h"

#define SEAL_KEY_MAGIC	"porthole-audit-key v1"

void
seal_key_to_hex(const uint8_t key[SEAL_KEY_LEN], char out[65])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < SEAL_KEY_LEN; i++) {
		out[2 * i] = digits[key[i] >> 4];
		out[2 * i + 1] = digits[key[i] & 15];
	}
	out[64] = '\0';
}

int
seal_key_from_hex(const char *hex, uint8_t key[SEAL_KEY_LEN])
{
	int i, hi, lo;

	if (strlen(hex) != 2 * SEAL_KEY_LEN)
		return -1;
	for (i = 0; i < SEAL_KEY_LEN; i++) {
		hi = hex[2 * i];
		lo = hex[2 * i + 1];
		hi = hi >= '0' && hi <= '9' ? hi - '0' :
		    hi >= 'a' && hi <= 'f' ? hi - 'a' + 10 : -1;
		lo = lo >= '0' && lo <= '9' ? lo - '0' :
		    lo >= 'a' && lo <= 'f' ? lo - 'a' + 10 : -1;
		if (hi < 0 || lo < 0)
			return -1;
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int
seal_key_store(const char *path, const struct seal_key *k, char *err,
    size_t errlen)
{
	char	hex[65], line[160];
	size_t	len;
	int	rc;

	seal_key_to_hex(k->key, hex);
	len = (size_t)snprintf(line, sizeof(line), "%s %llu %s\n",
	    SEAL_KEY_MAGIC, (unsigned long long)k->epoch, hex);
	OPENSSL_cleanse(hex, sizeof(hex));
	rc = fileio_replace(path, line, len, 0600, err, errlen);
	OPENSSL_cleanse(line, sizeof(line));
	return rc;
}

int
seal_key_init(const char *path, struct seal_key *k, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) == 0) {
		snprintf(err, errlen, "%s exists: the log is already initialised "
		    "(remove it only to start a new log)", path);
		return -1;
	}
	k->epoch = 0;
	if (getrandom(k->key, SEAL_KEY_LEN, 0) != SEAL_KEY_LEN) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return -1;
	}
	return seal_key_store(path, k, err, errlen);
}

int
seal_key_load(const char *path, struct seal_key *k, char *err, size_t errlen)
{
	FILE			*f;
	char			 line[160], magic1[32], magic2[8], hex[80];
	char			 iobuf[BUFSIZ];
	unsigned long long	 epoch;
	int			 rc = -1;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s (run `porthole audit init` once)",
		    path, strerror(errno));
		return -1;
	}
	/* Our own buffer, so the key read through stdio is wiped too. */
	(void)setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
	if (fgets(line, sizeof(line), f) != NULL &&
	    sscanf(line, "%31s %7s %llu %79s", magic1, magic2, &epoch,
	    hex) == 4 && strcmp(magic1, "porthole-audit-key") == 0 &&
	    strcmp(magic2, "v1") == 0 && seal_key_from_hex(hex, k->key) == 0) {
		k->epoch = epoch;
		rc = 0;
	} else
		snprintf(err, errlen, "%s: not a porthole audit key", path);
	OPENSSL_cleanse(line, sizeof(line));
	OPENSSL_cleanse(hex, sizeof(hex));
	fclose(f);
	OPENSSL_cleanse(iobuf, sizeof(iobuf));
	return rc;
}

void
seal_key_evolve(struct seal_key *k)
{
	static const char label[] = "porthole-evolve";
	uint8_t		  next[SEAL_KEY_LEN];
	EVP_MD_CTX	 *ctx;

	ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, label, sizeof(label) - 1);
	EVP_DigestUpdate(ctx, k->key, SEAL_KEY_LEN);
	EVP_DigestFinal_ex(ctx, next, NULL);
	EVP_MD_CTX_free(ctx);
	memcpy(k->key, next, SEAL_KEY_LEN);
	OPENSSL_cleanse(next, sizeof(next));
	k->epoch++;
}

void
seal_mac(const struct seal_key *k, uint64_t seq, const char *ts,
    const char *prev, char out[65])
{
	char		msg[224];
	uint8_t		mac[32];
	unsigned int	len = 0;

	snprintf(msg, sizeof(msg), "porthole-seal v2 epoch=%llu seq=%llu "
	    "ts=%.32s prev=%.64s", (unsigned long long)k->epoch,
	    (unsigned long long)seq, ts, prev);
	HMAC(EVP_sha256(), k->key, SEAL_KEY_LEN, (const uint8_t *)msg,
	    strlen(msg), mac, &len);
	seal_key_to_hex(mac, out);
}
