/*
 * intakegen.c - a fast telemetry producer (benchmark only;
 * tests/bench/bench.sh compiles it).
 *
 *   intakegen SOCKET N CONNS [WINDOW [FIRST [HEALTH_EVERY]]]
 *
 * Hands N usage records to the gateway's intake socket over CONNS
 * connections at once, each keeping up to WINDOW records (default 256)
 * sent but not yet answered, and counts the answers: the gateway
 * answers a record only once it is durable (its group commit), so the
 * rate printed is the durable intake rate.
 *
 * Record i (counting from FIRST, default 0) is the usage of environment
 * "bench-" (i mod 1000) for the hour i / 1000 hours after
 * 2026-01-01T00:00:00Z, so no two records of a run, nor of runs whose
 * ranges do not overlap, describe the same hour and environment.
 *
 * With HEALTH_EVERY K (default 0: none), every Kth record is instead a
 * product's health record of three nodes with two disks each and two
 * services, stamped i seconds after 2026-01-01T00:00:00Z, whose values
 * drift so that the relay's default [alerts] rules raise and clear
 * alerts now and then: a disk climbs from 70% to 99% used over 5,000
 * records, memory falls below 10% available, a service is down for
 * 3,000 records out of 12,000.
 *
 * Prints one line:
 *	records N ok K refused R seconds S rate R/s
 * and the first refusal's reason on stderr.  Exit status 0 only when
 * every record was answered ok with a sequence number.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ENVS		1000		/* environments per hour */
#define HOUR0		1767225600L	/* 2026-01-01T00:00:00Z */
#define CONNS_MAX	256
#define WINDOW_MAX	1024		/* the gateway's per-producer limit */
#define OUT_CHUNK	(64 * 1024)	/* records formatted at a time */
#define IN_MAX		(64 * 1024)	/* reply bytes kept for a line */

/* One producer connection. */
struct prod {
	int	 fd;
	long	 unanswered;		/* sent, no reply yet */
	char	 out[OUT_CHUNK + 2048];	/* formatted, not yet written */
	size_t	 outlen, outoff;
	char	 in[IN_MAX];		/* reply bytes up to a newline */
	size_t	 inlen;
};

/* The whole run. */
struct run {
	long	 n;			/* records to send */
	long	 next;			/* the next record to format */
	long	 first;
	long	 health_every;		/* 0: usage only */
	long	 ok, refused, answered;
	int	 window;
	char	 reason[256];		/* the first refusal */
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
prod_connect(const char *path)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "intakegen: %s: path too long\n", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
		fprintf(stderr, "intakegen: %s: %s\n", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/* Health record i, as a product with three nodes might send it. */
static int
health_record(char *out, size_t len, long i)
{
	struct tm	tm;
	time_t		ts = HOUR0 + (time_t)i;
	long		full = 70 + (i / 5000) % 30, avail = 5 + (i / 4000) % 40;
	int		down = (i / 3000) % 4 == 0;

	gmtime_r(&ts, &tm);
	return snprintf(out, len, "{\"class\":\"health\",\"ts\":"
	    "\"%04d-%02d-%02dT%02d:%02d:%02dZ\",\"nodes\":["
	    "{\"name\":\"n1\",\"cores\":8,\"load1\":%ld.25,\"load5\":1.5,"
	    "\"load15\":1.2,\"mem_total\":34359738368,\"mem_available\":"
	    "%ld,\"uptime_s\":%ld,\"disks\":[{\"path\":\"/\",\"size\":"
	    "100000000000,\"used\":%ld000000000,\"free\":%ld000000000},"
	    "{\"path\":\"/var/opt/product\",\"size\":500000000000,\"used\":"
	    "100000000000,\"free\":400000000000}]},"
	    "{\"name\":\"n2\",\"cores\":8,\"load1\":0.5,\"mem_total\":"
	    "34359738368,\"mem_available\":17179869184,\"disks\":[{\"path\":"
	    "\"/\",\"size\":100000000000,\"used\":50000000000,\"free\":"
	    "50000000000}]},{\"name\":\"n3\",\"cores\":4,\"load1\":0.1}],"
	    "\"services\":[{\"name\":\"server\",\"address\":"
	    "\"10.0.0.1:8021\",\"state\":\"up\",\"latency_ms\":1},"
	    "{\"name\":\"activegate\",\"address\":\"10.0.0.2:9999\","
	    "\"state\":\"%s\"}]}\n", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, i % 16,
	    avail * 343597383L, 86400 + i, full, 100 - full,
	    down ? "down" : "up");
}

/* Format records into p's buffer while its window and the run allow. */
static void
prod_fill(struct prod *p, struct run *r)
{
	struct tm	tm;
	time_t		hour;
	long		i;
	int		len;

	if (p->outoff == p->outlen)
		p->outoff = p->outlen = 0;
	while (r->next < r->n && p->unanswered < r->window &&
	    p->outlen < OUT_CHUNK) {
		i = r->first + r->next;
		if (r->health_every > 0 && i % r->health_every ==
		    r->health_every - 1) {
			p->outlen += (size_t)health_record(p->out + p->outlen,
			    sizeof(p->out) - p->outlen, i);
			p->unanswered++;
			r->next++;
			continue;
		}
		hour = HOUR0 + (time_t)(i / ENVS) * 3600;
		gmtime_r(&hour, &tm);
		len = snprintf(p->out + p->outlen, sizeof(p->out) - p->outlen,
		    "{\"class\":\"usage\",\"hour\":\"%04d-%02d-%02dT%02d:00:00Z\","
		    "\"environment\":\"bench-%03ld\",\"units\":{\"host_units\":"
		    "%ld.5,\"dem_units\":%ld}}\n", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, i % ENVS, i % 7,
		    i % 100);
		p->outlen += (size_t)len;
		p->unanswered++;
		r->next++;
	}
}

static int
prod_write(struct prod *p)
{
	ssize_t n;

	while (p->outoff < p->outlen) {
		n = write(p->fd, p->out + p->outoff, p->outlen - p->outoff);
		if (n == -1)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		p->outoff += (size_t)n;
	}
	return 0;
}

static void
reply(struct run *r, const char *line)
{
	r->answered++;
	if (strstr(line, "\"ok\":true") != NULL &&
	    strstr(line, "\"seq\":") != NULL) {
		r->ok++;
		return;
	}
	if (r->refused++ == 0)
		snprintf(r->reason, sizeof(r->reason), "%s", line);
}

static int
prod_read(struct prod *p, struct run *r)
{
	char	*nl, *line;
	ssize_t	 n;

	for (;;) {
		n = read(p->fd, p->in + p->inlen, sizeof(p->in) - 1 - p->inlen);
		if (n == -1)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (n == 0)
			return p->unanswered > 0 ? -1 : 0;
		p->inlen += (size_t)n;
		p->in[p->inlen] = '\0';
		line = p->in;
		while ((nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			reply(r, line);
			p->unanswered--;
			line = nl + 1;
		}
		p->inlen -= (size_t)(line - p->in);
		memmove(p->in, line, p->inlen);
		if (p->inlen == sizeof(p->in) - 1)
			return -1;	/* a reply longer than any should be */
	}
}

int
main(int argc, char **argv)
{
	struct pollfd	 pfd[CONNS_MAX];
	struct prod	*p;
	struct run	 r = { 0 };
	double		 t0, t1;
	int		 conns, i, rc;

	if (argc < 4 || argc > 7) {
		fprintf(stderr, "usage: intakegen SOCKET N CONNS [WINDOW "
		    "[FIRST [HEALTH_EVERY]]]\n");
		return 2;
	}
	r.n = atol(argv[2]);
	conns = atoi(argv[3]);
	r.window = argc > 4 ? atoi(argv[4]) : 256;
	r.first = argc > 5 ? atol(argv[5]) : 0;
	r.health_every = argc > 6 ? atol(argv[6]) : 0;
	if (r.n < 1 || conns < 1 || conns > CONNS_MAX || r.window < 1 ||
	    r.window > WINDOW_MAX || r.first < 0 || r.health_every < 0) {
		fprintf(stderr, "intakegen: N >= 1, CONNS 1-%d, WINDOW 1-%d, "
		    "FIRST >= 0\n", CONNS_MAX, WINDOW_MAX);
		return 2;
	}
	if ((p = calloc((size_t)conns, sizeof(*p))) == NULL)
		return 1;
	for (i = 0; i < conns; i++)
		if ((p[i].fd = prod_connect(argv[1])) == -1)
			return 1;

	t0 = now_s();
	while (r.answered < r.n) {
		for (i = 0; i < conns; i++) {
			prod_fill(&p[i], &r);
			if (prod_write(&p[i]) == -1) {
				fprintf(stderr, "intakegen: write: %s\n",
				    strerror(errno));
				return 1;
			}
			pfd[i].fd = p[i].fd;
			pfd[i].events = POLLIN |
			    (p[i].outoff < p[i].outlen ? POLLOUT : 0);
		}
		if ((rc = poll(pfd, (nfds_t)conns, 30000)) == -1 &&
		    errno != EINTR)
			return 1;
		if (rc == 0) {
			fprintf(stderr, "intakegen: no reply for 30 s (%ld of "
			    "%ld answered)\n", r.answered, r.n);
			return 1;
		}
		for (i = 0; i < conns; i++) {
			if ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    prod_read(&p[i], &r) == -1) {
				fprintf(stderr, "intakegen: the gateway closed "
				    "a connection (%ld of %ld answered)\n",
				    r.answered, r.n);
				return 1;
			}
		}
	}
	t1 = now_s();
	printf("records %ld ok %ld refused %ld seconds %.3f rate %.0f/s\n",
	    r.n, r.ok, r.refused, t1 - t0, (double)r.ok / (t1 - t0));
	if (r.refused > 0)
		fprintf(stderr, "intakegen: first refusal: %s\n", r.reason);
	for (i = 0; i < conns; i++)
		close(p[i].fd);
	free(p);
	return r.ok == r.n ? 0 : 1;
}
