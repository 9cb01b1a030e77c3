/*
 * control.c - answer the porthole CLI on a UNIX socket.
 *
 * The socket's mode (0660, group admin_group) keeps others out; the
 * peer's credentials (SO_PEERCRED) are checked again on every connection.
 */
#include "gateway/control.h"

#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <jansson.h>

#include "gateway/bundles.h"
#include "gateway/localsock.h"
#include "gateway/alerts.h"
#include "gateway/updates.h"
#include "lib/ident.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "sandbox/sandbox.h"

struct control {
	struct event_base	*base;
	const struct policy	*pol;
	struct broker		*broker;
	struct tunnels		*tunnels;
	struct evconnlistener	*listener;
	char			 path[108];
	struct localsock_acl	 acl;
	control_reload_cb	 reload;
	void			*reload_arg;
	json_t			*(*extra)(void *);
	void			*extra_arg;
	struct updates		*updates;
	struct bundles		*bundles;
	struct alerts		*alerts;
	time_t			 refused_sec;	/* rate of refusals audited */
	unsigned int		 refused_n;
	unsigned int		 refused_unaudited;
};

/* A CLI that says nothing (or reads nothing) this long is hung up on. */
#define CONTROL_IDLE_SECS	10
/* Refused peers audited per second; the rest are counted. */
#define CONTROL_REFUSALS_AUDITED	5

/* One CLI connection. */
struct cconn {
	struct control		*c;
	struct bufferevent	*bev;
	uid_t			 uid;
	int			 answered;
};

static void
cconn_free(struct cconn *cc)
{
	bufferevent_free(cc->bev);
	free(cc);
}

static void
cconn_reply(struct cconn *cc, json_t *ans)
{
	char *text = json_dumps(ans, JSON_COMPACT);

	json_decref(ans);
	if (text != NULL) {
		bufferevent_write(cc->bev, text, strlen(text));
		bufferevent_write(cc->bev, "\n", 1);
		free(text);
	}
	cc->answered = 1;
}

/*
 * The relays' tunnels as "relays", one entry per relay of [gateway]
 * relay, which `porthole status` counts for its exit status; the flat
 * relay and tunnel keys are the first relay's, as before the list.
 */
static json_t *
control_status(struct control *c)
{
	json_t		*sessions = broker_sessions(c->broker);
	size_t		 n = json_array_size(sessions);
	json_t		*ans, *relays, *first;

	json_decref(sessions);
	if ((relays = tunnels_status(c->tunnels)) == NULL)
		return NULL;
	first = json_array_get(relays, 0);
	ans = json_pack("{s:b, s:s, s:O, s:O, s:O, s:O, s:o, s:I, s:i, s:s, "
	    "s:s}",
	    "ok", 1, "cluster", c->pol->cluster_id,
	    "relay", json_object_get(first, "relay"),
	    "tunnel", json_object_get(first, "tunnel"),
	    "tunnel_since", json_object_get(first, "since"),
	    "tunnel_error", json_object_get(first, "error"),
	    "relays", relays,
	    "sessions", (json_int_t)n, "landlock_abi", sbx_landlock_abi(),
	    "remote_access", c->pol->ra_enabled ? "enabled" : "disabled",
	    "audit", broker_audit_ok(c->broker) ? "ok" : "FAILING: the log "
	    "cannot be written; sessions are refused");
	if (ans != NULL && c->extra != NULL)
		json_object_update_new(ans, c->extra(c->extra_arg));
	return ans;
}

void
control_set_updates(struct control *c, struct updates *up)
{
	c->updates = up;
}

void
control_set_bundles(struct control *c, struct bundles *bs)
{
	c->bundles = bs;
}

void
control_set_alerts(struct control *c, struct alerts *al)
{
	c->alerts = al;
}

void
control_set_status_extra(struct control *c, json_t *(*fn)(void *),
    void *arg)
{
	c->extra = fn;
	c->extra_arg = arg;
}

/* A refusal, with why. */
static json_t *
control_error(const char *why)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", why);
}

/* The peer, as the audit log names who acted. */
static void
control_who(struct cconn *cc, char *who, size_t len)
{
	snprintf(who, len, "uid %u", (unsigned int)cc->uid);
}

static json_t *
control_answer_status(struct cconn *cc, json_t *req, const char *id)
{
	(void)req;
	(void)id;
	return control_status(cc->c);
}

static json_t *
control_answer_sessions(struct cconn *cc, json_t *req, const char *id)
{
	(void)req;
	(void)id;
	return json_pack("{s:b, s:o}", "ok", 1, "sessions",
	    broker_sessions(cc->c->broker));
}

static json_t *
control_decide(struct cconn *cc, const char *id, int approve)
{
	char who[64];

	control_who(cc, who, sizeof(who));
	switch (broker_approve(cc->c->broker, id, approve, who)) {
	case 0:
		return json_pack("{s:b}", "ok", 1);
	case -2:
		return control_error("session is not waiting for approval");
	default:
		return control_error("no such session");
	}
}

static json_t *
control_answer_approve(struct cconn *cc, json_t *req, const char *id)
{
	(void)req;
	return control_decide(cc, id, 1);
}

static json_t *
control_answer_deny(struct cconn *cc, json_t *req, const char *id)
{
	(void)req;
	return control_decide(cc, id, 0);
}

static json_t *
control_answer_kill(struct cconn *cc, json_t *req, const char *id)
{
	char who[64];

	(void)req;
	control_who(cc, who, sizeof(who));
	if (broker_kill(cc->c->broker, id, who) == -1)
		return control_error("no such session");
	return json_pack("{s:b}", "ok", 1);
}

/* porthole updates: the updates the gateway knows of. */
static json_t *
control_answer_updates(struct cconn *cc, json_t *req, const char *id)
{
	json_t *list;

	(void)req;
	(void)id;
	if (cc->c->updates == NULL)
		return control_error("updates are not available");
	if ((list = updates_list(cc->c->updates)) == NULL)
		return control_error("out of memory");
	json_object_set_new(list, "ok", json_true());
	return list;
}

/*
 * porthole updates reschedule and run-now, on behalf of the peer, who is
 * named in the audit log.
 */
static json_t *
control_update_act(struct cconn *cc, json_t *req, int now)
{
	struct control	*c = cc->c;
	const char	*version = json_string_value(json_object_get(req,
	    "version"));
	const char	*when = json_string_value(json_object_get(req, "when"));
	char		 who[64], err[512];
	time_t		 t;
	int		 rc;

	if (c->updates == NULL)
		return control_error("updates are not available");
	if (version == NULL || strlen(version) > CONTROL_VERSION_MAX)
		return control_error("a version is missing");
	control_who(cc, who, sizeof(who));
	if (now)
		rc = updates_run_now(c->updates, version, who, err,
		    sizeof(err));
	else if (when == NULL || parse_time(when, &t) == -1)
		return control_error("a time is missing");
	else
		rc = updates_reschedule(c->updates, version, t, who, err,
		    sizeof(err));
	if (rc == -1)
		return control_error(err);
	return json_pack("{s:b, s:o}", "ok", 1, "next",
	    updates_next(c->updates));
}

static json_t *
control_answer_reschedule(struct cconn *cc, json_t *req, const char *id)
{
	(void)id;
	return control_update_act(cc, req, 0);
}

static json_t *
control_answer_run_now(struct cconn *cc, json_t *req, const char *id)
{
	(void)id;
	return control_update_act(cc, req, 1);
}

static json_t *
control_answer_reload(struct cconn *cc, json_t *req, const char *id)
{
	char who[64], err[4096];	/* a line for each problem found */

	(void)req;
	(void)id;
	control_who(cc, who, sizeof(who));
	if (cc->c->reload(cc->c->reload_arg, who, err, sizeof(err)) == -1)
		return control_error(err);
	return json_pack("{s:b}", "ok", 1);
}

/* An auditor replays or exports a recording: that is on record too. */
static json_t *
control_answer_viewed(struct cconn *cc, json_t *req, const char *id)
{
	const char	*action = json_string_value(json_object_get(req,
	    "action"));
	char		 who[64];

	if (!ident_valid(id, CONTROL_ID_MAX, IDENT_HEX) || action == NULL ||
	    (strcmp(action, "replay") != 0 && strcmp(action, "export") != 0))
		return control_error("malformed recording_viewed request");
	control_who(cc, who, sizeof(who));
	if (broker_record(cc->c->broker, "recording_viewed", id,
	    json_pack("{s:s, s:s}", "action", action, "by", who)) == -1)
		return control_error("the audit log cannot be written");
	return json_pack("{s:b}", "ok", 1);
}

/* The bundle a request names: its id, or NULL (ans: the refusal). */
static const char *
control_bundle_id(struct cconn *cc, json_t *req, json_t **ans)
{
	const char *id = json_string_value(json_object_get(req, "bundle"));

	*ans = NULL;
	if (cc->c->bundles == NULL)
		*ans = control_error("support bundles are not available");
	else if (id == NULL || !ident_valid(id, CONTROL_ID_MAX, IDENT_HEX))
		*ans = control_error("not a bundle id");
	return *ans == NULL ? id : NULL;
}

/* porthole bundles: every bundle kept, newest first. */
static json_t *
control_answer_bundles(struct cconn *cc, json_t *req, const char *id)
{
	json_t *list;

	(void)req;
	(void)id;
	if (cc->c->bundles == NULL)
		return control_error("support bundles are not available");
	if ((list = bundles_list(cc->c->bundles)) == NULL)
		return control_error("out of memory");
	json_object_set_new(list, "ok", json_true());
	return list;
}

static json_t *
control_answer_bundle_show(struct cconn *cc, json_t *req, const char *sid)
{
	const char	*id;
	char		 why[256];
	json_t		*ans, *b;

	(void)sid;
	if ((id = control_bundle_id(cc, req, &ans)) == NULL)
		return ans;
	if ((b = bundles_show(cc->c->bundles, id, why, sizeof(why))) == NULL)
		return control_error(why);
	return json_pack("{s:b, s:o}", "ok", 1, "bundle", b);
}

/* porthole bundle approve|deny ID [--reason TEXT], on the peer's behalf. */
static json_t *
control_bundle_decide(struct cconn *cc, json_t *req, int approve)
{
	json_t		*jr = json_object_get(req, "reason"), *ans;
	const char	*id, *reason = json_string_value(jr);
	char		 who[64], why[256];

	if ((id = control_bundle_id(cc, req, &ans)) == NULL)
		return ans;
	if (jr != NULL && (reason == NULL || strlen(reason) >
	    CONTROL_REASON_MAX || !parse_utf8(reason, strlen(reason))))
		return control_error("a reason is UTF-8 of at most 256 bytes");
	control_who(cc, who, sizeof(who));
	if (bundles_decide(cc->c->bundles, id, approve, who, reason, why,
	    sizeof(why)) == -1)
		return control_error(why);
	return json_pack("{s:b}", "ok", 1);
}

static json_t *
control_answer_bundle_approve(struct cconn *cc, json_t *req, const char *id)
{
	(void)id;
	return control_bundle_decide(cc, req, 1);
}

static json_t *
control_answer_bundle_deny(struct cconn *cc, json_t *req, const char *id)
{
	(void)id;
	return control_bundle_decide(cc, req, 0);
}

/* porthole alerts: the vendor's alerts, as alerts.c keeps them. */
static json_t *
control_answer_alerts(struct cconn *cc, json_t *req, const char *id)
{
	json_t *list;

	(void)req;
	(void)id;
	if (cc->c->alerts == NULL)
		return control_error("alerts are not available");
	if ((list = alerts_list(cc->c->alerts)) == NULL)
		return control_error("out of memory");
	return json_pack("{s:b, s:o}", "ok", 1, "alerts", list);
}

/* The answer to each request of control_proto.h's table. */
static json_t *(*const control_answers[CONTROL_NCMD])(struct cconn *,
    json_t *, const char *) = {
	[CONTROL_STATUS] =		control_answer_status,
	[CONTROL_SESSIONS] =		control_answer_sessions,
	[CONTROL_APPROVE] =		control_answer_approve,
	[CONTROL_DENY] =		control_answer_deny,
	[CONTROL_KILL] =		control_answer_kill,
	[CONTROL_RELOAD] =		control_answer_reload,
	[CONTROL_RECORDING_VIEWED] =	control_answer_viewed,
	[CONTROL_UPDATES] =		control_answer_updates,
	[CONTROL_UPDATE_RESCHEDULE] =	control_answer_reschedule,
	[CONTROL_UPDATE_RUN_NOW] =	control_answer_run_now,
	[CONTROL_BUNDLES] =		control_answer_bundles,
	[CONTROL_BUNDLE_SHOW] =		control_answer_bundle_show,
	[CONTROL_BUNDLE_APPROVE] =	control_answer_bundle_approve,
	[CONTROL_BUNDLE_DENY] =		control_answer_bundle_deny,
	[CONTROL_ALERTS] =		control_answer_alerts,
};

static json_t *
control_dispatch(struct cconn *cc, json_t *req)
{
	const char	*cmd = json_string_value(json_object_get(req, "cmd"));
	const char	*id = json_string_value(json_object_get(req, "id"));
	int		 kind;

	if (cmd == NULL)
		return control_error("malformed request");
	if ((kind = control_cmd_lookup(cmd)) == -1)
		return json_pack("{s:b, s:s, s:s}", "ok", 0, "error",
		    "unknown command", "cmd", cmd);
	if ((control_cmds[kind].args & CONTROL_ARG_ID) &&
	    (id == NULL || strlen(id) > CONTROL_ID_MAX))
		return control_error("session id missing");
	return control_answers[kind](cc, req, id);
}

static void
cconn_read(struct bufferevent *bev, void *arg)
{
	struct cconn	*cc = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	char		*line;
	size_t		 len;
	json_t		*req;

	if (cc->answered)
		return;
	line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
	if (line == NULL) {
		if (evbuffer_get_length(in) > CONTROL_MAX_REQUEST) {
			cconn_reply(cc, json_pack("{s:b, s:s}", "ok", 0,
			    "error", "request too long"));
		}
		return;
	}
	req = len <= CONTROL_MAX_REQUEST ? json_loadb(line, len,
	    JSON_REJECT_DUPLICATES, NULL) : NULL;
	free(line);
	cconn_reply(cc, req == NULL || !json_is_object(req) ?
	    json_pack("{s:b, s:s}", "ok", 0, "error", "malformed request") :
	    control_dispatch(cc, req));
	json_decref(req);
}

/* Close once the answer is out. */
static void
cconn_write(struct bufferevent *bev, void *arg)
{
	struct cconn *cc = arg;

	if (cc->answered && evbuffer_get_length(bufferevent_get_output(bev))
	    == 0)
		cconn_free(cc);
}

static void
cconn_event(struct bufferevent *bev, short what, void *arg)
{
	struct cconn *cc = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		log_warn("control: uid %u sent no request in %ds: closing",
		    (unsigned int)cc->uid, CONTROL_IDLE_SECS);
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		cconn_free(cc);
}

/*
 * Someone outside root and admin_group knocked: on record with the uid.
 * A flood is counted rather than written line by line.
 */
static void
control_refused(struct control *c, uid_t uid)
{
	time_t now = time(NULL);

	log_warn("control: refused a connection from uid %ld", (long)uid);
	if (now != c->refused_sec) {
		c->refused_sec = now;
		c->refused_n = 0;
	}
	if (c->refused_n >= CONTROL_REFUSALS_AUDITED) {
		c->refused_unaudited++;
		return;
	}
	c->refused_n++;
	if (broker_record(c->broker, "control_refused", NULL, json_pack(
	    "{s:I, s:s, s:I}", "uid", (json_int_t)(long)uid, "reason",
	    "not root or a member of admin_group", "unaudited_before",
	    (json_int_t)c->refused_unaudited)) == 0)
		c->refused_unaudited = 0;
}

static void
control_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct control	*c = arg;
	struct cconn	*cc;
	uid_t		 uid = (uid_t)-1;

	(void)l;
	(void)sa;
	(void)salen;
	if (!localsock_peer_allowed(&c->acl, fd, &uid)) {
		close(fd);
		control_refused(c, uid);
		return;
	}
	if ((cc = calloc(1, sizeof(*cc))) == NULL) {
		close(fd);
		return;
	}
	cc->c = c;
	cc->uid = uid;
	cc->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (cc->bev == NULL) {
		close(fd);
		free(cc);
		return;
	}
	bufferevent_setcb(cc->bev, cconn_read, cconn_write, cconn_event, cc);
	bufferevent_setwatermark(cc->bev, EV_READ, 0, CONTROL_MAX_REQUEST + 2);
	bufferevent_set_timeouts(cc->bev,
	    &(struct timeval){ CONTROL_IDLE_SECS, 0 },
	    &(struct timeval){ CONTROL_IDLE_SECS, 0 });
	bufferevent_enable(cc->bev, EV_READ | EV_WRITE);
}

struct control *
control_new(struct event_base *base, const struct policy *pol,
    struct broker *broker, struct tunnels *tunnels, control_reload_cb reload,
    void *reload_arg)
{
	struct control		*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->base = base;
	c->pol = pol;
	c->broker = broker;
	c->tunnels = tunnels;
	c->reload = reload;
	c->reload_arg = reload_arg;
	localsock_acl_init(&c->acl, pol->admin_group);
	c->listener = localsock_listen(base, pol->run_dir,
	    POLICY_CONTROL_SOCKET, &c->acl, control_accept, c, c->path,
	    sizeof(c->path));
	if (c->listener == NULL)
		goto fail;
	return c;
fail:
	free(c);
	return NULL;
}

void
control_set_policy(struct control *c, const struct policy *pol)
{
	c->pol = pol;
	localsock_regroup(&c->acl, pol->admin_group, c->path);
}

void
control_free(struct control *c)
{
	if (c == NULL)
		return;
	if (c->listener != NULL) {
		evconnlistener_free(c->listener);
		unlink(c->path);
	}
	free(c);
}
