/*
 * test_shell.c - the support shell as an engineer at a terminal sees it.
 *
 * Each case starts shell_run in a child process on the slave side of a
 * pty (its controlling terminal, as in the gateway), over fake access
 * operations on a temporary directory.  The test types into the master
 * side and reads back what the engineer's screen would show.
 */
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "gateway/session/shell.h"

#define WAIT_MS		5000	/* generous: sanitizer builds are slow */
#define PROMPT		"support@test:"
#define ROWS		10	/* the pty's size, for the pager */

/* The engineer's side of the terminal: all the shell has shown. */
struct term {
	int	master;
	pid_t	pid;
	char	screen[256 * 1024];
	size_t	len;
	size_t	seen;		/* matched up to here */
};

static struct term	term;
static char		dir[64];
static char		setting[64];	/* the fake jvm.heap, in the child */
static pid_t		diag_pid;	/* the fake diagnostic, in the child */
static int		diag_stuck;	/* it "ran into the timeout" */

/* "tail" is a shell command too: run reaches the diagnostic. */
static const char *const diagnostics[] = { "status", "threads", "ticker",
	"tail", "stuck", "split", NULL };

/*
 * Fake access operations: what the monitor would do, on dir.
 */

static int
inside(const char *path)
{
	size_t	len = strlen(dir);

	return strncmp(path, dir, len) == 0 &&
	    (path[len] == '\0' || path[len] == '/');
}

static void
to_attr(const struct stat *st, struct access_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->size = (uint64_t)st->st_size;
	a->mode = st->st_mode;
	a->mtime = (uint32_t)st->st_mtime;
	a->nlink = (uint32_t)st->st_nlink;
}

static int
fake_stat(void *arg, const char *path, struct access_attr *attr, char *why,
    size_t whylen)
{
	struct stat	st;

	if (!inside(path)) {
		snprintf(why, whylen, "%s: outside the product's paths", path);
		return 0;
	}
	if (lstat(path, &st) == -1) {
		snprintf(why, whylen, "%s: no such file or directory", path);
		return 0;
	}
	to_attr(&st, attr);
	return 1;
}

static int
fake_open_file(void *arg, const char *path, int *fd, uint32_t *handle,
    struct access_attr *attr, char *why, size_t whylen)
{
	struct stat	st;

	if (fnmatch("*.key", path, 0) == 0) {
		snprintf(why, whylen, "%s: denied by [files] deny = *.key",
		    strrchr(path, '/') + 1);
		return 0;
	}
	if (fake_stat(arg, path, attr, why, whylen) != 1)
		return 0;
	if ((*fd = open(path, O_RDONLY)) == -1 || fstat(*fd, &st) == -1)
		return 0;
	*handle = 7;
	return 1;
}

static int
fake_close_file(void *arg, uint32_t handle, uint64_t bytes)
{
	return handle == 7 ? 1 : -1;
}

/* At most two entries a call, so ls must page with the cookie. */
static int
fake_list_dir(void *arg, const char *path, uint32_t *cookie,
    struct access_dirent *ents, size_t max, size_t *n, int *eof, char *why,
    size_t whylen)
{
	struct dirent	*de;
	struct stat	 st;
	char		 full[2048];
	uint32_t	 i = 0;
	DIR		*d;

	if ((d = opendir(path)) == NULL) {
		snprintf(why, whylen, "%s: cannot list", path);
		return 0;
	}
	*n = 0;
	*eof = 1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (i++ < *cookie)
			continue;
		if (*n == max || *n == 2) {
			*eof = 0;
			break;
		}
		snprintf(full, sizeof(full), "%s/%s", path, de->d_name);
		lstat(full, &st);
		snprintf(ents[*n].name, sizeof(ents[*n].name), "%s",
		    de->d_name);
		to_attr(&st, &ents[(*n)++].attr);
		(*cookie)++;
	}
	closedir(d);
	return 1;
}

static int
fake_refused(void *arg, const char *op, const char *path)
{
	return 1;
}

/* A diagnostic: sh -c script in its own process group, as the monitor's. */
static int
spawn(const char *script, int *out, int *err)
{
	sigset_t	none;
	int		o[2], e[2];

	if (pipe(o) == -1 || pipe(e) == -1 || (diag_pid = fork()) == -1)
		return -1;
	if (diag_pid == 0) {
		setpgid(0, 0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		dup2(o[1], 1);
		dup2(e[1], 2);
		close(o[0]);
		close(e[0]);
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	*out = o[0];
	*err = e[0];
	return 1;
}

static int
fake_exec(void *arg, const char *cmdline, int *out, int *err, char *why,
    size_t whylen)
{
	if (strcmp(cmdline, "status") == 0)
		return spawn("printf 'cluster ok\\nnode-1 up\\n'; "
		    "printf 'disk 91%%\\n' >&2; exit 3", out, err);
	if (strcmp(cmdline, "threads 42") == 0)
		return spawn("echo 'thread dump of 42'", out, err);
	diag_stuck = strcmp(cmdline, "stuck") == 0;
	if (diag_stuck)
		return spawn("echo partial", out, err);
	if (strcmp(cmdline, "tail 5") == 0)
		return spawn("echo 'the diagnostic tail'", out, err);
	/* Characters and controls cut in two between the pipe's reads. */
	if (strcmp(cmdline, "split") == 0)
		return spawn("printf 'x\\302'; sleep 0.2; printf '\\233y "
		    "caf\\303'; sleep 0.2; printf '\\251\\r'; sleep 0.2; "
		    "printf '\\n'", out, err);
	if (strcmp(cmdline, "ticker") == 0)
		return spawn("while :; do echo tick; sleep 0.1; done", out,
		    err);
	if (strcmp(cmdline, "threads") == 0)
		snprintf(why, whylen, "threads: missing word {pid:int}");
	else
		snprintf(why, whylen, "%s: not allowed", cmdline);
	return 0;
}

static int
fake_exec_wait(void *arg, uint64_t bytes, int *exit_status, int *timed_out)
{
	int	status;

	if (waitpid(diag_pid, &status, 0) == -1)
		return -1;
	*exit_status = WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
	*timed_out = diag_stuck;
	if (diag_stuck)
		*exit_status = 128 + SIGKILL;
	return 1;
}

static int
fake_setting_get(void *arg, const char *key, char *value, size_t vlen,
    char *why, size_t whylen)
{
	if (strcmp(key, "jvm.heap") != 0) {
		snprintf(why, whylen, "%s: not a listed setting", key);
		return 0;
	}
	snprintf(value, vlen, "%s", setting);
	return 1;
}

static int
fake_setting_set(void *arg, const char *key, const char *value, char *old,
    size_t oldlen, char *why, size_t whylen)
{
	if (fake_setting_get(arg, key, old, oldlen, why, whylen) != 1)
		return 0;
	snprintf(setting, sizeof(setting), "%s", value);
	return 1;
}

/*
 * The terminal.
 */

static uint64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Read what the shell printed, waiting until deadline; -1 at none. */
static int
read_screen(struct term *t, uint64_t deadline)
{
	struct pollfd	pfd = { .fd = t->master, .events = POLLIN };
	uint64_t	now = now_ms();
	ssize_t		n;

	if (now >= deadline ||
	    poll(&pfd, 1, (int)(deadline - now)) != 1)
		return -1;
	n = read(t->master, t->screen + t->len, sizeof(t->screen) - 1 - t->len);
	if (n <= 0)
		return -1;
	t->len += (size_t)n;
	t->screen[t->len] = '\0';
	return 0;
}

/*
 * Wait until text shows up after what was matched before; *at is where
 * it starts.  On a timeout the screen is printed, to see what went wrong.
 */
static int
expect_at(struct term *t, const char *text, int ms, size_t *at)
{
	uint64_t	 deadline = now_ms() + (uint64_t)ms;
	char		*hit;

	t->screen[t->len] = '\0';
	while ((hit = strstr(t->screen + t->seen, text)) == NULL) {
		if (read_screen(t, deadline) == -1) {
			print_error("no \"%s\" in:\n%s\n", text,
			    t->screen + t->seen);
			return -1;
		}
	}
	if (at != NULL)
		*at = (size_t)(hit - t->screen);
	t->seen = (size_t)(hit - t->screen) + strlen(text);
	return 0;
}

static int
expect(struct term *t, const char *text, int ms)
{
	return expect_at(t, text, ms, NULL);
}

static void
type(struct term *t, const char *keys)
{
	size_t	len = strlen(keys);

	assert_int_equal(write(t->master, keys, len), (ssize_t)len);
}

/* Type a command line; return what it printed before the next prompt. */
static const char *
run(struct term *t, const char *line)
{
	static char	out[64 * 1024];
	size_t		start, end;

	type(t, line);
	type(t, "\n");
	assert_int_equal(expect(t, "\r\n", WAIT_MS), 0);	/* the echo */
	start = t->seen;
	assert_int_equal(expect_at(t, PROMPT, WAIT_MS, &end), 0);
	assert_int_equal(expect(t, "> ", WAIT_MS), 0);
	assert_true(end - start < sizeof(out));
	memcpy(out, t->screen + start, end - start);
	out[end - start] = '\0';
	return out;
}

/* The shell's exit status, once it has ended. */
static int
exit_status(struct term *t)
{
	uint64_t	deadline = now_ms() + WAIT_MS;
	pid_t		pid;
	int		status;

	while ((pid = waitpid(t->pid, &status, WNOHANG)) == 0 &&
	    now_ms() < deadline)
		(void)read_screen(t, now_ms() + 50);
	assert_int_equal(pid, t->pid);
	t->pid = -1;
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void __attribute__((noreturn))
shell_child(int slave, const struct shell_info *info)
{
	struct access_ops	ops = {
		.home = dir,
		.open_file = fake_open_file,
		.close_file = fake_close_file,
		.stat = fake_stat,
		.list_dir = fake_list_dir,
		.refused = fake_refused,
		.exec = fake_exec,
		.exec_wait = fake_exec_wait,
		.setting_get = fake_setting_get,
		.setting_set = fake_setting_set,
	};
	int			rc;

	close(term.master);
	if (setsid() == -1 || ioctl(slave, TIOCSCTTY, 0) == -1 ||
	    dup2(slave, 0) == -1 || dup2(slave, 1) == -1 ||
	    dup2(slave, 2) == -1)
		_exit(98);
	rc = shell_run(slave, &ops, info);
	_exit(rc == -1 ? 99 : rc);
}

/* Start a shell and wait for its first prompt. */
static void
start(int files, int settings)
{
	struct winsize		ws = { .ws_row = ROWS, .ws_col = 80 };
	struct shell_info	info = {
		.cluster_id = "test",
		.engineer = "alice@vendor",
		.commands = diagnostics,
		.files_enabled = files,
		.settings_enabled = settings,
	};
	int			slave;

	memset(&term, 0, sizeof(term));
	assert_int_equal(openpty(&term.master, &slave, NULL, NULL, &ws), 0);
	term.pid = fork();
	assert_true(term.pid != -1);
	if (term.pid == 0)
		shell_child(slave, &info);
	close(slave);
	assert_int_equal(expect(&term, PROMPT, WAIT_MS), 0);
	assert_int_equal(expect(&term, "> ", WAIT_MS), 0);
}

/*
 * Fixtures.
 */

static void
put(const char *name, const char *text)
{
	char	path[128];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "a"));
	fputs(text, f);
	fclose(f);
	chmod(path, 0644);
}

static int
setup(void **state)
{
	struct timeval	tv[2] = { { 0, 0 }, { 0, 0 } };
	struct tm	tm = { .tm_year = 126, .tm_mon = 10, .tm_mday = 25,
	    .tm_hour = 10 };
	char		path[128], line[16];
	int		i;

	snprintf(dir, sizeof(dir), "/tmp/porthole-shell.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(setting, sizeof(setting), "4g");
	put("server.log", "alpha\nbeta\n");
	put("five.txt", "one\ntwo\nthree\nfour\nfive\n");
	put("color.log", "\033]0;owned\a\033[31mred\033[0m\n");
	/* C1 controls: CSI, OSC 52 to ST; a raw 0x9b; text in UTF-8. */
	put("c1.log", "a\xc2\x9b" "2Jb\xc2\x9d" "52;c;eA==\xc2\x9c" "c\x9b"
	    "d caf\xc3\xa9 \\x41\n");
	put("secret.key", "-----BEGIN PRIVATE KEY-----\n");
	for (i = 1; i <= 50; i++) {
		snprintf(line, sizeof(line), "line %02d\n", i);
		put("fifty.txt", line);
	}
	snprintf(path, sizeof(path), "%s/sub", dir);
	if (mkdir(path, 0755) == -1 || chmod(path, 0755) == -1)
		return -1;
	/* 2026-11-25 10:00 UTC, as ls must show it. */
	tv[0].tv_sec = tv[1].tv_sec = timegm(&tm);
	snprintf(path, sizeof(path), "%s/server.log", dir);
	return utimes(path, tv);
}

static int
teardown(void **state)
{
	char	cmd[128];

	if (term.pid > 0) {
		kill(term.pid, SIGKILL);
		waitpid(term.pid, NULL, 0);
	}
	close(term.master);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/*
 * Cases.
 */

static void
test_banner(void **state)
{
	char	prompt[128];

	start(1, 1);
	assert_non_null(strstr(term.screen, "on test"));
	assert_non_null(strstr(term.screen, "alice@vendor"));
	assert_non_null(strstr(term.screen, "session is recorded"));
	snprintf(prompt, sizeof(prompt), PROMPT "%s> ", dir);
	assert_non_null(strstr(term.screen, prompt));
}

static void
test_help(void **state)
{
	const char	*out;

	start(1, 1);
	out = run(&term, "help");
	assert_non_null(strstr(out, "  status\r\n"));
	assert_non_null(strstr(out, "  threads\r\n"));
	assert_non_null(strstr(out, "(a shell command too: run tail ...)"));
	assert_non_null(strstr(out, "tail [-n N] [-f] PATH"));
	assert_non_null(strstr(out, "settings get KEY | set KEY VALUE"));
	assert_null(strstr(out, "not enabled"));
}

static void
test_disabled(void **state)
{
	const char	*out;

	start(0, 0);
	out = run(&term, "help");
	assert_non_null(strstr(out, "File access is not enabled"));
	assert_non_null(strstr(out, "Settings are not enabled"));
	assert_null(strstr(out, "cat PATH"));
	assert_string_equal(run(&term, "cat server.log"),
	    "porthole: file access is not enabled on this cluster\r\n");
	assert_string_equal(run(&term, "settings get jvm.heap"),
	    "porthole: settings are not enabled on this cluster\r\n");
}

static void
test_ls(void **state)
{
	const char	*out, *five, *secret, *server, *sub;

	start(1, 1);
	out = run(&term, "ls");
	assert_non_null(strstr(out, "-rw-r--r--         11  2026-11-25 10:00"
	    "  server.log\r\n"));
	assert_non_null(five = strstr(out, "  five.txt\r\n"));
	assert_non_null(secret = strstr(out, "  secret.key\r\n"));
	assert_non_null(server = strstr(out, "  server.log\r\n"));
	assert_non_null(sub = strstr(out, "  sub\r\n"));
	assert_true(five < secret && secret < server && server < sub);
	/* mode, size (10 wide), date (16), then the name after two spaces */
	assert_int_equal(strncmp(sub - 39, "drwxr-xr-x ", 11), 0);
	/* A file lists as its own line; nothing is there as nothing. */
	out = run(&term, "ls five.txt");
	assert_non_null(strstr(out, "  five.txt\r\n"));
	assert_null(strstr(out, "server.log"));
	assert_non_null(strstr(run(&term, "ls nothing"), "porthole: "));
}

static void
test_cd(void **state)
{
	char	want[128];

	start(1, 1);
	assert_string_equal(run(&term, "cd sub"), "");
	snprintf(want, sizeof(want), "%s/sub\r\n", dir);
	assert_string_equal(run(&term, "pwd"), want);
	assert_string_equal(run(&term, "cat ../five.txt"),
	    "one\r\ntwo\r\nthree\r\nfour\r\nfive\r\n");
	assert_string_equal(run(&term, "cd ../five.txt"),
	    "porthole: ../five.txt: not a directory\r\n");
	assert_string_equal(run(&term, "cd"), "");
	snprintf(want, sizeof(want), "%s\r\n", dir);
	assert_string_equal(run(&term, "pwd"), want);
}

/*
 * Deep in a tree the prompt keeps its end and leaves the command line
 * at least 20 columns: a short line is echoed as typed, not drawn again
 * with the prompt at every key (which wrapped a row each time).
 */
static void
test_deep_prompt(void **state)
{
	char		 path[512];
	const char	*p;
	size_t		 mark, n = 0;

	snprintf(path, sizeof(path), "%s/sub/%s", dir,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_int_equal(mkdir(path, 0755), 0);
	strncat(path, "/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
	    sizeof(path) - strlen(path) - 1);
	assert_int_equal(mkdir(path, 0755), 0);
	start(1, 1);
	assert_string_equal(run(&term, "cd sub/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaa/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"), "");
	mark = term.len;
	strncat(path, "\r\n", sizeof(path) - strlen(path) - 1);
	assert_string_equal(run(&term, "pwd"), path);
	for (p = term.screen + mark; (p = strstr(p, PROMPT "...")) != NULL;
	    p++)
		n++;
	assert_int_equal(n, 1);
	assert_non_null(strstr(term.screen + mark, "bbbbbbbbbbbb> "));
}

static void
test_cat(void **state)
{
	start(1, 1);
	assert_string_equal(run(&term, "cat server.log"), "alpha\r\nbeta\r\n");
	/* Escape sequences in a file must not reach the engineer's terminal. */
	assert_string_equal(run(&term, "cat color.log"),
	    "^[]0;owned^G^[[31mred^[[0m\r\n");
}

/*
 * C1 controls - as UTF-8 or as lone bytes - reach neither the engineer's
 * terminal nor (it records what the terminal is sent) the recording;
 * UTF-8 text and a backslash stay as they are.
 */
static const char c1_shown[] = "a\\xc2\\x9b2Jb\\xc2\\x9d52;c;eA==\\xc2\\x9c"
    "c\\x9bd caf\xc3\xa9 \\x41\r\n";

static void
test_cat_c1(void **state)
{
	start(1, 1);
	assert_string_equal(run(&term, "cat c1.log"), c1_shown);
	assert_string_equal(run(&term, "tail -n 1 c1.log"), c1_shown);
	assert_string_equal(run(&term, "less c1.log"), c1_shown);
	assert_null(memchr(term.screen, 0x9b, term.len));
	assert_null(memchr(term.screen, 0x9c, term.len));
	assert_null(memchr(term.screen, 0x9d, term.len));
}

/*
 * A read ends in the middle of a character, or of a CR LF: it is shown
 * whole, not as stray bytes.  The file's first 16384 bytes are one read.
 */
static void
test_cat_chunks(void **state)
{
	char		 line[16384];
	const char	*out;

	memset(line, 'x', sizeof(line));
	line[sizeof(line) - 1] = '\0';
	put("chunks.log", line);		/* 16383 bytes */
	put("chunks.log", "\xc3\xa9\n");	/* a character across */
	memset(line, 'y', sizeof(line) - 3);
	line[sizeof(line) - 3] = '\0';
	put("chunks.log", line);		/* to 32767 */
	put("chunks.log", "\r\nend\n");	/* CR LF across */
	start(1, 1);
	out = run(&term, "cat chunks.log");
	assert_non_null(strstr(out, "x\xc3\xa9\r\ny"));
	assert_non_null(strstr(out, "y\r\r\nend\r\n"));	/* pty: LF is CR LF */
	assert_null(strstr(out, "\\x"));
	assert_null(strstr(out, "^M"));
}

static void
test_tail(void **state)
{
	start(1, 1);
	assert_string_equal(run(&term, "tail -n 2 five.txt"),
	    "four\r\nfive\r\n");
	assert_string_equal(run(&term, "tail -n2 five.txt"),
	    "four\r\nfive\r\n");
	assert_string_equal(run(&term, "tail -n 0 five.txt"), "");
	assert_string_equal(run(&term, "tail five.txt"),
	    "one\r\ntwo\r\nthree\r\nfour\r\nfive\r\n");
	assert_non_null(strstr(run(&term, "tail -n 100001 five.txt"),
	    "porthole: usage: tail"));
}

static void
test_tail_follow(void **state)
{
	char	want[128];

	start(1, 1);
	type(&term, "tail -f server.log\n");
	assert_int_equal(expect(&term, "alpha\r\nbeta\r\n", WAIT_MS), 0);
	put("server.log", "gamma\n");
	assert_int_equal(expect(&term, "gamma\r\n", WAIT_MS), 0);
	type(&term, "\x03");
	assert_int_equal(expect(&term, PROMPT, WAIT_MS), 0);
	assert_int_equal(expect(&term, "> ", WAIT_MS), 0);
	snprintf(want, sizeof(want), "%s\r\n", dir);
	assert_string_equal(run(&term, "pwd"), want);
}

static void
test_diagnostic(void **state)
{
	const char	*out;

	start(1, 1);
	out = run(&term, "status");
	assert_non_null(strstr(out, "cluster ok\r\nnode-1 up\r\n"));
	assert_non_null(strstr(out, "disk 91%\r\n"));
	assert_non_null(strstr(out, "[exit 3]\r\n"));
	assert_string_equal(run(&term, "threads  42"),
	    "thread dump of 42\r\n");
	assert_string_equal(run(&term, "threads"),
	    "porthole: threads: missing word {pid:int}\r\n");
	assert_string_equal(run(&term, "run tail 5"),
	    "the diagnostic tail\r\n");
	assert_string_equal(run(&term, "stuck"), "partial\r\n[exit 137]\r\n"
	    "porthole: stuck ran too long and was stopped\r\n");
	assert_string_equal(run(&term, "run cat x"),
	    "porthole: no diagnostic named 'cat' on this cluster\r\n");
	/* Cut between reads: a C1 CSI is escaped, a character kept whole. */
	assert_string_equal(run(&term, "split"),
	    "x\\xc2\\x9by caf\xc3\xa9\r\r\n");
}

static void
test_diagnostic_interrupted(void **state)
{
	char	want[128];

	start(1, 1);
	type(&term, "ticker\n");
	assert_int_equal(expect(&term, "tick\r\n", WAIT_MS), 0);
	type(&term, "\x03");
	assert_int_equal(expect(&term, PROMPT, WAIT_MS), 0);
	assert_int_equal(expect(&term, "> ", WAIT_MS), 0);
	snprintf(want, sizeof(want), "%s\r\n", dir);
	assert_string_equal(run(&term, "pwd"), want);
}

static void
test_refused(void **state)
{
	start(1, 1);
	assert_string_equal(run(&term, "cat secret.key"),
	    "porthole: secret.key: denied by [files] deny = *.key\r\n");
	assert_string_equal(run(&term, "cat ../../etc/passwd"),
	    "porthole: /etc/passwd: outside the product's paths\r\n");
}

static void
test_unknown(void **state)
{
	start(1, 1);
	assert_string_equal(run(&term, "frobnicate --now"),
	    "porthole: unknown command 'frobnicate'; type help\r\n");
	assert_string_equal(run(&term, "   "), "");
	/*
	 * No control character enters a line: ^V is no literal-next, and
	 * an escape sequence that does not edit is swallowed whole.
	 */
	assert_string_equal(run(&term, "cat \x16\x1b[2J\x1b]0;x\x07server.log"),
	    "alpha\r\nbeta\r\n");
	/*
	 * Nor does a C1 control or a byte that is not UTF-8: not even into
	 * the echo, which the recording holds.  A character that is text
	 * stays.
	 */
	assert_non_null(strstr(run(&term, "cat \xc2\x9b" "2J\x9b\xff"
	    "server.log"), "/2Jserver.log: no such file or directory\r\n"));
	assert_null(memchr(term.screen, 0x9b, term.len));
	assert_null(memchr(term.screen, 0xff, term.len));
	assert_non_null(strstr(run(&term, "cat caf\xc3\xa9"),
	    "/caf\xc3\xa9: no such file or directory\r\n"));
}

static void
test_settings(void **state)
{
	start(1, 1);
	assert_string_equal(run(&term, "settings get jvm.heap"), "4g\r\n");
	assert_string_equal(run(&term, "settings set jvm.heap 8g"),
	    "jvm.heap: 4g -> 8g\r\n");
	assert_string_equal(run(&term, "settings get jvm.heap"), "8g\r\n");
	assert_string_equal(run(&term, "settings set queue 9"),
	    "porthole: queue: not a listed setting\r\n");
}

static void
test_line_editing(void **state)
{
	start(1, 1);
	/* Backspace, ^W (erase a word) and ^U (erase the line). */
	assert_string_equal(run(&term, "cax\x7ft server.log"),
	    "alpha\r\nbeta\r\n");
	assert_string_equal(run(&term, "cat nothing\x17server.log"),
	    "alpha\r\nbeta\r\n");
	assert_string_equal(run(&term, "rm -rf /\x15" "cat server.log"),
	    "alpha\r\nbeta\r\n");
}

/* The keys of a stock terminal move the cursor and edit where it is. */
static void
test_cursor_keys(void **state)
{
	start(1, 1);
	/* Left (CSI and SS3 forms), then a character goes in there. */
	assert_string_equal(run(&term, "cat server.lg\x1b[Do"),
	    "alpha\r\nbeta\r\n");
	assert_string_equal(run(&term, "cat server.lg\x1bODo"),
	    "alpha\r\nbeta\r\n");
	/* Home (three forms), end, right, delete. */
	assert_string_equal(run(&term, "at server.log\x1b[Hc"),
	    "alpha\r\nbeta\r\n");
	assert_string_equal(run(&term, "at server.log\x1b[1~c"),
	    "alpha\r\nbeta\r\n");
	assert_string_equal(run(&term, "at server.log\x01" "c\x1b[F"),
	    "alpha\r\nbeta\r\n");
	assert_string_equal(run(&term,
	    "cat xserver.log\x01\x1b[C\x1b[C\x1b[C\x1b[C\x1b[3~"),
	    "alpha\r\nbeta\r\n");
	/* ^K cuts to the end; alt-b goes back a word. */
	assert_string_equal(run(&term, "cat server.log /etc/passwd\x1b" "b\x0b"),
	    "alpha\r\nbeta\r\n");
	/* A lone Esc does not take the Enter after it. */
	assert_string_equal(run(&term, "cat server.log\x1b"),
	    "alpha\r\nbeta\r\n");
	/* A sequence longer than any kept is still dropped whole. */
	assert_string_equal(run(&term,
	    "cat server.log\x1b[1;2;3;4;5;6;7;8;9;10;11;12;13m"),
	    "alpha\r\nbeta\r\n");
	/* Backspace takes a whole UTF-8 character, not one byte of it. */
	assert_string_equal(run(&term, "cat server.log\xc3\xa9\x7f"),
	    "alpha\r\nbeta\r\n");
	/* A line longer than the window scrolls; it is still one line. */
	assert_string_equal(run(&term, "cat                                   "
	    "                                                            "
	    "server.log\x1b[D\x1b[C"), "alpha\r\nbeta\r\n");
}

/* Up and down walk the lines run before; down again, the line typed. */
static void
test_history(void **state)
{
	char want[128];

	start(1, 1);
	assert_string_equal(run(&term, "cat five.txt"),
	    "one\r\ntwo\r\nthree\r\nfour\r\nfive\r\n");
	assert_string_equal(run(&term, "tail -n 1 fifty.txt"), "line 50\r\n");
	assert_string_equal(run(&term, "\x1b[A\x1b[A"),
	    "one\r\ntwo\r\nthree\r\nfour\r\nfive\r\n");
	/* The last line run is the one just recalled. */
	assert_string_equal(run(&term, "\x10"),
	    "one\r\ntwo\r\nthree\r\nfour\r\nfive\r\n");
	snprintf(want, sizeof(want), "%s\r\n", dir);
	assert_string_equal(run(&term, "pwd\x1b[A\x1b[A\x1b[B\x1b[B"), want);
	/* Nothing older than the oldest; ^U empties what was recalled. */
	assert_string_equal(run(&term, "\x1b[A\x1b[A\x1b[A\x1b[A\x1b[A\x1b[A"
	    "\x15" "cat server.log"), "alpha\r\nbeta\r\n");
}

static void
test_interrupt_prompt(void **state)
{
	start(1, 1);
	type(&term, "cat server.log");
	assert_int_equal(expect(&term, "server.log", WAIT_MS), 0);
	type(&term, "\x03");
	assert_int_equal(expect(&term, PROMPT, WAIT_MS), 0);
	assert_int_equal(expect(&term, "> ", WAIT_MS), 0);
	assert_null(strstr(term.screen, "alpha"));
	assert_string_equal(run(&term, "cat five.txt"),
	    "one\r\ntwo\r\nthree\r\nfour\r\nfive\r\n");
}

static void
test_long_line(void **state)
{
	char	line[1100];

	start(1, 1);
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	assert_string_equal(run(&term, line),
	    "porthole: line too long (at most 1024 bytes)\r\n");
	assert_string_equal(run(&term, "cat server.log"), "alpha\r\nbeta\r\n");
}

static void
test_pager(void **state)
{
	char	want[128];

	start(1, 1);
	type(&term, "less fifty.txt\n");
	/* A screen of ten rows: nine lines and the prompt. */
	assert_int_equal(expect(&term, "line 09\r\n--More--(18%)", WAIT_MS), 0);
	assert_null(strstr(term.screen, "line 10"));
	type(&term, " ");
	assert_int_equal(expect(&term, "line 18\r\n--More--(36%)", WAIT_MS), 0);
	assert_null(strstr(term.screen, "line 19"));
	type(&term, "\r");
	assert_int_equal(expect(&term, "line 19\r\n--More--(38%)", WAIT_MS), 0);
	type(&term, "b");
	assert_int_equal(expect(&term, "line 02\r\n", WAIT_MS), 0);
	assert_int_equal(expect(&term, "line 10\r\n--More--", WAIT_MS), 0);
	/* Keys typed with the q are the next command, not lost. */
	snprintf(want, sizeof(want), "%s\r\n", dir);
	assert_string_equal(run(&term, "qpwd"), want);
}

static void
test_pager_interrupted(void **state)
{
	start(1, 1);
	type(&term, "more fifty.txt\n");
	assert_int_equal(expect(&term, "--More--", WAIT_MS), 0);
	type(&term, "\x03");
	assert_int_equal(expect(&term, PROMPT, WAIT_MS), 0);
	assert_int_equal(expect(&term, "> ", WAIT_MS), 0);
	assert_string_equal(run(&term, "tail -n 1 fifty.txt"), "line 50\r\n");
}

static void
test_exit(void **state)
{
	start(1, 1);
	type(&term, "exit\n");
	assert_int_equal(exit_status(&term), 0);
}

static void
test_eof(void **state)
{
	start(1, 1);
	type(&term, "\x04");
	assert_int_equal(exit_status(&term), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_banner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_help, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deep_prompt, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cat_c1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cat_chunks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tail_follow, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_diagnostic, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_diagnostic_interrupted,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_line_editing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cursor_keys, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_prompt, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_long_line, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pager, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pager_interrupted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eof, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
