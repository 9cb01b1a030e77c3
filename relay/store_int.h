/*
 * store_int.h - between the store's front (relay/store.c) and its
 * backends (relay/store_sqlite.c, relay/store_pg.c).  Nothing outside
 * those files includes it.
 *
 * The front checks every value that came from the network or the
 * command line, decides what a call means (which transaction, in what
 * order, what is logged) and keeps no SQL.  A backend is a table of
 * methods, chosen once when the store is opened from the form of
 * [relay] database: it holds the SQL of its engine and nothing else.
 * The methods below run inside a transaction the front began where
 * the comment says so; the others run on their own.
 *
 * A method returns 0 (or the count its comment gives) on success and
 * -1 on a database error, with the engine's words in s->err; the front
 * adds what it was doing and where, and logs or returns it.  The
 * methods that hand rows to a callback return 0 when every row was
 * given, -1 when the callback stopped them (it said why), and
 * STORE_DB_ERROR when the database failed.
 */
#ifndef PH_STORE_INT_H
#define PH_STORE_INT_H

#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "relay/store.h"

#define STORE_ERR_MAX		512
#define STORE_DB_ERROR		(-2)	/* a row method's database error */
#define STORE_HEAD_LEN		64	/* an audit anchor's head, in hex */

enum store_class {
	SC_USAGE,
	SC_EVENT,
	SC_HEALTH
};

/* One record of a batch, checked by the front before any is stored. */
struct store_item {
	int64_t		 seq;
	enum store_class cls;
	json_t		*rec;		/* borrowed from the batch */
	int64_t		 hour;		/* usage */
	const char	*env;		/* usage */
	const char	*ts;		/* event, health */
	const char	*type;		/* event */
	int		 fresh;		/* set by records(): stored now */
};

/* A support bundle's row as the front checks a piece against it. */
struct store_bundle_state {
	char		 cluster[65];
	char		 sha256[65];	/* hex */
	uint64_t	 size;
	uint64_t	 received;	/* bytes stored, from 0 on */
	time_t		 completed;	/* 0: not whole yet */
};

struct store_ops;

struct store {
	const struct store_ops	*ops;
	void			*be;		/* the backend's own state */
	char			*name;		/* for messages: the path, or
						   the URI without a password */
	int			 flags;		/* STORE_READONLY, ... */
	unsigned		 generation;	/* connections made so far */
	char			 err[STORE_ERR_MAX];	/* the last error */
	int			 unavailable;	/* err: the database could not
						   be reached (logged once by
						   the backend) */
	struct store_batch	*sent;		/* store_batch_send()'s, not
						   waited for yet */
	char			*relay;		/* this relay's name among the
						   fleet's (store_relay_started),
						   or NULL */
	const struct store_hooks *hooks;	/* NULL: no analysis */
	void			*hooks_arg;
	uint64_t		 bundle_quota;	/* bytes of bundles a cluster
						   may hold; 0: no bound */
};

/* The schema version this relay writes, the same for every backend. */
#define STORE_SCHEMA_VERSION	6

struct store_ops {
	const char	*engine;	/* "SQLite", "PostgreSQL" */

	/*
	 * Open what spec names and bring its schema to
	 * STORE_SCHEMA_VERSION (with STORE_READONLY: refuse any other).
	 * s->name is set; s->be is the backend's; s->generation counts
	 * each connection made ready.  0, or -1 with why in err, naming
	 * the database.  With STORE_RETRY a database that cannot be
	 * reached now is 0 as well (its backend connects later).
	 */
	int	(*open)(struct store *, const char *spec, char *err,
		    size_t errlen);
	void	(*close)(struct store *);

	int	(*begin)(struct store *);
	int	(*commit)(struct store *);
	/* Harmless when no transaction is open; cannot fail. */
	void	(*rollback)(struct store *);

	/* Know a cluster; one already known is left as it is. */
	int	(*cluster_add)(struct store *, const char *cluster,
		    time_t now);
	/*
	 * In the front's transaction: know the cluster and read its
	 * last_seq, holding it so that another relay's batch for the same
	 * cluster waits until this transaction ends.
	 */
	int	(*cluster_lock)(struct store *, const char *cluster,
		    time_t now, int64_t *last);
	/* version NULL: keep the stored one. */
	int	(*cluster_seen)(struct store *, const char *cluster,
		    time_t now, const char *version, int connected);
	/*
	 * In the front's transaction: the relay is up (its row in relays,
	 * seen now); none of its tunnels is (its connections go, and each
	 * cluster's connected flag follows what is left).
	 */
	int	(*relay_started)(struct store *, const char *relay,
		    time_t now);
	/* The relay's heartbeat: it was alive at now. */
	int	(*relay_seen)(struct store *, const char *relay, time_t now);
	/* The relay stopped: its row goes. */
	int	(*relay_down)(struct store *, const char *relay);
	/*
	 * In the front's transaction: cluster's tunnel to relay came up
	 * (up: since now) or went; the cluster's connected flag follows
	 * whether any relay still has one.
	 */
	int	(*connection)(struct store *, const char *cluster,
		    const char *relay, time_t now, int up);
	int	(*cluster_relays)(struct store *, const char *cluster,
		    store_relay_fn, void *);

	/*
	 * The cluster registry.  put: in the front's transaction, the
	 * entry added (0) or, with replace, replaced (1) under the
	 * registry's next change number, or left as it is when there is
	 * one and not replace (2); remove: 1 when an entry was there and is marked
	 * removed (under the next change number), 0 when it was not.
	 * Change numbers grow in the order their transactions commit, so
	 * a relay asking for the changes after the last it saw misses
	 * none.  get: 1 with fn called once, 0 when there is no entry
	 * (removed ones included); changes: every entry changed after
	 * after, removed ones too, oldest change first; rows: the entries
	 * not removed, by id.
	 */
	int	(*registry_put)(struct store *, const struct store_registry *,
		    int replace, time_t now);
	int	(*registry_remove)(struct store *, const char *id,
		    time_t now);
	int	(*registry_get)(struct store *, const char *id,
		    store_registry_fn, void *);
	int	(*registry_changes)(struct store *, int64_t after,
		    store_registry_fn, void *);
	int	(*registry_rows)(struct store *, store_registry_fn, void *);
	/* clusters.last_seq, 0 if the cluster is unknown. */
	int	(*last_seq)(struct store *, const char *cluster, int64_t *seq);
	/*
	 * In the front's transaction, with the cluster known: store each
	 * item's (cluster, seq) key, and for the keys that were new set
	 * item->fresh and apply the record (usage replaces its hour and
	 * environment, health and events are kept), in seq order; then
	 * keep only the newest STORE_HEALTH_KEEP health snapshots.
	 */
	int	(*records)(struct store *, const char *cluster,
		    struct store_item *items, size_t n, time_t now);
	/* In the front's transaction: last_seq = high, contact now. */
	int	(*advance)(struct store *, const char *cluster, int64_t high,
		    time_t now);
	/*
	 * Optional (NULL: the front stores every batch itself, waiting).
	 * Send a batch of usage records only, all taken as new, as one
	 * transaction of its own, without waiting for the outcome: the
	 * cluster known and locked, the keys inserted (a key stored
	 * already fails the transaction, so nothing of it is kept), the
	 * usage applied as records() would apply it, last_seq raised to at
	 * least high, contact now.  batch_wait() waits for it: 0 committed
	 * with *last the cluster's last_seq, 1 when it was rolled back
	 * because a key was stored already (the front then stores the
	 * batch in its careful way), -1 on any other failure (rolled back,
	 * why in s->err).  Any other method called in between first waits
	 * for the batch and keeps its outcome for batch_wait().
	 */
	int	(*batch_send)(struct store *, const char *cluster,
		    struct store_item *items, size_t n, int64_t high,
		    time_t now);
	int	(*batch_wait)(struct store *, int64_t *last);
	/* What becomes readable when the batch sent is answered, or -1. */
	int	(*batch_fd)(struct store *);
	/* Optional (NULL: always ready): the connection made ready. */
	int	(*ready)(struct store *);

	/*
	 * 1 with the cluster's row in *ci (first_seen, last_contact,
	 * connected, version, last_seq, host_key), 0 if it is unknown.
	 */
	int	(*cluster_get)(struct store *, const char *cluster,
		    struct store_cluster_info *ci);
	int	(*record_count)(struct store *, const char *cluster,
		    uint64_t *n);
	/*
	 * The health view's counts: the nodes and services of the
	 * cluster, and how many of those services are up (down = 0).
	 */
	int	(*health_counts)(struct store *, const char *cluster,
		    int64_t *nodes, int64_t *services, int64_t *up);
	int	(*host_key)(struct store *, const char *cluster,
		    const char *key);

	/*
	 * In the front's transaction: 1 with another head already stored
	 * for (cluster, epoch, seq) in other (STORE_HEAD_LEN + 1 bytes),
	 * else 0.
	 */
	int	(*anchor_other)(struct store *, const char *cluster,
		    uint64_t epoch, uint64_t seq, const char *head,
		    char *other);
	/* In the front's transaction; an anchor already stored stays. */
	int	(*anchor_add)(struct store *, const char *cluster,
		    uint64_t epoch, uint64_t seq, const char *head,
		    time_t now);

	int	(*usage_rows)(struct store *, const char *cluster,
		    store_usage_fn, void *);
	/* The usage of the hours in [since, until). */
	int	(*usage_range)(struct store *, const char *cluster,
		    time_t since, time_t until, store_usage_fn, void *);
	int	(*event_rows)(struct store *, const char *cluster,
		    store_event_fn, void *);
	int	(*anchor_rows)(struct store *, const char *cluster,
		    store_anchor_fn, void *);

	/*
	 * In the front's transaction (cluster NULL: every cluster).  The
	 * ids a store hands out grow in the order their messages commit,
	 * so that a relay polling for ids above the newest it saw misses
	 * none.
	 */
	int	(*message_add)(struct store *, const char *cluster,
		    const char *kind, const char *body, time_t now,
		    int64_t *id);
	int	(*message_max)(struct store *, int64_t *id);
	int	(*messages_pending)(struct store *, const char *cluster,
		    int64_t after, int limit, store_message_fn, void *);
	int	(*delivery_offered)(struct store *, int64_t id,
		    const char *cluster, time_t now);
	/* 1 when recorded, 0 when not offered or answered already. */
	int	(*delivery_acked)(struct store *, int64_t id,
		    const char *cluster, time_t now, const char *result);
	int	(*delivery_rows)(struct store *, const char *cluster,
		    const char *kind, store_delivery_fn, void *);

	/*
	 * The health view and the alerts (relay/analysis.c), in the
	 * caller's transaction when it has one (store_records()' when
	 * called from a hook).  A time of 0 is SQL's NULL for raised and
	 * cleared.  alert_put: open or refresh the open alert of
	 * (cluster, rule, subject) as store_alert_put() says, whichever
	 * relay wrote it first, and read back its id, first_seen and
	 * raised.  alert_clear: 1 when this call cleared it, 0 when it was
	 * not open.  alert_rows: cluster NULL for every cluster's.
	 */
	int	(*node_rows)(struct store *, const char *cluster,
		    store_node_fn, void *);
	int	(*node_put)(struct store *, const char *cluster,
		    const struct store_node_row *);
	int	(*node_delete)(struct store *, const char *cluster,
		    const char *node);
	int	(*service_rows)(struct store *, const char *cluster,
		    store_service_fn, void *);
	int	(*service_put)(struct store *, const char *cluster,
		    const struct store_service_row *);
	int	(*alert_open_rows)(struct store *, const char *cluster,
		    store_alert_fn, void *);
	int	(*alert_rows)(struct store *, const char *cluster,
		    store_alert_fn, void *);
	int	(*alert_get)(struct store *, int64_t id, store_alert_fn,
		    void *);
	int	(*alert_put)(struct store *, const struct store_alert *,
		    int64_t *id, time_t *first, time_t *raised);
	int	(*alert_clear)(struct store *, int64_t id, time_t when);
	int	(*alert_drop)(struct store *, int64_t id);
	int	(*alert_prune)(struct store *, time_t before);
	/*
	 * Clusters last seen at or before before that no relay has a
	 * tunnel from: not connected, or connected only through relays not
	 * heard from since alive (killed, or cut off from the store).
	 */
	int	(*offline_rows)(struct store *, time_t alive, time_t before,
		    store_offline_fn, void *);

	/* In the front's transaction: a package's chunks go, or one comes. */
	int	(*chunks_delete)(struct store *, const char *sha256);
	int	(*chunk_add)(struct store *, const char *sha256,
		    uint64_t offset, const void *data, size_t len);
	/* 1 with the package's size (its last chunk's end), 0: none. */
	int	(*package_size)(struct store *, const char *sha256,
		    uint64_t *size);
	/*
	 * Up to max bytes from offset, out of the chunk that holds it
	 * (*n 0 in a hole between chunks).
	 */
	int	(*package_chunk)(struct store *, const char *sha256,
		    uint64_t offset, void *buf, size_t max, size_t *n);

	/*
	 * Support bundles, stored as their pieces arrive.  bundle_add: the
	 * row (received and completed 0), unless one with its id is there
	 * already.  bundle_state, in the front's transaction: 1 with the
	 * row of id, held so that a piece another relay stores for the
	 * same bundle waits until this transaction ends; 0 if none.
	 * bundle_chunk_add, bundle_mark (bytes received, completion) and
	 * bundle_chunks_delete: in the front's transaction.  bundle_chunk:
	 * as package_chunk.  bundle_rows: cluster's or every cluster's
	 * (NULL), the one named id or all (NULL), newest first.
	 */
	int	(*bundle_add)(struct store *, const struct store_bundle *,
		    time_t now);
	int	(*bundle_state)(struct store *, const char *id,
		    struct store_bundle_state *);
	int	(*bundle_chunk_add)(struct store *, const char *id,
		    uint64_t offset, const void *data, size_t len);
	int	(*bundle_mark)(struct store *, const char *id,
		    uint64_t received, time_t completed);
	int	(*bundle_chunks_delete)(struct store *, const char *id);
	int	(*bundle_chunk)(struct store *, const char *id,
		    uint64_t offset, void *buf, size_t max, size_t *n);
	int	(*bundle_rows)(struct store *, const char *cluster,
		    const char *id, store_bundle_fn, void *);
	/*
	 * In the front's transaction: the bytes of cluster's bundles, each
	 * at its announced size.  Held until the transaction ends, so that
	 * two relays beginning new bundles of one cluster count in turn.
	 */
	int	(*bundle_usage)(struct store *, const char *cluster,
		    uint64_t *bytes);
	/* In the front's transaction: bundle id's row and its chunks. */
	int	(*bundle_delete)(struct store *, const char *id);
};

extern const struct store_ops	store_sqlite_ops;
extern const struct store_ops	store_pg_ops;

/* "usage", "event", "health": a record's class as the records table has it. */
const char	*store_class_name(enum store_class);

/* The backend's words for s->err; returns -1 for the caller to return. */
int	store_be_error(struct store *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* The same for a database that could not be reached. */
int	store_be_unavailable(struct store *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
