/*
 * fuzz_verify.c - libFuzzer target for the audit verifier: any file,
 * with and without a key, must verify or be rejected with a line number,
 * never crash or read out of bounds.  The input is a real file (memfd).
 *
 * ./configure --enable-fuzzing CC=clang && make tests/fuzz/fuzz_verify
 * tests/fuzz/fuzz_verify -max_total_time=60 NEW_DIR tests/fuzz/corpus_verify
 */
#include <sys/mman.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "audit/verify.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t	key0[32] = { 1, 2, 3 };
	struct audit_verify	v;
	char			path[64];
	int			fd;

	if ((fd = memfd_create("audit.log", 0)) == -1)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		(void)audit_verify_file(path, NULL, &v, NULL, NULL);
		(void)audit_verify_file(path, key0, &v, NULL, NULL);
	}
	close(fd);
	return 0;
}
