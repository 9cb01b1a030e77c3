/*
 * inifile.c - strict INI reading on top of inih.
 *
 * The file is read into memory (bounded) and handed to inih one whole
 * line at a time by our own reader.  That lets us count lines, refuse
 * what inih would accept silently (an over-long line split in two, a key
 * outside any section, a duplicate key or section, junk after a section
 * header) and stop at the first error, reported as "FILE:LINE: message".
 *
 * inih truncates section and key names to 49 bytes; the reader keeps the
 * raw line, so sections and keys are passed on with their full names.
 */
#include <sys/stat.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <search.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/inifile.h"

/* One read of one file. */
struct ini_state {
	const char	*path;
	char		*buf;		/* the whole file, NUL-terminated */
	size_t		 len;
	size_t		 off;		/* start of the next line */
	int		 lineno;	/* the line last handed to inih */
	const char	*line;		/* that line, inside buf */
	size_t		 linelen;
	int		 in_section;	/* a section header has been seen */
	char		 section[INIFILE_MAX_LINE + 1];
	void		*seen;		/* tsearch: "sec" and "sec]key" */
	inifile_section_handler sh;
	inifile_handler	 h;
	void		*ctx;
	char		*err;
	size_t		 errlen;
	int		 failed;
};

static char inline_prefixes[] = ";";
static char start_prefixes[] = ";#";

/*
 * inih's behaviour is set through globals in Debian's build; set every
 * knob we rely on before each read rather than trust the defaults.
 */
static void
ini_configure(void)
{
	/* A line plus '\r', '\n' and NUL fits; the reader refuses longer. */
	ini_max_line = INIFILE_MAX_LINE + 3;
	ini_use_stack = true;
	ini_allow_multiline = false;
	ini_allow_bom = false;
	ini_allow_no_value = false;
	ini_allow_inline_comments = true;
	ini_inline_comment_prefixes = inline_prefixes;
	ini_start_comment_prefixes = start_prefixes;
	ini_stop_on_first_error = true;
}

static void __attribute__((format(printf, 2, 3)))
ini_fail(struct ini_state *st, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	if (st->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(st->err, st->errlen, "%s:%d: %s", st->path, st->lineno, msg);
	st->failed = 1;
}

/*
 * Where inih would stop looking for one of chars: the first of them, or
 * an inline comment (';' after whitespace), or the end of the string.
 */
static const char *
find_chars_or_comment(const char *s, const char *end, const char *chars)
{
	int was_space = 0;

	while (s < end && strchr(chars, *s) == NULL &&
	    !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

static const char *
skip_space(const char *s, const char *end)
{
	while (s < end && isspace((unsigned char)*s))
		s++;
	return s;
}

/* Remember name in the seen tree; 1 if it was already there. */
static int
ini_seen(struct ini_state *st, const char *name)
{
	char	*copy, **found;

	if ((copy = strdup(name)) == NULL)
		return -1;
	if ((found = tsearch(copy, &st->seen,
	    (int (*)(const void *, const void *))strcmp)) == NULL) {
		free(copy);
		return -1;
	}
	if (*found != copy) {
		free(copy);
		return 1;
	}
	return 0;
}

/*
 * A section header on the current line?  inih parses it too; we check
 * what it lets through and tell the caller before the section's keys.
 */
static int
ini_scan_header(struct ini_state *st)
{
	const char	*end = st->line + st->linelen, *s, *close;
	char		 name[INIFILE_MAX_LINE + 1], msg[512];
	size_t		 n;

	s = skip_space(st->line, end);
	if (s == end || *s != '[')
		return 0;
	close = find_chars_or_comment(s + 1, end, "]");
	if (close == end || *close != ']')
		return 0;		/* inih reports it */
	n = (size_t)(close - (s + 1));
	memcpy(name, s + 1, n);
	name[n] = '\0';
	s = skip_space(close + 1, end);
	if (s != end && *s != ';' && *s != '#') {
		ini_fail(st, "unexpected text after section header [%s]",
		    name);
		return -1;
	}
	if (n == 0) {
		ini_fail(st, "empty section name");
		return -1;
	}
	switch (ini_seen(st, name)) {
	case -1:
		ini_fail(st, "out of memory");
		return -1;
	case 1:
		ini_fail(st, "section [%s] appears twice", name);
		return -1;
	}
	msg[0] = '\0';
	if (st->sh != NULL &&
	    st->sh(st->ctx, name, st->lineno, msg, sizeof(msg)) == -1) {
		ini_fail(st, "%s", msg[0] != '\0' ? msg : "section refused");
		return -1;
	}
	memcpy(st->section, name, n + 1);
	st->in_section = 1;
	return 0;
}

/* inih's reader: the next line, whole, or NULL at the end or an error. */
static char *
ini_next_line(char *str, int num, void *arg)
{
	struct ini_state	*st = arg;
	const char		*p, *nl;
	size_t			 n, rest;

	if (st->failed || st->off >= st->len)
		return NULL;
	p = st->buf + st->off;
	rest = st->len - st->off;
	nl = memchr(p, '\n', rest);
	n = nl != NULL ? (size_t)(nl - p) : rest;
	st->off += n + (nl != NULL ? 1 : 0);
	st->lineno++;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	st->line = p;
	st->linelen = n;

	if (memchr(p, '\0', n) != NULL) {
		ini_fail(st, "NUL byte in line");
		return NULL;
	}
	if (n > INIFILE_MAX_LINE) {
		ini_fail(st, "line longer than %d characters",
		    INIFILE_MAX_LINE);
		return NULL;
	}
	if (num < 0 || (size_t)num < n + 2) {
		ini_fail(st, "internal error: inih line buffer too small");
		return NULL;
	}
	memcpy(str, p, n);
	str[n] = '\n';
	str[n + 1] = '\0';
	if (ini_scan_header(st) == -1)
		return NULL;
	return str;
}

/* inih's handler: one key of the current line. */
static int
ini_on_key(void *arg, const char *section, const char *name,
    const char *value)
{
	struct ini_state	*st = arg;
	const char		*end = st->line + st->linelen, *s, *e;
	char			 key[INIFILE_MAX_LINE + 1];
	char			 entry[2 * INIFILE_MAX_LINE + 2], msg[512];
	size_t			 n;

	/* The full key name from the raw line: inih's may be truncated. */
	s = skip_space(st->line, end);
	e = find_chars_or_comment(s, end, "=:");
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	n = (size_t)(e - s);
	memcpy(key, s, n);
	key[n] = '\0';
	if (strncmp(key, name, strlen(name)) != 0) {
		ini_fail(st, "internal error: cannot find key '%s'", name);
		return 0;
	}
	if (n == 0) {
		ini_fail(st, "empty key name");
		return 0;
	}
	if (!st->in_section) {
		ini_fail(st, "key '%s' outside any section", key);
		return 0;
	}
	snprintf(entry, sizeof(entry), "%s]%s", st->section, key);
	switch (ini_seen(st, entry)) {
	case -1:
		ini_fail(st, "out of memory");
		return 0;
	case 1:
		ini_fail(st, "duplicate key '%s' in [%s]", key, st->section);
		return 0;
	}
	msg[0] = '\0';
	if (st->h(st->ctx, st->section, key, value, st->lineno, msg,
	    sizeof(msg)) == -1) {
		ini_fail(st, "%s", msg[0] != '\0' ? msg : "value refused");
		return 0;
	}
	return 1;
}

/*
 * The whole file into st->buf, at most INIFILE_MAX_SIZE bytes.  pread:
 * an fd passed between processes shares its offset, so it is not used.
 */
static int
ini_slurp(struct ini_state *st, int fd)
{
	struct stat	 sb;
	ssize_t		 r;
	size_t		 len = 0;

	if (fstat(fd, &sb) == -1) {
		snprintf(st->err, st->errlen, "%s: %s", st->path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(st->err, st->errlen, "%s: not a regular file",
		    st->path);
		return -1;
	}
	if ((st->buf = malloc(INIFILE_MAX_SIZE + 1)) == NULL) {
		snprintf(st->err, st->errlen, "%s: out of memory", st->path);
		return -1;
	}
	/* Read one byte past the limit to notice a file that grew. */
	while (len <= INIFILE_MAX_SIZE) {
		r = pread(fd, st->buf + len, INIFILE_MAX_SIZE + 1 - len,
		    (off_t)len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(st->err, st->errlen, "%s: %s", st->path,
			    strerror(errno));
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > INIFILE_MAX_SIZE) {
		snprintf(st->err, st->errlen, "%s: larger than %d bytes",
		    st->path, INIFILE_MAX_SIZE);
		return -1;
	}
	st->buf[len] = '\0';
	st->len = len;
	return 0;
}

/* Describe the line inih refused. */
static void
ini_syntax_error(struct ini_state *st, int lineno)
{
	const char *end = st->line + st->linelen, *s;

	st->lineno = lineno;
	s = skip_space(st->line, end);
	if (s < end && *s == '[')
		ini_fail(st, "section header without ']'");
	else
		ini_fail(st, "expected 'key = value', a [section] or a "
		    "comment");
}

int
inifile_read(const char *path, inifile_section_handler sh,
    inifile_handler h, void *ctx, char *err, size_t errlen)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = inifile_read_fd(fd, path, sh, h, ctx, err, errlen);
	close(fd);
	return rc;
}

int
inifile_read_fd(int fd, const char *name, inifile_section_handler sh,
    inifile_handler h, void *ctx, char *err, size_t errlen)
{
	struct ini_state	 st;
	int			 r;

	memset(&st, 0, sizeof(st));
	st.path = name;
	st.sh = sh;
	st.h = h;
	st.ctx = ctx;
	st.err = err;
	st.errlen = errlen;
	if (ini_slurp(&st, fd) == -1) {
		st.failed = 1;
		goto out;
	}

	ini_configure();
	r = ini_parse_stream(ini_next_line, &st, ini_on_key, &st);
	if (!st.failed && r > 0)
		ini_syntax_error(&st, r);
	else if (!st.failed && r != 0) {
		snprintf(err, errlen, "%s: cannot parse (inih error %d)",
		    name, r);
		st.failed = 1;
	}
out:
	tdestroy(st.seen, free);
	free(st.buf);
	return st.failed ? -1 : 0;
}

/* Where one key was: "section]key" (']' ends no section name) and line. */
struct inifile_where {
	char	*name;
	int	 line;
};

struct inifile_lines {
	struct inifile_where	*v;
	size_t			 n;
	size_t			 cap;
};

static int
lines_add(void *ctx, const char *section, const char *key, const char *value,
    int line, char *msg, size_t msglen)
{
	struct inifile_lines	*l = ctx;
	struct inifile_where	*nv;
	size_t			 cap;

	(void)value;
	if (l->n == l->cap) {
		cap = l->cap == 0 ? 64 : l->cap * 2;
		if ((nv = reallocarray(l->v, cap, sizeof(*nv))) == NULL)
			goto nomem;
		l->v = nv;
		l->cap = cap;
	}
	if (asprintf(&l->v[l->n].name, "%s]%s", section, key) == -1)
		goto nomem;
	l->v[l->n++].line = line;
	return 0;
nomem:
	snprintf(msg, msglen, "out of memory");
	return -1;
}

static int
where_cmp(const void *a, const void *b)
{
	return strcmp(((const struct inifile_where *)a)->name,
	    ((const struct inifile_where *)b)->name);
}

/* A section header, found by inifile_lines_find(l, section, ""). */
static int
lines_section(void *ctx, const char *section, int line, char *msg,
    size_t msglen)
{
	return lines_add(ctx, section, "", NULL, line, msg, msglen);
}

struct inifile_lines *
inifile_lines_read(const char *path)
{
	struct inifile_lines	*l;
	char			 err[256];

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	if (inifile_read(path, lines_section, lines_add, l, err,
	    sizeof(err)) == -1) {
		inifile_lines_free(l);
		return NULL;
	}
	if (l->n > 0)
		qsort(l->v, l->n, sizeof(*l->v), where_cmp);
	return l;
}

int
inifile_lines_find(const struct inifile_lines *l, const char *section,
    const char *key)
{
	struct inifile_where	 want, *got;
	char			 name[2 * INIFILE_MAX_LINE + 2];

	if (l == NULL || l->n == 0 || (size_t)snprintf(name, sizeof(name),
	    "%s]%s", section, key) >= sizeof(name))
		return 0;
	want.name = name;
	got = bsearch(&want, l->v, l->n, sizeof(*l->v), where_cmp);
	return got != NULL ? got->line : 0;
}

const char *
inifile_where(const struct inifile_lines *l, const char *path,
    const char *section, const char *key, char *buf, size_t len)
{
	int line = inifile_lines_find(l, section, key);

	if (line > 0)
		snprintf(buf, len, "%s:%d: [%s] %s", path, line, section, key);
	else
		snprintf(buf, len, "%s: [%s] %s (the default)", path, section,
		    key);
	return buf;
}

void
inifile_lines_free(struct inifile_lines *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	free(l);
}

void
inifile_restart_refusal(const char *path, int line, const char *key,
    char *err, size_t errlen)
{
	snprintf(err, errlen, "%s:%d: %s takes effect at restart", path, line,
	    key);
}
