/*
 * broker_watch.c - porthole watch: a customer admin sees a running
 * support shell as the engineer sees it, read-only.
 *
 * What the watcher reads is the session's recording (the monitor
 * writes it from the terminal itself, monitor_shell.c), handed over as
 * a descriptor open at its current end, so that the admin needs no
 * access to audit_dir and sees only what comes from now on.  The
 * monitor is told (BM_WATCH): the shell redraws its screen for the new
 * watcher and tells the engineer who watches, and a shell held by
 * [remote_access] require_watch starts.
 */
#include "gateway/broker_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fdpass.h"
#include "lib/ident.h"
#include "lib/log.h"

/* BM_SHELL: the session's support shell opened (its recording) or closed. */
int
gs_msg_shell(struct gsess *gs, json_t *msg)
{
	const char *rec = json_string_value(json_object_get(msg, "recording"));

	if (rec == NULL || strlen(rec) >= sizeof(gs->shell_rec))
		return -1;
	snprintf(gs->shell_rec, sizeof(gs->shell_rec), "%s", rec);
	if (rec[0] == '\0')
		gs->watchers = 0;
	return 0;
}

/* Tell the session's monitor that someone joined or left. */
static int
watch_tell(struct gsess *gs, int joined, const char *by)
{
	json_t	*msg;
	char	*text;
	int	 rc = -1;

	msg = json_pack("{s:s, s:s, s:b, s:i}", "msg", bm_msgs[BM_WATCH].name,
	    "by", by, "joined", joined, "watchers", gs->watchers);
	if (msg != NULL && (text = json_dumps(msg, JSON_COMPACT)) != NULL) {
		rc = fdpass_send(gs->pol_fd, text, strlen(text), NULL, 0);
		free(text);
	}
	json_decref(msg);
	return rc;
}

int
broker_watch(struct broker *b, const char *id, int joined,
    const struct actor *who, int *fd, char *err, size_t errlen)
{
	struct gsess	*gs;
	json_t		*ev;
	char		 path[4200];
	int		 rfd = -1;

	TAILQ_FOREACH(gs, &b->sessions, entry)
		if (strcmp(gs->id, id) == 0)
			break;
	if (gs == NULL || gs->state != BM_PH_ACTIVE || gs->pid <= 0 ||
	    gs->end_asked != 0) {
		snprintf(err, errlen, "no such session (it may have ended)");
		return -1;
	}
	if (gs->shell_rec[0] == '\0') {
		snprintf(err, errlen, "session %s runs no support shell; only "
		    "a shell can be watched (porthole audit replay shows a "
		    "recording afterwards)", id);
		return -1;
	}
	if (!joined) {
		if (gs->watchers == 0) {
			snprintf(err, errlen, "nobody watches session %s", id);
			return -1;
		}
		gs->watchers--;
	} else {
		snprintf(path, sizeof(path), "%s/recordings/%s",
		    b->pol->audit_dir, gs->shell_rec);
		/* From its end: the redraw below is the first thing seen. */
		if ((rfd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) ==
		    -1 || lseek(rfd, 0, SEEK_END) == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			if (rfd != -1)
				close(rfd);
			return -1;
		}
	}
	if ((ev = actor_fields(who)) != NULL)
		json_object_set_new(ev, "recording", json_string(
		    gs->shell_rec));
	if (ev == NULL || broker_audit(b, joined ? "session_watched" :
	    "session_watch_ended", gs->id, ev) == -1) {
		if (rfd != -1)
			close(rfd);
		snprintf(err, errlen, "the audit log cannot be written");
		return -1;
	}
	if (joined)
		gs->watchers++;
	log_info("session %s: %s %s watching", gs->id, who->by, joined ?
	    "is" : "stopped");
	if (watch_tell(gs, joined, who->by) == -1)
		log_warn("session %s: cannot tell its monitor about a watcher",
		    gs->id);
	if (joined)
		*fd = rfd;
	return 0;
}
