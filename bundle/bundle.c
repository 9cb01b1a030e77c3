/*
 * bundle.c - the support bundle writer: diagnostics' output and the
 * selected files (select.c), each redacted and hashed into a scratch
 * file first, then copied into a tar.gz written with libarchive, and
 * MANIFEST.json last.
 *
 * Why a scratch file: a tar header states an entry's size before its
 * bytes, and a log read while it grows or is rotated may end up longer
 * or shorter than its size at open.  Reading into scratch first gives
 * the exact bytes, their size and their SHA-256 before the header is
 * written, so the manifest's hash is the hash of what the archive holds.
 */
#include <sys/stat.h>
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle/bundle_int.h"
#include "lib/beneath.h"
#include "lib/fileio.h"
#include "lib/ident.h"
#include "lib/parse.h"
#include "lib/redact.h"
#include "lib/sha256.h"
#include "policy/policy.h"

#define CHUNK		(64 * 1024)
#define WHY_MAX		512
#define MANIFEST_FORMAT	"porthole-bundle-1"

/* Where a file's or an output's bytes go: scratch, and the hash. */
struct spool {
	int		 fd;
	uint64_t	 n;
	struct sha256	*md;
	int		 err;		/* errno of a failed write */
};

/* The archive being written, and the bytes it became. */
struct out {
	int		 fd;
	uint64_t	 n;
	struct sha256	*md;
	int		 err;
};

/* One bundle being written. */
struct writer {
	struct bundle_build	 b;
	struct archive		*ar;
	struct out		 out;
	struct spool		 sp;
	char			*buf;		/* CHUNK bytes */
	json_t			*manifest;
	json_t			*entries;	/* the files and outputs */
	uint64_t		 bytes_read;
	uint64_t		 redactions;
	int			 stopped;	/* by req->progress */
	char			 dir[sizeof("porthole-bundle-") +
				    BUNDLE_ID_MAX];
};

/* libarchive's write callback: the tar.gz to out, hashed and counted. */
static la_ssize_t
out_write(struct archive *ar, void *arg, const void *buf, size_t len)
{
	struct out *o = arg;

	if (fileio_write_all(o->fd, buf, len) == -1) {
		o->err = errno;
		archive_set_error(ar, errno, "%s", strerror(errno));
		return -1;
	}
	sha256_update(o->md, buf, len);
	o->n += len;
	return (la_ssize_t)len;
}

static int
spool_emit(void *arg, const void *buf, size_t len)
{
	struct spool *sp = arg;

	if (sp->err != 0)
		return -1;
	if (fileio_write_all(sp->fd, buf, len) == -1) {
		sp->err = errno;
		return -1;
	}
	sha256_update(sp->md, buf, len);
	sp->n += len;
	return 0;
}

/* Empty the scratch file for the next entry.  0, or -1. */
static int
spool_reset(struct spool *sp)
{
	sp->n = 0;
	sp->err = 0;
	sha256_free(sp->md);
	if ((sp->md = sha256_new()) == NULL) {
		sp->err = ENOMEM;
		return -1;
	}
	if (ftruncate(sp->fd, 0) == -1 || lseek(sp->fd, 0, SEEK_SET) == -1) {
		sp->err = errno;
		return -1;
	}
	return 0;
}

/* The redaction counts of a stream, as {"NAME": n, ...}. */
static json_t *
redaction_counts(const struct policy *pol, const struct redact_stream *s)
{
	json_t	*o;
	size_t	 i;

	if ((o = json_object()) == NULL)
		return NULL;
	for (i = 0; s != NULL && i < redact_count(pol->redact); i++)
		if (json_object_set_new(o, redact_name(pol->redact, i),
		    json_integer((json_int_t)redact_stream_matches(s,
		    i))) == -1)
			goto fail;
	if (s != NULL && json_object_set_new(o, "whole_lines",
	    json_integer((json_int_t)redact_stream_long_lines(s))) == -1)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

/*
 * The header of a regular file name (below the bundle's directory) of
 * size bytes: owned by root, 0644, whatever the file's own owner and
 * mode were.  0, or -1.
 */
static int
put_header(struct writer *w, const char *name, uint64_t size, time_t mtime)
{
	struct archive_entry	*ae;
	char			 path[POLICY_PATH_MAX + 128];
	int			 rc;

	snprintf(path, sizeof(path), "%s/%s", w->dir, name);
	if ((ae = archive_entry_new()) == NULL)
		return -1;
	archive_entry_set_pathname(ae, path);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, (la_int64_t)size);
	archive_entry_set_mtime(ae, mtime, 0);
	rc = archive_write_header(w->ar, ae) == ARCHIVE_OK ? 0 : -1;
	archive_entry_free(ae);
	return rc;
}

/*
 * The scratch file's bytes as archive entry name, and its manifest
 * entry e completed with name, size and hash.  0, or -1 when the
 * archive cannot be written.
 */
static int
put_entry(struct writer *w, const char *name, time_t mtime, json_t *e)
{
	char		sum[SHA256_HEX_LEN + 1];
	uint64_t	at = 0;
	ssize_t		n;

	sha256_final(w->sp.md, sum);	/* frees it */
	w->sp.md = NULL;
	if (!sha256_valid_hex(sum) || put_header(w, name, w->sp.n, mtime) == -1)
		return -1;
	while (at < w->sp.n) {
		n = pread(w->sp.fd, w->buf, CHUNK, (off_t)at);
		if (n <= 0 || archive_write_data(w->ar, w->buf,
		    (size_t)n) != n)
			return -1;
		at += (uint64_t)n;
	}
	if (archive_write_finish_entry(w->ar) != ARCHIVE_OK ||
	    json_object_set_new(e, "name", json_string(name)) == -1 ||
	    json_object_set_new(e, "size", json_integer((json_int_t)
	    w->sp.n)) == -1 ||
	    json_object_set_new(e, "sha256", json_string(sum)) == -1 ||
	    json_array_append(w->entries, e) == -1)
		return -1;
	return 0;
}

/* Feed buf[0..len) through s (or straight through without one). */
static int
feed(struct writer *w, struct redact_stream *s, void *buf, size_t len)
{
	if (s == NULL)
		return spool_emit(&w->sp, buf, len);
	return redact_stream_feed(s, buf, len, spool_emit, &w->sp);
}

/* One diagnostic's output, redacted whenever there are patterns. */
static int
add_diag(struct writer *w, const struct bundle_diag *dg)
{
	const struct policy	*pol = w->b.req->pol;
	struct redact_stream	*s = NULL;
	json_t			*e = NULL;
	char			 name[128];
	size_t			 at, n;
	uint64_t		 left = pol->bundle_max_size - w->bytes_read;
	int			 rc = -1;

	snprintf(name, sizeof(name), "commands/%s.out", dg->name);
	if (dg->len > left) {
		w->b.truncated = 1;
		bundle_left_out(&w->b, name, "%zu bytes do not fit in "
		    "max_size (%llu bytes left)", dg->len,
		    (unsigned long long)left);
		return 0;
	}
	if (spool_reset(&w->sp) == -1)
		return -1;
	if (redact_count(pol->redact) > 0 &&
	    (s = redact_stream_new(pol->redact)) == NULL)
		return -1;
	for (at = 0; at < dg->len; at += n) {
		n = dg->len - at < CHUNK ? dg->len - at : CHUNK;
		memcpy(w->buf, (const char *)dg->out + at, n);
		if (feed(w, s, w->buf, n) == -1)
			goto out;
	}
	if (s != NULL && redact_stream_end(s, spool_emit, &w->sp) == -1)
		goto out;
	w->bytes_read += dg->len;
	if ((e = json_pack("{s:s, s:i, s:b, s:b, s:o}", "command", dg->name,
	    "exit_status", dg->exit_status, "timed_out", dg->timed_out,
	    "output_cut", dg->cut, "redactions",
	    redaction_counts(pol, s))) == NULL)
		goto out;
	if (put_entry(w, name, w->b.req->now, e) == -1)
		goto out;
	if (s != NULL)
		w->redactions += redact_stream_total(s);
	rc = 0;
out:
	json_decref(e);
	redact_stream_free(s);
	return rc;
}

/*
 * Read an open file into scratch, at most size bytes (its size when
 * opened): through s, the first chunk sniffed when redacted.  0; 1 when
 * the file is refused or unreadable (why says so); -1 when scratch
 * cannot be written.
 */
static int
read_file(struct writer *w, int fd, const char *path, uint64_t size,
    struct redact_stream *s, char *why, size_t whylen)
{
	const char	*bad;
	uint64_t	 got = 0;
	ssize_t		 n;

	while (got < size) {
		if (bundle_late(&w->b)) {
			snprintf(why, whylen, "the time limit was reached "
			    "while it was read");
			return 1;
		}
		n = read(fd, w->buf, size - got < CHUNK ? size - got : CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(why, whylen, "read: %s", strerror(errno));
			return 1;
		}
		if (n == 0)
			break;		/* shrank: the manifest says changed */
		w->bytes_read += (uint64_t)n;
		if (got == 0 && s != NULL &&
		    (bad = redact_sniff(w->buf, (size_t)n)) != NULL) {
			snprintf(why, whylen, "%s under a redacted path", bad);
			return 1;
		}
		got += (uint64_t)n;
		if (feed(w, s, w->buf, (size_t)n) == -1)
			return -1;
		if (w->b.req->progress != NULL &&
		    w->b.req->progress(w->b.req->progress_arg, path,
		    w->bytes_read) == -1) {
			w->stopped = 1;
			return -1;
		}
	}
	return 0;
}

/* Did the file change while it was read?  Size or mtime differ. */
static int
changed(int fd, const struct stat *before, uint64_t got)
{
	struct stat after;

	if (fstat(fd, &after) == -1)
		return 1;
	return after.st_size != before->st_size ||
	    after.st_mtim.tv_sec != before->st_mtim.tv_sec ||
	    after.st_mtim.tv_nsec != before->st_mtim.tv_nsec ||
	    got != (uint64_t)before->st_size;
}

/* The manifest's entry for a file read. */
static json_t *
file_entry(const struct writer *w, const struct bundle_file *f,
    const struct stat *st, int redacted, int grew_or_shrank,
    const struct redact_stream *s)
{
	char mtime[32];

	parse_format_time(st->st_mtime, mtime, sizeof(mtime));
	return json_pack("{s:s, s:s, s:b, s:o, s:b}", "path", f->path,
	    "mtime", mtime, "redacted", redacted, "redactions",
	    redaction_counts(w->b.req->pol, redacted ? s : NULL),
	    "changed", grew_or_shrank);
}

/* One selected file: opened again the monitor's way, read, added. */
static int
add_file(struct writer *w, const struct bundle_file *f)
{
	const struct policy	*pol = w->b.req->pol;
	struct redact_stream	*s = NULL;
	struct stat		 st;
	json_t			*e = NULL;
	char			 why[WHY_MAX], root[POLICY_PATH_MAX + 1];
	char			 name[POLICY_PATH_MAX + 8];
	uint64_t		 left = pol->bundle_max_size - w->bytes_read;
	uint64_t		 got;
	int			 fd = -1, rc = -1, r, redacted, rest, ch;

	if (bundle_late(&w->b)) {
		bundle_left_out(&w->b, f->path, "the time limit was reached");
		return 0;
	}
	if ((rest = policy_file_root(pol, f->path, 1, root,
	    sizeof(root))) == -1 || beneath_open_file(root,
	    f->path[rest] == '\0' ? "." : f->path + rest, f->path, &fd, &st,
	    why, sizeof(why)) == -1) {
		bundle_left_out(&w->b, f->path, "%s", rest == -1 ?
		    "outside the [files] paths" : why);
		return 0;
	}
	if ((uint64_t)st.st_size > left) {
		w->b.truncated = 1;
		bundle_left_out(&w->b, f->path, "%llu bytes do not fit in "
		    "max_size (%llu bytes left)",
		    (unsigned long long)st.st_size, (unsigned long long)left);
		rc = 0;
		goto out;
	}
	redacted = policy_redacts(pol, f->path);
	if (spool_reset(&w->sp) == -1 ||
	    (redacted && (s = redact_stream_new(pol->redact)) == NULL))
		goto out;
	got = w->bytes_read;
	if ((r = read_file(w, fd, f->path, (uint64_t)st.st_size, s, why,
	    sizeof(why))) != 0) {
		if (r == 1)
			bundle_left_out(&w->b, f->path, "%s", why);
		rc = r == 1 ? 0 : -1;
		goto out;
	}
	got = w->bytes_read - got;
	/*
	 * A file that grew while it was read was cut at its size at open,
	 * perhaps inside a line, and the part of a secret such a line holds
	 * may no longer match: its last line goes out starred whole.
	 */
	ch = changed(fd, &st, got);
	if (s != NULL && (ch ? redact_stream_cut(s, spool_emit, &w->sp) :
	    redact_stream_end(s, spool_emit, &w->sp)) == -1)
		goto out;
	if ((e = file_entry(w, f, &st, redacted, ch, s)) == NULL)
		goto out;
	snprintf(name, sizeof(name), "files%s", f->path);
	if (put_entry(w, name, st.st_mtime, e) == -1)
		goto out;
	if (s != NULL)
		w->redactions += redact_stream_total(s);
	rc = 0;
out:
	json_decref(e);
	redact_stream_free(s);
	if (fd != -1)
		close(fd);
	return rc;
}

/* The top of the manifest: what was asked, by whom, under which bounds. */
static int
manifest_head(struct writer *w)
{
	const struct bundle_req	*req = w->b.req;
	const struct policy	*pol = req->pol;
	json_t			*pats;
	char			 created[32], since[32];
	size_t			 i;

	parse_format_time(req->now, created, sizeof(created));
	parse_format_duration(pol->bundle_since, since, sizeof(since));
	if ((pats = json_array()) == NULL)
		return -1;
	for (i = 0; i < redact_count(pol->redact); i++)
		if (json_array_append_new(pats,
		    json_string(redact_name(pol->redact, i))) == -1) {
			json_decref(pats);
			return -1;
		}
	w->manifest = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s, "
	    "s:I, s:o}", "format", MANIFEST_FORMAT, "id", req->id,
	    "cluster", pol->cluster_id, "created", created,
	    "ticket", req->ticket, "requested_by", req->requested_by,
	    "since", since, "max_size", (json_int_t)pol->bundle_max_size,
	    "redaction_patterns", pats);
	return w->manifest == NULL ? -1 : 0;
}

/* The rest of the manifest, then the manifest itself into the archive. */
static int
manifest_tail(struct writer *w, struct bundle_result *res)
{
	if (json_object_set(w->manifest, "entries", w->entries) == -1 ||
	    json_object_set(w->manifest, "left_out", w->b.left_out) == -1 ||
	    json_object_set_new(w->manifest, "left_out_total",
	    json_integer((json_int_t)w->b.nleft_out)) == -1 ||
	    json_object_set_new(w->manifest, "denied",
	    json_integer((json_int_t)w->b.denied)) == -1 ||
	    json_object_set_new(w->manifest, "not_served",
	    json_integer((json_int_t)w->b.not_served)) == -1 ||
	    json_object_set_new(w->manifest, "bytes_read",
	    json_integer((json_int_t)w->bytes_read)) == -1 ||
	    json_object_set_new(w->manifest, "redactions",
	    json_integer((json_int_t)w->redactions)) == -1 ||
	    json_object_set_new(w->manifest, "truncated",
	    json_boolean(w->b.truncated)) == -1 ||
	    json_object_set_new(w->manifest, "timed_out",
	    json_boolean(w->b.timed_out)) == -1)
		return -1;
	if ((res->manifest = json_dumps(w->manifest, JSON_INDENT(1))) == NULL)
		return -1;
	res->manifest_len = strlen(res->manifest);
	if (put_header(w, "MANIFEST.json", res->manifest_len,
	    w->b.req->now) == -1 ||
	    archive_write_data(w->ar, res->manifest, res->manifest_len) !=
	    (la_ssize_t)res->manifest_len ||
	    archive_write_finish_entry(w->ar) != ARCHIVE_OK)
		return -1;
	return 0;
}

/* An id or a command name: it becomes part of a path in the archive. */
static int
valid_name(const char *s)
{
	return s != NULL && ident_valid(s, BUNDLE_ID_MAX, IDENT_NAME) &&
	    s[0] != '.' && s[0] != '-';
}

/* Free text of the request: NULL, or UTF-8 of at most 256 bytes. */
static int
valid_text(const char *s)
{
	return s == NULL || (strnlen(s, 257) <= 256 &&
	    parse_utf8(s, strlen(s)));
}

/* The request, before anything is opened.  0, or -1 with why. */
static int
check_req(const struct bundle_req *req, char *why, size_t whylen)
{
	size_t i;

	if (req->pol == NULL || !valid_name(req->id)) {
		snprintf(why, whylen, "bundle: not a bundle id: expected 1-%d "
		    "of A-Z a-z 0-9 . _ -", BUNDLE_ID_MAX);
		return -1;
	}
	if (!valid_text(req->ticket) || !valid_text(req->requested_by)) {
		snprintf(why, whylen, "bundle: the ticket or the requester "
		    "is not UTF-8 of at most 256 bytes");
		return -1;
	}
	for (i = 0; i < req->ndiags; i++)
		if (!valid_name(req->diags[i].name)) {
			snprintf(why, whylen, "bundle: not a command name");
			return -1;
		}
	return 0;
}

/* The archive and the scratch file.  0, or -1 with why. */
static int
writer_open(struct writer *w, int out, int spool_dir, char *why,
    size_t whylen)
{
	w->sp.fd = openat(spool_dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC,
	    0600);
	if (w->sp.fd == -1) {
		snprintf(why, whylen, "bundle: cannot make a scratch file: %s",
		    strerror(errno));
		return -1;
	}
	w->out.fd = out;
	if ((w->buf = malloc(CHUNK)) == NULL ||
	    (w->out.md = sha256_new()) == NULL ||
	    (w->entries = json_array()) == NULL ||
	    (w->b.left_out = json_array()) == NULL ||
	    (w->ar = archive_write_new()) == NULL) {
		snprintf(why, whylen, "bundle: out of memory");
		return -1;
	}
	/* pax for long names; no block padding after the gzip stream. */
	if (archive_write_add_filter_gzip(w->ar) != ARCHIVE_OK ||
	    archive_write_set_format_pax_restricted(w->ar) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(w->ar, 1) != ARCHIVE_OK ||
	    archive_write_open(w->ar, &w->out, NULL, out_write, NULL) !=
	    ARCHIVE_OK) {
		snprintf(why, whylen, "bundle: %s",
		    archive_error_string(w->ar));
		return -1;
	}
	return 0;
}

static void
writer_close(struct writer *w)
{
	size_t i;

	if (w->ar != NULL)
		archive_write_free(w->ar);
	if (w->sp.fd != -1)
		close(w->sp.fd);
	sha256_free(w->sp.md);
	sha256_free(w->out.md);
	free(w->buf);
	json_decref(w->manifest);
	json_decref(w->entries);
	json_decref(w->b.left_out);
	for (i = 0; i < w->b.nfiles; i++)
		free(w->b.files[i].path);
	free(w->b.files);
}

/* Everything between opening the archive and closing it. */
static int
write_all(struct writer *w, struct bundle_result *res)
{
	const struct bundle_req	*req = w->b.req;
	size_t			 i;

	if (manifest_head(w) == -1 || bundle_select(&w->b) == -1)
		return -1;
	for (i = 0; i < req->ndiags; i++)
		if (add_diag(w, &req->diags[i]) == -1)
			return -1;
	for (i = 0; i < w->b.nfiles; i++)
		if (add_file(w, &w->b.files[i]) == -1)
			return -1;
	if (w->b.nomem || manifest_tail(w, res) == -1 ||
	    archive_write_close(w->ar) != ARCHIVE_OK)
		return -1;
	return 0;
}

int
bundle_write(const struct bundle_req *req, int out,
    struct bundle_result *res, char *why, size_t whylen)
{
	struct writer	 w;
	int		 rc = -1;

	memset(res, 0, sizeof(*res));
	memset(&w, 0, sizeof(w));
	w.sp.fd = -1;
	w.b.req = req;
	if (check_req(req, why, whylen) == -1)
		return -1;
	snprintf(w.dir, sizeof(w.dir), "porthole-bundle-%s", req->id);
	if (writer_open(&w, out, req->spool_dir, why, whylen) == -1)
		goto out;
	if (write_all(&w, res) == -1) {
		if (w.stopped)
			snprintf(why, whylen, "bundle: stopped");
		else if (w.out.err != 0 || w.sp.err != 0)
			snprintf(why, whylen, "bundle: %s", strerror(
			    w.out.err != 0 ? w.out.err : w.sp.err));
		else
			snprintf(why, whylen, "bundle: %s",
			    archive_errno(w.ar) != 0 ?
			    archive_error_string(w.ar) : "out of memory");
		goto out;
	}
	sha256_final(w.out.md, res->sha256);	/* frees it */
	w.out.md = NULL;
	if (!sha256_valid_hex(res->sha256)) {
		snprintf(why, whylen, "bundle: the archive's SHA-256 failed");
		goto out;
	}
	res->size = w.out.n;
	res->bytes_read = w.bytes_read;
	res->files = json_array_size(w.entries);
	res->left_out = w.b.nleft_out;
	res->redactions = w.redactions;
	res->truncated = w.b.truncated;
	res->timed_out = w.b.timed_out;
	rc = 0;
out:
	writer_close(&w);
	if (rc == -1)
		bundle_result_free(res);
	return rc;
}

void
bundle_result_free(struct bundle_result *res)
{
	free(res->manifest);
	res->manifest = NULL;
	res->manifest_len = 0;
}
