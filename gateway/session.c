/*
 * session.c - the session process: libssh SERVER end to end with the
 * engineer.  The relay in between sees only ciphertext.
 *
 * The engineer's input is parsed here, so this process gives up root
 * before the key exchange and holds nothing but the policy snapshot, the
 * session host key and two descriptors: the engineer's stream and the
 * audit socket to the broker.  Every decision is audited, and the broker
 * must confirm the event is durable before the decision takes effect.
 */
#include "gateway/session.h"

#include <sys/socket.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libssh/server.h>

#include "gateway/diag.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/sshcert.h"

#define SESSION_KEX	"curve25519-sha256,curve25519-sha256@libssh.org"
#define SESSION_PUBKEY_TYPES \
	"ssh-ed25519-cert-v01@openssh.com," \
	"ecdsa-sha2-nistp256-cert-v01@openssh.com," \
	"rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com," \
	"ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256"
#define SESSION_USER	"support"	/* the login name engineers use */

/* The session's state, all of it. */
struct sess {
	ssh_session		 s;
	int			 audit_fd;
	const struct policy	*pol;
	const uint8_t		*ca_key;
	int			 authenticated;
	int			 auth_failures;
	int			 told_plain_key;	/* banner sent once */
	char			 engineer[SSHCERT_MAX_STR + 1];
	char			 key_id[SSHCERT_MAX_STR + 1];
	char			 ticket[SSHCERT_MAX_STR + 1];
	uint64_t		 serial;
	int			 has_pty;
};

static void	sess_exit(struct sess *, int) __attribute__((noreturn));
static void	sess_serve(struct sess *) __attribute__((noreturn));

static void
sess_exit(struct sess *ss, int code)
{
	if (ss->s != NULL)
		ssh_disconnect(ss->s);
	_exit(code);
}

/*
 * Send one event to the broker and wait for it to be durable.  An event
 * that cannot be written ends the session: nothing unaudited happens.
 */
static void
sess_audit(struct sess *ss, const char *type, json_t *fields)
{
	char	*text;
	char	 ack = 'n';
	ssize_t	 n;

	if (fields == NULL)
		fields = json_object();
	json_object_set_new(fields, "type", json_string(type));
	if (ss->authenticated) {
		json_object_set_new(fields, "engineer",
		    json_string(ss->engineer));
	}
	text = json_dumps(fields, JSON_COMPACT);
	json_decref(fields);
	if (text == NULL || strlen(text) >= SESSION_AUDIT_MAX) {
		free(text);
		log_error("session: audit event too large");
		sess_exit(ss, 1);
	}
	n = send(ss->audit_fd, text, strlen(text), MSG_NOSIGNAL);
	free(text);
	if (n > 0) {
		while ((n = recv(ss->audit_fd, &ack, 1, 0)) == -1 &&
		    errno == EINTR)
			;
	}
	if (n != 1 || ack != 'y') {
		log_error("session: audit log unavailable; ending the session");
		sess_exit(ss, 1);
	}
}

static void
sess_banner(struct sess *ss, const char *text)
{
	ssh_string banner;

	if ((banner = ssh_string_from_char(text)) == NULL)
		return;
	ssh_send_issue_banner(ss->s, banner);
	ssh_string_free(banner);
}

/* Root gives way to the configured unprivileged user before any input. */
static int
sess_drop_privileges(const struct policy *pol)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam(pol->user)) == NULL) {
		log_error("session: user '%s' ([gateway] user) does not exist",
		    pol->user);
		return -1;
	}
	if (setgroups(0, NULL) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1 || setuid(0) != -1) {
		log_error("session: cannot become user '%s': %s", pol->user,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
key_is_cert(ssh_key key)
{
	return sshcert_is_cert_type(ssh_key_type_to_char(ssh_key_type(key)));
}

/*
 * Would this certificate and login be accepted?  Fills the identity on
 * success; returns -1 with the reason otherwise.
 */
static int
sess_check_login(struct sess *ss, const char *user, ssh_key key,
    struct sshcert *cert, char *why, size_t len)
{
	const char	*principals[SSHCERT_MAX_PRINCIPALS], *engineer = NULL;
	char		*b64 = NULL, err[256];
	size_t		 i;
	int		 rc = -1;

	memset(cert, 0, sizeof(*cert));
	if (!key_is_cert(key)) {
		snprintf(why, len, "plain keys are not accepted; log in with "
		    "a certificate from the vendor CA");
		goto out;
	}
	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK) {
		snprintf(why, len, "cannot read the certificate");
		goto out;
	}
	if (sshcert_parse_base64(b64, cert, err, sizeof(err)) == -1 ||
	    sshcert_validate(cert, ss->ca_key, clock_now(), NULL, err,
	    sizeof(err)) == -1) {
		snprintf(why, len, "%s", err);
		goto out;
	}
	if (strcmp(user, SESSION_USER) != 0) {
		snprintf(why, len, "log in as '%s'; the certificate's "
		    "principal identifies you", SESSION_USER);
		goto out;
	}
	for (i = 0; i < cert->nprincipals; i++)
		principals[i] = cert->principals[i];
	if (!policy_allow_session(ss->pol, principals, cert->nprincipals,
	    cert->has_ticket ? cert->ticket : NULL, clock_now(), &engineer,
	    why, len))
		goto out;
	if (ss->pol->approval_required) {
		snprintf(why, len, "this cluster requires the customer's "
		    "approval for each session ([remote_access] approval = "
		    "required), which this gateway version cannot grant");
		goto out;
	}
	snprintf(ss->engineer, sizeof(ss->engineer), "%s", engineer);
	snprintf(ss->key_id, sizeof(ss->key_id), "%s", cert->key_id);
	snprintf(ss->ticket, sizeof(ss->ticket), "%s",
	    cert->has_ticket ? cert->ticket : "");
	ss->serial = cert->serial;
	rc = 0;
out:
	ssh_string_free_char(b64);
	return rc;
}

/*
 * libssh 0.10 marks the message accessors deprecated in favour of server
 * callbacks, but callbacks would take channel requests away from the
 * blocking message loop this process is built on.  They are still the
 * supported way to read a publickey request in 0.10.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static ssh_key
msg_pubkey(ssh_message msg, int *state)
{
	*state = ssh_message_auth_publickey_state(msg);
	return ssh_message_auth_pubkey(msg);
}
#pragma GCC diagnostic pop

static void
sess_auth_pubkey(struct sess *ss, ssh_message msg, struct sshcert *cert)
{
	const char	*user = ssh_message_auth_user(msg);
	char		 why[384], line[512];
	int		 state;
	ssh_key		 key = msg_pubkey(msg, &state);
	json_t		*ev;

	if (user == NULL || key == NULL || strlen(user) > 64) {
		ssh_message_reply_default(msg);
		return;
	}
	if (sess_check_login(ss, user, key, cert, why, sizeof(why)) == -1) {
		ev = json_pack("{s:s, s:s, s:s}", "user", user,
		    "key_id", key_is_cert(key) ? cert->key_id : "",
		    "reason", why);
		sess_audit(ss, "auth_refused", ev);
		if (key_is_cert(key) || !ss->told_plain_key) {
			snprintf(line, sizeof(line), "porthole: login refused: "
			    "%s\r\n", why);
			sess_banner(ss, line);
			ss->told_plain_key |= !key_is_cert(key);
		}
		ss->auth_failures++;
		ssh_message_reply_default(msg);
		return;
	}
	if (state == SSH_PUBLICKEY_STATE_NONE) {
		ssh_message_auth_reply_pk_ok_simple(msg);
		return;
	}
	if (state != SSH_PUBLICKEY_STATE_VALID) {
		ss->auth_failures++;
		ssh_message_reply_default(msg);
		return;
	}
	ev = json_pack("{s:s, s:s, s:I, s:s}", "engineer", ss->engineer,
	    "key_id", ss->key_id, "serial", (json_int_t)ss->serial,
	    "ticket", ss->ticket);
	sess_audit(ss, "auth_accepted", ev);
	ss->authenticated = 1;
	ssh_message_auth_reply_success(msg, 0);
}

/* Until a successful login: only public-key authentication is served. */
static void
sess_authenticate(struct sess *ss)
{
	struct sshcert	*cert;
	ssh_message	 msg;

	if ((cert = calloc(1, sizeof(*cert))) == NULL)
		sess_exit(ss, 1);
	while (!ss->authenticated) {
		if (ss->auth_failures >= SESSION_MAX_AUTH_TRIES) {
			sess_audit(ss, "session_refused", json_pack("{s:s}",
			    "reason", "too many failed logins"));
			sess_exit(ss, 1);
		}
		if ((msg = ssh_message_get(ss->s)) == NULL)
			sess_exit(ss, 1);	/* the engineer left */
		if (ssh_message_type(msg) == SSH_REQUEST_AUTH &&
		    ssh_message_subtype(msg) == SSH_AUTH_METHOD_PUBLICKEY)
			sess_auth_pubkey(ss, msg, cert);
		else {
			ssh_message_auth_set_methods(msg,
			    SSH_AUTH_METHOD_PUBLICKEY);
			ssh_message_reply_default(msg);
		}
		ssh_message_free(msg);
	}
	free(cert);
}

static void
sess_say(struct sess *ss, ssh_channel ch, const char *text)
{
	char line[1024];

	snprintf(line, sizeof(line), "porthole: %s%s", text,
	    ss->has_pty ? "\r\n" : "\n");
	ssh_channel_write_stderr(ch, line, (uint32_t)strlen(line));
}

static void
sess_finish_channel(ssh_channel ch, int status)
{
	ssh_channel_request_send_exit_status(ch, status);
	ssh_channel_send_eof(ch);
	ssh_channel_close(ch);
	ssh_channel_free(ch);
}

static void
sess_exec(struct sess *ss, ssh_channel ch, const char *cmd)
{
	struct diag_result	 res;
	char			 why[512], msg[600], **argv = NULL;
	json_t			*jargv;
	size_t			 i;

	if (!policy_allow_command(ss->pol, cmd, &argv, why, sizeof(why))) {
		sess_audit(ss, "command_refused", json_pack("{s:s, s:s}",
		    "command", cmd, "reason", why));
		snprintf(msg, sizeof(msg), "refused: %s", why);
		sess_say(ss, ch, msg);
		sess_finish_channel(ch, 1);
		return;
	}
	jargv = json_array();
	for (i = 0; argv[i] != NULL; i++)
		json_array_append_new(jargv, json_string(argv[i]));
	sess_audit(ss, "command_allowed", json_pack("{s:s, s:o}", "command",
	    cmd, "argv", jargv));
	if (diag_run(ch, argv, ss->pol->command_timeout, &res, why,
	    sizeof(why)) == -1) {
		sess_audit(ss, "command_failed", json_pack("{s:s, s:s}",
		    "command", cmd, "reason", why));
		sess_say(ss, ch, "the diagnostic could not be started");
		policy_argv_free(argv);
		sess_finish_channel(ch, 1);
		return;
	}
	if (res.timed_out) {
		snprintf(msg, sizeof(msg), "diagnostic killed after the "
		    "timeout of %llus", (unsigned long long)
		    ss->pol->command_timeout);
		sess_say(ss, ch, msg);
	}
	sess_audit(ss, "command_finished", json_pack("{s:s, s:i, s:I, s:b}",
	    "command", cmd, "exit_status", res.exit_status,
	    "bytes_out", (json_int_t)res.bytes_out,
	    "timed_out", res.timed_out));
	policy_argv_free(argv);
	sess_finish_channel(ch, res.exit_status);
}

/* One channel request on an open session channel. */
static void
sess_channel_request(struct sess *ss, ssh_message msg)
{
	ssh_channel	 ch = ssh_message_channel_request_channel(msg);
	const char	*what;

	switch (ssh_message_subtype(msg)) {
	case SSH_CHANNEL_REQUEST_PTY:
		ss->has_pty = 1;
		ssh_message_channel_request_reply_success(msg);
		return;
	case SSH_CHANNEL_REQUEST_EXEC:
		what = ssh_message_channel_request_command(msg);
		ssh_message_channel_request_reply_success(msg);
		sess_exec(ss, ch, what == NULL ? "" : what);
		return;
	case SSH_CHANNEL_REQUEST_SHELL:
		ssh_message_channel_request_reply_success(msg);
		sess_audit(ss, "request_refused", json_pack("{s:s, s:s}",
		    "request", "shell", "reason", "no support shell in this "
		    "gateway version"));
		sess_say(ss, ch, "refused: the support shell is not available "
		    "on this gateway version; run an allowed command: "
		    "ssh ... support@CLUSTER COMMAND");
		sess_finish_channel(ch, 1);
		return;
	case SSH_CHANNEL_REQUEST_SUBSYSTEM:
		what = ssh_message_channel_request_subsystem(msg);
		ssh_message_channel_request_reply_success(msg);
		sess_audit(ss, "request_refused", json_pack("{s:s, s:s, s:s}",
		    "request", "subsystem", "subsystem", what ? what : "",
		    "reason", "subsystems are not available"));
		sess_say(ss, ch, "refused: file access (sftp/scp) is not "
		    "available on this gateway version");
		sess_finish_channel(ch, 1);
		return;
	default:
		ssh_message_reply_default(msg);
		return;
	}
}

/* After login: session channels and their requests, until disconnect. */
static void
sess_serve(struct sess *ss)
{
	ssh_message	 msg;
	const char	*dest;

	while ((msg = ssh_message_get(ss->s)) != NULL) {
		switch (ssh_message_type(msg)) {
		case SSH_REQUEST_CHANNEL_OPEN:
			if (ssh_message_subtype(msg) == SSH_CHANNEL_SESSION) {
				ss->has_pty = 0;
				if (ssh_message_channel_request_open_reply_accept(
				    msg) == NULL)
					sess_exit(ss, 1);
				break;
			}
			dest = ssh_message_channel_request_open_destination(msg);
			sess_audit(ss, "channel_refused", json_pack(
			    "{s:i, s:s, s:s}", "channel_type",
			    ssh_message_subtype(msg), "destination",
			    dest == NULL ? "" : dest, "reason",
			    "port forwarding is not available"));
			ssh_message_reply_default(msg);
			break;
		case SSH_REQUEST_CHANNEL:
			sess_channel_request(ss, msg);
			break;
		default:
			ssh_message_reply_default(msg);
			break;
		}
		ssh_message_free(msg);
	}
	sess_exit(ss, 0);
}

void
session_main(int fd, int audit_fd, const struct policy *pol,
    ssh_key host_key, const uint8_t ca_key[32])
{
	struct sess	 ss;
	ssh_bind	 bind;
	int		 no = 0;

	memset(&ss, 0, sizeof(ss));
	ss.audit_fd = audit_fd;
	ss.pol = pol;
	ss.ca_key = ca_key;
	/* SIGALRM's default action ends a login that takes too long. */
	signal(SIGALRM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	alarm(SESSION_LOGIN_GRACE);
	if (sess_drop_privileges(pol) == -1)
		sess_exit(&ss, 1);
	if ((bind = ssh_bind_new()) == NULL || (ss.s = ssh_new()) == NULL)
		sess_exit(&ss, 1);
	ssh_bind_options_set(bind, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no);
	if (ssh_bind_options_set(bind, SSH_BIND_OPTIONS_KEY_EXCHANGE,
	    SESSION_KEX) != SSH_OK ||
	    ssh_bind_options_set(bind, SSH_BIND_OPTIONS_PUBKEY_ACCEPTED_KEY_TYPES,
	    SESSION_PUBKEY_TYPES) != SSH_OK ||
	    ssh_bind_options_set(bind, SSH_BIND_OPTIONS_IMPORT_KEY,
	    host_key) != SSH_OK ||
	    ssh_bind_accept_fd(bind, ss.s, fd) != SSH_OK) {
		log_error("session: cannot set up the SSH server: %s",
		    ssh_get_error(bind));
		sess_exit(&ss, 1);
	}
	ssh_set_auth_methods(ss.s, SSH_AUTH_METHOD_PUBLICKEY);
	if (ssh_handle_key_exchange(ss.s) != SSH_OK) {
		log_warn("session: key exchange failed: %s",
		    ssh_get_error(ss.s));
		sess_exit(&ss, 1);
	}
	sess_authenticate(&ss);
	alarm(0);
	if (ss.pol->max_session > 0)
		alarm((unsigned int)ss.pol->max_session);
	sess_serve(&ss);
}
