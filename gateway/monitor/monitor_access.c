/*
 * monitor_access.c - the monitor's answers for files, settings and port
 * forwards.  Each one checks the request's shape, lets files.c,
 * settings.c or forward.c decide and act under the policy, and writes
 * the outcome to the audit log before the child hears it.
 */
#include "gateway/monitor/monitor_int.h"

#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/monitor/files.h"
#include "gateway/monitor/forward.h"
#include "gateway/monitor/settings.h"
#include "lib/sshcert.h"

#define MON_LIST_MAX	64	/* entries in one dir_list answer */
#define MON_LIST_BUDGET	12000	/* bytes of names in one answer */

static json_t *
attr_json(const struct access_attr *a)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "size", (json_int_t)a->size, "uid", (json_int_t)a->uid,
	    "gid", (json_int_t)a->gid, "mode", (json_int_t)a->mode,
	    "atime", (json_int_t)a->atime, "mtime", (json_int_t)a->mtime,
	    "nlink", (json_int_t)a->nlink);
}

/* A path field: absolute, bounded, or the request is malformed. */
static const char *
req_path(struct mon *m, json_t *req, const char *name)
{
	const char *path = mm_field_str(req, "path", ACCESS_PATH_MAX);

	if (path == NULL || path[0] != '/')
		mon_violation(m, "malformed path", name);
	return path;
}

static uint32_t
mon_new_id(struct mon *m)
{
	if (++m->next_id == 0)
		m->next_id = 1;
	return m->next_id;
}

int
mm_answer_file_open(struct mon *m, json_t *req)
{
	const char		*path = req_path(m, req, "file_open");
	struct access_attr	 attr;
	struct stat		 st;
	char			 why[ACCESS_WHY_MAX];
	json_t			*ev;
	size_t			 i;
	int			 fd = -1, rc, red;

	for (i = 0; i < MON_MAX_FILES && m->files[i].id != 0; i++)
		;
	if (i == MON_MAX_FILES)
		return mon_refuse(m, "too many open files in this session");
	if (files_open(m->pol, path, &fd, &st, why, sizeof(why)) == -1 ||
	    (red = mon_file_redact(m, i, path, &fd, &st, why,
	    sizeof(why))) == -1) {
		if (fd != -1)
			close(fd);
		mon_audit(m, "file_refused", json_pack("{s:s, s:s, s:s}",
		    "op", "open", "path", path, "reason", why));
		return mon_refuse(m, why);
	}
	mon_relies(m, BM_GRANT_FILES);
	m->files[i].id = mon_new_id(m);
	m->files[i].peer = m->peer;
	snprintf(m->files[i].path, sizeof(m->files[i].path), "%s", path);
	m->files[i].size = (uint64_t)st.st_size;
	ev = json_pack("{s:s, s:I, s:I, s:b}", "path", path, "size",
	    (json_int_t)st.st_size, "handle", (json_int_t)m->files[i].id,
	    "redacted", red);
	if (red)
		json_object_update_new(ev, mon_file_counts(m, i));
	mon_audit(m, "file_opened", ev);
	files_attr(&st, &attr);
	rc = mon_answer(m, json_pack("{s:b, s:I, s:o, s:b}", "ok", 1, "id",
	    (json_int_t)m->files[i].id, "attr", attr_json(&attr), "redacted",
	    red), &fd, 1);
	close(fd);
	return rc;
}

int
mm_answer_file_close(struct mon *m, json_t *req)
{
	uint32_t	id;
	json_t		*jb = json_object_get(req, "bytes"), *ev;
	size_t		i;

	if (mm_field_u32(req, "id", &id) == -1 || !json_is_integer(jb) ||
	    json_integer_value(jb) < 0)
		mon_violation(m, "malformed file_close request", "file_close");
	for (i = 0; i < MON_MAX_FILES && (id == 0 || m->files[i].id != id ||
	    m->files[i].peer != m->peer); i++)
		;
	if (i == MON_MAX_FILES)
		mon_violation(m, "file_close of a file not open", "file_close");
	ev = json_pack("{s:s, s:I, s:I}", "path", m->files[i].path, "handle",
	    (json_int_t)id, "bytes", json_integer_value(jb));
	json_object_update_new(ev, mon_file_counts(m, i));
	mon_file_release(m, i);
	mon_audit(m, "file_closed", ev);
	m->files[i].id = 0;
	return mon_answer(m, json_pack("{s:b}", "ok", 1), NULL, 0);
}

/*
 * tail -f on a redacted file: the whole lines it gained since the
 * last look, in a new copy ("base": the file offset of its byte 0),
 * or {"ok": true} alone when there is nothing new yet.
 */
int
mm_answer_file_more(struct mon *m, json_t *req)
{
	char		 why[ACCESS_WHY_MAX];
	uint64_t	 base = 0;
	uint32_t	 id;
	size_t		 i;
	int		 copy = -1, trunc = 0, rc;

	if (mm_field_u32(req, "id", &id) == -1)
		mon_violation(m, "malformed file_more request", "file_more");
	for (i = 0; i < MON_MAX_FILES && (id == 0 || m->files[i].id != id ||
	    m->files[i].peer != m->peer); i++)
		;
	if (i == MON_MAX_FILES || m->files[i].rd == NULL)
		mon_violation(m, "file_more of a file not open redacted",
		    "file_more");
	if ((rc = mon_file_more(m, i, &copy, &base, &trunc, why,
	    sizeof(why))) == -1)
		return mon_refuse(m, why);
	if (rc == 0)
		return mon_answer(m, json_pack("{s:b, s:b}", "ok", 1,
		    "truncated", trunc), NULL, 0);
	rc = mon_answer(m, json_pack("{s:b, s:I, s:b}", "ok", 1, "base",
	    (json_int_t)base, "truncated", trunc), &copy, 1);
	close(copy);
	return rc;
}

int
mm_answer_file_stat(struct mon *m, json_t *req)
{
	const char		*path = req_path(m, req, "file_stat");
	struct access_attr	 attr;
	struct stat		 st;
	char			 why[ACCESS_WHY_MAX];

	/* Looking is not reading: only refusals are worth a line. */
	if (files_stat(m->pol, path, &st, why, sizeof(why)) == -1) {
		if (strncmp(why, "no such", 7) != 0)
			mon_audit(m, "file_refused", json_pack(
			    "{s:s, s:s, s:s}", "op", "stat", "path", path,
			    "reason", why));
		return mon_refuse(m, why);
	}
	files_attr(&st, &attr);
	return mon_answer(m, json_pack("{s:b, s:o}", "ok", 1, "attr",
	    attr_json(&attr)), NULL, 0);
}

/* Entries as JSON, as many as fit one answer; *used: how many. */
static json_t *
list_json(const struct access_dirent *ents, size_t n, size_t *used)
{
	json_t	*list = json_array(), *e;
	size_t	 i, budget = 0;

	for (i = 0; i < n; i++) {
		/* Escaping can grow a name sixfold. */
		budget += strlen(ents[i].name) * 6 + 120;
		if (budget > MON_LIST_BUDGET && i > 0)
			break;
		e = attr_json(&ents[i].attr);
		json_object_set_new(e, "name", json_string(ents[i].name));
		json_array_append_new(list, e);
	}
	*used = i;
	return list;
}

int
mm_answer_dir_list(struct mon *m, json_t *req)
{
	const char		*path = req_path(m, req, "dir_list");
	struct access_dirent	*ents;
	char			 why[ACCESS_WHY_MAX];
	uint32_t		 cookie, max, start;
	size_t			 n = 0, used;
	int			 eof = 0, rc;
	json_t			*list;

	if (mm_field_u32(req, "cookie", &cookie) == -1 ||
	    mm_field_u32(req, "max", &max) == -1)
		mon_violation(m, "malformed dir_list request", "dir_list");
	if (max == 0 || max > MON_LIST_MAX)
		max = MON_LIST_MAX;
	if ((ents = calloc(max, sizeof(*ents))) == NULL)
		mon_end(m, 1);
	start = cookie;
	if (files_list(m->pol, path, &cookie, ents, max, &n, &eof, why,
	    sizeof(why)) == -1) {
		free(ents);
		mon_audit(m, "file_refused", json_pack("{s:s, s:s, s:s}",
		    "op", "list", "path", path, "reason", why));
		return mon_refuse(m, why);
	}
	mon_relies(m, BM_GRANT_FILES);
	if (start == 0)
		mon_audit(m, "dir_listed", json_pack("{s:s}", "path", path));
	list = list_json(ents, n, &used);
	free(ents);
	if (used < n) {
		/* Not all fit: the rest comes with the next request. */
		cookie = start + (uint32_t)used;
		eof = 0;
	}
	rc = mon_answer(m, json_pack("{s:b, s:o, s:I, s:b}", "ok", 1,
	    "entries", list, "cookie", (json_int_t)cookie, "eof", eof),
	    NULL, 0);
	return rc;
}

int
mm_answer_refused(struct mon *m, json_t *req)
{
	const char *op = mm_field_str(req, "op", 32);
	const char *path = mm_field_str(req, "path", ACCESS_PATH_MAX);

	if (op == NULL || path == NULL)
		mon_violation(m, "malformed refused request", "refused");
	/* The shell reports commands whose grant is off. */
	if (m->peer == MM_FROM_SHELL)
		mon_audit(m, "request_refused", json_pack("{s:s, s:s, s:s}",
		    "request", op, "detail", path, "reason",
		    "its grant is off on this cluster"));
	else
		mon_audit(m, "write_refused", json_pack("{s:s, s:s, s:s}",
		    "op", op, "path", path, "reason",
		    "file access is read-only"));
	return mon_answer(m, json_pack("{s:b}", "ok", 1), NULL, 0);
}

int
mm_answer_setting_get(struct mon *m, json_t *req)
{
	const char	*key = mm_field_str(req, "key", 128);
	char		 value[SETTINGS_VALUE_MAX + 1], why[ACCESS_WHY_MAX];
	uint64_t	 red;

	if (key == NULL)
		mon_violation(m, "malformed setting_get request", "setting_get");
	if (settings_get(m->pol, key, value, sizeof(value), why,
	    sizeof(why)) == -1) {
		mon_audit(m, "setting_refused", json_pack("{s:s, s:s, s:s}",
		    "op", "get", "key", key, "reason", why));
		return mon_refuse(m, why);
	}
	mon_relies(m, BM_GRANT_SETTINGS);
	red = mon_redact_text(m, m->pol->settings_file, value);
	mon_audit(m, "setting_read", json_pack("{s:s, s:s, s:I}", "key", key,
	    "value", value, "redactions", (json_int_t)red));
	return mon_answer(m, json_pack("{s:b, s:s}", "ok", 1, "value", value),
	    NULL, 0);
}

int
mm_answer_setting_set(struct mon *m, json_t *req)
{
	const char	*key = mm_field_str(req, "key", 128);
	const char	*value = mm_field_str(req, "value", SETTINGS_VALUE_MAX);
	char		 old[SETTINGS_VALUE_MAX + 1], why[ACCESS_WHY_MAX];

	if (key == NULL)
		mon_violation(m, "malformed setting_set request", "setting_set");
	if (value == NULL)
		return mon_refuse(m, "the value is too long");
	if (settings_set(m->pol, key, value, old, sizeof(old), why,
	    sizeof(why)) == -1) {
		mon_audit(m, "setting_refused", json_pack("{s:s, s:s, s:s, s:s}",
		    "op", "set", "key", key, "value", value, "reason", why));
		return mon_refuse(m, why);
	}
	mon_relies(m, BM_GRANT_SETTINGS);
	/* The engineer chose the new value; the old one leaves redacted. */
	(void)mon_redact_text(m, m->pol->settings_file, old);
	mon_audit(m, "setting_changed", json_pack("{s:s, s:s, s:s}", "key",
	    key, "old", old, "new", value));
	return mon_answer(m, json_pack("{s:b, s:s}", "ok", 1, "old", old),
	    NULL, 0);
}

int
mm_answer_forward_open(struct mon *m, json_t *req)
{
	const char	*host = mm_field_str(req, "host", 255);
	const char	*orig = mm_field_str(req, "orig_host", 255);
	const char	*no;
	char		 why[ACCESS_WHY_MAX], addr[80], target[300];
	uint32_t	 port, oport;
	size_t		 i;
	int		 fd, rc;

	if (host == NULL || orig == NULL || mm_field_u32(req, "port", &port) == -1 ||
	    mm_field_u32(req, "orig_port", &oport) == -1 || port > 65535)
		mon_violation(m, "malformed forward_open request",
		    "forward_open");
	snprintf(target, sizeof(target), "%s:%u", host, port);
	if ((no = sshcert_forbidden(m->id.permits, SSHCERT_PERMIT_PORT)) !=
	    NULL) {
		mon_audit(m, "forward_refused", json_pack("{s:s, s:s}",
		    "target", target, "reason", no));
		return mon_refuse(m, no);
	}
	for (i = 0; i < MON_MAX_FWDS && m->fwds[i].id != 0; i++)
		;
	if (i == MON_MAX_FWDS)
		return mon_refuse(m, "too many forwards in this session");
	if ((fd = forward_connect(m->pol, host, (uint16_t)port, addr,
	    sizeof(addr), why, sizeof(why))) == -1) {
		mon_audit(m, "forward_refused", json_pack("{s:s, s:s}",
		    "target", target, "reason", why));
		return mon_refuse(m, why);
	}
	mon_relies(m, BM_GRANT_FORWARD);
	m->fwds[i].id = mon_new_id(m);
	snprintf(m->fwds[i].target, sizeof(m->fwds[i].target), "%s", target);
	snprintf(m->fwds[i].addr, sizeof(m->fwds[i].addr), "%s", addr);
	mon_audit(m, "forward_opened", json_pack("{s:s, s:s, s:I}", "target",
	    target, "address", addr, "forward", (json_int_t)m->fwds[i].id));
	rc = mon_answer(m, json_pack("{s:b, s:I}", "ok", 1, "id",
	    (json_int_t)m->fwds[i].id), &fd, 1);
	close(fd);
	return rc;
}

int
mm_answer_forward_close(struct mon *m, json_t *req)
{
	json_t		*to = json_object_get(req, "bytes_to_target");
	json_t		*from = json_object_get(req, "bytes_from_target");
	uint32_t	 id;
	size_t		 i;

	if (mm_field_u32(req, "id", &id) == -1 || !json_is_integer(to) ||
	    !json_is_integer(from) || json_integer_value(to) < 0 ||
	    json_integer_value(from) < 0)
		mon_violation(m, "malformed forward_close request",
		    "forward_close");
	for (i = 0; i < MON_MAX_FWDS && (id == 0 || m->fwds[i].id != id); i++)
		;
	if (i == MON_MAX_FWDS)
		mon_violation(m, "forward_close of a forward not open",
		    "forward_close");
	mon_audit(m, "forward_closed", json_pack("{s:s, s:s, s:I, s:I, s:I}",
	    "target", m->fwds[i].target, "address", m->fwds[i].addr,
	    "forward", (json_int_t)id, "bytes_to_target",
	    json_integer_value(to), "bytes_from_target",
	    json_integer_value(from)));
	m->fwds[i].id = 0;
	return mon_answer(m, json_pack("{s:b}", "ok", 1), NULL, 0);
}
