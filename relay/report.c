/*
 * report.c - porthole-relay's reports: the store's rows laid out as a
 * table for a person, or as one JSON document for a program.
 *
 * A cluster's gateway is not trusted with the operator's terminal.  What
 * it sent (event fields, unit names, its version and host key) reaches
 * a table only through escape_dup(), which shows C0 and C1 controls,
 * DEL and stray bytes as \xNN; the JSON form carries the same values
 * unchanged, since a JSON reader is not a terminal.  Every cell of a
 * table is escaped, ours too: ours have nothing to escape, and one path
 * for all cells leaves nothing to forget.
 */
#include "relay/report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/clock.h"
#include "lib/csv.h"
#include "lib/escape.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "relay/analysis.h"
#include "relay/relay_conf.h"
#include "relay/store.h"
#include "telemetry/license.h"
#include "telemetry/notice.h"

#define TABLE_MAXCOLS	10

/* A table being laid out: cells are kept until the widths are known. */
struct table {
	size_t		 ncols;
	size_t		 nrows;
	size_t		 cap;
	char		**cells;	/* escaped */
	size_t		 width[TABLE_MAXCOLS];
	unsigned	 right;		/* bit n: right-align column n */
};

/* One report being made: the table, or the JSON array. */
struct report {
	enum report_form	 form;
	struct table		 t;
	json_t			*rows;
};

static void
nomem(void)
{
	fprintf(stderr, "porthole-relay: out of memory\n");
}

/*
 * Columns a cell takes: its characters, not its bytes (a cell is UTF-8
 * once escaped).  Wide characters are taken as one column.
 */
static size_t
columns(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void
table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}

/* Append one row of t->ncols cells, escaped.  0 or -1 (out of memory). */
static int
table_add(struct table *t, ...)
{
	va_list		 ap;
	char		**nc;
	size_t		 i, base, w;
	int		 rc = 0;

	if (t->nrows == t->cap) {
		nc = reallocarray(t->cells, (t->cap + 16) * 2, t->ncols *
		    sizeof(*nc));
		if (nc == NULL) {
			nomem();
			return -1;
		}
		t->cells = nc;
		t->cap = (t->cap + 16) * 2;
	}
	base = t->nrows * t->ncols;
	va_start(ap, t);
	for (i = 0; i < t->ncols; i++) {
		if ((t->cells[base + i] = escape_dup(va_arg(ap,
		    const char *))) == NULL)
			rc = -1;
		else if ((w = columns(t->cells[base + i])) > t->width[i])
			t->width[i] = w;
	}
	va_end(ap);
	/* A half-made row still counts, so table_free() frees it. */
	t->nrows++;
	if (rc == -1)
		nomem();
	return rc;
}

/* Columns two spaces apart; the last one is not padded. */
static int
table_print(const struct table *t, FILE *out)
{
	const char	*c;
	size_t		 r, i, pad;

	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			c = t->cells[r * t->ncols + i];
			pad = t->width[i] - columns(c);
			if (t->right & (1u << i))
				fprintf(out, "%*s%s", (int)pad, "", c);
			else if (i + 1 < t->ncols)
				fprintf(out, "%s%*s", c, (int)pad, "");
			else
				fputs(c, out);
			fputs(i + 1 == t->ncols ? "\n" : "  ", out);
		}
	}
	return ferror(out) ? -1 : 0;
}

/*
 * A string from the store as JSON.  The store keeps only UTF-8, so this
 * is the value itself; a database from before that rule may hold other
 * bytes, which JSON cannot carry: those values are given escaped.
 */
static json_t *
jtext(const char *s)
{
	json_t	*j;
	char	*e;

	if ((j = json_string(s)) != NULL)
		return j;
	if ((e = escape_dup(s)) == NULL)
		return NULL;
	j = json_string(e);
	free(e);
	return j;
}

/* A time as RFC 3339, or null for "never" (0). */
static json_t *
jtime(time_t t)
{
	char buf[32];

	if (t == 0)
		return json_null();
	parse_format_time(t, buf, sizeof(buf));
	return json_string(buf);
}

/* Add a row object (stolen) to a JSON report.  0 or -1. */
static int
json_row(struct report *r, json_t *row)
{
	if (row == NULL || json_array_append_new(r->rows, row) == -1) {
		nomem();
		return -1;
	}
	return 0;
}

/* Start a report: the header row of a table, or an empty array. */
static int
report_begin(struct report *r, enum report_form form, size_t ncols,
    unsigned right)
{
	memset(r, 0, sizeof(*r));
	/* A report wider than the table can hold is a bug: refused. */
	if (ncols > TABLE_MAXCOLS) {
		fprintf(stderr, "porthole-relay: a report of %zu columns (at "
		    "most %d)\n", ncols, TABLE_MAXCOLS);
		return -1;
	}
	r->form = form;
	r->t.ncols = ncols;
	r->t.right = right;
	if (form == REPORT_JSON && (r->rows = json_array()) == NULL) {
		nomem();
		return -1;
	}
	return 0;
}

/* Write what was gathered (unless failed) and free it.  0 or -1. */
static int
report_end(struct report *r, int failed, FILE *out)
{
	int rc = failed ? -1 : 0;

	if (!failed && r->form == REPORT_JSON) {
		if (json_dumpf(r->rows, out, JSON_COMPACT) == -1 ||
		    fputc('\n', out) == EOF)
			rc = -1;
	} else if (!failed)
		rc = table_print(&r->t, out);
	table_free(&r->t);
	json_decref(r->rows);
	return rc;
}

/*
 * "3 nodes, 5/6 services up" from the newest health snapshot's counts;
 * "-" if there is none.
 */
static void
health_text(const struct store_cluster_info *ci, char *buf, size_t len)
{
	size_t off = 0;

	snprintf(buf, len, "-");
	if (!ci->has_health)
		return;
	buf[0] = '\0';
	if (ci->health_nodes >= 0)
		off = (size_t)snprintf(buf, len, "%" PRId64 " node%s",
		    ci->health_nodes, ci->health_nodes == 1 ? "" : "s");
	if (ci->health_services >= 0 && off < len)
		snprintf(buf + off, len - off, "%s%" PRId64 "/%" PRId64
		    " services up", off > 0 ? ", " : "",
		    ci->health_services_up, ci->health_services);
	if (buf[0] == '\0')
		snprintf(buf, len, "-");
}

static json_t *
health_json(const struct store_cluster_info *ci)
{
	json_t *h;

	if (!ci->has_health)
		return json_null();
	if ((h = json_object()) == NULL)
		return NULL;
	if (ci->health_nodes >= 0)
		json_object_set_new(h, "nodes", json_integer(ci->health_nodes));
	if (ci->health_services >= 0) {
		json_object_set_new(h, "services",
		    json_integer(ci->health_services));
		json_object_set_new(h, "services_up",
		    json_integer(ci->health_services_up));
	}
	return h;
}

/* One cluster a report lists: relay.conf's or the registry's. */
struct known {
	char			 id[65];
	struct relay_cluster	 lic;
	int			 from_conf;
};

struct known_list {
	struct known	*k;
	size_t		 n, cap;
	const struct relay_conf *conf;
};

static int
known_add(struct known_list *l, const char *id,
    const struct relay_cluster *lic, int from_conf)
{
	struct known *nk;

	if (l->n == l->cap) {
		if ((nk = reallocarray(l->k, l->cap + 64, sizeof(*nk))) ==
		    NULL) {
			nomem();
			return -1;
		}
		l->k = nk;
		l->cap += 64;
	}
	snprintf(l->k[l->n].id, sizeof(l->k[l->n].id), "%s", id);
	l->k[l->n].lic = *lic;
	l->k[l->n].lic.id = l->k[l->n].id;
	l->k[l->n].lic.key = NULL;
	l->k[l->n].from_conf = from_conf;
	l->n++;
	return 0;
}

static int
known_registry(const struct store_registry *x, void *arg)
{
	struct known_list	*l = arg;
	struct relay_cluster	 lic;

	/* relay.conf decides for the clusters it names. */
	if (relay_conf_cluster(l->conf, x->id, NULL) != NULL)
		return 0;
	memset(&lic, 0, sizeof(lic));
	lic.trial = x->trial;
	lic.license_expires = x->expires;
	lic.overage = x->overage;
	return known_add(l, x->id, &lic, 0);
}

/*
 * The clusters the relays know: relay.conf's in its order, then the
 * cluster registry's that relay.conf does not name, by id.  0 with *l
 * (free l->k), or -1 (said).
 */
static int
known_clusters(const struct relay_conf *conf, struct store *st,
    struct known_list *l)
{
	size_t i;

	memset(l, 0, sizeof(*l));
	l->conf = conf;
	for (i = 0; i < conf->nclusters; i++)
		if (known_add(l, conf->clusters[i].id, &conf->clusters[i],
		    1) == -1)
			goto fail;
	if (store_registry_rows(st, known_registry, l) == -1)
		goto fail;
	return 0;
fail:
	free(l->k);
	l->k = NULL;
	return -1;
}

/* The relays a cluster has a tunnel to, those heard from lately. */
struct relays_seen {
	json_t	*names;
	char	 text[512];
	time_t	 now;
};

static int
relay_seen(const struct store_relay_row *x, void *arg)
{
	struct relays_seen	*rs = arg;
	size_t			 n = strlen(rs->text);

	/* A relay killed, or cut off from the store, holds no tunnel. */
	if (x->seen < rs->now - STORE_RELAY_STALE)
		return 0;
	if (json_array_append_new(rs->names, json_string(x->relay)) == -1) {
		nomem();
		return -1;
	}
	snprintf(rs->text + n, sizeof(rs->text) - n, "%s%s", n > 0 ? "," : "",
	    x->relay);
	return 0;
}

/*
 * One cluster with what the store knows of it (seen == 0: it never
 * connected) and the relays of the fleet it has a tunnel to, as each
 * relay recorded it in the store.
 */
static int
cluster_row(struct report *r, const struct known *k,
    const struct store_cluster_info *ci, int seen, time_t now,
    struct relays_seen *rs)
{
	const struct relay_cluster	*rc = &k->lic;
	char				 expires[32], contact[32], days[32];
	char				 nrec[32], health[96];
	int64_t				 offline;
	int				 connected;

	connected = json_array_size(rs->names) > 0;
	offline = !seen ? -1 : connected ? 0 :
	    (int64_t)license_offline_days(ci->last_contact, now);
	if (r->form == REPORT_JSON)
		return json_row(r, json_pack("{s:s, s:s, s:s, s:o, s:b, s:b, "
		    "s:b, s:O, s:o, s:o, s:o, s:o, s:I, s:I, s:o}",
		    "cluster", rc->id,
		    "source", k->from_conf ? "relay.conf" : "registry",
		    "license", rc->trial ? "trial" : "full",
		    "license_expires", jtime(rc->license_expires),
		    "overage", rc->overage,
		    "seen", seen,
		    "connected", connected,
		    "relays", rs->names,
		    "first_seen", jtime(seen ? ci->first_seen : 0),
		    "last_contact", jtime(seen ? ci->last_contact : 0),
		    "offline_days", offline < 0 ? json_null() :
		    json_integer(offline),
		    "version", seen && ci->version[0] != '\0' ?
		    jtext(ci->version) : json_null(),
		    "last_seq", (json_int_t)(seen ? ci->last_seq : 0),
		    "records", (json_int_t)(seen ? ci->records : 0),
		    "health", seen ? health_json(ci) : json_null()));
	if (rc->license_expires != 0)
		parse_format_time(rc->license_expires, expires,
		    sizeof(expires));
	else
		snprintf(expires, sizeof(expires), "-");
	if (seen)
		parse_format_time(ci->last_contact, contact, sizeof(contact));
	else
		snprintf(contact, sizeof(contact), "never");
	if (offline < 0)
		snprintf(days, sizeof(days), "-");
	else
		snprintf(days, sizeof(days), "%" PRId64, offline);
	snprintf(nrec, sizeof(nrec), "%" PRIu64, seen ? ci->records : 0);
	if (seen)
		health_text(ci, health, sizeof(health));
	else
		snprintf(health, sizeof(health), "-");
	return table_add(&r->t, rc->id, rc->trial ? "trial" : "full", expires,
	    connected ? "yes" : "no", contact, days,
	    seen && ci->version[0] != '\0' ? ci->version : "-", nrec, health,
	    connected ? rs->text : "-");
}

/* Every cluster the relays know, seen or not (known_clusters). */
int
report_clusters(const struct relay_conf *conf, struct store *st, time_t now,
    enum report_form form, FILE *out)
{
	struct store_cluster_info	ci;
	struct known_list		l;
	struct relays_seen		rs;
	struct report			r;
	size_t				i;
	int				seen, failed = 0;

	if (known_clusters(conf, st, &l) == -1)
		return -1;
	/* RECORDS is a count: right-aligned. */
	if (report_begin(&r, form, 10, 1u << 7) == -1) {
		free(l.k);
		return -1;
	}
	if (form == REPORT_TEXT)
		failed = table_add(&r.t, "CLUSTER", "LICENSE", "EXPIRES",
		    "CONNECTED", "LAST-CONTACT", "OFFLINE-DAYS", "VERSION",
		    "RECORDS", "HEALTH", "RELAYS") == -1;
	for (i = 0; !failed && i < l.n; i++) {
		rs.now = now;
		rs.text[0] = '\0';
		if ((rs.names = json_array()) == NULL) {
			nomem();
			failed = 1;
			break;
		}
		if ((seen = store_cluster_info(st, l.k[i].id, &ci)) == -1 ||
		    store_cluster_relays(st, l.k[i].id, relay_seen,
		    &rs) == -1 || cluster_row(&r, &l.k[i], &ci, seen, now,
		    &rs) == -1)
			failed = 1;
		json_decref(rs.names);
	}
	free(l.k);
	return report_end(&r, failed, out);
}

/*
 * known_hosts lines for engineers: each cluster's session host key as
 * its gateway reported it.  The relay is not trusted with sessions, so
 * the lines say where they come from; compare them with the customer.
 */
int
report_known_hosts(const struct relay_conf *conf, struct store *st,
    enum report_form form, FILE *out)
{
	struct store_cluster_info	ci;
	struct known_list		l;
	struct report			r;
	size_t				i;
	int				failed = 0;

	if (known_clusters(conf, st, &l) == -1)
		return -1;
	if (report_begin(&r, form, 0, 0) == -1) {
		free(l.k);
		return -1;
	}
	if (form == REPORT_TEXT)
		fprintf(out, "# session host keys reported by the clusters' "
		    "gateways to this relay;\n# confirm them with each "
		    "customer before trusting them\n");
	for (i = 0; !failed && i < l.n; i++) {
		if (store_cluster_info(st, l.k[i].id, &ci) == -1)
			failed = 1;
		else if (ci.host_key[0] == '\0')
			continue;
		else if (form == REPORT_JSON)
			failed = json_row(&r, json_pack("{s:s, s:o}",
			    "cluster", l.k[i].id, "host_key",
			    jtext(ci.host_key))) == -1;
		else if (fprintf(out, "%s ", l.k[i].id) < 0 ||
		    escape_fputs(ci.host_key, out) == -1 ||
		    fputc('\n', out) == EOF)
			failed = 1;	/* a file format: no columns */
	}
	free(l.k);
	return report_end(&r, failed, out);
}

/* The usage report: its rows, and the cluster the CSV form names. */
struct usage_out {
	struct report	*r;
	const char	*cluster;
	FILE		*out;
};

static int
usage_row(const struct store_usage_row *u, void *arg)
{
	struct usage_out	*uo = arg;
	struct report		*r = uo->r;
	char			 hour[32], amount[64];

	parse_format_time(u->hour, hour, sizeof(hour));
	if (r->form == REPORT_CSV)
		return csv_text(uo->out, uo->cluster, 1) == -1 ||
		    csv_text(uo->out, hour, 0) == -1 ||
		    csv_text(uo->out, u->environment, 0) == -1 ||
		    csv_text(uo->out, u->unit, 0) == -1 ||
		    csv_number(uo->out, u->amount) == -1 ||
		    csv_end(uo->out) == -1 ? -1 : 0;
	if (r->form == REPORT_JSON)
		return json_row(r, json_pack("{s:s, s:o, s:o, s:f}", "hour",
		    hour, "environment", jtext(u->environment), "unit",
		    jtext(u->unit), "amount", u->amount));
	/* As short as it can be without losing what was summed. */
	snprintf(amount, sizeof(amount), "%.15g", u->amount);
	return table_add(&r->t, hour, u->environment, u->unit, amount);
}

int
report_usage(struct store *st, const char *cluster, enum report_form form,
    FILE *out)
{
	return report_usage_range(st, cluster, 0, 0, form, out);
}

int
report_usage_range(struct store *st, const char *cluster, time_t since,
    time_t until, enum report_form form, FILE *out)
{
	struct report		r;
	struct usage_out	uo = { &r, cluster, out };
	int			failed = 0;

	if (report_begin(&r, form, 4, 1u << 3) == -1)
		return -1;
	if (form == REPORT_TEXT)
		failed = table_add(&r.t, "HOUR", "ENVIRONMENT", "UNIT",
		    "AMOUNT") == -1;
	else if (form == REPORT_CSV)
		failed = fputs("cluster,hour,environment,unit,amount\r\n",
		    out) == EOF;
	if (!failed)
		failed = store_usage_range(st, cluster, since,
		    until != 0 ? until : INT64_MAX, usage_row, &uo) == -1;
	if (form == REPORT_CSV) {
		r.form = REPORT_TEXT;	/* the rows are written already */
		return report_end(&r, failed || ferror(out), out);
	}
	return report_end(&r, failed, out);
}

/*
 * A field's name or string value goes into "key=value" words as it is
 * when that cannot be misread: some printable ASCII, without a space, a
 * quote, '=' or a backslash.  Anything else - a space, which would let
 * a value hold " engineer=x" and pass it off as a field of its own,
 * a character outside ASCII (U+00A0 looks like a space), a control, an
 * empty string - is written as a JSON string, in double quotes.
 */
static void
field_word(FILE *f, const char *s)
{
	const unsigned char	*p;
	json_t			*j;
	char			*enc;
	int			 plain = *s != '\0';

	for (p = (const unsigned char *)s; plain && *p != '\0'; p++)
		plain = *p > 0x20 && *p < 0x7f && *p != '"' && *p != '=' &&
		    *p != '\\';
	if (plain) {
		fputs(s, f);
		return;
	}
	if ((j = json_string(s)) != NULL && (enc = json_dumps(j,
	    JSON_ENCODE_ANY)) != NULL) {
		fputs(enc, f);
		free(enc);
	} else
		fputs("\"?\"", f);	/* not UTF-8: the store never keeps it */
	json_decref(j);
}

/*
 * An event's fields other than those with a column of their own, as
 * "key=value" words: names and strings as field_word() writes them,
 * anything else as compact JSON.  The caller escapes the result with
 * the rest of the cell.  NULL when out of memory; the stored text if it
 * is not a JSON object (it always is: the store wrote it).
 */
static char *
event_fields(json_t *rec, const char *text)
{
	const char	*key;
	json_t		*val;
	char		*buf = NULL, *enc;
	size_t		 len = 0;
	FILE		*f;
	int		 first = 1;

	if (!json_is_object(rec))
		return strdup(text);
	if ((f = open_memstream(&buf, &len)) == NULL)
		return NULL;
	json_object_foreach(rec, key, val) {
		if (strcmp(key, "class") == 0 || strcmp(key, "type") == 0 ||
		    strcmp(key, "ts") == 0)
			continue;
		if (!first)
			fputc(' ', f);
		first = 0;
		field_word(f, key);
		fputc('=', f);
		if (json_is_string(val))
			field_word(f, json_string_value(val));
		else if ((enc = json_dumps(val, JSON_COMPACT |
		    JSON_ENCODE_ANY)) != NULL) {
			fputs(enc, f);
			free(enc);
		}
	}
	if (fclose(f) == EOF) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int
event_row(const struct store_event_row *e, void *arg)
{
	struct report	*r = arg;
	json_t		*rec;
	char		 seq[32], *fields;
	int		 rc;

	rec = json_loads(e->record, 0, NULL);
	if (r->form == REPORT_JSON)
		return json_row(r, json_pack("{s:I, s:o, s:o, s:o}", "seq",
		    (json_int_t)e->seq, "ts", jtext(e->ts), "type",
		    jtext(e->type), "record", rec != NULL ? rec :
		    jtext(e->record)));
	snprintf(seq, sizeof(seq), "%" PRId64, e->seq);
	fields = event_fields(rec, e->record);
	json_decref(rec);
	if (fields == NULL) {
		nomem();
		return -1;
	}
	rc = table_add(&r->t, e->ts, e->type, seq, fields);
	free(fields);
	return rc;
}

int
report_events(struct store *st, const char *cluster, enum report_form form,
    FILE *out)
{
	struct report	r;
	int		failed = 0;

	if (report_begin(&r, form, 4, 1u << 2) == -1)
		return -1;
	if (form == REPORT_TEXT)
		failed = table_add(&r.t, "TS", "TYPE", "SEQ", "FIELDS") == -1;
	if (!failed)
		failed = store_event_rows(st, cluster, event_row, &r) == -1;
	return report_end(&r, failed, out);
}

/* The text form is a file format, not a table: written as it comes. */
struct anchors_out {
	struct report	*r;
	FILE		*out;
};

static int
anchor_row(const struct store_anchor_row *a, void *arg)
{
	struct anchors_out	*ao = arg;
	char			 when[32], *head;

	parse_format_time(a->received, when, sizeof(when));
	if (ao->r->form == REPORT_JSON)
		return json_row(ao->r, json_pack("{s:I, s:I, s:o, s:s}",
		    "epoch", (json_int_t)a->epoch, "seq", (json_int_t)a->seq,
		    "head", jtext(a->head), "received", when));
	/* The store took only hex digits; escaped all the same. */
	if ((head = escape_dup(a->head)) == NULL) {
		nomem();
		return -1;
	}
	fprintf(ao->out, "%" PRIu64 " %" PRIu64 " %s %s\n", a->epoch, a->seq,
	    head, when);
	free(head);
	return 0;
}

int
report_anchors(struct store *st, const char *cluster, enum report_form form,
    FILE *out)
{
	struct report		r;
	struct anchors_out	ao = { &r, out };
	int			failed;

	if (report_begin(&r, form, 0, 0) == -1)
		return -1;
	if (form == REPORT_TEXT)
		fprintf(out, "# epoch seq head received (porthole audit "
		    "verify --anchors FILE)\n");
	failed = store_anchor_rows(st, cluster, anchor_row, &ao) == -1;
	return report_end(&r, failed, out);
}

/*
 * A value a record gave, as a cell: a string as it is, a number in its
 * shortest exact form, "-" when absent; anything else as compact JSON.
 * Returns buf.
 */
static const char *
cell(json_t *v, char *buf, size_t len)
{
	char *enc;

	if (v == NULL || json_is_null(v))
		snprintf(buf, len, "-");
	else if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.15g", json_real_value(v));
	else if ((enc = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) !=
	    NULL) {
		snprintf(buf, len, "%s", enc);
		free(enc);
	} else
		snprintf(buf, len, "?");
	return buf;
}

/*
 * Bytes for a person: "12.1G" (powers of 1024), "-" when absent, and a
 * value out of bounds (below 0, not a number) as it was sent.
 */
static const char *
bytes_cell(json_t *v, char *buf, size_t len)
{
	static const char	 units[] = "BKMGTPE";
	double			 d;
	size_t			 u = 0;

	if (!json_is_number(v) || !isfinite(d = json_number_value(v)) ||
	    d < 0 || d > 9.2e18)
		return cell(v, buf, len);
	while (d >= 1024 && u + 1 < sizeof(units) - 1) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0fB", d);
	else
		snprintf(buf, len, "%.1f%c", d, units[u]);
	return buf;
}

/* The health report: three tables, or one JSON array. */
struct health_out {
	struct report	*r;
	struct table	 svc;
	struct table	 disks;
};

static int
health_disk_rows(struct table *t, const char *node, json_t *disks,
    const char *when)
{
	json_t		*d;
	size_t		 i;
	double		 size, used, avail;
	char		 a[64], b[64], c[64], pct[16], path[1100];

	json_array_foreach(disks, i, d) {
		pct[0] = '\0';
		if (json_is_number(json_object_get(d, "size")) &&
		    json_is_number(json_object_get(d, "used")) &&
		    (size = json_number_value(json_object_get(d, "size"))) >
		    0 && (used = json_number_value(json_object_get(d,
		    "used"))) >= 0 && used <= size) {
			avail = json_is_number(json_object_get(d, "free")) ?
			    json_number_value(json_object_get(d, "free")) : -1;
			snprintf(pct, sizeof(pct), "%.0f%%", avail >= 0 &&
			    avail <= size && used + avail > 0 ?
			    used * 100 / (used + avail) : used * 100 / size);
		}
		if (table_add(t, node, cell(json_object_get(d, "path"), path,
		    sizeof(path)), bytes_cell(json_object_get(d, "size"), a,
		    sizeof(a)), bytes_cell(json_object_get(d, "used"), b,
		    sizeof(b)), bytes_cell(json_object_get(d, "free"), c,
		    sizeof(c)), pct[0] != '\0' ? pct : "-", when) == -1)
			return -1;
	}
	return 0;
}

/*
 * A node's or a service's JSON row: what the gateway sent (body, taken
 * over; an object, else nothing of it) with the relay's own fields set
 * over it: kind, name, how many probes in a row found a service down
 * (down; NULL for a node), the snapshot's seq and when it came.
 */
static int
health_json_row(struct report *r, json_t *body, const char *kind,
    const char *name, const int64_t *down, int64_t seq, time_t ts)
{
	json_t *row;

	row = json_is_object(body) ? json_deep_copy(body) : json_object();
	json_decref(body);
	if (row == NULL)
		return json_row(r, NULL);
	json_object_set_new(row, "kind", json_string(kind));
	json_object_set_new(row, "name", jtext(name));
	if (down != NULL)
		json_object_set_new(row, "down_in_a_row",
		    json_integer(*down));
	json_object_set_new(row, "seq", json_integer(seq));
	json_object_set_new(row, "reported", jtime(ts));
	return json_row(r, row);
}

static int
health_node(const struct store_node_row *n, void *arg)
{
	struct health_out	*ho = arg;
	struct report		*r = ho->r;
	json_t			*body = json_loads(n->body, 0, NULL);
	char			 when[32], cores[64], load[200], l1[64], l5[64];
	char			 l15[64], avail[64], total[64], mem[140];
	char			 up[64];
	int			 rc;

	if (r->form == REPORT_JSON)
		return health_json_row(r, body, "node", n->node, NULL, n->seq,
		    n->ts);
	parse_format_time(n->ts, when, sizeof(when));
	snprintf(load, sizeof(load), "%s %s %s", cell(json_object_get(body,
	    "load1"), l1, sizeof(l1)), cell(json_object_get(body, "load5"),
	    l5, sizeof(l5)), cell(json_object_get(body, "load15"), l15,
	    sizeof(l15)));
	snprintf(mem, sizeof(mem), "%s of %s", bytes_cell(json_object_get(body,
	    "mem_available"), avail, sizeof(avail)),
	    bytes_cell(json_object_get(body, "mem_total"), total,
	    sizeof(total)));
	rc = table_add(&r->t, n->node, cell(json_object_get(body, "cores"),
	    cores, sizeof(cores)), load, mem, cell(json_object_get(body,
	    "uptime_s"), up, sizeof(up)), when);
	if (rc == 0)
		rc = health_disk_rows(&ho->disks, n->node,
		    json_object_get(body, "disks"), when);
	json_decref(body);
	return rc;
}

static int
health_service(const struct store_service_row *sv, void *arg)
{
	struct health_out	*ho = arg;
	struct report		*r = ho->r;
	json_t			*body = json_loads(sv->body, 0, NULL);
	char			 when[32], addr[300], down[32], err[300];
	int			 rc;

	if (r->form == REPORT_JSON)
		return health_json_row(r, body, "service", sv->name, &sv->down,
		    sv->seq, sv->ts);
	parse_format_time(sv->ts, when, sizeof(when));
	snprintf(down, sizeof(down), "%" PRId64, sv->down);
	rc = table_add(&ho->svc, sv->name, cell(json_object_get(body,
	    "address"), addr, sizeof(addr)), sv->down > 0 ? "down" : "up",
	    down, cell(json_object_get(body, "error"), err, sizeof(err)),
	    when);
	json_decref(body);
	return rc;
}

int
report_health(struct store *st, const char *cluster, enum report_form form,
    FILE *out)
{
	struct report		r;
	struct health_out	ho;
	int			failed = 0;

	memset(&ho, 0, sizeof(ho));
	ho.r = &r;
	/* CORES, UPTIME; DOWN; SIZE, USED, FREE, USE%: right-aligned. */
	if (report_begin(&r, form, 6, 1u << 1 | 1u << 4) == -1)
		return -1;
	ho.svc.ncols = 6;
	ho.svc.right = 1u << 3;
	ho.disks.ncols = 7;
	ho.disks.right = 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5;
	if (form == REPORT_TEXT)
		failed = table_add(&r.t, "NODE", "CORES", "LOAD 1/5/15",
		    "MEMORY AVAILABLE", "UPTIME-S", "REPORTED") == -1 ||
		    table_add(&ho.svc, "SERVICE", "ADDRESS", "STATE",
		    "DOWN-IN-A-ROW", "ERROR", "REPORTED") == -1 ||
		    table_add(&ho.disks, "NODE", "DISK", "SIZE", "USED",
		    "FREE", "USE%", "REPORTED") == -1;
	if (!failed)
		failed = store_node_rows(st, cluster, health_node, &ho) == -1 ||
		    store_service_rows(st, cluster, health_service, &ho) == -1;
	if (!failed && form == REPORT_TEXT && (table_print(&r.t, out) == -1 ||
	    fputc('\n', out) == EOF || table_print(&ho.svc, out) == -1 ||
	    fputc('\n', out) == EOF || table_print(&ho.disks, out) == -1))
		failed = 1;
	table_free(&r.t);
	table_free(&ho.svc);
	table_free(&ho.disks);
	if (form == REPORT_TEXT)
		return failed ? -1 : 0;
	return report_end(&r, failed, out);
}

/* "open", "pending" (its condition has not held long enough), "cleared" */
static const char *
alert_state(const struct store_alert *a)
{
	return a->cleared != 0 ? "cleared" : a->raised != 0 ? "open" :
	    "pending";
}

static int
alert_row(const struct store_alert *a, void *arg)
{
	struct report	*r = arg;
	char		 id[32], since[32], cleared[32];

	if (r->form == REPORT_JSON)
		return json_row(r, json_pack("{s:I, s:o, s:s, s:s, s:o, s:s, "
		    "s:o, s:o, s:o, s:o, s:o}",
		    "id", (json_int_t)a->id,
		    "cluster", jtext(a->cluster),
		    "state", alert_state(a),
		    "rule", a->rule,
		    "subject", jtext(a->subject),
		    "severity", a->severity,
		    "text", jtext(a->text),
		    "first_seen", jtime(a->first_seen),
		    "last_seen", jtime(a->last_seen),
		    "raised", jtime(a->raised),
		    "cleared", jtime(a->cleared)));
	snprintf(id, sizeof(id), "%" PRId64, a->id);
	parse_format_time(a->raised != 0 ? a->raised : a->first_seen, since,
	    sizeof(since));
	if (a->cleared != 0)
		parse_format_time(a->cleared, cleared, sizeof(cleared));
	else
		snprintf(cleared, sizeof(cleared), "-");
	return table_add(&r->t, id, a->cluster, alert_state(a), a->severity,
	    a->rule, a->subject, since, cleared, a->text);
}

int
report_alerts(struct store *st, const char *cluster, enum report_form form,
    FILE *out)
{
	struct report	r;
	int		failed = 0;

	if (report_begin(&r, form, 9, 1u << 0) == -1)
		return -1;
	if (form == REPORT_TEXT)
		failed = table_add(&r.t, "ID", "CLUSTER", "STATE", "SEVERITY",
		    "RULE", "SUBJECT", "SINCE", "CLEARED", "TEXT") == -1;
	if (!failed)
		failed = store_alert_rows(st, cluster, alert_row, &r) == -1;
	return report_end(&r, failed, out);
}

/* What may follow a report's name. */
enum {
	RO_JSON = 1 << 0,	/* --json */
	RO_CSV = 1 << 1,	/* --csv */
	RO_RANGE = 1 << 2	/* --since T, --until T */
};

/*
 * Each cluster's updates, as the relay knows them: the versions it was
 * offered (update_notice messages, with what the gateway answered) and
 * what its gateway reported since (update_* events).  The events say
 * more than the answers, so a version with events is shown by them.
 */
#define UPD_MAX		64	/* versions shown per cluster */

struct upd {
	char		 version[VERSION_MAX_LEN + 1];
	int64_t		 message_id;
	time_t		 offered, acked;
	char		 delivery[STORE_RESULT_MAX + 16];	/* result */
	int64_t		 seq;		/* the newest event, 0: none */
	char		 state[24];	/* from the events */
	char		 when[32];	/* scheduled for, or the event's ts */
	char		 detail[320];
	int		 downloaded;
};

struct upd_list {
	struct upd	u[UPD_MAX];
	size_t		n;
};

static struct upd *
upd_get(struct upd_list *l, const char *version)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->u[i].version, version) == 0)
			return &l->u[i];
	if (l->n == UPD_MAX)
		return NULL;
	memset(&l->u[l->n], 0, sizeof(l->u[0]));
	snprintf(l->u[l->n].version, sizeof(l->u[0].version), "%s", version);
	return &l->u[l->n++];
}

/* A notice offered to the cluster: its version and the answer. */
static int
upd_delivery(const struct store_delivery *d, void *arg)
{
	struct upd_list	*l = arg;
	struct notice	 n;
	struct upd	*u;
	json_t		*body, *text;
	char		 why[256];

	body = json_loads(d->body, 0, NULL);
	text = json_object_get(body, "notice");
	if (!json_is_string(text) || notice_parse(json_string_value(text),
	    json_string_length(text), &n, why, sizeof(why)) == -1 ||
	    (u = upd_get(l, n.version)) == NULL) {
		json_decref(body);
		return 0;
	}
	json_decref(body);
	/* The newest message for a version is the one shown. */
	u->message_id = d->id;
	u->offered = d->offered;
	u->acked = d->acked;
	snprintf(u->delivery, sizeof(u->delivery), "%s", d->result != NULL ?
	    d->result : "");
	return 0;
}

/* An update_* event the cluster's gateway sent. */
static int
upd_event(const struct store_event_row *e, void *arg)
{
	struct upd_list	*l = arg;
	struct upd	*u;
	json_t		*rec;
	const char	*v, *when, *why;

	if (strncmp(e->type, "update_", 7) != 0 ||
	    (rec = json_loads(e->record, 0, NULL)) == NULL)
		return 0;
	v = json_string_value(json_object_get(rec, "version"));
	if (v == NULL || strlen(v) > VERSION_MAX_LEN ||
	    (u = upd_get(l, v)) == NULL) {
		json_decref(rec);
		return 0;
	}
	why = json_string_value(json_object_get(rec, "reason"));
	if (why == NULL)
		why = json_string_value(json_object_get(rec, "result"));
	if (strcmp(e->type, "update_downloaded") == 0)
		u->downloaded = 1;
	else if (strcmp(e->type, "update_refused") == 0 &&
	    (strcmp(u->state, "installed") == 0 ||
	    json_is_string(json_object_get(rec, "update_state"))))
		/*
		 * A replayed or older notice does not undo an install, nor
		 * the update the gateway still has (update_state says it).
		 */
		snprintf(u->detail, sizeof(u->detail), "a notice offered again "
		    "was refused: %s", why != NULL ? why : "?");
	else if (strcmp(e->type, "update_notified") != 0 &&
	    strcmp(e->type, "update_notify_failed") != 0) {
		snprintf(u->state, sizeof(u->state), "%s", e->type + 7);
		u->seq = e->seq;
		when = json_string_value(json_object_get(rec, "when"));
		snprintf(u->when, sizeof(u->when), "%s",
		    strcmp(e->type, "update_scheduled") == 0 && when != NULL ?
		    when : e->ts);
		snprintf(u->detail, sizeof(u->detail), "%s", why != NULL ?
		    why : "");
	} else if (strcmp(e->type, "update_notify_failed") == 0)
		snprintf(u->detail, sizeof(u->detail), "notify_command failed: "
		    "%s", why != NULL ? why : "?");
	json_decref(rec);
	return 0;
}

/* What a version without events is at: the answer to its notice. */
static void
upd_from_delivery(struct upd *u)
{
	char when[32] = "";

	if (strncmp(u->delivery, "refused: ", 9) == 0) {
		snprintf(u->state, sizeof(u->state), "refused");
		snprintf(u->detail, sizeof(u->detail), "%s", u->delivery + 9);
	} else if (u->acked != 0)
		snprintf(u->state, sizeof(u->state), "accepted");
	else if (u->offered != 0)
		snprintf(u->state, sizeof(u->state), "offered");
	else
		snprintf(u->state, sizeof(u->state), "not offered yet");
	if (u->acked != 0 || u->offered != 0)
		parse_format_time(u->acked != 0 ? u->acked : u->offered, when,
		    sizeof(when));
	snprintf(u->when, sizeof(u->when), "%s", when);
}

static int
upd_row(struct report *r, const char *cluster, struct upd *u)
{
	char	detail[400];

	if (u->seq == 0)
		upd_from_delivery(u);
	snprintf(detail, sizeof(detail), "%s%s%s", u->detail,
	    u->downloaded && strcmp(u->state, "scheduled") == 0 ?
	    (u->detail[0] != '\0' ? "; " : "") : "",
	    u->downloaded && strcmp(u->state, "scheduled") == 0 ?
	    "package downloaded" : "");
	if (r->form == REPORT_JSON)
		return json_row(r, json_pack("{s:s, s:o, s:s, s:o, s:o, s:b, "
		    "s:I, s:o}", "cluster", cluster, "version",
		    jtext(u->version), "state", u->state, "when",
		    u->when[0] != '\0' ? jtext(u->when) : json_null(),
		    "detail", jtext(detail), "downloaded", u->downloaded ||
		    strcmp(u->state, "installed") == 0, "message_id",
		    (json_int_t)u->message_id, "delivery",
		    u->delivery[0] != '\0' ? jtext(u->delivery) : json_null()));
	return table_add(&r->t, cluster, u->version, u->state,
	    u->when[0] != '\0' ? u->when : "-", detail[0] != '\0' ? detail :
	    "-");
}

int
report_updates(const struct relay_conf *conf, struct store *st,
    enum report_form form, FILE *out)
{
	struct known_list	 kl;
	struct upd_list		*l;
	struct report		 r;
	size_t			 i, k;
	int			 failed = 0;

	if (known_clusters(conf, st, &kl) == -1)
		return -1;
	if ((l = malloc(sizeof(*l))) == NULL) {
		nomem();
		free(kl.k);
		return -1;
	}
	if (report_begin(&r, form, 5, 0) == -1) {
		free(l);
		free(kl.k);
		return -1;
	}
	if (form == REPORT_TEXT)
		failed = table_add(&r.t, "CLUSTER", "VERSION", "STATE", "WHEN",
		    "DETAIL") == -1;
	for (i = 0; !failed && i < kl.n; i++) {
		l->n = 0;
		if (store_delivery_rows(st, kl.k[i].id, "update_notice",
		    upd_delivery, l) == -1 || store_event_rows(st,
		    kl.k[i].id, upd_event, l) == -1) {
			failed = 1;
			break;
		}
		for (k = 0; !failed && k < l->n; k++)
			failed = upd_row(&r, kl.k[i].id, &l->u[k]) == -1;
	}
	free(l);
	free(kl.k);
	return report_end(&r, failed, out);
}

/* The reports, with the operands and options each takes. */
static const struct {
	const char	*name;
	int		 min, max;	/* CLUSTER operands */
	unsigned	 opts;
} reports[] = {
	{ "clusters", 0, 0, RO_JSON },
	{ "known-hosts", 0, 0, RO_JSON },
	{ "usage", 1, 1, RO_JSON | RO_CSV | RO_RANGE },
	{ "events", 1, 1, RO_JSON },
	{ "anchors", 1, 1, RO_JSON },
	{ "health", 1, 1, RO_JSON },
	{ "alerts", 0, 1, RO_JSON },
	{ "updates", 0, 0, RO_JSON },
};

void
report_synopsis(FILE *f, const char *first)
{
	fprintf(f, "%s" REPORT_SYNOPSIS, first);
}

static int
report_usage_error(FILE *f, int status)
{
	report_synopsis(f, "usage: ");
	return status;
}

/* A report's words, once read. */
struct report_words {
	const char	*operand;
	int		 noperands;
	int		 help;
	enum report_form form;
	time_t		 since, until;	/* 0: no bound */
	unsigned	 given;		/* RO_* */
};

/* --since T or --until T: its value, read by parse_when. */
static int
report_when(const char *name, const char *opt, const char *value,
    time_t *out)
{
	if (value == NULL) {
		fprintf(stderr, "porthole-relay: %s: %s needs a time\n", name,
		    opt);
		return -1;
	}
	if (parse_when(value, clock_now(), out) == -1) {
		fprintf(stderr, "porthole-relay: %s: %s '%s': expected %s\n",
		    name, opt, value, PARSE_WHEN_FORMS);
		return -1;
	}
	return 0;
}

/*
 * The words after the report's name: --json, --csv, --since T, --until
 * T and --help anywhere, "--" ends them; every other word is an
 * operand, even one starting with '-' (a cluster id may).  0, or -1 on
 * a word it does not know or a bad value.
 */
static int
report_args(int argc, char **argv, struct report_words *w)
{
	int i, opts = 1;

	memset(w, 0, sizeof(*w));
	w->form = REPORT_TEXT;
	for (i = 1; i < argc; i++) {
		if (opts && strcmp(argv[i], "--") == 0)
			opts = 0;
		else if (opts && strcmp(argv[i], "--json") == 0) {
			w->form = REPORT_JSON;
			w->given |= RO_JSON;
		} else if (opts && strcmp(argv[i], "--csv") == 0) {
			w->form = REPORT_CSV;
			w->given |= RO_CSV;
		} else if (opts && (strcmp(argv[i], "--since") == 0 ||
		    strcmp(argv[i], "--until") == 0)) {
			if (report_when(argv[0], argv[i], argv[i + 1],
			    argv[i][2] == 's' ? &w->since : &w->until) == -1)
				return -1;
			w->given |= RO_RANGE;
			i++;
		} else if (opts && strcmp(argv[i], "--help") == 0)
			w->help = 1;
		else if (opts && strncmp(argv[i], "--", 2) == 0) {
			fprintf(stderr, "porthole-relay: %s: unknown option "
			    "'%s'\n", argv[0], argv[i]);
			return -1;
		} else {
			if (w->noperands == 0)
				w->operand = argv[i];
			w->noperands++;
		}
	}
	return 0;
}

/* Run one report on an open store. */
static int
report_run(const char *name, const struct relay_conf *conf,
    struct store *st, const struct report_words *w)
{
	const char *cluster = w->operand;

	if (strcmp(name, "clusters") == 0)
		return report_clusters(conf, st, clock_now(), w->form, stdout);
	if (strcmp(name, "known-hosts") == 0)
		return report_known_hosts(conf, st, w->form, stdout);
	if (strcmp(name, "usage") == 0)
		return report_usage_range(st, cluster, w->since, w->until,
		    w->form, stdout);
	if (strcmp(name, "events") == 0)
		return report_events(st, cluster, w->form, stdout);
	if (strcmp(name, "health") == 0)
		return report_health(st, cluster, w->form, stdout);
	if (strcmp(name, "alerts") == 0)
		return report_alerts(st, cluster, w->form, stdout);
	if (strcmp(name, "updates") == 0)
		return report_updates(conf, st, w->form, stdout);
	return report_anchors(st, cluster, w->form, stdout);
}

/*
 * A row callback for a lookup that only asks whether there is a row.
 */
static int
no_row(const struct store_registry *x, void *arg)
{
	(void)x;
	(void)arg;
	return 0;
}

/*
 * The configuration and the store a report or command works on.  A
 * report reads only, so that it can never take the WAL from the relay
 * that writes; the alert command writes as the relay does.  Neither
 * creates the database (STORE_EXISTING): made here, perhaps as root, it
 * could be one the relay's own user cannot open.  A cluster named must
 * be one of relay.conf or the registry, or one the store holds records
 * of (removed since, its billing data kept).
 */
static int
report_open(const char *path, const char *cluster, int readonly,
    struct relay_conf **conf, struct store **st)
{
	struct store_cluster_info ci;
	char			 err[1024];
	int			 n;

	*conf = NULL;
	*st = NULL;
	log_init("porthole-relay", 1, LOG_LVL_INFO);
	if (relay_conf_load(path, conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "porthole-relay: %s\n", err);
		return -1;
	}
	if ((*conf)->database == NULL) {
		fprintf(stderr, "porthole-relay: %s: no database in [relay]\n",
		    path);
		return -1;
	}
	if (store_open_with((*conf)->database, readonly ? STORE_READONLY |
	    STORE_EXISTING : STORE_EXISTING, st, err, sizeof(err)) == -1) {
		fprintf(stderr, "porthole-relay: %s\n", err);
		return -1;
	}
	if (cluster != NULL && relay_conf_cluster(*conf, cluster, NULL) ==
	    NULL && (n = store_registry_get(*st, cluster, no_row, NULL)) != 1 &&
	    (n == -1 || (n = store_cluster_info(*st, cluster, &ci)) != 1)) {
		if (n != -1)
			fprintf(stderr, "porthole-relay: no cluster '%s' in %s, "
			    "the cluster registry or the store\n", cluster,
			    path);
		return -1;
	}
	return 0;
}

static int
report_flush(void)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "porthole-relay: standard output: %s\n",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * porthole-relay -f FILE alert CLUSTER --severity S [--subject W] TEXT
 * porthole-relay -f FILE alert CLUSTER --clear ID
 * An expert's own alert, kept in the store as the rules' are.
 */
static int
alert_command(const char *path, int argc, char **argv)
{
	struct relay_conf	*conf = NULL;
	struct store		*st = NULL;
	const char		*cluster = NULL, *severity = NULL, *text = NULL;
	const char		*subject = "vendor", *clear = NULL;
	char			 why[256];
	uint64_t		 v;
	int64_t			 id;
	int			 i, n = 0, rc = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0)
			return report_usage_error(stdout, 0);
		if (i + 1 < argc && strcmp(argv[i], "--severity") == 0)
			severity = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--subject") == 0)
			subject = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--clear") == 0)
			clear = argv[++i];
		else if (strncmp(argv[i], "--", 2) == 0 && n == 0) {
			fprintf(stderr, "porthole-relay: alert: unknown option "
			    "'%s'\n", argv[i]);
			return report_usage_error(stderr, 2);
		} else if (n++ == 0)
			cluster = argv[i];
		else if (n == 2)
			text = argv[i];
	}
	if (cluster == NULL || n > 2 || (clear != NULL) == (text != NULL) ||
	    (clear != NULL) == (severity != NULL))
		return report_usage_error(stderr, 2);
	if (clear != NULL && parse_uint(clear, 1, INT64_MAX, &v) == -1) {
		fprintf(stderr, "porthole-relay: alert: --clear '%s': expected "
		    "an alert id\n", clear);
		return 2;
	}
	if (report_open(path, cluster, 0, &conf, &st) == -1)
		goto out;
	if (clear != NULL) {
		if (analysis_clear(st, cluster, (int64_t)v, clock_now(), why,
		    sizeof(why)) == -1) {
			fprintf(stderr, "porthole-relay: alert: %s\n", why);
			goto out;
		}
		printf("alert %" PRIu64 " cleared\n", v);
	} else {
		if (analysis_expert(st, cluster, severity, subject, text,
		    clock_now(), &id, why, sizeof(why)) == -1) {
			fprintf(stderr, "porthole-relay: alert: %s\n", why);
			goto out;
		}
		printf("alert %" PRId64 " raised for %s\n", id, cluster);
	}
	if (report_flush() == 0)
		rc = 0;
out:
	store_close(st);
	relay_conf_free(conf);
	return rc;
}

int
report_main(const char *path, int argc, char **argv)
{
	struct relay_conf	*conf = NULL;
	struct store		*st = NULL;
	struct report_words	 w;
	size_t			 i;
	int			 rc = 1;

	if (strcmp(argv[0], "alert") == 0)
		return alert_command(path, argc, argv);
	for (i = 0; i < sizeof(reports) / sizeof(reports[0]); i++)
		if (strcmp(argv[0], reports[i].name) == 0)
			break;
	if (i == sizeof(reports) / sizeof(reports[0])) {
		fprintf(stderr, "porthole-relay: unknown report '%s'\n",
		    argv[0]);
		return report_usage_error(stderr, 2);
	}
	if (report_args(argc, argv, &w) == -1)
		return report_usage_error(stderr, 2);
	if (w.help)
		return report_usage_error(stdout, 0);
	if (w.noperands < reports[i].min || w.noperands > reports[i].max)
		return report_usage_error(stderr, 2);
	if ((w.given & ~reports[i].opts) != 0 ||
	    (w.given & (RO_JSON | RO_CSV)) == (RO_JSON | RO_CSV)) {
		fprintf(stderr, "porthole-relay: %s takes %s\n", argv[0],
		    reports[i].opts & RO_CSV ? "one of --json and --csv, "
		    "--since and --until" : "--json only");
		return report_usage_error(stderr, 2);
	}
	if (report_open(path, w.operand, 1, &conf, &st) == -1)
		goto out;
	if (report_run(argv[0], conf, st, &w) == -1 || report_flush() == -1)
		goto out;
	rc = 0;
out:
	store_close(st);
	relay_conf_free(conf);
	return rc;
}
