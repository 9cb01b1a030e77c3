/*
 * mc.h - Mission Control's end of a cluster's control channel: the
 * direct-tcpip channel a gateway opens on its tunnel to the pseudo-host
 * "mission-control", carrying length-prefixed JSON frames
 * (telemetry/frame.h).
 *
 * Telemetry batches go into the store and are acknowledged only after
 * the store committed them; license checks are answered from relay.conf
 * or the cluster registry; audit seal heads are kept as anchors.
 * Messages from the vendor go down: every one the cluster has not
 * acknowledged, a few at a time.
 */
#ifndef PH_MC_H
#define PH_MC_H

#include <libssh/libssh.h>

#include "relay/relay_conf.h"
#include "relay/store.h"

#define MC_HOST		"mission-control"

struct mc;

/*
 * ch is accepted and owned from now on; st may be NULL (no database);
 * cl is the cluster's license, which the relay keeps up to date and
 * alive as long as the channel.
 */
struct mc	*mc_new(ssh_channel ch, struct store *st,
		    const struct relay_cluster *cl);
/*
 * Read what arrived, answer, write what the window allows.  Returns 1
 * when the channel is finished (closed or a protocol error): mc_free it.
 */
int		 mc_pump(struct mc *);
/*
 * 1 when the last mc_pump() stopped at its time budget with more to
 * read: pump again once the other connections had their turn.
 */
int		 mc_more(const struct mc *);
/*
 * The relay's poll of the store: newest is its newest message id.
 * Offers what is new for the cluster, and offers again what went
 * unanswered for MC_MSG_RESEND seconds.  1 when frames were queued (pump
 * the connection), else 0.
 */
int		 mc_tick(struct mc *, int64_t newest);
void		 mc_free(struct mc *);

#endif
