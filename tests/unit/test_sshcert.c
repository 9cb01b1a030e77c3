/*
 * test_sshcert.c - certificates made by ssh-keygen at test time, checked
 * the way the relay and the gateway check them, plus certificates built
 * and signed here for the cases ssh-keygen will not produce (NUL bytes,
 * too many principals, bad tickets, exact validity boundaries).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "tests/unit/kit.h"
#include "lib/clock.h"
#include "lib/sshcert.h"

static char	dir[KIT_PATH_MAX];
static uint8_t	ca_key[32], ca2_key[32];

static void
write_file(const char *name, const char *text)
{
	char	path[512];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* Read NAME-cert.pub's base64 field. */
static char *
cert_b64(const char *name)
{
	static char	buf[32768];
	char		path[512], *sp, *end;
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s-cert.pub", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		fail_msg("%s: missing", path);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_non_null(sp = strchr(buf, ' '));
	if ((end = strchr(sp + 1, ' ')) != NULL)
		*end = '\0';
	return sp + 1;
}

/* Make key NAME of TYPE and sign it with CA using ssh-keygen OPTS. */
static void
make_cert(const char *name, const char *type, const char *ca,
    const char *opts)
{
	kit_run("ssh-keygen -q -t %s -N '' -C %s -f %s/%s", type, name, dir, name);
	kit_run("ssh-keygen -q -s %s/%s %s %s/%s.pub 2>/dev/null", dir, ca, opts,
	    dir, name);
}

static int
setup(void **state)
{
	char	path[512], err[256];

	(void)state;
	if (kit_tmpdir(dir, "sshcert") == -1)
		return -1;
	kit_run("ssh-keygen -q -t ed25519 -N '' -f %s/ca", dir);
	kit_run("ssh-keygen -q -t ed25519 -N '' -f %s/ca2", dir);
	kit_run("ssh-keygen -q -t rsa -b 2048 -N '' -f %s/rsaca", dir);
	snprintf(path, sizeof(path), "%s/ca.pub", dir);
	if (sshcert_load_ca(path, ca_key, err, sizeof(err)) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/ca2.pub", dir);
	if (sshcert_load_ca(path, ca2_key, err, sizeof(err)) != 0)
		return -1;
	make_cert("good", "ed25519", "ca", "-I alice@vendor -n alice,al "
	    "-z 42 -V -5m:+1h -O extension:ticket@porthole=SUP-1234");
	make_cert("noticket", "ed25519", "ca", "-I a -n alice -V -5m:+1h");
	/* Key ids of three lengths: blobs of every length modulo 3. */
	make_cert("pad1", "ed25519", "ca", "-I x -n alice -V -5m:+1h");
	make_cert("pad2", "ed25519", "ca", "-I xy -n alice -V -5m:+1h");
	make_cert("pad3", "ed25519", "ca", "-I xyz -n alice -V -5m:+1h");
	make_cert("window", "ed25519", "ca", "-I a -n alice "
	    "-V 20300101000000Z:20300102000000Z");
	make_cert("expired", "ed25519", "ca", "-I a -n alice "
	    "-V 20200101:20200102");
	make_cert("future", "ed25519", "ca", "-I a -n alice "
	    "-V 20990101:20990102");
	make_cert("otherca", "ed25519", "ca2", "-I a -n alice -V -5m:+1h");
	make_cert("host", "ed25519", "ca", "-h -I a -n alice -V -5m:+1h");
	make_cert("force", "ed25519", "ca", "-I a -n alice -V -5m:+1h "
	    "-O force-command=/bin/true");
	make_cert("srcaddr", "ed25519", "ca", "-I a -n alice -V -5m:+1h "
	    "-O source-address=127.0.0.1");
	make_cert("noprinc", "ed25519", "ca", "-I a -V -5m:+1h");
	make_cert("badticket", "ed25519", "ca", "-I a -n alice -V -5m:+1h "
	    "-O 'extension:ticket@porthole=SUP 1234'");
	make_cert("ecdsa", "ecdsa", "ca", "-I a -n alice -V -5m:+1h");
	make_cert("ecdsa384", "ecdsa -b 384", "ca", "-I a -n alice -V -5m:+1h");
	make_cert("ecdsa521", "ecdsa -b 521", "ca", "-I a -n alice -V -5m:+1h");
	make_cert("rsa", "rsa -b 2048", "ca", "-I a -n alice -V -5m:+1h");
	make_cert("byrsa", "ed25519", "rsaca", "-I a -n alice -V -5m:+1h");
	make_cert("nopty", "ed25519", "ca", "-I a -n alice -V -5m:+1h "
	    "-O no-pty");
	make_cert("nofwd", "ed25519", "ca", "-I a -n alice -V -5m:+1h "
	    "-O no-port-forwarding");
	make_cert("clear", "ed25519", "ca", "-I a -n alice -V -5m:+1h "
	    "-O clear -O extension:ticket@porthole=SUP-1");
	make_cert("ptyonly", "ed25519", "ca", "-I a -n alice -V -5m:+1h "
	    "-O clear -O permit-pty");
	/* Key id and principal as bytes that are not UTF-8. */
	make_cert("latin1", "ed25519", "ca", "-I \"$(printf 'al\\351x')\" "
	    "-n alice -V -5m:+1h");
	make_cert("latin1p", "ed25519", "ca", "-I a "
	    "-n \"alice,$(printf 'b\\351b')\" -V -5m:+1h");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return kit_rmtree(dir);
}

/* Parse and validate NAME's certificate at clock_now(): NULL or why not. */
static const char *
check(const char *name, const uint8_t *ca, const char *principal,
    struct sshcert *c)
{
	static char err[256];

	if (sshcert_parse_base64(cert_b64(name), c, err, sizeof(err)) != 0)
		return err;
	if (sshcert_validate(c, ca, clock_now(), principal, err,
	    sizeof(err)) != 0)
		return err;
	return NULL;
}

static void
assert_reason(const char *name, const char *why, const char *expected)
{
	if (why == NULL)
		fail_msg("%s: accepted, expected '%s'", name, expected);
	if (strcmp(why, expected) != 0)
		fail_msg("%s: '%s', expected '%s'", name, why, expected);
}

static void
test_valid(void **state)
{
	static struct sshcert c;

	(void)state;
	clock_set_fixed(0);
	assert_null(check("good", ca_key, "alice", &c));
	assert_string_equal(c.key_type, "ssh-ed25519-cert-v01@openssh.com");
	assert_string_equal(c.key_id, "alice@vendor");
	assert_int_equal(c.serial, 42);
	assert_int_equal(c.type, SSHCERT_TYPE_USER);
	assert_int_equal(c.nprincipals, 2);
	assert_string_equal(c.principals[0], "alice");
	assert_string_equal(c.principals[1], "al");
	assert_int_equal(c.ncritical, 0);
	assert_true(c.has_ticket);
	assert_string_equal(c.ticket, "SUP-1234");
	assert_true(c.ca_is_ed25519);
	assert_memory_equal(c.ca_key, ca_key, 32);
	/* The signature string (4 + 4 + 11 + 4 + 64 bytes) is unsigned. */
	assert_int_equal(c.signed_len, c.blob_len - 87);
	assert_null(check("good", ca_key, "al", &c));
	assert_null(check("good", ca_key, NULL, &c));
	assert_null(check("noticket", ca_key, "alice", &c));
	assert_false(c.has_ticket);
	/* ssh-keygen grants every permission unless told otherwise. */
	assert_int_equal(c.permits, SSHCERT_PERMIT_X11 | SSHCERT_PERMIT_AGENT |
	    SSHCERT_PERMIT_PORT | SSHCERT_PERMIT_PTY | SSHCERT_PERMIT_USER_RC);
	/* Padding: blob lengths of each residue modulo 3 decode exactly. */
	assert_null(check("pad1", ca_key, "alice", &c));
	assert_null(check("pad2", ca_key, "alice", &c));
	assert_null(check("pad3", ca_key, "alice", &c));
}

/* Validity is valid_after <= now < valid_before, on the test clock. */
/* The permissions ssh-keygen -O no-pty, no-port-forwarding, clear take away. */
static void
test_permits(void **state)
{
	static struct sshcert c;
	const uint32_t all = SSHCERT_PERMIT_X11 | SSHCERT_PERMIT_AGENT |
	    SSHCERT_PERMIT_PORT | SSHCERT_PERMIT_PTY | SSHCERT_PERMIT_USER_RC;

	(void)state;
	clock_set_fixed(0);
	assert_null(check("nopty", ca_key, "alice", &c));
	assert_int_equal(c.permits, all & ~SSHCERT_PERMIT_PTY);
	assert_null(check("nofwd", ca_key, "alice", &c));
	assert_int_equal(c.permits, all & ~SSHCERT_PERMIT_PORT);
	assert_null(check("clear", ca_key, "alice", &c));
	assert_int_equal(c.permits, 0);
	assert_true(c.has_ticket);
	assert_string_equal(c.ticket, "SUP-1");
	assert_null(check("ptyonly", ca_key, "alice", &c));
	assert_int_equal(c.permits, SSHCERT_PERMIT_PTY);
}

/* Text that is not UTF-8 is refused, and kept escaped for the record. */
static void
test_not_utf8(void **state)
{
	static struct sshcert c;

	(void)state;
	clock_set_fixed(0);
	assert_reason("latin1", check("latin1", ca_key, "alice", &c),
	    "certificate key id is not UTF-8 text");
	assert_string_equal(c.key_id, "al\\xe9x");
	assert_int_equal(c.serial, 0);
	assert_reason("latin1p", check("latin1p", ca_key, "alice", &c),
	    "certificate principal 2 is not UTF-8 text");
	assert_string_equal(c.principals[1], "b\\xe9b");
	assert_string_equal(c.key_id, "a");
}

static void
test_validity_window(void **state)
{
	static struct sshcert c;
	const time_t start = 1893456000;	/* 2030-01-01 00:00:00Z */
	char err[256];

	(void)state;
	assert_int_equal(sshcert_parse_base64(cert_b64("window"), &c, err,
	    sizeof(err)), 0);
	assert_int_equal(c.valid_after, (uint64_t)start);
	assert_int_equal(c.valid_before, (uint64_t)start + 86400);

	clock_set_fixed(start - 1);
	assert_reason("window", check("window", ca_key, "alice", &c),
	    "certificate not yet valid");
	clock_set_fixed(start);
	assert_null(check("window", ca_key, "alice", &c));
	clock_set_fixed(start + 86399);
	assert_null(check("window", ca_key, "alice", &c));
	clock_set_fixed(start + 86400);
	assert_reason("window", check("window", ca_key, "alice", &c),
	    "certificate expired");
	/* A time before the epoch is before any certificate. */
	assert_int_equal(sshcert_validate(&c, ca_key, -1, "alice", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "certificate not yet valid");

	/* Fixed times either side of the ssh-keygen absolute windows. */
	clock_set_fixed(1700000000);		/* 2023 */
	assert_reason("expired", check("expired", ca_key, "alice", &c),
	    "certificate expired");
	assert_reason("future", check("future", ca_key, "alice", &c),
	    "certificate not yet valid");
	clock_set_fixed(0);
}

static void
test_refusals(void **state)
{
	static const struct {
		const char	*name;
		const char	*principal;
		const char	*reason;
	} rows[] = {
		{ "good", "bob", "principal 'bob' not in certificate" },
		{ "good", "alic", "principal 'alic' not in certificate" },
		{ "good", "bad\nname", "principal 'bad?name' not in "
		    "certificate" },
		{ "expired", "alice", "certificate expired" },
		{ "future", "alice", "certificate not yet valid" },
		{ "otherca", "alice", "certificate signed by an unknown CA" },
		{ "host", "alice", "not a user certificate" },
		{ "force", "alice", "certificate has critical option "
		    "'force-command' which porthole does not enforce" },
		{ "srcaddr", "alice", "certificate has critical option "
		    "'source-address' which porthole does not enforce" },
		{ "noprinc", NULL, "certificate has no principals" },
		{ "noprinc", "alice", "certificate has no principals" },
		{ "badticket", "alice", "malformed certificate: "
		    "ticket@porthole extension" },
		{ "byrsa", "alice", "CA key is not Ed25519" },
	};
	static struct sshcert c;
	size_t i;

	(void)state;
	clock_set_fixed(0);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_reason(rows[i].name, check(rows[i].name, ca_key,
		    rows[i].principal, &c), rows[i].reason);
	/* The same certificate with the CA that signed it: accepted. */
	assert_null(check("otherca", ca2_key, "alice", &c));
	/* The RSA CA is refused whatever key is configured. */
	assert_reason("byrsa", check("byrsa", ca2_key, "alice", &c),
	    "CA key is not Ed25519");
	assert_false(c.ca_is_ed25519);
}

static void
test_other_key_types(void **state)
{
	static const struct {
		const char	*name;
		const char	*type;
	} rows[] = {
		{ "ecdsa", "ecdsa-sha2-nistp256-cert-v01@openssh.com" },
		{ "ecdsa384", "ecdsa-sha2-nistp384-cert-v01@openssh.com" },
		{ "ecdsa521", "ecdsa-sha2-nistp521-cert-v01@openssh.com" },
		{ "rsa", "ssh-rsa-cert-v01@openssh.com" },
	};
	static struct sshcert c;
	size_t i;

	(void)state;
	clock_set_fixed(0);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_null(check(rows[i].name, ca_key, "alice", &c));
		assert_string_equal(c.key_type, rows[i].type);
		assert_true(sshcert_is_cert_type(rows[i].type));
	}
	assert_false(sshcert_is_cert_type("ssh-ed25519"));
	assert_false(sshcert_is_cert_type("ssh-dss-cert-v01@openssh.com"));
	assert_false(sshcert_is_cert_type(
	    "sk-ssh-ed25519-cert-v01@openssh.com"));
	assert_false(sshcert_is_cert_type(NULL));
}

/* Decode a certificate into raw bytes. */
static size_t
raw(const char *name, uint8_t *out, size_t max)
{
	static struct sshcert c;
	char err[256];

	assert_int_equal(sshcert_parse_base64(cert_b64(name), &c, err,
	    sizeof(err)), 0);
	assert_true(c.blob_len <= max);
	memcpy(out, c.blob, c.blob_len);
	return c.blob_len;
}

static void
test_tampered(void **state)
{
	static struct sshcert c;
	uint8_t blob[SSHCERT_MAX_BLOB], *p;
	char err[256];
	size_t len, i;
	int accepted = 0;

	(void)state;
	clock_set_fixed(0);
	len = raw("good", blob, sizeof(blob));
	/* A flipped bit in the signature. */
	blob[len - 1] ^= 0x01;
	assert_int_equal(sshcert_parse(blob, len, &c, err, sizeof(err)), 0);
	assert_int_equal(sshcert_validate(&c, ca_key, clock_now(), "alice",
	    err, sizeof(err)), -1);
	assert_string_equal(err, "certificate signature invalid");
	blob[len - 1] ^= 0x01;
	/* A changed key id (same length) in the signed part. */
	p = memmem(blob, len, "alice@vendor", 12);
	assert_non_null(p);
	p[0] = 'm';
	assert_int_equal(sshcert_parse(blob, len, &c, err, sizeof(err)), 0);
	assert_string_equal(c.key_id, "mlice@vendor");
	assert_int_equal(sshcert_validate(&c, ca_key, clock_now(), "alice",
	    err, sizeof(err)), -1);
	assert_string_equal(err, "certificate signature invalid");
	p[0] = 'a';
	assert_int_equal(sshcert_parse(blob, len, &c, err, sizeof(err)), 0);
	assert_int_equal(sshcert_validate(&c, ca_key, clock_now(), "alice",
	    err, sizeof(err)), 0);
	/* Every single-bit change anywhere is refused. */
	for (i = 0; i < len * 8; i++) {
		blob[i / 8] ^= 1 << (i % 8);
		if (sshcert_parse(blob, len, &c, err, sizeof(err)) == 0 &&
		    sshcert_validate(&c, ca_key, clock_now(), "alice", err,
		    sizeof(err)) == 0)
			accepted++;
		blob[i / 8] ^= 1 << (i % 8);
	}
	assert_int_equal(accepted, 0);
}

static void
test_truncated_and_oversized(void **state)
{
	static struct sshcert c;
	static uint8_t big[SSHCERT_MAX_BLOB + 1];
	static char b64[2 * SSHCERT_MAX_BLOB];
	uint8_t blob[SSHCERT_MAX_BLOB + 16];
	char err[256];
	size_t len, i;

	(void)state;
	len = raw("good", blob, sizeof(blob));
	for (i = 0; i < len; i++) {
		assert_int_equal(sshcert_parse(blob, i, &c, err, sizeof(err)),
		    -1);
		assert_true(strncmp(err, "truncated certificate: ", 23) == 0 ||
		    strncmp(err, "malformed certificate: ", 23) == 0);
	}
	assert_int_equal(sshcert_parse(blob, 0, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "truncated certificate: key type");
	assert_int_equal(sshcert_parse(blob, 40, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "truncated certificate: nonce");
	assert_int_equal(sshcert_parse(blob, len - 1, &c, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "truncated certificate: signature");
	/* Trailing garbage. */
	blob[len] = 0;
	assert_int_equal(sshcert_parse(blob, len + 1, &c, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "trailing bytes after the certificate");
	/* Oversized, as bytes and as base64 text. */
	memcpy(big, blob, len);
	assert_int_equal(sshcert_parse(big, sizeof(big), &c, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "certificate larger than 8192 bytes");
	assert_int_equal(EVP_EncodeBlock((unsigned char *)b64, big,
	    sizeof(big)), (sizeof(big) + 2) / 3 * 4);
	assert_int_equal(sshcert_parse_base64(b64, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "certificate larger than 8192 bytes");
	memset(b64, 'A', sizeof(b64) - 1);
	b64[sizeof(b64) - 1] = '\0';
	assert_int_equal(sshcert_parse_base64(b64, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "certificate larger than 8192 bytes");
	/* A length field pointing past the end. */
	blob[1] = 0xff;
	assert_int_equal(sshcert_parse(blob, len, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "truncated certificate: key type");
}

static void
test_base64(void **state)
{
	static struct sshcert c;
	static char b64[2 * SSHCERT_MAX_BLOB];
	uint8_t blob[SSHCERT_MAX_BLOB];
	char err[256];
	size_t len, tlen;
	static const char *bad[] = {
		"", "!!!!", "AAA", "A===", "AA=A", "A=AA", "=AAA",
		"AAAA AAAA", "AAAA\n", " AAAA",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sshcert_parse_base64(bad[i], &c, err,
		    sizeof(err)), -1);
		assert_string_equal(err, "certificate is not valid base64");
	}
	/* Padding in the middle of real text is refused, not read as 0. */
	len = raw("pad1", blob, sizeof(blob));
	tlen = (size_t)EVP_EncodeBlock((unsigned char *)b64, blob, (int)len);
	assert_int_equal(sshcert_parse_base64(b64, &c, err, sizeof(err)), 0);
	b64[tlen / 2] = '=';
	assert_int_equal(sshcert_parse_base64(b64, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "certificate is not valid base64");
	/* Padding dropped: refused. */
	len = raw(len % 3 != 0 ? "pad1" : "pad2", blob, sizeof(blob));
	tlen = (size_t)EVP_EncodeBlock((unsigned char *)b64, blob, (int)len);
	assert_int_equal(b64[tlen - 1], '=');
	b64[tlen - 1] = '\0';
	assert_int_equal(sshcert_parse_base64(b64, &c, err, sizeof(err)), -1);
}

/*
 * Certificates built here, signed by a CA key made here, for what
 * ssh-keygen cannot be asked to produce.
 */
struct buf {
	uint8_t	d[2 * SSHCERT_MAX_BLOB];
	size_t	len;
};

struct synth {
	const char	*type;
	struct buf	 pubkey;	/* the key's encoded fields */
	uint32_t	 certtype;
	struct buf	 key_id;
	struct buf	 principals;
	uint64_t	 after, before;
	struct buf	 critical;
	struct buf	 extensions;
	struct buf	 sig_extra;	/* appended inside the signature */
};

static EVP_PKEY	*synth_ca;
static uint8_t	 synth_ca_pub[32];

static void
put(struct buf *b, const void *p, size_t n)
{
	assert_true(n <= sizeof(b->d) - b->len);
	memcpy(b->d + b->len, p, n);
	b->len += n;
}

static void
put_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { v >> 24, v >> 16, v >> 8, v };

	put(b, x, 4);
}

static void
put_u64(struct buf *b, uint64_t v)
{
	put_u32(b, (uint32_t)(v >> 32));
	put_u32(b, (uint32_t)v);
}

static void
put_str(struct buf *b, const void *p, size_t n)
{
	put_u32(b, (uint32_t)n);
	put(b, p, n);
}

static void
put_cstr(struct buf *b, const char *s)
{
	put_str(b, s, strlen(s));
}

static void
synth_init(struct synth *s)
{
	static const uint8_t pk[32] = { 1 };

	memset(s, 0, sizeof(*s));
	s->type = "ssh-ed25519-cert-v01@openssh.com";
	put_str(&s->pubkey, pk, sizeof(pk));
	s->certtype = SSHCERT_TYPE_USER;
	put(&s->key_id, "synth", 5);
	put_cstr(&s->principals, "alice");
	s->after = 0;
	s->before = UINT64_MAX;
	if (synth_ca == NULL) {
		size_t n = sizeof(synth_ca_pub);
		EVP_PKEY_CTX *ctx;

		assert_non_null(ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519,
		    NULL));
		assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
		assert_int_equal(EVP_PKEY_keygen(ctx, &synth_ca), 1);
		EVP_PKEY_CTX_free(ctx);
		assert_int_equal(EVP_PKEY_get_raw_public_key(synth_ca,
		    synth_ca_pub, &n), 1);
	}
}

static void
synth_build(const struct synth *s, struct buf *out)
{
	struct buf	 sigkey = { .len = 0 }, sig = { .len = 0 };
	uint8_t		 raw_sig[64];
	size_t		 n = sizeof(raw_sig);
	EVP_MD_CTX	*ctx;

	out->len = 0;
	put_cstr(out, s->type);
	put_str(out, "0123456789abcdef0123456789abcdef", 32);	/* nonce */
	put(out, s->pubkey.d, s->pubkey.len);
	put_u64(out, 7);
	put_u32(out, s->certtype);
	put_str(out, s->key_id.d, s->key_id.len);
	put_str(out, s->principals.d, s->principals.len);
	put_u64(out, s->after);
	put_u64(out, s->before);
	put_str(out, s->critical.d, s->critical.len);
	put_str(out, s->extensions.d, s->extensions.len);
	put_str(out, "", 0);				/* reserved */
	put_cstr(&sigkey, "ssh-ed25519");
	put_str(&sigkey, synth_ca_pub, 32);
	put_str(out, sigkey.d, sigkey.len);

	assert_non_null(ctx = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, synth_ca),
	    1);
	assert_int_equal(EVP_DigestSign(ctx, raw_sig, &n, out->d, out->len),
	    1);
	EVP_MD_CTX_free(ctx);
	put_cstr(&sig, "ssh-ed25519");
	put_str(&sig, raw_sig, n);
	put(&sig, s->sig_extra.d, s->sig_extra.len);
	put_str(out, sig.d, sig.len);
}

/* Build, parse and validate for "alice" at the test clock. */
static const char *
synth_check(const struct synth *s, struct sshcert *c)
{
	static struct buf	b;
	static char		err[256];

	synth_build(s, &b);
	if (sshcert_parse(b.d, b.len, c, err, sizeof(err)) != 0)
		return err;
	if (sshcert_validate(c, synth_ca_pub, clock_now(), "alice", err,
	    sizeof(err)) != 0)
		return err;
	return NULL;
}

static void
test_synth_text_fields(void **state)
{
	static struct synth s;
	static struct sshcert c;
	char long_id[SSHCERT_MAX_STR + 2];

	(void)state;
	clock_set_fixed(1700000000);
	synth_init(&s);
	assert_null(synth_check(&s, &c));
	assert_string_equal(c.key_id, "synth");
	assert_int_equal(c.valid_before, UINT64_MAX);

	/* Key id: NUL, control bytes, length. */
	s.key_id.len = 0;
	put(&s.key_id, "ali\0ce", 6);
	assert_reason("NUL key id", synth_check(&s, &c), "malformed "
	    "certificate: key id longer than 256 bytes or not text");
	s.key_id.len = 0;
	put(&s.key_id, "alice\nroot", 10);
	assert_reason("newline key id", synth_check(&s, &c), "malformed "
	    "certificate: key id longer than 256 bytes or not text");
	memset(long_id, 'k', sizeof(long_id));
	s.key_id.len = 0;
	put(&s.key_id, long_id, SSHCERT_MAX_STR);
	assert_null(synth_check(&s, &c));
	assert_int_equal(strlen(c.key_id), SSHCERT_MAX_STR);
	s.key_id.len = 0;
	put(&s.key_id, long_id, SSHCERT_MAX_STR + 1);
	assert_reason("long key id", synth_check(&s, &c), "malformed "
	    "certificate: key id longer than 256 bytes or not text");

	/* Principals: NUL, empty, too long, a list that runs out. */
	synth_init(&s);
	put_str(&s.principals, "bo\0b", 4);
	assert_reason("NUL principal", synth_check(&s, &c),
	    "malformed certificate: principal 2");
	synth_init(&s);
	put_str(&s.principals, "", 0);
	assert_reason("empty principal", synth_check(&s, &c),
	    "malformed certificate: principal 2");
	synth_init(&s);
	put_str(&s.principals, long_id, SSHCERT_MAX_STR + 1);
	assert_reason("long principal", synth_check(&s, &c),
	    "malformed certificate: principal 2");
	synth_init(&s);
	put_u32(&s.principals, 100);
	assert_reason("short principals", synth_check(&s, &c),
	    "malformed certificate: principal 2");

	/* Key types. */
	synth_init(&s);
	s.type = "ssh-dss-cert-v01@openssh.com";
	assert_reason("dss", synth_check(&s, &c),
	    "unsupported certificate type 'ssh-dss-cert-v01@openssh.com'");
	s.type = "ssh-ed25519";
	assert_reason("plain key", synth_check(&s, &c),
	    "unsupported certificate type 'ssh-ed25519'");
	/* An ECDSA type with the wrong curve. */
	s.type = "ecdsa-sha2-nistp256-cert-v01@openssh.com";
	s.pubkey.len = 0;
	put_cstr(&s.pubkey, "nistp384");
	put_str(&s.pubkey, "\x04QQ", 3);
	assert_reason("curve", synth_check(&s, &c),
	    "malformed certificate: public key");
	s.pubkey.len = 0;
	put_cstr(&s.pubkey, "nistp256");
	put_str(&s.pubkey, "\x04QQ", 3);
	assert_null(synth_check(&s, &c));
	/* An Ed25519 key that is not 32 bytes. */
	synth_init(&s);
	s.pubkey.len = 0;
	put_str(&s.pubkey, "short", 5);
	assert_reason("short pk", synth_check(&s, &c),
	    "malformed certificate: public key");
	clock_set_fixed(0);
}

static void
test_synth_limits(void **state)
{
	static struct synth s;
	static struct sshcert c;
	char name[32];
	int i;

	(void)state;
	clock_set_fixed(1700000000);
	/* SSHCERT_MAX_PRINCIPALS principals parse; one more does not. */
	synth_init(&s);
	s.principals.len = 0;
	for (i = 0; i < SSHCERT_MAX_PRINCIPALS; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		put_cstr(&s.principals, name);
	}
	put_cstr(&s.principals, "alice");
	assert_reason("33 principals", synth_check(&s, &c),
	    "certificate has more than 32 principals");
	s.principals.len = 0;
	for (i = 0; i < SSHCERT_MAX_PRINCIPALS - 1; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		put_cstr(&s.principals, name);
	}
	put_cstr(&s.principals, "alice");
	assert_null(synth_check(&s, &c));
	assert_int_equal(c.nprincipals, SSHCERT_MAX_PRINCIPALS);

	/* Eight critical options are recorded; a ninth is refused. */
	synth_init(&s);
	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "opt%d@example.com", i);
		put_cstr(&s.critical, name);
		put_str(&s.critical, "", 0);
	}
	assert_reason("8 critical", synth_check(&s, &c),
	    "certificate has critical option 'opt0@example.com' which "
	    "porthole does not enforce");
	assert_int_equal(c.ncritical, 8);
	assert_string_equal(c.critical[7], "opt7@example.com");
	put_cstr(&s.critical, "opt8@example.com");
	put_str(&s.critical, "", 0);
	assert_reason("9 critical", synth_check(&s, &c),
	    "certificate has more than 8 critical options");
	/* A critical option without its data field. */
	synth_init(&s);
	put_cstr(&s.critical, "force-command");
	assert_reason("critical no data", synth_check(&s, &c),
	    "malformed certificate: critical options");

	/* Trailing bytes inside the signature field. */
	synth_init(&s);
	put(&s.sig_extra, "x", 1);
	assert_reason("sig extra", synth_check(&s, &c),
	    "malformed certificate: signature");
	clock_set_fixed(0);
}

static void
synth_ticket(struct synth *s, const void *ticket, size_t n)
{
	struct buf data = { .len = 0 };

	synth_init(s);
	put_cstr(&s->extensions, "permit-pty");
	put_str(&s->extensions, "", 0);
	put_str(&data, ticket, n);
	put_cstr(&s->extensions, "ticket@porthole");
	put_str(&s->extensions, data.d, data.len);
}

/* The permit-* flags: no data, once each; unknown extensions skipped. */
static void
test_synth_extensions(void **state)
{
	static struct synth s;
	static struct sshcert c;
	char name[32];
	int i;

	(void)state;
	clock_set_fixed(1700000000);
	synth_init(&s);
	assert_null(synth_check(&s, &c));
	assert_int_equal(c.permits, 0);
	put_cstr(&s.extensions, "no-touch-required");
	put_str(&s.extensions, "", 0);
	put_cstr(&s.extensions, "permit-port-forwarding");
	put_str(&s.extensions, "", 0);
	put_cstr(&s.extensions, "whatever@example.com");
	put_cstr(&s.extensions, "any data at all");
	assert_null(synth_check(&s, &c));
	assert_int_equal(c.permits, SSHCERT_PERMIT_PORT);
	/* Names are compared whole and case matters, as in sshd. */
	synth_init(&s);
	put_cstr(&s.extensions, "permit-PTY");
	put_str(&s.extensions, "", 0);
	put_cstr(&s.extensions, "permit-pty-extra");
	put_str(&s.extensions, "", 0);
	assert_null(synth_check(&s, &c));
	assert_int_equal(c.permits, 0);

	synth_init(&s);
	put_cstr(&s.extensions, "permit-pty");
	put_cstr(&s.extensions, "x");
	assert_reason("flag with data", synth_check(&s, &c),
	    "malformed certificate: extension permit-pty carries data");
	synth_init(&s);
	put_cstr(&s.extensions, "permit-pty");
	put_str(&s.extensions, "", 0);
	put_cstr(&s.extensions, "permit-pty");
	put_str(&s.extensions, "", 0);
	assert_reason("flag twice", synth_check(&s, &c),
	    "malformed certificate: extension permit-pty given twice");
	synth_init(&s);
	put_cstr(&s.extensions, "permit-pty");
	assert_reason("flag without data field", synth_check(&s, &c),
	    "malformed certificate: extensions");

	/* SSHCERT_MAX_EXTENSIONS parse; one more does not. */
	synth_init(&s);
	for (i = 0; i < SSHCERT_MAX_EXTENSIONS - 1; i++) {
		snprintf(name, sizeof(name), "ext%d@example.com", i);
		put_cstr(&s.extensions, name);
		put_str(&s.extensions, "", 0);
	}
	put_cstr(&s.extensions, "permit-X11-forwarding");
	put_str(&s.extensions, "", 0);
	assert_null(synth_check(&s, &c));
	assert_int_equal(c.permits, SSHCERT_PERMIT_X11);
	put_cstr(&s.extensions, "one-more@example.com");
	put_str(&s.extensions, "", 0);
	assert_reason("65 extensions", synth_check(&s, &c),
	    "certificate has more than 64 extensions");

	/* A critical option named in bytes that are not UTF-8 is shown escaped. */
	synth_init(&s);
	put_cstr(&s.critical, "opt\xff");
	put_str(&s.critical, "", 0);
	assert_reason("latin1 critical", synth_check(&s, &c),
	    "certificate critical option is not UTF-8 text");
	assert_string_equal(c.critical[0], "opt\\xff");
	clock_set_fixed(0);
}

static void
test_synth_ticket(void **state)
{
	static struct synth s;
	static struct sshcert c;
	const char *bad_ticket = "malformed certificate: ticket@porthole "
	    "extension";
	char t[SSHCERT_MAX_STR + 1];

	(void)state;
	clock_set_fixed(1700000000);
	synth_ticket(&s, "INC-1", 5);
	assert_null(synth_check(&s, &c));
	assert_true(c.has_ticket);
	assert_string_equal(c.ticket, "INC-1");

	memset(t, 'T', sizeof(t));
	synth_ticket(&s, t, SSHCERT_MAX_STR);
	assert_null(synth_check(&s, &c));
	assert_int_equal(strlen(c.ticket), SSHCERT_MAX_STR);
	synth_ticket(&s, t, SSHCERT_MAX_STR + 1);
	assert_reason("long ticket", synth_check(&s, &c), bad_ticket);
	synth_ticket(&s, "", 0);
	assert_reason("empty ticket", synth_check(&s, &c), bad_ticket);
	synth_ticket(&s, "INC\0-1", 6);
	assert_reason("NUL ticket", synth_check(&s, &c), bad_ticket);
	synth_ticket(&s, "INC\x1b[1", 6);
	assert_reason("escape ticket", synth_check(&s, &c), bad_ticket);
	synth_ticket(&s, "INC\xc3\xa9", 5);
	assert_reason("non-ASCII ticket", synth_check(&s, &c), bad_ticket);

	/* The data is not itself a string. */
	synth_init(&s);
	put_cstr(&s.extensions, "ticket@porthole");
	put_cstr(&s.extensions, "INC-1");
	assert_reason("raw ticket", synth_check(&s, &c), bad_ticket);
	/* Twice. */
	synth_ticket(&s, "INC-1", 5);
	put_cstr(&s.extensions, "ticket@porthole");
	put_str(&s.extensions, "\0\0\0\x05INC-2", 9);
	assert_reason("two tickets", synth_check(&s, &c), bad_ticket);
	/* Bytes after the inner string. */
	synth_init(&s);
	put_cstr(&s.extensions, "ticket@porthole");
	put_str(&s.extensions, "\0\0\0\x05INC-1x", 10);
	assert_reason("ticket trailer", synth_check(&s, &c), bad_ticket);
	clock_set_fixed(0);
}

static void
test_load_ca(void **state)
{
	static const struct {
		const char	*name;
		const char	*text;
		const char	*reason;	/* NULL: loads */
	} rows[] = {
		{ "nocomment.pub", NULL, NULL },
		{ "crlf.pub", NULL, NULL },
		{ "empty.pub", "", "empty file" },
		{ "blank.pub", "\n\n", "empty file" },
		{ "short.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA\n",
		    "malformed ssh-ed25519 key" },
		{ "notb64.pub", "ssh-ed25519 AAAA*AAA x\n",
		    "key is not valid base64" },
		{ "nokey.pub", "ssh-ed25519\n", "key is not valid base64" },
		{ "opts.pub", "cert-authority ssh-ed25519 AAAA\n",
		    "not an ssh-ed25519 public key (type 'cert-authority')" },
		{ "two.pub", NULL, "more than one line; the file must hold "
		    "exactly one ssh-ed25519 key" },
		{ "cert.pub", NULL, "not an ssh-ed25519 public key "
		    "(type 'ssh-ed25519-cert-v01@openssh.com')" },
		/* An RSA key blob under an ssh-ed25519 label. */
		{ "mislabel.pub", NULL, "malformed ssh-ed25519 key" },
	};
	char path[512], err[1024], expect[1024], line[16384], *p;
	uint8_t k[32];
	FILE *f;
	size_t i;

	(void)state;
	/* Good: ca.pub with its comment was loaded in setup(). */
	snprintf(path, sizeof(path), "%s/ca.pub", dir);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_non_null(p = strrchr(line, ' '));
	*p = '\0';
	write_file("nocomment.pub", line);
	*p = ' ';
	line[strcspn(line, "\n")] = '\0';
	strcat(line, "\r\n");
	write_file("crlf.pub", line);
	strcat(line, "ssh-ed25519 AAAA other\n");
	write_file("two.pub", line);
	write_file("cert.pub", cert_b64("good") - strlen(
	    "ssh-ed25519-cert-v01@openssh.com "));
	snprintf(path, sizeof(path), "%s/rsaca.pub", dir);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	memmove(line + 11, line + 7, strlen(line + 7) + 1);
	memcpy(line, "ssh-ed25519", 11);
	write_file("mislabel.pub", line);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (rows[i].text != NULL)
			write_file(rows[i].name, rows[i].text);
		snprintf(path, sizeof(path), "%s/%s", dir, rows[i].name);
		memset(k, 0, sizeof(k));
		if (rows[i].reason == NULL) {
			if (sshcert_load_ca(path, k, err, sizeof(err)) != 0)
				fail_msg("%s: %s", rows[i].name, err);
			assert_memory_equal(k, ca_key, 32);
			continue;
		}
		snprintf(expect, sizeof(expect), "%s: %s", path,
		    rows[i].reason);
		assert_reason(rows[i].name, sshcert_load_ca(path, k, err,
		    sizeof(err)) == 0 ? NULL : err, expect);
	}

	snprintf(path, sizeof(path), "%s/rsaca.pub", dir);
	snprintf(expect, sizeof(expect), "%s: not an ssh-ed25519 public key "
	    "(type 'ssh-rsa')", path);
	assert_reason("rsaca", sshcert_load_ca(path, k, err, sizeof(err)) ==
	    0 ? NULL : err, expect);
	snprintf(path, sizeof(path), "%s/nonexistent.pub", dir);
	snprintf(expect, sizeof(expect), "%s: cannot open: No such file or "
	    "directory", path);
	assert_reason("missing", sshcert_load_ca(path, k, err, sizeof(err)) ==
	    0 ? NULL : err, expect);
	snprintf(expect, sizeof(expect), "%s: not a regular file", dir);
	assert_reason("dir", sshcert_load_ca(dir, k, err, sizeof(err)) == 0 ?
	    NULL : err, expect);
	/* A big file: refused before anything is parsed. */
	memset(line, 'A', 5000);
	line[5000] = '\0';
	write_file("big.pub", line);
	snprintf(path, sizeof(path), "%s/big.pub", dir);
	snprintf(expect, sizeof(expect), "%s: larger than 4096 bytes", path);
	assert_reason("big", sshcert_load_ca(path, k, err, sizeof(err)) == 0 ?
	    NULL : err, expect);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_permits),
		cmocka_unit_test(test_not_utf8),
		cmocka_unit_test(test_validity_window),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_other_key_types),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_truncated_and_oversized),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_synth_text_fields),
		cmocka_unit_test(test_synth_limits),
		cmocka_unit_test(test_synth_extensions),
		cmocka_unit_test(test_synth_ticket),
		cmocka_unit_test(test_load_ca),
	};
	int rc;

	rc = cmocka_run_group_tests(tests, setup, teardown);
	EVP_PKEY_free(synth_ca);
	return rc;
}
