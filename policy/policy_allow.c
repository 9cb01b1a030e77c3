/*
 * policy_allow.c - the decisions: may this engineer log in, may a
 * session take a slot, may it forward to this target, read or change
 * this setting, run this command line.  Pure functions of the policy
 * and the request; each refusal says why in one line for the engineer.
 */
#include "policy/policy_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/ident.h"
#include "lib/parse.h"

int
policy_allow_session(const struct policy *p, const char *const *principals,
    size_t nprincipals, const char *ticket, time_t now, const char **engineer,
    char *reason, size_t rlen)
{
	struct tm	 tm;
	char		 when[32];
	size_t		 i, j;

	if (!p->ra_enabled) {
		snprintf(reason, rlen, "remote access is disabled on this "
		    "cluster");
		return 0;
	}
	if (p->expires != 0 && now >= p->expires) {
		if (gmtime_r(&p->expires, &tm) == NULL ||
		    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
		    &tm) == 0)
			snprintf(when, sizeof(when), "%lld",
			    (long long)p->expires);
		snprintf(reason, rlen, "remote access grant expired at %s",
		    when);
		return 0;
	}
	if (nprincipals == 0 || principals == NULL || principals[0] == NULL) {
		snprintf(reason, rlen, "the certificate names no principal");
		return 0;
	}
	*engineer = NULL;
	for (i = 0; i < nprincipals && *engineer == NULL; i++) {
		if (principals[i] == NULL)
			continue;
		if (p->engineers_any)
			*engineer = principals[i];
		for (j = 0; j < p->nengineers && *engineer == NULL; j++)
			if (strcmp(principals[i], p->engineers[j]) == 0)
				*engineer = principals[i];
	}
	if (*engineer == NULL) {
		snprintf(reason, rlen, "engineer '%s' is not allowed on this "
		    "cluster", principals[0]);
		return 0;
	}
	if (p->require_ticket && (ticket == NULL || ticket[0] == '\0')) {
		*engineer = NULL;
		snprintf(reason, rlen, "a support ticket is required "
		    "(certificate extension ticket@porthole)");
		return 0;
	}
	return 1;
}

/* An engineer's word for a placeholder of type t. */
static int
valid_arg(enum ph_type t, const char *s)
{
	size_t n = strlen(s), i;

	if (t == PH_INT) {
		if (n == 0 || n > INT_ARG_DIGITS)
			return 0;
		for (i = 0; i < n; i++)
			if (!isdigit((unsigned char)s[i]))
				return 0;
		return 1;
	}
	/* A leading '-' would be read as an option by the diagnostic. */
	return ident_valid(s, NAME_MAX_LEN, IDENT_NAME) && s[0] != '-';
}

/* "{lines:int}" -> "lines" into buf. */
static const char *
placeholder_name(const char *w, char *buf, size_t len)
{
	snprintf(buf, len, "%.*s", (int)strcspn(w + 1, ":"), w + 1);
	return buf;
}

int
policy_allow_session_slot(const struct policy *p, size_t nsessions,
    char *reason, size_t rlen)
{
	if (nsessions < p->max_sessions)
		return 1;
	snprintf(reason, rlen, "the customer allows %llu session%s at once "
	    "and %s in use", (unsigned long long)p->max_sessions,
	    p->max_sessions == 1 ? "" : "s", p->max_sessions == 1 ? "it is" :
	    "they are all");
	return 0;
}

void
policy_forward_refusal(const char *host, uint16_t port, char *reason,
    size_t rlen)
{
	/* An IPv6 literal is shown in brackets, as ssh -L takes it. */
	snprintf(reason, rlen, "%s%.255s%s:%u is not a forwarding target on "
	    "this cluster", strchr(host, ':') != NULL ? "[" : "", host,
	    strchr(host, ':') != NULL ? "]" : "", port);
}

int
policy_allow_forward(const struct policy *p, const char *host,
    uint16_t port, char *reason, size_t rlen)
{
	size_t i;

	if (!p->forward_enabled) {
		snprintf(reason, rlen, "port forwarding is disabled on this "
		    "cluster");
		return 0;
	}
	for (i = 0; host[i] != '\0'; i++)
		if (i >= 255 || host[i] <= 0x20 || host[i] > 0x7e)
			break;
	if (i == 0 || host[i] != '\0') {
		snprintf(reason, rlen, "not a host name or address");
		return 0;
	}
	/* No target on this port: refused without asking DNS at all. */
	for (i = 0; i < p->ntargets; i++)
		if (p->targets[i].port == port)
			return 1;
	policy_forward_refusal(host, port, reason, rlen);
	return 0;
}

int
policy_allow_setting(const struct policy *p, const char *key, char *reason,
    size_t rlen)
{
	size_t i;

	if (!p->settings_enabled) {
		snprintf(reason, rlen, "remote settings are disabled on this "
		    "cluster");
		return 0;
	}
	if (p->settings_file == NULL) {
		snprintf(reason, rlen, "no settings file is configured on "
		    "this cluster");
		return 0;
	}
	if (!ident_valid(key, SETTING_NAME_MAX, IDENT_NAME)) {
		snprintf(reason, rlen, "not a setting name");
		return 0;
	}
	for (i = 0; i < p->nsettings_keys; i++)
		if (strcmp(p->settings_keys[i], key) == 0)
			return 1;
	snprintf(reason, rlen, "key '%s' is not a listed setting", key);
	return 0;
}

/*
 * cmdline against the list (what: "command" or "action"): the entry its
 * first word names, its other words put in the template's placeholders.
 */
static int
allow_listed(const struct policy_command *list, size_t nlist,
    const char *what, const char *cmdline, char ***argv, char *reason,
    size_t rlen)
{
	const struct policy_command	*cmd = NULL;
	char				**words = NULL, **out = NULL, nbuf[64];
	size_t				 i, nargs, nph = 0, a;
	enum ph_type			 t;
	int				 n, ok = 0;

	if (cmdline == NULL)
		cmdline = "";
	if (strnlen(cmdline, POLICY_MAX_CMDLINE + 1) > POLICY_MAX_CMDLINE) {
		snprintf(reason, rlen, "command line longer than %d "
		    "characters", POLICY_MAX_CMDLINE);
		return 0;
	}
	for (i = 0; cmdline[i] != '\0'; i++) {
		if (cmdline[i] < 0x20 || cmdline[i] > 0x7e) {
			snprintf(reason, rlen, "command line holds a "
			    "non-printable character");
			return 0;
		}
	}
	if ((n = policy_split_words(cmdline, &words, POLICY_MAX_WORDS)) == -1) {
		snprintf(reason, rlen, "command line has more than %d words",
		    POLICY_MAX_WORDS);
		return 0;
	}
	if (n == 0) {
		snprintf(reason, rlen, "no %s given", what);
		goto out;
	}
	for (i = 0; i < nlist && cmd == NULL; i++)
		if (strcmp(list[i].name, words[0]) == 0)
			cmd = &list[i];
	if (cmd == NULL) {
		snprintf(reason, rlen, "%s '%s' is not allowed on this "
		    "cluster", what, words[0]);
		goto out;
	}

	for (i = 1; i < cmd->argc; i++)
		if (cmd->argv[i][0] == '{')
			nph++;
	nargs = (size_t)n - 1;
	if (nargs < nph) {
		snprintf(reason, rlen, "%s '%s' needs %zu argument(s)",
		    what, cmd->name, nph);
		goto out;
	}
	if (nargs > nph) {
		snprintf(reason, rlen, "%s '%s' takes %zu argument(s)",
		    what, cmd->name, nph);
		goto out;
	}

	if ((out = calloc(cmd->argc + 1, sizeof(*out))) == NULL) {
		snprintf(reason, rlen, "out of memory");
		goto out;
	}
	for (i = 0, a = 1; i < cmd->argc; i++) {
		t = cmd->argv[i][0] == '{' ? (enum ph_type)policy_placeholder_type(
		    cmd->argv[i], nbuf, sizeof(nbuf)) : PH_NONE;
		if (t != PH_NONE && !valid_arg(t, words[a])) {
			snprintf(reason, rlen, "%s '%s': argument '%s' "
			    "is not a valid %s (%s)", what, cmd->name, words[a],
			    t == PH_INT ? "int" : "word",
			    placeholder_name(cmd->argv[i], nbuf,
			    sizeof(nbuf)));
			goto out;
		}
		if ((out[i] = strdup(t == PH_NONE ? cmd->argv[i] :
		    words[a++])) == NULL) {
			snprintf(reason, rlen, "out of memory");
			goto out;
		}
	}
	*argv = out;
	out = NULL;
	ok = 1;
out:
	policy_argv_free(out);
	policy_argv_free(words);
	return ok;
}

int
policy_allow_command(const struct policy *p, const char *cmdline,
    char ***argv, char *reason, size_t rlen)
{
	if (!p->ra_enabled) {
		snprintf(reason, rlen, "remote access is disabled on this "
		    "cluster");
		return 0;
	}
	if (!p->commands_enabled) {
		snprintf(reason, rlen, "diagnostics are disabled on this "
		    "cluster");
		return 0;
	}
	return allow_listed(p->commands, p->ncommands, "command", cmdline,
	    argv, reason, rlen);
}

int
policy_allow_action(const struct policy *p, const char *cmdline,
    char ***argv, char *reason, size_t rlen)
{
	if (!p->ra_enabled) {
		snprintf(reason, rlen, "remote access is disabled on this "
		    "cluster");
		return 0;
	}
	if (!p->actions_enabled) {
		snprintf(reason, rlen, "actions are disabled on this cluster");
		return 0;
	}
	return allow_listed(p->actions, p->nactions, "action", cmdline, argv,
	    reason, rlen);
}
