/*
 * localsock.h - the gateway's local UNIX sockets under run_dir (the
 * control socket and the telemetry intake): who may connect, and the
 * listening socket itself.
 *
 * Only root, the gateway's own user and members of admin_group may use
 * them; the check is on the peer's credentials (SO_PEERCRED), and the
 * socket file is mode 0660, group admin_group, as a second wall.
 */
#ifndef PH_LOCALSOCK_H
#define PH_LOCALSOCK_H

#include <sys/types.h>
#include <stddef.h>

#include <event2/listener.h>

struct localsock_acl {
	gid_t	admin_gid;
	int	have_admin_gid;
};

/* The group may not exist (then only root and the gateway's user). */
void	localsock_acl_init(struct localsock_acl *acl, const char *group);
/*
 * After a reload: look admin_group up again (it may be new, renamed or
 * created since) and give the socket at path to it.
 */
void	localsock_regroup(struct localsock_acl *acl, const char *group,
	    const char *path);
/* May the peer on fd connect?  1 with *uid, or 0. */
int	localsock_peer_allowed(const struct localsock_acl *acl, int fd,
	    uid_t *uid);
/*
 * Listen on run_dir/name (creating run_dir), calling cb for each
 * connection.  Returns the listener, or NULL after logging why; path
 * gets the socket's path.
 */
struct evconnlistener *localsock_listen(struct event_base *base,
	    const char *run_dir, const char *name,
	    const struct localsock_acl *acl, evconnlistener_cb cb, void *arg,
	    char *path, size_t pathlen);

#endif
