/*
 * logfiles.c - list the files of an audit log and read its lines in
 * chain order.
 */
#include "audit/logfiles.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"

void
audit_part_name(uint64_t seq, char *buf, size_t len)
{
	snprintf(buf, len, AUDIT_PART_PREFIX "%020" PRIu64 AUDIT_PART_SUFFIX,
	    seq);
}

/* "audit-" 20 digits ".log": 1 with *seq, else 0. */
static int
part_seq(const char *name, uint64_t *seq)
{
	size_t		i, plen = strlen(AUDIT_PART_PREFIX);
	uint64_t	v = 0;

	if (strlen(name) != AUDIT_PART_NAME_LEN ||
	    strncmp(name, AUDIT_PART_PREFIX, plen) != 0 ||
	    strcmp(name + plen + 20, AUDIT_PART_SUFFIX) != 0)
		return 0;
	for (i = plen; i < plen + 20; i++) {
		if (name[i] < '0' || name[i] > '9' ||
		    v > (UINT64_MAX - (uint64_t)(name[i] - '0')) / 10)
			return 0;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	*seq = v;
	return v > 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
audit_files_list(const char *dir, struct audit_files *f, char *err,
    size_t errlen)
{
	DIR		*d;
	struct dirent	*de;
	uint64_t	*seqs = NULL, *ns, seq;
	size_t		 n = 0, cap = 0, i;
	char		 name[AUDIT_PART_NAME_LEN + 1], path[4200];
	int		 live = 0;

	memset(f, 0, sizeof(*f));
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, AUDIT_FILE) == 0) {
			live = 1;
			continue;
		}
		if (!part_seq(de->d_name, &seq))
			continue;
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if (cap > AUDIT_PARTS_MAX || (ns = reallocarray(seqs,
			    cap, sizeof(*seqs))) == NULL) {
				snprintf(err, errlen, "%s: too many log parts",
				    dir);
				goto fail;
			}
			seqs = ns;
		}
		seqs[n++] = seq;
	}
	closedir(d);
	d = NULL;
	if (n > 0)
		qsort(seqs, n, sizeof(*seqs), cmp_u64);
	if ((f->path = calloc(n + 1, sizeof(*f->path))) == NULL ||
	    (f->first = calloc(n + 1, sizeof(*f->first))) == NULL)
		goto nomem;
	for (i = 0; i < n + (size_t)live; i++) {
		if (i < n)
			audit_part_name(seqs[i], name, sizeof(name));
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    i < n ? name : AUDIT_FILE) >= sizeof(path)) {
			snprintf(err, errlen, "%s: path too long", dir);
			goto fail;
		}
		if ((f->path[i] = strdup(path)) == NULL)
			goto nomem;
		f->first[i] = i < n ? seqs[i] : 0;
		f->n = i + 1;
	}
	f->live = live;
	free(seqs);
	return 0;
nomem:
	snprintf(err, errlen, "%s: out of memory", dir);
fail:
	if (d != NULL)
		closedir(d);
	free(seqs);
	audit_files_free(f);
	return -1;
}

void
audit_files_free(struct audit_files *f)
{
	size_t i;

	for (i = 0; f->path != NULL && i < f->n; i++)
		free(f->path[i]);
	free(f->path);
	free(f->first);
	memset(f, 0, sizeof(*f));
}

struct audit_lines {
	struct audit_files	 files;
	size_t			 next;		/* the file to open next */
	FILE			*fp;
	const char		*path;
	uint64_t		 lineno;
	char			*buf;
	size_t			 cap;
};

int
audit_lines_open(const char *dir, struct audit_lines **out, char *err,
    size_t errlen)
{
	struct audit_lines *l;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", dir);
		return -1;
	}
	if (audit_files_list(dir, &l->files, err, errlen) == -1) {
		free(l);
		return -1;
	}
	*out = l;
	return 0;
}

int
audit_lines_next(struct audit_lines *l, const char **line, size_t *len,
    const char **path, uint64_t *lineno, char *err, size_t errlen)
{
	ssize_t n;

	for (;;) {
		if (l->fp == NULL) {
			if (l->next == l->files.n)
				return 0;
			l->path = l->files.path[l->next++];
			l->lineno = 0;
			if ((l->fp = fopen(l->path, "re")) == NULL) {
				snprintf(err, errlen, "%s: %s", l->path,
				    strerror(errno));
				return -1;
			}
		}
		errno = 0;
		if ((n = getline(&l->buf, &l->cap, l->fp)) == -1) {
			if (ferror(l->fp)) {
				snprintf(err, errlen, "%s: %s", l->path,
				    strerror(errno != 0 ? errno : EIO));
				return -1;
			}
			fclose(l->fp);
			l->fp = NULL;
			continue;
		}
		l->lineno++;
		if (l->buf[n - 1] != '\n')
			continue;	/* torn: the end of this file */
		l->buf[n - 1] = '\0';
		*line = l->buf;
		*len = (size_t)n - 1;
		*path = l->path;
		*lineno = l->lineno;
		return 1;
	}
}

void
audit_lines_close(struct audit_lines *l)
{
	if (l == NULL)
		return;
	if (l->fp != NULL)
		fclose(l->fp);
	free(l->buf);
	audit_files_free(&l->files);
	free(l);
}
