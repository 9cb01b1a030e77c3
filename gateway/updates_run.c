/*
 * updates_run.c - the customer's commands of [updates], run as jobs
 * (job.h): version_command for the installed version, notify_command
 * to tell the admins, update_command to install.
 *
 * update_command runs on a copy of the package in a directory only the
 * gateway's user (root) can write, made and checked by the job's child
 * before the command starts: whatever happens to the downloaded file
 * or to the relay afterwards, the command gets exactly the bytes the
 * signed notice describes, or it does not run.
 */
#include "gateway/updates_int.h"

#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/sha256.h"
#include "lib/testhook.h"

/* ---- version_command ---- */

static void
version_done(void *arg, const struct job_result *r)
{
	struct updates	*up = arg;
	struct version	 v;
	char		 line[VERSION_MAX_LEN + 2], res[160], was[sizeof(
			    up->product_s)];
	size_t		 n;

	up->version_job = NULL;
	n = strcspn(r->out, "\r\n");
	snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) - 1 ? n :
	    sizeof(line) - 1), r->out);
	if (r->ran && WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0 &&
	    version_parse(line, &v) == 0) {
		snprintf(was, sizeof(was), "%s", up->have_product ?
		    up->product_s : "");
		up->product = v;
		version_format(&v, up->product_s, sizeof(up->product_s));
		up->have_product = 1;
		up->product_ms = up->version_started_ms;
		up->product_error[0] = '\0';
		if (strcmp(was, up->product_s) != 0)
			log_info("updates: version_command says %s is "
			    "installed", up->product_s);
		/* Notices and an install that waited for it go on now. */
		inbox_retry(up->inbox);
		up->eval(up);
		return;
	}
	job_describe(r, UPDATES_VERSION_TIMEOUT, res, sizeof(res));
	if (strcmp(res, "exit 0") == 0)
		snprintf(up->product_error, sizeof(up->product_error),
		    "version_command printed no dotted decimal version");
	else
		snprintf(up->product_error, sizeof(up->product_error),
		    "version_command: %s", res);
	up->product_retry_ms = clock_mono_ms() + UPDATES_VERSION_RETRY * 1000ULL;
	log_error("updates: %s; notices and installs wait until it works",
	    up->product_error);
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
	up->version_started_ms = clock_mono_ms();
	if ((up->version_job = job_start(up->jobs, &spec, version_done, up,
	    err, sizeof(err))) == NULL) {
		snprintf(up->product_error, sizeof(up->product_error),
		    "version_command: %.150s", err);
		up->product_retry_ms = clock_mono_ms() +
		    UPDATES_VERSION_RETRY * 1000ULL;
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
	struct update	*u = updates_find_msg(up, up->notifying);
	char		 res[160], out[200], when[32];
	time_t		 now = clock_now();

	up->notify_job = NULL;
	up->notifying = 0;
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
			up->scheduled(up, u, now, up->notify_when);
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
	up->eval(up);
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
		up->notifying = u->msg_id;
	else {
		log_error("updates: notify_command: %s", err);
		u->next_notify = clock_now() + UPDATES_NOTIFY_RETRY;
	}
	policy_argv_free(spec.argv);
	job_env_free(&e);
	return up->notify_job != NULL ? 0 : -1;
}

/* ---- update_command ---- */

/* The directories the copy and its log live in: made and checked. */
static int
updates_dirs_ok(struct updates *up, char *why, size_t whylen)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", up->dir, UPDATES_INSTALL_DIR);
	return fileio_private_dir(up->pol->state_dir, 0, why, whylen) == -1 ||
	    fileio_private_dir(up->dir, 1, why, whylen) == -1 ||
	    fileio_private_dir(path, 1, why, whylen) == -1 ? -1 : 0;
}

/* DIR/install/VERSION.pkg, the copy update_command runs on. */
static void
updates_copy_path(const struct updates *up, const char *version, char *buf,
    size_t len)
{
	snprintf(buf, len, "%s/%s/%s.pkg", up->dir, UPDATES_INSTALL_DIR,
	    version);
}

/* DIR/VERSION.log, update_command's output. */
static void
updates_log_path(const struct updates *up, const char *version, char *buf,
    size_t len)
{
	snprintf(buf, len, "%s/%s.log", up->dir, version);
}

/* name is STEM.ext: STEM in stem (len bytes), 1; or 0. */
static int
name_stem(const char *name, const char *ext, char *stem, size_t len)
{
	size_t n = strlen(name), e = strlen(ext);

	if (n <= e || n - e >= len || strcmp(name + n - e, ext) != 0)
		return 0;
	memcpy(stem, name, n - e);
	stem[n - e] = '\0';
	return 1;
}

/* Is some update still waiting for or running package sha?  1 or 0. */
static int
package_held(const struct updates *up, const char *sha)
{
	size_t i;

	for (i = 0; i < up->n; i++)
		if (up->u[i].state != US_INSTALLED &&
		    up->u[i].state != US_FAILED &&
		    up->u[i].state != US_REFUSED &&
		    up->u[i].state != US_SUPERSEDED &&
		    strcmp(up->u[i].n.sha256, sha) == 0)
			return 1;
	return 0;
}

/*
 * The install copy kept: the running update's, and the newest failed
 * one's, which stays for the admins to look at until another update
 * starts (a copy may be 16 GiB; one is plenty to look at).
 */
static int
copy_held(const struct updates *up, const char *version)
{
	const struct update	*newest = NULL, *running = NULL;
	size_t			 i;

	for (i = 0; i < up->n; i++) {
		if (up->u[i].state == US_STARTED)
			running = &up->u[i];
		if (up->u[i].state == US_FAILED && (newest == NULL ||
		    up->u[i].started > newest->started))
			newest = &up->u[i];
	}
	if (running != NULL)
		return strcmp(running->n.version, version) == 0;
	return newest != NULL && strcmp(newest->n.version, version) == 0;
}

/* Remove path, saying what it was if it cannot be. */
static void
sweep_one(const char *dir, const char *name)
{
	char path[4400];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("updates: %s: %s", path, strerror(errno));
	else
		log_info("updates: %s removed: no update holds it", path);
}

/*
 * The files of updates porthole no longer holds: a package or part no
 * update waits for or runs, an install copy copy_held does not keep, a
 * log of an update no record names (its record was the oldest of
 * UPDATES_KEEP finished ones).  At start, when an update starts or
 * ends, and when a record goes; a name it did not make is left alone.
 */
void
updates_sweep(struct updates *up)
{
	char		 dir[4200], stem[VERSION_MAX_LEN + 70];
	struct dirent	*de;
	struct version	 v;
	DIR		*d;

	if ((d = opendir(up->dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if ((name_stem(de->d_name, ".pkg", stem, sizeof(stem)) ||
			    name_stem(de->d_name, ".part", stem,
			    sizeof(stem))) && sha256_valid_hex(stem) &&
			    !package_held(up, stem))
				sweep_one(up->dir, de->d_name);
			else if (name_stem(de->d_name, ".log", stem,
			    sizeof(stem)) && version_parse(stem, &v) == 0 &&
			    updates_find(up, stem) == NULL)
				sweep_one(up->dir, de->d_name);
		}
		closedir(d);
	}
	snprintf(dir, sizeof(dir), "%s/%s", up->dir, UPDATES_INSTALL_DIR);
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (name_stem(de->d_name, ".pkg", stem, sizeof(stem)) &&
			    version_parse(stem, &v) == 0 &&
			    !copy_held(up, stem))
				sweep_one(dir, de->d_name);
		closedir(d);
	}
}

/*
 * An update is over: its downloaded package goes (no other record
 * waits for the same one), and so does the copy it ran on, unless it
 * failed: that copy stays for the admins to look at.
 */
void
updates_release(struct updates *up, struct update *u)
{
	char	path[4200];
	size_t	i;

	for (i = 0; i < up->n; i++)
		if (&up->u[i] != u && !updates_terminal(up->u[i].state) &&
		    strcmp(up->u[i].n.sha256, u->n.sha256) == 0)
			break;
	if (i == up->n) {
		pkgget_drop(up->pkgget, u->n.sha256);
		pkgget_path(up->pkgget, u->n.sha256, path, sizeof(path));
		if (unlink(path) == -1 && errno != ENOENT)
			log_warn("updates: %s: %s", path, strerror(errno));
	}
	if (u->state == US_FAILED)
		return;
	updates_copy_path(up, u->n.version, path, sizeof(path));
	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("updates: %s: %s", path, strerror(errno));
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

/*
 * s with {package} and {version} filled in, in one pass from left to
 * right: what is put in is never read again, so a path or version that
 * holds a placeholder's name stays as it is (searching the result
 * again, as this once did, never ended for a state_dir holding
 * "{package}").  A new string, or NULL.
 */
static char *
fill_placeholders(const char *s, const char *package, const char *version)
{
	static const char	*ph[] = { "{package}", "{version}" };
	const char		*val[] = { package, version };
	char			*buf = NULL;
	size_t			 len = 0, f, plen = 0;
	FILE			*fp;
	int			 failed;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		return NULL;
	while (*s != '\0') {
		for (f = 0; f < 2; f++) {
			plen = strlen(ph[f]);
			if (strncmp(s, ph[f], plen) == 0)
				break;
		}
		if (f < 2) {
			fputs(val[f], fp);
			s += plen;
		} else
			fputc(*s++, fp);
	}
	failed = ferror(fp);
	if (fclose(fp) != 0 || failed) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* update_command's argv with {package} and {version} filled in. */
static char **
install_argv(const char *cmd, const char *package, const char *version)
{
	char	**argv, *w;
	size_t	 i;

	if ((argv = policy_hook_argv(cmd)) == NULL)
		return NULL;
	for (i = 0; argv[i] != NULL; i++) {
		if ((w = fill_placeholders(argv[i], package, version)) ==
		    NULL) {
			policy_argv_free(argv);
			return NULL;
		}
		free(argv[i]);
		argv[i] = w;
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
	updates_log_path(up, u->n.version, log, sizeof(log));
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
	/* What the product says it is now, for the views and the next. */
	updates_run_version(up);
	updates_save(up);
	up->eval(up);
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

/*
 * u on record as started, before update_command can run: a gateway
 * killed in between finds it started - interrupted, failed, its outcome
 * not known - and never runs it a second time.  0; or -1, u as it was,
 * waiting for its state to be written (said once), and nothing starts.
 */
static int
install_record(struct updates *up, struct update *u)
{
	struct update	was = *u;
	char		why[4400], waiting[sizeof(u->waiting)];

	u->state = US_STARTED;
	u->started = clock_now();
	u->waiting[0] = '\0';
	if (updates_store(up, why, sizeof(why)) == 0)
		return 0;
	*u = was;
	snprintf(waiting, sizeof(waiting), "its window has come; the state "
	    "cannot be written: %.140s", why);
	if (strcmp(waiting, u->waiting) != 0)
		log_error("updates: %s does not start until its state can be "
		    "written: %s", u->n.version, why);
	memcpy(u->waiting, waiting, sizeof(u->waiting));
	return -1;
}

int
updates_run_install(struct updates *up, struct update *u)
{
	static struct copy	 c;	/* read by the child, after fork */
	struct job_spec		 spec;
	struct job_env		 e = { { NULL }, 0 };
	char			 log[4300], why[512];
	int			 rc = -1;

	if (up->install_job != NULL)
		return -1;
	if (up->pol->update_command == NULL)
		return install_refused(up, u, "[updates] update_command is "
		    "not set");
	if (updates_dirs_ok(up, why, sizeof(why)) == -1)
		return install_refused(up, u, why);
	memset(&spec, 0, sizeof(spec));
	pkgget_path(up->pkgget, u->n.sha256, c.src, sizeof(c.src));
	updates_copy_path(up, u->n.version, c.dst, sizeof(c.dst));
	snprintf(c.sha256, sizeof(c.sha256), "%s", u->n.sha256);
	c.size = u->n.size;
	updates_log_path(up, u->n.version, log, sizeof(log));
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
	if (install_record(up, u) == -1)
		goto out;
	if ((up->install_job = job_start(up->jobs, &spec, install_done, up,
	    why, sizeof(why))) == NULL) {
		rc = install_refused(up, u, why);
		goto out;
	}
	testhook_kill_at("install");
	snprintf(up->installing, sizeof(up->installing), "%s", u->n.version);
	/* The copy of an update that failed before goes now. */
	updates_sweep(up);
	log_info("updates: installing %s", u->n.version);
	updates_event(up, "update_started", u, json_pack("{s:s, s:s}",
	    "package", c.dst, "sha256", u->n.sha256));
	rc = 0;
out:
	policy_argv_free(spec.argv);
	job_env_free(&e);
	return rc;
}
