/*
 * bundles_build.c - each support bundle is built in a process forked
 * for it.  Not yet: a request is kept, and fails at once with that
 * reason.
 */
#include "gateway/bundles_int.h"

#include <stdio.h>

int
build_start(struct bundles *bs, struct bundle *b, char *why, size_t whylen)
{
	(void)bs;
	(void)b;
	snprintf(why, whylen, "this gateway does not build bundles yet");
	return -1;
}

void
build_kill(struct bundles *bs)
{
	(void)bs;
}
