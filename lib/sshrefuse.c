/*
 * sshrefuse.c - identification line and a cleartext disconnect packet.
 */
#include "lib/sshrefuse.h"

#include <string.h>

#define IDENT		"SSH-2.0-porthole\r\n"
#define MSG_DISCONNECT	1

static uint8_t *
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

size_t
sshrefuse_build(uint8_t *buf, uint32_t reason, const char *text)
{
	size_t	 tlen = strnlen(text, SSHREFUSE_MAX_TEXT);
	size_t	 payload = 1 + 4 + 4 + tlen + 4, pad;
	uint8_t	*p = buf;

	memcpy(p, IDENT, sizeof(IDENT) - 1);
	p += sizeof(IDENT) - 1;
	/* length, padding length, payload, padding: a multiple of 8. */
	pad = 8 - (4 + 1 + payload) % 8;
	if (pad < 4)
		pad += 8;
	p = put_u32(p, (uint32_t)(1 + payload + pad));
	*p++ = (uint8_t)pad;
	*p++ = MSG_DISCONNECT;
	p = put_u32(p, reason);
	p = put_u32(p, (uint32_t)tlen);
	memcpy(p, text, tlen);
	p += tlen;
	p = put_u32(p, 0);		/* language tag: none */
	memset(p, 0, pad);		/* cleartext: nothing to hide */
	p += pad;
	return (size_t)(p - buf);
}
