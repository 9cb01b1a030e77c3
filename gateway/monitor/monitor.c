/*
 * monitor.c - the privileged half of a session: starts the sandboxed
 * child, then serves it until the session ends.  Every request goes
 * through one dispatch table that says in which phase, and from which
 * peer, it is allowed; the answers live in the monitor_*.c beside this
 * file.  Here too: every time limit, and the policies a reload brings.
 */
#include "gateway/monitor/monitor_int.h"

#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/broker_proto.h"
#include "gateway/monitor/forward.h"
#include "gateway/monitor/monitor.h"
#include "gateway/session/session.h"
#include "lib/clock.h"
#include "lib/fdpass.h"
#include "lib/krl.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "sandbox/sandbox.h"

#define MON_ACTIVITY_MS		1000	/* activity reaches the broker this often */
#define MON_WAIT_MAX_MS		(86400 * 1000)	/* a wait for a time limit */

/*
 * Every file and forward the monitor hands over is a descriptor in the
 * child (or the shell): their limit must hold them all, with room for
 * the child's own few and a diagnostic's pipes.
 */
_Static_assert(SBX_MAX_FDS >= MON_MAX_FILES + MON_MAX_FWDS + 16,
    "SBX_MAX_FDS is below what the monitor may hand over");

/* The time limits mon_timeout() watches and mon_time_up() enforces. */
enum mon_limit {
	MON_LIMIT_NONE,		/* none due (or a far one, looked at again) */
	MON_LIMIT_LOGIN,	/* MONITOR_LOGIN_GRACE without a login */
	MON_LIMIT_SESSION,	/* max_session */
	MON_LIMIT_CERT,		/* the certificate's end (end_at_cert_expiry) */
	MON_LIMIT_DIAG,		/* [commands] timeout of the diagnostic */
	MON_NLIMIT
};

/* Each limit's reason on record, and what the engineer is told. */
static const struct {
	const char	*reason;
	const char	*notice;	/* NULL: nothing, or said elsewhere */
} mon_limits[MON_NLIMIT] = {
	[MON_LIMIT_LOGIN] =	{ "login grace time exceeded", NULL },
	[MON_LIMIT_SESSION] =	{ "max_session reached",
				  "session ended: it reached max_session" },
	[MON_LIMIT_CERT] =	{ "certificate expired",
				  "session ended: the certificate expired" },
	[MON_LIMIT_DIAG] =	{ "diagnostic timeout", NULL },
};

typedef int (*mon_answer_fn)(struct mon *, json_t *);

static int	mm_answer_event(struct mon *, json_t *);
static int	mm_answer_activity(struct mon *, json_t *);

/*
 * The answer to each request of monitor_proto.h's table, which says in
 * which phase and from whom each is allowed.
 */
static const mon_answer_fn mon_answers[MM_NREQ] = {
	[MM_AUTH] =		mm_answer_auth,
	[MM_APPROVAL_WAIT] =	mm_answer_approval_wait,
	[MM_EVENT] =		mm_answer_event,
	[MM_ACTIVITY] =		mm_answer_activity,
	[MM_EXEC] =		mm_answer_exec,
	[MM_EXEC_REFUSED] =	mm_answer_exec_refused,
	[MM_EXEC_WAIT] =	mm_answer_exec_wait,
	[MM_EXEC_CANCEL] =	mm_answer_exec_cancel,
	[MM_FILE_OPEN] =	mm_answer_file_open,
	[MM_FILE_CLOSE] =	mm_answer_file_close,
	[MM_FILE_MORE] =	mm_answer_file_more,
	[MM_FILE_STAT] =	mm_answer_file_stat,
	[MM_DIR_LIST] =		mm_answer_dir_list,
	[MM_REFUSED] =		mm_answer_refused,
	[MM_SETTING_GET] =	mm_answer_setting_get,
	[MM_SETTING_SET] =	mm_answer_setting_set,
	[MM_FORWARD_OPEN] =	mm_answer_forward_open,
	[MM_FORWARD_CLOSE] =	mm_answer_forward_close,
	[MM_SHELL_OPEN] =	mm_answer_shell_open,
	[MM_WINDOW_CHANGE] =	mm_answer_window_change,
};

/*
 * The child saw channel data move.  The broker ends sessions idle for
 * idle_timeout; it is told at most once a second whatever the child
 * sends.  A child that lies keeps its session until max_session.
 */
static int
mm_answer_activity(struct mon *m, json_t *req)
{
	uint64_t now = clock_mono_ms();

	(void)req;
	if (now - m->activity_ms >= MON_ACTIVITY_MS) {
		m->activity_ms = now;
		if (mon_broker_send(m, BM_ACTIVITY, json_object()) == -1)
			mon_end(m, 1);
	}
	return mon_answer(m, json_pack("{s:b}", "ok", 1), NULL, 0);
}

static int
mm_answer_event(struct mon *m, json_t *req)
{
	static const char *allowed[] = { "request_refused", "channel_refused",
	    NULL };
	const char	*type = mm_field_str(req, "type", 32);
	json_t		*fields = json_object_get(req, "fields");
	size_t		 i;

	for (i = 0; type != NULL && allowed[i] != NULL; i++)
		if (strcmp(type, allowed[i]) == 0)
			break;
	if (type == NULL || allowed[i] == NULL || !json_is_object(fields) ||
	    json_object_get(fields, "type") != NULL ||
	    json_object_get(fields, "session") != NULL ||
	    json_object_get(fields, "engineer") != NULL)
		mon_violation(m, "malformed event request", "event");
	json_incref(fields);
	mon_audit(m, type, fields);
	return mon_answer(m, json_pack("{s:b}", "ok", 1), NULL, 0);
}

/*
 * When the login certificate expires, on the monotonic clock: computed
 * afresh from the wall clock at each wait, so that a clock set while the
 * session runs moves it.  0: never (or end_at_cert_expiry = no).
 */
static uint64_t
mon_cert_deadline(const struct mon *m, uint64_t now)
{
	uint64_t wall = (uint64_t)clock_now();

	if (!m->pol->end_at_cert_expiry || m->cert_valid_before == UINT64_MAX)
		return 0;
	if (wall >= m->cert_valid_before)
		return now;
	/* A certificate valid for centuries needs no timer. */
	if (m->cert_valid_before - wall > 100ULL * 365 * 86400)
		return 0;
	return now + (m->cert_valid_before - wall) * 1000;
}

/* How long to wait for the child's next request, in ms (-1: forever). */
static int
mon_timeout(struct mon *m, enum mon_limit *what)
{
	uint64_t	now = clock_mono_ms(), until = 0, cert;

	*what = MON_LIMIT_NONE;
	if (m->phase != MM_AUTHED) {
		/* Not logged in (or refused, or left pending): no lingering. */
		until = m->login_deadline;
		*what = MON_LIMIT_LOGIN;
	}
	if (m->session_deadline != 0) {
		until = m->session_deadline;
		*what = MON_LIMIT_SESSION;
	}
	if (m->phase == MM_AUTHED && (cert = mon_cert_deadline(m, now)) != 0 &&
	    (until == 0 || cert < until)) {
		until = cert;
		*what = MON_LIMIT_CERT;
	}
	if (m->diag > 0 && !m->diag_timed_out &&
	    (until == 0 || m->diag_deadline < until)) {
		until = m->diag_deadline;
		*what = MON_LIMIT_DIAG;
	}
	/* An action's output is read from a file as it grows. */
	if (mon_action_tailing(m) && (until == 0 || until > now +
	    MON_ACTION_TAIL_MS)) {
		until = now + MON_ACTION_TAIL_MS;
		*what = MON_LIMIT_NONE;
	}
	if (until == 0)
		return -1;
	if (until <= now)
		return 0;
	/* poll takes an int of ms: a far deadline is looked at again. */
	if (until - now > MON_WAIT_MAX_MS) {
		*what = MON_LIMIT_NONE;
		return MON_WAIT_MAX_MS;
	}
	return (int)(until - now);
}

/* One request from a peer (the child or the shell), answered. */
static void
mon_request(struct mon *m, int fd, int peer, char *buf)
{
	ssize_t		 n;
	int		 fds[FDPASS_MAX_FDS], nfds;

	n = fdpass_recv(fd, buf, MONITOR_MSG_MAX, fds, 0, &nfds);
	if (n == -1 && errno == EINTR)
		return;
	if (peer == MM_FROM_SHELL && (n == 0 || n == -1)) {
		/* The shell ended; its terminal tells the rest. */
		close(m->sh.rpc);
		m->sh.rpc = -1;
		return;
	}
	if (n == 0 || (n == -1 && errno != EMSGSIZE))
		mon_child_gone(m);
	mon_dispatch(m, fd, peer, buf, n);
}

void
mon_dispatch(struct mon *m, int fd, int peer, const char *buf, ssize_t n)
{
	const char	*name;
	json_t		*req;
	int		 kind;

	req = n > 0 ? json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES,
	    NULL) : NULL;
	name = req == NULL ? NULL : mm_field_str(req, "req",
	    MONITOR_REQ_NAME_MAX);
	if (name == NULL)
		mon_violation(m, "malformed request", NULL);
	if ((kind = mm_req_lookup(name, strlen(name))) == -1)
		mon_violation(m, "unknown request", name);
	if (!(mm_reqs[kind].phases & m->phase) ||
	    !(mm_reqs[kind].peers & peer))
		mon_violation(m, "request not permitted now", name);
	m->peer_fd = fd;
	m->peer = peer;
	if (mon_answers[kind](m, req) == -1) {
		if (peer == MM_FROM_CHILD)
			mon_child_gone(m);
		close(m->sh.rpc);
		m->sh.rpc = -1;
	}
	json_decref(req);
}

/* A reload withdrew something this session holds open: it ends. */
static void
mon_withdrawn(struct mon *m, const char *why)
{
	log_info("monitor: grant withdrawn (%s); ending the session", why);
	mon_audit(m, "session_ended", json_pack("{s:s, s:s}", "reason",
	    "grant withdrawn", "detail", why));
	mon_end_with(m, BM_END_WITHDRAWN);
}

/*
 * Does the new policy still grant what the session holds open now: the
 * running diagnostic, the open files, the open forwards?  The broker
 * has already ended sessions whose engineer or whose capability was
 * withdrawn; this catches the narrower edits (a command, a path, a deny
 * glob, a target removed).
 */
static void
mon_recheck(struct mon *m, const struct policy *np)
{
	char	 why[512], **argv = NULL;
	size_t	 i;

	if (m->diag > 0) {
		if (!policy_allow_command(np, m->diag_cmd, &argv, why,
		    sizeof(why)))
			mon_withdrawn(m, why);
		policy_argv_free(argv);
	}
	for (i = 0; i < MON_MAX_FILES; i++) {
		if (m->files[i].id != 0 &&
		    !policy_allow_file(np, m->files[i].path, why, sizeof(why)))
			mon_withdrawn(m, why);
		/* Bytes already handed over cannot be redacted again. */
		if (m->files[i].id != 0 &&
		    !mon_file_redaction_kept(m, i, np)) {
			snprintf(why, sizeof(why), "%s is redacted by other "
			    "[redact] patterns now", m->files[i].path);
			mon_withdrawn(m, why);
		}
	}
	for (i = 0; i < MON_MAX_FWDS; i++)
		if (m->fwds[i].id != 0 &&
		    !forward_addr_listed(np, m->fwds[i].addr)) {
			snprintf(why, sizeof(why), "%s is no longer a "
			    "forwarding target", m->fwds[i].target);
			mon_withdrawn(m, why);
		}
}

/*
 * A BM_POLICY message: {"msg": "policy", "ca": the CA key in hex}.
 * 0 with the key in ca, or -1.
 */
static int
mon_policy_msg(const char *buf, size_t n, uint8_t ca[32])
{
	json_t		*msg;
	const char	*name, *hex;
	unsigned int	 byte;
	size_t		 i;
	int		 rc = -1;

	if ((msg = json_loadb(buf, n, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return -1;
	name = json_string_value(json_object_get(msg, "msg"));
	hex = json_string_value(json_object_get(msg, "ca"));
	if (name == NULL || bm_msg_lookup(name, BM_FROM_BROKER) !=
	    BM_POLICY || hex == NULL || strlen(hex) != 64)
		goto out;
	for (i = 0; i < 32; i++) {
		if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
			goto out;
		ca[i] = (uint8_t)byte;
	}
	rc = 0;
out:
	json_decref(msg);
	return rc;
}

/*
 * The broker reloaded the policy: from now on this session is decided
 * under the new one.  The old one is not freed: answers already given
 * may still point into it, and a session sees few reloads.  A policy
 * that cannot be read ends the session; it never goes on under the old.
 */
static void
mon_policy_update(struct mon *m, const char *buf, ssize_t n, int fds[2],
    int nfds)
{
	struct policy	*np = NULL;
	struct krl	*nk = NULL;
	uint64_t	 deadline;
	char		 err[1024];
	size_t		 i;

	if (n <= 0 || nfds < 1 || mon_policy_msg(buf, (size_t)n,
	    m->ca_buf) == -1)
		goto bad;
	if (policy_load_fd(fds[0], m->pol->path, &np, err, sizeof(err)) == -1) {
		log_error("monitor: the reloaded policy: %s", err);
		goto bad;
	}
	/* The revocation list comes with the policy that names it. */
	if ((np->revoked_keys != NULL) != (nfds == 2) || (nfds == 2 &&
	    krl_load_fd(fds[1], np->revoked_keys, &nk, err,
	    sizeof(err)) == -1)) {
		log_error("monitor: the reloaded revocation list: %s",
		    nfds == 2 ? err : "missing or unexpected");
		goto bad;
	}
	for (i = 0; i < 2; i++)
		if (fds[i] != -1)
			close(fds[i]);
	m->ca_key = m->ca_buf;
	krl_free(m->krl_buf);
	m->krl = m->krl_buf = nk;
	if ((m->phase == MM_AUTHED || m->phase == MM_PENDING) &&
	    m->krl != NULL && m->cert != NULL &&
	    krl_check_cert(m->krl, m->cert, err, sizeof(err)) != 0)
		mon_withdrawn(m, err);
	if (m->phase == MM_AUTHED) {
		mon_recheck(m, np);
		/* A shorter max_session counts from the login. */
		deadline = m->login_ms + np->max_session * 1000;
		if (np->max_session > 0 && (m->session_deadline == 0 ||
		    deadline < m->session_deadline))
			m->session_deadline = deadline;
	}
	m->pol = np;
	return;
bad:
	for (i = 0; i < 2; i++)
		if (fds[i] != -1)
			close(fds[i]);
	mon_audit(m, "session_ended", json_pack("{s:s}", "reason",
	    "the reloaded policy could not be applied"));
	mon_end_with(m, BM_END_WITHDRAWN);
}

/*
 * A message from the broker on the policy socket: a reloaded policy
 * (BM_POLICY), or how an action goes (BM_ACTION_STATE).
 */
static void
mon_broker_msg(struct mon *m, char *buf)
{
	json_t		*msg;
	const char	*name;
	int		 fds[2] = { -1, -1 }, nfds = 0, kind = -1;
	ssize_t		 n;

	n = fdpass_recv(m->pol_fd, buf, MONITOR_MSG_MAX, fds, 2, &nfds);
	if (n == -1 && errno == EINTR)
		return;
	if (n == 0 || (n == -1 && errno != EMSGSIZE)) {
		/* The broker is gone: so is everything this session needs. */
		log_error("monitor: the broker is gone; ending the session");
		mon_end(m, 1);
	}
	if (n > 0 && (msg = json_loadb(buf, (size_t)n,
	    JSON_REJECT_DUPLICATES, NULL)) != NULL) {
		if ((name = json_string_value(json_object_get(msg, "msg"))) !=
		    NULL)
			kind = bm_msg_lookup(name, BM_FROM_BROKER);
		if (kind == BM_ACTION_STATE) {
			mon_action_state(m, msg, nfds == 1 ? fds[0] : -1);
			json_decref(msg);
			return;
		}
		if (kind == BM_WATCH) {
			mon_shell_watch(m, msg);
			json_decref(msg);
			return;
		}
		json_decref(msg);
	}
	mon_policy_update(m, buf, n, fds, nfds);
}

/*
 * A time limit passed (what, or none when a wait for a far one was cut
 * short): the diagnostic's is enforced, the others end it all.
 */
static void
mon_time_up(struct mon *m, enum mon_limit what)
{
	const char	*reason;
	char		 when[32];

	switch (what) {
	case MON_LIMIT_NONE:
	case MON_NLIMIT:
		return;
	case MON_LIMIT_DIAG:
		mon_kill_diag(m);
		m->diag_timed_out = 1;
		return;
	case MON_LIMIT_CERT:
		if ((uint64_t)clock_now() < m->cert_valid_before)
			return;	/* the wall clock was set back: not yet */
		break;
	case MON_LIMIT_LOGIN:
	case MON_LIMIT_SESSION:
		break;
	}
	reason = mon_limits[what].reason;
	log_info("monitor: %s; ending the session", reason);
	switch (what) {
	case MON_LIMIT_LOGIN:
		/* A refused or undecided login was recorded as such already. */
		if (m->phase == MM_PREAUTH)
			mon_audit(m, "session_refused", json_pack("{s:s, s:I}",
			    "reason", reason, "grace_s",
			    (json_int_t)MONITOR_LOGIN_GRACE));
		break;
	case MON_LIMIT_CERT:
		parse_format_time((time_t)m->cert_valid_before, when,
		    sizeof(when));
		mon_audit(m, "session_ended", json_pack("{s:s, s:s}", "reason",
		    reason, "valid_before", when));
		break;
	default:
		mon_audit(m, "session_ended", json_pack("{s:s}", "reason",
		    reason));
		break;
	}
	if (mon_limits[what].notice != NULL)
		mon_notify(m, mon_limits[what].notice);
	mon_end(m, 1);
}

static void
mon_loop(struct mon *m)
{
	struct pollfd	 pfd[12];
	char		*buf;
	enum mon_limit	 what;
	int		 n, nfds, rpc, nsh, npump;

	if ((buf = malloc(MONITOR_MSG_MAX)) == NULL)
		mon_end(m, 1);
	for (;;) {
		pfd[0].fd = m->child_fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = m->pol_fd;
		pfd[1].events = POLLIN;
		nfds = 2;
		rpc = m->sh.rpc;
		if (rpc >= 0) {
			pfd[2].fd = rpc;
			pfd[2].events = POLLIN;
			nfds = 3;
		}
		nfds += (nsh = mon_shell_pollfds(m, pfd + nfds));
		nfds += mon_action_pollfds(m, pfd + nfds);
		nfds += (npump = mon_pump_pollfds(m, pfd + nfds));
		if ((n = mon_wait(m, pfd, (nfds_t)nfds, mon_timeout(m,
		    &what))) == -1)
			continue;
		if (n == 0) {
			mon_time_up(m, what);
			continue;
		}
		/* A new policy first: the requests after it are decided under it. */
		if (pfd[1].revents != 0)
			mon_broker_msg(m, buf);
		if (pfd[0].revents != 0)
			mon_request(m, m->child_fd, MM_FROM_CHILD, buf);
		if (rpc >= 0 && pfd[2].revents != 0)
			mon_request(m, rpc, MM_FROM_SHELL, buf);
		mon_shell_service(m, pfd + (rpc >= 0 ? 3 : 2), nsh);
		mon_action_service(m);
		mon_pump_service(m, pfd + nfds - npump, npump);
	}
}

/* A session before its login: every time limit starts now. */
static void
mon_init(struct mon *m, int audit_fd, int policy_fd, const struct policy *pol,
    const uint8_t ca_key[32], const struct krl *krl, const char *sid)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	m->audit_fd = audit_fd;
	m->pol_fd = policy_fd;
	m->pol = pol;
	m->ca_key = ca_key;
	m->krl = krl;
	m->sid = sid;
	m->sh.rpc = m->sh.master = m->sh.term = m->sh.rec = -1;
	m->act.out = m->act.err = m->act.log = -1;
	m->pump[0].in = m->pump[0].out = m->pump[1].in = m->pump[1].out = -1;
	for (i = 0; i < MON_MAX_FILES; i++)
		m->files[i].orig = -1;
	m->phase = MM_PREAUTH;
	m->login_deadline = clock_mono_ms() + MONITOR_LOGIN_GRACE * 1000;
}

/* Serve the child on child_fd until the session ends. */
static void __attribute__((noreturn))
mon_serve(struct mon *m, int child_fd)
{
	m->child_fd = m->peer_fd = child_fd;
	m->peer = MM_FROM_CHILD;
	mon_loop(m);
	_exit(1);
}

void
monitor_session(int stream_fd, int audit_fd, int policy_fd, int host_key_fd,
    const struct policy *pol, const uint8_t ca_key[32],
    const struct krl *krl, const char *sid)
{
	struct mon	m;
	sigset_t	term;
	int		sv[2];

	mon_init(&m, audit_fd, policy_fd, pol, ca_key, krl, sid);
	mon_signals();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_error("monitor: socketpair: %s", strerror(errno));
		_exit(1);
	}
	if ((m.child = fork()) == -1) {
		log_error("monitor: fork: %s", strerror(errno));
		_exit(1);
	}
	if (m.child == 0) {
		signal(SIGTERM, SIG_DFL);
		sigemptyset(&term);
		sigaddset(&term, SIGTERM);
		sigprocmask(SIG_UNBLOCK, &term, NULL);
		close(sv[0]);
		close(audit_fd);
		close(policy_fd);
		session_child(stream_fd, sv[1], pol, host_key_fd);
	}
	/*
	 * The child reads the host key, which it needs for every key
	 * re-exchange; this process never does, and the support shell it
	 * forks must not be able to.
	 */
	close(host_key_fd);
	close(sv[1]);
	close(stream_fd);
	mon_serve(&m, sv[0]);
}

void
monitor_serve(int child_fd, pid_t child, int audit_fd, int policy_fd,
    const struct policy *pol, const uint8_t ca_key[32],
    const struct krl *krl, const char *sid)
{
	struct mon m;

	mon_init(&m, audit_fd, policy_fd, pol, ca_key, krl, sid);
	mon_signals();
	m.child = child;
	mon_serve(&m, child_fd);
}
