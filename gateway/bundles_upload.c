/*
 * bundles_upload.c - support bundles up the control channel (frame.h:
 * bundle_begin, bundle_data, bundle_ack).
 *
 * One bundle at a time, oldest first, and one frame of it in flight:
 * a piece of at most FRAME_PKG_DATA bytes goes out only once the relay
 * acknowledged the one before, so a bundle never takes more of the
 * tunnel than a package download does, and the sessions and telemetry
 * on it go on.  Each (re)connection begins with bundle_begin, which the
 * relay answers with how much of the bundle its store holds: an upload
 * cut off by a reconnect, a relay restart or a gateway restart goes on
 * from there.  The relay checks the whole against the SHA-256 the
 * gateway announced and audited; only its "done" makes a bundle
 * uploaded, and then the archive is removed.
 *
 * A relay may refuse a bundle (its store is full for the cluster, its
 * database is away, the SHA-256 did not match).  The bundle then waits,
 * longer after each refusal in a row (RETRY_FIRST_MS doubled up to
 * RETRY_MAX_MS), while the bundles behind it go first; after
 * REFUSALS_MAX refusals in a row (BAD_HASH_MAX mismatches) it is
 * failed with the relay's words, and only the customer's porthole
 * bundle retry sends it again.  Each refusal is audited, so the count
 * is bounded by REFUSALS_MAX per bundle and retry.
 */
#include "config.h"

#include "gateway/bundles_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "telemetry/frame.h"

#define RETRY_FIRST_MS	5000		/* after the relay said no */
#define RETRY_MAX_MS	600000
#define REFUSALS_MAX	8		/* in a row, before it fails */
#define BAD_HASH_MAX	3		/* mismatches before it fails */

void
upload_forget(struct bundles *bs, const char *id)
{
	if (id == NULL || id[0] == '\0' || strcmp(bs->up_id, id) != 0)
		return;
	if (bs->up_fd != -1)
		close(bs->up_fd);
	bs->up_fd = -1;
	bs->up_id[0] = '\0';
	bs->up_waiting = bs->up_begun = 0;
}

void
upload_wake(evutil_socket_t fd, short what, void *arg)
{
	struct bundles *bs = arg;

	(void)fd;
	(void)what;
	if (bs->kick != NULL)
		bs->kick(bs->kick_arg);
}

/* The uplink is asked to poll again in ms. */
static void
upload_wake_in(struct bundles *bs, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) *
	    1000 };

	evtimer_add(bs->ev_up, &tv);
}

/* Send nothing for ms; then the uplink is asked to poll again. */
static void
upload_wait(struct bundles *bs, uint64_t ms)
{
	bs->up_retry_at = clock_mono_ms() + ms;
	upload_wake_in(bs, ms);
}

/*
 * The bundle to upload now: the one under way, else the oldest ready
 * that no refusal holds back.  When every ready one is held back, the
 * uplink is kicked when the first may go again.
 */
static struct bundle *
upload_pick(struct bundles *bs)
{
	struct bundle	*b;
	char		 path[4200];
	uint64_t	 now = clock_mono_ms(), soonest = 0;
	size_t		 i;

	if (bs->up_id[0] != '\0') {
		if ((b = bundle_find(bs, bs->up_id)) != NULL &&
		    b->state == BS_READY)
			return b;
		upload_forget(bs, bs->up_id);
	}
	for (i = 0; i < bs->n; i++) {
		b = &bs->b[i];
		if (b->state != BS_READY)
			continue;
		if (b->next_try > now) {
			if (soonest == 0 || b->next_try < soonest)
				soonest = b->next_try;
			continue;
		}
		bundle_path(bs, b->id, ".tar.gz", path, sizeof(path));
		if ((bs->up_fd = open(path, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC)) == -1) {
			log_error("bundle %s: %s: %s", b->id, path,
			    strerror(errno));
			b->state = BS_FAILED;
			b->finished = clock_now();
			snprintf(b->reason, sizeof(b->reason), "its archive "
			    "is gone: %s", strerror(errno));
			(void)bundles_audit(bs, "bundle_failed", json_pack(
			    "{s:s, s:s}", "bundle", b->id, "reason",
			    b->reason));
			(void)bundle_save(bs, b);
			continue;
		}
		memcpy(bs->up_id, b->id, sizeof(bs->up_id));
		bs->up_begun = 0;
		return b;
	}
	/* Not up_retry_at: a bundle approved meanwhile need not wait. */
	if (soonest != 0)
		upload_wake_in(bs, soonest - now);
	return NULL;
}

static json_t *
upload_begin(struct bundles *bs, const struct bundle *b)
{
	json_t *summary;

	summary = json_pack("{s:I, s:I, s:I, s:I, s:b, s:b, s:s}", "files",
	    (json_int_t)b->files, "left_out", (json_int_t)b->left_out,
	    "bytes_read", (json_int_t)b->bytes_read, "redactions",
	    (json_int_t)b->redactions, "truncated", b->truncated,
	    "timed_out", b->timed_out, "manifest_sha256",
	    b->manifest_sha256);
	bs->up_waiting = 1;
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:I, s:I, "
	    "s:o}", "t", "bundle_begin", "id", b->id, "sha256", b->sha256,
	    "size", (json_int_t)b->size, "source", b->source, "requested_by",
	    b->by, "ticket", b->ticket, "message_id", (json_int_t)b->msg_id,
	    "created", (json_int_t)b->built, "summary", summary);
}

/* The next piece, from where the relay is; NULL when it cannot be read. */
static json_t *
upload_piece(struct bundles *bs, struct bundle *b)
{
	unsigned char	*buf;
	char		*b64;
	json_t		*f = NULL;
	ssize_t		 n;

	if ((buf = malloc(FRAME_PKG_DATA)) == NULL ||
	    (b64 = malloc(FRAME_PKG_DATA / 3 * 4 + 8)) == NULL) {
		free(buf);
		return NULL;
	}
	do
		n = pread(bs->up_fd, buf, b->size - b->uploaded <
		    FRAME_PKG_DATA ? (size_t)(b->size - b->uploaded) :
		    FRAME_PKG_DATA, (off_t)b->uploaded);
	while (n == -1 && errno == EINTR);
	if (n <= 0) {
		log_error("bundle %s: its archive cannot be read at %" PRIu64
		    ": %s", b->id, b->uploaded, n == 0 ? "it is shorter" :
		    strerror(errno));
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)b64, buf, (int)n);
	f = json_pack("{s:s, s:s, s:I, s:s}", "t", "bundle_data", "id", b->id,
	    "offset", (json_int_t)b->uploaded, "data", b64);
	bs->up_waiting = f != NULL;
	bs->up_end = b->uploaded + (uint64_t)n;
out:
	free(buf);
	free(b64);
	return f;
}

/*
 * Test builds may slow an upload down to a piece every
 * PORTHOLE_UPLOAD_PACE_MS, so that a test can stop the relay midway.
 */
static uint64_t
upload_pace(void)
{
#ifdef PORTHOLE_TEST_HOOKS
	const char	*s = getenv("PORTHOLE_UPLOAD_PACE_MS");
	char		*end;
	unsigned long	 v;

	if (s != NULL && (v = strtoul(s, &end, 10)) <= 10000 && *end == '\0')
		return v;
#endif
	return 0;
}

json_t *
bundles_upload_next(struct bundles *bs)
{
	struct bundle	*b;
	json_t		*f;
	uint64_t	 now = clock_mono_ms();

	if (bs->up_waiting)
		return NULL;
	/*
	 * libevent measures its timers from the time it cached at the top
	 * of the loop, so ev_up may fire a little before up_retry_at:
	 * wait again for what is left, or the upload would stall until
	 * something else polls the uplink.
	 */
	if (now < bs->up_retry_at) {
		if (!evtimer_pending(bs->ev_up, NULL))
			upload_wait(bs, bs->up_retry_at - now);
		return NULL;
	}
	if ((b = upload_pick(bs)) == NULL)
		return NULL;
	if (!bs->up_begun)
		return upload_begin(bs, b);
	if ((f = upload_piece(bs, b)) != NULL && upload_pace() > 0)
		upload_wait(bs, upload_pace());
	return f;
}

/*
 * Test builds may shorten the wait after a refusal: the first is
 * PORTHOLE_UPLOAD_RETRY_MS, and the bound shrinks with it, so that a
 * test sees a bundle refused REFUSALS_MAX times in seconds.
 */
static uint64_t
upload_retry_first(void)
{
#ifdef PORTHOLE_TEST_HOOKS
	const char	*s = getenv("PORTHOLE_UPLOAD_RETRY_MS");
	char		*end;
	unsigned long	 v;

	if (s != NULL && (v = strtoul(s, &end, 10)) >= 1 &&
	    v <= RETRY_FIRST_MS && *end == '\0')
		return v;
#endif
	return RETRY_FIRST_MS;
}

/* The wait after the nth refusal in a row: doubled each time, bounded. */
static uint64_t
upload_retry_delay(unsigned n)
{
	uint64_t first = upload_retry_first();
	uint64_t max = RETRY_MAX_MS / RETRY_FIRST_MS * first;
	uint64_t ms = first;

	while (--n > 0 && ms < max)
		ms *= 2;
	return ms < max ? ms : max;
}

/*
 * The relay's words, which it may have chosen to fool a terminal or
 * the audit log: bounded, control characters made spaces, and bytes
 * that do not make UTF-8 (cut in the middle) made '?'.
 */
static void
upload_words(char *dst, size_t len, const char *src)
{
	size_t i;

	snprintf(dst, len, "%s", src);
	for (i = 0; dst[i] != '\0'; i++)
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = ' ';
	if (!parse_utf8(dst, strlen(dst)))
		for (i = 0; dst[i] != '\0'; i++)
			if ((unsigned char)dst[i] >= 0x80)
				dst[i] = '?';
}

/*
 * The relay said no to b: it waits, longer after each refusal in a
 * row, and the next ready bundle goes first; after REFUSALS_MAX of
 * them (BAD_HASH_MAX SHA-256 mismatches: no accident) it fails, with
 * the relay's words, until the customer retries it.
 */
static void
upload_refused(struct bundles *bs, struct bundle *b, const char *relay,
    const char *error)
{
	uint64_t delay;

	upload_words(b->refused, sizeof(b->refused), error);
	b->refusals++;
	if (strstr(error, "SHA-256") != NULL)
		b->bad_hashes++;
	upload_forget(bs, b->id);
	if (b->refusals >= REFUSALS_MAX || b->bad_hashes >= BAD_HASH_MAX) {
		b->state = BS_FAILED;
		b->finished = clock_now();
		if (b->bad_hashes >= BAD_HASH_MAX)
			snprintf(b->reason, sizeof(b->reason), "the relay "
			    "found its SHA-256 different %u times",
			    b->bad_hashes);
		else
			snprintf(b->reason, sizeof(b->reason), "the relay "
			    "refused it %u times in a row", b->refusals);
		log_warn("bundle %s failed: %s, the last time (relay %s): "
		    "%s; porthole bundle retry %s sends it again", b->id,
		    b->reason, relay, b->refused, b->id);
		(void)bundles_audit(bs, "bundle_failed", json_pack(
		    "{s:s, s:s, s:s, s:s, s:i}", "bundle", b->id, "reason",
		    b->reason, "relay", relay, "refused", b->refused,
		    "refusals", (int)b->refusals));
		(void)bundle_save(bs, b);
		return;
	}
	delay = upload_retry_delay(b->refusals);
	b->next_try = clock_mono_ms() + delay;
	log_warn("bundle %s: relay %s refused it (%s); refusal %u of %d, "
	    "again in %" PRIu64 " ms, the bundles behind it go first", b->id,
	    relay, b->refused, b->refusals, REFUSALS_MAX, delay);
	(void)bundles_audit(bs, "bundle_refused", json_pack(
	    "{s:s, s:s, s:s, s:i, s:I}", "bundle", b->id, "relay", relay,
	    "refused", b->refused, "refusals", (int)b->refusals,
	    "retry_ms", (json_int_t)delay));
	(void)bundle_save(bs, b);
}

static void
upload_done(struct bundles *bs, struct bundle *b, const char *relay)
{
	char path[4200];

	b->uploaded = b->size;
	b->state = BS_UPLOADED;
	b->refusals = b->bad_hashes = 0;
	b->refused[0] = '\0';
	b->finished = clock_now();
	(void)bundles_audit(bs, "bundle_uploaded", json_pack(
	    "{s:s, s:s, s:I, s:s}", "bundle", b->id, "sha256", b->sha256,
	    "size", (json_int_t)b->size, "relay", relay));
	(void)bundle_save(bs, b);
	upload_forget(bs, b->id);
	/* The relay has it, checked: the archive need not stay. */
	bundle_path(bs, b->id, ".tar.gz", path, sizeof(path));
	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("bundle %s: %s: %s", b->id, path, strerror(errno));
	log_info("bundle %s uploaded to relay %s (%" PRIu64 " bytes, SHA-256 "
	    "%s)", b->id, relay, b->size, b->sha256);
}

/*
 * The relay is not trusted: an answer to a piece must say that piece is
 * stored - its end, or "done" when it was the last - or why not.  One
 * that claims bytes it was never sent, or a bundle whole before its last
 * piece, is a protocol error and the channel is dropped; the upload
 * takes up again with the next bundle_begin, from what the relay's
 * store then says it holds.
 */
static int
upload_check(struct bundles *bs, const struct bundle *b, uint64_t off,
    int done, const char *relay, char *why, size_t whylen)
{
	char what[160];

	if (off > b->size)
		snprintf(what, sizeof(what), "at byte %" PRIu64 ", past its %"
		    PRIu64 " bytes", off, b->size);
	else if (done && off != b->size)
		snprintf(what, sizeof(what), "that says it is whole at byte %"
		    PRIu64 " of %" PRIu64, off, b->size);
	else if (bs->up_begun && off != bs->up_end)
		snprintf(what, sizeof(what), "at byte %" PRIu64 " for the "
		    "piece that ends at %" PRIu64, off, bs->up_end);
	else if (bs->up_begun && done != (off == b->size))
		snprintf(what, sizeof(what), "for its last piece that does "
		    "not say it is whole");
	else
		return 0;
	snprintf(why, whylen, "relay %s: bundle %s: a bundle_ack %s, refused",
	    relay, b->id, what);
	return -1;
}

int
bundles_upload_ack(struct bundles *bs, json_t *f, const char *relay,
    char *why, size_t whylen)
{
	const char	*id = json_string_value(json_object_get(f, "id"));
	const char	*error = json_string_value(json_object_get(f, "error"));
	json_t		*jo = json_object_get(f, "offset");
	json_t		*jd = json_object_get(f, "done");
	struct bundle	*b;
	uint64_t	 off;
	int		 done;

	if (id == NULL || !json_is_integer(jo) || json_integer_value(jo) < 0 ||
	    (json_object_get(f, "error") != NULL && error == NULL) ||
	    (jd != NULL && !json_is_boolean(jd))) {
		snprintf(why, whylen, "a malformed bundle_ack");
		return -1;
	}
	/* Not what is in flight (an answer from before a reconnect). */
	if (!bs->up_waiting || strcmp(id, bs->up_id) != 0 ||
	    (b = bundle_find(bs, id)) == NULL)
		return 0;
	bs->up_waiting = 0;
	off = (uint64_t)json_integer_value(jo);
	done = json_is_true(jd);
	if (error != NULL) {
		bs->up_begun = 0;
		if (upload_check(bs, b, off, 0, relay, why, whylen) == -1)
			return -1;
		upload_refused(bs, b, relay, error);
		return 0;
	}
	if (upload_check(bs, b, off, done, relay, why, whylen) == -1)
		return -1;
	if (done) {
		upload_done(bs, b, relay);
		return 0;
	}
	if (off == b->size) {
		/* Whole but not done: the relay is to be asked again. */
		upload_refused(bs, b, relay, "the relay holds it all but did "
		    "not confirm it");
		return 0;
	}
	if (!bs->up_begun)
		log_info("bundle %s: uploading to relay %s from byte %" PRIu64
		    " of %" PRIu64, b->id, relay, off, b->size);
	bs->up_begun = 1;
	/*
	 * Bytes stored: whatever refused it before has passed.  Not a
	 * SHA-256 mismatch: the relay finds one only after storing every
	 * piece again, so those count until the bundle is uploaded.
	 */
	if (off > b->uploaded && b->refusals > 0) {
		b->refusals = 0;
		b->refused[0] = '\0';
		b->uploaded = off;
		(void)bundle_save(bs, b);
	}
	b->uploaded = off;
	return 0;
}

void
bundles_link_down(struct bundles *bs)
{
	bs->up_waiting = 0;
	bs->up_begun = 0;
}
