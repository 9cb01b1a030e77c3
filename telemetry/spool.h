/*
 * spool.h - the gateway's durable telemetry spool in state_dir.
 *
 * Records are appended as length-prefixed, CRC-32C-checked frames to
 * segment files (DIR/%020llu.seg, named for the sequence number they
 * were started with); each record gets the next sequence number, and
 * no number is ever handed out twice, across restarts and crashes.
 * Appends are only written; spool_sync() makes all of them durable
 * with one fdatasync (group commit), and a producer is acknowledged
 * only after it.  Only durable records are read back.  On open every
 * frame is checked: a torn or corrupt tail of the last segment is cut
 * off; damage inside an older segment is logged, and the records from
 * there to the end of that segment are lost.  spool_ack(N) records (in
 * the synced cursor file DIR/cursor) that everything up to N reached
 * the relay's store, and only then deletes segments wholly at or below
 * N; the segment being appended to stays until it is full.  The spool
 * is bounded: past max_bytes of segment files, the oldest health
 * records are dropped (counted in stats) to make room for any new
 * record; usage and events are never dropped - when no health is left
 * to drop they are refused ("spool full").  Space held
 * by acknowledged records is reclaimed for any record.  A new spool
 * takes its first number from the relay (spool_align).
 *
 * One thread owns a spool; nothing here locks.
 */
#ifndef PH_SPOOL_H
#define PH_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "telemetry/record.h"

#define SPOOL_SEGMENT_MAX	(4 * 1024 * 1024)

struct spool;

struct spool_stats {
	uint64_t	 depth;		/* records not yet acknowledged */
	uint64_t	 bytes;		/* of segment files on disk */
	time_t		 oldest;	/* append time of the oldest unacked, 0 */
	uint64_t	 dropped_health;	/* since the spool was created */
	uint64_t	 last_seq;	/* the newest number handed out */
	uint64_t	 acked_seq;
};

/*
 * Open (creating dir if needed).  max_bytes must hold at least one
 * record of RECORD_MAX.  0, or -1 with "FILE: reason"; an unreadable
 * cursor is an error, not a guess.
 */
int	spool_open(const char *dir, uint64_t max_bytes, struct spool **out,
	    char *err, size_t errlen);
/* Close; appends not yet synced are written but not made durable. */
void	spool_close(struct spool *);

/*
 * Append one record (JSON text of 1..RECORD_MAX bytes, validated by the
 * caller) of class cls, stamped with now.  0 with *seq (not yet
 * durable: call spool_sync), or -1 with why: exactly "spool full" when
 * there is no room, else the reason.  A refused record takes no number.
 */
int	spool_append(struct spool *, enum record_class cls, const char *rec,
	    size_t len, time_t now, uint64_t *seq, char *why, size_t whylen);
/*
 * Make every append so far durable.  0, or -1 with why; after a failed
 * write or sync the spool refuses appends until it is reopened.
 */
int	spool_sync(struct spool *, char *why, size_t whylen);

/*
 * Visit durable records with seq > after that are not acknowledged, in
 * order, up to max records or max_bytes of record text (but at least
 * one): fn gets each; a nonzero return stops.  Sequence numbers have
 * gaps where health records were dropped.  fn must not call back into
 * the spool.  Returns the number visited, or -1 on an I/O error or a
 * damaged frame (logged).
 */
typedef int (*spool_visit_fn)(void *arg, uint64_t seq, enum record_class,
    const char *rec, size_t len);
int	spool_read(struct spool *, uint64_t after, size_t max,
	    size_t max_bytes, spool_visit_fn fn, void *arg);

/*
 * Everything <= seq is safe at the relay.  0, or -1 with why; an ack
 * past the last durable record is refused, an old one changes nothing.
 */
int	spool_ack(struct spool *, uint64_t seq, char *why, size_t whylen);

void	spool_stats(const struct spool *, struct spool_stats *);

/*
 * The relay's store holds this cluster's records up to relay_seq.  A
 * spool that cannot have sent them - one created in an empty directory
 * (state_dir wiped, a new machine), or one whose newest number is below
 * relay_seq (restored from an old copy) - would hand out numbers the
 * relay drops as duplicates.  Then every record not acknowledged, and
 * every later one, is numbered from relay_seq + 1 on: the numbers the
 * caller sees shift, the files do not change, and the cursor is synced
 * before this returns.  Call it before anything is sent.  1 if the
 * numbers moved, 0 if not, -1 with why (nothing changed).
 */
int	spool_align(struct spool *, uint64_t relay_seq, char *why,
	    size_t whylen);

#endif
