/*
 * krl.h - revoked keys and certificates, as sshd's RevokedKeys reads
 * them: an OpenSSH key revocation list made by `ssh-keygen -k`
 * (PROTOCOL.krl) or a text file of public keys, one per line.
 *
 * A file is parsed whole when it is loaded, and refused whole if any of
 * it is malformed, truncated or too large: a revocation list that is
 * only partly understood would let in someone it names.
 */
#ifndef PH_KRL_H
#define PH_KRL_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/sshcert.h"

#define KRL_MAX_FILE	(16 * 1024 * 1024)	/* larger files are refused */
#define KRL_MAX_CAS	256	/* distinct CA keys in certificate sections */
#define KRL_MAX_LINE	16384	/* a line of a text key list */

struct krl;

/*
 * Read the revocation list at path.  Returns 0, or -1 with "PATH: reason"
 * (a KRL) or "PATH:LINE: reason" (a key list) in err.
 */
int	krl_load(const char *path, struct krl **out, char *err, size_t errlen);

/*
 * A daemon's revoked_keys: no list when path is NULL (*out NULL), else
 * krl_load() and a log line saying what the list holds.
 */
int	krl_load_optional(const char *path, struct krl **out, char *err,
	    size_t errlen);

/* The same from an open file, named name in messages. */
int	krl_load_fd(int fd, const char *name, struct krl **out, char *err,
	    size_t errlen);

/* The same from bytes in memory (copied). */
int	krl_parse(const uint8_t *buf, size_t len, const char *name,
	    struct krl **out, char *err, size_t errlen);

void	krl_free(struct krl *k);

/*
 * Is this certificate revoked?  Checked as OpenSSH checks it: the
 * certified key (SHA1 and SHA256 hashes, explicit keys), the certificate
 * under its CA and under any CA (key id; serial unless it is 0), and the
 * CA key itself.  Returns 1 with the reason in why (e.g. "certificate
 * revoked (serial 7)"), 0 if it is not revoked, or -1 if it could not be
 * checked (treat as revoked; why says so).
 */
int	krl_check_cert(const struct krl *k, const struct sshcert *c,
	    char *why, size_t whylen);

/* Is this plain public key blob revoked?  Same returns. */
int	krl_check_key(const struct krl *k, const uint8_t *blob, size_t len,
	    char *why, size_t whylen);

/* The bytes the list was parsed from, e.g. to hand them to a process. */
const uint8_t	*krl_bytes(const struct krl *k, size_t *len);

/* One line for the log: what the list holds. */
void	krl_describe(const struct krl *k, char *buf, size_t len);

#endif
