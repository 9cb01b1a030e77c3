/*
 * policy_files.c - the [files] decision: may this path be read at all?
 * Pure and lexical: [files] enabled, an absolute normalised path beneath
 * one of the roots, no component matching a deny glob.  The gateway's
 * monitor then resolves the path on disk without following links
 * (gateway/files.c); this alone would be fooled by a symbolic link, that
 * alone would not know the deny globs.
 *
 * Here too: what the path globs of [redact] and [bundle] cover, and
 * whether a file's bytes must be redacted.
 */
#include "policy/policy.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "lib/redact.h"

/* A copy of untrusted text fit for a one-line reason. */
static const char *
pf_shown(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ?
		    '?' : s[i];
	if (len > 0)
		buf[i] = '\0';
	return buf;
}

/*
 * Absolute, normalised (no empty, "." or ".." component, no trailing
 * slash but for "/" itself), bounded and free of control characters?
 */
static int
pf_normalised(const char *path)
{
	const char	*c, *end;
	size_t		 n;

	if (path[0] != '/' || strnlen(path, POLICY_PATH_MAX + 1) >
	    POLICY_PATH_MAX)
		return 0;
	if (strcmp(path, "/") == 0)
		return 1;
	for (c = path + 1;; c = end + 1) {
		end = c + strcspn(c, "/");
		n = (size_t)(end - c);
		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (*end == '\0')
			break;
	}
	for (c = path; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return 0;
	return 1;
}

/* Is path the root (normalised, n bytes) itself or beneath it? */
static int
pf_under(const char *root, size_t n, const char *path)
{
	if (n == 1)
		return 1;	/* the root "/" holds every absolute path */
	return strncmp(path, root, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/');
}

/*
 * Find the root that path lies beneath and copy it, normalised, into
 * root: the longest one if longest is set, else the shortest.  Returns
 * the offset in path where the part beneath the root begins, or -1.
 *
 * The disk gate uses the longest root, so that a root that is its own
 * mount inside another root is still reachable under RESOLVE_NO_XDEV;
 * the deny globs use the shortest, so that they see every component
 * beneath any root.
 */
int
policy_file_root(const struct policy *pol, const char *path, int longest,
    char *root, size_t rootlen)
{
	const char	*norm;
	size_t		 i, n, best = 0;
	int		 found = 0;

	for (i = 0; i < pol->nfile_paths; i++) {
		/* The loader admits only clean absolute roots. */
		norm = pol->file_paths[i];
		n = strlen(norm);
		if (!pf_under(norm, n, path))
			continue;
		if (found && (longest ? n <= best : n >= best))
			continue;
		found = 1;
		best = n;
		snprintf(root, rootlen, "%s", norm);
	}
	if (!found)
		return -1;
	if (path[best] == '\0' || best == 1)
		return (int)best;
	return (int)best + 1;		/* past the slash after the root */
}

/*
 * Does a deny glob match this component, or the path up to and
 * including it?  A glob without '/' is matched against the component's
 * name; a glob with '/' against the path so far, so that denying a
 * directory by its full path also denies everything beneath it.
 * Returns what matched, or NULL.
 *
 * FNM_PERIOD is left out on purpose: "*.key" must deny ".old.key" too.
 */
static const char *
pf_glob_hit(const struct policy *pol, const char *sofar,
    const char *comp)
{
	size_t i;

	for (i = 0; i < pol->nfile_deny; i++) {
		if (strchr(pol->file_deny[i], '/') != NULL) {
			if (fnmatch(pol->file_deny[i], sofar,
			    FNM_PATHNAME) == 0)
				return sofar;
		} else if (fnmatch(pol->file_deny[i], comp, 0) == 0)
			return comp;
	}
	return NULL;
}

/* Check each component from offset rest on; 1 with why if one is denied. */
static int
pf_denied(const struct policy *pol, const char *path, int rest,
    char *why, size_t whylen)
{
	char		 buf[POLICY_PATH_MAX + 1];
	char		*comp, *end;
	const char	*hit;
	int		 last;

	snprintf(buf, sizeof(buf), "%s", path);
	for (comp = buf + rest; *comp != '\0'; comp = end + 1) {
		end = comp + strcspn(comp, "/");
		last = *end == '\0';
		*end = '\0';
		if ((hit = pf_glob_hit(pol, buf, comp)) != NULL) {
			snprintf(why, whylen, "%s matches a denied pattern",
			    hit);
			return 1;
		}
		if (last)
			break;
		*end = '/';
	}
	return 0;
}

int
policy_allow_file(const struct policy *pol, const char *path, char *why,
    size_t whylen)
{
	if (!pol->files_enabled) {
		snprintf(why, whylen, "file access is disabled on this "
		    "cluster");
		return 0;
	}
	return policy_file_reachable(pol, path, why, whylen);
}

int
policy_file_reachable(const struct policy *pol, const char *path, char *why,
    size_t whylen)
{
	char	root[POLICY_PATH_MAX + 1], shown[POLICY_PATH_MAX + 1];
	int	rest;

	if (strnlen(path, POLICY_PATH_MAX + 1) > POLICY_PATH_MAX) {
		snprintf(why, whylen, "path is longer than %d bytes",
		    POLICY_PATH_MAX);
		return 0;
	}
	if (!pf_normalised(path)) {
		snprintf(why, whylen, "not an absolute, normalised path: '%s'",
		    pf_shown(path, shown, sizeof(shown)));
		return 0;
	}
	if ((rest = policy_file_root(pol, path, 0, root, sizeof(root))) == -1) {
		snprintf(why, whylen, "%s is outside the product's file paths",
		    path);
		return 0;
	}
	if (pf_denied(pol, path, rest, why, whylen))
		return 0;
	return 1;
}

int
policy_glob_covers(const char *glob, const char *path)
{
	/* FNM_LEADING_DIR: the glob may match a directory above path. */
	return fnmatch(glob, path, FNM_PATHNAME | FNM_LEADING_DIR) == 0;
}

int
policy_glob_reaches(const char *glob, const char *dir)
{
	char		 head[POLICY_PATH_MAX + 1];
	const char	*c;
	size_t		 ncomp = 0, n;

	if (policy_glob_covers(glob, dir))
		return 1;
	if (strcmp(dir, "/") == 0)
		return 1;
	/* The glob's first components, as many as dir has, match dir. */
	for (c = dir; *c != '\0'; c++)
		if (*c == '/')
			ncomp++;
	for (c = glob, n = 0; *c != '\0'; c++)
		if (*c == '/' && n++ == ncomp)
			break;
	if (*c == '\0' || (size_t)(c - glob) >= sizeof(head))
		return 0;	/* no deeper than dir: covers decided it */
	memcpy(head, glob, (size_t)(c - glob));
	head[c - glob] = '\0';
	return fnmatch(head, dir, FNM_PATHNAME) == 0;
}

int
policy_glob_base(const char *glob, char *buf, size_t len)
{
	const char	*c, *end, *base = glob + 1;
	size_t		 n;

	for (c = glob + 1; *c != '\0'; c = end + 1) {
		end = c + strcspn(c, "/");
		if (strcspn(c, "*?[\\") < (size_t)(end - c))
			break;
		base = end;
		if (*end == '\0')
			break;
	}
	n = (size_t)(base - glob);
	if (n == 0 || n == 1)
		return snprintf(buf, len, "/") >= (int)len ? -1 : 0;
	if (n >= len)
		return -1;
	memcpy(buf, glob, n);
	buf[n] = '\0';
	return 0;
}

int
policy_redacts(const struct policy *pol, const char *path)
{
	char	root[POLICY_PATH_MAX + 1];
	size_t	i;

	if (redact_count(pol->redact) == 0)
		return 0;
	if (!pol->redact_paths_set)
		return policy_file_root(pol, path, 0, root, sizeof(root)) != -1;
	for (i = 0; i < pol->nredact_paths; i++)
		if (policy_glob_covers(pol->redact_paths[i], path))
			return 1;
	return 0;
}
