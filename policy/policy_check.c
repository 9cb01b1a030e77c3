/*
 * policy_check.c - what portholed checks of a loaded porthole.conf
 * before it starts: the things the syntax cannot say.  The keys name
 * files that must be keys of the right kind and safe from other users,
 * directories it will create, a user and a group that must exist, and
 * programs root's monitor will execute.  The same function runs for a
 * start, for `portholed -t` and for `porthole policy check`, so the
 * three cannot disagree; the rules themselves are lib/filecheck.c's.
 */
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/filecheck.h"
#include "lib/inifile.h"
#include "lib/sshcert.h"
#include "policy/policy.h"

/* One check of one file: the policy, where lines go, where keys are. */
struct pcheck {
	const struct policy	*p;
	struct filecheck	*fc;
	struct inifile_lines	*lines;
};

/* The key files of [gateway]. */
static const struct {
	const char	*key;
	size_t		 off;
	int		 private_key;
	const char	*type;		/* NULL: whatever libssh loads */
} key_files[] = {
	/* The tunnel offers the relay ssh-ed25519 host keys only. */
	{ "relay_host_key", offsetof(struct policy, relay_host_key), 0,
	    "ssh-ed25519" },
	{ "cluster_key", offsetof(struct policy, cluster_key), 1, NULL },
	{ "session_host_key", offsetof(struct policy, session_host_key), 1,
	    NULL },
	{ "support_ca", offsetof(struct policy, support_ca), 0,
	    "ssh-ed25519" },
};

/* Directories the gateway creates (one level) if they are missing. */
static const struct {
	const char	*key;
	size_t		 off;
} dirs[] = {
	{ "state_dir", offsetof(struct policy, state_dir) },
	{ "audit_dir", offsetof(struct policy, audit_dir) },
	{ "run_dir", offsetof(struct policy, run_dir) },
};

#define PFIELD(p, off)	(*(char *const *)(const void *)((const char *)(p) + \
			    (off)))

/* "FILE:LINE: [section] key", or "FILE: [section] key (the default)". */
static const char *
where(const struct pcheck *c, const char *section, const char *key,
    char *buf, size_t len)
{
	return inifile_where(c->lines, c->p->path, section, key, buf, len);
}

static void
check_keys(struct pcheck *c)
{
	const char	*path;
	char		 w[4200], err[1024];
	uint8_t		 ca[32];
	size_t		 i;

	for (i = 0; i < sizeof(key_files) / sizeof(key_files[0]); i++) {
		path = PFIELD(c->p, key_files[i].off);
		where(c, "gateway", key_files[i].key, w, sizeof(w));
		if (filecheck_key(c->fc, w, path, key_files[i].private_key,
		    key_files[i].type) == -1)
			continue;
		/* The CA is parsed by porthole itself, more strictly. */
		if (key_files[i].off == offsetof(struct policy, support_ca) &&
		    sshcert_load_ca(path, ca, err, sizeof(err)) == -1)
			filecheck_report(c->fc, "%s: %s", w, err);
	}
}

/*
 * [updates] vendor_key, when set: the key every notice is checked with.
 * Notices are believed only with version_command beside it: without
 * it the installed version is not known, and neither an older notice
 * nor an upgrade made by other means could be told.
 */
static void
check_vendor_key(struct pcheck *c)
{
	char	w[4200], err[1024];
	uint8_t	key[32];

	if (c->p->vendor_key == NULL)
		return;
	where(c, "updates", "vendor_key", w, sizeof(w));
	if (filecheck_key(c->fc, w, c->p->vendor_key, 0, "ssh-ed25519") == 0 &&
	    sshcert_load_ca(c->p->vendor_key, key, err, sizeof(err)) == -1)
		filecheck_report(c->fc, "%s: %s", w, err);
	if (c->p->version_command == NULL)
		filecheck_report(c->fc, "%s: needs [updates] version_command, "
		    "a command printing the product's installed version: "
		    "without it an update older than what is installed could "
		    "not be told", w);
}

static void
check_revoked(struct pcheck *c)
{
	char w[4200];

	if (c->p->revoked_keys == NULL)
		return;
	where(c, "gateway", "revoked_keys", w, sizeof(w));
	(void)filecheck_revoked(c->fc, w, c->p->revoked_keys);
}

static void
check_accounts(struct pcheck *c)
{
	char w[4200];

	if (getpwnam(c->p->user) == NULL)
		filecheck_report(c->fc, "%s: '%s' does not exist; create the "
		    "user (useradd --system --no-create-home %s) or name "
		    "another",
		    where(c, "gateway", "user", w, sizeof(w)), c->p->user,
		    c->p->user);
	if (getgrnam(c->p->admin_group) == NULL)
		filecheck_report(c->fc, "%s: '%s' does not exist; create the "
		    "group (groupadd --system %s) or name another",
		    where(c, "gateway", "admin_group", w, sizeof(w)),
		    c->p->admin_group, c->p->admin_group);
}

static void
check_program(void *arg, const char *section, const char *key,
    const char *program)
{
	struct pcheck	*c = arg;
	char		 w[4200];

	(void)filecheck_path(c->fc, where(c, section, key, w, sizeof(w)),
	    program, FILECHECK_PROGRAM);
}

unsigned int
policy_check(const struct policy *p, struct filecheck *fc)
{
	struct pcheck	 c;
	char		 w[4200];
	unsigned int	 before = fc->problems;
	size_t		 i;

	c.p = p;
	c.fc = fc;
	c.lines = inifile_lines_read(p->path);
	(void)filecheck_path(fc, NULL, p->path, FILECHECK_TRUSTED);
	check_keys(&c);
	check_revoked(&c);
	check_vendor_key(&c);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		(void)filecheck_creatable(fc, where(&c, "gateway", dirs[i].key,
		    w, sizeof(w)), PFIELD(p, dirs[i].off), 1);
	check_accounts(&c);
	policy_each_program(p, check_program, &c);
	inifile_lines_free(c.lines);
	return fc->problems - before;
}
