/*
 * store.c - the relay's embedded store: one SQLite database in WAL mode.
 *
 * The sequence numbers are the contract with the gateway.  The records
 * table holds every (cluster, seq) ever stored and is the dedupe key:
 * a record is applied (its hour's usage set, a health snapshot or an
 * event added) only in the transaction that first inserted its key, so
 * a batch resent after a reconnect changes nothing.  A usage record is
 * its hour's total, so one sent twice under two seqs counts once too.  clusters.last_seq is the highest seq
 * below which nothing is missing, and it is what the relay acks.
 *
 * Every statement is prepared once at open and every value from the
 * network is bound, never pasted into SQL.
 */
#include "relay/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "lib/ident.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/sha256.h"
#include "telemetry/record.h"

#define STORE_SCHEMA_VERSION	3
#define STORE_BUSY_MS		5000	/* wait this long for a lock */
#define STORE_BATCH_MAX		100000	/* records in one batch */
#define STORE_ID_MAX		64
#define STORE_VERSION_MAX	64
#define STORE_HEAD_LEN		64

enum store_class {
	SC_USAGE,
	SC_EVENT,
	SC_HEALTH
};

static const char *const class_names[] = {
	[SC_USAGE] = "usage",
	[SC_EVENT] = "event",
	[SC_HEALTH] = "health"
};

/* The prepared statements, one per thing the store does. */
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
	ST_HEALTH_LATEST,
	ST_EVENT_ADD,
	ST_EVENT_LIST,
	ST_ANCHOR_OTHER,
	ST_ANCHOR_ADD,
	ST_DISCONNECT_ALL,
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
	ST_BUNDLE_ADD,
	ST_BUNDLE_GET,
	ST_BUNDLE_RECEIVED,
	ST_BUNDLE_CHUNK_ADD,
	ST_BUNDLE_CHUNKS,
	ST_BUNDLE_CHUNKS_DELETE,
	ST_BUNDLE_LIST,
	ST__COUNT
};

static const char *const stmt_sql[ST__COUNT] = {
	[ST_DISCONNECT_ALL] = "UPDATE clusters SET connected = 0",
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
	[ST_HEALTH_LATEST] =
	    "SELECT snapshot FROM health WHERE cluster = ?1"
	    " ORDER BY seq DESC LIMIT 1",
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
	[ST_BUNDLE_GET] =
	    "SELECT cluster, sha256, size, received, completed FROM bundles"
	    " WHERE id = ?1",
	[ST_BUNDLE_RECEIVED] =
	    "UPDATE bundles SET received = ?2, completed = ?3 WHERE id = ?1",
	[ST_BUNDLE_CHUNK_ADD] =
	    "INSERT INTO bundle_chunks (bundle, \"offset\", data)"
	    " VALUES (?1, ?2, ?3)",
	[ST_BUNDLE_CHUNKS] =
	    "SELECT \"offset\", data FROM bundle_chunks WHERE bundle = ?1"
	    " AND \"offset\" + length(data) > ?2 ORDER BY \"offset\"",
	[ST_BUNDLE_CHUNKS_DELETE] = "DELETE FROM bundle_chunks WHERE bundle = ?1",
	[ST_BUNDLE_LIST] =
	    "SELECT id, cluster, sha256, size, source, requested_by, ticket,"
	    " message_id, summary, created, received, started, completed"
	    " FROM bundles WHERE (?1 IS NULL OR cluster = ?1)"
	    " AND (?2 IS NULL OR id = ?2) ORDER BY started DESC, id",
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
 * Version 3: support bundles the gateways upload.  A bundle's row says
 * what the gateway announced (its SHA-256 and size among it) and how
 * many bytes are stored; the bytes are in chunks keyed by their offset,
 * each one a piece the gateway sent.  completed is when the last piece
 * came and the whole matched its SHA-256 (0: not yet).
 */
static const char schema_v3_sql[] =
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

/* migrations[v] takes a database from schema version v to v + 1. */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
	schema_v1_sql,
	schema_v2_sql,
	schema_v3_sql,
};

struct store {
	sqlite3		*db;
	char		*path;
	sqlite3_stmt	*st[ST__COUNT];
};

/* One record of a batch, checked before the transaction starts. */
struct item {
	int64_t		 seq;
	enum store_class cls;
	json_t		*rec;		/* borrowed from the batch */
	int64_t		 hour;		/* usage */
	const char	*env;		/* usage */
	const char	*ts;		/* event, health */
	const char	*type;		/* event */
};

/* Cluster ids, as relay.conf has them. */
static int
valid_id(const char *s)
{
	return ident_valid(s, STORE_ID_MAX, IDENT_NAME);
}

/*
 * UTF-8 without C0 controls or DEL.  UTF-8, so that the JSON reports
 * can give the value exactly; what else a terminal must not see (C1
 * controls) the human reports escape (lib/escape).
 */
static int
valid_printable(const char *s, size_t max)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > max || !parse_utf8(s, n))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return 0;
	return 1;
}

/* Why a statement failed, for an error buffer. */
static void
db_why(struct store *s, char *why, size_t whylen, const char *what)
{
	snprintf(why, whylen, "%s: %s: %s", s->path, what,
	    sqlite3_errmsg(s->db));
}

/* Why a statement failed, for functions that have no error buffer. */
static int
db_fail(struct store *s, const char *what)
{
	log_error("%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
	return -1;
}

/*
 * A statement ready for binding.  Statements are reset after use as
 * well (stmt_done): an unfinished SELECT keeps a read snapshot open,
 * which would stop WAL checkpoints.
 */
static sqlite3_stmt *
stmt_get(struct store *s, enum stmt k)
{
	sqlite3_stmt *st = s->st[k];

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

/* Run a statement that returns no rows.  0 or -1. */
static int
stmt_run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	/* The connection keeps the error message for db_why() after this. */
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

static int
tx_begin(struct store *s)
{
	return stmt_run(stmt_get(s, ST_BEGIN));
}

static int
tx_commit(struct store *s)
{
	return stmt_run(stmt_get(s, ST_COMMIT));
}

static void
tx_rollback(struct store *s)
{
	/* Nothing to add if this fails too: SQLite rolls back on close. */
	if (sqlite3_get_autocommit(s->db) == 0)
		(void)stmt_run(stmt_get(s, ST_ROLLBACK));
}

/* A single-value pragma whose answer must be want (NULL: any). */
static int
pragma(struct store *s, const char *sql, const char *want, char *err,
    size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	const char	*got;
	int		 rc = -1;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		db_why(s, err, errlen, sql);
		goto out;
	}
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		got = (const char *)sqlite3_column_text(st, 0);
		if (want != NULL && (got == NULL || strcmp(got, want) != 0)) {
			snprintf(err, errlen, "%s: %s: got '%s', not '%s'",
			    s->path, sql, got == NULL ? "" : got, want);
			goto out;
		}
		break;
	case SQLITE_DONE:
		break;
	default:
		db_why(s, err, errlen, sql);
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

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st,
	    NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		db_why(s, err, errlen, "reading the schema version");
		goto out;
	}
	*version = sqlite3_column_int(st, 0);
	if (*version < 0 || *version > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s: schema version %d, this relay "
		    "knows version %d", s->path, *version,
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
	char	*msg = NULL, sql[64];
	int	 version, v, rc = -1;

	if (schema_version(s, &version, err, errlen) == -1)
		return -1;
	if (version == STORE_SCHEMA_VERSION)
		return 0;
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) !=
	    SQLITE_OK)
		goto sqlfail;
	if (schema_version(s, &version, err, errlen) == -1)
		goto out;
	for (v = version; v < STORE_SCHEMA_VERSION; v++)
		if (sqlite3_exec(s->db, migrations[v], NULL, NULL, &msg) !=
		    SQLITE_OK)
			goto sqlfail;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d; COMMIT",
	    STORE_SCHEMA_VERSION);
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK)
		goto sqlfail;
	if (version != 0)
		log_info("%s: schema version %d brought up to %d", s->path,
		    version, STORE_SCHEMA_VERSION);
	rc = 0;
	goto out;
sqlfail:
	snprintf(err, errlen, "%s: %s the tables: %s", s->path,
	    version == 0 ? "creating" : "migrating",
	    msg != NULL ? msg : sqlite3_errmsg(s->db));
out:
	if (rc == -1 && sqlite3_get_autocommit(s->db) == 0)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_free(msg);
	return rc;
}

static int
prepare_all(struct store *s, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < ST__COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK) {
			db_why(s, err, errlen, stmt_sql[i]);
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
		    "started on it yet)", s->path);
		return -1;
	}
	if (version < STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s: schema version %d, from an older "
		    "relay: start porthole-relay on it once to bring it up to "
		    "version %d", s->path, version, STORE_SCHEMA_VERSION);
		return -1;
	}
	return 0;
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
	int one = 1;

	if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", s->path, s->db == NULL ?
		    "out of memory" : sqlite3_errmsg(s->db));
		return -1;
	}
	if (sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
	    NULL) != SQLITE_OK || sqlite3_file_control(s->db, "main",
	    SQLITE_FCNTL_PERSIST_WAL, &one) != SQLITE_OK) {
		db_why(s, err, errlen, "making the connection read-only");
		return -1;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
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
	if ((fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY,
	    0600)) == -1) {
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		return -1;
	}
	close(fd);
	if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", s->path, s->db == NULL ?
		    "out of memory" : sqlite3_errmsg(s->db));
		return -1;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
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
store_open_as(const char *path, int readonly, struct store **out, char *err,
    size_t errlen)
{
	struct store	*s = NULL;
	int		 rc = -1;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if ((readonly ? open_readonly(s, err, errlen) :
	    open_writer(s, err, errlen)) == -1 ||
	    prepare_all(s, err, errlen) == -1)
		goto out;
	*out = s;
	s = NULL;
	rc = 0;
out:
	store_close(s);
	return rc;
}

int
store_open(const char *path, struct store **out, char *err, size_t errlen)
{
	return store_open_as(path, 0, out, err, errlen);
}

int
store_open_readonly(const char *path, struct store **out, char *err,
    size_t errlen)
{
	return store_open_as(path, 1, out, err, errlen);
}

void
store_close(struct store *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->st[i]);
	/* close_v2: the handle goes once nothing else refers to it. */
	sqlite3_close_v2(s->db);
	free(s->path);
	free(s);
}

int
store_cluster_seen(struct store *s, const char *cluster, time_t now,
    const char *version, int connected)
{
	sqlite3_stmt *st;

	if (!valid_id(cluster)) {
		log_error("%s: invalid cluster id", s->path);
		return -1;
	}
	if (version != NULL && !valid_printable(version, STORE_VERSION_MAX)) {
		log_error("%s: cluster %s: invalid gateway version", s->path,
		    cluster);
		return -1;
	}
	st = stmt_get(s, ST_CLUSTER_SEEN);
	if (bind_text(st, 1, cluster) == -1 || bind_int(st, 2, now) == -1 ||
	    bind_int(st, 3, connected ? 1 : 0) == -1 ||
	    (version != NULL && bind_text(st, 4, version) == -1) ||
	    stmt_run(st) == -1)
		return db_fail(s, "recording a connection");
	return 0;
}

int
store_relay_started(struct store *s)
{
	if (stmt_run(stmt_get(s, ST_DISCONNECT_ALL)) == -1)
		return db_fail(s, "resetting connections");
	return 0;
}

/*
 * One element of a batch: {"seq":N,"class":C,"record":{...}}.  The
 * record is judged by the rules the gateway took it in under
 * (telemetry/record.h); what applying it needs is then read from it.
 */
static int
check_item(json_t *el, int64_t prev, struct item *it, char *m, size_t len)
{
	json_t		*seq;
	const char	*cls;
	time_t		 hour;
	size_t		 c;

	seq = json_object_get(el, "seq");
	if (!json_is_integer(seq) || json_integer_value(seq) <= 0) {
		snprintf(m, len, "'seq' must be a positive integer");
		return -1;
	}
	it->seq = json_integer_value(seq);
	if (it->seq <= prev) {
		snprintf(m, len, "seq %" PRId64 " does not follow %" PRId64,
		    it->seq, prev);
		return -1;
	}
	cls = json_string_value(json_object_get(el, "class"));
	for (c = 0; cls != NULL && c < sizeof(class_names) /
	    sizeof(class_names[0]); c++)
		if (strcmp(cls, class_names[c]) == 0)
			break;
	if (cls == NULL || c == sizeof(class_names) / sizeof(class_names[0])) {
		snprintf(m, len, "'class' must be usage, event or health");
		return -1;
	}
	it->cls = (enum store_class)c;
	if (!json_is_object(it->rec = json_object_get(el, "record"))) {
		snprintf(m, len, "'record' must be an object");
		return -1;
	}
	if (record_check(it->rec, record_class_from_name(cls), m, len) == -1)
		return -1;
	it->env = json_string_value(json_object_get(it->rec, "environment"));
	it->type = json_string_value(json_object_get(it->rec, "type"));
	it->ts = json_string_value(json_object_get(it->rec, "ts"));
	if (it->cls == SC_USAGE && parse_time(json_string_value(
	    json_object_get(it->rec, "hour")), &hour) == 0)
		it->hour = hour;
	return 0;
}

/* Check a whole batch before anything is written. */
static int
check_batch(json_t *records, struct item **out, size_t *nout, char *why,
    size_t whylen)
{
	struct item	*items = NULL;
	char		 m[256];
	size_t		 i, n;
	int64_t		 prev = 0;

	*out = NULL;
	*nout = 0;
	if (!json_is_array(records)) {
		snprintf(why, whylen, "records must be an array");
		return -1;
	}
	if ((n = json_array_size(records)) > STORE_BATCH_MAX) {
		snprintf(why, whylen, "%zu records in one batch (at most %d)",
		    n, STORE_BATCH_MAX);
		return -1;
	}
	if (n > 0 && (items = calloc(n, sizeof(*items))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!json_is_object(json_array_get(records, i))) {
			snprintf(why, whylen, "record %zu: not an object", i);
			goto fail;
		}
		if (check_item(json_array_get(records, i), prev, &items[i], m,
		    sizeof(m)) == -1) {
			if (items[i].seq > 0)
				snprintf(why, whylen, "record %zu (seq %" PRId64
				    "): %s", i, items[i].seq, m);
			else
				snprintf(why, whylen, "record %zu: %s", i, m);
			goto fail;
		}
		prev = items[i].seq;
	}
	*out = items;
	*nout = n;
	return 0;
fail:
	free(items);
	return -1;
}

static int
apply_usage(struct store *s, const char *cluster, const struct item *it)
{
	sqlite3_stmt	*st;
	const char	*key;
	json_t		*v;

	st = stmt_get(s, ST_USAGE_CLEAR);
	if (bind_text(st, 1, cluster) == -1 || bind_int(st, 2, it->hour) == -1 ||
	    bind_text(st, 3, it->env) == -1 || stmt_run(st) == -1)
		return -1;
	json_object_foreach(json_object_get(it->rec, "units"), key, v) {
		st = stmt_get(s, ST_USAGE_SET);
		if (bind_text(st, 1, cluster) == -1 ||
		    bind_int(st, 2, it->hour) == -1 ||
		    bind_text(st, 3, it->env) == -1 ||
		    bind_text(st, 4, key) == -1 ||
		    sqlite3_bind_double(st, 5, json_number_value(v)) !=
		    SQLITE_OK || stmt_run(st) == -1)
			return -1;
	}
	return 0;
}

/* Health and events keep the whole record as compact JSON. */
static int
apply_body(struct store *s, const char *cluster, const struct item *it)
{
	sqlite3_stmt	*st;
	char		*body;
	int		 rc = -1;

	if ((body = json_dumps(it->rec, JSON_COMPACT)) == NULL)
		return -1;
	if (it->cls == SC_HEALTH) {
		st = stmt_get(s, ST_HEALTH_ADD);
		if (bind_text(st, 3, it->ts) == -1 ||
		    bind_text(st, 4, body) == -1)
			goto out;
	} else {
		st = stmt_get(s, ST_EVENT_ADD);
		if (bind_text(st, 3, it->ts) == -1 ||
		    bind_text(st, 4, it->type) == -1 ||
		    bind_text(st, 5, body) == -1)
			goto out;
	}
	if (bind_text(st, 1, cluster) == -1 || bind_int(st, 2, it->seq) == -1)
		goto out;
	/* stmt_run() resets the statement, so body is unbound before free. */
	rc = stmt_run(st);
out:
	stmt_done(st);
	free(body);
	return rc;
}

/*
 * Insert one record's key; only if it is new, apply the record.  Sets
 * *health when a health snapshot was added.
 */
static int
apply_item(struct store *s, const char *cluster, const struct item *it,
    time_t now, int *health)
{
	sqlite3_stmt *st;

	st = stmt_get(s, ST_RECORD_ADD);
	if (bind_text(st, 1, cluster) == -1 || bind_int(st, 2, it->seq) == -1 ||
	    bind_text(st, 3, class_names[it->cls]) == -1 ||
	    bind_int(st, 4, now) == -1 || stmt_run(st) == -1)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return 0;	/* a duplicate: applied when it first came */
	switch (it->cls) {
	case SC_USAGE:
		return apply_usage(s, cluster, it);
	case SC_HEALTH:
		*health = 1;
		return apply_body(s, cluster, it);
	case SC_EVENT:
		return apply_body(s, cluster, it);
	}
	return -1;
}

/* clusters.last_seq, 0 if the cluster is unknown.  0 or -1. */
static int
last_seq(struct store *s, const char *cluster, int64_t *seq)
{
	sqlite3_stmt	*st;
	int		 rc;

	*seq = 0;
	st = stmt_get(s, ST_CLUSTER_GET);
	if (bind_text(st, 1, cluster) == -1)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*seq = sqlite3_column_int64(st, 4);
	stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/*
 * The new high-water mark: the highest seq stored.  Holes are expected
 * (the spool drops health records it never sent); that nothing sent was
 * lost is the channel's check (mc.c: each batch names the seq it
 * follows).
 */
static int64_t
batch_high(int64_t last, const struct item *items, size_t n)
{
	int64_t	 high = last;
	size_t	 i;

	for (i = 0; i < n; i++)
		if (items[i].seq > high)
			high = items[i].seq;
	return high;
}

int
store_records(struct store *s, const char *cluster, json_t *records,
    time_t now, uint64_t *acked, char *why, size_t whylen)
{
	struct item	*items = NULL;
	sqlite3_stmt	*st;
	size_t		 i, n;
	int64_t		 last, high;
	int		 health = 0, rc = -1;

	*acked = 0;
	if (!valid_id(cluster)) {
		snprintf(why, whylen, "invalid cluster id");
		return -1;
	}
	if (check_batch(records, &items, &n, why, whylen) == -1)
		return -1;
	if (tx_begin(s) == -1) {
		db_why(s, why, whylen, "begin");
		goto out;
	}
	st = stmt_get(s, ST_CLUSTER_ADD);
	if (bind_text(st, 1, cluster) == -1 || bind_int(st, 2, now) == -1 ||
	    stmt_run(st) == -1 || last_seq(s, cluster, &last) == -1) {
		db_why(s, why, whylen, cluster);
		goto out;
	}
	high = batch_high(last, items, n);
	for (i = 0; i < n; i++) {
		if (apply_item(s, cluster, &items[i], now, &health) == -1) {
			db_why(s, why, whylen, "storing a record");
			goto out;
		}
	}
	if (health) {
		st = stmt_get(s, ST_HEALTH_PRUNE);
		if (bind_text(st, 1, cluster) == -1 ||
		    bind_int(st, 2, STORE_HEALTH_KEEP) == -1 ||
		    stmt_run(st) == -1) {
			db_why(s, why, whylen, "pruning health");
			goto out;
		}
	}
	st = stmt_get(s, ST_CLUSTER_ADVANCE);
	if (bind_text(st, 1, cluster) == -1 || bind_int(st, 2, high) == -1 ||
	    bind_int(st, 3, now) == -1 || stmt_run(st) == -1) {
		db_why(s, why, whylen, "advancing the seq");
		goto out;
	}
	/* Only a returned COMMIT is durable; only then is there an ack. */
	if (tx_commit(s) == -1) {
		db_why(s, why, whylen, "commit");
		goto out;
	}
	*acked = (uint64_t)high;
	rc = 0;
out:
	if (rc == -1)
		tx_rollback(s);
	free(items);
	return rc;
}

int
store_last_seq(struct store *s, const char *cluster, uint64_t *seq)
{
	int64_t v;

	*seq = 0;
	if (last_seq(s, cluster, &v) == -1)
		return db_fail(s, "reading the last seq");
	*seq = (uint64_t)v;
	return 0;
}

/* Log when a cluster sends a second head for a sealed position. */
static int
anchor_other(struct store *s, const char *cluster, uint64_t epoch,
    uint64_t seq, const char *head)
{
	sqlite3_stmt	*st;
	int		 rc;

	st = stmt_get(s, ST_ANCHOR_OTHER);
	if (bind_text(st, 1, cluster) == -1 || bind_int(st, 2, epoch) == -1 ||
	    bind_int(st, 3, seq) == -1 || bind_text(st, 4, head) == -1)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		log_warn("cluster %s: audit anchor epoch %" PRIu64 " seq %"
		    PRIu64 " has head %s, earlier %s: the log was rewritten",
		    cluster, epoch, seq, head, sqlite3_column_text(st, 0));
	stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int
store_anchor(struct store *s, const char *cluster, uint64_t epoch,
    uint64_t seq, const char *head, time_t now)
{
	sqlite3_stmt	*st;
	int		 rc = -1;

	if (!valid_id(cluster) || epoch > INT64_MAX || seq > INT64_MAX ||
	    head == NULL || strlen(head) != STORE_HEAD_LEN ||
	    !ident_valid(head, STORE_HEAD_LEN, IDENT_HEX)) {
		log_error("%s: invalid audit anchor", s->path);
		return -1;
	}
	if (tx_begin(s) == -1) {
		db_fail(s, "begin");
		return -1;
	}
	st = stmt_get(s, ST_CLUSTER_ADD);
	if (bind_text(st, 1, cluster) == -1 || bind_int(st, 2, now) == -1 ||
	    stmt_run(st) == -1 ||
	    anchor_other(s, cluster, epoch, seq, head) == -1) {
		db_fail(s, "storing an anchor");
		goto out;
	}
	st = stmt_get(s, ST_ANCHOR_ADD);
	if (bind_text(st, 1, cluster) == -1 || bind_int(st, 2, epoch) == -1 ||
	    bind_int(st, 3, seq) == -1 || bind_text(st, 4, head) == -1 ||
	    bind_int(st, 5, now) == -1 || stmt_run(st) == -1 ||
	    tx_commit(s) == -1) {
		db_fail(s, "storing an anchor");
		goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		tx_rollback(s);
	return rc;
}

/*
 * What a health snapshot lists: its nodes and services, and how many of
 * those services are up.  A service counts as up when it says "up":
 * true or "state": "up"; anything else is down.
 */
static void
health_counts(const char *snapshot, struct store_cluster_info *ci)
{
	json_t		*j, *nodes, *services, *svc, *up;
	const char	*state;
	size_t		 i, nup = 0;

	ci->health_nodes = ci->health_services = ci->health_services_up = -1;
	if ((j = json_loads(snapshot, 0, NULL)) == NULL)
		return;
	ci->has_health = 1;
	if (json_is_array(nodes = json_object_get(j, "nodes")))
		ci->health_nodes = (int64_t)json_array_size(nodes);
	if (json_is_array(services = json_object_get(j, "services"))) {
		json_array_foreach(services, i, svc) {
			up = json_object_get(svc, "up");
			state = json_string_value(json_object_get(svc,
			    "state"));
			if (json_is_true(up) ||
			    (state != NULL && strcmp(state, "up") == 0))
				nup++;
		}
		ci->health_services = (int64_t)json_array_size(services);
		ci->health_services_up = (int64_t)nup;
	}
	json_decref(j);
}

/* The newest health snapshot's counts; has_health stays 0 if none. */
static int
latest_health(struct store *s, const char *cluster,
    struct store_cluster_info *ci)
{
	sqlite3_stmt	*st;
	int		 rc;

	st = stmt_get(s, ST_HEALTH_LATEST);
	if (bind_text(st, 1, cluster) == -1)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		health_counts((const char *)sqlite3_column_text(st, 0), ci);
	stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int
store_cluster_info(struct store *s, const char *cluster,
    struct store_cluster_info *ci)
{
	sqlite3_stmt	*st;
	const char	*v;
	int		 rc;

	memset(ci, 0, sizeof(*ci));
	st = stmt_get(s, ST_CLUSTER_GET);
	if (bind_text(st, 1, cluster) == -1)
		return db_fail(s, "reading a cluster");
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ci->first_seen = (time_t)sqlite3_column_int64(st, 0);
		ci->last_contact = (time_t)sqlite3_column_int64(st, 1);
		ci->connected = sqlite3_column_int(st, 2);
		if ((v = (const char *)sqlite3_column_text(st, 3)) != NULL)
			snprintf(ci->version, sizeof(ci->version), "%s", v);
		ci->last_seq = (uint64_t)sqlite3_column_int64(st, 4);
		if ((v = (const char *)sqlite3_column_text(st, 5)) != NULL)
			snprintf(ci->host_key, sizeof(ci->host_key), "%s", v);
	}
	stmt_done(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_fail(s, "reading a cluster");
	st = stmt_get(s, ST_RECORD_COUNT);
	if (bind_text(st, 1, cluster) == -1 ||
	    sqlite3_step(st) != SQLITE_ROW) {
		stmt_done(st);
		return db_fail(s, "counting records");
	}
	ci->records = (uint64_t)sqlite3_column_int64(st, 0);
	stmt_done(st);
	if (latest_health(s, cluster, ci) == -1)
		return db_fail(s, "reading health");
	return 1;
}

/*
 * Step a bound list statement, handing each row to visit.  0 when all
 * were given; -1 when visit stopped (it said why) or SQLite failed
 * (logged as what).
 */
static int
rows(struct store *s, sqlite3_stmt *st, const char *what,
    int (*visit)(sqlite3_stmt *, void *), void *arg)
{
	int step, stopped = 0;

	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		if ((stopped = visit(st, arg)) == -1)
			break;
	stmt_done(st);
	if (stopped == -1)
		return -1;
	if (step != SQLITE_DONE)
		return db_fail(s, what);
	return 0;
}

/* A list statement for one cluster, bound.  NULL after logging. */
static sqlite3_stmt *
cluster_list(struct store *s, enum stmt k, const char *cluster,
    const char *what)
{
	sqlite3_stmt *st = stmt_get(s, k);

	if (bind_text(st, 1, cluster) == -1) {
		db_fail(s, what);
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

int
store_usage_rows(struct store *s, const char *cluster, store_usage_fn fn,
    void *arg)
{
	struct usage_visit	 v = { fn, arg };
	sqlite3_stmt		*st;

	if ((st = cluster_list(s, ST_USAGE_LIST, cluster,
	    "listing usage")) == NULL)
		return -1;
	return rows(s, st, "listing usage", usage_visit, &v);
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

int
store_event_rows(struct store *s, const char *cluster, store_event_fn fn,
    void *arg)
{
	struct event_visit	 v = { fn, arg };
	sqlite3_stmt		*st;

	if ((st = cluster_list(s, ST_EVENT_LIST, cluster,
	    "listing events")) == NULL)
		return -1;
	return rows(s, st, "listing events", event_visit, &v);
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

int
store_anchor_rows(struct store *s, const char *cluster, store_anchor_fn fn,
    void *arg)
{
	struct anchor_visit	 v = { fn, arg };
	sqlite3_stmt		*st;

	if ((st = cluster_list(s, ST_ANCHOR_LIST, cluster,
	    "listing anchors")) == NULL)
		return -1;
	return rows(s, st, "listing anchors", anchor_visit, &v);
}

int
store_host_key(struct store *s, const char *cluster, const char *key)
{
	sqlite3_stmt *st;

	if (!valid_id(cluster) || !valid_printable(key, STORE_HOST_KEY_MAX))
		return -1;
	st = stmt_get(s, ST_HOST_KEY);
	if (bind_text(st, 1, cluster) == -1 || bind_text(st, 2, key) == -1 ||
	    stmt_run(st) == -1)
		return db_fail(s, "recording a host key");
	return 0;
}

/* A message kind: [a-z0-9_]{1,STORE_KIND_MAX}. */
int
store_valid_kind(const char *kind)
{
	return ident_valid(kind, STORE_KIND_MAX, IDENT_SNAKE);
}

/* A message body: one JSON object of at most STORE_BODY_MAX bytes. */
static int
valid_body(const char *body, char *why, size_t whylen)
{
	json_t	*j;
	size_t	 n = strlen(body);

	if (n > STORE_BODY_MAX) {
		snprintf(why, whylen, "a message body of %zu bytes (at most "
		    "%d)", n, STORE_BODY_MAX);
		return 0;
	}
	if ((j = json_loadb(body, n, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(j)) {
		json_decref(j);
		snprintf(why, whylen, "a message body must be a JSON object");
		return 0;
	}
	json_decref(j);
	return 1;
}

/*
 * The package's chunks, read from pkg->fd: each STORE_CHUNK bytes (the
 * last one shorter), hashed on the way.  Inside the caller's
 * transaction; 0, or -1 with why.
 */
static int
put_package(struct store *s, const struct store_package *pkg, char *why,
    size_t whylen)
{
	struct sha256	*h = NULL;
	sqlite3_stmt	*st;
	unsigned char	*buf = NULL;
	char		 hex[SHA256_HEX_LEN + 1];
	uint64_t	 off = 0;
	size_t		 have;
	ssize_t		 n;
	int		 rc = -1;

	st = stmt_get(s, ST_CHUNK_DELETE);
	if (bind_text(st, 1, pkg->sha256) == -1 || stmt_run(st) == -1) {
		db_why(s, why, whylen, "replacing a package");
		return -1;
	}
	if ((buf = malloc(STORE_CHUNK)) == NULL || (h = sha256_new()) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	for (;;) {
		/* Fill a whole chunk: read() may return less. */
		for (have = 0; have < STORE_CHUNK; have += (size_t)n) {
			n = read(pkg->fd, buf + have, STORE_CHUNK - have);
			if (n == -1 && errno == EINTR) {
				n = 0;
				continue;
			}
			if (n == -1) {
				snprintf(why, whylen, "%s: %s", pkg->name,
				    strerror(errno));
				goto out;
			}
			if (n == 0)
				break;
		}
		if (have == 0)
			break;
		if (off + have > pkg->size) {
			snprintf(why, whylen, "%s: more than the %" PRIu64
			    " bytes the notice says", pkg->name, pkg->size);
			goto out;
		}
		sha256_update(h, buf, have);
		st = stmt_get(s, ST_CHUNK_ADD);
		if (bind_text(st, 1, pkg->sha256) == -1 ||
		    bind_int(st, 2, (int64_t)off) == -1 ||
		    sqlite3_bind_blob(st, 3, buf, (int)have, SQLITE_STATIC) !=
		    SQLITE_OK || stmt_run(st) == -1) {
			db_why(s, why, whylen, "storing a package chunk");
			goto out;
		}
		off += have;
		if (have < STORE_CHUNK)
			break;
	}
	sha256_final(h, hex);
	h = NULL;
	if (off != pkg->size) {
		snprintf(why, whylen, "%s: %" PRIu64 " bytes, the notice says %"
		    PRIu64, pkg->name, off, pkg->size);
		goto out;
	}
	if (strcmp(hex, pkg->sha256) != 0) {
		snprintf(why, whylen, "%s: SHA-256 %s, the notice says %s",
		    pkg->name, hex, pkg->sha256);
		goto out;
	}
	rc = 0;
out:
	sha256_free(h);
	free(buf);
	return rc;
}

int
store_message_add(struct store *s, const char *cluster, const char *kind,
    const char *body, const struct store_package *pkg, time_t now,
    int64_t *id, char *why, size_t whylen)
{
	sqlite3_stmt	*st;
	int		 rc = -1;

	*id = 0;
	if (cluster != NULL && !valid_id(cluster)) {
		snprintf(why, whylen, "invalid cluster id");
		return -1;
	}
	if (!store_valid_kind(kind)) {
		snprintf(why, whylen, "a message kind must be 1-%d of a-z 0-9 _",
		    STORE_KIND_MAX);
		return -1;
	}
	if (!valid_body(body, why, whylen))
		return -1;
	if (pkg != NULL && (!sha256_valid_hex(pkg->sha256) || pkg->size == 0 ||
	    pkg->size > INT64_MAX)) {
		snprintf(why, whylen, "a package needs a SHA-256 and a size");
		return -1;
	}
	if (tx_begin(s) == -1) {
		db_why(s, why, whylen, "begin");
		goto out;
	}
	/* The package first: a gateway told of it can fetch it at once. */
	if (pkg != NULL && put_package(s, pkg, why, whylen) == -1)
		goto out;
	st = stmt_get(s, ST_MSG_ADD);
	if ((cluster != NULL && bind_text(st, 1, cluster) == -1) ||
	    bind_text(st, 2, kind) == -1 || bind_text(st, 3, body) == -1 ||
	    bind_int(st, 4, now) == -1 || stmt_run(st) == -1) {
		db_why(s, why, whylen, "storing a message");
		goto out;
	}
	*id = sqlite3_last_insert_rowid(s->db);
	if (tx_commit(s) == -1) {
		db_why(s, why, whylen, "commit");
		goto out;
	}
	rc = 0;
out:
	if (rc == -1) {
		*id = 0;
		tx_rollback(s);
	}
	return rc;
}

int
store_message_max(struct store *s, int64_t *id)
{
	sqlite3_stmt	*st = stmt_get(s, ST_MSG_MAX);
	int		 rc;

	*id = 0;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	stmt_done(st);
	return rc == SQLITE_ROW ? 0 : db_fail(s, "reading the newest message");
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

int
store_messages_pending(struct store *s, const char *cluster, int64_t after,
    int limit, store_message_fn fn, void *arg)
{
	struct message_visit	 v = { fn, arg };
	sqlite3_stmt		*st;

	if ((st = cluster_list(s, ST_MSG_PENDING, cluster,
	    "listing messages")) == NULL)
		return -1;
	if (bind_int(st, 2, after) == -1 || bind_int(st, 3, limit) == -1) {
		stmt_done(st);
		return db_fail(s, "listing messages");
	}
	return rows(s, st, "listing messages", message_visit, &v);
}

int
store_delivery_offered(struct store *s, int64_t id, const char *cluster,
    time_t now)
{
	sqlite3_stmt *st = stmt_get(s, ST_DELIVERY_OFFERED);

	if (bind_int(st, 1, id) == -1 || bind_text(st, 2, cluster) == -1 ||
	    bind_int(st, 3, now) == -1 || stmt_run(st) == -1)
		return db_fail(s, "recording an offered message");
	return 0;
}

int
store_delivery_acked(struct store *s, int64_t id, const char *cluster,
    time_t now, const char *refused)
{
	sqlite3_stmt	*st = stmt_get(s, ST_DELIVERY_ACKED);
	char		 result[STORE_RESULT_MAX + 16];

	if (refused != NULL && !valid_printable(refused, STORE_RESULT_MAX))
		refused = "(a reason that is not printable text)";
	snprintf(result, sizeof(result), "%s%s", refused != NULL ?
	    "refused: " : "accepted", refused != NULL ? refused : "");
	if (bind_int(st, 1, id) == -1 || bind_text(st, 2, cluster) == -1 ||
	    bind_int(st, 3, now) == -1 || bind_text(st, 4, result) == -1 ||
	    stmt_run(st) == -1)
		return db_fail(s, "recording an answered message");
	return sqlite3_changes(s->db) > 0 ? 1 : 0;
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

int
store_delivery_rows(struct store *s, const char *cluster, const char *kind,
    store_delivery_fn fn, void *arg)
{
	struct delivery_visit	 v = { fn, arg };
	sqlite3_stmt		*st;

	if ((st = cluster_list(s, ST_MSG_KIND, cluster,
	    "listing deliveries")) == NULL)
		return -1;
	if (bind_text(st, 2, kind) == -1) {
		stmt_done(st);
		return db_fail(s, "listing deliveries");
	}
	return rows(s, st, "listing deliveries", delivery_visit, &v);
}

int
store_package_read(struct store *s, const char *sha256, uint64_t offset,
    void *buf, size_t max, size_t *n, uint64_t *size)
{
	sqlite3_stmt	*st;
	const void	*data;
	int64_t		 start;
	size_t		 len, skip;
	int		 rc;

	*n = 0;
	*size = 0;
	if (!sha256_valid_hex(sha256) || offset > INT64_MAX)
		return 0;
	st = stmt_get(s, ST_PACKAGE_SIZE);
	if (bind_text(st, 1, sha256) == -1)
		return db_fail(s, "reading a package");
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*size = (uint64_t)sqlite3_column_int64(st, 0);
	stmt_done(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_fail(s, "reading a package");
	if (offset >= *size)
		return 1;
	st = stmt_get(s, ST_CHUNK_GET);
	if (bind_text(st, 1, sha256) == -1 || bind_int(st, 2,
	    (int64_t)offset) == -1)
		return db_fail(s, "reading a package");
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
	}
	stmt_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, "reading a package");
	return 1;
}

/* ---- support bundles ---- */

/* Printable UTF-8 of at most max bytes, no control character. */
static int
valid_text(const char *s, size_t max)
{
	size_t i, n;

	if (s == NULL || (n = strlen(s)) > max || !parse_utf8(s, n))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* What a gateway announces: every field checked.  1, or 0 with why. */
static int
valid_bundle(const struct store_bundle *b, char *why, size_t whylen)
{
	json_t *j;

	if (b->id == NULL || strlen(b->id) != STORE_BUNDLE_ID_LEN ||
	    !ident_valid(b->id, STORE_BUNDLE_ID_LEN, IDENT_HEX) ||
	    !valid_id(b->cluster) || !sha256_valid_hex(b->sha256) ||
	    b->size == 0 || b->size > STORE_BUNDLE_MAX) {
		snprintf(why, whylen, "a bundle needs an id of %d hex digits, "
		    "a SHA-256 and a size of 1 byte to %llu GiB",
		    STORE_BUNDLE_ID_LEN, STORE_BUNDLE_MAX >> 30);
		return 0;
	}
	if (b->source == NULL || (strcmp(b->source, "engineer") != 0 &&
	    strcmp(b->source, "vendor") != 0 &&
	    strcmp(b->source, "event") != 0) ||
	    !valid_text(b->requested_by, STORE_BUNDLE_TEXT_MAX) ||
	    !valid_text(b->ticket, STORE_BUNDLE_TEXT_MAX) ||
	    b->message_id < 0 || b->summary == NULL ||
	    strlen(b->summary) > STORE_BUNDLE_SUMMARY_MAX) {
		snprintf(why, whylen, "a bundle's source, requester, ticket "
		    "or summary is malformed or too long");
		return 0;
	}
	if ((j = json_loads(b->summary, JSON_REJECT_DUPLICATES, NULL)) ==
	    NULL || !json_is_object(j)) {
		json_decref(j);
		snprintf(why, whylen, "a bundle's summary is not a JSON object");
		return 0;
	}
	json_decref(j);
	return 1;
}

/*
 * The stored row of bundle id: 1 with its cluster (into cl), SHA-256
 * (into sha), size, bytes received and completion; 0 if none; -1.
 */
static int
bundle_get(struct store *s, const char *id, char *cl, size_t cllen,
    char *sha, uint64_t *size, uint64_t *received, int64_t *completed)
{
	sqlite3_stmt	*st = stmt_get(s, ST_BUNDLE_GET);
	int		 rc;

	if (bind_text(st, 1, id) == -1)
		return db_fail(s, "reading a bundle");
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(cl, cllen, "%s", col_text(st, 0));
		snprintf(sha, SHA256_HEX_LEN + 1, "%s", col_text(st, 1));
		*size = (uint64_t)sqlite3_column_int64(st, 2);
		*received = (uint64_t)sqlite3_column_int64(st, 3);
		*completed = sqlite3_column_int64(st, 4);
	}
	stmt_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, "reading a bundle");
	return rc == SQLITE_ROW;
}

int
store_bundle_begin(struct store *s, const struct store_bundle *b,
    time_t now, uint64_t *have, int *complete, char *why, size_t whylen)
{
	sqlite3_stmt	*st;
	char		 cl[STORE_ID_MAX + 1], sha[SHA256_HEX_LEN + 1];
	uint64_t	 size, received;
	int64_t		 completed;
	int		 rc;

	*have = 0;
	*complete = 0;
	if (!valid_bundle(b, why, whylen))
		return -1;
	st = stmt_get(s, ST_BUNDLE_ADD);
	if (bind_text(st, 1, b->id) == -1 || bind_text(st, 2, b->cluster) ==
	    -1 || bind_text(st, 3, b->sha256) == -1 ||
	    bind_int(st, 4, (int64_t)b->size) == -1 ||
	    bind_text(st, 5, b->source) == -1 ||
	    bind_text(st, 6, b->requested_by) == -1 ||
	    bind_text(st, 7, b->ticket) == -1 ||
	    bind_int(st, 8, b->message_id) == -1 ||
	    bind_text(st, 9, b->summary) == -1 ||
	    bind_int(st, 10, b->created) == -1 ||
	    bind_int(st, 11, now) == -1 || stmt_run(st) == -1) {
		db_why(s, why, whylen, "storing a bundle");
		return -1;
	}
	if ((rc = bundle_get(s, b->id, cl, sizeof(cl), sha, &size, &received,
	    &completed)) != 1) {
		snprintf(why, whylen, "the store cannot be read");
		return -1;
	}
	/* Another's id, or another bundle under it: nothing is mixed. */
	if (strcmp(cl, b->cluster) != 0 || strcmp(sha, b->sha256) != 0 ||
	    size != b->size) {
		snprintf(why, whylen, "bundle %s is stored already with "
		    "another cluster, size or SHA-256", b->id);
		return -1;
	}
	*have = received;
	*complete = completed != 0;
	return 0;
}

/* Hash the stored chunks of bundle id: 0 with hex, or -1. */
static int
bundle_hash(struct store *s, const char *id, uint64_t size, char *hex)
{
	sqlite3_stmt	*st = stmt_get(s, ST_BUNDLE_CHUNKS);
	struct sha256	*h;
	uint64_t	 at = 0;
	int		 step;

	if ((h = sha256_new()) == NULL || bind_text(st, 1, id) == -1 ||
	    bind_int(st, 2, 0) == -1) {
		sha256_free(h);
		return -1;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		/* The chunks follow each other without a gap. */
		if ((uint64_t)sqlite3_column_int64(st, 0) != at)
			break;
		sha256_update(h, sqlite3_column_blob(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1));
		at += (uint64_t)sqlite3_column_bytes(st, 1);
	}
	stmt_done(st);
	sha256_final(h, hex);
	return step == SQLITE_DONE && at == size ? 0 : -1;
}

/* Set bundle id's bytes received and completion. */
static int
bundle_mark(struct store *s, const char *id, uint64_t received,
    int64_t completed)
{
	sqlite3_stmt *st = stmt_get(s, ST_BUNDLE_RECEIVED);

	if (bind_text(st, 1, id) == -1 || bind_int(st, 2,
	    (int64_t)received) == -1 || bind_int(st, 3, completed) == -1 ||
	    stmt_run(st) == -1)
		return -1;
	return 0;
}

/*
 * In the caller's transaction: the chunk at offset, and if it is the
 * last one, the check of the whole.  1 complete, 0 not yet, -1 with
 * why; *bad set when the SHA-256 did not match.
 */
static int
bundle_append(struct store *s, const char *id, uint64_t offset,
    const void *data, size_t len, uint64_t size, const char *sha,
    time_t now, int *bad, char *why, size_t whylen)
{
	sqlite3_stmt	*st = stmt_get(s, ST_BUNDLE_CHUNK_ADD);
	char		 hex[SHA256_HEX_LEN + 1];

	*bad = 0;
	if (bind_text(st, 1, id) == -1 || bind_int(st, 2, (int64_t)offset) ==
	    -1 || sqlite3_bind_blob(st, 3, data, (int)len, SQLITE_STATIC) !=
	    SQLITE_OK || stmt_run(st) == -1) {
		db_why(s, why, whylen, "storing a bundle chunk");
		return -1;
	}
	if (offset + len < size) {
		if (bundle_mark(s, id, offset + len, 0) == -1) {
			db_why(s, why, whylen, "storing a bundle chunk");
			return -1;
		}
		return 0;
	}
	if (bundle_hash(s, id, size, hex) == -1 || strcmp(hex, sha) != 0) {
		*bad = 1;
		snprintf(why, whylen, "bundle %s: its SHA-256 is not the one "
		    "announced (%s): every chunk is dropped, send it again",
		    id, sha);
		return -1;
	}
	if (bundle_mark(s, id, size, now) == -1) {
		db_why(s, why, whylen, "completing a bundle");
		return -1;
	}
	return 1;
}

/* A bundle that failed its check starts again from nothing. */
static void
bundle_restart(struct store *s, const char *id)
{
	sqlite3_stmt *st = stmt_get(s, ST_BUNDLE_CHUNKS_DELETE);

	if (tx_begin(s) == -1)
		return;
	if (bind_text(st, 1, id) == -1 || stmt_run(st) == -1 ||
	    bundle_mark(s, id, 0, 0) == -1 || tx_commit(s) == -1) {
		tx_rollback(s);
		(void)db_fail(s, "dropping a bundle's chunks");
	}
}

int
store_bundle_put(struct store *s, const char *cluster, const char *id,
    uint64_t offset, const void *data, size_t len, time_t now,
    uint64_t *have, char *why, size_t whylen)
{
	char		cl[STORE_ID_MAX + 1], sha[SHA256_HEX_LEN + 1];
	uint64_t	size, received;
	int64_t		completed;
	int		rc, bad = 0;

	*have = 0;
	if (id == NULL || !ident_valid(id, STORE_BUNDLE_ID_LEN, IDENT_HEX) ||
	    len == 0 || len > STORE_CHUNK) {
		snprintf(why, whylen, "a bundle piece needs an id and 1 byte to "
		    "1 MiB");
		return -1;
	}
	if (tx_begin(s) == -1) {
		db_why(s, why, whylen, "begin");
		return -1;
	}
	if ((rc = bundle_get(s, id, cl, sizeof(cl), sha, &size, &received,
	    &completed)) != 1 || strcmp(cl, cluster) != 0) {
		snprintf(why, whylen, rc == -1 ? "the store cannot be read" :
		    "bundle %s was not begun by this cluster", id);
		goto fail;
	}
	*have = received;
	/*
	 * Not where the stored bytes end (another relay of the fleet took
	 * a piece from a tunnel that had not died yet): the gateway is
	 * told where they end, and begins again from there.
	 */
	if (completed != 0) {
		snprintf(why, whylen, "bundle %s is whole already", id);
		goto fail;
	}
	if (offset != received) {
		snprintf(why, whylen, "bundle %s: the store holds %" PRIu64
		    " bytes, not %" PRIu64, id, received, offset);
		goto fail;
	}
	if (offset + len > size) {
		snprintf(why, whylen, "bundle %s: a piece past its %" PRIu64
		    " bytes", id, size);
		goto fail;
	}
	if ((rc = bundle_append(s, id, offset, data, len, size, sha, now, &bad,
	    why, whylen)) == -1)
		goto fail;
	if (tx_commit(s) == -1) {
		db_why(s, why, whylen, "commit");
		goto fail;
	}
	*have = offset + len;
	return rc;
fail:
	tx_rollback(s);
	if (bad) {
		bundle_restart(s, id);
		*have = 0;
	}
	return -1;
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

int
store_bundle_rows(struct store *s, const char *cluster, const char *id,
    store_bundle_fn fn, void *arg)
{
	sqlite3_stmt		*st = stmt_get(s, ST_BUNDLE_LIST);
	struct bundle_visit	 v = { fn, arg };

	if ((cluster != NULL && bind_text(st, 1, cluster) == -1) ||
	    (id != NULL && bind_text(st, 2, id) == -1))
		return db_fail(s, "listing bundles");
	return rows(s, st, "listing bundles", bundle_visit, &v);
}

int
store_bundle_read(struct store *s, const char *id, uint64_t offset,
    void *buf, size_t max, size_t *n)
{
	sqlite3_stmt	*st = stmt_get(s, ST_BUNDLE_CHUNKS);
	const void	*data;
	uint64_t	 start;
	size_t		 len, skip;
	int		 rc;

	*n = 0;
	if (offset > INT64_MAX || bind_text(st, 1, id) == -1 ||
	    bind_int(st, 2, (int64_t)offset) == -1)
		return db_fail(s, "reading a bundle");
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		start = (uint64_t)sqlite3_column_int64(st, 0);
		data = sqlite3_column_blob(st, 1);
		len = (size_t)sqlite3_column_bytes(st, 1);
		/* A gap before the offset's chunk reads as the end. */
		if (data != NULL && start <= offset && offset - start < len) {
			skip = (size_t)(offset - start);
			*n = len - skip < max ? len - skip : max;
			memcpy(buf, (const char *)data + skip, *n);
		}
	}
	stmt_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, "reading a bundle");
	return 0;
}
