/*
 * intake.h - the telemetry intake socket, run_dir/intake.sock, whose
 * protocol telemetry/intake_proto.h states.  Only root, the gateway's
 * user and admin_group may connect.
 */
#ifndef PH_INTAKE_H
#define PH_INTAKE_H

#include <event2/event.h>

#include "gateway/telem.h"
#include "policy/policy.h"
#include "telemetry/intake_proto.h"

struct intake;

/* NULL after logging why. */
struct intake	*intake_new(struct event_base *base, const struct policy *pol,
		    struct telem *telem);
/* After a reload: admin_group is looked up again. */
void		 intake_set_policy(struct intake *, const struct policy *pol);
void		 intake_free(struct intake *);

#endif
