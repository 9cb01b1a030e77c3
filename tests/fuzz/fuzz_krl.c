/*
 * fuzz_krl.c - libFuzzer target for the revocation list parser.  Any
 * input must parse or be refused, never crash or read out of bounds;
 * whatever parses is then consulted for a certificate whose serial, key
 * id and keys come from the input, so the lookups (ranges, bitmaps near
 * the ends of the serial space, key ids, hashes) run on what the parser
 * built.
 *
 * ./configure --enable-fuzzing CC=clang && make tests/fuzz/fuzz_krl
 * mkdir -p /tmp/corpus && tests/fuzz/fuzz_krl -max_total_time=60 \
 *     /tmp/corpus /work/main/tests/fuzz/corpus_krl
 * (new inputs go to the first directory: keep the seeds out of it)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/krl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * A certificate as sshcert_parse() leaves it, made up: the certified
 * key and the CA key are Ed25519 blobs whose 32 bytes come from the
 * input, so that a KRL listing them can match.
 */
static void
fake_cert(struct sshcert *c, const uint8_t *data, size_t size, uint64_t serial)
{
	static const char	type[] = "\0\0\0\x0bssh-ed25519\0\0\0\x20";
	size_t			n = sizeof(type) - 1, take;

	memset(c, 0, sizeof(*c));
	snprintf(c->key_type, sizeof(c->key_type), "%s",
	    "ssh-ed25519-cert-v01@openssh.com");
	snprintf(c->key_id, sizeof(c->key_id), "%s", "alice@vendor");
	c->serial = serial;
	/* blob: "\0\0\0\x20" + 32 key bytes, then the whole CA key blob. */
	memcpy(c->blob, type + 15, 4);
	take = size < 32 ? size : 32;
	memcpy(c->blob + 4, data, take);
	c->key_off = 0;
	c->key_len = 36;
	memcpy(c->blob + 36, type, n);
	take = size < 64 ? (size > 32 ? size - 32 : 0) : 32;
	memcpy(c->blob + 36 + n, data + 32, take);
	c->ca_off = 36;
	c->ca_len = n + 32;
	c->blob_len = 36 + n + 32;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sshcert	 c;
	static const uint64_t	 serials[] = { 1, 2, 5, 1000, 65536,
	    UINT64_MAX - 1, UINT64_MAX };
	struct krl		*k;
	uint64_t		 tail = 0;
	char			 err[512], why[256], desc[512];
	size_t			 i;

	if (krl_parse(data, size, "fuzz", &k, err, sizeof(err)) != 0)
		return 0;
	krl_describe(k, desc, sizeof(desc));
	for (i = 0; i < 8 && i < size; i++)
		tail = tail << 8 | data[size - 1 - i];
	fake_cert(&c, data, size, tail);
	(void)krl_check_cert(k, &c, why, sizeof(why));
	for (i = 0; i < sizeof(serials) / sizeof(serials[0]); i++) {
		c.serial = serials[i];
		(void)krl_check_cert(k, &c, why, sizeof(why));
	}
	(void)krl_check_key(k, c.blob + c.ca_off, c.ca_len, why, sizeof(why));
	krl_free(k);
	return 0;
}
