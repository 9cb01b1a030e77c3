/*
 * job.c - the customer's programs as children the event loop watches
 * (job.h).
 */
#include "config.h"
#include "gateway/job.h"

#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/parse.h"
#include "lib/sha256.h"

#define JOB_STOP_WAIT_MS	5000

/* One running program. */
struct job {
	struct jobs		*owner;
	pid_t			 pid;		/* 0 once reaped */
	int			 out_fd;	/* output pipe, -1 at its end */
	int			 status_fd;	/* why it did not run */
	int			 log_fd;	/* -1: output kept in memory */
	struct sha256		*hash;		/* of the log file */
	struct event		*ev_out;
	struct event		*ev_timeout;
	struct event		*ev_done;	/* the callback, deferred */
	uint64_t		 timeout;
	int			 killing;	/* SIGTERM sent, SIGKILL next */
	job_done_fn		 done;
	void			*arg;
	struct job_result	 r;
	TAILQ_ENTRY(job)	 entry;
};
TAILQ_HEAD(job_list, job);

struct jobs {
	struct event_base	*base;
	struct event		*ev_chld;
	struct job_list		 running;
};

/* ---- the child ---- */

/*
 * In the child: a session of its own, default signals, the output pipe
 * as stdout and stderr, nothing else of the gateway's open, then the
 * prepare step and the program.  Why it could not run goes down the
 * status pipe, which closes on a successful exec.
 */
static void __attribute__((noreturn))
job_child(const struct job_spec *spec, int out, int status)
{
	sigset_t	 none;
	char		 why[256];
	int		 sig, devnull;

#ifdef PORTHOLE_TEST_HOOKS
	/* Test builds only: linger where a signal used to stop the gateway. */
	const char *pause = getenv("PORTHOLE_TEST_JOB_PAUSE");

	if (pause != NULL && atoi(pause) > 0 && atoi(pause) <= 60)
		(void)nanosleep(&(struct timespec){ atoi(pause), 0 }, NULL);
#endif
	/*
	 * Every signal is held since before the fork (job_start): until the
	 * event loop's handlers are gone, one would run here and write to
	 * the socket this process shares with the gateway, which would take
	 * it for its own (a SIGTERM to a job just started stopped it all).
	 */
	(void)setsid();
	for (sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if ((devnull = open("/dev/null", O_RDONLY)) == -1 ||
	    dup2(devnull, 0) == -1 || dup2(out, 1) == -1 || dup2(out, 2) == -1 ||
	    dup2(status, 3) == -1 || fcntl(3, F_SETFD, FD_CLOEXEC) == -1)
		_exit(127);
	(void)close_range(4, ~0U, 0);
	why[0] = '\0';
	if (spec->prepare != NULL && spec->prepare(spec->prepare_arg, why,
	    sizeof(why)) == -1) {
		(void)write(3, why, strlen(why));
		_exit(126);
	}
	execve(spec->argv[0], spec->argv, spec->envp);
	snprintf(why, sizeof(why), "%s: %s", spec->argv[0], strerror(errno));
	(void)write(3, why, strlen(why));
	_exit(127);
}

/* ---- the parent ---- */

/* Output arrived: into the log (bounded) or memory (bounded). */
static void
job_output(struct job *j, const char *buf, size_t n)
{
	size_t keep;

	if (j->log_fd == -1) {
		keep = JOB_OUT_MAX - j->r.outlen < n ? JOB_OUT_MAX -
		    j->r.outlen : n;
		memcpy(j->r.out + j->r.outlen, buf, keep);
		j->r.outlen += keep;
		j->r.out[j->r.outlen] = '\0';
	} else {
		keep = JOB_LOG_MAX - j->r.log_bytes < n ? JOB_LOG_MAX -
		    j->r.log_bytes : n;
		if (keep > 0 && write(j->log_fd, buf, keep) != (ssize_t)keep) {
			log_warn("job %ld: its log cannot be written: %s",
			    (long)j->pid, strerror(errno));
			keep = 0;
		}
		sha256_update(j->hash, buf, keep);
		j->r.log_bytes += keep;
	}
	j->r.dropped += n - keep;
}

/* Read what the pipe holds now; 1 at its end, else 0. */
static int
job_drain(struct job *j)
{
	char	buf[8192];
	ssize_t	n;

	if (j->out_fd == -1)
		return 1;
	for (;;) {
		n = read(j->out_fd, buf, sizeof(buf));
		if (n > 0) {
			job_output(j, buf, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		break;
	}
	event_del(j->ev_out);
	close(j->out_fd);
	j->out_fd = -1;
	return 1;
}

static void
job_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)job_drain(arg);
}

static void
job_free(struct job *j)
{
	if (j->ev_out != NULL)
		event_free(j->ev_out);
	if (j->ev_timeout != NULL)
		event_free(j->ev_timeout);
	if (j->ev_done != NULL)
		event_free(j->ev_done);
	if (j->out_fd != -1)
		close(j->out_fd);
	if (j->status_fd != -1)
		close(j->status_fd);
	if (j->log_fd != -1)
		close(j->log_fd);
	sha256_free(j->hash);
	free(j);
}

/* The callback, outside SIGCHLD's handler; then the job is gone. */
static void
job_finish(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;

	(void)fd;
	(void)what;
	TAILQ_REMOVE(&j->owner->running, j, entry);
	j->done(j->arg, &j->r);
	job_free(j);
}

/* The child ended: collect what it left and say so. */
static void
job_exited(struct job *j, int status)
{
	ssize_t	n;

	j->pid = 0;
	j->r.status = status;
	evtimer_del(j->ev_timeout);
	/*
	 * What is in the pipe now is kept; a grandchild that holds the pipe
	 * open is not waited for.
	 */
	(void)job_drain(j);
	if (j->out_fd != -1) {
		event_del(j->ev_out);
		close(j->out_fd);
		j->out_fd = -1;
	}
	n = read(j->status_fd, j->r.why, sizeof(j->r.why) - 1);
	j->r.why[n > 0 ? n : 0] = '\0';
	j->r.ran = n <= 0;
	if (j->log_fd != -1) {
		if (fsync(j->log_fd) == -1)
			log_warn("job: its log cannot be synced: %s",
			    strerror(errno));
		sha256_final(j->hash, j->r.log_sha256);
		j->hash = NULL;
	}
	event_active(j->ev_done, EV_TIMEOUT, 0);
}

static void
jobs_sigchld(evutil_socket_t fd, short what, void *arg)
{
	struct jobs	*js = arg;
	struct job	*j;
	int		 status;

	(void)fd;
	(void)what;
	TAILQ_FOREACH(j, &js->running, entry)
		if (j->pid > 0 && waitpid(j->pid, &status, WNOHANG) == j->pid)
			job_exited(j, status);
}

static void
job_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct job	*j = arg;
	struct timeval	 tv = { JOB_KILL_AFTER, 0 };

	(void)fd;
	(void)what;
	if (j->pid <= 0)
		return;
	if (!j->killing) {
		log_warn("job %ld: timed out; SIGTERM to its process group",
		    (long)j->pid);
		j->r.timed_out = 1;
		j->killing = 1;
		(void)kill(-j->pid, SIGTERM);
		evtimer_add(j->ev_timeout, &tv);
	} else
		(void)kill(-j->pid, SIGKILL);
}

/* The log file: created afresh, 0600, never through a link. */
static int
job_open_log(struct job *j, const char *path, char *err, size_t errlen)
{
	(void)unlink(path);
	if ((j->log_fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((j->hash = sha256_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

struct job *
job_start(struct jobs *js, const struct job_spec *spec, job_done_fn done,
    void *arg, char *err, size_t errlen)
{
	struct job	*j;
	struct timeval	 tv;
	sigset_t	 all, mask;
	int		 out[2] = { -1, -1 }, st[2] = { -1, -1 };

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	j->owner = js;
	j->out_fd = j->status_fd = j->log_fd = -1;
	j->done = done;
	j->arg = arg;
	j->timeout = spec->timeout;
	if (spec->log_path != NULL && job_open_log(j, spec->log_path, err,
	    errlen) == -1)
		goto fail;
	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(st, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	if ((j->ev_out = event_new(js->base, out[0], EV_READ | EV_PERSIST,
	    job_readable, j)) == NULL || (j->ev_timeout = evtimer_new(js->base,
	    job_timeout, j)) == NULL || (j->ev_done = event_new(js->base, -1,
	    0, job_finish, j)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* The child starts with every signal held (see job_child). */
	sigfillset(&all);
	(void)sigprocmask(SIG_BLOCK, &all, &mask);
	if ((j->pid = fork()) == 0)
		job_child(spec, out[1], st[1]);
	(void)sigprocmask(SIG_SETMASK, &mask, NULL);
	if (j->pid == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto fail;
	}
	close(out[1]);
	close(st[1]);
	j->out_fd = out[0];
	j->status_fd = st[0];
	(void)fcntl(j->out_fd, F_SETFL, O_NONBLOCK);
	(void)fcntl(j->status_fd, F_SETFL, O_NONBLOCK);
	event_add(j->ev_out, NULL);
	tv.tv_sec = (time_t)spec->timeout;
	tv.tv_usec = 0;
	evtimer_add(j->ev_timeout, &tv);
	TAILQ_INSERT_TAIL(&js->running, j, entry);
	/* A child that ended before the event was added is found now. */
	jobs_sigchld(-1, 0, js);
	return j;
fail:
	if (out[0] != -1) {
		close(out[0]);
		close(out[1]);
	}
	if (st[0] != -1) {
		close(st[0]);
		close(st[1]);
	}
	j->pid = 0;
	job_free(j);
	return NULL;
}

void
job_env_add(struct job_env *e, const char *name, const char *value)
{
	if (e->n < JOB_ENV_MAX && asprintf(&e->v[e->n], "%s=%s", name,
	    value) != -1)
		e->n++;
}

void
job_env_free(struct job_env *e)
{
	while (e->n > 0)
		free(e->v[--e->n]);
}

void
job_describe(const struct job_result *r, uint64_t timeout, char *buf,
    size_t len)
{
	char d[32];

	if (!r->ran)
		snprintf(buf, len, "not run: %s", r->why);
	else if (r->timed_out) {
		parse_format_duration(timeout, d, sizeof(d));
		snprintf(buf, len, "timed out after %s", d);
	} else if (WIFEXITED(r->status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(r->status));
	else if (WIFSIGNALED(r->status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(r->status));
	else
		snprintf(buf, len, "ended (status %d)", r->status);
}

struct jobs *
jobs_new(struct event_base *base)
{
	struct jobs *js;

	if ((js = calloc(1, sizeof(*js))) == NULL)
		return NULL;
	js->base = base;
	TAILQ_INIT(&js->running);
	if ((js->ev_chld = evsignal_new(base, SIGCHLD, jobs_sigchld,
	    js)) == NULL || event_add(js->ev_chld, NULL) == -1) {
		if (js->ev_chld != NULL)
			event_free(js->ev_chld);
		free(js);
		return NULL;
	}
	return js;
}

/*
 * At shutdown a job still running is ended as systemd would end it with
 * the gateway's unit: SIGTERM to its group, SIGKILL after
 * JOB_STOP_WAIT_MS.  Its owner finds it unfinished after the restart.
 */
static void
job_stop(struct job *j)
{
	int	status, waited;

	log_warn("job %ld: still running at shutdown; stopping it",
	    (long)j->pid);
	(void)kill(-j->pid, SIGTERM);
	for (waited = 0; waited < JOB_STOP_WAIT_MS; waited += 50) {
		if (waitpid(j->pid, &status, WNOHANG) == j->pid)
			return;
		usleep(50 * 1000);
	}
	(void)kill(-j->pid, SIGKILL);
	while (waitpid(j->pid, &status, 0) == -1 && errno == EINTR)
		;
}

void
jobs_free(struct jobs *js)
{
	struct job *j;

	if (js == NULL)
		return;
	while ((j = TAILQ_FIRST(&js->running)) != NULL) {
		TAILQ_REMOVE(&js->running, j, entry);
		if (j->pid > 0)
			job_stop(j);
		job_free(j);
	}
	event_free(js->ev_chld);
	free(js);
}
