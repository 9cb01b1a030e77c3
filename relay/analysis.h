/*
 * analysis.h - what the relay makes of each cluster's health records:
 * the health view and the alerts of relay.conf's [alerts] rules.
 *
 * The health view keeps every node and service as the newest health
 * record that named it left it, whoever sent that record: records from
 * the product and from the gateway for the same node merge (field by
 * field, disks by path), records for different nodes add up.  A
 * record's top-level "disks" belong to its reporting node: the one its
 * "node" field names, else the first of its "nodes".  Values are read
 * only within bounds (a size below 0, 10^30 cores, a load that is not a
 * number): a value out of bounds is shown as sent and judged by no rule.
 *
 * The rules, each judged at the record's own "ts" as records arrive:
 *   disk_used         a disk's used share (as df counts it) at or above
 *   memory_available  a node's available memory share below
 *   load_per_core     a node's load1 / cores above
 *       (warning, raised once the condition has held for `for`)
 *   service_down      a service down in that many records in a row
 *   node_lost         a node no record has named for as long as
 *                     `offline` (30m when offline is off), while
 *                     others still report; a node_removed event for it
 *                     takes it out of the view instead
 *   offline           no tunnel from the cluster for that long
 *       (critical, raised at once)
 * An alert clears when its condition is gone.  Alerts are kept by the
 * store, one open per (cluster, rule, subject) across every relay that
 * shares it, and each raise and clear is logged.
 */
#ifndef PH_ANALYSIS_H
#define PH_ANALYSIS_H

#include <stdint.h>
#include <time.h>

#include "relay/relay_conf.h"
#include "relay/store.h"

#define ANALYSIS_NODES_MAX	1024	/* nodes in a cluster's view */
#define ANALYSIS_SERVICES_MAX	256	/* services in a cluster's view */
#define ANALYSIS_DISKS_MAX	64	/* disks of one node */
#define ANALYSIS_FIELDS_MAX	64	/* fields of one node */
#define ANALYSIS_ALERTS_MAX	512	/* open alerts of one cluster */
#define ANALYSIS_NAME_MAX	255	/* a node's or service's name */
#define ANALYSIS_PATH_MAX	512	/* a disk's path */
#define ANALYSIS_KEEP_CLEARED	(90 * 86400)	/* cleared alerts kept */

struct analysis;

/* The rules are copied; NULL when out of memory. */
struct analysis	*analysis_new(const struct relay_alert_rules *rules);
void		 analysis_free(struct analysis *);
/* relay.conf was read again: these rules from the next record on. */
void		 analysis_set_rules(struct analysis *,
		    const struct relay_alert_rules *rules);
/* Analyse every batch that st stores from now on. */
void		 analysis_attach(struct analysis *, struct store *st);

/*
 * The offline rule, run every minute by the relay: every cluster that
 * has had no tunnel for `offline` - counted from the later of its last
 * contact and since, when this relay started, for it cannot know what
 * happened before - gets its critical alert.  0, or -1 (logged).
 */
int		 analysis_offline(struct analysis *, struct store *st,
		    time_t now, time_t since);
/* A cluster's tunnel is up: its offline alert, if any, clears. */
int		 analysis_online(struct analysis *, struct store *st,
		    const char *cluster, time_t now);

/*
 * An expert's own alert (rule "expert"): text (1..STORE_ALERT_TEXT_MAX
 * bytes of UTF-8, kept as given; every view escapes it) raised now for
 * subject (a word; the open alert of that subject gets the new text).
 * 0 with *id, or -1 with why.
 */
int		 analysis_expert(struct store *st, const char *cluster,
		    const char *severity, const char *subject,
		    const char *text, time_t now, int64_t *id, char *why,
		    size_t whylen);
/* Clear alert id of cluster now.  0, or -1 with why. */
int		 analysis_clear(struct store *st, const char *cluster,
		    int64_t id, time_t now, char *why, size_t whylen);

#endif
