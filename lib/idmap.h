/*
 * idmap.h - a map from identifiers (NUL-terminated strings) to
 * pointers, for the relay's thousands of tunnels and clusters: open
 * addressing with linear probing, grown to keep it at most half full,
 * deletion by shifting the entries behind back (no tombstones).  The
 * map keeps the key pointer it is given, not a copy: the key must live
 * as long as the entry, which it does when it is a field of the value.
 */
#ifndef PH_IDMAP_H
#define PH_IDMAP_H

#include <stddef.h>

struct idmap;

struct idmap	*idmap_new(void);
/* Frees the map, not what it points to. */
void		 idmap_free(struct idmap *);
/* The value for key, or NULL. */
void		*idmap_get(const struct idmap *, const char *key);
/* Set key's value (replacing any); 0, or -1 when out of memory. */
int		 idmap_put(struct idmap *, const char *key, void *value);
/* Remove key: the value it had, or NULL. */
void		*idmap_del(struct idmap *, const char *key);
size_t		 idmap_count(const struct idmap *);
/*
 * Each value in turn: start with *pos = 0; NULL at the end.  The map
 * must not change meanwhile.
 */
void		*idmap_next(const struct idmap *, size_t *pos);

#endif
