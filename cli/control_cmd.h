/*
 * control_cmd.h - commands answered by the running gateway over its
 * control socket: porthole status | sessions | kill ID.
 */
#ifndef PH_CLI_CONTROL_CMD_H
#define PH_CLI_CONTROL_CMD_H

/* argv[0] is the command.  Returns the exit status (0, 1, 2). */
int	cli_control(int argc, char **argv, const char *conf);

#endif
