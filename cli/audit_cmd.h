/*
 * audit_cmd.h - the auditor's commands: porthole audit verify | list | show.
 */
#ifndef PH_CLI_AUDIT_CMD_H
#define PH_CLI_AUDIT_CMD_H

/*
 * argv[0] is the subcommand.  conf is the porthole.conf whose audit_dir
 * is used when no DIR is given.  Returns the exit status: 0 success,
 * 1 refused/invalid (or tampering found), 2 usage.
 */
int	cli_audit(int argc, char **argv, const char *conf);
/* Its usage, one "porthole audit ..." line per form. */
extern const char cli_audit_usage[];

#endif
