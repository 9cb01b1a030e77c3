/*
 * audit_dir.c - which audit directory an auditor's command reads.
 */
#include "cli/audit_dir.h"

#include <stdio.h>

#include "policy/policy.h"

int
cli_audit_dir(const char *dir, const char *conf, char *out, size_t len)
{
	struct policy	*pol = NULL;
	char		 err[1024];

	if (dir != NULL) {
		snprintf(out, len, "%s", dir);
		return 0;
	}
	if (policy_load(conf, &pol, err, sizeof(err)) == -1) {
		fprintf(stderr, "porthole: %s\n", err);
		return -1;
	}
	snprintf(out, len, "%s", pol->audit_dir);
	policy_free(pol);
	return 0;
}
