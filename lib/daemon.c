/*
 * daemon.c - one instance, ready before detaching, readiness for systemd.
 *
 * One instance.  The pid file is locked, not merely written: a lock
 * dies with its process, so a stale file left by a crash never blocks a
 * start, and a second start can never take over the sockets, the tunnel
 * and the audit log of the first.  The lock is an open file description
 * lock (fcntl F_OFD_SETLK): like flock(2) it belongs to the open file,
 * which the daemon keeps for its whole life, and the processes it forks
 * for sessions close it (closefrom), so a session outliving a killed
 * daemon does not hold the next start back.  Unlike flock(2) it can be
 * asked about without being taken (F_OFD_GETLK): a probe (-t, the
 * relay's port check) that took a lock for an instant, even a shared
 * one, would make a start in that instant believe another daemon runs.
 *
 * Ready before detaching.  daemon(3) forks at once and the parent exits
 * 0 before anything could fail, so a daemon that cannot bind its port
 * used to vanish silently.  Here the parent stays, reading a pipe: the
 * child does all of its set-up with the operator's terminal still on
 * stderr and writes one byte when it is ready; if it exits first, the
 * pipe reads end-of-file and the parent exits 1.  Stores and locks are
 * opened in the child only: POSIX locks (SQLite's) are not inherited
 * across fork, so a store opened before detaching is unprotected.
 *
 * systemd.  sd_notify(3) is one datagram of "KEY=value" lines to the
 * AF_UNIX socket named by $NOTIFY_SOCKET ('@' for the abstract
 * namespace); that is all of it, so it is written here rather than
 * linked.  Detached, the parent is the process systemd started, and it
 * names the child with MAINPID= in the same datagram as READY=1.
 */
#include "lib/daemon.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/filecheck.h"
#include "lib/fileio.h"
#include "lib/log.h"

#define READY_BYTE	'R'
#define LOCK_TRIES	5	/* the file replaced under us this often */

static const char	*daemon_prog = "porthole";
static char		 notify_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int		 ready_fd = -1;	/* the detached child's end */
static int		 lock_fd = -1;
static char		 lock_path[PATH_MAX];

void
daemon_init(const char *prog)
{
	const char	*s;
	size_t		 n;

	daemon_prog = prog;
	notify_path[0] = '\0';
	if ((s = getenv("NOTIFY_SOCKET")) == NULL)
		return;
	n = strlen(s);
	if ((s[0] == '/' || s[0] == '@') && n >= 2 && n < sizeof(notify_path))
		memcpy(notify_path, s, n + 1);
	else
		log_warn("NOTIFY_SOCKET '%.64s' is not a socket path this "
		    "daemon can use: systemd will not be told it is ready", s);
	unsetenv("NOTIFY_SOCKET");
}

int
daemon_notify(const char *state)
{
	struct sockaddr_un	sun;
	socklen_t		len;
	size_t			n;
	int			fd, rc = -1;

	if (notify_path[0] == '\0')
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	n = strlen(notify_path);
	memcpy(sun.sun_path, notify_path, n);
	/* An abstract name is the bytes after a leading NUL, no more. */
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		goto out;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) == (ssize_t)strlen(state))
		rc = 0;
out:
	if (rc == -1)
		log_warn("%s: cannot tell systemd '%.32s': %s", notify_path,
		    state, strerror(errno));
	if (fd != -1)
		close(fd);
	return rc;
}

void
daemon_reloading(void)
{
	struct timespec	ts;
	char		msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	(void)daemon_notify(msg);
}

/* In the parent: wait for the child's verdict and exit with it. */
static void __attribute__((noreturn))
daemon_wait(pid_t child, int fd)
{
	char	msg[64], c = 0;
	ssize_t	n;
	int	st = 0;

	while ((n = read(fd, &c, 1)) == -1 && errno == EINTR)
		;
	if (n == 1 && c == READY_BYTE) {
		snprintf(msg, sizeof(msg), "MAINPID=%ld\nREADY=1",
		    (long)child);
		(void)daemon_notify(msg);
		_exit(0);
	}
	/* The child said why on stderr before it exited. */
	while (waitpid(child, &st, 0) == -1 && errno == EINTR)
		;
	if (WIFSIGNALED(st))
		fprintf(stderr, "%s: the daemon was killed by signal %d "
		    "before it was ready\n", daemon_prog, WTERMSIG(st));
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		fprintf(stderr, "%s: the daemon stopped before it was ready\n",
		    daemon_prog);
	_exit(1);
}

int
daemon_detach(char *err, size_t errlen)
{
	pid_t	pid;
	int	p[2];

	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "cannot detach: pipe: %s",
		    strerror(errno));
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "cannot detach: fork: %s",
		    strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid != 0) {
		close(p[1]);
		daemon_wait(pid, p[0]);
	}
	close(p[0]);
	ready_fd = p[1];
	/* Not a process group of the terminal: no ^C, no hang-up from it. */
	if (setsid() == -1 || chdir("/") == -1) {
		snprintf(err, errlen, "cannot detach: %s", strerror(errno));
		return -1;
	}
	log_startup(1);
	return 0;
}

/* The pid in an open pid file, -1 if none is written (yet). */
static pid_t
read_pid(int fd)
{
	char		 buf[32];
	ssize_t		 n;
	long		 v;
	char		*end;

	if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return -1;
	buf[n] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\n' && *end != '\0') ||
	    v <= 0 || v > INT_MAX)
		return -1;
	return (pid_t)v;
}

static int
lock_name(const char *run_dir, const char *name, char *path, size_t len,
    char *err, size_t errlen)
{
	if ((size_t)snprintf(path, len, "%s/%s", run_dir, name) >= len) {
		snprintf(err, errlen, "%s: path too long", run_dir);
		return -1;
	}
	return 0;
}

/* The whole file, for writing: the lock one daemon holds. */
static void
lock_whole(struct flock *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->l_type = F_WRLCK;
	fl->l_whence = SEEK_SET;
	fl->l_start = 0;
	fl->l_len = 0;
}

static int
lock_set(int fd)
{
	struct flock fl;

	lock_whole(&fl);
	return fcntl(fd, F_OFD_SETLK, &fl);
}

/*
 * The pid file opened (st) must be one this daemon made: owned by its
 * user, and with no other name (a hard link planted elsewhere would see
 * every pid written).  A file of another user's is refused, not written
 * to and not taken for a running daemon's, whoever holds a lock on it.
 */
static int
lock_file_ours(const char *path, const struct stat *st, char *err,
    size_t errlen)
{
	char who[128];

	if (st->st_uid != geteuid()) {
		snprintf(err, errlen, "%s: owned by %s, not by %s (uid %lu): "
		    "not its pid file; rm %s", path, filecheck_owner_name(
		    st->st_uid, who, sizeof(who)), daemon_prog,
		    (unsigned long)geteuid(), path);
		return -1;
	}
	if (st->st_nlink != 1) {
		snprintf(err, errlen, "%s: %lu names (hard links): not its pid "
		    "file; rm %s", path, (unsigned long)st->st_nlink, path);
		return -1;
	}
	return 0;
}

/*
 * Open and lock run_dir/name: *fd, 0; 1 if another process holds it
 * (*holder its pid or -1); -1 on an error, in err.
 */
static int
lock_take(const char *path, int *fd, pid_t *holder, char *err,
    size_t errlen)
{
	struct stat	a, b;
	int		tries;

	for (tries = 0; tries < LOCK_TRIES; tries++) {
		if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC |
		    O_NOFOLLOW | O_NOCTTY, 0644)) == -1) {
			snprintf(err, errlen, "%s: cannot open: %s", path,
			    strerror(errno));
			return -1;
		}
		if (fstat(*fd, &a) == -1 || !S_ISREG(a.st_mode)) {
			snprintf(err, errlen, "%s: not a regular file", path);
			break;
		}
		if (lock_file_ours(path, &a, err, errlen) == -1)
			break;
		if (lock_set(*fd) == -1) {
			if (errno != EAGAIN && errno != EACCES) {
				snprintf(err, errlen, "%s: cannot lock: %s",
				    path, strerror(errno));
				break;
			}
			*holder = read_pid(*fd);
			close(*fd);
			*fd = -1;
			return 1;
		}
		/*
		 * The holder we raced with may have removed the file on its
		 * way out: the lock must be on the file the name now names.
		 */
		if (stat(path, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return 0;
		close(*fd);
		*fd = -1;
		snprintf(err, errlen, "%s: replaced while being locked", path);
	}
	if (*fd != -1)
		close(*fd);
	*fd = -1;
	return -1;
}

int
daemon_lock(const char *run_dir, const char *name, char *err, size_t errlen)
{
	struct stat	 st;
	char		 path[PATH_MAX], buf[32];
	pid_t		 holder = -1;
	int		 fd = -1, r;

	if (mkdir(run_dir, 0755) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create: %s", run_dir,
		    strerror(errno));
		return -1;
	}
	if (stat(run_dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", run_dir);
		return -1;
	}
	if (lock_name(run_dir, name, path, sizeof(path), err, errlen) == -1)
		return -1;
	if ((r = lock_take(path, &fd, &holder, err, errlen)) == -1)
		return -1;
	if (r == 1) {
		if (holder > 0)
			snprintf(err, errlen, "another %s (pid %ld) runs with "
			    "%s", daemon_prog, (long)holder, path);
		else
			snprintf(err, errlen, "another %s runs with %s (it "
			    "has not written its pid yet)", daemon_prog, path);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 ||
	    fileio_write_all(fd, buf, strlen(buf)) == -1) {
		snprintf(err, errlen, "%s: cannot write: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	memcpy(lock_path, path, sizeof(lock_path));
	lock_fd = fd;
	return 0;
}

pid_t
daemon_lock_holder(const char *run_dir, const char *name)
{
	struct flock	fl;
	char		path[PATH_MAX], err[64];
	pid_t		pid = 0;
	int		fd;

	if (lock_name(run_dir, name, path, sizeof(path), err,
	    sizeof(err)) == -1 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NOCTTY)) == -1)
		return 0;
	/* Asked, never taken: a start at this instant is not disturbed. */
	lock_whole(&fl);
	if (fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		pid = read_pid(fd);
	close(fd);
	return pid;
}

void
daemon_unlock(void)
{
	if (lock_fd == -1)
		return;
	/* Nobody else can hold it: removing it first is safe. */
	(void)unlink(lock_path);
	close(lock_fd);
	lock_fd = -1;
}

void
daemon_ready(void)
{
	static const char	ready_byte = READY_BYTE;
	int			null;

	if (ready_fd == -1) {
		(void)daemon_notify("READY=1");
		return;
	}
	log_startup(0);
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1) {
		(void)dup2(null, STDIN_FILENO);
		(void)dup2(null, STDOUT_FILENO);
		(void)dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	(void)fileio_write_all(ready_fd, &ready_byte, 1);
	close(ready_fd);
	ready_fd = -1;
}
