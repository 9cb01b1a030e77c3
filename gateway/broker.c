/*
 * broker.c - engineer sessions in the gateway's main process: their
 * registry.
 *
 * Each forwarded-tcpip channel from the relay becomes a session: a
 * SOCK_STREAM socketpair carries its bytes to a forked session process
 * (the monitor, gateway/monitor/, and the sandboxed child it starts),
 * spliced to the channel (broker_splice.c), and a SOCK_SEQPACKET
 * socketpair carries the monitor's messages back (broker_proto.h,
 * broker_msg.c).  This file accepts the channels, starts, lists, ends
 * and reaps the sessions, and applies idle_timeout and reloads to them.
 *
 * A channel is a login in progress until its monitor has accepted a
 * certificate and the key behind it; only then does it take one of
 * max_sessions' slots and go on record as a session.  Logins in progress
 * have their own small bound (BROKER_PREAUTH_MAX) and grace
 * (MONITOR_LOGIN_GRACE), and their refusals are summarised (burst.h), so
 * that whoever can reach the gateway without being listed can neither
 * lock support out nor flood the audit log.
 */
#include "gateway/broker_int.h"

#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>
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

#include "lib/burst.h"
#include "gateway/monitor/monitor.h"
#include "lib/clock.h"
#include "lib/fdpass.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/sshrefuse.h"

/*
 * Logins in progress at once.  A login is one key exchange and one or
 * two signatures through the relay, well under a second, so eight cover
 * more engineers starting at the same moment than a cluster's support
 * team has, while bounding what an unlisted peer can make the gateway
 * fork (two processes each).  Not a porthole.conf key: a customer has no
 * reason to tune it, and max_sessions is the limit that matters to them.
 */
#define BROKER_PREAUTH_MAX	8

static void	gs_withdraw(struct gsess *, const struct policy *);
static uint64_t	gs_idle_since(const struct gsess *);

/*
 * In the forked process: keep the three sockets as fds 3, 4 and 5 and
 * the session host key as 6, serve.
 */
static void
gs_child(struct broker *b, int fd, int afd, int pfd, const char *sid)
{
	sigset_t	set;
	int		s, a, p, k;

	/* The event loop's handlers go first: then what was held arrives. */
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
	    (k = fcntl(b->host_key_fd, F_DUPFD, 10)) == -1 ||
	    dup2(s, 3) == -1 || dup2(a, 4) == -1 || dup2(p, 5) == -1 ||
	    dup2(k, 6) == -1)
		_exit(1);
	closefrom(7);
	monitor_session(3, 4, 5, 6, b->pol, b->ca_key, b->krl, sid);
}

static int
gs_spawn(struct gsess *gs)
{
	struct broker	*b = gs->b;
	sigset_t	 all, mask;
	int		 sv[2] = { -1, -1 }, av[2] = { -1, -1 };
	int		 pv[2] = { -1, -1 };

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, av) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pv) == -1) {
		log_error("session %s: socketpair: %s", gs->id,
		    strerror(errno));
		goto fail;
	}
	/*
	 * Until the child has put back the default signal handlers, a
	 * signal it gets would run the event loop's handler, which writes
	 * to a socket the child shares with this process: the broker's
	 * SIGTERM to a session just started (a login crowded out) would
	 * stop the gateway.  So the child starts with every signal held.
	 */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &mask);
	if ((gs->pid = fork()) == 0)
		gs_child(b, sv[1], av[1], pv[1], gs->id);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	if (gs->pid == -1) {
		log_error("session %s: fork: %s", gs->id, strerror(errno));
		gs->pid = 0;
		goto fail;
	}
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
	    gs_msg_read, gs);
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
	return gs->state == BM_PH_LOGIN && gs->pid > 0 && gs->end_asked == 0;
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
	log_warn("session %s from %s: %d logins in progress; dropping it",
	    victim->id, victim->from, BROKER_PREAUTH_MAX);
	(void)gs_refusal(victim, "session_refused", json_pack("{s:s, s:i}",
	    "reason", "too many logins in progress; the oldest from the "
	    "busiest source was dropped", "logins", BROKER_PREAUTH_MAX));
	gs_end(victim, BM_END_CROWDED);
}

void
broker_channel(ssh_channel ch, const char *orig_host, int orig_port,
    void *arg)
{
	struct broker	*b = arg;
	struct gsess	*gs;
	uint8_t		 rnd[GS_ID_LEN / 2];
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
	gs->started = gs->last_active = gs->moved_ms = clock_mono_ms();
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
		    gs->state == BM_PH_PENDING ? "pending" : gs->engineer[0] ?
		    "active" :
		    "login", "engineer", gs->engineer[0] ? gs->engineer : "-",
		    "ticket", gs->ticket[0] ? gs->ticket : "-",
		    "key_id", gs->key_id[0] ? gs->key_id : "-",
		    "from", gs->from, "started", started,
		    "age_s", (json_int_t)((now - gs->started) / 1000),
		    "idle_s", (json_int_t)((now - gs_idle_since(gs)) / 1000),
		    "bytes_in", (json_int_t)gs->bytes_in,
		    "bytes_out", (json_int_t)gs->bytes_out));
	}
	return list;
}

int
broker_kill(struct broker *b, const char *id, const struct actor *who)
{
	struct gsess	*gs;
	json_t		*ev;

	TAILQ_FOREACH(gs, &b->sessions, entry) {
		if (strcmp(gs->id, id) != 0 || gs->pid <= 0)
			continue;
		if ((ev = actor_fields(who)) != NULL)
			json_object_set_new(ev, "engineer",
			    json_string(gs->engineer));
		(void)broker_audit(b, "session_killed", gs->id, ev);
		log_info("session %s killed by %s", gs->id, who->by);
		/* The monitor ends its child and diagnostic, then itself. */
		gs_end(gs, BM_END_KILLED);
		return 0;
	}
	return -1;
}

/*
 * Since when session gs has been idle.  Its sandboxed child says when
 * channel data moved (through the monitor, BM_ACTIVITY): only it can
 * tell channel data from keepalives and other transport traffic, which
 * are not activity.  But a compromised child could say so forever, so
 * the broker, which splices the engineer's stream, also requires bytes
 * it saw move either way: a session is idle since the earlier of the
 * two.  What a compromised child can still do is make bytes move itself
 * (SSH_MSG_IGNORE to the engineer, a global request the engineer's ssh
 * answers) while the engineer's connection is up, and say it was busy:
 * against that the session ends at max_session, whatever it reports.
 */
static uint64_t
gs_idle_since(const struct gsess *gs)
{
	return gs->last_active < gs->moved_ms ? gs->last_active :
	    gs->moved_ms;
}

/* Note when the broker last saw bytes of session gs move. */
static void
gs_note_moved(struct gsess *gs, uint64_t now)
{
	if (gs->bytes_in + gs->bytes_out != gs->moved) {
		gs->moved = gs->bytes_in + gs->bytes_out;
		gs->moved_ms = now;
	}
}

/*
 * Once a second: end logged-in sessions that were idle for idle_timeout
 * (gs_idle_since), end ticket approvals and waiting actions whose time
 * is up, and write the refusal summaries that are due.  The monitor
 * ends its child and diagnostic.
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
		gs_note_moved(gs, now);
		gs_end_overdue(gs, now);
		/* An expires that passed ends what it granted. */
		gs_withdraw(gs, b->pol);
	}
	if (b->audit_failing && !broker_audit_retry(b))
		return;
	broker_approvals_tick(b);
	broker_actions_tick(b);
	burst_tick(b->burst, now, 0);
	limit = b->pol->idle_timeout * 1000;
	if (limit == 0)
		return;
	TAILQ_FOREACH(gs, &b->sessions, entry) {
		if (gs->state != BM_PH_ACTIVE || gs->end_asked != 0 ||
		    gs->pid <= 0 || now - gs_idle_since(gs) < limit)
			continue;
		(void)broker_audit(b, "session_ended", gs->id, json_pack(
		    "{s:s, s:s}", "engineer", gs->engineer, "reason",
		    "idle_timeout"));
		log_info("session %s idle for %llus: ending it", gs->id,
		    (unsigned long long)b->pol->idle_timeout);
		gs_end(gs, BM_END_IDLE);
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
	if ((gs->uses & 1 << BM_GRANT_COMMANDS) && !pol->commands_enabled) {
		snprintf(why, len, "diagnostics are disabled on this cluster");
		return 0;
	}
	if ((gs->uses & 1 << BM_GRANT_FILES) && !pol->files_enabled) {
		snprintf(why, len, "file access is disabled on this cluster");
		return 0;
	}
	if ((gs->uses & 1 << BM_GRANT_FORWARD) && !pol->forward_enabled) {
		snprintf(why, len, "port forwarding is disabled on this cluster");
		return 0;
	}
	if ((gs->uses & 1 << BM_GRANT_SETTINGS) && !pol->settings_enabled) {
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
broker_set_bundles(struct broker *b, broker_bundle_fn fn, void *arg)
{
	b->bundle = fn;
	b->bundle_arg = arg;
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
	char	hex[65], msg[128];
	int	fds[2] = { copy, krl_copy }, n;
	size_t	i;

	if (copy != -1 && (gs->b->krl == NULL || krl_copy != -1)) {
		for (i = 0; i < sizeof(gs->b->ca_key); i++)
			snprintf(hex + 2 * i, 3, "%02x", gs->b->ca_key[i]);
		n = snprintf(msg, sizeof(msg), "{\"msg\":\"%s\",\"ca\":\"%s\"}",
		    bm_msgs[BM_POLICY].name, hex);
		if (fdpass_send(gs->pol_fd, msg, (size_t)n, fds,
		    gs->b->krl != NULL ? 2 : 1) == 0)
			return;
	}
	log_error("session %s: cannot hand it the new policy; ending it",
	    gs->id);
	(void)broker_audit(gs->b, "session_ended", gs->id, json_pack(
	    "{s:s, s:s}", "engineer", gs->engineer, "reason",
	    "the new policy could not be applied to it"));
	gs_end(gs, BM_END_WITHDRAWN);
}

/* End a session that pol no longer grants (once). */
static void
gs_withdraw(struct gsess *gs, const struct policy *pol)
{
	struct actor	a;
	char		why[512];

	if (gs->pid <= 0 || gs->end_asked != 0 ||
	    gs_still_granted(pol, gs, why, sizeof(why)))
		return;
	(void)broker_audit(gs->b, "session_ended", gs->id, json_pack(
	    "{s:s, s:s, s:s}", "engineer", gs->engineer, "reason",
	    "grant withdrawn", "detail", why));
	log_info("session %s: grant withdrawn (%s): ending it", gs->id, why);
	if (gs->state == BM_PH_PENDING) {
		actor_internal(&a, "reload");
		gs_approval_answer(gs, 0, &a, why, BM_DENIED);
	}
	gs_end(gs, BM_END_WITHDRAWN);
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
    struct audit *audit, int host_key_fd, const uint8_t ca_key[32])
{
	static const struct timeval one_second = { 1, 0 };
	struct broker *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->base = base;
	b->pol = pol;
	b->audit = audit;
	b->host_key_fd = host_key_fd;
	memcpy(b->ca_key, ca_key, sizeof(b->ca_key));
	TAILQ_INIT(&b->sessions);
	TAILQ_INIT(&b->turned);
	TAILQ_INIT(&b->notifying);
	TAILQ_INIT(&b->actions);
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
		gs_end(gs, BM_END_SHUTDOWN);
		gs_free(gs);
	}
	while (!TAILQ_EMPTY(&b->turned))
		turned_free(TAILQ_FIRST(&b->turned), 0);
	broker_notify_free(b);
	broker_actions_free(b);
	/* The counts of refusals not yet summarised are written now. */
	burst_tick(b->burst, clock_mono_ms(), 1);
	burst_free(b->burst);
	if (b->ev_idle != NULL)
		event_free(b->ev_idle);
	if (b->ev_retry != NULL)
		event_free(b->ev_retry);
	free(b);
}
