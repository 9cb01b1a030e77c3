/*
 * hostile_diag.c - a diagnostic that tries to leave its sandbox, built
 * by tests/integration/sandbox_ns.sh and listed in its [commands].
 *
 *   hostile_diag uring PORT             open a TCP connection to
 *                                       127.0.0.1:PORT through io_uring
 *                                       (IORING_OP_SOCKET + CONNECT)
 *   hostile_diag signal PID...          SIGKILL each (another session's)
 *   hostile_diag escape MARKER HOLD     setsid + double fork a sleeper
 *                                       "hostile_diag sleeper MARKER",
 *                                       then stay HOLD seconds
 *   hostile_diag clone3                 what clone3(2) answers
 *   hostile_diag dgram PATH NAME        send a datagram to the AF_UNIX
 *                                       socket at PATH and to the
 *                                       abstract one NAME without
 *                                       socket(2): socketpair, then
 *                                       sendto, sendmsg and connect
 *                                       with an address
 *
 * It prints what happened on stdout, one line per attempt, and exits 0
 * whatever the outcome: the test judges by what it sees from outside
 * (its listener, the other session, ps).
 */
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/io_uring.h>

struct ring {
	int			 fd;
	unsigned		*sq_tail, *sq_mask, *sq_array;
	unsigned		*cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe	*sqes;
	struct io_uring_cqe	*cqes;
};

static int
ring_open(struct ring *r)
{
	struct io_uring_params	 p;
	char			*sq, *cq;

	memset(&p, 0, sizeof(p));
	r->fd = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (r->fd == -1)
		return -1;
	sq = mmap(NULL, p.sq_off.array + p.sq_entries * sizeof(unsigned),
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
	    IORING_OFF_SQ_RING);
	cq = mmap(NULL, p.cq_off.cqes + p.cq_entries *
	    sizeof(struct io_uring_cqe), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
	    IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqes == MAP_FAILED)
		return -1;
	r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)(sq + p.sq_off.array);
	r->cq_head = (unsigned *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

/* Submit one request and wait for its completion: its res, or -errno. */
static int
ring_run(struct ring *r, const struct io_uring_sqe *sqe)
{
	unsigned	tail = *r->sq_tail, idx = tail & *r->sq_mask, head;
	int		res;

	r->sqes[idx] = *sqe;
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS,
	    NULL, 0) == -1)
		return -errno;
	head = *r->cq_head;
	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return -EAGAIN;
	res = r->cqes[head & *r->cq_mask].res;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

static void
try_uring(int port)
{
	struct io_uring_sqe	sqe;
	struct sockaddr_in	sin;
	struct ring		r;
	int			s, rc;

	if (ring_open(&r) == -1) {
		printf("uring: setup refused: %s\n", strerror(errno));
		return;
	}
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_SOCKET;
	sqe.fd = AF_INET;
	sqe.off = SOCK_STREAM;
	if ((s = ring_run(&r, &sqe)) < 0) {
		printf("uring: socket refused: %s\n", strerror(-s));
		return;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_CONNECT;
	sqe.fd = s;
	sqe.addr = (uint64_t)(uintptr_t)&sin;
	sqe.off = sizeof(sin);
	rc = ring_run(&r, &sqe);
	printf("uring: connect %s\n", rc == 0 ? "succeeded" : strerror(-rc));
}

static void
try_signal(int argc, char **argv)
{
	int	i;
	pid_t	pid;

	for (i = 0; i < argc; i++) {
		pid = (pid_t)atoi(argv[i]);
		if (pid <= 1)
			continue;
		printf("kill %d: %s\n", (int)pid, kill(pid, SIGKILL) == 0 ?
		    "sent" : strerror(errno));
	}
}

/* The sleeper: detached, no descriptors, a marker in its argv. */
static void
sleeper(const char *self, const char *marker, int ready)
{
	char *argv[] = { (char *)self, "sleeper", (char *)marker, NULL };

	(void)write(ready, "r", 1);
	close(ready);
	close(0);
	close(1);
	close(2);
	execv(self, argv);
	_exit(1);
}

static void
try_escape(const char *self, const char *marker, int hold)
{
	int	p[2];
	char	c;
	pid_t	pid;

	if (pipe(p) == -1)
		return;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		close(p[0]);
		(void)setsid();
		if (fork() == 0)
			sleeper(self, marker, p[1]);
		_exit(0);
	}
	close(p[1]);
	(void)waitpid(pid, NULL, 0);
	printf("escape: sleeper %s\n", read(p[0], &c, 1) == 1 ?
	    "started" : "did not start");
	fflush(stdout);
	if (hold > 0)
		sleep((unsigned)hold);
}

/* An AF_UNIX address: the path, or NAME in the abstract namespace. */
static socklen_t
unix_addr(struct sockaddr_un *sun, const char *name, int abstract)
{
	size_t n = strlen(name);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (n + 2 > sizeof(sun->sun_path))
		n = sizeof(sun->sun_path) - 2;
	memcpy(sun->sun_path + (abstract ? 1 : 0), name, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    (abstract ? 1 : 0) + n + (abstract ? 0 : 1));
}

/* Each way to one address: sendto, sendmsg, connect and send. */
static void
dgram_to(int fd, const char *what, const struct sockaddr_un *sun,
    socklen_t len)
{
	struct msghdr	msg;
	struct iovec	iov;
	char		text[64];

	snprintf(text, sizeof(text), "sendto %s", what);
	printf("dgram: %s: %s\n", text, sendto(fd, text, strlen(text), 0,
	    (const struct sockaddr *)sun, len) == -1 ? strerror(errno) :
	    "sent");
	snprintf(text, sizeof(text), "sendmsg %s", what);
	iov.iov_base = text;
	iov.iov_len = strlen(text);
	memset(&msg, 0, sizeof(msg));
	msg.msg_name = (void *)sun;
	msg.msg_namelen = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	printf("dgram: %s: %s\n", text, sendmsg(fd, &msg, 0) == -1 ?
	    strerror(errno) : "sent");
	snprintf(text, sizeof(text), "connect %s", what);
	if (connect(fd, (const struct sockaddr *)sun, len) == -1)
		printf("dgram: %s: %s\n", text, strerror(errno));
	else
		printf("dgram: %s: %s\n", text, send(fd, text, strlen(text),
		    0) == -1 ? strerror(errno) : "sent");
}

static void
try_dgram(const char *path, const char *name)
{
	struct sockaddr_un	sun;
	socklen_t		len;
	int			fd, sv[2];

	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	printf("dgram: socket: %s\n", fd == -1 ? strerror(errno) : "made");
	if (fd == -1) {
		if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == -1) {
			printf("dgram: socketpair: %s\n", strerror(errno));
			return;
		}
		printf("dgram: socketpair: made\n");
		fd = sv[0];
	}
	len = unix_addr(&sun, path, 0);
	dgram_to(fd, "path", &sun, len);
	len = unix_addr(&sun, name, 1);
	dgram_to(fd, "abstract", &sun, len);
}

int
main(int argc, char **argv)
{
	long rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "sleeper") == 0) {
		sleep(300);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "uring") == 0)
		try_uring(atoi(argv[2]));
	else if (argc >= 3 && strcmp(argv[1], "signal") == 0)
		try_signal(argc - 2, argv + 2);
	else if (argc == 4 && strcmp(argv[1], "escape") == 0)
		try_escape(argv[0], argv[2], atoi(argv[3]));
	else if (argc == 4 && strcmp(argv[1], "dgram") == 0)
		try_dgram(argv[2], argv[3]);
	else if (argc == 2 && strcmp(argv[1], "clone3") == 0) {
		rc = syscall(__NR_clone3, NULL, 0);
		printf("clone3: %s\n", rc == -1 ? strerror(errno) : "ran");
	} else {
		fprintf(stderr, "usage: hostile_diag uring PORT | signal PID... "
		    "| escape MARKER HOLD | clone3 | dgram PATH NAME\n");
		return 2;
	}
	return 0;
}
