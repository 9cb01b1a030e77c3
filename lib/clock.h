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
/*
 * Seconds since the machine booted, suspend included (CLOCK_BOOTTIME):
 * with clock_boot_id, a duration that survives a restart of the daemon
 * (not a reboot) and that no step of the wall clock changes.
 */
int64_t		clock_boot(void);
/* This boot's id (/proc/sys/kernel/random/boot_id) in buf: 0, or -1. */
#define CLOCK_BOOT_ID_LEN	36
int		clock_boot_id(char *buf, size_t len);
/* Tests only: fix clock_now() at t; t == 0 returns to the real clock. */
void		clock_set_fixed(time_t t);

#endif
