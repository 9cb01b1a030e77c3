/*
 * policies.c - the effective policy kept beside the audit log and held
 * to it (policies.h).
 */
#include "audit/policies.h"

#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/audit.h"
#include "audit/logfiles.h"
#include "lib/fileio.h"
#include "lib/sha256.h"

static void
policies_sha(const char *text, size_t len, char sha[65])
{
	struct sha256 *h;

	if ((h = sha256_new()) == NULL) {
		sha[0] = '\0';
		return;
	}
	sha256_update(h, text, len);
	sha256_final(h, sha);
}

/* The whole file at path, at most POLICIES_MAX bytes: 0, or -1 (errno). */
static int
policies_slurp(const char *path, char **text, size_t *len)
{
	struct stat	 sb;
	char		*buf;
	ssize_t		 n;
	size_t		 have = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	if (fstat(fd, &sb) == -1)
		sb.st_mode = 0;
	if (!S_ISREG(sb.st_mode) || sb.st_size > POLICIES_MAX ||
	    (buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		close(fd);
		errno = EFBIG;	/* not a file of ours */
		return -1;
	}
	while (have < (size_t)sb.st_size && ((n = read(fd, buf + have,
	    (size_t)sb.st_size - have)) > 0 || (n == -1 && errno == EINTR)))
		have += n > 0 ? (size_t)n : 0;
	close(fd);
	buf[have] = '\0';
	*text = buf;
	*len = have;
	return 0;
}

int
policies_keep(const char *audit_dir, const char *text, size_t len,
    char sha[65], char *err, size_t errlen)
{
	char	 dir[4200], path[4300], *old = NULL;
	size_t	 oldlen;
	int	 same;

	policies_sha(text, len, sha);
	if (sha[0] == '\0') {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/%s", audit_dir, POLICIES_DIR);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s.conf", dir, sha);
	/* Kept before: the same policy again (a reload that changed nothing). */
	if (policies_slurp(path, &old, &oldlen) == 0) {
		same = oldlen == len && memcmp(old, text, len) == 0;
		free(old);
		if (same)
			return 0;
		/* Left as it is: it is the evidence audit verify reports. */
		snprintf(err, errlen, "%s: does not hold the policy its name "
		    "says (audit verify reports it)", path);
		return -1;
	}
	return fileio_replace(path, text, len, 0444, err, errlen);
}

int
policies_read(const char *audit_dir, const char *sha, char **text,
    size_t *len, char *why, size_t whylen)
{
	char	path[4300], got[65];

	if (!sha256_valid_hex(sha)) {
		snprintf(why, whylen, "'%s' is not a SHA-256 (64 lowercase hex "
		    "digits)", sha);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s/%s.conf", audit_dir, POLICIES_DIR,
	    sha);
	if (policies_slurp(path, text, len) == -1) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? 1 : -1;
	}
	policies_sha(*text, *len, got);
	if (strcmp(got, sha) != 0) {
		snprintf(why, whylen, "%s: does not match its name: SHA-256 "
		    "%.16s... (tampered with)", path, got);
		free(*text);
		*text = NULL;
		return 1;
	}
	return 0;
}

/* Every policy_loaded event names a kept policy that matches. */
static int
policies_named(const char *audit_dir, char *why, size_t whylen)
{
	struct audit_lines	*lines;
	const char		*line, *path, *sha, *type;
	char			*text, inner[600];
	size_t			 len, tlen;
	uint64_t		 lineno;
	json_t			*ev;
	int			 rc = 0, got;

	if (audit_lines_open(audit_dir, &lines, why, whylen) == -1)
		return -1;
	while (rc == 0 && (got = audit_lines_next(lines, &line, &len, &path,
	    &lineno, why, whylen)) == 1) {
		if (len > AUDIT_MAX_LINE || strstr(line,
		    "\"policy_loaded\"") == NULL ||
		    (ev = json_loadb(line, len, 0, NULL)) == NULL)
			continue;
		sha = json_string_value(json_object_get(ev, "sha256"));
		type = json_string_value(json_object_get(ev, "type"));
		if (type != NULL && strcmp(type, "policy_loaded") == 0) {
			if (sha == NULL)
				sha = "";
			if ((rc = policies_read(audit_dir, sha, &text, &tlen,
			    inner, sizeof(inner))) == 0)
				free(text);
			else
				snprintf(why, whylen, "%s (named by the audit "
				    "log, seq %lld)", inner, (long long)
				    json_integer_value(json_object_get(ev,
				    "seq")));
		}
		json_decref(ev);
	}
	audit_lines_close(lines);
	return got == -1 ? -1 : rc;
}

int
policies_verify_all(const char *audit_dir, uint64_t *n, char *why,
    size_t whylen)
{
	char		 dir[4200], sha[65], *text;
	struct dirent	*de;
	size_t		 len, nl;
	DIR		*d;
	int		 rc = 0;

	*n = 0;
	if ((rc = policies_named(audit_dir, why, whylen)) != 0)
		return rc;
	snprintf(dir, sizeof(dir), "%s/%s", audit_dir, POLICIES_DIR);
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, whylen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		nl = strlen(de->d_name);
		if (de->d_name[0] == '.' && (nl == 1 || (nl == 2 &&
		    de->d_name[1] == '.')))
			continue;
		if (nl != 64 + 5 || strcmp(de->d_name + 64, ".conf") != 0) {
			snprintf(why, whylen, "%s/%s: not a policy the gateway "
			    "keeps (SHA256.conf)", dir, de->d_name);
			rc = 1;
			break;
		}
		snprintf(sha, sizeof(sha), "%.64s", de->d_name);
		if ((rc = policies_read(audit_dir, sha, &text, &len, why,
		    whylen)) == 0) {
			free(text);
			(*n)++;
		}
	}
	closedir(d);
	return rc;
}
