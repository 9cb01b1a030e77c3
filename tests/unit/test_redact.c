/*
 * test_redact.c - the redaction engine: what leaves is the input with
 * every match starred, whatever the chunks it arrived in.
 *
 * Each row is run once whole and then cut at every position (and fed
 * byte by byte), and every run must give the same bytes and counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/redact.h"

#define N(a)		(sizeof(a) / sizeof((a)[0]))
#define SECRET		"(password|secret|token) *[=:] *[^ ]+"
#define AWS		"AKIA[0-9A-Z]{16}"

/* Where a stream's output is collected. */
struct sink {
	char	*buf;
	size_t	 len, cap;
	int	 calls;
	int	 fail_at;	/* refuse the emit of this number (0: never) */
};

static int
sink_emit(void *arg, const void *buf, size_t len)
{
	struct sink *k = arg;

	k->calls++;
	if (k->fail_at != 0 && k->calls == k->fail_at)
		return -1;
	if (k->len + len > k->cap) {
		k->cap = (k->len + len) * 2 + 64;
		assert_non_null(k->buf = realloc(k->buf, k->cap));
	}
	memcpy(k->buf + k->len, buf, len);
	k->len += len;
	return 0;
}

/* pats: "name=regex" strings. */
static struct redact *
make(const char *const *pats, size_t n)
{
	struct redact	*r;
	char		 err[256], name[64];
	const char	*eq;
	size_t		 i;

	assert_non_null(r = redact_new());
	for (i = 0; i < n; i++) {
		assert_non_null(eq = strchr(pats[i], '='));
		snprintf(name, sizeof(name), "%.*s", (int)(eq - pats[i]),
		    pats[i]);
		if (redact_add(r, name, eq + 1, err, sizeof(err)) == -1)
			fail_msg("%s: %s", pats[i], err);
	}
	return r;
}

/*
 * Feed in[0..len) cut at the offsets in cuts (ascending), collect the
 * output into *out (len bytes, the caller frees) and the counts.
 */
static void
run(const struct redact *r, const char *in, size_t len, const size_t *cuts,
    size_t ncuts, char **out, uint64_t *counts, uint64_t *longs)
{
	struct redact_stream	*s;
	struct sink		 k = { NULL, 0, 0, 0, 0 };
	char			*copy;
	size_t			 i, at = 0, to;

	assert_non_null(s = redact_stream_new(r));
	assert_non_null(copy = malloc(len + 1));
	memcpy(copy, in, len);
	for (i = 0; i <= ncuts; i++) {
		to = i < ncuts ? cuts[i] : len;
		assert_int_equal(redact_stream_feed(s, copy + at, to - at,
		    sink_emit, &k), 0);
		at = to;
	}
	assert_int_equal(redact_stream_end(s, sink_emit, &k), 0);
	assert_int_equal(k.len, len);
	for (i = 0; i < redact_count(r); i++)
		counts[i] = redact_stream_matches(s, i);
	*longs = redact_stream_long_lines(s);
	redact_stream_free(s);
	free(copy);
	*out = k.buf != NULL ? k.buf : calloc(1, 1);
}

/* Whole, cut once at every position, and byte by byte: all the same. */
static void
check(const struct redact *r, const char *in, size_t len, const char *want,
    const uint64_t *want_counts, uint64_t want_longs)
{
	uint64_t	 counts[REDACT_MAX_PATTERNS], longs;
	size_t		*cuts, i, c;
	char		*out;

	run(r, in, len, NULL, 0, &out, counts, &longs);
	assert_memory_equal(out, want, len);
	for (i = 0; i < redact_count(r); i++)
		assert_int_equal(counts[i], want_counts[i]);
	assert_int_equal(longs, want_longs);
	free(out);
	for (c = 0; c <= len; c++) {
		run(r, in, len, &c, 1, &out, counts, &longs);
		assert_memory_equal(out, want, len);
		for (i = 0; i < redact_count(r); i++)
			assert_int_equal(counts[i], want_counts[i]);
		free(out);
	}
	assert_non_null(cuts = calloc(len + 1, sizeof(*cuts)));
	for (c = 0; c < len; c++)
		cuts[c] = c + 1;
	run(r, in, len, cuts, len > 0 ? len - 1 : 0, &out, counts, &longs);
	assert_memory_equal(out, want, len);
	assert_int_equal(longs, want_longs);
	free(out);
	free(cuts);
}

static void
test_rows(void **state)
{
	static const char *const two[] = { "secret=" SECRET, "aws=" AWS };
	static const struct {
		const char	*in;
		size_t		 len;
		const char	*want;
		uint64_t	 secret, aws;
	} t[] = {
#define ROW(in, want, s, a) { in, sizeof(in) - 1, want, s, a }
		ROW("db.password = hunter2\n",
		    "db.******************\n", 1, 0),
		ROW("nothing to see here\n", "nothing to see here\n", 0, 0),
		ROW("", "", 0, 0),
		ROW("\n\n\n", "\n\n\n", 0, 0),
		/* The last line without its '\n'. */
		ROW("x\ntoken:abc", "x\n*********", 1, 0),
		ROW("key AKIAIOSFODNN7EXAMPLE end\n",
		    "key ******************** end\n", 0, 1),
		/* Fifteen characters after AKIA are not a key. */
		ROW("AKIAIOSFODNN7EXAMPL\n", "AKIAIOSFODNN7EXAMPL\n", 0, 0),
		/* A NUL hides nothing after it, and is starred in a match. */
		ROW("a\0b password=x y\n", "a\0b ********** y\n", 1, 0),
		ROW("token=ab\0cd e\n", "*********** e\n", 1, 0),
		/* CRLF: the '\r' is not part of the line. */
		ROW("password=x\r\nsecret: y\r\n",
		    "**********\r\n*********\r\n", 2, 0),
		/* Two patterns overlapping: both count, the union starred. */
		ROW("token=AKIAAAAAAAAAAAAAAAAA\n",
		    "**************************\n", 1, 1),
		ROW("AKIAAAAAAAAAAAAAAAAA token= z\n",
		    "******************** ********\n", 1, 1),
		/* Several matches on a line, several lines. */
		ROW("secret=a secret=b\n"
		    "AKIAAAAAAAAAAAAAAAAAAKIABBBBBBBBBBBBBBBB\n",
		    "******** ********\n"
		    "****************************************\n", 2, 2),
		/* A match at the very end of the input, no newline. */
		ROW("see AKIA0123456789ABCDEF", "see ********************", 0,
		    1),
#undef ROW
	};
	struct redact	*r = make(two, N(two));
	uint64_t	 want[2];
	size_t		 i;

	for (i = 0; i < N(t); i++) {
		want[0] = t[i].secret;
		want[1] = t[i].aws;
		check(r, t[i].in, t[i].len, t[i].want, want, 0);
	}
	redact_free(r);
}

static void
test_no_literal(void **state)
{
	static const char *const pats[] = {
		"card=[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{4}",
	};
	static const char in[] = "paid 1234-5678-9012-3456 ok\n"
	    "x 1234-5678 y 1234567890123456\n";
	static const char want[] = "paid ******************* ok\n"
	    "x 1234-5678 y ****************\n";
	struct redact	*r = make(pats, N(pats));
	uint64_t	 two = 2;
	char		 pf[128];

	/* Nothing every match holds: it runs on every line. */
	assert_string_equal(redact_prefilter(r, 0, pf, sizeof(pf)), "");
	check(r, in, sizeof(in) - 1, want, &two, 0);
	redact_free(r);
}

/* A pattern that also matches empty strings stars only what it covers. */
static void
test_empty_matches(void **state)
{
	static const char *const pats[] = { "w=\\bfoo|\\b" };
	static const char in[] = "a foo b foo\n";
	static const char want[] = "a *** b ***\n";
	struct redact	*r = make(pats, N(pats));
	uint64_t	 two = 2;

	check(r, in, sizeof(in) - 1, want, &two, 0);
	redact_free(r);
}

/* '^' is the line's start, never where a search resumed. */
static void
test_anchors(void **state)
{
	static const char *const pats[] = { "a=^ab", "b=cd$" };
	static const char in[] = "abab cdcd\nxab cdx\nab\r\n";
	static const char want[] = "**ab cd**\nxab cdx\n**\r\n";
	struct redact	*r = make(pats, N(pats));
	uint64_t	 want_counts[] = { 2, 1 };

	check(r, in, sizeof(in) - 1, want, want_counts, 0);
	redact_free(r);
}

static void
test_long_lines(void **state)
{
	static const char *const pats[] = { "secret=" SECRET };
	struct redact	*r = make(pats, N(pats));
	const size_t	 longlen = REDACT_LINE_MAX + 1;
	char		*in, *want, *out;
	uint64_t	 counts[1], longs;
	size_t		 len, at = 0, cuts[3];

	/* A line of exactly REDACT_LINE_MAX bytes is matched as usual. */
	len = REDACT_LINE_MAX + 1 + longlen + 1 + 11 + 20;
	assert_non_null(in = malloc(len));
	assert_non_null(want = malloc(len));
	memset(in, 'a', REDACT_LINE_MAX);
	memcpy(in + REDACT_LINE_MAX - 10, "password=x", 10);
	in[REDACT_LINE_MAX] = '\n';
	at = REDACT_LINE_MAX + 1;
	/* One byte more: starred whole, a secret inside or not. */
	memset(in + at, 'b', longlen);
	in[at + longlen] = '\n';
	at += longlen + 1;
	memcpy(in + at, "password=y\n", 11);
	at += 11;
	memcpy(in + at, "a long unended line.", 20);
	at += 20;
	assert_int_equal(at, len);

	memcpy(want, in, len);
	memset(want + REDACT_LINE_MAX - 10, '*', 10);
	memset(want + REDACT_LINE_MAX + 1, '*', longlen);
	memset(want + REDACT_LINE_MAX + 1 + longlen + 1, '*', 10);

	run(r, in, len, NULL, 0, &out, counts, &longs);
	assert_memory_equal(out, want, len);
	assert_int_equal(counts[0], 2);
	assert_int_equal(longs, 1);
	free(out);
	/* Cut inside each line, and at the limit of the held line. */
	cuts[0] = 100;
	cuts[1] = REDACT_LINE_MAX + 1 + 5000;
	cuts[2] = REDACT_LINE_MAX + 1 + REDACT_LINE_MAX;
	run(r, in, len, cuts, 3, &out, counts, &longs);
	assert_memory_equal(out, want, len);
	assert_int_equal(counts[0], 2);
	assert_int_equal(longs, 1);
	free(out);
	cuts[0] = REDACT_LINE_MAX + 1 + longlen - 1;
	cuts[1] = REDACT_LINE_MAX + 1 + longlen;
	cuts[2] = REDACT_LINE_MAX + 1 + longlen + 1;
	run(r, in, len, cuts, 3, &out, counts, &longs);
	assert_memory_equal(out, want, len);
	assert_int_equal(longs, 1);
	free(out);
	free(in);
	free(want);

	/* A long line at the end of the input, never ended. */
	len = 3 * REDACT_LINE_MAX;
	assert_non_null(in = malloc(len));
	assert_non_null(want = malloc(len));
	memset(in, 'c', len);
	memset(want, '*', len);
	cuts[0] = 10;
	run(r, in, len, cuts, 1, &out, counts, &longs);
	assert_memory_equal(out, want, len);
	assert_int_equal(longs, 1);
	free(out);
	free(in);
	free(want);
	redact_free(r);
}

/*
 * Many lines fed in chunks that fall anywhere, secrets near every
 * window's edge: the output is what plain regexec on each line gives.
 */
static void
test_big_stream(void **state)
{
	static const char *const two[] = { "secret=" SECRET, "aws=" AWS };
	struct redact	*r = make(two, N(two));
	const size_t	 len = 5 * REDACT_LINE_MAX + 12345;
	char		*in, *want, *out, line[128];
	uint64_t	 counts[2], longs, nsec = 0, naws = 0;
	size_t		 at = 0, n, cuts[64], i;
	unsigned int	 seed = 7;

	assert_non_null(in = malloc(len));
	assert_non_null(want = malloc(len));
	while (at < len) {
		seed = seed * 1103515245 + 12345;
		switch ((seed >> 16) % 5) {
		case 0:
			n = (size_t)snprintf(line, sizeof(line),
			    "user=%u password = hunter%u\n", seed % 97,
			    seed % 13);
			break;
		case 1:
			n = (size_t)snprintf(line, sizeof(line),
			    "key AKIA%016u!\n", seed);
			break;
		default:
			n = (size_t)snprintf(line, sizeof(line),
			    "2026-05-01 INFO request %u served\n", seed);
			break;
		}
		if (n > len - at)
			n = len - at;
		memcpy(in + at, line, n);
		memcpy(want + at, line, n);
		if (n == strlen(line)) {
			char *p;

			if ((p = memmem(want + at, n, "password", 8)) != NULL) {
				memset(p, '*', (size_t)(want + at + n - 1 - p));
				nsec++;
			}
			if ((p = memmem(want + at, n, "AKIA", 4)) != NULL) {
				memset(p, '*', 20);
				naws++;
			}
		}
		at += n;
	}
	/* The last line may be cut: recount it by hand would be fragile. */
	for (i = 0; i < N(cuts); i++) {
		seed = seed * 1103515245 + 12345;
		cuts[i] = (i == 0 ? 0 : cuts[i - 1]) + (seed >> 8) % 40000;
		if (cuts[i] > len)
			cuts[i] = len;
	}
	run(r, in, len, NULL, 0, &out, counts, &longs);
	assert_memory_equal(out, want, len - 64);
	assert_true(counts[0] >= nsec && counts[0] <= nsec + 1);
	assert_true(counts[1] >= naws && counts[1] <= naws + 1);
	free(out);
	run(r, in, len, cuts, N(cuts), &out, counts, &longs);
	assert_memory_equal(out, want, len - 64);
	assert_int_equal(longs, 0);
	free(out);
	free(in);
	free(want);
	redact_free(r);
}

static void
test_prefilter(void **state)
{
	static const struct {
		const char	*regex;
		const char	*want;
	} t[] = {
		{ AWS, "AKIA" },
		{ SECRET, "password|secret|token" },
		{ "ab+c", "ab" },
		{ "abc{2}d", "abc" },
		{ "ab*cd", "cd" },
		{ "a{0,3}bcd", "bcd" },
		{ "[.]example[.]com", ".example.com" },
		{ "x\\.y\\+z", "x.y+z" },
		{ "(foo)?barbaz", "barbaz" },
		{ "(foo)+ba", "foo" },
		{ "foo|ba", "foo|ba" },
		{ "foo|.*x", "foo|x" },
		{ "foo|[a-z]+", "" },
		{ "foo|(bar)?z", "foo|z" },
		{ "foo|(bar)*[0-9]", "" },
		{ "\\bkey\\b", "key" },
		{ "\\w+@example", "@example" },
		{ "[0-9]+", "" },
		{ "[^x]yz", "yz" },
		{ "[[:alpha:]]+_id=[a-f0-9]{32}", "_id=" },
		{ "[]x]yz", "yz" },
		{ "(a|b)(cd|ef)", "cd|ef" },
		{ "((pass|auth)word|api_?key)=", "word|api" },
		{ "(x)\\1yy", "yy" },
		{ "a)bc", "a)bc" },
		{ "ab{,}c", "a" },
		{ "^-----BEGIN [A-Z ]*PRIVATE KEY", "-----BEGIN " },
	};
	struct redact	*r;
	char		 err[256], pf[256];
	size_t		 i;

	for (i = 0; i < N(t); i++) {
		assert_non_null(r = redact_new());
		if (redact_add(r, "p", t[i].regex, err, sizeof(err)) == -1)
			fail_msg("%s: %s", t[i].regex, err);
		redact_prefilter(r, 0, pf, sizeof(pf));
		if (strcmp(pf, t[i].want) != 0)
			fail_msg("%s: prefilter '%s', want '%s'", t[i].regex,
			    pf, t[i].want);
		redact_free(r);
	}
}

static void
test_refused(void **state)
{
	static const struct {
		const char	*regex;
		const char	*err;
	} t[] = {
		{ "(password", "invalid regular expression: " },
		{ "[a-", "invalid regular expression: " },
		{ "a{2,1}", "invalid regular expression: " },
		{ "x*", "it matches an empty line" },
		{ "(a|)", "it matches an empty line" },
		{ "^", "it matches an empty line" },
		{ "a\tb", "a control character in the pattern" },
		{ ".{0,502}x", "too complex: its repeats add more than 500 "
		    "positions to it" },
		{ "((.?){0,10}){0,100}", "too complex" },
		{ "(a{0,64}b){0,64}", "too complex" },
		{ "((a{10}){10}){11}", "too complex" },
		{ "a++++++++++++++++++++++++++++++++++++++++", "too complex" },
		{ "((((((((((((((((((a))))))))))))))))))", "groups nested "
		    "deeper than 16" },
		/* Not followed by the analysis, and too heavy to compile. */
		{ "[0-9]++++++++++++++++++++++[]-{094}", "a form porthole "
		    "cannot weigh" },
	};
	struct redact	*r;
	char		 err[256], name[16], lit[1001];
	size_t		 i;

	assert_non_null(r = redact_new());
	for (i = 0; i < N(t); i++) {
		assert_int_equal(redact_add(r, "p", t[i].regex, err,
		    sizeof(err)), -1);
		if (strncmp(err, t[i].err, strlen(t[i].err)) != 0)
			fail_msg("%s: '%s', want '%s...'", t[i].regex, err,
			    t[i].err);
	}
	assert_int_equal(redact_count(r), 0);
	/* At the bound, and the patterns of the issue, are taken. */
	assert_int_equal(redact_add(r, "p", ".{0,501}x", err, sizeof(err)), 0);
	/* A long literal adds nothing: only repeats weigh. */
	memset(lit, 'a', sizeof(lit) - 1);
	lit[sizeof(lit) - 1] = '\0';
	assert_int_equal(redact_add(r, "l", lit, err, sizeof(err)), 0);
	assert_int_equal(redact_add(r, "q", "[A-Za-z0-9/+=]{40}", err,
	    sizeof(err)), 0);
	redact_free(r);
	assert_non_null(r = redact_new());
	for (i = 0; i < REDACT_MAX_PATTERNS; i++) {
		snprintf(name, sizeof(name), "p%zu", i);
		assert_int_equal(redact_add(r, name, "x", err, sizeof(err)), 0);
	}
	assert_int_equal(redact_add(r, "one_more", "x", err, sizeof(err)), -1);
	assert_string_equal(err, "more than 64 patterns");
	assert_string_equal(redact_name(r, 3), "p3");
	assert_string_equal(redact_regex(r, 3), "x");
	redact_free(r);
}

/* No pattern: bytes pass unchanged, long lines too. */
static void
test_pass_through(void **state)
{
	struct redact	*r;
	char		*in, *out;
	uint64_t	 longs;
	size_t		 len = 2 * REDACT_LINE_MAX, cut = 7;

	assert_non_null(r = redact_new());
	assert_non_null(in = malloc(len));
	memset(in, 'p', len);
	memcpy(in, "password=hunter2\n", 17);
	run(r, in, len, &cut, 1, &out, NULL, &longs);
	assert_memory_equal(out, in, len);
	assert_int_equal(longs, 0);
	free(out);
	free(in);
	redact_free(r);
}

/* A cut input: the unended last line is starred whole, not matched. */
static void
test_cut(void **state)
{
	static const char *const pats[] = { "aws=" AWS };
	struct redact		*r = make(pats, N(pats));
	struct redact_stream	*s;
	struct sink		 k = { NULL, 0, 0, 0, 0 };
	char			 in[] = "ok line\nkey AKIAIOSFOD";

	assert_non_null(s = redact_stream_new(r));
	assert_int_equal(redact_stream_feed(s, in, strlen(in), sink_emit, &k),
	    0);
	assert_int_equal(redact_stream_cut(s, sink_emit, &k), 0);
	assert_int_equal(k.len, strlen(in));
	assert_memory_equal(k.buf, "ok line\n***************", k.len);
	assert_int_equal(redact_stream_long_lines(s), 1);
	assert_int_equal(redact_stream_total(s), 1);
	redact_stream_free(s);
	free(k.buf);
	redact_free(r);
}

static void
test_emit_fails(void **state)
{
	static const char *const pats[] = { "aws=" AWS };
	struct redact		*r = make(pats, N(pats));
	struct redact_stream	*s;
	struct sink		 k = { NULL, 0, 0, 0, 2 };
	char			 a[] = "one\ntwo\nthr", b[] = "ee\n";

	assert_non_null(s = redact_stream_new(r));
	assert_int_equal(redact_stream_feed(s, a, strlen(a), sink_emit, &k),
	    0);
	assert_int_equal(redact_stream_feed(s, b, strlen(b), sink_emit, &k),
	    -1);
	/* A stream that failed stays failed. */
	assert_int_equal(redact_stream_feed(s, b, strlen(b), sink_emit, &k),
	    -1);
	assert_int_equal(redact_stream_end(s, sink_emit, &k), -1);
	redact_stream_free(s);
	free(k.buf);
	redact_free(r);
}

static void
test_sniff(void **state)
{
	static const struct {
		const char	*head;
		size_t		 len;
		const char	*want;
	} t[] = {
		{ "2026-05-01 INFO started\n", 24, NULL },
		{ "", 0, NULL },
		{ "\x1f\x8b\x08\x00", 4, "a compressed file (gzip)" },
		{ "\x28\xb5\x2f\xfd\x00", 5, "a compressed file (zstd)" },
		{ "\xfd" "7zXZ\0\0", 7, "a compressed file (xz)" },
		{ "BZh91AY", 7, "a compressed file (bzip2)" },
		{ "PK\x03\x04", 4, "a compressed file (zip)" },
		{ "\x7f" "ELF\x02\x01\x01\0", 8,
		    "a binary file (it holds a NUL byte)" },
		{ "\x1f", 1, NULL },
	};
	const char	*why;
	char		*big;
	size_t		 i;

	for (i = 0; i < N(t); i++) {
		why = redact_sniff(t[i].head, t[i].len);
		if (t[i].want == NULL)
			assert_null(why);
		else
			assert_string_equal(why, t[i].want);
	}
	/* Only the first REDACT_SNIFF_LEN bytes are looked at. */
	assert_non_null(big = calloc(1, REDACT_SNIFF_LEN + 1));
	memset(big, 'x', REDACT_SNIFF_LEN);
	assert_null(redact_sniff(big, REDACT_SNIFF_LEN + 1));
	big[REDACT_SNIFF_LEN - 1] = '\0';
	assert_non_null(redact_sniff(big, REDACT_SNIFF_LEN + 1));
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_no_literal),
		cmocka_unit_test(test_empty_matches),
		cmocka_unit_test(test_anchors),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_big_stream),
		cmocka_unit_test(test_prefilter),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_pass_through),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_emit_fails),
		cmocka_unit_test(test_sniff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
