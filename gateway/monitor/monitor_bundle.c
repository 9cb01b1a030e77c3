/*
 * monitor_bundle.c - the engineer's `ssh ... support@CLUSTER bundle`:
 * a support bundle requested for the ticket of the certificate the
 * session logged in with.  The monitor asks the broker, which queues
 * it with the gateway's bundles (gateway/bundles.h) and answers in one
 * byte; the engineer reads the outcome as the command's output.  The
 * bundle is built later, outside this session, which may end before it
 * is done.
 */
#include "gateway/monitor/monitor_int.h"

#include <sys/random.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/fileio.h"

#define MON_BUNDLE_ID_LEN	16

/*
 * The command's output: text on stdout, nothing on stderr, its exit
 * status for exec_wait.  Both pipes are closed at once: the text fits
 * a pipe's buffer.
 */
static int
mon_builtin_answer(struct mon *m, const char *text, int status)
{
	int	o[2] = { -1, -1 }, e[2] = { -1, -1 }, fds[2], rc;

	if (pipe2(o, O_CLOEXEC) == -1 || pipe2(e, O_CLOEXEC) == -1 ||
	    fileio_write_all(o[1], text, strlen(text)) == -1) {
		rc = mon_refuse(m, "the gateway could not answer");
		goto out;
	}
	close(o[1]);
	close(e[1]);
	o[1] = e[1] = -1;
	m->builtin = 1;
	m->builtin_status = status;
	m->diag_peer = m->peer;
	fds[0] = o[0];
	fds[1] = e[0];
	rc = mon_answer(m, json_pack("{s:b}", "ok", 1), fds, 2);
out:
	if (o[0] != -1)
		close(o[0]);
	if (o[1] != -1)
		close(o[1]);
	if (e[0] != -1)
		close(e[0]);
	if (e[1] != -1)
		close(e[1]);
	return rc;
}

int
mon_bundle(struct mon *m, const char *cmd)
{
	uint8_t		rnd[MON_BUNDLE_ID_LEN / 2];
	char		id[MON_BUNDLE_ID_LEN + 1], text[512];
	const char	*why = NULL;
	size_t		i;
	int		ans;

	if (strcmp(cmd, "bundle") != 0)
		why = "bundle takes no words: the ticket is your "
		    "certificate's";
	else if (!m->pol->bundle_enabled)
		why = "support bundles are disabled on this cluster";
	if (why != NULL) {
		mon_audit(m, "command_refused", json_pack("{s:s, s:s}",
		    "command", cmd, "reason", why));
		return mon_answer(m, json_pack("{s:b, s:s}", "ok", 0, "reason",
		    why), NULL, 0);
	}
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		mon_end(m, 1);
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	if (mon_broker_send(m, BM_BUNDLE, json_pack("{s:s}", "id", id)) == -1 ||
	    (ans = mon_broker_answer(m)) == -1)
		mon_end(m, 1);
	if (ans == BM_BUNDLE_QUEUED) {
		snprintf(text, sizeof(text), "porthole: support bundle %s "
		    "requested%s%s.\nIt is built on the cluster and sent to the "
		    "relay%s; there: porthole-relay bundle get %s -o FILE\n", id,
		    m->id.ticket[0] != '\0' ? " for ticket " : "", m->id.ticket,
		    m->pol->bundle_approval_required ? " once the customer "
		    "approves it" : "", id);
		return mon_builtin_answer(m, text, 0);
	}
	snprintf(text, sizeof(text), "porthole: refused: %s\n",
	    ans == BM_BUNDLE_FULL ? "too many support bundles wait on this "
	    "cluster; ask again later" : "the bundle could not be requested "
	    "(the customer's log says why)");
	return mon_builtin_answer(m, text, 1);
}
