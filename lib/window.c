/*
 * window.c - the customer's update window in local wall time (see
 * window.h for the rule on days when the clocks change).
 */
#include "lib/window.h"

#include <stdio.h>
#include <string.h>

/* How far from mktime's guess the first instant is looked for. */
#define WINDOW_SPAN	(27 * 3600)

static const char *const window_days[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat"
};

/* "HH:MM", two digits each, a real time of day. */
static int
parse_hhmm(const char *s, size_t len, int *hour, int *min)
{
	int h, m;

	if (len != 5 || s[2] != ':')
		return -1;
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' ||
	    s[3] < '0' || s[3] > '9' || s[4] < '0' || s[4] > '9')
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59)
		return -1;
	*hour = h;
	*min = m;
	return 0;
}

int
window_parse(const char *s, struct window *out)
{
	const char	*word[4];
	size_t		 wlen[4], n = 0, i;
	struct window	 w;

	if (s == NULL)
		return -1;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		if (n == 4)
			return -1;
		word[n] = s;
		wlen[n] = strcspn(s, " \t");
		s += wlen[n++];
	}
	memset(&w, 0, sizeof(w));
	if (n == 2 && wlen[0] == 5 && memcmp(word[0], "daily", 5) == 0) {
		if (parse_hhmm(word[1], wlen[1], &w.hour, &w.min) == -1)
			return -1;
		*out = w;
		return 0;
	}
	if (n != 3 || wlen[0] != 6 || memcmp(word[0], "weekly", 6) != 0 ||
	    wlen[1] != 3)
		return -1;
	w.weekly = 1;
	for (i = 0; i < 7; i++)
		if (memcmp(word[1], window_days[i], 3) == 0)
			break;
	if (i == 7)
		return -1;
	w.wday = (int)i;
	if (parse_hhmm(word[2], wlen[2], &w.hour, &w.min) == -1)
		return -1;
	*out = w;
	return 0;
}

void
window_format(const struct window *w, char *buf, size_t len)
{
	if (w->weekly)
		snprintf(buf, len, "weekly %s %02d:%02d", window_days[w->wday],
		    w->hour, w->min);
	else
		snprintf(buf, len, "daily %02d:%02d", w->hour, w->min);
}

/* (date, time) of tm as one comparable number: YYYYMMDDHHMM. */
static long long
wall_key(const struct tm *tm)
{
	return ((((long long)tm->tm_year * 100 + tm->tm_mon) * 100 +
	    tm->tm_mday) * 100 + tm->tm_hour) * 100 + tm->tm_min;
}

int
window_wall(int year, int mon, int mday, int hour, int min, time_t *out)
{
	struct tm	tm;
	long long	want;
	static const time_t before[] = { 3 * 3600, WINDOW_SPAN };
	time_t		guess, t, end;
	size_t		i;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = mday;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_isdst = -1;
	want = wall_key(&tm);
	if ((guess = mktime(&tm)) == (time_t)-1)
		return -1;
	/*
	 * mktime's answer is right for an ordinary time, but for one in a
	 * gap or in a repeated hour it may be later than the first instant
	 * the rule asks for, or earlier in zones whose tzdata records
	 * winter time as the exception (Europe/Dublin, Africa/Casablanca).
	 * So it only says where to look: from well before it (no zone has
	 * moved its clocks by more than a day at once) walk minute by minute
	 * to the first minute whose wall clock reads the time or later, at
	 * most a day past it.
	 */
	for (i = 0; i < sizeof(before) / sizeof(before[0]); i++) {
		t = guess - before[i];
		t -= t % 60;
		if (localtime_r(&t, &tm) == NULL)
			return -1;
		if (wall_key(&tm) >= want)
			continue;	/* not early enough: start earlier */
		for (end = guess + WINDOW_SPAN; t <= end; t += 60) {
			if (localtime_r(&t, &tm) == NULL)
				return -1;
			if (wall_key(&tm) >= want) {
				*out = t;
				return 0;
			}
		}
		return -1;
	}
	return -1;
}

int
window_next(const struct window *w, time_t t, time_t *out)
{
	struct tm	day, tm;
	time_t		start;
	int		i;

	if (localtime_r(&t, &day) == NULL)
		return -1;
	/* Nine days cover a weekly window that started just before t. */
	for (i = 0; i < 9; i++) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = day.tm_year;
		tm.tm_mon = day.tm_mon;
		tm.tm_mday = day.tm_mday + i;
		tm.tm_hour = 12;
		tm.tm_isdst = -1;
		/* Normalises the date and fills in the weekday. */
		if (mktime(&tm) == (time_t)-1)
			return -1;
		if (w->weekly && tm.tm_wday != w->wday)
			continue;
		if (window_wall(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		    w->hour, w->min, &start) == -1)
			return -1;
		if (start >= t) {
			*out = start;
			return 0;
		}
	}
	return -1;
}
