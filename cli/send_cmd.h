/*
 * send_cmd.h - porthole send usage|health|event [FILE|-].
 */
#ifndef PH_CLI_SEND_CMD_H
#define PH_CLI_SEND_CMD_H

/* argv[0] is "send".  Returns the exit status (0, 1, 2). */
int	cli_send(int argc, char **argv, const char *conf);
/* Its usage line. */
extern const char cli_send_usage[];

#endif
