/*
 * relay_conf.c - read relay.conf strictly: unknown sections and keys,
 * bad values and missing required keys are errors with FILE:LINE.
 */
#include "relay/relay_conf.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/ident.h"
#include "lib/inifile.h"
#include "lib/keepalive.h"
#include "lib/parse.h"
#include "relay/store_uri.h"

#define F(field)	offsetof(struct relay_conf, field)

/* sshd's defaults, but a shorter grace: a relay login is one key. */
#define DEFAULT_STARTUPS_START	10
#define DEFAULT_STARTUPS_RATE	30
#define DEFAULT_STARTUPS_FULL	100
#define DEFAULT_PER_SOURCE	10
#define DEFAULT_LOGIN_GRACE	20

/* [alerts] as DESIGN.md gives them. */
static const struct relay_alert_rules default_alerts = {
	.disk_used = 85,
	.memory_available = 10,
	.load_per_core = 2.0,
	.hold = 600,
	.service_down = 3,
	.offline = 1800,
	.node_lost = 1
};

struct conf_ctx {
	struct relay_conf	*c;
	int			 seen_relay;
	int			 seen_listen;
};

static int
valid_id(const char *s)
{
	return ident_valid(s, 64, IDENT_NAME);
}

static int
set_string(char **dst, const char *value, char *msg, size_t len)
{
	free(*dst);
	if ((*dst = strdup(value)) == NULL) {
		snprintf(msg, len, "out of memory");
		return -1;
	}
	return 0;
}

static int
set_path(char **dst, const char *key, const char *value, char *msg,
    size_t len)
{
	if (value[0] != '/') {
		snprintf(msg, len, "%s: must be an absolute path", key);
		return -1;
	}
	return set_string(dst, value, msg, len);
}

/*
 * database = the path of the SQLite file, or a PostgreSQL URI without a
 * password (relay/store_uri.h).
 */
static int
set_database(char **dst, const char *value, char *msg, size_t len)
{
	char why[256];

	if (!store_uri_is_pg(value))
		return set_path(dst, "database", value, msg, len);
	if (store_uri_check(value, why, sizeof(why)) == -1) {
		snprintf(msg, len, "database: %s", why);
		return -1;
	}
	return set_string(dst, value, msg, len);
}

/*
 * max_startups = START:RATE:FULL as sshd reads MaxStartups: below START
 * unauthenticated connections everything is admitted, from START on a
 * new one is refused with a chance rising from RATE percent to 100 at
 * FULL.  A single number N is the hard limit N (N:100:N).
 */
static int
set_startups(struct relay_conf *c, const char *value, char *msg, size_t len)
{
	char		 buf[64], *rate, *full;
	uint64_t	 s, r, f;

	if (strlen(value) >= sizeof(buf))
		goto bad;
	snprintf(buf, sizeof(buf), "%s", value);
	if ((rate = strchr(buf, ':')) == NULL) {
		if (parse_uint(buf, 1, RELAY_MAX_STARTUPS, &s) == -1)
			goto bad;
		c->startups_start = c->startups_full = (unsigned)s;
		c->startups_rate = 100;
		return 0;
	}
	*rate++ = '\0';
	if ((full = strchr(rate, ':')) == NULL)
		goto bad;
	*full++ = '\0';
	if (parse_uint(buf, 1, RELAY_MAX_STARTUPS, &s) == -1 ||
	    parse_uint(rate, 1, 100, &r) == -1 ||
	    parse_uint(full, 1, RELAY_MAX_STARTUPS, &f) == -1)
		goto bad;
	if (s > f) {
		snprintf(msg, len, "max_startups: START (%llu) must not exceed "
		    "FULL (%llu)", (unsigned long long)s, (unsigned long long)f);
		return -1;
	}
	c->startups_start = (unsigned)s;
	c->startups_rate = (unsigned)r;
	c->startups_full = (unsigned)f;
	return 0;
bad:
	snprintf(msg, len, "max_startups: expected START:RATE:FULL (START "
	    "and FULL 1-%d, RATE 1-100 percent) or one number, got '%s'",
	    RELAY_MAX_STARTUPS, value);
	return -1;
}

static int
set_per_source(struct relay_conf *c, const char *value, char *msg,
    size_t len)
{
	uint64_t v;

	if (parse_uint(value, 1, RELAY_MAX_STARTUPS, &v) == -1) {
		snprintf(msg, len, "max_per_source: expected a number 1-%d, "
		    "got '%s'", RELAY_MAX_STARTUPS, value);
		return -1;
	}
	c->per_source = (unsigned)v;
	return 0;
}

static int
set_grace(struct relay_conf *c, const char *value, char *msg, size_t len)
{
	uint64_t v;

	if (parse_duration(value, &v) == -1 || v < 1 ||
	    v > RELAY_MAX_GRACE) {
		snprintf(msg, len, "login_grace: expected a duration from 1s "
		    "to %dm (e.g. 20s), got '%s'", RELAY_MAX_GRACE / 60, value);
		return -1;
	}
	c->login_grace = (unsigned)v;
	return 0;
}

static int
set_keepalive_interval(struct relay_conf *c, const char *value, char *msg,
    size_t len)
{
	uint64_t v;

	if (parse_duration(value, &v) == -1 || v < KEEPALIVE_INTERVAL_MIN ||
	    v > KEEPALIVE_INTERVAL_MAX) {
		snprintf(msg, len, "keepalive_interval: expected a duration "
		    "from %ds to %dm (like 15s), got '%s'",
		    KEEPALIVE_INTERVAL_MIN, KEEPALIVE_INTERVAL_MAX / 60, value);
		return -1;
	}
	c->keepalive_interval = (unsigned)v;
	return 0;
}

static int
set_keepalive_count(struct relay_conf *c, const char *value, char *msg,
    size_t len)
{
	uint64_t v;

	if (parse_uint(value, KEEPALIVE_COUNT_MIN, KEEPALIVE_COUNT_MAX,
	    &v) == -1) {
		snprintf(msg, len, "keepalive_count: expected a number from %d "
		    "to %d, got '%s'", KEEPALIVE_COUNT_MIN, KEEPALIVE_COUNT_MAX,
		    value);
		return -1;
	}
	c->keepalive_count = (unsigned)v;
	return 0;
}

/*
 * bundle_quota = SIZE: the bytes of support bundles the store keeps for
 * one cluster (relay/store.h, store_set_bundle_quota).
 */
static int
set_bundle_quota(struct relay_conf *c, const char *value, char *msg,
    size_t len)
{
	uint64_t v;

	if (parse_size(value, &v) == -1 || v < RELAY_BUNDLE_QUOTA_MIN) {
		snprintf(msg, len, "bundle_quota: expected a size from 1M to "
		    "1T (like 2G), got '%s'", value);
		return -1;
	}
	c->bundle_quota = v;
	return 0;
}

static int
conf_section(void *arg, const char *section, int line, char *msg,
    size_t len)
{
	struct conf_ctx		*x = arg;
	struct relay_conf	*c = x->c;
	struct relay_cluster	*nc;
	const char		*id;

	if (strcmp(section, "relay") == 0) {
		x->seen_relay = 1;
		c->relay_line = line;
		return 0;
	}
	if (strcmp(section, "alerts") == 0)
		return 0;
	if (strncmp(section, "cluster ", 8) != 0) {
		snprintf(msg, len, "unknown section [%s]", section);
		return -1;
	}
	id = section + 8;
	if (!valid_id(id)) {
		snprintf(msg, len, "invalid cluster id '%s' "
		    "(1-64 of A-Z a-z 0-9 . _ -)", id);
		return -1;
	}
	if (c->nclusters >= RELAY_MAX_CLUSTERS) {
		snprintf(msg, len, "too many clusters (at most %d)",
		    RELAY_MAX_CLUSTERS);
		return -1;
	}
	nc = reallocarray(c->clusters, c->nclusters + 1, sizeof(*nc));
	if (nc == NULL) {
		snprintf(msg, len, "out of memory");
		return -1;
	}
	c->clusters = nc;
	nc = &c->clusters[c->nclusters];
	memset(nc, 0, sizeof(*nc));
	nc->overage = 1;
	nc->line = line;
	if ((nc->id = strdup(id)) == NULL) {
		snprintf(msg, len, "out of memory");
		return -1;
	}
	c->nclusters++;
	return 0;
}

/* How a [relay] key's value is read and compared. */
enum relay_key_type {
	RK_LISTEN,		/* HOST:PORT into listen_host, listen_port */
	RK_PATH,		/* an absolute path: the char * at off */
	RK_DATABASE,		/* an absolute path or a PostgreSQL URI */
	RK_ENGINEERS,		/* * or a list of principals */
	RK_FUNC			/* the key's own setter; never at_start */
};

/*
 * The [relay] keys.  at_start marks what the relay reads once, when it
 * starts: a reload that would change it is refused as a whole, since
 * the running relay could not honour it and must not pretend to.
 */
static const struct relay_key {
	const char		*name;
	enum relay_key_type	 type;
	size_t			 off;
	int			 at_start;
	int			(*set)(struct relay_conf *, const char *,
				    char *, size_t);	/* RK_FUNC */
} relay_keys[] = {
	/* The socket is bound once. */
	{ "listen",	  RK_LISTEN,	0,		  1, NULL },
	/* Imported into the SSH server once; sessions were made with it. */
	{ "host_key",	  RK_PATH,	F(host_key),	  1, NULL },
	{ "support_ca",	  RK_PATH,	F(support_ca),	  0, NULL },
	/* The store is opened once and written by every connection. */
	{ "database",	  RK_DATABASE,	F(database),	  1, NULL },
	/* The pid file is locked there for the relay's whole life. */
	{ "run_dir",	  RK_PATH,	F(run_dir),	  1, NULL },
	{ "update_key",	  RK_PATH,	F(update_key),	  0, NULL },
	{ "max_startups", RK_FUNC,	0,		  0, set_startups },
	{ "max_per_source", RK_FUNC,	0,		  0, set_per_source },
	{ "login_grace",  RK_FUNC,	0,		  0, set_grace },
	/* Each tunnel's next silence check follows a reload. */
	{ "keepalive_interval", RK_FUNC, 0,		  0,
	    set_keepalive_interval },
	{ "keepalive_count", RK_FUNC,	0,		  0, set_keepalive_count },
	{ "engineers",	  RK_ENGINEERS,	0,		  0, NULL },
	{ "revoked_keys", RK_PATH,	F(revoked_keys),  0, NULL },
	/* Counted when a new bundle begins: a reload applies to the next. */
	{ "bundle_quota", RK_FUNC,	0,		  0, set_bundle_quota },
};
#define NRELAY_KEYS	(sizeof(relay_keys) / sizeof(relay_keys[0]))

_Static_assert(NRELAY_KEYS <= RELAY_CONF_MAX_KEYS,
    "relay_conf.lines has no room for every [relay] key");

#define PATH_FIELD(c, k)	((char **)(void *)((char *)(c) + (k)->off))
#define CPATH_FIELD(c, k)	\
	((char *const *)(const void *)((const char *)(c) + (k)->off))

static int
conf_relay_key(struct conf_ctx *x, const char *key, const char *value,
    int line, char *msg, size_t len)
{
	struct relay_conf	*c = x->c;
	const struct relay_key	*k;
	size_t			 i;

	for (i = 0; i < NRELAY_KEYS; i++)
		if (strcmp(relay_keys[i].name, key) == 0)
			break;
	if (i == NRELAY_KEYS) {
		snprintf(msg, len, "unknown key '%s' in [relay]", key);
		return -1;
	}
	k = &relay_keys[i];
	c->lines[i] = line;
	switch (k->type) {
	case RK_LISTEN:
		if (parse_hostport(value, c->listen_host,
		    sizeof(c->listen_host), &c->listen_port) == -1) {
			snprintf(msg, len, "listen: expected HOST:PORT, "
			    "got '%s'", value);
			return -1;
		}
		x->seen_listen = 1;
		return 0;
	case RK_PATH:
		return set_path(PATH_FIELD(c, k), key, value, msg, len);
	case RK_DATABASE:
		return set_database(PATH_FIELD(c, k), value, msg, len);
	case RK_FUNC:
		return k->set(c, value, msg, len);
	case RK_ENGINEERS:
		if (strcmp(value, "*") == 0) {
			c->engineers_any = 1;
			return 0;
		}
		if (parse_list(value, 1024, &c->engineers,
		    &c->nengineers) == -1) {
			snprintf(msg, len, "engineers: expected * or a "
			    "comma-separated list of principals");
			return -1;
		}
		return 0;
	}
	return -1;
}

static int
same_string(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Does key k have the same value in a and b? */
static int
same_value(const struct relay_conf *a, const struct relay_conf *b,
    const struct relay_key *k)
{
	size_t i;

	switch (k->type) {
	case RK_LISTEN:
		return strcmp(a->listen_host, b->listen_host) == 0 &&
		    a->listen_port == b->listen_port;
	case RK_PATH:
	case RK_DATABASE:
		return same_string(*CPATH_FIELD(a, k), *CPATH_FIELD(b, k));
	case RK_FUNC:
		break;		/* not compared: see RK_FUNC */
	case RK_ENGINEERS:
		if (a->engineers_any != b->engineers_any ||
		    a->nengineers != b->nengineers)
			return 0;
		for (i = 0; i < a->nengineers; i++)
			if (strcmp(a->engineers[i], b->engineers[i]) != 0)
				return 0;
		return 1;
	}
	return 0;
}

int
relay_conf_restart_changed(const struct relay_conf *running,
    const struct relay_conf *next, char *err, size_t errlen)
{
	size_t	i;
	int	line;

	for (i = 0; i < NRELAY_KEYS; i++) {
		if (!relay_keys[i].at_start ||
		    same_value(running, next, &relay_keys[i]))
			continue;
		/* A key taken out is named where its section starts. */
		line = next->lines[i] != 0 ? next->lines[i] : next->relay_line;
		inifile_restart_refusal(next->path, line, relay_keys[i].name,
		    err, errlen);
		return -1;
	}
	return 0;
}

static int
conf_cluster_key(struct relay_cluster *cl, const char *key,
    const char *value, char *msg, size_t len)
{
	if (strcmp(key, "key") == 0)
		return set_path(&cl->key, key, value, msg, len);
	if (strcmp(key, "license") == 0) {
		if (strcmp(value, "full") == 0)
			cl->trial = 0;
		else if (strcmp(value, "trial") == 0)
			cl->trial = 1;
		else {
			snprintf(msg, len, "license: expected full or trial, "
			    "got '%s'", value);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "license_expires") == 0) {
		if (parse_time(value, &cl->license_expires) == -1) {
			snprintf(msg, len, "license_expires: expected "
			    "YYYY-MM-DDTHH:MM:SSZ, got '%s'", value);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "overage") == 0) {
		if (parse_bool(value, &cl->overage) == -1) {
			snprintf(msg, len, "overage: expected yes or no, "
			    "got '%s'", value);
			return -1;
		}
		return 0;
	}
	snprintf(msg, len, "unknown key '%s' in [cluster %s]", key, cl->id);
	return -1;
}

/* "off" (or "no") turns a rule off: 1 if value says so. */
static int
rule_off(const char *value)
{
	return strcmp(value, "off") == 0 || strcmp(value, "no") == 0;
}

static int
conf_alerts_key(struct relay_alert_rules *a, const char *key,
    const char *value, char *msg, size_t len)
{
	uint64_t v;

	if (strcmp(key, "disk_used") == 0 ||
	    strcmp(key, "memory_available") == 0) {
		unsigned *p = key[0] == 'd' ? &a->disk_used :
		    &a->memory_available;

		if (rule_off(value))
			*p = 0;
		else if (parse_percent(value, 1, 100, p) == -1) {
			snprintf(msg, len, "%s: expected a percentage from 1%% "
			    "to 100%% (like 85%%) or off, got '%s'", key,
			    value);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "load_per_core") == 0) {
		if (rule_off(value))
			a->load_per_core = 0;
		else if (parse_decimal(value, 0.01, RELAY_ALERT_LOAD_MAX,
		    &a->load_per_core) == -1) {
			snprintf(msg, len, "load_per_core: expected a number "
			    "from 0.01 to %.0f (like 2.0) or off, got '%s'",
			    RELAY_ALERT_LOAD_MAX, value);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "for") == 0) {
		if (parse_duration(value, &v) == -1 ||
		    v > RELAY_ALERT_HOLD_MAX) {
			snprintf(msg, len, "for: expected a duration from 0s "
			    "to 1d (like 10m), got '%s'", value);
			return -1;
		}
		a->hold = v;
		return 0;
	}
	if (strcmp(key, "service_down") == 0) {
		if (rule_off(value))
			a->service_down = 0;
		else if (parse_uint(value, 1, RELAY_ALERT_PROBES_MAX,
		    &v) == -1) {
			snprintf(msg, len, "service_down: expected a number of "
			    "failed probes from 1 to %d or off, got '%s'",
			    RELAY_ALERT_PROBES_MAX, value);
			return -1;
		} else
			a->service_down = (unsigned)v;
		return 0;
	}
	if (strcmp(key, "offline") == 0) {
		if (rule_off(value))
			a->offline = 0;
		else if (parse_duration(value, &v) == -1 ||
		    v < RELAY_ALERT_OFFLINE_MIN || v > RELAY_ALERT_OFFLINE_MAX) {
			snprintf(msg, len, "offline: expected a duration from "
			    "1m to 30d (like 30m) or off, got '%s'", value);
			return -1;
		} else
			a->offline = v;
		return 0;
	}
	if (strcmp(key, "node_lost") == 0) {
		if (parse_bool(value, &a->node_lost) == -1) {
			snprintf(msg, len, "node_lost: expected yes or no, "
			    "got '%s'", value);
			return -1;
		}
		return 0;
	}
	snprintf(msg, len, "unknown key '%s' in [alerts]", key);
	return -1;
}

static int
conf_key(void *arg, const char *section, const char *key, const char *value,
    int line, char *msg, size_t len)
{
	struct conf_ctx *x = arg;

	if (strcmp(section, "relay") == 0)
		return conf_relay_key(x, key, value, line, msg, len);
	if (strcmp(section, "alerts") == 0)
		return conf_alerts_key(&x->c->alerts, key, value, msg, len);
	/* conf_section() appended this cluster before its keys. */
	return conf_cluster_key(&x->c->clusters[x->c->nclusters - 1], key,
	    value, msg, len);
}

int
relay_conf_load(const char *path, struct relay_conf **out, char *err,
    size_t errlen)
{
	struct conf_ctx	 x;
	size_t		 i;

	memset(&x, 0, sizeof(x));
	if ((x.c = calloc(1, sizeof(*x.c))) == NULL ||
	    (x.c->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	x.c->alerts = default_alerts;
	if (inifile_read(path, conf_section, conf_key, &x, err, errlen) == -1)
		goto fail;
	if (!x.seen_relay || !x.seen_listen) {
		snprintf(err, errlen, "%s: missing required key [relay] listen",
		    path);
		goto fail;
	}
	if (x.c->host_key == NULL || x.c->support_ca == NULL) {
		snprintf(err, errlen, "%s: missing required key [relay] %s",
		    path, x.c->host_key == NULL ? "host_key" : "support_ca");
		goto fail;
	}
	/* Keys not given take their defaults (0 is never a valid value). */
	if (x.c->startups_full == 0) {
		x.c->startups_start = DEFAULT_STARTUPS_START;
		x.c->startups_rate = DEFAULT_STARTUPS_RATE;
		x.c->startups_full = DEFAULT_STARTUPS_FULL;
	}
	if (x.c->per_source == 0)
		x.c->per_source = DEFAULT_PER_SOURCE;
	if (x.c->login_grace == 0)
		x.c->login_grace = DEFAULT_LOGIN_GRACE;
	if (x.c->keepalive_interval == 0)
		x.c->keepalive_interval = KEEPALIVE_INTERVAL;
	if (x.c->keepalive_count == 0)
		x.c->keepalive_count = KEEPALIVE_COUNT;
	if (x.c->bundle_quota == 0)
		x.c->bundle_quota = RELAY_BUNDLE_QUOTA;
	if (x.c->run_dir == NULL &&
	    (x.c->run_dir = strdup(RELAY_RUN_DIR)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	for (i = 0; i < x.c->nclusters; i++) {
		if (x.c->clusters[i].key == NULL) {
			snprintf(err, errlen, "%s:%d: [cluster %s] has no key",
			    path, x.c->clusters[i].line, x.c->clusters[i].id);
			goto fail;
		}
	}
	*out = x.c;
	return 0;
fail:
	relay_conf_free(x.c);
	return -1;
}

void
relay_conf_free(struct relay_conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nclusters; i++) {
		free(c->clusters[i].id);
		free(c->clusters[i].key);
	}
	free(c->clusters);
	parse_list_free(c->engineers);
	free(c->path);
	free(c->host_key);
	free(c->support_ca);
	free(c->database);
	free(c->run_dir);
	free(c->update_key);
	free(c->revoked_keys);
	free(c);
}

void
relay_conf_self(const struct relay_conf *c, char *buf, size_t len)
{
	char host[256];

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "%s", c->listen_host);
	host[sizeof(host) - 1] = '\0';
	snprintf(buf, len, "%s:%u", host, (unsigned int)c->listen_port);
}

const struct relay_cluster *
relay_conf_cluster(const struct relay_conf *c, const char *id, size_t *index)
{
	size_t i;

	for (i = 0; i < c->nclusters; i++) {
		if (strcmp(c->clusters[i].id, id) == 0) {
			if (index != NULL)
				*index = i;
			return &c->clusters[i];
		}
	}
	return NULL;
}

int
relay_conf_engineer_allowed(const struct relay_conf *c, const char *principal)
{
	size_t i;

	if (c->engineers_any)
		return 1;
	for (i = 0; i < c->nengineers; i++)
		if (strcmp(c->engineers[i], principal) == 0)
			return 1;
	return 0;
}

/*
 * The chance rises in whole percent, linearly from start to full, as
 * sshd's should_drop_connection() computes it.
 */
unsigned
relay_conf_startups_drop(const struct relay_conf *c, size_t n)
{
	size_t span;

	if (n < c->startups_start)
		return 0;
	if (n >= c->startups_full || c->startups_rate >= 100)
		return 100;
	span = c->startups_full - c->startups_start;
	return c->startups_rate + (unsigned)((100 - c->startups_rate) *
	    (n - c->startups_start) / span);
}

void
relay_conf_format_startups(const struct relay_conf *c, char *buf, size_t len)
{
	if (c->startups_start == c->startups_full && c->startups_rate == 100)
		snprintf(buf, len, "%u", c->startups_full);
	else
		snprintf(buf, len, "%u:%u:%u", c->startups_start,
		    c->startups_rate, c->startups_full);
}
