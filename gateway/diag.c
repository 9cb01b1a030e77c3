/*
 * diag.c - start a diagnostic (monitor side) and stream its output to
 * the engineer (the session child copies its pipes).
 */
#include "gateway/diag.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/sandbox.h"

static char *const diag_env[] = {
	"PATH=/usr/bin:/bin",
	"LANG=C",
	"HOME=/",
	NULL
};

/* In the diagnostic's process: limits, streams, user, then exec. */
static void __attribute__((noreturn))
diag_child(char *const argv[], const char *user,
    const char *const *read_paths, rlim_t cpu_s, int out, int err)
{
	struct rlimit	core = { 0, 0 }, files = { 64, 64 };
	struct rlimit	cpu = { cpu_s, cpu_s };
	char		msg[256];
	int		null;

	setpgid(0, 0);
	if ((null = open("/dev/null", O_RDONLY)) == -1 ||
	    dup2(null, 0) == -1 || dup2(out, 1) == -1 || dup2(err, 2) == -1)
		_exit(127);
	closefrom(3);
	signal(SIGPIPE, SIG_DFL);
	setrlimit(RLIMIT_CORE, &core);
	setrlimit(RLIMIT_NOFILE, &files);
	if (sbx_drop_privileges(user, msg, sizeof(msg)) == -1 ||
	    sbx_confine_diag(argv[0], read_paths, msg, sizeof(msg)) == -1) {
		dprintf(2, "porthole: %s\n", msg);
		_exit(127);
	}
	/*
	 * Even if it leaves its process group, it dies with the monitor
	 * (set after the uid change, which clears it), and CPU time is capped.
	 */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(127);
	setrlimit(RLIMIT_CPU, &cpu);
	execve(argv[0], argv, diag_env);
	dprintf(2, "porthole: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int
diag_spawn(char *const argv[], const char *user,
    const char *const *read_paths, uint64_t timeout_s, pid_t *pid, int *out,
    int *err, char *errbuf, size_t errlen)
{
	int o[2] = { -1, -1 }, e[2] = { -1, -1 };

	if (pipe2(o, O_CLOEXEC) == -1 || pipe2(e, O_CLOEXEC) == -1) {
		snprintf(errbuf, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	if ((*pid = fork()) == -1) {
		snprintf(errbuf, errlen, "fork: %s", strerror(errno));
		goto fail;
	}
	if (*pid == 0)
		diag_child(argv, user, read_paths, (rlim_t)timeout_s + 1, o[1],
		    e[1]);
	setpgid(*pid, *pid);
	close(o[1]);
	close(e[1]);
	*out = o[0];
	*err = e[0];
	return 0;
fail:
	if (o[0] != -1) {
		close(o[0]);
		close(o[1]);
	}
	if (e[0] != -1) {
		close(e[0]);
		close(e[1]);
	}
	return -1;
}
