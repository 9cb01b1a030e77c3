/*
 * localhost.h - does this machine resolve "localhost" to 127.0.0.1?
 *
 * That is /etc/hosts' choice, not porthole's, and a fresh root may have
 * no such line.  The tests that give porthole a host name check what a
 * user of this machine would see either way: the name reaches 127.0.0.1,
 * or it is refused for not resolving.
 */
#ifndef TESTS_UNIT_LOCALHOST_H
#define TESTS_UNIT_LOCALHOST_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <netdb.h>
#include <string.h>

static int
localhost_is_loopback(void)
{
	struct addrinfo	 hints, *res;
	int		 yes;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo("localhost", NULL, &hints, &res) != 0)
		return 0;
	yes = ((const struct sockaddr_in *)(const void *)res->ai_addr)->
	    sin_addr.s_addr == htonl(INADDR_LOOPBACK);
	freeaddrinfo(res);
	return yes;
}

#endif
