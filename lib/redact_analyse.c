/*
 * redact_analyse.c - what a [redact] pattern's text says before it is
 * compiled: the literals every match must contain (the prefilter) and
 * how heavy glibc's regcomp will make it.
 *
 * The analysis is a small recursive descent over the ERE's text (glibc's
 * dialect: POSIX ERE with \w, \b, \< ... and back-references).  For
 * each branch it collects the literal runs that every match of the
 * branch contains and keeps the most selective one; an alternation
 * gives the union of its branches' literals, or nothing if one branch
 * has none.  Anything unexpected makes it give up.
 *
 * It also weighs the expression as glibc builds it: a repeat {m,n} is
 * n copies of what it repeats, '+' two, and '?' and '*' count two as
 * well, since optional parts inside repeats are what make regcomp's
 * memory grow faster than the copies: ((.?){0,10}){0,100} takes 158 MB
 * and .{0,4000} 128 MB.  A pattern weighing more than COST_MAX is refused
 * before regcomp sees it; at the bound regcomp stays within some 20 MB.
 */
#include "lib/redact_int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define COST_MAX	500
#define DEPTH_MAX	16

struct lex {
	const char	*p;
	int		 bad;		/* gave up: not understood */
	int		 deep;		/* gave up: nested too deep */
};


/*
 * The size of an expression: as written (len) and with every repeat
 * copied out (total).  What repeats add, total - len, is its weight: a
 * long literal is cheap, a short repeat may not be.
 */
struct cost {
	size_t		 total;
	size_t		 len;
};

#define COST_CAP	((size_t)1 << 40)	/* saturation, no overflow */

static int parse_alt(struct lex *, struct lits *, int, struct cost *);

static size_t
cost_mul(size_t a, size_t b)
{
	return a != 0 && b > COST_CAP / a ? COST_CAP : a * b;
}

static size_t
cost_add(size_t a, size_t b)
{
	return a > COST_CAP - b ? COST_CAP : a + b;
}

/* Minimal length of a set's literals: how selective it is. */
static size_t
lits_minlen(const struct lits *l)
{
	size_t i, m = SIZE_MAX;

	for (i = 0; i < l->n; i++)
		if (l->len[i] < m)
			m = l->len[i];
	return l->n == 0 ? 0 : m;
}

/* Keep cand in best if it is more selective. */
static void
lits_better(struct lits *best, const struct lits *cand)
{
	size_t a = lits_minlen(cand), b = lits_minlen(best);

	if (cand->n == 0)
		return;
	if (best->n == 0 || a > b || (a == b && cand->n < best->n))
		*best = *cand;
}

/* The current run of literal bytes, ended: offer it as a candidate. */
static void
run_end(struct lits *best, struct lits *run)
{
	if (run->n == 1 && run->len[0] > 0)
		lits_better(best, run);
	run->n = 0;
	run->len[0] = 0;
}

static void
run_add(struct lits *run, char c)
{
	if (run->n == 0) {
		run->n = 1;
		run->len[0] = 0;
	}
	/* A longer run is cut: any part of a required run is required. */
	if (run->len[0] < LIT_LEN)
		run->s[0][run->len[0]++] = c;
}

/*
 * A bracket expression from just after '['.  Sets *lit to its one
 * character when it is a plain set of one ("[.]"), else to -1.
 */
static void
parse_bracket(struct lex *lx, int *lit)
{
	const char	*start, *end;
	int		 negate = 0;

	if (*lx->p == '^') {
		negate = 1;
		lx->p++;
	}
	start = lx->p;
	if (*lx->p == ']')
		lx->p++;
	while (*lx->p != ']') {
		if (*lx->p == '\0') {
			lx->bad = 1;
			return;
		}
		if (lx->p[0] == '[' && (lx->p[1] == ':' || lx->p[1] == '=' ||
		    lx->p[1] == '.')) {
			char close[3] = { lx->p[1], ']', '\0' };

			if ((end = strstr(lx->p + 2, close)) == NULL) {
				lx->bad = 1;
				return;
			}
			lx->p = end + 2;
			continue;
		}
		lx->p++;
	}
	*lit = !negate && lx->p - start == 1 ? (unsigned char)*start : -1;
	lx->p++;
}

/* A count in an interval, bounded; -1 if there are no digits. */
static int
parse_count(struct lex *lx)
{
	int n = -1;

	while (*lx->p >= '0' && *lx->p <= '9') {
		n = (n == -1 ? 0 : n) * 10 + (*lx->p - '0');
		if (n > 1000000)
			n = 1000000;	/* glibc refuses above 32767 */
		lx->p++;
	}
	return n;
}

/*
 * {m}, {m,}, {m,n} or {,n} after '{': *min, and *copies, how many
 * times glibc copies what it repeats.  0, or -1 if not an interval.
 */
static int
parse_interval(struct lex *lx, int *min, size_t *copies)
{
	int m, n;

	m = parse_count(lx);
	if (*lx->p == ',') {
		lx->p++;
		n = parse_count(lx);	/* glibc reads {,} as {0,} */
	} else if ((n = m) == -1)
		return -1;
	if (*lx->p != '}')
		return -1;
	lx->p++;
	*min = m == -1 ? 0 : m;
	*copies = n == -1 ? (size_t)*min + 1 : (size_t)n;
	if (*copies == 0)
		*copies = 1;
	return 0;
}

/*
 * Quantifiers after an atom: 1 if they make it optional (some minimum
 * is 0), 0 if the atom is still required, -1 if a '{' is not an
 * interval.  *any says whether there was a quantifier at all, *copies
 * how many times the atom is copied.
 */
static int
parse_quants(struct lex *lx, int *any, size_t *copies)
{
	size_t	c;
	int	optional = 0, min;

	*any = 0;
	*copies = 1;
	for (;;) {
		switch (*lx->p) {
		case '*':
		case '?':
			/* glibc's closures of optional parts grow quickly. */
			optional = 1;
			*copies = cost_mul(*copies, 2);
			break;
		case '+':
			*copies = cost_mul(*copies, 2);
			break;
		case '{':
			lx->p++;
			if (parse_interval(lx, &min, &c) == -1)
				return -1;
			if (min == 0)
				optional = 1;
			*copies = cost_mul(*copies, c);
			*any = 1;
			continue;
		default:
			return optional;
		}
		lx->p++;
		*any = 1;
	}
}

/*
 * One branch, up to '|', ')' or the end: the best literal set every
 * match of it contains, into best.
 */
static void
parse_branch(struct lex *lx, struct lits *best, int depth, struct cost *cost)
{
	struct lits	run, group;
	struct cost	atom;
	size_t		copies;
	int		lit, opt, any;

	best->n = 0;
	run.n = 0;
	run.len[0] = 0;
	/* An unmatched ')' is an ordinary character in glibc's ERE. */
	while (!lx->bad && *lx->p != '\0' && *lx->p != '|' &&
	    (*lx->p != ')' || depth == 0)) {
		group.n = 0;
		lit = -1;
		atom.total = atom.len = 1;
		switch (*lx->p) {
		case '(':
			lx->p++;
			atom.total = atom.len = 0;
			if (parse_alt(lx, &group, depth + 1, &atom) == -1 ||
			    *lx->p != ')') {
				lx->bad = 1;
				return;
			}
			lx->p++;
			break;
		case '[':
			lx->p++;
			parse_bracket(lx, &lit);
			break;
		case '\\':
			lx->p++;
			if (*lx->p == '\0') {
				lx->bad = 1;
				return;
			}
			/* \w, \b, \1 ...: a class, an anchor or a reference. */
			if (!((*lx->p >= 'a' && *lx->p <= 'z') ||
			    (*lx->p >= 'A' && *lx->p <= 'Z') ||
			    (*lx->p >= '0' && *lx->p <= '9')))
				lit = (unsigned char)*lx->p;
			lx->p++;
			break;
		case '*':
		case '+':
		case '?':
		case '{':
			/* A quantifier with nothing before it. */
			lx->bad = 1;
			return;
		case '.':
		case '^':
		case '$':
			lx->p++;
			break;
		default:
			lit = (unsigned char)*lx->p++;
			break;
		}
		if ((opt = parse_quants(lx, &any, &copies)) == -1) {
			lx->bad = 1;
			return;
		}
		cost->total = cost_add(cost->total, cost_mul(atom.total,
		    copies));
		cost->len = cost_add(cost->len, atom.len);
		if (lit == -1 || opt)
			run_end(best, &run);
		else
			run_add(&run, (char)lit);
		/* "ab+c" holds "ab" and "c", never "abc". */
		if (any)
			run_end(best, &run);
		if (group.n > 0 && !opt)
			lits_better(best, &group);
	}
	run_end(best, &run);
}

/* An alternation: the union of its branches' sets, or none. */
static int
parse_alt(struct lex *lx, struct lits *out, int depth, struct cost *cost)
{
	struct lits	br;
	size_t		i;
	int		none = 0;

	out->n = 0;
	if (depth > DEPTH_MAX) {
		lx->deep = lx->bad = 1;
		return -1;
	}
	for (;;) {
		parse_branch(lx, &br, depth, cost);
		if (lx->bad)
			return -1;
		if (br.n == 0 || out->n + br.n > LIT_MAX)
			none = 1;
		for (i = 0; !none && i < br.n; i++) {
			out->len[out->n] = br.len[i];
			memcpy(out->s[out->n++], br.s[i], br.len[i]);
		}
		if (*lx->p != '|')
			break;
		lx->p++;
	}
	if (none)
		out->n = 0;
	return 0;
}

/*
 * A bound on the weight of any expression with this text, whatever its
 * structure: its length times every repeat's copies, less the length.
 * When the analysis did not follow the text, regcomp may still run for
 * its error message as long as this stays small.
 */
static size_t
crude_weight(const char *regex)
{
	struct lex	lx = { regex, 0, 0 };
	size_t		len = strlen(regex), w = len, copies;
	int		min;

	while (*lx.p != '\0') {
		if (*lx.p == '+' || *lx.p == '*' || *lx.p == '?')
			w = cost_mul(w, 2);
		if (*lx.p++ != '{')
			continue;
		if (parse_interval(&lx, &min, &copies) == 0)
			w = cost_mul(w, copies);
	}
	return w - len;
}

int
redact_analyse(const char *regex, struct lits *out, char *err,
    size_t errlen)
{
	struct lex	lx = { regex, 0, 0 };
	struct cost	cost = { 0, 0 };

	err[0] = '\0';
	if (parse_alt(&lx, out, 0, &cost) == -1 || lx.bad ||
	    *lx.p != '\0') {
		out->n = 0;
		if (lx.deep)
			snprintf(err, errlen, "groups nested deeper than %d",
			    DEPTH_MAX);
		else if (crude_weight(regex) > COST_MAX)
			snprintf(err, errlen, "a form porthole cannot weigh; "
			    "write it in plain POSIX extended syntax");
		return -1;
	}
	if (cost.total - cost.len > COST_MAX) {
		snprintf(err, errlen, "too complex: its repeats add more than "
		    "%d positions to it", COST_MAX);
		return -1;
	}
	return 0;
}

