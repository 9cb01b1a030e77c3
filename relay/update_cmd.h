/*
 * update_cmd.h - the vendor publishes an update for every cluster:
 *
 *   porthole-relay -f relay.conf update publish NOTICE SIGNATURE PACKAGE
 *
 * NOTICE is the notice (telemetry/notice.h), SIGNATURE what `ssh-keygen
 * -Y sign -n porthole-update` made of it on the signing host, PACKAGE
 * the file it describes.  The relay holds no key and checks no
 * signature: the gateways do.  It checks that the notice parses, has
 * not expired and describes the package (size and SHA-256), then keeps
 * the package in its store in chunks and one update_notice message for
 * every cluster, those that connect later included, in one transaction.
 */
#ifndef PH_UPDATE_CMD_H
#define PH_UPDATE_CMD_H

#define UPDATE_SYNOPSIS \
	"porthole-relay -f FILE update publish NOTICE SIGNATURE PACKAGE\n"

/* argv[0] is "update".  The exit status: 0, 1 refused, 2 usage. */
int	update_main(const char *conf_path, int argc, char **argv);

#endif
