/*
 * termfilter.h - a recorded terminal stream made safe to play again.
 *
 * A support shell's recording holds what the shell wrote to its
 * terminal: text (file contents and diagnostic output, escaped by the
 * shell on the way in) and the shell's own sequences, which move the
 * cursor, erase and colour.  Played on an auditor's terminal, any other
 * sequence would act on that terminal rather than draw on its screen:
 * OSC sets the window title or, with OSC 52, the clipboard; DCS, APC,
 * PM and SOS carry commands for the terminal itself; a report request
 * (CSI 6 n, CSI c, CSI 21 t) makes the terminal answer into the
 * auditor's own input.  A recording made before the shell escaped
 * C1 controls, or one edited by hand, may hold any of these.
 *
 * The filter passes text and the screen sequences on a short list
 * (termfilter.c) and drops everything else, whole, in its ESC form and
 * in its C1 form (U+0080-U+009F).  Text passes only as UTF-8 that
 * lib/parse.c's parse_utf8_char accepts: an overlong form (e0 82 9b,
 * which a lenient terminal decodes as U+009B, CSI), a surrogate, a code
 * point past U+10FFFF, a stray or missing continuation byte is dropped,
 * so what comes out is UTF-8 without C1 controls.  It is fed a stream
 * in pieces of any size: a sequence or a character split across
 * recording events is treated as if it had come in one.  `porthole
 * audit replay` uses it, and so will the live watch of a session.
 */
#ifndef PH_TERMFILTER_H
#define PH_TERMFILTER_H

#include <stddef.h>
#include <stdint.h>

/* Longest CSI (parameters and intermediates) kept to be passed on. */
#define TERMFILTER_SEQ_MAX	32
/* termfilter_feed may write this many bytes more than it was given. */
#define TERMFILTER_SLACK	(TERMFILTER_SEQ_MAX + 4)

struct termfilter {
	int		state;		/* where in a sequence the stream is */
	int		drop;		/* the CSI being read is left out */
	unsigned char	u8[4];		/* a character not yet complete */
	size_t		u8n;		/* its bytes so far, 0 if none */
	size_t		u8len;		/* its length, by its first byte */
	size_t		n;
	unsigned char	seq[TERMFILTER_SEQ_MAX];	/* a CSI so far */
	uint64_t	dropped;	/* sequences and controls left out */
};

void	termfilter_init(struct termfilter *);
/*
 * Filter in[0..len) into out, which has room for len + TERMFILTER_SLACK
 * bytes; returns the bytes written.  What the stream ends in the middle
 * of is held until the next call.
 */
size_t	termfilter_feed(struct termfilter *, const char *in, size_t len,
	    char *out);

#endif
