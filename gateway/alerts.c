/*
 * alerts.c - the vendor's alerts, told down as messages (alerts.h).
 *
 * A message is judged (check), stored by the inbox, then applied (act):
 * the alert it names is raised or cleared here, audited, and a
 * notification is queued.  Applying is idempotent by the message id,
 * which only grows: after a restart the inbox hands its stored messages
 * over again, and those already applied change nothing.
 */
#include "gateway/alerts.h"

#include <sys/wait.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/fileio.h"
#include "lib/ident.h"
#include "lib/log.h"
#include "lib/parse.h"

#define ALERTS_FILE_MAX		(1024 * 1024)	/* bytes of alerts.json */
#define RULE_MAX		32

/* One alert, as this gateway knows it. */
struct alert {
	int64_t		 id;		/* the relay store's */
	int		 open;
	char		 severity[16];
	char		 rule[RULE_MAX + 1];
	char		*subject;	/* stripped */
	char		*text;		/* stripped */
	time_t		 raised, cleared;	/* 0: not (yet) */
	uint64_t	 msg;		/* the last message applied */
	char		 notify[160];	/* what became of its notification */
};

/* A notification owed: an alert's raise or clear. */
struct owed {
	int64_t		 id;
	int		 raised;	/* 1 raised, 0 cleared */
	uint64_t	 msg;
};

struct alerts {
	struct event_base	*base;
	const struct policy	*pol;
	struct jobs		*jobs;
	struct inbox		*inbox;
	inbox_audit_fn		 audit;
	void			*audit_arg;
	char			 path[4200];
	struct alert		*a;		/* by id */
	size_t			 n;
	struct owed		 owed[ALERTS_NOTIFY_QUEUE];
	size_t			 nowed;
	struct job		*job;		/* notify_command running */
	struct owed		 running;
};

/*
 * Untrusted text made one clean line: a tab, CR or LF becomes a space,
 * other C0 controls, DEL and C1 controls go, and it is cut at max bytes
 * on a character boundary.  The input is UTF-8 (it came as JSON).
 */
static char *
strip(const char *s, size_t max)
{
	uint32_t	 c;
	size_t		 len = strlen(s), i = 0, o = 0, k;
	char		*out;

	if ((out = malloc(max + 1)) == NULL)
		return NULL;
	while (i < len) {
		if ((k = parse_utf8_char(s + i, len - i, &c)) == 0) {
			i++;
			continue;
		}
		if (c == '\t' || c == '\n' || c == '\r')
			c = ' ', k = 1;
		else if (c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f)) {
			i += k;
			continue;
		}
		if (o + k > max)
			break;
		if (c == ' ')
			out[o] = ' ';
		else
			memcpy(out + o, s + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
	return out;
}

/* A rule's name: a-z 0-9 _, as the relay names its rules. */
static int
valid_rule(const char *s)
{
	return s != NULL && ident_valid(s, RULE_MAX, IDENT_SNAKE);
}

static struct alert *
alert_find(struct alerts *al, int64_t id)
{
	size_t i;

	for (i = 0; i < al->n; i++)
		if (al->a[i].id == id)
			return &al->a[i];
	return NULL;
}

static void
alert_free(struct alert *a)
{
	free(a->subject);
	free(a->text);
}

/* Room for one more: the oldest cleared alert goes, else the oldest. */
static struct alert *
alert_add(struct alerts *al, int64_t id)
{
	struct alert	*p;
	size_t		 i, drop = 0;

	if (al->n >= ALERTS_MAX) {
		for (i = 0; i < al->n; i++)
			if (!al->a[i].open) {
				drop = i;
				break;
			}
		log_warn("alerts: more than %d kept: alert %" PRId64 " is "
		    "forgotten", ALERTS_MAX, al->a[drop].id);
		alert_free(&al->a[drop]);
		memmove(&al->a[drop], &al->a[drop + 1], (al->n - drop - 1) *
		    sizeof(*al->a));
		al->n--;
	}
	if ((p = reallocarray(al->a, al->n + 1, sizeof(*p))) == NULL)
		return NULL;
	al->a = p;
	p = &al->a[al->n++];
	memset(p, 0, sizeof(*p));
	p->id = id;
	return p;
}

static json_t *
jtime(time_t t)
{
	char buf[32];

	if (t == 0)
		return json_null();
	parse_format_time(t, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *
alert_json(const struct alert *a)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:I, "
	    "s:s, s:s}", "id", (json_int_t)a->id, "state", a->open ? "open" :
	    "cleared", "severity", a->severity, "rule", a->rule, "subject",
	    a->subject != NULL ? a->subject : "", "text", a->text != NULL ?
	    a->text : "", "raised", jtime(a->raised), "cleared",
	    jtime(a->cleared), "message", (json_int_t)a->msg, "from", "vendor",
	    "notify", a->notify);
}

/* alerts.json whole, atomically: 0, or -1 with err (the file, why). */
static int
alerts_store(struct alerts *al, char *err, size_t errlen)
{
	json_t	*j, *list, *owed;
	char	*text;
	size_t	 i;
	int	 rc;

	list = json_array();
	owed = json_array();
	for (i = 0; i < al->n; i++)
		json_array_append_new(list, alert_json(&al->a[i]));
	for (i = 0; i < al->nowed; i++)
		json_array_append_new(owed, json_pack("{s:I, s:s, s:I}",
		    "alert", (json_int_t)al->owed[i].id, "state",
		    al->owed[i].raised ? "raised" : "cleared", "message",
		    (json_int_t)al->owed[i].msg));
	j = json_pack("{s:i, s:o, s:o}", "version", 1, "alerts", list,
	    "owed", owed);
	if (j == NULL || (text = json_dumps(j, JSON_INDENT(1))) == NULL) {
		json_decref(j);
		snprintf(err, errlen, "%s: out of memory", al->path);
		return -1;
	}
	json_decref(j);
	rc = fileio_replace(al->path, text, strlen(text), 0600, err, errlen);
	free(text);
	return rc;
}

/* The same; a failure is logged. */
static void
alerts_save(struct alerts *al)
{
	char err[4400];

	if (alerts_store(al, err, sizeof(err)) == -1)
		log_error("alerts: %s", err);
}

static void	notify_next(struct alerts *);

static void
notify_done(void *arg, const struct job_result *r)
{
	struct alerts	*al = arg;
	struct alert	*a = alert_find(al, al->running.id);
	char		 res[128];

	al->job = NULL;
	job_describe(r, ALERTS_NOTIFY_TIMEOUT, res, sizeof(res));
	if (r->ran && WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0)
		snprintf(res, sizeof(res), "done");
	else {
		log_warn("alerts: notify_command for alert %" PRId64 " (%s) "
		    "failed: %s", al->running.id, al->running.raised ?
		    "raised" : "cleared", res);
		al->audit(al->audit_arg, "alert_notify_failed", json_pack(
		    "{s:I, s:s, s:s}", "alert", (json_int_t)al->running.id,
		    "state", al->running.raised ? "raised" : "cleared",
		    "result", res));
	}
	if (a != NULL)
		snprintf(a->notify, sizeof(a->notify), "%s: %s",
		    al->running.raised ? "raised" : "cleared", res);
	alerts_save(al);
	notify_next(al);
}

/* Start the oldest notification owed, unless one runs. */
static void
notify_next(struct alerts *al)
{
	struct job_spec	 spec;
	struct job_env	 e = { { NULL }, 0 };
	struct alert	*a;
	char		 id[32], err[256];

	while (al->job == NULL && al->nowed > 0) {
		al->running = al->owed[0];
		memmove(&al->owed[0], &al->owed[1], (al->nowed - 1) *
		    sizeof(al->owed[0]));
		al->nowed--;
		if ((a = alert_find(al, al->running.id)) == NULL ||
		    al->pol->alert_notify_command == NULL)
			continue;
		memset(&spec, 0, sizeof(spec));
		if ((spec.argv = policy_hook_argv(
		    al->pol->alert_notify_command)) == NULL)
			continue;
		snprintf(id, sizeof(id), "%" PRId64, a->id);
		job_env_add(&e, "PATH", JOB_PATH);
		job_env_add(&e, "PORTHOLE_ALERT_ID", id);
		job_env_add(&e, "PORTHOLE_ALERT_STATE", al->running.raised ?
		    "raised" : "cleared");
		job_env_add(&e, "PORTHOLE_ALERT_SEVERITY", a->severity);
		job_env_add(&e, "PORTHOLE_ALERT_RULE", a->rule);
		job_env_add(&e, "PORTHOLE_ALERT_SUBJECT", a->subject);
		job_env_add(&e, "PORTHOLE_ALERT_TEXT", a->text);
		spec.envp = e.v;
		spec.timeout = ALERTS_NOTIFY_TIMEOUT;
		if ((al->job = job_start(al->jobs, &spec, notify_done, al, err,
		    sizeof(err))) == NULL) {
			log_error("alerts: notify_command: %s", err);
			snprintf(a->notify, sizeof(a->notify), "%s: not run: "
			    "%.100s", al->running.raised ? "raised" :
			    "cleared", err);
			al->audit(al->audit_arg, "alert_notify_failed",
			    json_pack("{s:I, s:s, s:s}", "alert",
			    (json_int_t)a->id, "state", al->running.raised ?
			    "raised" : "cleared", "result", err));
		}
		policy_argv_free(spec.argv);
		job_env_free(&e);
	}
	alerts_save(al);
}

/* Owe a notification; past the queue's bound the oldest is dropped. */
static void
notify_owe(struct alerts *al, int64_t id, int raised, uint64_t msg)
{
	if (al->pol->alert_notify_command == NULL)
		return;
	if (al->nowed == ALERTS_NOTIFY_QUEUE) {
		log_warn("alerts: more than %d notifications waiting: the one "
		    "for alert %" PRId64 " is dropped", ALERTS_NOTIFY_QUEUE,
		    al->owed[0].id);
		al->audit(al->audit_arg, "alert_notify_failed", json_pack(
		    "{s:I, s:s, s:s}", "alert", (json_int_t)al->owed[0].id,
		    "state", al->owed[0].raised ? "raised" : "cleared",
		    "result", "dropped: too many waiting"));
		memmove(&al->owed[0], &al->owed[1], (al->nowed - 1) *
		    sizeof(al->owed[0]));
		al->nowed--;
	}
	al->owed[al->nowed].id = id;
	al->owed[al->nowed].raised = raised;
	al->owed[al->nowed].msg = msg;
	al->nowed++;
}

/* ---- the inbox's kind ---- */

static enum inbox_verdict
alert_check(void *arg, uint64_t msg, json_t *body, char *why, size_t whylen)
{
	json_t		*jid = json_object_get(body, "alert");
	const char	*state = json_string_value(json_object_get(body,
	    "state"));
	const char	*sev = json_string_value(json_object_get(body,
	    "severity"));
	const char	*at = json_string_value(json_object_get(body, "at"));
	time_t		 t;

	(void)arg;
	(void)msg;
	if (!json_is_integer(jid) || json_integer_value(jid) <= 0)
		snprintf(why, whylen, "'alert' must be an alert id");
	else if (state == NULL || (strcmp(state, "raised") != 0 &&
	    strcmp(state, "cleared") != 0))
		snprintf(why, whylen, "'state' must be raised or cleared");
	else if (sev == NULL || (strcmp(sev, "warning") != 0 &&
	    strcmp(sev, "critical") != 0))
		snprintf(why, whylen, "'severity' must be warning or critical");
	else if (!valid_rule(json_string_value(json_object_get(body, "rule"))))
		snprintf(why, whylen, "'rule' must be 1-%d of a-z 0-9 _",
		    RULE_MAX);
	else if (!json_is_string(json_object_get(body, "subject")) ||
	    !json_is_string(json_object_get(body, "text")))
		snprintf(why, whylen, "'subject' and 'text' must be strings");
	else if (at == NULL || parse_time(at, &t) == -1)
		snprintf(why, whylen, "'at' must be an RFC 3339 UTC time");
	else
		return INBOX_ACCEPT;
	return INBOX_REFUSE;
}

/*
 * Apply an alert's message; kept in alerts.json, with the notification
 * it owes, before it is audited or notified: one not kept is undone and
 * waits for the relay's next offer (inbox.h), so that it is neither
 * lost nor told twice across a restart.
 */
static enum inbox_acted
alert_act(void *arg, uint64_t msg, json_t *body, int restart, char *why,
    size_t whylen)
{
	struct alerts	*al = arg;
	struct alert	*a, was;
	int64_t		 id = json_integer_value(json_object_get(body,
	    "alert"));
	int		 raised = strcmp(json_string_value(json_object_get(body,
	    "state")), "raised") == 0, added = 0;
	char		*subject, *text;
	time_t		 at;

	(void)restart;
	if ((a = alert_find(al, id)) != NULL && a->msg >= msg)
		return INBOX_KEPT;	/* applied before a restart */
	subject = strip(json_string_value(json_object_get(body, "subject")),
	    ALERTS_SUBJECT_MAX);
	text = strip(json_string_value(json_object_get(body, "text")),
	    ALERTS_TEXT_MAX);
	if (parse_time(json_string_value(json_object_get(body, "at")),
	    &at) == -1)
		at = clock_now();
	if (subject != NULL && text != NULL && a == NULL) {
		added = 1;
		a = alert_add(al, id);
	}
	if (subject == NULL || text == NULL || a == NULL) {
		snprintf(why, whylen, "alert %" PRId64 ": out of memory", id);
		free(subject);
		free(text);
		return INBOX_UNSAVED;
	}
	was = *a;
	a->subject = subject;
	a->text = text;
	snprintf(a->severity, sizeof(a->severity), "%s", json_string_value(
	    json_object_get(body, "severity")));
	snprintf(a->rule, sizeof(a->rule), "%s", json_string_value(
	    json_object_get(body, "rule")));
	a->open = raised;
	if (raised) {
		a->raised = at;
		a->cleared = 0;
	} else
		a->cleared = at;
	a->msg = msg;
	a->notify[0] = '\0';
	notify_owe(al, id, raised, msg);
	if (alerts_store(al, why, whylen) == -1) {
		/* Undone: nothing of it was kept. */
		free(a->subject);
		free(a->text);
		if (added)
			al->n--;
		else
			*a = was;
		if (al->nowed > 0 && al->owed[al->nowed - 1].msg == msg)
			al->nowed--;
		return INBOX_UNSAVED;
	}
	free(was.subject);
	free(was.text);
	log_info("alerts: the vendor %s alert %" PRId64 " (%s, %s %s): %s",
	    raised ? "raised" : "cleared", id, a->severity, a->rule,
	    a->subject, a->text);
	if (inbox_limit(al->inbox, ALERTS_KIND, msg))
		al->audit(al->audit_arg, raised ? "alert_raised" :
		    "alert_cleared", json_pack("{s:I, s:I, s:s, s:s, s:s, "
		    "s:s, s:s}", "alert", (json_int_t)id, "message",
		    (json_int_t)msg, "severity", a->severity, "rule", a->rule,
		    "subject", a->subject, "text", a->text, "from", "vendor"));
	notify_next(al);
	return INBOX_KEPT;
}

/*
 * A message has nothing left to do once applied: the alert and the
 * notification it owes are in alerts.json from then on.
 */
static int
alert_done(void *arg, uint64_t msg)
{
	(void)arg;
	(void)msg;
	return 1;
}

/* ---- state ---- */

/* One alert of alerts.json; -1 if it is not one. */
static int
load_one(struct alerts *al, json_t *j)
{
	struct alert	*a;
	json_t		*jid = json_object_get(j, "id");
	const char	*sev = json_string_value(json_object_get(j,
	    "severity"));
	const char	*rule = json_string_value(json_object_get(j, "rule"));
	const char	*state = json_string_value(json_object_get(j, "state"));
	const char	*r = json_string_value(json_object_get(j, "raised"));
	const char	*c = json_string_value(json_object_get(j, "cleared"));
	const char	*n = json_string_value(json_object_get(j, "notify"));

	if (!json_is_integer(jid) || json_integer_value(jid) <= 0 ||
	    sev == NULL || !valid_rule(rule) || state == NULL ||
	    !json_is_string(json_object_get(j, "subject")) ||
	    !json_is_string(json_object_get(j, "text")) ||
	    !json_is_integer(json_object_get(j, "message")) ||
	    alert_find(al, json_integer_value(jid)) != NULL ||
	    (a = alert_add(al, json_integer_value(jid))) == NULL)
		return -1;
	snprintf(a->severity, sizeof(a->severity), "%s",
	    strcmp(sev, "critical") == 0 ? "critical" : "warning");
	snprintf(a->rule, sizeof(a->rule), "%s", rule);
	a->open = strcmp(state, "open") == 0;
	a->subject = strip(json_string_value(json_object_get(j, "subject")),
	    ALERTS_SUBJECT_MAX);
	a->text = strip(json_string_value(json_object_get(j, "text")),
	    ALERTS_TEXT_MAX);
	if (r == NULL || parse_time(r, &a->raised) == -1)
		a->raised = 0;
	if (c == NULL || parse_time(c, &a->cleared) == -1)
		a->cleared = 0;
	a->msg = (uint64_t)json_integer_value(json_object_get(j, "message"));
	snprintf(a->notify, sizeof(a->notify), "%s", n != NULL ? n : "");
	return a->subject != NULL && a->text != NULL ? 0 : -1;
}

/*
 * Read alerts.json.  A missing file is a first start; one that cannot
 * be read or parsed is logged and left for an operator (the inbox's
 * stored messages are applied again and rebuild what they can).
 */
static void
alerts_load(struct alerts *al)
{
	json_error_t	 jerr;
	json_t		*j, *v;
	size_t		 i;

	if ((j = json_load_file(al->path, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		if (access(al->path, F_OK) == 0)
			log_error("alerts: %s:%d: %s", al->path, jerr.line,
			    jerr.text);
		return;
	}
	json_array_foreach(json_object_get(j, "alerts"), i, v)
		if (load_one(al, v) == -1)
			log_warn("alerts: %s: entry %zu is not an alert; left "
			    "out", al->path, i);
	json_array_foreach(json_object_get(j, "owed"), i, v) {
		if (al->nowed == ALERTS_NOTIFY_QUEUE ||
		    !json_is_integer(json_object_get(v, "alert")) ||
		    !json_is_integer(json_object_get(v, "message")))
			break;
		al->owed[al->nowed].id = json_integer_value(json_object_get(v,
		    "alert"));
		al->owed[al->nowed].raised = json_string_value(json_object_get(
		    v, "state")) != NULL && strcmp(json_string_value(
		    json_object_get(v, "state")), "raised") == 0;
		al->owed[al->nowed].msg = (uint64_t)json_integer_value(
		    json_object_get(v, "message"));
		al->nowed++;
	}
	json_decref(j);
}

/* Forget alerts cleared longer ago than ALERTS_KEEP_CLEARED. */
static void
alerts_prune(struct alerts *al)
{
	time_t	now = clock_now();
	size_t	i = 0;

	while (i < al->n) {
		if (!al->a[i].open && al->a[i].cleared != 0 &&
		    now - al->a[i].cleared > ALERTS_KEEP_CLEARED) {
			alert_free(&al->a[i]);
			memmove(&al->a[i], &al->a[i + 1], (al->n - i - 1) *
			    sizeof(*al->a));
			al->n--;
		} else
			i++;
	}
}

json_t *
alerts_list(struct alerts *al)
{
	json_t	*list;
	size_t	 i;
	int	 open;

	if ((list = json_array()) == NULL)
		return NULL;
	for (open = 1; open >= 0; open--)
		for (i = al->n; i-- > 0;)
			if (al->a[i].open == open &&
			    json_array_append_new(list,
			    alert_json(&al->a[i])) == -1) {
				json_decref(list);
				return NULL;
			}
	return list;
}

json_t *
alerts_status(struct alerts *al)
{
	json_t	*open;
	size_t	 i, n = 0, crit = 0;

	if ((open = json_array()) == NULL)
		return NULL;
	for (i = 0; i < al->n; i++) {
		if (!al->a[i].open)
			continue;
		n++;
		crit += strcmp(al->a[i].severity, "critical") == 0;
		json_array_append_new(open, alert_json(&al->a[i]));
	}
	return json_pack("{s:I, s:I, s:o}", "open", (json_int_t)n,
	    "critical", (json_int_t)crit, "alerts", open);
}

void
alerts_set_policy(struct alerts *al, const struct policy *pol)
{
	al->pol = pol;
	notify_next(al);
}

struct alerts *
alerts_new(struct event_base *base, const struct policy *pol,
    struct jobs *jobs, struct inbox *inbox, inbox_audit_fn audit,
    void *audit_arg, char *err, size_t errlen)
{
	struct inbox_kind	 k = { ALERTS_KIND, alert_check, NULL,
	    alert_act, alert_done, NULL };
	struct alerts		*al;

	if ((al = calloc(1, sizeof(*al))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	al->base = base;
	al->pol = pol;
	al->jobs = jobs;
	al->inbox = inbox;
	al->audit = audit;
	al->audit_arg = audit_arg;
	if ((size_t)snprintf(al->path, sizeof(al->path), "%s/%s",
	    pol->state_dir, ALERTS_FILE) >= sizeof(al->path)) {
		snprintf(err, errlen, "%s: path too long", pol->state_dir);
		goto fail;
	}
	alerts_load(al);
	alerts_prune(al);
	k.arg = al;
	if (inbox_register(inbox, &k) == -1) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* Notifications owed when the gateway stopped go out now. */
	notify_next(al);
	return al;
fail:
	alerts_free(al);
	return NULL;
}

void
alerts_free(struct alerts *al)
{
	size_t i;

	if (al == NULL)
		return;
	for (i = 0; i < al->n; i++)
		alert_free(&al->a[i]);
	free(al->a);
	free(al);
}
