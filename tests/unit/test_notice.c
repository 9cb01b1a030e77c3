/*
 * test_notice.c - update notices as the relay and the gateway read them:
 * what parses, what each malformed field is refused with, and that the
 * gateway believes only a notice signed by its pinned key, in the
 * porthole-update namespace, before it expires.  The signed notices
 * are the fuzz seeds (tests/fuzz/corpus_notice), made by ssh-keygen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "telemetry/notice.h"

#define SHA	"2d711642b36b7b1fbb9d3a4f5f7f0f9c9a5b3bff14b3b04401627ca9fbac32f5"
#define T_PUB	((time_t)1795168800)	/* 2026-11-20T10:00:00Z */

/* The key tests/fuzz/corpus_notice is signed with (fuzz_notice.c). */
static const uint8_t key[32] = {
	0x0c, 0xff, 0x5c, 0x1b, 0x69, 0xb1, 0xba, 0xa9, 0xef, 0x79, 0x95,
	0x4b, 0xb9, 0x5a, 0x09, 0xa6, 0xba, 0xaa, 0xd9, 0x14, 0x24, 0x14,
	0xf1, 0xa8, 0x0d, 0xb4, 0x02, 0x14, 0xc5, 0x97, 0x79, 0x94
};

/* A notice with one field replaced (NULL: as it is) and extra text. */
static char *
notice(const char *version, const char *sha, const char *size,
    const char *published, const char *expires, const char *extra)
{
	char *s;

	if (asprintf(&s, "{\"version\":%s,\"sha256\":%s,\"size\":%s,"
	    "\"published\":%s,\"expires\":%s%s}",
	    version != NULL ? version : "\"1.290.3\"",
	    sha != NULL ? sha : "\"" SHA "\"",
	    size != NULL ? size : "1048577",
	    published != NULL ? published : "\"2026-11-20T10:00:00Z\"",
	    expires != NULL ? expires : "\"2026-12-20T10:00:00Z\"",
	    extra != NULL ? extra : "") == -1)
		fail();
	return s;
}

/* Parse text; the reason when refused, NULL when it parsed. */
static const char *
parse(char *text, struct notice *n)
{
	static char	why[256];
	int		rc;

	why[0] = '\0';
	rc = notice_parse(text, strlen(text), n, why, sizeof(why));
	free(text);
	if (rc == 0)
		return NULL;
	assert_true(why[0] != '\0');
	return why;
}

static void
refused(char *text, const char *want)
{
	struct notice	 n;
	const char	*why = parse(text, &n);

	size_t		 i;

	if (why == NULL)
		fail_msg("accepted; wanted '%s'", want);
	if (strstr(why, want) == NULL)
		fail_msg("'%s' does not say '%s'", why, want);
	/* A reason reaches logs and views: never a control character. */
	for (i = 0; why[i] != '\0'; i++)
		if ((unsigned char)why[i] < 0x20 || why[i] == 0x7f)
			fail_msg("reason holds byte 0x%02x", (unsigned char)why[i]);
}

static void
test_parses(void **state)
{
	struct notice n;

	(void)state;
	assert_null(parse(notice(NULL, NULL, NULL, NULL, NULL,
	    ",\"notes\":\"Fixes.\\nRestarts\\tthe server.\",\"later\":[1]"),
	    &n));
	assert_string_equal(n.version, "1.290.3");
	assert_string_equal(n.sha256, SHA);
	assert_int_equal(n.size, 1048577);
	assert_int_equal(n.published, T_PUB);
	assert_int_equal(n.expires, T_PUB + 30 * 86400);
	assert_string_equal(n.notes, "Fixes.\nRestarts\tthe server.");
	/* Notes are optional; 16 GiB is the largest package. */
	assert_null(parse(notice(NULL, NULL, "17179869184", NULL, NULL,
	    NULL), &n));
	assert_string_equal(n.notes, "");
}

static void
test_refuses(void **state)
{
	char	notes[NOTICE_NOTES_MAX + 40];

	(void)state;
	refused(strdup("[1]"), "not a JSON object");
	refused(strdup("{\"version\":\"1.2\",\"version\":\"1.3\"}"),
	    "not a JSON object");
	/* jansson quotes the input near its error: escaped in the reason. */
	refused(strdup("\x1b[2J"), "not a JSON object");
	refused(strdup("{\"version\":\x1b]0;x\x07}"), "not a JSON object");
	refused(notice("\"1.02\"", NULL, NULL, NULL, NULL, NULL),
	    "\"version\" must be dotted decimal");
	refused(notice("1", NULL, NULL, NULL, NULL, NULL),
	    "\"version\" must be a string");
	refused(notice("\"1.2.3.4.5.6.7.8.9\"", NULL, NULL, NULL, NULL, NULL),
	    "dotted decimal");
	refused(notice(NULL, "\"" "2D711642B36B7B1FBB9D3A4F5F7F0F9C9A5B3BFF14B3B0"
	    "4401627CA9FBAC32F5" "\"", NULL, NULL, NULL, NULL),
	    "64 lowercase hex");
	refused(notice(NULL, "\"abc\"", NULL, NULL, NULL, NULL),
	    "64 lowercase hex");
	refused(notice(NULL, NULL, "0", NULL, NULL, NULL), "\"size\"");
	refused(notice(NULL, NULL, "17179869185", NULL, NULL, NULL),
	    "\"size\"");
	refused(notice(NULL, NULL, "\"12\"", NULL, NULL, NULL), "\"size\"");
	refused(notice(NULL, NULL, NULL, "\"2026-11-20T10:00:00+01:00\"", NULL,
	    NULL), "\"published\" must be an RFC 3339 UTC time");
	refused(notice(NULL, NULL, NULL, NULL, "\"2026-11-20T10:00:00Z\"",
	    NULL), "\"expires\" is not after \"published\"");
	memset(notes, 'x', sizeof(notes));
	memcpy(notes, ",\"notes\":\"", 10);
	memcpy(notes + 10 + NOTICE_NOTES_MAX + 1, "\"", 2);
	refused(notice(NULL, NULL, NULL, NULL, NULL, notes),
	    "\"notes\" of 4097 bytes (at most 4096)");
	refused(notice(NULL, NULL, NULL, NULL, NULL,
	    ",\"notes\":\"a\\u001b]0;title\\u0007\""),
	    "\"notes\" hold a control character");
	refused(notice(NULL, NULL, NULL, NULL, NULL,
	    ",\"notes\":\"csi \\u009b2J\""), "control character");
	/* A NUL inside a string jansson refuses itself. */
	refused(notice(NULL, NULL, NULL, NULL, NULL,
	    ",\"notes\":\"a\\u0000b\""), "not a JSON object");
}

/* A fuzz seed: the notice, a NUL, the signature. */
static char *
seed(const char *name, size_t *tlen, const char **sig, size_t *slen)
{
	const char	*src = getenv("top_srcdir");
	char		 path[4096], *buf;
	FILE		*f;
	size_t		 n;

	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus_notice/%s",
	    src != NULL ? src : ".", name);
	assert_non_null(f = fopen(path, "rb"));
	assert_non_null(buf = calloc(1, 8192));
	n = fread(buf, 1, 8191, f);
	fclose(f);
	*tlen = strlen(buf);
	*sig = buf + *tlen + 1;
	*slen = n - *tlen - 1;
	return buf;
}

static int
verify(const char *name, time_t now, char *why, size_t whylen)
{
	struct notice	 n;
	const char	*sig;
	size_t		 tlen, slen;
	char		*buf = seed(name, &tlen, &sig, &slen);
	int		 rc;

	why[0] = '\0';
	rc = notice_verify(buf, tlen, sig, slen, key, now, &n, why, whylen);
	free(buf);
	return rc;
}

static void
test_verify(void **state)
{
	char	why[256];

	(void)state;
	assert_int_equal(verify("signed-sha256", T_PUB, why, sizeof(why)), 0);
	assert_int_equal(verify("signed-sha512", T_PUB, why, sizeof(why)), 0);
	assert_int_equal(verify("other-namespace", T_PUB, why, sizeof(why)),
	    -1);
	assert_string_equal(why, "bad signature: signature namespace is "
	    "'file', not 'porthole-update'");
	assert_int_equal(verify("changed-notice", T_PUB, why, sizeof(why)),
	    -1);
	assert_string_equal(why, "bad signature: signature does not match "
	    "the file");
	/* The seeds expire in 2099. */
	assert_int_equal(verify("signed-sha256", (time_t)4102444800, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "notice for 1.290.3 expired at "
	    "2099-12-20T10:00:00Z"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parses),
		cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_verify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
