/*
 * control.h - the gateway's control socket for the porthole CLI, under
 * run_dir.  Only root, the gateway's own user and members of admin_group
 * may connect.  The protocol is lib/control_proto.h's.
 */
#ifndef PH_CONTROL_H
#define PH_CONTROL_H

#include <event2/event.h>
#include <jansson.h>

#include "gateway/broker.h"
#include "gateway/tunnels.h"
#include "lib/control_proto.h"
#include "policy/policy.h"

struct control;

/*
 * Re-read porthole.conf on behalf of who (for the audit); 0, or -1 with
 * the reason (nothing changed).
 */
typedef int (*control_reload_cb)(void *arg, const char *who, char *err,
    size_t errlen);

/* Returns NULL after logging why (the gateway then refuses to start). */
struct control	*control_new(struct event_base *base, const struct policy *pol,
		    struct broker *broker, struct tunnels *tunnels,
		    control_reload_cb reload, void *reload_arg);
/* The policy after a reload (run_dir keeps its value until restart). */
void		 control_set_policy(struct control *c,
		    const struct policy *pol);
/* More fields for porthole status (telemetry, license), from fn(arg). */
void		 control_set_status_extra(struct control *c,
		    json_t *(*fn)(void *), void *arg);
struct updates;
/* porthole updates, updates reschedule and run-now go to up. */
void		 control_set_updates(struct control *c, struct updates *up);
struct bundles;
/* porthole bundles, bundle show, approve and deny go to bs. */
void		 control_set_bundles(struct control *c, struct bundles *bs);
struct alerts;
/* porthole alerts goes to al. */
void		 control_set_alerts(struct control *c, struct alerts *al);
void		 control_free(struct control *c);

#endif
