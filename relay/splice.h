/*
 * splice.h - join two SSH channels on two sessions, with flow control in
 * both directions: a side receives only as much as the other side's
 * window takes, so a slow reader slows the writer and nothing buffers
 * without bound.  Used by the relay to carry an engineer's direct-tcpip
 * channel to a cluster's tunnel as a forwarded-tcpip channel.
 */
#ifndef PH_SPLICE_H
#define PH_SPLICE_H

#include <stdint.h>
#include <libssh/libssh.h>
#include <libssh/callbacks.h>

#define SPLICE_ENGINEER	0
#define SPLICE_TUNNEL	1

struct splice_end {
	ssh_channel	 ch;		/* NULL once the side is gone */
	void		*conn;		/* the owner's connection */
	uint32_t	 pending;	/* received, not yet forwarded */
	char		*hold;		/* read from here, not yet written on */
	uint32_t	 hold_off;
	uint32_t	 hold_len;
	uint64_t	 bytes;		/* forwarded from this side */
	int		 eof_rcvd;
	int		 eof_sent;
	int		 close_rcvd;
	int		 close_sent;
	struct ssh_channel_callbacks_struct cb;
};

struct splice {
	struct splice_end end[2];	/* SPLICE_ENGINEER, SPLICE_TUNNEL */
	int		 opening;	/* tunnel side's open not answered yet */
	int		 failed;	/* tunnel side refused the open */
	int		 refusal;	/* no tunnel side: a refusal to say */
	char		 host[65];	/* cluster id the channel is for */
	int		 port;
	char		 orig_host[64];	/* engineer's address, for the log */
	int		 orig_port;
	uint64_t	 id;		/* for log lines */
	int		 refs;		/* owner's links to it */
	int		 stalled;	/* libssh took nothing with the window
					   open (a key re-exchange): pump again
					   soon, nothing on the socket may say
					   when it is over */
};

/*
 * Start a splice: eng is an accepted channel on the engineer's session;
 * a forwarded-tcpip channel to host:port is opened on tun.  Returns NULL
 * if the open could not even be sent.
 */
struct splice	*splice_new(ssh_channel eng, void *eng_conn, ssh_session tun,
		    void *tun_conn, const char *host, int port,
		    const char *orig_host, int orig_port, uint64_t id);

/*
 * Turn an engineer away with a reason their ssh prints: eng, an accepted
 * channel, carries an SSH identification and a cleartext disconnect
 * saying text (lib/sshrefuse.h), and nothing else; what the engineer
 * sends is dropped.  A refused open could only say "administratively
 * prohibited" through libssh 0.10.  The end is the engineer's to make,
 * once their client has read the disconnect: an EOF passed on before it
 * has could cut it off while it still writes.
 */
struct splice	*splice_refusal(ssh_channel eng, void *eng_conn,
		    const char *text, uint64_t id);

/*
 * Move what the channels' windows allow, finish the pending open, pass
 * EOF and close on.  Call after every poll of either session, never from
 * inside a libssh callback.  Returns 1 when the splice is finished and
 * may be freed.
 */
int		 splice_pump(struct splice *sp);

/* The session of this side is being freed: forget its channel. */
void		 splice_side_gone(struct splice *sp, int side);

/* Release the channels still held.  Never from a libssh callback. */
void		 splice_free(struct splice *sp);

#endif
