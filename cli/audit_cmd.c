/*
 * audit_cmd.c - porthole audit verify | list | show.
 */
#include "cli/audit_cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <sys/stat.h>
#include <errno.h>

#include <openssl/crypto.h>

#include "audit/audit.h"
#include "audit/logfiles.h"
#include "audit/policies.h"
#include "audit/recording.h"
#include "audit/seal.h"
#include "audit/verify.h"
#include "cli/audit_dir.h"
#include "cli/replay_cmd.h"
#include "cli/view.h"
#include "lib/clock.h"
#include "lib/escape.h"
#include "lib/parse.h"
#include "lib/sha256.h"
#include "policy/policy.h"

struct filter {
	time_t		 since;		/* 0: any */
	time_t		 until;		/* 0: any */
	const char	*engineer;
	const char	*session;
	const char	*type;
	int		 json;
	int		 policy;	/* say which policy was in force */
};

const char cli_audit_usage[] =
    "porthole audit init\n"
    "porthole audit verify [--key KEY] [--anchors FILE] [DIR]\n"
    "porthole audit list [--since T] [--until T] [--engineer P] "
    "[--session ID] [--type T] [--json] [DIR]\n"
    "porthole audit show ID [DIR]\n"
    "porthole audit policy SHA256 [DIR]\n"
    "porthole audit replay ID [--speed N] [DIR]\n"
    "porthole audit export ID [DIR]\n";

static int
usage(void)
{
	fprintf(stderr, "usage: %s", cli_audit_usage);
	return 2;
}

static void
show_progress(uint64_t bytes, void *arg)
{
	(void)arg;
	fprintf(stderr, "\rverifying: %llu MiB", (unsigned long long)
	    (bytes >> 20));
}

/* The log holds: now hold every recording it names to it. */
static int
verify_recordings(const char *dir)
{
	char		 why[600];
	uint64_t	 n = 0;
	int		 rc;

	rc = recording_verify_all(dir, &n, why, sizeof(why));
	if (rc != 0) {
		printf("%s\n", why);
		return 1;
	}
	if (n > 0)
		printf("%s/%s: %llu recording%s match the audit log\n", dir,
		    RECORDING_DIR, (unsigned long long)n, n == 1 ? "" : "s");
	return 0;
}

/* ... and every policy it says was in force, and every one kept. */
static int
verify_policies(const char *dir)
{
	char		 why[700];
	uint64_t	 n = 0;

	if (policies_verify_all(dir, &n, why, sizeof(why)) != 0) {
		printf("%s\n", why);
		return 1;
	}
	if (n > 0)
		printf("%s/%s: %llu polic%s match their names and the audit "
		    "log\n", dir, POLICIES_DIR, (unsigned long long)n,
		    n == 1 ? "y" : "ies");
	return 0;
}

/*
 * Hold the log to the relay's anchors, and say which seals the relay
 * never received: those before a seal it holds are covered by it (the
 * chain runs through them); those after the last one it holds are not,
 * and the log could be cut back to there unnoticed.  0, or -1 (said).
 */
static int
verify_anchors(const char *path, const char *anchors)
{
	struct audit_anchors	r;
	char			why[600];

	if (audit_verify_anchors(path, anchors, &r, why, sizeof(why)) != 0) {
		printf("%s\n", why);
		return -1;
	}
	printf("%s: %llu seal heads held at the relay match\n", path,
	    (unsigned long long)r.matched);
	if (r.covered > 0)
		printf("%s: the relay never received the seal heads of epochs "
		    "%s; a later one it holds covers them\n", path,
		    r.covered_epochs);
	if (r.tail > 0 && r.anchored_seq == 0)
		printf("%s: the relay holds no seal head of this log (epochs "
		    "%s): the anchors cannot show that it was cut back\n",
		    path, r.tail_epochs);
	else if (r.tail > 0)
		printf("%s: the relay never received the seal heads of epochs "
		    "%s, the last %llu: events after seq %llu could be cut off "
		    "unseen by the anchors (the gateway sends the newest at "
		    "its next connection)\n", path, r.tail_epochs,
		    (unsigned long long)r.tail,
		    (unsigned long long)r.anchored_seq);
	return 0;
}

static int
cmd_verify(int argc, char **argv, const char *conf)
{
	struct audit_verify	 v;
	uint8_t			 key0[SEAL_KEY_LEN], *k = NULL;
	const char		*anchors = NULL;
	char			 path[4096];
	int			 rc, tty;

	for (argc--, argv++; argc >= 2 && argv[0][0] == '-'; argc -= 2,
	    argv += 2) {
		if (strcmp(argv[0], "--key") == 0 && k == NULL) {
			if (seal_key_from_hex(argv[1], key0) == -1) {
				fprintf(stderr, "porthole: audit verify: --key: "
				    "expected the 64 hex digits `porthole audit "
				    "init` printed\n");
				return 2;
			}
			k = key0;
		} else if (strcmp(argv[0], "--anchors") == 0 &&
		    anchors == NULL)
			anchors = argv[1];
		else
			return usage();
	}
	if (argc > 1 || (argc == 1 && argv[0][0] == '-'))
		return usage();
	if (cli_audit_dir(argc == 1 ? argv[0] : NULL, conf, path,
	    sizeof(path)) == -1)
		return 1;
	tty = isatty(2);
	rc = audit_verify_dir(path, k, &v, tty ? show_progress : NULL, NULL);
	OPENSSL_cleanse(key0, sizeof(key0));
	if (tty)
		fprintf(stderr, "\r\033[K");
	if (rc == -1) {
		fprintf(stderr, "%s: %s\n", v.file, v.reason);
		return 1;
	}
	if (rc == 1) {
		printf("%s:%llu: %s\n", v.file, (unsigned long long)v.bad_line,
		    v.reason);
		return 1;
	}
	if (v.files > 1)
		printf("%s: %llu files, the chain running on from each into "
		    "the next\n", path, (unsigned long long)v.files);
	printf("%s: %llu events, chain intact, %llu seals %s%s\n", path,
	    (unsigned long long)v.events, (unsigned long long)v.seals,
	    v.keyed ? "verified with the key" : "in order (give --key to "
	    "check them)", v.torn_tail ?
	    "; the last line was torn by a crash and is not counted" : "");
	if (v.unsealed > 0)
		printf("%s: the last %llu events are not sealed yet\n", path,
		    (unsigned long long)v.unsealed);
	if (anchors != NULL && verify_anchors(path, anchors) == -1)
		return 1;
	rc = verify_recordings(path);
	return verify_policies(path) || rc;
}

static const char *
jstr(json_t *ev, const char *key)
{
	const char *s = json_string_value(json_object_get(ev, key));

	return s == NULL ? "" : s;
}

static int
matches(json_t *ev, const struct filter *f)
{
	time_t t;

	if (f->engineer != NULL && strcmp(jstr(ev, "engineer"),
	    f->engineer) != 0)
		return 0;
	if (f->session != NULL && strcmp(jstr(ev, "session"), f->session) != 0)
		return 0;
	if (f->type != NULL && strcmp(jstr(ev, "type"), f->type) != 0)
		return 0;
	if ((f->since != 0 || f->until != 0) &&
	    parse_time(jstr(ev, "ts"), &t) == 0) {
		if (f->since != 0 && t < f->since)
			return 0;
		if (f->until != 0 && t >= f->until)
			return 0;
	}
	return 1;
}

/* s escaped, then padded to width columns as %-*s pads. */
static void
print_field(const char *s, int width)
{
	char *esc = escape_dup(s);

	printf("%-*s", width, esc != NULL ? esc : "?");
	free(esc);
}

/*
 * One event as a line a person reads.  An engineer chose much of what
 * it holds (a refused command, a subsystem, a forward's host), so every
 * field is shown escaped: a forged line or a rewritten screen would
 * otherwise be a command away.
 */
static void
print_event(json_t *ev)
{
	static const char *skip[] = { "seq", "ts", "type", "prev", "session",
	    "engineer", NULL };
	const char	*key;
	json_t		*val;
	size_t		 i;

	printf("%-6lld ", (long long)json_integer_value(json_object_get(ev,
	    "seq")));
	print_field(jstr(ev, "ts"), 0);
	printf(" ");
	print_field(jstr(ev, "type"), 18);
	printf(" ");
	print_field(jstr(ev, "session"), 16);
	printf(" ");
	print_field(jstr(ev, "engineer"), 10);
	json_object_foreach(ev, key, val) {
		for (i = 0; skip[i] != NULL; i++)
			if (strcmp(key, skip[i]) == 0)
				break;
		if (skip[i] != NULL)
			continue;
		printf(" ");
		(void)escape_fputs(key, stdout);
		printf("=");
		(void)cli_view_value(val, stdout);
	}
	printf("\n");
}

/*
 * Which policy was in force for one session (audit show): the last
 * policy_loaded before its first event, and each reload until it
 * closed.
 */
struct in_force {
	char		 sha[65];	/* the last policy_loaded's, or "" */
	long long	 seq;
	int		 started;	/* the session's first event was seen */
	int		 closed;
};

static void
policy_in_force(struct in_force *pf, json_t *ev, int of_session)
{
	const char	*type = jstr(ev, "type"), *sha = jstr(ev, "sha256");
	long long	 seq = (long long)json_integer_value(json_object_get(ev,
	    "seq"));

	if (strcmp(type, "policy_loaded") == 0 && sha256_valid_hex(sha)) {
		snprintf(pf->sha, sizeof(pf->sha), "%s", sha);
		pf->seq = seq;
		if (pf->started && !pf->closed)
			printf("%-6lld policy reloaded while it ran: %s "
			    "(porthole audit policy %.12s...)\n", seq, sha, sha);
		return;
	}
	if (!of_session)
		return;
	if (!pf->started) {
		pf->started = 1;
		if (pf->sha[0] != '\0')
			printf("policy %s (in force since seq %lld; porthole "
			    "audit policy SHA256 prints it)\n", pf->sha,
			    pf->seq);
		else
			printf("policy not on record (no policy_loaded event "
			    "before this session)\n");
	}
	if (strcmp(type, "session_closed") == 0)
		pf->closed = 1;
}

/* Every event of the log in dir, across its files, that f selects. */
static int
scan(const char *dir, const struct filter *f)
{
	struct audit_lines	*lines;
	const char		*line, *path;
	char			 err[4400];
	size_t			 len;
	uint64_t		 lineno;
	json_t			*ev;
	long			 shown = 0;
	int			 got;
	struct in_force		 pf;

	memset(&pf, 0, sizeof(pf));
	if (audit_lines_open(dir, &lines, err, sizeof(err)) == -1) {
		fprintf(stderr, "porthole: %s\n", err);
		return 1;
	}
	while ((got = audit_lines_next(lines, &line, &len, &path, &lineno,
	    err, sizeof(err))) == 1) {
		if (len > AUDIT_MAX_LINE ||
		    (ev = json_loadb(line, len, 0, NULL)) == NULL) {
			fprintf(stderr, "%s:%llu: not an audit event\n", path,
			    (unsigned long long)lineno);
			continue;
		}
		if (f->policy)
			policy_in_force(&pf, ev, matches(ev, f));
		if (matches(ev, f)) {
			shown++;
			if (f->json)
				printf("%s\n", line);
			else
				print_event(ev);
		}
		json_decref(ev);
	}
	audit_lines_close(lines);
	if (got == -1) {
		fprintf(stderr, "porthole: %s\n", err);
		return 1;
	}
	if (shown == 0 && !f->json)
		fprintf(stderr, "no matching events\n");
	return 0;
}

/* Make epoch 0's seal key and show it once. */
static int
cmd_init(int argc, char **argv, const char *conf)
{
	struct policy	*pol = NULL;
	struct seal_key	 k;
	char		 err[1024], path[4096], hex[65];

	(void)argv;
	if (argc != 1)
		return usage();
	if (policy_load(conf, &pol, err, sizeof(err)) == -1) {
		fprintf(stderr, "porthole: %s\n", err);
		return 1;
	}
	if (mkdir(pol->state_dir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "porthole: %s: %s\n", pol->state_dir,
		    strerror(errno));
		policy_free(pol);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s", pol->state_dir, SEAL_KEY_FILE);
	policy_free(pol);
	if (seal_key_init(path, &k, err, sizeof(err)) == -1) {
		fprintf(stderr, "porthole: audit init: %s\n", err);
		return 1;
	}
	seal_key_to_hex(k.key, hex);
	printf("%s\n", hex);
	fprintf(stderr, "The line above is the audit log's verification key. "
	    "Keep it off this host:\nit is shown only this once, and "
	    "`porthole audit verify --key KEY` needs it.\n");
	OPENSSL_cleanse(&k, sizeof(k));
	OPENSSL_cleanse(hex, sizeof(hex));
	return 0;
}

static int
cmd_list(int argc, char **argv, const char *conf)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "engineer", required_argument, NULL, 'e' },
		{ "session", required_argument, NULL, 'i' },
		{ "type", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct filter	f;
	char		path[4096];
	int		ch;

	memset(&f, 0, sizeof(f));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
		case 'u':
			if (parse_when(optarg, clock_now(), ch == 's' ?
			    &f.since : &f.until) == -1) {
				fprintf(stderr, "porthole: --%s: '%s' is not "
				    "a time: expected %s\n", ch == 's' ?
				    "since" : "until", optarg,
				    PARSE_WHEN_FORMS);
				return 2;
			}
			break;
		case 'e':
			f.engineer = optarg;
			break;
		case 'i':
			f.session = optarg;
			break;
		case 't':
			f.type = optarg;
			break;
		case 'j':
			f.json = 1;
			break;
		default:
			return usage();
		}
	}
	if (argc - optind > 1)
		return usage();
	if (cli_audit_dir(optind < argc ? argv[optind] : NULL, conf, path,
	    sizeof(path)) == -1)
		return 1;
	return scan(path, &f);
}

static int
cmd_show(int argc, char **argv, const char *conf)
{
	struct filter	f;
	char		path[4096];

	if (argc < 2 || argc > 3)
		return usage();
	memset(&f, 0, sizeof(f));
	f.session = argv[1];
	f.policy = 1;
	if (cli_audit_dir(argc == 3 ? argv[2] : NULL, conf, path,
	    sizeof(path)) == -1)
		return 1;
	return scan(path, &f);
}

/* porthole audit policy SHA256 [DIR]: a kept policy, checked first. */
static int
cmd_policy(int argc, char **argv, const char *conf)
{
	char	 path[4096], why[700], *text = NULL;
	size_t	 len;
	int	 rc;

	if (argc < 2 || argc > 3)
		return usage();
	if (cli_audit_dir(argc == 3 ? argv[2] : NULL, conf, path,
	    sizeof(path)) == -1)
		return 1;
	if ((rc = policies_read(path, argv[1], &text, &len, why,
	    sizeof(why))) != 0) {
		fprintf(stderr, "porthole: audit policy: %s\n", why);
		return 1;
	}
	rc = fwrite(text, 1, len, stdout) == len && fflush(stdout) == 0 ?
	    0 : 1;
	free(text);
	return rc;
}

int
cli_audit(int argc, char **argv, const char *conf)
{
	if (argc < 1)
		return usage();
	if (strcmp(argv[0], "init") == 0)
		return cmd_init(argc, argv, conf);
	if (strcmp(argv[0], "verify") == 0)
		return cmd_verify(argc, argv, conf);
	if (strcmp(argv[0], "list") == 0)
		return cmd_list(argc, argv, conf);
	if (strcmp(argv[0], "show") == 0)
		return cmd_show(argc, argv, conf);
	if (strcmp(argv[0], "policy") == 0)
		return cmd_policy(argc, argv, conf);
	if (strcmp(argv[0], "replay") == 0 || strcmp(argv[0], "export") == 0)
		return cli_audit_recording(argc, argv, conf);
	return usage();
}
