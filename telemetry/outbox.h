/*
 * outbox.h - the gateway's copy of every telemetry record it sent, for
 * the customer to read back (porthole telemetry, events, usage).
 *
 * The uplink writes each record here, byte for byte as it goes into the
 * control channel and under the seq it goes with, before it queues the
 * batch: what is not in the outbox has not left.  Acknowledgements are
 * written as they come.  The outbox is its own append-only files in
 * state_dir/outbox, not the spool kept longer, because:
 *   - the spool forgets a record once the relay has it, rewrites and
 *     drops segments to make room, and is owned by the daemon alone,
 *     while the outbox must keep what was sent for a month and be read
 *     by the CLI while the daemon appends: append-only files a reader
 *     can stop at any torn end are safe to read alongside;
 *   - the spool's seq numbers are its own plus a base that a new or
 *     restored spool moves (spool_align); the outbox keeps the seq each
 *     record was sent with;
 *   - the outbox has bounds of its own (outbox_keep, outbox_max), which
 *     must not take room or records from the spool.
 * Costs: one more copy of each record on disk, and one write() per
 * batch, never synced: after a power cut (not a crash of the daemon)
 * the last records sent may be missing from the copy.  No other write
 * touches the files' metadata (no utimes, acknowledgements gathered),
 * since each such update waits on the file system's journal while the
 * relay's store, often on the same disk, syncs.
 *
 * A file (%020llu.out, numbered from 1 in order) is a run of frames,
 * integers big-endian:
 *	u32	length		of the payload, 0..RECORD_MAX
 *	u32	crc		CRC-32C of everything below
 *	u64	seq		of the record, or acknowledged up to
 *	u8	kind		record class (1-3), or OUTBOX_ACK
 *	i64	time		when sent (or acknowledged)
 *		payload		the record as sent; none for an ack
 * Whole files go: the oldest while the outbox holds more than max
 * bytes, and any whose last frame is older than keep.
 */
#ifndef PH_OUTBOX_H
#define PH_OUTBOX_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "telemetry/record.h"

#define OUTBOX_DIR	"outbox"	/* in state_dir */
#define OUTBOX_ACK	0x41	/* the kind of an acknowledgement */
#define OUTBOX_FILE_MIN	(256 * 1024)	/* a file holds at least this */

struct outbox;

/*
 * Open dir for appending (created if needed, mode 0700); a torn frame
 * at the end of the last file is cut off.  max_bytes 0 keeps nothing
 * (no file is written).  0, or -1 with "PATH: reason".
 */
int	outbox_open(const char *dir, uint64_t keep_secs, uint64_t max_bytes,
	    struct outbox **out, char *err, size_t errlen);
void	outbox_close(struct outbox *);
/* New bounds (a reload); applied at the next prune. */
void	outbox_set_limits(struct outbox *, uint64_t keep_secs,
	    uint64_t max_bytes);

/*
 * Add one record sent at now.  A seq at or below the newest recorded is
 * a record sent again: nothing is added.  Buffered: outbox_flush()
 * writes it.  0, or -1 (out of memory).
 */
int	outbox_record(struct outbox *, uint64_t seq, enum record_class cls,
	    const char *rec, size_t len, time_t now);
/* Everything up to seq is acknowledged (at now); buffered as well. */
int	outbox_ack(struct outbox *, uint64_t seq, time_t now);
/*
 * Write what is buffered.  0, or -1 with why: the frames stay buffered
 * and the caller must not send what they describe.
 */
int	outbox_flush(struct outbox *, char *why, size_t whylen);
/* Delete files past the bounds (logged).  0, or -1 (logged). */
int	outbox_prune(struct outbox *, time_t now);

/*
 * Read an outbox directory, oldest first: fn gets each record with
 * its seq, class, the time it was sent and its text, in order; acks
 * with cls OUTBOX_ACK and len 0.  fn returns nonzero to stop.  A torn
 * or damaged frame ends its file (the daemon may be writing it).
 * 0, or -1 with why ("PATH: reason").
 */
typedef int (*outbox_fn)(void *arg, uint64_t seq, int kind, time_t when,
    const char *rec, size_t len);
int	outbox_read(const char *dir, outbox_fn fn, void *arg, char *why,
	    size_t whylen);

#endif
