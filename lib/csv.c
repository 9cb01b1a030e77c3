/*
 * csv.c - RFC 4180 fields (see csv.h).
 */
#include "lib/csv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int
csv_text(FILE *f, const char *s, int first)
{
	const char	*p;
	int		 formula;

	formula = s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL;
	if (!first && fputc(',', f) == EOF)
		return -1;
	if (!formula && strpbrk(s, ",\"\r\n") == NULL)
		return fputs(s, f) == EOF ? -1 : 0;
	if (fputc('"', f) == EOF || (formula && fputc('\'', f) == EOF))
		return -1;
	for (p = s; *p != '\0'; p++)
		if ((*p == '"' && fputc('"', f) == EOF) || fputc(*p, f) == EOF)
			return -1;
	return fputc('"', f) == EOF ? -1 : 0;
}

int
csv_number(FILE *f, double v)
{
	char	buf[64];

	/* %.15g reads back exactly for most amounts; else all 17 digits. */
	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	return fprintf(f, ",%s", isfinite(v) ? buf : "") < 0 ? -1 : 0;
}

int
csv_end(FILE *f)
{
	return fputs("\r\n", f) == EOF ? -1 : 0;
}
