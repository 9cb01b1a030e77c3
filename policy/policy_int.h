/*
 * policy_int.h - shared between the files of policy/: the key table's
 * shape and its rows (policy.c), which policy_write.c prints, and the
 * grammar of a command line, which the parser and the decisions
 * (policy_allow.c) both read.  Not a public surface: policy.h is.
 */
#ifndef PH_POLICY_INT_H
#define PH_POLICY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/inifile.h"
#include "policy/policy.h"

#define POLICY_MAX_LIST		256	/* items in one list value */
#define POLICY_MAX_COMMANDS	256
#define NAME_MAX_LEN		64	/* cluster ids, command names */
#define UNIX_NAME_MAX		32	/* user and group names */
#define PATH_MAX_LEN		4096
#define INT_ARG_DIGITS		18
#define SETTING_NAME_MAX	128

enum ph_type {
	PH_NONE,			/* a literal word */
	PH_INT,				/* {NAME:int} */
	PH_WORD				/* {NAME:word} */
};

enum vtype {
	V_BOOL,				/* int */
	V_UINT,				/* uint64_t, in [min, max] */
	V_DURATION,			/* uint64_t seconds, in [min, max] */
	V_SIZE,				/* uint64_t bytes, 0 or in [min, max] */
	V_PATH,				/* char *, absolute */
	V_FUNC				/* the key's own setter */
};

struct keyspec;
struct line;
typedef int (*setter)(struct policy *, const struct keyspec *,
    const char *, char *, size_t);
typedef int (*getter)(const struct policy *, const struct keyspec *,
    struct line *);

/*
 * One key of porthole.conf: how to read it, how to print it back
 * (policy_write) and what it means.
 */
struct keyspec {
	const char	*section;
	const char	*key;
	enum vtype	 type;
	size_t		 off;		/* field in struct policy */
	uint64_t	 min, max;
	setter		 set;		/* V_FUNC */
	getter		 get;		/* V_FUNC */
	enum inifile_when when;		/* a reload's new value: INIFILE_* */
	const char	*help;		/* one line, for policy show */
	const char	*def;		/* the default, as a value in the file */
};

#define FIELD(p, ks, type)	((type *)(void *)((char *)(p) + (ks)->off))
#define CFIELD(p, ks, type)	\
	((type const *)(const void *)((const char *)(p) + (ks)->off))

/*
 * policy_write: the effective policy as a porthole.conf.  Each line is
 * built in a buffer as long as the reader's line limit, so that what is
 * printed can always be read back.
 */
struct line {
	char		 buf[INIFILE_MAX_LINE + 1];
	size_t		 len;
	int		 full;		/* something did not fit */
	const char	*sep;		/* between list items */
};


/* The key table and its sections, in the order policy show prints them. */
extern const struct keyspec *const policy_keys;
extern const size_t policy_nkeys;
extern const char *const *const policy_sections;
extern const size_t policy_nsections;
/* Above the [commands] entries, which are not keys of the table. */
extern const char *const policy_commands_help;
extern const char *const policy_actions_help;
extern const char *const policy_redact_help;

/* One key's value into l; 0 if it is not set. */
int	policy_get_value(const struct policy *, const struct keyspec *,
	    struct line *l);
void	policy_line_add(struct line *l, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Split s on runs of blanks into at most max words (copies).  Returns
 * the count, or -1 if there are more words or no memory.
 */
int	policy_split_words(const char *s, char ***out, size_t max);
/* A command's word: PH_NONE, PH_INT, PH_WORD, or -1 with why in msg. */
int	policy_placeholder_type(const char *w, char *msg, size_t len);
/* Printable ASCII, blanks allowed. */
int	policy_printable(const char *s);

#endif
