/*
 * test_termfilter.c - what `porthole audit replay` lets through to the
 * auditor's terminal: the support shell's own screen sequences pass,
 * anything that acts on the terminal itself (OSC 52 clipboard, window
 * titles, DCS, APC, PM, SOS, report requests, their C1 forms) is left
 * out, however the stream is cut into pieces.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/termfilter.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))

static const struct {
	const char	*in;
	const char	*out;
	int		 dropped;	/* something was left out */
} rows[] = {
	/* Text, UTF-8 included, and the shell's own sequences pass. */
	{ "plain text\r\n", "plain text\r\n", 0 },
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91\tx\b",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91\tx\b", 0 },
	{ "\xc2\xa0nbsp", "\xc2\xa0nbsp", 0 },
	{ "\rsupport@c:/> ls\033[K\r\033[14C", "\rsupport@c:/> ls\033[K\r"
	    "\033[14C", 0 },
	{ "\033[H\033[2J", "\033[H\033[2J", 0 },
	{ "\033[1;31mred\033[0m \033[38:5:208mx\033[m",
	    "\033[1;31mred\033[0m \033[38:5:208mx\033[m", 0 },
	{ "\033[?25l\033[?1049h\033[5;20r\0337\0338\033M",
	    "\033[?25l\033[?1049h\033[5;20r\0337\0338\033M", 0 },
	/* OSC 52 (clipboard) and window titles, ended by BEL or ST. */
	{ "a\033]52;c;cm0gLXJmIH4K\007b", "ab", 1 },
	{ "\033]0;owned\033\\x", "x", 1 },
	{ "\033]2;title\007\033]8;;http://x/\033\\link", "link", 1 },
	/* DCS, APC, PM, SOS. */
	{ "\033P+q544e\033\\y", "y", 1 },
	{ "\033_Gf=100;AAAA\033\\z", "z", 1 },
	{ "\033^pm\033\\\033Xsos\033\\w", "w", 1 },
	/* Their C1 forms, ended by C1 ST, BEL or ESC \. */
	{ "\xc2\x9d" "52;c;Zm9v" "\xc2\x9c" "ok", "ok", 1 },
	{ "\xc2\x9d" "0;t\007ok", "ok", 1 },
	{ "\xc2\x90" "+q\033\\\xc2\x9f" "apc" "\xc2\x9c" "\xc2\x9e"
	    "pm" "\xc2\x9c" "\xc2\x98" "sos" "\xc2\x9c" "ok", "ok", 1 },
	/* A C1 CSI is left out whole, and so are other C1 controls. */
	{ "\xc2\x9b" "2Jx", "x", 1 },
	{ "a\xc2\x85" "b\xc2\x8d" "c", "abc", 1 },
	/* Sequences that answer back or act on the window. */
	{ "\033[6n\033[c\033[>c\033[21t\033[8;1;1t\033[?1000h\033[?2004h.",
	    ".", 1 },
	{ "\033[1$p\033[0\"q\033[>4;1m.", ".", 1 },
	{ "\033c\033(0\033#8\033=.", ".", 1 },
	/* Controls that draw nothing; a raw 8-bit CSI byte. */
	{ "a\007b\016c\017d\005e\x7f", "abcde", 1 },
	{ "\x9b" "2J", "2J", 1 },
	{ "\xff\xc0\x80x", "x", 1 },
	/* An ESC in a string ends it and starts a sequence of its own. */
	{ "\033]0;x\033[31mred", "\033[31mred", 1 },
	/* A sequence cut off by text or a control is left out. */
	{ "\033[31\nx", "\nx", 1 },
	{ "\033[3\030x", "x", 1 },
	{ "\033]0;never ends", "", 1 },
	{ "\033[11111111111111111111111111111111111111C.", ".", 1 },
};

/* Feed in pieces cut at the offsets in cuts (ascending, ncuts of them). */
static char *
run(const char *in, size_t len, const size_t *cuts, size_t ncuts,
    uint64_t *dropped)
{
	struct termfilter	 tf;
	char			*out, *canary;
	size_t			 o = 0, from = 0, to, k, n;

	out = malloc(len + TERMFILTER_SLACK * (ncuts + 1) + 1);
	assert_non_null(out);
	termfilter_init(&tf);
	for (k = 0; k <= ncuts; k++) {
		to = k < ncuts ? cuts[k] : len;
		canary = out + o + (to - from) + TERMFILTER_SLACK;
		*canary = '\x5a';
		n = termfilter_feed(&tf, in + from, to - from, out + o);
		assert_true(n <= (to - from) + TERMFILTER_SLACK);
		assert_int_equal(*canary, '\x5a');
		o += n;
		from = to;
	}
	out[o] = '\0';
	*dropped = tf.dropped;
	return out;
}

static void
test_rows(void **state)
{
	uint64_t	dropped;
	char		*out;
	size_t		i;

	(void)state;
	for (i = 0; i < N(rows); i++) {
		out = run(rows[i].in, strlen(rows[i].in), NULL, 0, &dropped);
		if (strcmp(out, rows[i].out) != 0)
			fail_msg("row %zu: got '%s'", i, out);
		if ((dropped > 0) != rows[i].dropped)
			fail_msg("row %zu: %llu left out", i,
			    (unsigned long long)dropped);
		free(out);
	}
}

/* Cut anywhere once, or at every byte: the same as fed whole. */
static void
test_split(void **state)
{
	uint64_t	 dropped;
	size_t		 i, len, c, cuts[512];
	char		*out;

	(void)state;
	for (i = 0; i < N(rows); i++) {
		len = strlen(rows[i].in);
		for (c = 1; c < len; c++) {
			out = run(rows[i].in, len, &c, 1, &dropped);
			if (strcmp(out, rows[i].out) != 0)
				fail_msg("row %zu cut at %zu: got '%s'", i, c,
				    out);
			free(out);
		}
		assert_true(len < N(cuts));
		for (c = 1; c < len; c++)
			cuts[c - 1] = c;
		out = run(rows[i].in, len, cuts, len > 0 ? len - 1 : 0,
		    &dropped);
		if (strcmp(out, rows[i].out) != 0)
			fail_msg("row %zu byte by byte: got '%s'", i, out);
		free(out);
	}
}

/* Every byte value after every prefix: no introducer ever comes out. */
static void
test_no_introducer(void **state)
{
	static const char *const prefixes[] = { "", "\033", "\033[", "\033[1",
	    "\033]", "\033]0;x\033", "\xc2", "\033(", "\xc2\x9b" };
	struct termfilter	tf;
	char			out[64 + TERMFILTER_SLACK], in[4];
	size_t			p, o, j;
	unsigned int		b;

	(void)state;
	for (p = 0; p < N(prefixes); p++)
		for (b = 0; b < 256; b++) {
			termfilter_init(&tf);
			o = termfilter_feed(&tf, prefixes[p],
			    strlen(prefixes[p]), out);
			in[0] = (char)b;
			memcpy(in + 1, "]0;", 3);
			o += termfilter_feed(&tf, in, 4, out + o);
			for (j = 0; j + 1 < o; j++)
				if (out[j] == '\033' && (out[j + 1] == ']' ||
				    out[j + 1] == 'P' || out[j + 1] == '_' ||
				    out[j + 1] == '^' || out[j + 1] == 'X'))
					fail_msg("prefix %zu byte %02x: a "
					    "string introducer came out", p,
					    b);
			for (j = 0; j + 1 < o; j++)
				if ((unsigned char)out[j] == 0xc2 &&
				    (unsigned char)out[j + 1] >= 0x80 &&
				    (unsigned char)out[j + 1] <= 0x9f)
					fail_msg("prefix %zu byte %02x: a C1 "
					    "control came out", p, b);
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_no_introducer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
