/*
 * test_idmap.c - lib/idmap against a plain array: thousands of random
 * puts, replacements and deletions, each followed by lookups of every
 * key, so that a deletion that breaks a probe run (an entry no longer
 * found behind the slot it emptied) shows at once; and iteration sees
 * each value once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/idmap.h"

#define NKEYS	2000

static char	keys[NKEYS][16];
static int	vals[NKEYS];
static int	present[NKEYS];

static void
check_all(struct idmap *m)
{
	size_t	i, n = 0;

	for (i = 0; i < NKEYS; i++) {
		if (present[i]) {
			assert_ptr_equal(idmap_get(m, keys[i]), &vals[i]);
			n++;
		} else
			assert_null(idmap_get(m, keys[i]));
	}
	assert_int_equal(idmap_count(m), n);
}

static void
test_random(void **state)
{
	struct idmap	*m;
	size_t		 i, k, pos, seen;
	void		*v;

	(void)state;
	srandom(22);
	for (i = 0; i < NKEYS; i++)
		snprintf(keys[i], sizeof(keys[i]), "cluster-%zu", i);
	assert_non_null(m = idmap_new());
	for (i = 0; i < 20000; i++) {
		k = (size_t)random() % NKEYS;
		if (random() % 3 == 0) {
			v = idmap_del(m, keys[k]);
			assert_ptr_equal(v, present[k] ? &vals[k] : NULL);
			present[k] = 0;
		} else {
			assert_int_equal(idmap_put(m, keys[k], &vals[k]), 0);
			present[k] = 1;
		}
		if (i % 97 == 0)
			check_all(m);
	}
	check_all(m);
	for (pos = 0, seen = 0; (v = idmap_next(m, &pos)) != NULL; seen++)
		assert_true(present[(int *)v - vals]);
	assert_int_equal(seen, idmap_count(m));
	/* Emptied key by key, it is empty. */
	for (i = 0; i < NKEYS; i++) {
		(void)idmap_del(m, keys[i]);
		present[i] = 0;
	}
	check_all(m);
	idmap_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
