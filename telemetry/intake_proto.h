/*
 * intake_proto.h - the protocol of the gateway's telemetry intake socket
 * (run_dir/INTAKE_SOCKET), between local producers (the product,
 * `porthole send`) and portholed.
 *
 * A producer writes newline-delimited JSON records, at most RECORD_MAX
 * bytes a line, and reads one JSON reply line per record, in order, of
 * one of three kinds:
 *   {"ok":true,"seq":N}                  INTAKE_STORED: durable in the spool
 *   {"ok":true,"kept":false,"reason":R}  INTAKE_NOT_KEPT: a [telemetry]
 *                                        toggle blocks its class
 *   {"ok":false,"reason":R}              INTAKE_REFUSED: nothing was kept
 * Both ends build and read the replies here.
 */
#ifndef PH_INTAKE_PROTO_H
#define PH_INTAKE_PROTO_H

#include <stdint.h>

#include <jansson.h>

#define INTAKE_SOCKET	"intake.sock"	/* in run_dir */

enum intake_reply {
	INTAKE_STORED,
	INTAKE_NOT_KEPT,
	INTAKE_REFUSED
};

/* A reply of kind with seq (STORED) or why (the others), as a JSON line. */
json_t	*intake_reply_new(enum intake_reply kind, uint64_t seq,
	    const char *why);

/*
 * What a reply says: its kind, with *seq (STORED) or *why (the others,
 * "" when it gives none; valid while reply lives); -1 if it is none of
 * the three.
 */
int	intake_reply_read(json_t *reply, uint64_t *seq, const char **why);

#endif
