/*
 * bundle_cmd.c - porthole-relay bundle request, bundles and bundle get
 * (bundle_cmd.h).
 */
#include "relay/bundle_cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/clock.h"
#include "lib/ident.h"
#include "lib/log.h"
#include "relay/relay_conf.h"
#include "relay/store.h"

#define TICKET_MAX	64	/* as the gateway takes it */

static int
usage(FILE *f, int code)
{
	fprintf(f, "usage: %s", BUNDLE_SYNOPSIS);
	return code;
}

/*
 * The store of conf, which must exist already (the relay made it), to
 * write (rw) or only to read.  NULL after saying why.
 */
static struct store *
open_store(const struct relay_conf *conf, const char *path, int rw)
{
	struct store	*st = NULL;
	char		 err[1024];

	if (conf->database == NULL) {
		fprintf(stderr, "porthole-relay: %s: no database in [relay]\n",
		    path);
		return NULL;
	}
	if (access(conf->database, F_OK) == -1) {
		fprintf(stderr, "porthole-relay: %s: %s (the relay has not "
		    "created it yet)\n", conf->database, strerror(errno));
		return NULL;
	}
	if ((rw ? store_open(conf->database, &st, err, sizeof(err)) :
	    store_open_readonly(conf->database, &st, err, sizeof(err))) == -1) {
		fprintf(stderr, "porthole-relay: %s\n", err);
		return NULL;
	}
	return st;
}

/* Who runs this command, as the gateway will show it. */
static void
operator_name(char *buf, size_t len)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw != NULL && ident_valid(pw->pw_name, 32, IDENT_NAME))
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %lu", (unsigned long)getuid());
}

static int
cmd_request(const struct relay_conf *conf, const char *path,
    const char *cluster, const char *ticket)
{
	struct store_cluster_info	 ci;
	struct store			*st;
	json_t				*j;
	char				 who[64], why[512], *body;
	int64_t				 id;
	int				 rc = 1, known;

	if (!ident_valid(ticket, TICKET_MAX, IDENT_NAME)) {
		fprintf(stderr, "porthole-relay: --ticket: 1-%d of %s\n",
		    TICKET_MAX, ident_alphabet(IDENT_NAME));
		return 1;
	}
	if ((st = open_store(conf, path, 1)) == NULL)
		return 1;
	known = relay_conf_cluster(conf, cluster, NULL) != NULL ||
	    store_cluster_info(st, cluster, &ci) == 1;
	if (!known) {
		fprintf(stderr, "porthole-relay: no cluster '%s' in %s or in "
		    "the store\n", cluster, path);
		goto out;
	}
	operator_name(who, sizeof(who));
	j = json_pack("{s:s, s:s}", "ticket", ticket, "requested_by", who);
	body = j == NULL ? NULL : json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (body == NULL || store_message_add(st, cluster, "bundle_request",
	    body, NULL, clock_now(), &id, why, sizeof(why)) == -1) {
		fprintf(stderr, "porthole-relay: %s\n", body == NULL ?
		    "out of memory" : why);
		free(body);
		goto out;
	}
	free(body);
	printf("bundle requested from %s for ticket %s (message %" PRId64
	    "); the cluster's gateway builds it when its tunnel is up, its "
	    "customer may have to approve it; porthole-relay bundles %s "
	    "shows it once it arrives\n", cluster, ticket, id, cluster);
	rc = 0;
out:
	store_close(st);
	return rc;
}

int
bundle_main(const char *path, int argc, char **argv)
{
	struct relay_conf	*conf = NULL;
	char			 err[1024];
	int			 rc = 1;

	if (argc >= 2 && strcmp(argv[argc - 1], "--help") == 0)
		return usage(stdout, 0);
	log_init("porthole-relay", 1, LOG_LVL_INFO);
	if (strcmp(argv[0], "bundle") == 0 && argc == 5 &&
	    strcmp(argv[1], "request") == 0 &&
	    strcmp(argv[3], "--ticket") == 0) {
		if (relay_conf_load(path, &conf, err, sizeof(err)) == -1) {
			fprintf(stderr, "porthole-relay: %s\n", err);
			return 1;
		}
		rc = cmd_request(conf, path, argv[2], argv[4]);
	} else
		return usage(stderr, 2);
	relay_conf_free(conf);
	if (rc == 0 && fflush(stdout) == EOF) {
		fprintf(stderr, "porthole-relay: standard output: %s\n",
		    strerror(errno));
		rc = 1;
	}
	return rc;
}
