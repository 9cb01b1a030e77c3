/*
 * relay.h - porthole-relay: one libevent loop holding the clusters'
 * tunnels and the engineers' jump sessions, routing each engineer's
 * direct-tcpip to "<cluster-id>:22" into that cluster's tunnel.
 */
#ifndef PH_RELAY_H
#define PH_RELAY_H

#include <event2/event.h>

#include "relay/relay_conf.h"

struct relay;

/*
 * Load keys and start listening.  conf belongs to the relay from now on,
 * also when this fails.  Returns NULL after logging why.
 */
struct relay	*relay_new(struct event_base *base, struct relay_conf *conf);
void		 relay_free(struct relay *r);

/*
 * Read relay.conf again and apply it whole, or refuse it whole and log
 * why ("FILE:LINE: ..."): clusters and engineers added or removed take
 * effect at once; tunnels of clusters whose section and key remain stay
 * up; a changed key that is read only at start refuses the reload.
 * Returns 0 or -1.
 */
int		 relay_reload(struct relay *r);

#endif
