/*
 * approvals.h - the customer's approvals of a ticket for a time
 * (`porthole approve --ticket T --for 4h`): every session whose
 * certificate carries ticket T is let in without waiting until then,
 * the clock starting at the approval.  They cover sessions only, never
 * actions or support bundles.
 *
 * They are kept in state_dir/approvals.json, replaced atomically (a
 * crash leaves the old list or the new one) before the customer is
 * told, so that a restart of the gateway keeps them.  An approval that
 * cannot be stored is not given.
 */
#ifndef PH_APPROVALS_H
#define PH_APPROVALS_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#define APPROVALS_FILE	"approvals.json"	/* in state_dir */
#define APPROVALS_MAX	256	/* tickets approved at once */

struct approval {
	char		 ticket[257];
	time_t		 granted;
	time_t		 until;
	char		 by[256];	/* who, as actor.h says it */
	char		 reason[257];
};

struct approvals;

/*
 * The approvals stored in state_dir (none if there is no file yet),
 * those already over dropped.  NULL with err when the file exists and
 * cannot be read or is not a list of approvals: the gateway does not
 * start on a list it cannot read, rather than drop what the customer
 * gave or keep what they withdrew.
 */
struct approvals *approvals_open(const char *state_dir, time_t now,
		    char *err, size_t errlen);
void		 approvals_free(struct approvals *);
/*
 * Approve ticket until then (replacing an approval it has): stored
 * first.  0, or -1 with err (nothing changed).
 */
int		 approvals_grant(struct approvals *, const struct approval *a,
		    char *err, size_t errlen);
/*
 * Withdraw ticket's approval: 0 (a copy of it in *gone), 1 if it has
 * none, -1 with err when the list cannot be stored (nothing changed).
 */
int		 approvals_revoke(struct approvals *, const char *ticket,
		    struct approval *gone, char *err, size_t errlen);
/* Ticket's approval in force at now, or NULL. */
const struct approval *approvals_find(const struct approvals *,
		    const char *ticket, time_t now);
/*
 * Take out one approval that is over at now: 1 with it in *over, 0 if
 * none is.  The list is stored again once none is left (a list that
 * cannot be stored is only logged: an approval over is over either
 * way).
 */
int		 approvals_expire(struct approvals *, time_t now,
		    struct approval *over);
/* The approvals in force, as a JSON array (a new reference). */
json_t		*approvals_list(const struct approvals *, time_t now);

#endif
