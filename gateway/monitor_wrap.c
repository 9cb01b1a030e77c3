/*
 * monitor_wrap.c - the child's side of the monitor protocol: build a
 * request, send it, wait for the one answer.
 */
#include "gateway/monitor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fdpass.h"

/* Send req (stolen) and read the answer; fds receives passed descriptors. */
static json_t *
mm_call(int mon, json_t *req, int *fds, int maxfds, int *nfds)
{
	char		*text, *buf = NULL;
	json_t		*ans = NULL;
	ssize_t		 n;
	int		 rc, i, dummy;

	if (nfds == NULL)
		nfds = &dummy;
	*nfds = 0;
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
}

int
mm_auth(int mon, const char *user, const char *key_type, const char *key_b64,
    int login, struct mm_identity *id, char *why, size_t whylen)
{
	json_t	*ans;
	int	 ok;

	ans = mm_call(mon, json_pack("{s:s, s:s, s:s, s:s, s:b}", "req", "auth",
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
	if (ok && id != NULL)
		copy_identity(ans, id);
	json_decref(ans);
	return ok;
}

int
mm_approval_wait(int mon, struct mm_identity *id, char *why, size_t whylen)
{
	json_t	*ans;
	int	 ok;

	ans = mm_call(mon, json_pack("{s:s}", "req", "approval_wait"), NULL,
	    0, NULL);
	if (ans == NULL)
		return -1;
	ok = json_is_true(json_object_get(ans, "ok"));
	copy_str(ans, "reason", why, whylen);
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

	ans = mm_call(mon, json_pack("{s:s, s:s}", "req", "exec", "command",
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
mm_exec_wait(int mon, uint64_t bytes_out, struct mm_exec_result *res)
{
	json_t *ans;

	ans = mm_call(mon, json_pack("{s:s, s:I}", "req", "exec_wait",
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

	req = json_pack("{s:s, s:s}", "req", "event", "type", type);
	if (req == NULL) {
		json_decref(fields);
		return -1;
	}
	json_object_set_new(req, "fields", fields != NULL ? fields :
	    json_object());
	if ((ans = mm_call(mon, req, NULL, 0, NULL)) == NULL)
		return -1;
	json_decref(ans);
	return 0;
}
