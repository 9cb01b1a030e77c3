/*
 * broker.c - engineer sessions in the gateway's main process.
 *
 * Each forwarded-tcpip channel from the relay becomes a session: a
 * SOCK_STREAM socketpair carries its bytes to a forked session process
 * (session.c), and a SOCK_SEQPACKET socketpair carries that process's
 * audit events back.  The channel and the socket are spliced with flow
 * control both ways: the socket is read only as far as the channel's
 * window allows, and channel data the socket cannot take now stays in
 * libssh's buffer, holding back the window of the engineer's sender.
 *
 * A channel is a login in progress until its monitor has accepted a
 * certificate and the key behind it; only then does it take one of
 * max_sessions' slots and go on record as a session.  Logins in progress
 * have their own small bound (BROKER_PREAUTH_MAX) and grace
 * (SESSION_LOGIN_GRACE), and their refusals are summarised (burst.h), so
 * that whoever can reach the gateway without being listed can neither
 * lock support out nor flood the audit log.
 */
#include "gateway/broker.h"

#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libssh/callbacks.h>

#include "gateway/burst.h"
#include "gateway/monitor.h"
#include "gateway/session.h"
#include "lib/clock.h"
#include "lib/fdpass.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/sshrefuse.h"

#define BROKER_CHUNK	65536
#define BROKER_RETRY_MS	20	/* poll again after a stalled write */
#define BROKER_END_GRACE_MS	5000	/* a monitor asked to end has this long */

/*
 * Logins in progress at once.  A login is one key exchange and one or
 * two signatures through the relay, well under a second, so eight cover
 * more engineers starting at the same moment than a cluster's support
 * team has, while bounding what an unlisted peer can make the gateway
 * fork (two processes each).  Not a porthole.conf key: a customer has no
 * reason to tune it, and max_sessions is the limit that matters to them.
 */
#define BROKER_PREAUTH_MAX	8

/* Grants a session has relied on; withdrawing one ends it. */
#define GS_USES_COMMANDS	0x01
#define GS_USES_FILES		0x02
#define GS_USES_FORWARD		0x04
#define GS_USES_SETTINGS	0x08

/* Which grant an audited act relies on. */
static const struct {
	const char	*type;
	int		 uses;
} gs_uses_table[] = {
	{ "command_allowed",	GS_USES_COMMANDS },
	{ "file_opened",	GS_USES_FILES },
	{ "dir_listed",		GS_USES_FILES },
	{ "forward_opened",	GS_USES_FORWARD },
	{ "setting_read",	GS_USES_SETTINGS },
	{ "setting_changed",	GS_USES_SETTINGS },
	{ NULL,			0 }
};

/* One engineer session, seen from the main process. */
struct gsess {
	struct broker		*b;
	char			 id[SESSION_ID_LEN + 1];
	pid_t			 pid;		/* 0 once reaped */
	int			 status;	/* wait status */
	int			 fd;		/* stream to the session */
	int			 audit_fd;	/* its audit requests */
	int			 pol_fd;	/* new policies, to its monitor */
	ssh_channel		 ch;		/* NULL once gone */
	struct ssh_channel_callbacks_struct cb;
	struct event		*ev_read;	/* fd readable */
	struct event		*ev_write;	/* fd writable */
	struct event		*ev_audit;
	char			 hold[BROKER_CHUNK];	/* channel -> fd */
	size_t			 hold_off;
	size_t			 hold_len;
	uint32_t		 pending;	/* offered by libssh, not taken */
	char			 out[BROKER_CHUNK];	/* fd -> channel */
	size_t			 out_off;
	size_t			 out_len;	/* read, not yet taken by libssh */
	int			 wait_window;	/* fd reading paused */
	int			 ch_eof;
	int			 ch_closed;
	int			 fd_eof;
	int			 shut_wr;
	uint64_t		 bytes_in;	/* engineer -> session */
	uint64_t		 bytes_out;	/* session -> engineer */
	uint64_t		 started;	/* clock_mono_ms() */
	time_t			 started_at;	/* clock_now(), for people */
	char			 from[80];
	char			 src[80];	/* from without the port */
	int			 slotted;	/* holds a max_sessions slot */
	int			 crowded_out;	/* its login was dropped */
	int			 recorded;	/* something of it is on record */
	char			 engineer[257];
	char			 ticket[257];
	char			 key_id[257];
	int			 awaiting;	/* waiting for approval */
	struct event		*ev_approval;	/* approval timeout */
	uint64_t		 last_active;	/* clock_mono_ms() of channel data,
						   as the session reports it */
	char			 doing[128];	/* the running diagnostic */
	int			 uses;		/* GS_USES_*: grants relied on */
	int			 idle_ended;	/* idle_timeout already acted on */
	uint64_t		 end_asked;	/* clock_mono_ms() of gs_end(), 0 */
	TAILQ_ENTRY(gsess)	 entry;
};
TAILQ_HEAD(gsess_list, gsess);

/*
 * A stream refused before any session process: kept open a moment after
 * the disconnect is written, so its client reads why before it sees the
 * channel close (it is still writing its own key exchange).
 */
struct turned {
	struct broker			*b;
	ssh_channel			 ch;
	struct event			*ev;
	struct ssh_channel_callbacks_struct cb;
	TAILQ_ENTRY(turned)		 entry;
};
TAILQ_HEAD(turned_list, turned);

#define TURNED_MAX		64	/* more are closed at once */
#define TURNED_LINGER_SECS	3

struct broker {
	struct event_base	*base;
	const struct policy	*pol;
	struct audit		*audit;
	ssh_key			 host_key;
	uint8_t			 ca_key[32];
	const struct krl	*krl;		/* revoked_keys, or NULL */
	struct gsess_list	 sessions;
	size_t			 nsessions;
	size_t			 nslots;	/* sessions past their login */
	struct burst		*burst;		/* refusals summarised */
	struct turned_list	 turned;
	size_t			 nturned;
	void			(*flush)(void *);
	void			*flush_arg;
	struct event		*ev_idle;	/* checks idle_timeout */
	struct event		*ev_retry;	/* a write stalled in a rekey */
	int			 audit_failing;	/* the log cannot be written */
	struct telem		*telem;		/* session events, or NULL */
};

static void	gs_check_done(struct gsess *);
static void	gs_login_done(struct gsess *);
static void	gs_withdraw(struct gsess *, const struct policy *);

/* Poll every session again shortly (a write or read stalled in a rekey). */
static void
broker_retry_soon(struct broker *b)
{
	struct timeval tv = { 0, BROKER_RETRY_MS * 1000 };

	if (!evtimer_pending(b->ev_retry, NULL))
		evtimer_add(b->ev_retry, &tv);
}

/* Ask a session's monitor to end it, saying why (SESSION_END_*). */
static void
gs_end(struct gsess *gs, int why)
{
	union sigval v;

	if (gs->pid <= 0)
		return;
	v.sival_int = why;
	if (sigqueue(gs->pid, SIGTERM, v) == -1)
		kill(gs->pid, SIGTERM);
	if (gs->end_asked == 0)
		gs->end_asked = clock_mono_ms();
}

/*
 * A monitor has a few seconds to say goodbye and end; one that does not
 * (stuck, or misled by its child) is killed with its process group.
 */
static void
gs_end_overdue(struct gsess *gs, uint64_t now)
{
	if (gs->pid <= 0 || gs->end_asked == 0 ||
	    now - gs->end_asked < BROKER_END_GRACE_MS)
		return;
	log_warn("session %s: its monitor did not end in time; killing it",
	    gs->id);
	kill(gs->pid, SIGKILL);
	gs->end_asked = now;	/* again in a while if need be */
}
static void	broker_audit_failed(struct broker *);

static void
broker_flush(struct broker *b)
{
	if (b->flush != NULL)
		b->flush(b->flush_arg);
}

/* Append an event to the audit log; -1 if it could not be written. */
static int
broker_audit(struct broker *b, const char *type, const char *sid,
    json_t *fields)
{
	json_t	*ev;
	int	 rc;

	/* Not every event is about a session (a refused control peer). */
	ev = sid != NULL ? json_pack("{s:s}", "session", sid) : json_object();
	if (ev == NULL) {
		json_decref(fields);
		return -1;
	}
	if (fields != NULL) {
		json_object_update(ev, fields);
		json_decref(fields);
	}
	rc = b->audit_failing ? -1 : audit_write(b->audit, type, ev);
	json_decref(ev);
	if (rc == -1) {
		log_error("audit: cannot write a %s event%s%s", type,
		    sid != NULL ? " for session " : "", sid != NULL ? sid : "");
		broker_audit_failed(b);
	}
	return rc;
}

int
broker_record(struct broker *b, const char *type, const char *sid,
    json_t *fields)
{
	return broker_audit(b, type, sid, fields);
}

/*
 * The audit log cannot be written: fail closed.  New sessions are refused
 * (their first event cannot be recorded) and running ones end now; a
 * timer retries and service resumes once a line can be written again.
 */
static void
broker_audit_failed(struct broker *b)
{
	struct gsess *gs;

	if (b->audit_failing)
		return;
	b->audit_failing = 1;
	log_error("audit: the log cannot be written; refusing new sessions "
	    "and ending running ones until it can");
	/* A login in progress is refused, with the reason, at its slot. */
	TAILQ_FOREACH(gs, &b->sessions, entry)
		if (gs->slotted)
			gs_end(gs, SESSION_END_AUDIT);
}

/* Retry the audit log; 1 if it works again. */
static int
broker_audit_retry(struct broker *b)
{
	json_t *ev;

	ev = json_pack("{s:s}", "reason", "the audit log could not be "
	    "written; sessions were refused and ended meanwhile");
	if (audit_write(b->audit, "audit_resumed", ev) == -1) {
		json_decref(ev);
		return 0;
	}
	json_decref(ev);
	b->audit_failing = 0;
	log_info("audit: the log can be written again; accepting sessions");
	return 1;
}

int
broker_audit_ok(const struct broker *b)
{
	return !b->audit_failing;
}

/* A burst's summary line (burst.h). */
static void
broker_summary(void *arg, const struct burst_summary *sum)
{
	struct broker	*b = arg;
	char		 first[32], last[32];

	parse_format_time(sum->first, first, sizeof(first));
	parse_format_time(sum->last, last, sizeof(last));
	(void)broker_audit(b, "refusal_summary", NULL, json_pack(
	    "{s:s, s:s, s:s, s:I, s:s, s:s}", "event", sum->type, "reason",
	    sum->reason, sum->who_field, sum->who, "count",
	    (json_int_t)sum->count, "first", first, "last", last));
	log_info("%llu more %s (%s) for %s %s", (unsigned long long)sum->count,
	    sum->type, sum->reason, sum->who_field, sum->who);
}

/*
 * A refusal of a login in progress: written in full when it is the first
 * of its kind in a burst, else counted for the burst's summary.  Its kind
 * is its event, its reason and whom it names: the engineer, else the
 * certificate's first principal, else the source the relay reported.
 * Steals fields; 0, or -1 when the log cannot be written.
 */
static int
gs_refusal(struct gsess *gs, const char *type, json_t *fields)
{
	struct broker	*b = gs->b;
	const char	*reason, *who = gs->src, *field = "from", *p;

	if (fields == NULL)
		return broker_audit(b, type, gs->id, NULL);
	gs->recorded = 1;
	reason = json_string_value(json_object_get(fields, "reason"));
	if ((p = json_string_value(json_object_get(fields, "engineer"))) !=
	    NULL && *p != '\0') {
		who = p;
		field = "engineer";
	} else if ((p = json_string_value(json_array_get(json_object_get(
	    fields, "principals"), 0))) != NULL) {
		who = p;
		field = "principal";
	}
	if (!burst_note(b->burst, type, reason != NULL ? reason : "", field,
	    who, clock_mono_ms(), clock_now())) {
		json_decref(fields);
		return b->audit_failing ? -1 : 0;
	}
	json_object_set_new(fields, "from", json_string(gs->from));
	return broker_audit(b, type, gs->id, fields);
}

/* Channel data from the engineer: write what the socket takes now. */
static int
gs_on_data(ssh_session s, ssh_channel ch, void *data, uint32_t len,
    int is_stderr, void *arg)
{
	struct gsess	*gs = arg;
	ssize_t		 n;

	(void)s;
	(void)ch;
	if (is_stderr || gs->shut_wr)
		return (int)len;
	if (gs->hold_len > 0) {
		gs->pending = len;
		return 0;
	}
	n = write(gs->fd, data, len);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR) {
			gs->pending = 0;
			return (int)len;	/* the session is gone */
		}
		n = 0;
	}
	gs->bytes_in += (uint64_t)n;
	gs->pending = len - (uint32_t)n;
	if (gs->pending > 0)
		event_add(gs->ev_write, NULL);
	return (int)n;
}

static void
gs_on_eof(ssh_session s, ssh_channel ch, void *arg)
{
	struct gsess *gs = arg;

	(void)s;
	(void)ch;
	gs->ch_eof = 1;
}

static void
gs_on_close(ssh_session s, ssh_channel ch, void *arg)
{
	struct gsess *gs = arg;

	(void)s;
	(void)ch;
	gs->ch_eof = 1;
	gs->ch_closed = 1;
}

/* Forget the channel: after close, or when the tunnel goes down. */
static void
gs_drop_channel(struct gsess *gs, int free_it)
{
	if (gs->ch == NULL)
		return;
	ssh_remove_channel_callbacks(gs->ch, &gs->cb);
	if (free_it) {
		if (!ssh_channel_is_closed(gs->ch))
			ssh_channel_close(gs->ch);
		ssh_channel_free(gs->ch);
	}
	gs->ch = NULL;
	gs->pending = 0;
}

/* The socket can take more: move held and pending channel data. */
static void
gs_fd_write(evutil_socket_t fd, short what, void *arg)
{
	struct gsess	*gs = arg;
	ssize_t		 n;
	int		 r;

	(void)fd;
	(void)what;
	for (;;) {
		if (gs->hold_len > 0) {
			n = write(gs->fd, gs->hold + gs->hold_off,
			    gs->hold_len);
			if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
				event_add(gs->ev_write, NULL);
				return;
			}
			if (n == -1) {
				gs->hold_len = 0;
				gs->shut_wr = 1;
				break;
			}
			gs->bytes_in += (uint64_t)n;
			gs->hold_off += (size_t)n;
			gs->hold_len -= (size_t)n;
			continue;
		}
		if (gs->pending == 0 || gs->ch == NULL)
			break;
		r = ssh_channel_read_nonblocking(gs->ch, gs->hold,
		    gs->pending < sizeof(gs->hold) ? gs->pending :
		    sizeof(gs->hold), 0);
		if (r == 0 && !ssh_channel_is_eof(gs->ch) &&
		    !ssh_channel_is_closed(gs->ch)) {
			/*
			 * Offered but not readable now (a key re-exchange):
			 * libssh will not offer it again until the next packet
			 * on this channel, which may be the very window
			 * adjustment stuck behind it.  Look again shortly.
			 */
			broker_retry_soon(gs->b);
			break;
		}
		if (r <= 0) {
			gs->pending = 0;
			break;
		}
		gs->pending -= (uint32_t)r;
		gs->hold_off = 0;
		gs->hold_len = (size_t)r;
	}
	broker_flush(gs->b);
	gs_check_done(gs);
}

/*
 * Hand what was read from the session process to the channel.  libssh
 * may take less than offered (nothing during a key re-exchange); the rest
 * waits here and reading pauses.  Returns 1 when nothing is left.
 */
static int
gs_flush_out(struct gsess *gs)
{
	int w;

	while (gs->out_len > 0 && gs->ch != NULL && !gs->ch_closed) {
		w = ssh_channel_write(gs->ch, gs->out + gs->out_off,
		    (uint32_t)gs->out_len);
		if (w < 0) {
			log_warn("session %s: write to the tunnel failed",
			    gs->id);
			gs->out_len = 0;
			break;
		}
		if (w == 0) {
			/*
			 * libssh took nothing with the window open: a key
			 * re-exchange on the tunnel.  Its end may come with
			 * no more traffic to wake us: look again shortly.
			 */
			if (ssh_channel_window_size(gs->ch) > 0)
				broker_retry_soon(gs->b);
			return 0;
		}
		gs->bytes_out += (uint64_t)w;
		gs->out_off += (size_t)w;
		gs->out_len -= (size_t)w;
	}
	gs->out_len = 0;
	return 1;
}

/* Output from the session process: send what the channel window allows. */
static void
gs_fd_read(evutil_socket_t fd, short what, void *arg)
{
	struct gsess	*gs = arg;
	uint32_t	 win;
	ssize_t		 n;

	(void)fd;
	(void)what;
	if (gs->ch == NULL) {
		/* Nobody to deliver to: let the session see its end. */
		n = read(gs->fd, gs->out, sizeof(gs->out));
		if (n <= 0 && !(n == -1 && errno == EAGAIN)) {
			gs->fd_eof = 1;
			event_del(gs->ev_read);
		}
		gs_check_done(gs);
		return;
	}
	if (!gs_flush_out(gs) ||
	    (win = ssh_channel_window_size(gs->ch)) == 0) {
		event_del(gs->ev_read);
		gs->wait_window = 1;
		broker_flush(gs->b);
		return;
	}
	n = read(gs->fd, gs->out, win < sizeof(gs->out) ? win :
	    sizeof(gs->out));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		gs->fd_eof = 1;
		event_del(gs->ev_read);
		if (!gs->ch_closed)
			ssh_channel_send_eof(gs->ch);
		broker_flush(gs->b);
		gs_check_done(gs);
		return;
	}
	gs->out_off = 0;
	gs->out_len = (size_t)n;
	if (!gs_flush_out(gs)) {
		event_del(gs->ev_read);
		gs->wait_window = 1;
	}
	broker_flush(gs->b);
}

/* Answer a pending approval: 'a' approved, 'd' denied (or no audit). */
static void
gs_approval_answer(struct gsess *gs, int approved, const char *who,
    const char *reason)
{
	char ack;

	gs->awaiting = 0;
	if (gs->ev_approval != NULL)
		event_del(gs->ev_approval);
	if (broker_audit(gs->b, approved ? "session_approved" :
	    "session_denied", gs->id, json_pack("{s:s, s:s, s:s}", "engineer",
	    gs->engineer, "by", who, "reason", reason)) == -1)
		approved = 0;
	log_info("session %s %s by %s", gs->id, approved ? "approved" :
	    "denied", who);
	ack = approved ? 'a' : strcmp(who, "timeout") == 0 ? 't' : 'd';
	if (send(gs->audit_fd, &ack, 1, MSG_NOSIGNAL) != 1 && gs->pid > 0)
		kill(gs->pid, SIGKILL);
}

/*
 * The engineer hung up while the session waited: it ends, on record, and
 * nobody can approve it any more (its monitor hears 'g').
 */
static void
gs_approval_gone(struct gsess *gs)
{
	char ack = 'g';

	gs->awaiting = 0;
	if (gs->ev_approval != NULL)
		event_del(gs->ev_approval);
	(void)broker_audit(gs->b, "session_ended", gs->id, json_pack(
	    "{s:s, s:s}", "engineer", gs->engineer, "reason", "the engineer "
	    "left before the customer decided"));
	log_info("session %s: %s left while it waited for approval", gs->id,
	    gs->engineer);
	if (send(gs->audit_fd, &ack, 1, MSG_NOSIGNAL) != 1 && gs->pid > 0)
		kill(gs->pid, SIGKILL);
}

static void
gs_approval_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct gsess *gs = arg;

	(void)fd;
	(void)what;
	if (gs->awaiting)
		gs_approval_answer(gs, 0, "timeout", "nobody approved the "
		    "session in time");
}

/* The monitor asks for the customer's approval: wait for a person. */
static void
gs_approval_request(struct gsess *gs, json_t *ev)
{
	struct timeval	 tv = { (time_t)gs->b->pol->approval_timeout, 0 };
	const char	*s;

	if ((s = json_string_value(json_object_get(ev, "engineer"))) != NULL)
		snprintf(gs->engineer, sizeof(gs->engineer), "%s", s);
	if ((s = json_string_value(json_object_get(ev, "ticket"))) != NULL)
		snprintf(gs->ticket, sizeof(gs->ticket), "%s", s);
	if ((s = json_string_value(json_object_get(ev, "key_id"))) != NULL)
		snprintf(gs->key_id, sizeof(gs->key_id), "%s", s);
	if (gs->awaiting || broker_audit(gs->b, "session_pending", gs->id,
	    json_pack("{s:s, s:s, s:s}", "engineer", gs->engineer, "ticket",
	    gs->ticket, "key_id", gs->key_id)) == -1) {
		gs_approval_answer(gs, 0, "gateway", "cannot record the "
		    "request");
		return;
	}
	gs->awaiting = 1;
	if (gs->ev_approval == NULL)
		gs->ev_approval = evtimer_new(gs->b->base, gs_approval_timeout,
		    gs);
	if (gs->ev_approval != NULL)
		evtimer_add(gs->ev_approval, &tv);
	log_info("session %s: %s (ticket %s) waits for approval", gs->id,
	    gs->engineer, gs->ticket[0] ? gs->ticket : "none");
}

/*
 * The monitor accepted a certificate and the key behind it: the login
 * takes one of max_sessions' slots now, and the session goes on record.
 * 's' when it has one, 'f' when all are in use (audited), 'a' when the
 * audit log cannot be written, 'n' when its login was dropped meanwhile.
 */
static void
gs_slot_request(struct gsess *gs, json_t *ev)
{
	struct broker	*b = gs->b;
	const char	*eng = json_string_value(json_object_get(ev,
			    "engineer"));
	char		 why[160], ans = 'n';

	if (eng == NULL || gs->slotted || gs->crowded_out)
		ans = 'n';
	else if (!policy_allow_session_slot(b->pol, b->nslots, why,
	    sizeof(why))) {
		log_warn("session %s refused: %s (max_sessions)", gs->id, why);
		if (gs_refusal(gs, "session_refused", json_pack(
		    "{s:s, s:s, s:s}", "engineer", eng, "reason",
		    "max_sessions reached", "detail", why)) == 0)
			ans = 'f';
	} else if (broker_audit(b, "session_opened", gs->id, json_pack(
	    "{s:s, s:s}", "from", gs->from, "engineer", eng)) == 0) {
		gs->slotted = 1;
		gs->recorded = 1;
		b->nslots++;
		ans = 's';
	} else
		ans = 'a';
	if (send(gs->audit_fd, &ans, 1, MSG_NOSIGNAL) != 1 && gs->pid > 0)
		kill(gs->pid, SIGKILL);
}

/* A request from the session process: audit it, then say if it is durable. */
static void
gs_audit_read(evutil_socket_t fd, short what, void *arg)
{
	static const char *allowed[] = { "auth_accepted", "auth_refused",
	    "command_allowed", "command_refused", "command_finished",
	    "command_failed", "request_refused", "channel_refused",
	    "session_refused", "session_violation", "session_ended",
	    "approval_request", "file_opened", "file_closed", "file_refused",
	    "dir_listed", "write_refused", "setting_read", "setting_changed",
	    "setting_refused", "forward_opened", "forward_closed",
	    "forward_refused", "shell_opened", "shell_closed", "slot_request",
	    "activity", NULL };
	struct gsess	*gs = arg;
	char		 buf[SESSION_AUDIT_MAX];
	json_t		*ev = NULL, *jt;
	json_error_t	 jerr;
	const char	*type;
	char		 ack = 'n', typebuf[40];
	ssize_t		 n;
	size_t		 i;
	int		 rc;

	(void)what;
	n = recv(fd, buf, sizeof(buf), MSG_TRUNC);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		event_del(gs->ev_audit);
		return;
	}
	if ((size_t)n > sizeof(buf) ||
	    (ev = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL || !json_is_object(ev) ||
	    (jt = json_object_get(ev, "type")) == NULL ||
	    (type = json_string_value(jt)) == NULL ||
	    json_object_get(ev, "session") != NULL)
		goto bad;
	for (i = 0; allowed[i] != NULL; i++)
		if (strcmp(type, allowed[i]) == 0)
			break;
	if (allowed[i] == NULL)
		goto bad;
	snprintf(typebuf, sizeof(typebuf), "%s", type);
	if (strcmp(typebuf, "approval_request") == 0) {
		gs_approval_request(gs, ev);
		json_decref(ev);
		return;
	}
	if (strcmp(typebuf, "slot_request") == 0) {
		gs_slot_request(gs, ev);
		json_decref(ev);
		return;
	}
	if (strcmp(typebuf, "activity") == 0) {
		/* Channel data moved; nothing is written, nothing answered. */
		gs->last_active = clock_mono_ms();
		json_decref(ev);
		return;
	}
	if (strcmp(typebuf, "command_allowed") == 0 &&
	    (jt = json_object_get(ev, "command")) != NULL && json_is_string(jt))
		snprintf(gs->doing, sizeof(gs->doing), "%s",
		    json_string_value(jt));
	for (i = 0; gs_uses_table[i].type != NULL; i++)
		if (strcmp(typebuf, gs_uses_table[i].type) == 0)
			gs->uses |= gs_uses_table[i].uses;
	if (strcmp(typebuf, "command_finished") == 0 ||
	    strcmp(typebuf, "command_failed") == 0)
		gs->doing[0] = '\0';
	if (strcmp(typebuf, "auth_accepted") == 0 && gs->b->telem != NULL &&
	    (jt = json_object_get(ev, "engineer")) != NULL && json_is_string(jt))
		telem_event(gs->b->telem, "session_opened", json_pack(
		    "{s:s, s:s}", "session", gs->id, "engineer",
		    json_string_value(jt)));
	if (strcmp(typebuf, "auth_accepted") == 0) {
		/* Waiting for approval was not idleness. */
		gs->last_active = clock_mono_ms();
		if ((jt = json_object_get(ev, "engineer")) != NULL &&
		    json_is_string(jt))
			snprintf(gs->engineer, sizeof(gs->engineer), "%s",
			    json_string_value(jt));
		if ((jt = json_object_get(ev, "ticket")) != NULL &&
		    json_is_string(jt))
			snprintf(gs->ticket, sizeof(gs->ticket), "%s",
			    json_string_value(jt));
		if ((jt = json_object_get(ev, "key_id")) != NULL &&
		    json_is_string(jt))
			snprintf(gs->key_id, sizeof(gs->key_id), "%s",
			    json_string_value(jt));
	}
	json_object_del(ev, "type");
	json_incref(ev);
	/* Refusals of a login in progress may come in floods. */
	if (!gs->slotted && (strcmp(typebuf, "auth_refused") == 0 ||
	    strcmp(typebuf, "session_refused") == 0))
		rc = gs_refusal(gs, typebuf, ev);
	else {
		gs->recorded = 1;
		rc = broker_audit(gs->b, typebuf, gs->id, ev);
	}
	if (rc == 0)
		ack = 'y';
	json_decref(ev);
	if (send(fd, &ack, 1, MSG_NOSIGNAL) != 1 || ack != 'y')
		kill(gs->pid, SIGKILL);
	return;
bad:
	json_decref(ev);
	log_error("session %s: malformed audit request; ending the session",
	    gs->id);
	(void)broker_audit(gs->b, "session_violation", gs->id,
	    json_pack("{s:s}", "reason", "malformed audit request"));
	if (gs->pid > 0)
		kill(gs->pid, SIGKILL);
	event_del(gs->ev_audit);
}

static void
gs_free(struct gsess *gs)
{
	gs_drop_channel(gs, 1);
	if (gs->ev_read != NULL)
		event_free(gs->ev_read);
	if (gs->ev_write != NULL)
		event_free(gs->ev_write);
	if (gs->ev_audit != NULL)
		event_free(gs->ev_audit);
	if (gs->ev_approval != NULL)
		event_free(gs->ev_approval);
	if (gs->fd != -1)
		close(gs->fd);
	if (gs->audit_fd != -1)
		close(gs->audit_fd);
	if (gs->pol_fd != -1)
		close(gs->pol_fd);
	free(gs);
}

/*
 * Pass EOF on, and end the session once its process has exited and its
 * last output has been sent.
 */
static void
gs_check_done(struct gsess *gs)
{
	struct broker	*b = gs->b;
	json_t		*ev;

	if (gs->ch_eof && gs->pending == 0 && gs->hold_len == 0 &&
	    !gs->shut_wr) {
		shutdown(gs->fd, SHUT_WR);
		gs->shut_wr = 1;
	}
	if (gs->ch_closed && !gs->fd_eof) {
		/* The engineer is gone: the session process sees EOF. */
		shutdown(gs->fd, SHUT_RDWR);
	}
	/*
	 * No client sends EOF while its login is unanswered: one that does
	 * has hung up, and a session waiting for approval ends with it.
	 */
	if (gs->awaiting && (gs->ch_eof || gs->ch == NULL))
		gs_approval_gone(gs);
	if (gs->pid != 0 || !(gs->fd_eof || gs->ch == NULL))
		return;
	if (!gs->slotted) {
		gs_login_done(gs);
		return;
	}
	ev = json_pack("{s:s, s:I, s:I, s:I}", "engineer", gs->engineer,
	    "bytes_in", (json_int_t)gs->bytes_in,
	    "bytes_out", (json_int_t)gs->bytes_out,
	    "duration_ms", (json_int_t)(clock_mono_ms() - gs->started));
	if (WIFEXITED(gs->status))
		json_object_set_new(ev, "exit_status",
		    json_integer(WEXITSTATUS(gs->status)));
	else if (WIFSIGNALED(gs->status))
		json_object_set_new(ev, "signal",
		    json_integer(WTERMSIG(gs->status)));
	(void)broker_audit(b, "session_closed", gs->id, ev);
	if (b->telem != NULL && gs->engineer[0] != '\0')
		telem_event(b->telem, "session_closed", json_pack(
		    "{s:s, s:s, s:I}", "session", gs->id, "engineer",
		    gs->engineer, "duration_s", (json_int_t)((clock_mono_ms() -
		    gs->started) / 1000)));
	log_info("session %s closed (%llu bytes in, %llu bytes out)", gs->id,
	    (unsigned long long)gs->bytes_in, (unsigned long long)gs->bytes_out);
	TAILQ_REMOVE(&b->sessions, gs, entry);
	b->nsessions--;
	b->nslots--;
	gs_free(gs);
	broker_flush(b);
}

/*
 * A channel that ended without a session: nothing was opened, so nothing
 * is closed on record.  One that left no trace at all (the client went
 * away, or sent something that is not SSH) is recorded as refused, with
 * the others like it summarised.
 */
static void
gs_login_done(struct gsess *gs)
{
	struct broker	*b = gs->b;
	char		 why[80];

	if (!gs->recorded) {
		if (WIFSIGNALED(gs->status) &&
		    WTERMSIG(gs->status) != SIGKILL)
			snprintf(why, sizeof(why), "the session process ended "
			    "by signal %d before a login", WTERMSIG(gs->status));
		else
			snprintf(why, sizeof(why), "closed before a login");
		(void)gs_refusal(gs, "session_refused", json_pack("{s:s}",
		    "reason", why));
	}
	log_info("session %s from %s: ended before a login", gs->id, gs->from);
	TAILQ_REMOVE(&b->sessions, gs, entry);
	b->nsessions--;
	gs_free(gs);
	broker_flush(b);
}

/* In the forked process: keep the three sockets as fds 3, 4 and 5, serve. */
static void
gs_child(struct broker *b, int fd, int afd, int pfd, const char *sid)
{
	sigset_t	set;
	int		s, a, p;

	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	/* The session needs no seal key; a compromised child must not find it. */
	audit_forget(b->audit);
	if ((s = fcntl(fd, F_DUPFD, 10)) == -1 ||
	    (a = fcntl(afd, F_DUPFD, 10)) == -1 ||
	    (p = fcntl(pfd, F_DUPFD, 10)) == -1 ||
	    dup2(s, 3) == -1 || dup2(a, 4) == -1 || dup2(p, 5) == -1)
		_exit(1);
	closefrom(6);
	monitor_session(3, 4, 5, b->pol, b->host_key, b->ca_key, b->krl, sid);
}

static int
gs_spawn(struct gsess *gs)
{
	struct broker	*b = gs->b;
	int		 sv[2] = { -1, -1 }, av[2] = { -1, -1 };
	int		 pv[2] = { -1, -1 };

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, av) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pv) == -1) {
		log_error("session %s: socketpair: %s", gs->id,
		    strerror(errno));
		goto fail;
	}
	if ((gs->pid = fork()) == -1) {
		log_error("session %s: fork: %s", gs->id, strerror(errno));
		gs->pid = 0;
		goto fail;
	}
	if (gs->pid == 0)
		gs_child(b, sv[1], av[1], pv[1], gs->id);
	close(sv[1]);
	close(av[1]);
	close(pv[1]);
	gs->fd = sv[0];
	gs->audit_fd = av[0];
	gs->pol_fd = pv[0];
	fcntl(gs->fd, F_SETFL, O_NONBLOCK);
	fcntl(gs->audit_fd, F_SETFL, O_NONBLOCK);
	fcntl(gs->pol_fd, F_SETFL, O_NONBLOCK);
	gs->ev_read = event_new(b->base, gs->fd, EV_READ | EV_PERSIST,
	    gs_fd_read, gs);
	gs->ev_write = event_new(b->base, gs->fd, EV_WRITE, gs_fd_write, gs);
	gs->ev_audit = event_new(b->base, gs->audit_fd, EV_READ | EV_PERSIST,
	    gs_audit_read, gs);
	if (gs->ev_read == NULL || gs->ev_write == NULL || gs->ev_audit == NULL)
		return -1;	/* the child is reaped and audited as usual */
	event_add(gs->ev_read, NULL);
	event_add(gs->ev_audit, NULL);
	return 0;
fail:
	if (sv[0] != -1) {
		close(sv[0]);
		close(sv[1]);
	}
	if (av[0] != -1) {
		close(av[0]);
		close(av[1]);
	}
	if (pv[0] != -1) {
		close(pv[0]);
		close(pv[1]);
	}
	return -1;
}

static void
turned_free(struct turned *t, int free_channel)
{
	TAILQ_REMOVE(&t->b->turned, t, entry);
	t->b->nturned--;
	/* Else the tunnel's session is gone or going: the channel with it. */
	if (free_channel) {
		ssh_remove_channel_callbacks(t->ch, &t->cb);
		if (!ssh_channel_is_closed(t->ch))
			ssh_channel_close(t->ch);
		ssh_channel_free(t->ch);
	}
	event_free(t->ev);
	free(t);
}

static void
turned_expire(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	turned_free(arg, 1);
}

/* What the client still sends is dropped. */
static int
turned_on_data(ssh_session s, ssh_channel ch, void *data, uint32_t len,
    int is_stderr, void *arg)
{
	(void)s;
	(void)ch;
	(void)data;
	(void)is_stderr;
	(void)arg;
	return (int)len;
}

/* The client is gone: close from the event loop, not inside libssh. */
static void
turned_on_close(ssh_session s, ssh_channel ch, void *arg)
{
	struct turned		*t = arg;
	static const struct timeval now;

	(void)s;
	(void)ch;
	evtimer_add(t->ev, &now);
}

/*
 * Refused before a session process exists: tell the engineer's ssh why
 * (a disconnect it prints) rather than just hang up.  The channel leaves
 * gs and lingers on the broker's turned list.
 */
static void
gs_turn_away(struct gsess *gs, uint32_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
gs_turn_away(struct gsess *gs, uint32_t code, const char *fmt, ...)
{
	struct broker	*b = gs->b;
	struct turned	*t;
	struct timeval	 tv = { TURNED_LINGER_SECS, 0 };
	uint8_t		 buf[SSHREFUSE_BUF];
	char		 text[SSHREFUSE_MAX_TEXT + 1];
	size_t		 n;
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	n = sshrefuse_build(buf, code, text);
	if (ssh_channel_write(gs->ch, buf, (uint32_t)n) != (int)n)
		log_warn("session %s: could not tell the engineer: %s", gs->id,
		    text);
	/*
	 * No EOF yet: the relay may pass an EOF on as a close, and the
	 * client, still writing its key exchange, would die of EPIPE before
	 * it read the disconnect.  It hangs up itself once it has read it.
	 */
	if (b->nturned >= TURNED_MAX || (t = calloc(1, sizeof(*t))) == NULL)
		return;		/* gs_free closes it now */
	if ((t->ev = evtimer_new(b->base, turned_expire, t)) == NULL) {
		free(t);
		return;
	}
	ssh_remove_channel_callbacks(gs->ch, &gs->cb);
	t->b = b;
	t->ch = gs->ch;
	gs->ch = NULL;
	t->cb.userdata = t;
	t->cb.channel_data_function = turned_on_data;
	t->cb.channel_eof_function = turned_on_close;
	t->cb.channel_close_function = turned_on_close;
	ssh_callbacks_init(&t->cb);
	ssh_set_channel_callbacks(t->ch, &t->cb);
	TAILQ_INSERT_TAIL(&b->turned, t, entry);
	b->nturned++;
	evtimer_add(t->ev, &tv);
}

/* A login in progress that counts against BROKER_PREAUTH_MAX. */
static int
gs_logging_in(const struct gsess *gs)
{
	return !gs->slotted && !gs->crowded_out && gs->pid > 0 &&
	    gs->end_asked == 0;
}

/* Logins in progress from src, plus one for a newcomer from there. */
static size_t
broker_logins_from(struct broker *b, const char *src, const char *newcomer)
{
	struct gsess	*gs;
	size_t		 n = strcmp(src, newcomer) == 0;

	TAILQ_FOREACH(gs, &b->sessions, entry)
		if (gs_logging_in(gs) && strcmp(gs->src, src) == 0)
			n++;
	return n;
}

/*
 * Room for one more login.  When BROKER_PREAUTH_MAX are in progress, the
 * oldest from the source with the most of them is dropped: a flood from
 * one place pushes out its own, an engineer logging in from elsewhere
 * gets through, and one from the same place still does unless the flood
 * outpaces a login.  A newcomer is never the one turned away, so nobody
 * can hold the door shut by opening channels and saying nothing.
 */
static void
broker_make_room(struct broker *b, const char *src)
{
	struct gsess	*gs, *victim = NULL;
	size_t		 n = 0, most = 0, k;

	TAILQ_FOREACH(gs, &b->sessions, entry)
		n += gs_logging_in(gs);
	if (n < BROKER_PREAUTH_MAX)
		return;
	/* The list is in order of arrival: the first of a source is its oldest. */
	TAILQ_FOREACH(gs, &b->sessions, entry)
		if (gs_logging_in(gs) &&
		    (k = broker_logins_from(b, gs->src, src)) > most) {
			most = k;
			victim = gs;
		}
	if (victim == NULL)
		return;
	victim->crowded_out = 1;
	log_warn("session %s from %s: %d logins in progress; dropping it",
	    victim->id, victim->from, BROKER_PREAUTH_MAX);
	(void)gs_refusal(victim, "session_refused", json_pack("{s:s, s:i}",
	    "reason", "too many logins in progress; the oldest from the "
	    "busiest source was dropped", "logins", BROKER_PREAUTH_MAX));
	gs_end(victim, SESSION_END_CROWDED);
}

void
broker_channel(ssh_channel ch, const char *orig_host, int orig_port,
    void *arg)
{
	struct broker	*b = arg;
	struct gsess	*gs;
	uint8_t		 rnd[SESSION_ID_LEN / 2];
	size_t		 i;

	if ((gs = calloc(1, sizeof(*gs))) == NULL ||
	    getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		free(gs);
		ssh_channel_close(ch);
		ssh_channel_free(ch);
		return;
	}
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(gs->id + 2 * i, 3, "%02x", rnd[i]);
	gs->b = b;
	gs->fd = gs->audit_fd = gs->pol_fd = -1;
	gs->ch = ch;
	gs->started = gs->last_active = clock_mono_ms();
	gs->started_at = clock_now();
	snprintf(gs->from, sizeof(gs->from), "%.63s:%d", orig_host, orig_port);
	snprintf(gs->src, sizeof(gs->src), "%.63s", orig_host);
	if (b->audit_failing) {
		log_error("session refused: the audit log cannot be written");
		gs_turn_away(gs, SSHREFUSE_BY_APPLICATION, "porthole: refused: "
		    "the gateway cannot write its audit log");
		goto refuse;
	}
	broker_make_room(b, gs->src);
	memset(&gs->cb, 0, sizeof(gs->cb));
	gs->cb.userdata = gs;
	gs->cb.channel_data_function = gs_on_data;
	gs->cb.channel_eof_function = gs_on_eof;
	gs->cb.channel_close_function = gs_on_close;
	ssh_callbacks_init(&gs->cb);
	ssh_set_channel_callbacks(ch, &gs->cb);
	TAILQ_INSERT_TAIL(&b->sessions, gs, entry);
	b->nsessions++;
	if (gs_spawn(gs) == -1 && gs->pid == 0) {
		TAILQ_REMOVE(&b->sessions, gs, entry);
		b->nsessions--;
		(void)gs_refusal(gs, "session_refused", json_pack("{s:s}",
		    "reason", "cannot start the session process"));
		gs_turn_away(gs, SSHREFUSE_BY_APPLICATION, "porthole: refused: "
		    "the gateway cannot start a session now");
		goto refuse;
	}
	log_info("session %s from %s: process %ld", gs->id, gs->from,
	    (long)gs->pid);
	return;
refuse:
	gs_free(gs);
}

void
broker_poll(void *arg)
{
	struct broker	*b = arg;
	struct gsess	*gs, *next;

	for (gs = TAILQ_FIRST(&b->sessions); gs != NULL; gs = next) {
		next = TAILQ_NEXT(gs, entry);
		if (gs->wait_window && gs->ch != NULL && gs_flush_out(gs) &&
		    ssh_channel_window_size(gs->ch) > 0) {
			gs->wait_window = 0;
			event_add(gs->ev_read, NULL);
		}
		if (gs->pending > 0 && gs->hold_len == 0)
			gs_fd_write(gs->fd, EV_WRITE, gs);
		else
			gs_check_done(gs);
	}
}

static void
broker_retry(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;

	(void)fd;
	(void)what;
	broker_poll(b);
	broker_flush(b);
}

/*
 * The tunnel whose session is s went down: the channels on it go, the
 * sessions on the other relays' tunnels stay.
 */
void
broker_tunnel_down(struct broker *b, ssh_session s)
{
	struct gsess	*gs, *next;
	struct turned	*t, *tnext;

	for (t = TAILQ_FIRST(&b->turned); t != NULL; t = tnext) {
		tnext = TAILQ_NEXT(t, entry);
		if (ssh_channel_get_session(t->ch) == s)
			turned_free(t, 0);
	}
	for (gs = TAILQ_FIRST(&b->sessions); gs != NULL; gs = next) {
		next = TAILQ_NEXT(gs, entry);
		if (gs->ch == NULL || ssh_channel_get_session(gs->ch) != s)
			continue;
		/* ssh_free() of the tunnel releases the channel itself. */
		gs_drop_channel(gs, 0);
		gs->ch_eof = gs->ch_closed = 1;
		gs->hold_len = 0;
		gs_check_done(gs);
	}
}

void
broker_set_flush(struct broker *b, void (*flush)(void *), void *arg)
{
	b->flush = flush;
	b->flush_arg = arg;
}

void
broker_reap(struct broker *b)
{
	struct gsess	*gs, *next;
	int		 status;

	/*
	 * Each session's own process only: the gateway has other children
	 * (gateway/job.c), which their owner reaps.
	 */
	for (gs = TAILQ_FIRST(&b->sessions); gs != NULL; gs = next) {
		next = TAILQ_NEXT(gs, entry);
		if (gs->pid <= 0 || waitpid(gs->pid, &status, WNOHANG) !=
		    gs->pid)
			continue;
		gs->pid = 0;
		gs->status = status;
		if (WIFSIGNALED(status))
			log_warn("session %s: process killed by signal %d",
			    gs->id, WTERMSIG(status));
		gs_check_done(gs);
	}
}

json_t *
broker_sessions(struct broker *b)
{
	struct gsess	*gs;
	json_t		*list = json_array();
	uint64_t	 now = clock_mono_ms();
	char		 started[32];

	TAILQ_FOREACH(gs, &b->sessions, entry) {
		parse_format_time(gs->started_at, started, sizeof(started));
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, "
		    "s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "id", gs->id,
		    "doing", gs->doing[0] ? gs->doing : "-", "state",
		    gs->awaiting ? "pending" : gs->engineer[0] ? "active" :
		    "login", "engineer", gs->engineer[0] ? gs->engineer : "-",
		    "ticket", gs->ticket[0] ? gs->ticket : "-",
		    "key_id", gs->key_id[0] ? gs->key_id : "-",
		    "from", gs->from, "started", started,
		    "age_s", (json_int_t)((now - gs->started) / 1000),
		    "idle_s", (json_int_t)((now - gs->last_active) / 1000),
		    "bytes_in", (json_int_t)gs->bytes_in,
		    "bytes_out", (json_int_t)gs->bytes_out));
	}
	return list;
}

int
broker_approve(struct broker *b, const char *id, int approve,
    const char *who)
{
	struct gsess *gs;

	TAILQ_FOREACH(gs, &b->sessions, entry) {
		if (strcmp(gs->id, id) != 0)
			continue;
		if (!gs->awaiting)
			return -2;
		gs_approval_answer(gs, approve, who, approve ? "approved" :
		    "denied by the customer");
		return 0;
	}
	return -1;
}

int
broker_kill(struct broker *b, const char *id, const char *who)
{
	struct gsess *gs;

	TAILQ_FOREACH(gs, &b->sessions, entry) {
		if (strcmp(gs->id, id) != 0 || gs->pid <= 0)
			continue;
		(void)broker_audit(b, "session_killed", gs->id, json_pack(
		    "{s:s, s:s}", "engineer", gs->engineer, "by", who));
		log_info("session %s killed by %s", gs->id, who);
		/* The monitor ends its child and diagnostic, then itself. */
		gs_end(gs, SESSION_END_KILLED);
		return 0;
	}
	return -1;
}

/*
 * Once a second: end logged-in sessions that moved no channel data
 * either way for idle_timeout (their monitors report it; keepalives and
 * other transport traffic are not activity), and write the refusal
 * summaries that are due.  The monitor ends its child and diagnostic.
 */
static void
broker_idle_check(evutil_socket_t fd, short what, void *arg)
{
	struct broker	*b = arg;
	struct gsess	*gs;
	uint64_t	 now = clock_mono_ms(), limit;

	(void)fd;
	(void)what;
	TAILQ_FOREACH(gs, &b->sessions, entry) {
		gs_end_overdue(gs, now);
		/* An expires that passed ends what it granted. */
		gs_withdraw(gs, b->pol);
	}
	if (b->audit_failing && !broker_audit_retry(b))
		return;
	burst_tick(b->burst, now, 0);
	limit = b->pol->idle_timeout * 1000;
	if (limit == 0)
		return;
	TAILQ_FOREACH(gs, &b->sessions, entry) {
		if (gs->awaiting || gs->idle_ended || gs->pid <= 0 ||
		    gs->engineer[0] == '\0' || now - gs->last_active < limit)
			continue;
		gs->idle_ended = 1;
		(void)broker_audit(b, "session_ended", gs->id, json_pack(
		    "{s:s, s:s}", "engineer", gs->engineer, "reason",
		    "idle_timeout"));
		log_info("session %s idle for %llus: ending it", gs->id,
		    (unsigned long long)b->pol->idle_timeout);
		gs_end(gs, SESSION_END_IDLE);
	}
}

/* Does pol still grant what session gs relies on?  why says if not. */
static int
gs_still_granted(const struct policy *pol, struct gsess *gs, char *why,
    size_t len)
{
	const char *principals[1], *engineer;

	if (gs->engineer[0] == '\0')
		return 1;	/* still logging in: the new policy decides */
	principals[0] = gs->engineer;
	if (!policy_allow_session(pol, principals, 1, gs->ticket[0] != '\0' ?
	    gs->ticket : NULL, clock_now(), &engineer, why, len))
		return 0;
	if ((gs->uses & GS_USES_COMMANDS) && !pol->commands_enabled) {
		snprintf(why, len, "diagnostics are disabled on this cluster");
		return 0;
	}
	if ((gs->uses & GS_USES_FILES) && !pol->files_enabled) {
		snprintf(why, len, "file access is disabled on this cluster");
		return 0;
	}
	if ((gs->uses & GS_USES_FORWARD) && !pol->forward_enabled) {
		snprintf(why, len, "port forwarding is disabled on this cluster");
		return 0;
	}
	if ((gs->uses & GS_USES_SETTINGS) && !pol->settings_enabled) {
		snprintf(why, len, "settings are disabled on this cluster");
		return 0;
	}
	return 1;
}

void
broker_set_telem(struct broker *b, struct telem *telem)
{
	b->telem = telem;
}

void
broker_set_ca(struct broker *b, const uint8_t ca_key[32])
{
	memcpy(b->ca_key, ca_key, sizeof(b->ca_key));
}

void
broker_set_revoked(struct broker *b, const struct krl *k)
{
	b->krl = k;
}

/*
 * The revocation list's bytes as a sealed in-memory file, for the
 * monitors to parse as the broker did.  -1 if it cannot be made.
 */
static int
broker_krl_copy(const struct krl *k)
{
	const uint8_t	*bytes;
	size_t		 len;
	int		 fd;

	bytes = krl_bytes(k, &len);
	if ((fd = memfd_create("revoked_keys", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1)
		return -1;
	if (fileio_write_all(fd, bytes, len) == -1 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The policy as a sealed in-memory file for the monitors: what
 * policy_write() prints, which policy_load_fd() reads back into the same
 * policy.  -1 if it cannot be made.
 */
static int
broker_policy_copy(const struct policy *pol)
{
	FILE	*fp = NULL;
	int	 fd, wfd = -1;

	if ((fd = memfd_create("porthole.conf", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1)
		return -1;
	if ((wfd = dup(fd)) == -1 || (fp = fdopen(wfd, "w")) == NULL)
		goto fail;
	wfd = -1;
	if (policy_write(pol, fp) == -1 || fclose(fp) == EOF) {
		fp = NULL;
		goto fail;
	}
	fp = NULL;
	/* Nobody may change it once sent. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1)
		goto fail;
	return fd;
fail:
	if (fp != NULL)
		fclose(fp);
	if (wfd != -1)
		close(wfd);
	close(fd);
	return -1;
}

/*
 * Hand a running session's monitor the new policy (and CA key, and the
 * revocation list when there is one), so that everything it decides
 * from now on is decided under it.  A monitor that cannot be given it
 * does not go on under the old one.
 */
static void
gs_send_policy(struct gsess *gs, int copy, int krl_copy)
{
	char	msg[80];
	int	fds[2] = { copy, krl_copy };
	size_t	i;

	if (copy != -1 && (gs->b->krl == NULL || krl_copy != -1)) {
		memcpy(msg, "policy ", 7);
		for (i = 0; i < sizeof(gs->b->ca_key); i++)
			snprintf(msg + 7 + 2 * i, 3, "%02x", gs->b->ca_key[i]);
		if (fdpass_send(gs->pol_fd, msg, 7 + 64, fds,
		    gs->b->krl != NULL ? 2 : 1) == 0)
			return;
	}
	log_error("session %s: cannot hand it the new policy; ending it",
	    gs->id);
	(void)broker_audit(gs->b, "session_ended", gs->id, json_pack(
	    "{s:s, s:s}", "engineer", gs->engineer, "reason",
	    "the new policy could not be applied to it"));
	gs_end(gs, SESSION_END_WITHDRAWN);
}

/* End a session that pol no longer grants (once). */
static void
gs_withdraw(struct gsess *gs, const struct policy *pol)
{
	char why[512];

	if (gs->pid <= 0 || gs->end_asked != 0 ||
	    gs_still_granted(pol, gs, why, sizeof(why)))
		return;
	(void)broker_audit(gs->b, "session_ended", gs->id, json_pack(
	    "{s:s, s:s, s:s}", "engineer", gs->engineer, "reason",
	    "grant withdrawn", "detail", why));
	log_info("session %s: grant withdrawn (%s): ending it", gs->id, why);
	if (gs->awaiting)
		gs_approval_answer(gs, 0, "reload", why);
	gs_end(gs, SESSION_END_WITHDRAWN);
}

void
broker_set_policy(struct broker *b, const struct policy *pol)
{
	struct gsess	*gs;
	int		 copy, krl_copy = -1;

	b->pol = pol;
	copy = TAILQ_EMPTY(&b->sessions) ? -1 : broker_policy_copy(pol);
	if (copy != -1 && b->krl != NULL)
		krl_copy = broker_krl_copy(b->krl);
	TAILQ_FOREACH(gs, &b->sessions, entry) {
		gs_withdraw(gs, pol);
		if (gs->pid > 0 && gs->end_asked == 0)
			gs_send_policy(gs, copy, krl_copy);
	}
	if (copy != -1)
		close(copy);
	if (krl_copy != -1)
		close(krl_copy);
}

struct broker *
broker_new(struct event_base *base, const struct policy *pol,
    struct audit *audit, ssh_key host_key, const uint8_t ca_key[32])
{
	static const struct timeval one_second = { 1, 0 };
	struct broker *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->base = base;
	b->pol = pol;
	b->audit = audit;
	b->host_key = host_key;
	memcpy(b->ca_key, ca_key, sizeof(b->ca_key));
	TAILQ_INIT(&b->sessions);
	TAILQ_INIT(&b->turned);
	if ((b->burst = burst_new(broker_summary, b)) == NULL ||
	    (b->ev_retry = evtimer_new(base, broker_retry, b)) == NULL ||
	    (b->ev_idle = event_new(base, -1, EV_PERSIST, broker_idle_check,
	    b)) == NULL) {
		if (b->ev_retry != NULL)
			event_free(b->ev_retry);
		burst_free(b->burst);
		free(b);
		return NULL;
	}
	evtimer_add(b->ev_idle, &one_second);
	return b;
}

void
broker_free(struct broker *b)
{
	struct gsess *gs;

	if (b == NULL)
		return;
	while ((gs = TAILQ_FIRST(&b->sessions)) != NULL) {
		TAILQ_REMOVE(&b->sessions, gs, entry);
		gs_end(gs, SESSION_END_SHUTDOWN);
		gs_free(gs);
	}
	while (!TAILQ_EMPTY(&b->turned))
		turned_free(TAILQ_FIRST(&b->turned), 0);
	/* The counts of refusals not yet summarised are written now. */
	burst_tick(b->burst, clock_mono_ms(), 1);
	burst_free(b->burst);
	if (b->ev_idle != NULL)
		event_free(b->ev_idle);
	if (b->ev_retry != NULL)
		event_free(b->ev_retry);
	free(b);
}
