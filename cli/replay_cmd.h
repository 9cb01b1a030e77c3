/*
 * replay_cmd.h - porthole audit replay | export.
 */
#ifndef PH_CLI_REPLAY_CMD_H
#define PH_CLI_REPLAY_CMD_H

/* argv[0] is "replay" or "export".  Returns the exit status. */
int	cli_audit_recording(int argc, char **argv, const char *conf);

/*
 * porthole watch ID: session ID's support shell, live and read-only,
 * until ^C or its end.  Returns the exit status.
 */
int	cli_watch(int argc, char **argv, const char *conf);
extern const char cli_watch_usage[];

#endif
