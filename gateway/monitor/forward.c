/*
 * forward.c - the monitor's side of port forwarding.
 *
 * The decision is made on addresses, not names: the engineer's host and
 * every [forward] target are resolved here, and a connection is allowed
 * only to an address that both name, on the target's port.  Connecting
 * to that very address (not resolving the name again) means a DNS
 * answer that changes in between cannot redirect the connection.
 *
 * The engineer's host reaches the resolver only when it is a target's
 * own name: a numeric address is parsed, never looked up, and any other
 * name is refused first.  Otherwise an engineer could have the
 * customer's resolver send queries of their choosing (a DNS probe, or a
 * channel out of the cluster) just by asking for forwards.
 */
#include "gateway/monitor/forward.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"

#define FORWARD_HOST_MAX	255

/* getaddrinfo() for a TCP port; numeric: no lookup, only parsing. */
static int
forward_getaddrinfo(const char *host, uint16_t port, int numeric,
    struct addrinfo **res)
{
	struct addrinfo	hints;
	char		serv[8];

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (numeric ? AI_NUMERICHOST : 0);
	snprintf(serv, sizeof(serv), "%u", port);
	return getaddrinfo(host, serv, &hints, res);
}

static int
forward_resolve(const char *host, uint16_t port, struct addrinfo **res)
{
	return forward_getaddrinfo(host, port, 0, res);
}

#define FORWARD_UNLISTED	1	/* besides getaddrinfo()'s 0 and errors */

/*
 * The engineer's host as addresses, consulting the resolver only for a
 * name that a target on this port has (DNS names ignore case).  0, a
 * getaddrinfo() error, or FORWARD_UNLISTED for a name no target has.
 */
static int
forward_resolve_request(const struct policy *pol, const char *host,
    uint16_t port, struct addrinfo **res)
{
	size_t	i;
	int	gai;

	if ((gai = forward_getaddrinfo(host, port, 1, res)) != EAI_NONAME)
		return gai;
	for (i = 0; i < pol->ntargets; i++)
		if (pol->targets[i].port == port &&
		    strcasecmp(pol->targets[i].host, host) == 0)
			return forward_resolve(host, port, res);
	return FORWARD_UNLISTED;
}

/* The numeric form of an address: "127.0.0.1:8021", "[::1]:8021". */
static void
forward_numeric(const struct addrinfo *ai, char *buf, size_t len)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host),
	    serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(buf, len, "(unprintable address)");
	else if (ai->ai_family == AF_INET6)
		snprintf(buf, len, "[%s]:%s", host, serv);
	else
		snprintf(buf, len, "%s:%s", host, serv);
}

/* The same family, address and port (and IPv6 scope)? */
static int
forward_same(const struct addrinfo *a, const struct addrinfo *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->ai_family != b->ai_family)
		return 0;
	if (a->ai_family == AF_INET) {
		a4 = (const struct sockaddr_in *)(const void *)a->ai_addr;
		b4 = (const struct sockaddr_in *)(const void *)b->ai_addr;
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	}
	if (a->ai_family == AF_INET6) {
		a6 = (const struct sockaddr_in6 *)(const void *)a->ai_addr;
		b6 = (const struct sockaddr_in6 *)(const void *)b->ai_addr;
		return a6->sin6_port == b6->sin6_port &&
		    a6->sin6_scope_id == b6->sin6_scope_id &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr)) == 0;
	}
	return 0;
}

/* Does any target's resolved address equal ai? */
static int
forward_listed(struct addrinfo *const *targets, size_t n,
    const struct addrinfo *ai)
{
	const struct addrinfo	*t;
	size_t			 i;

	for (i = 0; i < n; i++)
		for (t = targets[i]; t != NULL; t = t->ai_next)
			if (forward_same(t, ai))
				return 1;
	return 0;
}

/*
 * Resolve the targets on this port into (*targets)[i]; NULL where a
 * target is on another port or does not resolve.  A target that fails
 * to resolve is logged for the customer and simply matches nothing.
 */
static int
forward_resolve_targets(const struct policy *pol, uint16_t port,
    struct addrinfo ***targets)
{
	struct addrinfo	**t;
	size_t		  i;
	int		  gai;

	if ((t = calloc(pol->ntargets, sizeof(*t))) == NULL)
		return -1;
	for (i = 0; i < pol->ntargets; i++) {
		if (pol->targets[i].port != port)
			continue;
		gai = forward_resolve(pol->targets[i].host, port, &t[i]);
		if (gai != 0) {
			log_warn("forward: cannot resolve target %s: %s",
			    pol->targets[i].host, gai_strerror(gai));
			t[i] = NULL;
		}
	}
	*targets = t;
	return 0;
}

static void
forward_targets_free(struct addrinfo **targets, size_t n)
{
	size_t i;

	if (targets == NULL)
		return;
	for (i = 0; i < n; i++)
		if (targets[i] != NULL)
			freeaddrinfo(targets[i]);
	free(targets);
}

/* Wait for a non-blocking connect on s to finish: 0, or an errno. */
static int
forward_wait(int s)
{
	struct pollfd	pfd;
	uint64_t	deadline, now;
	socklen_t	len;
	int		err = 0, rc;

	deadline = clock_mono_ms() + FORWARD_CONNECT_TIMEOUT * 1000;
	for (;;) {
		if ((now = clock_mono_ms()) >= deadline)
			return ETIMEDOUT;
		pfd.fd = s;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		rc = poll(&pfd, 1, (int)(deadline - now));
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1)
			return errno;
		if (rc == 0)
			return ETIMEDOUT;
		break;
	}
	len = sizeof(err);
	if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return errno;
	return err;
}

/*
 * Connect to ai within FORWARD_CONNECT_TIMEOUT seconds.  Returns a
 * blocking, close-on-exec socket, or -1 with why naming addr.
 */
static int
forward_connect_one(const struct addrinfo *ai, const char *addr, char *why,
    size_t whylen)
{
	int s, err = 0, fl;

	s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (s == -1) {
		err = errno;
		goto fail;
	}
	if (connect(s, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS) {
			err = errno;
			goto fail;
		}
		if ((err = forward_wait(s)) != 0)
			goto fail;
	}
	if ((fl = fcntl(s, F_GETFL)) == -1 ||
	    fcntl(s, F_SETFL, fl & ~O_NONBLOCK) == -1) {
		err = errno;
		goto fail;
	}
	return s;
fail:
	if (err == ETIMEDOUT)
		snprintf(why, whylen, "connecting to %s: no answer within %d "
		    "seconds", addr, FORWARD_CONNECT_TIMEOUT);
	else
		snprintf(why, whylen, "connecting to %s: %s", addr,
		    strerror(err));
	if (s != -1)
		close(s);
	return -1;
}

int
forward_connect(const struct policy *pol, const char *host, uint16_t port,
    char *addr, size_t addrlen, char *why, size_t whylen)
{
	struct addrinfo	 *req = NULL, **targets = NULL, *ai;
	char		  tried[NI_MAXHOST + NI_MAXSERV + 4];
	int		  s = -1, gai, matched = 0;

	if (addrlen > 0)
		addr[0] = '\0';
	if (!policy_allow_forward(pol, host, port, why, whylen))
		return -1;
	if ((gai = forward_resolve_request(pol, host, port, &req)) != 0) {
		if (gai == FORWARD_UNLISTED)
			policy_forward_refusal(host, port, why, whylen);
		else
			snprintf(why, whylen, "cannot resolve %s: %s", host,
			    gai_strerror(gai));
		return -1;
	}
	if (forward_resolve_targets(pol, port, &targets) == -1) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	/* Try each listed address in resolver order until one connects. */
	for (ai = req; ai != NULL && s == -1; ai = ai->ai_next) {
		if (!forward_listed(targets, pol->ntargets, ai))
			continue;
		matched = 1;
		forward_numeric(ai, tried, sizeof(tried));
		s = forward_connect_one(ai, tried, why, whylen);
	}
	if (s != -1)
		snprintf(addr, addrlen, "%s", tried);
	else if (!matched)
		policy_forward_refusal(host, port, why, whylen);
out:
	forward_targets_free(targets, pol->ntargets);
	freeaddrinfo(req);
	return s;
}

int
forward_addr_listed(const struct policy *pol, const char *addr)
{
	struct addrinfo	 hints, *ai = NULL, **targets = NULL;
	char		 host[FORWARD_HOST_MAX + 1];
	const char	*colon, *h = addr;
	size_t		 hlen;
	unsigned long	 port;
	char		*end, why[64];
	int		 listed = 0;

	if ((colon = strrchr(addr, ':')) == NULL)
		return 0;
	hlen = (size_t)(colon - addr);
	if (hlen >= 2 && addr[0] == '[' && addr[hlen - 1] == ']') {
		h = addr + 1;
		hlen -= 2;
	}
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (hlen == 0 || hlen > FORWARD_HOST_MAX || *end != '\0' ||
	    errno != 0 || port == 0 || port > 65535)
		return 0;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (!policy_allow_forward(pol, host, (uint16_t)port, why, sizeof(why)))
		return 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
		return 0;
	if (forward_resolve_targets(pol, (uint16_t)port, &targets) == 0) {
		listed = forward_listed(targets, pol->ntargets, ai);
		forward_targets_free(targets, pol->ntargets);
	}
	freeaddrinfo(ai);
	return listed;
}
