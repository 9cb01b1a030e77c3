/*
 * test_log.c - what a daemon's log line holds when a peer chose part
 * of it (a user name before authentication, a channel's host): one
 * line, valid UTF-8, every control character (C0, DEL, C1) and every
 * byte that is not UTF-8 written as \xNN, so neither syslog nor the
 * terminal of `portholed -d` acts on it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/log.h"
#include "lib/parse.h"

static FILE	*cap_file;
static int	 cap_saved = -1;

/* From here to cap_end(), stderr goes to a file. */
static void
cap_begin(void)
{
	assert_non_null(cap_file = tmpfile());
	fflush(stderr);
	assert_true((cap_saved = dup(STDERR_FILENO)) != -1);
	assert_true(dup2(fileno(cap_file), STDERR_FILENO) != -1);
}

/* The line logged since cap_begin(), without the prefix. */
static char *
cap_end(void)
{
	static char	 line[8192];
	char		*p;
	size_t		 n;

	fflush(stderr);
	assert_true(dup2(cap_saved, STDERR_FILENO) != -1);
	close(cap_saved);
	rewind(cap_file);
	n = fread(line, 1, sizeof(line) - 1, cap_file);
	fclose(cap_file);
	line[n] = '\0';
	/* One line, ended by its own newline and by nothing before. */
	assert_true(n > 0 && line[n - 1] == '\n');
	line[n - 1] = '\0';
	assert_null(strchr(line, '\n'));
	assert_true(parse_utf8(line, n - 1));
	assert_non_null(p = strstr(line, ": warning: "));
	return p + strlen(": warning: ");
}

/* What log_warn(fmt, arg) writes. */
#define LOGGED(fmt, arg)	(cap_begin(), log_warn(fmt, arg), cap_end())

static void
test_controls(void **state)
{
	(void)state;
	log_init("test_log", 1, LOG_LVL_INFO);
	/* C1 CSI (c2 9b) in a user name, DEL, ESC, CR, LF. */
	assert_string_equal(LOGGED("login as '%s' refused",
	    "a\xc2\x9b" "6n\x7f\x1b]0;t\a\r\nb"),
	    "login as 'a\\xc2\\x9b6n\\x7f\\x1b]0;t\\x07\\x0d\\x0ab' refused");
	/* Not UTF-8: an overlong CSI, a lone continuation byte. */
	assert_string_equal(LOGGED("%s", "\xe0\x82\x9b\x80z"),
	    "\\xe0\\x82\\x9b\\x80z");
	/* A backslash is doubled, so no escape in a log line is forged. */
	assert_string_equal(LOGGED("%s", "\\x1b"), "\\\\x1b");
	/* UTF-8 text passes; a tab is a control like any other. */
	assert_string_equal(LOGGED("%s", "caf\xc3\xa9\tok"),
	    "caf\xc3\xa9\\x09ok");
}

/* A precision that cuts a character in two leaves escaped bytes. */
static void
test_cut(void **state)
{
	(void)state;
	log_init("test_log", 1, LOG_LVL_INFO);
	assert_string_equal(LOGGED("'%.3s'", "ab\xc3\xa9"), "'ab\\xc3'");
}

/* A message longer than the line is cut, never inside an escape. */
static void
test_long(void **state)
{
	char	*in, *out;
	size_t	 n;

	(void)state;
	log_init("test_log", 1, LOG_LVL_INFO);
	assert_non_null(in = malloc(5000));
	memset(in, 0x7f, 4999);
	in[4999] = '\0';
	out = LOGGED("%s", in);
	n = strlen(out);
	assert_true(n > 0 && n % 4 == 0);
	assert_memory_equal(out + n - 4, "\\x7f", 4);
	free(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
