/*
 * shell_edit.c - the support shell's line editor.  The terminal is out
 * of line mode and does not echo: the command line is edited here
 * (cursor keys, home and end, backspace and delete, ^A ^E ^B ^F ^K ^U
 * ^W ^L, history with the up and down keys) and shown scrolled sideways
 * to fit the window.  A control character never enters a line.
 */
#include "gateway/session/shell_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/escape.h"

/* The command line being edited: bytes, and the cursor's byte offset. */
struct shell_line {
	char			 buf[SHELL_LINE_MAX + 1];
	size_t			 len, pos;
	size_t			 scroll;	/* first character shown */
	int			 toolong;	/* more was typed than fits */
	unsigned		 back;		/* history lines up, 0: this */
	char			 draft[SHELL_LINE_MAX + 1];
	size_t			 draft_len;
};

/*
 * Reading command lines.
 */

int
shell_cols(struct shell *sh)
{
	int rows, cols;

	shell_winsize(sh, &rows, &cols);
	return cols;
}

static size_t
shell_chars(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += !SHELL_CONT(s[i]);
	return c;
}

/* The byte offset of character number chars of s. */
static size_t
shell_char_off(const char *s, size_t len, size_t chars)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!SHELL_CONT(s[i]) && chars-- == 0)
			break;
	return i;
}

static size_t
shell_char_prev(const char *s, size_t pos)
{
	while (pos > 0 && SHELL_CONT(s[--pos]))
		;
	return pos;
}

static size_t
shell_char_next(const char *s, size_t len, size_t pos)
{
	if (pos < len)
		pos++;
	while (pos < len && SHELL_CONT(s[pos]))
		pos++;
	return pos;
}

/*
 * Show the prompt and the part of the line around the cursor that fits
 * the window, and put the cursor in place: one write, so a slow link
 * sees no flicker.
 */
static int
shell_redraw(struct shell *sh, struct shell_line *l)
{
	char	out[4 * SHELL_LINE_MAX + 64];
	size_t	o = 0, avail, cpos, clen, from, to, col;
	int	rows, cols;

	shell_winsize(sh, &rows, &cols);
	avail = (size_t)cols > sh->prompt_cols + 8 ?
	    (size_t)cols - sh->prompt_cols - 1 : 8;
	cpos = shell_chars(l->buf, l->pos);
	clen = shell_chars(l->buf, l->len);
	if (cpos < l->scroll)
		l->scroll = cpos;
	if (cpos > l->scroll + avail)
		l->scroll = cpos - avail;
	if (l->scroll > 0 && clen < l->scroll + avail)
		l->scroll = clen > avail ? clen - avail : 0;
	if (l->scroll > cpos)
		l->scroll = cpos;
	from = shell_char_off(l->buf, l->len, l->scroll);
	to = shell_char_off(l->buf, l->len, l->scroll + avail);
	out[o++] = '\r';
	if (shell_write(sh, out, o) == -1 ||
	    shell_text(sh, sh->prompt, strlen(sh->prompt)) == -1)
		return -1;
	o = 0;
	memcpy(out, l->buf + from, to - from);
	o = to - from;
	col = sh->prompt_cols + cpos - l->scroll;
	o += (size_t)snprintf(out + o, sizeof(out) - o, "\033[K\r");
	if (col > 0)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "\033[%zuC",
		    col);
	if (shell_write(sh, out, o) == -1)
		return -1;
	sh->col0 = 0;
	return 0;
}

/* Replace the line with text (from the history, or the draft). */
static void
shell_line_set(struct shell_line *l, const char *text, size_t len)
{
	memcpy(l->buf, text, len);
	l->len = l->pos = len;
	l->toolong = 0;
	l->buf[len] = '\0';
}

/* The up (dir 1) and down (dir -1) keys walk the history. */
static void
shell_history(struct shell *sh, struct shell_line *l, int dir)
{
	unsigned	kept = sh->nhist < SHELL_HISTORY ? sh->nhist :
	    SHELL_HISTORY;
	const char	*h;

	if ((dir > 0 && l->back >= kept) || (dir < 0 && l->back == 0))
		return;
	if (l->back == 0) {
		memcpy(l->draft, l->buf, l->len);
		l->draft_len = l->len;
	}
	l->back = dir > 0 ? l->back + 1 : l->back - 1;
	if (l->back == 0) {
		shell_line_set(l, l->draft, l->draft_len);
		return;
	}
	h = sh->hist[(sh->nhist - l->back) % SHELL_HISTORY];
	shell_line_set(l, h, strlen(h));
}

static void
shell_remember(struct shell *sh, const char *line, size_t len)
{
	const char *last;

	if (len == 0 || strspn(line, " ") == len)
		return;
	last = sh->nhist > 0 ? sh->hist[(sh->nhist - 1) % SHELL_HISTORY] : "";
	if (strcmp(last, line) == 0)
		return;
	memcpy(sh->hist[sh->nhist % SHELL_HISTORY], line, len + 1);
	sh->nhist++;
}

/* Delete bytes [from, to) of the line. */
static void
shell_line_cut(struct shell_line *l, size_t from, size_t to)
{
	memmove(l->buf + from, l->buf + to, l->len - to);
	l->len -= to - from;
	l->buf[l->len] = '\0';
	l->pos = from;
}

/* Where the word before the cursor starts (^W, alt-b). */
static size_t
shell_word_back(const struct shell_line *l)
{
	size_t p = l->pos;

	while (p > 0 && l->buf[p - 1] == ' ')
		p--;
	while (p > 0 && l->buf[p - 1] != ' ')
		p--;
	return p;
}

static size_t
shell_word_forward(const struct shell_line *l)
{
	size_t p = l->pos;

	while (p < l->len && l->buf[p] == ' ')
		p++;
	while (p < l->len && l->buf[p] != ' ')
		p++;
	return p;
}

/*
 * Read the rest of an escape sequence (after ESC) and turn the ones
 * that edit into the control key that does the same; any other is
 * swallowed whole (0).  -1: ^C or the terminal is gone.
 */
int
shell_escape(struct shell *sh)
{
	unsigned char	c, seq[SHELL_ESC_MAX];
	size_t		n = 0;

	if (shell_key(sh, &c) == -1)
		return -1;
	if (c == 'b' || c == 'f')
		return c == 'b' ? 0x100 : 0x101;	/* alt-b, alt-f */
	if (c == 0x7f)
		return 0x17;				/* alt-backspace */
	if (c == ']' || c == 'P' || c == '_' || c == '^') {
		/*
		 * A string (OSC, DCS, ...) up to BEL or ESC \: dropped whole.
		 * One that never ends ends at the engineer's Enter, which is
		 * a key of its own.
		 */
		for (;;) {
			if (shell_key(sh, &c) == -1)
				return -1;
			if (c == '\r' || c == '\n') {
				sh->in_off--;
				break;
			}
			if (c == 0x07)
				break;
			if (c == 0x1b) {
				if (shell_key(sh, &c) == -1)
					return -1;
				if (c == '\\')
					break;
			}
		}
		return 0;
	}
	if (c != '[' && c != 'O') {
		/* Esc on its own: the key after it is a key of its own. */
		sh->in_off--;
		return 0;
	}
	/*
	 * CSI or SS3: parameter and intermediate bytes (0x20..0x3f), then
	 * one final byte 0x40..0x7e.  Longer than the sequences kept here,
	 * it is read to its end and dropped; a byte that cannot be in one
	 * ends it and is a key of its own.
	 */
	for (;;) {
		if (shell_key(sh, &c) == -1)
			return -1;
		if (c >= 0x40 && c <= 0x7e)
			break;
		if (c < 0x20 || c > 0x3f) {
			sh->in_off--;
			return 0;
		}
		if (n < sizeof(seq) - 1)
			seq[n++] = c;
		else
			n = sizeof(seq);	/* too long to be one we know */
	}
	if (n == sizeof(seq))
		return 0;
	seq[n] = c;
	switch (seq[n]) {
	case 'A': return 0x10;			/* up: ^P */
	case 'B': return 0x0e;			/* down: ^N */
	case 'C': return 0x06;			/* right: ^F */
	case 'D': return 0x02;			/* left: ^B */
	case 'H': return 0x01;			/* home: ^A */
	case 'F': return 0x05;			/* end: ^E */
	case '~':
		if (n == 1 && (seq[0] == '1' || seq[0] == '7'))
			return 0x01;		/* home */
		if (n == 1 && (seq[0] == '4' || seq[0] == '8'))
			return 0x05;		/* end */
		if (n == 1 && seq[0] == '3')
			return 0x104;		/* delete */
		return 0;
	}
	return 0;
}

/*
 * Insert one typed character (its UTF-8 bytes) at the cursor: how many
 * bytes went in, 0 if the line is full or it is no character to keep.
 */
static size_t
shell_insert(struct shell *sh, struct shell_line *l, unsigned char c)
{
	char	ch[4] = { (char)c };
	size_t	n = 1, need = 0;
	int	pass;

	if (c >= 0xc0)
		need = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
	/* The rest of the character: never split across an edit. */
	while (need-- > 0 && n < sizeof(ch)) {
		if (sh->in_off == sh->in_len ||
		    !SHELL_CONT(sh->in[sh->in_off]))
			break;
		ch[n++] = (char)sh->in[sh->in_off++];
	}
	/*
	 * A C1 control or a byte that is no UTF-8 is dropped as C0
	 * controls are: the line is echoed, so it would reach the
	 * recording and the replaying auditor's terminal as it was typed.
	 */
	if (escape_char(ch, n, &pass) != n || !pass)
		return 0;
	if (l->len + n > SHELL_LINE_MAX) {
		l->toolong = 1;
		return 0;
	}
	memmove(l->buf + l->pos + n, l->buf + l->pos, l->len - l->pos);
	memcpy(l->buf + l->pos, ch, n);
	l->len += n;
	l->pos += n;
	l->buf[l->len] = '\0';
	return n;
}

/*
 * Read one command line into line (SHELL_LINE_MAX + 1 bytes, no newline)
 * with the editing keys above; *lenp is its length.
 */
enum shell_input
shell_read_line(struct shell *sh, char *line, size_t *lenp)
{
	struct shell_line	 l;
	unsigned char		 c;
	size_t			 added;
	int			 k, redraw;

	memset(&l, 0, sizeof(l));
	for (;;) {
		if (shell_key(sh, &c) == -1) {
			if (!shell_intr)
				return SHELL_IN_ERROR;
			(void)shell_write(sh, "^C", 2);
			return SHELL_IN_INTR;
		}
		k = c;
		if (c == 0x1b && (k = shell_escape(sh)) == -1) {
			if (!shell_intr)
				return SHELL_IN_ERROR;
			(void)shell_write(sh, "^C", 2);
			return SHELL_IN_INTR;
		}
		redraw = 1;
		switch (k) {
		case '\n':
		case '\r':
			if (shell_write(sh, "\n", 1) == -1)
				return SHELL_IN_ERROR;
			memcpy(line, l.buf, l.len + 1);
			*lenp = l.len;
			if (l.toolong)
				return SHELL_IN_LONG;
			shell_remember(sh, l.buf, l.len);
			return SHELL_IN_LINE;
		case 0x04:			/* ^D: end, or delete */
			if (l.len == 0 && !l.toolong)
				return SHELL_IN_EOF;
			/* FALLTHROUGH */
		case 0x104:			/* delete */
			if (l.pos < l.len)
				shell_line_cut(&l, l.pos, shell_char_next(l.buf,
				    l.len, l.pos));
			break;
		case 0x7f:			/* backspace */
		case 0x08:
			if (l.pos > 0)
				shell_line_cut(&l, shell_char_prev(l.buf, l.pos),
				    l.pos);
			break;
		case 0x01:			/* ^A, home */
			l.pos = 0;
			break;
		case 0x05:			/* ^E, end */
			l.pos = l.len;
			break;
		case 0x02:			/* ^B, left */
			l.pos = shell_char_prev(l.buf, l.pos);
			break;
		case 0x06:			/* ^F, right */
			l.pos = shell_char_next(l.buf, l.len, l.pos);
			break;
		case 0x100:			/* alt-b */
			l.pos = shell_word_back(&l);
			break;
		case 0x101:			/* alt-f */
			l.pos = shell_word_forward(&l);
			break;
		case 0x0b:			/* ^K: to the end */
			shell_line_cut(&l, l.pos, l.len);
			break;
		case 0x15:			/* ^U: to the start */
			shell_line_cut(&l, 0, l.pos);
			l.toolong = 0;
			break;
		case 0x17:			/* ^W: the word before */
			shell_line_cut(&l, shell_word_back(&l), l.pos);
			break;
		case 0x10:			/* ^P, up */
			shell_history(sh, &l, 1);
			break;
		case 0x0e:			/* ^N, down */
			shell_history(sh, &l, -1);
			break;
		case 0x0c:			/* ^L: clear the screen */
			if (shell_write(sh, "\033[H\033[2J", 7) == -1)
				return SHELL_IN_ERROR;
			break;
		case '\t':
			k = ' ';
			/* FALLTHROUGH */
		default:
			if (k < 0x20 || k == 0x7f || k > 0xff) {
				redraw = 0;	/* no use in a command */
				break;
			}
			/* Typing at the end: echo just the bytes it added. */
			if (l.pos == l.len && (added = shell_insert(sh, &l,
			    (unsigned char)k)) > 0 && l.scroll == 0 &&
			    sh->prompt_cols + shell_chars(l.buf, l.len) <
			    (size_t)shell_cols(sh)) {
				if (shell_write(sh, l.buf + l.pos - added,
				    added) == -1)
					return SHELL_IN_ERROR;
				redraw = 0;
			} else if (l.pos != l.len)
				(void)shell_insert(sh, &l, (unsigned char)k);
			break;
		}
		if (redraw && shell_redraw(sh, &l) == -1)
			return SHELL_IN_ERROR;
	}
}
