/*
 * broker_proto.h - the protocol between the broker (the gateway's main
 * process) and each session's monitor.
 *
 * The monitor holds three descriptors from the broker: the engineer's
 * stream, a SOCK_SEQPACKET socket for its messages to the broker (the
 * audit events above all: the broker is the audit log's single writer)
 * and one on which the broker hands over each reloaded policy.  The
 * broker ends a session with SIGTERM, queuing (sigqueue) the reason.
 */
#ifndef PH_BROKER_PROTO_H
#define PH_BROKER_PROTO_H

/* One message from the monitor, in bytes. */
#define BM_MSG_MAX		4096

/* Why the broker ends a session: the value queued with SIGTERM. */
#define BM_END_KILLED		1	/* porthole kill */
#define BM_END_IDLE		2	/* idle_timeout */
#define BM_END_WITHDRAWN	3	/* a reload withdrew its grant */
#define BM_END_AUDIT		4	/* the audit log cannot be written */
#define BM_END_SHUTDOWN		5	/* the gateway stops */
#define BM_END_CROWDED		6	/* a login dropped: too many at once */

#endif
