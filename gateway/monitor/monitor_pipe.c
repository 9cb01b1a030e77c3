/*
 * monitor_pipe.c - one direction of bytes the monitor relays (the
 * shell's terminal, an action's output): written out as far as the
 * descriptor takes them now, the rest kept for the next round.  Below
 * the shell and the actions, which both use it.
 */
#include "gateway/monitor/monitor_int.h"

#include <errno.h>
#include <unistd.h>

int
mon_pipe_flush(struct mon_pipe *p, int fd)
{
	ssize_t n;

	n = write(fd, p->buf + p->off, p->len - p->off);
	if (n == -1)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	p->off += (size_t)n;
	if (p->off == p->len)
		p->off = p->len = 0;
	return 0;
}
