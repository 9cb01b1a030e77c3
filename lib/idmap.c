/*
 * idmap.c - identifiers to pointers (idmap.h).  FNV-1a spreads the
 * keys; the table's size is a power of two and at least twice the
 * entries, so a probe ends soon at an empty slot.
 */
#include "lib/idmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IDMAP_MIN	64

struct idmap_slot {
	const char	*key;		/* NULL: empty */
	void		*value;
};

struct idmap {
	struct idmap_slot	*slots;
	size_t			 size;	/* a power of two */
	size_t			 count;
};

static size_t
idmap_hash(const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 0x100000001b3ULL;
	}
	return (size_t)h;
}

/* The slot of key, or the empty slot where it would go. */
static size_t
idmap_find(const struct idmap *m, const char *key)
{
	size_t i = idmap_hash(key) & (m->size - 1);

	while (m->slots[i].key != NULL && strcmp(m->slots[i].key, key) != 0)
		i = (i + 1) & (m->size - 1);
	return i;
}

struct idmap *
idmap_new(void)
{
	struct idmap *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->size = IDMAP_MIN;
	if ((m->slots = calloc(m->size, sizeof(*m->slots))) == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void
idmap_free(struct idmap *m)
{
	if (m == NULL)
		return;
	free(m->slots);
	free(m);
}

void *
idmap_get(const struct idmap *m, const char *key)
{
	return m->slots[idmap_find(m, key)].value;
}

static int
idmap_grow(struct idmap *m)
{
	struct idmap_slot	*old = m->slots;
	size_t			 oldsize = m->size, i, j;

	if ((m->slots = calloc(oldsize * 2, sizeof(*m->slots))) == NULL) {
		m->slots = old;
		return -1;
	}
	m->size = oldsize * 2;
	for (i = 0; i < oldsize; i++) {
		if (old[i].key == NULL)
			continue;
		j = idmap_find(m, old[i].key);
		m->slots[j] = old[i];
	}
	free(old);
	return 0;
}

int
idmap_put(struct idmap *m, const char *key, void *value)
{
	size_t i;

	if ((m->count + 1) * 2 > m->size && idmap_grow(m) == -1)
		return -1;
	i = idmap_find(m, key);
	if (m->slots[i].key == NULL)
		m->count++;
	m->slots[i].key = key;
	m->slots[i].value = value;
	return 0;
}

void *
idmap_del(struct idmap *m, const char *key)
{
	size_t	 i, j, home;
	void	*value;

	i = idmap_find(m, key);
	if (m->slots[i].key == NULL)
		return NULL;
	value = m->slots[i].value;
	m->slots[i].key = NULL;
	m->slots[i].value = NULL;
	m->count--;
	/*
	 * Entries further along the probe run may have passed the slot now
	 * empty: move each back unless its home lies cyclically in (i, j].
	 */
	for (j = (i + 1) & (m->size - 1); m->slots[j].key != NULL;
	    j = (j + 1) & (m->size - 1)) {
		home = idmap_hash(m->slots[j].key) & (m->size - 1);
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		m->slots[i] = m->slots[j];
		m->slots[j].key = NULL;
		m->slots[j].value = NULL;
		i = j;
	}
	return value;
}

size_t
idmap_count(const struct idmap *m)
{
	return m->count;
}

void *
idmap_next(const struct idmap *m, size_t *pos)
{
	while (*pos < m->size) {
		if (m->slots[(*pos)++].key != NULL)
			return m->slots[*pos - 1].value;
	}
	return NULL;
}
