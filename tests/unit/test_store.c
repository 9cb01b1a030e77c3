/*
 * test_store.c - the relay's store as the gateway and the operator see
 * it: a batch is stored once and acked, a resent batch changes nothing,
 * a malformed record stores nothing, what was acked survives
 * a kill, and the reports (relay/report.c) print what arrived: as
 * tables with what a cluster sent escaped, and as exact JSON.
 *
 * The same tests run against each backend: SQLite by default, and
 * PostgreSQL when PORTHOLE_TEST_PG names a database of a server the
 * test may empty (tests/unit/test_store_pg.sh starts one).  A few
 * tests are of one engine only (SQLite's file, WAL and modes;
 * PostgreSQL's relays racing on one database).
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
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
#include <sqlite3.h>

#include "relay/analysis.h"
#include "relay/relay_conf.h"
#include "relay/report.h"
#include "relay/store.h"
#include "lib/sha256.h"

#define T0	((time_t)1795003200)	/* 2026-11-18T12:00:00Z */
#define H0	"2026-11-18T12:00:00Z"
#define H1	"2026-11-18T13:00:00Z"

/* Two cluster keys, as the registry keeps them. */
#define KEY_A	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
#define KEY_B	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBbqVTmQ3AXYt6nYlGbHH8gf2mRI8BOXf0RkLcMTKoCF"

static char		 dir[64];
static char		 dbpath[128];
static const char	*pg_uri;	/* PORTHOLE_TEST_PG, or NULL */

/* [relay] database of the test's store. */
static const char *
db_spec(void)
{
	return pg_uri != NULL ? pg_uri : dbpath;
}

/* A connection to the test's PostgreSQL database beside the store's. */
static PGconn *
pg_connect(void)
{
	PGconn *c = PQconnectdb(pg_uri);

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("%s: %s", pg_uri, PQerrorMessage(c));
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	return c;
}

/* Run SQL on PostgreSQL; the status must be want. */
static void
pg_exec(const char *sql, ExecStatusType want)
{
	PGconn		*c = pg_connect();
	PGresult	*r = PQexec(c, sql);

	if (PQresultStatus(r) != want)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
}

/* relay.conf's [alerts] defaults; a test may change them. */
static const struct relay_alert_rules default_rules = {
	85, 10, 2.0, 600, 3, 1800, 1
};
static struct relay_alert_rules	rules;
static struct analysis		*an;

static int
setup(void **state)
{
	(void)state;
	rules = default_rules;
	if ((an = analysis_new(&rules)) == NULL)
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/porthole-store.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(dbpath, sizeof(dbpath), "%s/relay.db", dir);
	/* Each test starts from a database the relay has never used. */
	if (pg_uri != NULL)
		pg_exec("DROP SCHEMA IF EXISTS public CASCADE;"
		    " CREATE SCHEMA public", PGRES_COMMAND_OK);
	return 0;
}

/* The tests of SQLite's own file, WAL and modes. */
#define SQLITE_ONLY()	do { if (pg_uri != NULL) { skip(); } } while (0)
/* The tests of several relays on one PostgreSQL database. */
#define PG_ONLY()	do { if (pg_uri == NULL) { skip(); } } while (0)

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	analysis_free(an);
	an = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static struct store *
open_store(void)
{
	struct store	*s;
	char		 err[256];

	if (store_open(db_spec(), &s, err, sizeof(err)) == -1)
		fail_msg("store_open: %s", err);
	/* As the relay does: every batch is analysed. */
	analysis_set_rules(an, &rules);
	analysis_attach(an, s);
	return s;
}

/* Store a batch written as JSON text; returns store_records()'s result. */
static int
put(struct store *s, const char *cluster, const char *text, uint64_t *acked,
    char *why, size_t whylen)
{
	json_error_t	 jerr;
	json_t		*j;
	int		 rc;

	if ((j = json_loads(text, 0, &jerr)) == NULL)
		fail_msg("test batch is not JSON: %s", jerr.text);
	rc = store_records(s, cluster, j, T0, acked, why, whylen);
	json_decref(j);
	return rc;
}

/* Run sql on the store's database behind its back. */
static void
db_exec(const char *sql)
{
	sqlite3	*db;
	char	*msg = NULL;

	if (pg_uri != NULL) {
		pg_exec(sql, PGRES_COMMAND_OK);
		return;
	}
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

/* Like put(), but the batch must be accepted with this ack. */
static void
put_ok(struct store *s, const char *cluster, const char *text,
    uint64_t want_ack)
{
	uint64_t	acked;
	char		why[256] = "";

	if (put(s, cluster, text, &acked, why, sizeof(why)) == -1)
		fail_msg("store_records: %s", why);
	assert_int_equal(acked, want_ack);
}

/* A report as a string (free it): f(s, cluster, form, FILE). */
static char *
report_text(int (*f)(struct store *, const char *, enum report_form,
    FILE *), struct store *s, const char *cluster, enum report_form form)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*out;

	assert_non_null(out = open_memstream(&buf, &len));
	assert_int_equal(f(s, cluster, form, out), 0);
	fclose(out);
	return buf;
}

static char *
usage_text(struct store *s, const char *cluster)
{
	return report_text(report_usage, s, cluster, REPORT_TEXT);
}

static char *
events_text(struct store *s, const char *cluster)
{
	return report_text(report_events, s, cluster, REPORT_TEXT);
}

/* A JSON report, parsed: it must be one document, an array. */
static json_t *
report_json(int (*f)(struct store *, const char *, enum report_form,
    FILE *), struct store *s, const char *cluster)
{
	json_error_t	 jerr;
	json_t		*j;
	char		*text;

	text = report_text(f, s, cluster, REPORT_JSON);
	if ((j = json_loads(text, 0, &jerr)) == NULL)
		fail_msg("not one JSON document: %s: %s", jerr.text, text);
	assert_true(json_is_array(j));
	assert_non_null(strchr(text, '\n'));
	assert_string_equal(strchr(text, '\n'), "\n");
	free(text);
	return j;
}

/*
 * One integer from the database through a second connection (a truth
 * value is 1 or 0 in both engines).
 */
static long long
count(const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	PGconn		*c;
	PGresult	*r;
	const char	*v;
	long long	 n;

	if (pg_uri != NULL) {
		c = pg_connect();
		r = PQexec(c, sql);
		if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
			fail_msg("%s: %s", sql, PQresultErrorMessage(r));
		v = PQgetvalue(r, 0, 0);
		n = strcmp(v, "t") == 0 ? 1 : strcmp(v, "f") == 0 ? 0 :
		    strtoll(v, NULL, 10);
		PQclear(r);
		PQfinish(c);
		return n;
	}
	assert_int_equal(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static const char batch1[] =
    "[{\"seq\":1,\"class\":\"usage\",\"record\":{\"class\":\"usage\","
    "\"hour\":\"" H0 "\",\"environment\":\"env-1\","
    "\"units\":{\"host_units\":12.5,\"dem_units\":300}}},"
    "{\"seq\":2,\"class\":\"event\",\"record\":{\"class\":\"event\","
    "\"type\":\"node_added\",\"node\":\"node-3\",\"ts\":\"" H0 "\"}},"
    "{\"seq\":3,\"class\":\"health\",\"record\":{\"class\":\"health\","
    "\"ts\":\"" H0 "\",\"nodes\":[{\"name\":\"n1\"},{\"name\":\"n2\"},"
    "{\"name\":\"n3\"}],\"services\":["
    "{\"name\":\"server\",\"up\":true},{\"name\":\"ag\",\"state\":\"down\"}]"
    "}}]";

static const char usage1[] =
    "HOUR                  ENVIRONMENT  UNIT        AMOUNT\n"
    "2026-11-18T12:00:00Z  env-1        dem_units      300\n"
    "2026-11-18T12:00:00Z  env-1        host_units    12.5\n";

static void
test_batch_stored_and_acked(void **state)
{
	struct store	*s = open_store();
	uint64_t	 seq;
	char		*u;

	(void)state;
	assert_int_equal(store_last_seq(s, "acme-prod", &seq), 0);
	assert_int_equal(seq, 0);
	put_ok(s, "acme-prod", batch1, 3);
	assert_int_equal(store_last_seq(s, "acme-prod", &seq), 0);
	assert_int_equal(seq, 3);
	u = usage_text(s, "acme-prod");
	assert_string_equal(u, usage1);
	free(u);
	assert_int_equal(count("SELECT count(*) FROM records"), 3);
	assert_int_equal(count("SELECT count(*) FROM events"), 1);
	assert_int_equal(count("SELECT count(*) FROM health"), 1);
	/* Another cluster's seqs are its own. */
	put_ok(s, "beta", batch1, 3);
	assert_int_equal(count("SELECT count(*) FROM records"), 6);
	store_close(s);
}

static void
test_resent_batch_is_a_noop(void **state)
{
	struct store	*s = open_store();
	char		*u;

	(void)state;
	put_ok(s, "acme-prod", batch1, 3);
	put_ok(s, "acme-prod", batch1, 3);
	/* A reconnect may resend an overlap: old seqs skipped, new ones kept. */
	put_ok(s, "acme-prod",
	    "[{\"seq\":3,\"class\":\"event\",\"record\":{\"type\":\"x\","
	    "\"ts\":\"" H0 "\"}},"
	    "{\"seq\":4,\"class\":\"event\",\"record\":{\"type\":\"y\","
	    "\"ts\":\"" H0 "\"}}]", 4);
	u = usage_text(s, "acme-prod");
	assert_string_equal(u, usage1);
	free(u);
	assert_int_equal(count("SELECT count(*) FROM events"), 2);
	assert_int_equal(count("SELECT count(*) FROM health"), 1);
	assert_int_equal(count("SELECT count(*) FROM events WHERE seq = 3"), 0);
	store_close(s);
}

/* A usage record of seq for hour and env, as a batch's element. */
#define USAGE_REC(seq, hour, env, amount) \
	"{\"seq\":" #seq ",\"class\":\"usage\",\"record\":{\"hour\":\"" \
	hour "\",\"environment\":\"" env "\",\"units\":{\"host_units\":" \
	#amount "}}}"

/*
 * Batches of usage records only, which PostgreSQL takes whole without
 * waiting (one pipeline): a batch repeating keys stored already fails
 * there and is stored again the careful way, so what was stored once is
 * never applied twice, not even when the repeat says something else.
 */
static void
test_usage_batches_whole(void **state)
{
	struct store		*s = open_store();
	struct store_batch	*b;
	json_t			*recs;
	uint64_t		 acked, seq;
	char			*u, why[256];
	int			 rc;

	(void)state;
	put_ok(s, "acme-prod", "[" USAGE_REC(1, H0, "env-1", 1) ","
	    USAGE_REC(2, H0, "env-2", 2) "," USAGE_REC(3, H0, "env-1", 3) "]",
	    3);
	/* An overlap: seq 3 again, then what is new. */
	put_ok(s, "acme-prod", "[" USAGE_REC(3, H0, "env-1", 3) ","
	    USAGE_REC(4, H0, "env-2", 4) "," USAGE_REC(5, H1, "env-1", 5) "]",
	    5);
	/* A repeat that says something else changes nothing. */
	put_ok(s, "acme-prod", "[" USAGE_REC(2, H0, "env-2", 99) ","
	    USAGE_REC(3, H0, "env-1", 99) "]", 5);
	u = usage_text(s, "acme-prod");
	assert_string_equal(u,
	    "HOUR                  ENVIRONMENT  UNIT        AMOUNT\n"
	    "2026-11-18T12:00:00Z  env-1        host_units       3\n"
	    "2026-11-18T12:00:00Z  env-2        host_units       4\n"
	    "2026-11-18T13:00:00Z  env-1        host_units       5\n");
	free(u);
	assert_int_equal(count("SELECT count(*) FROM records"), 5);

	/*
	 * In steps: a call that needs the database while a batch is sent
	 * waits for it, and the batch's outcome is still there to wait for.
	 */
	assert_non_null(recs = json_loads("[" USAGE_REC(6, H1, "env-2", 6)
	    "]", 0, NULL));
	assert_int_equal(store_batch_check(s, "acme-prod", recs, T0, &b, why,
	    sizeof(why)), 0);
	json_decref(recs);
	rc = store_batch_send(s, b, &acked, why, sizeof(why));
	assert_int_equal(rc, pg_uri != NULL ? 1 : 0);
	assert_int_equal(store_batch_pending(s), rc == 1);
	if (rc == 1) {
		assert_int_equal(store_last_seq(s, "acme-prod", &seq), 0);
		assert_int_equal(seq, 6);
		assert_int_equal(store_batch_wait(s, &acked, why, sizeof(why)),
		    0);
	}
	assert_int_equal(acked, 6);
	assert_int_equal(store_batch_pending(s), 0);
	assert_int_equal(store_batch_wait(s, &acked, why, sizeof(why)), -1);
	assert_int_equal(count("SELECT count(*) FROM usage"), 4);
	store_close(s);
}

static void
test_holes_accepted(void **state)
{
	struct store	*s = open_store();
	uint64_t	 acked, seq;
	char		 why[256];

	(void)state;
	put_ok(s, "acme-prod", batch1, 3);
	/* Health records dropped by the spool leave holes: still stored. */
	assert_int_equal(put(s, "acme-prod",
	    "[{\"seq\":5,\"class\":\"event\",\"record\":{\"type\":\"x\","
	    "\"ts\":\"" H0 "\"}},"
	    "{\"seq\":8,\"class\":\"event\",\"record\":{\"type\":\"y\","
	    "\"ts\":\"" H0 "\"}}]", &acked, why, sizeof(why)), 0);
	assert_int_equal(acked, 8);
	assert_int_equal(store_last_seq(s, "acme-prod", &seq), 0);
	assert_int_equal(seq, 8);
	assert_int_equal(count("SELECT count(*) FROM events"), 3);
	/* An old seq again is a duplicate, not a new record. */
	assert_int_equal(put(s, "acme-prod",
	    "[{\"seq\":5,\"class\":\"event\",\"record\":{\"type\":\"x\","
	    "\"ts\":\"" H0 "\"}}]", &acked, why, sizeof(why)), 0);
	assert_int_equal(acked, 8);
	assert_int_equal(count("SELECT count(*) FROM events"), 3);
	store_close(s);
}

static void
test_first_batch_may_start_anywhere(void **state)
{
	struct store *s = open_store();

	(void)state;
	/* The gateway's records 1-99 went to a database since lost. */
	put_ok(s, "acme-prod",
	    "[{\"seq\":100,\"class\":\"event\",\"record\":{\"type\":\"x\","
	    "\"ts\":\"" H0 "\"}},"
	    "{\"seq\":101,\"class\":\"event\",\"record\":{\"type\":\"y\","
	    "\"ts\":\"" H0 "\"}}]", 101);
	put_ok(s, "acme-prod", "[]", 101);
	store_close(s);
}

/* 65 units, one more than a usage record may hold. */
#define U8(p)	"\"" p "0\":1,\"" p "1\":1,\"" p "2\":1,\"" p "3\":1," \
		"\"" p "4\":1,\"" p "5\":1,\"" p "6\":1,\"" p "7\":1,"
#define UNITS65	"{" U8("a") U8("b") U8("c") U8("d") U8("e") U8("f") U8("g") \
		U8("h") "\"z\":1}"
/* An array within arrays, 33 levels deep with the record around it. */
#define DEEP33	"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"

/* Each batch holds one good record before the bad one. */
static const struct {
	const char	*batch;
	const char	*why;
} malformed[] = {
	{ "{\"seq\":1}", "records must be an array" },
	{ "[1]", "record 1: not an object" },
	{ "[{\"seq\":0,\"class\":\"event\",\"record\":{}}]",
	  "record 1: 'seq' must be a positive integer" },
	{ "[{\"seq\":\"2\",\"class\":\"event\",\"record\":{}}]",
	  "record 1: 'seq' must be a positive integer" },
	{ "[{\"seq\":1,\"class\":\"event\",\"record\":{}}]",
	  "record 1 (seq 1): seq 1 does not follow 1" },
	{ "[{\"seq\":2,\"class\":\"billing\",\"record\":{}}]",
	  "record 1 (seq 2): 'class' must be usage, event or health" },
	{ "[{\"seq\":2,\"class\":\"event\",\"record\":[]}]",
	  "record 1 (seq 2): 'record' must be an object" },
	{ "[{\"seq\":2,\"class\":\"event\",\"record\":{\"class\":\"usage\"}}]",
	  "record 1 (seq 2): field 'class' is not 'event'" },
	{ "[{\"seq\":2,\"class\":\"usage\",\"record\":{\"hour\":"
	  "\"2026-11-18T12:30:00Z\",\"environment\":\"e\",\"units\":{}}}]",
	  "record 1 (seq 2): field 'hour' must be an RFC 3339 time on the "
	  "hour" },
	{ "[{\"seq\":2,\"class\":\"usage\",\"record\":{\"hour\":\"" H0 "\","
	  "\"units\":{}}}]",
	  "record 1 (seq 2): field 'environment' is missing" },
	{ "[{\"seq\":2,\"class\":\"usage\",\"record\":{\"hour\":\"" H0 "\","
	  "\"environment\":\"e\"}}]",
	  "record 1 (seq 2): field 'units' is missing" },
	{ "[{\"seq\":2,\"class\":\"usage\",\"record\":{\"hour\":\"" H0 "\","
	  "\"environment\":\"e\",\"units\":{\"a\":-1}}}]",
	  "record 1 (seq 2): field 'units.a' must be a number >= 0" },
	{ "[{\"seq\":2,\"class\":\"usage\",\"record\":{\"hour\":\"" H0 "\","
	  "\"environment\":\"e\",\"units\":{\"a\":\"1\"}}}]",
	  "record 1 (seq 2): field 'units.a' must be a number >= 0" },
	{ "[{\"seq\":2,\"class\":\"event\",\"record\":{\"type\":\"Bad Type\","
	  "\"ts\":\"" H0 "\"}}]",
	  "record 1 (seq 2): field 'type' must be 1-64 characters of a-z "
	  "0-9 _" },
	{ "[{\"seq\":2,\"class\":\"event\",\"record\":{\"type\":\"x\","
	  "\"ts\":\"yesterday\"}}]",
	  "record 1 (seq 2): field 'ts' must be an RFC 3339 UTC time "
	  "(YYYY-MM-DDTHH:MM:SSZ)" },
	{ "[{\"seq\":2,\"class\":\"health\",\"record\":{}}]",
	  "record 1 (seq 2): field 'ts' is missing" },
	{ "[{\"seq\":2,\"class\":\"health\",\"record\":{\"ts\":"
	  "\"2026-11-18T12:00:00.5Z\"}}]",
	  "record 1 (seq 2): field 'ts' must be an RFC 3339 UTC time "
	  "(YYYY-MM-DDTHH:MM:SSZ)" },
	/*
	 * What the relay used to take although the gateway refuses it:
	 * both now judge a record by telemetry/record.c.
	 */
	{ "[{\"seq\":2,\"class\":\"usage\",\"record\":{\"hour\":\"" H0 "\","
	  "\"environment\":\"e\",\"units\":{\"\\u009bx\":1}}}]",
	  "record 1 (seq 2): field 'units' has a unit name that is not "
	  "1-128 characters of A-Z a-z 0-9 . _ : -" },
	{ "[{\"seq\":2,\"class\":\"usage\",\"record\":{\"hour\":\"" H0 "\","
	  "\"environment\":\"e\",\"units\":{\"host units\":1}}}]",
	  "record 1 (seq 2): field 'units' has a unit name that is not "
	  "1-128 characters of A-Z a-z 0-9 . _ : -" },
	{ "[{\"seq\":2,\"class\":\"usage\",\"record\":{\"hour\":\"" H0 "\","
	  "\"environment\":\"e\",\"units\":" UNITS65 "}}]",
	  "record 1 (seq 2): field 'units' must hold at most 64 units" },
	{ "[{\"seq\":2,\"class\":\"health\",\"record\":{\"ts\":\"" H0 "\","
	  "\"n\":" DEEP33 "}}]",
	  "record 1 (seq 2): record nests deeper than 32 levels" },
};

static void
test_malformed_stores_nothing(void **state)
{
	struct store	*s = open_store();
	uint64_t	 acked, seq;
	json_t		*good, *bad;
	char		 why[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		/* A good record first: it must not be stored either. */
		assert_non_null(good = json_loads("[{\"seq\":1,\"class\":"
		    "\"usage\",\"record\":{\"hour\":\"" H0 "\","
		    "\"environment\":\"e\",\"units\":{\"u\":1}}}]", 0, NULL));
		assert_non_null(bad = json_loads(malformed[i].batch,
		    JSON_DECODE_ANY, NULL));
		if (json_is_array(bad))
			json_array_extend(good, bad);
		else {
			json_decref(good);
			good = json_incref(bad);
		}
		why[0] = '\0';
		assert_int_equal(store_records(s, "acme-prod", good, T0,
		    &acked, why, sizeof(why)), -1);
		assert_string_equal(why, malformed[i].why);
		json_decref(good);
		json_decref(bad);
	}
	assert_int_equal(put(s, "bad/id", batch1, &acked, why, sizeof(why)),
	    -1);
	assert_int_equal(store_last_seq(s, "acme-prod", &seq), 0);
	assert_int_equal(seq, 0);
	assert_int_equal(count("SELECT count(*) FROM records"), 0);
	assert_int_equal(count("SELECT count(*) FROM usage"), 0);
	store_close(s);
}

/* A usage record is its hour's total: the latest replaces, never adds. */
static void
test_usage_replaces(void **state)
{
	struct store	*s = open_store();
	char		*u;

	(void)state;
	put_ok(s, "acme-prod",
	    "[{\"seq\":1,\"class\":\"usage\",\"record\":{\"hour\":\"" H1 "\","
	    "\"environment\":\"env-1\",\"units\":{\"host_units\":2.25}}},"
	    "{\"seq\":2,\"class\":\"usage\",\"record\":{\"hour\":\"" H0 "\","
	    "\"environment\":\"env-1\",\"units\":{\"host_units\":12.5}}}]", 2);
	/* A correction of env-1's hour H0, with a unit it did not have. */
	put_ok(s, "acme-prod",
	    "[{\"seq\":3,\"class\":\"usage\",\"record\":{\"hour\":\"" H0 "\","
	    "\"environment\":\"env-1\",\"units\":{\"host_units\":13,"
	    "\"dem_units\":7}}},"
	    "{\"seq\":4,\"class\":\"usage\",\"record\":{\"hour\":\"" H0 "\","
	    "\"environment\":\"env-2\",\"units\":{\"host_units\":1}}}]", 4);
	/* A producer that resends a record it was not sure of (new seq). */
	put_ok(s, "acme-prod",
	    "[{\"seq\":5,\"class\":\"usage\",\"record\":{\"hour\":\"" H0 "\","
	    "\"environment\":\"env-2\",\"units\":{\"host_units\":1}}}]", 5);
	u = usage_text(s, "acme-prod");
	assert_string_equal(u,
	    "HOUR                  ENVIRONMENT  UNIT        AMOUNT\n"
	    "2026-11-18T12:00:00Z  env-1        dem_units        7\n"
	    "2026-11-18T12:00:00Z  env-1        host_units      13\n"
	    "2026-11-18T12:00:00Z  env-2        host_units       1\n"
	    "2026-11-18T13:00:00Z  env-1        host_units    2.25\n");
	free(u);
	/* A later total without dem_units: the hour has none any more. */
	put_ok(s, "acme-prod",
	    "[{\"seq\":6,\"class\":\"usage\",\"record\":{\"hour\":\"" H0 "\","
	    "\"environment\":\"env-1\",\"units\":{\"host_units\":14}}}]", 6);
	u = usage_text(s, "acme-prod");
	assert_string_equal(u,
	    "HOUR                  ENVIRONMENT  UNIT        AMOUNT\n"
	    "2026-11-18T12:00:00Z  env-1        host_units      14\n"
	    "2026-11-18T12:00:00Z  env-2        host_units       1\n"
	    "2026-11-18T13:00:00Z  env-1        host_units    2.25\n");
	free(u);
	/* Nothing for a cluster that sent nothing: the header only. */
	u = usage_text(s, "beta");
	assert_string_equal(u, "HOUR  ENVIRONMENT  UNIT  AMOUNT\n");
	free(u);
	store_close(s);
}

static void
test_reopen_keeps_everything(void **state)
{
	struct store			*s = open_store();
	struct store_cluster_info	 ci;
	uint64_t			 seq;
	char				*u;

	(void)state;
	assert_int_equal(store_cluster_seen(s, "acme-prod", T0, "1.4.2", 1),
	    0);
	put_ok(s, "acme-prod", batch1, 3);
	assert_int_equal(store_anchor(s, "acme-prod", 2, 40,
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	    T0), 0);
	store_close(s);

	s = open_store();
	assert_int_equal(store_last_seq(s, "acme-prod", &seq), 0);
	assert_int_equal(seq, 3);
	u = usage_text(s, "acme-prod");
	assert_string_equal(u, usage1);
	free(u);
	assert_int_equal(store_cluster_info(s, "acme-prod", &ci), 1);
	assert_string_equal(ci.version, "1.4.2");
	assert_int_equal(ci.records, 3);
	assert_int_equal(count("SELECT count(*) FROM anchors"), 1);
	/* The resent batch is still recognised after the reopen. */
	put_ok(s, "acme-prod", batch1, 3);
	u = usage_text(s, "acme-prod");
	assert_string_equal(u, usage1);
	free(u);
	store_close(s);
	/* WAL is a property of the file, so a second connection sees it. */
	if (pg_uri == NULL)
		assert_int_equal(count("SELECT journal_mode = 'wal' FROM "
	    "pragma_journal_mode"), 1);
}

/*
 * What was acked survives the relay being killed straight after: a child
 * stores a batch, reports its ack and dies by SIGKILL without closing.
 */
static void
test_acked_survives_kill(void **state)
{
	struct store	*s;
	uint64_t	 acked = 0, seq;
	pid_t		 pid;
	int		 fds[2], status;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		char why[256];

		close(fds[0]);
		s = open_store();
		if (put(s, "acme-prod", batch1, &acked, why, sizeof(why)) == 0)
			(void)write(fds[1], &acked, sizeof(acked));
		raise(SIGKILL);
		_exit(1);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &acked, sizeof(acked)), sizeof(acked));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(acked, 3);
	s = open_store();
	assert_int_equal(store_last_seq(s, "acme-prod", &seq), 0);
	assert_int_equal(seq, acked);
	assert_int_equal(count("SELECT count(*) FROM records"), 3);
	store_close(s);
}

/*
 * A report reads while the relay writes and takes nothing from it, not
 * even from a writer whose locks were lost (its connection opened
 * before a fork, as the relay once did), which SQLite would take for
 * gone: the report neither checkpoints nor deletes the WAL on close, so
 * a batch committed after it survives a kill of the writer.
 */
static void
test_report_takes_nothing(void **state)
{
	struct store	*s, *r;
	uint64_t	 seq, acked;
	char		 wal[160], why[256], c = 0;
	int		 up[2], go[2];
	pid_t		 pid;

	(void)state;
	SQLITE_ONLY();
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(go), 0);
	if ((pid = fork()) == 0) {
		close(up[0]);
		close(go[1]);
		s = open_store();
		/* The writer goes on in a child; the locks stay behind. */
		if (fork() != 0)
			_exit(0);
		if (put(s, "acme-prod", batch1, &acked, why, sizeof(why)) == 0)
			(void)write(up[1], "1", 1);
		if (read(go[0], &c, 1) == 1 &&
		    put(s, "beta", batch1, &acked, why, sizeof(why)) == 0)
			(void)write(up[1], "2", 1);
		raise(SIGKILL);
		_exit(1);
	}
	close(up[1]);
	close(go[0]);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(read(up[0], &c, 1), 1);
	assert_int_equal(c, '1');
	if (store_open_readonly(dbpath, &r, why, sizeof(why)) == -1)
		fail_msg("store_open_readonly: %s", why);
	assert_int_equal(store_last_seq(r, "acme-prod", &seq), 0);
	assert_int_equal(seq, 3);
	store_close(r);
	snprintf(wal, sizeof(wal), "%s-wal", dbpath);
	assert_int_equal(access(wal, F_OK), 0);
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(read(up[0], &c, 1), 1);
	assert_int_equal(c, '2');
	/* End of file once the writer is gone. */
	assert_int_equal(read(up[0], &c, 1), 0);
	close(up[0]);
	close(go[1]);
	s = open_store();
	assert_int_equal(count("SELECT count(*) FROM records"), 6);
	store_close(s);
}

/* Reports never create or change a database. */
static void
test_readonly_refusals(void **state)
{
	struct store	*r;
	uint64_t	 acked;
	char		 err[256], want[256];

	(void)state;
	if (pg_uri == NULL) {
		assert_int_equal(store_open_readonly(dbpath, &r, err,
		    sizeof(err)), -1);
		assert_int_equal(access(dbpath, F_OK), -1);
		/* An empty file: not the relay's, and left as it is. */
		fclose(fopen(dbpath, "w"));
	}
	/* An empty database: not the relay's, and left as it is. */
	assert_int_equal(store_open_readonly(db_spec(), &r, err, sizeof(err)),
	    -1);
	snprintf(want, sizeof(want), "%s: no relay tables (the relay has not "
	    "started on it yet)", db_spec());
	assert_string_equal(err, want);
	if (pg_uri == NULL)
		unlink(dbpath);
	else
		assert_int_equal(count("SELECT count(*) FROM pg_tables WHERE"
		    " schemaname = 'public'"), 0);
	r = open_store();
	put_ok(r, "acme-prod", batch1, 3);
	store_close(r);
	if (store_open_readonly(db_spec(), &r, err, sizeof(err)) == -1)
		fail_msg("store_open_readonly: %s", err);
	assert_int_equal(put(r, "beta", batch1, &acked, err, sizeof(err)),
	    -1);
	store_close(r);
	assert_int_equal(count("SELECT count(*) FROM records"), 3);
}

static void
test_health_keeps_latest(void **state)
{
	struct store	*s = open_store();
	json_t		*b, *rec;
	uint64_t	 acked;
	char		 why[256];
	int		 i, n;

	(void)state;
	/* 150 snapshots in batches of 10, the last with 2 nodes. */
	for (n = 0; n < 150; n += 10) {
		b = json_array();
		for (i = n + 1; i <= n + 10; i++) {
			rec = json_pack("{s:s, s:[{s:s}]}", "ts", H0, "nodes",
			    "name", "a");
			if (i == 150)
				json_array_append_new(json_object_get(rec,
				    "nodes"), json_pack("{s:s}", "name", "b"));
			json_array_append_new(b, json_pack("{s:i, s:s, s:o}",
			    "seq", i, "class", "health", "record", rec));
		}
		assert_int_equal(store_records(s, "acme-prod", b, T0, &acked,
		    why, sizeof(why)), 0);
		json_decref(b);
	}
	assert_int_equal(acked, 150);
	assert_int_equal(count("SELECT count(*) FROM health"),
	    STORE_HEALTH_KEEP);
	assert_int_equal(count("SELECT min(seq) FROM health"),
	    150 - STORE_HEALTH_KEEP + 1);
	/* The records table still knows all 150 seqs, for dedupe. */
	assert_int_equal(count("SELECT count(*) FROM records"), 150);
	store_close(s);
	s = open_store();
	{
		struct store_cluster_info ci;

		assert_int_equal(store_cluster_info(s, "acme-prod", &ci), 1);
		assert_int_equal(ci.has_health, 1);
		assert_int_equal(ci.health_nodes, 2);
		assert_int_equal(ci.health_services, -1);
	}
	store_close(s);
}

static void
test_events_in_order(void **state)
{
	struct store	*s = open_store();
	char		*e;

	(void)state;
	put_ok(s, "acme-prod", batch1, 3);
	put_ok(s, "acme-prod",
	    "[{\"seq\":4,\"class\":\"event\",\"record\":{\"type\":"
	    "\"session_opened\",\"ts\":\"2026-11-18T12:05:00Z\","
	    "\"session\":\"s1\",\"engineer\":\"alice\"}},"
	    "{\"seq\":5,\"class\":\"usage\",\"record\":{\"hour\":\"" H0 "\","
	    "\"environment\":\"e\",\"units\":{}}},"
	    "{\"seq\":6,\"class\":\"event\",\"record\":{\"type\":"
	    "\"session_closed\",\"ts\":\"2026-11-18T12:01:00Z\","
	    "\"session\":\"s1\"}}]", 6);
	e = events_text(s, "acme-prod");
	/* In the order the cluster sent them, not by their own clocks. */
	assert_string_equal(e,
	    "TS                    TYPE            SEQ  FIELDS\n"
	    "2026-11-18T12:00:00Z  node_added        2  node=node-3\n"
	    "2026-11-18T12:05:00Z  session_opened    4  "
	    "session=s1 engineer=alice\n"
	    "2026-11-18T12:01:00Z  session_closed    6  session=s1\n");
	free(e);
	store_close(s);
}

/*
 * A field's value (or name) that holds a space, a quote, '=' or a
 * backslash, or anything but printable ASCII, is written as a JSON
 * string: a cluster cannot forge a field of its own inside another.
 */
static void
test_events_quoted(void **state)
{
	struct store	*s = open_store();
	char		*e;

	(void)state;
	put_ok(s, "acme-prod",
	    "[{\"seq\":1,\"class\":\"event\",\"record\":{\"type\":"
	    "\"node_added\",\"ts\":\"" H0 "\",\"node\":\"n1 engineer=mallory\","
	    "\"a b\":\"x\",\"q\":\"say \\\"hi\\\"\",\"u\":\"caf\u00e9\","
	    "\"sp\":\"a\u00a0b=c\",\"empty\":\"\",\"plain\":\"node-3\"}}]", 1);
	e = events_text(s, "acme-prod");
	assert_string_equal(e,
	    "TS                    TYPE        SEQ  FIELDS\n"
	    "2026-11-18T12:00:00Z  node_added    1  "
	    "node=\"n1 engineer=mallory\" \"a b\"=x q=\"say \\\\\"hi\\\\\"\" "
	    "u=\"caf\xc3\xa9\" sp=\"a\xc2\xa0" "b=c\" empty=\"\" plain=node-3\n");
	free(e);
	store_close(s);
}

static void
test_anchors(void **state)
{
	struct store	*s = open_store();
	const char	*h1 = "00112233445566778899aabbccddeeff"
			      "00112233445566778899aabbccddeeff";
	const char	*h2 = "ffeeddccbbaa99887766554433221100"
			      "ffeeddccbbaa99887766554433221100";

	(void)state;
	assert_int_equal(store_anchor(s, "acme-prod", 0, 100, h1, T0), 0);
	/* Resent after a reconnect: stored once. */
	assert_int_equal(store_anchor(s, "acme-prod", 0, 100, h1, T0 + 5), 0);
	assert_int_equal(store_anchor(s, "acme-prod", 1, 200, h2, T0), 0);
	assert_int_equal(count("SELECT count(*) FROM anchors"), 2);
	/* A rewritten log: a second head for the same place is kept. */
	assert_int_equal(store_anchor(s, "acme-prod", 0, 100, h2, T0), 0);
	assert_int_equal(count("SELECT count(*) FROM anchors WHERE epoch = 0 "
	    "AND seq = 100"), 2);
	/* Bad input is refused. */
	assert_int_equal(store_anchor(s, "acme-prod", 0, 1, "abc", T0), -1);
	assert_int_equal(store_anchor(s, "acme-prod", 0, 1,
	    "G0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	    T0), -1);
	assert_int_equal(store_anchor(s, "acme-prod", UINT64_MAX, 1, h1, T0),
	    -1);
	assert_int_equal(store_anchor(s, "bad id", 0, 1, h1, T0), -1);
	assert_int_equal(count("SELECT count(*) FROM anchors"), 3);
	store_close(s);
}

/* relay.conf's clusters for the clusters report, seen or not. */
static struct relay_cluster conf_clusters[] = {
	{ .id = "acme-prod", .license_expires = T0 + 200 * 86400,
	    .overage = 1 },
	{ .id = "beta", .trial = 1 },
	{ .id = "never-seen" },
};
static const struct relay_conf conf = {
	.listen_port = 2222,
	.clusters = conf_clusters,
	.nclusters = 3,
};

static char *
clusters_text(struct store *s, enum report_form form)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f;

	assert_non_null(f = open_memstream(&buf, &len));
	assert_int_equal(report_clusters(&conf, s, T0 + 60, form, f), 0);
	fclose(f);
	return buf;
}

static void
test_print_clusters(void **state)
{
	struct store			*s = open_store();
	struct store_cluster_info	 ci;
	json_t				*j, *c;
	char				*buf, host[256], self[300], want[2048];

	(void)state;
	/* The relays a cluster is connected to: this one, HOSTNAME:PORT. */
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	snprintf(self, sizeof(self), "%s:2222", host);
	assert_int_equal(store_relay_started(s, self, T0), 0);
	assert_int_equal(store_cluster_seen(s, "beta", T0 - 4 * 86400, "1.3.0",
	    1), 0);
	assert_int_equal(store_cluster_seen(s, "beta", T0 - 3 * 86400 - 5,
	    NULL, 0), 0);
	assert_int_equal(store_cluster_seen(s, "acme-prod", T0, "1.4.2", 1),
	    0);
	put_ok(s, "acme-prod", batch1, 3);
	assert_int_equal(store_cluster_seen(s, "x", T0, "bad\nversion", 1),
	    -1);
	assert_int_equal(store_cluster_info(s, "never-seen", &ci), 0);

	buf = clusters_text(s, REPORT_TEXT);
	snprintf(want, sizeof(want),
	    "CLUSTER     LICENSE  EXPIRES               CONNECTED  "
	    "LAST-CONTACT          OFFLINE-DAYS  VERSION  RECORDS  "
	    "HEALTH                    RELAYS\n"
	    "acme-prod   full     2027-06-06T12:00:00Z  yes        "
	    "2026-11-18T12:00:00Z  0             1.4.2          3  "
	    "3 nodes, 1/2 services up  %s\n"
	    "beta        trial    -                     no         "
	    "2026-11-15T11:59:55Z  3             1.3.0          0  "
	    "-                         -\n"
	    "never-seen  full     -                     no         "
	    "never                 -             -              0  "
	    "-                         -\n", self);
	assert_string_equal(buf, want);
	free(buf);

	buf = clusters_text(s, REPORT_JSON);
	assert_non_null(j = json_loads(buf, 0, NULL));
	free(buf);
	assert_int_equal(json_array_size(j), 3);
	c = json_array_get(j, 0);
	assert_string_equal(json_string_value(json_object_get(c, "cluster")),
	    "acme-prod");
	assert_string_equal(json_string_value(json_object_get(c,
	    "license_expires")), "2027-06-06T12:00:00Z");
	assert_true(json_is_true(json_object_get(c, "connected")));
	assert_string_equal(json_string_value(json_object_get(c, "version")),
	    "1.4.2");
	assert_int_equal(json_integer_value(json_object_get(c, "records")), 3);
	assert_int_equal(json_integer_value(json_object_get(c,
	    "offline_days")), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(c,
	    "health"), "services_up")), 1);
	assert_int_equal(json_array_size(json_object_get(c, "relays")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(c,
	    "relays"), 0)), self);
	c = json_array_get(j, 1);
	assert_int_equal(json_array_size(json_object_get(c, "relays")), 0);
	assert_string_equal(json_string_value(json_object_get(c, "license")),
	    "trial");
	assert_true(json_is_false(json_object_get(c, "connected")));
	assert_int_equal(json_integer_value(json_object_get(c,
	    "offline_days")), 3);
	assert_true(json_is_null(json_object_get(c, "health")));
	c = json_array_get(j, 2);
	assert_true(json_is_false(json_object_get(c, "seen")));
	assert_true(json_is_null(json_object_get(c, "last_contact")));
	assert_true(json_is_null(json_object_get(c, "version")));
	json_decref(j);
	store_close(s);
}

/*
 * What a cluster sent reaches a table escaped (C0, DEL, C1 as \xNN, a
 * backslash doubled; an event's string that is not a plain word is a
 * JSON string first), and the JSON form exactly as sent.
 */
static void
test_reports_escape(void **state)
{
	/* ESC [2J, a C1 CSI (U+009B), DEL, a backslash, and a word. */
	static const char nasty[] = "\x1b[2J\xc2\x9b" "1m\x7f\\ok";
	struct store			*s = open_store();
	struct store_cluster_info	 ci;
	json_t				*j, *rec;
	char				*t;

	(void)state;
	put_ok(s, "acme-prod",
	    "[{\"seq\":1,\"class\":\"event\",\"record\":{\"type\":"
	    "\"node_added\",\"ts\":\"" H0 "\",\"node\":"
	    "\"\\u001b[2J\\u009b1m\\u007f\\\\ok\",\"n\":[\"\\u001b\"]}},"
	    "{\"seq\":2,\"class\":\"usage\",\"record\":{\"hour\":\"" H0
	    "\",\"environment\":\"e\",\"units\":{\"x\":1}}}]", 2);
	/*
	 * The relay refuses such a unit name now, as the gateway does; a
	 * database an older relay filled may still hold one.
	 */
	db_exec("UPDATE usage SET unit = '\xc2\x9bx'");
	t = events_text(s, "acme-prod");
	assert_string_equal(t,
	    "TS                    TYPE        SEQ  FIELDS\n"
	    "2026-11-18T12:00:00Z  node_added    1  "
	    "node=\"\\\\u001B[2J\\xc2\\x9b1m\\x7f\\\\\\\\ok\" "
	    "n=[\"\\\\u001B\"]\n");
	assert_null(strchr(t, 0x1b));
	free(t);
	j = report_json(report_events, s, "acme-prod");
	rec = json_object_get(json_array_get(j, 0), "record");
	assert_string_equal(json_string_value(json_object_get(rec, "node")),
	    nasty);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(j,
	    0), "seq")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j,
	    0), "type")), "node_added");
	json_decref(j);

	/* A unit name from that database. */
	t = usage_text(s, "acme-prod");
	assert_non_null(strstr(t, "  \\xc2\\x9bx  "));
	assert_null(strstr(t, "\xc2\x9b"));
	free(t);
	j = report_json(report_usage, s, "acme-prod");
	assert_string_equal(json_string_value(json_object_get(json_array_get(j,
	    0), "unit")), "\xc2\x9bx");
	assert_true(json_real_value(json_object_get(json_array_get(j, 0),
	    "amount")) == 1.0);
	json_decref(j);

	/* The gateway's version: C0 refused, C1 kept and escaped. */
	assert_int_equal(store_cluster_seen(s, "acme-prod", T0,
	    "1.0\x1b[31m", 1), -1);
	assert_int_equal(store_cluster_seen(s, "acme-prod", T0,
	    "1.0\xff", 1), -1);
	assert_int_equal(store_cluster_seen(s, "acme-prod", T0,
	    "1.0\xc2\x9b" "31m", 1), 0);
	assert_int_equal(store_cluster_info(s, "acme-prod", &ci), 1);
	t = clusters_text(s, REPORT_TEXT);
	assert_non_null(strstr(t, "  1.0\\xc2\\x9b31m  "));
	assert_null(strstr(t, "\xc2\x9b"));
	free(t);
	t = clusters_text(s, REPORT_JSON);
	assert_non_null(j = json_loads(t, 0, NULL));
	free(t);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j,
	    0), "version")), "1.0\xc2\x9b" "31m");
	json_decref(j);
	store_close(s);
}

/* The anchors report is the file audit verify --anchors reads. */
static void
test_anchors_report(void **state)
{
	static const char h[] =
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	struct store	*s = open_store();
	json_t		*j, *a;
	char		*t;

	(void)state;
	assert_int_equal(store_anchor(s, "acme-prod", 2, 40, h, T0), 0);
	t = report_text(report_anchors, s, "acme-prod", REPORT_TEXT);
	assert_string_equal(t, "# epoch seq head received (porthole audit "
	    "verify --anchors FILE)\n2 40 " "00112233445566778899aabbccddeeff"
	    "00112233445566778899aabbccddeeff 2026-11-18T12:00:00Z\n");
	free(t);
	j = report_json(report_anchors, s, "acme-prod");
	assert_int_equal(json_array_size(j), 1);
	a = json_array_get(j, 0);
	assert_int_equal(json_integer_value(json_object_get(a, "epoch")), 2);
	assert_int_equal(json_integer_value(json_object_get(a, "seq")), 40);
	assert_string_equal(json_string_value(json_object_get(a, "head")), h);
	assert_string_equal(json_string_value(json_object_get(a, "received")),
	    H0);
	json_decref(j);
	/* Nothing yet: an empty array, not nothing. */
	t = report_text(report_anchors, s, "beta", REPORT_JSON);
	assert_string_equal(t, "[]\n");
	free(t);
	store_close(s);
}

static void
test_unwritable_dir(void **state)
{
	struct store	*s;
	char		 err[256], sub[160], path[200];

	(void)state;
	SQLITE_ONLY();
	/* /sys refuses new files even to root. */
	assert_int_equal(store_open("/sys/porthole-relay.db", &s, err,
	    sizeof(err)), -1);
	assert_null(s);
	assert_string_equal(err, "/sys/porthole-relay.db: Permission denied");
	assert_int_equal(store_open("/nonexistent-porthole/relay.db", &s, err,
	    sizeof(err)), -1);
	assert_string_equal(err,
	    "/nonexistent-porthole/relay.db: No such file or directory");
	/* An ordinary read-only directory binds everyone else. */
	if (geteuid() != 0) {
		snprintf(sub, sizeof(sub), "%s/ro", dir);
		snprintf(path, sizeof(path), "%s/relay.db", sub);
		assert_int_equal(mkdir(sub, 0555), 0);
		assert_int_equal(store_open(path, &s, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "Permission denied"));
		chmod(sub, 0755);
	}
}

static void
test_not_a_database(void **state)
{
	struct store	*s;
	char		 err[256];
	FILE		*f;

	(void)state;
	SQLITE_ONLY();
	assert_non_null(f = fopen(dbpath, "w"));
	fputs("this is not an SQLite database, but it is long enough to "
	    "have a header that SQLite will read and reject outright.\n", f);
	fclose(f);
	assert_int_equal(store_open(dbpath, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, dbpath));
	assert_non_null(strstr(err, "not a database"));
}

static void
test_file_mode(void **state)
{
	struct store	*s;
	struct stat	 sb;

	(void)state;
	/* Before the store is opened: a skip would leave it open. */
	SQLITE_ONLY();
	s = open_store();
	put_ok(s, "acme-prod", batch1, 3);
	assert_int_equal(stat(dbpath, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	store_close(s);
}

/* Run SQL through a second, writing connection. */
#define exec_sql	db_exec

/* The schema version this relay writes. */
#define SCHEMA_NOW	6

/* Where each engine keeps the schema version. */
#define SCHEMA_VERSION_SQL	(pg_uri != NULL ? \
	"SELECT version FROM porthole_schema" : "PRAGMA user_version")

static void
set_schema_version(int v)
{
	char sql[64];

	snprintf(sql, sizeof(sql), pg_uri != NULL ? "UPDATE porthole_schema"
	    " SET version = %d" : "PRAGMA user_version = %d", v);
	exec_sql(sql);
}

/*
 * A database of schema version 1 (before messages) is brought up to
 * date when the relay opens it, and keeps what it held.
 */
static void
test_migrates_version_1(void **state)
{
	struct store	*s = open_store();
	uint64_t	 seq;
	int64_t		 id;
	char		 why[256];

	(void)state;
	put_ok(s, "acme-prod", batch1, 3);
	store_close(s);
	/* What a relay of version 1 left: no message or fleet tables. */
	exec_sql("DROP TABLE bundle_chunks; DROP TABLE bundles;"
	    " DROP TABLE deliveries; DROP TABLE messages;"
	    " DROP TABLE package_chunks; DROP TABLE alerts;"
	    " DROP TABLE health_nodes; DROP TABLE health_services;"
	    " DROP TABLE registry; DROP TABLE relays; DROP TABLE connections");
	set_schema_version(1);
	assert_int_equal(count(pg_uri != NULL ? "SELECT count(*) FROM"
	    " pg_tables WHERE tablename = 'messages'" : "SELECT count(*)"
	    " FROM sqlite_master WHERE name = 'messages'"), 0);
	s = open_store();
	assert_int_equal(count(SCHEMA_VERSION_SQL), SCHEMA_NOW);
	assert_int_equal(store_last_seq(s, "acme-prod", &seq), 0);
	assert_int_equal(seq, 3);
	assert_int_equal(store_message_add(s, NULL, "greeting",
	    "{\"text\":\"hi\"}", NULL, T0, &id, why, sizeof(why)), 0);
	assert_int_equal(id, 1);
	store_close(s);
	/* A database from a newer relay is refused, not changed. */
	set_schema_version(SCHEMA_NOW + 1);
	assert_int_equal(store_open(db_spec(), &s, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "schema version 7, this relay knows "
	    "version 6"));
}

/*
 * A store of schema version 2 (a relay with messages, from before the
 * health view and the alerts) is brought up to date when opened, its
 * records kept, and the health view fills from the next record.
 */
static void
test_migrates_v2(void **state)
{
	struct store	*s = open_store();

	(void)state;
	put_ok(s, "acme-prod", batch1, 3);
	store_close(s);
	exec_sql("DROP TABLE bundle_chunks; DROP TABLE bundles;"
	    " DROP TABLE alerts; DROP TABLE health_nodes;"
	    " DROP TABLE health_services; DROP TABLE registry;"
	    " DROP TABLE relays; DROP TABLE connections");
	set_schema_version(2);
	s = open_store();
	assert_int_equal(count(SCHEMA_VERSION_SQL), SCHEMA_NOW);
	assert_int_equal(count("SELECT count(*) FROM records"), 3);
	assert_int_equal(count("SELECT count(*) FROM alerts"), 0);
	put_ok(s, "acme-prod", "[{\"seq\":4,\"class\":\"health\",\"record\":"
	    "{\"ts\":\"" H0 "\",\"nodes\":[{\"name\":\"n9\"}]}}]", 4);
	assert_int_equal(count("SELECT count(*) FROM health_nodes"), 1);
	store_close(s);
}

/*
 * A store of schema version 3 (health view and alerts, before the
 * fleet) is brought up to date when opened: its alerts stay, and the
 * cluster registry works at once.
 */
static void
test_migrates_v3(void **state)
{
	struct store		*s = open_store();
	struct store_registry	 r;
	char			 why[256];

	(void)state;
	put_ok(s, "acme-prod", batch1, 3);
	store_close(s);
	exec_sql("INSERT INTO alerts (cluster, rule, subject, severity, text,"
	    " first_seen, last_seen, raised) VALUES ('acme-prod', 'disk_used',"
	    " 'n1:/', 'warning', 'full', 1, 2, 2)");
	exec_sql("DROP TABLE bundle_chunks; DROP TABLE bundles;"
	    " DROP TABLE registry; DROP TABLE relays;"
	    " DROP TABLE connections");
	set_schema_version(3);
	s = open_store();
	assert_int_equal(count(SCHEMA_VERSION_SQL), SCHEMA_NOW);
	assert_int_equal(count("SELECT count(*) FROM alerts WHERE"
	    " cleared IS NULL"), 1);
	assert_int_equal(count("SELECT count(*) FROM records"), 3);
	memset(&r, 0, sizeof(r));
	r.id = "gamma";
	r.key = KEY_A;
	assert_int_equal(store_registry_add(s, &r, 0, T0, why, sizeof(why)),
	    0);
	assert_int_equal(count("SELECT count(*) FROM registry WHERE"
	    " id = 'gamma' AND removed = 0"), 1);
	store_close(s);
}

/*
 * PostgreSQL: a store of schema version 5 checked each record's and usage
 * row's cluster with a foreign key; version 6 drops those two checks
 * (store_pg.c says why) and keeps every row, and a batch stored after
 * the migration still replaces usage as before.
 */
static void
test_migrates_v5(void **state)
{
	struct store	*s;
	char		*u;

	(void)state;
	PG_ONLY();
	s = open_store();
	put_ok(s, "acme-prod", batch1, 3);
	assert_int_equal(count("SELECT count(*) FROM pg_constraint WHERE"
	    " contype = 'f' AND conrelid IN ('records'::regclass,"
	    " 'usage'::regclass)"), 0);
	store_close(s);
	exec_sql("ALTER TABLE records ADD FOREIGN KEY (cluster)"
	    " REFERENCES clusters (id);"
	    " ALTER TABLE usage ADD FOREIGN KEY (cluster)"
	    " REFERENCES clusters (id)");
	assert_int_equal(count("SELECT count(*) FROM pg_constraint WHERE"
	    " contype = 'f' AND conrelid IN ('records'::regclass,"
	    " 'usage'::regclass)"), 2);
	set_schema_version(5);
	s = open_store();
	assert_int_equal(count(SCHEMA_VERSION_SQL), SCHEMA_NOW);
	assert_int_equal(count("SELECT count(*) FROM pg_constraint WHERE"
	    " contype = 'f' AND conrelid IN ('records'::regclass,"
	    " 'usage'::regclass)"), 0);
	assert_int_equal(count("SELECT count(*) FROM records"), 3);
	/* The other tables keep theirs. */
	assert_true(count("SELECT count(*) FROM pg_constraint WHERE"
	    " contype = 'f' AND conrelid = 'health'::regclass") == 1);
	put_ok(s, "acme-prod",
	    "[{\"seq\":4,\"class\":\"usage\",\"record\":{\"hour\":\"" H0 "\","
	    "\"environment\":\"env-9\",\"units\":{\"host_units\":3}}},"
	    "{\"seq\":5,\"class\":\"usage\",\"record\":{\"hour\":\"" H0 "\","
	    "\"environment\":\"env-9\",\"units\":{\"host_units\":4}}}]", 5);
	u = usage_text(s, "acme-prod");
	assert_non_null(strstr(u, "env-9        host_units       4\n"));
	assert_null(strstr(u, "env-9        host_units       3\n"));
	free(u);
	store_close(s);
}

/* A bundle of n bytes of a pattern, with its SHA-256 in hex. */
static unsigned char *
bundle_bytes(size_t n, char *hex)
{
	struct sha256	*h;
	unsigned char	*b;
	size_t		 i;

	assert_non_null(b = malloc(n));
	for (i = 0; i < n; i++)
		b[i] = (unsigned char)(i * 7 + i / 4096);
	assert_non_null(h = sha256_new());
	sha256_update(h, b, n);
	sha256_final(h, hex);
	return b;
}

static void
bundle_init(struct store_bundle *b, const char *id, const char *sha,
    uint64_t size)
{
	memset(b, 0, sizeof(*b));
	b->id = id;
	b->cluster = "acme-prod";
	b->sha256 = sha;
	b->size = size;
	b->source = "vendor";
	b->requested_by = "vendor (root)";
	b->ticket = "SUP-9";
	b->message_id = 3;
	b->summary = "{\"files\":3}";
	b->created = T0 - 60;
}

static int
bundle_row(const struct store_bundle *b, void *arg)
{
	struct store_bundle *out = arg;

	assert_string_equal(b->id, "0123456789abcdef");
	assert_string_equal(b->cluster, "acme-prod");
	assert_string_equal(b->ticket, "SUP-9");
	assert_string_equal(b->summary, "{\"files\":3}");
	out->received = b->received;
	out->completed = b->completed;
	out->size = b->size;
	out->message_id++;
	return 0;
}

/*
 * A support bundle is stored piece by piece, only where the stored
 * bytes end, and goes on from there after the store is closed and
 * opened again (a relay's restart); another cluster cannot touch it;
 * the last piece is checked with the rest against the SHA-256, and one
 * that does not match drops every chunk, so the upload starts again.
 */
static void
test_bundle_chunks(void **state)
{
	struct store		*s = open_store();
	struct store_bundle	 b, row;
	const size_t		 piece = 512 * 1024, len = piece * 2 + 1000;
	unsigned char		*data, *buf;
	char			 hex[65], other[65], why[256];
	uint64_t		 have, at;
	size_t			 n;
	int			 complete;

	(void)state;
	data = bundle_bytes(len, hex);
	bundle_init(&b, "0123456789abcdef", hex, len);
	assert_int_equal(store_bundle_begin(s, &b, T0, &have, &complete, why,
	    sizeof(why)), 0);
	assert_int_equal(have, 0);
	assert_int_equal(complete, 0);
	/* Not where the stored bytes end: refused, with where they end. */
	assert_int_equal(store_bundle_put(s, "acme-prod", b.id, piece,
	    data + piece, piece, T0, &have, why, sizeof(why)), -1);
	assert_int_equal(have, 0);
	assert_non_null(strstr(why, "holds 0 bytes"));
	assert_int_equal(store_bundle_put(s, "acme-prod", b.id, 0, data,
	    piece, T0, &have, why, sizeof(why)), 0);
	assert_int_equal(have, piece);
	/* Another cluster: neither its pieces nor the id. */
	assert_int_equal(store_bundle_put(s, "beta", b.id, piece,
	    data + piece, piece, T0, &have, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not begun by this cluster"));
	b.cluster = "beta";
	assert_int_equal(store_bundle_begin(s, &b, T0, &have, &complete, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "stored already"));
	b.cluster = "acme-prod";
	store_close(s);

	/* The relay again: the upload goes on from the stored bytes. */
	s = open_store();
	assert_int_equal(store_bundle_begin(s, &b, T0 + 5, &have, &complete,
	    why, sizeof(why)), 0);
	assert_int_equal(have, piece);
	assert_int_equal(complete, 0);
	assert_int_equal(store_bundle_put(s, "acme-prod", b.id, piece,
	    data + piece, piece, T0, &have, why, sizeof(why)), 0);
	assert_int_equal(store_bundle_put(s, "acme-prod", b.id, piece * 2,
	    data + piece * 2, 2000, T0, &have, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "past its"));
	assert_int_equal(store_bundle_put(s, "acme-prod", b.id, piece * 2,
	    data + piece * 2, 1000, T0 + 9, &have, why, sizeof(why)), 1);
	assert_int_equal(have, len);
	assert_int_equal(count("SELECT count(*) FROM bundle_chunks"), 3);
	assert_int_equal(store_bundle_put(s, "acme-prod", b.id, len - 1,
	    data, 1, T0, &have, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "whole already"));
	assert_int_equal(store_bundle_begin(s, &b, T0, &have, &complete, why,
	    sizeof(why)), 0);
	assert_int_equal(complete, 1);
	memset(&row, 0, sizeof(row));
	assert_int_equal(store_bundle_rows(s, "acme-prod", NULL, bundle_row,
	    &row), 0);
	assert_int_equal(row.message_id, 1);
	assert_int_equal(row.received, len);
	assert_int_equal(row.completed, T0 + 9);
	memset(&row, 0, sizeof(row));
	assert_int_equal(store_bundle_rows(s, "beta", NULL, bundle_row, &row),
	    0);
	assert_int_equal(row.message_id, 0);
	/* Read back whole, across the chunks. */
	assert_non_null(buf = malloc(len));
	for (at = 0; at < len; at += n) {
		assert_int_equal(store_bundle_read(s, b.id, at, buf + at,
		    len - at, &n), 0);
		assert_true(n > 0);
	}
	assert_memory_equal(buf, data, len);
	assert_int_equal(store_bundle_read(s, b.id, len, buf, len, &n), 0);
	assert_int_equal(n, 0);

	/* Bytes that are not what the SHA-256 says: all dropped. */
	free(bundle_bytes(10, other));
	bundle_init(&b, "fedcba9876543210", other, piece + 1);
	assert_int_equal(store_bundle_begin(s, &b, T0, &have, &complete, why,
	    sizeof(why)), 0);
	assert_int_equal(store_bundle_put(s, "acme-prod", b.id, 0, data,
	    piece, T0, &have, why, sizeof(why)), 0);
	assert_int_equal(store_bundle_put(s, "acme-prod", b.id, piece, data,
	    1, T0, &have, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "SHA-256"));
	assert_int_equal(have, 0);
	assert_int_equal(count("SELECT count(*) FROM bundle_chunks WHERE"
	    " bundle = 'fedcba9876543210'"), 0);
	assert_int_equal(count("SELECT received FROM bundles WHERE"
	    " id = 'fedcba9876543210'"), 0);

	/* What a gateway announces is checked. */
	bundle_init(&b, "0123456789abcdeg", hex, len);
	assert_int_equal(store_bundle_begin(s, &b, T0, &have, &complete, why,
	    sizeof(why)), -1);
	bundle_init(&b, "1123456789abcdef", hex, len);
	b.ticket = "a\033[2Jb";
	assert_int_equal(store_bundle_begin(s, &b, T0, &have, &complete, why,
	    sizeof(why)), -1);
	b.ticket = "";
	b.summary = "[1]";
	assert_int_equal(store_bundle_begin(s, &b, T0, &have, &complete, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "summary"));
	b.summary = "{}";
	b.source = "elsewhere";
	assert_int_equal(store_bundle_begin(s, &b, T0, &have, &complete, why,
	    sizeof(why)), -1);
	assert_int_equal(count("SELECT count(*) FROM bundles"), 2);
	free(buf);
	free(data);
	store_close(s);
}

/*
 * A store of schema version 4 (before support bundles) is brought up
 * to date when opened and takes a bundle at once.
 */
/*
 * [relay] bundle_quota: a cluster's new bundle that would take it past
 * its quota is refused before any row or piece of it is stored, with
 * the numbers; bundle remove makes room; one begun already goes on (a
 * quota lowered by a reload does not strand it); another cluster
 * counts its own; 0 sets no bound.
 */
static void
test_bundle_quota(void **state)
{
	struct store		*s = open_store();
	struct store_bundle	 b;
	unsigned char		*data;
	char			 hex[65], why[256], cluster[65];
	uint64_t		 have;
	int			 complete;

	(void)state;
	data = bundle_bytes(1000, hex);
	store_set_bundle_quota(s, 2500);
	bundle_init(&b, "aaaaaaaaaaaaaaa1", hex, 1000);
	assert_int_equal(store_bundle_begin(s, &b, T0, &have, &complete, why,
	    sizeof(why)), 0);
	bundle_init(&b, "aaaaaaaaaaaaaaa2", hex, 1000);
	assert_int_equal(store_bundle_begin(s, &b, T0, &have, &complete, why,
	    sizeof(why)), 0);
	bundle_init(&b, "aaaaaaaaaaaaaaa3", hex, 1000);
	assert_int_equal(store_bundle_begin(s, &b, T0, &have, &complete, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "holds 2000 bytes"));
	assert_non_null(strstr(why, "bundle_quota = 2500"));
	assert_int_equal(count("SELECT count(*) FROM bundles WHERE"
	    " id = 'aaaaaaaaaaaaaaa3'"), 0);
	/* bundle remove makes room: its row and chunks go. */
	assert_int_equal(store_bundle_put(s, "acme-prod", "aaaaaaaaaaaaaaa2",
	    0, data, 500, T0, &have, why, sizeof(why)), 0);
	assert_int_equal(store_bundle_remove(s, "aaaaaaaaaaaaaaa2", &have,
	    cluster, why, sizeof(why)), 1);
	assert_int_equal(have, 1000);
	assert_string_equal(cluster, "acme-prod");
	assert_int_equal(count("SELECT count(*) FROM bundle_chunks WHERE"
	    " bundle = 'aaaaaaaaaaaaaaa2'"), 0);
	assert_int_equal(store_bundle_remove(s, "aaaaaaaaaaaaaaa2", &have,
	    cluster, why, sizeof(why)), 0);
	assert_int_equal(store_bundle_remove(s, "../etc", &have, cluster,
	    why, sizeof(why)), -1);
	assert_int_equal(store_bundle_begin(s, &b, T0, &have, &complete, why,
	    sizeof(why)), 0);
	/* Begun under the old quota: it goes on under a lower one. */
	store_set_bundle_quota(s, 1500);
	bundle_init(&b, "aaaaaaaaaaaaaaa1", hex, 1000);
	assert_int_equal(store_bundle_begin(s, &b, T0, &have, &complete, why,
	    sizeof(why)), 0);
	bundle_init(&b, "bbbbbbbbbbbbbbb1", hex, 1000);
	b.cluster = "beta";
	assert_int_equal(store_bundle_begin(s, &b, T0, &have, &complete, why,
	    sizeof(why)), 0);
	/* Larger than the quota on its own. */
	bundle_init(&b, "bbbbbbbbbbbbbbb2", hex, 1000);
	b.cluster = "beta";
	b.size = 1501;
	assert_int_equal(store_bundle_begin(s, &b, T0, &have, &complete, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "over the cluster's bundle quota"));
	store_set_bundle_quota(s, 0);
	bundle_init(&b, "aaaaaaaaaaaaaaa4", hex, 1000);
	assert_int_equal(store_bundle_begin(s, &b, T0, &have, &complete, why,
	    sizeof(why)), 0);
	assert_int_equal(count("SELECT count(*) FROM bundles"), 4);
	free(data);
	store_close(s);
}

static void
test_migrates_v4(void **state)
{
	struct store		*s = open_store();
	struct store_bundle	 b;
	unsigned char		*data;
	char			 hex[65], why[256];
	uint64_t		 have;
	int			 complete;

	(void)state;
	put_ok(s, "acme-prod", batch1, 3);
	store_close(s);
	exec_sql("DROP TABLE bundle_chunks; DROP TABLE bundles");
	set_schema_version(4);
	s = open_store();
	assert_int_equal(count(SCHEMA_VERSION_SQL), SCHEMA_NOW);
	assert_int_equal(count("SELECT count(*) FROM records"), 3);
	data = bundle_bytes(100, hex);
	bundle_init(&b, "0123456789abcdef", hex, 100);
	assert_int_equal(store_bundle_begin(s, &b, T0, &have, &complete, why,
	    sizeof(why)), 0);
	assert_int_equal(store_bundle_put(s, "acme-prod", b.id, 0, data, 100,
	    T0, &have, why, sizeof(why)), 1);
	free(data);
	store_close(s);
}

struct pending {
	int64_t	ids[16];
	char	kinds[16][40];
	int	n;
};

static int
pending_row(const struct store_message *m, void *arg)
{
	struct pending *p = arg;

	p->ids[p->n] = m->id;
	snprintf(p->kinds[p->n], sizeof(p->kinds[0]), "%s", m->kind);
	p->n++;
	return 0;
}

static struct pending
pending_of(struct store *s, const char *cluster, int64_t after, int limit)
{
	struct pending p;

	memset(&p, 0, sizeof(p));
	assert_int_equal(store_messages_pending(s, cluster, after, limit,
	    pending_row, &p), 0);
	return p;
}

/*
 * Each cluster is offered its own messages and those for all, oldest
 * first, until it answers; the first answer stands.
 */
static void
test_messages_offered_until_answered(void **state)
{
	struct store	*s = open_store();
	struct pending	 p;
	int64_t		 id, newest;
	char		 why[256];

	(void)state;
	assert_int_equal(store_message_max(s, &newest), 0);
	assert_int_equal(newest, 0);
	assert_int_equal(store_message_add(s, NULL, "notice", "{\"a\":1}",
	    NULL, T0, &id, why, sizeof(why)), 0);
	assert_int_equal(store_message_add(s, "acme-prod", "alert",
	    "{\"b\":2}", NULL, T0, &id, why, sizeof(why)), 0);
	assert_int_equal(store_message_add(s, "other", "alert", "{\"c\":3}",
	    NULL, T0, &id, why, sizeof(why)), 0);
	assert_int_equal(store_message_max(s, &newest), 0);
	assert_int_equal(newest, 3);

	p = pending_of(s, "acme-prod", 0, 10);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.ids[0], 1);
	assert_int_equal(p.ids[1], 2);
	assert_string_equal(p.kinds[1], "alert");
	p = pending_of(s, "acme-prod", 0, 1);
	assert_int_equal(p.n, 1);
	p = pending_of(s, "acme-prod", 1, 10);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.ids[0], 2);

	/* Not offered: an answer is not recorded. */
	assert_int_equal(store_delivery_acked(s, 1, "acme-prod", T0, NULL), 0);
	assert_int_equal(store_delivery_offered(s, 1, "acme-prod", T0), 0);
	assert_int_equal(store_delivery_offered(s, 1, "acme-prod", T0 + 5), 0);
	assert_int_equal(count("SELECT offered FROM deliveries"), T0);
	p = pending_of(s, "acme-prod", 0, 10);
	assert_int_equal(p.n, 2);	/* offered is not answered */
	assert_int_equal(store_delivery_acked(s, 1, "acme-prod", T0 + 1,
	    "bad signature"), 1);
	assert_int_equal(store_delivery_acked(s, 1, "acme-prod", T0 + 2,
	    NULL), 0);
	assert_int_equal(count("SELECT result = 'refused: bad signature'"
	    " FROM deliveries WHERE message_id = 1"), 1);
	p = pending_of(s, "acme-prod", 0, 10);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.ids[0], 2);
	/* Message 1 is still pending for a cluster that joins later. */
	p = pending_of(s, "new-cluster", 0, 10);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.ids[0], 1);

	/* What is not a message is refused. */
	assert_int_equal(store_message_add(s, NULL, "Notice", "{}", NULL, T0,
	    &id, why, sizeof(why)), -1);
	assert_int_equal(store_message_add(s, NULL, "notice", "[1]", NULL, T0,
	    &id, why, sizeof(why)), -1);
	assert_int_equal(store_message_add(s, NULL, "notice",
	    "{\"a\":1,\"a\":2}", NULL, T0, &id, why, sizeof(why)), -1);
	assert_int_equal(store_message_add(s, "bad id!", "notice", "{}", NULL,
	    T0, &id, why, sizeof(why)), -1);
	assert_int_equal(count("SELECT count(*) FROM messages"), 3);
	store_close(s);
}

/* A file of n bytes of a pattern; its fd, at offset 0. */
static int
package_file(size_t n, const char *name)
{
	char	path[256], buf[4096];
	size_t	i, k;
	FILE	*f;
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	for (i = 0; i < n; i += k) {
		k = n - i < sizeof(buf) ? n - i : sizeof(buf);
		memset(buf, 'a' + (int)(i / 4096 % 26), k);
		assert_int_equal(fwrite(buf, 1, k, f), k);
	}
	assert_int_equal(fclose(f), 0);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	return fd;
}

/*
 * A package is kept in 1 MiB chunks with its message, in one
 * transaction, and read back at any offset; one whose size or SHA-256
 * differs from what its notice says stores nothing at all.
 */
static void
test_package_chunks(void **state)
{
	struct store		*s = open_store();
	struct store_package	 pkg;
	char			 why[256], hex[65], *buf;
	uint64_t		 size, total;
	size_t			 n, len = STORE_CHUNK * 2 + 1000;
	int64_t			 id;
	int			 fd;

	(void)state;
	fd = package_file(len, "pkg");
	assert_int_equal(sha256_fd(fd, hex, &size), 0);
	assert_int_equal(size, len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	pkg.name = "pkg";
	pkg.fd = fd;
	pkg.sha256 = hex;
	pkg.size = len;
	assert_int_equal(store_message_add(s, NULL, "update_notice", "{}",
	    &pkg, T0, &id, why, sizeof(why)), 0);
	close(fd);
	assert_int_equal(count("SELECT count(*) FROM package_chunks"), 3);
	assert_int_equal(count("SELECT max(length(data)) FROM package_chunks"),
	    STORE_CHUNK);

	assert_non_null(buf = malloc(512 * 1024));
	/* Across a chunk's end, a read stops at it. */
	assert_int_equal(store_package_read(s, hex, STORE_CHUNK - 10, buf,
	    512 * 1024, &n, &total), 1);
	assert_int_equal(n, 10);
	assert_int_equal(total, len);
	assert_int_equal(store_package_read(s, hex, STORE_CHUNK * 2 + 900,
	    buf, 512 * 1024, &n, &total), 1);
	assert_int_equal(n, 100);
	assert_int_equal(buf[0], 'a' + (int)((STORE_CHUNK * 2 + 900) / 4096 %
	    26));
	assert_int_equal(store_package_read(s, hex, len, buf, 512 * 1024, &n,
	    &total), 1);
	assert_int_equal(n, 0);
	hex[0] = hex[0] == '0' ? '1' : '0';
	assert_int_equal(store_package_read(s, hex, 0, buf, 512 * 1024, &n,
	    &total), 0);
	free(buf);

	/* Other bytes than the notice says: nothing stored. */
	fd = package_file(1000, "pkg2");
	pkg.fd = fd;
	pkg.size = 1000;
	assert_int_equal(store_message_add(s, NULL, "update_notice", "{}",
	    &pkg, T0, &id, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "SHA-256"));
	close(fd);
	fd = package_file(1000, "pkg3");
	assert_int_equal(sha256_fd(fd, hex, &size), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	pkg.fd = fd;
	pkg.size = 999;
	assert_int_equal(store_message_add(s, NULL, "update_notice", "{}",
	    &pkg, T0, &id, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "the notice says"));
	close(fd);
	assert_int_equal(count("SELECT count(*) FROM package_chunks"), 3);
	assert_int_equal(count("SELECT count(*) FROM messages"), 1);
	store_close(s);
}

/* Fork n children that each run fn once all are ready; 0 if all did. */
static int
together(int n, int (*fn)(int, void *), void *arg)
{
	pid_t	pids[8];
	int	go[2], i, status, failed = 0;
	char	c;

	assert_true(n <= 8);
	assert_int_equal(pipe(go), 0);
	for (i = 0; i < n; i++) {
		if ((pids[i] = fork()) == 0) {
			close(go[1]);
			/* End of file once the parent lets go of all. */
			(void)read(go[0], &c, 1);
			_exit(fn(i, arg) == 0 ? 0 : 1);
		}
		assert_true(pids[i] > 0);
	}
	close(go[0]);
	close(go[1]);
	for (i = 0; i < n; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	return failed;
}

static int
open_once(int i, void *arg)
{
	struct store	*s;
	char		 err[512];

	(void)i;
	(void)arg;
	if (store_open(db_spec(), &s, err, sizeof(err)) == -1) {
		fprintf(stderr, "store_open: %s\n", err);
		return -1;
	}
	store_close(s);
	return 0;
}

/*
 * Relays started at the same moment on an empty PostgreSQL database:
 * each makes or finds the schema, none fails, and it is made once.
 */
static void
test_pg_relays_start_together(void **state)
{
	(void)state;
	PG_ONLY();
	assert_int_equal(together(6, open_once, NULL), 0);
	assert_int_equal(count(SCHEMA_VERSION_SQL), SCHEMA_NOW);
	assert_int_equal(count("SELECT count(*) FROM porthole_schema"), 1);
	assert_int_equal(count("SELECT count(*) FROM pg_tables WHERE"
	    " tablename = 'records'"), 1);
}

/* The RELAYS of one cluster in the clusters report at now, as JSON. */
static char *
relays_of(struct store *s, const char *cluster, time_t now)
{
	json_t	*j, *c;
	char	*buf = NULL, *out;
	size_t	 len = 0, i;
	FILE	*f;

	assert_non_null(f = open_memstream(&buf, &len));
	assert_int_equal(report_clusters(&conf, s, now, REPORT_JSON, f), 0);
	fclose(f);
	assert_non_null(j = json_loads(buf, 0, NULL));
	free(buf);
	out = NULL;
	json_array_foreach(j, i, c)
		if (strcmp(json_string_value(json_object_get(c, "cluster")),
		    cluster) == 0)
			out = json_dumps(json_object_get(c, "relays"),
			    JSON_COMPACT);
	json_decref(j);
	assert_non_null(out);
	return out;
}

static void
assert_relays(struct store *s, const char *cluster, time_t now,
    const char *want)
{
	char *got = relays_of(s, cluster, now);

	assert_string_equal(got, want);
	free(got);
}

/*
 * Two relays of a fleet on one store: the clusters report names each
 * relay a cluster has a tunnel to, whichever relay prints it; a tunnel
 * that closes leaves the list, a relay that restarts takes its old
 * tunnels off, and one not heard from for STORE_RELAY_STALE seconds
 * (killed, or cut off from the store) no longer counts.
 */
static void
test_fleet_relays(void **state)
{
	struct store			*a = open_store(), *b = open_store();
	struct store_cluster_info	 ci;

	(void)state;
	assert_int_equal(store_relay_started(a, "relay-a:2222", T0), 0);
	assert_int_equal(store_relay_started(b, "relay-b:2222", T0), 0);
	assert_int_equal(store_cluster_seen(a, "acme-prod", T0, "1.4.2", 1),
	    0);
	assert_int_equal(store_cluster_seen(b, "acme-prod", T0, NULL, 1), 0);
	assert_relays(a, "acme-prod", T0 + 10,
	    "[\"relay-a:2222\",\"relay-b:2222\"]");
	assert_relays(b, "acme-prod", T0 + 10,
	    "[\"relay-a:2222\",\"relay-b:2222\"]");
	assert_relays(a, "beta", T0 + 10, "[]");
	/* The tunnel to b closes: a still has one. */
	assert_int_equal(store_cluster_seen(b, "acme-prod", T0 + 20, NULL, 0),
	    0);
	assert_relays(b, "acme-prod", T0 + 30, "[\"relay-a:2222\"]");
	assert_int_equal(store_cluster_info(b, "acme-prod", &ci), 1);
	assert_int_equal(ci.connected, 1);
	/* a is killed and restarts: its tunnels were not closed, now are. */
	assert_int_equal(store_relay_started(a, "relay-a:2222", T0 + 40), 0);
	assert_relays(b, "acme-prod", T0 + 50, "[]");
	assert_int_equal(store_cluster_info(b, "acme-prod", &ci), 1);
	assert_int_equal(ci.connected, 0);
	/* A heartbeat keeps a relay counted; silence for too long does not. */
	assert_int_equal(store_cluster_seen(a, "acme-prod", T0 + 60, NULL, 1),
	    0);
	assert_relays(b, "acme-prod", T0 + 40 + STORE_RELAY_STALE,
	    "[\"relay-a:2222\"]");
	assert_relays(b, "acme-prod", T0 + 41 + STORE_RELAY_STALE, "[]");
	assert_int_equal(store_relay_alive(a, T0 + 100), 0);
	assert_relays(b, "acme-prod", T0 + 100 + STORE_RELAY_STALE,
	    "[\"relay-a:2222\"]");
	/* A clean stop: the relay's row goes, and with it its tunnels. */
	assert_int_equal(store_relay_stopped(a), 0);
	assert_relays(b, "acme-prod", T0 + 110, "[]");
	store_close(a);
	store_close(b);
}

static int
reg_copy(const struct store_registry *r, void *arg)
{
	struct store_registry	*out = arg;
	static char		 id[65], key[STORE_KEY_MAX + 1];

	*out = *r;
	snprintf(id, sizeof(id), "%s", r->id);
	snprintf(key, sizeof(key), "%s", r->key);
	out->id = id;
	out->key = key;
	return 0;
}

struct reg_seen {
	char	ids[8][65];
	int64_t	change[8];
	time_t	removed[8];
	int	n;
};

static int
reg_collect(const struct store_registry *r, void *arg)
{
	struct reg_seen *rs = arg;

	assert_true(rs->n < 8);
	snprintf(rs->ids[rs->n], sizeof(rs->ids[0]), "%s", r->id);
	rs->change[rs->n] = r->change;
	rs->removed[rs->n] = r->removed;
	rs->n++;
	return 0;
}

/*
 * The cluster registry: added once (a second add is refused unless it
 * replaces), read back as added, removed as a tombstone that the changes
 * show, every change under a greater number; the clusters report lists
 * the registry's clusters after relay.conf's, relay.conf's own first.
 */
static void
test_registry(void **state)
{
	struct store		*s = open_store();
	struct store_registry	 r, got;
	struct reg_seen		 rs;
	int64_t			 last;
	json_t			*j;
	char			*buf, why[512];

	(void)state;
	memset(&r, 0, sizeof(r));
	r.id = "gamma";
	r.key = KEY_A;
	r.trial = 1;
	r.expires = T0 + 86400;
	assert_int_equal(store_registry_add(s, &r, 0, T0, why, sizeof(why)), 0);
	assert_int_equal(store_registry_add(s, &r, 0, T0, why, sizeof(why)),
	    -1);
	assert_string_equal(why, "cluster gamma is in the registry already "
	    "(--replace changes it)");
	r.key = KEY_B;
	r.trial = 0;
	assert_int_equal(store_registry_add(s, &r, 1, T0 + 1, why,
	    sizeof(why)), 1);
	assert_int_equal(store_registry_get(s, "gamma", reg_copy, &got), 1);
	assert_string_equal(got.key, KEY_B);
	assert_int_equal(got.trial, 0);
	assert_int_equal(got.expires, T0 + 86400);
	assert_int_equal(got.overage, 0);
	assert_int_equal(got.added, T0 + 1);
	assert_int_equal(got.removed, 0);
	r.id = "delta";
	r.overage = 1;
	assert_int_equal(store_registry_add(s, &r, 0, T0, why, sizeof(why)), 0);
	/* What is not TYPE BASE64, or not a cluster id, is refused. */
	r.key = "ssh-ed25519 AAAA C3Nz";
	assert_int_equal(store_registry_add(s, &r, 1, T0, why, sizeof(why)),
	    -1);
	r.key = KEY_A;
	r.id = "a b";
	assert_int_equal(store_registry_add(s, &r, 1, T0, why, sizeof(why)),
	    -1);

	memset(&rs, 0, sizeof(rs));
	assert_int_equal(store_registry_changes(s, 0, reg_collect, &rs), 0);
	assert_int_equal(rs.n, 2);
	assert_string_equal(rs.ids[0], "gamma");
	assert_string_equal(rs.ids[1], "delta");
	assert_true(rs.change[0] < rs.change[1]);
	last = rs.change[1];
	assert_int_equal(store_registry_remove(s, "gamma", T0 + 5), 1);
	assert_int_equal(store_registry_remove(s, "gamma", T0 + 6), 0);
	assert_int_equal(store_registry_remove(s, "nosuch", T0 + 6), 0);
	assert_int_equal(store_registry_get(s, "gamma", reg_copy, &got), 0);
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(store_registry_changes(s, last, reg_collect, &rs), 0);
	assert_int_equal(rs.n, 1);
	assert_string_equal(rs.ids[0], "gamma");
	assert_int_equal(rs.removed[0], T0 + 5);
	assert_true(rs.change[0] > last);
	last = rs.change[0];
	/* Added again: a new entry, not a replacement. */
	r.id = "gamma";
	assert_int_equal(store_registry_add(s, &r, 0, T0 + 7, why, sizeof(why)),
	    0);
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(store_registry_rows(s, reg_collect, &rs), 0);
	assert_int_equal(rs.n, 2);
	assert_string_equal(rs.ids[0], "delta");
	assert_string_equal(rs.ids[1], "gamma");
	assert_true(rs.change[1] > last);

	/* relay.conf's beta stays relay.conf's; the registry's follow. */
	r.id = "beta";
	assert_int_equal(store_registry_add(s, &r, 0, T0, why, sizeof(why)), 0);
	buf = clusters_text(s, REPORT_JSON);
	assert_non_null(j = json_loads(buf, 0, NULL));
	free(buf);
	assert_int_equal(json_array_size(j), 5);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j,
	    1), "cluster")), "beta");
	assert_string_equal(json_string_value(json_object_get(json_array_get(j,
	    1), "source")), "relay.conf");
	assert_string_equal(json_string_value(json_object_get(json_array_get(j,
	    1), "license")), "trial");
	assert_string_equal(json_string_value(json_object_get(json_array_get(j,
	    3), "cluster")), "delta");
	assert_string_equal(json_string_value(json_object_get(json_array_get(j,
	    4), "cluster")), "gamma");
	assert_string_equal(json_string_value(json_object_get(json_array_get(j,
	    4), "source")), "registry");
	assert_true(json_is_true(json_object_get(json_array_get(j, 3),
	    "overage")));
	json_decref(j);
	store_close(s);
}

/* A batch of usage records seq first..last, and its JSON. */
static json_t *
usage_batch(int first, int last)
{
	json_t	*b = json_array();
	char	 env[32];
	int	 i;

	for (i = first; i <= last; i++) {
		snprintf(env, sizeof(env), "env-%05d", i);
		json_array_append_new(b, json_pack("{s:i, s:s, s:{s:s, s:s, "
		    "s:{s:i}}}", "seq", i, "class", "usage", "record", "hour",
		    H0, "environment", env, "units", "host_units", 1));
	}
	return b;
}

/* Child i stores records 1-600 (i even) or 401-1000 (i odd). */
static int
store_half(int i, void *arg)
{
	struct store	*s;
	json_t		*b;
	uint64_t	 acked;
	char		 why[512];
	int		 rc;

	(void)arg;
	if (store_open(db_spec(), &s, why, sizeof(why)) == -1)
		return -1;
	b = i % 2 == 0 ? usage_batch(1, 600) : usage_batch(401, 1000);
	if ((rc = store_records(s, "acme-prod", b, T0, &acked, why,
	    sizeof(why))) == -1)
		fprintf(stderr, "store_records: %s\n", why);
	json_decref(b);
	store_close(s);
	return rc;
}

/*
 * The uplink moved while the first relay was still storing a batch, and
 * the gateway sent the rest again through the second: relays store
 * overlapping batches of one cluster at the same moment, and each
 * record is stored, and counted, once.
 */
static void
test_pg_batch_through_two_relays(void **state)
{
	struct store	*s;
	uint64_t	 seq;
	char		*u;

	(void)state;
	PG_ONLY();
	s = open_store();
	assert_int_equal(together(4, store_half, NULL), 0);
	assert_int_equal(count("SELECT count(*) FROM records"), 1000);
	assert_int_equal(count("SELECT count(DISTINCT seq) FROM records"),
	    1000);
	assert_int_equal(count("SELECT count(*) FROM usage"), 1000);
	assert_int_equal(count("SELECT sum(amount) FROM usage"), 1000);
	assert_int_equal(store_last_seq(s, "acme-prod", &seq), 0);
	assert_int_equal(seq, 1000);
	u = usage_text(s, "acme-prod");
	assert_non_null(strstr(u, "env-00001"));
	assert_non_null(strstr(u, "env-01000"));
	free(u);
	store_close(s);
}

/* Hand records first..last (usage_batch) to s: store_batch_send's result. */
static int
send_usage(struct store *s, int first, int last)
{
	struct store_batch	*b;
	json_t			*recs = usage_batch(first, last);
	uint64_t		 acked;
	char			 why[512];
	int			 rc;

	assert_int_equal(store_batch_check(s, "acme-prod", recs, T0, &b, why,
	    sizeof(why)), 0);
	json_decref(recs);
	rc = store_batch_send(s, b, &acked, why, sizeof(why));
	if (rc == -1)
		fprintf(stderr, "store_batch_send: %s\n", why);
	return rc;
}

/*
 * A batch sent whole while the cluster's row is locked by another
 * session (another relay storing): the server holds the pipeline at its
 * lock, and what happens to it meanwhile decides its fate.
 */
static PGconn *
pg_hold_cluster(void)
{
	PGconn		*c = pg_connect();
	PGresult	*r;

	r = PQexec(c, "BEGIN; SELECT 1 FROM clusters WHERE id = 'acme-prod'"
	    " FOR UPDATE");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		fail_msg("locking the cluster: %s", PQresultErrorMessage(r));
	PQclear(r);
	return c;
}

/* Wait until n sessions wait for a lock, so that the pipeline is there. */
static void
pg_wait_blocked(int n)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (count("SELECT count(*) FROM pg_stat_activity WHERE"
		    " wait_event_type = 'Lock'") >= n)
			return;
		usleep(10000);
	}
	fail_msg("no session waits for the cluster's lock");
}

/*
 * The relay's backend goes (killed, the server restarted) with a batch
 * in its pipeline: nothing of the batch is kept and the wait says the
 * database is unavailable; the batch sent again once the server is
 * back is stored once.  A batch that fails for another reason than a
 * repeated key (here a constraint the operator added) is refused with
 * the server's reason, stores nothing, and leaves the connection fit
 * for the next batch: out of pipeline mode, no transaction left open.
 */
static void
test_pg_pipeline_fails(void **state)
{
	struct store	*s;
	PGconn		*hold;
	uint64_t	 acked, seq;
	char		 why[512];
	int		 i, rc;

	(void)state;
	PG_ONLY();
	/* As the relay opens it: a connection lost is made again. */
	if (store_open_with(db_spec(), STORE_RETRY, &s, why,
	    sizeof(why)) == -1)
		fail_msg("store_open: %s", why);
	assert_int_equal(send_usage(s, 1, 10), 1);
	assert_int_equal(store_batch_wait(s, &acked, why, sizeof(why)), 0);
	assert_int_equal(acked, 10);

	/* Killed while it waits for the cluster's lock. */
	hold = pg_hold_cluster();
	assert_int_equal(send_usage(s, 11, 20), 1);
	pg_wait_blocked(1);
	pg_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
	    " WHERE wait_event_type = 'Lock'", PGRES_TUPLES_OK);
	PQclear(PQexec(hold, "ROLLBACK"));
	PQfinish(hold);
	assert_int_equal(store_batch_wait(s, &acked, why, sizeof(why)), -1);
	assert_int_equal(acked, 0);
	assert_int_equal(store_batch_pending(s), 0);
	assert_int_equal(count("SELECT count(*) FROM records"), 10);
	/*
	 * The gateway sends it again, refused while the relay waits to
	 * connect again (STORE_RETRY's back-off): stored once.
	 */
	for (i = 0; (rc = send_usage(s, 11, 20)) == -1 && i < 10; i++)
		sleep(1);
	assert_int_equal(rc, 1);
	assert_int_equal(store_batch_wait(s, &acked, why, sizeof(why)), 0);
	assert_int_equal(store_last_seq(s, "acme-prod", &seq), 0);
	assert_int_equal(seq, 20);
	assert_int_equal(count("SELECT count(*) FROM records"), 20);

	/* Another error mid-pipeline. */
	pg_exec("ALTER TABLE usage ADD CONSTRAINT small CHECK (amount < 5)",
	    PGRES_COMMAND_OK);
	{
		json_t *b = json_loads("[" USAGE_REC(21, H1, "env-1", 9) "]",
		    0, NULL);
		struct store_batch *sb;

		assert_int_equal(store_batch_check(s, "acme-prod", b, T0, &sb,
		    why, sizeof(why)), 0);
		json_decref(b);
		assert_int_equal(store_batch_send(s, sb, &acked, why,
		    sizeof(why)), 1);
	}
	assert_int_equal(store_batch_wait(s, &acked, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "small"));
	assert_int_equal(count("SELECT count(*) FROM records"), 20);
	assert_int_equal(store_last_seq(s, "acme-prod", &seq), 0);
	assert_int_equal(seq, 20);
	pg_exec("ALTER TABLE usage DROP CONSTRAINT small", PGRES_COMMAND_OK);
	assert_int_equal(send_usage(s, 21, 30), 1);
	assert_int_equal(store_batch_wait(s, &acked, why, sizeof(why)), 0);
	assert_int_equal(acked, 30);
	put_ok(s, "acme-prod", batch1, 30);
	assert_int_equal(count("SELECT count(*) FROM records"), 30);
	store_close(s);
}

/*
 * Two relays send overlapping batches of one cluster whole at the same
 * moment: the second waits for the first's lock, finds its keys stored
 * and stores its batch the careful way.  Each record once, both acked.
 */
static void
test_pg_pipelines_overlap(void **state)
{
	struct store	*a, *b;
	PGconn		*hold;
	uint64_t	 acked;
	char		 why[512];

	(void)state;
	PG_ONLY();
	a = open_store();
	b = open_store();
	put_ok(a, "acme-prod", "[" USAGE_REC(1, H0, "env-x", 1) "]", 1);
	hold = pg_hold_cluster();
	assert_int_equal(send_usage(a, 2, 300), 1);
	pg_wait_blocked(1);
	assert_int_equal(send_usage(b, 200, 500), 1);
	pg_wait_blocked(2);
	PQclear(PQexec(hold, "COMMIT"));
	PQfinish(hold);
	assert_int_equal(store_batch_wait(b, &acked, why, sizeof(why)), 0);
	assert_int_equal(acked, 500);
	assert_int_equal(store_batch_wait(a, &acked, why, sizeof(why)), 0);
	assert_true(acked == 300 || acked == 500);
	assert_int_equal(count("SELECT count(*) FROM records"), 500);
	assert_int_equal(count("SELECT count(*) FROM usage"), 500);
	assert_int_equal(count("SELECT sum(amount) FROM usage"), 500);
	assert_int_equal(count("SELECT last_seq FROM clusters"), 500);
	store_close(a);
	store_close(b);
}

/*
 * A session that holds the cluster's lock and goes quiet (a relay hung
 * or cut off inside its transaction) holds up another relay's batch for
 * lock_timeout (5 s) at most: the batch is refused, nothing of it
 * kept, and stored once the lock is free.  Before, the relay waited as
 * long as the lock was held, its whole event loop with it.
 */
static void
test_pg_lock_wait_bounded(void **state)
{
	struct store	*s;
	PGconn		*hold;
	uint64_t	 acked;
	char		 why[512];
	time_t		 t0;

	(void)state;
	PG_ONLY();
	s = open_store();
	put_ok(s, "acme-prod", "[" USAGE_REC(1, H0, "env-x", 1) "]", 1);
	hold = pg_hold_cluster();
	t0 = time(NULL);
	assert_int_equal(send_usage(s, 2, 20), 1);
	assert_int_equal(store_batch_wait(s, &acked, why, sizeof(why)), -1);
	assert_true(time(NULL) - t0 < 30);
	assert_non_null(strstr(why, "lock timeout"));
	assert_int_equal(count("SELECT count(*) FROM records"), 1);
	PQclear(PQexec(hold, "ROLLBACK"));
	PQfinish(hold);
	assert_int_equal(send_usage(s, 2, 20), 1);
	assert_int_equal(store_batch_wait(s, &acked, why, sizeof(why)), 0);
	assert_int_equal(acked, 20);
	assert_int_equal(count("SELECT count(*) FROM records"), 20);
	store_close(s);
}

/*
 * A PostgreSQL server that cannot be reached: a command's open fails
 * and says so; the relay's (STORE_RETRY) opens, and each call fails at
 * once with the reason, so that batches are refused and wait.
 */
static void
test_pg_unreachable(void **state)
{
	static const char uri[] =
	    "postgresql:///porthole?host=/nonexistent-porthole";
	struct store	*s;
	uint64_t	 acked = 1;
	int64_t		 id;
	char		 err[512];

	(void)state;
	assert_int_equal(store_open(uri, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, uri));
	assert_non_null(strstr(err, "/nonexistent-porthole/.s.PGSQL.5432"));
	assert_int_equal(store_open_with(uri, STORE_RETRY, &s, err,
	    sizeof(err)), 0);
	assert_int_equal(store_generation(s), 0);
	assert_string_equal(store_engine(s), "PostgreSQL");
	assert_int_equal(put(s, "acme-prod", batch1, &acked, err, sizeof(err)),
	    -1);
	assert_int_equal(acked, 0);
	assert_non_null(strstr(err, "the database is unavailable"));
	assert_true(store_unavailable(s));
	/*
	 * A malformed batch next is refused for what it is, not as the
	 * outage before it (the relay would tell the gateway the database
	 * is away).
	 */
	assert_int_equal(put(s, "acme-prod", "[1]", &acked, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "record 0: not an object");
	assert_false(store_unavailable(s));
	assert_int_equal(store_message_max(s, &id), -1);
	store_close(s);
}

/*
 * What the analysis writes is built from what a cluster sent, and the
 * store's front checks it as it checks the records: an alert with an
 * unknown severity or rule, a subject that is not UTF-8 or too long, a
 * view row for a node whose name holds a newline, a message that is
 * not a JSON object - each is refused and nothing of it is stored.
 */
static void
test_analysis_rows_checked(void **state)
{
	struct store		*s = open_store();
	struct store_alert	 a;
	struct store_node_row	 n;
	char			 longsub[STORE_ALERT_SUBJECT_MAX + 2];
	int64_t			 id;
	time_t			 first, raised;

	(void)state;
	put_ok(s, "acme-prod", batch1, 3);
	memset(&a, 0, sizeof(a));
	a.cluster = "acme-prod";
	a.rule = "expert";
	a.subject = "vendor";
	a.severity = "urgent";
	a.text = "x";
	a.first_seen = a.last_seen = a.raised = T0;
	assert_int_equal(store_alert_put(s, &a, &id, &first, &raised), -1);
	a.severity = "warning";
	a.rule = "Disk Used";
	assert_int_equal(store_alert_put(s, &a, &id, &first, &raised), -1);
	a.rule = "expert";
	a.subject = "node\xff";
	assert_int_equal(store_alert_put(s, &a, &id, &first, &raised), -1);
	memset(longsub, 'a', sizeof(longsub) - 1);
	longsub[sizeof(longsub) - 1] = '\0';
	a.subject = longsub;
	assert_int_equal(store_alert_put(s, &a, &id, &first, &raised), -1);
	a.cluster = "../acme";
	a.subject = "vendor";
	assert_int_equal(store_alert_put(s, &a, &id, &first, &raised), -1);
	assert_int_equal(count("SELECT count(*) FROM alerts"), 0);
	/* The same alert, well formed, is stored. */
	a.cluster = "acme-prod";
	assert_int_equal(store_alert_put(s, &a, &id, &first, &raised), 0);
	assert_int_equal(count("SELECT count(*) FROM alerts"), 1);

	memset(&n, 0, sizeof(n));
	n.node = "n1\nfake line";
	n.seq = 3;
	n.ts = T0;
	n.body = "{}";
	assert_int_equal(store_node_put(s, "acme-prod", &n), -1);
	n.node = "n1";
	n.body = "not json";
	assert_int_equal(store_node_put(s, "acme-prod", &n), -1);
	assert_int_equal(count("SELECT count(*) FROM health_nodes WHERE"
	    " body = 'not json' OR node LIKE '%fake%'"), 0);
	assert_int_equal(store_message_put(s, "acme-prod", "alert", "[1]", T0,
	    &id), -1);
	assert_int_equal(store_message_put(s, "acme-prod", "Alert!", "{}", T0,
	    &id), -1);
	assert_int_equal(count("SELECT count(*) FROM messages"), 0);
	store_close(s);
}

static int
offline_collect(const char *cluster, time_t last_contact, void *arg)
{
	char *ids = arg;

	(void)last_contact;
	strcat(ids, cluster);
	strcat(ids, " ");
	return 0;
}

/*
 * The offline rule's clusters in a fleet: a cluster whose only tunnel
 * was to a relay killed for good (its tunnel still listed, its
 * heartbeat stopped) counts as offline once that relay has been silent
 * for STORE_RELAY_STALE seconds; while another live relay holds its
 * tunnel, or before then, it does not.
 */
static void
test_offline_fleet(void **state)
{
	struct store	*s = open_store();
	char		 ids[256];

	(void)state;
	assert_int_equal(store_relay_started(s, "r1:2222", T0), 0);
	assert_int_equal(store_cluster_seen(s, "acme-prod", T0, NULL, 1), 0);
	assert_int_equal(store_cluster_seen(s, "beta", T0, NULL, 0), 0);
	ids[0] = '\0';
	assert_int_equal(store_offline_rows(s, T0 + 60, T0 + 60,
	    offline_collect, ids), 0);
	assert_string_equal(ids, "beta ");
	/* r1 killed at T0: nothing more from it. */
	ids[0] = '\0';
	assert_int_equal(store_offline_rows(s, T0 + STORE_RELAY_STALE + 1,
	    T0 + 60, offline_collect, ids), 0);
	assert_string_equal(ids, "acme-prod beta ");
	store_close(s);
	/* Another relay holding its tunnel keeps it online. */
	s = open_store();
	assert_int_equal(store_relay_started(s, "r2:2222", T0 + 100), 0);
	assert_int_equal(store_cluster_seen(s, "acme-prod", T0 + 100, NULL,
	    1), 0);
	ids[0] = '\0';
	assert_int_equal(store_offline_rows(s, T0 + 150, T0 + 150,
	    offline_collect, ids), 0);
	assert_string_equal(ids, "beta ");
	store_close(s);
}

int
main(void)
{
	pg_uri = getenv("PORTHOLE_TEST_PG");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_batch_stored_and_acked,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_resent_batch_is_a_noop,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_batches_whole,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_holes_accepted,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_first_batch_may_start_anywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_stores_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_replaces,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_everything,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_acked_survives_kill,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_takes_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_refusals,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_health_keeps_latest,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_in_order,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_quoted,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_anchors,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_print_clusters,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reports_escape,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_anchors_report,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_dir,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_database,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_mode,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrates_v2, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migrates_v3, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migrates_v5, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migrates_version_1,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_messages_offered_until_answered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_package_chunks,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bundle_chunks,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bundle_quota,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrates_v4, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fleet_relays,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_analysis_rows_checked,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_offline_fleet,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_relays_start_together,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_pg_batch_through_two_relays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_unreachable,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_pipeline_fails,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_lock_wait_bounded,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_pipelines_overlap,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
