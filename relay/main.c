/*
 * porthole-relay - the vendor side: clusters' tunnels come in, engineers'
 * jump sessions come in, and each engineer channel is routed to the
 * tunnel of the cluster it names.  With an operand it is instead a
 * report on what the store holds, and exits.
 *
 * usage: porthole-relay -f relay.conf [-d] [-v]
 *        porthole-relay -f relay.conf clusters
 *        porthole-relay -f relay.conf usage|events CLUSTER
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <libssh/libssh.h>

#include "lib/clock.h"
#include "lib/cmdline.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "relay/relay.h"
#include "relay/relay_conf.h"
#include "relay/store.h"
#include "telemetry/license.h"

#define REPORT_COLS	9
#define REPORT_CELL	128

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: porthole-relay -f FILE [-d] [-v]\n"
	    "       porthole-relay -f FILE clusters | usage CLUSTER | "
	    "events CLUSTER | anchors CLUSTER | known-hosts\n");
	exit(2);
}

/*
 * One line of the clusters report: relay.conf's license columns joined
 * with what the store knows (seen == 0: the cluster never connected).
 */
static void
cluster_row(const struct relay_cluster *rc,
    const struct store_cluster_info *ci, int seen, time_t now,
    char cell[REPORT_COLS][REPORT_CELL])
{
	snprintf(cell[0], REPORT_CELL, "%s", rc->id);
	snprintf(cell[1], REPORT_CELL, "%s", rc->trial ? "trial" : "full");
	if (rc->license_expires != 0)
		parse_format_time(rc->license_expires, cell[2], REPORT_CELL);
	else
		snprintf(cell[2], REPORT_CELL, "-");
	snprintf(cell[3], REPORT_CELL, "%s", seen && ci->connected ?
	    "yes" : "no");
	if (seen)
		parse_format_time(ci->last_contact, cell[4], REPORT_CELL);
	else
		snprintf(cell[4], REPORT_CELL, "never");
	if (!seen)
		snprintf(cell[5], REPORT_CELL, "-");
	else
		snprintf(cell[5], REPORT_CELL, "%lld", (long long)
		    (ci->connected ? 0 :
		    license_offline_days(ci->last_contact, now)));
	snprintf(cell[6], REPORT_CELL, "%s", seen && ci->version[0] != '\0' ?
	    ci->version : "-");
	snprintf(cell[7], REPORT_CELL, "%llu", seen ?
	    (unsigned long long)ci->records : 0ULL);
	snprintf(cell[8], REPORT_CELL, "%s", seen && ci->health[0] != '\0' ?
	    ci->health : "-");
}

static void
print_row(FILE *out, char cell[REPORT_COLS][REPORT_CELL],
    const size_t width[REPORT_COLS])
{
	size_t i;

	for (i = 0; i + 1 < REPORT_COLS; i++) {
		/* RECORDS is a count: right-aligned. */
		if (i == 7)
			fprintf(out, "%*s  ", (int)width[i], cell[i]);
		else
			fprintf(out, "%-*s  ", (int)width[i], cell[i]);
	}
	fprintf(out, "%s\n", cell[REPORT_COLS - 1]);
}

/*
 * Every cluster in relay.conf, seen or not.  The store is asked once per
 * cluster; the rows are formatted twice (widths, then output) rather
 * than kept, since relay.conf may list very many clusters.
 */
static int
report_clusters(const struct relay_conf *conf, struct store *st, FILE *out)
{
	static const char *const head[REPORT_COLS] = { "CLUSTER", "LICENSE",
	    "EXPIRES", "CONNECTED", "LAST-CONTACT", "OFFLINE-DAYS", "VERSION",
	    "RECORDS", "HEALTH" };
	struct store_cluster_info	*info = NULL;
	char				*seen = NULL;
	char				 cell[REPORT_COLS][REPORT_CELL];
	size_t				 width[REPORT_COLS], i, c;
	time_t				 now = clock_now();
	int				 rc = -1, r;

	if (conf->nclusters > 0 &&
	    ((info = calloc(conf->nclusters, sizeof(*info))) == NULL ||
	    (seen = calloc(conf->nclusters, 1)) == NULL)) {
		fprintf(stderr, "porthole-relay: out of memory\n");
		goto out;
	}
	for (c = 0; c < REPORT_COLS; c++) {
		snprintf(cell[c], REPORT_CELL, "%s", head[c]);
		width[c] = strlen(head[c]);
	}
	for (i = 0; i < conf->nclusters; i++) {
		if ((r = store_cluster_info(st, conf->clusters[i].id,
		    &info[i])) == -1)
			goto out;
		seen[i] = r == 1;
		cluster_row(&conf->clusters[i], &info[i], seen[i], now, cell);
		for (c = 0; c < REPORT_COLS; c++)
			if (strlen(cell[c]) > width[c])
				width[c] = strlen(cell[c]);
	}
	for (c = 0; c < REPORT_COLS; c++)
		snprintf(cell[c], REPORT_CELL, "%s", head[c]);
	print_row(out, cell, width);
	for (i = 0; i < conf->nclusters; i++) {
		cluster_row(&conf->clusters[i], &info[i], seen[i], now, cell);
		print_row(out, cell, width);
	}
	rc = 0;
out:
	free(info);
	free(seen);
	return rc;
}

/*
 * known_hosts lines for engineers: each cluster's session host key as
 * its gateway reported it.  The relay is not trusted with sessions, so
 * the lines say where they come from; compare them with the customer.
 */
static int
report_known_hosts(const struct relay_conf *conf, struct store *st,
    FILE *out)
{
	struct store_cluster_info	ci;
	size_t				i;

	fprintf(out, "# session host keys reported by the clusters' "
	    "gateways to this relay;\n# confirm them with each customer "
	    "before trusting them\n");
	for (i = 0; i < conf->nclusters; i++) {
		if (store_cluster_info(st, conf->clusters[i].id, &ci) == -1)
			return -1;
		if (ci.host_key[0] != '\0')
			fprintf(out, "%s %s\n", conf->clusters[i].id,
			    ci.host_key);
	}
	return 0;
}

/*
 * `porthole-relay -f FILE clusters | usage C | events C | anchors C |
 * known-hosts`: read the store and print.  Exit 0, 1 on an error, 2 on
 * a usage error.
 */
static int
report(const char *path, int argc, char **argv)
{
	struct relay_conf	*conf = NULL;
	struct store		*st = NULL;
	const char		*cmd = argv[0];
	char			 err[1024];
	int			 nargs, rc = 1, r;

	if (strcmp(cmd, "clusters") == 0 || strcmp(cmd, "known-hosts") == 0)
		nargs = 1;
	else if (strcmp(cmd, "usage") == 0 || strcmp(cmd, "events") == 0 ||
	    strcmp(cmd, "anchors") == 0)
		nargs = 2;
	else
		usage();
	if (argc != nargs)
		usage();
	log_init("porthole-relay", 1, LOG_LVL_INFO);
	if (relay_conf_load(path, &conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "porthole-relay: %s\n", err);
		goto out;
	}
	if (nargs == 2 && relay_conf_cluster(conf, argv[1], NULL) == NULL) {
		fprintf(stderr, "porthole-relay: no cluster '%s' in "
		    "relay.conf\n", argv[1]);
		goto out;
	}
	if (conf->database == NULL) {
		fprintf(stderr, "porthole-relay: %s: no database in [relay]\n",
		    path);
		goto out;
	}
	/*
	 * A report must not create the database: made here, perhaps as
	 * root, it could be one the relay's own user cannot open.
	 */
	if (access(conf->database, F_OK) == -1) {
		fprintf(stderr, "porthole-relay: %s: %s (the relay has not "
		    "created it yet)\n", conf->database, strerror(errno));
		goto out;
	}
	if (store_open(conf->database, &st, err, sizeof(err)) == -1) {
		fprintf(stderr, "porthole-relay: %s\n", err);
		goto out;
	}
	if (strcmp(cmd, "clusters") == 0)
		r = report_clusters(conf, st, stdout);
	else if (strcmp(cmd, "known-hosts") == 0)
		r = report_known_hosts(conf, st, stdout);
	else if (strcmp(cmd, "usage") == 0)
		r = store_print_usage(st, argv[1], stdout);
	else if (strcmp(cmd, "events") == 0)
		r = store_print_events(st, argv[1], stdout);
	else
		r = store_print_anchors(st, argv[1], stdout);
	if (r == 0 && fflush(stdout) == EOF) {
		fprintf(stderr, "porthole-relay: standard output: %s\n",
		    strerror(errno));
		r = -1;
	}
	if (r == 0)
		rc = 0;
out:
	store_close(st);
	relay_conf_free(conf);
	return rc;
}

/* SIGHUP: read relay.conf again; relay_reload() logs what it did. */
static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)relay_reload(arg);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;

	(void)what;
	log_info("signal %d: shutting down", (int)sig);
	event_base_loopexit(base, NULL);
}

int
main(int argc, char **argv)
{
	struct relay_conf	*conf = NULL;
	struct event_base	*base;
	struct event		*ev_term, *ev_int, *ev_hup;
	struct relay		*r;
	const char		*path = NULL;
	char			 err[1024];
	int			 ch, foreground;

	/*
	 * cmdline_daemon() takes no operands, so look for a report command
	 * first: "+" stops at the first operand, so that a cluster id that
	 * starts with '-' is not read as an option.
	 */
	while ((ch = getopt(argc, argv, "+df:v")) != -1) {
		switch (ch) {
		case 'd':
		case 'v':
			break;
		case 'f':
			path = optarg;
			break;
		default:
			usage();
		}
	}
	if (path == NULL)
		usage();
	if (optind < argc)
		return report(path, argc - optind, argv + optind);
	optind = 1;
	path = cmdline_daemon(argc, argv, "porthole-relay", &foreground);
	if (relay_conf_load(path, &conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "porthole-relay: %s\n", err);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (ssh_init() != SSH_OK)
		fatal("libssh initialisation failed");
	if ((base = event_base_new()) == NULL)
		fatal("cannot create the event loop");
	/* conf is the relay's from here, also when relay_new() fails. */
	if ((r = relay_new(base, conf)) == NULL) {
		event_base_free(base);
		ssh_finalize();
		return 1;
	}
	if (!foreground) {
		if (daemon(0, 0) == -1)
			fatal("daemon: cannot detach");
		if (event_reinit(base) == -1)
			fatal("cannot re-initialise the event loop");
	}
	ev_term = evsignal_new(base, SIGTERM, on_signal, base);
	ev_int = evsignal_new(base, SIGINT, on_signal, base);
	ev_hup = evsignal_new(base, SIGHUP, on_hup, r);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_add(ev_hup, NULL);
	event_base_dispatch(base);
	relay_free(r);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_base_free(base);
	ssh_finalize();
	return 0;
}
