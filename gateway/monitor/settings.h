/*
 * settings.h - the product's settings file, [settings] file: one
 * "key = value" per line (keys may contain dots, "jvm.heap"), blank
 * lines and lines starting with '#' or ';' kept as they are.  Only the
 * keys listed in [settings] keys are read or changed.
 *
 * A change is written atomically: a temporary file in the same
 * directory with the same mode, fsync, rename, fsync of the directory.
 * A file that does not parse is never rewritten.
 */
#ifndef PH_SETTINGS_H
#define PH_SETTINGS_H

#include <stddef.h>

#include "policy/policy.h"

#define SETTINGS_VALUE_MAX	256	/* bytes of a value */
#define SETTINGS_FILE_MAX	(1024 * 1024)

/* 0 with value, or -1 with why ("key 'x' is not a listed setting"). */
int	settings_get(const struct policy *pol, const char *key, char *value,
	    size_t vlen, char *why, size_t whylen);
/*
 * Set key to value (printable, no newline, at most SETTINGS_VALUE_MAX
 * bytes); old receives the previous value ("" if the key was absent:
 * it is then appended).  0, or -1 with why.
 */
int	settings_set(const struct policy *pol, const char *key,
	    const char *value, char *old, size_t oldlen, char *why,
	    size_t whylen);

#endif
