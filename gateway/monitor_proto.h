/*
 * monitor_proto.h - the protocol between a session's sandboxed processes
 * (the session child and the support shell) and its monitor.
 *
 * They talk over SOCK_SEQPACKET pairs: each request is one JSON object
 * {"req": NAME, ...} answered by one JSON object, descriptors riding
 * along with SCM_RIGHTS.  The monitor may instead send, unasked, a
 * notice {MONITOR_NOTICE: TEXT}: the session is ending, and why; no
 * answer follows it.
 *
 * mm_reqs[] is the one table of requests, read by both ends: the
 * sandboxed side names its requests from it (gateway/session/
 * monitor_wrap.c), the monitor looks each one up in it and refuses one
 * not allowed in the session's phase or from that peer, or malformed,
 * by ending the session on the record (gateway/monitor/monitor.c).
 */
#ifndef PH_MONITOR_PROTO_H
#define PH_MONITOR_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define MONITOR_MSG_MAX		16384	/* one request or answer */
#define MONITOR_NOTICE		"notice"	/* the session is ending: why */
#define MONITOR_REQ_NAME_MAX	32	/* bytes of a request's name */

/* Phases of a session; a request names the ones it is allowed in. */
#define MM_PREAUTH		0x01	/* before a successful login */
#define MM_AUTHED		0x02	/* logged in */
#define MM_PENDING		0x08	/* logged in, waiting for the customer */

/* Who asks: the session child, or the support shell's process. */
#define MM_FROM_CHILD		0x01
#define MM_FROM_SHELL		0x02

enum mm_req {
	MM_AUTH,		/* may this key log in; did it */
	MM_APPROVAL_WAIT,	/* wait for the customer's decision */
	MM_EVENT,		/* something the child refused on its own */
	MM_ACTIVITY,		/* channel data moved: not idle */
	MM_EXEC,		/* run a diagnostic: its output pipes */
	MM_EXEC_REFUSED,	/* a command line the child could not pass */
	MM_EXEC_WAIT,		/* the diagnostic's output is sent: its end */
	MM_EXEC_CANCEL,		/* the engineer's ^C */
	MM_FILE_OPEN,		/* a file to read: its descriptor */
	MM_FILE_CLOSE,
	MM_FILE_MORE,		/* tail -f of a redacted file: what it gained */
	MM_FILE_STAT,
	MM_DIR_LIST,
	MM_REFUSED,		/* a write the service refused on its own */
	MM_SETTING_GET,
	MM_SETTING_SET,
	MM_FORWARD_OPEN,	/* a direct-tcpip forward: its socket */
	MM_FORWARD_CLOSE,
	MM_SHELL_OPEN,		/* the support shell: its terminal stream */
	MM_WINDOW_CHANGE,
	MM_NREQ
};

struct mm_req_info {
	const char	*name;		/* "req" on the wire */
	int		 phases;	/* MM_PREAUTH | MM_AUTHED | MM_PENDING */
	int		 peers;		/* MM_FROM_* that may ask */
};

extern const struct mm_req_info mm_reqs[MM_NREQ];

/* The request named name (at most len bytes), or -1. */
int	mm_req_lookup(const char *name, size_t len);

/* A request's string field of at most max bytes, or NULL. */
const char *mm_field_str(json_t *req, const char *key, size_t max);
/* A request's unsigned 32-bit integer field: 0 with *out, or -1. */
int	mm_field_u32(json_t *req, const char *key, uint32_t *out);

/* Who logged in, as the monitor established it. */
struct mm_identity {
	char		 engineer[257];
	char		 key_id[257];
	char		 ticket[257];
	uint64_t	 serial;
	uint32_t	 permits;	/* the certificate's SSHCERT_PERMIT_* */
};

#endif
