/*
 * policy.c - porthole.conf into an immutable policy.
 *
 * Every key lives in one table with its section, type and bounds.  The
 * policy starts with every grant off and the documented defaults; each
 * key read from the file replaces a default.  Nothing is returned unless
 * the whole file was valid.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/ident.h"
#include "lib/inifile.h"
#include "lib/keepalive.h"
#include "lib/parse.h"
#include "lib/redact.h"
#include "lib/window.h"
#include "policy/policy.h"
#include "policy/policy_int.h"

static int set_cluster_id(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
static int set_relay(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
static int set_unix_name(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
static int set_audit_failure(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
static int set_approval(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
static int set_engineers(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
static int set_expires(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
static int set_file_paths(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
static int set_file_deny(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
static int set_targets(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
static int set_settings_keys(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
static int set_disks(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
static int set_services(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
static int set_window(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
static int set_hook(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
static int set_percent(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
static int set_redact_paths(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
static int set_bundle_paths(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
static int set_bundle_commands(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
static int set_on_events(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
static int set_size_bounded(struct policy *, const struct keyspec *,
    const char *, char *, size_t);

static int get_string(const struct policy *, const struct keyspec *,
    struct line *);
static int get_relay(const struct policy *, const struct keyspec *,
    struct line *);
static int get_audit_failure(const struct policy *, const struct keyspec *,
    struct line *);
static int get_approval(const struct policy *, const struct keyspec *,
    struct line *);
static int get_engineers(const struct policy *, const struct keyspec *,
    struct line *);
static int get_expires(const struct policy *, const struct keyspec *,
    struct line *);
static int get_list(const struct policy *, const struct keyspec *,
    struct line *);
static int get_targets(const struct policy *, const struct keyspec *,
    struct line *);
static int get_services(const struct policy *, const struct keyspec *,
    struct line *);
static int get_percent(const struct policy *, const struct keyspec *,
    struct line *);
static int get_redact_paths(const struct policy *, const struct keyspec *,
    struct line *);
static int get_size(const struct policy *, const struct keyspec *,
    struct line *);

#define F(field)	offsetof(struct policy, field)
#define MIN		60ULL
#define HOUR		3600ULL
#define DAY		86400ULL

static const struct keyspec keys[] = {
	{ .section = "gateway", .key = "cluster_id", .type = V_FUNC,
	    .off = F(cluster_id), .set = set_cluster_id, .get = get_string,
	    .when = INIFILE_START,
	    .help = "this cluster's name at the relay (required)" },
	{ .section = "gateway", .key = "relay", .type = V_FUNC,
	    .set = set_relay, .get = get_relay, .when = INIFILE_START,
	    .help = "the vendor's relays, HOST:PORT or [ADDR]:PORT, "
	    "comma-separated: one tunnel to each, all with relay_host_key "
	    "(required)" },
	{ .section = "gateway", .key = "relay_host_key", .type = V_PATH,
	    .off = F(relay_host_key),
	    .help = "the relay's public host key, pinned (required)" },
	{ .section = "gateway", .key = "cluster_key", .type = V_PATH,
	    .off = F(cluster_key),
	    .help = "ed25519 private key the gateway logs in to the relay "
	    "with (required)" },
	{ .section = "gateway", .key = "session_host_key", .type = V_PATH,
	    .off = F(session_host_key), .when = INIFILE_START,
	    .help = "host key shown to engineers (required)" },
	{ .section = "gateway", .key = "support_ca", .type = V_PATH,
	    .off = F(support_ca),
	    .help = "the vendor CA that signs engineer certificates "
	    "(required)" },
	{ .section = "gateway", .key = "revoked_keys", .type = V_PATH,
	    .off = F(revoked_keys),
	    .help = "engineer certificates, keys and CA keys refused: an "
	    "OpenSSH KRL (ssh-keygen -k) or public keys one per line, read "
	    "at start and at each reload (a file that cannot be read refuses "
	    "either)" },
	{ .section = "gateway", .key = "state_dir", .type = V_PATH,
	    .off = F(state_dir), .when = INIFILE_START,
	    .help = "spool and gateway state", .def = "/var/lib/porthole" },
	{ .section = "gateway", .key = "audit_dir", .type = V_PATH,
	    .off = F(audit_dir), .when = INIFILE_START,
	    .help = "audit log and session recordings",
	    .def = "/var/log/porthole" },
	{ .section = "gateway", .key = "run_dir", .type = V_PATH,
	    .off = F(run_dir), .when = INIFILE_START,
	    .help = "control and intake sockets", .def = "/run/porthole" },
	{ .section = "gateway", .key = "user", .type = V_FUNC, .off = F(user),
	    .set = set_unix_name, .get = get_string, .when = INIFILE_SESSION,
	    .help = "unprivileged user for sessions and diagnostics (when "
	    "started as root)", .def = "porthole" },
	{ .section = "gateway", .key = "admin_group", .type = V_FUNC,
	    .off = F(admin_group), .set = set_unix_name, .get = get_string,
	    .help = "group that may use the control socket (besides root)",
	    .def = "porthole-admin" },
	{ .section = "gateway", .key = "seal_every", .type = V_UINT,
	    .off = F(seal_every), .min = 1, .max = 1000000,
	    .help = "audit: most events between two seals", .def = "100" },
	{ .section = "gateway", .key = "seal_interval", .type = V_DURATION,
	    .off = F(seal_interval), .min = 1, .max = DAY,
	    .help = "audit: longest time between two seals", .def = "5m" },
	{ .section = "gateway", .key = "audit_rotate", .type = V_SIZE,
	    .off = F(audit_rotate), .min = 16 * 1024, .max = SIZE_MAX_BYTES,
	    .help = "audit: after a seal, start a new log file once the "
	    "current one holds this much (0: never)", .def = "64M" },
	{ .section = "gateway", .key = "audit_failure", .type = V_FUNC,
	    .set = set_audit_failure, .get = get_audit_failure,
	    .help = "close: refuse and end sessions when the audit log "
	    "cannot be written", .def = "close" },
	{ .section = "gateway", .key = "keepalive_interval",
	    .type = V_DURATION, .off = F(keepalive_interval),
	    .min = KEEPALIVE_INTERVAL_MIN, .max = KEEPALIVE_INTERVAL_MAX,
	    .help = "a tunnel the relay has sent nothing on for this long is "
	    "asked for a reply", .def = KEEPALIVE_INTERVAL_DEFAULT },
	{ .section = "gateway", .key = "keepalive_count", .type = V_UINT,
	    .off = F(keepalive_count), .min = KEEPALIVE_COUNT_MIN,
	    .max = KEEPALIVE_COUNT_MAX,
	    .help = "a tunnel silent for keepalive_interval times this is "
	    "dropped and connected again", .def = KEEPALIVE_COUNT_DEFAULT },


	{ .section = "remote_access", .key = "enabled", .type = V_BOOL,
	    .off = F(ra_enabled),
	    .help = "master switch for engineer sessions", .def = "no" },
	{ .section = "remote_access", .key = "approval", .type = V_FUNC,
	    .off = F(approval_required), .set = set_approval,
	    .get = get_approval, .when = INIFILE_SESSION,
	    .help = "required: each session waits for `porthole approve ID`; "
	    "or none", .def = "required" },
	{ .section = "remote_access", .key = "approval_timeout",
	    .type = V_DURATION, .off = F(approval_timeout), .min = 10,
	    .max = DAY, .when = INIFILE_SESSION,
	    .help = "a pending session, or action, nobody approves is "
	    "refused after this",
	    .def = "10m" },
	{ .section = "remote_access", .key = "engineers", .type = V_FUNC,
	    .off = F(engineers), .set = set_engineers, .get = get_engineers,
	    .help = "certificate principals allowed in, or *; empty: nobody" },
	{ .section = "remote_access", .key = "require_ticket", .type = V_BOOL,
	    .off = F(require_ticket),
	    .help = "certificates must carry the extension ticket@porthole",
	    .def = "yes" },
	{ .section = "remote_access", .key = "expires", .type = V_FUNC,
	    .set = set_expires, .get = get_expires,
	    .help = "the grant ends at this time, YYYY-MM-DDTHH:MM:SSZ" },
	{ .section = "remote_access", .key = "max_session", .type = V_DURATION,
	    .off = F(max_session), .min = 10, .max = 7 * DAY,
	    .help = "longest session", .def = "2h" },
	{ .section = "remote_access", .key = "idle_timeout",
	    .type = V_DURATION, .off = F(idle_timeout), .min = 10, .max = DAY,
	    .help = "a silent session ends after this", .def = "15m" },
	{ .section = "remote_access", .key = "max_sessions", .type = V_UINT,
	    .off = F(max_sessions), .min = 1, .max = 100,
	    .when = INIFILE_SESSION,
	    .help = "sessions at the same time", .def = "4" },
	{ .section = "remote_access", .key = "end_at_cert_expiry",
	    .type = V_BOOL, .off = F(end_at_cert_expiry),
	    .help = "a session ends when the engineer's certificate expires",
	    .def = "yes" },
	{ .section = "remote_access", .key = "notify_command", .type = V_FUNC,
	    .off = F(ra_notify_command), .set = set_hook, .get = get_string,
	    .when = INIFILE_SESSION,
	    .help = "absolute command run, never waited for, when a session "
	    "waits for approval: PORTHOLE_SESSION_ID, _ENGINEER, _KEY_ID, "
	    "_TICKET and _FROM in its environment, control characters as "
	    "\\xNN; a failure is audited (notify_failed)" },
	{ .section = "remote_access", .key = "notify_timeout",
	    .type = V_DURATION, .off = F(ra_notify_timeout), .min = 1,
	    .max = 10 * MIN, .when = INIFILE_SESSION,
	    .help = "how long notify_command may run: then its process group "
	    "gets SIGTERM, and SIGKILL 10s later", .def = "30s" },
	{ .section = "remote_access", .key = "require_watch", .type = V_BOOL,
	    .off = F(ra_require_watch),
	    .help = "a support shell shows nothing and takes no keys until "
	    "someone at the customer runs `porthole watch ID`", .def = "no" },

	{ .section = "files", .key = "enabled", .type = V_BOOL,
	    .off = F(files_enabled),
	    .help = "read-only file access via sftp/scp and the support shell",
	    .def = "no" },
	{ .section = "files", .key = "paths", .type = V_FUNC,
	    .off = F(file_paths), .set = set_file_paths, .get = get_list,
	    .help = "directories engineers may read" },
	{ .section = "files", .key = "deny", .type = V_FUNC,
	    .off = F(file_deny), .set = set_file_deny, .get = get_list,
	    .help = "file name patterns never shown" },

	{ .section = "commands", .key = "enabled", .type = V_BOOL,
	    .off = F(commands_enabled),
	    .help = "engineers may run the diagnostics listed below",
	    .def = "no" },
	{ .section = "commands", .key = "timeout", .type = V_DURATION,
	    .off = F(command_timeout), .min = 1, .max = HOUR,
	    .help = "a diagnostic running longer is killed", .def = "60s" },

	{ .section = "actions", .key = "enabled", .type = V_BOOL,
	    .off = F(actions_enabled),
	    .help = "engineers may ask to run the actions listed below "
	    "(changes: a restart, an upgrade step)", .def = "no" },
	{ .section = "actions", .key = "approval", .type = V_FUNC,
	    .off = F(action_approval_required), .set = set_approval,
	    .get = get_approval,
	    .help = "required: each run waits for `porthole action approve "
	    "ID`; or none", .def = "required" },
	{ .section = "actions", .key = "timeout", .type = V_DURATION,
	    .off = F(action_timeout), .min = 1, .max = DAY,
	    .help = "an action running longer is stopped (SIGTERM, then "
	    "SIGKILL)", .def = "10m" },
	{ .section = "actions", .key = "output_keep", .type = V_DURATION,
	    .off = F(action_output_keep), .min = HOUR, .max = 3650 * DAY,
	    .help = "an action's output is kept this long in "
	    "state_dir/actions after it was last written (its SHA-256 stays "
	    "in the audit log)", .def = "30d" },

	{ .section = "forward", .key = "enabled", .type = V_BOOL,
	    .off = F(forward_enabled),
	    .help = "port forwarding to the targets below", .def = "no" },
	{ .section = "forward", .key = "targets", .type = V_FUNC,
	    .set = set_targets, .get = get_targets,
	    .help = "HOST:PORT of product services engineers may reach" },

	{ .section = "settings", .key = "enabled", .type = V_BOOL,
	    .off = F(settings_enabled),
	    .help = "remote optimisation of the settings listed below",
	    .def = "no" },
	{ .section = "settings", .key = "file", .type = V_PATH,
	    .off = F(settings_file),
	    .help = "the product's settings file" },
	{ .section = "settings", .key = "keys", .type = V_FUNC,
	    .off = F(settings_keys), .set = set_settings_keys, .get = get_list,
	    .help = "settings engineers may change" },

	{ .section = "telemetry", .key = "usage", .type = V_BOOL,
	    .off = F(tel_usage),
	    .help = "hourly license consumption (billing)", .def = "yes" },
	{ .section = "telemetry", .key = "health", .type = V_BOOL,
	    .off = F(tel_health),
	    .help = "nodes, services, disk partitions, hardware",
	    .def = "yes" },
	{ .section = "telemetry", .key = "events", .type = V_BOOL,
	    .off = F(tel_events),
	    .help = "start/shutdown, nodes added/removed, ActiveGate "
	    "registrations", .def = "yes" },
	{ .section = "telemetry", .key = "health_interval", .type = V_DURATION,
	    .off = F(health_interval), .min = 10, .max = DAY,
	    .help = "how often health is sent", .def = "2m" },
	{ .section = "telemetry", .key = "disks", .type = V_FUNC,
	    .off = F(disks), .set = set_disks, .get = get_list,
	    .help = "partitions whose usage health reports" },
	{ .section = "telemetry", .key = "services", .type = V_FUNC,
	    .set = set_services, .get = get_services,
	    .help = "NAME=HOST:PORT of services health checks" },
	{ .section = "telemetry", .key = "disk_warn", .type = V_FUNC,
	    .off = F(disk_warn), .min = 1, .max = 100, .set = set_percent,
	    .get = get_percent,
	    .help = "a disk of disks this full (as df counts) raises a "
	    "disk_warn event; off: never", .def = "90%" },
	{ .section = "telemetry", .key = "outbox_keep", .type = V_DURATION,
	    .off = F(outbox_keep), .min = HOUR, .max = 3650 * DAY,
	    .help = "a copy of each record sent is kept this long in "
	    "state_dir/outbox (porthole telemetry)", .def = "30d" },
	{ .section = "telemetry", .key = "outbox_max", .type = V_SIZE,
	    .off = F(outbox_max), .min = 1024 * 1024,
	    .max = 16ULL * 1024 * 1024 * 1024,
	    .help = "and at most this much of them, the oldest dropped first "
	    "(0: keep no copy)", .def = "64M" },

	{ .section = "updates", .key = "vendor_key", .type = V_PATH,
	    .off = F(vendor_key),
	    .help = "the vendor's ssh-ed25519 public key, pinned: an update "
	    "notice must be signed by it (ssh-keygen -Y sign -n "
	    "porthole-update); without it every notice is refused" },
	{ .section = "updates", .key = "version_command", .type = V_FUNC,
	    .off = F(version_command), .set = set_hook, .get = get_string,
	    .help = "absolute command printing the product's installed "
	    "version (dotted decimal); needed with vendor_key: it is run "
	    "before a notice is accepted and before an update runs, and the "
	    "higher of what it prints and porthole's last install is what is "
	    "installed" },
	{ .section = "updates", .key = "window", .type = V_FUNC,
	    .off = F(update_window), .set = set_window, .get = get_string,
	    .help = "install updates in the hour starting then (cluster "
	    "local time): weekly DAY HH:MM or daily HH:MM; none: at any time" },
	{ .section = "updates", .key = "notify_command", .type = V_FUNC,
	    .off = F(notify_command), .set = set_hook, .get = get_string,
	    .help = "absolute command run to tell the admins of a scheduled "
	    "update (PORTHOLE_UPDATE_VERSION, _WHEN, _NOTES in its "
	    "environment)" },
	{ .section = "updates", .key = "update_command", .type = V_FUNC,
	    .off = F(update_command), .set = set_hook, .get = get_string,
	    .help = "absolute command that installs an update; {package} and "
	    "{version} are filled in" },
	{ .section = "updates", .key = "timeout", .type = V_DURATION,
	    .off = F(update_timeout), .min = MIN, .max = DAY,
	    .help = "update_command is killed after this", .def = "2h" },

	{ .section = "alerts", .key = "notify_command", .type = V_FUNC,
	    .off = F(alert_notify_command), .set = set_hook, .get = get_string,
	    .help = "absolute command run when the vendor raises or clears an "
	    "alert (PORTHOLE_ALERT_ID, _STATE, _SEVERITY, _RULE, _SUBJECT, "
	    "_TEXT in its environment); killed after a minute" },

	{ .section = "redact", .key = "paths", .type = V_FUNC,
	    .off = F(redact_paths), .set = set_redact_paths,
	    .get = get_redact_paths,
	    .help = "globs of the files whose bytes leave redacted (sftp, scp, "
	    "the shell's cat, less and tail, bundles; a glob naming a "
	    "directory covers all beneath it), a compressed or binary file "
	    "there being refused; not set: everything beneath the [files] "
	    "paths roots" },

	{ .section = "bundle", .key = "enabled", .type = V_BOOL,
	    .off = F(bundle_enabled),
	    .help = "support bundles: the files and diagnostic output below, "
	    "gathered for the engineer's `ssh ... bundle` or the vendor's "
	    "request", .def = "no" },
	{ .section = "bundle", .key = "paths", .type = V_FUNC,
	    .off = F(bundle_paths), .set = set_bundle_paths, .get = get_list,
	    .help = "globs of the files a bundle holds (a glob naming a "
	    "directory takes all beneath it); the part before the first "
	    "wildcard must lie beneath a [files] paths root, whose deny "
	    "globs apply" },
	{ .section = "bundle", .key = "commands", .type = V_FUNC,
	    .off = F(bundle_commands), .set = set_bundle_commands,
	    .get = get_list,
	    .help = "names of [commands] diagnostics (without placeholders) "
	    "whose output a bundle holds" },
	{ .section = "bundle", .key = "since", .type = V_DURATION,
	    .off = F(bundle_since), .min = MIN, .max = 365 * DAY,
	    .help = "files last changed longer ago are left out",
	    .def = "7d" },
	{ .section = "bundle", .key = "max_size", .type = V_FUNC,
	    .off = F(bundle_max_size), .min = 1024 * 1024, .max = 64ULL << 30,
	    .set = set_size_bounded, .get = get_size,
	    .help = "most bytes read into one bundle, 1M to 64G; the newest "
	    "files that fit go in, and the manifest lists what was left out",
	    .def = "200M" },
	{ .section = "bundle", .key = "approval", .type = V_FUNC,
	    .off = F(bundle_approval_required), .set = set_approval,
	    .get = get_approval,
	    .help = "required: a bundle leaves only after `porthole bundle "
	    "approve ID`; or none", .def = "required" },
	{ .section = "bundle", .key = "on_events", .type = V_FUNC,
	    .off = F(bundle_on_events), .set = set_on_events, .get = get_list,
	    .help = "product event types (a-z 0-9 _) that gather a bundle at "
	    "once" },
};

/* Above the [commands] entries that are not keys of the table. */
static const char commands_help[] =
    "NAME = absolute argv; {NAME:int} and {NAME:word} take the engineer's "
    "words";

/* Above the [actions] entries. */
static const char actions_help[] =
    "NAME = absolute argv, with placeholders as in [commands]; run as "
    "the gateway's user, outside the diagnostic sandbox";

/* Above the [redact] patterns, which are not keys of the table either. */
static const char redact_help[] =
    "pattern.NAME = a POSIX extended regular expression, one key per "
    "pattern; every match in a line leaves the cluster as * of the same "
    "length; a pattern cannot hold ';', which starts a comment";

static const char *const sections[] = {
	"gateway", "remote_access", "files", "commands", "actions", "forward",
	"settings", "telemetry", "updates", "alerts",
	"redact", "bundle",
};

/* The tables, for the printer (policy_write.c). */
const struct keyspec *const policy_keys = keys;
const size_t policy_nkeys = sizeof(keys) / sizeof(keys[0]);
const char *const *const policy_sections = sections;
const size_t policy_nsections = sizeof(sections) / sizeof(sections[0]);
const char *const policy_commands_help = commands_help;
const char *const policy_actions_help = actions_help;
const char *const policy_redact_help = redact_help;

/* [A-Za-z0-9._-]{1,max} */
static int
valid_name(const char *s, size_t max)
{
	return ident_valid(s, max, IDENT_NAME);
}

/* Printable ASCII, blanks allowed. */
int
policy_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((*s < 0x20 || *s > 0x7e) && *s != '\t')
			return 0;
	return 1;
}

/* Absolute, bounded, printable, no "." or ".." component. */
static int
valid_path(const char *s)
{
	const char *c;

	if (s[0] != '/' || strlen(s) >= PATH_MAX_LEN || !policy_printable(s))
		return 0;
	for (c = s; (c = strchr(c, '/')) != NULL; c++) {
		if (strncmp(c, "/./", 3) == 0 || strcmp(c, "/.") == 0 ||
		    strncmp(c, "/../", 4) == 0 || strcmp(c, "/..") == 0)
			return 0;
	}
	return 1;
}

static int
replace_string(char **field, const char *value, char *msg, size_t len)
{
	char *copy;

	if ((copy = strdup(value)) == NULL) {
		snprintf(msg, len, "out of memory");
		return -1;
	}
	free(*field);
	*field = copy;
	return 0;
}

/*
 * A list value: empty means none.  check (may be NULL) vets each item;
 * on a bad item msg says which.
 */
static int
set_list(const struct keyspec *ks, const char *value, int (*check)(const char *),
    const char *what, char ***items, size_t *n, char *msg, size_t len)
{
	char	**v = NULL;
	size_t	 nv = 0, i;

	if (value[0] != '\0' &&
	    parse_list(value, POLICY_MAX_LIST, &v, &nv) == -1) {
		snprintf(msg, len, "%s: expected a comma-separated list of "
		    "at most %d %s, got '%s'", ks->key, POLICY_MAX_LIST, what,
		    value);
		return -1;
	}
	for (i = 0; check != NULL && i < nv; i++) {
		if (!check(v[i])) {
			snprintf(msg, len, "%s: '%s' is not %s", ks->key,
			    v[i], what);
			parse_list_free(v);
			return -1;
		}
	}
	parse_list_free(*items);
	*items = v;
	*n = nv;
	return 0;
}

static int
set_cluster_id(struct policy *p, const struct keyspec *ks, const char *value,
    char *msg, size_t len)
{
	if (!valid_name(value, NAME_MAX_LEN)) {
		snprintf(msg, len, "cluster_id: expected 1-64 of A-Z a-z 0-9 "
		    ". _ -, got '%s'", value);
		return -1;
	}
	return replace_string(&p->cluster_id, value, msg, len);
}

/*
 * A list of HOST:PORT (IPv6 as [ADDR]:PORT) into a new array: what
 * names an item in errors; unique refuses one given twice (the host's
 * case aside).  0, or -1 with msg.
 */
static int
hostport_list(const struct keyspec *ks, const char *value, const char *what,
    int unique, struct policy_target **out, size_t *n, char *msg, size_t len)
{
	struct policy_target	*t = NULL;
	char			**v = NULL;
	size_t			 nv = 0, i, j;
	int			 rc = -1;

	if (set_list(ks, value, NULL, what, &v, &nv, msg, len) == -1)
		return -1;
	if (nv > 0 && (t = calloc(nv, sizeof(*t))) == NULL) {
		snprintf(msg, len, "out of memory");
		goto out;
	}
	for (i = 0; i < nv; i++) {
		if (parse_hostport(v[i], t[i].host, sizeof(t[i].host),
		    &t[i].port) == -1) {
			snprintf(msg, len, "%s: expected %s, got '%s'", ks->key,
			    what, v[i]);
			goto out;
		}
		for (j = 0; unique && j < i; j++)
			if (t[j].port == t[i].port &&
			    strcasecmp(t[j].host, t[i].host) == 0) {
				snprintf(msg, len, "%s: '%s' is listed twice",
				    ks->key, v[i]);
				goto out;
			}
	}
	*out = t;
	*n = nv;
	t = NULL;
	rc = 0;
out:
	free(t);
	parse_list_free(v);
	return rc;
}

/* The relays of the vendor's fleet: the gateway keeps a tunnel to each. */
static int
set_relay(struct policy *p, const struct keyspec *ks, const char *value,
    char *msg, size_t len)
{
	struct policy_target	*t;
	size_t			 n;

	if (hostport_list(ks, value, "HOST:PORT or [ADDR]:PORT", 1, &t, &n,
	    msg, len) == -1)
		return -1;
	if (n == 0 || n > POLICY_MAX_RELAYS) {
		snprintf(msg, len, "relay: expected 1 to %d relays, got %zu",
		    POLICY_MAX_RELAYS, n);
		free(t);
		return -1;
	}
	free(p->relays);
	p->relays = t;
	p->nrelays = n;
	return 0;
}

static int
set_unix_name(struct policy *p, const struct keyspec *ks, const char *value,
    char *msg, size_t len)
{
	if (!valid_name(value, UNIX_NAME_MAX) || value[0] == '-') {
		snprintf(msg, len, "%s: expected a user or group name, "
		    "got '%s'", ks->key, value);
		return -1;
	}
	return replace_string(FIELD(p, ks, char *), value, msg, len);
}

static int
set_audit_failure(struct policy *p, const struct keyspec *ks,
    const char *value, char *msg, size_t len)
{
	/* Failing open is not offered: an unaudited session is refused. */
	if (strcmp(value, "close") != 0) {
		snprintf(msg, len, "audit_failure: expected close, got '%s'",
		    value);
		return -1;
	}
	p->audit_failure_close = 1;
	return 0;
}

static int
set_approval(struct policy *p, const struct keyspec *ks, const char *value,
    char *msg, size_t len)
{
	if (strcmp(value, "required") == 0)
		*FIELD(p, ks, int) = 1;
	else if (strcmp(value, "none") == 0)
		*FIELD(p, ks, int) = 0;
	else {
		snprintf(msg, len, "approval: expected required or none, "
		    "got '%s'", value);
		return -1;
	}
	return 0;
}

static int
valid_principal(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= 255 || s[i] <= 0x20 || s[i] > 0x7e || s[i] == '*')
			return 0;
	return i > 0;
}

static int
set_engineers(struct policy *p, const struct keyspec *ks, const char *value,
    char *msg, size_t len)
{
	if (strcmp(value, "*") == 0) {
		parse_list_free(p->engineers);
		p->engineers = NULL;
		p->nengineers = 0;
		p->engineers_any = 1;
		return 0;
	}
	p->engineers_any = 0;
	return set_list(ks, value, valid_principal,
	    "a principal (or * alone)", &p->engineers, &p->nengineers, msg,
	    len);
}

static int
set_expires(struct policy *p, const struct keyspec *ks, const char *value,
    char *msg, size_t len)
{
	time_t t;

	/* 0 means "no expiry", so the epoch itself cannot be a deadline. */
	if (parse_time(value, &t) == -1 || t <= 0) {
		snprintf(msg, len, "expires: expected YYYY-MM-DDTHH:MM:SSZ "
		    "(UTC), got '%s'", value);
		return -1;
	}
	p->expires = t;
	return 0;
}

/* A [files] root: an absolute path with no "//" and no trailing "/". */
static int
valid_root(const char *s)
{
	size_t n = strlen(s);

	return valid_path(s) && strstr(s, "//") == NULL &&
	    (n == 1 || s[n - 1] != '/');
}

static int
set_file_paths(struct policy *p, const struct keyspec *ks, const char *value,
    char *msg, size_t len)
{
	return set_list(ks, value, valid_root, "a clean absolute path",
	    &p->file_paths,
	    &p->nfile_paths, msg, len);
}

static int
valid_pattern(const char *s)
{
	return policy_printable(s);
}

static int
set_file_deny(struct policy *p, const struct keyspec *ks, const char *value,
    char *msg, size_t len)
{
	return set_list(ks, value, valid_pattern, "a file name pattern",
	    &p->file_deny, &p->nfile_deny, msg, len);
}

static int
set_targets(struct policy *p, const struct keyspec *ks, const char *value,
    char *msg, size_t len)
{
	struct policy_target	*t;
	size_t			 n;

	if (hostport_list(ks, value, "HOST:PORT", 0, &t, &n, msg, len) == -1)
		return -1;
	free(p->targets);
	p->targets = t;
	p->ntargets = n;
	return 0;
}

static int
valid_setting_key(const char *s)
{
	return valid_name(s, SETTING_NAME_MAX);
}

static int
set_settings_keys(struct policy *p, const struct keyspec *ks,
    const char *value, char *msg, size_t len)
{
	return set_list(ks, value, valid_setting_key,
	    "a setting name (A-Z a-z 0-9 . _ -)", &p->settings_keys,
	    &p->nsettings_keys, msg, len);
}

static int
set_disks(struct policy *p, const struct keyspec *ks, const char *value,
    char *msg, size_t len)
{
	return set_list(ks, value, valid_path, "an absolute path", &p->disks,
	    &p->ndisks, msg, len);
}

static void
services_free(struct policy_service *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(s[i].name);
	free(s);
}

static int
set_services(struct policy *p, const struct keyspec *ks, const char *value,
    char *msg, size_t len)
{
	struct policy_service	*s = NULL;
	char			**v = NULL, *eq;
	size_t			 nv = 0, i, j;
	int			 rc = -1;

	if (set_list(ks, value, NULL, "NAME=HOST:PORT", &v, &nv, msg,
	    len) == -1)
		return -1;
	if (nv > 0 && (s = calloc(nv, sizeof(*s))) == NULL) {
		snprintf(msg, len, "out of memory");
		goto out;
	}
	for (i = 0; i < nv; i++) {
		if ((eq = strchr(v[i], '=')) == NULL)
			goto bad;
		*eq = '\0';
		if (!valid_name(v[i], NAME_MAX_LEN) ||
		    parse_hostport(eq + 1, s[i].host, sizeof(s[i].host),
		    &s[i].port) == -1) {
			*eq = '=';
			goto bad;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(s[j].name, v[i]) == 0) {
				snprintf(msg, len, "services: '%s' is named "
				    "twice", v[i]);
				goto out;
			}
		}
		if ((s[i].name = strdup(v[i])) == NULL) {
			snprintf(msg, len, "out of memory");
			goto out;
		}
	}
	services_free(p->services, p->nservices);
	p->services = s;
	p->nservices = nv;
	s = NULL;
	rc = 0;
	goto out;
bad:
	snprintf(msg, len, "services: expected NAME=HOST:PORT, got '%s'", v[i]);
out:
	if (s != NULL)
		services_free(s, nv);
	parse_list_free(v);
	return rc;
}

/*
 * Split s on runs of blanks into at most max words (copies).  Returns
 * the count, or -1 if there are more words or no memory.
 */
int
policy_split_words(const char *s, char ***out, size_t max)
{
	char	**w;
	size_t	 n = 0, k;

	if ((w = calloc(max + 1, sizeof(*w))) == NULL)
		return -1;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		k = strcspn(s, " \t");
		if (n == max || (w[n] = strndup(s, k)) == NULL) {
			policy_argv_free(w);
			return -1;
		}
		n++;
		s += k;
	}
	*out = w;
	return (int)n;
}

static int
set_window(struct policy *p, const struct keyspec *ks, const char *value,
    char *msg, size_t len)
{
	struct window	w;
	char		norm[32];

	(void)ks;
	if (window_parse(value, &w) == -1) {
		snprintf(msg, len, "window: expected 'weekly DAY HH:MM' "
		    "(DAY: sun..sat) or 'daily HH:MM', got '%s'", value);
		return -1;
	}
	window_format(&w, norm, sizeof(norm));
	return replace_string(&p->update_window, norm, msg, len);
}

static int
set_hook(struct policy *p, const struct keyspec *ks, const char *value,
    char *msg, size_t len)
{
	char	**w = NULL;
	int	 n;

	n = policy_split_words(value, &w, POLICY_MAX_WORDS);
	if (n > 0 && policy_printable(value) && valid_path(w[0])) {
		policy_argv_free(w);
		return replace_string(FIELD(p, ks, char *), value, msg, len);
	}
	if (n >= 0)
		policy_argv_free(w);
	snprintf(msg, len, "%s: expected an absolute command of at most %d "
	    "words, got '%s'", ks->key, POLICY_MAX_WORDS, value);
	return -1;
}

/* A whole percentage in [min, max], or off (0). */
static int
set_percent(struct policy *p, const struct keyspec *ks, const char *value,
    char *msg, size_t len)
{
	unsigned v;

	if (strcmp(value, "off") == 0)
		v = 0;
	else if (parse_percent(value, (unsigned)ks->min, (unsigned)ks->max,
	    &v) == -1) {
		snprintf(msg, len, "%s: expected a percentage from %llu%% to "
		    "%llu%% (like 90%%) or off, got '%s'", ks->key,
		    (unsigned long long)ks->min, (unsigned long long)ks->max,
		    value);
		return -1;
	}
	*FIELD(p, ks, unsigned) = v;
	return 0;
}

/* A path glob of [redact] or [bundle]: written as a clean root is. */
static int
valid_glob(const char *s)
{
	return valid_root(s);
}

static int
set_redact_paths(struct policy *p, const struct keyspec *ks,
    const char *value, char *msg, size_t len)
{
	if (set_list(ks, value, valid_glob, "an absolute path glob without "
	    "// . or ..", &p->redact_paths, &p->nredact_paths, msg,
	    len) == -1)
		return -1;
	p->redact_paths_set = 1;
	return 0;
}

static int
set_bundle_paths(struct policy *p, const struct keyspec *ks,
    const char *value, char *msg, size_t len)
{
	/* Whether each lies beneath a [files] root: policy_check_bundle. */
	return set_list(ks, value, valid_glob, "an absolute path glob "
	    "without // . or ..", &p->bundle_paths, &p->nbundle_paths, msg,
	    len);
}

static int
valid_command_name(const char *s)
{
	return valid_name(s, NAME_MAX_LEN);
}

static int
set_bundle_commands(struct policy *p, const struct keyspec *ks,
    const char *value, char *msg, size_t len)
{
	return set_list(ks, value, valid_command_name, "a command name",
	    &p->bundle_commands, &p->nbundle_commands, msg, len);
}

/* An event type as telemetry/record.h takes it: [a-z0-9_]{1,64}. */
static int
valid_event_type(const char *s)
{
	return ident_valid(s, NAME_MAX_LEN, IDENT_SNAKE);
}

static int
set_on_events(struct policy *p, const struct keyspec *ks, const char *value,
    char *msg, size_t len)
{
	return set_list(ks, value, valid_event_type, "an event type "
	    "(a-z 0-9 _)", &p->bundle_on_events, &p->nbundle_on_events, msg,
	    len);
}

/* A size in [min, max] where 0 means nothing sensible. */
static int
set_size_bounded(struct policy *p, const struct keyspec *ks,
    const char *value, char *msg, size_t len)
{
	uint64_t	v;
	char		lo[32], hi[32];

	if (parse_size(value, &v) == -1 || v < ks->min || v > ks->max) {
		parse_format_size(ks->min, lo, sizeof(lo));
		parse_format_size(ks->max, hi, sizeof(hi));
		snprintf(msg, len, "%s: expected a size from %s to %s (like "
		    "512K, 64M, 2G), got '%s'", ks->key, lo, hi, value);
		return -1;
	}
	*FIELD(p, ks, uint64_t) = v;
	return 0;
}

/*
 * A [redact] pattern.NAME key: compiled now, so that a bad expression
 * is FILE:LINE at load and never a surprise in a session.
 */
static int
add_pattern(struct policy *p, const char *name, const char *value,
    char *msg, size_t len)
{
	char why[256];

	if (!valid_name(name, REDACT_NAME_MAX)) {
		snprintf(msg, len, "'pattern.%s' is not a valid pattern name "
		    "(pattern. and 1-%d of A-Z a-z 0-9 . _ -)", name,
		    REDACT_NAME_MAX);
		return -1;
	}
	if (value[0] == '\0') {
		snprintf(msg, len, "pattern.%s: an empty pattern", name);
		return -1;
	}
	/* inih cut "x ;y" at the ';' already; "x;y" would not read back. */
	if (strchr(value, ';') != NULL) {
		snprintf(msg, len, "pattern.%s: a pattern cannot hold ';', "
		    "which starts a comment in porthole.conf", name);
		return -1;
	}
	if (redact_add(p->redact, name, value, why, sizeof(why)) == -1) {
		snprintf(msg, len, "pattern.%s: %s", name, why);
		return -1;
	}
	return 0;
}

/*
 * What kind of template word w is.  A word holding a brace must be a
 * whole, well-formed placeholder; otherwise -1 and why in msg.
 */
int
policy_placeholder_type(const char *w, char *msg, size_t len)
{
	const char	*colon, *type;
	size_t		 n, i;

	if (strchr(w, '{') == NULL && strchr(w, '}') == NULL)
		return PH_NONE;
	n = strlen(w);
	colon = strchr(w, ':');
	if (w[0] != '{' || w[n - 1] != '}' || colon == NULL ||
	    strchr(w + 1, '{') != NULL || strchr(w, '}') != w + n - 1)
		goto bad;
	for (i = 1; w + i < colon; i++)
		if (!isalnum((unsigned char)w[i]) && w[i] != '_')
			goto bad;
	if (i == 1 || i > 33)
		goto bad;
	type = colon + 1;
	if (strcmp(type, "int}") == 0)
		return PH_INT;
	if (strcmp(type, "word}") == 0)
		return PH_WORD;
bad:
	snprintf(msg, len, "'%s' is not a placeholder: expected {NAME:int} "
	    "or {NAME:word} as a whole word", w);
	return -1;
}

/*
 * What an engineer types for porthole itself (`ssh ... bundle`, an
 * action, scp's server, the shell's help and settings): a diagnostic of
 * that name would be ambiguous or unreachable.
 */
static const char *const reserved[] = {
	"bundle", "action", "scp", "help", "settings",
};

static int
add_command(struct policy_command **list, size_t *nlist, const char *name,
    const char *value, char *msg, size_t len)
{
	struct policy_command	*nc;
	char			**w = NULL, why[256];
	size_t			 i, j, nlen;
	int			 n, rc = -1;

	if (!valid_name(name, NAME_MAX_LEN)) {
		snprintf(msg, len, "'%s' is not a valid command name (1-64 of "
		    "A-Z a-z 0-9 . _ -)", name);
		return -1;
	}
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(name, reserved[i]) == 0) {
			snprintf(msg, len, "'%s' is reserved for porthole's own "
			    "command of that name; call the diagnostic "
			    "something else", name);
			return -1;
		}
	if (*nlist >= POLICY_MAX_COMMANDS) {
		snprintf(msg, len, "too many entries (at most %d)",
		    POLICY_MAX_COMMANDS);
		return -1;
	}
	if (!policy_printable(value)) {
		snprintf(msg, len, "%s: non-printable character in command",
		    name);
		return -1;
	}
	if ((n = policy_split_words(value, &w, POLICY_MAX_WORDS)) == -1) {
		snprintf(msg, len, "%s: more than %d words", name,
		    POLICY_MAX_WORDS);
		return -1;
	}
	if (n == 0 || !valid_path(w[0])) {
		snprintf(msg, len, "%s: expected an absolute path to run, "
		    "got '%s'", name, value);
		goto out;
	}
	for (i = 1; i < (size_t)n; i++) {
		if (policy_placeholder_type(w[i], why, sizeof(why)) == -1) {
			snprintf(msg, len, "%s: %s", name, why);
			goto out;
		}
		if (w[i][0] != '{')
			continue;
		/* The same name twice would be ambiguous to the engineer. */
		nlen = strcspn(w[i], ":");
		for (j = 1; j < i; j++) {
			if (w[j][0] == '{' && strncmp(w[j], w[i], nlen) == 0 &&
			    w[j][nlen] == ':') {
				snprintf(msg, len, "%s: placeholder name "
				    "'%.*s' used twice", name, (int)nlen - 1,
				    w[i] + 1);
				goto out;
			}
		}
	}
	if (strchr(w[0], '{') != NULL || strchr(w[0], '}') != NULL) {
		snprintf(msg, len, "%s: the program may not be a placeholder",
		    name);
		goto out;
	}

	nc = reallocarray(*list, *nlist + 1, sizeof(*nc));
	if (nc == NULL) {
		snprintf(msg, len, "out of memory");
		goto out;
	}
	*list = nc;
	nc = &nc[*nlist];
	if ((nc->name = strdup(name)) == NULL) {
		snprintf(msg, len, "out of memory");
		goto out;
	}
	nc->argv = w;
	nc->argc = (size_t)n;
	w = NULL;
	(*nlist)++;
	rc = 0;
out:
	policy_argv_free(w);
	return rc;
}

static int
set_value(struct policy *p, const struct keyspec *ks, const char *value,
    char *msg, size_t len)
{
	char	 lo[32], hi[32];
	int	 b;

	switch (ks->type) {
	case V_BOOL:
		if (parse_bool(value, &b) == -1) {
			snprintf(msg, len, "%s: expected yes or no, got '%s'",
			    ks->key, value);
			return -1;
		}
		*FIELD(p, ks, int) = b;
		return 0;
	case V_UINT:
		if (parse_uint(value, ks->min, ks->max,
		    FIELD(p, ks, uint64_t)) == -1) {
			snprintf(msg, len, "%s: expected a number from %llu "
			    "to %llu, got '%s'", ks->key,
			    (unsigned long long)ks->min,
			    (unsigned long long)ks->max, value);
			return -1;
		}
		return 0;
	case V_DURATION:
		if (parse_duration(value, FIELD(p, ks, uint64_t)) == -1 ||
		    *FIELD(p, ks, uint64_t) < ks->min ||
		    *FIELD(p, ks, uint64_t) > ks->max) {
			parse_format_duration(ks->min, lo, sizeof(lo));
			parse_format_duration(ks->max, hi, sizeof(hi));
			snprintf(msg, len, "%s: expected a duration from %s "
			    "to %s (like 90s, 15m, 2h, 1d), got '%s'", ks->key,
			    lo, hi, value);
			return -1;
		}
		return 0;
	case V_SIZE:
		if (parse_size(value, FIELD(p, ks, uint64_t)) == -1 ||
		    (*FIELD(p, ks, uint64_t) != 0 &&
		    (*FIELD(p, ks, uint64_t) < ks->min ||
		    *FIELD(p, ks, uint64_t) > ks->max))) {
			parse_format_size(ks->min, lo, sizeof(lo));
			parse_format_size(ks->max, hi, sizeof(hi));
			snprintf(msg, len, "%s: expected 0 or a size from %s "
			    "to %s (like 512K, 64M, 2G), got '%s'", ks->key,
			    lo, hi, value);
			return -1;
		}
		return 0;
	case V_PATH:
		if (!valid_path(value)) {
			snprintf(msg, len, "%s: expected an absolute path "
			    "without . or .. components, got '%s'", ks->key,
			    value);
			return -1;
		}
		return replace_string(FIELD(p, ks, char *), value, msg, len);
	case V_FUNC:
		return ks->set(p, ks, value, msg, len);
	}
	return -1;
}

static int
on_section(void *ctx, const char *section, int line, char *msg, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (strcmp(section, sections[i]) == 0)
			return 0;
	snprintf(msg, len, "unknown section [%s]", section);
	return -1;
}

#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

/* One read of one file: the policy, and the line of each key set. */
struct load {
	struct policy	*p;
	int		 line[NKEYS];
};

static int
on_key(void *ctx, const char *section, const char *key, const char *value,
    int line, char *msg, size_t len)
{
	struct load	*ld = ctx;
	struct policy	*p = ld->p;
	size_t		 i;

	for (i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].section, section) == 0 &&
		    strcmp(keys[i].key, key) == 0) {
			ld->line[i] = line;
			return set_value(p, &keys[i], value, msg, len);
		}
	}
	/* Any other key in [commands] names a diagnostic. */
	if (strcmp(section, "commands") == 0)
		return add_command(&p->commands, &p->ncommands, key, value,
		    msg, len);
	/* And in [actions], an action. */
	if (strcmp(section, "actions") == 0)
		return add_command(&p->actions, &p->nactions, key, value, msg,
		    len);
	if (strcmp(section, "redact") == 0 &&
	    strncmp(key, "pattern.", 8) == 0)
		return add_pattern(p, key + 8, value, msg, len);
	snprintf(msg, len, "unknown key '%s' in [%s]", key, section);
	return -1;
}

/*
 * Every grant off; the rest at the defaults the key table states, set
 * through the same parser and bounds as a value in the file would be.
 */
static struct policy *
policy_new(const char *path)
{
	struct policy	*p;
	char		 msg[256];
	size_t		 i;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if ((p->path = strdup(path)) == NULL ||
	    (p->redact = redact_new()) == NULL)
		goto fail;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].def != NULL && set_value(p, &keys[i], keys[i].def,
		    msg, sizeof(msg)) == -1)
			goto fail;	/* a bad default: caught by the tests */
	return p;
fail:
	policy_free(p);
	return NULL;
}

/* The first required [gateway] key not set, or NULL. */
static const char *
missing_key(const struct policy *p)
{
	if (p->cluster_id == NULL)
		return "cluster_id";
	if (p->nrelays == 0)
		return "relay";
	if (p->relay_host_key == NULL)
		return "relay_host_key";
	if (p->cluster_key == NULL)
		return "cluster_key";
	if (p->session_host_key == NULL)
		return "session_host_key";
	if (p->support_ca == NULL)
		return "support_ca";
	return NULL;
}

/* The line of [section] key in the file read, or 0 (a default). */
static int
load_line(const struct load *ld, const char *section, const char *key)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 &&
		    strcmp(keys[i].key, key) == 0)
			return ld->line[i];
	return 0;
}

static void __attribute__((format(printf, 5, 6)))
load_error(const struct load *ld, const char *key, char *err, size_t errlen,
    const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s:%d: %s", ld->p->path,
	    load_line(ld, "bundle", key), msg);
}

/*
 * What [bundle] names elsewhere must exist once the whole file is
 * read, whatever the order of its sections: each glob beneath a [files]
 * root, each command a [commands] entry that needs no argument.
 */
static int
check_bundle(const struct load *ld, char *err, size_t errlen)
{
	const struct policy		*p = ld->p;
	const struct policy_command	*cmd;
	char				 base[PATH_MAX_LEN], root[PATH_MAX_LEN];
	size_t				 i, j;

	for (i = 0; i < p->nbundle_paths; i++) {
		if (policy_glob_base(p->bundle_paths[i], base,
		    sizeof(base)) == -1 ||
		    policy_file_root(p, base, 0, root, sizeof(root)) == -1) {
			load_error(ld, "paths", err, errlen, "paths: '%s' is "
			    "not beneath a [files] paths root",
			    p->bundle_paths[i]);
			return -1;
		}
	}
	for (i = 0; i < p->nbundle_commands; i++) {
		cmd = NULL;
		for (j = 0; j < p->ncommands && cmd == NULL; j++)
			if (strcmp(p->commands[j].name,
			    p->bundle_commands[i]) == 0)
				cmd = &p->commands[j];
		if (cmd == NULL) {
			load_error(ld, "commands", err, errlen, "commands: "
			    "'%s' is not a [commands] entry",
			    p->bundle_commands[i]);
			return -1;
		}
		for (j = 1; j < cmd->argc; j++)
			if (cmd->argv[j][0] == '{') {
				load_error(ld, "commands", err, errlen,
				    "commands: '%s' takes arguments, and a "
				    "bundle runs its diagnostics without any",
				    cmd->name);
				return -1;
			}
	}
	if (p->bundle_enabled && p->nbundle_paths == 0 &&
	    p->nbundle_commands == 0) {
		load_error(ld, "enabled", err, errlen, "enabled: a bundle "
		    "would hold nothing; set [bundle] paths or commands");
		return -1;
	}
	return 0;
}

/* Read from fd (or path, if fd is -1), named path in errors. */
static int
policy_read(int fd, const char *path, struct policy **out, char *err,
    size_t errlen)
{
	struct policy	*p;
	struct load	 ld;
	const char	*missing;
	int		 rc;

	if ((p = policy_new(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	memset(&ld, 0, sizeof(ld));
	ld.p = p;
	rc = fd == -1 ? inifile_read(path, on_section, on_key, &ld, err,
	    errlen) : inifile_read_fd(fd, path, on_section, on_key, &ld, err,
	    errlen);
	if (rc == -1)
		goto fail;
	if ((missing = missing_key(p)) != NULL) {
		snprintf(err, errlen, "%s: missing required key [gateway] %s",
		    path, missing);
		goto fail;
	}
	if (check_bundle(&ld, err, errlen) == -1)
		goto fail;
	*out = p;
	return 0;
fail:
	policy_free(p);
	return -1;
}

/* Do a and b give key ks the same value, as policy show prints it? */
static int
same_value(const struct policy *a, const struct policy *b,
    const struct keyspec *ks)
{
	struct line	la, lb;
	int		sa, sb;

	memset(&la, 0, sizeof(la));
	memset(&lb, 0, sizeof(lb));
	la.sep = lb.sep = ",";
	sa = policy_get_value(a, ks, &la);
	sb = policy_get_value(b, ks, &lb);
	return sa == sb && la.full == lb.full && strcmp(la.buf, lb.buf) == 0;
}

int
policy_restart_changed(const struct policy *running,
    const struct policy *next, char *err, size_t errlen)
{
	struct inifile_lines	*l = NULL;
	size_t			 i;
	int			 line;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (keys[i].when != INIFILE_START ||
		    same_value(running, next, &keys[i]))
			continue;
		/* A key taken out is named where its section starts. */
		l = inifile_lines_read(next->path);
		if ((line = inifile_lines_find(l, keys[i].section,
		    keys[i].key)) == 0 && (line = inifile_lines_find(l,
		    keys[i].section, "")) == 0)
			line = 1;
		inifile_lines_free(l);
		inifile_restart_refusal(next->path, line, keys[i].key, err,
		    errlen);
		return -1;
	}
	return 0;
}

int
policy_load(const char *path, struct policy **out, char *err, size_t errlen)
{
	return policy_read(-1, path, out, err, errlen);
}

struct run_dir_ctx {
	char	*buf;
	size_t	 len;
	int	 found;
};

static int
run_dir_key(void *arg, const char *section, const char *key,
    const char *value, int line, char *msg, size_t msglen)
{
	struct run_dir_ctx *ctx = arg;

	(void)line;
	(void)msg;
	(void)msglen;
	if (strcmp(section, "gateway") == 0 && strcmp(key, "run_dir") == 0 &&
	    value[0] == '/' && strlen(value) < ctx->len) {
		snprintf(ctx->buf, ctx->len, "%s", value);
		ctx->found = 1;
	}
	return 0;
}

int
policy_run_dir(const char *path, char *buf, size_t len)
{
	struct run_dir_ctx	 ctx = { buf, len, 0 };
	const struct keyspec	*ks;
	char			 err[512];

	(void)inifile_read(path, NULL, run_dir_key, &ctx, err, sizeof(err));
	if (ctx.found)
		return 0;
	for (ks = keys; ks < keys + sizeof(keys) / sizeof(keys[0]); ks++)
		if (strcmp(ks->section, "gateway") == 0 &&
		    strcmp(ks->key, "run_dir") == 0 &&
		    strlen(ks->def) < len) {
			snprintf(buf, len, "%s", ks->def);
			return 0;
		}
	return -1;
}

/*
 * The argv-valued keys are those read by set_hook, so a new *_command
 * key in the table is checked without being listed anywhere else.
 */
void
policy_each_program(const struct policy *p, policy_program_cb cb, void *arg)
{
	const char	 *v;
	char		**w;
	size_t		  i;

	for (i = 0; i < p->ncommands; i++)
		cb(arg, "commands", p->commands[i].name,
		    p->commands[i].argv[0]);
	for (i = 0; i < p->nactions; i++)
		cb(arg, "actions", p->actions[i].name, p->actions[i].argv[0]);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (keys[i].set != set_hook ||
		    (v = *CFIELD(p, &keys[i], char *)) == NULL)
			continue;
		w = NULL;
		if (policy_split_words(v, &w, POLICY_MAX_WORDS) > 0)
			cb(arg, keys[i].section, keys[i].key, w[0]);
		policy_argv_free(w);
	}
}

int
policy_load_fd(int fd, const char *name, struct policy **out, char *err,
    size_t errlen)
{
	return policy_read(fd, name, out, err, errlen);
}

void
policy_free(struct policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	free(p->path);
	free(p->cluster_id);
	free(p->relays);
	free(p->relay_host_key);
	free(p->cluster_key);
	free(p->session_host_key);
	free(p->support_ca);
	free(p->revoked_keys);
	free(p->state_dir);
	free(p->audit_dir);
	free(p->run_dir);
	free(p->user);
	free(p->admin_group);
	parse_list_free(p->engineers);
	parse_list_free(p->file_paths);
	parse_list_free(p->file_deny);
	for (i = 0; i < p->ncommands; i++) {
		free(p->commands[i].name);
		policy_argv_free(p->commands[i].argv);
	}
	free(p->commands);
	for (i = 0; i < p->nactions; i++) {
		free(p->actions[i].name);
		policy_argv_free(p->actions[i].argv);
	}
	free(p->actions);
	free(p->targets);
	free(p->settings_file);
	parse_list_free(p->settings_keys);
	parse_list_free(p->disks);
	services_free(p->services, p->nservices);
	free(p->update_window);
	free(p->vendor_key);
	free(p->version_command);
	free(p->notify_command);
	free(p->ra_notify_command);
	free(p->alert_notify_command);
	free(p->update_command);
	redact_free(p->redact);
	parse_list_free(p->redact_paths);
	parse_list_free(p->bundle_paths);
	parse_list_free(p->bundle_commands);
	parse_list_free(p->bundle_on_events);
	free(p);
}

void __attribute__((format(printf, 2, 3)))
policy_line_add(struct line *l, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (l->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(l->buf) - l->len) {
		l->full = 1;
		return;
	}
	l->len += (size_t)n;
}

/*
 * A NULL-terminated list.  ';' after a blank starts a comment, so an
 * item beginning with ';' follows a bare comma.
 */
static void
line_list(struct line *l, char *const *items)
{
	size_t i;

	for (i = 0; items != NULL && items[i] != NULL; i++)
		policy_line_add(l, "%s%s", i == 0 ? "" : items[i][0] == ';' ? "," :
		    l->sep, items[i]);
}

/* IPv6 addresses go back into brackets. */
static void
line_hostport(struct line *l, const char *host, uint16_t port)
{
	if (strchr(host, ':') != NULL)
		policy_line_add(l, "[%s]:%u", host, (unsigned int)port);
	else
		policy_line_add(l, "%s:%u", host, (unsigned int)port);
}

/* The getters append a key's value and return 1, or 0 if it is unset. */
static int
get_string(const struct policy *p, const struct keyspec *ks, struct line *l)
{
	const char *v = *CFIELD(p, ks, char *);

	if (v == NULL)
		return 0;
	policy_line_add(l, "%s", v);
	return 1;
}

static int
get_relay(const struct policy *p, const struct keyspec *ks, struct line *l)
{
	size_t i;

	if (p->nrelays == 0)
		return 0;
	for (i = 0; i < p->nrelays; i++) {
		policy_line_add(l, "%s", i == 0 ? "" : l->sep);
		line_hostport(l, p->relays[i].host, p->relays[i].port);
	}
	return 1;
}

static int
get_audit_failure(const struct policy *p, const struct keyspec *ks,
    struct line *l)
{
	if (!p->audit_failure_close)
		return 0;
	policy_line_add(l, "close");
	return 1;
}

static int
get_approval(const struct policy *p, const struct keyspec *ks,
    struct line *l)
{
	policy_line_add(l, "%s", *CFIELD(p, ks, int) ? "required" : "none");
	return 1;
}

static int
get_engineers(const struct policy *p, const struct keyspec *ks,
    struct line *l)
{
	if (p->engineers_any)
		policy_line_add(l, "*");
	else
		line_list(l, p->engineers);
	return 1;
}

static int
get_expires(const struct policy *p, const struct keyspec *ks, struct line *l)
{
	struct tm	 tm;
	char		 when[32];

	if (p->expires == 0)
		return 0;
	if (gmtime_r(&p->expires, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		l->full = 1;
		return 1;
	}
	policy_line_add(l, "%s", when);
	return 1;
}

/* A list field: a NULL-terminated char ** at ks->off. */
static int
get_list(const struct policy *p, const struct keyspec *ks, struct line *l)
{
	line_list(l, *CFIELD(p, ks, char **));
	return 1;
}

static int
get_targets(const struct policy *p, const struct keyspec *ks, struct line *l)
{
	size_t i;

	for (i = 0; i < p->ntargets; i++) {
		policy_line_add(l, "%s", i == 0 ? "" : l->sep);
		line_hostport(l, p->targets[i].host, p->targets[i].port);
	}
	return 1;
}

static int
get_services(const struct policy *p, const struct keyspec *ks,
    struct line *l)
{
	size_t i;

	for (i = 0; i < p->nservices; i++) {
		policy_line_add(l, "%s%s=", i == 0 ? "" : l->sep,
		    p->services[i].name);
		line_hostport(l, p->services[i].host, p->services[i].port);
	}
	return 1;
}

static int
get_percent(const struct policy *p, const struct keyspec *ks,
    struct line *l)
{
	unsigned v = *CFIELD(p, ks, unsigned);

	if (v == 0)
		policy_line_add(l, "off");
	else
		policy_line_add(l, "%u%%", v);
	return 1;
}

static int
get_redact_paths(const struct policy *p, const struct keyspec *ks,
    struct line *l)
{
	if (!p->redact_paths_set)
		return 0;
	line_list(l, p->redact_paths);
	return 1;
}

static int
get_size(const struct policy *p, const struct keyspec *ks, struct line *l)
{
	char buf[32];

	parse_format_size(*CFIELD(p, ks, uint64_t), buf, sizeof(buf));
	policy_line_add(l, "%s", buf);
	return 1;
}

int
policy_get_value(const struct policy *p, const struct keyspec *ks, struct line *l)
{
	char dur[32];

	switch (ks->type) {
	case V_BOOL:
		policy_line_add(l, "%s", *CFIELD(p, ks, int) ? "yes" : "no");
		return 1;
	case V_UINT:
		policy_line_add(l, "%llu",
		    (unsigned long long)*CFIELD(p, ks, uint64_t));
		return 1;
	case V_DURATION:
		parse_format_duration(*CFIELD(p, ks, uint64_t), dur,
		    sizeof(dur));
		policy_line_add(l, "%s", dur);
		return 1;
	case V_SIZE:
		parse_format_size(*CFIELD(p, ks, uint64_t), dur, sizeof(dur));
		policy_line_add(l, "%s", dur);
		return 1;
	case V_PATH:
		return get_string(p, ks, l);
	case V_FUNC:
		return ks->get(p, ks, l);
	}
	return 0;
}

char **
policy_hook_argv(const char *value)
{
	char **w = NULL;

	if (policy_split_words(value, &w, POLICY_MAX_WORDS) <= 0) {
		policy_argv_free(w);
		return NULL;
	}
	return w;
}

void
policy_argv_free(char **argv)
{
	size_t i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}
