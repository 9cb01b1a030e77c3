/*
 * nodelay.c - which TCP sockets of running processes have TCP_NODELAY
 * set (benchmark only; tests/bench/bench.sh compiles it and runs it as
 * root while an interactive session is up).
 *
 *   nodelay PID...
 *
 * For every TCP socket a PID holds, prints one line
 *
 *	PID COMM LOCAL-PORT REMOTE-PORT STATE INODE nodelay=0|1
 *
 * A socket shared by several descriptors or processes (dup(2), fork(2))
 * is printed for each: INODE tells them apart.
 * The socket is borrowed with pidfd_getfd(2) (Linux 5.6; root) and asked
 * with getsockopt(2), so the answer is the socket's state as it is, not
 * what a program's source says it asks for.  Listening sockets are left
 * out.  Exit status 1 when a socket could not be asked.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TCP_LISTEN_STATE	10	/* /proc/net/tcp's "0A" */

/* One line of /proc/net/tcp{,6}: what a socket inode is connected to. */
struct tcpsock {
	unsigned long	inode;
	unsigned	lport, rport;
	unsigned	state;
};

struct tcptab {
	struct tcpsock	*v;
	size_t		 n, cap;
};

static int
tcptab_load(struct tcptab *tab, const char *path)
{
	struct tcpsock	 s, *nv;
	FILE		*fp;
	char		 line[512];

	if ((fp = fopen(path, "re")) == NULL)
		return errno == ENOENT ? 0 : -1;
	/* sl local:port remote:port st tx:rx tr:when retr uid timeout inode */
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%x %x "
		    "%*x:%*x %*x:%*x %*x %*u %*u %lu", &s.lport, &s.rport,
		    &s.state, &s.inode) != 4)
			continue;	/* the header */
		if (tab->n == tab->cap) {
			tab->cap = tab->cap == 0 ? 256 : tab->cap * 2;
			if ((nv = realloc(tab->v, tab->cap * sizeof(*nv))) ==
			    NULL) {
				fclose(fp);
				return -1;
			}
			tab->v = nv;
		}
		tab->v[tab->n++] = s;
	}
	fclose(fp);
	return 0;
}

static const struct tcpsock *
tcptab_find(const struct tcptab *tab, unsigned long inode)
{
	size_t i;

	for (i = 0; i < tab->n; i++)
		if (tab->v[i].inode == inode)
			return &tab->v[i];
	return NULL;
}

static void
comm_of(pid_t pid, char *buf, size_t len)
{
	char	 path[64];
	FILE	*fp;

	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	buf[0] = '\0';
	if ((fp = fopen(path, "re")) != NULL) {
		if (fgets(buf, (int)len, fp) != NULL)
			buf[strcspn(buf, "\n")] = '\0';
		fclose(fp);
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "?");
}

/* Print the process's TCP sockets; -1 if one could not be asked. */
static int
scan_pid(pid_t pid, const struct tcptab *tab)
{
	const struct tcpsock	*ts;
	struct dirent		*de;
	DIR			*d;
	char			 path[64], link[64], comm[32];
	unsigned long		 inode;
	socklen_t		 olen;
	ssize_t			 n;
	int			 pidfd, fd, on, rc = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	if ((d = opendir(path)) == NULL)
		return 0;	/* gone meanwhile */
	if ((pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1) {
		closedir(d);
		return 0;
	}
	comm_of(pid, comm, sizeof(comm));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((n = readlinkat(dirfd(d), de->d_name, link,
		    sizeof(link) - 1)) <= 0)
			continue;
		link[n] = '\0';
		if (sscanf(link, "socket:[%lu]", &inode) != 1 ||
		    (ts = tcptab_find(tab, inode)) == NULL ||
		    ts->state == TCP_LISTEN_STATE)
			continue;
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(de->d_name), 0);
		olen = sizeof(on);
		if (fd == -1 || getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
		    &olen) == -1) {
			fprintf(stderr, "nodelay: pid %ld fd %s: %s\n",
			    (long)pid, de->d_name, strerror(errno));
			rc = -1;
		} else
			printf("%ld %s %u %u %02X %lu nodelay=%d\n",
			    (long)pid, comm, ts->lport, ts->rport, ts->state,
			    inode, on != 0);
		if (fd != -1)
			close(fd);
	}
	close(pidfd);
	closedir(d);
	return rc;
}

int
main(int argc, char **argv)
{
	struct tcptab	tab = { 0 };
	int		i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: nodelay PID...\n");
		return 2;
	}
	if (tcptab_load(&tab, "/proc/net/tcp") == -1 ||
	    tcptab_load(&tab, "/proc/net/tcp6") == -1) {
		perror("nodelay: /proc/net/tcp");
		return 1;
	}
	for (i = 1; i < argc; i++)
		if (scan_pid((pid_t)atol(argv[i]), &tab) == -1)
			rc = 1;
	free(tab.v);
	return rc;
}
