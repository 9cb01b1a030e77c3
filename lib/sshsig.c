/*
 * sshsig.c - stock OpenSSH signatures (ssh-keygen -Y sign) checked
 * against one pinned Ed25519 key (see sshsig.h).
 *
 * The blob inside the armour (PROTOCOL.sshsig):
 *	byte[6]	"SSHSIG"
 *	uint32	version (1)
 *	string	public key	(string "ssh-ed25519", string key[32])
 *	string	namespace
 *	string	reserved
 *	string	hash algorithm	("sha256" or "sha512")
 *	string	signature	(string "ssh-ed25519", string sig[64])
 * and what the key signed:
 *	byte[6]	"SSHSIG", string namespace, string reserved,
 *	string hash algorithm, string H(message)
 */
#include "lib/sshsig.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "lib/escape.h"
#include "lib/log.h"
#include "lib/sshwire.h"

#define SSHSIG_MAGIC		"SSHSIG"
#define SSHSIG_MAGIC_LEN	6
#define SSHSIG_BLOB_MAX		(SSHSIG_ARMOR_MAX / 4 * 3)
#define SSHSIG_NS_MAX		64
#define SSHSIG_BEGIN		"-----BEGIN SSH SIGNATURE-----"
#define SSHSIG_END		"-----END SSH SIGNATURE-----"

/*
 * The base64 between the armour lines, without line breaks, into b64
 * (bmax bytes).  Only the two armour lines, base64 lines and a final
 * newline are allowed.  The text length, or -1.
 */
static ssize_t
sshsig_dearmor(const char *a, size_t len, char *b64, size_t bmax)
{
	const char	*p = a, *end = a + len, *nl;
	size_t		 n = 0, l, blen = strlen(SSHSIG_BEGIN);

	if (len < blen || memcmp(p, SSHSIG_BEGIN, blen) != 0)
		return -1;
	p += blen;
	if (p < end && *p == '\r')
		p++;
	if (p == end || *p++ != '\n')
		return -1;
	for (;;) {
		if (p == end)
			return -1;		/* no end line */
		nl = memchr(p, '\n', (size_t)(end - p));
		l = (nl != NULL ? (size_t)(nl - p) : (size_t)(end - p));
		if (l > 0 && p[l - 1] == '\r')
			l--;
		if (l == strlen(SSHSIG_END) && memcmp(p, SSHSIG_END, l) == 0)
			break;
		if (l == 0 || n + l >= bmax)
			return -1;
		memcpy(b64 + n, p, l);
		n += l;
		if (nl == NULL)
			return -1;
		p = nl + 1;
	}
	/* Nothing after the end line but one line break. */
	p += strlen(SSHSIG_END);
	if (p < end && *p == '\r')
		p++;
	if (p < end && *p == '\n')
		p++;
	if (p != end)
		return -1;
	b64[n] = '\0';
	return (ssize_t)n;
}

/* string(string "ssh-ed25519", string data[want]) -> data. */
static int
sshsig_ed25519_field(const uint8_t *s, size_t n, size_t want,
    const uint8_t **data)
{
	struct sshwire	 w;
	const uint8_t	*type, *d;
	size_t		 tlen, dlen;

	sshwire_init(&w, s, n);
	if (sshwire_string(&w, &type, &tlen) == -1 ||
	    !sshwire_is(type, tlen, "ssh-ed25519") ||
	    sshwire_string(&w, &d, &dlen) == -1 || dlen != want ||
	    w.left != 0)
		return -1;
	*data = d;
	return 0;
}

static void
put_string(uint8_t *buf, size_t *o, const uint8_t *s, size_t n)
{
	buf[(*o)++] = (uint8_t)(n >> 24);
	buf[(*o)++] = (uint8_t)(n >> 16);
	buf[(*o)++] = (uint8_t)(n >> 8);
	buf[(*o)++] = (uint8_t)n;
	memcpy(buf + *o, s, n);
	*o += n;
}

int
sshsig_verify(const char *armor, size_t armlen, const uint8_t *msg,
    size_t msglen, const uint8_t key[32], const char *ns, char *err,
    size_t errlen)
{
	char		 b64[SSHSIG_ARMOR_MAX], shown[SSHSIG_NS_MAX * 4 + 1];
	uint8_t		 blob[SSHSIG_BLOB_MAX], hash[EVP_MAX_MD_SIZE];
	/* magic, then namespace, reserved, "sha512" and the hash. */
	uint8_t		 tbs[SSHSIG_MAGIC_LEN + 4 * 4 + SSHSIG_NS_MAX + 16 +
			    6 + EVP_MAX_MD_SIZE];
	const uint8_t	*pub, *nsp, *res, *alg, *sig, *pk, *sg;
	size_t		 publen, nslen, reslen, alglen, siglen, o = 0;
	unsigned int	 hlen;
	const EVP_MD	*md;
	struct sshwire	 w;
	uint32_t	 version;
	ssize_t		 n;

	if (strlen(ns) > SSHSIG_NS_MAX) {
		log_reason(err, errlen, "namespace longer than %d bytes",
		    SSHSIG_NS_MAX);
		return -1;
	}
	if (armlen > SSHSIG_ARMOR_MAX) {
		log_reason(err, errlen, "signature longer than %d bytes",
		    SSHSIG_ARMOR_MAX);
		return -1;
	}
	if ((n = sshsig_dearmor(armor, armlen, b64, sizeof(b64))) == -1 ||
	    (n = sshwire_b64_decode(b64, (size_t)n, blob, sizeof(blob))) ==
	    -1) {
		log_reason(err, errlen, "not an armoured SSH signature");
		return -1;
	}
	sshwire_init(&w, blob, (size_t)n);
	if (w.left < SSHSIG_MAGIC_LEN ||
	    memcmp(w.p, SSHSIG_MAGIC, SSHSIG_MAGIC_LEN) != 0) {
		log_reason(err, errlen,
		    "not an SSH signature (no SSHSIG magic)");
		return -1;
	}
	w.p += SSHSIG_MAGIC_LEN;
	w.left -= SSHSIG_MAGIC_LEN;
	if (sshwire_u32(&w, &version) == -1 ||
	    sshwire_string(&w, &pub, &publen) == -1 ||
	    sshwire_string(&w, &nsp, &nslen) == -1 ||
	    sshwire_string(&w, &res, &reslen) == -1 ||
	    sshwire_string(&w, &alg, &alglen) == -1 ||
	    sshwire_string(&w, &sig, &siglen) == -1 || w.left != 0) {
		log_reason(err, errlen, "malformed SSH signature");
		return -1;
	}
	if (version != 1) {
		log_reason(err, errlen, "SSH signature version %u (only 1 is "
		    "known)", version);
		return -1;
	}
	if (sshsig_ed25519_field(pub, publen, 32, &pk) == -1) {
		log_reason(err, errlen, "not signed with an Ed25519 key");
		return -1;
	}
	if (CRYPTO_memcmp(pk, key, 32) != 0) {
		log_reason(err, errlen, "signed by another key");
		return -1;
	}
	if (!sshwire_is(nsp, nslen, ns)) {
		escape_text((const char *)nsp, nslen > SSHSIG_NS_MAX ?
		    SSHSIG_NS_MAX : nslen, shown, sizeof(shown));
		log_reason(err, errlen, "signature namespace is '%s', not '%s'",
		    shown, ns);
		return -1;
	}
	if (reslen > 16) {
		log_reason(err, errlen, "malformed SSH signature (reserved)");
		return -1;
	}
	if (sshwire_is(alg, alglen, "sha512"))
		md = EVP_sha512();
	else if (sshwire_is(alg, alglen, "sha256"))
		md = EVP_sha256();
	else {
		log_reason(err, errlen,
		    "signature hash is not sha256 or sha512");
		return -1;
	}
	if (sshsig_ed25519_field(sig, siglen, 64, &sg) == -1) {
		log_reason(err, errlen, "not an Ed25519 signature");
		return -1;
	}
	if (EVP_Digest(msg, msglen, hash, &hlen, md, NULL) != 1) {
		log_reason(err, errlen, "cannot hash the signed file");
		return -1;
	}
	memcpy(tbs, SSHSIG_MAGIC, SSHSIG_MAGIC_LEN);
	o = SSHSIG_MAGIC_LEN;
	put_string(tbs, &o, nsp, nslen);
	put_string(tbs, &o, res, reslen);
	put_string(tbs, &o, alg, alglen);
	put_string(tbs, &o, hash, hlen);
	if (!sshwire_ed25519_verify(key, tbs, o, sg)) {
		log_reason(err, errlen, "signature does not match the file");
		return -1;
	}
	return 0;
}
