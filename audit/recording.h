/*
 * recording.h - terminal recordings as the audit log vouches for them.
 *
 * The monitor writes each support shell's asciicast v2 file to
 * AUDIT_DIR/recordings/SESSION.cast and, when the shell ends, a
 * shell_closed event with the file's name, SHA-256 and size into the
 * chained log.  The log, once verified, therefore vouches for every
 * recording: these functions hold the files to it.
 */
#ifndef PH_AUDIT_RECORDING_H
#define PH_AUDIT_RECORDING_H

#include <stddef.h>
#include <stdint.h>

#define RECORDING_DIR	"recordings"

/* One recording as the log describes it. */
struct recording_ref {
	char		 session[65];
	char		 name[80];	/* SESSION.cast */
	char		 sha256[65];	/* hex */
	uint64_t	 bytes;
	uint64_t	 line;		/* the shell_closed event's seq */
};

/*
 * Find the recording of session in the log in dir: 0 with *ref, 1 if
 * the log names none, -1 with why if the log cannot be read.
 */
int	recording_find(const char *dir, const char *session,
	    struct recording_ref *ref, char *why, size_t whylen);

/* Does the file match?  0 yes, 1 no (why), -1 unreadable (why). */
int	recording_check(const char *audit_dir, const struct recording_ref *ref,
	    char *why, size_t whylen);

/*
 * Check every recording the log names: 0 if all match (*n of them), 1
 * at the first that does not, -1 if the log cannot be read (why).
 */
int	recording_verify_all(const char *audit_dir, uint64_t *n, char *why,
	    size_t whylen);

#endif
