/*
 * localsock.c - local UNIX sockets under run_dir, for admins only.
 */
#include "gateway/localsock.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

void
localsock_acl_init(struct localsock_acl *acl, const char *group)
{
	struct group *gr;

	memset(acl, 0, sizeof(*acl));
	if (group != NULL && (gr = getgrnam(group)) != NULL) {
		acl->admin_gid = gr->gr_gid;
		acl->have_admin_gid = 1;
	}
}

static void
give_to_group(const struct localsock_acl *acl, const char *path)
{
	if (acl->have_admin_gid && geteuid() == 0 &&
	    chown(path, 0, acl->admin_gid) == -1)
		log_warn("%s: cannot give it to the admin group: %s", path,
		    strerror(errno));
}

void
localsock_regroup(struct localsock_acl *acl, const char *group,
    const char *path)
{
	localsock_acl_init(acl, group);
	if (!acl->have_admin_gid) {
		log_warn("%s: admin group %s does not exist: only root may "
		    "use it", path, group != NULL ? group : "(none)");
		/* Take it back from the old group. */
		if (geteuid() == 0 && chown(path, 0, 0) == -1)
			log_warn("%s: cannot give it to root: %s", path,
			    strerror(errno));
	}
	give_to_group(acl, path);
}

static int
uid_allowed(const struct localsock_acl *acl, uid_t uid, gid_t gid)
{
	struct passwd	*pw;
	gid_t		 groups[256];
	int		 n = 256, i;

	if (uid == 0 || uid == geteuid())
		return 1;
	if (!acl->have_admin_gid)
		return 0;
	if (gid == acl->admin_gid)
		return 1;
	if ((pw = getpwuid(uid)) == NULL ||
	    getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) == -1)
		return 0;
	for (i = 0; i < n; i++)
		if (groups[i] == acl->admin_gid)
			return 1;
	return 0;
}

int
localsock_peer_allowed(const struct localsock_acl *acl, int fd, uid_t *uid)
{
	struct ucred	cred;
	socklen_t	len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1)
		return 0;
	*uid = cred.uid;
	return uid_allowed(acl, cred.uid, cred.gid);
}

struct evconnlistener *
localsock_listen(struct event_base *base, const char *run_dir,
    const char *name, const struct localsock_acl *acl, evconnlistener_cb cb,
    void *arg, char *path, size_t pathlen)
{
	struct evconnlistener	*l;
	struct sockaddr_un	 sun;
	mode_t			 old;

	if (mkdir(run_dir, 0755) == -1 && errno != EEXIST) {
		log_error("%s: cannot create: %s", run_dir, strerror(errno));
		return NULL;
	}
	memset(&sun, 0, sizeof(sun));
	if ((size_t)snprintf(path, pathlen, "%s/%s", run_dir, name) >=
	    pathlen || strlen(path) >= sizeof(sun.sun_path)) {
		log_error("%s: run_dir path too long for a socket", run_dir);
		return NULL;
	}
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	unlink(path);
	old = umask(0117);
	l = evconnlistener_new_bind(base, cb, arg, LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_CLOSE_ON_EXEC, 16, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (l == NULL) {
		log_error("%s: cannot listen: %s", path, strerror(errno));
		return NULL;
	}
	give_to_group(acl, path);
	return l;
}
