/*
 * intake.c - producers hand records over a local socket; each is
 * answered once it is safe (telem.c commits in groups) or refused.
 *
 * Replies go out in the order the records came in: each record takes a
 * reply slot at once, refusals fill theirs at once, and the commit
 * fills the others; only a filled slot at the head is written.
 */
#include "gateway/intake.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "gateway/localsock.h"
#include "lib/log.h"
#include "telemetry/record.h"

#define INTAKE_MAX_PENDING	1024	/* unanswered records per producer */
/*
 * After refusing an over-long line the producer is probably still
 * writing it: closing at once would make its next write fail before it
 * read the refusal.  Read and discard for a while, then hang up.
 */
#define INTAKE_LINGER_BYTES	(4u << 20)
#define INTAKE_LINGER_SECS	2

struct islot {
	struct islot	*next;
	struct iconn	*conn;
	char		*reply;		/* NULL until known */
};

/* One producer's connection. */
struct iconn {
	struct intake		*in;
	struct bufferevent	*bev;
	struct islot		*head, **tail;
	int			 pending;	/* slots in the list */
	int			 waiting;	/* slots awaiting the commit */
	int			 closed;	/* gone: free when waiting is 0 */
	int			 eof;		/* half-closed: answer, then go */
	int			 discard;	/* refused: read, drop, then go */
	size_t			 discarded;
	TAILQ_ENTRY(iconn)	 entry;
};

struct intake {
	struct telem		*telem;
	struct evconnlistener	*listener;
	struct localsock_acl	 acl;
	char			 path[108];
	TAILQ_HEAD(, iconn)	 conns;
};

static void
iconn_free(struct iconn *c)
{
	struct islot *s, *next;

	TAILQ_REMOVE(&c->in->conns, c, entry);
	if (!c->closed)
		bufferevent_free(c->bev);
	for (s = c->head; s != NULL; s = next) {
		next = s->next;
		free(s->reply);
		free(s);
	}
	free(c);
}

/* Write the filled replies at the head, in order. */
static void
iconn_flush(struct iconn *c)
{
	struct islot *s;

	while ((s = c->head) != NULL && s->reply != NULL) {
		if (!c->closed) {
			bufferevent_write(c->bev, s->reply, strlen(s->reply));
			bufferevent_write(c->bev, "\n", 1);
		}
		c->head = s->next;
		if (c->head == NULL)
			c->tail = &c->head;
		free(s->reply);
		free(s);
		c->pending--;
	}
	if (!c->closed && !c->eof && !c->discard &&
	    c->pending < INTAKE_MAX_PENDING) {
		bufferevent_enable(c->bev, EV_READ);
		/* Lines already buffered raise no new read event. */
		if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
			bufferevent_trigger(c->bev, EV_READ,
			    BEV_TRIG_DEFER_CALLBACKS);
	}
}

/*
 * A half-closed producer's last reply is out: close.  A refused one is
 * told we are done writing and is read (and ignored) until it goes.
 */
static void
iconn_write(struct bufferevent *bev, void *arg)
{
	struct iconn *c = arg;

	if (!c->eof || c->pending != 0 ||
	    evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return;
	if (c->discard)
		(void)shutdown(bufferevent_getfd(bev), SHUT_WR);
	else
		iconn_free(c);
}

/* Stop reading a refused producer; go once its replies are out. */
static void
iconn_linger_end(struct iconn *c)
{
	c->discard = 0;
	bufferevent_disable(c->bev, EV_READ);
	if (c->pending == 0 &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		iconn_free(c);
}

static void
slot_fill(struct islot *s, json_t *ans)
{
	s->reply = json_dumps(ans, JSON_COMPACT);
	json_decref(ans);
	if (s->reply == NULL)
		s->reply = strdup("{\"ok\":false,\"reason\":\"out of memory\"}");
}

static void
on_done(void *arg, int ok, uint64_t seq, const char *why)
{
	struct islot	*s = arg;
	struct iconn	*c = s->conn;

	slot_fill(s, intake_reply_new(ok ? INTAKE_STORED : INTAKE_REFUSED, seq,
	    why));
	c->waiting--;
	iconn_flush(c);
	if (c->closed && c->waiting == 0)
		iconn_free(c);
}

static struct islot *
slot_new(struct iconn *c)
{
	struct islot *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->conn = c;
	*c->tail = s;
	c->tail = &s->next;
	c->pending++;
	return s;
}

static void
iconn_record(struct iconn *c, const char *line, size_t len)
{
	struct islot	*s;
	char		 why[256];
	int		 rc;

	if ((s = slot_new(c)) == NULL)
		return;
	rc = telem_submit(c->in->telem, line, len, on_done, s, why,
	    sizeof(why));
	if (rc == 0)
		c->waiting++;
	else
		slot_fill(s, intake_reply_new(rc == 1 ? INTAKE_NOT_KEPT :
		    INTAKE_REFUSED, 0, why));
}

static void
iconn_read(struct bufferevent *bev, void *arg)
{
	struct iconn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct islot	*s;
	char		*line;
	size_t		 len;

	if (c->discard) {
		c->discarded += evbuffer_get_length(in);
		evbuffer_drain(in, evbuffer_get_length(in));
		if (c->discarded > INTAKE_LINGER_BYTES)
			iconn_linger_end(c);
		return;
	}
	while (c->pending < INTAKE_MAX_PENDING &&
	    (line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		if (len > 0)
			iconn_record(c, line, len);
		free(line);
	}
	if (c->pending < INTAKE_MAX_PENDING &&
	    evbuffer_get_length(in) > RECORD_MAX) {
		/* No newline within the limit: refuse and hang up. */
		if ((s = slot_new(c)) != NULL)
			slot_fill(s, intake_reply_new(INTAKE_REFUSED, 0,
			    "record longer than the limit; closing"));
		evbuffer_drain(in, evbuffer_get_length(in));
		c->eof = 1;	/* answer what came before, then close */
		c->discard = 1;
		bufferevent_set_timeouts(bev,
		    &(struct timeval){ INTAKE_LINGER_SECS, 0 }, NULL);
	}
	if (c->pending >= INTAKE_MAX_PENDING)
		bufferevent_disable(bev, EV_READ);	/* backpressure */
	iconn_flush(c);
}

static void
iconn_event(struct bufferevent *bev, short what, void *arg)
{
	struct iconn *c = arg;

	if (c->discard && (what & (BEV_EVENT_TIMEOUT | BEV_EVENT_EOF)) &&
	    !(what & BEV_EVENT_ERROR)) {
		iconn_linger_end(c);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if (!(what & BEV_EVENT_ERROR) && (c->pending > 0 ||
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0)) {
		/* It may still read its replies. */
		c->eof = 1;
		bufferevent_disable(bev, EV_READ);
		return;
	}
	bufferevent_free(bev);
	c->closed = 1;
	if (c->waiting == 0)
		iconn_free(c);
}

static void
intake_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct intake	*in = arg;
	struct iconn	*c;
	uid_t		 uid = (uid_t)-1;

	(void)l;
	(void)sa;
	(void)salen;
	if (!localsock_peer_allowed(&in->acl, fd, &uid)) {
		log_warn("intake: refused a producer with uid %ld", (long)uid);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->in = in;
	c->tail = &c->head;
	c->bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&in->conns, c, entry);
	bufferevent_setcb(c->bev, iconn_read, iconn_write, iconn_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, RECORD_MAX + 2);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

struct intake *
intake_new(struct event_base *base, const struct policy *pol,
    struct telem *telem)
{
	struct intake *in;

	if ((in = calloc(1, sizeof(*in))) == NULL)
		return NULL;
	in->telem = telem;
	TAILQ_INIT(&in->conns);
	localsock_acl_init(&in->acl, pol->admin_group);
	in->listener = localsock_listen(base, pol->run_dir, INTAKE_SOCKET,
	    &in->acl, intake_accept, in, in->path, sizeof(in->path));
	if (in->listener == NULL) {
		free(in);
		return NULL;
	}
	return in;
}

void
intake_set_policy(struct intake *in, const struct policy *pol)
{
	localsock_regroup(&in->acl, pol->admin_group, in->path);
}

void
intake_free(struct intake *in)
{
	if (in == NULL)
		return;
	/* After telem_free: no commit will call back into these. */
	while (!TAILQ_EMPTY(&in->conns))
		iconn_free(TAILQ_FIRST(&in->conns));
	evconnlistener_free(in->listener);
	unlink(in->path);
	free(in);
}
