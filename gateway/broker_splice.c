/*
 * broker_splice.c - a session's stream spliced to its forwarded-tcpip
 * channel, with flow control both ways: the socket is read only as far
 * as the channel's window allows, and channel data the socket cannot
 * take now stays in libssh's buffer, holding back the window of the
 * engineer's sender.  Once the session's process has exited and its
 * last output is sent, the session ends here, on record.
 */
#include "gateway/broker_int.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include "lib/clock.h"
#include "lib/log.h"

#define BROKER_RETRY_MS	20	/* poll again after a stalled write */

/* Poll every session again shortly (a write or read stalled in a rekey). */
static void
broker_retry_soon(struct broker *b)
{
	struct timeval tv = { 0, BROKER_RETRY_MS * 1000 };

	if (!evtimer_pending(b->ev_retry, NULL))
		evtimer_add(b->ev_retry, &tv);
}

/* Channel data from the engineer: write what the socket takes now. */
int
gs_on_data(ssh_session s, ssh_channel ch, void *data, uint32_t len,
    int is_stderr, void *arg)
{
	struct gsess	*gs = arg;
	ssize_t		 n;

	(void)s;
	(void)ch;
	if (is_stderr || gs->shut_wr)
		return (int)len;
	if (gs->hold_len > 0) {
		gs->pending = len;
		return 0;
	}
	n = write(gs->fd, data, len);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR) {
			gs->pending = 0;
			return (int)len;	/* the session is gone */
		}
		n = 0;
	}
	gs->bytes_in += (uint64_t)n;
	gs->pending = len - (uint32_t)n;
	if (gs->pending > 0)
		event_add(gs->ev_write, NULL);
	return (int)n;
}

void
gs_on_eof(ssh_session s, ssh_channel ch, void *arg)
{
	struct gsess *gs = arg;

	(void)s;
	(void)ch;
	gs->ch_eof = 1;
}

void
gs_on_close(ssh_session s, ssh_channel ch, void *arg)
{
	struct gsess *gs = arg;

	(void)s;
	(void)ch;
	gs->ch_eof = 1;
	gs->ch_closed = 1;
}

static void	gs_login_done(struct gsess *);

/* Forget the channel: after close, or when the tunnel goes down. */
void
gs_drop_channel(struct gsess *gs, int free_it)
{
	if (gs->ch == NULL)
		return;
	ssh_remove_channel_callbacks(gs->ch, &gs->cb);
	if (free_it) {
		if (!ssh_channel_is_closed(gs->ch))
			ssh_channel_close(gs->ch);
		ssh_channel_free(gs->ch);
	}
	gs->ch = NULL;
	gs->pending = 0;
}

/* The socket can take more: move held and pending channel data. */
void
gs_fd_write(evutil_socket_t fd, short what, void *arg)
{
	struct gsess	*gs = arg;
	ssize_t		 n;
	int		 r;

	(void)fd;
	(void)what;
	for (;;) {
		if (gs->hold_len > 0) {
			n = write(gs->fd, gs->hold + gs->hold_off,
			    gs->hold_len);
			if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
				event_add(gs->ev_write, NULL);
				return;
			}
			if (n == -1) {
				gs->hold_len = 0;
				gs->shut_wr = 1;
				break;
			}
			gs->bytes_in += (uint64_t)n;
			gs->hold_off += (size_t)n;
			gs->hold_len -= (size_t)n;
			continue;
		}
		if (gs->pending == 0 || gs->ch == NULL)
			break;
		r = ssh_channel_read_nonblocking(gs->ch, gs->hold,
		    gs->pending < sizeof(gs->hold) ? gs->pending :
		    sizeof(gs->hold), 0);
		if (r == 0 && !ssh_channel_is_eof(gs->ch) &&
		    !ssh_channel_is_closed(gs->ch)) {
			/*
			 * Offered but not readable now (a key re-exchange):
			 * libssh will not offer it again until the next packet
			 * on this channel, which may be the very window
			 * adjustment stuck behind it.  Look again shortly.
			 */
			broker_retry_soon(gs->b);
			break;
		}
		if (r <= 0) {
			gs->pending = 0;
			break;
		}
		gs->pending -= (uint32_t)r;
		gs->hold_off = 0;
		gs->hold_len = (size_t)r;
	}
	broker_flush(gs->b);
	gs_check_done(gs);
}

/*
 * Hand what was read from the session process to the channel.  libssh
 * may take less than offered (nothing during a key re-exchange); the rest
 * waits here and reading pauses.  Returns 1 when nothing is left.
 */
static int
gs_flush_out(struct gsess *gs)
{
	int w;

	while (gs->out_len > 0 && gs->ch != NULL && !gs->ch_closed) {
		w = ssh_channel_write(gs->ch, gs->out + gs->out_off,
		    (uint32_t)gs->out_len);
		if (w < 0) {
			log_warn("session %s: write to the tunnel failed",
			    gs->id);
			gs->out_len = 0;
			break;
		}
		if (w == 0) {
			/*
			 * libssh took nothing with the window open: a key
			 * re-exchange on the tunnel.  Its end may come with
			 * no more traffic to wake us: look again shortly.
			 */
			if (ssh_channel_window_size(gs->ch) > 0)
				broker_retry_soon(gs->b);
			return 0;
		}
		gs->bytes_out += (uint64_t)w;
		gs->out_off += (size_t)w;
		gs->out_len -= (size_t)w;
	}
	gs->out_len = 0;
	return 1;
}

/* Output from the session process: send what the channel window allows. */
void
gs_fd_read(evutil_socket_t fd, short what, void *arg)
{
	struct gsess	*gs = arg;
	uint32_t	 win;
	ssize_t		 n;

	(void)fd;
	(void)what;
	if (gs->ch == NULL) {
		/* Nobody to deliver to: let the session see its end. */
		n = read(gs->fd, gs->out, sizeof(gs->out));
		if (n <= 0 && !(n == -1 && errno == EAGAIN)) {
			gs->fd_eof = 1;
			event_del(gs->ev_read);
		}
		gs_check_done(gs);
		return;
	}
	if (!gs_flush_out(gs) ||
	    (win = ssh_channel_window_size(gs->ch)) == 0) {
		event_del(gs->ev_read);
		gs->wait_window = 1;
		broker_flush(gs->b);
		return;
	}
	n = read(gs->fd, gs->out, win < sizeof(gs->out) ? win :
	    sizeof(gs->out));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		gs->fd_eof = 1;
		event_del(gs->ev_read);
		if (!gs->ch_closed)
			ssh_channel_send_eof(gs->ch);
		broker_flush(gs->b);
		gs_check_done(gs);
		return;
	}
	gs->out_off = 0;
	gs->out_len = (size_t)n;
	if (!gs_flush_out(gs)) {
		event_del(gs->ev_read);
		gs->wait_window = 1;
	}
	broker_flush(gs->b);
}

void
gs_free(struct gsess *gs)
{
	gs_drop_channel(gs, 1);
	if (gs->ev_read != NULL)
		event_free(gs->ev_read);
	if (gs->ev_write != NULL)
		event_free(gs->ev_write);
	if (gs->ev_audit != NULL)
		event_free(gs->ev_audit);
	if (gs->ev_approval != NULL)
		event_free(gs->ev_approval);
	if (gs->fd != -1)
		close(gs->fd);
	if (gs->audit_fd != -1)
		close(gs->audit_fd);
	if (gs->pol_fd != -1)
		close(gs->pol_fd);
	free(gs);
}

/*
 * Pass EOF on, and end the session once its process has exited and its
 * last output has been sent.
 */
void
gs_check_done(struct gsess *gs)
{
	struct broker	*b = gs->b;
	json_t		*ev;

	if (gs->ch_eof && gs->pending == 0 && gs->hold_len == 0 &&
	    !gs->shut_wr) {
		shutdown(gs->fd, SHUT_WR);
		gs->shut_wr = 1;
	}
	if (gs->ch_closed && !gs->fd_eof) {
		/* The engineer is gone: the session process sees EOF. */
		shutdown(gs->fd, SHUT_RDWR);
	}
	/*
	 * No client sends EOF while its login is unanswered: one that does
	 * has hung up, and a session waiting for approval ends with it.
	 */
	if (gs->state == BM_PH_PENDING && (gs->ch_eof || gs->ch == NULL))
		gs_approval_gone(gs);
	if (gs->pid != 0 || !(gs->fd_eof || gs->ch == NULL))
		return;
	if (!gs_slotted(gs)) {
		gs_login_done(gs);
		return;
	}
	ev = json_pack("{s:s, s:I, s:I, s:I}", "engineer", gs->engineer,
	    "bytes_in", (json_int_t)gs->bytes_in,
	    "bytes_out", (json_int_t)gs->bytes_out,
	    "duration_ms", (json_int_t)(clock_mono_ms() - gs->started));
	if (WIFEXITED(gs->status))
		json_object_set_new(ev, "exit_status",
		    json_integer(WEXITSTATUS(gs->status)));
	else if (WIFSIGNALED(gs->status))
		json_object_set_new(ev, "signal",
		    json_integer(WTERMSIG(gs->status)));
	broker_actions_session_gone(b, gs->id);
	(void)broker_audit(b, "session_closed", gs->id, ev);
	if (b->telem != NULL && gs->engineer[0] != '\0')
		telem_event(b->telem, "session_closed", json_pack(
		    "{s:s, s:s, s:I}", "session", gs->id, "engineer",
		    gs->engineer, "duration_s", (json_int_t)((clock_mono_ms() -
		    gs->started) / 1000)));
	log_info("session %s closed (%llu bytes in, %llu bytes out)", gs->id,
	    (unsigned long long)gs->bytes_in, (unsigned long long)gs->bytes_out);
	gs_set_state(gs, BM_PH_CLOSED);
	TAILQ_REMOVE(&b->sessions, gs, entry);
	b->nsessions--;
	gs_free(gs);
	broker_flush(b);
}

/*
 * A channel that ended without a session: nothing was opened, so nothing
 * is closed on record.  One that left no trace at all (the client went
 * away, or sent something that is not SSH) is recorded as refused, with
 * the others like it summarised.
 */
static void
gs_login_done(struct gsess *gs)
{
	struct broker	*b = gs->b;
	char		 why[80];

	if (!gs->recorded) {
		if (WIFSIGNALED(gs->status) &&
		    WTERMSIG(gs->status) != SIGKILL)
			snprintf(why, sizeof(why), "the session process ended "
			    "by signal %d before a login", WTERMSIG(gs->status));
		else
			snprintf(why, sizeof(why), "closed before a login");
		(void)gs_refusal(gs, "session_refused", json_pack("{s:s}",
		    "reason", why));
	}
	log_info("session %s from %s: ended before a login", gs->id, gs->from);
	gs_set_state(gs, BM_PH_CLOSED);
	TAILQ_REMOVE(&b->sessions, gs, entry);
	b->nsessions--;
	gs_free(gs);
	broker_flush(b);
}

void
broker_poll(void *arg)
{
	struct broker	*b = arg;
	struct gsess	*gs, *next;

	for (gs = TAILQ_FIRST(&b->sessions); gs != NULL; gs = next) {
		next = TAILQ_NEXT(gs, entry);
		if (gs->wait_window && gs->ch != NULL && gs_flush_out(gs) &&
		    ssh_channel_window_size(gs->ch) > 0) {
			gs->wait_window = 0;
			event_add(gs->ev_read, NULL);
		}
		if (gs->pending > 0 && gs->hold_len == 0)
			gs_fd_write(gs->fd, EV_WRITE, gs);
		else
			gs_check_done(gs);
	}
}

void
broker_retry(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;

	(void)fd;
	(void)what;
	broker_poll(b);
	broker_flush(b);
}
