/*
 * version.c - dotted decimal product versions (see version.h).
 */
#include "lib/version.h"

#include <stdio.h>
#include <string.h>

int
version_parse(const char *s, struct version *out)
{
	struct version	v;
	uint32_t	n;
	size_t		digits;

	if (s == NULL || strlen(s) > VERSION_MAX_LEN)
		return -1;
	memset(&v, 0, sizeof(v));
	for (;;) {
		if (v.nparts == VERSION_MAX_PARTS)
			return -1;
		n = 0;
		digits = 0;
		while (*s >= '0' && *s <= '9') {
			/* No leading zero: one spelling per version. */
			if (digits == 1 && n == 0)
				return -1;
			if (++digits > 9)
				return -1;
			n = n * 10 + (uint32_t)(*s - '0');
			s++;
		}
		if (digits == 0)
			return -1;
		v.part[v.nparts++] = n;
		if (*s == '\0')
			break;
		if (*s != '.')
			return -1;
		s++;
	}
	*out = v;
	return 0;
}

int
version_cmp(const struct version *a, const struct version *b)
{
	size_t		i, n;
	uint32_t	x, y;

	n = a->nparts > b->nparts ? a->nparts : b->nparts;
	for (i = 0; i < n; i++) {
		x = i < a->nparts ? a->part[i] : 0;
		y = i < b->nparts ? b->part[i] : 0;
		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

void
version_format(const struct version *v, char *buf, size_t len)
{
	size_t	i, o = 0;
	int	k;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < v->nparts; i++) {
		k = snprintf(buf + o, len - o, "%s%u", i > 0 ? "." : "",
		    v->part[i]);
		if (k < 0 || (size_t)k >= len - o) {
			buf[o] = '\0';	/* never half a number */
			return;
		}
		o += (size_t)k;
	}
}
