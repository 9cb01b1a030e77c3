/*
 * approvals.c - the customer's approvals of a ticket for a time
 * (approvals.h), and the file that keeps them across restarts.
 */
#include "gateway/approvals.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/sshcert.h"

#define APPROVALS_FILE_MAX	(1024 * 1024)

struct approvals {
	char		 path[4200];
	struct approval	 a[APPROVALS_MAX];
	size_t		 n;
	int		 dirty;		/* some expired since the last store */
};

static json_t *
approval_json(const struct approval *a)
{
	char granted[32], until[32];

	parse_format_time(a->granted, granted, sizeof(granted));
	parse_format_time(a->until, until, sizeof(until));
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "ticket", a->ticket,
	    "granted", granted, "until", until, "by", a->by, "reason",
	    a->reason);
}

/* One stored approval, checked as the customer's request was. */
static int
approval_parse(json_t *j, struct approval *a)
{
	const char *t = json_string_value(json_object_get(j, "ticket"));
	const char *g = json_string_value(json_object_get(j, "granted"));
	const char *u = json_string_value(json_object_get(j, "until"));
	const char *by = json_string_value(json_object_get(j, "by"));
	const char *r = json_string_value(json_object_get(j, "reason"));

	memset(a, 0, sizeof(*a));
	if (t == NULL || !sshcert_ticket_valid(t) || g == NULL || u == NULL ||
	    by == NULL || r == NULL || strlen(by) >= sizeof(a->by) ||
	    strlen(r) >= sizeof(a->reason) || parse_time(g, &a->granted) == -1 ||
	    parse_time(u, &a->until) == -1 || a->until <= a->granted)
		return -1;
	snprintf(a->ticket, sizeof(a->ticket), "%s", t);
	snprintf(a->by, sizeof(a->by), "%s", by);
	snprintf(a->reason, sizeof(a->reason), "%s", r);
	return 0;
}

static int
approvals_store(const struct approvals *ap, char *err, size_t errlen)
{
	json_t	*list = json_array(), *doc;
	char	*text = NULL;
	size_t	 i;
	int	 rc = -1;

	for (i = 0; list != NULL && i < ap->n; i++)
		json_array_append_new(list, approval_json(&ap->a[i]));
	doc = json_pack("{s:i, s:o}", "version", 1, "approvals", list);
	if (doc != NULL && (text = json_dumps(doc, JSON_INDENT(1))) != NULL)
		rc = fileio_replace(ap->path, text, strlen(text), 0600, err,
		    errlen);
	else
		snprintf(err, errlen, "%s: out of memory", ap->path);
	json_decref(doc);
	free(text);
	return rc;
}

static int
approvals_load(struct approvals *ap, time_t now, char *err, size_t errlen)
{
	json_error_t	 je;
	json_t		*doc, *list, *j;
	struct stat	 sb;
	size_t		 i;
	int		 fd;

	if ((fd = open(ap->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", ap->path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > APPROVALS_FILE_MAX) {
		close(fd);
		snprintf(err, errlen, "%s: not a regular file of at most 1M",
		    ap->path);
		return -1;
	}
	doc = json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
	close(fd);
	list = json_object_get(doc, "approvals");
	if (doc == NULL || json_integer_value(json_object_get(doc,
	    "version")) != 1 || !json_is_array(list) ||
	    json_array_size(list) > APPROVALS_MAX) {
		snprintf(err, errlen, "%s: not a list of ticket approvals "
		    "(move it aside to start without them)", ap->path);
		json_decref(doc);
		return -1;
	}
	json_array_foreach(list, i, j) {
		if (approval_parse(j, &ap->a[ap->n]) == -1) {
			snprintf(err, errlen, "%s: approval %zu is malformed "
			    "(move the file aside to start without them)",
			    ap->path, i + 1);
			json_decref(doc);
			return -1;
		}
		if (ap->a[ap->n].until > now)
			ap->n++;
	}
	json_decref(doc);
	return 0;
}

struct approvals *
approvals_open(const char *state_dir, time_t now, char *err, size_t errlen)
{
	struct approvals *ap;

	if ((ap = calloc(1, sizeof(*ap))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(ap->path, sizeof(ap->path), "%s/%s", state_dir,
	    APPROVALS_FILE);
	if (approvals_load(ap, now, err, errlen) == -1) {
		free(ap);
		return NULL;
	}
	return ap;
}

void
approvals_free(struct approvals *ap)
{
	free(ap);
}

static ssize_t
approvals_index(const struct approvals *ap, const char *ticket)
{
	size_t i;

	for (i = 0; i < ap->n; i++)
		if (strcmp(ap->a[i].ticket, ticket) == 0)
			return (ssize_t)i;
	return -1;
}

int
approvals_grant(struct approvals *ap, const struct approval *a, char *err,
    size_t errlen)
{
	struct approval	old;
	ssize_t		i = approvals_index(ap, a->ticket);
	int		added = i == -1;

	if (added && ap->n == APPROVALS_MAX) {
		snprintf(err, errlen, "%d tickets are approved already; "
		    "revoke one first", APPROVALS_MAX);
		return -1;
	}
	if (added)
		i = (ssize_t)ap->n++;
	old = ap->a[i];
	ap->a[i] = *a;
	if (approvals_store(ap, err, errlen) == 0) {
		ap->dirty = 0;
		return 0;
	}
	/* Not stored: not given. */
	if (added)
		ap->n--;
	else
		ap->a[i] = old;
	return -1;
}

int
approvals_revoke(struct approvals *ap, const char *ticket,
    struct approval *gone, char *err, size_t errlen)
{
	struct approval	saved[APPROVALS_MAX];
	size_t		n = ap->n;
	ssize_t		i;

	if ((i = approvals_index(ap, ticket)) == -1)
		return 1;
	memcpy(saved, ap->a, n * sizeof(saved[0]));
	*gone = ap->a[i];
	ap->a[i] = ap->a[--ap->n];
	if (approvals_store(ap, err, errlen) == 0)
		return 0;
	memcpy(ap->a, saved, n * sizeof(saved[0]));
	ap->n = n;
	return -1;
}

const struct approval *
approvals_find(const struct approvals *ap, const char *ticket, time_t now)
{
	ssize_t i;

	if (ap == NULL || ticket == NULL || ticket[0] == '\0' ||
	    (i = approvals_index(ap, ticket)) == -1 || ap->a[i].until <= now)
		return NULL;
	return &ap->a[i];
}

int
approvals_expire(struct approvals *ap, time_t now, struct approval *over)
{
	char	err[512];
	size_t	i;

	for (i = 0; i < ap->n; i++) {
		if (ap->a[i].until > now)
			continue;
		*over = ap->a[i];
		ap->a[i] = ap->a[--ap->n];
		ap->dirty = 1;
		return 1;
	}
	if (ap->dirty && approvals_store(ap, err, sizeof(err)) == -1)
		log_warn("approvals: %s (tried again at the next change)", err);
	ap->dirty = 0;
	return 0;
}

json_t *
approvals_list(const struct approvals *ap, time_t now)
{
	json_t	*list = json_array(), *j;
	size_t	 i;

	for (i = 0; list != NULL && i < ap->n; i++) {
		if (ap->a[i].until <= now ||
		    (j = approval_json(&ap->a[i])) == NULL)
			continue;
		json_object_set_new(j, "left_s", json_integer((json_int_t)
		    (ap->a[i].until - now)));
		json_array_append_new(list, j);
	}
	return list;
}
