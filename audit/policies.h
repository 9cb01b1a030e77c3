/*
 * policies.h - the policy on the record.
 *
 * At start and at each reload the gateway keeps the effective policy
 * (the text `porthole policy show` prints, from which every session's
 * monitor reads its own copy) as AUDIT_DIR/policies/SHA256.conf, named
 * by its SHA-256, read-only, written before the policy_loaded event
 * that names it enters the chained log.  The log then vouches for every
 * kept policy as it vouches for recordings, and an auditor can say
 * which grants were in force when a session ran.
 */
#ifndef PH_AUDIT_POLICIES_H
#define PH_AUDIT_POLICIES_H

#include <stddef.h>
#include <stdint.h>

#define POLICIES_DIR	"policies"
#define POLICIES_MAX	(1024 * 1024)	/* bytes of a kept policy */

/*
 * Keep text (len bytes) under audit_dir, its SHA-256 in sha (hex): a
 * file already there with that name is left as it is when it holds the
 * same text.  0, or -1 with "PATH: reason" in err.
 */
int	policies_keep(const char *audit_dir, const char *text, size_t len,
	    char sha[65], char *err, size_t errlen);

/*
 * The kept policy named sha, checked against its name: 0 with it in
 * *text (free it) and its length, 1 with why when it does not match
 * (tampering) or is missing, -1 with why when it cannot be read.
 */
int	policies_read(const char *audit_dir, const char *sha, char **text,
	    size_t *len, char *why, size_t whylen);

/*
 * Every policy the log in audit_dir names (policy_loaded) is kept and
 * matches its name, and so does every file kept: 0 (*n: how many
 * files), 1 at the first that does not (why), -1 if something cannot
 * be read (why).
 */
int	policies_verify_all(const char *audit_dir, uint64_t *n, char *why,
	    size_t whylen);

#endif
