/*
 * control.h - the gateway's control socket for the porthole CLI, under
 * run_dir.  Only root, the gateway's own user and members of admin_group
 * may connect.  One request per connection: a JSON line
 * {"cmd": "status" | "sessions" | "approve" | "deny" | "kill", "id": ...},
 * answered by one JSON line.
 */
#ifndef PH_CONTROL_H
#define PH_CONTROL_H

#include <event2/event.h>

#include "gateway/broker.h"
#include "gateway/tunnel.h"
#include "policy/policy.h"

#define CONTROL_SOCKET		"control.sock"
#define CONTROL_MAX_REQUEST	4096

struct control;

/* Returns NULL after logging why (the gateway then refuses to start). */
struct control	*control_new(struct event_base *base, const struct policy *pol,
		    struct broker *broker, struct tunnel *tunnel);
void		 control_free(struct control *c);

#endif
