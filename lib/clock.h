/*
 * clock.h - the one source of time, so tests can move it.
 */
#ifndef PH_CLOCK_H
#define PH_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Wall-clock seconds since the epoch (or the fixed test time). */
time_t		clock_now(void);
/* Monotonic milliseconds, for timeouts and durations. */
uint64_t	clock_mono_ms(void);
/* Tests only: fix clock_now() at t; t == 0 returns to the real clock. */
void		clock_set_fixed(time_t t);

#endif
