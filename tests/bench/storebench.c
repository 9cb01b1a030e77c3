/*
 * storebench.c - the store alone, without the gateway and the channel
 * (benchmark only; tests/bench/fleet.sh compiles it against relay/).
 *
 *   storebench SPEC N BATCH [CLUSTER]
 *
 * Opens the store SPEC (a SQLite path or a postgresql:// URI) as the
 * relay does and stores N usage records of CLUSTER (default "bench"),
 * which must be new to the store, in batches
 * of BATCH through store_records(), each batch committed before the
 * next is built, as the relay stores what a gateway sends.  The records
 * are intakegen's: record i is environment "bench-" (i mod 1000) for
 * the hour i / 1000 hours after 2026-01-01, two units each.
 *
 * Prints one line:
 *	records N batch B seconds S rate R/s
 * Exit status 0 only when every batch was acknowledged to its last seq.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <jansson.h>

#include "relay/store.h"

#define ENVS	1000
#define HOUR0	1767225600	/* 2026-01-01T00:00:00Z */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *
record(long i)
{
	char	 hour[32];
	char	 env[32];
	time_t	 h = HOUR0 + (time_t)(i / ENVS) * 3600;
	struct tm tm;

	gmtime_r(&h, &tm);
	strftime(hour, sizeof(hour), "%Y-%m-%dT%H:00:00Z", &tm);
	snprintf(env, sizeof(env), "bench-%03ld", i % ENVS);
	return json_pack("{s:I,s:s,s:{s:s,s:s,s:s,s:{s:f,s:I}}}",
	    "seq", (json_int_t)i + 1, "class", "usage", "record",
	    "class", "usage", "hour", hour, "environment", env, "units",
	    "host_units", (double)(i % 7) + 0.5, "dem_units",
	    (json_int_t)(i % 100));
}

int
main(int argc, char **argv)
{
	struct store	*s;
	json_t		*batch;
	char		 err[512], why[512];
	uint64_t	 acked;
	long		 n, b, i, j;
	double		 t0, t;
	const char	*cluster = argc == 5 ? argv[4] : "bench";

	if ((argc != 4 && argc != 5) || (n = atol(argv[2])) <= 0 ||
	    (b = atol(argv[3])) <= 0) {
		fprintf(stderr, "usage: storebench SPEC N BATCH [CLUSTER]\n");
		return 2;
	}
	if (store_open(argv[1], &s, err, sizeof(err)) == -1) {
		fprintf(stderr, "storebench: %s: %s\n", argv[1], err);
		return 1;
	}
	t = 0;
	for (i = 0; i < n; i += b) {
		if ((batch = json_array()) == NULL)
			return 1;
		for (j = i; j < n && j < i + b; j++)
			json_array_append_new(batch, record(j));
		t0 = now_s();
		if (store_records(s, cluster, batch, time(NULL), &acked, why,
		    sizeof(why)) == -1 || acked != (uint64_t)j) {
			fprintf(stderr, "storebench: batch at %ld: %s\n", i,
			    why);
			return 1;
		}
		t += now_s() - t0;
		json_decref(batch);
	}
	printf("records %ld batch %ld seconds %.3f rate %.0f/s\n", n, b, t,
	    (double)n / t);
	store_close(s);
	return 0;
}
