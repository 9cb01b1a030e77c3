/*
 * record.h - telemetry records: what producers hand the gateway and
 * what travels to Mission Control.
 *
 * A record is one JSON object with a "class": "usage" (hourly license
 * consumption; critical, never dropped), "event" (critical) or
 * "health" (latest wins; may be dropped oldest-first when the spool is
 * full).  Extra fields are kept and forwarded.  Required fields:
 *   usage:  "hour" (RFC 3339 UTC, on the hour), "environment" (1-128
 *           chars [A-Za-z0-9._:-]), "units" (object of at most 64
 *           name -> number >= 0, each name 1-128 chars [A-Za-z0-9._:-])
 *   event:  "type" ([a-z0-9_]{1,64}), "ts" (RFC 3339 UTC)
 *   health: "ts" (RFC 3339 UTC)
 * RFC 3339 UTC means exactly "YYYY-MM-DDTHH:MM:SSZ", a real date: no
 * fractions, no offsets, no lower-case letters.  Duplicate keys make
 * a record invalid, and so does nesting deeper than RECORD_DEPTH_MAX.
 */
#ifndef PH_RECORD_H
#define PH_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define RECORD_MAX		65536	/* bytes of one record's JSON */
#define RECORD_DEPTH_MAX	32	/* objects and arrays within each other */

enum record_class {
	RECORD_USAGE = 1,
	RECORD_EVENT = 2,
	RECORD_HEALTH = 3
};

/*
 * Parse and validate one record from text (len bytes, no newline; it
 * need not be NUL-terminated).  Returns 0 with *out (a new reference)
 * and *cls, or -1 with a one-line reason of printable ASCII that names
 * the field ("field 'hour' must be an RFC 3339 time on the hour").
 */
int		 record_parse(const char *text, size_t len, json_t **out,
		    enum record_class *cls, char *why, size_t whylen);
/*
 * The rules above for a record already parsed, whose class its carrier
 * names (the relay's batch element): its own "class", if it has one,
 * must agree.  0, or -1 with the reason.
 */
int		 record_check(json_t *rec, enum record_class cls, char *why,
		    size_t whylen);
const char	*record_class_name(enum record_class);
/* "usage" -> RECORD_USAGE; 0 if unknown. */
enum record_class record_class_from_name(const char *);

#endif
