/*
 * send_cmd.c - porthole send: hand telemetry records to the gateway's
 * intake socket, the same way the product does, and say what became of
 * each.  The input is one JSON object or a sequence of them (one per
 * line, or pretty-printed); a record without "class" gets the one named
 * on the command line, a record naming another class is refused here.
 */
#include "cli/send_cmd.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "policy/policy.h"
#include "telemetry/intake_proto.h"
#include "telemetry/record.h"

#define SEND_BATCH	256	/* records in flight before reading replies */

const char cli_send_usage[] = "porthole send usage|health|event [FILE|-]\n";

static int
usage(void)
{
	fprintf(stderr, "usage: %s", cli_send_usage);
	return 2;
}

static int
intake_connect(const char *conf)
{
	struct policy		*pol = NULL;
	struct sockaddr_un	 sun;
	char			 err[1024];
	int			 fd = -1;

	if (policy_load(conf, &pol, err, sizeof(err)) == -1) {
		fprintf(stderr, "porthole: %s\n", err);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
	    pol->run_dir, INTAKE_SOCKET) >= sizeof(sun.sun_path) ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "porthole: send: %s: %s (is portholed "
		    "running?)\n", sun.sun_path, strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	policy_free(pol);
	return fd;
}

/* Read n reply lines and report them; returns how many were not safe. */
static int
read_replies(FILE *in, int n, long *first)
{
	char		*line = NULL;
	const char	*why;
	size_t		 cap = 0;
	uint64_t	 seq;
	json_t		*a;
	int		 bad = 0;

	for (; n > 0; n--, (*first)++) {
		if (getline(&line, &cap, in) <= 0) {
			fprintf(stderr, "porthole: send: record %ld: no answer "
			    "from the gateway\n", *first);
			bad += n;
			break;
		}
		a = json_loads(line, 0, NULL);
		switch (intake_reply_read(a, &seq, &why)) {
		case INTAKE_STORED:
			printf("record %ld stored (seq %llu)\n", *first,
			    (unsigned long long)seq);
			break;
		case INTAKE_NOT_KEPT:
			printf("record %ld not kept: %s\n", *first, why);
			break;
		default:
			fprintf(stderr, "porthole: send: record %ld refused: "
			    "%s\n", *first, why);
			bad++;
		}
		json_decref(a);
	}
	free(line);
	return bad;
}

/* The next record from the input as one line, or NULL at the end. */
static char *
next_record(FILE *fp, const char *cls, long n, int *bad)
{
	json_error_t	 jerr;
	json_t		*rec, *jc;
	char		*text;

	rec = json_loadf(fp, JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES,
	    &jerr);
	if (rec == NULL) {
		if (!feof(fp) && jerr.position > 0 &&
		    strstr(jerr.text, "end of file") == NULL) {
			fprintf(stderr, "porthole: send: record %ld: %s (line "
			    "%d)\n", n, jerr.text, jerr.line);
			*bad = 1;
		}
		return NULL;
	}
	if (!json_is_object(rec)) {
		fprintf(stderr, "porthole: send: record %ld: not a JSON "
		    "object\n", n);
		json_decref(rec);
		*bad = 1;
		return NULL;
	}
	if ((jc = json_object_get(rec, "class")) == NULL)
		json_object_set_new(rec, "class", json_string(cls));
	else if (!json_is_string(jc) || strcmp(json_string_value(jc),
	    cls) != 0) {
		fprintf(stderr, "porthole: send: record %ld: its class is not "
		    "'%s'\n", n, cls);
		json_decref(rec);
		*bad = 1;
		return NULL;
	}
	text = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	if (text != NULL && strlen(text) > RECORD_MAX) {
		/* The gateway would refuse it; say so without sending it. */
		fprintf(stderr, "porthole: send: record %ld: %zu bytes, more "
		    "than the %d a record may have\n", n, strlen(text),
		    RECORD_MAX);
		free(text);
		*bad = 1;
		return NULL;
	}
	return text;
}

int
cli_send(int argc, char **argv, const char *conf)
{
	FILE	*fp = stdin, *sock;
	char	*text;
	long	 n = 1, first = 1;
	int	 fd, bad = 0, inflight = 0, parse_bad = 0;

	if (argc < 2 || argc > 3 || record_class_from_name(argv[1]) == 0)
		return usage();
	/* The gateway hangs up on a record it refuses to read to the end;
	 * its answer says why, so a write to the closed socket must not
	 * kill us first. */
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && strcmp(argv[2], "-") != 0 &&
	    (fp = fopen(argv[2], "re")) == NULL) {
		fprintf(stderr, "porthole: send: %s: %s\n", argv[2],
		    strerror(errno));
		return 1;
	}
	if ((fd = intake_connect(conf)) == -1 ||
	    (sock = fdopen(fd, "r+")) == NULL) {
		if (fp != stdin)
			fclose(fp);
		return 1;
	}
	while ((text = next_record(fp, argv[1], n, &parse_bad)) != NULL) {
		if (fprintf(sock, "%s\n", text) < 0)
			bad++;
		free(text);
		n++;
		if (++inflight == SEND_BATCH) {
			fflush(sock);
			bad += read_replies(sock, inflight, &first);
			inflight = 0;
		}
	}
	fflush(sock);
	bad += read_replies(sock, inflight, &first);
	fclose(sock);
	if (fp != stdin)
		fclose(fp);
	if (n == 1 && !parse_bad) {
		fprintf(stderr, "porthole: send: no record in the input\n");
		return 1;
	}
	return bad > 0 || parse_bad ? 1 : 0;
}
