/*
 * alerts.h - the vendor's alerts about this cluster, as the relay sends
 * them down: messages of kind "alert" (gateway/inbox.h) with the body
 *	{"alert":ID,"state":"raised"|"cleared","severity":"warning"|
 *	 "critical","rule":R,"subject":S,"text":T,"at":RFC3339}
 * ID is the alert's id in the relay's store.  Every field is untrusted:
 * the rule is a word, subject and text are stripped of control
 * characters (a newline, a tab or CR becomes a space, others go) and
 * cut at ALERTS_TEXT_MAX bytes on a character boundary, and every view
 * says they come from the vendor.
 *
 * Each raise and clear is audited (alert_raised, alert_cleared, at most
 * as many a minute as the inbox allows, the rest summarised by it) and
 * runs [alerts] notify_command with PORTHOLE_ALERT_ID, _STATE,
 * _SEVERITY, _RULE, _SUBJECT and _TEXT in its environment: one at a
 * time, killed after ALERTS_NOTIFY_TIMEOUT, the loop never waiting for
 * it; a failure is audited (alert_notify_failed).  At most
 * ALERTS_NOTIFY_QUEUE notifications wait; past that the oldest waiting
 * is dropped, and that is audited too.  The alerts and the
 * notifications still owed are kept in state_dir/alerts.json, so a
 * restart neither repeats a notification nor loses one.
 */
#ifndef PH_ALERTS_H
#define PH_ALERTS_H

#include <event2/event.h>
#include <jansson.h>

#include "gateway/inbox.h"
#include "gateway/job.h"
#include "policy/policy.h"

#define ALERTS_FILE		"alerts.json"	/* in state_dir */
#define ALERTS_KIND		"alert"		/* the message kind */
#define ALERTS_MAX		256		/* kept; the oldest cleared go */
#define ALERTS_TEXT_MAX		512		/* bytes of a text */
#define ALERTS_SUBJECT_MAX	256		/* bytes of a subject */
#define ALERTS_NOTIFY_TIMEOUT	60		/* seconds */
#define ALERTS_NOTIFY_QUEUE	32
#define ALERTS_KEEP_CLEARED	(30 * 86400)

struct alerts;

/* NULL with err (state_dir/alerts.json unreadable, out of memory). */
struct alerts	*alerts_new(struct event_base *base, const struct policy *pol,
		    struct jobs *jobs, struct inbox *inbox,
		    inbox_audit_fn audit, void *audit_arg, char *err,
		    size_t errlen);
void		 alerts_free(struct alerts *);
void		 alerts_set_policy(struct alerts *, const struct policy *pol);

/*
 * porthole alerts: every alert kept, open ones first, each {"id",
 * "state" (open|cleared), "severity", "rule", "subject", "text",
 * "raised", "cleared", "from":"vendor", "notify"}.
 */
json_t		*alerts_list(struct alerts *);
/* porthole status: {"open", "critical", "alerts":[the open ones]}. */
json_t		*alerts_status(struct alerts *);

#endif
