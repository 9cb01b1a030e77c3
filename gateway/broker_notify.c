/*
 * broker_notify.c - [remote_access] notify_command: the customer's own
 * program, run when a session starts to wait for their approval, so
 * that someone is told rather than having to watch porthole sessions.
 *
 * It runs as a job (job.h): in a process group of its own, outside any
 * session sandbox, never waited for by the event loop, stopped after
 * notify_timeout.  What it is told comes from the engineer's
 * certificate and from the relay, so none of it is trusted: each value
 * is bounded and its control characters are written as \xNN
 * (lib/escape.h), so that a key id cannot smuggle a newline into a
 * mail header or an escape sequence into a terminal.  How it ended is
 * audited, a failure as notify_failed.
 */
#include "gateway/broker_int.h"

#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/job.h"
#include "lib/escape.h"
#include "lib/log.h"

#define NOTIFY_VALUE_MAX	256	/* bytes of a value, before escaping */
#define NOTIFY_ENV_MAX		8

/* One notify_command running, for session sid. */
struct notify {
	struct broker		*b;
	char			 sid[GS_ID_LEN + 1];
	struct job		*job;
	uint64_t		 timeout;
	TAILQ_ENTRY(notify)	 entry;
};

/* NAME=VALUE with VALUE bounded and escaped, into env[*n]. */
static void
notify_env(char **env, size_t *n, const char *name, const char *value)
{
	char	esc[4 * NOTIFY_VALUE_MAX + 1];
	size_t	len = strnlen(value, NOTIFY_VALUE_MAX);

	(void)escape_text(value, len, esc, sizeof(esc));
	if (*n < NOTIFY_ENV_MAX && asprintf(&env[*n], "%s=%s", name,
	    esc) != -1)
		(*n)++;
}

/* The last line of the job's output, escaped, for the audit log. */
static void
notify_last_line(const struct job_result *r, char *buf, size_t len)
{
	size_t	end = r->outlen, start;

	while (end > 0 && (r->out[end - 1] == '\n' || r->out[end - 1] == '\r'))
		end--;
	for (start = end; start > 0 && r->out[start - 1] != '\n'; start--)
		;
	(void)escape_text(r->out + start, end - start, buf, len);
}

static void
notify_done(void *arg, const struct job_result *r)
{
	struct notify	*nt = arg;
	struct broker	*b = nt->b;
	char		 res[160], out[512];
	int		 ok;

	TAILQ_REMOVE(&b->notifying, nt, entry);
	ok = r->ran && WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
	job_describe(r, nt->timeout, res, sizeof(res));
	notify_last_line(r, out, sizeof(out));
	if (!ok)
		log_warn("session %s: notify_command failed (%s)", nt->sid,
		    res);
	(void)broker_audit(b, ok ? "notify_sent" : "notify_failed", nt->sid,
	    json_pack("{s:s, s:s}", "result", res, "output", out));
	free(nt);
}

void
gs_notify_waiting(struct gsess *gs)
{
	struct broker	*b = gs->b;
	struct job_spec	 spec;
	struct notify	*nt;
	char		*env[NOTIFY_ENV_MAX + 1], err[256];
	size_t		 n = 0;

	if (b->pol->ra_notify_command == NULL || b->jobs == NULL)
		return;
	memset(&spec, 0, sizeof(spec));
	memset(env, 0, sizeof(env));
	if ((nt = calloc(1, sizeof(*nt))) == NULL ||
	    (spec.argv = policy_hook_argv(b->pol->ra_notify_command)) ==
	    NULL) {
		free(nt);
		(void)broker_audit(b, "notify_failed", gs->id, json_pack(
		    "{s:s}", "result", "not run: out of memory"));
		return;
	}
	nt->b = b;
	nt->timeout = b->pol->ra_notify_timeout;
	snprintf(nt->sid, sizeof(nt->sid), "%s", gs->id);
	notify_env(env, &n, "PATH", "/usr/bin:/bin");
	notify_env(env, &n, "PORTHOLE_SESSION_ID", gs->id);
	notify_env(env, &n, "PORTHOLE_ENGINEER", gs->engineer);
	notify_env(env, &n, "PORTHOLE_KEY_ID", gs->key_id);
	notify_env(env, &n, "PORTHOLE_TICKET", gs->ticket);
	notify_env(env, &n, "PORTHOLE_FROM", gs->from);
	spec.envp = env;
	spec.timeout = nt->timeout;
	if ((nt->job = job_start(b->jobs, &spec, notify_done, nt, err,
	    sizeof(err))) == NULL) {
		log_warn("session %s: notify_command: %s", gs->id, err);
		(void)broker_audit(b, "notify_failed", gs->id, json_pack(
		    "{s:s}", "result", err));
		free(nt);
	} else
		TAILQ_INSERT_TAIL(&b->notifying, nt, entry);
	policy_argv_free(spec.argv);
	while (n > 0)
		free(env[--n]);
}

void
broker_set_jobs(struct broker *b, struct jobs *jobs)
{
	b->jobs = jobs;
}

/*
 * At shutdown: what the running jobs' callbacks would have freed is
 * freed here, and each job is told to forget its callback - a job that
 * ends after this (the broker goes before the jobs) must not call back
 * into what is freed.
 */
void
broker_notify_free(struct broker *b)
{
	struct notify *nt;

	while ((nt = TAILQ_FIRST(&b->notifying)) != NULL) {
		TAILQ_REMOVE(&b->notifying, nt, entry);
		if (nt->job != NULL)
			job_forget(nt->job);
		free(nt);
	}
}
