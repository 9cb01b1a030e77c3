/*
 * inbox.h - messages from the vendor, as the relay offers them on the
 * control channel: {"t":"msg","id":N,"kind":K,"body":{...}} (frame.h).
 *
 * One mechanism for every kind (update notices now; alerts and bundle
 * requests later): each kind registers a handler, and the inbox does the
 * rest the same way for all of them.  Every field is untrusted.  A
 * message is checked by its kind's handler, stored in
 * state_dir/inbox/ID.json (file and directory synced), acted on by its
 * kind, which keeps what that must keep in state_dir, and only then
 * acknowledged.  When either cannot be written, nothing of the message
 * is kept and it is not acknowledged: the gateway says once which file
 * and why, holds the message and tries it again every
 * INBOX_RETRY_WRITE seconds (the relay offers it again as well), so
 * nothing is lost while a disk is full or read-only.  A refused one is
 * acknowledged with the reason, so the
 * relay stops offering it and can show why; a kind nobody registered
 * is refused the same way.  One its kind already has under another id
 * (a notice published twice) is acknowledged as a duplicate and not
 * stored.  The id is the relay store's, so an id already in the inbox
 * is acknowledged again and not acted on twice.  The inbox is bounded
 * (INBOX_MAX_MESSAGES, INBOX_MAX_BYTES): past that a message is not
 * acknowledged, the relay offers it again later, and `porthole status`
 * says why.  After a restart each stored message is handed to its kind
 * again, to resume what it started; one its kind holds nothing of (the
 * gateway stopped between storing it and acting on it, or it is
 * finished) leaves the inbox without being remembered as finished, so
 * that a relay that never had its acknowledgement offers it again and
 * it is judged afresh.
 *
 * A message its kind is finished with leaves the inbox: its id goes
 * into state_dir/inbox/seen (the newest INBOX_SEEN_MAX, written before
 * the file is removed), so that the relay offering it again (an
 * acknowledgement lost) is told it was had, and nothing is judged or
 * done again.
 *
 * Every arrival is audited (message_received: id, kind, verdict), but
 * at most INBOX_AUDIT_PER_MIN lines a minute are about messages; the
 * rest are counted and summarised in one message_burst line (count,
 * kinds, ids) when the minute ends, so a hostile relay cannot flood
 * the audit log.
 */
#ifndef PH_INBOX_H
#define PH_INBOX_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "policy/policy.h"

#define INBOX_DIR		"inbox"		/* in state_dir */
#define INBOX_BODY_MAX		(64 * 1024)	/* a body, compact JSON */
#define INBOX_MAX_MESSAGES	256
#define INBOX_MAX_BYTES		(16 * 1024 * 1024)
#define INBOX_SEEN_FILE		"seen"		/* in it: finished ids */
#define INBOX_SEEN_MAX		1024
#define INBOX_PRUNE_EVERY	60		/* seconds: finished ones go */
#define INBOX_AUDIT_PER_MIN	20
#define INBOX_KIND_MAX		32		/* [a-z0-9_] */
#define INBOX_REASON_MAX	200		/* a refusal, as sent up */
#define INBOX_RETRY_WRITE	10		/* seconds: a held one, again */

enum inbox_verdict {
	INBOX_ACCEPT,		/* store it, acknowledge, act */
	INBOX_REFUSE,		/* acknowledge with the reason */
	INBOX_DEFER,		/* no answer now: the relay offers it again */
	INBOX_HAVE		/* had under another id: acknowledged only */
};

/* What acting on a stored message came to. */
enum inbox_acted {
	INBOX_KEPT,		/* what it must keep is durable */
	INBOX_UNSAVED,		/* that cannot be written: nothing was kept */
	INBOX_UNKNOWN		/* at a restart: the kind holds nothing of it */
};

/* What one kind of message does.  Callbacks get arg. */
struct inbox_kind {
	const char	*name;
	/*
	 * Judge an arriving body (nothing may change yet); why says why
	 * when refused, deferred or a duplicate: one line, shown to the
	 * relay when refused.
	 */
	enum inbox_verdict (*check)(void *arg, uint64_t id, json_t *body,
			    char *why, size_t whylen);
	/* A refusal that was audited; may be NULL. */
	void		(*refused)(void *arg, uint64_t id, json_t *body,
			    const char *why);
	/*
	 * Act on a stored message: just arrived (restart 0), or found in
	 * the inbox when the gateway started (restart 1): then only what
	 * it started before goes on, nothing new begins.  INBOX_KEPT once
	 * what acting on it must keep is durable (and only then may
	 * anything of it be seen: an audit line, a command run);
	 * INBOX_UNSAVED with why (naming the file and the reason) when
	 * that cannot be written, everything of it undone; INBOX_UNKNOWN
	 * at a restart for a message the kind holds nothing of.
	 */
	enum inbox_acted (*act)(void *arg, uint64_t id, json_t *body,
			    int restart, char *why, size_t whylen);
	/* Is the message finished with (it may leave the inbox)?  1 or 0. */
	int		(*done)(void *arg, uint64_t id);
	void		*arg;
};

/* Writes one audit event (fields stolen); 0, or -1 if it cannot. */
typedef int (*inbox_audit_fn)(void *arg, const char *type, json_t *fields);

struct inbox;

/* NULL with err when state_dir/inbox cannot be made. */
struct inbox	*inbox_new(struct event_base *base, const struct policy *pol,
		    inbox_audit_fn audit, void *audit_arg, char *err,
		    size_t errlen);
void		 inbox_free(struct inbox *);
/* Up to 8 kinds; 0, or -1. */
int		 inbox_register(struct inbox *, const struct inbox_kind *kind);
/* Read the inbox and hand each message to its kind (restart 1). */
void		 inbox_start(struct inbox *);

/*
 * A msg frame from the relay: 1 with *ack the frame to answer (a
 * msg_ack, or a msg_wait when it cannot be taken yet: deferred by its
 * kind, the inbox full or not writable), -1 when the frame is
 * malformed beyond an answer (no id): a protocol error, why says it.
 * *ack may be NULL (out of memory): the relay offers it again.
 */
int		 inbox_offer(struct inbox *, json_t *frame, json_t **ack,
		    char *why, size_t whylen);
/*
 * A deferred message is held (at most INBOX_HELD, until the channel goes
 * down) and judged again when its kind calls inbox_retry(), or after
 * INBOX_RETRY_WRITE seconds when it was not kept for a file that could
 * not be written: the answer
 * goes out through send(arg, ack) (ack stolen), without waiting for the
 * relay to offer it again.
 */
#define INBOX_HELD	8
void		 inbox_set_sender(struct inbox *,
		    void (*send)(void *arg, json_t *ack), void *arg);
void		 inbox_retry(struct inbox *);
/* The channel went down: held messages are the relay's to offer again. */
void		 inbox_link_down(struct inbox *);

/*
 * May one more audit line about a message of kind be written now?  1
 * (counted), or 0: it is counted in the next message_burst instead.
 * For lines a kind writes about an arriving message.
 */
int		 inbox_limit(struct inbox *, const char *kind, uint64_t id);

/* Write the summary of a burst now (a clean stop), not at its end. */
void		 inbox_flush(struct inbox *);

/* For porthole status: {"messages","bytes","waiting"}. */
json_t		*inbox_status(struct inbox *);

#endif
