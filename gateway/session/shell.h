/*
 * shell.h - the support shell: what "ssh ... support@CLUSTER" with no
 * command opens.  Not a system shell: a small command loop on a
 * terminal offering help, the allow-listed diagnostics, viewing of the
 * product's files (ls, cat, tail [-f], less), settings get/set, asking
 * for an [actions] entry (action NAME [WORDS]) and exit.
 *
 * It runs in its own sandboxed process on the slave side of a pty the
 * monitor created (the monitor records the master side), and reaches
 * files, diagnostics and settings only through an access_ops table.
 */
#ifndef PH_SHELL_H
#define PH_SHELL_H

#include "gateway/session/access.h"

struct shell_info {
	const char	*cluster_id;	/* shown in the prompt */
	const char	*engineer;	/* shown in the banner */
	/* Names of the allow-listed diagnostics, NULL-terminated. */
	const char *const *commands;
	int		 files_enabled;
	int		 settings_enabled;
	int		 actions_enabled;	/* [actions] lists some */
};

/*
 * Serve the engineer on tty (a terminal: the pty slave, already the
 * controlling terminal and stdin/stdout/stderr of this process).  Reads
 * lines, runs commands, returns the exit status to end with when the
 * engineer types "exit" or EOF (^D), or -1 when ops report a lost
 * monitor or the terminal fails (the engineer is gone).  The terminal's
 * modes and the SIGINT, SIGQUIT and SIGTSTP dispositions are restored
 * before it returns.
 */
int	shell_run(int tty, const struct access_ops *ops,
	    const struct shell_info *info);

#endif
