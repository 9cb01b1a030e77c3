/*
 * ns.c - namespaces of their own for the processes a session starts.
 *
 * sbx_ns_fork() starts a process as the first (PID 1) of new PID, IPC,
 * mount and network namespaces, and that process reaps (sbx_ns_reap)
 * while the diagnostic it started runs.  The kernel then does what no
 * signal to a process group can: when PID 1 exits, every process left
 * in its namespace is killed, and its parent's wait returns only once
 * they are all gone, a setsid()'d, double-forked daemon included.  So killing one
 * process ends everything a diagnostic started, and nothing outlives it.
 *
 * From inside, no process outside can be named: kill(2), pidfd_open(2)
 * and the /proc mounted afresh for the namespace know only its own
 * processes, so a diagnostic cannot signal another session's processes
 * although they run as the same user.  System V IPC objects and POSIX
 * message queues made inside go with the namespace.
 *
 * The network namespace has only a loopback interface, down, and no
 * sockets but its own: the abstract AF_UNIX names (systemd's, the
 * gateway's, another session's) belong to a network namespace, and so
 * are out of reach, as is every IP address.  A diagnostic that reads
 * /proc/net (netstat, ss, a script over /proc/net/tcp) sees this empty
 * namespace, not the host's sockets and interfaces.  Sockets at a path
 * (/dev/log, journald's) are files, not the namespace's: the
 * diagnostic's seccomp filter (sandbox.c) keeps those out of reach.
 *
 * The first process needs root (or, in a user namespace, its
 * capabilities) only to mount /proc.  Then it becomes the session's
 * user, with no capabilities and no_new_privs, before the diagnostic
 * is started: the process that outlives everything in the namespace
 * holds nothing a diagnostic could borrow.
 *
 * Making these namespaces takes CAP_SYS_ADMIN.  A gateway that does not
 * run as root makes a user namespace first, mapping only its own uid and
 * gid; that gives the capability inside the new namespaces and nothing
 * outside them.  If neither is possible (a kernel or container that
 * forbids unprivileged user namespaces), sbx_ns_fork() fails and the
 * diagnostic is not run: the sandbox is not silently weaker.
 */
#include "sandbox/sandbox.h"

#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/capability.h>

#define SBX_NS_FLAGS	(CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNS | \
			    CLONE_NEWNET)

/*
 * clone(2) with fork()'s semantics: the child goes on on a copy of this
 * stack.  Every argument but the flags is zero, so their order, which
 * differs between architectures, does not matter.  glibc's clone()
 * wants a new stack and fork() takes no flags.
 */
static pid_t
sbx_clone(unsigned long flags)
{
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
}

/* Write text to a /proc file of this process. */
static int
sbx_write_proc(const char *path, const char *text, char *err, size_t errlen)
{
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = write(fd, text, strlen(text));
	if (n != (ssize_t)strlen(text)) {
		snprintf(err, errlen, "%s: %s", path, n == -1 ?
		    strerror(errno) : "short write");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* In the new user namespace: be who we were, and nobody else. */
static int
sbx_map_ids(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	char map[64];

	if (sbx_write_proc("/proc/self/setgroups", "deny", err, errlen) == -1)
		return -1;
	snprintf(map, sizeof(map), "%lu %lu 1\n", (unsigned long)uid,
	    (unsigned long)uid);
	if (sbx_write_proc("/proc/self/uid_map", map, err, errlen) == -1)
		return -1;
	snprintf(map, sizeof(map), "%lu %lu 1\n", (unsigned long)gid,
	    (unsigned long)gid);
	return sbx_write_proc("/proc/self/gid_map", map, err, errlen);
}

/* Every capability, in every set: what the user namespace gave us. */
static int
sbx_drop_caps(char *err, size_t errlen)
{
	struct __user_cap_header_struct	hdr;
	struct __user_cap_data_struct	data[_LINUX_CAPABILITY_U32S_3];

	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capset, &hdr, data) == -1) {
		snprintf(err, errlen, "capset: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * /proc is mounted: become user (when root), keep no capability, and
 * gain none by exec.  Changing the uid clears the parent-death signal,
 * so it is set again; the ready byte written after this tells whether
 * the parent was still there.
 */
static int
sbx_ns_drop(const char *user, char *err, size_t errlen)
{
	if (sbx_drop_privileges(user, err, errlen) == -1 ||
	    sbx_drop_caps(err, errlen) == -1)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_PDEATHSIG, SIGKILL) == -1) {
		snprintf(err, errlen, "prctl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* In the namespace's first process, before it reports ready. */
static int
sbx_ns_setup(unsigned long flags, uid_t uid, gid_t gid, const char *user,
    char *err, size_t errlen)
{
	/* If the parent goes, so does the namespace (see sbx_ns_fork). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1) {
		snprintf(err, errlen, "PR_SET_PDEATHSIG: %s", strerror(errno));
		return -1;
	}
	if ((flags & CLONE_NEWUSER) && sbx_map_ids(uid, gid, err,
	    errlen) == -1)
		return -1;
	/*
	 * A /proc of the new PID namespace, showing only its processes.
	 * The mounts are made private first, or the new /proc would
	 * propagate to the gateway's own mount namespace.  In a chroot
	 * whose root is not a mount point (a build root, say) / cannot be
	 * made private (EINVAL); the /proc mount the new one goes on top
	 * of can, and since it is the only mount made here, that is
	 * enough.  Without either, the diagnostic is refused.
	 */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 &&
	    (errno != EINVAL ||
	    mount(NULL, "/proc", NULL, MS_REC | MS_PRIVATE, NULL) == -1)) {
		snprintf(err, errlen, "making / (or /proc) private: %s",
		    strerror(errno));
		return -1;
	}
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL) == -1) {
		snprintf(err, errlen, "mounting /proc: %s", strerror(errno));
		return -1;
	}
	return user != NULL ? sbx_ns_drop(user, err, errlen) : 0;
}

pid_t
sbx_ns_fork(const char *user, char *err, size_t errlen)
{
	unsigned long	 flags = SBX_NS_FLAGS;
	uid_t		 uid = geteuid();
	gid_t		 gid = getegid();
	char		 msg[256];
	size_t		 len = 0;
	ssize_t		 n;
	pid_t		 pid;
	int		 sync[2];

	if (uid != 0)
		flags |= CLONE_NEWUSER;
	if (pipe2(sync, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = sbx_clone(flags)) == -1) {
		snprintf(err, errlen, "cannot create the %snamespaces of a "
		    "diagnostic: %s%s", uid != 0 ? "user, PID and network " :
		    "PID and network ",
		    strerror(errno), uid != 0 && (errno == EPERM ||
		    errno == ENOSPC) ? " (unprivileged user namespaces are "
		    "not allowed here: run portholed as root, or allow them)" :
		    "");
		close(sync[0]);
		close(sync[1]);
		return -1;
	}
	if (pid == 0) {
		close(sync[0]);
		if (sbx_ns_setup(flags, uid, gid, user, msg,
		    sizeof(msg)) == -1) {
			n = write(sync[1], msg, strlen(msg));
			_exit(127);
		}
		/*
		 * PR_SET_PDEATHSIG came too late if the parent died before
		 * it; then nobody reads this and the write fails.
		 */
		if (write(sync[1], "", 1) != 1)
			_exit(127);
		close(sync[1]);
		return 0;
	}
	close(sync[1]);
	for (;;) {
		n = read(sync[0], msg + len, sizeof(msg) - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0 || (len += (size_t)n) == sizeof(msg) - 1)
			break;
	}
	close(sync[0]);
	if (len == 1 && msg[0] == '\0')
		return pid;
	msg[len] = '\0';
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	snprintf(err, errlen, "cannot set up the namespaces of a diagnostic: "
	    "%s", len > 0 ? msg : "their first process died");
	return -1;
}

int
sbx_ns_probe(char *err, size_t errlen)
{
	pid_t	pid;
	int	status;

	if ((pid = sbx_ns_fork(NULL, err, errlen)) == -1)
		return -1;
	if (pid == 0)
		_exit(0);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			return -1;
		}
	return 0;
}

/* An exit code that says how the process ended (128 + signal if killed). */
static int
sbx_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 127;
}

int
sbx_ns_reap(pid_t child)
{
	static const int	 forward[] = { SIGTERM, SIGINT, SIGHUP,
	    SIGQUIT, SIGUSR1, SIGUSR2 };
	struct signalfd_siginfo	 si;
	sigset_t		 set;
	size_t			 i;
	ssize_t			 n;
	pid_t			 pid;
	int			 sfd, status;

	/*
	 * Blocked signals wait in the signalfd; the SIGCHLD of a child that
	 * ended before this is found by the first waitpid() below.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (i = 0; i < sizeof(forward) / sizeof(forward[0]); i++)
		sigaddset(&set, forward[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (sfd = signalfd(-1, &set, SFD_CLOEXEC)) == -1)
		return 127;
	for (;;) {
		/* Orphans of the namespace are ours to reap. */
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			if (pid == child)
				return sbx_exit_code(status);
		if (pid == -1 && errno != EINTR)
			return 127;
		n = read(sfd, &si, sizeof(si));
		if (n == -1 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si))
			return 127;
		if (si.ssi_signo != SIGCHLD)
			(void)kill(child, (int)si.ssi_signo);
	}
}
