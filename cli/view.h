/*
 * view.h - untrusted text in the CLI's views for people.
 *
 * What the gateway answers (a session's engineer, ticket, key id and
 * what it is doing; a relay's error; the license the relay sent) was
 * chosen by someone else.  A view a person reads shows it by
 * lib/escape.h's rule; --json output is printed without this and stays
 * exact.
 */
#ifndef PH_CLI_VIEW_H
#define PH_CLI_VIEW_H

#include <stdio.h>

#include <jansson.h>

/*
 * Replace every string in v, however deep in objects and arrays, by
 * its escaped form.  0, or -1 when memory ran out (v is then partly
 * escaped: print nothing of it).
 */
int	cli_view_escape(json_t *v);
/*
 * Print v as text in a view: a string escaped, anything else as compact
 * JSON, escaped too.  0, or -1 on a write error.
 */
int	cli_view_value(json_t *v, FILE *f);

#endif
