/*
 * version.h - product versions as update notices carry them: dotted
 * decimal integers ("1.290.3"), compared number by number.
 *
 * A version comes from the vendor's signed notice or from the
 * customer's version_command; either way it is text from outside, so
 * it is parsed strictly: 1 to VERSION_MAX_PARTS numbers of 1 to 9
 * digits each, no leading zero (so "1.02" and "1.2" cannot be two
 * spellings of one version), no sign, no blanks, nothing else.
 */
#ifndef PH_VERSION_H
#define PH_VERSION_H

#include <stddef.h>
#include <stdint.h>

#define VERSION_MAX_PARTS	8
#define VERSION_MAX_LEN		(VERSION_MAX_PARTS * 10)

struct version {
	uint32_t	part[VERSION_MAX_PARTS];
	size_t		nparts;
};

/* Parse s; 0, or -1 if it is no version (v untouched). */
int	version_parse(const char *s, struct version *v);
/*
 * <0, 0 or >0 as a is older than, the same as or newer than b; a
 * missing part counts as 0, so "1.2" and "1.2.0" are the same.
 */
int	version_cmp(const struct version *a, const struct version *b);
/* Format v ("1.290.3") into buf (VERSION_MAX_LEN + 1 bytes suffice). */
void	version_format(const struct version *v, char *buf, size_t len);

#endif
