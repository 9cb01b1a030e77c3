/*
 * portholed - the customer's gateway: an outbound tunnel to each of the
 * vendor's relays, and a sandboxed session process for every engineer who
 * comes through one, allowed only what porthole.conf grants.
 *
 * usage: portholed -f porthole.conf [-d] [-t] [-v]
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <libssh/libssh.h>

#include "audit/audit.h"
#include "audit/policies.h"
#include "audit/seal.h"
#include "gateway/approvals.h"
#include "gateway/alerts.h"
#include "gateway/broker.h"
#include "gateway/bundles.h"
#include "gateway/collect.h"
#include "gateway/control.h"
#include "gateway/inbox.h"
#include "gateway/keyagent.h"
#include "gateway/intake.h"
#include "gateway/job.h"
#include "gateway/updates.h"
#include "gateway/session/session.h"
#include "gateway/telem.h"
#include "gateway/tunnel.h"
#include "gateway/tunnels.h"
#include "gateway/uplink.h"
#include "lib/clock.h"
#include "lib/cmdline.h"
#include "lib/daemon.h"
#include "lib/escape.h"
#include "lib/filecheck.h"
#include "lib/fileio.h"
#include "lib/krl.h"
#include "lib/log.h"
#include "lib/sshcert.h"
#include "policy/policy.h"
#include "sandbox/sandbox.h"

#define GATEWAY_USAGE \
	"usage: portholed -f FILE [-d] [-t] [-v]\n" \
	"       portholed --help | --version\n"
#define GATEWAY_PID_FILE	"portholed.pid"		/* in run_dir */
/* How long a clean stop waits for the relay to take the final seal. */
#define SHUTDOWN_ANCHOR_MS	2000

static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;

	(void)what;
	log_info("signal %d: shutting down", (int)sig);
	event_base_loopexit(base, NULL);
}

static void
on_chld(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	broker_reap(arg);
}

/* What a reload replaces. */
struct gateway {
	const char	*path;
	struct policy	*pol;
	struct audit	*audit;
	struct broker	*broker;
	struct tunnels	*tunnels;
	struct control	*control;
	struct intake	*intake;
	struct telem	*telem;
	struct uplink	*uplink;
	struct collect	*collect;
	struct inbox	*inbox;
	struct jobs	*jobs;
	struct updates	*updates;
	struct bundles	*bundles;
	struct alerts	*alerts;
	struct krl	*krl;		/* revoked_keys, or NULL */
	struct approvals *approvals;	/* tickets approved for a time */
	struct event	*ev_seal;	/* seals quiet periods: seal_interval */
};

static void
on_tunnel_channel(ssh_channel ch, const char *orig_host, int orig_port,
    void *arg)
{
	struct gateway *gw = arg;

	/* Stopping: the sessions have ended, no new one starts. */
	if (gw->broker == NULL) {
		ssh_channel_close(ch);
		ssh_channel_free(ch);
		return;
	}
	broker_channel(ch, orig_host, orig_port, gw->broker);
}

/*
 * After every poll of a tunnel: engineer channels, then telemetry.  A
 * tunnel that is up takes the uplink when no other carries it.
 */
static void
on_tunnel_poll(struct tunnel *t, void *arg)
{
	struct gateway *gw = arg;

	if (gw->broker != NULL)
		broker_poll(gw->broker);
	if (gw->uplink != NULL && uplink_tunnel(gw->uplink) == NULL)
		uplink_set_tunnel(gw->uplink, t);
	if (gw->uplink != NULL)
		uplink_poll(gw->uplink);
}

/*
 * A tunnel went down: the sessions on it end, those on the other relays'
 * tunnels go on.  If it carried the uplink, the uplink moves at once to
 * another tunnel that is up and sends again from the last record the
 * relays acknowledged; with none up it waits for the first to come back.
 */
static void
on_tunnel_down(struct tunnel *t, void *arg)
{
	struct gateway *gw = arg;

	if (gw->broker != NULL)
		broker_tunnel_down(gw->broker, tunnel_session(t));
	if (gw->uplink == NULL || uplink_tunnel(gw->uplink) != t)
		return;
	uplink_down(gw->uplink);
	uplink_set_tunnel(gw->uplink, tunnels_pick(gw->tunnels, t));
	uplink_poll(gw->uplink);
}

/* Telemetry and license for porthole status, and the relay it goes to. */
static json_t *
status_extra(void *arg)
{
	struct gateway	*gw = arg;
	struct tunnel	*t = uplink_tunnel(gw->uplink);
	json_t		*j = uplink_status(gw->uplink);

	if (j != NULL)
		json_object_set_new(j, "uplink_relay", json_string(t != NULL ?
		    tunnel_name(t) : ""));
	if (j != NULL && gw->inbox != NULL)
		json_object_set_new(j, "inbox", inbox_status(gw->inbox));
	if (j != NULL && gw->updates != NULL)
		json_object_set_new(j, "next_update",
		    updates_next(gw->updates));
	if (j != NULL && gw->bundles != NULL)
		json_object_set_new(j, "bundles", bundles_status(gw->bundles));
	if (j != NULL && gw->alerts != NULL)
		json_object_set_new(j, "alerts", alerts_status(gw->alerts));
	return j;
}

/* A session asks for a support bundle (broker.h). */
static int
gateway_bundle(void *arg, const char *id, const char *engineer,
    const char *ticket, const char *sid, char *why, size_t whylen)
{
	struct gateway *gw = arg;

	if (gw->bundles == NULL) {
		snprintf(why, whylen, "the gateway is stopping");
		return -1;
	}
	return bundles_engineer(gw->bundles, id, engineer, ticket, sid, why,
	    whylen);
}

/* The product sent an event: it may gather a support bundle. */
static void
gateway_event(void *arg, const char *type)
{
	struct gateway *gw = arg;

	if (gw->bundles != NULL)
		bundles_event(gw->bundles, type);
}

/* The audit log for the inbox and the updates, through the broker. */
static int
gateway_audit(void *arg, const char *type, json_t *fields)
{
	struct gateway	*gw = arg;
	int		 rc;

	if (gw->broker != NULL)
		return broker_record(gw->broker, type, NULL, fields);
	/* Stopping: the sessions are gone, the log is still open. */
	rc = audit_write(gw->audit, type, fields);
	json_decref(fields);
	return rc;
}

static void
on_seal(void *arg, uint64_t epoch, uint64_t seq, const char *head)
{
	struct gateway *gw = arg;

	if (gw->uplink != NULL)
		uplink_anchor(gw->uplink, epoch, seq, head);
}

/* A reload's seal_every, seal_interval and audit_rotate, at once. */
static void
gateway_audit_policy(struct gateway *gw, const struct policy *old,
    const struct policy *np)
{
	struct timeval tv = { (time_t)np->seal_interval, 0 };

	audit_set_seal_every(gw->audit, np->seal_every);
	audit_set_rotate(gw->audit, np->audit_rotate);
	/* Rescheduling restarts the period, so only a new interval does. */
	if (np->seal_interval != old->seal_interval && gw->ev_seal != NULL)
		event_add(gw->ev_seal, &tv);
}

/*
 * What a start checks of the file besides its syntax (policy_check: who
 * owns and may write its keys and programs, its directories, accounts):
 * a reload that skipped it would run a program a start refuses.  0, or
 * -1 with the problems in *problems and, as far as they fit, in err:
 * a first line that counts them, then one line each.
 */
static int
reload_check(const struct policy *np, json_t **problems, char *err,
    size_t errlen)
{
	struct filecheck	 fc;
	FILE			*f;
	char			*text = NULL, *line, *save = NULL, *esc;
	size_t			 len = 0, o, n;
	unsigned int		 count, cut = 0;

	*problems = NULL;
	if ((f = open_memstream(&text, &len)) == NULL) {
		snprintf(err, errlen, "%s: cannot be checked: out of memory",
		    np->path);
		return -1;
	}
	filecheck_init(&fc, f);
	count = policy_check(np, &fc);
	fclose(f);
	if (count == 0) {
		free(text);
		return 0;
	}
	o = (size_t)snprintf(err, errlen, "%s: %u problem%s that a start "
	    "would refuse (portholed -t -f %s lists them):", np->path, count,
	    count == 1 ? "" : "s", np->path);
	*problems = json_array();
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		/* A path in it may be anything but UTF-8: escaped. */
		if ((esc = escape_dup(line)) != NULL)
			(void)json_array_append_new(*problems,
			    json_string(esc));
		free(esc);
		/* Room is kept for saying how many did not fit. */
		n = strlen(line);
		if (cut == 0 && o + 1 + n + 32 < errlen) {
			err[o] = '\n';
			memcpy(err + o + 1, line, n + 1);
			o += 1 + n;
		} else
			cut++;
	}
	if (cut > 0 && o < errlen)
		snprintf(err + o, errlen - o, "\n(%u more)", cut);
	free(text);
	return -1;
}

/*
 * The policy on the record: its effective text (what `porthole policy
 * show` prints and every session's monitor reads) kept under
 * audit_dir/policies/ by its SHA-256, then the policy_loaded event
 * naming it, on what occasion (start, reload) and by whom.  0, or -1
 * with why: the policy is then not to be used.
 */
static int
gateway_policy_record(struct audit *audit, const struct policy *pol,
    const char *on, const char *who, char *err, size_t errlen)
{
	FILE	*f;
	char	*text = NULL, sha[65];
	size_t	 len = 0;
	json_t	*ev;
	int	 rc = -1;

	if ((f = open_memstream(&text, &len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (policy_write(pol, f) == -1 || fclose(f) == EOF) {
		snprintf(err, errlen, "cannot print the effective policy");
		goto out;
	}
	if (policies_keep(pol->audit_dir, text, len, sha, err, errlen) == -1)
		goto out;
	ev = json_pack("{s:s, s:s, s:s, s:s}", "sha256", sha, "file",
	    pol->path, "on", on, "by", who);
	if (ev == NULL || audit_write(audit, "policy_loaded", ev) == -1)
		snprintf(err, errlen, "the audit log cannot be written");
	else
		rc = 0;
	json_decref(ev);
out:
	free(text);
	return rc;
}

/*
 * Re-read porthole.conf.  An invalid file changes nothing, and so does
 * one that fails what a start checks (reload_check); a valid one
 * applies to new sessions at once and ends running sessions whose grant
 * it withdraws; admin_group is looked up again for the local sockets;
 * the audit log seals and rotates by the new seal_every, seal_interval
 * and audit_rotate.  The key table says which keys take effect only at
 * start: a file that changes one is refused as a whole, naming its
 * line.  The tunnel's keys take effect at its next connection.
 * revoked_keys is read again: a list that cannot be read refuses the
 * reload (the running one stays, and the caller is told at once), as it
 * refuses a start: the gateway never runs with part of a list, nor
 * without the one it was given.
 */
static int
gateway_reload(void *arg, const char *who, char *err, size_t errlen)
{
	struct gateway	*gw = arg;
	struct policy	*np = NULL, *old;
	struct krl	*nk = NULL;
	uint8_t		 ca[32];
	json_t		*ev, *problems = NULL;
	int		 rc = -1;

	daemon_reloading();
	if (policy_load(gw->path, &np, err, errlen) == -1 ||
	    policy_restart_changed(gw->pol, np, err, errlen) == -1 ||
	    sshcert_load_ca(np->support_ca, ca, err, errlen) == -1 ||
	    reload_check(np, &problems, err, errlen) == -1 ||
	    krl_load_optional(np->revoked_keys, &nk, err, errlen) == -1) {
		policy_free(np);
		log_error("reload refused, the running policy stays: %s", err);
		/* Its first line; the problems, if any, one by one. */
		ev = json_pack("{s:s, s:s, s:s%, s:o*}", "file", gw->path,
		    "by", who, "error", err, strcspn(err, "\n"), "problems",
		    problems);
		(void)audit_write(gw->audit, "policy_reload_refused", ev);
		json_decref(ev);
		goto out;
	}
	/* Its text kept and named in the log first: else it is not used. */
	if (gateway_policy_record(gw->audit, np, "reload", who, err,
	    errlen) == -1) {
		log_error("reload refused, the running policy stays: %s", err);
		policy_free(np);
		krl_free(nk);
		goto out;
	}
	ev = json_pack("{s:s, s:s}", "file", gw->path, "by", who);
	if (audit_write(gw->audit, "policy_reloaded", ev) == -1) {
		json_decref(ev);
		policy_free(np);
		krl_free(nk);
		snprintf(err, errlen, "the audit log cannot be written");
		goto out;
	}
	json_decref(ev);
	old = gw->pol;
	gw->pol = np;
	broker_set_ca(gw->broker, ca);
	broker_set_revoked(gw->broker, nk);
	broker_set_policy(gw->broker, np);
	krl_free(gw->krl);
	gw->krl = nk;
	gateway_audit_policy(gw, old, np);
	tunnels_set_policy(gw->tunnels, np);
	control_set_policy(gw->control, np);
	intake_set_policy(gw->intake, np);
	telem_set_policy(gw->telem, np);
	collect_set_policy(gw->collect, np);
	uplink_set_policy(gw->uplink, np);
	updates_set_policy(gw->updates, np);
	bundles_set_policy(gw->bundles, np);
	alerts_set_policy(gw->alerts, np);
	policy_free(old);
	log_info("%s: reloaded", gw->path);
	rc = 0;
out:
	/* Either way the gateway runs on, with one policy or the other. */
	(void)daemon_notify("READY=1");
	return rc;
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	char err[1024];

	(void)sig;
	(void)what;
	(void)gateway_reload(arg, "SIGHUP", err, sizeof(err));
}

static void
on_seal_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	if (audit_seal(arg) == -1)
		log_error("audit: the periodic seal could not be written");
}

/*
 * In a throwaway process, read the key as a session will: 0 with its
 * public half in pub, or -1 if libssh cannot read it.
 */
static int
host_key_check(int mfd, char *pub, size_t publen)
{
	ssh_key	 key = NULL;
	char	*b64 = NULL;
	size_t	 len = 0;
	ssize_t	 n;
	pid_t	 pid;
	int	 pv[2], status;

	if (pipe2(pv, O_CLOEXEC) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(pv[0]);
		close(pv[1]);
		return -1;
	}
	if (pid == 0) {
		close(pv[0]);
		if (session_host_key(mfd, &key) == -1 ||
		    ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK ||
		    dprintf(pv[1], "%s %s", ssh_key_type_to_char(
		    ssh_key_type(key)), b64) < 0)
			_exit(1);
		_exit(0);
	}
	close(pv[1]);
	while (len < publen - 1 &&
	    ((n = read(pv[0], pub + len, publen - 1 - len)) > 0 ||
	    (n == -1 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	pub[len] = '\0';
	close(pv[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 && len > 0 ?
	    0 : -1;
}

/*
 * The session host key as the session processes read it: the file's
 * bytes in a sealed memory file, whose descriptor is returned (-1 after
 * saying why on stderr).  This process never parses the key: libssh
 * leaves the text of a key it read in freed memory, and every session's
 * monitor and support shell is forked from here.  A throwaway process
 * checks that libssh reads it, and hands back its public half (pub) for
 * the relay's known-hosts list.
 */
static int
host_key_open(const char *path, char *pub, size_t publen)
{
	int fd;

	if ((fd = fileio_sealed_copy(path, "session_host_key",
	    SESSION_HOST_KEY_MAX)) != -1 &&
	    host_key_check(fd, pub, publen) == 0)
		return fd;
	fprintf(stderr, "portholed: %s: cannot read the session host key\n",
	    path);
	if (fd != -1)
		close(fd);
	return -1;
}

/*
 * Everything a start checks before it touches anything, and all that
 * -t does: porthole.conf's files, directories, accounts and programs
 * (policy_check, each problem on stderr), then the keys as the gateway
 * will use them.  0 with the CA, the session host key (*host_key_fd,
 * and its public half in host_pub) and the cluster key (*ka), or -1.
 */
static int
gateway_check(const struct policy *pol, uint8_t ca_key[32],
    int *host_key_fd, char *host_pub, size_t publen, struct keyagent **ka)
{
	struct filecheck	fc;
	char			err[1024];

	/* Every problem is listed before the verdict: one fix per try. */
	filecheck_init(&fc, stderr);
	if (policy_check(pol, &fc) > 0)
		return -1;
	if (sshcert_load_ca(pol->support_ca, ca_key, err, sizeof(err)) == -1) {
		fprintf(stderr, "portholed: %s\n", err);
		return -1;
	}
	if (ssh_init() != SSH_OK)
		fatal("libssh initialisation failed");
	if ((*host_key_fd = host_key_open(pol->session_host_key, host_pub,
	    publen)) == -1)
		return -1;
	/* Never parsed here: see keyagent.h. */
	if ((*ka = keyagent_open(pol->cluster_key, pol->cluster_id, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "portholed: %s\n", err);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct policy		*pol = NULL;
	struct audit		*audit = NULL;
	struct event_base	*base = NULL;
	struct event		*ev_term, *ev_int, *ev_chld, *ev_hup, *ev_seal;
	struct timeval		 seal_tv = { 0, 0 };
	char			 keypath[4096];
	struct gateway		 gw;
	struct broker		*broker = NULL;
	struct tunnels		*tunnels = NULL;
	struct keyagent		*ka = NULL;
	struct control		*control = NULL;
	struct telem		*telem = NULL;
	struct uplink		*uplink = NULL;
	struct intake		*intake = NULL;
	struct collect		*collect = NULL;
	int			 host_key_fd = -1;
	char			 host_pub[1100];
	json_t			*ev;
	uint8_t			 ca_key[32];
	const char		*path = NULL;
	char			 err[1024];
	struct cmdline		 cl;
	int			 abi;

	memset(&gw, 0, sizeof(gw));
	cmdline_daemon(argc, argv, "portholed", GATEWAY_USAGE, 0, &cl);
	daemon_init("portholed");
	path = cl.path;
	if (policy_load(path, &pol, err, sizeof(err)) == -1) {
		fprintf(stderr, "portholed: %s\n", err);
		goto fail;
	}
	if (gateway_check(pol, ca_key, &host_key_fd, host_pub,
	    sizeof(host_pub), &ka) == -1)
		goto fail;
	if (cl.test) {
		keyagent_free(ka);
		close(host_key_fd);
		policy_free(pol);
		ssh_finalize();
		return 0;
	}
	/* policy_check() read it already; this is the copy that is used. */
	if (krl_load_optional(pol->revoked_keys, &gw.krl, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "portholed: %s\n", err);
		goto fail;
	}
	signal(SIGPIPE, SIG_IGN);
	/* A file size limit must fail a write, not kill the gateway. */
	signal(SIGXFSZ, SIG_IGN);
	/*
	 * From here the detached child does the work; until it is ready its
	 * errors still reach this terminal (log_startup) and the parent
	 * exits 1 for it.
	 */
	if (!cl.foreground && daemon_detach(err, sizeof(err)) == -1) {
		log_error("%s", err);
		goto fail;
	}
	/* Before anything is touched: two gateways must never share a log. */
	if (daemon_lock(pol->run_dir, GATEWAY_PID_FILE, err,
	    sizeof(err)) == -1) {
		log_error("%s", err);
		goto fail;
	}
	if (audit_open(pol->audit_dir, &audit, err, sizeof(err)) == -1) {
		log_error("%s", err);
		goto fail;
	}
	snprintf(keypath, sizeof(keypath), "%s/%s", pol->state_dir,
	    SEAL_KEY_FILE);
	if (audit_enable_seals(audit, keypath, pol->seal_every, err,
	    sizeof(err)) == -1) {
		log_error("audit seals: %s", err);
		goto fail;
	}
	audit_set_rotate(audit, pol->audit_rotate);
	if ((base = event_base_new()) == NULL)
		fatal("cannot create the event loop");
	if ((telem = telem_new(base, pol, err, sizeof(err))) == NULL) {
		log_error("telemetry spool: %s", err);
		goto fail;
	}
	if ((collect = collect_new(base, pol, telem)) == NULL)
		goto fail;
	broker = broker_new(base, pol, audit, host_key_fd, ca_key);
	tunnels = tunnels_new(base, pol, ka, on_tunnel_channel,
	    on_tunnel_poll, on_tunnel_down, &gw);
	if (broker == NULL || tunnels == NULL)
		fatal("out of memory");
	/* It says why: its outbox may not open (state_dir/outbox). */
	if ((uplink = uplink_new(base, pol, NULL, telem)) == NULL)
		goto fail;
	broker_set_telem(broker, telem);
	broker_set_revoked(broker, gw.krl);
	if ((gw.approvals = approvals_open(pol->state_dir, clock_now(), err,
	    sizeof(err))) == NULL) {
		log_error("ticket approvals: %s", err);
		goto fail;
	}
	broker_set_approvals(broker, gw.approvals);
	/* The relay lists it for engineers: `porthole-relay known-hosts`. */
	uplink_set_host_key(uplink, host_pub);
	telem_on_commit(telem, uplink_kick, uplink);
	audit_on_seal(audit, on_seal, &gw);
	broker_set_flush(broker, tunnels_want_write, tunnels);
	gw.path = path;
	gw.pol = pol;
	gw.audit = audit;
	gw.broker = broker;
	gw.tunnels = tunnels;
	gw.telem = telem;
	gw.uplink = uplink;
	gw.collect = collect;
	if ((control = control_new(base, pol, broker, tunnels, gateway_reload,
	    &gw)) == NULL || (intake = intake_new(base, pol, telem)) == NULL)
		goto fail;
	gw.control = control;
	gw.intake = intake;
	control_set_status_extra(control, status_extra, &gw);
	if ((gw.inbox = inbox_new(base, pol, gateway_audit, &gw, err,
	    sizeof(err))) == NULL) {
		log_error("inbox: %s", err);
		goto fail;
	}
	if ((gw.jobs = jobs_new(base)) == NULL || (gw.updates =
	    updates_new(base, pol, gw.jobs, telem, gw.inbox, gateway_audit,
	    &gw, uplink_kick, uplink, err, sizeof(err))) == NULL) {
		log_error("updates: %s", gw.jobs == NULL ? "out of memory" :
		    err);
		goto fail;
	}
	broker_set_jobs(broker, gw.jobs);
	if ((gw.bundles = bundles_new(base, pol, gw.inbox, gateway_audit,
	    &gw, uplink_kick, uplink, err, sizeof(err))) == NULL) {
		log_error("bundles: %s", err);
		goto fail;
	}
	broker_set_bundles(broker, gateway_bundle, &gw);
	telem_on_event(telem, gateway_event, &gw);
	if ((gw.alerts = alerts_new(base, pol, gw.jobs, gw.inbox,
	    gateway_audit, &gw, err, sizeof(err))) == NULL) {
		log_error("alerts: %s", err);
		goto fail;
	}
	uplink_set_inbox(uplink, gw.inbox);
	uplink_set_pkgget(uplink, updates_pkgget(gw.updates));
	uplink_set_bundles(uplink, gw.bundles);
	control_set_updates(control, gw.updates);
	control_set_bundles(control, gw.bundles);
	control_set_alerts(control, gw.alerts);
	inbox_start(gw.inbox);
	ev_term = evsignal_new(base, SIGTERM, on_term, base);
	ev_int = evsignal_new(base, SIGINT, on_term, base);
	ev_chld = evsignal_new(base, SIGCHLD, on_chld, broker);
	ev_hup = evsignal_new(base, SIGHUP, on_hup, &gw);
	event_add(ev_hup, NULL);
	/* Quiet periods are sealed too. */
	seal_tv.tv_sec = (time_t)pol->seal_interval;
	ev_seal = event_new(base, -1, EV_PERSIST, on_seal_timer, audit);
	event_add(ev_seal, &seal_tv);
	gw.ev_seal = ev_seal;
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_add(ev_chld, NULL);
	ev = json_pack("{s:s}", "cluster", pol->cluster_id);
	if (audit_write(audit, "gateway_start", ev) == -1)
		fatal("%s: cannot write the audit log", pol->audit_dir);
	json_decref(ev);
	/* Which grants are in force, on the record before any session. */
	if (gateway_policy_record(audit, pol, "start", "portholed", err,
	    sizeof(err)) == -1) {
		log_error("the policy cannot be put on the record: %s", err);
		goto fail;
	}
	log_info("cluster %s: gateway started", pol->cluster_id);
	/* DESIGN's event names; "component" says which server started. */
	telem_event(telem, "server_start", json_pack("{s:s, s:s}",
	    "component", "portholed", "version", PACKAGE_VERSION));
	if ((abi = sbx_landlock_abi()) > 0)
		log_info("sandbox: seccomp and Landlock (ABI %d) for every "
		    "session", abi);
	else
		log_warn("sandbox: this kernel has no Landlock; sessions run "
		    "under seccomp and resource limits only");
	/* Without them diagnostics are refused, not run less confined. */
	if (sbx_ns_probe(err, sizeof(err)) == 0)
		log_info("sandbox: every diagnostic in PID, IPC and mount "
		    "namespaces of its own%s", geteuid() != 0 ?
		    ", inside a user namespace" : "");
	else
		log_error("sandbox: %s; every diagnostic will be refused", err);
	tunnels_start(tunnels);
	daemon_ready();
	event_base_dispatch(base);
	(void)daemon_notify("STOPPING=1");
	telem_event(telem, "server_shutdown", json_pack("{s:s}", "component",
	    "portholed"));
	/*
	 * A clean stop: no new work, the sessions end (on the record), and
	 * the log is sealed while the tunnel is still up, so that the relay
	 * holds the final seal as an anchor and a log cut back behind it is
	 * caught.  The relay gets a bounded moment to acknowledge it; what
	 * it has not acknowledged waits in state_dir for the next start.
	 */
	control_free(control);
	event_del(ev_hup);
	event_del(ev_chld);
	event_del(ev_seal);
	intake_free(intake);
	collect_free(collect);
	inbox_flush(gw.inbox);
	broker_free(broker);
	gw.broker = NULL;
	(void)audit_write(audit, "gateway_stop", NULL);
	(void)audit_seal(audit);	/* no unsealed tail after a clean stop */
	if (!uplink_flush_anchor(uplink, SHUTDOWN_ANCHOR_MS))
		log_warn("audit anchor: the relay has not acknowledged the "
		    "final seal; it is sent again at the next start");
	telem_on_commit(telem, NULL, NULL);
	uplink_free(uplink);
	gw.uplink = NULL;
	bundles_free(gw.bundles);
	gw.bundles = NULL;
	updates_free(gw.updates);
	gw.updates = NULL;
	alerts_free(gw.alerts);
	gw.alerts = NULL;
	jobs_free(gw.jobs);
	inbox_free(gw.inbox);
	tunnels_free(tunnels);
	keyagent_free(ka);
	telem_free(telem);
	audit_close(audit);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_chld);
	event_free(ev_hup);
	event_free(ev_seal);
	event_base_free(base);
	close(host_key_fd);
	policy_free(gw.pol);
	krl_free(gw.krl);
	approvals_free(gw.approvals);
	ssh_finalize();
	daemon_unlock();
	return 0;
fail:
	control_free(control);
	bundles_free(gw.bundles);
	updates_free(gw.updates);
	alerts_free(gw.alerts);
	jobs_free(gw.jobs);
	inbox_free(gw.inbox);
	if (telem != NULL)
		telem_on_commit(telem, NULL, NULL);
	uplink_free(uplink);
	collect_free(collect);
	telem_free(telem);
	intake_free(intake);
	tunnels_free(tunnels);
	keyagent_free(ka);
	broker_free(broker);
	if (base != NULL)
		event_base_free(base);
	audit_close(audit);
	if (host_key_fd != -1)
		close(host_key_fd);
	policy_free(pol);
	krl_free(gw.krl);
	approvals_free(gw.approvals);
	daemon_unlock();
	return 1;
}
