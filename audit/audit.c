/*
 * audit.c - append-only JSON Lines audit log with a SHA-256 hash chain.
 *
 * One writer owns the file.  Each event is formatted completely, written
 * with one write(2) and made durable with fdatasync() before the caller
 * is told it succeeded; the caller acts on a decision only after that.
 */
#include "audit/audit.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "audit/logfiles.h"
#include "audit/seal.h"
#include "lib/clock.h"
#include "lib/ident.h"
#include "lib/log.h"
#include "lib/parse.h"

/* The open log: where the chain stands and how many bytes it holds. */
struct audit {
	char		 dir[4096];
	char		 path[4200];	/* dir/audit.log */
	uint64_t	 first_seq;	/* of its first line, 0: empty */
	uint64_t	 rotate;	/* bytes; 0: never */
	int		 fd;
	uint64_t	 seq;		/* of the last line written */
	char		 prev[65];	/* hex SHA-256 of the last line */
	off_t		 size;		/* bytes of complete lines */
	int		 broken;	/* file state unknown: refuse writes */
	int		 sealing;	/* seals enabled */
	char		 key_path[4096];
	struct seal_key	 key;		/* the current epoch's key */
	uint64_t	 seal_every;	/* events between seals */
	uint64_t	 since_seal;	/* events since the last seal */
	time_t		 seal_ts;	/* the seal line being written */
	int		 key_unsaved;	/* the next key is not stored yet */
	int		 tail_seal;	/* the last line is a seal ... */
	uint64_t	 tail_epoch;	/* ... of this epoch */
	audit_seal_cb	 on_seal;	/* told each seal's head */
	void		*on_seal_arg;
};

static int
hash_line(const char *line, size_t len, char out[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char	md[32];
	unsigned int	mdlen = 0;
	size_t		i;

	if (EVP_Digest(line, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof(md))
		return -1;
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[64] = '\0';
	return 0;
}

/*
 * Resume seq and prev from the last complete line of the file open on
 * fd (path, *size bytes).  In the live file a torn tail (bytes after the
 * last newline) left by a crash is cut off and *size lowered; a rotated
 * part was closed after a seal, so a torn tail there is refused.  Only
 * the end of the file is read: a line (newline included) is at most
 * AUDIT_MAX_LINE bytes and so is a torn tail, so the last line lies in
 * the final 2 * AUDIT_MAX_LINE + 2 bytes.  Anything longer was not
 * written by us and is left alone for the auditor: we refuse to append.
 */
static int
audit_last_line(struct audit *a, int fd, const char *path, off_t *size,
    int live, char *err, size_t errlen)
{
	char		*buf = NULL, *end, *start;
	off_t		 from;
	size_t		 want, len;
	ssize_t		 n;
	json_t		*j = NULL, *jseq;
	int		 rc = -1;

	if (*size == 0)
		return 0;
	want = *size < (off_t)(2 * AUDIT_MAX_LINE + 2) ? (size_t)*size :
	    2 * AUDIT_MAX_LINE + 2;
	from = *size - (off_t)want;
	if ((buf = malloc(want + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if ((n = pread(fd, buf, want, from)) != (ssize_t)want) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    n == -1 ? strerror(errno) : "short read");
		goto out;
	}
	buf[want] = '\0';
	end = memrchr(buf, '\n', want);
	/* Bytes after the last newline (all of them if there is none). */
	len = end == NULL ? want : (size_t)(buf + want - (end + 1));
	if (len >= AUDIT_MAX_LINE || (len > 0 && !live)) {
		snprintf(err, errlen, "%s: %zu bytes after the last complete "
		    "line, %s; refusing to append", path, len, live ?
		    "more than a torn line can hold" : "in a closed part");
		goto out;
	}
	if (len > 0) {
		log_warn("%s: cutting a torn last line of %zu bytes", path,
		    len);
		*size -= (off_t)len;
		if (ftruncate(fd, *size) == -1) {
			snprintf(err, errlen, "%s: cannot cut the torn line: %s",
			    path, strerror(errno));
			goto out;
		}
	}
	if (*size == 0 || end == NULL) {
		rc = 0;
		goto out;
	}
	*end = '\0';
	start = memrchr(buf, '\n', (size_t)(end - buf));
	start = start == NULL ? buf : start + 1;
	/* The writer never makes a line of AUDIT_MAX_LINE bytes or more. */
	if ((start == buf && from != 0) ||
	    (size_t)(end - start) >= AUDIT_MAX_LINE) {
		snprintf(err, errlen, "%s: last line longer than %d bytes; "
		    "refusing to append", path, AUDIT_MAX_LINE);
		goto out;
	}
	len = (size_t)(end - start);
	if ((j = json_loadb(start, len, 0, NULL)) == NULL ||
	    (jseq = json_object_get(j, "seq")) == NULL ||
	    !json_is_integer(jseq) || json_integer_value(jseq) < 1) {
		snprintf(err, errlen, "%s: last line is not an audit event; "
		    "refusing to append", path);
		goto out;
	}
	a->seq = (uint64_t)json_integer_value(jseq);
	/* A seal last: its key may not have been moved on (audit_seal). */
	jseq = json_object_get(j, "epoch");
	a->tail_seal = 0;
	if (json_is_string(json_object_get(j, "type")) &&
	    strcmp(json_string_value(json_object_get(j, "type")), "seal") ==
	    0 && json_is_integer(jseq) && json_integer_value(jseq) >= 0) {
		a->tail_seal = 1;
		a->tail_epoch = (uint64_t)json_integer_value(jseq);
	}
	if (hash_line(start, len, a->prev) == -1) {
		snprintf(err, errlen, "%s: cannot hash the last line", path);
		goto out;
	}
	rc = 0;
out:
	json_decref(j);
	free(buf);
	return rc;
}

/* The seq of the live file's first line, which names it when rotated. */
static int
audit_first_seq(struct audit *a, char *err, size_t errlen)
{
	char		 buf[40];
	ssize_t		 n;
	uint64_t	 v = 0;
	int		 i;

	if ((n = pread(a->fd, buf, sizeof(buf) - 1, 0)) < 8 ||
	    memcmp(buf, "{\"seq\":", 7) != 0) {
		snprintf(err, errlen, "%s: the first line is not an audit "
		    "event; refusing to append", a->path);
		return -1;
	}
	for (i = 7; i < n && i < 26 && buf[i] >= '0' && buf[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(buf[i] - '0');	/* 19 digits: fits */
	if (v == 0 || i == 7) {
		snprintf(err, errlen, "%s: the first line has no seq; "
		    "refusing to append", a->path);
		return -1;
	}
	a->first_seq = v;
	return 0;
}

/*
 * Where the chain stands: the live file's last line, or when the live
 * file is empty (new, or just rotated) the newest part's.
 */
static int
audit_resume(struct audit *a, char *err, size_t errlen)
{
	struct audit_files	 files;
	struct stat		 st;
	off_t			 psize;
	int			 pfd, rc;

	if (fstat(a->fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", a->path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", a->path);
		return -1;
	}
	memset(a->prev, '0', 64);
	a->prev[64] = '\0';
	a->seq = 0;
	a->first_seq = 0;
	a->size = st.st_size;
	if (audit_last_line(a, a->fd, a->path, &a->size, 1, err,
	    errlen) == -1)
		return -1;
	if (a->size > 0)
		return audit_first_seq(a, err, errlen);
	if (audit_files_list(a->dir, &files, err, errlen) == -1)
		return -1;
	if (files.n == (size_t)files.live) {
		audit_files_free(&files);
		return 0;	/* a new log */
	}
	rc = -1;
	if ((pfd = open(files.path[files.n - 1 - (size_t)files.live],
	    O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1 || fstat(pfd,
	    &st) == -1)
		snprintf(err, errlen, "%s: %s", files.path[files.n - 1 -
		    (size_t)files.live], strerror(errno));
	else {
		psize = st.st_size;
		rc = audit_last_line(a, pfd, files.path[files.n - 1 -
		    (size_t)files.live], &psize, 0, err, errlen);
	}
	if (pfd != -1)
		close(pfd);
	audit_files_free(&files);
	return rc;
}

int
audit_open(const char *dir, struct audit **out, char *err, size_t errlen)
{
	struct audit *a;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", dir);
		return -1;
	}
	a->fd = -1;
	if ((size_t)snprintf(a->dir, sizeof(a->dir), "%s", dir) >=
	    sizeof(a->dir) || (size_t)snprintf(a->path, sizeof(a->path),
	    "%s/%s", dir, AUDIT_FILE) >= sizeof(a->path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		goto fail;
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create: %s", dir,
		    strerror(errno));
		goto fail;
	}
	a->fd = open(a->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (a->fd == -1) {
		snprintf(err, errlen, "%s: cannot open: %s", a->path,
		    strerror(errno));
		goto fail;
	}
	if (audit_resume(a, err, errlen) == -1)
		goto fail;
	*out = a;
	return 0;
fail:
	audit_close(a);
	return -1;
}

static int
valid_type(const char *type)
{
	return ident_valid(type, 32, IDENT_LOWER);
}

static int	audit_append(struct audit *, const char *, json_t *);

/*
 * Format event number a->seq + 1 as one line ending in a newline, in
 * *linep (length *lenp, newline included).  -1 if the event is refused.
 */
static int
audit_format(struct audit *a, const char *type, json_t *fields,
    char **linep, size_t *lenp)
{
	static const char *reserved[] = { "seq", "ts", "type", "prev", NULL };
	json_t		*ev = NULL;
	char		*line = NULL, ts[32];
	/* A seal's time is fixed before its MAC is made over it. */
	time_t		 now = a->seal_ts != 0 ? a->seal_ts : clock_now();
	size_t		 len, i;
	int		 rc = -1;

	if (type == NULL || !valid_type(type)) {
		log_error("%s: refused an event with an invalid type",
		    a->path);
		return -1;
	}
	if (fields != NULL && !json_is_object(fields)) {
		log_error("%s: refused a %s event: fields are not an object",
		    a->path, type);
		return -1;
	}
	for (i = 0; fields != NULL && reserved[i] != NULL; i++) {
		if (json_object_get(fields, reserved[i]) != NULL) {
			log_error("%s: refused a %s event: field \"%s\" is "
			    "reserved", a->path, type, reserved[i]);
			return -1;
		}
	}
	parse_format_time(now, ts, sizeof(ts));
	if (ts[0] == '\0')
		return -1;
	ev = json_pack("{s:I, s:s, s:s, s:s}", "seq",
	    (json_int_t)(a->seq + 1), "ts", ts, "type", type, "prev", a->prev);
	if (ev == NULL || (fields != NULL && json_object_update(ev,
	    fields) == -1))
		goto out;
	/* Compact and ASCII-only: control characters are escaped. */
	line = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_ENSURE_ASCII);
	if (line == NULL)
		goto out;
	if ((len = strlen(line)) >= AUDIT_MAX_LINE) {
		log_error("%s: refused a %s event of %zu bytes (limit %d)",
		    a->path, type, len + 1, AUDIT_MAX_LINE);
		goto out;
	}
	line[len] = '\n';	/* json_dumps' NUL becomes the newline */
	*linep = line;
	*lenp = len + 1;
	line = NULL;
	rc = 0;
out:
	free(line);
	json_decref(ev);
	return rc;
}

/*
 * Put the log back to its last acknowledged size after a failed append,
 * so no torn or unacknowledged line stays behind.  If even that fails the
 * file's state is unknown and the log refuses all further writes.
 */
static void
audit_rollback(struct audit *a)
{
	if (ftruncate(a->fd, a->size) == -1) {
		log_error("%s: cannot cut back to %lld bytes: %s; refusing "
		    "further writes", a->path, (long long)a->size,
		    strerror(errno));
		a->broken = 1;
	}
}

static int
audit_append(struct audit *a, const char *type, json_t *fields)
{
	char		*line = NULL, hash[65], kerr[512];
	size_t		 len, off = 0;
	ssize_t		 n;
	int		 rc = -1;

	if (a->broken)
		return -1;
	/*
	 * Nothing goes after a seal until the next epoch's key is stored:
	 * a restart must find the used key's seal as the last line.
	 */
	if (a->key_unsaved) {
		if (seal_key_store(a->key_path, &a->key, kerr,
		    sizeof(kerr)) == -1) {
			log_error("audit: still cannot store the next seal key "
			    "(%s): refusing to write", kerr);
			return -1;
		}
		a->key_unsaved = 0;
		log_info("audit: the next seal key is stored; writing again");
	}
	if (audit_format(a, type, fields, &line, &len) == -1)
		return -1;
	if (hash_line(line, len - 1, hash) == -1) {
		log_error("%s: cannot hash a %s event", a->path, type);
		goto out;
	}
	while (off < len) {
		n = write(a->fd, line + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_error("%s: write: %s", a->path,
			    n == -1 ? strerror(errno) : "no progress");
			audit_rollback(a);
			goto out;
		}
		off += (size_t)n;
	}
	/*
	 * After a failed fdatasync the kernel may have dropped the dirty
	 * pages and a later fdatasync can succeed without them, so no line
	 * of this log is known to be durable any more: take this one back
	 * and refuse further writes until the log is reopened.
	 */
	if (fdatasync(a->fd) == -1) {
		log_error("%s: fdatasync: %s; refusing further writes",
		    a->path, strerror(errno));
		audit_rollback(a);
		a->broken = 1;
		goto out;
	}
	if (a->size == 0)
		a->first_seq = a->seq + 1;
	a->size += (off_t)len;
	a->seq++;
	memcpy(a->prev, hash, sizeof(a->prev));
	rc = 0;
out:
	free(line);
	return rc;
}

int
audit_write(struct audit *a, const char *type, json_t *fields)
{
	if (type != NULL && strcmp(type, "seal") == 0) {
		log_error("%s: refused an event of the reserved type seal",
		    a->path);
		return -1;
	}
	if (audit_append(a, type, fields) == -1)
		return -1;
	a->since_seal++;
	if (a->sealing && a->since_seal >= a->seal_every)
		return audit_seal(a);
	return 0;
}

int
audit_enable_seals(struct audit *a, const char *key_path, uint64_t every,
    char *err, size_t errlen)
{
	if ((size_t)snprintf(a->key_path, sizeof(a->key_path), "%s",
	    key_path) >= sizeof(a->key_path)) {
		snprintf(err, errlen, "%s: path too long", key_path);
		return -1;
	}
	if (seal_key_load(key_path, &a->key, err, errlen) == -1)
		return -1;
	/*
	 * The log ends in a seal made with the key on disk: the process
	 * stopped between the seal and storing the next key.  Move on now,
	 * or the next seal would repeat the epoch.
	 */
	if (a->tail_seal && a->tail_epoch > a->key.epoch) {
		snprintf(err, errlen, "%s: at epoch %llu, behind the log's last "
		    "seal (epoch %llu): not the key of this log", key_path,
		    (unsigned long long)a->key.epoch,
		    (unsigned long long)a->tail_epoch);
		OPENSSL_cleanse(&a->key, sizeof(a->key));
		return -1;
	}
	if (a->tail_seal && a->tail_epoch == a->key.epoch) {
		seal_key_evolve(&a->key);
		if (seal_key_store(key_path, &a->key, err, errlen) == -1) {
			OPENSSL_cleanse(&a->key, sizeof(a->key));
			return -1;
		}
		log_warn("audit: the log ends in the seal of epoch %llu, whose "
		    "key was still stored: moved on to epoch %llu",
		    (unsigned long long)a->tail_epoch,
		    (unsigned long long)a->key.epoch);
	}
	if (a->tail_seal && a->tail_epoch + 1 < a->key.epoch)
		log_warn("audit: the log's last line is the seal of epoch "
		    "%llu and the key is at epoch %llu: audit verify will "
		    "report the gap after it", (unsigned long long)
		    a->tail_epoch, (unsigned long long)a->key.epoch);
	a->seal_every = every == 0 ? 1 : every;
	a->sealing = 1;
	return 0;
}

/*
 * Close the live file as the part named for its first seq and start a
 * new one; called right after a seal, so every part ends in one.  The
 * chain runs on: the new file's first line chains to the seal.  A crash
 * after the rename leaves no live file, and audit_open() resumes from
 * the part.  On a failure the live file stays as it was (0 or -1).
 */
static int
audit_rotate(struct audit *a)
{
	char	name[AUDIT_PART_NAME_LEN + 1], part[4200];
	struct stat st;
	int	dfd, nfd;

	if (a->first_seq == 0 || a->broken)
		return 0;
	audit_part_name(a->first_seq, name, sizeof(name));
	snprintf(part, sizeof(part), "%s/%s", a->dir, name);
	if (lstat(part, &st) == 0 || errno != ENOENT) {
		log_error("%s: exists already: not rotating %s", part,
		    a->path);
		return -1;
	}
	if ((dfd = open(a->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_error("%s: cannot open: %s; not rotating", a->dir,
		    strerror(errno));
		return -1;
	}
	if (rename(a->path, part) == -1) {
		log_error("%s: cannot rename to %s: %s; not rotating",
		    a->path, name, strerror(errno));
		close(dfd);
		return -1;
	}
	if ((nfd = open(a->path, O_RDWR | O_APPEND | O_CREAT | O_EXCL |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
		log_error("%s: cannot create: %s; not rotating", a->path,
		    strerror(errno));
		if (rename(part, a->path) == -1) {
			log_error("%s: cannot rename back: %s; refusing "
			    "further writes", part, strerror(errno));
			a->broken = 1;
		}
		close(dfd);
		return -1;
	}
	/* Both names must be durable before a line goes into the new file. */
	if (fsync(dfd) == -1) {
		log_error("%s: cannot sync: %s; refusing further writes",
		    a->dir, strerror(errno));
		a->broken = 1;
	}
	close(dfd);
	close(a->fd);
	a->fd = nfd;
	a->size = 0;
	log_info("audit: %s holds seq %llu to %llu; %s starts afresh", part,
	    (unsigned long long)a->first_seq, (unsigned long long)a->seq,
	    AUDIT_FILE);
	a->first_seq = 0;
	return a->broken ? -1 : 0;
}

void
audit_set_rotate(struct audit *a, uint64_t bytes)
{
	a->rotate = bytes;
}

void
audit_set_seal_every(struct audit *a, uint64_t every)
{
	a->seal_every = every == 0 ? 1 : every;
}

/*
 * Seal the chain head with this epoch's key, then store the next key
 * and wipe this one.  Epochs so go up by exactly one, which lets the
 * verifier refuse any gap (a log cut back and sealed again with a later
 * key).  A crash between the seal and the store leaves the seal as the
 * last line with the used key on disk, and audit_enable_seals() moves
 * on from it; a store that fails holds every later line back until it
 * succeeds (audit_append), so that stays true.
 */
int
audit_seal(struct audit *a)
{
	struct seal_key	 used;
	char		 mac[65], err[512], ts[32];
	json_t		*ev;
	uint64_t	 epoch;
	int		 rc;

	if (!a->sealing)
		return 0;
	used = a->key;
	a->seal_ts = clock_now();
	parse_format_time(a->seal_ts, ts, sizeof(ts));
	seal_mac(&used, a->seq + 1, ts, a->prev, mac);
	OPENSSL_cleanse(&used, sizeof(used));
	epoch = a->key.epoch;
	ev = json_pack("{s:I, s:s}", "epoch", (json_int_t)epoch, "mac", mac);
	rc = audit_append(a, "seal", ev);
	a->seal_ts = 0;
	json_decref(ev);
	if (rc == -1)
		return -1;	/* not written: this epoch seals next time */
	a->since_seal = 0;
	seal_key_evolve(&a->key);
	if (seal_key_store(a->key_path, &a->key, err, sizeof(err)) == -1) {
		log_error("audit: cannot store the next seal key: %s; "
		    "refusing to write until it is stored", err);
		a->key_unsaved = 1;
		rc = -1;
	}
	if (a->on_seal != NULL)
		a->on_seal(a->on_seal_arg, epoch, a->seq, a->prev);
	if (rc == 0 && a->rotate > 0 && (uint64_t)a->size >= a->rotate)
		(void)audit_rotate(a);
	return rc;
}

void
audit_on_seal(struct audit *a, audit_seal_cb cb, void *arg)
{
	a->on_seal = cb;
	a->on_seal_arg = arg;
}

void
audit_forget(struct audit *a)
{
	OPENSSL_cleanse(&a->key, sizeof(a->key));
	a->sealing = 0;
}

uint64_t
audit_seq(const struct audit *a)
{
	return a->seq;
}

void
audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	if (a->fd != -1)
		close(a->fd);
	OPENSSL_cleanse(&a->key, sizeof(a->key));
	free(a);
}
