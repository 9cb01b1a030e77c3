/*
 * store_uri.c - reading [relay] database when it is a PostgreSQL URI.
 *
 * libpq parses the URI (PQconninfoParse), so that what is checked here
 * is what the connection will use: a percent-encoded "pass%77ord"
 * parameter is a password as much as "password" is.  A password is
 * refused rather than used: relay.conf is read by operators and copied
 * into tickets, and PostgreSQL has two ways to authenticate without
 * one there (peer authentication on a Unix socket, a passfile).
 */
#include "relay/store_uri.h"

#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

static const char *const pg_prefixes[] = { "postgresql://", "postgres://" };

/* The length of uri's scheme and "//", or 0 if it is not PostgreSQL's. */
static size_t
pg_prefix(const char *uri)
{
	size_t i, n;

	for (i = 0; i < sizeof(pg_prefixes) / sizeof(pg_prefixes[0]); i++) {
		n = strlen(pg_prefixes[i]);
		if (strncmp(uri, pg_prefixes[i], n) == 0)
			return n;
	}
	return 0;
}

int
store_uri_is_pg(const char *spec)
{
	return spec != NULL && pg_prefix(spec) > 0;
}

int
store_uri_check(const char *uri, char *msg, size_t len)
{
	PQconninfoOption	*opts, *o;
	char			*perr = NULL;
	int			 rc = 0;

	if ((opts = PQconninfoParse(uri, &perr)) == NULL) {
		snprintf(msg, len, "not a PostgreSQL URI: %s", perr != NULL ?
		    perr : "out of memory");
		/* libpq's message ends in a newline. */
		msg[strcspn(msg, "\n")] = '\0';
		PQfreemem(perr);
		return -1;
	}
	for (o = opts; o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL &&
		    o->val[0] != '\0') {
			snprintf(msg, len, "a password in relay.conf is "
			    "refused: use peer authentication or a passfile "
			    "(passfile=PATH, or ~/.pgpass of the relay's user)");
			rc = -1;
		}
	}
	PQconninfoFree(opts);
	return rc;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Is the query parameter name p (n bytes) "password", once its %XX are
 * decoded as libpq decodes them?
 */
static int
param_is_password(const char *p, size_t n)
{
	static const char	 want[] = "password";
	size_t			 i = 0, j = 0;
	int			 c;

	while (i < n) {
		if (p[i] == '%' && i + 2 < n && hexval(p[i + 1]) >= 0 &&
		    hexval(p[i + 2]) >= 0) {
			c = hexval(p[i + 1]) * 16 + hexval(p[i + 2]);
			i += 3;
		} else
			c = (unsigned char)p[i++];
		if (j >= sizeof(want) - 1 || c != want[j++])
			return 0;
	}
	return j == sizeof(want) - 1;
}

void
store_uri_display(const char *uri, char *out, size_t len)
{
	const char	*p, *auth, *at, *colon, *q, *end;
	size_t		 o = 0, n;
	int		 first = 1;

	if (len == 0)
		return;
	out[0] = '\0';
#define PUT(s, k) do {							\
	n = (k) < len - 1 - o ? (k) : len - 1 - o;			\
	memcpy(out + o, (s), n);					\
	o += n;								\
	out[o] = '\0';							\
} while (0)
	if ((n = pg_prefix(uri)) == 0) {
		PUT(uri, strlen(uri));
		return;
	}
	PUT(uri, n);
	auth = uri + n;
	/* The authority ends at the path or the query. */
	end = auth + strcspn(auth, "/?");
	at = memrchr(auth, '@', (size_t)(end - auth));
	p = auth;
	if (at != NULL) {
		colon = memchr(auth, ':', (size_t)(at - auth));
		PUT(auth, (size_t)((colon != NULL ? colon : at) - auth));
		p = at;
	}
	q = strchr(p, '?');
	PUT(p, (size_t)((q != NULL ? q : p + strlen(p)) - p));
	if (q == NULL)
		return;
	/* Each parameter but a password, '?' before the first, '&' after. */
	for (p = q + 1; *p != '\0'; p = end + (*end == '&')) {
		end = p + strcspn(p, "&");
		if (param_is_password(p, strcspn(p, "=&")))
			continue;
		PUT(first ? "?" : "&", 1);
		first = 0;
		PUT(p, (size_t)(end - p));
	}
#undef PUT
}
