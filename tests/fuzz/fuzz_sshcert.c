/*
 * fuzz_sshcert.c - libFuzzer target for the certificate parser.  Any
 * input must parse or be refused, never crash or read out of bounds;
 * whatever parses must survive validation, signature check included.
 * The same bytes are also offered as base64 text to the decoder.
 *
 * ./configure --enable-fuzzing CC=clang && make tests/fuzz/fuzz_sshcert
 * mkdir -p /tmp/corpus && tests/fuzz/fuzz_sshcert -max_total_time=60 \
 *     /tmp/corpus /work/main/tests/fuzz/corpus_sshcert
 * (new inputs go to the first directory: keep the seeds out of it)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/sshcert.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sshcert	c;
	static const uint8_t	other_ca[32];
	char			err[256], *text;

	if (sshcert_parse(data, size, &c, err, sizeof(err)) == 0) {
		/* With the certificate's own CA the signature is checked. */
		(void)sshcert_validate(&c, c.ca_key, 1700000000, "alice",
		    err, sizeof(err));
		(void)sshcert_validate(&c, other_ca, 0, NULL, err,
		    sizeof(err));
	}
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (sshcert_parse_base64(text, &c, err, sizeof(err)) == 0)
		(void)sshcert_validate(&c, c.ca_key, 1700000000, "alice",
		    err, sizeof(err));
	free(text);
	return 0;
}
