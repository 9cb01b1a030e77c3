/*
 * bundle.h - a support bundle: the files [bundle] paths selects and the
 * output of its diagnostics, redacted by [redact], written as a tar.gz
 * (libarchive) with a MANIFEST.json that says what is in it and what
 * was left out and why.
 *
 * The writer knows no session and no daemon: the caller (the process
 * portholed forks for the purpose) runs the diagnostics, hands their
 * output in as buffers, gives a descriptor to write the tar.gz to and
 * a directory for scratch files, and stores, audits and uploads what
 * comes back.  Files are reached as the monitor's file access reaches
 * them: beneath a [files] paths root, never through a link, never a
 * name a deny glob matches (lib/beneath.h, policy_file_reachable); a
 * bundle is its own grant, so [files] enabled is not needed.
 *
 * Bounds.  Files last changed before now - since are left out.
 * max_size counts the bytes read (files and diagnostic output): the
 * diagnostics go first, then the files newest first, each whole or not
 * at all; a file that does not fit is left out and the manifest says
 * so ("truncated": true), and smaller, older ones may still go in.  A
 * bundle over max_size is therefore never refused, only cut, and never
 * silently.  Reading stops at the deadline; what was not read by then
 * is listed as left out ("timed_out": true).  A file is read up to the
 * size it had when opened; one whose size or mtime differs afterwards
 * is marked "changed" in the manifest.
 *
 * Layout of the archive, under one directory porthole-bundle-ID/:
 *   commands/NAME.out   a diagnostic's output (stdout then stderr)
 *   files/PATH          a file, at its absolute path
 *   MANIFEST.json       last, since it holds every other entry's SHA-256
 */
#ifndef PH_BUNDLE_H
#define PH_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define BUNDLE_ID_MAX		64	/* [A-Za-z0-9._-] */
#define BUNDLE_MAX_FILES	10000	/* files in one bundle */
#define BUNDLE_MAX_LISTED	1000	/* left out and named; more: counted */
#define BUNDLE_MAX_DEPTH	32	/* directories below a glob's base */

struct policy;

/* A diagnostic's output, as it ran: the writer redacts it. */
struct bundle_diag {
	const char	*name;		/* its [commands] entry */
	const void	*out;
	size_t		 len;
	int		 exit_status;	/* -1: killed or did not finish */
	int		 timed_out;
	int		 cut;		/* more came than was read */
};

struct bundle_req {
	const struct policy	*pol;
	const char		*id;		/* the bundle's name */
	const char		*ticket;	/* NULL: none */
	const char		*requested_by;	/* "engineer alice", ... */
	time_t			 now;		/* clock_now() */
	uint64_t		 deadline_ms;	/* clock_mono_ms(); 0: none */
	const struct bundle_diag *diags;
	size_t			 ndiags;
	int			 spool_dir;	/* for scratch files */
	/*
	 * Called (if set) after each chunk read from a file, with the
	 * file's path and the bundle's bytes read so far: for progress,
	 * and to stop the build (return -1: bundle_write fails with
	 * "stopped").
	 */
	int			(*progress)(void *arg, const char *path,
				    uint64_t bytes_read);
	void			*progress_arg;
};

struct bundle_result {
	char		 sha256[65];	/* of the tar.gz as written, hex */
	uint64_t	 size;		/* bytes of the tar.gz */
	uint64_t	 bytes_read;	/* what max_size counts */
	uint64_t	 files;		/* files and outputs in it */
	uint64_t	 left_out;
	uint64_t	 redactions;	/* matches and lines starred whole */
	int		 truncated;	/* max_size left something out */
	int		 timed_out;	/* the deadline did */
	char		*manifest;	/* MANIFEST.json, NUL-terminated */
	size_t		 manifest_len;
};

/*
 * Write the bundle req describes to out (which must be empty, and is
 * written from its start).  0 with res filled (bundle_result_free it),
 * or -1 with why: an invalid request, out or the scratch directory not
 * writable, out of memory.  What goes wrong with one file is not an
 * error: it is left out and the manifest says why.
 */
int	bundle_write(const struct bundle_req *req, int out,
	    struct bundle_result *res, char *why, size_t whylen);
void	bundle_result_free(struct bundle_result *res);

#endif
