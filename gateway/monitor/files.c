/*
 * files.c - the monitor's read-only file access on behalf of the SFTP
 * server and the support shell.
 *
 * A request passes two gates.  The first is lexical and pure
 * (policy_allow_file): [files] enabled, an absolute normalised path
 * beneath a root, no component matching a deny glob.  The second is on disk
 * (lib/beneath.h): the path is resolved from the root's descriptor with
 * openat2(), which refuses to leave the root or to follow any link, and
 * the result is inspected through an O_PATH descriptor before anything
 * is opened for reading.  The lexical gate alone would be fooled by a
 * symbolic link; the disk gate alone would not know the deny globs.
 */
#include "gateway/monitor/files.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/beneath.h"
#include "lib/parse.h"

#define FILES_LIST_MAX	100000	/* entries kept from a directory */

/* One directory entry kept for a listing. */
struct files_ent {
	char			*name;
	struct access_attr	 attr;
};

/*
 * The policy's gate, and where the disk's begins: the longest root
 * holding path into root, and the rest of path beneath it ("." for the
 * root itself).  The rest, or NULL with why.
 */
static const char *
files_gate(const struct policy *pol, const char *path, char *root,
    size_t rootlen, char *why, size_t whylen)
{
	int rest;

	if (!policy_allow_file(pol, path, why, whylen))
		return NULL;
	if ((rest = policy_file_root(pol, path, 1, root, rootlen)) == -1) {
		snprintf(why, whylen, "%s is outside the product's file paths",
		    path);
		return NULL;
	}
	return path[rest] == '\0' ? "." : path + rest;
}

/* Both gates (lib/beneath.h): 0 with b filled, or -1 with why. */
static int
files_resolve(const struct policy *pol, const char *path,
    struct beneath *b, char *root, size_t rootlen, char *why, size_t whylen)
{
	const char *rest;

	b->root = b->fd = -1;
	if ((rest = files_gate(pol, path, root, rootlen, why, whylen)) == NULL)
		return -1;
	return beneath_resolve(root, rest, path, b, why, whylen);
}

int
files_open(const struct policy *pol, const char *path, int *fd,
    struct stat *st, char *why, size_t whylen)
{
	const char	*rest;
	char		 root[ACCESS_PATH_MAX + 1];

	if ((rest = files_gate(pol, path, root, sizeof(root), why,
	    whylen)) == NULL)
		return -1;
	return beneath_open_file(root, rest, path, fd, st, why, whylen);
}

int
files_stat(const struct policy *pol, const char *path, struct stat *st,
    char *why, size_t whylen)
{
	struct beneath	b;
	char		root[ACCESS_PATH_MAX + 1];

	if (files_resolve(pol, path, &b, root, sizeof(root), why,
	    whylen) == -1)
		return -1;
	*st = b.st;
	beneath_close(&b);
	return 0;
}

/* SFTP carries 32-bit times and counts: clamp rather than wrap. */
static uint32_t
files_u32(int64_t v)
{
	if (v < 0)
		return 0;
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

void
files_attr(const struct stat *st, struct access_attr *attr)
{
	memset(attr, 0, sizeof(*attr));
	attr->size = st->st_size < 0 ? 0 : (uint64_t)st->st_size;
	attr->uid = (uint32_t)st->st_uid;
	attr->gid = (uint32_t)st->st_gid;
	attr->mode = (uint32_t)st->st_mode;
	attr->atime = files_u32((int64_t)st->st_atime);
	attr->mtime = files_u32((int64_t)st->st_mtime);
	attr->nlink = files_u32((int64_t)st->st_nlink);
}

static void
files_ents_free(struct files_ent *ents, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(ents[i].name);
	free(ents);
}

static int
files_ent_cmp(const void *a, const void *b)
{
	const struct files_ent *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/*
 * Is s valid UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF)?  Requests reach the monitor as JSON strings, so a name
 * that is not could never be asked for, nor sent back in a listing.
 */
static int
files_utf8(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 cp, min;
	int			 more, i;

	while (*p != '\0') {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			more = 1, cp = *p & 0x1f, min = 0x80;
		} else if ((*p & 0xf0) == 0xe0) {
			more = 2, cp = *p & 0x0f, min = 0x800;
		} else if ((*p & 0xf8) == 0xf0) {
			more = 3, cp = *p & 0x07, min = 0x10000;
		} else
			return 0;
		for (i = 1; i <= more; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += more + 1;
	}
	return 1;
}

/*
 * Would the entry name of directory dir (at path, on device dev) be
 * served?  The same rules as a request for it: not denied, a regular
 * file with one name or a directory, and not a mount point (which
 * RESOLVE_NO_XDEV would refuse anyway).  Fills attr when it would.
 */
static int
files_entry_ok(const struct policy *pol, int dir, const char *path,
    dev_t dev, const char *name, struct access_attr *attr)
{
	char		child[ACCESS_PATH_MAX + 2], why[ACCESS_WHY_MAX];
	struct stat	st;
	int		w;

	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strlen(name) > ACCESS_NAME_MAX || !files_utf8(name))
		return 0;
	w = snprintf(child, sizeof(child), "%s/%s",
	    strcmp(path, "/") == 0 ? "" : path, name);
	if (w < 0 || (size_t)w >= sizeof(child))
		return 0;
	/* A name no request could spell is left out too. */
	if (!policy_allow_file(pol, child, why, sizeof(why)))
		return 0;
	if (beneath_entry(dir, name, dev, child, &st, why, sizeof(why)) == -1)
		return 0;
	files_attr(&st, attr);
	return 1;
}

/* Read every servable entry of d into *out, at most FILES_LIST_MAX. */
static int
files_collect(const struct policy *pol, DIR *d, const char *path,
    dev_t dev, struct files_ent **out, size_t *nout, char *why,
    size_t whylen)
{
	struct files_ent	*ents = NULL, *grown;
	struct dirent		*de;
	struct access_attr	 attr;
	size_t			 n = 0, cap = 0;

	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		/* A name no path can spell (access_normalize) is not shown. */
		if (!parse_utf8(de->d_name, strlen(de->d_name)) ||
		    !files_entry_ok(pol, dirfd(d), path, dev, de->d_name,
		    &attr))
			continue;
		if (n == FILES_LIST_MAX) {
			snprintf(why, whylen, "%s holds more than %d entries",
			    path, FILES_LIST_MAX);
			goto fail;
		}
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if ((grown = reallocarray(ents, cap,
			    sizeof(*ents))) == NULL)
				goto nomem;
			ents = grown;
		}
		if ((ents[n].name = strdup(de->d_name)) == NULL)
			goto nomem;
		ents[n++].attr = attr;
	}
	if (errno != 0) {
		snprintf(why, whylen, "reading %s: %s", path, strerror(errno));
		goto fail;
	}
	*out = ents;
	*nout = n;
	return 0;
nomem:
	snprintf(why, whylen, "listing %s: out of memory", path);
fail:
	files_ents_free(ents, n);
	return -1;
}

/* Copy entries from *cookie on into the caller's page. */
static void
files_page(const struct files_ent *all, size_t total, uint32_t *cookie,
    struct access_dirent *ents, size_t max, size_t *n, int *eof)
{
	size_t i = 0, at = *cookie;

	for (; at < total && i < max; at++, i++) {
		snprintf(ents[i].name, sizeof(ents[i].name), "%s",
		    all[at].name);
		ents[i].attr = all[at].attr;
	}
	*n = i;
	*cookie = (uint32_t)at;
	*eof = at >= total;
}

int
files_list(const struct policy *pol, const char *path, uint32_t *cookie,
    struct access_dirent *ents, size_t max, size_t *n, int *eof,
    char *why, size_t whylen)
{
	struct beneath		 b;
	struct files_ent	*all = NULL;
	struct stat		 sb;
	DIR			*d = NULL;
	char			 root[ACCESS_PATH_MAX + 1];
	size_t			 total = 0;
	int			 f = -1, rc = -1;

	if (files_resolve(pol, path, &b, root, sizeof(root), why,
	    whylen) == -1)
		return -1;
	if (!S_ISDIR(b.st.st_mode)) {
		snprintf(why, whylen, "not a directory: %s", path);
		goto out;
	}
	f = beneath_reopen(&b, O_RDONLY | O_DIRECTORY, path, &sb, why, whylen);
	if (f == -1)
		goto out;
	if ((d = fdopendir(f)) == NULL) {
		snprintf(why, whylen, "reading %s: %s", path, strerror(errno));
		goto out;
	}
	f = -1;			/* owned by d now */
	if (files_collect(pol, d, path, sb.st_dev, &all, &total, why,
	    whylen) == -1)
		goto out;
	/*
	 * The cookie is a position in the sorted listing, so a directory
	 * read again for the next page comes back in the same order.
	 */
	if (total > 0)
		qsort(all, total, sizeof(*all), files_ent_cmp);
	files_page(all, total, cookie, ents, max, n, eof);
	rc = 0;
out:
	files_ents_free(all, total);
	if (d != NULL)
		closedir(d);
	if (f != -1)
		close(f);
	beneath_close(&b);
	return rc;
}
