/*
 * sshcert.c - OpenSSH user certificates, parsed per PROTOCOL.certkeys and
 * validated against the vendor's Ed25519 CA.
 *
 * Every length read from the blob is checked against what remains before
 * it is used; text fields must be free of NUL bytes and bounded.
 */
#include "lib/sshcert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* A bounded reader over a byte string in SSH wire format. */
struct wire {
	const uint8_t	*p;
	size_t		 left;
};

static int
wire_u32(struct wire *w, uint32_t *v)
{
	if (w->left < 4)
		return -1;
	*v = (uint32_t)w->p[0] << 24 | (uint32_t)w->p[1] << 16 |
	    (uint32_t)w->p[2] << 8 | (uint32_t)w->p[3];
	w->p += 4;
	w->left -= 4;
	return 0;
}

static int
wire_u64(struct wire *w, uint64_t *v)
{
	uint32_t hi, lo;

	if (wire_u32(w, &hi) == -1 || wire_u32(w, &lo) == -1)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

/* A string: its bytes stay in the blob. */
static int
wire_string(struct wire *w, const uint8_t **s, size_t *len)
{
	uint32_t n;

	if (wire_u32(w, &n) == -1 || n > w->left)
		return -1;
	*s = w->p;
	*len = n;
	w->p += n;
	w->left -= n;
	return 0;
}

/* A string copied out as text: no NUL, at most max bytes. */
static int
wire_text(struct wire *w, char *out, size_t max)
{
	const uint8_t	*s;
	size_t		 n;

	if (wire_string(w, &s, &n) == -1 || n > max ||
	    memchr(s, '\0', n) != NULL)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static int
wire_equals(const uint8_t *s, size_t n, const char *text)
{
	return n == strlen(text) && memcmp(s, text, n) == 0;
}

/* Skip the certified key's own public fields, which depend on its type. */
static int
skip_public_key(struct wire *w, const char *type)
{
	const uint8_t	*s;
	size_t		 n;

	if (strcmp(type, "ssh-ed25519-cert-v01@openssh.com") == 0)
		return wire_string(w, &s, &n) == -1 || n != 32 ? -1 : 0;
	if (strncmp(type, "ecdsa-sha2-nistp", 16) == 0)
		return wire_string(w, &s, &n) == -1 ||	/* curve */
		    wire_string(w, &s, &n) == -1 ? -1 : 0;	/* point */
	if (strcmp(type, "ssh-rsa-cert-v01@openssh.com") == 0)
		return wire_string(w, &s, &n) == -1 ||	/* e */
		    wire_string(w, &s, &n) == -1 ? -1 : 0;	/* n */
	return -1;
}

int
sshcert_is_cert_type(const char *type)
{
	static const char *types[] = {
		"ssh-ed25519-cert-v01@openssh.com",
		"ecdsa-sha2-nistp256-cert-v01@openssh.com",
		"ecdsa-sha2-nistp384-cert-v01@openssh.com",
		"ecdsa-sha2-nistp521-cert-v01@openssh.com",
		"ssh-rsa-cert-v01@openssh.com",
		NULL
	};
	size_t i;

	for (i = 0; type != NULL && types[i] != NULL; i++)
		if (strcmp(type, types[i]) == 0)
			return 1;
	return 0;
}

static int
parse_principals(const uint8_t *s, size_t n, struct sshcert *c)
{
	struct wire w = { s, n };

	while (w.left > 0) {
		if (c->nprincipals >= SSHCERT_MAX_PRINCIPALS ||
		    wire_text(&w, c->principals[c->nprincipals],
		    SSHCERT_MAX_STR) == -1 ||
		    c->principals[c->nprincipals][0] == '\0')
			return -1;
		c->nprincipals++;
	}
	return 0;
}

static int
parse_critical(const uint8_t *s, size_t n, struct sshcert *c)
{
	struct wire	 w = { s, n };
	const uint8_t	*data;
	size_t		 dlen;

	while (w.left > 0) {
		if (c->ncritical >= sizeof(c->critical) / sizeof(c->critical[0]) ||
		    wire_text(&w, c->critical[c->ncritical],
		    SSHCERT_MAX_STR) == -1 ||
		    wire_string(&w, &data, &dlen) == -1)
			return -1;
		c->ncritical++;
	}
	return 0;
}

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e)
			return 0;
	return 1;
}

static int
parse_extensions(const uint8_t *s, size_t n, struct sshcert *c,
    const char **what)
{
	struct wire	 w = { s, n }, inner;
	const uint8_t	*name, *data;
	size_t		 nlen, dlen;

	while (w.left > 0) {
		if (wire_string(&w, &name, &nlen) == -1 ||
		    wire_string(&w, &data, &dlen) == -1) {
			*what = "extensions";
			return -1;
		}
		if (!wire_equals(name, nlen, "ticket@porthole"))
			continue;
		/* Its data is itself a string holding the ticket. */
		inner.p = data;
		inner.left = dlen;
		if (c->has_ticket || wire_text(&inner, c->ticket,
		    SSHCERT_MAX_STR) == -1 || inner.left != 0 ||
		    c->ticket[0] == '\0' || !printable(c->ticket)) {
			*what = "ticket@porthole extension";
			return -1;
		}
		c->has_ticket = 1;
	}
	return 0;
}

/* The CA key: "ssh-ed25519" and 32 bytes, or anything else (refused later). */
static int
parse_signature_key(const uint8_t *s, size_t n, struct sshcert *c)
{
	struct wire	 w = { s, n };
	const uint8_t	*type, *key;
	size_t		 tlen, klen;

	if (wire_string(&w, &type, &tlen) == -1)
		return -1;
	if (!wire_equals(type, tlen, "ssh-ed25519"))
		return 0;
	if (wire_string(&w, &key, &klen) == -1 || klen != 32 || w.left != 0)
		return -1;
	memcpy(c->ca_key, key, 32);
	c->ca_is_ed25519 = 1;
	return 0;
}

static int
parse_signature(const uint8_t *s, size_t n, struct sshcert *c)
{
	struct wire	 w = { s, n };
	const uint8_t	*type, *sig;
	size_t		 tlen, slen;

	if (wire_string(&w, &type, &tlen) == -1 ||
	    wire_string(&w, &sig, &slen) == -1 || w.left != 0)
		return -1;
	if (!c->ca_is_ed25519)
		return 0;	/* validation refuses a non-Ed25519 CA */
	if (!wire_equals(type, tlen, "ssh-ed25519") || slen != 64)
		return -1;
	memcpy(c->signature, sig, 64);
	return 0;
}

int
sshcert_parse(const uint8_t *blob, size_t len, struct sshcert *c, char *err,
    size_t errlen)
{
	struct wire	 w;
	const uint8_t	*s;
	size_t		 n;
	uint32_t	 type;
	const char	*what = "key type";

	memset(c, 0, sizeof(*c));
	if (len > SSHCERT_MAX_BLOB) {
		snprintf(err, errlen, "certificate larger than %d bytes",
		    SSHCERT_MAX_BLOB);
		return -1;
	}
	memcpy(c->blob, blob, len);
	c->blob_len = len;
	w.p = c->blob;
	w.left = len;
	if (wire_text(&w, c->key_type, sizeof(c->key_type) - 1) == -1)
		goto bad;
	if (!sshcert_is_cert_type(c->key_type)) {
		snprintf(err, errlen, "unsupported certificate type '%.64s'",
		    c->key_type);
		return -1;
	}
	what = "nonce";
	if (wire_string(&w, &s, &n) == -1)
		goto bad;
	what = "public key";
	if (skip_public_key(&w, c->key_type) == -1)
		goto bad;
	what = "serial";
	if (wire_u64(&w, &c->serial) == -1)
		goto bad;
	what = "type";
	if (wire_u32(&w, &type) == -1)
		goto bad;
	c->type = type;
	what = "key id";
	if (wire_text(&w, c->key_id, SSHCERT_MAX_STR) == -1)
		goto bad;
	what = "principals";
	if (wire_string(&w, &s, &n) == -1 || parse_principals(s, n, c) == -1)
		goto bad;
	what = "validity";
	if (wire_u64(&w, &c->valid_after) == -1 ||
	    wire_u64(&w, &c->valid_before) == -1)
		goto bad;
	what = "critical options";
	if (wire_string(&w, &s, &n) == -1 || parse_critical(s, n, c) == -1)
		goto bad;
	what = "extensions";
	if (wire_string(&w, &s, &n) == -1 ||
	    parse_extensions(s, n, c, &what) == -1)
		goto bad;
	what = "reserved";
	if (wire_string(&w, &s, &n) == -1)
		goto bad;
	what = "signature key";
	if (wire_string(&w, &s, &n) == -1 ||
	    parse_signature_key(s, n, c) == -1)
		goto bad;
	c->signed_len = len - w.left;
	what = "signature";
	if (wire_string(&w, &s, &n) == -1 || parse_signature(s, n, c) == -1)
		goto bad;
	if (w.left != 0) {
		snprintf(err, errlen, "trailing bytes after the certificate");
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "malformed certificate: %s", what);
	return -1;
}

/* Decode base64 text with an upper bound; returns the length or -1. */
static int
b64_decode(const char *in, uint8_t *out, size_t outmax)
{
	size_t	len = strlen(in), pad = 0;
	int	n;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > outmax)
		return -1;
	if (in[len - 1] == '=')
		pad++;
	if (len > 1 && in[len - 2] == '=')
		pad++;
	n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
	if (n < 0 || (size_t)n < pad)
		return -1;
	return n - (int)pad;
}

int
sshcert_parse_base64(const char *b64, struct sshcert *c, char *err,
    size_t errlen)
{
	uint8_t	*blob;
	int	 n, rc;

	if (strlen(b64) > (SSHCERT_MAX_BLOB / 3 + 1) * 4) {
		snprintf(err, errlen, "certificate larger than %d bytes",
		    SSHCERT_MAX_BLOB);
		return -1;
	}
	if ((blob = malloc(SSHCERT_MAX_BLOB + 3)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((n = b64_decode(b64, blob, SSHCERT_MAX_BLOB + 3)) < 0) {
		snprintf(err, errlen, "certificate is not valid base64");
		free(blob);
		return -1;
	}
	rc = sshcert_parse(blob, (size_t)n, c, err, errlen);
	free(blob);
	return rc;
}

static int
ed25519_verify(const uint8_t key[32], const uint8_t *msg, size_t len,
    const uint8_t sig[64])
{
	EVP_PKEY	*pk;
	EVP_MD_CTX	*ctx = NULL;
	int		 ok = 0;

	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key, 32);
	if (pk == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
	    EVP_DigestVerify(ctx, sig, 64, msg, len) == 1)
		ok = 1;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return ok;
}

int
sshcert_validate(const struct sshcert *c, const uint8_t ca_key[32],
    time_t now, const char *principal, char *err, size_t errlen)
{
	uint64_t	t = now < 0 ? 0 : (uint64_t)now;
	size_t		i;

	if (!c->ca_is_ed25519) {
		snprintf(err, errlen, "CA key is not Ed25519");
		return -1;
	}
	if (CRYPTO_memcmp(c->ca_key, ca_key, 32) != 0) {
		snprintf(err, errlen, "certificate signed by an unknown CA");
		return -1;
	}
	if (!ed25519_verify(c->ca_key, c->blob, c->signed_len, c->signature)) {
		snprintf(err, errlen, "certificate signature invalid");
		return -1;
	}
	if (c->type != SSHCERT_TYPE_USER) {
		snprintf(err, errlen, "not a user certificate");
		return -1;
	}
	if (t < c->valid_after) {
		snprintf(err, errlen, "certificate not yet valid");
		return -1;
	}
	if (t >= c->valid_before) {
		snprintf(err, errlen, "certificate expired");
		return -1;
	}
	if (c->nprincipals == 0) {
		snprintf(err, errlen, "certificate has no principals");
		return -1;
	}
	if (c->ncritical > 0) {
		snprintf(err, errlen, "certificate has critical option '%s' "
		    "which porthole does not enforce", c->critical[0]);
		return -1;
	}
	if (principal == NULL)
		return 0;
	for (i = 0; i < c->nprincipals; i++)
		if (strcmp(c->principals[i], principal) == 0)
			return 0;
	snprintf(err, errlen, "principal '%.64s' not in certificate", principal);
	return -1;
}

int
sshcert_load_ca(const char *path, uint8_t ca_key[32], char *err,
    size_t errlen)
{
	FILE		*f;
	char		 line[4096], *type, *b64, *save = NULL;
	uint8_t		 blob[256];
	struct wire	 w;
	const uint8_t	*s, *key;
	size_t		 n, klen;
	int		 len;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %m", path);
		return -1;
	}
	if (fgets(line, sizeof(line), f) == NULL) {
		fclose(f);
		snprintf(err, errlen, "%s: empty file", path);
		return -1;
	}
	fclose(f);
	if (strchr(line, '\n') == NULL && strlen(line) == sizeof(line) - 1) {
		snprintf(err, errlen, "%s: line too long", path);
		return -1;
	}
	type = strtok_r(line, " \t\r\n", &save);
	b64 = strtok_r(NULL, " \t\r\n", &save);
	if (type == NULL || strcmp(type, "ssh-ed25519") != 0 || b64 == NULL) {
		snprintf(err, errlen, "%s: not an ssh-ed25519 public key", path);
		return -1;
	}
	if ((len = b64_decode(b64, blob, sizeof(blob))) < 0) {
		snprintf(err, errlen, "%s: key is not valid base64", path);
		return -1;
	}
	w.p = blob;
	w.left = (size_t)len;
	if (wire_string(&w, &s, &n) == -1 || !wire_equals(s, n, "ssh-ed25519") ||
	    wire_string(&w, &key, &klen) == -1 || klen != 32 || w.left != 0) {
		snprintf(err, errlen, "%s: malformed ssh-ed25519 key", path);
		return -1;
	}
	memcpy(ca_key, key, 32);
	return 0;
}
