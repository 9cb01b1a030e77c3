/*
 * redact_int.h - what the redaction engine's two files share: a
 * pattern's prefilter and the analysis that finds it.  Not part of
 * redact.h's public surface.
 */
#ifndef PH_REDACT_INT_H
#define PH_REDACT_INT_H

#include <stddef.h>

#define LIT_MAX		16	/* literals in one pattern's prefilter */
#define LIT_LEN		64	/* bytes kept of one literal */

/* A set of literals, one of which every match contains; n == 0: none. */
struct lits {
	size_t		 n;
	size_t		 len[LIT_MAX];
	char		 s[LIT_MAX][LIT_LEN];
};

/*
 * The prefilter and the weight of regex.  0 with out set (maybe
 * empty).  -1 when regex must not reach regcomp: nested too deep, too
 * heavy, or a form the analysis does not follow and cannot bound (err
 * says which); or -1 with err empty when the analysis does not follow
 * it but it is light enough for regcomp to say what is wrong.
 */
int	redact_analyse(const char *regex, struct lits *out, char *err,
	    size_t errlen);

#endif
