/*
 * bundles_int.h - what the files of the gateway's bundles share:
 *
 *   bundles.c          the requests, the states kept in state_dir, the
 *                      customer's decisions
 *   bundles_record.c   one bundle's record: its state's name, its
 *                      files, its ID.json, the audit log (below the rest)
 *   bundles_build.c    the process each bundle is built in
 *   bundles_upload.c   the upload over the control channel
 *
 * Not a public surface: only these files include it.
 */
#ifndef PH_BUNDLES_INT_H
#define PH_BUNDLES_INT_H

#include <sys/types.h>
#include <stdint.h>
#include <time.h>

#include "gateway/bundles.h"

enum bstate {
	BS_REQUESTED,
	BS_BUILDING,
	BS_WAITING,
	BS_READY,
	BS_UPLOADED,
	BS_DENIED,
	BS_FAILED,
	BS_NSTATE
};

/* One bundle, as ID.json keeps it. */
struct bundle {
	char		 id[BUNDLES_ID_LEN + 1];
	enum bstate	 state;
	char		 source[16];		/* engineer | vendor | event */
	char		 by[BUNDLES_BY_MAX + 1];	/* "engineer alice" */
	char		 ticket[BUNDLES_TICKET_MAX + 1];	/* or "" */
	char		 session[32];		/* the engineer's, or "" */
	uint64_t	 msg_id;		/* the vendor's message, or 0 */
	time_t		 requested;
	time_t		 built;			/* 0: not yet */
	time_t		 finished;		/* uploaded, denied, failed */
	char		 sha256[65];		/* of the tar.gz, or "" */
	uint64_t	 size;
	uint64_t	 bytes_read;
	uint64_t	 files;
	uint64_t	 left_out;
	uint64_t	 redactions;
	int		 truncated;
	int		 timed_out;
	char		 manifest_sha256[65];
	char		 decided_by[256];	/* approve/deny, or "" */
	char		 reason[257];		/* a failure's, a decision's */
	uint64_t	 uploaded;		/* bytes the relay acknowledged */
	/*
	 * The relay's refusals of it in a row (bundles_upload.c): the last
	 * one's words, as the relay said them (control characters made
	 * spaces), and the SHA-256 mismatches since it was last ready
	 * (bytes stored in between do not reset those).  After a
	 * refusal the bundle waits until next_try (clock_mono_ms(); not
	 * kept: after a restart it is tried at once) and the bundles
	 * behind it go first.
	 */
	unsigned	 refusals;
	unsigned	 bad_hashes;
	char		 refused[256];
	uint64_t	 next_try;
};

/* A build in progress (bundles_build.c). */
struct build;

struct bundles {
	struct event_base	*base;
	const struct policy	*pol;
	char			 dir[4096];	/* state_dir/bundles */
	inbox_audit_fn		 audit;
	void			*audit_arg;
	struct inbox		*inbox;
	void			(*kick)(void *);
	void			*kick_arg;
	struct bundle		*b;		/* newest last */
	size_t			 n;
	struct build		*build;		/* NULL: none runs */
	struct event		*ev_next;	/* start the next build */
	struct {
		char	 type[64];
		time_t	 at;
	}			 events[16];	/* on_events, last gathered */
	/* The upload in flight (bundles_upload.c). */
	char			 up_id[BUNDLES_ID_LEN + 1];
	int			 up_fd;		/* the archive, or -1 */
	int			 up_waiting;	/* a frame awaits its ack */
	uint64_t		 up_end;	/* where the piece sent ends */
	int			 up_begun;	/* the relay said where it is */
	uint64_t		 up_retry_at;	/* clock_mono_ms() */
	struct event		*ev_up;		/* then the uplink is kicked */
	/*
	 * The builder ended: bundles_built (bundles.c), which
	 * bundles_build.c reaches only through this, standing below it.
	 */
	void			(*built)(struct bundles *, const char *id,
				    json_t *result, const char *why);
};

/* bundles_record.c */
const char	*bundle_state_name(enum bstate);
/* The state named name, or -1. */
int		 bundle_state_lookup(const char *name);
/* Nothing more happens to b: uploaded, denied or failed. */
int		 bundle_finished(const struct bundle *b);
struct bundle	*bundle_find(struct bundles *, const char *id);
/* b as ID.json keeps it, and as list and show give it; NULL. */
json_t		*bundle_json(const struct bundle *b);
/* Write b's ID.json; 0, or -1 (logged). */
int		 bundle_save(struct bundles *, struct bundle *b);
/* state_dir/bundles/ID + suffix into buf. */
void		 bundle_path(const struct bundles *, const char *id,
		    const char *suffix, char *buf, size_t len);
/* Write an audit event (fields stolen); 0, or -1. */
int		 bundles_audit(struct bundles *, const char *type,
		    json_t *fields);

/* bundles_build.c */
/*
 * Start building b (state building): 0, or -1 with why, b left as it
 * was.  done is called when the builder ended.
 */
int		 build_start(struct bundles *, struct bundle *b, char *why,
		    size_t whylen);
void		 build_kill(struct bundles *);

/* bundles_upload.c */
/* ev_up's callback: the wait is over, the uplink may send again. */
void		 upload_wake(evutil_socket_t fd, short what, void *arg);
/* b will not be uploaded any more (denied, removed): stop if it is. */
void		 upload_forget(struct bundles *, const char *id);

#endif
