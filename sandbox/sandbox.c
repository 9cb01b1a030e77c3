/*
 * sandbox.c - privilege drop, resource limits, Landlock and the seccomp
 * allow-list for the session child.
 *
 * The allow-list is what a libssh server needs after its key exchange
 * has been prepared (see ../shared/notes/libssh-0.10.md): socket I/O on
 * descriptors it already holds, memory management, time, randomness and
 * exit.  Descriptors arrive only from the monitor (recvmsg with
 * SCM_RIGHTS).  Everything else kills the process, which the monitor
 * sees as SIGSYS and audits.
 */
#include "sandbox/sandbox.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/landlock.h>
#include <seccomp.h>

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset	444
#define __NR_landlock_add_rule		445
#define __NR_landlock_restrict_self	446
#endif

/* What a diagnostic may read and run besides the product's own paths. */
static const char *const sbx_system_paths[] = {
	"/usr", "/bin", "/sbin", "/lib", "/lib64",
	"/etc/ld.so.cache", "/etc/localtime",
	"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom",
	"/proc/self", NULL
};

int
sbx_drop_privileges(const char *user, char *err, size_t errlen)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user '%s' does not exist", user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user '%s' is root", user);
		return -1;
	}
	if (setgroups(0, NULL) == -1 || setresgid(pw->pw_gid, pw->pw_gid,
	    pw->pw_gid) == -1 || setresuid(pw->pw_uid, pw->pw_uid,
	    pw->pw_uid) == -1) {
		snprintf(err, errlen, "cannot become '%s': %s", user,
		    strerror(errno));
		return -1;
	}
	/* There must be no way back. */
	if (setuid(0) != -1 || setgid(0) != -1) {
		snprintf(err, errlen, "could regain root after dropping it");
		return -1;
	}
	return 0;
}

static int
sbx_limits(char *err, size_t errlen)
{
	struct rlimit zero = { 0, 0 }, fds = { SBX_MAX_FDS, SBX_MAX_FDS };

	/* No processes, no file growth, a handful of descriptors. */
	if (setrlimit(RLIMIT_NPROC, &zero) == -1 ||
	    setrlimit(RLIMIT_FSIZE, &zero) == -1 ||
	    setrlimit(RLIMIT_NOFILE, &fds) == -1 ||
	    setrlimit(RLIMIT_CORE, &zero) == -1) {
		snprintf(err, errlen, "setrlimit: %s", strerror(errno));
		return -1;
	}
#if !defined(__SANITIZE_ADDRESS__)
	{
		/* ASan reserves terabytes of address space: no cap there. */
		struct rlimit mem = { 512UL << 20, 512UL << 20 };

		if (setrlimit(RLIMIT_AS, &mem) == -1) {
			snprintf(err, errlen, "setrlimit AS: %s",
			    strerror(errno));
			return -1;
		}
	}
#endif
	return 0;
}

int
sbx_landlock_abi(void)
{
	long abi;

	abi = syscall(__NR_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	return abi < 0 ? 0 : (int)abi;
}

/*
 * Rights of later ABIs than Debian bookworm's header knows: truncate(2)
 * and ftruncate(2) (ABI 3), ioctl(2) on devices (ABI 5).  Handling a
 * right without granting it denies it.
 */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)
#endif

/*
 * A ruleset's attributes up to ABI 6, of which bookworm's header has
 * only the first; the size given to the kernel says how many it reads.
 * ABI 6 scopes abstract AF_UNIX sockets: a process in the ruleset may
 * connect or send only to those made inside it.
 */
struct sbx_landlock_attr {
	uint64_t	handled_access_fs;
	uint64_t	handled_access_net;	/* ABI 4 */
	uint64_t	scoped;			/* ABI 6 */
};
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET	(1ULL << 0)
#endif

/* Every filesystem right this kernel's Landlock ABI knows of. */
static uint64_t
sbx_landlock_all(int abi)
{
	uint64_t all = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;

	if (abi >= 2)
		all |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		all |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		all |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return all;
}

/* Add a rule: rights beneath path (if it exists).  0, or -1 with err. */
static int
sbx_landlock_rule(int fd, const char *path, uint64_t rights, char *err,
    size_t errlen)
{
	struct landlock_path_beneath_attr	rule;
	struct stat				st;
	int					pfd;

	if ((pfd = open(path, O_PATH | O_CLOEXEC)) == -1)
		return 0;	/* absent here: nothing to allow */
	memset(&rule, 0, sizeof(rule));
	rule.parent_fd = pfd;
	rule.allowed_access = rights;
	/* Directory rights cannot be granted on a file. */
	if (fstat(pfd, &st) == 0 && !S_ISDIR(st.st_mode))
		rule.allowed_access &= ~(LANDLOCK_ACCESS_FS_READ_DIR |
		    LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_REMOVE_FILE);
	if (syscall(__NR_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH,
	    &rule, 0) == -1) {
		snprintf(err, errlen, "landlock: %s: %s", path,
		    strerror(errno));
		close(pfd);
		return -1;
	}
	close(pfd);
	return 0;
}

/*
 * A new ruleset handling every right this kernel's Landlock knows of
 * and, where its ABI has the scope, abstract AF_UNIX sockets: what is
 * not added to it is denied.  Its descriptor, or -1 with err.
 */
static int
sbx_landlock_ruleset(int abi, char *err, size_t errlen)
{
	struct sbx_landlock_attr	attr;
	int				fd;

	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = sbx_landlock_all(abi);
	if (abi >= 6)
		attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET;
	fd = (int)syscall(__NR_landlock_create_ruleset, &attr, abi >= 6 ?
	    sizeof(attr) : sizeof(attr.handled_access_fs), 0);
	if (fd == -1)
		snprintf(err, errlen, "landlock: %s", strerror(errno));
	return fd;
}

/* Confine the calling process to the ruleset fd and close it. */
static int
sbx_landlock_enforce(int fd, char *err, size_t errlen)
{
	int rc = 0;

	if (syscall(__NR_landlock_restrict_self, fd, 0) == -1) {
		snprintf(err, errlen, "landlock: %s", strerror(errno));
		rc = -1;
	}
	close(fd);
	return rc;
}

/* Allow reading and executing beneath each path that exists. */
static int
sbx_landlock_read_only(const char *const *paths, char *err, size_t errlen)
{
	const uint64_t	ro = LANDLOCK_ACCESS_FS_EXECUTE |
	    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	size_t		i;
	int		abi, fd;

	if ((abi = sbx_landlock_abi()) == 0)
		return 0;
	if ((fd = sbx_landlock_ruleset(abi, err, errlen)) == -1)
		return -1;
	for (i = 0; paths[i] != NULL; i++)
		if (sbx_landlock_rule(fd, paths[i], ro, err, errlen) == -1) {
			close(fd);
			return -1;
		}
	return sbx_landlock_enforce(fd, err, errlen);
}

/* Deny every file access this kernel's Landlock knows of. */
static int
sbx_landlock(int *abi_out, char *err, size_t errlen)
{
	static const char *const none[] = { NULL };

	*abi_out = sbx_landlock_abi();
	return sbx_landlock_read_only(none, err, errlen);
}

/* Give every call in calls[0..n) the same action. */
static int
sbx_rules(scmp_filter_ctx ctx, uint32_t action, const int *calls, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (seccomp_rule_add(ctx, action, calls[i], 0) != 0)
			return -1;
	return 0;
}

/* Load a finished filter (with no_new_privs) and release it. */
static int
sbx_load(scmp_filter_ctx ctx, int built, const char *what, char *err,
    size_t errlen)
{
	int rc = -1;

	if (built && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) == 0 &&
	    seccomp_load(ctx) == 0)
		rc = 0;
	else
		snprintf(err, errlen, "cannot install the %s seccomp filter",
		    what);
	seccomp_release(ctx);
	return rc;
}

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * The calls every allow-list below holds: I/O on descriptors the
 * process already has, memory, time, signal masks, exit.  Both the
 * session child and the bundle builder run glibc and OpenSSL (and, in
 * a sanitizer build, a sanitizer runtime) whose needs do not depend on
 * what the process is for; each filter adds only its own calls.
 */
static const int sbx_allow_base[] = {
	SCMP_SYS(read), SCMP_SYS(write),
	SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(lseek), SCMP_SYS(close),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat),	/* stdio buffering */
	SCMP_SYS(brk), SCMP_SYS(munmap),	/* mmap: below */
	SCMP_SYS(mremap), SCMP_SYS(madvise),
	SCMP_SYS(futex),			/* glibc locks */
	SCMP_SYS(getrandom),			/* OpenSSL's RNG */
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(restart_syscall),	/* a wait resumed after a stop
					   (SIGSTOP, cgroup freezer, strace) */
	SCMP_SYS(sigaltstack),			/* sanitizer runtimes */
	SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(exit), SCMP_SYS(exit_group),
};

/*
 * Start an allow-list: a filter that kills the whole process on any
 * call not added to it, for the native architecture only (no x32 or
 * i386 entry points), holding sbx_allow_base and the calls allowed only
 * with some arguments, which are the same for every allow-list.
 * Returns the filter, or NULL with the reason in err.
 */
static scmp_filter_ctx
sbx_allow_list(const char *what, char *err, size_t errlen)
{
	scmp_filter_ctx	ctx;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		snprintf(err, errlen, "seccomp_init failed");
		return NULL;
	}
	if (seccomp_arch_exist(ctx, seccomp_arch_native()) != 0 ||
	    sbx_rules(ctx, SCMP_ACT_ALLOW, sbx_allow_base,
	    NELEM(sbx_allow_base)) == -1)
		goto fail;
	/* Memory may be mapped or change protection, never executable. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) != 0)
		goto fail;
	/*
	 * fcntl only to read or set status flags (libssh's O_NONBLOCK) and
	 * to read the close-on-exec flag; no locks, no duplicates.
	 */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
	    SCMP_A1(SCMP_CMP_EQ, F_GETFL, 0)) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
	    SCMP_A1(SCMP_CMP_EQ, F_SETFL, 0)) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
	    SCMP_A1(SCMP_CMP_EQ, F_GETFD, 0)) != 0)
		goto fail;
	/* abort() signals itself; no other process can be signalled. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
	    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0)) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(rt_sigaction),
	    0) != 0)
		goto fail;
	return ctx;
fail:
	snprintf(err, errlen, "cannot install the %s seccomp filter", what);
	seccomp_release(ctx);
	return NULL;
}

/*
 * The session child's allow-list: sbx_allow_list's calls and these.
 * One line per call; the unusual ones say why.
 */
static int
sbx_seccomp(int shell, char *err, size_t errlen)
{
	static const int allow[] = {
		SCMP_SYS(recvfrom), SCMP_SYS(sendto),	/* libssh's socket I/O */
		SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),	/* monitor, SCM_RIGHTS */
		SCMP_SYS(poll), SCMP_SYS(ppoll),
		SCMP_SYS(shutdown),			/* a forward's half-close */
		SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
		SCMP_SYS(alarm), SCMP_SYS(setitimer),	/* session time limit */
		SCMP_SYS(sched_yield),
	};
	/* Refused without killing: callers cope with the error. */
	static const int eacces[] = {
		SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(openat2),
		SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(access),
		SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
		SCMP_SYS(readlink), SCMP_SYS(readlinkat),
	};
	/* libssh sets socket options on its descriptor; none are needed. */
	static const int eperm[] = {
		SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(uname),
	};
	/* The shell sets its terminal's modes and reads its size. */
	static const unsigned long tty_ioctls[] = {
		TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ,
	};
	const char	*what = shell ? "shell" : "session";
	scmp_filter_ctx	 ctx;
	size_t		 i;
	int		 built;

	if ((ctx = sbx_allow_list(what, err, errlen)) == NULL)
		return -1;
	built = sbx_rules(ctx, SCMP_ACT_ALLOW, allow, NELEM(allow)) == 0 &&
	    sbx_rules(ctx, SCMP_ACT_ERRNO(EACCES), eacces,
	    NELEM(eacces)) == 0 &&
	    sbx_rules(ctx, SCMP_ACT_ERRNO(EPERM), eperm, NELEM(eperm)) == 0;
	for (i = 0; built && shell && i < NELEM(tty_ioctls); i++)
		built = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl),
		    1, SCMP_A1(SCMP_CMP_EQ, tty_ioctls[i], 0)) == 0;
	/* Outside the shell every ioctl fails; libssh copes with that. */
	if (built && !shell)
		built = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
		    SCMP_SYS(ioctl), 0) == 0;
	return sbx_load(ctx, built, what, err, errlen);
}

/*
 * Diagnostics are the customer's own programs, so their filter is a
 * deny-list: everything an ordinary program does is allowed, and what
 * leads out of the sandbox is not.  It is written against the ways out,
 * not against a list of calls: the network without socket(2), files
 * past Landlock's paths, other processes, and the kernel's own state.
 * Calls a program may try and live without fail with an errno; calls
 * that only an escape needs kill the process (SIGSYS, exit status 159).
 *
 * Other processes are also out of reach because the diagnostic runs in
 * its own PID namespace (ns.c): kill(2), pidfd_open(2),
 * pidfd_send_signal(2), kcmp(2), process_madvise(2) and the like can
 * only name its own processes.  Calls that need a capability (reboot, swapon, setting
 * the clock, ...) fail anyway: the diagnostic has none.
 */
static int
sbx_seccomp_diag(char *err, size_t errlen)
{
	static const int kill_calls[] = {
		/* Another process's memory or descriptors. */
		SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv),
		SCMP_SYS(process_vm_writev), SCMP_SYS(pidfd_getfd),
		/* Files by handle, past Landlock's paths. */
		SCMP_SYS(open_by_handle_at),
		/* Mounts, old and new API, and the root. */
		SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root),
		SCMP_SYS(chroot), SCMP_SYS(fsopen), SCMP_SYS(fsconfig),
		SCMP_SYS(fsmount), SCMP_SYS(fspick), SCMP_SYS(open_tree),
		SCMP_SYS(move_mount), SCMP_SYS(mount_setattr),
		/* Namespaces; clone(2) with CLONE_NEW* below. */
		SCMP_SYS(unshare), SCMP_SYS(setns),
		/* The kernel itself. */
		SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load),
		SCMP_SYS(init_module), SCMP_SYS(finit_module),
		SCMP_SYS(delete_module), SCMP_SYS(bpf),
		SCMP_SYS(perf_event_open), SCMP_SYS(userfaultfd),
		/* Keyrings are per user: shared with other sessions. */
		SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key),
	};
	/*
	 * No socket of its own: no network, and no way to the gateway's
	 * control socket or to a local datagram socket (/dev/log,
	 * journald's, systemd's notify socket).  socket(2) is not the only
	 * way to one: socketpair(2) makes an AF_UNIX datagram pair, and
	 * sendto(2) or sendmsg(2) with an address, or connect(2), aims it
	 * at any socket the diagnostic may write to - Landlock does not
	 * cover connecting to a socket file.  So socketpair(2) is refused
	 * too, and so is every send that names an address: sendto(2) with
	 * one (below), sendmsg(2) and sendmmsg(2) always, since their
	 * address is in memory the filter cannot read.  A diagnostic has no
	 * socket to send on in any other way: its descriptors are pipes
	 * and /dev/null.  Abstract names are in the network namespace
	 * (ns.c) and, where Landlock has the scope, out of its reach too.
	 */
	static const int eacces[] = {
		SCMP_SYS(socket), SCMP_SYS(socketpair),
		SCMP_SYS(sendmsg), SCMP_SYS(sendmmsg),
	};
	/*
	 * As on a kernel without them, so programs fall back.  io_uring
	 * opens sockets and connects (IORING_OP_SOCKET, _CONNECT) without
	 * socket(2); clone3(2) passes its flags in memory, which a filter
	 * cannot read, and glibc falls back to clone(2), whose flags it can.
	 */
	static const int enosys[] = {
		SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter),
		SCMP_SYS(io_uring_register), SCMP_SYS(clone3),
	};
	/* The kernel's log (readable by all where dmesg_restrict is 0). */
	static const int eperm[] = { SCMP_SYS(syslog) };
	/* In clone(2)'s flags: a new namespace. */
	static const unsigned long clone_new[] = {
		CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
		CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
	};
	scmp_filter_ctx	ctx;
	size_t		i;
	int		built;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	built = sbx_rules(ctx, SCMP_ACT_KILL_PROCESS, kill_calls,
	    NELEM(kill_calls)) == 0 && sbx_rules(ctx, SCMP_ACT_ERRNO(EACCES),
	    eacces, NELEM(eacces)) == 0 && sbx_rules(ctx,
	    SCMP_ACT_ERRNO(ENOSYS), enosys, NELEM(enosys)) == 0 &&
	    sbx_rules(ctx, SCMP_ACT_ERRNO(EPERM), eperm, NELEM(eperm)) == 0;
	/* sendto(2) with an address: its fifth argument is not NULL. */
	built = built && seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES),
	    SCMP_SYS(sendto), 1, SCMP_A4(SCMP_CMP_NE, 0, 0)) == 0;
	/* The flags are clone(2)'s first argument on x86_64 and arm64. */
	for (i = 0; built && i < NELEM(clone_new); i++)
		built = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS,
		    SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ,
		    clone_new[i], clone_new[i])) == 0;
	return sbx_load(ctx, built, "diagnostic", err, errlen);
}

/*
 * Landlock for a bundle's builder: reading beneath read_paths, and
 * beneath write_dir reading, writing and making files (its scratch
 * files, which have no name).  Nothing else, not even the system's
 * libraries: it loads none after this.
 */
static int
sbx_landlock_bundle(const char *const *read_paths, const char *write_dir,
    char *err, size_t errlen)
{
	const uint64_t	ro = LANDLOCK_ACCESS_FS_READ_FILE |
	    LANDLOCK_ACCESS_FS_READ_DIR;
	uint64_t	rw;
	size_t		i;
	int		abi, fd;

	if ((abi = sbx_landlock_abi()) == 0)
		return 0;
	rw = ro | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG;
	if (abi >= 3)
		rw |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if ((fd = sbx_landlock_ruleset(abi, err, errlen)) == -1)
		return -1;
	for (i = 0; read_paths != NULL && read_paths[i] != NULL; i++)
		if (sbx_landlock_rule(fd, read_paths[i], ro, err,
		    errlen) == -1)
			goto fail;
	if (sbx_landlock_rule(fd, write_dir, rw, err, errlen) == -1)
		goto fail;
	return sbx_landlock_enforce(fd, err, errlen);
fail:
	close(fd);
	return -1;
}

/*
 * The builder's allow-list: sbx_allow_list's calls and the files it
 * opens beneath the roots (openat2) and reads, and the archive it
 * writes.  No sockets, no processes, no exec: its diagnostics ran
 * before it was confined.
 */
static int
sbx_seccomp_bundle(char *err, size_t errlen)
{
	static const int allow[] = {
		SCMP_SYS(openat), SCMP_SYS(openat2),	/* beneath the roots */
		SCMP_SYS(statx),
		SCMP_SYS(getdents64),			/* walking the globs */
		SCMP_SYS(dup),				/* a directory read twice */
		SCMP_SYS(ftruncate), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	};
	scmp_filter_ctx	ctx;
	int		built;

	if ((ctx = sbx_allow_list("bundle", err, errlen)) == NULL)
		return -1;
	built = sbx_rules(ctx, SCMP_ACT_ALLOW, allow, NELEM(allow)) == 0;
	/* fcntl also sets close-on-exec (fdopendir, beneath). */
	built = built && seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
	    SCMP_SYS(fcntl), 1, SCMP_A1(SCMP_CMP_EQ, F_SETFD, 0)) == 0;
	return sbx_load(ctx, built, "bundle", err, errlen);
}

int
sbx_confine_bundle(const char *const *read_paths, const char *write_dir,
    char *err, size_t errlen)
{
	struct rlimit zero = { 0, 0 };

	if (setrlimit(RLIMIT_NPROC, &zero) == -1 ||
	    setrlimit(RLIMIT_CORE, &zero) == -1) {
		snprintf(err, errlen, "setrlimit: %s", strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
		return -1;
	}
	if (sbx_landlock_bundle(read_paths, write_dir, err, errlen) == -1)
		return -1;
	return sbx_seccomp_bundle(err, errlen);
}

int
sbx_confine_diag(const char *program, const char *const *read_paths,
    char *err, size_t errlen)
{
	const char	*paths[64];
	size_t		 n = 0, i;

	paths[n++] = program;
	for (i = 0; sbx_system_paths[i] != NULL; i++)
		paths[n++] = sbx_system_paths[i];
	for (i = 0; read_paths != NULL && read_paths[i] != NULL &&
	    n < sizeof(paths) / sizeof(paths[0]) - 1; i++)
		paths[n++] = read_paths[i];
	paths[n] = NULL;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
		return -1;
	}
	if (sbx_landlock_read_only(paths, err, errlen) == -1)
		return -1;
	return sbx_seccomp_diag(err, errlen);
}

static int
sbx_confine_as(int shell, int *landlock_abi, char *err, size_t errlen)
{
	if (sbx_limits(err, errlen) == -1)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
		return -1;
	}
	if (sbx_landlock(landlock_abi, err, errlen) == -1)
		return -1;
	return sbx_seccomp(shell, err, errlen);
}

int
sbx_confine(int *landlock_abi, char *err, size_t errlen)
{
	return sbx_confine_as(0, landlock_abi, err, errlen);
}

int
sbx_confine_shell(int *landlock_abi, char *err, size_t errlen)
{
	return sbx_confine_as(1, landlock_abi, err, errlen);
}
