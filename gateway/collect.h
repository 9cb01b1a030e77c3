/*
 * collect.h - the gateway's health collectors.
 *
 * Every health_interval seconds, and once shortly after start, one
 * health record is built and handed to telem.c:
 *   {"class":"health","ts":T,"cluster":ID,
 *    "nodes":[collect_node()],
 *    "services":[{"name":N,"address":"HOST:PORT","state":"up",
 *                 "latency_ms":MS} | {...,"state":"down","error":WHY}],
 *    "disks":[collect_disk(path), ...]}
 * Each configured service is probed with a non-blocking TCP connect
 * (at most COLLECT_PROBE_MS, name lookup included); the record goes
 * out when every probe has answered or timed out.  Inventory changes
 * become events: node_added / node_removed {"node":NAME} and, the first
 * time a service named "activegate..." is seen up, activegate_registered
 * {"service":NAME,"address":"HOST:PORT"}.  What was announced is kept
 * in state_dir/COLLECT_STATE, so a restart does not announce it again.
 */
#ifndef PH_COLLECT_H
#define PH_COLLECT_H

#include <event2/event.h>
#include <jansson.h>

#include "gateway/telem.h"
#include "policy/policy.h"

#define COLLECT_MAX_ITEMS	64	/* services and disks per record */
#define COLLECT_PROBE_MS	2000	/* one service probe, lookup included */
#define COLLECT_FIRST_MS	1000	/* the first record after start */
#define COLLECT_STATE		"collect.json"	/* in state_dir */

struct collect;

/* NULL after logging why. */
struct collect	*collect_new(struct event_base *base, const struct policy *pol,
		    struct telem *telem);
/* After a reload: the new interval, disks and services. */
void		 collect_set_policy(struct collect *, const struct policy *pol);
void		 collect_free(struct collect *);

/*
 * This host: {"name", "cores", "load1", "load5", "load15", "mem_total",
 * "mem_available" (bytes), "uptime_s"}.  A value that cannot be read is
 * left out.  NULL only when the host name cannot be had.
 */
json_t		*collect_node(void);
/*
 * One partition via statvfs: {"path", "size", "used", "free" (bytes
 * available to unprivileged users), "ok":true}, or {"path", "ok":false,
 * "error"}.  NULL only when out of memory.
 */
json_t		*collect_disk(const char *path);
/*
 * Compare two node inventories (arrays of node names; NULL is empty):
 * 0 with *added (in after only) and *removed (in before only), new
 * arrays of names, each name once; -1 when an input is not an array of
 * strings or memory runs out.
 */
int		 collect_diff_nodes(json_t *before, json_t *after,
		    json_t **added, json_t **removed);

#endif
