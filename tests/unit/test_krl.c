/*
 * test_krl.c - revocation lists made by ssh-keygen at test time, from
 * KRL specifications (serial lists, ranges, sets dense enough that
 * ssh-keygen writes bitmaps, key ids under one CA and under any CA,
 * explicit keys, SHA1 and SHA256 hashes), each checked against every
 * certificate and key of a fixed set, with `ssh-keygen -Q` as the oracle.
 * Then truncated KRLs (accepted exactly when ssh-keygen accepts them),
 * KRLs built here byte by byte for what ssh-keygen never writes, and
 * text key lists.
 */
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/unit/kit.h"
#include "lib/krl.h"
#include "lib/sshcert.h"
#include "lib/sshwire.h"

static char	dir[KIT_PATH_MAX];

/* The certificates every KRL is checked against: name, CA, options. */
static const struct fixture {
	const char	*name;
	const char	*type;
	const char	*ca;
	const char	*opts;
} certs[] = {
	{ "s1", "ed25519", "ca", "-I alice@vendor -z 1" },
	{ "s5", "ed25519", "ca", "-I bob@vendor -z 5" },
	{ "s150", "ed25519", "ca", "-I s150 -z 150" },
	{ "s151", "ed25519", "ca", "-I s151 -z 151" },
	{ "s152", "ed25519", "ca", "-I s152 -z 152" },
	{ "s1000", "ed25519", "ca", "-I s1000 -z 1000" },
	{ "s1001", "ed25519", "ca", "-I s1001 -z 1001" },
	{ "s5000", "ed25519", "ca", "-I s5000 -z 5000" },
	{ "s5001", "ed25519", "ca", "-I s5001 -z 5001" },
	{ "sbig", "ed25519", "ca", "-I big -z 9223372036854775813" },
	{ "smax", "ed25519", "ca", "-I max -z 18446744073709551615" },
	{ "s0", "ed25519", "ca", "-I carol@vendor" },
	{ "ca2s5", "ed25519", "ca2", "-I alice@vendor -z 5" },
	{ "ecs7", "ecdsa", "ca", "-I ec -z 7" },
	{ "rsas8", "rsa -b 1024", "ca", "-I rsa -z 8" },
	{ "byrsa5", "ed25519", "rsaca", "-I alice@vendor -z 5" },
};
#define NCERTS	(sizeof(certs) / sizeof(certs[0]))

static void
write_file(const char *name, const void *data, size_t len)
{
	FILE *f;

	assert_non_null(f = fopen(kit_path(dir, name), "w"));
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* The base64 field of a one-line public key or certificate file. */
static char *
b64_field(const char *file)
{
	static char	buf[16384];
	char		*sp, *end;
	FILE		*f;

	if ((f = fopen(kit_path(dir, file), "r")) == NULL)
		fail_msg("%s: missing", file);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_non_null(sp = strchr(buf, ' '));
	if ((end = strpbrk(sp + 1, " \n")) != NULL)
		*end = '\0';
	return sp + 1;
}

static void
load_cert(const char *name, struct sshcert *c)
{
	char file[128], err[256];

	snprintf(file, sizeof(file), "%s-cert.pub", name);
	if (sshcert_parse_base64(b64_field(file), c, err, sizeof(err)) != 0)
		fail_msg("%s: %s", file, err);
}

static size_t
load_key(const char *name, uint8_t *blob, size_t max)
{
	char	 file[128], *b64;
	ssize_t	 n;

	snprintf(file, sizeof(file), "%s.pub", name);
	b64 = b64_field(file);
	assert_true((n = sshwire_b64_decode(b64, strlen(b64), blob,
	    max)) > 0);
	return (size_t)n;
}

/* `ssh-keygen -Q -f KRL FILE`: 0 ok, 1 revoked, 255 cannot read the KRL. */
static int
oracle(const char *krl, const char *file)
{
	char	cmd[2048];
	int	st;

	snprintf(cmd, sizeof(cmd), "ssh-keygen -Q -f %s %s >/dev/null 2>&1",
	    kit_path(dir, krl), kit_path(dir, file));
	st = system(cmd);
	assert_true(st != -1 && WIFEXITED(st));
	return WEXITSTATUS(st);
}

static int
setup(void **state)
{
	size_t i;

	(void)state;
	if (kit_tmpdir(dir, "krl") == -1)
		return -1;
	kit_run("ssh-keygen -q -t ed25519 -N '' -f %s/ca", dir);
	kit_run("ssh-keygen -q -t ed25519 -N '' -f %s/ca2", dir);
	kit_run("ssh-keygen -q -t rsa -b 1024 -N '' -f %s/rsaca", dir);
	for (i = 0; i < NCERTS; i++) {
		kit_run("ssh-keygen -q -t %s -N '' -C %s -f %s/%s", certs[i].type,
		    certs[i].name, dir, certs[i].name);
		kit_run("ssh-keygen -q -s %s/%s %s -n alice -V -5m:+1h %s/%s.pub",
		    dir, certs[i].ca, certs[i].opts, dir, certs[i].name);
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return kit_rmtree(dir);
}

/* "LABEL: " and the contents of a key file, as a KRL spec line. */
static void
spec_key_line(FILE *f, const char *label, const char *name)
{
	char	 buf[16384];
	FILE	*k;

	assert_non_null(k = fopen(kit_path(dir, name), "r"));
	assert_non_null(fgets(buf, sizeof(buf), k));
	fclose(k);
	fprintf(f, "%s%s", label, buf);
}

/* Every certificate and key, under our KRL and under ssh-keygen -Q. */
static int
compare_all(const char *krlname)
{
	static struct sshcert	 c;
	struct krl		*k;
	uint8_t			 blob[4096];
	char			 err[512], why[256], file[128];
	size_t			 i, len;
	int			 ours, theirs, nrevoked = 0;

	if (krl_load(kit_path(dir, krlname), &k, err, sizeof(err)) != 0)
		fail_msg("%s: refused: %s", krlname, err);
	for (i = 0; i < NCERTS; i++) {
		load_cert(certs[i].name, &c);
		snprintf(file, sizeof(file), "%s-cert.pub", certs[i].name);
		ours = krl_check_cert(k, &c, why, sizeof(why));
		theirs = oracle(krlname, file);
		if (ours != theirs)
			fail_msg("%s: %s: ours %d (%s), ssh-keygen -Q %d",
			    krlname, file, ours, ours ? why : "ok", theirs);
		nrevoked += ours;
		len = load_key(certs[i].name, blob, sizeof(blob));
		snprintf(file, sizeof(file), "%s.pub", certs[i].name);
		ours = krl_check_key(k, blob, len, why, sizeof(why));
		theirs = oracle(krlname, file);
		if (ours != theirs)
			fail_msg("%s: %s: ours %d, ssh-keygen -Q %d", krlname,
			    file, ours, theirs);
	}
	krl_free(k);
	return nrevoked;
}

/* Make KRL NAME from spec text with ssh-keygen -k (ca: -s, or NULL). */
static void
make_krl(const char *name, const char *ca, const char *spec)
{
	char specname[128];

	snprintf(specname, sizeof(specname), "%s.spec", name);
	write_file(specname, spec, strlen(spec));
	kit_run("ssh-keygen -q -k -f %s %s%s %s", kit_path(dir, name),
	    ca != NULL ? "-s " : "",
	    ca == NULL ? "" : strcmp(ca, "none") == 0 ? "none" : kit_path(dir, ca),
	    kit_path(dir, specname));
}

static void
assert_revokes(const char *krlname, const char *cert, const char *reason)
{
	static struct sshcert	 c;
	struct krl		*k;
	char			 err[512], why[256];

	if (krl_load(kit_path(dir, krlname), &k, err, sizeof(err)) != 0)
		fail_msg("%s: refused: %s", krlname, err);
	load_cert(cert, &c);
	if (krl_check_cert(k, &c, why, sizeof(why)) != 1)
		fail_msg("%s: %s is not revoked", krlname, cert);
	if (strstr(why, reason) == NULL)
		fail_msg("%s: %s: '%s', expected '%s'", krlname, cert, why,
		    reason);
	krl_free(k);
}

static void
test_serials(void **state)
{
	(void)state;
	make_krl("list", "ca.pub", "serial: 5\nserial: 1000\n");
	assert_int_equal(compare_all("list"), 2);
	assert_revokes("list", "s5", "certificate revoked (serial 5)");
	make_krl("range", "ca.pub", "serial: 150-152\nserial: 5000-5001\n");
	assert_int_equal(compare_all("range"), 5);
	make_krl("big", "ca.pub", "serial: 9223372036854775813\n"
	    "serial: 18446744073709551000-18446744073709551615\n");
	assert_int_equal(compare_all("big"), 2);
	/* A serial under one CA does not touch the same serial under another. */
	make_krl("rsaca", "rsaca.pub", "serial: 5\n");
	assert_int_equal(compare_all("rsaca"), 1);
	assert_revokes("rsaca", "byrsa5", "serial 5");
}

/* Is serial s in the dense, irregular set test_bitmap revokes? */
static int
bitmap_member(int s)
{
	return s >= 100 && s <= 1100 && (s * 37) % 11 < 5;
}

/*
 * A dense, irregular set of serials: ssh-keygen writes bitmaps.  Forty
 * certificates of one key at serials spread over it, each checked.
 */
static void
test_bitmap(void **state)
{
	static struct sshcert	 c;
	struct krl		*k;
	char			 spec[16384], err[512], desc[512], why[256];
	char			 name[64];
	size_t			 off = 0;
	int			 s, i, ours, theirs, revoked = 0;

	(void)state;
	for (s = 100; s <= 1100; s++)
		if (bitmap_member(s))
			off += (size_t)snprintf(spec + off, sizeof(spec) - off,
			    "serial: %d\n", s);
	make_krl("bitmap", "ca.pub", spec);
	assert_int_equal(krl_load(kit_path(dir, "bitmap"), &k, err, sizeof(err)), 0);
	krl_describe(k, desc, sizeof(desc));
	if (strstr(desc, "serial bitmaps 0,") != NULL)
		fail_msg("ssh-keygen wrote no bitmap: %s", desc);
	kit_run("ssh-keygen -q -t ed25519 -N '' -f %s", kit_path(dir, "bm"));
	for (i = 0; i < 40; i++) {
		s = 95 + 26 * i + i % 7;
		kit_run("ssh-keygen -q -s %s -I bm -n alice -z %d %s", kit_path(dir, "ca"),
		    s, kit_path(dir, "bm.pub"));
		snprintf(name, sizeof(name), "bm%d", s);
		kit_run("mv %s %s-cert.pub", kit_path(dir, "bm-cert.pub"), kit_path(dir, name));
		load_cert(name, &c);
		ours = krl_check_cert(k, &c, why, sizeof(why));
		snprintf(name, sizeof(name), "bm%d-cert.pub", s);
		theirs = oracle("bitmap", name);
		if (ours != theirs || ours != bitmap_member(s))
			fail_msg("serial %d: ours %d, ssh-keygen -Q %d, "
			    "listed %d", s, ours, theirs, bitmap_member(s));
		revoked += ours;
	}
	krl_free(k);
	assert_true(revoked > 5 && revoked < 35);
	assert_int_equal(compare_all("bitmap"), 2);	/* s152, s1001 */
}

static void
test_key_ids(void **state)
{
	(void)state;
	make_krl("id", "ca.pub", "id: alice@vendor\n");
	assert_int_equal(compare_all("id"), 1);
	assert_revokes("id", "s1", "certificate revoked (key id "
	    "'alice@vendor')");
	/* Under any CA: ca2's and rsaca's alice too. */
	make_krl("idany", "none", "id: alice@vendor\nid: nobody\n");
	assert_int_equal(compare_all("idany"), 3);
	make_krl("serialany", "none", "serial: 5\n");
	assert_int_equal(compare_all("serialany"), 3);
}

static void
test_keys_and_hashes(void **state)
{
	FILE *f;

	(void)state;
	assert_non_null(f = fopen(kit_path(dir, "keys.spec"), "w"));
	spec_key_line(f, "key: ", "s5.pub");
	spec_key_line(f, "sha1: ", "ecs7.pub");
	spec_key_line(f, "sha256: ", "rsas8.pub");
	assert_int_equal(fclose(f), 0);
	kit_run("ssh-keygen -q -k -f %s %s", kit_path(dir, "keys"), kit_path(dir, "keys.spec"));
	assert_int_equal(compare_all("keys"), 3);
	assert_revokes("keys", "s5", "certificate key revoked (SHA256:");
	/* hash: takes the fingerprint ssh-keygen -l prints. */
	kit_run("echo \"hash: $(ssh-keygen -l -E sha256 -f %s | cut -d' ' -f2)\" "
	    ">%s", kit_path(dir, "s1.pub"), kit_path(dir, "hash.spec"));
	kit_run("ssh-keygen -q -k -f %s %s", kit_path(dir, "hash"), kit_path(dir, "hash.spec"));
	assert_int_equal(compare_all("hash"), 1);
	/* A revoked CA key revokes everything it signed. */
	assert_non_null(f = fopen(kit_path(dir, "ca.spec"), "w"));
	spec_key_line(f, "key: ", "ca2.pub");
	spec_key_line(f, "sha256: ", "rsaca.pub");
	assert_int_equal(fclose(f), 0);
	kit_run("ssh-keygen -q -k -f %s %s", kit_path(dir, "cakey"), kit_path(dir, "ca.spec"));
	assert_int_equal(compare_all("cakey"), 2);
	assert_revokes("cakey", "ca2s5", "CA key revoked (SHA256:");
}

/* Plain keys and certificates listed as they are: ssh-keygen's choice. */
static void
test_listed_keys(void **state)
{
	(void)state;
	kit_run("cat %s %s %s >%s", kit_path(dir, "s1.pub"), kit_path(dir, "s0-cert.pub"),
	    kit_path(dir, "s152-cert.pub"), kit_path(dir, "listed.spec"));
	kit_run("ssh-keygen -q -k -f %s -s %s %s", kit_path(dir, "listed"),
	    kit_path(dir, "ca.pub"), kit_path(dir, "listed.spec"));
	assert_int_equal(compare_all("listed"), 3);
	/* -u adds to a KRL: everything so far in one file. */
	kit_run("ssh-keygen -q -k -u -f %s -s %s %s %s %s", kit_path(dir, "listed"),
	    kit_path(dir, "ca.pub"), kit_path(dir, "list.spec"), kit_path(dir, "range.spec"),
	    kit_path(dir, "big.spec"));
	kit_run("ssh-keygen -q -k -u -f %s %s %s", kit_path(dir, "listed"),
	    kit_path(dir, "keys.spec"), kit_path(dir, "ca.spec"));
	assert_int_equal(compare_all("listed"), 15);
	make_krl("empty", NULL, "");
	assert_int_equal(compare_all("empty"), 0);
}

/*
 * Every prefix of a KRL is accepted exactly when ssh-keygen accepts it
 * (a prefix that ends between two sections is a KRL with fewer
 * sections); what it revokes then agrees too.
 */
static void
test_truncated(void **state)
{
	struct krl	*k;
	uint8_t		 buf[65536];
	char		 err[512];
	size_t		 len, i;
	FILE		*f;
	int		 ours, theirs, accepted = 0;

	(void)state;
	assert_non_null(f = fopen(kit_path(dir, "listed"), "r"));
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_true(len > 100 && len < sizeof(buf));
	for (i = 1; i < len; i++) {
		write_file("prefix", buf, i);
		ours = krl_load(kit_path(dir, "prefix"), &k, err, sizeof(err)) == 0;
		theirs = oracle("prefix", "s5.pub") != 255;
		if (ours != theirs)
			fail_msg("prefix of %zu bytes: ours %s (%s), "
			    "ssh-keygen %s", i, ours ? "accepted" : "refused",
			    ours ? "" : err, theirs ? "accepted" : "refused");
		if (ours) {
			krl_free(k);
			accepted++;
			(void)compare_all("prefix");
		} else if (i >= 8 && strstr(err, "truncated KRL") == NULL)
			fail_msg("prefix of %zu bytes: '%s'", i, err);
	}
	/* The header alone and each section boundary. */
	assert_true(accepted >= 3);
}

/* A KRL built by hand. */
struct kbuf {
	uint8_t	b[8192];
	size_t	n;
};

static void
put_u8(struct kbuf *k, uint8_t v)
{
	k->b[k->n++] = v;
}

static void
put_u32(struct kbuf *k, uint32_t v)
{
	put_u8(k, (uint8_t)(v >> 24));
	put_u8(k, (uint8_t)(v >> 16));
	put_u8(k, (uint8_t)(v >> 8));
	put_u8(k, (uint8_t)v);
}

static void
put_u64(struct kbuf *k, uint64_t v)
{
	put_u32(k, (uint32_t)(v >> 32));
	put_u32(k, (uint32_t)v);
}

static void
put_str(struct kbuf *k, const void *s, size_t n)
{
	put_u32(k, (uint32_t)n);
	memcpy(k->b + k->n, s, n);
	k->n += n;
}

static void
put_header(struct kbuf *k)
{
	k->n = 0;
	memcpy(k->b, "SSHKRL\n", 8);
	k->n = 8;
	put_u32(k, 1);
	put_u64(k, 7);		/* krl_version */
	put_u64(k, 0);		/* generated */
	put_u64(k, 0);		/* flags */
	put_str(k, "", 0);	/* reserved */
	put_str(k, "made by hand", 12);
}

/* Append section type with the body in sub. */
static void
put_section(struct kbuf *k, uint8_t type, const struct kbuf *sub)
{
	put_u8(k, type);
	put_str(k, sub->b, sub->n);
}

/* A certificate section for any CA holding one subsection. */
static void
put_cert_section(struct kbuf *k, uint8_t subtype, const struct kbuf *body)
{
	static struct kbuf s;

	s.n = 0;
	put_str(&s, "", 0);	/* any CA */
	put_str(&s, "", 0);	/* reserved */
	put_section(&s, subtype, body);
	put_section(k, 1, &s);
}

/* Parse k: NULL if accepted, else the error. */
static const char *
try(const struct kbuf *k)
{
	static char	 err[512];
	struct krl	*krl;

	if (krl_parse(k->b, k->n, "hand", &krl, err, sizeof(err)) != 0)
		return err;
	krl_free(krl);
	return NULL;
}

static void
assert_refused(const struct kbuf *k, const char *reason)
{
	const char *err = try(k);

	if (err == NULL)
		fail_msg("accepted, expected '%s'", reason);
	if (strstr(err, reason) == NULL)
		fail_msg("'%s', expected '%s'", err, reason);
}

static void
test_malformed(void **state)
{
	static struct kbuf	k, b;
	static struct sshcert	c;
	struct krl		*krl;
	char			 err[512], why[256];
	uint8_t			 bits[2050];

	(void)state;
	put_header(&k);
	assert_null(try(&k));
	k.b[11] = 2;		/* format version 2 */
	assert_refused(&k, "format version 2");

	/* Unknown section and subsection types. */
	put_header(&k);
	b.n = 0;
	put_section(&k, 6, &b);
	assert_refused(&k, "unknown section type 6");
	put_header(&k);
	put_cert_section(&k, 0x24, &b);
	assert_refused(&k, "unknown subsection type 0x24");

	/* Serials: 0, reversed ranges, lists that are not whole. */
	put_header(&k);
	b.n = 0;
	put_u64(&b, 0);
	put_cert_section(&k, 0x20, &b);
	assert_refused(&k, "serial 0 cannot be revoked");
	put_header(&k);
	b.n = 0;
	put_u64(&b, 9);
	put_u64(&b, 8);
	put_cert_section(&k, 0x21, &b);
	assert_refused(&k, "range 9-8 is reversed");
	put_header(&k);
	b.n = 0;
	put_u64(&b, 9);
	put_u32(&b, 1);
	put_cert_section(&k, 0x20, &b);
	assert_refused(&k, "truncated KRL");
	put_header(&k);
	b.n = 0;
	put_u64(&b, 9);
	put_u64(&b, 10);
	put_u8(&b, 0);
	put_cert_section(&k, 0x21, &b);
	assert_refused(&k, "trailing bytes");

	/* Bitmaps: negative, too long, past 2^64, covering serial 0. */
	put_header(&k);
	b.n = 0;
	put_u64(&b, 100);
	put_str(&b, "\x80", 1);
	put_cert_section(&k, 0x22, &b);
	assert_refused(&k, "negative bitmap");
	memset(bits, 0x11, sizeof(bits));
	put_header(&k);
	b.n = 0;
	put_u64(&b, 100);
	put_str(&b, bits, 2049);
	put_cert_section(&k, 0x22, &b);
	assert_refused(&k, "bitmap longer than 2048 bytes");
	bits[0] = 0;		/* a sign byte, then 2048 bytes: accepted */
	put_header(&k);
	b.n = 0;
	put_u64(&b, 100);
	put_str(&b, bits, 2049);
	put_cert_section(&k, 0x22, &b);
	assert_null(try(&k));
	put_header(&k);
	b.n = 0;
	put_u64(&b, UINT64_MAX - 3);
	put_str(&b, "\x1f", 1);	/* bits 0-4: one past the end */
	put_cert_section(&k, 0x22, &b);
	assert_refused(&k, "bitmap runs past serial 2^64-1");
	put_header(&k);
	b.n = 0;
	put_u64(&b, 0);
	put_str(&b, "\x03", 1);
	put_cert_section(&k, 0x22, &b);
	assert_refused(&k, "serial 0 cannot be revoked");

	/* A bitmap built here revokes what its bits say: 5 = 4 + bit 1. */
	put_header(&k);
	b.n = 0;
	put_u64(&b, 4);
	put_str(&b, "\x01\x02", 2);	/* bits 1 and 8: serials 5 and 12 */
	put_cert_section(&k, 0x22, &b);
	assert_int_equal(krl_parse(k.b, k.n, "hand", &krl, err, sizeof(err)),
	    0);
	load_cert("s5", &c);
	assert_int_equal(krl_check_cert(krl, &c, why, sizeof(why)), 1);
	load_cert("s1", &c);
	assert_int_equal(krl_check_cert(krl, &c, why, sizeof(why)), 0);
	krl_free(krl);

	/* Key ids with a NUL; hashes of the wrong length; a bad CA key. */
	put_header(&k);
	b.n = 0;
	put_str(&b, "alice\0x", 7);
	put_cert_section(&k, 0x23, &b);
	assert_refused(&k, "NUL byte in a key id");
	put_header(&k);
	b.n = 0;
	put_str(&b, "0123456789012345678", 19);
	put_section(&k, 3, &b);
	assert_refused(&k, "a hash of 19 bytes, not 20");
	put_header(&k);
	b.n = 0;
	put_str(&b, "\0\0\0\x0bssh-ed25519\0\0\0\x01x", 20);
	put_section(&k, 2, &b);
	assert_refused(&k, "not a plain public key");
	put_header(&k);
	b.n = 0;
	put_str(&b, "\0\0\0\x03" "foo", 7);
	put_str(&b, "", 0);
	put_section(&k, 1, &b);
	assert_refused(&k, "the CA key is not a public key");

	/* Extensions: optional ones are skipped, critical ones refused. */
	put_header(&k);
	b.n = 0;
	put_str(&b, "x@example.com", 13);
	put_u8(&b, 0);
	put_str(&b, "data", 4);
	put_section(&k, 255, &b);
	assert_null(try(&k));
	put_cert_section(&k, 0x39, &b);
	assert_null(try(&k));
	put_header(&k);
	b.b[4 + 13] = 1;
	put_section(&k, 255, &b);
	assert_refused(&k, "unsupported critical extension 'x@example.com'");
	put_header(&k);
	put_cert_section(&k, 0x39, &b);
	assert_refused(&k, "unsupported critical extension");

	/* A signature section is skipped, and only signatures follow it. */
	put_header(&k);
	put_u8(&k, 4);
	put_str(&k, "key", 3);
	put_str(&k, "sig", 3);
	assert_null(try(&k));
	b.n = 0;
	put_section(&k, 2, &b);
	assert_refused(&k, "a section after the signature");
}

static void
test_key_list(void **state)
{
	static struct sshcert	 c;
	struct krl		*k;
	char			 err[512], why[256];
	uint8_t			 blob[4096];
	size_t			 len;

	(void)state;
	/* sshd's RevokedKeys as text: keys, comments, a certificate line. */
	kit_run("{ echo '# revoked'; echo; cat %s; echo '  '; cat %s %s; } >%s",
	    kit_path(dir, "s5.pub"), kit_path(dir, "ca2.pub"), kit_path(dir, "s151-cert.pub"),
	    kit_path(dir, "list.txt"));
	if (krl_load(kit_path(dir, "list.txt"), &k, err, sizeof(err)) != 0)
		fail_msg("list.txt: %s", err);
	load_cert("s5", &c);
	assert_int_equal(krl_check_cert(k, &c, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "certificate key revoked"));
	load_cert("ca2s5", &c);
	assert_int_equal(krl_check_cert(k, &c, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "CA key revoked"));
	load_cert("s151", &c);
	assert_int_equal(krl_check_cert(k, &c, why, sizeof(why)), 1);
	load_cert("s1", &c);
	assert_int_equal(krl_check_cert(k, &c, why, sizeof(why)), 0);
	len = load_key("s5", blob, sizeof(blob));
	assert_int_equal(krl_check_key(k, blob, len, why, sizeof(why)), 1);
	len = load_key("s150", blob, sizeof(blob));
	assert_int_equal(krl_check_key(k, blob, len, why, sizeof(why)), 0);
	krl_free(k);

	/* An empty file revokes nothing. */
	write_file("empty.txt", "", 0);
	assert_int_equal(krl_load(kit_path(dir, "empty.txt"), &k, err, sizeof(err)),
	    0);
	krl_free(k);

	/* Each bad line is refused with its number. */
	kit_run("{ cat %s; echo 'ssh-ed25519 AAAA!!!!'; } >%s", kit_path(dir, "s5.pub"),
	    kit_path(dir, "bad.txt"));
	assert_int_equal(krl_load(kit_path(dir, "bad.txt"), &k, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "bad.txt:2: key is not valid base64"));
	kit_run("{ echo; echo 'ssh-foo AAAA'; } >%s", kit_path(dir, "bad.txt"));
	assert_int_equal(krl_load(kit_path(dir, "bad.txt"), &k, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "bad.txt:2: unknown key type 'ssh-foo'"));
	/* An Ed25519 blob labelled as RSA. */
	kit_run("sed 's/^ssh-ed25519/ssh-rsa/' %s >%s", kit_path(dir, "s5.pub"),
	    kit_path(dir, "bad.txt"));
	assert_int_equal(krl_load(kit_path(dir, "bad.txt"), &k, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "bad.txt:1: malformed ssh-rsa key"));
	kit_run("echo 'ssh-ed25519' >%s", kit_path(dir, "bad.txt"));
	assert_int_equal(krl_load(kit_path(dir, "bad.txt"), &k, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "bad.txt:1: expected TYPE BASE64"));
	write_file("bad.txt", "ssh-ed25519 AAAA\0", 17);
	assert_int_equal(krl_load(kit_path(dir, "bad.txt"), &k, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "NUL bytes"));
	kit_run("head -c 20000 /dev/zero | tr '\\0' 'A' >%s", kit_path(dir, "bad.txt"));
	assert_int_equal(krl_load(kit_path(dir, "bad.txt"), &k, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "bad.txt:1: line longer than"));
	assert_int_equal(krl_load(kit_path(dir, "missing"), &k, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "missing: cannot open"));
	assert_int_equal(krl_load(dir, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serials),
		cmocka_unit_test(test_bitmap),
		cmocka_unit_test(test_key_ids),
		cmocka_unit_test(test_keys_and_hashes),
		cmocka_unit_test(test_listed_keys),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_key_list),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
