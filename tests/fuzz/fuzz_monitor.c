/*
 * fuzz_monitor.c - libFuzzer target for the monitor's dispatch: what a
 * compromised session child (or support shell) can send it.
 *
 * An input is the session's state and a sequence of requests.  Its first
 * byte picks the phase (before login, logged in, waiting for approval,
 * refused) and the peer (the child or the shell); then each request is
 * two bytes of length, big-endian, and that many bytes, handed to
 * mon_dispatch() as the monitor's loop hands it a datagram.  The policy
 * grants sessions and nothing else, and the engineer's certificate
 * permits nothing, so no answer may open a file, a socket or a process:
 * diag_spawn() and the sandboxed processes' starts abort if reached.
 *
 * The monitor's links to its peers (monitor_core.c: answering, auditing,
 * ending) are replaced here: an answer or an event must be a JSON object
 * and is dropped, and where the monitor would end the session or wait
 * for someone, this input ends.  Everything jansson allocates goes
 * through an arena freed after each input, since an ended session does
 * not return its request to be freed.
 *
 * ./configure --enable-fuzzing CC=clang && make tests/fuzz/fuzz_monitor
 * tests/fuzz/fuzz_monitor -max_total_time=60 NEW_DIR tests/fuzz/corpus_monitor
 */
#include <sys/mman.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/monitor/diag.h"
#include "gateway/monitor/monitor_int.h"
#include "gateway/session/session.h"
#include "lib/log.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct policy	*fuzz_pol;
static jmp_buf		 fuzz_end;

/*
 * jansson's allocations, each a header in a list: what an ended session
 * leaves is freed after the input.
 */
struct chunk {
	struct chunk	*prev, *next;
	max_align_t	 data[];
};
static struct chunk arena = { &arena, &arena };

static void *
arena_malloc(size_t n)
{
	struct chunk *c;

	if ((c = malloc(sizeof(*c) + n)) == NULL)
		return NULL;
	c->next = arena.next;
	c->prev = &arena;
	arena.next->prev = c;
	arena.next = c;
	return c->data;
}

static void
arena_free(void *p)
{
	struct chunk *c;

	if (p == NULL)
		return;
	c = (struct chunk *)(void *)((char *)p - offsetof(struct chunk, data));
	c->prev->next = c->next;
	c->next->prev = c->prev;
	free(c);
}

static void
arena_clear(void)
{
	while (arena.next != &arena)
		arena_free(arena.next->data);
}

/* What the monitor sends: it must be a JSON object that can be written. */
static void
fuzz_check(json_t *j)
{
	char *text;

	if (!json_is_object(j) || (text = json_dumps(j, JSON_COMPACT)) == NULL)
		abort();
	arena_free(text);
	json_decref(j);
}

/* monitor_core.c, for the fuzzer. */

int
mon_answer(struct mon *m, json_t *ans, const int *fds, int nfds)
{
	(void)m;
	(void)fds;
	(void)nfds;
	fuzz_check(ans);
	return 0;
}

int
mon_refuse(struct mon *m, const char *why)
{
	return mon_answer(m, json_pack("{s:b, s:s}", "ok", 0, "reason", why),
	    NULL, 0);
}

void
mon_audit(struct mon *m, const char *type, json_t *fields)
{
	(void)m;
	if (fields == NULL)
		fields = json_object();
	json_object_set_new(fields, "type", json_string(type));
	fuzz_check(fields);
}

int
mon_broker_send(struct mon *m, enum bm_msg kind, json_t *fields)
{
	(void)m;
	(void)kind;
	fuzz_check(fields);
	return 0;
}

/* No broker answers: a login cannot get this far, an approval waits. */
int
mon_broker_answer(struct mon *m)
{
	(void)m;
	longjmp(fuzz_end, 1);
}

/* Nor with a note: an approval and an action wait. */
int
mon_broker_answer_note(struct mon *m, char *note, size_t len)
{
	(void)m;
	(void)note;
	(void)len;
	longjmp(fuzz_end, 1);
}

void
mon_relies(struct mon *m, enum bm_grant grant)
{
	(void)m;
	(void)grant;
}

void
mon_doing(struct mon *m, const char *cmd)
{
	(void)m;
	(void)cmd;
}

void
mon_signals(void)
{
}

int
mon_wait(struct mon *m, struct pollfd *pfd, nfds_t n, int timeout_ms)
{
	(void)m;
	(void)pfd;
	(void)n;
	(void)timeout_ms;
	longjmp(fuzz_end, 1);
}

void
mon_notify(struct mon *m, const char *why)
{
	(void)m;
	(void)why;
}

void
mon_end(struct mon *m, int code)
{
	(void)m;
	(void)code;
	longjmp(fuzz_end, 1);
}

void
mon_end_with(struct mon *m, int why)
{
	mon_end(m, why);
}

void
mon_violation(struct mon *m, const char *why, const char *req)
{
	(void)why;
	(void)req;
	mon_end(m, 1);
}

void
mon_child_gone(struct mon *m)
{
	mon_end(m, 1);
}

void
mon_kill_diag(struct mon *m)
{
	(void)m;
}

void
mon_diag_abandon(struct mon *m)
{
	m->diag = 0;
}

void
mon_access_abandon(struct mon *m, int peers, const char *why)
{
	(void)m;
	(void)peers;
	(void)why;
}

/* What the policy never lets an answer reach. */

int
diag_spawn(char *const argv[], const char *user,
    const char *const *read_paths, uint64_t timeout_s, pid_t *pid, int *out,
    int *err, char *errbuf, size_t errlen)
{
	(void)argv;
	(void)user;
	(void)read_paths;
	(void)timeout_s;
	(void)pid;
	(void)out;
	(void)err;
	(void)errbuf;
	(void)errlen;
	abort();
}

void
session_child(int fd, int mon, const struct policy *pol, int host_key_fd)
{
	(void)fd;
	(void)mon;
	(void)pol;
	(void)host_key_fd;
	abort();
}

void
session_shell(int slave, int rpc, const struct policy *pol,
    const char *engineer)
{
	(void)slave;
	(void)rpc;
	(void)pol;
	(void)engineer;
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char conf[] =
	    "[gateway]\ncluster_id = fuzz\nrelay = 127.0.0.1:1\n"
	    "relay_host_key = /nonexistent/relay.pub\n"
	    "cluster_key = /nonexistent/cluster\n"
	    "session_host_key = /nonexistent/host\n"
	    "support_ca = /nonexistent/ca.pub\n"
	    "[remote_access]\nenabled = yes\napproval = none\n"
	    "engineers = alice\n"
	    "[commands]\nstatus = /bin/true\n"
	    "[files]\npaths = /nonexistent\n"
	    "[settings]\nfile = /nonexistent/settings.ini\nkeys = a.b\n"
	    "[forward]\ntargets = 127.0.0.1:1\n";
	char	path[64], err[1024];
	int	fd;

	(void)argc;
	(void)argv;
	log_init("fuzz_monitor", 1, LOG_LVL_ERROR);
	log_set_level(LOG_LVL_ERROR);
	json_set_alloc_funcs(arena_malloc, arena_free);
	if ((fd = memfd_create("porthole.conf", 0)) == -1 ||
	    write(fd, conf, sizeof(conf) - 1) != (ssize_t)sizeof(conf) - 1)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (policy_load(path, &fuzz_pol, err, sizeof(err)) == -1) {
		fprintf(stderr, "fuzz_monitor: %s\n", err);
		abort();
	}
	close(fd);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int phases[] = { MM_PREAUTH, MM_AUTHED, MM_PENDING, 0 };
	static struct mon	 m;
	static char		 buf[MONITOR_MSG_MAX];
	volatile size_t		 off = 1;
	size_t			 n;

	if (size < 1)
		return 0;
	memset(&m, 0, sizeof(m));
	m.pol = fuzz_pol;
	m.child_fd = m.peer_fd = m.audit_fd = m.pol_fd = -1;
	m.sh.rpc = m.sh.master = m.sh.term = m.sh.rec = -1;
	m.sid = "0123456789abcdef";
	m.phase = phases[data[0] & 3];
	snprintf(m.id.engineer, sizeof(m.id.engineer), "alice");
	m.cert_valid_before = UINT64_MAX;
	if (setjmp(fuzz_end) == 0) {
		while (off + 2 <= size) {
			n = (size_t)data[off] << 8 | data[off + 1];
			off += 2;
			if (n > size - off)
				n = size - off;
			if (n > sizeof(buf))
				n = sizeof(buf);
			memcpy(buf, data + off, n);
			off += n;
			mon_dispatch(&m, -1, data[0] & 4 ? MM_FROM_SHELL :
			    MM_FROM_CHILD, buf, (ssize_t)n);
		}
	}
	arena_clear();
	return 0;
}
