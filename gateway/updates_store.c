/*
 * updates_store.c - the update scheduler's state in one file,
 * state_dir/updates/state.json, replaced whole and atomically at every
 * change (lib/fileio), so that a crash leaves the state before the
 * change or after it.  The file is the gateway's own (0600, in a 0700
 * directory); it is read back leniently field by field.  It is the only
 * place a record lives: at a restart the inbox's messages resume the
 * records found here by message id and never create one (updates.c,
 * notice_act).  So a file that cannot be read at all is set aside and
 * the updates it held are forgotten - none can come back earlier than
 * it was, or come back after it was finished; the vendor's next notice
 * (or the same one published again) starts afresh, with the admins'
 * 24 hours' notice.
 */
#include "gateway/updates_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/parse.h"

static time_t
get_time(json_t *j, const char *key)
{
	time_t t;

	if (parse_time(json_string_value(json_object_get(j, key)), &t) == -1)
		return 0;
	return t;
}

static void
get_text(json_t *j, const char *key, char *buf, size_t len)
{
	const char *s = json_string_value(json_object_get(j, key));

	snprintf(buf, len, "%s", s != NULL ? s : "");
}

static json_t *
record_json(const struct update *u)
{
	return json_pack("{s:s, s:s, s:I, s:o, s:o, s:s, s:I, s:s, s:o, s:o, "
	    "s:I, s:s, s:o, s:i, s:o, s:o, s:o, s:b, s:b, s:b, s:o, s:o, s:s, "
	    "s:s, s:s}",
	    "version", u->n.version,
	    "sha256", u->n.sha256,
	    "size", (json_int_t)u->n.size,
	    "published", updates_jtime(u->n.published),
	    "expires", updates_jtime(u->n.expires),
	    "notes", u->n.notes,
	    "message_id", (json_int_t)u->msg_id,
	    "state", updates_state_name(u->state),
	    "accepted", updates_jtime(u->accepted),
	    "notified", updates_jtime(u->notified),
	    "notified_boot", (json_int_t)u->notified_boot,
	    "boot_id", u->boot_id,
	    "next_notify", updates_jtime(u->next_notify),
	    "notify_failures", (int)u->notify_failures,
	    "earliest", updates_jtime(u->earliest),
	    "first_window", updates_jtime(u->first_window),
	    "when", updates_jtime(u->when),
	    "run_now", u->run_now,
	    "renotify", u->renotify,
	    "downloaded", u->downloaded,
	    "started", updates_jtime(u->started),
	    "finished", updates_jtime(u->finished),
	    "result", u->result,
	    "log_sha256", u->log_sha256,
	    "reason", u->reason);
}

int
updates_store(struct updates *up, char *err, size_t errlen)
{
	char	 path[4200], *text = NULL;
	json_t	*j, *list;
	size_t	 i;
	int	 rc;

	snprintf(path, sizeof(path), "%s/%s", up->dir, UPDATES_STATE_FILE);
	if ((list = json_array()) == NULL)
		goto fail;
	for (i = 0; i < up->n; i++)
		json_array_append_new(list, record_json(&up->u[i]));
	j = json_pack("{s:s?, s:o, s:o}", "installed", up->have_record ?
	    up->installed_s : NULL, "installed_at", updates_jtime(up->have_record ?
	    up->installed_at : 0), "updates", list);
	text = j == NULL ? NULL : json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	if (text == NULL)
		goto fail;
	rc = fileio_replace(path, text, strlen(text), 0600, err, errlen);
	free(text);
	if (rc == 0 && up->unsaved) {
		up->unsaved = 0;
		log_info("updates: %s is written again", path);
	}
	return rc;
fail:
	snprintf(err, errlen, "%s: out of memory", path);
	return -1;
}

int
updates_save(struct updates *up)
{
	char err[4400];

	if (updates_store(up, err, sizeof(err)) == 0)
		return 0;
	/* Said once: it is tried again at every look at the schedule. */
	if (!up->unsaved)
		log_error("updates: the state cannot be saved, tried again "
		    "until it can: %s", err);
	up->unsaved = 1;
	return -1;
}

/* One record; -1 if it is not one (skipped). */
static int
record_load(json_t *j, struct update *u)
{
	const char	*s;
	json_t		*size;

	memset(u, 0, sizeof(*u));
	s = json_string_value(json_object_get(j, "version"));
	if (version_parse(s, &u->n.v) == -1 ||
	    updates_state_parse(json_string_value(json_object_get(j,
	    "state")), &u->state) == -1)
		return -1;
	version_format(&u->n.v, u->n.version, sizeof(u->n.version));
	get_text(j, "sha256", u->n.sha256, sizeof(u->n.sha256));
	size = json_object_get(j, "size");
	if (!json_is_integer(size) || json_integer_value(size) <= 0)
		return -1;
	u->n.size = (uint64_t)json_integer_value(size);
	u->n.published = get_time(j, "published");
	u->n.expires = get_time(j, "expires");
	get_text(j, "notes", u->n.notes, sizeof(u->n.notes));
	u->msg_id = (uint64_t)json_integer_value(json_object_get(j,
	    "message_id"));
	u->accepted = get_time(j, "accepted");
	u->notified = get_time(j, "notified");
	u->notified_boot = (int64_t)json_integer_value(json_object_get(j,
	    "notified_boot"));
	get_text(j, "boot_id", u->boot_id, sizeof(u->boot_id));
	u->next_notify = get_time(j, "next_notify");
	u->notify_failures = (unsigned)json_integer_value(json_object_get(j,
	    "notify_failures"));
	u->earliest = get_time(j, "earliest");
	u->first_window = get_time(j, "first_window");
	u->when = get_time(j, "when");
	u->run_now = json_is_true(json_object_get(j, "run_now"));
	u->renotify = json_is_true(json_object_get(j, "renotify"));
	u->downloaded = json_is_true(json_object_get(j, "downloaded"));
	u->started = get_time(j, "started");
	u->finished = get_time(j, "finished");
	get_text(j, "result", u->result, sizeof(u->result));
	get_text(j, "log_sha256", u->log_sha256, sizeof(u->log_sha256));
	get_text(j, "reason", u->reason, sizeof(u->reason));
	return 0;
}

/*
 * An update found started: the gateway stopped while update_command
 * ran, and how it ended is not known.  It failed as far as porthole
 * can tell; its log says more.  Its package goes with updates_sweep
 * once every record is loaded (another may still wait for it).
 */
static void
interrupted(struct updates *up, struct update *u)
{
	u->state = US_FAILED;
	u->finished = 0;
	snprintf(u->result, sizeof(u->result), "interrupted");
	snprintf(u->reason, sizeof(u->reason), "the gateway stopped while "
	    "update_command ran; its outcome is not known (see its log)");
	updates_event(up, "update_failed", u, json_pack("{s:s}", "result",
	    u->reason));
}

void
updates_load(struct updates *up)
{
	char		 path[4200], bad[4300];
	json_error_t	 jerr;
	json_t		*j, *list, *rec;
	const char	*s;
	size_t		 i;
	int		 changed = 0;

	snprintf(path, sizeof(path), "%s/%s", up->dir, UPDATES_STATE_FILE);
	if ((j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		if (errno == ENOENT || strstr(jerr.text, "No such file") !=
		    NULL)
			return;
		snprintf(bad, sizeof(bad), "%s.bad", path);
		log_error("updates: %s: %s; set aside as %s: the updates it "
		    "held are forgotten until the vendor publishes them again",
		    path, jerr.text, bad);
		(void)rename(path, bad);
		return;
	}
	s = json_string_value(json_object_get(j, "installed"));
	if (s != NULL && version_parse(s, &up->installed) == 0) {
		version_format(&up->installed, up->installed_s,
		    sizeof(up->installed_s));
		up->installed_at = get_time(j, "installed_at");
		up->have_record = 1;
	}
	list = json_object_get(j, "updates");
	json_array_foreach(list, i, rec) {
		if (up->n == UPDATES_KEEP)
			break;
		if (record_load(rec, &up->u[up->n]) == -1) {
			log_warn("updates: %s: record %zu is not one; skipped",
			    path, i);
			continue;
		}
		if (up->u[up->n].state == US_STARTED) {
			interrupted(up, &up->u[up->n]);
			changed = 1;
		}
		up->n++;
	}
	json_decref(j);
	if (changed)
		updates_save(up);
}
