/*
 * bundle_cmd.c - porthole-relay bundle request, bundles, bundle get and
 * bundle remove (bundle_cmd.h).
 */
#include "relay/bundle_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/clock.h"
#include "lib/escape.h"
#include "lib/fileio.h"
#include "lib/ident.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/sha256.h"
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
	if (store_open_with(conf->database, rw ? STORE_EXISTING :
	    STORE_READONLY | STORE_EXISTING, &st, err, sizeof(err)) == -1) {
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

/* The registry knows the cluster: nothing more is asked of its entry. */
static int
registered(const struct store_registry *r, void *arg)
{
	(void)r;
	(void)arg;
	return 0;
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
	    store_registry_get(st, cluster, registered, NULL) == 1 ||
	    store_cluster_info(st, cluster, &ci) == 1;
	if (!known) {
		fprintf(stderr, "porthole-relay: no cluster '%s' in %s, the "
		    "cluster registry or the store\n", cluster, path);
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

/* One bundle as --json gives it. */
static json_t *
bundle_json(const struct store_bundle *b)
{
	char	 started[32], done[32] = "", created[32];
	json_t	*summary;

	parse_format_time(b->started, started, sizeof(started));
	parse_format_time(b->created, created, sizeof(created));
	if (b->completed != 0)
		parse_format_time(b->completed, done, sizeof(done));
	if ((summary = json_loads(b->summary, 0, NULL)) == NULL)
		summary = json_object();
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:b, s:s, s:s, s:s, "
	    "s:I, s:o, s:s, s:s, s:s?}", "id", b->id, "cluster", b->cluster,
	    "sha256", b->sha256, "size", (json_int_t)b->size, "received",
	    (json_int_t)b->received, "complete", b->completed != 0,
	    "source", b->source, "requested_by", b->requested_by, "ticket",
	    b->ticket, "message_id", (json_int_t)b->message_id, "summary",
	    summary, "created", created, "started", started, "completed",
	    b->completed != 0 ? done : NULL);
}

static int
list_json(const struct store_bundle *b, void *arg)
{
	json_t *j;

	if ((j = bundle_json(b)) == NULL ||
	    json_array_append_new(arg, j) == -1) {
		fprintf(stderr, "porthole-relay: out of memory\n");
		return -1;
	}
	return 0;
}

/* A row of the table: what a gateway sent is shown escaped. */
static int
list_text(const struct store_bundle *b, void *arg)
{
	json_t	*s = json_loads(b->summary, 0, NULL);
	char	 when[32];

	(void)arg;
	parse_format_time(b->started, when, sizeof(when));
	printf("%-16s  %-16.16s  %-20s  ", b->id, b->cluster, when);
	if (b->completed != 0)
		printf("complete, %" PRIu64 " bytes\n", b->size);
	else
		printf("arriving, %" PRIu64 " of %" PRIu64 " bytes\n",
		    b->received, b->size);
	printf("                  requested by ");
	(void)escape_fputs(b->requested_by, stdout);
	if (b->ticket[0] != '\0') {
		printf(", ticket ");
		(void)escape_fputs(b->ticket, stdout);
	}
	printf(" (%s)\n                  %lld files, %lld left out, %lld "
	    "redactions, SHA-256 %s\n", b->source,
	    (long long)json_integer_value(json_object_get(s, "files")),
	    (long long)json_integer_value(json_object_get(s, "left_out")),
	    (long long)json_integer_value(json_object_get(s, "redactions")),
	    b->sha256);
	json_decref(s);
	return 0;
}

static int
cmd_list(const struct relay_conf *conf, const char *path,
    const char *cluster, int as_json)
{
	struct store	*st;
	json_t		*list = NULL;
	char		*text;
	int		 rc = 1;

	if ((st = open_store(conf, path, 0)) == NULL)
		return 1;
	if (as_json) {
		if ((list = json_array()) == NULL ||
		    store_bundle_rows(st, cluster, NULL, list_json, list) == -1)
			goto out;
		if ((text = json_dumps(list, JSON_COMPACT)) == NULL)
			goto out;
		printf("%s\n", text);
		free(text);
	} else {
		printf("%-16s  %-16s  %-20s  %s\n", "ID", "CLUSTER", "STARTED",
		    "STATE");
		if (store_bundle_rows(st, cluster, NULL, list_text, NULL) == -1)
			goto out;
	}
	rc = 0;
out:
	json_decref(list);
	store_close(st);
	return rc;
}

/* The one bundle asked for, copied out of the row. */
struct found {
	int		 n;
	char		 sha256[SHA256_HEX_LEN + 1];
	char		 cluster[65];
	uint64_t	 size;
	int		 complete;
};

static int
find_one(const struct store_bundle *b, void *arg)
{
	struct found *f = arg;

	f->n++;
	snprintf(f->sha256, sizeof(f->sha256), "%s", b->sha256);
	snprintf(f->cluster, sizeof(f->cluster), "%s", b->cluster);
	f->size = b->size;
	f->complete = b->completed != 0;
	return 0;
}

/*
 * Write bundle id to out, chunk by chunk, hashing it on the way: 0, or
 * -1 after saying why.
 */
static int
copy_out(struct store *st, const char *id, const struct found *f, int out,
    const char *name)
{
	struct sha256	*h;
	unsigned char	*buf;
	char		 hex[SHA256_HEX_LEN + 1];
	uint64_t	 at = 0;
	size_t		 n;
	int		 rc = -1;

	if ((buf = malloc(STORE_CHUNK)) == NULL || (h = sha256_new()) == NULL) {
		free(buf);
		fprintf(stderr, "porthole-relay: out of memory\n");
		return -1;
	}
	while (at < f->size) {
		if (store_bundle_read(st, id, at, buf, STORE_CHUNK, &n) == -1 ||
		    n == 0) {
			fprintf(stderr, "porthole-relay: bundle %s: the store "
			    "holds %" PRIu64 " of its %" PRIu64 " bytes\n", id,
			    at, f->size);
			goto out;
		}
		sha256_update(h, buf, n);
		if (fileio_write_all(out, buf, n) == -1) {
			fprintf(stderr, "porthole-relay: %s: %s\n", name,
			    strerror(errno));
			goto out;
		}
		at += n;
	}
	sha256_final(h, hex);
	h = NULL;
	if (strcmp(hex, f->sha256) != 0) {
		fprintf(stderr, "porthole-relay: bundle %s: SHA-256 %s, not the "
		    "%s its gateway announced\n", id, hex, f->sha256);
		goto out;
	}
	rc = 0;
out:
	sha256_free(h);
	free(buf);
	return rc;
}

static int
cmd_get(const struct relay_conf *conf, const char *path, const char *id,
    const char *file)
{
	struct store	*st;
	struct found	 f;
	int		 out = -1, rc = 1, tostdout = strcmp(file, "-") == 0;

	if (strlen(id) != STORE_BUNDLE_ID_LEN ||
	    !ident_valid(id, STORE_BUNDLE_ID_LEN, IDENT_HEX)) {
		fprintf(stderr, "porthole-relay: not a bundle id: %d hex "
		    "digits\n", STORE_BUNDLE_ID_LEN);
		return 1;
	}
	if ((st = open_store(conf, path, 0)) == NULL)
		return 1;
	memset(&f, 0, sizeof(f));
	if (store_bundle_rows(st, NULL, id, find_one, &f) == -1)
		goto out;
	if (f.n == 0 || !f.complete) {
		fprintf(stderr, "porthole-relay: bundle %s %s\n", id, f.n == 0 ?
		    "is not in the store" : "has not arrived whole yet");
		goto out;
	}
	if (tostdout)
		out = 1;
	else if ((out = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOCTTY, 0600)) == -1) {
		fprintf(stderr, "porthole-relay: %s: %s\n", file,
		    strerror(errno));
		goto out;
	}
	if (copy_out(st, id, &f, out, tostdout ? "standard output" :
	    file) == -1) {
		if (!tostdout)
			(void)unlink(file);
		goto out;
	}
	if (!tostdout && fsync(out) == -1) {
		fprintf(stderr, "porthole-relay: %s: %s\n", file,
		    strerror(errno));
		goto out;
	}
	if (!tostdout)
		fprintf(stderr, "bundle %s of %s: %" PRIu64 " bytes, SHA-256 %s, "
		    "written to %s\n", id, f.cluster, f.size, f.sha256, file);
	rc = 0;
out:
	if (out > 1)
		close(out);
	store_close(st);
	return rc;
}

/* porthole-relay bundle remove ID: its rows and chunks, for room. */
static int
cmd_remove(const struct relay_conf *conf, const char *path, const char *id)
{
	struct store	*st;
	char		 why[512], cluster[65];
	uint64_t	 size;
	int		 rc;

	if ((st = open_store(conf, path, 1)) == NULL)
		return 1;
	rc = store_bundle_remove(st, id, &size, cluster, why, sizeof(why));
	store_close(st);
	if (rc == -1)
		fprintf(stderr, "porthole-relay: %s\n", why);
	else if (rc == 0)
		fprintf(stderr, "porthole-relay: bundle %s is not in the "
		    "store\n", id);
	else
		printf("bundle %s of %s removed: %" PRIu64 " bytes\n", id,
		    cluster, size);
	return rc == 1 ? 0 : 1;
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
	} else if (strcmp(argv[0], "bundle") == 0 && argc == 5 &&
	    strcmp(argv[1], "get") == 0 && strcmp(argv[3], "-o") == 0) {
		if (relay_conf_load(path, &conf, err, sizeof(err)) == -1) {
			fprintf(stderr, "porthole-relay: %s\n", err);
			return 1;
		}
		rc = cmd_get(conf, path, argv[2], argv[4]);
	} else if (strcmp(argv[0], "bundle") == 0 && argc == 3 &&
	    strcmp(argv[1], "remove") == 0) {
		if (relay_conf_load(path, &conf, err, sizeof(err)) == -1) {
			fprintf(stderr, "porthole-relay: %s\n", err);
			return 1;
		}
		rc = cmd_remove(conf, path, argv[2]);
	} else if (strcmp(argv[0], "bundles") == 0 && argc <= 3) {
		const char	*cluster = NULL;
		int		 json = 0, i;

		for (i = 1; i < argc; i++) {
			if (strcmp(argv[i], "--json") == 0 && !json)
				json = 1;
			else if (argv[i][0] != '-' && cluster == NULL)
				cluster = argv[i];
			else
				return usage(stderr, 2);
		}
		if (relay_conf_load(path, &conf, err, sizeof(err)) == -1) {
			fprintf(stderr, "porthole-relay: %s\n", err);
			return 1;
		}
		rc = cmd_list(conf, path, cluster, json);
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
