#!/bin/sh
# bundle_refused.sh with the relay's store on a throwaway PostgreSQL
# server (tests/pg_lib.sh): [relay] bundle_quota is enforced by that
# backend too.  SKIP (77) when no server can be started here.
BUNDLE_PG=yes
export BUNDLE_PG
exec sh "$(dirname "$0")/bundle_refused.sh"
