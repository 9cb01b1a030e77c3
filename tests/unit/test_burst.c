/*
 * test_burst.c - repeated refusals: the first of each kind in full, the
 * rest counted into one summary per burst, on a clock the test moves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/burst.h"

/*
 * The summaries written, as "type|reason|field=who|count|first|last",
 * with "|ended" when the burst is over.
 */
static char	sums[16][512];
static int	nsums;

static void
collect(void *arg, const struct burst_summary *s)
{
	(void)arg;
	assert_true(nsums < 16);
	snprintf(sums[nsums++], sizeof(sums[0]),
	    "%s|%s|%s=%s|%llu|%lld|%lld%s", s->type, s->reason, s->who_field,
	    s->who, (unsigned long long)s->count, (long long)s->first,
	    (long long)s->last, s->ended ? "|ended" : "");
}

/* A refusal naming who, from an address of its own. */
static int
note(struct burst *b, const char *reason, const char *who, uint64_t ms)
{
	return burst_note(b, "auth_refused", reason, "principal", who, who,
	    ms, (time_t)(ms / 1000));
}

/* A refusal naming who, from the address src. */
static int
note_from(struct burst *b, const char *who, const char *src, uint64_t ms)
{
	return burst_note(b, "auth_refused", "unknown CA", "principal", who,
	    src, ms, (time_t)(ms / 1000));
}

/* A burst: one line in full, one summary when it ends. */
static void
test_one_burst(void **state)
{
	struct burst	*b;
	uint64_t	 t;

	(void)state;
	nsums = 0;
	assert_non_null(b = burst_new(collect, NULL));
	assert_int_equal(burst_pending(b), 0);
	assert_int_equal(note(b, "not listed", "mallory", 1000), 1);
	assert_int_equal(burst_pending(b), 1);
	for (t = 1100; t < 3000; t += 100)
		assert_int_equal(note(b, "not listed", "mallory", t), 0);
	/* Another reason, another engineer: first of their kind. */
	assert_int_equal(note(b, "expired", "mallory", 3000), 1);
	assert_int_equal(note(b, "not listed", "eve", 3000), 1);
	burst_tick(b, 2900 + BURST_QUIET_MS - 1, 0);
	assert_int_equal(nsums, 0);
	burst_tick(b, 2900 + BURST_QUIET_MS, 0);
	assert_int_equal(nsums, 1);
	assert_string_equal(sums[0],
	    "auth_refused|not listed|principal=mallory|19|1|2|ended");
	/* Kinds with nothing counted end without a line. */
	burst_tick(b, 3000 + BURST_QUIET_MS, 0);
	assert_int_equal(nsums, 1);
	assert_int_equal(burst_pending(b), 0);
	/* After the quiet time a new burst starts with a line in full. */
	assert_int_equal(note(b, "not listed", "mallory", 20000), 1);
	burst_free(b);
}

/* A burst that never pauses is summarised every BURST_EVERY_MS. */
static void
test_long_burst(void **state)
{
	struct burst	*b;
	uint64_t	 t;
	int		 full = 0;

	(void)state;
	nsums = 0;
	assert_non_null(b = burst_new(collect, NULL));
	for (t = 0; t <= 2 * BURST_EVERY_MS + 500; t += 500) {
		full += note(b, "not listed", "mallory", t);
		burst_tick(b, t, 0);
	}
	assert_int_equal(full, 1);
	assert_int_equal(nsums, 2);
	assert_string_equal(sums[0],
	    "auth_refused|not listed|principal=mallory|120|0|60");
	assert_string_equal(sums[1],
	    "auth_refused|not listed|principal=mallory|120|60|120");
	/* What is pending is written when the daemon stops. */
	burst_tick(b, t, 1);
	assert_int_equal(nsums, 3);
	assert_string_equal(sums[2],
	    "auth_refused|not listed|principal=mallory|1|120|120|ended");
	burst_free(b);
}

/* Every kind in use: the one quiet the longest is summarised for room. */
static void
test_full_table(void **state)
{
	struct burst	*b;
	char		 who[32], reason[400];
	int		 i;

	(void)state;
	nsums = 0;
	assert_non_null(b = burst_new(collect, NULL));
	for (i = 0; i < BURST_KINDS; i++) {
		snprintf(who, sizeof(who), "e%d", i);
		assert_int_equal(note(b, "r", who, 1000 + (uint64_t)i), 1);
		assert_int_equal(note(b, "r", who, 1000 + (uint64_t)i), 0);
	}
	assert_int_equal(note(b, "r", "newcomer", 2000), 1);
	assert_int_equal(nsums, 1);
	assert_string_equal(sums[0], "auth_refused|r|principal=e0|1|1|1|ended");
	/* e0 starts over; e1 still counts. */
	assert_int_equal(note(b, "r", "e1", 2000), 0);
	/* Text too long to keep is written in full each time. */
	memset(reason, 'x', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	assert_int_equal(note(b, reason, "e1", 2000), 1);
	assert_int_equal(note(b, reason, "e1", 2000), 1);
	burst_free(b);
}

/*
 * Someone who names a new principal each time (their own CA's
 * certificates) gets BURST_SOURCE_FULL lines in full a period from
 * their address; the rest are counted against the address, whatever
 * they name, and another address is not held back by them.
 */
static void
test_source_cap(void **state)
{
	struct burst	*b;
	char		 who[32];
	int		 i, full = 0;

	(void)state;
	nsums = 0;
	assert_non_null(b = burst_new(collect, NULL));
	for (i = 0; i < 40; i++) {
		snprintf(who, sizeof(who), "alice%d", i);
		full += note_from(b, who, "192.0.2.7", 1000 + (uint64_t)i);
	}
	assert_int_equal(full, BURST_SOURCE_FULL);
	assert_int_equal(note_from(b, "bob", "192.0.2.8", 1100), 1);
	/* The period over, the address gets its lines again. */
	assert_int_equal(note_from(b, "carol", "192.0.2.7",
	    1000 + BURST_EVERY_MS), 1);
	burst_tick(b, 1000 + BURST_EVERY_MS, 1);
	assert_int_equal(nsums, 1);
	assert_string_equal(sums[0], "auth_refused|" BURST_CAPPED_REASON
	    "|from=192.0.2.7|32|1|1|ended");
	burst_free(b);
}

/* Past BURST_ALL_FULL lines from all sources, the rest are counted. */
static void
test_all_cap(void **state)
{
	struct burst	*b;
	char		 src[32];
	int		 i, full = 0;

	(void)state;
	nsums = 0;
	assert_non_null(b = burst_new(collect, NULL));
	for (i = 0; i < BURST_ALL_FULL + 10; i++) {
		snprintf(src, sizeof(src), "198.51.100.%d", i);
		full += note_from(b, src, src, 1000);
	}
	assert_int_equal(full, BURST_ALL_FULL);
	burst_tick(b, 1000, 1);
	assert_int_equal(nsums, 1);
	assert_string_equal(sums[0], "auth_refused|" BURST_CAPPED_REASON
	    "|from=" BURST_ANY_SOURCE "|10|1|1|ended");
	burst_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_burst),
		cmocka_unit_test(test_long_burst),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_source_cap),
		cmocka_unit_test(test_all_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
