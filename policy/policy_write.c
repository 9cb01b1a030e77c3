/*
 * policy_write.c - the policy printed back: policy_write gives the
 * effective policy as a porthole.conf (what porthole policy show prints,
 * and what the broker hands a session's monitor on a reload), and
 * policy_write_man the key table as porthole.conf(5)'s KEYS.  Both read
 * policy.c's key table, so the file, the view and the manual agree.
 */
#include "policy/policy_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/parse.h"
#include "lib/redact.h"

/*
 * One "key = value" line.  A value that does not fit the line limit with
 * blanks around '=' and after commas is written without them, as it
 * must have been in the file it came from.  An unset key (no default,
 * not in the file) is shown as a comment: only leaving it out reads back
 * as unset.
 */
static int
write_key(FILE *out, const char *key, const struct policy *p,
    const struct keyspec *ks, const struct policy_command *cmd,
    const char *raw)
{
	static const char *const eq[] = { " = ", "=" };
	static const char *const sep[] = { ", ", "," };
	struct line	 l;
	size_t		 i, j, v = 0;
	int		 set = 1;

	for (i = 0; i < sizeof(eq) / sizeof(eq[0]); i++) {
		memset(&l, 0, sizeof(l));
		l.sep = sep[i];
		policy_line_add(&l, "%s%s", key, eq[i]);
		v = l.len;
		if (ks != NULL)
			set = policy_get_value(p, ks, &l);
		for (j = 0; cmd != NULL && j < cmd->argc; j++)
			policy_line_add(&l, "%s%s", j == 0 ? "" : " ", cmd->argv[j]);
		if (raw != NULL)
			policy_line_add(&l, "%s", raw);
		if (!l.full)
			break;
	}
	if (l.full) {
		errno = EOVERFLOW;
		return -1;
	}
	/* "key =" for an empty value, "key =;x" for one starting with ';'. */
	if (v > 0 && l.buf[v - 1] == ' ' && (v == l.len || l.buf[v] == ';')) {
		memmove(l.buf + v - 1, l.buf + v, l.len - v + 1);
		l.len--;
	}
	if (!set)
		return fprintf(out, "; %s = (not set)\n", key) < 0 ? -1 : 0;
	return fprintf(out, "%s\n", l.buf) < 0 ? -1 : 0;
}

/* "; help", with the bounds of a number or a duration. */
static int
write_help(FILE *out, const struct keyspec *ks)
{
	char	 lo[32], hi[32], range[80] = "", def[96] = "";
	int	 n;

	if (ks->type == V_DURATION) {
		parse_format_duration(ks->min, lo, sizeof(lo));
		parse_format_duration(ks->max, hi, sizeof(hi));
		snprintf(range, sizeof(range), " (%s-%s)", lo, hi);
	} else if (ks->type == V_SIZE) {
		parse_format_size(ks->min, lo, sizeof(lo));
		parse_format_size(ks->max, hi, sizeof(hi));
		snprintf(range, sizeof(range), " (0, or %s-%s)", lo, hi);
	} else if (ks->type == V_UINT)
		snprintf(range, sizeof(range), " (%llu-%llu)",
		    (unsigned long long)ks->min, (unsigned long long)ks->max);
	if (ks->def != NULL)
		snprintf(def, sizeof(def), "; default %s", ks->def);
	n = fprintf(out, "; %s%s%s\n", ks->help, range, def);
	return n < 0 ? -1 : 0;
}

/* The [redact] patterns, under their one help line. */
static int
write_patterns(const struct policy *p, FILE *out)
{
	char	key[sizeof("pattern.") + REDACT_NAME_MAX];
	size_t	i;

	if (fprintf(out, "; %s\n", policy_redact_help) < 0)
		return -1;
	for (i = 0; i < redact_count(p->redact); i++) {
		snprintf(key, sizeof(key), "pattern.%s",
		    redact_name(p->redact, i));
		if (write_key(out, key, p, NULL, NULL,
		    redact_regex(p->redact, i)) == -1)
			return -1;
	}
	return 0;
}

/* [commands] diagnostics or [actions] actions, under their help. */
static int
write_listed(FILE *out, const struct policy *p, const char *help,
    const struct policy_command *list, size_t n)
{
	size_t i;

	if (fprintf(out, "; %s\n", help) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (write_key(out, list[i].name, p, NULL, &list[i], NULL) == -1)
			return -1;
	return 0;
}

static int
write_section(const struct policy *p, const char *section, FILE *out)
{
	size_t i;

	if (fprintf(out, "[%s]\n", section) < 0)
		return -1;
	for (i = 0; i < policy_nkeys; i++) {
		if (strcmp(policy_keys[i].section, section) != 0)
			continue;
		if (write_help(out, &policy_keys[i]) == -1 ||
		    write_key(out, policy_keys[i].key, p, &policy_keys[i],
		    NULL, NULL) == -1)
			return -1;
	}
	if (strcmp(section, "redact") == 0)
		return write_patterns(p, out);
	if (strcmp(section, "commands") == 0)
		return write_listed(out, p, policy_commands_help, p->commands,
		    p->ncommands);
	if (strcmp(section, "actions") == 0)
		return write_listed(out, p, policy_actions_help, p->actions,
		    p->nactions);
	return 0;
}

int
policy_write(const struct policy *p, FILE *out)
{
	size_t i;

	for (i = 0; i < policy_nsections; i++) {
		if (i > 0 && fputc('\n', out) == EOF)
			return -1;
		if (write_section(p, policy_sections[i], out) == -1)
			return -1;
	}
	if (fflush(out) == EOF || ferror(out))
		return -1;
	return 0;
}

/* One line of text for roff: backslashes escaped, no control line. */
static int
man_text(FILE *out, const char *text)
{
	const char *c;

	if ((text[0] == '.' || text[0] == '\'') && fputs("\\&", out) == EOF)
		return -1;
	for (c = text; *c != '\0'; c++)
		if ((*c == '\\' ? fputs("\\e", out) : fputc(*c, out)) == EOF)
			return -1;
	return fputc('\n', out) == EOF ? -1 : 0;
}

int
policy_write_man(FILE *out)
{
	char	 line[512], lo[32], hi[32];
	size_t	 i, j;

	for (i = 0; i < policy_nsections; i++) {
		if (fprintf(out, ".SS \"[%s]\"\n", policy_sections[i]) < 0)
			return -1;
		for (j = 0; j < policy_nkeys; j++) {
			const struct keyspec *ks = &policy_keys[j];

			if (strcmp(ks->section, policy_sections[i]) != 0)
				continue;
			if (fprintf(out, ".TP\n.B %s\n", ks->key) < 0)
				return -1;
			snprintf(line, sizeof(line), "%s.", ks->help);
			line[0] = (char)toupper((unsigned char)line[0]);
			if (ks->type == V_DURATION) {
				parse_format_duration(ks->min, lo, sizeof(lo));
				parse_format_duration(ks->max, hi, sizeof(hi));
				snprintf(line + strlen(line), sizeof(line) -
				    strlen(line), " From %s to %s.", lo, hi);
			} else if (ks->type == V_SIZE) {
				parse_format_size(ks->min, lo, sizeof(lo));
				parse_format_size(ks->max, hi, sizeof(hi));
				snprintf(line + strlen(line), sizeof(line) -
				    strlen(line), " 0, or from %s to %s.", lo,
				    hi);
			} else if (ks->type == V_UINT)
				snprintf(line + strlen(line), sizeof(line) -
				    strlen(line), " From %llu to %llu.",
				    (unsigned long long)ks->min,
				    (unsigned long long)ks->max);
			if (ks->def != NULL)
				snprintf(line + strlen(line), sizeof(line) -
				    strlen(line), " Default: %s.",
				    ks->def[0] != '\0' ? ks->def : "empty");
			else
				snprintf(line + strlen(line), sizeof(line) -
				    strlen(line), " No default.");
			if (ks->when != INIFILE_RELOAD)
				snprintf(line + strlen(line), sizeof(line) -
				    strlen(line), " %s", ks->when ==
				    INIFILE_START ? "Takes effect at restart: "
				    "a reload that changes it is refused." :
				    "A reload applies it to what starts "
				    "after it; what runs keeps the old "
				    "value.");
			if (man_text(out, line) == -1)
				return -1;
		}
		if (strcmp(policy_sections[i], "commands") == 0 &&
		    (fputs(".TP\n.I name\n", out) == EOF ||
		    man_text(out, policy_commands_help) == -1))
			return -1;
		if (strcmp(policy_sections[i], "actions") == 0 &&
		    (fputs(".TP\n.I name\n", out) == EOF ||
		    man_text(out, policy_actions_help) == -1))
			return -1;
		if (strcmp(policy_sections[i], "redact") == 0 &&
		    (fputs(".TP\n.BI pattern. NAME\n", out) == EOF ||
		    man_text(out, policy_redact_help) == -1))
			return -1;
	}
	return fflush(out) == EOF || ferror(out) ? -1 : 0;
}
