/*
 * store_sqlite.c - the store's embedded backend: one SQLite database in
 * WAL mode, written by one relay (store_int.h says what each method
 * does).
 *
 * Every statement is prepared once at open and every value is bound,
 * never pasted into SQL.
 */
#include "relay/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "lib/log.h"

#define STORE_BUSY_MS		5000	/* wait this long for a lock */

enum stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_CLUSTER_ADD,
	ST_CLUSTER_SEEN,
	ST_CLUSTER_GET,
	ST_CLUSTER_ADVANCE,
	ST_RECORD_ADD,
	ST_RECORD_COUNT,
	ST_USAGE_CLEAR,
	ST_USAGE_SET,
	ST_USAGE_LIST,
	ST_HEALTH_ADD,
	ST_HEALTH_PRUNE,
	ST_EVENT_ADD,
	ST_EVENT_LIST,
	ST_ANCHOR_OTHER,
	ST_ANCHOR_ADD,
	ST_ANCHOR_LIST,
	ST_HOST_KEY,
	ST_MSG_ADD,
	ST_MSG_MAX,
	ST_MSG_PENDING,
	ST_MSG_KIND,
	ST_DELIVERY_OFFERED,
	ST_DELIVERY_ACKED,
	ST_CHUNK_DELETE,
	ST_CHUNK_ADD,
	ST_CHUNK_GET,
	ST_PACKAGE_SIZE,
	ST_RELAY_UP,
	ST_RELAY_SEEN,
	ST_RELAY_DOWN,
	ST_CONN_CLEAR,
	ST_CONN_ADD,
	ST_CONN_DEL,
	ST_CONNECTED_ALL,
	ST_CONNECTED_ONE,
	ST_CLUSTER_RELAYS,
	ST_REG_GET,
	ST_REG_PUT,
	ST_REG_REMOVE,
	ST_REG_CHANGES,
	ST_REG_LIST,
	ST_USAGE_RANGE,
	ST_NODE_LIST,
	ST_NODE_PUT,
	ST_NODE_DELETE,
	ST_SERVICE_LIST,
	ST_SERVICE_PUT,
	ST_HEALTH_COUNTS,
	ST_ALERT_OPEN,
	ST_ALERT_UPSERT,
	ST_ALERT_FIND,
	ST_ALERT_CLEAR,
	ST_ALERT_DROP,
	ST_ALERT_GET,
	ST_ALERT_LIST,
	ST_ALERT_PRUNE,
	ST_OFFLINE_LIST,
	ST_BUNDLE_ADD,
	ST_BUNDLE_STATE,
	ST_BUNDLE_MARK,
	ST_BUNDLE_CHUNK_ADD,
	ST_BUNDLE_CHUNK_GET,
	ST_BUNDLE_CHUNKS_DELETE,
	ST_BUNDLE_LIST,
	ST__COUNT
};

static const char *const stmt_sql[ST__COUNT] = {
	[ST_HOST_KEY] = "UPDATE clusters SET host_key = ?2 WHERE id = ?1",
	[ST_ANCHOR_LIST] = "SELECT epoch, seq, head, received FROM anchors"
	    " WHERE cluster = ?1 ORDER BY seq, epoch",
	/* IMMEDIATE: take the write lock now, not at the first insert. */
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_CLUSTER_ADD] =
	    "INSERT INTO clusters (id, first_seen, last_contact, connected,"
	    " last_seq) VALUES (?1, ?2, ?2, 0, 0)"
	    " ON CONFLICT (id) DO NOTHING",
	[ST_CLUSTER_SEEN] =
	    "INSERT INTO clusters (id, first_seen, last_contact, connected,"
	    " version, last_seq) VALUES (?1, ?2, ?2, ?3, ?4, 0)"
	    " ON CONFLICT (id) DO UPDATE SET last_contact = excluded.last_contact,"
	    " connected = excluded.connected,"
	    " version = coalesce(excluded.version, version)",
	[ST_CLUSTER_GET] =
	    "SELECT first_seen, last_contact, connected, version, last_seq,"
	    " host_key FROM clusters WHERE id = ?1",
	[ST_CLUSTER_ADVANCE] =
	    "UPDATE clusters SET last_seq = ?2, last_contact = ?3 WHERE id = ?1",
	[ST_RECORD_ADD] =
	    "INSERT OR IGNORE INTO records (cluster, seq, class, received)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[ST_RECORD_COUNT] = "SELECT count(*) FROM records WHERE cluster = ?1",
	/*
	 * A usage record is the total of its hour and environment: a later
	 * one (a producer resending what it was not sure was kept, or a
	 * correction) replaces it, units and all, and is never added to it.
	 */
	[ST_USAGE_CLEAR] =
	    "DELETE FROM usage WHERE cluster = ?1 AND hour = ?2"
	    " AND environment = ?3",
	[ST_USAGE_SET] =
	    "INSERT INTO usage (cluster, hour, environment, unit, amount)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_USAGE_LIST] =
	    "SELECT hour, environment, unit, amount FROM usage"
	    " WHERE cluster = ?1 ORDER BY hour, environment, unit",
	[ST_HEALTH_ADD] =
	    "INSERT INTO health (cluster, seq, ts, snapshot)"
	    " VALUES (?1, ?2, ?3, ?4)",
	/* Everything at or below the (KEEP+1)th newest goes. */
	[ST_HEALTH_PRUNE] =
	    "DELETE FROM health WHERE cluster = ?1 AND seq <= (SELECT seq"
	    " FROM health WHERE cluster = ?1 ORDER BY seq DESC"
	    " LIMIT 1 OFFSET ?2)",
	[ST_EVENT_ADD] =
	    "INSERT INTO events (cluster, seq, ts, type, body)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_EVENT_LIST] =
	    "SELECT ts, type, seq, body FROM events WHERE cluster = ?1"
	    " ORDER BY seq",
	[ST_ANCHOR_OTHER] =
	    "SELECT head FROM anchors WHERE cluster = ?1 AND epoch = ?2"
	    " AND seq = ?3 AND head <> ?4 LIMIT 1",
	[ST_ANCHOR_ADD] =
	    "INSERT OR IGNORE INTO anchors (cluster, epoch, seq, head, received)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_MSG_ADD] =
	    "INSERT INTO messages (cluster, kind, body, created)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[ST_MSG_MAX] = "SELECT coalesce(max(id), 0) FROM messages",
	/* Addressed to the cluster or to all, and not yet acknowledged. */
	[ST_MSG_PENDING] =
	    "SELECT id, kind, body, created FROM messages m"
	    " WHERE (m.cluster IS NULL OR m.cluster = ?1) AND m.id > ?2"
	    " AND NOT EXISTS (SELECT 1 FROM deliveries d"
	    " WHERE d.message_id = m.id AND d.cluster = ?1 AND d.acked <> 0)"
	    " ORDER BY m.id LIMIT ?3",
	[ST_MSG_KIND] =
	    "SELECT m.id, m.body, m.created, d.offered, d.acked, d.result"
	    " FROM messages m LEFT JOIN deliveries d"
	    " ON d.message_id = m.id AND d.cluster = ?1"
	    " WHERE (m.cluster IS NULL OR m.cluster = ?1) AND m.kind = ?2"
	    " ORDER BY m.id",
	[ST_DELIVERY_OFFERED] =
	    "INSERT INTO deliveries (message_id, cluster, offered, acked)"
	    " VALUES (?1, ?2, ?3, 0) ON CONFLICT DO NOTHING",
	/* The first answer stands: a late duplicate changes nothing. */
	[ST_DELIVERY_ACKED] =
	    "UPDATE deliveries SET acked = ?3, result = ?4"
	    " WHERE message_id = ?1 AND cluster = ?2 AND acked = 0",
	[ST_CHUNK_DELETE] = "DELETE FROM package_chunks WHERE sha256 = ?1",
	[ST_CHUNK_ADD] =
	    "INSERT INTO package_chunks (sha256, \"offset\", data)"
	    " VALUES (?1, ?2, ?3)",
	[ST_CHUNK_GET] =
	    "SELECT \"offset\", data FROM package_chunks"
	    " WHERE sha256 = ?1 AND \"offset\" <= ?2"
	    " ORDER BY \"offset\" DESC LIMIT 1",
	[ST_PACKAGE_SIZE] =
	    "SELECT \"offset\" + length(data) FROM package_chunks"
	    " WHERE sha256 = ?1 ORDER BY \"offset\" DESC LIMIT 1",
	[ST_BUNDLE_ADD] =
	    "INSERT INTO bundles (id, cluster, sha256, size, source,"
	    " requested_by, ticket, message_id, summary, created, started,"
	    " received, completed)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0, 0)"
	    " ON CONFLICT (id) DO NOTHING",
	[ST_BUNDLE_STATE] =
	    "SELECT cluster, sha256, size, received, completed FROM bundles"
	    " WHERE id = ?1",
	[ST_BUNDLE_MARK] =
	    "UPDATE bundles SET received = ?2, completed = ?3 WHERE id = ?1",
	[ST_BUNDLE_CHUNK_ADD] =
	    "INSERT INTO bundle_chunks (bundle, \"offset\", data)"
	    " VALUES (?1, ?2, ?3)",
	[ST_BUNDLE_CHUNK_GET] =
	    "SELECT \"offset\", data FROM bundle_chunks"
	    " WHERE bundle = ?1 AND \"offset\" <= ?2"
	    " ORDER BY \"offset\" DESC LIMIT 1",
	[ST_BUNDLE_CHUNKS_DELETE] =
	    "DELETE FROM bundle_chunks WHERE bundle = ?1",
	[ST_BUNDLE_LIST] =
	    "SELECT id, cluster, sha256, size, source, requested_by, ticket,"
	    " message_id, summary, created, received, started, completed"
	    " FROM bundles WHERE (?1 IS NULL OR cluster = ?1)"
	    " AND (?2 IS NULL OR id = ?2) ORDER BY started DESC, id",
	[ST_RELAY_UP] =
	    "INSERT INTO relays (name, started, seen) VALUES (?1, ?2, ?2)"
	    " ON CONFLICT (name) DO UPDATE SET started = excluded.started,"
	    " seen = excluded.seen",
	[ST_RELAY_SEEN] = "UPDATE relays SET seen = ?2 WHERE name = ?1",
	[ST_RELAY_DOWN] = "DELETE FROM relays WHERE name = ?1",
	[ST_CONN_CLEAR] = "DELETE FROM connections WHERE relay = ?1",
	[ST_CONN_ADD] =
	    "INSERT INTO connections (cluster, relay, since) VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (cluster, relay) DO UPDATE SET since = excluded.since",
	[ST_CONN_DEL] =
	    "DELETE FROM connections WHERE cluster = ?1 AND relay = ?2",
	/* A cluster is connected while some relay has its tunnel. */
	[ST_CONNECTED_ALL] =
	    "UPDATE clusters SET connected = CASE WHEN EXISTS (SELECT 1"
	    " FROM connections WHERE cluster = clusters.id) THEN 1 ELSE 0 END"
	    " WHERE connected <> 0",
	[ST_CONNECTED_ONE] =
	    "UPDATE clusters SET connected = CASE WHEN EXISTS (SELECT 1"
	    " FROM connections WHERE cluster = ?1) THEN 1 ELSE 0 END"
	    " WHERE id = ?1",
	[ST_CLUSTER_RELAYS] =
	    "SELECT c.relay, c.since, coalesce(r.seen, 0) FROM connections c"
	    " LEFT JOIN relays r ON r.name = c.relay WHERE c.cluster = ?1"
	    " ORDER BY c.relay",
	[ST_REG_GET] =
	    "SELECT id, key, license, expires, overage, added, removed,"
	    " changed FROM registry WHERE id = ?1",
	/* The next change number, in the transaction that takes it. */
	[ST_REG_PUT] =
	    "INSERT INTO registry (id, key, license, expires, overage, added,"
	    " removed, changed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0,"
	    " (SELECT coalesce(max(changed), 0) + 1 FROM registry))"
	    " ON CONFLICT (id) DO UPDATE SET key = excluded.key,"
	    " license = excluded.license, expires = excluded.expires,"
	    " overage = excluded.overage, added = excluded.added, removed = 0,"
	    " changed = excluded.changed",
	[ST_REG_REMOVE] =
	    "UPDATE registry SET removed = ?2, changed = (SELECT max(changed)"
	    " + 1 FROM registry) WHERE id = ?1 AND removed = 0",
	[ST_REG_CHANGES] =
	    "SELECT id, key, license, expires, overage, added, removed,"
	    " changed FROM registry WHERE changed > ?1 ORDER BY changed",
	[ST_REG_LIST] =
	    "SELECT id, key, license, expires, overage, added, removed,"
	    " changed FROM registry WHERE removed = 0 ORDER BY id",
	[ST_USAGE_RANGE] =
	    "SELECT hour, environment, unit, amount FROM usage"
	    " WHERE cluster = ?1 AND hour >= ?2 AND hour < ?3"
	    " ORDER BY hour, environment, unit",
	[ST_NODE_LIST] =
	    "SELECT node, seq, ts, body FROM health_nodes WHERE cluster = ?1"
	    " ORDER BY node",
	[ST_NODE_PUT] =
	    "INSERT INTO health_nodes (cluster, node, seq, ts, body)"
	    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (cluster, node)"
	    " DO UPDATE SET seq = excluded.seq, ts = excluded.ts,"
	    " body = excluded.body",
	[ST_NODE_DELETE] =
	    "DELETE FROM health_nodes WHERE cluster = ?1 AND node = ?2",
	[ST_SERVICE_LIST] =
	    "SELECT name, seq, ts, down, body FROM health_services"
	    " WHERE cluster = ?1 ORDER BY name",
	[ST_SERVICE_PUT] =
	    "INSERT INTO health_services (cluster, name, seq, ts, down, body)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (cluster, name)"
	    " DO UPDATE SET seq = excluded.seq, ts = excluded.ts,"
	    " down = excluded.down, body = excluded.body",
	[ST_HEALTH_COUNTS] =
	    "SELECT (SELECT count(*) FROM health_nodes WHERE cluster = ?1),"
	    " (SELECT count(*) FROM health_services WHERE cluster = ?1),"
	    " (SELECT count(*) FROM health_services WHERE cluster = ?1"
	    " AND down = 0)",
	[ST_ALERT_OPEN] =
	    "SELECT id, rule, subject, severity, text, first_seen, last_seen,"
	    " raised, cleared FROM alerts WHERE cluster = ?1"
	    " AND cleared IS NULL ORDER BY id",
	/*
	 * One open alert per (cluster, rule, subject), whichever relay
	 * writes it: the partial unique index decides, and a second raise
	 * only moves last_seen on.  first_seen and raised keep the first
	 * writer's values.
	 */
	[ST_ALERT_UPSERT] =
	    "INSERT INTO alerts (cluster, rule, subject, severity, text,"
	    " first_seen, last_seen, raised) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
	    " ?7, ?8) ON CONFLICT (cluster, rule, subject)"
	    " WHERE cleared IS NULL DO UPDATE SET severity = excluded.severity,"
	    " text = excluded.text,"
	    " last_seen = max(last_seen, excluded.last_seen),"
	    " raised = coalesce(raised, excluded.raised)",
	[ST_ALERT_FIND] =
	    "SELECT id, first_seen, raised FROM alerts WHERE cluster = ?1"
	    " AND rule = ?2 AND subject = ?3 AND cleared IS NULL",
	[ST_ALERT_CLEAR] =
	    "UPDATE alerts SET cleared = ?2, last_seen = max(last_seen, ?2)"
	    " WHERE id = ?1 AND raised IS NOT NULL AND cleared IS NULL",
	[ST_ALERT_DROP] =
	    "DELETE FROM alerts WHERE id = ?1 AND raised IS NULL",
	[ST_ALERT_GET] =
	    "SELECT id, cluster, rule, subject, severity, text, first_seen,"
	    " last_seen, raised, cleared FROM alerts WHERE id = ?1",
	[ST_ALERT_LIST] =
	    "SELECT id, cluster, rule, subject, severity, text, first_seen,"
	    " last_seen, raised, cleared FROM alerts"
	    " WHERE ?1 IS NULL OR cluster = ?1"
	    " ORDER BY cleared IS NOT NULL, raised IS NULL, id",
	[ST_ALERT_PRUNE] =
	    "DELETE FROM alerts WHERE cleared IS NOT NULL AND cleared < ?1",
	/*
	 * Connected, but only through relays gone silent, is offline too:
	 * a relay killed for good leaves its tunnels listed.
	 */
	[ST_OFFLINE_LIST] =
	    "SELECT id, last_contact FROM clusters c WHERE last_contact <= ?1"
	    " AND (connected = 0 OR (EXISTS (SELECT 1 FROM connections"
	    " WHERE cluster = c.id) AND NOT EXISTS (SELECT 1 FROM connections x"
	    " JOIN relays r ON r.name = x.relay WHERE x.cluster = c.id"
	    " AND r.seen >= ?2))) ORDER BY id",
};

/*
 * Version 1 of the schema.  records, usage and anchors are WITHOUT
 * ROWID: their key is all they are looked up by, and one B-tree per
 * insert instead of two keeps a drained backlog fast.  health and
 * events hold large JSON bodies, which belong in ordinary tables.
 */
static const char schema_v1_sql[] =
	"CREATE TABLE clusters ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  first_seen INTEGER NOT NULL,"
	"  last_contact INTEGER NOT NULL,"
	"  connected INTEGER NOT NULL,"
	"  version TEXT,"
	"  host_key TEXT,"
	"  last_seq INTEGER NOT NULL);"
	"CREATE TABLE records ("
	"  cluster TEXT NOT NULL REFERENCES clusters (id),"
	"  seq INTEGER NOT NULL,"
	"  class TEXT NOT NULL,"
	"  received INTEGER NOT NULL,"
	"  PRIMARY KEY (cluster, seq)) WITHOUT ROWID;"
	"CREATE TABLE usage ("
	"  cluster TEXT NOT NULL REFERENCES clusters (id),"
	"  hour INTEGER NOT NULL,"
	"  environment TEXT NOT NULL,"
	"  unit TEXT NOT NULL,"
	"  amount REAL NOT NULL,"
	"  PRIMARY KEY (cluster, hour, environment, unit)) WITHOUT ROWID;"
	"CREATE TABLE health ("
	"  cluster TEXT NOT NULL REFERENCES clusters (id),"
	"  seq INTEGER NOT NULL,"
	"  ts TEXT NOT NULL,"
	"  snapshot TEXT NOT NULL,"
	"  PRIMARY KEY (cluster, seq));"
	"CREATE TABLE events ("
	"  cluster TEXT NOT NULL REFERENCES clusters (id),"
	"  seq INTEGER NOT NULL,"
	"  ts TEXT NOT NULL,"
	"  type TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  PRIMARY KEY (cluster, seq));"
	"CREATE TABLE anchors ("
	"  cluster TEXT NOT NULL REFERENCES clusters (id),"
	"  epoch INTEGER NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  head TEXT NOT NULL,"
	"  received INTEGER NOT NULL,"
	"  PRIMARY KEY (cluster, epoch, seq, head)) WITHOUT ROWID;";

/*
 * Version 2: messages down to the gateways and what each cluster
 * answered, and the packages they fetch.  A message's id is the store's
 * (AUTOINCREMENT: never reused, even after the newest row is deleted),
 * so every relay on one store offers a message under the same id and a
 * gateway acts on it once.  A NULL cluster is every cluster, those that
 * join later included.  A delivery row exists once the message was
 * offered; acked is when the cluster answered (0: not yet) and result
 * what it said ("accepted" or "refused: WHY").  Packages are kept in
 * chunks of STORE_CHUNK bytes, each at its offset.
 */
static const char schema_v2_sql[] =
	"CREATE TABLE messages ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  cluster TEXT,"
	"  kind TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE deliveries ("
	"  message_id INTEGER NOT NULL REFERENCES messages (id),"
	"  cluster TEXT NOT NULL,"
	"  offered INTEGER NOT NULL,"
	"  acked INTEGER NOT NULL,"
	"  result TEXT,"
	"  PRIMARY KEY (message_id, cluster)) WITHOUT ROWID;"
	"CREATE TABLE package_chunks ("
	"  sha256 TEXT NOT NULL,"
	"  \"offset\" INTEGER NOT NULL,"
	"  data BLOB NOT NULL,"
	"  PRIMARY KEY (sha256, \"offset\"));";

/*
 * Version 3: every node and service as the newest record told of it,
 * whoever sent it (relay/analysis.c merges them), and the alerts.  An
 * alert's id is the store's, so that every relay sharing the store and
 * every gateway name it alike; the partial unique index keeps one open
 * alert per (cluster, rule, subject) while cleared ones stay as history.
 */
static const char schema_v3_sql[] =
	"CREATE TABLE health_nodes ("
	"  cluster TEXT NOT NULL REFERENCES clusters (id),"
	"  node TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  ts INTEGER NOT NULL,"
	"  body TEXT NOT NULL,"
	"  PRIMARY KEY (cluster, node));"
	"CREATE TABLE health_services ("
	"  cluster TEXT NOT NULL REFERENCES clusters (id),"
	"  name TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  ts INTEGER NOT NULL,"
	"  down INTEGER NOT NULL,"
	"  body TEXT NOT NULL,"
	"  PRIMARY KEY (cluster, name));"
	"CREATE TABLE alerts ("
	"  id INTEGER PRIMARY KEY,"
	"  cluster TEXT NOT NULL REFERENCES clusters (id),"
	"  rule TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  severity TEXT NOT NULL,"
	"  text TEXT NOT NULL,"
	"  first_seen INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL,"
	"  raised INTEGER,"
	"  cleared INTEGER);"
	"CREATE UNIQUE INDEX alerts_open ON alerts (cluster, rule, subject)"
	"  WHERE cleared IS NULL;";

/*
 * Version 4: the fleet.  The cluster registry (cluster add|remove): an
 * entry's key is "TYPE BASE64"; a removed entry stays with the time it
 * was removed, so that relays polling for changes (changed, which grows
 * with every change) learn of it.  relays: each relay of the store and
 * its heartbeat; connections: which relays each cluster has a tunnel
 * to, since when.
 */
static const char schema_v4_sql[] =
	"CREATE TABLE registry ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  key TEXT NOT NULL,"
	"  license TEXT NOT NULL,"
	"  expires INTEGER NOT NULL,"
	"  overage INTEGER NOT NULL,"
	"  added INTEGER NOT NULL,"
	"  removed INTEGER NOT NULL,"
	"  changed INTEGER NOT NULL);"
	"CREATE INDEX registry_changed ON registry (changed);"
	"CREATE TABLE relays ("
	"  name TEXT PRIMARY KEY NOT NULL,"
	"  started INTEGER NOT NULL,"
	"  seen INTEGER NOT NULL);"
	"CREATE TABLE connections ("
	"  cluster TEXT NOT NULL,"
	"  relay TEXT NOT NULL,"
	"  since INTEGER NOT NULL,"
	"  PRIMARY KEY (cluster, relay)) WITHOUT ROWID;";

/*
 * Version 5: the support bundles the gateways upload.  A bundle's row
 * says what its gateway announced (the SHA-256 and size among it) and
 * how many bytes are stored; the bytes are in chunks keyed by their
 * offset, each a piece the gateway sent.  completed is when the last
 * piece came and the whole matched its SHA-256 (0: not yet).
 */
static const char schema_v5_sql[] =
	"CREATE TABLE bundles ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  cluster TEXT NOT NULL,"
	"  sha256 TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  source TEXT NOT NULL,"
	"  requested_by TEXT NOT NULL,"
	"  ticket TEXT NOT NULL,"
	"  message_id INTEGER NOT NULL,"
	"  summary TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  started INTEGER NOT NULL,"
	"  received INTEGER NOT NULL,"
	"  completed INTEGER NOT NULL);"
	"CREATE TABLE bundle_chunks ("
	"  bundle TEXT NOT NULL REFERENCES bundles (id),"
	"  \"offset\" INTEGER NOT NULL,"
	"  data BLOB NOT NULL,"
	"  PRIMARY KEY (bundle, \"offset\"));";

/*
 * Version 6 changes PostgreSQL's records and usage only (their cluster is
 * no longer checked row by row: see store_pg.c).  SQLite never checked
 * it: the relay does not turn on PRAGMA foreign_keys, and it is the only
 * writer of its file.  The version is counted here too, so that both
 * engines' numbers keep meaning the same tables.
 */
static const char schema_v6_sql[] = "SELECT 1;";

/* migrations[v] takes a database from schema version v to v + 1. */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
	schema_v1_sql,
	schema_v2_sql,
	schema_v3_sql,
	schema_v4_sql,
	schema_v5_sql,
	schema_v6_sql,
};

/* The backend's state: the connection and its statements. */
struct sq {
	sqlite3		*db;
	sqlite3_stmt	*st[ST__COUNT];
};

#define SQ(s)	((struct sq *)(s)->be)

/* The connection's last error into s->err; -1. */
static int
sq_err(struct store *s)
{
	return store_be_error(s, "%s", sqlite3_errmsg(SQ(s)->db));
}

/*
 * A statement ready for binding.  Statements are reset after use as
 * well (stmt_done): an unfinished SELECT keeps a read snapshot open,
 * which would stop WAL checkpoints.
 */
static sqlite3_stmt *
stmt_get(struct store *s, enum stmt k)
{
	sqlite3_stmt *st = SQ(s)->st[k];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

static void
stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Run a statement that returns no rows.  0, or -1 with s->err. */
static int
stmt_run(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		sq_err(s);
	stmt_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) == SQLITE_OK ?
	    0 : -1;
}

static int
bind_int(sqlite3_stmt *st, int i, int64_t v)
{
	return sqlite3_bind_int64(st, i, v) == SQLITE_OK ? 0 : -1;
}

/* A bound statement that returns no rows, run: 0, or -1 with s->err. */
static int
run_bound(struct store *s, sqlite3_stmt *st, int bound)
{
	if (bound == -1) {
		sq_err(s);
		stmt_done(st);
		return -1;
	}
	return stmt_run(s, st);
}

/* A single-value pragma whose answer must be want (NULL: any). */
static int
pragma(struct store *s, const char *sql, const char *want, char *err,
    size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	const char	*got;
	int		 rc = -1;

	if (sqlite3_prepare_v2(SQ(s)->db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s: %s", s->name, sql,
		    sqlite3_errmsg(SQ(s)->db));
		goto out;
	}
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		got = (const char *)sqlite3_column_text(st, 0);
		if (want != NULL && (got == NULL || strcmp(got, want) != 0)) {
			snprintf(err, errlen, "%s: %s: got '%s', not '%s'",
			    s->name, sql, got == NULL ? "" : got, want);
			goto out;
		}
		break;
	case SQLITE_DONE:
		break;
	default:
		snprintf(err, errlen, "%s: %s: %s", s->name, sql,
		    sqlite3_errmsg(SQ(s)->db));
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * The schema version of the open database: 0 for a new one, ours, or an
 * older one this relay migrates (schema()); a newer one is refused (-1,
 * with why in err).
 */
static int
schema_version(struct store *s, int *version, char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	int		 rc = -1;

	if (sqlite3_prepare_v2(SQ(s)->db, "PRAGMA user_version", -1, &st,
	    NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errlen, "%s: reading the schema version: %s",
		    s->name, sqlite3_errmsg(SQ(s)->db));
		goto out;
	}
	*version = sqlite3_column_int(st, 0);
	if (*version < 0 || *version > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s: schema version %d, this relay "
		    "knows version %d", s->name, *version,
		    STORE_SCHEMA_VERSION);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * Create the tables in a new database, or bring an older one up to this
 * relay's version; refuse one from a newer relay.  The version is read
 * again under the write lock and set in the same transaction as the
 * tables, so two relays starting on one store migrate it once.
 */
static int
schema(struct store *s, char *err, size_t errlen)
{
	sqlite3	*db = SQ(s)->db;
	char	*msg = NULL, sql[64];
	int	 version, v, rc = -1;

	if (schema_version(s, &version, err, errlen) == -1)
		return -1;
	if (version == STORE_SCHEMA_VERSION)
		return 0;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) !=
	    SQLITE_OK)
		goto sqlfail;
	if (schema_version(s, &version, err, errlen) == -1)
		goto out;
	for (v = version; v < STORE_SCHEMA_VERSION; v++)
		if (sqlite3_exec(db, migrations[v], NULL, NULL, &msg) !=
		    SQLITE_OK)
			goto sqlfail;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d; COMMIT",
	    STORE_SCHEMA_VERSION);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		goto sqlfail;
	if (version != 0)
		log_info("%s: schema version %d brought up to %d", s->name,
		    version, STORE_SCHEMA_VERSION);
	rc = 0;
	goto out;
sqlfail:
	snprintf(err, errlen, "%s: %s the tables: %s", s->name,
	    version == 0 ? "creating" : "migrating",
	    msg != NULL ? msg : sqlite3_errmsg(db));
out:
	if (rc == -1 && sqlite3_get_autocommit(db) == 0)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_free(msg);
	return rc;
}

static int
prepare_all(struct store *s, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < ST__COUNT; i++) {
		if (sqlite3_prepare_v3(SQ(s)->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &SQ(s)->st[i], NULL) !=
		    SQLITE_OK) {
			snprintf(err, errlen, "%s: %s: %s", s->name,
			    stmt_sql[i], sqlite3_errmsg(SQ(s)->db));
			return -1;
		}
	}
	return 0;
}

/* The schema of a database a report reads: it must be the relay's. */
static int
schema_check(struct store *s, char *err, size_t errlen)
{
	int version;

	if (schema_version(s, &version, err, errlen) == -1)
		return -1;
	if (version == 0) {
		snprintf(err, errlen, "%s: no relay tables (the relay has not "
		    "started on it yet)", s->name);
		return -1;
	}
	if (version < STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s: schema version %d, from an older "
		    "relay: start porthole-relay on it once to bring it up to "
		    "version %d", s->name, version, STORE_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

/* sqlite3_open_v2's failure, in err. */
static void
open_error(struct store *s, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", s->name, SQ(s)->db == NULL ?
	    "out of memory" : sqlite3_errmsg(SQ(s)->db));
}

/*
 * A connection that only reads.  Closing the last connection to a WAL
 * database checkpoints it and deletes the -wal file; a report must
 * never do that to a relay that runs (nor fold in a WAL the relay will
 * recover), so it cannot write, does not checkpoint on close, and keeps
 * the WAL even if it were the last to close.
 */
static int
open_readonly(struct store *s, char *err, size_t errlen)
{
	sqlite3	*db;
	int	 one = 1;

	if (sqlite3_open_v2(s->name, &SQ(s)->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		open_error(s, err, errlen);
		return -1;
	}
	db = SQ(s)->db;
	if (sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
	    NULL) != SQLITE_OK || sqlite3_file_control(db, "main",
	    SQLITE_FCNTL_PERSIST_WAL, &one) != SQLITE_OK) {
		snprintf(err, errlen, "%s: making the connection read-only: %s",
		    s->name, sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, STORE_BUSY_MS);
	return schema_check(s, err, errlen);
}

static int
open_writer(struct store *s, char *err, size_t errlen)
{
	int fd;

	/*
	 * Create the file ourselves: SQLite would make it 0644, and usage is
	 * billing data.  This also turns a missing or unwritable directory
	 * into errno's words rather than "unable to open database file".
	 * The -wal and -shm files take the database file's mode.
	 */
	if ((fd = open(s->name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY,
	    0600)) == -1) {
		snprintf(err, errlen, "%s: %s", s->name, strerror(errno));
		return -1;
	}
	close(fd);
	if (sqlite3_open_v2(s->name, &SQ(s)->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		open_error(s, err, errlen);
		return -1;
	}
	sqlite3_extended_result_codes(SQ(s)->db, 1);
	sqlite3_busy_timeout(SQ(s)->db, STORE_BUSY_MS);
	/*
	 * WAL lets the reports read while the relay writes; FULL syncs the
	 * WAL at every commit, because an ack must mean the batch survives
	 * a power cut, not only a crash of the relay.
	 */
	if (pragma(s, "PRAGMA journal_mode = WAL", "wal", err, errlen) == -1 ||
	    pragma(s, "PRAGMA synchronous = FULL", NULL, err, errlen) == -1 ||
	    pragma(s, "PRAGMA foreign_keys = ON", NULL, err, errlen) == -1)
		return -1;
	return schema(s, err, errlen);
}

static int
sq_open(struct store *s, const char *path, char *err, size_t errlen)
{
	if ((s->name = strdup(path)) == NULL ||
	    (s->be = calloc(1, sizeof(struct sq))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	/*
	 * A command must not create the database: made there, perhaps as
	 * root, it could be one the relay's own user cannot open.
	 */
	if ((s->flags & STORE_EXISTING) && access(path, F_OK) == -1) {
		snprintf(err, errlen, "%s: %s (the relay has not created it "
		    "yet)", path, strerror(errno));
		return -1;
	}
	if ((s->flags & STORE_READONLY) ? open_readonly(s, err, errlen) :
	    open_writer(s, err, errlen))
		return -1;
	if (prepare_all(s, err, errlen) == -1)
		return -1;
	s->generation = 1;
	return 0;
}

static void
sq_close(struct store *s)
{
	struct sq	*q = SQ(s);
	size_t		 i;

	if (q == NULL)
		return;
	for (i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(q->st[i]);
	/* close_v2: the handle goes once nothing else refers to it. */
	sqlite3_close_v2(q->db);
	free(q);
	s->be = NULL;
}

static int
sq_begin(struct store *s)
{
	return stmt_run(s, stmt_get(s, ST_BEGIN));
}

static int
sq_commit(struct store *s)
{
	return stmt_run(s, stmt_get(s, ST_COMMIT));
}

static void
sq_rollback(struct store *s)
{
	/* Nothing to add if this fails too: SQLite rolls back on close. */
	if (sqlite3_get_autocommit(SQ(s)->db) == 0)
		(void)stmt_run(s, stmt_get(s, ST_ROLLBACK));
}

static int
sq_cluster_add(struct store *s, const char *cluster, time_t now)
{
	sqlite3_stmt *st = stmt_get(s, ST_CLUSTER_ADD);

	return run_bound(s, st, bind_text(st, 1, cluster) == -1 ||
	    bind_int(st, 2, now) == -1 ? -1 : 0);
}

static int	sq_last_seq(struct store *, const char *, int64_t *);

static int
sq_cluster_lock(struct store *s, const char *cluster, time_t now,
    int64_t *last)
{
	/* BEGIN IMMEDIATE took the one write lock there is. */
	if (sq_cluster_add(s, cluster, now) == -1)
		return -1;
	return sq_last_seq(s, cluster, last);
}

static int
sq_cluster_seen(struct store *s, const char *cluster, time_t now,
    const char *version, int connected)
{
	sqlite3_stmt *st = stmt_get(s, ST_CLUSTER_SEEN);

	return run_bound(s, st, bind_text(st, 1, cluster) == -1 ||
	    bind_int(st, 2, now) == -1 ||
	    bind_int(st, 3, connected ? 1 : 0) == -1 ||
	    (version != NULL && bind_text(st, 4, version) == -1) ? -1 : 0);
}

static int
sq_relay_started(struct store *s, const char *relay, time_t now)
{
	sqlite3_stmt *st;

	st = stmt_get(s, ST_RELAY_UP);
	if (run_bound(s, st, bind_text(st, 1, relay) == -1 ||
	    bind_int(st, 2, now) == -1 ? -1 : 0) == -1)
		return -1;
	st = stmt_get(s, ST_CONN_CLEAR);
	if (run_bound(s, st, bind_text(st, 1, relay)) == -1)
		return -1;
	return stmt_run(s, stmt_get(s, ST_CONNECTED_ALL));
}

static int
sq_relay_seen(struct store *s, const char *relay, time_t now)
{
	sqlite3_stmt *st = stmt_get(s, ST_RELAY_SEEN);

	return run_bound(s, st, bind_text(st, 1, relay) == -1 ||
	    bind_int(st, 2, now) == -1 ? -1 : 0);
}

static int
sq_relay_down(struct store *s, const char *relay)
{
	sqlite3_stmt *st = stmt_get(s, ST_RELAY_DOWN);

	return run_bound(s, st, bind_text(st, 1, relay));
}

static int
sq_connection(struct store *s, const char *cluster, const char *relay,
    time_t now, int up)
{
	sqlite3_stmt *st;

	st = stmt_get(s, up ? ST_CONN_ADD : ST_CONN_DEL);
	if (run_bound(s, st, bind_text(st, 1, cluster) == -1 ||
	    bind_text(st, 2, relay) == -1 ||
	    (up && bind_int(st, 3, now) == -1) ? -1 : 0) == -1)
		return -1;
	st = stmt_get(s, ST_CONNECTED_ONE);
	return run_bound(s, st, bind_text(st, 1, cluster));
}

static int
sq_last_seq(struct store *s, const char *cluster, int64_t *seq)
{
	sqlite3_stmt	*st;
	int		 rc;

	*seq = 0;
	st = stmt_get(s, ST_CLUSTER_GET);
	if (bind_text(st, 1, cluster) == -1) {
		stmt_done(st);
		return sq_err(s);
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*seq = sqlite3_column_int64(st, 4);
	else if (rc != SQLITE_DONE)
		sq_err(s);
	stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int
apply_usage(struct store *s, const char *cluster, const struct store_item *it)
{
	sqlite3_stmt	*st;
	const char	*key;
	json_t		*v;

	st = stmt_get(s, ST_USAGE_CLEAR);
	if (run_bound(s, st, bind_text(st, 1, cluster) == -1 ||
	    bind_int(st, 2, it->hour) == -1 ||
	    bind_text(st, 3, it->env) == -1 ? -1 : 0) == -1)
		return -1;
	json_object_foreach(json_object_get(it->rec, "units"), key, v) {
		st = stmt_get(s, ST_USAGE_SET);
		if (run_bound(s, st, bind_text(st, 1, cluster) == -1 ||
		    bind_int(st, 2, it->hour) == -1 ||
		    bind_text(st, 3, it->env) == -1 ||
		    bind_text(st, 4, key) == -1 ||
		    sqlite3_bind_double(st, 5, json_number_value(v)) !=
		    SQLITE_OK ? -1 : 0) == -1)
			return -1;
	}
	return 0;
}

/* Health and events keep the whole record as compact JSON. */
static int
apply_body(struct store *s, const char *cluster, const struct store_item *it)
{
	sqlite3_stmt	*st;
	char		*body;
	int		 bound;

	if ((body = json_dumps(it->rec, JSON_COMPACT)) == NULL)
		return store_be_error(s, "out of memory");
	if (it->cls == SC_HEALTH) {
		st = stmt_get(s, ST_HEALTH_ADD);
		bound = bind_text(st, 3, it->ts) == -1 ||
		    bind_text(st, 4, body) == -1 ? -1 : 0;
	} else {
		st = stmt_get(s, ST_EVENT_ADD);
		bound = bind_text(st, 3, it->ts) == -1 ||
		    bind_text(st, 4, it->type) == -1 ||
		    bind_text(st, 5, body) == -1 ? -1 : 0;
	}
	if (bind_text(st, 1, cluster) == -1 || bind_int(st, 2, it->seq) == -1)
		bound = -1;
	/* run_bound() resets the statement, so body is unbound before free. */
	bound = run_bound(s, st, bound);
	free(body);
	return bound;
}

/* Insert one record's key; only if it is new, apply the record. */
static int
apply_item(struct store *s, const char *cluster, struct store_item *it,
    time_t now)
{
	sqlite3_stmt *st;

	st = stmt_get(s, ST_RECORD_ADD);
	if (run_bound(s, st, bind_text(st, 1, cluster) == -1 ||
	    bind_int(st, 2, it->seq) == -1 ||
	    bind_text(st, 3, store_class_name(it->cls)) == -1 ||
	    bind_int(st, 4, now) == -1 ? -1 : 0) == -1)
		return -1;
	if (sqlite3_changes(SQ(s)->db) == 0)
		return 0;	/* a duplicate: applied when it first came */
	it->fresh = 1;
	if (it->cls == SC_USAGE)
		return apply_usage(s, cluster, it);
	return apply_body(s, cluster, it);
}

static int
sq_records(struct store *s, const char *cluster, struct store_item *items,
    size_t n, time_t now)
{
	sqlite3_stmt	*st;
	size_t		 i;
	int		 health = 0;

	for (i = 0; i < n; i++) {
		if (apply_item(s, cluster, &items[i], now) == -1)
			return -1;
		if (items[i].fresh && items[i].cls == SC_HEALTH)
			health = 1;
	}
	if (!health)
		return 0;
	st = stmt_get(s, ST_HEALTH_PRUNE);
	return run_bound(s, st, bind_text(st, 1, cluster) == -1 ||
	    bind_int(st, 2, STORE_HEALTH_KEEP) == -1 ? -1 : 0);
}

static int
sq_advance(struct store *s, const char *cluster, int64_t high, time_t now)
{
	sqlite3_stmt *st = stmt_get(s, ST_CLUSTER_ADVANCE);

	return run_bound(s, st, bind_text(st, 1, cluster) == -1 ||
	    bind_int(st, 2, high) == -1 || bind_int(st, 3, now) == -1 ?
	    -1 : 0);
}

static int
sq_cluster_get(struct store *s, const char *cluster,
    struct store_cluster_info *ci)
{
	sqlite3_stmt	*st;
	const char	*v;
	int		 rc;

	st = stmt_get(s, ST_CLUSTER_GET);
	if (bind_text(st, 1, cluster) == -1) {
		stmt_done(st);
		return sq_err(s);
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ci->first_seen = (time_t)sqlite3_column_int64(st, 0);
		ci->last_contact = (time_t)sqlite3_column_int64(st, 1);
		ci->connected = sqlite3_column_int(st, 2);
		if ((v = (const char *)sqlite3_column_text(st, 3)) != NULL)
			snprintf(ci->version, sizeof(ci->version), "%s", v);
		ci->last_seq = (uint64_t)sqlite3_column_int64(st, 4);
		if ((v = (const char *)sqlite3_column_text(st, 5)) != NULL)
			snprintf(ci->host_key, sizeof(ci->host_key), "%s", v);
	} else if (rc != SQLITE_DONE)
		sq_err(s);
	stmt_done(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

/* One integer from a statement bound to a cluster. */
static int
cluster_int(struct store *s, enum stmt k, const char *cluster, int64_t *v)
{
	sqlite3_stmt	*st = stmt_get(s, k);
	int		 rc;

	*v = 0;
	if (bind_text(st, 1, cluster) == -1) {
		stmt_done(st);
		return sq_err(s);
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	else
		sq_err(s);
	stmt_done(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int
sq_record_count(struct store *s, const char *cluster, uint64_t *n)
{
	int64_t v;

	if (cluster_int(s, ST_RECORD_COUNT, cluster, &v) == -1)
		return -1;
	*n = (uint64_t)v;
	return 0;
}

static int
sq_health_counts(struct store *s, const char *cluster, int64_t *nodes,
    int64_t *services, int64_t *up)
{
	sqlite3_stmt	*st;
	int		 rc;

	*nodes = *services = *up = 0;
	st = stmt_get(s, ST_HEALTH_COUNTS);
	if (bind_text(st, 1, cluster) == -1) {
		stmt_done(st);
		return sq_err(s);
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*nodes = sqlite3_column_int64(st, 0);
		*services = sqlite3_column_int64(st, 1);
		*up = sqlite3_column_int64(st, 2);
	} else
		sq_err(s);
	stmt_done(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int
sq_host_key(struct store *s, const char *cluster, const char *key)
{
	sqlite3_stmt *st = stmt_get(s, ST_HOST_KEY);

	return run_bound(s, st, bind_text(st, 1, cluster) == -1 ||
	    bind_text(st, 2, key) == -1 ? -1 : 0);
}

static int
sq_anchor_other(struct store *s, const char *cluster, uint64_t epoch,
    uint64_t seq, const char *head, char *other)
{
	sqlite3_stmt	*st;
	const char	*v;
	int		 rc;

	st = stmt_get(s, ST_ANCHOR_OTHER);
	if (bind_text(st, 1, cluster) == -1 ||
	    bind_int(st, 2, (int64_t)epoch) == -1 ||
	    bind_int(st, 3, (int64_t)seq) == -1 ||
	    bind_text(st, 4, head) == -1) {
		stmt_done(st);
		return sq_err(s);
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = (const char *)sqlite3_column_text(st, 0);
		snprintf(other, STORE_HEAD_LEN + 1, "%s", v == NULL ? "" : v);
	} else if (rc != SQLITE_DONE)
		sq_err(s);
	stmt_done(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
sq_anchor_add(struct store *s, const char *cluster, uint64_t epoch,
    uint64_t seq, const char *head, time_t now)
{
	sqlite3_stmt *st = stmt_get(s, ST_ANCHOR_ADD);

	return run_bound(s, st, bind_text(st, 1, cluster) == -1 ||
	    bind_int(st, 2, (int64_t)epoch) == -1 ||
	    bind_int(st, 3, (int64_t)seq) == -1 ||
	    bind_text(st, 4, head) == -1 || bind_int(st, 5, now) == -1 ?
	    -1 : 0);
}

/*
 * Step a bound list statement, handing each row to visit: 0 when all
 * were given, -1 when visit stopped, STORE_DB_ERROR when SQLite failed.
 */
static int
rows(struct store *s, sqlite3_stmt *st, int (*visit)(sqlite3_stmt *, void *),
    void *arg)
{
	int step, stopped = 0;

	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		if ((stopped = visit(st, arg)) == -1)
			break;
	if (stopped != -1 && step != SQLITE_DONE)
		sq_err(s);
	stmt_done(st);
	if (stopped == -1)
		return -1;
	return step == SQLITE_DONE ? 0 : STORE_DB_ERROR;
}

/* A list statement for one cluster, bound.  NULL with s->err. */
static sqlite3_stmt *
cluster_list(struct store *s, enum stmt k, const char *cluster)
{
	sqlite3_stmt *st = stmt_get(s, k);

	if (bind_text(st, 1, cluster) == -1) {
		sq_err(s);
		stmt_done(st);
		return NULL;
	}
	return st;
}

/*
 * A text column; "" for a NULL, which the schema does not allow but a
 * database edited by hand might hold.
 */
static const char *
col_text(sqlite3_stmt *st, int i)
{
	const char *v = (const char *)sqlite3_column_text(st, i);

	return v == NULL ? "" : v;
}

struct usage_visit {
	store_usage_fn	 fn;
	void		*arg;
};

static int
usage_visit(sqlite3_stmt *st, void *arg)
{
	struct usage_visit	*v = arg;
	struct store_usage_row	 r;

	r.hour = (time_t)sqlite3_column_int64(st, 0);
	r.environment = col_text(st, 1);
	r.unit = col_text(st, 2);
	r.amount = sqlite3_column_double(st, 3);
	return v->fn(&r, v->arg);
}

static int
sq_usage_rows(struct store *s, const char *cluster, store_usage_fn fn,
    void *arg)
{
	struct usage_visit	 v = { fn, arg };
	sqlite3_stmt		*st;

	if ((st = cluster_list(s, ST_USAGE_LIST, cluster)) == NULL)
		return STORE_DB_ERROR;
	return rows(s, st, usage_visit, &v);
}

struct event_visit {
	store_event_fn	 fn;
	void		*arg;
};

static int
event_visit(sqlite3_stmt *st, void *arg)
{
	struct event_visit	*v = arg;
	struct store_event_row	 r;

	r.ts = col_text(st, 0);
	r.type = col_text(st, 1);
	r.seq = sqlite3_column_int64(st, 2);
	r.record = col_text(st, 3);
	return v->fn(&r, v->arg);
}

static int
sq_event_rows(struct store *s, const char *cluster, store_event_fn fn,
    void *arg)
{
	struct event_visit	 v = { fn, arg };
	sqlite3_stmt		*st;

	if ((st = cluster_list(s, ST_EVENT_LIST, cluster)) == NULL)
		return STORE_DB_ERROR;
	return rows(s, st, event_visit, &v);
}

struct anchor_visit {
	store_anchor_fn	 fn;
	void		*arg;
};

static int
anchor_visit(sqlite3_stmt *st, void *arg)
{
	struct anchor_visit	*v = arg;
	struct store_anchor_row	 r;

	r.epoch = (uint64_t)sqlite3_column_int64(st, 0);
	r.seq = (uint64_t)sqlite3_column_int64(st, 1);
	r.head = col_text(st, 2);
	r.received = (time_t)sqlite3_column_int64(st, 3);
	return v->fn(&r, v->arg);
}

static int
sq_anchor_rows(struct store *s, const char *cluster, store_anchor_fn fn,
    void *arg)
{
	struct anchor_visit	 v = { fn, arg };
	sqlite3_stmt		*st;

	if ((st = cluster_list(s, ST_ANCHOR_LIST, cluster)) == NULL)
		return STORE_DB_ERROR;
	return rows(s, st, anchor_visit, &v);
}

static int
sq_message_add(struct store *s, const char *cluster, const char *kind,
    const char *body, time_t now, int64_t *id)
{
	sqlite3_stmt *st = stmt_get(s, ST_MSG_ADD);

	/* One writer at a time: ids commit in the order they are given. */
	if (run_bound(s, st, (cluster != NULL &&
	    bind_text(st, 1, cluster) == -1) ||
	    bind_text(st, 2, kind) == -1 || bind_text(st, 3, body) == -1 ||
	    bind_int(st, 4, now) == -1 ? -1 : 0) == -1)
		return -1;
	*id = sqlite3_last_insert_rowid(SQ(s)->db);
	return 0;
}

static int
sq_message_max(struct store *s, int64_t *id)
{
	sqlite3_stmt	*st = stmt_get(s, ST_MSG_MAX);
	int		 rc;

	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else
		sq_err(s);
	stmt_done(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

struct message_visit {
	store_message_fn	 fn;
	void			*arg;
};

static int
message_visit(sqlite3_stmt *st, void *arg)
{
	struct message_visit	*v = arg;
	struct store_message	 m;

	m.id = sqlite3_column_int64(st, 0);
	m.kind = col_text(st, 1);
	m.body = col_text(st, 2);
	m.created = (time_t)sqlite3_column_int64(st, 3);
	return v->fn(&m, v->arg);
}

static int
sq_messages_pending(struct store *s, const char *cluster, int64_t after,
    int limit, store_message_fn fn, void *arg)
{
	struct message_visit	 v = { fn, arg };
	sqlite3_stmt		*st;

	if ((st = cluster_list(s, ST_MSG_PENDING, cluster)) == NULL)
		return STORE_DB_ERROR;
	if (bind_int(st, 2, after) == -1 || bind_int(st, 3, limit) == -1) {
		sq_err(s);
		stmt_done(st);
		return STORE_DB_ERROR;
	}
	return rows(s, st, message_visit, &v);
}

static int
sq_delivery_offered(struct store *s, int64_t id, const char *cluster,
    time_t now)
{
	sqlite3_stmt *st = stmt_get(s, ST_DELIVERY_OFFERED);

	return run_bound(s, st, bind_int(st, 1, id) == -1 ||
	    bind_text(st, 2, cluster) == -1 || bind_int(st, 3, now) == -1 ?
	    -1 : 0);
}

static int
sq_delivery_acked(struct store *s, int64_t id, const char *cluster,
    time_t now, const char *result)
{
	sqlite3_stmt *st = stmt_get(s, ST_DELIVERY_ACKED);

	if (run_bound(s, st, bind_int(st, 1, id) == -1 ||
	    bind_text(st, 2, cluster) == -1 || bind_int(st, 3, now) == -1 ||
	    bind_text(st, 4, result) == -1 ? -1 : 0) == -1)
		return -1;
	return sqlite3_changes(SQ(s)->db) > 0 ? 1 : 0;
}

struct delivery_visit {
	store_delivery_fn	 fn;
	void			*arg;
};

static int
delivery_visit(sqlite3_stmt *st, void *arg)
{
	struct delivery_visit	*v = arg;
	struct store_delivery	 d;

	d.id = sqlite3_column_int64(st, 0);
	d.body = col_text(st, 1);
	d.created = (time_t)sqlite3_column_int64(st, 2);
	d.offered = (time_t)sqlite3_column_int64(st, 3);
	d.acked = (time_t)sqlite3_column_int64(st, 4);
	d.result = sqlite3_column_type(st, 5) == SQLITE_NULL ? NULL :
	    col_text(st, 5);
	return v->fn(&d, v->arg);
}

static int
sq_delivery_rows(struct store *s, const char *cluster, const char *kind,
    store_delivery_fn fn, void *arg)
{
	struct delivery_visit	 v = { fn, arg };
	sqlite3_stmt		*st;

	if ((st = cluster_list(s, ST_MSG_KIND, cluster)) == NULL)
		return STORE_DB_ERROR;
	if (bind_text(st, 2, kind) == -1) {
		sq_err(s);
		stmt_done(st);
		return STORE_DB_ERROR;
	}
	return rows(s, st, delivery_visit, &v);
}

static int
sq_chunks_delete(struct store *s, const char *sha256)
{
	sqlite3_stmt *st = stmt_get(s, ST_CHUNK_DELETE);

	return run_bound(s, st, bind_text(st, 1, sha256));
}

/* A chunk of a package or a bundle (key) at offset. */
static int
chunk_put(struct store *s, enum stmt k, const char *key, uint64_t offset,
    const void *data, size_t len)
{
	sqlite3_stmt *st = stmt_get(s, k);

	return run_bound(s, st, bind_text(st, 1, key) == -1 ||
	    bind_int(st, 2, (int64_t)offset) == -1 ||
	    sqlite3_bind_blob(st, 3, data, (int)len, SQLITE_STATIC) !=
	    SQLITE_OK ? -1 : 0);
}

static int
sq_chunk_add(struct store *s, const char *sha256, uint64_t offset,
    const void *data, size_t len)
{
	return chunk_put(s, ST_CHUNK_ADD, sha256, offset, data, len);
}

static int
sq_package_size(struct store *s, const char *sha256, uint64_t *size)
{
	sqlite3_stmt	*st = stmt_get(s, ST_PACKAGE_SIZE);
	int		 rc;

	if (bind_text(st, 1, sha256) == -1) {
		stmt_done(st);
		return sq_err(s);
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*size = (uint64_t)sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		sq_err(s);
	stmt_done(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
sq_bundle_add(struct store *s, const struct store_bundle *b, time_t now)
{
	sqlite3_stmt *st = stmt_get(s, ST_BUNDLE_ADD);

	return run_bound(s, st, bind_text(st, 1, b->id) == -1 ||
	    bind_text(st, 2, b->cluster) == -1 ||
	    bind_text(st, 3, b->sha256) == -1 ||
	    bind_int(st, 4, (int64_t)b->size) == -1 ||
	    bind_text(st, 5, b->source) == -1 ||
	    bind_text(st, 6, b->requested_by) == -1 ||
	    bind_text(st, 7, b->ticket) == -1 ||
	    bind_int(st, 8, b->message_id) == -1 ||
	    bind_text(st, 9, b->summary) == -1 ||
	    bind_int(st, 10, (int64_t)b->created) == -1 ||
	    bind_int(st, 11, (int64_t)now) == -1 ? -1 : 0);
}

/* SQLite has one writer: the transaction holds the row already. */
static int
sq_bundle_state(struct store *s, const char *id,
    struct store_bundle_state *bs)
{
	sqlite3_stmt	*st = stmt_get(s, ST_BUNDLE_STATE);
	int		 rc;

	if (bind_text(st, 1, id) == -1) {
		stmt_done(st);
		return sq_err(s);
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(bs->cluster, sizeof(bs->cluster), "%s",
		    col_text(st, 0));
		snprintf(bs->sha256, sizeof(bs->sha256), "%s", col_text(st, 1));
		bs->size = (uint64_t)sqlite3_column_int64(st, 2);
		bs->received = (uint64_t)sqlite3_column_int64(st, 3);
		bs->completed = (time_t)sqlite3_column_int64(st, 4);
	} else if (rc != SQLITE_DONE)
		sq_err(s);
	stmt_done(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
sq_bundle_chunk_add(struct store *s, const char *id, uint64_t offset,
    const void *data, size_t len)
{
	return chunk_put(s, ST_BUNDLE_CHUNK_ADD, id, offset, data, len);
}

static int
sq_bundle_mark(struct store *s, const char *id, uint64_t received,
    time_t completed)
{
	sqlite3_stmt *st = stmt_get(s, ST_BUNDLE_MARK);

	return run_bound(s, st, bind_text(st, 1, id) == -1 ||
	    bind_int(st, 2, (int64_t)received) == -1 ||
	    bind_int(st, 3, (int64_t)completed) == -1 ? -1 : 0);
}

static int
sq_bundle_chunks_delete(struct store *s, const char *id)
{
	sqlite3_stmt *st = stmt_get(s, ST_BUNDLE_CHUNKS_DELETE);

	return run_bound(s, st, bind_text(st, 1, id));
}

/* Up to max bytes from offset, out of the chunk that holds it. */
static int
chunk_read(struct store *s, enum stmt k, const char *key, uint64_t offset,
    void *buf, size_t max, size_t *n)
{
	sqlite3_stmt	*st = stmt_get(s, k);
	const void	*data;
	int64_t		 start;
	size_t		 len, skip;
	int		 rc;

	if (bind_text(st, 1, key) == -1 ||
	    bind_int(st, 2, (int64_t)offset) == -1) {
		stmt_done(st);
		return sq_err(s);
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		start = sqlite3_column_int64(st, 0);
		data = sqlite3_column_blob(st, 1);
		len = (size_t)sqlite3_column_bytes(st, 1);
		skip = (size_t)(offset - (uint64_t)start);
		/* A hole between chunks reads as nothing: the caller stops. */
		if (data != NULL && skip < len) {
			*n = len - skip < max ? len - skip : max;
			memcpy(buf, (const char *)data + skip, *n);
		}
	} else if (rc != SQLITE_DONE)
		sq_err(s);
	stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int
sq_bundle_chunk(struct store *s, const char *id, uint64_t offset, void *buf,
    size_t max, size_t *n)
{
	return chunk_read(s, ST_BUNDLE_CHUNK_GET, id, offset, buf, max, n);
}

static int
sq_package_chunk(struct store *s, const char *sha256, uint64_t offset,
    void *buf, size_t max, size_t *n)
{
	return chunk_read(s, ST_CHUNK_GET, sha256, offset, buf, max, n);
}

struct bundle_visit {
	store_bundle_fn	 fn;
	void		*arg;
};

static int
bundle_visit(sqlite3_stmt *st, void *arg)
{
	struct bundle_visit	*v = arg;
	struct store_bundle	 b;

	b.id = col_text(st, 0);
	b.cluster = col_text(st, 1);
	b.sha256 = col_text(st, 2);
	b.size = (uint64_t)sqlite3_column_int64(st, 3);
	b.source = col_text(st, 4);
	b.requested_by = col_text(st, 5);
	b.ticket = col_text(st, 6);
	b.message_id = sqlite3_column_int64(st, 7);
	b.summary = col_text(st, 8);
	b.created = (time_t)sqlite3_column_int64(st, 9);
	b.received = (uint64_t)sqlite3_column_int64(st, 10);
	b.started = (time_t)sqlite3_column_int64(st, 11);
	b.completed = (time_t)sqlite3_column_int64(st, 12);
	return v->fn(&b, v->arg);
}

static int
sq_bundle_rows(struct store *s, const char *cluster, const char *id,
    store_bundle_fn fn, void *arg)
{
	struct bundle_visit	 v = { fn, arg };
	sqlite3_stmt		*st = stmt_get(s, ST_BUNDLE_LIST);

	if (bind_text(st, 1, cluster) == -1 || bind_text(st, 2, id) == -1) {
		sq_err(s);
		stmt_done(st);
		return STORE_DB_ERROR;
	}
	return rows(s, st, bundle_visit, &v);
}

struct relay_visit {
	store_relay_fn	 fn;
	void		*arg;
};

static int
relay_visit(sqlite3_stmt *st, void *arg)
{
	struct relay_visit	*v = arg;
	struct store_relay_row	 r;

	r.relay = col_text(st, 0);
	r.since = (time_t)sqlite3_column_int64(st, 1);
	r.seen = (time_t)sqlite3_column_int64(st, 2);
	return v->fn(&r, v->arg);
}

static int
sq_cluster_relays(struct store *s, const char *cluster, store_relay_fn fn,
    void *arg)
{
	struct relay_visit	 v = { fn, arg };
	sqlite3_stmt		*st;

	if ((st = cluster_list(s, ST_CLUSTER_RELAYS, cluster)) == NULL)
		return STORE_DB_ERROR;
	return rows(s, st, relay_visit, &v);
}

struct registry_visit {
	store_registry_fn	 fn;
	void			*arg;
};

static int
registry_visit(sqlite3_stmt *st, void *arg)
{
	struct registry_visit	*v = arg;
	struct store_registry	 r;

	r.id = col_text(st, 0);
	r.key = col_text(st, 1);
	r.trial = strcmp(col_text(st, 2), "trial") == 0;
	r.expires = (time_t)sqlite3_column_int64(st, 3);
	r.overage = sqlite3_column_int(st, 4) != 0;
	r.added = (time_t)sqlite3_column_int64(st, 5);
	r.removed = (time_t)sqlite3_column_int64(st, 6);
	r.change = sqlite3_column_int64(st, 7);
	return v->fn(&r, v->arg);
}

/* Is there an entry (removed ones included)?  1, 0, or -1. */
static int
registry_has(struct store *s, const char *id, int *removed)
{
	sqlite3_stmt	*st = stmt_get(s, ST_REG_GET);
	int		 rc;

	if (bind_text(st, 1, id) == -1) {
		stmt_done(st);
		return sq_err(s);
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*removed = sqlite3_column_int64(st, 6) != 0;
	else if (rc != SQLITE_DONE)
		sq_err(s);
	stmt_done(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
sq_registry_put(struct store *s, const struct store_registry *r,
    int replace, time_t now)
{
	sqlite3_stmt	*st;
	int		 had, removed = 0;

	if ((had = registry_has(s, r->id, &removed)) == -1)
		return -1;
	had = had && !removed;
	if (had && !replace)
		return 2;
	st = stmt_get(s, ST_REG_PUT);
	if (run_bound(s, st, bind_text(st, 1, r->id) == -1 ||
	    bind_text(st, 2, r->key) == -1 ||
	    bind_text(st, 3, r->trial ? "trial" : "full") == -1 ||
	    bind_int(st, 4, r->expires) == -1 ||
	    bind_int(st, 5, r->overage ? 1 : 0) == -1 ||
	    bind_int(st, 6, now) == -1 ? -1 : 0) == -1)
		return -1;
	return had;
}

static int
sq_registry_remove(struct store *s, const char *id, time_t now)
{
	sqlite3_stmt *st = stmt_get(s, ST_REG_REMOVE);

	if (run_bound(s, st, bind_text(st, 1, id) == -1 ||
	    bind_int(st, 2, now) == -1 ? -1 : 0) == -1)
		return -1;
	return sqlite3_changes(SQ(s)->db) > 0 ? 1 : 0;
}

/* The entry only if it is in the registry (not removed). */
struct registry_one {
	store_registry_fn	 fn;
	void			*arg;
	int			 found;
};

static int
registry_one(const struct store_registry *r, void *arg)
{
	struct registry_one *o = arg;

	if (r->removed != 0)
		return 0;
	o->found = 1;
	return o->fn(r, o->arg);
}

static int
sq_registry_get(struct store *s, const char *id, store_registry_fn fn,
    void *arg)
{
	struct registry_one	 o = { fn, arg, 0 };
	struct registry_visit	 v = { registry_one, &o };
	sqlite3_stmt		*st;

	if ((st = cluster_list(s, ST_REG_GET, id)) == NULL ||
	    rows(s, st, registry_visit, &v) != 0)
		return -1;
	return o.found;
}

static int
sq_registry_changes(struct store *s, int64_t after, store_registry_fn fn,
    void *arg)
{
	struct registry_visit	 v = { fn, arg };
	sqlite3_stmt		*st = stmt_get(s, ST_REG_CHANGES);

	if (bind_int(st, 1, after) == -1) {
		sq_err(s);
		stmt_done(st);
		return STORE_DB_ERROR;
	}
	return rows(s, st, registry_visit, &v);
}

static int
sq_registry_rows(struct store *s, store_registry_fn fn, void *arg)
{
	struct registry_visit v = { fn, arg };

	return rows(s, stmt_get(s, ST_REG_LIST), registry_visit, &v);
}

static int
sq_usage_range(struct store *s, const char *cluster, time_t since,
    time_t until, store_usage_fn fn, void *arg)
{
	struct usage_visit	 v = { fn, arg };
	sqlite3_stmt		*st;

	if ((st = cluster_list(s, ST_USAGE_RANGE, cluster)) == NULL)
		return STORE_DB_ERROR;
	if (bind_int(st, 2, since) == -1 || bind_int(st, 3, until) == -1) {
		sq_err(s);
		stmt_done(st);
		return STORE_DB_ERROR;
	}
	return rows(s, st, usage_visit, &v);
}

struct node_visit {
	store_node_fn	 fn;
	void		*arg;
};

static int
node_visit(sqlite3_stmt *st, void *arg)
{
	struct node_visit	*v = arg;
	struct store_node_row	 r;

	r.node = col_text(st, 0);
	r.seq = sqlite3_column_int64(st, 1);
	r.ts = (time_t)sqlite3_column_int64(st, 2);
	r.body = col_text(st, 3);
	return v->fn(&r, v->arg);
}

static int
sq_node_rows(struct store *s, const char *cluster, store_node_fn fn,
    void *arg)
{
	struct node_visit	 v = { fn, arg };
	sqlite3_stmt		*st;

	if ((st = cluster_list(s, ST_NODE_LIST, cluster)) == NULL)
		return STORE_DB_ERROR;
	return rows(s, st, node_visit, &v);
}

static int
sq_node_put(struct store *s, const char *cluster,
    const struct store_node_row *r)
{
	sqlite3_stmt *st = stmt_get(s, ST_NODE_PUT);

	return run_bound(s, st, bind_text(st, 1, cluster) == -1 ||
	    bind_text(st, 2, r->node) == -1 || bind_int(st, 3, r->seq) == -1 ||
	    bind_int(st, 4, r->ts) == -1 || bind_text(st, 5, r->body) == -1 ?
	    -1 : 0);
}

static int
sq_node_delete(struct store *s, const char *cluster, const char *node)
{
	sqlite3_stmt *st = stmt_get(s, ST_NODE_DELETE);

	return run_bound(s, st, bind_text(st, 1, cluster) == -1 ||
	    bind_text(st, 2, node) == -1 ? -1 : 0);
}

struct service_visit {
	store_service_fn	 fn;
	void			*arg;
};

static int
service_visit(sqlite3_stmt *st, void *arg)
{
	struct service_visit		*v = arg;
	struct store_service_row	 r;

	r.name = col_text(st, 0);
	r.seq = sqlite3_column_int64(st, 1);
	r.ts = (time_t)sqlite3_column_int64(st, 2);
	r.down = sqlite3_column_int64(st, 3);
	r.body = col_text(st, 4);
	return v->fn(&r, v->arg);
}

static int
sq_service_rows(struct store *s, const char *cluster, store_service_fn fn,
    void *arg)
{
	struct service_visit	 v = { fn, arg };
	sqlite3_stmt		*st;

	if ((st = cluster_list(s, ST_SERVICE_LIST, cluster)) == NULL)
		return STORE_DB_ERROR;
	return rows(s, st, service_visit, &v);
}

static int
sq_service_put(struct store *s, const char *cluster,
    const struct store_service_row *r)
{
	sqlite3_stmt *st = stmt_get(s, ST_SERVICE_PUT);

	return run_bound(s, st, bind_text(st, 1, cluster) == -1 ||
	    bind_text(st, 2, r->name) == -1 || bind_int(st, 3, r->seq) == -1 ||
	    bind_int(st, 4, r->ts) == -1 || bind_int(st, 5, r->down) == -1 ||
	    bind_text(st, 6, r->body) == -1 ? -1 : 0);
}

/* A time column that may be NULL (0). */
static time_t
col_time(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 :
	    (time_t)sqlite3_column_int64(st, i);
}

/* A time that may be none (0): SQL's NULL. */
static int
bind_time(sqlite3_stmt *st, int i, time_t t)
{
	if (t == 0)
		return sqlite3_bind_null(st, i) == SQLITE_OK ? 0 : -1;
	return bind_int(st, i, t);
}

struct alert_visit {
	store_alert_fn	 fn;
	void		*arg;
	const char	*cluster;	/* when the query has no column */
};

/* Columns: id, [cluster,] rule, subject, severity, text, times... */
static int
alert_visit(sqlite3_stmt *st, void *arg)
{
	struct alert_visit	*v = arg;
	struct store_alert	 a;
	int			 c = v->cluster == NULL ? 2 : 1;

	a.id = sqlite3_column_int64(st, 0);
	a.cluster = v->cluster != NULL ? v->cluster : col_text(st, 1);
	a.rule = col_text(st, c);
	a.subject = col_text(st, c + 1);
	a.severity = col_text(st, c + 2);
	a.text = col_text(st, c + 3);
	a.first_seen = col_time(st, c + 4);
	a.last_seen = col_time(st, c + 5);
	a.raised = col_time(st, c + 6);
	a.cleared = col_time(st, c + 7);
	return v->fn(&a, v->arg);
}

static int
sq_alert_open_rows(struct store *s, const char *cluster, store_alert_fn fn,
    void *arg)
{
	struct alert_visit	 v = { fn, arg, cluster };
	sqlite3_stmt		*st;

	if ((st = cluster_list(s, ST_ALERT_OPEN, cluster)) == NULL)
		return STORE_DB_ERROR;
	return rows(s, st, alert_visit, &v);
}

static int
sq_alert_rows(struct store *s, const char *cluster, store_alert_fn fn,
    void *arg)
{
	struct alert_visit	 v = { fn, arg, NULL };
	sqlite3_stmt		*st = stmt_get(s, ST_ALERT_LIST);

	if (cluster != NULL && bind_text(st, 1, cluster) == -1) {
		sq_err(s);
		stmt_done(st);
		return STORE_DB_ERROR;
	}
	return rows(s, st, alert_visit, &v);
}

static int
sq_alert_get(struct store *s, int64_t id, store_alert_fn fn, void *arg)
{
	struct alert_visit	 v = { fn, arg, NULL };
	sqlite3_stmt		*st = stmt_get(s, ST_ALERT_GET);

	if (bind_int(st, 1, id) == -1) {
		sq_err(s);
		stmt_done(st);
		return STORE_DB_ERROR;
	}
	return rows(s, st, alert_visit, &v);
}

static int
sq_alert_put(struct store *s, const struct store_alert *a, int64_t *id,
    time_t *first, time_t *raised)
{
	sqlite3_stmt	*st = stmt_get(s, ST_ALERT_UPSERT);
	int		 rc;

	if (run_bound(s, st, bind_text(st, 1, a->cluster) == -1 ||
	    bind_text(st, 2, a->rule) == -1 ||
	    bind_text(st, 3, a->subject) == -1 ||
	    bind_text(st, 4, a->severity) == -1 ||
	    bind_text(st, 5, a->text) == -1 ||
	    bind_int(st, 6, a->first_seen) == -1 ||
	    bind_int(st, 7, a->last_seen) == -1 ||
	    bind_time(st, 8, a->raised) == -1 ? -1 : 0) == -1)
		return -1;
	st = stmt_get(s, ST_ALERT_FIND);
	if (bind_text(st, 1, a->cluster) == -1 ||
	    bind_text(st, 2, a->rule) == -1 ||
	    bind_text(st, 3, a->subject) == -1) {
		stmt_done(st);
		return sq_err(s);
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		*first = col_time(st, 1);
		*raised = col_time(st, 2);
	} else if (rc == SQLITE_DONE)
		store_be_error(s, "the alert stored is not there");
	else
		sq_err(s);
	stmt_done(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int
sq_alert_clear(struct store *s, int64_t id, time_t when)
{
	sqlite3_stmt *st = stmt_get(s, ST_ALERT_CLEAR);

	if (run_bound(s, st, bind_int(st, 1, id) == -1 ||
	    bind_int(st, 2, when) == -1 ? -1 : 0) == -1)
		return -1;
	return sqlite3_changes(SQ(s)->db) > 0 ? 1 : 0;
}

static int
sq_alert_drop(struct store *s, int64_t id)
{
	sqlite3_stmt *st = stmt_get(s, ST_ALERT_DROP);

	return run_bound(s, st, bind_int(st, 1, id) == -1 ? -1 : 0);
}

static int
sq_alert_prune(struct store *s, time_t before)
{
	sqlite3_stmt *st = stmt_get(s, ST_ALERT_PRUNE);

	return run_bound(s, st, bind_int(st, 1, before) == -1 ? -1 : 0);
}

struct offline_visit {
	store_offline_fn	 fn;
	void			*arg;
};

static int
offline_visit(sqlite3_stmt *st, void *arg)
{
	struct offline_visit *v = arg;

	return v->fn(col_text(st, 0), (time_t)sqlite3_column_int64(st, 1),
	    v->arg);
}

static int
sq_offline_rows(struct store *s, time_t alive, time_t before,
    store_offline_fn fn, void *arg)
{
	struct offline_visit	 v = { fn, arg };
	sqlite3_stmt		*st = stmt_get(s, ST_OFFLINE_LIST);

	if (bind_int(st, 1, before) == -1 || bind_int(st, 2, alive) == -1) {
		sq_err(s);
		stmt_done(st);
		return STORE_DB_ERROR;
	}
	return rows(s, st, offline_visit, &v);
}

/*
 * The bytes of cluster's bundles (bundle_fits in store.c).  Prepared
 * here rather than kept with the other statements: it runs once per
 * new bundle.  SQLite has one writer, and the front's BEGIN IMMEDIATE
 * holds it, so nothing is added meanwhile.
 */
static int
sq_bundle_usage(struct store *s, const char *cluster, uint64_t *bytes)
{
	sqlite3_stmt	*st = NULL;
	int		 rc = -1;

	*bytes = 0;
	if (sqlite3_prepare_v2(SQ(s)->db, "SELECT coalesce(sum(size), 0)"
	    " FROM bundles WHERE cluster = ?1", -1, &st, NULL) != SQLITE_OK ||
	    bind_text(st, 1, cluster) == -1 ||
	    sqlite3_step(st) != SQLITE_ROW) {
		sq_err(s);
		goto out;
	}
	*bytes = (uint64_t)sqlite3_column_int64(st, 0);
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* Bundle id's chunks, then its row (porthole-relay bundle remove). */
static int
sq_bundle_delete(struct store *s, const char *id)
{
	static const char *const sql[] = {
		"DELETE FROM bundle_chunks WHERE bundle = ?1",
		"DELETE FROM bundles WHERE id = ?1",
	};
	sqlite3_stmt	*st;
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		st = NULL;
		rc = sqlite3_prepare_v2(SQ(s)->db, sql[i], -1, &st, NULL) !=
		    SQLITE_OK || bind_text(st, 1, id) == -1 ||
		    sqlite3_step(st) != SQLITE_DONE ? -1 : 0;
		if (rc == -1)
			sq_err(s);
		sqlite3_finalize(st);
		if (rc == -1)
			return -1;
	}
	return 0;
}

const struct store_ops store_sqlite_ops = {
	.engine =		"SQLite",
	.open =			sq_open,
	.close =		sq_close,
	.begin =		sq_begin,
	.commit =		sq_commit,
	.rollback =		sq_rollback,
	.cluster_add =		sq_cluster_add,
	.cluster_lock =		sq_cluster_lock,
	.cluster_seen =		sq_cluster_seen,
	.relay_started =	sq_relay_started,
	.relay_seen =		sq_relay_seen,
	.relay_down =		sq_relay_down,
	.connection =		sq_connection,
	.cluster_relays =	sq_cluster_relays,
	.registry_put =		sq_registry_put,
	.registry_remove =	sq_registry_remove,
	.registry_get =		sq_registry_get,
	.registry_changes =	sq_registry_changes,
	.registry_rows =	sq_registry_rows,
	.last_seq =		sq_last_seq,
	.records =		sq_records,
	.advance =		sq_advance,
	.cluster_get =		sq_cluster_get,
	.record_count =		sq_record_count,
	.health_counts =	sq_health_counts,
	.host_key =		sq_host_key,
	.anchor_other =		sq_anchor_other,
	.anchor_add =		sq_anchor_add,
	.usage_rows =		sq_usage_rows,
	.usage_range =		sq_usage_range,
	.event_rows =		sq_event_rows,
	.anchor_rows =		sq_anchor_rows,
	.message_add =		sq_message_add,
	.message_max =		sq_message_max,
	.messages_pending =	sq_messages_pending,
	.delivery_offered =	sq_delivery_offered,
	.delivery_acked =	sq_delivery_acked,
	.delivery_rows =	sq_delivery_rows,
	.chunks_delete =	sq_chunks_delete,
	.chunk_add =		sq_chunk_add,
	.package_size =		sq_package_size,
	.package_chunk =	sq_package_chunk,
	.node_rows =		sq_node_rows,
	.node_put =		sq_node_put,
	.node_delete =		sq_node_delete,
	.service_rows =		sq_service_rows,
	.service_put =		sq_service_put,
	.alert_open_rows =	sq_alert_open_rows,
	.alert_rows =		sq_alert_rows,
	.alert_get =		sq_alert_get,
	.alert_put =		sq_alert_put,
	.alert_clear =		sq_alert_clear,
	.alert_drop =		sq_alert_drop,
	.alert_prune =		sq_alert_prune,
	.offline_rows =		sq_offline_rows,
	.bundle_add =		sq_bundle_add,
	.bundle_state =		sq_bundle_state,
	.bundle_chunk_add =	sq_bundle_chunk_add,
	.bundle_mark =		sq_bundle_mark,
	.bundle_chunks_delete =	sq_bundle_chunks_delete,
	.bundle_chunk =		sq_bundle_chunk,
	.bundle_rows =		sq_bundle_rows,
	.bundle_usage =		sq_bundle_usage,
	.bundle_delete =	sq_bundle_delete,
};
