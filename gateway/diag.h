/*
 * diag.h - run one allow-listed diagnostic for an engineer: fixed
 * absolute argv, scrubbed environment, only the three standard streams,
 * its own process group, killed at the timeout.  Output goes to the
 * engineer's channel as it comes.
 */
#ifndef PH_DIAG_H
#define PH_DIAG_H

#include <libssh/libssh.h>
#include <stdint.h>

struct diag_result {
	int		 exit_status;	/* as the engineer sees it */
	int		 signal;	/* terminating signal, or 0 */
	int		 timed_out;
	uint64_t	 bytes_out;	/* stdout + stderr sent */
};

/* Returns 0 (even when the command failed), -1 if it could not run. */
int	diag_run(ssh_channel ch, char *const argv[], uint64_t timeout_s,
	    struct diag_result *res, char *err, size_t errlen);

#endif
