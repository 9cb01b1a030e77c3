/*
 * policy.c - porthole.conf into an immutable policy, and the decisions.
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

#include "lib/inifile.h"
#include "lib/parse.h"
#include "lib/redact.h"
#include "lib/window.h"
#include "policy/policy.h"

#define POLICY_MAX_LIST		256	/* items in one list value */
#define POLICY_MAX_COMMANDS	256
#define NAME_MAX_LEN		64	/* cluster ids, command names */
#define UNIX_NAME_MAX		32	/* user and group names */
#define PATH_MAX_LEN		4096
#define INT_ARG_DIGITS		18

enum ph_type {
	PH_NONE,			/* a literal word */
	PH_INT,				/* {NAME:int} */
	PH_WORD				/* {NAME:word} */
};

enum vtype {
	V_BOOL,				/* int */
	V_UINT,				/* uint64_t, in [min, max] */
	V_DURATION,			/* uint64_t seconds, in [min, max] */
	V_SIZE,				/* uint64_t bytes, 0 or in [min, max] */
	V_PATH,				/* char *, absolute */
	V_FUNC				/* the key's own setter */
};

struct keyspec;
struct line;
typedef int (*setter)(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
typedef int (*getter)(const struct policy *, const struct keyspec *,
    struct line *);

/*
 * One key of porthole.conf: how to read it, how to print it back
 * (policy_write) and what it means.
 */
struct keyspec {
	const char	*section;
	const char	*key;
	enum vtype	 type;
	size_t		 off;		/* field in struct policy */
	uint64_t	 min, max;
	setter		 set;		/* V_FUNC */
	getter		 get;		/* V_FUNC */
	const char	*help;		/* one line, for policy show */
	const char	*def;		/* the default, as a value in the file */
};

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
static int get_redact_paths(const struct policy *, const struct keyspec *,
    struct line *);
static int get_size(const struct policy *, const struct keyspec *,
    struct line *);

#define F(field)	offsetof(struct policy, field)
#define MIN		60ULL
#define HOUR		3600ULL
#define DAY		86400ULL

static const struct keyspec keys[] = {
	{ "gateway", "cluster_id", V_FUNC, F(cluster_id), 0, 0,
	    set_cluster_id, get_string,
	    "this cluster's name at the relay (required)", NULL },
	{ "gateway", "relay", V_FUNC, 0, 0, 0, set_relay, get_relay,
	    "the vendor relay, HOST:PORT (required)", NULL },
	{ "gateway", "relay_host_key", V_PATH, F(relay_host_key), 0, 0, NULL,
	    NULL, "the relay's public host key, pinned (required)", NULL },
	{ "gateway", "cluster_key", V_PATH, F(cluster_key), 0, 0, NULL, NULL,
	    "ed25519 private key the gateway logs in to the relay with "
	    "(required)", NULL },
	{ "gateway", "session_host_key", V_PATH, F(session_host_key), 0, 0,
	    NULL, NULL, "host key shown to engineers (required)", NULL },
	{ "gateway", "support_ca", V_PATH, F(support_ca), 0, 0, NULL, NULL,
	    "the vendor CA that signs engineer certificates (required)", NULL },
	{ "gateway", "revoked_keys", V_PATH, F(revoked_keys), 0, 0, NULL,
	    NULL, "engineer certificates, keys and CA keys refused: an OpenSSH "
	    "KRL (ssh-keygen -k) or public keys one per line, read at start "
	    "and at each reload (a file that cannot be read refuses either)",
	    NULL },
	{ "gateway", "state_dir", V_PATH, F(state_dir), 0, 0, NULL, NULL,
	    "spool and gateway state",
	    "/var/lib/porthole" },
	{ "gateway", "audit_dir", V_PATH, F(audit_dir), 0, 0, NULL, NULL,
	    "audit log and session recordings",
	    "/var/log/porthole" },
	{ "gateway", "run_dir", V_PATH, F(run_dir), 0, 0, NULL, NULL,
	    "control and intake sockets",
	    "/run/porthole" },
	{ "gateway", "user", V_FUNC, F(user), 0, 0, set_unix_name, get_string,
	    "unprivileged user for sessions and diagnostics (when started "
	    "as root)",
	    "porthole" },
	{ "gateway", "admin_group", V_FUNC, F(admin_group), 0, 0,
	    set_unix_name, get_string,
	    "group that may use the control socket (besides root)",
	    "porthole-admin" },
	{ "gateway", "seal_every", V_UINT, F(seal_every), 1, 1000000, NULL,
	    NULL, "audit: most events between two seals",
	    "100" },
	{ "gateway", "seal_interval", V_DURATION, F(seal_interval), 1, DAY,
	    NULL, NULL, "audit: longest time between two seals",
	    "5m" },
	{ "gateway", "audit_rotate", V_SIZE, F(audit_rotate), 16 * 1024,
	    SIZE_MAX_BYTES, NULL, NULL,
	    "audit: after a seal, start a new log file once the current one "
	    "holds this much (0: never)",
	    "64M" },
	{ "gateway", "audit_failure", V_FUNC, 0, 0, 0, set_audit_failure,
	    get_audit_failure,
	    "close: refuse and end sessions when the audit log cannot be "
	    "written",
	    "close" },

	{ "remote_access", "enabled", V_BOOL, F(ra_enabled), 0, 0, NULL, NULL,
	    "master switch for engineer sessions",
	    "no" },
	{ "remote_access", "approval", V_FUNC, F(approval_required), 0, 0,
	    set_approval,
	    get_approval,
	    "required: each session waits for `porthole approve ID`; or none",
	    "required" },
	{ "remote_access", "approval_timeout", V_DURATION,
	    F(approval_timeout), 10, DAY, NULL, NULL,
	    "a pending session nobody approves is refused after this",
	    "10m" },
	{ "remote_access", "engineers", V_FUNC, F(engineers), 0, 0,
	    set_engineers, get_engineers,
	    "certificate principals allowed in, or *; empty: nobody", NULL },
	{ "remote_access", "require_ticket", V_BOOL, F(require_ticket), 0, 0,
	    NULL, NULL,
	    "certificates must carry the extension ticket@porthole",
	    "yes" },
	{ "remote_access", "expires", V_FUNC, 0, 0, 0, set_expires,
	    get_expires, "the grant ends at this time, YYYY-MM-DDTHH:MM:SSZ", NULL },
	{ "remote_access", "max_session", V_DURATION, F(max_session), 10,
	    7 * DAY, NULL, NULL, "longest session",
	    "2h" },
	{ "remote_access", "idle_timeout", V_DURATION, F(idle_timeout), 10,
	    DAY, NULL, NULL, "a silent session ends after this",
	    "15m" },
	{ "remote_access", "max_sessions", V_UINT, F(max_sessions), 1, 100,
	    NULL, NULL, "sessions at the same time",
	    "4" },
	{ "remote_access", "end_at_cert_expiry", V_BOOL,
	    F(end_at_cert_expiry), 0, 0, NULL, NULL,
	    "a session ends when the engineer's certificate expires",
	    "yes" },

	{ "files", "enabled", V_BOOL, F(files_enabled), 0, 0, NULL, NULL,
	    "read-only file access via sftp/scp and the support shell",
	    "no" },
	{ "files", "paths", V_FUNC, F(file_paths), 0, 0, set_file_paths,
	    get_list, "directories engineers may read", NULL },
	{ "files", "deny", V_FUNC, F(file_deny), 0, 0, set_file_deny,
	    get_list, "file name patterns never shown", NULL },

	{ "commands", "enabled", V_BOOL, F(commands_enabled), 0, 0, NULL,
	    NULL, "engineers may run the diagnostics listed below",
	    "no" },
	{ "commands", "timeout", V_DURATION, F(command_timeout), 1, HOUR,
	    NULL, NULL, "a diagnostic running longer is killed",
	    "60s" },

	{ "forward", "enabled", V_BOOL, F(forward_enabled), 0, 0, NULL, NULL,
	    "port forwarding to the targets below",
	    "no" },
	{ "forward", "targets", V_FUNC, 0, 0, 0, set_targets, get_targets,
	    "HOST:PORT of product services engineers may reach", NULL },

	{ "settings", "enabled", V_BOOL, F(settings_enabled), 0, 0, NULL,
	    NULL, "remote optimisation of the settings listed below",
	    "no" },
	{ "settings", "file", V_PATH, F(settings_file), 0, 0, NULL, NULL,
	    "the product's settings file", NULL },
	{ "settings", "keys", V_FUNC, F(settings_keys), 0, 0,
	    set_settings_keys, get_list, "settings engineers may change", NULL },

	{ "telemetry", "usage", V_BOOL, F(tel_usage), 0, 0, NULL, NULL,
	    "hourly license consumption (billing)",
	    "yes" },
	{ "telemetry", "health", V_BOOL, F(tel_health), 0, 0, NULL, NULL,
	    "nodes, services, disk partitions, hardware",
	    "yes" },
	{ "telemetry", "events", V_BOOL, F(tel_events), 0, 0, NULL, NULL,
	    "start/shutdown, nodes added/removed, ActiveGate registrations",
	    "yes" },
	{ "telemetry", "health_interval", V_DURATION, F(health_interval),
	    10, DAY, NULL, NULL, "how often health is sent",
	    "2m" },
	{ "telemetry", "disks", V_FUNC, F(disks), 0, 0, set_disks, get_list,
	    "partitions whose usage health reports", NULL },
	{ "telemetry", "services", V_FUNC, 0, 0, 0, set_services,
	    get_services, "NAME=HOST:PORT of services health checks", NULL },

	{ "updates", "vendor_key", V_PATH, F(vendor_key), 0, 0, NULL, NULL,
	    "the vendor's ssh-ed25519 public key, pinned: an update notice "
	    "must be signed by it (ssh-keygen -Y sign -n porthole-update); "
	    "without it every notice is refused", NULL },
	{ "updates", "version_command", V_FUNC, F(version_command), 0, 0,
	    set_hook, get_string,
	    "absolute command printing the product's installed version "
	    "(dotted decimal); needed with vendor_key: it is run before a "
	    "notice is accepted and before an update runs, and the higher of "
	    "what it prints and porthole's last install is what is installed",
	    NULL },
	{ "updates", "window", V_FUNC, F(update_window), 0, 0, set_window,
	    get_string,
	    "install updates in the hour starting then (cluster local time): "
	    "weekly DAY HH:MM or daily HH:MM; none: at any time", NULL },
	{ "updates", "notify_command", V_FUNC, F(notify_command), 0, 0,
	    set_hook, get_string,
	    "absolute command run to tell the admins of a scheduled update "
	    "(PORTHOLE_UPDATE_VERSION, _WHEN, _NOTES in its environment)",
	    NULL },
	{ "updates", "update_command", V_FUNC, F(update_command), 0, 0,
	    set_hook, get_string,
	    "absolute command that installs an update; {package} and "
	    "{version} are filled in", NULL },
	{ "updates", "timeout", V_DURATION, F(update_timeout), MIN, DAY,
	    NULL, NULL, "update_command is killed after this",
	    "2h" },

	{ "redact", "paths", V_FUNC, F(redact_paths), 0, 0, set_redact_paths,
	    get_redact_paths,
	    "globs of the files whose bytes are redacted when read (a glob "
	    "naming a directory covers all beneath it); not set: everything "
	    "beneath the [files] paths roots", NULL },

	{ "bundle", "enabled", V_BOOL, F(bundle_enabled), 0, 0, NULL, NULL,
	    "support bundles: the files and diagnostic output below, gathered "
	    "for the engineer's `ssh ... bundle` or the vendor's request",
	    "no" },
	{ "bundle", "paths", V_FUNC, F(bundle_paths), 0, 0, set_bundle_paths,
	    get_list,
	    "globs of the files a bundle holds (a glob naming a directory "
	    "takes all beneath it); the part before the first wildcard must "
	    "lie beneath a [files] paths root, whose deny globs apply", NULL },
	{ "bundle", "commands", V_FUNC, F(bundle_commands), 0, 0,
	    set_bundle_commands, get_list,
	    "names of [commands] diagnostics (without placeholders) whose "
	    "output a bundle holds", NULL },
	{ "bundle", "since", V_DURATION, F(bundle_since), MIN, 365 * DAY,
	    NULL, NULL, "files last changed longer ago are left out",
	    "7d" },
	{ "bundle", "max_size", V_FUNC, F(bundle_max_size), 1024 * 1024,
	    64ULL << 30, set_size_bounded, get_size,
	    "most bytes read into one bundle, 1M to 64G; the newest files "
	    "that fit go in, and the manifest lists what was left out", "200M" },
	{ "bundle", "approval", V_FUNC, F(bundle_approval_required), 0, 0,
	    set_approval, get_approval,
	    "required: a bundle leaves only after `porthole bundle approve "
	    "ID`; or none", "required" },
	{ "bundle", "on_events", V_FUNC, F(bundle_on_events), 0, 0,
	    set_on_events, get_list,
	    "product event types (a-z 0-9 _) that gather a bundle at once",
	    NULL },
};

/* Above the [commands] entries that are not keys of the table. */
static const char commands_help[] =
    "NAME = absolute argv; {NAME:int} and {NAME:word} take the engineer's "
    "words";

/* Above the [redact] patterns, which are not keys of the table either. */
static const char redact_help[] =
    "pattern.NAME = a POSIX extended regular expression, one key per "
    "pattern; every match in a line leaves the cluster as * of the same "
    "length; a pattern cannot hold ';', which starts a comment";

static const char *const sections[] = {
	"gateway", "remote_access", "files", "commands", "forward",
	"settings", "telemetry", "updates",
	"redact", "bundle",
};

#define FIELD(p, ks, type)	((type *)(void *)((char *)(p) + (ks)->off))
#define CFIELD(p, ks, type)	\
	((type const *)(const void *)((const char *)(p) + (ks)->off))

/* [A-Za-z0-9._-]{1,max} */
static int
valid_name(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= max || !policy_setting_char(s[i]))
			return 0;
	}
	return i > 0;
}

/* Printable ASCII, blanks allowed. */
static int
printable(const char *s)
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

	if (s[0] != '/' || strlen(s) >= PATH_MAX_LEN || !printable(s))
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

static int
set_relay(struct policy *p, const struct keyspec *ks, const char *value,
    char *msg, size_t len)
{
	if (parse_hostport(value, p->relay_host, sizeof(p->relay_host),
	    &p->relay_port) == -1) {
		snprintf(msg, len, "relay: expected HOST:PORT or [ADDR]:PORT, "
		    "got '%s'", value);
		return -1;
	}
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
	return printable(s);
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
	struct policy_target	*t = NULL;
	char			**v = NULL;
	size_t			 nv = 0, i;
	int			 rc = -1;

	if (set_list(ks, value, NULL, "HOST:PORT", &v, &nv, msg, len) == -1)
		return -1;
	if (nv > 0 && (t = calloc(nv, sizeof(*t))) == NULL) {
		snprintf(msg, len, "out of memory");
		goto out;
	}
	for (i = 0; i < nv; i++) {
		if (parse_hostport(v[i], t[i].host, sizeof(t[i].host),
		    &t[i].port) == -1) {
			snprintf(msg, len, "targets: expected HOST:PORT, "
			    "got '%s'", v[i]);
			goto out;
		}
	}
	free(p->targets);
	p->targets = t;
	p->ntargets = nv;
	t = NULL;
	rc = 0;
out:
	free(t);
	parse_list_free(v);
	return rc;
}

#define SETTING_NAME_MAX	128

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
static int
split_words(const char *s, char ***out, size_t max)
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

	n = split_words(value, &w, POLICY_MAX_WORDS);
	if (n > 0 && printable(value) && valid_path(w[0])) {
		policy_argv_free(w);
		return replace_string(FIELD(p, ks, char *), value, msg, len);
	}
	if (n >= 0)
		policy_argv_free(w);
	snprintf(msg, len, "%s: expected an absolute command of at most %d "
	    "words, got '%s'", ks->key, POLICY_MAX_WORDS, value);
	return -1;
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
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= NAME_MAX_LEN || !((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return i > 0;
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
static int
placeholder_type(const char *w, char *msg, size_t len)
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
add_command(struct policy *p, const char *name, const char *value, char *msg,
    size_t len)
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
	if (p->ncommands >= POLICY_MAX_COMMANDS) {
		snprintf(msg, len, "too many commands (at most %d)",
		    POLICY_MAX_COMMANDS);
		return -1;
	}
	if (!printable(value)) {
		snprintf(msg, len, "%s: non-printable character in command",
		    name);
		return -1;
	}
	if ((n = split_words(value, &w, POLICY_MAX_WORDS)) == -1) {
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
		if (placeholder_type(w[i], why, sizeof(why)) == -1) {
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

	nc = reallocarray(p->commands, p->ncommands + 1, sizeof(*nc));
	if (nc == NULL) {
		snprintf(msg, len, "out of memory");
		goto out;
	}
	p->commands = nc;
	nc = &p->commands[p->ncommands];
	if ((nc->name = strdup(name)) == NULL) {
		snprintf(msg, len, "out of memory");
		goto out;
	}
	nc->argv = w;
	nc->argc = (size_t)n;
	w = NULL;
	p->ncommands++;
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
		return add_command(p, key, value, msg, len);
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
	if (p->relay_port == 0)
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
	for (ks = keys; ks->section != NULL; ks++)
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
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (keys[i].set != set_hook ||
		    (v = *CFIELD(p, &keys[i], char *)) == NULL)
			continue;
		w = NULL;
		if (split_words(v, &w, POLICY_MAX_WORDS) > 0)
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
	free(p->targets);
	free(p->settings_file);
	parse_list_free(p->settings_keys);
	parse_list_free(p->disks);
	services_free(p->services, p->nservices);
	free(p->update_window);
	free(p->vendor_key);
	free(p->version_command);
	free(p->notify_command);
	free(p->update_command);
	redact_free(p->redact);
	parse_list_free(p->redact_paths);
	parse_list_free(p->bundle_paths);
	parse_list_free(p->bundle_commands);
	parse_list_free(p->bundle_on_events);
	free(p);
}

/*
 * policy_write: the effective policy as a porthole.conf.  Each line is
 * built in a buffer as long as the reader's line limit, so that what is
 * printed can always be read back.
 */
struct line {
	char		 buf[INIFILE_MAX_LINE + 1];
	size_t		 len;
	int		 full;		/* something did not fit */
	const char	*sep;		/* between list items */
};

static void __attribute__((format(printf, 2, 3)))
line_add(struct line *l, const char *fmt, ...)
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
		line_add(l, "%s%s", i == 0 ? "" : items[i][0] == ';' ? "," :
		    l->sep, items[i]);
}

/* IPv6 addresses go back into brackets. */
static void
line_hostport(struct line *l, const char *host, uint16_t port)
{
	if (strchr(host, ':') != NULL)
		line_add(l, "[%s]:%u", host, (unsigned int)port);
	else
		line_add(l, "%s:%u", host, (unsigned int)port);
}

/* The getters append a key's value and return 1, or 0 if it is unset. */
static int
get_string(const struct policy *p, const struct keyspec *ks, struct line *l)
{
	const char *v = *CFIELD(p, ks, char *);

	if (v == NULL)
		return 0;
	line_add(l, "%s", v);
	return 1;
}

static int
get_relay(const struct policy *p, const struct keyspec *ks, struct line *l)
{
	if (p->relay_port == 0)
		return 0;
	line_hostport(l, p->relay_host, p->relay_port);
	return 1;
}

static int
get_audit_failure(const struct policy *p, const struct keyspec *ks,
    struct line *l)
{
	if (!p->audit_failure_close)
		return 0;
	line_add(l, "close");
	return 1;
}

static int
get_approval(const struct policy *p, const struct keyspec *ks,
    struct line *l)
{
	line_add(l, "%s", *CFIELD(p, ks, int) ? "required" : "none");
	return 1;
}

static int
get_engineers(const struct policy *p, const struct keyspec *ks,
    struct line *l)
{
	if (p->engineers_any)
		line_add(l, "*");
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
	line_add(l, "%s", when);
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
		line_add(l, "%s", i == 0 ? "" : l->sep);
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
		line_add(l, "%s%s=", i == 0 ? "" : l->sep,
		    p->services[i].name);
		line_hostport(l, p->services[i].host, p->services[i].port);
	}
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
	line_add(l, "%s", buf);
	return 1;
}

static int
get_value(const struct policy *p, const struct keyspec *ks, struct line *l)
{
	char dur[32];

	switch (ks->type) {
	case V_BOOL:
		line_add(l, "%s", *CFIELD(p, ks, int) ? "yes" : "no");
		return 1;
	case V_UINT:
		line_add(l, "%llu",
		    (unsigned long long)*CFIELD(p, ks, uint64_t));
		return 1;
	case V_DURATION:
		parse_format_duration(*CFIELD(p, ks, uint64_t), dur,
		    sizeof(dur));
		line_add(l, "%s", dur);
		return 1;
	case V_SIZE:
		parse_format_size(*CFIELD(p, ks, uint64_t), dur, sizeof(dur));
		line_add(l, "%s", dur);
		return 1;
	case V_PATH:
		return get_string(p, ks, l);
	case V_FUNC:
		return ks->get(p, ks, l);
	}
	return 0;
}

/*
 * One "key = value" line.  A value that does not fit the line limit with
 * blanks around '=' and after commas is written without them, as it
 * must have been in the file it came from.  An unset key (no default,
 * not in the file) is shown as a comment: only leaving it out reads back
 * as unset.
 */
static int
write_key(FILE *out, const char *key, const struct policy *p,
    const struct keyspec *ks, const struct policy_command *cmd,
    const char *raw)
{
	static const char *const eq[] = { " = ", "=" };
	static const char *const sep[] = { ", ", "," };
	struct line	 l;
	size_t		 i, j, v = 0;
	int		 set = 1;

	for (i = 0; i < sizeof(eq) / sizeof(eq[0]); i++) {
		memset(&l, 0, sizeof(l));
		l.sep = sep[i];
		line_add(&l, "%s%s", key, eq[i]);
		v = l.len;
		if (ks != NULL)
			set = get_value(p, ks, &l);
		for (j = 0; cmd != NULL && j < cmd->argc; j++)
			line_add(&l, "%s%s", j == 0 ? "" : " ", cmd->argv[j]);
		if (raw != NULL)
			line_add(&l, "%s", raw);
		if (!l.full)
			break;
	}
	if (l.full) {
		errno = EOVERFLOW;
		return -1;
	}
	/* "key =" for an empty value, "key =;x" for one starting with ';'. */
	if (v > 0 && l.buf[v - 1] == ' ' && (v == l.len || l.buf[v] == ';')) {
		memmove(l.buf + v - 1, l.buf + v, l.len - v + 1);
		l.len--;
	}
	if (!set)
		return fprintf(out, "; %s = (not set)\n", key) < 0 ? -1 : 0;
	return fprintf(out, "%s\n", l.buf) < 0 ? -1 : 0;
}

/* "; help", with the bounds of a number or a duration. */
static int
write_help(FILE *out, const struct keyspec *ks)
{
	char	 lo[32], hi[32], range[80] = "", def[96] = "";
	int	 n;

	if (ks->type == V_DURATION) {
		parse_format_duration(ks->min, lo, sizeof(lo));
		parse_format_duration(ks->max, hi, sizeof(hi));
		snprintf(range, sizeof(range), " (%s-%s)", lo, hi);
	} else if (ks->type == V_SIZE) {
		parse_format_size(ks->min, lo, sizeof(lo));
		parse_format_size(ks->max, hi, sizeof(hi));
		snprintf(range, sizeof(range), " (0, or %s-%s)", lo, hi);
	} else if (ks->type == V_UINT)
		snprintf(range, sizeof(range), " (%llu-%llu)",
		    (unsigned long long)ks->min, (unsigned long long)ks->max);
	if (ks->def != NULL)
		snprintf(def, sizeof(def), "; default %s", ks->def);
	n = fprintf(out, "; %s%s%s\n", ks->help, range, def);
	return n < 0 ? -1 : 0;
}

/* The [redact] patterns, under their one help line. */
static int
write_patterns(const struct policy *p, FILE *out)
{
	char	key[sizeof("pattern.") + REDACT_NAME_MAX];
	size_t	i;

	if (fprintf(out, "; %s\n", redact_help) < 0)
		return -1;
	for (i = 0; i < redact_count(p->redact); i++) {
		snprintf(key, sizeof(key), "pattern.%s",
		    redact_name(p->redact, i));
		if (write_key(out, key, p, NULL, NULL,
		    redact_regex(p->redact, i)) == -1)
			return -1;
	}
	return 0;
}

static int
write_section(const struct policy *p, const char *section, FILE *out)
{
	size_t i;

	if (fprintf(out, "[%s]\n", section) < 0)
		return -1;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].section, section) != 0)
			continue;
		if (write_help(out, &keys[i]) == -1 ||
		    write_key(out, keys[i].key, p, &keys[i], NULL, NULL) == -1)
			return -1;
	}
	if (strcmp(section, "redact") == 0)
		return write_patterns(p, out);
	if (strcmp(section, "commands") != 0)
		return 0;
	if (fprintf(out, "; %s\n", commands_help) < 0)
		return -1;
	for (i = 0; i < p->ncommands; i++)
		if (write_key(out, p->commands[i].name, p, NULL,
		    &p->commands[i], NULL) == -1)
			return -1;
	return 0;
}

int
policy_write(const struct policy *p, FILE *out)
{
	size_t i;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		if (i > 0 && fputc('\n', out) == EOF)
			return -1;
		if (write_section(p, sections[i], out) == -1)
			return -1;
	}
	if (fflush(out) == EOF || ferror(out))
		return -1;
	return 0;
}

/* One line of text for roff: backslashes escaped, no control line. */
static int
man_text(FILE *out, const char *text)
{
	const char *c;

	if ((text[0] == '.' || text[0] == '\'') && fputs("\\&", out) == EOF)
		return -1;
	for (c = text; *c != '\0'; c++)
		if ((*c == '\\' ? fputs("\\e", out) : fputc(*c, out)) == EOF)
			return -1;
	return fputc('\n', out) == EOF ? -1 : 0;
}

int
policy_write_man(FILE *out)
{
	char	 line[512], lo[32], hi[32];
	size_t	 i, j;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		if (fprintf(out, ".SS \"[%s]\"\n", sections[i]) < 0)
			return -1;
		for (j = 0; j < sizeof(keys) / sizeof(keys[0]); j++) {
			const struct keyspec *ks = &keys[j];

			if (strcmp(ks->section, sections[i]) != 0)
				continue;
			if (fprintf(out, ".TP\n.B %s\n", ks->key) < 0)
				return -1;
			snprintf(line, sizeof(line), "%s.", ks->help);
			line[0] = (char)toupper((unsigned char)line[0]);
			if (ks->type == V_DURATION) {
				parse_format_duration(ks->min, lo, sizeof(lo));
				parse_format_duration(ks->max, hi, sizeof(hi));
				snprintf(line + strlen(line), sizeof(line) -
				    strlen(line), " From %s to %s.", lo, hi);
			} else if (ks->type == V_SIZE) {
				parse_format_size(ks->min, lo, sizeof(lo));
				parse_format_size(ks->max, hi, sizeof(hi));
				snprintf(line + strlen(line), sizeof(line) -
				    strlen(line), " 0, or from %s to %s.", lo,
				    hi);
			} else if (ks->type == V_UINT)
				snprintf(line + strlen(line), sizeof(line) -
				    strlen(line), " From %llu to %llu.",
				    (unsigned long long)ks->min,
				    (unsigned long long)ks->max);
			if (ks->def != NULL)
				snprintf(line + strlen(line), sizeof(line) -
				    strlen(line), " Default: %s.",
				    ks->def[0] != '\0' ? ks->def : "empty");
			else
				snprintf(line + strlen(line), sizeof(line) -
				    strlen(line), " No default.");
			if (man_text(out, line) == -1)
				return -1;
		}
		if (strcmp(sections[i], "commands") == 0 &&
		    (fputs(".TP\n.I name\n", out) == EOF ||
		    man_text(out, commands_help) == -1))
			return -1;
		if (strcmp(sections[i], "redact") == 0 &&
		    (fputs(".TP\n.BI pattern. NAME\n", out) == EOF ||
		    man_text(out, redact_help) == -1))
			return -1;
	}
	return fflush(out) == EOF || ferror(out) ? -1 : 0;
}

int
policy_allow_session(const struct policy *p, const char *const *principals,
    size_t nprincipals, const char *ticket, time_t now, const char **engineer,
    char *reason, size_t rlen)
{
	struct tm	 tm;
	char		 when[32];
	size_t		 i, j;

	if (!p->ra_enabled) {
		snprintf(reason, rlen, "remote access is disabled on this "
		    "cluster");
		return 0;
	}
	if (p->expires != 0 && now >= p->expires) {
		if (gmtime_r(&p->expires, &tm) == NULL ||
		    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
		    &tm) == 0)
			snprintf(when, sizeof(when), "%lld",
			    (long long)p->expires);
		snprintf(reason, rlen, "remote access grant expired at %s",
		    when);
		return 0;
	}
	if (nprincipals == 0 || principals == NULL || principals[0] == NULL) {
		snprintf(reason, rlen, "the certificate names no principal");
		return 0;
	}
	*engineer = NULL;
	for (i = 0; i < nprincipals && *engineer == NULL; i++) {
		if (principals[i] == NULL)
			continue;
		if (p->engineers_any)
			*engineer = principals[i];
		for (j = 0; j < p->nengineers && *engineer == NULL; j++)
			if (strcmp(principals[i], p->engineers[j]) == 0)
				*engineer = principals[i];
	}
	if (*engineer == NULL) {
		snprintf(reason, rlen, "engineer '%s' is not allowed on this "
		    "cluster", principals[0]);
		return 0;
	}
	if (p->require_ticket && (ticket == NULL || ticket[0] == '\0')) {
		*engineer = NULL;
		snprintf(reason, rlen, "a support ticket is required "
		    "(certificate extension ticket@porthole)");
		return 0;
	}
	return 1;
}

/* An engineer's word for a placeholder of type t. */
static int
valid_arg(enum ph_type t, const char *s)
{
	size_t n = strlen(s), i;

	if (t == PH_INT) {
		if (n == 0 || n > INT_ARG_DIGITS)
			return 0;
		for (i = 0; i < n; i++)
			if (!isdigit((unsigned char)s[i]))
				return 0;
		return 1;
	}
	/* A leading '-' would be read as an option by the diagnostic. */
	return valid_name(s, NAME_MAX_LEN) && s[0] != '-';
}

/* "{lines:int}" -> "lines" into buf. */
static const char *
placeholder_name(const char *w, char *buf, size_t len)
{
	snprintf(buf, len, "%.*s", (int)strcspn(w + 1, ":"), w + 1);
	return buf;
}

int
policy_allow_session_slot(const struct policy *p, size_t nsessions,
    char *reason, size_t rlen)
{
	if (nsessions < p->max_sessions)
		return 1;
	snprintf(reason, rlen, "the customer allows %llu session%s at once "
	    "and %s in use", (unsigned long long)p->max_sessions,
	    p->max_sessions == 1 ? "" : "s", p->max_sessions == 1 ? "it is" :
	    "they are all");
	return 0;
}

void
policy_forward_refusal(const char *host, uint16_t port, char *reason,
    size_t rlen)
{
	/* An IPv6 literal is shown in brackets, as ssh -L takes it. */
	snprintf(reason, rlen, "%s%.255s%s:%u is not a forwarding target on "
	    "this cluster", strchr(host, ':') != NULL ? "[" : "", host,
	    strchr(host, ':') != NULL ? "]" : "", port);
}

int
policy_allow_forward(const struct policy *p, const char *host,
    uint16_t port, char *reason, size_t rlen)
{
	size_t i;

	if (!p->forward_enabled) {
		snprintf(reason, rlen, "port forwarding is disabled on this "
		    "cluster");
		return 0;
	}
	for (i = 0; host[i] != '\0'; i++)
		if (i >= 255 || host[i] <= 0x20 || host[i] > 0x7e)
			break;
	if (i == 0 || host[i] != '\0') {
		snprintf(reason, rlen, "not a host name or address");
		return 0;
	}
	/* No target on this port: refused without asking DNS at all. */
	for (i = 0; i < p->ntargets; i++)
		if (p->targets[i].port == port)
			return 1;
	policy_forward_refusal(host, port, reason, rlen);
	return 0;
}

int
policy_setting_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int
policy_allow_setting(const struct policy *p, const char *key, char *reason,
    size_t rlen)
{
	size_t i, n;

	if (!p->settings_enabled) {
		snprintf(reason, rlen, "remote settings are disabled on this "
		    "cluster");
		return 0;
	}
	if (p->settings_file == NULL) {
		snprintf(reason, rlen, "no settings file is configured on "
		    "this cluster");
		return 0;
	}
	for (n = 0; key[n] != '\0'; n++)
		if (n >= SETTING_NAME_MAX || !policy_setting_char(key[n]))
			break;
	if (n == 0 || key[n] != '\0') {
		snprintf(reason, rlen, "not a setting name");
		return 0;
	}
	for (i = 0; i < p->nsettings_keys; i++)
		if (strcmp(p->settings_keys[i], key) == 0)
			return 1;
	snprintf(reason, rlen, "key '%s' is not a listed setting", key);
	return 0;
}


int
policy_allow_command(const struct policy *p, const char *cmdline,
    char ***argv, char *reason, size_t rlen)
{
	const struct policy_command	*cmd = NULL;
	char				**words = NULL, **out = NULL, nbuf[64];
	size_t				 i, nargs, nph = 0, a;
	enum ph_type			 t;
	int				 n, ok = 0;

	if (!p->ra_enabled) {
		snprintf(reason, rlen, "remote access is disabled on this "
		    "cluster");
		return 0;
	}
	if (!p->commands_enabled) {
		snprintf(reason, rlen, "diagnostics are disabled on this "
		    "cluster");
		return 0;
	}
	if (cmdline == NULL)
		cmdline = "";
	if (strnlen(cmdline, POLICY_MAX_CMDLINE + 1) > POLICY_MAX_CMDLINE) {
		snprintf(reason, rlen, "command line longer than %d "
		    "characters", POLICY_MAX_CMDLINE);
		return 0;
	}
	for (i = 0; cmdline[i] != '\0'; i++) {
		if (cmdline[i] < 0x20 || cmdline[i] > 0x7e) {
			snprintf(reason, rlen, "command line holds a "
			    "non-printable character");
			return 0;
		}
	}
	if ((n = split_words(cmdline, &words, POLICY_MAX_WORDS)) == -1) {
		snprintf(reason, rlen, "command line has more than %d words",
		    POLICY_MAX_WORDS);
		return 0;
	}
	if (n == 0) {
		snprintf(reason, rlen, "no command given");
		goto out;
	}
	for (i = 0; i < p->ncommands && cmd == NULL; i++)
		if (strcmp(p->commands[i].name, words[0]) == 0)
			cmd = &p->commands[i];
	if (cmd == NULL) {
		snprintf(reason, rlen, "command '%s' is not allowed on this "
		    "cluster", words[0]);
		goto out;
	}

	for (i = 1; i < cmd->argc; i++)
		if (cmd->argv[i][0] == '{')
			nph++;
	nargs = (size_t)n - 1;
	if (nargs < nph) {
		snprintf(reason, rlen, "command '%s' needs %zu argument(s)",
		    cmd->name, nph);
		goto out;
	}
	if (nargs > nph) {
		snprintf(reason, rlen, "command '%s' takes %zu argument(s)",
		    cmd->name, nph);
		goto out;
	}

	if ((out = calloc(cmd->argc + 1, sizeof(*out))) == NULL) {
		snprintf(reason, rlen, "out of memory");
		goto out;
	}
	for (i = 0, a = 1; i < cmd->argc; i++) {
		t = cmd->argv[i][0] == '{' ? (enum ph_type)placeholder_type(
		    cmd->argv[i], nbuf, sizeof(nbuf)) : PH_NONE;
		if (t != PH_NONE && !valid_arg(t, words[a])) {
			snprintf(reason, rlen, "command '%s': argument '%s' "
			    "is not a valid %s (%s)", cmd->name, words[a],
			    t == PH_INT ? "int" : "word",
			    placeholder_name(cmd->argv[i], nbuf,
			    sizeof(nbuf)));
			goto out;
		}
		if ((out[i] = strdup(t == PH_NONE ? cmd->argv[i] :
		    words[a++])) == NULL) {
			snprintf(reason, rlen, "out of memory");
			goto out;
		}
	}
	*argv = out;
	out = NULL;
	ok = 1;
out:
	policy_argv_free(out);
	policy_argv_free(words);
	return ok;
}

char **
policy_hook_argv(const char *value)
{
	char **w = NULL;

	if (split_words(value, &w, POLICY_MAX_WORDS) <= 0) {
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
