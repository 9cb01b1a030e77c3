/*
 * escape.h - untrusted text made safe for a terminal.
 *
 * Every view a human reads (audit list/show, sessions, status, the
 * relay's reports) prints text that an engineer, a relay or a product
 * chose.  Printed raw, an ESC, BEL, CR or a C1 control such as U+009B
 * (CSI) would let that text rewrite the reader's screen.  One rule,
 * here: C0 controls (U+0000-U+001F), DEL, C1 controls (U+0080-U+009F)
 * and every byte that is not part of a UTF-8 character are written as
 * \xNN, one per byte; a backslash is written as \\, so that every
 * backslash in a view starts an escape and none can be forged.  Other
 * characters pass unchanged.  JSON output is never escaped this way:
 * it stays exact.
 */
#ifndef PH_ESCAPE_H
#define PH_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/*
 * Escape s[0..len) into out (outlen bytes, always NUL-terminated when
 * outlen > 0, and never cut inside an escape or a character).  Returns
 * the length the whole escaped text needs, not counting the NUL, as
 * snprintf does: a result >= outlen means it was cut.
 */
size_t	escape_text(const char *s, size_t len, char *out, size_t outlen);
/* The same into a new string (free it), or NULL when out of memory. */
char	*escape_dup(const char *s);
/* Write s escaped to f.  Returns 0, or -1 on a write error. */
int	escape_fputs(const char *s, FILE *f);
/* Whether s holds anything escape_text would change: 1 or 0. */
int	escape_needed(const char *s, size_t len);

/*
 * The character at s[0..len) under this rule, for a stream shown in
 * pieces (the support shell).  Returns its length in bytes, with *pass
 * set when it may be shown as it is and cleared when it is a control
 * character (C0, DEL, C1: escape it whole) or a byte that is not part of
 * a character (length 1).  Returns 0 when len is 0, or when s ends
 * inside what may still become a character: a stream waits for the
 * rest.  A backslash passes: doubling it is for views, not for text.
 */
size_t	escape_char(const char *s, size_t len, int *pass);

#endif
