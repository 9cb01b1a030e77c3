/*
 * test_parse.c - the value parsers behind every configuration key.
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

#include "lib/csv.h"
#include "lib/escape.h"
#include "lib/ident.h"
#include "lib/parse.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))

static void
test_bool(void **state)
{
	static const struct {
		const char	*in;
		int		 rc, v;
	} t[] = {
		{ "yes", 0, 1 }, { "no", 0, 0 }, { "true", 0, 1 },
		{ "false", 0, 0 }, { "on", 0, 1 }, { "off", 0, 0 },
		{ "1", 0, 1 }, { "0", 0, 0 }, { "YES", 0, 1 }, { "No", 0, 0 },
		{ "", -1, 0 }, { "y", -1, 0 }, { "yes ", -1, 0 },
		{ " yes", -1, 0 }, { "2", -1, 0 }, { "maybe", -1, 0 },
		{ "yesno", -1, 0 },
	};
	size_t	 i;
	int	 v;

	for (i = 0; i < N(t); i++) {
		v = 42;
		assert_int_equal(parse_bool(t[i].in, &v), t[i].rc);
		assert_int_equal(v, t[i].rc == 0 ? t[i].v : 42);
	}
}

static void
test_uint(void **state)
{
	static const struct {
		const char	*in;
		uint64_t	 min, max;
		int		 rc;
		uint64_t	 v;
	} t[] = {
		{ "0", 0, 10, 0, 0 },
		{ "10", 0, 10, 0, 10 },
		{ "11", 0, 10, -1, 0 },
		{ "0", 1, 10, -1, 0 },
		{ "007", 0, 10, 0, 7 },
		{ "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX },
		{ "18446744073709551616", 0, UINT64_MAX, -1, 0 },
		{ "99999999999999999999999", 0, UINT64_MAX, -1, 0 },
		{ "", 0, 10, -1, 0 },
		{ "-1", 0, 10, -1, 0 },
		{ "+1", 0, 10, -1, 0 },
		{ " 1", 0, 10, -1, 0 },
		{ "1 ", 0, 10, -1, 0 },
		{ "1x", 0, 10, -1, 0 },
		{ "0x1", 0, 10, -1, 0 },
	};
	uint64_t	 v;
	size_t		 i;

	for (i = 0; i < N(t); i++) {
		v = 4242;
		assert_int_equal(parse_uint(t[i].in, t[i].min, t[i].max, &v),
		    t[i].rc);
		assert_true(v == (t[i].rc == 0 ? t[i].v : 4242));
	}
}

static void
test_duration(void **state)
{
	static const struct {
		const char	*in;
		int		 rc;
		uint64_t	 secs;
	} t[] = {
		{ "90", 0, 90 }, { "90s", 0, 90 }, { "15m", 0, 900 },
		{ "2h", 0, 7200 }, { "1d", 0, 86400 }, { "0", 0, 0 },
		{ "3650d", 0, 315360000 },
		{ "3651d", -1, 0 }, { "315360001", -1, 0 },
		{ "99999999999999999999d", -1, 0 },
		{ "", -1, 0 }, { "s", -1, 0 }, { "15", 0, 15 },
		{ "15 m", -1, 0 }, { "15M", -1, 0 }, { "15ms", -1, 0 },
		{ "1w", -1, 0 }, { "-5m", -1, 0 }, { "1.5h", -1, 0 },
		{ "2h30m", -1, 0 },
	};
	uint64_t	 v;
	size_t		 i;

	for (i = 0; i < N(t); i++) {
		v = 4242;
		assert_int_equal(parse_duration(t[i].in, &v), t[i].rc);
		assert_true(v == (t[i].rc == 0 ? t[i].secs : 4242));
	}
}

static void
test_size(void **state)
{
	static const struct {
		const char	*in;
		int		 rc;
		uint64_t	 bytes;
	} t[] = {
		{ "0", 0, 0 }, { "4096", 0, 4096 }, { "512K", 0, 524288 },
		{ "64M", 0, 67108864 }, { "2G", 0, 2147483648ULL },
		{ "1024G", 0, 1ULL << 40 }, { "1025G", -1, 0 },
		{ "1099511627777", -1, 0 }, { "99999999999999999999K", -1, 0 },
		{ "", -1, 0 }, { "M", -1, 0 }, { "64m", -1, 0 },
		{ "64 M", -1, 0 }, { "64MB", -1, 0 }, { "-1", -1, 0 },
		{ "1.5G", -1, 0 }, { "1T", -1, 0 },
	};
	char		 buf[32];
	uint64_t	 v, back;
	size_t		 i;

	for (i = 0; i < N(t); i++) {
		v = 4242;
		assert_int_equal(parse_size(t[i].in, &v), t[i].rc);
		assert_true(v == (t[i].rc == 0 ? t[i].bytes : 4242));
		if (t[i].rc != 0)
			continue;
		/* Printed back the way it reads, in the largest exact unit. */
		parse_format_size(t[i].bytes, buf, sizeof(buf));
		assert_int_equal(parse_size(buf, &back), 0);
		assert_true(back == t[i].bytes);
	}
	parse_format_size(67108864, buf, sizeof(buf));
	assert_string_equal(buf, "64M");
	parse_format_size(1536, buf, sizeof(buf));
	assert_string_equal(buf, "1536");
	parse_format_size(1536 * 1024, buf, sizeof(buf));
	assert_string_equal(buf, "1536K");
	parse_format_size(0, buf, sizeof(buf));
	assert_string_equal(buf, "0");
}

static void
test_format_duration(void **state)
{
	static const struct {
		uint64_t	 secs;
		const char	*out;
	} t[] = {
		{ 0, "0s" }, { 1, "1s" }, { 59, "59s" }, { 60, "1m" },
		{ 90, "90s" }, { 900, "15m" }, { 3600, "1h" }, { 5400, "90m" },
		{ 7200, "2h" }, { 86400, "1d" }, { 90000, "25h" },
		{ 86401, "86401s" }, { 315360000, "3650d" },
	};
	char		 buf[32];
	uint64_t	 back, s;
	size_t		 i;

	for (i = 0; i < N(t); i++) {
		parse_format_duration(t[i].secs, buf, sizeof(buf));
		assert_string_equal(buf, t[i].out);
		assert_int_equal(parse_duration(buf, &back), 0);
		assert_true(back == t[i].secs);
	}
	/* Every value round-trips, not just the table. */
	for (s = 0; s < 200000; s += 7) {
		parse_format_duration(s, buf, sizeof(buf));
		assert_int_equal(parse_duration(buf, &back), 0);
		assert_true(back == s);
	}
	/* A short buffer is truncated, never overrun. */
	parse_format_duration(86401, buf, 4);
	assert_string_equal(buf, "864");
}

static void
test_time(void **state)
{
	static const struct {
		const char	*in;
		int		 rc;
		time_t		 t;
	} t[] = {
		{ "1970-01-01T00:00:00Z", 0, 0 },
		{ "2026-12-31T00:00:00Z", 0, 1798675200 },
		{ "2024-02-29T12:34:56Z", 0, 1709210096 },
		{ "2023-02-29T00:00:00Z", -1, 0 },
		{ "2026-02-30T00:00:00Z", -1, 0 },
		{ "2026-04-31T00:00:00Z", -1, 0 },
		{ "2026-13-01T00:00:00Z", -1, 0 },
		{ "2026-00-01T00:00:00Z", -1, 0 },
		{ "2026-12-00T00:00:00Z", -1, 0 },
		{ "2026-12-31T24:00:00Z", -1, 0 },
		{ "2026-12-31T23:60:00Z", -1, 0 },
		{ "2026-12-31T23:59:60Z", -1, 0 },
		{ "1969-12-31T23:59:59Z", -1, 0 },
		{ "2026-12-31T00:00:00", -1, 0 },
		{ "2026-12-31T00:00:00+01:00", -1, 0 },
		{ "2026-12-31 00:00:00Z", -1, 0 },
		{ "2026-12-31T00:00:00z", -1, 0 },
		{ "2026-12-31", -1, 0 },
		{ "2026-1-31T00:00:00Z", -1, 0 },
		{ "2026-12-31T00:00:00ZZ", -1, 0 },
		{ "+026-12-31T00:00:00Z", -1, 0 },
		{ "", -1, 0 },
	};
	time_t	 v;
	size_t	 i;

	for (i = 0; i < N(t); i++) {
		v = 4242;
		assert_int_equal(parse_time(t[i].in, &v), t[i].rc);
		assert_true(v == (t[i].rc == 0 ? t[i].t : 4242));
	}
}

/*
 * parse_when, the one reader of --since and --until.  Local days are
 * walked in two zones given as POSIX rules (no tzdata needed): UTC, and
 * Central European time, whose 2026 spring change falls on 29 March.
 */
static void
test_when(void **state)
{
#define NOW	((time_t)1795003200)	/* 2026-11-18T12:00:00Z */
#define SPRING	((time_t)1774785600)	/* 2026-03-29T12:00:00Z */
#define CET	"CET-1CEST,M3.5.0,M10.5.0/3"
	static const struct {
		const char	*tz;
		time_t		 now;
		const char	*in;
		int		 rc;
		time_t		 t;
	} t[] = {
		{ "UTC0", NOW, "now", 0, NOW },
		{ "UTC0", NOW, "-2h", 0, 1794996000 },
		{ "UTC0", NOW, "-30m", 0, 1795001400 },
		{ "UTC0", NOW, "-7d", 0, 1794398400 },
		{ "UTC0", NOW, "-90", 0, NOW - 90 },
		{ "UTC0", NOW, "-90s", 0, NOW - 90 },
		{ "UTC0", NOW, "-2", 0, NOW - 2 },
		{ "UTC0", NOW, "+1h", 0, 1795006800 },
		{ "UTC0", NOW, "-0s", 0, NOW },
		{ "UTC0", NOW, "today", 0, 1794960000 },
		{ "UTC0", NOW, "yesterday", 0, 1794873600 },
		{ "UTC0", NOW, "tomorrow", 0, 1795046400 },
		/* In Berlin on 18 November the day began at 23:00Z. */
		{ CET, NOW, "today", 0, 1794956400 },
		{ CET, NOW, "yesterday", 0, 1794870000 },
		{ CET, NOW, "-2h", 0, 1794996000 },
		/* Days of 24, 24 and 23 hours around the clock change. */
		{ CET, SPRING, "yesterday", 0, 1774652400 },
		{ CET, SPRING, "today", 0, 1774738800 },
		{ CET, SPRING, "tomorrow", 0, 1774821600 },
		/* RFC 3339, whatever the local zone. */
		{ CET, NOW, "2026-11-20T10:00:00Z", 0, 1795168800 },
		{ CET, NOW, "2026-11-20t10:00:00z", 0, 1795168800 },
		{ CET, NOW, "2026-11-20 10:00:00Z", 0, 1795168800 },
		{ CET, NOW, "2026-11-20T11:00:00+01:00", 0, 1795168800 },
		{ CET, NOW, "2026-11-20T05:00:00-05:00", 0, 1795168800 },
		{ CET, NOW, "2026-11-20T15:30:00+05:30", 0, 1795168800 },
		{ CET, NOW, "2026-11-20T10:00:00.999Z", 0, 1795168800 },
		{ CET, NOW, "2026-11-20T10:00:00.123456789+00:00", 0,
		    1795168800 },
		{ CET, NOW, "1970-01-01T00:00:00Z", 0, 0 },
		/* Refused: nothing is guessed. */
		{ "UTC0", NOW, "", -1, 0 },
		{ "UTC0", NOW, "2h", -1, 0 },
		{ "UTC0", NOW, "-", -1, 0 },
		{ "UTC0", NOW, "--2h", -1, 0 },
		{ "UTC0", NOW, "-2h ", -1, 0 },
		{ "UTC0", NOW, "-2w", -1, 0 },
		{ "UTC0", NOW, "-1h30m", -1, 0 },
		{ "UTC0", NOW, "-11000d", -1, 0 },
		{ "UTC0", NOW, "Today", -1, 0 },
		{ "UTC0", NOW, "yesterday ", -1, 0 },
		{ "UTC0", NOW, "2026-11-20", -1, 0 },
		{ "UTC0", NOW, "2026-11-20T10:00", -1, 0 },
		{ "UTC0", NOW, "2026-11-20T10:00:00", -1, 0 },
		{ "UTC0", NOW, "2026-11-20T10:00:00.Z", -1, 0 },
		{ "UTC0", NOW, "2026-11-20T10:00:00.1234567890Z", -1, 0 },
		{ "UTC0", NOW, "2026-11-20T10:00:00+0100", -1, 0 },
		{ "UTC0", NOW, "2026-11-20T10:00:00+24:00", -1, 0 },
		{ "UTC0", NOW, "2026-11-20T10:00:00+01:60", -1, 0 },
		{ "UTC0", NOW, "2026-11-20T10:00:00+01:00x", -1, 0 },
		{ "UTC0", NOW, "2026-11-20X10:00:00Z", -1, 0 },
		{ "UTC0", NOW, "2026-02-30T10:00:00Z", -1, 0 },
		{ "UTC0", NOW, "1970-01-01T00:30:00+01:00", -1, 0 },
		/* Not before 1970, counted back or forward. */
		{ "UTC0", (time_t)3600, "-2h", -1, 0 },
		{ "UTC0", (time_t)3600, "-1h", 0, 0 },
	};
	time_t	 v;
	size_t	 i;

	for (i = 0; i < N(t); i++) {
		setenv("TZ", t[i].tz, 1);
		tzset();
		v = 4242;
		if (parse_when(t[i].in, t[i].now, &v) != t[i].rc)
			fail_msg("parse_when(\"%s\") in %s: not %d", t[i].in,
			    t[i].tz, t[i].rc);
		if (v != (t[i].rc == 0 ? t[i].t : 4242))
			fail_msg("parse_when(\"%s\") in %s: %lld", t[i].in,
			    t[i].tz, (long long)v);
	}
	v = 4242;
	assert_int_equal(parse_when(" -2h", NOW, &v), -1);
	assert_int_equal(parse_when(NULL, NOW, &v), -1);
	assert_true(v == 4242);
	unsetenv("TZ");
	tzset();
#undef NOW
#undef SPRING
#undef CET
}

static void
test_hostport(void **state)
{
	static const struct {
		const char	*in;
		int		 rc;
		const char	*host;
		uint16_t	 port;
	} t[] = {
		{ "relay.example.com:2222", 0, "relay.example.com", 2222 },
		{ "127.0.0.1:8021", 0, "127.0.0.1", 8021 },
		{ "[::1]:22", 0, "::1", 22 },
		{ "[2001:db8::5]:65535", 0, "2001:db8::5", 65535 },
		{ "my_host-1:1", 0, "my_host-1", 1 },
		{ "host:0", -1, NULL, 0 },
		{ "host:65536", -1, NULL, 0 },
		{ "host:", -1, NULL, 0 },
		{ "host", -1, NULL, 0 },
		{ ":22", -1, NULL, 0 },
		{ "::1:22", -1, NULL, 0 },
		{ "[::1]", -1, NULL, 0 },
		{ "[::1]22", -1, NULL, 0 },
		{ "[]:22", -1, NULL, 0 },
		{ "[::1:22", -1, NULL, 0 },
		{ "ho st:22", -1, NULL, 0 },
		{ "host:22 ", -1, NULL, 0 },
		{ "host:-22", -1, NULL, 0 },
		{ "host/x:22", -1, NULL, 0 },
		{ "", -1, NULL, 0 },
	};
	char		 host[256], big[300];
	uint16_t	 port;
	size_t		 i;

	for (i = 0; i < N(t); i++) {
		strcpy(host, "untouched");
		port = 4242;
		assert_int_equal(parse_hostport(t[i].in, host, sizeof(host),
		    &port), t[i].rc);
		assert_string_equal(host, t[i].rc == 0 ? t[i].host :
		    "untouched");
		assert_int_equal(port, t[i].rc == 0 ? t[i].port : 4242);
	}

	/* 255 characters of host fit; 256 do not; nor a short buffer. */
	memset(big, 'a', 255);
	strcpy(big + 255, ":1");
	assert_int_equal(parse_hostport(big, host, sizeof(host), &port), 0);
	assert_int_equal(strlen(host), 255);
	memset(big, 'a', 256);
	strcpy(big + 256, ":1");
	assert_int_equal(parse_hostport(big, host, sizeof(host), &port), -1);
	assert_int_equal(parse_hostport("abcd:1", host, 4, &port), -1);
	assert_int_equal(parse_hostport("abc:1", host, 4, &port), 0);
	assert_string_equal(host, "abc");
}

static void
test_list(void **state)
{
	char	**v;
	size_t	 n;

	assert_int_equal(parse_list("a", 4, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], "a");
	assert_null(v[1]);
	parse_list_free(v);

	assert_int_equal(parse_list(" /, \t/var/opt/product ,x y ", 4, &v,
	    &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "/");
	assert_string_equal(v[1], "/var/opt/product");
	assert_string_equal(v[2], "x y");
	assert_null(v[3]);
	parse_list_free(v);

	/* Exactly max items, then one too many. */
	assert_int_equal(parse_list("a,b,c,d", 4, &v, &n), 0);
	assert_int_equal(n, 4);
	parse_list_free(v);
	v = NULL;
	assert_int_equal(parse_list("a,b,c,d,e", 4, &v, &n), -1);
	assert_null(v);

	/* Empty items anywhere are refused. */
	assert_int_equal(parse_list("", 4, &v, &n), -1);
	assert_int_equal(parse_list("  ", 4, &v, &n), -1);
	assert_int_equal(parse_list("a,", 4, &v, &n), -1);
	assert_int_equal(parse_list(",a", 4, &v, &n), -1);
	assert_int_equal(parse_list("a,,b", 4, &v, &n), -1);
	assert_int_equal(parse_list("a, ,b", 4, &v, &n), -1);
	assert_null(v);
	parse_list_free(NULL);
}

static void
test_utf8(void **state)
{
	static const struct {
		const char	*s;
		size_t		 len;
		int		 ok;
	} t[] = {
		{ "", 0, 1 },
		{ "/var/log/a.log", 14, 1 },
		{ "caf\xc3\xa9", 5, 1 },		/* U+00E9 */
		{ "\xe2\x82\xac", 3, 1 },		/* U+20AC */
		{ "\xf0\x9f\x98\x80", 4, 1 },	/* U+1F600 */
		{ "\xf4\x8f\xbf\xbf", 4, 1 },	/* U+10FFFF */
		{ "\xed\x9f\xbf", 3, 1 },		/* U+D7FF */
		{ "\xff", 1, 0 },
		{ "a\x80", 2, 0 },			/* lone continuation */
		{ "\xc3", 1, 0 },			/* cut short */
		{ "\xe2\x82", 2, 0 },
		{ "\xc3\x28", 2, 0 },			/* bad continuation */
		{ "\xc0\xaf", 2, 0 },			/* overlong '/' */
		{ "\xc1\xbf", 2, 0 },
		{ "\xe0\x80\xaf", 3, 0 },		/* overlong '/' */
		{ "\xf0\x80\x80\xaf", 4, 0 },	/* overlong '/' */
		{ "\xed\xa0\x80", 3, 0 },		/* surrogate U+D800 */
		{ "\xed\xbf\xbf", 3, 0 },		/* surrogate U+DFFF */
		{ "\xf4\x90\x80\x80", 4, 0 },	/* U+110000 */
		{ "\xf5\x80\x80\x80", 4, 0 },
		{ "a\0b", 3, 0 },			/* NUL */
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (parse_utf8(t[i].s, t[i].len) != t[i].ok)
			fail_msg("row %zu: parse_utf8 gave %d", i, !t[i].ok);
	}
}

/* Untrusted text on a terminal: every control escaped, nothing forged. */
static void
test_escape(void **state)
{
	static const struct {
		const char	*in;
		size_t		 len;
		const char	*out;
	} t[] = {
		{ "plain text", 10, "plain text" },
		{ "\x1b[2J", 4, "\\x1b[2J" },
		{ "\\x1b[2J", 7, "\\\\x1b[2J" },		/* a forged escape */
		{ "a\x1b[31mred\a", 10, "a\\x1b[31mred\\x07" },
		{ "\033]0;title\007", 10, "\\x1b]0;title\\x07" },
		{ "cr\rlf\n", 6, "cr\\x0dlf\\x0a" },
		{ "del\x7f", 4, "del\\x7f" },
		{ "\xc2\x9b" "2J", 4, "\\xc2\\x9b2J" },	/* C1 CSI */
		{ "\xc2\xa0" "caf\xc3\xa9", 7, "\xc2\xa0" "caf\xc3\xa9" },
		{ "\x9b" "2J", 3, "\\x9b2J" },		/* a stray byte */
		{ "\xe2\x82", 2, "\\xe2\\x82" },	/* cut character */
		{ "nul\0x", 5, "nul\\x00x" },
		{ "back\\slash", 10, "back\\\\slash" },
	};
	char	out[64];
	size_t	i, n;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = escape_text(t[i].in, t[i].len, out, sizeof(out));
		if (strcmp(out, t[i].out) != 0 || n != strlen(t[i].out))
			fail_msg("row %zu: escape_text gave '%s'", i, out);
		if (escape_needed(t[i].in, t[i].len) !=
		    (strcmp(t[i].in, t[i].out) != 0 || t[i].len != strlen(t[i].in)))
			fail_msg("row %zu: escape_needed is wrong", i);
	}
	/* Cut short: never inside an escape, and the full length told. */
	n = escape_text("ab\x1b", 3, out, 5);
	assert_string_equal(out, "ab");
	assert_int_equal(n, 6);
}

static void
test_percent_decimal(void **state)
{
	static const struct {
		const char	*in;
		int		 rc;
		unsigned	 v;
	} p[] = {
		{ "85%", 0, 85 }, { "85", 0, 85 }, { "100%", 0, 100 },
		{ "1%", 0, 1 }, { "0%", -1, 0 }, { "101%", -1, 0 },
		{ "85 %", -1, 0 }, { "%", -1, 0 }, { "-5%", -1, 0 },
		{ "85%%", -1, 0 }, { "8.5%", -1, 0 }, { "", -1, 0 },
	};
	static const struct {
		const char	*in;
		int		 rc;
		double		 v;
	} d[] = {
		{ "2", 0, 2.0 }, { "2.0", 0, 2.0 }, { "0.75", 0, 0.75 },
		{ "1000", 0, 1000.0 }, { "1000.5", -1, 0 }, { "0", -1, 0 },
		{ "2.", -1, 0 }, { ".5", -1, 0 }, { "1e3", -1, 0 },
		{ "-1", -1, 0 }, { "+1", -1, 0 }, { "inf", -1, 0 },
		{ "nan", -1, 0 }, { "1.1234567", -1, 0 }, { " 1", -1, 0 },
		{ "0x10", -1, 0 },
	};
	unsigned	u;
	double		v;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		u = 12345;
		if (parse_percent(p[i].in, 1, 100, &u) != p[i].rc ||
		    (p[i].rc == 0 && u != p[i].v))
			fail_msg("parse_percent(\"%s\")", p[i].in);
	}
	assert_int_equal(parse_percent("50%", 1, 40, &u), -1);
	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		v = -1;
		if (parse_decimal(d[i].in, 0.001, 1000, &v) != d[i].rc ||
		    (d[i].rc == 0 && v != d[i].v))
			fail_msg("parse_decimal(\"%s\")", d[i].in);
	}
}

/* One character at a time, for a stream: a cut one waits for the rest. */
static void
test_escape_char(void **state)
{
	static const struct {
		const char	*in;
		size_t		 len, n;
		int		 pass;
	} t[] = {
		{ "a", 1, 1, 1 }, { "\\", 1, 1, 1 }, { "\x1b[", 2, 1, 0 },
		{ "\x7f", 1, 1, 0 }, { "", 1, 1, 0 },		/* NUL */
		{ "\xc2\x9b" "2J", 4, 2, 0 },		/* C1 CSI */
		{ "\xc2\x85", 2, 2, 0 },			/* NEL */
		{ "\xc2\xa0", 2, 2, 1 }, { "\xe2\x82\xac", 3, 3, 1 },
		{ "\xf0\x9f\x94\x91", 4, 4, 1 },
		{ "\xc2", 1, 0, 0 }, { "\xe2\x82", 2, 0, 0 },	/* cut */
		{ "\xf0\x9f\x94", 3, 0, 0 },
		{ "\x9b" "2J", 3, 1, 0 }, { "\xff", 1, 1, 0 },	/* stray */
		{ "\xe2" "a", 2, 1, 0 }, { "\xc0\x80", 2, 1, 0 },
		{ "\xed\xa0\x80", 3, 1, 0 },		/* surrogate */
	};
	size_t	i, n;
	int	pass;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = escape_char(t[i].in, t[i].len, &pass);
		if (n != t[i].n || pass != t[i].pass)
			fail_msg("row %zu: %zu bytes, pass %d", i, n, pass);
	}
	assert_int_equal(escape_char("x", 0, &pass), 0);
}

/* One family of identifier checks: each alphabet, its bounds, no NUL. */
static void
test_ident(void **state)
{
	(void)state;
	assert_true(ident_valid("acme-prod_2.eu", 64, IDENT_NAME));
	assert_false(ident_valid("acme prod", 64, IDENT_NAME));
	assert_false(ident_valid("env:1", 64, IDENT_NAME));
	assert_true(ident_valid("env:1", 64, IDENT_LABEL));
	assert_false(ident_valid("", 64, IDENT_NAME));
	assert_false(ident_valid(NULL, 64, IDENT_NAME));
	assert_true(ident_valid("abc", 3, IDENT_NAME));
	assert_false(ident_valid("abcd", 3, IDENT_NAME));
	assert_true(ident_valid("node_added2", 64, IDENT_SNAKE));
	assert_false(ident_valid("Node", 64, IDENT_SNAKE));
	assert_false(ident_valid("node2", 64, IDENT_LOWER));
	assert_true(ident_valid("0af9", 64, IDENT_HEX));
	assert_false(ident_valid("0AF9", 64, IDENT_HEX));
	/* Bytes above ASCII are in no alphabet, whatever the locale. */
	assert_false(ident_valid("caf\xc3\xa9", 64, IDENT_NAME));
	assert_false(ident_valid_len("ab\0c", 4, 64, IDENT_NAME));
	assert_true(ident_valid_len("abc", 3, 64, IDENT_NAME));
	assert_int_equal(ident_span("auth_refused\",", IDENT_LOWER), 12);
	assert_string_equal(ident_alphabet(IDENT_LABEL),
	    "A-Z a-z 0-9 . _ : -");
}

/* lib/csv: RFC 4180 quoting and the spreadsheet-formula guard. */
static void
test_csv(void **state)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f;

	(void)state;
	assert_non_null(f = open_memstream(&buf, &len));
	assert_int_equal(csv_text(f, "plain", 1), 0);
	assert_int_equal(csv_text(f, "a,b", 0), 0);
	assert_int_equal(csv_text(f, "say \"hi\"", 0), 0);
	assert_int_equal(csv_text(f, "two\nlines", 0), 0);
	assert_int_equal(csv_text(f, "=1+1", 0), 0);
	assert_int_equal(csv_text(f, "@SUM(A1)", 0), 0);
	assert_int_equal(csv_text(f, "", 0), 0);
	assert_int_equal(csv_number(f, 0.1), 0);
	assert_int_equal(csv_number(f, 12.5), 0);
	assert_int_equal(csv_number(f, 1.0 / 3), 0);
	assert_int_equal(csv_end(f), 0);
	fclose(f);
	assert_string_equal(buf, "plain,\"a,b\",\"say \"\"hi\"\"\","
	    "\"two\nlines\",\"'=1+1\",\"'@SUM(A1)\",,0.1,12.5,"
	    "0.33333333333333331\r\n");
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_percent_decimal),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_format_duration),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_when),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_char),
		cmocka_unit_test(test_ident),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
