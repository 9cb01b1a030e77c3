/*
 * test_monitor.c - the monitor's dispatch, driven over its real sockets.
 *
 * Each test starts a monitor (monitor_serve, in a forked process) on a
 * SOCK_SEQPACKET pair and plays the two peers it talks to: the sandboxed
 * child, with the child's own request functions (monitor_wrap.c) or raw
 * datagrams, and the broker, with a thread that answers its messages as
 * broker.c does and keeps them for the test to read.  A request that is
 * unknown, malformed or out of its phase must end the session on the
 * record; one that is allowed must be answered and audited.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#include <jansson.h>

#include "gateway/broker_proto.h"
#include "gateway/monitor/monitor.h"
#include "gateway/monitor_proto.h"
#include "gateway/session/monitor_wrap.h"
#include "lib/fdpass.h"
#include "lib/log.h"
#include "lib/sshcert.h"
#include "policy/policy.h"
#include "tests/unit/kit.h"

#define BROKER_KEEP	64	/* messages the fake broker keeps */

static char		 dir[KIT_PATH_MAX];
static struct policy	*pol;
static uint8_t		 ca[32];

/* One monitor and the peers the test plays. */
struct harness {
	pid_t		 pid;		/* the monitor */
	int		 child;		/* the child's end of its socket */
	int		 broker;	/* the broker's end of its socket */
	int		 policy;	/* the broker's end of the policy socket */
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	json_t		*msgs[BROKER_KEEP];	/* what the monitor sent */
	size_t		 nmsgs;
};

/*
 * The broker's side: every message kept; an audit event is durable, a
 * slot is free, anything else answered is refused.  Ends when the
 * monitor's end closes.
 */
static void *
broker_main(void *arg)
{
	struct harness	*h = arg;
	char		 buf[BM_MSG_MAX], ans;
	const char	*name;
	json_t		*msg;
	ssize_t		 n;
	int		 kind;

	while ((n = recv(h->broker, buf, sizeof(buf), 0)) > 0) {
		if ((msg = json_loadb(buf, (size_t)n, 0, NULL)) == NULL)
			continue;
		name = json_string_value(json_object_get(msg, "msg"));
		kind = name != NULL ? bm_msg_lookup(name, BM_FROM_MONITOR) : -1;
		pthread_mutex_lock(&h->lock);
		if (h->nmsgs < BROKER_KEEP)
			h->msgs[h->nmsgs++] = msg;
		else
			json_decref(msg);
		pthread_mutex_unlock(&h->lock);
		if (kind == -1 || !bm_msgs[kind].answered)
			continue;
		ans = kind == BM_AUDIT ? BM_DURABLE : kind == BM_SLOT ?
		    BM_SLOT_TAKEN : BM_DENIED;
		if (send(h->broker, &ans, 1, MSG_NOSIGNAL) != 1)
			break;
	}
	return NULL;
}

static int
setup(void **state)
{
	struct harness	*h;
	int		 sv[2], av[2], pv[2];

	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, av) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pv) == -1)
		return -1;
	if ((h->pid = fork()) == -1)
		return -1;
	if (h->pid == 0) {
		close(sv[0]);
		close(av[0]);
		close(pv[0]);
		monitor_serve(sv[1], 0, av[1], pv[1], pol, ca, NULL,
		    "0123456789abcdef");
	}
	close(sv[1]);
	close(av[1]);
	close(pv[1]);
	h->child = sv[0];
	h->broker = av[0];
	h->policy = pv[0];
	pthread_mutex_init(&h->lock, NULL);
	if (pthread_create(&h->thread, NULL, broker_main, h) != 0)
		return -1;
	*state = h;
	return 0;
}

/* The monitor's exit status, once it has ended. */
static int
monitor_end(struct harness *h)
{
	int status;

	close(h->child);
	h->child = -1;
	while (waitpid(h->pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	h->pid = 0;
	pthread_join(h->thread, NULL);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 +
	    WTERMSIG(status);
}

static int
teardown(void **state)
{
	struct harness	*h = *state;
	size_t		 i;

	if (h->pid > 0) {
		kill(h->pid, SIGKILL);
		(void)monitor_end(h);
	}
	close(h->broker);
	close(h->policy);
	for (i = 0; i < h->nmsgs; i++)
		json_decref(h->msgs[i]);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return 0;
}

/*
 * The i-th message the broker got, of kind name; for an audit event, its
 * event (a borrowed reference, valid until teardown).  A message nobody
 * answers may reach the broker after the child has its own answer: it
 * is waited for, up to five seconds.
 */
static json_t *
broker_got(struct harness *h, size_t i, const char *name)
{
	struct timespec	 ms = { 0, 1000000 };
	json_t		*msg = NULL;
	int		 n;

	for (n = 0; n < 5000 && msg == NULL; n++) {
		pthread_mutex_lock(&h->lock);
		msg = i < h->nmsgs ? h->msgs[i] : NULL;
		pthread_mutex_unlock(&h->lock);
		if (msg == NULL)
			nanosleep(&ms, NULL);
	}
	if (msg == NULL)
		fail_msg("the broker got no message %zu (of kind %s)", i, name);
	assert_string_equal(json_string_value(json_object_get(msg, "msg")),
	    name);
	return strcmp(name, "audit") == 0 ? json_object_get(msg, "event") :
	    msg;
}

/* The audit event the broker got i-th: its type and string field key. */
static void
audited(struct harness *h, size_t i, const char *type, const char *key,
    const char *value)
{
	json_t *ev = broker_got(h, i, "audit");

	assert_string_equal(json_string_value(json_object_get(ev, "type")),
	    type);
	if (key != NULL)
		assert_string_equal(json_string_value(json_object_get(ev,
		    key)), value);
}

/* Send one raw request datagram as the child. */
static void
raw_request(struct harness *h, const char *text)
{
	assert_int_equal(fdpass_send(h->child, text, strlen(text), NULL, 0),
	    0);
}

/* A key file's type and base64 fields: "TYPE B64 comment". */
static void
key_fields(const char *name, char *type, size_t tlen, char *b64,
    size_t blen)
{
	char	*text = kit_slurp(kit_path(dir, name), NULL);
	char	*sp = strchr(text, ' ');

	assert_non_null(sp);
	*sp = '\0';
	snprintf(type, tlen, "%s", text);
	sp[1 + strcspn(sp + 1, " \n")] = '\0';
	snprintf(b64, blen, "%s", sp + 1);
	free(text);
}

/* A request the table does not have ends the session, on the record. */
static void
test_unknown(void **state)
{
	struct harness *h = *state;

	raw_request(h, "{\"req\":\"reboot\"}");
	assert_int_equal(monitor_end(h), 1);
	audited(h, 0, "session_violation", "reason", "unknown request");
	audited(h, 0, "session_violation", "request", "reboot");
}

/* So does one that is not a JSON object, or has its key twice. */
static void
test_malformed(void **state)
{
	struct harness *h = *state;

	raw_request(h, "{\"req\":\"event\",\"req\":\"event\"}");
	assert_int_equal(monitor_end(h), 1);
	audited(h, 0, "session_violation", "reason", "malformed request");
}

/* A request the table allows only after the login, before it. */
static void
test_out_of_phase(void **state)
{
	struct harness	*h = *state;
	char		 why[256];
	int		 out, err;

	assert_int_equal(mm_exec(h->child, "status", &out, &err, why,
	    sizeof(why)), -1);
	assert_int_equal(monitor_end(h), 1);
	audited(h, 0, "session_violation", "reason",
	    "request not permitted now");
	audited(h, 0, "session_violation", "request", "exec");
}

/* An event the child may report before the login: audited, answered. */
static void
test_event(void **state)
{
	struct harness *h = *state;

	assert_int_equal(mm_event(h->child, "channel_refused", json_pack(
	    "{s:s}", "reason", "no such channel type")), 0);
	audited(h, 0, "channel_refused", "reason", "no such channel type");
	/* A type outside the child's few is a violation. */
	assert_int_equal(mm_event(h->child, "auth_accepted", json_object()),
	    -1);
	assert_int_equal(monitor_end(h), 1);
	audited(h, 1, "session_violation", "reason", "malformed event request");
}

/* A plain key is refused with the reason, on the record. */
static void
test_plain_key(void **state)
{
	struct harness		*h = *state;
	struct mm_identity	 id;
	char			 type[64], b64[1024], why[384];

	key_fields("alice.pub", type, sizeof(type), b64, sizeof(b64));
	assert_int_equal(mm_auth(h->child, "support", type, b64, 0, &id, why,
	    sizeof(why)), 0);
	assert_non_null(strstr(why, "plain keys are not accepted"));
	audited(h, 0, "auth_refused", "user", "support");
}

/*
 * A certificate from the vendor CA logs in: a slot, the login on record,
 * then the broker is told who - in so many words, not by reading the
 * audit event.  After it, a login request is out of place.
 */
static void
test_login(void **state)
{
	struct harness		*h = *state;
	struct mm_identity	 id;
	json_t			*login;
	char			 type[64], b64[2048], why[384];

	key_fields("alice-cert.pub", type, sizeof(type), b64, sizeof(b64));
	/* The query first: may this key log in?  Nothing is taken yet. */
	assert_int_equal(mm_auth(h->child, "support", type, b64, 0, &id, why,
	    sizeof(why)), 1);
	assert_int_equal(mm_auth(h->child, "support", type, b64, 1, &id, why,
	    sizeof(why)), 1);
	assert_string_equal(id.engineer, "alice");
	assert_string_equal(id.ticket, "SUP-7");
	assert_string_equal(json_string_value(json_object_get(broker_got(h,
	    0, "slot"), "engineer")), "alice");
	audited(h, 1, "auth_accepted", "engineer", "alice");
	login = broker_got(h, 2, "login");
	assert_string_equal(json_string_value(json_object_get(login,
	    "ticket")), "SUP-7");
	assert_string_equal(json_string_value(json_object_get(login,
	    "key_id")), "alice@vendor");

	/* Logged in: a grant that is off is refused with why, audited. */
	assert_int_equal(mm_exec(h->child, "status", NULL, NULL, why,
	    sizeof(why)), 0);
	assert_non_null(strstr(why, "disabled"));
	audited(h, 3, "command_refused", "command", "status");

	/* And a second login is a violation. */
	assert_int_equal(mm_auth(h->child, "support", type, b64, 1, &id, why,
	    sizeof(why)), -1);
	assert_int_equal(monitor_end(h), 1);
	audited(h, 4, "session_violation", "request", "auth");
}

/* Log alice in as test_login does, for the tests of what comes after. */
static void
log_in(struct harness *h)
{
	struct mm_identity	 id;
	char			 type[64], b64[2048], why[384];

	key_fields("alice-cert.pub", type, sizeof(type), b64, sizeof(b64));
	assert_int_equal(mm_auth(h->child, "support", type, b64, 1, &id, why,
	    sizeof(why)), 1);
}

/*
 * A file under [redact] paths is never handed to the child: it gets a
 * copy of the same size with the secret starred, which it can neither
 * write nor grow (sealed in memory, or read-only on disk when it is
 * large), and whose bytes after the file is gone are still only stars.
 * The audit event counts the match and names the pattern, without the
 * text.
 */
static void
redacted_copy(struct harness *h, int on_disk)
{
	static const char	 text[] = "ok\ndb password = hunter2 x\nend\n";
	struct access_ops	 ops;
	struct access_attr	 attr;
	struct stat		 st, orig;
	char			 buf[64], why[256], *text_of_ev;
	uint32_t		 handle;
	json_t			*ev;
	int			 fd;

	kit_write(kit_path(dir, "log/app.log"), text, strlen(text), 0600);
	log_in(h);
	mm_access_ops(&h->child, pol, &ops);
	assert_int_equal(ops.open_file(ops.arg, kit_path(dir, "log/app.log"),
	    &fd, &handle, &attr, why, sizeof(why)), 1);
	assert_true(attr.redacted);
	assert_int_equal(attr.size, strlen(text));
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(stat(kit_path(dir, "log/app.log"), &orig), 0);
	assert_false(st.st_ino == orig.st_ino && st.st_dev == orig.st_dev);
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), strlen(text));
	assert_memory_equal(buf, "ok\ndb ****************** x\nend\n",
	    strlen(text));
	/* A compromised child cannot change what the next reader sees. */
	assert_int_equal(pwrite(fd, "x", 1, 0), -1);
	if (on_disk) {
		assert_int_equal(st.st_nlink, 0);
		assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	} else
		assert_int_equal(fcntl(fd, F_GET_SEALS), F_SEAL_SEAL |
		    F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
	close(fd);
	/* After the login: the slot, its audit event, who, the grant. */
	ev = broker_got(h, 4, "audit");
	assert_string_equal(json_string_value(json_object_get(ev, "type")),
	    "file_opened");
	assert_true(json_is_true(json_object_get(ev, "redacted")));
	assert_int_equal(json_integer_value(json_object_get(ev,
	    "redactions")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    ev, "patterns"), "secret")), 1);
	text_of_ev = json_dumps(ev, 0);
	assert_null(strstr(text_of_ev, "hunter2"));
	free(text_of_ev);

	/* More of a file not opened redacted is a violation. */
	raw_request(h, "{\"req\":\"file_more\",\"id\":999}");
	assert_int_equal(monitor_end(h), 1);
}

static void
test_redacted_copy(void **state)
{
	redacted_copy(*state, 0);
}

/*
 * Past the memory bound the copy is an unnamed read-only file.  Only a
 * test build lets the bound (64 MiB) be lowered; elsewhere this check is
 * skipped, and cmocka says so.
 */
static void
test_redacted_copy_on_disk(void **state)
{
	struct harness *h;

#ifndef PORTHOLE_TEST_HOOKS
	(void)state;
	print_message("built without --enable-test-hooks: the redacted copy "
	    "on disk is not checked\n");
	skip();
#endif
	setenv("PORTHOLE_REDACT_MEM_MAX", "0", 1);
	teardown(state);
	assert_int_equal(setup(state), 0);
	unsetenv("PORTHOLE_REDACT_MEM_MAX");
	h = *state;
	redacted_copy(h, 1);
}

/* Waiting for approval is for a login the customer must approve. */
static void
test_pending_only(void **state)
{
	struct harness		*h = *state;
	struct mm_identity	 id;
	char			 why[384];

	assert_int_equal(mm_approval_wait(h->child, &id, why, sizeof(why)),
	    -1);
	assert_int_equal(monitor_end(h), 1);
	audited(h, 0, "session_violation", "request", "approval_wait");
}

static int
group_setup(void **state)
{
	char	conf[4096], err[1024];
	size_t	n;

	(void)state;
	log_init("test_monitor", 1, LOG_LVL_ERROR);
	signal(SIGPIPE, SIG_IGN);
	if (kit_tmpdir(dir, "monitor") == -1 ||
	    mkdir(kit_path(dir, "log"), 0700) == -1)
		return -1;
	kit_run("cd %s && ssh-keygen -q -t ed25519 -N '' -C ca -f ca && "
	    "ssh-keygen -q -t ed25519 -N '' -C alice -f alice && "
	    "ssh-keygen -q -s ca -I alice@vendor -n alice -V -5m:+1h "
	    "-O extension:ticket@porthole=SUP-7 alice.pub 2>/dev/null", dir);
	if (sshcert_load_ca(kit_path(dir, "ca.pub"), ca, err,
	    sizeof(err)) == -1)
		return -1;
	n = (size_t)snprintf(conf, sizeof(conf),
	    "[gateway]\ncluster_id = test\nrelay = 127.0.0.1:1\n"
	    "relay_host_key = %s/ca.pub\ncluster_key = %s/alice\n"
	    "session_host_key = %s/alice\nsupport_ca = %s/ca.pub\n"
	    "audit_dir = %s\nstate_dir = %s\nrun_dir = %s\n"
	    "[remote_access]\nenabled = yes\napproval = none\n"
	    "engineers = alice\n[files]\nenabled = yes\npaths = %s/log\n"
	    "[redact]\npattern.secret = (password|secret) *= *[^ ]+\n",
	    dir, dir, dir, dir, dir, dir, dir, dir);
	kit_write(kit_path(dir, "porthole.conf"), conf, n, 0600);
	if (policy_load(kit_path(dir, "porthole.conf"), &pol, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	policy_free(pol);
	return kit_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_out_of_phase, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_login, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_only, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_redacted_copy, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_redacted_copy_on_disk,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
