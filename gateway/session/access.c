/*
 * access.c - lexical path normalisation shared by the SFTP server and
 * the support shell.  The monitor does the real resolution on disk
 * (openat2 beneath a root); this only gives both services one spelling
 * of every path, so that what is audited is what the engineer meant.
 */
#include "gateway/session/access.h"

#include <stdio.h>
#include <string.h>

#include "lib/parse.h"

int
access_normalize(const char *cwd, const char *path, char *out, size_t outlen)
{
	char		 in[2 * ACCESS_PATH_MAX + 2];
	const char	*p, *seg;
	size_t		 len = 0, n;
	int		 w;

	if (outlen < 2)
		return -1;
	for (p = path; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -1;
	/* Every path is audited, and an audit line is JSON. */
	if (!parse_utf8(path, (size_t)(p - path)))
		return -1;
	if (path[0] == '/' || cwd == NULL)
		w = snprintf(in, sizeof(in), "%s", path);
	else
		w = snprintf(in, sizeof(in), "%s/%s", cwd, path);
	if (w < 0 || (size_t)w >= sizeof(in))
		return -1;
	out[0] = '\0';
	for (p = in; *p != '\0'; ) {
		while (*p == '/')
			p++;
		seg = p;
		while (*p != '\0' && *p != '/')
			p++;
		n = (size_t)(p - seg);
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;		/* the slash before it */
			out[len] = '\0';
			continue;
		}
		if (len + 1 + n + 1 > outlen || len + 1 + n > ACCESS_PATH_MAX)
			return -1;
		out[len++] = '/';
		memcpy(out + len, seg, n);
		len += n;
		out[len] = '\0';
	}
	if (len == 0) {
		out[0] = '/';
		out[1] = '\0';
	}
	return 0;
}
