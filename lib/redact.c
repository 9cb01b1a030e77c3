/*
 * redact.c - the redaction engine: patterns compiled once, streams cut
 * into lines, matches starred in place (see redact.h for the contract).
 *
 * A stream works on windows: runs of whole lines of at most
 * REDACT_LINE_MAX + 1 bytes, so that no line inside a window is too
 * long and a window needs no line table.  Each pattern is run over the
 * whole window before any byte of it is starred; the first star of a
 * window copies it first, and the patterns go on reading the copy, so
 * every pattern sees the original text whatever the others starred.
 *
 * The prefilter comes from an analysis of the expression's text
 * (redact_analyse.c), which errs one way only: whatever it does not
 * understand yields "no literal", which costs speed, never a missed
 * match.  The fuzz target (tests/fuzz/fuzz_redact.c) checks the whole
 * engine against plain regexec per line.
 */
#include "lib/redact.h"
#include "lib/redact_int.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW		(REDACT_LINE_MAX + 1)

/* One compiled pattern. */
struct pattern {
	char		*name;
	char		*regex;
	regex_t		 re;
	struct lits	 pf;		/* the prefilter, maybe empty */
	size_t		 rare[LIT_MAX];	/* each literal's rarest byte */
};

struct redact {
	struct pattern	*pats;
	size_t		 npats;
};

/* Bytes of one stream. */
struct redact_stream {
	const struct redact *r;
	char		*hold;		/* a line begun, not ended */
	size_t		 nhold;
	int		 in_long;	/* starring a long line to its end */
	char		*copy;		/* a window's original text */
	char		*line;		/* a line of it, NUL-terminated */
	uint64_t	*matches;	/* per pattern */
	uint64_t	 long_lines;
	int		 failed;
};

/* One window being redacted: dst is starred, src read. */
struct window {
	char		*dst;
	const char	*src;		/* dst, until a star, then copy */
	size_t		 n;
	char		*copy;
	char		*line;		/* one line and a NUL, for regexec */
};

/*
 * How rare a byte is in a product's logs: ASCII text, lower case,
 * digits, blanks and a little punctuation make up most of them.  Only
 * an order, for picking the byte lit_find looks for.
 */
static int
rarity(unsigned char c)
{
	static const char common[] = " etaoinsrhldcu0123456789m-:.f/pg=_"
	    "wy,b[]vk\"()TSEAIRNOLCDx";
	const char *at;

	if (c == '\0')
		return 0;
	if ((at = strchr(common, c)) != NULL)
		return (int)(at - common);
	return (int)sizeof(common);
}

/* The offset of the rarest byte of each literal, the first of equals. */
static void
pick_rare(struct pattern *p)
{
	size_t k, i;

	for (k = 0; k < p->pf.n; k++) {
		p->rare[k] = 0;
		for (i = 1; i < p->pf.len[k]; i++)
			if (rarity((unsigned char)p->pf.s[k][i]) >
			    rarity((unsigned char)p->pf.s[k][p->rare[k]]))
				p->rare[k] = i;
	}
}

struct redact *
redact_new(void)
{
	return calloc(1, sizeof(struct redact));
}

void
redact_free(struct redact *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->npats; i++) {
		regfree(&r->pats[i].re);
		free(r->pats[i].name);
		free(r->pats[i].regex);
	}
	free(r->pats);
	free(r);
}

int
redact_add(struct redact *r, const char *name, const char *regex, char *err,
    size_t errlen)
{
	struct pattern	*grown, *p;
	regmatch_t	 m[1];
	const char	*c;
	char		 msg[256];
	int		 rc, understood;

	if (r->npats >= REDACT_MAX_PATTERNS) {
		snprintf(err, errlen, "more than %d patterns",
		    REDACT_MAX_PATTERNS);
		return -1;
	}
	for (c = regex; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			snprintf(err, errlen, "a control character in the "
			    "pattern");
			return -1;
		}
	if ((grown = reallocarray(r->pats, r->npats + 1,
	    sizeof(*grown))) == NULL)
		goto nomem;
	r->pats = grown;
	p = &r->pats[r->npats];
	memset(p, 0, sizeof(*p));
	/* Weighed first: regcomp itself is what a heavy pattern costs. */
	understood = redact_analyse(regex, &p->pf, msg, sizeof(msg)) == 0;
	pick_rare(p);
	if (!understood && msg[0] != '\0') {
		snprintf(err, errlen, "%s", msg);
		return -1;
	}
	if ((rc = regcomp(&p->re, regex, REG_EXTENDED)) != 0) {
		regerror(rc, &p->re, msg, sizeof(msg));
		regfree(&p->re);
		snprintf(err, errlen, "invalid regular expression: %s", msg);
		return -1;
	}
	if (!understood) {
		regfree(&p->re);
		snprintf(err, errlen, "a form porthole cannot analyse; "
		    "write it in plain POSIX extended syntax");
		return -1;
	}
	m[0].rm_so = m[0].rm_eo = 0;
	if (regexec(&p->re, "", 1, m, REG_STARTEND) == 0) {
		regfree(&p->re);
		snprintf(err, errlen, "it matches an empty line, so it would "
		    "match everywhere and star nothing");
		return -1;
	}
	if ((p->name = strdup(name)) == NULL ||
	    (p->regex = strdup(regex)) == NULL) {
		regfree(&p->re);
		free(p->name);
		goto nomem;
	}
	r->npats++;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

size_t
redact_count(const struct redact *r)
{
	return r == NULL ? 0 : r->npats;
}

const char *
redact_name(const struct redact *r, size_t i)
{
	return r->pats[i].name;
}

const char *
redact_regex(const struct redact *r, size_t i)
{
	return r->pats[i].regex;
}

const char *
redact_prefilter(const struct redact *r, size_t i, char *buf, size_t len)
{
	const struct lits	*l = &r->pats[i].pf;
	size_t			 k, at = 0;
	int			 w;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (k = 0; k < l->n && at < len; k++) {
		w = snprintf(buf + at, len - at, "%s%.*s", k == 0 ? "" : "|",
		    (int)l->len[k], l->s[k]);
		if (w < 0)
			break;
		at += (size_t)w;
	}
	return buf;
}

struct redact_stream *
redact_stream_new(const struct redact *r)
{
	struct redact_stream *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->r = r;
	if (redact_count(r) == 0)
		return s;	/* a pass-through needs no buffers */
	if ((s->hold = malloc(WINDOW)) == NULL ||
	    (s->copy = malloc(WINDOW)) == NULL ||
	    (s->line = malloc(WINDOW)) == NULL ||
	    (s->matches = calloc(r->npats, sizeof(*s->matches))) == NULL) {
		redact_stream_free(s);
		return NULL;
	}
	return s;
}

void
redact_stream_free(struct redact_stream *s)
{
	if (s == NULL)
		return;
	/* The held line and the copy may hold a secret not yet starred. */
	if (s->hold != NULL)
		explicit_bzero(s->hold, WINDOW);
	if (s->copy != NULL)
		explicit_bzero(s->copy, WINDOW);
	if (s->line != NULL)
		explicit_bzero(s->line, WINDOW);
	free(s->hold);
	free(s->copy);
	free(s->line);
	free(s->matches);
	free(s);
}

uint64_t
redact_stream_matches(const struct redact_stream *s, size_t i)
{
	return s->matches == NULL ? 0 : s->matches[i];
}

uint64_t
redact_stream_long_lines(const struct redact_stream *s)
{
	return s->long_lines;
}

uint64_t
redact_stream_total(const struct redact_stream *s)
{
	uint64_t	t = s->long_lines;
	size_t		i;

	for (i = 0; i < redact_count(s->r); i++)
		t += s->matches[i];
	return t;
}

/* Star [from, to) of the window, copying the original text first. */
static void
win_star(struct window *w, size_t from, size_t to)
{
	if (w->src == w->dst) {
		memcpy(w->copy, w->dst, w->n);
		w->src = w->copy;
	}
	memset(w->dst + from, '*', to - from);
}

/*
 * Every match of pattern p in the line [ls, le) of the window.  A
 * match is looked for again after the end of the last one; an empty
 * match stars nothing and moves on by one byte.
 *
 * regexec reads a copy of the line that ends in a NUL.  With
 * REG_STARTEND glibc itself stops at rm_eo, but a sanitizer's regexec
 * interceptor measures the string with strlen first, and the window
 * has no NUL of its own.
 */
static uint64_t
match_line(const struct pattern *p, struct window *w, size_t ls, size_t le)
{
	regmatch_t	m[1];
	size_t		off = 0, end = le;
	uint64_t	n = 0;

	if (end > ls && w->src[end - 1] == '\r')
		end--;
	end -= ls;
	memcpy(w->line, w->src + ls, end);
	w->line[end] = '\0';
	while (off <= end) {
		m[0].rm_so = (regoff_t)off;
		m[0].rm_eo = (regoff_t)end;
		/* The line's start is at offset 0 only; '^' means it alone. */
		if (regexec(&p->re, w->line, 1, m, REG_STARTEND |
		    (off > 0 ? REG_NOTBOL : 0)) != 0)
			break;
		if (m[0].rm_eo > m[0].rm_so) {
			win_star(w, ls + (size_t)m[0].rm_so,
			    ls + (size_t)m[0].rm_eo);
			n++;
			off = (size_t)m[0].rm_eo;
		} else
			off = (size_t)m[0].rm_so + 1;
	}
	return n;
}

/* The end of the line starting at ls: its '\n', or the window's end. */
static size_t
line_end(const struct window *w, size_t ls)
{
	const char *nl = memchr(w->src + ls, '\n', w->n - ls);

	return nl == NULL ? w->n : (size_t)(nl - w->src);
}

/*
 * Where literal k of p next starts at or after from, or SIZE_MAX.
 * memchr for the literal's rarest byte, then memcmp around it: memchr
 * is vectorised and the rare byte seldom stops it, where glibc's memmem
 * walks a short needle byte by byte (three quarters of the time of a
 * redacted copy went there).
 */
static size_t
lit_find(const struct pattern *p, const struct window *w, size_t k,
    size_t from)
{
	const char	*lit = p->pf.s[k], *hit;
	size_t		 len = p->pf.len[k], r = p->rare[k], at = from + r;

	while (at < w->n && (hit = memchr(w->src + at, lit[r],
	    w->n - at)) != NULL) {
		at = (size_t)(hit - w->src);
		/* The ends first: a common rare byte is no call to memcmp. */
		if (at - r + len <= w->n && w->src[at - r] == lit[0] &&
		    w->src[at - r + len - 1] == lit[len - 1] &&
		    memcmp(w->src + at - r, lit, len) == 0)
			return at - r;
		at++;
	}
	return SIZE_MAX;
}

/*
 * The first offset at or after pos where one of p's literals starts,
 * or SIZE_MAX.  next[] remembers each literal's next occurrence, so a
 * window is searched once per literal, not once per line.
 */
static size_t
next_literal(const struct pattern *p, const struct window *w, size_t pos,
    size_t *next)
{
	size_t k, best = SIZE_MAX;

	for (k = 0; k < p->pf.n; k++) {
		if (next[k] != SIZE_MAX && next[k] < pos)
			next[k] = lit_find(p, w, k, pos);
		if (next[k] < best)
			best = next[k];
	}
	return best;
}

/* Run pattern p over the window. */
static uint64_t
match_window(const struct pattern *p, struct window *w)
{
	const char	*nl;
	size_t		 next[LIT_MAX], pos = 0, hit, ls, le, k;
	uint64_t	 n = 0;

	if (p->pf.n == 0) {
		for (ls = 0; ls < w->n; ls = le + 1) {
			le = line_end(w, ls);
			n += match_line(p, w, ls, le);
		}
		return n;
	}
	for (k = 0; k < p->pf.n; k++)
		next[k] = lit_find(p, w, k, 0);
	while (pos < w->n && (hit = next_literal(p, w, pos, next)) !=
	    SIZE_MAX) {
		/* pos is a line's start, so the line of hit starts here. */
		nl = hit > pos ? memrchr(w->src + pos, '\n', hit - pos) : NULL;
		ls = nl == NULL ? pos : (size_t)(nl - w->src) + 1;
		le = line_end(w, ls);
		n += match_line(p, w, ls, le);
		pos = le + 1;
	}
	return n;
}

/* Redact a window of whole lines, none longer than REDACT_LINE_MAX. */
static void
redact_window(struct redact_stream *s, char *buf, size_t n)
{
	struct window	w = { buf, buf, n, s->copy, s->line };
	size_t		i;

	for (i = 0; i < s->r->npats; i++)
		s->matches[i] += match_window(&s->r->pats[i], &w);
}

/*
 * Redact buf[0..n), which ends at a line's end (or the stream's), in
 * windows.  Each window is cut after the last '\n' within its first
 * WINDOW bytes; where there is none, the first line is too long and is
 * starred to its end.
 */
static void
redact_lines(struct redact_stream *s, char *buf, size_t n)
{
	const char	*nl;
	size_t		 at = 0, take;

	while (at < n) {
		take = n - at;
		if (take > WINDOW) {
			nl = memrchr(buf + at, '\n', WINDOW);
			if (nl != NULL)
				take = (size_t)(nl - (buf + at)) + 1;
		}
		if (take <= WINDOW) {
			redact_window(s, buf + at, take);
			at += take;
			continue;
		}
		/* No '\n' in the first WINDOW bytes: a line too long. */
		nl = memchr(buf + at, '\n', n - at);
		take = nl == NULL ? n - at : (size_t)(nl - (buf + at));
		memset(buf + at, '*', take);
		s->long_lines++;
		at += take + (nl != NULL);
	}
}

/* Star a too long line's bytes up to its '\n'; how far it went. */
static size_t
feed_long(struct redact_stream *s, char *p, size_t len)
{
	const char	*nl = memchr(p, '\n', len);
	size_t		 n = nl == NULL ? len : (size_t)(nl - p);

	memset(p, '*', n);
	if (nl != NULL) {
		s->in_long = 0;
		n++;
	}
	return n;
}

/*
 * Add to the held line.  Returns how many bytes of p were taken, with
 * *done set when the line is now whole (or too long) and must go out.
 */
static size_t
feed_hold(struct redact_stream *s, char *p, size_t len, int *done)
{
	const char	*nl = memchr(p, '\n', len);
	size_t		 take = nl == NULL ? len : (size_t)(nl - p) + 1;
	size_t		 body = take - (nl != NULL);

	*done = nl != NULL;
	if (s->nhold + body > REDACT_LINE_MAX) {
		/* Too long: the held part goes out as stars, then the rest. */
		memset(s->hold, '*', s->nhold);
		s->long_lines++;
		s->in_long = 1;
		*done = 1;
		return 0;
	}
	memcpy(s->hold + s->nhold, p, take);
	s->nhold += take;
	return take;
}

int
redact_stream_feed(struct redact_stream *s, void *buf, size_t len,
    redact_emit_fn emit, void *arg)
{
	char		*p = buf, *end = p + len;
	const char	*last;
	uint64_t	 was_long;
	size_t		 n;
	int		 done;

	if (s->failed)
		return -1;
	if (redact_count(s->r) == 0)
		return len == 0 || emit(arg, buf, len) == 0 ? 0 : -1;
	while (p < end) {
		if (s->in_long) {
			n = feed_long(s, p, (size_t)(end - p));
		} else if (s->nhold > 0) {
			was_long = s->long_lines;
			n = feed_hold(s, p, (size_t)(end - p), &done);
			if (done) {
				if (s->long_lines == was_long)
					redact_lines(s, s->hold, s->nhold);
				if (emit(arg, s->hold, s->nhold) == -1)
					goto fail;
				s->nhold = 0;
			}
			p += n;
			continue;
		} else if ((last = memrchr(p, '\n', (size_t)(end - p))) !=
		    NULL) {
			n = (size_t)(last - p) + 1;
			redact_lines(s, p, n);
		} else if ((size_t)(end - p) > REDACT_LINE_MAX) {
			s->in_long = 1;
			s->long_lines++;
			n = feed_long(s, p, (size_t)(end - p));
		} else {
			memcpy(s->hold, p, (size_t)(end - p));
			s->nhold = (size_t)(end - p);
			break;
		}
		if (emit(arg, p, n) == -1)
			goto fail;
		p += n;
	}
	return 0;
fail:
	s->failed = 1;
	return -1;
}

/* The end of the input; cut: the held line is starred, not matched. */
static int
stream_end(struct redact_stream *s, int cut, redact_emit_fn emit, void *arg)
{
	int rc = 0;

	if (s->failed)
		return -1;
	if (s->nhold > 0) {
		if (cut) {
			memset(s->hold, '*', s->nhold);
			s->long_lines++;
		} else
			redact_lines(s, s->hold, s->nhold);
		rc = emit(arg, s->hold, s->nhold) == 0 ? 0 : -1;
		explicit_bzero(s->hold, s->nhold);
		s->nhold = 0;
	}
	s->in_long = 0;
	if (rc == -1)
		s->failed = 1;
	return rc;
}

int
redact_stream_end(struct redact_stream *s, redact_emit_fn emit, void *arg)
{
	return stream_end(s, 0, emit, arg);
}

int
redact_stream_cut(struct redact_stream *s, redact_emit_fn emit, void *arg)
{
	return stream_end(s, 1, emit, arg);
}

/* Magic numbers of the compressed formats a product's logs come in. */
static const struct {
	const char	*magic;
	size_t		 len;
	const char	*why;
} compressed[] = {
	{ "\x1f\x8b", 2, "a compressed file (gzip)" },
	{ "BZh", 3, "a compressed file (bzip2)" },
	{ "\xfd" "7zXZ\0", 6, "a compressed file (xz)" },
	{ "\x28\xb5\x2f\xfd", 4, "a compressed file (zstd)" },
	{ "\x04\x22\x4d\x18", 4, "a compressed file (lz4)" },
	{ "PK\x03\x04", 4, "a compressed file (zip)" },
	{ "7z\xbc\xaf\x27\x1c", 6, "a compressed file (7z)" },
	{ "\x1f\x9d", 2, "a compressed file (compress)" },
	{ "\x89LZO", 4, "a compressed file (lzop)" },
};

const char *
redact_sniff(const void *head, size_t len)
{
	size_t i;

	if (len > REDACT_SNIFF_LEN)
		len = REDACT_SNIFF_LEN;
	for (i = 0; i < sizeof(compressed) / sizeof(compressed[0]); i++)
		if (len >= compressed[i].len &&
		    memcmp(head, compressed[i].magic, compressed[i].len) == 0)
			return compressed[i].why;
	if (memchr(head, '\0', len) != NULL)
		return "a binary file (it holds a NUL byte)";
	return NULL;
}
