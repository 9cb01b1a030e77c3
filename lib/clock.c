/*
 * clock.c - wall and monotonic time behind one overridable interface.
 */
#include "config.h"

#include "lib/clock.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static time_t clock_fixed;

#ifdef PORTHOLE_TEST_HOOKS
/* Seconds from variable name, at most ten years either way; else 0. */
static time_t
clock_env(const char *name)
{
	const char	*s;
	char		*end;
	long long	 v;

	if ((s = getenv(name)) == NULL)
		return 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v <= -315576000LL ||
	    v >= 315576000LL)
		return 0;
	return (time_t)v;
}

/*
 * Test builds only: PORTHOLE_CLOCK_OFFSET seconds are added to the wall
 * clock and to the boot clock alike, so that tests can jump days ahead
 * as if the days had passed; PORTHOLE_CLOCK_STEP seconds to the wall
 * clock alone, as a wall clock stepped ahead would be.  Read once.
 * Release builds ignore both variables.
 */
static time_t
clock_offset(void)
{
	static int	done;
	static time_t	offset;

	if (!done) {
		done = 1;
		offset = clock_env("PORTHOLE_CLOCK_OFFSET");
	}
	return offset;
}

static time_t
clock_step(void)
{
	static int	done;
	static time_t	step;

	if (!done) {
		done = 1;
		step = clock_env("PORTHOLE_CLOCK_STEP");
	}
	return step;
}
#else
#define clock_offset()	((time_t)0)
#define clock_step()	((time_t)0)
#endif

time_t
clock_now(void)
{
	struct timespec ts;

	if (clock_fixed != 0)
		return clock_fixed;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + clock_offset() + clock_step();
}

int64_t
clock_boot(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec + clock_offset();
}

int
clock_boot_id(char *buf, size_t len)
{
	ssize_t	n;
	int	fd;

	if (len < CLOCK_BOOT_ID_LEN + 1 ||
	    (fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY |
	    O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, CLOCK_BOOT_ID_LEN);
	close(fd);
	if (n != CLOCK_BOOT_ID_LEN)
		return -1;
	buf[CLOCK_BOOT_ID_LEN] = '\0';
	return strspn(buf, "0123456789abcdef-") == CLOCK_BOOT_ID_LEN ? 0 : -1;
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
