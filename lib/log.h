/*
 * log.h - one logging interface for every porthole program.
 *
 * Daemons log to syslog, or to stderr when running in the foreground;
 * command-line tools log to stderr.  Messages are one line each.
 */
#ifndef PH_LOG_H
#define PH_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG
};

/* progname prefixes every line; to_stderr selects stderr over syslog. */
void	log_init(const char *progname, int to_stderr, enum log_level level);
void	log_set_level(enum log_level level);
/*
 * While on, a daemon logging to syslog prints its warnings and errors on
 * stderr too: until it is ready, the terminal that started it must hear
 * why it stops (lib/daemon.c).
 */
void	log_startup(int on);

void	log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Say why into a caller's buffer of len bytes (nothing when buf is NULL
 * or len is 0): how a function that returns -1 tells its caller, which
 * logs it or passes it on.  Not a log line itself.
 */
void	log_reason(char *buf, size_t len, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Log at error level and exit(1): only where failing closed is right. */
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
