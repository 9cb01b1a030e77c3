/*
 * redact.h - secrets replaced by stars before bytes leave the cluster.
 *
 * A redactor holds the [redact] patterns of porthole.conf, compiled
 * once when the policy is loaded (POSIX extended expressions, glibc's
 * regcomp, the C locale: a byte is a character).  A stream runs them
 * over bytes that arrive in chunks of any size - a file read in pieces,
 * a diagnostic's pipe - and gives the bytes back in order:
 *
 *   - text is cut into lines at '\n'; a line split across two chunks
 *     is held until its end arrives, so where the chunks happen to be
 *     cut never changes the result;
 *   - each line is matched with REG_STARTEND, so a NUL byte inside a
 *     line hides nothing after it; a '\r' before the '\n' is not part
 *     of the line, so CRLF text keeps its line ends;
 *   - every byte of every match becomes '*', and nothing else changes:
 *     the output has the length of the input, so an SFTP read at offset
 *     N still sees byte N of the file, and a size stays true;
 *   - the matches of every pattern are found in the original line, so
 *     two patterns that overlap both count and the union is starred;
 *   - a line longer than REDACT_LINE_MAX is starred whole: matching it
 *     would cost too much, and letting it pass would let a secret out.
 *
 * Only counts leave this module, never the text that matched.
 *
 * Cost is bounded: each pattern is analysed once for a set of literal
 * strings one of which every match must contain ("AKIA" in
 * AKIA[0-9A-Z]{16}, "password", "secret" or "token" in
 * (password|secret|token) *[=:] *[^ ]+).  A line holding none of them
 * cannot match, and is found with memmem over many lines at once; only
 * the lines that hold one are given to regexec.  A pattern without such
 * a literal is run on every line.
 */
#ifndef PH_REDACT_H
#define PH_REDACT_H

#include <stddef.h>
#include <stdint.h>

#define REDACT_LINE_MAX		(64 * 1024)	/* longer lines: all stars */
#define REDACT_MAX_PATTERNS	64
#define REDACT_NAME_MAX		64		/* bytes in a pattern's name */
#define REDACT_SNIFF_LEN	8192		/* what redact_sniff reads */

struct redact;
struct redact_stream;

/* An empty redactor (no pattern: streams pass bytes through), or NULL. */
struct redact	*redact_new(void);
void		 redact_free(struct redact *r);
/*
 * Compile regex (POSIX extended) as pattern name.  Refused, with the
 * reason in err: an invalid expression (regerror's text), one that
 * matches an empty line (it would match at every position of every
 * line and star nothing), a control character, more than
 * REDACT_MAX_PATTERNS patterns.  Returns 0 or -1.
 */
int		 redact_add(struct redact *r, const char *name,
		    const char *regex, char *err, size_t errlen);
size_t		 redact_count(const struct redact *r);
const char	*redact_name(const struct redact *r, size_t i);
const char	*redact_regex(const struct redact *r, size_t i);
/*
 * The literals pattern i is prefiltered with, joined by '|' into buf
 * ("" when it has none and is run on every line), for tests and for
 * `porthole policy show`.  Returns buf.
 */
const char	*redact_prefilter(const struct redact *r, size_t i, char *buf,
		    size_t len);

/*
 * Where a stream's bytes go, in order.  buf is valid during the call
 * only.  Return 0, or -1 to stop the stream (redact_stream_feed then
 * returns -1).
 */
typedef int	(*redact_emit_fn)(void *arg, const void *buf, size_t len);

/* A stream over r (which must outlive it), or NULL when out of memory. */
struct redact_stream *redact_stream_new(const struct redact *r);
void		 redact_stream_free(struct redact_stream *s);
/*
 * Feed len bytes.  buf is redacted in place and handed to emit, in one
 * or more pieces; the bytes of a line whose end has not arrived yet
 * are copied and kept (at most REDACT_LINE_MAX of them) until it does,
 * or until redact_stream_end.  Returns 0, or -1 when emit refused or
 * memory ran out (the stream is then unusable).
 */
int		 redact_stream_feed(struct redact_stream *s, void *buf,
		    size_t len, redact_emit_fn emit, void *arg);
/* The input is over: the last line, if it lacks a '\n', goes out too. */
int		 redact_stream_end(struct redact_stream *s, redact_emit_fn emit,
		    void *arg);
/*
 * The input was cut short (a file that grew while it was read, read up
 * to its size at open): a last line without its '\n' may hold part of
 * a secret that no longer matches, so it goes out starred whole.
 */
int		 redact_stream_cut(struct redact_stream *s, redact_emit_fn emit,
		    void *arg);
/* Matches of pattern i so far. */
uint64_t	 redact_stream_matches(const struct redact_stream *s, size_t i);
/* Lines starred whole: longer than REDACT_LINE_MAX, or cut. */
uint64_t	 redact_stream_long_lines(const struct redact_stream *s);
/* Every match and every long line: the number an audit event carries. */
uint64_t	 redact_stream_total(const struct redact_stream *s);

/*
 * Whether the first bytes of a file (up to REDACT_SNIFF_LEN of them)
 * are text that redaction can work on.  NULL if they are; else why not,
 * for the refusal: "a compressed file (gzip)", "a binary file (it holds
 * a NUL byte)".  Patterns cannot see into compressed data, and a binary
 * file's "lines" are arbitrary, so such a file under a redacted path is
 * refused rather than passed through.
 */
const char	*redact_sniff(const void *head, size_t len);

#endif
