/*
 * record.c - parse and validate one telemetry record.
 *
 * A record comes from a local producer or from the collectors and ends
 * up in the relay's billing store, so it is checked completely before it
 * is spooled: the size first, then the JSON, then each required field's
 * type and exact format.  Fields we do not know are kept as they are.
 * The first problem found is the reason given, and it names the field.
 */
#include "telemetry/record.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/ident.h"
#include "lib/parse.h"

#define ENVIRONMENT_MAX		128	/* characters of an environment id */
#define UNIT_NAME_MAX		128	/* characters of a unit's name */
#define UNITS_MAX		64	/* units in one usage record */
#define EVENT_TYPE_MAX		64	/* characters of an event type */

static const char *const class_names[] = {
	[RECORD_USAGE] = "usage",
	[RECORD_EVENT] = "event",
	[RECORD_HEALTH] = "health"
};

static void	why_set(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/*
 * The reason goes back to the producer as one line, and jansson's error
 * text may quote the input: anything but printable ASCII becomes '?'.
 */
static void
why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list	ap;
	size_t	i;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	for (i = 0; why[i] != '\0'; i++)
		if ((unsigned char)why[i] < 0x20 ||
		    (unsigned char)why[i] > 0x7e)
			why[i] = '?';
}

const char *
record_class_name(enum record_class cls)
{
	if (cls < RECORD_USAGE || cls > RECORD_HEALTH)
		return "unknown";
	return class_names[cls];
}

enum record_class
record_class_from_name(const char *name)
{
	int i;

	if (name == NULL)
		return 0;
	for (i = RECORD_USAGE; i <= RECORD_HEALTH; i++)
		if (strcmp(name, class_names[i]) == 0)
			return (enum record_class)i;
	return 0;
}

/*
 * Look up a required string field.  Returns its value, or NULL with
 * the reason set.
 */
static const char *
need_string(json_t *rec, const char *field, size_t *len, char *why,
    size_t whylen)
{
	json_t *v;

	if ((v = json_object_get(rec, field)) == NULL) {
		why_set(why, whylen, "field '%s' is missing", field);
		return NULL;
	}
	if (!json_is_string(v)) {
		why_set(why, whylen, "field '%s' must be a string", field);
		return NULL;
	}
	*len = json_string_length(v);
	return json_string_value(v);
}

/* A required RFC 3339 UTC time; on_hour also wants MM:SS of 00:00. */
static int
check_time(json_t *rec, const char *field, int on_hour, char *why,
    size_t whylen)
{
	const char	*s;
	size_t		 len;
	time_t		 t;

	if ((s = need_string(rec, field, &len, why, whylen)) == NULL)
		return -1;
	if (strlen(s) != len || parse_time(s, &t) == -1) {
		why_set(why, whylen, "field '%s' must be an RFC 3339 UTC "
		    "time (YYYY-MM-DDTHH:MM:SSZ)", field);
		return -1;
	}
	if (on_hour && t % 3600 != 0) {
		why_set(why, whylen, "field '%s' must be an RFC 3339 time "
		    "on the hour", field);
		return -1;
	}
	return 0;
}

static int
check_units(json_t *rec, char *why, size_t whylen)
{
	const char	*name;
	json_t		*units, *v;

	if ((units = json_object_get(rec, "units")) == NULL) {
		why_set(why, whylen, "field 'units' is missing");
		return -1;
	}
	if (!json_is_object(units)) {
		why_set(why, whylen, "field 'units' must be an object of "
		    "unit name to number");
		return -1;
	}
	if (json_object_size(units) > UNITS_MAX) {
		why_set(why, whylen, "field 'units' must hold at most %d units",
		    UNITS_MAX);
		return -1;
	}
	json_object_foreach(units, name, v) {
		/* A bad name is not echoed: it may hold anything. */
		if (!ident_valid_len(name, strlen(name), UNIT_NAME_MAX,
		    IDENT_LABEL)) {
			why_set(why, whylen, "field 'units' has a unit name "
			    "that is not 1-%d characters of A-Z a-z 0-9 . _ "
			    ": -", UNIT_NAME_MAX);
			return -1;
		}
		if ((json_is_integer(v) && json_integer_value(v) >= 0) ||
		    (json_is_real(v) && json_real_value(v) >= 0.0))
			continue;
		why_set(why, whylen, "field 'units.%s' must be a number >= 0",
		    name);
		return -1;
	}
	return 0;
}

static int
check_usage(json_t *rec, char *why, size_t whylen)
{
	const char	*env;
	size_t		 len;

	if (check_time(rec, "hour", 1, why, whylen) == -1)
		return -1;
	if ((env = need_string(rec, "environment", &len, why, whylen)) == NULL)
		return -1;
	if (!ident_valid_len(env, len, ENVIRONMENT_MAX, IDENT_LABEL)) {
		why_set(why, whylen, "field 'environment' must be 1-%d "
		    "characters of A-Z a-z 0-9 . _ : -", ENVIRONMENT_MAX);
		return -1;
	}
	return check_units(rec, why, whylen);
}

static int
check_event(json_t *rec, char *why, size_t whylen)
{
	const char	*type;
	size_t		 len;

	if ((type = need_string(rec, "type", &len, why, whylen)) == NULL)
		return -1;
	if (!ident_valid_len(type, len, EVENT_TYPE_MAX, IDENT_SNAKE)) {
		why_set(why, whylen, "field 'type' must be 1-%d characters "
		    "of a-z 0-9 _", EVENT_TYPE_MAX);
		return -1;
	}
	return check_time(rec, "ts", 0, why, whylen);
}

/*
 * How deep v nests, counting v itself, or limit + 1 once it is deeper
 * than limit.  A record travels inside a frame three levels down, and
 * the relay's parser has a depth limit of its own: a record it could not
 * read would be sent again for ever.
 */
static int
json_depth(json_t *v, int limit)
{
	const char	*k;
	json_t		*e;
	size_t		 i;
	int		 d, max = 0;

	if (limit < 0)
		return 1;
	if (json_is_object(v)) {
		json_object_foreach(v, k, e) {
			if ((d = json_depth(e, limit - 1)) > max)
				max = d;
			if (max > limit)
				break;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if ((d = json_depth(e, limit - 1)) > max)
				max = d;
			if (max > limit)
				break;
		}
	}
	return max + 1;
}

int
record_check(json_t *rec, enum record_class cls, char *why, size_t whylen)
{
	json_t *jcls = json_object_get(rec, "class");

	if (!json_is_object(rec)) {
		why_set(why, whylen, "record must be a JSON object");
		return -1;
	}
	if (json_depth(rec, RECORD_DEPTH_MAX) > RECORD_DEPTH_MAX) {
		why_set(why, whylen, "record nests deeper than %d levels",
		    RECORD_DEPTH_MAX);
		return -1;
	}
	if (jcls != NULL && (!json_is_string(jcls) ||
	    strlen(json_string_value(jcls)) != json_string_length(jcls) ||
	    record_class_from_name(json_string_value(jcls)) != cls)) {
		why_set(why, whylen, "field 'class' is not '%s'",
		    record_class_name(cls));
		return -1;
	}
	switch (cls) {
	case RECORD_USAGE:
		return check_usage(rec, why, whylen);
	case RECORD_EVENT:
		return check_event(rec, why, whylen);
	case RECORD_HEALTH:
		return check_time(rec, "ts", 0, why, whylen);
	}
	why_set(why, whylen, "field 'class' must be usage, event or health");
	return -1;
}

int
record_parse(const char *text, size_t len, json_t **out,
    enum record_class *cls, char *why, size_t whylen)
{
	json_error_t		 jerr;
	json_t			*rec = NULL, *jcls;
	enum record_class	 c;
	int			 rc = -1;

	if (len == 0) {
		why_set(why, whylen, "empty record");
		goto out;
	}
	if (len > RECORD_MAX) {
		why_set(why, whylen, "record of %zu bytes is longer than %d",
		    len, RECORD_MAX);
		goto out;
	}
	if ((rec = json_loadb(text, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		why_set(why, whylen, "invalid JSON at byte %d: %s",
		    jerr.position, jerr.text);
		goto out;
	}
	if (!json_is_object(rec)) {
		why_set(why, whylen, "record must be a JSON object");
		goto out;
	}
	if ((jcls = json_object_get(rec, "class")) == NULL) {
		why_set(why, whylen, "field 'class' is missing");
		goto out;
	}
	if (!json_is_string(jcls) ||
	    strlen(json_string_value(jcls)) != json_string_length(jcls) ||
	    (c = record_class_from_name(json_string_value(jcls))) == 0) {
		why_set(why, whylen, "field 'class' must be usage, event or "
		    "health");
		goto out;
	}
	if (record_check(rec, c, why, whylen) == -1)
		goto out;
	*out = rec;
	rec = NULL;
	*cls = c;
	rc = 0;
out:
	json_decref(rec);
	return rc;
}
