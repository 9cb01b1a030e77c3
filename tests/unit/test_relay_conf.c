/*
 * test_relay_conf.c - relay.conf's pre-authentication keys (max_startups,
 * max_per_source, login_grace) and its [alerts] rules: their defaults,
 * the forms and bounds the loader accepts, the FILE:LINE errors it
 * gives, and the chance with which max_startups refuses a connection.
 *
 * Each file is written into a fresh mkdtemp directory and loaded with
 * relay_conf_load(), as porthole-relay does.
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

#include "relay/relay_conf.h"
#include "relay/store_uri.h"

/* The required keys: lines 1-4, so a key added after them is line 5. */
#define RELAY \
	"[relay]\n" \
	"listen = 127.0.0.1:2222\n" \
	"host_key = /etc/porthole-relay/host_key\n" \
	"support_ca = /etc/porthole-relay/support_ca.pub\n"

static char	dir[64];
static char	path[96];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_relay_conf.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/relay.conf", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

/* Load text as relay.conf: 0 with *out, or -1 with err. */
static int
load(const char *text, struct relay_conf **out, char *err, size_t len)
{
	FILE *f;

	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	*out = NULL;
	return relay_conf_load(path, out, err, len);
}

static void
test_defaults(void **state)
{
	struct relay_conf	*c;
	char			 err[512], buf[32];

	(void)state;
	assert_int_equal(load(RELAY, &c, err, sizeof(err)), 0);
	assert_int_equal(c->startups_start, 10);
	assert_int_equal(c->startups_rate, 30);
	assert_int_equal(c->startups_full, 100);
	assert_int_equal(c->per_source, 10);
	assert_int_equal(c->login_grace, 20);
	/* A silent tunnel goes after 45 s, as the gateway's default. */
	assert_int_equal(c->keepalive_interval, 15);
	assert_int_equal(c->keepalive_count, 3);
	assert_int_equal(c->bundle_quota, 2ULL << 30);
	relay_conf_format_startups(c, buf, sizeof(buf));
	assert_string_equal(buf, "10:30:100");
	relay_conf_free(c);
}

static void
test_forms(void **state)
{
	struct relay_conf	*c;
	char			 err[512], buf[32];

	(void)state;
	assert_int_equal(load(RELAY "max_startups = 4:50:12\n"
	    "max_per_source = 3\nlogin_grace = 2m\n"
	    "keepalive_interval = 1s\nkeepalive_count = 10\n"
	    "bundle_quota = 512M\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c->bundle_quota, 512ULL << 20);
	assert_int_equal(c->keepalive_interval, 1);
	assert_int_equal(c->keepalive_count, 10);
	assert_int_equal(c->startups_start, 4);
	assert_int_equal(c->startups_rate, 50);
	assert_int_equal(c->startups_full, 12);
	assert_int_equal(c->per_source, 3);
	assert_int_equal(c->login_grace, 120);
	relay_conf_free(c);

	/* One number is a hard limit, written back the same way. */
	assert_int_equal(load(RELAY "max_startups = 25\n", &c, err,
	    sizeof(err)), 0);
	assert_int_equal(c->startups_start, 25);
	assert_int_equal(c->startups_full, 25);
	relay_conf_format_startups(c, buf, sizeof(buf));
	assert_string_equal(buf, "25");
	relay_conf_free(c);
}

/* Each bad value is refused with FILE:5: and the key's name. */
static void
test_refused(void **state)
{
	static const char *const bad[] = {
		"max_startups = 10:30\n",
		"max_startups = 10:30:100:5\n",
		"max_startups = 0\n",
		"max_startups = 10001\n",
		"max_startups = 10:0:100\n",
		"max_startups = 10:101:100\n",
		"max_startups = 20:30:10\n",
		"max_startups = -1:30:100\n",
		"max_startups = 10 :30:100\n",
		"max_startups = 10:30:1e3\n",
		"max_per_source = 0\n",
		"max_per_source = 10001\n",
		"max_per_source = ten\n",
		"login_grace = 0s\n",
		"login_grace = 11m\n",
		"login_grace = 20 s\n",
		"login_grace = soon\n",
		"keepalive_interval = 0s\n",
		"keepalive_interval = 11m\n",
		"keepalive_interval = 15 s\n",
		"keepalive_count = 0\n",
		"keepalive_count = 11\n",
		"keepalive_count = 3x\n",
		"bundle_quota = 1023K\n",
		"bundle_quota = 2T\n",
		"bundle_quota = 2 G\n",
		"bundle_quota = lots\n",
	};
	struct relay_conf	*c;
	char			 text[256], err[512], want[160], key[32];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", RELAY, bad[i]);
		assert_int_equal(load(text, &c, err, sizeof(err)), -1);
		assert_null(c);
		snprintf(key, sizeof(key), "%.*s", (int)strcspn(bad[i], " "),
		    bad[i]);
		snprintf(want, sizeof(want), "%s:5: %s: ", path, key);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("'%s' gave '%s'", bad[i], err);
	}
}

/* [alerts]: DESIGN.md's values by default, each rule can be off. */
static void
test_alert_rules(void **state)
{
	struct relay_conf	*c;
	char			 err[512];

	(void)state;
	assert_int_equal(load(RELAY, &c, err, sizeof(err)), 0);
	assert_int_equal(c->alerts.disk_used, 85);
	assert_int_equal(c->alerts.memory_available, 10);
	assert_true(c->alerts.load_per_core == 2.0);
	assert_int_equal(c->alerts.hold, 600);
	assert_int_equal(c->alerts.service_down, 3);
	assert_int_equal(c->alerts.offline, 1800);
	assert_int_equal(c->alerts.node_lost, 1);
	relay_conf_free(c);

	assert_int_equal(load(RELAY "\n[alerts]\ndisk_used = 1%\n"
	    "memory_available = off\nload_per_core = 0.5\nfor = 0s\n"
	    "service_down = 2\noffline = 1h\nnode_lost = no\n", &c, err,
	    sizeof(err)), 0);
	assert_int_equal(c->alerts.disk_used, 1);
	assert_int_equal(c->alerts.memory_available, 0);
	assert_true(c->alerts.load_per_core == 0.5);
	assert_int_equal(c->alerts.hold, 0);
	assert_int_equal(c->alerts.service_down, 2);
	assert_int_equal(c->alerts.offline, 3600);
	assert_int_equal(c->alerts.node_lost, 0);
	relay_conf_free(c);
}

/* A rule that does not parse: FILE:LINE, the key, and nothing loaded. */
static void
test_alert_rules_refused(void **state)
{
	static const char *const bad[] = {
		"disk_used = 0%\n",
		"disk_used = 101%\n",
		"disk_used = 85%%\n",
		"disk_used = lots\n",
		"memory_available = -10%\n",
		"load_per_core = 0\n",
		"load_per_core = 1e30\n",
		"load_per_core = 1001\n",
		"load_per_core = nan\n",
		"for = 2d\n",
		"for = -1m\n",
		"service_down = 0\n",
		"service_down = 1001\n",
		"offline = 10s\n",
		"offline = 31d\n",
		"node_lost = maybe\n",
		"colour = red\n",
	};
	struct relay_conf	*c;
	char			 text[256], err[512], want[160], key[32];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s[alerts]\n%s", RELAY, bad[i]);
		assert_int_equal(load(text, &c, err, sizeof(err)), -1);
		assert_null(c);
		snprintf(key, sizeof(key), "%.*s", (int)strcspn(bad[i], " "),
		    bad[i]);
		if (i == sizeof(bad) / sizeof(bad[0]) - 1)
			snprintf(want, sizeof(want), "%s:6: unknown key "
			    "'colour' in [alerts]", path);
		else
			snprintf(want, sizeof(want), "%s:6: %s: ", path, key);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("'%s' gave '%s'", bad[i], err);
	}
}

/* sshd's staircase: rate% at start, rising to 100% at full. */
static void
test_drop_chance(void **state)
{
	struct relay_conf	*c;
	char			 err[512];

	(void)state;
	assert_int_equal(load(RELAY, &c, err, sizeof(err)), 0);
	assert_int_equal(relay_conf_startups_drop(c, 0), 0);
	assert_int_equal(relay_conf_startups_drop(c, 9), 0);
	assert_int_equal(relay_conf_startups_drop(c, 10), 30);
	assert_int_equal(relay_conf_startups_drop(c, 55), 65);
	assert_int_equal(relay_conf_startups_drop(c, 99), 99);
	assert_int_equal(relay_conf_startups_drop(c, 100), 100);
	assert_int_equal(relay_conf_startups_drop(c, 5000), 100);
	relay_conf_free(c);

	assert_int_equal(load(RELAY "max_startups = 5\n", &c, err,
	    sizeof(err)), 0);
	assert_int_equal(relay_conf_startups_drop(c, 4), 0);
	assert_int_equal(relay_conf_startups_drop(c, 5), 100);
	relay_conf_free(c);

	/* A rate of 100 refuses everything from start on. */
	assert_int_equal(load(RELAY "max_startups = 3:100:50\n", &c, err,
	    sizeof(err)), 0);
	assert_int_equal(relay_conf_startups_drop(c, 2), 0);
	assert_int_equal(relay_conf_startups_drop(c, 3), 100);
	relay_conf_free(c);
}

/*
 * database: an SQLite path or a PostgreSQL URI; a URI with a password
 * is refused wherever the password hides, and a log line shows a URI
 * without one.
 */
static void
test_database(void **state)
{
	static const struct {
		const char	*uri;
		const char	*shown;
	} shown[] = {
		{ "postgresql:///porthole?host=/run/postgresql",
		  "postgresql:///porthole?host=/run/postgresql" },
		{ "postgresql://relay:s3cret@db:5432/porthole?sslmode=require",
		  "postgresql://relay@db:5432/porthole?sslmode=require" },
		{ "postgres://db/porthole?password=s3cret&connect_timeout=5",
		  "postgres://db/porthole?connect_timeout=5" },
		{ "postgres://db/porthole?pass%77ord=s3cret",
		  "postgres://db/porthole" },
	};
	static const char *const refused[] = {
		"postgresql://relay:s3cret@db/porthole",
		"postgresql://db/porthole?password=s3cret",
		"postgresql://db/porthole?pass%77ord=s3cret",
	};
	struct relay_conf	*c;
	char			 err[512], out[256], text[512];
	size_t			 i;

	(void)state;
	assert_int_equal(load(RELAY "database = postgresql:///porthole?"
	    "host=/run/postgresql\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c->database,
	    "postgresql:///porthole?host=/run/postgresql");
	relay_conf_free(c);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(text, sizeof(text), RELAY "database = %s\n",
		    refused[i]);
		assert_int_equal(load(text, &c, err, sizeof(err)), -1);
		assert_non_null(strstr(err, ":5: database: a password in "
		    "relay.conf is refused: use peer authentication or a "
		    "passfile"));
		/* The error names no password. */
		assert_null(strstr(err, "s3cret"));
	}
	assert_int_equal(load(RELAY "database = postgresql://db/x?bogus=1\n",
	    &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":5: database: not a PostgreSQL URI: "
	    "invalid URI query parameter: \"bogus\""));
	assert_int_equal(load(RELAY "database = relay.db\n", &c, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, ":5: database: must be an absolute path"));
	for (i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
		store_uri_display(shown[i].uri, out, sizeof(out));
		assert_string_equal(out, shown[i].shown);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_chance, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_alert_rules, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_alert_rules_refused,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
