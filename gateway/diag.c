/*
 * diag.c - run a diagnostic and stream its output to the engineer.
 *
 * The command runs in its own process group with a fixed environment and
 * no descriptors but stdin (/dev/null), stdout and stderr.  Output is
 * written to the channel with blocking writes, outside any libssh
 * callback, so channel windows are honoured.  At the deadline the whole
 * group is killed.
 */
#include "gateway/diag.h"

#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"

static char *const diag_env[] = {
	"PATH=/usr/bin:/bin",
	"LANG=C",
	"HOME=/",
	NULL
};

/* In the diagnostic's process: wire the streams, then exec. */
static void
diag_child(char *const argv[], int out, int err)
{
	int null;

	setpgid(0, 0);
	if ((null = open("/dev/null", O_RDONLY)) == -1 ||
	    dup2(null, 0) == -1 || dup2(out, 1) == -1 || dup2(err, 2) == -1)
		_exit(127);
	closefrom(3);
	signal(SIGPIPE, SIG_DFL);
	execve(argv[0], argv, diag_env);
	dprintf(2, "porthole: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Copy what one pipe holds to the channel; returns 0 at EOF, -1 on error. */
static int
diag_copy(ssh_channel ch, int fd, int is_stderr, uint64_t *bytes)
{
	char	buf[32768];
	ssize_t	n;
	int	w;

	n = read(fd, buf, sizeof(buf));
	if (n == -1)
		return errno == EINTR || errno == EAGAIN ? 1 : -1;
	if (n == 0)
		return 0;
	w = is_stderr ? ssh_channel_write_stderr(ch, buf, (uint32_t)n) :
	    ssh_channel_write(ch, buf, (uint32_t)n);
	if (w != n)
		return -1;
	*bytes += (uint64_t)n;
	return 1;
}

int
diag_run(ssh_channel ch, char *const argv[], uint64_t timeout_s,
    struct diag_result *res, char *err, size_t errlen)
{
	struct pollfd	 pfd[2];
	uint64_t	 deadline, now;
	pid_t		 pid;
	int		 out[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int		 open_fds = 2, status, i, rc;

	memset(res, 0, sizeof(*res));
	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(errp, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		diag_child(argv, out[1], errp[1]);
	setpgid(pid, pid);
	close(out[1]);
	close(errp[1]);
	pfd[0].fd = out[0];
	pfd[1].fd = errp[0];
	pfd[0].events = pfd[1].events = POLLIN;
	deadline = clock_mono_ms() + timeout_s * 1000;
	while (open_fds > 0) {
		now = clock_mono_ms();
		if (now >= deadline) {
			res->timed_out = 1;
			kill(-pid, SIGKILL);
			break;
		}
		rc = poll(pfd, 2, (int)(deadline - now));
		if (rc == -1 && errno != EINTR)
			break;
		for (i = 0; i < 2 && rc > 0; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			rc = diag_copy(ch, pfd[i].fd, i, &res->bytes_out);
			if (rc == -1) {
				/* The engineer went away: stop the command. */
				kill(-pid, SIGKILL);
				open_fds = 0;
				break;
			}
			if (rc == 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
			}
			rc = 1;
		}
	}
	for (i = 0; i < 2; i++)
		if (pfd[i].fd != -1)
			close(pfd[i].fd);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	/* Nothing of the group may outlive the diagnostic. */
	kill(-pid, SIGKILL);
	if (WIFEXITED(status))
		res->exit_status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status)) {
		res->signal = WTERMSIG(status);
		res->exit_status = 128 + res->signal;
	}
	if (res->timed_out)
		res->exit_status = 124;
	return 0;
fail:
	for (i = 0; i < 2; i++) {
		if (out[i] != -1)
			close(out[i]);
		if (errp[i] != -1)
			close(errp[i]);
	}
	return -1;
}
