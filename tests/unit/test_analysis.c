/*
 * test_analysis.c - the relay's health view and alerts as an operator
 * sees them through the reports: records from the product and from the
 * gateway merge per node and add up across nodes; each [alerts] rule
 * raises when its condition holds (for `for`), clears when it is gone,
 * and keeps one open alert per (cluster, rule, subject) even with two
 * relays writing the store; absurd values are judged by no rule and
 * crash nothing; an expert's alert text is kept exact and shown
 * escaped; the usage export takes a time range and writes CSV.
 *
 * The store is SQLite, or the PostgreSQL database PORTHOLE_TEST_PG
 * names (tests/unit/test_store_pg.sh), emptied before each test.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "lib/clock.h"
#include "lib/parse.h"
#include "relay/analysis.h"
#include "relay/relay_conf.h"
#include "relay/report.h"
#include "relay/store.h"

#define T0	((time_t)1795003200)	/* 2026-11-18T12:00:00Z */
#define C	"acme-prod"

static const struct relay_alert_rules default_rules = {
	85, 10, 2.0, 600, 3, 1800, 1
};

static char			 dir[64];
static char			 dbpath[128];
static struct relay_alert_rules	 rules;
static struct analysis		*an;
static struct store		*st;
static int64_t			 seq;
static const char		*pg_uri;	/* PORTHOLE_TEST_PG, or NULL */

/* A PostgreSQL database the relay has never used. */
static int
pg_empty(void)
{
	PGconn		*c = PQconnectdb(pg_uri);
	PGresult	*r;
	int		 ok;

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "%s: %s", pg_uri, PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	r = PQexec(c, "DROP SCHEMA IF EXISTS public CASCADE;"
	    " CREATE SCHEMA public");
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

static struct store *
open_store(struct analysis *a)
{
	struct store	*s;
	char		 err[256];

	if (store_open(pg_uri != NULL ? pg_uri : dbpath, &s, err,
	    sizeof(err)) == -1)
		fail_msg("store_open: %s", err);
	analysis_attach(a, s);
	return s;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/porthole-analysis.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(dbpath, sizeof(dbpath), "%s/relay.db", dir);
	if (pg_uri != NULL && pg_empty() == -1)
		return -1;
	rules = default_rules;
	if ((an = analysis_new(&rules)) == NULL)
		return -1;
	st = open_store(an);
	seq = 0;
	/* Records are from the past, as a drained backlog's are. */
	clock_set_fixed(T0 + 30 * 86400);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	store_close(st);
	analysis_free(an);
	clock_set_fixed(0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* New rules, as a reload gives them. */
static void
set_rules(void)
{
	analysis_set_rules(an, &rules);
}

/*
 * Store one record of class cls (JSON text with "%T" for its ts at t)
 * through store s, as the next seq of cluster C.
 */
static void
put_on(struct store *s, const char *cls, time_t t, const char *fmt)
{
	char		 ts[32], text[65536], why[256];
	const char	*q;
	json_t		*rec, *batch;
	uint64_t	 acked;
	size_t		 n = 0;

	parse_format_time(t, ts, sizeof(ts));
	for (q = fmt; *q != '\0' && n + 32 < sizeof(text); q++) {
		if (q[0] == '%' && q[1] == 'T') {
			n += (size_t)snprintf(text + n, sizeof(text) - n,
			    "\"%s\"", ts);
			q++;
		} else
			text[n++] = *q;
	}
	text[n] = '\0';
	if ((rec = json_loads(text, 0, NULL)) == NULL)
		fail_msg("not JSON: %s", text);
	json_object_set_new(rec, "class", json_string(cls));
	seq++;
	batch = json_pack("[{s:I, s:s, s:o}]", "seq", (json_int_t)seq,
	    "class", cls, "record", rec);
	if (store_records(s, C, batch, T0, &acked, why, sizeof(why)) == -1)
		fail_msg("store_records: %s", why);
	json_decref(batch);
}

static void
put(time_t t, const char *fmt)
{
	put_on(st, "health", t, fmt);
}

/* A report as a string (free it). */
static char *
report_str(int (*f)(struct store *, const char *, enum report_form, FILE *),
    const char *cluster, enum report_form form)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*out;

	assert_non_null(out = open_memstream(&buf, &len));
	assert_int_equal(f(st, cluster, form, out), 0);
	fclose(out);
	return buf;
}

static json_t *
report_j(int (*f)(struct store *, const char *, enum report_form, FILE *),
    const char *cluster)
{
	char	*text = report_str(f, cluster, REPORT_JSON);
	json_t	*j;

	if ((j = json_loads(text, 0, NULL)) == NULL || !json_is_array(j))
		fail_msg("not a JSON array: %s", text);
	free(text);
	return j;
}

/* The alerts of C as JSON rows. */
static json_t *
alerts(void)
{
	return report_j(report_alerts, C);
}

static int
message_row(const struct store_message *m, void *arg)
{
	json_t *body;

	assert_string_equal(m->kind, "alert");
	assert_non_null(body = json_loads(m->body, 0, NULL));
	json_array_append_new(arg, body);
	return 0;
}

/* The alert messages stored for C's gateway, oldest first. */
static json_t *
messages(void)
{
	json_t *l = json_array();

	assert_int_equal(store_messages_pending(st, C, 0, 100, message_row,
	    l), 0);
	return l;
}

/* The one alert of rule and subject, or NULL; two are a failure. */
static json_t *
alert_of(json_t *list, const char *rule, const char *subject,
    const char *state)
{
	json_t	*a, *found = NULL;
	size_t	 i;

	json_array_foreach(list, i, a) {
		if (strcmp(json_string_value(json_object_get(a, "rule")),
		    rule) != 0 || strcmp(json_string_value(json_object_get(a,
		    "subject")), subject) != 0)
			continue;
		if (state != NULL && strcmp(json_string_value(
		    json_object_get(a, "state")), state) != 0)
			continue;
		if (found != NULL)
			fail_msg("two %s alerts for %s", rule, subject);
		found = a;
	}
	return found;
}

static const char *
jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s == NULL ? "(null)" : s;
}

/* The health view's row of a node, or NULL. */
static json_t *
node_row(json_t *health, const char *name)
{
	json_t	*r;
	size_t	 i;

	json_array_foreach(health, i, r)
		if (strcmp(jstr(r, "kind"), "node") == 0 &&
		    strcmp(jstr(r, "name"), name) == 0)
			return r;
	return NULL;
}

static size_t
count_kind(json_t *health, const char *kind)
{
	json_t	*r;
	size_t	 i, n = 0;

	json_array_foreach(health, i, r)
		n += strcmp(jstr(r, "kind"), kind) == 0;
	return n;
}

/*
 * The gateway reports its own node with top-level disks; the product
 * reports three nodes, one of them the gateway's, with disks of their
 * own.  Same node: fields and disks merge.  Different nodes: added.
 */
static void
test_merge(void **state)
{
	struct store_cluster_info	 ci;
	json_t				*h, *gw, *disks;
	char				*text;

	(void)state;
	put(T0, "{\"ts\":%T,\"nodes\":[{\"name\":\"gw\",\"cores\":4,"
	    "\"load1\":0.5,\"mem_total\":1000,\"mem_available\":800}],"
	    "\"disks\":[{\"path\":\"/\",\"size\":1000,\"used\":100,"
	    "\"free\":900}],\"services\":[{\"name\":\"server\","
	    "\"address\":\"127.0.0.1:8021\",\"state\":\"up\"}]}");
	put(T0 + 60, "{\"ts\":%T,\"nodes\":[{\"name\":\"n1\",\"cores\":8},"
	    "{\"name\":\"n2\",\"cores\":8},{\"name\":\"gw\","
	    "\"product\":\"1.290.3\",\"disks\":[{\"path\":\"/data\","
	    "\"size\":2000,\"used\":1000,\"free\":1000}]}]}");
	/* The gateway again: the product's fields and disks stay. */
	put(T0 + 120, "{\"ts\":%T,\"nodes\":[{\"name\":\"gw\",\"cores\":4,"
	    "\"load1\":0.7}],\"disks\":[{\"path\":\"/\",\"size\":1000,"
	    "\"used\":200,\"free\":800}]}");
	h = report_j(report_health, C);
	assert_int_equal(count_kind(h, "node"), 3);
	assert_int_equal(count_kind(h, "service"), 1);
	assert_non_null(node_row(h, "n1"));
	assert_non_null(node_row(h, "n2"));
	assert_non_null(gw = node_row(h, "gw"));
	assert_string_equal(jstr(gw, "product"), "1.290.3");
	assert_true(json_real_value(json_object_get(gw, "load1")) == 0.7);
	assert_int_equal(json_integer_value(json_object_get(gw, "mem_total")),
	    1000);
	assert_string_equal(jstr(gw, "reported"), "2026-11-18T12:02:00Z");
	disks = json_object_get(gw, "disks");
	assert_int_equal(json_array_size(disks), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    disks, 0), "used")), 200);
	assert_string_equal(jstr(json_array_get(disks, 1), "path"), "/data");
	json_decref(h);

	/* The clusters summary counts the view, not the newest record. */
	assert_int_equal(store_cluster_info(st, C, &ci), 1);
	assert_int_equal(ci.health_nodes, 3);
	assert_int_equal(ci.health_services, 1);
	assert_int_equal(ci.health_services_up, 1);

	text = report_str(report_health, C, REPORT_TEXT);
	if (strstr(text, "gw    ") == NULL || strstr(text, "/data") == NULL ||
	    strstr(text, "n2 ") == NULL || strstr(text, "50%") == NULL ||
	    strstr(text, "server   127.0.0.1:8021  up") == NULL)
		fail_msg("health text:\n%s", text);
	free(text);
}

/* disk_used waits for `for`, raises once, and clears. */
static void
test_disk_for(void **state)
{
	json_t		*l, *a;
	const char	*full = "{\"ts\":%T,\"nodes\":[{\"name\":\"n1\"}],"
	    "\"disks\":[{\"path\":\"/var\",\"size\":1000,\"used\":900,"
	    "\"free\":100}]}";

	(void)state;
	put(T0, full);
	l = alerts();
	assert_non_null(a = alert_of(l, "disk_used", "n1:/var", NULL));
	assert_string_equal(jstr(a, "state"), "pending");
	json_decref(l);
	put(T0 + 300, full);
	l = alerts();
	assert_string_equal(jstr(alert_of(l, "disk_used", "n1:/var", NULL),
	    "state"), "pending");
	json_decref(l);
	put(T0 + 600, full);
	l = alerts();
	a = alert_of(l, "disk_used", "n1:/var", NULL);
	assert_string_equal(jstr(a, "state"), "open");
	assert_string_equal(jstr(a, "severity"), "warning");
	assert_string_equal(jstr(a, "first_seen"), "2026-11-18T12:00:00Z");
	assert_string_equal(jstr(a, "raised"), "2026-11-18T12:10:00Z");
	assert_string_equal(jstr(a, "text"), "disk /var on n1 is 90.0% used "
	    "(warning at 85%)");
	json_decref(l);
	put(T0 + 700, full);
	put(T0 + 800, "{\"ts\":%T,\"nodes\":[{\"name\":\"n1\"}],\"disks\":["
	    "{\"path\":\"/var\",\"size\":1000,\"used\":500,\"free\":500}]}");
	l = alerts();
	assert_int_equal(json_array_size(l), 1);
	a = alert_of(l, "disk_used", "n1:/var", NULL);
	assert_string_equal(jstr(a, "state"), "cleared");
	assert_string_equal(jstr(a, "cleared"), "2026-11-18T12:13:20Z");
	json_decref(l);
	/* The gateway is told twice: raised, then cleared; pending never. */
	l = messages();
	assert_int_equal(json_array_size(l), 2);
	assert_string_equal(jstr(json_array_get(l, 0), "state"), "raised");
	assert_string_equal(jstr(json_array_get(l, 0), "at"),
	    "2026-11-18T12:10:00Z");
	assert_string_equal(jstr(json_array_get(l, 0), "text"),
	    "disk /var on n1 is 90.0% used (warning at 85%)");
	assert_string_equal(jstr(json_array_get(l, 1), "state"), "cleared");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(l,
	    1), "alert")), 1);
	json_decref(l);
}

/*
 * With for = 0 an alert is raised at once; after it clears, the next
 * time is a new alert with a new id, and the old one stays as history.
 * A pending alert whose condition ends is forgotten.
 */
static void
test_again_and_pending(void **state)
{
	json_t		*l;
	const char	*full = "{\"ts\":%T,\"nodes\":[{\"name\":\"n1\","
	    "\"disks\":[{\"path\":\"/\",\"size\":100,\"used\":99}]}]}";
	const char	*fine = "{\"ts\":%T,\"nodes\":[{\"name\":\"n1\","
	    "\"disks\":[{\"path\":\"/\",\"size\":100,\"used\":9}]}]}";
	int64_t		 first;

	(void)state;
	rules.hold = 0;
	set_rules();
	put(T0, full);
	l = alerts();
	first = json_integer_value(json_object_get(alert_of(l, "disk_used",
	    "n1:/", "open"), "id"));
	json_decref(l);
	put(T0 + 60, fine);
	put(T0 + 120, full);
	l = alerts();
	assert_int_equal(json_array_size(l), 2);
	assert_true(json_integer_value(json_object_get(alert_of(l,
	    "disk_used", "n1:/", "open"), "id")) != first);
	assert_int_equal(json_integer_value(json_object_get(alert_of(l,
	    "disk_used", "n1:/", "cleared"), "id")), first);
	json_decref(l);

	rules.hold = 600;
	set_rules();
	put(T0 + 180, fine);
	put(T0 + 240, full);
	put(T0 + 300, fine);
	l = alerts();
	assert_null(alert_of(l, "disk_used", "n1:/", "pending"));
	assert_int_equal(json_array_size(l), 2);
	json_decref(l);
}

/* service_down after N failed probes in a row; up clears it. */
static void
test_service_down(void **state)
{
	json_t		*l, *a;
	const char	*down = "{\"ts\":%T,\"services\":[{\"name\":\"server\","
	    "\"address\":\"127.0.0.1:8021\",\"state\":\"down\","
	    "\"error\":\"connect: Connection refused\"}]}";

	(void)state;
	put(T0, down);
	put(T0 + 60, down);
	l = alerts();
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);
	put(T0 + 120, down);
	l = alerts();
	a = alert_of(l, "service_down", "server", "open");
	assert_non_null(a);
	assert_string_equal(jstr(a, "severity"), "critical");
	assert_string_equal(jstr(a, "text"), "service server at "
	    "127.0.0.1:8021 is down: 3 failed probes in a row (critical at 3)");
	json_decref(l);
	put(T0 + 180, "{\"ts\":%T,\"services\":[{\"name\":\"server\","
	    "\"up\":true}]}");
	l = alerts();
	assert_non_null(alert_of(l, "service_down", "server", "cleared"));
	json_decref(l);
}

/* Memory and load per core, and a reload that turns a rule off. */
static void
test_memory_load(void **state)
{
	json_t *l;

	(void)state;
	rules.hold = 0;
	set_rules();
	put(T0, "{\"ts\":%T,\"nodes\":[{\"name\":\"n1\",\"mem_total\":1000,"
	    "\"mem_available\":50,\"cores\":4,\"load1\":9.0}]}");
	l = alerts();
	assert_non_null(alert_of(l, "memory_available", "n1", "open"));
	assert_non_null(alert_of(l, "load_per_core", "n1", "open"));
	assert_string_equal(jstr(alert_of(l, "load_per_core", "n1", NULL),
	    "text"), "n1 has a load of 9.00 on 4 cores, 2.25 per core "
	    "(warning above 2.00)");
	json_decref(l);
	/* Reloaded with load_per_core = off: the next record clears it. */
	rules.load_per_core = 0;
	set_rules();
	put(T0 + 60, "{\"ts\":%T,\"nodes\":[{\"name\":\"n1\",\"load1\":9.5}]}");
	l = alerts();
	assert_non_null(alert_of(l, "load_per_core", "n1", "cleared"));
	assert_non_null(alert_of(l, "memory_available", "n1", "open"));
	json_decref(l);
}

/*
 * node_lost: a node nobody names for `offline` while others report; it
 * clears when the node reports again, and node_removed takes a node out
 * of the view with what was open about it.
 */
static void
test_node_lost(void **state)
{
	json_t *l, *h;

	(void)state;
	put(T0, "{\"ts\":%T,\"nodes\":[{\"name\":\"a\"},{\"name\":\"b\"}]}");
	put(T0 + 1000, "{\"ts\":%T,\"nodes\":[{\"name\":\"a\"}]}");
	l = alerts();
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);
	put(T0 + 1800, "{\"ts\":%T,\"nodes\":[{\"name\":\"a\"}]}");
	l = alerts();
	assert_non_null(alert_of(l, "node_lost", "b", "open"));
	assert_string_equal(jstr(alert_of(l, "node_lost", "b", NULL), "text"),
	    "node b has not been reported for 30m (critical after 30m)");
	json_decref(l);
	put(T0 + 1900, "{\"ts\":%T,\"nodes\":[{\"name\":\"b\"}]}");
	l = alerts();
	assert_non_null(alert_of(l, "node_lost", "b", "cleared"));
	json_decref(l);

	put(T0 + 5000, "{\"ts\":%T,\"nodes\":[{\"name\":\"a\"}]}");
	l = alerts();
	assert_non_null(alert_of(l, "node_lost", "b", "open"));
	json_decref(l);
	put_on(st, "event", T0 + 5100, "{\"ts\":%T,\"type\":\"node_removed\","
	    "\"node\":\"b\"}");
	l = alerts();
	assert_null(alert_of(l, "node_lost", "b", "open"));
	json_decref(l);
	h = report_j(report_health, C);
	assert_null(node_row(h, "b"));
	assert_non_null(node_row(h, "a"));
	json_decref(h);
}

/*
 * Absurd values: shown as sent, judged by no rule, nothing crashes;
 * names that are not text and views past their bounds are left out.
 */
static void
test_absurd(void **state)
{
	json_t	*l, *h, *n1;
	char	*text, *big, *p;
	size_t	 i;

	(void)state;
	rules.hold = 0;
	rules.disk_used = 1;
	rules.memory_available = 99;
	rules.load_per_core = 0.01;
	set_rules();
	put(T0, "{\"ts\":%T,\"nodes\":[{\"name\":\"n1\",\"cores\":1e30,"
	    "\"load1\":-5,\"mem_total\":-1,\"mem_available\":1e300,"
	    "\"uptime_s\":\"long\",\"disks\":[{\"path\":\"/a\",\"size\":-100,"
	    "\"used\":10},{\"path\":\"/b\",\"size\":100,\"used\":1e30},"
	    "{\"path\":\"/c\",\"size\":\"big\",\"used\":1},"
	    "{\"path\":\"/d\\u001b[2J\",\"size\":100,\"used\":100},"
	    "{\"path\":5}]},{\"name\":\"\\u0007bell\"},{\"name\":\"\"},"
	    "{\"name\":42},{\"cores\":2}],\"services\":[{\"name\":\"s\","
	    "\"state\":\"maybe\"},{\"name\":[1]},{\"state\":\"down\"}],"
	    "\"disks\":{\"path\":\"/\"}}");
	l = alerts();
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);
	h = report_j(report_health, C);
	assert_int_equal(count_kind(h, "node"), 1);
	assert_int_equal(count_kind(h, "service"), 0);
	assert_non_null(n1 = node_row(h, "n1"));
	assert_true(json_real_value(json_object_get(n1, "cores")) == 1e30);
	assert_int_equal(json_array_size(json_object_get(n1, "disks")), 3);
	json_decref(h);
	text = report_str(report_health, C, REPORT_TEXT);
	if (strstr(text, "1e+30") == NULL || strstr(text, "\x1b") != NULL)
		fail_msg("health text:\n%s", text);
	free(text);

	/* 2,000 nodes: the view stops at its bound; no alert, no crash. */
	assert_non_null(big = malloc(65536));
	p = big + sprintf(big, "{\"ts\":%%T,\"nodes\":[");
	for (i = 0; i < 2000; i++)
		p += sprintf(p, "%s{\"name\":\"x%zu\"}", i ? "," : "", i);
	sprintf(p, "]}");
	put(T0 + 60, big);
	free(big);
	h = report_j(report_health, C);
	assert_int_equal(count_kind(h, "node"), ANALYSIS_NODES_MAX);
	json_decref(h);
}

/*
 * Two relays sharing the store raise the same condition: one alert.
 * Each has its own analysis, as two processes would.
 */
static void
test_two_relays(void **state)
{
	struct analysis	*an2;
	struct store	*st2;
	json_t		*l;
	const char	*full = "{\"ts\":%T,\"nodes\":[{\"name\":\"n1\","
	    "\"disks\":[{\"path\":\"/\",\"size\":100,\"used\":99}]}]}";

	(void)state;
	rules.hold = 0;
	set_rules();
	assert_non_null(an2 = analysis_new(&rules));
	st2 = open_store(an2);
	put_on(st, "health", T0, full);
	put_on(st2, "health", T0 + 60, full);
	put_on(st, "health", T0 + 120, full);
	l = alerts();
	assert_int_equal(json_array_size(l), 1);
	assert_string_equal(jstr(json_array_get(l, 0), "last_seen"),
	    "2026-11-18T12:02:00Z");
	json_decref(l);
	store_close(st2);
	analysis_free(an2);
}

/* An expert's alert: exact in JSON, escaped in the table; cleared by id. */
static void
test_expert(void **state)
{
	json_t	*l, *a;
	char	*text, why[256], want[64];
	int64_t	 id, id2;

	(void)state;
	assert_int_equal(analysis_expert(st, C, "warning", "vendor",
	    "more memory is required:\x1b[31m\nnow", T0, &id, why,
	    sizeof(why)), 0);
	assert_int_equal(analysis_expert(st, C, "critical", "vendor",
	    "more memory is required, 64G", T0 + 60, &id2, why,
	    sizeof(why)), 0);
	assert_int_equal(id, id2);
	assert_int_equal(analysis_expert(st, C, "warning", "disk",
	    "x\x1b[2Jy", T0 + 60, &id2, why, sizeof(why)), 0);
	assert_true(id2 != id);
	assert_int_equal(analysis_expert(st, C, "urgent", "vendor", "x", T0,
	    &id, why, sizeof(why)), -1);
	assert_string_equal(why, "severity must be warning or critical");
	assert_int_equal(analysis_expert(st, C, "warning", "a b", "x", T0,
	    &id, why, sizeof(why)), -1);
	assert_int_equal(analysis_expert(st, C, "warning", "v", "\xff", T0,
	    &id, why, sizeof(why)), -1);
	l = alerts();
	assert_int_equal(json_array_size(l), 2);
	a = alert_of(l, "expert", "vendor", "open");
	assert_string_equal(jstr(a, "severity"), "critical");
	assert_string_equal(jstr(a, "text"), "more memory is required, 64G");
	assert_string_equal(jstr(alert_of(l, "expert", "disk", NULL), "text"),
	    "x\x1b[2Jy");
	json_decref(l);
	text = report_str(report_alerts, NULL, REPORT_TEXT);
	if (strstr(text, "x\\x1b[2Jy") == NULL || strchr(text, '\x1b') != NULL)
		fail_msg("alerts text:\n%s", text);
	free(text);

	assert_int_equal(analysis_clear(st, C, id, T0 + 120, why,
	    sizeof(why)), 0);
	assert_int_equal(analysis_clear(st, C, id, T0 + 180, why,
	    sizeof(why)), -1);
	assert_string_equal(why, "alert 1 was cleared at 2026-11-18T12:02:00Z");
	assert_int_equal(analysis_clear(st, "beta", id2, T0, why,
	    sizeof(why)), -1);
	/*
	 * The id the store gave (PostgreSQL's identity leaves gaps where
	 * an upsert updated instead).
	 */
	snprintf(want, sizeof(want), "cluster beta has no alert %" PRId64,
	    id2);
	assert_string_equal(why, want);
	/* Told to the gateway: raised, raised again (new text), cleared. */
	l = messages();
	assert_int_equal(json_array_size(l), 4);
	assert_string_equal(jstr(json_array_get(l, 1), "text"),
	    "more memory is required, 64G");
	assert_string_equal(jstr(json_array_get(l, 2), "text"), "x\x1b[2Jy");
	assert_string_equal(jstr(json_array_get(l, 3), "state"), "cleared");
	assert_string_equal(jstr(json_array_get(l, 3), "rule"), "expert");
	json_decref(l);
}

/* offline: only after the relay itself has been up that long. */
static void
test_offline(void **state)
{
	json_t *l;

	(void)state;
	assert_int_equal(store_cluster_seen(st, C, T0 - 7200, "1.0", 0), 0);
	/* The relay started 10 minutes ago: it cannot tell yet. */
	assert_int_equal(analysis_offline(an, st, T0, T0 - 600), 0);
	l = alerts();
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);
	assert_int_equal(analysis_offline(an, st, T0, T0 - 86400), 0);
	assert_int_equal(analysis_offline(an, st, T0 + 60, T0 - 86400), 0);
	l = alerts();
	assert_int_equal(json_array_size(l), 1);
	assert_non_null(alert_of(l, "offline", "tunnel", "open"));
	assert_string_equal(jstr(json_array_get(l, 0), "first_seen"),
	    "2026-11-18T10:00:00Z");
	json_decref(l);
	assert_int_equal(analysis_online(an, st, C, T0 + 120), 0);
	l = alerts();
	assert_non_null(alert_of(l, "offline", "tunnel", "cleared"));
	json_decref(l);
}

/* usage: [since, until) and CSV with the header and guarded cells. */
static void
test_usage_export(void **state)
{
	char *text;

	(void)state;
	put_on(st, "usage", T0, "{\"hour\":\"2026-11-18T11:00:00Z\","
	    "\"environment\":\"env-1\",\"units\":{\"host_units\":1.5}}");
	put_on(st, "usage", T0, "{\"hour\":\"2026-11-18T12:00:00Z\","
	    "\"environment\":\"env-1\",\"units\":{\"host_units\":2}}");
	put_on(st, "usage", T0, "{\"hour\":\"2026-11-18T12:00:00Z\","
	    "\"environment\":\"env-1\",\"units\":{\"host_units\":2.25,"
	    "\"-2-1\":1,\"dem.units\":0.1}}");
	put_on(st, "usage", T0, "{\"hour\":\"2026-11-18T13:00:00Z\","
	    "\"environment\":\"env-2\",\"units\":{\"host_units\":4}}");
	{
		char	*buf = NULL;
		size_t	 len = 0;
		FILE	*out = open_memstream(&buf, &len);

		assert_int_equal(report_usage_range(st, C, T0, T0 + 3600,
		    REPORT_CSV, out), 0);
		fclose(out);
		text = buf;
	}
	/* A spreadsheet would compute -2-1: it gets a leading quote. */
	assert_string_equal(text, "cluster,hour,environment,unit,amount\r\n"
	    "acme-prod,2026-11-18T12:00:00Z,env-1,\"'-2-1\",1\r\n"
	    "acme-prod,2026-11-18T12:00:00Z,env-1,dem.units,0.1\r\n"
	    "acme-prod,2026-11-18T12:00:00Z,env-1,host_units,2.25\r\n");
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_for, setup, teardown),
		cmocka_unit_test_setup_teardown(test_again_and_pending, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_service_down, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_memory_load, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_node_lost, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_absurd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_relays, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_expert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_export, setup,
		    teardown),
	};

	pg_uri = getenv("PORTHOLE_TEST_PG");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
