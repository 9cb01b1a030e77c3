/*
 * frame.h - the control channel's frames, both ends (gateway and relay).
 *
 * A frame is a 4-byte big-endian length followed by that many bytes of
 * one JSON object whose "t" names its kind:
 *   gateway -> relay:
 *     {"t":"hello","cluster":ID,"version":V,"license_state":...}
 *     {"t":"records","after":A,"records":[{"seq":N,"class":C,"record":{...}},...]}
 *         (A: the last seq sent before this batch; the relay refuses a
 *         batch that follows a seq it does not have, with an ack of
 *         what it has and an "error", and the gateway resends from it)
 *     {"t":"license_check"}
 *     {"t":"anchor","epoch":E,"seq":S,"head":HEX}   (audit seal head)
 *     {"t":"ping"}
 *     {"t":"msg_ack","id":N}     (message N is stored: offer it no more)
 *     {"t":"msg_ack","id":N,"refused":R}  (and refused, for reason R)
 *     {"t":"msg_wait","id":N,"reason":R}  (message N cannot be taken
 *         yet, for reason R: the gateway holds it and answers later;
 *         it no longer keeps later messages waiting)
 *     {"t":"pkg_get","sha256":H,"offset":O}  (the next piece of package
 *         H; one request at a time)
 *     {"t":"bundle_begin","id":ID,"sha256":H,"size":N,"source":S,
 *         "requested_by":W,"ticket":T,"message_id":M,"created":TIME,
 *         "summary":{...}}  (a support bundle to upload, or to go on
 *         uploading: the relay answers how much it holds)
 *     {"t":"bundle_data","id":ID,"offset":O,"data":B64}  (at most
 *         FRAME_PKG_DATA bytes of bundle ID from offset O; one frame of
 *         a bundle in flight at a time)
 *   relay -> gateway:
 *     {"t":"welcome","seq":N}        (the answer to hello: the store has
 *         this cluster's records up to N.  The gateway sends no records
 *         before it, and a spool that did not send those numbers - a new
 *         or restored one - numbers its records from N + 1 on; a relay
 *         without a store sends none, and is sent no records)
 *     {"t":"ack","seq":N}            (every record <= N is committed)
 *     {"t":"ack","seq":N,"error":E}  (refused a batch: resend after N)
 *     {"t":"error","reason":R}
 *     {"t":"license","license":"full|trial","expires":T|null,"overage":B}
 *     {"t":"anchor_ack","seq":S}
 *     {"t":"pong"}
 *     {"t":"msg","id":N,"kind":K,"body":{...}}   (a message from the
 *         vendor, N its id in the relay's store: every one for the
 *         cluster it has not acknowledged, oldest first, a few at a
 *         time, again after a reconnect or when one goes unanswered)
 *     {"t":"pkg_chunk","sha256":H,"offset":O,"data":B64,"last":B}
 *         (at most FRAME_PKG_DATA bytes of package H from offset O;
 *         last: they end the package)
 *     {"t":"pkg_chunk","sha256":H,"offset":O,"error":E}  (none to give)
 *     {"t":"bundle_ack","id":ID,"offset":O}  (bundle ID is stored up to
 *         O: send from there; with "done":true it is whole and its
 *         SHA-256 matched; with "error":E it was not taken, and O is
 *         where the store is)
 * Lengths are bounded by FRAME_MAX; a bad length or bad JSON is a
 * protocol error (the channel is closed).
 *
 * Every kind is in enum frame_kind and in frame_specs, the one table
 * both ends share (OpenSSH's monitor dispatch is the model): its name,
 * who sends it and in which phase of the channel it is allowed.  The
 * phase turns at the hello/welcome exchange: the relay has been
 * greeted once hello arrived, the gateway once welcome did (a relay
 * without a store sends no welcome, so for its gateway the channel
 * never leaves the first phase).  Each end dispatches through its own
 * handler table indexed by the kind; a frame of no known kind, one the
 * receiving end itself sends, or one out of its phase is a protocol
 * error (frame_classify).
 */
#ifndef PH_FRAME_H
#define PH_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define FRAME_MAX	(1024 * 1024)
/* Package bytes in one pkg_chunk: their base64 fits in FRAME_MAX. */
#define FRAME_PKG_DATA	(512 * 1024)

enum frame_kind {
	/* gateway -> relay */
	FRAME_HELLO,
	FRAME_RECORDS,
	FRAME_LICENSE_CHECK,
	FRAME_ANCHOR,
	FRAME_PING,
	FRAME_MSG_ACK,
	FRAME_MSG_WAIT,
	FRAME_PKG_GET,
	FRAME_BUNDLE_BEGIN,
	FRAME_BUNDLE_DATA,
	/* relay -> gateway */
	FRAME_WELCOME,
	FRAME_ACK,
	FRAME_ERROR,
	FRAME_LICENSE,
	FRAME_ANCHOR_ACK,
	FRAME_PONG,
	FRAME_MSG,
	FRAME_PKG_CHUNK,
	FRAME_BUNDLE_ACK,
	FRAME__COUNT
};

/* Who sends a kind. */
enum frame_dir {
	FRAME_UP,		/* gateway -> relay */
	FRAME_DOWN		/* relay -> gateway */
};

/* When a kind is allowed, as seen by the end that receives it. */
enum frame_phase {
	FRAME_PHASE_GREET,	/* only before the exchange: hello, welcome */
	FRAME_PHASE_AFTER,	/* only once the receiver has been greeted */
	FRAME_PHASE_ANY		/* either */
};

struct frame_spec {
	const char		*name;		/* the "t" on the wire */
	enum frame_dir		 dir;
	enum frame_phase	 phase;
};

extern const struct frame_spec frame_specs[FRAME__COUNT];

/*
 * The kind of a frame received by the end that frames in direction dir
 * come to, in its phase (greeted: 0 before the hello/welcome exchange,
 * 1 after it).  0 with *kind, or -1 with one line in why naming the
 * frame ("unknown frame 'x'", "'welcome' goes from the relay to the
 * gateway", "'records' before the hello/welcome exchange"): a protocol
 * error.
 */
int	frame_classify(json_t *f, enum frame_dir dir, int greeted,
	    enum frame_kind *kind, char *why, size_t whylen);

/*
 * Encode obj (borrowed; an object with a string "t") as a frame: a new
 * buffer in *out, *len.  0, or -1 if obj is no frame or its compact
 * JSON is longer than FRAME_MAX.
 */
int	frame_encode(json_t *obj, char **out, size_t *len);

/*
 * For a frame whose JSON the caller wrote itself: buf holds
 * FRAME_HDR_LEN bytes of room, then len bytes of JSON, which the caller
 * vouches is one object with a string "t".  Fills in the header; -1 if
 * len is 0 or above FRAME_MAX.
 */
#define FRAME_HDR_LEN	4
int	frame_header(char *buf, size_t len);

/*
 * Reassembles frames from a byte stream cut anywhere.  After a protocol
 * error every later call returns -1.  Call frame_reader_next() until it
 * returns 0 after each feed: the reader keeps what it is fed, and gives
 * a large buffer back once everything fed has been returned.
 */
struct frame_reader;

struct frame_reader *frame_reader_new(void);
void	frame_reader_free(struct frame_reader *);
/*
 * Append bytes; -1 if the stream is invalid: the next frame's length,
 * once its header is in, is 0 or above FRAME_MAX.
 */
int	frame_reader_feed(struct frame_reader *, const void *data, size_t len);
/*
 * The next complete frame: 1 with *obj (a new reference, an object with
 * a string "t"), 0 if none is complete yet, -1 on a protocol error.
 */
int	frame_reader_next(struct frame_reader *, json_t **obj);

#endif
