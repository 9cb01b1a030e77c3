/*
 * keyagent.h - the cluster key, held by a process of its own.
 *
 * The gateway logs in to each relay with the cluster key.  Every
 * session's monitor, session child and support shell is forked from the
 * gateway's main process, so a key parsed there would be in all of them
 * (libssh leaves the text of a key it read, and the key decoded from
 * it, in freed memory; nothing can wipe that).  So the main process
 * never parses the key: it keeps the file's bytes in a sealed memory
 * file, and a small process forked for the purpose parses them and
 * signs the tunnels' logins, speaking the ssh-agent protocol to libssh
 * (ssh_set_agent_socket).  It signs nothing but a publickey login as the
 * cluster with that key: whoever gets hold of its socket can log in to
 * a relay while they hold it, never take the key away.
 *
 * Every process forked from the main process that does not exec at once
 * must close the descriptors of this module (the memory file and the
 * agent's socket), as the broker's sessions and the jobs do
 * (closefrom): they are the key.
 */
#ifndef PH_KEYAGENT_H
#define PH_KEYAGENT_H

#include <stddef.h>

struct keyagent;

/*
 * Read the cluster key at path into a sealed memory file and check, in
 * a throwaway process, that it is an unencrypted OpenSSH Ed25519 private
 * key.  NULL with "PATH: reason" in err.
 */
struct keyagent	*keyagent_open(const char *path, const char *cluster_id,
		    char *err, size_t errlen);
/*
 * A descriptor on which the agent answers, for ssh_set_agent_socket()
 * (libssh closes it with the session).  The agent is started at the
 * first call, and again when it was found gone.  -1 with why in err.
 */
int		 keyagent_connect(struct keyagent *, char *err, size_t errlen);
/* Stop the agent, close the memory file. */
void		 keyagent_free(struct keyagent *);

#endif
