/*
 * monitor_wrap.h - the sandboxed side of the monitor protocol
 * (gateway/monitor_proto.h): one mm_*() call per request, each sending
 * it and waiting for the one answer.  Used by the session child and the
 * support shell's process.
 *
 * Each returns -1 when the monitor cannot be reached (the caller must
 * end), else as documented.
 */
#ifndef PH_MONITOR_WRAP_H
#define PH_MONITOR_WRAP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gateway/monitor_proto.h"
#include "gateway/session/access.h"
#include "policy/policy.h"

struct mm_exec_result {
	int		 exit_status;
	int		 timed_out;
	uint64_t	 timeout;	/* seconds, as configured */
};

/*
 * 1: this key (base64 blob of type key_type) may log in (login: and it
 * just did, the signature being verified), 2: it may, once the customer
 * approves (call mm_approval_wait), 0: refused with why, 3: refused with
 * why and the connection is to end (no session slot is free).
 */
int	mm_auth(int mon, const char *user, const char *key_type,
	    const char *key_b64, int login, struct mm_identity *id, char *why,
	    size_t whylen);
/* Wait for the customer's decision: 1 approved (id filled), 0 not (why). */
int	mm_approval_wait(int mon, struct mm_identity *id, char *why,
	    size_t whylen);
/* 1: running, *out and *err its output pipes; 0: refused with why. */
int	mm_exec(int mon, const char *cmdline, int *out, int *err, char *why,
	    size_t whylen);
/*
 * A command line the child cannot pass on (not UTF-8, or too long): the
 * monitor records the refusal with shown (its start, escaped where it is
 * not UTF-8), its length and why.  0, or -1.
 */
int	mm_exec_refused(int mon, const char *shown, size_t length,
	    const char *why);
/*
 * Channel data moved since the last call: the session is not idle.
 * Transport traffic (keepalives, window adjustments, key exchanges) is
 * not activity.  0, or -1.
 */
int	mm_activity(int mon);
/* The diagnostic's output is all sent: its exit status. */
int	mm_exec_wait(int mon, uint64_t bytes_out, struct mm_exec_result *res);
/*
 * The monitor may end the session with a notice instead of an answer:
 * mm_read_notice reads one that arrived unasked (0, or -1 when the
 * monitor is gone), mm_notice returns it (NULL if none came).
 */
int	mm_read_notice(int mon);
const char *mm_notice(void);

/* Something the child refused on its own (steals fields). */
int	mm_event(int mon, const char *type, json_t *fields);

/*
 * Files and settings, for the SFTP server and the support shell: the
 * access_ops table (access.h) over the monitor on *mon.  ops->home is
 * the first [files] path (or "/").
 */
void	mm_access_ops(int *mon, const struct policy *pol,
	    struct access_ops *ops);

/*
 * A direct-tcpip forward to host:port: 1 with *fd connected and *id
 * naming it until mm_forward_close, 0 refused with why.
 */
int	mm_forward_open(int mon, const char *host, uint16_t port,
	    const char *orig_host, uint16_t orig_port, int *fd, uint32_t *id,
	    char *why, size_t whylen);
int	mm_forward_close(int mon, uint32_t id, uint64_t to_target,
	    uint64_t from_target);

/*
 * The support shell: 1 with *fd the terminal's byte stream (the
 * engineer's keystrokes in, the recorded screen out), 0 refused.
 */
int	mm_shell_open(int mon, const char *term, uint32_t cols, uint32_t rows,
	    int *fd, char *why, size_t whylen);
int	mm_window_change(int mon, uint32_t cols, uint32_t rows);

#endif
