/*
 * updates.h - the product's software updates at the gateway
 * (DESIGN.md section 6, "Software updates").
 *
 * The vendor's notices arrive as update_notice messages (inbox.h).  A
 * notice is believed only when it is signed by the pinned [updates]
 * vendor_key in the namespace porthole-update, has not expired and
 * names a version newer than the one installed (no rollback, no
 * replay); anything else is refused and audited.  An accepted notice
 * goes through these states, kept in state_dir/updates/state.json
 * (replaced atomically at every change):
 *
 *   announced	accepted; notify_command runs (retried hourly while it
 *		fails) - without one, the notice counts from acceptance
 *   scheduled	the admins were told: it runs in the first window that
 *		starts at least 24 hours after they were; meanwhile its
 *		package is fetched (pkgget.h)
 *   started	update_command runs on a checked copy of the package
 *   installed | failed
 *   refused	its package was not the one the notice describes, in
 *		PKGGET_TRIES fetches (the notice offered again takes it up
 *		again), or its notice expired before it ran
 *   superseded	a newer notice came before it started
 *
 * A window lasts UPDATES_WINDOW seconds: a start found later than that
 * (the gateway was down, or the wall clock jumped) moves to the next
 * window and is audited.  The 24 hours are measured on the boot clock
 * as well (the same boot): an update does not start while the wall
 * clock is more than UPDATES_CLOCK_SLACK ahead of the time that really
 * passed since the admins were told and 24 hours have not.  An admin may move a scheduled update
 * (porthole updates reschedule: no earlier than 24 hours after the
 * admins were first told, no later than 7 days after its first
 * possible window; the admins are told again) or run it at once
 * (porthole updates run-now).  Each step is an event in the audit log
 * and in telemetry: update_announced, update_scheduled, update_started,
 * update_installed, update_failed, update_refused (and
 * update_superseded, update_notified, update_notify_failed).
 */
#ifndef PH_UPDATES_H
#define PH_UPDATES_H

#include <stddef.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "gateway/inbox.h"
#include "gateway/job.h"
#include "gateway/telem.h"
#include "policy/policy.h"

#define UPDATES_DIR		"updates"	/* in state_dir */
#define UPDATES_STATE_FILE	"state.json"	/* in it */
#define UPDATES_INSTALL_DIR	"install"	/* in it: the copies run */
#define UPDATES_NOTICE		86400		/* the admins' notice */
#define UPDATES_WINDOW		3600		/* a window's length */
#define UPDATES_DELAY_MAX	(7 * 86400)	/* after the first window */
#define UPDATES_CLOCK_SLACK	300	/* wall clock ahead of boot clock */
#define UPDATES_NOTIFY_RETRY	3600
#define UPDATES_NOTIFY_TIMEOUT	300
#define UPDATES_VERSION_TIMEOUT	60
#define UPDATES_VERSION_RETRY	300

struct updates;
struct pkgget;

/*
 * Registers the update_notice kind with the inbox (before
 * inbox_start), opens the state and the package fetcher.  kick is
 * called when a package request may go out (uplink_kick).  NULL with
 * err.
 */
struct updates	*updates_new(struct event_base *base, const struct policy *pol,
		    struct jobs *jobs, struct telem *telem, struct inbox *inbox,
		    inbox_audit_fn audit, void *audit_arg, void (*kick)(void *),
		    void *kick_arg, char *err, size_t errlen);
void		 updates_free(struct updates *);
/* A reload: the vendor key, commands, window and timeout. */
void		 updates_set_policy(struct updates *, const struct policy *pol);
struct pkgget	*updates_pkgget(struct updates *);

/* porthole updates --json: {"installed", "installed_from", "updates"}. */
json_t		*updates_list(struct updates *);
/* For porthole status: {"version","when"} of the next one, or null. */
json_t		*updates_next(struct updates *);
/*
 * porthole updates reschedule VERSION TIME and run-now VERSION, on
 * behalf of who (audited): 0, or -1 with why the request is refused.
 */
int		 updates_reschedule(struct updates *, const char *version,
		    time_t when, const char *who, char *err, size_t errlen);
int		 updates_run_now(struct updates *, const char *version,
		    const char *who, char *err, size_t errlen);

#endif
