/*
 * alerts_cmd.c - porthole alerts [--json].
 *
 * An alert comes from the vendor through the relay: the gateway has
 * stripped its text of control characters already, and the table shows
 * every field escaped all the same (lib/escape), under a heading that
 * says whose words they are.  --json gives the gateway's answer exactly.
 */
#include "cli/alerts_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli/control_cmd.h"
#include "cli/view.h"
#include "lib/control_proto.h"

const char cli_alerts_usage[] = "porthole alerts [--json]\n";

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s == NULL ? "-" : s;
}

static void
print_alerts(json_t *list)
{
	json_t	*a;
	size_t	 i;

	printf("alerts from the vendor (Mission Control), open first\n");
	printf("%8s  %-7s  %-8s  %-16s  %-20s  %-20s  %-20s  %s\n", "ID",
	    "STATE", "SEVERITY", "RULE", "SUBJECT", "RAISED", "CLEARED",
	    "THE VENDOR SAYS");
	json_array_foreach(list, i, a)
		printf("%8lld  %-7s  %-8s  %-16s  %-20s  %-20s  %-20s  %s\n",
		    (long long)json_integer_value(json_object_get(a, "id")),
		    jstr(a, "state"), jstr(a, "severity"), jstr(a, "rule"),
		    jstr(a, "subject"), jstr(a, "raised"), jstr(a, "cleared"),
		    jstr(a, "text"));
}

int
cli_alerts(int argc, char **argv, const char *conf)
{
	json_t	*ans, *list;
	int	 as_json = 0, rc = 1;

	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		as_json = 1;
	else if (argc != 1) {
		fprintf(stderr, "usage: %s", cli_alerts_usage);
		return 2;
	}
	if ((ans = control_call(conf, CONTROL_ALERTS, json_object())) == NULL)
		return 1;
	list = json_object_get(ans, "alerts");
	if (!json_is_true(json_object_get(ans, "ok")) || !json_is_array(list))
		fprintf(stderr, "porthole: alerts: %s\n",
		    json_string_value(json_object_get(ans, "error")) != NULL ?
		    json_string_value(json_object_get(ans, "error")) :
		    "no list in the answer");
	else if (as_json) {
		json_dumpf(list, stdout, JSON_COMPACT);
		putchar('\n');
		rc = 0;
	} else if (cli_view_escape(list) == -1)
		fprintf(stderr, "porthole: alerts: out of memory\n");
	else {
		print_alerts(list);
		rc = 0;
	}
	json_decref(ans);
	if (rc == 0 && (fflush(stdout) == EOF || ferror(stdout))) {
		fprintf(stderr, "porthole: standard output: %s\n",
		    strerror(errno));
		rc = 1;
	}
	return rc;
}
