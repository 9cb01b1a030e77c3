/*
 * relay_check.c - what porthole-relay checks of a loaded relay.conf
 * before it starts, and all that `porthole-relay -t` does: the files it
 * names are keys of the right kind and safe from other users (the
 * rules of lib/filecheck.c), the directories it writes to can be made,
 * and the port it will listen on is free.
 */
#include <sys/socket.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/daemon.h"
#include "lib/filecheck.h"
#include "lib/inifile.h"
#include "relay/relay_conf.h"

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

/*
 * Bind the listen address as the relay will (SO_REUSEADDR, so a port
 * left in TIME_WAIT passes) and let it go.  Linux refuses the bind
 * while any socket listens there, which is the question.
 */
static void
check_port(struct rcheck *r)
{
	const struct relay_conf	*c = r->c;
	struct addrinfo		 hints, *res = NULL;
	char			 port[8], w[4200];
	int			 fd = -1, on = 1, e;

	/* The relay of this run_dir holds the port; a restart frees it. */
	if (daemon_lock_holder(c->run_dir, RELAY_PID_FILE) != 0)
		return;
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
			filecheck_report(r->fc, "%s: %s:%s is in use by another "
			    "program (ss -ltnp 'sport = :%s' shows which)", w,
			    c->listen_host, port, port);
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
	if (c->database != NULL)
		(void)filecheck_creatable(fc, where(&r, "relay", "database", w,
		    sizeof(w)), c->database, 0);
	check_port(&r);
	inifile_lines_free(r.lines);
	return fc->problems - before;
}
