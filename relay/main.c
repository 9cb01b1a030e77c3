/*
 * porthole-relay - the vendor side: clusters' tunnels come in, engineers'
 * jump sessions come in, and each engineer channel is routed to the
 * tunnel of the cluster it names.  With an operand it is instead a
 * report on what the store holds, and exits.
 *
 * usage: porthole-relay -f relay.conf [-d] [-v]
 *        porthole-relay -f relay.conf REPORT [CLUSTER] [--json]
 * (the reports: relay/report.h)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <libssh/libssh.h>

#include "lib/cmdline.h"
#include "lib/log.h"
#include "relay/relay.h"
#include "relay/relay_conf.h"
#include "relay/report.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: porthole-relay -f FILE [-d] [-v]\n");
	report_synopsis(stderr, "       ");
	exit(2);
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
		return report_main(path, argc - optind, argv + optind);
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
