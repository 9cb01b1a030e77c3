/*
 * monitor.c - the privileged half of a session: answers the sandboxed
 * child's requests after checking them against the policy, writes the
 * audit events, runs diagnostics and enforces every time limit.
 */
#include "gateway/monitor_int.h"

#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/diag.h"
#include "gateway/forward.h"
#include "gateway/session.h"
#include "lib/clock.h"
#include "lib/fdpass.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/sshcert.h"
#include "sandbox/sandbox.h"

#define MON_MAX_AUTH_REQUESTS	20
#define MON_CERT_MAX		12000	/* base64 of SSHCERT_MAX_BLOB */
#define MON_CHILD_EXIT_MS	1000	/* a closing child's time to exit */
#define MON_ACTIVITY_MS		1000	/* activity reaches the broker this often */
#define MON_WAIT_MAX_MS		(86400 * 1000)	/* a wait for a time limit */
#define MON_LEGACY_SCP		"the legacy scp protocol is not supported: " \
				"use scp without -O (SFTP)"

/*
 * Every file and forward the monitor hands over is a descriptor in the
 * child (or the shell): their limit must hold them all, with room for
 * the child's own few and a diagnostic's pipes.
 */
_Static_assert(SBX_MAX_FDS >= MON_MAX_FILES + MON_MAX_FWDS + 16,
    "SBX_MAX_FDS is below what the monitor may hand over");

/* The time limits mon_timeout() watches, as mon_time_up() names them. */
#define LIMIT_LOGIN	"login grace time exceeded"
#define LIMIT_SESSION	"max_session reached"
#define LIMIT_CERT	"certificate expired"
#define LIMIT_DIAG	"diagnostic timeout"

struct mon_dispatch {
	const char	*req;
	int		 phases;
	int		 peers;		/* MON_FROM_* allowed to ask */
	int		(*answer)(struct mon *, json_t *);
};

static int	mm_answer_auth(struct mon *, json_t *);
static int	mm_answer_exec(struct mon *, json_t *);
static int	mm_answer_exec_wait(struct mon *, json_t *);
static int	mm_answer_exec_cancel(struct mon *, json_t *);
static int	mm_answer_event(struct mon *, json_t *);
static int	mm_answer_approval_wait(struct mon *, json_t *);
static int	mm_answer_exec_refused(struct mon *, json_t *);
static int	mm_answer_activity(struct mon *, json_t *);

#define CHILD	MON_FROM_CHILD
#define BOTH	(MON_FROM_CHILD | MON_FROM_SHELL)

/* Every request the child (and the shell) may make, and when. */
static const struct mon_dispatch mon_table[] = {
	{ "auth",	  MON_PREAUTH, CHILD,	mm_answer_auth },
	{ "approval_wait", MON_PENDING, CHILD,	mm_answer_approval_wait },
	{ "event",	  MON_PREAUTH | MON_AUTHED, CHILD, mm_answer_event },
	{ "exec",	  MON_AUTHED, BOTH,	mm_answer_exec },
	{ "exec_refused", MON_AUTHED, CHILD,	mm_answer_exec_refused },
	{ "activity",	  MON_AUTHED, CHILD,	mm_answer_activity },
	{ "exec_wait",	  MON_AUTHED, BOTH,	mm_answer_exec_wait },
	{ "exec_cancel",  MON_AUTHED, BOTH,	mm_answer_exec_cancel },
	{ "file_open",	  MON_AUTHED, BOTH,	mm_answer_file_open },
	{ "file_close",	  MON_AUTHED, BOTH,	mm_answer_file_close },
	{ "file_stat",	  MON_AUTHED, BOTH,	mm_answer_file_stat },
	{ "dir_list",	  MON_AUTHED, BOTH,	mm_answer_dir_list },
	{ "refused",	  MON_AUTHED, BOTH,	mm_answer_refused },
	{ "setting_get",  MON_AUTHED, BOTH,	mm_answer_setting_get },
	{ "setting_set",  MON_AUTHED, BOTH,	mm_answer_setting_set },
	{ "forward_open", MON_AUTHED, CHILD,	mm_answer_forward_open },
	{ "forward_close", MON_AUTHED, CHILD,	mm_answer_forward_close },
	{ "shell_open",	  MON_AUTHED, CHILD,	mm_answer_shell_open },
	{ "window_change", MON_AUTHED, CHILD,	mm_answer_window_change },
	{ NULL,		  0, 0,			NULL }
};

static void	mon_child_gone(struct mon *) __attribute__((noreturn));
static int	mon_logged_in(struct mon *);

/*
 * Set by SIGTERM: the broker ends this session on the customer's order.
 * SIGTERM stays blocked except inside mon_wait(), so it is never lost
 * between a check of the flag and a wait.
 */
static volatile sig_atomic_t mon_terminate;	/* SESSION_END_*, or -1 */
static sigset_t		     mon_waitmask;	/* SIGTERM unblocked */

static void
mon_on_term(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	mon_terminate = si->si_code == SI_QUEUE ? si->si_value.sival_int : -1;
}

/*
 * Tell the engineer why the session ends (the child shows it on every
 * open channel) and give the child a moment to say it and leave.
 */
static void
mon_notify(struct mon *m, const char *why)
{
	struct pollfd	 pfd;
	char		*text, buf[64];
	json_t		*j;
	uint64_t	 until = clock_mono_ms() + 2000, now;

	if (m->phase != MON_AUTHED || m->child <= 0)
		return;
	j = json_pack("{s:s}", "notice", why);
	text = j == NULL ? NULL : json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL || fdpass_send(m->child_fd, text, strlen(text),
	    NULL, 0) == -1) {
		free(text);
		return;
	}
	free(text);
	pfd.fd = m->child_fd;
	pfd.events = POLLIN;
	/* Whatever the child still asks is not answered: wait for EOF. */
	while ((now = clock_mono_ms()) < until &&
	    poll(&pfd, 1, (int)(until - now)) > 0)
		if (recv(m->child_fd, buf, sizeof(buf), 0) <= 0)
			break;
}

static const char *
mon_end_reason(int why)
{
	switch (why) {
	case SESSION_END_KILLED:
		return "session ended by the customer";
	case SESSION_END_IDLE:
		return "session ended: idle for longer than idle_timeout";
	case SESSION_END_WITHDRAWN:
		return "session ended: the customer withdrew a grant it relied on";
	case SESSION_END_AUDIT:
		return "session ended: the audit log cannot be written";
	case SESSION_END_SHUTDOWN:
		return "session ended: the gateway is shutting down";
	case SESSION_END_CROWDED:
		return "login dropped: too many logins in progress";
	default:
		return "session ended by the gateway";
	}
}

/*
 * A message to the broker that is not an audit event and gets no 'y'
 * (approval_request, slot_request, activity).  0, or -1.
 */
static int
mon_broker_send(struct mon *m, json_t *msg)
{
	char	*text;
	ssize_t	 n = -1;

	text = msg == NULL ? NULL : json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (text != NULL)
		n = send(m->audit_fd, text, strlen(text), MSG_NOSIGNAL);
	free(text);
	return n > 0 ? 0 : -1;
}

/*
 * Send an event to the broker's audit writer and wait until it is
 * durable.  If it cannot be written, the session ends: nothing happens
 * that is not on record.
 */
void
mon_audit(struct mon *m, const char *type, json_t *fields)
{
	char	*text;
	char	 ack = 'n';
	ssize_t	 n = -1;

	if (fields == NULL)
		fields = json_object();
	json_object_set_new(fields, "type", json_string(type));
	if (m->id.engineer[0] != '\0' &&
	    json_object_get(fields, "engineer") == NULL)
		json_object_set_new(fields, "engineer",
		    json_string(m->id.engineer));
	text = json_dumps(fields, JSON_COMPACT);
	json_decref(fields);
	if (text != NULL && strlen(text) < SESSION_AUDIT_MAX)
		n = send(m->audit_fd, text, strlen(text), MSG_NOSIGNAL);
	free(text);
	if (n > 0)
		while ((n = recv(m->audit_fd, &ack, 1, 0)) == -1 &&
		    errno == EINTR)
			;
	if (n != 1 || ack != 'y') {
		log_error("monitor: audit log unavailable; ending the session");
		mon_end(m, 1);
	}
}

/*
 * The diagnostic's reaper is PID 1 of its namespace: killing it kills
 * everything the diagnostic started, wherever in the namespace.
 */
static void
mon_kill_diag(struct mon *m)
{
	if (m->diag > 0)
		kill(m->diag, SIGKILL);
}

/* poll() that a SIGTERM interrupts; the session ends then. */
static int
mon_wait(struct mon *m, struct pollfd *pfd, nfds_t n, int timeout_ms)
{
	struct timespec	ts, *tsp = NULL;
	int		rc;

	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000;
		tsp = &ts;
	}
	rc = ppoll(pfd, n, tsp, &mon_waitmask);
	if (mon_terminate) {
		log_info("monitor: %s", mon_end_reason(mon_terminate));
		mon_kill_diag(m);	/* now, not after the goodbye */
		mon_notify(m, mon_end_reason(mon_terminate));
		mon_end(m, 1);
	}
	return rc;
}

/* End the session: the child, the shell and any diagnostic go with it. */
void
mon_end(struct mon *m, int code)
{
	static int ending;

	/* Once its reaper is reaped, nothing of the diagnostic is left. */
	if (m->diag > 0) {
		mon_kill_diag(m);
		while (waitpid(m->diag, NULL, 0) == -1 && errno == EINTR)
			;
		m->diag = 0;
	}
	if (!ending++ && m->sh.pid > 0)
		mon_shell_close(m, "the session ended");
	if (m->child > 0) {
		kill(m->child, SIGKILL);
		while (waitpid(m->child, NULL, 0) == -1 && errno == EINTR)
			;
	}
	if (ending == 1)
		mon_access_abandon(m, MON_FROM_CHILD | MON_FROM_SHELL,
		    "the session ended");
	_exit(code);
}

/* The child broke the protocol: record it and end the session. */
void
mon_violation(struct mon *m, const char *why, const char *req)
{
	log_warn("monitor: %s; ending the session", why);
	mon_audit(m, "session_violation", json_pack("{s:s, s:s}", "reason",
	    why, "request", req == NULL ? "" : req));
	mon_end(m, 1);
}

int
mon_answer(struct mon *m, json_t *ans, const int *fds, int nfds)
{
	char	*text = json_dumps(ans, JSON_COMPACT);
	int	 rc;

	json_decref(ans);
	if (text == NULL)
		return -1;
	rc = fdpass_send(m->peer_fd, text, strlen(text), fds, nfds);
	free(text);
	return rc;
}

/* No, and why (one line for the engineer). */
int
mon_refuse(struct mon *m, const char *why)
{
	return mon_answer(m, json_pack("{s:b, s:s}", "ok", 0, "reason", why),
	    NULL, 0);
}

/* An unsigned 32-bit integer field, or -1. */
int
req_u32(json_t *req, const char *key, uint32_t *out)
{
	json_t *j = json_object_get(req, key);

	if (!json_is_integer(j) || json_integer_value(j) < 0 ||
	    json_integer_value(j) > (json_int_t)UINT32_MAX)
		return -1;
	*out = (uint32_t)json_integer_value(j);
	return 0;
}

/* A string field of at most max bytes, or NULL. */
const char *
req_str(json_t *req, const char *key, size_t max)
{
	const char *s = json_string_value(json_object_get(req, key));

	return s != NULL && strlen(s) <= max ? s : NULL;
}

/*
 * Would this certificate, for this user, be let in now?  *parsed says
 * whether cert holds a parsed certificate (for the record of a refusal).
 */
static int
mon_check_login(struct mon *m, const char *user, const char *key_type,
    const char *b64, struct sshcert *cert, int *parsed, char *why,
    size_t len)
{
	const char	*principals[SSHCERT_MAX_PRINCIPALS], *engineer = NULL;
	char		 err[256];
	size_t		 i;

	*parsed = 0;
	if (!sshcert_is_cert_type(key_type)) {
		snprintf(why, len, "plain keys are not accepted; log in with "
		    "a certificate from the vendor CA");
		return 0;
	}
	if (sshcert_parse_base64(b64, cert, err, sizeof(err)) == -1) {
		snprintf(why, len, "%s", err);
		return 0;
	}
	*parsed = 1;
	if (sshcert_validate(cert, m->ca_key, clock_now(), NULL, err,
	    sizeof(err)) == -1) {
		snprintf(why, len, "%s", err);
		return 0;
	}
	if (m->krl != NULL && krl_check_cert(m->krl, cert, why, len) != 0)
		return 0;
	if (strcmp(user, SESSION_USER) != 0) {
		snprintf(why, len, "log in as '%s'; the certificate's "
		    "principal identifies you", SESSION_USER);
		return 0;
	}
	for (i = 0; i < cert->nprincipals; i++)
		principals[i] = cert->principals[i];
	if (!policy_allow_session(m->pol, principals, cert->nprincipals,
	    cert->has_ticket ? cert->ticket : NULL, clock_now(), &engineer,
	    why, len))
		return 0;
	snprintf(m->id.engineer, sizeof(m->id.engineer), "%s", engineer);
	snprintf(m->id.key_id, sizeof(m->id.key_id), "%s", cert->key_id);
	snprintf(m->id.ticket, sizeof(m->id.ticket), "%s",
	    cert->has_ticket ? cert->ticket : "");
	m->id.serial = cert->serial;
	m->id.permits = cert->permits;
	m->cert_valid_before = cert->valid_before;
	return 1;
}

/*
 * The record of a refused login: what the certificate says about itself
 * when it could be parsed, so that the refusal names whom it refused.
 */
static json_t *
mon_refusal_record(const char *user, const struct sshcert *cert,
    int parsed, const char *why)
{
	json_t	*ev, *names;
	size_t	 i;

	ev = json_pack("{s:s, s:s, s:s}", "user", user, "key_id",
	    cert->key_id, "reason", why);
	if (ev == NULL || !parsed)
		return ev;
	json_object_set_new(ev, "serial", json_integer((json_int_t)
	    cert->serial));
	names = json_array();
	for (i = 0; i < cert->nprincipals; i++)
		json_array_append_new(names, json_string(cert->principals[i]));
	json_object_set_new(ev, "principals", names);
	return ev;
}

/*
 * Ask the broker for one of max_sessions' slots, now that the certificate
 * is accepted and its key proven: a login in progress holds none, so
 * nobody can fill them without logging in.  1: taken, 0: refused with
 * why (all in use, audited; or the audit log cannot be written).
 */
static int
mon_take_slot(struct mon *m, char *why, size_t len)
{
	char	ans = 0;
	ssize_t	n;

	if (mon_broker_send(m, json_pack("{s:s, s:s}", "type",
	    "slot_request", "engineer", m->id.engineer)) == -1)
		mon_end(m, 1);
	while ((n = recv(m->audit_fd, &ans, 1, 0)) == -1 && errno == EINTR)
		;
	if (n != 1 || (ans != 's' && ans != 'f' && ans != 'a'))
		mon_end(m, 1);
	if (ans == 'f')
		(void)policy_allow_session_slot(m->pol, m->pol->max_sessions,
		    why, len);
	else if (ans == 'a')
		snprintf(why, len, "the gateway cannot write its audit log");
	return ans == 's';
}

static int
mm_answer_auth(struct mon *m, json_t *req)
{
	const char	*user = req_str(req, "user", 64);
	const char	*key_type = req_str(req, "key_type", 64);
	const char	*b64 = req_str(req, "key", MON_CERT_MAX);
	int		 login = json_is_true(json_object_get(req, "login"));
	struct sshcert	*cert;
	char		 why[384];
	int		 ok, parsed;

	if (user == NULL || key_type == NULL || b64 == NULL)
		mon_violation(m, "malformed auth request", "auth");
	if (++m->auth_requests > MON_MAX_AUTH_REQUESTS)
		mon_violation(m, "too many login attempts", "auth");
	if ((cert = calloc(1, sizeof(*cert))) == NULL)
		mon_end(m, 1);
	ok = mon_check_login(m, user, key_type, b64, cert, &parsed, why,
	    sizeof(why));
	if (!ok) {
		mon_audit(m, "auth_refused", mon_refusal_record(user, cert,
		    parsed, why));
		memset(&m->id, 0, sizeof(m->id));
		free(cert);
		return mon_answer(m, json_pack("{s:b, s:s}", "ok", 0,
		    "reason", why), NULL, 0);
	}
	/* Kept so that a reloaded revocation list can be checked. */
	free(m->cert);
	m->cert = cert;
	if (!login)
		return mon_answer(m, json_pack("{s:b}", "ok", 1), NULL, 0);
	/* libssh verified the login signature in the child. */
	if (!mon_take_slot(m, why, sizeof(why))) {
		memset(&m->id, 0, sizeof(m->id));
		m->phase = 0;	/* the child ends the session; nothing more */
		return mon_answer(m, json_pack("{s:b, s:s, s:b}", "ok", 0,
		    "reason", why, "final", 1), NULL, 0);
	}
	if (m->pol->approval_required) {
		m->phase = MON_PENDING;
		return mon_answer(m, json_pack("{s:b, s:b}", "ok", 1,
		    "pending", 1), NULL, 0);
	}
	return mon_logged_in(m);
}

/* The login is complete: record it, start the session clock, tell the child. */
static int
mon_logged_in(struct mon *m)
{
	/* A certificate that expired while the customer decided is spent. */
	if ((uint64_t)clock_now() >= m->cert_valid_before) {
		mon_audit(m, "auth_refused", json_pack("{s:s, s:s, s:I, s:s}",
		    "user", SESSION_USER, "key_id", m->id.key_id, "serial",
		    (json_int_t)m->id.serial, "reason", "certificate expired "
		    "while the session waited for approval"));
		m->phase = 0;
		return mon_answer(m, json_pack("{s:b, s:s}", "ok", 0, "reason",
		    "certificate expired while the session waited for "
		    "approval"), NULL, 0);
	}
	mon_audit(m, "auth_accepted", json_pack("{s:s, s:s, s:I, s:s}",
	    "engineer", m->id.engineer, "key_id", m->id.key_id,
	    "serial", (json_int_t)m->id.serial, "ticket", m->id.ticket));
	m->phase = MON_AUTHED;
	m->login_ms = clock_mono_ms();
	if (m->pol->max_session > 0)
		m->session_deadline = m->login_ms + m->pol->max_session * 1000;
	return mon_answer(m, json_pack("{s:b, s:s, s:s, s:s, s:I, s:I}", "ok",
	    1, "engineer", m->id.engineer, "key_id", m->id.key_id, "ticket",
	    m->id.ticket, "serial", (json_int_t)m->id.serial, "permits",
	    (json_int_t)m->id.permits), NULL, 0);
}

/*
 * Ask the broker for the customer's approval and wait for a person to
 * decide (the broker ends the wait after its timeout).  If the engineer
 * leaves meanwhile, the session simply ends.
 */
static int
mm_answer_approval_wait(struct mon *m, json_t *req)
{
	struct pollfd	 pfd[2];
	char		 ans = 0;
	const char	*why;

	(void)req;
	if (mon_broker_send(m, json_pack("{s:s, s:s, s:s, s:s}", "type",
	    "approval_request", "engineer", m->id.engineer, "ticket",
	    m->id.ticket, "key_id", m->id.key_id)) == -1)
		mon_end(m, 1);
	pfd[0].fd = m->audit_fd;
	pfd[1].fd = m->child_fd;
	pfd[0].events = pfd[1].events = POLLIN;
	for (;;) {
		if (mon_wait(m, pfd, 2, -1) == -1)
			continue;
		if (pfd[1].revents != 0 && pfd[0].revents == 0)
			mon_child_gone(m);	/* the engineer gave up */
		if (pfd[0].revents != 0)
			break;
	}
	if (recv(m->audit_fd, &ans, 1, 0) != 1)
		mon_end(m, 1);
	if (ans == 'a')
		return mon_logged_in(m);
	why = ans == 'd' ? "the customer denied this session" : ans == 'g' ?
	    "the engineer left before the customer decided" :
	    "nobody approved this session in time";
	m->phase = 0;	/* the child ends the session; nothing more */
	return mon_answer(m, json_pack("{s:b, s:s}", "ok", 0, "reason", why),
	    NULL, 0);
}

static int
mm_answer_exec(struct mon *m, json_t *req)
{
	const char	*cmd = req_str(req, "command", POLICY_MAX_CMDLINE);
	char		 why[512], **argv = NULL;
	json_t		*jargv;
	int		 fds[2], rc;
	size_t		 i;

	if (m->diag > 0)
		return mon_refuse(m, "a diagnostic is already running in this "
		    "session; wait for it to finish");
	/*
	 * "scp -f PATH" / "scp -t PATH" is scp -O, the legacy protocol:
	 * say so, rather than call it an unknown command.
	 */
	if (cmd != NULL && strncmp(cmd, "scp", 3) == 0 &&
	    (cmd[3] == ' ' || cmd[3] == '\0')) {
		mon_audit(m, "command_refused", json_pack("{s:s, s:s}",
		    "command", cmd, "reason", MON_LEGACY_SCP));
		return mon_refuse(m, MON_LEGACY_SCP);
	}
	if (cmd == NULL) {
		/* Too long or not text: refused like any bad command. */
		mon_audit(m, "command_refused", json_pack("{s:s}", "reason",
		    "command line too long or not text"));
		return mon_answer(m, json_pack("{s:b, s:s}", "ok", 0, "reason",
		    "command line too long or not text"), NULL, 0);
	}
	if (!policy_allow_command(m->pol, cmd, &argv, why, sizeof(why))) {
		mon_audit(m, "command_refused", json_pack("{s:s, s:s}",
		    "command", cmd, "reason", why));
		return mon_answer(m, json_pack("{s:b, s:s}", "ok", 0, "reason",
		    why), NULL, 0);
	}
	jargv = json_array();
	for (i = 0; argv[i] != NULL; i++)
		json_array_append_new(jargv, json_string(argv[i]));
	mon_audit(m, "command_allowed", json_pack("{s:s, s:o}", "command", cmd,
	    "argv", jargv));
	rc = diag_spawn(argv, m->pol->user,
	    (const char *const *)m->pol->file_paths, m->pol->command_timeout,
	    &m->diag, &fds[0], &fds[1], why, sizeof(why));
	policy_argv_free(argv);
	if (rc == -1) {
		m->diag = 0;
		mon_audit(m, "command_failed", json_pack("{s:s, s:s}",
		    "command", cmd, "reason", why));
		return mon_answer(m, json_pack("{s:b, s:s}", "ok", 0, "reason",
		    "the diagnostic could not be started"), NULL, 0);
	}
	snprintf(m->diag_cmd, sizeof(m->diag_cmd), "%s", cmd);
	m->diag_deadline = clock_mono_ms() + m->pol->command_timeout * 1000;
	m->diag_timed_out = 0;
	m->diag_cancelled = 0;
	m->diag_peer = m->peer;
	rc = mon_answer(m, json_pack("{s:b}", "ok", 1), fds, 2);
	close(fds[0]);
	close(fds[1]);
	return rc;
}

/*
 * A command line the child could not pass on whole (not UTF-8, or longer
 * than a request can carry): refused like any other, and on record.  The
 * child's word is enough to refuse; it can never make anything run.
 */
static int
mm_answer_exec_refused(struct mon *m, json_t *req)
{
	const char	*shown = req_str(req, "command", 512);
	const char	*why = req_str(req, "reason", 128);
	json_t		*len = json_object_get(req, "length");

	if (shown == NULL || why == NULL || !json_is_integer(len) ||
	    json_integer_value(len) < 0)
		mon_violation(m, "malformed exec_refused request",
		    "exec_refused");
	mon_audit(m, "command_refused", json_pack("{s:s, s:I, s:s}",
	    "command", shown, "length", json_integer_value(len), "reason",
	    why));
	return mon_answer(m, json_pack("{s:b}", "ok", 1), NULL, 0);
}

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
		if (mon_broker_send(m, json_pack("{s:s}", "type",
		    "activity")) == -1)
			mon_end(m, 1);
	}
	return mon_answer(m, json_pack("{s:b}", "ok", 1), NULL, 0);
}

static int
mm_answer_exec_wait(struct mon *m, json_t *req)
{
	json_t	*jb = json_object_get(req, "bytes_out");
	int	 status = 0, code;
	pid_t	 r;

	if (!json_is_integer(jb) || json_integer_value(jb) < 0 ||
	    m->diag <= 0 || m->diag_peer != m->peer)
		mon_violation(m, "malformed exec_wait request", "exec_wait");
	/* Its output is closed; it gets until the deadline to exit. */
	while ((r = waitpid(m->diag, &status, WNOHANG)) == 0) {
		if (clock_mono_ms() >= m->diag_deadline) {
			mon_kill_diag(m);
			m->diag_timed_out = 1;
		}
		(void)mon_wait(m, NULL, 0, 10);
	}
	m->diag = 0;	/* its namespace died with its reaper */
	if (r == -1)
		code = 1;
	else if (WIFEXITED(status))
		code = WEXITSTATUS(status);
	else
		code = 128 + WTERMSIG(status);
	if (m->diag_timed_out)
		code = 124;
	mon_audit(m, "command_finished", json_pack("{s:s, s:i, s:I, s:b, s:b}",
	    "command", m->diag_cmd, "exit_status", code, "bytes_out",
	    json_integer_value(jb), "timed_out", m->diag_timed_out,
	    "cancelled", m->diag_cancelled));
	return mon_answer(m, json_pack("{s:i, s:b, s:I}", "exit_status", code,
	    "timed_out", m->diag_timed_out, "timeout",
	    (json_int_t)m->pol->command_timeout), NULL, 0);
}

void
mon_diag_abandon(struct mon *m)
{
	mon_kill_diag(m);
	while (waitpid(m->diag, NULL, 0) == -1 && errno == EINTR)
		;
	mon_audit(m, "command_finished", json_pack("{s:s, s:i, s:b, s:b}",
	    "command", m->diag_cmd, "exit_status", 137, "timed_out", 0,
	    "cancelled", 1));
	m->diag = 0;
}

/* The engineer stopped a diagnostic (^C in the shell): kill it now. */
static int
mm_answer_exec_cancel(struct mon *m, json_t *req)
{
	(void)req;
	if (m->diag > 0 && m->diag_peer == m->peer) {
		mon_kill_diag(m);
		m->diag_cancelled = 1;
	}
	return mon_answer(m, json_pack("{s:b}", "ok", 1), NULL, 0);
}

static int
mm_answer_event(struct mon *m, json_t *req)
{
	static const char *allowed[] = { "request_refused", "channel_refused",
	    NULL };
	const char	*type = req_str(req, "type", 32);
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
mon_timeout(struct mon *m, const char **what)
{
	uint64_t	now = clock_mono_ms(), until = 0, cert;

	*what = NULL;
	if (m->phase != MON_AUTHED) {
		/* Not logged in (or refused, or left pending): no lingering. */
		until = m->login_deadline;
		*what = LIMIT_LOGIN;
	}
	if (m->session_deadline != 0) {
		until = m->session_deadline;
		*what = LIMIT_SESSION;
	}
	if (m->phase == MON_AUTHED && (cert = mon_cert_deadline(m, now)) != 0 &&
	    (until == 0 || cert < until)) {
		until = cert;
		*what = LIMIT_CERT;
	}
	if (m->diag > 0 && !m->diag_timed_out &&
	    (until == 0 || m->diag_deadline < until)) {
		until = m->diag_deadline;
		*what = LIMIT_DIAG;
	}
	if (until == 0)
		return -1;
	if (until <= now)
		return 0;
	/* poll takes an int of ms: a far deadline is looked at again. */
	if (until - now > MON_WAIT_MAX_MS) {
		*what = NULL;
		return MON_WAIT_MAX_MS;
	}
	return (int)(until - now);
}

/*
 * Wait up to MON_CHILD_EXIT_MS for the child to end by itself: 1 with
 * its status, 0 if it still runs.
 */
static int
mon_child_exited(struct mon *m, int *status)
{
	uint64_t	until = clock_mono_ms() + MON_CHILD_EXIT_MS;
	pid_t		r;

	for (;;) {
		r = waitpid(m->child, status, WNOHANG);
		if (r == m->child)
			return 1;
		if (r == -1 && errno != EINTR)
			return 0;
		if (clock_mono_ms() >= until)
			return 0;
		(void)mon_wait(m, NULL, 0, 10);
	}
}

/* The child is gone: record how, and end. */
static void
mon_child_gone(struct mon *m)
{
	int status = 0;

	/*
	 * Its end of the socket closed: it is exiting, or only seems gone
	 * (a protocol break).  What it died of is the truth if it ends by
	 * itself; if we have to kill it, the SIGKILL is ours, not a crash.
	 * So a SIGKILL that someone else sent is told from our own.
	 */
	if (!mon_child_exited(m, &status)) {
		kill(m->child, SIGKILL);
		while (waitpid(m->child, &status, 0) == -1 && errno == EINTR)
			;
		status = 0;
	}
	m->child = 0;
	if (WIFSIGNALED(status)) {
		const char *why = WTERMSIG(status) == SIGSYS ?
		    "sandbox violation: forbidden system call" :
		    "session process killed by a signal the gateway did not "
		    "send";

		log_warn("monitor: session process ended by signal %d",
		    WTERMSIG(status));
		mon_audit(m, "session_violation", json_pack("{s:s, s:i}",
		    "reason", why, "signal", WTERMSIG(status)));
		mon_end(m, 128 + WTERMSIG(status));
	}
	mon_end(m, WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

/* One request from a peer (the child or the shell), answered. */
static void
mon_request(struct mon *m, int fd, int peer, char *buf)
{
	const struct mon_dispatch	*d;
	const char			*name;
	json_t				*req;
	ssize_t				 n;
	int				 fds[FDPASS_MAX_FDS], nfds;

	n = fdpass_recv(fd, buf, MONITOR_MSG_MAX, fds, 0, &nfds);
	if (n == -1 && errno == EINTR)
		return;
	if (peer == MON_FROM_SHELL && (n == 0 || n == -1)) {
		/* The shell ended; its terminal tells the rest. */
		close(m->sh.rpc);
		m->sh.rpc = -1;
		return;
	}
	if (n == 0 || (n == -1 && errno != EMSGSIZE))
		mon_child_gone(m);
	req = n > 0 ? json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES,
	    NULL) : NULL;
	name = req == NULL ? NULL : req_str(req, "req", 32);
	if (name == NULL)
		mon_violation(m, "malformed request", NULL);
	for (d = mon_table; d->req != NULL; d++)
		if (strcmp(d->req, name) == 0)
			break;
	if (d->req == NULL)
		mon_violation(m, "unknown request", name);
	if (!(d->phases & m->phase) || !(d->peers & peer))
		mon_violation(m, "request not permitted now", name);
	m->peer_fd = fd;
	m->peer = peer;
	if (d->answer(m, req) == -1) {
		if (peer == MON_FROM_CHILD)
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
	mon_kill_diag(m);
	mon_notify(m, mon_end_reason(SESSION_END_WITHDRAWN));
	mon_end(m, 1);
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
	for (i = 0; i < MON_MAX_FILES; i++)
		if (m->files[i].id != 0 &&
		    !policy_allow_file(np, m->files[i].path, why, sizeof(why)))
			mon_withdrawn(m, why);
	for (i = 0; i < MON_MAX_FWDS; i++)
		if (m->fwds[i].id != 0 &&
		    !forward_addr_listed(np, m->fwds[i].addr)) {
			snprintf(why, sizeof(why), "%s is no longer a "
			    "forwarding target", m->fwds[i].target);
			mon_withdrawn(m, why);
		}
}

/*
 * The broker reloaded the policy: from now on this session is decided
 * under the new one.  The old one is not freed: answers already given
 * may still point into it, and a session sees few reloads.  A policy
 * that cannot be read ends the session; it never goes on under the old.
 */
static void
mon_policy_update(struct mon *m, char *buf)
{
	struct policy	*np = NULL;
	struct krl	*nk = NULL;
	uint64_t	 deadline;
	char		 err[1024];
	int		 fds[2] = { -1, -1 }, nfds = 0;
	ssize_t		 n;
	size_t		 i;
	unsigned int	 byte;

	n = fdpass_recv(m->pol_fd, buf, MONITOR_MSG_MAX, fds, 2, &nfds);
	if (n == -1 && errno == EINTR)
		return;
	if (n == 0 || (n == -1 && errno != EMSGSIZE)) {
		/* The broker is gone: so is everything this session needs. */
		log_error("monitor: the broker is gone; ending the session");
		mon_end(m, 1);
	}
	if (n != 7 + 64 || nfds < 1 || memcmp(buf, "policy ", 7) != 0)
		goto bad;
	for (i = 0; i < sizeof(m->ca_buf); i++) {
		if (sscanf(buf + 7 + 2 * i, "%2x", &byte) != 1)
			goto bad;
		m->ca_buf[i] = (uint8_t)byte;
	}
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
	if ((m->phase == MON_AUTHED || m->phase == MON_PENDING) &&
	    m->krl != NULL && m->cert != NULL &&
	    krl_check_cert(m->krl, m->cert, err, sizeof(err)) != 0)
		mon_withdrawn(m, err);
	if (m->phase == MON_AUTHED) {
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
	mon_kill_diag(m);
	mon_notify(m, mon_end_reason(SESSION_END_WITHDRAWN));
	mon_end(m, 1);
}

/*
 * A time limit passed (what, or none when a wait for a far one was cut
 * short): the diagnostic's is enforced, the others end it all.
 */
static void
mon_time_up(struct mon *m, const char *what)
{
	char when[32];

	if (what == NULL)
		return;
	if (strcmp(what, LIMIT_DIAG) == 0) {
		mon_kill_diag(m);
		m->diag_timed_out = 1;
		return;
	}
	if (strcmp(what, LIMIT_CERT) == 0 &&
	    (uint64_t)clock_now() < m->cert_valid_before)
		return;		/* the wall clock was set back: not yet */
	log_info("monitor: %s; ending the session", what);
	if (strcmp(what, LIMIT_LOGIN) == 0) {
		/* A refused or undecided login was recorded as such already. */
		if (m->phase == MON_PREAUTH)
			mon_audit(m, "session_refused", json_pack("{s:s, s:I}",
			    "reason", what, "grace_s",
			    (json_int_t)SESSION_LOGIN_GRACE));
		mon_end(m, 1);
	}
	if (strcmp(what, LIMIT_CERT) == 0) {
		parse_format_time((time_t)m->cert_valid_before, when,
		    sizeof(when));
		mon_audit(m, "session_ended", json_pack("{s:s, s:s}", "reason",
		    what, "valid_before", when));
		mon_notify(m, "session ended: the certificate expired");
		mon_end(m, 1);
	}
	mon_audit(m, "session_ended", json_pack("{s:s}", "reason", what));
	if (strcmp(what, LIMIT_SESSION) == 0)
		mon_notify(m, "session ended: it reached max_session");
	mon_end(m, 1);
}

static void
mon_loop(struct mon *m)
{
	struct pollfd	 pfd[8];
	char		*buf;
	const char	*what;
	int		 n, nfds, rpc;

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
		nfds += mon_shell_pollfds(m, pfd + nfds);
		if ((n = mon_wait(m, pfd, (nfds_t)nfds, mon_timeout(m,
		    &what))) == -1)
			continue;
		if (n == 0) {
			mon_time_up(m, what);
			continue;
		}
		/* A new policy first: the requests after it are decided under it. */
		if (pfd[1].revents != 0)
			mon_policy_update(m, buf);
		if (pfd[0].revents != 0)
			mon_request(m, m->child_fd, MON_FROM_CHILD, buf);
		if (rpc >= 0 && pfd[2].revents != 0)
			mon_request(m, rpc, MON_FROM_SHELL, buf);
		mon_shell_service(m, pfd + (rpc >= 0 ? 3 : 2),
		    nfds - (rpc >= 0 ? 3 : 2));
	}
}

void
monitor_session(int stream_fd, int audit_fd, int policy_fd,
    const struct policy *pol, ssh_key host_key, const uint8_t ca_key[32],
    const struct krl *krl, const char *sid)
{
	struct mon		m;
	struct sigaction	sa;
	sigset_t		block;
	int			sv[2];

	memset(&m, 0, sizeof(m));
	m.audit_fd = audit_fd;
	m.pol_fd = policy_fd;
	m.pol = pol;
	m.ca_key = ca_key;
	m.krl = krl;
	m.sid = sid;
	m.sh.rpc = m.sh.master = m.sh.term = m.sh.rec = -1;
	m.phase = MON_PREAUTH;
	m.login_deadline = clock_mono_ms() + SESSION_LOGIN_GRACE * 1000;
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = mon_on_term;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &mon_waitmask);
	sigdelset(&mon_waitmask, SIGTERM);
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
		sigprocmask(SIG_UNBLOCK, &block, NULL);
		close(sv[0]);
		close(audit_fd);
		close(policy_fd);
		session_child(stream_fd, sv[1], pol, host_key);
	}
	close(sv[1]);
	close(stream_fd);
	m.child_fd = m.peer_fd = sv[0];
	m.peer = MON_FROM_CHILD;
	mon_loop(&m);
	_exit(1);
}
