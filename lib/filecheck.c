/*
 * filecheck.c - StrictModes for the daemons' files.
 *
 * A file the daemon trusts is only as safe as the directories above it:
 * whoever may write to /etc/porthole may replace porthole.conf, and with
 * it the argv root's monitor executes.  So the file and each directory
 * up to / must belong to root (or to the user the daemon runs as) and
 * be writable by nobody else.  A directory owned by root with the
 * sticky bit (/tmp) lets others create files but not replace ours, so
 * it passes.
 *
 * The name is resolved here one component at a time, as the kernel
 * resolves it, and every directory searched on the way is checked: the
 * directories of the name as given, those of every link met (and of a
 * link met inside a link's target), and those of the file reached.  A
 * directory that holds a link of a chain matters as much as one above
 * the file: whoever may write there may point the chain elsewhere.  The
 * check and the use are not atomic; it catches mistakes of set-up, not
 * a race by someone already able to write there.
 */
#include "lib/filecheck.h"
#include "lib/krl.h"
#include "lib/sshcert.h"

#include <sys/stat.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
filecheck_init(struct filecheck *fc, FILE *out)
{
	memset(fc, 0, sizeof(*fc));
	fc->out = out;
	fc->uid = geteuid();
}

void
filecheck_report(struct filecheck *fc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(fc->out, fmt, ap);
	va_end(ap);
	fputc('\n', fc->out);
	fc->problems++;
}

/* A directory is reported once, however many files lie beneath it. */
static int
already_reported(struct filecheck *fc, const struct stat *st)
{
	size_t i;

	for (i = 0; i < fc->ndirs; i++)
		if (fc->dirs[i].dev == st->st_dev &&
		    fc->dirs[i].ino == st->st_ino)
			return 1;
	if (fc->ndirs < FILECHECK_DIRS_MAX) {
		fc->dirs[fc->ndirs].dev = st->st_dev;
		fc->dirs[fc->ndirs].ino = st->st_ino;
		fc->ndirs++;
	}
	return 0;
}

const char *
filecheck_owner_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw;

	if ((pw = getpwuid(uid)) != NULL)
		snprintf(buf, len, "uid %lu (%s)", (unsigned long)uid,
		    pw->pw_name);
	else
		snprintf(buf, len, "uid %lu", (unsigned long)uid);
	return buf;
}

static int
owner_ok(const struct filecheck *fc, const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == fc->uid;
}

/* One directory above file: owner and write permission. */
static void
check_dir(struct filecheck *fc, const char *dir, const struct stat *st,
    const char *file)
{
	char who[128];

	if (!owner_ok(fc, st)) {
		if (!already_reported(fc, st))
			filecheck_report(fc, "%s: owned by %s, above %s; "
			    "chown root %s", dir, filecheck_owner_name(st->st_uid, who,
			    sizeof(who)), file, dir);
		return;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
	    !(st->st_uid == 0 && (st->st_mode & S_ISVTX) != 0) &&
	    !already_reported(fc, st))
		filecheck_report(fc, "%s: writable by group or others "
		    "(mode %04o), above %s; chmod go-w %s", dir,
		    (unsigned int)(st->st_mode & 07777), file, dir);
}

/* Links followed in one name, as Linux allows (MAXSYMLINKS). */
#define FILECHECK_LINKS_MAX	40

/* One name being resolved, a component at a time. */
struct walk {
	char		dir[PATH_MAX];	/* resolved so far: no links, no .. */
	struct stat	dst;		/* of dir */
	char		rest[PATH_MAX];	/* still to resolve */
	unsigned int	links;		/* followed so far */
};

/* dir becomes d ("/" or a path without links), and dst its lstat. */
static int
walk_set_dir(struct walk *w, const char *d)
{
	if ((size_t)snprintf(w->dir, sizeof(w->dir), "%s", d) >=
	    sizeof(w->dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return lstat(w->dir, &w->dst);
}

/* A link's target, then what followed the link in the name. */
static int
walk_link(struct walk *w, const char *link)
{
	char	target[PATH_MAX], rest[PATH_MAX];
	ssize_t	n;

	if (++w->links > FILECHECK_LINKS_MAX) {
		errno = ELOOP;
		return -1;
	}
	if ((n = readlink(link, target, sizeof(target) - 1)) == -1)
		return -1;
	target[n] = '\0';
	if ((size_t)snprintf(rest, sizeof(rest), "%s/%s", target, w->rest) >=
	    sizeof(rest)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(w->rest, rest, sizeof(rest));
	if (target[0] == '/')
		return walk_set_dir(w, "/");
	return 0;
}

/* Cut the first component of w->rest into comp; 1 if it was the last. */
static int
walk_next(struct walk *w, char *comp, size_t len)
{
	char	*p = w->rest, *slash;
	size_t	 n;

	while (*p == '/')
		p++;
	if ((slash = strchr(p, '/')) == NULL)
		n = strlen(p);
	else
		n = (size_t)(slash - p);
	if (n >= len)
		n = len - 1;
	memcpy(comp, p, n);
	comp[n] = '\0';
	p += n;
	while (*p == '/')
		p++;
	memmove(w->rest, p, strlen(p) + 1);
	return w->rest[0] == '\0';
}

/*
 * Resolve path a component at a time, checking (check_dir, problems
 * named "above file") every directory searched on the way.  0 with the
 * lstat of what the name ends at in *st, or -1 with errno and the name
 * that failed in failed.
 */
static int
walk_path(struct filecheck *fc, const char *path, const char *file,
    struct stat *st, char *failed, size_t flen)
{
	struct walk	 w;
	char		 comp[NAME_MAX + 1], next[PATH_MAX], *slash;
	int		 last;

	memset(&w, 0, sizeof(w));
	snprintf(failed, flen, "%s", path);
	if ((size_t)snprintf(w.rest, sizeof(w.rest), "%s", path) >=
	    sizeof(w.rest)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (path[0] == '/') {
		if (walk_set_dir(&w, "/") == -1)
			return -1;
	} else if (getcwd(next, sizeof(next)) == NULL ||
	    walk_set_dir(&w, next) == -1)
		return -1;
	for (;;) {
		last = walk_next(&w, comp, sizeof(comp));
		if (comp[0] == '\0' || strcmp(comp, ".") == 0) {
			if (!last)
				continue;
			*st = w.dst;	/* the name ends at a directory */
			return 0;
		}
		if (strcmp(comp, "..") == 0) {
			if ((slash = strrchr(w.dir, '/')) == w.dir)
				slash[1] = '\0';
			else
				*slash = '\0';
			if (lstat(w.dir, &w.dst) == -1)
				return -1;
			if (!last)
				continue;
			*st = w.dst;
			return 0;
		}
		/* The directory searched for the name: a link's too. */
		check_dir(fc, w.dir, &w.dst, file);
		if ((size_t)snprintf(next, sizeof(next), "%s/%s",
		    strcmp(w.dir, "/") == 0 ? "" : w.dir, comp) >=
		    sizeof(next)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		snprintf(failed, flen, "%s", next);
		if (lstat(next, st) == -1)
			return -1;
		if (S_ISLNK(st->st_mode)) {
			if (walk_link(&w, next) == -1)
				return -1;
			continue;
		}
		if (last)
			return 0;
		if (!S_ISDIR(st->st_mode)) {
			errno = ENOTDIR;
			return -1;
		}
		memcpy(w.dir, next, sizeof(next));
		w.dst = *st;
	}
}

/* The file itself, found (st) and a regular file. */
static void
check_file(struct filecheck *fc, const char *where, const char *path,
    const struct stat *st, enum filecheck_kind kind)
{
	char who[128];

	if (!owner_ok(fc, st))
		filecheck_report(fc, "%s: owned by %s; chown root %s", path,
		    filecheck_owner_name(st->st_uid, who, sizeof(who)), path);
	if (kind == FILECHECK_SECRET && (st->st_mode & 077) != 0)
		filecheck_report(fc, "%s: group or others may read it "
		    "(mode %04o); chmod 600 %s", path,
		    (unsigned int)(st->st_mode & 07777), path);
	else if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
		filecheck_report(fc, "%s: writable by group or others "
		    "(mode %04o); chmod go-w %s", path,
		    (unsigned int)(st->st_mode & 07777), path);
	if (kind == FILECHECK_PROGRAM &&
	    (st->st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0)
		filecheck_report(fc, "%s%s%s: not executable; chmod 755 %s",
		    where != NULL ? where : "", where != NULL ? ": " : "",
		    path, path);
}

int
filecheck_path(struct filecheck *fc, const char *where, const char *path,
    enum filecheck_kind kind)
{
	struct stat	 st, end;
	char		 failed[PATH_MAX];

	errno = 0;
	if (stat(path, &st) == -1 || !S_ISREG(st.st_mode)) {
		filecheck_report(fc, "%s%s%s: %s", where != NULL ? where : "",
		    where != NULL ? ": " : "", path, errno != 0 ?
		    strerror(errno) : "not a regular file");
		return -1;
	}
	check_file(fc, where, path, &st, kind);
	if (walk_path(fc, path, path, &end, failed, sizeof(failed)) == -1) {
		filecheck_report(fc, "%s: %s", failed, strerror(errno));
		return -1;
	}
	if (end.st_dev != st.st_dev || end.st_ino != st.st_ino) {
		/* Changed under the check: whoever did it may again. */
		filecheck_report(fc, "%s: replaced while it was checked",
		    path);
		return -1;
	}
	return 0;
}

int
filecheck_revoked(struct filecheck *fc, const char *where, const char *path)
{
	struct krl	*k;
	char		 err[1024];

	if (filecheck_path(fc, where, path, FILECHECK_TRUSTED) == -1)
		return -1;
	if (krl_load(path, &k, err, sizeof(err)) == -1) {
		filecheck_report(fc, "%s: %s", where, err);
		return -1;
	}
	krl_free(k);
	return 0;
}

int
filecheck_key(struct filecheck *fc, const char *where, const char *path,
    int private_key, const char *type)
{
	struct sshcert_keyfile	 kf;
	char			 err[1024];
	size_t			 n = strlen(path);
	int			 pub;

	/*
	 * The modes asked of a file follow what it holds: a .pub named
	 * where a private key belongs needs another name, not chmod 600.
	 */
	if (sshcert_read_keyfile(path, &kf, err, sizeof(err)) == -1) {
		if (filecheck_path(fc, where, path, private_key ?
		    FILECHECK_SECRET : FILECHECK_TRUSTED) == 0)
			filecheck_report(fc, "%s: %s", where, err);
		return -1;
	}
	pub = kf.kind == SSHCERT_KEY_PUBLIC || kf.kind == SSHCERT_KEY_CERT;
	if (filecheck_path(fc, where, path, pub ? FILECHECK_TRUSTED :
	    FILECHECK_SECRET) == -1)
		return -1;
	if (private_key && pub) {
		if (n > 4 && strcmp(path + n - 4, ".pub") == 0)
			filecheck_report(fc, "%s: %s is a public key; name the "
			    "private key, %.*s", where, path, (int)(n - 4),
			    path);
		else
			filecheck_report(fc, "%s: %s is a public key; name the "
			    "private key", where, path);
		return -1;
	}
	if (!private_key && !pub) {
		filecheck_report(fc, "%s: %s is a private key; name the public "
		    "key (%s.pub) and keep the private one off this machine "
		    "if it does not need it", where, path, path);
		return -1;
	}
	if (kf.kind == SSHCERT_KEY_CERT) {
		filecheck_report(fc, "%s: %s is a certificate, not a public "
		    "key", where, path);
		return -1;
	}
	if (kf.kind == SSHCERT_KEY_ENCRYPTED) {
		filecheck_report(fc, "%s: %s is protected by a passphrase, "
		    "which a daemon cannot type; ssh-keygen -p -N '' -f %s",
		    where, path, path);
		return -1;
	}
	/* A PEM private key does not say its type; libssh will. */
	if (type != NULL && kf.type[0] != '\0' &&
	    strcmp(kf.type, type) != 0) {
		filecheck_report(fc, "%s: %s is an %s key; %s is needed here "
		    "(ssh-keygen -t %s)", where, path, kf.type, type,
		    strncmp(type, "ssh-", 4) == 0 ? type + 4 : type);
		return -1;
	}
	return 0;
}

/*
 * What the daemon writes to, found (st): owned by root or fc->uid and
 * writable by nobody else.  A sticky bit does not help here: others
 * could still add files of their own beside the daemon's.
 */
static void
check_written(struct filecheck *fc, const char *where, const char *path,
    const struct stat *st)
{
	char who[128];

	if (!owner_ok(fc, st))
		filecheck_report(fc, "%s: %s: owned by %s; chown root %s",
		    where, path, filecheck_owner_name(st->st_uid, who, sizeof(who)),
		    path);
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
		filecheck_report(fc, "%s: %s: writable by group or others "
		    "(mode %04o); chmod go-w %s", where, path,
		    (unsigned int)(st->st_mode & 07777), path);
}

int
filecheck_creatable(struct filecheck *fc, const char *where,
    const char *path, int dir)
{
	struct stat	 st;
	char		 parent[PATH_MAX], failed[PATH_MAX], *slash;

	if (stat(path, &st) == 0) {
		if (!(dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode))) {
			filecheck_report(fc, "%s: %s exists and is not a %s; "
			    "move it away or name another path", where, path,
			    dir ? "directory" : "regular file");
			return -1;
		}
		if (walk_path(fc, path, path, &st, failed,
		    sizeof(failed)) == -1) {
			filecheck_report(fc, "%s: %s: %s", where, failed,
			    strerror(errno));
			return -1;
		}
		check_written(fc, where, path, &st);
		return 0;
	}
	if (errno != ENOENT) {
		filecheck_report(fc, "%s: %s: %s", where, path,
		    strerror(errno));
		return -1;
	}
	if ((size_t)snprintf(parent, sizeof(parent), "%s", path) >=
	    sizeof(parent) || (slash = strrchr(parent, '/')) == NULL) {
		filecheck_report(fc, "%s: %s: not an absolute path", where,
		    path);
		return -1;
	}
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	errno = 0;
	if (stat(parent, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* Made in parent: it and the directories above it count. */
		if (walk_path(fc, parent, path, &st, failed,
		    sizeof(failed)) == -1) {
			filecheck_report(fc, "%s: %s: %s", where, failed,
			    strerror(errno));
			return -1;
		}
		check_dir(fc, parent, &st, path);
		return 0;
	}
	if (errno == ENOENT)
		filecheck_report(fc, "%s: %s cannot be created: %s does not "
		    "exist; mkdir -p %s", where, path, parent, parent);
	else
		filecheck_report(fc, "%s: %s cannot be created: %s: %s",
		    where, path, parent, errno == 0 ? "not a directory" :
		    strerror(errno));
	return -1;
}
