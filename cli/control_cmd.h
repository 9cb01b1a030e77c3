/*
 * control_cmd.h - commands answered by the running gateway over its
 * control socket: porthole status | sessions | approve | deny | kill |
 * reload.
 */
#ifndef PH_CLI_CONTROL_CMD_H
#define PH_CLI_CONTROL_CMD_H

#include <jansson.h>

#include "lib/control_proto.h"

/*
 * Request kind with the fields of req (stolen) to the gateway named by
 * conf; its answer, or NULL after saying on stderr why there is none.
 */
json_t	*control_call(const char *conf, enum control_cmd kind, json_t *req);
/*
 * The same for a request whose answer may carry a descriptor
 * (CONTROL_FD_MARK): *passed is it, or -1.
 */
json_t	*control_call_fd(const char *conf, enum control_cmd kind, json_t *req,
	    int *passed);

/*
 * argv[0] is the command.  Returns the exit status: 0, 1, 2; status
 * also 3 when no relay's tunnel is up and 4 when some are down.
 */
int	cli_control(int argc, char **argv, const char *conf);
/* Is text a --reason the gateway takes?  0, or -1 after saying why. */
int	cli_control_reason(const char *text);
/* Its usage, one "porthole ..." line per form. */
extern const char cli_control_usage[];
/*
 * Whether conf is a regular file we may read: 0, or -1 after saying
 * "porthole: FILE: reason" on stderr.
 */
int	cli_conf_readable(const char *conf);

#endif
