/*
 * test_sandbox.c - what a confined process can and cannot do.  Each case
 * runs in a forked process that confines itself and then tries one act.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
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
#include <seccomp.h>

#include <linux/capability.h>

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

/* Run act() under a diagnostic's filter; return the wait status. */
static int
diag_confined(int (*act)(int), int fd)
{
	char	err[256];
	pid_t	pid;
	int	status;

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		if (sbx_confine_diag("/bin/true", NULL, err, sizeof(err)) == -1)
			_exit(99);
		_exit(act(fd));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* A raw call's result: the errno it failed with, or 0. */
static int
call_errno(long rc)
{
	return rc == -1 ? errno : 0;
}

static int
do_uring_setup(int fd)
{
	char params[120];

	(void)fd;
	memset(params, 0, sizeof(params));
	return call_errno(syscall(SYS_io_uring_setup, 4, params)) == ENOSYS ?
	    CASE_OK : CASE_WRONG;
}

static int
do_uring_enter(int fd)
{
	return call_errno(syscall(SYS_io_uring_enter, fd, 1, 1, 0, NULL,
	    0)) == ENOSYS ? CASE_OK : CASE_WRONG;
}

static int
do_uring_register(int fd)
{
	return call_errno(syscall(SYS_io_uring_register, fd, 0, NULL,
	    0)) == ENOSYS ? CASE_OK : CASE_WRONG;
}

static int
do_clone3(int fd)
{
	(void)fd;
	return call_errno(syscall(SYS_clone3, NULL, 0)) == ENOSYS ?
	    CASE_OK : CASE_WRONG;
}

static int
do_diag_socket(int fd)
{
	(void)fd;
	return socket(AF_INET, SOCK_STREAM, 0) == -1 && errno == EACCES ?
	    CASE_OK : CASE_WRONG;
}

static int
do_syslog(int fd)
{
	char buf[64];

	(void)fd;
	/* SYSLOG_ACTION_READ_ALL */
	return call_errno(syscall(SYS_syslog, 3, buf, sizeof(buf))) ==
	    EPERM ? CASE_OK : CASE_WRONG;
}

/* fork(2) is clone(2) without CLONE_NEW*: still allowed. */
static int
do_diag_fork(int fd)
{
	pid_t	pid;
	int	status;

	(void)fd;
	if ((pid = fork()) == 0)
		_exit(7);
	return pid > 0 && waitpid(pid, &status, 0) == pid &&
	    WIFEXITED(status) && WEXITSTATUS(status) == 7 ? CASE_OK :
	    CASE_WRONG;
}

static unsigned long clone_flag;

static int
do_clone_new(int fd)
{
	pid_t pid;

	(void)fd;
	pid = (pid_t)syscall(SYS_clone, clone_flag | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0)
		_exit(0);
	return CASE_WRONG;
}

static int
do_unshare(int fd)
{
	(void)fd;
	(void)unshare(CLONE_NEWUSER);
	return CASE_WRONG;
}

static int
do_setns(int fd)
{
	(void)fd;
	(void)setns(-1, 0);
	return CASE_WRONG;
}

static int
do_pidfd_getfd(int fd)
{
	(void)fd;
	(void)syscall(SYS_pidfd_getfd, 0, 0, 0);
	return CASE_WRONG;
}

static int
do_open_by_handle(int fd)
{
	(void)fd;
	(void)syscall(SYS_open_by_handle_at, -1, NULL, 0);
	return CASE_WRONG;
}

static int
do_fsopen(int fd)
{
	(void)fd;
	(void)syscall(SYS_fsopen, "proc", 0);
	return CASE_WRONG;
}

static int
do_socketpair(int fd)
{
	int sv[2];

	(void)fd;
	return socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == -1 &&
	    errno == EACCES ? CASE_OK : CASE_WRONG;
}

/* The abstract name the tests below aim at, bound by the test. */
static struct sockaddr_un	sink_addr;
static socklen_t		sink_len;

/*
 * fd: one end of a datagram pair made before the filter.  Sending to
 * its peer passes; to an address, by sendto, sendmsg or sendmmsg, not.
 */
static int
do_send_addressed(int fd)
{
	struct msghdr	msg;
	struct mmsghdr	mm;
	struct iovec	iov = { "x", 1 };

	if (send(fd, "x", 1, 0) != 1 ||
	    sendto(fd, "x", 1, 0, NULL, 0) != 1)
		return CASE_WRONG;
	if (sendto(fd, "x", 1, 0, (struct sockaddr *)&sink_addr,
	    sink_len) != -1 || errno != EACCES)
		return CASE_WRONG;
	memset(&msg, 0, sizeof(msg));
	msg.msg_name = &sink_addr;
	msg.msg_namelen = sink_len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (sendmsg(fd, &msg, 0) != -1 || errno != EACCES)
		return CASE_WRONG;
	memset(&mm, 0, sizeof(mm));
	mm.msg_hdr = msg;
	return sendmmsg(fd, &mm, 1, 0) == -1 && errno == EACCES ? CASE_OK :
	    CASE_WRONG;
}

/* Landlock's scope (ABI 6): no abstract socket made outside. */
static int
do_connect_abstract(int fd)
{
	return connect(fd, (struct sockaddr *)&sink_addr, sink_len) == -1 &&
	    errno == EPERM ? CASE_OK : CASE_WRONG;
}

/* Local datagram sockets without socket(2). */
static void
test_diag_dgram(void **state)
{
	char	buf[8];
	int	sink, sv[2];

	(void)state;
	assert_exit(diag_confined(do_socketpair, -1), CASE_OK);
	memset(&sink_addr, 0, sizeof(sink_addr));
	sink_addr.sun_family = AF_UNIX;
	snprintf(sink_addr.sun_path + 1, sizeof(sink_addr.sun_path) - 1,
	    "test_sandbox-%ld", (long)getpid());
	sink_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    strlen(sink_addr.sun_path + 1));
	assert_true((sink = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK,
	    0)) != -1);
	assert_int_equal(bind(sink, (struct sockaddr *)&sink_addr, sink_len),
	    0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	assert_exit(diag_confined(do_send_addressed, sv[0]), CASE_OK);
	if (sbx_landlock_abi() >= 6)
		assert_exit(diag_confined(do_connect_abstract, sv[0]),
		    CASE_OK);
	else
		print_message("Landlock ABI %d: no scope for abstract "
		    "sockets here\n", sbx_landlock_abi());
	/* The peer got what was sent to it; the sink, nothing. */
	assert_int_equal(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), 1);
	assert_int_equal(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), 1);
	assert_int_equal(recv(sink, buf, sizeof(buf), MSG_DONTWAIT), -1);
	close(sink);
	close(sv[0]);
	close(sv[1]);
}

/* The diagnostics' filter: each way out, one row. */
static void
test_diag_filter(void **state)
{
	static const unsigned long flags[] = { CLONE_NEWNS, CLONE_NEWCGROUP,
	    CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
	    CLONE_NEWNET };
	size_t	i;
	int	p[2];

	(void)state;
	assert_exit(diag_confined(do_uring_setup, -1), CASE_OK);
	assert_int_equal(pipe(p), 0);
	assert_exit(diag_confined(do_uring_enter, p[0]), CASE_OK);
	assert_exit(diag_confined(do_uring_register, p[0]), CASE_OK);
	close(p[0]);
	close(p[1]);
	assert_exit(diag_confined(do_clone3, -1), CASE_OK);
	assert_exit(diag_confined(do_diag_socket, -1), CASE_OK);
	assert_exit(diag_confined(do_syslog, -1), CASE_OK);
	assert_exit(diag_confined(do_diag_fork, -1), CASE_OK);
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		clone_flag = flags[i];
		assert_killed(diag_confined(do_clone_new, -1));
	}
	assert_killed(diag_confined(do_unshare, -1));
	assert_killed(diag_confined(do_setns, -1));
	assert_killed(diag_confined(do_pidfd_getfd, -1));
	assert_killed(diag_confined(do_open_by_handle, -1));
	assert_killed(diag_confined(do_fsopen, -1));
	assert_killed(diag_confined(do_ptrace, -1));
}

/* The directories a bundle's builder may read and write. */
static char	bundle_read[64], bundle_write[64];

/* Run act() as a bundle's builder confines itself; the wait status. */
static int
bundle_confined(int (*act)(int), int fd)
{
	const char	*roots[] = { bundle_read, NULL };
	char		 err[256];
	pid_t		 pid;
	int		 status;

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		if (sbx_confine_bundle(roots, bundle_write, err,
		    sizeof(err)) == -1)
			_exit(99);
		_exit(act(fd));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* It reads beneath its roots, and writes an unnamed file where it may. */
static int
do_bundle_work(int fd)
{
	char	path[128], buf[8];
	int	f, t;

	(void)fd;
	snprintf(path, sizeof(path), "%s/app.log", bundle_read);
	if ((f = open(path, O_RDONLY)) == -1 || read(f, buf, 4) != 4)
		return CASE_WRONG;
	close(f);
	if ((t = open(bundle_write, O_TMPFILE | O_RDWR, 0600)) == -1 ||
	    write(t, buf, 4) != 4 || ftruncate(t, 0) == -1)
		return CASE_WRONG;
	close(t);
	return CASE_OK;
}

/* Nothing outside them: not /etc, not writing where it reads. */
static int
do_bundle_outside(int fd)
{
	char path[128];

	(void)fd;
	snprintf(path, sizeof(path), "%s/new", bundle_read);
	if (open("/etc/hostname", O_RDONLY) != -1 || errno != EACCES ||
	    open(path, O_WRONLY | O_CREAT, 0600) != -1 || errno != EACCES)
		return CASE_WRONG;
	return CASE_OK;
}

/*
 * A bundle's builder reads and writes only where it is told; a socket,
 * an exec and a fork kill it.
 */
static void
test_bundle_filter(void **state)
{
	char	path[128];
	int	f;

	(void)state;
	if (sbx_landlock_abi() == 0)
		skip();
	snprintf(bundle_read, sizeof(bundle_read), "/tmp/sbx-read.XXXXXX");
	snprintf(bundle_write, sizeof(bundle_write), "/tmp/sbx-write.XXXXXX");
	assert_non_null(mkdtemp(bundle_read));
	assert_non_null(mkdtemp(bundle_write));
	snprintf(path, sizeof(path), "%s/app.log", bundle_read);
	assert_true((f = open(path, O_WRONLY | O_CREAT, 0600)) != -1);
	assert_int_equal(write(f, "log\n", 4), 4);
	close(f);
	assert_exit(bundle_confined(do_bundle_work, -1), CASE_OK);
	assert_exit(bundle_confined(do_bundle_outside, -1), CASE_OK);
	assert_killed(bundle_confined(do_socket, -1));
	assert_killed(bundle_confined(do_exec, -1));
	assert_killed(bundle_confined(do_fork, -1));
	assert_killed(bundle_confined(do_ptrace, -1));
	assert_killed(bundle_confined(do_mprotect_exec, -1));
	unlink(path);
	rmdir(bundle_read);
	rmdir(bundle_write);
}

/*
 * In the namespace's first process: start a child that leaves a
 * setsid()'d grandchild holding w (the write end of the caller's pipe)
 * and then exits with code, or (code -1) waits for a signal; reap.
 */
static void __attribute__((noreturn))
ns_first(int w, int code)
{
	pid_t child;

	if (getpid() != 1)
		_exit(90);
	if ((child = fork()) == 0) {
		if (fork() == 0) {
			(void)setsid();
			for (;;)
				pause();
		}
		if (code >= 0)
			_exit(code);
		for (;;)
			pause();
	}
	close(w);
	_exit(sbx_ns_reap(child));
}

/* Is the pipe's write end closed everywhere (within a second)? */
static int
all_closed(int r)
{
	struct pollfd	pfd = { r, POLLIN, 0 };
	char		c;

	return poll(&pfd, 1, 1000) == 1 && read(r, &c, 1) == 0;
}

/* Start ns_first(code) in new namespaces; *r the pipe's read end. */
static pid_t
ns_start(int code, int *r)
{
	char	err[256];
	pid_t	pid;
	int	p[2];

	assert_int_equal(pipe(p), 0);
	pid = sbx_ns_fork(NULL, err, sizeof(err));
	if (pid == -1)
		fail_msg("sbx_ns_fork: %s", err);
	if (pid == 0) {
		close(p[0]);
		ns_first(p[1], code);
	}
	close(p[1]);
	*r = p[0];
	return pid;
}

/*
 * The first process is PID 1; when its child exits, it returns that
 * status and what the child left behind dies with it.
 */
static void
test_ns_reaper(void **state)
{
	pid_t	pid;
	int	r, status;

	(void)state;
	pid = ns_start(5, &r);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_exit(status, 5);
	assert_true(all_closed(r));
	close(r);
}

/* A SIGTERM to the reaper goes to its child: 128 + 15. */
static void
test_ns_forward(void **state)
{
	pid_t	pid;
	int	r, status;

	(void)state;
	pid = ns_start(-1, &r);
	usleep(200 * 1000);
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_exit(status, 128 + SIGTERM);
	assert_true(all_closed(r));
	close(r);
}

/* Killing the reaper kills the namespace. */
static void
test_ns_kill(void **state)
{
	pid_t	pid;
	int	r, status;

	(void)state;
	pid = ns_start(-1, &r);
	usleep(200 * 1000);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_true(all_closed(r));
	close(r);
}

/*
 * Without root (a user namespace maps only our own uid): PID 1 still,
 * the same uid, and /proc shows only the namespace's processes.
 */
static void
test_ns_unprivileged(void **state)
{
	struct passwd	*pw = NULL;
	char		 err[256];
	pid_t		 pid, ns;
	int		 status;

	(void)state;
	if (geteuid() == 0 && (pw = getpwnam("nobody")) == NULL)
		skip();
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		/*
		 * Become a gateway started as nobody.  Changing the uid
		 * made us undumpable, which a freshly exec'd program is not
		 * (and /proc/self/uid_map would not be ours to write).
		 */
		if (pw != NULL && (setgid(pw->pw_gid) == -1 ||
		    setuid(pw->pw_uid) == -1 ||
		    prctl(PR_SET_DUMPABLE, 1) == -1))
			_exit(91);
		if ((ns = sbx_ns_fork(NULL, err, sizeof(err))) == -1) {
			fprintf(stderr, "# %s\n", err);
			_exit(77);
		}
		if (ns == 0)
			_exit(getpid() == 1 && access("/proc/1", F_OK) == 0 &&
			    access("/proc/2", F_OK) == -1 ? CASE_OK :
			    CASE_WRONG);
		if (waitpid(ns, &status, 0) != ns || !WIFEXITED(status))
			_exit(92);
		_exit(WEXITSTATUS(status));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		skip();	/* no unprivileged user namespaces here */
	assert_exit(status, CASE_OK);
}

/*
 * In the namespace's first process, made for user: is it that user,
 * without a capability in any set, with no_new_privs, and still to die
 * with its parent (the uid change cleared that, and it was set again)?
 */
static int
ns_dropped(uid_t uid)
{
	struct __user_cap_header_struct	hdr;
	struct __user_cap_data_struct	data[_LINUX_CAPABILITY_U32S_3];
	uid_t				r, e, sv;
	size_t				i;
	int				sig = 0;

	if (getresuid(&r, &e, &sv) == -1 || r != uid || e != uid ||
	    sv != uid)
		return CASE_WRONG;
	memset(&hdr, 0, sizeof(hdr));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &hdr, data) == -1)
		return CASE_WRONG;
	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (data[i].effective != 0 || data[i].permitted != 0 ||
		    data[i].inheritable != 0)
			return CASE_WRONG;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 ||
	    prctl(PR_GET_PDEATHSIG, &sig) == -1 || sig != SIGKILL)
		return CASE_WRONG;
	return getpid() == 1 ? CASE_OK : CASE_WRONG;
}

/*
 * The reaper needs its privileges only to mount /proc: made for a user,
 * it is that user, with nothing, before it starts anything.  As root,
 * and as a gateway started as nobody (in a user namespace, where it got
 * every capability).
 */
static void
test_ns_drop(void **state)
{
	struct passwd	*pw;
	char		 err[256];
	pid_t		 pid, ns;
	int		 status, as_nobody;

	(void)state;
	if (geteuid() != 0 || (pw = getpwnam("nobody")) == NULL)
		skip();
	for (as_nobody = 0; as_nobody <= 1; as_nobody++) {
		pid = fork();
		assert_true(pid != -1);
		if (pid == 0) {
			if (as_nobody && (setgid(pw->pw_gid) == -1 ||
			    setuid(pw->pw_uid) == -1 ||
			    prctl(PR_SET_DUMPABLE, 1) == -1))
				_exit(91);
			if ((ns = sbx_ns_fork("nobody", err,
			    sizeof(err))) == -1) {
				fprintf(stderr, "# %s\n", err);
				_exit(as_nobody ? 77 : 93);
			}
			if (ns == 0)
				_exit(ns_dropped(pw->pw_uid));
			if (waitpid(ns, &status, 0) != ns ||
			    !WIFEXITED(status))
				_exit(92);
			_exit(WEXITSTATUS(status));
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (as_nobody && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 77)
			skip();	/* no unprivileged user namespaces here */
		assert_exit(status, CASE_OK);
	}
}

/*
 * Where namespaces cannot be made (a container's filter, no user
 * namespaces for us), sbx_ns_fork() fails, saying why, and starts
 * nothing: the caller refuses the diagnostic.
 */
static void
test_ns_refused(void **state)
{
	scmp_filter_ctx	 ctx;
	char		 err[256];
	pid_t		 pid;
	int		 status;

	(void)state;
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL ||
		    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
		    SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ,
		    CLONE_NEWPID, CLONE_NEWPID)) != 0 ||
		    seccomp_load(ctx) != 0)
			_exit(90);
		if (sbx_ns_probe(err, sizeof(err)) != -1 ||
		    strstr(err, "cannot create the ") == NULL ||
		    strstr(err, "Operation not permitted") == NULL)
			_exit(CASE_WRONG);
		/* Nothing was started: there is no child to wait for. */
		_exit(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD ?
		    CASE_OK : CASE_WRONG + 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_exit(status, CASE_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_killed),
		cmocka_unit_test(test_diag_read_only),
		cmocka_unit_test(test_stop_continue),
		cmocka_unit_test(test_diag_dgram),
		cmocka_unit_test(test_diag_filter),
		cmocka_unit_test(test_bundle_filter),
		cmocka_unit_test(test_ns_reaper),
		cmocka_unit_test(test_ns_forward),
		cmocka_unit_test(test_ns_kill),
		cmocka_unit_test(test_ns_unprivileged),
		cmocka_unit_test(test_ns_drop),
		cmocka_unit_test(test_ns_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
