/*
 * uplink.h - the gateway's control channel to Mission Control: a
 * direct-tcpip channel on one of the tunnels to the pseudo-host
 * "mission-control" carrying frames (telemetry/frame.h).
 *
 * Spooled records go in order, in batches, with their sequence numbers;
 * the spool forgets a record only when the relay acknowledges that its
 * store committed it, and after a reconnect everything unacknowledged
 * is sent again (the relay drops duplicates).  At most a few batches are
 * in flight, so a backlog drains without crowding out the engineers'
 * sessions on the same tunnel.
 *
 * Messages from the vendor come down on it and go to the inbox
 * (inbox.h), which answers each once it is stored.
 *
 * It also asks for the license every LICENSE_CHECK_INTERVAL and applies
 * the offline rule: when the relay has not been reached for 14 days (7
 * on a trial license) licensing overages are disabled, until contact
 * is made again.  The state is kept in state_dir/license.json, which the
 * product reads.
 *
 * Every record sent is first copied to state_dir/outbox
 * (telemetry/outbox.h), and so are the acknowledgements, within half a
 * second: when the copy cannot be written, nothing is sent until it
 * can.
 *
 * Each seal of the audit log goes up as an anchor; the newest one the
 * relay has not acknowledged is kept in state_dir/anchor.json and sent
 * again on every new channel, after a restart too.
 */
#ifndef PH_UPLINK_H
#define PH_UPLINK_H

#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "gateway/telem.h"
#include "gateway/tunnel.h"
#include "policy/policy.h"

#define UPLINK_LICENSE_CHECK	300	/* seconds between license checks */
#define UPLINK_LICENSE_FILE	"license.json"	/* in state_dir */
#define UPLINK_ANCHOR_FILE	"anchor.json"	/* in state_dir */

struct uplink;

/* tunnel: the one to run over first, or NULL (uplink_set_tunnel). */
struct uplink	*uplink_new(struct event_base *base, const struct policy *pol,
		    struct tunnel *tunnel, struct telem *telem);
void		 uplink_free(struct uplink *);
void		 uplink_set_policy(struct uplink *, const struct policy *pol);
struct inbox;
struct pkgget;
/* Where messages from the vendor go (inbox.h). */
void		 uplink_set_inbox(struct uplink *, struct inbox *ib);
/* What fetches the packages they refer to (pkgget.h). */
void		 uplink_set_pkgget(struct uplink *, struct pkgget *g);
struct bundles;
/* The support bundles to upload (bundles.h). */
void		 uplink_set_bundles(struct uplink *, struct bundles *bs);
/* The session host key ("TYPE BASE64"), told to the relay in hello. */
void		 uplink_set_host_key(struct uplink *, const char *key);

/*
 * Run the control channel over tunnel t from now on (NULL: none is up).
 * On a new channel everything not acknowledged is sent again, so records
 * move from one relay to another without loss.
 */
void		 uplink_set_tunnel(struct uplink *, struct tunnel *t);
struct tunnel	*uplink_tunnel(const struct uplink *);
/* After every poll of a tunnel: move what can move.  Never nested. */
void		 uplink_poll(struct uplink *);
/* The tunnel went down: the channel is gone with it. */
void		 uplink_down(struct uplink *);
/*
 * Something may go out (records durable in the spool, a package piece
 * to ask for): a poll is scheduled on the event loop, never run here,
 * so it is safe to call from inside a frame's handler.
 */
void		 uplink_kick(void *uplink);
/*
 * The audit log sealed: keep the head as the anchor to send (the newest
 * wins), in state_dir first, and send it.
 */
void		 uplink_anchor(struct uplink *, uint64_t epoch, uint64_t seq,
		    const char *head_hex);
/*
 * At a clean stop, after the last seal: run the event loop until the
 * relay acknowledges the newest anchor, the tunnel is down, or ms have
 * passed.  1 when the relay has it, 0 when it waits in state_dir.
 */
int		 uplink_flush_anchor(struct uplink *, unsigned int ms);

/* For porthole status: license, offline state, spool and uplink. */
json_t		*uplink_status(struct uplink *);

#endif
