/*
 * splice.c - carry bytes between two channels on two SSH sessions.
 *
 * libssh offers each channel's received data to a callback, which may
 * take less than offered.  We take only what the other channel's remote
 * window accepts; the rest stays in libssh's buffer, which holds back the
 * window adjustment to the sender.  splice_pump() moves the remainder
 * once the window has grown, since libssh fires no callback for that.
 */
#include "relay/splice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libssh/server.h>

#include "lib/log.h"
#include "lib/sshrefuse.h"

#define SPLICE_CHUNK	65536

static int
side_of(struct splice *sp, ssh_channel ch)
{
	return sp->end[SPLICE_TUNNEL].ch == ch ? SPLICE_TUNNEL :
	    SPLICE_ENGINEER;
}

/* Can bytes be written to this side now? */
static int
writable(struct splice *sp, int side)
{
	struct splice_end *e = &sp->end[side];

	if (e->ch == NULL || e->eof_sent || e->close_sent)
		return 0;
	if (side == SPLICE_TUNNEL && (sp->opening || sp->failed))
		return 0;
	return 1;
}

static int
splice_on_data(ssh_session s, ssh_channel ch, void *data, uint32_t len,
    int is_stderr, void *arg)
{
	struct splice	*sp = arg;
	int		 from = side_of(sp, ch), to = !from;
	uint32_t	 win, n;
	int		 rc;

	(void)s;
	if (is_stderr)
		return (int)len;	/* tcpip channels carry no stderr */
	if (sp->end[to].ch == NULL || sp->end[to].close_sent) {
		/* Nobody to deliver to: drop, the close follows. */
		sp->end[from].pending = 0;
		return (int)len;
	}
	if (!writable(sp, to) || sp->end[from].hold_len > 0) {
		/* Held bytes go first; these wait in libssh's buffer. */
		sp->end[from].pending = len;
		return 0;
	}
	win = ssh_channel_window_size(sp->end[to].ch);
	n = len < win ? len : win;
	if (n > SPLICE_CHUNK)
		n = SPLICE_CHUNK;
	if (n == 0) {
		sp->end[from].pending = len;
		return 0;
	}
	rc = ssh_channel_write(sp->end[to].ch, data, n);
	if (rc == SSH_ERROR || rc < 0) {
		log_warn("splice %llu: write failed: %s",
		    (unsigned long long)sp->id,
		    ssh_get_error(ssh_channel_get_session(sp->end[to].ch)));
		sp->end[from].pending = 0;
		return (int)len;
	}
	sp->end[from].bytes += (uint64_t)rc;
	sp->end[from].pending = len - (uint32_t)rc;
	return rc;
}

static void
splice_on_eof(ssh_session s, ssh_channel ch, void *arg)
{
	struct splice *sp = arg;

	(void)s;
	sp->end[side_of(sp, ch)].eof_rcvd = 1;
}

static void
splice_on_close(ssh_session s, ssh_channel ch, void *arg)
{
	struct splice *sp = arg;
	int side = side_of(sp, ch);

	(void)s;
	sp->end[side].close_rcvd = 1;
	sp->end[side].eof_rcvd = 1;
}

static void
splice_callbacks(struct splice *sp, int side)
{
	struct splice_end *e = &sp->end[side];

	memset(&e->cb, 0, sizeof(e->cb));
	e->cb.userdata = sp;
	e->cb.channel_data_function = splice_on_data;
	e->cb.channel_eof_function = splice_on_eof;
	e->cb.channel_close_function = splice_on_close;
	ssh_callbacks_init(&e->cb);
	ssh_set_channel_callbacks(e->ch, &e->cb);
}

struct splice *
splice_new(ssh_channel eng, void *eng_conn, ssh_session tun, void *tun_conn,
    const char *host, int port, const char *orig_host, int orig_port,
    uint64_t id)
{
	struct splice *sp;

	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return NULL;
	sp->id = id;
	snprintf(sp->host, sizeof(sp->host), "%s", host);
	sp->port = port;
	snprintf(sp->orig_host, sizeof(sp->orig_host), "%s", orig_host);
	sp->orig_port = orig_port;
	sp->end[SPLICE_ENGINEER].ch = eng;
	sp->end[SPLICE_ENGINEER].conn = eng_conn;
	sp->end[SPLICE_TUNNEL].conn = tun_conn;
	if ((sp->end[SPLICE_TUNNEL].ch = ssh_channel_new(tun)) == NULL) {
		free(sp);
		return NULL;
	}
	splice_callbacks(sp, SPLICE_ENGINEER);
	splice_callbacks(sp, SPLICE_TUNNEL);
	sp->opening = 1;
	(void)splice_pump(sp);	/* sends the open request */
	return sp;
}

struct splice *
splice_refusal(ssh_channel eng, void *eng_conn, const char *text, uint64_t id)
{
	struct splice		*sp;
	struct splice_end	*tun;

	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return NULL;
	tun = &sp->end[SPLICE_TUNNEL];
	if ((tun->hold = malloc(SSHREFUSE_BUF)) == NULL) {
		free(sp);
		return NULL;
	}
	sp->id = id;
	sp->refusal = 1;
	sp->end[SPLICE_ENGINEER].ch = eng;
	sp->end[SPLICE_ENGINEER].conn = eng_conn;
	/* As if the refusal had come from a tunnel side that is gone. */
	tun->hold_len = (uint32_t)sshrefuse_build((uint8_t *)tun->hold,
	    SSHREFUSE_BY_APPLICATION, text);
	tun->eof_rcvd = tun->close_rcvd = 1;
	splice_callbacks(sp, SPLICE_ENGINEER);
	(void)splice_pump(sp);
	return sp;
}

/* Drive the tunnel side's forwarded-tcpip open to an answer. */
static void
splice_open(struct splice *sp)
{
	int rc;

	rc = ssh_channel_open_reverse_forward(sp->end[SPLICE_TUNNEL].ch,
	    sp->host, sp->port, sp->orig_host, sp->orig_port);
	if (rc == SSH_AGAIN)
		return;
	sp->opening = 0;
	if (rc == SSH_OK) {
		log_info("splice %llu: open to %s:%d", (unsigned long long)sp->id,
		    sp->host, sp->port);
		return;
	}
	log_warn("splice %llu: cluster %s refused the session channel",
	    (unsigned long long)sp->id, sp->host);
	sp->failed = 1;
	sp->end[SPLICE_TUNNEL].close_rcvd = 1;
	sp->end[SPLICE_TUNNEL].eof_rcvd = 1;
	sp->end[SPLICE_TUNNEL].close_sent = 1;	/* never opened */
}

/*
 * Write what was read from side `from` but not yet taken by the other
 * side.  libssh accepts less than offered (nothing during a key
 * re-exchange): the rest stays here for the next pump.  Returns 1 when
 * the hold is empty.
 */
static int
splice_flush_hold(struct splice *sp, int from)
{
	struct splice_end	*src = &sp->end[from], *dst = &sp->end[!from];
	int			 w;

	while (src->hold_len > 0) {
		if (!writable(sp, !from))
			return 0;
		w = ssh_channel_write(dst->ch, src->hold + src->hold_off,
		    src->hold_len);
		if (w < 0) {
			log_warn("splice %llu: write failed: %s",
			    (unsigned long long)sp->id, ssh_get_error(
			    ssh_channel_get_session(dst->ch)));
			src->hold_len = 0;
			return 1;
		}
		if (w == 0) {
			sp->stalled = 1;
			return 0;
		}
		src->bytes += (uint64_t)w;
		src->hold_off += (uint32_t)w;
		src->hold_len -= (uint32_t)w;
	}
	return 1;
}

/* Forward what side `from` holds back, as far as the windows allow. */
static void
splice_drain(struct splice *sp, int from)
{
	struct splice_end	*src = &sp->end[from], *dst = &sp->end[!from];
	uint32_t		 win, n;
	int			 r;

	while (splice_flush_hold(sp, from) && src->pending > 0 &&
	    src->ch != NULL && writable(sp, !from)) {
		win = ssh_channel_window_size(dst->ch);
		n = src->pending < win ? src->pending : win;
		if (n > SPLICE_CHUNK)
			n = SPLICE_CHUNK;
		if (n == 0)
			return;
		if (src->hold == NULL &&
		    (src->hold = malloc(SPLICE_CHUNK)) == NULL)
			return;
		r = ssh_channel_read_nonblocking(src->ch, src->hold, n, 0);
		if (r <= 0) {
			src->pending = 0;
			return;
		}
		src->pending -= (uint32_t)r < src->pending ?
		    (uint32_t)r : src->pending;
		src->hold_off = 0;
		src->hold_len = (uint32_t)r;
	}
}

/* Pass EOF and close from side `from` to the other once drained. */
static void
splice_finish(struct splice *sp, int from)
{
	struct splice_end *src = &sp->end[from], *dst = &sp->end[!from];

	if (((src->pending > 0 && src->ch != NULL) || src->hold_len > 0) &&
	    dst->ch != NULL && !dst->close_sent)
		return;
	/* A refusal said: the engineer's client hangs up when it has read. */
	if (sp->refusal && from == SPLICE_TUNNEL && !dst->eof_rcvd)
		return;
	if (!src->eof_rcvd && src->ch != NULL)
		return;
	if (dst->ch != NULL && !dst->eof_sent && !dst->close_sent &&
	    !(from == SPLICE_ENGINEER && sp->opening)) {
		ssh_channel_send_eof(dst->ch);
		dst->eof_sent = 1;
	}
	if ((src->close_rcvd || src->ch == NULL) && dst->ch != NULL &&
	    !dst->close_sent && !(from == SPLICE_ENGINEER && sp->opening)) {
		ssh_channel_close(dst->ch);
		dst->close_sent = 1;
	}
}

int
splice_pump(struct splice *sp)
{
	int i;

	sp->stalled = 0;
	if (sp->opening && sp->end[SPLICE_TUNNEL].ch != NULL)
		splice_open(sp);
	splice_drain(sp, SPLICE_ENGINEER);
	splice_drain(sp, SPLICE_TUNNEL);
	splice_finish(sp, SPLICE_ENGINEER);
	splice_finish(sp, SPLICE_TUNNEL);
	for (i = 0; i < 2; i++) {
		struct splice_end *e = &sp->end[i];

		if (e->ch != NULL && !(e->close_rcvd && e->close_sent))
			return 0;
	}
	return 1;
}

void
splice_side_gone(struct splice *sp, int side)
{
	struct splice_end *e = &sp->end[side];

	if (e->ch != NULL)
		ssh_remove_channel_callbacks(e->ch, &e->cb);
	/* The session's ssh_free() releases the channel itself. */
	e->ch = NULL;
	e->conn = NULL;
	e->pending = 0;
	e->eof_rcvd = e->close_rcvd = 1;
	if (side == SPLICE_TUNNEL)
		sp->opening = 0;
}

void
splice_free(struct splice *sp)
{
	int i;

	if (sp == NULL)
		return;
	for (i = 0; i < 2; i++) {
		struct splice_end *e = &sp->end[i];

		free(e->hold);
		if (e->ch == NULL)
			continue;
		ssh_remove_channel_callbacks(e->ch, &e->cb);
		if (!e->close_sent && !(i == SPLICE_TUNNEL && sp->failed))
			ssh_channel_close(e->ch);
		ssh_channel_free(e->ch);
	}
	free(sp);
}
