/*
 * test_collect.c - the health collectors: this host, disks, inventory
 * diffs, and a real collector on a real event loop writing into a real
 * spool, probing one listening and one refusing loopback socket.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <jansson.h>

#include "gateway/collect.h"
#include "gateway/telem.h"
#include "lib/log.h"
#include "policy/policy.h"
#include "telemetry/spool.h"

#define RUN_MS		3000	/* the first round comes after 1 s */
#define SLOW_RUN_MS	5000	/* ... and may wait 2 s for its probes */
#define GRACE_MS	300	/* after the first commit */
#define TICK_MS		50	/* how often the test's own timer runs */
#define RELOAD_MS	500	/* before the first round */

static char	tmpdir[] = "/tmp/test_collect.XXXXXX";
static char	conf_path[PATH_MAX];
static char	spool_dir[PATH_MAX];
static char	state_path[PATH_MAX];

static int
group_setup(void **state)
{
	(void)state;
	log_init("test_collect", 1, LOG_LVL_WARN);
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(conf_path, sizeof(conf_path), "%s/porthole.conf", tmpdir);
	snprintf(spool_dir, sizeof(spool_dir), "%s/%s", tmpdir,
	    TELEM_SPOOL_DIR);
	snprintf(state_path, sizeof(state_path), "%s/%s", tmpdir,
	    COLLECT_STATE);
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Start each libevent test without a spool or state from the last. */
static int
clean_state(void **state)
{
	char cmd[PATH_MAX * 2 + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", spool_dir, state_path);
	return system(cmd) == 0 ? 0 : -1;
}

static json_int_t
int_field(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		fail_msg("\"%s\" is not an integer", key);
	return json_integer_value(v);
}

static const char *
str_field(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("\"%s\" is not a string", key);
	return json_string_value(v);
}

static void
test_node(void **state)
{
	json_t	*n;
	char	 host[256];

	(void)state;
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	assert_non_null(n = collect_node());
	assert_string_equal(str_field(n, "name"), host);
	assert_true(int_field(n, "cores") >= 1);
	assert_true(int_field(n, "mem_total") > 0);
	assert_true(int_field(n, "mem_available") > 0);
	assert_true(int_field(n, "mem_available") <= int_field(n, "mem_total"));
	assert_true(int_field(n, "uptime_s") >= 0);
	assert_true(json_is_real(json_object_get(n, "load1")));
	assert_true(json_real_value(json_object_get(n, "load1")) >= 0);
	assert_true(json_is_real(json_object_get(n, "load5")));
	assert_true(json_is_real(json_object_get(n, "load15")));
	json_decref(n);
}

static void
test_disk(void **state)
{
	json_t *d;

	(void)state;
	assert_non_null(d = collect_disk("/"));
	assert_string_equal(str_field(d, "path"), "/");
	assert_true(json_is_true(json_object_get(d, "ok")));
	assert_true(int_field(d, "size") > 0);
	assert_true(int_field(d, "size") >= int_field(d, "used"));
	assert_true(int_field(d, "size") >= int_field(d, "free"));
	assert_null(json_object_get(d, "error"));
	json_decref(d);

	assert_non_null(d = collect_disk("/nonexistent/porthole-test"));
	assert_string_equal(str_field(d, "path"),
	    "/nonexistent/porthole-test");
	assert_true(json_is_false(json_object_get(d, "ok")));
	assert_string_equal(str_field(d, "error"),
	    "No such file or directory");
	assert_null(json_object_get(d, "size"));
	json_decref(d);
}

static json_t *
parse(const char *text)
{
	json_t *j;

	if (text == NULL)
		return NULL;
	if ((j = json_loads(text, JSON_DECODE_ANY, NULL)) == NULL)
		fail_msg("bad test JSON: %s", text);
	return j;
}

static void
test_diff_nodes(void **state)
{
	static const struct {
		const char	*before, *after;
		const char	*added, *removed;	/* NULL: refused */
	} t[] = {
		{ "[\"a\",\"b\"]", "[\"b\",\"a\"]", "[]", "[]" },
		{ "[]", "[]", "[]", "[]" },
		{ NULL, "[\"a\"]", "[\"a\"]", "[]" },		/* first run */
		{ "[]", "[\"a\",\"b\"]", "[\"a\",\"b\"]", "[]" },
		{ "[\"a\",\"b\"]", "[\"a\"]", "[]", "[\"b\"]" },
		{ "[\"a\"]", NULL, "[]", "[\"a\"]" },
		{ "[\"a\",\"b\"]", "[\"b\",\"c\"]", "[\"c\"]", "[\"a\"]" },
		{ "[\"a\"]", "[\"b\"]", "[\"b\"]", "[\"a\"]" },
		{ "[\"a\",\"a\"]", "[\"c\",\"c\"]", "[\"c\"]", "[\"a\"]" },
		{ "[1]", "[\"a\"]", NULL, NULL },
		{ "[\"a\"]", "[null]", NULL, NULL },
		{ "{}", "[\"a\"]", NULL, NULL },
		{ "[\"a\"]", "\"a\"", NULL, NULL },
	};
	json_t	*before, *after, *added, *removed, *want;
	size_t	 i;
	int	 rc;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		before = parse(t[i].before);
		after = parse(t[i].after);
		added = removed = (json_t *)&added;
		rc = collect_diff_nodes(before, after, &added, &removed);
		if (t[i].added == NULL) {
			assert_int_equal(rc, -1);
			assert_null(added);
			assert_null(removed);
		} else {
			assert_int_equal(rc, 0);
			want = parse(t[i].added);
			if (!json_equal(added, want))
				fail_msg("case %zu: wrong added", i);
			json_decref(want);
			want = parse(t[i].removed);
			if (!json_equal(removed, want))
				fail_msg("case %zu: wrong removed", i);
			json_decref(want);
		}
		json_decref(added);
		json_decref(removed);
		json_decref(before);
		json_decref(after);
	}
}

/* A loopback TCP socket on a free port: listening, or only bound. */
static int
loopback_socket(int listening, uint16_t *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd;

	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (listening)
		assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Connections waiting on a listening socket, accepted and closed. */
static int
pending_connections(int fd)
{
	int c, n = 0;

	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK),
	    0);
	while ((c = accept(fd, NULL, NULL)) != -1) {
		close(c);
		n++;
	}
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	return n;
}

static struct policy *
load_conf(const char *telemetry)
{
	struct policy	*p = NULL;
	char		 err[1024] = "";
	FILE		*f;

	assert_non_null(f = fopen(conf_path, "w"));
	fprintf(f,
	    "[gateway]\n"
	    "cluster_id = acme-prod\n"
	    "relay = relay.example.com:2222\n"
	    "relay_host_key = /etc/porthole/relay_host_key.pub\n"
	    "cluster_key = /etc/porthole/cluster_key\n"
	    "session_host_key = /etc/porthole/session_host_key\n"
	    "support_ca = /etc/porthole/support_ca.pub\n"
	    "state_dir = %s\n"
	    "audit_dir = %s/audit\n"
	    "run_dir = %s/run\n"
	    "\n"
	    "[telemetry]\n"
	    "%s", tmpdir, tmpdir, tmpdir, telemetry);
	assert_int_equal(fclose(f), 0);
	if (policy_load(conf_path, &p, err, sizeof(err)) == -1)
		fail_msg("porthole.conf: %s", err);
	return p;
}

/* One run of a collector on a fresh loop, with a real telem and spool. */
struct run {
	struct event_base	*base;
	struct collect		*c;
	struct telem		*telem;
	const struct policy	*reload;	/* at RELOAD_MS, or NULL */
	uint64_t		 last_tick;	/* ms */
	uint64_t		 max_gap;	/* longest the loop was away */
	int			 commits;
	int			 state_at_commit;	/* collect.json there */
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct run	*r = arg;
	uint64_t	 now = now_ms();

	(void)fd;
	(void)what;
	if (now - r->last_tick > r->max_gap)
		r->max_gap = now - r->last_tick;
	r->last_tick = now;
}

/*
 * The round's records are durable: stop soon.  The grace lets deferred
 * work (collect.json, cancelled lookups) finish first.
 */
static void
on_commit(void *arg)
{
	struct run	*r = arg;
	struct stat	 st;
	struct timeval	 grace = { 0, GRACE_MS * 1000 };

	if (r->commits++ > 0)
		return;
	r->state_at_commit = stat(state_path, &st) == 0;
	assert_int_equal(event_base_loopexit(r->base, &grace), 0);
}

/* A reload, as portholed does it on SIGHUP. */
static void
on_reload(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;

	(void)fd;
	(void)what;
	telem_set_policy(r->telem, r->reload);
	collect_set_policy(r->c, r->reload);
}

/*
 * Run a collector until its first commit, or for at most cap_ms; with
 * reload, that policy replaces pol before the first round.
 */
static void
run_collector(const struct policy *pol, const struct policy *reload,
    int cap_ms, struct run *r)
{
	struct event	*ticker;
	struct timeval	 cap = { cap_ms / 1000, (cap_ms % 1000) * 1000 };
	struct timeval	 tick = { 0, TICK_MS * 1000 };
	struct timeval	 rl = { 0, RELOAD_MS * 1000 };
	char		 err[256];

	memset(r, 0, sizeof(*r));
	r->reload = reload;
	assert_non_null(r->base = event_base_new());
	if ((r->telem = telem_new(r->base, pol, err, sizeof(err))) == NULL)
		fail_msg("telem_new: %s", err);
	telem_on_commit(r->telem, on_commit, r);
	assert_non_null(r->c = collect_new(r->base, pol, r->telem));
	assert_non_null(ticker = event_new(r->base, -1, EV_PERSIST, on_tick,
	    r));
	assert_int_equal(event_add(ticker, &tick), 0);
	if (reload != NULL)
		assert_int_equal(event_base_once(r->base, -1, EV_TIMEOUT,
		    on_reload, r, &rl), 0);
	assert_int_equal(event_base_loopexit(r->base, &cap), 0);
	r->last_tick = now_ms();
	assert_int_equal(event_base_dispatch(r->base), 0);
	collect_free(r->c);
	telem_free(r->telem);
	event_free(ticker);
	event_base_free(r->base);
	r->base = NULL;
	r->c = NULL;
	r->telem = NULL;
}

struct seen {
	json_t		*health;	/* array of health records */
	json_t		*events;	/* array of event records */
	uint64_t	 last_seq;
};

static int
visit(void *arg, uint64_t seq, enum record_class cls, const char *rec,
    size_t len)
{
	struct seen	*s = arg;
	json_t		*j;

	if ((j = json_loadb(rec, len, 0, NULL)) == NULL)
		fail_msg("spool record %llu is not JSON",
		    (unsigned long long)seq);
	if (cls == RECORD_HEALTH)
		json_array_append_new(s->health, j);
	else if (cls == RECORD_EVENT)
		json_array_append_new(s->events, j);
	else
		json_decref(j);
	s->last_seq = seq;
	return 0;
}

/* The records after seq `after`, from the spool on disk. */
static void
read_spool(uint64_t after, struct seen *s)
{
	struct spool	*sp;
	char		 err[256];

	assert_non_null(s->health = json_array());
	assert_non_null(s->events = json_array());
	s->last_seq = after;
	if (spool_open(spool_dir, TELEM_SPOOL_MAX, &sp, err,
	    sizeof(err)) == -1)
		fail_msg("spool_open: %s", err);
	assert_true(spool_read(sp, after, 1000, 1 << 20, visit, s) >= 0);
	spool_close(sp);
}

static void
seen_free(struct seen *s)
{
	json_decref(s->health);
	json_decref(s->events);
}

/* Events of type, with field == value (NULL: any). */
static size_t
count_events(const struct seen *s, const char *type, const char *field,
    const char *value)
{
	const json_t	*e, *v;
	size_t		 i, n = 0;

	json_array_foreach(s->events, i, e) {
		if (strcmp(str_field(e, "type"), type) != 0)
			continue;
		if (field != NULL && (!json_is_string(v = json_object_get(e,
		    field)) || strcmp(json_string_value(v), value) != 0))
			continue;
		n++;
	}
	return n;
}

static const json_t *
find_named(const json_t *list, const char *key, const char *name)
{
	const json_t	*v;
	size_t		 i;

	json_array_foreach(list, i, v)
		if (strcmp(str_field(v, key), name) == 0)
			return v;
	fail_msg("no entry with %s \"%s\"", key, name);
	return NULL;
}

/* Does the collector's resolver find localhost at 127.0.0.1 here? */
static int	byname_up;

struct lookup_result {
	int	done;
	int	loopback;
};

static void
localhost_looked_up(int result, struct evutil_addrinfo *ai, void *arg)
{
	struct lookup_result	*r = arg;
	struct evutil_addrinfo	*a;

	for (a = ai; result == 0 && a != NULL; a = a->ai_next)
		if (a->ai_family == AF_INET &&
		    ((struct sockaddr_in *)(void *)a->ai_addr)->sin_addr.s_addr ==
		    htonl(INADDR_LOOPBACK))
			r->loopback = 1;
	if (ai != NULL)
		evutil_freeaddrinfo(ai);
	r->done = 1;
}

/*
 * Whether localhost resolves is this machine's /etc/hosts' choice, and the
 * collector asks evdns, which reads that file itself (and, unlike glibc,
 * knows localhost when the file is missing).  So ask evdns the same way.
 */
static int
evdns_localhost_is_loopback(void)
{
	struct event_base	*base;
	struct evdns_base	*dns;
	struct evutil_addrinfo	 hints;
	struct lookup_result	 r = { 0, 0 };

	assert_non_null(base = event_base_new());
	assert_non_null(dns = evdns_base_new(base,
	    EVDNS_BASE_INITIALIZE_NAMESERVERS));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	evdns_getaddrinfo(dns, "localhost", NULL, &hints, localhost_looked_up,
	    &r);
	while (!r.done)
		assert_int_not_equal(event_base_loop(base, EVLOOP_ONCE), -1);
	evdns_base_free(dns, 0);
	event_base_free(base);
	return r.loopback;
}

static void
check_health(const json_t *h, const char *host, uint16_t up_port,
    uint16_t down_port)
{
	const json_t	*svc, *disk, *nodes;
	char		 addr[64];

	assert_string_equal(str_field(h, "cluster"), "acme-prod");
	assert_int_equal(strlen(str_field(h, "ts")), 20);
	nodes = json_object_get(h, "nodes");
	assert_int_equal(json_array_size(nodes), 1);
	assert_string_equal(str_field(json_array_get(nodes, 0), "name"), host);
	assert_true(int_field(json_array_get(nodes, 0), "cores") >= 1);

	assert_int_equal(json_array_size(json_object_get(h, "services")), 3);
	svc = find_named(json_object_get(h, "services"), "name",
	    "activegate-1");
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)up_port);
	assert_string_equal(str_field(svc, "address"), addr);
	assert_string_equal(str_field(svc, "state"), "up");
	assert_true(int_field(svc, "latency_ms") >= 0);
	assert_null(json_object_get(svc, "error"));

	svc = find_named(json_object_get(h, "services"), "name", "server");
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)down_port);
	assert_string_equal(str_field(svc, "address"), addr);
	assert_string_equal(str_field(svc, "state"), "down");
	assert_non_null(strstr(str_field(svc, "error"), "refused"));

	/*
	 * A host name goes through the resolver (/etc/hosts); a name that
	 * does not resolve is a service down, with the reason.
	 */
	svc = find_named(json_object_get(h, "services"), "name", "byname");
	snprintf(addr, sizeof(addr), "localhost:%u", (unsigned)up_port);
	assert_string_equal(str_field(svc, "address"), addr);
	if (byname_up)
		assert_string_equal(str_field(svc, "state"), "up");
	else {
		assert_string_equal(str_field(svc, "state"), "down");
		assert_non_null(json_object_get(svc, "error"));
	}

	assert_int_equal(json_array_size(json_object_get(h, "disks")), 2);
	disk = find_named(json_object_get(h, "disks"), "path", "/");
	assert_true(json_is_true(json_object_get(disk, "ok")));
	assert_true(int_field(disk, "size") >= int_field(disk, "used"));
	disk = find_named(json_object_get(h, "disks"), "path",
	    "/nonexistent/porthole-test");
	assert_true(json_is_false(json_object_get(disk, "ok")));
	assert_non_null(json_object_get(disk, "error"));
}

static void
test_collector(void **state)
{
	struct policy	*pol;
	struct seen	 s1, s2;
	struct run	 r;
	struct stat	 st;
	char		 host[256], tel[512];
	uint16_t	 up_port, down_port;
	int		 up_fd, down_fd;

	(void)state;
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	byname_up = evdns_localhost_is_loopback();
	up_fd = loopback_socket(1, &up_port);
	down_fd = loopback_socket(0, &down_port);	/* bound: refuses */
	snprintf(tel, sizeof(tel),
	    "health_interval = 10s\n"
	    "disks = /, /nonexistent/porthole-test\n"
	    "disk_warn = off\n"
	    "services = activegate-1=127.0.0.1:%u, server=127.0.0.1:%u, "
	    "byname=localhost:%u\n",
	    (unsigned)up_port, (unsigned)down_port, (unsigned)up_port);
	pol = load_conf(tel);

	/* First start: one record, the node and the ActiveGate announced. */
	run_collector(pol, NULL, RUN_MS, &r);
	assert_int_equal(r.commits, 1);
	read_spool(0, &s1);
	assert_int_equal(json_array_size(s1.health), 1);
	check_health(json_array_get(s1.health, 0), host, up_port, down_port);
	assert_int_equal(count_events(&s1, "node_added", "node", host), 1);
	assert_int_equal(count_events(&s1, "node_added", NULL, NULL), 1);
	assert_int_equal(count_events(&s1, "node_removed", NULL, NULL), 0);
	assert_int_equal(count_events(&s1, "activegate_registered", "service",
	    "activegate-1"), 1);
	assert_int_equal(count_events(&s1, "activegate_registered", NULL,
	    NULL), 1);
	/* server refuses: found down at the first probe. */
	assert_int_equal(count_events(&s1, "service_down", "service",
	    "server"), 1);
	assert_int_equal(count_events(&s1, "service_down", NULL, NULL), 1);
	assert_string_equal(str_field(find_named(s1.events, "type",
	    "service_down"), "error"), "connect: Connection refused");
	assert_int_equal(json_array_size(s1.events), 3);
	assert_string_equal(str_field(find_named(s1.events, "type",
	    "activegate_registered"), "address"), str_field(find_named(
	    json_object_get(json_array_get(s1.health, 0), "services"), "name",
	    "activegate-1"), "address"));
	assert_string_equal(str_field(json_array_get(s1.events, 0), "cluster"),
	    "acme-prod");
	/* collect.json says "announced" only once the events are durable. */
	assert_false(r.state_at_commit);
	assert_int_equal(stat(state_path, &st), 0);

	/* A restart on the same state_dir: health again, nothing announced. */
	run_collector(pol, NULL, RUN_MS, &r);
	read_spool(s1.last_seq, &s2);
	assert_int_equal(json_array_size(s2.health), 1);
	check_health(json_array_get(s2.health, 0), host, up_port, down_port);
	assert_int_equal(json_array_size(s2.events), 0);
	/* activegate-1 and byname (when it resolves), twice each. */
	assert_int_equal(pending_connections(up_fd), byname_up ? 4 : 2);

	seen_free(&s1);
	seen_free(&s2);
	policy_free(pol);
	close(up_fd);
	close(down_fd);
}

/*
 * A service found down, then up again: service_down once, service_up
 * once, and neither again after a restart.  A disk over disk_warn:
 * disk_warn once, not again while it stays over.
 */
static void
test_service_transitions(void **state)
{
	struct policy	*pol;
	struct seen	 s;
	struct run	 r;
	char		 tel[512];
	uint16_t	 port;
	int		 fd;
	uint64_t	 after;

	(void)state;
	fd = loopback_socket(0, &port);		/* bound, not listening */
	snprintf(tel, sizeof(tel),
	    "health_interval = 10s\n"
	    "disks = /\n"
	    "disk_warn = 1%%\n"
	    "services = server=127.0.0.1:%u\n", (unsigned)port);
	pol = load_conf(tel);
	run_collector(pol, NULL, RUN_MS, &r);
	read_spool(0, &s);
	assert_int_equal(count_events(&s, "service_down", "service",
	    "server"), 1);
	assert_int_equal(count_events(&s, "disk_warn", "path", "/"), 1);
	assert_int_equal(json_integer_value(json_object_get(find_named(
	    s.events, "type", "disk_warn"), "warn_pct")), 1);
	after = s.last_seq;
	seen_free(&s);

	/* Still down, still full: nothing new. */
	run_collector(pol, NULL, RUN_MS, &r);
	read_spool(after, &s);
	assert_int_equal(json_array_size(s.events), 0);
	after = s.last_seq;
	seen_free(&s);

	/* It answers again. */
	assert_int_equal(listen(fd, 16), 0);
	run_collector(pol, NULL, RUN_MS, &r);
	read_spool(after, &s);
	assert_int_equal(count_events(&s, "service_up", "service", "server"),
	    1);
	assert_int_equal(json_array_size(s.events), 1);
	after = s.last_seq;
	seen_free(&s);
	run_collector(pol, NULL, RUN_MS, &r);
	read_spool(after, &s);
	assert_int_equal(json_array_size(s.events), 0);
	seen_free(&s);
	assert_int_equal(pending_connections(fd), 2);
	policy_free(pol);
	close(fd);
}

/*
 * A listener whose queue is full: a connect to it neither succeeds nor
 * fails, as with a host that has gone quiet.
 */
static int
silent_socket(uint16_t *port, int *filler)
{
	struct sockaddr_in	 sin;
	int			 fd, i;

	fd = loopback_socket(0, port);
	assert_int_equal(listen(fd, 0), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(*port);
	for (i = 0; i < 2; i++) {
		assert_true((filler[i] = socket(AF_INET, SOCK_STREAM |
		    SOCK_NONBLOCK, 0)) != -1);
		(void)connect(filler[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	usleep(100 * 1000);
	return fd;
}

/*
 * A silent service and a name that does not exist: both down, the
 * record still comes, and the loop ran on meanwhile.
 */
static void
test_probe_timeout(void **state)
{
	struct policy	*pol;
	const json_t	*svc;
	struct seen	 s;
	struct run	 r;
	char		 tel[512];
	uint16_t	 port;
	int		 fd, filler[2];

	(void)state;
	fd = silent_socket(&port, filler);
	snprintf(tel, sizeof(tel),
	    "health_interval = 10s\n"
	    "services = slow=127.0.0.1:%u\n",
	    (unsigned)port);
	pol = load_conf(tel);
	run_collector(pol, NULL, SLOW_RUN_MS, &r);
	assert_int_equal(r.commits, 1);
	read_spool(0, &s);
	assert_int_equal(json_array_size(s.health), 1);
	svc = find_named(json_object_get(json_array_get(s.health, 0),
	    "services"), "name", "slow");
	assert_string_equal(str_field(svc, "state"), "down");
	assert_string_equal(str_field(svc, "error"),
	    "connect did not finish within 2000 ms");
	/* The loop never waited on a probe. */
	if (r.max_gap > 500)
		fail_msg("the event loop was away for %llu ms",
		    (unsigned long long)r.max_gap);
	seen_free(&s);
	policy_free(pol);
	close(filler[0]);
	close(filler[1]);
	close(fd);
}

/* Freed mid-round: the probes are dropped, and no record goes out. */
static void
test_free_mid_round(void **state)
{
	struct policy	*pol;
	struct seen	 s;
	struct run	 r;
	char		 tel[256];
	uint16_t	 port;
	int		 fd, filler[2];

	(void)state;
	fd = silent_socket(&port, filler);
	snprintf(tel, sizeof(tel), "health_interval = 10s\n"
	    "services = slow=127.0.0.1:%u\n", (unsigned)port);
	pol = load_conf(tel);
	run_collector(pol, NULL, 1500, &r);
	assert_int_equal(r.commits, 0);
	read_spool(0, &s);
	assert_int_equal(json_array_size(s.health), 0);
	seen_free(&s);
	policy_free(pol);
	close(filler[0]);
	close(filler[1]);
	close(fd);
}

/* A changed inventory in collect.json: the node is new, the old one gone. */
static void
test_inventory_change(void **state)
{
	struct policy	*pol;
	struct seen	 s;
	struct run	 r;
	FILE		*f;
	char		 host[256];

	(void)state;
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	assert_non_null(f = fopen(state_path, "w"));
	fprintf(f, "{\"version\":1,\"nodes\":[\"%s\",\"old-node\"],"
	    "\"services_up\":[]}\n", host);
	assert_int_equal(fclose(f), 0);
	pol = load_conf("health_interval = 10s\n");
	run_collector(pol, NULL, RUN_MS, &r);
	read_spool(0, &s);
	assert_int_equal(json_array_size(s.health), 1);
	assert_int_equal(count_events(&s, "node_added", NULL, NULL), 0);
	assert_int_equal(count_events(&s, "node_removed", "node", "old-node"),
	    1);
	assert_int_equal(json_array_size(s.events), 1);
	seen_free(&s);

	/* And the file now says so: the next start announces nothing. */
	run_collector(pol, NULL, RUN_MS, &r);
	read_spool(0, &s);
	assert_int_equal(json_array_size(s.health), 2);
	assert_int_equal(json_array_size(s.events), 1);
	seen_free(&s);
	policy_free(pol);
}

/* A corrupt collect.json is a first start, not a failure. */
static void
test_corrupt_state(void **state)
{
	struct policy	*pol;
	struct seen	 s;
	struct run	 r;
	FILE		*f;
	char		 host[256];

	(void)state;
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	assert_non_null(f = fopen(state_path, "w"));
	fputs("{\"nodes\": [1, 2", f);
	assert_int_equal(fclose(f), 0);
	pol = load_conf("health_interval = 10s\n");
	log_set_level(LOG_LVL_ERROR);		/* the warning is expected */
	run_collector(pol, NULL, RUN_MS, &r);
	log_set_level(LOG_LVL_WARN);
	read_spool(0, &s);
	assert_int_equal(json_array_size(s.health), 1);
	assert_int_equal(count_events(&s, "node_added", "node", host), 1);
	seen_free(&s);
	policy_free(pol);
}

/* With health and events both off nothing is probed, sent or written. */
static void
test_all_off(void **state)
{
	struct policy	*pol;
	struct seen	 s;
	struct run	 r;
	struct stat	 st;
	char		 tel[256];
	uint16_t	 port;
	int		 fd;

	(void)state;
	fd = loopback_socket(1, &port);
	snprintf(tel, sizeof(tel), "health = no\nevents = no\n"
	    "health_interval = 10s\nservices = s=127.0.0.1:%u\n",
	    (unsigned)port);
	pol = load_conf(tel);
	run_collector(pol, NULL, 1500, &r);
	assert_int_equal(r.commits, 0);
	read_spool(0, &s);
	assert_int_equal(json_array_size(s.health), 0);
	assert_int_equal(json_array_size(s.events), 0);
	assert_int_equal(stat(state_path, &st), -1);
	/* No probe connected to the service. */
	assert_int_equal(pending_connections(fd), 0);
	seen_free(&s);
	policy_free(pol);
	close(fd);
}

/* Events off: health still goes out, and nothing counts as announced. */
static void
test_events_off(void **state)
{
	struct policy	*pol;
	struct seen	 s;
	struct run	 r;
	struct stat	 st;

	(void)state;
	pol = load_conf("events = no\nhealth_interval = 10s\n");
	run_collector(pol, NULL, RUN_MS, &r);
	read_spool(0, &s);
	assert_int_equal(json_array_size(s.health), 1);
	assert_int_equal(json_array_size(s.events), 0);
	assert_int_equal(stat(state_path, &st), -1);
	seen_free(&s);
	policy_free(pol);
}

/* After a reload the next round probes and measures what it says. */
static void
test_set_policy(void **state)
{
	struct policy	*before, *after;
	const json_t	*h;
	struct seen	 s;
	struct run	 r;
	char		 tel[256];
	uint16_t	 port;
	int		 fd;

	(void)state;
	fd = loopback_socket(1, &port);
	before = load_conf("health_interval = 10s\ndisks = /\n"
	    "services = old=127.0.0.1:1\n");
	snprintf(tel, sizeof(tel), "health_interval = 20s\n"
	    "services = activegate-2=127.0.0.1:%u\n", (unsigned)port);
	after = load_conf(tel);
	run_collector(before, after, RUN_MS, &r);
	read_spool(0, &s);
	assert_int_equal(json_array_size(s.health), 1);
	h = json_array_get(s.health, 0);
	assert_int_equal(json_array_size(json_object_get(h, "disks")), 0);
	assert_int_equal(json_array_size(json_object_get(h, "services")), 1);
	assert_string_equal(str_field(find_named(json_object_get(h,
	    "services"), "name", "activegate-2"), "state"), "up");
	assert_int_equal(count_events(&s, "activegate_registered", "service",
	    "activegate-2"), 1);
	seen_free(&s);
	policy_free(before);
	policy_free(after);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node),
		cmocka_unit_test(test_disk),
		cmocka_unit_test(test_diff_nodes),
		cmocka_unit_test_setup(test_collector, clean_state),
		cmocka_unit_test_setup(test_service_transitions, clean_state),
		cmocka_unit_test_setup(test_probe_timeout, clean_state),
		cmocka_unit_test_setup(test_free_mid_round, clean_state),
		cmocka_unit_test_setup(test_inventory_change, clean_state),
		cmocka_unit_test_setup(test_corrupt_state, clean_state),
		cmocka_unit_test_setup(test_all_off, clean_state),
		cmocka_unit_test_setup(test_events_off, clean_state),
		cmocka_unit_test_setup(test_set_policy, clean_state),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
