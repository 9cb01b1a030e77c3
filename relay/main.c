/*
 * porthole-relay - the vendor side: clusters' tunnels come in, engineers'
 * jump sessions come in, and each engineer channel is routed to the
 * tunnel of the cluster it names.  With an operand it is instead a
 * report on what the store holds, and exits.
 *
 * usage: porthole-relay -f relay.conf [-d] [-t] [-v]
 *        porthole-relay -f relay.conf REPORT [CLUSTER] [--json]
 *        porthole-relay -f relay.conf update publish NOTICE SIG PACKAGE
 *        porthole-relay -f relay.conf cluster add|remove ID ...
 *        porthole-relay -f relay.conf bundle request|get|remove ... | bundles
 * (the reports: relay/report.h; publishing: relay/update_cmd.h; the
 * cluster registry: relay/cluster_cmd.h; bundles: relay/bundle_cmd.h)
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
#include "lib/daemon.h"
#include "lib/filecheck.h"
#include "lib/log.h"
#include "relay/bundle_cmd.h"
#include "relay/cluster_cmd.h"
#include "relay/relay.h"
#include "relay/relay_conf.h"
#include "relay/report.h"
#include "relay/update_cmd.h"

#define RELAY_USAGE \
	"usage: porthole-relay -f FILE [-d] [-t] [-v]\n" \
	"       " REPORT_SYNOPSIS \
	"       " UPDATE_SYNOPSIS \
	"       " CLUSTER_SYNOPSIS \
	"       " BUNDLE_SYNOPSIS \
	"       porthole-relay --help | --version\n"

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

/*
 * Serve: detach unless foreground, take the instance lock, open the
 * store and listen (in the process that will keep them), then say it
 * is ready.  conf is freed here (the relay owns it once it runs, and
 * replaces it at each reload).  0 after a clean stop, 1 if it could
 * not start.
 */
static int
relay_run(struct relay_conf *conf, int foreground)
{
	struct event_base	*base = NULL;
	struct event		*ev_term = NULL, *ev_int = NULL, *ev_hup = NULL;
	struct relay		*r = NULL;
	char			 err[1024];
	int			 rc = 1;

	signal(SIGPIPE, SIG_IGN);
	if (!foreground && daemon_detach(err, sizeof(err)) == -1) {
		log_error("%s", err);
		relay_conf_free(conf);
		return 1;
	}
	if (daemon_lock(conf->run_dir, RELAY_PID_FILE, err, sizeof(err)) ==
	    -1) {
		log_error("%s", err);
		relay_conf_free(conf);
		return 1;
	}
	if (ssh_init() != SSH_OK)
		fatal("libssh initialisation failed");
	if ((base = event_base_new()) == NULL)
		fatal("cannot create the event loop");
	/* conf is the relay's from here, also when relay_new() fails. */
	if ((r = relay_new(base, conf)) == NULL)
		goto out;
	ev_term = evsignal_new(base, SIGTERM, on_signal, base);
	ev_int = evsignal_new(base, SIGINT, on_signal, base);
	ev_hup = evsignal_new(base, SIGHUP, on_hup, r);
	if (ev_term == NULL || ev_int == NULL || ev_hup == NULL ||
	    event_add(ev_term, NULL) == -1 || event_add(ev_int, NULL) == -1 ||
	    event_add(ev_hup, NULL) == -1) {
		log_error("cannot watch for signals");
		goto out;
	}
	daemon_ready();
	event_base_dispatch(base);
	(void)daemon_notify("STOPPING=1");
	rc = 0;
out:
	relay_free(r);
	if (ev_term != NULL)
		event_free(ev_term);
	if (ev_int != NULL)
		event_free(ev_int);
	if (ev_hup != NULL)
		event_free(ev_hup);
	if (base != NULL)
		event_base_free(base);
	ssh_finalize();
	daemon_unlock();
	return rc;
}

int
main(int argc, char **argv)
{
	struct cmdline		 cl;
	struct filecheck	 fc;
	struct relay_conf	*conf = NULL;
	char			 err[1024];
	int			 rc;

	cmdline_daemon(argc, argv, "porthole-relay", RELAY_USAGE, 1, &cl);
	if (cl.optind < argc && strcmp(argv[cl.optind], "update") == 0)
		return update_main(cl.path, argc - cl.optind,
		    argv + cl.optind);
	if (cl.optind < argc && strcmp(argv[cl.optind], "cluster") == 0)
		return cluster_main(cl.path, argc - cl.optind,
		    argv + cl.optind);
	if (cl.optind < argc && (strcmp(argv[cl.optind], "bundle") == 0 ||
	    strcmp(argv[cl.optind], "bundles") == 0))
		return bundle_main(cl.path, argc - cl.optind,
		    argv + cl.optind);
	if (cl.optind < argc)
		return report_main(cl.path, argc - cl.optind,
		    argv + cl.optind);
	daemon_init("porthole-relay");
	if (relay_conf_load(cl.path, &conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "porthole-relay: %s\n", err);
		return 1;
	}
	/* Every problem is listed before the verdict: one fix per try. */
	filecheck_init(&fc, stderr);
	if (relay_check(conf, &fc) > 0 || cl.test) {
		rc = fc.problems > 0;
		relay_conf_free(conf);
		return rc;
	}
	return relay_run(conf, cl.foreground);
}
