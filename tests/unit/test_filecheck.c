/*
 * test_filecheck.c - the start-up rules both daemons share: StrictModes
 * on files and the directories above them, the kinds of key files (made
 * by ssh-keygen here), where a key is in its INI file, the instance
 * lock and the systemd notification.  Rows that need another owner are
 * skipped when not run as root.
 */
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <fcntl.h>
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

#include "tests/unit/kit.h"
#include "lib/daemon.h"
#include "lib/filecheck.h"
#include "lib/inifile.h"
#include "lib/log.h"
#include "lib/sshcert.h"

#define N(a)		(sizeof(a) / sizeof((a)[0]))
#define STRANGER	4242420		/* a uid with no account */

static char dir[KIT_PATH_MAX];

/* dir/name, in buf; a path that does not fit fails the test. */
static const char *
at(char *buf, size_t len, const char *name)
{
	int n;

	n = snprintf(buf, len, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= len)
		fail_msg("%s/%s: path too long", dir, name);
	return buf;
}

static void
put(const char *name, const char *text, mode_t mode)
{
	char path[512];

	kit_write(at(path, sizeof(path), name), text, strlen(text), mode);
}

static int
setup(void **state)
{
	(void)state;
	if (kit_tmpdir(dir, "filecheck") == -1 || chmod(dir, 0755) == -1)
		return -1;
	log_init("test_filecheck", 1, LOG_LVL_ERROR);
	kit_run("ssh-keygen -q -t ed25519 -N '' -C t -f %s/ed", dir);
	kit_run("ssh-keygen -q -t rsa -b 2048 -m PEM -N '' -C t -f %s/pem", dir);
	kit_run("ssh-keygen -q -t ed25519 -N secret -C t -f %s/locked", dir);
	kit_run("ssh-keygen -q -s %s/ed -I id -n p %s/pem.pub", dir, dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return kit_rmtree(dir);
}

/*
 * What the checker prints for one call, each "%s" in the expected text
 * replaced by dir.
 */
struct capture {
	struct filecheck	 fc;
	char			*text;
	size_t			 len;
	FILE			*f;
};

static void
cap_open(struct capture *c)
{
	assert_non_null(c->f = open_memstream(&c->text, &c->len));
	filecheck_init(&c->fc, c->f);
}

static void
cap_expect(struct capture *c, const char *row, const char *fmt)
{
	char want[4096], *p;
	const char *f;
	size_t n = 0;

	fclose(c->f);
	/* Every %s is dir. */
	for (f = fmt; *f != '\0' && n + sizeof(dir) < sizeof(want); f++) {
		if (f[0] == '%' && f[1] == 's') {
			n += (size_t)snprintf(want + n, sizeof(want) - n, "%s",
			    dir);
			f++;
		} else
			want[n++] = *f;
	}
	want[n] = '\0';
	if (strcmp(c->text, want) != 0)
		fail_msg("%s:\n got: '%s'\nwant: '%s'", row, c->text, want);
	/* One problem per line, and counted. */
	for (n = 0, p = c->text; *p != '\0'; p++)
		n += *p == '\n';
	assert_int_equal(c->fc.problems, n);
	free(c->text);
}

static void
test_path(void **state)
{
	static const struct {
		const char		*row;
		const char		*file;		/* under dir/d */
		mode_t			 mode;
		uid_t			 owner;		/* 0: root */
		mode_t			 dmode;		/* of dir/d */
		uid_t			 downer;
		enum filecheck_kind	 kind;
		const char		*want;
	} t[] = {
		{ "a trusted file", "f", 0644, 0, 0755, 0, FILECHECK_TRUSTED,
		    "" },
		{ "group-writable", "f", 0664, 0, 0755, 0, FILECHECK_TRUSTED,
		    "%s/d/f: writable by group or others (mode 0664); "
		    "chmod go-w %s/d/f\n" },
		{ "a secret 0600", "f", 0600, 0, 0755, 0, FILECHECK_SECRET,
		    "" },
		{ "a secret others read", "f", 0604, 0, 0755, 0,
		    FILECHECK_SECRET,
		    "%s/d/f: group or others may read it (mode 0604); "
		    "chmod 600 %s/d/f\n" },
		{ "a program", "f", 0755, 0, 0755, 0, FILECHECK_PROGRAM, "" },
		{ "a program without x", "f", 0644, 0, 0755, 0,
		    FILECHECK_PROGRAM,
		    "K: %s/d/f: not executable; chmod 755 %s/d/f\n" },
		{ "a stranger's file", "f", 0644, STRANGER, 0755, 0,
		    FILECHECK_TRUSTED,
		    "%s/d/f: owned by uid 4242420; chown root %s/d/f\n" },
		{ "a world-writable directory", "f", 0644, 0, 0777, 0,
		    FILECHECK_TRUSTED,
		    "%s/d: writable by group or others (mode 0777), above "
		    "%s/d/f; chmod go-w %s/d\n" },
		{ "root's sticky directory", "f", 0644, 0, 01777, 0,
		    FILECHECK_TRUSTED, "" },
		{ "a stranger's sticky directory", "f", 0644, 0, 01777,
		    STRANGER, FILECHECK_TRUSTED,
		    "%s/d: owned by uid 4242420, above %s/d/f; chown root "
		    "%s/d\n" },
		{ "missing", NULL, 0, 0, 0755, 0, FILECHECK_TRUSTED,
		    "K: %s/d/f: No such file or directory\n" },
	};
	struct capture	 c;
	char		 d[512], f[512];
	size_t		 i;

	(void)state;
	for (i = 0; i < N(t); i++) {
		if ((t[i].owner != 0 || t[i].downer != 0) && geteuid() != 0)
			continue;	/* needs chown */
		kit_run("rm -rf %s/d && mkdir %s/d", dir, dir);
		at(d, sizeof(d), "d");
		at(f, sizeof(f), "d/f");
		if (t[i].file != NULL) {
			put("d/f", "x\n", t[i].mode);
			assert_int_equal(chown(f, t[i].owner, 0), 0);
		}
		assert_int_equal(chmod(d, t[i].dmode), 0);
		assert_int_equal(chown(d, t[i].downer, 0), 0);
		cap_open(&c);
		assert_int_equal(filecheck_path(&c.fc, "K", f, t[i].kind),
		    t[i].file == NULL ? -1 : 0);
		cap_expect(&c, t[i].row, t[i].want);
	}
	kit_run("rm -rf %s/d", dir);
}

/* A link is judged by its target and by the directory it sits in. */
static void
test_links(void **state)
{
	struct capture	c;
	char		path[512];

	(void)state;
	kit_run("mkdir -m 0755 %s/safe && mkdir -m 0777 %s/open", dir, dir);
	put("safe/f", "x\n", 0644);
	kit_run("ln -s ../safe/f %s/open/link && ln -s %s/open %s/via", dir, dir,
	    dir);
	cap_open(&c);
	filecheck_path(&c.fc, "K", at(path, sizeof(path), "open/link"),
	    FILECHECK_TRUSTED);
	cap_expect(&c, "a link in an open directory", "%s/open: writable by "
	    "group or others (mode 0777), above %s/open/link; chmod go-w "
	    "%s/open\n");
	put("open/f", "x\n", 0644);
	put("open/g", "x\n", 0644);
	cap_open(&c);
	filecheck_path(&c.fc, "K", at(path, sizeof(path), "open/f"),
	    FILECHECK_TRUSTED);
	filecheck_path(&c.fc, "K", at(path, sizeof(path), "via/g"),
	    FILECHECK_TRUSTED);
	cap_expect(&c, "one directory, reported once", "%s/open: writable by "
	    "group or others (mode 0777), above %s/open/f; chmod go-w "
	    "%s/open\n");
	cap_open(&c);
	filecheck_path(&c.fc, "K", at(path, sizeof(path), "safe"),
	    FILECHECK_TRUSTED);
	cap_expect(&c, "a directory", "K: %s/safe: not a regular file\n");
	kit_run("rm -rf %s/safe %s/open %s/via", dir, dir, dir);
}

/*
 * A chain of links is only as safe as every directory that holds one
 * of its links, though neither the name given nor the resolved path
 * passes through them: whoever may write there may point the chain
 * elsewhere.
 */
static void
test_chains(void **state)
{
	static const struct {
		const char	*row;
		const char	*name;
		const char	*want;
	} t[] = {
		{ "a file", "safe/f", "" },
		{ "a chain through an open directory", "safe/l1",
		    "%s/open: writable by group or others (mode 0777), above "
		    "%s/safe/l1; chmod go-w %s/open\n" },
		{ "a directory link through an open directory", "safe/dl/f",
		    "%s/open: writable by group or others (mode 0777), above "
		    "%s/safe/dl/f; chmod go-w %s/open\n" },
		{ "an absolute link into an open directory", "safe/abs",
		    "%s/open: writable by group or others (mode 0777), above "
		    "%s/safe/abs; chmod go-w %s/open\n" },
		{ "a chain of safe links", "safe/s1", "" },
		{ "dot-dot after a directory link", "safe/dl/../safe2/f",
		    "%s/open: writable by group or others (mode 0777), above "
		    "%s/safe/dl/../safe2/f; chmod go-w %s/open\n" },
		{ "a loop", "safe/loop1",
		    "K: %s/safe/loop1: Too many levels of symbolic links\n" },
		{ "a link to nothing", "safe/dangling",
		    "K: %s/safe/dangling: No such file or directory\n" },
	};
	struct capture	c;
	char		path[512];
	size_t		i;

	(void)state;
	kit_run("mkdir -m 0755 %s/safe %s/safe2 && mkdir -m 0777 %s/open", dir,
	    dir, dir);
	put("safe/f", "x\n", 0644);
	put("safe2/f", "x\n", 0644);
	kit_run("cd %s && ln -s ../open/l2 safe/l1 && ln -s ../safe/f open/l2 && "
	    "ln -s ../open/d2 safe/dl && ln -s ../safe2 open/d2 && "
	    "ln -s %s/open/l2 safe/abs && ln -s s2 safe/s1 && "
	    "ln -s ../safe2/f safe/s2 && ln -s loop2 safe/loop1 && "
	    "ln -s loop1 safe/loop2 && ln -s nothing safe/dangling", dir,
	    dir);
	for (i = 0; i < N(t); i++) {
		cap_open(&c);
		(void)filecheck_path(&c.fc, "K", at(path, sizeof(path),
		    t[i].name), FILECHECK_TRUSTED);
		cap_expect(&c, t[i].row, t[i].want);
	}
	/* The same, named from the directory it is in. */
	if (chdir(dir) == -1)
		fail_msg("chdir %s", dir);
	cap_open(&c);
	(void)filecheck_path(&c.fc, "K", "safe/l1", FILECHECK_TRUSTED);
	cap_expect(&c, "a relative name", "%s/open: writable by group or "
	    "others (mode 0777), above safe/l1; chmod go-w %s/open\n");
	assert_int_equal(chdir("/"), 0);
	kit_run("rm -rf %s/safe %s/safe2 %s/open", dir, dir, dir);
}

static void
test_creatable(void **state)
{
	static const struct {
		const char	*row;
		const char	*name;
		int		 dir;
		const char	*want;
	} t[] = {
		{ "an existing directory", "c", 1, "" },
		{ "a new directory", "c/new", 1, "" },
		{ "a new file", "c/new", 0, "" },
		{ "a file where a directory goes", "c/file", 1,
		    "K: %s/c/file exists and is not a directory; move it "
		    "away or name another path\n" },
		{ "a directory where a file goes", "c", 0,
		    "K: %s/c exists and is not a regular file; move it away "
		    "or name another path\n" },
		{ "no parent", "c/no/new", 1,
		    "K: %s/c/no/new cannot be created: %s/c/no does not exist; "
		    "mkdir -p %s/c/no\n" },
		{ "a file as parent", "c/file/new", 1,
		    "K: %s/c/file/new: Not a directory\n" },
	};
	struct capture	c;
	char		path[512];
	size_t		i;

	(void)state;
	kit_run("mkdir %s/c", dir);
	put("c/file", "", 0644);
	for (i = 0; i < N(t); i++) {
		cap_open(&c);
		assert_int_equal(filecheck_creatable(&c.fc, "K", at(path,
		    sizeof(path), t[i].name), t[i].dir), t[i].want[0] == '\0' ?
		    0 : -1);
		cap_expect(&c, t[i].row, t[i].want);
	}
	kit_run("rm -rf %s/c", dir);
}

/*
 * What the daemon writes to (state_dir, audit_dir, run_dir, the relay's
 * database) must be as safe as what it reads: owned by root or the
 * daemon and writable by nobody else, and so must every directory
 * above it, as for a file it trusts.
 */
static void
test_creatable_owned(void **state)
{
	static const struct {
		const char	*row;
		mode_t		 mode;		/* of dir/o */
		uid_t		 owner;
		const char	*file;		/* made in dir/o, or NULL */
		mode_t		 fmode;
		uid_t		 fowner;
		const char	*name;		/* checked */
		int		 dir;
		const char	*want;
	} t[] = {
		{ "a directory of root's", 0755, 0, NULL, 0, 0, "o", 1, "" },
		{ "a directory others may write", 0777, 0, NULL, 0, 0, "o", 1,
		    "K: %s/o: writable by group or others (mode 0777); chmod "
		    "go-w %s/o\n" },
		{ "root's sticky directory, as the directory itself", 01777,
		    0, NULL, 0, 0, "o", 1,
		    "K: %s/o: writable by group or others (mode 1777); chmod "
		    "go-w %s/o\n" },
		{ "a stranger's directory", 0700, STRANGER, NULL, 0, 0, "o", 1,
		    "K: %s/o: owned by uid 4242420; chown root %s/o\n" },
		{ "a new directory in an open one", 0777, 0, NULL, 0, 0,
		    "o/new", 1,
		    "%s/o: writable by group or others (mode 0777), above "
		    "%s/o/new; chmod go-w %s/o\n" },
		{ "a new directory in root's sticky one", 01777, 0, NULL, 0, 0,
		    "o/new", 1, "" },
		{ "a directory in a stranger's", 0755, STRANGER, "x", 0, 0,
		    "o/x", 1,
		    "%s/o: owned by uid 4242420, above %s/o/x; chown root "
		    "%s/o\n" },
		{ "a stranger's file", 0755, 0, "f", 0600, STRANGER, "o/f", 0,
		    "K: %s/o/f: owned by uid 4242420; chown root %s/o/f\n" },
		{ "a file others may write", 0755, 0, "f", 0666, 0, "o/f", 0,
		    "K: %s/o/f: writable by group or others (mode 0666); chmod "
		    "go-w %s/o/f\n" },
		{ "a link in an open directory", 0777, 0, "l", 0, 0, "o/l", 1,
		    "%s/o: writable by group or others (mode 0777), above "
		    "%s/o/l; chmod go-w %s/o\n" },
	};
	struct capture	c;
	char		path[512];
	size_t		i;

	(void)state;
	kit_run("mkdir -m 0755 %s/target", dir);
	for (i = 0; i < N(t); i++) {
		if ((t[i].owner != 0 || t[i].fowner != 0) && geteuid() != 0)
			continue;	/* needs chown */
		kit_run("rm -rf %s/o && mkdir %s/o", dir, dir);
		if (t[i].file != NULL && strcmp(t[i].file, "x") == 0)
			kit_run("mkdir -m 0755 %s/o/x", dir);
		else if (t[i].file != NULL && strcmp(t[i].file, "l") == 0)
			kit_run("ln -s ../target %s/o/l", dir);
		else if (t[i].file != NULL) {
			put("o/f", "", t[i].fmode);
			assert_int_equal(chown(at(path, sizeof(path), "o/f"),
			    t[i].fowner, 0), 0);
		}
		at(path, sizeof(path), "o");
		assert_int_equal(chmod(path, t[i].mode), 0);
		assert_int_equal(chown(path, t[i].owner, 0), 0);
		cap_open(&c);
		(void)filecheck_creatable(&c.fc, "K", at(path, sizeof(path),
		    t[i].name), t[i].dir);
		cap_expect(&c, t[i].row, t[i].want);
	}
	kit_run("rm -rf %s/o %s/target", dir, dir);
}

static void
test_keys(void **state)
{
	static const struct {
		const char	*row;
		const char	*name;
		int		 private_key;
		const char	*type;
		const char	*want;
	} t[] = {
		{ "an ed25519 private key", "ed", 1, "ssh-ed25519", "" },
		{ "its public key", "ed.pub", 0, "ssh-ed25519", "" },
		{ "a PEM private key", "pem", 1, NULL, "" },
		{ "a .pub as a private key", "ed.pub", 1, NULL,
		    "K: %s/ed.pub is a public key; name the private key, "
		    "%s/ed\n" },
		{ "a private key as a public key", "ed", 0, NULL,
		    "K: %s/ed is a private key; name the public key "
		    "(%s/ed.pub) and keep the private one off this machine if "
		    "it does not need it\n" },
		{ "a passphrase", "locked", 1, NULL,
		    "K: %s/locked is protected by a passphrase, which a daemon "
		    "cannot type; ssh-keygen -p -N '' -f %s/locked\n" },
		{ "the wrong type", "pem.pub", 0, "ssh-ed25519",
		    "K: %s/pem.pub is an ssh-rsa key; ssh-ed25519 is needed "
		    "here (ssh-keygen -t ed25519)\n" },
		{ "a certificate", "pem-cert.pub", 0, NULL,
		    "K: %s/pem-cert.pub is a certificate, not a public key\n" },
		{ "not a key", "junk", 0, NULL,
		    "K: %s/junk: not an OpenSSH key file\n" },
		{ "a label that lies", "liar.pub", 0, NULL,
		    "K: %s/liar.pub: not an OpenSSH key file (its key is not of "
		    "the type it is labelled)\n" },
		{ "a private key cut short", "cut", 1, NULL,
		    "K: %s/cut: malformed OpenSSH private key\n" },
	};
	struct sshcert_keyfile	 kf;
	struct capture		 c;
	char			 path[512], err[1024];
	size_t			 i;

	(void)state;
	put("junk", "hello\n", 0644);
	kit_run("sed 's/^ssh-rsa/ssh-ed25519/' %s/pem.pub >%s/liar.pub", dir, dir);
	kit_run("head -c 200 %s/ed >%s/cut && echo '-----END OPENSSH PRIVATE "
	    "KEY-----' >>%s/cut && chmod 600 %s/cut", dir, dir, dir, dir);
	for (i = 0; i < N(t); i++) {
		cap_open(&c);
		assert_int_equal(filecheck_key(&c.fc, "K", at(path,
		    sizeof(path), t[i].name), t[i].private_key, t[i].type),
		    t[i].want[0] == '\0' ? 0 : -1);
		cap_expect(&c, t[i].row, t[i].want);
	}
	/* What the reader tells of each. */
	assert_int_equal(sshcert_read_keyfile(at(path, sizeof(path), "ed"),
	    &kf, err, sizeof(err)), 0);
	assert_int_equal(kf.kind, SSHCERT_KEY_PRIVATE);
	assert_string_equal(kf.type, "ssh-ed25519");
	assert_int_equal(sshcert_read_keyfile(at(path, sizeof(path), "pem"),
	    &kf, err, sizeof(err)), 0);
	assert_int_equal(kf.kind, SSHCERT_KEY_PRIVATE);
	assert_string_equal(kf.type, "ssh-rsa");
	assert_int_equal(sshcert_read_keyfile(at(path, sizeof(path),
	    "locked"), &kf, err, sizeof(err)), 0);
	assert_int_equal(kf.kind, SSHCERT_KEY_ENCRYPTED);
	assert_string_equal(kf.type, "ssh-ed25519");
	assert_int_equal(sshcert_read_keyfile(at(path, sizeof(path),
	    "pem-cert.pub"), &kf, err, sizeof(err)), 0);
	assert_int_equal(kf.kind, SSHCERT_KEY_CERT);
	assert_string_equal(kf.type, "ssh-rsa-cert-v01@openssh.com");
}

static void
test_lines(void **state)
{
	struct inifile_lines	*l;
	char			 path[512];

	(void)state;
	put("t.conf", "; comment\n[gateway]\ncluster_key = /k\n\n[commands]\n"
	    "status = /bin/true\n[cluster a.b]\nkey = /x\n", 0644);
	assert_non_null(l = inifile_lines_read(at(path, sizeof(path),
	    "t.conf")));
	assert_int_equal(inifile_lines_find(l, "gateway", "cluster_key"), 3);
	assert_int_equal(inifile_lines_find(l, "commands", "status"), 6);
	assert_int_equal(inifile_lines_find(l, "cluster a.b", "key"), 8);
	assert_int_equal(inifile_lines_find(l, "gateway", "status"), 0);
	assert_int_equal(inifile_lines_find(l, "relay", "key"), 0);
	inifile_lines_free(l);
	put("bad.conf", "[gateway]\nx = 1\nx = 2\n", 0644);
	assert_null(inifile_lines_read(at(path, sizeof(path), "bad.conf")));
	assert_int_equal(inifile_lines_find(NULL, "gateway", "x"), 0);
}

/* A process that holds path locked with flock(2) until it is killed. */
static pid_t
hold_flock(const char *path)
{
	pid_t	pid;
	int	p[2], fd;
	char	c;

	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		/* Gone with the test, however the test ends. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
		    (fd = open(path, O_RDONLY)) == -1 ||
		    flock(fd, LOCK_EX) == -1)
			_exit(1);
		(void)write(p[1], "l", 1);
		for (;;)
			pause();
	}
	assert_true(pid > 0);
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static void
test_lock(void **state)
{
	char	run_dir[512], pidfile[600], err[2048], want[2048], buf[32];
	char	other[512];
	pid_t	holder;
	FILE	*f;
	struct stat st;
	mode_t	mask;

	(void)state;
	daemon_init("tester");
	at(run_dir, sizeof(run_dir), "run");
	snprintf(pidfile, sizeof(pidfile), "%s/t.pid", run_dir);
	assert_int_equal(daemon_lock_holder(run_dir, "t.pid"), 0);
	if (daemon_lock(run_dir, "t.pid", err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(stat(run_dir, &st), 0);
	mask = umask(0);
	umask(mask);
	assert_int_equal(st.st_mode & 0777, 0755 & ~mask);
	assert_non_null(f = fopen(pidfile, "r"));
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_int_equal(atol(buf), (long)getpid());
	assert_int_equal(daemon_lock_holder(run_dir, "t.pid"), getpid());
	/* A second lock on the file: another open, refused. */
	assert_int_equal(daemon_lock(run_dir, "t.pid", err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "another tester (pid %ld) runs with %s",
	    (long)getpid(), pidfile);
	assert_string_equal(err, want);
	daemon_unlock();
	assert_int_equal(access(pidfile, F_OK), -1);
	assert_int_equal(daemon_lock_holder(run_dir, "t.pid"), 0);
	/* A stale file from a crash is taken over. */
	put("run/t.pid", "1\n", 0644);
	if (daemon_lock(run_dir, "t.pid", err, sizeof(err)) != 0)
		fail_msg("stale pid file: %s", err);
	daemon_unlock();
	/*
	 * A pid file that is not the daemon's own, even one nobody holds:
	 * planted by another user (and locked by it, so that the start
	 * would blame "another tester"), or with a second name, which the
	 * pid written into it would reach as well.
	 */
	if (geteuid() == 0) {
		put("run/t.pid", "1\n", 0644);
		assert_int_equal(chown(pidfile, STRANGER, 0), 0);
		holder = hold_flock(pidfile);
		assert_int_equal(daemon_lock(run_dir, "t.pid", err,
		    sizeof(err)), -1);
		snprintf(want, sizeof(want), "%s: owned by uid 4242420, not "
		    "by tester (uid 0): not its pid file; rm %s", pidfile,
		    pidfile);
		assert_string_equal(err, want);
		kill(holder, SIGKILL);
		waitpid(holder, NULL, 0);
		assert_int_equal(unlink(pidfile), 0);
	}
	put("run/t.pid", "", 0644);
	at(other, sizeof(other), "run/other");
	assert_int_equal(link(pidfile, other), 0);
	assert_int_equal(daemon_lock(run_dir, "t.pid", err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: 2 names (hard links): not its pid "
	    "file; rm %s", pidfile, pidfile);
	assert_string_equal(err, want);
	assert_int_equal(unlink(other), 0);
	assert_int_equal(unlink(pidfile), 0);
	/* run_dir taken by a file. */
	put("runfile", "", 0644);
	assert_int_equal(daemon_lock(at(run_dir, sizeof(run_dir), "runfile"),
	    "t.pid", err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: not a directory", run_dir);
	assert_string_equal(err, want);
}

/*
 * A probe (-t, the relay's port check, a start's own check) takes no
 * lock, so a start racing one is never refused: a process probing in a
 * loop while this one takes and drops the lock again and again.  The
 * old probe took a shared flock(2) for an instant, and a start that
 * came in that instant was told "another tester runs".
 */
static void
test_lock_probe(void **state)
{
	char	run_dir[512], err[1024];
	pid_t	prober;
	int	i, refused = 0;

	(void)state;
	daemon_init("tester");
	at(run_dir, sizeof(run_dir), "probe");
	if (daemon_lock(run_dir, "t.pid", err, sizeof(err)) != 0)
		fail_msg("%s", err);
	daemon_unlock();
	if ((prober = fork()) == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			(void)daemon_lock_holder(run_dir, "t.pid");
	}
	assert_true(prober > 0);
	for (i = 0; i < 5000; i++) {
		if (daemon_lock(run_dir, "t.pid", err, sizeof(err)) != 0) {
			refused++;
			continue;
		}
		daemon_unlock();
	}
	kill(prober, SIGKILL);
	waitpid(prober, NULL, 0);
	if (refused > 0)
		fail_msg("%d of %d starts refused while probed: %s", refused,
		    i, err);
}

/* One datagram per state, to a path or an abstract name. */
static void
test_notify(void **state)
{
	static const char	*names[] = { "path", "abstract" };
	struct sockaddr_un	 sun;
	socklen_t		 len;
	char			 addr[108], got[256];
	ssize_t			 n;
	size_t			 i;
	int			 s;

	(void)state;
	for (i = 0; i < N(names); i++) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (i == 0)
			at(addr, sizeof(addr), "notify.sock");
		else
			snprintf(addr, sizeof(addr), "@test_filecheck-%ld",
			    (long)getpid());
		memcpy(sun.sun_path, addr, strlen(addr));
		if (i == 1)
			sun.sun_path[0] = '\0';
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    strlen(addr));
		assert_true((s = socket(AF_UNIX, SOCK_DGRAM, 0)) != -1);
		assert_int_equal(bind(s, (struct sockaddr *)&sun, len), 0);
		setenv("NOTIFY_SOCKET", addr, 1);
		daemon_init("tester");
		assert_null(getenv("NOTIFY_SOCKET"));
		assert_int_equal(daemon_notify("READY=1"), 0);
		n = recv(s, got, sizeof(got) - 1, MSG_DONTWAIT);
		assert_int_equal(n, 7);
		got[n] = '\0';
		assert_string_equal(got, "READY=1");
		daemon_reloading();
		n = recv(s, got, sizeof(got) - 1, MSG_DONTWAIT);
		assert_true(n > 0);
		got[n] = '\0';
		assert_memory_equal(got, "RELOADING=1\nMONOTONIC_USEC=", 27);
		close(s);
	}
	/* Not asked: nothing to do, nothing fails. */
	unsetenv("NOTIFY_SOCKET");
	daemon_init("tester");
	assert_int_equal(daemon_notify("READY=1"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_chains),
		cmocka_unit_test(test_creatable),
		cmocka_unit_test(test_creatable_owned),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_lock_probe),
		cmocka_unit_test(test_notify),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
