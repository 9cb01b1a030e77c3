/*
 * cmdline.h - the command line both daemons share: -f FILE [-d] [-v].
 */
#ifndef PH_CMDLINE_H
#define PH_CMDLINE_H

/*
 * Parse "prog -f FILE [-d] [-v]", start logging (stderr with -d, else
 * syslog; debug with -v) and return FILE.  A usage error prints the usage
 * and exits 2.
 */
const char	*cmdline_daemon(int argc, char **argv, const char *prog,
		    int *foreground);

#endif
