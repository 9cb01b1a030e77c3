/*
 * fuzz_notice.c - libFuzzer target for the update notice parser and the
 * SSHSIG checker, what a hostile relay reaches with an update_notice.
 *
 * The input is the notice's text, a NUL, then the armoured signature
 * (without a NUL, the whole input is the notice and the signature is
 * empty).  The signature is checked against a fixed Ed25519 key, the
 * one the seed corpus (tests/fuzz/corpus_notice) was signed with, so
 * mutations of a valid signature reach every check.  Whatever comes
 * in must give a verdict, never a crash, a leak or a read out of
 * bounds; a reason must be one printable line; and a notice that
 * parses must hold only what notice.h promises.
 *
 * ./configure --enable-fuzzing CC=clang && make tests/fuzz/fuzz_notice
 * tests/fuzz/fuzz_notice -max_total_time=60 NEW_DIR tests/fuzz/corpus_notice
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/sha256.h"
#include "lib/sshsig.h"
#include "telemetry/notice.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* ssh-keygen -t ed25519: the key corpus_notice's signatures are by. */
static const uint8_t key[32] = {
	0x0c, 0xff, 0x5c, 0x1b, 0x69, 0xb1, 0xba, 0xa9, 0xef, 0x79, 0x95,
	0x4b, 0xb9, 0x5a, 0x09, 0xa6, 0xba, 0xaa, 0xd9, 0x14, 0x24, 0x14,
	0xf1, 0xa8, 0x0d, 0xb4, 0x02, 0x14, 0xc5, 0x97, 0x79, 0x94
};

/* A reason: one line of printable text, not empty. */
static void
check_reason(const char *why)
{
	size_t i;

	if (why[0] == '\0')
		abort();
	for (i = 0; why[i] != '\0'; i++)
		if ((unsigned char)why[i] < 0x20 || why[i] == 0x7f)
			abort();
}

/* What a parsed notice must be. */
static void
check_notice(const struct notice *n)
{
	struct version	v;
	size_t		i;

	if (version_parse(n->version, &v) == -1 ||
	    version_cmp(&v, &n->v) != 0 || !sha256_valid_hex(n->sha256) ||
	    n->size == 0 || n->size > NOTICE_SIZE_MAX ||
	    n->expires <= n->published ||
	    strlen(n->notes) > NOTICE_NOTES_MAX)
		abort();
	for (i = 0; n->notes[i] != '\0'; i++)
		if (((unsigned char)n->notes[i] < 0x20 && n->notes[i] != '\n' &&
		    n->notes[i] != '\t') || n->notes[i] == 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct notice	 n;
	const uint8_t	*nul = memchr(data, '\0', len);
	size_t		 tlen = nul != NULL ? (size_t)(nul - data) : len;
	const char	*sig = nul != NULL ? (const char *)nul + 1 : "";
	size_t		 slen = nul != NULL ? len - tlen - 1 : 0;
	char		 why[512];

	why[0] = '\0';
	if (notice_parse((const char *)data, tlen, &n, why, sizeof(why)) == 0)
		check_notice(&n);
	else
		check_reason(why);
	why[0] = '\0';
	if (sshsig_verify(sig, slen, data, tlen, key, NOTICE_NAMESPACE, why,
	    sizeof(why)) == -1)
		check_reason(why);
	why[0] = '\0';
	/* 2026-11-21: after the corpus notices' publication, before expiry. */
	if (notice_verify((const char *)data, tlen, sig, slen, key,
	    (time_t)1795258800, &n, why, sizeof(why)) == 0)
		check_notice(&n);
	else
		check_reason(why);
	return 0;
}
