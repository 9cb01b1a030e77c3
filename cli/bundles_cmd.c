/*
 * bundles_cmd.c - porthole bundles and porthole bundle (bundles_cmd.h).
 *
 * Who asked for a bundle may be the vendor's words (a bundle_request
 * message): shown escaped (lib/escape), as every untrusted text in a
 * view is; --json gives the gateway's answer exactly.
 */
#include "cli/bundles_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/control_cmd.h"
#include "lib/escape.h"

const char cli_bundles_usage[] =
    "porthole bundles [--json]\n"
    "porthole bundle show ID [--json]\n"
    "porthole bundle approve ID [--reason TEXT]\n"
    "porthole bundle deny ID [--reason TEXT]\n"
    "porthole bundle retry ID [--reason TEXT]\n";

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s == NULL ? "" : s;
}

static long long
jint(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static int
usage(void)
{
	fprintf(stderr, "usage: %s", cli_bundles_usage);
	return 2;
}

/* Send request kind (req stolen): its answer when ok, else NULL (said). */
static json_t *
ask(const char *conf, const char *what, enum control_cmd kind, json_t *req)
{
	json_t *ans;

	if ((ans = control_call(conf, kind, req)) == NULL)
		return NULL;
	if (!json_is_true(json_object_get(ans, "ok"))) {
		fprintf(stderr, "porthole: %s: %s\n", what, jstr(ans, "error"));
		json_decref(ans);
		return NULL;
	}
	json_object_del(ans, "ok");
	return ans;
}

static int
print_json(json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);

	if (text == NULL)
		return -1;
	printf("%s\n", text);
	free(text);
	return 0;
}

/* What a bundle's state means, in a few words. */
static void
print_state(json_t *b)
{
	const char *st = jstr(b, "state");

	if (strcmp(st, "ready") == 0 && jint(b, "refusals") > 0)
		printf("uploading (refused by the relay, tried again later)");
	else if (strcmp(st, "ready") == 0)
		printf("uploading (%lld of %lld bytes)", jint(b, "uploaded"),
		    jint(b, "size"));
	else if (strcmp(st, "waiting") == 0)
		printf("waiting for porthole bundle approve");
	else
		printf("%s", st);
}

static void
print_row(json_t *b)
{
	int failed;

	printf("%-16s  %-20s  ", jstr(b, "id"), jstr(b, "requested"));
	print_state(b);
	printf("\n                  requested by ");
	(void)escape_fputs(jstr(b, "requested_by"), stdout);
	if (*jstr(b, "ticket") != '\0') {
		printf(", ticket ");
		(void)escape_fputs(jstr(b, "ticket"), stdout);
	}
	printf("\n");
	if (*jstr(b, "sha256") != '\0')
		printf("                  %lld bytes, %lld files, %lld left out, "
		    "%lld redactions%s, SHA-256 %s\n", jint(b, "size"),
		    jint(b, "files"), jint(b, "left_out"),
		    jint(b, "redactions"), json_is_true(json_object_get(b,
		    "truncated")) ? ", cut at max_size" : "",
		    jstr(b, "sha256"));
	failed = strcmp(jstr(b, "state"), "failed") == 0;
	if (*jstr(b, "decided_by") != '\0')
		printf("                  %s by %s%s", strcmp(jstr(b, "state"),
		    "denied") == 0 ? "denied" : "approved",
		    jstr(b, "decided_by"), *jstr(b, "reason") != '\0' &&
		    !failed ? ": " : "\n");
	if (*jstr(b, "reason") != '\0' && (failed ||
	    *jstr(b, "decided_by") == '\0'))
		printf("                  why: ");
	if (*jstr(b, "reason") != '\0') {
		(void)escape_fputs(jstr(b, "reason"), stdout);
		printf("\n");
	}
	/* The relay's words: untrusted, and escaped as such. */
	if (*jstr(b, "refused") != '\0') {
		printf("                  refused by the relay %lld time%s: ",
		    jint(b, "refusals"), jint(b, "refusals") == 1 ? "" : "s");
		(void)escape_fputs(jstr(b, "refused"), stdout);
		printf("\n");
	}
	if (failed && *jstr(b, "refused") != '\0')
		printf("                  porthole bundle retry %s sends it "
		    "again\n", jstr(b, "id"));
}

static int
cmd_list(const char *conf, int as_json)
{
	json_t	*ans, *list, *b;
	size_t	 i;

	if ((ans = ask(conf, "bundles", CONTROL_BUNDLES, json_object())) ==
	    NULL)
		return 1;
	list = json_object_get(ans, "bundles");
	if (as_json)
		(void)print_json(ans);
	else if (json_array_size(list) == 0)
		printf("no support bundles\n");
	else {
		printf("%-16s  %-20s  %s\n", "ID", "REQUESTED", "STATE");
		json_array_foreach(list, i, b)
			print_row(b);
	}
	json_decref(ans);
	return 0;
}

static int
cmd_show(const char *conf, const char *id, int as_json)
{
	json_t	*ans, *b;
	char	*text;

	if ((ans = ask(conf, "bundle show", CONTROL_BUNDLE_SHOW, json_pack(
	    "{s:s}", "bundle", id))) == NULL)
		return 1;
	b = json_object_get(ans, "bundle");
	if (as_json)
		(void)print_json(b);
	else {
		print_row(b);
		if (json_is_object(json_object_get(b, "manifest")) &&
		    (text = json_dumps(json_object_get(b, "manifest"),
		    JSON_INDENT(1) | JSON_ENSURE_ASCII)) != NULL) {
			/* The manifest names the customer's files: as JSON,
			   every control character escaped. */
			printf("MANIFEST.json:\n%s\n", text);
			free(text);
		} else
			printf("no manifest yet\n");
	}
	json_decref(ans);
	return 0;
}

static int
cmd_retry(const char *conf, int argc, char **argv)
{
	json_t *req, *ans;

	if (argc == 5 && strcmp(argv[3], "--reason") == 0)
		req = json_pack("{s:s, s:s}", "bundle", argv[2], "reason",
		    argv[4]);
	else if (argc == 3)
		req = json_pack("{s:s}", "bundle", argv[2]);
	else
		return usage();
	if ((ans = ask(conf, "bundle retry", CONTROL_BUNDLE_RETRY, req)) ==
	    NULL)
		return 1;
	printf("bundle %s: it is uploaded to the relay again\n", argv[2]);
	json_decref(ans);
	return 0;
}

static int
cmd_decide(const char *conf, int argc, char **argv, int approve)
{
	const char	*reason = NULL;
	json_t		*req, *ans;

	if (argc == 5 && strcmp(argv[3], "--reason") == 0)
		reason = argv[4];
	else if (argc != 3)
		return usage();
	req = json_pack("{s:s}", "bundle", argv[2]);
	if (reason != NULL)
		json_object_set_new(req, "reason", json_string(reason));
	if ((ans = ask(conf, approve ? "bundle approve" : "bundle deny",
	    approve ? CONTROL_BUNDLE_APPROVE : CONTROL_BUNDLE_DENY,
	    req)) == NULL)
		return 1;
	printf("bundle %s %s\n", argv[2], approve ? "approved: it is "
	    "uploaded to the relay" : "denied: it is removed and never "
	    "leaves");
	json_decref(ans);
	return 0;
}

int
cli_bundles(int argc, char **argv, const char *conf)
{
	int rc;

	if (strcmp(argv[0], "bundles") == 0) {
		if (argc == 1)
			rc = cmd_list(conf, 0);
		else if (argc == 2 && strcmp(argv[1], "--json") == 0)
			rc = cmd_list(conf, 1);
		else
			return usage();
	} else if (argc >= 3 && strcmp(argv[1], "show") == 0 &&
	    (argc == 3 || (argc == 4 && strcmp(argv[3], "--json") == 0)))
		rc = cmd_show(conf, argv[2], argc == 4);
	else if (argc >= 3 && strcmp(argv[1], "approve") == 0)
		rc = cmd_decide(conf, argc, argv, 1);
	else if (argc >= 3 && strcmp(argv[1], "deny") == 0)
		rc = cmd_decide(conf, argc, argv, 0);
	else if (argc >= 3 && strcmp(argv[1], "retry") == 0)
		rc = cmd_retry(conf, argc, argv);
	else
		return usage();
	if (rc == 0 && fflush(stdout) == EOF) {
		fprintf(stderr, "porthole: standard output: %s\n",
		    strerror(errno));
		rc = 1;
	}
	return rc;
}
