/*
 * fuzz_redact.c - libFuzzer target for the redaction engine: for any
 * text, any pattern and any way the text is cut into chunks, the
 * stream's output must have the input's length, differ from it only by
 * '*', and be exactly what plain regexec gives on each whole line with
 * no prefilter (a pattern's literals, wrongly found, would let a match
 * pass unstarred); the counts must agree too.
 *
 * Input: a pattern up to the first '\n' (used when it compiles and the
 * engine accepts it), then two bytes: the first picks which of the
 * fixed patterns take part, the second how the text is cut (0: whole,
 * else a seed for pieces of 1 to 64 bytes); the rest is the text.
 *
 * ./configure --enable-fuzzing CC=clang && make tests/fuzz/fuzz_redact
 * tests/fuzz/fuzz_redact -max_total_time=60 NEW_DIR tests/fuzz/corpus_redact
 */
#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/redact.h"

#define PAT_MAX		64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const fixed[] = {
	"(password|secret|token) *[=:] *[^ ]+",
	"AKIA[0-9A-Z]{16}",
	"^ab|cd$",
	"\\bk[0-9]+\\b",
	"x+y",
	"[.]co(m|de)",
};
#define NFIXED	(sizeof(fixed) / sizeof(fixed[0]))

struct out {
	uint8_t	*buf;
	size_t	 len, cap;
};

static int
collect(void *arg, const void *buf, size_t len)
{
	struct out *o = arg;

	if (o->len + len > o->cap)
		abort();	/* more out than in */
	memcpy(o->buf + o->len, buf, len);
	o->len += len;
	return 0;
}

/* The reference: one pattern over one line, marking what matched. */
static uint64_t
ref_line(regex_t *re, const uint8_t *line, size_t len, uint8_t *mark)
{
	regmatch_t	 m[1];
	size_t		 off = 0;
	uint64_t	 n = 0;
	char		*z;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	/* A sanitizer's regexec runs strlen, REG_STARTEND or not. */
	if ((z = malloc(len + 1)) == NULL)
		abort();
	memcpy(z, line, len);
	z[len] = '\0';
	while (off <= len) {
		m[0].rm_so = (regoff_t)off;
		m[0].rm_eo = (regoff_t)len;
		if (regexec(re, z, 1, m, REG_STARTEND |
		    (off > 0 ? REG_NOTBOL : 0)) != 0)
			break;
		if (m[0].rm_eo > m[0].rm_so) {
			memset(mark + m[0].rm_so, 1,
			    (size_t)(m[0].rm_eo - m[0].rm_so));
			n++;
			off = (size_t)m[0].rm_eo;
		} else
			off = (size_t)m[0].rm_so + 1;
	}
	free(z);
	return n;
}

/* What the engine must produce, by brute force. */
static void
reference(regex_t *res, size_t nres, const uint8_t *in, size_t len,
    uint8_t *want, uint64_t *counts, uint64_t *longs)
{
	uint8_t		*mark;
	const uint8_t	*nl;
	size_t		 ls, le, i, k;

	if ((mark = calloc(1, len + 1)) == NULL)
		abort();
	for (ls = 0; ls < len; ls = le + 1) {
		nl = memchr(in + ls, '\n', len - ls);
		le = nl == NULL ? len : (size_t)(nl - in);
		if (le - ls > REDACT_LINE_MAX) {
			memset(mark + ls, 1, le - ls);
			(*longs)++;
			continue;
		}
		for (k = 0; k < nres; k++)
			counts[k] += ref_line(&res[k], in + ls, le - ls,
			    mark + ls);
	}
	for (i = 0; i < len; i++)
		want[i] = mark[i] ? '*' : in[i];
	free(mark);
}

static int
backref(const char *pat)
{
	const char *c;

	for (c = pat; (c = strchr(c, '\\')) != NULL && c[1] != '\0'; c += 2)
		if (c[1] >= '0' && c[1] <= '9')
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct redact		*r;
	struct redact_stream	*s;
	struct out		 o = { NULL, 0, 0 };
	regex_t			 res[NFIXED + 1];
	const uint8_t		*nl, *text;
	uint8_t			*in, *want;
	uint64_t		 counts[NFIXED + 1] = { 0 }, longs = 0;
	char			 pat[PAT_MAX + 1], err[256];
	size_t			 plen, len, nres = 0, at, n, k;
	unsigned int		 pick, seed;

	if ((nl = memchr(data, '\n', size < PAT_MAX ? size : PAT_MAX)) ==
	    NULL || size - (size_t)(nl - data) < 3)
		return 0;
	plen = (size_t)(nl - data);
	memcpy(pat, data, plen);
	pat[plen] = '\0';
	pick = nl[1];
	seed = nl[2];
	text = nl + 3;
	len = size - (size_t)(text - data);

	if ((r = redact_new()) == NULL)
		abort();
	for (k = 0; k < NFIXED; k++) {
		if (!(pick & (1u << k)))
			continue;
		if (redact_add(r, "f", fixed[k], err, sizeof(err)) == -1 ||
		    regcomp(&res[nres++], fixed[k], REG_EXTENDED) != 0)
			abort();
	}
	/*
	 * Back-references make glibc's matcher exponential: a slow
	 * pattern of the customer's own, not an engine bug, so not fuzzed.
	 */
	if (memchr(pat, '\0', plen) == NULL && !backref(pat)) {
		if (redact_add(r, "p", pat, err, sizeof(err)) == 0) {
			if (regcomp(&res[nres++], pat, REG_EXTENDED) != 0)
				abort();	/* took what regcomp refuses */
		} else if (strstr(err, "porthole cannot analyse") != NULL)
			abort();	/* glibc syntax the analysis lacks */
	}

	if ((in = malloc(len + 1)) == NULL || (want = malloc(len + 1)) ==
	    NULL || (o.buf = malloc(len + 1)) == NULL ||
	    (s = redact_stream_new(r)) == NULL)
		abort();
	o.cap = len;
	memcpy(in, text, len);
	for (at = 0; at < len; at += n) {
		if (seed == 0)
			n = len;
		else {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 64;
		}
		if (n > len - at)
			n = len - at;
		if (redact_stream_feed(s, in + at, n, collect, &o) != 0)
			abort();
	}
	if (redact_stream_end(s, collect, &o) != 0 || o.len != len)
		abort();

	reference(res, nres, text, len, want, counts, &longs);
	for (k = 0; k < len; k++)
		if (o.buf[k] != text[k] && o.buf[k] != '*')
			abort();	/* a byte changed into something else */
	if (nres > 0 && memcmp(o.buf, want, len) != 0)
		abort();		/* not what regexec per line gives */
	if (nres == 0 && memcmp(o.buf, text, len) != 0)
		abort();
	for (k = 0; k < nres; k++)
		if (redact_stream_matches(s, k) != counts[k])
			abort();
	if (nres > 0 && redact_stream_long_lines(s) != longs)
		abort();

	for (k = 0; k < nres; k++)
		regfree(&res[k]);
	redact_stream_free(s);
	redact_free(r);
	free(in);
	free(want);
	free(o.buf);
	return 0;
}
