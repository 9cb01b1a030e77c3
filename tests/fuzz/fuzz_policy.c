/*
 * fuzz_policy.c - libFuzzer target for the porthole.conf loader: any
 * file must load or be refused with a message, never crash, leak or
 * read out of bounds.  The input is handed over as a real file (memfd).
 *
 * ./configure --enable-fuzzing CC=clang && make tests/fuzz/fuzz_policy
 * tests/fuzz/fuzz_policy -max_total_time=60 NEW_DIR tests/fuzz/corpus_policy
 */
#include <sys/mman.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "policy/policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy	*p = NULL;
	char		 path[64], err[1024], **argv;
	int		 fd;

	if ((fd = memfd_create("porthole.conf", 0)) == -1)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (policy_load(path, &p, err, sizeof(err)) == 0) {
			if (policy_allow_command(p, "status --json 1", &argv,
			    err, sizeof(err)))
				policy_argv_free(argv);
			policy_free(p);
		}
	}
	close(fd);
	return 0;
}
