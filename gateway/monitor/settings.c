/*
 * settings.c - read and change the listed keys of the product's
 * settings file on an engineer's behalf.
 *
 * The whole file is parsed before anything is read from it or written
 * to it: a file that does not parse is the customer's to fix, and
 * rewriting it could only make it worse.  A change replaces the value's
 * bytes and nothing else, so comments, spacing and the order of lines
 * survive byte for byte.  The file may hold secrets, so every copy of
 * it is wiped before it is freed.
 */
#include "gateway/monitor/settings.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/ident.h"
#include "policy/policy.h"

/* One "key = value" line: where its key and value lie in the file. */
struct settings_kv {
	const char	*key;
	size_t		 klen;
	size_t		 vstart;	/* offsets into the file */
	size_t		 vend;
	size_t		 line;
};

/* The settings file in memory, parsed, with the requested key's line. */
struct settings_doc {
	char			*buf;
	size_t			 len;
	struct stat		 st;
	int			 found;
	struct settings_kv	 kv;		/* of the key, if found */
};

static int
settings_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Parse one line of len bytes (its newline excluded) at offset off of
 * the file.  Blank lines and comments set kv->klen to 0.  Returns 0, or
 * -1 if the line is not "key = value" (or holds control characters in
 * the value).
 */
static int
settings_parse_line(const char *buf, size_t off, size_t len,
    struct settings_kv *kv)
{
	const char	*l = buf + off;
	size_t		 i = 0, e = len, ks;

	/* Trailing blanks and a CR (of a CRLF file) are not the value. */
	while (e > 0 && (settings_blank(l[e - 1]) || l[e - 1] == '\r'))
		e--;
	while (i < e && settings_blank(l[i]))
		i++;
	kv->klen = 0;
	if (i == e || l[i] == '#' || l[i] == ';')
		return 0;
	for (ks = i; i < e && ident_char((unsigned char)l[i], IDENT_NAME); i++)
		;
	if (i == ks)
		return -1;
	kv->key = l + ks;
	kv->klen = i - ks;
	while (i < e && settings_blank(l[i]))
		i++;
	if (i == e || l[i] != '=')
		return -1;
	for (i++; i < e && settings_blank(l[i]); i++)
		;
	kv->vstart = off + i;
	kv->vend = off + e;
	for (; i < e; i++)
		if (((unsigned char)l[i] < 0x20 && l[i] != '\t') ||
		    l[i] == 0x7f)
			return -1;
	return 0;
}

static int
settings_kv_cmp(const void *a, const void *b)
{
	const struct settings_kv	*x = a, *y = b;
	size_t				 n;
	int				 c;

	n = x->klen < y->klen ? x->klen : y->klen;
	if ((c = memcmp(x->key, y->key, n)) != 0)
		return c;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * A key given twice makes the file ambiguous.  Sorting the keys puts
 * repeats side by side; the earliest repeat is reported.
 */
static int
settings_duplicates(const char *file, struct settings_kv *kvs, size_t n,
    char *why, size_t whylen)
{
	size_t i, bad = 0;

	qsort(kvs, n, sizeof(*kvs), settings_kv_cmp);
	for (i = 1; i < n; i++) {
		if (kvs[i].klen != kvs[i - 1].klen || memcmp(kvs[i].key,
		    kvs[i - 1].key, kvs[i].klen) != 0)
			continue;
		if (bad == 0 || kvs[i].line < kvs[bad].line)
			bad = i;
	}
	if (bad == 0)
		return 0;
	snprintf(why, whylen, "%s:%zu: duplicate key '%.*s' (also on line %zu)",
	    file, kvs[bad].line, (int)kvs[bad].klen, kvs[bad].key,
	    kvs[bad - 1].line);
	return -1;
}

/* Parse every line of doc; find key.  0, or -1 with "FILE:LINE: ...". */
static int
settings_parse(const char *file, struct settings_doc *doc, const char *key,
    char *why, size_t whylen)
{
	struct settings_kv	*kvs = NULL, kv;
	size_t			 off = 0, len, line = 0, n = 0;
	size_t			 keylen = strlen(key);
	const char		*nl;
	int			 rc = -1;

	/* A key line takes at least three bytes ("k=\n"). */
	if ((kvs = calloc(doc->len / 3 + 1, sizeof(*kvs))) == NULL) {
		snprintf(why, whylen, "%s: out of memory", file);
		return -1;
	}
	doc->found = 0;
	for (off = 0; off < doc->len; off += len + 1) {
		nl = memchr(doc->buf + off, '\n', doc->len - off);
		len = nl == NULL ? doc->len - off :
		    (size_t)(nl - doc->buf) - off;
		line++;
		if (settings_parse_line(doc->buf, off, len, &kv) == -1) {
			snprintf(why, whylen, "%s:%zu: not a key = value line",
			    file, line);
			goto out;
		}
		if (kv.klen == 0)
			continue;
		kv.line = line;
		kvs[n++] = kv;
		if (keylen == kv.klen && memcmp(key, kv.key, keylen) == 0) {
			doc->found = 1;
			doc->kv = kv;
		}
	}
	rc = settings_duplicates(file, kvs, n, why, whylen);
out:
	free(kvs);
	return rc;
}

/* Read the whole file, a regular file of at most SETTINGS_FILE_MAX. */
static int
settings_read(const char *file, struct settings_doc *doc, char *why,
    size_t whylen)
{
	ssize_t	r;
	size_t	cap = SETTINGS_FILE_MAX + 1;
	int	fd, rc = -1;

	/*
	 * The file is replaced by rename, which would turn a symbolic link
	 * into a plain file; O_NONBLOCK keeps a FIFO from hanging the open.
	 */
	if ((fd = open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		snprintf(why, whylen, "%s: %s", file, errno == ELOOP ?
		    "is a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &doc->st) == -1 || !S_ISREG(doc->st.st_mode)) {
		snprintf(why, whylen, "%s: not a regular file", file);
		goto out;
	}
	if ((doc->buf = malloc(cap)) == NULL) {
		snprintf(why, whylen, "%s: out of memory", file);
		goto out;
	}
	for (doc->len = 0; doc->len < cap; doc->len += (size_t)r) {
		r = read(fd, doc->buf + doc->len, cap - doc->len);
		if (r == -1 && errno == EINTR) {
			r = 0;
			continue;
		}
		if (r == -1) {
			snprintf(why, whylen, "reading %s: %s", file,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
	}
	if (doc->len > SETTINGS_FILE_MAX) {
		snprintf(why, whylen, "%s is larger than %d bytes", file,
		    SETTINGS_FILE_MAX);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

static void
settings_doc_free(struct settings_doc *doc)
{
	if (doc->buf != NULL) {
		explicit_bzero(doc->buf, SETTINGS_FILE_MAX + 1);
		free(doc->buf);
	}
	doc->buf = NULL;
}

/* The file read and parsed, with key looked up. */
static int
settings_load(const struct policy *pol, const char *key,
    struct settings_doc *doc, char *why, size_t whylen)
{
	if (settings_read(pol->settings_file, doc, why, whylen) == -1 ||
	    settings_parse(pol->settings_file, doc, key, why, whylen) == -1) {
		settings_doc_free(doc);
		return -1;
	}
	return 0;
}

/*
 * Printable ASCII (tabs too)?  Values travel to the engineer and into
 * the audit log as JSON strings, which must be valid UTF-8.
 */
static int
settings_ascii(const char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((v[i] < 0x20 && v[i] != '\t') || v[i] > 0x7e)
			return 0;
	return 1;
}

/* The old value for the caller, anything but printable ASCII as '?'. */
static void
settings_old(const struct settings_doc *doc, char *old, size_t oldlen)
{
	size_t i, n;

	if (oldlen == 0)
		return;
	n = doc->found ? doc->kv.vend - doc->kv.vstart : 0;
	for (i = 0; i < n && i + 1 < oldlen; i++) {
		old[i] = doc->buf[doc->kv.vstart + i];
		if (!settings_ascii(old + i, 1))
			old[i] = '?';
	}
	old[i] = '\0';
}

int
settings_get(const struct policy *pol, const char *key, char *value,
    size_t vlen, char *why, size_t whylen)
{
	struct settings_doc	doc;
	size_t			n;
	int			rc = -1;

	memset(&doc, 0, sizeof(doc));
	if (!policy_allow_setting(pol, key, why, whylen) ||
	    settings_load(pol, key, &doc, why, whylen) == -1)
		return -1;
	if (!doc.found) {
		snprintf(why, whylen, "%s is not set in %s", key,
		    pol->settings_file);
		goto out;
	}
	n = doc.kv.vend - doc.kv.vstart;
	if (!settings_ascii(doc.buf + doc.kv.vstart, n)) {
		snprintf(why, whylen, "%s:%zu: the value of %s is not "
		    "printable ASCII", pol->settings_file, doc.kv.line, key);
		goto out;
	}
	if (n >= vlen) {
		snprintf(why, whylen, "%s:%zu: the value of %s is too long",
		    pol->settings_file, doc.kv.line, key);
		goto out;
	}
	memcpy(value, doc.buf + doc.kv.vstart, n);
	value[n] = '\0';
	rc = 0;
out:
	settings_doc_free(&doc);
	return rc;
}

/* Printable ASCII, bounded, not starting or ending with a blank. */
static int
settings_valid_value(const char *value, char *why, size_t whylen)
{
	size_t n;

	for (n = 0; value[n] != '\0'; n++) {
		if (n >= SETTINGS_VALUE_MAX) {
			snprintf(why, whylen, "the value is longer than %d "
			    "bytes", SETTINGS_VALUE_MAX);
			return -1;
		}
		if (value[n] < 0x20 || value[n] > 0x7e) {
			snprintf(why, whylen, "the value must be printable "
			    "ASCII on one line");
			return -1;
		}
	}
	/* Blanks around a value would not survive being read back. */
	if (n > 0 && (value[0] == ' ' || value[n - 1] == ' ')) {
		snprintf(why, whylen, "the value must not begin or end with "
		    "a blank");
		return -1;
	}
	return 0;
}

/*
 * The new file: the value's bytes replaced, or "key = value" appended
 * (after a newline if the last line lacks one).  Returns a new buffer
 * of *len bytes, or NULL if out of memory.
 */
static char *
settings_edit(const struct settings_doc *doc, const char *key,
    const char *value, size_t *len)
{
	size_t	vl = strlen(value), kl = strlen(key), head, tail, n;
	char	*out;
	int	nl;

	if (doc->found) {
		head = doc->kv.vstart;
		tail = doc->len - doc->kv.vend;
		*len = head + vl + tail;
		if ((out = malloc(*len + 1)) == NULL)
			return NULL;
		memcpy(out, doc->buf, head);
		memcpy(out + head, value, vl);
		memcpy(out + head + vl, doc->buf + doc->kv.vend, tail);
		return out;
	}
	nl = doc->len > 0 && doc->buf[doc->len - 1] != '\n';
	*len = doc->len + (size_t)nl + kl + 3 + vl + 1;
	if ((out = malloc(*len + 1)) == NULL)
		return NULL;
	memcpy(out, doc->buf, doc->len);
	n = doc->len;
	if (nl)
		out[n++] = '\n';
	snprintf(out + n, *len + 1 - n, "%s = %s\n", key, value);
	return out;
}

/* The settings file as it was, for settings_same_access(). */
struct settings_access {
	const struct stat	*st;
	const char		*file;
};

/*
 * Give the temporary file the old file's mode and owner: the product
 * must be able to read its settings exactly as before.
 */
static int
settings_same_access(int fd, void *arg, char *why, size_t whylen)
{
	const struct settings_access	*a = arg;
	const struct stat		*st = a->st;
	const char			*file = a->file;

	/* Owner first: a change of owner may clear set-id mode bits. */
	if ((st->st_uid != geteuid() || st->st_gid != getegid()) &&
	    fchown(fd, st->st_uid, st->st_gid) == -1) {
		snprintf(why, whylen, "cannot keep the owner of %s (uid %u, "
		    "gid %u): %s", file, (unsigned)st->st_uid,
		    (unsigned)st->st_gid, strerror(errno));
		return -1;
	}
	if (fchmod(fd, st->st_mode & 07777) == -1) {
		snprintf(why, whylen, "cannot keep the mode of %s: %s", file,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
settings_set(const struct policy *pol, const char *key, const char *value,
    char *old, size_t oldlen, char *why, size_t whylen)
{
	struct settings_doc	 doc;
	struct settings_access	 acc;
	char			*out = NULL;
	size_t			 len = 0;
	int			 rc = -1;

	memset(&doc, 0, sizeof(doc));
	if (!policy_allow_setting(pol, key, why, whylen) ||
	    settings_valid_value(value, why, whylen) == -1 ||
	    settings_load(pol, key, &doc, why, whylen) == -1)
		return -1;
	if ((out = settings_edit(&doc, key, value, &len)) == NULL) {
		snprintf(why, whylen, "%s: out of memory", pol->settings_file);
		goto out;
	}
	if (len > SETTINGS_FILE_MAX) {
		snprintf(why, whylen, "%s would grow beyond %d bytes",
		    pol->settings_file, SETTINGS_FILE_MAX);
		goto out;
	}
	/*
	 * Replaced as a whole: a reader sees the old file or the new, never
	 * a mixture, with the old file's owner and mode.
	 */
	acc.st = &doc.st;
	acc.file = pol->settings_file;
	if (fileio_replace_with(pol->settings_file, out, len, 0600,
	    settings_same_access, &acc, why, whylen) == -1)
		goto out;
	/*
	 * The old value is for the audit log: a long one is cut short, an
	 * odd byte shown as '?', but neither stops the change.
	 */
	settings_old(&doc, old, oldlen);
	rc = 0;
out:
	if (out != NULL) {
		explicit_bzero(out, len);
		free(out);
	}
	settings_doc_free(&doc);
	return rc;
}
