/*
 * cmdline.c - the daemons' common command line.
 */
#include "config.h"

#include "lib/cmdline.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

static void __attribute__((noreturn))
usage_exit(const char *usage, int rc)
{
	fputs(usage, rc == 0 ? stdout : stderr);
	exit(rc);
}

/* path made absolute against the working directory, into out. */
static int
absolute(const char *path, char *out, size_t len)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return (size_t)snprintf(out, len, "%s", path) < len ? 0 : -1;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	return (size_t)snprintf(out, len, "%s%s%s", cwd,
	    strcmp(cwd, "/") == 0 ? "" : "/", path) < len ? 0 : -1;
}

void
cmdline_daemon(int argc, char **argv, const char *prog, const char *usage,
    int operands, struct cmdline *out)
{
	static const struct option longopts[] = {
		{ "help",	no_argument,	NULL,	'h' },
		{ "version",	no_argument,	NULL,	'V' },
		{ NULL,		0,		NULL,	0 }
	};
	const char	*path = NULL;
	int		 ch, bad = 0;

	memset(out, 0, sizeof(*out));
	while ((ch = getopt_long(argc, argv, "+df:tv", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			out->foreground = 1;
			break;
		case 'f':
			path = optarg;
			break;
		case 't':
			out->test = 1;
			break;
		case 'v':
			out->verbose = 1;
			break;
		case 'h':
			usage_exit(usage, 0);
		case 'V':
			printf("%s %s\n", prog, PACKAGE_VERSION);
			exit(0);
		default:
			bad = 1;
			break;
		}
	}
	out->optind = optind;
	if (optind < argc && (!operands || out->foreground || out->test))
		bad = 1;
	if (bad || path == NULL)
		usage_exit(usage, 2);
	if (absolute(path, out->path, sizeof(out->path)) == -1) {
		fprintf(stderr, "%s: %s: path too long or no working "
		    "directory\n", prog, path);
		exit(1);
	}
	log_init(prog, out->foreground || out->test || optind < argc,
	    out->verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
}
