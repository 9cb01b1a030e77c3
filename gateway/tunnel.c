/*
 * tunnel.c - the outbound connection to one relay.
 *
 * Everything is non-blocking and driven by libevent readiness on the
 * session's socket: the connection, key exchange and login as well as
 * the traffic once up, so that a relay that does not answer stalls
 * neither the tunnels to the other relays nor the sessions on them
 * (only the name lookup, inside libssh, can block).  An attempt not
 * logged in after TUNNEL_CONNECT_TIMEOUT is given up.  When the tunnel
 * drops, the next attempt waits an exponentially growing, jittered
 * delay, capped at TUNNEL_BACKOFF_MAX_MS.
 *
 * Once up, the tunnel is watched for silence (lib/keepalive.h): after
 * keepalive_interval without a byte from the relay the gateway sends
 * keepalive@openssh.com asking for a reply, as OpenSSH's
 * ServerAliveInterval does (the relay's libssh answers it by itself),
 * and after keepalive_interval x keepalive_count of silence it drops the
 * tunnel and connects again.  TCP keepalive stays on underneath, but it
 * cannot bound this: it sends no probe while data waits to be
 * acknowledged, and a silent link holds just such data.
 */
#include "gateway/tunnel.h"

#include <sys/socket.h>
#include <sys/random.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libssh/callbacks.h>
#include <libssh/server.h>

#include "gateway/keyagent.h"
#include "lib/clock.h"
#include "lib/keepalive.h"
#include "lib/log.h"

#define TUNNEL_BACKOFF_MIN_MS	250
#define TUNNEL_BACKOFF_MAX_MS	30000
#define TUNNEL_STABLE_MS	10000	/* up this long: reset the backoff */
#define TUNNEL_CONNECT_TIMEOUT	10	/* seconds to be logged in */
#define TUNNEL_CONNECT_WITHIN	"10 s"	/* the same, for people */
#define TUNNEL_KEX	"curve25519-sha256,curve25519-sha256@libssh.org"

enum tunnel_state {
	TS_IDLE,	/* waiting for the next attempt */
	TS_CONNECTING,	/* TCP, banner and key exchange under way */
	TS_LOGIN,	/* logging in with the cluster key */
	TS_UP		/* logged in, channels flow */
};

struct tunnel {
	struct event_base	*base;
	const struct policy	*pol;
	char			 host[256];	/* the relay, as configured */
	uint16_t		 port;
	char			 name[300];	/* HOST:PORT, for people */
	enum tunnel_state	 state;
	ssh_session		 s;
	ssh_event		 sev;
	struct keyagent		*ka;		/* holds the cluster key */
	struct event		*ev_read;
	struct event		*ev_write;
	struct event		*ev_kick;	/* flush now, no epoll round */
	int			 kicked;	/* kicks since the last readiness */
	struct event		*ev_retry;
	struct event		*ev_timeout;	/* the attempt takes too long */
	struct event		*ev_keepalive;	/* the next silence check */
	int			 evfd;		/* our dup of libssh's socket */
	char			 last_error[256];	/* why it is down */
	time_t			 since;		/* up or down since (wall) */
	uint64_t		 backoff_ms;
	uint64_t		 up_since;	/* clock_mono_ms() */
	tunnel_channel_cb	 on_channel;
	tunnel_poll_cb		 on_poll;
	tunnel_down_cb		 on_down;
	void			*arg;
};

static void	tunnel_attempt(evutil_socket_t, short, void *);
static void	tunnel_io(evutil_socket_t, short, void *);

static const char *
state_name(enum tunnel_state st)
{
	static const char *const names[] = { "idle", "connecting", "login",
	    "up" };

	return names[st];
}

/* Every change goes through here; "since" counts from going up or down. */
static void
tunnel_set_state(struct tunnel *t, enum tunnel_state st)
{
	if ((st == TS_UP) != (t->state == TS_UP))
		t->since = clock_now();
	log_debug("tunnel %s: %s -> %s", t->name, state_name(t->state),
	    state_name(st));
	t->state = st;
}

/* Why the attempt or the tunnel failed, for porthole status. */
static void	tunnel_error(struct tunnel *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
tunnel_error(struct tunnel *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->last_error, sizeof(t->last_error), fmt, ap);
	va_end(ap);
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
	log_info("tunnel %s: next attempt in %llu ms", t->name,
	    (unsigned long long)ms);
	event_add(t->ev_retry, &tv);
	t->backoff_ms *= 2;
	if (t->backoff_ms > TUNNEL_BACKOFF_MAX_MS)
		t->backoff_ms = TUNNEL_BACKOFF_MAX_MS;
}

/* Release the connection and everything watching it. */
static void
tunnel_close(struct tunnel *t)
{
	if (t->ev_read != NULL)
		event_free(t->ev_read);
	if (t->ev_write != NULL)
		event_free(t->ev_write);
	if (t->ev_kick != NULL)
		event_free(t->ev_kick);
	t->ev_read = t->ev_write = t->ev_kick = NULL;
	event_del(t->ev_timeout);
	event_del(t->ev_keepalive);
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
}

/*
 * The tunnel or the attempt ended (why: for the log and for porthole
 * status); connect again after the backoff.
 */
static void
tunnel_down(struct tunnel *t, const char *reason)
{
	char why[sizeof(t->last_error)];

	/* reason may be last_error itself. */
	snprintf(why, sizeof(why), "%s", reason);
	tunnel_error(t, "%s", why);
	if (t->state == TS_UP) {
		log_warn("tunnel %s: down: %s", t->name, why);
		if (clock_mono_ms() - t->up_since >= TUNNEL_STABLE_MS)
			t->backoff_ms = TUNNEL_BACKOFF_MIN_MS;
		t->on_down(t, t->arg);
	} else
		log_warn("tunnel %s: %s", t->name, why);
	tunnel_close(t);
	tunnel_set_state(t, TS_IDLE);
	tunnel_schedule(t);
}

/*
 * libssh asks to be polled for writability after every send, even a
 * complete one, and sends its next packet only after such a poll.  So
 * the tunnel is serviced once more at the end of this loop iteration
 * (libssh's poll then finds the socket writable), and waits for EV_WRITE
 * only if output is still queued after that: the socket is full.  While
 * connecting, the same request says that the connection is not yet made.
 */
void
tunnel_want_write(struct tunnel *t)
{
	if (t->state == TS_IDLE)
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
		log_warn("tunnel %s: refused a request of type %d from the "
		    "relay", t->name, ssh_message_type(msg));
		return 1;
	}
	dest = ssh_message_channel_request_open_destination(msg);
	if (dest == NULL || strcmp(dest, t->pol->cluster_id) != 0 ||
	    ssh_message_channel_request_open_destination_port(msg) != 22) {
		log_warn("tunnel %s: refused a channel for '%.64s' port %d",
		    t->name, dest == NULL ? "?" : dest,
		    ssh_message_channel_request_open_destination_port(msg));
		return 1;
	}
	orig = ssh_message_channel_request_open_originator(msg);
	if ((ch = ssh_message_channel_request_open_reply_accept(msg)) == NULL) {
		log_warn("tunnel %s: cannot accept a channel: %s", t->name,
		    ssh_get_error(t->s));
		return 0;
	}
	t->on_channel(ch, orig == NULL ? "?" : orig,
	    ssh_message_channel_request_open_originator_port(msg), t->arg);
	return 0;
}

/* Compare the relay's host key with the pinned one; no trust on first use. */
static int
tunnel_check_host_key(struct tunnel *t)
{
	ssh_key	 srv = NULL, pinned = NULL;
	int	 rc = -1;

	if (ssh_get_server_publickey(t->s, &srv) != SSH_OK) {
		tunnel_error(t, "the relay sent no host key");
		goto out;
	}
	if (ssh_pki_import_pubkey_file(t->pol->relay_host_key, &pinned) !=
	    SSH_OK) {
		tunnel_error(t, "%s: cannot read the pinned relay host key",
		    t->pol->relay_host_key);
		goto out;
	}
	if (ssh_key_cmp(srv, pinned, SSH_KEY_CMP_PUBLIC) != 0) {
		tunnel_error(t, "the relay's host key does not match %s",
		    t->pol->relay_host_key);
		log_error("tunnel %s: the relay presented a host key that does "
		    "not match %s; refusing to connect", t->name,
		    t->pol->relay_host_key);
		goto out;
	}
	rc = 0;
out:
	ssh_key_free(srv);
	ssh_key_free(pinned);
	return rc;
}

/* Look at the silence again in ms. */
static void
tunnel_keepalive_in(struct tunnel *t, uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	event_add(t->ev_keepalive, &tv);
}

/*
 * The silence check (see the top of the file).  libssh sends a global
 * request only once the answer to the previous one has been collected,
 * and collecting it is what a call does when one is outstanding: the
 * second call sends when the first only collected.  A request still
 * unanswered sends nothing new; the silence then runs to the drop.
 */
static void
tunnel_keepalive(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel	*t = arg;
	uint64_t	 silent, next;
	char		 why[128];

	(void)fd;
	(void)what;
	if (t->state != TS_UP)
		return;
	if (keepalive_silence(t->evfd, &silent) == -1) {
		tunnel_down(t, "the connection's socket is gone");
		return;
	}
	switch (keepalive_judge(t->pol->keepalive_interval,
	    t->pol->keepalive_count, silent, &next)) {
	case KEEPALIVE_DROP:
		snprintf(why, sizeof(why), "nothing heard from the relay for "
		    "%llu s, keepalive_interval %llu s x keepalive_count %llu",
		    (unsigned long long)(silent / 1000),
		    (unsigned long long)t->pol->keepalive_interval,
		    (unsigned long long)t->pol->keepalive_count);
		tunnel_down(t, why);
		return;
	case KEEPALIVE_SEND:
		log_debug("tunnel %s: silent for %llu ms: keepalive", t->name,
		    (unsigned long long)silent);
		(void)ssh_send_keepalive(t->s);
		(void)ssh_send_keepalive(t->s);
		tunnel_keepalive_in(t, next);
		/* Sending polled the session: service it as a poll would. */
		tunnel_io(-1, EV_WRITE, t);
		return;
	case KEEPALIVE_WAIT:
		tunnel_keepalive_in(t, next);
		return;
	}
}

/* Logged in: traffic flows, silence is watched. */
static void
tunnel_up(struct tunnel *t)
{
	int fd = ssh_get_fd(t->s), on = 1;

	event_del(t->ev_timeout);
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	on = 30;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &on, sizeof(on));
	on = 10;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &on, sizeof(on));
	on = 3;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &on, sizeof(on));
	ssh_set_message_callback(t->s, tunnel_message, t);
	if ((t->sev = ssh_event_new()) == NULL ||
	    ssh_event_add_session(t->sev, t->s) != SSH_OK) {
		tunnel_down(t, "out of memory");
		return;
	}
	t->last_error[0] = '\0';
	tunnel_set_state(t, TS_UP);
	t->up_since = clock_mono_ms();
	log_info("tunnel %s: up as cluster %s", t->name, t->pol->cluster_id);
	tunnel_keepalive_in(t, t->pol->keepalive_interval * 1000);
	/* Data may already sit in libssh's buffers. */
	tunnel_io(-1, EV_READ, t);
}

/* Connecting and logging in, one step per readiness. */
static void
tunnel_progress(struct tunnel *t)
{
	int rc;

	if (t->state == TS_CONNECTING) {
		rc = ssh_connect(t->s);
		if (rc == SSH_AGAIN) {
			tunnel_want_write(t);
			return;
		}
		if (rc != SSH_OK) {
			tunnel_error(t, "cannot connect: %s",
			    ssh_get_error(t->s));
			tunnel_down(t, t->last_error);
			return;
		}
		if (tunnel_check_host_key(t) == -1) {
			tunnel_down(t, t->last_error);
			return;
		}
		tunnel_set_state(t, TS_LOGIN);
	}
	/* The agent signs; the key is never in this process. */
	rc = ssh_userauth_agent(t->s, NULL);
	if (rc == SSH_AUTH_AGAIN) {
		tunnel_want_write(t);
		return;
	}
	if (rc != SSH_AUTH_SUCCESS) {
		log_error("tunnel %s: the relay refused cluster %s's key: %s",
		    t->name, t->pol->cluster_id, ssh_get_error(t->s));
		tunnel_down(t, "the relay refused the cluster key");
		return;
	}
	tunnel_up(t);
}

static void
tunnel_io(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;

	(void)what;
	if (t->state == TS_IDLE)
		return;
	if (fd != -1)		/* readiness, not a kick */
		t->kicked = 0;
	if (t->state != TS_UP) {
		tunnel_progress(t);
		return;
	}
	if (ssh_event_dopoll(t->sev, 0) == SSH_ERROR ||
	    (ssh_get_status(t->s) & (SSH_CLOSED | SSH_CLOSED_ERROR))) {
		tunnel_down(t, ssh_get_error(t->s)[0] != '\0' ?
		    ssh_get_error(t->s) : "connection closed by the relay");
		return;
	}
	t->on_poll(t, t->arg);
	tunnel_want_write(t);
}

static void
tunnel_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;

	(void)fd;
	(void)what;
	if (t->state == TS_CONNECTING)
		tunnel_down(t, "cannot connect: no answer within "
		    TUNNEL_CONNECT_WITHIN);
	else if (t->state == TS_LOGIN)
		tunnel_down(t, "the relay did not complete the login within "
		    TUNNEL_CONNECT_WITHIN);
}

/* Start an attempt: options, the cluster key, a non-blocking connect. */
static int
tunnel_begin(struct tunnel *t)
{
	const struct policy	*p = t->pol;
	struct timeval		 tv = { TUNNEL_CONNECT_TIMEOUT, 0 };
	unsigned int		 port = t->port;
	char			 err[256];
	int			 no = 0, on = 1, fd, afd;

	if ((t->s = ssh_new()) == NULL) {
		tunnel_error(t, "out of memory");
		return -1;
	}
	if (ssh_options_set(t->s, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    ssh_options_set(t->s, SSH_OPTIONS_HOST, t->host) < 0 ||
	    ssh_options_set(t->s, SSH_OPTIONS_PORT, &port) < 0 ||
	    ssh_options_set(t->s, SSH_OPTIONS_USER, p->cluster_id) < 0 ||
	    ssh_options_set(t->s, SSH_OPTIONS_KEY_EXCHANGE, TUNNEL_KEX) < 0 ||
	    ssh_options_set(t->s, SSH_OPTIONS_HOSTKEYS, "ssh-ed25519") < 0 ||
	    ssh_options_set(t->s, SSH_OPTIONS_NODELAY, &on) < 0) {
		tunnel_error(t, "cannot set options: %s", ssh_get_error(t->s));
		return -1;
	}
	if ((afd = keyagent_connect(t->ka, err, sizeof(err))) == -1) {
		tunnel_error(t, "the cluster key's agent: %s", err);
		return -1;
	}
	if (ssh_set_agent_socket(t->s, afd) != SSH_OK) {
		close(afd);
		tunnel_error(t, "the cluster key's agent: %s",
		    ssh_get_error(t->s));
		return -1;
	}
	ssh_set_blocking(t->s, 0);
	if (ssh_connect(t->s) == SSH_ERROR ||
	    (fd = ssh_get_fd(t->s)) == SSH_INVALID_SOCKET) {
		tunnel_error(t, "cannot connect: %s", ssh_get_error(t->s));
		return -1;
	}
	/* libssh closes its socket when the connection fails; ours stays. */
	if ((t->evfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		tunnel_error(t, "cannot connect: out of descriptors");
		return -1;
	}
	t->ev_read = event_new(t->base, t->evfd, EV_READ | EV_PERSIST,
	    tunnel_io, t);
	t->ev_write = event_new(t->base, t->evfd, EV_WRITE, tunnel_io, t);
	t->ev_kick = event_new(t->base, -1, 0, tunnel_io, t);
	if (t->ev_read == NULL || t->ev_write == NULL || t->ev_kick == NULL) {
		tunnel_error(t, "out of memory");
		return -1;
	}
	event_add(t->ev_read, NULL);
	event_add(t->ev_timeout, &tv);
	tunnel_set_state(t, TS_CONNECTING);
	return 0;
}

static void
tunnel_attempt(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;

	(void)fd;
	(void)what;
	if (t->state != TS_IDLE)
		return;
	if (tunnel_begin(t) == -1) {
		tunnel_down(t, t->last_error);
		return;
	}
	tunnel_progress(t);
}

struct tunnel *
tunnel_new(struct event_base *base, const struct policy *pol, size_t relay,
    struct keyagent *ka, tunnel_channel_cb on_channel, tunnel_poll_cb on_poll,
    tunnel_down_cb on_down, void *arg)
{
	const struct policy_target	*r = &pol->relays[relay];
	struct tunnel			*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->base = base;
	t->pol = pol;
	t->ka = ka;
	snprintf(t->host, sizeof(t->host), "%s", r->host);
	t->port = r->port;
	snprintf(t->name, sizeof(t->name), strchr(r->host, ':') != NULL ?
	    "[%s]:%u" : "%s:%u", r->host, (unsigned int)r->port);
	t->on_channel = on_channel;
	t->on_poll = on_poll;
	t->on_down = on_down;
	t->arg = arg;
	t->backoff_ms = TUNNEL_BACKOFF_MIN_MS;
	t->evfd = -1;
	t->since = clock_now();
	t->ev_retry = evtimer_new(base, tunnel_attempt, t);
	t->ev_timeout = evtimer_new(base, tunnel_timeout, t);
	t->ev_keepalive = evtimer_new(base, tunnel_keepalive, t);
	if (t->ev_retry == NULL || t->ev_timeout == NULL ||
	    t->ev_keepalive == NULL) {
		tunnel_free(t);
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

/*
 * Keepalives follow the new policy at once: the next check is made now
 * and spaced by the new interval.
 */
void
tunnel_set_policy(struct tunnel *t, const struct policy *pol)
{
	t->pol = pol;
	if (t->state == TS_UP)
		tunnel_keepalive_in(t, 0);
}

const char *
tunnel_last_error(const struct tunnel *t, time_t *since)
{
	*since = t->since;
	return t->last_error;
}

const char *
tunnel_name(const struct tunnel *t)
{
	return t->name;
}

int
tunnel_is_to(const struct tunnel *t, const struct policy_target *r)
{
	return t->port == r->port && strcasecmp(t->host, r->host) == 0;
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
		t->on_down(t, t->arg);
	if (t->ev_timeout != NULL && t->ev_keepalive != NULL)
		tunnel_close(t);
	if (t->ev_retry != NULL)
		event_free(t->ev_retry);
	if (t->ev_timeout != NULL)
		event_free(t->ev_timeout);
	if (t->ev_keepalive != NULL)
		event_free(t->ev_keepalive);
	free(t);
}
