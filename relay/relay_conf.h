/*
 * relay_conf.h - relay.conf: where the relay listens, its keys, the
 * engineers it lets in and the customer clusters it knows.
 */
#ifndef PH_RELAY_CONF_H
#define PH_RELAY_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define RELAY_MAX_CLUSTERS	100000
#define RELAY_CONF_MAX_KEYS	16	/* [relay] keys relay_conf.c knows */
#define RELAY_MAX_STARTUPS	10000	/* bound of max_startups, max_per_source */
#define RELAY_MAX_GRACE		600	/* bound of login_grace, seconds */
#define RELAY_RUN_DIR		"/run/porthole-relay"	/* [relay] run_dir */
#define RELAY_PID_FILE		"porthole-relay.pid"	/* in run_dir */
#define RELAY_BUNDLE_QUOTA	(2ULL << 30)	/* [relay] bundle_quota */
#define RELAY_BUNDLE_QUOTA_MIN	(1ULL << 20)

struct relay_cluster {
	char		*id;		/* [A-Za-z0-9._-]{1,64} */
	char		*key;		/* path of the cluster's public key */
	int		 trial;		/* license = trial */
	time_t		 license_expires;	/* 0: none set */
	int		 overage;
	int		 line;		/* where the section starts */
};

/*
 * [alerts]: the rules the relay applies to each cluster's health
 * (relay/analysis.c).  A rule set to off is 0.
 */
struct relay_alert_rules {
	unsigned	 disk_used;		/* percent used, warning */
	unsigned	 memory_available;	/* percent available, warning */
	double		 load_per_core;		/* load1 / cores, warning */
	uint64_t	 hold;			/* `for`: seconds a warning
						   condition holds first */
	unsigned	 service_down;		/* failed probes in a row,
						   critical */
	uint64_t	 offline;		/* seconds without a tunnel,
						   critical */
	int		 node_lost;		/* critical */
};

#define RELAY_ALERT_HOLD_MAX	86400		/* for: at most a day */
#define RELAY_ALERT_OFFLINE_MIN	60
#define RELAY_ALERT_OFFLINE_MAX	(30 * 86400)
#define RELAY_ALERT_PROBES_MAX	1000
#define RELAY_ALERT_LOAD_MAX	1000.0

struct relay_conf {
	char		*path;
	char		 listen_host[256];
	uint16_t	 listen_port;
	char		*host_key;
	char		*support_ca;
	char		*database;
	char		*run_dir;	/* the pid file; RELAY_RUN_DIR if unset */
	char		*update_key;
	char		*revoked_keys;	/* KRL or key list; NULL: none */
	int		 engineers_any;
	char		**engineers;
	size_t		 nengineers;
	struct relay_cluster *clusters;
	size_t		 nclusters;
	/* Unauthenticated connections, as sshd's MaxStartups. */
	unsigned	 startups_start;	/* max_startups start:rate:full */
	unsigned	 startups_rate;		/* percent */
	unsigned	 startups_full;
	unsigned	 per_source;		/* max_per_source */
	unsigned	 login_grace;		/* seconds */
	unsigned	 keepalive_interval;	/* seconds of a tunnel's silence */
	unsigned	 keepalive_count;	/* intervals before it is dropped */
	uint64_t	 bundle_quota;	/* bytes of bundles per cluster */
	struct relay_alert_rules alerts;
	int		 relay_line;	/* where [relay] starts */
	int		 lines[RELAY_CONF_MAX_KEYS];	/* where each [relay]
					   key was set, in the order of
					   relay_conf.c's table; 0: unset */
};

/* Returns 0, or -1 with "FILE:LINE: message" in err. */
int	relay_conf_load(const char *path, struct relay_conf **out, char *err,
	    size_t errlen);
void	relay_conf_free(struct relay_conf *c);
/*
 * Would going from running to next change a key that the relay reads
 * only at start?  Returns 0, or -1 with "FILE:LINE: KEY takes effect at
 * restart" (FILE being next's) in err.
 */
int	relay_conf_restart_changed(const struct relay_conf *running,
	    const struct relay_conf *next, char *err, size_t errlen);
/* The cluster with this id, or NULL. */
const struct relay_cluster *relay_conf_cluster(const struct relay_conf *c,
	    const char *id, size_t *index);
/* Is this principal allowed to log in as an engineer? */
int	relay_conf_engineer_allowed(const struct relay_conf *c,
	    const char *principal);
/*
 * The chance in percent (0-100) that max_startups refuses a new
 * connection while n others are unauthenticated.
 */
unsigned relay_conf_startups_drop(const struct relay_conf *c, size_t n);
/*
 * This relay's name among the relays of a fleet: HOSTNAME:PORT, the
 * port being listen's (the host's name, else listen's address).
 */
void	relay_conf_self(const struct relay_conf *c, char *buf, size_t len);
/* max_startups as relay.conf writes it ("10:30:100"), for log lines. */
void	relay_conf_format_startups(const struct relay_conf *c, char *buf,
	    size_t len);

/*
 * What a start of the relay checks beyond the syntax (relay_check.c):
 * relay.conf itself, the host key, the CA, each cluster's key, run_dir
 * and the database's directory under the rules of lib/filecheck.h, and
 * that nothing else listens on the port.  Each problem is one line on
 * fc->out; returns the number of problems.
 */
struct filecheck;
unsigned int	relay_check(const struct relay_conf *c, struct filecheck *fc);

#endif
