/*
 * store_pg.c - the store's PostgreSQL backend (libpq), which the relays
 * of a fleet share (store_int.h says what each method does).
 *
 * Several relays write at once, so what SQLite gets from being the only
 * writer is asked of the database here: a record's (cluster, seq) key
 * is inserted with ON CONFLICT DO NOTHING, so a batch that two relays
 * store at the same time is applied once, by whichever inserted the
 * key; a batch first locks its cluster's row (SELECT ... FOR UPDATE),
 * so two relays storing the same cluster's records take turns and
 * last_seq only grows; message ids are handed out under a table lock,
 * so they commit in the order they were given.  The schema is created
 * and migrated under an advisory lock, so relays starting together on
 * an empty database create it once.  The SQL is plain: tables, keys,
 * unnest() of bound arrays, no extension.
 *
 * Every statement is prepared once per connection and every value is
 * bound.  A batch goes in as a few statements whatever its size: its
 * keys, usage rows, events and health snapshots each as bound arrays
 * (a multi-row INSERT ... SELECT FROM unnest($n)).
 *
 * The database may go away while the relay runs (a restart, a failover
 * to the standby, the network).  Sessions do not need it, so the relay
 * must not wait for it: a lost connection is dropped and a new one is
 * started without blocking (PQconnectStartParams, stepped with
 * PQconnectPoll only when its socket is ready), tried again after 1 s,
 * 2 s, ... up to PG_BACKOFF_MAX_MS; meanwhile every call fails at once
 * with the reason, so batches are refused and wait in the gateways'
 * spools.  Commands (reports, cluster add) connect with a blocking
 * PQconnectdbParams instead and fail if they cannot.
 */
#include "relay/store_int.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "relay/store_uri.h"

#define PG_BACKOFF_MIN_MS	1000
#define PG_BACKOFF_MAX_MS	30000
#define PG_CONNECT_MS		10000	/* a connection attempt's bound */
#define PG_REPEAT_S		300	/* "still unavailable" this often */
#define PG_MAXPARAMS		11
#define PG_LOCK_WAIT		"5s"	/* lock_timeout of the relay's sessions */
/*
 * The key of the advisory lock the schema is created and migrated
 * under: "porthole" in ASCII, so that it is unlikely to meet another
 * program's lock in a shared database.
 */
#define PG_SCHEMA_LOCK		"8102950432493528421"

/* The prepared statements, one per thing the store does. */
enum pst {
	P_CLUSTER_ADD,
	P_CLUSTER_SEEN,
	P_CLUSTER_GET,
	P_CLUSTER_LOCK,
	P_CLUSTER_ADVANCE,
	P_LAST_SEQ,
	P_RECORD_KEYS,
	P_RECORD_NEW,
	P_CLUSTER_RAISE,
	P_RECORD_COUNT,
	P_USAGE_CLEAR,
	P_USAGE_SET,
	P_USAGE_LIST,
	P_HEALTH_ADD,
	P_HEALTH_PRUNE,
	P_EVENT_ADD,
	P_EVENT_LIST,
	P_ANCHOR_OTHER,
	P_ANCHOR_ADD,
	P_ANCHOR_LIST,
	P_HOST_KEY,
	P_MSG_LOCK,
	P_MSG_ADD,
	P_MSG_MAX,
	P_MSG_PENDING,
	P_MSG_KIND,
	P_DELIVERY_OFFERED,
	P_DELIVERY_ACKED,
	P_CHUNK_DELETE,
	P_CHUNK_ADD,
	P_CHUNK_GET,
	P_PACKAGE_SIZE,
	P_RELAY_UP,
	P_RELAY_SEEN,
	P_RELAY_DOWN,
	P_CONN_CLEAR,
	P_CONN_ADD,
	P_CONN_DEL,
	P_CONNECTED_ALL,
	P_CONNECTED_ONE,
	P_CLUSTER_RELAYS,
	P_REG_LOCK,
	P_REG_GET,
	P_REG_PUT,
	P_REG_REMOVE,
	P_REG_CHANGES,
	P_REG_LIST,
	P_USAGE_RANGE,
	P_NODE_LIST,
	P_NODE_PUT,
	P_NODE_DELETE,
	P_SERVICE_LIST,
	P_SERVICE_PUT,
	P_HEALTH_COUNTS,
	P_ALERT_OPEN,
	P_ALERT_UPSERT,
	P_ALERT_CLEAR,
	P_ALERT_DROP,
	P_ALERT_GET,
	P_ALERT_LIST,
	P_ALERT_PRUNE,
	P_OFFLINE_LIST,
	P_BUNDLE_ADD,
	P_BUNDLE_STATE,
	P_BUNDLE_MARK,
	P_BUNDLE_CHUNK_ADD,
	P_BUNDLE_CHUNK_GET,
	P_BUNDLE_CHUNKS_DELETE,
	P_BUNDLE_LIST,
	P__COUNT
};

static const char *const pst_sql[P__COUNT] = {
	[P_CLUSTER_ADD] =
	    "INSERT INTO clusters (id, first_seen, last_contact, connected,"
	    " last_seq) VALUES ($1, $2, $2, 0, 0)"
	    " ON CONFLICT (id) DO NOTHING",
	[P_CLUSTER_SEEN] =
	    "INSERT INTO clusters (id, first_seen, last_contact, connected,"
	    " version, last_seq) VALUES ($1, $2, $2, $3, $4, 0)"
	    " ON CONFLICT (id) DO UPDATE SET"
	    " last_contact = excluded.last_contact,"
	    " connected = excluded.connected,"
	    " version = coalesce(excluded.version, clusters.version)",
	[P_CLUSTER_GET] =
	    "SELECT first_seen, last_contact, connected, version, last_seq,"
	    " host_key FROM clusters WHERE id = $1",
	/* Other relays' batches for this cluster wait until we commit. */
	[P_CLUSTER_LOCK] =
	    "SELECT last_seq FROM clusters WHERE id = $1 FOR UPDATE",
	[P_CLUSTER_ADVANCE] =
	    "UPDATE clusters SET last_seq = $2, last_contact = $3"
	    " WHERE id = $1",
	[P_LAST_SEQ] = "SELECT last_seq FROM clusters WHERE id = $1",
	/* The keys that were new come back: only those are applied. */
	[P_RECORD_KEYS] =
	    "INSERT INTO records (cluster, seq, class, received)"
	    " SELECT $1, k.seq, k.class, $4"
	    " FROM unnest($2::bigint[], $3::text[]) AS k (seq, class)"
	    " ON CONFLICT (cluster, seq) DO NOTHING RETURNING seq",
	/*
	 * A batch sent whole (pg_batch_send): its keys are new, or the
	 * primary key fails the transaction.
	 */
	[P_RECORD_NEW] =
	    "INSERT INTO records (cluster, seq, class, received)"
	    " SELECT $1, k.seq, k.class, $4"
	    " FROM unnest($2::bigint[], $3::text[]) AS k (seq, class)",
	[P_CLUSTER_RAISE] =
	    "UPDATE clusters SET last_seq = greatest(last_seq, $2),"
	    " last_contact = $3 WHERE id = $1 RETURNING last_seq",
	[P_RECORD_COUNT] = "SELECT count(*) FROM records WHERE cluster = $1",
	/*
	 * A usage record is the total of its hour and environment: a later
	 * one replaces it, units and all, and is never added to it.  The
	 * rows to go are found pair by pair through the primary key (the
	 * OFFSET 0 keeps the planner from turning the LATERAL probe into a
	 * join of its choosing): left to choose, it read and hashed every
	 * usage row of the cluster when its statistics were older than the
	 * table, or compared every row of the batch's hours with every pair,
	 * and a drain became quadratic in what the store holds.
	 */
	[P_USAGE_CLEAR] =
	    "DELETE FROM usage WHERE ctid = ANY (ARRAY("
	    " SELECT u.ctid FROM unnest($2::bigint[], $3::text[]) AS k (hour, env),"
	    " LATERAL (SELECT ctid FROM usage WHERE cluster = $1"
	    " AND hour = k.hour AND environment = k.env OFFSET 0) AS u))",
	[P_USAGE_SET] =
	    "INSERT INTO usage (cluster, hour, environment, unit, amount)"
	    " SELECT $1, u.hour, u.env, u.unit, u.amount"
	    " FROM unnest($2::bigint[], $3::text[], $4::text[],"
	    " $5::double precision[]) AS u (hour, env, unit, amount)",
	[P_USAGE_LIST] =
	    "SELECT hour, environment, unit, amount FROM usage"
	    " WHERE cluster = $1 ORDER BY hour, environment, unit",
	[P_HEALTH_ADD] =
	    "INSERT INTO health (cluster, seq, ts, snapshot)"
	    " SELECT $1, h.seq, h.ts, h.snapshot"
	    " FROM unnest($2::bigint[], $3::text[], $4::text[])"
	    " AS h (seq, ts, snapshot)",
	/* Everything at or below the (KEEP+1)th newest goes. */
	[P_HEALTH_PRUNE] =
	    "DELETE FROM health WHERE cluster = $1 AND seq <= (SELECT seq"
	    " FROM health WHERE cluster = $1 ORDER BY seq DESC"
	    " LIMIT 1 OFFSET $2)",
	[P_EVENT_ADD] =
	    "INSERT INTO events (cluster, seq, ts, type, body)"
	    " SELECT $1, e.seq, e.ts, e.type, e.body"
	    " FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[])"
	    " AS e (seq, ts, type, body)",
	[P_EVENT_LIST] =
	    "SELECT ts, type, seq, body FROM events WHERE cluster = $1"
	    " ORDER BY seq",
	[P_ANCHOR_OTHER] =
	    "SELECT head FROM anchors WHERE cluster = $1 AND epoch = $2"
	    " AND seq = $3 AND head <> $4 LIMIT 1",
	[P_ANCHOR_ADD] =
	    "INSERT INTO anchors (cluster, epoch, seq, head, received)"
	    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
	[P_ANCHOR_LIST] =
	    "SELECT epoch, seq, head, received FROM anchors"
	    " WHERE cluster = $1 ORDER BY seq, epoch",
	[P_HOST_KEY] = "UPDATE clusters SET host_key = $2 WHERE id = $1",
	/*
	 * Ids come from a sequence, which hands them out in the order asked,
	 * not in the order their transactions commit: two publishers could
	 * commit 8 before 7, and a relay that polled in between would take
	 * 8 as the newest and never offer 7.  Under this lock (held to the
	 * commit) the next id is taken only once the previous one is in.
	 */
	[P_MSG_LOCK] = "LOCK TABLE messages IN EXCLUSIVE MODE",
	[P_MSG_ADD] =
	    "INSERT INTO messages (cluster, kind, body, created)"
	    " VALUES ($1, $2, $3, $4) RETURNING id",
	[P_MSG_MAX] = "SELECT coalesce(max(id), 0) FROM messages",
	/* Addressed to the cluster or to all, and not yet acknowledged. */
	[P_MSG_PENDING] =
	    "SELECT id, kind, body, created FROM messages m"
	    " WHERE (m.cluster IS NULL OR m.cluster = $1) AND m.id > $2"
	    " AND NOT EXISTS (SELECT 1 FROM deliveries d"
	    " WHERE d.message_id = m.id AND d.cluster = $1 AND d.acked <> 0)"
	    " ORDER BY m.id LIMIT $3",
	[P_MSG_KIND] =
	    "SELECT m.id, m.body, m.created, d.offered, d.acked, d.result"
	    " FROM messages m LEFT JOIN deliveries d"
	    " ON d.message_id = m.id AND d.cluster = $1"
	    " WHERE (m.cluster IS NULL OR m.cluster = $1) AND m.kind = $2"
	    " ORDER BY m.id",
	[P_DELIVERY_OFFERED] =
	    "INSERT INTO deliveries (message_id, cluster, offered, acked)"
	    " VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING",
	/* The first answer stands: a late duplicate changes nothing. */
	[P_DELIVERY_ACKED] =
	    "UPDATE deliveries SET acked = $3, result = $4"
	    " WHERE message_id = $1 AND cluster = $2 AND acked = 0",
	[P_CHUNK_DELETE] = "DELETE FROM package_chunks WHERE sha256 = $1",
	[P_CHUNK_ADD] =
	    "INSERT INTO package_chunks (sha256, \"offset\", data)"
	    " VALUES ($1, $2, $3)",
	[P_CHUNK_GET] =
	    "SELECT \"offset\", data FROM package_chunks"
	    " WHERE sha256 = $1 AND \"offset\" <= $2"
	    " ORDER BY \"offset\" DESC LIMIT 1",
	[P_PACKAGE_SIZE] =
	    "SELECT \"offset\" + length(data) FROM package_chunks"
	    " WHERE sha256 = $1 ORDER BY \"offset\" DESC LIMIT 1",
	[P_BUNDLE_ADD] =
	    "INSERT INTO bundles (id, cluster, sha256, size, source,"
	    " requested_by, ticket, message_id, summary, created, started,"
	    " received, completed)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, 0)"
	    " ON CONFLICT (id) DO NOTHING",
	/*
	 * Held until the transaction ends: two relays storing pieces of
	 * the same bundle (a tunnel that moved) take turns.
	 */
	[P_BUNDLE_STATE] =
	    "SELECT cluster, sha256, size, received, completed FROM bundles"
	    " WHERE id = $1 FOR UPDATE",
	[P_BUNDLE_MARK] =
	    "UPDATE bundles SET received = $2, completed = $3 WHERE id = $1",
	[P_BUNDLE_CHUNK_ADD] =
	    "INSERT INTO bundle_chunks (bundle, \"offset\", data)"
	    " VALUES ($1, $2, $3)",
	[P_BUNDLE_CHUNK_GET] =
	    "SELECT \"offset\", data FROM bundle_chunks"
	    " WHERE bundle = $1 AND \"offset\" <= $2"
	    " ORDER BY \"offset\" DESC LIMIT 1",
	[P_BUNDLE_CHUNKS_DELETE] =
	    "DELETE FROM bundle_chunks WHERE bundle = $1",
	[P_BUNDLE_LIST] =
	    "SELECT id, cluster, sha256, size, source, requested_by, ticket,"
	    " message_id, summary, created, received, started, completed"
	    " FROM bundles WHERE ($1::text IS NULL OR cluster = $1)"
	    " AND ($2::text IS NULL OR id = $2) ORDER BY started DESC, id",
	[P_RELAY_UP] =
	    "INSERT INTO relays (name, started, seen) VALUES ($1, $2, $2)"
	    " ON CONFLICT (name) DO UPDATE SET started = excluded.started,"
	    " seen = excluded.seen",
	[P_RELAY_SEEN] = "UPDATE relays SET seen = $2 WHERE name = $1",
	[P_RELAY_DOWN] = "DELETE FROM relays WHERE name = $1",
	[P_CONN_CLEAR] = "DELETE FROM connections WHERE relay = $1",
	[P_CONN_ADD] =
	    "INSERT INTO connections (cluster, relay, since) VALUES ($1, $2, $3)"
	    " ON CONFLICT (cluster, relay) DO UPDATE SET since = excluded.since",
	[P_CONN_DEL] =
	    "DELETE FROM connections WHERE cluster = $1 AND relay = $2",
	/* A cluster is connected while some relay has its tunnel. */
	[P_CONNECTED_ALL] =
	    "UPDATE clusters SET connected = CASE WHEN EXISTS (SELECT 1"
	    " FROM connections WHERE cluster = clusters.id) THEN 1 ELSE 0 END"
	    " WHERE connected <> 0",
	[P_CONNECTED_ONE] =
	    "UPDATE clusters SET connected = CASE WHEN EXISTS (SELECT 1"
	    " FROM connections WHERE cluster = $1) THEN 1 ELSE 0 END"
	    " WHERE id = $1",
	[P_CLUSTER_RELAYS] =
	    "SELECT c.relay, c.since, coalesce(r.seen, 0) FROM connections c"
	    " LEFT JOIN relays r ON r.name = c.relay WHERE c.cluster = $1"
	    " ORDER BY c.relay",
	/*
	 * As message ids: a change number is taken only once the change
	 * before it committed, so that a relay polling for the changes
	 * after the last it saw misses none.
	 */
	[P_REG_LOCK] = "LOCK TABLE registry IN EXCLUSIVE MODE",
	[P_REG_GET] =
	    "SELECT id, key, license, expires, overage, added, removed,"
	    " changed FROM registry WHERE id = $1",
	[P_REG_PUT] =
	    "INSERT INTO registry (id, key, license, expires, overage, added,"
	    " removed, changed) VALUES ($1, $2, $3, $4, $5, $6, 0,"
	    " (SELECT coalesce(max(changed), 0) + 1 FROM registry))"
	    " ON CONFLICT (id) DO UPDATE SET key = excluded.key,"
	    " license = excluded.license, expires = excluded.expires,"
	    " overage = excluded.overage, added = excluded.added, removed = 0,"
	    " changed = excluded.changed",
	[P_REG_REMOVE] =
	    "UPDATE registry SET removed = $2, changed = (SELECT max(changed)"
	    " + 1 FROM registry) WHERE id = $1 AND removed = 0",
	[P_REG_CHANGES] =
	    "SELECT id, key, license, expires, overage, added, removed,"
	    " changed FROM registry WHERE changed > $1 ORDER BY changed",
	[P_REG_LIST] =
	    "SELECT id, key, license, expires, overage, added, removed,"
	    " changed FROM registry WHERE removed = 0 ORDER BY id",
	[P_USAGE_RANGE] =
	    "SELECT hour, environment, unit, amount FROM usage"
	    " WHERE cluster = $1 AND hour >= $2 AND hour < $3"
	    " ORDER BY hour, environment, unit",
	[P_NODE_LIST] =
	    "SELECT node, seq, ts, body FROM health_nodes WHERE cluster = $1"
	    " ORDER BY node",
	[P_NODE_PUT] =
	    "INSERT INTO health_nodes (cluster, node, seq, ts, body)"
	    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (cluster, node)"
	    " DO UPDATE SET seq = excluded.seq, ts = excluded.ts,"
	    " body = excluded.body",
	[P_NODE_DELETE] =
	    "DELETE FROM health_nodes WHERE cluster = $1 AND node = $2",
	[P_SERVICE_LIST] =
	    "SELECT name, seq, ts, down, body FROM health_services"
	    " WHERE cluster = $1 ORDER BY name",
	[P_SERVICE_PUT] =
	    "INSERT INTO health_services (cluster, name, seq, ts, down, body)"
	    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (cluster, name)"
	    " DO UPDATE SET seq = excluded.seq, ts = excluded.ts,"
	    " down = excluded.down, body = excluded.body",
	[P_HEALTH_COUNTS] =
	    "SELECT (SELECT count(*) FROM health_nodes WHERE cluster = $1),"
	    " (SELECT count(*) FROM health_services WHERE cluster = $1),"
	    " (SELECT count(*) FROM health_services WHERE cluster = $1"
	    " AND down = 0)",
	[P_ALERT_OPEN] =
	    "SELECT id, rule, subject, severity, text, first_seen, last_seen,"
	    " raised, cleared FROM alerts WHERE cluster = $1"
	    " AND cleared IS NULL ORDER BY id",
	/*
	 * One open alert per (cluster, rule, subject), whichever relay
	 * writes it: the partial unique index decides (a second relay's
	 * insert waits for the first's commit, then updates), and what is
	 * stored comes back, the first writer's first_seen and raised.
	 */
	[P_ALERT_UPSERT] =
	    "INSERT INTO alerts (cluster, rule, subject, severity, text,"
	    " first_seen, last_seen, raised) VALUES ($1, $2, $3, $4, $5, $6,"
	    " $7, $8) ON CONFLICT (cluster, rule, subject)"
	    " WHERE cleared IS NULL DO UPDATE SET severity = excluded.severity,"
	    " text = excluded.text,"
	    " last_seen = greatest(alerts.last_seen, excluded.last_seen),"
	    " raised = coalesce(alerts.raised, excluded.raised)"
	    " RETURNING id, first_seen, raised",
	[P_ALERT_CLEAR] =
	    "UPDATE alerts SET cleared = $2::bigint,"
	    " last_seen = greatest(last_seen, $2::bigint)"
	    " WHERE id = $1 AND raised IS NOT NULL AND cleared IS NULL",
	[P_ALERT_DROP] =
	    "DELETE FROM alerts WHERE id = $1 AND raised IS NULL",
	[P_ALERT_GET] =
	    "SELECT id, cluster, rule, subject, severity, text, first_seen,"
	    " last_seen, raised, cleared FROM alerts WHERE id = $1",
	[P_ALERT_LIST] =
	    "SELECT id, cluster, rule, subject, severity, text, first_seen,"
	    " last_seen, raised, cleared FROM alerts"
	    " WHERE $1::text IS NULL OR cluster = $1::text"
	    " ORDER BY cleared IS NOT NULL, raised IS NULL, id",
	[P_ALERT_PRUNE] =
	    "DELETE FROM alerts WHERE cleared IS NOT NULL AND cleared < $1",
	/* As in the SQLite backend: only live relays' tunnels count. */
	[P_OFFLINE_LIST] =
	    "SELECT id, last_contact FROM clusters c WHERE last_contact <= $1"
	    " AND (connected = 0 OR (EXISTS (SELECT 1 FROM connections"
	    " WHERE cluster = c.id) AND NOT EXISTS (SELECT 1 FROM connections x"
	    " JOIN relays r ON r.name = x.relay WHERE x.cluster = c.id"
	    " AND r.seen >= $2))) ORDER BY id",
};

/*
 * The schema, version by version, as the SQLite backend has it (the
 * same tables and the same version numbers): BIGINT where SQLite has
 * INTEGER, BYTEA for BLOB, an identity column for AUTOINCREMENT.
 */
static const char pg_schema_v1[] =
	"CREATE TABLE clusters ("
	"  id TEXT PRIMARY KEY,"
	"  first_seen BIGINT NOT NULL,"
	"  last_contact BIGINT NOT NULL,"
	"  connected INTEGER NOT NULL,"
	"  version TEXT,"
	"  host_key TEXT,"
	"  last_seq BIGINT NOT NULL);"
	"CREATE TABLE records ("
	"  cluster TEXT NOT NULL REFERENCES clusters (id),"
	"  seq BIGINT NOT NULL,"
	"  class TEXT NOT NULL,"
	"  received BIGINT NOT NULL,"
	"  PRIMARY KEY (cluster, seq));"
	"CREATE TABLE usage ("
	"  cluster TEXT NOT NULL REFERENCES clusters (id),"
	"  hour BIGINT NOT NULL,"
	"  environment TEXT NOT NULL,"
	"  unit TEXT NOT NULL,"
	"  amount DOUBLE PRECISION NOT NULL,"
	"  PRIMARY KEY (cluster, hour, environment, unit));"
	"CREATE TABLE health ("
	"  cluster TEXT NOT NULL REFERENCES clusters (id),"
	"  seq BIGINT NOT NULL,"
	"  ts TEXT NOT NULL,"
	"  snapshot TEXT NOT NULL,"
	"  PRIMARY KEY (cluster, seq));"
	"CREATE TABLE events ("
	"  cluster TEXT NOT NULL REFERENCES clusters (id),"
	"  seq BIGINT NOT NULL,"
	"  ts TEXT NOT NULL,"
	"  type TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  PRIMARY KEY (cluster, seq));"
	"CREATE TABLE anchors ("
	"  cluster TEXT NOT NULL REFERENCES clusters (id),"
	"  epoch BIGINT NOT NULL,"
	"  seq BIGINT NOT NULL,"
	"  head TEXT NOT NULL,"
	"  received BIGINT NOT NULL,"
	"  PRIMARY KEY (cluster, epoch, seq, head));";

static const char pg_schema_v2[] =
	"CREATE TABLE messages ("
	"  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  cluster TEXT,"
	"  kind TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  created BIGINT NOT NULL);"
	"CREATE TABLE deliveries ("
	"  message_id BIGINT NOT NULL REFERENCES messages (id),"
	"  cluster TEXT NOT NULL,"
	"  offered BIGINT NOT NULL,"
	"  acked BIGINT NOT NULL,"
	"  result TEXT,"
	"  PRIMARY KEY (message_id, cluster));"
	"CREATE TABLE package_chunks ("
	"  sha256 TEXT NOT NULL,"
	"  \"offset\" BIGINT NOT NULL,"
	"  data BYTEA NOT NULL,"
	"  PRIMARY KEY (sha256, \"offset\"));";

static const char pg_schema_v3[] =
	"CREATE TABLE health_nodes ("
	"  cluster TEXT NOT NULL REFERENCES clusters (id),"
	"  node TEXT NOT NULL,"
	"  seq BIGINT NOT NULL,"
	"  ts BIGINT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  PRIMARY KEY (cluster, node));"
	"CREATE TABLE health_services ("
	"  cluster TEXT NOT NULL REFERENCES clusters (id),"
	"  name TEXT NOT NULL,"
	"  seq BIGINT NOT NULL,"
	"  ts BIGINT NOT NULL,"
	"  down BIGINT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  PRIMARY KEY (cluster, name));"
	"CREATE TABLE alerts ("
	"  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  cluster TEXT NOT NULL REFERENCES clusters (id),"
	"  rule TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  severity TEXT NOT NULL,"
	"  text TEXT NOT NULL,"
	"  first_seen BIGINT NOT NULL,"
	"  last_seen BIGINT NOT NULL,"
	"  raised BIGINT,"
	"  cleared BIGINT);"
	"CREATE UNIQUE INDEX alerts_open ON alerts (cluster, rule, subject)"
	"  WHERE cleared IS NULL;";

static const char pg_schema_v4[] =
	"CREATE TABLE registry ("
	"  id TEXT PRIMARY KEY,"
	"  key TEXT NOT NULL,"
	"  license TEXT NOT NULL,"
	"  expires BIGINT NOT NULL,"
	"  overage INTEGER NOT NULL,"
	"  added BIGINT NOT NULL,"
	"  removed BIGINT NOT NULL,"
	"  changed BIGINT NOT NULL);"
	"CREATE INDEX registry_changed ON registry (changed);"
	"CREATE TABLE relays ("
	"  name TEXT PRIMARY KEY,"
	"  started BIGINT NOT NULL,"
	"  seen BIGINT NOT NULL);"
	"CREATE TABLE connections ("
	"  cluster TEXT NOT NULL,"
	"  relay TEXT NOT NULL,"
	"  since BIGINT NOT NULL,"
	"  PRIMARY KEY (cluster, relay));";

/* As store_sqlite.c's version 5: the support bundles, in chunks. */
static const char pg_schema_v5[] =
	"CREATE TABLE bundles ("
	"  id TEXT PRIMARY KEY,"
	"  cluster TEXT NOT NULL,"
	"  sha256 TEXT NOT NULL,"
	"  size BIGINT NOT NULL,"
	"  source TEXT NOT NULL,"
	"  requested_by TEXT NOT NULL,"
	"  ticket TEXT NOT NULL,"
	"  message_id BIGINT NOT NULL,"
	"  summary TEXT NOT NULL,"
	"  created BIGINT NOT NULL,"
	"  started BIGINT NOT NULL,"
	"  received BIGINT NOT NULL,"
	"  completed BIGINT NOT NULL);"
	"CREATE TABLE bundle_chunks ("
	"  bundle TEXT NOT NULL REFERENCES bundles (id),"
	"  \"offset\" BIGINT NOT NULL,"
	"  data BYTEA NOT NULL,"
	"  PRIMARY KEY (bundle, \"offset\"));";

/*
 * Version 6: records and usage no longer check their cluster row by row.
 * Those two tables take every record of a drain (a usage record is a
 * key and two usage rows), and each row's foreign-key check is a query
 * of its own inside the server: more than half of what storing a batch
 * cost (tests/bench/fleet.sh, 7t).  The rule they enforced still holds,
 * by construction: the relay writes records and usage only in a batch's
 * transaction, which first inserts its cluster's row if need be and
 * locks it (P_CLUSTER_LOCK, FOR UPDATE) until the commit, and no
 * statement deletes a cluster's row.  The other tables keep theirs:
 * they take a row now and then, not thousands a second.
 */
static const char pg_schema_v6[] =
	"ALTER TABLE records DROP CONSTRAINT IF EXISTS records_cluster_fkey;"
	"ALTER TABLE usage DROP CONSTRAINT IF EXISTS usage_cluster_fkey;";

/* pg_migrations[v] takes a database from schema version v to v + 1. */
static const char *const pg_migrations[STORE_SCHEMA_VERSION] = {
	pg_schema_v1,
	pg_schema_v2,
	pg_schema_v3,
	pg_schema_v4,
	pg_schema_v5,
	pg_schema_v6,
};

enum pg_state {
	PG_DOWN,	/* no connection; the next try at next_try */
	PG_CONNECTING,	/* PQconnectPoll in progress */
	PG_UP		/* connected, schema checked, statements prepared */
};

/* The backend's state: the connection and how it is kept up. */
struct pg {
	PGconn		*conn;
	enum pg_state	 state;
	char		*uri;		/* [relay] database */
	int		 retry;		/* keep trying (the relay) */
	PostgresPollingStatusType poll;	/* what PQconnectPoll waits for */
	uint64_t	 deadline;	/* the attempt gives up then */
	uint64_t	 next_try;	/* clock_mono_ms of the next attempt */
	uint64_t	 backoff;	/* ms until the one after */
	time_t		 down_since;	/* 0: up, or never connected */
	time_t		 told;		/* when "unavailable" was last logged */
	int		 in_tx;		/* a transaction is open */
	char		 why[STORE_ERR_MAX];	/* why it is down */
	int		 piped;		/* a batch sent, its results due */
	int		 settled;	/* ... and read: its outcome below */
	int		 pipe_rc;	/* batch_wait()'s 0, 1 or -1 */
	int64_t		 pipe_last;	/* last_seq after it */
	char		 pipe_err[STORE_ERR_MAX];
};

#define PG(s)	((struct pg *)(s)->be)

/* Bound values of one statement, in text or binary (bytea). */
struct params {
	const char	*v[PG_MAXPARAMS];
	int		 len[PG_MAXPARAMS];
	int		 fmt[PG_MAXPARAMS];
	char		 num[PG_MAXPARAMS][24];
	int		 n;
};

/* libpq's message for s->err, on one line. */
static int
pg_err_text(struct store *s, const char *what, const char *msg)
{
	char	*p, *q;

	store_be_error(s, "%s%s%s", what != NULL ? what : "",
	    what != NULL ? ": " : "", msg != NULL && msg[0] != '\0' ? msg :
	    "unknown error");
	/* libpq's lines ("...\n\tThis probably means ...\n") as one. */
	for (p = q = s->err; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\t' || *p == '\r') {
			if (q > s->err && q[-1] != ' ')
				*q++ = ' ';
		} else
			*q++ = *p;
	}
	while (q > s->err && q[-1] == ' ')
		q--;
	*q = '\0';
	return -1;
}

static void
p_text(struct params *p, const char *v)
{
	p->v[p->n] = v;		/* NULL is SQL's NULL */
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

static void
p_int(struct params *p, int64_t v)
{
	snprintf(p->num[p->n], sizeof(p->num[p->n]), "%" PRId64, v);
	p_text(p, p->num[p->n]);
}

static void
p_bin(struct params *p, const void *v, size_t len)
{
	p->v[p->n] = v;
	p->len[p->n] = (int)len;
	p->fmt[p->n] = 1;
	p->n++;
}

/*
 * A PostgreSQL array literal being built from values bound as one
 * parameter ({1,2,3} or {"a","b\"c"}).
 */
struct abuf {
	char	*p;
	size_t	 len, cap;
	int	 n;		/* elements */
	int	 failed;	/* out of memory */
};

static void
a_put(struct abuf *a, const char *s, size_t n)
{
	char	*np;
	size_t	 cap;

	if (a->failed)
		return;
	if (a->len + n + 2 > a->cap) {
		for (cap = a->cap == 0 ? 4096 : a->cap; cap < a->len + n + 2;
		    cap *= 2)
			;
		if ((np = realloc(a->p, cap)) == NULL) {
			a->failed = 1;
			return;
		}
		a->p = np;
		a->cap = cap;
	}
	memcpy(a->p + a->len, s, n);
	a->len += n;
	a->p[a->len] = '\0';
}

static void
a_start(struct abuf *a)
{
	a->len = 0;
	a->n = 0;
	a->failed = 0;
	a_put(a, "{", 1);
}

static void
a_sep(struct abuf *a)
{
	if (a->n++ > 0)
		a_put(a, ",", 1);
}

static void
a_int(struct abuf *a, int64_t v)
{
	char num[24];

	a_sep(a);
	a_put(a, num, (size_t)snprintf(num, sizeof(num), "%" PRId64, v));
}

/* %.17g reads back as the same double: nothing summed is lost. */
static void
a_double(struct abuf *a, double v)
{
	char num[40];

	a_sep(a);
	a_put(a, num, (size_t)snprintf(num, sizeof(num), "%.17g", v));
}

/* A quoted element: " and \ escaped with a backslash, all else as is. */
static void
a_text(struct abuf *a, const char *v)
{
	size_t n;

	a_sep(a);
	a_put(a, "\"", 1);
	while (*v != '\0') {
		n = strcspn(v, "\"\\");
		a_put(a, v, n);
		v += n;
		if (*v != '\0') {
			a_put(a, "\\", 1);
			a_put(a, v, 1);
			v++;
		}
	}
	a_put(a, "\"", 1);
}

static const char *
a_end(struct abuf *a)
{
	a_put(a, "}", 1);
	return a->failed ? NULL : a->p;
}

static void
a_free(struct abuf *a)
{
	free(a->p);
	memset(a, 0, sizeof(*a));
}

/* The connection is gone: drop it and try again after the back-off. */
static void
pg_lost(struct store *s, const char *why)
{
	struct pg *g = PG(s);

	if (g->conn != NULL)
		PQfinish(g->conn);
	g->conn = NULL;
	g->in_tx = 0;
	g->state = PG_DOWN;
	if (g->piped) {
		/* The batch sent went with the connection. */
		g->piped = 0;
		g->settled = 1;
		g->pipe_rc = -1;
		snprintf(g->pipe_err, sizeof(g->pipe_err), "%s", why);
	}
	snprintf(g->why, sizeof(g->why), "%s", why);
	if (g->down_since == 0) {
		g->down_since = clock_now();
		g->told = g->down_since;
		g->backoff = PG_BACKOFF_MIN_MS;
		log_warn("%s: the database is unavailable (%s); sessions are "
		    "routed meanwhile and records wait in the gateways' "
		    "spools; connecting again", s->name, why);
	} else if (clock_now() - g->told >= PG_REPEAT_S) {
		g->told = clock_now();
		log_warn("%s: the database is still unavailable after %lld s "
		    "(%s)", s->name, (long long)(clock_now() - g->down_since),
		    why);
	}
	g->next_try = clock_mono_ms() + g->backoff;
	g->backoff = g->backoff * 2 > PG_BACKOFF_MAX_MS ? PG_BACKOFF_MAX_MS :
	    g->backoff * 2;
}

/*
 * A statement's result: 0 with *res (PQclear it) when its status is
 * want, else -1 with s->err, after dropping a connection that broke.
 */
static int
pg_result(struct store *s, PGresult *r, ExecStatusType want, PGresult **res)
{
	struct pg *g = PG(s);

	if (r != NULL && PQresultStatus(r) == want) {
		if (res != NULL)
			*res = r;
		else
			PQclear(r);
		return 0;
	}
	pg_err_text(s, NULL, r != NULL ? PQresultErrorMessage(r) :
	    PQerrorMessage(g->conn));
	PQclear(r);
	if (PQstatus(g->conn) == CONNECTION_BAD) {
		pg_lost(s, s->err);
		s->unavailable = 1;
	}
	return -1;
}

/* Plain SQL without values (BEGIN, COMMIT, the schema). */
static int
pg_simple(struct store *s, const char *sql, ExecStatusType want,
    PGresult **res)
{
	if (PG(s)->conn == NULL)
		return store_be_unavailable(s, "the connection to the "
		    "database was lost");
	return pg_result(s, PQexec(PG(s)->conn, sql), want, res);
}

static int	pg_ready(struct store *);
static void	pg_settle(struct store *);

/* A prepared statement with p's values. */
static int
pg_run(struct store *s, enum pst k, const struct params *p,
    ExecStatusType want, PGresult **res)
{
	char name[8];

	if (pg_ready(s) == -1)
		return -1;
	snprintf(name, sizeof(name), "p%d", (int)k);
	return pg_result(s, PQexecPrepared(PG(s)->conn, name,
	    p != NULL ? p->n : 0, p != NULL ? p->v : NULL,
	    p != NULL ? p->len : NULL, p != NULL ? p->fmt : NULL,
	    k == P_CHUNK_GET || k == P_BUNDLE_CHUNK_GET ? 1 : 0), want, res);
}

static int
pg_cmd(struct store *s, enum pst k, const struct params *p)
{
	return pg_run(s, k, p, PGRES_COMMAND_OK, NULL);
}

static int
pg_rows(struct store *s, enum pst k, const struct params *p, PGresult **res)
{
	return pg_run(s, k, p, PGRES_TUPLES_OK, res);
}

static int64_t
col_int(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 :
	    strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* A text column; "" for a NULL (as the SQLite backend reads one). */
static const char *
col_text(const PGresult *r, int row, int col)
{
	return PQgetvalue(r, row, col);
}

/*
 * The schema version: 0 for a database the relay never used.  The
 * version table is made here if missing, so that this runs under the
 * advisory lock in the transaction that migrates.
 */
static int
pg_schema_version(struct store *s, int create, int *version)
{
	PGresult *r;

	*version = 0;
	if (create && pg_simple(s, "CREATE TABLE IF NOT EXISTS porthole_schema"
	    " (version INTEGER NOT NULL)", PGRES_COMMAND_OK, NULL) == -1)
		return -1;
	if (!create) {
		if (pg_simple(s, "SELECT count(*) FROM pg_catalog.pg_tables"
		    " WHERE schemaname = current_schema()"
		    " AND tablename = 'porthole_schema'", PGRES_TUPLES_OK,
		    &r) == -1)
			return -1;
		create = col_int(r, 0, 0) > 0;
		PQclear(r);
		if (!create)
			return 0;
	}
	if (pg_simple(s, "SELECT version FROM porthole_schema",
	    PGRES_TUPLES_OK, &r) == -1)
		return -1;
	if (PQntuples(r) > 0)
		*version = (int)col_int(r, 0, 0);
	PQclear(r);
	return 0;
}

/*
 * Create the tables, or bring an older schema up to this relay's; a
 * newer one is refused.  All in one transaction under the advisory
 * lock: a second relay starting at the same moment waits, then finds
 * the version it would have written.
 */
static int
pg_migrate(struct store *s)
{
	char	sql[96];
	int	version, v;

	/* Most starts: nothing to do, and no lock to wait for. */
	if (pg_schema_version(s, 0, &version) == -1)
		return -1;
	if (version == STORE_SCHEMA_VERSION)
		return 0;
	if (pg_simple(s, "BEGIN", PGRES_COMMAND_OK, NULL) == -1)
		return -1;
	if (pg_simple(s, "SELECT pg_advisory_xact_lock(" PG_SCHEMA_LOCK ")",
	    PGRES_TUPLES_OK, NULL) == -1 ||
	    pg_schema_version(s, 1, &version) == -1)
		goto fail;
	if (version > STORE_SCHEMA_VERSION) {
		store_be_error(s, "schema version %d, this relay knows version "
		    "%d", version, STORE_SCHEMA_VERSION);
		goto fail;
	}
	for (v = version; v < STORE_SCHEMA_VERSION; v++)
		if (pg_simple(s, pg_migrations[v], PGRES_COMMAND_OK,
		    NULL) == -1) {
			pg_err_text(s, version == 0 ? "creating the tables" :
			    "migrating the tables", s->err);
			goto fail;
		}
	if (version == 0)
		snprintf(sql, sizeof(sql), "INSERT INTO porthole_schema "
		    "(version) VALUES (%d)", STORE_SCHEMA_VERSION);
	else
		snprintf(sql, sizeof(sql), "UPDATE porthole_schema SET "
		    "version = %d", STORE_SCHEMA_VERSION);
	if (version < STORE_SCHEMA_VERSION &&
	    pg_simple(s, sql, PGRES_COMMAND_OK, NULL) == -1)
		goto fail;
	if (pg_simple(s, "COMMIT", PGRES_COMMAND_OK, NULL) == -1)
		return -1;
	if (version != 0 && version < STORE_SCHEMA_VERSION)
		log_info("%s: schema version %d brought up to %d", s->name,
		    version, STORE_SCHEMA_VERSION);
	return 0;
fail:
	if (PG(s)->conn != NULL)
		PQclear(PQexec(PG(s)->conn, "ROLLBACK"));
	return -1;
}

/* A report's database must have the relay's schema already. */
static int
pg_schema_check(struct store *s)
{
	int version;

	if (pg_schema_version(s, 0, &version) == -1)
		return -1;
	if (version == 0)
		return store_be_error(s, "no relay tables (the relay has not "
		    "started on it yet)");
	if (version < STORE_SCHEMA_VERSION)
		return store_be_error(s, "schema version %d, from an older "
		    "relay: start porthole-relay on it once to bring it up to "
		    "version %d", version, STORE_SCHEMA_VERSION);
	if (version > STORE_SCHEMA_VERSION)
		return store_be_error(s, "schema version %d, this relay knows "
		    "version %d", version, STORE_SCHEMA_VERSION);
	return 0;
}

/*
 * The server's notices ("relation ... already exists, skipping") would
 * go to standard error, which the relay does not own: they are debug
 * lines of its log.
 */
static void
pg_notice(void *arg, const char *message)
{
	struct store	*s = arg;
	char		 line[512];

	snprintf(line, sizeof(line), "%s", message);
	line[strcspn(line, "\n")] = '\0';
	log_debug("%s: %s", s->name, line);
}

/*
 * A new connection made ready: the session's settings, the schema
 * (made, migrated or checked) and every statement prepared.
 */
static int
pg_setup(struct store *s)
{
	struct pg	*g = PG(s);
	PGresult	*r;
	char		 name[8];
	size_t		 i;
	int		 off;

	PQsetNoticeProcessor(g->conn, pg_notice, s);

	/*
	 * An ack must mean the batch is on disk.  A server configured
	 * without synchronous commit would acknowledge what a crash can
	 * still take; this session asks for it (a stronger setting, such
	 * as waiting for a standby, is left as it is).
	 */
	if (pg_simple(s, "SHOW synchronous_commit", PGRES_TUPLES_OK, &r) ==
	    -1)
		return -1;
	off = strcmp(PQgetvalue(r, 0, 0), "off") == 0;
	PQclear(r);
	if (off && pg_simple(s, "SET synchronous_commit = on",
	    PGRES_COMMAND_OK, NULL) == -1)
		return -1;
	if ((s->flags & STORE_READONLY) ? pg_schema_check(s) == -1 ||
	    pg_simple(s, "SET default_transaction_read_only = on",
	    PGRES_COMMAND_OK, NULL) == -1 :
	    ((s->flags & STORE_EXISTING) && pg_schema_check(s) == -1) ||
	    pg_migrate(s) == -1)
		return -1;
	/*
	 * A relay that hangs or is cut off inside a transaction holds its
	 * cluster's row lock, and every other relay storing that cluster's
	 * records would wait with it, its whole event loop stopped: the
	 * server ends a session idle in a transaction after 60 s, and a
	 * statement waits at most PG_LOCK_WAIT for a lock (the batch is
	 * refused and sent again by the gateway).  Set after the schema's
	 * advisory lock, which a relay starting beside another may wait
	 * for longer.
	 */
	if (pg_simple(s, "SET idle_in_transaction_session_timeout = '60s'",
	    PGRES_COMMAND_OK, NULL) == -1 ||
	    pg_simple(s, "SET lock_timeout = '" PG_LOCK_WAIT "'",
	    PGRES_COMMAND_OK, NULL) == -1)
		return -1;
	for (i = 0; i < P__COUNT; i++) {
		snprintf(name, sizeof(name), "p%d", (int)i);
		if (pg_result(s, PQprepare(g->conn, name, pst_sql[i], 0, NULL),
		    PGRES_COMMAND_OK, NULL) == -1)
			return pg_err_text(s, pst_sql[i], s->err);
	}
	return 0;
}

/*
 * The connection parameters: defaults first, then the URI, whose values
 * win (libpq takes the last value of a keyword).  Bounds for a server
 * that stops answering without closing: the connection attempt, and
 * for TCP, data unacknowledged for 30 s (tcp_user_timeout) and
 * keepalives after 30 s of silence.
 */
static void
pg_params(const char *uri, const char **kw, const char **val)
{
	static const char *const dkw[] = { "connect_timeout",
	    "tcp_user_timeout", "keepalives_idle", "keepalives_interval",
	    "keepalives_count", "fallback_application_name", "dbname" };
	static const char *const dval[] = { "10", "30000", "30", "10", "3",
	    "porthole-relay", NULL };
	size_t i;

	for (i = 0; i < sizeof(dkw) / sizeof(dkw[0]); i++) {
		kw[i] = dkw[i];
		val[i] = dval[i] != NULL ? dval[i] : uri;
	}
	kw[i] = val[i] = NULL;
}

/* The connection is made: set it up, or drop it. */
static int
pg_connected(struct store *s)
{
	struct pg	*g = PG(s);
	time_t		 was = g->down_since;

	if (pg_setup(s) == -1) {
		if (g->conn != NULL)
			pg_lost(s, s->err);
		s->unavailable = 1;
		return -1;
	}
	g->state = PG_UP;
	g->down_since = 0;
	s->generation++;
	if (was != 0)
		log_info("%s: connected to the database again after %lld s",
		    s->name, (long long)(clock_now() - was));
	return 0;
}

/*
 * Step a connection attempt without blocking: PQconnectPoll only when
 * its socket is ready for what the last call waited for.
 */
static int
pg_step(struct store *s)
{
	struct pg	*g = PG(s);
	struct pollfd	 pfd;

	for (;;) {
		if (g->poll == PGRES_POLLING_OK)
			return pg_connected(s);
		if (g->poll == PGRES_POLLING_FAILED) {
			pg_err_text(s, NULL, PQerrorMessage(g->conn));
			pg_lost(s, s->err);
			s->unavailable = 1;
			return -1;
		}
		pfd.fd = PQsocket(g->conn);
		pfd.events = g->poll == PGRES_POLLING_READING ? POLLIN :
		    POLLOUT;
		if (pfd.fd < 0 || poll(&pfd, 1, 0) == 0)
			break;
		g->poll = PQconnectPoll(g->conn);
	}
	if (clock_mono_ms() >= g->deadline) {
		store_be_unavailable(s, "no answer within %d s",
		    PG_CONNECT_MS / 1000);
		pg_lost(s, s->err);
		return -1;
	}
	return store_be_unavailable(s, "the database is unavailable: "
	    "connecting");
}

/* Start a connection attempt, which pg_step() goes on with. */
static int
pg_start(struct store *s)
{
	struct pg	*g = PG(s);
	const char	*kw[8], *val[8];

	pg_params(g->uri, kw, val);
	if ((g->conn = PQconnectStartParams(kw, val, 1)) == NULL) {
		store_be_unavailable(s, "out of memory");
		pg_lost(s, s->err);
		return -1;
	}
	if (PQstatus(g->conn) == CONNECTION_BAD) {
		pg_err_text(s, NULL, PQerrorMessage(g->conn));
		pg_lost(s, s->err);
		s->unavailable = 1;
		return -1;
	}
	g->state = PG_CONNECTING;
	g->poll = PGRES_POLLING_WRITING;
	g->deadline = clock_mono_ms() + PG_CONNECT_MS;
	return pg_step(s);
}

/*
 * Before each statement: 0 when the connection is up, else -1 with why
 * in s->err, having made what progress can be made without waiting.
 * Inside a transaction a connection that was lost is not replaced: the
 * transaction went with it.
 */
static int
pg_ready(struct store *s)
{
	struct pg *g = PG(s);

	/* A batch sent and not waited for comes first (batch_send). */
	if (g->piped)
		pg_settle(s);
	switch (g->state) {
	case PG_UP:
		return 0;
	case PG_CONNECTING:
		return pg_step(s);
	case PG_DOWN:
		break;
	}
	if (g->in_tx)
		return store_be_unavailable(s, "the connection to the "
		    "database was lost in a transaction");
	if (!g->retry || clock_mono_ms() < g->next_try)
		return store_be_unavailable(s, "the database is unavailable "
		    "(%s); trying again in %llu s", g->why,
		    (unsigned long long)((g->next_try > clock_mono_ms() ?
		    g->next_try - clock_mono_ms() : 0) + 999) / 1000);
	return pg_start(s);
}

static int
pg_open(struct store *s, const char *spec, char *err, size_t errlen)
{
	struct pg	*g;
	const char	*kw[8], *val[8];
	char		 shown[1024];

	store_uri_display(spec, shown, sizeof(shown));
	if ((s->name = strdup(shown)) == NULL ||
	    (s->be = g = calloc(1, sizeof(*g))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", shown);
		return -1;
	}
	if (store_uri_check(spec, err, errlen) == -1) {
		/* The message names no value: prefix what it is about. */
		snprintf(g->why, sizeof(g->why), "%s", err);
		snprintf(err, errlen, "%s: %s", s->name, g->why);
		return -1;
	}
	if ((g->uri = strdup(spec)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", shown);
		return -1;
	}
	g->retry = (s->flags & STORE_RETRY) != 0;
	/*
	 * The first connection is waited for (connect_timeout bounds it):
	 * nothing is served yet.
	 */
	pg_params(spec, kw, val);
	if ((g->conn = PQconnectdbParams(kw, val, 1)) == NULL ||
	    PQstatus(g->conn) != CONNECTION_OK) {
		pg_err_text(s, NULL, g->conn != NULL ?
		    PQerrorMessage(g->conn) : "out of memory");
		goto fail;
	}
	if (pg_setup(s) == -1)
		goto fail;
	g->state = PG_UP;
	s->generation++;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", s->name, s->err);
	if (!g->retry)
		return -1;
	/*
	 * The relay: a database that cannot be reached now is no reason
	 * not to route sessions.  It is tried again from the calls that
	 * need it, with back-off.
	 */
	pg_lost(s, s->err);
	return 0;
}

static void
pg_close(struct store *s)
{
	struct pg *g = PG(s);

	if (g == NULL)
		return;
	if (g->conn != NULL)
		PQfinish(g->conn);
	free(g->uri);
	free(g);
	s->be = NULL;
}

static int
pg_begin(struct store *s)
{
	if (pg_ready(s) == -1 || pg_simple(s, "BEGIN", PGRES_COMMAND_OK,
	    NULL) == -1)
		return -1;
	PG(s)->in_tx = 1;
	return 0;
}

static int
pg_commit(struct store *s)
{
	int rc;

	rc = pg_simple(s, "COMMIT", PGRES_COMMAND_OK, NULL);
	PG(s)->in_tx = 0;
	return rc;
}

static void
pg_rollback(struct store *s)
{
	struct pg *g = PG(s);

	if (g->conn != NULL && g->in_tx && g->state == PG_UP)
		PQclear(PQexec(g->conn, "ROLLBACK"));
	g->in_tx = 0;
}

static int
pg_cluster_add(struct store *s, const char *cluster, time_t now)
{
	struct params p = { .n = 0 };

	p_text(&p, cluster);
	p_int(&p, now);
	return pg_cmd(s, P_CLUSTER_ADD, &p);
}

static int
pg_cluster_lock(struct store *s, const char *cluster, time_t now,
    int64_t *last)
{
	struct params	 p = { .n = 0 };
	PGresult	*r;

	*last = 0;
	if (pg_cluster_add(s, cluster, now) == -1)
		return -1;
	p.n = 0;
	p_text(&p, cluster);
	if (pg_rows(s, P_CLUSTER_LOCK, &p, &r) == -1)
		return -1;
	if (PQntuples(r) > 0)
		*last = col_int(r, 0, 0);
	PQclear(r);
	return 0;
}

static int
pg_cluster_seen(struct store *s, const char *cluster, time_t now,
    const char *version, int connected)
{
	struct params p = { .n = 0 };

	p_text(&p, cluster);
	p_int(&p, now);
	p_int(&p, connected ? 1 : 0);
	p_text(&p, version);
	return pg_cmd(s, P_CLUSTER_SEEN, &p);
}

static int
pg_relay_started(struct store *s, const char *relay, time_t now)
{
	struct params p = { .n = 0 };

	p_text(&p, relay);
	p_int(&p, now);
	if (pg_cmd(s, P_RELAY_UP, &p) == -1)
		return -1;
	p.n = 1;
	if (pg_cmd(s, P_CONN_CLEAR, &p) == -1)
		return -1;
	return pg_cmd(s, P_CONNECTED_ALL, NULL);
}

static int
pg_relay_seen(struct store *s, const char *relay, time_t now)
{
	struct params p = { .n = 0 };

	p_text(&p, relay);
	p_int(&p, now);
	return pg_cmd(s, P_RELAY_SEEN, &p);
}

static int
pg_relay_down(struct store *s, const char *relay)
{
	struct params p = { .n = 0 };

	p_text(&p, relay);
	return pg_cmd(s, P_RELAY_DOWN, &p);
}

static int
pg_connection(struct store *s, const char *cluster, const char *relay,
    time_t now, int up)
{
	struct params p = { .n = 0 };

	p_text(&p, cluster);
	p_text(&p, relay);
	if (up)
		p_int(&p, now);
	if (pg_cmd(s, up ? P_CONN_ADD : P_CONN_DEL, &p) == -1)
		return -1;
	p.n = 1;
	return pg_cmd(s, P_CONNECTED_ONE, &p);
}

static int
pg_last_seq(struct store *s, const char *cluster, int64_t *seq)
{
	struct params	 p = { .n = 0 };
	PGresult	*r;

	*seq = 0;
	p_text(&p, cluster);
	if (pg_rows(s, P_LAST_SEQ, &p, &r) == -1)
		return -1;
	if (PQntuples(r) > 0)
		*seq = col_int(r, 0, 0);
	PQclear(r);
	return 0;
}

/* The item with this seq (items are in increasing seq), or NULL. */
static struct store_item *
item_by_seq(struct store_item *items, size_t n, int64_t seq)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (items[mid].seq == seq)
			return &items[mid];
		if (items[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The batch's keys as P_RECORD_KEYS's and P_RECORD_NEW's values. */
static int
keys_params(struct store *s, struct params *p, const char *cluster,
    const struct store_item *items, size_t n, time_t now, struct abuf *seqs,
    struct abuf *classes)
{
	size_t i;

	a_start(seqs);
	a_start(classes);
	for (i = 0; i < n; i++) {
		a_int(seqs, items[i].seq);
		a_text(classes, store_class_name(items[i].cls));
	}
	p->n = 0;
	p_text(p, cluster);
	p_text(p, a_end(seqs));
	p_text(p, a_end(classes));
	p_int(p, now);
	if (p->v[1] == NULL || p->v[2] == NULL)
		return store_be_error(s, "out of memory");
	return 0;
}

/*
 * Store the batch's keys; mark the items whose keys were new.  Returns
 * how many were, or -1.
 */
static int
pg_record_keys(struct store *s, const char *cluster,
    struct store_item *items, size_t n, time_t now)
{
	struct abuf	 seqs = { 0 }, classes = { 0 };
	struct params	 p = { .n = 0 };
	struct store_item *it;
	PGresult	*r = NULL;
	size_t		 i;
	int		 fresh = 0, rc = -1;

	if (keys_params(s, &p, cluster, items, n, now, &seqs, &classes) == -1)
		goto out;
	if (pg_rows(s, P_RECORD_KEYS, &p, &r) == -1)
		goto out;
	for (i = 0; i < (size_t)PQntuples(r); i++) {
		if ((it = item_by_seq(items, n, col_int(r, (int)i, 0))) ==
		    NULL) {
			store_be_error(s, "the database returned a seq the "
			    "batch does not have");
			goto out;
		}
		it->fresh = 1;
		fresh++;
	}
	rc = fresh;
out:
	PQclear(r);
	a_free(&seqs);
	a_free(&classes);
	return rc;
}

/* Newer first within an hour and environment, for pg_usage(). */
static int
usage_order(const void *a, const void *b)
{
	const struct store_item	*x = *(const struct store_item *const *)a;
	const struct store_item	*y = *(const struct store_item *const *)b;
	int			 c;

	if (x->hour != y->hour)
		return x->hour < y->hour ? -1 : 1;
	if ((c = strcmp(x->env, y->env)) != 0)
		return c;
	return x->seq > y->seq ? -1 : x->seq < y->seq;
}

/*
 * The arrays that apply a batch's new usage records: the (hour,
 * environment) pairs whose rows go (P_USAGE_CLEAR, $2 and $3) and the
 * rows that come (P_USAGE_SET, $2 to $5).
 */
struct usage_arrays {
	struct abuf	dh, de;			/* pairs */
	struct abuf	h, e, un, am;		/* rows */
};

static void
usage_free(struct usage_arrays *ua)
{
	a_free(&ua->dh);
	a_free(&ua->de);
	a_free(&ua->h);
	a_free(&ua->e);
	a_free(&ua->un);
	a_free(&ua->am);
}

/*
 * For each hour and environment of the batch's new usage records the
 * newest replaces what was stored, as applying them one by one in seq
 * order would leave it.  Returns how many records there were (0: none,
 * nothing to apply), or -1.
 */
static int
usage_build(struct store *s, struct store_item *items, size_t n,
    struct usage_arrays *ua)
{
	struct store_item	**u = NULL;
	const char		*key;
	json_t			*v;
	size_t			 i, nu = 0;
	int			 rc = -1;

	memset(ua, 0, sizeof(*ua));
	for (i = 0; i < n; i++)
		if (items[i].fresh && items[i].cls == SC_USAGE)
			nu++;
	if (nu == 0)
		return 0;
	if ((u = calloc(nu, sizeof(*u))) == NULL)
		return store_be_error(s, "out of memory");
	for (i = 0, nu = 0; i < n; i++)
		if (items[i].fresh && items[i].cls == SC_USAGE)
			u[nu++] = &items[i];
	qsort(u, nu, sizeof(*u), usage_order);
	a_start(&ua->dh);
	a_start(&ua->de);
	a_start(&ua->h);
	a_start(&ua->e);
	a_start(&ua->un);
	a_start(&ua->am);
	for (i = 0; i < nu; i++) {
		if (i > 0 && u[i]->hour == u[i - 1]->hour &&
		    strcmp(u[i]->env, u[i - 1]->env) == 0)
			continue;	/* an older one of the same hour */
		a_int(&ua->dh, u[i]->hour);
		a_text(&ua->de, u[i]->env);
		json_object_foreach(json_object_get(u[i]->rec, "units"), key,
		    v) {
			a_int(&ua->h, u[i]->hour);
			a_text(&ua->e, u[i]->env);
			a_text(&ua->un, key);
			a_double(&ua->am, json_number_value(v));
		}
	}
	if (a_end(&ua->dh) == NULL || a_end(&ua->de) == NULL ||
	    a_end(&ua->h) == NULL || a_end(&ua->e) == NULL ||
	    a_end(&ua->un) == NULL || a_end(&ua->am) == NULL) {
		store_be_error(s, "out of memory");
		goto out;
	}
	rc = (int)nu;
out:
	free(u);
	if (rc == -1)
		usage_free(ua);
	return rc;
}

static void
usage_clear_params(struct params *p, const char *cluster,
    const struct usage_arrays *ua)
{
	p->n = 0;
	p_text(p, cluster);
	p_text(p, ua->dh.p);
	p_text(p, ua->de.p);
}

static void
usage_set_params(struct params *p, const char *cluster,
    const struct usage_arrays *ua)
{
	p->n = 0;
	p_text(p, cluster);
	p_text(p, ua->h.p);
	p_text(p, ua->e.p);
	p_text(p, ua->un.p);
	p_text(p, ua->am.p);
}

/* The batch's new usage records applied (usage_build() says how). */
static int
pg_usage(struct store *s, const char *cluster, struct store_item *items,
    size_t n)
{
	struct usage_arrays	ua;
	struct params		p;
	int			rc;

	if ((rc = usage_build(s, items, n, &ua)) <= 0)
		return rc;
	usage_clear_params(&p, cluster, &ua);
	rc = pg_cmd(s, P_USAGE_CLEAR, &p);
	if (rc == 0) {
		usage_set_params(&p, cluster, &ua);
		rc = pg_cmd(s, P_USAGE_SET, &p);
	}
	usage_free(&ua);
	return rc;
}

/*
 * The batch's new health snapshots or events (cls), each kept whole as
 * compact JSON.  *added says whether there were any.
 */
static int
pg_bodies(struct store *s, const char *cluster, struct store_item *items,
    size_t n, enum store_class cls, int *added)
{
	struct abuf	 seqs = { 0 }, ts = { 0 }, types = { 0 }, bodies = { 0 };
	struct params	 p = { .n = 0 };
	char		*body;
	size_t		 i, k;
	int		 rc = -1;

	*added = 0;
	a_start(&seqs);
	a_start(&ts);
	a_start(&types);
	a_start(&bodies);
	for (i = 0; i < n; i++) {
		if (!items[i].fresh || items[i].cls != cls)
			continue;
		if ((body = json_dumps(items[i].rec, JSON_COMPACT)) == NULL) {
			store_be_error(s, "out of memory");
			goto out;
		}
		a_int(&seqs, items[i].seq);
		a_text(&ts, items[i].ts);
		if (cls == SC_EVENT)
			a_text(&types, items[i].type);
		a_text(&bodies, body);
		free(body);
		(*added)++;
	}
	if (*added == 0) {
		rc = 0;
		goto out;
	}
	p_text(&p, cluster);
	p_text(&p, a_end(&seqs));
	p_text(&p, a_end(&ts));
	if (cls == SC_EVENT)
		p_text(&p, a_end(&types));
	p_text(&p, a_end(&bodies));
	for (k = 1; k < (size_t)p.n; k++)
		if (p.v[k] == NULL) {
			store_be_error(s, "out of memory");
			goto out;
		}
	rc = pg_cmd(s, cls == SC_EVENT ? P_EVENT_ADD : P_HEALTH_ADD, &p);
out:
	a_free(&seqs);
	a_free(&ts);
	a_free(&types);
	a_free(&bodies);
	return rc;
}

static int
pg_records(struct store *s, const char *cluster, struct store_item *items,
    size_t n, time_t now)
{
	struct params	p = { .n = 0 };
	int		fresh, events, health;

	if (n == 0)
		return 0;
	if ((fresh = pg_record_keys(s, cluster, items, n, now)) <= 0)
		return fresh;
	if (pg_usage(s, cluster, items, n) == -1 ||
	    pg_bodies(s, cluster, items, n, SC_EVENT, &events) == -1 ||
	    pg_bodies(s, cluster, items, n, SC_HEALTH, &health) == -1)
		return -1;
	if (!health)
		return 0;
	p_text(&p, cluster);
	p_int(&p, STORE_HEALTH_KEEP);
	return pg_cmd(s, P_HEALTH_PRUNE, &p);
}

/*
 * A batch of usage records sent whole (store_int.h, batch_send): its
 * statements go out in one pipeline ending in COMMIT and a sync, and
 * the relay reads and checks the next batch while the server works.
 * The keys go in without ON CONFLICT, so a key stored already fails the
 * transaction and everything after it is skipped; pg_settle() sees
 * which constraint failed.
 */
#define PG_PIPE_KEY	"records_pkey"	/* the keys' constraint */

static int
pg_send(struct store *s, enum pst k, const struct params *p)
{
	char name[8];

	snprintf(name, sizeof(name), "p%d", (int)k);
	if (PQsendQueryPrepared(PG(s)->conn, name, p->n, p->v, p->len,
	    p->fmt, 0) != 1)
		return pg_err_text(s, NULL, PQerrorMessage(PG(s)->conn));
	return 0;
}

static int
pg_send_sql(struct store *s, const char *sql)
{
	if (PQsendQueryParams(PG(s)->conn, sql, 0, NULL, NULL, NULL, NULL,
	    0) != 1)
		return pg_err_text(s, NULL, PQerrorMessage(PG(s)->conn));
	return 0;
}

/*
 * Read the sent batch's results up to its sync and keep the outcome
 * for pg_batch_wait(): 0 committed, 1 a key was stored already, -1
 * anything else.  A failed transaction is left open by the pipeline
 * (it began with BEGIN): it is rolled back here.
 */
static void
pg_settle(struct store *s)
{
	struct pg	*g = PG(s);
	PGresult	*r;
	ExecStatusType	 st;
	const char	*name;
	int		 failed = 0, dup = 0, nulls = 0;

	g->piped = 0;
	g->settled = 1;
	g->pipe_rc = -1;
	g->pipe_last = 0;
	g->pipe_err[0] = '\0';
	for (;;) {
		if ((r = PQgetResult(g->conn)) == NULL) {
			/* One NULL ends each statement's results. */
			if (PQstatus(g->conn) != CONNECTION_BAD && ++nulls < 2)
				continue;
			pg_err_text(s, NULL, PQerrorMessage(g->conn));
			snprintf(g->pipe_err, sizeof(g->pipe_err), "%s",
			    s->err);
			pg_lost(s, s->err);
			return;
		}
		nulls = 0;
		st = PQresultStatus(r);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			break;
		}
		/* The last row of last_seq is P_CLUSTER_RAISE's. */
		if (st == PGRES_TUPLES_OK && PQntuples(r) > 0)
			g->pipe_last = col_int(r, 0, 0);
		else if (st == PGRES_FATAL_ERROR && !failed) {
			failed = 1;
			name = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
			dup = name != NULL && strcmp(name, PG_PIPE_KEY) == 0;
			pg_err_text(s, NULL, PQresultErrorMessage(r));
			snprintf(g->pipe_err, sizeof(g->pipe_err), "%s",
			    s->err);
		}
		PQclear(r);
	}
	if (PQexitPipelineMode(g->conn) != 1) {
		pg_err_text(s, NULL, PQerrorMessage(g->conn));
		snprintf(g->pipe_err, sizeof(g->pipe_err), "%s", s->err);
		pg_lost(s, s->err);
		return;
	}
	if (failed) {
		PQclear(PQexec(g->conn, "ROLLBACK"));
		g->pipe_rc = dup ? 1 : -1;
		return;
	}
	g->pipe_rc = 0;
}

static int
pg_batch_send(struct store *s, const char *cluster, struct store_item *items,
    size_t n, int64_t high, time_t now)
{
	struct pg		*g = PG(s);
	struct usage_arrays	 ua;
	struct abuf		 seqs = { 0 }, classes = { 0 };
	struct params		 p;
	size_t			 i;
	int			 rc = -1;

	if (pg_ready(s) == -1)
		return -1;
	for (i = 0; i < n; i++)
		items[i].fresh = 1;
	if (usage_build(s, items, n, &ua) == -1)
		return -1;
	if (PQenterPipelineMode(g->conn) != 1) {
		pg_err_text(s, NULL, PQerrorMessage(g->conn));
		goto out;
	}
	p.n = 0;
	p_text(&p, cluster);
	p_int(&p, now);
	if (pg_send_sql(s, "BEGIN") == -1 ||
	    pg_send(s, P_CLUSTER_ADD, &p) == -1)
		goto out;
	p.n = 0;
	p_text(&p, cluster);
	if (pg_send(s, P_CLUSTER_LOCK, &p) == -1 ||
	    keys_params(s, &p, cluster, items, n, now, &seqs,
	    &classes) == -1 || pg_send(s, P_RECORD_NEW, &p) == -1)
		goto out;
	usage_clear_params(&p, cluster, &ua);
	if (pg_send(s, P_USAGE_CLEAR, &p) == -1)
		goto out;
	usage_set_params(&p, cluster, &ua);
	if (pg_send(s, P_USAGE_SET, &p) == -1)
		goto out;
	p.n = 0;
	p_text(&p, cluster);
	p_int(&p, high);
	p_int(&p, now);
	if (pg_send(s, P_CLUSTER_RAISE, &p) == -1 ||
	    pg_send_sql(s, "COMMIT") == -1)
		goto out;
	if (PQpipelineSync(g->conn) != 1) {
		pg_err_text(s, NULL, PQerrorMessage(g->conn));
		goto out;
	}
	g->piped = 1;
	g->settled = 0;
	rc = 0;
out:
	/* Half a pipeline cannot be taken back: the connection goes. */
	if (rc == -1 && g->conn != NULL &&
	    PQpipelineStatus(g->conn) != PQ_PIPELINE_OFF)
		pg_lost(s, s->err);
	usage_free(&ua);
	a_free(&seqs);
	a_free(&classes);
	for (i = 0; i < n; i++)
		items[i].fresh = 0;
	return rc;
}

static int
pg_batch_fd(struct store *s)
{
	struct pg *g = PG(s);

	return g->piped && g->conn != NULL ? PQsocket(g->conn) : -1;
}

static int
pg_batch_wait(struct store *s, int64_t *last)
{
	struct pg *g = PG(s);

	*last = 0;
	if (g->piped)
		pg_settle(s);
	if (!g->settled)
		return store_be_error(s, "no batch was sent");
	g->settled = 0;
	if (g->pipe_rc == -1) {
		snprintf(s->err, sizeof(s->err), "%s", g->pipe_err);
		s->unavailable = g->state != PG_UP;
	}
	*last = g->pipe_last;
	return g->pipe_rc;
}

static int
pg_advance(struct store *s, const char *cluster, int64_t high, time_t now)
{
	struct params p = { .n = 0 };

	p_text(&p, cluster);
	p_int(&p, high);
	p_int(&p, now);
	return pg_cmd(s, P_CLUSTER_ADVANCE, &p);
}

static int
pg_cluster_get(struct store *s, const char *cluster,
    struct store_cluster_info *ci)
{
	struct params	 p = { .n = 0 };
	PGresult	*r;
	int		 found;

	p_text(&p, cluster);
	if (pg_rows(s, P_CLUSTER_GET, &p, &r) == -1)
		return -1;
	if ((found = PQntuples(r) > 0)) {
		ci->first_seen = (time_t)col_int(r, 0, 0);
		ci->last_contact = (time_t)col_int(r, 0, 1);
		ci->connected = (int)col_int(r, 0, 2);
		if (!PQgetisnull(r, 0, 3))
			snprintf(ci->version, sizeof(ci->version), "%s",
			    PQgetvalue(r, 0, 3));
		ci->last_seq = (uint64_t)col_int(r, 0, 4);
		if (!PQgetisnull(r, 0, 5))
			snprintf(ci->host_key, sizeof(ci->host_key), "%s",
			    PQgetvalue(r, 0, 5));
	}
	PQclear(r);
	return found;
}

static int
pg_record_count(struct store *s, const char *cluster, uint64_t *n)
{
	struct params	 p = { .n = 0 };
	PGresult	*r;

	p_text(&p, cluster);
	if (pg_rows(s, P_RECORD_COUNT, &p, &r) == -1)
		return -1;
	*n = (uint64_t)col_int(r, 0, 0);
	PQclear(r);
	return 0;
}

static int
pg_health_counts(struct store *s, const char *cluster, int64_t *nodes,
    int64_t *services, int64_t *up)
{
	struct params	 p = { .n = 0 };
	PGresult	*r;

	*nodes = *services = *up = 0;
	p_text(&p, cluster);
	if (pg_rows(s, P_HEALTH_COUNTS, &p, &r) == -1)
		return -1;
	if (PQntuples(r) > 0) {
		*nodes = col_int(r, 0, 0);
		*services = col_int(r, 0, 1);
		*up = col_int(r, 0, 2);
	}
	PQclear(r);
	return 0;
}

static int
pg_host_key(struct store *s, const char *cluster, const char *key)
{
	struct params p = { .n = 0 };

	p_text(&p, cluster);
	p_text(&p, key);
	return pg_cmd(s, P_HOST_KEY, &p);
}

static int
pg_anchor_other(struct store *s, const char *cluster, uint64_t epoch,
    uint64_t seq, const char *head, char *other)
{
	struct params	 p = { .n = 0 };
	PGresult	*r;
	int		 found;

	p_text(&p, cluster);
	p_int(&p, (int64_t)epoch);
	p_int(&p, (int64_t)seq);
	p_text(&p, head);
	if (pg_rows(s, P_ANCHOR_OTHER, &p, &r) == -1)
		return -1;
	if ((found = PQntuples(r) > 0))
		snprintf(other, STORE_HEAD_LEN + 1, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return found;
}

static int
pg_anchor_add(struct store *s, const char *cluster, uint64_t epoch,
    uint64_t seq, const char *head, time_t now)
{
	struct params p = { .n = 0 };

	p_text(&p, cluster);
	p_int(&p, (int64_t)epoch);
	p_int(&p, (int64_t)seq);
	p_text(&p, head);
	p_int(&p, now);
	return pg_cmd(s, P_ANCHOR_ADD, &p);
}

/*
 * Run a list statement and hand each row to visit: 0 when all were
 * given, -1 when visit stopped, STORE_DB_ERROR when the database failed.
 */
static int
pg_list(struct store *s, enum pst k, const struct params *p,
    int (*visit)(const PGresult *, int, void *), void *arg)
{
	PGresult	*r;
	int		 i, rc = 0;

	if (pg_rows(s, k, p, &r) == -1)
		return STORE_DB_ERROR;
	for (i = 0; i < PQntuples(r) && rc == 0; i++)
		rc = visit(r, i, arg) == -1 ? -1 : 0;
	PQclear(r);
	return rc;
}

struct usage_visit {
	store_usage_fn	 fn;
	void		*arg;
};

static int
usage_visit(const PGresult *r, int i, void *arg)
{
	struct usage_visit	*v = arg;
	struct store_usage_row	 u;

	u.hour = (time_t)col_int(r, i, 0);
	u.environment = col_text(r, i, 1);
	u.unit = col_text(r, i, 2);
	u.amount = strtod(PQgetvalue(r, i, 3), NULL);
	return v->fn(&u, v->arg);
}

static int
pg_usage_rows(struct store *s, const char *cluster, store_usage_fn fn,
    void *arg)
{
	struct usage_visit	v = { fn, arg };
	struct params		p = { .n = 0 };

	p_text(&p, cluster);
	return pg_list(s, P_USAGE_LIST, &p, usage_visit, &v);
}

struct event_visit {
	store_event_fn	 fn;
	void		*arg;
};

static int
event_visit(const PGresult *r, int i, void *arg)
{
	struct event_visit	*v = arg;
	struct store_event_row	 e;

	e.ts = col_text(r, i, 0);
	e.type = col_text(r, i, 1);
	e.seq = col_int(r, i, 2);
	e.record = col_text(r, i, 3);
	return v->fn(&e, v->arg);
}

static int
pg_event_rows(struct store *s, const char *cluster, store_event_fn fn,
    void *arg)
{
	struct event_visit	v = { fn, arg };
	struct params		p = { .n = 0 };

	p_text(&p, cluster);
	return pg_list(s, P_EVENT_LIST, &p, event_visit, &v);
}

struct anchor_visit {
	store_anchor_fn	 fn;
	void		*arg;
};

static int
anchor_visit(const PGresult *r, int i, void *arg)
{
	struct anchor_visit	*v = arg;
	struct store_anchor_row	 a;

	a.epoch = (uint64_t)col_int(r, i, 0);
	a.seq = (uint64_t)col_int(r, i, 1);
	a.head = col_text(r, i, 2);
	a.received = (time_t)col_int(r, i, 3);
	return v->fn(&a, v->arg);
}

static int
pg_anchor_rows(struct store *s, const char *cluster, store_anchor_fn fn,
    void *arg)
{
	struct anchor_visit	v = { fn, arg };
	struct params		p = { .n = 0 };

	p_text(&p, cluster);
	return pg_list(s, P_ANCHOR_LIST, &p, anchor_visit, &v);
}

static int
pg_message_add(struct store *s, const char *cluster, const char *kind,
    const char *body, time_t now, int64_t *id)
{
	struct params	 p = { .n = 0 };
	PGresult	*r;

	if (pg_cmd(s, P_MSG_LOCK, NULL) == -1)
		return -1;
	p_text(&p, cluster);
	p_text(&p, kind);
	p_text(&p, body);
	p_int(&p, now);
	if (pg_rows(s, P_MSG_ADD, &p, &r) == -1)
		return -1;
	*id = col_int(r, 0, 0);
	PQclear(r);
	return 0;
}

static int
pg_message_max(struct store *s, int64_t *id)
{
	PGresult *r;

	if (pg_rows(s, P_MSG_MAX, NULL, &r) == -1)
		return -1;
	*id = col_int(r, 0, 0);
	PQclear(r);
	return 0;
}

struct message_visit {
	store_message_fn	 fn;
	void			*arg;
};

static int
message_visit(const PGresult *r, int i, void *arg)
{
	struct message_visit	*v = arg;
	struct store_message	 m;

	m.id = col_int(r, i, 0);
	m.kind = col_text(r, i, 1);
	m.body = col_text(r, i, 2);
	m.created = (time_t)col_int(r, i, 3);
	return v->fn(&m, v->arg);
}

static int
pg_messages_pending(struct store *s, const char *cluster, int64_t after,
    int limit, store_message_fn fn, void *arg)
{
	struct message_visit	v = { fn, arg };
	struct params		p = { .n = 0 };

	p_text(&p, cluster);
	p_int(&p, after);
	p_int(&p, limit);
	return pg_list(s, P_MSG_PENDING, &p, message_visit, &v);
}

static int
pg_delivery_offered(struct store *s, int64_t id, const char *cluster,
    time_t now)
{
	struct params p = { .n = 0 };

	p_int(&p, id);
	p_text(&p, cluster);
	p_int(&p, now);
	return pg_cmd(s, P_DELIVERY_OFFERED, &p);
}

static int
pg_delivery_acked(struct store *s, int64_t id, const char *cluster,
    time_t now, const char *result)
{
	struct params	 p = { .n = 0 };
	PGresult	*r;
	int		 changed;

	p_int(&p, id);
	p_text(&p, cluster);
	p_int(&p, now);
	p_text(&p, result);
	if (pg_run(s, P_DELIVERY_ACKED, &p, PGRES_COMMAND_OK, &r) == -1)
		return -1;
	changed = atoi(PQcmdTuples(r)) > 0;
	PQclear(r);
	return changed;
}

struct delivery_visit {
	store_delivery_fn	 fn;
	void			*arg;
};

static int
delivery_visit(const PGresult *r, int i, void *arg)
{
	struct delivery_visit	*v = arg;
	struct store_delivery	 d;

	d.id = col_int(r, i, 0);
	d.body = col_text(r, i, 1);
	d.created = (time_t)col_int(r, i, 2);
	d.offered = (time_t)col_int(r, i, 3);
	d.acked = (time_t)col_int(r, i, 4);
	d.result = PQgetisnull(r, i, 5) ? NULL : col_text(r, i, 5);
	return v->fn(&d, v->arg);
}

static int
pg_delivery_rows(struct store *s, const char *cluster, const char *kind,
    store_delivery_fn fn, void *arg)
{
	struct delivery_visit	v = { fn, arg };
	struct params		p = { .n = 0 };

	p_text(&p, cluster);
	p_text(&p, kind);
	return pg_list(s, P_MSG_KIND, &p, delivery_visit, &v);
}

static int
pg_chunks_delete(struct store *s, const char *sha256)
{
	struct params p = { .n = 0 };

	p_text(&p, sha256);
	return pg_cmd(s, P_CHUNK_DELETE, &p);
}

/* A chunk of a package or a bundle (key) at offset. */
static int
chunk_put(struct store *s, enum pst k, const char *key, uint64_t offset,
    const void *data, size_t len)
{
	struct params p = { .n = 0 };

	p_text(&p, key);
	p_int(&p, (int64_t)offset);
	p_bin(&p, data, len);
	return pg_cmd(s, k, &p);
}

static int
pg_chunk_add(struct store *s, const char *sha256, uint64_t offset,
    const void *data, size_t len)
{
	return chunk_put(s, P_CHUNK_ADD, sha256, offset, data, len);
}

static int
pg_package_size(struct store *s, const char *sha256, uint64_t *size)
{
	struct params	 p = { .n = 0 };
	PGresult	*r;
	int		 found;

	p_text(&p, sha256);
	if (pg_rows(s, P_PACKAGE_SIZE, &p, &r) == -1)
		return -1;
	if ((found = PQntuples(r) > 0))
		*size = (uint64_t)col_int(r, 0, 0);
	PQclear(r);
	return found;
}

/* A bigint column of a result in binary form (network byte order). */
static int64_t
col_bin_int(const PGresult *r, int row, int col)
{
	const unsigned char	*b;
	uint64_t		 v = 0;
	int			 i;

	if (PQgetlength(r, row, col) != 8)
		return -1;
	b = (const unsigned char *)PQgetvalue(r, row, col);
	for (i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return (int64_t)v;
}

/* Up to max bytes from offset, out of the chunk that holds it. */
static int
chunk_read(struct store *s, enum pst k, const char *key, uint64_t offset,
    void *buf, size_t max, size_t *n)
{
	struct params	 p = { .n = 0 };
	PGresult	*r;
	int64_t		 start;
	size_t		 len, skip;

	p_text(&p, key);
	p_int(&p, (int64_t)offset);
	/* Binary results: the chunk's bytes as they are, not as hex. */
	if (pg_rows(s, k, &p, &r) == -1)
		return -1;
	if (PQntuples(r) > 0 && (start = col_bin_int(r, 0, 0)) >= 0 &&
	    (uint64_t)start <= offset) {
		len = (size_t)PQgetlength(r, 0, 1);
		skip = (size_t)(offset - (uint64_t)start);
		/* A hole between chunks reads as nothing: the caller stops. */
		if (skip < len) {
			*n = len - skip < max ? len - skip : max;
			memcpy(buf, PQgetvalue(r, 0, 1) + skip, *n);
		}
	}
	PQclear(r);
	return 0;
}

static int
pg_package_chunk(struct store *s, const char *sha256, uint64_t offset,
    void *buf, size_t max, size_t *n)
{
	return chunk_read(s, P_CHUNK_GET, sha256, offset, buf, max, n);
}

static int
pg_bundle_add(struct store *s, const struct store_bundle *b, time_t now)
{
	struct params p = { .n = 0 };

	p_text(&p, b->id);
	p_text(&p, b->cluster);
	p_text(&p, b->sha256);
	p_int(&p, (int64_t)b->size);
	p_text(&p, b->source);
	p_text(&p, b->requested_by);
	p_text(&p, b->ticket);
	p_int(&p, b->message_id);
	p_text(&p, b->summary);
	p_int(&p, (int64_t)b->created);
	p_int(&p, (int64_t)now);
	return pg_cmd(s, P_BUNDLE_ADD, &p);
}

static int
pg_bundle_state(struct store *s, const char *id,
    struct store_bundle_state *bs)
{
	struct params	 p = { .n = 0 };
	PGresult	*r;
	int		 found;

	p_text(&p, id);
	if (pg_rows(s, P_BUNDLE_STATE, &p, &r) == -1)
		return -1;
	if ((found = PQntuples(r) > 0)) {
		snprintf(bs->cluster, sizeof(bs->cluster), "%s",
		    col_text(r, 0, 0));
		snprintf(bs->sha256, sizeof(bs->sha256), "%s",
		    col_text(r, 0, 1));
		bs->size = (uint64_t)col_int(r, 0, 2);
		bs->received = (uint64_t)col_int(r, 0, 3);
		bs->completed = (time_t)col_int(r, 0, 4);
	}
	PQclear(r);
	return found;
}

static int
pg_bundle_chunk_add(struct store *s, const char *id, uint64_t offset,
    const void *data, size_t len)
{
	return chunk_put(s, P_BUNDLE_CHUNK_ADD, id, offset, data, len);
}

static int
pg_bundle_mark(struct store *s, const char *id, uint64_t received,
    time_t completed)
{
	struct params p = { .n = 0 };

	p_text(&p, id);
	p_int(&p, (int64_t)received);
	p_int(&p, (int64_t)completed);
	return pg_cmd(s, P_BUNDLE_MARK, &p);
}

static int
pg_bundle_chunks_delete(struct store *s, const char *id)
{
	struct params p = { .n = 0 };

	p_text(&p, id);
	return pg_cmd(s, P_BUNDLE_CHUNKS_DELETE, &p);
}

static int
pg_bundle_chunk(struct store *s, const char *id, uint64_t offset, void *buf,
    size_t max, size_t *n)
{
	return chunk_read(s, P_BUNDLE_CHUNK_GET, id, offset, buf, max, n);
}

struct bundle_visit {
	store_bundle_fn	 fn;
	void		*arg;
};

static int
bundle_visit(const PGresult *r, int i, void *arg)
{
	struct bundle_visit	*v = arg;
	struct store_bundle	 b;

	b.id = col_text(r, i, 0);
	b.cluster = col_text(r, i, 1);
	b.sha256 = col_text(r, i, 2);
	b.size = (uint64_t)col_int(r, i, 3);
	b.source = col_text(r, i, 4);
	b.requested_by = col_text(r, i, 5);
	b.ticket = col_text(r, i, 6);
	b.message_id = col_int(r, i, 7);
	b.summary = col_text(r, i, 8);
	b.created = (time_t)col_int(r, i, 9);
	b.received = (uint64_t)col_int(r, i, 10);
	b.started = (time_t)col_int(r, i, 11);
	b.completed = (time_t)col_int(r, i, 12);
	return v->fn(&b, v->arg);
}

static int
pg_bundle_rows(struct store *s, const char *cluster, const char *id,
    store_bundle_fn fn, void *arg)
{
	struct bundle_visit	v = { fn, arg };
	struct params		p = { .n = 0 };

	p_text(&p, cluster);
	p_text(&p, id);
	return pg_list(s, P_BUNDLE_LIST, &p, bundle_visit, &v);
}

struct relay_visit {
	store_relay_fn	 fn;
	void		*arg;
};

static int
relay_visit(const PGresult *r, int i, void *arg)
{
	struct relay_visit	*v = arg;
	struct store_relay_row	 x;

	x.relay = col_text(r, i, 0);
	x.since = (time_t)col_int(r, i, 1);
	x.seen = (time_t)col_int(r, i, 2);
	return v->fn(&x, v->arg);
}

static int
pg_cluster_relays(struct store *s, const char *cluster, store_relay_fn fn,
    void *arg)
{
	struct relay_visit	v = { fn, arg };
	struct params		p = { .n = 0 };

	p_text(&p, cluster);
	return pg_list(s, P_CLUSTER_RELAYS, &p, relay_visit, &v);
}

struct registry_visit {
	store_registry_fn	 fn;
	void			*arg;
	int			 current;	/* only entries not removed */
	int			 found;
};

static int
registry_visit(const PGresult *r, int i, void *arg)
{
	struct registry_visit	*v = arg;
	struct store_registry	 x;

	x.id = col_text(r, i, 0);
	x.key = col_text(r, i, 1);
	x.trial = strcmp(col_text(r, i, 2), "trial") == 0;
	x.expires = (time_t)col_int(r, i, 3);
	x.overage = col_int(r, i, 4) != 0;
	x.added = (time_t)col_int(r, i, 5);
	x.removed = (time_t)col_int(r, i, 6);
	x.change = col_int(r, i, 7);
	if (v->current && x.removed != 0)
		return 0;
	v->found = 1;
	return v->fn(&x, v->arg);
}

static int
pg_registry_put(struct store *s, const struct store_registry *x,
    int replace, time_t now)
{
	struct params	 p = { .n = 0 };
	PGresult	*r;
	int		 had;

	if (pg_cmd(s, P_REG_LOCK, NULL) == -1)
		return -1;
	p_text(&p, x->id);
	if (pg_rows(s, P_REG_GET, &p, &r) == -1)
		return -1;
	had = PQntuples(r) > 0 && col_int(r, 0, 6) == 0;
	PQclear(r);
	if (had && !replace)
		return 2;
	p_text(&p, x->key);
	p_text(&p, x->trial ? "trial" : "full");
	p_int(&p, x->expires);
	p_int(&p, x->overage ? 1 : 0);
	p_int(&p, now);
	if (pg_cmd(s, P_REG_PUT, &p) == -1)
		return -1;
	return had;
}

static int
pg_registry_remove(struct store *s, const char *id, time_t now)
{
	struct params	 p = { .n = 0 };
	PGresult	*r;
	int		 changed;

	if (pg_cmd(s, P_REG_LOCK, NULL) == -1)
		return -1;
	p_text(&p, id);
	p_int(&p, now);
	if (pg_run(s, P_REG_REMOVE, &p, PGRES_COMMAND_OK, &r) == -1)
		return -1;
	changed = atoi(PQcmdTuples(r)) > 0;
	PQclear(r);
	return changed;
}

static int
pg_registry_get(struct store *s, const char *id, store_registry_fn fn,
    void *arg)
{
	struct registry_visit	v = { fn, arg, 1, 0 };
	struct params		p = { .n = 0 };

	p_text(&p, id);
	if (pg_list(s, P_REG_GET, &p, registry_visit, &v) != 0)
		return -1;
	return v.found;
}

static int
pg_registry_changes(struct store *s, int64_t after, store_registry_fn fn,
    void *arg)
{
	struct registry_visit	v = { fn, arg, 0, 0 };
	struct params		p = { .n = 0 };

	p_int(&p, after);
	return pg_list(s, P_REG_CHANGES, &p, registry_visit, &v);
}

static int
pg_registry_rows(struct store *s, store_registry_fn fn, void *arg)
{
	struct registry_visit v = { fn, arg, 1, 0 };

	return pg_list(s, P_REG_LIST, NULL, registry_visit, &v);
}

static int
pg_usage_range(struct store *s, const char *cluster, time_t since,
    time_t until, store_usage_fn fn, void *arg)
{
	struct usage_visit	v = { fn, arg };
	struct params		p = { .n = 0 };

	p_text(&p, cluster);
	p_int(&p, since);
	p_int(&p, until);
	return pg_list(s, P_USAGE_RANGE, &p, usage_visit, &v);
}

struct node_visit {
	store_node_fn	 fn;
	void		*arg;
};

static int
node_visit(const PGresult *r, int i, void *arg)
{
	struct node_visit	*v = arg;
	struct store_node_row	 x;

	x.node = col_text(r, i, 0);
	x.seq = col_int(r, i, 1);
	x.ts = (time_t)col_int(r, i, 2);
	x.body = col_text(r, i, 3);
	return v->fn(&x, v->arg);
}

static int
pg_node_rows(struct store *s, const char *cluster, store_node_fn fn,
    void *arg)
{
	struct node_visit	v = { fn, arg };
	struct params		p = { .n = 0 };

	p_text(&p, cluster);
	return pg_list(s, P_NODE_LIST, &p, node_visit, &v);
}

static int
pg_node_put(struct store *s, const char *cluster,
    const struct store_node_row *x)
{
	struct params p = { .n = 0 };

	p_text(&p, cluster);
	p_text(&p, x->node);
	p_int(&p, x->seq);
	p_int(&p, x->ts);
	p_text(&p, x->body);
	return pg_cmd(s, P_NODE_PUT, &p);
}

static int
pg_node_delete(struct store *s, const char *cluster, const char *node)
{
	struct params p = { .n = 0 };

	p_text(&p, cluster);
	p_text(&p, node);
	return pg_cmd(s, P_NODE_DELETE, &p);
}

struct service_visit {
	store_service_fn	 fn;
	void			*arg;
};

static int
service_visit(const PGresult *r, int i, void *arg)
{
	struct service_visit		*v = arg;
	struct store_service_row	 x;

	x.name = col_text(r, i, 0);
	x.seq = col_int(r, i, 1);
	x.ts = (time_t)col_int(r, i, 2);
	x.down = col_int(r, i, 3);
	x.body = col_text(r, i, 4);
	return v->fn(&x, v->arg);
}

static int
pg_service_rows(struct store *s, const char *cluster, store_service_fn fn,
    void *arg)
{
	struct service_visit	v = { fn, arg };
	struct params		p = { .n = 0 };

	p_text(&p, cluster);
	return pg_list(s, P_SERVICE_LIST, &p, service_visit, &v);
}

static int
pg_service_put(struct store *s, const char *cluster,
    const struct store_service_row *x)
{
	struct params p = { .n = 0 };

	p_text(&p, cluster);
	p_text(&p, x->name);
	p_int(&p, x->seq);
	p_int(&p, x->ts);
	p_int(&p, x->down);
	p_text(&p, x->body);
	return pg_cmd(s, P_SERVICE_PUT, &p);
}

/* A time that may be none (0): SQL's NULL. */
static void
p_time(struct params *p, time_t t)
{
	if (t == 0)
		p_text(p, NULL);
	else
		p_int(p, t);
}

struct alert_visit {
	store_alert_fn	 fn;
	void		*arg;
	const char	*cluster;	/* when the query has no column */
};

/* Columns: id, [cluster,] rule, subject, severity, text, times... */
static int
alert_visit(const PGresult *r, int i, void *arg)
{
	struct alert_visit	*v = arg;
	struct store_alert	 a;
	int			 c = v->cluster == NULL ? 2 : 1;

	a.id = col_int(r, i, 0);
	a.cluster = v->cluster != NULL ? v->cluster : col_text(r, i, 1);
	a.rule = col_text(r, i, c);
	a.subject = col_text(r, i, c + 1);
	a.severity = col_text(r, i, c + 2);
	a.text = col_text(r, i, c + 3);
	a.first_seen = (time_t)col_int(r, i, c + 4);
	a.last_seen = (time_t)col_int(r, i, c + 5);
	a.raised = (time_t)col_int(r, i, c + 6);
	a.cleared = (time_t)col_int(r, i, c + 7);
	return v->fn(&a, v->arg);
}

static int
pg_alert_open_rows(struct store *s, const char *cluster, store_alert_fn fn,
    void *arg)
{
	struct alert_visit	v = { fn, arg, cluster };
	struct params		p = { .n = 0 };

	p_text(&p, cluster);
	return pg_list(s, P_ALERT_OPEN, &p, alert_visit, &v);
}

static int
pg_alert_rows(struct store *s, const char *cluster, store_alert_fn fn,
    void *arg)
{
	struct alert_visit	v = { fn, arg, NULL };
	struct params		p = { .n = 0 };

	p_text(&p, cluster);
	return pg_list(s, P_ALERT_LIST, &p, alert_visit, &v);
}

static int
pg_alert_get(struct store *s, int64_t id, store_alert_fn fn, void *arg)
{
	struct alert_visit	v = { fn, arg, NULL };
	struct params		p = { .n = 0 };

	p_int(&p, id);
	return pg_list(s, P_ALERT_GET, &p, alert_visit, &v);
}

static int
pg_alert_put(struct store *s, const struct store_alert *a, int64_t *id,
    time_t *first, time_t *raised)
{
	struct params	 p = { .n = 0 };
	PGresult	*r;
	int		 rc = -1;

	p_text(&p, a->cluster);
	p_text(&p, a->rule);
	p_text(&p, a->subject);
	p_text(&p, a->severity);
	p_text(&p, a->text);
	p_int(&p, a->first_seen);
	p_int(&p, a->last_seen);
	p_time(&p, a->raised);
	if (pg_rows(s, P_ALERT_UPSERT, &p, &r) == -1)
		return -1;
	if (PQntuples(r) == 1) {
		*id = col_int(r, 0, 0);
		*first = (time_t)col_int(r, 0, 1);
		*raised = (time_t)col_int(r, 0, 2);
		rc = 0;
	} else
		store_be_error(s, "the alert stored is not there");
	PQclear(r);
	return rc;
}

static int
pg_alert_clear(struct store *s, int64_t id, time_t when)
{
	struct params	 p = { .n = 0 };
	PGresult	*r;
	int		 changed;

	p_int(&p, id);
	p_int(&p, when);
	if (pg_run(s, P_ALERT_CLEAR, &p, PGRES_COMMAND_OK, &r) == -1)
		return -1;
	changed = atoi(PQcmdTuples(r)) > 0;
	PQclear(r);
	return changed;
}

static int
pg_alert_drop(struct store *s, int64_t id)
{
	struct params p = { .n = 0 };

	p_int(&p, id);
	return pg_cmd(s, P_ALERT_DROP, &p);
}

static int
pg_alert_prune(struct store *s, time_t before)
{
	struct params p = { .n = 0 };

	p_int(&p, before);
	return pg_cmd(s, P_ALERT_PRUNE, &p);
}

struct offline_visit {
	store_offline_fn	 fn;
	void			*arg;
};

static int
offline_visit(const PGresult *r, int i, void *arg)
{
	struct offline_visit *v = arg;

	return v->fn(col_text(r, i, 0), (time_t)col_int(r, i, 1), v->arg);
}

static int
pg_offline_rows(struct store *s, time_t alive, time_t before,
    store_offline_fn fn, void *arg)
{
	struct offline_visit	v = { fn, arg };
	struct params		p = { .n = 0 };

	p_int(&p, before);
	p_int(&p, alive);
	return pg_list(s, P_OFFLINE_LIST, &p, offline_visit, &v);
}

/*
 * The key class of the advisory lock a cluster's new bundles are
 * counted under (the second key is the cluster's hashtext).
 */
#define PG_BUNDLE_LOCK		"1340398155"

/*
 * The bytes of cluster's bundles (bundle_fits in store.c), counted
 * under a lock held to the transaction's end: a second relay beginning
 * another bundle of the same cluster waits, then counts this one's
 * row.  Not a prepared statement: it runs once per new bundle.
 */
static int
pg_bundle_usage(struct store *s, const char *cluster, uint64_t *bytes)
{
	const char	*v[1] = { cluster };
	PGresult	*r;

	*bytes = 0;
	if (pg_ready(s) == -1)
		return -1;
	if (pg_result(s, PQexecParams(PG(s)->conn, "SELECT"
	    " pg_advisory_xact_lock(" PG_BUNDLE_LOCK ", hashtext($1))", 1,
	    NULL, v, NULL, NULL, 0), PGRES_TUPLES_OK, NULL) == -1 ||
	    pg_result(s, PQexecParams(PG(s)->conn, "SELECT"
	    " coalesce(sum(size), 0) FROM bundles WHERE cluster = $1", 1,
	    NULL, v, NULL, NULL, 0), PGRES_TUPLES_OK, &r) == -1)
		return -1;
	*bytes = (uint64_t)col_int(r, 0, 0);
	PQclear(r);
	return 0;
}

/* Bundle id's chunks, then its row (porthole-relay bundle remove). */
static int
pg_bundle_delete(struct store *s, const char *id)
{
	const char *v[1] = { id };

	if (pg_ready(s) == -1)
		return -1;
	if (pg_result(s, PQexecParams(PG(s)->conn, "DELETE FROM bundle_chunks"
	    " WHERE bundle = $1", 1, NULL, v, NULL, NULL, 0),
	    PGRES_COMMAND_OK, NULL) == -1 ||
	    pg_result(s, PQexecParams(PG(s)->conn, "DELETE FROM bundles"
	    " WHERE id = $1", 1, NULL, v, NULL, NULL, 0), PGRES_COMMAND_OK,
	    NULL) == -1)
		return -1;
	return 0;
}

const struct store_ops store_pg_ops = {
	.engine =		"PostgreSQL",
	.open =			pg_open,
	.close =		pg_close,
	.begin =		pg_begin,
	.commit =		pg_commit,
	.rollback =		pg_rollback,
	.cluster_add =		pg_cluster_add,
	.cluster_lock =		pg_cluster_lock,
	.cluster_seen =		pg_cluster_seen,
	.relay_started =	pg_relay_started,
	.relay_seen =		pg_relay_seen,
	.relay_down =		pg_relay_down,
	.connection =		pg_connection,
	.cluster_relays =	pg_cluster_relays,
	.registry_put =		pg_registry_put,
	.registry_remove =	pg_registry_remove,
	.registry_get =		pg_registry_get,
	.registry_changes =	pg_registry_changes,
	.registry_rows =	pg_registry_rows,
	.last_seq =		pg_last_seq,
	.records =		pg_records,
	.advance =		pg_advance,
	.batch_send =		pg_batch_send,
	.batch_wait =		pg_batch_wait,
	.batch_fd =		pg_batch_fd,
	.ready =		pg_ready,
	.cluster_get =		pg_cluster_get,
	.record_count =		pg_record_count,
	.health_counts =	pg_health_counts,
	.host_key =		pg_host_key,
	.anchor_other =		pg_anchor_other,
	.anchor_add =		pg_anchor_add,
	.usage_rows =		pg_usage_rows,
	.usage_range =		pg_usage_range,
	.event_rows =		pg_event_rows,
	.anchor_rows =		pg_anchor_rows,
	.message_add =		pg_message_add,
	.message_max =		pg_message_max,
	.messages_pending =	pg_messages_pending,
	.delivery_offered =	pg_delivery_offered,
	.delivery_acked =	pg_delivery_acked,
	.delivery_rows =	pg_delivery_rows,
	.chunks_delete =	pg_chunks_delete,
	.chunk_add =		pg_chunk_add,
	.package_size =		pg_package_size,
	.package_chunk =	pg_package_chunk,
	.node_rows =		pg_node_rows,
	.node_put =		pg_node_put,
	.node_delete =		pg_node_delete,
	.service_rows =		pg_service_rows,
	.service_put =		pg_service_put,
	.alert_open_rows =	pg_alert_open_rows,
	.alert_rows =		pg_alert_rows,
	.alert_get =		pg_alert_get,
	.alert_put =		pg_alert_put,
	.alert_clear =		pg_alert_clear,
	.alert_drop =		pg_alert_drop,
	.alert_prune =		pg_alert_prune,
	.offline_rows =		pg_offline_rows,
	.bundle_add =		pg_bundle_add,
	.bundle_state =		pg_bundle_state,
	.bundle_chunk_add =	pg_bundle_chunk_add,
	.bundle_mark =		pg_bundle_mark,
	.bundle_chunks_delete =	pg_bundle_chunks_delete,
	.bundle_chunk =		pg_bundle_chunk,
	.bundle_rows =		pg_bundle_rows,
	.bundle_usage =		pg_bundle_usage,
	.bundle_delete =	pg_bundle_delete,
};
