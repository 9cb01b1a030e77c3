/*
 * seal.h - forward-secure sealing keys for the audit log.
 *
 * The key of epoch 0 is made by `porthole audit init` and shown once, for
 * the customer to keep off the host.  Each seal line carries an HMAC made
 * with the current epoch's key; the key is then evolved one-way
 * (K[e+1] = SHA-256("porthole-evolve" || K[e])) and the old one wiped from
 * memory and disk, so whoever takes the host later cannot re-seal what
 * was sealed before.
 */
#ifndef PH_AUDIT_SEAL_H
#define PH_AUDIT_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_KEY_LEN	32
#define SEAL_KEY_FILE	"audit.key"

struct seal_key {
	uint64_t	epoch;			/* the epoch this key seals */
	uint8_t		key[SEAL_KEY_LEN];
};

/* Make epoch 0's key in path (mode 0600); refuses to overwrite. */
int	seal_key_init(const char *path, struct seal_key *k, char *err,
	    size_t errlen);
int	seal_key_load(const char *path, struct seal_key *k, char *err,
	    size_t errlen);
/* Write k to path atomically (temporary file, fsync, rename, fsync dir). */
int	seal_key_store(const char *path, const struct seal_key *k, char *err,
	    size_t errlen);
/* k becomes the next epoch's key; the old key is wiped. */
void	seal_key_evolve(struct seal_key *k);
/*
 * HMAC-SHA256 of a seal line's (epoch, seq, ts, prev) as 64 hex
 * characters: every field of the seal line but the MAC itself, so not
 * even the time of the newest seal can be changed.
 */
void	seal_mac(const struct seal_key *k, uint64_t seq, const char *ts,
	    const char *prev,
	    char out[65]);
/* Hex (64 characters) to key and back. */
int	seal_key_from_hex(const char *hex, uint8_t key[SEAL_KEY_LEN]);
void	seal_key_to_hex(const uint8_t key[SEAL_KEY_LEN], char out[65]);

#endif
