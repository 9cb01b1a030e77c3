/*
 * shell_term.c - the support shell's terminal: what it shows, escaped so
 * that nothing from a file, a diagnostic or the monitor can rewrite the
 * engineer's screen; the keys it reads; the waits that ^C interrupts.
 */
#include "gateway/session/shell_int.h"

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

/* Set by SIGINT (^C), cleared before each prompt. */
volatile sig_atomic_t shell_intr;

void
shell_on_sigint(int sig)
{
	(void)sig;
	shell_intr = 1;
}

/*
 * Terminal output.
 */

/* Write all of buf to the terminal. */
int
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
size_t
shell_show(const char *s, size_t len, int final, char out[16], size_t *n,
    int *cols)
{
	unsigned char	c = (unsigned char)s[0];
	size_t		k, o;
	int		pass;

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
	/* A C1 control or a stray byte: \xNN each, as lib/escape writes. */
	if ((o = escape_text(s, k, out, 16)) >= 16)
		o = strlen(out);	/* cannot be: 2 bytes at most, 8 out */
	*cols = (int)o;
	return o;
}

/*
 * Show s[0..len) as shell_show says.  Returns the bytes of s shown -
 * all of them when final; otherwise a character cut by the end of s is
 * left for the caller to give again with what follows - or -1 when the
 * terminal is gone.
 */
ssize_t
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
int
shell_text(struct shell *sh, const char *s, size_t len)
{
	return shell_text_part(sh, s, len, 1) == -1 ? -1 : 0;
}

int __attribute__((format(printf, 2, 3)))
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
int
shell_newline(struct shell *sh)
{
	return sh->col0 ? 0 : shell_write(sh, "\n", 1);
}

/*
 * A refusal or notice: "porthole: WHY" on a line of its own.  Returns
 * SHELL_NEXT, or -1 when the terminal is gone, so a handler can end with
 * it.
 */
int __attribute__((format(printf, 2, 3)))
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
int
shell_refused(struct shell *sh, const char *why)
{
	return shell_say(sh, "%s", why[0] != '\0' ? why : "refused");
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
int
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
int
shell_interrupted(struct shell *sh)
{
	if (!shell_intr)
		(void)shell_wait(sh, NULL, 0, 0);
	return shell_intr;
}

/*
 * The next key byte: 1, or -1 after ^C (shell_intr set; keys typed
 * before it are dropped, as the kernel drops its own) or when the
 * terminal is gone.
 */
int
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

void
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
 * What the engineer typed.
 */

/* How the command running is used. */
int
shell_usage(struct shell *sh)
{
	return shell_say(sh, "usage: %s", sh->usage);
}

/* Resolve an engineer's path against the current directory into out. */
int
shell_path(struct shell *sh, const char *arg, char *out)
{
	if (access_normalize(sh->cwd, arg, out, ACCESS_PATH_MAX + 1) == -1)
		return shell_say(sh, "%s: not a valid path", arg) == -1 ?
		    -1 : 0;
	return 1;
}

/*
 * Resolve arg as shell_path does, and ask the monitor what it is: its
 * attributes into attr.  1; 0 when refused (said why); -1.
 */
int
shell_stat(struct shell *sh, const char *arg, char *path,
    struct access_attr *attr)
{
	char	why[ACCESS_WHY_MAX] = "";
	int	rc;

	if ((rc = shell_path(sh, arg, path)) != 1)
		return rc;
	rc = sh->ops->stat(sh->ops->arg, path, attr, why, sizeof(why));
	if (rc == 0)
		return shell_refused(sh, why) == -1 ? -1 : 0;
	return rc == 1 ? 1 : -1;
}
