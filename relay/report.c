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
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/clock.h"
#include "lib/escape.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "relay/relay_conf.h"
#include "relay/store.h"
#include "telemetry/license.h"
#include "telemetry/notice.h"

#define TABLE_MAXCOLS	9

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

/*
 * One cluster of relay.conf with what the store knows of it (seen == 0:
 * it never connected).
 */
static int
cluster_row(struct report *r, const struct relay_cluster *rc,
    const struct store_cluster_info *ci, int seen, time_t now)
{
	char		 expires[32], contact[32], days[32], nrec[32];
	char		 health[96];
	int64_t		 offline;

	offline = !seen ? -1 : ci->connected ? 0 :
	    (int64_t)license_offline_days(ci->last_contact, now);
	if (r->form == REPORT_JSON)
		return json_row(r, json_pack("{s:s, s:s, s:o, s:b, s:b, s:b, "
		    "s:o, s:o, s:o, s:o, s:I, s:I, s:o}",
		    "cluster", rc->id,
		    "license", rc->trial ? "trial" : "full",
		    "license_expires", jtime(rc->license_expires),
		    "overage", rc->overage,
		    "seen", seen,
		    "connected", seen && ci->connected,
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
	    seen && ci->connected ? "yes" : "no", contact, days,
	    seen && ci->version[0] != '\0' ? ci->version : "-", nrec, health);
}

/* Every cluster in relay.conf, seen or not, in relay.conf's order. */
int
report_clusters(const struct relay_conf *conf, struct store *st, time_t now,
    enum report_form form, FILE *out)
{
	struct store_cluster_info	ci;
	struct report			r;
	size_t				i;
	int				seen, failed = 0;

	/* RECORDS is a count: right-aligned. */
	if (report_begin(&r, form, 9, 1u << 7) == -1)
		return -1;
	if (form == REPORT_TEXT)
		failed = table_add(&r.t, "CLUSTER", "LICENSE", "EXPIRES",
		    "CONNECTED", "LAST-CONTACT", "OFFLINE-DAYS", "VERSION",
		    "RECORDS", "HEALTH") == -1;
	for (i = 0; !failed && i < conf->nclusters; i++) {
		if ((seen = store_cluster_info(st, conf->clusters[i].id,
		    &ci)) == -1 || cluster_row(&r, &conf->clusters[i], &ci,
		    seen, now) == -1)
			failed = 1;
	}
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
	struct report			r;
	size_t				i;
	int				failed = 0;

	if (report_begin(&r, form, 0, 0) == -1)
		return -1;
	if (form == REPORT_TEXT)
		fprintf(out, "# session host keys reported by the clusters' "
		    "gateways to this relay;\n# confirm them with each "
		    "customer before trusting them\n");
	for (i = 0; !failed && i < conf->nclusters; i++) {
		if (store_cluster_info(st, conf->clusters[i].id, &ci) == -1)
			failed = 1;
		else if (ci.host_key[0] == '\0')
			continue;
		else if (form == REPORT_JSON)
			failed = json_row(&r, json_pack("{s:s, s:o}",
			    "cluster", conf->clusters[i].id, "host_key",
			    jtext(ci.host_key))) == -1;
		else if (fprintf(out, "%s ", conf->clusters[i].id) < 0 ||
		    escape_fputs(ci.host_key, out) == -1 ||
		    fputc('\n', out) == EOF)
			failed = 1;	/* a file format: no columns */
	}
	return report_end(&r, failed, out);
}

static int
usage_row(const struct store_usage_row *u, void *arg)
{
	struct report	*r = arg;
	char		 hour[32], amount[64];

	parse_format_time(u->hour, hour, sizeof(hour));
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
	struct report	r;
	int		failed = 0;

	if (report_begin(&r, form, 4, 1u << 3) == -1)
		return -1;
	if (form == REPORT_TEXT)
		failed = table_add(&r.t, "HOUR", "ENVIRONMENT", "UNIT",
		    "AMOUNT") == -1;
	if (!failed)
		failed = store_usage_rows(st, cluster, usage_row, &r) == -1;
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
	struct upd_list	*l;
	struct report	 r;
	size_t		 i, k;
	int		 failed = 0;

	if ((l = malloc(sizeof(*l))) == NULL) {
		nomem();
		return -1;
	}
	if (report_begin(&r, form, 5, 0) == -1) {
		free(l);
		return -1;
	}
	if (form == REPORT_TEXT)
		failed = table_add(&r.t, "CLUSTER", "VERSION", "STATE", "WHEN",
		    "DETAIL") == -1;
	for (i = 0; !failed && i < conf->nclusters; i++) {
		l->n = 0;
		if (store_delivery_rows(st, conf->clusters[i].id,
		    "update_notice", upd_delivery, l) == -1 ||
		    store_event_rows(st, conf->clusters[i].id, upd_event,
		    l) == -1) {
			failed = 1;
			break;
		}
		for (k = 0; !failed && k < l->n; k++)
			failed = upd_row(&r, conf->clusters[i].id,
			    &l->u[k]) == -1;
	}
	free(l);
	return report_end(&r, failed, out);
}

/* The reports, with the operands each takes. */
static const struct {
	const char	*name;
	int		 cluster;	/* takes a CLUSTER operand */
} reports[] = {
	{ "clusters", 0 },
	{ "known-hosts", 0 },
	{ "usage", 1 },
	{ "events", 1 },
	{ "anchors", 1 },
	{ "updates", 0 },
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

/*
 * The words after the report's name: --json and --help anywhere, "--"
 * ends them; every other word is an operand, even one starting with
 * '-' (a cluster id may).  0, or -1 on a word it does not know.
 */
static int
report_args(int argc, char **argv, const char **operand, int *noperands,
    int *json, int *help)
{
	int i, opts = 1;

	*noperands = *json = *help = 0;
	*operand = NULL;
	for (i = 1; i < argc; i++) {
		if (opts && strcmp(argv[i], "--") == 0)
			opts = 0;
		else if (opts && strcmp(argv[i], "--json") == 0)
			*json = 1;
		else if (opts && strcmp(argv[i], "--help") == 0)
			*help = 1;
		else if (opts && strncmp(argv[i], "--", 2) == 0) {
			fprintf(stderr, "porthole-relay: %s: unknown option "
			    "'%s'\n", argv[0], argv[i]);
			return -1;
		} else {
			if (*noperands == 0)
				*operand = argv[i];
			(*noperands)++;
		}
	}
	return 0;
}

/* Run one report on an open store. */
static int
report_run(const char *name, const struct relay_conf *conf,
    struct store *st, const char *cluster, enum report_form form)
{
	if (strcmp(name, "clusters") == 0)
		return report_clusters(conf, st, clock_now(), form, stdout);
	if (strcmp(name, "known-hosts") == 0)
		return report_known_hosts(conf, st, form, stdout);
	if (strcmp(name, "usage") == 0)
		return report_usage(st, cluster, form, stdout);
	if (strcmp(name, "events") == 0)
		return report_events(st, cluster, form, stdout);
	if (strcmp(name, "updates") == 0)
		return report_updates(conf, st, form, stdout);
	return report_anchors(st, cluster, form, stdout);
}

int
report_main(const char *path, int argc, char **argv)
{
	struct relay_conf	*conf = NULL;
	struct store		*st = NULL;
	const char		*cluster;
	char			 err[1024];
	size_t			 i;
	int			 n, json, help, rc = 1;

	for (i = 0; i < sizeof(reports) / sizeof(reports[0]); i++)
		if (strcmp(argv[0], reports[i].name) == 0)
			break;
	if (i == sizeof(reports) / sizeof(reports[0])) {
		fprintf(stderr, "porthole-relay: unknown report '%s'\n",
		    argv[0]);
		return report_usage_error(stderr, 2);
	}
	if (report_args(argc, argv, &cluster, &n, &json, &help) == -1)
		return report_usage_error(stderr, 2);
	if (help)
		return report_usage_error(stdout, 0);
	if (n != reports[i].cluster)
		return report_usage_error(stderr, 2);
	log_init("porthole-relay", 1, LOG_LVL_INFO);
	if (relay_conf_load(path, &conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "porthole-relay: %s\n", err);
		goto out;
	}
	if (cluster != NULL && relay_conf_cluster(conf, cluster, NULL) ==
	    NULL) {
		fprintf(stderr, "porthole-relay: no cluster '%s' in %s\n",
		    cluster, path);
		goto out;
	}
	if (conf->database == NULL) {
		fprintf(stderr, "porthole-relay: %s: no database in [relay]\n",
		    path);
		goto out;
	}
	/*
	 * A report must not create the database: made here, perhaps as
	 * root, it could be one the relay's own user cannot open.
	 */
	if (access(conf->database, F_OK) == -1) {
		fprintf(stderr, "porthole-relay: %s: %s (the relay has not "
		    "created it yet)\n", conf->database, strerror(errno));
		goto out;
	}
	if (store_open_readonly(conf->database, &st, err, sizeof(err)) == -1) {
		fprintf(stderr, "porthole-relay: %s\n", err);
		goto out;
	}
	if (report_run(argv[0], conf, st, cluster, json ? REPORT_JSON :
	    REPORT_TEXT) == -1)
		goto out;
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "porthole-relay: standard output: %s\n",
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	store_close(st);
	relay_conf_free(conf);
	return rc;
}
