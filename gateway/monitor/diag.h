/*
 * diag.h - allow-listed diagnostics.
 *
 * The monitor starts one (diag_spawn) in namespaces of its own (see
 * sandbox/ns.c): a small reaper is PID 1 there and the diagnostic its
 * child, with a fixed absolute argv, scrubbed environment, no
 * descriptors but stdin (/dev/null) and two pipes, the unprivileged
 * user and resource limits.  The sandboxed child copies the pipes to
 * the engineer's channel.  The monitor ends it, and everything it
 * started, by killing the reaper.
 */
#ifndef PH_DIAG_H
#define PH_DIAG_H

#include <sys/types.h>
#include <libssh/libssh.h>
#include <stdint.h>

/*
 * Start argv as user (when running as root), confined to reading the
 * system's programs and libraries and read_paths (NULL-terminated; the
 * product's paths), dying with its parent, with at most timeout_s + 1
 * seconds of CPU.  On success *pid is the reaper (kill it to end them
 * all; its exit status is the diagnostic's, 128 + the signal if it was
 * killed) and *out, *err the read ends of its stdout and stderr.
 * Returns 0, or -1 with the reason in err.
 */
int	diag_spawn(char *const argv[], const char *user,
	    const char *const *read_paths, uint64_t timeout_s, pid_t *pid,
	    int *out, int *err, char *errbuf, size_t errlen);

#endif
