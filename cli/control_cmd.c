/*
 * control_cmd.c - talk to portholed's control socket.
 */
#include "cli/control_cmd.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/view.h"
#include "lib/control_proto.h"
#include "lib/escape.h"
#include "policy/policy.h"

#define ANSWER_MAX	(1 << 20)

const char cli_control_usage[] =
    "porthole status [--json]\n"
    "porthole sessions [--json]\n"
    "porthole approve ID | deny ID | kill ID\n"
    "porthole reload\n";

/*
 * Who the gateway lets use its control socket, for a refused user: root
 * and the members of admin_group.  The group comes from porthole.conf,
 * or, when that cannot be parsed, from the socket file, which the
 * gateway gives to admin_group.
 */
static void
who_may(const struct policy *pol, const char *sock, char *buf, size_t len)
{
	struct stat	 sb;
	struct group	*gr;
	const char	*name = pol != NULL ? pol->admin_group : NULL;

	if (name == NULL && stat(sock, &sb) == 0 && sb.st_gid != 0 &&
	    (gr = getgrgid(sb.st_gid)) != NULL) {
		snprintf(buf, len, "only root and members of group %s (the "
		    "socket's group) may use it", gr->gr_name);
		return;
	}
	if (name == NULL)
		snprintf(buf, len, "only root and members of admin_group may "
		    "use it");
	else if (getgrnam(name) == NULL)
		snprintf(buf, len, "only root may use it: admin_group %s does "
		    "not exist", name);
	else
		snprintf(buf, len, "only root and members of admin_group %s "
		    "may use it", name);
}

int
cli_conf_readable(const char *conf)
{
	struct stat	sb;
	int		fd, rc = -1;

	if ((fd = open(conf, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1 ||
	    fstat(fd, &sb) == -1)
		fprintf(stderr, "porthole: %s: %s\n", conf, strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		fprintf(stderr, "porthole: %s: not a regular file\n", conf);
	else
		rc = 0;
	if (fd != -1)
		close(fd);
	return rc;
}

/*
 * Where the gateway of conf listens.  The running daemon is reached even
 * when the file is broken: it is what a customer mending a refused
 * reload needs, and the daemon says what is wrong with the file.  A file
 * that is not there, or that we may not read, is another gateway's
 * question, not a reason to ask the default one: refused.  err gets
 * what is wrong with a file that does not parse ("" if nothing).
 */
static int
control_path(const char *conf, struct policy **pol, struct sockaddr_un *sun,
    char *err, size_t errlen)
{
	char	run_dir[PATH_MAX];

	*pol = NULL;
	err[0] = '\0';
	if (cli_conf_readable(conf) == -1)
		return -1;
	if (policy_load(conf, pol, err, errlen) == 0)
		snprintf(run_dir, sizeof(run_dir), "%s", (*pol)->run_dir);
	else if (policy_run_dir(conf, run_dir, sizeof(run_dir)) == -1) {
		fprintf(stderr, "porthole: %s\n", err);
		return -1;
	}
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if ((size_t)snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%s",
	    run_dir, POLICY_CONTROL_SOCKET) >= sizeof(sun->sun_path)) {
		fprintf(stderr, "porthole: %s: path too long\n", run_dir);
		return -1;
	}
	return 0;
}

/* Send one request, read the one-line answer. */
json_t *
control_call(const char *conf, enum control_cmd kind, json_t *req)
{
	struct policy		*pol = NULL;
	struct sockaddr_un	 sun;
	char			 who[256], err[1024];
	char			*text = NULL, *buf = NULL;
	size_t			 have = 0;
	ssize_t			 n;
	json_t			*ans = NULL;
	int			 fd = -1, e;

	if (control_path(conf, &pol, &sun, err, sizeof(err)) == -1)
		goto out;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		e = errno;
		if (err[0] != '\0')
			fprintf(stderr, "porthole: %s\n", err);
		if (e == EACCES) {
			who_may(pol, sun.sun_path, who, sizeof(who));
			fprintf(stderr, "porthole: %s: %s: %s\n", sun.sun_path,
			    strerror(e), who);
		} else
			fprintf(stderr, "porthole: %s: %s (is portholed "
			    "running?)\n", sun.sun_path, strerror(e));
		goto out;
	}
	/* A gateway that refuses us hangs up: EPIPE, not SIGPIPE. */
	if (req == NULL || json_object_set_new(req, "cmd",
	    json_string(control_cmds[kind].name)) == -1 ||
	    (text = json_dumps(req, JSON_COMPACT)) == NULL ||
	    send(fd, text, strlen(text), MSG_NOSIGNAL) == -1 ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) == -1) {
		e = errno;
		who_may(pol, sun.sun_path, who, sizeof(who));
		fprintf(stderr, "porthole: %s: cannot send: %s%s%s%s\n",
		    sun.sun_path, text == NULL ? "out of memory" :
		    strerror(e), e == EPIPE || e == ECONNRESET ? " (" : "",
		    e == EPIPE || e == ECONNRESET ? who : "",
		    e == EPIPE || e == ECONNRESET ? ")" : "");
		goto out;
	}
	if ((buf = malloc(ANSWER_MAX + 1)) == NULL)
		goto out;
	while (have < ANSWER_MAX &&
	    (n = read(fd, buf + have, ANSWER_MAX - have)) > 0)
		have += (size_t)n;
	buf[have] = '\0';
	if (have == 0) {
		who_may(pol, sun.sun_path, who, sizeof(who));
		fprintf(stderr, "porthole: %s: the gateway hung up without an "
		    "answer (%s)\n", sun.sun_path, who);
	} else if ((ans = json_loads(buf, 0, NULL)) == NULL)
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

/* Messages from the vendor the gateway holds, and one that waits. */
static void
print_inbox(json_t *ib)
{
	if (!json_is_object(ib))
		return;
	printf("inbox          %lld messages from the vendor (%lld bytes)",
	    (long long)json_integer_value(json_object_get(ib, "messages")),
	    (long long)json_integer_value(json_object_get(ib, "bytes")));
	if (*jstr(ib, "waiting") != '\0')
		printf("; NOT ACCEPTING: %s", jstr(ib, "waiting"));
	printf("\n");
}

/* The next update the gateway will install, if one is scheduled. */
static void
print_next_update(json_t *u)
{
	if (!json_is_object(u))
		return;
	printf("next update    %s %s %s (porthole updates)\n", jstr(u,
	    "version"), strcmp(jstr(u, "state"), "started") == 0 ?
	    "installing since" : "at", jstr(u, "when"));
}

/*
 * The vendor's open alerts: how many, and each one's severity, id and
 * text, labelled as the vendor's (the answer is escaped already).
 */
static void
print_alerts(json_t *al)
{
	json_t	*a;
	size_t	 i;

	if (!json_is_object(al))
		return;
	printf("alerts         %lld open from the vendor (%lld critical)%s\n",
	    (long long)json_integer_value(json_object_get(al, "open")),
	    (long long)json_integer_value(json_object_get(al, "critical")),
	    json_integer_value(json_object_get(al, "open")) > 0 ?
	    "; porthole alerts" : "");
	json_array_foreach(json_object_get(al, "alerts"), i, a)
		printf("               %s %lld since %s: vendor says: %s\n",
		    jstr(a, "severity"), (long long)json_integer_value(
		    json_object_get(a, "id")), jstr(a, "raised"),
		    jstr(a, "text"));
}

static void
print_status(json_t *a)
{
	int	 abi = (int)json_integer_value(json_object_get(a,
		    "landlock_abi"));
	json_t	*r;
	size_t	 i;

	printf("cluster        %s\n", jstr(a, "cluster"));
	/* One line per relay; the one telemetry goes to says so. */
	json_array_foreach(json_object_get(a, "relays"), i, r) {
		printf("relay          %s (tunnel %s since %s)%s\n",
		    jstr(r, "relay"), jstr(r, "tunnel"), jstr(r, "since"),
		    strcmp(jstr(r, "tunnel"), "up") == 0 &&
		    strcmp(jstr(r, "relay"), jstr(a, "uplink_relay")) == 0 ?
		    ", telemetry" : "");
		if (*jstr(r, "error") != '\0')
			printf("tunnel error   %s\n", jstr(r, "error"));
	}
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
	print_inbox(json_object_get(a, "inbox"));
	print_next_update(json_object_get(a, "next_update"));
	print_alerts(json_object_get(a, "alerts"));
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

/*
 * The tunnel to each configured relay, as "relays": [{"relay",
 * "tunnel", "since", "error"}].  A gateway from before that list
 * answers with its one relay's flat keys: the list is made from them.
 */
static json_t *
status_relays(json_t *a)
{
	json_t *relays = json_object_get(a, "relays");

	if (json_is_array(relays))
		return relays;
	relays = json_pack("[{s:s, s:s, s:s, s:s}]", "relay", jstr(a, "relay"),
	    "tunnel", jstr(a, "tunnel"), "since", jstr(a, "tunnel_since"),
	    "error", jstr(a, "tunnel_error"));
	if (relays == NULL || json_object_set_new(a, "relays", relays) == -1)
		return NULL;
	return relays;
}

/*
 * The gateway's refusal: its first line after the command, then one
 * line per problem it found (a refused reload lists them), each
 * escaped, since a path in them was chosen by whoever named it.
 */
static void
print_error(const char *cmd, const char *error)
{
	const char	*p = error, *nl;
	char		*line;
	size_t		 n;

	fprintf(stderr, "porthole: %s: ", cmd);
	for (;;) {
		nl = strchr(p, '\n');
		n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if ((line = strndup(p, n)) != NULL) {
			(void)escape_fputs(line, stderr);
			free(line);
		}
		fputc('\n', stderr);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

/*
 * porthole status's exit status: 0 when the tunnel to every configured
 * relay is up, 4 when some are down, 3 when none is up.
 */
static int
status_exit(json_t *relays)
{
	json_t	*r;
	size_t	 i, up = 0;

	json_array_foreach(relays, i, r)
		if (strcmp(jstr(r, "tunnel"), "up") == 0)
			up++;
	if (up == 0)
		return 3;
	return up == json_array_size(relays) ? 0 : 4;
}

static int
cmd_status(json_t *ans, int as_json)
{
	json_t *relays;

	if ((relays = status_relays(ans)) == NULL) {
		fprintf(stderr, "porthole: status: out of memory\n");
		return 1;
	}
	if (as_json) {
		json_object_del(ans, "ok");
		print_json(ans);
	} else
		print_status(ans);
	return status_exit(relays);
}

static int
control_usage(void)
{
	fprintf(stderr, "usage: %s", cli_control_usage);
	return 2;
}

int
cli_control(int argc, char **argv, const char *conf)
{
	json_t	*req, *ans;
	int	 rc = 1, as_json = 0, kind;

	/* Each command is the request of that name (control_proto.h). */
	if ((kind = control_cmd_lookup(argv[0])) == -1 ||
	    (control_cmds[kind].args & CONTROL_ARG_ACTION))
		return control_usage();
	if (control_cmds[kind].args & CONTROL_ARG_ID) {
		if (argc != 2 || argv[1][0] == '-')
			return control_usage();
	} else if (argc == 2 && strcmp(argv[1], "--json") == 0 &&
	    (kind == CONTROL_STATUS || kind == CONTROL_SESSIONS))
		as_json = 1;
	else if (argc != 1)
		return control_usage();
	if (control_cmds[kind].args & CONTROL_ARG_ID)
		req = json_pack("{s:s}", "id", argv[1]);
	else
		req = json_object();
	if ((ans = control_call(conf, kind, req)) == NULL)
		return 1;
	if (!json_is_true(json_object_get(ans, "ok")))
		print_error(argv[0], jstr(ans, "error"));
	/* What the gateway relays was chosen by others: see view.h. */
	else if (!as_json && cli_view_escape(ans) == -1)
		fprintf(stderr, "porthole: %s: out of memory\n", argv[0]);
	else if (kind == CONTROL_STATUS)
		rc = cmd_status(ans, as_json);
	else {
		rc = 0;
		if (as_json)
			print_json(json_object_get(ans, "sessions"));
		else if (kind == CONTROL_SESSIONS)
			print_sessions(ans);
		else if (kind == CONTROL_RELOAD)
			printf("reloaded\n");
		else if (kind == CONTROL_KILL)
			printf("session %s ended\n", argv[1]);
		else
			printf("session %s %s\n", argv[1], kind ==
			    CONTROL_APPROVE ? "approved" : "denied");
	}
	json_decref(ans);
	if (rc == 0 && fflush(stdout) == EOF) {
		fprintf(stderr, "porthole: standard output: %s\n",
		    strerror(errno));
		rc = 1;
	}
	return rc;
}
