/*
 * ident.h - the alphabets of the names porthole reads and writes, and
 * one family of checks for them, so that a cluster id, an event type or
 * a session id means the same thing wherever it is checked.
 */
#ifndef PH_IDENT_H
#define PH_IDENT_H

#include <stddef.h>

enum ident_set {
	IDENT_NAME,	/* A-Z a-z 0-9 . _ -: cluster ids, command, setting
			   and user names, a command's {word} */
	IDENT_LABEL,	/* IDENT_NAME and ':': environments, unit names */
	IDENT_SNAKE,	/* a-z 0-9 _: telemetry event types */
	IDENT_LOWER,	/* a-z _: audit event types */
	IDENT_HEX	/* 0-9 a-f: hashes, session ids */
};

/* Is c a character of set? */
int		 ident_char(int c, enum ident_set set);
/* How many of the first characters of s are of set. */
size_t		 ident_span(const char *s, enum ident_set set);
/* Is s (NUL-terminated) 1 to max characters of set? */
int		 ident_valid(const char *s, size_t max, enum ident_set set);
/* The same for exactly len bytes (a NUL among them is not of any set). */
int		 ident_valid_len(const char *s, size_t len, size_t max,
		    enum ident_set set);
/* The set as a person reads it: "A-Z a-z 0-9 . _ -". */
const char	*ident_alphabet(enum ident_set set);

#endif
