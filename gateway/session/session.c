/*
 * session.c - the session child: libssh SERVER end to end with the
 * engineer.  The relay in between sees only ciphertext.
 *
 * This process parses everything the engineer sends, so it holds no
 * authority: before the key exchange it gives up root and confines itself
 * (no files, no sockets, no programs), and every decision - may this
 * certificate log in, may this command run - is the monitor's.
 */
#include "config.h"

#include "gateway/session/session.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libssh/server.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "gateway/session/monitor_wrap.h"
#include "gateway/session/session_loop.h"
#include "lib/escape.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/sshcert.h"
#include "sandbox/sandbox.h"

#define SESSION_KEX	"curve25519-sha256,curve25519-sha256@libssh.org"
#define SESSION_PUBKEY_TYPES \
	"ssh-ed25519-cert-v01@openssh.com," \
	"ecdsa-sha2-nistp256-cert-v01@openssh.com," \
	"rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com," \
	"ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256"

/* The child's state, all of it. */
struct sess {
	ssh_session		 s;
	int			 mon;		/* the monitor */
	int			 authenticated;
	int			 auth_failures;
	int			 told_plain_key;	/* banner sent once */
	int			 refused_cert;	/* a certificate was refused */
	struct mm_identity	 id;
};

static void	sess_exit(struct sess *, int) __attribute__((noreturn));

static void
sess_exit(struct sess *ss, int code)
{
	if (ss->s != NULL) {
		/* Last words (a refusal banner) reach the engineer first. */
		ssh_blocking_flush(ss->s, 2000);
		ssh_disconnect(ss->s);
	}
	_exit(code);
}

/* The monitor is gone or refused to answer: nothing may go on. */
static void
sess_lost_monitor(struct sess *ss)
{
	log_error("session: lost the monitor; ending the session");
	sess_exit(ss, 1);
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

static int
key_is_cert(ssh_key key)
{
	return sshcert_is_cert_type(ssh_key_type_to_char(ssh_key_type(key)));
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

/*
 * Refuse one public key, and say why once per reason the engineer can
 * act on: every refused certificate, and a plain key only when no
 * certificate came first.  ssh offers the bare key of a certificate
 * right after it, and "plain keys are not accepted" would bury the
 * certificate's own reason.
 */
static void
sess_refuse_login(struct sess *ss, ssh_message msg, int is_cert,
    const char *why)
{
	char line[512];

	if (is_cert || (!ss->told_plain_key && !ss->refused_cert)) {
		snprintf(line, sizeof(line), "porthole: login refused: %s\r\n",
		    why);
		sess_banner(ss, line);
		ss->told_plain_key |= !is_cert;
	}
	ss->refused_cert |= is_cert;
	ss->auth_failures++;
	ssh_message_reply_default(msg);
}

/* Refused for good (no session slot): say why in the disconnect. */
static void	sess_turn_away(struct sess *, const char *)
		    __attribute__((noreturn));

static void
sess_turn_away(struct sess *ss, const char *why)
{
	char line[512];

	snprintf(line, sizeof(line), "porthole: refused: %s", why);
	(void)ssh_session_set_disconnect_message(ss->s, line);
	sess_exit(ss, 1);
}

static void
sess_auth_pubkey(struct sess *ss, ssh_message msg)
{
	const char	*user = ssh_message_auth_user(msg);
	char		*b64 = NULL, why[384], shown[257];
	int		 state, rc;
	ssh_key		 key = msg_pubkey(msg, &state);

	if (user == NULL || key == NULL || strlen(user) > 64) {
		ssh_message_reply_default(msg);
		return;
	}
	/* The monitor's requests are JSON: a name that is not UTF-8 goes escaped. */
	if (!parse_utf8(user, strlen(user))) {
		(void)escape_text(user, strlen(user), shown, sizeof(shown));
		user = shown;
	}
	if (state != SSH_PUBLICKEY_STATE_NONE &&
	    state != SSH_PUBLICKEY_STATE_VALID) {
		ss->auth_failures++;
		ssh_message_reply_default(msg);
		return;
	}
	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK) {
		ssh_message_reply_default(msg);
		return;
	}
	rc = mm_auth(ss->mon, user, ssh_key_type_to_char(ssh_key_type(key)),
	    b64, state == SSH_PUBLICKEY_STATE_VALID, &ss->id, why,
	    sizeof(why));
	ssh_string_free_char(b64);
	if (rc == -1)
		sess_lost_monitor(ss);
	if (rc == 3)
		sess_turn_away(ss, why);
	if (rc == 0) {
		sess_refuse_login(ss, msg, key_is_cert(key), why);
		return;
	}
	if (state == SSH_PUBLICKEY_STATE_NONE) {
		ssh_message_auth_reply_pk_ok_simple(msg);
		return;
	}
	if (rc == 2) {
		/* The customer decides; the engineer is told to wait. */
		sess_banner(ss, "porthole: this session waits for the "
		    "customer's approval...\r\n");
		rc = mm_approval_wait(ss->mon, &ss->id, why, sizeof(why));
		if (rc == -1)
			sess_lost_monitor(ss);
		if (rc == 0) {
			sess_refuse_login(ss, msg, 1, why);
			sess_exit(ss, 1);
		}
		if (why[0] == '\0')
			snprintf(why, sizeof(why), "approved.");
	}
	/* The customer approved it (how long, for a ticket): say so. */
	if (why[0] != '\0') {
		char line[sizeof(why) + 16];

		snprintf(line, sizeof(line), "porthole: %s\r\n", why);
		sess_banner(ss, line);
	}
	ss->authenticated = 1;
	ssh_message_auth_reply_success(msg, 0);
}

/* Until a successful login: only public-key authentication is served. */
static void
sess_authenticate(struct sess *ss)
{
	ssh_message msg;

	while (!ss->authenticated) {
		if (ss->auth_failures >= SESSION_MAX_AUTH_TRIES)
			sess_exit(ss, 1);
		if ((msg = ssh_message_get(ss->s)) == NULL)
			sess_exit(ss, 1);	/* the engineer left */
		if (ssh_message_type(msg) == SSH_REQUEST_AUTH &&
		    ssh_message_subtype(msg) == SSH_AUTH_METHOD_PUBLICKEY)
			sess_auth_pubkey(ss, msg);
		else {
			ssh_message_auth_set_methods(msg,
			    SSH_AUTH_METHOD_PUBLICKEY);
			ssh_message_reply_default(msg);
		}
		ssh_message_free(msg);
	}
}

/*
 * OpenSSL reads its configuration and loads algorithms lazily; do it now,
 * while files can still be opened, for everything the key exchange and
 * the ciphers will use.
 */
static void
sess_prewarm_crypto(void)
{
	static const char *ciphers[] = { "ChaCha20-Poly1305", "AES-256-GCM",
	    "AES-128-GCM", "AES-256-CTR", "AES-128-CTR", NULL };
	static const char *digests[] = { "SHA256", "SHA512", "SHA1", NULL };
	EVP_PKEY_CTX	*pctx;
	EVP_PKEY	*pk = NULL;
	EVP_CIPHER	*c;
	EVP_MD		*md;
	size_t		 i;

	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG |
	    OPENSSL_INIT_ADD_ALL_CIPHERS | OPENSSL_INIT_ADD_ALL_DIGESTS, NULL);
	for (i = 0; ciphers[i] != NULL; i++)
		if ((c = EVP_CIPHER_fetch(NULL, ciphers[i], NULL)) != NULL)
			EVP_CIPHER_free(c);
	for (i = 0; digests[i] != NULL; i++)
		if ((md = EVP_MD_fetch(NULL, digests[i], NULL)) != NULL)
			EVP_MD_free(md);
	if ((pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, NULL)) != NULL) {
		if (EVP_PKEY_keygen_init(pctx) == 1)
			(void)EVP_PKEY_keygen(pctx, &pk);
		EVP_PKEY_free(pk);
		EVP_PKEY_CTX_free(pctx);
	}
}

int
session_host_key(int fd, ssh_key *key)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 rc = -1;

	if (fstat(fd, &st) == -1 || st.st_size <= 0 ||
	    st.st_size > SESSION_HOST_KEY_MAX ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL)
		return -1;
	while (len < (size_t)st.st_size) {
		n = pread(fd, buf + len, (size_t)st.st_size - len, (off_t)len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (ssh_pki_import_privkey_base64(buf, NULL, NULL, NULL, key) ==
	    SSH_OK)
		rc = 0;
out:
	explicit_bzero(buf, (size_t)st.st_size + 1);
	free(buf);
	return rc;
}

void
session_child(int fd, int mon, const struct policy *pol, int host_key_fd)
{
	struct sess	 ss;
	ssh_key		 host_key = NULL;
	ssh_bind	 bind;
	char		 err[256];
	int		 no = 0, abi;

	memset(&ss, 0, sizeof(ss));
	ss.mon = mon;
	/* If the monitor dies, so does this process. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	signal(SIGPIPE, SIG_IGN);
	if (session_host_key(host_key_fd, &host_key) == -1) {
		log_error("session: cannot read the session host key");
		sess_exit(&ss, 1);
	}
	close(host_key_fd);
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
	sess_prewarm_crypto();
	if (sbx_drop_privileges(pol->user, err, sizeof(err)) == -1 ||
	    sbx_confine(&abi, err, sizeof(err)) == -1) {
		log_error("session: cannot enter the sandbox: %s", err);
		sess_exit(&ss, 1);
	}
	if (ssh_handle_key_exchange(ss.s) != SSH_OK) {
		log_warn("session: key exchange failed: %s",
		    ssh_get_error(ss.s));
		sess_exit(&ss, 1);
	}
	sess_authenticate(&ss);
	session_serve(ss.s, ss.mon, pol, &ss.id);
	sess_exit(&ss, 0);
}
