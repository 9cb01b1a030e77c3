/*
 * termfilter.c - a recorded terminal stream made safe to play again
 * (see termfilter.h).
 *
 * The states follow the parser every VT-style terminal has (ECMA-48 and
 * Paul Williams' DEC parser): ground, escape, escape intermediate, CSI,
 * and a control string (OSC, DCS, SOS, PM, APC) that runs to its string
 * terminator.  Where this filter and a terminal could disagree about
 * where a sequence ends, the filter drops rather than passes: it never
 * writes the introducer of a sequence it does not pass, so a terminal
 * fed its output is never inside one.
 *
 * A byte of 0x80 or more begins or continues a character, which is
 * held until it is complete and then judged whole by parse_utf8_char:
 * only then is it known whether it is text, a C1 control, or nothing a
 * terminal should be shown.
 */
#include <stdint.h>
#include <string.h>

#include "lib/parse.h"
#include "lib/termfilter.h"

#define ESC	0x1b
#define BEL	0x07
#define CAN	0x18
#define SUB	0x1a

enum tf_state {
	TF_GROUND,	/* text */
	TF_ESC,		/* after ESC */
	TF_ESC_INTER,	/* ESC and intermediates: dropped to the final */
	TF_CSI,		/* ESC [ and parameters so far */
	TF_STRING,	/* a control string: dropped to its terminator */
	TF_STRING_ESC	/* ESC inside a control string: ST, or a new one */
};

/*
 * The CSI sequences that pass: those that only move the cursor, erase,
 * insert, delete, scroll or colour what is on the screen - what the
 * support shell draws with, and what a pager or a progress bar would.
 * Nothing that answers back, resizes or names the window, or changes
 * how the terminal reads keys.
 */
static const char tf_csi_finals[] =
	"ABCDEFG"	/* cursor up, down, on, back; next, previous line; column */
	"Hf"		/* cursor position */
	"`ade"		/* column, on; line, on */
	"JK"		/* erase in display, in line */
	"@LMPX"		/* insert blanks, lines; delete lines, characters; erase */
	"ST"		/* scroll up, down */
	"m"		/* SGR: colours and attributes */
	"r"		/* scrolling region */
	"su";		/* save and restore the cursor */

/* Private modes (CSI ? N h / l) that pass: screen-only. */
static const unsigned int tf_private_modes[] = {
	7,		/* autowrap */
	25,		/* cursor visible */
	47, 1047, 1048, 1049	/* alternate screen, saved cursor */
};

static int
tf_private_ok(const unsigned char *p, size_t n)
{
	unsigned int	mode = 0;
	size_t		i;

	if (n < 1 || n > 5)
		return 0;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		mode = mode * 10 + (unsigned int)(p[i] - '0');
	}
	for (i = 0; i < sizeof(tf_private_modes) /
	    sizeof(tf_private_modes[0]); i++)
		if (mode == tf_private_modes[i])
			return 1;
	return 0;
}

/* May ESC [ seq final go to the terminal? */
static int
tf_csi_ok(const struct termfilter *tf, unsigned char final)
{
	size_t	i;

	if (tf->n > 0 && tf->seq[0] == '?')
		return (final == 'h' || final == 'l') &&
		    tf_private_ok(tf->seq + 1, tf->n - 1);
	for (i = 0; i < tf->n; i++)
		if (!((tf->seq[i] >= '0' && tf->seq[i] <= '9') ||
		    tf->seq[i] == ';' || tf->seq[i] == ':'))
			return 0;
	return strchr(tf_csi_finals, final) != NULL;
}

/* A sequence begun is left out. */
static void
tf_drop(struct termfilter *tf, enum tf_state next)
{
	tf->dropped++;
	tf->state = next;
}

/* A C1 control, U+0080-U+009F, given as its code point. */
static void
tf_c1(struct termfilter *tf, unsigned char c)
{
	if (tf->state == TF_STRING) {
		if (c == 0x9c)		/* ST ends the string */
			tf->state = TF_GROUND;
		return;
	}
	/* A sequence begun is cut off by it, and left out. */
	if (tf->state != TF_GROUND && tf->state != TF_STRING_ESC)
		tf->dropped++;
	tf->state = TF_GROUND;
	switch (c) {
	case 0x9b:			/* CSI: left out at its final byte */
		tf->state = TF_CSI;
		tf->drop = 1;
		tf->n = 0;
		return;
	case 0x90:			/* DCS */
	case 0x98:			/* SOS */
	case 0x9d:			/* OSC */
	case 0x9e:			/* PM */
	case 0x9f:			/* APC */
		tf->state = TF_STRING;
		break;
	}
	tf->dropped++;
}

/*
 * May ASCII byte c of text be written?  A control that draws nothing
 * (BEL, SO, SI, ENQ, DEL, ...) is left out; ESC starts a sequence.
 */
static size_t
tf_text(struct termfilter *tf, unsigned char c, char *out)
{
	if ((c >= 0x20 && c != 0x7f) || c == '\n' || c == '\r' ||
	    c == '\t' || c == '\b') {
		out[0] = (char)c;
		return 1;
	}
	if (c == ESC)
		tf->state = TF_ESC;
	else
		tf->dropped++;
	return 0;
}

/*
 * Bytes that are not UTF-8 (a character cut short, an overlong form, a
 * surrogate, a byte that starts no character): left out.  Outside a
 * string they stand where text would, and so cut a sequence off.
 */
static void
tf_not_utf8(struct termfilter *tf)
{
	if (tf->state == TF_STRING)
		return;
	if (tf->state != TF_GROUND)
		tf_drop(tf, TF_GROUND);
	tf->dropped++;
}

/*
 * A complete character held in tf->u8: written if it is UTF-8 and not
 * a C1 control; a C1 control acts as one; inside a string it is part of
 * what is dropped.  Returns the bytes written.
 */
static size_t
tf_char(struct termfilter *tf, char *out)
{
	uint32_t	cp;
	size_t		n = tf->u8n;

	tf->u8n = 0;
	if (parse_utf8_char((const char *)tf->u8, n, &cp) != n) {
		tf_not_utf8(tf);
		return 0;
	}
	if (cp >= 0x80 && cp <= 0x9f) {
		tf_c1(tf, (unsigned char)cp);
		return 0;
	}
	if (tf->state == TF_STRING)
		return 0;
	/* A character cuts a sequence off. */
	if (tf->state != TF_GROUND)
		tf_drop(tf, TF_GROUND);
	memcpy(out, tf->u8, n);
	return n;
}

/* The next byte of a held character: the bytes written. */
static size_t
tf_cont(struct termfilter *tf, unsigned char c, char *out)
{
	tf->u8[tf->u8n++] = c;
	return tf->u8n == tf->u8len ? tf_char(tf, out) : 0;
}

/*
 * A byte of 0x80 or more with no character held: the length its first
 * byte announces (parse_utf8_char judges the rest once it is all
 * there), or a byte that starts no character.
 */
static void
tf_lead(struct termfilter *tf, unsigned char c)
{
	if (c >= 0xc0 && c <= 0xdf)
		tf->u8len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		tf->u8len = 3;
	else if (c >= 0xf0 && c <= 0xf7)
		tf->u8len = 4;
	else {
		tf_not_utf8(tf);	/* a stray continuation byte, f8-ff */
		return;
	}
	tf->u8[0] = c;
	tf->u8n = 1;
}

/* After ESC. */
static size_t
tf_esc(struct termfilter *tf, unsigned char c, char *out, int *again)
{
	switch (c) {
	case '[':
		tf->state = TF_CSI;
		tf->drop = 0;
		tf->n = 0;
		return 0;
	case ']':			/* OSC */
	case 'P':			/* DCS */
	case 'X':			/* SOS */
	case '^':			/* PM */
	case '_':			/* APC */
		tf_drop(tf, TF_STRING);
		return 0;
	case '7':			/* save the cursor */
	case '8':			/* restore it */
	case 'D':			/* index */
	case 'E':			/* next line */
	case 'M':			/* reverse index */
		tf->state = TF_GROUND;
		out[0] = ESC;
		out[1] = (char)c;
		return 2;
	case ESC:
		tf->dropped++;		/* the first one, alone */
		return 0;
	case CAN:
	case SUB:
		tf_drop(tf, TF_GROUND);
		return 0;
	}
	if (c >= 0x20 && c <= 0x2f)
		tf_drop(tf, TF_ESC_INTER);
	else if (c >= 0x30 && c <= 0x7e)
		tf_drop(tf, TF_GROUND);	/* RIS, charsets, keypad modes */
	else {
		tf_drop(tf, TF_GROUND);	/* cut off: c is text again */
		*again = 1;
	}
	return 0;
}

/* Inside ESC [. */
static size_t
tf_csi(struct termfilter *tf, unsigned char c, char *out, int *again)
{
	size_t	o;

	if (c >= 0x20 && c <= 0x3f) {
		if (c <= 0x2f || tf->n == sizeof(tf->seq))
			tf->drop = 1;	/* intermediates; too long */
		else
			tf->seq[tf->n++] = c;
		return 0;
	}
	if (c >= 0x40 && c <= 0x7e) {
		tf->state = TF_GROUND;
		if (tf->drop || !tf_csi_ok(tf, c)) {
			tf->dropped++;
			return 0;
		}
		out[0] = ESC;
		out[1] = '[';
		memcpy(out + 2, tf->seq, tf->n);
		out[2 + tf->n] = (char)c;
		o = 3 + tf->n;
		tf->n = 0;
		return o;
	}
	tf->dropped++;
	if (c == ESC)
		tf->state = TF_ESC;
	else if (c == CAN || c == SUB)
		tf->state = TF_GROUND;
	else {
		tf->state = TF_GROUND;	/* cut off by a control or text */
		*again = 1;
	}
	return 0;
}

/* One byte, in whatever state; *again: look at it once more. */
static size_t
tf_byte(struct termfilter *tf, unsigned char c, char *out, int *again)
{
	*again = 0;
	switch (tf->state) {
	case TF_GROUND:
		return tf_text(tf, c, out);
	case TF_ESC:
		return tf_esc(tf, c, out, again);
	case TF_ESC_INTER:
		if (c >= 0x20 && c <= 0x2f)
			return 0;
		tf->state = TF_GROUND;
		if (c == ESC)
			tf->state = TF_ESC;
		else if (!(c >= 0x30 && c <= 0x7e) && c != CAN && c != SUB)
			*again = 1;
		return 0;
	case TF_CSI:
		return tf_csi(tf, c, out, again);
	case TF_STRING:
		if (c == BEL || c == CAN || c == SUB)
			tf->state = TF_GROUND;
		else if (c == ESC)
			tf->state = TF_STRING_ESC;
		return 0;
	case TF_STRING_ESC:
		if (c == '\\') {
			tf->state = TF_GROUND;
			return 0;
		}
		/* ESC ends the string and begins a sequence of its own. */
		tf->state = TF_ESC;
		*again = 1;
		return 0;
	}
	return 0;
}

void
termfilter_init(struct termfilter *tf)
{
	memset(tf, 0, sizeof(*tf));
	tf->state = TF_GROUND;
}

size_t
termfilter_feed(struct termfilter *tf, const char *in, size_t len,
    char *out)
{
	const unsigned char	*p = (const unsigned char *)in;
	size_t			 i, o = 0;
	int			 again;

	for (i = 0; i < len; i++) {
		if (tf->u8n > 0) {
			if ((p[i] & 0xc0) == 0x80) {
				o += tf_cont(tf, p[i], out + o);
				continue;
			}
			/* Cut short: left out, and p[i] is looked at alone. */
			tf->u8n = 0;
			tf_not_utf8(tf);
		}
		if (p[i] >= 0x80) {
			tf_lead(tf, p[i]);
			continue;
		}
		do
			o += tf_byte(tf, p[i], out + o, &again);
		while (again);
	}
	return o;
}
