/*
 * telemetry_cmd.h - porthole telemetry [show SEQ] | events | usage: what
 * the gateway sent, read back from its outbox in state_dir.
 */
#ifndef PH_CLI_TELEMETRY_CMD_H
#define PH_CLI_TELEMETRY_CMD_H

/* argv[0] is the command.  Returns the exit status: 0, 1 or 2. */
int	cli_telemetry(int argc, char **argv, const char *conf);
/* Its usage, one "porthole ..." line per form. */
extern const char cli_telemetry_usage[];

#endif
