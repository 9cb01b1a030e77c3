/*
 * audit.h - the audit log: one JSON object per line, appended by one
 * writer.  Each line carries "seq" (1, 2, ...), "ts" (RFC 3339 UTC from
 * the lib clock), "type" and "prev" (hex SHA-256 of the previous line's
 * bytes without its newline; 64 zeros for the first line of a new log),
 * then the event's own fields.  The layout leaves room for the seals of
 * the tamper-evident format.
 */
#ifndef PH_AUDIT_H
#define PH_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#define AUDIT_MAX_LINE	8192	/* longer events are refused */
#define AUDIT_FILE	"audit.log"

struct audit;

/*
 * Open (creating if needed, mode 0600; the directory 0700) DIR/audit.log
 * for appending and resume seq and prev from its last complete line, or
 * from the newest rotated part's when it is empty.
 * A torn last line (no newline) is cut off and reported in the log.
 * Returns 0, or -1 with "DIR/audit.log: reason" in err.
 */
int	audit_open(const char *dir, struct audit **out, char *err,
	    size_t errlen);

/*
 * Append one event (and a seal line when one is due).  fields is
 * borrowed (may be NULL) and must not contain seq, ts, type or prev;
 * type "seal" is reserved.  The line is written with one write(2)
 * and fdatasync'ed before this returns.  Returns 0, or -1 if the line
 * could not be written durably (fail closed: the caller refuses service).
 * After a failed fdatasync, or a failed cut-back of a partial line, every
 * later write returns -1 until the log is reopened.
 */
int	audit_write(struct audit *a, const char *type, json_t *fields);

/*
 * Seal the log forward-securely (seal.h) with the key in key_path, after
 * every `every` events and whenever audit_seal() is called (the caller's
 * timer, so that quiet periods are sealed too).  Returns 0, or -1 with
 * the reason in err (no key: `porthole audit init` was not run).
 */
int	audit_enable_seals(struct audit *a, const char *key_path,
	    uint64_t every, char *err, size_t errlen);
/*
 * Wipe the seal key from this process's memory (a forked session process
 * must not carry it).  Sealing stops in this copy.
 */
void	audit_forget(struct audit *a);

/*
 * After a seal, once DIR/audit.log holds at least bytes (0: never), it
 * is renamed to the part named for its first seq (logfiles.h) and a new
 * DIR/audit.log is started; the chain runs on across the files.
 */
void	audit_set_rotate(struct audit *a, uint64_t bytes);
/* Seal after at most every events from now on (a reload's seal_every). */
void	audit_set_seal_every(struct audit *a, uint64_t every);

/* Write a seal line now.  0, or -1 if it could not be written. */
int	audit_seal(struct audit *a);
/*
 * Be told of every seal written: its epoch, and the seq and SHA-256
 * (hex) of the seal line, the chain head it commits to.  The gateway
 * sends these to the relay as anchors.
 */
typedef void (*audit_seal_cb)(void *arg, uint64_t epoch, uint64_t seq,
    const char *head);
void	audit_on_seal(struct audit *a, audit_seal_cb cb, void *arg);

/* The seq of the last line written (0 for an empty log). */
uint64_t audit_seq(const struct audit *a);

void	audit_close(struct audit *a);

#endif
