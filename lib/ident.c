/*
 * ident.c - checks of identifiers against their alphabets (ident.h).
 * ASCII only, whatever the locale: these names travel between hosts.
 */
#include "lib/ident.h"

#include <string.h>

static int
ident_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

int
ident_char(int c, enum ident_set set)
{
	switch (set) {
	case IDENT_NAME:
		return ident_alnum(c) || c == '.' || c == '_' || c == '-';
	case IDENT_LABEL:
		return ident_alnum(c) || c == '.' || c == '_' || c == '-' ||
		    c == ':';
	case IDENT_SNAKE:
		return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_';
	case IDENT_LOWER:
		return (c >= 'a' && c <= 'z') || c == '_';
	case IDENT_HEX:
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
	}
	return 0;
}

size_t
ident_span(const char *s, enum ident_set set)
{
	size_t n = 0;

	while (s[n] != '\0' && ident_char((unsigned char)s[n], set))
		n++;
	return n;
}

int
ident_valid_len(const char *s, size_t len, size_t max, enum ident_set set)
{
	size_t i;

	if (s == NULL || len == 0 || len > max)
		return 0;
	for (i = 0; i < len; i++)
		if (!ident_char((unsigned char)s[i], set))
			return 0;
	return 1;
}

int
ident_valid(const char *s, size_t max, enum ident_set set)
{
	return s != NULL && ident_valid_len(s, strnlen(s, max + 1), max, set);
}

const char *
ident_alphabet(enum ident_set set)
{
	switch (set) {
	case IDENT_NAME:
		return "A-Z a-z 0-9 . _ -";
	case IDENT_LABEL:
		return "A-Z a-z 0-9 . _ : -";
	case IDENT_SNAKE:
		return "a-z 0-9 _";
	case IDENT_LOWER:
		return "a-z _";
	case IDENT_HEX:
		return "0-9 a-f";
	}
	return "";
}
