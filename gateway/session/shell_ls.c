/*
 * shell_ls.c - ls in the support shell: a directory's entries gathered
 * from the monitor a batch at a time, sorted, and shown as ls -l shows
 * them, with dates worked out here (no time zone files in the sandbox).
 */
#include "gateway/session/shell_int.h"

#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A directory's entries, gathered so they can be sorted. */
struct shell_dir {
	struct access_dirent	 *ents;
	struct access_dirent	**order;
	size_t			  n;
	size_t			  cap;
	int			  truncated;
};

/*
 * Directories.
 */

/* "drwxr-xr-x" from st_mode. */
static void
shell_mode_string(uint32_t mode, char s[11])
{
	static const char	 rwx[] = "rwxrwxrwx";
	int			 i;

	s[0] = S_ISDIR(mode) ? 'd' : S_ISLNK(mode) ? 'l' :
	    S_ISCHR(mode) ? 'c' : S_ISBLK(mode) ? 'b' :
	    S_ISFIFO(mode) ? 'p' : S_ISSOCK(mode) ? 's' : '-';
	for (i = 0; i < 9; i++)
		s[i + 1] = mode & (0400u >> i) ? rwx[i] : '-';
	if (mode & S_ISUID)
		s[3] = s[3] == 'x' ? 's' : 'S';
	if (mode & S_ISGID)
		s[6] = s[6] == 'x' ? 's' : 'S';
	if (mode & S_ISVTX)
		s[9] = s[9] == 'x' ? 't' : 'T';
	s[10] = '\0';
}

static int
shell_leap(unsigned int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/*
 * "2026-11-25 10:00" in UTC, counted by hand: gmtime_r would read
 * /etc/localtime on first use, which the sandbox refuses.
 */
static void
shell_date(uint32_t t, char *buf, size_t len)
{
	static const unsigned char	mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	uint32_t			days = t / 86400, secs = t % 86400;
	unsigned int			y = 1970, m = 0, n;

	while (days >= (n = 365u + (unsigned int)shell_leap(y))) {
		days -= n;
		y++;
	}
	while (days >= (n = mdays[m] + (m == 1 && shell_leap(y)))) {
		days -= n;
		m++;
	}
	snprintf(buf, len, "%04u-%02u-%02u %02u:%02u", y, m + 1,
	    (unsigned int)days + 1, (unsigned int)(secs / 3600),
	    (unsigned int)(secs % 3600 / 60));
}

static int
shell_ls_line(struct shell *sh, const char *name,
    const struct access_attr *a)
{
	char	mode[11], date[32];

	shell_mode_string(a->mode, mode);
	shell_date(a->mtime, date, sizeof(date));
	return shell_printf(sh, "%s %10llu  %s  %s\n", mode,
	    (unsigned long long)a->size, date, name);
}

/*
 * Sort by name.  A heapsort, not qsort: glibc's qsort asks sysinfo(2)
 * for the memory size before sorting anything large, and the sandbox
 * kills the process on that call.
 */
static void
shell_sift(struct access_dirent **v, size_t root, size_t n)
{
	struct access_dirent	*t;
	size_t			 child;

	while ((child = 2 * root + 1) < n) {
		if (child + 1 < n &&
		    strcmp(v[child]->name, v[child + 1]->name) < 0)
			child++;
		if (strcmp(v[root]->name, v[child]->name) >= 0)
			return;
		t = v[root];
		v[root] = v[child];
		v[child] = t;
		root = child;
	}
}

static void
shell_sort(struct access_dirent **v, size_t n)
{
	struct access_dirent	*t;
	size_t			 i;

	for (i = n / 2; i-- > 0; )
		shell_sift(v, i, n);
	for (i = n; i-- > 1; ) {
		t = v[0];
		v[0] = v[i];
		v[i] = t;
		shell_sift(v, 0, i);
	}
}

/* Make room for one more batch; 0 when memory ran out. */
static int
shell_dir_grow(struct shell_dir *d)
{
	struct access_dirent	*p;
	size_t			 cap;

	if (d->cap - d->n >= SHELL_LS_BATCH)
		return 1;
	cap = d->cap + 16 * SHELL_LS_BATCH;
	if ((p = realloc(d->ents, cap * sizeof(*p))) == NULL)
		return 0;
	d->ents = p;
	d->cap = cap;
	return 1;
}

/* Gather up to SHELL_LS_MAX entries of path: 1, 0 refused (said), -1. */
static int
shell_dir_read(struct shell *sh, const char *path, struct shell_dir *d)
{
	char		why[ACCESS_WHY_MAX] = "";
	uint32_t	cookie = 0;
	size_t		got, max, i;
	int		eof = 0, rc;

	while (!eof) {
		if (d->n == SHELL_LS_MAX) {
			d->truncated = 1;
			break;
		}
		if (!shell_dir_grow(d))
			return shell_say(sh, "out of memory") == -1 ? -1 : 0;
		max = SHELL_LS_MAX - d->n < SHELL_LS_BATCH ?
		    SHELL_LS_MAX - d->n : SHELL_LS_BATCH;
		got = 0;
		rc = sh->ops->list_dir(sh->ops->arg, path, &cookie,
		    d->ents + d->n, max, &got, &eof, why, sizeof(why));
		if (rc == 0)
			return shell_refused(sh, why) == -1 ? -1 : 0;
		if (rc != 1)
			return -1;
		if (got > max)
			got = max;
		for (i = d->n; i < d->n + got; i++)
			d->ents[i].name[ACCESS_NAME_MAX] = '\0';
		d->n += got;
		if (got == 0)
			break;		/* no progress: do not spin */
	}
	return 1;
}

static int
shell_dir_print(struct shell *sh, const char *path, struct shell_dir *d)
{
	size_t	i;

	if (d->n > 0 &&
	    (d->order = calloc(d->n, sizeof(*d->order))) == NULL)
		return shell_say(sh, "out of memory");
	for (i = 0; i < d->n; i++)
		d->order[i] = &d->ents[i];
	shell_sort(d->order, d->n);
	for (i = 0; i < d->n && !shell_interrupted(sh); i++)
		if (shell_ls_line(sh, d->order[i]->name,
		    &d->order[i]->attr) == -1)
			return -1;
	if (d->truncated)
		return shell_say(sh, "%s: only the first %d entries are shown",
		    path, SHELL_LS_MAX);
	return SHELL_NEXT;
}

static int
shell_ls_dir(struct shell *sh, const char *path)
{
	struct shell_dir	d;
	int			rc;

	memset(&d, 0, sizeof(d));
	if ((rc = shell_dir_read(sh, path, &d)) == 1)
		rc = shell_dir_print(sh, path, &d);
	free(d.order);
	free(d.ents);
	return rc == -1 ? -1 : SHELL_NEXT;
}

int
shell_ls(struct shell *sh, int argc, char **argv)
{
	char			path[ACCESS_PATH_MAX + 1];
	struct access_attr	attr;
	int			rc;

	if (argc > 2)
		return shell_usage(sh);
	if ((rc = shell_stat(sh, argc == 2 ? argv[1] : ".", path, &attr)) != 1)
		return rc;
	if (S_ISDIR(attr.mode))
		return shell_ls_dir(sh, path);
	return shell_ls_line(sh, argc == 2 ? argv[1] : path, &attr);
}
