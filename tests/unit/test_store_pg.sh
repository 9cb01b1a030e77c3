#!/bin/sh
# test_store_pg.sh - test_store's and test_analysis's rows against the
# PostgreSQL backend: a throwaway server (tests/pg_lib.sh), its database
# named to the tests by PORTHOLE_TEST_PG.  SKIP (77) when this machine cannot start one.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/pg_lib.sh"

trap 'pg_destroy' EXIT
trap 'exit 1' INT TERM
if ! pg_start; then
	echo "SKIP: no PostgreSQL server could be started"
	exit 77
fi
PORTHOLE_TEST_PG=$PG_URI "$top_builddir/tests/unit/test_store" || exit 1
PORTHOLE_TEST_PG=$PG_URI "$top_builddir/tests/unit/test_analysis"
