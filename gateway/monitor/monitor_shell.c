/*
 * monitor_shell.c - the support shell, monitor side.
 *
 * The shell runs in its own sandboxed process on the slave side of a
 * pty; the monitor keeps the master.  The engineer's keystrokes arrive
 * from the session child over a socketpair and go to the master; what
 * the master shows goes back to the child and, on the way, into the
 * recording.  So the recording is written by the monitor alone, from
 * the terminal itself: neither the child nor the shell can edit it.
 */
#include "gateway/monitor/monitor_int.h"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "gateway/session/session.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/sshcert.h"

static void	mon_shell_close(struct mon *, const char *);

/*
 * Append to the recording.  A recording that cannot be written ends the
 * session: nothing is shown that is not on record.
 */
static void
rec_write(struct mon *m, const char *buf, size_t len)
{
	ssize_t	n;
	size_t	off = 0;

	while (off < len) {
		n = write(m->sh.rec, buf + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_error("monitor: recording %s: %s", m->sh.rec_name,
			    n == -1 ? strerror(errno) : "short write");
			close(m->sh.rec);
			m->sh.rec = -1;
			mon_audit(m, "session_ended", json_pack("{s:s}",
			    "reason", "the recording could not be written"));
			mon_end(m, 1);
		}
		off += (size_t)n;
	}
	EVP_DigestUpdate(m->sh.rec_hash, buf, len);
	m->sh.rec_bytes += len;
}

/* The asciicast file and its header line; 0, or -1 with why. */
static int
rec_open(struct mon *m, const char *term, uint32_t cols, uint32_t rows,
    char *why, size_t whylen)
{
	char	 dir[4096], path[4200], *hdr;
	json_t	*j;

	snprintf(dir, sizeof(dir), "%s/recordings", m->pol->audit_dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_error("monitor: mkdir %s: %s", dir, strerror(errno));
		goto fail;
	}
	snprintf(m->sh.rec_name, sizeof(m->sh.rec_name), "%s.cast", m->sid);
	snprintf(path, sizeof(path), "%s/%s", dir, m->sh.rec_name);
	m->sh.rec = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (m->sh.rec == -1) {
		log_error("monitor: %s: %s", path, strerror(errno));
		goto fail;
	}
	if ((m->sh.rec_hash = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(m->sh.rec_hash, EVP_sha256(), NULL) != 1)
		goto fail;
	j = json_pack("{s:i, s:I, s:I, s:I, s:{s:s}, s:s}", "version", 2,
	    "width", (json_int_t)cols, "height", (json_int_t)rows,
	    "timestamp", (json_int_t)clock_now(), "env", "TERM", term,
	    "title", m->sid);
	hdr = j == NULL ? NULL : json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (hdr == NULL)
		goto fail;
	m->sh.started_ms = clock_mono_ms();
	rec_write(m, hdr, strlen(hdr));
	rec_write(m, "\n", 1);
	free(hdr);
	return 0;
fail:
	snprintf(why, whylen, "the session recording cannot be created");
	return -1;
}

/*
 * Length of the valid UTF-8 sequence at p (1-4), 0 if incomplete, -1 if
 * bad.  Strict, as JSON parsers are: no overlong forms, no surrogates,
 * nothing above U+10FFFF.
 */
static int
utf8_len(const unsigned char *p, size_t avail)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	int		len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return -1;
	for (i = 1; i < len; i++) {
		if ((size_t)i >= avail)
			return 0;
		if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xbf))
			return -1;
	}
	return len;
}

/*
 * One output event: [seconds, "o", "text"].  JSON strings must be UTF-8,
 * so an invalid byte becomes U+FFFD and a sequence cut at the end of
 * this read is held back for the next one.
 */
static void
rec_output(struct mon *m, const char *data, size_t len)
{
	unsigned char	 in[MON_RELAY_BUF + 4];
	char		*out;
	size_t		 n, i, o;
	uint64_t	 ms = clock_mono_ms() - m->sh.started_ms;
	int		 l;

	memcpy(in, m->sh.utf8, m->sh.nutf8);
	memcpy(in + m->sh.nutf8, data, len);
	n = m->sh.nutf8 + len;
	m->sh.nutf8 = 0;
	/* One write per event: it sits on the path of every keystroke. */
	if ((out = malloc(n * 6 + 64)) == NULL)
		mon_end(m, 1);
	o = (size_t)snprintf(out, 64, "[%llu.%03llu, \"o\", \"",
	    (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000));
	for (i = 0; i < n; i += (size_t)(l > 0 ? l : 1)) {
		l = utf8_len(in + i, n - i);
		if (l == 0) {
			m->sh.nutf8 = n - i;
			memcpy(m->sh.utf8, in + i, n - i);
			break;
		}
		if (l < 0)
			o += (size_t)sprintf(out + o, "\\ufffd");
		else if (l > 1) {
			memcpy(out + o, in + i, (size_t)l);
			o += (size_t)l;
		} else if (in[i] == '"' || in[i] == '\\')
			o += (size_t)sprintf(out + o, "\\%c", in[i]);
		else if (in[i] < 0x20 || in[i] == 0x7f)
			o += (size_t)sprintf(out + o, "\\u%04x", in[i]);
		else
			out[o++] = (char)in[i];
	}
	memcpy(out + o, "\"]\n", 3);
	rec_write(m, out, o + 3);
	free(out);
}

/* A resize event, so that a replay draws at the size the engineer saw. */
static void
rec_resize(struct mon *m, uint32_t cols, uint32_t rows)
{
	char		 buf[64];
	uint64_t	 ms = clock_mono_ms() - m->sh.started_ms;
	int		 n;

	if (m->sh.rec < 0)
		return;
	n = snprintf(buf, sizeof(buf), "[%llu.%03llu, \"r\", \"%ux%u\"]\n",
	    (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000),
	    cols, rows);
	rec_write(m, buf, (size_t)n);
}

static int
valid_term(const char *t)
{
	for (; *t != '\0'; t++)
		if (*t <= ' ' || *t > '~')
			return 0;
	return 1;
}

/* A pty with the engineer's window size; 0 with *master, *slave. */
static int
pty_open(uint32_t cols, uint32_t rows, int *master, int *slave)
{
	struct winsize	ws;
	char		name[128];

	if ((*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		return -1;
	if (grantpt(*master) == -1 || unlockpt(*master) == -1 ||
	    ptsname_r(*master, name, sizeof(name)) != 0 ||
	    (*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
		close(*master);
		return -1;
	}
	memset(&ws, 0, sizeof(ws));
	ws.ws_col = (unsigned short)cols;
	ws.ws_row = (unsigned short)rows;
	(void)ioctl(*master, TIOCSWINSZ, &ws);
	return 0;
}

int
mm_answer_shell_open(struct mon *m, json_t *req)
{
	const char	*term = mm_field_str(req, "term", 64);
	const char	*no;
	char		 why[ACCESS_WHY_MAX];
	uint32_t	 cols, rows;
	int		 slave = -1, rpc[2], tv[2], rc;

	if (term == NULL || !valid_term(term) ||
	    mm_field_u32(req, "cols", &cols) == -1 ||
	    mm_field_u32(req, "rows", &rows) == -1)
		mon_violation(m, "malformed shell_open request", "shell_open");
	if (cols == 0 || cols > 1000 || rows == 0 || rows > 1000) {
		cols = 80;
		rows = 24;
	}
	/* The support shell always runs on a terminal: no-pty refuses it. */
	if ((no = sshcert_forbidden(m->id.permits, SSHCERT_PERMIT_PTY)) !=
	    NULL) {
		mon_audit(m, "request_refused", json_pack("{s:s, s:s}",
		    "request", "shell", "reason", no));
		return mon_refuse(m, no);
	}
	if (m->sh.pid != 0 || m->sh.rec != -1)
		return mon_refuse(m, "one support shell per session");
	if (rec_open(m, term[0] != '\0' ? term : "vt100", cols, rows, why,
	    sizeof(why)) == -1)
		return mon_refuse(m, why);
	/* From now on it can be watched (porthole watch). */
	if (mon_broker_send(m, BM_SHELL, json_pack("{s:s}", "recording",
	    m->sh.rec_name)) == -1)
		mon_end(m, 1);
	if (pty_open(cols, rows, &m->sh.master, &slave) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rpc) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, tv) == -1) {
		log_error("monitor: pty: %s", strerror(errno));
		mon_end(m, 1);
	}
	if ((m->sh.pid = fork()) == -1)
		mon_end(m, 1);
	if (m->sh.pid == 0) {
		close(rpc[0]);
		session_shell(slave, rpc[1], m->pol, m->id.engineer);
	}
	close(slave);
	close(rpc[1]);
	m->sh.rpc = rpc[0];
	m->sh.term = tv[0];
	m->on_end = mon_shell_close;
	fcntl(m->sh.master, F_SETFL, O_NONBLOCK);
	fcntl(m->sh.term, F_SETFL, O_NONBLOCK);
	mon_audit(m, "shell_opened", json_pack("{s:s, s:s, s:I, s:I, s:b}",
	    "recording", m->sh.rec_name, "term", term, "cols",
	    (json_int_t)cols, "rows", (json_int_t)rows, "held_for_watch",
	    m->pol->ra_require_watch));
	/* require_watch: nothing shown and no key taken until a watcher. */
	if (m->pol->ra_require_watch) {
		m->sh.held = 1;
		m->sh.out.len = (size_t)snprintf(m->sh.out.buf,
		    sizeof(m->sh.out.buf), "porthole: this shell starts once "
		    "the customer watches it: porthole watch %s\r\n", m->sid);
	}
	rc = mon_answer(m, json_pack("{s:b}", "ok", 1), &tv[1], 1);
	close(tv[1]);
	return rc;
}

int
mm_answer_window_change(struct mon *m, json_t *req)
{
	struct winsize	ws;
	uint32_t	cols, rows;

	if (mm_field_u32(req, "cols", &cols) == -1 ||
	    mm_field_u32(req, "rows", &rows) == -1)
		mon_violation(m, "malformed window_change request",
		    "window_change");
	if (m->sh.master >= 0 && cols > 0 && cols <= 1000 && rows > 0 &&
	    rows <= 1000) {
		memset(&ws, 0, sizeof(ws));
		ws.ws_col = (unsigned short)cols;
		ws.ws_row = (unsigned short)rows;
		(void)ioctl(m->sh.master, TIOCSWINSZ, &ws);
		rec_resize(m, cols, rows);
	}
	return mon_answer(m, json_pack("{s:b}", "ok", 1), NULL, 0);
}

int
mon_shell_pollfds(struct mon *m, struct pollfd *pfd)
{
	if (m->sh.term < 0)
		return 0;
	pfd[0].fd = m->sh.term;
	pfd[0].events = (m->sh.in.len == 0 ? POLLIN : 0) |
	    (m->sh.out.len > 0 ? POLLOUT : 0);
	pfd[1].fd = m->sh.master;
	pfd[1].events = (m->sh.out.len == 0 ? POLLIN : 0) |
	    (m->sh.in.len > 0 ? POLLOUT : 0);
	/* Held for a watcher: the shell's screen waits in its pty. */
	if (m->sh.held)
		pfd[1].events = 0;
	/* Nothing asked: a hung-up descriptor would wake us for ever. */
	if (pfd[0].events == 0)
		pfd[0].fd = -1;
	if (pfd[1].events == 0)
		pfd[1].fd = -1;
	return 2;
}

/*
 * The line saying who watches goes to the engineer (and the recording)
 * right after the screen is cleared by the redraw a watcher asked for,
 * so that it stays on the screen; if no redraw came (a program that
 * ignores ^L runs), at the start of what comes next, a moment later.
 * The first n bytes of the output buffer are what the shell wrote; the
 * buffer has room for the notice.  Returns the new length.
 */
static size_t
shell_notice(struct mon *m, size_t n)
{
	static const char	 clear[] = "\033[2J";
	char			*p = NULL, *buf = m->sh.out.buf;
	size_t			 at = 0, len = strlen(m->sh.notice), i;

	if (len == 0)
		return n;
	for (i = 0; i + sizeof(clear) - 1 <= n && p == NULL; i++)
		if (memcmp(buf + i, clear, sizeof(clear) - 1) == 0)
			p = buf + i;
	if (p != NULL)
		at = (size_t)(p - buf) + sizeof(clear) - 1;
	else if (clock_mono_ms() - m->sh.notice_ms < 2000)
		return n;
	memmove(buf + at + len, buf + at, n - at);
	memcpy(buf + at, m->sh.notice, len);
	m->sh.notice[0] = '\0';
	return n + len;
}

void
mon_shell_watch(struct mon *m, json_t *msg)
{
	const char	*by = json_string_value(json_object_get(msg, "by"));
	int		 joined = json_is_true(json_object_get(msg, "joined"));
	char		 who[128];
	size_t		 i;

	if (m->sh.master < 0 || by == NULL)
		return;
	/* The broker's words, but on the engineer's screen: printable. */
	snprintf(who, sizeof(who), "%s", by);
	for (i = 0; who[i] != '\0'; i++)
		if (who[i] < 0x20 || who[i] > 0x7e)
			who[i] = '?';
	/* Joined or left, the line goes at the top of a redrawn screen. */
	snprintf(m->sh.notice, sizeof(m->sh.notice), joined ? "[porthole: "
	    "%s is watching this shell, read-only]\r\n" : "[porthole: %s "
	    "stopped watching this shell]\r\n", who);
	m->sh.notice_ms = clock_mono_ms();
	m->sh.held = 0;
	/* The shell's own ^L: it clears the screen and draws the prompt. */
	if (write(m->sh.master, "\f", 1) != 1)
		log_warn("monitor: cannot ask the shell to redraw: %s",
		    strerror(errno));
}

void
mon_shell_service(struct mon *m, const struct pollfd *pfd, int n)
{
	ssize_t	r;

	if (n < 2 || m->sh.term < 0)
		return;
	if ((pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
	    m->sh.in.len == 0) {
		r = read(m->sh.term, m->sh.in.buf, sizeof(m->sh.in.buf));
		if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR)) {
			mon_shell_close(m, "the engineer closed the shell");
			return;
		}
		m->sh.in.len = r > 0 ? (size_t)r : 0;
		/* Keys typed while it is held are not kept for later. */
		if (m->sh.held)
			m->sh.in.len = 0;
	}
	if ((pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
	    m->sh.out.len == 0) {
		r = read(m->sh.master, m->sh.out.buf, sizeof(m->sh.out.buf) -
		    sizeof(m->sh.notice));
		if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR)) {
			/* EIO: the shell and its terminal are gone. */
			mon_shell_close(m, "the shell exited");
			return;
		}
		if (r > 0) {
			r = (ssize_t)shell_notice(m, (size_t)r);
			rec_output(m, m->sh.out.buf, (size_t)r);
			m->sh.out.len = (size_t)r;
		}
	}
	if (m->sh.in.len > 0 && mon_pipe_flush(&m->sh.in, m->sh.master) == -1)
		m->sh.in.len = m->sh.in.off = 0;
	if (m->sh.out.len > 0 && mon_pipe_flush(&m->sh.out, m->sh.term) == -1) {
		mon_shell_close(m, "the engineer closed the shell");
		return;
	}
}

/* The last of the screen reaches the engineer before the stream ends. */
static void
shell_drain(struct mon *m)
{
	ssize_t	r;

	if (m->sh.master >= 0)
		while ((r = read(m->sh.master, m->sh.out.buf + m->sh.out.len,
		    sizeof(m->sh.out.buf) - m->sh.out.len)) > 0) {
			rec_output(m, m->sh.out.buf + m->sh.out.len,
			    (size_t)r);
			m->sh.out.len += (size_t)r;
		}
	/* What fits now; a child that does not read cannot hold us. */
	if (m->sh.term >= 0 && m->sh.out.len > m->sh.out.off)
		(void)write(m->sh.term, m->sh.out.buf + m->sh.out.off,
		    m->sh.out.len - m->sh.out.off);
}

/* End the shell (engineer gone or session over) and close the recording. */
static void
mon_shell_close(struct mon *m, const char *why)
{
	unsigned char	md[32];
	char		hex[65];
	unsigned int	mdlen = 0, i;
	int		status = 0;

	if (m->diag > 0 && m->diag_peer == MM_FROM_SHELL)
		mon_diag_abandon(m);
	if (m->act.id[0] != '\0' && m->act.peer == MM_FROM_SHELL)
		mon_action_abandon(m);
	if (m->sh.pid > 0) {
		shell_drain(m);
		kill(-m->sh.pid, SIGHUP);
		kill(m->sh.pid, SIGKILL);
		while (waitpid(m->sh.pid, &status, 0) == -1 && errno == EINTR)
			;
	}
	m->sh.pid = -1;		/* one shell per session, even after this */
	/* Nothing more to watch. */
	if (m->sh.rec >= 0)
		(void)mon_broker_send(m, BM_SHELL, json_pack("{s:s}",
		    "recording", ""));
	m->on_end = NULL;
	mon_access_abandon(m, MM_FROM_SHELL, why);
	if (m->sh.term >= 0)
		close(m->sh.term);
	if (m->sh.master >= 0)
		close(m->sh.master);
	if (m->sh.rpc >= 0)
		close(m->sh.rpc);
	m->sh.term = m->sh.master = m->sh.rpc = -1;
	if (m->sh.rec < 0)
		return;
	if (fsync(m->sh.rec) == -1)
		log_error("monitor: fsync %s: %s", m->sh.rec_name,
		    strerror(errno));
	close(m->sh.rec);
	m->sh.rec = -1;
	EVP_DigestFinal_ex(m->sh.rec_hash, md, &mdlen);
	EVP_MD_CTX_free(m->sh.rec_hash);
	m->sh.rec_hash = NULL;
	for (i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[2 * i] = '\0';
	mon_audit(m, "shell_closed", json_pack("{s:s, s:s, s:I, s:s}",
	    "recording", m->sh.rec_name, "sha256", hex, "bytes",
	    (json_int_t)m->sh.rec_bytes, "reason", why));
}
