/*
 * store.h - the relay's embedded store (SQLite, WAL): clusters, usage
 * per hour and environment, health snapshots, events, audit anchors.
 *
 * Records arrive in batches from a cluster's control channel, each
 * with the cluster's sequence number; a batch is one transaction, and
 * a record whose (cluster_id, seq) is already stored is a duplicate
 * (after a reconnect) and is skipped.  The relay acknowledges only what
 * store_records() has committed: the database runs with
 * synchronous=FULL, so a commit that returned is on disk.
 *
 * One process writes (the relay), which opens the store only after it
 * has detached (a fork drops SQLite's POSIX locks); the report commands
 * read the same file with store_open_readonly() while it runs.  Functions without an error buffer log the
 * reason with log_error() and return -1.
 */
#ifndef PH_STORE_H
#define PH_STORE_H

#include <stdint.h>
#include <time.h>

#include <jansson.h>

/* Health snapshots kept per cluster; older ones are deleted. */
#define STORE_HEALTH_KEEP	100

struct store;

/*
 * Open or create the database (mode 0600: usage is billing data).
 * 0, or -1 with "PATH: reason".
 */
int	store_open(const char *path, struct store **out, char *err,
	    size_t errlen);
/*
 * Open an existing database to read, for the reports: never creates,
 * writes, checkpoints or removes anything, so the relay writing it at
 * the same time loses nothing.  0, or -1 with "PATH: reason".
 */
int	store_open_readonly(const char *path, struct store **out, char *err,
	    size_t errlen);
void	store_close(struct store *);

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
 * The relay (re)started: no cluster is connected, whatever a crashed
 * predecessor left behind.
 */
int	store_relay_started(struct store *);

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
	 * The newest health snapshot (has_health == 0: none): how many
	 * nodes and services it lists, and how many of those services
	 * are up ("up": true or "state": "up"); -1 where the snapshot has
	 * no such list.
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
 * (a field out of bounds, an id another cluster's bundle has, or one
 * stored already with another size or SHA-256).
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

#endif
