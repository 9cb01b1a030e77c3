/*
 * updates_cmd.h - porthole updates: the vendor's update notices and
 * their schedule at the running gateway, and the two things an admin
 * may do about one (move it within its bounds, or run it now).
 */
#ifndef PH_CLI_UPDATES_CMD_H
#define PH_CLI_UPDATES_CMD_H

/* argv[0] is "updates".  The exit status: 0, 1 refused, 2 usage. */
int	cli_updates(int argc, char **argv, const char *conf);
extern const char cli_updates_usage[];

#endif
