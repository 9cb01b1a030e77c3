/*
 * collect.c - health records and inventory events, on a timer, without
 * ever blocking the event loop on the network.
 *
 * A round starts on the timer.  The node and the disks are read at
 * once: they are local (/proc, statvfs).  Each configured service gets
 * a probe, a non-blocking TCP connect with its own deadline; a host
 * that is not an IP literal is looked up with evdns first.  When the
 * last probe is up or down, a deferred event finishes the round: the
 * record goes to telem.c and inventory changes become events.
 */
#include "gateway/collect.h"

#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/util.h>

#include "lib/clock.h"
#include "lib/fileio.h"
#include "lib/log.h"

#define COLLECT_NAME_MAX	64	/* a service name, as policy.c allows */
#define COLLECT_HOST_MAX	255	/* a host or node name */
#define COLLECT_ADDR_MAX	(COLLECT_HOST_MAX + 9)	/* "[HOST]:PORT" */
#define COLLECT_PATH_MAX	1024	/* a disk path in the record */
#define COLLECT_ERROR_MAX	128
#define COLLECT_MAX_ADDRS	8	/* addresses tried per service */
#define COLLECT_MAX_NODES	64	/* names in the stored inventory */
#define COLLECT_MAX_SEEN	256	/* services remembered as seen up */
#define COLLECT_STATE_MAX	(64 * 1024)	/* bytes of collect.json */
#define COLLECT_PROC_MAX	8192	/* bytes read from one /proc file */
#define COLLECT_STATE_VERSION	1
#define ACTIVEGATE_PREFIX	"activegate"

/* The DNS resolver: it lives until its last lookup has called back. */
struct resolver {
	struct event_base	*base;
	struct evdns_base	*dns;
	int			 refs;	/* the collector's, one per lookup */
};

/* One name lookup in flight; it outlives a probe that gave up on it. */
struct lookup {
	struct resolver				*res;
	struct probe				*probe;	/* NULL: given up */
	struct evdns_getaddrinfo_request	*req;
};

enum probe_state {
	PROBE_IDLE,		/* not started yet */
	PROBE_RESOLVING,	/* waiting for the name lookup */
	PROBE_CONNECTING,	/* a connect to one address is in progress */
	PROBE_UP,		/* a connect succeeded: the service answers */
	PROBE_DOWN		/* refused, unreachable, unknown or too slow */
};

/* One service's TCP probe in the current round. */
struct probe {
	struct collect		*c;
	enum probe_state	 state;
	char			 name[COLLECT_NAME_MAX + 1];
	char			 host[COLLECT_HOST_MAX + 1];
	uint16_t		 port;
	char			 address[COLLECT_ADDR_MAX + 1];
	struct sockaddr_storage	 addr[COLLECT_MAX_ADDRS];
	socklen_t		 addrlen[COLLECT_MAX_ADDRS];
	int			 naddr;		/* resolved addresses */
	int			 next;		/* the next one to try */
	int			 lasterr;	/* errno of the last try */
	int			 fd;
	struct event		*ev_conn;	/* fd writable: connect done */
	struct event		*ev_timeout;	/* the probe's deadline */
	struct lookup		*lookup;	/* while resolving */
	uint64_t		 conn_start;	/* clock_mono_ms() */
	uint64_t		 latency_ms;	/* when up */
	char			 error[COLLECT_ERROR_MAX];	/* when down */
};

/* The collector: its timers, the round in progress, what was told. */
struct collect {
	struct event_base	*base;
	const struct policy	*pol;
	struct telem		*telem;
	struct resolver		*resolver;	/* made at the first name */
	struct event		*ev_first;	/* once, shortly after start */
	struct event		*ev_tick;	/* every health_interval */
	struct event		*ev_finish;	/* all probes are done */
	struct event		*ev_save;	/* collect.json, later */
	uint64_t		 interval;	/* seconds, as ev_tick runs */

	/* The round in progress. */
	int			 running;
	int			 announce;	/* events on this round */
	json_t			*rec;		/* the health record so far */
	struct probe		*probes;
	size_t			 nprobes;
	size_t			 pending;	/* probes neither up nor down */

	/* What Mission Control has been told, as in collect.json. */
	json_t			*nodes;		/* node names */
	json_t			*seen_up;	/* service names ever seen up */
	json_t			*down;		/* services told down */
	json_t			*full;		/* disk paths told full */
	int			 dirty;		/* not yet in collect.json */
};

static void	probe_connect(struct probe *);
static void	probe_down(struct probe *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/*
 * Copy s into out (outlen > 1), keeping printable ASCII and turning
 * anything else into '?', so that a name cut short is still valid
 * UTF-8 and one line.
 */
static void
safe_copy(char *out, size_t outlen, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < outlen && s[i] != '\0'; i++)
		out[i] = (unsigned char)s[i] >= 0x20 &&
		    (unsigned char)s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
}

static void
rfc3339(time_t when, char *out, size_t len)
{
	struct tm tm;

	gmtime_r(&when, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * Read a small file whole into buf (NUL-terminated).  0 with *got, or
 * -1 with errno; EFBIG when it holds len - 1 bytes or more.
 */
static int
read_small(const char *path, char *buf, size_t len, size_t *got)
{
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd, rc = -1, saved = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	while (off < len - 1) {
		if ((n = read(fd, buf + off, len - 1 - off)) == -1) {
			if (errno == EINTR)
				continue;
			saved = errno;
			goto out;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	if (off == len - 1) {
		saved = EFBIG;
		goto out;
	}
	buf[off] = '\0';
	*got = off;
	rc = 0;
out:
	close(fd);
	if (rc == -1)
		errno = saved;
	return rc;
}

/* The value of "KEY:   NNN kB" in /proc/meminfo, in bytes. */
static int
meminfo_bytes(const char *text, const char *key, uint64_t *out)
{
	const char		*line, *next, *v;
	char			*end;
	unsigned long long	 kb;
	size_t			 klen = strlen(key);

	for (line = text; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			next++;
		if (strncmp(line, key, klen) != 0 || line[klen] != ':')
			continue;
		for (v = line + klen + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (*v < '0' || *v > '9')
			return -1;
		errno = 0;
		kb = strtoull(v, &end, 10);
		if (errno != 0 || kb > INT64_MAX / 1024 ||
		    strncmp(end, " kB", 3) != 0)
			return -1;
		*out = (uint64_t)kb * 1024;
		return 0;
	}
	return -1;
}

/* Memory in bytes; sysconf stands in for a missing MemTotal. */
static void
node_memory(uint64_t *total, uint64_t *avail)
{
	char	 buf[COLLECT_PROC_MAX];
	size_t	 len;
	long	 pages, pagesize;

	*total = *avail = 0;
	if (read_small("/proc/meminfo", buf, sizeof(buf), &len) == 0) {
		(void)meminfo_bytes(buf, "MemTotal", total);
		(void)meminfo_bytes(buf, "MemAvailable", avail);
	}
	if (*total == 0 && (pages = sysconf(_SC_PHYS_PAGES)) > 0 &&
	    (pagesize = sysconf(_SC_PAGESIZE)) > 0 &&
	    (uint64_t)pages <= INT64_MAX / (uint64_t)pagesize)
		*total = (uint64_t)pages * (uint64_t)pagesize;
}

/* The 1, 5 and 15 minute load averages: 0, or -1. */
static int
node_load(double load[3])
{
	char	 buf[256];
	size_t	 len, i;

	if (read_small("/proc/loadavg", buf, sizeof(buf), &len) == -1 ||
	    sscanf(buf, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
		return -1;
	for (i = 0; i < 3; i++)
		if (!isfinite(load[i]) || load[i] < 0)
			return -1;
	return 0;
}

/* Seconds since boot: 0, or -1. */
static int
node_uptime(json_int_t *secs)
{
	char	 buf[256];
	double	 up;
	size_t	 len;

	if (read_small("/proc/uptime", buf, sizeof(buf), &len) == -1 ||
	    sscanf(buf, "%lf", &up) != 1 || !isfinite(up) || up < 0 ||
	    up > 1e12)
		return -1;
	*secs = (json_int_t)up;
	return 0;
}

json_t *
collect_node(void)
{
	char		 host[COLLECT_HOST_MAX + 2], name[COLLECT_HOST_MAX + 1];
	double		 load[3];
	uint64_t	 total, avail;
	json_int_t	 uptime;
	long		 cores;
	int		 have_load, have_uptime;

	if (gethostname(host, sizeof(host)) == -1) {
		log_warn("health: cannot read the host name: %s",
		    strerror(errno));
		return NULL;
	}
	host[sizeof(host) - 1] = '\0';
	safe_copy(name, sizeof(name), host[0] != '\0' ? host : "unknown");
	if ((cores = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		cores = 1;
	have_load = node_load(load) == 0;
	have_uptime = node_uptime(&uptime) == 0;
	node_memory(&total, &avail);

	/* A value that could not be read is left out ("*"), not faked. */
	return json_pack("{s:s, s:I, s:o*, s:o*, s:o*, s:o*, s:o*, s:o*}",
	    "name", name,
	    "cores", (json_int_t)cores,
	    "load1", have_load ? json_real(load[0]) : NULL,
	    "load5", have_load ? json_real(load[1]) : NULL,
	    "load15", have_load ? json_real(load[2]) : NULL,
	    "mem_total", total > 0 ? json_integer((json_int_t)total) : NULL,
	    "mem_available", avail > 0 ?
	    json_integer((json_int_t)avail) : NULL,
	    "uptime_s", have_uptime ? json_integer(uptime) : NULL);
}

/* blocks * unit in bytes, held at INT64_MAX: JSON integers are signed. */
static json_int_t
disk_bytes(uint64_t blocks, uint64_t unit)
{
	if (unit != 0 && blocks > (uint64_t)INT64_MAX / unit)
		return INT64_MAX;
	return (json_int_t)(blocks * unit);
}

json_t *
collect_disk(const char *path)
{
	struct statvfs	 sv;
	char		 shown[COLLECT_PATH_MAX + 1];
	uint64_t	 unit, used;
	int		 saved;

	safe_copy(shown, sizeof(shown), path);
	if (statvfs(path, &sv) == -1) {
		saved = errno;
		return json_pack("{s:s, s:b, s:s}", "path", shown, "ok", 0,
		    "error", strerror(saved));
	}
	unit = sv.f_frsize != 0 ? sv.f_frsize : sv.f_bsize;
	used = sv.f_blocks >= sv.f_bfree ? sv.f_blocks - sv.f_bfree : 0;
	return json_pack("{s:s, s:I, s:I, s:I, s:b}", "path", shown,
	    "size", disk_bytes(sv.f_blocks, unit),
	    "used", disk_bytes(used, unit),
	    "free", disk_bytes(sv.f_bavail, unit),
	    "ok", 1);
}

/* Is name one of the strings in names (NULL: empty)? */
static int
name_in(const json_t *names, const char *name)
{
	const json_t	*v;
	size_t		 i;

	for (i = 0; i < json_array_size(names); i++) {
		v = json_array_get(names, i);
		if (json_is_string(v) &&
		    strcmp(json_string_value(v), name) == 0)
			return 1;
	}
	return 0;
}

/* Append to out each name of from that is in neither other nor out. */
static int
names_missing(const json_t *from, const json_t *other, json_t *out)
{
	const json_t	*v;
	size_t		 i;

	for (i = 0; i < json_array_size(from); i++) {
		v = json_array_get(from, i);
		if (!json_is_string(v))
			return -1;
		if (name_in(other, json_string_value(v)) ||
		    name_in(out, json_string_value(v)))
			continue;
		if (json_array_append_new(out,
		    json_string(json_string_value(v))) == -1)
			return -1;
	}
	return 0;
}

int
collect_diff_nodes(json_t *before, json_t *after, json_t **added,
    json_t **removed)
{
	json_t	*a = NULL, *r = NULL;
	int	 rc = -1;

	*added = *removed = NULL;
	if ((before != NULL && !json_is_array(before)) ||
	    (after != NULL && !json_is_array(after)))
		goto out;
	if ((a = json_array()) == NULL || (r = json_array()) == NULL)
		goto out;
	if (names_missing(after, before, a) == -1 ||
	    names_missing(before, after, r) == -1)
		goto out;
	*added = a;
	a = NULL;
	*removed = r;
	r = NULL;
	rc = 0;
out:
	json_decref(a);
	json_decref(r);
	return rc;
}

/* An array of at most max strings, each 1..maxlen bytes? */
static int
names_valid(const json_t *names, size_t max, size_t maxlen)
{
	const json_t	*v;
	size_t		 i, len;

	if (!json_is_array(names) || json_array_size(names) > max)
		return 0;
	for (i = 0; i < json_array_size(names); i++) {
		v = json_array_get(names, i);
		if (!json_is_string(v))
			return 0;
		len = json_string_length(v);
		if (len == 0 || len > maxlen)
			return 0;
	}
	return 1;
}

static int
state_path(const struct collect *c, const char *suffix, char *out,
    size_t len)
{
	int n;

	n = snprintf(out, len, "%s/%s%s", c->pol->state_dir, COLLECT_STATE,
	    suffix);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/*
 * Read what was announced before this start.  A missing file is a
 * first start; an unreadable or invalid one is logged and treated as
 * one, so the inventory is announced again rather than never.
 */
static int
state_load(struct collect *c)
{
	char		 path[PATH_MAX], *buf = NULL;
	json_t		*j = NULL, *nodes, *seen, *down, *full;
	json_t		*empty = NULL;
	json_error_t	 jerr;
	size_t		 len;
	int		 rc = -1;

	if (state_path(c, "", path, sizeof(path)) == -1) {
		log_warn("health: state_dir is too long for %s",
		    COLLECT_STATE);
		goto out;
	}
	if ((buf = malloc(COLLECT_STATE_MAX + 2)) == NULL ||
	    (empty = json_array()) == NULL) {
		log_warn("%s: out of memory", path);
		goto out;
	}
	if (read_small(path, buf, COLLECT_STATE_MAX + 2, &len) == -1) {
		if (errno == ENOENT)
			rc = 0;
		else if (errno == EFBIG)
			log_warn("%s: larger than %d bytes; the inventory "
			    "will be announced again", path, COLLECT_STATE_MAX);
		else
			log_warn("%s: %s; the inventory will be announced "
			    "again", path, strerror(errno));
		goto out;
	}
	if ((j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		log_warn("%s:%d: %s; the inventory will be announced again",
		    path, jerr.line, jerr.text);
		goto out;
	}
	nodes = json_object_get(j, "nodes");
	seen = json_object_get(j, "services_up");
	/* Lists a gateway from before them did not write: none. */
	if ((down = json_object_get(j, "services_down")) == NULL)
		down = empty;
	if ((full = json_object_get(j, "disks_full")) == NULL)
		full = empty;
	if (!names_valid(nodes, COLLECT_MAX_NODES, COLLECT_HOST_MAX) ||
	    !names_valid(seen, COLLECT_MAX_SEEN, COLLECT_NAME_MAX) ||
	    !names_valid(down, COLLECT_MAX_ITEMS, COLLECT_NAME_MAX) ||
	    !names_valid(full, COLLECT_MAX_ITEMS, COLLECT_PATH_MAX)) {
		log_warn("%s: expected \"nodes\", \"services_up\", "
		    "\"services_down\" and \"disks_full\" lists of names; the "
		    "inventory will be announced again", path);
		goto out;
	}
	json_decref(c->nodes);
	c->nodes = json_incref(nodes);
	json_decref(c->seen_up);
	c->seen_up = json_incref(seen);
	json_decref(c->down);
	c->down = json_incref(down);
	json_decref(c->full);
	c->full = json_incref(full);
	rc = 0;
out:
	json_decref(j);
	json_decref(empty);
	free(buf);
	return rc;
}

/* collect.json whole: a temporary file, fsync, rename, fsync the dir. */
static int
state_save(struct collect *c)
{
	char	 path[PATH_MAX], err[PATH_MAX + 128], *text = NULL;
	json_t	*j;
	int	 rc = -1;

	if (state_path(c, "", path, sizeof(path)) == -1) {
		log_warn("health: state_dir is too long for %s",
		    COLLECT_STATE);
		return -1;
	}
	j = json_pack("{s:i, s:O, s:O, s:O, s:O}", "version",
	    COLLECT_STATE_VERSION, "nodes", c->nodes, "services_up",
	    c->seen_up, "services_down", c->down, "disks_full", c->full);
	text = j != NULL ? json_dumps(j, JSON_INDENT(2)) : NULL;
	json_decref(j);
	if (text == NULL)
		log_warn("%s: out of memory", path);
	else if (fileio_replace(path, text, strlen(text), 0600, err,
	    sizeof(err)) == -1)
		log_warn("%s", err);
	else
		rc = 0;
	free(text);
	return rc;
}

static void
resolver_free(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;

	(void)fd;
	(void)what;
	evdns_base_free(r->dns, 0);
	free(r);
}

static struct resolver *
resolver_new(struct event_base *base)
{
	struct resolver *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->base = base;
	r->refs = 1;
	/*
	 * /etc/resolv.conf and /etc/hosts; an idle resolver must not keep
	 * the event loop running on its own.
	 */
	if ((r->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE)) == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

/*
 * Drop one reference.  A lookup's callback runs inside evdns, which
 * still uses the resolver after it returns, so the last reference
 * dropped there frees it from a fresh event instead.
 */
static void
resolver_unref(struct resolver *r, int in_callback)
{
	static const struct timeval now = { 0, 0 };

	if (--r->refs > 0)
		return;
	if (!in_callback)
		resolver_free(-1, 0, r);
	else if (event_base_once(r->base, -1, EV_TIMEOUT, resolver_free, r,
	    &now) == -1)
		log_warn("health: cannot free the DNS resolver");
}

static const char *
probe_state_name(enum probe_state s)
{
	switch (s) {
	case PROBE_IDLE:
		return "idle";
	case PROBE_RESOLVING:
		return "resolving";
	case PROBE_CONNECTING:
		return "connecting";
	case PROBE_UP:
		return "up";
	case PROBE_DOWN:
		return "down";
	}
	return "?";
}

/* Every change of a probe's state goes through here. */
static void
probe_set_state(struct probe *p, enum probe_state to)
{
	static const unsigned allowed[] = {
		[PROBE_IDLE] = 1u << PROBE_RESOLVING | 1u << PROBE_CONNECTING |
		    1u << PROBE_DOWN,
		[PROBE_RESOLVING] = 1u << PROBE_CONNECTING | 1u << PROBE_DOWN,
		[PROBE_CONNECTING] = 1u << PROBE_CONNECTING | 1u << PROBE_UP |
		    1u << PROBE_DOWN,
		[PROBE_UP] = 0,
		[PROBE_DOWN] = 0
	};

	if ((allowed[p->state] & (1u << to)) == 0)
		fatal("health: service %s: a probe cannot go from %s to %s",
		    p->name, probe_state_name(p->state), probe_state_name(to));
	log_debug("health: service %s (%s): %s -> %s", p->name, p->address,
	    probe_state_name(p->state), probe_state_name(to));
	p->state = to;
}

/* Close the socket of the current try. */
static void
probe_close(struct probe *p)
{
	if (p->ev_conn != NULL) {
		event_free(p->ev_conn);
		p->ev_conn = NULL;
	}
	if (p->fd != -1) {
		close(p->fd);
		p->fd = -1;
	}
}

/* Stop whatever the probe still has going; it may be called again. */
static void
probe_release(struct probe *p)
{
	struct lookup *l;

	probe_close(p);
	if (p->ev_timeout != NULL)
		event_del(p->ev_timeout);
	if ((l = p->lookup) != NULL) {
		/* evdns calls back once more, with EVUTIL_EAI_CANCEL. */
		p->lookup = NULL;
		l->probe = NULL;
		if (l->req != NULL)
			evdns_getaddrinfo_cancel(l->req);
	}
}

/* Up or down: the probe is done; the last one finishes the round. */
static void
probe_end(struct probe *p)
{
	struct collect *c = p->c;

	probe_release(p);
	if (--c->pending == 0)
		event_active(c->ev_finish, EV_TIMEOUT, 0);
}

static void
probe_up(struct probe *p)
{
	uint64_t now = clock_mono_ms();

	p->latency_ms = now > p->conn_start ? now - p->conn_start : 0;
	probe_set_state(p, PROBE_UP);
	probe_end(p);
}

static void
probe_down(struct probe *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
	probe_set_state(p, PROBE_DOWN);
	probe_end(p);
}

static void
probe_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;

	(void)fd;
	(void)what;
	probe_down(p, "%s did not finish within %d ms",
	    p->state == PROBE_RESOLVING ? "name lookup" : "connect",
	    COLLECT_PROBE_MS);
}

/* The socket is writable: the connect has succeeded or failed. */
static void
probe_writable(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*p = arg;
	socklen_t	 len = sizeof(p->lasterr);

	(void)what;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &p->lasterr, &len) == -1)
		p->lasterr = errno;
	if (p->lasterr == 0) {
		probe_up(p);
		return;
	}
	probe_close(p);
	probe_connect(p);
}

/*
 * Try the remaining addresses in turn until one connects or starts to;
 * when none is left, the last failure marks the service down.
 */
static void
probe_connect(struct probe *p)
{
	struct sockaddr	*sa;
	socklen_t	 salen;

	while (p->next < p->naddr) {
		sa = (struct sockaddr *)&p->addr[p->next];
		salen = p->addrlen[p->next];
		p->next++;
		probe_set_state(p, PROBE_CONNECTING);
		if ((p->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0)) == -1) {
			p->lasterr = errno;
			continue;
		}
		p->conn_start = clock_mono_ms();
		if (connect(p->fd, sa, salen) == 0) {
			probe_up(p);
			return;
		}
		if (errno == EINPROGRESS) {
			if ((p->ev_conn = event_new(p->c->base, p->fd, EV_WRITE,
			    probe_writable, p)) == NULL ||
			    event_add(p->ev_conn, NULL) == -1)
				probe_down(p, "out of memory");
			return;
		}
		p->lasterr = errno;
		probe_close(p);
	}
	if (p->naddr == 0)
		probe_down(p, "no address to connect to");
	else
		probe_down(p, "connect: %s", strerror(p->lasterr));
}

/* Keep up to COLLECT_MAX_ADDRS IPv4 and IPv6 addresses of ai. */
static void
probe_addresses(struct probe *p, const struct evutil_addrinfo *ai)
{
	for (; ai != NULL && p->naddr < COLLECT_MAX_ADDRS; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(p->addr[0]))
			continue;
		memcpy(&p->addr[p->naddr], ai->ai_addr, ai->ai_addrlen);
		p->addrlen[p->naddr++] = (socklen_t)ai->ai_addrlen;
	}
}

static void
lookup_done(int result, struct evutil_addrinfo *ai, void *arg)
{
	struct lookup	*l = arg;
	struct probe	*p = l->probe;

	if (p != NULL) {
		p->lookup = NULL;
		if (result != 0)
			probe_down(p, "cannot resolve %s: %s", p->host,
			    evutil_gai_strerror(result));
		else {
			probe_addresses(p, ai);
			probe_connect(p);
		}
	}
	if (ai != NULL)
		evutil_freeaddrinfo(ai);
	resolver_unref(l->res, 1);
	free(l);
}

/* A host name: ask evdns, which answers through lookup_done. */
static void
probe_lookup(struct probe *p, const char *port)
{
	struct collect				*c = p->c;
	struct evutil_addrinfo			 hints;
	struct evdns_getaddrinfo_request	*req;
	struct lookup				*l;

	if (c->resolver == NULL && (c->resolver = resolver_new(c->base)) ==
	    NULL) {
		probe_down(p, "cannot resolve %s: no DNS resolver", p->host);
		return;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		probe_down(p, "out of memory");
		return;
	}
	l->res = c->resolver;
	l->res->refs++;
	l->probe = p;
	p->lookup = l;
	probe_set_state(p, PROBE_RESOLVING);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
	req = evdns_getaddrinfo(l->res->dns, p->host, port, &hints,
	    lookup_done, l);
	/* NULL: it has answered already, and l is gone. */
	if (req != NULL)
		l->req = req;
}

/*
 * Start one probe.  Every path ends in probe_up or probe_down, now or
 * from an event, and the deadline covers the lookup and all connects.
 */
static void
probe_start(struct probe *p)
{
	struct timeval		 tv;
	struct evutil_addrinfo	 hints, *ai = NULL;
	char			 port[8];
	int			 rc;

	tv.tv_sec = COLLECT_PROBE_MS / 1000;
	tv.tv_usec = (COLLECT_PROBE_MS % 1000) * 1000;
	if ((p->ev_timeout = evtimer_new(p->c->base, probe_timeout, p)) ==
	    NULL || evtimer_add(p->ev_timeout, &tv) == -1) {
		probe_down(p, "out of memory");
		return;
	}
	snprintf(port, sizeof(port), "%u", (unsigned)p->port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	/* An IP literal is converted here and never waits for anything. */
	hints.ai_flags = EVUTIL_AI_NUMERICHOST | EVUTIL_AI_NUMERICSERV;
	if ((rc = evutil_getaddrinfo(p->host, port, &hints, &ai)) == 0) {
		probe_addresses(p, ai);
		evutil_freeaddrinfo(ai);
		probe_connect(p);
	} else if (rc == EVUTIL_EAI_NONAME)
		probe_lookup(p, port);
	else
		probe_down(p, "%s: %s", p->host, evutil_gai_strerror(rc));
}

/* Copies, not pointers: a reload may free the policy mid-round. */
static void
probe_init(struct probe *p, struct collect *c,
    const struct policy_service *svc)
{
	p->c = c;
	p->state = PROBE_IDLE;
	p->fd = -1;
	safe_copy(p->name, sizeof(p->name), svc->name);
	safe_copy(p->host, sizeof(p->host), svc->host);
	p->port = svc->port;
	snprintf(p->address, sizeof(p->address),
	    strchr(p->host, ':') != NULL ? "[%s]:%u" : "%s:%u", p->host,
	    (unsigned)p->port);
}

static json_t *
probe_json(const struct probe *p)
{
	if (p->state == PROBE_UP)
		return json_pack("{s:s, s:s, s:s, s:I}", "name", p->name,
		    "address", p->address, "state", "up",
		    "latency_ms", (json_int_t)p->latency_ms);
	return json_pack("{s:s, s:s, s:s, s:s}", "name", p->name,
	    "address", p->address, "state", "down", "error", p->error);
}

/* End the round, finished or not: probes stopped, memory freed. */
static void
round_clear(struct collect *c)
{
	size_t i;

	for (i = 0; i < c->nprobes; i++) {
		probe_release(&c->probes[i]);
		if (c->probes[i].ev_timeout != NULL)
			event_free(c->probes[i].ev_timeout);
	}
	free(c->probes);
	c->probes = NULL;
	c->nprobes = c->pending = 0;
	json_decref(c->rec);
	c->rec = NULL;
	c->running = 0;
}

/* The names of the nodes in a health record, at most COLLECT_MAX_NODES. */
static json_t *
node_names(const json_t *nodes)
{
	json_t	*names, *name;
	size_t	 i;

	if ((names = json_array()) == NULL)
		return NULL;
	for (i = 0; i < json_array_size(nodes) &&
	    json_array_size(names) < COLLECT_MAX_NODES; i++) {
		name = json_object_get(json_array_get(nodes, i), "name");
		if (json_is_string(name) && !name_in(names,
		    json_string_value(name)) &&
		    json_array_append(names, name) == -1) {
			json_decref(names);
			return NULL;
		}
	}
	return names;
}

/* node_added / node_removed when the inventory differs from the last. */
static void
announce_nodes(struct collect *c)
{
	json_t	*names, *added = NULL, *removed = NULL, *v;
	size_t	 i;
	int	 failed = 0;

	/*
	 * No node at all means this host could not be read, not that it
	 * left the cluster.
	 */
	names = node_names(json_object_get(c->rec, "nodes"));
	if (names == NULL || json_array_size(names) == 0 ||
	    collect_diff_nodes(c->nodes, names, &added, &removed) == -1)
		goto out;
	if (json_array_size(added) == 0 && json_array_size(removed) == 0)
		goto out;
	json_array_foreach(added, i, v) {
		log_info("health: node %s added", json_string_value(v));
		failed |= telem_event_try(c->telem, "node_added",
		    json_pack("{s:O}", "node", v)) == -1;
	}
	json_array_foreach(removed, i, v) {
		log_info("health: node %s removed", json_string_value(v));
		failed |= telem_event_try(c->telem, "node_removed",
		    json_pack("{s:O}", "node", v)) == -1;
	}
	/*
	 * Not spooled (spool full, a write error): the old inventory stays,
	 * so the next round announces the change again - twice rather than
	 * never.
	 */
	if (failed)
		goto out;
	json_decref(c->nodes);
	c->nodes = names;
	names = NULL;
	c->dirty = 1;
out:
	json_decref(names);
	json_decref(added);
	json_decref(removed);
}

/* activegate_registered the first time such a service is seen up. */
static void
announce_services(struct collect *c)
{
	const struct probe	*p;
	size_t			 i;

	for (i = 0; i < c->nprobes; i++) {
		p = &c->probes[i];
		if (p->state != PROBE_UP || name_in(c->seen_up, p->name))
			continue;
		/* Bounded: the oldest name is forgotten first. */
		if (json_array_size(c->seen_up) >= COLLECT_MAX_SEEN)
			json_array_remove(c->seen_up, 0);
		if (json_array_append_new(c->seen_up,
		    json_string(p->name)) == -1)
			continue;
		c->dirty = 1;
		if (strncasecmp(p->name, ACTIVEGATE_PREFIX,
		    strlen(ACTIVEGATE_PREFIX)) != 0)
			continue;
		log_info("health: ActiveGate %s registered at %s", p->name,
		    p->address);
		/* Not spooled: forget it was seen, to announce it again. */
		if (telem_event_try(c->telem, "activegate_registered",
		    json_pack("{s:s, s:s}", "service", p->name,
		    "address", p->address)) == -1)
			json_array_remove(c->seen_up,
			    json_array_size(c->seen_up) - 1);
	}
}

/* Remove name from the list names, if it is there. */
static void
name_remove(json_t *names, const char *name)
{
	const json_t	*v;
	size_t		 i;

	for (i = 0; i < json_array_size(names); i++) {
		v = json_array_get(names, i);
		if (json_is_string(v) &&
		    strcmp(json_string_value(v), name) == 0) {
			json_array_remove(names, i);
			return;
		}
	}
}

/*
 * service_down when a probed service is found down (first found so, or
 * after it was up), service_up when it answers again.  A service no
 * longer configured is forgotten.
 */
static void
announce_probes(struct collect *c)
{
	const struct probe	*p;
	const json_t		*v;
	size_t			 i;
	int			 was_down, ok;

	for (i = 0; i < json_array_size(c->down);) {
		v = json_array_get(c->down, i);
		for (ok = 0, p = c->probes; !ok && p < c->probes + c->nprobes;
		    p++)
			ok = strcmp(p->name, json_string_value(v)) == 0;
		if (ok)
			i++;
		else {
			json_array_remove(c->down, i);
			c->dirty = 1;
		}
	}
	for (i = 0; i < c->nprobes; i++) {
		p = &c->probes[i];
		was_down = name_in(c->down, p->name);
		if ((p->state == PROBE_DOWN) == was_down)
			continue;
		if (p->state == PROBE_DOWN) {
			log_warn("health: service %s at %s is down: %s",
			    p->name, p->address, p->error);
			/* Not spooled: not told, told again next round. */
			if (json_array_size(c->down) >= COLLECT_MAX_ITEMS ||
			    telem_event_try(c->telem, "service_down",
			    json_pack("{s:s, s:s, s:s}", "service", p->name,
			    "address", p->address, "error", p->error)) == -1 ||
			    json_array_append_new(c->down,
			    json_string(p->name)) == -1)
				continue;
		} else {
			log_info("health: service %s at %s is up again",
			    p->name, p->address);
			if (telem_event_try(c->telem, "service_up",
			    json_pack("{s:s, s:s}", "service", p->name,
			    "address", p->address)) == -1)
				continue;
			name_remove(c->down, p->name);
		}
		c->dirty = 1;
	}
}

/* A disk's used share as df counts it (used of used + free), or -1. */
static double
disk_used_pct(const json_t *d)
{
	json_int_t used, avail;

	if (!json_is_true(json_object_get(d, "ok")))
		return -1;
	used = json_integer_value(json_object_get(d, "used"));
	avail = json_integer_value(json_object_get(d, "free"));
	if (used < 0 || avail < 0 || used + avail <= 0)
		return -1;
	return (double)used * 100.0 / ((double)used + (double)avail);
}

/*
 * disk_warn when a disk of disks crosses [telemetry] disk_warn; once it
 * is below again the next crossing is told again.
 */
static void
announce_disks(struct collect *c)
{
	const json_t	*d;
	const char	*path;
	unsigned	 lim = c->pol->disk_warn;
	double		 pct;
	size_t		 i;
	int		 was;

	json_array_foreach(json_object_get(c->rec, "disks"), i, d) {
		path = json_string_value(json_object_get(d, "path"));
		if (path == NULL || (pct = disk_used_pct(d)) < 0)
			continue;
		was = name_in(c->full, path);
		if (lim != 0 && pct >= lim && !was) {
			log_warn("health: disk %s is %.0f%% full (disk_warn "
			    "%u%%)", path, pct, lim);
			if (json_array_size(c->full) >= COLLECT_MAX_ITEMS ||
			    telem_event_try(c->telem, "disk_warn",
			    json_pack("{s:s, s:i, s:i}", "path", path,
			    "used_pct", (int)pct, "warn_pct",
			    (int)lim)) == -1 ||
			    json_array_append_new(c->full,
			    json_string(path)) == -1)
				continue;
			c->dirty = 1;
		} else if ((lim == 0 || pct < lim) && was) {
			log_info("health: disk %s is below disk_warn again "
			    "(%.0f%%)", path, pct);
			name_remove(c->full, path);
			c->dirty = 1;
		}
	}
}

/*
 * collect.json says what has been announced, so it is written only
 * after the events are durable: telem.c commits from an event it makes
 * active when a record is appended, and libevent runs the active
 * events of one priority in the order they became active, so this one,
 * made active after the appends, runs after that commit.  A crash in
 * between announces again; it never loses an announcement.
 */
static void
collect_save(evutil_socket_t fd, short what, void *arg)
{
	struct collect *c = arg;

	(void)fd;
	(void)what;
	if (c->dirty && state_save(c) == 0)
		c->dirty = 0;
}

/* The last probe is done: events, then the record. */
static void
collect_finish(evutil_socket_t fd, short what, void *arg)
{
	struct collect	*c = arg;
	json_t		*services;
	size_t		 i, up = 0;

	(void)fd;
	(void)what;
	if ((services = json_array()) != NULL)
		for (i = 0; i < c->nprobes; i++) {
			up += c->probes[i].state == PROBE_UP;
			json_array_append_new(services,
			    probe_json(&c->probes[i]));
		}
	if (c->announce) {
		announce_nodes(c);
		announce_services(c);
		announce_probes(c);
		announce_disks(c);
		if (c->dirty)
			event_active(c->ev_save, EV_TIMEOUT, 0);
	}
	json_object_set_new(c->rec, "services", services);
	log_debug("health: %zu of %zu services up, %zu disks", up,
	    c->nprobes, json_array_size(json_object_get(c->rec, "disks")));
	telem_record(c->telem, c->rec);
	c->rec = NULL;
	round_clear(c);
}

/* Node and disks now; the services when their probes are done. */
static int
round_start(struct collect *c)
{
	const struct policy	*pol = c->pol;
	json_t			*nodes = NULL, *disks = NULL;
	char			 ts[32];
	size_t			 i, n;
	int			 rc = -1;

	rfc3339(clock_now(), ts, sizeof(ts));
	if ((nodes = json_array()) == NULL || (disks = json_array()) == NULL)
		goto out;
	(void)json_array_append_new(nodes, collect_node());
	n = pol->ndisks < COLLECT_MAX_ITEMS ? pol->ndisks : COLLECT_MAX_ITEMS;
	for (i = 0; i < n; i++)
		if (json_array_append_new(disks,
		    collect_disk(pol->disks[i])) == -1)
			goto out;
	c->rec = json_pack("{s:s, s:s, s:s, s:o, s:o}", "class", "health",
	    "ts", ts, "cluster", pol->cluster_id, "nodes", nodes,
	    "disks", disks);
	nodes = disks = NULL;		/* taken by json_pack, even on error */
	if (c->rec == NULL)
		goto out;
	n = pol->nservices < COLLECT_MAX_ITEMS ? pol->nservices :
	    COLLECT_MAX_ITEMS;
	if (n > 0 && (c->probes = calloc(n, sizeof(*c->probes))) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		probe_init(&c->probes[i], c, &pol->services[i]);
	c->nprobes = c->pending = n;
	c->running = 1;
	c->announce = pol->tel_events;
	for (i = 0; i < n; i++)
		probe_start(&c->probes[i]);
	if (n == 0)
		event_active(c->ev_finish, EV_TIMEOUT, 0);
	rc = 0;
out:
	json_decref(nodes);
	json_decref(disks);
	return rc;
}

static void
collect_tick(evutil_socket_t fd, short what, void *arg)
{
	struct collect *c = arg;

	(void)fd;
	(void)what;
	if (c->running) {
		log_debug("health: the last round is still running");
		return;
	}
	/* telem.c filters each class; this only spares the work. */
	if (!c->pol->tel_health && !c->pol->tel_events)
		return;
	if (round_start(c) == -1) {
		log_warn("health: out of memory; no health record this time");
		round_clear(c);
	}
}

static int
collect_schedule(struct collect *c)
{
	struct timeval tv;

	tv.tv_sec = (time_t)c->pol->health_interval;
	tv.tv_usec = 0;
	if (event_add(c->ev_tick, &tv) == -1)
		return -1;
	c->interval = c->pol->health_interval;
	return 0;
}

static void
collect_limits(const struct policy *pol)
{
	if (pol->nservices > COLLECT_MAX_ITEMS)
		log_warn("health: %zu services are configured; only the first "
		    "%d are probed", pol->nservices, COLLECT_MAX_ITEMS);
	if (pol->ndisks > COLLECT_MAX_ITEMS)
		log_warn("health: %zu disks are configured; only the first "
		    "%d are reported", pol->ndisks, COLLECT_MAX_ITEMS);
}

struct collect *
collect_new(struct event_base *base, const struct policy *pol,
    struct telem *telem)
{
	struct collect	*c;
	struct timeval	 first;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_error("health: out of memory");
		return NULL;
	}
	c->base = base;
	c->pol = pol;
	c->telem = telem;
	if ((c->nodes = json_array()) == NULL ||
	    (c->seen_up = json_array()) == NULL ||
	    (c->down = json_array()) == NULL ||
	    (c->full = json_array()) == NULL ||
	    (c->ev_first = evtimer_new(base, collect_tick, c)) == NULL ||
	    (c->ev_tick = event_new(base, -1, EV_PERSIST, collect_tick,
	    c)) == NULL ||
	    (c->ev_finish = event_new(base, -1, 0, collect_finish, c)) ==
	    NULL ||
	    (c->ev_save = event_new(base, -1, 0, collect_save, c)) == NULL) {
		log_error("health: out of memory");
		goto fail;
	}
	(void)state_load(c);
	collect_limits(pol);
	first.tv_sec = COLLECT_FIRST_MS / 1000;
	first.tv_usec = (COLLECT_FIRST_MS % 1000) * 1000;
	if (evtimer_add(c->ev_first, &first) == -1 ||
	    collect_schedule(c) == -1) {
		log_error("health: cannot start the collection timer");
		goto fail;
	}
	return c;
fail:
	collect_free(c);
	return NULL;
}

void
collect_set_policy(struct collect *c, const struct policy *pol)
{
	c->pol = pol;
	collect_limits(pol);
	/*
	 * The next lookup makes a new resolver, so a reload also rereads
	 * /etc/resolv.conf and /etc/hosts; lookups in flight keep the old.
	 */
	if (c->resolver != NULL) {
		resolver_unref(c->resolver, 0);
		c->resolver = NULL;
	}
	/* Rescheduling restarts the period, so only a new interval does. */
	if (pol->health_interval != c->interval && collect_schedule(c) == -1)
		log_warn("health: cannot reschedule the collection timer");
}

void
collect_free(struct collect *c)
{
	if (c == NULL)
		return;
	/*
	 * Announcements not yet in collect.json stay out of it: they may
	 * not be durable, and announcing twice beats never.  A lookup
	 * still in flight is left to evdns: it is freed if the loop runs
	 * again, and simply not freed at exit.
	 */
	round_clear(c);
	if (c->ev_first != NULL)
		event_free(c->ev_first);
	if (c->ev_tick != NULL)
		event_free(c->ev_tick);
	if (c->ev_finish != NULL)
		event_free(c->ev_finish);
	if (c->ev_save != NULL)
		event_free(c->ev_save);
	if (c->resolver != NULL)
		resolver_unref(c->resolver, 0);
	json_decref(c->nodes);
	json_decref(c->seen_up);
	json_decref(c->down);
	json_decref(c->full);
	free(c);
}
