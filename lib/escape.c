/*
 * escape.c - untrusted text made safe for a terminal (see escape.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/escape.h"
#include "lib/parse.h"

size_t
escape_char(const char *s, size_t len, int *pass)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 c;
	size_t			 k, need, i;

	*pass = 0;
	if (len == 0)
		return 0;
	if ((k = parse_utf8_char(s, len, &c)) > 0) {
		*pass = c >= 0x20 && c != 0x7f && !(c >= 0x80 && c <= 0x9f);
		return k;
	}
	/* A lead byte followed by right continuation bytes, then the end. */
	need = p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : p[0] >= 0xe0 &&
	    p[0] <= 0xef ? 3 : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : 0;
	if (need > len) {
		for (i = 1; i < len && (p[i] & 0xc0) == 0x80; i++)
			;
		if (i == len)
			return 0;
	}
	return 1;
}

/*
 * The next piece of s[0..len) as it is to be shown: *n bytes of input
 * become the text in piece (NUL-terminated).
 */
static void
escape_piece(const char *s, size_t len, size_t *n, char piece[16])
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 k, i, o = 0;
	int			 pass;

	k = escape_char(s, len, &pass);
	if (k == 1 && s[0] == '\\') {
		memcpy(piece, "\\\\", 3);
		*n = 1;
		return;
	}
	if (pass) {
		memcpy(piece, s, k);
		piece[k] = '\0';
		*n = k;
		return;
	}
	/*
	 * A control character is escaped whole; a stray byte alone, and so
	 * is each byte of a character cut short by the end of s.
	 */
	if (k == 0)
		k = 1;
	for (i = 0; i < k; i++) {
		piece[o++] = '\\';
		piece[o++] = 'x';
		piece[o++] = hex[(unsigned char)s[i] >> 4];
		piece[o++] = hex[(unsigned char)s[i] & 0xf];
	}
	piece[o] = '\0';
	*n = k;
}

size_t
escape_text(const char *s, size_t len, char *out, size_t outlen)
{
	char	piece[16];
	size_t	i = 0, n, plen, need = 0;
	int	full = 0;

	if (outlen > 0)
		out[0] = '\0';
	while (i < len) {
		escape_piece(s + i, len - i, &n, piece);
		plen = strlen(piece);
		if (!full && outlen > 0 && need + plen < outlen) {
			memcpy(out + need, piece, plen + 1);
		} else
			full = 1;
		need += plen;
		i += n;
	}
	return need;
}

char *
escape_dup(const char *s)
{
	size_t	 len = strlen(s), need;
	char	*out;

	need = escape_text(s, len, NULL, 0);
	if ((out = malloc(need + 1)) == NULL)
		return NULL;
	(void)escape_text(s, len, out, need + 1);
	return out;
}

int
escape_fputs(const char *s, FILE *f)
{
	char	piece[16];
	size_t	i = 0, n, len = strlen(s);

	while (i < len) {
		escape_piece(s + i, len - i, &n, piece);
		if (fputs(piece, f) == EOF)
			return -1;
		i += n;
	}
	return 0;
}

int
escape_needed(const char *s, size_t len)
{
	char	piece[16];
	size_t	i = 0, n;

	while (i < len) {
		escape_piece(s + i, len - i, &n, piece);
		if (strlen(piece) != n || memcmp(piece, s + i, n) != 0)
			return 1;
		i += n;
	}
	return 0;
}
