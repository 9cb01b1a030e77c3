/*
 * test_sshsig.c - signatures made by stock ssh-keygen -Y sign, checked
 * by lib/sshsig: the good ones pass, and every way a notice could be
 * passed off is refused with its reason.
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

#include "tests/unit/kit.h"
#include "lib/sshcert.h"
#include "lib/sshsig.h"

static char	dir[KIT_PATH_MAX];
static uint8_t	vendor[32], other[32];

static size_t
slurp(const char *name, char *buf, size_t max)
{
	const char	*path = kit_path(dir, name);
	FILE		*f;
	size_t		 n;

	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("cannot open %s", path);
	n = fread(buf, 1, max, f);
	fclose(f);
	return n;
}

static int
setup(void **state)
{
	char err[256];

	(void)state;
	if (kit_tmpdir(dir, "sshsig") == -1)
		return -1;
	kit_run("cd %s && ssh-keygen -q -t ed25519 -N '' -C vendor -f vendor && "
	    "ssh-keygen -q -t ed25519 -N '' -C other -f other && "
	    "printf '{\"version\":\"1.290.3\"}\\n' > notice.json && "
	    "ssh-keygen -q -Y sign -f vendor -n porthole-update notice.json "
	    ">/dev/null 2>&1 && "
	    "cp notice.json n256.json && ssh-keygen -q -Y sign -f vendor "
	    "-n porthole-update -O hashalg=sha256 n256.json >/dev/null 2>&1 && "
	    "cp notice.json nfile.json && ssh-keygen -q -Y sign -f vendor "
	    "-n file nfile.json >/dev/null 2>&1 && "
	    "cp notice.json nother.json && ssh-keygen -q -Y sign -f other "
	    "-n porthole-update nother.json >/dev/null 2>&1", dir);
	if (sshcert_load_ca(kit_path(dir, "vendor.pub"), vendor, err,
	    sizeof(err)) == -1)
		return -1;
	if (sshcert_load_ca(kit_path(dir, "other.pub"), other, err,
	    sizeof(err)) == -1)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return kit_rmtree(dir);
}

/* Verify msg file against sig file; the reason, or "" if it passed. */
static const char *
check(const char *msgfile, const char *sigfile, const uint8_t *key,
    const char *ns)
{
	static char	err[256];
	char		msg[4096], sig[SSHSIG_ARMOR_MAX + 64];
	size_t		mlen, slen;

	mlen = slurp(msgfile, msg, sizeof(msg));
	slen = slurp(sigfile, sig, sizeof(sig));
	err[0] = '\0';
	if (sshsig_verify(sig, slen, (const uint8_t *)msg, mlen, key, ns,
	    err, sizeof(err)) == 0)
		return "";
	return err;
}

static void
test_good(void **state)
{
	(void)state;
	assert_string_equal(check("notice.json", "notice.json.sig", vendor,
	    "porthole-update"), "");
	assert_string_equal(check("n256.json", "n256.json.sig", vendor,
	    "porthole-update"), "");
	/* ssh-keygen's own verdict agrees. */
	kit_run("cd %s && echo \"vendor $(cat vendor.pub)\" > signers && "
	    "ssh-keygen -q -Y verify -f signers -I vendor -n porthole-update "
	    "-s notice.json.sig < notice.json >/dev/null", dir);
}

static void
test_refused(void **state)
{
	(void)state;
	assert_string_equal(check("nfile.json", "nfile.json.sig", vendor,
	    "porthole-update"),
	    "signature namespace is 'file', not 'porthole-update'");
	assert_string_equal(check("nother.json", "nother.json.sig", vendor,
	    "porthole-update"), "signed by another key");
	/* The right signature, but the customer pinned another key. */
	assert_string_equal(check("notice.json", "notice.json.sig", other,
	    "porthole-update"), "signed by another key");
	/* One byte of the notice changed. */
	kit_run("cd %s && sed 's/290/291/' notice.json > edited.json", dir);
	assert_string_equal(check("edited.json", "notice.json.sig", vendor,
	    "porthole-update"), "signature does not match the file");
	/* Another signature's armour over this notice. */
	assert_string_equal(check("notice.json", "n256.json.sig", vendor,
	    "porthole-update"), "");	/* same bytes signed: fine */
	kit_run("cd %s && printf 'other\\n' > o.json && cp n256.json.sig o.sig",
	    dir);
	assert_string_equal(check("o.json", "o.sig", vendor,
	    "porthole-update"), "signature does not match the file");
}

static void
test_malformed(void **state)
{
	(void)state;
	/* No armour, a cut one, trailing text, a flipped digit. */
	kit_run("cd %s && tail -n +2 notice.json.sig > noarmor.sig && "
	    "head -n 3 notice.json.sig > cut.sig && "
	    "{ cat notice.json.sig; echo extra; } > trailing.sig && "
	    "sed '2s/^\\(.....\\)./\\1#/' notice.json.sig > digit.sig && "
	    "head -c 5000 /dev/zero | tr '\\0' A > huge.sig && "
	    "n=$(($(wc -l < notice.json.sig) - 1)) && "
	    "sed \"${n}s/^\\(.\\{9\\}\\)A/\\1B/;t;${n}s/^\\(.\\{9\\}\\)./\\1A/\" "
	    "notice.json.sig > sigbits.sig", dir);
	assert_string_equal(check("notice.json", "noarmor.sig", vendor,
	    "porthole-update"), "not an armoured SSH signature");
	assert_string_equal(check("notice.json", "cut.sig", vendor,
	    "porthole-update"), "not an armoured SSH signature");
	assert_string_equal(check("notice.json", "trailing.sig", vendor,
	    "porthole-update"), "not an armoured SSH signature");
	assert_string_equal(check("notice.json", "digit.sig", vendor,
	    "porthole-update"), "not an armoured SSH signature");
	/* A valid digit changed in the signature's own bytes. */
	assert_string_equal(check("notice.json", "sigbits.sig", vendor,
	    "porthole-update"), "signature does not match the file");
	assert_string_equal(check("notice.json", "huge.sig", vendor,
	    "porthole-update"), "signature longer than 4096 bytes");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
