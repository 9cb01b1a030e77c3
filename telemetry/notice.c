/*
 * notice.c - update notices, parsed strictly and checked against the
 * vendor's key (notice.h).
 */
#include "telemetry/notice.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "lib/escape.h"
#include "lib/parse.h"
#include "lib/sha256.h"
#include "lib/sshsig.h"

/* A string field; NULL (why set) if it is missing or not a string. */
static const char *
text_field(json_t *j, const char *key, char *why, size_t whylen)
{
	const char *s = json_string_value(json_object_get(j, key));

	if (s == NULL)
		snprintf(why, whylen, "notice: \"%s\" must be a string", key);
	return s;
}

static int
time_field(json_t *j, const char *key, time_t *t, char *why, size_t whylen)
{
	const char *s;

	if ((s = text_field(j, key, why, whylen)) == NULL)
		return -1;
	if (strlen(s) > 32 || parse_time(s, t) == -1) {
		snprintf(why, whylen, "notice: \"%s\" must be an RFC 3339 UTC "
		    "time (2026-11-20T10:00:00Z)", key);
		return -1;
	}
	return 0;
}

/*
 * Notes are shown to people and handed to notify_command: text, lines
 * and tabs, nothing that could steer a terminal (C0 and C1 controls,
 * DEL).
 */
static int
valid_notes(const char *s, size_t len)
{
	uint32_t	cp;
	size_t		i, k;

	for (i = 0; i < len; i += k) {
		if ((k = parse_utf8_char(s + i, len - i, &cp)) == 0)
			return 0;
		if ((cp < 0x20 && cp != '\n' && cp != '\t') ||
		    (cp >= 0x7f && cp <= 0x9f))
			return 0;
	}
	return 1;
}

int
notice_parse(const char *text, size_t len, struct notice *out, char *why,
    size_t whylen)
{
	struct notice	 n;
	json_error_t	 jerr;
	json_t		*j = NULL, *js;
	const char	*s;
	char		 shown[256];
	size_t		 sl;
	int		 rc = -1;

	memset(&n, 0, sizeof(n));
	if (len > NOTICE_MAX) {
		snprintf(why, whylen, "notice: %zu bytes (at most %d)", len,
		    NOTICE_MAX);
		goto out;
	}
	if ((j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL || !json_is_object(j)) {
		/* jansson quotes the input near the error: escaped. */
		escape_text(j == NULL ? jerr.text : "", j == NULL ?
		    strnlen(jerr.text, 100) : 0, shown, sizeof(shown));
		snprintf(why, whylen, "notice: not a JSON object%s%s",
		    j == NULL ? ": " : "", shown);
		goto out;
	}
	if ((s = text_field(j, "version", why, whylen)) == NULL)
		goto out;
	if (version_parse(s, &n.v) == -1) {
		snprintf(why, whylen, "notice: \"version\" must be dotted "
		    "decimal (1.290.3), at most %d numbers", VERSION_MAX_PARTS);
		goto out;
	}
	version_format(&n.v, n.version, sizeof(n.version));
	if ((s = text_field(j, "sha256", why, whylen)) == NULL)
		goto out;
	if (!sha256_valid_hex(s)) {
		snprintf(why, whylen, "notice: \"sha256\" must be 64 lowercase "
		    "hex digits");
		goto out;
	}
	memcpy(n.sha256, s, sizeof(n.sha256));
	js = json_object_get(j, "size");
	if (!json_is_integer(js) || json_integer_value(js) < 1 ||
	    (uint64_t)json_integer_value(js) > NOTICE_SIZE_MAX) {
		snprintf(why, whylen, "notice: \"size\" must be a number of "
		    "bytes from 1 to %llu", (unsigned long long)NOTICE_SIZE_MAX);
		goto out;
	}
	n.size = (uint64_t)json_integer_value(js);
	if (time_field(j, "published", &n.published, why, whylen) == -1 ||
	    time_field(j, "expires", &n.expires, why, whylen) == -1)
		goto out;
	if (n.expires <= n.published) {
		snprintf(why, whylen, "notice: \"expires\" is not after "
		    "\"published\"");
		goto out;
	}
	js = json_object_get(j, "notes");
	if (js != NULL && (s = json_string_value(js)) == NULL) {
		snprintf(why, whylen, "notice: \"notes\" must be a string");
		goto out;
	}
	if (js != NULL) {
		sl = json_string_length(js);
		if (sl > NOTICE_NOTES_MAX) {
			snprintf(why, whylen, "notice: \"notes\" of %zu bytes (at "
			    "most %d)", sl, NOTICE_NOTES_MAX);
			goto out;
		}
		if (strlen(s) != sl || !valid_notes(s, sl)) {
			snprintf(why, whylen, "notice: \"notes\" hold a control "
			    "character");
			goto out;
		}
		memcpy(n.notes, s, sl + 1);
	}
	*out = n;
	rc = 0;
out:
	json_decref(j);
	return rc;
}

int
notice_verify(const char *text, size_t len, const char *sig, size_t siglen,
    const uint8_t key[32], time_t now, struct notice *n, char *why,
    size_t whylen)
{
	char	err[256], when[32];

	if (sshsig_verify(sig, siglen, (const uint8_t *)text, len, key,
	    NOTICE_NAMESPACE, err, sizeof(err)) == -1) {
		snprintf(why, whylen, "bad signature: %s", err);
		return -1;
	}
	if (notice_parse(text, len, n, why, whylen) == -1)
		return -1;
	if (now >= n->expires) {
		parse_format_time(n->expires, when, sizeof(when));
		snprintf(why, whylen, "notice for %s expired at %s", n->version,
		    when);
		return -1;
	}
	return 0;
}
