/*
 * analysis.c - the health view and the alert rules (analysis.h).
 *
 * A batch of records is one transaction of the store (store_records),
 * and the analysis rides in it.  The first health record or event of a
 * batch loads the cluster's view and open alerts; each record is then
 * merged and judged in memory, in seq order, at its own "ts" (so that a
 * backlog drained at once is judged as it happened); before the commit
 * only what changed is written.  That keeps the drain fast: a batch of
 * a thousand records from one gateway writes each of its nodes once,
 * not once per record, and a record that changes no alert writes no
 * alert.  The view is loaded again for every batch, so that relays
 * sharing a store see each other's writes.
 */
#include "relay/analysis.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/clock.h"
#include "lib/ident.h"
#include "lib/log.h"
#include "lib/parse.h"

#define AN_CLUSTER_MAX	64		/* a cluster id, as the store has it */
#define AN_BYTES_MAX	4.6e18		/* sizes in bytes: JSON's int64 */
#define AN_CORES_MAX	1e6
#define AN_LOAD_MAX	1e9
#define AN_SKEW		300		/* a "ts" ahead of now by more is now */
#define AN_LOST_DEFAULT	1800		/* node_lost when offline is off */
#define AN_ALERTS_SEEN	(4 * ANALYSIS_ALERTS_MAX)	/* in one batch */
#define AN_PRUNE_EVERY	3600
#define AN_DOWN_MAX	1000000000	/* failed probes counted */

/* Rule names, as the store, the reports and the gateway have them. */
#define R_DISK		"disk_used"
#define R_MEMORY	"memory_available"
#define R_LOAD		"load_per_core"
#define R_SERVICE	"service_down"
#define R_LOST		"node_lost"
#define R_OFFLINE	"offline"
#define R_EXPERT	"expert"
#define SUBJECT_TUNNEL	"tunnel"
#define ALERT_KIND	"alert"		/* the message kind to the gateway */

#define WARNING		"warning"
#define CRITICAL	"critical"

/* What became of an alert in this batch, for the log after the commit. */
enum an_change {
	AC_NONE,
	AC_RAISED,
	AC_CLEARED,
	AC_BOTH		/* raised and cleared within the batch */
};

/* One node of the view. */
struct an_node {
	char		*name;
	json_t		*body;		/* merged, disks by path */
	int64_t		 seq;
	time_t		 ts;
	int		 dirty;		/* to be written */
	int		 removed;	/* a node_removed event: delete it */
	int		 named;		/* by the record being judged */
};

/* One service of the view. */
struct an_service {
	char		*name;
	json_t		*body;		/* as the newest record had it */
	int64_t		 seq;
	time_t		 ts;
	int64_t		 down;		/* records in a row saying down */
	int		 dirty;
};

/* One alert, as loaded or as the batch made it. */
struct an_alert {
	int64_t		 id;		/* 0: not in the store yet */
	const char	*rule;		/* one of R_* */
	char		*subject;
	const char	*severity;
	char		*text;
	time_t		 first, last, raised, cleared;
	time_t		 loaded_raised;	/* raised, as the store had it */
	int		 dirty;
	int		 closed;	/* cleared, or pending and gone */
	enum an_change	 change;
};

/* The cluster whose batch is being stored. */
struct an_batch {
	char		 cluster[AN_CLUSTER_MAX + 1];
	int		 loaded;
	int		 failed;	/* could not load: judge nothing */
	struct an_node	*nodes;
	size_t		 nnodes;
	struct an_service *svcs;
	size_t		 nsvcs;
	struct an_alert	*alerts;
	size_t		 nalerts;
	size_t		 nopen;		/* alerts not closed */
	json_t		*node_idx;	/* name -> index in nodes */
	json_t		*svc_idx;
	json_t		*alert_idx;	/* "rule\x1fsubject" -> index */
	int		 full;		/* a bound was met: logged once */
};

struct analysis {
	struct relay_alert_rules rules;
	struct an_batch		 b;
	time_t			 pruned;	/* cleared alerts, last */
};

static void	an_warn(struct an_batch *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* A limit was met: said once per batch, the rest is left out. */
static void
an_warn(struct an_batch *b, const char *fmt, ...)
{
	char	msg[256];
	va_list	ap;

	if (b->full)
		return;
	b->full = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("cluster %s: health: %s", b->cluster, msg);
}

/* A number of o within [lo, hi]: 1 with *out, 0 if absent or absurd. */
static int
num(json_t *o, const char *key, double lo, double hi, double *out)
{
	json_t	*v = json_object_get(o, key);
	double	 d;

	if (!json_is_number(v))
		return 0;
	d = json_number_value(v);
	if (!isfinite(d) || d < lo || d > hi)
		return 0;
	*out = d;
	return 1;
}

/* A name the view keeps: a string the store would keep as text. */
static const char *
name_of(json_t *o, const char *key, size_t max)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (s == NULL || strlen(s) != json_string_length(json_object_get(o,
	    key)) || !store_valid_text(s, max))
		return NULL;
	return s;
}

/* The record's "ts", and never later than a little past now. */
static time_t
record_time(json_t *rec)
{
	const char	*s = json_string_value(json_object_get(rec, "ts"));
	time_t		 t, now = clock_now();

	if (s == NULL || parse_time(s, &t) == -1 || t > now + AN_SKEW)
		return now;
	return t;
}

/* A duration in whole minutes once it is one ("51m", "2h"), for texts. */
static void
minutes(uint64_t secs, char *buf, size_t len)
{
	parse_format_duration(secs >= 60 ? secs - secs % 60 : secs, buf,
	    len);
}

static void
batch_reset(struct an_batch *b)
{
	size_t i;

	for (i = 0; i < b->nnodes; i++) {
		free(b->nodes[i].name);
		json_decref(b->nodes[i].body);
	}
	for (i = 0; i < b->nsvcs; i++) {
		free(b->svcs[i].name);
		json_decref(b->svcs[i].body);
	}
	for (i = 0; i < b->nalerts; i++) {
		free(b->alerts[i].subject);
		free(b->alerts[i].text);
	}
	free(b->nodes);
	free(b->svcs);
	free(b->alerts);
	json_decref(b->node_idx);
	json_decref(b->svc_idx);
	json_decref(b->alert_idx);
	memset(b, 0, sizeof(*b));
}

/* Index of name in idx, or -1. */
static int64_t
idx_get(json_t *idx, const char *name)
{
	json_t *v = json_object_get(idx, name);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static int
idx_set(json_t *idx, const char *name, size_t i)
{
	return json_object_set_new(idx, name, json_integer((json_int_t)i));
}

/*
 * A new node (body stolen); NULL when the view is full or memory runs
 * out.  Arrays grow one element at a time: a cluster has few nodes, and
 * they are made once per batch.
 */
static struct an_node *
node_add(struct an_batch *b, const char *name, json_t *body)
{
	struct an_node	*p;
	char		*n;

	if (b->nnodes >= ANALYSIS_NODES_MAX) {
		an_warn(b, "more than %d nodes; node %s is left out",
		    ANALYSIS_NODES_MAX, name);
		json_decref(body);
		return NULL;
	}
	if ((p = reallocarray(b->nodes, b->nnodes + 1, sizeof(*p))) == NULL ||
	    (n = strdup(name)) == NULL) {
		if (p != NULL)
			b->nodes = p;
		json_decref(body);
		return NULL;
	}
	b->nodes = p;
	if (idx_set(b->node_idx, name, b->nnodes) == -1) {
		free(n);
		json_decref(body);
		return NULL;
	}
	p = &b->nodes[b->nnodes++];
	memset(p, 0, sizeof(*p));
	p->name = n;
	p->body = body;
	return p;
}

static struct an_node *
node_get(struct an_batch *b, const char *name, int create)
{
	int64_t	 i = idx_get(b->node_idx, name);
	json_t	*body;

	if (i >= 0)
		return &b->nodes[i];
	if (!create || (body = json_object()) == NULL)
		return NULL;
	return node_add(b, name, body);
}

static struct an_service *
svc_get(struct an_batch *b, const char *name, int create)
{
	struct an_service	*p;
	int64_t			 i = idx_get(b->svc_idx, name);
	char			*n;

	if (i >= 0)
		return &b->svcs[i];
	if (!create)
		return NULL;
	if (b->nsvcs >= ANALYSIS_SERVICES_MAX) {
		an_warn(b, "more than %d services; service %s is left out",
		    ANALYSIS_SERVICES_MAX, name);
		return NULL;
	}
	if ((p = reallocarray(b->svcs, b->nsvcs + 1, sizeof(*p))) == NULL)
		return NULL;
	b->svcs = p;
	if ((n = strdup(name)) == NULL || idx_set(b->svc_idx, name,
	    b->nsvcs) == -1) {
		free(n);
		return NULL;
	}
	p = &b->svcs[b->nsvcs++];
	memset(p, 0, sizeof(*p));
	p->name = n;
	return p;
}

/* "rule\x1fsubject": the unit separator is in no rule and no subject. */
static int
alert_key(const char *rule, const char *subject, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s\x1f%s", rule, subject);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static struct an_alert *
alert_find(struct an_batch *b, const char *rule, const char *subject)
{
	char	key[STORE_ALERT_SUBJECT_MAX + 32];
	int64_t	i;

	if (b->nopen == 0 || alert_key(rule, subject, key, sizeof(key)) == -1)
		return NULL;
	i = idx_get(b->alert_idx, key);
	return i >= 0 ? &b->alerts[i] : NULL;
}

/* The rule names as constants, so an alert can point at one. */
static const char *
rule_const(const char *rule)
{
	static const char *const rules[] = { R_DISK, R_MEMORY, R_LOAD,
	    R_SERVICE, R_LOST, R_OFFLINE, R_EXPERT };
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (strcmp(rule, rules[i]) == 0)
			return rules[i];
	return NULL;
}

/* A new open alert in the batch, indexed; NULL past the bounds. */
static struct an_alert *
alert_add(struct an_batch *b, const char *rule, const char *subject)
{
	struct an_alert	*p;
	char		 key[STORE_ALERT_SUBJECT_MAX + 32], *s;

	if (b->nopen >= ANALYSIS_ALERTS_MAX || b->nalerts >= AN_ALERTS_SEEN) {
		an_warn(b, "more than %d open alerts; %s %s is not raised",
		    ANALYSIS_ALERTS_MAX, rule, subject);
		return NULL;
	}
	if ((rule = rule_const(rule)) == NULL ||
	    alert_key(rule, subject, key, sizeof(key)) == -1)
		return NULL;
	if ((p = reallocarray(b->alerts, b->nalerts + 1, sizeof(*p))) == NULL)
		return NULL;
	b->alerts = p;
	if ((s = strdup(subject)) == NULL ||
	    idx_set(b->alert_idx, key, b->nalerts) == -1) {
		free(s);
		return NULL;
	}
	p = &b->alerts[b->nalerts++];
	memset(p, 0, sizeof(*p));
	p->rule = rule;
	p->subject = s;
	p->severity = WARNING;
	b->nopen++;
	return p;
}

/* The alert is no longer open: out of the index, kept for the flush. */
static void
alert_close(struct an_batch *b, struct an_alert *a)
{
	char key[STORE_ALERT_SUBJECT_MAX + 32];

	a->closed = 1;
	a->dirty = 1;
	if (alert_key(a->rule, a->subject, key, sizeof(key)) == 0)
		json_object_del(b->alert_idx, key);
	b->nopen--;
}

static int
load_node(const struct store_node_row *r, void *arg)
{
	struct an_batch	*b = arg;
	struct an_node	*n;
	json_t		*body;

	if ((body = json_loads(r->body, 0, NULL)) == NULL ||
	    !json_is_object(body)) {
		json_decref(body);
		return 0;	/* written by hand, perhaps: left alone */
	}
	if ((n = node_add(b, r->node, body)) == NULL)
		return b->full ? 0 : -1;
	n->seq = r->seq;
	n->ts = r->ts;
	return 0;
}

static int
load_service(const struct store_service_row *r, void *arg)
{
	struct an_batch		*b = arg;
	struct an_service	*s;

	if ((s = svc_get(b, r->name, 1)) == NULL)
		return b->full ? 0 : -1;
	s->body = json_loads(r->body, 0, NULL);
	s->seq = r->seq;
	s->ts = r->ts;
	s->down = r->down;
	return 0;
}

static int
load_alert(const struct store_alert *r, void *arg)
{
	struct an_batch	*b = arg;
	struct an_alert	*a;

	if (rule_const(r->rule) == NULL)
		return 0;	/* a rule of a newer relay: not ours */
	if ((a = alert_add(b, r->rule, r->subject)) == NULL)
		return b->full ? 0 : -1;
	a->id = r->id;
	a->severity = strcmp(r->severity, CRITICAL) == 0 ? CRITICAL : WARNING;
	a->first = r->first_seen;
	a->last = r->last_seen;
	a->raised = a->loaded_raised = r->raised;
	if ((a->text = strdup(r->text)) == NULL)
		return -1;
	return 0;
}

/*
 * The batch of cluster: the view and open alerts, loaded at the first
 * record that needs them.  NULL if they cannot be had; the batch is
 * then stored without analysis (logged).
 */
static struct an_batch *
batch_for(struct analysis *an, struct store *st, const char *cluster)
{
	struct an_batch *b = &an->b;

	if (b->loaded && strcmp(b->cluster, cluster) == 0)
		return b->failed ? NULL : b;
	batch_reset(b);
	b->loaded = 1;
	snprintf(b->cluster, sizeof(b->cluster), "%s", cluster);
	if ((b->node_idx = json_object()) == NULL ||
	    (b->svc_idx = json_object()) == NULL ||
	    (b->alert_idx = json_object()) == NULL ||
	    store_node_rows(st, cluster, load_node, b) == -1 ||
	    store_service_rows(st, cluster, load_service, b) == -1 ||
	    store_alert_open_rows(st, cluster, load_alert, b) == -1) {
		log_error("cluster %s: health view cannot be loaded: this "
		    "batch is stored without analysis", cluster);
		b->failed = 1;
		return NULL;
	}
	b->full = 0;
	return b;
}

/*
 * Judge one condition of one subject at ts.  holds: the condition is
 * met now; hold: how long it must have been met before the alert is
 * raised (0: at once).  A condition that no longer holds clears a
 * raised alert and forgets a pending one.  Returns the alert when it is
 * new or was raised just now: the caller gives it its text then, and
 * only then, so that a steady condition costs no formatting.
 */
static struct an_alert *
judge(struct an_batch *b, const char *rule, const char *severity,
    const char *subject, int holds, time_t ts, uint64_t hold)
{
	struct an_alert	*a;
	int		 fresh = 0;

	if (!holds && b->nopen == 0)
		return NULL;
	a = alert_find(b, rule, subject);
	if (!holds) {
		if (a == NULL)
			return NULL;
		if (a->raised != 0)
			a->cleared = ts > a->raised ? ts : a->raised;
		alert_close(b, a);
		return NULL;
	}
	if (a == NULL) {
		if ((a = alert_add(b, rule, subject)) == NULL)
			return NULL;
		a->first = a->last = ts;
		fresh = 1;
	}
	if (ts > a->last)
		a->last = ts;
	if (a->raised == 0 && (uint64_t)(a->last - a->first) >= hold) {
		a->raised = a->last;
		fresh = 1;
	}
	a->severity = severity;
	a->dirty = 1;
	return fresh ? a : NULL;
}

static void	alert_text(struct an_alert *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* The alert's text, as it stands when it is seen first or raised. */
static void
alert_text(struct an_alert *a, const char *fmt, ...)
{
	char	text[STORE_ALERT_TEXT_MAX], *t;
	va_list	ap;

	if (a == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if ((t = strdup(text)) != NULL) {
		free(a->text);
		a->text = t;
	}
}

/* df's share: used of what users can have (used + free), else of size. */
static int
disk_share(json_t *d, double *pct)
{
	double size, used, avail;

	if (!num(d, "size", 1, AN_BYTES_MAX, &size) ||
	    !num(d, "used", 0, size, &used))
		return 0;
	if (num(d, "free", 0, size, &avail) && used + avail > 0)
		*pct = used * 100.0 / (used + avail);
	else
		*pct = used * 100.0 / size;
	return 1;
}

/* disk_used for the disks a record gave for node. */
static void
judge_disks(struct analysis *an, struct an_batch *b, const char *node,
    json_t *disks, time_t ts)
{
	const char	*path;
	json_t		*d;
	double		 pct;
	size_t		 i;
	char		 subject[STORE_ALERT_SUBJECT_MAX];
	unsigned	 lim = an->rules.disk_used;
	int		 holds;

	json_array_foreach(disks, i, d) {
		if ((path = name_of(d, "path", ANALYSIS_PATH_MAX)) == NULL ||
		    !disk_share(d, &pct))
			continue;
		if (!(holds = lim != 0 && pct >= lim) && b->nopen == 0)
			continue;
		snprintf(subject, sizeof(subject), "%s:%s", node, path);
		alert_text(judge(b, R_DISK, WARNING, subject, holds, ts,
		    an->rules.hold), "disk %s on %s is %.1f%% used (warning "
		    "at %u%%)", path, node, pct, lim);
	}
}

/* memory_available and load_per_core for a node's merged values. */
static void
judge_node(struct analysis *an, struct an_batch *b, struct an_node *n,
    time_t ts)
{
	double	total, avail, cores, load1, pct;

	if (num(n->body, "mem_total", 1, AN_BYTES_MAX, &total) &&
	    num(n->body, "mem_available", 0, total, &avail)) {
		pct = avail * 100.0 / total;
		alert_text(judge(b, R_MEMORY, WARNING, n->name,
		    pct < an->rules.memory_available, ts, an->rules.hold),
		    "%s has %.1f%% of its memory available (warning below "
		    "%u%%)", n->name, pct, an->rules.memory_available);
	}
	if (num(n->body, "cores", 1, AN_CORES_MAX, &cores) &&
	    num(n->body, "load1", 0, AN_LOAD_MAX, &load1))
		alert_text(judge(b, R_LOAD, WARNING, n->name,
		    an->rules.load_per_core > 0 &&
		    load1 / cores > an->rules.load_per_core, ts,
		    an->rules.hold), "%s has a load of %.2f on %.0f cores, "
		    "%.2f per core (warning above %.2f)", n->name, load1,
		    cores, load1 / cores, an->rules.load_per_core);
}

/*
 * Merge a record's disks into a node's, by path: a disk the record
 * names replaces the one of that path, others stay.
 */
static void
merge_disks(struct an_batch *b, struct an_node *n, json_t *disks)
{
	json_t		*have, *d, *h;
	const char	*path, *hp;
	size_t		 i, j;

	if (!json_is_array(disks))
		return;
	if (!json_is_array(have = json_object_get(n->body, "disks"))) {
		if ((have = json_array()) == NULL ||
		    json_object_set_new(n->body, "disks", have) == -1)
			return;
	}
	json_array_foreach(disks, i, d) {
		if ((path = name_of(d, "path", ANALYSIS_PATH_MAX)) == NULL)
			continue;
		json_array_foreach(have, j, h) {
			hp = json_string_value(json_object_get(h, "path"));
			if (hp != NULL && strcmp(hp, path) == 0)
				break;
		}
		if (j < json_array_size(have))
			json_array_set(have, j, d);
		else if (json_array_size(have) < ANALYSIS_DISKS_MAX)
			json_array_append(have, d);
		else
			an_warn(b, "node %s has more than %d disks; %s is left "
			    "out", n->name, ANALYSIS_DISKS_MAX, path);
	}
}

/* Merge one node object of a record (disks apart) into the view. */
static void
merge_node(struct an_batch *b, struct an_node *n, json_t *node)
{
	const char	*key;
	json_t		*v;

	json_object_foreach(node, key, v) {
		if (strcmp(key, "disks") == 0)
			continue;
		if (json_object_get(n->body, key) == NULL &&
		    json_object_size(n->body) >= ANALYSIS_FIELDS_MAX) {
			an_warn(b, "node %s has more than %d fields; %s is "
			    "left out", n->name, ANALYSIS_FIELDS_MAX, key);
			continue;
		}
		json_object_set(n->body, key, v);
	}
}

/*
 * The node whose disks a record's top-level "disks" are: "node" if the
 * record names one, else its first node.
 */
static const char *
reporting_node(json_t *rec)
{
	const char	*name;
	json_t		*n;
	size_t		 i;

	if ((name = name_of(rec, "node", ANALYSIS_NAME_MAX)) != NULL)
		return name;
	json_array_foreach(json_object_get(rec, "nodes"), i, n)
		if ((name = name_of(n, "name", ANALYSIS_NAME_MAX)) != NULL)
			return name;
	return NULL;
}

/* One node a record reports (node may be NULL: only its disks). */
static void
take_node(struct analysis *an, struct an_batch *b, const char *name,
    json_t *node, json_t *disks, int64_t seq, time_t ts)
{
	struct an_node *n;

	if ((n = node_get(b, name, 1)) == NULL)
		return;
	n->named = 1;
	/* A record older than what the view has of the node adds nothing. */
	if (ts < n->ts)
		return;
	if (node != NULL) {
		merge_node(b, n, node);
		merge_disks(b, n, json_object_get(node, "disks"));
	}
	merge_disks(b, n, disks);
	n->seq = seq;
	n->ts = ts;
	n->dirty = 1;
	n->removed = 0;
	if (node != NULL) {
		judge_node(an, b, n, ts);
		judge_disks(an, b, name, json_object_get(node, "disks"), ts);
	}
	judge_disks(an, b, name, disks, ts);
}

static void
take_nodes(struct analysis *an, struct an_batch *b, json_t *rec,
    int64_t seq, time_t ts)
{
	const char	*name, *reporter = reporting_node(rec);
	json_t		*n, *disks = json_object_get(rec, "disks");
	size_t		 i;
	int		 placed = 0;

	json_array_foreach(json_object_get(rec, "nodes"), i, n) {
		if (!json_is_object(n) ||
		    (name = name_of(n, "name", ANALYSIS_NAME_MAX)) == NULL)
			continue;
		if (reporter != NULL && !placed &&
		    strcmp(name, reporter) == 0) {
			take_node(an, b, name, n, disks, seq, ts);
			placed = 1;
		} else
			take_node(an, b, name, n, NULL, seq, ts);
	}
	if (reporter != NULL && !placed && json_is_array(disks))
		take_node(an, b, reporter, NULL, disks, seq, ts);
}

/* "up" or "down" from "state" (or a boolean "up"); -1 if neither. */
static int
service_down(json_t *svc)
{
	const char	*state = json_string_value(json_object_get(svc,
	    "state"));
	json_t		*up = json_object_get(svc, "up");

	if (state != NULL && strcmp(state, "up") == 0)
		return 0;
	if (state != NULL && strcmp(state, "down") == 0)
		return 1;
	if (json_is_boolean(up))
		return !json_is_true(up);
	return -1;
}

static void
take_services(struct analysis *an, struct an_batch *b, json_t *rec,
    int64_t seq, time_t ts)
{
	struct an_service	*s;
	const char		*name, *addr;
	json_t			*svc;
	size_t			 i;
	int			 down;
	unsigned		 lim = an->rules.service_down;

	json_array_foreach(json_object_get(rec, "services"), i, svc) {
		if (!json_is_object(svc) ||
		    (name = name_of(svc, "name", ANALYSIS_NAME_MAX)) == NULL ||
		    (down = service_down(svc)) == -1 ||
		    (s = svc_get(b, name, 1)) == NULL || ts < s->ts)
			continue;
		json_decref(s->body);
		s->body = json_incref(svc);
		s->down = down ? (s->down < AN_DOWN_MAX ? s->down + 1 :
		    s->down) : 0;
		s->seq = seq;
		s->ts = ts;
		s->dirty = 1;
		addr = name_of(svc, "address", ANALYSIS_NAME_MAX);
		alert_text(judge(b, R_SERVICE, CRITICAL, name, lim != 0 &&
		    s->down >= lim, ts, 0), "service %s%s%s is down: %" PRId64
		    " failed probe%s in a row (critical at %u)", name,
		    addr != NULL ? " at " : "", addr != NULL ? addr : "",
		    s->down, s->down == 1 ? "" : "s", lim);
	}
}

/* node_lost: every node of the view no record has named for long. */
static void
judge_lost(struct analysis *an, struct an_batch *b, time_t ts)
{
	struct an_node	*n;
	uint64_t	 horizon = an->rules.offline != 0 ? an->rules.offline :
	    AN_LOST_DEFAULT;
	char		 since[32], lim[32];
	size_t		 i;
	int		 lost;

	for (i = 0; i < b->nnodes; i++) {
		n = &b->nodes[i];
		if (n->removed)
			continue;
		lost = an->rules.node_lost && !n->named && ts > n->ts &&
		    (uint64_t)(ts - n->ts) >= horizon;
		if (!lost && alert_find(b, R_LOST, n->name) == NULL)
			continue;
		minutes(ts > n->ts ? (uint64_t)(ts - n->ts) : 0, since,
		    sizeof(since));
		minutes(horizon, lim, sizeof(lim));
		alert_text(judge(b, R_LOST, CRITICAL, n->name, lost, ts, 0),
		    "node %s has not been reported for %s (critical after %s)",
		    n->name, since, lim);
	}
}

static void
an_health(void *arg, struct store *st, const char *cluster, int64_t seq,
    json_t *rec)
{
	struct analysis	*an = arg;
	struct an_batch	*b;
	time_t		 ts;
	size_t		 i;

	if ((b = batch_for(an, st, cluster)) == NULL)
		return;
	ts = record_time(rec);
	for (i = 0; i < b->nnodes; i++)
		b->nodes[i].named = 0;
	take_nodes(an, b, rec, seq, ts);
	take_services(an, b, rec, seq, ts);
	judge_lost(an, b, ts);
}

/* Does an alert of this rule and subject concern node? */
static int
about_node(const struct an_alert *a, const char *node)
{
	size_t n = strlen(node);

	if (strcmp(a->rule, R_DISK) == 0)
		return strncmp(a->subject, node, n) == 0 &&
		    a->subject[n] == ':';
	return (strcmp(a->rule, R_MEMORY) == 0 ||
	    strcmp(a->rule, R_LOAD) == 0 || strcmp(a->rule, R_LOST) == 0) &&
	    strcmp(a->subject, node) == 0;
}

/*
 * node_removed: the node left the cluster on purpose.  It goes from the
 * view, and what was open about it clears: it is not lost, nor full.
 */
static void
an_event(void *arg, struct store *st, const char *cluster, int64_t seq,
    json_t *rec)
{
	struct analysis	*an = arg;
	struct an_batch	*b;
	struct an_node	*n;
	const char	*type = json_string_value(json_object_get(rec, "type"));
	const char	*node;
	time_t		 ts;
	size_t		 i;

	(void)seq;
	if (type == NULL || strcmp(type, "node_removed") != 0 ||
	    (node = name_of(rec, "node", ANALYSIS_NAME_MAX)) == NULL ||
	    (b = batch_for(an, st, cluster)) == NULL ||
	    (n = node_get(b, node, 0)) == NULL)
		return;
	ts = record_time(rec);
	n->removed = 1;
	n->dirty = 1;
	for (i = 0; i < b->nalerts; i++)
		if (!b->alerts[i].closed && about_node(&b->alerts[i], node))
			(void)judge(b, b->alerts[i].rule,
			    b->alerts[i].severity, b->alerts[i].subject, 0,
			    ts, 0);
}

/*
 * Tell the cluster's gateway: a message of kind "alert" (gateway/
 * alerts.c takes it), stored in the caller's transaction, so that an
 * alert raised or cleared is told exactly when it is stored.
 */
static int
alert_message(struct store *st, const char *cluster, int64_t id,
    const char *state, const char *severity, const char *rule,
    const char *subject, const char *text, time_t at)
{
	json_t	*body;
	char	 when[32], *b;
	int64_t	 mid;
	int	 rc = -1;

	parse_format_time(at, when, sizeof(when));
	body = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "alert",
	    (json_int_t)id, "state", state, "severity", severity, "rule",
	    rule, "subject", subject, "text", text, "at", when);
	if (body == NULL || (b = json_dumps(body, JSON_COMPACT)) == NULL) {
		json_decref(body);
		log_error("cluster %s: alert %" PRId64 ": out of memory",
		    cluster, id);
		return -1;
	}
	json_decref(body);
	rc = store_message_put(st, cluster, ALERT_KIND, b, clock_now(), &mid);
	free(b);
	return rc;
}

/* Write one changed alert; note what became of it. */
static int
flush_alert(struct store *st, const char *cluster, struct an_alert *a)
{
	struct store_alert	sa;
	time_t			first, raised;
	int			r;

	if (a->closed && a->raised == 0)
		return a->id != 0 ? store_alert_drop(st, a->id) : 0;
	if (!a->closed || a->id == 0) {
		memset(&sa, 0, sizeof(sa));
		sa.cluster = cluster;
		sa.rule = a->rule;
		sa.subject = a->subject;
		sa.severity = a->severity;
		sa.text = a->text != NULL ? a->text : "";
		sa.first_seen = a->first;
		sa.last_seen = a->last;
		sa.raised = a->raised;
		if (store_alert_put(st, &sa, &a->id, &first, &raised) == -1)
			return -1;
		/* Raised here unless the store had it raised already. */
		if (a->raised != 0 && a->loaded_raised == 0 &&
		    raised == a->raised)
			a->change = AC_RAISED;
		a->first = first;
		a->raised = raised;
	}
	if (a->closed) {
		if ((r = store_alert_clear(st, a->id, a->cleared)) == -1)
			return -1;
		if (r == 1)
			a->change = a->change == AC_RAISED ? AC_BOTH :
			    AC_CLEARED;
	}
	if ((a->change == AC_RAISED || a->change == AC_BOTH) &&
	    alert_message(st, cluster, a->id, "raised", a->severity, a->rule,
	    a->subject, a->text != NULL ? a->text : "", a->raised) == -1)
		return -1;
	if ((a->change == AC_CLEARED || a->change == AC_BOTH) &&
	    alert_message(st, cluster, a->id, "cleared", a->severity, a->rule,
	    a->subject, a->text != NULL ? a->text : "", a->cleared) == -1)
		return -1;
	return 0;
}

static int
flush_node(struct store *st, const char *cluster, struct an_node *n)
{
	struct store_node_row	 r;
	char			*body;
	int			 rc;

	if (n->removed)
		return store_node_delete(st, cluster, n->name);
	if ((body = json_dumps(n->body, JSON_COMPACT)) == NULL)
		return 0;	/* out of memory: the view lags one batch */
	r.node = n->name;
	r.seq = n->seq;
	r.ts = n->ts;
	r.body = body;
	rc = store_node_put(st, cluster, &r);
	free(body);
	return rc;
}

static int
flush_service(struct store *st, const char *cluster, struct an_service *s)
{
	struct store_service_row	 r;
	char				*body;
	int				 rc;

	if ((body = json_dumps(s->body, JSON_COMPACT)) == NULL)
		return 0;
	r.name = s->name;
	r.seq = s->seq;
	r.ts = s->ts;
	r.down = s->down;
	r.body = body;
	rc = store_service_put(st, cluster, &r);
	free(body);
	return rc;
}

static int
an_flush(void *arg, struct store *st, const char *cluster)
{
	struct analysis	*an = arg;
	struct an_batch	*b = &an->b;
	size_t		 i;

	if (!b->loaded || b->failed || strcmp(b->cluster, cluster) != 0)
		return 0;
	for (i = 0; i < b->nnodes; i++)
		if (b->nodes[i].dirty && flush_node(st, cluster,
		    &b->nodes[i]) == -1)
			return -1;
	for (i = 0; i < b->nsvcs; i++)
		if (b->svcs[i].dirty && flush_service(st, cluster,
		    &b->svcs[i]) == -1)
			return -1;
	for (i = 0; i < b->nalerts; i++)
		if (b->alerts[i].dirty && flush_alert(st, cluster,
		    &b->alerts[i]) == -1)
			return -1;
	return 0;
}

static void
log_change(const char *cluster, int64_t id, const char *severity,
    const char *rule, const char *subject, const char *what,
    const char *text)
{
	log_info("cluster %s: alert %" PRId64 " %s (%s %s %s): %s", cluster,
	    id, what, severity, rule, subject, text);
}

static void
an_done(void *arg, int committed)
{
	struct analysis	*an = arg;
	struct an_batch	*b = &an->b;
	struct an_alert	*a;
	size_t		 i;

	for (i = 0; committed && i < b->nalerts; i++) {
		a = &b->alerts[i];
		if (a->change == AC_RAISED || a->change == AC_BOTH)
			log_change(b->cluster, a->id, a->severity, a->rule,
			    a->subject, "raised", a->text);
		if (a->change == AC_CLEARED || a->change == AC_BOTH)
			log_change(b->cluster, a->id, a->severity, a->rule,
			    a->subject, "cleared", a->text);
	}
	batch_reset(b);
}

static const struct store_hooks an_hooks = {
	an_health,
	an_event,
	an_flush,
	an_done
};

struct analysis *
analysis_new(const struct relay_alert_rules *rules)
{
	struct analysis *an;

	if ((an = calloc(1, sizeof(*an))) == NULL)
		return NULL;
	an->rules = *rules;
	return an;
}

void
analysis_free(struct analysis *an)
{
	if (an == NULL)
		return;
	batch_reset(&an->b);
	free(an);
}

void
analysis_set_rules(struct analysis *an, const struct relay_alert_rules *rules)
{
	an->rules = *rules;
}

void
analysis_attach(struct analysis *an, struct store *st)
{
	store_set_hooks(st, &an_hooks, an);
}

/* What analysis_offline() needs for each cluster it finds. */
struct offline_ctx {
	struct analysis	*an;
	struct store	*st;
	time_t		 now;
	time_t		 since;
	int		 failed;
};

static int
offline_one(const char *cluster, time_t last, void *arg)
{
	struct offline_ctx	*x = arg;
	struct store_alert	 a;
	time_t			 from = last > x->since ? last : x->since;
	time_t			 first, raised;
	int64_t			 id;
	char			 text[STORE_ALERT_TEXT_MAX], gone[32], lim[32];

	if ((uint64_t)(x->now - from) < x->an->rules.offline)
		return 0;
	minutes((uint64_t)(x->now - from), gone, sizeof(gone));
	minutes(x->an->rules.offline, lim, sizeof(lim));
	snprintf(text, sizeof(text), "no tunnel from the cluster for %s "
	    "(critical after %s)", gone, lim);
	memset(&a, 0, sizeof(a));
	a.cluster = cluster;
	a.rule = R_OFFLINE;
	a.subject = SUBJECT_TUNNEL;
	a.severity = CRITICAL;
	a.text = text;
	a.first_seen = from;
	a.last_seen = a.raised = x->now;
	if (store_alert_put(x->st, &a, &id, &first, &raised) == -1) {
		x->failed = 1;
		return -1;
	}
	if (raised != x->now)
		return 0;	/* open already */
	if (alert_message(x->st, cluster, id, "raised", CRITICAL, R_OFFLINE,
	    SUBJECT_TUNNEL, text, raised) == -1) {
		x->failed = 1;
		return -1;
	}
	log_change(cluster, id, CRITICAL, R_OFFLINE, SUBJECT_TUNNEL,
	    "raised", text);
	return 0;
}

int
analysis_offline(struct analysis *an, struct store *st, time_t now,
    time_t since)
{
	struct offline_ctx	x = { an, st, now, since, 0 };
	int			rc = -1;

	if (store_begin(st) == -1)
		return -1;
	if (an->rules.offline != 0 && now - since >= 0 &&
	    (uint64_t)(now - since) >= an->rules.offline &&
	    store_offline_rows(st, now - (time_t)an->rules.offline,
	    offline_one, &x) == -1)
		goto out;
	if (now - an->pruned >= AN_PRUNE_EVERY) {
		if (store_alert_prune(st, now - ANALYSIS_KEEP_CLEARED) == -1)
			goto out;
		an->pruned = now;
	}
	if (store_commit(st) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		store_rollback(st);
	return rc;
}

/* Clear the open offline alert of a cluster that is back. */
struct online_ctx {
	struct store	*st;
	time_t		 now;
	int64_t		 id;
	char		 text[STORE_ALERT_TEXT_MAX];
};

static int
online_find(const struct store_alert *a, void *arg)
{
	struct online_ctx *x = arg;

	if (strcmp(a->rule, R_OFFLINE) == 0) {
		x->id = a->id;
		snprintf(x->text, sizeof(x->text), "%s", a->text);
	}
	return 0;
}

int
analysis_online(struct analysis *an, struct store *st, const char *cluster,
    time_t now)
{
	struct online_ctx	x;
	int			r;

	(void)an;
	memset(&x, 0, sizeof(x));
	x.st = st;
	x.now = now;
	if (store_alert_open_rows(st, cluster, online_find, &x) == -1)
		return -1;
	if (x.id == 0)
		return 0;
	if (store_begin(st) == -1)
		return -1;
	if ((r = store_alert_clear(st, x.id, now)) == -1 ||
	    (r == 0 && store_alert_drop(st, x.id) == -1) ||
	    (r == 1 && alert_message(st, cluster, x.id, "cleared", CRITICAL,
	    R_OFFLINE, SUBJECT_TUNNEL, x.text, now) == -1) ||
	    store_commit(st) == -1) {
		store_rollback(st);
		return -1;
	}
	if (r == 1)
		log_change(cluster, x.id, CRITICAL, R_OFFLINE, SUBJECT_TUNNEL,
		    "cleared", x.text);
	return 0;
}

/* A subject an expert gives: a word, as environment ids are. */
static int
valid_subject(const char *s)
{
	return ident_valid(s, 64, IDENT_LABEL);
}

int
analysis_expert(struct store *st, const char *cluster, const char *severity,
    const char *subject, const char *text, time_t now, int64_t *id,
    char *why, size_t whylen)
{
	struct store_alert	a;
	time_t			first, raised;
	size_t			len = strlen(text);

	if (strcmp(severity, WARNING) != 0 && strcmp(severity, CRITICAL) != 0) {
		snprintf(why, whylen, "severity must be warning or critical");
		return -1;
	}
	if (!valid_subject(subject)) {
		snprintf(why, whylen, "the subject must be 1-64 of A-Z a-z "
		    "0-9 . _ : -");
		return -1;
	}
	if (len == 0 || len > STORE_ALERT_TEXT_MAX || !parse_utf8(text, len)) {
		snprintf(why, whylen, "the text must be 1-%d bytes of UTF-8",
		    STORE_ALERT_TEXT_MAX);
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.cluster = cluster;
	a.rule = R_EXPERT;
	a.subject = subject;
	a.severity = severity;
	a.text = text;
	a.first_seen = a.last_seen = a.raised = now;
	if (store_begin(st) == -1)
		goto fail;
	/* A new text on an open subject is told as that alert again. */
	if (store_cluster_add(st, cluster, now) == -1 ||
	    store_alert_put(st, &a, id, &first, &raised) == -1 ||
	    alert_message(st, cluster, *id, "raised", severity, R_EXPERT,
	    subject, text, raised) == -1 ||
	    store_commit(st) == -1) {
		store_rollback(st);
		goto fail;
	}
	log_change(cluster, *id, severity, R_EXPERT, subject,
	    raised == now ? "raised" : "updated", text);
	return 0;
fail:
	snprintf(why, whylen, "the store cannot be written (see the log)");
	return -1;
}

/* The alert analysis_clear() was asked to clear. */
struct clear_ctx {
	const char	*cluster;
	int		 found;
	time_t		 raised, cleared;
	char		 rule[32], subject[STORE_ALERT_SUBJECT_MAX];
	char		 severity[16];
	char		 text[STORE_ALERT_TEXT_MAX + 1];
};

static int
clear_find(const struct store_alert *a, void *arg)
{
	struct clear_ctx *x = arg;

	if (strcmp(a->cluster, x->cluster) != 0)
		return 0;
	x->found = 1;
	x->raised = a->raised;
	x->cleared = a->cleared;
	snprintf(x->rule, sizeof(x->rule), "%s", a->rule);
	snprintf(x->subject, sizeof(x->subject), "%s", a->subject);
	snprintf(x->severity, sizeof(x->severity), "%s", a->severity);
	snprintf(x->text, sizeof(x->text), "%s", a->text);
	return 0;
}

int
analysis_clear(struct store *st, const char *cluster, int64_t id, time_t now,
    char *why, size_t whylen)
{
	struct clear_ctx	x;
	char			when[32];

	memset(&x, 0, sizeof(x));
	x.cluster = cluster;
	if (store_alert_get(st, id, clear_find, &x) == -1)
		goto fail;
	if (!x.found) {
		snprintf(why, whylen, "cluster %s has no alert %" PRId64,
		    cluster, id);
		return -1;
	}
	if (x.cleared != 0) {
		parse_format_time(x.cleared, when, sizeof(when));
		snprintf(why, whylen, "alert %" PRId64 " was cleared at %s",
		    id, when);
		return -1;
	}
	if (store_begin(st) == -1)
		goto fail;
	if ((x.raised != 0 ? store_alert_clear(st, id, now) :
	    store_alert_drop(st, id)) == -1 || (x.raised != 0 &&
	    alert_message(st, cluster, id, "cleared", x.severity, x.rule,
	    x.subject, x.text, now) == -1) || store_commit(st) == -1) {
		store_rollback(st);
		goto fail;
	}
	log_change(cluster, id, x.severity, x.rule, x.subject, "cleared",
	    x.text);
	return 0;
fail:
	snprintf(why, whylen, "the store cannot be written (see the log)");
	return -1;
}
