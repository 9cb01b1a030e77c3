/*
 * broker_proto.c - the table of the messages between the broker and a
 * session's monitor: their names on the wire, who sends each, in which
 * of the session's phases the broker takes it, and whether it is
 * answered.
 */
#include "gateway/broker_proto.h"

#include <string.h>

#define MON	BM_FROM_MONITOR
/* Every phase a session has while its monitor runs. */
#define ANY	(BM_IN(BM_PH_LOGIN) | BM_IN(BM_PH_SLOTTED) | \
		 BM_IN(BM_PH_PENDING) | BM_IN(BM_PH_ACTIVE))

const struct bm_msg_info bm_msgs[BM_NMSG] = {
	[BM_AUDIT] =	{ "audit",	MON, ANY, 1 },
	[BM_SLOT] =	{ "slot",	MON, BM_IN(BM_PH_LOGIN), 1 },
	[BM_APPROVAL] =	{ "approval",	MON, BM_IN(BM_PH_SLOTTED), 1 },
	[BM_LOGIN] =	{ "login",	MON, BM_IN(BM_PH_SLOTTED), 0 },
	[BM_GRANT] =	{ "grant",	MON, BM_IN(BM_PH_ACTIVE), 0 },
	[BM_DOING] =	{ "doing",	MON, BM_IN(BM_PH_ACTIVE), 0 },
	[BM_ACTIVITY] =	{ "activity",	MON, BM_IN(BM_PH_ACTIVE), 0 },
	[BM_BUNDLE] =	{ "bundle",	MON, BM_IN(BM_PH_ACTIVE), 1 },
	[BM_POLICY] =	{ "policy",	BM_FROM_BROKER, ANY, 0 },
	[BM_TICKET_CHECK] = { "ticket_check", MON, BM_IN(BM_PH_SLOTTED), 1 },
	[BM_ACTION] =	{ "action",	MON, BM_IN(BM_PH_ACTIVE), 1 },
	[BM_ACTION_CANCEL] = { "action_cancel", MON, BM_IN(BM_PH_ACTIVE), 0 },
	[BM_ACTION_STATE] = { "action_state", BM_FROM_BROKER, ANY, 0 },
	[BM_SHELL] =	{ "shell",	MON, BM_IN(BM_PH_ACTIVE), 0 },
	[BM_WATCH] =	{ "watch",	BM_FROM_BROKER, ANY, 0 },
};

const char *const bm_grants[BM_NGRANT] = {
	[BM_GRANT_COMMANDS] =	"commands",
	[BM_GRANT_FILES] =	"files",
	[BM_GRANT_FORWARD] =	"forward",
	[BM_GRANT_SETTINGS] =	"settings",
};

int
bm_msg_lookup(const char *name, int from)
{
	int i;

	for (i = 0; i < BM_NMSG; i++)
		if (strcmp(bm_msgs[i].name, name) == 0 &&
		    (bm_msgs[i].from & from))
			return i;
	return -1;
}

int
bm_grant_lookup(const char *name)
{
	int i;

	for (i = 0; i < BM_NGRANT; i++)
		if (strcmp(bm_grants[i], name) == 0)
			return i;
	return -1;
}
