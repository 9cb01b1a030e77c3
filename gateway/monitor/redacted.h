/*
 * redacted.h - what the monitor hands the session child instead of a
 * file's descriptor when [redact] covers the file: a copy of its bytes
 * with every match of every pattern starred (lib/redact.h).
 *
 * The copy is a sealed memory file (no one can write, grow or shrink
 * it once handed over) or, past REDACTED_MEM_MAX, an unnamed file in
 * state_dir opened read-only, so a large log costs disk, not memory;
 * one that state_dir has no room for is refused with the sizes.  Stars
 * are as long as what they hide, so the copy has the file's size and
 * an SFTP read at offset N sees byte N of the file, redacted.  A
 * compressed or binary file (redact_sniff) is refused: patterns cannot
 * see into it.
 *
 * The support shell's tail -f follows a file that grows: redacted_more
 * redacts what was added since, in whole lines only (a line being
 * written may hold the first half of a secret, which matches only
 * once its line is whole), from where the last whole line of the
 * previous copy ended.
 */
#ifndef PH_REDACTED_H
#define PH_REDACTED_H

#include <sys/stat.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lib/redact.h"

#define REDACTED_MEM_MAX	(64ULL * 1024 * 1024)	/* larger: on disk */
#define REDACTED_RESERVE	(64ULL * 1024 * 1024)	/* state_dir keeps */
#define REDACTED_MORE_MAX	(16ULL * 1024 * 1024)	/* read per look */

/* A redacted file as the monitor keeps it while it is open. */
struct redacted {
	struct redact_stream	*follow;	/* lines after lines_end */
	uint64_t		 read_to;	/* of the file, read so far */
	uint64_t		 lines_end;	/* the whole lines end here */
	uint64_t		 matches[REDACT_MAX_PATTERNS];
	uint64_t		 whole_lines;	/* starred whole */
};

/*
 * The redacted copy of the file open on fd (st: as it was opened,
 * path: for messages), tmpdir taking a copy too large for memory:
 * 0 with *copy and rd filled, or -1 with why.  The file is read up to
 * its size at open; if it changed meanwhile, its last line, which may
 * be cut, is starred whole.
 */
int	redacted_open(const struct redact *r, int fd, const struct stat *st,
	    const char *path, const char *tmpdir, int *copy,
	    struct redacted *rd, char *why, size_t whylen);
/*
 * What the file on fd gained since rd's last look, as whole redacted
 * lines: 1 with *copy holding them and *base the offset in the file
 * where they start; 0 when there is nothing new; -1 with why.
 * *truncated is set when the file shrank: it is read again from its
 * start (*base 0).
 */
int	redacted_more(const struct redact *r, int fd, const char *path,
	    const char *tmpdir, struct redacted *rd, int *copy,
	    uint64_t *base, int *truncated, char *why, size_t whylen);
/* Let go of what rd holds (the follow stream). */
void	redacted_clear(struct redacted *rd);
/* Every match and every line starred whole, so far. */
uint64_t redacted_total(const struct redact *r, const struct redacted *rd);
/*
 * The counts for the audit log, never the text: {"NAME": n, ...,
 * "whole_lines": n} for every pattern, or NULL when out of memory.
 */
json_t	*redacted_counts(const struct redact *r, const struct redacted *rd);

#endif
