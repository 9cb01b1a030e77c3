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
#include "lib/fdpass.h"
#include "lib/ident.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/sshcert.h"
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
	struct actor		 who;		/* the peer, and what it claims */
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

/*
 * An action's decision: porthole action approve|deny ID, and porthole
 * approve|deny ID when ID is no session's.
 */
static json_t *
control_decide_action(struct cconn *cc, const char *id, int approve,
    const char *none)
{
	char err[600];

	switch (broker_action_decide(cc->c->broker, id, approve, &cc->who, err,
	    sizeof(err))) {
	case 0:
		return json_pack("{s:b, s:s}", "ok", 1, "action", id);
	case -2:
		return control_error(none);
	default:
		return control_error(err);
	}
}

/* porthole approve|deny ID: a session waiting, or else an action. */
static json_t *
control_decide(struct cconn *cc, const char *id, int approve)
{
	switch (broker_approve(cc->c->broker, id, approve, &cc->who)) {
	case 0:
		return json_pack("{s:b}", "ok", 1);
	case -2:
		return control_error("session is not waiting for approval");
	default:
		break;
	}
	return control_decide_action(cc, id, approve, "no such session or "
	    "action (it may have ended)");
}

/*
 * porthole watch ID: the recording's descriptor goes first, on a byte of
 * its own, then the answer.
 */
static json_t *
control_answer_watch(struct cconn *cc, json_t *req, const char *id)
{
	char	err[600], mark = CONTROL_FD_MARK;
	int	fd = -1, rc;

	(void)req;
	if (broker_watch(cc->c->broker, id, 1, &cc->who, &fd, err,
	    sizeof(err)) == -1)
		return control_error(err);
	rc = fdpass_send(bufferevent_getfd(cc->bev), &mark, 1, &fd, 1);
	close(fd);
	if (rc == -1) {
		/* On record as watching: the record says it ended, too. */
		(void)broker_watch(cc->c->broker, id, 0, &cc->who, NULL, err,
		    sizeof(err));
		return control_error("the recording could not be handed over");
	}
	return json_pack("{s:b}", "ok", 1);
}

static json_t *
control_answer_watch_end(struct cconn *cc, json_t *req, const char *id)
{
	char err[600];

	(void)req;
	if (broker_watch(cc->c->broker, id, 0, &cc->who, NULL, err,
	    sizeof(err)) == -1)
		return control_error(err);
	return json_pack("{s:b}", "ok", 1);
}

static json_t *
control_answer_actions(struct cconn *cc, json_t *req, const char *id)
{
	(void)req;
	(void)id;
	return json_pack("{s:b, s:o}", "ok", 1, "actions",
	    broker_actions(cc->c->broker));
}

static json_t *
control_answer_action_approve(struct cconn *cc, json_t *req, const char *id)
{
	(void)req;
	return control_decide_action(cc, id, 1, "no such action (it may have "
	    "ended)");
}

static json_t *
control_answer_action_deny(struct cconn *cc, json_t *req, const char *id)
{
	(void)req;
	return control_decide_action(cc, id, 0, "no such action (it may have "
	    "ended)");
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
	(void)req;
	if (broker_kill(cc->c->broker, id, &cc->who) == -1)
		return control_error("no such session (it may have ended)");
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
	const char	*who = cc->who.by;
	char		 err[512];
	time_t		 t;
	int		 rc;

	if (c->updates == NULL)
		return control_error("updates are not available");
	if (version == NULL || strlen(version) > CONTROL_VERSION_MAX)
		return control_error("a version is missing");
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
	char err[4096];	/* a line for each problem found */

	(void)req;
	(void)id;
	if (cc->c->reload(cc->c->reload_arg, cc->who.by, err,
	    sizeof(err)) == -1)
		return control_error(err);
	return json_pack("{s:b}", "ok", 1);
}

/* An auditor replays or exports a recording: that is on record too. */
static json_t *
control_answer_viewed(struct cconn *cc, json_t *req, const char *id)
{
	const char	*action = json_string_value(json_object_get(req,
	    "action"));
	json_t		*ev;

	if (!ident_valid(id, CONTROL_ID_MAX, IDENT_HEX) || action == NULL ||
	    (strcmp(action, "replay") != 0 && strcmp(action, "export") != 0))
		return control_error("malformed recording_viewed request");
	if ((ev = actor_fields(&cc->who)) != NULL)
		json_object_set_new(ev, "action", json_string(action));
	if (ev == NULL || broker_record(cc->c->broker, "recording_viewed", id,
	    ev) == -1)
		return control_error("the audit log cannot be written");
	return json_pack("{s:b}", "ok", 1);
}

/*
 * porthole approve --ticket T --for D: every session carrying T goes in
 * without waiting until then; those waiting now go in at once.
 */
static json_t *
control_answer_approve_ticket(struct cconn *cc, json_t *req, const char *id)
{
	const char	*ticket = json_string_value(json_object_get(req,
	    "ticket"));
	json_int_t	 secs = json_integer_value(json_object_get(req, "for"));
	char		 err[512];
	int		 n;

	(void)id;
	if ((n = broker_approve_ticket(cc->c->broker, ticket, (uint64_t)secs,
	    &cc->who, err, sizeof(err))) == -1)
		return control_error(err);
	return json_pack("{s:b, s:i, s:o}", "ok", 1, "let_in", n, "approvals",
	    broker_approvals(cc->c->broker));
}

static json_t *
control_answer_approvals(struct cconn *cc, json_t *req, const char *id)
{
	(void)req;
	(void)id;
	return json_pack("{s:b, s:o}", "ok", 1, "approvals",
	    broker_approvals(cc->c->broker));
}

/* porthole revoke --ticket T: withdrawn, and its sessions end. */
static json_t *
control_answer_revoke(struct cconn *cc, json_t *req, const char *id)
{
	const char	*ticket = json_string_value(json_object_get(req,
	    "ticket"));
	char		 err[512];
	int		 n;

	(void)id;
	if ((n = broker_revoke_ticket(cc->c->broker, ticket, &cc->who, err,
	    sizeof(err))) == -1)
		return control_error(err);
	return json_pack("{s:b, s:i}", "ok", 1, "ended", n);
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

/*
 * porthole bundle approve|deny ID [--reason TEXT], on the peer's behalf:
 * who asked, and the reason (checked with every request's claims).
 */
static json_t *
control_bundle_decide(struct cconn *cc, json_t *req, int approve)
{
	json_t		*ans;
	const char	*id;
	char		 why[256];

	if ((id = control_bundle_id(cc, req, &ans)) == NULL)
		return ans;
	if (bundles_decide(cc->c->bundles, id, approve, &cc->who, why,
	    sizeof(why)) == -1)
		return control_error(why);
	return json_pack("{s:b}", "ok", 1);
}

/* porthole bundle retry ID [--reason TEXT]: a failed upload, again. */
static json_t *
control_answer_bundle_retry(struct cconn *cc, json_t *req, const char *sid)
{
	json_t		*ans;
	const char	*id;
	char		 why[512];

	(void)sid;
	if ((id = control_bundle_id(cc, req, &ans)) == NULL)
		return ans;
	if (bundles_retry(cc->c->bundles, id, &cc->who, why,
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
	[CONTROL_APPROVE_TICKET] =	control_answer_approve_ticket,
	[CONTROL_APPROVALS] =		control_answer_approvals,
	[CONTROL_REVOKE] =		control_answer_revoke,
	[CONTROL_BUNDLES] =		control_answer_bundles,
	[CONTROL_BUNDLE_SHOW] =		control_answer_bundle_show,
	[CONTROL_BUNDLE_APPROVE] =	control_answer_bundle_approve,
	[CONTROL_BUNDLE_DENY] =		control_answer_bundle_deny,
	[CONTROL_ALERTS] =		control_answer_alerts,
	[CONTROL_ACTIONS] =		control_answer_actions,
	[CONTROL_ACTION_APPROVE] =	control_answer_action_approve,
	[CONTROL_ACTION_DENY] =		control_answer_action_deny,
	[CONTROL_WATCH] =		control_answer_watch,
	[CONTROL_WATCH_END] =		control_answer_watch_end,
	[CONTROL_BUNDLE_RETRY] =	control_answer_bundle_retry,
};

/* A ticket and a duration, checked here for every request that has them. */
static int
control_args_invalid(int kind, json_t *req, char *why, size_t len)
{
	const char	*t = json_string_value(json_object_get(req, "ticket"));
	json_t		*f = json_object_get(req, "for");

	if ((control_cmds[kind].args & CONTROL_ARG_TICKET) &&
	    (t == NULL || !sshcert_ticket_valid(t))) {
		snprintf(why, len, "ticket: expected %s", SSHCERT_TICKET_RULE);
		return 1;
	}
	if ((control_cmds[kind].args & CONTROL_ARG_FOR) &&
	    (!json_is_integer(f) || json_integer_value(f) <
	    CONTROL_APPROVAL_MIN || json_integer_value(f) >
	    CONTROL_APPROVAL_MAX)) {
		snprintf(why, len, "for: expected a duration from 1m to 7d");
		return 1;
	}
	return 0;
}

static json_t *
control_dispatch(struct cconn *cc, json_t *req)
{
	const char	*cmd = json_string_value(json_object_get(req, "cmd"));
	const char	*id = json_string_value(json_object_get(req, "id"));
	char		 why[128];
	int		 kind;

	if (cmd == NULL)
		return control_error("malformed request");
	if ((kind = control_cmd_lookup(cmd)) == -1)
		return json_pack("{s:b, s:s, s:s}", "ok", 0, "error",
		    "unknown command", "cmd", cmd);
	/* What the peer claims is checked before anything acts on it. */
	if (actor_claims(&cc->who, req, why, sizeof(why)) == -1)
		return control_error(why);
	if ((control_cmds[kind].args & CONTROL_ARG_ID) &&
	    (id == NULL || strlen(id) > CONTROL_ID_MAX))
		return control_error("session id missing");
	if (control_args_invalid(kind, req, why, sizeof(why)))
		return control_error(why);
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
	/* Who it is must be known before it may ask for anything. */
	if (actor_from_peer(&cc->who, fd) == -1) {
		close(fd);
		free(cc);
		return;
	}
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
