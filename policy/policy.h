/*
 * policy.h - porthole.conf read into an immutable policy, and the pure
 * decision functions over it.  Every grant defaults to OFF; an invalid
 * file yields no policy at all ("FILE:LINE: message"), never half of one.
 */
#ifndef PH_POLICY_H
#define PH_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define POLICY_MAX_CMDLINE	1024	/* an engineer's command line */
#define POLICY_CONTROL_SOCKET	"control.sock"	/* in run_dir */
#define POLICY_MAX_WORDS	32	/* words in a command line or argv */
#define POLICY_PATH_MAX		1024	/* a path an engineer asks for */
#define POLICY_MAX_RELAYS	16	/* [gateway] relay: tunnels kept */

struct policy_command {
	char		*name;		/* what the engineer types */
	char		**argv;		/* template, NULL-terminated; argv[0] absolute */
	size_t		 argc;
};

struct policy_target {
	char		 host[256];
	uint16_t	 port;
};

struct redact;				/* lib/redact.h */

struct policy_service {
	char		*name;
	char		 host[256];
	uint16_t	 port;
};

struct policy {
	char		*path;			/* the file it came from */

	/* [gateway] */
	char		*cluster_id;		/* [A-Za-z0-9._-]{1,64} */
	struct policy_target *relays;		/* one tunnel to each */
	size_t		 nrelays;
	char		*relay_host_key;	/* absolute paths */
	char		*cluster_key;
	char		*session_host_key;
	char		*support_ca;
	char		*revoked_keys;	/* KRL or key list; NULL: none */
	char		*state_dir;
	char		*audit_dir;
	char		*run_dir;
	char		*user;
	char		*admin_group;
	uint64_t	 seal_every;
	uint64_t	 seal_interval;		/* seconds */
	uint64_t	 audit_rotate;		/* bytes, 0: never */
	int		 audit_failure_close;	/* audit_failure = close */
	uint64_t	 keepalive_interval;	/* seconds */
	uint64_t	 keepalive_count;

	/* [remote_access] */
	int		 ra_enabled;
	int		 approval_required;	/* approval = required */
	uint64_t	 approval_timeout;	/* seconds a session may wait */
	int		 engineers_any;		/* engineers = * */
	char		**engineers;		/* NULL-terminated */
	size_t		 nengineers;
	int		 require_ticket;
	time_t		 expires;		/* 0: no expiry */
	uint64_t	 max_session;		/* seconds */
	uint64_t	 idle_timeout;		/* seconds */
	uint64_t	 max_sessions;
	int		 end_at_cert_expiry;	/* at valid_before */
	char		*ra_notify_command;	/* argv run when one waits */
	uint64_t	 ra_notify_timeout;	/* seconds */
	int		 ra_require_watch;	/* a shell waits for a watcher */

	/* [files] */
	int		 files_enabled;
	char		**file_paths;
	size_t		 nfile_paths;
	char		**file_deny;
	size_t		 nfile_deny;

	/* [commands] */
	int		 commands_enabled;
	uint64_t	 command_timeout;	/* seconds */
	struct policy_command *commands;
	size_t		 ncommands;

	/* [actions]: changes, each run approved by the customer */
	int		 actions_enabled;
	int		 action_approval_required;
	uint64_t	 action_timeout;	/* seconds */
	uint64_t	 action_output_keep;	/* seconds */
	struct policy_command *actions;
	size_t		 nactions;

	/* [forward] */
	int		 forward_enabled;
	struct policy_target *targets;
	size_t		 ntargets;

	/* [settings] */
	int		 settings_enabled;
	char		*settings_file;
	char		**settings_keys;
	size_t		 nsettings_keys;

	/* [telemetry] */
	int		 tel_usage;
	int		 tel_health;
	int		 tel_events;
	uint64_t	 health_interval;	/* seconds */
	char		**disks;
	size_t		 ndisks;
	struct policy_service *services;
	size_t		 nservices;
	unsigned	 disk_warn;		/* percent; 0: off */
	uint64_t	 outbox_keep;		/* seconds */
	uint64_t	 outbox_max;		/* bytes; 0: no copy */

	/* [updates] */
	char		*vendor_key;		/* ssh-ed25519 .pub; NULL: none */
	char		*version_command;
	char		*update_window;		/* "weekly sun 02:00" | "daily 03:00" */
	char		*notify_command;
	char		*update_command;
	uint64_t	 update_timeout;	/* seconds */

	/* [redact] */
	struct redact	*redact;		/* the patterns, compiled */
	int		 redact_paths_set;	/* else: every [files] root */
	char		**redact_paths;		/* globs */
	size_t		 nredact_paths;

	/* [bundle] */
	int		 bundle_enabled;
	char		**bundle_paths;		/* globs beneath [files] roots */
	size_t		 nbundle_paths;
	char		**bundle_commands;	/* [commands] names */
	size_t		 nbundle_commands;
	uint64_t	 bundle_since;		/* seconds */
	uint64_t	 bundle_max_size;	/* bytes read */
	int		 bundle_approval_required;
	char		**bundle_on_events;	/* event types */
	size_t		 nbundle_on_events;

	/* [alerts] */
	char		*alert_notify_command;
};

/* Read and validate path.  Returns 0, or -1 with "FILE:LINE: message". */
int	policy_load(const char *path, struct policy **out, char *err,
	    size_t errlen);
/*
 * The same from an open regular file (a policy_write() copy handed to
 * a session's monitor), named name in errors and in the policy's path.
 */
int	policy_load_fd(int fd, const char *name, struct policy **out,
	    char *err, size_t errlen);
void	policy_free(struct policy *p);
/*
 * Where the control socket of the gateway configured in path lives, read
 * leniently so that a broken file still reaches the running daemon (which
 * then refuses a reload of it and says why): [gateway] run_dir if the
 * file names one, else the default.  Returns 0, or -1 if buf is too small.
 */
int	policy_run_dir(const char *path, char *buf, size_t len);

/*
 * Call cb with the program of every argv-valued key that is set: each
 * [commands] diagnostic (key: its name) and each *_command hook.
 */
typedef void (*policy_program_cb)(void *arg, const char *section,
    const char *key, const char *program);
void	policy_each_program(const struct policy *p, policy_program_cb cb,
	    void *arg);

/*
 * What a start of portholed checks beyond the syntax (policy_check.c):
 * the file itself, the keys it names and their kinds, the directories,
 * user and admin_group, and every program it may run, under the rules
 * of lib/filecheck.h.  Each problem is one line on fc->out; returns the
 * number of problems.
 */
struct filecheck;
unsigned int	policy_check(const struct policy *p, struct filecheck *fc);

/*
 * Write the effective policy to out as a porthole.conf: every section
 * and every key, defaults included, each under a "; help" comment, the
 * [commands] diagnostics last in their section.  policy_load() reads it
 * back into the same policy; a key without a value (an unset optional
 * key) is written as a comment.  Returns 0, or -1 if out could not be
 * written.
 */
int	policy_write(const struct policy *p, FILE *out);
/*
 * Every key of the table as man page text: for each section a .SS, for
 * each key a .TP with its help, bounds, default and when a reload
 * applies it.  doc/porthole.conf.5
 * carries this text; a test keeps the two equal.  Returns 0 or -1.
 */
int	policy_write_man(FILE *out);

/*
 * Would next (read for a reload) change a key that takes effect only at
 * start?  0, or -1 with "FILE:LINE: KEY takes effect at restart" in err
 * (FILE being next's, LINE where it sets the key or else where the
 * key's section starts).
 */
int	policy_restart_changed(const struct policy *running,
	    const struct policy *next, char *err, size_t errlen);

/*
 * May an engineer holding a certificate with these principals and this
 * ticket (NULL: none) open a session at time now?  Checks the master
 * switch, expiry, the engineers allow-list and require_ticket.  Returns
 * 1 and points *engineer at the principal that matched, or 0 with the
 * reason ("remote access is disabled on this cluster", ...).
 */
int	policy_allow_session(const struct policy *p,
	    const char *const *principals, size_t nprincipals,
	    const char *ticket, time_t now, const char **engineer,
	    char *reason, size_t rlen);

/*
 * May one more session start while nsessions are open (every state,
 * logging in included)?  max_sessions.  1, or 0 with the reason ("the
 * customer allows 4 sessions at once and they are all in use").
 */
int	policy_allow_session_slot(const struct policy *p, size_t nsessions,
	    char *reason, size_t rlen);

/*
 * Is a forward to host:port, as the engineer names it, worth resolving?
 * [forward] enabled, host 1..255 printable characters without blanks,
 * and some target on that port.  1, or 0 with the reason ("port
 * forwarding is disabled on this cluster", "db:5432 is not a forwarding
 * target on this cluster").  The final decision is on addresses, after
 * the monitor resolved both (gateway/forward.c); when none matches it
 * refuses with policy_forward_refusal.
 */
int	policy_allow_forward(const struct policy *p, const char *host,
	    uint16_t port, char *reason, size_t rlen);
void	policy_forward_refusal(const char *host, uint16_t port, char *reason,
	    size_t rlen);

/*
 * May the engineer read or change the setting key?  [settings] enabled,
 * a file configured, key a setting name and listed.  1, or 0 with the
 * reason ("key 'secret.token' is not a listed setting").
 */
int	policy_allow_setting(const struct policy *p, const char *key,
	    char *reason, size_t rlen);

/*
 * May the engineer run this command line ("threads --pid 42" is the
 * command "threads" with words)?  Checks [remote_access] enabled,
 * [commands] enabled, the allow-list and the placeholders.  Returns 1
 * with *argv a new NULL-terminated argv (free with policy_argv_free), or
 * 0 with the reason ("command 'rm' is not allowed on this cluster").
 */
int	policy_allow_command(const struct policy *p, const char *cmdline,
	    char ***argv, char *reason, size_t rlen);
/*
 * May the engineer ask for this action ("upgrade 2.4.1" is the action
 * "upgrade" with words)?  [remote_access] enabled, [actions] enabled,
 * the list and the placeholders, as for a command line.  1 with *argv
 * as policy_allow_command gives it, or 0 with the reason ("action
 * 'reboot' is not allowed on this cluster").
 */
int	policy_allow_action(const struct policy *p, const char *cmdline,
	    char ***argv, char *reason, size_t rlen);
void	policy_argv_free(char **argv);
/*
 * The argv of a command-valued key such as [updates] update_command (an
 * absolute program and its words, split on blanks as the loader split
 * them): a new NULL-terminated argv, or NULL when out of memory.
 */
char	**policy_hook_argv(const char *value);

/*
 * May path (absolute and normalised: no empty, "." or ".." component)
 * be read at all?  [files] enabled, beneath one of paths, no component
 * beneath the root matching a deny glob: a glob without '/' against
 * each component's name, a glob with '/' against the path up to each
 * component (FNM_PATHNAME), so a denied directory denies everything
 * beneath it.  Lexical only: a symbolic link passes here; the caller
 * must resolve the path on disk without following links.  1, or 0 with
 * the reason ("/etc/passwd is outside the product's file paths").
 */
int	policy_allow_file(const struct policy *p, const char *path,
	    char *reason, size_t rlen);
/*
 * The lexical gate of policy_allow_file without its [files] enabled
 * switch: a support bundle is a grant of its own ([bundle] enabled)
 * over the same roots and deny globs.  1, or 0 with the reason.
 */
int	policy_file_reachable(const struct policy *p, const char *path,
	    char *reason, size_t rlen);
/*
 * Must the bytes of the file at path (absolute, normalised) be
 * redacted before they leave?  There are [redact] patterns, and path is
 * covered by a [redact] paths glob or, when paths is not set, lies
 * beneath a [files] root.  1 or 0.
 */
int	policy_redacts(const struct policy *p, const char *path);

/*
 * The globs of [redact] paths and [bundle] paths: absolute, matched
 * with fnmatch(FNM_PATHNAME) against a path and each directory above
 * it, so that a glob naming a directory covers everything beneath it.
 * Does glob cover path?  1 or 0.
 */
int	policy_glob_covers(const char *glob, const char *path);
/*
 * Could glob cover dir or something beneath it (a walk's test for
 * whether to go down into dir)?  1 or 0.
 */
int	policy_glob_reaches(const char *glob, const char *dir);
/*
 * The directory a walk for glob starts from: its components before the
 * first one holding a wildcard (* ? [ or \), "/" at least, into buf.
 * Returns 0, or -1 if buf is too small.
 */
int	policy_glob_base(const char *glob, char *buf, size_t len);

/*
 * The [files] root path lies beneath - the longest match if longest,
 * else the shortest - copied into root; returns the offset in path
 * where the part beneath the root begins, or -1 if none.
 */
int	policy_file_root(const struct policy *p, const char *path,
	    int longest, char *root, size_t rootlen);

#endif
