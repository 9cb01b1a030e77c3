/*
 * bundle_int.h - what the bundle writer's files share: the state of
 * one build.  select.c finds the files; bundle.c reads and writes them;
 * build.c keeps what both note about the build.
 */
#ifndef PH_BUNDLE_INT_H
#define PH_BUNDLE_INT_H

#include <sys/stat.h>
#include <jansson.h>
#include <stdarg.h>

#include "bundle/bundle.h"

/* A file the [bundle] globs select. */
struct bundle_file {
	char		*path;
	struct stat	 st;		/* as the walk saw it */
};

/* One build of one bundle. */
struct bundle_build {
	const struct bundle_req	*req;
	struct bundle_file	*files;
	size_t			 nfiles;
	size_t			 capfiles;
	json_t			*left_out;	/* [{path, reason}] */
	uint64_t		 nleft_out;	/* listed or not */
	uint64_t		 denied;	/* matched a deny glob */
	uint64_t		 not_served;	/* links, devices, ... */
	int			 truncated;
	int			 timed_out;
	int			 nomem;
};

/*
 * Walk every [bundle] paths glob and fill b->files: sorted by time,
 * newest first, each path once, those older than since left out.
 * 0, or -1 when memory ran out.
 */
int	bundle_select(struct bundle_build *b);
/* Note path as left out, for the reason fmt says. */
void	bundle_left_out(struct bundle_build *b, const char *path,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Has the deadline passed?  Sets b->timed_out once it has. */
int	bundle_late(struct bundle_build *b);

#endif
