/*
 * monitor_action.c - the monitor's side of [actions]: the engineer's
 * "action NAME [WORDS]", decided under the session's policy, asked of
 * the broker (which decides it again, lists it for the customer and
 * runs it once approved), and streamed back.
 *
 * To the child, or to the support shell (its "action" command), an
 * action looks like a diagnostic: it is answered at once with two pipes,
 * so the engineer reads on stderr that it waits for the customer and
 * then who approved it, and on stdout its output, which the monitor
 * copies from the file the broker's job writes it to (the broker hands
 * over that file's descriptor with BM_ACTION_STATE).  The pipes close
 * once the broker says it ended and everything it wrote was copied; the
 * asker's exec_wait then gets its exit status.  Only the peer that
 * asked may wait for it or cancel it.
 *
 * Under [redact] both pipes pass through the monitor's pumps
 * (monitor_redact.c), as a diagnostic's output does: what the action
 * prints is starred before the child sees it, and the matches are
 * counted on the record (action_output) when it ends.
 */
#include "gateway/monitor/monitor_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void
act_close(int *fd)
{
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

static void	act_say(struct mon *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* A line of porthole's own about the action, on the engineer's stderr. */
static void
act_say(struct mon *m, const char *fmt, ...)
{
	va_list	ap;
	char	line[600];
	int	n;

	if (m->act.err == -1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)!write(m->act.err, line, (size_t)n < sizeof(line) ?
		    (size_t)n : sizeof(line) - 1);
}

/* It ended and all of its output was copied: the child sees EOF. */
static void
act_finish(struct mon *m)
{
	if (m->act.exit_status != 0)
		act_say(m, "porthole: action %s: %s\n", m->act.name,
		    m->act.result);
	act_close(&m->act.log);
	act_close(&m->act.out);
	act_close(&m->act.err);
	m->act.buf.len = m->act.buf.off = 0;
}

int
mm_answer_action(struct mon *m, const char *words)
{
	char	 why[512], note[BM_NOTE_MAX + 1], **argv = NULL;
	int	 out[2] = { -1, -1 }, err[2] = { -1, -1 }, fds[2], ans, rc;

	if (m->diag > 0 || m->act.id[0] != '\0')
		return mon_refuse(m, "a diagnostic or action is already "
		    "running in this session; wait for it to finish");
	if (!policy_allow_action(m->pol, words, &argv, why, sizeof(why))) {
		mon_audit(m, "action_refused", json_pack("{s:s, s:s}",
		    "command", words, "reason", why));
		return mon_refuse(m, why);
	}
	policy_argv_free(argv);
	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(err, O_CLOEXEC) == -1) {
		rc = mon_refuse(m, "the action could not be asked for: out of "
		    "descriptors");
		goto out;
	}
	fds[0] = out[0];
	fds[1] = err[0];
	if (mon_pump_start(m, fds, why, sizeof(why)) == -1) {
		rc = mon_refuse(m, why);
		goto out;
	}
	/* Pumped: the pump reads the originals, the child gets fds. */
	out[0] = fds[0];
	err[0] = fds[1];
	if (mon_broker_send(m, BM_ACTION, json_pack("{s:s}", "command",
	    words)) == -1 || (ans = mon_broker_answer_note(m, note,
	    sizeof(note))) == -1)
		mon_end(m, 1);
	if (ans != BM_DURABLE || strlen(note) != BM_ACTION_ID_LEN) {
		snprintf(why, sizeof(why), "the action could not be asked "
		    "for: %s", note);
		rc = mon_refuse(m, why);
		goto out;
	}
	memset(&m->act, 0, sizeof(m->act));
	snprintf(m->act.id, sizeof(m->act.id), "%s", note);
	words += strspn(words, " \t");
	snprintf(m->act.name, sizeof(m->act.name), "%.*s",
	    (int)strcspn(words, " \t"), words);
	m->act.out = out[1];
	m->act.err = err[1];
	m->act.log = -1;
	m->act.peer = m->peer;
	out[1] = err[1] = -1;
	(void)fcntl(m->act.out, F_SETFL, O_NONBLOCK);
	(void)fcntl(m->act.err, F_SETFL, O_NONBLOCK);
	if (m->pol->action_approval_required)
		act_say(m, "porthole: action %s waits for the customer's "
		    "approval (porthole action approve %s)\n", m->act.name,
		    m->act.id);
	mon_doing(m, words);
	rc = mon_answer(m, json_pack("{s:b, s:s}", "ok", 1, "action_id",
	    m->act.id), fds, 2);
out:
	act_close(&out[0]);
	act_close(&out[1]);
	act_close(&err[0]);
	act_close(&err[1]);
	return rc;
}

void
mon_action_state(struct mon *m, json_t *msg, int fd)
{
	const char	*id = json_string_value(json_object_get(msg, "id"));
	const char	*state = json_string_value(json_object_get(msg,
			    "state"));
	const char	*by = json_string_value(json_object_get(msg, "by"));
	const char	*res = json_string_value(json_object_get(msg,
			    "result"));
	json_t		*code = json_object_get(msg, "exit_status");

	/* One the engineer left behind runs on without them. */
	if (id == NULL || state == NULL || strcmp(id, m->act.id) != 0 ||
	    m->act.done) {
		if (fd != -1)
			close(fd);
		return;
	}
	if (strcmp(state, "running") == 0 && !m->act.running) {
		m->act.running = 1;
		act_say(m, "porthole: action %s approved by %s; it runs now\n",
		    m->act.name, by != NULL ? by : "?");
		m->act.log = fd;
		return;
	}
	if (fd != -1)
		close(fd);
	m->act.done = 1;
	m->act.exit_status = json_is_integer(code) ?
	    (int)json_integer_value(code) : 1;
	if (strcmp(state, "denied") == 0) {
		m->act.exit_status = 1;
		snprintf(m->act.result, sizeof(m->act.result), "denied by %s",
		    by != NULL ? by : "?");
	} else
		snprintf(m->act.result, sizeof(m->act.result), "%s",
		    res != NULL ? res : "ended");
	/* Without an output file there is nothing more to copy. */
	if (m->act.log == -1)
		act_finish(m);
}

int
mon_action_tailing(const struct mon *m)
{
	return m->act.log != -1 && m->act.buf.len == 0;
}

int
mon_action_pollfds(struct mon *m, struct pollfd *pfd)
{
	if (m->act.out == -1 || m->act.buf.len == 0)
		return 0;
	pfd[0].fd = m->act.out;
	pfd[0].events = POLLOUT;
	return 1;
}

/*
 * Copy what the output file holds now to the engineer, as far as the
 * pipe takes it.  At the end of the file of an action that ended, it is
 * finished.
 */
void
mon_action_service(struct mon *m)
{
	ssize_t n;

	while (m->act.log != -1 && m->act.out != -1) {
		if (m->act.buf.len == 0) {
			n = read(m->act.log, m->act.buf.buf,
			    sizeof(m->act.buf.buf));
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0) {
				if (m->act.done || n == -1)
					act_finish(m);
				return;
			}
			m->act.buf.len = (size_t)n;
			m->act.buf.off = 0;
		}
		if (mon_pipe_flush(&m->act.buf, m->act.out) == -1) {
			/* The engineer is gone; it runs on, on record. */
			act_close(&m->act.log);
			act_close(&m->act.out);
			m->act.buf.len = m->act.buf.off = 0;
			return;
		}
		if (m->act.buf.len != 0)
			return;		/* the pipe is full: POLLOUT */
	}
}

/* What [redact] starred in the action's output, on the record. */
static void
act_redactions(struct mon *m)
{
	json_t *counts;

	if ((counts = mon_pump_end(m)) == NULL)
		return;
	if (json_object_set_new(counts, "action", json_string(m->act.id)) ==
	    -1 || json_object_set_new(counts, "name",
	    json_string(m->act.name)) == -1) {
		json_decref(counts);
		return;
	}
	mon_audit(m, "action_output", counts);
}

/* The child read both pipes to their end: how did it end? */
int
mon_action_wait(struct mon *m)
{
	int code = m->act.exit_status;

	act_finish(m);
	act_redactions(m);
	m->act.exit_status = 0;
	memset(m->act.id, 0, sizeof(m->act.id));
	mon_doing(m, NULL);
	return mon_answer(m, json_pack("{s:i, s:b, s:I}", "exit_status", code,
	    "timed_out", 0, "timeout", (json_int_t)m->pol->action_timeout),
	    NULL, 0);
}

/*
 * The engineer left (^C, or the channel closed): one still waiting is
 * withdrawn; one that runs runs to its end, for a change stopped half
 * way is worse than one finished, and its end is on record.  Its pipes
 * and output are let go either way.
 */
static void
act_leave(struct mon *m)
{
	if (!m->act.running && !m->act.done &&
	    mon_broker_send(m, BM_ACTION_CANCEL, json_pack("{s:s}", "id",
	    m->act.id)) == -1)
		mon_end(m, 1);
	if (!m->act.done) {
		m->act.done = 1;
		m->act.exit_status = 130;
		snprintf(m->act.result, sizeof(m->act.result), "%s",
		    m->act.running ? "left running" : "withdrawn");
	}
	act_close(&m->act.log);
	act_close(&m->act.out);
	act_close(&m->act.err);
	m->act.buf.len = m->act.buf.off = 0;
	act_redactions(m);
}

int
mon_action_cancel(struct mon *m)
{
	act_leave(m);
	return mon_answer(m, json_pack("{s:b}", "ok", 1), NULL, 0);
}

void
mon_action_abandon(struct mon *m)
{
	act_leave(m);
	m->act.exit_status = 0;
	memset(m->act.id, 0, sizeof(m->act.id));
	mon_doing(m, NULL);
}
