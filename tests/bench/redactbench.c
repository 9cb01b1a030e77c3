/*
 * redactbench.c - how fast the redaction engine (lib/redact.h) passes a
 * text file, next to a plain copy of it.
 *
 *   redactbench make FILE MIB        write a log-like text file of MIB MiB
 *   redactbench copy FILE            read it and write it to /dev/null
 *   redactbench redact FILE [N=RE]...  the same through a redaction stream
 *                                    with these patterns (none: no pattern)
 *
 * Prints MiB/s (of the input) and, for redact, the matches.  The file is
 * read in 256 KiB chunks, as a monitor would hand a file's bytes on.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/redact.h"

#define CHUNK	(256 * 1024)

static int devnull = -1;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
out(void *arg, const void *buf, size_t len)
{
	(void)arg;
	return write(devnull, buf, len) == (ssize_t)len ? 0 : -1;
}

/*
 * Lines of some 100 bytes, as a product's log has them; one in 997
 * holds a password, one in 1999 an access key id.
 */
static int
make(const char *path, long mib)
{
	FILE		*f;
	uint64_t	 want = (uint64_t)mib << 20, n = 0, i;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	for (i = 0; n < want; i++) {
		int w;

		if (i % 997 == 0)
			w = fprintf(f, "2026-05-01T12:%02u:%02u.%03uZ WARN "
			    "[worker-%u] reconnect db.password = hunter%u "
			    "retry=%u\n", (unsigned)(i / 60 % 60),
			    (unsigned)(i % 60), (unsigned)(i % 1000),
			    (unsigned)(i % 32), (unsigned)(i % 100),
			    (unsigned)(i % 7));
		else if (i % 1999 == 0)
			w = fprintf(f, "2026-05-01T12:%02u:%02u.%03uZ INFO "
			    "[worker-%u] s3 upload with AKIA%016llu ok\n",
			    (unsigned)(i / 60 % 60), (unsigned)(i % 60),
			    (unsigned)(i % 1000), (unsigned)(i % 32),
			    (unsigned long long)i);
		else
			w = fprintf(f, "2026-05-01T12:%02u:%02u.%03uZ INFO "
			    "[worker-%u] request %llu served in %u ms "
			    "user=u%u status=200\n", (unsigned)(i / 60 % 60),
			    (unsigned)(i % 60), (unsigned)(i % 1000),
			    (unsigned)(i % 32), (unsigned long long)i,
			    (unsigned)(i % 500), (unsigned)(i % 9000));
		if (w < 0)
			return -1;
		n += (uint64_t)w;
	}
	return fclose(f) == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct redact		*r = NULL;
	struct redact_stream	*s = NULL;
	char			*buf, err[256], *eq;
	uint64_t		 total = 0;
	double			 t0, t1;
	ssize_t			 n;
	int			 fd, i, redact;

	if (argc >= 4 && strcmp(argv[1], "make") == 0)
		return make(argv[2], atol(argv[3])) == 0 ? 0 : 1;
	if (argc < 3 || (strcmp(argv[1], "copy") != 0 &&
	    strcmp(argv[1], "redact") != 0)) {
		fprintf(stderr, "usage: redactbench make FILE MIB | copy FILE "
		    "| redact FILE [NAME=REGEX ...]\n");
		return 2;
	}
	redact = strcmp(argv[1], "redact") == 0;
	if ((devnull = open("/dev/null", O_WRONLY)) == -1 ||
	    (fd = open(argv[2], O_RDONLY)) == -1 ||
	    (buf = malloc(CHUNK)) == NULL || (r = redact_new()) == NULL) {
		perror("redactbench");
		return 1;
	}
	for (i = 3; redact && i < argc; i++) {
		if ((eq = strchr(argv[i], '=')) == NULL)
			return 2;
		*eq = '\0';
		if (redact_add(r, argv[i], eq + 1, err, sizeof(err)) == -1) {
			fprintf(stderr, "redactbench: %s: %s\n", argv[i], err);
			return 1;
		}
	}
	if (redact && (s = redact_stream_new(r)) == NULL)
		return 1;
	t0 = now();
	while ((n = read(fd, buf, CHUNK)) > 0) {
		total += (uint64_t)n;
		if (s != NULL ? redact_stream_feed(s, buf, (size_t)n, out,
		    NULL) == -1 : out(NULL, buf, (size_t)n) == -1)
			return 1;
	}
	if (n == -1 || (s != NULL && redact_stream_end(s, out, NULL) == -1))
		return 1;
	t1 = now();
	printf("%.0f", (double)total / 1048576.0 / (t1 - t0));
	if (s != NULL)
		printf(" %llu", (unsigned long long)redact_stream_total(s));
	printf("\n");
	redact_stream_free(s);
	redact_free(r);
	free(buf);
	return 0;
}
