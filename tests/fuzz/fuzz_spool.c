/*
 * fuzz_spool.c - libFuzzer target for the spool's reader: the input is
 * the contents of a segment file (and, after the marker "--cursor--",
 * of the cursor file) found on disk at start-up.  Opening must cut or skip whatever is
 * damaged, never crash, and every record it then hands out must be
 * readable; appending after it must work.
 *
 * Run: ./tests/fuzz/fuzz_spool -max_total_time=60 NEW_DIR tests/fuzz/corpus_spool
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "telemetry/spool.h"

#define CURSOR_MARK	"--cursor--"

static char dir[64];

static int
visit(void *arg, uint64_t seq, enum record_class cls, const char *rec,
    size_t len)
{
	uint64_t *last = arg;

	if (seq <= *last || len > RECORD_MAX || rec == NULL ||
	    (cls != RECORD_USAGE && cls != RECORD_EVENT &&
	    cls != RECORD_HEALTH))
		abort();	/* out of order or nonsense handed out */
	*last = seq;
	return 0;
}

static void
put(const char *name, const uint8_t *data, size_t len)
{
	char	path[128];
	int	fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		abort();
	if (len > 0 && write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

static void
clean(void)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)system(cmd);
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t		*sep;
	struct spool		*sp = NULL;
	struct spool_stats	 st;
	char			 err[256];
	uint64_t		 last = 0, seq;

	log_init("fuzz_spool", 1, LOG_LVL_ERROR);
	snprintf(dir, sizeof(dir), "/tmp/fuzz-spool.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	sep = memmem(data, size, CURSOR_MARK, strlen(CURSOR_MARK));
	put("00000000000000000001.seg", data, sep != NULL ?
	    (size_t)(sep - data) : size);
	if (sep != NULL)
		put("cursor", sep + strlen(CURSOR_MARK), size -
		    (size_t)(sep - data) - strlen(CURSOR_MARK));
	if (spool_open(dir, 1024 * 1024, &sp, err, sizeof(err)) == 0) {
		(void)spool_read(sp, 0, 1000, 1 << 20, visit, &last);
		spool_stats(sp, &st);
		if (spool_append(sp, RECORD_EVENT, "{}", 2, 1, &seq, err,
		    sizeof(err)) == 0 && (seq <= st.last_seq ||
		    spool_sync(sp, err, sizeof(err)) == -1))
			abort();	/* a reused seq, or a failed sync */
		spool_close(sp);
	}
	clean();
	return 0;
}
