/*
 * monitor_proto.c - the table of the monitor's requests: their names on
 * the wire, in which phase and from which peer each is allowed.
 */
#include "gateway/monitor_proto.h"

#include <string.h>

#define CHILD	MM_FROM_CHILD
#define BOTH	(MM_FROM_CHILD | MM_FROM_SHELL)

const struct mm_req_info mm_reqs[MM_NREQ] = {
	[MM_AUTH] =		{ "auth",	   MM_PREAUTH, CHILD },
	[MM_APPROVAL_WAIT] =	{ "approval_wait", MM_PENDING, CHILD },
	[MM_EVENT] =		{ "event",	   MM_PREAUTH | MM_AUTHED,
				  CHILD },
	[MM_ACTIVITY] =		{ "activity",	   MM_AUTHED, CHILD },
	[MM_EXEC] =		{ "exec",	   MM_AUTHED, BOTH },
	[MM_EXEC_REFUSED] =	{ "exec_refused",  MM_AUTHED, CHILD },
	[MM_EXEC_WAIT] =	{ "exec_wait",	   MM_AUTHED, BOTH },
	[MM_EXEC_CANCEL] =	{ "exec_cancel",   MM_AUTHED, BOTH },
	[MM_FILE_OPEN] =	{ "file_open",	   MM_AUTHED, BOTH },
	[MM_FILE_CLOSE] =	{ "file_close",	   MM_AUTHED, BOTH },
	[MM_FILE_MORE] =	{ "file_more",	   MM_AUTHED, BOTH },
	[MM_FILE_STAT] =	{ "file_stat",	   MM_AUTHED, BOTH },
	[MM_DIR_LIST] =		{ "dir_list",	   MM_AUTHED, BOTH },
	[MM_REFUSED] =		{ "refused",	   MM_AUTHED, BOTH },
	[MM_SETTING_GET] =	{ "setting_get",   MM_AUTHED, BOTH },
	[MM_SETTING_SET] =	{ "setting_set",   MM_AUTHED, BOTH },
	[MM_FORWARD_OPEN] =	{ "forward_open",  MM_AUTHED, CHILD },
	[MM_FORWARD_CLOSE] =	{ "forward_close", MM_AUTHED, CHILD },
	[MM_SHELL_OPEN] =	{ "shell_open",	   MM_AUTHED, CHILD },
	[MM_WINDOW_CHANGE] =	{ "window_change", MM_AUTHED, CHILD },
};

int
mm_req_lookup(const char *name, size_t len)
{
	int i;

	for (i = 0; i < MM_NREQ; i++)
		if (strlen(mm_reqs[i].name) == len &&
		    memcmp(mm_reqs[i].name, name, len) == 0)
			return i;
	return -1;
}

const char *
mm_field_str(json_t *req, const char *key, size_t max)
{
	const char *s = json_string_value(json_object_get(req, key));

	return s != NULL && strlen(s) <= max ? s : NULL;
}

int
mm_field_u32(json_t *req, const char *key, uint32_t *out)
{
	json_t *j = json_object_get(req, key);

	if (!json_is_integer(j) || json_integer_value(j) < 0 ||
	    json_integer_value(j) > (json_int_t)UINT32_MAX)
		return -1;
	*out = (uint32_t)json_integer_value(j);
	return 0;
}
