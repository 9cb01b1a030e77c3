/*
 * kit.h - what several unit tests need and used to write each for
 * itself: a scratch directory, files in it, commands run for a fixture
 * (ssh-keygen), a file read back.  Every helper fails the running test
 * (cmocka's fail_msg) rather than return an error to check.
 */
#ifndef PH_TEST_KIT_H
#define PH_TEST_KIT_H

#include <sys/types.h>
#include <stddef.h>

/*
 * A new directory for this test's files, ${TMPDIR:-/tmp}/porthole-NAME.
 * XXXXXX, into dir (at least KIT_PATH_MAX bytes); 0, or -1 (for a
 * cmocka setup function to return).
 */
#define KIT_PATH_MAX	256
int		 kit_tmpdir(char *dir, const char *name);
/* Remove dir and all in it, whatever its modes; 0, or -1. */
int		 kit_rmtree(const char *dir);
/* dir/name, in one of a few rotating static buffers. */
const char	*kit_path(const char *dir, const char *name);
/* Write len bytes of data to path (created or truncated) with mode. */
void		 kit_write(const char *path, const void *data, size_t len,
		    mode_t mode);
/* All of path, NUL-terminated (len, if not NULL, without the NUL). */
char		*kit_slurp(const char *path, size_t *len);
/* Run a shell command line; the test fails if it does not exit 0. */
void		 kit_run(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));

#endif
