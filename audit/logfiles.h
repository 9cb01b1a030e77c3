/*
 * logfiles.h - the files one audit log is made of, and its lines read
 * across them in order.
 *
 * A log directory holds the live file, DIR/audit.log, and the parts
 * rotated out of it, DIR/audit-SEQ.log, SEQ being the seq of a part's
 * first line in 20 digits, so that names sort in chain order.  The chain
 * runs on from one file into the next: the first line of a file chains
 * to the last line of the file before it.
 */
#ifndef PH_AUDIT_LOGFILES_H
#define PH_AUDIT_LOGFILES_H

#include <stddef.h>
#include <stdint.h>

#define AUDIT_PART_PREFIX	"audit-"
#define AUDIT_PART_SUFFIX	".log"
#define AUDIT_PART_NAME_LEN	30	/* "audit-" 20 digits ".log" */
#define AUDIT_PARTS_MAX		1000000

struct audit_files {
	char		**path;		/* DIR/NAME, oldest first */
	uint64_t	 *first;	/* a part's seq; 0 for audit.log */
	size_t		  n;
	int		  live;		/* the last is audit.log */
};

/*
 * The parts of the log in dir, oldest first, then audit.log if it
 * exists.  Other files are not the log's and are left out.  0 (n may
 * be 0), or -1 with "DIR: reason".
 */
int	audit_files_list(const char *dir, struct audit_files *f, char *err,
	    size_t errlen);
void	audit_files_free(struct audit_files *f);
/* Write the name of the part whose first line is seq into buf. */
void	audit_part_name(uint64_t seq, char *buf, size_t len);

/*
 * Every complete line of the log, file after file.  A line cut short
 * at the end of a file (no newline: a crash while writing) is skipped.
 */
struct audit_lines;

int	audit_lines_open(const char *dir, struct audit_lines **out,
	    char *err, size_t errlen);
/*
 * The next line, without its newline and NUL-terminated, valid until the
 * next call; *path and *lineno say where it is.  1, 0 at the end, -1
 * with err when a file cannot be read.
 */
int	audit_lines_next(struct audit_lines *l, const char **line,
	    size_t *len, const char **path, uint64_t *lineno, char *err,
	    size_t errlen);
void	audit_lines_close(struct audit_lines *l);

#endif
