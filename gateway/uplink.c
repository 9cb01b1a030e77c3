/*
 * uplink.c - telemetry, license checks and audit anchors on the control
 * channel to Mission Control.
 */
#include "config.h"

#include "gateway/uplink.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "lib/clock.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "gateway/bundles.h"
#include "gateway/inbox.h"
#include "gateway/pkgget.h"
#include "telemetry/frame.h"
#include "telemetry/license.h"
#include "telemetry/outbox.h"
#include "telemetry/record.h"
#include "telemetry/spool.h"

#define UPLINK_HOST		"mission-control"
#define UPLINK_BATCH		1000		/* records per frame */
#define UPLINK_BATCH_BYTES	(512 * 1024)
#define UPLINK_INFLIGHT		4		/* unacknowledged frames */
#define UPLINK_OUT_MAX		(1024 * 1024)
#define UPLINK_TICK		60		/* seconds: ping, offline rule */
#define UPLINK_HOLD_FIRST_MS	1000		/* after a refused batch */
#define UPLINK_HOLD_MAX_MS	300000
#define UPLINK_RETRY_MS		5000		/* after a failed open */
#define UPLINK_RETRY_STALL_MS	20		/* after a stalled write */
#define UPLINK_OUTBOX_ACK_MS	500		/* acks reach the outbox */

enum uplink_state {
	UL_DOWN,	/* no tunnel, or no channel yet */
	UL_OPENING,	/* channel open sent, SSH_AGAIN so far */
	UL_OPEN		/* frames flow */
};

/* What the relay last said about the license, and the offline rule. */
struct license {
	char		 type[8];		/* full | trial | "" */
	char		 expires[32];		/* RFC 3339, "" none */
	int		 overage_allowed;	/* by the license */
	time_t		 last_contact;		/* wall clock */
	int		 offline_disabled;	/* overages off: offline */
};

struct uplink {
	struct event_base	*base;
	const struct policy	*pol;
	struct tunnel		*tunnel;
	struct telem		*telem;
	struct spool		*spool;
	struct outbox		*outbox;	/* a copy of what was sent */
	int			 outbox_failing;	/* logged once */
	enum uplink_state	 state;
	ssh_channel		 ch;
	uint64_t		 retry_at;	/* clock_mono_ms() */
	struct frame_reader	*rd;
	char			*out;
	size_t			 out_len, out_off;
	int			 welcomed;	/* the relay said where it is */
	uint64_t		 sent_seq;	/* newest record sent */
	uint64_t		 inflight[UPLINK_INFLIGHT];	/* batch ends */
	int			 ninflight;
	uint64_t		 resent;	/* records sent again */
	int			 anchor_pending;
	uint64_t		 anchor_epoch, anchor_seq;
	char			 anchor_head[65];
	uint64_t		 anchors_acked;
	struct license		 lic;
	struct event		*ev_tick;
	struct event		*ev_retry;	/* a write stalled in a rekey */
	struct event		*ev_outbox;	/* acks wait for the outbox */
	struct event		*ev_hold;	/* pending: a refused batch waits */
	struct event		*ev_kick;	/* active: a poll is due */
	int			 polling;	/* inside uplink_poll */
	uint64_t		 hold_ms;	/* that wait, doubling */
	int			 stale;		/* acks of batches given up */
	char			 refused[256];	/* why the relay refused */
	uint64_t		 next_license;	/* clock_mono_ms() */
	char			 host_key[1100];	/* "TYPE BASE64" */
	char			 why[128];	/* a protocol error */
	struct inbox		*inbox;		/* messages from the vendor */
	struct pkgget		*pkgget;	/* packages they refer to */
	struct bundles		*bundles;	/* support bundles going up */
};

static int
offline_limit_days(const struct uplink *u)
{
	return license_offline_limit(u->lic.type);
}

static int64_t
offline_days(const struct uplink *u)
{
	return license_offline_days(u->lic.last_contact, clock_now());
}

/* license.json: written whole, atomically, for the product to read. */
static void
license_save(struct uplink *u)
{
	char	 path[4096], last[32], err[4300], *text;
	json_t	*j;

	parse_format_time(u->lic.last_contact, last, sizeof(last));
	j = json_pack("{s:s, s:s?, s:b, s:s, s:I, s:I, s:s}",
	    "license", u->lic.type[0] != '\0' ? u->lic.type : "unknown",
	    "expires", u->lic.expires[0] != '\0' ? u->lic.expires : NULL,
	    "overage_allowed", u->lic.overage_allowed,
	    "last_contact", last,
	    "offline_days", (json_int_t)offline_days(u),
	    "offline_limit_days", (json_int_t)offline_limit_days(u),
	    "overage", u->lic.offline_disabled ? "disabled: offline too long" :
	    u->lic.overage_allowed ? "enabled" : "not licensed");
	text = j == NULL ? NULL : json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	if (text == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s", u->pol->state_dir,
	    UPLINK_LICENSE_FILE);
	if (fileio_replace(path, text, strlen(text), 0644, err,
	    sizeof(err)) == -1)
		log_error("license: cannot write: %s", err);
	free(text);
}

/* Read license.json back; a missing file starts the offline clock now. */
static void
license_load(struct uplink *u)
{
	char		 path[4096];
	const char	*s;
	json_t		*j;
	time_t		 t;

	snprintf(path, sizeof(path), "%s/%s", u->pol->state_dir,
	    UPLINK_LICENSE_FILE);
	u->lic.last_contact = clock_now();
	u->lic.overage_allowed = 1;
	if ((j = json_load_file(path, 0, NULL)) == NULL) {
		license_save(u);
		return;
	}
	if ((s = json_string_value(json_object_get(j, "license"))) != NULL &&
	    (strcmp(s, "full") == 0 || strcmp(s, "trial") == 0))
		snprintf(u->lic.type, sizeof(u->lic.type), "%s", s);
	if ((s = json_string_value(json_object_get(j, "expires"))) != NULL &&
	    parse_time(s, &t) == 0)
		snprintf(u->lic.expires, sizeof(u->lic.expires), "%s", s);
	if ((s = json_string_value(json_object_get(j, "last_contact"))) !=
	    NULL && parse_time(s, &t) == 0)
		u->lic.last_contact = t;
	u->lic.overage_allowed = !json_is_false(json_object_get(j,
	    "overage_allowed"));
	s = json_string_value(json_object_get(j, "overage"));
	u->lic.offline_disabled = s != NULL && strncmp(s, "disabled", 8) == 0;
	json_decref(j);
}

/* The offline rule, applied whenever time passes or contact is made. */
static void
license_evaluate(struct uplink *u)
{
	int64_t	days = offline_days(u);
	int	limit = offline_limit_days(u);
	int	exceeded = license_offline_exceeded(u->lic.type,
	    u->lic.last_contact, clock_now());

	if (!u->lic.offline_disabled && exceeded) {
		u->lic.offline_disabled = 1;
		log_warn("license: Mission Control not reached for %lld days "
		    "(limit %d): licensing overages are disabled",
		    (long long)days, limit);
		telem_event(u->telem, "overage_disabled", json_pack(
		    "{s:I, s:i}", "offline_days", (json_int_t)days,
		    "limit_days", limit));
		license_save(u);
	} else if (u->lic.offline_disabled && !exceeded) {
		u->lic.offline_disabled = 0;
		log_info("license: Mission Control reached again: licensing "
		    "overages are restored");
		telem_event(u->telem, "overage_restored", NULL);
		license_save(u);
	}
}

/*
 * The anchor not yet acknowledged, in state_dir/anchor.json: written
 * before it is sent, so that a seal made while the tunnel is down, or
 * just before a stop, still reaches the relay at the next connection,
 * after a restart too.  Without it a log cut back to an earlier seal
 * could not be told from a whole one by the anchors.
 */
static void
anchor_path(const struct uplink *u, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", u->pol->state_dir, UPLINK_ANCHOR_FILE);
}

static void
anchor_save(struct uplink *u)
{
	char	 path[4096], err[4300], *text;
	json_t	*j;

	anchor_path(u, path, sizeof(path));
	j = json_pack("{s:I, s:I, s:s}", "epoch", (json_int_t)u->anchor_epoch,
	    "seq", (json_int_t)u->anchor_seq, "head", u->anchor_head);
	text = j == NULL ? NULL : json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL || fileio_replace(path, text, strlen(text), 0600, err,
	    sizeof(err)) == -1)
		log_error("audit anchor: %s: seq %llu is not kept across a "
		    "restart", text == NULL ? "out of memory" : err,
		    (unsigned long long)u->anchor_seq);
	free(text);
}

static void
anchor_forget(struct uplink *u)
{
	char	path[4096];

	anchor_path(u, path, sizeof(path));
	if (unlink(path) == -1 && errno != ENOENT)
		log_error("audit anchor: %s: %s", path, strerror(errno));
}

/* At start: an anchor the relay had not acknowledged is owed still. */
static void
anchor_load(struct uplink *u)
{
	char		 path[4096];
	const char	*head;
	json_t		*j, *e, *s;

	anchor_path(u, path, sizeof(path));
	if ((j = json_load_file(path, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		if (access(path, F_OK) == 0)
			log_error("%s: not an anchor file: the relay may lack "
			    "the newest seal head (porthole audit verify "
			    "--anchors says which)", path);
		return;
	}
	e = json_object_get(j, "epoch");
	s = json_object_get(j, "seq");
	head = json_string_value(json_object_get(j, "head"));
	if (!json_is_integer(e) || json_integer_value(e) < 0 ||
	    !json_is_integer(s) || json_integer_value(s) < 1 ||
	    head == NULL || strlen(head) != 64 ||
	    strspn(head, "0123456789abcdef") != 64) {
		log_error("%s: not an anchor file: the relay may lack the "
		    "newest seal head (porthole audit verify --anchors says "
		    "which)", path);
		json_decref(j);
		return;
	}
	u->anchor_epoch = (uint64_t)json_integer_value(e);
	u->anchor_seq = (uint64_t)json_integer_value(s);
	memcpy(u->anchor_head, head, 65);
	u->anchor_pending = 1;
	json_decref(j);
	log_info("audit anchor: the relay has not acknowledged seq %llu "
	    "(epoch %llu) yet; it is sent at the next connection",
	    (unsigned long long)u->anchor_seq,
	    (unsigned long long)u->anchor_epoch);
}

/* Any frame from the relay proves contact. */
static void
uplink_contact(struct uplink *u)
{
	time_t now = clock_now();

	if (now - u->lic.last_contact >= 60 || u->lic.offline_disabled) {
		u->lic.last_contact = now;
		license_evaluate(u);
		license_save(u);
	} else
		u->lic.last_contact = now;
}

/* Append len bytes of encoded frames to what goes out; -1: no memory. */
static int
uplink_queue(struct uplink *u, const char *buf, size_t len)
{
	char	*nb;

	if ((nb = realloc(u->out, u->out_len + len)) == NULL)
		return -1;
	u->out = nb;
	memcpy(u->out + u->out_len, buf, len);
	u->out_len += len;
	return 0;
}

/* Queue a frame (obj stolen); -1 if the channel is to be dropped. */
static int
uplink_send(struct uplink *u, json_t *obj)
{
	char	*buf;
	size_t	 len;
	int	 rc;

	if (obj == NULL || frame_encode(obj, &buf, &len) == -1) {
		json_decref(obj);
		return -1;
	}
	json_decref(obj);
	rc = uplink_queue(u, buf, len);
	free(buf);
	return rc;
}

static void
uplink_reset(struct uplink *u, const char *why)
{
	if (u->ch != NULL) {
		if (why != NULL)
			log_warn("uplink: control channel closed: %s", why);
		if (ssh_channel_is_open(u->ch))
			ssh_channel_close(u->ch);
		ssh_channel_free(u->ch);
		u->ch = NULL;
	}
	u->state = UL_DOWN;
	if (u->pkgget != NULL)
		pkgget_link_down(u->pkgget);
	if (u->inbox != NULL)
		inbox_link_down(u->inbox);
	if (u->bundles != NULL)
		bundles_link_down(u->bundles);
	u->out_len = u->out_off = 0;
	u->ninflight = 0;
	u->stale = 0;
	frame_reader_free(u->rd);
	u->rd = NULL;
	u->retry_at = clock_mono_ms() + UPLINK_RETRY_MS;
}

/*
 * A records frame, written as text: the spooled records are the compact
 * JSON the gateway itself printed when it took them (telem.c), so they
 * go into the frame as they are instead of being parsed and printed
 * again for every record.
 */
struct batch {
	char		*buf;		/* frame header, then the JSON */
	size_t		 len, cap;
	uint64_t	 last;
	int		 failed;
	struct outbox	*outbox;	/* each record goes here too */
	time_t		 now;
};

static void
batch_put(struct batch *b, const char *p, size_t n)
{
	char	*nb;
	size_t	 cap;

	if (b->failed)
		return;
	if (b->len + n > b->cap) {
		cap = b->cap == 0 ? 64 * 1024 : b->cap;
		while (cap < b->len + n)
			cap *= 2;
		if ((nb = realloc(b->buf, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

static int
batch_add(void *arg, uint64_t seq, enum record_class cls, const char *rec,
    size_t len)
{
	struct batch	*b = arg;
	char		 head[96];
	int		 n;

	n = snprintf(head, sizeof(head), "%s{\"seq\":%" PRIu64 ",\"class\":"
	    "\"%s\",\"record\":", b->last == 0 ? "" : ",", seq,
	    record_class_name(cls));
	batch_put(b, head, (size_t)n);
	batch_put(b, rec, len);
	batch_put(b, "}", 1);
	if (outbox_record(b->outbox, seq, cls, rec, len, b->now) == -1)
		b->failed = 1;
	b->last = seq;
	return b->failed;
}

/*
 * What is about to be sent must be in the outbox first: a copy the
 * customer can read back.  When it cannot be written nothing is sent
 * (the records wait in the spool) and it is tried again.
 */
static int
uplink_outbox_flush(struct uplink *u)
{
	char why[512];

	if (outbox_flush(u->outbox, why, sizeof(why)) == 0) {
		if (u->outbox_failing)
			log_info("uplink: the outbox is written again; "
			    "sending resumes");
		u->outbox_failing = 0;
		return 0;
	}
	if (!u->outbox_failing)
		log_error("uplink: %s: nothing is sent until the copy of it "
		    "can be kept", why);
	u->outbox_failing = 1;
	return -1;
}

/* Look again in a second (the outbox could not be written). */
static void
uplink_retry_later(struct uplink *u)
{
	struct timeval tv = { 1, 0 };

	if (!evtimer_pending(u->ev_retry, NULL))
		evtimer_add(u->ev_retry, &tv);
}

/* Send spooled records while the window of unacknowledged frames allows. */
static int
uplink_fill(struct uplink *u)
{
	struct spool_stats	st;
	struct batch		b = { NULL, 0, 0, 0, 0, u->outbox,
				    clock_now() };
	char			head[96];
	int			n, rc = 0;

	if (!u->welcomed)
		return 0;	/* numbers may yet move: uplink_welcome */
	/* The wait after a refused batch is its timer: it polls again. */
	if (evtimer_pending(u->ev_hold, NULL))
		return 0;
	spool_stats(u->spool, &st);
	while (u->ninflight < UPLINK_INFLIGHT &&
	    u->out_len - u->out_off < UPLINK_OUT_MAX &&
	    u->sent_seq < st.last_seq) {
		b.len = 0;
		b.last = 0;
		n = snprintf(head, sizeof(head), "%.*s{\"t\":\"records\","
		    "\"after\":%" PRIu64 ",\"records\":[", FRAME_HDR_LEN,
		    "    ", u->sent_seq);
		batch_put(&b, head, (size_t)n);
		n = spool_read(u->spool, u->sent_seq, UPLINK_BATCH,
		    UPLINK_BATCH_BYTES, batch_add, &b);
		if (n <= 0 || b.last == 0) {
			rc = n < 0 ? -1 : 0;
			break;
		}
		batch_put(&b, "]}", 2);
		if (uplink_outbox_flush(u) == -1) {
			/* Not sent; the retry timer looks again. */
			uplink_retry_later(u);
			break;
		}
		if (b.failed || frame_header(b.buf, b.len - FRAME_HDR_LEN) ==
		    -1 || uplink_queue(u, b.buf, b.len) == -1) {
			rc = -1;
			break;
		}
		u->inflight[u->ninflight++] = b.last;
		u->sent_seq = b.last;
	}
	free(b.buf);
	return rc;
}

/*
 * The spool's acknowledged seq, into the outbox for porthole telemetry:
 * written with the next batch, or within UPLINK_OUTBOX_ACK_MS.  One
 * write per acknowledgement would update the file's times that often,
 * and each such update waits on the journal while the relay's store
 * syncs the same disk.
 */
static void
uplink_outbox_ack(struct uplink *u)
{
	struct spool_stats	st;
	struct timeval		tv = { 0, UPLINK_OUTBOX_ACK_MS * 1000 };

	spool_stats(u->spool, &st);
	if (outbox_ack(u->outbox, st.acked_seq, clock_now()) == -1)
		log_error("uplink: outbox: out of memory");
	else if (!evtimer_pending(u->ev_outbox, NULL))
		evtimer_add(u->ev_outbox, &tv);
}

static void
uplink_outbox_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)uplink_outbox_flush(arg);
}

static void
uplink_ack(struct uplink *u, json_t *f)
{
	json_t		*js = json_object_get(f, "seq");
	const char	*err = json_string_value(json_object_get(f, "error"));
	uint64_t	 seq;
	char		 why[256];
	struct timeval	 hold = { 0, 0 };
	int		 i, j;

	if (!json_is_integer(js) || json_integer_value(js) < 0)
		return;
	seq = (uint64_t)json_integer_value(js);
	if (spool_ack(u->spool, seq, why, sizeof(why)) == -1)
		log_error("uplink: spool: %s", why);
	else
		uplink_outbox_ack(u);
	/*
	 * Batches sent after one the relay refused are refused in turn (they
	 * follow a seq it does not have): they were given up with it, and
	 * are not a new refusal.
	 */
	if (u->stale > 0) {
		u->stale--;
		return;
	}
	for (i = 0; i < u->ninflight && u->inflight[i] <= seq; i++)
		;
	for (j = 0; i + j < u->ninflight; j++)
		u->inflight[j] = u->inflight[i + j];
	u->ninflight = j;
	if (err != NULL) {
		/*
		 * The relay kept only up to seq: send the rest again, but not
		 * at once - a record it cannot take (or a store that cannot
		 * write) would otherwise be resent in a tight loop.
		 */
		u->hold_ms = u->hold_ms == 0 ? UPLINK_HOLD_FIRST_MS :
		    u->hold_ms * 2 > UPLINK_HOLD_MAX_MS ? UPLINK_HOLD_MAX_MS :
		    u->hold_ms * 2;
		snprintf(u->refused, sizeof(u->refused), "after seq %llu: "
		    "%.200s", (unsigned long long)seq, err);
		log_warn("uplink: the relay refused records %s; sending again "
		    "in %llus", u->refused,
		    (unsigned long long)(u->hold_ms / 1000));
		hold.tv_sec = (time_t)(u->hold_ms / 1000);
		evtimer_add(u->ev_hold, &hold);
		u->resent += u->sent_seq > seq ? u->sent_seq - seq : 0;
		u->sent_seq = seq;
		u->stale = u->ninflight > 1 ? u->ninflight - 1 : 0;
		u->ninflight = 0;
	} else if (u->hold_ms != 0) {
		u->hold_ms = 0;
		u->refused[0] = '\0';
		log_info("uplink: the relay takes records again");
	}
}

/*
 * The relay's answer to hello: its store holds this cluster's records
 * up to seq.  A spool that cannot have sent those moves its numbers
 * past them first (spool_align), or every record it sends would be
 * dropped as a duplicate.  Otherwise what the relay has is acknowledged
 * (a cursor lagging after a crash), or - a relay store restored from an
 * old copy - the records it lacks are said to be gone, and sending goes
 * on from where the relay is.  -1 drops the channel.
 */
static int
uplink_welcome(struct uplink *u, json_t *f)
{
	json_t			*js = json_object_get(f, "seq");
	struct spool_stats	 st;
	uint64_t		 seq;
	char			 why[512];
	int			 moved;

	if (!json_is_integer(js) || json_integer_value(js) < 0) {
		snprintf(u->why, sizeof(u->why), "a malformed welcome");
		return -1;
	}
	seq = (uint64_t)json_integer_value(js);
	if ((moved = spool_align(u->spool, seq, why, sizeof(why))) == -1) {
		log_error("uplink: spool: %s", why);
		snprintf(u->why, sizeof(u->why), "the spool cannot follow the "
		    "relay");
		return -1;
	}
	spool_stats(u->spool, &st);
	if (moved)
		log_warn("uplink: the relay holds records up to seq %llu that "
		    "this spool did not send (a new or restored state_dir): "
		    "its %llu waiting records are numbered from %llu on",
		    (unsigned long long)seq, (unsigned long long)st.depth,
		    (unsigned long long)seq + 1);
	else if (seq > st.acked_seq && spool_ack(u->spool, seq, why,
	    sizeof(why)) == -1)
		log_error("uplink: spool: %s", why);
	uplink_outbox_ack(u);
	spool_stats(u->spool, &st);
	/*
	 * Behind what was acknowledged: a store that lost records, or, with
	 * several relays, one that is not the store of the relay that took
	 * them; the gateway cannot tell which.
	 */
	if (seq < st.acked_seq && u->pol->nrelays == 1)
		log_error("uplink: the relay's store has records up to seq "
		    "%llu only: seq %llu to %llu were acknowledged by it "
		    "before and are not there any more",
		    (unsigned long long)seq, (unsigned long long)seq + 1,
		    (unsigned long long)st.acked_seq);
	else if (seq < st.acked_seq)
		log_warn("uplink: relay %s's store has records up to seq %llu "
		    "only: seq %llu to %llu were acknowledged by it or by "
		    "another relay of [gateway] relay, and are not in its "
		    "store (do the relays share one?)", tunnel_name(u->tunnel),
		    (unsigned long long)seq, (unsigned long long)seq + 1,
		    (unsigned long long)st.acked_seq);
	u->sent_seq = seq < st.acked_seq ? seq : st.acked_seq;
	u->welcomed = 1;
	return 0;
}

static void
uplink_license(struct uplink *u, json_t *f)
{
	const char	*type = json_string_value(json_object_get(f,
	    "license"));
	const char	*exp = json_string_value(json_object_get(f, "expires"));

	if (type != NULL && (strcmp(type, "full") == 0 ||
	    strcmp(type, "trial") == 0))
		snprintf(u->lic.type, sizeof(u->lic.type), "%s", type);
	snprintf(u->lic.expires, sizeof(u->lic.expires), "%s",
	    exp != NULL && strlen(exp) < 32 ? exp : "");
	u->lic.overage_allowed = json_is_true(json_object_get(f, "overage"));
	license_evaluate(u);
	license_save(u);
}

static int
uplink_ack_frame(struct uplink *u, json_t *f)
{
	uplink_ack(u, f);
	return 0;
}

static int
uplink_license_frame(struct uplink *u, json_t *f)
{
	uplink_license(u, f);
	return 0;
}

static int
uplink_anchor_ack(struct uplink *u, json_t *f)
{
	/* An older anchor's ack leaves the newer one owed. */
	if (u->anchor_pending != 0 && (uint64_t)json_integer_value(
	    json_object_get(f, "seq")) == u->anchor_seq) {
		u->anchor_pending = 0;
		anchor_forget(u);
	}
	u->anchors_acked++;
	return 0;
}

static int
uplink_error(struct uplink *u, json_t *f)
{
	(void)u;
	log_warn("uplink: relay says: %.200s",
	    json_string_value(json_object_get(f, "reason")));
	return 0;
}

static int
uplink_pong(struct uplink *u, json_t *f)
{
	(void)u;
	(void)f;
	return 0;
}

/* A message from the vendor: the inbox judges, stores and answers. */
static int
uplink_msg(struct uplink *u, json_t *f)
{
	json_t	*ans = NULL;
	int	 rc;

	if (u->inbox == NULL)
		return 0;	/* not answered: offered again later */
	if ((rc = inbox_offer(u->inbox, f, &ans, u->why,
	    sizeof(u->why))) == -1)
		return -1;
	return rc == 1 ? uplink_send(u, ans) : 0;
}

/* A piece of a package asked for. */
static int
uplink_pkg_chunk(struct uplink *u, json_t *f)
{
	if (u->pkgget == NULL)
		return 0;
	return pkgget_chunk(u->pkgget, f, u->why, sizeof(u->why));
}

/* Where the relay is with the support bundle being uploaded. */
static int
uplink_bundle_ack(struct uplink *u, json_t *f)
{
	if (u->bundles == NULL)
		return 0;
	return bundles_upload_ack(u->bundles, f, u->tunnel != NULL ?
	    tunnel_name(u->tunnel) : "", u->why, sizeof(u->why));
}

/*
 * What the gateway does with each kind the relay sends (frame.h); -1
 * drops the channel.
 */
static int (*const uplink_handlers[FRAME__COUNT])(struct uplink *,
    json_t *) = {
	[FRAME_WELCOME] =	uplink_welcome,
	[FRAME_ACK] =		uplink_ack_frame,
	[FRAME_ERROR] =		uplink_error,
	[FRAME_LICENSE] =	uplink_license_frame,
	[FRAME_ANCHOR_ACK] =	uplink_anchor_ack,
	[FRAME_PONG] =		uplink_pong,
	[FRAME_MSG] =		uplink_msg,
	[FRAME_PKG_CHUNK] =	uplink_pkg_chunk,
	[FRAME_BUNDLE_ACK] =	uplink_bundle_ack,
};

static int
uplink_frame(struct uplink *u, json_t *f)
{
	enum frame_kind	kind;

	if (frame_classify(f, FRAME_DOWN, u->welcomed, &kind, u->why,
	    sizeof(u->why)) == -1)
		return -1;
	uplink_contact(u);
	return uplink_handlers[kind](u, f);
}

/* The channel just opened: introduce ourselves, resend what is unacked. */
static int
uplink_opened(struct uplink *u)
{
	struct spool_stats st;

	spool_stats(u->spool, &st);
	u->state = UL_OPEN;
	if (u->sent_seq > st.acked_seq)
		u->resent += u->sent_seq - st.acked_seq;
	u->sent_seq = st.acked_seq;
	u->welcomed = 0;
	u->ninflight = 0;
	u->stale = 0;
	u->next_license = 0;
	/* Sent on a channel that closed before the ack: send it again. */
	if (u->anchor_pending == 2)
		u->anchor_pending = 1;
	if ((u->rd = frame_reader_new()) == NULL)
		return -1;
	log_info("uplink: control channel to Mission Control open (%llu "
	    "records to send)", (unsigned long long)st.depth);
	return uplink_send(u, json_pack("{s:s, s:s, s:s, s:s}", "t", "hello",
	    "cluster", u->pol->cluster_id, "version", PACKAGE_VERSION,
	    "session_host_key", u->host_key));
}

static int
uplink_open(struct uplink *u)
{
	ssh_session	s = u->tunnel != NULL ? tunnel_session(u->tunnel) : NULL;
	int		rc;

	if (s == NULL || clock_mono_ms() < u->retry_at)
		return 0;
	if (u->ch == NULL && (u->ch = ssh_channel_new(s)) == NULL)
		return -1;
	rc = ssh_channel_open_forward(u->ch, UPLINK_HOST, 0, "127.0.0.1", 0);
	if (rc == SSH_AGAIN) {
		u->state = UL_OPENING;
		return 0;
	}
	if (rc != SSH_OK)
		return -1;
	return uplink_opened(u);
}

/*
 * Frames as they come.  A handler may change the channel's state (it
 * must not, but a frame that did would leave u->rd freed or replaced):
 * reading stops there, and uplink_poll looks at the state again.
 */
static int
uplink_read(struct uplink *u)
{
	struct frame_reader	*rd = u->rd;
	char			 buf[16384];
	json_t			*f;
	int			 n, rc;

	for (;;) {
		while ((rc = frame_reader_next(rd, &f)) == 1) {
			rc = uplink_frame(u, f);
			json_decref(f);
			if (rc == -1)
				return -1;
			if (u->state != UL_OPEN || u->rd != rd)
				return 0;
		}
		if (rc == -1) {
			snprintf(u->why, sizeof(u->why), "a malformed frame");
			return -1;
		}
		n = ssh_channel_read_nonblocking(u->ch, buf, sizeof(buf), 0);
		if (n == SSH_ERROR)
			return -1;
		if (n <= 0)
			return 0;
		if (frame_reader_feed(u->rd, buf, (size_t)n) == -1) {
			snprintf(u->why, sizeof(u->why), "a frame length out of "
			    "bounds");
			return -1;
		}
	}
}

static int
uplink_write(struct uplink *u)
{
	uint32_t	win = ssh_channel_window_size(u->ch);
	size_t		len = u->out_len - u->out_off;
	int		w;

	if (len == 0 || win == 0)
		return 0;
	if (len > win)
		len = win;
	if ((w = ssh_channel_write(u->ch, u->out + u->out_off,
	    (uint32_t)len)) < 0)
		return -1;
	if (w == 0) {
		/* A key re-exchange holds it back: look again shortly. */
		struct timeval tv = { 0, UPLINK_RETRY_STALL_MS * 1000 };

		if (!evtimer_pending(u->ev_retry, NULL))
			evtimer_add(u->ev_retry, &tv);
		return 0;
	}
	u->out_off += (size_t)w;
	if (u->out_off == u->out_len)
		u->out_off = u->out_len = 0;
	return 0;
}

/* Frames the gateway owes: license check, anchor. */
static int
uplink_due(struct uplink *u)
{
	uint64_t	 now = clock_mono_ms();
	json_t		*req;

	if (now >= u->next_license) {
		u->next_license = now + UPLINK_LICENSE_CHECK * 1000ULL;
		if (uplink_send(u, json_pack("{s:s}", "t", "license_check")) ==
		    -1)
			return -1;
	}
	/* Packages only from a relay that welcomed: it has a store. */
	if (u->welcomed && u->pkgget != NULL && (req =
	    pkgget_request(u->pkgget)) != NULL && uplink_send(u, req) == -1)
		return -1;
	/* Bundles too, one piece at a time, behind what is queued. */
	if (u->welcomed && u->bundles != NULL &&
	    u->out_len - u->out_off < UPLINK_OUT_MAX / 2 &&
	    (req = bundles_upload_next(u->bundles)) != NULL &&
	    uplink_send(u, req) == -1)
		return -1;
	if (u->anchor_pending == 1) {
		u->anchor_pending = 2;	/* sent; 0 once acknowledged */
		return uplink_send(u, json_pack("{s:s, s:I, s:I, s:s}", "t",
		    "anchor", "epoch", (json_int_t)u->anchor_epoch, "seq",
		    (json_int_t)u->anchor_seq, "head", u->anchor_head));
	}
	return 0;
}

/*
 * The one place the channel is driven.  It is never entered twice: what
 * a frame's handler sets off (a message stored, a package wanted, an
 * event spooled, an audit seal) may want the channel moved, and does
 * so through uplink_kick, which only schedules the next poll.  Were it
 * to poll there and then, the inner poll could read the next frame and
 * close the channel on an error, freeing the reader the outer poll is
 * still reading from.
 */
static void
uplink_poll_once(struct uplink *u)
{
	int rc;

	if (u->tunnel == NULL || tunnel_session(u->tunnel) == NULL)
		return;
	if (u->state != UL_OPEN && uplink_open(u) == -1) {
		uplink_reset(u, "cannot open it");
		return;
	}
	if (u->state != UL_OPEN)
		return;
	if (ssh_channel_is_closed(u->ch) || ssh_channel_is_eof(u->ch)) {
		uplink_reset(u, "closed by the relay");
		return;
	}
	u->why[0] = '\0';
	rc = uplink_read(u);
	if (u->state != UL_OPEN)
		return;
	if (rc == -1 || uplink_due(u) == -1 || uplink_fill(u) == -1 ||
	    uplink_write(u) == -1) {
		char reason[160];

		snprintf(reason, sizeof(reason), "protocol error%s%s",
		    u->why[0] != '\0' ? ": " : "", u->why);
		uplink_reset(u, reason);
		return;
	}
	tunnel_want_write(u->tunnel);
	/*
	 * Bytes libssh read while this poll wrote come with no socket event
	 * of their own: poll again for them rather than wait for the
	 * relay's next packet.
	 */
	if (ssh_channel_poll(u->ch, 0) > 0)
		uplink_kick(u);
}

void
uplink_poll(struct uplink *u)
{
	if (u->polling) {
		uplink_kick(u);
		return;
	}
	u->polling = 1;
	uplink_poll_once(u);
	u->polling = 0;
}

void
uplink_down(struct uplink *u)
{
	/* libssh frees the tunnel's channels with the session. */
	u->ch = NULL;
	uplink_reset(u, NULL);
	u->retry_at = 0;
	if (u->anchor_pending == 2)
		u->anchor_pending = 1;
}

void
uplink_set_tunnel(struct uplink *u, struct tunnel *t)
{
	if (t == u->tunnel)
		return;
	/* Still open on a live tunnel: closed and freed there first. */
	if (u->ch != NULL) {
		uplink_reset(u, NULL);
		u->retry_at = 0;
		if (u->anchor_pending == 2)
			u->anchor_pending = 1;
	}
	u->tunnel = t;
	if (t != NULL)
		log_info("uplink: the control channel runs over the tunnel to "
		    "relay %s", tunnel_name(t));
}

struct tunnel *
uplink_tunnel(const struct uplink *u)
{
	return u->tunnel;
}

/* A poll is due: it runs from the event loop, after what runs now. */
void
uplink_kick(void *arg)
{
	struct uplink *u = arg;

	event_active(u->ev_kick, EV_TIMEOUT, 0);
}

static void
uplink_kicked(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	uplink_poll(arg);
}

void
uplink_anchor(struct uplink *u, uint64_t epoch, uint64_t seq,
    const char *head)
{
	u->anchor_epoch = epoch;
	u->anchor_seq = seq;
	snprintf(u->anchor_head, sizeof(u->anchor_head), "%s", head);
	u->anchor_pending = 1;
	anchor_save(u);
	/* A seal may come from inside a poll (an event audited). */
	uplink_kick(u);
}

int
uplink_flush_anchor(struct uplink *u, unsigned int ms)
{
	struct timeval	step = { 0, 50 * 1000 };
	uint64_t	end = clock_mono_ms() + ms;

	/*
	 * The tunnel and the channel are driven by the event loop: run it
	 * in short steps while the anchor is owed and can still arrive.
	 */
	while (u->anchor_pending != 0 && u->tunnel != NULL &&
	    tunnel_is_up(u->tunnel) &&
	    clock_mono_ms() < end) {
		uplink_poll(u);
		event_base_loopexit(u->base, &step);
		event_base_dispatch(u->base);
	}
	return u->anchor_pending == 0;
}

static void
uplink_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	uplink_poll(arg);
}

static void
uplink_tick(evutil_socket_t fd, short what, void *arg)
{
	struct uplink *u = arg;

	(void)fd;
	(void)what;
	license_evaluate(u);
	(void)outbox_prune(u->outbox, clock_now());
	if (u->state == UL_OPEN && uplink_send(u, json_pack("{s:s}", "t",
	    "ping")) == -1)
		uplink_reset(u, "out of memory");
	uplink_poll(u);
}

json_t *
uplink_status(struct uplink *u)
{
	struct spool_stats	st;
	char			oldest[32] = "", last[32];

	spool_stats(u->spool, &st);
	if (st.oldest != 0)
		parse_format_time(st.oldest, oldest, sizeof(oldest));
	parse_format_time(u->lic.last_contact, last, sizeof(last));
	return json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:s, s:s?, s:b, "
	    "s:s, s:I, s:i, s:I, s:I, s:s, s:I}",
	    "uplink", u->state == UL_OPEN ? "open" : "down",
	    "spool_depth", (json_int_t)st.depth,
	    "spool_oldest", oldest,
	    "spool_dropped", (json_int_t)st.dropped_health,
	    "spool_bytes", (json_int_t)st.bytes,
	    "acked_seq", (json_int_t)st.acked_seq,
	    "license", u->lic.type[0] != '\0' ? u->lic.type : "unknown",
	    "license_expires", u->lic.expires[0] != '\0' ? u->lic.expires :
	    NULL,
	    "overage", !u->lic.offline_disabled && u->lic.overage_allowed,
	    "last_contact", last,
	    "offline_days", (json_int_t)offline_days(u),
	    "offline_limit_days", offline_limit_days(u),
	    "anchors_acked", (json_int_t)u->anchors_acked,
	    "anchor_owed_seq", (json_int_t)(u->anchor_pending != 0 ?
	    u->anchor_seq : 0),
	    "uplink_refused", u->refused,
	    "events_held", (json_int_t)telem_held(u->telem));
}

struct uplink *
uplink_new(struct event_base *base, const struct policy *pol,
    struct tunnel *tunnel, struct telem *telem)
{
	struct uplink	*u;
	struct timeval	 tv = { UPLINK_TICK, 0 };
	char		 dir[4096], err[4400];

	if ((u = calloc(1, sizeof(*u))) == NULL) {
		log_error("uplink: out of memory");
		return NULL;
	}
	u->base = base;
	u->pol = pol;
	u->tunnel = tunnel;
	u->telem = telem;
	u->spool = telem_spool(telem);
	snprintf(dir, sizeof(dir), "%s/%s", pol->state_dir,
	    OUTBOX_DIR);
	if (outbox_open(dir, pol->outbox_keep, pol->outbox_max, &u->outbox,
	    err, sizeof(err)) == -1) {
		log_error("telemetry outbox: %s", err);
		free(u);
		return NULL;
	}
	license_load(u);
	license_evaluate(u);
	anchor_load(u);
	if ((u->ev_tick = event_new(base, -1, EV_PERSIST, uplink_tick,
	    u)) == NULL || (u->ev_retry = evtimer_new(base, uplink_retry,
	    u)) == NULL || (u->ev_hold = evtimer_new(base, uplink_retry,
	    u)) == NULL || (u->ev_outbox = evtimer_new(base,
	    uplink_outbox_timer, u)) == NULL || (u->ev_kick = event_new(base,
	    -1, 0, uplink_kicked, u)) == NULL) {
		log_error("uplink: out of memory");
		if (u->ev_tick != NULL)
			event_free(u->ev_tick);
		if (u->ev_retry != NULL)
			event_free(u->ev_retry);
		if (u->ev_hold != NULL)
			event_free(u->ev_hold);
		if (u->ev_outbox != NULL)
			event_free(u->ev_outbox);
		outbox_close(u->outbox);
		free(u);
		return NULL;
	}
	event_add(u->ev_tick, &tv);
	(void)outbox_prune(u->outbox, clock_now());
	return u;
}

void
uplink_set_host_key(struct uplink *u, const char *type_and_base64)
{
	snprintf(u->host_key, sizeof(u->host_key), "%s", type_and_base64);
}

/* An answer the inbox found later, for a message it held. */
static void
uplink_inbox_send(void *arg, json_t *ack)
{
	struct uplink *u = arg;

	if (u->state != UL_OPEN || !u->welcomed) {
		json_decref(ack);
		return;
	}
	if (uplink_send(u, ack) == -1)
		uplink_reset(u, "out of memory");
	uplink_kick(u);
}

void
uplink_set_inbox(struct uplink *u, struct inbox *ib)
{
	u->inbox = ib;
	inbox_set_sender(ib, uplink_inbox_send, u);
}

void
uplink_set_pkgget(struct uplink *u, struct pkgget *g)
{
	u->pkgget = g;
}

void
uplink_set_bundles(struct uplink *u, struct bundles *bs)
{
	u->bundles = bs;
}

void
uplink_set_policy(struct uplink *u, const struct policy *pol)
{
	u->pol = pol;
	outbox_set_limits(u->outbox, pol->outbox_keep, pol->outbox_max);
}

void
uplink_free(struct uplink *u)
{
	if (u == NULL)
		return;
	uplink_reset(u, NULL);
	event_free(u->ev_tick);
	event_free(u->ev_retry);
	event_free(u->ev_hold);
	event_free(u->ev_outbox);
	event_free(u->ev_kick);
	outbox_close(u->outbox);
	free(u->out);
	free(u);
}
