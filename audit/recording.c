/*
 * recording.c - hold recordings to what the audit log says about them.
 */
#include "audit/recording.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "audit/audit.h"
#include "audit/logfiles.h"

/* A name the monitor could have written: hex session id + ".cast". */
static int
valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 6 || n > 70 || strcmp(s + n - 5, ".cast") != 0)
		return 0;
	for (i = 0; i < n - 5; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return 1;
}

/* A shell_closed event into ref; 0, or -1 if it is not one. */
static int
ref_from_event(json_t *ev, uint64_t line, struct recording_ref *ref)
{
	const char	*type = json_string_value(json_object_get(ev, "type"));
	const char	*sid = json_string_value(json_object_get(ev, "session"));
	const char	*name = json_string_value(json_object_get(ev,
	    "recording"));
	const char	*sha = json_string_value(json_object_get(ev, "sha256"));
	json_t		*bytes = json_object_get(ev, "bytes");

	if (type == NULL || strcmp(type, "shell_closed") != 0 ||
	    sid == NULL || name == NULL || sha == NULL ||
	    !json_is_integer(bytes) || strlen(sid) >= sizeof(ref->session) ||
	    strlen(sha) != 64 || !valid_name(name))
		return -1;
	snprintf(ref->session, sizeof(ref->session), "%s", sid);
	snprintf(ref->name, sizeof(ref->name), "%s", name);
	snprintf(ref->sha256, sizeof(ref->sha256), "%s", sha);
	ref->bytes = (uint64_t)json_integer_value(bytes);
	ref->line = line;
	return 0;
}

/*
 * Call fn for each shell_closed event in the log in dir (complete lines
 * only); fn returning nonzero stops with that value.
 */
static int
each_ref(const char *dir, int (*fn)(void *, struct recording_ref *),
    void *arg, char *why, size_t whylen)
{
	struct recording_ref	 ref;
	struct audit_lines	*lines;
	const char		*line, *path;
	size_t			 len;
	uint64_t		 lineno;
	json_t			*ev;
	int			 rc = 0, got;

	if (audit_lines_open(dir, &lines, why, whylen) == -1)
		return -1;
	while (rc == 0 && (got = audit_lines_next(lines, &line, &len, &path,
	    &lineno, why, whylen)) == 1) {
		if (len > AUDIT_MAX_LINE || strstr(line, "\"shell_closed\"") ==
		    NULL)
			continue;
		if ((ev = json_loadb(line, len, 0, NULL)) == NULL)
			continue;
		if (ref_from_event(ev, (uint64_t)json_integer_value(
		    json_object_get(ev, "seq")), &ref) == 0)
			rc = fn(arg, &ref);
		json_decref(ev);
	}
	audit_lines_close(lines);
	if (got == -1)
		return -1;
	return rc < 0 ? -1 : rc;
}

struct find_arg {
	const char		*session;
	struct recording_ref	*ref;
};

static int
find_one(void *arg, struct recording_ref *ref)
{
	struct find_arg *fa = arg;

	if (strcmp(ref->session, fa->session) != 0)
		return 0;
	*fa->ref = *ref;
	return 2;
}

int
recording_find(const char *dir, const char *session,
    struct recording_ref *ref, char *why, size_t whylen)
{
	struct find_arg	fa = { session, ref };
	int		rc;

	rc = each_ref(dir, find_one, &fa, why, whylen);
	if (rc == -1)
		return -1;
	if (rc == 2)
		return 0;
	snprintf(why, whylen, "the audit log names no recording for session "
	    "'%s'", session);
	return 1;
}

int
recording_check(const char *audit_dir, const struct recording_ref *ref,
    char *why, size_t whylen)
{
	EVP_MD_CTX	*ctx = NULL;
	unsigned char	 buf[65536], md[32];
	char		 path[4200], hex[65];
	unsigned int	 mdlen = 0, i;
	uint64_t	 total = 0;
	ssize_t		 n;
	int		 fd, rc = -1;

	snprintf(path, sizeof(path), "%s/%s/%s", audit_dir, RECORDING_DIR,
	    ref->name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? 1 : -1;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		total += (uint64_t)n;
	}
	if (n == -1) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		goto out;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	for (i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[2 * i] = '\0';
	rc = 0;
	if (total != ref->bytes || strcmp(hex, ref->sha256) != 0) {
		snprintf(why, whylen, "%s: does not match the audit log "
		    "(seq %llu): %llu bytes, SHA-256 %.16s..., recorded %llu "
		    "bytes, %.16s...", path, (unsigned long long)ref->line,
		    (unsigned long long)total, hex,
		    (unsigned long long)ref->bytes, ref->sha256);
		rc = 1;
	}
out:
	EVP_MD_CTX_free(ctx);
	close(fd);
	return rc;
}

struct all_arg {
	const char	*dir;
	uint64_t	*n;
	char		*why;
	size_t		 whylen;
};

static int
check_one(void *arg, struct recording_ref *ref)
{
	struct all_arg	*aa = arg;
	int		 rc;

	if ((rc = recording_check(aa->dir, ref, aa->why, aa->whylen)) != 0)
		return rc == 1 ? 1 : -1;
	(*aa->n)++;
	return 0;
}

int
recording_verify_all(const char *audit_dir, uint64_t *n, char *why,
    size_t whylen)
{
	struct all_arg aa = { audit_dir, n, why, whylen };

	*n = 0;
	return each_ref(audit_dir, check_one, &aa, why, whylen);
}
