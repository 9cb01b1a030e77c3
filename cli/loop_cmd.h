/*
 * loop_cmd.h - the customer in the loop: porthole approve --ticket,
 * approvals and revoke (tickets approved for a time); actions and
 * action approve|deny (each run of an [actions] entry).
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

/*
 * porthole actions [--json] and porthole action approve|deny ID
 * [--reason TEXT]: the [actions] engineers asked for.  Returns the exit
 * status: 0, 1 refused, 2 usage.
 */
int	cli_actions(int argc, char **argv, const char *conf);
extern const char cli_actions_usage[];

#endif
