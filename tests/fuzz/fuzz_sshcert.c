/*
 * fuzz_sshcert.c - libFuzzer target for the certificate parser: any
 * input must parse or be refused, never crash or read out of bounds;
 * whatever parses must survive validation.
 *
 * ./configure --enable-fuzzing CC=clang && make tests/fuzz/fuzz_sshcert
 * tests/fuzz/fuzz_sshcert -max_total_time=60 tests/fuzz/corpus_sshcert
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/sshcert.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sshcert	c;
	static const uint8_t	ca[32];
	char			err[256];

	if (sshcert_parse(data, size, &c, err, sizeof(err)) == 0)
		(void)sshcert_validate(&c, ca, 1700000000, "alice", err,
		    sizeof(err));
	return 0;
}
