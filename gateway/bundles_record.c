/*
 * bundles_record.c - one bundle's record, for every part of the
 * gateway's bundles: its state by name, its files under
 * state_dir/bundles, finding it, writing its ID.json, and the audit
 * log its events go to.
 */
#include "gateway/bundles_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/parse.h"

static const char *const state_names[BS_NSTATE] = {
	[BS_REQUESTED] = "requested",
	[BS_BUILDING] = "building",
	[BS_WAITING] = "waiting",
	[BS_READY] = "ready",
	[BS_UPLOADED] = "uploaded",
	[BS_DENIED] = "denied",
	[BS_FAILED] = "failed",
};

const char *
bundle_state_name(enum bstate s)
{
	return state_names[s];
}

int
bundle_state_lookup(const char *name)
{
	int i;

	for (i = 0; i < BS_NSTATE; i++)
		if (name != NULL && strcmp(state_names[i], name) == 0)
			return i;
	return -1;
}

int
bundle_finished(const struct bundle *b)
{
	return b->state == BS_UPLOADED || b->state == BS_DENIED ||
	    b->state == BS_FAILED;
}

void
bundle_path(const struct bundles *bs, const char *id, const char *suffix,
    char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s%s", bs->dir, id, suffix);
}

struct bundle *
bundle_find(struct bundles *bs, const char *id)
{
	size_t i;

	for (i = 0; id != NULL && i < bs->n; i++)
		if (strcmp(bs->b[i].id, id) == 0)
			return &bs->b[i];
	return NULL;
}

int
bundles_audit(struct bundles *bs, const char *type, json_t *fields)
{
	return bs->audit(bs->audit_arg, type, fields);
}

/* ---- ID.json ---- */

json_t *
bundle_json(const struct bundle *b)
{
	char	req[32], built[32] = "", fin[32] = "";

	parse_format_time(b->requested, req, sizeof(req));
	if (b->built != 0)
		parse_format_time(b->built, built, sizeof(built));
	if (b->finished != 0)
		parse_format_time(b->finished, fin, sizeof(fin));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, "
	    "s:s, s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:s, s:s, s:s, s:I, s:I, "
	    "s:s}",
	    "id", b->id, "state", state_names[b->state], "source", b->source,
	    "requested_by", b->by, "ticket", b->ticket, "session", b->session,
	    "message_id", (json_int_t)b->msg_id, "requested", req,
	    "built", built, "finished", fin, "sha256", b->sha256,
	    "size", (json_int_t)b->size, "bytes_read",
	    (json_int_t)b->bytes_read, "files", (json_int_t)b->files,
	    "left_out", (json_int_t)b->left_out, "redactions",
	    (json_int_t)b->redactions, "truncated", b->truncated,
	    "timed_out", b->timed_out, "manifest_sha256", b->manifest_sha256,
	    "decided_by", b->decided_by, "reason", b->reason, "uploaded",
	    (json_int_t)b->uploaded, "refusals", (json_int_t)b->refusals,
	    "refused", b->refused);
}

int
bundle_save(struct bundles *bs, struct bundle *b)
{
	char	 path[4200], err[4400], *text;
	json_t	*j;
	int	 rc;

	j = bundle_json(b);
	text = j == NULL ? NULL : json_dumps(j, JSON_INDENT(1));
	json_decref(j);
	if (text == NULL) {
		log_error("bundle %s: out of memory", b->id);
		return -1;
	}
	bundle_path(bs, b->id, ".json", path, sizeof(path));
	if ((rc = fileio_replace(path, text, strlen(text), 0600, err,
	    sizeof(err))) == -1)
		log_error("bundle %s: %s", b->id, err);
	free(text);
	return rc;
}
