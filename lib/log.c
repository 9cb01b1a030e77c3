/*
 * log.c - line-oriented logging to syslog or stderr.
 *
 * A message often holds what a peer chose: a user name sent before
 * authentication, a channel's host, a relay's words.  It is written
 * under lib/escape.h's rule, as every human view is: C0 and C1
 * controls, DEL and bytes that are not UTF-8 become \xNN, so one event
 * is one line of UTF-8 that neither syslog's readers nor the terminal
 * of a foreground daemon can be made to act on.
 */
#include "lib/escape.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const char	*log_prog = "porthole";
static int		 log_stderr = 1;
static enum log_level	 log_max = LOG_LVL_INFO;
static int		 log_starting;	/* errors to stderr as well */

void
log_init(const char *progname, int to_stderr, enum log_level level)
{
	log_prog = progname;
	log_stderr = to_stderr;
	log_max = level;
	if (!to_stderr)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_startup(int on)
{
	log_starting = on;
}

void
log_set_level(enum log_level level)
{
	log_max = level;
}

static void	log_vwrite(enum log_level, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));

static void
log_vwrite(enum log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *name[] = { "error", "warning", "info", "debug" };
	char	msg[1024], shown[2048];

	if (level > log_max)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Cut, if it must be, between escapes and characters. */
	(void)escape_text(msg, strlen(msg), shown, sizeof(shown));
	if (log_stderr || (log_starting && level <= LOG_LVL_WARN))
		fprintf(stderr, "%s[%ld]: %s: %s\n", log_prog, (long)getpid(),
		    name[level], shown);
	if (!log_stderr)
		syslog(prio[level], "%s", shown);
}

#define LOG_FN(fn, lvl)					\
void							\
fn(const char *fmt, ...)				\
{							\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_vwrite(lvl, fmt, ap);			\
	va_end(ap);					\
}

LOG_FN(log_error, LOG_LVL_ERROR)
LOG_FN(log_warn, LOG_LVL_WARN)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_debug, LOG_LVL_DEBUG)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_reason(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (buf == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}
