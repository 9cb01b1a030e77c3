/*
 * test_sshcert.c - certificates made by ssh-keygen at test time, checked
 * the way the relay and the gateway check them.
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

#include "lib/clock.h"
#include "lib/sshcert.h"

static char	dir[] = "/tmp/porthole-sshcert.XXXXXX";
static uint8_t	ca_key[32], ca2_key[32];

static void
run(const char *fmt, ...)
{
	char	cmd[2048];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

/* Read NAME-cert.pub's base64 field. */
static char *
cert_b64(const char *name)
{
	static char	buf[16384];
	char		path[512], *sp, *end;
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s-cert.pub", dir, name);
	assert_non_null(f = fopen(path, "r"));
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
	run("ssh-keygen -q -t %s -N '' -C %s -f %s/%s", type, name, dir, name);
	run("ssh-keygen -q -s %s/%s %s %s/%s.pub", dir, ca, opts, dir, name);
}

static int
setup(void **state)
{
	char	path[512], err[256];

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	run("ssh-keygen -q -t ed25519 -N '' -f %s/ca", dir);
	run("ssh-keygen -q -t ed25519 -N '' -f %s/ca2", dir);
	run("ssh-keygen -q -t rsa -b 2048 -N '' -f %s/rsaca", dir);
	snprintf(path, sizeof(path), "%s/ca.pub", dir);
	if (sshcert_load_ca(path, ca_key, err, sizeof(err)) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/ca2.pub", dir);
	if (sshcert_load_ca(path, ca2_key, err, sizeof(err)) != 0)
		return -1;
	make_cert("good", "ed25519", "ca", "-I alice@vendor -n alice,al "
	    "-z 42 -V -5m:+1h -O extension:ticket@porthole=SUP-1234");
	make_cert("noticket", "ed25519", "ca", "-I a -n alice -V -5m:+1h");
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
	make_cert("ecdsa", "ecdsa", "ca", "-I a -n alice -V -5m:+1h");
	make_cert("rsa", "rsa", "ca", "-I a -n alice -V -5m:+1h");
	make_cert("byrsa", "ed25519", "rsaca", "-I a -n alice -V -5m:+1h");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	run("rm -rf %s", dir);
	return 0;
}

/* Parse NAME's certificate and validate it; returns the reason or NULL. */
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
test_valid(void **state)
{
	static struct sshcert c;

	(void)state;
	assert_null(check("good", ca_key, "alice", &c));
	assert_string_equal(c.key_id, "alice@vendor");
	assert_int_equal(c.serial, 42);
	assert_int_equal(c.type, SSHCERT_TYPE_USER);
	assert_int_equal(c.nprincipals, 2);
	assert_string_equal(c.principals[1], "al");
	assert_true(c.has_ticket);
	assert_string_equal(c.ticket, "SUP-1234");
	assert_null(check("good", ca_key, NULL, &c));
	assert_null(check("noticket", ca_key, "alice", &c));
	assert_false(c.has_ticket);
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
		{ "expired", "alice", "certificate expired" },
		{ "future", "alice", "certificate not yet valid" },
		{ "otherca", "alice", "certificate signed by an unknown CA" },
		{ "host", "alice", "not a user certificate" },
		{ "force", "alice", "certificate has critical option "
		    "'force-command' which porthole does not enforce" },
		{ "srcaddr", "alice", "certificate has critical option "
		    "'source-address' which porthole does not enforce" },
		{ "noprinc", NULL, "certificate has no principals" },
		{ "byrsa", "alice", "CA key is not Ed25519" },
	};
	static struct sshcert c;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		why = check(rows[i].name, ca_key, rows[i].principal, &c);
		if (why == NULL)
			fail_msg("%s: accepted", rows[i].name);
		if (strcmp(why, rows[i].reason) != 0)
			fail_msg("%s: '%s', expected '%s'", rows[i].name, why,
			    rows[i].reason);
	}
	/* The right CA for the other certificate: accepted. */
	assert_null(check("otherca", ca2_key, "alice", &c));
}

static void
test_other_key_types(void **state)
{
	static struct sshcert c;

	(void)state;
	assert_null(check("ecdsa", ca_key, "alice", &c));
	assert_string_equal(c.key_type,
	    "ecdsa-sha2-nistp256-cert-v01@openssh.com");
	assert_null(check("rsa", ca_key, "alice", &c));
	assert_string_equal(c.key_type, "ssh-rsa-cert-v01@openssh.com");
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
	assert_int_equal(sshcert_validate(&c, ca_key, clock_now(), "alice",
	    err, sizeof(err)), -1);
	assert_string_equal(err, "certificate signature invalid");
	p[0] = 'a';
	/* Every single-byte change anywhere is refused. */
	for (i = 0; i < len; i++) {
		blob[i] ^= 0x20;
		if (sshcert_parse(blob, len, &c, err, sizeof(err)) == 0 &&
		    sshcert_validate(&c, ca_key, clock_now(), "alice", err,
		    sizeof(err)) == 0)
			accepted++;
		blob[i] ^= 0x20;
	}
	assert_int_equal(accepted, 0);
}

static void
test_truncated_and_oversized(void **state)
{
	static struct sshcert c;
	static uint8_t big[SSHCERT_MAX_BLOB + 1];
	uint8_t blob[SSHCERT_MAX_BLOB + 16];
	char err[256];
	size_t len, i;

	(void)state;
	len = raw("good", blob, sizeof(blob));
	for (i = 0; i < len; i++)
		assert_int_equal(sshcert_parse(blob, i, &c, err, sizeof(err)),
		    -1);
	/* Trailing garbage. */
	blob[len] = 0;
	assert_int_equal(sshcert_parse(blob, len + 1, &c, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "trailing bytes after the certificate");
	/* Oversized. */
	memcpy(big, blob, len);
	assert_int_equal(sshcert_parse(big, sizeof(big), &c, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "larger than"));
	/* A length field pointing past the end. */
	blob[3] = 0xff;
	assert_int_equal(sshcert_parse(blob, len, &c, err, sizeof(err)), -1);
	/* Not base64 at all. */
	assert_int_equal(sshcert_parse_base64("!!!!", &c, err, sizeof(err)),
	    -1);
}

static void
test_load_ca(void **state)
{
	char path[512], err[512];
	uint8_t k[32];

	(void)state;
	snprintf(path, sizeof(path), "%s/rsaca.pub", dir);
	assert_int_equal(sshcert_load_ca(path, k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an ssh-ed25519 public key"));
	snprintf(path, sizeof(path), "%s/nonexistent.pub", dir);
	assert_int_equal(sshcert_load_ca(path, k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	snprintf(path, sizeof(path), "%s/bad.pub", dir);
	run("echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA' > %s", path);
	assert_int_equal(sshcert_load_ca(path, k, err, sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_other_key_types),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_truncated_and_oversized),
		cmocka_unit_test(test_load_ca),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
