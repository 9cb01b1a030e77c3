/*
 * audit_dir.h - which audit directory an auditor's command reads.
 */
#ifndef PH_CLI_AUDIT_DIR_H
#define PH_CLI_AUDIT_DIR_H

#include <stddef.h>

/*
 * The audit directory into out: dir when given, else conf's audit_dir.
 * 0, or -1 (said on stderr).
 */
int	cli_audit_dir(const char *dir, const char *conf, char *out,
	    size_t len);

#endif
