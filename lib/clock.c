/*
 * clock.c - wall and monotonic time behind one overridable interface.
 */
#include "lib/clock.h"

static time_t clock_fixed;

time_t
clock_now(void)
{
	struct timespec ts;

	if (clock_fixed != 0)
		return clock_fixed;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
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
