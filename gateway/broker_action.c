/*
 * broker_action.c - [actions]: the changes an engineer may ask for (a
 * restart, an upgrade step), each run approved by the customer.
 *
 * The monitor asks (BM_ACTION) with the engineer's line; the broker
 * decides it again under its own policy, so a monitor cannot make it
 * run anything the policy does not list, puts it on record and lists it
 * for `porthole actions`.  Once approved (or at once under approval =
 * none) it runs as a job (job.h): as the gateway's user, outside any
 * session sandbox, in a process group of its own, stopped at [actions]
 * timeout, never waited for by the event loop.  Its output goes to
 * state_dir/actions/ID.log, whose descriptor the monitor is handed to
 * stream it to the engineer; the audit log gets its argv, its approver,
 * how it ended and the output's SHA-256.  An action that waits ends
 * with its session, when the engineer leaves it, or when nobody decided
 * it within [remote_access] approval_timeout, the bound a session's
 * approval has (it then stays listed as expired for a day, so that a
 * late admin is told rather than puzzled); one that runs runs to its
 * end even if the engineer is gone, for stopping a change half way is
 * worse than letting it finish.  Its output file goes [actions]
 * output_keep after it was last written: its hash is on record.
 */
#include "gateway/broker_int.h"

#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/job.h"
#include "lib/clock.h"
#include "lib/fdpass.h"
#include "lib/fileio.h"
#include "lib/ident.h"
#include "lib/log.h"
#include "lib/parse.h"

#define ACTIONS_MAX	64	/* waiting or running at once */
#define ACTIONS_EXPIRED_MAX	64	/* expired ones listed, the newest */
#define ACTIONS_EXPIRED_KEEP_MS	(24ULL * 3600 * 1000)	/* ... this long */
#define ACTIONS_PRUNE_EVERY_MS	(3600ULL * 1000)	/* outputs checked */

enum gaction_state {
	GA_WAITING,		/* for the customer's decision */
	GA_RUNNING,
	GA_EXPIRED		/* nobody decided in time: listed a while */
};

/* One action asked for: waiting for the customer, running, or expired. */
struct gaction {
	struct broker		*b;
	char			 id[BM_ACTION_ID_LEN + 1];
	char			 sid[GS_ID_LEN + 1];
	char			 engineer[257];
	char			 name[65];
	char			 command[POLICY_MAX_CMDLINE + 1];
	char			**argv;
	time_t			 asked_at;
	time_t			 expires;	/* wall time it stops waiting */
	uint64_t		 expires_ms;	/* ... on the monotonic clock */
	uint64_t		 wait_s;	/* approval_timeout it got */
	uint64_t		 expired_ms;	/* when it expired */
	enum gaction_state	 state;
	char			 by[256];	/* who approved it */
	uint64_t		 timeout;	/* seconds */
	char			 log[4096];	/* its output's file */
	struct job		*job;
	TAILQ_ENTRY(gaction)	 entry;
};

static json_t *
action_argv_json(char **argv)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; a != NULL && argv[i] != NULL; i++)
		json_array_append_new(a, json_string(argv[i]));
	return a;
}

/* The audit fields every action event carries, with more (stolen). */
static json_t *
action_fields(const struct gaction *ga, json_t *more)
{
	json_t *ev = json_pack("{s:s, s:s, s:s, s:o}", "action_id", ga->id,
	    "action", ga->name, "engineer", ga->engineer, "argv",
	    action_argv_json(ga->argv));

	if (ev != NULL && more != NULL)
		json_object_update(ev, more);
	json_decref(more);
	return ev;
}

static void
action_free(struct gaction *ga)
{
	TAILQ_REMOVE(&ga->b->actions, ga, entry);
	if (ga->state != GA_EXPIRED)
		ga->b->nactions--;
	policy_argv_free(ga->argv);
	free(ga);
}

/*
 * Tell the action's monitor how it goes (BM_ACTION_STATE), with its
 * output's file when fd is not -1.  A session that is gone hears
 * nothing; what happened is on record all the same.
 */
static void
action_tell(struct gaction *ga, json_t *fields, int fd)
{
	struct gsess	*gs;
	char		*text;

	json_object_set_new(fields, "msg", json_string(
	    bm_msgs[BM_ACTION_STATE].name));
	json_object_set_new(fields, "id", json_string(ga->id));
	TAILQ_FOREACH(gs, &ga->b->sessions, entry)
		if (strcmp(gs->id, ga->sid) == 0)
			break;
	if (gs != NULL && gs->pid > 0 && gs->pol_fd != -1 &&
	    (text = json_dumps(fields, JSON_COMPACT)) != NULL) {
		if (fdpass_send(gs->pol_fd, text, strlen(text), &fd,
		    fd != -1 ? 1 : 0) == -1)
			log_warn("session %s: cannot tell its monitor about "
			    "action %s", gs->id, ga->id);
		free(text);
	}
	json_decref(fields);
}

/* The job ended: on record with its output's hash, and told. */
static void
action_done(void *arg, const struct job_result *r)
{
	struct gaction	*ga = arg;
	char		 res[160];
	int		 code;

	job_describe(r, ga->timeout, res, sizeof(res));
	if (!r->ran)
		code = 127;
	else if (r->timed_out)
		code = 124;
	else if (WIFEXITED(r->status))
		code = WEXITSTATUS(r->status);
	else
		code = 128 + WTERMSIG(r->status);
	log_info("action %s (%s) of session %s: %s", ga->id, ga->name,
	    ga->sid, res);
	(void)broker_audit(ga->b, "action_finished", ga->sid, action_fields(ga,
	    json_pack("{s:s, s:s, s:i, s:b, s:s, s:I, s:I, s:s}",
	    "approved_by", ga->by, "result", res, "exit_status", code,
	    "timed_out", r->timed_out, "output_sha256", r->log_sha256,
	    "output_bytes", (json_int_t)r->log_bytes, "output_dropped",
	    (json_int_t)r->dropped, "output_file", ga->log)));
	action_tell(ga, json_pack("{s:s, s:i, s:s}", "state", "done",
	    "exit_status", code, "result", res), -1);
	action_free(ga);
}

/*
 * Run it, as a job whose output goes to state_dir/actions/ID.log; the
 * monitor gets that file to stream it.  One that cannot start is on
 * record as action_failed.
 */
static void
action_start(struct gaction *ga)
{
	struct broker	*b = ga->b;
	struct job_spec	 spec;
	struct job_env	 env;
	char		 dir[4096], err[512];
	int		 fd;

	memset(&spec, 0, sizeof(spec));
	memset(&env, 0, sizeof(env));
	ga->timeout = b->pol->action_timeout;
	if (snprintf(dir, sizeof(dir), "%s/actions", b->pol->state_dir) >=
	    (int)sizeof(dir) || snprintf(ga->log, sizeof(ga->log),
	    "%s/%s.log", dir, ga->id) >= (int)sizeof(ga->log)) {
		snprintf(err, sizeof(err), "%s/actions: path too long",
		    b->pol->state_dir);
		goto fail;
	}
	if (fileio_private_dir(dir, 1, err, sizeof(err)) == -1)
		goto fail;
	job_env_add(&env, "PATH", JOB_PATH);
	job_env_add(&env, "PORTHOLE_ACTION", ga->name);
	job_env_add(&env, "PORTHOLE_ACTION_ID", ga->id);
	job_env_add(&env, "PORTHOLE_SESSION_ID", ga->sid);
	spec.argv = ga->argv;
	spec.envp = env.v;
	spec.log_path = ga->log;
	spec.timeout = ga->timeout;
	ga->job = job_start(b->jobs, &spec, action_done, ga, err, sizeof(err));
	job_env_free(&env);
	if (ga->job == NULL)
		goto fail;
	ga->state = GA_RUNNING;
	log_info("action %s (%s) of session %s runs, approved by %s", ga->id,
	    ga->name, ga->sid, ga->by);
	fd = open(ga->log, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	action_tell(ga, json_pack("{s:s, s:s}", "state", "running", "by",
	    ga->by), fd);
	if (fd != -1)
		close(fd);
	return;
fail:
	log_warn("action %s (%s): %s", ga->id, ga->name, err);
	(void)broker_audit(b, "action_failed", ga->sid, action_fields(ga,
	    json_pack("{s:s, s:s}", "approved_by", ga->by, "reason", err)));
	action_tell(ga, json_pack("{s:s, s:i, s:s}", "state", "done",
	    "exit_status", 127, "result", "it could not be started"), -1);
	action_free(ga);
}

/* BM_ACTION: the engineer asks; answered with its id, or BM_LOST why. */
int
gs_msg_action(struct gsess *gs, json_t *msg)
{
	struct broker	*b = gs->b;
	const char	*cmd = json_string_value(json_object_get(msg,
			    "command"));
	struct gaction	*ga = NULL;
	struct actor	 a;
	uint8_t		 rnd[BM_ACTION_ID_LEN / 2];
	char		 why[512];
	size_t		 i;

	if (cmd == NULL || strlen(cmd) > POLICY_MAX_CMDLINE)
		return -1;
	if (b->nactions >= ACTIONS_MAX) {
		snprintf(why, sizeof(why), "%d actions wait or run already",
		    ACTIONS_MAX);
		goto refuse;
	}
	if ((ga = calloc(1, sizeof(*ga))) == NULL ||
	    getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		snprintf(why, sizeof(why), "out of resources");
		goto refuse;
	}
	/* Decided again here: the monitor's word makes nothing run. */
	if (!policy_allow_action(b->pol, cmd, &ga->argv, why, sizeof(why))) {
		(void)broker_audit(b, "action_refused", gs->id, json_pack(
		    "{s:s, s:s, s:s}", "command", cmd, "reason", why,
		    "engineer", gs->engineer));
		goto refuse;
	}
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(ga->id + 2 * i, 3, "%02x", rnd[i]);
	ga->b = b;
	snprintf(ga->sid, sizeof(ga->sid), "%s", gs->id);
	snprintf(ga->engineer, sizeof(ga->engineer), "%s", gs->engineer);
	snprintf(ga->command, sizeof(ga->command), "%s", cmd);
	cmd += strspn(cmd, " \t");
	snprintf(ga->name, sizeof(ga->name), "%.*s", (int)strcspn(cmd, " \t"),
	    cmd);
	ga->asked_at = clock_now();
	/* The bound a session's approval has, fixed when it is asked. */
	ga->wait_s = b->pol->approval_timeout;
	ga->expires = ga->asked_at + (time_t)ga->wait_s;
	ga->expires_ms = clock_mono_ms() + ga->wait_s * 1000;
	ga->state = GA_WAITING;
	if (broker_audit(b, "action_requested", gs->id, action_fields(ga,
	    json_pack("{s:s}", "approval", b->pol->action_approval_required ?
	    "required" : "none"))) == -1) {
		snprintf(why, sizeof(why), "the audit log cannot be written");
		goto refuse;
	}
	TAILQ_INSERT_TAIL(&b->actions, ga, entry);
	b->nactions++;
	gs_answer_note(gs, BM_DURABLE, ga->id);
	if (!b->pol->action_approval_required) {
		actor_internal(&a, "approval = none");
		snprintf(ga->by, sizeof(ga->by), "%s", a.by);
		action_start(ga);
	} else
		log_info("action %s (%s) of session %s waits for approval",
		    ga->id, ga->name, gs->id);
	return 0;
refuse:
	if (ga != NULL)
		policy_argv_free(ga->argv);
	free(ga);
	gs_answer_note(gs, BM_LOST, why);
	return 0;
}

/* Withdraw a waiting action (why), on record; its monitor is told. */
static void
action_withdraw(struct gaction *ga, const char *why)
{
	(void)broker_audit(ga->b, "action_withdrawn", ga->sid,
	    action_fields(ga, json_pack("{s:s}", "reason", why)));
	action_free(ga);
}

/* BM_ACTION_CANCEL: the engineer left it.  A running one runs on. */
int
gs_msg_action_cancel(struct gsess *gs, json_t *msg)
{
	const char	*id = json_string_value(json_object_get(msg, "id"));
	struct gaction	*ga;

	if (id == NULL)
		return -1;
	TAILQ_FOREACH(ga, &gs->b->actions, entry)
		if (strcmp(ga->id, id) == 0 && strcmp(ga->sid, gs->id) == 0)
			break;
	if (ga != NULL && ga->state == GA_WAITING)
		action_withdraw(ga, "the engineer left it before the customer "
		    "decided");
	return 0;
}

void
broker_actions_session_gone(struct broker *b, const char *sid)
{
	struct gaction *ga, *next;

	for (ga = TAILQ_FIRST(&b->actions); ga != NULL; ga = next) {
		next = TAILQ_NEXT(ga, entry);
		if (ga->state == GA_WAITING && strcmp(ga->sid, sid) == 0)
			action_withdraw(ga, "its session ended before the "
			    "customer decided");
	}
}

/*
 * Nobody decided ga within approval_timeout: it is refused as a session
 * would be, on record as denied by "timeout" with the reason, and its
 * engineer is told.  It stays listed, expired, so that an admin who
 * comes late is told so; the oldest expired one goes beyond
 * ACTIONS_EXPIRED_MAX.
 */
static void
action_expire(struct gaction *ga)
{
	struct broker	*b = ga->b;
	struct gaction	*old;
	struct actor	 a;
	json_t		*ev;
	char		 wait[32], why[160];
	size_t		 n = 0;

	parse_format_duration(ga->wait_s, wait, sizeof(wait));
	snprintf(why, sizeof(why), "not approved in time: nobody decided it "
	    "within approval_timeout (%s)", wait);
	actor_internal(&a, "timeout");
	if ((ev = actor_fields(&a)) != NULL)
		json_object_set_new(ev, "reason", json_string(why));
	(void)broker_audit(b, "action_denied", ga->sid, action_fields(ga, ev));
	log_info("action %s (%s) of session %s: %s", ga->id, ga->name,
	    ga->sid, why);
	action_tell(ga, json_pack("{s:s, s:i, s:s}", "state", "expired",
	    "exit_status", 1, "result", why), -1);
	ga->state = GA_EXPIRED;
	ga->expired_ms = clock_mono_ms();
	b->nactions--;
	TAILQ_FOREACH(old, &b->actions, entry)
		n += old->state == GA_EXPIRED;
	TAILQ_FOREACH(old, &b->actions, entry)
		if (old->state == GA_EXPIRED)
			break;
	if (n > ACTIONS_EXPIRED_MAX && old != NULL)
		action_free(old);
}

/* Is name the output file of an action, "ID.log"?  Its ID in id. */
static int
action_log_name(const char *name, char *id)
{
	if (strlen(name) != BM_ACTION_ID_LEN + 4 ||
	    strcmp(name + BM_ACTION_ID_LEN, ".log") != 0 ||
	    !ident_valid_len(name, BM_ACTION_ID_LEN, BM_ACTION_ID_LEN,
	    IDENT_HEX))
		return 0;
	memcpy(id, name, BM_ACTION_ID_LEN);
	id[BM_ACTION_ID_LEN] = '\0';
	return 1;
}

static int
action_runs(struct broker *b, const char *id)
{
	struct gaction *ga;

	TAILQ_FOREACH(ga, &b->actions, entry)
		if (ga->state == GA_RUNNING && strcmp(ga->id, id) == 0)
			return 1;
	return 0;
}

/*
 * The outputs in state_dir/actions last written longer ago than
 * [actions] output_keep go: each one's SHA-256 and size are in the
 * audit chain already.  Only names the gateway gives (ID.log) are
 * touched, and never a running action's.
 */
static void
actions_prune(struct broker *b)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		 dir[4096], id[BM_ACTION_ID_LEN + 1], keep[32];
	time_t		 before;
	unsigned	 n = 0;
	int		 fd;

	before = clock_now() - (time_t)b->pol->action_output_keep;
	if (snprintf(dir, sizeof(dir), "%s/actions", b->pol->state_dir) >=
	    (int)sizeof(dir))
		return;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (errno != ENOENT)
			log_warn("%s: %s", dir, strerror(errno));
		if (fd != -1)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (!action_log_name(de->d_name, id) || action_runs(b, id) ||
		    fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode) || st.st_mtime > before)
			continue;
		if (unlinkat(fd, de->d_name, 0) == -1)
			log_warn("%s/%s: %s", dir, de->d_name, strerror(errno));
		else
			n++;
	}
	closedir(d);
	parse_format_duration(b->pol->action_output_keep, keep, sizeof(keep));
	if (n > 0)
		log_info("%s: %u action output%s older than output_keep (%s) "
		    "removed", dir, n, n == 1 ? "" : "s", keep);
}

void
broker_actions_tick(struct broker *b)
{
	struct gaction	*ga, *next;
	uint64_t	 now = clock_mono_ms();

	for (ga = TAILQ_FIRST(&b->actions); ga != NULL; ga = next) {
		next = TAILQ_NEXT(ga, entry);
		if (ga->state == GA_WAITING && now >= ga->expires_ms)
			action_expire(ga);
		else if (ga->state == GA_EXPIRED &&
		    now - ga->expired_ms >= ACTIONS_EXPIRED_KEEP_MS)
			action_free(ga);
	}
	if (!b->actions_pruned ||
	    now - b->actions_pruned_ms >= ACTIONS_PRUNE_EVERY_MS) {
		b->actions_pruned = 1;
		b->actions_pruned_ms = now;
		actions_prune(b);
	}
}

/* Are the two argvs the same words? */
static int
action_argv_same(char **a, char **b)
{
	size_t i;

	for (i = 0; a[i] != NULL && b[i] != NULL; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return a[i] == NULL && b[i] == NULL;
}

int
broker_action_decide(struct broker *b, const char *id, int approve,
    const struct actor *a, char *err, size_t errlen)
{
	struct gaction	*ga;
	char		**now = NULL, why[512], when[32];
	json_t		*ev;

	TAILQ_FOREACH(ga, &b->actions, entry)
		if (strcmp(ga->id, id) == 0)
			break;
	if (ga == NULL) {
		snprintf(err, errlen, "no such action (it may have ended)");
		return -2;
	}
	if (ga->state == GA_RUNNING) {
		snprintf(err, errlen, "action %s was approved already and "
		    "runs", id);
		return -1;
	}
	if (ga->state == GA_EXPIRED) {
		parse_format_time(ga->expires, when, sizeof(when));
		snprintf(err, errlen, "action %s expired at %s: nobody decided "
		    "it within approval_timeout; the engineer must ask again",
		    id, when);
		return -1;
	}
	/* A reload since it was asked for may have taken it away. */
	if (approve && (!policy_allow_action(b->pol, ga->command, &now, why,
	    sizeof(why)) || !action_argv_same(now, ga->argv))) {
		if (now != NULL)
			snprintf(why, sizeof(why), "the policy now runs it "
			    "differently");
		policy_argv_free(now);
		snprintf(err, errlen, "the policy no longer allows it (%s); "
		    "it is withdrawn", why);
		action_withdraw(ga, err);
		return -1;
	}
	policy_argv_free(now);
	if ((ev = actor_fields(a)) == NULL || broker_audit(b, approve ?
	    "action_approved" : "action_denied", ga->sid, action_fields(ga,
	    ev)) == -1) {
		snprintf(err, errlen, "the audit log cannot be written");
		return -1;
	}
	snprintf(ga->by, sizeof(ga->by), "%s", a->by);
	if (approve) {
		action_start(ga);
		return 0;
	}
	log_info("action %s (%s) denied by %s", ga->id, ga->name, a->by);
	action_tell(ga, json_pack("{s:s, s:s, s:s}", "state", "denied", "by",
	    a->by, "reason", a->reason), -1);
	action_free(ga);
	return 0;
}

json_t *
broker_actions(struct broker *b)
{
	static const char *const states[] = {
		[GA_WAITING] = "waiting",
		[GA_RUNNING] = "running",
		[GA_EXPIRED] = "expired",
	};
	struct gaction	*ga;
	json_t		*list = json_array(), *one;
	char		 when[32], until[32];

	TAILQ_FOREACH(ga, &b->actions, entry) {
		parse_format_time(ga->asked_at, when, sizeof(when));
		one = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, "
		    "s:s}", "id", ga->id, "session", ga->sid, "engineer",
		    ga->engineer, "action", ga->name, "command", ga->command,
		    "argv", action_argv_json(ga->argv), "state",
		    states[ga->state], "asked", when, "approved_by", ga->by);
		/* Until when it waits, or when it stopped waiting. */
		if (one != NULL && ga->state != GA_RUNNING) {
			parse_format_time(ga->expires, until, sizeof(until));
			json_object_set_new(one, "expires",
			    json_string(until));
		}
		json_array_append_new(list, one);
	}
	return list;
}

/*
 * At shutdown, before the audit log closes: a running action is on
 * record as stopped (jobs_free stops it, without its callback), and
 * what the callbacks would have freed is freed here.
 */
void
broker_actions_free(struct broker *b)
{
	struct gaction *ga;

	while ((ga = TAILQ_FIRST(&b->actions)) != NULL) {
		if (ga->state == GA_RUNNING) {
			log_warn("action %s (%s) is stopped with the gateway",
			    ga->id, ga->name);
			(void)broker_audit(b, "action_finished", ga->sid,
			    action_fields(ga, json_pack("{s:s, s:s, s:s}",
			    "approved_by", ga->by, "result", "stopped: the "
			    "gateway stops", "output_file", ga->log)));
			job_forget(ga->job);
		}
		action_free(ga);
	}
}
