/*
 * burst.c - repeated refusals counted, and summarised in one line per
 * burst (see burst.h).
 */
#include "lib/burst.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One kind of refusal and its burst. */
struct burst_kind {
	int		 used;
	char		 type[32];
	char		 reason[256];
	char		 who_field[16];
	char		 who[128];
	uint64_t	 period_ms;	/* when the current summary period began */
	uint64_t	 last_ms;	/* the latest refusal of this kind */
	uint64_t	 count;		/* counted, not written, this period */
	time_t		 first, last;
	int		 capped;	/* a source past its full lines */
};

/* A source and the full lines it was given this period. */
struct burst_source {
	int		 used;
	char		 addr[64];	/* longer ones are cut: they share */
	uint64_t	 period_ms;	/* when its period began */
	uint64_t	 last_ms;	/* its latest full line */
	unsigned	 full;		/* full lines this period */
};

struct burst {
	struct burst_kind	 kinds[BURST_KINDS];
	struct burst_source	 sources[BURST_SOURCES];
	uint64_t		 all_period_ms;	/* ... of all sources */
	unsigned		 all_full;
	burst_emit		 emit;
	void			*arg;
};

struct burst *
burst_new(burst_emit emit, void *arg)
{
	struct burst *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->emit = emit;
	b->arg = arg;
	return b;
}

void
burst_free(struct burst *b)
{
	free(b);
}

/*
 * Write the summary of what k counted, if anything, and start over;
 * ended: the kind is given up after this.
 */
static void
burst_summarise(struct burst *b, struct burst_kind *k, uint64_t now_ms,
    int ended)
{
	struct burst_summary sum;

	if (k->count > 0) {
		sum.type = k->type;
		sum.reason = k->capped ? BURST_CAPPED_REASON : k->reason;
		sum.capped = k->capped;
		sum.who_field = k->who_field;
		sum.who = k->who;
		sum.count = k->count;
		sum.first = k->first;
		sum.last = k->last;
		sum.ended = ended;
		b->emit(b->arg, &sum);
	}
	k->count = 0;
	k->period_ms = now_ms;
}

/* Is k the kind (type, reason, who)?  Text longer than a field never is. */
static int
burst_same(const struct burst_kind *k, const char *type, const char *reason,
    const char *who_field, const char *who, int capped)
{
	return k->used && k->capped == capped && strcmp(k->type, type) == 0 &&
	    strcmp(k->reason, reason) == 0 &&
	    strcmp(k->who_field, who_field) == 0 && strcmp(k->who, who) == 0;
}

/* A free kind, or the one quiet the longest, summarised to make room. */
static struct burst_kind *
burst_slot(struct burst *b, uint64_t now_ms)
{
	struct burst_kind	*k, *oldest = NULL;
	size_t			 i;

	for (i = 0; i < BURST_KINDS; i++) {
		k = &b->kinds[i];
		if (!k->used)
			return k;
		if (oldest == NULL || k->last_ms < oldest->last_ms)
			oldest = k;
	}
	burst_summarise(b, oldest, now_ms, 1);
	oldest->used = 0;
	return oldest;
}

/* The kind (type, reason, who), counting one more; NULL if none is. */
static struct burst_kind *
burst_count(struct burst *b, const char *type, const char *reason,
    const char *who_field, const char *who, int capped, uint64_t now_ms,
    time_t wall)
{
	struct burst_kind	*k;
	size_t			 i;

	for (i = 0; i < BURST_KINDS; i++) {
		k = &b->kinds[i];
		if (!burst_same(k, type, reason, who_field, who, capped))
			continue;
		if (k->count++ == 0)
			k->first = wall;
		k->last = wall;
		k->last_ms = now_ms;
		return k;
	}
	return NULL;
}

/* A new kind in k; 0, or -1 when its text does not fit. */
static int
burst_keep(struct burst_kind *k, const char *type, const char *reason,
    const char *who_field, const char *who, int capped, uint64_t now_ms)
{
	memset(k, 0, sizeof(*k));
	if ((size_t)snprintf(k->type, sizeof(k->type), "%s", type) >=
	    sizeof(k->type) ||
	    (size_t)snprintf(k->reason, sizeof(k->reason), "%s", reason) >=
	    sizeof(k->reason) ||
	    (size_t)snprintf(k->who_field, sizeof(k->who_field), "%s",
	    who_field) >= sizeof(k->who_field) ||
	    (size_t)snprintf(k->who, sizeof(k->who), "%s", who) >=
	    sizeof(k->who))
		return -1;
	k->used = 1;
	k->capped = capped;
	k->period_ms = k->last_ms = now_ms;
	return 0;
}

/* The entry of source, found or made (the one idle the longest goes). */
static struct burst_source *
burst_source(struct burst *b, const char *source, uint64_t now_ms)
{
	struct burst_source	*s, *take = NULL;
	char			 addr[sizeof(s->addr)];
	size_t			 i;

	snprintf(addr, sizeof(addr), "%s", source);
	for (i = 0; i < BURST_SOURCES; i++) {
		s = &b->sources[i];
		if (s->used && strcmp(s->addr, addr) == 0) {
			take = s;
			break;
		}
		if (take == NULL || !s->used || (take->used &&
		    s->last_ms < take->last_ms))
			take = s;
	}
	if (!take->used || strcmp(take->addr, addr) != 0) {
		memset(take, 0, sizeof(*take));
		take->used = 1;
		memcpy(take->addr, addr, sizeof(addr));
		take->period_ms = now_ms;
	}
	if (now_ms - take->period_ms >= BURST_EVERY_MS) {
		take->period_ms = now_ms;
		take->full = 0;
	}
	return take;
}

/*
 * May source have one more line in full now?  NULL if so (it is
 * counted); else whom the refusal is to be counted against: the source,
 * or BURST_ANY_SOURCE when all sources together had their lines.
 */
static const char *
burst_capped_by(struct burst *b, const char *source, uint64_t now_ms)
{
	struct burst_source *s;

	if (now_ms - b->all_period_ms >= BURST_EVERY_MS) {
		b->all_period_ms = now_ms;
		b->all_full = 0;
	}
	s = burst_source(b, source, now_ms);
	if (s->full >= BURST_SOURCE_FULL)
		return s->addr;		/* fits a kind's who */
	if (b->all_full >= BURST_ALL_FULL)
		return BURST_ANY_SOURCE;
	s->full++;
	s->last_ms = now_ms;
	b->all_full++;
	return NULL;
}

int
burst_note(struct burst *b, const char *type, const char *reason,
    const char *who_field, const char *who, const char *source,
    uint64_t now_ms, time_t wall)
{
	struct burst_kind	*k;
	const char		*cap;

	if (burst_count(b, type, reason, who_field, who, 0, now_ms,
	    wall) != NULL)
		return 0;
	/*
	 * The first of its kind, but its source had its lines in full:
	 * counted against the source, whatever the reason.
	 */
	if ((cap = burst_capped_by(b, source, now_ms)) != NULL) {
		if (burst_count(b, type, "", "from", cap, 1, now_ms,
		    wall) != NULL)
			return 0;
		k = burst_slot(b, now_ms);
		if (burst_keep(k, type, "", "from", cap, 1, now_ms) == 0) {
			k->count = 1;
			k->first = k->last = wall;
		}
		return 0;
	}
	/*
	 * A kind whose text does not fit is never found again: each of its
	 * refusals is written in full, within its source's lines.
	 */
	k = burst_slot(b, now_ms);
	(void)burst_keep(k, type, reason, who_field, who, 0, now_ms);
	return 1;
}

void
burst_tick(struct burst *b, uint64_t now_ms, int force)
{
	struct burst_kind	*k;
	size_t			 i;

	for (i = 0; i < BURST_KINDS; i++) {
		k = &b->kinds[i];
		if (!k->used)
			continue;
		if (force || now_ms - k->last_ms >= BURST_QUIET_MS) {
			burst_summarise(b, k, now_ms, 1);
			k->used = 0;
		} else if (now_ms - k->period_ms >= BURST_EVERY_MS)
			burst_summarise(b, k, now_ms, 0);
	}
}

int
burst_pending(const struct burst *b)
{
	size_t i;

	for (i = 0; i < BURST_KINDS; i++)
		if (b->kinds[i].used)
			return 1;
	return 0;
}
