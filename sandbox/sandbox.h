/*
 * sandbox.h - confine the process that parses an engineer's SSH input.
 *
 * In order: give up root (sbx_drop_privileges), then sbx_confine():
 * resource limits (no new processes, no new files, a few descriptors),
 * no_new_privs, Landlock denying all file access where the kernel has it,
 * and a seccomp filter that allows a short list of system calls, fails
 * open(2) and friends with EACCES and kills the process on anything else.
 */
#ifndef PH_SANDBOX_H
#define PH_SANDBOX_H

#include <stddef.h>

#define SBX_MAX_FDS	16	/* RLIMIT_NOFILE of a confined process */

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
 * product's paths);
 * a seccomp filter that refuses all sockets with EACCES and kills on
 * ptrace, mount, kexec, bpf, keyctl, namespaces and module loading.
 */
int	sbx_confine_diag(const char *program, const char *const *read_paths,
	    char *err, size_t errlen);

/* The Landlock ABI this kernel offers, 0 if none. */
int	sbx_landlock_abi(void);

#endif
