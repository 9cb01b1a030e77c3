/*
 * telemetry_cmd.c - what left the cluster, read back from the gateway's
 * outbox (telemetry/outbox.h) in state_dir:
 *
 *   porthole telemetry [--since T] [--json]	every record sent
 *   porthole telemetry show SEQ		one, byte for byte as sent
 *   porthole events [--since T] [--json]	the cluster events sent
 *   porthole usage [--since T] [--until T] [--json | --csv]
 *
 * These read the files themselves, as porthole audit reads the audit
 * log, so that they answer with the daemon stopped too; reading
 * state_dir takes root (or the daemon's user).  A record is
 * acknowledged once the relay's store has it.  Usage is counted as the
 * relay counts it: for an hour and environment the newest record sent
 * replaces the ones before.  Everything a producer chose is shown
 * escaped in the tables (lib/escape.h); --json and show are exact.
 */
#include "cli/telemetry_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/view.h"
#include "lib/clock.h"
#include "lib/csv.h"
#include "lib/escape.h"
#include "lib/parse.h"
#include "policy/policy.h"
#include "telemetry/outbox.h"
#include "telemetry/record.h"

const char cli_telemetry_usage[] =
    "porthole telemetry [--since T] [--json]\n"
    "porthole telemetry show SEQ\n"
    "porthole events [--since T] [--json]\n"
    "porthole usage [--since T] [--until T] [--json | --csv]\n";

/* One record of the outbox, as the listing needs it. */
struct sent {
	uint64_t	 seq;
	time_t		 when;
	int		 cls;
	size_t		 len;
	json_t		*rec;		/* events and usage: parsed */
};

/* What a command asks for, and what the outbox gave. */
struct outbox_view {
	time_t		 since, until;	/* 0: no bound */
	int		 json, csv;
	int		 want;		/* a class, or 0: every record */
	uint64_t	 acked;		/* the newest acknowledgement */
	struct sent	*v;
	size_t		 n, cap;
	uint64_t	 show;		/* telemetry show: this seq */
	int		 found;
};

static int
usage_error(void)
{
	fprintf(stderr, "usage: %s", cli_telemetry_usage);
	return 2;
}

static int
collect_sent(void *arg, uint64_t seq, int kind, time_t when,
    const char *rec, size_t len)
{
	struct outbox_view	*o = arg;
	struct sent		*p, *nv;
	size_t			 cap;

	if (kind == OUTBOX_ACK) {
		if (seq > o->acked)
			o->acked = seq;
		return 0;
	}
	if ((o->want != 0 && kind != o->want) ||
	    (o->since != 0 && when < o->since))
		return 0;
	if (o->n == o->cap) {
		cap = o->cap == 0 ? 1024 : o->cap * 2;
		if ((nv = reallocarray(o->v, cap, sizeof(*nv))) == NULL) {
			fprintf(stderr, "porthole: out of memory\n");
			return -1;
		}
		o->v = nv;
		o->cap = cap;
	}
	p = &o->v[o->n++];
	p->seq = seq;
	p->when = when;
	p->cls = kind;
	p->len = len;
	p->rec = o->want != 0 ? json_loadb(rec, len, 0, NULL) : NULL;
	return 0;
}

static void
view_free(struct outbox_view *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		json_decref(o->v[i].rec);
	free(o->v);
}

/* state_dir/outbox of the gateway conf names; *pol for the caller. */
static int
outbox_dir(const char *conf, struct policy **pol, char *dir, size_t len)
{
	char err[1024];

	if (policy_load(conf, pol, err, sizeof(err)) == -1) {
		fprintf(stderr, "porthole: %s\n", err);
		return -1;
	}
	snprintf(dir, len, "%s/%s", (*pol)->state_dir, OUTBOX_DIR);
	return 0;
}

/* Read the outbox into o.  0, or -1 (said). */
static int
outbox_load(const char *conf, struct outbox_view *o, outbox_fn fn,
    struct policy **pol)
{
	char dir[4200], why[4400];

	if (outbox_dir(conf, pol, dir, sizeof(dir)) == -1)
		return -1;
	if (outbox_read(dir, fn, o, why, sizeof(why)) == -1) {
		fprintf(stderr, "porthole: %s%s\n", why, errno == EACCES ?
		    " (the outbox is read from state_dir: run as root)" : "");
		return -1;
	}
	return 0;
}

static int
cmd_list(struct outbox_view *o)
{
	json_t	*rows, *row;
	char	 when[32];
	size_t	 i;

	if (o->json) {
		if ((rows = json_array()) == NULL)
			return 1;
		for (i = 0; i < o->n; i++) {
			parse_format_time(o->v[i].when, when, sizeof(when));
			row = json_pack("{s:I, s:s, s:s, s:b, s:I}", "seq",
			    (json_int_t)o->v[i].seq, "class",
			    record_class_name(o->v[i].cls), "sent", when,
			    "acknowledged", o->v[i].seq <= o->acked, "bytes",
			    (json_int_t)o->v[i].len);
			if (row == NULL || json_array_append_new(rows, row))
				return 1;
		}
		json_dumpf(rows, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(rows);
		return 0;
	}
	printf("%12s  %-6s  %-20s  %-12s  %7s\n", "SEQ", "CLASS", "SENT",
	    "ACKNOWLEDGED", "BYTES");
	for (i = 0; i < o->n; i++) {
		parse_format_time(o->v[i].when, when, sizeof(when));
		printf("%12" PRIu64 "  %-6s  %-20s  %-12s  %7zu\n",
		    o->v[i].seq, record_class_name(o->v[i].cls), when,
		    o->v[i].seq <= o->acked ? "yes" : "no", o->v[i].len);
	}
	return 0;
}

/* telemetry show: the record's bytes, as they went out. */
static int
show_one(void *arg, uint64_t seq, int kind, time_t when, const char *rec,
    size_t len)
{
	struct outbox_view	*o = arg;
	char			*text;

	(void)when;
	if (kind == OUTBOX_ACK || seq != o->show)
		return 0;
	o->found = 1;
	/*
	 * Exact when it goes to a file or a pipe; a terminal gets it by the
	 * views' escaping rule, for a producer chose what it holds.
	 */
	if (!isatty(STDOUT_FILENO)) {
		fwrite(rec, 1, len, stdout);
		return 1;
	}
	if ((text = strndup(rec, len)) == NULL)
		return -1;
	(void)escape_fputs(text, stdout);
	putchar('\n');
	free(text);
	return 1;
}

static int
cmd_show(const char *conf, const char *arg)
{
	struct outbox_view	 o;
	struct policy		*pol = NULL;
	uint64_t		 seq;
	int			 rc = 1;

	if (parse_uint(arg, 1, INT64_MAX, &seq) == -1) {
		fprintf(stderr, "porthole: telemetry show: '%s' is not a "
		    "sequence number\n", arg);
		return 2;
	}
	memset(&o, 0, sizeof(o));
	o.show = seq;
	if (outbox_load(conf, &o, show_one, &pol) == -1)
		goto out;
	if (!o.found) {
		fprintf(stderr, "porthole: telemetry show: no record %" PRIu64
		    " in %s/%s (not sent yet, or older than outbox_keep)\n",
		    seq, pol->state_dir, OUTBOX_DIR);
		goto out;
	}
	rc = 0;
out:
	policy_free(pol);
	return rc;
}

/* An event's fields but class, type and ts, as key=value, escaped. */
static void
print_fields(json_t *rec)
{
	const char	*key;
	json_t		*val;
	int		 first = 1;

	json_object_foreach(rec, key, val) {
		if (strcmp(key, "class") == 0 || strcmp(key, "type") == 0 ||
		    strcmp(key, "ts") == 0)
			continue;
		if (!first)
			putchar(' ');
		first = 0;
		(void)escape_fputs(key, stdout);
		putchar('=');
		(void)cli_view_value(val, stdout);
	}
}

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s == NULL ? "-" : s;
}

static int
cmd_events(struct outbox_view *o)
{
	json_t	*rows, *row;
	char	 when[32], *type;
	size_t	 i;

	if (o->json) {
		if ((rows = json_array()) == NULL)
			return 1;
		for (i = 0; i < o->n; i++) {
			parse_format_time(o->v[i].when, when, sizeof(when));
			row = json_pack("{s:I, s:s, s:b, s:O?}", "seq",
			    (json_int_t)o->v[i].seq, "sent", when,
			    "acknowledged", o->v[i].seq <= o->acked, "record",
			    o->v[i].rec);
			if (row == NULL || json_array_append_new(rows, row))
				return 1;
		}
		json_dumpf(rows, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(rows);
		return 0;
	}
	printf("%-20s  %-22s  %8s  %s\n", "TS", "TYPE", "SEQ", "FIELDS");
	for (i = 0; i < o->n; i++) {
		if ((type = escape_dup(jstr(o->v[i].rec, "type"))) == NULL)
			return 1;
		printf("%-20s  %-22s  %8" PRIu64 "  ", jstr(o->v[i].rec, "ts"),
		    type, o->v[i].seq);
		free(type);
		print_fields(o->v[i].rec);
		putchar('\n');
	}
	return 0;
}

/* One row of the usage export. */
struct urow {
	time_t		 hour;
	const char	*env;
	const char	*unit;
	double		 amount;
};

static int
urow_cmp(const void *a, const void *b)
{
	const struct urow	*x = a, *y = b;
	int			 c;

	if (x->hour != y->hour)
		return x->hour < y->hour ? -1 : 1;
	if ((c = strcmp(x->env, y->env)) != 0)
		return c;
	return strcmp(x->unit, y->unit);
}

/*
 * The newest usage record of each hour and environment, as the relay
 * keeps it: a later record replaces an earlier one, units and all.
 */
static json_t *
usage_latest(struct outbox_view *o)
{
	json_t	*latest, *rec;
	char	 key[256];
	size_t	 i;

	if ((latest = json_object()) == NULL)
		return NULL;
	for (i = 0; i < o->n; i++) {
		rec = o->v[i].rec;
		snprintf(key, sizeof(key), "%s %s", jstr(rec, "hour"),
		    jstr(rec, "environment"));
		if (json_object_set(latest, key, rec) == -1) {
			json_decref(latest);
			return NULL;
		}
	}
	return latest;
}

static int
usage_rows(struct outbox_view *o, json_t *latest, struct urow **out,
    size_t *nout)
{
	const char	*k, *unit;
	json_t		*rec, *v;
	struct urow	*rows = NULL, *nr;
	size_t		 n = 0, cap = 0;
	time_t		 hour;

	json_object_foreach(latest, k, rec) {
		if (parse_time(jstr(rec, "hour"), &hour) == -1 ||
		    (o->since != 0 && hour < o->since) ||
		    (o->until != 0 && hour >= o->until))
			continue;
		json_object_foreach(json_object_get(rec, "units"), unit, v) {
			if (n == cap) {
				cap = cap == 0 ? 256 : cap * 2;
				if ((nr = reallocarray(rows, cap,
				    sizeof(*nr))) == NULL) {
					free(rows);
					return -1;
				}
				rows = nr;
			}
			rows[n].hour = hour;
			rows[n].env = jstr(rec, "environment");
			rows[n].unit = unit;
			rows[n++].amount = json_number_value(v);
		}
	}
	if (n > 0)
		qsort(rows, n, sizeof(*rows), urow_cmp);
	*out = rows;
	*nout = n;
	return 0;
}

static int
cmd_usage(struct outbox_view *o, const struct policy *pol)
{
	struct urow	*rows = NULL;
	json_t		*latest, *arr = NULL, *row;
	char		 hour[32], *env, *unit;
	size_t		 i, n;
	int		 rc = 1;

	if ((latest = usage_latest(o)) == NULL ||
	    usage_rows(o, latest, &rows, &n) == -1 ||
	    (o->json && (arr = json_array()) == NULL)) {
		fprintf(stderr, "porthole: out of memory\n");
		goto out;
	}
	if (o->csv)
		fputs("cluster,hour,environment,unit,amount\r\n", stdout);
	else if (!o->json)
		printf("%-20s  %-24s  %-16s  %14s\n", "HOUR", "ENVIRONMENT",
		    "UNIT", "AMOUNT");
	for (i = 0; i < n; i++) {
		parse_format_time(rows[i].hour, hour, sizeof(hour));
		if (o->csv) {
			if (csv_text(stdout, pol->cluster_id, 1) == -1 ||
			    csv_text(stdout, hour, 0) == -1 ||
			    csv_text(stdout, rows[i].env, 0) == -1 ||
			    csv_text(stdout, rows[i].unit, 0) == -1 ||
			    csv_number(stdout, rows[i].amount) == -1 ||
			    csv_end(stdout) == -1)
				goto out;
		} else if (o->json) {
			row = json_pack("{s:s, s:s, s:s, s:f}", "hour", hour,
			    "environment", rows[i].env, "unit", rows[i].unit,
			    "amount", rows[i].amount);
			if (row == NULL || json_array_append_new(arr, row))
				goto out;
		} else {
			env = escape_dup(rows[i].env);
			unit = escape_dup(rows[i].unit);
			if (env == NULL || unit == NULL) {
				free(env);
				free(unit);
				goto out;
			}
			printf("%-20s  %-24s  %-16s  %14.15g\n", hour, env,
			    unit, rows[i].amount);
			free(env);
			free(unit);
		}
	}
	if (o->json) {
		json_dumpf(arr, stdout, JSON_COMPACT);
		putchar('\n');
	}
	rc = 0;
out:
	free(rows);
	json_decref(arr);
	json_decref(latest);
	return rc;
}

/* --since, --until, --json, --csv as the command allows them. */
static int
view_args(int argc, char **argv, struct outbox_view *o, int until_csv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "csv", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
		case 'u':
			if (ch == 'u' && !until_csv)
				return -1;
			if (parse_when(optarg, clock_now(), ch == 's' ?
			    &o->since : &o->until) == -1) {
				fprintf(stderr, "porthole: --%s: '%s' is not "
				    "a time: expected %s\n", ch == 's' ?
				    "since" : "until", optarg,
				    PARSE_WHEN_FORMS);
				return -1;
			}
			break;
		case 'j':
			o->json = 1;
			break;
		case 'c':
			if (!until_csv)
				return -1;
			o->csv = 1;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc || (o->json && o->csv))
		return -1;
	return 0;
}

int
cli_telemetry(int argc, char **argv, const char *conf)
{
	struct outbox_view	 o;
	struct policy		*pol = NULL;
	time_t			 since;
	int			 rc = 1, is_usage, is_events;

	if (strcmp(argv[0], "telemetry") == 0 && argc >= 2 &&
	    strcmp(argv[1], "show") == 0) {
		if (argc != 3)
			return usage_error();
		return cmd_show(conf, argv[2]);
	}
	memset(&o, 0, sizeof(o));
	is_usage = strcmp(argv[0], "usage") == 0;
	is_events = strcmp(argv[0], "events") == 0;
	if (view_args(argc, argv, &o, is_usage) == -1)
		return usage_error();
	o.want = is_usage ? RECORD_USAGE : is_events ? RECORD_EVENT : 0;
	/* usage's --since and --until bound the hours, not the sending. */
	since = o.since;
	if (is_usage)
		o.since = 0;
	if (outbox_load(conf, &o, collect_sent, &pol) == -1)
		goto out;
	o.since = since;
	if (is_usage)
		rc = cmd_usage(&o, pol);
	else if (is_events)
		rc = cmd_events(&o);
	else
		rc = cmd_list(&o);
	if (rc == 0 && (fflush(stdout) == EOF || ferror(stdout))) {
		fprintf(stderr, "porthole: standard output: %s\n",
		    strerror(errno));
		rc = 1;
	}
out:
	view_free(&o);
	policy_free(pol);
	return rc;
}
