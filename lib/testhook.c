/*
 * testhook.c - kill points for crash tests (testhook.h).
 */
#include "config.h"

#include "lib/testhook.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

void
testhook_kill_at(const char *step)
{
#ifdef PORTHOLE_TEST_HOOKS
	const char *s = getenv("PORTHOLE_TEST_KILL_AT");

	if (s != NULL && strcmp(s, step) == 0)
		(void)raise(SIGKILL);
#else
	(void)step;
#endif
}
