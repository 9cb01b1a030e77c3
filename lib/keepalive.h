/*
 * keepalive.h - noticing that the peer of a tunnel has gone silent.
 *
 * A tunnel can die without a reset: a NAT or firewall forgets it, a link
 * goes down, a host freezes.  TCP then says nothing for many minutes
 * (retransmissions back off for about a quarter of an hour, and TCP's own
 * keepalive probes are not sent while data waits to be acknowledged), so
 * both ends of a tunnel watch it themselves.  The gateway and the relay
 * do the same: when nothing has arrived from the peer for `interval`,
 * they send an SSH keepalive that asks for a reply, and when nothing has
 * arrived for interval x count they drop the tunnel.
 *
 * "Arrived" is judged by the kernel, not by who happened to poll libssh
 * last: TCP_INFO's tcpi_last_data_recv is the time since the last
 * segment that carried data from the peer.  Only the peer's SSH process
 * writes data (TCP keepalive probes and bare ACKs carry none), so a peer
 * that answers proves it is alive, and one whose replies no longer come
 * through is silent, whatever is still queued towards it.
 *
 * Time is the kernel's monotonic clock on both sides of the sum; tests
 * use short intervals rather than a moved clock.
 */
#ifndef PH_KEEPALIVE_H
#define PH_KEEPALIVE_H

#include <stdint.h>

/*
 * The defaults and bounds of keepalive_interval and keepalive_count, the
 * same in porthole.conf and relay.conf: 15 s x 3 drops a silent tunnel
 * after 45 s, within the minute DESIGN.md allows.
 */
#define KEEPALIVE_INTERVAL		15	/* seconds */
#define KEEPALIVE_COUNT			3
#define KEEPALIVE_INTERVAL_MIN		1
#define KEEPALIVE_INTERVAL_MAX		600
#define KEEPALIVE_COUNT_MIN		1
#define KEEPALIVE_COUNT_MAX		10
/* The defaults as a config file writes them ("15s", "3"). */
#define KEEPALIVE_STR_(n)		#n
#define KEEPALIVE_STR(n)		KEEPALIVE_STR_(n)
#define KEEPALIVE_INTERVAL_DEFAULT	KEEPALIVE_STR(KEEPALIVE_INTERVAL) "s"
#define KEEPALIVE_COUNT_DEFAULT		KEEPALIVE_STR(KEEPALIVE_COUNT)

/* What the owner of a tunnel does when its check comes round. */
enum keepalive_act {
	KEEPALIVE_WAIT,		/* the peer spoke lately: nothing */
	KEEPALIVE_SEND,		/* quiet for an interval: ask for a reply */
	KEEPALIVE_DROP		/* silent for interval x count: drop it */
};

/*
 * Milliseconds since data last arrived on the TCP socket fd, in *ms.
 * 0, or -1 if the socket cannot say (it is closed or not TCP).
 */
int			keepalive_silence(int fd, uint64_t *ms);

/*
 * Given silent_ms of silence, what to do now, and in *next_ms how long
 * until the next check is due (always at least 1).
 */
enum keepalive_act	keepalive_judge(uint64_t interval_s, uint64_t count,
			    uint64_t silent_ms, uint64_t *next_ms);

#endif
