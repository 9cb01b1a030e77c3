/*
 * control_cmd.c - talk to portholed's control socket.
 */
#include "cli/control_cmd.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/view.h"
#include "policy/policy.h"

#define ANSWER_MAX	(1 << 20)

/* Send one request, read the one-line answer. */
json_t *
control_call(const char *conf, json_t *req)
{
	struct policy		*pol = NULL;
	struct sockaddr_un	 sun;
	char			 err[1024], run_dir[PATH_MAX];
	char			*text = NULL, *buf = NULL;
	size_t			 have = 0;
	ssize_t			 n;
	json_t			*ans = NULL;
	int			 fd = -1;

	/*
	 * The running daemon is reached even when the file is broken: it is
	 * what a customer mending a refused reload needs, and the daemon
	 * says what is wrong with the file.
	 */
	err[0] = '\0';
	if (policy_load(conf, &pol, err, sizeof(err)) == 0)
		snprintf(run_dir, sizeof(run_dir), "%s", pol->run_dir);
	else if (policy_run_dir(conf, run_dir, sizeof(run_dir)) == -1) {
		fprintf(stderr, "porthole: %s\n", err);
		goto out;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
	    run_dir, POLICY_CONTROL_SOCKET) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "porthole: %s: path too long\n", run_dir);
		goto out;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (err[0] != '\0')
			fprintf(stderr, "porthole: %s\n", err);
		fprintf(stderr, "porthole: %s: %s (is portholed running?)\n",
		    sun.sun_path, strerror(errno));
		goto out;
	}
	/* A gateway that refuses us hangs up: EPIPE, not SIGPIPE. */
	if ((text = json_dumps(req, JSON_COMPACT)) == NULL ||
	    send(fd, text, strlen(text), MSG_NOSIGNAL) == -1 ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) == -1) {
		fprintf(stderr, "porthole: %s: cannot send: %s%s\n",
		    sun.sun_path, text == NULL ? "out of memory" :
		    strerror(errno), errno == EPIPE || errno == ECONNRESET ?
		    " (only root and members of admin_group may use it)" : "");
		goto out;
	}
	if ((buf = malloc(ANSWER_MAX + 1)) == NULL)
		goto out;
	while (have < ANSWER_MAX &&
	    (n = read(fd, buf + have, ANSWER_MAX - have)) > 0)
		have += (size_t)n;
	buf[have] = '\0';
	if (have == 0)
		fprintf(stderr, "porthole: %s: the gateway hung up without an "
		    "answer (only root and members of admin_group may use "
		    "it)\n", sun.sun_path);
	else if ((ans = json_loads(buf, 0, NULL)) == NULL)
		fprintf(stderr, "porthole: %s: no answer from the gateway\n",
		    sun.sun_path);
out:
	if (fd != -1)
		close(fd);
	free(text);
	free(buf);
	json_decref(req);
	policy_free(pol);
	return ans;
}

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s == NULL ? "" : s;
}

static void
print_status(json_t *a)
{
	int abi = (int)json_integer_value(json_object_get(a, "landlock_abi"));

	printf("cluster        %s\n", jstr(a, "cluster"));
	printf("relay          %s (tunnel %s since %s)\n", jstr(a, "relay"),
	    jstr(a, "tunnel"), jstr(a, "tunnel_since"));
	if (*jstr(a, "tunnel_error") != '\0')
		printf("tunnel error   %s\n", jstr(a, "tunnel_error"));
	printf("remote access  %s\n", jstr(a, "remote_access"));
	printf("sessions       %lld\n", (long long)json_integer_value(
	    json_object_get(a, "sessions")));
	printf("audit log      %s\n", jstr(a, "audit"));
	if (abi > 0)
		printf("sandbox        seccomp, Landlock ABI %d\n", abi);
	else
		printf("sandbox        seccomp only: this kernel has no "
		    "Landlock\n");
	if (json_object_get(a, "uplink") == NULL)
		return;
	printf("uplink         %s%s%s\n", jstr(a, "uplink"),
	    *jstr(a, "uplink_refused") != '\0' ? "; the relay refuses "
	    "records " : "", jstr(a, "uplink_refused"));
	printf("spool          %lld records waiting%s%s, %lld health records "
	    "dropped", (long long)json_integer_value(json_object_get(a,
	    "spool_depth")), *jstr(a, "spool_oldest") != '\0' ?
	    ", oldest from " : "", jstr(a, "spool_oldest"),
	    (long long)json_integer_value(json_object_get(a,
	    "spool_dropped")));
	if (json_integer_value(json_object_get(a, "events_held")) > 0)
		printf(", %lld gateway events held until there is room",
		    (long long)json_integer_value(json_object_get(a,
		    "events_held")));
	printf("\n");
	printf("license        %s%s%s, overages %s\n", jstr(a, "license"),
	    *jstr(a, "license_expires") != '\0' ? ", expires " : "",
	    jstr(a, "license_expires"), json_is_true(json_object_get(a,
	    "overage")) ? "enabled" : "DISABLED");
	printf("last contact   %s (%lld days ago; overages stop after %lld)\n",
	    jstr(a, "last_contact"), (long long)json_integer_value(
	    json_object_get(a, "offline_days")), (long long)
	    json_integer_value(json_object_get(a, "offline_limit_days")));
}

static void
print_sessions(json_t *a)
{
	json_t	*s;
	size_t	 i;

	printf("%-16s %-8s %-12s %-10s %-16s %-22s %-20s %7s %6s %10s %10s  "
	    "%s\n", "ID", "STATE", "ENGINEER", "TICKET", "KEY ID", "FROM",
	    "STARTED", "AGE", "IDLE", "BYTES IN", "BYTES OUT", "RUNNING");
	json_array_foreach(json_object_get(a, "sessions"), i, s) {
		printf("%-16s %-8s %-12s %-10s %-16s %-22s %-20s %6llds %5llds "
		    "%10lld %10lld  %s\n", jstr(s, "id"), jstr(s, "state"),
		    jstr(s, "engineer"), jstr(s, "ticket"), jstr(s, "key_id"),
		    jstr(s, "from"), jstr(s, "started"),
		    (long long)json_integer_value(json_object_get(s, "age_s")),
		    (long long)json_integer_value(json_object_get(s,
		    "idle_s")),
		    (long long)json_integer_value(json_object_get(s,
		    "bytes_in")),
		    (long long)json_integer_value(json_object_get(s,
		    "bytes_out")), jstr(s, "doing"));
	}
}

/* One JSON document per line, for jq. */
static void
print_json(json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT);

	if (text != NULL)
		printf("%s\n", text);
	free(text);
}

int
cli_control(int argc, char **argv, const char *conf)
{
	json_t	*req, *ans;
	int	 rc = 1, as_json = 0;

	if (strcmp(argv[0], "kill") == 0 || strcmp(argv[0], "approve") == 0 ||
	    strcmp(argv[0], "deny") == 0) {
		if (argc != 2) {
			fprintf(stderr, "usage: porthole %s ID\n", argv[0]);
			return 2;
		}
		req = json_pack("{s:s, s:s}", "cmd", argv[0], "id", argv[1]);
	} else if (argc == 1 && (strcmp(argv[0], "status") == 0 ||
	    strcmp(argv[0], "sessions") == 0 ||
	    strcmp(argv[0], "reload") == 0))
		req = json_pack("{s:s}", "cmd", argv[0]);
	else if (argc == 2 && strcmp(argv[0], "sessions") == 0 &&
	    strcmp(argv[1], "--json") == 0) {
		req = json_pack("{s:s}", "cmd", argv[0]);
		as_json = 1;
	} else {
		fprintf(stderr, "usage: porthole status | sessions [--json] | "
		    "approve ID | deny ID | kill ID | reload\n");
		return 2;
	}
	if ((ans = control_call(conf, req)) == NULL)
		return 1;
	/* What the gateway relays was chosen by others: see view.h. */
	if (!as_json && cli_view_escape(ans) == -1) {
		fprintf(stderr, "porthole: %s: out of memory\n", argv[0]);
		json_decref(ans);
		return 1;
	}
	if (!json_is_true(json_object_get(ans, "ok")))
		fprintf(stderr, "porthole: %s: %s\n", argv[0],
		    jstr(ans, "error"));
	else {
		rc = 0;
		if (strcmp(argv[0], "status") == 0)
			print_status(ans);
		else if (as_json)
			print_json(json_object_get(ans, "sessions"));
		else if (strcmp(argv[0], "sessions") == 0)
			print_sessions(ans);
		else if (strcmp(argv[0], "reload") == 0)
			printf("reloaded\n");
		else if (strcmp(argv[0], "kill") == 0)
			printf("session %s ended\n", argv[1]);
		else
			printf("session %s %s\n", argv[1], argv[0][0] == 'a' ?
			    "approved" : "denied");
	}
	json_decref(ans);
	return rc;
}
