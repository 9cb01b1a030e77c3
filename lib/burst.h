/*
 * burst.h - repeated refusals summarised: the gateway's audit log, the
 * relay's log.
 *
 * Someone who cannot log in and keeps trying - a script, a client left
 * retrying, a vendor engineer the customer never listed - must not write
 * a line per attempt: at a few hundred attempts a second the log would
 * grow by megabytes a minute and bury everything else.  The first refusal
 * of each kind (the caller says what makes one: the same event, reason
 * and engineer or source, say) is written in full; the ones after it are
 * counted, and one summary line gives the count when the burst ends
 * (nothing of that kind for BURST_QUIET_MS) or every BURST_EVERY_MS while
 * it lasts.  The counts live in memory until their summary is written: a
 * daemon that crashes loses them, one that stops writes them first.
 *
 * Whoever chooses what makes a kind new (a user name, a principal in a
 * certificate nobody has verified, a reason with their text in it) would
 * get a full line for each: so each source (the address a refusal came
 * from) has at most BURST_SOURCE_FULL full lines per BURST_EVERY_MS, and
 * all sources together BURST_ALL_FULL.  Past them a refusal is counted
 * against its source alone (or against every source, past the second),
 * whatever its reason, and summarised with BURST_CAPPED_REASON.
 *
 * Time is given, never read (clock_mono_ms, clock_now): the owner ticks
 * it from its own loop, and a test moves it.
 */
#ifndef PH_BURST_H
#define PH_BURST_H

#include <stdint.h>
#include <time.h>

#define BURST_QUIET_MS	5000	/* a burst ends after this long without one */
#define BURST_EVERY_MS	60000	/* a long burst is summarised this often */
#define BURST_KINDS	64	/* kinds followed at once */
#define BURST_SOURCES	64	/* sources followed at once */
#define BURST_SOURCE_FULL 8	/* full lines a source gets a period */
#define BURST_ALL_FULL	128	/* full lines all sources get a period */
#define BURST_ANY_SOURCE "*"	/* the source of what passed BURST_ALL_FULL */
#define BURST_CAPPED_REASON "various (more refusals from there than are " \
	"written in full)"

/* One summary line's worth. */
struct burst_summary {
	const char	*type;		/* the refusal event, "auth_refused" */
	const char	*reason;
	const char	*who_field;	/* "principal" or "from" */
	const char	*who;
	int		 capped;	/* past a source's full lines: reason is
					   BURST_CAPPED_REASON, who the source */
	uint64_t	 count;		/* refusals not written in full */
	time_t		 first, last;	/* the first and last of them */
	int		 ended;		/* the burst is over (else it goes on) */
};

struct burst;
typedef void	(*burst_emit)(void *arg, const struct burst_summary *);

struct burst	*burst_new(burst_emit emit, void *arg);
/* Free without writing what is pending (burst_tick with force first). */
void		 burst_free(struct burst *);
/*
 * A refusal from source (an address) happened at now_ms (clock_mono_ms)
 * and wall (clock_now).  Returns 1 when it is to be written in full, 0
 * when it was counted.  With every kind in use, the one quiet the
 * longest is summarised now to make room.
 */
int		 burst_note(struct burst *, const char *type,
		    const char *reason, const char *who_field,
		    const char *who, const char *source, uint64_t now_ms,
		    time_t wall);
/* Summarise what is due at now_ms; everything pending if force. */
void		 burst_tick(struct burst *, uint64_t now_ms, int force);
/* Is a burst under way (something for burst_tick to do later)?  1 or 0. */
int		 burst_pending(const struct burst *);

#endif
