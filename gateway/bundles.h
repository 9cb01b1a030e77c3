/*
 * bundles.h - support bundles at the gateway (DESIGN.md section 6,
 * "Support bundles and redaction").
 *
 * A bundle is requested by an engineer (`ssh ... support@CLUSTER
 * bundle`, the ticket from the certificate), by the vendor (a
 * bundle_request message, inbox.h) or by the product (an event whose
 * type [bundle] on_events names).  It is built by a process forked for
 * the purpose (bundles_build.c): the [bundle] commands run as
 * diagnostics run, then, confined to reading the [files] roots and
 * writing state_dir/bundles, the bundle writer (bundle/bundle.h) reads
 * the files, redacted by [redact], into ID.tar.gz with its manifest
 * beside it (ID.manifest.json).  With [bundle] approval = required it
 * waits for `porthole bundle approve ID`; then it is uploaded over the
 * control channel (bundles_upload.c) and the relay checks its SHA-256.
 *
 * Each bundle's state is kept in state_dir/bundles/ID.json, replaced
 * atomically at every change, so a restart loses nothing: a build cut
 * short is started again, an upload resumes where the relay has it.
 *
 *   requested	queued; one bundle is built at a time
 *   building	its builder runs
 *   waiting	built; approval = required and nobody decided yet
 *   ready	built and approved (or approval = none): uploading
 *   uploaded	the relay has it and its SHA-256 matched: the archive
 *		is removed, the manifest and the state stay
 *   denied	the customer denied it: the archive is removed
 *   failed	it could not be built (why is kept), or the relay
 *		refused it too many times in a row (the archive is
 *		kept: porthole bundle retry sends it again)
 *
 * Audited: bundle_requested, bundle_built (SHA-256, size and the
 * manifest's summary: files, left out, redactions, truncated,
 * timed out, the manifest's own SHA-256), bundle_failed,
 * bundle_approved, bundle_denied, bundle_refused (the relay's words),
 * bundle_retried, bundle_uploaded; a decision and a retry with the
 * actor's every field (actor.h).
 */
#ifndef PH_BUNDLES_H
#define PH_BUNDLES_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "gateway/inbox.h"
#include "policy/policy.h"

#define BUNDLES_DIR		"bundles"	/* in state_dir */
#define BUNDLES_ID_LEN		16		/* hex digits */
#define BUNDLES_MAX		32		/* kept, finished or not */
#define BUNDLES_QUEUED_MAX	8		/* requested, not yet built */
#define BUNDLES_KEEP		(30 * 86400)	/* finished ones stay this long */
#define BUNDLES_BUILD_MAX	600		/* seconds a build may take */
#define BUNDLES_EVENT_QUIET	3600		/* one per event type per hour */
#define BUNDLES_TICKET_MAX	64		/* a ticket: A-Z a-z 0-9 . _ - */
#define BUNDLES_BY_MAX		160		/* who asked, as shown */
#define BUNDLES_DIAG_MAX	(16 * 1024 * 1024)	/* one output */

struct actor;
struct bundles;

/*
 * Reads state_dir/bundles and registers the bundle_request kind with
 * inbox (before inbox_start).  kick(kick_arg) is called when there is
 * something to upload (uplink_kick).  NULL with err.
 */
struct bundles	*bundles_new(struct event_base *base, const struct policy *pol,
		    struct inbox *inbox, inbox_audit_fn audit, void *audit_arg,
		    void (*kick)(void *), void *kick_arg, char *err,
		    size_t errlen);
/* A running builder is killed; its bundle is built again at the next start. */
void		 bundles_free(struct bundles *);
void		 bundles_set_policy(struct bundles *, const struct policy *pol);

/*
 * An engineer's request from session sid, its id (BUNDLES_ID_LEN hex
 * digits) chosen by the session's monitor: 0 queued; 1 refused for now
 * (too many wait), -1 refused, with why.
 */
int		 bundles_engineer(struct bundles *, const char *id,
		    const char *engineer, const char *ticket, const char *sid,
		    char *why, size_t whylen);
/*
 * The product sent an event of this type (intake): a bundle is
 * gathered when [bundle] on_events names it, at most one per type per
 * BUNDLES_EVENT_QUIET.
 */
void		 bundles_event(struct bundles *, const char *type);

/* porthole bundles --json: {"bundles": [...]}, newest first. */
json_t		*bundles_list(struct bundles *);
/* porthole bundle show ID: the state and "manifest"; NULL with why. */
json_t		*bundles_show(struct bundles *, const char *id, char *why,
		    size_t whylen);
/*
 * porthole bundle approve|deny ID on behalf of a (audited with every
 * field of the actor and its reason): 0, or -1 with why.
 */
int		 bundles_decide(struct bundles *, const char *id, int approve,
		    const struct actor *a, char *why, size_t whylen);
/*
 * porthole bundle retry ID on behalf of a: a bundle that failed with
 * its archive kept (the relay refused it too often) is uploaded again
 * from its first refusal on.  0, or -1 with why.
 */
int		 bundles_retry(struct bundles *, const char *id,
		    const struct actor *a, char *why, size_t whylen);

/* For porthole status: {"building", "waiting", "uploading"} counts. */
json_t		*bundles_status(struct bundles *);

/*
 * The upload, for the uplink (frame.h: bundle_begin, bundle_data,
 * bundle_ack).  The next frame to send, or NULL: one is in flight at a
 * time, so a bundle never crowds the sessions on the same tunnel.
 */
json_t		*bundles_upload_next(struct bundles *);
/*
 * A bundle_ack from relay (its name, for the audit log): 0, or -1 when
 * malformed (why: a protocol error).
 */
int		 bundles_upload_ack(struct bundles *, json_t *frame,
		    const char *relay, char *why, size_t whylen);
/* The channel is gone: what was in flight is asked again on the next. */
void		 bundles_link_down(struct bundles *);

#endif
