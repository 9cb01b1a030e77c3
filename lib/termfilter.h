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
 * in its C1 form (U+0080-U+009F).  It is fed a stream in pieces of any
 * size: a sequence split across recording events is treated as if it
 * had come in one.  `porthole audit replay` uses it, and so will the
 * live watch of a session.
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
	int		c2;		/* a 0xc2 held: a C1 control may follow */
	int		cont;		/* continuation bytes still due */
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
