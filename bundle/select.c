/*
 * select.c - which files a support bundle holds: every regular file a
 * [bundle] paths glob covers, beneath the [files] root its base lies
 * in, found by walking the disk from that base with the monitor's own
 * rules (lib/beneath.h for the disk, policy_file_reachable for the deny
 * globs).  What those rules hide from an engineer's listing is neither
 * taken nor named here: denied names and entries that are not served
 * (links, devices, FIFOs, hard-linked files, mount points, names that
 * are not UTF-8) are only counted.
 */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle/bundle_int.h"
#include "lib/beneath.h"
#include "lib/parse.h"
#include "policy/policy.h"

#define DIR_MAX		100000		/* entries read from one directory */
#define WHY_MAX		512

static int
add_file(struct bundle_build *b, const char *path, const struct stat *st)
{
	struct bundle_file *grown;

	if (b->nfiles == b->capfiles) {
		b->capfiles = b->capfiles == 0 ? 64 : b->capfiles * 2;
		if ((grown = reallocarray(b->files, b->capfiles,
		    sizeof(*grown))) == NULL)
			return -1;
		b->files = grown;
	}
	if ((b->files[b->nfiles].path = strdup(path)) == NULL)
		return -1;
	b->files[b->nfiles++].st = *st;
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * The names in directory dir (resolved beneath root), sorted, so that
 * a bundle of the same files is the same bundle.  0, or -1 with why.
 */
static int
read_names(const char *root, const char *rest, const char *dir, dev_t *dev,
    int *dfd, char ***out, size_t *nout, char *why, size_t whylen)
{
	struct beneath	 bn;
	struct dirent	*de;
	struct stat	 st;
	DIR		*d = NULL;
	char		**names = NULL, **grown;
	size_t		 n = 0, cap = 0;
	int		 fd = -1, rc = -1;

	if (beneath_resolve(root, rest, dir, &bn, why, whylen) == -1)
		return -1;
	if ((fd = beneath_reopen(&bn, O_RDONLY | O_DIRECTORY, dir, &st, why,
	    whylen)) == -1)
		goto out;
	if ((d = fdopendir(fd)) == NULL) {
		snprintf(why, whylen, "reading %s: %s", dir, strerror(errno));
		goto out;
	}
	for (errno = 0; (de = readdir(d)) != NULL; errno = 0) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == DIR_MAX) {
			snprintf(why, whylen, "%s holds more than %d entries",
			    dir, DIR_MAX);
			goto out;
		}
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if ((grown = reallocarray(names, cap,
			    sizeof(*grown))) == NULL)
				goto nomem;
			names = grown;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			goto nomem;
		n++;
	}
	if (errno != 0) {
		snprintf(why, whylen, "reading %s: %s", dir, strerror(errno));
		goto out;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	/* The directory stays open for fstatat on its entries. */
	if ((*dfd = dup(dirfd(d))) == -1) {
		snprintf(why, whylen, "reading %s: %s", dir, strerror(errno));
		goto out;
	}
	*dev = st.st_dev;
	*out = names;
	*nout = n;
	names = NULL;
	n = 0;
	rc = 0;
	goto out;
nomem:
	snprintf(why, whylen, "reading %s: out of memory", dir);
out:
	names_free(names, n);
	if (d != NULL)
		closedir(d);
	else if (fd != -1)
		close(fd);
	beneath_close(&bn);
	return rc;
}

/* path relative to root, "." for the root itself. */
static const char *
rel(const char *root, const char *path)
{
	size_t n = strlen(root);

	if (n == 1)
		return path[1] == '\0' ? "." : path + 1;
	return path[n] == '\0' ? "." : path + n + 1;
}

static int walk(struct bundle_build *, const char *, const char *,
    const char *, int);

/* One entry of a directory being walked. */
static int
walk_entry(struct bundle_build *b, const char *glob, const char *root,
    int dirfd, dev_t dev, const char *child, const char *name, int depth)
{
	const struct policy	*pol = b->req->pol;
	struct stat		 st;
	char			 why[WHY_MAX];
	int			 covered = policy_glob_covers(glob, child);

	if (!covered && !policy_glob_reaches(glob, child))
		return 0;
	if (!parse_utf8(name, strlen(name)) ||
	    strlen(child) > POLICY_PATH_MAX) {
		b->not_served += covered;
		return 0;
	}
	if (!policy_file_reachable(pol, child, why, sizeof(why))) {
		b->denied += covered;
		return 0;
	}
	if (beneath_entry(dirfd, name, dev, child, &st, why,
	    sizeof(why)) == -1) {
		b->not_served += covered;
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		if (depth < BUNDLE_MAX_DEPTH)
			return walk(b, glob, root, child, depth + 1);
		bundle_left_out(b, child, "more than %d directories below "
		    "the glob's base", BUNDLE_MAX_DEPTH);
		return 0;
	}
	if (!covered)
		return 0;
	if (b->nfiles == BUNDLE_MAX_FILES) {
		b->truncated = 1;
		bundle_left_out(b, child, "more than %d files",
		    BUNDLE_MAX_FILES);
		return 0;
	}
	return add_file(b, child, &st);
}

/* Walk directory dir for glob.  -1 only when memory ran out. */
static int
walk(struct bundle_build *b, const char *glob, const char *root,
    const char *dir, int depth)
{
	char	**names = NULL, child[POLICY_PATH_MAX + 2], why[WHY_MAX];
	size_t	  n = 0, i;
	dev_t	  dev = 0;
	int	  dirfd = -1, rc = 0, w;

	if (bundle_late(b)) {
		bundle_left_out(b, dir, "the time limit was reached before it "
		    "was read");
		return 0;
	}
	if (read_names(root, rel(root, dir), dir, &dev, &dirfd, &names, &n,
	    why, sizeof(why)) == -1) {
		bundle_left_out(b, dir, "%s", why);
		return 0;
	}
	for (i = 0; i < n && rc == 0 && !bundle_late(b); i++) {
		w = snprintf(child, sizeof(child), "%s/%s",
		    strcmp(dir, "/") == 0 ? "" : dir, names[i]);
		if (w < 0 || (size_t)w >= sizeof(child)) {
			b->not_served += policy_glob_covers(glob, dir);
			continue;
		}
		rc = walk_entry(b, glob, root, dirfd, dev, child, names[i],
		    depth);
	}
	close(dirfd);
	names_free(names, n);
	return rc;
}

/* One glob: from its base, a file or a directory. */
static int
select_glob(struct bundle_build *b, const char *glob)
{
	const struct policy	*pol = b->req->pol;
	struct beneath		 bn;
	char			 base[POLICY_PATH_MAX + 1];
	char			 root[POLICY_PATH_MAX + 1], why[WHY_MAX];
	int			 rc = 0;

	/* The loader made sure the base lies beneath a root. */
	if (policy_glob_base(glob, base, sizeof(base)) == -1 ||
	    policy_file_root(pol, base, 1, root, sizeof(root)) == -1) {
		bundle_left_out(b, glob, "not beneath a [files] paths root");
		return 0;
	}
	if (!policy_file_reachable(pol, base, why, sizeof(why))) {
		bundle_left_out(b, base, "%s", why);
		return 0;
	}
	if (beneath_resolve(root, rel(root, base), base, &bn, why,
	    sizeof(why)) == -1) {
		bundle_left_out(b, base, "%s", why);
		return 0;
	}
	if (S_ISDIR(bn.st.st_mode))
		rc = walk(b, glob, root, base, 0);
	else if (policy_glob_covers(glob, base))
		rc = add_file(b, base, &bn.st);
	beneath_close(&bn);
	return rc;
}

static int
path_cmp(const void *a, const void *b)
{
	const struct bundle_file *x = a, *y = b;

	return strcmp(x->path, y->path);
}

/* Newest first; the same time by path, so the order is stable. */
static int
time_cmp(const void *a, const void *b)
{
	const struct bundle_file *x = a, *y = b;

	if (x->st.st_mtim.tv_sec != y->st.st_mtim.tv_sec)
		return x->st.st_mtim.tv_sec < y->st.st_mtim.tv_sec ? 1 : -1;
	if (x->st.st_mtim.tv_nsec != y->st.st_mtim.tv_nsec)
		return x->st.st_mtim.tv_nsec < y->st.st_mtim.tv_nsec ? 1 : -1;
	return strcmp(x->path, y->path);
}

int
bundle_select(struct bundle_build *b)
{
	const struct policy	*pol = b->req->pol;
	char			 since[32];
	time_t			 cutoff;
	size_t			 i, kept = 0;

	for (i = 0; i < pol->nbundle_paths; i++)
		if (select_glob(b, pol->bundle_paths[i]) == -1)
			return -1;
	/* Two globs may cover one file: it goes in once. */
	if (b->nfiles > 0)
		qsort(b->files, b->nfiles, sizeof(*b->files), path_cmp);
	cutoff = b->req->now - (time_t)pol->bundle_since;
	parse_format_duration(pol->bundle_since, since, sizeof(since));
	for (i = 0; i < b->nfiles; i++) {
		if (kept > 0 && strcmp(b->files[kept - 1].path,
		    b->files[i].path) == 0) {
			free(b->files[i].path);
			continue;
		}
		if (b->files[i].st.st_mtime < cutoff) {
			bundle_left_out(b, b->files[i].path, "last changed "
			    "before since (%s)", since);
			free(b->files[i].path);
			continue;
		}
		b->files[kept++] = b->files[i];
	}
	b->nfiles = kept;
	if (b->nfiles > 0)
		qsort(b->files, b->nfiles, sizeof(*b->files), time_cmp);
	return b->nomem ? -1 : 0;
}
