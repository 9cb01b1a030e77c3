/*
 * test_files.c - the monitor's file access, port forwarding and
 * settings changes: what an engineer may reach, and every way out that
 * must stay shut.
 *
 * A tree with files, links, a FIFO, a socket and (as root) a device is
 * built in a fresh mkdtemp directory; policies are written next to it
 * as porthole.conf and loaded through policy_load(), as portholed does.
 * "@" in a table stands for that directory.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "gateway/monitor/files.h"
#include "gateway/monitor/forward.h"
#include "gateway/monitor/settings.h"
#include "policy/policy.h"
#include "tests/unit/localhost.h"

#define N(a)		(sizeof(a) / sizeof((a)[0]))

/* The required [gateway] keys. */
#define GW \
	"[gateway]\n" \
	"cluster_id = acme-prod\n" \
	"relay = relay.example.com:2222\n" \
	"relay_host_key = /etc/porthole/relay_host_key.pub\n" \
	"cluster_key = /etc/porthole/cluster_key\n" \
	"session_host_key = /etc/porthole/session_host_key\n" \
	"support_ca = /etc/porthole/support_ca.pub\n"

#define SETTINGS_TEXT \
	"# product settings\n" \
	"jvm.heap = 4g\n" \
	"; tuned by support\n" \
	"\n" \
	"ingest.queue_size=1000\n" \
	"  other.key   =   keep  me  \r\n" \
	"\ttail.key = last"

static char		 base[] = "/tmp/test_files.XXXXXX";
static struct policy	*pol;		/* [files] and [settings] on */
static int		 have_dev;	/* root/dev was made (needs root) */

/* s with every "@" replaced by the test directory. */
static const char *
at(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s != '\0' && o + 1 < len; s++) {
		if (*s == '@')
			o += (size_t)snprintf(buf + o, len - o, "%s", base);
		else
			buf[o++] = *s;
		assert_true(o < len);
	}
	buf[o] = '\0';
	return buf;
}

static void
put(const char *rel, const char *text)
{
	char	 path[512];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	assert_non_null(f = fopen(path, "w"));
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* The whole file, NUL-terminated; the caller frees it. */
static char *
slurp(const char *path)
{
	char	*buf;
	FILE	*f;
	size_t	 n;

	assert_non_null(f = fopen(path, "r"));
	assert_non_null(buf = calloc(1, 65536));
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static struct policy *load(const char *, ...)
    __attribute__((format(printf, 1, 2)));

/* Write a porthole.conf from fmt and load it; any error fails the test. */
static struct policy *
load(const char *fmt, ...)
{
	struct policy	*p = NULL;
	char		 text[4096], path[512], err[1024] = "";
	va_list		 ap;
	FILE		*f;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/porthole.conf", base);
	assert_non_null(f = fopen(path, "w"));
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	if (policy_load(path, &p, err, sizeof(err)) == -1)
		fail_msg("policy: %s", err);
	return p;
}

static void
mk(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	if (mkdir(path, 0755) == -1)
		fail_msg("mkdir %s: %s", path, strerror(errno));
}

static void
ln_s(const char *target, const char *rel)
{
	char t[512], path[512];

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	if (symlink(at(target, t, sizeof(t)), path) == -1)
		fail_msg("symlink %s: %s", path, strerror(errno));
}

/* A socket file, left behind by a bound and closed AF_UNIX socket. */
static void
mksock(const char *rel)
{
	struct sockaddr_un	sun;
	int			s;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", base, rel);
	assert_true((s = socket(AF_UNIX, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(s);
}

static void
make_tree(void)
{
	char a[512], b[512];

	mk("root");
	mk("root/sub");
	mk("root/private");
	mk("outside");
	mk("x");
	mk("x/log");
	mk("x/logs");
	mk("settings");
	put("root/a.txt", "a\n");
	put("root/app.log", "hello log\n");
	put("root/b.txt", "b\n");
	put("root/c.log", "c\n");
	put("root/secret.key", "PRIVATE\n");
	put("root/.old.key", "PRIVATE\n");
	put("root/bad\xff.log", "no request can name me\n");
	put("root/private/x.log", "x\n");
	put("root/sub/inner.log", "inner\n");
	put("root/sub/a.tmp", "tmp\n");
	put("outside/passwd", "root:x:0:0\n");
	put("outside/hardtarget", "not yours\n");
	put("x/log/ok.log", "ok\n");
	put("x/logs/f", "next door\n");
	ln_s("@/outside/passwd", "root/out_link");
	ln_s("@/outside", "root/outdir");
	ln_s("app.log", "root/in_link");
	ln_s("/proc/self/root", "root/proc");
	assert_int_equal(mkfifo(at("@/root/fifo", a, sizeof(a)), 0600), 0);
	mksock("root/sock");
	assert_int_equal(link(at("@/outside/hardtarget", a, sizeof(a)),
	    at("@/root/hard", b, sizeof(b))), 0);
	/* /dev/null's numbers; only root may make a device node. */
	have_dev = geteuid() == 0 && mknod(at("@/root/dev", a, sizeof(a)),
	    S_IFCHR | 0600, makedev(1, 3)) == 0;
}

static int
group_setup(void **state)
{
	if (mkdtemp(base) == NULL)
		return -1;
	make_tree();
	pol = load(GW
	    "[files]\n"
	    "enabled = yes\n"
	    "paths = %s/root, %s/x/log\n"
	    "deny = *.key, private, %s/root/sub/*.tmp\n"
	    "[settings]\n"
	    "enabled = yes\n"
	    "file = %s/settings/cluster.ini\n"
	    "keys = jvm.heap, ingest.queue_size, new.key, tail.key\n",
	    base, base, base, base);
	return 0;
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
group_teardown(void **state)
{
	policy_free(pol);
	return nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- files: ways out ---- */

struct escape {
	const char	*path;
	const char	*why;
};

static const struct escape escapes[] = {
	/* Not absolute or not normalised: refused before the disk. */
	{ "@/root/../outside/passwd",
	  "not an absolute, normalised path: '@/root/../outside/passwd'" },
	{ "@/root/sub/../../outside/passwd",
	  "not an absolute, normalised path: "
	  "'@/root/sub/../../outside/passwd'" },
	{ "@/root//app.log",
	  "not an absolute, normalised path: '@/root//app.log'" },
	{ "@/root/./app.log",
	  "not an absolute, normalised path: '@/root/./app.log'" },
	{ "@/root/sub/", "not an absolute, normalised path: '@/root/sub/'" },
	{ "root/app.log", "not an absolute, normalised path: 'root/app.log'" },
	{ "@/root/app\x01.log",
	  "not an absolute, normalised path: '@/root/app?.log'" },
	{ "", "not an absolute, normalised path: ''" },
	{ "@/x/log/../logs/f",
	  "not an absolute, normalised path: '@/x/log/../logs/f'" },
	/* Outside every root, including a root's name as a prefix. */
	{ "/etc/passwd", "/etc/passwd is outside the product's file paths" },
	{ "/", "/ is outside the product's file paths" },
	{ "@/outside/passwd",
	  "@/outside/passwd is outside the product's file paths" },
	{ "@/x/logs/f", "@/x/logs/f is outside the product's file paths" },
	{ "@/x/logs", "@/x/logs is outside the product's file paths" },
	/* Links: none is followed, wherever it points. */
	{ "@/root/out_link",
	  "@/root/out_link is not a regular file or directory "
	  "(a symbolic link)" },
	{ "@/root/in_link",
	  "@/root/in_link is not a regular file or directory "
	  "(a symbolic link)" },
	{ "@/root/outdir/passwd",
	  "@/root/outdir/passwd goes through a symbolic link" },
	{ "@/root/proc",
	  "@/root/proc is not a regular file or directory (a symbolic link)" },
	{ "@/root/proc/etc/passwd",
	  "@/root/proc/etc/passwd goes through a symbolic link" },
	{ "@/root/hard", "@/root/hard is a hard-linked file" },
	/* Deny globs: a name, a directory on the way, a whole path. */
	{ "@/root/secret.key", "secret.key matches a denied pattern" },
	{ "@/root/.old.key", ".old.key matches a denied pattern" },
	{ "@/root/private", "private matches a denied pattern" },
	{ "@/root/private/x.log", "private matches a denied pattern" },
	{ "@/root/sub/a.tmp", "@/root/sub/a.tmp matches a denied pattern" },
	/* Neither a regular file nor a directory: never opened. */
	{ "@/root/fifo",
	  "@/root/fifo is not a regular file or directory (a FIFO)" },
	{ "@/root/sock",
	  "@/root/sock is not a regular file or directory (a socket)" },
	/* Simply not there. */
	{ "@/root/nothere", "no such file: @/root/nothere" },
	{ "@/root/app.log/x", "no such file: @/root/app.log/x" },
};

/* path is refused by stat, open and list alike, with why. */
static void
assert_refused(const struct policy *p, const char *path, const char *want)
{
	struct access_dirent	ents[4];
	struct stat		st;
	char			why[ACCESS_WHY_MAX];
	uint32_t		cookie = 0;
	size_t			n = 99;
	int			fd = -1, eof = 0;

	why[0] = '\0';
	if (files_stat(p, path, &st, why, sizeof(why)) != -1)
		fail_msg("stat %s: not refused", path);
	assert_string_equal(why, want);
	why[0] = '\0';
	if (files_open(p, path, &fd, &st, why, sizeof(why)) != -1)
		fail_msg("open %s: not refused", path);
	assert_int_equal(fd, -1);
	assert_string_equal(why, want);
	why[0] = '\0';
	if (files_list(p, path, &cookie, ents, N(ents), &n, &eof, why,
	    sizeof(why)) != -1)
		fail_msg("list %s: not refused", path);
	assert_string_equal(why, want);
	assert_int_equal(cookie, 0);
}

static void
test_escapes(void **state)
{
	char	path[1024], want[1024];
	size_t	i;

	/* Opening a FIFO for reading would block: make that a failure. */
	alarm(10);
	for (i = 0; i < N(escapes); i++) {
		at(escapes[i].path, path, sizeof(path));
		at(escapes[i].why, want, sizeof(want));
		assert_refused(pol, path, want);
	}
	alarm(0);
}

static void
test_device(void **state)
{
	char path[512], want[600];

	if (!have_dev)
		skip();
	at("@/root/dev", path, sizeof(path));
	snprintf(want, sizeof(want), "%s is not a regular file or directory "
	    "(a device)", path);
	assert_refused(pol, path, want);
}

static void
test_long_path(void **state)
{
	char	path[ACCESS_PATH_MAX + 16], why[ACCESS_WHY_MAX];
	size_t	n;

	n = (size_t)snprintf(path, sizeof(path), "%s/root/", base);
	memset(path + n, 'a', sizeof(path) - n - 1);
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(policy_allow_file(pol, path, why, sizeof(why)), 0);
	assert_string_equal(why, "path is longer than 1024 bytes");
	/* At the limit exactly, it passes the lexical gate. */
	path[ACCESS_PATH_MAX] = '\0';
	assert_int_equal(policy_allow_file(pol, path, why, sizeof(why)), 1);
}

static void
test_files_disabled(void **state)
{
	struct policy	*off;
	struct stat	 st;
	char		 path[512], why[ACCESS_WHY_MAX];

	off = load(GW "[files]\nenabled = no\npaths = %s/root\n", base);
	at("@/root/app.log", path, sizeof(path));
	assert_int_equal(policy_allow_file(off, path, why, sizeof(why)), 0);
	assert_string_equal(why, "file access is disabled on this cluster");
	assert_refused(off, path, "file access is disabled on this cluster");
	/* The same file with the grant on. */
	assert_int_equal(files_stat(pol, path, &st, why, sizeof(why)), 0);
	policy_free(off);
}

/* The lexical gate alone passes a link; only the disk gate stops it. */
static void
test_allowed_is_lexical(void **state)
{
	char path[512], why[ACCESS_WHY_MAX];

	at("@/root/out_link", path, sizeof(path));
	assert_int_equal(policy_allow_file(pol, path, why, sizeof(why)), 1);
	at("@/root/secret.key", path, sizeof(path));
	assert_int_equal(policy_allow_file(pol, path, why, sizeof(why)), 0);
	assert_string_equal(why, "secret.key matches a denied pattern");
}

/* ---- files: what is served ---- */

static void
test_open_reads(void **state)
{
	struct access_attr	attr;
	struct stat		st;
	char			path[512], why[ACCESS_WHY_MAX], buf[64];
	int			fd = -1;
	ssize_t			n;

	at("@/root/app.log", path, sizeof(path));
	if (files_open(pol, path, &fd, &st, why, sizeof(why)) == -1)
		fail_msg("open: %s", why);
	n = pread(fd, buf, sizeof(buf), 0);
	assert_int_equal(n, 10);
	assert_memory_equal(buf, "hello log\n", 10);
	/* Blocking again, and never inherited by a diagnostic. */
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	files_attr(&st, &attr);
	assert_int_equal(attr.size, 10);
	assert_true(S_ISREG(attr.mode));
	assert_int_equal(attr.nlink, 1);
	assert_int_equal(attr.uid, st.st_uid);
	assert_int_equal(attr.mtime, (uint32_t)st.st_mtime);
	close(fd);

	/* The second root, whose name is a prefix of a sibling's. */
	at("@/x/log/ok.log", path, sizeof(path));
	if (files_open(pol, path, &fd, &st, why, sizeof(why)) == -1)
		fail_msg("open: %s", why);
	assert_int_equal(st.st_size, 3);
	close(fd);
}

static void
test_open_directory(void **state)
{
	struct stat	st;
	char		path[512], why[ACCESS_WHY_MAX], want[600];
	int		fd = -1;

	at("@/root/sub", path, sizeof(path));
	assert_int_equal(files_open(pol, path, &fd, &st, why, sizeof(why)), -1);
	snprintf(want, sizeof(want), "%s is a directory", path);
	assert_string_equal(why, want);
	assert_int_equal(fd, -1);
}

static void
test_stat(void **state)
{
	struct access_attr	attr;
	struct stat		st;
	char			path[512], why[ACCESS_WHY_MAX];

	at("@/root", path, sizeof(path));
	if (files_stat(pol, path, &st, why, sizeof(why)) == -1)
		fail_msg("stat root: %s", why);
	files_attr(&st, &attr);
	assert_true(S_ISDIR(attr.mode));
	at("@/root/sub/inner.log", path, sizeof(path));
	if (files_stat(pol, path, &st, why, sizeof(why)) == -1)
		fail_msg("stat: %s", why);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 6);
}

static void
list_page(const char *rel, uint32_t *cookie, size_t max,
    struct access_dirent *ents, size_t *n, int *eof)
{
	char path[512], why[ACCESS_WHY_MAX];

	at(rel, path, sizeof(path));
	*n = 999;
	*eof = -1;
	if (files_list(pol, path, cookie, ents, max, n, eof, why,
	    sizeof(why)) == -1)
		fail_msg("list %s: %s", path, why);
}

static void
test_list_pages(void **state)
{
	static const char *const want[] = {
		"a.txt", "app.log", "b.txt", "c.log", "sub"
	};
	struct access_dirent	ents[2];
	uint32_t		cookie = 0;
	size_t			n, i, seen = 0;
	int			eof = 0;

	/*
	 * Pages of two, sorted; links, the FIFO, the socket, the device,
	 * the hard link, the denied names and the name that is not UTF-8
	 * are not there.
	 */
	while (!eof) {
		list_page("@/root", &cookie, N(ents), ents, &n, &eof);
		assert_true(n <= N(ents));
		for (i = 0; i < n; i++, seen++) {
			assert_true(seen < N(want));
			assert_string_equal(ents[i].name, want[seen]);
		}
		assert_int_equal(cookie, seen);
		assert_int_equal(eof, seen == N(want));
	}
	assert_int_equal(seen, N(want));

	/* Entries carry attributes. */
	cookie = 1;
	list_page("@/root", &cookie, 1, ents, &n, &eof);
	assert_int_equal(n, 1);
	assert_string_equal(ents[0].name, "app.log");
	assert_int_equal(ents[0].attr.size, 10);
	assert_true(S_ISREG(ents[0].attr.mode));
	cookie = 4;
	list_page("@/root", &cookie, 1, ents, &n, &eof);
	assert_string_equal(ents[0].name, "sub");
	assert_true(S_ISDIR(ents[0].attr.mode));
	assert_true(eof);

	/* Past the end: nothing, and the end. */
	cookie = 40;
	list_page("@/root", &cookie, N(ents), ents, &n, &eof);
	assert_int_equal(n, 0);
	assert_true(eof);
}

static void
test_list_sub(void **state)
{
	struct access_dirent	ents[8];
	uint32_t		cookie = 0;
	size_t			n;
	int			eof;
	char			path[512], why[ACCESS_WHY_MAX], want[600];

	/* a.tmp is denied by a whole-path glob. */
	list_page("@/root/sub", &cookie, N(ents), ents, &n, &eof);
	assert_int_equal(n, 1);
	assert_string_equal(ents[0].name, "inner.log");
	assert_true(eof);

	cookie = 0;
	at("@/root/app.log", path, sizeof(path));
	assert_int_equal(files_list(pol, path, &cookie, ents, N(ents), &n,
	    &eof, why, sizeof(why)), -1);
	snprintf(want, sizeof(want), "not a directory: %s", path);
	assert_string_equal(why, want);
}

/* ---- forward ---- */

/* A listening (or, with backlog -1, merely bound) socket on 127.0.0.1. */
static int
loopback(int backlog, uint16_t *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			s;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((s = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (backlog >= 0)
		assert_int_equal(listen(s, backlog), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return s;
}

static struct policy *
forward_policy(const char *enabled, uint16_t port)
{
	return load(GW "[forward]\nenabled = %s\n"
	    "targets = 127.0.0.1:%u, 127.0.0.1:8021\n", enabled, port);
}

/* Connect through forward_connect and check both ends talk. */
static void
assert_forwards(const struct policy *p, int lsock, const char *host,
    uint16_t port)
{
	char	addr[64], want[64], why[ACCESS_WHY_MAX], c = 0;
	int	s, peer;

	s = forward_connect(p, host, port, addr, sizeof(addr), why,
	    sizeof(why));
	if (s == -1)
		fail_msg("forward %s: %s", host, why);
	snprintf(want, sizeof(want), "127.0.0.1:%u", port);
	assert_string_equal(addr, want);
	assert_int_equal(fcntl(s, F_GETFL) & O_NONBLOCK, 0);
	assert_true(fcntl(s, F_GETFD) & FD_CLOEXEC);
	assert_true((peer = accept(lsock, NULL, NULL)) != -1);
	assert_int_equal(write(s, "x", 1), 1);
	assert_int_equal(read(peer, &c, 1), 1);
	assert_int_equal(c, 'x');
	close(peer);
	close(s);
}

static void
assert_no_forward(const struct policy *p, const char *host, uint16_t port,
    const char *want)
{
	char	addr[64] = "junk", why[ACCESS_WHY_MAX] = "";

	assert_int_equal(forward_connect(p, host, port, addr, sizeof(addr),
	    why, sizeof(why)), -1);
	assert_string_equal(why, want);
	assert_string_equal(addr, "");
}

static void
test_forward_allowed(void **state)
{
	struct policy	*p;
	uint16_t	 port;
	int		 l;

	l = loopback(4, &port);
	p = forward_policy("yes", port);
	assert_forwards(p, l, "127.0.0.1", port);
	policy_free(p);
	/*
	 * A target's own name is resolved (DNS names ignore case), and an
	 * address it resolves to may be asked for by number.  Whether
	 * localhost resolves is this machine's /etc/hosts' choice; where it
	 * does not, the name is refused with that reason.
	 */
	p = load(GW "[forward]\nenabled = yes\ntargets = localhost:%u\n",
	    port);
	if (localhost_is_loopback()) {
		assert_forwards(p, l, "localhost", port);
		assert_forwards(p, l, "LocalHost", port);
		assert_forwards(p, l, "127.0.0.1", port);
	} else {
		char	addr[64], why[ACCESS_WHY_MAX];

		assert_int_equal(forward_connect(p, "localhost", port, addr,
		    sizeof(addr), why, sizeof(why)), -1);
		assert_memory_equal(why, "cannot resolve localhost: ", 26);
	}
	policy_free(p);
	close(l);
}

static void
test_forward_refused(void **state)
{
	struct policy	*p;
	char		 want[128];
	uint16_t	 port;
	int		 l;

	l = loopback(4, &port);
	p = forward_policy("yes", port);
	assert_no_forward(p, "127.0.0.1", 22,
	    "127.0.0.1:22 is not a forwarding target on this cluster");
	/* The right port on another address is no target either. */
	snprintf(want, sizeof(want), "127.0.0.2:%u is not a forwarding target "
	    "on this cluster", port);
	assert_no_forward(p, "127.0.0.2", port, want);
	snprintf(want, sizeof(want), "[::1]:%u is not a forwarding target "
	    "on this cluster", port);
	assert_no_forward(p, "::1", port, want);
	/*
	 * A name that no target has is refused before it is looked up,
	 * even one that resolves to a listed address.
	 */
	snprintf(want, sizeof(want), "localhost:%u is not a forwarding "
	    "target on this cluster", port);
	assert_no_forward(p, "localhost", port, want);
	assert_no_forward(p, "127.0.0.1\n", port,
	    "not a host name or address");
	assert_no_forward(p, "", port, "not a host name or address");
	policy_free(p);

	p = forward_policy("no", port);
	assert_no_forward(p, "127.0.0.1", port,
	    "port forwarding is disabled on this cluster");
	policy_free(p);
	close(l);
}

static void
test_forward_connection_refused(void **state)
{
	struct policy	*p;
	char		 want[128];
	uint16_t	 port;
	int		 b;

	/* Bound, not listening: the port stays ours and refuses. */
	b = loopback(-1, &port);
	p = forward_policy("yes", port);
	snprintf(want, sizeof(want), "connecting to 127.0.0.1:%u: "
	    "Connection refused", port);
	assert_no_forward(p, "127.0.0.1", port, want);
	policy_free(p);
	close(b);
}

/* ---- settings ---- */

static char	ini[512];

static int
settings_setup(void **state)
{
	at("@/settings/cluster.ini", ini, sizeof(ini));
	put("settings/cluster.ini", SETTINGS_TEXT);
	return chmod(ini, 0640);
}

static void
assert_ini(const char *want)
{
	char *text = slurp(ini);

	assert_string_equal(text, want);
	free(text);
}

/* Nothing but the settings file in its directory: no temporary left. */
static void
assert_no_litter(void)
{
	char		 dir[512];
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	assert_non_null(d = opendir(at("@/settings", dir, sizeof(dir))));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	assert_int_equal(n, 1);
}

static void
get_ok(const char *key, const char *want)
{
	char value[SETTINGS_VALUE_MAX + 1], why[ACCESS_WHY_MAX];

	if (settings_get(pol, key, value, sizeof(value), why,
	    sizeof(why)) == -1)
		fail_msg("get %s: %s", key, why);
	assert_string_equal(value, want);
}

static void
set_ok(const char *key, const char *value, const char *want_old)
{
	char old[SETTINGS_VALUE_MAX + 1] = "junk", why[ACCESS_WHY_MAX];

	if (settings_set(pol, key, value, old, sizeof(old), why,
	    sizeof(why)) == -1)
		fail_msg("set %s: %s", key, why);
	assert_string_equal(old, want_old);
}

/* Refused with why ("@" for the directory); the file is untouched. */
static void
set_refused(const struct policy *p, const char *key, const char *value,
    const char *want)
{
	char	old[64] = "junk", why[ACCESS_WHY_MAX], w[600];
	char	*before = slurp(ini);

	at(want, w, sizeof(w));
	assert_int_equal(settings_set(p, key, value, old, sizeof(old), why,
	    sizeof(why)), -1);
	assert_string_equal(why, w);
	assert_string_equal(old, "junk");
	assert_ini(before);
	assert_no_litter();
	free(before);
}

static void
get_refused(const struct policy *p, const char *key, const char *want)
{
	char value[64], why[ACCESS_WHY_MAX], w[600];

	at(want, w, sizeof(w));
	assert_int_equal(settings_get(p, key, value, sizeof(value), why,
	    sizeof(why)), -1);
	assert_string_equal(why, w);
}

static void
test_settings_get(void **state)
{
	get_ok("jvm.heap", "4g");
	get_ok("ingest.queue_size", "1000");
	get_ok("tail.key", "last");
	get_refused(pol, "new.key",
	    "new.key is not set in @/settings/cluster.ini");
}

static void
test_settings_set(void **state)
{
	struct stat	st;
	ino_t		before;

	assert_int_equal(stat(ini, &st), 0);
	before = st.st_ino;
	set_ok("jvm.heap", "8g", "4g");
	assert_ini(
	    "# product settings\n"
	    "jvm.heap = 8g\n"
	    "; tuned by support\n"
	    "\n"
	    "ingest.queue_size=1000\n"
	    "  other.key   =   keep  me  \r\n"
	    "\ttail.key = last");
	/* Replaced by rename, with the same mode. */
	assert_int_equal(stat(ini, &st), 0);
	assert_int_not_equal(st.st_ino, before);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_no_litter();

	set_ok("ingest.queue_size", "2000", "1000");
	set_ok("tail.key", "", "last");
	assert_ini(
	    "# product settings\n"
	    "jvm.heap = 8g\n"
	    "; tuned by support\n"
	    "\n"
	    "ingest.queue_size=2000\n"
	    "  other.key   =   keep  me  \r\n"
	    "\ttail.key = ");
	get_ok("ingest.queue_size", "2000");
	get_ok("tail.key", "");
}

static void
test_settings_append(void **state)
{
	/* The last line has no newline: one is added before the new key. */
	set_ok("new.key", "on", "");
	assert_ini(SETTINGS_TEXT "\nnew.key = on\n");
	get_ok("new.key", "on");
	set_ok("new.key", "off", "on");
	assert_ini(SETTINGS_TEXT "\nnew.key = off\n");

	put("settings/cluster.ini", "jvm.heap = 4g\n");
	set_ok("new.key", "on", "");
	assert_ini("jvm.heap = 4g\nnew.key = on\n");
	put("settings/cluster.ini", "");
	set_ok("new.key", "on", "");
	assert_ini("new.key = on\n");
}

static void
test_settings_refused(void **state)
{
	struct policy	*off;
	char		 big[SETTINGS_VALUE_MAX + 2];

	set_refused(pol, "other.key", "x",
	    "key 'other.key' is not a listed setting");
	get_refused(pol, "other.key",
	    "key 'other.key' is not a listed setting");
	set_refused(pol, "bad\nkey", "x", "not a setting name");
	set_refused(pol, "jvm.heap", "8g\nevil.key = 1",
	    "the value must be printable ASCII on one line");
	set_refused(pol, "jvm.heap", "8g\r",
	    "the value must be printable ASCII on one line");
	set_refused(pol, "jvm.heap", " 8g",
	    "the value must not begin or end with a blank");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	set_refused(pol, "jvm.heap", big, "the value is longer than 256 bytes");
	big[SETTINGS_VALUE_MAX] = '\0';
	set_ok("jvm.heap", big, "4g");

	off = load(GW "[settings]\nenabled = no\nfile = %s\nkeys = jvm.heap\n",
	    ini);
	set_refused(off, "jvm.heap", "8g",
	    "remote settings are disabled on this cluster");
	get_refused(off, "jvm.heap",
	    "remote settings are disabled on this cluster");
	policy_free(off);
}

/* Values go out as JSON: what is not printable ASCII is not sent. */
static void
test_settings_not_ascii(void **state)
{
	put("settings/cluster.ini", "jvm.heap = caf\xc3\xa9\n");
	get_refused(pol, "jvm.heap",
	    "@/settings/cluster.ini:1: the value of jvm.heap is not "
	    "printable ASCII");
	set_ok("jvm.heap", "4g", "caf??");
	assert_ini("jvm.heap = 4g\n");
}

static void
test_settings_malformed(void **state)
{
	put("settings/cluster.ini", "jvm.heap = 4g\nthis is not valid\n");
	set_refused(pol, "jvm.heap", "8g",
	    "@/settings/cluster.ini:2: not a key = value line");
	get_refused(pol, "jvm.heap",
	    "@/settings/cluster.ini:2: not a key = value line");

	put("settings/cluster.ini", "= 4g\n");
	set_refused(pol, "jvm.heap", "8g",
	    "@/settings/cluster.ini:1: not a key = value line");
	put("settings/cluster.ini", "# ok\njvm.heap = 4\x01g\n");
	set_refused(pol, "jvm.heap", "8g",
	    "@/settings/cluster.ini:2: not a key = value line");

	put("settings/cluster.ini",
	    "jvm.heap = 4g\nx = 1\njvm.heap = 5g\nx = 2\n");
	set_refused(pol, "new.key", "on",
	    "@/settings/cluster.ini:3: duplicate key 'jvm.heap' "
	    "(also on line 1)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_device),
		cmocka_unit_test(test_long_path),
		cmocka_unit_test(test_files_disabled),
		cmocka_unit_test(test_allowed_is_lexical),
		cmocka_unit_test(test_open_reads),
		cmocka_unit_test(test_open_directory),
		cmocka_unit_test(test_stat),
		cmocka_unit_test(test_list_pages),
		cmocka_unit_test(test_list_sub),
		cmocka_unit_test(test_forward_allowed),
		cmocka_unit_test(test_forward_refused),
		cmocka_unit_test(test_forward_connection_refused),
		cmocka_unit_test_setup(test_settings_get, settings_setup),
		cmocka_unit_test_setup(test_settings_set, settings_setup),
		cmocka_unit_test_setup(test_settings_append, settings_setup),
		cmocka_unit_test_setup(test_settings_refused, settings_setup),
		cmocka_unit_test_setup(test_settings_not_ascii, settings_setup),
		cmocka_unit_test_setup(test_settings_malformed,
		    settings_setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
