/*
 * mc.c - the relay's side of a cluster's control channel.
 */
#include "relay/mc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "telemetry/frame.h"

#define MC_OUT_MAX	(256 * 1024)	/* answers waiting for the window */

struct mc {
	ssh_channel			 ch;
	struct store			*st;
	const struct relay_cluster	*cl;
	struct frame_reader		*rd;
	char				*out;
	size_t				 out_len, out_off;
	int				 failed;
};

/* Queue a frame (obj stolen). */
static void
mc_send(struct mc *m, json_t *obj)
{
	char	*buf, *nb;
	size_t	 len;

	if (obj == NULL || frame_encode(obj, &buf, &len) == -1) {
		json_decref(obj);
		m->failed = 1;
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
		m->failed = 1;
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
		m->failed = 1;
		return;
	}
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
	if (store_last_seq(m->st, m->cl->id, &last) == -1) {
		snprintf(why, whylen, "the store cannot be read");
		return 0;
	}
	if ((uint64_t)json_integer_value(ja) > last) {
		snprintf(why, whylen, "gap: the relay has up to seq %llu, this "
		    "batch follows %lld", (unsigned long long)last,
		    (long long)json_integer_value(ja));
		return 0;
	}
	return 1;
}

static void
mc_records(struct mc *m, json_t *f)
{
	char		why[256];
	uint64_t	acked = 0;

	if (m->st == NULL) {
		mc_send(m, json_pack("{s:s, s:s}", "t", "error", "reason",
		    "this relay has no database"));
		return;
	}
	if (!mc_follows(m, f, why, sizeof(why))) {
		(void)store_last_seq(m->st, m->cl->id, &acked);
		mc_send(m, json_pack("{s:s, s:I, s:s}", "t", "ack", "seq",
		    (json_int_t)acked, "error", why));
		return;
	}
	if (store_records(m->st, m->cl->id, json_object_get(f, "records"),
	    clock_now(), &acked, why, sizeof(why)) == -1) {
		log_warn("cluster %s: batch not stored: %s", m->cl->id, why);
		(void)store_last_seq(m->st, m->cl->id, &acked);
		mc_send(m, json_pack("{s:s, s:I, s:s}", "t", "ack", "seq",
		    (json_int_t)acked, "error", why));
		return;
	}
	mc_send(m, json_pack("{s:s, s:I}", "t", "ack", "seq",
	    (json_int_t)acked));
}

static void
mc_license(struct mc *m)
{
	char	exp[32];
	json_t	*ans;

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
		m->failed = 1;
		return;
	}
	if (m->st != NULL && store_anchor(m->st, m->cl->id,
	    (uint64_t)json_integer_value(e), (uint64_t)json_integer_value(s),
	    head, clock_now()) == -1)
		return;		/* not kept: no ack, the gateway resends */
	mc_send(m, json_pack("{s:s, s:O}", "t", "anchor_ack", "seq", s));
}

static void
mc_frame(struct mc *m, json_t *f)
{
	const char *t = json_string_value(json_object_get(f, "t"));

	if (strcmp(t, "hello") == 0)
		mc_hello(m, f);
	else if (strcmp(t, "records") == 0)
		mc_records(m, f);
	else if (strcmp(t, "license_check") == 0)
		mc_license(m);
	else if (strcmp(t, "anchor") == 0)
		mc_anchor(m, f);
	else if (strcmp(t, "ping") == 0)
		mc_send(m, json_pack("{s:s}", "t", "pong"));
	else {
		log_warn("cluster %s: unknown control frame '%.32s'",
		    m->cl->id, t);
		m->failed = 1;
	}
}

/* Read frames while the answers have room. */
static void
mc_read(struct mc *m)
{
	char	 buf[16384];
	json_t	*f;
	int	 n, rc;

	while (!m->failed && m->out_len - m->out_off < MC_OUT_MAX / 2) {
		while ((rc = frame_reader_next(m->rd, &f)) == 1) {
			mc_frame(m, f);
			json_decref(f);
			if (m->failed)
				return;
		}
		if (rc == -1) {
			m->failed = 1;
			return;
		}
		n = ssh_channel_read_nonblocking(m->ch, buf, sizeof(buf), 0);
		if (n <= 0)
			return;
		if (frame_reader_feed(m->rd, buf, (size_t)n) == -1)
			m->failed = 1;
	}
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
		m->failed = 1;
		return;
	}
	m->out_off += (size_t)w;
	if (m->out_off == m->out_len)
		m->out_off = m->out_len = 0;
}

int
mc_pump(struct mc *m)
{
	mc_read(m);
	mc_write(m);
	if (m->failed) {
		log_warn("cluster %s: control channel protocol error; closing "
		    "it", m->cl->id);
		return 1;
	}
	return ssh_channel_is_closed(m->ch) || ssh_channel_is_eof(m->ch);
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
mc_set_cluster(struct mc *m, const struct relay_cluster *cl)
{
	m->cl = cl;
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
