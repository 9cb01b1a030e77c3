/*
 * filecheck.h - the file rules a daemon applies before it trusts a file
 * (sshd's StrictModes): who owns it and its directories up to /, who
 * may write or read it, whether it can run.  Each problem is printed as
 * one line that says how to fix it, and counted; the caller decides
 * once all are listed.
 *
 * The configuration-aware checks that use these live beside the
 * configurations: policy/policy_check.c and relay/relay_check.c.
 */
#ifndef PH_FILECHECK_H
#define PH_FILECHECK_H

#include <sys/types.h>
#include <stdio.h>

#define FILECHECK_DIRS_MAX	32

struct filecheck {
	FILE		*out;		/* one line per problem */
	uid_t		 uid;		/* may own files, besides root */
	unsigned int	 problems;
	struct {			/* directories reported, once each */
		dev_t	 dev;
		ino_t	 ino;
	}		 dirs[FILECHECK_DIRS_MAX];
	size_t		 ndirs;
};

enum filecheck_kind {
	FILECHECK_TRUSTED,	/* config, public key: nobody else may write */
	FILECHECK_SECRET,	/* private key: nobody else may read either */
	FILECHECK_PROGRAM	/* run by the daemon: trusted and executable */
};

/* Problems go to out; files may belong to root or to the caller. */
void	filecheck_init(struct filecheck *fc, FILE *out);

/* "uid N (NAME)", or "uid N" for a uid without an account, in buf. */
const char	*filecheck_owner_name(uid_t uid, char *buf, size_t len);

/* Print one problem line (a newline is added) and count it. */
void	filecheck_report(struct filecheck *fc, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * The file at path, of this kind: it exists and is a regular file
 * ("WHERE: PATH: No such file or directory"; where says who named it,
 * e.g. "FILE:LINE: [gateway] cluster_key"), it and every directory
 * searched to reach it (the name is resolved a component at a time:
 * those above the name as given, above each link met, however deep the
 * chain, and above the file) are owned by root or fc->uid and not
 * writable by group or others; a directory owned by root with the
 * sticky bit (/tmp) is accepted.
 * Those are "PATH: ...; chmod go-w PATH" lines, counted in
 * fc->problems.  Returns -1 if the file is not there to be read at all
 * (so the caller does not go on to read it), else 0.
 */
int	filecheck_path(struct filecheck *fc, const char *where,
	    const char *path, enum filecheck_kind kind);

/*
 * A key file: filecheck_path() (FILECHECK_SECRET for a private key),
 * then the kind of key it holds - a .pub named as a private key, a
 * private key named as a public one, a passphrase the daemon cannot
 * give, a certificate - and, if type is not NULL, its key type.
 */
int	filecheck_key(struct filecheck *fc, const char *where,
	    const char *path, int private_key, const char *type);

/*
 * A revocation list (revoked_keys): trusted as the configuration is
 * (whoever may write it may let a revoked engineer back in), and read
 * whole as the daemon will read it (lib/krl.h).  0, or -1 after
 * reporting.
 */
int	filecheck_revoked(struct filecheck *fc, const char *where,
	    const char *path);

/*
 * A path the daemon writes to and creates if missing (a directory if
 * dir, else a file): it is one already, owned by root or fc->uid and
 * not writable by group or others (the sticky bit does not excuse it
 * here), or its parent directory exists; either way every directory
 * searched to reach it (or to reach its parent, and the parent) passes
 * filecheck_path's rules.  0, or -1 after reporting what stops the
 * check; problems found are counted in fc->problems.
 */
int	filecheck_creatable(struct filecheck *fc, const char *where,
	    const char *path, int dir);

#endif
