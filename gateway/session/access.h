/*
 * access.h - what the engineer-facing services (the SFTP server and the
 * support shell) may ask for, as a table of operations.
 *
 * Both services run sandboxed and parse untrusted input; they hold no
 * authority of their own.  In the gateway every operation is a monitor
 * request (monitor_wrap.c): the monitor checks the policy, audits, opens
 * the file or starts the diagnostic and passes the descriptor back.
 * Tests supply their own table.
 *
 * Paths are absolute and normalised (access_normalize) before they are
 * passed here.  Every function returns 1 on success, 0 when refused
 * (why holds one line for the engineer), -1 when the monitor is gone
 * (the caller must end).
 */
#ifndef PH_ACCESS_H
#define PH_ACCESS_H

#include <stddef.h>
#include <stdint.h>

#define ACCESS_PATH_MAX		1024	/* bytes in a path, NUL excluded */
#define ACCESS_NAME_MAX		255	/* bytes in one directory entry name */
#define ACCESS_WHY_MAX		256

/* File attributes as SFTP carries them. */
struct access_attr {
	uint64_t	 size;
	uint32_t	 uid;
	uint32_t	 gid;
	uint32_t	 mode;		/* st_mode: type and permissions */
	uint32_t	 atime;
	uint32_t	 mtime;
	uint32_t	 nlink;
	/*
	 * open_file only: the descriptor holds a redacted copy of the file
	 * ([redact]), which never grows: follow it with more_file.
	 */
	int		 redacted;
};

struct access_dirent {
	char			 name[ACCESS_NAME_MAX + 1];
	struct access_attr	 attr;
};

struct access_ops {
	void	*arg;

	/* The directory "." means: the first [files] path. */
	const char *home;

	/*
	 * Open a regular file for reading: *fd is readable (pread), *handle
	 * names the open in the audit log until close_file.
	 */
	int	(*open_file)(void *arg, const char *path, int *fd,
		    uint32_t *handle, struct access_attr *attr, char *why,
		    size_t whylen);
	/*
	 * A redacted file (attr->redacted) that is followed: the whole lines
	 * it gained since the last look, as a new copy in *fd whose byte 0
	 * is the file's byte *base (*fd -1: nothing new yet); *truncated
	 * when the file shrank and is read from its start again.  May be
	 * NULL.
	 */
	int	(*more_file)(void *arg, uint32_t handle, int *fd,
		    uint64_t *base, int *truncated, char *why, size_t whylen);
	/* The engineer is done with it; bytes: how many were sent. */
	int	(*close_file)(void *arg, uint32_t handle, uint64_t bytes);
	/* Attributes of a file or directory (symbolic links are refused). */
	int	(*stat)(void *arg, const char *path, struct access_attr *attr,
		    char *why, size_t whylen);
	/*
	 * List a directory from position *cookie (0 first): fills up to max
	 * entries (without "." and ".."), sets *n, advances *cookie and sets
	 * *eof when there is nothing more.
	 */
	int	(*list_dir)(void *arg, const char *path, uint32_t *cookie,
		    struct access_dirent *ents, size_t max, size_t *n, int *eof,
		    char *why, size_t whylen);
	/* Something the service refused on its own (a write): audit it. */
	int	(*refused)(void *arg, const char *op, const char *path);

	/*
	 * Run an allow-listed diagnostic ("status", "tail --lines 5"): *out
	 * and *err are its output pipes until EOF, then exec_wait.
	 */
	int	(*exec)(void *arg, const char *cmdline, int *out, int *err,
		    char *why, size_t whylen);
	int	(*exec_wait)(void *arg, uint64_t bytes_out, int *exit_status,
		    int *timed_out);
	/* The engineer gave up on it (^C): stop it now.  May be NULL. */
	int	(*exec_cancel)(void *arg);
	/* Product settings: one listed key. */
	int	(*setting_get)(void *arg, const char *key, char *value,
		    size_t vlen, char *why, size_t whylen);
	int	(*setting_set)(void *arg, const char *key, const char *value,
		    char *old, size_t oldlen, char *why, size_t whylen);
};

/*
 * Resolve path (absolute, or relative to cwd) lexically into out: "."
 * and ".." components and repeated slashes removed, ".." at the top
 * stays at "/".  Nothing on disk is consulted.  Returns 0, or -1 if the
 * result would not fit or the input holds a NUL or control character.
 */
int	access_normalize(const char *cwd, const char *path, char *out,
	    size_t outlen);

#endif
