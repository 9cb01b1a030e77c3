/*
 * pkgget.h - packages fetched from the relay over the control channel:
 * {"t":"pkg_get","sha256":H,"offset":O} answered by a pkg_chunk of at
 * most FRAME_PKG_DATA bytes (frame.h).
 *
 * One request is in flight at a time, so a download never crowds the
 * sessions and telemetry that share the tunnel.  Bytes land in
 * DIR/H.part (synced after each piece), so a download resumes from
 * what it holds after a reconnect, a relay restart or a gateway restart
 * (the part already held is hashed again first, a piece per turn of
 * the event loop).  The relay is not trusted with the contents: a
 * piece of another package, at another offset, larger than a frame
 * allows, or past the size the signed notice gives, and a package
 * whose SHA-256 is not the notice's, throw the part away; it is
 * fetched again after a pause (PKGGET_REFETCH seconds, four times that
 * the next time), and after PKGGET_TRIES fetches the package is
 * refused.  A complete package is renamed DIR/H.pkg.
 */
#ifndef PH_PKGGET_H
#define PH_PKGGET_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#define PKGGET_RETRY	300	/* seconds: the relay had nothing to give */
#define PKGGET_TRIES	3	/* fetches of a package before it is refused */
#define PKGGET_REFETCH	5	/* seconds before the second; x4 each time */
#define PKGGET_WANTS	4	/* packages wanted at once */

/* A wanted package is complete (ok 1), or refused with why (ok 0). */
typedef void (*pkgget_done_fn)(void *arg, const char *sha256, int ok,
    const char *why);

struct pkgget;

/*
 * dir is made (0700) if missing.  kick(kick_arg) is called when a
 * request may be sent (the uplink polls pkgget_request then).
 */
struct pkgget	*pkgget_new(struct event_base *base, const char *dir,
		    pkgget_done_fn done, void *arg, void (*kick)(void *),
		    void *kick_arg, char *err, size_t errlen);
void		 pkgget_free(struct pkgget *);

/*
 * Fetch package sha256 of size bytes: 1 if DIR/H.pkg is already
 * complete, 0 when it is fetched (done is called), -1 when too many are
 * wanted.
 */
int		 pkgget_want(struct pkgget *, const char *sha256,
		    uint64_t size);
/* No longer wanted: the fetch stops and its part is removed. */
void		 pkgget_drop(struct pkgget *, const char *sha256);
/* DIR/H.pkg, where a complete package is. */
void		 pkgget_path(const struct pkgget *, const char *sha256,
		    char *buf, size_t len);
/*
 * A wanted package's progress: bytes held and what the relay last
 * said instead of a piece ("" if nothing).  1, or 0 if not wanted.
 */
int		 pkgget_progress(const struct pkgget *, const char *sha256,
		    uint64_t *have, const char **waiting);

/* For the uplink: the next pkg_get to send, or NULL. */
json_t		*pkgget_request(struct pkgget *);
/* A pkg_chunk: 0, or -1 when it is malformed (a protocol error). */
int		 pkgget_chunk(struct pkgget *, json_t *frame, char *why,
		    size_t whylen);
/* The channel is gone: what was asked is asked again on the next. */
void		 pkgget_link_down(struct pkgget *);

#endif
