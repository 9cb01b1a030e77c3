/*
 * monitor_wrap.c - the sandboxed side of the monitor protocol
 * (monitor_proto.h): build a request, send it, wait for the one answer.
 */
#include "gateway/session/monitor_wrap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fdpass.h"

/* Why the monitor is ending the session, once it said so. */
static char mm_notice_text[256];

/* A notice instead of an answer: keep it, and there is no answer. */
static json_t *
mm_take_notice(json_t *ans)
{
	const char *s = json_string_value(json_object_get(ans, MONITOR_NOTICE));

	if (s == NULL)
		return ans;
	snprintf(mm_notice_text, sizeof(mm_notice_text), "%s", s);
	json_decref(ans);
	return NULL;
}

const char *
mm_notice(void)
{
	return mm_notice_text[0] != '\0' ? mm_notice_text : NULL;
}

int
mm_read_notice(int mon)
{
	char	buf[512];
	json_t	*ans;
	ssize_t	 n;
	int	 nfds;

	n = fdpass_recv(mon, buf, sizeof(buf), NULL, 0, &nfds);
	if (n <= 0)
		return -1;
	ans = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
	if (ans != NULL && (ans = mm_take_notice(ans)) != NULL)
		json_decref(ans);	/* not a notice: nothing was asked */
	return mm_notice() != NULL ? 0 : -1;
}

/*
 * Send request kind with the fields of req (stolen) and read the answer;
 * fds receives passed descriptors.
 */
static json_t *
mm_call(int mon, enum mm_req kind, json_t *req, int *fds, int maxfds,
    int *nfds)
{
	char		*text = NULL, *buf = NULL;
	json_t		*ans = NULL;
	ssize_t		 n;
	int		 rc, i, dummy;

	if (nfds == NULL)
		nfds = &dummy;
	*nfds = 0;
	if (req != NULL && json_object_set_new(req, "req",
	    json_string(mm_reqs[kind].name)) == 0)
		text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (text == NULL || strlen(text) >= MONITOR_MSG_MAX) {
		free(text);
		return NULL;
	}
	rc = fdpass_send(mon, text, strlen(text), NULL, 0);
	free(text);
	if (rc == -1 || (buf = malloc(MONITOR_MSG_MAX)) == NULL)
		goto out;
	n = fdpass_recv(mon, buf, MONITOR_MSG_MAX, fds, maxfds, nfds);
	if (n <= 0)
		goto out;
	ans = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
	if (ans != NULL && json_is_object(ans))
		ans = mm_take_notice(ans);
	if (ans == NULL || !json_is_object(ans)) {
		json_decref(ans);
		ans = NULL;
		for (i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
	}
out:
	free(buf);
	return ans;
}

static void
copy_str(json_t *ans, const char *key, char *dst, size_t len)
{
	const char *s = json_string_value(json_object_get(ans, key));

	snprintf(dst, len, "%s", s == NULL ? "" : s);
}

static void
copy_identity(json_t *ans, struct mm_identity *id)
{
	copy_str(ans, "engineer", id->engineer, sizeof(id->engineer));
	copy_str(ans, "key_id", id->key_id, sizeof(id->key_id));
	copy_str(ans, "ticket", id->ticket, sizeof(id->ticket));
	id->serial = (uint64_t)json_integer_value(json_object_get(ans,
	    "serial"));
	id->permits = (uint32_t)json_integer_value(json_object_get(ans,
	    "permits"));
}

int
mm_auth(int mon, const char *user, const char *key_type, const char *key_b64,
    int login, struct mm_identity *id, char *why, size_t whylen)
{
	json_t	*ans;
	int	 ok;

	ans = mm_call(mon, MM_AUTH, json_pack("{s:s, s:s, s:s, s:b}",
	    "user", user, "key_type", key_type, "key", key_b64, "login",
	    login), NULL, 0, NULL);
	if (ans == NULL)
		return -1;
	ok = json_is_true(json_object_get(ans, "ok"));
	copy_str(ans, "reason", why, whylen);
	if (ok && json_is_true(json_object_get(ans, "pending"))) {
		json_decref(ans);
		return 2;
	}
	if (!ok && json_is_true(json_object_get(ans, "final"))) {
		json_decref(ans);
		return 3;
	}
	if (ok && id != NULL)
		copy_identity(ans, id);
	/* How long the customer approved it for, to tell the engineer. */
	if (ok)
		copy_str(ans, "note", why, whylen);
	json_decref(ans);
	return ok;
}

int
mm_approval_wait(int mon, struct mm_identity *id, char *why, size_t whylen)
{
	json_t	*ans;
	int	 ok;

	ans = mm_call(mon, MM_APPROVAL_WAIT, json_object(), NULL, 0, NULL);
	if (ans == NULL)
		return -1;
	ok = json_is_true(json_object_get(ans, "ok"));
	copy_str(ans, ok ? "note" : "reason", why, whylen);
	if (ok)
		copy_identity(ans, id);
	json_decref(ans);
	return ok;
}

int
mm_exec(int mon, const char *cmdline, int *out, int *err, char *why,
    size_t whylen)
{
	json_t	*ans;
	int	 fds[2], nfds, ok, i;

	ans = mm_call(mon, MM_EXEC, json_pack("{s:s}", "command",
	    cmdline), fds, 2, &nfds);
	if (ans == NULL)
		return -1;
	ok = json_is_true(json_object_get(ans, "ok"));
	copy_str(ans, "reason", why, whylen);
	json_decref(ans);
	if (ok && nfds == 2) {
		*out = fds[0];
		*err = fds[1];
		return 1;
	}
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return ok ? -1 : 0;
}

int
mm_exec_refused(int mon, const char *shown, size_t length, const char *why)
{
	json_t *ans;

	ans = mm_call(mon, MM_EXEC_REFUSED, json_pack("{s:s, s:I, s:s}",
	    "command", shown, "length", (json_int_t)length,
	    "reason", why), NULL, 0, NULL);
	if (ans == NULL)
		return -1;
	json_decref(ans);
	return 0;
}

int
mm_activity(int mon)
{
	json_t *ans;

	if ((ans = mm_call(mon, MM_ACTIVITY, json_object(), NULL, 0,
	    NULL)) == NULL)
		return -1;
	json_decref(ans);
	return 0;
}

int
mm_exec_wait(int mon, uint64_t bytes_out, struct mm_exec_result *res)
{
	json_t *ans;

	ans = mm_call(mon, MM_EXEC_WAIT, json_pack("{s:I}",
	    "bytes_out", (json_int_t)bytes_out), NULL, 0, NULL);
	if (ans == NULL)
		return -1;
	res->exit_status = (int)json_integer_value(json_object_get(ans,
	    "exit_status"));
	res->timed_out = json_is_true(json_object_get(ans, "timed_out"));
	res->timeout = (uint64_t)json_integer_value(json_object_get(ans,
	    "timeout"));
	json_decref(ans);
	return 0;
}

int
mm_event(int mon, const char *type, json_t *fields)
{
	json_t *req, *ans;

	req = json_pack("{s:s}", "type", type);
	if (req == NULL) {
		json_decref(fields);
		return -1;
	}
	json_object_set_new(req, "fields", fields != NULL ? fields :
	    json_object());
	if ((ans = mm_call(mon, MM_EVENT, req, NULL, 0, NULL)) == NULL)
		return -1;
	json_decref(ans);
	return 0;
}

/* The answer's "ok" and "reason": 1, 0, or -1 when there was no answer. */
static int
mm_verdict(json_t *ans, char *why, size_t whylen)
{
	if (ans == NULL)
		return -1;
	if (why != NULL)
		copy_str(ans, "reason", why, whylen);
	return json_is_true(json_object_get(ans, "ok")) ? 1 : 0;
}

/* Call, and take exactly want descriptors when the answer is yes. */
static int
mm_call_fds(int mon, enum mm_req kind, json_t *req, json_t **ansp, int *fds,
    int want, char *why, size_t whylen)
{
	int	got = 0, ok, i;

	*ansp = mm_call(mon, kind, req, fds, want, &got);
	ok = mm_verdict(*ansp, why, whylen);
	if (ok == 1 && got == want)
		return 1;
	for (i = 0; i < got; i++)
		close(fds[i]);
	if (ok == 1) {
		json_decref(*ansp);
		*ansp = NULL;
		return -1;	/* an answer without its descriptors */
	}
	return ok;
}

static void
attr_from_json(json_t *j, struct access_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->size = (uint64_t)json_integer_value(json_object_get(j, "size"));
	a->uid = (uint32_t)json_integer_value(json_object_get(j, "uid"));
	a->gid = (uint32_t)json_integer_value(json_object_get(j, "gid"));
	a->mode = (uint32_t)json_integer_value(json_object_get(j, "mode"));
	a->atime = (uint32_t)json_integer_value(json_object_get(j, "atime"));
	a->mtime = (uint32_t)json_integer_value(json_object_get(j, "mtime"));
	a->nlink = (uint32_t)json_integer_value(json_object_get(j, "nlink"));
}

static int
mma_open_file(void *arg, const char *path, int *fd, uint32_t *handle,
    struct access_attr *attr, char *why, size_t whylen)
{
	json_t	*ans;
	int	 rc;

	rc = mm_call_fds(*(int *)arg, MM_FILE_OPEN, json_pack("{s:s}",
	    "path", path), &ans, fd, 1, why, whylen);
	if (rc == 1) {
		*handle = (uint32_t)json_integer_value(json_object_get(ans,
		    "id"));
		attr_from_json(json_object_get(ans, "attr"), attr);
		attr->redacted = json_is_true(json_object_get(ans,
		    "redacted"));
	}
	json_decref(ans);
	return rc;
}

static int
mma_more_file(void *arg, uint32_t handle, int *fd, uint64_t *base,
    int *truncated, char *why, size_t whylen)
{
	json_t	*ans, *jb;
	int	 fds[1], nfds = 0, rc;

	*fd = -1;
	ans = mm_call(*(int *)arg, MM_FILE_MORE, json_pack("{s:I}", "id",
	    (json_int_t)handle), fds, 1, &nfds);
	if ((rc = mm_verdict(ans, why, whylen)) == 1) {
		*truncated = json_is_true(json_object_get(ans, "truncated"));
		jb = json_object_get(ans, "base");
		/* A new copy comes with where it starts, or not at all. */
		if (nfds == 1 && json_is_integer(jb) &&
		    json_integer_value(jb) >= 0) {
			*base = (uint64_t)json_integer_value(jb);
			*fd = fds[0];
			nfds = 0;
		} else if (nfds != 0 || jb != NULL)
			rc = -1;
	}
	if (nfds == 1)
		close(fds[0]);
	json_decref(ans);
	return rc;
}

static int
mma_close_file(void *arg, uint32_t handle, uint64_t bytes)
{
	json_t *ans;

	ans = mm_call(*(int *)arg, MM_FILE_CLOSE, json_pack("{s:I, s:I}",
	    "id", (json_int_t)handle, "bytes",
	    (json_int_t)bytes), NULL, 0, NULL);
	if (ans == NULL)
		return -1;
	json_decref(ans);
	return 1;
}

static int
mma_stat(void *arg, const char *path, struct access_attr *attr, char *why,
    size_t whylen)
{
	json_t	*ans;
	int	 rc;

	ans = mm_call(*(int *)arg, MM_FILE_STAT, json_pack("{s:s}",
	    "path", path), NULL, 0, NULL);
	if ((rc = mm_verdict(ans, why, whylen)) == 1)
		attr_from_json(json_object_get(ans, "attr"), attr);
	json_decref(ans);
	return rc;
}

static int
mma_list_dir(void *arg, const char *path, uint32_t *cookie,
    struct access_dirent *ents, size_t max, size_t *n, int *eof, char *why,
    size_t whylen)
{
	json_t		*ans, *list, *e;
	const char	*name;
	size_t		 i;
	int		 rc;

	*n = 0;
	ans = mm_call(*(int *)arg, MM_DIR_LIST, json_pack("{s:s, s:I, s:I}",
	    "path", path, "cookie", (json_int_t)*cookie, "max",
	    (json_int_t)max), NULL, 0, NULL);
	if ((rc = mm_verdict(ans, why, whylen)) != 1) {
		json_decref(ans);
		return rc;
	}
	list = json_object_get(ans, "entries");
	json_array_foreach(list, i, e) {
		if (*n >= max || (name = json_string_value(json_object_get(e,
		    "name"))) == NULL || strlen(name) > ACCESS_NAME_MAX)
			break;
		snprintf(ents[*n].name, sizeof(ents[*n].name), "%s", name);
		attr_from_json(e, &ents[*n].attr);
		(*n)++;
	}
	*cookie = (uint32_t)json_integer_value(json_object_get(ans, "cookie"));
	*eof = json_is_true(json_object_get(ans, "eof"));
	json_decref(ans);
	return 1;
}

static int
mma_refused(void *arg, const char *op, const char *path)
{
	json_t *ans;

	ans = mm_call(*(int *)arg, MM_REFUSED, json_pack("{s:s, s:s}",
	    "op", op, "path", path), NULL, 0, NULL);
	if (ans == NULL)
		return -1;
	json_decref(ans);
	return 1;
}

static int
mma_exec(void *arg, const char *cmdline, int *out, int *err, char *why,
    size_t whylen)
{
	return mm_exec(*(int *)arg, cmdline, out, err, why, whylen);
}

static int
mma_exec_wait(void *arg, uint64_t bytes_out, int *exit_status,
    int *timed_out)
{
	struct mm_exec_result res;

	if (mm_exec_wait(*(int *)arg, bytes_out, &res) == -1)
		return -1;
	*exit_status = res.exit_status;
	*timed_out = res.timed_out;
	return 1;
}

static int
mma_exec_cancel(void *arg)
{
	json_t *ans;

	ans = mm_call(*(int *)arg, MM_EXEC_CANCEL, json_object(),
	    NULL, 0, NULL);
	if (ans == NULL)
		return -1;
	json_decref(ans);
	return 1;
}

static int
mma_setting_get(void *arg, const char *key, char *value, size_t vlen,
    char *why, size_t whylen)
{
	json_t	*ans;
	int	 rc;

	ans = mm_call(*(int *)arg, MM_SETTING_GET, json_pack("{s:s}",
	    "key", key), NULL, 0, NULL);
	if ((rc = mm_verdict(ans, why, whylen)) == 1)
		copy_str(ans, "value", value, vlen);
	json_decref(ans);
	return rc;
}

static int
mma_setting_set(void *arg, const char *key, const char *value, char *old,
    size_t oldlen, char *why, size_t whylen)
{
	json_t	*ans;
	int	 rc;

	ans = mm_call(*(int *)arg, MM_SETTING_SET, json_pack("{s:s, s:s}",
	    "key", key, "value", value), NULL, 0, NULL);
	if ((rc = mm_verdict(ans, why, whylen)) == 1)
		copy_str(ans, "old", old, oldlen);
	json_decref(ans);
	return rc;
}

void
mm_access_ops(int *mon, const struct policy *pol, struct access_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->arg = mon;
	ops->home = pol->nfile_paths > 0 ? pol->file_paths[0] : "/";
	ops->open_file = mma_open_file;
	ops->close_file = mma_close_file;
	ops->more_file = mma_more_file;
	ops->stat = mma_stat;
	ops->list_dir = mma_list_dir;
	ops->refused = mma_refused;
	ops->exec = mma_exec;
	ops->exec_wait = mma_exec_wait;
	ops->exec_cancel = mma_exec_cancel;
	ops->setting_get = mma_setting_get;
	ops->setting_set = mma_setting_set;
}

int
mm_forward_open(int mon, const char *host, uint16_t port,
    const char *orig_host, uint16_t orig_port, int *fd, uint32_t *id,
    char *why, size_t whylen)
{
	json_t	*ans;
	int	 rc;

	rc = mm_call_fds(mon, MM_FORWARD_OPEN, json_pack(
	    "{s:s, s:i, s:s, s:i}", "host", host, "port", (int)port,
	    "orig_host", orig_host, "orig_port", (int)orig_port), &ans, fd, 1,
	    why, whylen);
	if (rc == 1)
		*id = (uint32_t)json_integer_value(json_object_get(ans, "id"));
	json_decref(ans);
	return rc;
}

int
mm_forward_close(int mon, uint32_t id, uint64_t to_target,
    uint64_t from_target)
{
	json_t *ans;

	ans = mm_call(mon, MM_FORWARD_CLOSE, json_pack("{s:I, s:I, s:I}",
	    "id", (json_int_t)id, "bytes_to_target",
	    (json_int_t)to_target, "bytes_from_target",
	    (json_int_t)from_target), NULL, 0, NULL);
	if (ans == NULL)
		return -1;
	json_decref(ans);
	return 0;
}

int
mm_shell_open(int mon, const char *term, uint32_t cols, uint32_t rows,
    int *fd, char *why, size_t whylen)
{
	json_t	*ans;
	int	 rc;

	rc = mm_call_fds(mon, MM_SHELL_OPEN, json_pack("{s:s, s:I, s:I}",
	    "term", term, "cols", (json_int_t)cols, "rows",
	    (json_int_t)rows), &ans, fd, 1, why, whylen);
	json_decref(ans);
	return rc;
}

int
mm_window_change(int mon, uint32_t cols, uint32_t rows)
{
	json_t *ans;

	ans = mm_call(mon, MM_WINDOW_CHANGE, json_pack("{s:I, s:I}",
	    "cols", (json_int_t)cols, "rows",
	    (json_int_t)rows), NULL, 0, NULL);
	if (ans == NULL)
		return -1;
	json_decref(ans);
	return 0;
}
