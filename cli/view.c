/*
 * view.c - untrusted text in the CLI's views for people (see view.h).
 */
#include "cli/view.h"

#include <stdint.h>
#include <stdlib.h>

#include "lib/escape.h"

/*
 * s[0..len) escaped, in a new string, or NULL.  Not escape_dup: a JSON
 * string may hold a NUL, and what follows it is shown too.
 */
static char *
view_escaped(const char *s, size_t len)
{
	char	*out;

	/* Four bytes at most for each: \xNN. */
	if (len > (SIZE_MAX - 1) / 4 || (out = malloc(4 * len + 1)) == NULL)
		return NULL;
	(void)escape_text(s, len, out, 4 * len + 1);
	return out;
}

int
cli_view_escape(json_t *v)
{
	const char	*key;
	json_t		*val;
	char		*esc;
	size_t		 i;
	int		 rc;

	if (json_is_string(v)) {
		if (!escape_needed(json_string_value(v), json_string_length(v)))
			return 0;
		if ((esc = view_escaped(json_string_value(v),
		    json_string_length(v))) == NULL)
			return -1;
		rc = json_string_set(v, esc);
		free(esc);
		return rc;
	}
	if (json_is_object(v)) {
		json_object_foreach(v, key, val)
			if (cli_view_escape(val) == -1)
				return -1;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, val)
			if (cli_view_escape(val) == -1)
				return -1;
	}
	return 0;
}

int
cli_view_value(json_t *v, FILE *f)
{
	char	*text, *esc;
	int	 rc;

	if (json_is_string(v))
		esc = view_escaped(json_string_value(v), json_string_length(v));
	else {
		if ((text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) ==
		    NULL)
			return -1;
		esc = escape_dup(text);
		free(text);
	}
	if (esc == NULL)
		return -1;
	rc = fputs(esc, f) == EOF ? -1 : 0;
	free(esc);
	return rc;
}
