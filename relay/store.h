/*
 * store.h - the relay's store: clusters, usage per hour and
 * environment, health snapshots, events, audit anchors, messages down
 * to the gateways and the packages they fetch.
 *
 * [relay] database names it: the path of an embedded SQLite file (WAL,
 * synchronous=FULL), or a PostgreSQL URI, which several relays of a
 * fleet share.  The backend is chosen once, when the store is opened
 * (relay/store_int.h); this interface is the same for both.
 *
 * Records arrive in batches from a cluster's control channel, each
 * with the cluster's sequence number; a batch is one transaction, and
 * a record whose (cluster_id, seq) is already stored is a duplicate
 * (after a reconnect, or sent through another relay) and is skipped.
 * The relay acknowledges only what store_records() has committed, and
 * a commit that returned is on disk.
 *
 * The relay opens the store only after it has detached (a fork drops
 * SQLite's POSIX locks); the report commands open it with
 * store_open_readonly() while it runs.  Functions without an error
 * buffer log the reason with log_error() and return -1.
 */
#ifndef PH_STORE_H
#define PH_STORE_H

#include <stdint.h>
#include <time.h>

#include <jansson.h>

/* Health snapshots kept per cluster; older ones are deleted. */
#define STORE_HEALTH_KEEP	100

struct store;

/* How a store is opened (store_open_with's flags). */
#define STORE_READONLY	0x1	/* a report: never creates, writes,
				   migrates, checkpoints or removes
				   anything, so a relay writing at the
				   same time loses nothing */
#define STORE_EXISTING	0x2	/* a command: refuse to create the
				   database or its tables; the relay
				   makes them, as its own user */
#define STORE_RETRY	0x4	/* the relay: a PostgreSQL server that
				   cannot be reached is no error; it is
				   connected to again, with back-off,
				   from the calls that need it (which
				   fail at once until then) */

/*
 * Open the database spec names, creating it (an SQLite file, mode 0600:
 * usage is billing data) and its tables or bringing an older schema up
 * to this relay's.  0, or -1 with "DATABASE: reason".
 */
int	store_open_with(const char *spec, int flags, struct store **out,
	    char *err, size_t errlen);
/* store_open_with(spec, 0, ...): the relay's own. */
int	store_open(const char *spec, struct store **out, char *err,
	    size_t errlen);
/* store_open_with(spec, STORE_READONLY | STORE_EXISTING, ...). */
int	store_open_readonly(const char *spec, struct store **out, char *err,
	    size_t errlen);
void	store_close(struct store *);
/* "SQLite" or "PostgreSQL". */
const char	*store_engine(const struct store *);
/* The database as a log line may name it (a URI without a password). */
const char	*store_name(const struct store *);
/*
 * How many times the store's connection was made ready: 1 after the
 * open, more after each reconnection (PostgreSQL), 0 while a database
 * that was away at the start is still away.  What the relay recorded
 * while it was away (clusters connecting) it records again when this
 * changes.
 */
unsigned	store_generation(const struct store *);
/*
 * 1 when the last call failed because the database could not be
 * reached (a PostgreSQL server away): the store has logged that once,
 * and every call fails at once until it is back.
 */
int		store_unavailable(const struct store *);
/*
 * Make the store's connection ready, as a call would, without one:
 * 0 when it is up (store_generation then names it), -1 with the store
 * unavailable (a connection attempt went on as far as it could).
 */
int		store_ready(struct store *);

/*
 * A cluster connected (now) or disconnected, with its gateway version
 * (NULL keeps the one stored; 1-64 printable characters otherwise).
 */
int	store_cluster_seen(struct store *, const char *cluster, time_t now,
	    const char *version, int connected);

/*
 * Store a batch: records is a JSON array of {"seq":N, "class":C,
 * "record":{...}} in increasing seq.  Usage records add each of their
 * units to (cluster, hour, environment, unit) - the same seq is never
 * counted twice; health keeps the snapshot (the latest
 * STORE_HEALTH_KEEP); events are kept.  One transaction.
 *
 * A batch may repeat seqs already stored (skipped) and may have holes
 * (the gateway's spool drops health records it never sent); that no
 * sent record went missing is checked on the channel (mc.c), where
 * each batch names the seq it follows.
 *
 * Returns 0 with *acked = the highest seq now stored for the cluster,
 * or -1 with why (a malformed record, a database error); then nothing
 * of the batch was stored.
 */
int	store_records(struct store *, const char *cluster, json_t *records,
	    time_t now, uint64_t *acked, char *why, size_t whylen);

/*
 * store_records() in steps, so that the relay reads and checks the next
 * batch while the database stores this one:
 *
 *   store_batch_check() checks a batch (no database call) and keeps a
 *	reference to records; -1 with why when it is malformed.
 *   store_batch_send() hands it over (and frees it): 0 when it was
 *	stored at once (*acked as store_records() sets it), 1 when the
 *	database is storing it, -1 with why.
 *   store_batch_wait() waits for the batch sent: 0 with *acked, or -1
 *	with why (nothing of it was stored).
 *
 * At most one batch is sent and not waited for, and nothing else may
 * use the store until it is: the relay waits before it returns to its
 * event loop.  (A call that needs the database meanwhile waits for the
 * batch first; its outcome is kept for store_batch_wait().)
 */
struct store_batch;

int	store_batch_check(struct store *, const char *cluster,
	    json_t *records, time_t now, struct store_batch **,
	    char *why, size_t whylen);
int	store_batch_send(struct store *, struct store_batch *,
	    uint64_t *acked, char *why, size_t whylen);
int	store_batch_wait(struct store *, uint64_t *acked, char *why,
	    size_t whylen);
/* 1 while a batch is sent and not waited for. */
int	store_batch_pending(const struct store *);
/*
 * The descriptor that becomes readable when the database has answered
 * the batch sent, or -1 (none sent, or nothing to wait for).
 */
int	store_batch_fd(struct store *);
void	store_batch_free(struct store_batch *);

/* Know a cluster (before it ever connects); one already known stays. */
int	store_cluster_add(struct store *, const char *cluster, time_t now);

/*
 * 1 if s is 1..max bytes of UTF-8 without C0 controls or DEL: the rule
 * for every name and text of a cluster's that the store keeps.
 */
int	store_valid_text(const char *s, size_t max);

/*
 * The relays of a fleet share a store, and each says which clusters
 * have a tunnel to it.  A relay is named HOST:PORT
 * (relay_conf_self()).  store_relay_started(): the relay (re)started
 * and none of its tunnels is up, whatever a crashed predecessor left
 * behind; from then on store_cluster_seen() records the tunnels under
 * its name.  store_relay_alive() is its heartbeat, every
 * STORE_RELAY_BEAT seconds: a relay not heard from for
 * STORE_RELAY_STALE seconds (killed, or cut off from the database) no
 * longer counts as holding tunnels.  store_relay_stopped(): it stopped
 * cleanly.
 */
#define STORE_RELAY_BEAT	30
#define STORE_RELAY_STALE	90
int	store_relay_started(struct store *, const char *relay, time_t now);
int	store_relay_alive(struct store *, time_t now);
int	store_relay_stopped(struct store *);

/* A relay a cluster has a tunnel to: since when, and its heartbeat. */
struct store_relay_row {
	const char	*relay;
	time_t		 since;
	time_t		 seen;		/* 0: the relay has no row */
};
typedef int (*store_relay_fn)(const struct store_relay_row *, void *);
/* The relays a cluster has a tunnel to, by name (see store_usage_rows). */
int	store_cluster_relays(struct store *, const char *cluster,
	    store_relay_fn fn, void *arg);

/*
 * The cluster registry (`porthole-relay cluster add|remove`): clusters
 * a fleet knows without a [cluster] section in each relay's relay.conf.
 * An entry removed stays as a tombstone, so that each relay learns of
 * the removal from the changes it polls.
 */
#define STORE_KEY_MAX		4096	/* "TYPE BASE64" of a cluster key */

struct store_registry {
	const char	*id;
	const char	*key;		/* "TYPE BASE64", as a .pub has it */
	int		 trial;		/* license = trial */
	time_t		 expires;	/* 0: none */
	int		 overage;
	time_t		 added;
	time_t		 removed;	/* 0: in the registry */
	int64_t		 change;	/* the registry's change number */
};
typedef int (*store_registry_fn)(const struct store_registry *, void *);
/*
 * Add r (its id, key and license; added and change are the store's);
 * one already there is replaced only with replace.  0 when added, 1
 * when replaced, -1 with why (an invalid entry, one there already, a
 * database error).
 */
int	store_registry_add(struct store *, const struct store_registry *r,
	    int replace, time_t now, char *why, size_t whylen);
/* 1 when removed, 0 when there was no such entry, -1. */
int	store_registry_remove(struct store *, const char *id, time_t now);
/* 1 with fn called for the entry, 0 when there is none (or removed). */
int	store_registry_get(struct store *, const char *id,
	    store_registry_fn fn, void *arg);
/* Each entry changed after change number after, removed ones too. */
int	store_registry_changes(struct store *, int64_t after,
	    store_registry_fn fn, void *arg);
/* The entries in the registry, by id. */
int	store_registry_rows(struct store *, store_registry_fn fn, void *arg);
/* 1 if key is "TYPE BASE64" as the registry keeps keys, else 0. */
int	store_valid_key(const char *key);

/* The highest seq stored for a cluster (0 if none). */
int	store_last_seq(struct store *, const char *cluster, uint64_t *seq);

/*
 * An audit seal head (64 hex characters) the gateway sent as an anchor.
 * A resent anchor is stored once; a different head for the same epoch
 * and seq is kept as well (it is evidence) and logged.
 */
int	store_anchor(struct store *, const char *cluster, uint64_t epoch,
	    uint64_t seq, const char *head, time_t now);

/* What the store knows of one cluster, for the clusters report. */
#define STORE_HOST_KEY_MAX	1024

struct store_cluster_info {
	time_t		 first_seen;
	time_t		 last_contact;
	int		 connected;
	char		 version[65];	/* "" if the gateway never said */
	uint64_t	 last_seq;
	uint64_t	 records;	/* records stored */
	/*
	 * The health view (has_health == 0: no health yet): how many
	 * nodes and services the cluster's health records have named,
	 * whoever sent them, and how many of those services are up; -1
	 * where there are none.
	 */
	int		 has_health;
	int64_t		 health_nodes;
	int64_t		 health_services;
	int64_t		 health_services_up;
	char		 host_key[STORE_HOST_KEY_MAX + 1];	/* or "" */
};

/*
 * The session host key the cluster's gateway reported ("TYPE BASE64"),
 * for `porthole-relay known-hosts`.  0, or -1.
 */
int	store_host_key(struct store *, const char *cluster, const char *key);

/* 1 with *info, 0 if the cluster was never seen, -1 on an error. */
int	store_cluster_info(struct store *, const char *cluster,
	    struct store_cluster_info *info);

/*
 * The rows behind the relay's reports (relay/report.c prints them).
 * Each function calls fn once per row, in order, with a row whose
 * strings are valid only during the call; fn returns 0 to go on or -1
 * to stop (it says why itself).  The functions return 0 when every row
 * was given, -1 when fn stopped them or the database failed (logged).
 */

/* A cluster's usage: (hour, environment, unit) in order. */
struct store_usage_row {
	time_t		 hour;
	const char	*environment;
	const char	*unit;
	double		 amount;
};
typedef int (*store_usage_fn)(const struct store_usage_row *, void *);
int	store_usage_rows(struct store *, const char *cluster,
	    store_usage_fn fn, void *arg);
/* The same for the hours in [since, until). */
int	store_usage_range(struct store *, const char *cluster, time_t since,
	    time_t until, store_usage_fn fn, void *arg);

/* A cluster's events in the order the cluster sent them (by seq). */
struct store_event_row {
	int64_t		 seq;
	const char	*ts;		/* the record's "ts" */
	const char	*type;		/* the record's "type" */
	const char	*record;	/* the whole record, as JSON */
};
typedef int (*store_event_fn)(const struct store_event_row *, void *);
int	store_event_rows(struct store *, const char *cluster,
	    store_event_fn fn, void *arg);

/* A cluster's audit anchors by seq, then epoch. */
struct store_anchor_row {
	uint64_t	 epoch;
	uint64_t	 seq;
	const char	*head;		/* 64 hex digits */
	time_t		 received;
};
typedef int (*store_anchor_fn)(const struct store_anchor_row *, void *);
int	store_anchor_rows(struct store *, const char *cluster,
	    store_anchor_fn fn, void *arg);

/*
 * Analysis of what a batch brings (relay/analysis.c), run inside
 * store_records()'s transaction so that what it writes commits with the
 * batch or not at all.  health and event see each record the batch
 * stores for the first time, in seq order (a record resent after a
 * reconnect is not seen again); flush runs before the commit, and its
 * -1 (a database error) rolls the whole batch back; done runs after the
 * commit (committed 1) or the rollback (0).  What the analysis cannot
 * do for want of memory it skips and logs: billing records are never
 * held back by it.
 */
struct store_hooks {
	void	(*health)(void *arg, struct store *, const char *cluster,
		    int64_t seq, json_t *rec);
	void	(*event)(void *arg, struct store *, const char *cluster,
		    int64_t seq, json_t *rec);
	int	(*flush)(void *arg, struct store *, const char *cluster);
	void	(*done)(void *arg, int committed);
};
void	store_set_hooks(struct store *, const struct store_hooks *, void *arg);

/*
 * A transaction of the caller's own around the functions below (they
 * run inside store_records()' when called from a hook).  0 or -1
 * (logged); rollback is harmless when none is open.
 */
int	store_begin(struct store *);
int	store_commit(struct store *);
void	store_rollback(struct store *);

/*
 * Every node and service of a cluster as the newest health record that
 * named it left it, whoever sent that record (the gateway, the product):
 * body is the merged JSON object.
 */
struct store_node_row {
	const char	*node;
	int64_t		 seq;		/* the record that last named it */
	time_t		 ts;		/* that record's "ts" */
	const char	*body;
};
typedef int (*store_node_fn)(const struct store_node_row *, void *);
int	store_node_rows(struct store *, const char *cluster,
	    store_node_fn fn, void *arg);
int	store_node_put(struct store *, const char *cluster,
	    const struct store_node_row *);
int	store_node_delete(struct store *, const char *cluster,
	    const char *node);

struct store_service_row {
	const char	*name;
	int64_t		 seq;
	time_t		 ts;
	int64_t		 down;		/* failed probes in a row */
	const char	*body;
};
typedef int (*store_service_fn)(const struct store_service_row *, void *);
int	store_service_rows(struct store *, const char *cluster,
	    store_service_fn fn, void *arg);
int	store_service_put(struct store *, const char *cluster,
	    const struct store_service_row *);

/*
 * An alert: one per (cluster, rule, subject) while it is open, across
 * every relay sharing the store.  raised 0: pending (its condition has
 * not held for long enough yet); cleared 0: open.
 */
#define STORE_ALERT_TEXT_MAX	1024	/* bytes of an alert's text */
#define STORE_ALERT_SUBJECT_MAX	1100	/* "NODE:PATH" */

struct store_alert {
	int64_t		 id;
	const char	*cluster;
	const char	*rule;
	const char	*subject;
	const char	*severity;	/* warning | critical */
	const char	*text;
	time_t		 first_seen;
	time_t		 last_seen;
	time_t		 raised;
	time_t		 cleared;
};
typedef int (*store_alert_fn)(const struct store_alert *, void *);
/* A cluster's open and pending alerts, by id. */
int	store_alert_open_rows(struct store *, const char *cluster,
	    store_alert_fn fn, void *arg);
/*
 * Every alert (cluster NULL: of every cluster): open ones first, then
 * pending, then cleared, each by id.
 */
int	store_alert_rows(struct store *, const char *cluster,
	    store_alert_fn fn, void *arg);
/* The alert with this id: fn is called once, or not when there is none. */
int	store_alert_get(struct store *, int64_t id, store_alert_fn fn,
	    void *arg);
/*
 * Open or refresh the open alert for (a->cluster, a->rule, a->subject):
 * a new one takes a's times; one already open keeps its first_seen and
 * raised (another relay's, perhaps) and moves last_seen on.  Returns 0
 * with the stored id, first_seen and raised in *id, *first, *raised, or
 * -1.
 */
int	store_alert_put(struct store *, const struct store_alert *a,
	    int64_t *id, time_t *first, time_t *raised);
/*
 * Clear an open alert at when: 1 if this call cleared it, 0 if it was
 * not open (cleared already, by another relay perhaps), -1.
 */
int	store_alert_clear(struct store *, int64_t id, time_t when);
/* Forget a pending alert whose condition ended before it was raised. */
int	store_alert_drop(struct store *, int64_t id);
/*
 * Clusters without a tunnel whose last contact is at or before before:
 * no relay has one, or only relays not heard from for STORE_RELAY_STALE
 * seconds at now (killed for good, their tunnels still listed).
 */
typedef int (*store_offline_fn)(const char *cluster, time_t last_contact,
    void *arg);
int	store_offline_rows(struct store *, time_t now, time_t before,
	    store_offline_fn fn, void *arg);
/* Delete alerts cleared before this time. */
int	store_alert_prune(struct store *, time_t before);

/*
 * Messages down to the gateways (DESIGN.md section 6, "Vendor-to-
 * customer messages"): each has the store's id, a kind, a body (one JSON
 * object) and the cluster it is for (NULL: every cluster, now and
 * later).  A cluster's gateway is offered every message for it that it
 * has not acknowledged, oldest first; each offer and each answer is
 * recorded (deliveries), so that the relay shows which cluster
 * accepted or refused what.
 */
#define STORE_KIND_MAX		32
#define STORE_BODY_MAX		(64 * 1024)
#define STORE_RESULT_MAX	256	/* a refusal's reason */
#define STORE_CHUNK		(1024 * 1024)	/* a package chunk */

/* [a-z0-9_]{1,STORE_KIND_MAX}: 1 or 0. */
int	store_valid_kind(const char *kind);

/* A package a message refers to, read from fd to its end. */
struct store_package {
	const char	*name;		/* for errors: the file's path */
	int		 fd;
	const char	*sha256;	/* hex, what it must hash to */
	uint64_t	 size;		/* what it must measure */
};

/*
 * Store a message (body: the JSON text) and, if pkg is not NULL, the
 * package, in one transaction: a package of another size or SHA-256
 * than pkg says stores nothing.  0 with *id, or -1 with why.
 */
int	store_message_add(struct store *, const char *cluster,
	    const char *kind, const char *body,
	    const struct store_package *pkg, time_t now, int64_t *id,
	    char *why, size_t whylen);
/*
 * The same for a message a store function's caller makes inside a
 * transaction of its own (an alert raised by the analysis goes down in
 * the transaction that raised it): no package, cluster required.  0
 * with *id, or -1 (logged).
 */
int	store_message_put(struct store *, const char *cluster,
	    const char *kind, const char *body, time_t now, int64_t *id);
/* The newest message's id (0: none): a relay polls it for new ones. */
int	store_message_max(struct store *, int64_t *id);

struct store_message {
	int64_t		 id;
	const char	*kind;
	const char	*body;
	time_t		 created;
};
typedef int (*store_message_fn)(const struct store_message *, void *);
/*
 * The messages for cluster (its own and those for all) that it has not
 * acknowledged, with an id above after, oldest first, at most limit.
 */
int	store_messages_pending(struct store *, const char *cluster,
	    int64_t after, int limit, store_message_fn fn, void *arg);
/* Message id was offered to cluster (the first offer is kept). */
int	store_delivery_offered(struct store *, int64_t id,
	    const char *cluster, time_t now);
/*
 * Cluster answered message id: accepted (refused NULL) or refused with
 * that reason.  1 when recorded, 0 when it was not offered to the
 * cluster or already answered (the first answer stands), -1.
 */
int	store_delivery_acked(struct store *, int64_t id, const char *cluster,
	    time_t now, const char *refused);

/* The messages of one kind for a cluster, with what became of each. */
struct store_delivery {
	int64_t		 id;
	const char	*body;
	time_t		 created;
	time_t		 offered;	/* 0: never offered */
	time_t		 acked;		/* 0: not answered */
	const char	*result;	/* "accepted", "refused: WHY", NULL */
};
typedef int (*store_delivery_fn)(const struct store_delivery *, void *);
int	store_delivery_rows(struct store *, const char *cluster,
	    const char *kind, store_delivery_fn fn, void *arg);

/*
 * Up to max bytes of package sha256 from offset into buf: 1 with *n
 * and the package's *size (*n 0 at or past its end), 0 when the store
 * has no such package, -1 on a database error.
 */
int	store_package_read(struct store *, const char *sha256,
	    uint64_t offset, void *buf, size_t max, size_t *n,
	    uint64_t *size);

/*
 * Support bundles the gateways upload (DESIGN.md section 6, "Support
 * bundles and redaction"), kept in chunks as they arrive so that an
 * upload cut off - a reconnect, a relay restart - goes on from the
 * bytes already stored, and any relay on the store can serve it.  A
 * bundle's id is the gateway's (BUNDLE_ID hex digits), unique in the
 * store.
 */
#define STORE_BUNDLE_ID_LEN	16
#define STORE_BUNDLE_MAX	(128ULL << 30)	/* bytes in one bundle */
#define STORE_BUNDLE_TEXT_MAX	256	/* ticket, requested_by */
#define STORE_BUNDLE_SUMMARY_MAX 4096	/* the manifest's summary, JSON */

struct store_bundle {
	const char	*id;
	const char	*cluster;
	const char	*sha256;	/* of the whole tar.gz, hex */
	uint64_t	 size;
	const char	*source;	/* engineer | vendor | event */
	const char	*requested_by;
	const char	*ticket;	/* "" if none */
	int64_t		 message_id;	/* the vendor's request, or 0 */
	const char	*summary;	/* a JSON object */
	time_t		 created;	/* built, the gateway says */
	/* Filled in by the store: */
	uint64_t	 received;	/* bytes stored so far */
	time_t		 started;
	time_t		 completed;	/* 0: not whole yet */
};

/*
 * A gateway of cluster begins (or takes up again) uploading bundle b:
 * 0 with *have, the bytes stored for it, and *complete; or -1 with why
 * (a field out of bounds, an id another cluster's bundle has, one
 * stored already with another size or SHA-256, or a new bundle over
 * the cluster's bundle quota).
 */
int	store_bundle_begin(struct store *, const struct store_bundle *b,
	    time_t now, uint64_t *have, int *complete, char *why,
	    size_t whylen);
/*
 * Store len bytes of bundle id (cluster's) at offset, which must be
 * where the stored bytes end.  The piece that completes the bundle is
 * checked with the rest against its SHA-256 in the same transaction:
 * 1 complete, 0 not yet, with *have; -1 with why and *have, where the
 * stored bytes end (not begun, whole already, not at their end, past
 * its size, a database error, or a SHA-256 that does not match, in
 * which case every chunk is removed and *have is 0: the upload starts
 * again).
 */
int	store_bundle_put(struct store *, const char *cluster, const char *id,
	    uint64_t offset, const void *data, size_t len, time_t now,
	    uint64_t *have, char *why, size_t whylen);
typedef int (*store_bundle_fn)(const struct store_bundle *, void *);
/*
 * The bundles of cluster (NULL: every cluster), or the one named id
 * (NULL: all), newest first.  As the other row functions.
 */
int	store_bundle_rows(struct store *, const char *cluster, const char *id,
	    store_bundle_fn fn, void *arg);
/* Up to max bytes of bundle id from offset: 0 with *n (0 at its end). */
int	store_bundle_read(struct store *, const char *id, uint64_t offset,
	    void *buf, size_t max, size_t *n);
/*
 * [relay] bundle_quota: the bytes of bundles (each counted at the size
 * its gateway announced, whole or not) one cluster may hold in the
 * store; 0, the default, sets no bound.  store_bundle_begin refuses a
 * new bundle that would pass it, with the numbers, before any piece of
 * it is stored; a bundle begun already goes on.  Set at start and at
 * each reload.
 */
void	store_set_bundle_quota(struct store *, uint64_t bytes);
/*
 * Remove bundle id and every chunk of it (porthole-relay bundle
 * remove), making room under its cluster's quota: 1 with its *size and
 * cluster (65 bytes), 0 when the store has no such bundle, -1 with why.
 * A gateway still uploading it is refused its next piece and begins
 * it again.
 */
int	store_bundle_remove(struct store *, const char *id, uint64_t *size,
	    char *cluster, char *why, size_t whylen);

#endif
