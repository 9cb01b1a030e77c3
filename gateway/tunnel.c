/*
 * tunnel.c - the outbound connection to the relay.
 *
 * Connecting and logging in are done in blocking mode with a timeout;
 * once up, the session is non-blocking and driven by libevent readiness
 * on its socket.  When it drops, the next attempt waits an exponentially
 * growing, jittered delay, capped at TUNNEL_BACKOFF_MAX_MS.
 */
#include "gateway/tunnel.h"

#include <sys/socket.h>
#include <sys/random.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <libssh/callbacks.h>
#include <libssh/server.h>

#include "lib/clock.h"
#include "lib/log.h"

#define TUNNEL_BACKOFF_MIN_MS	250
#define TUNNEL_BACKOFF_MAX_MS	30000
#define TUNNEL_STABLE_MS	10000	/* up this long: reset the backoff */
#define TUNNEL_CONNECT_TIMEOUT	10	/* seconds */
#define TUNNEL_KEX	"curve25519-sha256,curve25519-sha256@libssh.org"

enum tunnel_state {
	TS_IDLE,	/* waiting for the next attempt */
	TS_UP		/* logged in, channels flow */
};

struct tunnel {
	struct event_base	*base;
	const struct policy	*pol;
	enum tunnel_state	 state;
	ssh_session		 s;
	ssh_event		 sev;
	struct event		*ev_read;
	struct event		*ev_write;
	struct event		*ev_kick;	/* flush now, no epoll round */
	int			 kicked;	/* kicks since the last readiness */
	struct event		*ev_retry;
	int			 evfd;		/* our dup of libssh's socket */
	char			 last_error[256];	/* why it is down */
	time_t			 since;		/* state changed at (wall clock) */
	uint64_t		 backoff_ms;
	uint64_t		 up_since;	/* clock_mono_ms() */
	tunnel_channel_cb	 on_channel;
	tunnel_poll_cb		 on_poll;
	tunnel_down_cb		 on_down;
	void			*arg;
};

static void	tunnel_attempt(evutil_socket_t, short, void *);

static void
tunnel_set_state(struct tunnel *t, enum tunnel_state st)
{
	if (st != t->state)
		t->since = clock_now();
	log_debug("tunnel: %s -> %s", t->state == TS_UP ? "up" : "idle",
	    st == TS_UP ? "up" : "idle");
	t->state = st;
}

/* Schedule the next attempt after a jittered, capped, growing delay. */
static void
tunnel_schedule(struct tunnel *t)
{
	struct timeval	 tv;
	uint32_t	 rnd = 0;
	uint64_t	 ms;

	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)clock_mono_ms();
	/* Between half and all of the current backoff. */
	ms = t->backoff_ms / 2 + rnd % (t->backoff_ms / 2 + 1);
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	log_info("tunnel: next attempt in %llu ms", (unsigned long long)ms);
	event_add(t->ev_retry, &tv);
	t->backoff_ms *= 2;
	if (t->backoff_ms > TUNNEL_BACKOFF_MAX_MS)
		t->backoff_ms = TUNNEL_BACKOFF_MAX_MS;
}

static void
tunnel_down(struct tunnel *t, const char *why)
{
	/* A failed attempt has already said why in last_error. */
	if (strcmp(why, "connect failed") != 0)
		snprintf(t->last_error, sizeof(t->last_error), "%s", why);
	if (t->state == TS_UP) {
		log_warn("tunnel: down: %s", why);
		if (clock_mono_ms() - t->up_since >= TUNNEL_STABLE_MS)
			t->backoff_ms = TUNNEL_BACKOFF_MIN_MS;
		t->since = clock_now();
		t->on_down(t->arg);
	}
	tunnel_set_state(t, TS_IDLE);
	if (t->ev_read != NULL)
		event_free(t->ev_read);
	if (t->ev_write != NULL)
		event_free(t->ev_write);
	if (t->ev_kick != NULL)
		event_free(t->ev_kick);
	t->ev_read = t->ev_write = t->ev_kick = NULL;
	if (t->evfd != -1) {
		close(t->evfd);
		t->evfd = -1;
	}
	if (t->sev != NULL) {
		ssh_event_remove_session(t->sev, t->s);
		ssh_event_free(t->sev);
		t->sev = NULL;
	}
	if (t->s != NULL) {
		ssh_disconnect(t->s);
		ssh_free(t->s);
		t->s = NULL;
	}
	tunnel_schedule(t);
}

/*
 * libssh asks to be polled for writability after every send, even a
 * complete one, and sends its next packet only after such a poll.  So
 * the tunnel is serviced once more at the end of this loop iteration
 * (libssh's poll then finds the socket writable), and waits for EV_WRITE
 * only if output is still queued after that: the socket is full.
 */
void
tunnel_want_write(struct tunnel *t)
{
	if (t->state != TS_UP)
		return;
	if (!(ssh_get_poll_flags(t->s) & SSH_WRITE_PENDING)) {
		t->kicked = 0;
		event_del(t->ev_write);
		return;
	}
	if (t->kicked < 1) {
		t->kicked++;
		event_active(t->ev_kick, EV_WRITE, 0);
	} else
		event_add(t->ev_write, NULL);
}

/*
 * The relay opens a forwarded-tcpip channel per engineer session.  It must
 * name this cluster and port 22; anything else the relay asks is refused.
 */
static int
tunnel_message(ssh_session s, ssh_message msg, void *arg)
{
	struct tunnel	*t = arg;
	const char	*dest, *orig;
	ssh_channel	 ch;

	(void)s;
	if (ssh_message_type(msg) != SSH_REQUEST_CHANNEL_OPEN ||
	    ssh_message_subtype(msg) != SSH_CHANNEL_FORWARDED_TCPIP) {
		log_warn("tunnel: refused a request of type %d from the relay",
		    ssh_message_type(msg));
		return 1;
	}
	dest = ssh_message_channel_request_open_destination(msg);
	if (dest == NULL || strcmp(dest, t->pol->cluster_id) != 0 ||
	    ssh_message_channel_request_open_destination_port(msg) != 22) {
		log_warn("tunnel: refused a channel for '%.64s' port %d",
		    dest == NULL ? "?" : dest,
		    ssh_message_channel_request_open_destination_port(msg));
		return 1;
	}
	orig = ssh_message_channel_request_open_originator(msg);
	if ((ch = ssh_message_channel_request_open_reply_accept(msg)) == NULL) {
		log_warn("tunnel: cannot accept a channel: %s",
		    ssh_get_error(t->s));
		return 0;
	}
	t->on_channel(ch, orig == NULL ? "?" : orig,
	    ssh_message_channel_request_open_originator_port(msg), t->arg);
	return 0;
}

static void
tunnel_io(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;

	(void)what;
	if (t->state != TS_UP)
		return;
	if (fd != -1)		/* readiness, not a kick */
		t->kicked = 0;
	if (ssh_event_dopoll(t->sev, 0) == SSH_ERROR ||
	    (ssh_get_status(t->s) & (SSH_CLOSED | SSH_CLOSED_ERROR))) {
		tunnel_down(t, ssh_get_error(t->s)[0] != '\0' ?
		    ssh_get_error(t->s) : "connection closed by the relay");
		return;
	}
	t->on_poll(t->arg);
	tunnel_want_write(t);
}

/* Compare the relay's host key with the pinned one; no trust on first use. */
static int
tunnel_check_host_key(struct tunnel *t)
{
	ssh_key	 srv = NULL, pinned = NULL;
	int	 rc = -1;

	if (ssh_get_server_publickey(t->s, &srv) != SSH_OK) {
		log_error("tunnel: the relay sent no host key");
		goto out;
	}
	if (ssh_pki_import_pubkey_file(t->pol->relay_host_key, &pinned) !=
	    SSH_OK) {
		log_error("tunnel: %s: cannot read the pinned relay host key",
		    t->pol->relay_host_key);
		goto out;
	}
	if (ssh_key_cmp(srv, pinned, SSH_KEY_CMP_PUBLIC) != 0) {
		snprintf(t->last_error, sizeof(t->last_error), "the relay's "
		    "host key does not match %s", t->pol->relay_host_key);
		log_error("tunnel: relay %s:%u presented a host key that does "
		    "not match %s; refusing to connect", t->pol->relay_host,
		    t->pol->relay_port, t->pol->relay_host_key);
		goto out;
	}
	rc = 0;
out:
	ssh_key_free(srv);
	ssh_key_free(pinned);
	return rc;
}

/* Connect and log in; blocking, bounded by TUNNEL_CONNECT_TIMEOUT. */
static int
tunnel_connect(struct tunnel *t)
{
	const struct policy	*p = t->pol;
	ssh_key			 key = NULL;
	long			 timeout = TUNNEL_CONNECT_TIMEOUT;
	unsigned int		 port = p->relay_port;
	int			 no = 0, on = 1, fd, rc = -1;

	if ((t->s = ssh_new()) == NULL)
		return -1;
	if (ssh_options_set(t->s, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    ssh_options_set(t->s, SSH_OPTIONS_HOST, p->relay_host) < 0 ||
	    ssh_options_set(t->s, SSH_OPTIONS_PORT, &port) < 0 ||
	    ssh_options_set(t->s, SSH_OPTIONS_USER, p->cluster_id) < 0 ||
	    ssh_options_set(t->s, SSH_OPTIONS_TIMEOUT, &timeout) < 0 ||
	    ssh_options_set(t->s, SSH_OPTIONS_KEY_EXCHANGE, TUNNEL_KEX) < 0 ||
	    ssh_options_set(t->s, SSH_OPTIONS_HOSTKEYS, "ssh-ed25519") < 0 ||
	    ssh_options_set(t->s, SSH_OPTIONS_NODELAY, &on) < 0) {
		log_error("tunnel: cannot set options: %s", ssh_get_error(t->s));
		goto out;
	}
	if (ssh_connect(t->s) != SSH_OK) {
		snprintf(t->last_error, sizeof(t->last_error), "cannot "
		    "connect: %s", ssh_get_error(t->s));
		log_warn("tunnel: cannot connect to relay %s:%u: %s",
		    p->relay_host, p->relay_port, ssh_get_error(t->s));
		goto out;
	}
	if (tunnel_check_host_key(t) == -1)
		goto out;
	if (ssh_pki_import_privkey_file(p->cluster_key, NULL, NULL, NULL,
	    &key) != SSH_OK) {
		log_error("tunnel: %s: cannot read the cluster key",
		    p->cluster_key);
		goto out;
	}
	if (ssh_userauth_publickey(t->s, NULL, key) != SSH_AUTH_SUCCESS) {
		snprintf(t->last_error, sizeof(t->last_error), "the relay "
		    "refused the cluster key");
		log_error("tunnel: the relay refused cluster %s's key: %s",
		    p->cluster_id, ssh_get_error(t->s));
		goto out;
	}
	fd = ssh_get_fd(t->s);
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	on = 30;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &on, sizeof(on));
	on = 10;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &on, sizeof(on));
	on = 3;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &on, sizeof(on));
	ssh_set_message_callback(t->s, tunnel_message, t);
	ssh_set_blocking(t->s, 0);
	if ((t->sev = ssh_event_new()) == NULL ||
	    ssh_event_add_session(t->sev, t->s) != SSH_OK)
		goto out;
	/* libssh closes its socket when the connection fails; ours stays. */
	if ((t->evfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
		goto out;
	t->ev_read = event_new(t->base, t->evfd, EV_READ | EV_PERSIST,
	    tunnel_io, t);
	t->ev_write = event_new(t->base, t->evfd, EV_WRITE, tunnel_io, t);
	t->ev_kick = event_new(t->base, -1, 0, tunnel_io, t);
	if (t->ev_read == NULL || t->ev_write == NULL || t->ev_kick == NULL)
		goto out;
	rc = 0;
out:
	ssh_key_free(key);
	return rc;
}

static void
tunnel_attempt(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;

	(void)fd;
	(void)what;
	if (t->state == TS_UP)
		return;
	if (tunnel_connect(t) == -1) {
		tunnel_down(t, "connect failed");
		return;
	}
	tunnel_set_state(t, TS_UP);
	t->up_since = clock_mono_ms();
	event_add(t->ev_read, NULL);
	log_info("tunnel: up to relay %s:%u as cluster %s",
	    t->pol->relay_host, t->pol->relay_port, t->pol->cluster_id);
	/* Data may already sit in libssh's buffers. */
	tunnel_io(-1, EV_READ, t);
}

struct tunnel *
tunnel_new(struct event_base *base, const struct policy *pol,
    tunnel_channel_cb on_channel, tunnel_poll_cb on_poll,
    tunnel_down_cb on_down, void *arg)
{
	struct tunnel *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->base = base;
	t->pol = pol;
	t->on_channel = on_channel;
	t->on_poll = on_poll;
	t->on_down = on_down;
	t->arg = arg;
	t->backoff_ms = TUNNEL_BACKOFF_MIN_MS;
	t->evfd = -1;
	t->since = clock_now();
	if ((t->ev_retry = evtimer_new(base, tunnel_attempt, t)) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

void
tunnel_start(struct tunnel *t)
{
	struct timeval now = { 0, 0 };

	event_add(t->ev_retry, &now);
}

void
tunnel_set_policy(struct tunnel *t, const struct policy *pol)
{
	t->pol = pol;
}

const char *
tunnel_last_error(const struct tunnel *t, time_t *since)
{
	*since = t->since;
	return t->last_error;
}

ssh_session
tunnel_session(struct tunnel *t)
{
	return t->state == TS_UP ? t->s : NULL;
}

int
tunnel_is_up(const struct tunnel *t)
{
	return t->state == TS_UP;
}

void
tunnel_free(struct tunnel *t)
{
	if (t == NULL)
		return;
	if (t->state == TS_UP)
		t->on_down(t->arg);
	if (t->sev != NULL) {
		ssh_event_remove_session(t->sev, t->s);
		ssh_event_free(t->sev);
	}
	if (t->s != NULL) {
		ssh_disconnect(t->s);
		ssh_free(t->s);
	}
	if (t->ev_read != NULL)
		event_free(t->ev_read);
	if (t->ev_write != NULL)
		event_free(t->ev_write);
	if (t->ev_kick != NULL)
		event_free(t->ev_kick);
	if (t->evfd != -1)
		close(t->evfd);
	event_free(t->ev_retry);
	free(t);
}
