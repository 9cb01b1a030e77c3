/*
 * daemon.h - starting as a service, the same way for both daemons: one
 * instance per run_dir, detaching only once ready, and telling systemd.
 *
 * The order a daemon follows:
 *
 *	daemon_init(prog)		first: takes $NOTIFY_SOCKET
 *	(check the configuration; every problem on stderr, exit 1)
 *	daemon_detach()			without -d: fork; the parent waits
 *	daemon_lock(run_dir, ...)	before anything else is touched
 *	(open stores, bind sockets, start)
 *	daemon_ready()			the parent exits 0, systemd hears READY=1
 *
 * Until daemon_ready() every error of the detached child still reaches
 * the terminal that started it (log_startup), and the parent exits with
 * 1 if the child exits first.
 */
#ifndef PH_DAEMON_H
#define PH_DAEMON_H

#include <sys/types.h>
#include <stddef.h>

/*
 * Remember $NOTIFY_SOCKET ("/path" or "@abstract") and remove it from
 * the environment, so that no diagnostic or hook the daemon runs can
 * speak for it to systemd.
 */
void	daemon_init(const char *prog);

/*
 * Fork.  The parent never returns: it waits until the child calls
 * daemon_ready() and exits 0 (after telling systemd the child's pid
 * and READY=1), or until the child exits and exits 1.  The child
 * returns 0 in a new session with / as its directory.  -1 with the
 * reason in err if the fork itself failed.
 */
int	daemon_detach(char *err, size_t errlen);

/*
 * Take the instance lock: run_dir/name (run_dir created, mode 0755, if
 * missing) locked for the life of the process with an open file
 * description lock (fcntl(2) F_OFD_SETLK), holding our pid.  Another
 * process holding it is refused with "another PROG (pid N) runs with
 * PATH"; a file there that another user owns, or that has a second
 * name, is refused as not ours, never written to.  0, or -1 with the
 * reason in err.
 */
int	daemon_lock(const char *run_dir, const char *name, char *err,
	    size_t errlen);

/*
 * Who holds run_dir/name: 0 if nobody (or no such file), else its pid
 * as written in the file (-1 when the holder has not written it yet).
 * Nothing is created or locked (F_OFD_GETLK asks), so a start at the
 * same instant is never refused because of the question.
 */
pid_t	daemon_lock_holder(const char *run_dir, const char *name);

/* Remove the pid file at a clean stop (the lock goes with the process). */
void	daemon_unlock(void);

/*
 * Ready: a detached child drops its terminal (stdin, stdout and stderr
 * become /dev/null, logs go to syslog alone) and releases the waiting
 * parent; in the foreground READY=1 goes to systemd directly.
 */
void	daemon_ready(void);

/*
 * Send one state to systemd ("READY=1", "STOPPING=1", "STATUS=..."), if
 * it asked for them.  0, or -1 (logged) if it could not be sent.
 */
int	daemon_notify(const char *state);
/* A reload begins: RELOADING=1 with the time; READY=1 ends it. */
void	daemon_reloading(void);

#endif
