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
 * for appending and resume seq and prev from its last complete line.
 * A torn last line (no newline) is cut off and reported in the log.
 * Returns 0, or -1 with "DIR/audit.log: reason" in err.
 */
int	audit_open(const char *dir, struct audit **out, char *err,
	    size_t errlen);

/*
 * Append one event.  fields is borrowed (may be NULL) and must not
 * contain seq, ts, type or prev.  The line is written with one write(2)
 * and fdatasync'ed before this returns.  Returns 0, or -1 if the line
 * could not be written durably (fail closed: the caller refuses service).
 */
int	audit_write(struct audit *a, const char *type, json_t *fields);

/* The seq of the last line written (0 for an empty log). */
uint64_t audit_seq(const struct audit *a);

void	audit_close(struct audit *a);

#endif
