/*
 * monitor_core.c - what every answer of the monitor stands on: answering
 * the peer that asked, writing to the audit log through the broker,
 * waiting so that the broker's SIGTERM is never missed, and ending the
 * session with everything it holds open recorded as closed.
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
#include "lib/clock.h"
#include "lib/fdpass.h"
#include "lib/log.h"

#define MON_CHILD_EXIT_MS	1000	/* a closing child's time to exit */

/*
 * Set by SIGTERM: the broker ends this session on the customer's order.
 * SIGTERM stays blocked except inside mon_wait(), so it is never lost
 * between a check of the flag and a wait.
 */
static volatile sig_atomic_t mon_terminate;	/* BM_END_*, or -1 */
static sigset_t		     mon_waitmask;	/* SIGTERM unblocked */

static void
mon_on_term(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	mon_terminate = si->si_code == SI_QUEUE ? si->si_value.sival_int : -1;
}

/*
 * SIGTERM is caught, and blocked but inside mon_wait(); a write to a
 * peer that is gone is an error, not a signal.
 */
void
mon_signals(void)
{
	struct sigaction	sa;
	sigset_t		block;

	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = mon_on_term;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &mon_waitmask);
	sigdelset(&mon_waitmask, SIGTERM);
}

/*
 * Tell the engineer why the session ends (the child shows it on every
 * open channel) and give the child a moment to say it and leave.
 */
void
mon_notify(struct mon *m, const char *why)
{
	struct pollfd	 pfd;
	char		*text, buf[64];
	json_t		*j;
	uint64_t	 until = clock_mono_ms() + 2000, now;

	if (m->phase != MM_AUTHED || m->child <= 0)
		return;
	j = json_pack("{s:s}", MONITOR_NOTICE, why);
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
	case BM_END_KILLED:
		return "session ended by the customer";
	case BM_END_IDLE:
		return "session ended: idle for longer than idle_timeout";
	case BM_END_WITHDRAWN:
		return "session ended: the customer withdrew a grant it relied on";
	case BM_END_AUDIT:
		return "session ended: the audit log cannot be written";
	case BM_END_SHUTDOWN:
		return "session ended: the gateway is shutting down";
	case BM_END_CROWDED:
		return "login dropped: too many logins in progress";
	case BM_END_TICKET_OVER:
		return "session ended: the customer's approval of its ticket "
		    "ended";
	case BM_END_REVOKED:
		return "session ended: the customer revoked the approval of "
		    "its ticket";
	default:
		return "session ended by the gateway";
	}
}

int
mon_broker_send(struct mon *m, enum bm_msg kind, json_t *fields)
{
	char	*text = NULL;
	ssize_t	 n = -1;

	if (fields != NULL && json_object_set_new(fields, "msg",
	    json_string(bm_msgs[kind].name)) == 0)
		text = json_dumps(fields, JSON_COMPACT);
	json_decref(fields);
	if (text != NULL && strlen(text) < BM_MSG_MAX)
		n = send(m->audit_fd, text, strlen(text), MSG_NOSIGNAL);
	free(text);
	return n > 0 ? 0 : -1;
}

int
mon_broker_answer(struct mon *m)
{
	unsigned char	ans;
	ssize_t		n;

	while ((n = recv(m->audit_fd, &ans, 1, 0)) == -1 && errno == EINTR)
		;
	return n == 1 ? ans : -1;
}

int
mon_broker_answer_note(struct mon *m, char *note, size_t len)
{
	char	buf[1 + BM_NOTE_MAX];
	ssize_t	n;
	size_t	i;

	while ((n = recv(m->audit_fd, buf, sizeof(buf), 0)) == -1 &&
	    errno == EINTR)
		;
	if (n < 1)
		return -1;
	/* The broker's words, but shown to the engineer: printable only. */
	for (i = 1; i < (size_t)n; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			buf[i] = '?';
	snprintf(note, len, "%.*s", (int)n - 1, buf + 1);
	return (unsigned char)buf[0];
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
	size_t	 len = BM_EVENT_MAX;

	if (fields == NULL)
		fields = json_object();
	json_object_set_new(fields, "type", json_string(type));
	if (m->id.engineer[0] != '\0' &&
	    json_object_get(fields, "engineer") == NULL)
		json_object_set_new(fields, "engineer",
		    json_string(m->id.engineer));
	if ((text = json_dumps(fields, JSON_COMPACT)) != NULL)
		len = strlen(text);
	free(text);
	if (len >= BM_EVENT_MAX) {
		json_decref(fields);
		fields = NULL;
	}
	if (fields == NULL || mon_broker_send(m, BM_AUDIT,
	    json_pack("{s:o}", "event", fields)) == -1 ||
	    mon_broker_answer(m) != BM_DURABLE) {
		log_error("monitor: audit log unavailable; ending the session");
		mon_end(m, 1);
	}
}

/*
 * The session relies on grant from now: the broker ends it when a
 * reload withdraws the grant.  Said once per grant.
 */
void
mon_relies(struct mon *m, enum bm_grant grant)
{
	if (m->grants_told & (1 << grant))
		return;
	if (mon_broker_send(m, BM_GRANT, json_pack("{s:s}", "grant",
	    bm_grants[grant])) == -1)
		mon_end(m, 1);
	m->grants_told |= 1 << grant;
}

/* The diagnostic now running (cmd), or none: for porthole sessions. */
void
mon_doing(struct mon *m, const char *cmd)
{
	if (mon_broker_send(m, BM_DOING, cmd != NULL ? json_pack("{s:s}",
	    "command", cmd) : json_object()) == -1)
		mon_end(m, 1);
}

/*
 * The diagnostic's reaper is PID 1 of its namespace: killing it kills
 * everything the diagnostic started, wherever in the namespace.
 */
void
mon_kill_diag(struct mon *m)
{
	if (m->diag > 0)
		kill(m->diag, SIGKILL);
}

int
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
		mon_end_with(m, mon_terminate);
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
	if (!ending++ && m->on_end != NULL)
		m->on_end(m, "the session ended");
	if (m->child > 0) {
		kill(m->child, SIGKILL);
		while (waitpid(m->child, NULL, 0) == -1 && errno == EINTR)
			;
	}
	if (ending == 1)
		mon_access_abandon(m, MM_FROM_CHILD | MM_FROM_SHELL,
		    "the session ended");
	_exit(code);
}

/* The broker (or a reload) ends the session: the engineer is told why. */
void
mon_end_with(struct mon *m, int why)
{
	mon_kill_diag(m);	/* now, not after the goodbye */
	mon_notify(m, mon_end_reason(why));
	mon_end(m, 1);
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

void
mon_diag_abandon(struct mon *m)
{
	json_t *ev;

	mon_kill_diag(m);
	while (waitpid(m->diag, NULL, 0) == -1 && errno == EINTR)
		;
	ev = json_pack("{s:s, s:i, s:b, s:b}", "command", m->diag_cmd,
	    "exit_status", 137, "timed_out", 0, "cancelled", 1);
	json_object_update_new(ev, mon_pump_end(m));
	mon_audit(m, "command_finished", ev);
	mon_doing(m, NULL);
	m->diag = 0;
}

void
mon_access_abandon(struct mon *m, int peers, const char *why)
{
	json_t	*ev;
	size_t	 i;

	for (i = 0; i < MON_MAX_FILES; i++) {
		if (m->files[i].id == 0 || !(m->files[i].peer & peers))
			continue;
		ev = json_pack("{s:s, s:I, s:n, s:s}", "path",
		    m->files[i].path, "handle", (json_int_t)m->files[i].id,
		    "bytes", "reason", why);
		json_object_update_new(ev, mon_file_counts(m, i));
		mon_file_release(m, i);
		mon_audit(m, "file_closed", ev);
		m->files[i].id = 0;
	}
	for (i = 0; i < MON_MAX_FWDS && (peers & MM_FROM_CHILD); i++) {
		if (m->fwds[i].id == 0)
			continue;
		mon_audit(m, "forward_closed", json_pack(
		    "{s:s, s:s, s:I, s:n, s:n, s:s}", "target",
		    m->fwds[i].target, "address", m->fwds[i].addr, "forward",
		    (json_int_t)m->fwds[i].id, "bytes_to_target",
		    "bytes_from_target", "reason", why));
		m->fwds[i].id = 0;
	}
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
void
mon_child_gone(struct mon *m)
{
	int status = 0;

	/*
	 * Its end of the socket closed: it is exiting, or only seems gone
	 * (a protocol break).  What it died of is the truth if it ends by
	 * itself; if we have to kill it, the SIGKILL is ours, not a crash.
	 * So a SIGKILL that someone else sent is told from our own.  A
	 * child that is not ours to reap (monitor_serve's) just ends it.
	 */
	if (m->child <= 0)
		mon_end(m, 0);
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
