/*
 * window.h - the customer's update window: "daily HH:MM" or "weekly DAY
 * HH:MM", in the cluster's local wall time.
 *
 * Local wall time is not a line: on the day daylight saving starts a
 * time such as 02:30 does not exist, and on the day it ends 01:30
 * happens twice.  The rule (DESIGN.md, "Software updates"): a window
 * starts at the first instant at which the local clock on its day
 * reads its time or later, so a time that does not exist means the
 * first minute after the gap, and a time that happens twice means the
 * first time it happens.
 */
#ifndef PH_WINDOW_H
#define PH_WINDOW_H

#include <stddef.h>
#include <time.h>

struct window {
	int	weekly;		/* 0: every day */
	int	wday;		/* weekly: 0 (sun) .. 6 (sat) */
	int	hour;		/* 0..23 */
	int	min;		/* 0..59 */
};

/*
 * "daily HH:MM" or "weekly DAY HH:MM" (DAY: sun..sat; words separated
 * by blanks; HH:MM two digits each).  0, or -1 (w untouched).
 */
int	window_parse(const char *s, struct window *w);
/* The canonical spelling ("weekly sun 02:00") into buf (32 suffice). */
void	window_format(const struct window *w, char *buf, size_t len);
/*
 * The start of the first window at or after t, in the local time zone
 * (TZ): 0 with *out, or -1 if the C library cannot convert the times.
 */
int	window_next(const struct window *w, time_t t, time_t *out);
/*
 * The first instant at which the local clock on the date year-mon-mday
 * (mon 1..12) reads hour:min or later: 0 with *out, or -1.
 */
int	window_wall(int year, int mon, int mday, int hour, int min,
	    time_t *out);

#endif
