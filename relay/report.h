/*
 * report.h - porthole-relay's reports on what its store holds:
 *
 *   porthole-relay -f relay.conf clusters | known-hosts | updates [--json]
 *   porthole-relay -f relay.conf usage CLUSTER [--since T] [--until T]
 *       [--json | --csv]
 *   porthole-relay -f relay.conf events|anchors|health CLUSTER [--json]
 *   porthole-relay -f relay.conf alerts [CLUSTER] [--json]
 * and the one command that writes to the store:
 *   porthole-relay -f relay.conf alert CLUSTER --severity warning|critical
 *       [--subject WORD] TEXT
 *   porthole-relay -f relay.conf alert CLUSTER --clear ID
 *
 * A report is a table a person reads, or with --json one JSON document:
 * an array holding one object per row, with the values exact (times as
 * RFC 3339 UTC strings, counts and amounts as numbers, what a cluster
 * sent as it sent it).  Everything in the tables that a cluster's
 * gateway chose (its version, event fields, unit names, its host key)
 * is shown by lib/escape's rule, so that it cannot move the reader's
 * cursor or rewrite the screen.  The store (relay/store.c) gives the
 * rows; this module only lays them out.
 */
#ifndef PH_REPORT_H
#define PH_REPORT_H

#include <stdio.h>
#include <time.h>

struct relay_conf;
struct store;

enum report_form {
	REPORT_TEXT,		/* aligned columns, untrusted text escaped */
	REPORT_JSON,		/* one JSON array, exact */
	REPORT_CSV		/* usage only: lib/csv.h */
};

/*
 * porthole-relay -f conf_path REPORT [ARGS] [--json] [--help]; argv[0]
 * is the report's name.  Returns the exit status: 0, 1 (an error, said
 * on stderr), 2 (a usage error).
 */
int	report_main(const char *conf_path, int argc, char **argv);
/* The reports' usage lines, without the first one's "usage: ". */
#define REPORT_SYNOPSIS \
	"porthole-relay -f FILE clusters | known-hosts | updates [--json]\n" \
	"       porthole-relay -f FILE usage CLUSTER [--since T] [--until T] " \
	"[--json | --csv]\n" \
	"       porthole-relay -f FILE events | anchors | health CLUSTER " \
	"[--json]\n" \
	"       porthole-relay -f FILE alerts [CLUSTER] [--json]\n" \
	"       porthole-relay -f FILE alert CLUSTER --severity " \
	"warning|critical [--subject WORD] TEXT\n" \
	"       porthole-relay -f FILE alert CLUSTER --clear ID\n"
/* The reports' usage lines; the first starts with first ("usage: "). */
void	report_synopsis(FILE *f, const char *first);

/*
 * Each report written to out: 0, or -1 after saying why on stderr (a
 * database error is logged by the store).
 */
int	report_clusters(const struct relay_conf *, struct store *, time_t now,
	    enum report_form, FILE *out);
int	report_known_hosts(const struct relay_conf *, struct store *,
	    enum report_form, FILE *out);
int	report_usage(struct store *, const char *cluster, enum report_form,
	    FILE *out);
/*
 * The hours in [since, until) (0: no bound).  The CSV form has the
 * columns cluster,hour,environment,unit,amount under that header.
 */
int	report_usage_range(struct store *, const char *cluster, time_t since,
	    time_t until, enum report_form, FILE *out);
/*
 * The health view: every node (with its disks) and service as the
 * newest record that named it left it.  As text three tables (nodes,
 * services, disks); as JSON one row per node and service, each with
 * "kind" and what the records said of it.
 */
int	report_health(struct store *, const char *cluster, enum report_form,
	    FILE *out);
/* Alerts of one cluster, or of all (cluster NULL): open ones first. */
int	report_alerts(struct store *, const char *cluster, enum report_form,
	    FILE *out);
int	report_events(struct store *, const char *cluster, enum report_form,
	    FILE *out);
/*
 * As text one line per anchor, "EPOCH SEQ HEAD RECEIVED" under a
 * comment line: the file `porthole audit verify --anchors` reads.
 */
int	report_anchors(struct store *, const char *cluster, enum report_form,
	    FILE *out);

/*
 * Each cluster's updates, one row per version offered to it: what its
 * gateway reported (update_* events: announced, scheduled for a time,
 * started, installed, failed, refused, superseded) or, before any, what
 * it answered to the notice (offered, accepted, refused and why).
 */
int	report_updates(const struct relay_conf *, struct store *,
	    enum report_form, FILE *out);

#endif
