/*
 * test_audit.c - the audit log as a reader sees it: one JSON object per
 * line, seq counting up, each prev the SHA-256 of the line before, and a
 * log that survives reopening and a crash mid-line.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "audit/audit.h"
#include "audit/logfiles.h"
#include "audit/verify.h"
#include "audit/seal.h"
#include "lib/clock.h"

static char	dir[64];
static char	logpath[128];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/porthole-audit.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(logpath, sizeof(logpath), "%s/%s", dir, AUDIT_FILE);
	clock_set_fixed(1795000000);	/* 2026-11-18T... */
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	clock_set_fixed(0);
	return system(cmd);
}

static void
sha256_hex(const char *s, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n;
	int i;

	EVP_Digest(s, len, md, &n, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Read a log and check the whole chain; returns the number of lines. */
static int
verify_chain_at(const char *path)
{
	char	buf[AUDIT_MAX_LINE + 2], prev[65];
	FILE	*f;
	json_t	*j;
	int	 n = 0;

	memset(prev, '0', 64);
	prev[64] = '\0';
	assert_non_null(f = fopen(path, "r"));
	while (fgets(buf, sizeof(buf), f) != NULL) {
		size_t len = strlen(buf);

		assert_true(len > 0 && buf[len - 1] == '\n');
		buf[--len] = '\0';
		assert_non_null(j = json_loads(buf, 0, NULL));
		assert_int_equal(json_integer_value(json_object_get(j, "seq")),
		    n + 1);
		assert_string_equal(json_string_value(json_object_get(j,
		    "prev")), prev);
		json_decref(j);
		sha256_hex(buf, len, prev);
		n++;
	}
	fclose(f);
	return n;
}

static int
verify_chain(void)
{
	return verify_chain_at(logpath);
}

static void
test_chain_and_fields(void **state)
{
	struct audit	*a;
	char		 err[256], buf[AUDIT_MAX_LINE];
	json_t		*ev, *j;
	FILE		*f;

	(void)state;
	assert_int_equal(audit_open(dir, &a, err, sizeof(err)), 0);
	ev = json_pack("{s:s, s:s}", "session", "abc", "engineer", "alice");
	assert_int_equal(audit_write(a, "auth_accepted", ev), 0);
	json_decref(ev);
	assert_int_equal(audit_write(a, "gateway_stop", NULL), 0);
	assert_int_equal(audit_seq(a), 2);
	audit_close(a);
	assert_int_equal(verify_chain(), 2);
	assert_non_null(f = fopen(logpath, "r"));
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	/* Fixed keys first, then the event's own, in order. */
	assert_non_null(strstr(buf, "{\"seq\":1,\"ts\":\"2026-11-18T"));
	assert_non_null(strstr(buf, "\"type\":\"auth_accepted\",\"prev\":\""));
	assert_non_null(strstr(buf, "\"session\":\"abc\",\"engineer\":\"alice\"}"));
	assert_non_null(j = json_loads(buf, 0, NULL));
	json_decref(j);
}

static void
test_reopen_and_torn_tail(void **state)
{
	struct audit	*a;
	char		 err[256];
	FILE		*f;

	(void)state;
	assert_int_equal(audit_open(dir, &a, err, sizeof(err)), 0);
	assert_int_equal(audit_seq(a), 2);	/* resumes */
	assert_int_equal(audit_write(a, "gateway_start", NULL), 0);
	audit_close(a);
	assert_int_equal(verify_chain(), 3);
	/* A crash left half a line. */
	assert_non_null(f = fopen(logpath, "a"));
	fputs("{\"seq\":4,\"ts\":\"2026-", f);
	fclose(f);
	assert_int_equal(audit_open(dir, &a, err, sizeof(err)), 0);
	assert_int_equal(audit_seq(a), 3);
	assert_int_equal(audit_write(a, "gateway_start", NULL), 0);
	audit_close(a);
	assert_int_equal(verify_chain(), 4);
}

static void
test_refused_events(void **state)
{
	struct audit	*a;
	char		 err[256], *big;
	json_t		*ev;

	(void)state;
	assert_int_equal(audit_open(dir, &a, err, sizeof(err)), 0);
	ev = json_pack("{s:i}", "seq", 99);
	assert_int_equal(audit_write(a, "x", ev), -1);	/* reserved key */
	json_decref(ev);
	ev = json_pack("{s:s}", "prev", "0");
	assert_int_equal(audit_write(a, "x", ev), -1);
	json_decref(ev);
	assert_int_equal(audit_write(a, "Bad-Type", NULL), -1);
	assert_int_equal(audit_write(a, "", NULL), -1);
	big = malloc(AUDIT_MAX_LINE + 1);
	memset(big, 'a', AUDIT_MAX_LINE);
	big[AUDIT_MAX_LINE] = '\0';
	ev = json_pack("{s:s}", "object", big);
	assert_int_equal(audit_write(a, "big", ev), -1);	/* too long */
	json_decref(ev);
	free(big);
	assert_int_equal(audit_seq(a), 4);	/* nothing was written */
	audit_close(a);
	assert_int_equal(verify_chain(), 4);
}

static void
test_write_failure(void **state)
{
	struct audit	*a;
	struct rlimit	 rl, old;
	struct stat	 st;
	char		 err[256];

	(void)state;
	assert_int_equal(audit_open(dir, &a, err, sizeof(err)), 0);
	assert_int_equal(stat(logpath, &st), 0);
	/* The file may not grow: the write fails and leaves nothing. */
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	rl = old;
	rl.rlim_cur = (rlim_t)st.st_size + 10;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
	assert_int_equal(audit_write(a, "gateway_start", NULL), -1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(verify_chain(), 4);
	/* Writing works again once the disk does. */
	assert_int_equal(audit_write(a, "gateway_start", NULL), 0);
	audit_close(a);
	assert_int_equal(verify_chain(), 5);
}

static void
test_unwritable_dir(void **state)
{
	struct audit	*a;
	char		 err[256];

	(void)state;
	assert_int_equal(audit_open("/proc/porthole-no-such-dir", &a, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "/proc/porthole-no-such-dir"));
}

/* Read the whole file at path into memory. */
static char *
slurp_path(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf;
	long	 n;

	assert_non_null(f = fopen(path, "r"));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* The whole log. */
static char *
slurp(size_t *len)
{
	return slurp_path(logpath, len);
}

static void
spill(const char *buf, size_t len)
{
	FILE *f;

	assert_non_null(f = fopen(logpath, "w"));
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

/* In the style of systemd's test-journal-verify: flip every byte. */
static void
test_verify_bit_flips(void **state)
{
	struct audit_verify	 v;
	char			*orig, *buf, *nl;
	size_t			 len, i, last;
	int			 rc;

	(void)state;
	assert_int_equal(audit_verify_file(logpath, NULL, &v, NULL, NULL), 0);
	assert_int_equal(v.events, 5);
	assert_false(v.torn_tail);
	orig = slurp(&len);
	buf = malloc(len);
	/*
	 * Every line but the last is covered by the prev of the line after
	 * it.  The last one is covered only once another event (or, with
	 * issue 6, a seal) follows: flips there are not checked here.
	 */
	last = len - 1;
	while (last > 0 && orig[last - 1] != '\n')
		last--;
	for (i = 0; i < last; i++) {
		memcpy(buf, orig, len);
		buf[i] ^= 0x01;
		spill(buf, len);
		rc = audit_verify_file(logpath, NULL, &v, NULL, NULL);
		if (rc == 0)
			fail_msg("flipped byte %zu of %zu (last line at %zu) went unnoticed: %.80s", i, len, last, buf + (i > 40 ? i - 40 : 0));
	}
	/* A line removed from the middle. */
	spill(orig, len);
	assert_int_equal(audit_verify_file(logpath, NULL, &v, NULL, NULL), 0);
	{
		char	*second, *third;
		FILE	*f;

		nl = memchr(orig, '\n', len);
		second = nl + 1;
		nl = memchr(second, '\n', len - (size_t)(second - orig));
		third = nl + 1;

		assert_non_null(f = fopen(logpath, "w"));
		fwrite(orig, 1, (size_t)(second - orig), f);
		fwrite(third, 1, len - (size_t)(third - orig), f);
		fclose(f);
	}
	assert_int_equal(audit_verify_file(logpath, NULL, &v, NULL, NULL), 1);
	assert_int_equal(v.bad_line, 2);
	/* A torn tail is reported as such, not as tampering. */
	spill(orig, len - 5);
	assert_int_equal(audit_verify_file(logpath, NULL, &v, NULL, NULL), 0);
	assert_true(v.torn_tail);
	assert_int_equal(v.events, 4);
	spill(orig, len);
	free(buf);
	free(orig);
}

/* A log in its own directory below dir, for the tests that start afresh. */
static void
subdir(char *d, size_t dlen, char *path, size_t pathlen, const char *name)
{
	snprintf(d, dlen, "%s/%s", dir, name);
	snprintf(path, pathlen, "%s/%s", d, AUDIT_FILE);
}

/* Cut the log at path right after its first seal line. */
static void
cut_after_first_seal(const char *path)
{
	FILE	*f;
	char	 line[AUDIT_MAX_LINE + 2];
	long	 end = -1;

	assert_non_null(f = fopen(path, "r"));
	while (end == -1 && fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "\"type\":\"seal\"") != NULL)
			end = ftell(f);
	fclose(f);
	assert_true(end > 0);
	assert_int_equal(truncate(path, end), 0);
}

/*
 * The process stops between a seal line and storing the next key: the
 * log ends in that seal and the key on disk is the one it used.  On
 * the next start the writer moves on, so no epoch is used twice and
 * none is skipped.
 */
static void
test_seal_then_crash(void **state)
{
	struct audit		*a;
	struct audit_verify	 v;
	struct seal_key		 k0, k;
	char			 d[128], lpath[300], kpath[256], err[512];

	(void)state;
	subdir(d, sizeof(d), lpath, sizeof(lpath), "crashseal");
	snprintf(kpath, sizeof(kpath), "%s/crash.key", dir);
	assert_int_equal(seal_key_init(kpath, &k0, err, sizeof(err)), 0);
	assert_int_equal(audit_open(d, &a, err, sizeof(err)), 0);
	assert_int_equal(audit_enable_seals(a, kpath, 100, err, sizeof(err)),
	    0);
	assert_int_equal(audit_write(a, "gateway_start", NULL), 0);
	assert_int_equal(audit_seal(a), 0);
	assert_int_equal(seal_key_load(kpath, &k, err, sizeof(err)), 0);
	assert_int_equal(k.epoch, 1);
	audit_close(a);
	/* As if the process had died before the next key was stored. */
	assert_int_equal(seal_key_store(kpath, &k0, err, sizeof(err)), 0);
	assert_int_equal(audit_open(d, &a, err, sizeof(err)), 0);
	assert_int_equal(audit_enable_seals(a, kpath, 100, err, sizeof(err)),
	    0);
	assert_int_equal(seal_key_load(kpath, &k, err, sizeof(err)), 0);
	assert_int_equal(k.epoch, 1);
	assert_int_equal(audit_write(a, "gateway_start", NULL), 0);
	assert_int_equal(audit_seal(a), 0);
	audit_close(a);
	assert_int_equal(audit_verify_file(lpath, k0.key, &v, NULL, NULL), 0);
	assert_int_equal(v.seals, 2);
	/* A key behind the log's last seal is not this log's key. */
	assert_int_equal(seal_key_store(kpath, &k0, err, sizeof(err)), 0);
	assert_int_equal(audit_open(d, &a, err, sizeof(err)), 0);
	assert_int_equal(audit_enable_seals(a, kpath, 100, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "behind the log's last seal"));
	audit_close(a);
	unlink(kpath);
}

/*
 * The thief of the host holds the key of the current epoch: a log cut
 * back to an old seal and sealed again with that key, or a log written
 * anew and sealed with it, has a gap in its epochs.
 */
static void
test_resealed_with_later_key(void **state)
{
	struct audit		*a;
	struct audit_verify	 v;
	struct seal_key		 k0, k;
	char			 d[128], lpath[300], kpath[256], err[512];
	int			 i;

	(void)state;
	subdir(d, sizeof(d), lpath, sizeof(lpath), "resealed");
	snprintf(kpath, sizeof(kpath), "%s/resealed.key", dir);
	assert_int_equal(seal_key_init(kpath, &k0, err, sizeof(err)), 0);
	assert_int_equal(audit_open(d, &a, err, sizeof(err)), 0);
	assert_int_equal(audit_enable_seals(a, kpath, 2, err, sizeof(err)), 0);
	for (i = 0; i < 6; i++)
		assert_int_equal(audit_write(a, "session_opened", NULL), 0);
	audit_close(a);
	assert_int_equal(audit_verify_file(lpath, k0.key, &v, NULL, NULL), 0);
	assert_int_equal(v.seals, 3);
	/* Cut back to seal 0, then sealed with the host's key (epoch 3). */
	cut_after_first_seal(lpath);
	assert_int_equal(audit_open(d, &a, err, sizeof(err)), 0);
	assert_int_equal(audit_enable_seals(a, kpath, 2, err, sizeof(err)), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(audit_write(a, "gateway_start", NULL), 0);
	audit_close(a);
	assert_int_equal(audit_verify_file(lpath, NULL, &v, NULL, NULL), 1);
	assert_non_null(strstr(v.reason, "epoch 3 does not follow epoch 0"));
	assert_int_equal(audit_verify_file(lpath, k0.key, &v, NULL, NULL), 1);
	assert_int_equal(v.bad_line, 6);
	/* A new log sealed with a later key lacks the seals before it. */
	unlink(lpath);
	assert_int_equal(audit_open(d, &a, err, sizeof(err)), 0);
	assert_int_equal(audit_enable_seals(a, kpath, 2, err, sizeof(err)), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(audit_write(a, "gateway_start", NULL), 0);
	audit_close(a);
	assert_int_equal(seal_key_load(kpath, &k, err, sizeof(err)), 0);
	assert_int_equal(k.epoch, 5);
	assert_int_equal(audit_verify_file(lpath, NULL, &v, NULL, NULL), 1);
	assert_non_null(strstr(v.reason, "first seal is of epoch 4, not 0"));
	unlink(kpath);
}

static off_t	file_size(const char *);

/*
 * After prev, a line must hold the compact JSON the writer prints: one
 * line logs, each the first of its chain, hold each tail to that.
 */
static void
test_verify_line_json(void **state)
{
	static const struct {
		const char	*tail;
		int		 rc;
	} t[] = {
		{ "}", 0 },
		{ ",\"a\":1}", 0 },
		{ ",\"a\":{\"b\":[1,-2.5e-3,0,\"s\\u00e9\\n\",true,false,null]},"
		    "\"c\":[]}", 0 },
		{ ",\"a\":{}}", 0 },
		{ "", 1 }, { ",}", 1 }, { ",\"a\":}", 1 }, { ",\"a\":01}", 1 },
		{ ",\"a\":1.}", 1 }, { ",\"a\":1e}", 1 }, { ",\"a\":-}", 1 },
		{ ",\"a\":\"\\q\"}", 1 }, { ",\"a\":\"\\u12g4\"}", 1 },
		{ ",\"a\":[1,]}", 1 }, { ",\"a\":tru}", 1 }, { ",\"a\":1 }", 1 },
		{ ",\"a\":1}}", 1 }, { ",\"a\":1,}", 1 }, { ",a:1}", 1 },
		{ ",\"a\" :1}", 1 }, { ",\"a\":\"open}", 1 }, { "}x}", 1 },
		/* A field twice, or one of the prefix's again. */
		{ ",\"a\":1,\"a\":2}", 1 }, { ",\"ts\":\"2026-12-03T10:00:01Z\"}", 1 },
		{ ",\"a\":1,\"prev\":\"x\"}", 1 }, { ",\"a\":1,\"b\":2}", 0 },
		{ ",\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
		    1 },
		{ ",\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
		    0 },
	};
	struct audit_verify	v;
	char			path[128], line[512];
	size_t			i;
	FILE			*f;

	(void)state;
	snprintf(path, sizeof(path), "%s/one.log", dir);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(line, sizeof(line), "{\"seq\":1,\"ts\":"
		    "\"2026-12-03T10:00:00Z\",\"type\":\"x\",\"prev\":\"%064d\"%s\n",
		    0, t[i].tail);
		assert_non_null(f = fopen(path, "w"));
		fputs(line, f);
		fclose(f);
		if (audit_verify_file(path, NULL, &v, NULL, NULL) != t[i].rc)
			fail_msg("row %zu (%s): rc %d, %s", i, t[i].tail,
			    !t[i].rc, v.reason);
	}
	unlink(path);
}

/* The seq of the first line of the file at path. */
static uint64_t
first_seq(const char *path)
{
	char			 line[64];
	unsigned long long	 seq = 0;
	FILE			*f;

	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_int_equal(sscanf(line, "{\"seq\":%llu,", &seq), 1);
	return seq;
}

/* Cut the last line off the file at path. */
static void
cut_last_line(const char *path)
{
	size_t	 len;
	char	*buf;

	buf = slurp_path(path, &len);
	for (len--; len > 0 && buf[len - 1] != '\n'; len--)
		;
	free(buf);
	assert_int_equal(truncate(path, (off_t)len), 0);
}

/* Events with some bulk, so that a small rotate size is reached. */
static void
write_padded(struct audit *a, int n)
{
	json_t	*f;
	int	 i;

	for (i = 0; i < n; i++) {
		f = json_pack("{s:s}", "pad", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		assert_int_equal(audit_write(a, "session_opened", f), 0);
		json_decref(f);
	}
}

/*
 * After a seal, a live file past the rotate size becomes the part named
 * for its first seq, and the chain runs on into a new audit.log: the
 * directory verifies as one log, across restarts and a crash between
 * the rename and the new file; a part missing, renamed or cut short
 * is caught.
 */
static void
test_rotation(void **state)
{
	struct audit		*a;
	struct audit_verify	 v;
	struct audit_files	 files;
	struct seal_key		 k0;
	char			 d[128], lpath[300], kpath[256], err[512],
				 moved[400];
	uint64_t		 events;
	size_t			 i;

	(void)state;
	subdir(d, sizeof(d), lpath, sizeof(lpath), "rotate");
	snprintf(kpath, sizeof(kpath), "%s/rotate.key", dir);
	assert_int_equal(seal_key_init(kpath, &k0, err, sizeof(err)), 0);
	assert_int_equal(audit_open(d, &a, err, sizeof(err)), 0);
	assert_int_equal(audit_enable_seals(a, kpath, 5, err, sizeof(err)), 0);
	audit_set_rotate(a, 2000);
	write_padded(a, 60);
	audit_close(a);
	assert_int_equal(audit_files_list(d, &files, err, sizeof(err)), 0);
	assert_true(files.n >= 4);
	assert_true(files.live);
	/* Each part is named for its first line's seq, and is not too big. */
	for (i = 0; i + 1 < files.n; i++) {
		assert_int_equal(first_seq(files.path[i]), files.first[i]);
		assert_true(file_size(files.path[i]) < 2000 + 6 * 200);
	}
	assert_int_equal(audit_verify_dir(d, k0.key, &v, NULL, NULL), 0);
	assert_int_equal(v.files, files.n);
	events = v.events;
	assert_int_equal(events, 60 + 12);
	/* Alone, a later part does not chain to zeros: it is not a log. */
	assert_int_equal(audit_verify_file(files.path[1], NULL, &v, NULL,
	    NULL), 1);
	assert_non_null(strstr(v.reason, "seq is not 1"));

	/* A restart goes on from where the chain stands. */
	assert_int_equal(audit_open(d, &a, err, sizeof(err)), 0);
	assert_int_equal(audit_enable_seals(a, kpath, 5, err, sizeof(err)), 0);
	audit_set_rotate(a, 2000);
	write_padded(a, 1);
	audit_close(a);
	assert_int_equal(audit_verify_dir(d, k0.key, &v, NULL, NULL), 0);
	assert_int_equal(v.events, events + 1);

	/*
	 * No audit.log, as after a crash between the rename and the new
	 * file (here the live file's lines go with it): the chain resumes
	 * from the newest part.
	 */
	events = first_seq(lpath) - 1;
	assert_int_equal(unlink(lpath), 0);
	audit_files_free(&files);
	assert_int_equal(audit_files_list(d, &files, err, sizeof(err)), 0);
	assert_false(files.live);
	assert_int_equal(audit_open(d, &a, err, sizeof(err)), 0);
	assert_int_equal(audit_enable_seals(a, kpath, 5, err, sizeof(err)), 0);
	assert_int_equal(audit_seq(a), events);
	write_padded(a, 2);
	audit_close(a);
	assert_int_equal(audit_verify_dir(d, k0.key, &v, NULL, NULL), 0);

	/* A part gone from the middle. */
	snprintf(moved, sizeof(moved), "%s/moved", dir);
	assert_int_equal(rename(files.path[1], moved), 0);
	assert_int_equal(audit_verify_dir(d, k0.key, &v, NULL, NULL), 1);
	assert_string_equal(v.file, files.path[2]);
	assert_non_null(strstr(v.reason, "a part is missing"));
	/* Put back under another seq. */
	assert_int_equal(rename(moved, files.path[1]), 0);
	snprintf(moved, sizeof(moved), "%s/audit-%020llu.log", d,
	    (unsigned long long)files.first[1] + 1);
	assert_int_equal(rename(files.path[1], moved), 0);
	assert_int_equal(audit_verify_dir(d, k0.key, &v, NULL, NULL), 1);
	assert_non_null(strstr(v.reason, "named for seq"));
	assert_int_equal(rename(moved, files.path[1]), 0);
	assert_int_equal(audit_verify_dir(d, k0.key, &v, NULL, NULL), 0);
	/* A part whose last line, its seal, was cut off. */
	cut_last_line(files.path[0]);
	assert_int_equal(audit_verify_dir(d, NULL, &v, NULL, NULL), 1);
	assert_string_equal(v.file, files.path[0]);
	assert_non_null(strstr(v.reason, "does not end in a seal"));
	audit_files_free(&files);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void
test_modes_and_ts(void **state)
{
	struct audit	*a;
	struct stat	 st;
	char		 d[128], path[160], buf[AUDIT_MAX_LINE];
	FILE		*f;

	(void)state;
	subdir(d, sizeof(d), path, sizeof(path), "fresh");
	assert_int_equal(audit_open(d, &a, buf, sizeof(buf)), 0);
	assert_int_equal(audit_seq(a), 0);
	assert_int_equal(stat(d, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(audit_write(a, "gateway_start", NULL), 0);
	audit_close(a);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	/* The whole line, as an auditor's jq would see it. */
	assert_string_equal(buf, "{\"seq\":1,\"ts\":\"2026-11-18T11:06:40Z\","
	    "\"type\":\"gateway_start\",\"prev\":\""
	    "0000000000000000000000000000000000000000000000000000000000000000"
	    "\"}\n");
}

/* Field values cannot break a line: newlines and non-ASCII are escaped. */
static void
test_one_line_per_event(void **state)
{
	struct audit	*a;
	char		 d[128], path[160], buf[AUDIT_MAX_LINE + 2];
	const signed char *p;
	json_t		*ev, *j, *v;
	FILE		*f;
	int		 n = 0;

	(void)state;
	subdir(d, sizeof(d), path, sizeof(path), "escape");
	assert_int_equal(audit_open(d, &a, buf, sizeof(buf)), 0);
	ev = json_pack("{s:s, s:s%}", "object", "line1\n{\"seq\":7}\r\n",
	    "reason", "caf\xc3\xa9\0x", (size_t)7);
	assert_int_equal(audit_write(a, "command_refused", ev), 0);
	assert_int_equal(audit_write(a, "command_refused", ev), 0);
	json_decref(ev);
	audit_close(a);
	assert_non_null(f = fopen(path, "r"));
	while (fgets(buf, sizeof(buf), f) != NULL) {
		assert_int_equal(buf[strlen(buf) - 1], '\n');
		for (p = (signed char *)buf; *p != '\0'; p++)
			assert_true(*p >= 0x20 || *p == '\n');
		assert_non_null(j = json_loads(buf, JSON_ALLOW_NUL, NULL));
		assert_string_equal(json_string_value(json_object_get(j,
		    "object")), "line1\n{\"seq\":7}\r\n");
		v = json_object_get(j, "reason");
		assert_int_equal(json_string_length(v), 7);
		assert_memory_equal(json_string_value(v), "caf\xc3\xa9\0x", 7);
		assert_int_equal(json_integer_value(json_object_get(j, "seq")),
		    ++n);
		json_decref(j);
	}
	fclose(f);
	assert_int_equal(n, 2);
}

/* A line of AUDIT_MAX_LINE bytes with its newline fits; one more does not. */
static void
test_line_limit(void **state)
{
	struct audit	*a;
	char		 d[128], path[160], err[256], *pad;
	size_t		 base;
	json_t		*ev;

	(void)state;
	subdir(d, sizeof(d), path, sizeof(path), "limit");
	assert_int_equal(audit_open(d, &a, err, sizeof(err)), 0);
	base = strlen("{\"seq\":1,\"ts\":\"2026-11-18T11:06:40Z\","
	    "\"type\":\"big\",\"prev\":\"\",\"object\":\"\"}\n") + 64;
	pad = malloc(AUDIT_MAX_LINE);
	memset(pad, 'a', AUDIT_MAX_LINE);
	ev = json_stringn(pad, AUDIT_MAX_LINE - base + 1);
	ev = json_pack("{s:o}", "object", ev);
	assert_int_equal(audit_write(a, "big", ev), -1);
	json_decref(ev);
	assert_int_equal(file_size(path), 0);
	ev = json_pack("{s:o}", "object", json_stringn(pad,
	    AUDIT_MAX_LINE - base));
	assert_int_equal(audit_write(a, "big", ev), 0);
	json_decref(ev);
	assert_int_equal(file_size(path), AUDIT_MAX_LINE);
	/* And the writer can resume after its own longest line. */
	audit_close(a);
	assert_int_equal(audit_open(d, &a, err, sizeof(err)), 0);
	assert_int_equal(audit_seq(a), 1);
	assert_int_equal(audit_write(a, "small", NULL), 0);
	audit_close(a);
	free(pad);
}

/* Only the end of a long log is read, and the chain goes on from it. */
static void
test_resume_long_log(void **state)
{
	struct audit	*a;
	char		 d[128], path[160], err[256], obj[200];
	json_t		*ev;
	int		 i;

	(void)state;
	subdir(d, sizeof(d), path, sizeof(path), "long");
	assert_int_equal(audit_open(d, &a, err, sizeof(err)), 0);
	memset(obj, 'x', sizeof(obj) - 1);
	obj[sizeof(obj) - 1] = '\0';
	for (i = 0; i < 300; i++) {
		ev = json_pack("{s:i, s:s}", "i", i, "object", obj);
		assert_int_equal(audit_write(a, "file_read", ev), 0);
		json_decref(ev);
	}
	audit_close(a);
	assert_true(file_size(path) > 4 * AUDIT_MAX_LINE);
	assert_int_equal(audit_open(d, &a, err, sizeof(err)), 0);
	assert_int_equal(audit_seq(a), 300);
	assert_int_equal(audit_write(a, "gateway_start", NULL), 0);
	audit_close(a);
	assert_int_equal(verify_chain_at(path), 301);
}

/* Append raw bytes to a log. */
static void
append_raw(const char *path, const char *s, size_t len)
{
	FILE *f;

	assert_non_null(f = fopen(path, "a"));
	assert_int_equal(fwrite(s, 1, len, f), len);
	fclose(f);
}

/*
 * What a crash cannot leave behind is corruption: the writer refuses to
 * append to it and leaves every byte in place for the auditor.
 */
static void
test_corrupt_log_refused(void **state)
{
	struct audit	*a;
	char		 d[128], path[160], err[256], *junk;
	off_t		 size;

	(void)state;
	junk = malloc(AUDIT_MAX_LINE + 1);
	memset(junk, 'j', AUDIT_MAX_LINE + 1);

	/* A complete last line longer than the writer ever makes. */
	subdir(d, sizeof(d), path, sizeof(path), "longline");
	assert_int_equal(audit_open(d, &a, err, sizeof(err)), 0);
	assert_int_equal(audit_write(a, "gateway_start", NULL), 0);
	audit_close(a);
	append_raw(path, junk, AUDIT_MAX_LINE);
	append_raw(path, "\n", 1);
	size = file_size(path);
	err[0] = '\0';
	assert_int_equal(audit_open(d, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "longer than"));
	assert_int_equal(file_size(path), size);

	/* A "torn" tail longer than any line. */
	subdir(d, sizeof(d), path, sizeof(path), "longtail");
	assert_int_equal(audit_open(d, &a, err, sizeof(err)), 0);
	assert_int_equal(audit_write(a, "gateway_start", NULL), 0);
	audit_close(a);
	append_raw(path, junk, AUDIT_MAX_LINE + 1);
	size = file_size(path);
	assert_int_equal(audit_open(d, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_int_equal(file_size(path), size);

	/* A last line that is not an audit event. */
	subdir(d, sizeof(d), path, sizeof(path), "notjson");
	assert_int_equal(mkdir(d, 0700), 0);
	append_raw(path, "hello\n", 6);
	assert_int_equal(audit_open(d, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an audit event"));
	assert_int_equal(file_size(path), 6);
	free(junk);
}

/* audit.log must be a plain file of our own, not a link or a pipe. */
static void
test_not_a_plain_file(void **state)
{
	struct audit	*a;
	char		 d[128], path[160], err[256];

	(void)state;
	subdir(d, sizeof(d), path, sizeof(path), "fifo");
	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(audit_open(d, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));

	subdir(d, sizeof(d), path, sizeof(path), "link");
	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(symlink(logpath, path), 0);
	assert_int_equal(audit_open(d, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));

	/* The directory's parent is a file. */
	subdir(d, sizeof(d), path, sizeof(path), "plain");
	append_raw(d, "", 0);
	assert_int_equal(audit_open(path, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
}

/* Seal keys: made once, stored and read back, evolved one way. */
static void
test_seal_keys(void **state)
{
	struct seal_key	 k0, k, again;
	char		 path[256], err[512], mac1[65], mac2[65];
	FILE		*f;

	(void)state;
	snprintf(path, sizeof(path), "%s/audit.key", dir);
	assert_int_equal(seal_key_init(path, &k0, err, sizeof(err)), 0);
	assert_int_equal(k0.epoch, 0);
	/* Never overwritten: that would let a log be re-keyed. */
	assert_int_equal(seal_key_init(path, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exists"));
	assert_int_equal(seal_key_load(path, &k, err, sizeof(err)), 0);
	assert_memory_equal(k.key, k0.key, SEAL_KEY_LEN);
	/* Evolving is deterministic and changes the key and the MAC. */
	again = k0;
	seal_key_evolve(&k);
	seal_key_evolve(&again);
	assert_int_equal(k.epoch, 1);
	assert_memory_equal(k.key, again.key, SEAL_KEY_LEN);
	assert_memory_not_equal(k.key, k0.key, SEAL_KEY_LEN);
	seal_mac(&k0, 7, "2026-12-03T10:00:00Z", "ab", mac1);
	seal_mac(&k, 7, "2026-12-03T10:00:00Z", "ab", mac2);
	assert_string_not_equal(mac1, mac2);
	/* The seal's time is under the MAC too. */
	seal_mac(&k, 7, "2026-12-03T10:00:01Z", "ab", mac1);
	assert_string_not_equal(mac1, mac2);
	/* The stored key moves on; the old one is gone from the file. */
	assert_int_equal(seal_key_store(path, &k, err, sizeof(err)), 0);
	assert_int_equal(seal_key_load(path, &again, err, sizeof(err)), 0);
	assert_int_equal(again.epoch, 1);
	assert_memory_equal(again.key, k.key, SEAL_KEY_LEN);
	/* A damaged key file is refused. */
	assert_non_null(f = fopen(path, "w"));
	fputs("porthole-audit-key v1 1 zz\n", f);
	fclose(f);
	assert_int_equal(seal_key_load(path, &again, err, sizeof(err)), -1);
	unlink(path);
}

/* A sealed log verifies with the key and fails with a later one. */
static void
test_seals_in_log(void **state)
{
	struct audit		*a;
	struct audit_verify	 v;
	struct seal_key		 k0, later;
	char			 sdir[128], kpath[256], lpath[300], err[512];
	int			 i;

	(void)state;
	snprintf(sdir, sizeof(sdir), "%s/sealed", dir);
	snprintf(kpath, sizeof(kpath), "%s/audit.key", dir);
	snprintf(lpath, sizeof(lpath), "%s/%s", sdir, AUDIT_FILE);
	assert_int_equal(seal_key_init(kpath, &k0, err, sizeof(err)), 0);
	assert_int_equal(audit_open(sdir, &a, err, sizeof(err)), 0);
	assert_int_equal(audit_enable_seals(a, kpath, 3, err, sizeof(err)), 0);
	for (i = 0; i < 7; i++)
		assert_int_equal(audit_write(a, "gateway_start", NULL), 0);
	assert_int_equal(audit_seal(a), 0);	/* the timer's seal */
	assert_int_equal(audit_write(a, "seal", NULL), -1);	/* reserved */
	audit_close(a);
	assert_int_equal(audit_verify_file(lpath, k0.key, &v, NULL, NULL), 0);
	assert_int_equal(v.seals, 3);
	assert_int_equal(v.unsealed, 0);
	/* The key that is on the host now cannot vouch for old seals. */
	later = k0;
	seal_key_evolve(&later);
	assert_int_equal(audit_verify_file(lpath, later.key, &v, NULL, NULL),
	    1);
	assert_non_null(strstr(v.reason, "forged or altered"));
	/*
	 * Every byte of a log that ends in a seal, flipped in turn: with
	 * the verification key each one is rejected, or is reported as a
	 * torn or unsealed tail - never passed as a sealed log.
	 */
	{
		char	*orig, *buf;
		size_t	 len, j;
		FILE	*f;
		int	 rc;

		assert_non_null(f = fopen(lpath, "r"));
		fseek(f, 0, SEEK_END);
		len = (size_t)ftell(f);
		rewind(f);
		orig = malloc(len);
		buf = malloc(len);
		assert_int_equal(fread(orig, 1, len, f), len);
		fclose(f);
		for (j = 0; j < len; j++) {
			memcpy(buf, orig, len);
			buf[j] ^= 0x01;
			assert_non_null(f = fopen(lpath, "w"));
			assert_int_equal(fwrite(buf, 1, len, f), len);
			fclose(f);
			rc = audit_verify_file(lpath, k0.key, &v, NULL, NULL);
			if (rc == 0 && !v.torn_tail && v.unsealed == 0)
				fail_msg("flipped byte %zu of %zu of a sealed "
				    "log went unnoticed", j, len);
		}
		free(orig);
		free(buf);
	}
	unlink(kpath);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_and_fields),
		cmocka_unit_test(test_reopen_and_torn_tail),
		cmocka_unit_test(test_refused_events),
		cmocka_unit_test(test_write_failure),
		cmocka_unit_test(test_verify_bit_flips),
		cmocka_unit_test(test_seal_keys),
		cmocka_unit_test(test_seals_in_log),
		cmocka_unit_test(test_seal_then_crash),
		cmocka_unit_test(test_resealed_with_later_key),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_verify_line_json),
		cmocka_unit_test(test_unwritable_dir),
		cmocka_unit_test(test_modes_and_ts),
		cmocka_unit_test(test_one_line_per_event),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_resume_long_log),
		cmocka_unit_test(test_corrupt_log_refused),
		cmocka_unit_test(test_not_a_plain_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
