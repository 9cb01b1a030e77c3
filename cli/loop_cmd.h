/*
 * loop_cmd.h - the customer in the loop: porthole approve --ticket,
 * approvals and revoke (tickets approved for a time).
 */
#ifndef PH_CLI_LOOP_CMD_H
#define PH_CLI_LOOP_CMD_H

/*
 * argv[0] is the command: approve (with --ticket; else the session
 * approval of control_cmd.h), approvals, revoke.  Returns the exit
 * status: 0, 1 refused, 2 usage.
 */
int	cli_loop(int argc, char **argv, const char *conf);
extern const char cli_loop_usage[];

#endif
