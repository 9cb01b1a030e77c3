/*
 * test_bundle.c - support bundles built from a real directory tree and
 * read back with the stock tools a vendor would use: `tar -tzf` lists
 * exactly the manifest's entries, `tar -xzf` gives files whose SHA-256
 * and size are the manifest's, and no secret is anywhere in the
 * archive (`zcat | grep -a`).  Links, denied names, old, big, changing
 * and compressed files, the deadline and a stopped build are each made
 * for real on disk.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "bundle/bundle.h"
#include "lib/clock.h"
#include "lib/sha256.h"
#include "policy/policy.h"

#define N(a)		(sizeof(a) / sizeof((a)[0]))
#define DAY		86400
#define AWS_KEY		"AKIAIOSFODNN7EXAMPLE"

static char	 top[] = "/tmp/test_bundle.XXXXXX";
static char	 root[64];		/* the [files] root */
static char	 conf[64];
static int	 spool = -1;

static void
put(const char *rel, const char *text, time_t mtime)
{
	char		 path[256];
	struct timespec	 ts[2];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_non_null(f = fopen(path, "w"));
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	if (mtime != 0) {
		ts[0].tv_sec = ts[1].tv_sec = mtime;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	}
}

static void
put_bytes(const char *rel, char c, size_t n)
{
	char	 path[256], *buf;
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_non_null(buf = malloc(n));
	memset(buf, c, n);
	for (size_t i = 79; i < n; i += 80)
		buf[i] = '\n';
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(buf, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	free(buf);
}

static void
mkdir_in(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void
link_in(const char *target, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(symlink(target, path), 0);
}

/*
 * The product's tree: logs with secrets, an old log, a big one, a
 * gzipped one, links that escape, a denied key, a FIFO, a hard link.
 */
static int
group_setup(void **state)
{
	char	path[256], other[256];
	time_t	now = time(NULL);

	if (mkdtemp(top) == NULL)
		return -1;
	snprintf(root, sizeof(root), "%s/product", top);
	snprintf(conf, sizeof(conf), "%s/porthole.conf", top);
	if (mkdir(root, 0755) == -1)
		return -1;
	mkdir_in("log");
	mkdir_in("log/n1");
	mkdir_in("etc");
	mkdir_in("etc/tls");
	put("log/app.log", "2026-05-01 start\n"
	    "2026-05-01 db.password = hunter2\r\n"
	    "key " AWS_KEY " for s3\n"
	    "2026-05-01 done, no newline at the end", now - 60);
	put("log/n1/app.log", "node one token: t0ps3cret\n", now - 120);
	put("log/old.log", "password = hunter2 from last month\n",
	    now - 30 * DAY);
	put("log/gc.log.gz", "\x1f\x8b\x08\x00 not really gzip", now - 30);
	put("etc/db.conf", "db.user = app\ndb.password = hunter2\n", now);
	put("etc/tls/server.key", "-----BEGIN PRIVATE KEY-----\n", now);
	put("etc/notes.txt", "not in any bundle glob\n", now);
	put_bytes("log/big.log", 'b', 2 * 1024 * 1024);
	/* Links: out of the root, inside it, and a directory out of it. */
	link_in("/etc/passwd", "log/escape.log");
	link_in("app.log", "log/inside.log");
	link_in("/etc", "log/etc-link");
	snprintf(path, sizeof(path), "%s/log/fifo.log", root);
	assert_int_equal(mkfifo(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/log/n1/app.log", root);
	snprintf(other, sizeof(other), "%s/hardlink.log", top);
	assert_int_equal(link(path, other), 0);
	if ((spool = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[128];

	if (spool != -1)
		close(spool);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

static struct policy *
load(const char *bundle_section)
{
	struct policy	*p = NULL;
	char		 err[1024];
	FILE		*f;

	assert_non_null(f = fopen(conf, "w"));
	fprintf(f, "[gateway]\ncluster_id = acme-prod\nrelay = r:2222\n"
	    "relay_host_key = /k\ncluster_key = /k\nsession_host_key = /k\n"
	    "support_ca = /k\n"
	    "[files]\npaths = %s\ndeny = *.key\n"
	    "[commands]\nstatus = /bin/true\n"
	    "[redact]\n"
	    "pattern.secret = (password|secret|token) *[=:] *[^ ]+\n"
	    "pattern.aws = AKIA[0-9A-Z]{16}\n"
	    "[bundle]\nenabled = yes\n%s", root, bundle_section);
	assert_int_equal(fclose(f), 0);
	if (policy_load(conf, &p, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	return p;
}

/* A fresh, empty file for the archive: its descriptor. */
static int
archive_file(const char *name, char *path, size_t len)
{
	int fd;

	snprintf(path, len, "%s/%s", top, name);
	unlink(path);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) != -1);
	return fd;
}

/* The output of a shell command line (trusted: the test's own). */
static char *
run(const char *fmt, ...)
{
	char	 cmd[2048], *out;
	size_t	 n = 0;
	va_list	 ap;
	FILE	*f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_non_null(out = calloc(1, 1 << 20));
	assert_non_null(f = popen(cmd, "r"));
	n = fread(out, 1, (1 << 20) - 1, f);
	out[n] = '\0';
	pclose(f);
	return out;
}

static void
sha256_file(const char *path, char *hex)
{
	uint64_t	size;
	int		fd;

	assert_true((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1);
	assert_int_equal(sha256_fd(fd, hex, &size), 0);
	close(fd);
}

/* The manifest's entry for path, or NULL. */
static json_t *
entry(json_t *m, const char *key, const char *value)
{
	json_t	*e;
	size_t	 i;

	json_array_foreach(json_object_get(m, "entries"), i, e)
		if (json_is_string(json_object_get(e, key)) &&
		    strcmp(json_string_value(json_object_get(e, key)),
		    value) == 0)
			return e;
	return NULL;
}

/* The reason path was left out, or NULL. */
static const char *
left_out(json_t *m, const char *path)
{
	json_t	*e;
	size_t	 i;

	json_array_foreach(json_object_get(m, "left_out"), i, e)
		if (strcmp(json_string_value(json_object_get(e, "path")),
		    path) == 0)
			return json_string_value(json_object_get(e, "reason"));
	return NULL;
}

/*
 * What tar lists is what the manifest names, and every extracted file
 * has the manifest's size and SHA-256.
 */
static void
check_archive(const char *tgz, json_t *m, const char *id)
{
	char	 dir[128], path[1024], want[512];
	char	 sum[65], *list, *got;
	json_t	*e;
	size_t	 i, nlines = 0;

	list = run("tar -tzf '%s' 2>&1", tgz);
	for (got = list; *got != '\0'; got++)
		nlines += *got == '\n';
	assert_int_equal(nlines, json_array_size(json_object_get(m,
	    "entries")) + 1);
	snprintf(want, sizeof(want), "porthole-bundle-%s/MANIFEST.json\n",
	    id);
	assert_non_null(strstr(list, want));
	snprintf(dir, sizeof(dir), "%s/x-%s", top, id);
	free(run("rm -rf '%s' && mkdir '%s' && tar -xzf '%s' -C '%s' 2>&1",
	    dir, dir, tgz, dir));
	json_array_foreach(json_object_get(m, "entries"), i, e) {
		const char *name = json_string_value(json_object_get(e,
		    "name"));
		struct stat st;

		snprintf(want, sizeof(want), "porthole-bundle-%s/%s\n", id,
		    name);
		if (strstr(list, want) == NULL)
			fail_msg("tar does not list %s:\n%s", want, list);
		snprintf(path, sizeof(path), "%s/porthole-bundle-%s/%s", dir,
		    id, name);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_size, json_integer_value(
		    json_object_get(e, "size")));
		sha256_file(path, sum);
		assert_string_equal(sum, json_string_value(json_object_get(e,
		    "sha256")));
	}
	free(list);
}

static json_t *
manifest(const struct bundle_result *res)
{
	json_t		*m;
	json_error_t	 je;

	if ((m = json_loadb(res->manifest, res->manifest_len, 0, &je)) ==
	    NULL)
		fail_msg("manifest: %s", je.text);
	return m;
}

static void
test_bundle(void **state)
{
	static const char status[] = "service up\ntoken=abc123 in use\n";
	struct bundle_diag	 diag = { "status", status, sizeof(status) - 1,
				    0, 0, 0 };
	struct bundle_req	 req;
	struct bundle_result	 res;
	struct policy		*p;
	json_t			*m, *e;
	char			 tgz[128], sect[512], why[512];
	char			 path[512], sum[65], *out;
	int			 fd;

	snprintf(sect, sizeof(sect), "paths = %s/log, %s/etc/*.conf, "
	    "%s/etc/tls, %s/log/*.log\ncommands = status\nmax_size = 1M\n",
	    root, root, root, root);
	p = load(sect);
	memset(&req, 0, sizeof(req));
	req.pol = p;
	req.id = "b1";
	req.ticket = "SUP-1234";
	req.requested_by = "engineer alice";
	req.now = time(NULL);
	req.diags = &diag;
	req.ndiags = 1;
	req.spool_dir = spool;
	fd = archive_file("b1.tar.gz", tgz, sizeof(tgz));
	if (bundle_write(&req, fd, &res, why, sizeof(why)) == -1)
		fail_msg("%s", why);
	close(fd);
	m = manifest(&res);

	/* What tar lists, sizes and hashes. */
	check_archive(tgz, m, "b1");
	sha256_file(tgz, sum);
	assert_string_equal(sum, res.sha256);

	/* No secret anywhere in the archive, headers included. */
	out = run("zcat '%s' | grep -a -c -e hunter2 -e " AWS_KEY
	    " -e t0ps3cret -e abc123", tgz);
	assert_string_equal(out, "0\n");
	free(out);
	out = run("zcat '%s' | grep -a -c 'PRIVATE KEY'", tgz);
	assert_string_equal(out, "0\n");
	free(out);

	/* Redacted in place, same length, counted per pattern. */
	snprintf(path, sizeof(path), "%s/log/app.log", root);
	assert_non_null(e = entry(m, "path", path));
	assert_true(json_is_true(json_object_get(e, "redacted")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(e,
	    "redactions"), "secret")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(e,
	    "redactions"), "aws")), 1);
	assert_false(json_is_true(json_object_get(e, "changed")));
	out = run("tar -xzOf '%s' porthole-bundle-b1/files%s", tgz, path);
	assert_string_equal(out, "2026-05-01 start\n"
	    "2026-05-01 db.******************\r\n"
	    "key ******************** for s3\n"
	    "2026-05-01 done, no newline at the end");
	free(out);
	assert_non_null(e = entry(m, "command", "status"));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(e,
	    "redactions"), "secret")), 1);
	assert_string_equal(json_string_value(json_object_get(e, "name")),
	    "commands/status.out");

	/* Two globs covering one file: it is there once. */
	snprintf(path, sizeof(path), "porthole-bundle-b1/files%s/log/"
	    "app.log", root);
	out = run("tar -tzf '%s' | grep -c -x '%s'", tgz, path);
	assert_string_equal(out, "1\n");
	free(out);

	/* Links are not followed, whichever way they point. */
	out = run("tar -tzf '%s' | grep -c -e escape -e inside -e etc-link "
	    "-e fifo", tgz);
	assert_string_equal(out, "0\n");
	free(out);
	out = run("zcat '%s' | grep -a -c root:x:0:0", tgz);
	assert_string_equal(out, "0\n");
	free(out);
	/* Hidden as sftp hides them: counted, never named. */
	assert_true(json_integer_value(json_object_get(m, "not_served")) >= 5);
	snprintf(path, sizeof(path), "%s/log/escape.log", root);
	assert_null(left_out(m, path));
	assert_true(json_integer_value(json_object_get(m, "denied")) >= 1);
	snprintf(path, sizeof(path), "%s/etc/tls/server.key", root);
	assert_null(left_out(m, path));
	assert_null(entry(m, "path", path));
	snprintf(path, sizeof(path), "%s/etc/notes.txt", root);
	assert_null(entry(m, "path", path));

	/* Left out, and why. */
	snprintf(path, sizeof(path), "%s/log/old.log", root);
	assert_string_equal(left_out(m, path), "last changed before since "
	    "(7d)");
	snprintf(path, sizeof(path), "%s/log/big.log", root);
	assert_non_null(left_out(m, path));
	assert_non_null(strstr(left_out(m, path), "do not fit in max_size"));
	assert_true(json_is_true(json_object_get(m, "truncated")));
	assert_true(res.truncated);
	snprintf(path, sizeof(path), "%s/log/gc.log.gz", root);
	assert_string_equal(left_out(m, path), "a compressed file (gzip) "
	    "under a redacted path");
	/* The hard-linked file is not served either. */
	snprintf(path, sizeof(path), "%s/log/n1/app.log", root);
	assert_null(entry(m, "path", path));

	/* The request and its bounds. */
	assert_string_equal(json_string_value(json_object_get(m, "ticket")),
	    "SUP-1234");
	assert_string_equal(json_string_value(json_object_get(m, "cluster")),
	    "acme-prod");
	assert_int_equal(json_integer_value(json_object_get(m, "max_size")),
	    1024 * 1024);
	assert_true(json_integer_value(json_object_get(m, "bytes_read")) <=
	    1024 * 1024);
	assert_int_equal(res.bytes_read, json_integer_value(json_object_get(m,
	    "bytes_read")));
	assert_true(res.redactions >= 4);
	json_decref(m);
	bundle_result_free(&res);
	policy_free(p);
}

/* Appends to the file it is called for once, after its first chunk. */
static int
grow(void *arg, const char *path, uint64_t n)
{
	int	*done = arg;
	FILE	*f;

	if (*done || strstr(path, "growing.log") == NULL)
		return 0;
	*done = 1;
	assert_non_null(f = fopen(path, "a"));
	fputs("more password=hunter3\n", f);
	fclose(f);
	return 0;
}

static int
stop(void *arg, const char *path, uint64_t n)
{
	return -1;
}

static void
test_changed_and_stopped(void **state)
{
	struct bundle_req	 req;
	struct bundle_result	 res;
	struct policy		*p;
	json_t			*m, *e;
	char			 tgz[128], sect[512], why[512];
	char			 path[512], *out, *text;
	int			 fd, done = 0;

	/* 200 KiB, its last line unended: read in several chunks. */
	assert_non_null(text = malloc(200 * 1024 + 1));
	memset(text, 'g', 200 * 1024);
	for (size_t i = 99; i < 200 * 1024; i += 100)
		text[i] = '\n';
	memcpy(text + 200 * 1024 - 16, "secret=AKIAAAAA", 15);
	text[200 * 1024] = '\0';
	text[200 * 1024 - 1] = 'x';
	put("log/n1/growing.log", text, 0);
	free(text);
	snprintf(sect, sizeof(sect), "paths = %s/log/n1/growing.log\n", root);
	p = load(sect);
	memset(&req, 0, sizeof(req));
	req.pol = p;
	req.id = "b2";
	req.now = time(NULL);
	req.spool_dir = spool;
	req.progress = grow;
	req.progress_arg = &done;
	fd = archive_file("b2.tar.gz", tgz, sizeof(tgz));
	if (bundle_write(&req, fd, &res, why, sizeof(why)) == -1)
		fail_msg("%s", why);
	close(fd);
	assert_true(done);
	m = manifest(&res);
	check_archive(tgz, m, "b2");
	snprintf(path, sizeof(path), "%s/log/n1/growing.log", root);
	assert_non_null(e = entry(m, "path", path));
	assert_true(json_is_true(json_object_get(e, "changed")));
	/* Read up to its size at open; its unended last line starred. */
	assert_int_equal(json_integer_value(json_object_get(e, "size")),
	    200 * 1024);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(e,
	    "redactions"), "whole_lines")), 1);
	out = run("tar -xzOf '%s' porthole-bundle-b2/files%s | tail -c 100 | "
	    "tr -d '*' | wc -c", tgz, path);
	assert_string_equal(out, "0\n");
	free(out);
	out = run("zcat '%s' | grep -a -c -e hunter3 -e secret=", tgz);
	assert_string_equal(out, "0\n");
	free(out);
	json_decref(m);
	bundle_result_free(&res);

	/* The progress callback stops the build. */
	req.progress = stop;
	req.id = "b3";
	fd = archive_file("b3.tar.gz", tgz, sizeof(tgz));
	assert_int_equal(bundle_write(&req, fd, &res, why, sizeof(why)), -1);
	assert_string_equal(why, "bundle: stopped");
	assert_null(res.manifest);
	close(fd);
	policy_free(p);
}

/* Past the deadline nothing is read, and the manifest says so. */
static void
test_deadline(void **state)
{
	struct bundle_req	 req;
	struct bundle_result	 res;
	struct policy		*p;
	json_t			*m;
	char			 tgz[128], sect[512], why[512];
	char			 path[512];
	int			 fd;

	snprintf(sect, sizeof(sect), "paths = %s/etc/*.conf\n", root);
	p = load(sect);
	memset(&req, 0, sizeof(req));
	req.pol = p;
	req.id = "b4";
	req.now = time(NULL);
	req.spool_dir = spool;
	req.deadline_ms = clock_mono_ms();
	fd = archive_file("b4.tar.gz", tgz, sizeof(tgz));
	assert_int_equal(bundle_write(&req, fd, &res, why, sizeof(why)), 0);
	close(fd);
	m = manifest(&res);
	check_archive(tgz, m, "b4");
	assert_true(res.timed_out);
	assert_true(json_is_true(json_object_get(m, "timed_out")));
	assert_int_equal(json_array_size(json_object_get(m, "entries")), 0);
	snprintf(path, sizeof(path), "%s/etc", root);
	assert_null(entry(m, "path", path));
	json_decref(m);
	bundle_result_free(&res);
	policy_free(p);
}

static void
test_bad_requests(void **state)
{
	static const char *const ids[] = {
		"", "../x", "-x", ".x", "a b", "a/b",
		"a234567890123456789012345678901234567890123456789012345678901"
		"2345",
	};
	struct bundle_diag	 diag = { "../etc", "x", 1, 0, 0, 0 };
	struct bundle_req	 req;
	struct bundle_result	 res;
	struct policy		*p;
	char			 tgz[128], sect[512], why[512];
	size_t			 i;
	int			 fd;

	snprintf(sect, sizeof(sect), "paths = %s/etc/*.conf\n", root);
	p = load(sect);
	memset(&req, 0, sizeof(req));
	req.pol = p;
	req.now = time(NULL);
	req.spool_dir = spool;
	fd = archive_file("bad.tar.gz", tgz, sizeof(tgz));
	for (i = 0; i < N(ids); i++) {
		req.id = ids[i];
		assert_int_equal(bundle_write(&req, fd, &res, why,
		    sizeof(why)), -1);
		assert_string_equal(why, "bundle: not a bundle id: expected "
		    "1-64 of A-Z a-z 0-9 . _ -");
	}
	req.id = "ok";
	req.ticket = "SUP-\xff";
	assert_int_equal(bundle_write(&req, fd, &res, why, sizeof(why)), -1);
	assert_string_equal(why, "bundle: the ticket or the requester is not "
	    "UTF-8 of at most 256 bytes");
	req.ticket = NULL;
	req.diags = &diag;
	req.ndiags = 1;
	assert_int_equal(bundle_write(&req, fd, &res, why, sizeof(why)), -1);
	assert_string_equal(why, "bundle: not a command name");
	/* Nothing was written for any of them. */
	assert_int_equal(lseek(fd, 0, SEEK_END), 0);
	req.ndiags = 0;
	/* No scratch directory: refused before anything is written. */
	req.spool_dir = -1;
	assert_int_equal(bundle_write(&req, fd, &res, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "bundle: cannot make a scratch file"));
	close(fd);
	policy_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bundle),
		cmocka_unit_test(test_changed_and_stopped),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_bad_requests),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
