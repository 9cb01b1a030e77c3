/*
 * tunnels.h - the gateway's tunnels: one to each relay of [gateway]
 * relay, each with its own state and backoff (tunnel.h).  The relays of
 * a fleet share one host key, so every tunnel pins relay_host_key.
 * Engineer sessions arrive on any of them; the telemetry uplink runs
 * over one at a time, chosen with tunnels_pick().
 */
#ifndef PH_TUNNELS_H
#define PH_TUNNELS_H

#include <stddef.h>

#include <event2/event.h>
#include <jansson.h>

#include "gateway/tunnel.h"
#include "policy/policy.h"

struct tunnels;

/*
 * A tunnel for each of pol->relays, each logging in with the cluster key
 * ka holds, not yet started; NULL: no memory.
 */
struct tunnels	*tunnels_new(struct event_base *base, const struct policy *pol,
		    struct keyagent *ka, tunnel_channel_cb on_channel,
		    tunnel_poll_cb on_poll, tunnel_down_cb on_down, void *arg);
void		 tunnels_start(struct tunnels *);
size_t		 tunnels_count(const struct tunnels *);
/* The tunnel to the i-th relay of [gateway] relay. */
struct tunnel	*tunnels_get(struct tunnels *, size_t i);
/*
 * The first tunnel in [gateway] relay's order that is up, leaving out
 * not (NULL: none left out); NULL when none is.
 */
struct tunnel	*tunnels_pick(struct tunnels *, const struct tunnel *not);
/* Flush every tunnel's output (a broker's channel may be on any). */
void		 tunnels_want_write(void *tunnels);
/*
 * A reloaded policy: keepalives follow it at once, logins at the next
 * connection.  The relay list itself takes effect at restart.
 */
void		 tunnels_set_policy(struct tunnels *, const struct policy *pol);
/*
 * For porthole status: one object per relay, in [gateway] relay's order:
 * {"relay": HOST:PORT, "tunnel": "up"|"down", "since", "error"}.
 */
json_t		*tunnels_status(struct tunnels *);
void		 tunnels_free(struct tunnels *);

#endif
