/*
 * report.h - porthole-relay's reports on what its store holds:
 *
 *   porthole-relay -f relay.conf clusters | known-hosts | updates [--json]
 *   porthole-relay -f relay.conf usage|events|anchors CLUSTER [--json]
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
	REPORT_JSON		/* one JSON array, exact */
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
	"       porthole-relay -f FILE usage | events | anchors CLUSTER " \
	"[--json]\n"
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
