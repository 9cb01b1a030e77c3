/*
 * sshsig.h - checking a signature that stock OpenSSH made with
 * `ssh-keygen -Y sign -f KEY -n NAMESPACE FILE` (PROTOCOL.sshsig).
 *
 * porthole trusts one kind of signer for this, an Ed25519 key pinned by
 * the customer (update notices: [updates] vendor_key), so only that is
 * accepted: the signature's public key must be the pinned key, its
 * namespace the one the caller names (a signature made for another
 * purpose with the same key must not pass), and its hash sha256 or
 * sha512.  The armoured text and everything in it are untrusted and
 * bounded.
 */
#ifndef PH_SSHSIG_H
#define PH_SSHSIG_H

#include <stddef.h>
#include <stdint.h>

#define SSHSIG_ARMOR_MAX	4096	/* an Ed25519 signature is ~300 bytes */

/*
 * Whether armor[0..armlen) ("-----BEGIN SSH SIGNATURE-----" ...) is
 * key's signature over msg[0..msglen) in namespace ns.  0, or -1 with a
 * one-line reason in err ("signed by another key", "namespace is
 * 'file', not 'porthole-update'", ...).
 */
int	sshsig_verify(const char *armor, size_t armlen, const uint8_t *msg,
	    size_t msglen, const uint8_t key[32], const char *ns, char *err,
	    size_t errlen);

#endif
