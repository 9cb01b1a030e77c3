/*
 * porthole.c - the customer's and auditor's command line.
 *
 * Exit status: 0 success, 1 refused or invalid, 2 usage; porthole
 * status adds 3 (no relay's tunnel is up) and 4 (some are down).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#include "cli/alerts_cmd.h"
#include "cli/audit_cmd.h"
#include "cli/bundles_cmd.h"
#include "cli/control_cmd.h"
#include "cli/loop_cmd.h"
#include "cli/replay_cmd.h"
#include "cli/send_cmd.h"
#include "cli/telemetry_cmd.h"
#include "cli/updates_cmd.h"
#include "lib/filecheck.h"
#include "policy/policy.h"

#define DEFAULT_CONF	"/etc/porthole/porthole.conf"

static const char policy_usage[] =
    "porthole policy check [FILE]\n"
    "porthole policy show [FILE]\n"
    "porthole policy keys --man\n";

/* A usage text's lines, the first after "usage: ", the rest beneath. */
static void
print_usage_lines(FILE *f, const char *text, int *first)
{
	const char	*p, *nl;

	for (p = text; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		fprintf(f, "%s%.*s\n", *first ? "usage: " : "       ",
		    (int)(nl - p), p);
		*first = 0;
		if (*nl == '\0')
			break;
	}
}

/* The usage; with --help also where the file is and the exit status. */
static void
usage(FILE *f)
{
	int first = 1;

	print_usage_lines(f, "porthole [-f porthole.conf] COMMAND [ARGS]\n"
	    "porthole --help | --version\n", &first);
	print_usage_lines(f, policy_usage, &first);
	print_usage_lines(f, cli_control_usage, &first);
	print_usage_lines(f, cli_loop_usage, &first);
	print_usage_lines(f, cli_actions_usage, &first);
	print_usage_lines(f, cli_watch_usage, &first);
	print_usage_lines(f, cli_send_usage, &first);
	print_usage_lines(f, cli_telemetry_usage, &first);
	print_usage_lines(f, cli_alerts_usage, &first);
	print_usage_lines(f, cli_updates_usage, &first);
	print_usage_lines(f, cli_bundles_usage, &first);
	print_usage_lines(f, cli_audit_usage, &first);
	if (f == stdout)
		fprintf(f, "Without -f, porthole reads %s.  Exit status: 0 "
		    "done, 1 refused or invalid, 2 usage;\nporthole status also 3 when "
		    "no relay's tunnel is up, 4 when some are down.\n",
		    DEFAULT_CONF);
}

static int
usage_error(void)
{
	usage(stderr);
	return 2;
}

static const char *
onoff(int v)
{
	return v ? "on" : "off";
}

/*
 * The checks portholed makes at start (and -t), not only the syntax:
 * a file that passes here is one the gateway starts with.
 */
static int
cmd_policy_check(const char *path)
{
	struct policy		*p;
	struct filecheck	 fc;
	char			 err[1024], cmds[64];

	if (policy_load(path, &p, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	filecheck_init(&fc, stderr);
	/*
	 * As portholed checks: it runs as root, and so accepts files of
	 * root's only.  An admin who is not root would otherwise pass files
	 * of their own that the gateway then refuses to start with.
	 */
	fc.uid = 0;
	if (policy_check(p, &fc) > 0) {
		policy_free(p);
		return 1;
	}
	if (p->commands_enabled)
		snprintf(cmds, sizeof(cmds), "%zu command%s", p->ncommands,
		    p->ncommands == 1 ? "" : "s");
	else
		snprintf(cmds, sizeof(cmds), "commands off");
	printf("%s: valid; remote access %s, %s, files %s, forward %s, "
	    "settings %s\n", path, onoff(p->ra_enabled), cmds,
	    onoff(p->files_enabled), onoff(p->forward_enabled),
	    onoff(p->settings_enabled));
	policy_free(p);
	return 0;
}

/* The effective policy of path, every key, as a porthole.conf. */
static int
cmd_policy_show(const char *path)
{
	struct policy	*p;
	char		 err[1024];
	int		 rc = 0;

	if (policy_load(path, &p, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (policy_write(p, stdout) == -1) {
		fprintf(stderr, "porthole: policy show: %s\n", strerror(errno));
		rc = 1;
	}
	policy_free(p);
	return rc;
}

static int
cmd_policy(const char *conf, int argc, char **argv)
{
	if (argc < 1)
		return usage_error();
	if (strcmp(argv[0], "check") == 0) {
		if (argc > 2)
			return usage_error();
		return cmd_policy_check(argc == 2 ? argv[1] : conf);
	}
	if (strcmp(argv[0], "show") == 0) {
		if (argc > 2)
			return usage_error();
		return cmd_policy_show(argc == 2 ? argv[1] : conf);
	}
	if (strcmp(argv[0], "keys") == 0 && argc == 2 &&
	    strcmp(argv[1], "--man") == 0)
		return policy_write_man(stdout) == -1 ? 1 : 0;
	return usage_error();
}

/*
 * The commands, each with its usage text (`porthole COMMAND --help`
 * prints it).  run gets argv from the command's name on.
 */
struct command {
	const char	*name;
	const char	*usage;
	int		(*run)(int argc, char **argv, const char *conf);
};

static int
run_policy(int argc, char **argv, const char *conf)
{
	return cmd_policy(conf, argc - 1, argv + 1);
}

static int
run_audit(int argc, char **argv, const char *conf)
{
	return cli_audit(argc - 1, argv + 1, conf);
}

/* approve ID is one session; approve --ticket T a ticket for a time. */
static int
run_approve(int argc, char **argv, const char *conf)
{
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--ticket") == 0)
			return cli_loop(argc, argv, conf);
	return cli_control(argc, argv, conf);
}

static const struct command commands[] = {
	{ "policy", policy_usage, run_policy },
	{ "status", cli_control_usage, cli_control },
	{ "sessions", cli_control_usage, cli_control },
	{ "approve", cli_control_usage, run_approve },
	{ "approvals", cli_loop_usage, cli_loop },
	{ "revoke", cli_loop_usage, cli_loop },
	{ "actions", cli_actions_usage, cli_actions },
	{ "action", cli_actions_usage, cli_actions },
	{ "watch", cli_watch_usage, cli_watch },
	{ "deny", cli_control_usage, cli_control },
	{ "kill", cli_control_usage, cli_control },
	{ "reload", cli_control_usage, cli_control },
	{ "send", cli_send_usage, cli_send },
	{ "telemetry", cli_telemetry_usage, cli_telemetry },
	{ "alerts", cli_alerts_usage, cli_alerts },
	{ "events", cli_telemetry_usage, cli_telemetry },
	{ "usage", cli_telemetry_usage, cli_telemetry },
	{ "updates", cli_updates_usage, cli_updates },
	{ "bundles", cli_bundles_usage, cli_bundles },
	{ "bundle", cli_bundles_usage, cli_bundles },
	{ "audit", cli_audit_usage, run_audit },
};

/* "--help" among a command's words, before any "--". */
static int
wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0)
			return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*conf = DEFAULT_CONF;
	size_t		 i;
	int		 ch, first = 1;

	while ((ch = getopt_long(argc, argv, "+f:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			/*
			 * A file named on the command line must be there: a
			 * typo must not reach the gateway of another file.
			 */
			if (cli_conf_readable(optarg) == -1)
				return 1;
			conf = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("porthole %s\n", PACKAGE_VERSION);
			return 0;
		default:
			return usage_error();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage_error();
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].name) != 0)
			continue;
		if (wants_help(argc, argv)) {
			print_usage_lines(stdout, commands[i].usage, &first);
			return 0;
		}
		return commands[i].run(argc, argv, conf);
	}
	fprintf(stderr, "porthole: unknown command '%s'\n", argv[0]);
	return usage_error();
}
