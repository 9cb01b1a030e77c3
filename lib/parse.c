/*
 * parse.c - bounded parsers for configuration and command-line values.
 *
 * Every parser reads the whole string: no sign, no blanks and no
 * trailing junk are accepted unless the syntax says so, and *out is only
 * written once the value is known to be good.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/parse.h"

#define DURATION_MAX	(10ULL * 365 * 86400)	/* ten years */
#define HOST_MAX	255

int
parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* Leading decimal digits of s into *v; returns how many, 0 on overflow. */
static size_t
scan_digits(const char *s, uint64_t *v)
{
	uint64_t	 n = 0, d;
	size_t		 i;

	for (i = 0; isdigit((unsigned char)s[i]); i++) {
		d = (uint64_t)(s[i] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return 0;
		n = n * 10 + d;
	}
	*v = n;
	return i;
}

int
parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t	 v;
	size_t		 n;

	if (s == NULL || (n = scan_digits(s, &v)) == 0 || s[n] != '\0')
		return -1;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
parse_percent(const char *s, unsigned min, unsigned max, unsigned *out)
{
	uint64_t	 v;
	size_t		 n;

	if (s == NULL || (n = scan_digits(s, &v)) == 0 ||
	    (s[n] != '\0' && strcmp(s + n, "%") != 0))
		return -1;
	if (max > 100)
		max = 100;
	if (v < min || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/*
 * Read by hand rather than with strtod(), which takes a sign, blanks,
 * hexadecimal, exponents, "inf" and "nan" and follows the locale.
 */
int
parse_decimal(const char *s, double min, double max, double *out)
{
	uint64_t	 ip, fp = 0, div = 1;
	size_t		 n, m = 0, i;
	double		 v;

	if (s == NULL || (n = scan_digits(s, &ip)) == 0 || n > 9)
		return -1;
	if (s[n] == '.') {
		if ((m = scan_digits(s + n + 1, &fp)) == 0 || m > 6)
			return -1;
		n += 1 + m;
	}
	if (s[n] != '\0')
		return -1;
	for (i = 0; i < m; i++)
		div *= 10;
	v = (double)ip + (double)fp / (double)div;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* A suffix letter and what it multiplies by, largest first. */
struct unit {
	char		 suffix;
	uint64_t	 mult;
};

static const struct unit duration_units[] = {
	{ 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 }, { 0, 0 }
};
static const struct unit size_units[] = {
	{ 'G', 1ULL << 30 }, { 'M', 1ULL << 20 }, { 'K', 1ULL << 10 },
	{ 0, 0 }
};

/* Digits, then nothing or one suffix of units; at most max in all. */
static int
parse_with_unit(const char *s, const struct unit *units, uint64_t max,
    uint64_t *out)
{
	uint64_t	 v, mult = 1;
	size_t		 n, i;

	if (s == NULL || (n = scan_digits(s, &v)) == 0)
		return -1;
	if (s[n] != '\0') {
		for (i = 0; units[i].suffix != 0 && units[i].suffix != s[n];
		    i++)
			;
		if (units[i].suffix == 0 || s[n + 1] != '\0')
			return -1;
		mult = units[i].mult;
	}
	if (v > max / mult)
		return -1;
	*out = v * mult;
	return 0;
}

/* v in the largest unit that divides it exactly, else bare + plain. */
static void
format_with_unit(uint64_t v, const struct unit *units, const char *plain,
    char *buf, size_t len)
{
	size_t i;

	for (i = 0; units[i].suffix != 0 && units[i].mult > 1; i++) {
		if (v != 0 && v % units[i].mult == 0) {
			snprintf(buf, len, "%llu%c",
			    (unsigned long long)(v / units[i].mult),
			    units[i].suffix);
			return;
		}
	}
	snprintf(buf, len, "%llu%s", (unsigned long long)v, plain);
}

int
parse_duration(const char *s, uint64_t *secs)
{
	return parse_with_unit(s, duration_units, DURATION_MAX, secs);
}

int
parse_size(const char *s, uint64_t *bytes)
{
	return parse_with_unit(s, size_units, SIZE_MAX_BYTES, bytes);
}

void
parse_format_size(uint64_t bytes, char *buf, size_t len)
{
	format_with_unit(bytes, size_units, "", buf, len);
}

void
parse_format_duration(uint64_t secs, char *buf, size_t len)
{
	format_with_unit(secs, duration_units, "s", buf, len);
}

/* Exactly n digits at s, as a number. */
static int
fixed_digits(const char *s, size_t n, int *out)
{
	size_t	 i;
	int	 v = 0;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/*
 * "YYYY-MM-DDTHH:MM:SS" at s (separator given), read strictly, as the
 * seconds since the epoch that the fields name in UTC.
 */
static int
parse_datetime(const char *s, const char *seps, time_t *out)
{
	struct tm	 tm, back;
	time_t		 t;
	int		 year, mon, day, hour, min, sec;

	if (strlen(s) < 19 || s[4] != '-' || s[7] != '-' ||
	    strchr(seps, s[10]) == NULL || s[13] != ':' ||
	    s[16] != ':')
		return -1;
	if (fixed_digits(s, 4, &year) == -1 ||
	    fixed_digits(s + 5, 2, &mon) == -1 ||
	    fixed_digits(s + 8, 2, &day) == -1 ||
	    fixed_digits(s + 11, 2, &hour) == -1 ||
	    fixed_digits(s + 14, 2, &min) == -1 ||
	    fixed_digits(s + 17, 2, &sec) == -1)
		return -1;
	if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > 31 ||
	    hour > 23 || min > 59 || sec > 59)
		return -1;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	/* timegm() normalises 2026-02-30 into March: refuse that. */
	if (gmtime_r(&t, &back) == NULL || back.tm_mday != day ||
	    back.tm_mon != mon - 1 || back.tm_year != year - 1900)
		return -1;
	*out = t;
	return 0;
}

int
parse_time(const char *s, time_t *out)
{
	time_t t;

	/* YYYY-MM-DDTHH:MM:SSZ, nothing else. */
	if (s == NULL || strlen(s) != 20 || s[19] != 'Z' ||
	    parse_datetime(s, "T", &t) == -1)
		return -1;
	*out = t;
	return 0;
}

/*
 * RFC 3339 date-time: "T" (or "t", or the space RFC 3339 allows),
 * an optional fraction of a second (cut: the times compared are whole
 * seconds), then "Z" or a numeric offset "+HH:MM" / "-HH:MM".
 */
static int
parse_rfc3339(const char *s, time_t *out)
{
	const char	*p;
	time_t		 t;
	int		 oh, om, sign;

	if (parse_datetime(s, "Tt ", &t) == -1)
		return -1;
	p = s + 19;
	if (*p == '.') {
		/* Nine digits are nanoseconds; more say nothing more. */
		if (!isdigit((unsigned char)p[1]) || strspn(p + 1,
		    "0123456789") > 9)
			return -1;
		p += 1 + strspn(p + 1, "0123456789");
	}
	if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0')
		oh = om = sign = 0;
	else if ((p[0] == '+' || p[0] == '-') && strlen(p) == 6 &&
	    p[3] == ':' && fixed_digits(p + 1, 2, &oh) == 0 &&
	    fixed_digits(p + 4, 2, &om) == 0 && oh <= 23 && om <= 59)
		sign = p[0] == '+' ? 1 : -1;
	else
		return -1;
	/* 10:00+02:00 is 08:00Z. */
	t -= (time_t)sign * (oh * 3600 + om * 60);
	if (t < 0)
		return -1;
	*out = t;
	return 0;
}

/* Midnight at the start of the local day days away from now's. */
static int
local_midnight(time_t now, int days, time_t *out)
{
	struct tm	 tm;
	time_t		 t;

	if (localtime_r(&now, &tm) == NULL)
		return -1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mday += days;
	/* Whether that midnight is summer time is for mktime() to say. */
	tm.tm_isdst = -1;
	if ((t = mktime(&tm)) == (time_t)-1 || t < 0)
		return -1;
	*out = t;
	return 0;
}

int
parse_when(const char *s, time_t now, time_t *out)
{
	static const struct {
		const char	*word;
		int		 days;
	} days[] = { { "yesterday", -1 }, { "today", 0 }, { "tomorrow", 1 } };
	uint64_t	 secs;
	size_t		 i;

	if (s == NULL || now < 0)
		return -1;
	if (strcmp(s, "now") == 0) {
		*out = now;
		return 0;
	}
	for (i = 0; i < sizeof(days) / sizeof(days[0]); i++)
		if (strcmp(s, days[i].word) == 0)
			return local_midnight(now, days[i].days, out);
	if (s[0] == '-' || s[0] == '+') {
		if (parse_duration(s + 1, &secs) == -1)
			return -1;
		if (s[0] == '-' && (time_t)secs > now)
			return -1;
		*out = s[0] == '-' ? now - (time_t)secs : now + (time_t)secs;
		return 0;
	}
	return parse_rfc3339(s, out);
}

static int
host_char(int c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-' ||
	    c == '_' || c == ':';
}

int
parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char	*h, *colon;
	uint64_t	 v;
	size_t		 n, i;

	if (s == NULL)
		return -1;
	if (s[0] == '[') {
		/* [v6addr]:port */
		h = s + 1;
		if ((colon = strchr(h, ']')) == NULL || colon[1] != ':')
			return -1;
		n = (size_t)(colon - h);
		colon++;
	} else {
		/* A bare host may not hold ':'; IPv6 needs brackets. */
		h = s;
		if ((colon = strchr(s, ':')) == NULL ||
		    strchr(colon + 1, ':') != NULL)
			return -1;
		n = (size_t)(colon - h);
	}
	if (n == 0 || n > HOST_MAX || n >= hostlen)
		return -1;
	for (i = 0; i < n; i++)
		if (!host_char(h[i]))
			return -1;
	if (parse_uint(colon + 1, 1, 65535, &v) == -1)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	*port = (uint16_t)v;
	return 0;
}

void
parse_list_free(char **items)
{
	size_t i;

	if (items == NULL)
		return;
	for (i = 0; items[i] != NULL; i++)
		free(items[i]);
	free(items);
}

int
parse_list(const char *s, size_t max, char ***items, size_t *n)
{
	const char	*p, *start, *end;
	char		**v = NULL;
	size_t		 count = 0, i;
	int		 rc = -1;

	if (s == NULL || max == 0)
		return -1;
	/* Count first so the array is allocated once. */
	for (p = s, i = 1; *p != '\0'; p++)
		if (*p == ',')
			i++;
	if (i > max)
		return -1;
	if ((v = calloc(i + 1, sizeof(*v))) == NULL)
		return -1;

	for (p = s;; p++) {
		start = p;
		while (*p != ',' && *p != '\0')
			p++;
		end = p;
		while (start < end && (*start == ' ' || *start == '\t'))
			start++;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (start == end)
			goto out;
		if ((v[count] = strndup(start, (size_t)(end - start))) == NULL)
			goto out;
		count++;
		if (*p == '\0')
			break;
	}
	*items = v;
	*n = count;
	v = NULL;
	rc = 0;
out:
	parse_list_free(v);
	return rc;
}

size_t
parse_utf8_char(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n, k;
	uint32_t		 c, min;

	if (len == 0 || p[0] == 0)
		return 0;
	c = p[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1; min = 0x80; c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2; min = 0x800; c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3; min = 0x10000; c &= 0x07;
	} else
		return 0;
	if (len - 1 < n)
		return 0;
	for (k = 1; k <= n; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[k] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n + 1;
}

int
parse_utf8(const char *s, size_t len)
{
	size_t		i = 0, n;
	uint32_t	c;

	while (i < len) {
		if ((n = parse_utf8_char(s + i, len - i, &c)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

void
parse_format_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (len == 0)
		return;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		buf[0] = '\0';
}
