/*
 * intake.h - the telemetry intake socket, run_dir/intake.sock.
 *
 * Local producers (the product, `porthole send`) write newline-delimited
 * JSON records, at most RECORD_MAX bytes a line, and read one JSON
 * reply line per record, in order:
 *   {"ok":true,"seq":N}                 durable in the spool
 *   {"ok":true,"kept":false,"reason":R} a [telemetry] toggle blocks it
 *   {"ok":false,"reason":R}             refused: nothing was kept
 * Only root, the gateway's user and admin_group may connect.
 */
#ifndef PH_INTAKE_H
#define PH_INTAKE_H

#include <event2/event.h>

#include "gateway/telem.h"
#include "policy/policy.h"

#define INTAKE_SOCKET	"intake.sock"	/* in run_dir */

struct intake;

/* NULL after logging why. */
struct intake	*intake_new(struct event_base *base, const struct policy *pol,
		    struct telem *telem);
/* After a reload: admin_group is looked up again. */
void		 intake_set_policy(struct intake *, const struct policy *pol);
void		 intake_free(struct intake *);

#endif
