/*
 * monitor_redact.c - [redact], enforced where the bytes leave the
 * monitor.  The session child and the support shell run sandboxed but
 * parse what the engineer sends; if one were taken over, whatever it
 * can read leaves with the engineer.  So for a file under a redacted
 * path it is never handed the file, only a redacted copy
 * (redacted.h), and a diagnostic's output reaches it only through the
 * monitor, which stars every match in it on the way (a pump per
 * pipe).  The support shell's recording is made from what the shell
 * wrote, which was redacted before the shell could read it.
 *
 * What was starred is counted per pattern in the audit log; the text
 * never is.
 */
#include "gateway/monitor/monitor_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/monitor/redacted.h"
#include "lib/redact.h"

#define PUMP_CHUNK	(16 * 1024)	/* read from a diagnostic at once */

/* ---- files ---- */

int
mon_file_redact(struct mon *m, size_t slot, const char *path, int *fd,
    struct stat *st, char *why, size_t whylen)
{
	struct redacted	*rd;
	int		 copy;

	if (!policy_redacts(m->pol, path))
		return 0;
	if ((rd = calloc(1, sizeof(*rd))) == NULL) {
		snprintf(why, whylen, "%s: cannot redact it: out of memory",
		    path);
		return -1;
	}
	if (redacted_open(m->pol->redact, *fd, st, path, m->pol->state_dir,
	    &copy, rd, why, whylen) == -1) {
		free(rd);
		return -1;
	}
	/*
	 * The file stays open here, for tail -f; the child gets the copy,
	 * whose size is what it will read (the file's at open, unless it
	 * shrank meanwhile).
	 */
	m->files[slot].orig = *fd;
	m->files[slot].rd = rd;
	m->files[slot].redact = m->pol->redact;
	*fd = copy;
	if (fstat(copy, st) == -1) {
		snprintf(why, whylen, "%s: its redacted copy: %s", path,
		    strerror(errno));
		mon_file_release(m, slot);
		*fd = -1;
		close(copy);
		return -1;
	}
	return 1;
}

void
mon_file_release(struct mon *m, size_t slot)
{
	struct mon_file *f = &m->files[slot];

	if (f->rd != NULL) {
		redacted_clear(f->rd);
		free(f->rd);
		f->rd = NULL;
	}
	if (f->orig != -1)
		close(f->orig);
	f->orig = -1;
}

json_t *
mon_file_counts(struct mon *m, size_t slot)
{
	const struct mon_file *f = &m->files[slot];

	if (f->rd == NULL)
		return NULL;
	return json_pack("{s:I, s:o*}", "redactions",
	    (json_int_t)redacted_total(f->redact, f->rd), "patterns",
	    redacted_counts(f->redact, f->rd));
}

/*
 * tail -f on a redacted file: the whole lines the slot's file gained
 * since the last look, in a new copy (*copy, *base: the file offset of
 * its byte 0).  1 with a copy, 0 when there is nothing new yet, -1
 * with why.
 */
int
mon_file_more(struct mon *m, size_t slot, int *copy, uint64_t *base,
    int *trunc, char *why, size_t whylen)
{
	struct mon_file *f = &m->files[slot];

	return redacted_more(f->redact, f->orig, f->path, m->pol->state_dir,
	    f->rd, copy, base, trunc, why, whylen);
}

/* A text redacted in place: where the stream's next bytes go. */
struct text_sink {
	char	*dst;
	size_t	 at;
};

static int
text_emit(void *arg, const void *buf, size_t len)
{
	struct text_sink *w = arg;

	/* The stream hands back what it was given, redacted, in order. */
	memmove(w->dst + w->at, buf, len);
	w->at += len;
	return 0;
}

uint64_t
mon_redact_text(struct mon *m, const char *path, char *text)
{
	struct redact_stream	*s;
	struct text_sink	 w = { text, 0 };
	uint64_t		 n = 1;

	if (path == NULL || !policy_redacts(m->pol, path))
		return 0;
	if ((s = redact_stream_new(m->pol->redact)) != NULL &&
	    redact_stream_feed(s, text, strlen(text), text_emit, &w) == 0 &&
	    redact_stream_end(s, text_emit, &w) == 0)
		n = redact_stream_total(s);
	else
		memset(text, '*', strlen(text));	/* none of it leaves */
	redact_stream_free(s);
	return n;
}

/* Do a and b star the same: the same patterns, by name and text? */
static int
same_patterns(const struct redact *a, const struct redact *b)
{
	size_t i;

	if (redact_count(a) != redact_count(b))
		return 0;
	for (i = 0; i < redact_count(a); i++)
		if (strcmp(redact_name(a, i), redact_name(b, i)) != 0 ||
		    strcmp(redact_regex(a, i), redact_regex(b, i)) != 0)
			return 0;
	return 1;
}

int
mon_file_redaction_kept(struct mon *m, size_t slot,
    const struct policy *np)
{
	const struct mon_file *f = &m->files[slot];

	if (!policy_redacts(np, f->path))
		return f->rd == NULL;
	return f->rd != NULL && same_patterns(f->redact, np->redact);
}

/* ---- a diagnostic's output ---- */

/* Redacted bytes of a pump, to be written to the peer. */
static int
pump_emit(void *arg, const void *buf, size_t len)
{
	struct mon_pump	*p = arg;
	char		*nb;
	size_t		 cap;

	if (p->len + len > p->cap) {
		cap = p->cap == 0 ? PUMP_CHUNK * 2 : p->cap;
		while (cap < p->len + len)
			cap *= 2;
		if ((nb = realloc(p->buf, cap)) == NULL)
			return -1;
		p->buf = nb;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, buf, len);
	p->len += len;
	return 0;
}

static void
pump_close(struct mon_pump *p)
{
	if (p->in != -1)
		close(p->in);
	if (p->out != -1)
		close(p->out);
	p->in = p->out = -1;
	p->len = p->off = 0;
}

int
mon_pump_start(struct mon *m, int fds[2], char *why, size_t whylen)
{
	struct mon_pump	*p;
	int		 pv[2], k;

	memset(&m->diag_red, 0, sizeof(m->diag_red));
	m->diag_redact = NULL;
	if (redact_count(m->pol->redact) == 0)
		return 0;	/* nothing to star: the pipes go straight */
	m->diag_redact = m->pol->redact;
	for (k = 0; k < 2; k++) {
		p = &m->pump[k];
		if ((p->s = redact_stream_new(m->pol->redact)) == NULL ||
		    pipe2(pv, O_CLOEXEC | O_NONBLOCK) == -1) {
			snprintf(why, whylen, "cannot redact its output: %s",
			    p->s == NULL ? "out of memory" : strerror(errno));
			mon_pump_stop(m);
			return -1;
		}
		/* The peer reads its end as it read the diagnostic's. */
		(void)fcntl(pv[0], F_SETFL, 0);
		(void)fcntl(fds[k], F_SETFL, O_NONBLOCK);
		p->in = fds[k];
		p->out = pv[1];
		fds[k] = pv[0];
	}
	return 1;
}

/* Add what a pump's stream counted to the diagnostic's counts. */
static void
pump_absorb(struct mon *m, struct mon_pump *p)
{
	size_t i;

	if (p->s == NULL)
		return;
	for (i = 0; i < redact_count(m->diag_redact) &&
	    i < REDACT_MAX_PATTERNS; i++)
		m->diag_red.matches[i] += redact_stream_matches(p->s, i);
	m->diag_red.whole_lines += redact_stream_long_lines(p->s);
	redact_stream_free(p->s);
	p->s = NULL;
}

void
mon_pump_stop(struct mon *m)
{
	int k;

	for (k = 0; k < 2; k++) {
		pump_absorb(m, &m->pump[k]);
		pump_close(&m->pump[k]);
		free(m->pump[k].buf);
		m->pump[k].buf = NULL;
		m->pump[k].cap = 0;
	}
}

json_t *
mon_pump_end(struct mon *m)
{
	json_t *counts;

	if (m->diag_redact == NULL)
		return NULL;
	mon_pump_stop(m);
	counts = json_pack("{s:I, s:o*}", "redactions",
	    (json_int_t)redacted_total(m->diag_redact, &m->diag_red),
	    "patterns", redacted_counts(m->diag_redact, &m->diag_red));
	m->diag_redact = NULL;
	return counts;
}

int
mon_pump_pollfds(struct mon *m, struct pollfd *pfd)
{
	struct mon_pump	*p;
	int		 k, n = 0;

	for (k = 0; k < 2; k++) {
		p = &m->pump[k];
		m->pump_pfd[k] = -1;
		if (p->out == -1)
			continue;
		if (p->len > p->off) {
			pfd[n].fd = p->out;
			pfd[n].events = POLLOUT;
		} else if (p->in != -1) {
			pfd[n].fd = p->in;
			pfd[n].events = POLLIN;
		} else
			continue;
		pfd[n].revents = 0;
		m->pump_pfd[k] = n++;
	}
	return n;
}

/*
 * Write what the pump holds; at the diagnostic's end, once it is all
 * out, close the peer's pipe, which is its EOF.
 */
static void
pump_flush(struct mon_pump *p)
{
	ssize_t n;

	while (p->off < p->len) {
		n = write(p->out, p->buf + p->off, p->len - p->off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* The peer stopped reading: so does the pump. */
			pump_close(p);
			return;
		}
		p->off += (size_t)n;
	}
	p->len = p->off = 0;
	if (p->in == -1 && p->out != -1) {
		close(p->out);
		p->out = -1;
	}
}

/* Read one chunk of the diagnostic's output and redact it. */
static void
pump_read(struct mon_pump *p)
{
	char	buf[PUMP_CHUNK];
	ssize_t	n;

	n = read(p->in, buf, sizeof(buf));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0 && redact_stream_feed(p->s, buf, (size_t)n, pump_emit,
	    p) == 0)
		return;
	/*
	 * Its end, a read error or no memory left: what the pump holds is
	 * redacted already and goes out, then the peer gets its EOF.  A
	 * last line without its '\n' is matched as it is.
	 */
	if (n == 0)
		(void)redact_stream_end(p->s, pump_emit, p);
	explicit_bzero(buf, sizeof(buf));
	close(p->in);
	p->in = -1;
}

void
mon_pump_service(struct mon *m, const struct pollfd *pfd, int n)
{
	struct mon_pump	*p;
	int		 k, i;

	for (k = 0; k < 2; k++) {
		p = &m->pump[k];
		if ((i = m->pump_pfd[k]) < 0 || i >= n ||
		    pfd[i].revents == 0)
			continue;
		if (pfd[i].fd == p->in)
			pump_read(p);
		if (p->out != -1)
			pump_flush(p);
	}
}
