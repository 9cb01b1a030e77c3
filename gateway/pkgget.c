/*
 * pkgget.c - packages from the relay, a piece at a time, resumable
 * (pkgget.h).
 */
#include "gateway/pkgget.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/escape.h"
#include "lib/log.h"
#include "lib/sha256.h"
#include "lib/sshwire.h"
#include "telemetry/frame.h"

#define PKGGET_HASH_STEP	(4 * 1024 * 1024)	/* per loop turn */
#define PKGGET_WRITE_RETRY	60	/* seconds after a failed write */
#define PKGGET_B64_MAX		((FRAME_PKG_DATA + 2) / 3 * 4)
#define PKGGET_LOG_EVERY_MS	60000	/* unsolicited pieces: a line */

/* One wanted package; w[0] is the one being fetched. */
struct want {
	char		 sha[65];
	uint64_t	 size;		/* what the signed notice gives */
	int		 fd;		/* DIR/H.part; -1 until w[0] */
	uint64_t	 have;		/* bytes the part holds */
	uint64_t	 hashed;	/* of those, in the running hash */
	struct sha256	*h;
	unsigned	 tries;		/* fetches that failed */
	char		 waiting[160];	/* what the relay said instead */
};

struct pkgget {
	char		 dir[4096];
	pkgget_done_fn	 done;
	void		*arg;
	void		(*kick)(void *);
	void		*kick_arg;
	struct want	 w[PKGGET_WANTS];
	size_t		 n;
	int		 inflight;	/* a pkg_get for w[0] is out */
	uint64_t	 asked;		/* at this offset */
	struct event	*ev_hash;	/* hashes a resumed part, in steps */
	struct event	*ev_retry;	/* asks again after a pause */
	uint64_t	 unsolicited;	/* pieces nobody asked for */
	uint64_t	 unsolicited_logged;	/* clock_mono_ms() */
	unsigned char	*buf;		/* one decoded piece */
	char		*rbuf;		/* hashing reads */
};

static void	want_start(struct pkgget *);

/* ev fires in secs seconds (0: after what is due now). */
static void
timer_in(struct event *ev, time_t secs)
{
	struct timeval tv = { secs, 0 };

	evtimer_add(ev, &tv);
}

static void
part_path(const struct pkgget *g, const char *sha, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.part", g->dir, sha);
}

void
pkgget_path(const struct pkgget *g, const char *sha, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.pkg", g->dir, sha);
}

static struct want *
want_find(struct pkgget *g, const char *sha, size_t *idx)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		if (strcmp(g->w[i].sha, sha) == 0) {
			if (idx != NULL)
				*idx = i;
			return &g->w[i];
		}
	return NULL;
}

/* Forget w[i]; with unlink_part its part goes too. */
static void
want_remove(struct pkgget *g, size_t i, int unlink_part)
{
	char path[4200];

	if (g->w[i].fd != -1)
		close(g->w[i].fd);
	sha256_free(g->w[i].h);
	if (unlink_part) {
		part_path(g, g->w[i].sha, path, sizeof(path));
		(void)unlink(path);
	}
	if (i == 0) {
		g->inflight = 0;
		evtimer_del(g->ev_hash);
		evtimer_del(g->ev_retry);
	}
	memmove(&g->w[i], &g->w[i + 1], (g->n - i - 1) * sizeof(g->w[0]));
	g->n--;
}

/* The fetch of w[0] ends: the next one starts, then the owner hears. */
static void
want_end(struct pkgget *g, int ok, const char *why)
{
	char sha[65];

	snprintf(sha, sizeof(sha), "%s", g->w[0].sha);
	if (!ok)
		log_warn("package %.16s...: refused: %s", sha, why);
	want_remove(g, 0, !ok);
	want_start(g);
	g->done(g->arg, sha, ok, why);
}

/*
 * What w[0]'s part holds cannot be the package (a piece the relay
 * damaged, one that was damaged on the disk here, a piece out of
 * place): the part is thrown away and fetched again after a pause,
 * PKGGET_TRIES times in all; after that the package is refused.  The
 * relay may be restarted, or its store repaired, meanwhile.
 */
static void
want_fail(struct pkgget *g, const char *why)
{
	struct want	*w = &g->w[0];
	time_t		 pause;

	if (++w->tries >= PKGGET_TRIES) {
		want_end(g, 0, why);
		return;
	}
	pause = (time_t)PKGGET_REFETCH << (2 * (w->tries - 1));
	log_warn("package %.16s...: %s; the part is thrown away and fetched "
	    "again in %llds (try %u of %d)", w->sha, why, (long long)pause,
	    w->tries + 1, PKGGET_TRIES);
	snprintf(w->waiting, sizeof(w->waiting), "fetched again in %llds: "
	    "%.120s", (long long)pause, why);
	sha256_free(w->h);
	w->have = w->hashed = 0;
	g->inflight = 0;
	if (ftruncate(w->fd, 0) == -1 || (w->h = sha256_new()) == NULL) {
		want_end(g, 0, "the part cannot be thrown away");
		return;
	}
	timer_in(g->ev_retry, pause);
}

/* All bytes are in: the package is the notice's, or it is refused. */
static void
want_complete(struct pkgget *g)
{
	struct want	*w = &g->w[0];
	char		 hex[65], part[4200], pkg[4200], why[300];
	int		 dfd;

	sha256_final(w->h, hex);
	w->h = NULL;
	if (strcmp(hex, w->sha) != 0) {
		snprintf(why, sizeof(why), "the package the relay sent has "
		    "SHA-256 %s; the signed notice gives %s", hex, w->sha);
		want_fail(g, why);
		return;
	}
	part_path(g, w->sha, part, sizeof(part));
	pkgget_path(g, w->sha, pkg, sizeof(pkg));
	if (fsync(w->fd) == -1 || rename(part, pkg) == -1) {
		log_error("package %.16s...: %s: %s", w->sha, pkg,
		    strerror(errno));
		snprintf(w->waiting, sizeof(w->waiting), "the package cannot "
		    "be kept: %s", strerror(errno));
		return;
	}
	if ((dfd = open(g->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	log_info("package %.16s...: complete, %" PRIu64 " bytes", w->sha,
	    w->size);
	want_end(g, 1, "");
}

/* Hash the next piece of a part held from before. */
static void
want_hash(evutil_socket_t fd, short what, void *arg)
{
	struct pkgget	*g = arg;
	struct want	*w = &g->w[0];
	ssize_t		 n;
	size_t		 k;

	(void)fd;
	(void)what;
	if (g->n == 0 || w->hashed >= w->have)
		return;
	k = w->have - w->hashed < PKGGET_HASH_STEP ? w->have - w->hashed :
	    PKGGET_HASH_STEP;
	if ((n = pread(w->fd, g->rbuf, k, (off_t)w->hashed)) <= 0) {
		/* Unreadable: start it again from nothing. */
		log_warn("package %.16s...: the part held cannot be read (%s); "
		    "fetched again", w->sha, n == 0 ? "short" : strerror(errno));
		if (ftruncate(w->fd, 0) == -1)
			log_error("package: cannot truncate: %s",
			    strerror(errno));
		sha256_free(w->h);
		w->h = sha256_new();
		w->have = w->hashed = 0;
	} else {
		sha256_update(w->h, g->rbuf, (size_t)n);
		w->hashed += (uint64_t)n;
	}
	if (w->hashed < w->have) {
		/* A zero timeout: the next piece after what else is due. */
		timer_in(g->ev_hash, 0);
		return;
	}
	if (w->have == w->size) {
		want_complete(g);
		return;
	}
	g->kick(g->kick_arg);
}

/* Open w[0]'s part and pick up from what it holds. */
static void
want_start(struct pkgget *g)
{
	struct want	*w = &g->w[0];
	struct stat	 sb;
	char		 path[4200];

	if (g->n == 0 || w->fd != -1)
		return;
	part_path(g, w->sha, path, sizeof(path));
	if ((w->fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1 || fstat(w->fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    (w->h = sha256_new()) == NULL) {
		snprintf(w->waiting, sizeof(w->waiting), "the part cannot be "
		    "opened: %s", strerror(errno));
		log_error("package: %s: %s", path, strerror(errno));
		if (w->fd != -1)
			close(w->fd);
		w->fd = -1;
		timer_in(g->ev_retry, PKGGET_WRITE_RETRY);
		return;
	}
	w->have = (uint64_t)sb.st_size;
	w->hashed = 0;
	if (w->have > w->size) {
		if (ftruncate(w->fd, 0) == -1)
			log_error("package: %s: %s", path, strerror(errno));
		w->have = 0;
	}
	if (w->have > 0)
		log_info("package %.16s...: resuming at %" PRIu64 " of %"
		    PRIu64 " bytes", w->sha, w->have, w->size);
	if (w->have > 0)
		timer_in(g->ev_hash, 0);
	else
		g->kick(g->kick_arg);
}

int
pkgget_want(struct pkgget *g, const char *sha, uint64_t size)
{
	struct stat	sb;
	char		path[4200];
	struct want	*w;

	pkgget_path(g, sha, path, sizeof(path));
	if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (uint64_t)sb.st_size == size)
		return 1;
	if (want_find(g, sha, NULL) != NULL)
		return 0;
	if (g->n == PKGGET_WANTS || !sha256_valid_hex(sha))
		return -1;
	w = &g->w[g->n++];
	memset(w, 0, sizeof(*w));
	snprintf(w->sha, sizeof(w->sha), "%s", sha);
	w->size = size;
	w->fd = -1;
	want_start(g);
	return 0;
}

void
pkgget_drop(struct pkgget *g, const char *sha)
{
	size_t i;

	if (want_find(g, sha, &i) == NULL)
		return;
	want_remove(g, i, 1);
	want_start(g);
}

int
pkgget_progress(const struct pkgget *g, const char *sha, uint64_t *have,
    const char **waiting)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		if (strcmp(g->w[i].sha, sha) == 0) {
			*have = g->w[i].have;
			*waiting = g->w[i].waiting;
			return 1;
		}
	return 0;
}

json_t *
pkgget_request(struct pkgget *g)
{
	struct want *w = &g->w[0];

	if (g->n == 0 || g->inflight || w->fd == -1 || w->hashed != w->have ||
	    w->have >= w->size || evtimer_pending(g->ev_retry, NULL))
		return NULL;
	g->inflight = 1;
	g->asked = w->have;
	return json_pack("{s:s, s:s, s:I}", "t", "pkg_get", "sha256", w->sha,
	    "offset", (json_int_t)w->have);
}

/* The relay had nothing to give: ask again later. */
static void
want_pause(struct pkgget *g, const char *said)
{
	struct want	*w = &g->w[0];
	char		 e[128];

	escape_text(said, strnlen(said, 100), e, sizeof(e));
	if (strcmp(w->waiting, e) != 0)
		log_warn("package %.16s...: the relay says: %s; asking again in "
		    "%ds", w->sha, e, PKGGET_RETRY);
	snprintf(w->waiting, sizeof(w->waiting), "%s", e);
	timer_in(g->ev_retry, PKGGET_RETRY);
}

/* Keep a checked piece; 0, or -1 when it cannot be written (paused). */
static int
want_write(struct pkgget *g, const unsigned char *p, size_t n)
{
	struct want	*w = &g->w[0];
	ssize_t		 k;
	size_t		 off;

	for (off = 0; off < n; off += (size_t)k)
		if ((k = pwrite(w->fd, p + off, n - off, (off_t)(w->have +
		    off))) <= 0)
			break;
	if (off < n || fdatasync(w->fd) == -1) {
		snprintf(w->waiting, sizeof(w->waiting), "the part cannot be "
		    "written: %s", strerror(errno));
		log_error("package %.16s...: %s", w->sha, w->waiting);
		timer_in(g->ev_retry, PKGGET_WRITE_RETRY);
		return -1;
	}
	sha256_update(w->h, p, n);
	w->have += n;
	w->hashed = w->have;
	w->waiting[0] = '\0';
	return 0;
}

/*
 * A piece nobody asked for: ignored and counted.  A relay sending them
 * by the thousand gets one log line a minute, not one each.
 */
static void
unsolicited(struct pkgget *g)
{
	uint64_t now = clock_mono_ms();

	g->unsolicited++;
	if (g->unsolicited_logged != 0 &&
	    now - g->unsolicited_logged < PKGGET_LOG_EVERY_MS)
		return;
	g->unsolicited_logged = now;
	log_warn("package: a piece nobody asked for ignored (%" PRIu64 " so "
	    "far)", g->unsolicited);
}

int
pkgget_chunk(struct pkgget *g, json_t *f, char *why, size_t whylen)
{
	const char	*sha = json_string_value(json_object_get(f, "sha256"));
	const char	*data = json_string_value(json_object_get(f, "data"));
	const char	*err = json_string_value(json_object_get(f, "error"));
	json_t		*joff = json_object_get(f, "offset");
	struct want	*w = &g->w[0];
	char		 r[300];
	ssize_t		 n;
	size_t		 dlen;
	int		 last = json_is_true(json_object_get(f, "last"));

	if (sha == NULL || !json_is_integer(joff) ||
	    (err == NULL && data == NULL)) {
		snprintf(why, whylen, "a malformed pkg_chunk");
		return -1;
	}
	if (g->n == 0 || !g->inflight) {
		unsolicited(g);
		return 0;
	}
	g->inflight = 0;
	if (strcmp(sha, w->sha) != 0 || json_integer_value(joff) < 0 ||
	    (uint64_t)json_integer_value(joff) != g->asked) {
		snprintf(r, sizeof(r), "the relay answered with a piece of "
		    "another package or at another offset than %" PRIu64,
		    g->asked);
		want_fail(g, r);
		return 0;
	}
	if (err != NULL) {
		want_pause(g, err);
		return 0;
	}
	dlen = strlen(data);
	if (dlen > PKGGET_B64_MAX || (n = sshwire_b64_decode(data, dlen,
	    g->buf, FRAME_PKG_DATA)) < 0) {
		want_fail(g, "the relay sent a piece that is not base64 of at "
		    "most 512 KiB");
		return 0;
	}
	if (w->have + (uint64_t)n > w->size) {
		snprintf(r, sizeof(r), "the relay sends more than the %" PRIu64
		    " bytes the signed notice gives", w->size);
		want_fail(g, r);
		return 0;
	}
	if ((last && w->have + (uint64_t)n != w->size) || (n == 0 && !last)) {
		snprintf(r, sizeof(r), "the relay's package ends at %" PRIu64
		    " bytes; the signed notice gives %" PRIu64,
		    w->have + (uint64_t)n, w->size);
		want_fail(g, r);
		return 0;
	}
	if (want_write(g, g->buf, (size_t)n) == -1)
		return 0;
	if (w->have == w->size)
		want_complete(g);
	return 0;
}

void
pkgget_link_down(struct pkgget *g)
{
	g->inflight = 0;
}

static void
want_retry(evutil_socket_t fd, short what, void *arg)
{
	struct pkgget *g = arg;

	(void)fd;
	(void)what;
	if (g->n > 0 && g->w[0].fd == -1)
		want_start(g);
	else
		g->kick(g->kick_arg);
}

struct pkgget *
pkgget_new(struct event_base *base, const char *dir, pkgget_done_fn done,
    void *arg, void (*kick)(void *), void *kick_arg, char *err,
    size_t errlen)
{
	struct pkgget *g;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	g->done = done;
	g->arg = arg;
	g->kick = kick;
	g->kick_arg = kick_arg;
	if ((size_t)snprintf(g->dir, sizeof(g->dir), "%s", dir) >=
	    sizeof(g->dir) || (mkdir(dir, 0700) == -1 && errno != EEXIST)) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	if ((g->buf = malloc(FRAME_PKG_DATA)) == NULL ||
	    (g->rbuf = malloc(PKGGET_HASH_STEP)) == NULL ||
	    (g->ev_hash = evtimer_new(base, want_hash, g)) == NULL ||
	    (g->ev_retry = evtimer_new(base, want_retry, g)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return g;
fail:
	pkgget_free(g);
	return NULL;
}

void
pkgget_free(struct pkgget *g)
{
	if (g == NULL)
		return;
	while (g->n > 0)
		want_remove(g, g->n - 1, 0);
	if (g->ev_hash != NULL)
		event_free(g->ev_hash);
	if (g->ev_retry != NULL)
		event_free(g->ev_retry);
	free(g->buf);
	free(g->rbuf);
	free(g);
}
