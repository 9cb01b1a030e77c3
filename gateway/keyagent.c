/*
 * keyagent.c - the cluster key, held by a process of its own that signs
 * the tunnels' logins as an ssh-agent would (keyagent.h).
 *
 * The agent speaks the few messages of the ssh-agent protocol
 * (draft-miller-ssh-agent) that libssh's ssh_userauth_agent() sends:
 * REQUEST_IDENTITIES, answered with the cluster key's public half, and
 * SIGN_REQUEST, answered with an Ed25519 signature only when the data
 * is a publickey login as the cluster with that key (RFC 4252 section
 * 7), as OpenSSH's monitor checks what it signs.  Everything else is
 * answered FAILURE.  It parses the key itself (OpenSSH's format,
 * PROTOCOL.key, unencrypted Ed25519 only) and signs with OpenSSL.
 */
#include "gateway/keyagent.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/fileio.h"
#include "lib/sshwire.h"

#define KEYAGENT_FILE_MAX	(16 * 1024)	/* bytes of the key file */
#define KEYAGENT_MSG_MAX	(16 * 1024)	/* one request */

/* The ssh-agent protocol's messages that are used here. */
#define AGENT_FAILURE			5
#define AGENTC_REQUEST_IDENTITIES	11
#define AGENT_IDENTITIES_ANSWER		12
#define AGENTC_SIGN_REQUEST		13
#define AGENT_SIGN_RESPONSE		14
#define USERAUTH_REQUEST		50	/* SSH_MSG_USERAUTH_REQUEST */

#define KEY_BEGIN	"-----BEGIN OPENSSH PRIVATE KEY-----"
#define KEY_END		"-----END OPENSSH PRIVATE KEY-----"
#define KEY_MAGIC	"openssh-key-v1"

struct keyagent {
	int		 key_fd;	/* the key file's bytes, sealed */
	char		*cluster_id;	/* the only user it signs a login for */
	pid_t		 pid;		/* the agent, or 0 */
	int		 sock;		/* our end of its socket, or -1 */
};

/* The key, parsed: what the agent holds. */
struct cluster_key {
	uint8_t		 seed[32];
	uint8_t		 pub[32];
};

/* ---- the key file ---- */

/*
 * The decoded body of an OpenSSH private key file: a new buffer (*len
 * bytes; wipe and free it), or NULL.
 */
static uint8_t *
key_decode(const char *text, size_t *len)
{
	const char	*p, *end;
	char		*b64;
	uint8_t		*blob = NULL;
	size_t		 n = 0;
	ssize_t		 k;

	while (*text == ' ' || *text == '\t' || *text == '\r' || *text == '\n')
		text++;
	if (strncmp(text, KEY_BEGIN, strlen(KEY_BEGIN)) != 0 ||
	    (end = strstr(text, KEY_END)) == NULL)
		return NULL;
	if ((b64 = malloc((size_t)(end - text) + 1)) == NULL)
		return NULL;
	for (p = text + strlen(KEY_BEGIN); p < end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			b64[n++] = *p;
	if ((k = sshwire_b64_len(b64, n)) > 0 &&
	    (blob = malloc((size_t)k)) != NULL &&
	    (k = sshwire_b64_decode(b64, n, blob, (size_t)k)) > 0)
		*len = (size_t)k;
	else if (blob != NULL) {
		free(blob);
		blob = NULL;
	}
	explicit_bzero(b64, n);
	free(b64);
	return blob;
}

/* Is s[0..len) the public key blob "ssh-ed25519" PUB?  1, else 0. */
static int
key_is_blob(const uint8_t *s, size_t len, const uint8_t pub[32])
{
	struct sshwire	 w;
	const uint8_t	*t, *k;
	size_t		 tlen, klen;

	sshwire_init(&w, s, len);
	return sshwire_string(&w, &t, &tlen) == 0 &&
	    sshwire_is(t, tlen, "ssh-ed25519") &&
	    sshwire_string(&w, &k, &klen) == 0 && klen == 32 &&
	    w.left == 0 && memcmp(k, pub, 32) == 0;
}

/* The private section: check words, the key, a comment, padding. */
static int
key_private(const uint8_t *s, size_t len, struct cluster_key *key)
{
	struct sshwire	 w;
	const uint8_t	*t, *pub, *sk, *comment;
	size_t		 tlen, publen, sklen, clen, i;
	uint32_t	 check1, check2;
	uint8_t		 pad;

	sshwire_init(&w, s, len);
	if (sshwire_u32(&w, &check1) == -1 || sshwire_u32(&w, &check2) == -1 ||
	    check1 != check2 || sshwire_string(&w, &t, &tlen) == -1 ||
	    !sshwire_is(t, tlen, "ssh-ed25519") ||
	    sshwire_string(&w, &pub, &publen) == -1 || publen != 32 ||
	    memcmp(pub, key->pub, 32) != 0 ||
	    sshwire_string(&w, &sk, &sklen) == -1 || sklen != 64 ||
	    memcmp(sk + 32, key->pub, 32) != 0 ||
	    sshwire_string(&w, &comment, &clen) == -1)
		return -1;
	for (i = 1; w.left > 0; i++)
		if (sshwire_u8(&w, &pad) == -1 || pad != (uint8_t)i)
			return -1;
	memcpy(key->seed, sk, 32);
	return 0;
}

/*
 * Parse an unencrypted OpenSSH Ed25519 private key (PROTOCOL.key) into
 * key.  0, or -1 with why in err.  What was decoded is wiped.
 */
static int
key_parse(const char *text, struct cluster_key *key, char *err,
    size_t errlen)
{
	struct sshwire	 w;
	const uint8_t	*magic, *cipher, *kdf, *opts, *pubblob, *priv;
	const uint8_t	*t, *pub;
	uint8_t		*blob;
	size_t		 len = 0, n, clen, klen, olen, pblen, privlen, tlen;
	uint32_t	 nkeys;
	int		 rc = -1;

	if ((blob = key_decode(text, &len)) == NULL) {
		snprintf(err, errlen, "not an OpenSSH private key file");
		return -1;
	}
	n = strlen(KEY_MAGIC) + 1;
	magic = blob;
	sshwire_init(&w, blob + n, len < n ? 0 : len - n);
	if (len < n || memcmp(magic, KEY_MAGIC, n) != 0 ||
	    sshwire_string(&w, &cipher, &clen) == -1 ||
	    sshwire_string(&w, &kdf, &klen) == -1 ||
	    sshwire_string(&w, &opts, &olen) == -1 ||
	    sshwire_u32(&w, &nkeys) == -1) {
		snprintf(err, errlen, "not an OpenSSH private key file");
		goto out;
	}
	if (!sshwire_is(cipher, clen, "none") || !sshwire_is(kdf, klen,
	    "none")) {
		snprintf(err, errlen, "the key has a passphrase; the gateway "
		    "needs it without one (ssh-keygen -p -N '')");
		goto out;
	}
	if (nkeys != 1 || sshwire_string(&w, &pubblob, &pblen) == -1 ||
	    sshwire_string(&w, &priv, &privlen) == -1 || w.left != 0) {
		snprintf(err, errlen, "not an OpenSSH private key file");
		goto out;
	}
	sshwire_init(&w, pubblob, pblen);
	if (sshwire_string(&w, &t, &tlen) == -1 ||
	    !sshwire_is(t, tlen, "ssh-ed25519") ||
	    sshwire_string(&w, &pub, &n) == -1 || n != 32 || w.left != 0) {
		snprintf(err, errlen, "not an Ed25519 key");
		goto out;
	}
	memcpy(key->pub, pub, 32);
	if (key_private(priv, privlen, key) == -1) {
		snprintf(err, errlen, "the key's private part is malformed");
		goto out;
	}
	rc = 0;
out:
	explicit_bzero(blob, len);
	free(blob);
	return rc;
}

/* Read and parse the key in the sealed file fd.  0, or -1 with err. */
static int
key_read(int fd, struct cluster_key *key, char *err, size_t errlen)
{
	char	*text;
	size_t	 len = 0;
	int	 rc;

	if ((text = fileio_sealed_read(fd, KEYAGENT_FILE_MAX, &len)) ==
	    NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	rc = key_parse(text, key, err, errlen);
	fileio_wipe_free(text, len);
	return rc;
}

/* ---- the agent ---- */

/* Write one answer: its length, then payload[0..len).  0, or -1. */
static int
agent_reply(int fd, const uint8_t *payload, size_t len)
{
	uint8_t hdr[4];

	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
	return fileio_write_all(fd, hdr, 4) == -1 ||
	    fileio_write_all(fd, payload, len) == -1 ? -1 : 0;
}

/* Append a 32-bit length and s[0..len) at *o in out. */
static void
put_string(uint8_t *out, size_t *o, const void *s, size_t len)
{
	out[(*o)++] = (uint8_t)(len >> 24);
	out[(*o)++] = (uint8_t)(len >> 16);
	out[(*o)++] = (uint8_t)(len >> 8);
	out[(*o)++] = (uint8_t)len;
	memcpy(out + *o, s, len);
	*o += len;
}

/* The public key blob: "ssh-ed25519" and the 32 bytes.  Its length. */
static size_t
key_blob(const struct cluster_key *key, uint8_t out[64])
{
	size_t o = 0;

	put_string(out, &o, "ssh-ed25519", 11);
	put_string(out, &o, key->pub, 32);
	return o;
}

/*
 * Is data[0..len) what a client signs to log in as user with this key
 * (RFC 4252 section 7)?  1, else 0.
 */
static int
agent_is_login(const uint8_t *data, size_t len, const char *user,
    const struct cluster_key *key)
{
	struct sshwire	 w;
	const uint8_t	*s;
	size_t		 slen;
	uint8_t		 b;

	sshwire_init(&w, data, len);
	return sshwire_string(&w, &s, &slen) == 0 && slen > 0 &&
	    slen <= 64 &&		/* the session id: a hash */
	    sshwire_u8(&w, &b) == 0 && b == USERAUTH_REQUEST &&
	    sshwire_string(&w, &s, &slen) == 0 && sshwire_is(s, slen, user) &&
	    sshwire_string(&w, &s, &slen) == 0 &&
	    sshwire_is(s, slen, "ssh-connection") &&
	    sshwire_string(&w, &s, &slen) == 0 &&
	    sshwire_is(s, slen, "publickey") &&
	    sshwire_u8(&w, &b) == 0 && b == 1 &&
	    sshwire_string(&w, &s, &slen) == 0 &&
	    sshwire_is(s, slen, "ssh-ed25519") &&
	    sshwire_string(&w, &s, &slen) == 0 &&
	    key_is_blob(s, slen, key->pub) && w.left == 0;
}

/* SIGN_REQUEST: the signature, or FAILURE.  0, or -1 to stop. */
static int
agent_sign(int fd, EVP_PKEY *pk, const struct cluster_key *key,
    const char *user, const uint8_t *req, size_t len)
{
	struct sshwire	 w;
	const uint8_t	*blob, *data;
	size_t		 blen, dlen, siglen = 64, o = 0, so = 0;
	uint8_t		 sig[64], sigblob[96], out[128], no = AGENT_FAILURE;
	uint32_t	 flags;
	EVP_MD_CTX	*ctx;
	int		 ok = 0;

	sshwire_init(&w, req, len);
	if (sshwire_string(&w, &blob, &blen) == -1 ||
	    sshwire_string(&w, &data, &dlen) == -1 ||
	    sshwire_u32(&w, &flags) == -1 || w.left != 0 ||
	    !key_is_blob(blob, blen, key->pub) ||
	    !agent_is_login(data, dlen, user, key))
		return agent_reply(fd, &no, 1);
	if ((ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk) == 1 &&
	    EVP_DigestSign(ctx, sig, &siglen, data, dlen) == 1 &&
	    siglen == 64)
		ok = 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return agent_reply(fd, &no, 1);
	put_string(sigblob, &so, "ssh-ed25519", 11);
	put_string(sigblob, &so, sig, 64);
	out[o++] = AGENT_SIGN_RESPONSE;
	put_string(out, &o, sigblob, so);
	return agent_reply(fd, out, o);
}

/* Read all of buf[0..len) from fd.  0, or -1 at its end or an error. */
static int
read_full(int fd, uint8_t *buf, size_t len)
{
	size_t	got = 0;
	ssize_t	n;

	while (got < len) {
		if ((n = read(fd, buf + got, len - got)) == -1 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* Answer requests on fd until it closes. */
static void
agent_serve(int fd, EVP_PKEY *pk, const struct cluster_key *key,
    const char *user)
{
	uint8_t		 hdr[4], *req, out[128], blob[64];
	uint8_t		 no = AGENT_FAILURE;
	size_t		 len, o;
	int		 rc;

	if ((req = malloc(KEYAGENT_MSG_MAX)) == NULL)
		return;
	while (read_full(fd, hdr, sizeof(hdr)) == 0) {
		len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
		    (size_t)hdr[2] << 8 | hdr[3];
		if (len == 0 || len > KEYAGENT_MSG_MAX ||
		    read_full(fd, req, len) == -1)
			break;		/* not libssh talking, or gone */
		if (req[0] == AGENTC_REQUEST_IDENTITIES && len == 1) {
			o = 0;
			out[o++] = AGENT_IDENTITIES_ANSWER;
			memcpy(out + o, "\0\0\0\1", 4);	/* one key */
			o += 4;
			put_string(out, &o, blob, key_blob(key, blob));
			put_string(out, &o, "cluster key", 11);
			rc = agent_reply(fd, out, o);
		} else if (req[0] == AGENTC_SIGN_REQUEST)
			rc = agent_sign(fd, pk, key, user, req + 1, len - 1);
		else
			rc = agent_reply(fd, &no, 1);
		if (rc == -1)
			break;
	}
	free(req);
}

/*
 * The agent's process: fd 3 its socket, fd 4 the key's file; nothing
 * else of the gateway stays open.  It cannot be dumped or traced by the
 * gateway's user (PR_SET_DUMPABLE), so a session's diagnostic running
 * as that user cannot read the key out of it.
 */
static void __attribute__((noreturn))
agent_main(int sock, int key_fd, const char *user)
{
	struct cluster_key	 key;
	sigset_t		 none;
	EVP_PKEY		*pk;
	char			 err[256];
	int			 sig;

	for (sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	(void)signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)prctl(PR_SET_DUMPABLE, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if ((sock = fcntl(sock, F_DUPFD, 10)) == -1 ||
	    (key_fd = fcntl(key_fd, F_DUPFD, 10)) == -1 ||
	    dup2(sock, 3) == -1 || dup2(key_fd, 4) == -1)
		_exit(1);
	closefrom(5);
	if (key_read(4, &key, err, sizeof(err)) == -1)
		_exit(1);
	close(4);
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, key.seed,
	    sizeof(key.seed));
	explicit_bzero(key.seed, sizeof(key.seed));
	if (pk == NULL)
		_exit(1);
	agent_serve(3, pk, &key, user);
	EVP_PKEY_free(pk);
	_exit(0);
}

/* Start the agent.  0, or -1 with err. */
static int
keyagent_start(struct keyagent *ka, char *err, size_t errlen)
{
	sigset_t	all, mask;
	int		sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	/*
	 * Until it has put back the default handlers, a signal would run
	 * the event loop's handler in it, which writes to a socket shared
	 * with the gateway: it starts with every signal held.
	 */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &mask);
	if ((ka->pid = fork()) == 0)
		agent_main(sv[1], ka->key_fd, ka->cluster_id);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	close(sv[1]);
	if (ka->pid == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		ka->pid = 0;
		close(sv[0]);
		return -1;
	}
	ka->sock = sv[0];
	return 0;
}

/* The agent is gone: forget it (a dead one is reaped). */
static void
keyagent_forget(struct keyagent *ka, int wait)
{
	if (ka->sock != -1)
		close(ka->sock);
	ka->sock = -1;
	if (ka->pid > 0) {
		if (wait) {
			(void)kill(ka->pid, SIGTERM);
			while (waitpid(ka->pid, NULL, 0) == -1 &&
			    errno == EINTR)
				;
		}
		ka->pid = 0;
	}
}

int
keyagent_connect(struct keyagent *ka, char *err, size_t errlen)
{
	int fd;

	if (ka->pid > 0 && waitpid(ka->pid, NULL, WNOHANG) == ka->pid)
		keyagent_forget(ka, 0);
	if (ka->pid == 0 && keyagent_start(ka, err, errlen) == -1)
		return -1;
	if ((fd = fcntl(ka->sock, F_DUPFD_CLOEXEC, 0)) == -1)
		snprintf(err, errlen, "%s", strerror(errno));
	return fd;
}

/* ---- the gateway's side ---- */

/*
 * In a throwaway process, parse the key as the agent will: 0, or -1
 * with why in err.
 */
static int
keyagent_check(int key_fd, char *err, size_t errlen)
{
	struct cluster_key	 key;
	char			 why[256];
	ssize_t			 n;
	size_t			 len = 0;
	pid_t			 pid;
	int			 pv[2], status;

	if (pipe2(pv, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(pv[0]);
		close(pv[1]);
		return -1;
	}
	if (pid == 0) {
		close(pv[0]);
		if (key_read(key_fd, &key, why, sizeof(why)) == 0)
			_exit(0);
		(void)fileio_write_all(pv[1], why, strlen(why));
		_exit(1);
	}
	close(pv[1]);
	while (len < sizeof(why) - 1 && ((n = read(pv[0], why + len,
	    sizeof(why) - 1 - len)) > 0 || (n == -1 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	why[len] = '\0';
	close(pv[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	snprintf(err, errlen, "%s", len > 0 ? why : "cannot be read");
	return -1;
}

struct keyagent *
keyagent_open(const char *path, const char *cluster_id, char *err,
    size_t errlen)
{
	struct keyagent	*ka;
	char		 why[256];

	if ((ka = calloc(1, sizeof(*ka))) == NULL ||
	    (ka->cluster_id = strdup(cluster_id)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(ka);
		return NULL;
	}
	ka->sock = -1;
	if ((ka->key_fd = fileio_sealed_copy(path, "cluster_key",
	    KEYAGENT_FILE_MAX)) == -1) {
		snprintf(err, errlen, "%s: cannot read the cluster key: %s",
		    path, errno == EFBIG ? "not a key file (too large)" :
		    strerror(errno));
		goto fail;
	}
	if (keyagent_check(ka->key_fd, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: cannot read the cluster key: %s",
		    path, why);
		goto fail;
	}
	return ka;
fail:
	keyagent_free(ka);
	return NULL;
}

void
keyagent_free(struct keyagent *ka)
{
	if (ka == NULL)
		return;
	keyagent_forget(ka, 1);
	if (ka->key_fd > 0)
		close(ka->key_fd);
	free(ka->cluster_id);
	free(ka);
}
