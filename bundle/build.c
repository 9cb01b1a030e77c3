/*
 * build.c - the state of one build that both halves of the writer keep:
 * what was left out and why, and whether the deadline has passed.  Kept
 * apart so that select.c (which finds the files) and bundle.c (which
 * reads and writes them) both depend on it and not on each other.
 */
#include <stdarg.h>
#include <stdio.h>

#include "bundle/bundle_int.h"
#include "lib/clock.h"

#define WHY_MAX		512

void
bundle_left_out(struct bundle_build *b, const char *path, const char *fmt,
    ...)
{
	json_t	*o;
	char	 reason[WHY_MAX];
	va_list	 ap;

	b->nleft_out++;
	if (json_array_size(b->left_out) >= BUNDLE_MAX_LISTED)
		return;		/* counted in the manifest, not named */
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	/* Paths were checked to be UTF-8; a reason quotes only them. */
	if ((o = json_pack("{s:s, s:s}", "path", path, "reason",
	    reason)) == NULL || json_array_append_new(b->left_out, o) == -1)
		b->nomem = 1;
}

int
bundle_late(struct bundle_build *b)
{
	if (!b->timed_out && b->req->deadline_ms != 0 &&
	    clock_mono_ms() >= b->req->deadline_ms)
		b->timed_out = 1;
	return b->timed_out;
}
