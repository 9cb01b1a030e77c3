/*
 * cluster_cmd.c - porthole-relay cluster add|remove (cluster_cmd.h).
 */
#include "relay/cluster_cmd.h"

#include <sys/stat.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libssh/libssh.h>

#include "lib/clock.h"
#include "lib/ident.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "relay/relay_conf.h"
#include "relay/store.h"

/* What cluster add was asked. */
struct cluster_args {
	const char	*id;
	const char	*key;		/* the file */
	int		 trial;
	time_t		 expires;
	int		 overage;
	int		 replace;
};

static int
usage(void)
{
	fprintf(stderr, "usage: %s", CLUSTER_SYNOPSIS);
	return 2;
}

/* The value of option argv[*i], which must have one. */
static const char *
optval(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "porthole-relay: cluster add: %s needs a "
		    "value\n", argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

/* cluster add's operands and options: 0, or the exit status. */
static int
add_args(int argc, char **argv, struct cluster_args *a)
{
	const char	*v;
	int		 i;

	memset(a, 0, sizeof(*a));
	a->overage = 1;
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--replace") == 0) {
			a->replace = 1;
			continue;
		}
		if (strncmp(argv[i], "--", 2) != 0) {
			if (a->id != NULL)
				return usage();
			a->id = argv[i];
			continue;
		}
		if ((v = optval(argc, argv, &i)) == NULL)
			return 2;
		if (strcmp(argv[i - 1], "--key") == 0)
			a->key = v;
		else if (strcmp(argv[i - 1], "--license") == 0 &&
		    (strcmp(v, "full") == 0 || strcmp(v, "trial") == 0))
			a->trial = strcmp(v, "trial") == 0;
		else if (strcmp(argv[i - 1], "--overage") == 0 &&
		    (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0))
			a->overage = strcmp(v, "yes") == 0;
		else if (strcmp(argv[i - 1], "--expires") == 0) {
			if (parse_time(v, &a->expires) == -1 ||
			    a->expires <= 0) {
				fprintf(stderr, "porthole-relay: cluster add: "
				    "--expires: expected an RFC 3339 UTC time, "
				    "got '%s'\n", v);
				return 2;
			}
		} else {
			fprintf(stderr, "porthole-relay: cluster add: %s: "
			    "unknown option or value '%s'\n", argv[i - 1], v);
			return usage();
		}
	}
	if (a->id == NULL || a->key == NULL)
		return usage();
	if (!ident_valid(a->id, 64, IDENT_NAME)) {
		fprintf(stderr, "porthole-relay: cluster add: invalid cluster "
		    "id '%s' (1-64 of %s)\n", a->id,
		    ident_alphabet(IDENT_NAME));
		return 2;
	}
	return 0;
}

/*
 * The cluster's public key from path, as the registry keeps it ("TYPE
 * BASE64", which the caller frees) and its SHA256 fingerprint.  A
 * certificate or a private key is refused.  0, or -1 after saying why.
 */
static int
read_key(const char *path, char **out, char *fp, size_t fplen)
{
	struct stat	 sb;
	ssh_key		 k = NULL;
	FILE		*f;
	unsigned char	*hash = NULL;
	char		*b64 = NULL, *fph = NULL, head[16];
	size_t		 hlen;
	int		 rc = -1;

	*out = NULL;
	if (stat(path, &sb) == -1) {
		fprintf(stderr, "porthole-relay: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		fprintf(stderr, "porthole-relay: %s: not a regular file\n",
		    path);
		return -1;
	}
	/* libssh would take the public half of a private key file. */
	if ((f = fopen(path, "re")) != NULL) {
		if (fgets(head, sizeof(head), f) != NULL &&
		    strncmp(head, "-----BEGIN", 10) == 0) {
			fclose(f);
			fprintf(stderr, "porthole-relay: %s: a private key; "
			    "give the cluster's public key (its .pub)\n",
			    path);
			return -1;
		}
		fclose(f);
	}
	if (ssh_pki_import_pubkey_file(path, &k) != SSH_OK ||
	    !ssh_key_is_public(k) || ssh_key_is_private(k)) {
		fprintf(stderr, "porthole-relay: %s: not an OpenSSH public "
		    "key\n", path);
		goto out;
	}
	switch (ssh_key_type(k)) {
	case SSH_KEYTYPE_ED25519:
	case SSH_KEYTYPE_ECDSA_P256:
	case SSH_KEYTYPE_ECDSA_P384:
	case SSH_KEYTYPE_ECDSA_P521:
	case SSH_KEYTYPE_RSA:
		break;
	default:
		fprintf(stderr, "porthole-relay: %s: a %s key; a cluster key "
		    "is a plain ed25519, ECDSA or RSA key\n", path,
		    ssh_key_type_to_char(ssh_key_type(k)));
		goto out;
	}
	if (ssh_pki_export_pubkey_base64(k, &b64) != SSH_OK ||
	    ssh_get_publickey_hash(k, SSH_PUBLICKEY_HASH_SHA256, &hash,
	    &hlen) != 0 || (fph = ssh_get_fingerprint_hash(
	    SSH_PUBLICKEY_HASH_SHA256, hash, hlen)) == NULL ||
	    asprintf(out, "%s %s", ssh_key_type_to_char(ssh_key_type(k)),
	    b64) == -1) {
		*out = NULL;
		fprintf(stderr, "porthole-relay: %s: cannot read the key\n",
		    path);
		goto out;
	}
	snprintf(fp, fplen, "%s", fph);
	rc = 0;
out:
	ssh_string_free_char(fph);
	ssh_clean_pubkey_hash(&hash);
	ssh_string_free_char(b64);
	ssh_key_free(k);
	return rc;
}

/*
 * relay.conf names the cluster too: with the same key it decides on
 * the relays that read it (its license applies there); with another,
 * those relays would refuse the cluster, so the add is refused.
 */
static int
check_conf(const struct relay_conf *conf, const char *id, const char *key)
{
	const struct relay_cluster	*cc;
	char				*ck = NULL, fp[128];
	int				 same;

	if ((cc = relay_conf_cluster(conf, id, NULL)) == NULL)
		return 0;
	if (read_key(cc->key, &ck, fp, sizeof(fp)) == -1)
		return -1;
	same = strcmp(ck, key) == 0;
	free(ck);
	if (!same) {
		fprintf(stderr, "porthole-relay: %s:%d: [cluster %s] has "
		    "another key (%s): relays reading this relay.conf would "
		    "refuse the cluster; make them agree first\n", conf->path,
		    cc->line, id, cc->key);
		return -1;
	}
	fprintf(stderr, "porthole-relay: note: %s:%d names cluster %s too, "
	    "with the same key; its license applies on the relays that read "
	    "it\n", conf->path, cc->line, id);
	return 0;
}

static int
cluster_add(const struct relay_conf *conf, struct store *st, int argc,
    char **argv)
{
	struct cluster_args	a;
	struct store_registry	r;
	char			*key = NULL, fp[128], why[1024];
	int			 rc;

	if ((rc = add_args(argc, argv, &a)) != 0)
		return rc;
	rc = 1;
	if (read_key(a.key, &key, fp, sizeof(fp)) == -1 ||
	    check_conf(conf, a.id, key) == -1)
		goto out;
	memset(&r, 0, sizeof(r));
	r.id = a.id;
	r.key = key;
	r.trial = a.trial;
	r.expires = a.expires;
	r.overage = a.overage;
	switch (store_registry_add(st, &r, a.replace, clock_now(), why,
	    sizeof(why))) {
	case -1:
		fprintf(stderr, "porthole-relay: cluster add: %s\n", why);
		goto out;
	case 0:
		printf("cluster %s added to the cluster registry (%s)\n", a.id,
		    fp);
		break;
	default:
		printf("cluster %s replaced in the cluster registry (%s)\n",
		    a.id, fp);
		break;
	}
	rc = 0;
out:
	free(key);
	return rc;
}

static int
cluster_remove(struct store *st, int argc, char **argv)
{
	if (argc != 3 || strncmp(argv[2], "--", 2) == 0)
		return usage();
	switch (store_registry_remove(st, argv[2], clock_now())) {
	case -1:
		return 1;
	case 0:
		fprintf(stderr, "porthole-relay: no cluster '%s' in the "
		    "cluster registry\n", argv[2]);
		return 1;
	}
	printf("cluster %s removed from the cluster registry; its tunnels "
	    "close as each relay reads the change\n", argv[2]);
	return 0;
}

int
cluster_main(const char *path, int argc, char **argv)
{
	struct relay_conf	*conf = NULL;
	struct store		*st = NULL;
	char			 err[1024];
	int			 rc = 1;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		printf("usage: %s", CLUSTER_SYNOPSIS);
		return 0;
	}
	if (argc < 2 || (strcmp(argv[1], "add") != 0 &&
	    strcmp(argv[1], "remove") != 0))
		return usage();
	log_init("porthole-relay", 1, LOG_LVL_INFO);
	if (relay_conf_load(path, &conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "porthole-relay: %s\n", err);
		return 1;
	}
	if (conf->database == NULL) {
		fprintf(stderr, "porthole-relay: %s: no database in [relay]\n",
		    path);
		goto out;
	}
	if (ssh_init() != SSH_OK) {
		fprintf(stderr, "porthole-relay: libssh initialisation "
		    "failed\n");
		goto out;
	}
	/* A command does not create the store: the relay makes it. */
	if (store_open_with(conf->database, STORE_EXISTING, &st, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "porthole-relay: %s\n", err);
		goto fini;
	}
	rc = strcmp(argv[1], "add") == 0 ? cluster_add(conf, st, argc, argv) :
	    cluster_remove(st, argc, argv);
fini:
	ssh_finalize();
out:
	store_close(st);
	relay_conf_free(conf);
	return rc;
}
