/*
 * verify.h - check an audit log the way an auditor needs: every line
 * well formed, seq counting up by one from 1, each prev the SHA-256 of
 * the line before.  A last line without its newline is a torn tail (a
 * crash while writing), reported but not counted as tampering.
 */
#ifndef PH_AUDIT_VERIFY_H
#define PH_AUDIT_VERIFY_H

#include <stddef.h>
#include <stdint.h>

struct audit_verify {
	uint64_t	 events;	/* complete lines checked */
	uint64_t	 seals;		/* seal lines among them */
	uint64_t	 unsealed;	/* events after the last seal */
	int		 keyed;		/* seal MACs were checked with a key */
	uint64_t	 bytes;
	int		 torn_tail;	/* bytes after the last newline */
	uint64_t	 bad_line;	/* first bad line (1-based), 0: none */
	char		 file[4200];	/* the file it is in */
	uint64_t	 files;		/* files checked */
	char		 reason[256];	/* why it is bad */
};

/*
 * Verify path.  Seal epochs must count up by one from 0; with
 * key0 (epoch 0's key, from `porthole audit init`) each seal's MAC is
 * checked with the key evolved to its epoch.  Returns 0 if everything
 * holds, 1 if not (bad_line and reason say where and why), -1 if the file
 * cannot be read (reason).  progress, if not NULL, is called now and then
 * with the bytes read so far.
 */
int	audit_verify_file(const char *path, const uint8_t *key0,
	    struct audit_verify *v, void (*progress)(uint64_t bytes, void *arg),
	    void *arg);
/*
 * The same for the whole log in dir (logfiles.h), file after file with
 * the chain, seqs and seal epochs running on: a part must be named for
 * the seq its first line has and end in a seal, and only the last file
 * may end in a torn line.  bad_line counts within v->file.  -1 also when
 * dir holds no log.
 */
int	audit_verify_dir(const char *dir, const uint8_t *key0,
	    struct audit_verify *v, void (*progress)(uint64_t bytes, void *arg),
	    void *arg);

/* What holding a log to the relay's anchors found. */
struct audit_anchors {
	uint64_t	matched;	/* anchors that hash to their lines */
	uint64_t	seals;		/* seals in the log */
	uint64_t	covered;	/* seals the relay has no head of, but of */
	char		covered_epochs[256];	/* ... a later seal: "3-4, 9" */
	uint64_t	tail;		/* seals after the last anchored one */
	char		tail_epochs[64];	/* their epochs */
	uint64_t	anchored_seq;	/* the last anchored seal's seq, or 0 */
};

/*
 * Hold the log to the seal heads the relay received as anchors
 * (`porthole-relay -f relay.conf anchors CLUSTER` prints them, one
 * "EPOCH SEQ HEAD" per line): the line at each anchored seq must hash
 * to its head.  A log that ends before an anchored seq was cut off
 * after it was sealed, the case a verifier cannot see on its own.
 * Returns 0 (and *r), 1 with why, -1 with why when a file cannot be
 * read.  Epoch lists in *r that do not fit end in "...".
 */
#define VERIFY_MAX_ANCHORS	10000000
int	audit_verify_anchors(const char *dir, const char *anchors_path,
	    struct audit_anchors *r, char *why, size_t whylen);

#endif
