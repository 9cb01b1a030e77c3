/*
 * loop_cmd.c - porthole approve --ticket T --for DURATION [--reason
 * TEXT], porthole approvals [--json], porthole revoke --ticket T
 * [--reason TEXT], porthole actions [--json], porthole action
 * approve|deny ID [--reason TEXT].
 *
 * The ticket and the duration are checked here, so that a typo is
 * refused with a clear line before anything is sent, and again by the
 * gateway, whose word counts.
 */
#include "cli/loop_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/control_cmd.h"
#include "cli/view.h"
#include "lib/control_proto.h"
#include "lib/parse.h"
#include "lib/sshcert.h"

const char cli_loop_usage[] =
    "porthole approve --ticket T --for DURATION [--reason TEXT]\n"
    "porthole approvals [--json]\n"
    "porthole revoke --ticket T [--reason TEXT]\n";

const char cli_actions_usage[] =
    "porthole actions [--json]\n"
    "porthole action approve|deny ID [--reason TEXT]\n";

/* The options these commands take, as given. */
struct loop_opts {
	const char	*ticket;
	const char	*duration;
	const char	*reason;
	int		 json;
};

static int
loop_usage(void)
{
	fprintf(stderr, "usage: %s", cli_loop_usage);
	return 2;
}

/* argv[1..]: --ticket, --for, --reason, --json.  0, or -1 (usage). */
static int
loop_parse(int argc, char **argv, struct loop_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 && !o->json)
			o->json = 1;
		else if (i + 1 == argc)
			return -1;
		else if (strcmp(argv[i], "--ticket") == 0 && o->ticket == NULL)
			o->ticket = argv[++i];
		else if (strcmp(argv[i], "--for") == 0 && o->duration == NULL)
			o->duration = argv[++i];
		else if (strcmp(argv[i], "--reason") == 0 && o->reason == NULL)
			o->reason = argv[++i];
		else
			return -1;
	}
	return 0;
}

/* The ticket and reason given: 0, or -1 after saying what is wrong. */
static int
loop_check(const struct loop_opts *o)
{
	if (!sshcert_ticket_valid(o->ticket)) {
		fprintf(stderr, "porthole: --ticket: expected %s\n",
		    SSHCERT_TICKET_RULE);
		return -1;
	}
	return o->reason != NULL ? cli_control_reason(o->reason) : 0;
}

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s == NULL ? "" : s;
}

static void
print_approvals(json_t *list)
{
	json_t	*a;
	size_t	 i;
	char	 left[32];

	printf("%-20s %-20s %8s  %-40s %s\n", "TICKET", "UNTIL", "LEFT", "BY",
	    "REASON");
	json_array_foreach(list, i, a) {
		parse_format_duration((uint64_t)json_integer_value(
		    json_object_get(a, "left_s")), left, sizeof(left));
		printf("%-20s %-20s %8s  %-40s %s\n", jstr(a, "ticket"),
		    jstr(a, "until"), left, jstr(a, "by"), jstr(a, "reason"));
	}
}

static int
loop_approve(const char *conf, const struct loop_opts *o)
{
	json_t		*req, *ans, *a;
	uint64_t	 secs;
	char		 min[16], max[16];
	size_t		 i;

	parse_format_duration(CONTROL_APPROVAL_MIN, min, sizeof(min));
	parse_format_duration(CONTROL_APPROVAL_MAX, max, sizeof(max));
	if (o->duration == NULL || parse_duration(o->duration, &secs) == -1 ||
	    secs < CONTROL_APPROVAL_MIN || secs > CONTROL_APPROVAL_MAX) {
		fprintf(stderr, "porthole: --for: expected a duration from %s "
		    "to %s (like 30m, 4h, 2d), got '%s'\n", min, max,
		    o->duration != NULL ? o->duration : "");
		return 1;
	}
	if (loop_check(o) == -1)
		return 1;
	req = json_pack("{s:s, s:I}", "ticket", o->ticket, "for",
	    (json_int_t)secs);
	if (req != NULL && o->reason != NULL)
		json_object_set_new(req, "reason", json_string(o->reason));
	if ((ans = control_call(conf, CONTROL_APPROVE_TICKET, req)) == NULL)
		return 1;
	if (!json_is_true(json_object_get(ans, "ok"))) {
		fprintf(stderr, "porthole: approve: %s\n", jstr(ans, "error"));
		json_decref(ans);
		return 1;
	}
	json_array_foreach(json_object_get(ans, "approvals"), i, a)
		if (strcmp(jstr(a, "ticket"), o->ticket) == 0)
			printf("ticket %s approved until %s", o->ticket,
			    jstr(a, "until"));
	printf("; %lld waiting session%s let in\n", (long long)
	    json_integer_value(json_object_get(ans, "let_in")),
	    json_integer_value(json_object_get(ans, "let_in")) == 1 ? "" :
	    "s");
	json_decref(ans);
	return 0;
}

static int
loop_revoke(const char *conf, const struct loop_opts *o)
{
	json_t *req, *ans;

	if (o->duration != NULL || o->json)
		return loop_usage();
	if (loop_check(o) == -1)
		return 1;
	req = json_pack("{s:s}", "ticket", o->ticket);
	if (req != NULL && o->reason != NULL)
		json_object_set_new(req, "reason", json_string(o->reason));
	if ((ans = control_call(conf, CONTROL_REVOKE, req)) == NULL)
		return 1;
	if (!json_is_true(json_object_get(ans, "ok"))) {
		fprintf(stderr, "porthole: revoke: %s\n", jstr(ans, "error"));
		json_decref(ans);
		return 1;
	}
	printf("ticket %s: approval revoked; %lld session%s ended\n",
	    o->ticket, (long long)json_integer_value(json_object_get(ans,
	    "ended")), json_integer_value(json_object_get(ans, "ended")) == 1 ?
	    "" : "s");
	json_decref(ans);
	return 0;
}

static void
print_actions(json_t *list)
{
	json_t	*a;
	size_t	 i;

	printf("%-16s %-8s %-20s %-16s %-20s %s\n", "ID", "STATE", "ASKED",
	    "SESSION", "ENGINEER", "ACTION");
	json_array_foreach(list, i, a)
		printf("%-16s %-8s %-20s %-16s %-20s %s\n", jstr(a, "id"),
		    jstr(a, "state"), jstr(a, "asked"), jstr(a, "session"),
		    jstr(a, "engineer"), jstr(a, "command"));
}

/*
 * porthole approvals and actions: the list the request of that name
 * answers (under the same key), printed by print, or as one JSON array.
 */
static int
loop_list(const char *conf, enum control_cmd kind, int as_json,
    void (*print)(json_t *))
{
	const char	*key = control_cmds[kind].name;
	json_t		*ans;
	char		*text;

	if ((ans = control_call(conf, kind, json_object())) == NULL)
		return 1;
	if (!json_is_true(json_object_get(ans, "ok"))) {
		fprintf(stderr, "porthole: %s: %s\n", key, jstr(ans, "error"));
		json_decref(ans);
		return 1;
	}
	if (as_json) {
		text = json_dumps(json_object_get(ans, key), JSON_COMPACT);
		if (text != NULL)
			printf("%s\n", text);
		free(text);
	} else if (cli_view_escape(ans) == 0)
		print(json_object_get(ans, key));
	json_decref(ans);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int
loop_approvals(const char *conf, const struct loop_opts *o)
{
	if (o->ticket != NULL || o->duration != NULL || o->reason != NULL)
		return loop_usage();
	return loop_list(conf, CONTROL_APPROVALS, o->json, print_approvals);
}

int
cli_loop(int argc, char **argv, const char *conf)
{
	struct loop_opts o;

	if (loop_parse(argc, argv, &o) == -1)
		return loop_usage();
	if (strcmp(argv[0], "approvals") == 0)
		return loop_approvals(conf, &o);
	if (o.ticket == NULL || o.json)
		return loop_usage();
	if (strcmp(argv[0], "revoke") == 0)
		return loop_revoke(conf, &o);
	return loop_approve(conf, &o);
}

static int
actions_usage(void)
{
	fprintf(stderr, "usage: %s", cli_actions_usage);
	return 2;
}


/* porthole action approve|deny ID [--reason TEXT] */
static int
action_decide(const char *conf, int approve, const char *id,
    const char *reason)
{
	json_t *req, *ans;

	if (reason != NULL && cli_control_reason(reason) == -1)
		return 1;
	req = json_pack("{s:s}", "id", id);
	if (req != NULL && reason != NULL)
		json_object_set_new(req, "reason", json_string(reason));
	if ((ans = control_call(conf, approve ? CONTROL_ACTION_APPROVE :
	    CONTROL_ACTION_DENY, req)) == NULL)
		return 1;
	if (!json_is_true(json_object_get(ans, "ok"))) {
		fprintf(stderr, "porthole: action %s: %s\n", approve ?
		    "approve" : "deny", jstr(ans, "error"));
		json_decref(ans);
		return 1;
	}
	printf("action %s %s\n", id, approve ? "approved: it runs now" :
	    "denied");
	json_decref(ans);
	return fflush(stdout) == 0 ? 0 : 1;
}

int
cli_actions(int argc, char **argv, const char *conf)
{
	int approve;

	if (strcmp(argv[0], "actions") == 0) {
		if (argc == 1 || (argc == 2 && strcmp(argv[1], "--json") == 0))
			return loop_list(conf, CONTROL_ACTIONS, argc == 2,
			    print_actions);
		return actions_usage();
	}
	if (argc < 3 || (strcmp(argv[1], "approve") != 0 &&
	    strcmp(argv[1], "deny") != 0) || argv[2][0] == '-')
		return actions_usage();
	approve = strcmp(argv[1], "approve") == 0;
	if (argc == 3)
		return action_decide(conf, approve, argv[2], NULL);
	if (argc == 5 && strcmp(argv[3], "--reason") == 0)
		return action_decide(conf, approve, argv[2], argv[4]);
	return actions_usage();
}
