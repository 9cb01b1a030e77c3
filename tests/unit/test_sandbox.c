/*
 * test_sandbox.c - what a confined process can and cannot do.  Each case
 * runs in a forked process that confines itself and then tries one act.
 */
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "sandbox/sandbox.h"

#define CASE_OK		0	/* exit status: the act behaved as expected */
#define CASE_WRONG	3	/* exit status: it did not */

/* Run act() confined; return the wait status. */
static int
confined(int (*act)(int), int fd)
{
	char	err[256];
	pid_t	pid;
	int	status, abi;

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		if (sbx_confine(&abi, err, sizeof(err)) == -1)
			_exit(99);
		_exit(act(fd));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
assert_exit(int status, int code)
{
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), code);
}

static void
assert_killed(int status)
{
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

static int
do_open(int fd)
{
	(void)fd;
	return open("/etc/hostname", O_RDONLY) == -1 && errno == EACCES ?
	    CASE_OK : CASE_WRONG;
}

static int
do_write(int fd)
{
	return write(fd, "x", 1) == 1 ? CASE_OK : CASE_WRONG;
}

static int
do_socket(int fd)
{
	(void)fd;
	(void)socket(AF_INET, SOCK_STREAM, 0);
	return CASE_WRONG;
}

static int
do_exec(int fd)
{
	char *argv[] = { "/bin/true", NULL };

	(void)fd;
	execve(argv[0], argv, argv + 1);
	return CASE_WRONG;
}

static int
do_fork(int fd)
{
	(void)fd;
	if (fork() == 0)
		_exit(0);
	return CASE_WRONG;
}

static int
do_ptrace(int fd)
{
	(void)fd;
	(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	return CASE_WRONG;
}

static int
do_kill_other(int fd)
{
	(void)fd;
	(void)kill(1, 0);
	return CASE_WRONG;
}

static int
do_mprotect_exec(int fd)
{
	static char page[8192] __attribute__((aligned(4096)));

	(void)fd;
	(void)mprotect(page, 4096, PROT_READ | PROT_EXEC);
	return CASE_WRONG;
}

static int
do_mmap_exec(int fd)
{
	(void)fd;
	(void)mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return CASE_WRONG;
}

static void
test_allowed(void **state)
{
	int	p[2];
	char	c;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_exit(confined(do_write, p[1]), CASE_OK);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	close(p[1]);
	/* Opening a file fails with EACCES, as in OpenSSH's sandbox. */
	assert_exit(confined(do_open, -1), CASE_OK);
}

static void
test_killed(void **state)
{
	(void)state;
	assert_killed(confined(do_socket, -1));
	assert_killed(confined(do_exec, -1));
	assert_killed(confined(do_fork, -1));
	assert_killed(confined(do_ptrace, -1));
	assert_killed(confined(do_kill_other, -1));
	assert_killed(confined(do_mprotect_exec, -1));
	assert_killed(confined(do_mmap_exec, -1));
}

/* Sleep in a wait the parent stops and continues (restart_syscall). */
static int
do_stopped_wait(int fd)
{
	struct timespec ts = { 0, 300 * 1000 * 1000 };

	(void)fd;
	(void)nanosleep(&ts, NULL);
	return CASE_OK;
}

/* Stopping and continuing a session (SIGSTOP, a cgroup freezer,
 * strace attaching) must not kill it. */
static void
test_stop_continue(void **state)
{
	char	err[256];
	pid_t	pid;
	int	status, abi;

	(void)state;
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		if (sbx_confine(&abi, err, sizeof(err)) == -1)
			_exit(99);
		_exit(do_stopped_wait(-1));
	}
	usleep(100 * 1000);
	kill(pid, SIGSTOP);
	usleep(50 * 1000);
	kill(pid, SIGCONT);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_exit(status, CASE_OK);
}

/*
 * A diagnostic reads the product's paths but cannot change them, not
 * even by truncating a file its user could write (Landlock ABI 3 on).
 */
static void
test_diag_read_only(void **state)
{
	char		 dir[] = "/tmp/test_sandbox.XXXXXX", file[64], c;
	const char	*paths[2];
	char		 err[256];
	pid_t		 pid;
	int		 status, fd;

	(void)state;
	if (sbx_landlock_abi() < 3)
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/server.log", dir);
	fd = open(file, O_WRONLY | O_CREAT, 0666);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	paths[0] = dir;
	paths[1] = NULL;
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		if (sbx_confine_diag("/bin/true", paths, err,
		    sizeof(err)) == -1)
			_exit(99);
		if ((fd = open(file, O_RDONLY)) == -1 || read(fd, &c, 1) != 1)
			_exit(CASE_WRONG);	/* reading must work */
		if (truncate(file, 0) == 0 || errno != EACCES)
			_exit(CASE_WRONG + 1);
		if (open(file, O_WRONLY) != -1)
			_exit(CASE_WRONG + 2);
		_exit(CASE_OK);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_exit(status, CASE_OK);
	unlink(file);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_killed),
		cmocka_unit_test(test_diag_read_only),
		cmocka_unit_test(test_stop_continue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
