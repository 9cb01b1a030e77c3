/*
 * relay_check.c - what porthole-relay checks of a loaded relay.conf
 * before it starts, and all that `porthole-relay -t` does: the files it
 * names are keys of the right kind and safe from other users (the
 * rules of lib/filecheck.c), the directories it writes to can be made,
 * and the port it will listen on is free, or held by the relay of the
 * same run_dir, which a restart replaces.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/daemon.h"
#include "lib/filecheck.h"
#include "lib/inifile.h"
#include "relay/relay_conf.h"
#include "relay/store_uri.h"

struct rcheck {
	const struct relay_conf	*c;
	struct filecheck	*fc;
	struct inifile_lines	*lines;
};

/* "FILE:LINE: [section] key", or "FILE: [section] key (the default)". */
static const char *
where(const struct rcheck *r, const char *section, const char *key,
    char *buf, size_t len)
{
	return inifile_where(r->lines, r->c->path, section, key, buf, len);
}

/* The LISTEN sockets that stand in the way of a bind, by inode. */
#define LISTENERS_MAX	64

struct listeners {
	unsigned long	inode[LISTENERS_MAX];
	size_t		n;
};

/* An address as IPv6 (IPv4 mapped), and whether it is the wildcard. */
static void
addr_v6(int family, const uint8_t *a, uint8_t out[16], int *any)
{
	static const uint8_t zero[16];

	if (family == AF_INET) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, a, 4);
		*any = memcmp(a, zero, 4) == 0;
	} else {
		memcpy(out, a, 16);
		*any = memcmp(a, zero, 16) == 0;
	}
}

/*
 * One line of /proc/net/tcp or tcp6: a LISTEN socket on port whose
 * address overlaps ours (the same, or either one the wildcard)?  Its
 * inode in *inode.  The kernel prints each 32-bit word of the address
 * as a number in host order: copied back, it is in network order again.
 */
static int
proc_line_blocks(const char *line, int family, unsigned int port,
    const uint8_t ours[16], int ours_any, unsigned long *inode)
{
	char		hex[33], word[9];
	unsigned int	lport, st;
	uint8_t		a[16], v6[16];
	uint32_t	w;
	size_t		i, words = family == AF_INET ? 1 : 4;
	int		any;

	if (sscanf(line, " %*u: %32[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*u "
	    "%*u %lu", hex, &lport, &st, inode) != 4 ||
	    strlen(hex) != words * 8 || st != 0x0a || lport != port)
		return 0;
	for (i = 0; i < words; i++) {
		memcpy(word, hex + i * 8, 8);
		word[8] = '\0';
		w = (uint32_t)strtoul(word, NULL, 16);
		memcpy(a + i * 4, &w, 4);
	}
	addr_v6(family, a, v6, &any);
	return ours_any || any || memcmp(ours, v6, 16) == 0;
}

/* Every LISTEN socket in our way, from /proc/net/tcp and tcp6. */
static void
listeners_find(const struct sockaddr *sa, struct listeners *l)
{
	static const struct {
		const char	*path;
		int		 family;
	} tables[] = {
		{ "/proc/net/tcp", AF_INET },
		{ "/proc/net/tcp6", AF_INET6 },
	};
	const struct sockaddr_in	*s4 = (const void *)sa;
	const struct sockaddr_in6	*s6 = (const void *)sa;
	FILE				*f;
	char				 line[512];
	uint8_t				 ours[16];
	unsigned long			 inode;
	unsigned int			 port;
	size_t				 i;
	int				 any;

	if (sa->sa_family == AF_INET) {
		addr_v6(AF_INET, (const uint8_t *)&s4->sin_addr, ours, &any);
		port = ntohs(s4->sin_port);
	} else {
		addr_v6(AF_INET6, s6->sin6_addr.s6_addr, ours, &any);
		port = ntohs(s6->sin6_port);
	}
	l->n = 0;
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if ((f = fopen(tables[i].path, "re")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL)
			if (proc_line_blocks(line, tables[i].family, port,
			    ours, any, &inode) && l->n < LISTENERS_MAX)
				l->inode[l->n++] = inode;
		fclose(f);
	}
}

/* Does process pid hold the socket of this inode?  1, 0, -1 unknown. */
static int
pid_holds(pid_t pid, unsigned long inode)
{
	DIR		*d;
	struct dirent	*e;
	char		 dir[64], fd[PATH_MAX], link[64], want[64];
	ssize_t		 n;
	int		 found = 0;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (!found && (e = readdir(d)) != NULL) {
		snprintf(fd, sizeof(fd), "%s/%s", dir, e->d_name);
		if ((n = readlink(fd, link, sizeof(link) - 1)) <= 0)
			continue;
		link[n] = '\0';
		found = strcmp(link, want) == 0;
	}
	closedir(d);
	return found;
}

/*
 * The bind failed: is every socket in the way the running relay's own?
 * 1 yes, 0 no (or nothing to tell by), -1 its sockets cannot be read.
 */
static int
held_by_relay(const struct sockaddr *sa, pid_t relay)
{
	struct listeners	l;
	size_t			i;
	int			r;

	if (relay <= 0)
		return 0;
	listeners_find(sa, &l);
	if (l.n == 0)
		return 0;
	for (i = 0; i < l.n; i++)
		if ((r = pid_holds(relay, l.inode[i])) != 1)
			return r;
	return 1;
}

/* The bind failed with EADDRINUSE: a problem unless the relay holds it. */
static void
port_in_use(struct rcheck *r, const char *w, const struct sockaddr *sa,
    const char *port)
{
	const struct relay_conf	*c = r->c;
	pid_t			 relay;
	int			 held;

	relay = daemon_lock_holder(c->run_dir, RELAY_PID_FILE);
	if ((held = held_by_relay(sa, relay)) == 1)
		return;
	if (held == -1)
		filecheck_report(r->fc, "%s: %s:%s is in use, perhaps by the "
		    "running relay (pid %ld), whose sockets uid %lu may not "
		    "see; run -t as the relay's user or root", w,
		    c->listen_host, port, (long)relay,
		    (unsigned long)geteuid());
	else
		filecheck_report(r->fc, "%s: %s:%s is in use by another "
		    "program (ss -ltnp 'sport = :%s' shows which)", w,
		    c->listen_host, port, port);
}

/*
 * Bind the listen address as the relay will (SO_REUSEADDR, so a port
 * left in TIME_WAIT passes) and let it go.  Linux refuses the bind
 * while any socket listens there, which is the question.  If the relay
 * of this run_dir is the one listening there, the port is its own, and
 * a restart frees it for the new one; only someone else is a problem.
 */
static void
check_port(struct rcheck *r)
{
	const struct relay_conf	*c = r->c;
	struct addrinfo		 hints, *res = NULL;
	char			 port[8], w[4200];
	int			 fd = -1, on = 1, e;

	where(r, "relay", "listen", w, sizeof(w));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
	snprintf(port, sizeof(port), "%u", c->listen_port);
	if ((e = getaddrinfo(c->listen_host, port, &hints, &res)) != 0) {
		filecheck_report(r->fc, "%s: %s: %s", w, c->listen_host,
		    gai_strerror(e));
		return;
	}
	if ((fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC,
	    0)) == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
	    sizeof(on)) == -1 || bind(fd, res->ai_addr, res->ai_addrlen) == -1) {
		if (errno == EADDRINUSE)
			port_in_use(r, w, res->ai_addr, port);
		else
			filecheck_report(r->fc, "%s: %s:%s: %s", w,
			    c->listen_host, port, strerror(errno));
	}
	if (fd != -1)
		close(fd);
	freeaddrinfo(res);
}

static void
check_keys(struct rcheck *r)
{
	const struct relay_conf	*c = r->c;
	char			 w[4200], section[80];
	size_t			 i;

	/* Gateways offer ssh-ed25519 only for the relay's host key. */
	(void)filecheck_key(r->fc, where(r, "relay", "host_key", w,
	    sizeof(w)), c->host_key, 1, "ssh-ed25519");
	(void)filecheck_key(r->fc, where(r, "relay", "support_ca", w,
	    sizeof(w)), c->support_ca, 0, "ssh-ed25519");
	for (i = 0; i < c->nclusters; i++) {
		snprintf(section, sizeof(section), "cluster %s",
		    c->clusters[i].id);
		(void)filecheck_key(r->fc, where(r, section, "key", w,
		    sizeof(w)), c->clusters[i].key, 0, NULL);
	}
}

static void
check_revoked(struct rcheck *r)
{
	char w[4200];

	if (r->c->revoked_keys == NULL)
		return;
	where(r, "relay", "revoked_keys", w, sizeof(w));
	(void)filecheck_revoked(r->fc, w, r->c->revoked_keys);
}

unsigned int
relay_check(const struct relay_conf *c, struct filecheck *fc)
{
	struct rcheck	r;
	char		w[4200];
	unsigned int	before = fc->problems;

	r.c = c;
	r.fc = fc;
	r.lines = inifile_lines_read(c->path);
	(void)filecheck_path(fc, NULL, c->path, FILECHECK_TRUSTED);
	check_keys(&r);
	check_revoked(&r);
	(void)filecheck_creatable(fc, where(&r, "relay", "run_dir", w,
	    sizeof(w)), c->run_dir, 1);
	/* A PostgreSQL URI was checked as relay.conf was read. */
	if (c->database != NULL && !store_uri_is_pg(c->database))
		(void)filecheck_creatable(fc, where(&r, "relay", "database", w,
		    sizeof(w)), c->database, 0);
	check_port(&r);
	inifile_lines_free(r.lines);
	return fc->problems - before;
}
