/*
 * shell_page.c - viewing the product's files in the support shell: cat,
 * tail (and tail -f until ^C) and less, the pager.  Each file is opened
 * by the monitor, which records the open and the bytes shown.
 */
#include "gateway/session/shell_int.h"

#include <sys/stat.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A file the monitor opened for the engineer. */
struct shell_file {
	const char	*name;		/* as the engineer typed it */
	int		 fd;
	uint32_t	 handle;	/* names the open in the audit log */
	uint64_t	 sent;		/* bytes shown, for the audit log */
	int		 redacted;	/* fd is a redacted copy */
	uint64_t	 base;		/* the file's offset of fd's byte 0 */
};

/*
 * Files.
 */

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
	f->redacted = attr.redacted;
	f->base = 0;
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

	/* A followed copy holds the file from base on: nothing before. */
	if (off < f->base)
		return 0;
	do
		n = pread(f->fd, buf, len, (off_t)(off - f->base));
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

/*
 * A redacted copy never grows: the monitor gives what the file gained
 * since, as whole redacted lines in a copy of their own.  1 to go on,
 * 0 when stopped (said), -1 when the monitor is gone.
 */
static int
shell_follow_more(struct shell *sh, struct shell_file *f, uint64_t *off)
{
	char		why[ACCESS_WHY_MAX] = "";
	uint64_t	base = 0;
	int		fd = -1, truncated = 0, rc;

	if (sh->ops->more_file == NULL)
		return shell_say(sh, "%s: cannot follow", f->name) == -1 ?
		    -1 : 0;
	rc = sh->ops->more_file(sh->ops->arg, f->handle, &fd, &base,
	    &truncated, why, sizeof(why));
	if (rc == 0)
		return shell_refused(sh, why) == -1 ? -1 : 0;
	if (rc != 1)
		return -1;
	if (truncated) {
		if (shell_say(sh, "%s: file truncated", f->name) == -1) {
			if (fd != -1)
				close(fd);
			return -1;
		}
		*off = 0;
	}
	if (fd != -1) {
		close(f->fd);
		f->fd = fd;
		f->base = base;
	}
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
		if (f->redacted) {
			if ((rc = shell_follow_more(sh, f, off)) != 1)
				return rc;
		} else if (fstat(f->fd, &st) == -1)
			return shell_say(sh, "%s: cannot follow", f->name);
		else if ((uint64_t)st.st_size < *off) {
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

int
shell_tail(struct shell *sh, int argc, char **argv)
{
	struct shell_file	 f;
	struct stat		 st;
	const char		*path;
	unsigned long		 lines;
	uint64_t		 off;
	int			 follow, rc;

	if (shell_tail_args(argc, argv, &lines, &follow, &path) == -1)
		return shell_usage(sh);
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

int
shell_cat(struct shell *sh, int argc, char **argv)
{
	struct shell_file	f;
	uint64_t		off = 0;
	int			rc;

	if (argc != 2)
		return shell_usage(sh);
	if ((rc = shell_open(sh, argv[1], &f)) != 1)
		return rc;
	rc = shell_pump(sh, &f, &off, 0);
	return shell_close(sh, &f, rc);
}

/*
 * The pager.
 */

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

int
shell_less(struct shell *sh, int argc, char **argv)
{
	struct shell_file	f;
	int			rc;

	if (argc != 2)
		return shell_usage(sh);
	if ((rc = shell_open(sh, argv[1], &f)) != 1)
		return rc;
	rc = shell_page(sh, &f);
	return shell_close(sh, &f, rc);
}
