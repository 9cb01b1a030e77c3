/*
 * echolat.c - interactive echo latency through a terminal (benchmark
 * only; tests/bench/bench.sh compiles it).
 *
 *   echolat [-n COUNT] [-w WARMUP] [-i MS] [-l LINE] [-r READY] [-x HOOK]
 *	   CMD [ARG...]
 *
 * Runs CMD (an `ssh -tt ...`) on a new pseudo-terminal, as a person's
 * terminal emulator would, and types at it: one byte, then the time
 * until that byte comes back.  The echo is made by the far end's
 * terminal line discipline, so the figure is one keystroke's round trip
 * through every hop, not the local terminal's: echolat waits until the
 * local ssh has switched its terminal to raw mode (echo off) before it
 * types.
 *
 * READY	text to wait for first (a prompt); none: wait for raw mode
 * WARMUP	keystrokes typed and timed but not reported (5)
 * COUNT	keystrokes reported (200)
 * MS		pause before each keystroke, so that every keystroke is a
 *		packet of its own and Nagle and delayed ACKs act as they
 *		would on a person's typing (20)
 * LINE		after this many keystrokes the line is killed with ^U and
 *		the erasure drained, untimed, so no line grows long (40)
 * HOOK	a shell command run once after the warm-up, while the session
 *		is up; ECHOLAT_PID names this process in its environment
 *
 * Prints each reported keystroke's echo time in microseconds on stdout,
 * one per line, and a summary on stderr.  At the end it kills the line
 * and types ^D, which ends both the porthole support shell and `cat`.
 * Exit status 0 when every keystroke came back, 1 otherwise.
 */
#define _GNU_SOURCE
#include <sys/ioctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define ECHO_TIMEOUT_MS		5000	/* one keystroke's echo */
#define READY_TIMEOUT_MS	30000	/* the session coming up */
#define QUIET_MS		100	/* no output this long: drained */
#define READY_MAX		256

/* The session under test. */
struct term {
	int	 master;		/* our side of the pty */
	pid_t	 pid;			/* CMD */
	char	 tail[2 * READY_MAX];	/* last output, to find READY in */
	size_t	 taillen;
};

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * Wait up to ms for output and read what there is into buf.  Returns
 * the byte count, 0 on timeout, -1 when the session has ended.
 */
static ssize_t
term_read(struct term *t, char *buf, size_t len, int ms)
{
	struct pollfd	pfd = { .fd = t->master, .events = POLLIN };
	ssize_t		n;
	int		rc;

	while ((rc = poll(&pfd, 1, ms)) == -1 && errno == EINTR)
		;
	if (rc <= 0)
		return rc;
	while ((n = read(t->master, buf, len)) == -1 && errno == EINTR)
		;
	/* Linux says EIO on the master once the slave side is all closed. */
	return n > 0 ? n : -1;
}

/* Read until nothing more comes for QUIET_MS. */
static int
term_drain(struct term *t)
{
	char	buf[4096];
	ssize_t	n;

	while ((n = term_read(t, buf, sizeof(buf), QUIET_MS)) > 0)
		;
	return n == 0 ? 0 : -1;
}

static int
term_type(struct term *t, char c)
{
	ssize_t n;

	while ((n = write(t->master, &c, 1)) == -1 && errno == EINTR)
		;
	return n == 1 ? 0 : -1;
}

/* Has the local ssh put the terminal in raw mode yet? */
static int
term_raw(struct term *t)
{
	struct termios tio;

	/* On Linux the master reports the slave's settings. */
	return tcgetattr(t->master, &tio) == 0 && !(tio.c_lflag & ECHO);
}

/* Wait for READY (if any) in the output, and for raw mode. */
static int
term_ready(struct term *t, const char *ready)
{
	uint64_t	deadline = now_us() + READY_TIMEOUT_MS * 1000ULL;
	char		buf[4096];
	size_t		keep, take;
	ssize_t		n;

	for (;;) {
		if (term_raw(t) && (ready == NULL || memmem(t->tail,
		    t->taillen, ready, strlen(ready)) != NULL))
			return 0;
		if (now_us() > deadline)
			return -1;
		if ((n = term_read(t, buf, sizeof(buf), 50)) == -1)
			return -1;
		/* Keep the last READY_MAX bytes, so READY may straddle reads. */
		take = (size_t)n > READY_MAX ? READY_MAX : (size_t)n;
		keep = t->taillen + take > sizeof(t->tail) ? READY_MAX :
		    t->taillen;
		memmove(t->tail, t->tail + t->taillen - keep, keep);
		memcpy(t->tail + keep, buf + n - take, take);
		t->taillen = keep + take;
	}
}

/* Type c and wait for it to come back: the microseconds, or -1. */
static int64_t
keystroke(struct term *t, char c)
{
	char		buf[4096];
	uint64_t	start, now;
	int		left;
	ssize_t		n;

	start = now_us();
	if (term_type(t, c) == -1)
		return -1;
	for (;;) {
		now = now_us();
		left = ECHO_TIMEOUT_MS - (int)((now - start) / 1000);
		if (left <= 0)
			return -1;
		if ((n = term_read(t, buf, sizeof(buf), left)) <= 0)
			return -1;
		if (memchr(buf, c, (size_t)n) != NULL)
			return (int64_t)(now_us() - start);
	}
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* End the session politely, then less so. */
static void
term_close(struct term *t)
{
	int	status, i;

	(void)term_type(t, '\025');	/* ^U: kill the line */
	(void)term_type(t, '\004');	/* ^D: end of input */
	for (i = 0; i < 50; i++) {
		(void)term_drain(t);
		if (waitpid(t->pid, &status, WNOHANG) == t->pid)
			goto out;
	}
	kill(t->pid, SIGTERM);
	waitpid(t->pid, &status, 0);
out:
	close(t->master);
}

static int
usage(void)
{
	fprintf(stderr, "usage: echolat [-n COUNT] [-w WARMUP] [-i MS] "
	    "[-l LINE] [-r READY] [-x HOOK] CMD [ARG...]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct term	 t = { .master = -1 };
	struct winsize	 ws = { .ws_row = 24, .ws_col = 80 };
	const char	*ready = NULL, *hook = NULL;
	int64_t		*us = NULL, v;
	char		 pidbuf[32];
	int		 count = 200, warmup = 5, interval = 20, line = 40;
	int		 ch, i, got = 0, rc = 1;

	while ((ch = getopt(argc, argv, "+n:w:i:l:r:x:")) != -1) {
		switch (ch) {
		case 'n':
			count = atoi(optarg);
			break;
		case 'w':
			warmup = atoi(optarg);
			break;
		case 'i':
			interval = atoi(optarg);
			break;
		case 'l':
			line = atoi(optarg);
			break;
		case 'r':
			ready = optarg;
			break;
		case 'x':
			hook = optarg;
			break;
		default:
			return usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || count < 1 || count > 1000000 || warmup < 0 ||
	    interval < 0 || interval > 10000 || line < 1 ||
	    (ready != NULL && strlen(ready) > READY_MAX))
		return usage();
	if ((us = calloc((size_t)count, sizeof(*us))) == NULL)
		return 1;

	t.pid = forkpty(&t.master, NULL, NULL, &ws);
	if (t.pid == -1) {
		perror("echolat: forkpty");
		goto out;
	}
	if (t.pid == 0) {
		execvp(argv[0], argv);
		perror("echolat: exec");
		_exit(127);
	}
	if (term_ready(&t, ready) == -1) {
		fprintf(stderr, "echolat: the session did not come up (%s%s)\n",
		    term_raw(&t) ? "no " : "terminal still in cooked mode",
		    term_raw(&t) ? ready : "");
		goto close;
	}
	if (term_drain(&t) == -1)
		goto close;

	/* Keystrokes a-z, cycling; the line is killed every line strokes. */
	for (i = 0; i < warmup + count; i++) {
		if (i > 0 && i % line == 0) {
			if (term_type(&t, '\025') == -1 ||
			    term_drain(&t) == -1)
				goto close;
		}
		if (i == warmup && hook != NULL) {
			snprintf(pidbuf, sizeof(pidbuf), "%ld", (long)getpid());
			setenv("ECHOLAT_PID", pidbuf, 1);
			if (system(hook) != 0)
				fprintf(stderr, "echolat: hook failed\n");
			if (term_drain(&t) == -1)
				goto close;
		}
		sleep_ms(interval);
		if ((v = keystroke(&t, (char)('a' + i % 26))) == -1) {
			fprintf(stderr, "echolat: keystroke %d not echoed "
			    "within %d ms\n", i, ECHO_TIMEOUT_MS);
			goto close;
		}
		if (i >= warmup)
			us[got++] = v;
	}
	for (i = 0; i < got; i++)
		printf("%lld\n", (long long)us[i]);
	qsort(us, (size_t)got, sizeof(*us), cmp_i64);
	fprintf(stderr, "echolat: %d keystrokes, median %lld us, p99 %lld us, "
	    "max %lld us\n", got, (long long)us[got / 2],
	    (long long)us[(got * 99 + 99) / 100 - 1], (long long)us[got - 1]);
	rc = 0;
close:
	term_close(&t);
out:
	free(us);
	return rc;
}
