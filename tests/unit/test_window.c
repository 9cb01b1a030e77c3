/*
 * test_window.c - update windows in local wall time, and product
 * versions: the two rules an update's schedule rests on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "lib/parse.h"
#include "lib/version.h"
#include "lib/window.h"

static void
set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static time_t
utc(const char *s)
{
	time_t t;

	if (parse_time(s, &t) == -1)
		fail_msg("bad time in the test: %s", s);
	return t;
}

static void
test_window_parse(void **state)
{
	static const struct {
		const char	*in;
		const char	*canon;		/* NULL: refused */
	} t[] = {
		{ "daily 03:00", "daily 03:00" },
		{ "weekly sun 02:00", "weekly sun 02:00" },
		{ "  weekly\tsat   23:59 ", "weekly sat 23:59" },
		{ "daily 24:00", NULL },
		{ "daily 3:00", NULL },
		{ "daily 03:60", NULL },
		{ "weekly sunday 02:00", NULL },
		{ "weekly Sun 02:00", NULL },
		{ "weekly sun", NULL },
		{ "daily 03:00 extra", NULL },
		{ "hourly 03:00", NULL },
		{ "", NULL },
	};
	struct window	w;
	char		buf[32];
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (window_parse(t[i].in, &w) == -1) {
			if (t[i].canon != NULL)
				fail_msg("row %zu: '%s' refused", i, t[i].in);
			continue;
		}
		if (t[i].canon == NULL)
			fail_msg("row %zu: '%s' accepted", i, t[i].in);
		window_format(&w, buf, sizeof(buf));
		assert_string_equal(buf, t[i].canon);
	}
}

/* The next window from a moment, in three zones, across DST changes. */
static void
test_window_next(void **state)
{
	static const struct {
		const char	*tz;
		const char	*win;
		const char	*from;		/* UTC */
		const char	*next;		/* UTC */
	} t[] = {
		/* Berlin in winter is UTC+1. */
		{ "Europe/Berlin", "daily 03:00", "2026-12-07T12:00:00Z",
		    "2026-12-08T02:00:00Z" },
		{ "Europe/Berlin", "daily 03:00", "2026-12-07T01:59:00Z",
		    "2026-12-07T02:00:00Z" },
		/* Exactly at the start: this window, not the next one. */
		{ "Europe/Berlin", "daily 03:00", "2026-12-07T02:00:00Z",
		    "2026-12-07T02:00:00Z" },
		/* 2026-12-07 is a Monday; the next Sunday is the 13th. */
		{ "Europe/Berlin", "weekly sun 02:00", "2026-12-07T12:00:00Z",
		    "2026-12-13T01:00:00Z" },
		{ "Europe/Berlin", "weekly mon 14:00", "2026-12-07T12:00:00Z",
		    "2026-12-07T13:00:00Z" },
		{ "Europe/Berlin", "weekly mon 12:00", "2026-12-07T12:00:00Z",
		    "2026-12-14T11:00:00Z" },
		/*
		 * 2027-03-28: Berlin's clocks go from 02:00 to 03:00, so
		 * 02:30 does not exist: the first minute after the gap,
		 * 03:00 CEST = 01:00 UTC.
		 */
		{ "Europe/Berlin", "daily 02:30", "2027-03-27T12:00:00Z",
		    "2027-03-28T01:00:00Z" },
		{ "Europe/Berlin", "weekly sun 02:00", "2027-03-22T00:00:00Z",
		    "2027-03-28T01:00:00Z" },
		/* The day after, 02:30 CEST is 00:30 UTC again. */
		{ "Europe/Berlin", "daily 02:30", "2027-03-28T12:00:00Z",
		    "2027-03-29T00:30:00Z" },
		/*
		 * 2026-11-01: New York's clocks go from 02:00 EDT back to
		 * 01:00 EST, so 01:30 happens twice: the first, in EDT,
		 * is 05:30 UTC.
		 */
		{ "America/New_York", "daily 01:30", "2026-10-31T12:00:00Z",
		    "2026-11-01T05:30:00Z" },
		/* After the first 01:30 has passed, the next day's. */
		{ "America/New_York", "daily 01:30", "2026-11-01T05:31:00Z",
		    "2026-11-02T06:30:00Z" },
		/* Lord Howe moves its clocks by half an hour. */
		{ "Australia/Lord_Howe", "daily 02:15", "2026-10-03T00:00:00Z",
		    "2026-10-03T15:30:00Z" },
		{ "UTC", "weekly sat 23:59", "2026-12-12T23:59:01Z",
		    "2026-12-19T23:59:00Z" },
		/*
		 * Dublin's tzdata calls winter the exception, and mktime's
		 * guess for a time in the spring gap is an hour early:
		 * 01:30 on 2026-03-29 does not exist (01:00 GMT -> 02:00
		 * IST), so the window opens at 02:00 IST = 01:00 UTC.
		 */
		{ "Europe/Dublin", "weekly sun 01:30", "2026-03-28T00:00:00Z",
		    "2026-03-29T01:00:00Z" },
		{ "Europe/London", "weekly sun 01:30", "2026-03-28T00:00:00Z",
		    "2026-03-29T01:00:00Z" },
	};
	struct window	w;
	time_t		next;
	char		got[32];
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		set_tz(t[i].tz);
		assert_int_equal(window_parse(t[i].win, &w), 0);
		assert_int_equal(window_next(&w, utc(t[i].from), &next), 0);
		parse_format_time(next, got, sizeof(got));
		if (strcmp(got, t[i].next) != 0)
			fail_msg("row %zu (%s, %s from %s): %s, not %s", i,
			    t[i].tz, t[i].win, t[i].from, got, t[i].next);
	}
	set_tz("UTC");
}

/*
 * The rule itself, by brute force: the first minute whose local wall
 * clock reads (date, time) or later, found by walking from two days
 * before in quarter hours and then minutes.  Every day on which a zone
 * changes its offset, 2011-2027, at every hour and half hour, must give
 * what window_wall gives.  Apia skipped 2011-12-30 entirely; Casablanca
 * and Dublin record summer as their standard time.
 */
static long long
key_of(const struct tm *tm)
{
	return ((((long long)tm->tm_year * 100 + tm->tm_mon) * 100 +
	    tm->tm_mday) * 100 + tm->tm_hour) * 100 + tm->tm_min;
}

static time_t
oracle(int y, int mon, int d, int h, int m)
{
	struct tm	tm;
	long long	want;
	time_t		t;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = m;
	want = key_of(&tm);
	tm.tm_hour = 0;
	t = timegm(&tm) - 2 * 86400;
	for (;;) {
		localtime_r(&t, &tm);
		if (key_of(&tm) >= want)
			break;
		t += 900;
	}
	for (t -= 900;; t += 60) {
		localtime_r(&t, &tm);
		if (key_of(&tm) >= want)
			return t;
	}
}

static void
test_window_oracle(void **state)
{
	static const char *const zones[] = { "Europe/Dublin",
	    "Africa/Casablanca", "Europe/Berlin", "America/New_York",
	    "Australia/Lord_Howe", "Pacific/Apia", "America/Santiago",
	    "Asia/Tehran" };
	struct tm	a, b;
	time_t		day, next, got, want;
	size_t		z, n = 0;
	int		h, half;

	(void)state;
	for (z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		set_tz(zones[z]);
		for (day = utc("2011-01-01T12:00:00Z");
		    day < utc("2028-01-01T12:00:00Z"); day += 86400) {
			next = day + 86400;
			localtime_r(&day, &a);
			localtime_r(&next, &b);
			if (a.tm_gmtoff == b.tm_gmtoff)
				continue;
			/* The day after (local) the offset changed. */
			localtime_r(&next, &b);
			for (h = 0; h < 24; h++)
				for (half = 0; half < 2; half++) {
					want = oracle(b.tm_year + 1900,
					    b.tm_mon + 1, b.tm_mday, h,
					    half * 30);
					assert_int_equal(window_wall(
					    b.tm_year + 1900, b.tm_mon + 1,
					    b.tm_mday, h, half * 30, &got), 0);
					if (got != want)
						fail_msg("%s %04d-%02d-%02d "
						    "%02d:%02d: %lld, not %lld",
						    zones[z], b.tm_year + 1900,
						    b.tm_mon + 1, b.tm_mday, h,
						    half * 30, (long long)got,
						    (long long)want);
					n++;
				}
		}
	}
	/* Enough transitions were seen for the check to mean something. */
	assert_true(n > 5000);
	set_tz("UTC");
}

static void
test_version(void **state)
{
	static const struct {
		const char	*a, *b;
		int		 cmp;		/* sign; 9: a refused */
	} t[] = {
		{ "1.290.3", "1.290.3", 0 },
		{ "1.290.3", "1.290.10", -1 },
		{ "1.300", "1.290.99", 1 },
		{ "2", "1.999.999", 1 },
		{ "1.2", "1.2.0", 0 },
		{ "1.2.0.1", "1.2", 1 },
		{ "999999999.0", "1.0", 1 },
		{ "1.02", NULL, 9 },		/* two spellings of 1.2 */
		{ "0.1", "0.0.9", 1 },
		{ "1..2", NULL, 9 },
		{ "1.2.", NULL, 9 },
		{ ".1", NULL, 9 },
		{ "1.2a", NULL, 9 },
		{ "-1", NULL, 9 },
		{ "1 .2", NULL, 9 },
		{ "1234567890", NULL, 9 },	/* ten digits */
		{ "1.2.3.4.5.6.7.8.9", NULL, 9 },
		{ "", NULL, 9 },
	};
	struct version	a, b;
	char		buf[VERSION_MAX_LEN + 1];
	size_t		i;
	int		c;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (version_parse(t[i].a, &a) == -1) {
			if (t[i].cmp != 9)
				fail_msg("row %zu: '%s' refused", i, t[i].a);
			continue;
		}
		if (t[i].cmp == 9)
			fail_msg("row %zu: '%s' accepted", i, t[i].a);
		version_format(&a, buf, sizeof(buf));
		assert_string_equal(buf, t[i].a);
		assert_int_equal(version_parse(t[i].b, &b), 0);
		c = version_cmp(&a, &b);
		if ((c > 0) - (c < 0) != t[i].cmp)
			fail_msg("row %zu: %s vs %s gave %d", i, t[i].a,
			    t[i].b, c);
		c = version_cmp(&b, &a);
		if ((c > 0) - (c < 0) != -t[i].cmp)
			fail_msg("row %zu: not symmetric", i);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_parse),
		cmocka_unit_test(test_window_next),
		cmocka_unit_test(test_window_oracle),
		cmocka_unit_test(test_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
