/*
 * shell_main.c - the support shell's process.  The monitor forks it on
 * the slave side of a pty it keeps the master of (and records); here it
 * becomes that terminal's session, gives up root, confines itself and
 * runs the shell (shell.h), reaching files, diagnostics and settings
 * only through monitor requests.
 */
#include "gateway/session/session.h"

#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gateway/session/monitor_wrap.h"
#include "gateway/session/shell.h"
#include "sandbox/sandbox.h"

#define SHELL_MAX_COMMANDS	128

void
session_shell(int slave, int rpc, const struct policy *pol,
    const char *engineer)
{
	const char	*names[SHELL_MAX_COMMANDS + 1];
	struct access_ops ops;
	struct shell_info info;
	sigset_t	 none;
	char		 err[256];
	size_t		 i, n = 0;
	int		 mon = 3, abi, rc;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	if (setsid() == -1 || ioctl(slave, TIOCSCTTY, 0) == -1 ||
	    dup2(slave, 0) == -1 || dup2(slave, 1) == -1 ||
	    dup2(slave, 2) == -1 || dup2(rpc, 3) == -1)
		_exit(1);
	closefrom(4);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (i = 0; pol->commands_enabled && i < pol->ncommands &&
	    n < SHELL_MAX_COMMANDS; i++)
		names[n++] = pol->commands[i].name;
	names[n] = NULL;
	memset(&info, 0, sizeof(info));
	info.cluster_id = pol->cluster_id;
	info.engineer = engineer;
	info.commands = names;
	info.files_enabled = pol->files_enabled;
	info.settings_enabled = pol->settings_enabled;
	info.actions_enabled = pol->actions_enabled && pol->nactions > 0;
	mm_access_ops(&mon, pol, &ops);
	if (sbx_drop_privileges(pol->user, err, sizeof(err)) == -1 ||
	    sbx_confine_shell(&abi, err, sizeof(err)) == -1) {
		dprintf(1, "porthole: cannot start the shell: %s\r\n", err);
		_exit(1);
	}
	rc = shell_run(0, &ops, &info);
	_exit(rc < 0 ? 1 : rc);
}
