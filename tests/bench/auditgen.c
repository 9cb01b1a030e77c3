/*
 * auditgen.c - write a large, valid, chained audit log for the verifier
 * benchmark: N events in the writer's exact layout (seq, ts, type, prev,
 * then fields), each prev the SHA-256 of the line before.  No seals.
 *
 * usage: auditgen N > audit.log
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

int
main(int argc, char **argv)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char	md[32];
	char		line[512], prev[65];
	unsigned long	n, i;
	int		len, j;

	if (argc != 2 || (n = strtoul(argv[1], NULL, 10)) == 0) {
		fprintf(stderr, "usage: auditgen N\n");
		return 2;
	}
	memset(prev, '0', 64);
	prev[64] = '\0';
	for (i = 1; i <= n; i++) {
		len = snprintf(line, sizeof(line), "{\"seq\":%lu,\"ts\":"
		    "\"2026-11-25T10:00:00Z\",\"type\":\"command_finished\","
		    "\"prev\":\"%s\",\"session\":\"%016lx\",\"command\":"
		    "\"status --json\",\"exit_status\":0,\"bytes_out\":%lu,"
		    "\"timed_out\":false,\"engineer\":\"alice\"}", i, prev,
		    i * 2654435761UL, i % 100000);
		EVP_Digest(line, (size_t)len, md, NULL, EVP_sha256(), NULL);
		for (j = 0; j < 32; j++) {
			prev[2 * j] = digits[md[j] >> 4];
			prev[2 * j + 1] = digits[md[j] & 15];
		}
		line[len] = '\n';
		if (fwrite(line, 1, (size_t)len + 1, stdout) != (size_t)len + 1)
			return 1;
	}
	return 0;
}
