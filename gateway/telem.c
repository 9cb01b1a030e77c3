/*
 * telem.c - validate, filter, spool, and commit in groups; hold the
 * gateway's own events while the spool has no room for them.
 */
#include "config.h"

#include "gateway/telem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "telemetry/record.h"

/* A producer waiting for the commit that makes its record durable. */
struct telem_wait {
	struct telem_wait	*next;
	telem_done_cb		 done;
	void			*arg;
	uint64_t		 seq;
};

/* One of the gateway's own events, waiting for room in the spool. */
struct telem_held {
	struct telem_held	*next;
	size_t			 len;
	char			 text[];	/* compact JSON, checked */
};

struct telem {
	struct event_base	*base;
	const struct policy	*pol;
	struct spool		*spool;
	struct event		*ev_commit;	/* once per loop turn */
	struct telem_wait	*waiting, **tail;
	int			 dirty;		/* appended, not synced */
	void			(*on_commit)(void *);
	void			*commit_arg;
	struct telem_held	*held, **held_tail;	/* oldest first */
	size_t			 nheld;
	uint64_t		 held_lost;
	struct event		*ev_held;	/* tries the spool again */
	void			(*on_event)(void *, const char *);
	void			*on_event_arg;
};

/* Make everything appended durable, then tell each producer. */
static void
telem_commit(evutil_socket_t fd, short what, void *arg)
{
	struct telem		*t = arg;
	struct telem_wait	*w, *next;
	char			 why[256];
	int			 ok;

	(void)fd;
	(void)what;
	if (!t->dirty)
		return;
	ok = spool_sync(t->spool, why, sizeof(why)) == 0;
	if (!ok)
		log_error("telemetry: spool sync failed: %s", why);
	t->dirty = 0;
	w = t->waiting;
	t->waiting = NULL;
	t->tail = &t->waiting;
	for (; w != NULL; w = next) {
		next = w->next;
		w->done(w->arg, ok, w->seq, ok ? NULL : why);
		free(w);
	}
	if (ok && t->on_commit != NULL)
		t->on_commit(t->commit_arg);
}

static int
class_enabled(const struct policy *pol, enum record_class cls)
{
	switch (cls) {
	case RECORD_USAGE:
		return pol->tel_usage;
	case RECORD_HEALTH:
		return pol->tel_health;
	case RECORD_EVENT:
		return pol->tel_events;
	}
	return 0;
}

/* Append a valid record; 0, or -1 with why. */
static int
telem_append(struct telem *t, enum record_class cls, json_t *rec,
    uint64_t *seq, char *why, size_t whylen)
{
	char	*text;
	int	 rc;

	if ((text = json_dumps(rec, JSON_COMPACT)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	rc = spool_append(t->spool, cls, text, strlen(text), clock_now(), seq,
	    why, whylen);
	free(text);
	if (rc == 0) {
		t->dirty = 1;
		event_active(t->ev_commit, EV_TIMEOUT, 0);
	}
	return rc;
}

int
telem_submit(struct telem *t, const char *text, size_t len,
    telem_done_cb done, void *arg, char *why, size_t whylen)
{
	struct telem_wait	*w;
	enum record_class	 cls;
	json_t			*rec = NULL;
	uint64_t		 seq;

	if (record_parse(text, len, &rec, &cls, why, whylen) == -1)
		return -1;
	if (cls == RECORD_EVENT && t->on_event != NULL)
		t->on_event(t->on_event_arg, json_string_value(
		    json_object_get(rec, "type")));
	if (!class_enabled(t->pol, cls)) {
		snprintf(why, whylen, "%s telemetry is turned off in "
		    "porthole.conf; the record was not kept",
		    record_class_name(cls));
		json_decref(rec);
		return 1;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		json_decref(rec);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (telem_append(t, cls, rec, &seq, why, whylen) == -1) {
		json_decref(rec);
		free(w);
		return -1;
	}
	json_decref(rec);
	w->done = done;
	w->arg = arg;
	w->seq = seq;
	*t->tail = w;
	t->tail = &w->next;
	return 0;
}

/*
 * Append the held events, oldest first, while the spool takes them.
 * Returns how many are still held.
 */
static size_t
telem_held_flush(struct telem *t)
{
	struct telem_held	*h;
	uint64_t		 seq;
	char			 why[256];
	struct timeval		 tv = { TELEM_HELD_RETRY, 0 };
	size_t			 n = 0;

	while ((h = t->held) != NULL) {
		if (spool_append(t->spool, RECORD_EVENT, h->text, h->len,
		    clock_now(), &seq, why, sizeof(why)) == -1)
			break;
		t->dirty = 1;
		event_active(t->ev_commit, EV_TIMEOUT, 0);
		if ((t->held = h->next) == NULL)
			t->held_tail = &t->held;
		t->nheld--;
		free(h);
		n++;
	}
	if (n > 0)
		log_info("telemetry: %zu held event%s spooled, %zu still held",
		    n, n == 1 ? "" : "s", t->nheld);
	if (t->held != NULL && !evtimer_pending(t->ev_held, NULL))
		evtimer_add(t->ev_held, &tv);
	return t->nheld;
}

static void
telem_held_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	telem_held_flush(arg);
}

/*
 * Keep an event the spool refused, to append it once there is room.
 * Bounded: past TELEM_HELD_MAX the oldest is lost, and said so.
 */
static int
telem_hold(struct telem *t, const char *text, size_t len)
{
	struct telem_held *h;

	if ((h = malloc(sizeof(*h) + len)) == NULL)
		return -1;
	h->next = NULL;
	h->len = len;
	memcpy(h->text, text, len);
	*t->held_tail = h;
	t->held_tail = &h->next;
	if (++t->nheld > TELEM_HELD_MAX) {
		h = t->held;
		t->held = h->next;
		t->nheld--;
		t->held_lost++;
		log_error("telemetry: more than %d events held for want of "
		    "room: the oldest is lost (%.*s)", TELEM_HELD_MAX,
		    (int)(h->len < 200 ? h->len : 200), h->text);
		free(h);
	}
	telem_held_flush(t);
	return 0;
}

/* hold: an event to keep in memory when the spool refuses it. */
static int
telem_own(struct telem *t, json_t *rec, int hold)
{
	enum record_class	 cls;
	char			*text, why[256];
	uint64_t		 seq;
	json_t			*checked = NULL;
	int			 rc = -1;

	text = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	if (text == NULL)
		return -1;
	if (record_parse(text, strlen(text), &checked, &cls, why,
	    sizeof(why)) == -1)
		log_error("telemetry: own record refused: %s", why);
	else if (!class_enabled(t->pol, cls))
		rc = 0;
	else if (hold && (t->held != NULL || telem_append(t, cls, checked,
	    &seq, why, sizeof(why)) == -1)) {
		/* Behind the ones held before it, in order. */
		if (t->held == NULL)
			log_warn("telemetry: event not spooled, held until "
			    "there is room: %s", why);
		rc = telem_hold(t, text, strlen(text));
	} else if (!hold && telem_append(t, cls, checked, &seq, why,
	    sizeof(why)) == -1)
		log_warn("telemetry: %s record not spooled: %s",
		    record_class_name(cls), why);
	else
		rc = 0;
	json_decref(checked);
	free(text);
	return rc;
}

int
telem_record(struct telem *t, json_t *rec)
{
	return telem_own(t, rec, 0);
}

static json_t *
telem_stamp(struct telem *t, const char *type, json_t *fields)
{
	char	ts[32];
	json_t	*rec = fields != NULL ? fields : json_object();

	parse_format_time(clock_now(), ts, sizeof(ts));
	json_object_set_new(rec, "class", json_string("event"));
	json_object_set_new(rec, "type", json_string(type));
	json_object_set_new(rec, "ts", json_string(ts));
	json_object_set_new(rec, "cluster", json_string(t->pol->cluster_id));
	return rec;
}

int
telem_event(struct telem *t, const char *type, json_t *fields)
{
	return telem_own(t, telem_stamp(t, type, fields), 1);
}

int
telem_event_try(struct telem *t, const char *type, json_t *fields)
{
	return telem_own(t, telem_stamp(t, type, fields), 0);
}

size_t
telem_held(const struct telem *t)
{
	return t->nheld;
}

void
telem_on_commit(struct telem *t, void (*cb)(void *), void *arg)
{
	t->on_commit = cb;
	t->commit_arg = arg;
}

void
telem_on_event(struct telem *t, void (*cb)(void *, const char *), void *arg)
{
	t->on_event = cb;
	t->on_event_arg = arg;
}

struct spool *
telem_spool(struct telem *t)
{
	return t->spool;
}

void
telem_set_policy(struct telem *t, const struct policy *pol)
{
	t->pol = pol;
}

/* The spool's bound; test builds may lower it (PORTHOLE_SPOOL_MAX). */
static uint64_t
telem_spool_max(void)
{
#ifdef PORTHOLE_TEST_HOOKS
	const char		*s = getenv("PORTHOLE_SPOOL_MAX");
	char			*end;
	unsigned long long	 v;

	if (s != NULL) {
		v = strtoull(s, &end, 10);
		if (*s != '\0' && *end == '\0' && v > 0 &&
		    v < TELEM_SPOOL_MAX)
			return v;
	}
#endif
	return TELEM_SPOOL_MAX;
}

struct telem *
telem_new(struct event_base *base, const struct policy *pol, char *err,
    size_t errlen)
{
	struct telem	*t;
	char		 dir[4096];

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->base = base;
	t->pol = pol;
	t->tail = &t->waiting;
	t->held_tail = &t->held;
	snprintf(dir, sizeof(dir), "%s/%s", pol->state_dir, TELEM_SPOOL_DIR);
	if (spool_open(dir, telem_spool_max(), &t->spool, err, errlen) == -1 ||
	    (t->ev_commit = event_new(base, -1, 0, telem_commit, t)) == NULL ||
	    (t->ev_held = evtimer_new(base, telem_held_retry, t)) == NULL) {
		telem_free(t);
		return NULL;
	}
	return t;
}

void
telem_free(struct telem *t)
{
	struct telem_wait *w, *next;
	struct telem_held *h, *hnext;

	if (t == NULL)
		return;
	if (t->held != NULL && telem_held_flush(t) > 0)
		log_error("telemetry: %zu events the spool had no room for "
		    "are lost at shutdown", t->nheld);
	for (h = t->held; h != NULL; h = hnext) {
		hnext = h->next;
		free(h);
	}
	if (t->ev_held != NULL)
		event_free(t->ev_held);
	if (t->ev_commit != NULL) {
		telem_commit(-1, 0, t);
		event_free(t->ev_commit);
	}
	for (w = t->waiting; w != NULL; w = next) {
		next = w->next;
		free(w);
	}
	if (t->spool != NULL)
		spool_close(t->spool);
	free(t);
}
