/*
 * notice.h - the vendor's update notices, both ends.
 *
 * A notice is a small JSON document the vendor signs offline with stock
 * OpenSSH (`ssh-keygen -Y sign -f update_key -n porthole-update
 * notice.json`):
 *   {"version":"1.290.3", "sha256":"<64 lowercase hex>", "size":N,
 *    "published":"2026-11-20T10:00:00Z", "expires":"2026-12-20T10:00:00Z",
 *    "notes":"..."}
 * The relay only checks that it parses (it holds no key); the gateway
 * checks the signature over the exact bytes against its pinned
 * [updates] vendor_key before it believes a word of it.  Everything is
 * bounded and strict: a key given twice, a version that is not dotted
 * decimal, a size of 0 or above NOTICE_SIZE_MAX, a time that is not
 * RFC 3339 UTC, expires not after published, notes over
 * NOTICE_NOTES_MAX bytes or holding a control character other than
 * tab and newline: each refuses the notice, with the reason.  Keys not
 * named here are ignored, so the vendor may add fields.
 */
#ifndef PH_NOTICE_H
#define PH_NOTICE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/version.h"

#define NOTICE_MAX		8192		/* the notice file */
#define NOTICE_NOTES_MAX	4096
#define NOTICE_SIZE_MAX		(16ULL << 30)	/* a package */
#define NOTICE_NAMESPACE	"porthole-update"

struct notice {
	struct version	 v;
	char		 version[VERSION_MAX_LEN + 1];
	char		 sha256[65];
	uint64_t	 size;
	time_t		 published;
	time_t		 expires;
	char		 notes[NOTICE_NOTES_MAX + 1];
};

/*
 * Parse a notice's text (no signature, no clock): 0 with *n, or -1 with
 * one line in why.
 */
int	notice_parse(const char *text, size_t len, struct notice *n,
	    char *why, size_t whylen);
/*
 * What the gateway believes: text signed by key (sig: the armoured
 * SSHSIG) in namespace NOTICE_NAMESPACE, a notice as notice_parse
 * reads it, and not expired at now.  0 with *n, or -1 with why ("bad
 * signature: ...", "expired at ...").
 */
int	notice_verify(const char *text, size_t len, const char *sig,
	    size_t siglen, const uint8_t key[32], time_t now,
	    struct notice *n, char *why, size_t whylen);

#endif
