/*
 * broker_state.c - a session's phase, which only gs_set_state() changes,
 * its end (the broker asks the monitor, and insists when it must), and
 * the one-byte answers to its monitor.
 */
#include "gateway/broker_int.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <assert.h>

#include "lib/clock.h"
#include "lib/log.h"

#define BROKER_END_GRACE_MS	5000	/* a monitor asked to end has this long */

static const char *const gs_state_names[BM_NPHASE] = {
	[BM_PH_LOGIN] =		"login",
	[BM_PH_SLOTTED] =	"slotted",
	[BM_PH_PENDING] =	"pending",
	[BM_PH_ACTIVE] =	"active",
	[BM_PH_CLOSED] =	"closed",
};

/* The phases each phase may move to. */
static const int gs_next[BM_NPHASE] = {
	[BM_PH_LOGIN] =		BM_IN(BM_PH_SLOTTED) | BM_IN(BM_PH_CLOSED),
	[BM_PH_SLOTTED] =	BM_IN(BM_PH_PENDING) | BM_IN(BM_PH_ACTIVE) |
				BM_IN(BM_PH_CLOSED),
	[BM_PH_PENDING] =	BM_IN(BM_PH_SLOTTED) | BM_IN(BM_PH_CLOSED),
	[BM_PH_ACTIVE] =	BM_IN(BM_PH_CLOSED),
	[BM_PH_CLOSED] =	0,
};

/* Does the session hold one of max_sessions' slots? */
int
gs_slotted(const struct gsess *gs)
{
	return gs->state == BM_PH_SLOTTED || gs->state == BM_PH_PENDING ||
	    gs->state == BM_PH_ACTIVE;
}

/*
 * Every change of a session's phase goes through here: it is logged,
 * a change the protocol does not have is a bug, and the count of
 * max_sessions' slots in use follows.
 */
void
gs_set_state(struct gsess *gs, enum bm_phase st)
{
	assert(gs_next[gs->state] & BM_IN(st));
	log_debug("session %s: %s -> %s", gs->id, gs_state_names[gs->state],
	    gs_state_names[st]);
	if (gs->state == BM_PH_LOGIN && st == BM_PH_SLOTTED)
		gs->b->nslots++;
	if (gs_slotted(gs) && st == BM_PH_CLOSED)
		gs->b->nslots--;
	gs->state = st;
}

/* Ask a session's monitor to end it, saying why (BM_END_*). */
void
gs_end(struct gsess *gs, int why)
{
	union sigval v;

	if (gs->pid <= 0)
		return;
	v.sival_int = why;
	if (sigqueue(gs->pid, SIGTERM, v) == -1)
		kill(gs->pid, SIGTERM);
	if (gs->end_asked == 0)
		gs->end_asked = clock_mono_ms();
}

/*
 * A monitor has a few seconds to say goodbye and end; one that does not
 * (stuck, or misled by its child) is killed with its process group.
 */
void
gs_end_overdue(struct gsess *gs, uint64_t now)
{
	if (gs->pid <= 0 || gs->end_asked == 0 ||
	    now - gs->end_asked < BROKER_END_GRACE_MS)
		return;
	log_warn("session %s: its monitor did not end in time; killing it",
	    gs->id);
	kill(gs->pid, SIGKILL);
	gs->end_asked = now;	/* again in a while if need be */
}

void
broker_flush(struct broker *b)
{
	if (b->flush != NULL)
		b->flush(b->flush_arg);
}

/* Answer the monitor with one byte (enum bm_answer); one gone is killed. */
void
gs_answer(struct gsess *gs, enum bm_answer ans)
{
	gs_answer_note(gs, ans, NULL);
}

/* The same, with a line for the engineer after the byte (BM_NOTE_MAX). */
void
gs_answer_note(struct gsess *gs, enum bm_answer ans, const char *note)
{
	char	buf[1 + BM_NOTE_MAX];
	size_t	n = 1;

	buf[0] = (char)ans;
	if (note != NULL) {
		n += strnlen(note, BM_NOTE_MAX);
		memcpy(buf + 1, note, n - 1);
	}
	if (send(gs->audit_fd, buf, n, MSG_NOSIGNAL) != (ssize_t)n &&
	    gs->pid > 0)
		kill(gs->pid, SIGKILL);
}
