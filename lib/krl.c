/*
 * krl.c - revocation lists, parsed whole and strictly when loaded and
 * consulted at every login.
 *
 * Two formats are read, as sshd's RevokedKeys reads them: an OpenSSH KRL
 * (it starts with "SSHKRL\n\0"; the format is OpenSSH's PROTOCOL.krl) and
 * otherwise a text file of public keys, one per line.  The file is copied
 * into memory once; every index built from it points into that copy.
 *
 * A KRL is accepted only if all of it is understood.  Like OpenSSH, an
 * unknown section or subsection type, a critical extension, serial 0, a
 * reversed range and a bitmap that runs past 2^64 are refused, and so is
 * anything truncated or left over at the end of a section.  Two
 * deliberate differences: a KRL signature section is skipped without
 * being verified (the file is trusted as the configuration beside it is,
 * by its owner and mode; OpenSSH 9.4 and later refuse signed KRLs and
 * ssh-keygen never makes them), and a key or CA key blob must be a
 * well-formed public key of a type OpenSSH knows, where OpenSSH would
 * keep an unparsable explicit key that can never match.
 *
 * Lookups: serial lists and ranges become sorted, merged ranges; bitmaps
 * stay as the bytes of the file (one bit per serial, at most 16384 each,
 * so that a KRL never takes much more memory than its size); key ids,
 * keys and hashes are sorted arrays searched by bisection.
 */
#include "lib/krl.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/log.h"
#include "lib/sshwire.h"

#define KRL_MAGIC		"SSHKRL\n"	/* and a NUL: 8 bytes */
#define KRL_MAGIC_LEN		8
#define KRL_FORMAT_VERSION	1

/* Section types (PROTOCOL.krl section 1). */
#define KRL_SECTION_CERTIFICATES	1
#define KRL_SECTION_EXPLICIT_KEY	2
#define KRL_SECTION_FINGERPRINT_SHA1	3
#define KRL_SECTION_SIGNATURE		4
#define KRL_SECTION_FINGERPRINT_SHA256	5
#define KRL_SECTION_EXTENSION		255

/* Certificate subsection types (section 2). */
#define KRL_CERT_SERIAL_LIST	0x20
#define KRL_CERT_SERIAL_RANGE	0x21
#define KRL_CERT_SERIAL_BITMAP	0x22
#define KRL_CERT_KEY_ID		0x23
#define KRL_CERT_EXTENSION	0x39

/* OpenSSH refuses mpints longer than 2048 bytes (plus a sign byte). */
#define KRL_BITMAP_MAX_BYTES	2048
#define KRL_BITMAP_MAX_BITS	(KRL_BITMAP_MAX_BYTES * 8)

#define SHA1_LEN	20
#define SHA256_LEN	32

struct krl_blob {
	const uint8_t	*p;
	size_t		 len;
};

/* Both start with the serial they start at: see starting_by(). */
struct krl_range {
	uint64_t	 lo, hi;		/* inclusive */
};

struct krl_bitmap {
	uint64_t	 offset;		/* serial of bit 0 */
	const uint8_t	*bytes;			/* big-endian: bit 0 is the
						   low bit of the last byte */
	size_t		 len;			/* no leading zero bytes */
};

/* What one CA key's certificate sections revoke (key.len 0: any CA). */
struct krl_ca {
	struct krl_blob	  key;
	struct krl_range *ranges;
	size_t		  nranges, ranges_cap;
	struct krl_bitmap *bitmaps;
	size_t		  nbitmaps, bitmaps_cap;
	struct krl_blob	 *ids;
	size_t		  nids, ids_cap;
};

/* A growable array of blobs: keys, hashes. */
struct krl_blobs {
	struct krl_blob	*v;
	size_t		 n, cap;
};

struct krl {
	uint8_t		*buf;		/* the file, as read */
	size_t		 len;
	uint8_t		*arena;		/* key list: the decoded keys */
	size_t		 arena_used;
	int		 is_krl;	/* an OpenSSH KRL, not a key list */
	uint64_t	 version;	/* the KRL's krl_version */
	struct krl_ca	*cas;
	size_t		 ncas;
	struct krl_blobs keys;		/* plain public key blobs */
	struct krl_blobs sha1;
	struct krl_blobs sha256;
};

/* The public key types whose blobs are accepted, and their shape. */
static const struct key_shape {
	const char	*type;
	int		 nfields;	/* strings after the type */
	size_t		 first_len;	/* the first field's length, or 0 */
	const char	*curve;		/* the first field's text, or NULL */
} key_shapes[] = {
	{ "ssh-ed25519", 1, 32, NULL },
	{ "sk-ssh-ed25519@openssh.com", 2, 32, NULL },
	{ "ecdsa-sha2-nistp256", 2, 0, "nistp256" },
	{ "ecdsa-sha2-nistp384", 2, 0, "nistp384" },
	{ "ecdsa-sha2-nistp521", 2, 0, "nistp521" },
	{ "sk-ecdsa-sha2-nistp256@openssh.com", 3, 0, "nistp256" },
	{ "ssh-rsa", 2, 0, NULL },
	{ "ssh-dss", 4, 0, NULL },
};

/* Where a parse is, for its error message. */
struct parse {
	struct krl	*k;
	const char	*name;
	const char	*what;		/* the item being read */
	char		*err;
	size_t		 errlen;
};

/* The KRL is malformed at w: say where and why (-1). */
static int	bad(struct parse *, const struct sshwire *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
bad(struct parse *x, const struct sshwire *w, const char *fmt, ...)
{
	char	detail[160];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	log_reason(x->err, x->errlen, "%s: %s KRL at byte %zu: %s%s%s", x->name,
	    w->short_read ? "truncated" : "malformed",
	    (size_t)(w->p - x->k->buf), x->what,
	    detail[0] != '\0' ? ": " : "", detail);
	return -1;
}

static int
nomem(struct parse *x)
{
	log_reason(x->err, x->errlen, "%s: out of memory", x->name);
	return -1;
}

/* Make room for one more of n elements of size sz in *v (cap *cap). */
static int
grow(void *vp, size_t *cap, size_t n, size_t sz)
{
	void	**v = vp;
	void	 *nv;
	size_t	  ncap;

	if (n < *cap)
		return 0;
	ncap = *cap == 0 ? 16 : *cap * 2;
	if ((nv = reallocarray(*v, ncap, sz)) == NULL)
		return -1;
	*v = nv;
	*cap = ncap;
	return 0;
}

static int
blobs_add(struct krl_blobs *b, const uint8_t *p, size_t len)
{
	if (grow(&b->v, &b->cap, b->n, sizeof(*b->v)) == -1)
		return -1;
	b->v[b->n].p = p;
	b->v[b->n].len = len;
	b->n++;
	return 0;
}

static int
blob_cmp(const void *a, const void *b)
{
	const struct krl_blob *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->len == 0 ? 0 : memcmp(x->p, y->p, x->len);
}

static int
blobs_find(const struct krl_blob *v, size_t n, const uint8_t *p, size_t len)
{
	struct krl_blob key = { p, len };

	return n > 0 && bsearch(&key, v, n, sizeof(*v), blob_cmp) != NULL;
}

static const struct key_shape *
shape_lookup(const uint8_t *type, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(key_shapes) / sizeof(key_shapes[0]); i++)
		if (sshwire_is(type, len, key_shapes[i].type))
			return &key_shapes[i];
	return NULL;
}

/*
 * Is blob a well-formed plain public key of a known type?  Only its
 * framing is checked (the fields are compared, never used as keys).
 */
static int
key_blob_ok(const uint8_t *blob, size_t len)
{
	const struct key_shape	*ks;
	struct sshwire		 w;
	const uint8_t		*s;
	size_t			 n;
	int			 i;

	sshwire_init(&w, blob, len);
	if (sshwire_string(&w, &s, &n) == -1 ||
	    (ks = shape_lookup(s, n)) == NULL)
		return 0;
	for (i = 0; i < ks->nfields; i++) {
		if (sshwire_string(&w, &s, &n) == -1 || n == 0)
			return 0;
		if (i == 0 && ks->first_len != 0 && n != ks->first_len)
			return 0;
		if (i == 0 && ks->curve != NULL && !sshwire_is(s, n, ks->curve))
			return 0;
	}
	return w.left == 0;
}

/* The entry for this CA key (len 0: any CA), made if new. */
static struct krl_ca *
ca_entry(struct parse *x, const struct sshwire *w, const uint8_t *key,
    size_t len)
{
	struct krl	*k = x->k;
	struct krl_ca	*ca;
	size_t		 i;

	for (i = 0; i < k->ncas; i++)
		if (k->cas[i].key.len == len &&
		    (len == 0 || memcmp(k->cas[i].key.p, key, len) == 0))
			return &k->cas[i];
	if (k->ncas == KRL_MAX_CAS) {
		bad(x, w, "more than %d CA keys", KRL_MAX_CAS);
		return NULL;
	}
	if ((ca = reallocarray(k->cas, k->ncas + 1, sizeof(*ca))) == NULL) {
		nomem(x);
		return NULL;
	}
	k->cas = ca;
	ca = &k->cas[k->ncas++];
	memset(ca, 0, sizeof(*ca));
	ca->key.p = key;
	ca->key.len = len;
	return ca;
}

static int
ca_add_range(struct parse *x, const struct sshwire *w, struct krl_ca *ca,
    uint64_t lo, uint64_t hi)
{
	/* OpenSSH refuses these too: serial 0 means "no serial". */
	if (lo == 0)
		return bad(x, w, "serial 0 cannot be revoked");
	if (lo > hi)
		return bad(x, w, "range %llu-%llu is reversed",
		    (unsigned long long)lo, (unsigned long long)hi);
	if (grow(&ca->ranges, &ca->ranges_cap, ca->nranges,
	    sizeof(*ca->ranges)) == -1)
		return nomem(x);
	ca->ranges[ca->nranges].lo = lo;
	ca->ranges[ca->nranges].hi = hi;
	ca->nranges++;
	return 0;
}

static int
parse_serial_list(struct parse *x, struct sshwire *w, struct krl_ca *ca)
{
	uint64_t serial;

	x->what = "serial list";
	while (w->left > 0) {
		if (sshwire_u64(w, &serial) == -1)
			return bad(x, w, "%s", "");
		if (ca_add_range(x, w, ca, serial, serial) == -1)
			return -1;
	}
	return 0;
}

static int
parse_serial_range(struct parse *x, struct sshwire *w, struct krl_ca *ca)
{
	uint64_t lo, hi;

	x->what = "serial range";
	if (sshwire_u64(w, &lo) == -1 || sshwire_u64(w, &hi) == -1)
		return bad(x, w, "%s", "");
	return ca_add_range(x, w, ca, lo, hi);
}

/* The number of bits up to the highest set one (bytes has no leading 0). */
static uint64_t
bitmap_nbits(const uint8_t *bytes, size_t len)
{
	uint64_t	nbits;
	uint8_t		top;

	if (len == 0)
		return 0;
	nbits = (uint64_t)(len - 1) * 8;
	for (top = bytes[0]; top != 0; top >>= 1)
		nbits++;
	return nbits;
}

static int
bitmap_test(const struct krl_bitmap *b, uint64_t bit)
{
	if (bit / 8 >= b->len)
		return 0;
	return (b->bytes[b->len - 1 - bit / 8] >> (bit % 8)) & 1;
}

static int
parse_serial_bitmap(struct parse *x, struct sshwire *w, struct krl_ca *ca)
{
	struct krl_bitmap	*b;
	const uint8_t		*bytes;
	uint64_t		 offset, nbits;
	size_t			 len;

	x->what = "serial bitmap";
	if (sshwire_u64(w, &offset) == -1 ||
	    sshwire_string(w, &bytes, &len) == -1)
		return bad(x, w, "%s", "");
	/* An mpint, as sshbuf_get_bignum2_bytes_direct() reads it. */
	if (len > 0 && (bytes[0] & 0x80) != 0)
		return bad(x, w, "negative bitmap");
	if (len > KRL_BITMAP_MAX_BYTES + 1 ||
	    (len == KRL_BITMAP_MAX_BYTES + 1 && bytes[0] != 0))
		return bad(x, w, "bitmap longer than %d bytes",
		    KRL_BITMAP_MAX_BYTES);
	while (len > 0 && bytes[0] == 0) {
		bytes++;
		len--;
	}
	if ((nbits = bitmap_nbits(bytes, len)) == 0)
		return 0;
	if (nbits - 1 > UINT64_MAX - offset)
		return bad(x, w, "bitmap runs past serial 2^64-1");
	if (offset == 0 && (bytes[len - 1] & 1))
		return bad(x, w, "serial 0 cannot be revoked");
	if (grow(&ca->bitmaps, &ca->bitmaps_cap, ca->nbitmaps,
	    sizeof(*ca->bitmaps)) == -1)
		return nomem(x);
	b = &ca->bitmaps[ca->nbitmaps++];
	b->offset = offset;
	b->bytes = bytes;
	b->len = len;
	return 0;
}

static int
parse_key_ids(struct parse *x, struct sshwire *w, struct krl_ca *ca)
{
	const uint8_t	*id;
	size_t		 len;

	x->what = "key id";
	while (w->left > 0) {
		if (sshwire_string(w, &id, &len) == -1)
			return bad(x, w, "%s", "");
		if (memchr(id, '\0', len) != NULL)
			return bad(x, w, "NUL byte in a key id");
		if (grow(&ca->ids, &ca->ids_cap, ca->nids,
		    sizeof(*ca->ids)) == -1)
			return nomem(x);
		ca->ids[ca->nids].p = id;
		ca->ids[ca->nids].len = len;
		ca->nids++;
	}
	return 0;
}

/*
 * An extension (section or certificate subsection): name, critical flag,
 * contents.  None is known, so a critical one refuses the KRL.
 */
static int
parse_extension(struct parse *x, struct sshwire *w)
{
	const uint8_t	*name, *data;
	size_t		 nlen, dlen, i;
	uint8_t		 critical;
	char		 shown[65];

	x->what = "extension";
	if (sshwire_string(w, &name, &nlen) == -1 ||
	    sshwire_u8(w, &critical) == -1 ||
	    sshwire_string(w, &data, &dlen) == -1)
		return bad(x, w, "%s", "");
	if (w->left != 0)
		return bad(x, w, "trailing bytes");
	if (critical == 0)
		return 0;
	for (i = 0; i < nlen && i + 1 < sizeof(shown); i++)
		shown[i] = name[i] >= 0x20 && name[i] < 0x7f ? (char)name[i] :
		    '?';
	shown[i] = '\0';
	return bad(x, w, "unsupported critical extension '%s'", shown);
}

static int
parse_cert_subsection(struct parse *x, struct sshwire *w, uint8_t type,
    struct krl_ca *ca)
{
	switch (type) {
	case KRL_CERT_SERIAL_LIST:
		return parse_serial_list(x, w, ca);
	case KRL_CERT_SERIAL_RANGE:
		return parse_serial_range(x, w, ca);
	case KRL_CERT_SERIAL_BITMAP:
		return parse_serial_bitmap(x, w, ca);
	case KRL_CERT_KEY_ID:
		return parse_key_ids(x, w, ca);
	case KRL_CERT_EXTENSION:
		return parse_extension(x, w);
	}
	x->what = "certificate section";
	return bad(x, w, "unknown subsection type 0x%02x", type);
}

/* A certificate section: the CA key (empty: any CA), then subsections. */
static int
parse_certs(struct parse *x, struct sshwire *w)
{
	struct krl_ca	*ca;
	struct sshwire	 sub;
	const uint8_t	*key, *s;
	size_t		 klen, n;
	uint8_t		 type;

	x->what = "certificate section";
	if (sshwire_string(w, &key, &klen) == -1 ||
	    sshwire_string(w, &s, &n) == -1)
		return bad(x, w, "%s", "");
	if (klen != 0 && !key_blob_ok(key, klen))
		return bad(x, w, "the CA key is not a public key");
	if ((ca = ca_entry(x, w, key, klen)) == NULL)
		return -1;
	while (w->left > 0) {
		x->what = "certificate section";
		if (sshwire_u8(w, &type) == -1 ||
		    sshwire_string(w, &s, &n) == -1)
			return bad(x, w, "%s", "");
		sshwire_init(&sub, s, n);
		if (parse_cert_subsection(x, &sub, type, ca) == -1)
			return -1;
		if (sub.left != 0)
			return bad(x, &sub, "trailing bytes");
	}
	return 0;
}

/* Explicit keys or hashes (hlen != 0: each exactly that long). */
static int
parse_blobs(struct parse *x, struct sshwire *w, struct krl_blobs *to,
    size_t hlen)
{
	const uint8_t	*s;
	size_t		 n;

	while (w->left > 0) {
		if (sshwire_string(w, &s, &n) == -1)
			return bad(x, w, "%s", "");
		if (hlen != 0 && n != hlen)
			return bad(x, w, "a hash of %zu bytes, not %zu", n,
			    hlen);
		if (hlen == 0 && !key_blob_ok(s, n))
			return bad(x, w, "not a plain public key");
		if (blobs_add(to, s, n) == -1)
			return nomem(x);
	}
	return 0;
}

static int
parse_section(struct parse *x, struct sshwire *w, uint8_t type)
{
	struct krl *k = x->k;

	switch (type) {
	case KRL_SECTION_CERTIFICATES:
		return parse_certs(x, w);
	case KRL_SECTION_EXPLICIT_KEY:
		x->what = "key section";
		return parse_blobs(x, w, &k->keys, 0);
	case KRL_SECTION_FINGERPRINT_SHA1:
		x->what = "SHA1 section";
		return parse_blobs(x, w, &k->sha1, SHA1_LEN);
	case KRL_SECTION_FINGERPRINT_SHA256:
		x->what = "SHA256 section";
		return parse_blobs(x, w, &k->sha256, SHA256_LEN);
	case KRL_SECTION_EXTENSION:
		return parse_extension(x, w);
	}
	x->what = "section";
	return bad(x, w, "unknown section type %u", type);
}

static int
parse_krl(struct parse *x)
{
	struct krl	*k = x->k;
	struct sshwire	 w, sect;
	const uint8_t	*s;
	size_t		 n;
	uint64_t	 date, flags;
	uint32_t	 format;
	uint8_t		 type;
	int		 signed_ = 0;

	sshwire_init(&w, k->buf + KRL_MAGIC_LEN, k->len - KRL_MAGIC_LEN);
	x->what = "header";
	if (sshwire_u32(&w, &format) == -1)
		return bad(x, &w, "%s", "");
	if (format != KRL_FORMAT_VERSION)
		return bad(x, &w, "format version %u, not %d", format,
		    KRL_FORMAT_VERSION);
	if (sshwire_u64(&w, &k->version) == -1 ||
	    sshwire_u64(&w, &date) == -1 ||
	    sshwire_u64(&w, &flags) == -1 || sshwire_string(&w, &s, &n) == -1 ||
	    sshwire_string(&w, &s, &n) == -1)
		return bad(x, &w, "%s", "");
	if (memchr(s, '\0', n) != NULL)
		return bad(x, &w, "NUL byte in the comment");
	while (w.left > 0) {
		x->what = "section";
		if (sshwire_u8(&w, &type) == -1)
			return bad(x, &w, "%s", "");
		/* Signatures come last: two strings, skipped (see above). */
		if (type == KRL_SECTION_SIGNATURE) {
			x->what = "signature section";
			if (sshwire_string(&w, &s, &n) == -1 ||
			    sshwire_string(&w, &s, &n) == -1)
				return bad(x, &w, "%s", "");
			signed_ = 1;
			continue;
		}
		if (signed_)
			return bad(x, &w, "a section after the signature");
		if (sshwire_string(&w, &s, &n) == -1)
			return bad(x, &w, "%s", "");
		sshwire_init(&sect, s, n);
		if (parse_section(x, &sect, type) == -1)
			return -1;
		if (sect.left != 0)
			return bad(x, &sect, "trailing bytes");
	}
	return 0;
}

/* Append len bytes to the key list's arena (sized for the whole file). */
static uint8_t *
arena_take(struct krl *k, size_t len)
{
	uint8_t *p;

	if (len > k->len - k->arena_used)
		return NULL;
	p = k->arena + k->arena_used;
	k->arena_used += len;
	return p;
}

/*
 * One line of a key list: "TYPE BASE64 [COMMENT]".  A certificate stands
 * for its key, as sshd reads it.  Returns 0, or -1 with the reason.
 */
static int
parse_key_line(struct krl *k, char *line, struct sshcert *cert, char *why,
    size_t whylen)
{
	char		*type, *b64;
	uint8_t		*blob;
	ssize_t		 n;
	struct sshwire	 w;
	const uint8_t	*s;
	size_t		 slen;

	type = line;
	b64 = type + strcspn(type, " \t");
	if (*b64 == '\0') {
		log_reason(why, whylen, "expected TYPE BASE64 [COMMENT]");
		return -1;
	}
	*b64++ = '\0';
	b64 += strspn(b64, " \t");
	b64[strcspn(b64, " \t")] = '\0';
	if (sshcert_is_cert_type(type)) {
		if (sshcert_parse_base64(b64, cert, why, whylen) == -1)
			return -1;
		if (strcmp(cert->key_type, type) != 0) {
			log_reason(why, whylen, "not a %.64s certificate", type);
			return -1;
		}
		if ((blob = arena_take(k, cert->blob_len)) == NULL ||
		    (n = sshcert_plain_key(cert, blob, cert->blob_len)) == -1) {
			log_reason(why, whylen, "certificate too large");
			return -1;
		}
		/* What sshcert_plain_key did not use goes back. */
		k->arena_used -= cert->blob_len - (size_t)n;
		return blobs_add(&k->keys, blob, (size_t)n) == -1 ? -2 : 0;
	}
	if (shape_lookup((const uint8_t *)type, strlen(type)) == NULL) {
		log_reason(why, whylen, "unknown key type '%.64s'", type);
		return -1;
	}
	/* A key decodes to fewer bytes than its line: it fits. */
	blob = k->arena + k->arena_used;
	if ((n = sshwire_b64_decode(b64, strlen(b64), blob,
	    k->len - k->arena_used)) == -1) {
		log_reason(why, whylen, "key is not valid base64");
		return -1;
	}
	sshwire_init(&w, blob, (size_t)n);
	if (!key_blob_ok(blob, (size_t)n) ||
	    sshwire_string(&w, &s, &slen) == -1 ||
	    !sshwire_is(s, slen, type)) {
		log_reason(why, whylen, "malformed %.64s key", type);
		return -1;
	}
	k->arena_used += (size_t)n;
	return blobs_add(&k->keys, blob, (size_t)n) == -1 ? -2 : 0;
}

/* A text file of public keys; blank lines and # comments are skipped. */
static int
parse_key_list(struct parse *x)
{
	struct krl	*k = x->k;
	struct sshcert	*cert = NULL;
	char		*line = NULL, *p, why[256];
	size_t		 off = 0, len, lineno = 0;
	int		 rc = -1, r;

	if ((k->arena = malloc(k->len + 1)) == NULL ||
	    (cert = malloc(sizeof(*cert))) == NULL ||
	    (line = malloc(KRL_MAX_LINE + 1)) == NULL) {
		nomem(x);
		goto out;
	}
	if (memchr(k->buf, '\0', k->len) != NULL) {
		log_reason(x->err, x->errlen, "%s: neither a KRL nor a list of "
		    "public keys (NUL bytes)", x->name);
		goto out;
	}
	while (off < k->len) {
		lineno++;
		p = memchr(k->buf + off, '\n', k->len - off);
		len = p == NULL ? k->len - off : (size_t)(p - (char *)k->buf) -
		    off;
		if (len > KRL_MAX_LINE) {
			log_reason(x->err, x->errlen, "%s:%zu: line longer than "
			    "%d bytes", x->name, lineno, KRL_MAX_LINE);
			goto out;
		}
		memcpy(line, k->buf + off, len);
		line[len] = '\0';
		off += len + 1;
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		p = line + strspn(line, " \t");
		if (*p == '\0' || *p == '#')
			continue;
		if ((r = parse_key_line(k, p, cert, why, sizeof(why))) != 0) {
			if (r == -2)
				nomem(x);
			else
				log_reason(x->err, x->errlen, "%s:%zu: %s",
				    x->name, lineno, why);
			goto out;
		}
	}
	rc = 0;
out:
	free(line);
	free(cert);
	return rc;
}

static int
range_cmp(const void *a, const void *b)
{
	const struct krl_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return 0;
}

static int
bitmap_cmp(const void *a, const void *b)
{
	const struct krl_bitmap *x = a, *y = b;

	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return 0;
}

/* Sort the ranges and merge those that overlap or touch. */
static void
ranges_merge(struct krl_ca *ca)
{
	size_t i, o = 0;

	if (ca->nranges == 0)
		return;
	qsort(ca->ranges, ca->nranges, sizeof(*ca->ranges), range_cmp);
	for (i = 1; i < ca->nranges; i++) {
		if (ca->ranges[o].hi == UINT64_MAX ||
		    ca->ranges[i].lo <= ca->ranges[o].hi + 1) {
			if (ca->ranges[i].hi > ca->ranges[o].hi)
				ca->ranges[o].hi = ca->ranges[i].hi;
		} else
			ca->ranges[++o] = ca->ranges[i];
	}
	ca->nranges = o + 1;
}

/* Sort everything that is searched by bisection. */
static void
krl_index(struct krl *k)
{
	struct krl_ca	*ca;
	size_t		 i;

	for (i = 0; i < k->ncas; i++) {
		ca = &k->cas[i];
		ranges_merge(ca);
		if (ca->nbitmaps > 0)
			qsort(ca->bitmaps, ca->nbitmaps, sizeof(*ca->bitmaps),
			    bitmap_cmp);
		if (ca->nids > 0)
			qsort(ca->ids, ca->nids, sizeof(*ca->ids), blob_cmp);
	}
	if (k->keys.n > 0)
		qsort(k->keys.v, k->keys.n, sizeof(*k->keys.v), blob_cmp);
	if (k->sha1.n > 0)
		qsort(k->sha1.v, k->sha1.n, sizeof(*k->sha1.v), blob_cmp);
	if (k->sha256.n > 0)
		qsort(k->sha256.v, k->sha256.n, sizeof(*k->sha256.v),
		    blob_cmp);
}

int
krl_parse(const uint8_t *buf, size_t len, const char *name, struct krl **out,
    char *err, size_t errlen)
{
	struct parse	 x;
	struct krl	*k;
	int		 rc;

	*out = NULL;
	if (len > KRL_MAX_FILE) {
		log_reason(err, errlen, "%s: larger than %d bytes", name,
		    KRL_MAX_FILE);
		return -1;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL ||
	    (k->buf = malloc(len + 1)) == NULL) {
		free(k);
		log_reason(err, errlen, "%s: out of memory", name);
		return -1;
	}
	if (len > 0)
		memcpy(k->buf, buf, len);
	k->len = len;
	memset(&x, 0, sizeof(x));
	x.k = k;
	x.name = name;
	x.err = err;
	x.errlen = errlen;
	k->is_krl = len >= KRL_MAGIC_LEN &&
	    memcmp(buf, KRL_MAGIC, KRL_MAGIC_LEN) == 0;
	rc = k->is_krl ? parse_krl(&x) : parse_key_list(&x);
	if (rc == -1) {
		krl_free(k);
		return -1;
	}
	krl_index(k);
	*out = k;
	return 0;
}

int
krl_load_fd(int fd, const char *name, struct krl **out, char *err,
    size_t errlen)
{
	struct stat	 st;
	uint8_t		*buf = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 rc = -1;

	*out = NULL;
	if (fstat(fd, &st) == -1) {
		log_reason(err, errlen, "%s: %s", name, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		log_reason(err, errlen, "%s: not a regular file", name);
		return -1;
	}
	if (st.st_size > KRL_MAX_FILE) {
		log_reason(err, errlen, "%s: larger than %d bytes", name,
		    KRL_MAX_FILE);
		return -1;
	}
	/* One byte more than the size, to notice a file that grew. */
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		log_reason(err, errlen, "%s: out of memory", name);
		return -1;
	}
	while (len < (size_t)st.st_size + 1) {
		n = pread(fd, buf + len, (size_t)st.st_size + 1 - len,
		    (off_t)len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_reason(err, errlen, "%s: read: %s", name,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len != (size_t)st.st_size) {
		log_reason(err, errlen, "%s: changed while it was read", name);
		goto out;
	}
	rc = krl_parse(buf, len, name, out, err, errlen);
out:
	free(buf);
	return rc;
}

int
krl_load(const char *path, struct krl **out, char *err, size_t errlen)
{
	int fd, rc;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		log_reason(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return -1;
	}
	rc = krl_load_fd(fd, path, out, err, errlen);
	close(fd);
	return rc;
}

int
krl_load_optional(const char *path, struct krl **out, char *err,
    size_t errlen)
{
	char desc[256];

	*out = NULL;
	if (path == NULL)
		return 0;
	if (krl_load(path, out, err, errlen) == -1)
		return -1;
	krl_describe(*out, desc, sizeof(desc));
	log_info("revoked_keys %s: %s", path, desc);
	return 0;
}

void
krl_free(struct krl *k)
{
	size_t i;

	if (k == NULL)
		return;
	for (i = 0; i < k->ncas; i++) {
		free(k->cas[i].ranges);
		free(k->cas[i].bitmaps);
		free(k->cas[i].ids);
	}
	free(k->cas);
	free(k->keys.v);
	free(k->sha1.v);
	free(k->sha256.v);
	free(k->arena);
	free(k->buf);
	free(k);
}

/* "SHA256:" and the unpadded base64 of the hash, as ssh-keygen -l shows it. */
static void
fingerprint(const uint8_t sha256[SHA256_LEN], char *out, size_t outlen)
{
	char	b64[48];
	int	n;

	n = EVP_EncodeBlock((unsigned char *)b64, sha256, SHA256_LEN);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	b64[n > 0 ? n : 0] = '\0';
	snprintf(out, outlen, "SHA256:%s", b64);
}

/* Is the plain key blob revoked (what: "key", "CA key")? */
static int
check_blob(const struct krl *k, const uint8_t *blob, size_t len,
    const char *what, char *why, size_t whylen)
{
	uint8_t		sha1[SHA1_LEN], sha256[SHA256_LEN];
	char		fp[64];

	if (EVP_Digest(blob, len, sha1, NULL, EVP_sha1(), NULL) != 1 ||
	    EVP_Digest(blob, len, sha256, NULL, EVP_sha256(), NULL) != 1) {
		log_reason(why, whylen, "the revocation list cannot be checked "
		    "(no digest)");
		return -1;
	}
	if (blobs_find(k->sha1.v, k->sha1.n, sha1, SHA1_LEN) ||
	    blobs_find(k->sha256.v, k->sha256.n, sha256, SHA256_LEN) ||
	    blobs_find(k->keys.v, k->keys.n, blob, len)) {
		fingerprint(sha256, fp, sizeof(fp));
		log_reason(why, whylen, "%s revoked (%s)", what, fp);
		return 1;
	}
	return 0;
}

/*
 * In an array sorted by a leading uint64_t (a range's lo, a bitmap's
 * offset), how many elements start at or before serial.
 */
static size_t
starting_by(const void *base, size_t n, size_t size, uint64_t serial)
{
	const char	*p = base;
	uint64_t	 start;
	size_t		 lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		memcpy(&start, p + mid * size, sizeof(start));
		if (start <= serial)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
serial_in_ranges(const struct krl_ca *ca, uint64_t serial)
{
	size_t n;

	/* Merged: only the last range that starts by serial can hold it. */
	n = starting_by(ca->ranges, ca->nranges, sizeof(*ca->ranges), serial);
	return n > 0 && ca->ranges[n - 1].hi >= serial;
}

static int
serial_in_bitmaps(const struct krl_ca *ca, uint64_t serial)
{
	size_t lo;

	/* Those that start by serial and reach it, nearest first. */
	lo = starting_by(ca->bitmaps, ca->nbitmaps, sizeof(*ca->bitmaps),
	    serial);
	while (lo > 0 && serial - ca->bitmaps[lo - 1].offset <
	    KRL_BITMAP_MAX_BITS) {
		if (bitmap_test(&ca->bitmaps[lo - 1], serial -
		    ca->bitmaps[lo - 1].offset))
			return 1;
		lo--;
	}
	return 0;
}

/* Does this CA entry revoke the certificate? */
static int
check_ca_entry(const struct krl_ca *ca, const struct sshcert *c, char *why,
    size_t whylen)
{
	if (blobs_find(ca->ids, ca->nids, (const uint8_t *)c->key_id,
	    strlen(c->key_id))) {
		log_reason(why, whylen, "certificate revoked (key id '%s')",
		    c->key_id);
		return 1;
	}
	/* Serial 0 is what a CA gives when it gives none: never revoked. */
	if (c->serial != 0 && (serial_in_ranges(ca, c->serial) ||
	    serial_in_bitmaps(ca, c->serial))) {
		log_reason(why, whylen, "certificate revoked (serial %llu)",
		    (unsigned long long)c->serial);
		return 1;
	}
	return 0;
}

int
krl_check_cert(const struct krl *k, const struct sshcert *c, char *why,
    size_t whylen)
{
	uint8_t		 plain[SSHCERT_MAX_BLOB];
	const uint8_t	*ca_key;
	ssize_t		 n;
	size_t		 i;
	int		 r;

	if (c->ca_off + c->ca_len > c->blob_len ||
	    (n = sshcert_plain_key(c, plain, sizeof(plain))) == -1) {
		log_reason(why, whylen, "the revocation list cannot be checked "
		    "(certificate not parsed)");
		return -1;
	}
	if ((r = check_blob(k, plain, (size_t)n, "certificate key", why,
	    whylen)) != 0)
		return r;
	ca_key = c->blob + c->ca_off;
	for (i = 0; i < k->ncas; i++) {
		if (k->cas[i].key.len != 0 && (k->cas[i].key.len != c->ca_len ||
		    memcmp(k->cas[i].key.p, ca_key, c->ca_len) != 0))
			continue;
		if (check_ca_entry(&k->cas[i], c, why, whylen))
			return 1;
	}
	return check_blob(k, ca_key, c->ca_len, "CA key", why, whylen);
}

int
krl_check_key(const struct krl *k, const uint8_t *blob, size_t len,
    char *why, size_t whylen)
{
	return check_blob(k, blob, len, "key", why, whylen);
}

const uint8_t *
krl_bytes(const struct krl *k, size_t *len)
{
	*len = k->len;
	return k->buf;
}

void
krl_describe(const struct krl *k, char *buf, size_t len)
{
	size_t i, ranges = 0, bitmaps = 0, ids = 0;

	if (!k->is_krl) {
		snprintf(buf, len, "key list: keys %zu", k->keys.n);
		return;
	}
	for (i = 0; i < k->ncas; i++) {
		ranges += k->cas[i].nranges;
		bitmaps += k->cas[i].nbitmaps;
		ids += k->cas[i].nids;
	}
	snprintf(buf, len, "KRL version %llu: serial ranges %zu, serial "
	    "bitmaps %zu, key ids %zu (under CA keys %zu), keys %zu, SHA1 "
	    "hashes %zu, SHA256 hashes %zu", (unsigned long long)k->version,
	    ranges, bitmaps, ids, k->ncas, k->keys.n, k->sha1.n,
	    k->sha256.n);
}
