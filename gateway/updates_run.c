/*
 * updates_run.c - the customer's commands of [updates], run as jobs
 * (job.h): version_command for the baseline, notify_command to tell the
 * admins, update_command to install.
 *
 * update_command runs on a copy of the package in a directory only the
 * gateway's user (root) can write, made and checked by the job's child
 * before the command starts: whatever happens to the downloaded file
 * or to the relay afterwards, the command gets exactly the bytes the
 * signed notice describes, or it does not run.
 */
#include "gateway/updates_int.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/sha256.h"

/* ---- version_command ---- */

static void
version_done(void *arg, const struct job_result *r)
{
	struct updates	*up = arg;
	char		 line[VERSION_MAX_LEN + 2], res[160];
	size_t		 n;

	up->version_job = NULL;
	n = strcspn(r->out, "\r\n");
	snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) - 1 ? n :
	    sizeof(line) - 1), r->out);
	if (r->ran && WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0 &&
	    version_parse(line, &up->baseline) == 0) {
		version_format(&up->baseline, up->baseline_s,
		    sizeof(up->baseline_s));
		up->have_baseline = 1;
		up->baseline_error[0] = '\0';
		log_info("updates: version_command says %s is installed",
		    up->baseline_s);
		/* Notices that waited for it are judged now. */
		inbox_retry(up->inbox);
		return;
	}
	job_describe(r, UPDATES_VERSION_TIMEOUT, res, sizeof(res));
	if (strcmp(res, "exit 0") == 0)
		snprintf(up->baseline_error, sizeof(up->baseline_error),
		    "version_command printed no dotted decimal version");
	else
		snprintf(up->baseline_error, sizeof(up->baseline_error),
		    "version_command: %s", res);
	up->baseline_retry = clock_now() + UPDATES_VERSION_RETRY;
	log_error("updates: %s; notices wait until it works",
	    up->baseline_error);
}

void
updates_run_version(struct updates *up)
{
	struct job_spec	 spec;
	struct job_env	 e = { { NULL }, 0 };
	char		 err[256];

	if (up->version_job != NULL || up->pol->version_command == NULL)
		return;
	memset(&spec, 0, sizeof(spec));
	if ((spec.argv = policy_hook_argv(up->pol->version_command)) == NULL)
		return;
	job_env_add(&e, "PATH", JOB_PATH);
	spec.envp = e.v;
	spec.timeout = UPDATES_VERSION_TIMEOUT;
	if ((up->version_job = job_start(up->jobs, &spec, version_done, up,
	    err, sizeof(err))) == NULL) {
		snprintf(up->baseline_error, sizeof(up->baseline_error),
		    "version_command: %.150s", err);
		up->baseline_retry = clock_now() + UPDATES_VERSION_RETRY;
	}
	policy_argv_free(spec.argv);
	job_env_free(&e);
}

/* ---- notify_command ---- */

/* The last line of a job's output, for the audit log. */
static void
last_line(const struct job_result *r, char *buf, size_t len)
{
	size_t	end = r->outlen, start;

	while (end > 0 && (r->out[end - 1] == '\n' || r->out[end - 1] == '\r'))
		end--;
	for (start = end; start > 0 && r->out[start - 1] != '\n'; start--)
		;
	snprintf(buf, len, "%.*s", (int)(end - start), r->out + start);
}

static void
notify_done(void *arg, const struct job_result *r)
{
	struct updates	*up = arg;
	struct update	*u = updates_find(up, up->notifying);
	char		 res[160], out[200], when[32];
	time_t		 now = clock_now();

	up->notify_job = NULL;
	up->notifying[0] = '\0';
	if (u == NULL || (u->state != US_ANNOUNCED && u->state !=
	    US_SCHEDULED))
		return;
	parse_format_time(up->notify_when, when, sizeof(when));
	if (r->ran && WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0) {
		u->notify_failures = 0;
		u->next_notify = 0;
		updates_event(up, "update_notified", u, json_pack("{s:s}",
		    "when", when));
		if (u->state == US_ANNOUNCED)
			updates_scheduled(up, u, now, up->notify_when);
	} else {
		job_describe(r, UPDATES_NOTIFY_TIMEOUT, res, sizeof(res));
		last_line(r, out, sizeof(out));
		u->notify_failures++;
		/* The first notice is retried; a later one is only audited. */
		if (u->state == US_ANNOUNCED)
			u->next_notify = now + UPDATES_NOTIFY_RETRY;
		log_warn("updates: notify_command for %s failed (%s)%s",
		    u->n.version, res, u->state == US_ANNOUNCED ?
		    "; trying again in an hour" : "");
		updates_event(up, "update_notify_failed", u, json_pack(
		    "{s:s, s:s, s:i}", "result", res, "output", out,
		    "failures", (int)u->notify_failures));
	}
	updates_save(up);
	updates_eval(up);
}

int
updates_run_notify(struct updates *up, struct update *u, time_t when,
    const char *why)
{
	struct job_spec	 spec;
	struct job_env	 e = { { NULL }, 0 };
	char		 w[32], err[256];

	if (up->pol->notify_command == NULL || up->notify_job != NULL)
		return -1;
	memset(&spec, 0, sizeof(spec));
	if ((spec.argv = policy_hook_argv(up->pol->notify_command)) == NULL)
		return -1;
	parse_format_time(when, w, sizeof(w));
	job_env_add(&e, "PATH", JOB_PATH);
	job_env_add(&e, "PORTHOLE_UPDATE_VERSION", u->n.version);
	job_env_add(&e, "PORTHOLE_UPDATE_WHEN", w);
	job_env_add(&e, "PORTHOLE_UPDATE_NOTES", u->n.notes);
	job_env_add(&e, "PORTHOLE_UPDATE_EVENT", why);
	spec.envp = e.v;
	spec.timeout = UPDATES_NOTIFY_TIMEOUT;
	up->notify_when = when;
	if ((up->notify_job = job_start(up->jobs, &spec, notify_done, up, err,
	    sizeof(err))) != NULL)
		snprintf(up->notifying, sizeof(up->notifying), "%s",
		    u->n.version);
	else {
		log_error("updates: notify_command: %s", err);
		u->next_notify = clock_now() + UPDATES_NOTIFY_RETRY;
	}
	policy_argv_free(spec.argv);
	job_env_free(&e);
	return up->notify_job != NULL ? 0 : -1;
}

/* ---- update_command ---- */

/*
 * A directory only the gateway's user may change: made 0700 if missing,
 * and refused unless it is a directory it owns that nobody else may
 * write.  0, or -1 with why.
 */
static int
private_dir(const char *path, int make, char *why, size_t whylen)
{
	struct stat sb;

	if (make && mkdir(path, 0700) == -1 && errno != EEXIST) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (lstat(path, &sb) == -1) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() ||
	    (sb.st_mode & 022) != 0) {
		snprintf(why, whylen, "%s: must be a directory owned by uid %u "
		    "that others cannot write", path, (unsigned)geteuid());
		return -1;
	}
	return 0;
}

int
updates_dirs_ok(struct updates *up, char *why, size_t whylen)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", up->dir, UPDATES_INSTALL_DIR);
	return private_dir(up->pol->state_dir, 0, why, whylen) == -1 ||
	    private_dir(up->dir, 1, why, whylen) == -1 ||
	    private_dir(path, 1, why, whylen) == -1 ? -1 : 0;
}

/* What the child copies, and what the copy must be. */
struct copy {
	char		src[4200];
	char		dst[4200];
	char		sha256[65];
	uint64_t	size;
};

/* In the job's child: copy the package, then check the copy itself. */
static int
copy_package(void *arg, char *why, size_t whylen)
{
	struct copy	*c = arg;
	struct stat	 sb;
	char		 buf[65536], hex[65];
	uint64_t	 size;
	ssize_t		 n;
	int		 in, out, rc = -1;

	(void)unlink(c->dst);
	if ((in = open(c->src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    (out = open(c->dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		snprintf(why, whylen, "%s: %s", in == -1 ? c->src : c->dst,
		    strerror(errno));
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	if (n == -1 || fsync(out) == -1 || close(out) == -1) {
		snprintf(why, whylen, "%s: %s", c->dst, strerror(errno));
		goto out;
	}
	if ((out = open(c->dst, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    fstat(out, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_uid != geteuid() || sha256_fd(out, hex, &size) == -1) {
		snprintf(why, whylen, "%s: cannot be checked: %s", c->dst,
		    strerror(errno));
		goto out;
	}
	close(out);
	if (size != c->size || strcmp(hex, c->sha256) != 0) {
		snprintf(why, whylen, "the copy %s has %" PRIu64 " bytes with "
		    "SHA-256 %s; the signed notice gives %" PRIu64 " bytes with "
		    "%s", c->dst, size, hex, c->size, c->sha256);
		(void)unlink(c->dst);
		goto out;
	}
	rc = 0;
out:
	close(in);
	return rc;
}

/* update_command's argv with {package} and {version} filled in. */
static char **
install_argv(const char *cmd, const char *package, const char *version)
{
	char	**argv, *w, *p;
	size_t	 i;
	struct {
		const char *ph, *value;
	} fill[] = { { "{package}", package }, { "{version}", version } };
	size_t	 f, plen;

	if ((argv = policy_hook_argv(cmd)) == NULL)
		return NULL;
	for (i = 0; argv[i] != NULL; i++) {
		for (f = 0; f < 2; f++) {
			plen = strlen(fill[f].ph);
			while ((p = strstr(argv[i], fill[f].ph)) != NULL) {
				if (asprintf(&w, "%.*s%s%s", (int)(p - argv[i]),
				    argv[i], fill[f].value, p + plen) == -1) {
					policy_argv_free(argv);
					return NULL;
				}
				free(argv[i]);
				argv[i] = w;
			}
		}
	}
	return argv;
}

static void
install_done(void *arg, const struct job_result *r)
{
	struct updates	*up = arg;
	struct update	*u = updates_find(up, up->installing);
	char		 log[4300];

	up->install_job = NULL;
	up->installing[0] = '\0';
	if (u == NULL || u->state != US_STARTED)
		return;
	u->finished = clock_now();
	job_describe(r, up->pol->update_timeout, u->result, sizeof(u->result));
	snprintf(u->log_sha256, sizeof(u->log_sha256), "%s", r->log_sha256);
	snprintf(log, sizeof(log), "%s/%s.log", up->dir, u->n.version);
	if (r->ran && !r->timed_out && WIFEXITED(r->status) &&
	    WEXITSTATUS(r->status) == 0) {
		u->state = US_INSTALLED;
		up->installed = u->n.v;
		snprintf(up->installed_s, sizeof(up->installed_s), "%s",
		    u->n.version);
		up->installed_at = u->finished;
		up->have_record = 1;
		updates_release(up, u);
		log_info("updates: %s installed", u->n.version);
		updates_event(up, "update_installed", u, json_pack(
		    "{s:s, s:s, s:I, s:I}", "log", log, "log_sha256",
		    u->log_sha256, "log_bytes", (json_int_t)r->log_bytes,
		    "seconds", (json_int_t)(u->finished - u->started)));
	} else {
		u->state = US_FAILED;
		snprintf(u->reason, sizeof(u->reason), "update_command: %s",
		    u->result);
		updates_release(up, u);
		log_error("updates: %s failed: %s", u->n.version, u->result);
		updates_event(up, "update_failed", u, json_pack(
		    "{s:s, s:s, s:s, s:I}", "result", u->result, "log", log,
		    "log_sha256", u->log_sha256, "log_bytes",
		    (json_int_t)r->log_bytes));
	}
	updates_save(up);
	updates_eval(up);
}

/* The install cannot start: the update failed, and why. */
static int
install_refused(struct updates *up, struct update *u, const char *why)
{
	u->state = US_FAILED;
	snprintf(u->result, sizeof(u->result), "not run");
	snprintf(u->reason, sizeof(u->reason), "%s", why);
	log_error("updates: %s cannot be installed: %s", u->n.version, why);
	updates_event(up, "update_failed", u, json_pack("{s:s}", "result",
	    why));
	updates_save(up);
	return -1;
}

int
updates_run_install(struct updates *up, struct update *u)
{
	static struct copy	 c;	/* read by the child, after fork */
	struct job_spec		 spec;
	struct job_env		 e = { { NULL }, 0 };
	char			 log[4300], why[512];

	if (up->install_job != NULL)
		return -1;
	if (up->pol->update_command == NULL)
		return install_refused(up, u, "[updates] update_command is "
		    "not set");
	if (updates_dirs_ok(up, why, sizeof(why)) == -1)
		return install_refused(up, u, why);
	memset(&spec, 0, sizeof(spec));
	pkgget_path(up->pkgget, u->n.sha256, c.src, sizeof(c.src));
	snprintf(c.dst, sizeof(c.dst), "%s/%s/%s.pkg", up->dir,
	    UPDATES_INSTALL_DIR, u->n.version);
	snprintf(c.sha256, sizeof(c.sha256), "%s", u->n.sha256);
	c.size = u->n.size;
	snprintf(log, sizeof(log), "%s/%s.log", up->dir, u->n.version);
	if ((spec.argv = install_argv(up->pol->update_command, c.dst,
	    u->n.version)) == NULL)
		return install_refused(up, u, "out of memory");
	job_env_add(&e, "PATH", JOB_PATH);
	job_env_add(&e, "PORTHOLE_UPDATE_PACKAGE", c.dst);
	job_env_add(&e, "PORTHOLE_UPDATE_VERSION", u->n.version);
	spec.envp = e.v;
	spec.log_path = log;
	spec.timeout = up->pol->update_timeout;
	spec.prepare = copy_package;
	spec.prepare_arg = &c;
	up->install_job = job_start(up->jobs, &spec, install_done, up, why,
	    sizeof(why));
	policy_argv_free(spec.argv);
	job_env_free(&e);
	if (up->install_job == NULL)
		return install_refused(up, u, why);
	snprintf(up->installing, sizeof(up->installing), "%s", u->n.version);
	u->state = US_STARTED;
	u->started = clock_now();
	u->waiting[0] = '\0';
	log_info("updates: installing %s", u->n.version);
	updates_event(up, "update_started", u, json_pack("{s:s, s:s}",
	    "package", c.dst, "sha256", u->n.sha256));
	updates_save(up);
	return 0;
}
