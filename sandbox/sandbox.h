/*
 * sandbox.h - confine the processes a session runs.
 *
 * The session child, which parses an engineer's SSH input: give up root
 * (sbx_drop_privileges), then sbx_confine(): resource limits (no new
 * processes, no new files, a bounded number of descriptors),
 * no_new_privs, Landlock denying all file access where the kernel has
 * it, and a seccomp filter that allows a short list of system calls,
 * fails open(2) and friends with EACCES and kills the process on
 * anything else.
 *
 * A diagnostic: namespaces of its own (PID, IPC, mount, network) with
 * an unprivileged reaper as PID 1 (sbx_ns_fork, sbx_ns_reap), then
 * sbx_confine_diag() before exec.
 */
#ifndef PH_SANDBOX_H
#define PH_SANDBOX_H

#include <sys/types.h>
#include <stddef.h>

/*
 * RLIMIT_NOFILE of a confined process.  It opens nothing itself: every
 * descriptor beyond its first few comes from the monitor, which bounds
 * them (open files and forwards per session), so this is set above the
 * monitor's bounds; reaching it would end the session on a descriptor
 * the monitor already handed over.
 */
#define SBX_MAX_FDS	256

/* If root, become user (its uid and gid, no supplementary groups). */
int	sbx_drop_privileges(const char *user, char *err, size_t errlen);

/*
 * Confine the calling process for good.  *landlock_abi is set to the
 * Landlock ABI used, or 0 when the kernel has none (then only seccomp and
 * the limits hold).  Returns 0, or -1 with the reason in err.
 */
int	sbx_confine(int *landlock_abi, char *err, size_t errlen);
/*
 * The same for the support shell's process, which may also get and set
 * its terminal's modes and read its window size (and no other ioctl).
 */
int	sbx_confine_shell(int *landlock_abi, char *err, size_t errlen);

/*
 * Confine a diagnostic just before exec: no_new_privs; Landlock allowing
 * only reading (and executing) beneath the system's program and library
 * directories, the program itself and the NULL-terminated read_paths (the
 * product's paths) and, where its ABI has the scope, no abstract
 * AF_UNIX socket outside the sandbox; a seccomp filter that refuses
 * socket(2), socketpair(2), sendto(2) to an address, sendmsg(2) and
 * sendmmsg(2) with EACCES, io_uring and clone3 with ENOSYS, and kills
 * on ptrace and the other ways into another process, mounts,
 * namespaces (clone with CLONE_NEW* too), kexec, modules, bpf and
 * keyrings.
 */
int	sbx_confine_diag(const char *program, const char *const *read_paths,
	    char *err, size_t errlen);

/*
 * Confine a support bundle's builder (gateway/bundles_build.c) once its
 * diagnostics have run and its output files are open: no processes,
 * no_new_privs, Landlock allowing only reading beneath read_paths
 * (NULL-terminated: the [files] roots) and reading, writing and making
 * files beneath write_dir, and a seccomp allow-list of what reading
 * files and writing an archive need (no socket, no exec, no fork),
 * killing on anything else.
 */
int	sbx_confine_bundle(const char *const *read_paths,
	    const char *write_dir, char *err, size_t errlen);

/*
 * Like fork(), but the child is the first process (PID 1) of new PID,
 * IPC, mount and network namespaces with a /proc of its own, inside a
 * new user namespace that maps only the caller's uid and gid when the
 * caller is not root.  Once /proc is mounted the child becomes user
 * (sbx_drop_privileges; NULL: stays who it is) and keeps no capability,
 * with no_new_privs.  The child dies with its parent.  Returns the
 * child's pid in the parent and 0 in the child, or -1 with the reason
 * in err.
 */
pid_t	sbx_ns_fork(const char *user, char *err, size_t errlen);
/* Can sbx_ns_fork() work here?  0, or -1 with the reason in err. */
int	sbx_ns_probe(char *err, size_t errlen);
/*
 * In the first process of the namespaces, after it started child: reap
 * every process of the namespace that ends, pass SIGTERM, SIGINT,
 * SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 on to child, and return child's
 * exit status (128 + the signal if it was killed) once it ends.  Exiting
 * then kills whatever it left in the namespace.
 */
int	sbx_ns_reap(pid_t child);

/* The Landlock ABI this kernel offers, 0 if none. */
int	sbx_landlock_abi(void);

#endif
