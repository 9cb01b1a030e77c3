/*
 * store.c - the store's front: what every backend shares.
 *
 * The sequence numbers are the contract with the gateway.  The records
 * table holds every (cluster, seq) ever stored and is the dedupe key:
 * a record is applied (its hour's usage set, a health snapshot or an
 * event added) only in the transaction that first inserted its key, so
 * a batch resent after a reconnect - through this relay or another on
 * the same store - changes nothing.  A usage record is its hour's
 * total, so one sent twice under two seqs counts once too.
 * clusters.last_seq is the highest seq stored, and it is what the relay
 * acks.
 *
 * Here every value from the network or the command line is checked
 * before a backend sees it, and the order of what a call does is
 * decided; the backends (store_int.h) hold the SQL of their engine and
 * bind every value, never pasting one into SQL.
 */
#include "relay/store_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/ident.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/sha256.h"
#include "relay/store_uri.h"
#include "telemetry/record.h"

#define STORE_BATCH_MAX		100000	/* records in one batch */
#define STORE_ID_MAX		64
#define STORE_VERSION_MAX	64

static const char *const class_names[] = {
	[SC_USAGE] = "usage",
	[SC_EVENT] = "event",
	[SC_HEALTH] = "health"
};

int
store_be_error(struct store *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	s->unavailable = 0;
	return -1;
}

int
store_be_unavailable(struct store *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	s->unavailable = 1;
	return -1;
}

int
store_unavailable(const struct store *s)
{
	return s->unavailable;
}

int
store_ready(struct store *s)
{
	return s->ops->ready != NULL ? s->ops->ready(s) : 0;
}

/* Why a call failed, for an error buffer: "NAME: what: the engine's". */
static void
db_why(struct store *s, char *why, size_t whylen, const char *what)
{
	snprintf(why, whylen, "%s: %s: %s", s->name, what, s->err);
}

/*
 * Why a call failed, for functions that have no error buffer.  A
 * database that cannot be reached was logged when it went away, and
 * every call fails until it is back: that is not said again each time.
 */
static int
db_fail(struct store *s, const char *what)
{
	if (s->unavailable)
		log_debug("%s: %s: %s", s->name, what, s->err);
	else
		log_error("%s: %s: %s", s->name, what, s->err);
	return -1;
}

/*
 * A row method's result for the caller: 0, or -1 when fn stopped the
 * rows (it said why) or the database failed (logged here as what).
 */
static int
rows_done(struct store *s, int rc, const char *what)
{
	if (rc == STORE_DB_ERROR)
		return db_fail(s, what);
	return rc == 0 ? 0 : -1;
}

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
int
store_valid_text(const char *s, size_t max)
{
	size_t i, n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	if (n == 0 || n > max || !parse_utf8(s, n))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return 0;
	return 1;
}

/*
 * The backend a database names: a PostgreSQL URI, or else the path of
 * an SQLite file.
 */
static const struct store_ops *
store_backend(const char *spec)
{
	return store_uri_is_pg(spec) ? &store_pg_ops : &store_sqlite_ops;
}

const char *
store_engine(const struct store *s)
{
	return s->ops->engine;
}

const char *
store_name(const struct store *s)
{
	return s->name;
}

unsigned
store_generation(const struct store *s)
{
	return s->generation;
}

int
store_open_with(const char *spec, int flags, struct store **out, char *err,
    size_t errlen)
{
	struct store	*s;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->ops = store_backend(spec);
	s->flags = flags;
	if (s->ops->open(s, spec, err, errlen) == -1) {
		store_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

int
store_open(const char *spec, struct store **out, char *err, size_t errlen)
{
	return store_open_with(spec, 0, out, err, errlen);
}

int
store_open_readonly(const char *spec, struct store **out, char *err,
    size_t errlen)
{
	return store_open_with(spec, STORE_READONLY | STORE_EXISTING, out, err,
	    errlen);
}

void
store_close(struct store *s)
{
	uint64_t	acked;
	char		why[STORE_ERR_MAX];

	if (s == NULL)
		return;
	/* A batch sent and not waited for ends, one way or the other. */
	if (s->sent != NULL && store_batch_wait(s, &acked, why,
	    sizeof(why)) == -1)
		log_warn("%s: %s", s->name, why);
	s->ops->close(s);
	free(s->relay);
	free(s->name);
	free(s);
}

int
store_cluster_seen(struct store *s, const char *cluster, time_t now,
    const char *version, int connected)
{
	if (!valid_id(cluster)) {
		log_error("%s: invalid cluster id", s->name);
		return -1;
	}
	if (version != NULL && !store_valid_text(version, STORE_VERSION_MAX)) {
		log_error("%s: cluster %s: invalid gateway version", s->name,
		    cluster);
		return -1;
	}
	/* With the relay named, which relay the tunnel is to as well. */
	if (s->relay == NULL) {
		if (s->ops->cluster_seen(s, cluster, now, version,
		    connected) == -1)
			return db_fail(s, "recording a connection");
		return 0;
	}
	if (s->ops->begin(s) == -1 ||
	    s->ops->cluster_seen(s, cluster, now, version, connected) == -1 ||
	    s->ops->connection(s, cluster, s->relay, now, connected) == -1 ||
	    s->ops->commit(s) == -1) {
		s->ops->rollback(s);
		return db_fail(s, "recording a connection");
	}
	return 0;
}

int
store_cluster_add(struct store *s, const char *cluster, time_t now)
{
	if (!valid_id(cluster)) {
		log_error("%s: invalid cluster id", s->name);
		return -1;
	}
	if (s->ops->cluster_add(s, cluster, now) == -1)
		return db_fail(s, "adding a cluster");
	return 0;
}

int
store_relay_started(struct store *s, const char *relay, time_t now)
{
	char *name;

	if (relay == NULL || !store_valid_text(relay, STORE_ID_MAX * 5)) {
		log_error("%s: invalid relay name", s->name);
		return -1;
	}
	if ((name = strdup(relay)) == NULL) {
		log_error("out of memory");
		return -1;
	}
	if (s->ops->begin(s) == -1 ||
	    s->ops->relay_started(s, name, now) == -1 ||
	    s->ops->commit(s) == -1) {
		s->ops->rollback(s);
		free(name);
		return db_fail(s, "resetting connections");
	}
	free(s->relay);
	s->relay = name;
	return 0;
}

int
store_relay_alive(struct store *s, time_t now)
{
	if (s->relay != NULL && s->ops->relay_seen(s, s->relay, now) == -1)
		return db_fail(s, "recording the relay's heartbeat");
	return 0;
}

int
store_relay_stopped(struct store *s)
{
	if (s->relay != NULL && s->ops->relay_down(s, s->relay) == -1)
		return db_fail(s, "recording the relay's stop");
	return 0;
}

int
store_cluster_relays(struct store *s, const char *cluster,
    store_relay_fn fn, void *arg)
{
	return rows_done(s, s->ops->cluster_relays(s, cluster, fn, arg),
	    "listing a cluster's relays");
}

/* "TYPE BASE64": a key type, one space, base64. */
int
store_valid_key(const char *key)
{
	size_t t, b;

	if (key == NULL || strlen(key) > STORE_KEY_MAX)
		return 0;
	t = strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789@.-");
	if (t == 0 || key[t] != ' ')
		return 0;
	b = strspn(key + t + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/=");
	return b > 0 && key[t + 1 + b] == '\0';
}

int
store_registry_add(struct store *s, const struct store_registry *r,
    int replace, time_t now, char *why, size_t whylen)
{
	int rc;

	if (!valid_id(r->id)) {
		snprintf(why, whylen, "invalid cluster id");
		return -1;
	}
	if (!store_valid_key(r->key)) {
		snprintf(why, whylen, "a cluster key must be TYPE BASE64");
		return -1;
	}
	if (r->expires < 0) {
		snprintf(why, whylen, "invalid expiry");
		return -1;
	}
	if (s->ops->begin(s) == -1 ||
	    (rc = s->ops->registry_put(s, r, replace, now)) == -1 ||
	    s->ops->commit(s) == -1) {
		db_why(s, why, whylen, "the cluster registry");
		s->ops->rollback(s);
		return -1;
	}
	if (rc == 2) {
		snprintf(why, whylen, "cluster %s is in the registry already "
		    "(--replace changes it)", r->id);
		return -1;
	}
	return rc;
}

int
store_registry_remove(struct store *s, const char *id, time_t now)
{
	int rc;

	if (!valid_id(id))
		return 0;
	if (s->ops->begin(s) == -1 ||
	    (rc = s->ops->registry_remove(s, id, now)) == -1 ||
	    s->ops->commit(s) == -1) {
		s->ops->rollback(s);
		return db_fail(s, "the cluster registry");
	}
	return rc;
}

int
store_registry_get(struct store *s, const char *id, store_registry_fn fn,
    void *arg)
{
	int rc;

	if (!valid_id(id))
		return 0;
	if ((rc = s->ops->registry_get(s, id, fn, arg)) == -1)
		return db_fail(s, "reading the cluster registry");
	return rc;
}

int
store_registry_changes(struct store *s, int64_t after, store_registry_fn fn,
    void *arg)
{
	return rows_done(s, s->ops->registry_changes(s, after, fn, arg),
	    "reading the cluster registry");
}

int
store_registry_rows(struct store *s, store_registry_fn fn, void *arg)
{
	return rows_done(s, s->ops->registry_rows(s, fn, arg),
	    "reading the cluster registry");
}

/*
 * One element of a batch: {"seq":N,"class":C,"record":{...}}.  The
 * record is judged by the rules the gateway took it in under
 * (telemetry/record.h); what applying it needs is then read from it.
 */
static int
check_item(json_t *el, int64_t prev, struct store_item *it, char *m,
    size_t len)
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
check_batch(json_t *records, struct store_item **out, size_t *nout,
    char *why, size_t whylen)
{
	struct store_item	*items = NULL;
	char			 m[256];
	size_t			 i, n;
	int64_t			 prev = 0;

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

const char *
store_class_name(enum store_class cls)
{
	return class_names[cls];
}

/*
 * The new high-water mark: the highest seq stored.  Holes are expected
 * (the spool drops health records it never sent); that nothing sent was
 * lost is the channel's check (mc.c: each batch names the seq it
 * follows).
 */
static int64_t
batch_high(int64_t last, const struct store_item *items, size_t n)
{
	int64_t	 high = last;
	size_t	 i;

	for (i = 0; i < n; i++)
		if (items[i].seq > high)
			high = items[i].seq;
	return high;
}

/*
 * The analysis sees each record the batch stored for the first time
 * (the backend marked them fresh), in seq order, inside the batch's
 * transaction: what it writes at the flush commits with the records.
 */
static void
analyse(struct store *s, const char *cluster, const struct store_item *items,
    size_t n)
{
	size_t i;

	for (i = 0; s->hooks != NULL && i < n; i++) {
		if (!items[i].fresh)
			continue;
		if (items[i].cls == SC_HEALTH)
			s->hooks->health(s->hooks_arg, s, cluster,
			    items[i].seq, items[i].rec);
		else if (items[i].cls == SC_EVENT)
			s->hooks->event(s->hooks_arg, s, cluster,
			    items[i].seq, items[i].rec);
	}
}

/* A checked batch (store.h), the records it was checked from held. */
struct store_batch {
	char			 cluster[STORE_ID_MAX + 1];
	json_t			*records;	/* a reference: items borrow */
	struct store_item	*items;
	size_t			 n;
	time_t			 now;
	int			 usage_only;	/* no analysis to run */
};

void
store_batch_free(struct store_batch *b)
{
	if (b == NULL)
		return;
	json_decref(b->records);
	free(b->items);
	free(b);
}

int
store_batch_pending(const struct store *s)
{
	return s->sent != NULL;
}

int
store_batch_fd(struct store *s)
{
	return s->sent != NULL && s->ops->batch_fd != NULL ?
	    s->ops->batch_fd(s) : -1;
}

int
store_batch_check(struct store *s, const char *cluster, json_t *records,
    time_t now, struct store_batch **out, char *why, size_t whylen)
{
	struct store_batch	*b;
	size_t			 i;

	/*
	 * What fails here is the batch, never the database: a flag left
	 * from an outage would have the relay tell the gateway (and log
	 * only at debug) that the database is away instead of what is
	 * wrong with its records.
	 */
	s->unavailable = 0;
	*out = NULL;
	if (!valid_id(cluster)) {
		snprintf(why, whylen, "invalid cluster id");
		return -1;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (check_batch(records, &b->items, &b->n, why, whylen) == -1) {
		free(b);
		return -1;
	}
	snprintf(b->cluster, sizeof(b->cluster), "%s", cluster);
	b->records = json_incref(records);
	b->now = now;
	b->usage_only = 1;
	for (i = 0; i < b->n; i++)
		if (b->items[i].cls != SC_USAGE)
			b->usage_only = 0;
	*out = b;
	return 0;
}

/*
 * Store a checked batch the careful way, in one transaction the front
 * drives: the keys that were new decide what is applied, so a batch
 * that repeats records stored already (a gateway sending again what it
 * was not told was kept) changes nothing twice.
 */
static int
store_items(struct store *s, struct store_batch *b, uint64_t *acked,
    char *why, size_t whylen)
{
	int64_t	 last, high;
	size_t	 i;
	int	 rc = -1;

	for (i = 0; i < b->n; i++)
		b->items[i].fresh = 0;
	if (s->ops->begin(s) == -1) {
		db_why(s, why, whylen, "begin");
		goto out;
	}
	if (s->ops->cluster_lock(s, b->cluster, b->now, &last) == -1) {
		db_why(s, why, whylen, b->cluster);
		goto out;
	}
	high = batch_high(last, b->items, b->n);
	if (s->ops->records(s, b->cluster, b->items, b->n, b->now) == -1) {
		db_why(s, why, whylen, "storing a record");
		goto out;
	}
	analyse(s, b->cluster, b->items, b->n);
	if (s->ops->advance(s, b->cluster, high, b->now) == -1) {
		db_why(s, why, whylen, "advancing the seq");
		goto out;
	}
	if (s->hooks != NULL && s->hooks->flush(s->hooks_arg, s,
	    b->cluster) == -1) {
		db_why(s, why, whylen, "storing the analysis");
		goto out;
	}
	/* Only a returned COMMIT is durable; only then is there an ack. */
	if (s->ops->commit(s) == -1) {
		db_why(s, why, whylen, "commit");
		goto out;
	}
	*acked = (uint64_t)high;
	rc = 0;
out:
	if (rc == -1)
		s->ops->rollback(s);
	if (s->hooks != NULL)
		s->hooks->done(s->hooks_arg, rc == 0);
	return rc;
}

/*
 * A batch of usage records only, which is what a backlog is made of,
 * goes to a backend that can take it whole without waiting (PostgreSQL:
 * one pipeline, one round trip): the keys are expected to be new, and
 * when one is not the backend rolls it all back and store_batch_wait()
 * stores the batch again the careful way.  Anything else is stored at
 * once.
 */
int
store_batch_send(struct store *s, struct store_batch *b, uint64_t *acked,
    char *why, size_t whylen)
{
	int rc;

	*acked = 0;
	if (s->sent != NULL) {
		snprintf(why, whylen, "a batch is being stored already");
		store_batch_free(b);
		return -1;
	}
	if (s->ops->batch_send == NULL || !b->usage_only || b->n == 0) {
		rc = store_items(s, b, acked, why, whylen);
		store_batch_free(b);
		return rc;
	}
	if (s->ops->batch_send(s, b->cluster, b->items, b->n,
	    batch_high(0, b->items, b->n), b->now) == -1) {
		db_why(s, why, whylen, "storing a record");
		store_batch_free(b);
		return -1;
	}
	s->sent = b;
	return 1;
}

int
store_batch_wait(struct store *s, uint64_t *acked, char *why, size_t whylen)
{
	struct store_batch	*b = s->sent;
	int64_t			 last = 0;
	int			 rc;

	*acked = 0;
	if (b == NULL) {
		snprintf(why, whylen, "no batch is being stored");
		return -1;
	}
	s->sent = NULL;
	switch (s->ops->batch_wait(s, &last)) {
	case 0:
		*acked = (uint64_t)last;
		rc = 0;
		if (s->hooks != NULL)
			s->hooks->done(s->hooks_arg, 1);
		break;
	case 1:
		rc = store_items(s, b, acked, why, whylen);
		break;
	default:
		db_why(s, why, whylen, "storing a record");
		rc = -1;
		break;
	}
	store_batch_free(b);
	return rc;
}

int
store_records(struct store *s, const char *cluster, json_t *records,
    time_t now, uint64_t *acked, char *why, size_t whylen)
{
	struct store_batch	*b;
	int			 rc;

	*acked = 0;
	if (store_batch_check(s, cluster, records, now, &b, why,
	    whylen) == -1)
		return -1;
	if ((rc = store_batch_send(s, b, acked, why, whylen)) == 1)
		rc = store_batch_wait(s, acked, why, whylen);
	return rc;
}

int
store_last_seq(struct store *s, const char *cluster, uint64_t *seq)
{
	int64_t v;

	*seq = 0;
	if (s->ops->last_seq(s, cluster, &v) == -1)
		return db_fail(s, "reading the last seq");
	*seq = (uint64_t)v;
	return 0;
}

int
store_anchor(struct store *s, const char *cluster, uint64_t epoch,
    uint64_t seq, const char *head, time_t now)
{
	char	other[STORE_HEAD_LEN + 1];
	int	rc = -1;

	if (!valid_id(cluster) || epoch > INT64_MAX || seq > INT64_MAX ||
	    head == NULL || strlen(head) != STORE_HEAD_LEN ||
	    !ident_valid(head, STORE_HEAD_LEN, IDENT_HEX)) {
		log_error("%s: invalid audit anchor", s->name);
		return -1;
	}
	if (s->ops->begin(s) == -1)
		return db_fail(s, "begin");
	if (s->ops->cluster_add(s, cluster, now) == -1 ||
	    (rc = s->ops->anchor_other(s, cluster, epoch, seq, head,
	    other)) == -1) {
		db_fail(s, "storing an anchor");
		goto out;
	}
	/* A second head for a sealed position is kept too: it is evidence. */
	if (rc == 1)
		log_warn("cluster %s: audit anchor epoch %" PRIu64 " seq %"
		    PRIu64 " has head %s, earlier %s: the log was rewritten",
		    cluster, epoch, seq, head, other);
	rc = -1;
	if (s->ops->anchor_add(s, cluster, epoch, seq, head, now) == -1 ||
	    s->ops->commit(s) == -1) {
		db_fail(s, "storing an anchor");
		goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		s->ops->rollback(s);
	return rc;
}

int
store_cluster_info(struct store *s, const char *cluster,
    struct store_cluster_info *ci)
{
	int rc;

	memset(ci, 0, sizeof(*ci));
	if ((rc = s->ops->cluster_get(s, cluster, ci)) == -1)
		return db_fail(s, "reading a cluster");
	if (rc == 0)
		return 0;
	if (s->ops->record_count(s, cluster, &ci->records) == -1)
		return db_fail(s, "counting records");
	/*
	 * The health view's counts (relay/analysis.c keeps the view):
	 * has_health stays 0 while it is empty, and a count of none is -1.
	 */
	if (s->ops->health_counts(s, cluster, &ci->health_nodes,
	    &ci->health_services, &ci->health_services_up) == -1)
		return db_fail(s, "reading health");
	ci->has_health = ci->health_nodes > 0 || ci->health_services > 0;
	if (ci->health_nodes == 0)
		ci->health_nodes = -1;
	if (ci->health_services == 0)
		ci->health_services = ci->health_services_up = -1;
	return 1;
}

int
store_usage_rows(struct store *s, const char *cluster, store_usage_fn fn,
    void *arg)
{
	return rows_done(s, s->ops->usage_rows(s, cluster, fn, arg),
	    "listing usage");
}

int
store_usage_range(struct store *s, const char *cluster, time_t since,
    time_t until, store_usage_fn fn, void *arg)
{
	return rows_done(s, s->ops->usage_range(s, cluster, since, until, fn,
	    arg), "listing usage");
}

int
store_event_rows(struct store *s, const char *cluster, store_event_fn fn,
    void *arg)
{
	return rows_done(s, s->ops->event_rows(s, cluster, fn, arg),
	    "listing events");
}

int
store_anchor_rows(struct store *s, const char *cluster, store_anchor_fn fn,
    void *arg)
{
	return rows_done(s, s->ops->anchor_rows(s, cluster, fn, arg),
	    "listing anchors");
}

int
store_host_key(struct store *s, const char *cluster, const char *key)
{
	if (!valid_id(cluster) || !store_valid_text(key, STORE_HOST_KEY_MAX))
		return -1;
	if (s->ops->host_key(s, cluster, key) == -1)
		return db_fail(s, "recording a host key");
	return 0;
}

/*
 * The health view and the alerts.  These functions are the analysis's
 * (relay/analysis.c) and the reports': they take no transaction of
 * their own, so that the analysis's writes commit with the batch that
 * caused them.  What the analysis writes it built from what a cluster
 * sent, so it is checked here as everything from the network is.
 */

void
store_set_hooks(struct store *s, const struct store_hooks *hooks, void *arg)
{
	s->hooks = hooks;
	s->hooks_arg = arg;
}

int
store_begin(struct store *s)
{
	if (s->ops->begin(s) == -1)
		return db_fail(s, "begin");
	return 0;
}

int
store_commit(struct store *s)
{
	if (s->ops->commit(s) == -1)
		return db_fail(s, "commit");
	return 0;
}

void
store_rollback(struct store *s)
{
	s->ops->rollback(s);
}

/* 1 if s is at most max bytes of UTF-8 (C0 controls and all). */
static int
valid_utf8(const char *s, size_t min, size_t max)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	return n >= min && n <= max && parse_utf8(s, n);
}

/*
 * A view row's body: the JSON object the analysis made of what the
 * records said (jansson writes UTF-8; its size is bounded by theirs).
 */
static int
valid_view_body(const char *body)
{
	return body != NULL && body[0] == '{' && parse_utf8(body,
	    strlen(body));
}

int
store_node_rows(struct store *s, const char *cluster, store_node_fn fn,
    void *arg)
{
	return rows_done(s, s->ops->node_rows(s, cluster, fn, arg),
	    "listing nodes");
}

int
store_node_put(struct store *s, const char *cluster,
    const struct store_node_row *r)
{
	if (!valid_id(cluster) || !store_valid_text(r->node,
	    STORE_ALERT_SUBJECT_MAX) || !valid_view_body(r->body)) {
		log_error("%s: invalid health node for %s", s->name, cluster);
		return -1;
	}
	if (s->ops->node_put(s, cluster, r) == -1)
		return db_fail(s, "storing a node");
	return 0;
}

int
store_node_delete(struct store *s, const char *cluster, const char *node)
{
	if (s->ops->node_delete(s, cluster, node) == -1)
		return db_fail(s, "deleting a node");
	return 0;
}

int
store_service_rows(struct store *s, const char *cluster,
    store_service_fn fn, void *arg)
{
	return rows_done(s, s->ops->service_rows(s, cluster, fn, arg),
	    "listing services");
}

int
store_service_put(struct store *s, const char *cluster,
    const struct store_service_row *r)
{
	if (!valid_id(cluster) || !store_valid_text(r->name,
	    STORE_ALERT_SUBJECT_MAX) || r->down < 0 ||
	    !valid_view_body(r->body)) {
		log_error("%s: invalid health service for %s", s->name,
		    cluster);
		return -1;
	}
	if (s->ops->service_put(s, cluster, r) == -1)
		return db_fail(s, "storing a service");
	return 0;
}

int
store_alert_open_rows(struct store *s, const char *cluster,
    store_alert_fn fn, void *arg)
{
	return rows_done(s, s->ops->alert_open_rows(s, cluster, fn, arg),
	    "listing alerts");
}

int
store_alert_rows(struct store *s, const char *cluster, store_alert_fn fn,
    void *arg)
{
	return rows_done(s, s->ops->alert_rows(s, cluster, fn, arg),
	    "listing alerts");
}

int
store_alert_get(struct store *s, int64_t id, store_alert_fn fn, void *arg)
{
	return rows_done(s, s->ops->alert_get(s, id, fn, arg),
	    "reading an alert");
}

/*
 * An alert as the analysis or an expert makes it: a rule's name, a
 * known severity, a subject and text of UTF-8 within their bounds (an
 * expert's text is kept as given; the reports escape it).  Its times
 * are the records' own, which the analysis judged.
 */
static int
valid_alert(const struct store_alert *a)
{
	return valid_id(a->cluster) &&
	    ident_valid(a->rule, STORE_ID_MAX, IDENT_SNAKE) &&
	    a->severity != NULL && (strcmp(a->severity, "warning") == 0 ||
	    strcmp(a->severity, "critical") == 0) &&
	    valid_utf8(a->subject, 1, STORE_ALERT_SUBJECT_MAX) &&
	    valid_utf8(a->text, 0, STORE_ALERT_TEXT_MAX);
}

int
store_alert_put(struct store *s, const struct store_alert *a, int64_t *id,
    time_t *first, time_t *raised)
{
	if (!valid_alert(a)) {
		log_error("%s: invalid alert for %s", s->name, a->cluster !=
		    NULL && valid_id(a->cluster) ? a->cluster : "a cluster");
		return -1;
	}
	if (s->ops->alert_put(s, a, id, first, raised) == -1)
		return db_fail(s, "storing an alert");
	return 0;
}

int
store_alert_clear(struct store *s, int64_t id, time_t when)
{
	int rc;

	if ((rc = s->ops->alert_clear(s, id, when)) == -1)
		return db_fail(s, "clearing an alert");
	return rc;
}

int
store_alert_drop(struct store *s, int64_t id)
{
	if (s->ops->alert_drop(s, id) == -1)
		return db_fail(s, "dropping an alert");
	return 0;
}

int
store_alert_prune(struct store *s, time_t before)
{
	if (s->ops->alert_prune(s, before) == -1)
		return db_fail(s, "pruning alerts");
	return 0;
}

int
store_offline_rows(struct store *s, time_t now, time_t before,
    store_offline_fn fn, void *arg)
{
	return rows_done(s, s->ops->offline_rows(s, now - STORE_RELAY_STALE,
	    before, fn, arg), "listing offline clusters");
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

/* Fill buf with up to len bytes of fd: fewer only at its end. */
static ssize_t
read_full(int fd, unsigned char *buf, size_t len)
{
	size_t	have;
	ssize_t	n;

	for (have = 0; have < len; have += (size_t)n) {
		n = read(fd, buf + have, len - have);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n == -1)
			return -1;
		if (n == 0)
			break;
	}
	return (ssize_t)have;
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
	unsigned char	*buf = NULL;
	char		 hex[SHA256_HEX_LEN + 1];
	uint64_t	 off = 0;
	ssize_t		 have;
	int		 rc = -1;

	if (s->ops->chunks_delete(s, pkg->sha256) == -1) {
		db_why(s, why, whylen, "replacing a package");
		return -1;
	}
	if ((buf = malloc(STORE_CHUNK)) == NULL || (h = sha256_new()) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	for (;;) {
		if ((have = read_full(pkg->fd, buf, STORE_CHUNK)) == -1) {
			snprintf(why, whylen, "%s: %s", pkg->name,
			    strerror(errno));
			goto out;
		}
		if (have == 0)
			break;
		if (off + (uint64_t)have > pkg->size) {
			snprintf(why, whylen, "%s: more than the %" PRIu64
			    " bytes the notice says", pkg->name, pkg->size);
			goto out;
		}
		sha256_update(h, buf, (size_t)have);
		if (s->ops->chunk_add(s, pkg->sha256, off, buf,
		    (size_t)have) == -1) {
			db_why(s, why, whylen, "storing a package chunk");
			goto out;
		}
		off += (uint64_t)have;
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
	int rc = -1;

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
	if (s->ops->begin(s) == -1) {
		db_why(s, why, whylen, "begin");
		goto out;
	}
	/* The package first: a gateway told of it can fetch it at once. */
	if (pkg != NULL && put_package(s, pkg, why, whylen) == -1)
		goto out;
	if (s->ops->message_add(s, cluster, kind, body, now, id) == -1) {
		db_why(s, why, whylen, "storing a message");
		goto out;
	}
	if (s->ops->commit(s) == -1) {
		db_why(s, why, whylen, "commit");
		goto out;
	}
	rc = 0;
out:
	if (rc == -1) {
		*id = 0;
		s->ops->rollback(s);
	}
	return rc;
}

int
store_message_put(struct store *s, const char *cluster, const char *kind,
    const char *body, time_t now, int64_t *id)
{
	char why[256];

	*id = 0;
	if (!valid_id(cluster) || !store_valid_kind(kind) ||
	    !valid_body(body, why, sizeof(why))) {
		log_error("%s: invalid %s message for %s", s->name,
		    store_valid_kind(kind) ? kind : "a", valid_id(cluster) ?
		    cluster : "a cluster");
		return -1;
	}
	if (s->ops->message_add(s, cluster, kind, body, now, id) == -1)
		return db_fail(s, "storing a message");
	return 0;
}

int
store_message_max(struct store *s, int64_t *id)
{
	*id = 0;
	if (s->ops->message_max(s, id) == -1)
		return db_fail(s, "reading the newest message");
	return 0;
}

int
store_messages_pending(struct store *s, const char *cluster, int64_t after,
    int limit, store_message_fn fn, void *arg)
{
	return rows_done(s, s->ops->messages_pending(s, cluster, after, limit,
	    fn, arg), "listing messages");
}

int
store_delivery_offered(struct store *s, int64_t id, const char *cluster,
    time_t now)
{
	if (s->ops->delivery_offered(s, id, cluster, now) == -1)
		return db_fail(s, "recording an offered message");
	return 0;
}

int
store_delivery_acked(struct store *s, int64_t id, const char *cluster,
    time_t now, const char *refused)
{
	char	result[STORE_RESULT_MAX + 16];
	int	rc;

	if (refused != NULL && !store_valid_text(refused, STORE_RESULT_MAX))
		refused = "(a reason that is not printable text)";
	snprintf(result, sizeof(result), "%s%s", refused != NULL ?
	    "refused: " : "accepted", refused != NULL ? refused : "");
	if ((rc = s->ops->delivery_acked(s, id, cluster, now, result)) == -1)
		return db_fail(s, "recording an answered message");
	return rc;
}

int
store_delivery_rows(struct store *s, const char *cluster, const char *kind,
    store_delivery_fn fn, void *arg)
{
	return rows_done(s, s->ops->delivery_rows(s, cluster, kind, fn, arg),
	    "listing deliveries");
}

int
store_package_read(struct store *s, const char *sha256, uint64_t offset,
    void *buf, size_t max, size_t *n, uint64_t *size)
{
	int rc;

	*n = 0;
	*size = 0;
	if (!sha256_valid_hex(sha256) || offset > INT64_MAX)
		return 0;
	if ((rc = s->ops->package_size(s, sha256, size)) == -1)
		return db_fail(s, "reading a package");
	if (rc == 0)
		return 0;
	if (offset >= *size)
		return 1;
	if (s->ops->package_chunk(s, sha256, offset, buf, max, n) == -1)
		return db_fail(s, "reading a package");
	return 1;
}

/* ---- support bundles ---- */

/* What a gateway announces: every field checked.  1, or 0 with why. */
static int
valid_bundle(const struct store_bundle *b, char *why, size_t whylen)
{
	json_t *j;

	if (b->id == NULL || strlen(b->id) != STORE_BUNDLE_ID_LEN ||
	    !ident_valid(b->id, STORE_BUNDLE_ID_LEN, IDENT_HEX) ||
	    b->cluster == NULL || !valid_id(b->cluster) ||
	    !sha256_valid_hex(b->sha256) || b->size == 0 ||
	    b->size > STORE_BUNDLE_MAX) {
		snprintf(why, whylen, "a bundle needs an id of %d hex digits, "
		    "a SHA-256 and a size of 1 byte to %llu GiB",
		    STORE_BUNDLE_ID_LEN, STORE_BUNDLE_MAX >> 30);
		return 0;
	}
	/* An event's bundle has no ticket. */
	if (b->source == NULL || (strcmp(b->source, "engineer") != 0 &&
	    strcmp(b->source, "vendor") != 0 &&
	    strcmp(b->source, "event") != 0) ||
	    !store_valid_text(b->requested_by, STORE_BUNDLE_TEXT_MAX) ||
	    b->ticket == NULL || (b->ticket[0] != '\0' &&
	    !store_valid_text(b->ticket, STORE_BUNDLE_TEXT_MAX)) ||
	    b->message_id < 0 || b->created < 0 || b->summary == NULL ||
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

void
store_set_bundle_quota(struct store *s, uint64_t bytes)
{
	s->bundle_quota = bytes;
}

int
store_bundle_remove(struct store *s, const char *id, uint64_t *size,
    char *cluster, char *why, size_t whylen)
{
	struct store_bundle_state	st;
	int				rc;

	*size = 0;
	cluster[0] = '\0';
	if (id == NULL || strlen(id) != STORE_BUNDLE_ID_LEN ||
	    !ident_valid(id, STORE_BUNDLE_ID_LEN, IDENT_HEX)) {
		snprintf(why, whylen, "not a bundle id: %d hex digits",
		    STORE_BUNDLE_ID_LEN);
		return -1;
	}
	if (s->ops->begin(s) == -1) {
		db_why(s, why, whylen, "removing a bundle");
		return -1;
	}
	if ((rc = s->ops->bundle_state(s, id, &st)) == 1 &&
	    s->ops->bundle_delete(s, id) == -1)
		rc = -1;
	if (rc == -1 || s->ops->commit(s) == -1) {
		db_why(s, why, whylen, "removing a bundle");
		s->ops->rollback(s);
		return -1;
	}
	if (rc == 1) {
		*size = st.size;
		memcpy(cluster, st.cluster, sizeof(st.cluster));
	}
	return rc;
}

/*
 * In the caller's transaction: may bundle b be added under its
 * cluster's quota?  One stored already was let in when it began and
 * goes on.  0 yes; 1 no, with why; -1 a database error.
 */
static int
bundle_fits(struct store *s, const struct store_bundle *b, char *why,
    size_t whylen)
{
	struct store_bundle_state	st;
	uint64_t			used = 0;
	char				q[32], u[32];
	int				rc;

	if (s->bundle_quota == 0)
		return 0;
	if ((rc = s->ops->bundle_state(s, b->id, &st)) != 0)
		return rc == 1 ? 0 : -1;
	if (s->ops->bundle_usage(s, b->cluster, &used) == -1)
		return -1;
	if (used <= s->bundle_quota && b->size <= s->bundle_quota - used)
		return 0;
	parse_format_size(s->bundle_quota, q, sizeof(q));
	parse_format_size(used, u, sizeof(u));
	snprintf(why, whylen, "over the cluster's bundle quota: the relay "
	    "holds %" PRIu64 " bytes (%s) of cluster %s's bundles, and this "
	    "one's %" PRIu64 " bytes would pass [relay] bundle_quota = %s",
	    used, u, b->cluster, b->size, q);
	return 1;
}

int
store_bundle_begin(struct store *s, const struct store_bundle *b,
    time_t now, uint64_t *have, int *complete, char *why, size_t whylen)
{
	struct store_bundle_state	st;
	int				rc;

	*have = 0;
	*complete = 0;
	if (!valid_bundle(b, why, whylen))
		return -1;
	if (s->ops->begin(s) == -1) {
		db_why(s, why, whylen, "storing a bundle");
		return -1;
	}
	if ((rc = bundle_fits(s, b, why, whylen)) != 0) {
		if (rc == -1)
			db_why(s, why, whylen, "counting the cluster's bundles");
		goto fail;
	}
	if (s->ops->bundle_add(s, b, now) == -1 ||
	    (rc = s->ops->bundle_state(s, b->id, &st)) == -1) {
		db_why(s, why, whylen, "storing a bundle");
		goto fail;
	}
	/* Another's id, or another bundle under it: nothing is mixed. */
	if (rc == 0 || strcmp(st.cluster, b->cluster) != 0 ||
	    strcmp(st.sha256, b->sha256) != 0 || st.size != b->size) {
		snprintf(why, whylen, "bundle %s is stored already with "
		    "another cluster, size or SHA-256", b->id);
		goto fail;
	}
	if (s->ops->commit(s) == -1) {
		db_why(s, why, whylen, "storing a bundle");
		goto fail;
	}
	*have = st.received;
	*complete = st.completed != 0;
	return 0;
fail:
	s->ops->rollback(s);
	return -1;
}

/*
 * In the caller's transaction: the SHA-256 of bundle id's stored
 * chunks, which must follow each other without a gap up to size.  0
 * with hex; -1 with why (a gap, or the database).
 */
static int
bundle_hash(struct store *s, const char *id, uint64_t size, char *hex,
    char *why, size_t whylen)
{
	struct sha256	*h = NULL;
	unsigned char	*buf;
	uint64_t	 at = 0;
	size_t		 n;
	int		 rc = -1;

	if ((buf = malloc(STORE_CHUNK)) == NULL || (h = sha256_new()) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	while (at < size) {
		n = 0;
		if (s->ops->bundle_chunk(s, id, at, buf, STORE_CHUNK, &n) ==
		    -1) {
			db_why(s, why, whylen, "reading a bundle");
			goto out;
		}
		if (n == 0) {
			snprintf(why, whylen, "bundle %s: no chunk at byte %"
			    PRIu64, id, at);
			goto out;
		}
		sha256_update(h, buf, n);
		at += n;
	}
	sha256_final(h, hex);
	h = NULL;
	rc = 0;
out:
	sha256_free(h);
	free(buf);
	return rc;
}

/*
 * In the caller's transaction: the chunk at offset, and if it is the
 * last one, the check of the whole.  1 complete, 0 not yet, -1 with
 * why; *bad set when the SHA-256 did not match.
 */
static int
bundle_append(struct store *s, const char *id, uint64_t offset,
    const void *data, size_t len, const struct store_bundle_state *st,
    time_t now, int *bad, char *why, size_t whylen)
{
	char hex[SHA256_HEX_LEN + 1];

	*bad = 0;
	if (s->ops->bundle_chunk_add(s, id, offset, data, len) == -1) {
		db_why(s, why, whylen, "storing a bundle chunk");
		return -1;
	}
	if (offset + len < st->size) {
		if (s->ops->bundle_mark(s, id, offset + len, 0) == -1) {
			db_why(s, why, whylen, "storing a bundle chunk");
			return -1;
		}
		return 0;
	}
	if (bundle_hash(s, id, st->size, hex, why, whylen) == -1)
		return -1;
	if (strcmp(hex, st->sha256) != 0) {
		*bad = 1;
		snprintf(why, whylen, "bundle %s: its SHA-256 is not the one "
		    "announced (%s): every chunk is dropped, send it again",
		    id, st->sha256);
		return -1;
	}
	if (s->ops->bundle_mark(s, id, st->size, now) == -1) {
		db_why(s, why, whylen, "completing a bundle");
		return -1;
	}
	return 1;
}

/* A bundle that failed its check starts again from nothing. */
static void
bundle_restart(struct store *s, const char *id)
{
	if (s->ops->begin(s) == -1 ||
	    s->ops->bundle_chunks_delete(s, id) == -1 ||
	    s->ops->bundle_mark(s, id, 0, 0) == -1 ||
	    s->ops->commit(s) == -1) {
		s->ops->rollback(s);
		(void)db_fail(s, "dropping a bundle's chunks");
	}
}

int
store_bundle_put(struct store *s, const char *cluster, const char *id,
    uint64_t offset, const void *data, size_t len, time_t now,
    uint64_t *have, char *why, size_t whylen)
{
	struct store_bundle_state	st;
	int				rc, bad = 0;

	*have = 0;
	if (id == NULL || strlen(id) != STORE_BUNDLE_ID_LEN ||
	    !ident_valid(id, STORE_BUNDLE_ID_LEN, IDENT_HEX) || len == 0 ||
	    len > STORE_CHUNK || offset > STORE_BUNDLE_MAX) {
		snprintf(why, whylen, "a bundle piece needs an id and 1 byte to "
		    "1 MiB");
		return -1;
	}
	if (s->ops->begin(s) == -1) {
		db_why(s, why, whylen, "storing a bundle chunk");
		return -1;
	}
	if ((rc = s->ops->bundle_state(s, id, &st)) == -1) {
		db_why(s, why, whylen, "reading a bundle");
		goto fail;
	}
	if (rc == 0 || strcmp(st.cluster, cluster) != 0) {
		snprintf(why, whylen, "bundle %s was not begun by this "
		    "cluster", id);
		goto fail;
	}
	*have = st.received;
	/*
	 * Not where the stored bytes end (another relay of the fleet took
	 * a piece from a tunnel that had not died yet): the gateway is
	 * told where they end, and begins again from there.
	 */
	if (st.completed != 0) {
		snprintf(why, whylen, "bundle %s is whole already", id);
		goto fail;
	}
	if (offset != st.received) {
		snprintf(why, whylen, "bundle %s: the store holds %" PRIu64
		    " bytes, not %" PRIu64, id, st.received, offset);
		goto fail;
	}
	if (offset + len > st.size) {
		snprintf(why, whylen, "bundle %s: a piece past its %" PRIu64
		    " bytes", id, st.size);
		goto fail;
	}
	if ((rc = bundle_append(s, id, offset, data, len, &st, now, &bad, why,
	    whylen)) == -1)
		goto fail;
	if (s->ops->commit(s) == -1) {
		db_why(s, why, whylen, "storing a bundle chunk");
		goto fail;
	}
	*have = offset + len;
	return rc;
fail:
	s->ops->rollback(s);
	if (bad) {
		bundle_restart(s, id);
		*have = 0;
	}
	return -1;
}

int
store_bundle_rows(struct store *s, const char *cluster, const char *id,
    store_bundle_fn fn, void *arg)
{
	return rows_done(s, s->ops->bundle_rows(s, cluster, id, fn, arg),
	    "listing bundles");
}

int
store_bundle_read(struct store *s, const char *id, uint64_t offset,
    void *buf, size_t max, size_t *n)
{
	*n = 0;
	if (id == NULL || !ident_valid(id, STORE_BUNDLE_ID_LEN, IDENT_HEX) ||
	    offset > INT64_MAX)
		return 0;
	if (s->ops->bundle_chunk(s, id, offset, buf, max, n) == -1)
		return db_fail(s, "reading a bundle");
	return 0;
}
