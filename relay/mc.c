/*
 * mc.c - the relay's side of a cluster's control channel.
 */
#include "config.h"

#include "relay/mc.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "lib/clock.h"
#include "lib/escape.h"
#include "lib/ident.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/sha256.h"
#include "telemetry/frame.h"

/*
 * Answers waiting for the window: room for two of the largest frames.
 * Reading stops while half of it is taken, so a gateway that does not
 * read its answers is not answered further.  Once drained, a buffer
 * larger than MC_OUT_KEEP is given back: thousands of tunnels must not
 * each keep the peak of one large answer.
 */
#define MC_OUT_MAX	(2 * (FRAME_MAX + FRAME_HDR_LEN))
#define MC_OUT_KEEP	(64 * 1024)
#define MC_MSG_INFLIGHT	4		/* messages offered, not answered */
#define MC_MSG_RESEND	60		/* seconds: unanswered, offer again */
#define MC_READ_MS	100		/* reading one channel, at most */

struct mc {
	ssh_channel			 ch;
	struct store			*st;
	const struct relay_cluster	*cl;
	struct frame_reader		*rd;
	char				*out;
	size_t				 out_len, out_off;
	int				 greeted;	/* hello arrived */
	/*
	 * The highest seq this channel knows to be stored: what an
	 * answer says when the store cannot be read (a PostgreSQL server
	 * away), since 0 would send the gateway back to its first record.
	 */
	uint64_t			 stored;
	unsigned			 stored_gen;	/* the store's
							   connection it
							   was learnt on */
	int				 storing;	/* a batch sent to the
							   store: its answer
							   is due */
	uint64_t			 read_until;	/* clock_mono_ms */
	int				 more;		/* stopped at it, with
							   more to read */
	int				 failed;
	char				 why[128];	/* the protocol error */
	/*
	 * Messages: the newest id offered (or known to need no offer) on
	 * this channel, those offered and not answered yet, and when the
	 * last offer or answer was.
	 */
	int64_t				 msg_after;
	int64_t				 msg_inflight[MC_MSG_INFLIGHT];
	int				 nmsg_inflight;
	uint64_t			 msg_progress;	/* clock_mono_ms */
	/*
	 * The first msg_wait since the messages were last offered from the
	 * oldest (clock_mono_ms; 0: none): those the gateway holds are
	 * offered again MC_MSG_RESEND after it, in case it let them go.
	 */
	uint64_t			 msg_waited;
	char				 wait_said[256];	/* logged last */
};

/* The channel is to close; the first reason is the one logged. */
static void
mc_fail(struct mc *m, const char *why)
{
	if (!m->failed)
		snprintf(m->why, sizeof(m->why), "%s", why);
	m->failed = 1;
}

/* Queue a frame (obj stolen). */
static void
mc_send(struct mc *m, json_t *obj)
{
	char	*buf, *nb;
	size_t	 len;

	if (obj == NULL || frame_encode(obj, &buf, &len) == -1) {
		json_decref(obj);
		mc_fail(m, "an answer cannot be encoded");
		return;
	}
	json_decref(obj);
	if (m->out_off > 0) {
		/* Keep only what is unsent: the buffer cannot creep. */
		memmove(m->out, m->out + m->out_off, m->out_len - m->out_off);
		m->out_len -= m->out_off;
		m->out_off = 0;
	}
	if (m->out_len + len > MC_OUT_MAX ||
	    (nb = realloc(m->out, m->out_len + len)) == NULL) {
		/* The gateway does not read its answers: drop it. */
		free(buf);
		mc_fail(m, "the gateway does not read its answers");
		return;
	}
	m->out = nb;
	memcpy(m->out + m->out_len, buf, len);
	m->out_len += len;
	free(buf);
}

/* "ssh-ed25519 AAAA...": a key type and base64, nothing else. */
static int
valid_host_key(const char *k)
{
	static const char *const types[] = { "ssh-ed25519 ",
	    "ecdsa-sha2-nistp256 ", "rsa-sha2-512 ", "ssh-rsa ", NULL };
	size_t	i, n;

	for (i = 0; types[i] != NULL; i++)
		if (strncmp(k, types[i], strlen(types[i])) == 0)
			break;
	if (types[i] == NULL)
		return 0;
	k += strlen(types[i]);
	n = strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/=");
	return n > 0 && k[n] == '\0' && n <= STORE_HOST_KEY_MAX - 32;
}

/*
 * What the store holds of the cluster's records, as an answer or a
 * query just said, and on which of the store's connections: a database
 * replaced meanwhile (a standby promoted) is reached by a connection
 * made again, and may hold less.
 */
static void
mc_stored(struct mc *m, uint64_t seq)
{
	m->stored = seq;
	m->stored_gen = store_generation(m->st);
}

static void
mc_hello(struct mc *m, json_t *f)
{
	const char *v = json_string_value(json_object_get(f, "version"));
	const char *hk = json_string_value(json_object_get(f,
	    "session_host_key"));
	uint64_t    last = 0;

	if (m->st != NULL)
		(void)store_cluster_seen(m->st, m->cl->id, clock_now(),
		    v == NULL ? "" : v, 1);
	if (m->st != NULL && hk != NULL && valid_host_key(hk))
		(void)store_host_key(m->st, m->cl->id, hk);
	log_info("cluster %s: control channel up (gateway %s)", m->cl->id,
	    v == NULL ? "?" : v);
	/*
	 * Where the store is: the gateway numbers its records after it.  A
	 * relay without a store says nothing, so that a new spool is not
	 * placed after a 0 that is not the truth; it takes no records.
	 */
	if (m->st == NULL)
		return;
	if (store_last_seq(m->st, m->cl->id, &last) == -1) {
		mc_fail(m, "the store cannot be read");
		return;
	}
	mc_stored(m, last);
	mc_send(m, json_pack("{s:s, s:I}", "t", "welcome", "seq",
	    (json_int_t)last));
}

/*
 * Each batch names the seq it follows ("after": the last one the gateway
 * sent before it).  If the store does not reach that far, something
 * sent was lost on the way: the gateway must resend from what is
 * stored.  A gateway starts from the seq the welcome named, so a store
 * that lost records (a database restored or replaced) is no exception.
 */
static int
mc_follows(struct mc *m, json_t *f, char *why, size_t whylen)
{
	json_t		*ja = json_object_get(f, "after");
	uint64_t	 last = 0;

	if (!json_is_integer(ja) || json_integer_value(ja) < 0) {
		snprintf(why, whylen, "a records frame needs \"after\"");
		return 0;
	}
	/*
	 * last_seq only grows: a batch following what this channel knows
	 * to be stored follows what is stored.  Only a gateway ahead of
	 * that (it moved from another relay of the fleet) needs the store
	 * asked, and so does every batch after the store connected again:
	 * the database it reached may have lost what was acknowledged (an
	 * asynchronous standby promoted), and a batch stored past that
	 * hole would raise last_seq over records the store does not have.
	 * The connection is made ready first: one still being made would
	 * otherwise be finished by the batch itself, after this check.
	 */
	if ((uint64_t)json_integer_value(ja) <= m->stored &&
	    store_ready(m->st) == 0 &&
	    store_generation(m->st) == m->stored_gen)
		return 1;
	if (store_last_seq(m->st, m->cl->id, &last) == -1) {
		snprintf(why, whylen, "%s", store_unavailable(m->st) ?
		    "the relay's database is unavailable" :
		    "the store cannot be read");
		return 0;
	}
	mc_stored(m, last);
	if ((uint64_t)json_integer_value(ja) > last) {
		snprintf(why, whylen, "gap: the relay has up to seq %llu, this "
		    "batch follows %lld", (unsigned long long)last,
		    (long long)json_integer_value(ja));
		return 0;
	}
	return 1;
}

/*
 * Refuse a batch, saying how far the store has the cluster's records
 * (as far as it can be read now, else as far as this channel knew), so
 * that the gateway sends again from there after its back-off.
 */
static void
mc_refuse(struct mc *m, const char *why)
{
	uint64_t stored;

	if (store_last_seq(m->st, m->cl->id, &stored) == 0)
		mc_stored(m, stored);
	mc_send(m, json_pack("{s:s, s:I, s:s}", "t", "ack", "seq",
	    (json_int_t)m->stored, "error", why));
}

/* A batch not stored: the why, as the gateway and the log should see it. */
static void
mc_not_stored(struct mc *m, char *why, size_t whylen)
{
	/*
	 * A database away was logged once, when it went; the gateway
	 * learns that it is away, not where it is.
	 */
	if (store_unavailable(m->st)) {
		log_debug("cluster %s: batch not stored: %s", m->cl->id, why);
		snprintf(why, whylen, "the relay's database is unavailable");
	} else
		log_warn("cluster %s: batch not stored: %s", m->cl->id, why);
	mc_refuse(m, why);
}

/* A batch's answer: rc 0 acknowledges up to acked, -1 refuses it. */
static void
mc_answer(struct mc *m, int rc, uint64_t acked, char *why, size_t whylen)
{
	if (rc == -1) {
		mc_not_stored(m, why, whylen);
		return;
	}
	mc_stored(m, acked);
	mc_send(m, json_pack("{s:s, s:I}", "t", "ack", "seq",
	    (json_int_t)acked));
}

/*
 * The answer to the batch the store is storing: its ack (or refusal)
 * goes out before the answer to any later frame.
 */
static void
mc_settle(struct mc *m)
{
	char		why[256];
	uint64_t	acked;
	int		rc;

	if (!m->storing)
		return;
	m->storing = 0;
	rc = store_batch_wait(m->st, &acked, why, sizeof(why));
	mc_answer(m, rc, acked, why, sizeof(why));
}

/*
 * A batch of records.  It is checked while the store may still be
 * storing the one before (its JSON was read meanwhile too, by
 * mc_read()); then that one's answer goes out, and this one is handed
 * to the store, which may take it without waiting (store.h): mc_read()
 * answers it once the next frame is read, or before it returns.
 */
static void
mc_records(struct mc *m, json_t *f)
{
	struct store_batch	*b;
	char			 why[256];
	uint64_t		 acked = 0;
	int			 rc;

	if (m->st == NULL) {
		mc_send(m, json_pack("{s:s, s:s}", "t", "error", "reason",
		    "this relay has no database"));
		return;
	}
	rc = store_batch_check(m->st, m->cl->id, json_object_get(f,
	    "records"), clock_now(), &b, why, sizeof(why));
	mc_settle(m);
	if (rc == -1) {
		mc_not_stored(m, why, sizeof(why));
		return;
	}
	if (!mc_follows(m, f, why, sizeof(why))) {
		store_batch_free(b);
		mc_refuse(m, why);
		return;
	}
	if ((rc = store_batch_send(m->st, b, &acked, why, sizeof(why))) == 1)
		m->storing = 1;
	else
		mc_answer(m, rc, acked, why, sizeof(why));
}

static void
mc_license(struct mc *m, json_t *f)
{
	char	exp[32];
	json_t	*ans;

	(void)f;
	ans = json_pack("{s:s, s:s, s:b}", "t", "license", "license",
	    m->cl->trial ? "trial" : "full", "overage", m->cl->overage);
	if (m->cl->license_expires != 0) {
		parse_format_time(m->cl->license_expires, exp, sizeof(exp));
		json_object_set_new(ans, "expires", json_string(exp));
	} else
		json_object_set_new(ans, "expires", json_null());
	mc_send(m, ans);
}

static void
mc_anchor(struct mc *m, json_t *f)
{
	json_t		*e = json_object_get(f, "epoch");
	json_t		*s = json_object_get(f, "seq");
	const char	*head = json_string_value(json_object_get(f, "head"));

	if (!json_is_integer(e) || !json_is_integer(s) || head == NULL ||
	    strlen(head) != 64 || json_integer_value(e) < 0 ||
	    json_integer_value(s) < 0) {
		mc_fail(m, "a malformed anchor");
		return;
	}
	if (m->st != NULL && store_anchor(m->st, m->cl->id,
	    (uint64_t)json_integer_value(e), (uint64_t)json_integer_value(s),
	    head, clock_now()) == -1)
		return;		/* not kept: no ack, the gateway resends */
	mc_send(m, json_pack("{s:s, s:O}", "t", "anchor_ack", "seq", s));
}

#ifdef PORTHOLE_TEST_HOOKS
/*
 * Test builds only: PORTHOLE_TEST_AFTER_MSG holds a frame (JSON) that
 * is sent right after every message offered, in the same write, so a
 * test can play a relay that follows a message with something hostile.
 */
static void
mc_test_after_msg(struct mc *m)
{
	const char	*s = getenv("PORTHOLE_TEST_AFTER_MSG");
	json_t		*f;

	if (s != NULL && (f = json_loads(s, 0, NULL)) != NULL)
		mc_send(m, f);
}
#endif

static int
mc_offer_one(const struct store_message *msg, void *arg)
{
	struct mc	*m = arg;
	json_t		*body;

	m->msg_after = msg->id;
	if ((body = json_loads(msg->body, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL || !json_is_object(body)) {
		/* The store checked it on the way in: a hand-edited row. */
		log_error("cluster %s: message %lld has a malformed body; not "
		    "offered", m->cl->id, (long long)msg->id);
		json_decref(body);
		return 0;
	}
	mc_send(m, json_pack("{s:s, s:I, s:s, s:o}", "t", "msg", "id",
	    (json_int_t)msg->id, "kind", msg->kind, "body", body));
	m->msg_inflight[m->nmsg_inflight++] = msg->id;
#ifdef PORTHOLE_TEST_HOOKS
	mc_test_after_msg(m);
#endif
	(void)store_delivery_offered(m->st, msg->id, m->cl->id, clock_now());
	return 0;
}

/*
 * Offer the messages this cluster has not acknowledged, oldest first,
 * while fewer than MC_MSG_INFLIGHT are unanswered.  When the store has
 * none beyond those, everything up to its newest id needs no offer, so
 * the relay's poll (mc_tick) asks the store again only once a newer
 * message is stored.
 */
static void
mc_offer(struct mc *m)
{
	int64_t	newest;
	int	before = m->nmsg_inflight, room = MC_MSG_INFLIGHT - before;

	if (m->st == NULL || !m->greeted || m->failed || room <= 0)
		return;
	if (store_message_max(m->st, &newest) == -1 ||
	    store_messages_pending(m->st, m->cl->id, m->msg_after, room,
	    mc_offer_one, m) == -1)
		return;
	if (m->nmsg_inflight - before < room && newest > m->msg_after)
		m->msg_after = newest;
	if (m->nmsg_inflight > before)
		m->msg_progress = clock_mono_ms();
}

/* Message id is answered: 1 if it was offered and unanswered, or 0. */
static int
mc_answered(struct mc *m, int64_t id)
{
	int i;

	for (i = 0; i < m->nmsg_inflight; i++)
		if (m->msg_inflight[i] == id)
			break;
	if (i == m->nmsg_inflight)
		return 0;
	m->msg_inflight[i] = m->msg_inflight[--m->nmsg_inflight];
	m->msg_progress = clock_mono_ms();
	return 1;
}

/* The gateway stored message id (or refused it): offer it no more. */
static void
mc_msg_ack(struct mc *m, json_t *f)
{
	json_t		*jid = json_object_get(f, "id");
	json_t		*jr = json_object_get(f, "refused");
	const char	*refused = json_string_value(jr);
	char		 shown[256];
	int64_t		 id;

	if (!json_is_integer(jid) || json_integer_value(jid) <= 0 ||
	    (jr != NULL && refused == NULL)) {
		mc_fail(m, "a malformed msg_ack");
		return;
	}
	id = json_integer_value(jid);
	(void)mc_answered(m, id);
	if (m->st != NULL && store_delivery_acked(m->st, id, m->cl->id,
	    clock_now(), refused) == 1 && refused != NULL) {
		/* The gateway's words: escaped for the relay's log. */
		escape_text(refused, strnlen(refused, 200), shown,
		    sizeof(shown));
		log_warn("cluster %s: message %lld refused by the gateway: %s",
		    m->cl->id, (long long)id, shown);
	}
	mc_offer(m);
}

/*
 * The gateway cannot take message id yet (why: its inbox is full, the
 * installed version is not known...): it holds it and answers once it
 * can.  Its place among the MC_MSG_INFLIGHT goes to the next message,
 * so that a few that must wait do not keep every later one (of any
 * kind) from the cluster; the delivery stays unanswered in the store.
 */
static void
mc_msg_wait(struct mc *m, json_t *f)
{
	json_t		*jid = json_object_get(f, "id");
	const char	*why = json_string_value(json_object_get(f, "reason"));
	char		 shown[256];
	int64_t		 id;

	if (!json_is_integer(jid) || json_integer_value(jid) <= 0 ||
	    why == NULL) {
		mc_fail(m, "a malformed msg_wait");
		return;
	}
	id = json_integer_value(jid);
	/* Only for a message offered: a gateway cannot flood the log. */
	if (!mc_answered(m, id))
		return;
	if (m->msg_waited == 0)
		m->msg_waited = clock_mono_ms();
	/* Said once per reason: the same one comes again every minute. */
	escape_text(why, strnlen(why, 200), shown, sizeof(shown));
	if (strcmp(shown, m->wait_said) != 0)
		log_info("cluster %s: message %lld waits at the gateway: %s",
		    m->cl->id, (long long)id, shown);
	snprintf(m->wait_said, sizeof(m->wait_said), "%s", shown);
	mc_offer(m);
}

int
mc_tick(struct mc *m, int64_t newest)
{
	size_t		queued = m->out_len;
	uint64_t	now = clock_mono_ms();

	/*
	 * Unanswered for long: the gateway could not take them or the
	 * answers were lost; or it said some must wait, and may have let
	 * them go since (it holds a few).  Offer from the oldest again; a
	 * gateway acknowledges again what it already holds, and says again
	 * what still waits.
	 */
	if ((m->nmsg_inflight > 0 && now - m->msg_progress >=
	    MC_MSG_RESEND * 1000ULL) || (m->nmsg_inflight == 0 &&
	    m->msg_waited != 0 && now - m->msg_waited >=
	    MC_MSG_RESEND * 1000ULL)) {
		m->nmsg_inflight = 0;
		m->msg_after = 0;
		m->msg_waited = 0;
	}
	if (newest > m->msg_after)
		mc_offer(m);
	return m->out_len != queued;
}

/* A pkg_chunk that gives no bytes, and why. */
static void
mc_pkg_none(struct mc *m, const char *sha, json_t *off, const char *why)
{
	mc_send(m, json_pack("{s:s, s:s, s:O, s:s}", "t", "pkg_chunk",
	    "sha256", sha, "offset", off, "error", why));
}

/*
 * The gateway fetches a package a piece at a time: at most
 * FRAME_PKG_DATA bytes from where it asks, up to the end of the stored
 * chunk that holds that offset.
 */
static void
mc_pkg_get(struct mc *m, json_t *f)
{
	const char	*sha = json_string_value(json_object_get(f, "sha256"));
	json_t		*joff = json_object_get(f, "offset");
	unsigned char	*buf = NULL;
	char		*b64 = NULL;
	uint64_t	 off, size;
	size_t		 n;
	int		 rc;

	if (!sha256_valid_hex(sha) || !json_is_integer(joff) ||
	    json_integer_value(joff) < 0) {
		mc_fail(m, "a malformed pkg_get");
		return;
	}
	if (m->st == NULL) {
		mc_pkg_none(m, sha, joff, "this relay has no database");
		return;
	}
	off = (uint64_t)json_integer_value(joff);
	if ((buf = malloc(FRAME_PKG_DATA)) == NULL ||
	    (b64 = malloc(FRAME_PKG_DATA / 3 * 4 + 8)) == NULL) {
		mc_pkg_none(m, sha, joff, "the relay is out of memory");
		goto out;
	}
	rc = store_package_read(m->st, sha, off, buf, FRAME_PKG_DATA, &n,
	    &size);
	if (rc != 1 || off > size) {
		mc_pkg_none(m, sha, joff, rc == 0 ? "no such package" :
		    rc == -1 ? "the store cannot be read" :
		    "offset past the end of the package");
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)b64, buf, (int)n);
	mc_send(m, json_pack("{s:s, s:s, s:O, s:s, s:b}", "t", "pkg_chunk",
	    "sha256", sha, "offset", joff, "data", b64, "last",
	    off + n == size));
out:
	free(buf);
	free(b64);
}

/*
 * Test builds play a relay that lies about a bundle's upload when
 * PORTHOLE_TEST_BUNDLE_ACK says how: "ahead" claims bytes it was not
 * sent, "done" a bundle whole after any piece, "past" bytes past its
 * end.  The gateway must refuse each.
 */
static void
mc_bundle_lie(uint64_t *have, int *done)
{
#ifdef PORTHOLE_TEST_HOOKS
	const char *how = getenv("PORTHOLE_TEST_BUNDLE_ACK");

	if (how == NULL)
		return;
	if (strcmp(how, "ahead") == 0 && !*done)
		*have += 4096;
	else if (strcmp(how, "done") == 0)
		*done = 1;
	else if (strcmp(how, "past") == 0)
		*have += (uint64_t)1 << 40;
#else
	(void)have;
	(void)done;
#endif
}

/* A bundle_ack: where the store is with bundle id, or why not. */
static void
mc_bundle_ack(struct mc *m, const char *id, uint64_t have, int done,
    const char *error)
{
	json_t *ans;

	ans = json_pack("{s:s, s:s, s:I}", "t", "bundle_ack", "id", id,
	    "offset", (json_int_t)have);
	if (ans != NULL && done)
		json_object_set_new(ans, "done", json_true());
	if (ans != NULL && error != NULL)
		json_object_set_new(ans, "error", json_string(error));
	mc_send(m, ans);
}

/* A bundle's id from a frame, or NULL (the frame is malformed). */
static const char *
mc_bundle_id(json_t *f)
{
	const char *id = json_string_value(json_object_get(f, "id"));

	return id != NULL && strlen(id) == STORE_BUNDLE_ID_LEN &&
	    ident_valid(id, STORE_BUNDLE_ID_LEN, IDENT_HEX) ? id : NULL;
}

/*
 * The gateway begins (or takes up again) uploading a support bundle:
 * the store checks what it announces, and the answer says how much of
 * it is stored already, so an upload cut off goes on from there.
 */
static void
mc_bundle_begin(struct mc *m, json_t *f)
{
	struct store_bundle	 b;
	const char		*id = mc_bundle_id(f);
	json_t			*js = json_object_get(f, "size");
	json_t			*jm = json_object_get(f, "message_id");
	json_t			*jc = json_object_get(f, "created");
	json_t			*summary = json_object_get(f, "summary");
	char			 why[256], *text = NULL;
	uint64_t		 have = 0;
	int			 complete = 0;

	if (id == NULL || !json_is_integer(js) || json_integer_value(js) < 0 ||
	    !json_is_integer(jm) || !json_is_integer(jc) ||
	    !json_is_object(summary)) {
		mc_fail(m, "a malformed bundle_begin");
		return;
	}
	if (m->st == NULL) {
		mc_bundle_ack(m, id, 0, 0, "this relay has no database");
		return;
	}
	memset(&b, 0, sizeof(b));
	b.id = id;
	b.cluster = m->cl->id;
	b.sha256 = json_string_value(json_object_get(f, "sha256"));
	b.size = (uint64_t)json_integer_value(js);
	b.source = json_string_value(json_object_get(f, "source"));
	b.requested_by = json_string_value(json_object_get(f,
	    "requested_by"));
	b.ticket = json_string_value(json_object_get(f, "ticket"));
	b.message_id = json_integer_value(jm);
	b.created = (time_t)json_integer_value(jc);
	b.summary = text = json_dumps(summary, JSON_COMPACT);
	if (text == NULL || store_bundle_begin(m->st, &b, clock_now(), &have,
	    &complete, why, sizeof(why)) == -1) {
		log_warn("cluster %s: bundle %s refused: %s", m->cl->id, id,
		    text == NULL ? "out of memory" : why);
		mc_bundle_ack(m, id, 0, 0, text == NULL ? "out of memory" :
		    why);
	} else {
		if (have == 0 && !complete)
			log_info("cluster %s: bundle %s: %llu bytes coming",
			    m->cl->id, id, (unsigned long long)b.size);
		mc_bundle_ack(m, id, have, complete, NULL);
	}
	free(text);
}

/* A piece of a bundle, stored where the stored bytes end. */
static void
mc_bundle_data(struct mc *m, json_t *f)
{
	const char	*id = mc_bundle_id(f);
	const char	*b64 = json_string_value(json_object_get(f, "data"));
	json_t		*jo = json_object_get(f, "offset");
	unsigned char	*buf = NULL;
	char		 why[256];
	uint64_t	 have = 0;
	size_t		 len, n;
	int		 rc, pad, done;

	if (id == NULL || b64 == NULL || !json_is_integer(jo) ||
	    json_integer_value(jo) < 0 || (len = strlen(b64)) == 0 ||
	    len % 4 != 0 || len > (FRAME_PKG_DATA + 2) / 3 * 4) {
		mc_fail(m, "a malformed bundle_data");
		return;
	}
	if (m->st == NULL) {
		mc_bundle_ack(m, id, 0, 0, "this relay has no database");
		return;
	}
	if ((buf = malloc(len / 4 * 3)) == NULL) {
		mc_bundle_ack(m, id, 0, 0, "the relay is out of memory");
		return;
	}
	pad = (b64[len - 1] == '=') + (b64[len - 2] == '=');
	if (EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len) < 0) {
		free(buf);
		mc_fail(m, "a bundle_data that is not base64");
		return;
	}
	n = len / 4 * 3 - (size_t)pad;
	rc = store_bundle_put(m->st, m->cl->id, id,
	    (uint64_t)json_integer_value(jo), buf, n, clock_now(), &have, why,
	    sizeof(why));
	free(buf);
	if (rc == -1) {
		log_warn("cluster %s: bundle %s: %s", m->cl->id, id, why);
		mc_bundle_ack(m, id, have, 0, why);
		return;
	}
	if (rc == 1)
		log_info("cluster %s: bundle %s complete (%llu bytes, SHA-256 "
		    "checked)", m->cl->id, id, (unsigned long long)have);
	done = rc == 1;
	mc_bundle_lie(&have, &done);
	mc_bundle_ack(m, id, have, done, NULL);
}

static void
mc_ping(struct mc *m, json_t *f)
{
	(void)f;
	mc_send(m, json_pack("{s:s}", "t", "pong"));
}

/* What the relay does with each kind a gateway sends (frame.h). */
static void (*const mc_handlers[FRAME__COUNT])(struct mc *, json_t *) = {
	[FRAME_HELLO] =		mc_hello,
	[FRAME_RECORDS] =	mc_records,
	[FRAME_LICENSE_CHECK] =	mc_license,
	[FRAME_ANCHOR] =	mc_anchor,
	[FRAME_PING] =		mc_ping,
	[FRAME_MSG_ACK] =	mc_msg_ack,
	[FRAME_MSG_WAIT] =	mc_msg_wait,
	[FRAME_PKG_GET] =	mc_pkg_get,
	[FRAME_BUNDLE_BEGIN] =	mc_bundle_begin,
	[FRAME_BUNDLE_DATA] =	mc_bundle_data,
};

static void
mc_frame(struct mc *m, json_t *f)
{
	enum frame_kind	kind;
	char		why[128];

	if (frame_classify(f, FRAME_UP, m->greeted, &kind, why,
	    sizeof(why)) == -1) {
		mc_fail(m, why);
		return;
	}
	if (kind == FRAME_HELLO)
		m->greeted = 1;
	/* Every other frame is answered after the batch being stored. */
	if (kind != FRAME_RECORDS)
		mc_settle(m);
	mc_handlers[kind](m, f);
	/* After the welcome: what the vendor has for this cluster. */
	if (kind == FRAME_HELLO)
		mc_offer(m);
}

/* Read frames while the answers have room. */
static void	mc_write(struct mc *);

/* Returns how many bytes came off the channel. */
static size_t
mc_read_frames(struct mc *m)
{
	char	 buf[16384];
	json_t	*f;
	size_t	 got = 0;
	int	 n, rc;

	while (!m->failed && m->out_len - m->out_off < MC_OUT_MAX / 2) {
		/*
		 * A gateway draining its backlog keeps this channel full:
		 * the other tunnels get their turn in between.
		 */
		if (clock_mono_ms() >= m->read_until) {
			m->more = 1;
			return got;
		}
		while ((rc = frame_reader_next(m->rd, &f)) == 1) {
			mc_frame(m, f);
			json_decref(f);
			if (m->failed)
				return got;
			/*
			 * Answer at once: an ack that waited for the end of
			 * this loop (the next frames stored first) held the
			 * gateway's window shut, and both ends took turns
			 * instead of overlapping.
			 */
			mc_write(m);
		}
		if (rc == -1) {
			mc_fail(m, "a malformed frame");
			return got;
		}
		n = ssh_channel_read_nonblocking(m->ch, buf, sizeof(buf), 0);
		if (n <= 0)
			return got;
		got += (size_t)n;
		if (frame_reader_feed(m->rd, buf, (size_t)n) == -1)
			mc_fail(m, "a frame length out of bounds");
	}
	return got;
}

/*
 * Nothing is left with the store when the relay goes back to its event
 * loop: the store serves every channel and command in turn.
 */
static void
mc_read(struct mc *m)
{
	struct pollfd	pfd[2];

	mc_read_frames(m);
	while (m->storing && !m->failed && !m->more) {
		/*
		 * While the database stores the batch, the next one may be
		 * arriving: read it (and check it, in mc_records()) rather
		 * than wait idle, so that the relay's work and the
		 * database's overlap.  The database's answer, or the
		 * channel's socket readable with nothing for this channel
		 * (a part of a packet, another channel's data), ends it.
		 */
		pfd[0].fd = store_batch_fd(m->st);
		pfd[0].events = POLLIN;
		pfd[1].fd = ssh_get_fd(ssh_channel_get_session(m->ch));
		pfd[1].events = POLLIN;
		if (pfd[0].fd == -1 || pfd[1].fd == -1 ||
		    poll(pfd, 2, -1) <= 0 || pfd[0].revents != 0 ||
		    (pfd[1].revents & POLLIN) == 0 || mc_read_frames(m) == 0)
			break;
	}
	mc_settle(m);
	mc_write(m);
}

static void
mc_write(struct mc *m)
{
	uint32_t	win = ssh_channel_window_size(m->ch);
	size_t		len = m->out_len - m->out_off;
	int		w;

	if (len == 0 || win == 0)
		return;
	if (len > win)
		len = win;
	if ((w = ssh_channel_write(m->ch, m->out + m->out_off,
	    (uint32_t)len)) < 0) {
		mc_fail(m, "the channel cannot be written");
		return;
	}
	m->out_off += (size_t)w;
	if (m->out_off == m->out_len) {
		/* mc_send() sized the buffer to out_len exactly. */
		if (m->out_len > MC_OUT_KEEP) {
			free(m->out);
			m->out = NULL;
		}
		m->out_off = m->out_len = 0;
	}
}

/*
 * Writing can make libssh read what the gateway sent meanwhile, and no
 * socket event comes for bytes it has read already: the batch would
 * wait for the gateway's next packet (a keepalive, seconds later).  So
 * read again while the channel holds bytes and the answers have room,
 * a few rounds at most.
 */
#define MC_PUMP_ROUNDS	8

int
mc_pump(struct mc *m)
{
	int i;

	/* One budget for all the rounds. */
	m->more = 0;
	m->read_until = clock_mono_ms() + MC_READ_MS;
	for (i = 0; i < MC_PUMP_ROUNDS; i++) {
		mc_read(m);
		mc_write(m);
		if (m->failed || m->more ||
		    m->out_len - m->out_off >= MC_OUT_MAX / 2 ||
		    ssh_channel_poll(m->ch, 0) <= 0)
			break;
	}
	if (m->failed) {
		log_warn("cluster %s: control channel protocol error (%s); "
		    "closing it", m->cl->id, m->why);
		return 1;
	}
	return ssh_channel_is_closed(m->ch) || ssh_channel_is_eof(m->ch);
}

int
mc_more(const struct mc *m)
{
	return m->more;
}

struct mc *
mc_new(ssh_channel ch, struct store *st, const struct relay_cluster *cl)
{
	struct mc *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->ch = ch;
	m->st = st;
	m->cl = cl;
	if ((m->rd = frame_reader_new()) == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void
mc_free(struct mc *m)
{
	if (m == NULL)
		return;
	if (ssh_channel_is_open(m->ch))
		ssh_channel_close(m->ch);
	ssh_channel_free(m->ch);
	frame_reader_free(m->rd);
	free(m->out);
	free(m);
}
