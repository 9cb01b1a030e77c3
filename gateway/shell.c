/*
 * shell.c - the support shell: a small command loop on the engineer's
 * terminal.
 *
 * The terminal is out of line mode and does not echo: the shell edits
 * the command line itself (shell_edit: cursor keys, home and end,
 * backspace and delete, ^A ^E ^B ^F ^K ^U ^W ^L, history with the up
 * and down keys) and shows it scrolled sideways to fit the window.  A
 * control character never enters a line.  The kernel still turns ^C into
 * SIGINT.  Keys are taken from one buffer, so keys typed ahead - after q
 * in the pager, during a command - wait for the next prompt.  Everything the
 * engineer reaches goes through the access_ops table, because this
 * process runs under a seccomp filter that allows no open(2), no exec
 * and no sockets.  For the same reason it never calls into libc for
 * anything that may touch a file or an unlisted system call behind its
 * back (time zones, qsort, stdio streams).
 */
#include "gateway/shell.h"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "lib/escape.h"

#define SHELL_LINE_MAX		1024	/* bytes in a command line */
#define SHELL_WORDS_MAX		64	/* words in a command line */
#define SHELL_CHUNK		16384	/* bytes per pread or pipe read */
#define SHELL_TAIL_LINES	10	/* tail without -n */
#define SHELL_TAIL_MAX		100000	/* largest tail -n */
#define SHELL_FOLLOW_MS		250	/* how often tail -f looks for more */
#define SHELL_LS_BATCH		64	/* entries per list_dir request */
#define SHELL_LS_MAX		10000	/* entries ls gathers and sorts */
#define SHELL_ROWS		24	/* when the terminal does not say */
#define SHELL_COLS		80
#define SHELL_HISTORY		32	/* command lines kept for the up key */
#define SHELL_ESC_MAX		16	/* bytes of an escape sequence */

/* What a command needs the policy to have turned on. */
#define SHELL_NEED_FILES	0x1
#define SHELL_NEED_SETTINGS	0x2
#define SHELL_NEED_DIAGS	0x4

/*
 * Command handlers return SHELL_NEXT to show the next prompt, SHELL_END
 * when the engineer is done, and -1 when the monitor or the terminal is
 * gone and nothing more may happen.
 */
#define SHELL_NEXT		0
#define SHELL_END		1

/* What reading a command line gave. */
enum shell_input {
	SHELL_IN_LINE,		/* a line, in the caller's buffer */
	SHELL_IN_EOF,		/* ^D on an empty line */
	SHELL_IN_INTR,		/* ^C: the line is discarded */
	SHELL_IN_LONG,		/* longer than SHELL_LINE_MAX: discarded */
	SHELL_IN_ERROR		/* the terminal is gone */
};

/* One engineer's shell. */
struct shell {
	int			 tty;
	const struct access_ops	*ops;
	const struct shell_info	*info;
	char			 cwd[ACCESS_PATH_MAX + 1];
	sigset_t		 waitmask;	/* the mask while waiting */
	int			 col0;		/* the cursor starts a line */
	unsigned char		 in[512];	/* keys read, not yet taken */
	size_t			 in_off, in_len;
	char			 prompt[ACCESS_PATH_MAX + 128];
	size_t			 prompt_cols;
	char			 hist[SHELL_HISTORY][SHELL_LINE_MAX + 1];
	unsigned		 nhist;		/* lines ever kept */
};

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

/* What shell_run changes and puts back before it returns. */
struct shell_saved {
	struct termios		tio;
	struct sigaction	intr;
	struct sigaction	quit;
	struct sigaction	tstp;
	sigset_t		mask;
};

/* A file the monitor opened for the engineer. */
struct shell_file {
	const char	*name;		/* as the engineer typed it */
	int		 fd;
	uint32_t	 handle;	/* names the open in the audit log */
	uint64_t	 sent;		/* bytes shown, for the audit log */
};

/* A directory's entries, gathered so they can be sorted. */
struct shell_dir {
	struct access_dirent	 *ents;
	struct access_dirent	**order;
	size_t			  n;
	size_t			  cap;
	int			  truncated;
};

struct shell_cmd {
	const char	*name;
	int		(*run)(struct shell *, int, char **);
	int		 needs;		/* SHELL_NEED_* */
	const char	*usage;
	const char	*help;		/* NULL: not listed by help */
};

static void	shell_winsize(struct shell *, int *, int *);

/* Set by SIGINT (^C), cleared before each prompt. */
static volatile sig_atomic_t shell_intr;

static int	shell_help(struct shell *, int, char **);
static int	shell_exit(struct shell *, int, char **);
static int	shell_pwd(struct shell *, int, char **);
static int	shell_cd(struct shell *, int, char **);
static int	shell_ls(struct shell *, int, char **);
static int	shell_cat(struct shell *, int, char **);
static int	shell_tail(struct shell *, int, char **);
static int	shell_less(struct shell *, int, char **);
static int	shell_settings(struct shell *, int, char **);
static int	shell_run_diag(struct shell *, int, char **);

static const struct shell_cmd shell_cmds[] = {
	{ "help", shell_help, 0, "help", "this list" },
	{ "ls", shell_ls, SHELL_NEED_FILES, "ls [PATH]",
	    "list a directory, or one file" },
	{ "cd", shell_cd, SHELL_NEED_FILES, "cd [PATH]",
	    "change directory (none: back home)" },
	{ "pwd", shell_pwd, SHELL_NEED_FILES, "pwd",
	    "show the current directory" },
	{ "cat", shell_cat, SHELL_NEED_FILES, "cat PATH", "show a file" },
	{ "tail", shell_tail, SHELL_NEED_FILES, "tail [-n N] [-f] PATH",
	    "last N lines (10); -f: follow until ^C" },
	{ "less", shell_less, SHELL_NEED_FILES, "less PATH",
	    "page through a file (or more)" },
	{ "more", shell_less, SHELL_NEED_FILES, "more PATH", NULL },
	{ "settings", shell_settings, SHELL_NEED_SETTINGS,
	    "settings get KEY | set KEY VALUE",
	    "read or change a product setting" },
	{ "run", shell_run_diag, SHELL_NEED_DIAGS, "run NAME [WORDS]",
	    "a diagnostic, even one named like a command" },
	{ "exit", shell_exit, 0, "exit", "end the session (or logout, ^D)" },
	{ "logout", shell_exit, 0, "logout", NULL },
};

#define SHELL_NCMDS	(sizeof(shell_cmds) / sizeof(shell_cmds[0]))

static void
shell_on_sigint(int sig)
{
	(void)sig;
	shell_intr = 1;
}

/*
 * Terminal output.
 */

/* Write all of buf to the terminal. */
static int
shell_write(struct shell *sh, const void *buf, size_t len)
{
	const char	*p = buf;
	struct pollfd	 pfd;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(sh->tty, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -1;
			pfd.fd = sh->tty;
			pfd.events = POLLOUT;
			(void)poll(&pfd, 1, -1);
			continue;
		}
		p += n;
		len -= (size_t)n;
		sh->col0 = p[-1] == '\n';
	}
	return 0;
}

/*
 * Text that came from a file, a diagnostic or the monitor may hold
 * terminal sequences that would rewrite what the engineer sees, answer
 * back on their input, or set their clipboard - and the recording holds
 * whatever the shell shows.  So every control character is shown as
 * text, by lib/escape.h's rule in the shell's notation: a C0 control
 * or DEL as ^X (as cat -v and less show them), a C1 control (U+0080 to
 * U+009F, which a terminal may take as CSI, OSC, DCS ...) and a byte
 * that is not part of a UTF-8 character as \xNN for each of its bytes,
 * as every porthole view shows them.  Newline and tab pass, and a
 * carriage return does when a newline follows it.  A backslash stays
 * one: this is a pager for logs, not evidence.
 *
 * shell_show: the next character of s[0..len) as it is shown, in out
 * (at most 8 bytes); *n bytes of s, *cols columns (a tab and a newline:
 * the caller's).  Returns out's length, or 0 with *n = 0 when s ends
 * inside a character, or in a carriage return, and more may come
 * (!final).
 */
static size_t
shell_show(const char *s, size_t len, int final, char out[16], size_t *n,
    int *cols)
{
	static const char	hex[] = "0123456789abcdef";
	unsigned char		c = (unsigned char)s[0];
	size_t			k, i, o = 0;
	int			pass;

	*n = 0;
	*cols = 0;
	if (len == 0 || (c == '\r' && len == 1 && !final))
		return 0;
	if (c == '\n' || c == '\t' || (c == '\r' && len > 1 &&
	    s[1] == '\n')) {
		out[0] = (char)c;
		*n = 1;
		*cols = c == '\t';
		return 1;
	}
	if ((k = escape_char(s, len, &pass)) == 0) {
		if (!final)
			return 0;
		k = 1;		/* cut short by the end: a stray byte */
	}
	*n = k;
	if (pass) {
		memcpy(out, s, k);
		*cols = 1;
		return k;
	}
	if (c < 0x20 || c == 0x7f) {
		out[0] = '^';
		out[1] = (char)(c ^ 0x40);
		*cols = 2;
		return 2;
	}
	for (i = 0; i < k; i++) {
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[(unsigned char)s[i] >> 4];
		out[o++] = hex[(unsigned char)s[i] & 0xf];
	}
	*cols = (int)o;
	return o;
}

/*
 * Show s[0..len) as shell_show says.  Returns the bytes of s shown -
 * all of them when final; otherwise a character cut by the end of s is
 * left for the caller to give again with what follows - or -1 when the
 * terminal is gone.
 */
static ssize_t
shell_text_part(struct shell *sh, const char *s, size_t len, int final)
{
	char	out[1024], piece[16];
	size_t	o = 0, i = 0, n, k;
	int	cols;

	while (i < len) {
		if ((k = shell_show(s + i, len - i, final, piece, &n,
		    &cols)) == 0)
			break;
		if (o + k > sizeof(out)) {
			if (shell_write(sh, out, o) == -1)
				return -1;
			o = 0;
		}
		memcpy(out + o, piece, k);
		o += k;
		i += n;
	}
	if (o > 0 && shell_write(sh, out, o) == -1)
		return -1;
	return (ssize_t)i;
}

/* Show all of s[0..len), as shell_show says. */
static int
shell_text(struct shell *sh, const char *s, size_t len)
{
	return shell_text_part(sh, s, len, 1) == -1 ? -1 : 0;
}

static int __attribute__((format(printf, 2, 3)))
shell_printf(struct shell *sh, const char *fmt, ...)
{
	char	buf[2048];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	return shell_text(sh, buf, (size_t)n < sizeof(buf) ? (size_t)n :
	    sizeof(buf) - 1);
}

/* Start a fresh line unless the cursor is at one already. */
static int
shell_newline(struct shell *sh)
{
	return sh->col0 ? 0 : shell_write(sh, "\n", 1);
}

/*
 * A refusal or notice: "porthole: WHY" on a line of its own.  Returns
 * SHELL_NEXT, or -1 when the terminal is gone, so a handler can end with
 * it.
 */
static int __attribute__((format(printf, 2, 3)))
shell_say(struct shell *sh, const char *fmt, ...)
{
	char	buf[1024];
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (shell_newline(sh) == -1 ||
	    shell_printf(sh, "porthole: %s\n", buf) == -1)
		return -1;
	return SHELL_NEXT;
}

/* An ops refusal: the monitor's reason, or a plain word if it gave none. */
static int
shell_refused(struct shell *sh, const char *why)
{
	return shell_say(sh, "%s", why[0] != '\0' ? why : "refused");
}

static const struct shell_cmd *
shell_find(const char *name)
{
	size_t	i;

	for (i = 0; i < SHELL_NCMDS; i++)
		if (strcmp(shell_cmds[i].name, name) == 0)
			return &shell_cmds[i];
	return NULL;
}

static int
shell_usage(struct shell *sh, const char *name)
{
	const struct shell_cmd *cmd = shell_find(name);

	return shell_say(sh, "usage: %s", cmd != NULL ? cmd->usage : name);
}

/*
 * Waiting, and ^C.
 *
 * SIGINT stays blocked except inside shell_wait's ppoll, so ^C can only
 * interrupt a wait of the shell's own: never a write half done, and never
 * a monitor request in the middle of its exchange, which would cost the
 * whole session.
 */

/*
 * Wait for n descriptors (none: just sleep) for at most ms milliseconds
 * (-1: no limit).  Returns what ppoll returns, 0 after another signal,
 * and -1 after ^C (shell_intr set) or an error.
 */
static int
shell_wait(struct shell *sh, struct pollfd *pfd, nfds_t n, int ms)
{
	struct timespec	 ts, *tsp = NULL;
	int		 rc;

	if (shell_intr)
		return -1;
	if (ms >= 0) {
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (long)(ms % 1000) * 1000000L;
		tsp = &ts;
	}
	rc = ppoll(pfd, n, tsp, &sh->waitmask);
	if (rc == -1 && errno == EINTR && !shell_intr)
		return 0;
	return rc;
}

/* Let a pending ^C in without waiting: between chunks of long output. */
static int
shell_interrupted(struct shell *sh)
{
	if (!shell_intr)
		(void)shell_wait(sh, NULL, 0, 0);
	return shell_intr;
}

/*
 * Reading command lines.
 */

/*
 * The next key byte: 1, or -1 after ^C (shell_intr set; keys typed
 * before it are dropped, as the kernel drops its own) or when the
 * terminal is gone.
 */
static int
shell_key(struct shell *sh, unsigned char *c)
{
	struct pollfd	pfd = { .fd = sh->tty, .events = POLLIN };
	ssize_t		n;
	int		rc;

	while (sh->in_off == sh->in_len) {
		if ((rc = shell_wait(sh, &pfd, 1, -1)) == -1) {
			if (!shell_intr)
				return -1;
			break;
		}
		if (rc == 0)
			continue;
		if ((n = read(sh->tty, sh->in, sizeof(sh->in))) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		if (n == 0)
			return -1;	/* hung up */
		sh->in_off = 0;
		sh->in_len = (size_t)n;
	}
	if (shell_intr) {
		sh->in_off = sh->in_len = 0;
		return -1;
	}
	*c = sh->in[sh->in_off++];
	return 1;
}

static int
shell_cols(struct shell *sh)
{
	int rows, cols;

	shell_winsize(sh, &rows, &cols);
	return cols;
}

/* UTF-8: a continuation byte takes no column and no cursor stop. */
#define SHELL_CONT(c)	(((unsigned char)(c) & 0xc0) == 0x80)

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
static int
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
static enum shell_input
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

/* Split line in place on spaces and tabs; returns the count, or -1. */
static int
shell_split(char *line, char **argv, int max)
{
	char	*p = line;
	int	 argc = 0;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (argc == max)
			return -1;
		argv[argc++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
	argv[argc] = NULL;
	return argc;
}

/*
 * No control character (C0, DEL, C1, NUL too) and no byte that is not
 * UTF-8 has a use in a command, and a NUL would hide the rest of the
 * line from the checks.  shell_read_line keeps them out of a line; this
 * is the check at the point of use.
 */
static int
shell_has_control(const char *line, size_t len)
{
	size_t	i = 0, n;
	int	pass;

	while (i < len) {
		if ((n = escape_char(line + i, len - i, &pass)) == 0)
			return 1;
		if (!pass && line[i] != '\t')
			return 1;
		i += n;
	}
	return 0;
}

/*
 * Files.
 */

/* Resolve an engineer's path against the current directory into out. */
static int
shell_path(struct shell *sh, const char *arg, char *out)
{
	if (access_normalize(sh->cwd, arg, out, ACCESS_PATH_MAX + 1) == -1)
		return shell_say(sh, "%s: not a valid path", arg) == -1 ?
		    -1 : 0;
	return 1;
}

/* Ask the monitor to open a file: 1 opened, 0 refused (said), -1 gone. */
static int
shell_open(struct shell *sh, const char *arg, struct shell_file *f)
{
	char			path[ACCESS_PATH_MAX + 1];
	char			why[ACCESS_WHY_MAX] = "";
	struct access_attr	attr;
	int			rc;

	if ((rc = shell_path(sh, arg, path)) != 1)
		return rc;
	rc = sh->ops->open_file(sh->ops->arg, path, &f->fd, &f->handle, &attr,
	    why, sizeof(why));
	if (rc == 0)
		return shell_refused(sh, why) == -1 ? -1 : 0;
	if (rc != 1)
		return -1;
	f->name = arg;
	f->sent = 0;
	return 1;
}

/*
 * Close a file and tell the monitor how much was shown.  rc is the
 * command's result so far; the return is the command's final result.
 */
static int
shell_close(struct shell *sh, struct shell_file *f, int rc)
{
	close(f->fd);
	if (sh->ops->close_file(sh->ops->arg, f->handle, f->sent) == -1)
		return -1;
	return rc == -1 ? -1 : SHELL_NEXT;
}

/* pread that says what went wrong: bytes read, or -1 (said). */
static ssize_t
shell_pread(struct shell *sh, struct shell_file *f, char *buf, size_t len,
    uint64_t off)
{
	ssize_t	n;

	do
		n = pread(f->fd, buf, len, (off_t)off);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		(void)shell_say(sh, "%s: read failed", f->name);
	return n;
}

/*
 * Copy f from *off to its end onto the terminal.  Returns 1 at the end,
 * 0 when stopped (^C or a read error), -1 when the terminal is gone.
 * A character cut by a read is shown whole after the next; one cut by
 * the end of the file is shown byte by byte, unless the file is being
 * followed (its writer may be in the middle of it): then *off stays
 * before it, for the next look.
 */
static int
shell_pump(struct shell *sh, struct shell_file *f, uint64_t *off,
    int follow)
{
	char	buf[SHELL_CHUNK];
	ssize_t	n, shown;

	for (;;) {
		if (shell_interrupted(sh))
			return 0;
		if ((n = shell_pread(sh, f, buf, sizeof(buf), *off)) == -1)
			return 0;
		if (n == 0)
			return 1;
		shown = shell_text_part(sh, buf, (size_t)n, !follow &&
		    (size_t)n < sizeof(buf));
		if (shown == -1)
			return -1;
		*off += (uint64_t)shown;
		f->sent += (uint64_t)shown;
		if (shown < n && (size_t)n < sizeof(buf))
			return 1;
	}
}

/*
 * Find where the line nlines lines before end starts, reading backwards.
 * end is a line boundary (just after a newline, or the end of the file);
 * a newline just before it ends the last line and is not counted.
 * Returns 1, or 0 when stopped (^C or a read error).
 */
static int
shell_back(struct shell *sh, struct shell_file *f, uint64_t end,
    uint64_t nlines, uint64_t *start)
{
	char		buf[SHELL_CHUNK];
	uint64_t	pos = end, seen = 0;
	size_t		len, i;
	ssize_t		n;
	int		skip = 1;

	*start = end;
	while (nlines > 0 && pos > 0) {
		if (shell_interrupted(sh))
			return 0;
		len = pos < sizeof(buf) ? (size_t)pos : sizeof(buf);
		if ((n = shell_pread(sh, f, buf, len, pos - len)) == -1)
			return 0;
		if (n != (ssize_t)len) {
			(void)shell_say(sh, "%s: changed while being read",
			    f->name);
			return 0;
		}
		for (i = len; i-- > 0; skip = 0) {
			if (buf[i] != '\n' || skip)
				continue;
			if (++seen == nlines) {
				*start = pos - len + i + 1;
				return 1;
			}
		}
		pos -= len;
	}
	*start = nlines > 0 ? 0 : end;
	return 1;
}

/* Follow f from *off until ^C, as tail -f does. */
static int
shell_follow(struct shell *sh, struct shell_file *f, uint64_t *off)
{
	struct stat	st;
	int		rc;

	for (;;) {
		if (shell_wait(sh, NULL, 0, SHELL_FOLLOW_MS) == -1)
			return 0;
		if (fstat(f->fd, &st) == -1)
			return shell_say(sh, "%s: cannot follow", f->name);
		if ((uint64_t)st.st_size < *off) {
			if (shell_say(sh, "%s: file truncated", f->name) == -1)
				return -1;
			*off = 0;
		}
		if ((rc = shell_pump(sh, f, off, 1)) != 1)
			return rc;
	}
}

/* A decimal number from 0 to max, digits only. */
static int
shell_number(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long	v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

/* tail's words: -n N (or -nN) and -f in any order, then one PATH. */
static int
shell_tail_args(int argc, char **argv, unsigned long *lines, int *follow,
    const char **path)
{
	int	i;

	*lines = SHELL_TAIL_LINES;
	*follow = 0;
	*path = NULL;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0)
			*follow = 1;
		else if (strcmp(argv[i], "-n") == 0) {
			if (++i == argc ||
			    shell_number(argv[i], SHELL_TAIL_MAX, lines) == -1)
				return -1;
		} else if (strncmp(argv[i], "-n", 2) == 0) {
			if (shell_number(argv[i] + 2, SHELL_TAIL_MAX,
			    lines) == -1)
				return -1;
		} else if (argv[i][0] == '-' || *path != NULL)
			return -1;
		else
			*path = argv[i];
	}
	return *path == NULL ? -1 : 0;
}

static int
shell_tail(struct shell *sh, int argc, char **argv)
{
	struct shell_file	 f;
	struct stat		 st;
	const char		*path;
	unsigned long		 lines;
	uint64_t		 off;
	int			 follow, rc;

	if (shell_tail_args(argc, argv, &lines, &follow, &path) == -1)
		return shell_usage(sh, argv[0]);
	if ((rc = shell_open(sh, path, &f)) != 1)
		return rc;
	if (fstat(f.fd, &st) == -1) {
		rc = shell_say(sh, "%s: cannot read its size", path);
		return shell_close(sh, &f, rc);
	}
	rc = shell_back(sh, &f, (uint64_t)st.st_size, lines, &off);
	if (rc == 1)
		rc = shell_pump(sh, &f, &off, follow);
	if (rc == 1 && follow)
		rc = shell_follow(sh, &f, &off);
	return shell_close(sh, &f, rc);
}

static int
shell_cat(struct shell *sh, int argc, char **argv)
{
	struct shell_file	f;
	uint64_t		off = 0;
	int			rc;

	if (argc != 2)
		return shell_usage(sh, argv[0]);
	if ((rc = shell_open(sh, argv[1], &f)) != 1)
		return rc;
	rc = shell_pump(sh, &f, &off, 0);
	return shell_close(sh, &f, rc);
}

/*
 * The pager.
 */

static void
shell_winsize(struct shell *sh, int *rows, int *cols)
{
	struct winsize	ws;

	*rows = SHELL_ROWS;
	*cols = SHELL_COLS;
	if (ioctl(sh->tty, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 1 &&
	    ws.ws_col > 0) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

/*
 * How much of buf fills the screen rows still wanted, counting the rows
 * a long line wraps into, in whole characters as shell_show shows them
 * (a tab up to the next multiple of eight).  A character cut by the end
 * of buf is left for the next read unless final.
 */
static size_t
shell_page_span(const char *buf, size_t len, int final, int cols, int want,
    int *used, int *col)
{
	char	piece[16];
	size_t	i = 0, n;
	int	w;

	while (i < len && *used < want) {
		if (buf[i] == '\n') {
			(*used)++;
			*col = 0;
			i++;
			continue;
		}
		if (shell_show(buf + i, len - i, final, piece, &n, &w) == 0)
			break;
		if (buf[i] == '\t')
			w = 8 - *col % 8;
		if (*col > 0 && *col + w > cols) {
			*col = 0;
			if (++(*used) == want)
				break;
		}
		*col += w;
		i += n;
	}
	return i;
}

/*
 * Show want screen rows of f from *pos.  Returns 1, 0 when stopped (^C,
 * a read error), -1 when the terminal is gone.
 */
static int
shell_page_show(struct shell *sh, struct shell_file *f, uint64_t *pos,
    int want, int cols)
{
	char	buf[SHELL_CHUNK];
	size_t	take;
	ssize_t	n;
	int	used = 0, col = 0;

	while (used < want) {
		if (shell_interrupted(sh))
			return 0;
		if ((n = shell_pread(sh, f, buf, sizeof(buf), *pos)) == -1)
			return 0;
		if (n == 0)
			break;
		take = shell_page_span(buf, (size_t)n, (size_t)n < sizeof(buf),
		    cols, want, &used, &col);
		if (take == 0)
			break;
		if (shell_text(sh, buf, take) == -1)
			return -1;
		*pos += take;
		f->sent += take;
	}
	return 1;
}

/*
 * Show the --More-- prompt and take one key; ^C reads as 'q'.  Keys
 * typed after it stay for the command line.
 */
static int
shell_page_key(struct shell *sh, uint64_t pos, uint64_t size)
{
	char		 prompt[32];
	unsigned char	 key;
	int		 len, rc, k;

	len = snprintf(prompt, sizeof(prompt), "--More--(%d%%)",
	    size == 0 ? 100 : (int)(pos >= size ? 100 : pos * 100 / size));
	if (shell_newline(sh) == -1 ||
	    shell_write(sh, prompt, (size_t)len) == -1)
		return -1;
	rc = shell_key(sh, &key);
	k = key;
	/* A cursor key is read whole: down is one more line, others none. */
	if (rc == 1 && key == 0x1b) {
		k = shell_escape(sh);
		rc = k == -1 ? -1 : 1;
		k = k == 0x0e ? '\n' : 0;
	}
	memset(prompt, ' ', (size_t)len);
	if (shell_write(sh, "\r", 1) == -1 ||
	    shell_write(sh, prompt, (size_t)len) == -1 ||
	    shell_write(sh, "\r", 1) == -1)
		return -1;
	sh->col0 = 1;
	if (shell_intr)
		return 'q';
	return rc == 1 ? k : -1;
}

/* Page through f until its end, q or ^C. */
static int
shell_page(struct shell *sh, struct shell_file *f)
{
	struct stat	st;
	uint64_t	pos = 0;
	int		rows, cols, want, key, rc;

	shell_winsize(sh, &rows, &cols);
	want = rows - 1;
	for (;;) {
		if ((rc = shell_page_show(sh, f, &pos, want, cols)) != 1)
			return rc;
		if (fstat(f->fd, &st) == -1 || pos >= (uint64_t)st.st_size)
			return SHELL_NEXT;
		if ((key = shell_page_key(sh, pos, (uint64_t)st.st_size)) == -1)
			return -1;
		shell_winsize(sh, &rows, &cols);
		if (key == ' ' || key == 'f')
			want = rows - 1;
		else if (key == '\n' || key == '\r')
			want = 1;
		else if (key == 'b') {
			/* The screen ends at pos: show the page before it. */
			if (shell_back(sh, f, pos, 2 * (uint64_t)(rows - 1),
			    &pos) != 1)
				return SHELL_NEXT;
			want = rows - 1;
		} else if (key == 'q' || key == 'Q')
			return SHELL_NEXT;
		else
			want = 0;
	}
}

static int
shell_less(struct shell *sh, int argc, char **argv)
{
	struct shell_file	f;
	int			rc;

	if (argc != 2)
		return shell_usage(sh, argv[0]);
	if ((rc = shell_open(sh, argv[1], &f)) != 1)
		return rc;
	rc = shell_page(sh, &f);
	return shell_close(sh, &f, rc);
}

/*
 * Directories.
 */

/* "drwxr-xr-x" from st_mode. */
static void
shell_mode_string(uint32_t mode, char s[11])
{
	static const char	 rwx[] = "rwxrwxrwx";
	int			 i;

	s[0] = S_ISDIR(mode) ? 'd' : S_ISLNK(mode) ? 'l' :
	    S_ISCHR(mode) ? 'c' : S_ISBLK(mode) ? 'b' :
	    S_ISFIFO(mode) ? 'p' : S_ISSOCK(mode) ? 's' : '-';
	for (i = 0; i < 9; i++)
		s[i + 1] = mode & (0400u >> i) ? rwx[i] : '-';
	if (mode & S_ISUID)
		s[3] = s[3] == 'x' ? 's' : 'S';
	if (mode & S_ISGID)
		s[6] = s[6] == 'x' ? 's' : 'S';
	if (mode & S_ISVTX)
		s[9] = s[9] == 'x' ? 't' : 'T';
	s[10] = '\0';
}

static int
shell_leap(unsigned int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/*
 * "2026-11-25 10:00" in UTC, counted by hand: gmtime_r would read
 * /etc/localtime on first use, which the sandbox refuses.
 */
static void
shell_date(uint32_t t, char *buf, size_t len)
{
	static const unsigned char	mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	uint32_t			days = t / 86400, secs = t % 86400;
	unsigned int			y = 1970, m = 0, n;

	while (days >= (n = 365u + (unsigned int)shell_leap(y))) {
		days -= n;
		y++;
	}
	while (days >= (n = mdays[m] + (m == 1 && shell_leap(y)))) {
		days -= n;
		m++;
	}
	snprintf(buf, len, "%04u-%02u-%02u %02u:%02u", y, m + 1,
	    (unsigned int)days + 1, (unsigned int)(secs / 3600),
	    (unsigned int)(secs % 3600 / 60));
}

static int
shell_ls_line(struct shell *sh, const char *name,
    const struct access_attr *a)
{
	char	mode[11], date[32];

	shell_mode_string(a->mode, mode);
	shell_date(a->mtime, date, sizeof(date));
	return shell_printf(sh, "%s %10llu  %s  %s\n", mode,
	    (unsigned long long)a->size, date, name);
}

/*
 * Sort by name.  A heapsort, not qsort: glibc's qsort asks sysinfo(2)
 * for the memory size before sorting anything large, and the sandbox
 * kills the process on that call.
 */
static void
shell_sift(struct access_dirent **v, size_t root, size_t n)
{
	struct access_dirent	*t;
	size_t			 child;

	while ((child = 2 * root + 1) < n) {
		if (child + 1 < n &&
		    strcmp(v[child]->name, v[child + 1]->name) < 0)
			child++;
		if (strcmp(v[root]->name, v[child]->name) >= 0)
			return;
		t = v[root];
		v[root] = v[child];
		v[child] = t;
		root = child;
	}
}

static void
shell_sort(struct access_dirent **v, size_t n)
{
	struct access_dirent	*t;
	size_t			 i;

	for (i = n / 2; i-- > 0; )
		shell_sift(v, i, n);
	for (i = n; i-- > 1; ) {
		t = v[0];
		v[0] = v[i];
		v[i] = t;
		shell_sift(v, 0, i);
	}
}

/* Make room for one more batch; 0 when memory ran out. */
static int
shell_dir_grow(struct shell_dir *d)
{
	struct access_dirent	*p;
	size_t			 cap;

	if (d->cap - d->n >= SHELL_LS_BATCH)
		return 1;
	cap = d->cap + 16 * SHELL_LS_BATCH;
	if ((p = realloc(d->ents, cap * sizeof(*p))) == NULL)
		return 0;
	d->ents = p;
	d->cap = cap;
	return 1;
}

/* Gather up to SHELL_LS_MAX entries of path: 1, 0 refused (said), -1. */
static int
shell_dir_read(struct shell *sh, const char *path, struct shell_dir *d)
{
	char		why[ACCESS_WHY_MAX] = "";
	uint32_t	cookie = 0;
	size_t		got, max, i;
	int		eof = 0, rc;

	while (!eof) {
		if (d->n == SHELL_LS_MAX) {
			d->truncated = 1;
			break;
		}
		if (!shell_dir_grow(d))
			return shell_say(sh, "out of memory") == -1 ? -1 : 0;
		max = SHELL_LS_MAX - d->n < SHELL_LS_BATCH ?
		    SHELL_LS_MAX - d->n : SHELL_LS_BATCH;
		got = 0;
		rc = sh->ops->list_dir(sh->ops->arg, path, &cookie,
		    d->ents + d->n, max, &got, &eof, why, sizeof(why));
		if (rc == 0)
			return shell_refused(sh, why) == -1 ? -1 : 0;
		if (rc != 1)
			return -1;
		if (got > max)
			got = max;
		for (i = d->n; i < d->n + got; i++)
			d->ents[i].name[ACCESS_NAME_MAX] = '\0';
		d->n += got;
		if (got == 0)
			break;		/* no progress: do not spin */
	}
	return 1;
}

static int
shell_dir_print(struct shell *sh, const char *path, struct shell_dir *d)
{
	size_t	i;

	if (d->n > 0 &&
	    (d->order = calloc(d->n, sizeof(*d->order))) == NULL)
		return shell_say(sh, "out of memory");
	for (i = 0; i < d->n; i++)
		d->order[i] = &d->ents[i];
	shell_sort(d->order, d->n);
	for (i = 0; i < d->n && !shell_interrupted(sh); i++)
		if (shell_ls_line(sh, d->order[i]->name,
		    &d->order[i]->attr) == -1)
			return -1;
	if (d->truncated)
		return shell_say(sh, "%s: only the first %d entries are shown",
		    path, SHELL_LS_MAX);
	return SHELL_NEXT;
}

static int
shell_ls_dir(struct shell *sh, const char *path)
{
	struct shell_dir	d;
	int			rc;

	memset(&d, 0, sizeof(d));
	if ((rc = shell_dir_read(sh, path, &d)) == 1)
		rc = shell_dir_print(sh, path, &d);
	free(d.order);
	free(d.ents);
	return rc == -1 ? -1 : SHELL_NEXT;
}

static int
shell_ls(struct shell *sh, int argc, char **argv)
{
	char			path[ACCESS_PATH_MAX + 1];
	char			why[ACCESS_WHY_MAX] = "";
	struct access_attr	attr;
	int			rc;

	if (argc > 2)
		return shell_usage(sh, argv[0]);
	if ((rc = shell_path(sh, argc == 2 ? argv[1] : ".", path)) != 1)
		return rc;
	rc = sh->ops->stat(sh->ops->arg, path, &attr, why, sizeof(why));
	if (rc == 0)
		return shell_refused(sh, why);
	if (rc != 1)
		return -1;
	if (S_ISDIR(attr.mode))
		return shell_ls_dir(sh, path);
	return shell_ls_line(sh, argc == 2 ? argv[1] : path, &attr);
}

static int
shell_cd(struct shell *sh, int argc, char **argv)
{
	char			path[ACCESS_PATH_MAX + 1];
	char			why[ACCESS_WHY_MAX] = "";
	struct access_attr	attr;
	const char		*to;
	int			rc;

	if (argc > 2)
		return shell_usage(sh, argv[0]);
	to = argc == 2 ? argv[1] : sh->ops->home != NULL ? sh->ops->home : "/";
	if ((rc = shell_path(sh, to, path)) != 1)
		return rc;
	rc = sh->ops->stat(sh->ops->arg, path, &attr, why, sizeof(why));
	if (rc == 0)
		return shell_refused(sh, why);
	if (rc != 1)
		return -1;
	if (!S_ISDIR(attr.mode))
		return shell_say(sh, "%s: not a directory", to);
	memcpy(sh->cwd, path, sizeof(sh->cwd));
	return SHELL_NEXT;
}

static int
shell_pwd(struct shell *sh, int argc, char **argv)
{
	if (argc != 1)
		return shell_usage(sh, argv[0]);
	return shell_printf(sh, "%s\n", sh->cwd);
}

/*
 * Settings.
 */

static int
shell_settings(struct shell *sh, int argc, char **argv)
{
	char	value[1024] = "", why[ACCESS_WHY_MAX] = "";
	int	rc;

	if (argc == 3 && strcmp(argv[1], "get") == 0) {
		rc = sh->ops->setting_get(sh->ops->arg, argv[2], value,
		    sizeof(value), why, sizeof(why));
		if (rc == 1)
			return shell_printf(sh, "%s\n", value);
	} else if (argc == 4 && strcmp(argv[1], "set") == 0) {
		rc = sh->ops->setting_set(sh->ops->arg, argv[2], argv[3],
		    value, sizeof(value), why, sizeof(why));
		if (rc == 1)
			return shell_printf(sh, "%s: %s -> %s\n", argv[2],
			    value, argv[3]);
	} else
		return shell_usage(sh, argv[0]);
	return rc == 0 ? shell_refused(sh, why) : -1;
}

/*
 * Diagnostics.
 */

static int
shell_is_diag(struct shell *sh, const char *name)
{
	const char *const	*c;

	if (sh->info->commands == NULL)
		return 0;
	for (c = sh->info->commands; *c != NULL; c++)
		if (strcmp(*c, name) == 0)
			return 1;
	return 0;
}

/* What a diagnostic's pipe ended a read in: a character cut in two. */
struct shell_held {
	char	buf[4];
	size_t	n;
};

/*
 * Copy one pipe's data; 0 at its end, 1 on progress, -1 on a lost tty.
 * A character cut by a read waits in held for the rest.
 */
static int
shell_drain_one(struct shell *sh, int fd, struct shell_held *held,
    uint64_t *bytes)
{
	char	buf[sizeof(held->buf) + SHELL_CHUNK];
	ssize_t	n, shown;

	memcpy(buf, held->buf, held->n);
	if ((n = read(fd, buf + held->n, SHELL_CHUNK)) == -1 &&
	    (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0) {
		shown = shell_text_part(sh, buf, held->n, 1);
		held->n = 0;
		return shown == -1 ? -1 : 0;
	}
	*bytes += (uint64_t)n;
	n += (ssize_t)held->n;
	if ((shown = shell_text_part(sh, buf, (size_t)n, 0)) == -1)
		return -1;
	held->n = (size_t)(n - shown);
	memcpy(held->buf, buf + shown, held->n);
	return 1;
}

/*
 * Copy a diagnostic's output and error pipes to the terminal until both
 * end or ^C; both are closed on return.
 */
static int
shell_drain(struct shell *sh, int out, int err, uint64_t *bytes)
{
	struct pollfd		pfd[2];
	struct shell_held	held[2];
	int			open = 0, i, rc = 0;

	memset(held, 0, sizeof(held));
	pfd[0].fd = out;
	pfd[1].fd = err;
	for (i = 0; i < 2; i++) {
		pfd[i].events = POLLIN;
		open += pfd[i].fd != -1;
	}
	while (open > 0 && rc != -1 && shell_wait(sh, pfd, 2, -1) != -1) {
		for (i = 0; i < 2 && rc != -1; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			if ((rc = shell_drain_one(sh, pfd[i].fd, &held[i],
			    bytes)) == 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open--;
			}
		}
	}
	for (i = 0; i < 2; i++)
		if (pfd[i].fd != -1)
			close(pfd[i].fd);
	return rc == -1 ? -1 : 0;
}

/* Join words with single spaces: the line as the audit log shows it. */
static void
shell_join(int argc, char **argv, char *out, size_t len)
{
	size_t	o = 0, n;
	int	i;

	out[0] = '\0';
	for (i = 0; i < argc; i++) {
		n = strlen(argv[i]);
		if (o + (i > 0) + n + 1 > len)
			break;
		if (i > 0)
			out[o++] = ' ';
		memcpy(out + o, argv[i], n + 1);
		o += n;
	}
}

/*
 * Run an allow-listed diagnostic.  After ^C the pipes are closed, the
 * monitor is asked to stop it, and still reaps it.
 */
static int
shell_diag(struct shell *sh, int argc, char **argv)
{
	char		line[SHELL_LINE_MAX + 1], why[ACCESS_WHY_MAX] = "";
	uint64_t	bytes = 0;
	int		out = -1, err = -1, status = 0, timed_out = 0, rc;

	shell_join(argc, argv, line, sizeof(line));
	rc = sh->ops->exec(sh->ops->arg, line, &out, &err, why, sizeof(why));
	if (rc == 0)
		return shell_refused(sh, why);
	if (rc != 1)
		return -1;
	rc = shell_drain(sh, out, err, &bytes);
	if (shell_intr && sh->ops->exec_cancel != NULL &&
	    sh->ops->exec_cancel(sh->ops->arg) == -1)
		return -1;
	if (sh->ops->exec_wait(sh->ops->arg, bytes, &status, &timed_out) != 1)
		return -1;
	if (rc == -1)
		return -1;
	if (status != 0 && (shell_newline(sh) == -1 ||
	    shell_printf(sh, "[exit %d]\n", status) == -1))
		return -1;
	if (timed_out)
		return shell_say(sh, "%s ran too long and was stopped",
		    argv[0]);
	return SHELL_NEXT;
}

static int
shell_run_diag(struct shell *sh, int argc, char **argv)
{
	if (argc < 2)
		return shell_usage(sh, argv[0]);
	if (!shell_is_diag(sh, argv[1]))
		return shell_say(sh, "no diagnostic named '%s' on this cluster",
		    argv[1]);
	return shell_diag(sh, argc - 1, argv + 1);
}

/*
 * help and exit.
 */

static int
shell_enabled(struct shell *sh, int needs)
{
	if ((needs & SHELL_NEED_FILES) && !sh->info->files_enabled)
		return 0;
	if ((needs & SHELL_NEED_SETTINGS) && !sh->info->settings_enabled)
		return 0;
	if ((needs & SHELL_NEED_DIAGS) && (sh->info->commands == NULL ||
	    sh->info->commands[0] == NULL))
		return 0;
	return 1;
}

static int
shell_help_diags(struct shell *sh)
{
	const char *const	*c;
	int			 rc;

	if (!shell_enabled(sh, SHELL_NEED_DIAGS))
		return shell_printf(sh, "\nNo diagnostics are enabled on this "
		    "cluster.\n");
	if (shell_printf(sh, "\nDiagnostics (type the name and its words):"
	    "\n") == -1)
		return -1;
	for (c = sh->info->commands; *c != NULL; c++) {
		/* A shell command of the same name wins; run reaches it. */
		if (shell_find(*c) != NULL)
			rc = shell_printf(sh, "  %-20s (a shell command too: "
			    "run %s ...)\n", *c, *c);
		else
			rc = shell_printf(sh, "  %s\n", *c);
		if (rc == -1)
			return -1;
	}
	return 0;
}

static int
shell_help(struct shell *sh, int argc, char **argv)
{
	size_t	i;

	if (shell_printf(sh, "Commands:\n") == -1)
		return -1;
	for (i = 0; i < SHELL_NCMDS; i++) {
		if (shell_cmds[i].help == NULL ||
		    !shell_enabled(sh, shell_cmds[i].needs))
			continue;
		if (shell_printf(sh, "  %-33s %s\n", shell_cmds[i].usage,
		    shell_cmds[i].help) == -1)
			return -1;
	}
	if (!sh->info->files_enabled && shell_printf(sh, "File access is not "
	    "enabled on this cluster.\n") == -1)
		return -1;
	if (!sh->info->settings_enabled && shell_printf(sh, "Settings are not "
	    "enabled on this cluster.\n") == -1)
		return -1;
	if (shell_help_diags(sh) == -1)
		return -1;
	return shell_printf(sh, "\n^C stops a running command; the pager takes "
	    "space, enter, b (back) and q.\n");
}

static int
shell_exit(struct shell *sh, int argc, char **argv)
{
	return SHELL_END;
}

/*
 * The loop.
 */

/* A command the policy has not turned on: say so and audit the attempt. */
static int
shell_disabled(struct shell *sh, const struct shell_cmd *cmd, int argc,
    char **argv)
{
	const char	*what;

	what = cmd->needs & SHELL_NEED_FILES ? "file access is" :
	    cmd->needs & SHELL_NEED_SETTINGS ? "settings are" :
	    "diagnostics are";
	if (sh->ops->refused(sh->ops->arg, cmd->name,
	    argc > 1 ? argv[1] : "") == -1)
		return -1;
	return shell_say(sh, "%s not enabled on this cluster", what);
}

static int
shell_command(struct shell *sh, char *line, size_t len)
{
	const struct shell_cmd	*cmd;
	char			*argv[SHELL_WORDS_MAX + 1];
	int			 argc;

	if (shell_has_control(line, len))
		return shell_say(sh, "control characters are not allowed "
		    "in a command");
	if ((argc = shell_split(line, argv, SHELL_WORDS_MAX)) == -1)
		return shell_say(sh, "more than %d words", SHELL_WORDS_MAX);
	if (argc == 0)
		return SHELL_NEXT;
	if ((cmd = shell_find(argv[0])) != NULL) {
		if (!shell_enabled(sh, cmd->needs))
			return shell_disabled(sh, cmd, argc, argv);
		return cmd->run(sh, argc, argv);
	}
	if (shell_is_diag(sh, argv[0]))
		return shell_diag(sh, argc, argv);
	return shell_say(sh, "unknown command '%s'; type help", argv[0]);
}

/* Columns s takes as shell_text shows it. */
static size_t
shell_width(const char *s)
{
	char	piece[16];
	size_t	w = 0, n, len = strlen(s);
	int	cols;

	while (len > 0 && shell_show(s, len, 1, piece, &n, &cols) > 0) {
		w += (size_t)cols;
		s += n;
		len -= n;
	}
	return w;
}

/*
 * "support@CLUSTER:CWD> ", with the start of a deep CWD cut to "..."
 * so that at least 20 columns (half of a narrow window) are left for the
 * command line.
 */
static void
shell_make_prompt(struct shell *sh)
{
	const char	*tail = sh->cwd;
	size_t		 cols = (size_t)shell_cols(sh);
	size_t		 max = cols > 40 ? cols - 20 : cols / 2;

	(void)snprintf(sh->prompt, sizeof(sh->prompt), "support@%s:%s> ",
	    sh->info->cluster_id, sh->cwd);
	while (shell_width(sh->prompt) > max && *tail != '\0') {
		tail++;
		while (SHELL_CONT(*tail))
			tail++;
		(void)snprintf(sh->prompt, sizeof(sh->prompt),
		    "support@%s:...%s> ", sh->info->cluster_id, tail);
	}
	sh->prompt_cols = shell_width(sh->prompt);
}

static int
shell_prompt(struct shell *sh)
{
	/* After ^C the terminal has echoed "^C" where the cursor was. */
	if (shell_intr)
		sh->col0 = 0;
	shell_intr = 0;
	if (shell_newline(sh) == -1)
		return -1;
	shell_make_prompt(sh);
	return shell_text(sh, sh->prompt, strlen(sh->prompt));
}

static int
shell_loop(struct shell *sh)
{
	char	line[SHELL_LINE_MAX + 1];
	size_t	len;
	int	rc = SHELL_NEXT;

	for (;;) {
		if (shell_prompt(sh) == -1)
			return -1;
		switch (shell_read_line(sh, line, &len)) {
		case SHELL_IN_EOF:
			(void)shell_write(sh, "\n", 1);
			return 0;
		case SHELL_IN_ERROR:
			return -1;
		case SHELL_IN_INTR:
			continue;
		case SHELL_IN_LONG:
			sh->col0 = 1;
			rc = shell_say(sh, "line too long (at most %d bytes)",
			    SHELL_LINE_MAX);
			break;
		case SHELL_IN_LINE:
			sh->col0 = 1;
			rc = shell_command(sh, line, len);
			break;
		}
		if (rc == SHELL_END)
			return 0;
		if (rc == -1)
			return -1;
	}
}

/*
 * Keys one at a time, unechoed (the shell edits and echoes the line),
 * ^C as SIGINT; ^\ and ^Z are switched off, since quitting or stopping
 * this process would only leave the engineer at a dead terminal, and so
 * is IEXTEN (^V, ^O).
 */
static int
shell_term_init(struct shell *sh, const struct termios *saved)
{
	struct termios	t = *saved;

	t.c_iflag |= ICRNL;
	t.c_iflag &= ~(tcflag_t)(INLCR | IGNCR | IXON);
	t.c_oflag |= OPOST | ONLCR;
	t.c_lflag |= ISIG;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ECHONL | IEXTEN | NOFLSH |
	    TOSTOP);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	t.c_cc[VQUIT] = _POSIX_VDISABLE;
	t.c_cc[VSUSP] = _POSIX_VDISABLE;
	return tcsetattr(sh->tty, TCSANOW, &t);
}

static int
shell_banner(struct shell *sh)
{
	return shell_printf(sh, "porthole support shell on %s\n"
	    "Signed in as %s.  This session is recorded and audited.\n"
	    "Type help for what you can do here.\n", sh->info->cluster_id,
	    sh->info->engineer);
}

/* Block SIGINT but in waits; ^\ and ^Z mean nothing here. */
static void
shell_signals(struct shell *sh, struct shell_saved *sv)
{
	struct sigaction	sa, ign;
	sigset_t		block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = shell_on_sigint;	/* no SA_RESTART: waits end */
	sigemptyset(&sa.sa_mask);
	ign = sa;
	ign.sa_handler = SIG_IGN;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &sv->mask);
	sh->waitmask = sv->mask;
	sigdelset(&sh->waitmask, SIGINT);
	sigaction(SIGINT, &sa, &sv->intr);
	sigaction(SIGQUIT, &ign, &sv->quit);
	sigaction(SIGTSTP, &ign, &sv->tstp);
	shell_intr = 0;
}

static void
shell_restore(struct shell *sh, struct shell_saved *sv)
{
	struct sigaction	ign;

	(void)tcsetattr(sh->tty, TCSANOW, &sv->tio);
	/* Ignoring SIGINT first drops a pending ^C before it is unblocked. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, NULL);
	sigprocmask(SIG_SETMASK, &sv->mask, NULL);
	sigaction(SIGINT, &sv->intr, NULL);
	sigaction(SIGQUIT, &sv->quit, NULL);
	sigaction(SIGTSTP, &sv->tstp, NULL);
}

int
shell_run(int tty, const struct access_ops *ops,
    const struct shell_info *info)
{
	struct shell		sh;
	struct shell_saved	sv;
	int			rc = -1;

	memset(&sh, 0, sizeof(sh));
	sh.tty = tty;
	sh.ops = ops;
	sh.info = info;
	sh.col0 = 1;
	if (access_normalize(NULL, ops->home != NULL ? ops->home : "/", sh.cwd,
	    sizeof(sh.cwd)) == -1 || tcgetattr(tty, &sv.tio) == -1)
		return -1;
	shell_signals(&sh, &sv);
	if (shell_term_init(&sh, &sv.tio) == 0 && shell_banner(&sh) == 0)
		rc = shell_loop(&sh);
	shell_restore(&sh, &sv);
	return rc;
}
