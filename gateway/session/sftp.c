/*
 * sftp.c - a read-only SFTP version 3 server (draft-ietf-secsh-filexfer-02)
 * that is handed bytes and hands bytes back.
 *
 * Input is collected one packet at a time into a fixed buffer, so a
 * packet may arrive split at any byte and many packets may arrive in one
 * call.  Each complete request is answered at once into the output
 * buffer; when that backlog passes SFTP_OUT_HIGH no more input is taken,
 * which is how a slow engineer slows down a fast pipeline of READs.
 *
 * The server holds no authority: paths are normalised here but every
 * decision is the monitor's, through the access_ops table.  Handles are
 * slots in a fixed table, named to the client by slot and generation so
 * that a stale or forged handle is recognised and answered FAILURE.
 */
#include "gateway/session/sftp.h"

#include <sys/stat.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/parse.h"

/* Packet types. */
#define SSH_FXP_INIT		1
#define SSH_FXP_VERSION		2
#define SSH_FXP_OPEN		3
#define SSH_FXP_CLOSE		4
#define SSH_FXP_READ		5
#define SSH_FXP_WRITE		6
#define SSH_FXP_LSTAT		7
#define SSH_FXP_FSTAT		8
#define SSH_FXP_SETSTAT		9
#define SSH_FXP_FSETSTAT	10
#define SSH_FXP_OPENDIR		11
#define SSH_FXP_READDIR		12
#define SSH_FXP_REMOVE		13
#define SSH_FXP_MKDIR		14
#define SSH_FXP_RMDIR		15
#define SSH_FXP_REALPATH	16
#define SSH_FXP_STAT		17
#define SSH_FXP_RENAME		18
#define SSH_FXP_SYMLINK		20
#define SSH_FXP_STATUS		101
#define SSH_FXP_HANDLE		102
#define SSH_FXP_DATA		103
#define SSH_FXP_NAME		104
#define SSH_FXP_ATTRS		105

/* Status codes. */
#define SSH_FX_OK			0
#define SSH_FX_EOF			1
#define SSH_FX_NO_SUCH_FILE		2
#define SSH_FX_PERMISSION_DENIED	3
#define SSH_FX_FAILURE			4
#define SSH_FX_OP_UNSUPPORTED		8

#define SSH_FXF_READ		0x00000001

#define SSH_FILEXFER_ATTR_SIZE		0x00000001
#define SSH_FILEXFER_ATTR_UIDGID	0x00000002
#define SSH_FILEXFER_ATTR_PERMISSIONS	0x00000004
#define SSH_FILEXFER_ATTR_ACMODTIME	0x00000008

#define SFTP_VERSION		3
/*
 * Entries in one NAME reply.  64 of the longest make some 44 KB, less
 * than a DATA reply and far below the 256 KiB OpenSSH's client takes.
 */
#define SFTP_DIR_BATCH		64
#define SFTP_HANDLE_LEN		8	/* slot and generation, big-endian */
#define SFTP_DATA_HDR		13	/* length, type, id, data length */
#define SFTP_LONGNAME_MAX	(ACCESS_NAME_MAX + 128)

#define nitems(a)		(sizeof(a) / sizeof((a)[0]))

enum sftp_state {
	SFTP_WAIT_INIT,		/* nothing but INIT is accepted */
	SFTP_READY,		/* requests are served */
	SFTP_FAILED		/* protocol error or lost monitor: no more */
};

enum sftp_kind {
	SFTP_H_FREE = 0,	/* slot unused */
	SFTP_H_FILE,		/* a file from ops->open_file */
	SFTP_H_DIR,		/* a directory being listed */
	SFTP_H_ANY		/* handle_find: either of the two above */
};

/* One open file or directory. */
struct sftp_handle {
	enum sftp_kind		 kind;
	uint32_t		 gen;		/* in the handle string */
	int			 fd;		/* files: readable with pread */
	uint32_t		 audit;		/* files: open_file's handle */
	uint64_t		 sent;		/* files: bytes sent as DATA */
	uint32_t		 cookie;	/* dirs: where list_dir is */
	int			 eof;		/* directories: nothing more */
	struct access_attr	 attr;		/* as it was at open */
	char			 path[ACCESS_PATH_MAX + 1];
};

/* The server for one "sftp" subsystem channel. */
struct sftp {
	const struct access_ops	*ops;
	enum sftp_state		 state;
	uint32_t		 gen;		/* last generation handed out */
	struct sftp_handle	 h[SFTP_MAX_HANDLES];

	unsigned char		*in;		/* length and one packet */
	size_t			 inlen;
	uint32_t		 plen;		/* the packet's length field */

	unsigned char		*out;		/* replies not yet taken */
	size_t			 outoff;	/* first byte not yet taken */
	size_t			 outlen;
	size_t			 outcap;
	int			 outerr;	/* an allocation failed */

	struct access_dirent	 ents[SFTP_DIR_BATCH];
};

/* What is left of a request being parsed. */
struct sftp_msg {
	const unsigned char	*p;
	size_t			 left;
};

/*
 * A request type and the function that answers it: 0 once the reply is
 * queued, -1 when the conversation must end.
 */
struct sftp_handler {
	uint8_t		 type;
	const char	*name;		/* the op reported to ops->refused */
	int		(*fn)(struct sftp *, uint32_t, struct sftp_msg *,
			    const char *);
};

static uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
set_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static int
msg_u32(struct sftp_msg *m, uint32_t *v)
{
	if (m->left < 4)
		return -1;
	*v = get_u32(m->p);
	m->p += 4;
	m->left -= 4;
	return 0;
}

static int
msg_u64(struct sftp_msg *m, uint64_t *v)
{
	uint32_t	 hi, lo;

	if (msg_u32(m, &hi) == -1 || msg_u32(m, &lo) == -1)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

/* A string must lie wholly within the packet; it is not copied. */
static int
msg_string(struct sftp_msg *m, const unsigned char **s, size_t *len)
{
	uint32_t	 n;

	if (msg_u32(m, &n) == -1 || n > m->left)
		return -1;
	*s = m->p;
	*len = n;
	m->p += n;
	m->left -= n;
	return 0;
}

/*
 * Make room for n more bytes of output.  Replies are bounded and input
 * stops above SFTP_OUT_HIGH, so the buffer stays bounded too.  A failed
 * allocation sticks until out_end reports it, which keeps the reply
 * builders free of a check after every field.
 */
static int
out_reserve(struct sftp *s, size_t n)
{
	unsigned char	*p;
	size_t		 cap;

	if (s->outerr)
		return -1;
	if (n <= s->outcap - s->outlen)
		return 0;
	cap = s->outcap == 0 ? 4096 : s->outcap;
	while (cap - s->outlen < n)
		cap *= 2;
	if ((p = realloc(s->out, cap)) == NULL) {
		s->outerr = 1;
		return -1;
	}
	s->out = p;
	s->outcap = cap;
	return 0;
}

static void
out_put(struct sftp *s, const void *p, size_t n)
{
	if (n == 0 || out_reserve(s, n) == -1)
		return;
	memcpy(s->out + s->outlen, p, n);
	s->outlen += n;
}

static void
out_u8(struct sftp *s, uint8_t v)
{
	out_put(s, &v, 1);
}

static void
out_u32(struct sftp *s, uint32_t v)
{
	unsigned char	 b[4];

	set_u32(b, v);
	out_put(s, b, sizeof(b));
}

static void
out_u64(struct sftp *s, uint64_t v)
{
	out_u32(s, (uint32_t)(v >> 32));
	out_u32(s, (uint32_t)v);
}

static void
out_string(struct sftp *s, const void *p, size_t n)
{
	out_u32(s, (uint32_t)n);
	out_put(s, p, n);
}

static void
out_cstring(struct sftp *s, const char *str)
{
	out_string(s, str, strlen(str));
}

/* Start a packet; returns where it starts, for out_end. */
static size_t
out_begin(struct sftp *s, uint8_t type)
{
	size_t	 start = s->outlen;

	out_u32(s, 0);			/* the length, filled in by out_end */
	out_u8(s, type);
	return start;
}

static size_t
out_reply(struct sftp *s, uint8_t type, uint32_t id)
{
	size_t	 start = out_begin(s, type);

	out_u32(s, id);
	return start;
}

static int
out_end(struct sftp *s, size_t start)
{
	if (s->outerr)
		return -1;
	set_u32(s->out + start, (uint32_t)(s->outlen - start - 4));
	return 0;
}

static void
out_attr(struct sftp *s, const struct access_attr *a)
{
	out_u32(s, SSH_FILEXFER_ATTR_SIZE | SSH_FILEXFER_ATTR_UIDGID |
	    SSH_FILEXFER_ATTR_PERMISSIONS | SSH_FILEXFER_ATTR_ACMODTIME);
	out_u64(s, a->size);
	out_u32(s, a->uid);
	out_u32(s, a->gid);
	out_u32(s, a->mode);
	out_u32(s, a->atime);
	out_u32(s, a->mtime);
}

/*
 * Once the head of the buffer has been taken, move the rest down.  Only
 * done between requests, never while a reply is being built, and only
 * when at least half is taken so the copying stays linear.
 */
static void
out_compact(struct sftp *s)
{
	size_t	 n = s->outlen - s->outoff;

	if (s->outoff == 0 || s->outoff < n)
		return;
	memmove(s->out, s->out + s->outoff, n);
	s->outlen = n;
	s->outoff = 0;
}

static int
sftp_status(struct sftp *s, uint32_t id, uint32_t code, const char *msg)
{
	size_t	 start = out_reply(s, SSH_FXP_STATUS, id);

	out_u32(s, code);
	out_cstring(s, msg);
	out_cstring(s, "");		/* language tag */
	return out_end(s, start);
}

/*
 * An operation did not answer 1.  Its 0 is a refusal the engineer is
 * told about, using the monitor's words; anything else means the
 * monitor is gone and the server must end.
 */
static int
sftp_op_failed(struct sftp *s, uint32_t id, int r, char *why)
{
	uint32_t	 code = SSH_FX_PERMISSION_DENIED;

	if (r != 0)
		return -1;
	why[ACCESS_WHY_MAX - 1] = '\0';
	if (strncasecmp(why, "no such", 7) == 0)
		code = SSH_FX_NO_SUCH_FILE;
	return sftp_status(s, id, code, why[0] != '\0' ? why :
	    "permission denied");
}

/*
 * The request helpers from here on return, like the access_ops, 1 to go
 * on, 0 when they have answered the request themselves and -1 when the
 * conversation must end.
 *
 * Normalise a path from the client against home.  A path that is too
 * long, holds a NUL or cannot be normalised is a request the client may
 * get wrong without ending the session, so it is answered here (0).
 */
static int
path_resolve(struct sftp *s, uint32_t id, const unsigned char *p,
    size_t len, char *path)
{
	char	 raw[ACCESS_PATH_MAX + 1];

	if (len > ACCESS_PATH_MAX)
		return sftp_status(s, id, SSH_FX_FAILURE, "path too long");
	if (memchr(p, '\0', len) != NULL)
		return sftp_status(s, id, SSH_FX_FAILURE, "invalid path");
	memcpy(raw, p, len);
	raw[len] = '\0';
	if (access_normalize(s->ops->home, raw, path,
	    ACCESS_PATH_MAX + 1) == -1)
		return sftp_status(s, id, SSH_FX_FAILURE, "invalid path");
	return 1;
}

/* The common case: a request whose first field is a path. */
static int
msg_path(struct sftp *s, uint32_t id, struct sftp_msg *m, char *path)
{
	const unsigned char	*p;
	size_t			 len;

	if (msg_string(m, &p, &len) == -1)
		return -1;
	return path_resolve(s, id, p, len, path);
}

static struct sftp_handle *
handle_new(struct sftp *s)
{
	size_t	 i;

	for (i = 0; i < nitems(s->h); i++)
		if (s->h[i].kind == SFTP_H_FREE)
			return &s->h[i];
	return NULL;
}

/*
 * The handle a request names, if it is one this server handed out, is
 * still open and is of the kind the request needs; NULL otherwise.
 */
static struct sftp_handle *
handle_find(struct sftp *s, const unsigned char *p, size_t len,
    enum sftp_kind kind)
{
	struct sftp_handle	*h;
	uint32_t		 slot;

	if (len != SFTP_HANDLE_LEN)
		return NULL;
	if ((slot = get_u32(p)) >= nitems(s->h))
		return NULL;
	h = &s->h[slot];
	if (h->kind == SFTP_H_FREE || h->gen != get_u32(p + 4))
		return NULL;
	if (kind != SFTP_H_ANY && h->kind != kind)
		return NULL;
	return h;
}

/* Give the slot out under a new generation and tell the client. */
static int
handle_reply(struct sftp *s, uint32_t id, struct sftp_handle *h,
    enum sftp_kind kind, const char *path)
{
	unsigned char	 name[SFTP_HANDLE_LEN];
	size_t		 start;

	if (++s->gen == 0)
		s->gen = 1;
	h->kind = kind;
	h->gen = s->gen;
	h->sent = 0;
	h->cookie = 0;
	h->eof = 0;
	snprintf(h->path, sizeof(h->path), "%s", path);
	set_u32(name, (uint32_t)(h - s->h));
	set_u32(name + 4, h->gen);
	start = out_reply(s, SSH_FXP_HANDLE, id);
	out_string(s, name, sizeof(name));
	return out_end(s, start);
}

/* Free a slot; for a file, tell the monitor how much was sent. */
static int
handle_close(struct sftp *s, struct sftp_handle *h)
{
	int	 r = 1;

	if (h->kind == SFTP_H_FILE) {
		(void)close(h->fd);
		r = s->ops->close_file(s->ops->arg, h->audit, h->sent);
	}
	h->kind = SFTP_H_FREE;
	h->fd = -1;
	return r;
}

/* A request naming a handle first, answered FAILURE when it is bad. */
static int
msg_handle(struct sftp *s, uint32_t id, struct sftp_msg *m,
    enum sftp_kind kind, struct sftp_handle **hp)
{
	const unsigned char	*p;
	size_t			 len;

	if (msg_string(m, &p, &len) == -1)
		return -1;
	if ((*hp = handle_find(s, p, len, kind)) == NULL)
		return sftp_status(s, id, SSH_FX_FAILURE, "invalid handle");
	return 1;
}

/* "drwxr-x---" from st_mode bits. */
static void
mode_string(uint32_t mode, char str[11])
{
	static const struct {
		uint32_t	 type;
		char		 c;
	} types[] = {
		{ S_IFDIR, 'd' }, { S_IFLNK, 'l' }, { S_IFCHR, 'c' },
		{ S_IFBLK, 'b' }, { S_IFIFO, 'p' }, { S_IFSOCK, 's' },
	};
	static const char	 rwx[] = "rwxrwxrwx";
	size_t			 i;

	str[0] = '-';
	for (i = 0; i < nitems(types); i++)
		if ((mode & S_IFMT) == types[i].type)
			str[0] = types[i].c;
	for (i = 0; i < 9; i++)
		str[1 + i] = (mode & (0400u >> i)) ? rwx[i] : '-';
	if (mode & S_ISUID)
		str[3] = str[3] == 'x' ? 's' : 'S';
	if (mode & S_ISGID)
		str[6] = str[6] == 'x' ? 's' : 'S';
	if (mode & S_ISVTX)
		str[9] = str[9] == 'x' ? 't' : 'T';
	str[10] = '\0';
}

/*
 * "2026-11-18 09:30" in UTC, computed by hand: gmtime() may read the
 * time zone database on first use, and the sandbox allows no opens.
 * The civil-from-days conversion counts 400-year eras from 0000-03-01.
 */
static void
date_string(uint32_t t, char *str, size_t size)
{
	uint32_t	 z, era, doe, yoe, doy, mp, d, m, y, sec;

	z = t / 86400 + 719468;
	sec = t % 86400;
	era = z / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (m <= 2);
	snprintf(str, size, "%04u-%02u-%02u %02u:%02u", y, m, d,
	    sec / 3600, sec / 60 % 60);
}

/*
 * The "ls -l" line the client prints for "ls -l".  Owners are numbers:
 * the sandbox has no passwd database, and the client can show names
 * itself only when it asks for numbers anyway.
 */
static void
longname(const struct access_attr *a, const char *name, size_t nlen,
    char *buf, size_t size)
{
	char	 mode[11], date[32];

	mode_string(a->mode, mode);
	date_string(a->mtime, date, sizeof(date));
	snprintf(buf, size, "%s %3u %-8u %-8u %8llu %s %.*s", mode,
	    a->nlink != 0 ? a->nlink : 1, a->uid, a->gid,
	    (unsigned long long)a->size, date, (int)nlen, name);
}

static int
sftp_names(struct sftp *s, uint32_t id, size_t n)
{
	char		 line[SFTP_LONGNAME_MAX];
	const char	*name;
	size_t		 i, nlen, start;

	start = out_reply(s, SSH_FXP_NAME, id);
	out_u32(s, (uint32_t)n);
	for (i = 0; i < n; i++) {
		name = s->ents[i].name;
		nlen = strnlen(name, ACCESS_NAME_MAX);
		longname(&s->ents[i].attr, name, nlen, line, sizeof(line));
		out_string(s, name, nlen);
		out_cstring(s, line);
		out_attr(s, &s->ents[i].attr);
	}
	return out_end(s, start);
}

static int
sftp_attrs(struct sftp *s, uint32_t id, const struct access_attr *a)
{
	size_t	 start = out_reply(s, SSH_FXP_ATTRS, id);

	out_attr(s, a);
	return out_end(s, start);
}

/*
 * A request that would change something.  The monitor hears of it so
 * the attempt is audited; the engineer is told the access is read-only.
 */
static int
sftp_refuse(struct sftp *s, uint32_t id, const char *op, const char *path)
{
	int	 r;

	r = s->ops->refused(s->ops->arg, op, path);
	if (r != 0 && r != 1)
		return -1;
	return sftp_status(s, id, SSH_FX_PERMISSION_DENIED,
	    "read-only access");
}

/*
 * A change is refused and audited whatever its path: one that no path
 * of this server can spell (too long, not UTF-8, a NUL) is reported
 * with its bytes as sent, made printable.
 */
static int
sftp_refuse_bytes(struct sftp *s, uint32_t id, const char *op,
    const unsigned char *p, size_t len)
{
	char	 raw[ACCESS_PATH_MAX + 1], path[ACCESS_PATH_MAX + 1];
	size_t	 i, o = 0, room = ACCESS_PATH_MAX;
	int	 printable;

	/* Room for the home directory in front of a relative path. */
	if (len > 0 && p[0] != '/' && s->ops->home != NULL)
		room -= strnlen(s->ops->home, ACCESS_PATH_MAX - 1) + 1;
	/* Kept as it is only whole: a cut could split a character. */
	printable = len <= room && parse_utf8((const char *)p, len);
	for (i = 0; i < len && printable; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			printable = 0;
	for (i = 0; i < len && o < room; i++) {
		if (printable || (p[i] >= 0x20 && p[i] < 0x7f &&
		    p[i] != '\\'))
			raw[o++] = (char)p[i];
		else if (o + 4 <= room)
			o += (size_t)snprintf(raw + o, 5, "\\x%02x", p[i]);
		else
			break;
	}
	raw[o] = '\0';
	if (access_normalize(s->ops->home, raw, path, sizeof(path)) == -1)
		snprintf(path, sizeof(path), "/");	/* only if home is unusable */
	return sftp_refuse(s, id, op, path);
}

static int
fxp_refuse_path(struct sftp *s, uint32_t id, struct sftp_msg *m,
    const char *op)
{
	const unsigned char	*p;
	size_t			 len;

	/* RENAME: the path reported is the one that would go away. */
	if (msg_string(m, &p, &len) == -1)
		return -1;
	return sftp_refuse_bytes(s, id, op, p, len);
}

/*
 * OpenSSH sends SYMLINK's paths the other way round from the draft,
 * target first (its PROTOCOL file, section 4.1), and every server
 * follows it; the second is the link that would be created.
 */
static int
fxp_refuse_symlink(struct sftp *s, uint32_t id, struct sftp_msg *m,
    const char *op)
{
	const unsigned char	*p;
	size_t			 len;

	if (msg_string(m, &p, &len) == -1 || msg_string(m, &p, &len) == -1)
		return -1;
	return sftp_refuse_bytes(s, id, op, p, len);
}

static int
fxp_refuse_handle(struct sftp *s, uint32_t id, struct sftp_msg *m,
    const char *op)
{
	struct sftp_handle	*h;
	int			 r;

	if ((r = msg_handle(s, id, m, SFTP_H_ANY, &h)) != 1)
		return r;
	return sftp_refuse(s, id, op, h->path);
}

static int
fxp_realpath(struct sftp *s, uint32_t id, struct sftp_msg *m,
    const char *op)
{
	char	 path[ACCESS_PATH_MAX + 1];
	size_t	 start;
	int	 r;

	if ((r = msg_path(s, id, m, path)) != 1)
		return r;
	start = out_reply(s, SSH_FXP_NAME, id);
	out_u32(s, 1);
	out_cstring(s, path);
	out_cstring(s, path);
	out_u32(s, 0);			/* no attributes */
	return out_end(s, start);
}

/*
 * Only a plain read is served.  Any other flag asks to write, create,
 * truncate or append (or means something this server does not know),
 * so it is refused and audited as a write; the attributes that follow
 * the flags only matter when creating and are not read.
 */
static int
fxp_open(struct sftp *s, uint32_t id, struct sftp_msg *m, const char *op)
{
	char			 path[ACCESS_PATH_MAX + 1], why[ACCESS_WHY_MAX];
	const unsigned char	*p;
	struct sftp_handle	*h;
	uint32_t		 pflags;
	size_t			 len;
	int			 r, fd = -1;

	if (msg_string(m, &p, &len) == -1 || msg_u32(m, &pflags) == -1)
		return -1;
	if ((pflags & ~(uint32_t)SSH_FXF_READ) != 0)
		return sftp_refuse_bytes(s, id, "open_write", p, len);
	if ((r = path_resolve(s, id, p, len, path)) != 1)
		return r;
	if (pflags == 0)
		return sftp_status(s, id, SSH_FX_FAILURE, "no access mode");
	if ((h = handle_new(s)) == NULL)
		return sftp_status(s, id, SSH_FX_FAILURE, "too many handles");
	why[0] = '\0';
	r = s->ops->open_file(s->ops->arg, path, &fd, &h->audit, &h->attr,
	    why, sizeof(why));
	if (r != 1)
		return sftp_op_failed(s, id, r, why);
	if (fd < 0)
		return -1;
	h->fd = fd;
	return handle_reply(s, id, h, SFTP_H_FILE, path);
}

static int
fxp_close(struct sftp *s, uint32_t id, struct sftp_msg *m, const char *op)
{
	struct sftp_handle	*h;
	int			 r;

	if ((r = msg_handle(s, id, m, SFTP_H_ANY, &h)) != 1)
		return r;
	if ((r = handle_close(s, h)) == 0)
		return sftp_status(s, id, SSH_FX_PERMISSION_DENIED,
		    "close refused");
	if (r != 1)
		return -1;
	return sftp_status(s, id, SSH_FX_OK, "");
}

/*
 * pread() goes straight into the output buffer, behind the room left
 * for the DATA header, so a READ costs no extra copy.  The header is
 * written afterwards into exactly that room.
 */
static int
read_data(struct sftp *s, uint32_t id, struct sftp_handle *h, off_t off,
    size_t len)
{
	ssize_t	 n;
	size_t	 start;

	if (out_reserve(s, SFTP_DATA_HDR + len) == -1)
		return -1;
	do
		n = pread(h->fd, s->out + s->outlen + SFTP_DATA_HDR, len, off);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return sftp_status(s, id, SSH_FX_FAILURE, "read failed");
	if (n == 0 && len > 0)
		return sftp_status(s, id, SSH_FX_EOF, "end of file");
	start = out_reply(s, SSH_FXP_DATA, id);
	out_u32(s, (uint32_t)n);
	s->outlen += (size_t)n;
	h->sent += (uint64_t)n;
	return out_end(s, start);
}

static int
fxp_read(struct sftp *s, uint32_t id, struct sftp_msg *m, const char *op)
{
	const unsigned char	*p;
	struct sftp_handle	*h;
	uint64_t		 off;
	uint32_t		 len;
	size_t			 plen;

	if (msg_string(m, &p, &plen) == -1 || msg_u64(m, &off) == -1 ||
	    msg_u32(m, &len) == -1)
		return -1;
	if ((h = handle_find(s, p, plen, SFTP_H_FILE)) == NULL)
		return sftp_status(s, id, SSH_FX_FAILURE, "invalid handle");
	/* No file reaches past the largest off_t. */
	if (off > INT64_MAX)
		return sftp_status(s, id, SSH_FX_EOF, "end of file");
	if (len > SFTP_MAX_READ)
		len = SFTP_MAX_READ;
	return read_data(s, id, h, (off_t)off, len);
}

static int
fxp_stat(struct sftp *s, uint32_t id, struct sftp_msg *m, const char *op)
{
	char			 path[ACCESS_PATH_MAX + 1], why[ACCESS_WHY_MAX];
	struct access_attr	 a;
	int			 r;

	/* LSTAT is STAT: the monitor refuses symbolic links either way. */
	if ((r = msg_path(s, id, m, path)) != 1)
		return r;
	why[0] = '\0';
	r = s->ops->stat(s->ops->arg, path, &a, why, sizeof(why));
	if (r != 1)
		return sftp_op_failed(s, id, r, why);
	return sftp_attrs(s, id, &a);
}

static int
fxp_fstat(struct sftp *s, uint32_t id, struct sftp_msg *m, const char *op)
{
	struct sftp_handle	*h;
	int			 r;

	if ((r = msg_handle(s, id, m, SFTP_H_ANY, &h)) != 1)
		return r;
	return sftp_attrs(s, id, &h->attr);
}

static int
fxp_opendir(struct sftp *s, uint32_t id, struct sftp_msg *m,
    const char *op)
{
	char			 path[ACCESS_PATH_MAX + 1], why[ACCESS_WHY_MAX];
	struct sftp_handle	*h;
	int			 r;

	if ((r = msg_path(s, id, m, path)) != 1)
		return r;
	if ((h = handle_new(s)) == NULL)
		return sftp_status(s, id, SSH_FX_FAILURE, "too many handles");
	why[0] = '\0';
	r = s->ops->stat(s->ops->arg, path, &h->attr, why, sizeof(why));
	if (r != 1)
		return sftp_op_failed(s, id, r, why);
	if (!S_ISDIR(h->attr.mode))
		return sftp_status(s, id, SSH_FX_FAILURE, "not a directory");
	return handle_reply(s, id, h, SFTP_H_DIR, path);
}

/*
 * One batch of entries per READDIR, then EOF.  A batch of none is taken
 * as the end too, so a monitor that never says eof cannot keep the
 * client asking for ever.
 */
static int
fxp_readdir(struct sftp *s, uint32_t id, struct sftp_msg *m,
    const char *op)
{
	char			 why[ACCESS_WHY_MAX];
	struct sftp_handle	*h;
	size_t			 n = 0;
	int			 r, eof = 0;

	if ((r = msg_handle(s, id, m, SFTP_H_DIR, &h)) != 1)
		return r;
	if (h->eof)
		return sftp_status(s, id, SSH_FX_EOF, "end of directory");
	why[0] = '\0';
	r = s->ops->list_dir(s->ops->arg, h->path, &h->cookie, s->ents,
	    nitems(s->ents), &n, &eof, why, sizeof(why));
	if (r != 1)
		return sftp_op_failed(s, id, r, why);
	if (n > nitems(s->ents))
		return -1;
	h->eof = eof || n == 0;
	if (n == 0)
		return sftp_status(s, id, SSH_FX_EOF, "end of directory");
	return sftp_names(s, id, n);
}

/* Requests not listed here are answered OP_UNSUPPORTED. */
static const struct sftp_handler sftp_handlers[] = {
	{ SSH_FXP_OPEN,		"open",		fxp_open },
	{ SSH_FXP_CLOSE,	"close",	fxp_close },
	{ SSH_FXP_READ,		"read",		fxp_read },
	{ SSH_FXP_WRITE,	"write",	fxp_refuse_handle },
	{ SSH_FXP_LSTAT,	"lstat",	fxp_stat },
	{ SSH_FXP_FSTAT,	"fstat",	fxp_fstat },
	{ SSH_FXP_SETSTAT,	"setstat",	fxp_refuse_path },
	{ SSH_FXP_FSETSTAT,	"fsetstat",	fxp_refuse_handle },
	{ SSH_FXP_OPENDIR,	"opendir",	fxp_opendir },
	{ SSH_FXP_READDIR,	"readdir",	fxp_readdir },
	{ SSH_FXP_REMOVE,	"remove",	fxp_refuse_path },
	{ SSH_FXP_MKDIR,	"mkdir",	fxp_refuse_path },
	{ SSH_FXP_RMDIR,	"rmdir",	fxp_refuse_path },
	{ SSH_FXP_REALPATH,	"realpath",	fxp_realpath },
	{ SSH_FXP_STAT,		"stat",		fxp_stat },
	{ SSH_FXP_RENAME,	"rename",	fxp_refuse_path },
	{ SSH_FXP_SYMLINK,	"symlink",	fxp_refuse_symlink },
};

/*
 * The client's version is not checked: this server speaks 3 and says
 * so, and a client that cannot cope hangs up.  No extensions are
 * advertised, so OpenSSH's client sends none.
 */
static int
sftp_init(struct sftp *s, struct sftp_msg *m)
{
	uint32_t	 version;
	size_t		 start;

	if (msg_u32(m, &version) == -1)
		return -1;
	start = out_begin(s, SSH_FXP_VERSION);
	out_u32(s, SFTP_VERSION);
	s->state = SFTP_READY;
	return out_end(s, start);
}

/* One complete packet: INIT exactly once, first; then requests. */
static int
sftp_dispatch(struct sftp *s, const unsigned char *pkt, size_t len)
{
	struct sftp_msg	 m = { pkt + 1, len - 1 };
	uint32_t	 id;
	size_t		 i;

	if (s->state == SFTP_WAIT_INIT)
		return pkt[0] == SSH_FXP_INIT ? sftp_init(s, &m) : -1;
	if (pkt[0] == SSH_FXP_INIT || msg_u32(&m, &id) == -1)
		return -1;
	for (i = 0; i < nitems(sftp_handlers); i++)
		if (sftp_handlers[i].type == pkt[0])
			return sftp_handlers[i].fn(s, id, &m,
			    sftp_handlers[i].name);
	return sftp_status(s, id, SSH_FX_OP_UNSUPPORTED,
	    "operation not supported");
}

/*
 * New bytes have been added to the packet being received: check the
 * length once it is complete, answer the packet once it is.
 */
static int
sftp_in_step(struct sftp *s)
{
	if (s->inlen == 4) {
		s->plen = get_u32(s->in);
		if (s->plen == 0 || s->plen > SFTP_MAX_PACKET)
			return -1;
	} else if (s->inlen > 4 && s->inlen == 4 + (size_t)s->plen) {
		s->inlen = 0;
		return sftp_dispatch(s, s->in + 4, s->plen);
	}
	return 0;
}

struct sftp *
sftp_new(const struct access_ops *ops)
{
	struct sftp	*s;
	size_t		 i;

	if (ops == NULL || ops->home == NULL || ops->open_file == NULL ||
	    ops->close_file == NULL || ops->stat == NULL ||
	    ops->list_dir == NULL || ops->refused == NULL)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->in = malloc(4 + SFTP_MAX_PACKET)) == NULL) {
		free(s);
		return NULL;
	}
	s->ops = ops;
	for (i = 0; i < nitems(s->h); i++)
		s->h[i].fd = -1;
	return s;
}

void
sftp_free(struct sftp *s)
{
	size_t	 i;

	if (s == NULL)
		return;
	for (i = 0; i < nitems(s->h); i++)
		if (s->h[i].kind != SFTP_H_FREE)
			(void)handle_close(s, &s->h[i]);
	free(s->in);
	free(s->out);
	free(s);
}

ssize_t
sftp_input(struct sftp *s, const void *data, size_t len)
{
	const unsigned char	*p = data;
	size_t			 used = 0, need, take;

	if (s->state == SFTP_FAILED)
		return -1;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	out_compact(s);
	while (used < len && s->outlen - s->outoff <= SFTP_OUT_HIGH) {
		need = s->inlen < 4 ? 4 - s->inlen :
		    4 + (size_t)s->plen - s->inlen;
		take = len - used < need ? len - used : need;
		memcpy(s->in + s->inlen, p + used, take);
		s->inlen += take;
		used += take;
		if (sftp_in_step(s) == -1) {
			s->state = SFTP_FAILED;
			return -1;
		}
	}
	return (ssize_t)used;
}

const void *
sftp_output(struct sftp *s, size_t *len)
{
	*len = s->outlen - s->outoff;
	return *len == 0 ? NULL : s->out + s->outoff;
}

void
sftp_output_consume(struct sftp *s, size_t n)
{
	if (n > s->outlen - s->outoff)
		n = s->outlen - s->outoff;
	s->outoff += n;
	if (s->outoff == s->outlen)
		s->outoff = s->outlen = 0;
}
