/*
 * updates_record.c - the update records themselves, for every part of
 * the scheduler: their states by name, their times as JSON, finding
 * one, and an event of one into the audit log and telemetry.
 */
#include "gateway/updates_int.h"

#include <string.h>

#include "lib/log.h"
#include "lib/parse.h"

static const char *const state_names[US__COUNT] = {
	[US_ANNOUNCED] = "announced",
	[US_SCHEDULED] = "scheduled",
	[US_STARTED] = "started",
	[US_INSTALLED] = "installed",
	[US_FAILED] = "failed",
	[US_REFUSED] = "refused",
	[US_SUPERSEDED] = "superseded",
};

const char *
updates_state_name(enum ustate s)
{
	return state_names[s];
}

int
updates_state_parse(const char *s, enum ustate *out)
{
	int i;

	for (i = 0; i < US__COUNT; i++)
		if (s != NULL && strcmp(s, state_names[i]) == 0) {
			*out = (enum ustate)i;
			return 0;
		}
	return -1;
}

/* Nothing more happens to it. */
int
updates_terminal(enum ustate s)
{
	return s == US_INSTALLED || s == US_FAILED || s == US_REFUSED ||
	    s == US_SUPERSEDED;
}

/*
 * An event of update u (NULL: none yet) into the audit log and
 * telemetry, both: the version and the message first, then fields
 * (stolen).
 */
void
updates_event(struct updates *up, const char *type, const struct update *u,
    json_t *fields)
{
	json_t *ev = fields != NULL ? fields : json_object();

	if (ev == NULL)
		return;
	if (u != NULL) {
		json_object_set_new(ev, "version", json_string(u->n.version));
		json_object_set_new(ev, "message_id",
		    json_integer((json_int_t)u->msg_id));
	}
	if (up->audit(up->audit_arg, type, json_deep_copy(ev)) == -1)
		log_error("updates: %s cannot be audited", type);
	(void)telem_event(up->telem, type, ev);
}

struct update *
updates_find(struct updates *up, const char *version)
{
	struct version	v;
	size_t		i;

	if (version_parse(version, &v) == -1)
		return NULL;
	for (i = 0; i < up->n; i++)
		if (version_cmp(&up->u[i].n.v, &v) == 0)
			return &up->u[i];
	return NULL;
}

struct update *
updates_find_msg(struct updates *up, uint64_t id)
{
	size_t i;

	for (i = 0; i < up->n; i++)
		if (up->u[i].msg_id == id)
			return &up->u[i];
	return NULL;
}


json_t *
updates_jtime(time_t t)
{
	char buf[32];

	if (t == 0)
		return json_null();
	parse_format_time(t, buf, sizeof(buf));
	return json_string(buf);
}

