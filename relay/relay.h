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

/* Load keys and start listening.  Returns NULL after logging why. */
struct relay	*relay_new(struct event_base *base, struct relay_conf *conf);
void		 relay_free(struct relay *r);

#endif
