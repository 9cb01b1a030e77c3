/*
 * alerts_cmd.h - porthole alerts: the vendor's alerts about this
 * cluster, as the running gateway has them.
 */
#ifndef PH_CLI_ALERTS_CMD_H
#define PH_CLI_ALERTS_CMD_H

/* argv[0] is "alerts".  The exit status: 0, 1 refused, 2 usage. */
int	cli_alerts(int argc, char **argv, const char *conf);
extern const char cli_alerts_usage[];

#endif
