/*
 * shell_int.h - shared between the files of the support shell:
 * shell.c, the command loop and table, over the others; shell_term.c,
 * the terminal; shell_edit.c, the line editor; shell_page.c, cat, tail
 * and less; shell_ls.c, ls.  Not a public surface: shell.h is.
 */
#ifndef PH_SHELL_INT_H
#define PH_SHELL_INT_H

#include <sys/types.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/session/shell.h"

#define SHELL_LINE_MAX		1024	/* bytes in a command line */
#define SHELL_WORDS_MAX		64	/* words in a command line */
#define SHELL_CHUNK		16384	/* bytes per pread or pipe read */
#define SHELL_TAIL_LINES	10	/* tail without -n */
#define SHELL_TAIL_MAX		100000	/* largest tail -n */
#define SHELL_FOLLOW_MS		250	/* how often tail -f looks for more */
#define SHELL_LS_BATCH		64	/* entries per list_dir request */
#define SHELL_LS_MAX		10000	/* entries ls gathers and sorts */
#define SHELL_ROWS		24	/* when the terminal does not say */
#define SHELL_COLS		80
#define SHELL_HISTORY		32	/* command lines kept for the up key */
#define SHELL_ESC_MAX		16	/* bytes of an escape sequence */

/* What a command needs the policy to have turned on. */
#define SHELL_NEED_FILES	0x1
#define SHELL_NEED_SETTINGS	0x2
#define SHELL_NEED_DIAGS	0x4
#define SHELL_NEED_ACTIONS	0x8

/*
 * Command handlers return SHELL_NEXT to show the next prompt, SHELL_END
 * when the engineer is done, and -1 when the monitor or the terminal is
 * gone and nothing more may happen.
 */
#define SHELL_NEXT		0
#define SHELL_END		1

/* UTF-8: a continuation byte takes no column and no cursor stop. */
#define SHELL_CONT(c)	(((unsigned char)(c) & 0xc0) == 0x80)

/* What reading a command line gave. */
enum shell_input {
	SHELL_IN_LINE,		/* a line, in the caller's buffer */
	SHELL_IN_EOF,		/* ^D on an empty line */
	SHELL_IN_INTR,		/* ^C: the line is discarded */
	SHELL_IN_LONG,		/* longer than SHELL_LINE_MAX: discarded */
	SHELL_IN_ERROR		/* the terminal is gone */
};

/* One engineer's shell. */
struct shell {
	int			 tty;
	const struct access_ops	*ops;
	const struct shell_info	*info;
	char			 cwd[ACCESS_PATH_MAX + 1];
	sigset_t		 waitmask;	/* the mask while waiting */
	int			 col0;		/* the cursor starts a line */
	unsigned char		 in[512];	/* keys read, not yet taken */
	size_t			 in_off, in_len;
	char			 prompt[ACCESS_PATH_MAX + 128];
	size_t			 prompt_cols;
	char			 hist[SHELL_HISTORY][SHELL_LINE_MAX + 1];
	unsigned		 nhist;		/* lines ever kept */
	const char		*usage;		/* of the command running */
};

/* Set by SIGINT (^C), cleared before each prompt. */
extern volatile sig_atomic_t shell_intr;

/* shell_term.c: output. */
void	shell_on_sigint(int sig);
int	shell_write(struct shell *, const void *buf, size_t len);
size_t	shell_show(const char *s, size_t len, int final, char out[16],
	    size_t *n, int *cols);
ssize_t	shell_text_part(struct shell *, const char *s, size_t len,
	    int final);
int	shell_text(struct shell *, const char *s, size_t len);
int	shell_printf(struct shell *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	shell_newline(struct shell *);
int	shell_say(struct shell *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	shell_refused(struct shell *, const char *why);
void	shell_winsize(struct shell *, int *rows, int *cols);
/* shell_term.c: input, and waits ^C interrupts. */
int	shell_wait(struct shell *, struct pollfd *pfd, nfds_t n, int ms);
int	shell_interrupted(struct shell *);
int	shell_key(struct shell *, unsigned char *c);
/* shell_term.c: what the engineer typed. */
int	shell_usage(struct shell *);
/* arg against the current directory into out: 1, 0 (said why), -1. */
int	shell_path(struct shell *, const char *arg, char *out);
/* The same, and what the monitor says of it: 1, 0 (said why), -1. */
int	shell_stat(struct shell *, const char *arg, char *path,
	    struct access_attr *attr);

/* shell_edit.c */
int	shell_cols(struct shell *);
/* After ESC: the control key the sequence stands for, 0, or -1. */
int	shell_escape(struct shell *);
enum shell_input shell_read_line(struct shell *, char *line, size_t *lenp);

/* shell_page.c and shell_ls.c: commands. */
int	shell_cat(struct shell *, int argc, char **argv);
int	shell_tail(struct shell *, int argc, char **argv);
int	shell_less(struct shell *, int argc, char **argv);
int	shell_ls(struct shell *, int argc, char **argv);

#endif
