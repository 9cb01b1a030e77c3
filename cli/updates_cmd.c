/*
 * updates_cmd.c - porthole updates [--json] | reschedule VERSION TIME |
 * run-now VERSION.
 *
 * What a notice says (its notes, above all) comes from the vendor
 * through the relay: shown labelled as the vendor's and escaped
 * (lib/escape), never raw on the admin's terminal.  --json gives the
 * gateway's answer exactly.
 */
#include "cli/updates_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/control_cmd.h"
#include "lib/clock.h"
#include "lib/escape.h"
#include "lib/parse.h"

const char cli_updates_usage[] =
    "porthole updates [--json]\n"
    "porthole updates reschedule VERSION TIME\n"
    "porthole updates run-now VERSION\n";

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s == NULL ? "" : s;
}

/* An RFC 3339 UTC time, with the cluster's local time beside it. */
static void
print_when(const char *utc)
{
	struct tm	tm;
	time_t		t;
	char		local[64];

	if (parse_time(utc, &t) == -1) {
		printf("%-20s", *utc != '\0' ? "?" : "-");
		return;
	}
	localtime_r(&t, &tm);
	strftime(local, sizeof(local), "%a %H:%M %Z", &tm);
	printf("%s (%s)", utc, local);
}

/* "  label: text" with every line of text escaped. */
static void
print_text(const char *label, const char *text)
{
	const char	*p, *nl;
	char		*line;

	printf("  %s\n", label);
	for (p = text; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if ((line = strndup(p, nl != NULL ? (size_t)(nl - p) :
		    strlen(p))) == NULL)
			return;
		printf("    ");
		(void)escape_fputs(line, stdout);
		printf("\n");
		free(line);
		if (nl == NULL)
			break;
	}
}

static void
print_update(json_t *u)
{
	const char *state = jstr(u, "state");

	printf("\n");
	(void)escape_fputs(jstr(u, "version"), stdout);
	printf("  %s", state);
	if (strcmp(state, "scheduled") == 0 || strcmp(state, "started") == 0) {
		printf(strcmp(state, "started") == 0 ? " since " : " for ");
		print_when(strcmp(state, "started") == 0 ? jstr(u, "started") :
		    jstr(u, "when"));
	}
	printf("\n  package    %s, %lld of %lld bytes, SHA-256 %s\n",
	    jstr(u, "package"), (long long)json_integer_value(json_object_get(u,
	    "package_bytes")), (long long)json_integer_value(json_object_get(u,
	    "size")), jstr(u, "sha256"));
	if (*jstr(u, "package_waiting") != '\0') {
		printf("  fetching   ");
		(void)escape_fputs(jstr(u, "package_waiting"), stdout);
		printf("\n");
	}
	printf("  notice     message %lld, published %s, expires %s\n",
	    (long long)json_integer_value(json_object_get(u, "message_id")),
	    jstr(u, "published"), jstr(u, "expires"));
	if (*jstr(u, "notified") != '\0')
		printf("  notified   %s; may run from %s to %s\n",
		    jstr(u, "notified"), jstr(u, "earliest"), jstr(u, "latest"));
	if (*jstr(u, "result") != '\0')
		printf("  result     %s%s%s\n", jstr(u, "result"),
		    *jstr(u, "log_sha256") != '\0' ? ", log SHA-256 " : "",
		    jstr(u, "log_sha256"));
	if (*jstr(u, "reason") != '\0') {
		printf("  why        ");
		(void)escape_fputs(jstr(u, "reason"), stdout);
		printf("\n");
	}
	if (*jstr(u, "waiting") != '\0')
		printf("  waiting    %s\n", jstr(u, "waiting"));
	if (*jstr(u, "notes") != '\0')
		print_text("notes from the vendor (unverified text, escaped):",
		    jstr(u, "notes"));
}

static void
print_updates(json_t *a)
{
	json_t	*list = json_object_get(a, "updates"), *u;
	size_t	 i;

	printf("installed   %s", *jstr(a, "installed") != '\0' ?
	    jstr(a, "installed") : "unknown");
	if (strcmp(jstr(a, "installed_from"), "porthole") == 0)
		printf(" (installed by porthole at %s)", jstr(a,
		    "installed_at"));
	else if (strcmp(jstr(a, "installed_from"), "version_command") == 0)
		printf(" (as version_command says)");
	if (strcmp(jstr(a, "installed_from"), "porthole") == 0 &&
	    *jstr(a, "version_command") != '\0')
		printf("; version_command says %s", jstr(a, "version_command"));
	if (*jstr(a, "version_command_error") != '\0') {
		printf("\n            ");
		(void)escape_fputs(jstr(a, "version_command_error"), stdout);
	}
	printf("\nwindow      %s\n", *jstr(a, "window") != '\0' ?
	    jstr(a, "window") : "none: updates run at any time");
	printf("vendor key  %s\n", *jstr(a, "vendor_key") != '\0' ?
	    jstr(a, "vendor_key") : "NOT SET: every notice is refused");
	if (json_array_size(list) == 0)
		printf("\nno update notices\n");
	json_array_foreach(list, i, u)
		print_update(u);
}

static int
usage(void)
{
	fprintf(stderr, "usage: %s", cli_updates_usage);
	fprintf(stderr, "TIME: %s\n", PARSE_WHEN_FORMS);
	return 2;
}

/* Send request kind (req stolen); 0 with *ans when ok, else 1. */
static int
ask(const char *conf, const char *what, enum control_cmd kind, json_t *req,
    json_t **ans)
{
	if ((*ans = control_call(conf, kind, req)) == NULL)
		return 1;
	if (!json_is_true(json_object_get(*ans, "ok"))) {
		fprintf(stderr, "porthole: updates %s: %s\n", what,
		    jstr(*ans, "error"));
		json_decref(*ans);
		*ans = NULL;
		return 1;
	}
	return 0;
}

static int
cmd_list(const char *conf, int as_json)
{
	json_t	*ans;
	char	*text;

	if (ask(conf, "", CONTROL_UPDATES, json_object(), &ans) != 0)
		return 1;
	json_object_del(ans, "ok");
	if (as_json) {
		if ((text = json_dumps(ans, JSON_COMPACT)) != NULL)
			printf("%s\n", text);
		free(text);
	} else
		print_updates(ans);
	json_decref(ans);
	return 0;
}

static int
cmd_reschedule(const char *conf, const char *version, const char *when)
{
	json_t	*ans;
	time_t	 t;
	char	 utc[32];

	if (parse_when(when, clock_now(), &t) == -1) {
		fprintf(stderr, "porthole: updates reschedule: '%s' is not a "
		    "time (%s)\n", when, PARSE_WHEN_FORMS);
		return 1;
	}
	parse_format_time(t, utc, sizeof(utc));
	if (ask(conf, "reschedule", CONTROL_UPDATE_RESCHEDULE, json_pack(
	    "{s:s, s:s}", "version", version, "when", utc), &ans) != 0)
		return 1;
	printf("update %s rescheduled for ", version);
	print_when(utc);
	printf("; the admins are notified again\n");
	json_decref(ans);
	return 0;
}

static int
cmd_run_now(const char *conf, const char *version)
{
	json_t *ans;

	if (ask(conf, "run-now", CONTROL_UPDATE_RUN_NOW, json_pack("{s:s}",
	    "version", version), &ans) != 0)
		return 1;
	printf("update %s runs now (once its package is here)\n", version);
	json_decref(ans);
	return 0;
}

int
cli_updates(int argc, char **argv, const char *conf)
{
	int rc;

	if (argc == 1)
		rc = cmd_list(conf, 0);
	else if (argc == 2 && strcmp(argv[1], "--json") == 0)
		rc = cmd_list(conf, 1);
	else if (argc == 4 && strcmp(argv[1], "reschedule") == 0)
		rc = cmd_reschedule(conf, argv[2], argv[3]);
	else if (argc == 3 && strcmp(argv[1], "run-now") == 0)
		rc = cmd_run_now(conf, argv[2]);
	else
		return usage();
	if (rc == 0 && fflush(stdout) == EOF) {
		fprintf(stderr, "porthole: standard output: %s\n",
		    strerror(errno));
		rc = 1;
	}
	return rc;
}
