/*
 * monitor_proto.h - the protocol between a session's sandboxed processes
 * (the session child and the support shell) and its monitor.
 *
 * They talk over SOCK_SEQPACKET pairs: each request is one JSON object
 * {"req": NAME, ...} answered by one JSON object, descriptors riding
 * along with SCM_RIGHTS.  The monitor may instead send, unasked, a
 * notice {"notice": TEXT}: the session is ending, and why.  A request
 * not allowed in the session's phase, or from that peer, or malformed,
 * ends the session and is audited.
 *
 * The sandboxed side makes its requests through gateway/session/
 * monitor_wrap.h; the monitor answers them in gateway/monitor/.
 */
#ifndef PH_MONITOR_PROTO_H
#define PH_MONITOR_PROTO_H

#include <stdint.h>

#define MONITOR_MSG_MAX		16384	/* one request or answer */

/* Phases of a session; a request names the ones it is allowed in. */
#define MON_PREAUTH		0x01	/* before a successful login */
#define MON_AUTHED		0x02	/* logged in */
#define MON_PENDING		0x08	/* logged in, waiting for the customer */

/* Who asks: the session child, or the support shell's process. */
#define MON_FROM_CHILD		0x01
#define MON_FROM_SHELL		0x02

/* Who logged in, as the monitor established it. */
struct mm_identity {
	char		 engineer[257];
	char		 key_id[257];
	char		 ticket[257];
	uint64_t	 serial;
	uint32_t	 permits;	/* the certificate's SSHCERT_PERMIT_* */
};

#endif
