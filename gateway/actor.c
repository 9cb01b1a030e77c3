/*
 * actor.c - who asked over the control socket (actor.h).
 */
#include "gateway/actor.h"

#include <sys/socket.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/control_proto.h"
#include "lib/ident.h"

/* The name of uid, or "" (a uid without an entry is still a uid). */
static void
actor_name(uid_t uid, char *buf, size_t len)
{
	struct passwd	 pw, *res = NULL;
	char		 tmp[2048];

	buf[0] = '\0';
	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res != NULL &&
	    ident_valid(pw.pw_name, ACTOR_NAME_MAX, IDENT_NAME))
		snprintf(buf, len, "%s", pw.pw_name);
}

/*
 * The login uid of pid: -1 when the kernel has none for it (no audit
 * support, or no login set one: 4294967295) or it cannot be read.  The
 * peer is waiting for our answer, so pid is still the process that
 * connected.
 */
static int64_t
actor_loginuid(pid_t pid)
{
	char		 path[64], buf[32], *end;
	unsigned long	 v;
	ssize_t		 n;
	int		 fd;

	snprintf(path, sizeof(path), "/proc/%ld/loginuid", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	v = strtoul(buf, &end, 10);
	if (end == buf || (*end != '\0' && *end != '\n') ||
	    v >= UINT32_MAX)
		return -1;
	return (int64_t)v;
}

/* The one line the audit log's "by" and the daemon's log say. */
static void
actor_line(struct actor *a)
{
	size_t	n;

	n = (size_t)snprintf(a->by, sizeof(a->by), "uid %u%s%s%s",
	    (unsigned int)a->uid, a->user[0] ? " (" : "", a->user,
	    a->user[0] ? ")" : "");
	if (a->loginuid >= 0 && n < sizeof(a->by))
		n += (size_t)snprintf(a->by + n, sizeof(a->by) - n,
		    ", login uid %" PRId64 "%s%s%s", a->loginuid,
		    a->login_user[0] ? " (" : "", a->login_user,
		    a->login_user[0] ? ")" : "");
	if (a->sudo_user[0] != '\0' && n < sizeof(a->by))
		snprintf(a->by + n, sizeof(a->by) - n,
		    ", SUDO_USER %s (claimed)", a->sudo_user);
}

int
actor_from_peer(struct actor *a, int fd)
{
	struct ucred	cred;
	socklen_t	len = sizeof(cred);

	memset(a, 0, sizeof(*a));
	a->loginuid = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1)
		return -1;
	a->uid = cred.uid;
	actor_name(cred.uid, a->user, sizeof(a->user));
	if ((a->loginuid = actor_loginuid(cred.pid)) >= 0)
		actor_name((uid_t)a->loginuid, a->login_user,
		    sizeof(a->login_user));
	actor_line(a);
	return 0;
}

int
actor_claims(struct actor *a, json_t *req, char *why, size_t whylen)
{
	json_t		*su = json_object_get(req, "sudo_user");
	json_t		*re = json_object_get(req, "reason");
	const char	*s;

	if (su != NULL) {
		s = json_string_value(su);
		if (s == NULL || !ident_valid(s, ACTOR_NAME_MAX, IDENT_NAME)) {
			snprintf(why, whylen, "sudo_user: not a user name");
			return -1;
		}
		snprintf(a->sudo_user, sizeof(a->sudo_user), "%s", s);
	}
	if (re != NULL) {
		s = json_string_value(re);
		if (s == NULL || !control_reason_valid(s)) {
			snprintf(why, whylen, "reason: %s", CONTROL_REASON_RULE);
			return -1;
		}
		snprintf(a->reason, sizeof(a->reason), "%s", s);
	}
	actor_line(a);
	return 0;
}

void
actor_internal(struct actor *a, const char *what)
{
	memset(a, 0, sizeof(*a));
	a->uid = geteuid();
	a->loginuid = -1;
	snprintf(a->by, sizeof(a->by), "%s", what);
}

json_t *
actor_fields(const struct actor *a)
{
	json_t *f, *who;

	who = json_pack("{s:I, s:s, s:I, s:s, s:s}", "uid",
	    (json_int_t)a->uid, "user", a->user, "loginuid",
	    (json_int_t)a->loginuid, "login_user", a->login_user,
	    "sudo_user_claimed", a->sudo_user);
	if (who == NULL)
		return NULL;
	if ((f = json_pack("{s:s, s:o}", "by", a->by, "actor", who)) == NULL)
		return NULL;
	if (a->reason[0] != '\0')
		json_object_set_new(f, "reason", json_string(a->reason));
	return f;
}
