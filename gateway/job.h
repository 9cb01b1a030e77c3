/*
 * job.h - the customer's own programs, run by the gateway outside any
 * session sandbox: [updates] version_command, notify_command and
 * update_command.
 *
 * A job is a child process in a session of its own, with a clean
 * environment, no descriptor of the gateway's but its output pipe, and
 * a timeout after which its whole process group gets SIGTERM and, ten
 * seconds later, SIGKILL.  The event loop never waits for it: libevent
 * watches the output pipe and SIGCHLD, and the owner is called back
 * once it has ended.  Its output (stdout and stderr together) goes to
 * a log file, of which the first JOB_LOG_MAX bytes are kept and
 * hashed, or, without a log file, the first JOB_OUT_MAX bytes are kept
 * in memory.  An optional prepare step runs in the child before the
 * program is executed (the update's package is copied and checked
 * there, away from the event loop); if it fails, the program is not
 * run and the job says why.
 */
#ifndef PH_JOB_H
#define PH_JOB_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#define JOB_LOG_MAX	(1024 * 1024)
#define JOB_OUT_MAX	4096
#define JOB_KILL_AFTER	10	/* seconds from SIGTERM to SIGKILL */

/* A job's environment: a few NAME=VALUE strings, made and freed here. */
#define JOB_ENV_MAX	12
#define JOB_PATH	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:" \
			"/sbin:/bin"

struct job_env {
	char	*v[JOB_ENV_MAX + 1];	/* NULL-terminated */
	size_t	 n;
};

/* Add NAME=value; past JOB_ENV_MAX (or out of memory) it is left out. */
void	job_env_add(struct job_env *, const char *name, const char *value);
void	job_env_free(struct job_env *);

struct job_spec {
	char		**argv;		/* argv[0] absolute; NULL-terminated */
	char		**envp;		/* the whole environment */
	const char	 *log_path;	/* NULL: keep the output in memory */
	uint64_t	  timeout;	/* seconds */
	/* In the child, before exec: 0, or -1 with why (one line). */
	int		(*prepare)(void *arg, char *why, size_t whylen);
	void		 *prepare_arg;
};

struct job_result {
	int		 ran;		/* the program was executed */
	int		 status;	/* waitpid()'s, once ran */
	int		 timed_out;
	char		 why[256];	/* why it did not run: prepare, exec */
	char		 out[JOB_OUT_MAX + 1];	/* no log_path: the output */
	size_t		 outlen;
	uint64_t	 log_bytes;	/* log_path: bytes kept */
	uint64_t	 dropped;	/* bytes beyond the limit */
	char		 log_sha256[65];	/* of what the log file holds */
};

typedef void (*job_done_fn)(void *arg, const struct job_result *);

struct jobs;
struct job;

struct jobs	*jobs_new(struct event_base *base);
/*
 * Ends every running job (SIGTERM to its group, SIGKILL 5 s later),
 * without callbacks.
 */
void		 jobs_free(struct jobs *);
/*
 * Start a job; done is called once it ended (never from inside this
 * call).  NULL with err when it could not be started.
 */
struct job	*job_start(struct jobs *, const struct job_spec *spec,
		    job_done_fn done, void *arg, char *err, size_t errlen);
/* "exit 3", "killed by signal 9", "timed out after 2h": into buf. */
void		 job_describe(const struct job_result *r, uint64_t timeout,
		    char *buf, size_t len);

#endif
