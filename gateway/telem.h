/*
 * telem.h - the gateway's telemetry front door: every record, from a
 * local producer (intake.c), a collector or the gateway itself, is
 * validated, filtered by the customer's [telemetry] toggles and
 * appended to the durable spool here.  Appends are committed together
 * (one fdatasync for all records that arrived in the same turn of the
 * event loop), and only then is each producer told its record is safe.
 */
#ifndef PH_TELEM_H
#define PH_TELEM_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "policy/policy.h"
#include "telemetry/spool.h"

#define TELEM_SPOOL_MAX		(256ULL * 1024 * 1024)
#define TELEM_SPOOL_DIR		"spool"		/* in state_dir */

struct telem;

/*
 * After the commit: ok 1 with the record's seq, or ok 0 with why (the
 * record is not safe: the producer should retry).
 */
typedef void (*telem_done_cb)(void *arg, int ok, uint64_t seq,
    const char *why);

/* NULL with err when the spool cannot be opened. */
struct telem	*telem_new(struct event_base *base, const struct policy *pol,
		    char *err, size_t errlen);
void		 telem_free(struct telem *);
void		 telem_set_policy(struct telem *, const struct policy *pol);

/*
 * Take one record (JSON text).  Returns 0: appended, done is called
 * after the commit; 1: a toggle blocks its class, nothing was written
 * (why says which); -1: refused (why: malformed, "spool full", ...).
 */
int		 telem_submit(struct telem *, const char *text, size_t len,
		    telem_done_cb done, void *arg, char *why, size_t whylen);
#define TELEM_HELD_MAX		1000	/* own events waiting for room */
#define TELEM_HELD_RETRY	1	/* seconds between tries */

/*
 * The gateway's own event (type, fields stolen): stamped with the time
 * and the cluster, subject to the events toggle.  When the spool refuses
 * it (full, a write error) it is held in memory, after any held before
 * it, and appended once the spool takes it: at most TELEM_HELD_MAX are
 * held (the oldest is lost beyond, and logged), and those still held at
 * telem_free() are lost (logged).  0 when appended, held or blocked by
 * the toggle (the customer wants it never sent); -1 out of memory.
 */
int		 telem_event(struct telem *, const char *type, json_t *fields);
/*
 * The same, for a caller that announces again by itself: nothing is
 * held, -1 when the event could not be spooled (logged).
 */
int		 telem_event_try(struct telem *, const char *type,
		    json_t *fields);
/* A finished record of the gateway's own (stolen), e.g. health.  As try. */
int		 telem_record(struct telem *, json_t *rec);
/* How many events are held for want of room. */
size_t		 telem_held(const struct telem *);

/*
 * Called with the type of every event record a producer submits
 * (telem_submit), whether or not [telemetry] events lets it leave: the
 * product's events may gather a support bundle (bundles.h).
 */
void		 telem_on_event(struct telem *, void (*cb)(void *,
		    const char *type), void *arg);
/* Called after each commit that made new records durable. */
void		 telem_on_commit(struct telem *, void (*cb)(void *), void *arg);
struct spool	*telem_spool(struct telem *);

#endif
