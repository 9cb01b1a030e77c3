/*
 * test_keepalive.c - when a tunnel's keepalive is sent and when the
 * tunnel is dropped, and the silence the kernel reports for a real
 * loopback TCP connection.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/keepalive.h"

/* The default, 15 s x 3, checked as the checks come round. */
static void
test_judge_default(void **state)
{
	uint64_t next;

	(void)state;
	/* Heard lately: wait for the rest of the interval. */
	assert_int_equal(keepalive_judge(15, 3, 0, &next), KEEPALIVE_WAIT);
	assert_int_equal(next, 15000);
	assert_int_equal(keepalive_judge(15, 3, 14999, &next),
	    KEEPALIVE_WAIT);
	assert_int_equal(next, 1);
	/* An interval of silence: ask, and look again an interval later. */
	assert_int_equal(keepalive_judge(15, 3, 15000, &next),
	    KEEPALIVE_SEND);
	assert_int_equal(next, 15000);
	/* A late check keeps to the grid, so the deadline is not moved. */
	assert_int_equal(keepalive_judge(15, 3, 20000, &next),
	    KEEPALIVE_SEND);
	assert_int_equal(next, 10000);
	assert_int_equal(keepalive_judge(15, 3, 30000, &next),
	    KEEPALIVE_SEND);
	assert_int_equal(next, 15000);
	assert_int_equal(keepalive_judge(15, 3, 44999, &next),
	    KEEPALIVE_SEND);
	assert_int_equal(next, 1);
	/* interval x count of silence: dropped, within DESIGN's 60 s. */
	assert_int_equal(keepalive_judge(15, 3, 45000, &next),
	    KEEPALIVE_DROP);
	assert_int_equal(keepalive_judge(15, 3, 3600000, &next),
	    KEEPALIVE_DROP);
}

/* A count of one drops after one interval, without a second chance. */
static void
test_judge_count_one(void **state)
{
	uint64_t next;

	(void)state;
	assert_int_equal(keepalive_judge(1, 1, 999, &next), KEEPALIVE_WAIT);
	assert_int_equal(next, 1);
	assert_int_equal(keepalive_judge(1, 1, 1000, &next), KEEPALIVE_DROP);
}

/* A connected loopback pair: fds[0] the client, fds[1] the accepted. */
static void
tcp_pair(int fds[2])
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			l;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((l = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	assert_true((fds[0] = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(connect(fds[0], (struct sockaddr *)&sin,
	    sizeof(sin)), 0);
	assert_true((fds[1] = accept(l, NULL, NULL)) != -1);
	close(l);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1)
		;
}

/*
 * Silence grows while nothing arrives, whatever is sent the other way,
 * and starts again when the peer writes.
 */
static void
test_silence(void **state)
{
	uint64_t	ms, before;
	char		c;
	int		fds[2];

	(void)state;
	tcp_pair(fds);
	sleep_ms(300);
	/* This end talking does not make the peer any less silent. */
	assert_int_equal(write(fds[0], "x", 1), 1);
	assert_int_equal(keepalive_silence(fds[0], &before), 0);
	assert_true(before >= 250);
	/* The peer writes; nobody has read it yet, but it arrived. */
	assert_int_equal(write(fds[1], "y", 1), 1);
	sleep_ms(50);
	assert_int_equal(keepalive_silence(fds[0], &ms), 0);
	assert_true(ms < before);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	close(fds[1]);
}

/* Not a TCP socket, or none: it cannot say, and says so. */
static void
test_silence_not_tcp(void **state)
{
	uint64_t	ms;
	int		sv[2];

	(void)state;
	assert_int_equal(keepalive_silence(-1, &ms), -1);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(keepalive_silence(sv[0], &ms), -1);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judge_default),
		cmocka_unit_test(test_judge_count_one),
		cmocka_unit_test(test_silence),
		cmocka_unit_test(test_silence_not_tcp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
