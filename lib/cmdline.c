/*
 * cmdline.c - the daemons' common command line.
 */
#include "lib/cmdline.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/log.h"

const char *
cmdline_daemon(int argc, char **argv, const char *prog, int *foreground)
{
	const char	*path = NULL;
	int		 ch, verbose = 0, bad = 0;

	*foreground = 0;
	while ((ch = getopt(argc, argv, "df:v")) != -1) {
		switch (ch) {
		case 'd':
			*foreground = 1;
			break;
		case 'f':
			path = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			bad = 1;
			break;
		}
	}
	if (bad || path == NULL || optind != argc) {
		fprintf(stderr, "usage: %s -f FILE [-d] [-v]\n", prog);
		exit(2);
	}
	log_init(prog, *foreground, verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	return path;
}
