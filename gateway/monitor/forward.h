/*
 * forward.h - the monitor's side of port forwarding: connect only to a
 * host:port listed in [forward] targets.
 *
 * The engineer's host is a numeric address, or a name that a target
 * has (only then is it resolved, here, locally); the connection is
 * allowed only if one of its addresses equals one of a listed target's
 * resolved addresses with the same port, and it is made to that address.
 */
#ifndef PH_FORWARD_H
#define PH_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

#define FORWARD_CONNECT_TIMEOUT	5	/* seconds */

/*
 * Connect to host:port if allowed: returns a connected, blocking TCP
 * socket (close-on-exec), or -1 with why ("127.0.0.1:22 is not a
 * forwarding target on this cluster", "connection refused", ...).
 * *addr gets the numeric address connected to ("127.0.0.1:8021").
 */
int	forward_connect(const struct policy *pol, const char *host,
	    uint16_t port, char *addr, size_t addrlen, char *why,
	    size_t whylen);

/*
 * Is addr, the numeric address a forward was connected to ("127.0.0.1:
 * 8021", "[::1]:8021"), still one of pol's targets?  1 or 0.
 */
int	forward_addr_listed(const struct policy *pol, const char *addr);

#endif
