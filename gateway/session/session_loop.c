/*
 * session_loop.c - the session child after login: every channel of the
 * engineer's connection served at once from one poll loop.
 *
 * A channel is a diagnostic (exec), the support shell, the SFTP server
 * or a port forward.  Each moves bytes between the SSH channel and a
 * local end - pipes, a socket or the in-process SFTP server - that the
 * monitor handed over.  Nothing here blocks on the engineer: channel
 * data is pulled only when its destination has room (so the SSH window
 * pushes back on a fast sender) and written only as far as the
 * engineer's window allows.  The monitor requests are blocking calls on
 * a separate socket, never on the engineer's stream.
 */
#include "config.h"

#include "gateway/session/session_loop.h"

#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libssh/callbacks.h>
#include <libssh/server.h>

#include "gateway/session/monitor_wrap.h"
#include "gateway/session/sftp.h"
#include "lib/clock.h"
#include "lib/escape.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/sshcert.h"

#define CHAN_BUF	32768
#define CHAN_MAX	32	/* channels open at once */
#define LOOP_RETRY_MS	20	/* look again after libssh took nothing */
#define LOOP_ACTIVE_MS	1000	/* activity goes to the monitor this often */
#define CMD_SHOWN_MAX	200	/* bytes of a refused command line recorded */

enum chan_kind {
	CH_NEW,		/* a session channel, no request yet */
	CH_EXEC,	/* a diagnostic: two pipes to the engineer */
	CH_SHELL,	/* the support shell's terminal stream */
	CH_SFTP,	/* the read-only SFTP server */
	CH_FWD		/* a direct-tcpip forward: a socket */
};

/* One channel of the engineer's connection and its local end. */
struct chan {
	struct chan	*next;
	struct loop	*l;
	ssh_channel	 ch;
	struct ssh_channel_callbacks_struct cb;	/* agent requests only */
	enum chan_kind	 kind;
	int		 fd;		/* socket or terminal, both ways */
	int		 out, err;	/* a diagnostic's pipes */
	int		 pi_fd, pi_out, pi_err;	/* their places in the poll set */
	short		 rev_fd, rev_out, rev_err;	/* what poll saw */
	struct sftp	*sftp;
	uint32_t	 fwd_id;
	char		 term[65];
	uint32_t	 cols, rows;
	int		 has_pty;
	char		 down[CHAN_BUF];	/* engineer -> local */
	size_t		 down_len, down_off;
	char		 up[CHAN_BUF];		/* local -> engineer */
	size_t		 up_len, up_off;
	int		 up_stderr;
	uint64_t	 bytes_down, bytes_up;
	int		 eng_eof;	/* the engineer sent EOF */
	int		 eof_passed;	/* ... and it was passed on */
	int		 local_eof;	/* nothing more will come from here */
	int		 exit_status;
	int		 ran;		/* a diagnostic started: wait for it */
	int		 waited;	/* ... and the monitor reaped it */
	int		 closing;	/* say goodbye and free */
	int		 dry;		/* the last read found nothing ... */
	unsigned	 dry_epoch;	/* ... at this input epoch */
	int		 pty_refused;	/* a terminal refused, the reason said */
	char		 env[200];	/* names of refused env requests */
	size_t		 env_len;
	unsigned	 env_more;	/* ... and how many more */
	unsigned	 x11_refused;	/* x11-req refused, not yet recorded */
	unsigned	 agent_refused;	/* auth-agent-req ... */
};

/* The child's state after login. */
struct loop {
	ssh_session		 s;
	int			 mon;
	const struct policy	*pol;
	const struct mm_identity *id;	/* who, and what the certificate permits */
	struct access_ops	 ops;
	struct chan		*chans;
	int			 nchans;
	int			 lost;		/* the monitor is gone */
	int			 stalled;	/* libssh took nothing: retry soon */
	/*
	 * Counts the times libssh may have read from the engineer's
	 * stream: each ssh_event_dopoll() and each read of an empty
	 * channel (libssh polls the socket for it).  A channel found empty
	 * is not read again until this moves: such a read is a poll(2) on
	 * the path of every keystroke.
	 */
	unsigned		 epoch;
	int			 active;	/* channel data moved ... */
	uint64_t		 active_told;	/* ... since the monitor was told */
#ifdef PORTHOLE_TEST_HOOKS
	int			 claim_active;	/* act compromised: always busy */
#endif
};

static void
loop_lost(struct loop *l)
{
	l->lost = 1;
}

static void	loop_event(struct loop *, const char *, json_t *);

/*
 * auth-agent-req@openssh.com, which libssh answers itself; this callback
 * is only a way to see it, and the refusal is recorded with the
 * channel's others (chan_refusals_record).  What the engineer's client
 * is told, libssh 0.10 decides (channels.c, channel_rcv_request): the
 * request never reaches the message callback, where
 * ssh_message_reply_default() would refuse it, and libssh answers
 * SUCCESS to a request that wants a reply whenever this callback is
 * installed (FAILURE only without one, but then nothing would record
 * it).  OpenSSH's ssh -A asks without a reply, so it is told nothing; a
 * client that asks with one (libssh's, Go's x/crypto) is told success.
 * Either way no agent channel is ever opened towards the engineer, so
 * nothing on the gateway can reach their agent: the record is true.
 */
static void
chan_on_agent_req(ssh_session s, ssh_channel ch, void *arg)
{
	struct chan *c = arg;

	(void)s;
	(void)ch;
	c->agent_refused++;
}

static struct chan *
chan_new(struct loop *l, ssh_channel ch, enum chan_kind kind)
{
	struct chan *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->l = l;
	c->ch = ch;
	c->kind = kind;
	c->fd = c->out = c->err = -1;
	c->pi_fd = c->pi_out = c->pi_err = -1;
	c->cols = 80;
	c->rows = 24;
	c->next = l->chans;
	l->chans = c;
	l->nchans++;
	if (kind == CH_NEW) {
		c->cb.userdata = c;
		c->cb.channel_auth_agent_req_function = chan_on_agent_req;
		ssh_callbacks_init(&c->cb);
		ssh_set_channel_callbacks(ch, &c->cb);
	}
	return c;
}

static struct chan *
chan_find(struct loop *l, ssh_channel ch)
{
	struct chan *c;

	for (c = l->chans; c != NULL; c = c->next)
		if (c->ch == ch)
			return c;
	return NULL;
}

static void
set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags != -1)
		(void)fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static void
loop_event(struct loop *l, const char *type, json_t *fields)
{
	if (mm_event(l->mon, type, fields) == -1)
		loop_lost(l);
}

/*
 * Queue text for the engineer (stdout or stderr; none if NULL) and end
 * the channel.
 */
static void
chan_reply(struct chan *c, int is_stderr, int status, const char *text)
{
	int n = 0;

	if (text != NULL)
		n = snprintf(c->up, sizeof(c->up), "%s%s", text,
		    c->has_pty ? "\r\n" : "\n");
	c->up_len = n < 0 ? 0 : (size_t)n >= sizeof(c->up) ?
	    sizeof(c->up) - 1 : (size_t)n;
	c->up_off = 0;
	c->up_stderr = is_stderr;
	c->exit_status = status;
	c->local_eof = 1;
	c->kind = CH_EXEC;
}

/*
 * "settings get KEY" and "settings set KEY VALUE" as a command line:
 * the same monitor requests the shell uses.  Returns 0 if cmd is not a
 * settings command.
 */
static int
chan_settings(struct loop *l, struct chan *c, const char *cmd)
{
	char	key[129], value[257], old[257], why[512], out[1200];
	int	n = 0, rc;

	if (strncmp(cmd, "settings ", 9) != 0)
		return 0;
	key[0] = value[0] = '\0';
	if (sscanf(cmd, "settings get %128s %n", key, &n) == 1 &&
	    cmd[n] == '\0')
		rc = l->ops.setting_get(l->ops.arg, key, value, sizeof(value),
		    why, sizeof(why));
	else if (sscanf(cmd, "settings set %128s %256[^\n] %n", key, value,
	    &n) == 2 && cmd[n] == '\0')
		rc = l->ops.setting_set(l->ops.arg, key, value, old,
		    sizeof(old), why, sizeof(why));
	else {
		chan_reply(c, 1, 2, "porthole: usage: settings get KEY | "
		    "settings set KEY VALUE");
		return 1;
	}
	if (rc == -1) {
		loop_lost(l);
		return 1;
	}
	if (rc == 0) {
		snprintf(out, sizeof(out), "porthole: refused: %s", why);
		chan_reply(c, 1, 1, out);
	} else if (strncmp(cmd, "settings get", 12) == 0)
		chan_reply(c, 0, 0, value);
	else {
		snprintf(out, sizeof(out), "%s: %s -> %s", key,
		    old[0] != '\0' ? old : "(unset)", value);
		chan_reply(c, 0, 0, out);
	}
	return 1;
}

/*
 * A command line that cannot go to the monitor as it is - not UTF-8, or
 * longer than any command the policy takes - is refused here, and the
 * refusal recorded with its start (escaped if it is not UTF-8) and its
 * length.  Returns 1 if cmd was refused.
 */
static int
chan_exec_unfit(struct loop *l, struct chan *c, const char *cmd)
{
	char		 why[80], shown[2 * CMD_SHOWN_MAX + 1], msg[300];
	size_t		 len = strlen(cmd), n = 0, k;
	uint32_t	 cp;

	if (!parse_utf8(cmd, len)) {
		snprintf(why, sizeof(why), "the command line is not UTF-8 "
		    "text");
		/* Stray bytes as \xNN, cut between escapes to fit. */
		(void)escape_text(cmd, len < CMD_SHOWN_MAX ? len :
		    CMD_SHOWN_MAX, shown, sizeof(shown));
	} else if (len > POLICY_MAX_CMDLINE) {
		snprintf(why, sizeof(why), "the command line is longer than "
		    "%d bytes", POLICY_MAX_CMDLINE);
		/* Its start, cut between characters. */
		while (n < len && (k = parse_utf8_char(cmd + n, len - n,
		    &cp)) != 0 && n + k <= CMD_SHOWN_MAX)
			n += k;
		memcpy(shown, cmd, n);
		shown[n] = '\0';
	} else
		return 0;
	if (mm_exec_refused(l->mon, shown, len, why) == -1) {
		loop_lost(l);
		return 1;
	}
	snprintf(msg, sizeof(msg), "porthole: refused: %s", why);
	chan_reply(c, 1, 1, msg);
	return 1;
}

static void
chan_exec(struct loop *l, struct chan *c, const char *cmd)
{
	char	why[512];
	int	rc;

	if (chan_exec_unfit(l, c, cmd) || chan_settings(l, c, cmd))
		return;
#ifdef PORTHOLE_TEST_HOOKS
	/* Test builds only: act like a compromised child. */
	if (strcmp(cmd, "__porthole_test_violation") == 0)
		(void)socket(AF_INET, SOCK_STREAM, 0);
#endif
	rc = mm_exec(l->mon, cmd, &c->out, &c->err, why, sizeof(why));
	if (rc == -1) {
		loop_lost(l);
		return;
	}
	if (rc == 0) {
		char msg[600];

		snprintf(msg, sizeof(msg), "porthole: refused: %s", why);
		chan_reply(c, 1, 1, msg);
		return;
	}
	c->kind = CH_EXEC;
	c->ran = 1;
	set_nonblock(c->out);
	set_nonblock(c->err);
}

static void
chan_shell(struct loop *l, struct chan *c)
{
	char	why[512], msg[600];
	int	rc;

	rc = mm_shell_open(l->mon, c->term[0] != '\0' ? c->term : "vt100",
	    c->cols, c->rows, &c->fd, why, sizeof(why));
	if (rc == -1) {
		loop_lost(l);
		return;
	}
	if (rc == 0) {
		snprintf(msg, sizeof(msg), "porthole: refused: %s", why);
		chan_reply(c, 1, 1, c->pty_refused ? NULL : msg);
		return;
	}
	c->kind = CH_SHELL;
	set_nonblock(c->fd);
}

static void
chan_subsystem(struct loop *l, struct chan *c, const char *name)
{
	if (strcmp(name, "sftp") != 0) {
		loop_event(l, "request_refused", json_pack("{s:s, s:s}",
		    "request", "subsystem", "detail", name));
		chan_reply(c, 1, 1, "porthole: refused: only the sftp "
		    "subsystem is offered");
		return;
	}
	if ((c->sftp = sftp_new(&l->ops)) == NULL) {
		chan_reply(c, 1, 1, "porthole: refused: out of memory");
		return;
	}
	c->kind = CH_SFTP;
}

/*
 * An env request (ssh's SetEnv and SendEnv): refused, since nothing an
 * engineer runs takes its environment from the engineer.  The names
 * (never the values, which may be secrets) go on record once per channel,
 * so that the LANG and LC_* most clients send make one line, not ten.
 */
static void
chan_env(struct chan *c, const char *name)
{
	char	shown[4 * 64 + 1];
	size_t	n;

	if (name == NULL)
		name = "";
	(void)escape_text(name, strnlen(name, 64), shown, sizeof(shown));
	n = strlen(shown);
	if (c->env_len + n + 3 > sizeof(c->env)) {
		c->env_more++;
		return;
	}
	snprintf(c->env + c->env_len, sizeof(c->env) - c->env_len, "%s%s",
	    c->env_len > 0 ? ", " : "", shown);
	c->env_len = strlen(c->env);
}

/* One request_refused event for a kind, with how many there were. */
static void
chan_refused_kind(struct loop *l, const char *request, const char *reason,
    unsigned n)
{
	json_t *ev;

	if (n == 0)
		return;
	ev = json_pack("{s:s, s:s}", "request", request, "reason", reason);
	if (ev != NULL && n > 1)
		json_object_set_new(ev, "count", json_integer(n));
	loop_event(l, "request_refused", ev);
}

/*
 * The requests refused on channel c since the last record, one event
 * per kind however often the client asked: agent and X11 forwarding
 * (with the certificate's reason where it has one), and environment
 * variables by name.  Written when the channel's own request comes and
 * when it closes.
 */
static void
chan_refusals_record(struct loop *l, struct chan *c)
{
	const char	*no;
	json_t		*ev;

	no = sshcert_forbidden(l->id->permits, SSHCERT_PERMIT_AGENT);
	chan_refused_kind(l, "auth-agent-req@openssh.com", no != NULL ? no :
	    "agent forwarding is not offered on this gateway",
	    c->agent_refused);
	no = sshcert_forbidden(l->id->permits, SSHCERT_PERMIT_X11);
	chan_refused_kind(l, "x11-req", no != NULL ? no :
	    "X11 forwarding is not offered on this gateway", c->x11_refused);
	c->agent_refused = c->x11_refused = 0;
	if (c->env_len == 0 && c->env_more == 0)
		return;
	ev = json_pack("{s:s, s:s, s:s}", "request", "env", "detail", c->env,
	    "reason", "environment variables are not passed on");
	if (ev != NULL && c->env_more > 0)
		json_object_set_new(ev, "more", json_integer(c->env_more));
	c->env[0] = '\0';
	c->env_len = 0;
	c->env_more = 0;
	loop_event(l, "request_refused", ev);
}

/*
 * pty-req from a certificate without permit-pty.  ssh -t gives up on the
 * channel when the terminal is refused, so the reason goes out first on
 * its stderr (ssh may close the channel before it prints it: the record
 * is what counts); the support shell, if asked for next, says no more.
 */
static void
chan_pty_refused(struct loop *l, struct chan *c, const char *why)
{
	char line[200];

	loop_event(l, "request_refused", json_pack("{s:s, s:s}", "request",
	    "pty-req", "reason", why));
	snprintf(line, sizeof(line), "porthole: refused: %s\n", why);
	(void)ssh_channel_write_stderr(c->ch, line, (uint32_t)strlen(line));
	c->pty_refused = 1;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static void
chan_pty(struct chan *c, ssh_message msg)
{
	const char	*term = ssh_message_channel_request_pty_term(msg);
	int		 w = ssh_message_channel_request_pty_width(msg);
	int		 h = ssh_message_channel_request_pty_height(msg);

	snprintf(c->term, sizeof(c->term), "%s", term == NULL ? "" : term);
	c->cols = w > 0 && w <= 1000 ? (uint32_t)w : 80;
	c->rows = h > 0 && h <= 1000 ? (uint32_t)h : 24;
	c->has_pty = 1;
}

/* A request on one of our channels; 0 when answered, 1 for "no". */
static int
loop_channel_request(struct loop *l, ssh_message msg)
{
	struct chan	*c = chan_find(l, ssh_message_channel_request_channel(msg));
	const char	*what;
	int		 sub = ssh_message_subtype(msg);

	if (c == NULL)
		return 1;
	if (sub == SSH_CHANNEL_REQUEST_WINDOW_CHANGE) {
		chan_pty(c, msg);
		if (c->kind == CH_SHELL &&
		    mm_window_change(l->mon, c->cols, c->rows) == -1)
			loop_lost(l);
		return 1;	/* no reply is wanted */
	}
	/* Refused, and on record, whenever they come. */
	if (sub == SSH_CHANNEL_REQUEST_ENV) {
		chan_env(c, ssh_message_channel_request_env_name(msg));
		return 1;
	}
	/* x11-req: never offered; the certificate may forbid it too. */
	if (sub == SSH_CHANNEL_REQUEST_X11) {
		c->x11_refused++;
		return 1;
	}
	if (c->kind != CH_NEW)
		return 1;
	if (sub != SSH_CHANNEL_REQUEST_PTY)
		chan_refusals_record(l, c);
	l->active = 1;
	switch (sub) {
	case SSH_CHANNEL_REQUEST_PTY:
		if ((what = sshcert_forbidden(l->id->permits,
		    SSHCERT_PERMIT_PTY)) != NULL) {
			chan_pty_refused(l, c, what);
			return 1;
		}
		chan_pty(c, msg);
		ssh_message_channel_request_reply_success(msg);
		return 0;
	case SSH_CHANNEL_REQUEST_EXEC:
		what = ssh_message_channel_request_command(msg);
		ssh_message_channel_request_reply_success(msg);
		chan_exec(l, c, what == NULL ? "" : what);
		return 0;
	case SSH_CHANNEL_REQUEST_SHELL:
		ssh_message_channel_request_reply_success(msg);
		chan_shell(l, c);
		return 0;
	case SSH_CHANNEL_REQUEST_SUBSYSTEM:
		what = ssh_message_channel_request_subsystem(msg);
		ssh_message_channel_request_reply_success(msg);
		chan_subsystem(l, c, what == NULL ? "" : what);
		return 0;
	default:
		return 1;	/* signal, break, ...: no */
	}
}
#pragma GCC diagnostic pop

/* direct-tcpip: the monitor connects, or says no (and audits either). */
static int
loop_forward(struct loop *l, ssh_message msg)
{
	const char	*host = ssh_message_channel_request_open_destination(msg);
	const char	*orig = ssh_message_channel_request_open_originator(msg);
	int		 port = ssh_message_channel_request_open_destination_port(msg);
	int		 oport = ssh_message_channel_request_open_originator_port(msg);
	char		 why[512];
	ssh_channel	 ch;
	struct chan	*c;
	uint32_t	 id;
	int		 fd, rc;

	if (host == NULL || port <= 0 || port > 65535 || strlen(host) > 255)
		return 1;
	rc = mm_forward_open(l->mon, host, (uint16_t)port, orig == NULL ? "" :
	    orig, (uint16_t)(oport > 0 && oport <= 65535 ? oport : 0), &fd,
	    &id, why, sizeof(why));
	if (rc == -1)
		loop_lost(l);
	if (rc != 1)
		return 1;	/* libssh 0.10 cannot say why: it is audited */
	if ((ch = ssh_message_channel_request_open_reply_accept(msg)) == NULL ||
	    (c = chan_new(l, ch, CH_FWD)) == NULL) {
		close(fd);
		if (mm_forward_close(l->mon, id, 0, 0) == -1)
			loop_lost(l);
		return ch == NULL ? 1 : 0;
	}
	c->fd = fd;
	c->fwd_id = id;
	set_nonblock(fd);
	return 0;
}

static int
loop_channel_open(struct loop *l, ssh_message msg)
{
	const char	*dest;
	ssh_channel	 ch;

	if (l->nchans >= CHAN_MAX)
		return 1;
	switch (ssh_message_subtype(msg)) {
	case SSH_CHANNEL_SESSION:
		if ((ch = ssh_message_channel_request_open_reply_accept(msg)) ==
		    NULL)
			return 0;
		if (chan_new(l, ch, CH_NEW) == NULL)
			ssh_channel_close(ch);
		return 0;
	case SSH_CHANNEL_DIRECT_TCPIP:
		return loop_forward(l, msg);
	default:
		dest = ssh_message_channel_request_open_destination(msg);
		loop_event(l, "channel_refused", json_pack("{s:i, s:s, s:s}",
		    "channel_type", ssh_message_subtype(msg), "destination",
		    dest == NULL ? "" : dest, "reason",
		    "only session and direct-tcpip channels are served"));
		return 1;
	}
}

/*
 * Everything the engineer asks for arrives here, inside libssh's poll.
 * Only non-blocking sends happen here; data moves in the main loop.
 */
static int
loop_on_message(ssh_session s, ssh_message msg, void *arg)
{
	struct loop	*l = arg;
	const char	*addr;

	(void)s;
	switch (ssh_message_type(msg)) {
	case SSH_REQUEST_CHANNEL_OPEN:
		return loop_channel_open(l, msg);
	case SSH_REQUEST_CHANNEL:
		return loop_channel_request(l, msg);
	case SSH_REQUEST_GLOBAL:
		if (ssh_message_subtype(msg) ==
		    SSH_GLOBAL_REQUEST_TCPIP_FORWARD) {
			addr = ssh_message_global_request_address(msg);
			loop_event(l, "request_refused", json_pack(
			    "{s:s, s:s, s:i, s:s}", "request", "tcpip-forward",
			    "detail", addr == NULL ? "" : addr, "port",
			    ssh_message_global_request_port(msg), "reason",
			    "remote forwarding (-R) is never allowed"));
		}
		return 1;
	default:
		return 1;
	}
}

/* Pull the engineer's bytes into c->down, if it has room. */
static int
pump_pull(struct loop *l, struct chan *c)
{
	int n;

	if (c->down_len > 0 || c->eng_eof)
		return 0;
	if (c->dry && c->dry_epoch == l->epoch)
		return 0;	/* nothing can have come since */
	n = ssh_channel_read_nonblocking(c->ch, c->down, sizeof(c->down), 0);
	c->dry = 0;
	if (n == SSH_ERROR) {
		c->closing = 1;
		return 1;
	}
	if (n > 0) {
		c->down_len = (size_t)n;
		c->down_off = 0;
		c->bytes_down += (uint64_t)n;
		l->active = 1;
		return 1;
	}
	if (ssh_channel_is_eof(c->ch)) {
		c->eng_eof = 1;
		return 1;
	}
	/* libssh looked at the socket: other channels may have data now. */
	c->dry = 1;
	c->dry_epoch = ++l->epoch;
	return 0;
}

/* The engineer's EOF goes on once everything before it has. */
static int
pump_eof(struct chan *c)
{
	if (!c->eng_eof || c->eof_passed || c->down_len > 0)
		return 0;
	c->eof_passed = 1;
	if (c->kind == CH_FWD)
		(void)shutdown(c->fd, SHUT_WR);
	if (c->kind == CH_SHELL)
		(void)write(c->fd, "\004", 1);	/* ^D: end of input */
	if (c->kind == CH_SFTP)
		c->local_eof = 1;		/* every request was answered */
	return 1;
}

/* Hand c->down to its destination; returns whether anything moved. */
static int
pump_push(struct loop *l, struct chan *c)
{
	ssize_t	n;

	if (c->down_len == 0)
		return 0;
	switch (c->kind) {
	case CH_FWD:
	case CH_SHELL:
		n = write(c->fd, c->down + c->down_off,
		    c->down_len - c->down_off);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n == -1) {
			c->down_len = 0;	/* its reader is gone */
			return 1;
		}
		break;
	case CH_SFTP:
		n = sftp_input(c->sftp, c->down + c->down_off,
		    c->down_len - c->down_off);
		if (n == -1) {
			c->closing = 1;
			return 1;
		}
		break;
	default:
		n = (ssize_t)(c->down_len - c->down_off);	/* ignored */
		break;
	}
	c->down_off += (size_t)n;
	if (c->down_off == c->down_len)
		c->down_len = c->down_off = 0;
	return n > 0;
}

/* Read a local descriptor into c->up; at EOF close it. */
static int
fill_from(struct chan *c, int *fd, short rev, int is_stderr)
{
	ssize_t n;

	/* Only what poll saw ready: a read that finds nothing costs a
	 * system call on the path of every keystroke. */
	if (*fd < 0 || rev == 0)
		return 0;
	n = read(*fd, c->up, sizeof(c->up));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		if (c->kind != CH_FWD && c->kind != CH_SHELL) {
			close(*fd);
			*fd = -1;
		}
		return -1;
	}
	c->up_len = (size_t)n;
	c->up_off = 0;
	c->up_stderr = is_stderr;
	return 1;
}

/* Fill c->up from the local end when it is empty. */
static int
pump_fill(struct chan *c)
{
	int rc;

	if (c->up_len > 0 || c->local_eof)
		return 0;
	switch (c->kind) {
	case CH_FWD:
	case CH_SHELL:
		if ((rc = fill_from(c, &c->fd, c->rev_fd, 0)) == -1)
			c->local_eof = 1;
		return rc != 0;
	case CH_EXEC:
		if (fill_from(c, &c->out, c->rev_out, 0) == 1 ||
		    fill_from(c, &c->err, c->rev_err, 1) == 1)
			return 1;
		if (c->out == -1 && c->err == -1) {
			c->local_eof = 1;
			return 1;
		}
		return 0;
	default:
		return 0;
	}
}

/* Send c->up (or the SFTP server's output) as far as the window allows. */
static int
pump_send(struct loop *l, struct chan *c)
{
	const void	*p;
	size_t		 len;
	uint32_t	 win = ssh_channel_window_size(c->ch);
	int		 w;

	if (c->kind == CH_SFTP)
		p = sftp_output(c->sftp, &len);
	else {
		p = c->up + c->up_off;
		len = c->up_len - c->up_off;
	}
	if (p == NULL || len == 0 || win == 0)
		return 0;
	if (len > win)
		len = win;
	w = c->up_stderr ? ssh_channel_write_stderr(c->ch, p, (uint32_t)len) :
	    ssh_channel_write(c->ch, p, (uint32_t)len);
	if (w == SSH_ERROR) {
		c->closing = 1;
		return 1;
	}
	if (w <= 0) {
		/*
		 * The window is open but libssh took nothing: a key
		 * re-exchange holds channel data back.  Nothing on the
		 * socket may announce its end, so look again shortly.
		 */
		l->stalled = 1;
		return 0;
	}
	c->bytes_up += (uint64_t)w;
	l->active = 1;
	if (c->kind == CH_SFTP)
		sftp_output_consume(c->sftp, (size_t)w);
	else if ((c->up_off += (size_t)w) == c->up_len)
		c->up_len = c->up_off = 0;
	return 1;
}

/* The local end is done and everything is sent: finish the channel. */
static void
chan_finish(struct loop *l, struct chan *c)
{
	struct mm_exec_result res;

	if (c->ran) {
		memset(&res, 0, sizeof(res));
		c->waited = 1;
		if (mm_exec_wait(l->mon, c->bytes_up, &res) == -1) {
			loop_lost(l);
			return;
		}
		c->exit_status = res.exit_status;
		if (res.timed_out) {
			char msg[128];

			snprintf(msg, sizeof(msg), "porthole: diagnostic "
			    "killed after the timeout of %llus%s",
			    (unsigned long long)res.timeout,
			    c->has_pty ? "\r\n" : "\n");
			ssh_channel_write_stderr(c->ch, msg,
			    (uint32_t)strlen(msg));
		}
	}
	/*
	 * Every session channel says how it ended, the SFTP server's too
	 * (status 0, as sftp-server's): without it scp and ssh -s exit 1
	 * or 255 after a perfectly good transfer.
	 */
	if (c->kind == CH_EXEC || c->kind == CH_SHELL || c->kind == CH_SFTP)
		ssh_channel_request_send_exit_status(c->ch, c->exit_status);
	ssh_channel_send_eof(c->ch);
	c->closing = 1;
}

/* Release a channel: its local end, its monitor records, the channel. */
static void
chan_free(struct loop *l, struct chan *c)
{
	struct mm_exec_result res;

	/* The engineer left before its diagnostic ended: stop and reap it. */
	if (c->ran && !c->waited && !l->lost) {
		c->waited = 1;
		if (l->ops.exec_cancel(l->ops.arg) == -1 ||
		    mm_exec_wait(l->mon, c->bytes_up, &res) == -1)
			loop_lost(l);
	}
	if (c->kind == CH_FWD && !l->lost &&
	    mm_forward_close(l->mon, c->fwd_id, c->bytes_down,
	    c->bytes_up) == -1)
		loop_lost(l);
	if (!l->lost)
		chan_refusals_record(l, c);
	/* libssh frees the channel later, at the engineer's close. */
	if (c->cb.userdata != NULL)
		ssh_remove_channel_callbacks(c->ch, &c->cb);
	if (c->sftp != NULL)
		sftp_free(c->sftp);
	if (c->fd != -1)
		close(c->fd);
	if (c->out != -1)
		close(c->out);
	if (c->err != -1)
		close(c->err);
	if (ssh_channel_is_open(c->ch))
		ssh_channel_close(c->ch);
	ssh_channel_free(c->ch);
	free(c);
	l->nchans--;
}

/* Move what can move on every channel; returns whether anything did. */
static int
loop_pump(struct loop *l)
{
	struct chan	*c, **cp;
	int		 moved = 0;

	for (c = l->chans; c != NULL; c = c->next) {
		if (c->closing || c->kind == CH_NEW)
			continue;
		moved |= pump_push(l, c);
		moved |= pump_pull(l, c);
		moved |= pump_push(l, c);
		moved |= pump_eof(c);
		moved |= pump_fill(c);
		moved |= pump_send(l, c);
		if (c->local_eof && c->up_len == 0 && !c->closing &&
		    (c->kind != CH_SFTP || sftp_output(c->sftp, &(size_t){0}) ==
		    NULL))
			chan_finish(l, c);
	}
	for (cp = &l->chans; (c = *cp) != NULL; ) {
		if (c->closing || ssh_channel_is_closed(c->ch)) {
			*cp = c->next;
			chan_free(l, c);
			moved = 1;
		} else
			cp = &c->next;
	}
	return moved;
}

/* The descriptors worth waiting for, besides the engineer's stream. */
static nfds_t
loop_pollfds(struct loop *l, struct pollfd *pfd, nfds_t max)
{
	struct chan	*c;
	nfds_t		 n;

	pfd[0].fd = ssh_get_fd(l->s);
	pfd[0].events = POLLIN;
	if (ssh_get_poll_flags(l->s) & SSH_WRITE_PENDING)
		pfd[0].events |= POLLOUT;
	/* The monitor speaks unasked only to end the session. */
	pfd[1].fd = l->mon;
	pfd[1].events = POLLIN;
	n = 2;
	for (c = l->chans; c != NULL; c = c->next) {
		c->pi_fd = c->pi_out = c->pi_err = -1;
		if (n + 3 > max)
			continue;
		if (c->fd != -1) {
			pfd[n].events = (c->up_len == 0 && !c->local_eof ?
			    POLLIN : 0) | (c->down_len > 0 ? POLLOUT : 0);
			/* Nothing asked: a hung-up socket would spin us. */
			pfd[n].fd = pfd[n].events != 0 ? c->fd : -1;
			c->pi_fd = (int)n++;
		}
		if (c->up_len == 0 && c->out != -1) {
			pfd[n].fd = c->out;
			pfd[n].events = POLLIN;
			c->pi_out = (int)n++;
		}
		if (c->up_len == 0 && c->err != -1) {
			pfd[n].fd = c->err;
			pfd[n].events = POLLIN;
			c->pi_err = (int)n++;
		}
	}
	return n;
}

/* Remember what poll saw for each channel's descriptors. */
static void
loop_revents(struct loop *l, const struct pollfd *pfd)
{
	struct chan *c;

	for (c = l->chans; c != NULL; c = c->next) {
		c->rev_fd = c->pi_fd >= 0 ? pfd[c->pi_fd].revents : 0;
		c->rev_out = c->pi_out >= 0 ? pfd[c->pi_out].revents : 0;
		c->rev_err = c->pi_err >= 0 ? pfd[c->pi_err].revents : 0;
	}
}

/* The monitor's last word, on every channel the engineer has open. */
static void
loop_say_all(struct loop *l, const char *text)
{
	struct chan	*c;
	char		 line[400];

	for (c = l->chans; c != NULL; c = c->next) {
		snprintf(line, sizeof(line), "\r\nporthole: %s\r\n", text);
		if (!c->has_pty)
			snprintf(line, sizeof(line), "porthole: %s\n", text);
		if (ssh_channel_is_open(c->ch) && !ssh_channel_is_closed(c->ch))
			(void)ssh_channel_write_stderr(c->ch, line,
			    (uint32_t)strlen(line));
	}
	ssh_blocking_flush(l->s, 1000);
}

/*
 * Tell the monitor the session is in use, at most once a second: the
 * broker ends it after idle_timeout without channel data.  Returns the
 * poll timeout that brings the next report in time (-1: none due).
 */
static int
loop_report_activity(struct loop *l)
{
	uint64_t now;

#ifdef PORTHOLE_TEST_HOOKS
	/* Test builds only: a compromised child says it is always busy. */
	if (l->claim_active)
		l->active = 1;
#endif
	if (!l->active || l->lost)
		return -1;
	now = clock_mono_ms();
	if (now - l->active_told < LOOP_ACTIVE_MS)
		return (int)(LOOP_ACTIVE_MS - (now - l->active_told));
	if (mm_activity(l->mon) == -1)
		loop_lost(l);
	l->active = 0;
	l->active_told = now;
#ifdef PORTHOLE_TEST_HOOKS
	if (l->claim_active)
		return LOOP_ACTIVE_MS;
#endif
	return -1;
}

/* The poll timeout: now, soon, or when activity is next due. */
static int
loop_wait_ms(struct loop *l, int moved, int report)
{
	int wait = moved ? 0 : l->stalled ? LOOP_RETRY_MS : -1;

	if (report >= 0 && (wait < 0 || report < wait))
		wait = report;
	return wait;
}

void
session_serve(ssh_session s, int mon, const struct policy *pol,
    const struct mm_identity *id)
{
	struct loop	 l;
	struct pollfd	 pfd[2 + 3 * CHAN_MAX];
	ssh_event	 ev;
	int		 moved = 1, polled, report = -1;

	memset(&l, 0, sizeof(l));
	l.s = s;
	l.mon = mon;
	l.pol = pol;
	l.id = id;
#ifdef PORTHOLE_TEST_HOOKS
	l.claim_active = getenv("PORTHOLE_TEST_CLAIM_ACTIVE") != NULL;
#endif
	mm_access_ops(&l.mon, pol, &l.ops);
	ssh_set_message_callback(s, loop_on_message, &l);
	ssh_set_blocking(s, 0);
	if ((ev = ssh_event_new()) == NULL ||
	    ssh_event_add_session(ev, s) != SSH_OK)
		return;
	while (!l.lost) {
		if (poll(pfd, loop_pollfds(&l, pfd, sizeof(pfd) /
		    sizeof(pfd[0])), loop_wait_ms(&l, moved, report)) == -1 &&
		    errno != EINTR)
			break;
		loop_revents(&l, pfd);
		if (pfd[1].revents != 0) {
			(void)mm_read_notice(l.mon);
			break;
		}
		/*
		 * libssh is polled only when its socket has something to
		 * say (input, room for queued output, hang-up), on the first
		 * round and when a write stalled in a key re-exchange.
		 */
		polled = pfd[0].revents != 0 || l.epoch == 0 || l.stalled;
		if (polled) {
			if (ssh_event_dopoll(ev, 0) == SSH_ERROR)
				break;
			l.epoch++;
		}
		l.stalled = 0;
		if (!ssh_is_connected(s))
			break;
		moved = loop_pump(&l);
		/*
		 * Before sleeping without a deadline, give libssh one look
		 * at its socket: a write or a read may have pulled packets
		 * in (a window adjustment, the end of a key re-exchange)
		 * that no readiness of the socket will announce again.
		 */
		if (!moved && !l.stalled && !polled) {
			if (ssh_event_dopoll(ev, 0) == SSH_ERROR)
				break;
			l.epoch++;
			if (!ssh_is_connected(s))
				break;
			moved = loop_pump(&l);
		}
		report = loop_report_activity(&l);
	}
	if (mm_notice() != NULL)
		loop_say_all(&l, mm_notice());
	else if (l.lost)
		log_error("session: lost the monitor; ending the session");
	/* A monitor that is ending the session takes no more requests. */
	if (mm_notice() != NULL)
		l.lost = 1;
	while (l.chans != NULL) {
		struct chan *c = l.chans;

		l.chans = c->next;
		chan_free(&l, c);
	}
	ssh_event_remove_session(ev, s);
	ssh_event_free(ev);
}
