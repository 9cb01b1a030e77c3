/*
 * diag.c - start a diagnostic (monitor side) and stream its output to
 * the engineer (the session child copies its pipes).
 */
#include "gateway/monitor/diag.h"

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
	sigset_t	none;
	char		msg[256];
	int		null;

	setpgid(0, 0);
	if ((null = open("/dev/null", O_RDONLY)) == -1 ||
	    dup2(null, 0) == -1 || dup2(out, 1) == -1 || dup2(err, 2) == -1)
		_exit(127);
	closefrom(3);
	/* Not the monitor's blocked SIGTERM nor its ignored SIGPIPE. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setrlimit(RLIMIT_CORE, &core);
	setrlimit(RLIMIT_NOFILE, &files);
	if (sbx_drop_privileges(user, msg, sizeof(msg)) == -1 ||
	    sbx_confine_diag(argv[0], read_paths, msg, sizeof(msg)) == -1) {
		dprintf(2, "porthole: %s\n", msg);
		_exit(127);
	}
	setrlimit(RLIMIT_CPU, &cpu);
	execve(argv[0], argv, diag_env);
	dprintf(2, "porthole: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/*
 * PID 1 of the diagnostic's namespaces: start it, then reap until it
 * ends.  Its exit (or the monitor's SIGKILL, or the monitor's death)
 * kills everything the diagnostic left in the namespace.
 */
static void __attribute__((noreturn))
diag_init(char *const argv[], const char *user,
    const char *const *read_paths, rlim_t cpu_s, int out, int err)
{
	pid_t pid;

	setpgid(0, 0);
	(void)prctl(PR_SET_NAME, "portholed-pid1");
	if ((pid = fork()) == -1) {
		dprintf(err, "porthole: fork: %s\n", strerror(errno));
		_exit(127);
	}
	if (pid == 0)
		diag_child(argv, user, read_paths, cpu_s, out, err);
	/* Its output ends when the diagnostic's does, not when we do. */
	closefrom(0);
	_exit(sbx_ns_reap(pid));
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
	if ((*pid = sbx_ns_fork(user, errbuf, errlen)) == -1)
		goto fail;
	if (*pid == 0)
		diag_init(argv, user, read_paths, (rlim_t)timeout_s + 1, o[1],
		    e[1]);
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
