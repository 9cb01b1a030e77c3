/*
 * clock.c - wall and monotonic time behind one overridable interface.
 */
#include "config.h"

#include "lib/clock.h"

#include <stdlib.h>

static time_t clock_fixed;

#ifdef PORTHOLE_TEST_HOOKS
/*
 * Test builds only: PORTHOLE_CLOCK_OFFSET seconds (at most ten years
 * either way) are added to the wall clock, so that tests can jump days
 * ahead.  Release builds ignore the variable.
 */
static time_t
clock_offset(void)
{
	static int	 done;
	static time_t	 offset;
	const char	*s;
	char		*end;
	long long	 v;

	if (!done) {
		done = 1;
		if ((s = getenv("PORTHOLE_CLOCK_OFFSET")) != NULL) {
			v = strtoll(s, &end, 10);
			if (*s != '\0' && *end == '\0' && v > -315576000LL &&
			    v < 315576000LL)
				offset = (time_t)v;
		}
	}
	return offset;
}
#else
#define clock_offset()	((time_t)0)
#endif

time_t
clock_now(void)
{
	struct timespec ts;

	if (clock_fixed != 0)
		return clock_fixed;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + clock_offset();
}

uint64_t
clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
clock_set_fixed(time_t t)
{
	clock_fixed = t;
}
