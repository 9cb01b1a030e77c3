/*
 * test_termfilter.c - what `porthole audit replay` lets through to the
 * auditor's terminal: the support shell's own screen sequences pass,
 * anything that acts on the terminal itself (OSC 52 clipboard, window
 * titles, DCS, APC, PM, SOS, report requests, their C1 forms) is left
 * out, however the stream is cut into pieces; what is not UTF-8
 * (overlong forms, surrogates, past U+10FFFF, cut short) never comes
 * out, so no terminal can decode a C1 control from it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/parse.h"
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
	/*
	 * Not UTF-8: a lenient decoder reads overlong e0 82 9b as U+009B,
	 * CSI, and c0 9b as ESC.  Overlong forms, surrogates, code points
	 * past U+10FFFF and characters cut short are left out whole.
	 */
	{ "\xe0\x82\x9b" "6n", "6n", 1 },
	{ "\xc0\x9b" "6n", "6n", 1 },
	{ "\xc1\x9b" "[6n", "[6n", 1 },
	{ "\xf0\x80\x82\x9b" "6n", "6n", 1 },
	{ "\xe0\x80\x9b" "]0;t\007", "]0;t", 1 },
	{ "a\xed\xa0\x80" "b\xed\xbf\xbf" "c", "abc", 1 },
	{ "a\xf4\x90\x80\x80" "b\xf7\xbf\xbf\xbf" "c", "abc", 1 },
	{ "\xe2\x82" "x\xe2\x82\xc3\xa9\xf0\x9f\x94", "x\xc3\xa9", 1 },
	{ "\xe2\x82\033[1mx", "\033[1mx", 1 },
	/* The last characters below U+D800, U+FFFF and U+10FFFF pass. */
	{ "\xed\x9f\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf",
	    "\xed\x9f\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf", 0 },
	/* A character cuts a sequence off; in a string it is dropped. */
	{ "\033[31\xc3\xa9x", "\xc3\xa9x", 1 },
	{ "\033]0;\xc3\xa9\xe0\x82\x9c" "x\007ok", "ok", 1 },
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
	    "\033]", "\033]0;x\033", "\xc2", "\033(", "\xc2\x9b", "\xe0",
	    "\xe0\x82", "\xf0\x80\x82", "\xed", "\xf4\x8f", "\033]\xe0" };
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
			if (!parse_utf8(out, o))
				fail_msg("prefix %zu byte %02x: not UTF-8 "
				    "came out", p, b);
		}
}

/* The code points in out[0..len), which is UTF-8: none a C1 control. */
static int
has_c1(const char *out, size_t len)
{
	uint32_t	cp;
	size_t		i, n;

	for (i = 0; i < len; i += n) {
		n = parse_utf8_char(out + i, len - i, &cp);
		if (n == 0 || (cp >= 0x80 && cp <= 0x9f))
			return 1;
	}
	return 0;
}

/*
 * Streams drawn at random from bytes that start, continue, end or break
 * sequences and characters: whatever comes out is UTF-8 without C1
 * controls, and the same whether fed whole or byte by byte.
 */
static void
test_random(void **state)
{
	static const unsigned char alphabet[] = { 0x1b, '[', ']', 0x07,
	    0x5c, '6', 'n', 'a', 0x80, 0x82, 0x9b, 0x9c, 0x9d, 0xa0, 0xbf,
	    0xc0, 0xc1, 0xc2, 0xc3, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5,
	    0xff };
	struct termfilter	tf;
	char			in[16], whole[16 + TERMFILTER_SLACK];
	char			bytes[16 * (1 + TERMFILTER_SLACK)];
	uint32_t		seed = 1;
	size_t			len, i, o, ob;
	int			k;

	(void)state;
	for (k = 0; k < 200000; k++) {
		seed = seed * 1103515245u + 12345u;
		len = 1 + (seed >> 16) % sizeof(in);
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = (char)alphabet[(seed >> 16) % sizeof(alphabet)];
		}
		termfilter_init(&tf);
		o = termfilter_feed(&tf, in, len, whole);
		termfilter_init(&tf);
		for (i = 0, ob = 0; i < len; i++)
			ob += termfilter_feed(&tf, in + i, 1, bytes + ob);
		if (!parse_utf8(whole, o) || has_c1(whole, o))
			fail_msg("stream %d: not UTF-8 or a C1 control out",
			    k);
		if (o != ob || memcmp(whole, bytes, o) != 0)
			fail_msg("stream %d: byte by byte differs", k);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_no_introducer),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
