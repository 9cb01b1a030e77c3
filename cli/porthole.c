/*
 * porthole.c - the customer's and auditor's command line.
 *
 * Exit status: 0 success, 1 refused or invalid, 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/audit_cmd.h"
#include "cli/control_cmd.h"
#include "cli/send_cmd.h"
#include "lib/krl.h"
#include "lib/sshcert.h"
#include "policy/policy.h"

#define DEFAULT_CONF	"/etc/porthole/porthole.conf"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: porthole [-f porthole.conf] COMMAND\n"
	    "       porthole policy check [FILE]\n"
	    "       porthole policy show [FILE]\n"
	    "       porthole policy keys --man\n"
	    "       porthole status | sessions [--json] | reload\n"
	    "       porthole approve ID | deny ID | kill ID\n"
	    "       porthole send usage|health|event [FILE|-]\n"
	    "       porthole audit verify|list|show|replay|export ...\n");
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

static int
cmd_policy_check(const char *path)
{
	struct policy	*p;
	struct krl	*krl = NULL;
	char		 err[1024], cmds[64];
	uint8_t		 ca[32];

	if (policy_load(path, &p, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	/* The gateway refuses to start or reload without its CA key. */
	if (sshcert_load_ca(p->support_ca, ca, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: [gateway] support_ca: %s\n", path, err);
		policy_free(p);
		return 1;
	}
	/* So does a revocation list it cannot read. */
	if (p->revoked_keys != NULL && (krl_load(p->revoked_keys, &krl, err,
	    sizeof(err)) == -1)) {
		fprintf(stderr, "%s: [gateway] revoked_keys: %s\n", path, err);
		policy_free(p);
		return 1;
	}
	krl_free(krl);
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

int
main(int argc, char **argv)
{
	const char	*conf = DEFAULT_CONF;
	int		 ch;

	while ((ch = getopt(argc, argv, "+f:h")) != -1) {
		switch (ch) {
		case 'f':
			conf = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return usage_error();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage_error();

	if (strcmp(argv[0], "policy") == 0)
		return cmd_policy(conf, argc - 1, argv + 1);
	if (strcmp(argv[0], "audit") == 0)
		return cli_audit(argc - 1, argv + 1, conf);
	if (strcmp(argv[0], "status") == 0 ||
	    strcmp(argv[0], "sessions") == 0 || strcmp(argv[0], "kill") == 0 ||
	    strcmp(argv[0], "approve") == 0 || strcmp(argv[0], "deny") == 0 ||
	    strcmp(argv[0], "reload") == 0)
		return cli_control(argc, argv, conf);
	if (strcmp(argv[0], "send") == 0)
		return cli_send(argc, argv, conf);
	fprintf(stderr, "porthole: unknown command '%s'\n", argv[0]);
	return usage_error();
}
