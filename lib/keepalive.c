/*
 * keepalive.c - how long a tunnel's peer has been silent, and what to do
 * about it.
 */
#include "lib/keepalive.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <string.h>

int
keepalive_silence(int fd, uint64_t *ms)
{
	struct tcp_info	ti;
	socklen_t	len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1 ||
	    len < offsetof(struct tcp_info, tcpi_last_data_recv) +
	    sizeof(ti.tcpi_last_data_recv))
		return -1;
	*ms = ti.tcpi_last_data_recv;
	return 0;
}

/*
 * A keepalive goes out once per interval of silence, so a peer that
 * answers late but answers is not dropped; the deadline is counted from
 * the last data, not from the first keepalive, so that the bound holds
 * however the checks fall.
 */
enum keepalive_act
keepalive_judge(uint64_t interval_s, uint64_t count, uint64_t silent_ms,
    uint64_t *next_ms)
{
	uint64_t interval = interval_s * 1000, limit = interval * count;
	uint64_t step;

	if (silent_ms >= limit) {
		*next_ms = interval;
		return KEEPALIVE_DROP;
	}
	if (silent_ms < interval) {
		*next_ms = interval - silent_ms;
		return KEEPALIVE_WAIT;
	}
	/* The next interval of silence, or the deadline if that is sooner. */
	step = interval - silent_ms % interval;
	*next_ms = silent_ms + step > limit ? limit - silent_ms : step;
	if (*next_ms == 0)
		*next_ms = 1;
	return KEEPALIVE_SEND;
}
