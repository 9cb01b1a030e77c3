/*
 * store_uri.h - [relay] database as a PostgreSQL URI
 * (postgresql://[USER@][HOST][:PORT]/DBNAME[?PARAM=VALUE&...], as libpq
 * reads it): which values name PostgreSQL rather than an SQLite file,
 * the rule that no password sits in relay.conf, and the form in which
 * the URI may be shown in a log line.
 */
#ifndef PH_STORE_URI_H
#define PH_STORE_URI_H

#include <stddef.h>

/* 1 if spec starts with postgresql:// or postgres://. */
int	store_uri_is_pg(const char *spec);
/*
 * Is uri one libpq reads, without a password (in the user part or as
 * ?password=)?  0, or -1 with why in msg.
 */
int	store_uri_check(const char *uri, char *msg, size_t len);
/*
 * uri as a log line may show it: any password taken out (the user
 * part's ":..." and a password parameter).  Never longer than uri.
 */
void	store_uri_display(const char *uri, char *out, size_t len);

#endif
