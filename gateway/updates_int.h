/*
 * updates_int.h - what the parts of the update scheduler share:
 * updates.c (notices, the schedule, the views), updates_store.c (the
 * state file), updates_run.c (the customer's commands) and
 * updates_record.c (the records, below them all).  Not a
 * public header.
 */
#ifndef PH_UPDATES_INT_H
#define PH_UPDATES_INT_H

#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "gateway/pkgget.h"
#include "gateway/updates.h"
#include "lib/clock.h"
#include "lib/version.h"
#include "lib/window.h"
#include "telemetry/notice.h"

#define UPDATES_KEEP	16	/* records kept; the oldest finished go */
#define UPDATES_JUDGING	16	/* messages waiting for version_command */

enum ustate {
	US_ANNOUNCED,
	US_SCHEDULED,
	US_STARTED,
	US_INSTALLED,
	US_FAILED,
	US_REFUSED,
	US_SUPERSEDED,
	US__COUNT
};

/* One accepted notice and what became of it. */
struct update {
	struct notice	 n;
	uint64_t	 msg_id;	/* the message that announced it */
	enum ustate	 state;
	time_t		 accepted;
	time_t		 notified;	/* first successful notify; 0 */
	int64_t		 notified_boot;	/* the same on clock_boot() */
	char		 boot_id[CLOCK_BOOT_ID_LEN + 1];	/* of that boot */
	time_t		 next_notify;	/* while it fails */
	unsigned	 notify_failures;
	time_t		 earliest;	/* notified + 24 h */
	time_t		 first_window;	/* the first start it was given */
	time_t		 when;		/* the start it has now */
	int		 run_now;	/* an admin asked: no lateness rule */
	int		 renotify;	/* tell the admins of the new time */
	int		 downloaded;
	time_t		 started, finished;
	char		 result[128];	/* "exit 0", "timed out after 2h" */
	char		 log_sha256[65];
	char		 reason[300];	/* refused, failed, superseded: why */
	char		 waiting[200];	/* what it waits for now */
};

struct updates {
	struct event_base	*base;
	const struct policy	*pol;
	struct jobs		*jobs;
	struct telem		*telem;
	struct inbox		*inbox;
	struct pkgget		*pkgget;
	inbox_audit_fn		 audit;
	void			*audit_arg;
	char			 dir[4096];	/* state_dir/updates */
	uint8_t			 key[32];	/* [updates] vendor_key */
	int			 have_key;
	char			 key_error[300];
	char			 boot_id[CLOCK_BOOT_ID_LEN + 1];	/* "": unknown */
	struct window		 window;
	int			 have_window;
	struct update		 u[UPDATES_KEEP];
	size_t			 n;
	/*
	 * The installed version is the higher of porthole's record of its
	 * last install and what version_command printed last: the product
	 * may have been upgraded by other means since.
	 */
	struct version		 installed;	/* porthole's record */
	char			 installed_s[VERSION_MAX_LEN + 1];
	time_t			 installed_at;	/* 0: not by porthole */
	int			 have_record;	/* installed by porthole */
	struct version		 product;	/* version_command's */
	char			 product_s[VERSION_MAX_LEN + 1];
	int			 have_product;
	uint64_t		 product_ms;	/* read then (clock_mono_ms) */
	char			 product_error[200];
	uint64_t		 product_retry_ms;
	struct job		*version_job;
	uint64_t		 version_started_ms;	/* that job */
	/* Messages waiting for a reading, since when (clock_mono_ms). */
	struct {
		uint64_t	 id;
		uint64_t	 since_ms;
	}			 judging[UPDATES_JUDGING];
	size_t			 njudging;
	/* The install due: the reading it waits for is newer than this. */
	uint64_t		 due_msg;
	uint64_t		 due_ms;
	/* Records move in u[]: the jobs name theirs by version. */
	struct job		*notify_job;
	uint64_t		 notifying;	/* its update's message */
	time_t			 notify_when;	/* the time it tells */
	struct job		*install_job;
	char			 installing[VERSION_MAX_LEN + 1];
	struct event		*ev_tick;
	int			 unsaved;	/* the state file is behind */
	/*
	 * The schedule's steps (updates.c), for the ends of the jobs that
	 * updates_run.c starts: that part stands below the schedule and
	 * reaches it only through these.
	 */
	void			(*eval)(struct updates *);
	void			(*scheduled)(struct updates *, struct update *,
				    time_t notified, time_t when);
};

/* updates_record.c */
const char	*updates_state_name(enum ustate);
int		 updates_state_parse(const char *, enum ustate *);
/* Nothing more happens to an update in state s. */
int		 updates_terminal(enum ustate s);
/* t as an RFC 3339 UTC string, or null for 0 (not yet, never). */
json_t		*updates_jtime(time_t t);
void		 updates_event(struct updates *, const char *type,
		    const struct update *u, json_t *fields);
struct update	*updates_find(struct updates *, const char *version);
struct update	*updates_find_msg(struct updates *, uint64_t msg_id);

/* updates_store.c: state_dir/updates/state.json */
void		 updates_load(struct updates *);
/* 0, or -1 with err (the file and why) when it cannot be written. */
int		 updates_store(struct updates *, char *err, size_t errlen);
/*
 * The same, for a change that stands whether or not it is written: a
 * failure is logged once, and the state is written again with every
 * look at the schedule (unsaved) until it can be.
 */
int		 updates_save(struct updates *);

/* updates_run.c */
void		 updates_run_version(struct updates *);
int		 updates_run_notify(struct updates *, struct update *,
		    time_t when, const char *why);
int		 updates_run_install(struct updates *, struct update *);
/* Remove the files no update holds any more. */
void		 updates_sweep(struct updates *);
/* u is over: its package goes, and its copy unless it failed. */
void		 updates_release(struct updates *, struct update *u);

#endif
