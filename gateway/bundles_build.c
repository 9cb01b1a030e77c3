/*
 * bundles_build.c - each support bundle is built in a process forked
 * for it (a vendor's request or a product's event has no session, and
 * so no monitor, to do it).
 *
 * The builder first runs the [bundle] commands as a session's monitor
 * runs diagnostics (gateway/monitor/diag.h: namespaces of their own,
 * the unprivileged user, Landlock and seccomp, [commands] timeout),
 * keeping at most BUNDLES_DIAG_MAX bytes of each one's output.  Then it
 * opens its two output files, and confines itself for good
 * (sbx_confine_bundle): it may read beneath the [files] roots and write
 * beneath state_dir/bundles, and its system calls are an allow-list
 * without sockets, exec or fork.  Only then does it read the files, as
 * file access reads them (bundle/bundle.h), redacted by [redact].  A
 * build is bounded: max_size counts what it reads, BUNDLES_BUILD_MAX
 * its time (the writer stops reading before it, and the gateway kills
 * a builder that is still there after it), and its files cannot grow
 * past what max_size allows.
 *
 * It reports on a pipe, one JSON object: the archive's SHA-256, size,
 * and the manifest's summary, or why it failed.  The gateway takes its
 * word for nothing it can check: the files it names are the ones the
 * gateway chose, and the result's fields are validated (bundles.c).
 */
#include "gateway/bundles_int.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "gateway/monitor/diag.h"
#include "lib/clock.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/sha256.h"
#include "sandbox/sandbox.h"

#define RESULT_MAX	4096		/* the builder's report */
#define REAP_MS		50		/* after its report: until it exits */
#define REAP_TRIES	100
#define KILL_GRACE	30		/* seconds past BUNDLES_BUILD_MAX */

/* The builder of one bundle, as the gateway watches it. */
struct build {
	struct bundles	*bs;
	char		 id[BUNDLES_ID_LEN + 1];
	pid_t		 pid;		/* 0 once reaped */
	int		 fd;		/* its report; -1 at its end */
	struct event	*ev_read;
	struct event	*ev_timer;	/* the deadline; then reaping */
	char		 buf[RESULT_MAX];
	size_t		 len;
	int		 tries;
	int		 timed_out;
};

/* ---- in the builder ---- */

/* One diagnostic's output as it is gathered. */
struct gather {
	char		*buf;
	size_t		 len, cap, max;
	int		 cut;
};

static int
gather_add(struct gather *g, const char *p, size_t n)
{
	char	*nb;
	size_t	 cap;

	if (g->len + n > g->max) {
		n = g->max - g->len;
		g->cut = 1;
	}
	if (g->len + n > g->cap) {
		cap = g->cap == 0 ? 64 * 1024 : g->cap;
		while (cap < g->len + n)
			cap *= 2;
		if ((nb = realloc(g->buf, cap)) == NULL)
			return -1;
		g->buf = nb;
		g->cap = cap;
	}
	memcpy(g->buf + g->len, p, n);
	g->len += n;
	return 0;
}

/*
 * Read a diagnostic's stdout and stderr until both end, until deadline
 * (clock_mono_ms) or until max bytes came; each into its own buffer.
 * 1 if the deadline passed, else 0.
 */
static int
gather_pipes(int out, int err, struct gather g[2], uint64_t deadline)
{
	struct pollfd	pfd[2] = { { out, POLLIN, 0 }, { err, POLLIN, 0 } };
	char		buf[16384];
	uint64_t	now;
	ssize_t		n;
	int		k;

	while (pfd[0].fd != -1 || pfd[1].fd != -1) {
		if ((now = clock_mono_ms()) >= deadline)
			return 1;
		if (poll(pfd, 2, (int)(deadline - now)) == -1 &&
		    errno != EINTR)
			return 0;
		for (k = 0; k < 2; k++) {
			if (pfd[k].fd == -1 || pfd[k].revents == 0)
				continue;
			n = read(pfd[k].fd, buf, sizeof(buf));
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0 || gather_add(&g[k], buf, (size_t)n) == -1)
				pfd[k].fd = -1;
			/* Past the bound: nothing more is read. */
			if (g[k].cut)
				return 0;
		}
	}
	return 0;
}

/* The argv of [commands] entry name, or NULL. */
static char **
command_argv(const struct policy *pol, const char *name)
{
	size_t i;

	for (i = 0; i < pol->ncommands; i++)
		if (strcmp(pol->commands[i].name, name) == 0)
			return pol->commands[i].argv;
	return NULL;
}

/*
 * Run one [bundle] command as a diagnostic: its output (stdout, then
 * stderr) at most max bytes, into dg.  Whatever goes wrong is the
 * diagnostic's exit status and output, not the bundle's failure.
 */
static void
run_diag(const struct policy *pol, const char *name, size_t max,
    uint64_t build_deadline, struct bundle_diag *dg)
{
	struct gather	 g[2];
	char		 why[512], **argv;
	uint64_t	 deadline;
	pid_t		 pid, r;
	int		 out, err, status = 0, late;

	memset(g, 0, sizeof(g));
	memset(dg, 0, sizeof(*dg));
	dg->name = name;
	dg->exit_status = -1;
	g[0].max = g[1].max = max;
	if ((argv = command_argv(pol, name)) == NULL) {
		snprintf(why, sizeof(why), "porthole: %s is no longer a "
		    "[commands] entry\n", name);
		(void)gather_add(&g[1], why, strlen(why));
		goto out;
	}
	if (diag_spawn(argv, pol->user, (const char *const *)pol->file_paths,
	    pol->command_timeout, &pid, &out, &err, why, sizeof(why)) == -1) {
		(void)gather_add(&g[1], "porthole: ", 10);
		(void)gather_add(&g[1], why, strlen(why));
		goto out;
	}
	deadline = clock_mono_ms() + pol->command_timeout * 1000;
	if (deadline > build_deadline)
		deadline = build_deadline;
	late = gather_pipes(out, err, g, deadline);
	close(out);
	close(err);
	/* Its output ended: it has until the deadline to exit. */
	status = 0;
	while (!late && !g[0].cut && !g[1].cut) {
		if ((r = waitpid(pid, &status, WNOHANG)) == pid)
			break;
		if ((r == -1 && errno != EINTR) || clock_mono_ms() >= deadline)
			late = 1;
		else
			(void)poll(NULL, 0, 10);
	}
	/* Its reaper is PID 1 of its namespace: this ends them all. */
	if (late || g[0].cut || g[1].cut) {
		(void)kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
	}
	dg->timed_out = late;
	dg->cut = g[0].cut || g[1].cut;
	if (!late && !dg->cut && WIFEXITED(status))
		dg->exit_status = WEXITSTATUS(status);
out:
	/* stdout, then stderr, within max together. */
	if (g[0].len + g[1].len > max) {
		g[1].len = max - g[0].len;
		dg->cut = 1;
	}
	g[0].max = max;
	if (g[1].len > 0)
		(void)gather_add(&g[0], g[1].buf, g[1].len);
	free(g[1].buf);
	dg->out = g[0].buf != NULL ? g[0].buf : "";
	dg->len = g[0].len;
}

/* The report on fd 3: one JSON object, then the builder exits. */
static void __attribute__((noreturn))
report(json_t *r, int code)
{
	char *text = r != NULL ? json_dumps(r, JSON_COMPACT) : NULL;

	if (text != NULL)
		(void)fileio_write_all(3, text, strlen(text));
	_exit(code);
}

static void __attribute__((noreturn))
fail(const char *why)
{
	report(json_pack("{s:b, s:s}", "ok", 0, "reason", why), 1);
}

/* Write the manifest to fd and hash it: 0, or -1. */
static int
write_manifest(int fd, const struct bundle_result *res, char *sha)
{
	struct sha256 *md;

	if (fileio_write_all(fd, res->manifest, res->manifest_len) == -1 ||
	    fsync(fd) == -1 || (md = sha256_new()) == NULL)
		return -1;
	sha256_update(md, res->manifest, res->manifest_len);
	sha256_final(md, sha);
	return 0;
}

/* Open ID + suffix.part in dir for writing, afresh. */
static int
open_part(int dir, const char *id, const char *suffix)
{
	char name[BUNDLES_ID_LEN + 64];

	snprintf(name, sizeof(name), "%s%s.part", id, suffix);
	(void)unlinkat(dir, name, 0);
	return openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
}

static void __attribute__((noreturn))
build_child(const struct policy *pol, const struct bundle *b,
    const char *dirpath, int res)
{
	struct bundle_diag	*diags = NULL;
	struct bundle_result	 out;
	struct bundle_req	 req;
	struct rlimit		 fsize;
	sigset_t		 none;
	uint64_t		 deadline, left = pol->bundle_max_size;
	char			 why[512], msha[SHA256_HEX_LEN + 1];
	size_t			 i;
	int			 dir, tgz, man, sig;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	(void)prctl(PR_SET_NAME, "portholed-bundle");
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGXFSZ && sig != SIGPIPE)
			(void)signal(sig, SIG_DFL);
	(void)signal(SIGXFSZ, SIG_IGN);	/* a write past the bound fails */
	(void)signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if ((res != 3 && dup2(res, 3) == -1) ||
	    fcntl(3, F_SETFD, FD_CLOEXEC) == -1)
		_exit(1);
	(void)close_range(4, ~0U, 0);
	deadline = clock_mono_ms() + (BUNDLES_BUILD_MAX - 10) * 1000ULL;
	if (pol->nbundle_commands > 0 && (diags = calloc(
	    pol->nbundle_commands, sizeof(*diags))) == NULL)
		fail("out of memory");
	for (i = 0; i < pol->nbundle_commands; i++) {
		run_diag(pol, pol->bundle_commands[i], left < BUNDLES_DIAG_MAX ?
		    (size_t)left : BUNDLES_DIAG_MAX, deadline, &diags[i]);
		left -= diags[i].len;
	}
	if ((dir = open(dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (tgz = open_part(dir, b->id, ".tar.gz")) == -1 ||
	    (man = open_part(dir, b->id, ".manifest.json")) == -1) {
		snprintf(why, sizeof(why), "%s: %s", dirpath, strerror(errno));
		fail(why);
	}
	/* gzip can grow incompressible data a little; nothing more. */
	fsize.rlim_cur = fsize.rlim_max = pol->bundle_max_size +
	    pol->bundle_max_size / 8 + 16 * 1024 * 1024;
	if (setrlimit(RLIMIT_FSIZE, &fsize) == -1 ||
	    sbx_confine_bundle((const char *const *)pol->file_paths, dirpath,
	    why, sizeof(why)) == -1)
		fail(why);
	memset(&req, 0, sizeof(req));
	req.pol = pol;
	req.id = b->id;
	req.ticket = b->ticket[0] != '\0' ? b->ticket : NULL;
	req.requested_by = b->by;
	req.now = clock_now();
	req.deadline_ms = deadline;
	req.diags = diags;
	req.ndiags = pol->nbundle_commands;
	req.spool_dir = dir;
	if (bundle_write(&req, tgz, &out, why, sizeof(why)) == -1)
		fail(why);
	if (fsync(tgz) == -1 || write_manifest(man, &out, msha) == -1) {
		snprintf(why, sizeof(why), "%s: %s", dirpath, strerror(errno));
		fail(why);
	}
	report(json_pack("{s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:s}",
	    "ok", 1, "sha256", out.sha256, "size", (json_int_t)out.size,
	    "bytes_read", (json_int_t)out.bytes_read, "files",
	    (json_int_t)out.files, "left_out", (json_int_t)out.left_out,
	    "redactions", (json_int_t)out.redactions, "truncated",
	    out.truncated, "timed_out", out.timed_out, "manifest_sha256",
	    msha), 0);
}

/* ---- in the gateway ---- */

static void
build_free(struct build *bd)
{
	if (bd->ev_read != NULL)
		event_free(bd->ev_read);
	if (bd->ev_timer != NULL)
		event_free(bd->ev_timer);
	if (bd->fd != -1)
		close(bd->fd);
	free(bd);
}

/* The builder is gone: what it said, or how it died, to bundles.c. */
static void
build_done(struct build *bd, int status)
{
	struct bundles	*bs = bd->bs;
	json_t		*r = NULL;
	char		 why[256], id[BUNDLES_ID_LEN + 1];
	const char	*said;

	r = bd->len > 0 ? json_loadb(bd->buf, bd->len,
	    JSON_REJECT_DUPLICATES, NULL) : NULL;
	said = json_string_value(json_object_get(r, "reason"));
	if (bd->timed_out)
		snprintf(why, sizeof(why), "it took longer than %d s and was "
		    "killed", BUNDLES_BUILD_MAX + KILL_GRACE);
	else if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "its builder was killed by signal "
		    "%d%s", WTERMSIG(status), WTERMSIG(status) == SIGSYS ?
		    " (a system call its sandbox forbids)" : "");
	else if (said != NULL)
		snprintf(why, sizeof(why), "%.200s", said);
	else
		snprintf(why, sizeof(why), "its builder ended without a "
		    "report (exit %d)", WIFEXITED(status) ?
		    WEXITSTATUS(status) : -1);
	if (bd->timed_out || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    !json_is_true(json_object_get(r, "ok"))) {
		json_decref(r);
		r = NULL;
	}
	memcpy(id, bd->id, sizeof(id));
	bs->build = NULL;
	build_free(bd);
	bs->built(bs, id, r, why);
	json_decref(r);
}

/* Has the builder exited?  Then it is done with. */
static int
build_reap(struct build *bd)
{
	int	status;
	pid_t	r;

	while ((r = waitpid(bd->pid, &status, WNOHANG)) == -1 &&
	    errno == EINTR)
		;
	if (r == 0)
		return 0;
	if (r == -1)
		status = W_EXITCODE(1, 0);
	bd->pid = 0;
	build_done(bd, status);
	return 1;
}

static void
build_timer(evutil_socket_t fd, short what, void *arg)
{
	struct build	*bd = arg;
	struct timeval	 tv = { 0, REAP_MS * 1000 };

	(void)fd;
	(void)what;
	if (bd->fd == -1 && build_reap(bd))
		return;
	if (bd->fd == -1 && ++bd->tries < REAP_TRIES) {
		evtimer_add(bd->ev_timer, &tv);
		return;
	}
	/* Past its time, or it will not exit: it is killed. */
	if (bd->fd != -1) {
		bd->timed_out = 1;
		log_warn("bundle %s: its builder ran longer than %d s; killed",
		    bd->id, BUNDLES_BUILD_MAX + KILL_GRACE);
	}
	(void)kill(bd->pid, SIGKILL);
	while (waitpid(bd->pid, NULL, 0) == -1 && errno == EINTR)
		;
	bd->pid = 0;
	build_done(bd, W_EXITCODE(0, SIGKILL));
}

static void
build_readable(evutil_socket_t fd, short what, void *arg)
{
	struct build	*bd = arg;
	struct timeval	 tv = { 0, REAP_MS * 1000 };
	char		 buf[1024];
	ssize_t		 n;

	(void)fd;
	(void)what;
	n = read(bd->fd, buf, sizeof(buf));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0) {
		/* A report past the bound is not one. */
		if (bd->len + (size_t)n <= sizeof(bd->buf)) {
			memcpy(bd->buf + bd->len, buf, (size_t)n);
			bd->len += (size_t)n;
		} else
			bd->len = 0;
		return;
	}
	/* Its end: the builder is exiting. */
	event_del(bd->ev_read);
	close(bd->fd);
	bd->fd = -1;
	if (!build_reap(bd)) {
		evtimer_del(bd->ev_timer);
		evtimer_add(bd->ev_timer, &tv);
	}
}

int
build_start(struct bundles *bs, struct bundle *b, char *why, size_t whylen)
{
	struct build	*bd;
	struct timeval	 tv = { BUNDLES_BUILD_MAX + KILL_GRACE, 0 };
	int		 pv[2];

	if ((bd = calloc(1, sizeof(*bd))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	bd->bs = bs;
	bd->fd = -1;
	memcpy(bd->id, b->id, sizeof(bd->id));
	if (pipe2(pv, O_CLOEXEC) == -1) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		free(bd);
		return -1;
	}
	b->state = BS_BUILDING;
	if (bundle_save(bs, b) == -1) {
		b->state = BS_REQUESTED;
		snprintf(why, whylen, "its state cannot be written");
		goto fail;
	}
	if ((bd->pid = fork()) == -1) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		goto fail;
	}
	if (bd->pid == 0) {
		close(pv[0]);
		build_child(bs->pol, b, bs->dir, pv[1]);
	}
	close(pv[1]);
	bd->fd = pv[0];
	(void)fcntl(bd->fd, F_SETFL, O_NONBLOCK);
	if ((bd->ev_read = event_new(bs->base, bd->fd, EV_READ | EV_PERSIST,
	    build_readable, bd)) == NULL ||
	    (bd->ev_timer = evtimer_new(bs->base, build_timer, bd)) == NULL ||
	    event_add(bd->ev_read, NULL) == -1 ||
	    evtimer_add(bd->ev_timer, &tv) == -1) {
		/* Cannot watch it: it must not run unwatched. */
		(void)kill(bd->pid, SIGKILL);
		while (waitpid(bd->pid, NULL, 0) == -1 && errno == EINTR)
			;
		snprintf(why, whylen, "out of memory");
		build_free(bd);
		return -1;
	}
	bs->build = bd;
	log_info("bundle %s: building (process %ld)", b->id, (long)bd->pid);
	return 0;
fail:
	close(pv[0]);
	close(pv[1]);
	free(bd);
	return -1;
}

void
build_kill(struct bundles *bs)
{
	struct build	*bd = bs->build;
	char		 path[4200];

	if (bd == NULL)
		return;
	if (bd->pid > 0) {
		(void)kill(bd->pid, SIGKILL);
		while (waitpid(bd->pid, NULL, 0) == -1 && errno == EINTR)
			;
	}
	bundle_path(bs, bd->id, ".tar.gz.part", path, sizeof(path));
	(void)unlink(path);
	bundle_path(bs, bd->id, ".manifest.json.part", path, sizeof(path));
	(void)unlink(path);
	bs->build = NULL;
	build_free(bd);
}
