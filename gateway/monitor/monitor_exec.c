/*
 * monitor_exec.c - the monitor's answers for diagnostics: run an
 * allow-listed command (diag.c starts it in its own sandbox and PID
 * namespace), record its end, stop it on the engineer's ^C.
 */
#include "gateway/monitor/monitor_int.h"

#include <sys/wait.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gateway/monitor/diag.h"
#include "lib/clock.h"

#define MON_LEGACY_SCP		"the legacy scp protocol is not supported: " \
				"use scp without -O (SFTP)"


int
mm_answer_exec(struct mon *m, json_t *req)
{
	const char	*cmd = mm_field_str(req, "command", POLICY_MAX_CMDLINE);
	char		 why[512], **argv = NULL;
	json_t		*jargv;
	int		 fds[2], rc;
	size_t		 i;

	/* porthole's own "action NAME [WORDS]": monitor_action.c. */
	if (cmd != NULL && strncmp(cmd, "action", 6) == 0 &&
	    (cmd[6] == ' ' || cmd[6] == '\0'))
		return mm_answer_action(m, cmd[6] == ' ' ? cmd + 7 : "");
	if (m->diag > 0 || m->act.id[0] != '\0' || m->builtin)
		return mon_refuse(m, "a diagnostic is already running in this "
		    "session; wait for it to finish");
	/* Reserved names are porthole's own, never a diagnostic. */
	if (cmd != NULL && strncmp(cmd, "bundle", 6) == 0 &&
	    (cmd[6] == ' ' || cmd[6] == '\0'))
		return mon_bundle(m, cmd);
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
	mon_relies(m, BM_GRANT_COMMANDS);
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
	/* Its output reaches the peer through the monitor, redacted. */
	if (mon_pump_start(m, fds, why, sizeof(why)) == -1) {
		close(fds[0]);
		close(fds[1]);
		mon_kill_diag(m);
		while (waitpid(m->diag, NULL, 0) == -1 && errno == EINTR)
			;
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
	mon_doing(m, cmd);
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
int
mm_answer_exec_refused(struct mon *m, json_t *req)
{
	const char	*shown = mm_field_str(req, "command", 512);
	const char	*why = mm_field_str(req, "reason", 128);
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

int
mm_answer_exec_wait(struct mon *m, json_t *req)
{
	json_t	*jb = json_object_get(req, "bytes_out"), *ev;
	int	 status = 0, code;
	pid_t	 r;

	if (json_is_integer(jb) && m->diag <= 0 && m->act.id[0] != '\0' &&
	    m->peer == m->act.peer)
		return mon_action_wait(m);
	if (m->builtin && m->diag_peer == m->peer && json_is_integer(jb)) {
		m->builtin = 0;
		return mon_answer(m, json_pack("{s:i, s:b, s:I}", "exit_status",
		    m->builtin_status, "timed_out", 0, "timeout",
		    (json_int_t)m->pol->command_timeout), NULL, 0);
	}
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
	ev = json_pack("{s:s, s:i, s:I, s:b, s:b}", "command", m->diag_cmd,
	    "exit_status", code, "bytes_out", json_integer_value(jb),
	    "timed_out", m->diag_timed_out, "cancelled", m->diag_cancelled);
	json_object_update_new(ev, mon_pump_end(m));
	mon_audit(m, "command_finished", ev);
	mon_doing(m, NULL);
	return mon_answer(m, json_pack("{s:i, s:b, s:I}", "exit_status", code,
	    "timed_out", m->diag_timed_out, "timeout",
	    (json_int_t)m->pol->command_timeout), NULL, 0);
}

/* The engineer stopped a diagnostic (^C in the shell): kill it now. */
int
mm_answer_exec_cancel(struct mon *m, json_t *req)
{
	(void)req;
	if (m->diag <= 0 && m->act.id[0] != '\0' && m->peer == m->act.peer)
		return mon_action_cancel(m);
	if (m->diag > 0 && m->diag_peer == m->peer) {
		mon_kill_diag(m);
		m->diag_cancelled = 1;
	}
	return mon_answer(m, json_pack("{s:b}", "ok", 1), NULL, 0);
}
