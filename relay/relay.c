/*
 * relay.c - the relay's connections: key exchange, authentication of
 * gateways (by cluster key) and engineers (by vendor-CA certificate), and
 * routing of engineer channels into cluster tunnels.
 *
 * Every connection is a non-blocking libssh session with its own
 * ssh_event, driven by libevent readiness on its socket.  Objects are
 * never freed inside a libssh callback: a closing connection is marked
 * dead and freed by a deferred event.
 *
 * Before its login a connection is unauthenticated, and anyone can open
 * one.  Those are bounded as sshd bounds them (max_startups, with random
 * early drop, and max_per_source) and closed after login_grace; a refused
 * connection is closed at once and counted, not logged line by line, and
 * so is a failed login (lib/burst.h: the first of a burst in full, the
 * rest in one line when it ends).
 * When accept() fails (descriptors used up) the listener is paused on a
 * timer rather than left armed on a socket that stays readable.
 *
 * A tunnel is watched for silence as the gateway watches its end
 * (lib/keepalive.h): after keepalive_interval without a byte from the
 * gateway the relay sends keepalive@openssh.com asking for a reply, as
 * sshd's ClientAliveInterval does, and after keepalive_interval x
 * keepalive_count of silence it closes the tunnel, so that the cluster
 * goes offline and no engineer is routed into a tunnel that leads
 * nowhere.  An engineer who asks for an offline or unknown cluster is
 * told so by a disconnect their ssh prints (lib/sshrefuse.h).
 *
 * A gateway logs in as its cluster's id with the cluster's key.  The
 * clusters are relay.conf's [cluster] sections and the store's cluster
 * registry (`porthole-relay cluster add`), which the relays of a fleet
 * share: the relay keeps a copy of the registry, reads the changes
 * every RELAY_MSG_POLL_MS, and asks the store at a login of a cluster
 * it has not seen.  While the store is away the copy answers, for as
 * long as it stays away; a cluster removed, or whose key changed,
 * loses its tunnel as soon as the change is read.  relay.conf decides
 * for the clusters it names; one it names with another key than the
 * registry's is refused until the two agree.
 */
#include "relay/relay.h"

#include <sys/queue.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/listener.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <libssh/callbacks.h>

#include "lib/burst.h"
#include "lib/clock.h"
#include "lib/daemon.h"
#include "lib/idmap.h"
#include "lib/keepalive.h"
#include "lib/krl.h"
#include "lib/log.h"
#include "lib/sshcert.h"
#include "lib/sshrefuse.h"
#include "relay/analysis.h"
#include "relay/mc.h"
#include "relay/splice.h"
#include "relay/store.h"

#define RELAY_MAX_AUTH_FAIL	6	/* failed attempts before disconnect */
#define RELAY_ID_MAX		64	/* a cluster id's length */
#define RELAY_MAX_SPLICES	64	/* channels per engineer connection */

#define RELAY_KEX	"curve25519-sha256,curve25519-sha256@libssh.org"
#define RELAY_RETRY_MS	20	/* pump again after a stalled write */
#define RELAY_PAUSE_MIN_MS	100	/* listener paused after accept() failed */
#define RELAY_PAUSE_MAX_MS	1000	/* ... growing to this while it fails */
#define RELAY_BURST_TICK_MS	1000	/* bursts are looked at this often */
#define RELAY_OWN_FDS		16	/* descriptors the relay holds itself */
#define RELAY_MSG_POLL_MS	2000	/* how often the store is asked for
					   new messages */
#define RELAY_PUBKEY_TYPES \
	"ssh-ed25519-cert-v01@openssh.com," \
	"ecdsa-sha2-nistp256-cert-v01@openssh.com," \
	"rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com," \
	"ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256"

enum rconn_state {
	RC_KEX,		/* key exchange in progress */
	RC_AUTH,	/* waiting for a successful login */
	RC_TUNNEL,	/* a gateway's tunnel for one cluster */
	RC_ENGINEER,	/* an engineer's jump session */
	RC_DEAD		/* closed, waiting to be freed */
};

struct splice_link {
	struct splice		*sp;
	TAILQ_ENTRY(splice_link) entry;
};
TAILQ_HEAD(splice_list, splice_link);

/* One TCP connection to the relay. */
struct rconn {
	struct relay		*r;
	ssh_session		 s;
	ssh_event		 sev;
	int			 fd;
	int			 own_fd;	/* fd not (yet) given to libssh */
	enum rconn_state	 state;
	struct event		*ev_read;
	struct event		*ev_write;
	struct event		*ev_kick;	/* flush now, no epoll round */
	int			 kicked;	/* kicks since the last readiness */
	struct event		*ev_grace;
	struct event		*ev_keepalive;	/* RC_TUNNEL: silence check */
	char			 peer[64];	/* "addr:port" for logs */
	char			 peer_addr[INET6_ADDRSTRLEN];
	int			 peer_port;
	char			 who[SSHCERT_MAX_STR + 80];	/* for logs */
	char			 principal[SSHCERT_MAX_STR + 1];
	/* RC_TUNNEL (and during a gateway's login): */
	char			 cluster[RELAY_ID_MAX + 1];
	struct relay_cluster	 lic;		/* its license, for mc */
	char			*cluster_key;	/* base64 of its key */
	int			 from_conf;	/* relay.conf names it (else
						   the registry) */
	struct sshcert		*cert;		/* RC_ENGINEER: its login's */
	int			 auth_failures;
	struct splice_list	 splices;	/* splices with a side here */
	struct mc		*mc;		/* RC_TUNNEL: control channel */
	struct ssh_server_callbacks_struct cb;
	TAILQ_ENTRY(rconn)	 entry;
	TAILQ_ENTRY(rconn)	 preauth_entry;	/* RC_KEX, RC_AUTH */
};
TAILQ_HEAD(rconn_list, rconn);

/* An entry of the cluster registry, as the store had it when read. */
struct regent {
	char			 id[RELAY_ID_MAX + 1];
	char			*key;		/* base64 of the key */
	struct relay_cluster	 lic;
};

/*
 * Log lines that could repeat without bound, counted in bursts
 * (lib/burst.h): a refused connection and a failed accept() are one
 * kind each, whatever their source; a failed login is a kind per user
 * name and address, so each engineer's first refusal is seen.
 */
#define RELAY_BURST_REFUSED	"connection refused"
#define RELAY_BURST_ACCEPT	"accept failed"
#define RELAY_BURST_LOGIN	"login refused"

struct relay {
	struct event_base	*base;
	struct relay_conf	*conf;
	struct evconnlistener	*listener;
	ssh_bind		 bind;
	uint8_t			 ca_key[32];
	struct krl		*krl;		/* revoked_keys, or NULL */
	char			**conf_keys;	/* base64 of each [cluster]'s
						   key, parallel to
						   conf->clusters */
	struct idmap		*tunnels;	/* cluster id -> its tunnel */
	struct idmap		*registry;	/* cluster id -> struct regent:
						   the store's registry as
						   last read */
	int64_t			 reg_change;	/* the newest change read */
	char			 self[300];	/* the relay's name (HOST:PORT) */
	time_t			 beat;		/* the last heartbeat */
	struct rconn_list	 conns;
	struct rconn_list	 dead;
	struct rconn_list	 preauth;	/* unauthenticated, oldest first */
	size_t			 npreauth;
	uint64_t		 nofile;	/* RLIMIT_NOFILE at start */
	struct event		*ev_resume;	/* re-enables the listener */
	unsigned		 pause_ms;	/* the next pause after a failure */
	int			 accept_errno;	/* the latest failure */
	struct burst		*bursts;	/* refusals, failures, logins */
	struct event		*ev_burst;	/* ticks them while one lasts */
	uint64_t		 refused_startups;	/* since the last line */
	uint64_t		 refused_source;
	char			 refused_last[INET6_ADDRSTRLEN];
	struct store		*store;		/* NULL: no database */
	unsigned		 store_gen;	/* the store's connection that
					   knows this relay's tunnels */
	struct analysis		*analysis;	/* with the store */
	struct event		*ev_offline;	/* the offline rule's minute */
	time_t			 started;
	struct event		*ev_reap;
	struct event		*ev_retry;	/* a splice stalled in a rekey */
	struct event		*ev_msgs;	/* polls the store for messages */
	uint64_t		 next_splice_id;
};

static void	rconn_io(evutil_socket_t, short, void *);
static void	rconn_pump(struct rconn *);
static void	rconn_close(struct rconn *, const char *);
static int	relay_burst(struct relay *, const char *, const char *,
		    const char *);

static const char *
state_name(enum rconn_state st)
{
	static const char *names[] = { "kex", "auth", "tunnel", "engineer",
	    "dead" };

	return names[st];
}

/* Is a connection in this state unauthenticated? */
static int
state_preauth(enum rconn_state st)
{
	return st == RC_KEX || st == RC_AUTH;
}

/*
 * Every state change goes through here, so each one is logged, and a
 * connection leaves the unauthenticated count the moment its login is
 * accepted or it closes.
 */
static void
rconn_set_state(struct rconn *c, enum rconn_state st)
{
	log_debug("%s: %s -> %s", c->peer, state_name(c->state),
	    state_name(st));
	if (state_preauth(c->state) && !state_preauth(st)) {
		TAILQ_REMOVE(&c->r->preauth, c, preauth_entry);
		c->r->npreauth--;
	}
	c->state = st;
}

/*
 * libssh closes the socket itself when the connection fails (end of
 * file, a failed write, a DISCONNECT), in whichever poll or write of
 * whichever connection noticed it.  From then on the descriptor number
 * can be handed out again, so the connection's events must be removed
 * before anything else is accepted: every path on which libssh touches a
 * session ends in rconn_update_write(), which asks this.
 */
static int
rconn_sock_closed(struct rconn *c)
{
	return !c->own_fd && c->s != NULL &&
	    ssh_get_fd(c->s) == SSH_INVALID_SOCKET;
}

/* Why libssh gave up on c, for the log. */
static const char *
rconn_error(struct rconn *c)
{
	const char *e = ssh_get_error(c->s);

	return e != NULL && e[0] != '\0' ? e : "connection closed";
}

/*
 * After every send libssh asks to be polled for writability again, even
 * when it sent everything, and it sends the next packet only after such a
 * poll.  Rather than a round through epoll for every packet (two
 * epoll_ctl calls and a wake-up), the connection is pumped once more at
 * the end of this loop iteration: libssh's own poll then finds the socket
 * writable and flushes or clears its request.  Only if that leaves output
 * queued (the socket is full) does the connection wait for EV_WRITE.
 */
static void
rconn_update_write(struct rconn *c)
{
	if (c->state == RC_DEAD || c->s == NULL)
		return;
	if (rconn_sock_closed(c)) {
		rconn_close(c, rconn_error(c));
		return;
	}
	if (!(ssh_get_poll_flags(c->s) & SSH_WRITE_PENDING)) {
		c->kicked = 0;
		event_del(c->ev_write);
		return;
	}
	if (c->kicked < 1) {
		c->kicked++;
		event_active(c->ev_kick, EV_WRITE, 0);
	} else
		event_add(c->ev_write, NULL);
}

static void
rconn_add_splice(struct rconn *c, struct splice *sp)
{
	struct splice_link *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal("out of memory");
	l->sp = sp;
	sp->refs++;
	TAILQ_INSERT_TAIL(&c->splices, l, entry);
}

/* Drop c's link to sp; the last link frees it. */
static void
rconn_unlink_splice(struct rconn *c, struct splice *sp)
{
	struct splice_link *l;

	TAILQ_FOREACH(l, &c->splices, entry) {
		if (l->sp == sp) {
			TAILQ_REMOVE(&c->splices, l, entry);
			free(l);
			if (--sp->refs == 0)
				splice_free(sp);
			return;
		}
	}
}

static size_t
rconn_nsplices(struct rconn *c)
{
	struct splice_link	*l;
	size_t			 n = 0;

	TAILQ_FOREACH(l, &c->splices, entry)
		n++;
	return n;
}

/*
 * A splice stalled in a key re-exchange: libssh took nothing although
 * the window was open, and the end of the rekey may come with no more
 * traffic to wake us.  Pump every connection again shortly.
 */
static void
relay_retry_soon(struct relay *r)
{
	struct timeval tv = { 0, RELAY_RETRY_MS * 1000 };

	if (!evtimer_pending(r->ev_retry, NULL))
		evtimer_add(r->ev_retry, &tv);
}

static void
relay_retry(evutil_socket_t fd, short what, void *arg)
{
	struct relay	*r = arg;
	struct rconn	*c, *next;

	(void)fd;
	(void)what;
	for (c = TAILQ_FIRST(&r->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state == RC_TUNNEL || c->state == RC_ENGINEER)
			rconn_pump(c);
	}
}

/* Pump every splice with a side on c; release the finished ones. */
static void
rconn_pump(struct rconn *c)
{
	struct splice_link	*l, *next;
	struct splice		*sp;
	struct rconn		*other[2];
	int			 i, done;

	for (l = TAILQ_FIRST(&c->splices); l != NULL; l = next) {
		next = TAILQ_NEXT(l, entry);
		sp = l->sp;
		other[0] = sp->end[0].conn;
		other[1] = sp->end[1].conn;
		done = splice_pump(sp);
		if (!done && sp->stalled)
			relay_retry_soon(c->r);
		if (done) {
			/* A refusal was logged when it was made. */
			if (!sp->refusal)
				log_info("session %llu to %s closed: %llu bytes "
				    "from engineer, %llu bytes from cluster",
				    (unsigned long long)sp->id, sp->host,
				    (unsigned long long)
				    sp->end[SPLICE_ENGINEER].bytes,
				    (unsigned long long)
				    sp->end[SPLICE_TUNNEL].bytes);
			for (i = 0; i < 2; i++)
				if (other[i] != NULL && other[i] != c)
					rconn_unlink_splice(other[i], sp);
			rconn_unlink_splice(c, sp);
		}
		for (i = 0; i < 2; i++)
			if (other[i] != NULL && other[i] != c)
				rconn_update_write(other[i]);
	}
	if (c->mc != NULL && mc_pump(c->mc)) {
		mc_free(c->mc);
		c->mc = NULL;
		log_info("%s: control channel closed", c->who);
	} else if (c->mc != NULL && mc_more(c->mc)) {
		/*
		 * Bytes libssh holds raise no socket event: come back as a
		 * timeout, after the loop's next poll (an active event would
		 * run before any other connection's).
		 */
		struct timeval now = { 0, 0 };

		event_add(c->ev_kick, &now);
	}
	rconn_update_write(c);
}

/* Look at a tunnel's silence again in ms. */
static void
rconn_keepalive_in(struct rconn *c, uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	event_add(c->ev_keepalive, &tv);
}

/*
 * A tunnel's silence check.  libssh sends a global request only once the
 * answer to the one before has been collected, which is what a call does
 * while one is outstanding: the second call sends when the first only
 * collected, and a request still unanswered sends nothing new.
 */
static void
rconn_keepalive(evutil_socket_t fd, short what, void *arg)
{
	struct rconn		*c = arg;
	const struct relay_conf	*conf = c->r->conf;
	uint64_t		 silent, next;
	char			 why[160];

	(void)fd;
	(void)what;
	if (c->state != RC_TUNNEL)
		return;
	if (rconn_sock_closed(c) ||
	    keepalive_silence(ssh_get_fd(c->s), &silent) == -1) {
		rconn_close(c, rconn_error(c));
		return;
	}
	switch (keepalive_judge(conf->keepalive_interval,
	    conf->keepalive_count, silent, &next)) {
	case KEEPALIVE_DROP:
		snprintf(why, sizeof(why), "nothing heard from the gateway for "
		    "%llu s, keepalive_interval %u s x keepalive_count %u",
		    (unsigned long long)(silent / 1000),
		    conf->keepalive_interval, conf->keepalive_count);
		rconn_close(c, why);
		return;
	case KEEPALIVE_SEND:
		(void)ssh_send_keepalive(c->s);
		(void)ssh_send_keepalive(c->s);
		rconn_keepalive_in(c, next);
		/* Sending polled the session: service it as a poll would. */
		rconn_io(-1, EV_WRITE, c);
		return;
	case KEEPALIVE_WAIT:
		rconn_keepalive_in(c, next);
		return;
	}
}

/*
 * The store's view of this relay's tunnels, made true: at the start
 * (whatever a crashed predecessor left behind) and whenever the store
 * connected again, having missed the tunnels that came and went while
 * it was away.  0, or -1 while the store cannot be written.
 */
static int
relay_store_sync(struct relay *r)
{
	struct rconn	*c;
	unsigned	 gen = store_generation(r->store);

	if (gen == r->store_gen || gen == 0)
		return 0;
	if (store_relay_started(r->store, r->self, clock_now()) == -1)
		return -1;
	TAILQ_FOREACH(c, &r->conns, entry)
		if (c->state == RC_TUNNEL && store_cluster_seen(r->store,
		    c->cluster, clock_now(), NULL, 1) == -1)
			return -1;
	r->store_gen = gen;
	r->beat = clock_now();
	return 0;
}

static void
regent_free(struct regent *e)
{
	if (e == NULL)
		return;
	free(e->key);
	free(e);
}

/* The registry's entry x, in the relay's copy (removed: out of it). */
static int
regent_put(struct relay *r, const struct store_registry *x)
{
	struct regent	*e, *old;
	const char	*b64;

	old = idmap_get(r->registry, x->id);
	if (x->removed != 0) {
		regent_free(idmap_del(r->registry, x->id));
		return 0;
	}
	/* The store checked both; a row edited by hand is left out. */
	if (strlen(x->id) > RELAY_ID_MAX ||
	    (b64 = strchr(x->key, ' ')) == NULL)
		return 0;
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->key = strdup(b64 + 1)) == NULL) {
		regent_free(e);
		return -1;
	}
	snprintf(e->id, sizeof(e->id), "%s", x->id);
	e->lic.id = e->id;
	e->lic.trial = x->trial;
	e->lic.license_expires = x->expires;
	e->lic.overage = x->overage;
	if (idmap_put(r->registry, e->id, e) == -1) {
		regent_free(e);
		return -1;
	}
	regent_free(old);
	return 0;
}

/* A cluster the relay had not seen, as the store has it now. */
static int
regent_fetched(const struct store_registry *x, void *arg)
{
	return regent_put(arg, x);
}

/* The changes read in one poll, and the clusters with a tunnel here. */
struct reg_poll {
	struct relay	*r;
	char		(*ids)[RELAY_ID_MAX + 1];
	size_t		 n, cap;
	int		 failed;
};

static int
reg_poll_row(const struct store_registry *x, void *arg)
{
	struct reg_poll	*p = arg;
	void		*ni;

	if (regent_put(p->r, x) == -1) {
		p->failed = 1;
		return -1;	/* read again from here next time */
	}
	p->r->reg_change = x->change;
	if (idmap_get(p->r->tunnels, x->id) == NULL)
		return 0;
	if (p->n == p->cap) {
		if ((ni = reallocarray(p->ids, p->cap + 16,
		    sizeof(*p->ids))) == NULL) {
			p->failed = 1;
			return -1;
		}
		p->ids = ni;
		p->cap += 16;
	}
	snprintf(p->ids[p->n++], sizeof(p->ids[0]), "%s", x->id);
	return 0;
}

static void	relay_recheck_tunnel(struct relay *, struct rconn *);

/*
 * Read what changed in the cluster registry since the last read, and
 * check the tunnels of the clusters that changed again.
 */
static void
relay_registry_poll(struct relay *r)
{
	struct reg_poll	 p = { r, NULL, 0, 0, 0 };
	struct rconn	*t;
	size_t		 i;

	(void)store_registry_changes(r->store, r->reg_change, reg_poll_row,
	    &p);
	if (p.failed)
		log_error("out of memory reading the cluster registry");
	for (i = 0; i < p.n; i++)
		if ((t = idmap_get(r->tunnels, p.ids[i])) != NULL)
			relay_recheck_tunnel(r, t);
	free(p.ids);
}

/*
 * Who cluster id is now, as relay.conf and the cluster registry say: 0
 * with its key (base64) and license, and whether relay.conf said so;
 * -1 with why.  relay.conf's [cluster] sections decide for their
 * clusters and the registry (the relay's copy) for the others; with
 * fetch (a login, an engineer's channel) the store is asked for a
 * cluster the copy lacks.  Without (checking every tunnel again after
 * a reload) the copy alone answers: it is at most one poll behind, and
 * the poll checks again the tunnels of what changed.  The two giving one cluster different keys is an
 * operator's mistake: refused, rather than guessed at.
 */
static int
relay_who(struct relay *r, const char *id, int fetch, const char **key,
    struct relay_cluster *lic, int *from_conf, char *why, size_t len)
{
	const struct relay_cluster	*cc;
	struct regent			*e;
	size_t				 idx;

	cc = relay_conf_cluster(r->conf, id, &idx);
	e = idmap_get(r->registry, id);
	/*
	 * Not in the copy: added a moment ago, perhaps.  For a cluster of
	 * relay.conf the answer only serves to see that the two agree, so
	 * a store that cannot answer leaves relay.conf to decide.
	 */
	if (e == NULL && fetch && r->store != NULL) {
		if (store_registry_get(r->store, id, regent_fetched, r) ==
		    -1 && cc == NULL) {
			snprintf(why, len, "unknown cluster '%s' (the cluster "
			    "registry cannot be read now)", id);
			return -1;
		}
		e = idmap_get(r->registry, id);
	}
	if (cc != NULL && e != NULL && strcmp(e->key, r->conf_keys[idx]) !=
	    0) {
		snprintf(why, len, "cluster '%s' has one key in relay.conf "
		    "(line %d) and another in the cluster registry: refused "
		    "until they agree", id, cc->line);
		return -1;
	}
	if (cc == NULL && e == NULL) {
		snprintf(why, len, "unknown cluster '%s'", id);
		return -1;
	}
	*key = cc != NULL ? r->conf_keys[idx] : e->key;
	*lic = cc != NULL ? *cc : e->lic;
	*from_conf = cc != NULL;
	return 0;
}

/* What a tunnel's cluster is now: its license, and where it is from. */
static void
rconn_set_license(struct rconn *c, const struct relay_cluster *lic,
    int from_conf)
{
	c->lic = *lic;
	/* Pointers into relay.conf would not survive a reload. */
	c->lic.id = c->cluster;
	c->lic.key = NULL;
	c->from_conf = from_conf;
}

/*
 * Messages are stored by another process (`porthole-relay update
 * publish`), or by another relay on the same store: ask the store for
 * its newest id every RELAY_MSG_POLL_MS, and let each control channel
 * offer what is new for its cluster or went unanswered.  The same poll
 * brings a PostgreSQL store that went away back.
 */
static void
relay_messages(evutil_socket_t fd, short what, void *arg)
{
	struct relay	*r = arg;
	struct rconn	*c, *next;
	int64_t		 newest;

	(void)fd;
	(void)what;
	if (r->store == NULL || store_message_max(r->store, &newest) == -1 ||
	    relay_store_sync(r) == -1)
		return;
	relay_registry_poll(r);
	if (clock_now() - r->beat >= STORE_RELAY_BEAT &&
	    store_relay_alive(r->store, clock_now()) == 0)
		r->beat = clock_now();
	for (c = TAILQ_FIRST(&r->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state == RC_TUNNEL && c->mc != NULL &&
		    mc_tick(c->mc, newest))
			rconn_pump(c);
	}
}

/* Authenticate a gateway: user is the cluster id, key is its plain key. */
static int
auth_cluster(struct rconn *c, const char *user, ssh_key key, char *why,
    size_t len)
{
	struct relay_cluster	 lic;
	const char		*want;
	char			*b64 = NULL;
	int			 from_conf, rc = -1;

	if (relay_who(c->r, user, 1, &want, &lic, &from_conf, why, len) ==
	    -1)
		return -1;
	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK) {
		snprintf(why, len, "cannot read the key");
		goto out;
	}
	/* The base64 of the key blob, which holds its type: equal keys. */
	if (strcmp(b64, want) != 0) {
		snprintf(why, len, "key does not match cluster '%s'", user);
		goto out;
	}
	free(c->cluster_key);
	if ((c->cluster_key = strdup(b64)) == NULL) {
		snprintf(why, len, "out of memory");
		goto out;
	}
	snprintf(c->cluster, sizeof(c->cluster), "%s", user);
	rconn_set_license(c, &lic, from_conf);
	rc = 0;
out:
	ssh_string_free_char(b64);
	return rc;
}

/* Authenticate an engineer: a vendor-CA certificate naming the user. */
static int
auth_engineer(struct rconn *c, const char *user, ssh_key key, char *why,
    size_t len)
{
	struct sshcert	*cert = NULL;
	char		*b64 = NULL, err[256];
	int		 rc = -1;

	if ((cert = calloc(1, sizeof(*cert))) == NULL) {
		snprintf(why, len, "out of memory");
		goto out;
	}
	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK) {
		snprintf(why, len, "cannot export certificate");
		goto out;
	}
	if (sshcert_parse_base64(b64, cert, err, sizeof(err)) == -1 ||
	    sshcert_validate(cert, c->r->ca_key, clock_now(), user, err,
	    sizeof(err)) == -1) {
		snprintf(why, len, "%s", err);
		goto out;
	}
	if (!relay_conf_engineer_allowed(c->r->conf, user)) {
		snprintf(why, len, "engineer '%s' is not allowed on this relay",
		    user);
		goto out;
	}
	if (c->r->krl != NULL && krl_check_cert(c->r->krl, cert, why,
	    len) != 0)
		goto out;
	snprintf(c->principal, sizeof(c->principal), "%s", user);
	snprintf(c->who, sizeof(c->who), "engineer %.64s (key id %.128s, "
	    "serial %llu) from %s", user, cert->key_id,
	    (unsigned long long)cert->serial, c->peer);
	/* Kept so that a reload can check the login again. */
	free(c->cert);
	c->cert = cert;
	cert = NULL;
	rc = 0;
out:
	ssh_string_free_char(b64);
	free(cert);
	return rc;
}

/*
 * A failed login: in full when it is the first of its burst for this
 * user name from this address, else counted (relay_burst).  A new name
 * each time gets an address no more than BURST_SOURCE_FULL lines a
 * minute (lib/burst.h); the rest are counted against the address.
 */
static void
login_refused(struct rconn *c, const char *user, const char *why)
{
	char name[65];

	snprintf(name, sizeof(name), "%s", user);
	if (relay_burst(c->r, RELAY_BURST_LOGIN, name, c->peer_addr))
		log_warn("%s: login as '%s' refused: %s; further ones from "
		    "there are counted", c->peer, name, why);
}

static int
relay_auth_pubkey(ssh_session s, const char *user, struct ssh_key_struct *key,
    char signature_state, void *arg)
{
	struct rconn	*c = arg, *old;
	char		 why[384];
	int		 is_cert, rc;

	(void)s;
	is_cert = sshcert_is_cert_type(ssh_key_type_to_char(ssh_key_type(key)));
	if (strlen(user) > 64) {
		snprintf(why, sizeof(why), "user name too long");
		rc = -1;
	} else if (is_cert)
		rc = auth_engineer(c, user, key, why, sizeof(why));
	else
		rc = auth_cluster(c, user, key, why, sizeof(why));
	if (rc == -1) {
		login_refused(c, user, why);
		if (++c->auth_failures >= RELAY_MAX_AUTH_FAIL)
			rconn_close(c, "too many failed logins");
		return SSH_AUTH_DENIED;
	}
	if (signature_state == SSH_PUBLICKEY_STATE_NONE)
		return SSH_AUTH_SUCCESS;	/* "this key would do" */
	if (signature_state != SSH_PUBLICKEY_STATE_VALID) {
		login_refused(c, user, "bad signature");
		++c->auth_failures;
		return SSH_AUTH_DENIED;
	}
	event_del(c->ev_grace);
	if (is_cert) {
		rconn_set_state(c, RC_ENGINEER);
		log_info("%s logged in", c->who);
		return SSH_AUTH_SUCCESS;
	}
	/* The newest login of a cluster wins: an old tunnel may be dead. */
	if ((old = idmap_get(c->r->tunnels, c->cluster)) != NULL) {
		log_info("cluster %s: new tunnel from %s replaces the one "
		    "from %s", user, c->peer, old->peer);
		rconn_close(old, "replaced by a new tunnel");
	}
	if (idmap_put(c->r->tunnels, c->cluster, c) == -1) {
		rconn_close(c, "out of memory");
		return SSH_AUTH_DENIED;
	}
	snprintf(c->who, sizeof(c->who), "cluster %s from %s", user, c->peer);
	rconn_set_state(c, RC_TUNNEL);
	rconn_keepalive_in(c, (uint64_t)c->r->conf->keepalive_interval * 1000);
	if (c->r->store != NULL) {
		(void)store_cluster_seen(c->r->store, user, clock_now(), NULL,
		    1);
		(void)analysis_online(c->r->analysis, c->r->store, user,
		    clock_now());
	}
	log_info("cluster %s online (tunnel from %s)", user, c->peer);
	return SSH_AUTH_SUCCESS;
}

/* Refuse a channel open, saying why in the relay's log. */
static int	refuse(struct rconn *, ssh_message, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
refuse(struct rconn *c, ssh_message msg, const char *fmt, ...)
{
	char	why[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warn("%s: channel refused: %s", c->who[0] ? c->who : c->peer,
	    why);
	ssh_message_reply_default(msg);
	return 0;
}

/*
 * Refuse an engineer's channel to a cluster, saying why to the engineer
 * (the caller logs it): the channel is accepted only to carry a
 * disconnect their ssh prints (splice_refusal), which a bare refusal
 * could not word.
 */
static int	turn_away(struct rconn *, ssh_message, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
turn_away(struct rconn *c, ssh_message msg, const char *fmt, ...)
{
	static const char	 prefix[] = "porthole-relay: ";
	char			 text[SSHREFUSE_MAX_TEXT + 1];
	struct splice		*sp;
	ssh_channel		 ch;
	va_list			 ap;

	memcpy(text, prefix, sizeof(prefix));
	va_start(ap, fmt);
	vsnprintf(text + sizeof(prefix) - 1, sizeof(text) - sizeof(prefix) + 1,
	    fmt, ap);
	va_end(ap);
	if (rconn_nsplices(c) >= RELAY_MAX_SPLICES ||
	    (ch = ssh_message_channel_request_open_reply_accept(msg)) == NULL) {
		ssh_message_reply_default(msg);
		return 0;
	}
	if ((sp = splice_refusal(ch, c, text, ++c->r->next_splice_id)) ==
	    NULL) {
		ssh_channel_close(ch);
		ssh_channel_free(ch);
		return 0;
	}
	rconn_add_splice(c, sp);
	return 0;
}

static int
relay_direct_tcpip(struct rconn *c, ssh_message msg)
{
	struct relay	*r = c->r;
	const char	*host = ssh_message_channel_request_open_destination(msg);
	int		 port = ssh_message_channel_request_open_destination_port(msg);
	struct relay_cluster	 lic;
	struct rconn		*tun;
	struct splice		*sp;
	ssh_channel		 ch;
	const char		*key;
	char			 why[384];
	int			 from_conf;

	if (c->state != RC_ENGINEER)
		return refuse(c, msg, "only engineers may open sessions");
	if (host == NULL || strlen(host) > RELAY_ID_MAX)
		return refuse(c, msg, "%s", "bad destination");
	/* The name is the engineer's: not repeated to them unchecked. */
	if ((tun = idmap_get(r->tunnels, host)) == NULL &&
	    relay_who(r, host, 1, &key, &lic, &from_conf, why,
	    sizeof(why)) == -1) {
		log_warn("%s: channel refused: %s", c->who, why);
		return turn_away(c, msg, "unknown cluster: none of that name "
		    "on this relay");
	}
	if (port != 22)
		return refuse(c, msg, "only port 22 of cluster '%s' is "
		    "reachable", host);
	if (tun == NULL || tun->state != RC_TUNNEL) {
		log_warn("%s: channel refused: cluster '%s' is offline", c->who,
		    host);
		return turn_away(c, msg, "cluster %s is offline: its gateway "
		    "has no tunnel to this relay", host);
	}
	if (rconn_nsplices(c) >= RELAY_MAX_SPLICES)
		return refuse(c, msg, "%s", "too many sessions on one "
		    "connection");
	if ((ch = ssh_message_channel_request_open_reply_accept(msg)) == NULL) {
		log_warn("%s: cannot accept channel", c->who);
		return 0;
	}
	sp = splice_new(ch, c, tun->s, tun, host, 22, c->peer_addr,
	    c->peer_port, ++r->next_splice_id);
	if (sp == NULL) {
		log_warn("%s: cannot open a channel on the tunnel of %s",
		    c->who, host);
		ssh_channel_close(ch);
		ssh_channel_free(ch);
		return 0;
	}
	rconn_add_splice(c, sp);
	rconn_add_splice(tun, sp);
	rconn_update_write(tun);
	log_info("session %llu: %s -> cluster %s",
	    (unsigned long long)sp->id, c->who, host);
	return 0;
}

/* A gateway opens its control channel to "mission-control", once. */
static int
relay_control_channel(struct rconn *c, ssh_message msg)
{
	const char	*host = ssh_message_channel_request_open_destination(msg);
	ssh_channel	 ch;

	if (host == NULL || strcmp(host, MC_HOST) != 0)
		return refuse(c, msg, "%s", "a tunnel may only open the "
		    "control channel to " MC_HOST);
	if (c->mc != NULL)
		return refuse(c, msg, "%s", "the control channel is already "
		    "open");
	if ((ch = ssh_message_channel_request_open_reply_accept(msg)) == NULL)
		return 0;
	if ((c->mc = mc_new(ch, c->r->store, &c->lic)) == NULL) {
		ssh_channel_close(ch);
		ssh_channel_free(ch);
	}
	return 0;
}

static int
relay_message(ssh_session s, ssh_message msg, void *arg)
{
	struct rconn *c = arg;

	(void)s;
	if (ssh_message_type(msg) == SSH_REQUEST_CHANNEL_OPEN &&
	    ssh_message_subtype(msg) == SSH_CHANNEL_DIRECT_TCPIP &&
	    c->state == RC_TUNNEL)
		return relay_control_channel(c, msg);
	if (ssh_message_type(msg) == SSH_REQUEST_CHANNEL_OPEN &&
	    ssh_message_subtype(msg) == SSH_CHANNEL_DIRECT_TCPIP)
		return relay_direct_tcpip(c, msg);
	if (ssh_message_type(msg) == SSH_REQUEST_CHANNEL_OPEN)
		return refuse(c, msg, "%s", "only direct-tcpip channels to a "
		    "cluster are served");
	return 1;	/* libssh answers everything else with a refusal */
}

static ssh_channel
relay_session_channel(ssh_session s, void *arg)
{
	struct rconn *c = arg;

	(void)s;
	log_warn("%s: shell session refused: the relay only forwards to "
	    "clusters (use ssh -J)", c->who[0] ? c->who : c->peer);
	return NULL;
}

static void
rconn_grace(evutil_socket_t fd, short what, void *arg)
{
	struct rconn *c = arg;

	(void)fd;
	(void)what;
	rconn_close(c, "login grace time exceeded");
}

static void
rconn_close(struct rconn *c, const char *why)
{
	struct relay		*r = c->r;
	struct splice_link	*l;
	struct splice		*sp;
	struct rconn		*other;
	int			 side;

	if (c->state == RC_DEAD)
		return;
	/* First, while libssh's closed descriptor cannot have come back. */
	if (c->ev_read != NULL)
		event_del(c->ev_read);
	if (c->ev_write != NULL)
		event_del(c->ev_write);
	if (c->ev_kick != NULL)
		event_del(c->ev_kick);
	if (c->ev_grace != NULL)
		event_del(c->ev_grace);
	if (c->ev_keepalive != NULL)
		event_del(c->ev_keepalive);
	if (c->state == RC_TUNNEL && r->store != NULL)
		(void)store_cluster_seen(r->store, c->cluster, clock_now(),
		    NULL, 0);
	if (c->state == RC_TUNNEL && idmap_get(r->tunnels, c->cluster) == c) {
		(void)idmap_del(r->tunnels, c->cluster);
		log_info("cluster %s offline (%s)", c->cluster, why);
	} else
		log_info("%s: closed (%s)", c->who[0] ? c->who : c->peer, why);
	rconn_set_state(c, RC_DEAD);
	/*
	 * The other side of each splice is told by its next pump, unless
	 * the poll that ends c closed its socket too (with a write to it):
	 * then it goes now, before its descriptor number can come back.
	 */
	TAILQ_FOREACH(l, &c->splices, entry) {
		sp = l->sp;
		side = sp->end[SPLICE_TUNNEL].conn == c ? SPLICE_TUNNEL :
		    SPLICE_ENGINEER;
		splice_side_gone(sp, side);
		if ((other = sp->end[!side].conn) == NULL)
			continue;
		if (rconn_sock_closed(other))
			rconn_close(other, rconn_error(other));
		else
			event_active(other->ev_write, EV_WRITE, 0);
	}
	TAILQ_REMOVE(&r->conns, c, entry);
	TAILQ_INSERT_TAIL(&r->dead, c, entry);
	event_active(r->ev_reap, EV_TIMEOUT, 0);
}

static void
rconn_free(struct rconn *c)
{
	struct splice_link	*l;

	while ((l = TAILQ_FIRST(&c->splices)) != NULL)
		rconn_unlink_splice(c, l->sp);
	mc_free(c->mc);
	if (c->sev != NULL) {
		ssh_event_remove_session(c->sev, c->s);
		ssh_event_free(c->sev);
	}
	if (c->s != NULL) {
		ssh_disconnect(c->s);
		ssh_free(c->s);
	}
	if (c->ev_read != NULL)
		event_free(c->ev_read);
	if (c->ev_write != NULL)
		event_free(c->ev_write);
	if (c->ev_kick != NULL)
		event_free(c->ev_kick);
	if (c->ev_grace != NULL)
		event_free(c->ev_grace);
	if (c->ev_keepalive != NULL)
		event_free(c->ev_keepalive);
	if (c->own_fd)
		close(c->fd);
	free(c->cert);
	free(c->cluster_key);
	free(c);
}

static void
relay_reap(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	struct rconn *c;

	(void)fd;
	(void)what;
	while ((c = TAILQ_FIRST(&r->dead)) != NULL) {
		TAILQ_REMOVE(&r->dead, c, entry);
		rconn_free(c);
	}
}

/*
 * Until the login is done, acknowledge at once.  The engineer's ssh
 * turns TCP_NODELAY on only after its login, so during the key exchange
 * Nagle holds its second message until our delayed ACK (about 40 ms);
 * an immediate ACK releases it.  Linux forgets TCP_QUICKACK after a
 * while, so it is set again after every read.
 */
static void
rconn_quickack(struct rconn *c)
{
	int one = 1;

	if (state_preauth(c->state) && !rconn_sock_closed(c))
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one,
		    sizeof(one));
}

static void
rconn_io(evutil_socket_t fd, short what, void *arg)
{
	struct rconn	*c = arg;
	int		 rc;

	(void)what;
	if (c->state == RC_DEAD)
		return;
	if (fd != -1)		/* readiness, not a kick */
		c->kicked = 0;
	if (c->state == RC_KEX) {
		rc = ssh_handle_key_exchange(c->s);
		if (rc == SSH_AGAIN && !rconn_sock_closed(c)) {
			rconn_quickack(c);
			rconn_update_write(c);
			return;
		}
		if (rc != SSH_OK) {
			rconn_close(c, rconn_error(c));
			return;
		}
		if ((c->sev = ssh_event_new()) == NULL ||
		    ssh_event_add_session(c->sev, c->s) != SSH_OK) {
			rconn_close(c, "out of memory");
			return;
		}
		rconn_set_state(c, RC_AUTH);
	}
	if (ssh_event_dopoll(c->sev, 0) == SSH_ERROR || rconn_sock_closed(c) ||
	    (ssh_get_status(c->s) & (SSH_CLOSED | SSH_CLOSED_ERROR))) {
		rconn_close(c, rconn_error(c));
		return;
	}
	if (c->state == RC_DEAD)
		return;
	rconn_quickack(c);
	rconn_pump(c);
}

/* Keep the address of sa as text, for logs and per-source counts. */
static void
sockaddr_text(const struct sockaddr *sa, char *addr, size_t len, int *port)
{
	addr[0] = '\0';
	*port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, addr, len);
		*port = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, len);
		*port = ntohs(sin6->sin6_port);
	}
}

/*
 * One more of a kind that may repeat: 1 when it is the first of its
 * burst, to be logged in full by the caller, 0 when it was counted.
 */
static int
relay_burst(struct relay *r, const char *type, const char *reason,
    const char *who)
{
	struct timeval tv = { 0, RELAY_BURST_TICK_MS * 1000 };

	if (!evtimer_pending(r->ev_burst, NULL))
		evtimer_add(r->ev_burst, &tv);
	return burst_note(r->bursts, type, reason, "from", who, who,
	    clock_mono_ms(), clock_now());
}

/* While a burst lasts: summarise what is due, and look again later. */
static void
relay_burst_tick(evutil_socket_t fd, short what, void *arg)
{
	struct relay	*r = arg;
	struct timeval	 tv = { 0, RELAY_BURST_TICK_MS * 1000 };

	(void)fd;
	(void)what;
	burst_tick(r->bursts, clock_mono_ms(), 0);
	if (burst_pending(r->bursts))
		evtimer_add(r->ev_burst, &tv);
}

/* A burst's summary line (lib/burst.h), in the relay's words. */
static void
relay_burst_summary(void *arg, const struct burst_summary *sum)
{
	struct relay		*r = arg;
	char			 startups[32];
	unsigned long long	 n = (unsigned long long)sum->count;
	unsigned long long	 secs = (unsigned long long)(sum->last -
				    sum->first) + 1;

	if (strcmp(sum->type, RELAY_BURST_REFUSED) == 0) {
		relay_conf_format_startups(r->conf, startups,
		    sizeof(startups));
		log_warn("refused %llu more connections in %llu s (%llu past "
		    "max_startups %s, %llu past max_per_source %u; the latest "
		    "from %s)%s", n, secs,
		    (unsigned long long)r->refused_startups, startups,
		    (unsigned long long)r->refused_source, r->conf->per_source,
		    r->refused_last, sum->ended ? "; none since" : "");
		r->refused_startups = r->refused_source = 0;
	} else if (strcmp(sum->type, RELAY_BURST_ACCEPT) == 0)
		log_warn("accept failed %llu more times in %llu s (%s; "
		    "descriptor limit %llu)%s", n, secs,
		    strerror(r->accept_errno), (unsigned long long)r->nofile,
		    sum->ended ? "; accepting again" : "; still pausing");
	else if (sum->capped)
		log_warn("refused %llu more login%s from %s in %llu s, under "
		    "names not logged: more than %d a minute from there are "
		    "not logged in full%s", n, n == 1 ? "" : "s", sum->who,
		    secs, BURST_SOURCE_FULL, sum->ended ? "; none since" : "");
	else
		log_warn("refused %llu more login%s as '%s' from %s in %llu "
		    "s%s", n, n == 1 ? "" : "s", sum->reason, sum->who, secs,
		    sum->ended ? "; none since" : "");
}

/* Why a new connection is refused, if it is. */
enum relay_refusal {
	RELAY_ADMIT,		/* not refused */
	RELAY_PER_SOURCE,	/* max_per_source from its address */
	RELAY_STARTUPS		/* max_startups, by random early drop */
};

/*
 * Whether a new connection from addr is refused, as sshd's MaxStartups
 * and PerSourceMaxStartups decide, and why (in why); nothing is counted
 * here, so the question can be asked freely.  Only unauthenticated
 * connections count; a certified engineer or a gateway that has logged
 * in no longer holds a slot.
 */
static enum relay_refusal
relay_refuse(const struct relay *r, const char *addr, char *why, size_t len)
{
	const struct relay_conf	*conf = r->conf;
	const struct rconn	*c;
	size_t			 same = 0;
	unsigned		 chance;
	uint32_t		 rnd;
	char			 startups[32];

	if (r->npreauth >= conf->per_source) {
		TAILQ_FOREACH(c, &r->preauth, preauth_entry)
			if (strcmp(c->peer_addr, addr) == 0)
				same++;
	}
	if (same >= conf->per_source) {
		snprintf(why, len, "%zu unauthenticated connections from this "
		    "address (max_per_source %u)", same, conf->per_source);
		return RELAY_PER_SOURCE;
	}
	if ((chance = relay_conf_startups_drop(conf, r->npreauth)) == 0)
		return RELAY_ADMIT;
	/* A draw that fails refuses: the limit holds without randomness. */
	if (chance < 100 && getrandom(&rnd, sizeof(rnd), 0) == sizeof(rnd) &&
	    rnd % 100 >= chance)
		return RELAY_ADMIT;
	relay_conf_format_startups(conf, startups, sizeof(startups));
	snprintf(why, len, "%zu unauthenticated connections (max_startups "
	    "%s)", r->npreauth, startups);
	return RELAY_STARTUPS;
}

/*
 * Refuse a connection: a line for the client, as sshd writes one, and
 * the socket closed at once.  The first refusal of a burst is logged;
 * the others are counted, by reason.
 */
static void
relay_drop(struct relay *r, int fd, const char *addr, int port,
    enum relay_refusal reason, const char *why)
{
	static const char msg[] = "Too many unauthenticated connections; "
	    "try again later\r\n";

	(void)send(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
	snprintf(r->refused_last, sizeof(r->refused_last), "%s", addr);
	if (relay_burst(r, RELAY_BURST_REFUSED, "", "")) {
		log_warn("%s:%d: connection refused: %s; further refusals are "
		    "counted", addr, port, why);
		r->refused_startups = r->refused_source = 0;
		return;
	}
	if (reason == RELAY_PER_SOURCE)
		r->refused_source++;
	else
		r->refused_startups++;
}

static void
relay_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(r->listener);
}

/*
 * accept() failed for a reason other than a connection that went away
 * (those libevent retries itself); most often EMFILE or ENFILE, with
 * descriptors used up.  libevent leaves the listener armed, and the
 * listening socket stays readable while connections wait, so the loop
 * would spin and log each failure.  Pause listening instead and try
 * again after a pause that grows while the failures go on; connections
 * wait in the backlog meanwhile.
 */
static void
relay_accept_error(struct evconnlistener *l, void *arg)
{
	struct relay	*r = arg;
	struct timeval	 tv;

	r->accept_errno = EVUTIL_SOCKET_ERROR();
	evconnlistener_disable(l);
	tv.tv_sec = r->pause_ms / 1000;
	tv.tv_usec = (r->pause_ms % 1000) * 1000;
	evtimer_add(r->ev_resume, &tv);
	if (relay_burst(r, RELAY_BURST_ACCEPT, "", ""))
		log_error("accept: %s (descriptor limit %llu): not accepting "
		    "connections for %u ms", strerror(r->accept_errno),
		    (unsigned long long)r->nofile, r->pause_ms);
	if (r->pause_ms < RELAY_PAUSE_MAX_MS)
		r->pause_ms = r->pause_ms * 2 < RELAY_PAUSE_MAX_MS ?
		    r->pause_ms * 2 : RELAY_PAUSE_MAX_MS;
}

static void
relay_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct relay		*r = arg;
	struct rconn		*c;
	struct timeval		 grace = { r->conf->login_grace, 0 };
	char			 addr[INET6_ADDRSTRLEN], why[160];
	enum relay_refusal	 refusal;
	int			 on = 1, port;

	(void)l;
	(void)salen;
	r->pause_ms = RELAY_PAUSE_MIN_MS;
	sockaddr_text(sa, addr, sizeof(addr), &port);
	if ((refusal = relay_refuse(r, addr, why, sizeof(why))) !=
	    RELAY_ADMIT) {
		relay_drop(r, fd, addr, port, refusal, why);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->r = r;
	c->fd = fd;
	c->own_fd = 1;
	TAILQ_INIT(&c->splices);
	snprintf(c->peer_addr, sizeof(c->peer_addr), "%s", addr);
	c->peer_port = port;
	snprintf(c->peer, sizeof(c->peer), "%s:%d", c->peer_addr,
	    c->peer_port);
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	TAILQ_INSERT_TAIL(&r->conns, c, entry);
	/* Unauthenticated from here until rconn_set_state() says not. */
	c->state = RC_KEX;
	TAILQ_INSERT_TAIL(&r->preauth, c, preauth_entry);
	r->npreauth++;

	c->ev_read = event_new(r->base, fd, EV_READ | EV_PERSIST, rconn_io, c);
	c->ev_write = event_new(r->base, fd, EV_WRITE, rconn_io, c);
	c->ev_kick = event_new(r->base, -1, 0, rconn_io, c);
	c->ev_grace = evtimer_new(r->base, rconn_grace, c);
	c->ev_keepalive = evtimer_new(r->base, rconn_keepalive, c);
	if ((c->s = ssh_new()) == NULL || c->ev_read == NULL ||
	    c->ev_write == NULL || c->ev_kick == NULL || c->ev_grace == NULL ||
	    c->ev_keepalive == NULL) {
		rconn_close(c, "out of memory");
		return;
	}
	/*
	 * One descriptor for both: libssh owns it from here (it may close
	 * it, see rconn_sock_closed()), even when the call fails after
	 * taking it.
	 */
	if (ssh_bind_accept_fd(r->bind, c->s, fd) != SSH_OK) {
		c->own_fd = ssh_get_fd(c->s) != fd;
		rconn_close(c, "cannot accept the connection");
		return;
	}
	c->own_fd = 0;
	memset(&c->cb, 0, sizeof(c->cb));
	c->cb.userdata = c;
	c->cb.auth_pubkey_function = relay_auth_pubkey;
	c->cb.channel_open_request_session_function = relay_session_channel;
	ssh_callbacks_init(&c->cb);
	ssh_set_server_callbacks(c->s, &c->cb);
	ssh_set_message_callback(c->s, relay_message, c);
	ssh_set_auth_methods(c->s, SSH_AUTH_METHOD_PUBLICKEY);
	ssh_set_blocking(c->s, 0);
	event_add(c->ev_read, NULL);
	event_add(c->ev_grace, &grace);
	log_debug("%s: connected", c->peer);
	rconn_io(fd, EV_READ, c);
}

static void
free_cluster_keys(char **keys, size_t n)
{
	size_t i;

	if (keys == NULL)
		return;
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

/*
 * Each [cluster]'s public key as base64 of its blob, parallel to
 * conf->clusters: what a gateway's key is compared with, as the
 * registry's keys are.
 */
static int
load_cluster_keys(const struct relay_conf *conf, char ***out, char *err,
    size_t errlen)
{
	ssh_key	  k = NULL;
	char	**keys, *b64 = NULL;
	size_t	  i;

	*out = NULL;
	if ((keys = calloc(conf->nclusters + 1, sizeof(*keys))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < conf->nclusters; i++) {
		if (ssh_pki_import_pubkey_file(conf->clusters[i].key, &k) !=
		    SSH_OK || ssh_pki_export_pubkey_base64(k, &b64) != SSH_OK ||
		    (keys[i] = strdup(b64)) == NULL) {
			snprintf(err, errlen, "%s: cannot read the public key "
			    "of cluster %s", conf->clusters[i].key,
			    conf->clusters[i].id);
			ssh_key_free(k);
			ssh_string_free_char(b64);
			free_cluster_keys(keys, conf->nclusters);
			return -1;
		}
		ssh_key_free(k);
		ssh_string_free_char(b64);
		k = NULL;
		b64 = NULL;
	}
	*out = keys;
	return 0;
}

static int
relay_load_keys(struct relay *r)
{
	struct relay_conf	*conf = r->conf;
	ssh_key			 hk = NULL;
	char			 err[1024];

	if (sshcert_load_ca(conf->support_ca, r->ca_key, err,
	    sizeof(err)) == -1) {
		log_error("%s", err);
		return -1;
	}
	if (ssh_pki_import_privkey_file(conf->host_key, NULL, NULL, NULL,
	    &hk) != SSH_OK) {
		log_error("%s: cannot read the relay host key", conf->host_key);
		return -1;
	}
	if (ssh_bind_options_set(r->bind, SSH_BIND_OPTIONS_IMPORT_KEY,
	    hk) != SSH_OK) {
		log_error("%s: %s", conf->host_key, ssh_get_error(r->bind));
		ssh_key_free(hk);
		return -1;
	}
	/* A list that cannot be read refuses the start, as a reload. */
	if (load_cluster_keys(conf, &r->conf_keys, err,
	    sizeof(err)) == -1 ||
	    krl_load_optional(conf->revoked_keys, &r->krl, err,
	    sizeof(err)) == -1) {
		log_error("%s", err);
		return -1;
	}
	if ((r->tunnels = idmap_new()) == NULL ||
	    (r->registry = idmap_new()) == NULL) {
		log_error("out of memory");
		return -1;
	}
	return 0;
}

static int
relay_listen(struct relay *r)
{
	struct addrinfo	 hints, *res = NULL;
	char		 port[8];
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
	snprintf(port, sizeof(port), "%u", r->conf->listen_port);
	rc = getaddrinfo(r->conf->listen_host, port, &hints, &res);
	if (rc != 0) {
		log_error("%s: listen: %s: %s", r->conf->path,
		    r->conf->listen_host, gai_strerror(rc));
		return -1;
	}
	r->listener = evconnlistener_new_bind(r->base, relay_accept, r,
	    LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, 512, res->ai_addr,
	    (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (r->listener == NULL) {
		log_error("cannot listen on %s:%u: %s", r->conf->listen_host,
		    r->conf->listen_port, strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(r->listener, relay_accept_error);
	log_info("listening on %s:%u", r->conf->listen_host,
	    r->conf->listen_port);
	return 0;
}

/*
 * Every tunnel and every connection holds a descriptor, so take all the
 * hard limit allows, and say when even that leaves unauthenticated
 * connections room to use them up before max_startups refuses them.
 */
static void
relay_raise_nofile(struct relay *r)
{
	struct rlimit	rl;
	rlim_t		was;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		was = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			log_warn("cannot raise the descriptor limit from %llu "
			    "to %llu: %s", (unsigned long long)was,
			    (unsigned long long)rl.rlim_max, strerror(errno));
			rl.rlim_cur = was;
		} else
			log_info("descriptor limit raised from %llu to %llu",
			    (unsigned long long)was,
			    (unsigned long long)rl.rlim_cur);
	}
	r->nofile = rl.rlim_cur;
	if (r->nofile < (uint64_t)r->conf->startups_full + RELAY_OWN_FDS)
		log_warn("the descriptor limit (%llu) is below max_startups' "
		    "full (%u) plus the %d the relay holds itself: "
		    "unauthenticated connections can use up descriptors "
		    "before max_startups refuses them",
		    (unsigned long long)r->nofile, r->conf->startups_full,
		    RELAY_OWN_FDS);
}

/* Every minute: clusters without a tunnel for too long get an alert. */
static void
relay_offline(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;

	(void)fd;
	(void)what;
	(void)analysis_offline(r->analysis, r->store, clock_now(),
	    r->started);
}

struct relay *
relay_new(struct event_base *base, struct relay_conf *conf)
{
	struct timeval	 minute = { 60, 0 };
	struct relay	*r;
	char		 err[1024];
	int		 no = 0;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		relay_conf_free(conf);
		return NULL;
	}
	r->base = base;
	r->conf = conf;
	TAILQ_INIT(&r->conns);
	TAILQ_INIT(&r->dead);
	TAILQ_INIT(&r->preauth);
	r->pause_ms = RELAY_PAUSE_MIN_MS;
	relay_conf_self(conf, r->self, sizeof(r->self));
	relay_raise_nofile(r);
	if ((r->bind = ssh_bind_new()) == NULL)
		goto fail;
	ssh_bind_options_set(r->bind, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no);
	if (ssh_bind_options_set(r->bind, SSH_BIND_OPTIONS_KEY_EXCHANGE,
	    RELAY_KEX) != SSH_OK ||
	    ssh_bind_options_set(r->bind,
	    SSH_BIND_OPTIONS_PUBKEY_ACCEPTED_KEY_TYPES,
	    RELAY_PUBKEY_TYPES) != SSH_OK) {
		log_error("cannot set SSH options: %s", ssh_get_error(r->bind));
		goto fail;
	}
	if (relay_load_keys(r) == -1)
		goto fail;
	/*
	 * A PostgreSQL store that cannot be reached now is connected to
	 * later (STORE_RETRY): sessions do not need it.  An SQLite file that
	 * cannot be opened or written is a reason not to start.
	 */
	if (conf->database != NULL && store_open_with(conf->database,
	    STORE_RETRY, &r->store, err, sizeof(err)) == -1) {
		log_error("%s", err);
		goto fail;
	}
	if (r->store != NULL)
		store_set_bundle_quota(r->store, conf->bundle_quota);
	if (r->store != NULL && relay_store_sync(r) == -1) {
		log_error("%s: the database cannot be written",
		    store_name(r->store));
		goto fail;
	}
	if (r->store != NULL && store_generation(r->store) > 0) {
		log_info("store: %s (%s)", store_name(r->store),
		    store_engine(r->store));
		relay_registry_poll(r);
	}
	r->started = clock_now();
	if (r->store != NULL) {
		if ((r->analysis = analysis_new(&conf->alerts)) == NULL ||
		    (r->ev_offline = event_new(base, -1, EV_PERSIST,
		    relay_offline, r)) == NULL ||
		    event_add(r->ev_offline, &minute) == -1)
			goto fail;
		analysis_attach(r->analysis, r->store);
	}
	if ((r->ev_reap = event_new(base, -1, 0, relay_reap, r)) == NULL ||
	    (r->ev_retry = evtimer_new(base, relay_retry, r)) == NULL ||
	    (r->ev_resume = evtimer_new(base, relay_accept_resume,
	    r)) == NULL ||
	    (r->ev_burst = evtimer_new(base, relay_burst_tick, r)) == NULL ||
	    (r->bursts = burst_new(relay_burst_summary, r)) == NULL ||
	    (r->ev_msgs = event_new(base, -1, EV_PERSIST, relay_messages,
	    r)) == NULL)
		goto fail;
	event_add(r->ev_msgs, &(struct timeval){ RELAY_MSG_POLL_MS / 1000,
	    RELAY_MSG_POLL_MS % 1000 * 1000 });
	if (relay_listen(r) == -1)
		goto fail;
	return r;
fail:
	relay_free(r);
	return NULL;
}

void
relay_free(struct relay *r)
{
	struct rconn	*c;
	struct regent	*e;
	size_t		 pos;

	if (r == NULL)
		return;
	while ((c = TAILQ_FIRST(&r->conns)) != NULL)
		rconn_close(c, "relay shutting down");
	if (r->store != NULL)
		(void)store_relay_stopped(r->store);
	if (r->ev_reap != NULL) {
		relay_reap(-1, 0, r);
		event_free(r->ev_reap);
	}
	if (r->ev_retry != NULL)
		event_free(r->ev_retry);
	if (r->ev_msgs != NULL)
		event_free(r->ev_msgs);
	if (r->ev_resume != NULL)
		event_free(r->ev_resume);
	/* What was counted is written before the relay goes. */
	if (r->bursts != NULL) {
		burst_tick(r->bursts, clock_mono_ms(), 1);
		burst_free(r->bursts);
	}
	if (r->ev_burst != NULL)
		event_free(r->ev_burst);
	if (r->listener != NULL)
		evconnlistener_free(r->listener);
	free_cluster_keys(r->conf_keys, r->conf->nclusters);
	idmap_free(r->tunnels);
	if (r->registry != NULL) {
		pos = 0;
		while ((e = idmap_next(r->registry, &pos)) != NULL)
			regent_free(e);
		idmap_free(r->registry);
	}
	if (r->ev_offline != NULL)
		event_free(r->ev_offline);
	krl_free(r->krl);
	store_close(r->store);
	analysis_free(r->analysis);
	if (r->bind != NULL)
		ssh_bind_free(r->bind);
	relay_conf_free(r->conf);
	free(r);
}

/*
 * A tunnel checked again against relay.conf and the cluster registry
 * as they are now, after a reload or a change read from the registry:
 * closed when its cluster is no longer known or its key changed, and
 * its engineers' sessions with it; else its license is theirs now.
 */
static void
relay_recheck_tunnel(struct relay *r, struct rconn *t)
{
	struct relay_cluster	 lic;
	const char		*key;
	const char		*where = t->from_conf ? "relay.conf" :
				    "the cluster registry";
	char			 why[384];
	int			 from_conf;

	if (relay_who(r, t->cluster, 0, &key, &lic, &from_conf, why,
	    sizeof(why)) == -1) {
		if (strncmp(why, "unknown cluster", 15) == 0)
			snprintf(why, sizeof(why), "cluster removed from %s",
			    where);
		rconn_close(t, why);
	} else if (strcmp(key, t->cluster_key) != 0) {
		snprintf(why, sizeof(why), "the cluster's key changed in %s",
		    from_conf ? "relay.conf" : "the cluster registry");
		rconn_close(t, why);
	} else
		rconn_set_license(t, &lic, from_conf);
}

/* After a reload: every tunnel checked again. */
static void
relay_recheck_tunnels(struct relay *r)
{
	struct rconn *c, *next;

	for (c = TAILQ_FIRST(&r->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state == RC_TUNNEL)
			relay_recheck_tunnel(r, c);
	}
}

/*
 * After a reload: an engineer's connection is checked again as its
 * login would be now (engineers, the CA, the revocation list; not the
 * validity window, which was checked at login as sshd does), and closed
 * if it would not be let in.  Returns how many were closed.
 */
static size_t
relay_recheck_engineers(struct relay *r, const struct relay_conf *nc,
    const uint8_t ca[32], const struct krl *nk)
{
	struct rconn	*c, *next;
	char		 why[384];
	size_t		 n = 0;

	for (c = TAILQ_FIRST(&r->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state != RC_ENGINEER || c->cert == NULL)
			continue;
		if (!relay_conf_engineer_allowed(nc, c->principal))
			snprintf(why, sizeof(why), "engineer '%s' is no "
			    "longer allowed on this relay", c->principal);
		else if (memcmp(c->cert->ca_key, ca, 32) != 0)
			snprintf(why, sizeof(why), "support_ca changed");
		else if (nk == NULL || krl_check_cert(nk, c->cert, why,
		    sizeof(why)) == 0)
			continue;
		rconn_close(c, why);
		n++;
	}
	return n;
}

/*
 * After a reload: each tunnel's silence is checked now, and from then on
 * by the new keepalive_interval and keepalive_count.
 */
static void
relay_recheck_keepalives(struct relay *r)
{
	struct rconn *c;

	TAILQ_FOREACH(c, &r->conns, entry)
		if (c->state == RC_TUNNEL)
			rconn_keepalive_in(c, 0);
}

int
relay_reload(struct relay *r)
{
	struct relay_conf	*nc = NULL;
	struct krl		*nk = NULL;
	char			**nkeys = NULL;
	uint8_t			 ca[32];
	char			 err[1024];
	size_t			 i, added = 0, removed = 0, closed;
	int			 rc = -1;

	daemon_reloading();
	if (relay_conf_load(r->conf->path, &nc, err, sizeof(err)) == -1 ||
	    relay_conf_restart_changed(r->conf, nc, err, sizeof(err)) == -1 ||
	    sshcert_load_ca(nc->support_ca, ca, err, sizeof(err)) == -1 ||
	    load_cluster_keys(nc, &nkeys, err, sizeof(err)) == -1 ||
	    krl_load_optional(nc->revoked_keys, &nk, err, sizeof(err)) == -1)
		goto refused;
	/* From here on nothing can fail: the new file applies whole. */
	for (i = 0; i < nc->nclusters; i++)
		if (relay_conf_cluster(r->conf, nc->clusters[i].id, NULL) ==
		    NULL)
			added++;
	for (i = 0; i < r->conf->nclusters; i++)
		if (relay_conf_cluster(nc, r->conf->clusters[i].id, NULL) ==
		    NULL)
			removed++;
	closed = relay_recheck_engineers(r, nc, ca, nk);
	free_cluster_keys(r->conf_keys, r->conf->nclusters);
	krl_free(r->krl);
	relay_conf_free(r->conf);
	r->conf = nc;
	/* The [alerts] rules judge the next record by the new file. */
	if (r->analysis != NULL)
		analysis_set_rules(r->analysis, &nc->alerts);
	if (r->store != NULL)
		store_set_bundle_quota(r->store, nc->bundle_quota);
	r->conf_keys = nkeys;
	r->krl = nk;
	memcpy(r->ca_key, ca, sizeof(r->ca_key));
	relay_recheck_tunnels(r);
	relay_recheck_keepalives(r);
	log_info("%s: reloaded: %zu cluster%s (%zu added, %zu removed), %zu "
	    "engineer connection%s closed", nc->path, nc->nclusters,
	    nc->nclusters == 1 ? "" : "s", added, removed, closed,
	    closed == 1 ? "" : "s");
	rc = 0;
	goto out;
refused:
	log_error("reload refused, the running configuration stays: %s", err);
	if (nc != NULL)
		free_cluster_keys(nkeys, nc->nclusters);
	krl_free(nk);
	relay_conf_free(nc);
out:
	/* Either way the relay runs on, with one configuration or the other. */
	(void)daemon_notify("READY=1");
	return rc;
}
