/*
 * control_proto.c - the table of the control socket's requests: their
 * names on the wire, what each carries, and which ones change something
 * (done on behalf of the peer, whom the audit log names).
 */
#include "lib/control_proto.h"

#include <string.h>

#include "lib/parse.h"

const struct control_cmd_info control_cmds[CONTROL_NCMD] = {
	[CONTROL_STATUS] =	{ "status",	0, 0 },
	[CONTROL_SESSIONS] =	{ "sessions",	0, 0 },
	[CONTROL_APPROVE] =	{ "approve",	CONTROL_ARG_ID, 1 },
	[CONTROL_DENY] =	{ "deny",	CONTROL_ARG_ID, 1 },
	[CONTROL_KILL] =	{ "kill",	CONTROL_ARG_ID, 1 },
	[CONTROL_RELOAD] =	{ "reload",	0, 1 },
	[CONTROL_RECORDING_VIEWED] = { "recording_viewed",
				  CONTROL_ARG_ID | CONTROL_ARG_ACTION, 1 },
	[CONTROL_UPDATES] =	{ "updates",	0, 0 },
	[CONTROL_UPDATE_RESCHEDULE] = { "update_reschedule",
				  CONTROL_ARG_VERSION | CONTROL_ARG_WHEN, 1 },
	[CONTROL_UPDATE_RUN_NOW] = { "update_run_now", CONTROL_ARG_VERSION, 1 },
	[CONTROL_APPROVE_TICKET] = { "approve_ticket",
				  CONTROL_ARG_TICKET | CONTROL_ARG_FOR, 1 },
	[CONTROL_APPROVALS] =	{ "approvals",	0, 0 },
	[CONTROL_REVOKE] =	{ "revoke",	CONTROL_ARG_TICKET, 1 },
	[CONTROL_BUNDLES] =	{ "bundles",	0, 0 },
	[CONTROL_BUNDLE_SHOW] =	{ "bundle_show", CONTROL_ARG_BUNDLE, 0 },
	[CONTROL_BUNDLE_APPROVE] = { "bundle_approve", CONTROL_ARG_BUNDLE, 1 },
	[CONTROL_BUNDLE_DENY] =	{ "bundle_deny", CONTROL_ARG_BUNDLE, 1 },
	[CONTROL_ALERTS] =	{ "alerts",	0, 0 },
	[CONTROL_ACTIONS] =	{ "actions",	0, 0 },
	[CONTROL_ACTION_APPROVE] = { "action_approve", CONTROL_ARG_ID, 1 },
	[CONTROL_ACTION_DENY] =	{ "action_deny", CONTROL_ARG_ID, 1 },
	[CONTROL_WATCH] =	{ "watch",	CONTROL_ARG_ID, 1 },
	[CONTROL_WATCH_END] =	{ "watch_end",	CONTROL_ARG_ID, 1 },
	[CONTROL_BUNDLE_RETRY] = { "bundle_retry", CONTROL_ARG_BUNDLE, 1 },
};

int
control_cmd_lookup(const char *name)
{
	int i;

	for (i = 0; i < CONTROL_NCMD; i++)
		if (strcmp(control_cmds[i].name, name) == 0)
			return i;
	return -1;
}

int
control_reason_valid(const char *s)
{
	size_t	len = strnlen(s, CONTROL_REASON_MAX + 1), i;

	if (len > CONTROL_REASON_MAX || !parse_utf8(s, len))
		return 0;
	/* C0 controls and DEL; a C1 control is a two-byte character. */
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f ||
		    ((unsigned char)s[i] == 0xc2 && i + 1 < len &&
		    (unsigned char)s[i + 1] < 0xa0))
			return 0;
	return 1;
}
