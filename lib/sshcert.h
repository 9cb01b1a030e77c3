/*
 * sshcert.h - OpenSSH user certificates (PROTOCOL.certkeys): parse the
 * blob with every length bounded, and validate it against the vendor's
 * Ed25519 CA.  libssh checks only the login signature of a certificate
 * key; everything else a certificate promises is checked here.
 */
#ifndef PH_SSHCERT_H
#define PH_SSHCERT_H

#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>
#include <time.h>

#define SSHCERT_MAX_BLOB	8192	/* larger blobs are refused */
#define SSHCERT_MAX_PRINCIPALS	32
#define SSHCERT_MAX_STR		256	/* key id, principal, ticket */
#define SSHCERT_MAX_EXTENSIONS	64

/*
 * The permissions a certificate grants, one bit per extension, as sshd
 * reads them: a certificate made with `ssh-keygen -O no-pty` lacks
 * permit-pty, one made with `-O clear` lacks them all.
 */
#define SSHCERT_PERMIT_X11	0x01	/* permit-X11-forwarding */
#define SSHCERT_PERMIT_AGENT	0x02	/* permit-agent-forwarding */
#define SSHCERT_PERMIT_PORT	0x04	/* permit-port-forwarding */
#define SSHCERT_PERMIT_PTY	0x08	/* permit-pty */
#define SSHCERT_PERMIT_USER_RC	0x10	/* permit-user-rc */

#define SSHCERT_TYPE_USER	1
#define SSHCERT_TYPE_HOST	2

struct sshcert {
	char		 key_type[64];		/* e.g. ssh-ed25519-cert-v01@openssh.com */
	uint64_t	 serial;
	uint32_t	 type;			/* SSHCERT_TYPE_USER or _HOST */
	char		 key_id[SSHCERT_MAX_STR + 1];
	size_t		 nprincipals;
	char		 principals[SSHCERT_MAX_PRINCIPALS][SSHCERT_MAX_STR + 1];
	uint64_t	 valid_after;		/* seconds since the epoch */
	uint64_t	 valid_before;		/* UINT64_MAX: forever */
	size_t		 ncritical;		/* critical options present */
	char		 critical[8][SSHCERT_MAX_STR + 1];	/* their names */
	int		 has_ticket;		/* extension ticket@porthole */
	char		 ticket[SSHCERT_MAX_STR + 1];
	uint32_t	 permits;		/* SSHCERT_PERMIT_* */
	/*
	 * The first text field that is not UTF-8 ("key id", "principal 2"),
	 * or "".  Such a field is kept escaped (\xNN) for the record of the
	 * refusal, and sshcert_validate() refuses the certificate.
	 */
	char		 not_utf8[32];
	int		 ca_is_ed25519;		/* signature key is ssh-ed25519 */
	uint8_t		 ca_key[32];		/* the signing CA's public key */
	uint8_t		 signature[64];		/* Ed25519 signature by the CA */
	uint8_t		 blob[SSHCERT_MAX_BLOB];	/* the whole certificate */
	size_t		 blob_len;
	size_t		 signed_len;		/* blob[0..signed_len) is signed */
	size_t		 key_off, key_len;	/* the certified key's public
						   fields within blob */
	size_t		 ca_off, ca_len;	/* the signature key (the CA's
						   public key blob) within blob */
};

/*
 * Parse a certificate blob.  Returns 0, or -1 with a one-line reason in
 * err (e.g. "truncated certificate: principals").  Refuses blobs larger
 * than SSHCERT_MAX_BLOB, trailing bytes, and strings with NUL bytes.
 * Extensions other than ticket@porthole and the permit-* flags are
 * skipped, as sshd skips them; a permit-* flag with data, or twice, and
 * more than SSHCERT_MAX_EXTENSIONS extensions are refused.
 */
int	sshcert_parse(const uint8_t *blob, size_t len, struct sshcert *out,
	    char *err, size_t errlen);

/* The same from the base64 text libssh's ssh_pki_export_pubkey_base64 gives. */
int	sshcert_parse_base64(const char *b64, struct sshcert *out,
	    char *err, size_t errlen);

/*
 * Whether the parsed certificate is signed by ca_key (Ed25519): 0, or -1
 * with the reason in err.  Until it is, every field of the certificate
 * is only what its presenter claims.  sshcert_validate() checks it first.
 */
int	sshcert_signed_by(const struct sshcert *c, const uint8_t ca_key[32],
	    char *err, size_t errlen);

/*
 * Validate a parsed certificate as a USER certificate signed by ca_key
 * (Ed25519) and valid at time now.  If principal is not NULL it must be
 * one of the certificate's principals.  A certificate with no principals
 * or with any critical option is refused: porthole enforces none of
 * them, so it must not accept a restriction it would silently ignore.
 * So is one whose key id or a principal is not UTF-8: the audit record
 * names the engineer by them, and could only show them altered.
 * Returns 0, or -1 with the reason in err ("certificate expired", ...).
 */
int	sshcert_validate(const struct sshcert *c, const uint8_t ca_key[32],
	    time_t now, const char *principal, char *err, size_t errlen);

/*
 * The certified key as a plain public key blob (e.g. "ssh-ed25519" and
 * its 32 bytes), as OpenSSH hashes it for fingerprints and revocation
 * lists.  Returns its length, or -1 if out (outmax bytes) is too small.
 */
ssize_t	sshcert_plain_key(const struct sshcert *c, uint8_t *out, size_t outmax);

/*
 * Why a certificate with these permits does not allow what the
 * SSHCERT_PERMIT_* bit perm grants ("the certificate does not permit a
 * terminal (no-pty)"), or NULL when it does.
 */
const char *sshcert_forbidden(uint32_t permits, uint32_t perm);

/* Is this key type name one of the certificate types parsed here? */
int	sshcert_is_cert_type(const char *key_type);

/*
 * Read an Ed25519 public key file ("ssh-ed25519 AAAA... comment", one line)
 * into ca_key.  Returns 0, or -1 with "PATH: reason" in err.
 */
int	sshcert_load_ca(const char *path, uint8_t ca_key[32], char *err,
	    size_t errlen);

/* What a key file holds, as sshcert_read_keyfile() tells it. */
enum sshcert_keyfile_kind {
	SSHCERT_KEY_PUBLIC,		/* "TYPE BASE64 [comment]", one line */
	SSHCERT_KEY_CERT,		/* the same, of a certificate */
	SSHCERT_KEY_PRIVATE,		/* OpenSSH or PEM, no passphrase */
	SSHCERT_KEY_ENCRYPTED		/* a private key behind a passphrase */
};

struct sshcert_keyfile {
	enum sshcert_keyfile_kind kind;
	char		 type[64];	/* "ssh-ed25519"; "" if PEM does not say */
};

/*
 * Tell the kind and type of a key file without using the key: what a
 * configuration check needs to refuse a .pub named as a private key and
 * the reverse.  A private key's secret part is neither decoded nor
 * checked (libssh does that when the daemon loads it).  Returns 0, or
 * -1 with "PATH: reason" in err (unreadable, not a key file).
 */
int	sshcert_read_keyfile(const char *path, struct sshcert_keyfile *out,
	    char *err, size_t errlen);

#endif
