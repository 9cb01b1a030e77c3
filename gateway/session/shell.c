/*
 * shell.c - the support shell: a small command loop on the engineer's
 * terminal, its table of commands, and the commands that are not about
 * files (cd, pwd, settings, diagnostics, actions, help, exit).
 *
 * The terminal is out of line mode and does not echo: the shell edits
 * the command line itself (shell_edit: cursor keys, home and end,
 * backspace and delete, ^A ^E ^B ^F ^K ^U ^W ^L, history with the up
 * and down keys) and shows it scrolled sideways to fit the window.  A
 * control character never enters a line.  The kernel still turns ^C into
 * SIGINT.  Keys are taken from one buffer, so keys typed ahead - after q
 * in the pager, during a command - wait for the next prompt.  Everything the
 * engineer reaches goes through the access_ops table, because this
 * process runs under a seccomp filter that allows no open(2), no exec
 * and no sockets.  For the same reason it never calls into libc for
 * anything that may touch a file or an unlisted system call behind its
 * back (time zones, qsort, stdio streams).
 */
#include "gateway/session/shell_int.h"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "lib/escape.h"

/* What shell_run changes and puts back before it returns. */
struct shell_saved {
	struct termios		tio;
	struct sigaction	intr;
	struct sigaction	quit;
	struct sigaction	tstp;
	sigset_t		mask;
};

/* One command of the shell: the table below is all of them. */
struct shell_cmd {
	const char	*name;
	int		(*run)(struct shell *, int, char **);
	int		 needs;		/* SHELL_NEED_* */
	const char	*usage;
	const char	*help;		/* NULL: not listed by help */
};

static int	shell_help(struct shell *, int, char **);
static int	shell_exit(struct shell *, int, char **);
static int	shell_pwd(struct shell *, int, char **);
static int	shell_cd(struct shell *, int, char **);
static int	shell_settings(struct shell *, int, char **);
static int	shell_run_diag(struct shell *, int, char **);
static int	shell_action(struct shell *, int, char **);

/* Every command the engineer may type, what it needs, and its help. */
static const struct shell_cmd shell_cmds[] = {
	{ "help", shell_help, 0, "help", "this list" },
	{ "ls", shell_ls, SHELL_NEED_FILES, "ls [PATH]",
	    "list a directory, or one file" },
	{ "cd", shell_cd, SHELL_NEED_FILES, "cd [PATH]",
	    "change directory (none: back home)" },
	{ "pwd", shell_pwd, SHELL_NEED_FILES, "pwd",
	    "show the current directory" },
	{ "cat", shell_cat, SHELL_NEED_FILES, "cat PATH", "show a file" },
	{ "tail", shell_tail, SHELL_NEED_FILES, "tail [-n N] [-f] PATH",
	    "last N lines (10); -f: follow until ^C" },
	{ "less", shell_less, SHELL_NEED_FILES, "less PATH",
	    "page through a file (or more)" },
	{ "more", shell_less, SHELL_NEED_FILES, "more PATH", NULL },
	{ "settings", shell_settings, SHELL_NEED_SETTINGS,
	    "settings get KEY | set KEY VALUE",
	    "read or change a product setting" },
	{ "run", shell_run_diag, SHELL_NEED_DIAGS, "run NAME [WORDS]",
	    "a diagnostic, even one named like a command" },
	{ "action", shell_action, SHELL_NEED_ACTIONS, "action NAME [WORDS]",
	    "ask to run a change; it waits for the customer (^C: withdraw)" },
	{ "exit", shell_exit, 0, "exit", "end the session (or logout, ^D)" },
	{ "logout", shell_exit, 0, "logout", NULL },
};

#define SHELL_NCMDS	(sizeof(shell_cmds) / sizeof(shell_cmds[0]))

static const struct shell_cmd *
shell_find(const char *name)
{
	size_t	i;

	for (i = 0; i < SHELL_NCMDS; i++)
		if (strcmp(shell_cmds[i].name, name) == 0)
			return &shell_cmds[i];
	return NULL;
}

/* Split line in place on spaces and tabs; returns the count, or -1. */
static int
shell_split(char *line, char **argv, int max)
{
	char	*p = line;
	int	 argc = 0;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (argc == max)
			return -1;
		argv[argc++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
	argv[argc] = NULL;
	return argc;
}

/*
 * No control character (C0, DEL, C1, NUL too) and no byte that is not
 * UTF-8 has a use in a command, and a NUL would hide the rest of the
 * line from the checks.  shell_read_line keeps them out of a line; this
 * is the check at the point of use.
 */
static int
shell_has_control(const char *line, size_t len)
{
	size_t	i = 0, n;
	int	pass;

	while (i < len) {
		if ((n = escape_char(line + i, len - i, &pass)) == 0)
			return 1;
		if (!pass && line[i] != '\t')
			return 1;
		i += n;
	}
	return 0;
}

static int
shell_cd(struct shell *sh, int argc, char **argv)
{
	char			path[ACCESS_PATH_MAX + 1];
	struct access_attr	attr;
	const char		*to;
	int			rc;

	if (argc > 2)
		return shell_usage(sh);
	to = argc == 2 ? argv[1] : sh->ops->home != NULL ? sh->ops->home : "/";
	if ((rc = shell_stat(sh, to, path, &attr)) != 1)
		return rc;
	if (!S_ISDIR(attr.mode))
		return shell_say(sh, "%s: not a directory", to);
	memcpy(sh->cwd, path, sizeof(sh->cwd));
	return SHELL_NEXT;
}

static int
shell_pwd(struct shell *sh, int argc, char **argv)
{
	if (argc != 1)
		return shell_usage(sh);
	return shell_printf(sh, "%s\n", sh->cwd);
}

/*
 * Settings.
 */

static int
shell_settings(struct shell *sh, int argc, char **argv)
{
	char	value[1024] = "", why[ACCESS_WHY_MAX] = "";
	int	rc;

	if (argc == 3 && strcmp(argv[1], "get") == 0) {
		rc = sh->ops->setting_get(sh->ops->arg, argv[2], value,
		    sizeof(value), why, sizeof(why));
		if (rc == 1)
			return shell_printf(sh, "%s\n", value);
	} else if (argc == 4 && strcmp(argv[1], "set") == 0) {
		rc = sh->ops->setting_set(sh->ops->arg, argv[2], argv[3],
		    value, sizeof(value), why, sizeof(why));
		if (rc == 1)
			return shell_printf(sh, "%s: %s -> %s\n", argv[2],
			    value, argv[3]);
	} else
		return shell_usage(sh);
	return rc == 0 ? shell_refused(sh, why) : -1;
}

/*
 * Diagnostics.
 */

/* What a diagnostic's pipe ended a read in: a character cut in two. */
struct shell_held {
	char	buf[4];
	size_t	n;
};

static int
shell_is_diag(struct shell *sh, const char *name)
{
	const char *const	*c;

	if (sh->info->commands == NULL)
		return 0;
	for (c = sh->info->commands; *c != NULL; c++)
		if (strcmp(*c, name) == 0)
			return 1;
	return 0;
}

/*
 * Copy one pipe's data; 0 at its end, 1 on progress, -1 on a lost tty.
 * A character cut by a read waits in held for the rest.
 */
static int
shell_drain_one(struct shell *sh, int fd, struct shell_held *held,
    uint64_t *bytes)
{
	char	buf[sizeof(held->buf) + SHELL_CHUNK];
	ssize_t	n, shown;

	memcpy(buf, held->buf, held->n);
	if ((n = read(fd, buf + held->n, SHELL_CHUNK)) == -1 &&
	    (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0) {
		shown = shell_text_part(sh, buf, held->n, 1);
		held->n = 0;
		return shown == -1 ? -1 : 0;
	}
	*bytes += (uint64_t)n;
	n += (ssize_t)held->n;
	if ((shown = shell_text_part(sh, buf, (size_t)n, 0)) == -1)
		return -1;
	held->n = (size_t)(n - shown);
	memcpy(held->buf, buf + shown, held->n);
	return 1;
}

/*
 * Copy a diagnostic's output and error pipes to the terminal until both
 * end or ^C; both are closed on return.
 */
static int
shell_drain(struct shell *sh, int out, int err, uint64_t *bytes)
{
	struct pollfd		pfd[2];
	struct shell_held	held[2];
	int			open = 0, i, rc = 0;

	memset(held, 0, sizeof(held));
	pfd[0].fd = out;
	pfd[1].fd = err;
	for (i = 0; i < 2; i++) {
		pfd[i].events = POLLIN;
		open += pfd[i].fd != -1;
	}
	while (open > 0 && rc != -1 && shell_wait(sh, pfd, 2, -1) != -1) {
		for (i = 0; i < 2 && rc != -1; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			if ((rc = shell_drain_one(sh, pfd[i].fd, &held[i],
			    bytes)) == 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open--;
			}
		}
	}
	for (i = 0; i < 2; i++)
		if (pfd[i].fd != -1)
			close(pfd[i].fd);
	return rc == -1 ? -1 : 0;
}

/* Join words with single spaces: the line as the audit log shows it. */
static void
shell_join(int argc, char **argv, char *out, size_t len)
{
	size_t	o = 0, n;
	int	i;

	out[0] = '\0';
	for (i = 0; i < argc; i++) {
		n = strlen(argv[i]);
		if (o + (i > 0) + n + 1 > len)
			break;
		if (i > 0)
			out[o++] = ' ';
		memcpy(out + o, argv[i], n + 1);
		o += n;
	}
}

/*
 * Run an allow-listed diagnostic.  After ^C the pipes are closed, the
 * monitor is asked to stop it, and still reaps it.
 */
static int
shell_diag(struct shell *sh, int argc, char **argv)
{
	char		line[SHELL_LINE_MAX + 1], why[ACCESS_WHY_MAX] = "";
	uint64_t	bytes = 0;
	int		out = -1, err = -1, status = 0, timed_out = 0, rc;

	shell_join(argc, argv, line, sizeof(line));
	rc = sh->ops->exec(sh->ops->arg, line, &out, &err, why, sizeof(why));
	if (rc == 0)
		return shell_refused(sh, why);
	if (rc != 1)
		return -1;
	rc = shell_drain(sh, out, err, &bytes);
	if (shell_intr && sh->ops->exec_cancel != NULL &&
	    sh->ops->exec_cancel(sh->ops->arg) == -1)
		return -1;
	if (sh->ops->exec_wait(sh->ops->arg, bytes, &status, &timed_out) != 1)
		return -1;
	if (rc == -1)
		return -1;
	if (status != 0 && (shell_newline(sh) == -1 ||
	    shell_printf(sh, "[exit %d]\n", status) == -1))
		return -1;
	if (timed_out)
		return shell_say(sh, "%s ran too long and was stopped",
		    argv[0]);
	return SHELL_NEXT;
}

static int
shell_run_diag(struct shell *sh, int argc, char **argv)
{
	if (argc < 2)
		return shell_usage(sh);
	if (!shell_is_diag(sh, argv[1]))
		return shell_say(sh, "no diagnostic named '%s' on this cluster",
		    argv[1]);
	return shell_diag(sh, argc - 1, argv + 1);
}

/*
 * An [actions] entry, asked for as `ssh ... action NAME` would: the
 * monitor and the gateway decide it, it waits for the customer (the
 * engineer reads that, and the id to give them, on its stderr), and
 * then its output comes as a diagnostic's does.  ^C while it waits
 * withdraws it; once it runs, ^C leaves it running to its end.
 */
static int
shell_action(struct shell *sh, int argc, char **argv)
{
	if (argc < 2)
		return shell_usage(sh);
	return shell_diag(sh, argc, argv);
}

/*
 * help and exit.
 */

static int
shell_enabled(struct shell *sh, int needs)
{
	if ((needs & SHELL_NEED_FILES) && !sh->info->files_enabled)
		return 0;
	if ((needs & SHELL_NEED_SETTINGS) && !sh->info->settings_enabled)
		return 0;
	if ((needs & SHELL_NEED_DIAGS) && (sh->info->commands == NULL ||
	    sh->info->commands[0] == NULL))
		return 0;
	if ((needs & SHELL_NEED_ACTIONS) && !sh->info->actions_enabled)
		return 0;
	return 1;
}

static int
shell_help_diags(struct shell *sh)
{
	const char *const	*c;
	int			 rc;

	if (!shell_enabled(sh, SHELL_NEED_DIAGS))
		return shell_printf(sh, "\nNo diagnostics are enabled on this "
		    "cluster.\n");
	if (shell_printf(sh, "\nDiagnostics (type the name and its words):"
	    "\n") == -1)
		return -1;
	for (c = sh->info->commands; *c != NULL; c++) {
		/* A shell command of the same name wins; run reaches it. */
		if (shell_find(*c) != NULL)
			rc = shell_printf(sh, "  %-20s (a shell command too: "
			    "run %s ...)\n", *c, *c);
		else
			rc = shell_printf(sh, "  %s\n", *c);
		if (rc == -1)
			return -1;
	}
	return 0;
}

static int
shell_help(struct shell *sh, int argc, char **argv)
{
	size_t	i;

	if (shell_printf(sh, "Commands:\n") == -1)
		return -1;
	for (i = 0; i < SHELL_NCMDS; i++) {
		if (shell_cmds[i].help == NULL ||
		    !shell_enabled(sh, shell_cmds[i].needs))
			continue;
		if (shell_printf(sh, "  %-33s %s\n", shell_cmds[i].usage,
		    shell_cmds[i].help) == -1)
			return -1;
	}
	if (!sh->info->files_enabled && shell_printf(sh, "File access is not "
	    "enabled on this cluster.\n") == -1)
		return -1;
	if (!sh->info->settings_enabled && shell_printf(sh, "Settings are not "
	    "enabled on this cluster.\n") == -1)
		return -1;
	if (shell_help_diags(sh) == -1)
		return -1;
	return shell_printf(sh, "\n^C stops a running command; the pager takes "
	    "space, enter, b (back) and q.\n");
}

static int
shell_exit(struct shell *sh, int argc, char **argv)
{
	return SHELL_END;
}

/* A command the policy has not turned on: say so and audit the attempt. */
static int
shell_disabled(struct shell *sh, const struct shell_cmd *cmd, int argc,
    char **argv)
{
	const char	*what;

	what = cmd->needs & SHELL_NEED_FILES ? "file access is" :
	    cmd->needs & SHELL_NEED_SETTINGS ? "settings are" :
	    cmd->needs & SHELL_NEED_ACTIONS ? "actions are" :
	    "diagnostics are";
	if (sh->ops->refused(sh->ops->arg, cmd->name,
	    argc > 1 ? argv[1] : "") == -1)
		return -1;
	return shell_say(sh, "%s not enabled on this cluster", what);
}

/*
 * The loop.
 */

static int
shell_command(struct shell *sh, char *line, size_t len)
{
	const struct shell_cmd	*cmd;
	char			*argv[SHELL_WORDS_MAX + 1];
	int			 argc;

	if (shell_has_control(line, len))
		return shell_say(sh, "control characters are not allowed "
		    "in a command");
	if ((argc = shell_split(line, argv, SHELL_WORDS_MAX)) == -1)
		return shell_say(sh, "more than %d words", SHELL_WORDS_MAX);
	if (argc == 0)
		return SHELL_NEXT;
	if ((cmd = shell_find(argv[0])) != NULL) {
		if (!shell_enabled(sh, cmd->needs))
			return shell_disabled(sh, cmd, argc, argv);
		sh->usage = cmd->usage;
		return cmd->run(sh, argc, argv);
	}
	if (shell_is_diag(sh, argv[0]))
		return shell_diag(sh, argc, argv);
	return shell_say(sh, "unknown command '%s'; type help", argv[0]);
}

/* Columns s takes as shell_text shows it. */
static size_t
shell_width(const char *s)
{
	char	piece[16];
	size_t	w = 0, n, len = strlen(s);
	int	cols;

	while (len > 0 && shell_show(s, len, 1, piece, &n, &cols) > 0) {
		w += (size_t)cols;
		s += n;
		len -= n;
	}
	return w;
}

/*
 * "support@CLUSTER:CWD> ", with the start of a deep CWD cut to "..."
 * so that at least 20 columns (half of a narrow window) are left for the
 * command line.
 */
static void
shell_make_prompt(struct shell *sh)
{
	const char	*tail = sh->cwd;
	size_t		 cols = (size_t)shell_cols(sh);
	size_t		 max = cols > 40 ? cols - 20 : cols / 2;

	(void)snprintf(sh->prompt, sizeof(sh->prompt), "support@%s:%s> ",
	    sh->info->cluster_id, sh->cwd);
	while (shell_width(sh->prompt) > max && *tail != '\0') {
		tail++;
		while (SHELL_CONT(*tail))
			tail++;
		(void)snprintf(sh->prompt, sizeof(sh->prompt),
		    "support@%s:...%s> ", sh->info->cluster_id, tail);
	}
	sh->prompt_cols = shell_width(sh->prompt);
}

static int
shell_prompt(struct shell *sh)
{
	/* After ^C the terminal has echoed "^C" where the cursor was. */
	if (shell_intr)
		sh->col0 = 0;
	shell_intr = 0;
	if (shell_newline(sh) == -1)
		return -1;
	shell_make_prompt(sh);
	return shell_text(sh, sh->prompt, strlen(sh->prompt));
}

static int
shell_loop(struct shell *sh)
{
	char	line[SHELL_LINE_MAX + 1];
	size_t	len;
	int	rc = SHELL_NEXT;

	for (;;) {
		if (shell_prompt(sh) == -1)
			return -1;
		switch (shell_read_line(sh, line, &len)) {
		case SHELL_IN_EOF:
			(void)shell_write(sh, "\n", 1);
			return 0;
		case SHELL_IN_ERROR:
			return -1;
		case SHELL_IN_INTR:
			continue;
		case SHELL_IN_LONG:
			sh->col0 = 1;
			rc = shell_say(sh, "line too long (at most %d bytes)",
			    SHELL_LINE_MAX);
			break;
		case SHELL_IN_LINE:
			sh->col0 = 1;
			rc = shell_command(sh, line, len);
			break;
		}
		if (rc == SHELL_END)
			return 0;
		if (rc == -1)
			return -1;
	}
}

/*
 * Keys one at a time, unechoed (the shell edits and echoes the line),
 * ^C as SIGINT; ^\ and ^Z are switched off, since quitting or stopping
 * this process would only leave the engineer at a dead terminal, and so
 * is IEXTEN (^V, ^O).
 */
static int
shell_term_init(struct shell *sh, const struct termios *saved)
{
	struct termios	t = *saved;

	t.c_iflag |= ICRNL;
	t.c_iflag &= ~(tcflag_t)(INLCR | IGNCR | IXON);
	t.c_oflag |= OPOST | ONLCR;
	t.c_lflag |= ISIG;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ECHONL | IEXTEN | NOFLSH |
	    TOSTOP);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	t.c_cc[VQUIT] = _POSIX_VDISABLE;
	t.c_cc[VSUSP] = _POSIX_VDISABLE;
	return tcsetattr(sh->tty, TCSANOW, &t);
}

static int
shell_banner(struct shell *sh)
{
	return shell_printf(sh, "porthole support shell on %s\n"
	    "Signed in as %s.  This session is recorded and audited.\n"
	    "Type help for what you can do here.\n", sh->info->cluster_id,
	    sh->info->engineer);
}

/* Block SIGINT but in waits; ^\ and ^Z mean nothing here. */
static void
shell_signals(struct shell *sh, struct shell_saved *sv)
{
	struct sigaction	sa, ign;
	sigset_t		block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = shell_on_sigint;	/* no SA_RESTART: waits end */
	sigemptyset(&sa.sa_mask);
	ign = sa;
	ign.sa_handler = SIG_IGN;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &sv->mask);
	sh->waitmask = sv->mask;
	sigdelset(&sh->waitmask, SIGINT);
	sigaction(SIGINT, &sa, &sv->intr);
	sigaction(SIGQUIT, &ign, &sv->quit);
	sigaction(SIGTSTP, &ign, &sv->tstp);
	shell_intr = 0;
}

static void
shell_restore(struct shell *sh, struct shell_saved *sv)
{
	struct sigaction	ign;

	(void)tcsetattr(sh->tty, TCSANOW, &sv->tio);
	/* Ignoring SIGINT first drops a pending ^C before it is unblocked. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, NULL);
	sigprocmask(SIG_SETMASK, &sv->mask, NULL);
	sigaction(SIGINT, &sv->intr, NULL);
	sigaction(SIGQUIT, &sv->quit, NULL);
	sigaction(SIGTSTP, &sv->tstp, NULL);
}

int
shell_run(int tty, const struct access_ops *ops,
    const struct shell_info *info)
{
	struct shell		sh;
	struct shell_saved	sv;
	int			rc = -1;

	memset(&sh, 0, sizeof(sh));
	sh.tty = tty;
	sh.ops = ops;
	sh.info = info;
	sh.col0 = 1;
	if (access_normalize(NULL, ops->home != NULL ? ops->home : "/", sh.cwd,
	    sizeof(sh.cwd)) == -1 || tcgetattr(tty, &sv.tio) == -1)
		return -1;
	shell_signals(&sh, &sv);
	if (shell_term_init(&sh, &sv.tio) == 0 && shell_banner(&sh) == 0)
		rc = shell_loop(&sh);
	shell_restore(&sh, &sv);
	return rc;
}
