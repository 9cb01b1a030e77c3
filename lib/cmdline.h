/*
 * cmdline.h - the command line both daemons share:
 * -f FILE [-d] [-t] [-v], --help and --version.
 */
#ifndef PH_CMDLINE_H
#define PH_CMDLINE_H

#include <limits.h>

struct cmdline {
	char	 path[PATH_MAX];	/* -f FILE, made absolute */
	int	 foreground;		/* -d: stay attached, log to stderr */
	int	 test;			/* -t: check the configuration only */
	int	 verbose;		/* -v: debug logging */
	int	 optind;		/* the first operand */
};

/*
 * Parse "prog -f FILE [-d] [-t] [-v] [OPERAND...]".  --help prints
 * usage on stdout and exits 0; --version prints "prog VERSION" and
 * exits 0; a usage error prints usage on stderr and exits 2.  Operands
 * are a usage error unless operands is set (the relay's reports, which
 * take neither -d nor -t); the first one stops the options, so that an
 * operand may start with '-'.
 *
 * FILE is made absolute against the working directory, without
 * resolving links: a detached daemon changes directory to /, and a
 * reload should read what the name names then.
 *
 * Logging starts here: to stderr with -d, -t or operands, else to
 * syslog (lib/daemon.c adds stderr until the daemon is ready).
 */
void	cmdline_daemon(int argc, char **argv, const char *prog,
	    const char *usage, int operands, struct cmdline *out);

#endif
