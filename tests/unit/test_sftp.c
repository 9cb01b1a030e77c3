/*
 * test_sftp.c - the read-only SFTP server as a client sees it: requests
 * are built by hand and fed whole, byte by byte or many at once, the
 * replies are parsed, and a fake monitor serves a temporary directory.
 */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "gateway/session/sftp.h"

/*
 * The protocol's numbers, from draft-ietf-secsh-filexfer-02, written out
 * here again so that a wrong number in the server is caught.
 */
#define FXP_INIT	1
#define FXP_VERSION	2
#define FXP_OPEN	3
#define FXP_CLOSE	4
#define FXP_READ	5
#define FXP_WRITE	6
#define FXP_LSTAT	7
#define FXP_FSTAT	8
#define FXP_SETSTAT	9
#define FXP_FSETSTAT	10
#define FXP_OPENDIR	11
#define FXP_READDIR	12
#define FXP_REMOVE	13
#define FXP_MKDIR	14
#define FXP_RMDIR	15
#define FXP_REALPATH	16
#define FXP_STAT	17
#define FXP_RENAME	18
#define FXP_READLINK	19
#define FXP_SYMLINK	20
#define FXP_STATUS	101
#define FXP_HANDLE	102
#define FXP_DATA	103
#define FXP_NAME	104
#define FXP_ATTRS	105
#define FXP_EXTENDED	200

#define FX_OK			0
#define FX_EOF			1
#define FX_NO_SUCH_FILE		2
#define FX_PERMISSION_DENIED	3
#define FX_FAILURE		4
#define FX_OP_UNSUPPORTED	8

#define FXF_READ	0x01
#define FXF_WRITE	0x02
#define FXF_APPEND	0x04
#define FXF_CREAT	0x08
#define FXF_TRUNC	0x10
#define FXF_EXCL	0x20

#define BIG_SIZE	100000		/* bytes in the file "big" */
#define MANY		150		/* files in the directory "many" */
#define MAXREC		128

/* What the fake monitor was asked, and how it is to answer. */
static struct fake {
	int		 lost;		/* answer -1: the monitor is gone */
	const char	*deny;		/* answer 0 with this reason */
	size_t		 dir_max;	/* list_dir gives at most this many */
	int		 opens;
	int		 fds[MAXREC];
	uint32_t	 next;
	int		 closes;
	uint32_t	 closed[MAXREC];
	uint64_t	 bytes[MAXREC];
	int		 nrefused;
	char		 op[MAXREC][32];
	char		 path[MAXREC][ACCESS_PATH_MAX + 1];
} fk;

static char			 home[64];
static struct access_ops	 ops;

/* A packet being built, or a reply being read. */
struct pkt {
	unsigned char	*b;
	size_t		 len;
	size_t		 pos;		/* reading: next byte */
	size_t		 start;		/* building: the current packet */
};

/* A handle string as the server handed it out. */
struct hdl {
	unsigned char	 b[256];
	size_t		 len;
};

/* One test's server and the client's side of the channel. */
struct ctx {
	struct sftp	*s;
	size_t		 chunk;		/* feed in pieces this big (0: whole) */
	struct pkt	 rx;		/* replies not yet read */
	char		 msg[512];	/* the last STATUS message */
};

static size_t	 whole = 0, bytewise = 1;

/*
 * The fake monitor.  It checks what the server promises every operation:
 * absolute, normalised paths.
 */
static void
check_path(const char *path)
{
	assert_true(path[0] == '/');
	assert_null(strstr(path, "/../"));
	assert_null(strstr(path, "/./"));
	assert_null(strstr(path, "//"));
	assert_true(strlen(path) <= ACCESS_PATH_MAX);
}

static void
attr_from(const struct stat *st, struct access_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->size = (uint64_t)st->st_size;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->mode = st->st_mode;
	a->atime = (uint32_t)st->st_atime;
	a->mtime = (uint32_t)st->st_mtime;
	a->nlink = (uint32_t)st->st_nlink;
}

/* The common answers: -1 when lost, 0 with a reason when denying. */
static int
fake_verdict(char *why, size_t whylen)
{
	if (fk.lost)
		return -1;
	if (fk.deny != NULL) {
		snprintf(why, whylen, "%s", fk.deny);
		return 0;
	}
	return 1;
}

static int
fake_open(void *arg, const char *path, int *fd, uint32_t *handle,
    struct access_attr *attr, char *why, size_t whylen)
{
	struct stat	 st;
	int		 r;

	check_path(path);
	if ((r = fake_verdict(why, whylen)) != 1)
		return r;
	if ((*fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		return 0;
	}
	if (fstat(*fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(*fd);
		snprintf(why, whylen, "not a regular file");
		return 0;
	}
	attr_from(&st, attr);
	*handle = ++fk.next;
	fk.fds[fk.opens++ % MAXREC] = *fd;
	return 1;
}

static int
fake_close(void *arg, uint32_t handle, uint64_t bytes)
{
	if (fk.lost)
		return -1;
	fk.closed[fk.closes % MAXREC] = handle;
	fk.bytes[fk.closes % MAXREC] = bytes;
	fk.closes++;
	return 1;
}

static int
fake_stat(void *arg, const char *path, struct access_attr *attr, char *why,
    size_t whylen)
{
	struct stat	 st;
	int		 r;

	check_path(path);
	if ((r = fake_verdict(why, whylen)) != 1)
		return r;
	if (lstat(path, &st) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		return 0;
	}
	attr_from(&st, attr);
	return 1;
}

static int
not_dots(const struct dirent *d)
{
	return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

static int
fake_list(void *arg, const char *path, uint32_t *cookie,
    struct access_dirent *ents, size_t max, size_t *n, int *eof, char *why,
    size_t whylen)
{
	struct dirent	**list;
	struct stat	  st;
	char		  full[2048];
	int		  total, i, r;

	check_path(path);
	if ((r = fake_verdict(why, whylen)) != 1)
		return r;
	if ((total = scandir(path, &list, not_dots, alphasort)) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		return 0;
	}
	if (fk.dir_max != 0 && max > fk.dir_max)
		max = fk.dir_max;
	*n = 0;
	for (i = (int)*cookie; i < total && *n < max; i++) {
		snprintf(ents[*n].name, sizeof(ents[*n].name), "%s",
		    list[i]->d_name);
		snprintf(full, sizeof(full), "%s/%s", path, list[i]->d_name);
		assert_int_equal(lstat(full, &st), 0);
		attr_from(&st, &ents[*n].attr);
		(*n)++;
	}
	*cookie += (uint32_t)*n;
	*eof = (int)*cookie >= total;
	for (i = 0; i < total; i++)
		free(list[i]);
	free(list);
	return 1;
}

static int
fake_refused(void *arg, const char *op, const char *path)
{
	check_path(path);
	if (fk.lost)
		return -1;
	snprintf(fk.op[fk.nrefused % MAXREC], sizeof(fk.op[0]), "%s", op);
	snprintf(fk.path[fk.nrefused % MAXREC], sizeof(fk.path[0]), "%s",
	    path);
	fk.nrefused++;
	return 1;
}

/* Building requests. */
static void
put(struct pkt *p, const void *d, size_t n)
{
	p->b = realloc(p->b, p->len + n + 1);
	assert_non_null(p->b);
	if (n > 0)
		memcpy(p->b + p->len, d, n);
	p->len += n;
}

static void
put_u8(struct pkt *p, uint8_t v)
{
	put(p, &v, 1);
}

static void
put_u32(struct pkt *p, uint32_t v)
{
	unsigned char	 b[4] = { v >> 24, v >> 16, v >> 8, v };

	put(p, b, 4);
}

static void
put_u64(struct pkt *p, uint64_t v)
{
	put_u32(p, (uint32_t)(v >> 32));
	put_u32(p, (uint32_t)v);
}

static void
put_str(struct pkt *p, const void *s, size_t n)
{
	put_u32(p, (uint32_t)n);
	put(p, s, n);
}

static void
put_cstr(struct pkt *p, const char *s)
{
	put_str(p, s, strlen(s));
}

/* Start a request: room for the length, then type and id. */
static void
req(struct pkt *p, uint8_t type, uint32_t id)
{
	p->start = p->len;
	put_u32(p, 0);
	put_u8(p, type);
	put_u32(p, id);
}

/* The request is complete: fill in its length. */
static void
req_end(struct pkt *p)
{
	uint32_t	 n = (uint32_t)(p->len - p->start - 4);

	p->b[p->start] = n >> 24;
	p->b[p->start + 1] = n >> 16;
	p->b[p->start + 2] = n >> 8;
	p->b[p->start + 3] = n;
}

/* Give the server all of p in pieces of c->chunk bytes, then forget p. */
static void
feed(struct ctx *c, struct pkt *p)
{
	size_t	 off = 0, n;

	while (off < p->len) {
		n = p->len - off;
		if (c->chunk != 0 && n > c->chunk)
			n = c->chunk;
		assert_int_equal(sftp_input(c->s, p->b + off, n), n);
		off += n;
	}
	free(p->b);
	memset(p, 0, sizeof(*p));
}

/* Reading replies. */
static void
drain(struct ctx *c)
{
	const void	*o;
	size_t		 n;

	while ((o = sftp_output(c->s, &n)) != NULL) {
		put(&c->rx, o, n);
		sftp_output_consume(c->s, n);
	}
}

/*
 * The next reply: returns its type, r points at its body (valid until
 * the next call).
 */
static uint8_t
reply(struct ctx *c, struct pkt *r)
{
	size_t	 left, len;

	if (c->rx.pos == c->rx.len) {
		free(c->rx.b);
		memset(&c->rx, 0, sizeof(c->rx));
	}
	drain(c);
	left = c->rx.len - c->rx.pos;
	assert_true(left >= 5);
	len = (size_t)c->rx.b[c->rx.pos] << 24 |
	    (size_t)c->rx.b[c->rx.pos + 1] << 16 |
	    (size_t)c->rx.b[c->rx.pos + 2] << 8 | c->rx.b[c->rx.pos + 3];
	assert_true(len >= 1 && len <= left - 4);
	r->b = c->rx.b + c->rx.pos + 4;
	r->len = len;
	r->pos = 1;
	c->rx.pos += 4 + len;
	return r->b[0];
}

/* Nothing more came back. */
static void
no_reply(struct ctx *c)
{
	drain(c);
	assert_int_equal(c->rx.len - c->rx.pos, 0);
}

static uint32_t
get_u32(struct pkt *r)
{
	uint32_t	 v;

	assert_true(r->len - r->pos >= 4);
	v = (uint32_t)r->b[r->pos] << 24 | (uint32_t)r->b[r->pos + 1] << 16 |
	    (uint32_t)r->b[r->pos + 2] << 8 | r->b[r->pos + 3];
	r->pos += 4;
	return v;
}

static uint64_t
get_u64(struct pkt *r)
{
	uint64_t	 hi = get_u32(r);

	return hi << 32 | get_u32(r);
}

static const unsigned char *
get_str(struct pkt *r, size_t *len)
{
	const unsigned char	*s;

	*len = get_u32(r);
	assert_true(*len <= r->len - r->pos);
	s = r->b + r->pos;
	r->pos += *len;
	return s;
}

/* A STATUS answering id: returns the code, keeps the message. */
static uint32_t
status(struct ctx *c, uint32_t id)
{
	struct pkt		 r;
	const unsigned char	*m;
	uint32_t		 code;
	size_t			 len;

	assert_int_equal(reply(c, &r), FXP_STATUS);
	assert_int_equal(get_u32(&r), id);
	code = get_u32(&r);
	m = get_str(&r, &len);
	assert_true(len < sizeof(c->msg));
	memcpy(c->msg, m, len);
	c->msg[len] = '\0';
	(void)get_str(&r, &len);		/* language tag */
	assert_int_equal(r.pos, r.len);
	return code;
}

static void
handle(struct ctx *c, uint32_t id, struct hdl *h)
{
	struct pkt		 r;
	const unsigned char	*s;

	assert_int_equal(reply(c, &r), FXP_HANDLE);
	assert_int_equal(get_u32(&r), id);
	s = get_str(&r, &h->len);
	assert_true(h->len > 0 && h->len <= sizeof(h->b));
	memcpy(h->b, s, h->len);
	assert_int_equal(r.pos, r.len);
}

/*
 * The attributes every reply carries here: size, owner, permissions
 * and times.
 */
static void
get_attr(struct pkt *r, uint64_t *size, uint32_t *mode)
{
	assert_int_equal(get_u32(r), 0x0f);
	*size = get_u64(r);
	(void)get_u32(r);
	(void)get_u32(r);
	*mode = get_u32(r);
	(void)get_u32(r);
	(void)get_u32(r);
}

/* Requests. */
static void
send_path(struct ctx *c, uint8_t type, uint32_t id, const char *path)
{
	struct pkt	 p = { 0 };

	req(&p, type, id);
	put_cstr(&p, path);
	req_end(&p);
	feed(c, &p);
}

static void
send_handle(struct ctx *c, uint8_t type, uint32_t id, const struct hdl *h)
{
	struct pkt	 p = { 0 };

	req(&p, type, id);
	put_str(&p, h->b, h->len);
	req_end(&p);
	feed(c, &p);
}

static void
add_read(struct pkt *p, uint32_t id, const struct hdl *h, uint64_t off,
    uint32_t len)
{
	req(p, FXP_READ, id);
	put_str(p, h->b, h->len);
	put_u64(p, off);
	put_u32(p, len);
	req_end(p);
}

static void
add_open(struct pkt *p, uint32_t id, const char *path, uint32_t pflags)
{
	req(p, FXP_OPEN, id);
	put_cstr(p, path);
	put_u32(p, pflags);
	put_u32(p, 0);				/* no attributes */
	req_end(p);
}

static void
init(struct ctx *c)
{
	struct pkt	 p = { 0 };
	struct pkt	 r;

	put_u32(&p, 5);
	put_u8(&p, FXP_INIT);
	put_u32(&p, 3);
	feed(c, &p);
	assert_int_equal(reply(c, &r), FXP_VERSION);
	assert_int_equal(get_u32(&r), 3);
	assert_int_equal(r.pos, r.len);		/* no extensions */
}

static void
open_read(struct ctx *c, uint32_t id, const char *path, struct hdl *h)
{
	struct pkt	 p = { 0 };

	add_open(&p, id, path, FXF_READ);
	feed(c, &p);
	handle(c, id, h);
}

static void
read_data(struct ctx *c, uint32_t id, unsigned char *buf, size_t max,
    size_t *len)
{
	struct pkt		 r;
	const unsigned char	*d;

	assert_int_equal(reply(c, &r), FXP_DATA);
	assert_int_equal(get_u32(&r), id);
	d = get_str(&r, len);
	assert_true(*len <= max);
	memcpy(buf, d, *len);
	assert_int_equal(r.pos, r.len);
}

/* Fixtures: a home with "f", "big", "sub/", "many/" of MANY files. */
static void
write_file(const char *name, const void *data, size_t len)
{
	char	 path[256];
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", home, name);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0);
	assert_int_equal(write(fd, data, len), len);
	close(fd);
}

static unsigned char
big_byte(size_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

static void
make_tree(void)
{
	unsigned char	*big;
	char		 name[64], path[256];
	size_t		 i;

	write_file("f", "hello, world\n", 13);
	assert_non_null(big = malloc(BIG_SIZE));
	for (i = 0; i < BIG_SIZE; i++)
		big[i] = big_byte(i);
	write_file("big", big, BIG_SIZE);
	free(big);
	snprintf(path, sizeof(path), "%s/sub", home);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/many", home);
	assert_int_equal(mkdir(path, 0755), 0);
	for (i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "many/file%03zu", i);
		write_file(name, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		    i % 40);
	}
}

static int
setup(void **state)
{
	struct ctx	*c;

	memset(&fk, 0, sizeof(fk));
	snprintf(home, sizeof(home), "/tmp/porthole-sftp.XXXXXX");
	if (mkdtemp(home) == NULL)
		return -1;
	make_tree();
	memset(&ops, 0, sizeof(ops));
	ops.home = home;
	ops.open_file = fake_open;
	ops.close_file = fake_close;
	ops.stat = fake_stat;
	ops.list_dir = fake_list;
	ops.refused = fake_refused;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->chunk = *state != NULL ? *(size_t *)*state : 0;
	if ((c->s = sftp_new(&ops)) == NULL)
		return -1;
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	struct ctx	*c = *state;
	char		 cmd[128];

	sftp_free(c->s);
	free(c->rx.b);
	free(c);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
	return system(cmd);
}

static void
t_init(void **state)
{
	struct ctx	*c = *state;
	const void	*o;
	size_t		 n;
	struct pkt	 p = { 0 };
	static const unsigned char version[] = {
		0, 0, 0, 5, FXP_VERSION, 0, 0, 0, 3
	};

	put_u32(&p, 5);
	put_u8(&p, FXP_INIT);
	put_u32(&p, 3);
	feed(c, &p);
	assert_non_null(o = sftp_output(c->s, &n));
	assert_int_equal(n, sizeof(version));
	assert_memory_equal(o, version, n);
	sftp_output_consume(c->s, n);
	assert_null(sftp_output(c->s, &n));
	assert_int_equal(n, 0);
}

/* A request before INIT, or a second INIT, ends the conversation. */
static void
t_init_first(void **state)
{
	struct ctx	*c = *state;
	struct pkt	 p = { 0 };
	struct sftp	*s;

	req(&p, FXP_REALPATH, 1);
	put_cstr(&p, ".");
	req_end(&p);
	assert_int_equal(sftp_input(c->s, p.b, p.len), -1);
	assert_int_equal(sftp_input(c->s, p.b, p.len), -1);
	free(p.b);

	assert_non_null(s = sftp_new(&ops));
	sftp_free(c->s);
	c->s = s;
	init(c);
	memset(&p, 0, sizeof(p));
	put_u32(&p, 5);
	put_u8(&p, FXP_INIT);
	put_u32(&p, 3);
	assert_int_equal(sftp_input(c->s, p.b, p.len), -1);
	free(p.b);
}

static const char *
realpath_of(struct ctx *c, uint32_t id, const char *path, char *out,
    size_t outlen)
{
	struct pkt		 r;
	const unsigned char	*name, *lname;
	size_t			 len, llen;

	send_path(c, FXP_REALPATH, id, path);
	assert_int_equal(reply(c, &r), FXP_NAME);
	assert_int_equal(get_u32(&r), id);
	assert_int_equal(get_u32(&r), 1);
	name = get_str(&r, &len);
	lname = get_str(&r, &llen);
	assert_int_equal(get_u32(&r), 0);	/* no attributes */
	assert_int_equal(r.pos, r.len);
	assert_true(len < outlen);
	assert_memory_equal(name, lname, len);
	memcpy(out, name, len);
	out[len] = '\0';
	return out;
}

static void
t_realpath(void **state)
{
	struct ctx	*c = *state;
	char		 got[ACCESS_PATH_MAX + 1], want[128];

	init(c);
	assert_string_equal(realpath_of(c, 1, ".", got, sizeof(got)), home);
	assert_string_equal(realpath_of(c, 2, "", got, sizeof(got)), home);
	assert_string_equal(realpath_of(c, 3, "..", got, sizeof(got)),
	    "/tmp");
	snprintf(want, sizeof(want), "%s/b", home);
	assert_string_equal(realpath_of(c, 4, "a/../b", got, sizeof(got)),
	    want);
	assert_string_equal(realpath_of(c, 5, "/x/../../y//z/.", got,
	    sizeof(got)), "/y/z");
	assert_string_equal(realpath_of(c, 6, "../../../..", got,
	    sizeof(got)), "/");
	no_reply(c);
}

/* Paths the server cannot pass on are answered, not fatal. */
static void
t_bad_path(void **state)
{
	struct ctx	*c = *state;
	struct pkt	 p = { 0 };
	char		 got[ACCESS_PATH_MAX + 1], *longp;

	init(c);
	assert_non_null(longp = malloc(ACCESS_PATH_MAX + 2));
	memset(longp, 'a', ACCESS_PATH_MAX + 1);
	longp[ACCESS_PATH_MAX + 1] = '\0';
	send_path(c, FXP_STAT, 1, longp);
	assert_int_equal(status(c, 1), FX_FAILURE);
	free(longp);

	req(&p, FXP_STAT, 2);
	put_str(&p, "f\0/etc/passwd", 13);
	req_end(&p);
	feed(c, &p);
	assert_int_equal(status(c, 2), FX_FAILURE);

	add_open(&p, 3, "f\n", FXF_READ);
	feed(c, &p);
	assert_int_equal(status(c, 3), FX_FAILURE);
	assert_int_equal(fk.opens, 0);
	assert_string_equal(realpath_of(c, 4, ".", got, sizeof(got)), home);
}

/* Read "big" to its end, 32 KiB at a time as OpenSSH asks. */
static void
t_read_file(void **state)
{
	struct ctx	*c = *state;
	unsigned char	*buf;
	struct hdl	 h;
	struct pkt	 p = { 0 }, r;
	uint64_t	 size;
	uint32_t	 mode, id = 10;
	size_t		 off = 0, n, i;

	init(c);
	open_read(c, 1, "big", &h);
	send_handle(c, FXP_FSTAT, 2, &h);
	assert_int_equal(reply(c, &r), FXP_ATTRS);
	assert_int_equal(get_u32(&r), 2);
	get_attr(&r, &size, &mode);
	assert_int_equal(size, BIG_SIZE);
	assert_true(S_ISREG(mode));

	assert_non_null(buf = malloc(BIG_SIZE + SFTP_MAX_READ));
	for (;;) {
		add_read(&p, id, &h, off, 32768);
		feed(c, &p);
		if (off == BIG_SIZE)
			break;
		read_data(c, id++, buf + off, SFTP_MAX_READ, &n);
		assert_true(n > 0 && n <= 32768);
		off += n;
	}
	assert_int_equal(status(c, id), FX_EOF);
	assert_int_equal(off, BIG_SIZE);
	for (i = 0; i < BIG_SIZE; i++)
		if (buf[i] != big_byte(i))
			fail_msg("byte %zu differs", i);
	free(buf);

	send_handle(c, FXP_CLOSE, 99, &h);
	assert_int_equal(status(c, 99), FX_OK);
	assert_int_equal(fk.closes, 1);
	assert_int_equal(fk.closed[0], fk.next);
	assert_int_equal(fk.bytes[0], BIG_SIZE);
	no_reply(c);
}

/*
 * Many READs in one go, as OpenSSH pipelines them, plus one asking for
 * more than SFTP_MAX_READ: every reply in order, the big one capped.
 */
static void
t_pipelined_reads(void **state)
{
	struct ctx	*c = *state;
	unsigned char	 buf[SFTP_MAX_READ];
	struct hdl	 h;
	struct pkt	 p = { 0 };
	size_t		 n, i, k;

	init(c);
	open_read(c, 1, "big", &h);
	for (k = 0; k < 4; k++)
		add_read(&p, 100 + (uint32_t)k, &h, k * 32768, 32768);
	add_read(&p, 200, &h, 0, 1024 * 1024);
	add_read(&p, 201, &h, BIG_SIZE - 10, 32768);
	add_read(&p, 202, &h, BIG_SIZE, 32768);
	add_read(&p, 203, &h, UINT64_MAX, 32768);
	feed(c, &p);
	for (k = 0; k < 4; k++) {
		read_data(c, 100 + (uint32_t)k, buf, sizeof(buf), &n);
		assert_int_equal(n, k < 3 ? 32768 : BIG_SIZE - 3 * 32768);
		for (i = 0; i < n; i++)
			assert_int_equal(buf[i], big_byte(k * 32768 + i));
	}
	read_data(c, 200, buf, sizeof(buf), &n);
	assert_int_equal(n, SFTP_MAX_READ);
	read_data(c, 201, buf, sizeof(buf), &n);
	assert_int_equal(n, 10);
	assert_int_equal(buf[9], big_byte(BIG_SIZE - 1));
	assert_int_equal(status(c, 202), FX_EOF);
	assert_int_equal(status(c, 203), FX_EOF);
	no_reply(c);
}

/*
 * List a directory: NAME replies until EOF, each entry once, with an
 * "ls -l" line and attributes; the end stays the end.
 */
static void
list_many(struct ctx *c, int *batches)
{
	char			 name[ACCESS_NAME_MAX + 1], *lname;
	int			 seen[MANY] = { 0 };
	const unsigned char	*s;
	struct hdl		 h;
	struct pkt		 r;
	uint64_t		 size;
	uint32_t		 mode, count, id = 10, i;
	size_t			 len, llen;
	unsigned int		 k;

	send_path(c, FXP_OPENDIR, 1, "many");
	handle(c, 1, &h);
	*batches = 0;
	for (;; id++) {
		send_handle(c, FXP_READDIR, id, &h);
		if (reply(c, &r) == FXP_STATUS)
			break;
		assert_int_equal(r.b[0], FXP_NAME);
		assert_int_equal(get_u32(&r), id);
		assert_true((count = get_u32(&r)) > 0);
		(*batches)++;
		for (i = 0; i < count; i++) {
			s = get_str(&r, &len);
			assert_true(len < sizeof(name));
			memcpy(name, s, len);
			name[len] = '\0';
			assert_int_equal(sscanf(name, "file%3u", &k), 1);
			assert_true(k < MANY);
			assert_int_equal(seen[k]++, 0);
			s = get_str(&r, &llen);
			assert_non_null(lname = strndup((const char *)s, llen));
			assert_int_equal(strncmp(lname, "-rw-r--r--", 10), 0);
			assert_true(llen > len + 1);
			assert_string_equal(lname + llen - len, name);
			assert_int_equal(lname[llen - len - 1], ' ');
			free(lname);
			get_attr(&r, &size, &mode);
			assert_int_equal(size, k % 40);
			assert_true(S_ISREG(mode));
		}
		assert_int_equal(r.pos, r.len);
	}
	assert_int_equal(get_u32(&r), id);
	assert_int_equal(get_u32(&r), FX_EOF);
	for (k = 0; k < MANY; k++)
		assert_int_equal(seen[k], 1);
	send_handle(c, FXP_READDIR, 500, &h);
	assert_int_equal(status(c, 500), FX_EOF);
	send_handle(c, FXP_CLOSE, 501, &h);
	assert_int_equal(status(c, 501), FX_OK);
	assert_int_equal(fk.closes, 0);	/* none for directories */
}

static void
t_readdir(void **state)
{
	struct ctx	*c = *state;
	int		 batches;

	init(c);
	list_many(c, &batches);
	assert_true(batches >= 2);
	fk.dir_max = 7;
	list_many(c, &batches);
	assert_int_equal(batches, (MANY + 6) / 7);
	no_reply(c);
}

/* The home directory shows "sub" as a directory. */
static void
t_readdir_types(void **state)
{
	struct ctx		*c = *state;
	const unsigned char	*s;
	struct hdl		 h;
	struct pkt		 r;
	uint64_t		 size;
	uint32_t		 mode, count, i;
	size_t			 len;
	int			 found = 0;

	init(c);
	send_path(c, FXP_OPENDIR, 1, ".");
	handle(c, 1, &h);
	send_handle(c, FXP_READDIR, 2, &h);
	assert_int_equal(reply(c, &r), FXP_NAME);
	assert_int_equal(get_u32(&r), 2);
	count = get_u32(&r);
	assert_int_equal(count, 4);		/* big, f, many, sub */
	for (i = 0; i < count; i++) {
		s = get_str(&r, &len);
		if (len == 3 && memcmp(s, "sub", 3) == 0)
			found = 1;
		s = get_str(&r, &len);
		get_attr(&r, &size, &mode);
		assert_int_equal(s[0] == 'd', S_ISDIR(mode) != 0);
	}
	assert_true(found);
	send_handle(c, FXP_READDIR, 3, &h);
	assert_int_equal(status(c, 3), FX_EOF);
}

static void
t_stat(void **state)
{
	struct ctx	*c = *state;
	struct pkt	 r;
	uint64_t	 size;
	uint32_t	 mode;

	init(c);
	send_path(c, FXP_STAT, 1, "f");
	assert_int_equal(reply(c, &r), FXP_ATTRS);
	assert_int_equal(get_u32(&r), 1);
	get_attr(&r, &size, &mode);
	assert_int_equal(size, 13);
	assert_true(S_ISREG(mode));
	assert_int_equal(mode & 07777, 0644);

	send_path(c, FXP_LSTAT, 2, "sub");
	assert_int_equal(reply(c, &r), FXP_ATTRS);
	assert_int_equal(get_u32(&r), 2);
	get_attr(&r, &size, &mode);
	assert_true(S_ISDIR(mode));

	send_path(c, FXP_STAT, 3, "missing");
	assert_int_equal(status(c, 3), FX_NO_SUCH_FILE);
	assert_string_equal(c->msg, "No such file or directory");
	no_reply(c);
}

/* The monitor's refusals reach the engineer in its words. */
static void
t_refusals(void **state)
{
	struct ctx	*c = *state;
	struct pkt	 p = { 0 };

	init(c);
	fk.deny = "denied by policy: *.key";
	send_path(c, FXP_STAT, 1, "f");
	assert_int_equal(status(c, 1), FX_PERMISSION_DENIED);
	assert_string_equal(c->msg, fk.deny);
	add_open(&p, 2, "f", FXF_READ);
	feed(c, &p);
	assert_int_equal(status(c, 2), FX_PERMISSION_DENIED);
	assert_string_equal(c->msg, fk.deny);
	send_path(c, FXP_OPENDIR, 3, "sub");
	assert_int_equal(status(c, 3), FX_PERMISSION_DENIED);
	fk.deny = "no such file in [files] paths";
	send_path(c, FXP_STAT, 4, "f");
	assert_int_equal(status(c, 4), FX_NO_SUCH_FILE);
	assert_string_equal(c->msg, fk.deny);
	fk.deny = NULL;

	send_path(c, FXP_OPENDIR, 5, "f");
	assert_int_equal(status(c, 5), FX_FAILURE);
	send_path(c, FXP_OPENDIR, 6, "nothing");
	assert_int_equal(status(c, 6), FX_NO_SUCH_FILE);
	add_open(&p, 7, "sub", FXF_READ);
	feed(c, &p);
	assert_int_equal(status(c, 7), FX_PERMISSION_DENIED);
	no_reply(c);
}

static void
t_lost_monitor(void **state)
{
	struct ctx	*c = *state;
	struct pkt	 p = { 0 };

	init(c);
	fk.lost = 1;
	req(&p, FXP_STAT, 1);
	put_cstr(&p, "f");
	req_end(&p);
	assert_int_equal(sftp_input(c->s, p.b, p.len), -1);
	assert_int_equal(sftp_input(c->s, p.b, p.len), -1);
	free(p.b);
}

static int
exists(const char *name)
{
	char		 path[256];
	struct stat	 st;

	snprintf(path, sizeof(path), "%s/%s", home, name);
	return lstat(path, &st) == 0;
}

static void
expect_refused(struct ctx *c, uint32_t id, const char *op, const char *name)
{
	char	 want[256];

	assert_int_equal(status(c, id), FX_PERMISSION_DENIED);
	assert_true(fk.nrefused > 0);
	assert_string_equal(fk.op[fk.nrefused - 1], op);
	snprintf(want, sizeof(want), "%s/%s", home, name);
	assert_string_equal(fk.path[fk.nrefused - 1], want);
}

/* Everything that would write is refused, audited, and not done. */
static void
t_write_ops_refused(void **state)
{
	struct ctx	*c = *state;
	struct pkt	 p = { 0 }, r;
	struct hdl	 h;
	char		 want[256], big[1300];
	size_t		 i;

	init(c);
	open_read(c, 1, "f", &h);
	req(&p, FXP_WRITE, 2);
	put_str(&p, h.b, h.len);
	put_u64(&p, 0);
	put_cstr(&p, "HACKED");
	req_end(&p);
	feed(c, &p);
	expect_refused(c, 2, "write", "f");

	send_path(c, FXP_REMOVE, 3, "sub/../f");
	expect_refused(c, 3, "remove", "f");
	req(&p, FXP_RENAME, 4);
	put_cstr(&p, "f");
	put_cstr(&p, "g");
	req_end(&p);
	feed(c, &p);
	expect_refused(c, 4, "rename", "f");
	req(&p, FXP_MKDIR, 5);
	put_cstr(&p, "newdir");
	put_u32(&p, 0);
	req_end(&p);
	feed(c, &p);
	expect_refused(c, 5, "mkdir", "newdir");
	send_path(c, FXP_RMDIR, 6, "sub");
	expect_refused(c, 6, "rmdir", "sub");
	req(&p, FXP_SETSTAT, 7);
	put_cstr(&p, "f");
	put_u32(&p, 4);
	put_u32(&p, 0777);
	req_end(&p);
	feed(c, &p);
	expect_refused(c, 7, "setstat", "f");
	req(&p, FXP_FSETSTAT, 8);
	put_str(&p, h.b, h.len);
	put_u32(&p, 4);
	put_u32(&p, 0777);
	req_end(&p);
	feed(c, &p);
	expect_refused(c, 8, "fsetstat", "f");
	req(&p, FXP_SYMLINK, 9);		/* OpenSSH: target, then link */
	put_cstr(&p, "f");
	put_cstr(&p, "l");
	req_end(&p);
	feed(c, &p);
	expect_refused(c, 9, "symlink", "l");
	assert_int_equal(fk.nrefused, 8);
	/* A path no server path can spell is still refused and reported. */
	send_path(c, FXP_REMOVE, 11, "bad\xff\\name");
	assert_int_equal(status(c, 11), FX_PERMISSION_DENIED);
	assert_int_equal(fk.nrefused, 9);
	snprintf(want, sizeof(want), "%s/bad\\xff\\x5cname", home);
	assert_string_equal(fk.path[8], want);
	req(&p, FXP_OPEN, 12);
	put_cstr(&p, "new\xc0\xaf");
	put_u32(&p, FXF_WRITE | FXF_CREAT);
	put_u32(&p, 0);
	req_end(&p);
	feed(c, &p);
	assert_int_equal(status(c, 12), FX_PERMISSION_DENIED);
	assert_string_equal(fk.op[9], "open_write");
	snprintf(want, sizeof(want), "%s/new\\xc0\\xaf", home);
	assert_string_equal(fk.path[9], want);
	/* Too long to keep whole: cut between characters, not within. */
	memset(big, 0, sizeof(big));
	for (i = 0; i < 500; i++)	/* U+00E9: 1000 bytes, past home */
		memcpy(big + 2 * i, "\xc3\xa9", 2);
	send_path(c, FXP_REMOVE, 14, big);
	assert_int_equal(status(c, 14), FX_PERMISSION_DENIED);
	assert_int_equal(fk.nrefused, 11);
	snprintf(want, sizeof(want), "%s/\\xc3\\xa9\\xc3\\xa9", home);
	assert_memory_equal(fk.path[10], want, strlen(want));
	assert_true(strlen(fk.path[10]) > 900);
	assert_int_equal((strlen(fk.path[10]) - strlen(home) - 1) % 4, 0);
	/* Reading one fails, and the server goes on. */
	send_path(c, FXP_STAT, 13, "f\xff");
	assert_int_equal(status(c, 13), FX_FAILURE);

	assert_true(exists("f") && exists("sub"));
	assert_false(exists("g") || exists("newdir") || exists("l"));
	send_path(c, FXP_STAT, 10, "f");
	assert_int_equal(reply(c, &r), FXP_ATTRS);
	no_reply(c);
}

static void
t_open_write_refused(void **state)
{
	struct ctx	*c = *state;
	struct pkt	 p = { 0 };
	static const uint32_t flags[] = {
		FXF_WRITE, FXF_READ | FXF_WRITE, FXF_WRITE | FXF_CREAT,
		FXF_WRITE | FXF_CREAT | FXF_TRUNC, FXF_READ | FXF_TRUNC,
		FXF_WRITE | FXF_APPEND, FXF_READ | FXF_CREAT | FXF_EXCL,
		FXF_READ | 0x100,
	};
	size_t		 i;

	init(c);
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		add_open(&p, (uint32_t)i, i % 2 ? "new" : "f", flags[i]);
		feed(c, &p);
		expect_refused(c, (uint32_t)i, "open_write", i % 2 ? "new" :
		    "f");
	}
	assert_int_equal(fk.opens, 0);
	assert_false(exists("new"));
	add_open(&p, 50, "f", 0);
	feed(c, &p);
	assert_int_equal(status(c, 50), FX_FAILURE);
	assert_int_equal(fk.opens, 0);
	no_reply(c);
}

static void
t_unsupported(void **state)
{
	struct ctx	*c = *state;
	struct pkt	 p = { 0 };
	char		 got[ACCESS_PATH_MAX + 1];

	init(c);
	send_path(c, FXP_READLINK, 1, "f");
	assert_int_equal(status(c, 1), FX_OP_UNSUPPORTED);
	req(&p, FXP_EXTENDED, 2);
	put_cstr(&p, "limits@openssh.com");
	req_end(&p);
	feed(c, &p);
	assert_int_equal(status(c, 2), FX_OP_UNSUPPORTED);
	req(&p, 99, 3);
	req_end(&p);
	feed(c, &p);
	assert_int_equal(status(c, 3), FX_OP_UNSUPPORTED);
	req(&p, 0, 0xdeadbeef);
	put_cstr(&p, "anything");
	req_end(&p);
	feed(c, &p);
	assert_int_equal(status(c, 0xdeadbeef), FX_OP_UNSUPPORTED);
	assert_int_equal(fk.nrefused, 0);
	assert_string_equal(realpath_of(c, 4, ".", got, sizeof(got)), home);
	no_reply(c);
}

/* A length field out of bounds ends the conversation at once. */
static void
t_bad_length(void **state)
{
	struct ctx		*c = *state;
	static const unsigned char	 big[] = { 0, 4, 0, 1 };
	static const unsigned char	 zero[] = { 0, 0, 0, 0 };
	struct sftp		*s;

	init(c);
	assert_int_equal(sftp_input(c->s, big, sizeof(big)), -1);
	assert_non_null(s = sftp_new(&ops));
	sftp_free(c->s);
	c->s = s;
	init(c);
	assert_int_equal(sftp_input(c->s, zero, sizeof(zero)), -1);
}

/* The largest packet allowed is taken; its path is too long, though. */
static void
t_max_packet(void **state)
{
	struct ctx	*c = *state;
	struct pkt	 p = { 0 };
	char		*path;
	size_t		 n = SFTP_MAX_PACKET - 9;

	init(c);
	assert_non_null(path = malloc(n + 1));
	memset(path, 'a', n);
	path[n] = '\0';
	send_path(c, FXP_REALPATH, 1, path);
	free(path);
	assert_int_equal(status(c, 1), FX_FAILURE);
	n = SFTP_MAX_PACKET - 29;		/* what is left for data */
	req(&p, FXP_WRITE, 2);
	put_u32(&p, 8);
	put_u64(&p, 0);				/* a handle never given out */
	put_u64(&p, 0);				/* offset */
	put_u32(&p, (uint32_t)n);
	assert_non_null(p.b = realloc(p.b, p.len + n));
	memset(p.b + p.len, 'x', n);
	p.len += n;
	req_end(&p);
	assert_int_equal(p.len, 4 + SFTP_MAX_PACKET);
	feed(c, &p);
	assert_int_equal(status(c, 2), FX_FAILURE);	/* bad handle */
}

static void
expect_fatal(const unsigned char *pkt, size_t len)
{
	struct ctx	 c = { 0 };
	struct pkt	 p = { 0 };

	assert_non_null(c.s = sftp_new(&ops));
	init(&c);
	put(&p, pkt, len);
	assert_int_equal(sftp_input(c.s, p.b, p.len), -1);
	free(p.b);
	free(c.rx.b);
	sftp_free(c.s);
}

/* Fields that run past their packet end the conversation. */
static void
t_truncated(void **state)
{
	struct pkt	 p = { 0 };

	(void)state;
	req(&p, FXP_REALPATH, 1);		/* claims 100 bytes, has 1 */
	put_u32(&p, 100);
	put_u8(&p, '.');
	req_end(&p);
	expect_fatal(p.b, p.len);
	free(p.b);
	memset(&p, 0, sizeof(p));

	req(&p, FXP_OPEN, 2);			/* no pflags */
	put_cstr(&p, "f");
	req_end(&p);
	expect_fatal(p.b, p.len);
	free(p.b);
	memset(&p, 0, sizeof(p));

	req(&p, FXP_READ, 3);			/* no length */
	put_str(&p, "12345678", 8);
	put_u64(&p, 0);
	req_end(&p);
	expect_fatal(p.b, p.len);
	free(p.b);
	memset(&p, 0, sizeof(p));

	put_u32(&p, 3);				/* no room for the id */
	put_u8(&p, FXP_STAT);
	put_u8(&p, 0);
	put_u8(&p, 0);
	expect_fatal(p.b, p.len);
	free(p.b);
	memset(&p, 0, sizeof(p));

	req(&p, FXP_CLOSE, 4);			/* no handle at all */
	req_end(&p);
	expect_fatal(p.b, p.len);
	free(p.b);
}

/* Handles the server did not hand out, or no longer has, fail politely. */
static void
t_bad_handle(void **state)
{
	struct ctx	*c = *state;
	struct hdl	 h, d, bad;
	struct pkt	 p = { 0 };
	size_t		 i, n;
	unsigned char	 buf[64];

	init(c);
	open_read(c, 1, "f", &h);
	send_path(c, FXP_OPENDIR, 2, "sub");
	handle(c, 2, &d);

	bad = h;
	bad.len = 3;
	add_read(&p, 3, &bad, 0, 10);
	feed(c, &p);
	assert_int_equal(status(c, 3), FX_FAILURE);
	for (i = 0; i < h.len; i++) {
		bad = h;
		bad.b[i] ^= 0x40;
		add_read(&p, 4, &bad, 0, 10);
		feed(c, &p);
		assert_int_equal(status(c, 4), FX_FAILURE);
	}
	memset(bad.b, 0xff, sizeof(bad.b));
	bad.len = 200;
	send_handle(c, FXP_CLOSE, 5, &bad);
	assert_int_equal(status(c, 5), FX_FAILURE);

	add_read(&p, 6, &d, 0, 10);		/* a directory is not read */
	feed(c, &p);
	assert_int_equal(status(c, 6), FX_FAILURE);
	send_handle(c, FXP_READDIR, 7, &h);	/* nor a file listed */
	assert_int_equal(status(c, 7), FX_FAILURE);

	send_handle(c, FXP_CLOSE, 8, &h);
	assert_int_equal(status(c, 8), FX_OK);
	send_handle(c, FXP_CLOSE, 9, &h);	/* stale */
	assert_int_equal(status(c, 9), FX_FAILURE);
	add_read(&p, 10, &h, 0, 10);
	feed(c, &p);
	assert_int_equal(status(c, 10), FX_FAILURE);
	send_handle(c, FXP_FSTAT, 11, &h);
	assert_int_equal(status(c, 11), FX_FAILURE);
	assert_int_equal(fk.closes, 1);

	/* The slot comes back under a new name; the old one stays dead. */
	open_read(c, 12, "f", &bad);
	add_read(&p, 13, &h, 0, 10);
	feed(c, &p);
	assert_int_equal(status(c, 13), FX_FAILURE);
	add_read(&p, 14, &bad, 0, 10);
	feed(c, &p);
	read_data(c, 14, buf, sizeof(buf), &n);
	assert_int_equal(n, 10);
	no_reply(c);
}

static void
t_too_many_handles(void **state)
{
	struct ctx	*c = *state;
	struct hdl	 h[SFTP_MAX_HANDLES], extra;
	struct pkt	 p = { 0 };
	uint32_t	 i;

	init(c);
	for (i = 0; i < SFTP_MAX_HANDLES; i++) {
		if (i % 2)
			open_read(c, i, "f", &h[i]);
		else {
			send_path(c, FXP_OPENDIR, i, "sub");
			handle(c, i, &h[i]);
		}
	}
	add_open(&p, 100, "f", FXF_READ);
	feed(c, &p);
	assert_int_equal(status(c, 100), FX_FAILURE);
	send_path(c, FXP_OPENDIR, 101, "sub");
	assert_int_equal(status(c, 101), FX_FAILURE);
	assert_int_equal(fk.opens, SFTP_MAX_HANDLES / 2);

	send_handle(c, FXP_CLOSE, 102, &h[5]);
	assert_int_equal(status(c, 102), FX_OK);
	open_read(c, 103, "big", &extra);
	add_open(&p, 104, "f", FXF_READ);
	feed(c, &p);
	assert_int_equal(status(c, 104), FX_FAILURE);
	no_reply(c);
}

/*
 * READs whose replies far exceed SFTP_OUT_HIGH, offered at once: the
 * server stops taking input while the backlog is high, takes the rest
 * once the client has drained it, and every reply arrives in order.
 */
static void
t_backpressure(void **state)
{
	struct ctx	*c = *state;
	struct hdl	 h;
	struct pkt	 p = { 0 }, r;
	char		 path[256];
	const void	*o;
	size_t		 off = 0, n, len;
	ssize_t		 used;
	uint32_t	 id, nreq = 4 * SFTP_OUT_HIGH / SFTP_MAX_READ;
	int		 fd, stalls = 0;

	snprintf(path, sizeof(path), "%s/huge", home);
	assert_true((fd = open(path, O_WRONLY | O_CREAT, 0644)) >= 0);
	assert_int_equal(ftruncate(fd, 8 * SFTP_OUT_HIGH), 0);
	close(fd);
	init(c);
	open_read(c, 1, "huge", &h);
	for (id = 0; id < nreq; id++)
		add_read(&p, 1000 + id, &h, (uint64_t)id * SFTP_MAX_READ,
		    SFTP_MAX_READ);

	id = 0;
	while (off < p.len) {
		used = sftp_input(c->s, p.b + off, p.len - off);
		assert_true(used >= 0);
		off += (size_t)used;
		o = sftp_output(c->s, &n);
		assert_true(n <= SFTP_OUT_HIGH + SFTP_MAX_READ + 13);
		if (off == p.len)
			break;
		/* Stalled: nothing more is taken until the client reads. */
		assert_true(n > SFTP_OUT_HIGH);
		assert_int_equal(sftp_input(c->s, p.b + off, p.len - off), 0);
		stalls++;
		for (; c->rx.pos < c->rx.len || sftp_output(c->s, &n); id++) {
			assert_int_equal(reply(c, &r), FXP_DATA);
			assert_int_equal(get_u32(&r), 1000 + id);
			(void)get_str(&r, &len);
			assert_int_equal(len, SFTP_MAX_READ);
		}
	}
	(void)o;
	for (; id < nreq; id++) {
		assert_int_equal(reply(c, &r), FXP_DATA);
		assert_int_equal(get_u32(&r), 1000 + id);
	}
	assert_true(stalls >= 3);
	free(p.b);
	no_reply(c);
}

/*
 * A client that takes its output a little at a time, between requests,
 * still gets every reply whole and in order.
 */
static void
t_partial_output(void **state)
{
	struct ctx	*c = *state;
	unsigned char	 buf[32768];
	struct hdl	 h;
	struct pkt	 p = { 0 };
	const void	*o;
	size_t		 n, i, k;

	init(c);
	open_read(c, 1, "big", &h);
	for (k = 0; k < 3; k++) {
		add_read(&p, 10 + (uint32_t)k, &h, k * 32768, 32768);
		feed(c, &p);
		/* Leave the last 1000 bytes in the server. */
		assert_non_null(o = sftp_output(c->s, &n));
		assert_true(n > 1000);
		n -= 1000;
		put(&c->rx, o, n);
		sftp_output_consume(c->s, n);
	}
	add_read(&p, 13, &h, BIG_SIZE, 32768);
	feed(c, &p);
	for (k = 0; k < 3; k++) {
		read_data(c, 10 + (uint32_t)k, buf, sizeof(buf), &n);
		assert_int_equal(n, 32768);
		for (i = 0; i < n; i++)
			assert_int_equal(buf[i], big_byte(k * 32768 + i));
	}
	assert_int_equal(status(c, 13), FX_EOF);
	no_reply(c);
}

/* Freeing the server closes what the engineer left open, and says so. */
static void
t_free_closes(void **state)
{
	struct ctx	*c = *state;
	struct hdl	 h[3], d;
	struct pkt	 p = { 0 };
	unsigned char	 buf[64];
	size_t		 n;
	unsigned int	 seen = 0;
	int		 i, fds[3];

	init(c);
	open_read(c, 1, "f", &h[0]);
	open_read(c, 2, "big", &h[1]);
	open_read(c, 3, "f", &h[2]);
	send_path(c, FXP_OPENDIR, 4, "sub");
	handle(c, 4, &d);
	add_read(&p, 5, &h[1], 0, 40);
	feed(c, &p);
	read_data(c, 5, buf, sizeof(buf), &n);
	assert_int_equal(n, 40);
	for (i = 0; i < 3; i++)
		fds[i] = fk.fds[i];

	sftp_free(c->s);
	c->s = NULL;
	assert_int_equal(fk.closes, 3);
	for (i = 0; i < 3; i++) {
		seen |= 1u << fk.closed[i];
		/* Handle 2 is "big", the one read from. */
		assert_int_equal(fk.bytes[i], fk.closed[i] == 2 ? 40 : 0);
		assert_int_equal(fcntl(fds[i], F_GETFD), -1);
		assert_int_equal(errno, EBADF);
	}
	assert_int_equal(seen, 1u << 1 | 1u << 2 | 1u << 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, \
		    &whole)
#define TB(f)	cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, \
		    &bytewise)
		T(t_init), TB(t_init),
		T(t_init_first),
		T(t_realpath), TB(t_realpath),
		T(t_bad_path),
		T(t_read_file), TB(t_read_file),
		T(t_pipelined_reads), TB(t_pipelined_reads),
		T(t_readdir), TB(t_readdir),
		T(t_readdir_types),
		T(t_stat),
		T(t_refusals),
		T(t_lost_monitor),
		T(t_write_ops_refused), TB(t_write_ops_refused),
		T(t_open_write_refused),
		T(t_unsupported), TB(t_unsupported),
		T(t_bad_length),
		T(t_max_packet),
		T(t_truncated),
		T(t_bad_handle),
		T(t_too_many_handles),
		T(t_backpressure),
		T(t_partial_output),
		T(t_free_closes),
#undef T
#undef TB
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
