/*
 * parse.h - bounded parsers for the values found in configuration files
 * and on command lines.  Each returns 0 on success and -1 on a bad value,
 * leaving *out untouched; none allocates unless it says so.
 */
#ifndef PH_PARSE_H
#define PH_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* "yes"/"no" (also true/false, on/off, 1/0). */
int	parse_bool(const char *s, int *out);
/* Decimal in [min, max]; no sign, no spaces, no trailing junk. */
int	parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* "85%" or "85": a whole percentage in [min, max] (at most 100). */
int	parse_percent(const char *s, unsigned min, unsigned max, unsigned *out);
/*
 * "2", "2.0", "0.75": a decimal number in [min, max], digits with at
 * most one point and six decimals; no sign, exponent, "inf" or "nan".
 */
int	parse_decimal(const char *s, double min, double max, double *out);
/* "90", "90s", "15m", "2h", "1d" -> seconds; at most 10 years. */
int	parse_duration(const char *s, uint64_t *secs);
/* "4096", "512K", "64M", "2G" (powers of 1024) -> bytes, at most 1T. */
#define SIZE_MAX_BYTES	(1ULL << 40)
int	parse_size(const char *s, uint64_t *bytes);
/* Bytes as parse_size reads them: the largest exact unit ("64M"). */
void	parse_format_size(uint64_t bytes, char *buf, size_t len);
/* "2026-12-31T00:00:00Z" (UTC only) -> seconds since the epoch. */
int	parse_time(const char *s, time_t *out);
/*
 * A time as a person gives it on a command line (--since, --until),
 * relative to now (clock_now()):
 *   RFC 3339      "2026-11-20T10:00:00Z", "2026-11-20T11:00:00+01:00",
 *                 "2026-11-20T10:00:00.250Z" (the fraction is cut)
 *   now
 *   today, yesterday, tomorrow   midnight at the start of that day in
 *                 local time (as journalctl reads them)
 *   -DURATION, +DURATION         now minus or plus a duration as
 *                 parse_duration reads it: "-2h", "-30m", "-7d", "+1h"
 * Times before 1970 are refused.
 */
int	parse_when(const char *s, time_t now, time_t *out);
/* The forms parse_when reads, for an error message. */
#define PARSE_WHEN_FORMS \
	"RFC 3339 (2026-11-20T10:00:00Z), now, today, yesterday, or -2h/-30m/-7d"
/*
 * "host:port" or "[v6addr]:port"; host is 1..255 chars of
 * [A-Za-z0-9.-_:] (no spaces); port 1..65535.
 */
int	parse_hostport(const char *s, char *host, size_t hostlen,
	    uint16_t *port);
/*
 * Split a comma-separated list, trimming blanks around items; empty
 * items are an error.  On success *items is a NULL-terminated array of
 * strdup'ed strings (free with parse_list_free) and *n its length.
 * At most max items.
 */
int	parse_list(const char *s, size_t max, char ***items, size_t *n);
void	parse_list_free(char **items);
/*
 * Whether s[0..len) is UTF-8 as JSON needs it: no overlong forms, no
 * surrogates, nothing above U+10FFFF, no NUL.  1 or 0.
 */
int	parse_utf8(const char *s, size_t len);
/*
 * The character at s[0..len): its length in bytes (1-4) with the code
 * point in *cp, or 0 when it is not UTF-8 as parse_utf8 means it.
 */
size_t	parse_utf8_char(const char *s, size_t len, uint32_t *cp);
/* Format seconds the way parse_duration reads them back ("15m", "2h"). */
void	parse_format_duration(uint64_t secs, char *buf, size_t len);
/* t as YYYY-MM-DDTHH:MM:SSZ (UTC) into buf (at least 21 bytes). */
void	parse_format_time(time_t t, char *buf, size_t len);

#endif
