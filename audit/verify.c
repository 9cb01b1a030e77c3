/*
 * verify.c - the audit chain verifier.
 *
 * The writer puts seq, ts, type and prev first, in that order, with no
 * spaces; the verifier insists on exactly that layout, so an edited line
 * that is still valid JSON but laid out differently is caught too.  The
 * prefix is parsed; the rest of the line must be the compact JSON the
 * writer prints (checked by a scanner that builds nothing); the SHA-256
 * of every line is computed in one pass over the file, read in large
 * blocks.
 */
#include "audit/verify.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "audit/audit.h"
#include "audit/logfiles.h"
#include "audit/seal.h"
#include "lib/ident.h"

#define VERIFY_BLOCK	(4 << 20)

static void
hex32(const unsigned char *md, char out[65])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[64] = '\0';
}

/*
 * Strict compact JSON, as json_dumps(JSON_COMPACT | JSON_ENSURE_ASCII)
 * prints it: no whitespace, escapes only as JSON has them.  Each returns
 * the end of what it read at p, or NULL.  Control and non-ASCII bytes
 * were refused before.
 */
#define VERIFY_DEPTH_MAX	32

static const char *scan_value(const char *, const char *, int);

static const char *
scan_string(const char *p, const char *end)
{
	int i;

	if (p >= end || *p != '"')
		return NULL;
	for (p++; p < end; p++) {
		if (*p == '"')
			return p + 1;
		if (*p != '\\')
			continue;
		if (++p >= end)
			return NULL;
		if (*p == 'u') {
			if (end - p < 5)
				return NULL;
			for (i = 1; i <= 4; i++)
				if (!isxdigit((unsigned char)p[i]))
					return NULL;
			p += 4;
		} else if (strchr("\"\\/bfnrt", *p) == NULL)
			return NULL;
	}
	return NULL;
}

static const char *
scan_digits(const char *p, const char *end)
{
	const char *s = p;

	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p == s ? NULL : p;
}

static const char *
scan_number(const char *p, const char *end)
{
	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if ((p = scan_digits(p, end)) == NULL)
		return NULL;
	if (p < end && *p == '.' && (p = scan_digits(p + 1, end)) == NULL)
		return NULL;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if ((p = scan_digits(p, end)) == NULL)
			return NULL;
	}
	return p;
}

/* Members (obj) or elements after the opening bracket, and the close. */
static const char *
scan_items(const char *p, const char *end, int obj, int depth)
{
	char close = obj ? '}' : ']';

	if (p < end && *p == close)
		return p + 1;
	for (;;) {
		if (obj && ((p = scan_string(p, end)) == NULL || p >= end ||
		    *p++ != ':'))
			return NULL;
		if ((p = scan_value(p, end, depth)) == NULL || p >= end)
			return NULL;
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *
scan_value(const char *p, const char *end, int depth)
{
	if (p >= end)
		return NULL;
	switch (*p) {
	case '{':
	case '[':
		if (depth >= VERIFY_DEPTH_MAX)
			return NULL;
		return scan_items(p + 1, end, *p == '{', depth + 1);
	case '"':
		return scan_string(p, end);
	case 't':
		return end - p >= 4 && memcmp(p, "true", 4) == 0 ? p + 4 : NULL;
	case 'f':
		return end - p >= 5 && memcmp(p, "false", 5) == 0 ? p + 5 :
		    NULL;
	case 'n':
		return end - p >= 4 && memcmp(p, "null", 4) == 0 ? p + 4 : NULL;
	default:
		return scan_number(p, end);
	}
}

/*
 * The event's own fields after prev (",KEY:VALUE..." and the closing
 * brace, p at the comma): each a member of the writer's compact JSON,
 * no name twice and none of the prefix's.  A second "ts", say, would
 * be what a JSON reader keeps, while the seal's MAC covers the first.
 */
#define VERIFY_FIELDS_MAX	64

static int
scan_fields(const char *p, const char *end)
{
	static const char *const prefix[] = { "\"seq\"", "\"ts\"",
	    "\"type\"", "\"prev\"" };
	const char	*key[VERIFY_FIELDS_MAX];
	size_t		 klen[VERIFY_FIELDS_MAX], n = 0, i;
	const char	*k;

	if (p + 1 == end && *p == '}')
		return 0;
	while (p < end && *p == ',') {
		k = p + 1;
		if ((p = scan_string(k, end)) == NULL || n == VERIFY_FIELDS_MAX)
			return -1;
		for (i = 0; i < 4; i++)
			if ((size_t)(p - k) == strlen(prefix[i]) &&
			    memcmp(k, prefix[i], (size_t)(p - k)) == 0)
				return -1;
		for (i = 0; i < n; i++)
			if (klen[i] == (size_t)(p - k) &&
			    memcmp(key[i], k, klen[i]) == 0)
				return -1;
		key[n] = k;
		klen[n++] = (size_t)(p - k);
		if (p >= end || *p++ != ':' ||
		    (p = scan_value(p, end, 1)) == NULL)
			return -1;
	}
	return p + 1 == end && *p == '}' ? 0 : -1;
}

/* Is this (well-formed) line a seal?  The type sits after seq and ts. */
static int
is_seal(const char *line, size_t len)
{
	return memmem(line, len < 96 ? len : 96, ",\"type\":\"seal\",", 15) !=
	    NULL;
}

/* Check one line (without its newline) against the chain so far. */
static int
verify_line(const char *line, size_t len, uint64_t want_seq,
    const char *want_prev, char *why, size_t whylen)
{
	const char	*p = line, *end = line + len;
	uint64_t	 seq = 0;
	size_t		 n;

	if (len > AUDIT_MAX_LINE) {
		snprintf(why, whylen, "line longer than %d bytes",
		    AUDIT_MAX_LINE);
		return -1;
	}
	/* The writer emits printable ASCII only (JSON_ENSURE_ASCII). */
	for (n = 0; n < len; n++) {
		if ((unsigned char)line[n] < 0x20 ||
		    (unsigned char)line[n] > 0x7f) {
			snprintf(why, whylen, "control or non-ASCII byte at "
			    "column %zu", n + 1);
			return -1;
		}
	}
	if (len < 8 || memcmp(p, "{\"seq\":", 7) != 0 || end[-1] != '}') {
		snprintf(why, whylen, "not an audit event");
		return -1;
	}
	p += 7;
	for (n = 0; p < end && *p >= '0' && *p <= '9' && n < 20; p++, n++)
		seq = seq * 10 + (uint64_t)(*p - '0');
	if (n == 0 || seq != want_seq) {
		snprintf(why, whylen, "seq is not %llu",
		    (unsigned long long)want_seq);
		return -1;
	}
	/* ,"ts":"YYYY-MM-DDTHH:MM:SSZ" */
	if (end - p < 29 || memcmp(p, ",\"ts\":\"", 7) != 0 || p[26] != 'Z' ||
	    p[27] != '"') {
		snprintf(why, whylen, "malformed ts");
		return -1;
	}
	p += 28;
	if (end - p < 10 || memcmp(p, ",\"type\":\"", 9) != 0) {
		snprintf(why, whylen, "malformed type");
		return -1;
	}
	p += 9;
	n = ident_span(p, IDENT_LOWER);
	if (n == 0 || n > 32 || p + n >= end || p[n] != '"') {
		snprintf(why, whylen, "malformed type");
		return -1;
	}
	p += n + 1;
	if (end - p < 74 || memcmp(p, ",\"prev\":\"", 9) != 0 ||
	    p[73] != '"') {
		snprintf(why, whylen, "malformed prev");
		return -1;
	}
	if (memcmp(p + 9, want_prev, 64) != 0) {
		snprintf(why, whylen, "prev does not match the line before "
		    "(a line was changed, removed or inserted)");
		return -1;
	}
	/* The event's own fields: ,"key":value... up to the closing brace. */
	if (scan_fields(p + 74, end) == -1) {
		snprintf(why, whylen, "not the JSON the writer prints after "
		    "prev (or a field twice)");
		return -1;
	}
	return 0;
}

/* State of the seal checks through the file. */
struct seal_state {
	int		 have_key;
	struct seal_key	 key;		/* evolved up to key.epoch */
	int		 any;		/* a seal was seen */
	uint64_t	 last_epoch;
};

/*
 * Check a seal line: the first is epoch 0 and each next one the epoch
 * after (the writer never skips one), and with the key, the MAC.  A gap
 * is a log cut back and sealed again with a later key - the key a
 * thief of the host has - or seals cut from the front.
 */
static int
verify_seal(struct seal_state *ss, const char *line, size_t len,
    uint64_t seq, const char *prev, char *why, size_t whylen)
{
	json_t		*j, *je;
	const char	*mac, *ts;
	char		 want[65];
	uint64_t	 epoch;
	int		 rc = -1;

	if ((j = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    (je = json_object_get(j, "epoch")) == NULL ||
	    !json_is_integer(je) || json_integer_value(je) < 0 ||
	    (mac = json_string_value(json_object_get(j, "mac"))) == NULL ||
	    strlen(mac) != 64 ||
	    (ts = json_string_value(json_object_get(j, "ts"))) == NULL ||
	    strlen(ts) > 32) {
		snprintf(why, whylen, "malformed seal");
		goto out;
	}
	epoch = (uint64_t)json_integer_value(je);
	if (ss->any && epoch != ss->last_epoch + 1) {
		snprintf(why, whylen, "seal epoch %llu does not follow epoch "
		    "%llu (a re-sealed log)", (unsigned long long)epoch,
		    (unsigned long long)ss->last_epoch);
		goto out;
	}
	if (!ss->any && epoch != 0) {
		snprintf(why, whylen, "the first seal is of epoch %llu, not 0 "
		    "(seals cut from the log, or a re-sealed log)",
		    (unsigned long long)epoch);
		goto out;
	}
	if (ss->have_key) {
		if (epoch - ss->key.epoch > 10000000) {
			snprintf(why, whylen, "seal epoch %llu is implausible",
			    (unsigned long long)epoch);
			goto out;
		}
		while (ss->key.epoch < epoch)
			seal_key_evolve(&ss->key);
		seal_mac(&ss->key, seq, ts, prev, want);
		if (CRYPTO_memcmp(want, mac, 64) != 0) {
			snprintf(why, whylen, "seal of epoch %llu does not match "
			    "the key (forged or altered)",
			    (unsigned long long)epoch);
			goto out;
		}
	}
	ss->any = 1;
	ss->last_epoch = epoch;
	rc = 0;
out:
	json_decref(j);
	return rc;
}

/* The chain as it stands between files. */
struct verify_run {
	struct seal_state	 ss;
	char			 prev[65];
	char			*buf;
	EVP_MD			*sha256;	/* fetched once */
	EVP_MD_CTX		*ctx;		/* reused for every line */
};

/* The SHA-256 of one line into r->prev (hex). */
static int
verify_hash(struct verify_run *r, const char *line, size_t len)
{
	unsigned char	md[32];
	unsigned int	mdlen = 0;

	if (EVP_DigestInit_ex(r->ctx, r->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(r->ctx, line, len) != 1 ||
	    EVP_DigestFinal_ex(r->ctx, md, &mdlen) != 1 || mdlen != 32)
		return -1;
	hex32(md, r->prev);
	return 0;
}

/*
 * Check one file of the log against the chain so far.  first: the seq a
 * part is named for (0: the live file, or a file given alone).  Only the
 * last file may end in a torn line; a closed part ends in a seal.
 */
static int
verify_one(struct verify_run *r, const char *path, uint64_t first,
    int last, struct audit_verify *v, void (*progress)(uint64_t, void *),
    void *arg)
{
	FILE		*f;
	char		*line, *nl;
	size_t		 have = 0, got, off, len;
	uint64_t	 start = v->events;
	int		 rc = -1, sealed = 0;

	snprintf(v->file, sizeof(v->file), "%s", path);
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(v->reason, sizeof(v->reason), "%s", strerror(errno));
		return -1;
	}
	if (first != 0 && first != v->events + 1) {
		v->bad_line = 1;
		snprintf(v->reason, sizeof(v->reason), "a part named for seq "
		    "%llu, where the chain is at seq %llu (a part is missing, "
		    "added or renamed)", (unsigned long long)first,
		    (unsigned long long)v->events + 1);
		rc = 1;
		goto out;
	}
	for (;;) {
		got = fread(r->buf + have, 1, VERIFY_BLOCK, f);
		if (got == 0 && ferror(f)) {
			snprintf(v->reason, sizeof(v->reason), "read error");
			goto out;
		}
		have += got;
		off = 0;
		while ((nl = memchr(r->buf + off, '\n', have - off)) != NULL) {
			line = r->buf + off;
			len = (size_t)(nl - line);
			sealed = 0;
			if (verify_line(line, len, v->events + 1, r->prev,
			    v->reason, sizeof(v->reason)) == -1 ||
			    (is_seal(line, len) && verify_seal(&r->ss, line,
			    len, v->events + 1, r->prev, v->reason,
			    sizeof(v->reason)) == -1)) {
				v->bad_line = v->events - start + 1;
				if (start > 0 && v->events == start &&
				    strncmp(v->reason, "seq is not", 10) == 0)
					snprintf(v->reason, sizeof(v->reason),
					    "the file does not start at seq %llu, "
					    "where the chain is (a part is "
					    "missing, added or renamed)",
					    (unsigned long long)start + 1);
				rc = 1;
				goto out;
			}
			if (is_seal(line, len)) {
				v->seals++;
				v->unsealed = 0;
				sealed = 1;
			} else
				v->unsealed++;
			if (verify_hash(r, line, len) == -1) {
				snprintf(v->reason, sizeof(v->reason),
				    "cannot hash a line");
				goto out;
			}
			v->events++;
			v->bytes += len + 1;
			off += len + 1;
		}
		/* Keep the unfinished line; it cannot outgrow the limit. */
		memmove(r->buf, r->buf + off, have - off);
		have -= off;
		if (have > AUDIT_MAX_LINE + 1) {
			v->bad_line = v->events - start + 1;
			snprintf(v->reason, sizeof(v->reason), "line longer "
			    "than %d bytes", AUDIT_MAX_LINE);
			rc = 1;
			goto out;
		}
		if (progress != NULL)
			progress(v->bytes, arg);
		if (got == 0)
			break;
	}
	rc = 0;
	if (have > 0 && !last) {
		v->bad_line = v->events - start + 1;
		snprintf(v->reason, sizeof(v->reason), "a line cut short, and "
		    "more of the log after it");
		rc = 1;
	} else if (first != 0 && !sealed) {
		v->bad_line = v->events - start + (have > 0);
		snprintf(v->reason, sizeof(v->reason), "a closed part that "
		    "does not end in a seal (its end was cut off)");
		rc = 1;
	} else
		v->torn_tail = have > 0;
out:
	fclose(f);
	return rc;
}

static void	verify_end(struct verify_run *);

static int
verify_start(struct verify_run *r, const uint8_t *key0,
    struct audit_verify *v)
{
	memset(v, 0, sizeof(*v));
	memset(r, 0, sizeof(*r));
	if (key0 != NULL) {
		memcpy(r->ss.key.key, key0, SEAL_KEY_LEN);
		r->ss.have_key = 1;
		v->keyed = 1;
	}
	memset(r->prev, '0', 64);
	r->prev[64] = '\0';
	if ((r->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (r->ctx = EVP_MD_CTX_new()) == NULL ||
	    (r->buf = malloc(VERIFY_BLOCK + AUDIT_MAX_LINE + 2)) == NULL) {
		snprintf(v->reason, sizeof(v->reason), "out of memory");
		verify_end(r);
		return -1;
	}
	return 0;
}

static void
verify_end(struct verify_run *r)
{
	EVP_MD_CTX_free(r->ctx);
	EVP_MD_free(r->sha256);
	free(r->buf);
	OPENSSL_cleanse(r, sizeof(*r));
}

int
audit_verify_file(const char *path, const uint8_t *key0,
    struct audit_verify *v, void (*progress)(uint64_t, void *), void *arg)
{
	struct verify_run	r;
	int			rc;

	if (verify_start(&r, key0, v) == -1)
		return -1;
	rc = verify_one(&r, path, 0, 1, v, progress, arg);
	v->files = 1;
	verify_end(&r);
	return rc;
}

int
audit_verify_dir(const char *dir, const uint8_t *key0,
    struct audit_verify *v, void (*progress)(uint64_t, void *), void *arg)
{
	struct verify_run	r;
	struct audit_files	files;
	size_t			i;
	int			rc = 0;

	if (verify_start(&r, key0, v) == -1)
		return -1;
	if (audit_files_list(dir, &files, v->reason, sizeof(v->reason)) ==
	    -1) {
		snprintf(v->file, sizeof(v->file), "%s", dir);
		verify_end(&r);
		return -1;
	}
	if (files.n == 0) {
		snprintf(v->file, sizeof(v->file), "%s", dir);
		snprintf(v->reason, sizeof(v->reason), "no audit log here");
		rc = -1;
	}
	for (i = 0; rc == 0 && i < files.n; i++) {
		rc = verify_one(&r, files.path[i], files.first[i],
		    i == files.n - 1, v, progress, arg);
		v->files++;
	}
	audit_files_free(&files);
	verify_end(&r);
	return rc;
}

/* One anchor the relay holds: the SHA-256 of the line at seq. */
struct anchor {
	uint64_t	 epoch;
	uint64_t	 seq;
	char		 head[65];
};

static int
anchor_cmp(const void *a, const void *b)
{
	const struct anchor *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Read "EPOCH SEQ HEAD ..." lines ('#' comments); sorted by seq. */
static int
anchors_load(const char *path, struct anchor **out, size_t *n, char *why,
    size_t whylen)
{
	struct anchor	*a = NULL, *na;
	FILE		*f;
	char		 line[512], head[80];
	unsigned long long e, s;
	size_t		 cap = 0, lineno = 0, i;

	*n = 0;
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%llu %llu %79s", &e, &s, head) != 3 ||
		    strlen(head) != 64 || s == 0 || *n >= VERIFY_MAX_ANCHORS) {
			snprintf(why, whylen, "%s:%zu: expected EPOCH SEQ HEAD",
			    path, lineno);
			goto fail;
		}
		for (i = 0; i < 64; i++)
			if (!isxdigit((unsigned char)head[i]))
				break;
		if (i < 64) {
			snprintf(why, whylen, "%s:%zu: HEAD is not hex", path,
			    lineno);
			goto fail;
		}
		if (*n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if ((na = reallocarray(a, cap, sizeof(*a))) == NULL) {
				snprintf(why, whylen, "out of memory");
				goto fail;
			}
			a = na;
		}
		a[*n].epoch = e;
		a[*n].seq = s;
		snprintf(a[*n].head, sizeof(a[*n].head), "%s", head);
		(*n)++;
	}
	fclose(f);
	if (*n > 0)
		qsort(a, *n, sizeof(*a), anchor_cmp);
	*out = a;
	return 0;
fail:
	fclose(f);
	free(a);
	*n = 0;
	return -1;
}

/*
 * Append ", item" (or item first) to the list in buf, or "..." once
 * when it would not fit.
 */
static void
list_append(char *buf, size_t len, const char *item)
{
	size_t	have = strlen(buf), need = strlen(item) + (have > 0 ? 2 : 0);

	if (have >= 3 && strcmp(buf + have - 3, "...") == 0)
		return;
	if (have + need + 4 < len)
		snprintf(buf + have, len - have, "%s%s", have > 0 ? ", " : "",
		    item);
	else if (have + 6 < len)
		snprintf(buf + have, len - have, "%s...", have > 0 ? ", " :
		    "");
}

/* Epochs as ranges, "3-5, 9": the one being gathered, then the list. */
struct epochs {
	char		*text;
	size_t		 len;
	uint64_t	 first, last;
	int		 open;
};

static void
epochs_close(struct epochs *e)
{
	char	item[48];

	if (!e->open)
		return;
	e->open = 0;
	if (e->first == e->last)
		snprintf(item, sizeof(item), "%llu",
		    (unsigned long long)e->first);
	else
		snprintf(item, sizeof(item), "%llu-%llu",
		    (unsigned long long)e->first, (unsigned long long)e->last);
	list_append(e->text, e->len, item);
}

static void
epochs_add(struct epochs *e, uint64_t epoch)
{
	if (e->open && epoch == e->last + 1) {
		e->last = epoch;
		return;
	}
	epochs_close(e);
	e->first = e->last = epoch;
	e->open = 1;
}

/* The epoch of a seal line, or -1 for any other line. */
static int
seal_epoch(const char *line, size_t len, uint64_t *epoch)
{
	json_t	*j, *e;
	int	 rc = -1;

	/* The writer's layout: seq, ts, then type (verified before). */
	if (memmem(line, len, ",\"type\":\"seal\",", 15) == NULL ||
	    (j = json_loadb(line, len, 0, NULL)) == NULL)
		return -1;
	e = json_object_get(j, "epoch");
	if (json_is_string(json_object_get(j, "type")) && strcmp(
	    json_string_value(json_object_get(j, "type")), "seal") == 0 &&
	    json_is_integer(e) && json_integer_value(e) >= 0) {
		*epoch = (uint64_t)json_integer_value(e);
		rc = 0;
	}
	json_decref(j);
	return rc;
}

int
audit_verify_anchors(const char *dir, const char *anchors_path,
    struct audit_anchors *r, char *why, size_t whylen)
{
	struct anchor		*a = NULL;
	struct audit_lines	*lines = NULL;
	struct epochs		 tail;
	const char		*line, *path = dir;
	char			 hex[65];
	unsigned char		 md[32];
	size_t			 n, next = 0, len;
	uint64_t		 seq = 0, lineno, epoch;
	int			 rc = -1, got = 0, anchored;

	memset(r, 0, sizeof(*r));
	memset(&tail, 0, sizeof(tail));
	tail.text = r->tail_epochs;
	tail.len = sizeof(r->tail_epochs);
	if (anchors_load(anchors_path, &a, &n, why, whylen) == -1)
		return -1;
	if (audit_lines_open(dir, &lines, why, whylen) == -1)
		goto out;
	while ((got = audit_lines_next(lines, &line, &len, &path, &lineno,
	    why, whylen)) == 1) {
		seq++;
		anchored = next < n && a[next].seq == seq;
		if (anchored) {
			EVP_Digest(line, len, md, NULL, EVP_sha256(), NULL);
			hex32(md, hex);
		}
		for (; next < n && a[next].seq == seq; next++) {
			if (strcasecmp(hex, a[next].head) != 0) {
				snprintf(why, whylen, "%s:%llu: differs from the "
				    "seal head the relay holds for seq %llu "
				    "(epoch %llu)", path,
				    (unsigned long long)lineno,
				    (unsigned long long)seq,
				    (unsigned long long)a[next].epoch);
				rc = 1;
				goto out;
			}
			r->matched++;
		}
		if (seal_epoch(line, len, &epoch) == -1)
			continue;
		r->seals++;
		if (!anchored) {
			/* Covered once a later seal reaches the relay. */
			epochs_add(&tail, epoch);
			r->tail++;
			continue;
		}
		r->anchored_seq = seq;
		if (r->tail > 0) {
			epochs_close(&tail);
			list_append(r->covered_epochs,
			    sizeof(r->covered_epochs), r->tail_epochs);
			r->covered += r->tail;
			r->tail = 0;
			r->tail_epochs[0] = '\0';
		}
	}
	if (got == -1)
		goto out;
	epochs_close(&tail);
	if (next < n) {
		snprintf(why, whylen, "%s: the log ends at seq %llu, but the "
		    "relay holds a seal head for seq %llu (epoch %llu): sealed "
		    "events were cut off", dir, (unsigned long long)seq,
		    (unsigned long long)a[next].seq,
		    (unsigned long long)a[next].epoch);
		rc = 1;
		goto out;
	}
	rc = 0;
out:
	audit_lines_close(lines);
	free(a);
	return rc;
}
