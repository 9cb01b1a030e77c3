/*
 * test_store.c - the relay's store as the gateway and the operator see
 * it: a batch is stored once and acked, a resent batch changes nothing,
 * a malformed record stores nothing, what was acked survives
 * a kill, and the reports (relay/report.c) print what arrived: as
 * tables with what a cluster sent escaped, and as exact JSON.
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
#include <sqlite3.h>

#include "relay/analysis.h"
#include "relay/relay_conf.h"
#include "relay/report.h"
#include "relay/store.h"
#include "lib/sha256.h"

#define T0	((time_t)1795003200)	/* 2026-11-18T12:00:00Z */
#define H0	"2026-11-18T12:00:00Z"
#define H1	"2026-11-18T13:00:00Z"

static char	dir[64];
static char	dbpath[128];

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
	return 0;
}

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

	if (store_open(dbpath, &s, err, sizeof(err)) == -1)
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

	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
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

/* One integer from the database through a second connection. */
static long long
count(const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	long long	 n;

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
	assert_int_equal(store_open_readonly(dbpath, &r, err, sizeof(err)),
	    -1);
	assert_int_equal(access(dbpath, F_OK), -1);
	/* An empty file: not the relay's, and left as it is. */
	fclose(fopen(dbpath, "w"));
	assert_int_equal(store_open_readonly(dbpath, &r, err, sizeof(err)),
	    -1);
	snprintf(want, sizeof(want), "%s: no relay tables (the relay has not "
	    "started on it yet)", dbpath);
	assert_string_equal(err, want);
	unlink(dbpath);
	r = open_store();
	put_ok(r, "acme-prod", batch1, 3);
	store_close(r);
	if (store_open_readonly(dbpath, &r, err, sizeof(err)) == -1)
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

/*
 * A store of schema version 2 (a relay with messages, from before the
 * health view and the alerts) is brought to version 3 when opened, its
 * records kept; one from a newer relay is refused.
 */
static void
test_migrates_v2(void **state)
{
	struct store	*s = open_store();
	sqlite3		*db;
	char		 err[256];

	(void)state;
	put_ok(s, "acme-prod", batch1, 3);
	store_close(s);
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE alerts;"
	    "DROP TABLE health_nodes; DROP TABLE health_services;"
	    "PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	s = open_store();
	assert_int_equal(count("PRAGMA user_version"), 3);
	assert_int_equal(count("SELECT count(*) FROM records"), 3);
	assert_int_equal(count("SELECT count(*) FROM alerts"), 0);
	put_ok(s, "acme-prod", "[{\"seq\":4,\"class\":\"health\",\"record\":"
	    "{\"ts\":\"" H0 "\",\"nodes\":[{\"name\":\"n9\"}]}}]", 4);
	assert_int_equal(count("SELECT count(*) FROM health_nodes"), 1);
	store_close(s);

	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 4", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(dbpath, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "schema version 4, this relay knows "
	    "version 3"));
}

static void
test_not_a_database(void **state)
{
	struct store	*s;
	char		 err[256];
	FILE		*f;

	(void)state;
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
	struct store	*s = open_store();
	struct stat	 sb;

	(void)state;
	put_ok(s, "acme-prod", batch1, 3);
	assert_int_equal(stat(dbpath, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	store_close(s);
}

/* Run SQL through a second, writing connection. */
static void
exec_sql(const char *sql)
{
	sqlite3	*db;
	char	*msg = NULL;

	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
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
	/* What a relay of version 1 left: no message tables. */
	exec_sql("DROP TABLE deliveries; DROP TABLE messages;"
	    " DROP TABLE package_chunks; DROP TABLE alerts;"
	    " DROP TABLE health_nodes; DROP TABLE health_services;"
	    " PRAGMA user_version = 1");
	assert_int_equal(count("SELECT count(*) FROM sqlite_master WHERE"
	    " name = 'messages'"), 0);
	s = open_store();
	assert_int_equal(count("PRAGMA user_version"), 3);
	assert_int_equal(store_last_seq(s, "acme-prod", &seq), 0);
	assert_int_equal(seq, 3);
	assert_int_equal(store_message_add(s, NULL, "greeting",
	    "{\"text\":\"hi\"}", NULL, T0, &id, why, sizeof(why)), 0);
	assert_int_equal(id, 1);
	store_close(s);
	/* A database from a newer relay is refused, not changed. */
	exec_sql("PRAGMA user_version = 4");
	assert_int_equal(store_open(dbpath, &s, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "schema version 4, this relay knows "
	    "version 3"));
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_batch_stored_and_acked,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_resent_batch_is_a_noop,
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
		cmocka_unit_test_setup_teardown(test_migrates_v2, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_not_a_database,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_mode,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrates_version_1,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_messages_offered_until_answered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_package_chunks,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
