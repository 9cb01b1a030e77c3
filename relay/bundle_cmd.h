/*
 * bundle_cmd.h - the vendor's side of support bundles:
 *
 *   porthole-relay -f relay.conf bundle request CLUSTER --ticket T
 *   porthole-relay -f relay.conf bundles [CLUSTER] [--json]
 *   porthole-relay -f relay.conf bundle get ID -o FILE
 *   porthole-relay -f relay.conf bundle remove ID
 *
 * A request is a bundle_request message for the cluster (its gateway
 * builds the bundle, and the customer may have to approve it first);
 * it waits in the store until the cluster's gateway takes it, so a
 * request made while its tunnel is down is queued.  Bundles arrive in
 * the store in chunks over the control channel; bundles lists them,
 * get writes a complete one, checked again against its SHA-256, and
 * remove deletes one, making room under its cluster's [relay]
 * bundle_quota.
 */
#ifndef PH_BUNDLE_CMD_H
#define PH_BUNDLE_CMD_H

#define BUNDLE_SYNOPSIS \
	"porthole-relay -f FILE bundle request CLUSTER --ticket TICKET\n" \
	"       porthole-relay -f FILE bundles [CLUSTER] [--json]\n" \
	"       porthole-relay -f FILE bundle get ID -o FILE\n" \
	"       porthole-relay -f FILE bundle remove ID\n"

/* argv[0] is "bundle" or "bundles".  Exit status: 0, 1, 2 usage. */
int	bundle_main(const char *conf_path, int argc, char **argv);

#endif
