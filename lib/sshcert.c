/*
 * sshcert.c - OpenSSH user certificates, parsed per PROTOCOL.certkeys and
 * validated against the vendor's Ed25519 CA.
 *
 * The blob comes from an unauthenticated client, so every length read
 * from it is checked against the bytes that remain before it is used.
 * Text fields (key id, principals, critical option names, the ticket)
 * end up in log lines and audit records: they must be bounded and free
 * of NUL and other control characters, and the audit record (JSON) can
 * hold them only as UTF-8.
 */
#include "lib/sshcert.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lib/sshwire.h"

#include "lib/escape.h"
#include "lib/log.h"
#include "lib/parse.h"

#define SSHCERT_MAX_CRITICAL	(sizeof(((struct sshcert *)0)->critical) / \
				    sizeof(((struct sshcert *)0)->critical[0]))
#define CA_FILE_MAX		4096	/* a CA public key file */
#define KEY_FILE_MAX		16384	/* any key file, private included */

/* How the certified key's own public fields are laid out. */
enum key_kind {
	KIND_ED25519,		/* string pk (32 bytes) */
	KIND_ECDSA,		/* string curve, string Q */
	KIND_RSA		/* mpint e, mpint n */
};

/* The certificate types porthole parses; anything else is refused. */
static const struct cert_type {
	const char	*name;
	enum key_kind	 kind;
	const char	*curve;		/* ECDSA: the curve field */
} cert_types[] = {
	{ "ssh-ed25519-cert-v01@openssh.com", KIND_ED25519, NULL },
	{ "ecdsa-sha2-nistp256-cert-v01@openssh.com", KIND_ECDSA, "nistp256" },
	{ "ecdsa-sha2-nistp384-cert-v01@openssh.com", KIND_ECDSA, "nistp384" },
	{ "ecdsa-sha2-nistp521-cert-v01@openssh.com", KIND_ECDSA, "nistp521" },
	{ "ssh-rsa-cert-v01@openssh.com", KIND_RSA, NULL },
};

/* Is s[0..n) text fit for a log line: no NUL or other control bytes? */
static int
text_ok(const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/*
 * A string copied out as text into out (max + 1 bytes).  Returns 0, -1 if
 * it cannot be read (see short_read) or -2 if it is too long or not text.
 * Text that is not UTF-8 is copied escaped (\xNN) and, the first time,
 * named by field in c->not_utf8, for sshcert_validate() to refuse.
 */
static int
wire_text(struct sshwire *w, char *out, size_t max, struct sshcert *c,
    const char *field)
{
	const uint8_t	*s;
	size_t		 n;

	if (sshwire_string(w, &s, &n) == -1)
		return -1;
	if (n > max || !text_ok(s, n))
		return -2;
	if (parse_utf8((const char *)s, n)) {
		memcpy(out, s, n);
		out[n] = '\0';
		return 0;
	}
	(void)escape_text((const char *)s, n, out, max + 1);
	if (c->not_utf8[0] == '\0')
		snprintf(c->not_utf8, sizeof(c->not_utf8), "%s", field);
	return 0;
}

static const struct cert_type *
cert_type_lookup(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(cert_types) /
	    sizeof(cert_types[0]); i++)
		if (strcmp(name, cert_types[i].name) == 0)
			return &cert_types[i];
	return NULL;
}

int
sshcert_is_cert_type(const char *key_type)
{
	return cert_type_lookup(key_type) != NULL;
}

/* Skip the certified key's public fields; they are not used here. */
static int
skip_public_key(struct sshwire *w, const struct cert_type *t)
{
	const uint8_t	*s;
	size_t		 n;

	switch (t->kind) {
	case KIND_ED25519:
		if (sshwire_string(w, &s, &n) == -1 || n != 32)
			return -1;
		return 0;
	case KIND_ECDSA:
		if (sshwire_string(w, &s, &n) == -1 ||
		    !sshwire_is(s, n, t->curve) ||
		    sshwire_string(w, &s, &n) == -1 || n == 0)
			return -1;
		return 0;
	case KIND_RSA:
		if (sshwire_string(w, &s, &n) == -1 || n == 0 ||	/* e */
		    sshwire_string(w, &s, &n) == -1 || n == 0)	/* n */
			return -1;
		return 0;
	}
	return -1;
}

/* "valid principals": a list of strings packed in one string. */
static int
parse_principals(const uint8_t *s, size_t n, struct sshcert *c, char *err,
    size_t errlen)
{
	struct sshwire	w;
	char		field[32];

	sshwire_init(&w, s, n);
	while (w.left > 0) {
		if (c->nprincipals == SSHCERT_MAX_PRINCIPALS) {
			log_reason(err, errlen, "certificate has more than %d "
			    "principals", SSHCERT_MAX_PRINCIPALS);
			return -1;
		}
		snprintf(field, sizeof(field), "principal %zu",
		    c->nprincipals + 1);
		if (wire_text(&w, c->principals[c->nprincipals],
		    SSHCERT_MAX_STR, c, field) != 0 ||
		    c->principals[c->nprincipals][0] == '\0') {
			log_reason(err, errlen, "malformed certificate: "
			    "principal %zu", c->nprincipals + 1);
			return -1;
		}
		c->nprincipals++;
	}
	return 0;
}

/* Critical options: (name, data) pairs; only the names are kept. */
static int
parse_critical(const uint8_t *s, size_t n, struct sshcert *c, char *err,
    size_t errlen)
{
	struct sshwire	 w;
	const uint8_t	*data;
	size_t		 dlen;

	sshwire_init(&w, s, n);
	while (w.left > 0) {
		if (c->ncritical == SSHCERT_MAX_CRITICAL) {
			log_reason(err, errlen, "certificate has more than %zu "
			    "critical options", SSHCERT_MAX_CRITICAL);
			return -1;
		}
		if (wire_text(&w, c->critical[c->ncritical],
		    SSHCERT_MAX_STR, c, "critical option") != 0 ||
		    sshwire_string(&w, &data, &dlen) == -1) {
			log_reason(err, errlen, "malformed certificate: "
			    "critical options");
			return -1;
		}
		c->ncritical++;
	}
	return 0;
}

/* A ticket is 1..SSHCERT_MAX_STR printable ASCII bytes, without spaces. */
static int
ticket_ok(const uint8_t *s, size_t n)
{
	size_t i;

	if (n == 0 || n > SSHCERT_MAX_STR)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	return 1;
}

int
sshcert_ticket_valid(const char *s)
{
	size_t n = strnlen(s, SSHCERT_MAX_STR + 1);

	return ticket_ok((const uint8_t *)s, n);
}

/* The extensions that grant a permission, as sshd knows them. */
static const struct permit_ext {
	const char	*name;
	uint32_t	 bit;
} permit_exts[] = {
	{ "permit-X11-forwarding",	SSHCERT_PERMIT_X11 },
	{ "permit-agent-forwarding",	SSHCERT_PERMIT_AGENT },
	{ "permit-port-forwarding",	SSHCERT_PERMIT_PORT },
	{ "permit-pty",			SSHCERT_PERMIT_PTY },
	{ "permit-user-rc",		SSHCERT_PERMIT_USER_RC },
};

static const struct permit_ext *
permit_lookup(const uint8_t *name, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(permit_exts) / sizeof(permit_exts[0]); i++)
		if (sshwire_is(name, n, permit_exts[i].name))
			return &permit_exts[i];
	return NULL;
}

const char *
sshcert_forbidden(uint32_t permits, uint32_t perm)
{
	if ((permits & perm) == perm)
		return NULL;
	switch (perm) {
	case SSHCERT_PERMIT_PTY:
		return "the certificate does not permit a terminal (no-pty)";
	case SSHCERT_PERMIT_PORT:
		return "the certificate does not permit port forwarding "
		    "(no-port-forwarding)";
	case SSHCERT_PERMIT_AGENT:
		return "the certificate does not permit agent forwarding "
		    "(no-agent-forwarding)";
	case SSHCERT_PERMIT_X11:
		return "the certificate does not permit X11 forwarding "
		    "(no-x11-forwarding)";
	case SSHCERT_PERMIT_USER_RC:
		return "the certificate does not permit user rc files "
		    "(no-user-rc)";
	default:
		return "the certificate does not permit it";
	}
}

/* ticket@porthole: its data is itself a string holding the ticket. */
static int
parse_ticket(const uint8_t *data, size_t dlen, struct sshcert *c)
{
	struct sshwire	 inner;
	const uint8_t	*t;
	size_t		 tlen;

	sshwire_init(&inner, data, dlen);
	if (c->has_ticket || sshwire_string(&inner, &t, &tlen) == -1 ||
	    inner.left != 0 || !ticket_ok(t, tlen))
		return -1;
	memcpy(c->ticket, t, tlen);
	c->ticket[tlen] = '\0';
	c->has_ticket = 1;
	return 0;
}

/*
 * Extensions: (name, data) pairs.  ticket@porthole and the permit-* flags
 * are read; others are skipped, as sshd skips extensions it does not
 * know.  A flag carries no data (sshd refuses one that does), and a flag
 * given twice is refused here rather than guessed at.
 */
static int
parse_extensions(const uint8_t *s, size_t n, struct sshcert *c, char *err,
    size_t errlen)
{
	const struct permit_ext	*p;
	struct sshwire		 w;
	const uint8_t		*name, *data;
	size_t			 nlen, dlen, count = 0;

	sshwire_init(&w, s, n);
	while (w.left > 0) {
		if (sshwire_string(&w, &name, &nlen) == -1 ||
		    sshwire_string(&w, &data, &dlen) == -1) {
			log_reason(err, errlen, "malformed certificate: "
			    "extensions");
			return -1;
		}
		if (++count > SSHCERT_MAX_EXTENSIONS) {
			log_reason(err, errlen, "certificate has more than %d "
			    "extensions", SSHCERT_MAX_EXTENSIONS);
			return -1;
		}
		if (sshwire_is(name, nlen, "ticket@porthole")) {
			if (parse_ticket(data, dlen, c) == -1) {
				log_reason(err, errlen, "malformed certificate: "
				    "ticket@porthole extension");
				return -1;
			}
			continue;
		}
		if ((p = permit_lookup(name, nlen)) == NULL)
			continue;
		if (dlen != 0 || (c->permits & p->bit)) {
			log_reason(err, errlen, "malformed certificate: "
			    "extension %s %s", p->name, dlen != 0 ?
			    "carries data" : "given twice");
			return -1;
		}
		c->permits |= p->bit;
	}
	return 0;
}

/*
 * The signature key: an ssh-ed25519 key is kept; any other type parses
 * with ca_is_ed25519 = 0 and is refused by sshcert_validate().
 */
static int
parse_signature_key(const uint8_t *s, size_t n, struct sshcert *c)
{
	struct sshwire	 w;
	const uint8_t	*type, *key;
	size_t		 tlen, klen;

	sshwire_init(&w, s, n);
	if (sshwire_string(&w, &type, &tlen) == -1)
		return -1;
	if (!sshwire_is(type, tlen, "ssh-ed25519"))
		return 0;
	if (sshwire_string(&w, &key, &klen) == -1 || klen != 32 || w.left != 0)
		return -1;
	memcpy(c->ca_key, key, 32);
	c->ca_is_ed25519 = 1;
	return 0;
}

/* The signature: string(string "ssh-ed25519", string sig[64]). */
static int
parse_signature(const uint8_t *s, size_t n, struct sshcert *c)
{
	struct sshwire	 w;
	const uint8_t	*type, *sig;
	size_t		 tlen, slen;

	sshwire_init(&w, s, n);
	if (sshwire_string(&w, &type, &tlen) == -1 ||
	    sshwire_string(&w, &sig, &slen) == -1 || w.left != 0)
		return -1;
	if (!c->ca_is_ed25519)
		return 0;	/* sshcert_validate() refuses this CA */
	if (!sshwire_is(type, tlen, "ssh-ed25519") || slen != 64)
		return -1;
	memcpy(c->signature, sig, 64);
	return 0;
}

/* The fixed fields from the serial to the reserved field. */
static int
parse_body(struct sshwire *w, struct sshcert *c, const char **what, char *err,
    size_t errlen)
{
	const uint8_t	*s;
	size_t		 n;
	int		 r;

	*what = "serial";
	if (sshwire_u64(w, &c->serial) == -1)
		return -1;
	*what = "type";
	if (sshwire_u32(w, &c->type) == -1)
		return -1;
	*what = "key id";
	if ((r = wire_text(w, c->key_id, SSHCERT_MAX_STR, c, "key id")) ==
	    -2) {
		log_reason(err, errlen, "malformed certificate: key id longer "
		    "than %d bytes or not text", SSHCERT_MAX_STR);
		return -2;
	} else if (r == -1)
		return -1;
	*what = "principals";
	if (sshwire_string(w, &s, &n) == -1)
		return -1;
	if (parse_principals(s, n, c, err, errlen) == -1)
		return -2;
	*what = "validity";
	if (sshwire_u64(w, &c->valid_after) == -1 ||
	    sshwire_u64(w, &c->valid_before) == -1)
		return -1;
	*what = "critical options";
	if (sshwire_string(w, &s, &n) == -1)
		return -1;
	if (parse_critical(s, n, c, err, errlen) == -1)
		return -2;
	*what = "extensions";
	if (sshwire_string(w, &s, &n) == -1)
		return -1;
	if (parse_extensions(s, n, c, err, errlen) == -1)
		return -2;
	*what = "reserved";
	if (sshwire_string(w, &s, &n) == -1)
		return -1;
	return 0;
}

int
sshcert_parse(const uint8_t *blob, size_t len, struct sshcert *c, char *err,
    size_t errlen)
{
	const struct cert_type	*t;
	struct sshwire		 w;
	const uint8_t		*s;
	size_t			 n;
	const char		*what = "key type";
	int			 r;

	memset(c, 0, sizeof(*c));
	if (len > SSHCERT_MAX_BLOB) {
		log_reason(err, errlen, "certificate larger than %d bytes",
		    SSHCERT_MAX_BLOB);
		return -1;
	}
	if (len > 0)
		memcpy(c->blob, blob, len);
	c->blob_len = len;
	sshwire_init(&w, c->blob, len);

	if (wire_text(&w, c->key_type, sizeof(c->key_type) - 1, c,
	    "key type") != 0)
		goto bad;
	if ((t = cert_type_lookup(c->key_type)) == NULL) {
		log_reason(err, errlen, "unsupported certificate type '%.64s'",
		    c->key_type);
		return -1;
	}
	what = "nonce";
	if (sshwire_string(&w, &s, &n) == -1)
		goto bad;
	what = "public key";
	c->key_off = len - w.left;
	if (skip_public_key(&w, t) == -1)
		goto bad;
	c->key_len = len - w.left - c->key_off;
	if ((r = parse_body(&w, c, &what, err, errlen)) == -2)
		return -1;		/* err is set */
	else if (r == -1)
		goto bad;
	what = "signature key";
	if (sshwire_string(&w, &s, &n) == -1 ||
	    parse_signature_key(s, n, c) == -1)
		goto bad;
	c->ca_off = (size_t)(s - c->blob);
	c->ca_len = n;
	/* The CA signed everything up to and including the signature key. */
	c->signed_len = len - w.left;
	what = "signature";
	if (sshwire_string(&w, &s, &n) == -1 || parse_signature(s, n, c) == -1)
		goto bad;
	if (w.left != 0) {
		log_reason(err, errlen, "trailing bytes after the certificate");
		return -1;
	}
	return 0;
bad:
	log_reason(err, errlen, "%s certificate: %s",
	    w.short_read ? "truncated" : "malformed", what);
	return -1;
}

ssize_t
sshcert_plain_key(const struct sshcert *c, uint8_t *out, size_t outmax)
{
	static const char	suffix[] = "-cert-v01@openssh.com";
	size_t			tlen, n;

	/* Every type in cert_types is a plain type with this suffix. */
	tlen = strlen(c->key_type);
	if (tlen <= sizeof(suffix) - 1 || c->key_off + c->key_len >
	    c->blob_len)
		return -1;
	tlen -= sizeof(suffix) - 1;
	n = 4 + tlen + c->key_len;
	if (n > outmax)
		return -1;
	out[0] = (uint8_t)(tlen >> 24);
	out[1] = (uint8_t)(tlen >> 16);
	out[2] = (uint8_t)(tlen >> 8);
	out[3] = (uint8_t)tlen;
	memcpy(out + 4, c->key_type, tlen);
	memcpy(out + 4 + tlen, c->blob + c->key_off, c->key_len);
	return (ssize_t)n;
}

int
sshcert_parse_base64(const char *b64, struct sshcert *c, char *err,
    size_t errlen)
{
	/* Text longer than this cannot decode to SSHCERT_MAX_BLOB bytes. */
	const size_t	 maxtext = (SSHCERT_MAX_BLOB + 2) / 3 * 4;
	uint8_t		*blob = NULL;
	size_t		 len;
	ssize_t		 n;
	int		 rc = -1;

	memset(c, 0, sizeof(*c));
	len = strnlen(b64, maxtext + 1);
	if (len > maxtext || ((n = sshwire_b64_len(b64, len)) != -1 &&
	    n > SSHCERT_MAX_BLOB)) {
		log_reason(err, errlen, "certificate larger than %d bytes",
		    SSHCERT_MAX_BLOB);
		goto out;
	}
	if ((blob = malloc(SSHCERT_MAX_BLOB)) == NULL) {
		log_reason(err, errlen, "out of memory");
		goto out;
	}
	if ((n = sshwire_b64_decode(b64, len, blob, SSHCERT_MAX_BLOB)) == -1) {
		log_reason(err, errlen, "certificate is not valid base64");
		goto out;
	}
	rc = sshcert_parse(blob, (size_t)n, c, err, errlen);
out:
	free(blob);
	return rc;
}

/* out = s with anything but printable ASCII replaced, for messages. */
static void
printable_copy(char *out, size_t outlen, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < outlen; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
}

int
sshcert_signed_by(const struct sshcert *c, const uint8_t ca_key[32],
    char *err, size_t errlen)
{
	if (!c->ca_is_ed25519) {
		log_reason(err, errlen, "CA key is not Ed25519");
		return -1;
	}
	if (CRYPTO_memcmp(c->ca_key, ca_key, 32) != 0) {
		log_reason(err, errlen, "certificate signed by an unknown CA");
		return -1;
	}
	if (c->blob_len > sizeof(c->blob) || c->signed_len > c->blob_len ||
	    !sshwire_ed25519_verify(c->ca_key, c->blob, c->signed_len,
	    c->signature)) {
		log_reason(err, errlen, "certificate signature invalid");
		return -1;
	}
	return 0;
}

int
sshcert_validate(const struct sshcert *c, const uint8_t ca_key[32],
    time_t now, const char *principal, char *err, size_t errlen)
{
	uint64_t	t = now < 0 ? 0 : (uint64_t)now;
	char		shown[65];
	size_t		i;

	if (sshcert_signed_by(c, ca_key, err, errlen) == -1)
		return -1;
	if (c->type != SSHCERT_TYPE_USER) {
		log_reason(err, errlen, "not a user certificate");
		return -1;
	}
	if (c->not_utf8[0] != '\0') {
		log_reason(err, errlen, "certificate %s is not UTF-8 text",
		    c->not_utf8);
		return -1;
	}
	if (t < c->valid_after) {
		log_reason(err, errlen, "certificate not yet valid");
		return -1;
	}
	if (t >= c->valid_before) {
		log_reason(err, errlen, "certificate expired");
		return -1;
	}
	if (c->nprincipals == 0) {
		log_reason(err, errlen, "certificate has no principals");
		return -1;
	}
	if (c->ncritical > 0) {
		log_reason(err, errlen, "certificate has critical option '%s' "
		    "which porthole does not enforce", c->critical[0]);
		return -1;
	}
	if (principal == NULL)
		return 0;
	for (i = 0; i < c->nprincipals; i++)
		if (strcmp(c->principals[i], principal) == 0)
			return 0;
	/* The principal comes from the client: show it safely, bounded. */
	printable_copy(shown, sizeof(shown), principal);
	log_reason(err, errlen, "principal '%s' not in certificate", shown);
	return -1;
}

/* Read the whole of a small regular file into buf (NUL-terminated). */
static int
read_small_file(const char *path, char *buf, size_t bufsize, char *err,
    size_t errlen)
{
	struct stat	st;
	size_t		len = 0;
	ssize_t		n;
	int		fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		log_reason(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		log_reason(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		log_reason(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	/* Read one byte more than allowed to notice a file that grew. */
	while (len < bufsize) {
		if ((n = read(fd, buf + len, bufsize - len)) == -1) {
			if (errno == EINTR)
				continue;
			log_reason(err, errlen, "%s: read: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len >= bufsize) {
		log_reason(err, errlen, "%s: larger than %zu bytes", path,
		    bufsize - 1);
		goto out;
	}
	if (memchr(buf, '\0', len) != NULL) {
		log_reason(err, errlen, "%s: contains NUL bytes", path);
		goto out;
	}
	buf[len] = '\0';
	rc = 0;
out:
	close(fd);
	return rc;
}

/*
 * Split the text of a public key file into the type and base64 words of
 * its one line, in place; the comment is dropped.  what names the key
 * the file must hold, for the error.  0, or -1 with why in err.
 */
static int
pubkey_words(const char *path, char *text, const char *what, char **type,
    char **b64, char *err, size_t errlen)
{
	char *line = text, *rest;

	if ((rest = strchr(line, '\n')) != NULL)
		*rest++ = '\0';
	/*
	 * One key only: a second line would be silently ignored, and an
	 * operator who appended a second CA would believe it trusted.
	 */
	if (rest != NULL && rest[strspn(rest, " \t\r\n")] != '\0') {
		log_reason(err, errlen, "%s: more than one line; the file must "
		    "hold exactly one %s", path, what);
		return -1;
	}
	*type = line + strspn(line, " \t");
	*b64 = *type + strcspn(*type, " \t\r");
	if (**b64 != '\0')
		*(*b64)++ = '\0';
	*b64 += strspn(*b64, " \t");
	(*b64)[strcspn(*b64, " \t\r")] = '\0';	/* drop the comment */
	if (**type == '\0') {
		log_reason(err, errlen, "%s: empty file", path);
		return -1;
	}
	return 0;
}

int
sshcert_load_ca(const char *path, uint8_t ca_key[32], char *err,
    size_t errlen)
{
	char		 text[CA_FILE_MAX + 1], *type, *b64;
	uint8_t		 blob[CA_FILE_MAX / 4 * 3];	/* any line */
	struct sshwire	 w;
	const uint8_t	*s, *key;
	size_t		 n, klen;
	ssize_t		 len;

	if (read_small_file(path, text, sizeof(text), err, errlen) == -1 ||
	    pubkey_words(path, text, "ssh-ed25519 key", &type, &b64, err,
	    errlen) == -1)
		return -1;
	if (strcmp(type, "ssh-ed25519") != 0) {
		log_reason(err, errlen, "%s: not an ssh-ed25519 public key "
		    "(type '%.64s')", path, type);
		return -1;
	}
	if ((len = sshwire_b64_decode(b64, strlen(b64), blob, sizeof(blob))) == -1) {
		log_reason(err, errlen, "%s: key is not valid base64", path);
		return -1;
	}
	sshwire_init(&w, blob, (size_t)len);
	if (sshwire_string(&w, &s, &n) == -1 ||
	    !sshwire_is(s, n, "ssh-ed25519") ||
	    sshwire_string(&w, &key, &klen) == -1 || klen != 32 || w.left != 0) {
		log_reason(err, errlen, "%s: malformed ssh-ed25519 key", path);
		return -1;
	}
	memcpy(ca_key, key, 32);
	return 0;
}

/* A public key file: one line, whose blob names the type its label does. */
static int
keyfile_public(const char *path, char *text, struct sshcert_keyfile *out,
    char *err, size_t errlen)
{
	static const char	 cert_suffix[] = "-cert-v01@openssh.com";
	uint8_t			*blob = NULL;
	struct sshwire		 w;
	const uint8_t		*s;
	char			*type, *b64;
	size_t			 n, tlen;
	ssize_t			 len;
	int			 rc = -1;

	if (pubkey_words(path, text, "key", &type, &b64, err, errlen) == -1)
		return -1;
	if ((blob = malloc(KEY_FILE_MAX)) == NULL) {
		log_reason(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if ((len = sshwire_b64_decode(b64, strlen(b64), blob, KEY_FILE_MAX)) == -1) {
		log_reason(err, errlen, "%s: not an OpenSSH key file", path);
		goto out;
	}
	sshwire_init(&w, blob, (size_t)len);
	tlen = strlen(type);
	if (sshwire_string(&w, &s, &n) == -1 || !sshwire_is(s, n, type) ||
	    tlen >= sizeof(out->type)) {
		log_reason(err, errlen, "%s: not an OpenSSH key file (its key "
		    "is not of the type it is labelled)", path);
		goto out;
	}
	memcpy(out->type, type, tlen + 1);
	out->kind = tlen > strlen(cert_suffix) && strcmp(type + tlen -
	    strlen(cert_suffix), cert_suffix) == 0 ? SSHCERT_KEY_CERT :
	    SSHCERT_KEY_PUBLIC;
	rc = 0;
out:
	free(blob);
	return rc;
}

/*
 * An OpenSSH private key (PROTOCOL.key): "openssh-key-v1\0", cipher,
 * kdf, kdf options, the number of keys and the first public key, all
 * before anything secret.  body is the base64 between the armour lines.
 */
static int
keyfile_openssh(const char *path, const char *body,
    struct sshcert_keyfile *out, char *err, size_t errlen)
{
	static const char	 magic[] = "openssh-key-v1";	/* and its NUL */
	char			*b64 = NULL;
	uint8_t			*blob = NULL;
	const uint8_t		*cipher, *pub, *s;
	struct sshwire		 w, wp;
	size_t			 n, clen, plen, i;
	ssize_t			 len;
	uint32_t		 nkeys;
	int			 rc = -1;

	if ((b64 = malloc(KEY_FILE_MAX)) == NULL ||
	    (blob = malloc(KEY_FILE_MAX)) == NULL) {
		log_reason(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (i = n = 0; body[i] != '\0' && body[i] != '-'; i++)
		if (strchr(" \t\r\n", body[i]) == NULL && n + 1 < KEY_FILE_MAX)
			b64[n++] = body[i];
	b64[n] = '\0';
	if (strncmp(body + i, "-----END OPENSSH PRIVATE KEY-----", 33) != 0 ||
	    (len = sshwire_b64_decode(b64, n, blob, KEY_FILE_MAX)) == -1 ||
	    (size_t)len < sizeof(magic) ||
	    memcmp(blob, magic, sizeof(magic)) != 0) {
		log_reason(err, errlen, "%s: malformed OpenSSH private key",
		    path);
		goto out;
	}
	sshwire_init(&w, blob + sizeof(magic), (size_t)len - sizeof(magic));
	if (sshwire_string(&w, &cipher, &clen) == -1 ||
	    sshwire_string(&w, &s, &n) == -1 ||		/* kdf */
	    sshwire_string(&w, &s, &n) == -1 ||		/* its options */
	    sshwire_u32(&w, &nkeys) == -1 || nkeys != 1 ||
	    sshwire_string(&w, &pub, &plen) == -1) {
		log_reason(err, errlen, "%s: malformed OpenSSH private key",
		    path);
		goto out;
	}
	sshwire_init(&wp, pub, plen);
	if (sshwire_string(&wp, &s, &n) == -1 || n == 0 ||
	    n >= sizeof(out->type) || memchr(s, '\0', n) != NULL) {
		log_reason(err, errlen, "%s: malformed OpenSSH private key",
		    path);
		goto out;
	}
	memcpy(out->type, s, n);
	out->type[n] = '\0';
	out->kind = sshwire_is(cipher, clen, "none") ? SSHCERT_KEY_PRIVATE :
	    SSHCERT_KEY_ENCRYPTED;
	rc = 0;
out:
	if (b64 != NULL)
		OPENSSL_cleanse(b64, KEY_FILE_MAX);
	if (blob != NULL)
		OPENSSL_cleanse(blob, KEY_FILE_MAX);
	free(b64);
	free(blob);
	return rc;
}

/*
 * A PEM private key (what ssh-keygen -m PEM and OpenSSL write): the
 * armour says the kind; the key type is known only for the old
 * algorithm-specific labels.
 */
static int
keyfile_pem(const char *path, const char *text, struct sshcert_keyfile *out,
    char *err, size_t errlen)
{
	static const struct {
		const char			*label;
		const char			*type;
		enum sshcert_keyfile_kind	 kind;
	} labels[] = {
		{ "RSA PRIVATE KEY", "ssh-rsa", SSHCERT_KEY_PRIVATE },
		{ "DSA PRIVATE KEY", "ssh-dss", SSHCERT_KEY_PRIVATE },
		{ "EC PRIVATE KEY", "", SSHCERT_KEY_PRIVATE },
		{ "PRIVATE KEY", "", SSHCERT_KEY_PRIVATE },
		{ "ENCRYPTED PRIVATE KEY", "", SSHCERT_KEY_ENCRYPTED },
	};
	const char	*label = text + strlen("-----BEGIN ");
	size_t		 i, n;

	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		n = strlen(labels[i].label);
		if (strncmp(label, labels[i].label, n) != 0 ||
		    strncmp(label + n, "-----", 5) != 0)
			continue;
		snprintf(out->type, sizeof(out->type), "%s", labels[i].type);
		out->kind = labels[i].kind;
		/* The old OpenSSL encryption is a header inside the armour. */
		if (strstr(text, "Proc-Type: 4,ENCRYPTED") != NULL)
			out->kind = SSHCERT_KEY_ENCRYPTED;
		return 0;
	}
	log_reason(err, errlen, "%s: not an SSH private key (PEM '%.*s')", path,
	    (int)strcspn(label, "-\n"), label);
	return -1;
}

int
sshcert_read_keyfile(const char *path, struct sshcert_keyfile *out,
    char *err, size_t errlen)
{
	static const char	 openssh[] =
	    "-----BEGIN OPENSSH PRIVATE KEY-----";
	char			*text, *p;
	int			 rc = -1;

	memset(out, 0, sizeof(*out));
	if ((text = malloc(KEY_FILE_MAX + 1)) == NULL) {
		log_reason(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (read_small_file(path, text, KEY_FILE_MAX + 1, err, errlen) == -1)
		goto out;
	p = text + strspn(text, " \t\r\n");
	if (strncmp(p, openssh, strlen(openssh)) == 0)
		rc = keyfile_openssh(path, p + strlen(openssh), out, err,
		    errlen);
	else if (strncmp(p, "-----BEGIN ", 11) == 0)
		rc = keyfile_pem(path, p, out, err, errlen);
	else
		rc = keyfile_public(path, text, out, err, errlen);
out:
	/* It may have held a private key. */
	OPENSSL_cleanse(text, KEY_FILE_MAX + 1);
	free(text);
	return rc;
}
