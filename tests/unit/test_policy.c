/*
 * test_policy.c - porthole.conf loading and the allow/deny decisions.
 *
 * Configuration files are written into a fresh mkdtemp directory and
 * loaded through policy_load(), as portholed does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/redact.h"
#include "policy/policy.h"

#define N(a)		(sizeof(a) / sizeof((a)[0]))
#define T_EXPIRES	1798675200	/* 2026-12-31T00:00:00Z */
#define T_NOW		1780000000	/* mid-2026, before T_EXPIRES */

/* The required [gateway] keys: seven lines. */
#define GW \
	"[gateway]\n" \
	"cluster_id = acme-prod\n" \
	"relay = relay.example.com:2222\n" \
	"relay_host_key = /etc/porthole/relay_host_key.pub\n" \
	"cluster_key = /etc/porthole/cluster_key\n" \
	"session_host_key = /etc/porthole/session_host_key\n" \
	"support_ca = /etc/porthole/support_ca.pub\n"

/* DESIGN §4's example, grants turned on so their values are read. */
static const char full_conf[] =
    "[gateway]\n"
    "cluster_id = acme-prod\n"
    "relay = relay.example.com:2222\n"
    "relay_host_key = /etc/porthole/relay_host_key.pub   ; pinned, no TOFU\n"
    "cluster_key = /etc/porthole/cluster_key             ; ed25519 private key\n"
    "session_host_key = /etc/porthole/session_host_key   ; shown to engineers\n"
    "support_ca = /etc/porthole/support_ca.pub           ; vendor CA (ed25519)\n"
    "state_dir = /srv/porthole/state\n"
    "audit_dir = /srv/porthole/audit\n"
    "run_dir = /run/ph                             ; control + intake sockets\n"
    "user = ph          ; unprivileged user\n"
    "admin_group = ph-admin                        ; may use the control socket\n"
    "seal_every = 50         ; audit: seal after this many events ...\n"
    "seal_interval = 10m     ; ... or this much time\n"
    "audit_failure = close   ; close: refuse/end sessions\n"
    "\n"
    "[remote_access]\n"
    "enabled = yes           ; master switch\n"
    "approval = none         ; required | none\n"
    "engineers = alice, bob  ; certificate principals allowed, or *\n"
    "require_ticket = no     ; certificate extension ticket@porthole\n"
    "expires = 2026-12-31T00:00:00Z\n"
    "max_session = 4h\n"
    "idle_timeout = 30m\n"
    "max_sessions = 8\n"
    "end_at_cert_expiry = no\n"
    "\n"
    "# a full-line comment\n"
    "[files]                 ; read-only access\n"
    "enabled = yes\n"
    "paths = /opt/product/log, /var/opt/product/log\n"
    "deny = *.key, *.pem\n"
    "\n"
    "[commands]              ; diagnostics allow-list: name = absolute argv\n"
    "enabled = yes\n"
    "timeout = 90s           ; a diagnostic running longer is killed\n"
    "status = /opt/product/bin/status --json\n"
    "threads = /opt/product/bin/threaddump --pid {pid:int}\n"
    "tail = /usr/bin/tail -n {lines:int} /opt/product/log/server.log\n"
    "\n"
    "[forward]               ; port forwarding to product services only\n"
    "enabled = yes\n"
    "targets = 127.0.0.1:8021, [::1]:9998\n"
    "\n"
    "[settings]              ; remote optimisation of listed settings\n"
    "enabled = yes\n"
    "file = /opt/product/config/cluster.ini\n"
    "keys = jvm.heap, ingest.queue_size\n"
    "\n"
    "[telemetry]\n"
    "usage = yes             ; hourly license consumption (billing)\n"
    "health = no             ; nodes, services, disks\n"
    "events = off\n"
    "health_interval = 5m\n"
    "disks = /, /var/opt/product\n"
    "services = server=127.0.0.1:8021, activegate=127.0.0.1:9999\n"
    "\n"
    "[updates]\n"
    "window = weekly  sun   02:00   ; or: daily 03:00\n"
    "notify_command = /usr/local/bin/notify-admins --all\n"
    "update_command = /opt/product/bin/upgrade\n"
    "\n"
    "[redact]\n"
    "pattern.secret = (password|secret|token) *[=:] *[^ ]+\n"
    "pattern.aws = AKIA[0-9A-Z]{16}   ; access key ids\n"
    "paths = /opt/product/log/*.log, /var/opt/product/log\n"
    "\n"
    "[bundle]\n"
    "enabled = yes\n"
    "paths = /opt/product/log/*.log, /var/opt/product/log/gc\n"
    "commands = status\n"
    "since = 3d\n"
    "max_size = 20M\n"
    "approval = none\n"
    "on_events = crash, oom_kill\n";

static char	 tmpdir[] = "/tmp/test_policy.XXXXXX";
static char	 conf_path[512];

static int
group_setup(void **state)
{
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(conf_path, sizeof(conf_path), "%s/porthole.conf", tmpdir);
	return 0;
}

static int
group_teardown(void **state)
{
	char path[600];

	unlink(conf_path);
	/* Left behind by a failed policy show round trip. */
	snprintf(path, sizeof(path), "%s/shown1.conf", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/shown2.conf", tmpdir);
	unlink(path);
	return rmdir(tmpdir);
}

static void
write_conf(const char *text)
{
	FILE *f;

	assert_non_null(f = fopen(conf_path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static struct policy *
load_ok(const char *text)
{
	struct policy	*p = NULL;
	char		 err[1024] = "";

	write_conf(text);
	if (policy_load(conf_path, &p, err, sizeof(err)) == -1)
		fail_msg("unexpected error: %s", err);
	assert_non_null(p);
	return p;
}

/* expect starts with "%s" where the file name goes. */
static void
load_err(const char *text, const char *expect)
{
	struct policy	*p = (struct policy *)&p;	/* must stay put */
	char		 err[1024] = "", want[1024];

	assert_memory_equal(expect, "%s", 2);
	write_conf(text);
	snprintf(want, sizeof(want), "%s%s", conf_path, expect + 2);
	assert_int_equal(policy_load(conf_path, &p, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	assert_ptr_equal(p, (struct policy *)&p);
}

static void
test_full_file(void **state)
{
	struct policy *p = load_ok(full_conf);

	assert_string_equal(p->path, conf_path);
	assert_string_equal(p->cluster_id, "acme-prod");
	assert_int_equal(p->nrelays, 1);
	assert_string_equal(p->relays[0].host, "relay.example.com");
	assert_int_equal(p->relays[0].port, 2222);
	/* Inline comments are gone, trailing blanks too. */
	assert_string_equal(p->relay_host_key,
	    "/etc/porthole/relay_host_key.pub");
	assert_string_equal(p->cluster_key, "/etc/porthole/cluster_key");
	assert_string_equal(p->session_host_key,
	    "/etc/porthole/session_host_key");
	assert_string_equal(p->support_ca, "/etc/porthole/support_ca.pub");
	assert_string_equal(p->state_dir, "/srv/porthole/state");
	assert_string_equal(p->audit_dir, "/srv/porthole/audit");
	assert_string_equal(p->run_dir, "/run/ph");
	assert_string_equal(p->user, "ph");
	assert_string_equal(p->admin_group, "ph-admin");
	assert_int_equal(p->seal_every, 50);
	assert_int_equal(p->seal_interval, 600);
	assert_true(p->audit_failure_close);

	assert_true(p->ra_enabled);
	assert_false(p->approval_required);
	assert_false(p->engineers_any);
	assert_int_equal(p->nengineers, 2);
	assert_string_equal(p->engineers[0], "alice");
	assert_string_equal(p->engineers[1], "bob");
	assert_null(p->engineers[2]);
	assert_false(p->require_ticket);
	assert_int_equal(p->expires, T_EXPIRES);
	assert_int_equal(p->max_session, 4 * 3600);
	assert_int_equal(p->idle_timeout, 30 * 60);
	assert_int_equal(p->max_sessions, 8);
	assert_false(p->end_at_cert_expiry);

	assert_true(p->files_enabled);
	assert_int_equal(p->nfile_paths, 2);
	assert_string_equal(p->file_paths[0], "/opt/product/log");
	assert_string_equal(p->file_paths[1], "/var/opt/product/log");
	assert_int_equal(p->nfile_deny, 2);
	assert_string_equal(p->file_deny[0], "*.key");
	assert_string_equal(p->file_deny[1], "*.pem");

	assert_true(p->commands_enabled);
	assert_int_equal(p->command_timeout, 90);
	assert_int_equal(p->ncommands, 3);
	assert_string_equal(p->commands[0].name, "status");
	assert_int_equal(p->commands[0].argc, 2);
	assert_string_equal(p->commands[0].argv[0], "/opt/product/bin/status");
	assert_string_equal(p->commands[0].argv[1], "--json");
	assert_null(p->commands[0].argv[2]);
	assert_string_equal(p->commands[1].name, "threads");
	assert_int_equal(p->commands[1].argc, 3);
	assert_string_equal(p->commands[1].argv[2], "{pid:int}");
	assert_string_equal(p->commands[2].name, "tail");
	assert_int_equal(p->commands[2].argc, 4);
	assert_string_equal(p->commands[2].argv[2], "{lines:int}");
	assert_string_equal(p->commands[2].argv[3],
	    "/opt/product/log/server.log");

	assert_true(p->forward_enabled);
	assert_int_equal(p->ntargets, 2);
	assert_string_equal(p->targets[0].host, "127.0.0.1");
	assert_int_equal(p->targets[0].port, 8021);
	assert_string_equal(p->targets[1].host, "::1");
	assert_int_equal(p->targets[1].port, 9998);

	assert_true(p->settings_enabled);
	assert_string_equal(p->settings_file,
	    "/opt/product/config/cluster.ini");
	assert_int_equal(p->nsettings_keys, 2);
	assert_string_equal(p->settings_keys[0], "jvm.heap");
	assert_string_equal(p->settings_keys[1], "ingest.queue_size");

	assert_true(p->tel_usage);
	assert_false(p->tel_health);
	assert_false(p->tel_events);
	assert_int_equal(p->health_interval, 300);
	assert_int_equal(p->ndisks, 2);
	assert_string_equal(p->disks[0], "/");
	assert_string_equal(p->disks[1], "/var/opt/product");
	assert_int_equal(p->nservices, 2);
	assert_string_equal(p->services[0].name, "server");
	assert_string_equal(p->services[0].host, "127.0.0.1");
	assert_int_equal(p->services[0].port, 8021);
	assert_string_equal(p->services[1].name, "activegate");
	assert_int_equal(p->services[1].port, 9999);

	assert_string_equal(p->update_window, "weekly sun 02:00");
	assert_string_equal(p->notify_command,
	    "/usr/local/bin/notify-admins --all");
	assert_string_equal(p->update_command, "/opt/product/bin/upgrade");

	assert_int_equal(redact_count(p->redact), 2);
	assert_string_equal(redact_name(p->redact, 0), "secret");
	assert_string_equal(redact_regex(p->redact, 0),
	    "(password|secret|token) *[=:] *[^ ]+");
	assert_string_equal(redact_name(p->redact, 1), "aws");
	assert_string_equal(redact_regex(p->redact, 1), "AKIA[0-9A-Z]{16}");
	assert_true(p->redact_paths_set);
	assert_int_equal(p->nredact_paths, 2);
	assert_string_equal(p->redact_paths[0], "/opt/product/log/*.log");

	assert_true(p->bundle_enabled);
	assert_int_equal(p->nbundle_paths, 2);
	assert_string_equal(p->bundle_paths[1], "/var/opt/product/log/gc");
	assert_int_equal(p->nbundle_commands, 1);
	assert_string_equal(p->bundle_commands[0], "status");
	assert_int_equal(p->bundle_since, 3 * 86400);
	assert_int_equal(p->bundle_max_size, 20 * 1024 * 1024);
	assert_false(p->bundle_approval_required);
	assert_int_equal(p->nbundle_on_events, 2);
	assert_string_equal(p->bundle_on_events[1], "oom_kill");
	policy_free(p);
}

static void
test_defaults(void **state)
{
	struct policy *p = load_ok(GW);

	assert_string_equal(p->state_dir, "/var/lib/porthole");
	assert_string_equal(p->audit_dir, "/var/log/porthole");
	assert_string_equal(p->run_dir, "/run/porthole");
	assert_string_equal(p->user, "porthole");
	assert_string_equal(p->admin_group, "porthole-admin");
	assert_int_equal(p->seal_every, 100);
	assert_int_equal(p->seal_interval, 300);
	assert_true(p->audit_failure_close);
	/* A silent tunnel is dropped after 45 s, within DESIGN's 60 s. */
	assert_int_equal(p->keepalive_interval, 15);
	assert_int_equal(p->keepalive_count, 3);

	/* Every grant is off. */
	assert_false(p->ra_enabled);
	assert_true(p->approval_required);
	assert_false(p->engineers_any);
	assert_int_equal(p->nengineers, 0);
	assert_true(p->require_ticket);
	assert_int_equal(p->expires, 0);
	assert_int_equal(p->max_session, 7200);
	assert_int_equal(p->idle_timeout, 900);
	assert_int_equal(p->max_sessions, 4);
	assert_true(p->end_at_cert_expiry);
	assert_false(p->files_enabled);
	assert_int_equal(p->nfile_paths, 0);
	assert_false(p->commands_enabled);
	assert_int_equal(p->command_timeout, 60);
	assert_int_equal(p->ncommands, 0);
	assert_false(p->forward_enabled);
	assert_int_equal(p->ntargets, 0);
	assert_false(p->settings_enabled);
	assert_null(p->settings_file);

	assert_true(p->tel_usage);
	assert_true(p->tel_health);
	assert_true(p->tel_events);
	assert_int_equal(p->health_interval, 120);
	assert_null(p->update_window);
	assert_null(p->notify_command);
	assert_null(p->update_command);

	/* No pattern: nothing is redacted; bundles are off. */
	assert_int_equal(redact_count(p->redact), 0);
	assert_false(p->redact_paths_set);
	assert_false(p->bundle_enabled);
	assert_int_equal(p->nbundle_paths, 0);
	assert_int_equal(p->nbundle_commands, 0);
	assert_int_equal(p->bundle_since, 7 * 86400);
	assert_int_equal(p->bundle_max_size, 200 * 1024 * 1024);
	assert_true(p->bundle_approval_required);
	assert_int_equal(p->nbundle_on_events, 0);
	policy_free(p);

	/* Empty sections change nothing; an empty list means none. */
	p = load_ok(GW "[files]\n[forward]\ntargets =\n"
	    "[remote_access]\nengineers =\n");
	assert_false(p->files_enabled);
	assert_int_equal(p->ntargets, 0);
	assert_int_equal(p->nengineers, 0);
	assert_false(p->engineers_any);
	policy_free(p);
}

static void
test_bad_files(void **state)
{
	static const struct {
		const char	*text;
		const char	*err;
	} t[] = {
		{ GW "[bogus]\n", "%s:8: unknown section [bogus]" },
		{ GW "[remote_access]\n[Files]\n",
		    "%s:9: unknown section [Files]" },
		{ GW "colour = blue\n",
		    "%s:8: unknown key 'colour' in [gateway]" },
		{ GW "[files]\nenabled = no\nread_write = yes\n",
		    "%s:10: unknown key 'read_write' in [files]" },
		{ GW "cluster_id = again\n",
		    "%s:8: duplicate key 'cluster_id' in [gateway]" },
		{ GW "[commands]\nstatus = /bin/true\nstatus = /bin/false\n",
		    "%s:10: duplicate key 'status' in [commands]" },
		{ GW "[files]\nenabled = no\n[files]\n",
		    "%s:10: section [files] appears twice" },
		{ GW "[gateway]\n", "%s:8: section [gateway] appears twice" },
		{ "cluster_id = acme-prod\n" GW,
		    "%s:1: key 'cluster_id' outside any section" },
		{ "\n; comment\nenabled = yes\n[remote_access]\n",
		    "%s:3: key 'enabled' outside any section" },
		{ GW "[remote_access]\nenabled = maybe\n",
		    "%s:9: enabled: expected yes or no, got 'maybe'" },
		{ GW "[remote_access]\nenabled =\n",
		    "%s:9: enabled: expected yes or no, got ''" },
		{ GW "[remote_access]\nmax_session = 2 hours\n",
		    "%s:9: max_session: expected a duration from 10s to 7d "
		    "(like 90s, 15m, 2h, 1d), got '2 hours'" },
		{ GW "[remote_access]\nidle_timeout = 5s\n",
		    "%s:9: idle_timeout: expected a duration from 10s to 1d "
		    "(like 90s, 15m, 2h, 1d), got '5s'" },
		{ GW "[commands]\ntimeout = 0\n",
		    "%s:9: timeout: expected a duration from 1s to 1h "
		    "(like 90s, 15m, 2h, 1d), got '0'" },
		{ GW "[remote_access]\nmax_sessions = 0\n",
		    "%s:9: max_sessions: expected a number from 1 to 100, "
		    "got '0'" },
		{ GW "seal_every = -1\n",
		    "%s:8: seal_every: expected a number from 1 to 1000000, "
		    "got '-1'" },
		{ GW "audit_rotate = 8K\n",
		    "%s:8: audit_rotate: expected 0 or a size from 16K to "
		    "1024G (like 512K, 64M, 2G), got '8K'" },
		{ GW "audit_rotate = 64MB\n",
		    "%s:8: audit_rotate: expected 0 or a size from 16K to "
		    "1024G (like 512K, 64M, 2G), got '64MB'" },
		{ "[gateway]\ncluster_id = acme\nrelay = r:22\n"
		    "relay_host_key = relay_host_key.pub\n",
		    "%s:4: relay_host_key: expected an absolute path without "
		    ". or .. components, got 'relay_host_key.pub'" },
		{ GW "audit_dir = /var/log/../../tmp\n",
		    "%s:8: audit_dir: expected an absolute path without . or "
		    ".. components, got '/var/log/../../tmp'" },
		{ GW "[files]\npaths = /opt/product/log, log\n",
		    "%s:9: paths: 'log' is not a clean absolute path" },
		{ GW "[files]\npaths = /opt/product/log/..\n",
		    "%s:9: paths: '/opt/product/log/..' is not a clean "
		    "absolute path" },
		{ GW "[files]\npaths = /opt/product/log/\n",
		    "%s:9: paths: '/opt/product/log/' is not a clean "
		    "absolute path" },
		{ GW "[files]\npaths = /opt//log\n",
		    "%s:9: paths: '/opt//log' is not a clean absolute path" },
		{ GW "[files]\npaths = /a,,/b\n",
		    "%s:9: paths: expected a comma-separated list of at most "
		    "256 a clean absolute path, got '/a,,/b'" },
		{ GW "[telemetry]\ndisks = var\n",
		    "%s:9: disks: 'var' is not an absolute path" },
		{ GW "[commands]\ntail = /usr/bin/tail -n {lines} /var/log/x\n",
		    "%s:9: tail: '{lines}' is not a placeholder: expected "
		    "{NAME:int} or {NAME:word} as a whole word" },
		{ GW "[commands]\ntail = /usr/bin/tail -n {lines:float}\n",
		    "%s:9: tail: '{lines:float}' is not a placeholder: "
		    "expected {NAME:int} or {NAME:word} as a whole word" },
		{ GW "[commands]\ntail = /usr/bin/tail --lines={n:int}\n",
		    "%s:9: tail: '--lines={n:int}' is not a placeholder: "
		    "expected {NAME:int} or {NAME:word} as a whole word" },
		{ GW "[commands]\nx = /bin/x {:int}\n",
		    "%s:9: x: '{:int}' is not a placeholder: expected "
		    "{NAME:int} or {NAME:word} as a whole word" },
		{ GW "[commands]\nx = /bin/x {a:int}}\n",
		    "%s:9: x: '{a:int}}' is not a placeholder: expected "
		    "{NAME:int} or {NAME:word} as a whole word" },
		{ GW "[commands]\nx = /bin/x {n:int} {n:word}\n",
		    "%s:9: x: placeholder name 'n' used twice" },
		{ GW "[commands]\nx = {prog:word} -v\n",
		    "%s:9: x: expected an absolute path to run, got "
		    "'{prog:word} -v'" },
		{ GW "[commands]\nls = ls -l /opt\n",
		    "%s:9: ls: expected an absolute path to run, got "
		    "'ls -l /opt'" },
		{ GW "[commands]\nx =\n",
		    "%s:9: x: expected an absolute path to run, got ''" },
		{ GW "[commands]\nx = /bin/x 1 2 3 4 5 6 7 8 9 10 11 12 13 14 "
		    "15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32\n",
		    "%s:9: x: more than 32 words" },
		{ GW "[commands]\nrun it = /bin/x\n",
		    "%s:9: 'run it' is not a valid command name (1-64 of "
		    "A-Z a-z 0-9 . _ -)" },
		{ GW "[commands]\nx/y = /bin/x\n",
		    "%s:9: 'x/y' is not a valid command name (1-64 of "
		    "A-Z a-z 0-9 . _ -)" },
		{ "[gateway]\n", "%s: missing required key [gateway] "
		    "cluster_id" },
		{ "", "%s: missing required key [gateway] cluster_id" },
		{ "[gateway]\ncluster_id = a\n",
		    "%s: missing required key [gateway] relay" },
		{ "[remote_access]\nenabled = yes\n",
		    "%s: missing required key [gateway] cluster_id" },
		{ "[gateway]\ncluster_id = a\nrelay = r:1\n"
		    "relay_host_key = /k\ncluster_key = /k\n"
		    "session_host_key = /k\n",
		    "%s: missing required key [gateway] support_ca" },
		{ "[gateway]\ncluster_id = acme prod\n",
		    "%s:2: cluster_id: expected 1-64 of A-Z a-z 0-9 . _ -, "
		    "got 'acme prod'" },
		{ "[gateway]\ncluster_id = "
		    "a234567890123456789012345678901234567890123456789012345678901"
		    "2345\n",
		    "%s:2: cluster_id: expected 1-64 of A-Z a-z 0-9 . _ -, got "
		    "'a2345678901234567890123456789012345678901234567890123456"
		    "789012345'" },
		{ "[gateway]\nrelay = relay.example.com\n",
		    "%s:2: relay: expected HOST:PORT or [ADDR]:PORT, got "
		    "'relay.example.com'" },
		{ "[gateway]\nrelay = r1:2222, r2\n",
		    "%s:2: relay: expected HOST:PORT or [ADDR]:PORT, got "
		    "'r2'" },
		{ "[gateway]\nrelay = r1:2222, R1:2222\n",
		    "%s:2: relay: 'R1:2222' is listed twice" },
		{ "[gateway]\nrelay = r1:2222,, r2:2222\n",
		    "%s:2: relay: expected a comma-separated list of at most "
		    "256 HOST:PORT or [ADDR]:PORT, got 'r1:2222,, r2:2222'" },
		{ "[gateway]\nrelay =\n",
		    "%s:2: relay: expected 1 to 16 relays, got 0" },
		{ "[gateway]\nrelay = a:1,b:1,c:1,d:1,e:1,f:1,g:1,h:1,i:1,"
		    "j:1,k:1,l:1,m:1,n:1,o:1,p:1,q:1\n",
		    "%s:2: relay: expected 1 to 16 relays, got 17" },
		{ GW "keepalive_interval = 0s\n",
		    "%s:8: keepalive_interval: expected a duration from 1s "
		    "to 10m (like 90s, 15m, 2h, 1d), got '0s'" },
		{ GW "keepalive_count = 11\n",
		    "%s:8: keepalive_count: expected a number from 1 to 10, "
		    "got '11'" },
		{ GW "user = -root\n",
		    "%s:8: user: expected a user or group name, got '-root'" },
		{ GW "audit_failure = open\n",
		    "%s:8: audit_failure: expected close, got 'open'" },
		{ GW "[remote_access]\napproval = maybe\n",
		    "%s:9: approval: expected required or none, got 'maybe'" },
		{ GW "[remote_access]\nengineers = alice, *\n",
		    "%s:9: engineers: '*' is not a principal (or * alone)" },
		{ GW "[remote_access]\nexpires = 2026-12-31\n",
		    "%s:9: expires: expected YYYY-MM-DDTHH:MM:SSZ (UTC), got "
		    "'2026-12-31'" },
		{ GW "[remote_access]\nexpires = 2026-12-31T00:00:00+01:00\n",
		    "%s:9: expires: expected YYYY-MM-DDTHH:MM:SSZ (UTC), got "
		    "'2026-12-31T00:00:00+01:00'" },
		{ GW "[forward]\ntargets = 127.0.0.1:8021, localhost\n",
		    "%s:9: targets: expected HOST:PORT, got 'localhost'" },
		{ GW "[telemetry]\nservices = server:8021\n",
		    "%s:9: services: expected NAME=HOST:PORT, got "
		    "'server:8021'" },
		{ GW "[telemetry]\nservices = a=h:1, a=h:2\n",
		    "%s:9: services: 'a' is named twice" },
		{ GW "[settings]\nkeys = jvm heap\n",
		    "%s:9: keys: 'jvm heap' is not a setting name "
		    "(A-Z a-z 0-9 . _ -)" },
		{ GW "[updates]\nwindow = weekly sunday 02:00\n",
		    "%s:9: window: expected 'weekly DAY HH:MM' (DAY: sun..sat) "
		    "or 'daily HH:MM', got 'weekly sunday 02:00'" },
		{ GW "[updates]\nwindow = daily 24:00\n",
		    "%s:9: window: expected 'weekly DAY HH:MM' (DAY: sun..sat) "
		    "or 'daily HH:MM', got 'daily 24:00'" },
		{ GW "[updates]\nupdate_command = upgrade --now\n",
		    "%s:9: update_command: expected an absolute command of at "
		    "most 32 words, got 'upgrade --now'" },
		/* [redact] */
		{ GW "[redact]\npattern.secret = (password|token\n",
		    "%s:9: pattern.secret: invalid regular expression: "
		    "Unmatched ( or \\(" },
		{ GW "[redact]\npattern.x = a{2,1}\n",
		    "%s:9: pattern.x: invalid regular expression: Invalid "
		    "content of \\{\\}" },
		{ GW "[redact]\npattern.x = pass;word\n",
		    "%s:9: pattern.x: a pattern cannot hold ';', which starts "
		    "a comment in porthole.conf" },
		{ GW "[redact]\npattern.x =\n",
		    "%s:9: pattern.x: an empty pattern" },
		{ GW "[redact]\npattern.x = (a|b)*\n",
		    "%s:9: pattern.x: it matches an empty line, so it would "
		    "match everywhere and star nothing" },
		{ GW "[redact]\npattern.x = .{0,4000}x\n",
		    "%s:9: pattern.x: too complex: its repeats add more than "
		    "500 positions to it" },
		{ GW "[redact]\npattern. = x\n",
		    "%s:9: 'pattern.' is not a valid pattern name (pattern. "
		    "and 1-64 of A-Z a-z 0-9 . _ -)" },
		{ GW "[redact]\npattern.a/b = x\n",
		    "%s:9: 'pattern.a/b' is not a valid pattern name (pattern. "
		    "and 1-64 of A-Z a-z 0-9 . _ -)" },
		{ GW "[redact]\nsecret = x\n",
		    "%s:9: unknown key 'secret' in [redact]" },
		{ GW "[redact]\npaths = opt/product\n",
		    "%s:9: paths: 'opt/product' is not an absolute path glob "
		    "without // . or .." },
		{ GW "[redact]\npaths = /opt/*/../etc\n",
		    "%s:9: paths: '/opt/*/../etc' is not an absolute path glob "
		    "without // . or .." },
		/* [bundle], checked after the whole file, in any order. */
		{ GW "[bundle]\npaths = /etc/product/*\n"
		    "[files]\npaths = /opt/product/log\n",
		    "%s:9: paths: '/etc/product/*' is not beneath a [files] "
		    "paths root" },
		{ GW "[bundle]\npaths = /opt/product/log/*, /opt/prod*/log\n"
		    "[files]\npaths = /opt/product/log\n",
		    "%s:9: paths: '/opt/prod*/log' is not beneath a [files] "
		    "paths root" },
		{ GW "[bundle]\npaths = /opt/product/log/*.log\n",
		    "%s:9: paths: '/opt/product/log/*.log' is not beneath a "
		    "[files] paths root" },
		{ GW "[bundle]\npaths = log/*.log\n",
		    "%s:9: paths: 'log/*.log' is not an absolute path glob "
		    "without // . or .." },
		{ GW "[bundle]\ncommands = status\n"
		    "[commands]\nstat = /bin/true\n",
		    "%s:9: commands: 'status' is not a [commands] entry" },
		{ GW "[commands]\nthreads = /bin/jstack {pid:int}\n"
		    "[bundle]\ncommands = threads\n",
		    "%s:11: commands: 'threads' takes arguments, and a bundle "
		    "runs its diagnostics without any" },
		{ GW "[bundle]\ncommands = run it\n",
		    "%s:9: commands: 'run it' is not a command name" },
		{ GW "[bundle]\nenabled = yes\n",
		    "%s:9: enabled: a bundle would hold nothing; set [bundle] "
		    "paths or commands" },
		{ GW "[bundle]\nmax_size = 0\n",
		    "%s:9: max_size: expected a size from 1M to 64G (like "
		    "512K, 64M, 2G), got '0'" },
		{ GW "[bundle]\nmax_size = 65G\n",
		    "%s:9: max_size: expected a size from 1M to 64G (like "
		    "512K, 64M, 2G), got '65G'" },
		{ GW "[bundle]\nsince = 30s\n",
		    "%s:9: since: expected a duration from 1m to 365d (like "
		    "90s, 15m, 2h, 1d), got '30s'" },
		{ GW "[bundle]\napproval = later\n",
		    "%s:9: approval: expected required or none, got 'later'" },
		{ GW "[bundle]\non_events = crash, Crash\n",
		    "%s:9: on_events: 'Crash' is not an event type "
		    "(a-z 0-9 _)" },
		/* porthole's own commands are not diagnostics. */
		{ GW "[commands]\nbundle = /bin/tar czf - /var/log\n",
		    "%s:9: 'bundle' is reserved for porthole's own command of "
		    "that name; call the diagnostic something else" },
		{ GW "[commands]\naction = /bin/true\n",
		    "%s:9: 'action' is reserved for porthole's own command of "
		    "that name; call the diagnostic something else" },
		{ GW "[commands]\nscp = /usr/bin/scp\n",
		    "%s:9: 'scp' is reserved for porthole's own command of "
		    "that name; call the diagnostic something else" },
		{ GW "[commands]\nhelp = /bin/echo hi\n",
		    "%s:9: 'help' is reserved for porthole's own command of "
		    "that name; call the diagnostic something else" },
		{ GW "[commands]\nsettings = /bin/cat /etc/x\n",
		    "%s:9: 'settings' is reserved for porthole's own command "
		    "of that name; call the diagnostic something else" },
		/* What inih would accept, or accept differently. */
		{ GW "[files\n", "%s:8: section header without ']'" },
		{ GW "[files] enabled = yes\n",
		    "%s:8: unexpected text after section header [files]" },
		{ GW "[]\n", "%s:8: empty section name" },
		{ GW "just some words\n",
		    "%s:8: expected 'key = value', a [section] or a comment" },
		{ GW "[files]\npaths = /a\n  /b\n",
		    "%s:10: expected 'key = value', a [section] or a comment" },
		{ GW "= value\n", "%s:8: empty key name" },
		{ GW "\xef\xbb\xbf[files]\n",
		    "%s:8: expected 'key = value', a [section] or a comment" },
	};
	size_t i;

	for (i = 0; i < N(t); i++) {
		print_message("bad file %zu\n", i);
		load_err(t[i].text, t[i].err);
	}
}

/* One line of n characters, a comment, after the [gateway] block. */
static char *
conf_with_line(size_t n)
{
	char *text;

	assert_non_null(text = malloc(sizeof(GW) + n + 2));
	strcpy(text, GW);
	memset(text + sizeof(GW) - 1, ';', n);
	strcpy(text + sizeof(GW) - 1 + n, "\n");
	return text;
}

static void
test_long_lines(void **state)
{
	struct policy	*p;
	char		*text, *v;

	/* inih alone would split these and parse the tail as a key. */
	text = conf_with_line(1500);
	load_err(text, "%s:8: line longer than 1024 characters");
	free(text);
	text = conf_with_line(1025);
	load_err(text, "%s:8: line longer than 1024 characters");
	free(text);
	text = conf_with_line(1024);
	p = load_ok(text);
	policy_free(p);
	free(text);

	/* A long value whose tail looks like a key is one value. */
	assert_non_null(text = malloc(2048));
	assert_non_null(v = malloc(1024));
	memset(v, 'a', 900);
	v[900] = '\0';
	snprintf(text, 2048, GW "[commands]\nx = /bin/%s enabled=yes\n", v);
	p = load_ok(text);
	assert_false(p->commands_enabled);
	assert_int_equal(p->commands[0].argc, 2);
	assert_string_equal(p->commands[0].argv[1], "enabled=yes");
	policy_free(p);
	free(text);
	free(v);
}

static void
test_file_errors(void **state)
{
	struct policy	*p = NULL;
	char		 err[1024], want[1024], path[600];

	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	assert_int_equal(policy_load(path, &p, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
	assert_null(p);

	assert_int_equal(policy_load(tmpdir, &p, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: not a regular file", tmpdir);
	assert_string_equal(err, want);

	/* A NUL byte would end the line early for inih. */
	{
		FILE *f;

		assert_non_null(f = fopen(conf_path, "w"));
		fwrite(GW "user = a\0b\n", 1, sizeof(GW "user = a\0b\n") - 1,
		    f);
		fclose(f);
		assert_int_equal(policy_load(conf_path, &p, err, sizeof(err)),
		    -1);
		snprintf(want, sizeof(want), "%s:8: NUL byte in line",
		    conf_path);
		assert_string_equal(err, want);
	}
}

static void
test_syntax_variants(void **state)
{
	struct policy *p;

	/* CRLF line ends, ':' as separator, '#' comments, a last line
	 * without a newline, blanks around everything. */
	p = load_ok("[gateway]\r\n"
	    "cluster_id: acme-prod\r\n"
	    "# comment\r\n"
	    "  relay   =   [::1]:2222   \r\n"
	    "relay_host_key = /k1\n"
	    "cluster_key = /k2\n"
	    "session_host_key = /k3\n"
	    "support_ca = /k4\n"
	    "[remote_access] ; the switch\n"
	    "engineers = *\n"
	    "enabled = yes");
	assert_string_equal(p->cluster_id, "acme-prod");
	assert_int_equal(p->nrelays, 1);
	assert_string_equal(p->relays[0].host, "::1");
	assert_int_equal(p->relays[0].port, 2222);
	assert_true(p->engineers_any);
	assert_true(p->ra_enabled);
	policy_free(p);

	/* ';' without a blank before it is part of the value. */
	p = load_ok(GW "[files]\ndeny = *.key;*.pem ; comment\n");
	assert_int_equal(p->nfile_deny, 1);
	assert_string_equal(p->file_deny[0], "*.key;*.pem");
	policy_free(p);

	/* inih cuts names at 49 bytes; a 64-character command is whole. */
	p = load_ok(GW "[commands]\nenabled = yes\n"
	    "c234567890123456789012345678901234567890123456789012345678901234"
	    " = /bin/x\n"
	    "c2345678901234567890123456789012345678901234567890123456789012"
	    " = /bin/y\n");
	assert_int_equal(p->ncommands, 2);
	assert_int_equal(strlen(p->commands[0].name), 64);
	assert_string_equal(p->commands[1].argv[0], "/bin/y");
	policy_free(p);

	/* A later window replaces nothing: windows are normalised. */
	p = load_ok(GW "[updates]\nwindow = daily 03:00\n");
	assert_string_equal(p->update_window, "daily 03:00");
	policy_free(p);
}

#define RA_ON	"[remote_access]\nenabled = yes\n"

struct session_case {
	const char	*conf;		/* after GW */
	const char	*principals[3];
	const char	*ticket;
	time_t		 now;
	int		 allow;
	const char	*want;		/* engineer, or the reason */
};

static void
test_allow_session(void **state)
{
	static const struct session_case t[] = {
		{ "", { "alice" }, "SUP-1", T_NOW, 0,
		    "remote access is disabled on this cluster" },
		{ "[remote_access]\nenabled = no\nengineers = *\n"
		    "require_ticket = no\n", { "alice" }, "SUP-1", T_NOW, 0,
		    "remote access is disabled on this cluster" },
		/* Nobody is allowed until engineers is set. */
		{ RA_ON, { "alice" }, "SUP-1", T_NOW, 0,
		    "engineer 'alice' is not allowed on this cluster" },
		{ RA_ON "engineers =\n", { "alice" }, "SUP-1", T_NOW, 0,
		    "engineer 'alice' is not allowed on this cluster" },
		{ RA_ON "engineers = *\n", { "alice" }, "SUP-1", T_NOW, 1,
		    "alice" },
		{ RA_ON "engineers = *\n", { "alice", "bob" }, "SUP-1", T_NOW,
		    1, "alice" },
		{ RA_ON "engineers = *\n", { "alice" }, NULL, T_NOW, 0,
		    "a support ticket is required (certificate extension "
		    "ticket@porthole)" },
		{ RA_ON "engineers = *\n", { "alice" }, "", T_NOW, 0,
		    "a support ticket is required (certificate extension "
		    "ticket@porthole)" },
		{ RA_ON "engineers = *\nrequire_ticket = no\n", { "alice" },
		    NULL, T_NOW, 1, "alice" },
		{ RA_ON "engineers = *\n", { NULL }, "SUP-1", T_NOW, 0,
		    "the certificate names no principal" },
		{ RA_ON "engineers = alice, bob\n", { "alice" }, "SUP-1",
		    T_NOW, 1, "alice" },
		{ RA_ON "engineers = alice, bob\n", { "bob" }, "SUP-1", T_NOW,
		    1, "bob" },
		{ RA_ON "engineers = alice, bob\n", { "carol" }, "SUP-1",
		    T_NOW, 0, "engineer 'carol' is not allowed on this "
		    "cluster" },
		{ RA_ON "engineers = alice, bob\n", { "carol", "bob" },
		    "SUP-1", T_NOW, 1, "bob" },
		{ RA_ON "engineers = alice, bob\n", { "carol", "dave" },
		    "SUP-1", T_NOW, 0, "engineer 'carol' is not allowed on "
		    "this cluster" },
		{ RA_ON "engineers = alice, bob\n", { "Alice" }, "SUP-1",
		    T_NOW, 0, "engineer 'Alice' is not allowed on this "
		    "cluster" },
		{ RA_ON "engineers = alice, bob\n", { "alic" }, "SUP-1",
		    T_NOW, 0, "engineer 'alic' is not allowed on this "
		    "cluster" },
		{ RA_ON "engineers = alice, bob\n", { "alice2" }, "SUP-1",
		    T_NOW, 0, "engineer 'alice2' is not allowed on this "
		    "cluster" },
		/* The allow-list is checked before the ticket. */
		{ RA_ON "engineers = alice\n", { "carol" }, NULL, T_NOW, 0,
		    "engineer 'carol' is not allowed on this cluster" },
		{ RA_ON "engineers = alice\n", { "alice" }, NULL, T_NOW, 0,
		    "a support ticket is required (certificate extension "
		    "ticket@porthole)" },
		/* Expiry: the grant ends at the second it names. */
		{ RA_ON "engineers = *\nexpires = 2026-12-31T00:00:00Z\n",
		    { "alice" }, "SUP-1", T_EXPIRES - 1, 1, "alice" },
		{ RA_ON "engineers = *\nexpires = 2026-12-31T00:00:00Z\n",
		    { "alice" }, "SUP-1", T_EXPIRES, 0,
		    "remote access grant expired at 2026-12-31T00:00:00Z" },
		{ RA_ON "engineers = *\nexpires = 2026-12-31T00:00:00Z\n",
		    { "alice" }, "SUP-1", T_EXPIRES + 86400 * 365, 0,
		    "remote access grant expired at 2026-12-31T00:00:00Z" },
		/* Expiry is checked before the allow-list and the ticket. */
		{ RA_ON "engineers = bob\nexpires = 2026-12-31T00:00:00Z\n",
		    { "carol" }, NULL, T_EXPIRES, 0,
		    "remote access grant expired at 2026-12-31T00:00:00Z" },
		/* The master switch is checked before expiry. */
		{ "[remote_access]\nengineers = *\n"
		    "expires = 2020-01-01T00:00:00Z\n", { "alice" }, "SUP-1",
		    T_NOW, 0, "remote access is disabled on this cluster" },
	};
	struct policy	*p;
	const char	*engineer;
	char		 reason[256], *text;
	size_t		 i, np;
	int		 rc;

	for (i = 0; i < N(t); i++) {
		print_message("session case %zu\n", i);
		assert_true(asprintf(&text, "%s%s", GW, t[i].conf) != -1);
		p = load_ok(text);
		free(text);
		for (np = 0; np < 3 && t[i].principals[np] != NULL; np++)
			;
		engineer = "untouched";
		reason[0] = '\0';
		rc = policy_allow_session(p, t[i].principals, np, t[i].ticket,
		    t[i].now, &engineer, reason, sizeof(reason));
		assert_int_equal(rc, t[i].allow);
		if (rc == 1) {
			assert_string_equal(engineer, t[i].want);
			/* The principal itself, not a copy. */
			assert_true(engineer == t[i].principals[0] ||
			    engineer == t[i].principals[1]);
		} else
			assert_string_equal(reason, t[i].want);
		policy_free(p);
	}
}

#define CMDS \
	"[commands]\n" \
	"status = /opt/product/bin/status --json\n" \
	"threads = /opt/product/bin/threaddump --pid {pid:int}\n" \
	"tail = /usr/bin/tail -n {lines:int} /opt/product/log/server.log\n" \
	"logs = /opt/product/bin/logs --service {service:word} " \
	    "--last {lines:int}\n"
#define CMD_ON		RA_ON CMDS "enabled = yes\n"
/* 64 characters: the longest word an engineer may give. */
#define W64		"a234567890123456789012345678901234567890" \
			"123456789012345678901234"

struct command_case {
	const char	*conf;		/* after GW */
	const char	*cmdline;
	int		 allow;
	const char	*want;		/* argv joined by '|', or the reason */
};

static void
test_allow_command(void **state)
{
	static const struct command_case t[] = {
		{ CMDS "enabled = yes\n", "status", 0,
		    "remote access is disabled on this cluster" },
		{ RA_ON CMDS, "status", 0,
		    "diagnostics are disabled on this cluster" },
		{ RA_ON CMDS "enabled = no\n", "status", 0,
		    "diagnostics are disabled on this cluster" },
		{ RA_ON "[commands]\nenabled = yes\n", "status", 0,
		    "command 'status' is not allowed on this cluster" },
		{ CMD_ON, "status", 1, "/opt/product/bin/status|--json" },
		{ CMD_ON, "  status   ", 1, "/opt/product/bin/status|--json" },
		{ CMD_ON, "", 0, "no command given" },
		{ CMD_ON, "    ", 0, "no command given" },
		{ CMD_ON, "rm -rf /", 0,
		    "command 'rm' is not allowed on this cluster" },
		{ CMD_ON, "STATUS", 0,
		    "command 'STATUS' is not allowed on this cluster" },
		{ CMD_ON, "/opt/product/bin/status", 0,
		    "command '/opt/product/bin/status' is not allowed on this "
		    "cluster" },
		{ CMD_ON, "enabled", 0,
		    "command 'enabled' is not allowed on this cluster" },
		{ CMD_ON, "timeout 5", 0,
		    "command 'timeout' is not allowed on this cluster" },
		{ CMD_ON, "status now", 0,
		    "command 'status' takes 0 argument(s)" },
		{ CMD_ON, "status --all", 0,
		    "command 'status' takes 0 argument(s)" },
		{ CMD_ON, "threads", 0, "command 'threads' needs 1 argument(s)" },
		{ CMD_ON, "threads 42", 1,
		    "/opt/product/bin/threaddump|--pid|42" },
		{ CMD_ON, "threads    42 ", 1,
		    "/opt/product/bin/threaddump|--pid|42" },
		{ CMD_ON, "threads 42 43", 0,
		    "command 'threads' takes 1 argument(s)" },
		{ CMD_ON, "threads -1", 0,
		    "command 'threads': argument '-1' is not a valid int (pid)" },
		{ CMD_ON, "threads +1", 0,
		    "command 'threads': argument '+1' is not a valid int (pid)" },
		{ CMD_ON, "threads 4x", 0,
		    "command 'threads': argument '4x' is not a valid int (pid)" },
		{ CMD_ON, "threads 0x10", 0, "command 'threads': argument "
		    "'0x10' is not a valid int (pid)" },
		{ CMD_ON, "threads 123456789012345678", 1,
		    "/opt/product/bin/threaddump|--pid|123456789012345678" },
		{ CMD_ON, "threads 1234567890123456789", 0,
		    "command 'threads': argument '1234567890123456789' is not "
		    "a valid int (pid)" },
		{ CMD_ON, "threads 42;id", 0, "command 'threads': argument "
		    "'42;id' is not a valid int (pid)" },
		{ CMD_ON, "tail 100", 1,
		    "/usr/bin/tail|-n|100|/opt/product/log/server.log" },
		{ CMD_ON, "tail ../etc/shadow", 0, "command 'tail': argument "
		    "'../etc/shadow' is not a valid int (lines)" },
		{ CMD_ON, "logs server 50", 1, "/opt/product/bin/logs|"
		    "--service|server|--last|50" },
		{ CMD_ON, "logs active_gate-1.x 1", 1, "/opt/product/bin/logs|"
		    "--service|active_gate-1.x|--last|1" },
		{ CMD_ON, "logs server", 0,
		    "command 'logs' needs 2 argument(s)" },
		{ CMD_ON, "logs", 0, "command 'logs' needs 2 argument(s)" },
		{ CMD_ON, "logs server 50 60", 0,
		    "command 'logs' takes 2 argument(s)" },
		{ CMD_ON, "logs 50 server", 0, "command 'logs': argument "
		    "'server' is not a valid int (lines)" },
		{ CMD_ON, "logs ../x 5", 0, "command 'logs': argument '../x' "
		    "is not a valid word (service)" },
		{ CMD_ON, "logs ser;ver 5", 0, "command 'logs': argument "
		    "'ser;ver' is not a valid word (service)" },
		{ CMD_ON, "logs $(id) 5", 0, "command 'logs': argument '$(id)' "
		    "is not a valid word (service)" },
		{ CMD_ON, "logs * 5", 0, "command 'logs': argument '*' is not "
		    "a valid word (service)" },
		/* A word that would be read as an option is refused. */
		{ CMD_ON, "logs --all 5", 0, "command 'logs': argument '--all' "
		    "is not a valid word (service)" },
		{ CMD_ON, "logs " W64 " 5", 1,
		    "/opt/product/bin/logs|--service|" W64 "|--last|5" },
		{ CMD_ON, "logs " W64 "5 5", 0, "command 'logs': argument '"
		    W64 "5' is not a valid word (service)" },
		/* Only printable ASCII, and only spaces between words. */
		{ CMD_ON, "status\t", 0,
		    "command line holds a non-printable character" },
		{ CMD_ON, "threads 42\n", 0,
		    "command line holds a non-printable character" },
		{ CMD_ON, "logs s\xc3\xa9rver 5", 0,
		    "command line holds a non-printable character" },
		{ CMD_ON, "logs a b c d e f g h i j k l m n o p q r s t u v w "
		    "x y z 1 2 3 4 5 6", 0,
		    "command line has more than 32 words" },
		{ CMD_ON, "logs a b c d e f g h i j k l m n o p q r s t u v w "
		    "x y z 1 2 3 4 5", 0, "command 'logs' takes 2 argument(s)" },
	};
	struct policy	*p;
	char		 reason[256], joined[1024], *text, **argv;
	size_t		 i, j;
	int		 rc;

	for (i = 0; i < N(t); i++) {
		print_message("command case %zu\n", i);
		assert_true(asprintf(&text, "%s%s", GW, t[i].conf) != -1);
		p = load_ok(text);
		free(text);
		argv = NULL;
		reason[0] = '\0';
		rc = policy_allow_command(p, t[i].cmdline, &argv, reason,
		    sizeof(reason));
		assert_int_equal(rc, t[i].allow);
		if (rc == 1) {
			joined[0] = '\0';
			for (j = 0; argv[j] != NULL; j++) {
				if (j > 0)
					strcat(joined, "|");
				strcat(joined, argv[j]);
			}
			assert_string_equal(joined, t[i].want);
			policy_argv_free(argv);
		} else {
			assert_null(argv);
			assert_string_equal(reason, t[i].want);
		}
		policy_free(p);
	}
}

/* A decision row: the file after GW, a request, allowed or the reason. */
struct grant_case {
	const char	*conf;
	const char	*what;		/* key, host, or sessions open */
	unsigned int	 port;
	int		 allow;
	const char	*reason;	/* when refused */
};

static struct policy *
load_case(const struct grant_case *c, size_t i, const char *kind)
{
	struct policy	*p;
	char		*text;

	print_message("%s case %zu\n", kind, i);
	assert_true(asprintf(&text, "%s%s", GW, c->conf) != -1);
	p = load_ok(text);
	free(text);
	return p;
}

static void
check_case(const struct grant_case *c, int rc, const char *reason)
{
	assert_int_equal(rc, c->allow);
	if (rc == 0)
		assert_string_equal(reason, c->reason);
}

#define FWD_ON	"[forward]\nenabled = yes\n"
#define FWD_TARGETS \
	"targets = 127.0.0.1:8021, localhost:9999, [::1]:443, " \
	"db.internal:5432\n"
/* 255 and 256 characters: the longest host and one more. */
#define H255	W64 W64 W64 "a23456789012345678901234567890123456789" \
		"012345678901234567890123"
#define H256	H255 "x"

static void
test_allow_forward(void **state)
{
	static const struct grant_case t[] = {
		/* Off by default, and off beats any list. */
		{ "", "127.0.0.1", 8021, 0,
		    "port forwarding is disabled on this cluster" },
		{ "[forward]\n" FWD_TARGETS, "127.0.0.1", 8021, 0,
		    "port forwarding is disabled on this cluster" },
		{ "[forward]\nenabled = no\n" FWD_TARGETS, "127.0.0.1", 8021,
		    0, "port forwarding is disabled on this cluster" },
		/* On without targets: nothing is reachable. */
		{ FWD_ON, "127.0.0.1", 8021, 0,
		    "127.0.0.1:8021 is not a forwarding target on this "
		    "cluster" },
		{ FWD_ON FWD_TARGETS, "127.0.0.1", 8021, 1, NULL },
		/* Any name on a listed port is worth resolving... */
		{ FWD_ON FWD_TARGETS, "localhost", 8021, 1, NULL },
		{ FWD_ON FWD_TARGETS, "db.internal", 5432, 1, NULL },
		{ FWD_ON FWD_TARGETS, "other.host", 5432, 1, NULL },
		{ FWD_ON FWD_TARGETS, "::1", 443, 1, NULL },
		/* ...but no other port is, whatever the host. */
		{ FWD_ON FWD_TARGETS, "127.0.0.1", 8022, 0,
		    "127.0.0.1:8022 is not a forwarding target on this "
		    "cluster" },
		{ FWD_ON FWD_TARGETS, "127.0.0.1", 22, 0,
		    "127.0.0.1:22 is not a forwarding target on this "
		    "cluster" },
		{ FWD_ON FWD_TARGETS, "db.internal", 5433, 0,
		    "db.internal:5433 is not a forwarding target on this "
		    "cluster" },
		{ FWD_ON FWD_TARGETS, "::1", 22, 0,
		    "[::1]:22 is not a forwarding target on this cluster" },
		{ FWD_ON FWD_TARGETS, "fe80::1%eth0", 80, 0,
		    "[fe80::1%eth0]:80 is not a forwarding target on this "
		    "cluster" },
		{ FWD_ON FWD_TARGETS, "169.254.169.254", 80, 0,
		    "169.254.169.254:80 is not a forwarding target on this "
		    "cluster" },
		{ FWD_ON FWD_TARGETS, "127.0.0.1", 0, 0,
		    "127.0.0.1:0 is not a forwarding target on this cluster" },
		{ FWD_ON FWD_TARGETS, "127.0.0.1", 65535, 0,
		    "127.0.0.1:65535 is not a forwarding target on this "
		    "cluster" },
		/* What is not a host is refused before any port check. */
		{ FWD_ON FWD_TARGETS, "", 8021, 0,
		    "not a host name or address" },
		{ FWD_ON FWD_TARGETS, "local host", 8021, 0,
		    "not a host name or address" },
		{ FWD_ON FWD_TARGETS, "localhost\n", 8021, 0,
		    "not a host name or address" },
		{ FWD_ON FWD_TARGETS, "local\thost", 8021, 0,
		    "not a host name or address" },
		{ FWD_ON FWD_TARGETS, "h\xc3\xa9llo", 8021, 0,
		    "not a host name or address" },
		{ FWD_ON FWD_TARGETS, "h\x7f", 8021, 0,
		    "not a host name or address" },
		{ FWD_ON FWD_TARGETS, H255, 8021, 1, NULL },
		{ FWD_ON FWD_TARGETS, H256, 8021, 0,
		    "not a host name or address" },
		/* The master switch of remote access is not forward's. */
		{ "[remote_access]\nenabled = no\n" FWD_ON FWD_TARGETS,
		    "127.0.0.1", 8021, 1, NULL },
	};
	struct policy	*p;
	char		 reason[512];
	size_t		 i;

	(void)state;
	for (i = 0; i < N(t); i++) {
		p = load_case(&t[i], i, "forward");
		reason[0] = '\0';
		check_case(&t[i], policy_allow_forward(p, t[i].what,
		    (uint16_t)t[i].port, reason, sizeof(reason)), reason);
		policy_free(p);
	}
}

#define SET_ON \
	"[settings]\nenabled = yes\nfile = /opt/product/config/cluster.ini\n"
#define SET_KEYS	"keys = jvm.heap, ingest.queue_size, a-b_c.D9\n"

static void
test_allow_setting(void **state)
{
	static const struct grant_case t[] = {
		{ "", "jvm.heap", 0, 0,
		    "remote settings are disabled on this cluster" },
		{ "[settings]\nfile = /opt/product/config/cluster.ini\n"
		    SET_KEYS, "jvm.heap", 0, 0,
		    "remote settings are disabled on this cluster" },
		{ "[settings]\nenabled = no\n"
		    "file = /opt/product/config/cluster.ini\n" SET_KEYS,
		    "jvm.heap", 0, 0,
		    "remote settings are disabled on this cluster" },
		{ "[settings]\nenabled = yes\n" SET_KEYS, "jvm.heap", 0, 0,
		    "no settings file is configured on this cluster" },
		{ SET_ON, "jvm.heap", 0, 0,
		    "key 'jvm.heap' is not a listed setting" },
		{ SET_ON SET_KEYS, "jvm.heap", 0, 1, NULL },
		{ SET_ON SET_KEYS, "ingest.queue_size", 0, 1, NULL },
		{ SET_ON SET_KEYS, "a-b_c.D9", 0, 1, NULL },
		/* Exact names: no prefix, suffix, case or glob. */
		{ SET_ON SET_KEYS, "jvm", 0, 0,
		    "key 'jvm' is not a listed setting" },
		{ SET_ON SET_KEYS, "jvm.heap2", 0, 0,
		    "key 'jvm.heap2' is not a listed setting" },
		{ SET_ON SET_KEYS, "JVM.HEAP", 0, 0,
		    "key 'JVM.HEAP' is not a listed setting" },
		{ SET_ON SET_KEYS, "jvm.*", 0, 0, "not a setting name" },
		{ SET_ON SET_KEYS, "secret.token", 0, 0,
		    "key 'secret.token' is not a listed setting" },
		/* Not a name at all: never looked up, never echoed. */
		{ SET_ON SET_KEYS, "", 0, 0, "not a setting name" },
		{ SET_ON SET_KEYS, "jvm.heap ", 0, 0, "not a setting name" },
		{ SET_ON SET_KEYS, "jvm.heap=1", 0, 0, "not a setting name" },
		{ SET_ON SET_KEYS, "../jvm.heap", 0, 0, "not a setting name" },
		{ SET_ON SET_KEYS, "jvm\nheap", 0, 0, "not a setting name" },
		{ SET_ON SET_KEYS, "j\xc3\xa9", 0, 0, "not a setting name" },
		{ SET_ON SET_KEYS, W64 W64, 0, 0,
		    "key '" W64 W64 "' is not a listed setting" },
		{ SET_ON SET_KEYS, W64 W64 "x", 0, 0, "not a setting name" },
	};
	struct policy	*p;
	char		 reason[512];
	size_t		 i;

	(void)state;
	for (i = 0; i < N(t); i++) {
		p = load_case(&t[i], i, "setting");
		reason[0] = '\0';
		check_case(&t[i], policy_allow_setting(p, t[i].what, reason,
		    sizeof(reason)), reason);
		policy_free(p);
	}
}

static void
test_allow_session_slot(void **state)
{
	static const struct grant_case t[] = {
		/* The default is 4. */
		{ "", "0", 0, 1, NULL },
		{ "", "3", 0, 1, NULL },
		{ "", "4", 0, 0, "the customer allows 4 sessions at once and "
		    "they are all in use" },
		{ "", "100", 0, 0, "the customer allows 4 sessions at once "
		    "and they are all in use" },
		{ "[remote_access]\nmax_sessions = 1\n", "0", 0, 1, NULL },
		{ "[remote_access]\nmax_sessions = 1\n", "1", 0, 0,
		    "the customer allows 1 session at once and it is in use" },
		{ "[remote_access]\nmax_sessions = 100\n", "99", 0, 1, NULL },
		{ "[remote_access]\nmax_sessions = 100\n", "100", 0, 0,
		    "the customer allows 100 sessions at once and they are "
		    "all in use" },
	};
	struct policy	*p;
	char		 reason[512];
	size_t		 i;

	(void)state;
	for (i = 0; i < N(t); i++) {
		p = load_case(&t[i], i, "slot");
		reason[0] = '\0';
		check_case(&t[i], policy_allow_session_slot(p,
		    (size_t)strtoul(t[i].what, NULL, 10), reason,
		    sizeof(reason)), reason);
		policy_free(p);
	}
}

/*
 * [actions] is a list of its own: its names are not diagnostics, its
 * switch is its own, and its placeholders are checked the same way.
 */
static void
test_actions(void **state)
{
	struct policy	*p;
	char		 reason[256], **argv = NULL;
	const char	*conf = GW RA_ON
	    "[commands]\nenabled = yes\nstatus = /bin/true\n"
	    "[actions]\nenabled = yes\ntimeout = 2m\noutput_keep = 7d\n"
	    "restart = /usr/bin/systemctl restart product\n"
	    "upgrade = /opt/product/bin/upgrade --to {version:word}\n";

	(void)state;
	p = load_ok(conf);
	assert_int_equal(p->action_approval_required, 1);
	assert_int_equal(p->action_timeout, 120);
	assert_int_equal(p->action_output_keep, 7 * 86400);
	assert_int_equal(policy_allow_action(p, "upgrade 2.4.1", &argv,
	    reason, sizeof(reason)), 1);
	assert_string_equal(argv[0], "/opt/product/bin/upgrade");
	assert_string_equal(argv[2], "2.4.1");
	assert_null(argv[3]);
	policy_argv_free(argv);
	argv = NULL;
	assert_int_equal(policy_allow_action(p, "status", &argv, reason,
	    sizeof(reason)), 0);
	assert_string_equal(reason, "action 'status' is not allowed on this "
	    "cluster");
	assert_int_equal(policy_allow_command(p, "restart", &argv, reason,
	    sizeof(reason)), 0);
	assert_int_equal(policy_allow_action(p, "upgrade --all", &argv,
	    reason, sizeof(reason)), 0);
	assert_string_equal(reason, "action 'upgrade': argument '--all' is "
	    "not a valid word (version)");
	assert_null(argv);
	policy_free(p);

	p = load_ok(GW RA_ON "[actions]\nrestart = /bin/true\n");
	assert_int_equal(p->action_output_keep, 30 * 86400);
	assert_int_equal(policy_allow_action(p, "restart", &argv, reason,
	    sizeof(reason)), 0);
	assert_string_equal(reason, "actions are disabled on this cluster");
	policy_free(p);
	load_err(GW "[actions]\naction = /bin/true\n", "%s:9: 'action' is "
	    "reserved for porthole's own command of that name; call the "
	    "diagnostic something else");
}

static void
test_command_bounds(void **state)
{
	struct policy	*p;
	char		 line[POLICY_MAX_CMDLINE + 2], reason[256], **argv = NULL;

	p = load_ok(GW CMD_ON);

	/* Exactly the limit is read; one more is refused unread. */
	memset(line, ' ', sizeof(line));
	memcpy(line, "status", 6);
	line[POLICY_MAX_CMDLINE] = '\0';
	assert_int_equal(policy_allow_command(p, line, &argv, reason,
	    sizeof(reason)), 1);
	policy_argv_free(argv);
	argv = NULL;
	line[POLICY_MAX_CMDLINE] = ' ';
	line[POLICY_MAX_CMDLINE + 1] = '\0';
	assert_int_equal(policy_allow_command(p, line, &argv, reason,
	    sizeof(reason)), 0);
	assert_string_equal(reason, "command line longer than 1024 "
	    "characters");
	assert_null(argv);

	assert_int_equal(policy_allow_command(p, NULL, &argv, reason,
	    sizeof(reason)), 0);
	assert_string_equal(reason, "no command given");

	/* The argv is the caller's: changing it leaves the policy alone. */
	assert_int_equal(policy_allow_command(p, "threads 7", &argv, reason,
	    sizeof(reason)), 1);
	argv[0][0] = 'X';
	policy_argv_free(argv);
	assert_string_equal(p->commands[1].argv[0],
	    "/opt/product/bin/threaddump");
	policy_free(p);
}

/* Two possibly NULL strings are equal. */
static void
assert_str_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void
assert_list_same(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t i;

	assert_int_equal(na, nb);
	for (i = 0; i < na; i++)
		assert_string_equal(a[i], b[i]);
	if (na > 0) {
		assert_null(a[na]);
		assert_null(b[nb]);
	}
}

/* Every field but path (the file each came from). */
static void
assert_policy_same(const struct policy *a, const struct policy *b)
{
	size_t i, j;

	assert_str_same(a->cluster_id, b->cluster_id);
	assert_int_equal(a->nrelays, b->nrelays);
	for (i = 0; i < a->nrelays; i++) {
		assert_string_equal(a->relays[i].host, b->relays[i].host);
		assert_int_equal(a->relays[i].port, b->relays[i].port);
	}
	assert_int_equal(a->keepalive_interval, b->keepalive_interval);
	assert_int_equal(a->keepalive_count, b->keepalive_count);
	assert_str_same(a->relay_host_key, b->relay_host_key);
	assert_str_same(a->cluster_key, b->cluster_key);
	assert_str_same(a->session_host_key, b->session_host_key);
	assert_str_same(a->support_ca, b->support_ca);
	assert_str_same(a->state_dir, b->state_dir);
	assert_str_same(a->audit_dir, b->audit_dir);
	assert_str_same(a->run_dir, b->run_dir);
	assert_str_same(a->user, b->user);
	assert_str_same(a->admin_group, b->admin_group);
	assert_int_equal(a->seal_every, b->seal_every);
	assert_int_equal(a->seal_interval, b->seal_interval);
	assert_int_equal(a->audit_failure_close, b->audit_failure_close);

	assert_int_equal(a->ra_enabled, b->ra_enabled);
	assert_int_equal(a->approval_required, b->approval_required);
	assert_int_equal(a->engineers_any, b->engineers_any);
	assert_list_same(a->engineers, a->nengineers, b->engineers,
	    b->nengineers);
	assert_int_equal(a->require_ticket, b->require_ticket);
	assert_int_equal(a->expires, b->expires);
	assert_int_equal(a->max_session, b->max_session);
	assert_int_equal(a->idle_timeout, b->idle_timeout);
	assert_int_equal(a->max_sessions, b->max_sessions);
	assert_int_equal(a->end_at_cert_expiry, b->end_at_cert_expiry);

	assert_int_equal(a->files_enabled, b->files_enabled);
	assert_list_same(a->file_paths, a->nfile_paths, b->file_paths,
	    b->nfile_paths);
	assert_list_same(a->file_deny, a->nfile_deny, b->file_deny,
	    b->nfile_deny);

	assert_int_equal(a->commands_enabled, b->commands_enabled);
	assert_int_equal(a->command_timeout, b->command_timeout);
	assert_int_equal(a->ncommands, b->ncommands);
	for (i = 0; i < a->ncommands; i++) {
		assert_string_equal(a->commands[i].name, b->commands[i].name);
		assert_int_equal(a->commands[i].argc, b->commands[i].argc);
		for (j = 0; j <= a->commands[i].argc; j++)
			assert_str_same(a->commands[i].argv[j],
			    b->commands[i].argv[j]);
	}

	assert_int_equal(a->forward_enabled, b->forward_enabled);
	assert_int_equal(a->ntargets, b->ntargets);
	for (i = 0; i < a->ntargets; i++) {
		assert_string_equal(a->targets[i].host, b->targets[i].host);
		assert_int_equal(a->targets[i].port, b->targets[i].port);
	}

	assert_int_equal(a->settings_enabled, b->settings_enabled);
	assert_str_same(a->settings_file, b->settings_file);
	assert_list_same(a->settings_keys, a->nsettings_keys,
	    b->settings_keys, b->nsettings_keys);

	assert_int_equal(a->tel_usage, b->tel_usage);
	assert_int_equal(a->tel_health, b->tel_health);
	assert_int_equal(a->tel_events, b->tel_events);
	assert_int_equal(a->health_interval, b->health_interval);
	assert_list_same(a->disks, a->ndisks, b->disks, b->ndisks);
	assert_int_equal(a->nservices, b->nservices);
	for (i = 0; i < a->nservices; i++) {
		assert_string_equal(a->services[i].name, b->services[i].name);
		assert_string_equal(a->services[i].host, b->services[i].host);
		assert_int_equal(a->services[i].port, b->services[i].port);
	}

	assert_str_same(a->update_window, b->update_window);
	assert_str_same(a->notify_command, b->notify_command);
	assert_str_same(a->update_command, b->update_command);
	assert_int_equal(a->disk_warn, b->disk_warn);
	assert_int_equal(a->outbox_keep, b->outbox_keep);
	assert_int_equal(a->outbox_max, b->outbox_max);
	assert_int_equal(a->action_output_keep, b->action_output_keep);
	assert_str_same(a->alert_notify_command, b->alert_notify_command);

	assert_int_equal(redact_count(a->redact), redact_count(b->redact));
	for (i = 0; i < redact_count(a->redact); i++) {
		assert_string_equal(redact_name(a->redact, i),
		    redact_name(b->redact, i));
		assert_string_equal(redact_regex(a->redact, i),
		    redact_regex(b->redact, i));
	}
	assert_int_equal(a->redact_paths_set, b->redact_paths_set);
	assert_list_same(a->redact_paths, a->nredact_paths, b->redact_paths,
	    b->nredact_paths);
	assert_int_equal(a->bundle_enabled, b->bundle_enabled);
	assert_list_same(a->bundle_paths, a->nbundle_paths, b->bundle_paths,
	    b->nbundle_paths);
	assert_list_same(a->bundle_commands, a->nbundle_commands,
	    b->bundle_commands, b->nbundle_commands);
	assert_int_equal(a->bundle_since, b->bundle_since);
	assert_int_equal(a->bundle_max_size, b->bundle_max_size);
	assert_int_equal(a->bundle_approval_required,
	    b->bundle_approval_required);
	assert_list_same(a->bundle_on_events, a->nbundle_on_events,
	    b->bundle_on_events, b->nbundle_on_events);
}

/* policy_write(p) into tmpdir/name; returns the text (free it). */
static char *
show(const struct policy *p, const char *name, char *path, size_t len)
{
	FILE	*f;
	char	*text;
	long	 n;

	snprintf(path, len, "%s/%s", tmpdir, name);
	assert_non_null(f = fopen(path, "w+"));
	assert_int_equal(policy_write(p, f), 0);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	assert_true((n = ftell(f)) > 0);
	rewind(f);
	assert_non_null(text = calloc(1, (size_t)n + 1));
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	assert_int_equal(fclose(f), 0);
	return text;
}

/*
 * Every "key = value" line follows its "; help" line, and every
 * section comes once, in the order of the file format.
 */
static void
assert_shown_layout(const char *text)
{
	static const char *const sections[] = {
		"[gateway]", "[remote_access]", "[files]", "[commands]",
		"[actions]", "[forward]", "[settings]", "[telemetry]", "[updates]",
		"[alerts]", "[redact]", "[bundle]",
	};
	const char	*line, *prev = NULL, *nl;
	size_t		 sec = 0;
	int		 in_commands = 0;

	for (line = text; *line != '\0'; line = nl + 1) {
		assert_non_null(nl = strchr(line, '\n'));
		if (line[0] == '[') {
			assert_true(sec < N(sections));
			assert_memory_equal(line, sections[sec],
			    strlen(sections[sec]));
			/* Diagnostics and patterns share one help line. */
			in_commands = strcmp(sections[sec], "[commands]") == 0 ||
			    strcmp(sections[sec], "[actions]") == 0 ||
			    strcmp(sections[sec], "[redact]") == 0;
			sec++;
		} else if (line != nl && line[0] != ';') {
			/* A key has its help line; diagnostics share one. */
			assert_non_null(prev);
			assert_true(strncmp(prev, "; ", 2) == 0 ||
			    (in_commands && prev[0] != '\n' && prev[0] != '['));
		}
		prev = line;
	}
	assert_int_equal(sec, N(sections));
}

/*
 * load -> write -> load -> write: the two texts are the same bytes and
 * the two policies agree on every field.  Returns the text (free it).
 */
static char *
round_trip(const char *conf)
{
	struct policy	*p1, *p2 = NULL;
	char		 path1[600], path2[600], err[1024] = "";
	char		*text1, *text2;

	p1 = load_ok(conf);
	text1 = show(p1, "shown1.conf", path1, sizeof(path1));
	if (policy_load(path1, &p2, err, sizeof(err)) == -1)
		fail_msg("policy show output does not load: %s\n%s", err,
		    text1);
	text2 = show(p2, "shown2.conf", path2, sizeof(path2));
	assert_string_equal(text1, text2);
	assert_policy_same(p1, p2);
	assert_shown_layout(text1);
	assert_int_equal(unlink(path1), 0);
	assert_int_equal(unlink(path2), 0);
	free(text2);
	policy_free(p1);
	policy_free(p2);
	return text1;
}

/* text holds this whole line. */
static void
assert_has_line(const char *text, const char *line)
{
	const char	*s;
	size_t		 n = strlen(line);

	for (s = text; (s = strstr(s, line)) != NULL; s++)
		if ((s == text || s[-1] == '\n') && s[n] == '\n')
			return;
	fail_msg("no line '%s' in:\n%s", line, text);
}

static void
test_show_full(void **state)
{
	char *text = round_trip(full_conf);

	/* Values as the file format writes them, inline comments gone. */
	assert_has_line(text,
	    "relay_host_key = /etc/porthole/relay_host_key.pub");
	assert_has_line(text, "seal_interval = 10m");
	assert_has_line(text, "audit_failure = close");
	assert_has_line(text, "approval = none");
	assert_has_line(text, "engineers = alice, bob");
	assert_has_line(text, "require_ticket = no");
	assert_has_line(text, "expires = 2026-12-31T00:00:00Z");
	assert_has_line(text, "max_session = 4h");
	assert_has_line(text, "deny = *.key, *.pem");
	assert_has_line(text, "timeout = 90s");
	assert_has_line(text,
	    "threads = /opt/product/bin/threaddump --pid {pid:int}");
	assert_has_line(text, "targets = 127.0.0.1:8021, [::1]:9998");
	assert_has_line(text, "events = no");
	assert_has_line(text,
	    "services = server=127.0.0.1:8021, activegate=127.0.0.1:9999");
	assert_has_line(text, "window = weekly sun 02:00");
	assert_has_line(text,
	    "notify_command = /usr/local/bin/notify-admins --all");
	assert_has_line(text,
	    "pattern.secret = (password|secret|token) *[=:] *[^ ]+");
	assert_has_line(text, "pattern.aws = AKIA[0-9A-Z]{16}");
	assert_has_line(text,
	    "paths = /opt/product/log/*.log, /var/opt/product/log");
	assert_has_line(text, "commands = status");
	assert_has_line(text, "since = 3d");
	assert_has_line(text, "max_size = 20M");
	assert_has_line(text, "on_events = crash, oom_kill");
	free(text);
}

static void
test_show_minimal(void **state)
{
	char *text = round_trip(GW);

	/* The defaults are shown, every grant off. */
	assert_has_line(text, "state_dir = /var/lib/porthole");
	assert_has_line(text, "seal_every = 100");
	assert_has_line(text, "seal_interval = 5m");
	assert_has_line(text, "approval = required");
	assert_has_line(text, "engineers =");
	assert_has_line(text, "require_ticket = yes");
	assert_has_line(text, "timeout = 1m");
	assert_has_line(text, "paths =");
	assert_has_line(text, "targets =");
	assert_has_line(text, "usage = yes");
	assert_has_line(text, "health_interval = 2m");
	assert_true(strstr(text, "\nenabled = yes") == NULL);
	/* Optional keys without a default can only be shown as comments. */
	assert_has_line(text, "; expires = (not set)");
	assert_has_line(text, "; file = (not set)");
	assert_has_line(text, "; window = (not set)");
	assert_has_line(text, "; notify_command = (not set)");
	assert_has_line(text, "; update_command = (not set)");
	/* [redact] paths not set means every root, unlike an empty list. */
	assert_non_null(strstr(text, "[redact]\n"));
	assert_has_line(text, "; paths = (not set)");
	assert_has_line(text, "since = 7d");
	assert_has_line(text, "max_size = 200M");
	free(text);
}

/* What only reads back if the writer takes care. */
static void
test_show_edge_cases(void **state)
{
	char	*conf, *text, items[1024];
	size_t	 i, n;

	/* engineers = *, a principal starting with ';', blanks and tabs. */
	text = round_trip(GW "[remote_access]\nengineers = *\n"
	    "[files]\ndeny = *.key,;x\n"
	    "[commands]\nx = /bin/echo \t {a:word}   {b:int}\n"
	    "[forward]\ntargets = [fe80::1]:22\n"
	    "[telemetry]\ndisks = /\nservices = s=[::1]:1\n");
	assert_has_line(text, "engineers = *");
	assert_has_line(text, "deny = *.key,;x");
	assert_has_line(text, "x = /bin/echo {a:word} {b:int}");
	assert_has_line(text, "targets = [fe80::1]:22");
	assert_has_line(text, "services = s=[::1]:1");
	free(text);

	/* An empty [redact] paths stays set; a long pattern loses blanks. */
	{
		char pat[1014];

		memset(pat, 'a', sizeof(pat) - 1);
		pat[sizeof(pat) - 1] = '\0';
		assert_non_null(conf = malloc(sizeof(GW) + 64 + sizeof(pat)));
		snprintf(conf, sizeof(GW) + 64 + sizeof(pat),
		    "%s[redact]\npaths =\npattern.x=%s\n", GW, pat);
		text = round_trip(conf);
		assert_non_null(strstr(text, "\npaths =\n; pattern.NAME"));
		assert_non_null(strstr(text, "\npattern.x=aaaa"));
		free(text);
		free(conf);
	}

	/* "= ;a" would be a comment. */
	text = round_trip(GW "[remote_access]\nengineers =;a, b\n");
	assert_has_line(text, "engineers =;a, b");
	free(text);

	/*
	 * A list that fits the line limit only without blanks: 100 items
	 * make "keys=" and 999 characters, and 99 more with ", ".
	 */
	for (i = 0, n = 0; i < 100; i++)
		n += (size_t)snprintf(items + n, sizeof(items) - n,
		    "%sabcdefghi", i == 0 ? "" : ",");
	assert_int_equal(n, 999);
	assert_non_null(conf = malloc(sizeof(GW) + 32 + sizeof(items)));
	snprintf(conf, sizeof(GW) + 32 + sizeof(items),
	    "%s[settings]\nkeys=%s\n", GW, items);
	text = round_trip(conf);
	assert_non_null(strstr(text, "\nkeys=abcdefghi,abcdefghi,"));
	free(text);
	free(conf);
}

static void
test_globs(void **state)
{
	static const struct {
		const char	*glob, *path;
		int		 covers, reaches;
	} t[] = {
		{ "/var/log/product", "/var/log/product", 1, 1 },
		{ "/var/log/product", "/var/log/product/a/b.log", 1, 1 },
		{ "/var/log/product", "/var/log/productx", 0, 0 },
		{ "/var/log/product", "/var/log", 0, 1 },
		{ "/var/log/product", "/", 0, 1 },
		{ "/var/log/*.log", "/var/log/a.log", 1, 1 },
		{ "/var/log/*.log", "/var/log/x/a.log", 0, 0 },
		{ "/var/log/*.log", "/var/log/.hidden.log", 1, 1 },
		{ "/var/log/*/app.log", "/var/log/n1", 0, 1 },
		{ "/var/log/*/app.log", "/var/log/n1/app.log", 1, 1 },
		{ "/var/log/*/app.log", "/var/log/n1/gc.log", 0, 0 },
		{ "/var/log/*/app.log", "/var/log/n1/sub", 0, 0 },
		{ "/var/log/n[0-9]", "/var/log/n7/deep/x", 1, 1 },
		{ "/var/log/n[0-9]", "/var/opt", 0, 0 },
	};
	static const struct {
		const char	*glob, *base;
	} b[] = {
		{ "/var/log/product/*.log", "/var/log/product" },
		{ "/var/log/product", "/var/log/product" },
		{ "/var/*/product", "/var" },
		{ "/*", "/" },
		{ "/var/log/n[0-9]/x", "/var/log" },
		{ "/var/log/a\\*b", "/var/log" },
	};
	char	buf[64];
	size_t	i;

	for (i = 0; i < N(t); i++) {
		print_message("glob %s %s\n", t[i].glob, t[i].path);
		assert_int_equal(policy_glob_covers(t[i].glob, t[i].path),
		    t[i].covers);
		assert_int_equal(policy_glob_reaches(t[i].glob, t[i].path),
		    t[i].reaches);
	}
	for (i = 0; i < N(b); i++) {
		assert_int_equal(policy_glob_base(b[i].glob, buf, sizeof(buf)),
		    0);
		assert_string_equal(buf, b[i].base);
	}
	assert_int_equal(policy_glob_base("/var/log/product", buf, 8), -1);
}

/* Which files are redacted, and what a bundle may reach. */
static void
test_redacts(void **state)
{
	struct policy	*p;
	char		 why[256];

	/* No pattern: nothing is redacted, whatever the paths. */
	p = load_ok(GW "[files]\nenabled = yes\npaths = /opt/p/log, /etc/p\n");
	assert_false(policy_redacts(p, "/opt/p/log/a.log"));
	policy_free(p);

	/* Patterns, paths not set: everything beneath a [files] root. */
	p = load_ok(GW "[files]\npaths = /opt/p/log, /etc/p\ndeny = *.key\n"
	    "[redact]\npattern.s = secret=[^ ]+\n");
	assert_true(policy_redacts(p, "/opt/p/log/a.log"));
	assert_true(policy_redacts(p, "/etc/p/db.conf"));
	assert_false(policy_redacts(p, "/etc/passwd"));
	/* [files] is off, but a bundle reaches the same roots and denies. */
	assert_int_equal(policy_allow_file(p, "/etc/p/db.conf", why,
	    sizeof(why)), 0);
	assert_string_equal(why, "file access is disabled on this cluster");
	assert_int_equal(policy_file_reachable(p, "/etc/p/db.conf", why,
	    sizeof(why)), 1);
	assert_int_equal(policy_file_reachable(p, "/etc/p/tls/x.key", why,
	    sizeof(why)), 0);
	assert_string_equal(why, "x.key matches a denied pattern");
	assert_int_equal(policy_file_reachable(p, "/etc/shadow", why,
	    sizeof(why)), 0);
	assert_string_equal(why, "/etc/shadow is outside the product's file "
	    "paths");
	policy_free(p);

	/* Patterns and paths: only what the globs cover. */
	p = load_ok(GW "[files]\npaths = /opt/p/log, /etc/p\n"
	    "[redact]\npattern.s = secret=[^ ]+\npaths = /etc/p, "
	    "/opt/p/log/*.out\n");
	assert_true(policy_redacts(p, "/etc/p/db.conf"));
	assert_true(policy_redacts(p, "/etc/p/sub/x.conf"));
	assert_true(policy_redacts(p, "/opt/p/log/stdout.out"));
	assert_false(policy_redacts(p, "/opt/p/log/gc.log"));
	policy_free(p);

	/* paths empty: no file is redacted (diagnostics still are). */
	p = load_ok(GW "[files]\npaths = /etc/p\n"
	    "[redact]\npattern.s = secret=[^ ]+\npaths =\n");
	assert_false(policy_redacts(p, "/etc/p/db.conf"));
	assert_int_equal(redact_count(p->redact), 1);
	policy_free(p);
}

/* policy_write reports a stream it cannot write. */
static void
test_show_write_error(void **state)
{
	struct policy	*p = load_ok(GW);
	FILE		*f;

	assert_non_null(f = fopen("/dev/full", "w"));
	assert_int_equal(policy_write(p, f), -1);
	fclose(f);
	policy_free(p);
}

/*
 * Several relays, names and addresses, in the order given; policy show
 * writes them back as one list that loads the same.
 */
static void
test_relays(void **state)
{
	struct policy	*p;
	char		*text;

	(void)state;
	p = load_ok("[gateway]\n"
	    "cluster_id = acme-prod\n"
	    "relay = relay1.example.com:2222, [2001:db8::7]:2222 , "
	    "10.1.2.3:22\n"
	    "relay_host_key = /k1\n"
	    "cluster_key = /k2\n"
	    "session_host_key = /k3\n"
	    "support_ca = /k4\n"
	    "keepalive_interval = 1s\n"
	    "keepalive_count = 10\n");
	assert_int_equal(p->nrelays, 3);
	assert_string_equal(p->relays[0].host, "relay1.example.com");
	assert_int_equal(p->relays[0].port, 2222);
	assert_string_equal(p->relays[1].host, "2001:db8::7");
	assert_int_equal(p->relays[1].port, 2222);
	assert_string_equal(p->relays[2].host, "10.1.2.3");
	assert_int_equal(p->relays[2].port, 22);
	assert_int_equal(p->keepalive_interval, 1);
	assert_int_equal(p->keepalive_count, 10);
	policy_free(p);
	text = round_trip("[gateway]\n"
	    "cluster_id = acme-prod\n"
	    "relay = relay1.example.com:2222, [2001:db8::7]:2222\n"
	    "relay_host_key = /k1\n"
	    "cluster_key = /k2\n"
	    "session_host_key = /k3\n"
	    "support_ca = /k4\n");
	assert_has_line(text,
	    "relay = relay1.example.com:2222, [2001:db8::7]:2222");
	assert_has_line(text, "keepalive_interval = 15s");
	assert_has_line(text, "keepalive_count = 3");
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_syntax_variants),
		cmocka_unit_test(test_allow_session),
		cmocka_unit_test(test_allow_command),
		cmocka_unit_test(test_allow_forward),
		cmocka_unit_test(test_allow_setting),
		cmocka_unit_test(test_allow_session_slot),
		cmocka_unit_test(test_command_bounds),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_show_full),
		cmocka_unit_test(test_relays),
		cmocka_unit_test(test_show_minimal),
		cmocka_unit_test(test_show_edge_cases),
		cmocka_unit_test(test_show_write_error),
		cmocka_unit_test(test_globs),
		cmocka_unit_test(test_redacts),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
