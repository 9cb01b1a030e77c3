/*
 * inifile.h - strict INI reading on top of inih.
 *
 * inih on its own splits over-long lines silently and goes on after
 * errors.  This reader refuses: a line longer than INIFILE_MAX_LINE,
 * a key outside any section, a duplicate key in a section, a section
 * that appears twice, multi-line continuations, and whatever the
 * handler refuses.  Errors are "FILE:LINE: message".
 */
#ifndef PH_INIFILE_H
#define PH_INIFILE_H

#include <stddef.h>

#define INIFILE_MAX_LINE	1024
#define INIFILE_MAX_SIZE	(1024 * 1024)

/*
 * Called once per key.  Return 0 to accept; return -1 after writing a
 * message (without the FILE:LINE prefix) into msg to refuse.
 */
typedef int (*inifile_handler)(void *ctx, const char *section,
    const char *key, const char *value, int line, char *msg, size_t msglen);

/*
 * Called once per section header, before its keys (may be NULL).  Same
 * return convention.  Lets a caller refuse unknown sections even when
 * they are empty.
 */
typedef int (*inifile_section_handler)(void *ctx, const char *section,
    int line, char *msg, size_t msglen);

/* Returns 0, or -1 with the first error in err as "FILE:LINE: message". */
int	inifile_read(const char *path, inifile_section_handler sh,
	    inifile_handler h, void *ctx, char *err, size_t errlen);
/* The same from an open regular file (read with pread), named name. */
int	inifile_read_fd(int fd, const char *name, inifile_section_handler sh,
	    inifile_handler h, void *ctx, char *err, size_t errlen);

/*
 * Where each key of a file is, for checks made after the file was
 * loaded that must still say FILE:LINE.  inifile_lines_read() reads path
 * again; NULL if it cannot now (out of memory, or changed into an
 * invalid file: the caller then names the file alone).
 */
struct inifile_lines;
struct inifile_lines *inifile_lines_read(const char *path);
/*
 * The line of key in section, or 0 if the file does not set it; key ""
 * asks where the section starts.
 */
int	inifile_lines_find(const struct inifile_lines *l, const char *section,
	    const char *key);
void	inifile_lines_free(struct inifile_lines *l);
/*
 * Name a key for a message: "PATH:LINE: [section] key", or for a key
 * the file does not set (its default applies) "PATH: [section] key (the
 * default)".  Returns buf.
 */
const char *inifile_where(const struct inifile_lines *l, const char *path,
	    const char *section, const char *key, char *buf, size_t len);

/*
 * When a key's new value takes effect, as a daemon's table of keys says
 * for each.  A reload applies a valid file at once, except that one
 * changing an INIFILE_START key is refused as a whole: the running
 * daemon could not honour it and must not pretend to.
 */
enum inifile_when {
	INIFILE_RELOAD,		/* at once */
	INIFILE_SESSION,	/* to what starts after the reload (sessions,
				   diagnostics); what runs keeps the old value */
	INIFILE_START		/* at the next start only */
};

/* That refusal: "PATH:LINE: KEY takes effect at restart" into err. */
void	inifile_restart_refusal(const char *path, int line, const char *key,
	    char *err, size_t errlen);

#endif
