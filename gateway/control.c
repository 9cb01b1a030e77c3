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

#include "gateway/localsock.h"
#include "gateway/alerts.h"
#include "gateway/updates.h"
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

/* An auditor replays or exports a recording: that is on record too. */
static json_t *
control_viewed(struct cconn *cc, json_t *req, const char *id)
{
	const char	*action = json_string_value(json_object_get(req,
	    "action"));
	char		 who[64];
	size_t		 i;

	for (i = 0; id != NULL && id[i] != '\0'; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			break;
	if (id == NULL || i == 0 || id[i] != '\0' || i > 64 ||
	    action == NULL || (strcmp(action, "replay") != 0 &&
	    strcmp(action, "export") != 0))
		return json_pack("{s:b, s:s}", "ok", 0, "error",
		    "malformed recording_viewed request");
	snprintf(who, sizeof(who), "uid %u", (unsigned int)cc->uid);
	if (broker_record(cc->c->broker, "recording_viewed", id,
	    json_pack("{s:s, s:s}", "action", action, "by", who)) == -1)
		return json_pack("{s:b, s:s}", "ok", 0, "error",
		    "the audit log cannot be written");
	return json_pack("{s:b}", "ok", 1);
}

/*
 * porthole updates: the list; reschedule and run-now on behalf of the
 * peer, who is named in the audit log.
 */
static json_t *
control_updates(struct cconn *cc, const char *cmd, json_t *req)
{
	struct control	*c = cc->c;
	const char	*version = json_string_value(json_object_get(req,
	    "version"));
	const char	*when = json_string_value(json_object_get(req, "when"));
	char		 who[64], err[512];
	time_t		 t;
	json_t		*list;
	int		 rc;

	if (c->updates == NULL)
		return json_pack("{s:b, s:s}", "ok", 0, "error",
		    "updates are not available");
	if (strcmp(cmd, "updates") == 0) {
		if ((list = updates_list(c->updates)) == NULL)
			return json_pack("{s:b, s:s}", "ok", 0, "error",
			    "out of memory");
		json_object_set_new(list, "ok", json_true());
		return list;
	}
	if (version == NULL || strlen(version) > 64)
		return json_pack("{s:b, s:s}", "ok", 0, "error",
		    "a version is missing");
	snprintf(who, sizeof(who), "uid %u", (unsigned int)cc->uid);
	if (strcmp(cmd, "update_run_now") == 0)
		rc = updates_run_now(c->updates, version, who, err,
		    sizeof(err));
	else if (when == NULL || parse_time(when, &t) == -1)
		return json_pack("{s:b, s:s}", "ok", 0, "error",
		    "a time is missing");
	else
		rc = updates_reschedule(c->updates, version, t, who, err,
		    sizeof(err));
	if (rc == -1)
		return json_pack("{s:b, s:s}", "ok", 0, "error", err);
	return json_pack("{s:b, s:o}", "ok", 1, "next",
	    updates_next(c->updates));
}

static json_t *
control_dispatch(struct cconn *cc, json_t *req)
{
	struct control	*c = cc->c;
	const char	*cmd = json_string_value(json_object_get(req, "cmd"));
	const char	*id = json_string_value(json_object_get(req, "id"));
	char		 who[64];

	if (cmd == NULL)
		return json_pack("{s:b, s:s}", "ok", 0, "error",
		    "malformed request");
	if (strcmp(cmd, "status") == 0)
		return control_status(c);
	if (strcmp(cmd, "sessions") == 0)
		return json_pack("{s:b, s:o}", "ok", 1, "sessions",
		    broker_sessions(c->broker));
	if (strcmp(cmd, "approve") == 0 || strcmp(cmd, "deny") == 0) {
		if (id == NULL || strlen(id) > 64)
			return json_pack("{s:b, s:s}", "ok", 0, "error",
			    "session id missing");
		snprintf(who, sizeof(who), "uid %u", (unsigned int)cc->uid);
		switch (broker_approve(c->broker, id, cmd[0] == 'a', who)) {
		case 0:
			return json_pack("{s:b}", "ok", 1);
		case -2:
			return json_pack("{s:b, s:s}", "ok", 0, "error",
			    "session is not waiting for approval");
		default:
			return json_pack("{s:b, s:s}", "ok", 0, "error",
			    "no such session");
		}
	}
	if (strcmp(cmd, "reload") == 0) {
		char err[4096];		/* a line for each problem found */

		snprintf(who, sizeof(who), "uid %u", (unsigned int)cc->uid);
		if (c->reload(c->reload_arg, who, err, sizeof(err)) == -1)
			return json_pack("{s:b, s:s}", "ok", 0, "error", err);
		return json_pack("{s:b}", "ok", 1);
	}
	if (strcmp(cmd, "kill") == 0) {
		if (id == NULL || strlen(id) > 64)
			return json_pack("{s:b, s:s}", "ok", 0, "error",
			    "kill: session id missing");
		snprintf(who, sizeof(who), "uid %u", (unsigned int)cc->uid);
		if (broker_kill(c->broker, id, who) == -1)
			return json_pack("{s:b, s:s}", "ok", 0, "error",
			    "no such session");
		return json_pack("{s:b}", "ok", 1);
	}
	if (strcmp(cmd, "recording_viewed") == 0)
		return control_viewed(cc, req, id);
	if (strcmp(cmd, "updates") == 0 ||
	    strcmp(cmd, "update_reschedule") == 0 ||
	    strcmp(cmd, "update_run_now") == 0)
		return control_updates(cc, cmd, req);
	if (strcmp(cmd, "alerts") == 0)
		return c->alerts == NULL ? json_pack("{s:b, s:s}", "ok", 0,
		    "error", "alerts are not available") :
		    json_pack("{s:b, s:o*}", "ok", 1, "alerts",
		    alerts_list(c->alerts));
	return json_pack("{s:b, s:s, s:s}", "ok", 0, "error",
	    "unknown command", "cmd", cmd);
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
