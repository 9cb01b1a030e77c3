/*
 * bundles_cmd.h - porthole bundles [--json] and porthole bundle show |
 * approve | deny ID: the support bundles of the running gateway, and
 * the customer's decision on each when [bundle] approval = required.
 */
#ifndef PH_CLI_BUNDLES_CMD_H
#define PH_CLI_BUNDLES_CMD_H

/* argv[0] is "bundles" or "bundle".  Exit status: 0, 1 refused, 2 usage. */
int	cli_bundles(int argc, char **argv, const char *conf);
extern const char cli_bundles_usage[];

#endif
