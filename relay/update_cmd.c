/*
 * update_cmd.c - porthole-relay update publish (update_cmd.h).
 */
#include "relay/update_cmd.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/sshsig.h"
#include "relay/relay_conf.h"
#include "relay/store.h"
#include "telemetry/notice.h"

#define SSHSIG_BEGIN	"-----BEGIN SSH SIGNATURE-----"

/*
 * Read a small regular file whole into buf (max bytes, NUL added).
 * The length, or -1 after saying why.
 */
static ssize_t
read_small(const char *path, char *buf, size_t max)
{
	struct stat	sb;
	ssize_t		n = -1, k;
	size_t		have = 0;
	int		fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1 ||
	    fstat(fd, &sb) == -1) {
		fprintf(stderr, "porthole-relay: %s: %s\n", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > max) {
		fprintf(stderr, "porthole-relay: %s: %s\n", path,
		    !S_ISREG(sb.st_mode) ? "not a regular file" : "too long");
		goto out;
	}
	while (have < max && (k = read(fd, buf + have, max - have)) > 0)
		have += (size_t)k;
	if (k == -1) {
		fprintf(stderr, "porthole-relay: %s: %s\n", path,
		    strerror(errno));
		goto out;
	}
	buf[have] = '\0';
	n = (ssize_t)have;
out:
	if (fd != -1)
		close(fd);
	return n;
}

/* The armour ssh-keygen -Y sign writes: printable ASCII lines. */
static int
looks_like_sshsig(const char *s, size_t len)
{
	size_t i;

	if (len < strlen(SSHSIG_BEGIN) ||
	    strncmp(s, SSHSIG_BEGIN, strlen(SSHSIG_BEGIN)) != 0)
		return 0;
	for (i = 0; i < len; i++)
		if ((s[i] < 0x20 || s[i] > 0x7e) && s[i] != '\n' &&
		    s[i] != '\r')
			return 0;
	return 1;
}

/* The message body: the notice and its signature, byte for byte. */
static char *
notice_body(const char *notice, size_t nlen, const char *sig, size_t slen)
{
	json_t	*j;
	char	*text;

	j = json_pack("{s:s%, s:s%}", "notice", notice, nlen, "signature",
	    sig, slen);
	text = j == NULL ? NULL : json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return text;
}

static int
publish(const struct relay_conf *conf, const char *npath, const char *spath,
    const char *ppath)
{
	struct store		*st = NULL;
	struct store_package	 pkg;
	struct notice		 n;
	struct stat		 sb;
	char			 notice[NOTICE_MAX + 1], sig[SSHSIG_ARMOR_MAX + 1];
	char			 why[1024], when[32], *body = NULL;
	ssize_t			 nlen, slen;
	int64_t			 id;
	int			 fd = -1, rc = 1;

	if ((nlen = read_small(npath, notice, NOTICE_MAX)) == -1 ||
	    (slen = read_small(spath, sig, SSHSIG_ARMOR_MAX)) == -1)
		goto out;
	if (notice_parse(notice, (size_t)nlen, &n, why, sizeof(why)) == -1) {
		fprintf(stderr, "porthole-relay: %s: %s\n", npath, why);
		goto out;
	}
	if (n.expires <= clock_now()) {
		parse_format_time(n.expires, when, sizeof(when));
		fprintf(stderr, "porthole-relay: %s: expired at %s; every "
		    "gateway would refuse it\n", npath, when);
		goto out;
	}
	if (!looks_like_sshsig(sig, (size_t)slen)) {
		fprintf(stderr, "porthole-relay: %s: not an SSH signature "
		    "(ssh-keygen -Y sign -n %s %s makes one)\n", spath,
		    NOTICE_NAMESPACE, npath);
		goto out;
	}
	if ((fd = open(ppath, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1 ||
	    fstat(fd, &sb) == -1) {
		fprintf(stderr, "porthole-relay: %s: %s\n", ppath,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != n.size) {
		fprintf(stderr, "porthole-relay: %s: %s %" PRIu64 " bytes\n",
		    ppath, S_ISREG(sb.st_mode) ? "not the" :
		    "not a regular file of", n.size);
		goto out;
	}
	if ((body = notice_body(notice, (size_t)nlen, sig,
	    (size_t)slen)) == NULL) {
		fprintf(stderr, "porthole-relay: out of memory\n");
		goto out;
	}
	/* A publish must not create the database, as a report must not. */
	if (store_open_with(conf->database, STORE_EXISTING, &st, why,
	    sizeof(why)) == -1) {
		fprintf(stderr, "porthole-relay: %s\n", why);
		goto out;
	}
	pkg.name = ppath;
	pkg.fd = fd;
	pkg.sha256 = n.sha256;
	pkg.size = n.size;
	if (store_message_add(st, NULL, "update_notice", body, &pkg,
	    clock_now(), &id, why, sizeof(why)) == -1) {
		fprintf(stderr, "porthole-relay: %s\n", why);
		goto out;
	}
	printf("update %s published as message %" PRId64 " for every "
	    "cluster: package %s, %" PRIu64 " bytes\n", n.version, id,
	    n.sha256, n.size);
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(body);
	store_close(st);
	return rc;
}

int
update_main(const char *path, int argc, char **argv)
{
	struct relay_conf	*conf = NULL;
	char			 err[1024];
	int			 rc = 1;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		printf("usage: %s", UPDATE_SYNOPSIS);
		return 0;
	}
	if (argc != 5 || strcmp(argv[1], "publish") != 0) {
		fprintf(stderr, "usage: %s", UPDATE_SYNOPSIS);
		return 2;
	}
	log_init("porthole-relay", 1, LOG_LVL_INFO);
	if (relay_conf_load(path, &conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "porthole-relay: %s\n", err);
		return 1;
	}
	if (conf->database == NULL)
		fprintf(stderr, "porthole-relay: %s: no database in [relay]\n",
		    path);
	else
		rc = publish(conf, argv[2], argv[3], argv[4]);
	relay_conf_free(conf);
	return rc;
}
