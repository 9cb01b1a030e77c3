/*
 * replay_cmd.h - porthole audit replay | export.
 */
#ifndef PH_CLI_REPLAY_CMD_H
#define PH_CLI_REPLAY_CMD_H

/* argv[0] is "replay" or "export".  Returns the exit status. */
int	cli_audit_recording(int argc, char **argv, const char *conf);

#endif
