/*
 * tunnel.h - one outbound SSH connection from the gateway to one relay
 * of [gateway] relay: relay host key pinned, login with the cluster key,
 * reconnect forever with capped exponential backoff and jitter, and a
 * keepalive that drops the tunnel when the relay goes silent (see
 * lib/keepalive.h).  Engineer streams arrive on it as forwarded-tcpip
 * channels and are handed to the broker.  Each relay has its own tunnel,
 * with its own state and backoff (tunnels.h keeps the set).
 */
#ifndef PH_TUNNEL_H
#define PH_TUNNEL_H

#include <event2/event.h>
#include <libssh/libssh.h>
#include <time.h>

#include "policy/policy.h"

struct tunnel;

/* Called for each accepted engineer channel; originator is the relay's hint. */
typedef void (*tunnel_channel_cb)(ssh_channel ch, const char *orig_host,
    int orig_port, void *arg);
/* Called after every poll of tunnel t, outside libssh callbacks. */
typedef void (*tunnel_poll_cb)(struct tunnel *t, void *arg);
/* Called when t goes down: its channels are about to be freed. */
typedef void (*tunnel_down_cb)(struct tunnel *t, void *arg);

struct keyagent;

/*
 * A tunnel to pol->relays[relay], logging in with the cluster key that
 * ka holds (gateway/keyagent.h); the address is copied (it takes effect
 * at start), the rest of the policy is read at each connection.
 */
struct tunnel	*tunnel_new(struct event_base *base, const struct policy *pol,
		    size_t relay, struct keyagent *ka,
		    tunnel_channel_cb on_channel, tunnel_poll_cb on_poll,
		    tunnel_down_cb on_down, void *arg);
/* Start connecting now. */
void		 tunnel_start(struct tunnel *t);
/* Arrange for queued output to be flushed (after writing to a channel). */
void		 tunnel_want_write(struct tunnel *t);
int		 tunnel_is_up(const struct tunnel *t);
/* The relay, "HOST:PORT" ("[ADDR]:PORT" for IPv6), for logs and status. */
const char	*tunnel_name(const struct tunnel *t);
/* Does t go to relay r (the host's case aside)? */
int		 tunnel_is_to(const struct tunnel *t,
		    const struct policy_target *r);
/* The live SSH session to the relay, or NULL while the tunnel is down. */
ssh_session	 tunnel_session(struct tunnel *t);
/* Why the last attempt or connection failed ("" if none), and since when. */
const char	*tunnel_last_error(const struct tunnel *t, time_t *since);
/* Use this policy from now on (keepalives) and at the next connection. */
void		 tunnel_set_policy(struct tunnel *t, const struct policy *pol);
void		 tunnel_free(struct tunnel *t);

#endif
