/*
 * actor.h - who asked, over the control socket, for what the audit log
 * then records: the peer's uid and user name (SO_PEERCRED), its login
 * uid (/proc/PID/loginuid, which pam_loginuid sets at login and which
 * survives su and sudo), the SUDO_USER the client claims, and the
 * --reason it gave.
 *
 * Only the first two are the kernel's word.  The login uid is the
 * kernel's too, but only as good as the login that set it (unset:
 * -1); SUDO_USER is whatever the client's environment held, and is
 * recorded as a claim.
 */
#ifndef PH_ACTOR_H
#define PH_ACTOR_H

#include <sys/types.h>
#include <stdint.h>

#include <jansson.h>

#define ACTOR_NAME_MAX		32	/* a user name */

struct actor {
	uid_t		 uid;
	char		 user[ACTOR_NAME_MAX + 1];	/* "" if none */
	int64_t		 loginuid;	/* -1: unset or unknown */
	char		 login_user[ACTOR_NAME_MAX + 1];
	char		 sudo_user[ACTOR_NAME_MAX + 1];	/* claimed; "" */
	char		 reason[257];	/* --reason; "" if none */
	char		 by[256];	/* all of it on one line */
};

/*
 * The peer on fd as the kernel knows it: 0, or -1 if SO_PEERCRED
 * cannot be read.
 */
int	actor_from_peer(struct actor *a, int fd);
/*
 * What the request claims ("sudo_user", "reason"), checked: 0, or -1
 * with why (a claim that is not a user name, a reason that is too long
 * or holds control characters).
 */
int	actor_claims(struct actor *a, json_t *req, char *why, size_t whylen);
/* An actor that is the gateway itself ("SIGHUP", "timeout"). */
void	actor_internal(struct actor *a, const char *what);
/*
 * The audit fields naming a: "by" (the line), "actor" (an object: uid,
 * user, loginuid, login_user, sudo_user_claimed) and "reason" when one
 * was given.  A new object, or NULL.
 */
json_t	*actor_fields(const struct actor *a);

#endif
