/*
 * cluster_cmd.h - the vendor's operator manages the cluster registry,
 * the clusters every relay on the store knows without a [cluster]
 * section in its relay.conf:
 *
 *   porthole-relay -f relay.conf cluster add ID --key FILE
 *       [--license full|trial] [--expires TIME] [--overage yes|no]
 *       [--replace]
 *   porthole-relay -f relay.conf cluster remove ID
 *
 * FILE is the cluster's public key (porthole-make-cluster-key makes
 * it); TIME is RFC 3339 UTC.  A cluster added is accepted by every relay
 * of the store at its gateway's next login, without a restart; one
 * removed loses its tunnels within seconds (relay/relay.c).  The
 * registry is listed by the clusters report.
 */
#ifndef PH_CLUSTER_CMD_H
#define PH_CLUSTER_CMD_H

#define CLUSTER_SYNOPSIS \
	"porthole-relay -f FILE cluster add ID --key FILE " \
	"[--license full|trial]\n" \
	"           [--expires TIME] [--overage yes|no] [--replace]\n" \
	"       porthole-relay -f FILE cluster remove ID\n"

/* argv[0] is "cluster".  The exit status: 0, 1 refused, 2 usage. */
int	cluster_main(const char *conf_path, int argc, char **argv);

#endif
