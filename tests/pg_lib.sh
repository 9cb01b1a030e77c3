# pg_lib.sh - a throwaway PostgreSQL server for the tests and the
# benchmarks: Debian's postgresql package, run as the postgres user (its
# programs refuse root) in a directory of its own under /tmp, listening
# only on a Unix socket in that directory, with fsync and
# synchronous_commit on as a production server has them.  The user
# running the test gets a role of its own name and a database
# "porthole" it owns, and logs in by peer authentication: there is no
# password anywhere.
#
#   pg_start	starts it; PG_DIR, PG_SOCK and PG_URI say where.  Returns 1
#		(after saying why on stderr) when this machine cannot run
#		one: the caller reports SKIP (77), never a pass.
#   pg_start_or_skip
#		starts it for an integration test (after lib.sh): stopped
#		for good when the test exits; where none can be started,
#		says so and exits 77 (SKIP).
#   pg_stop	stops it for a while (the data stays); pg_resume starts it
#		again on the same directory.
#   pg_destroy	stops it for good and removes its directory.
#   pg_sql SQL	runs SQL in the porthole database as the owner; prints
#		the rows unaligned, without a header.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=""

pg_as_postgres() {
	runuser -u postgres -- "$@"
}

pg_start() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "pg_lib: running PostgreSQL's programs as postgres needs root" >&2
		return 1
	fi
	if ! id postgres >/dev/null 2>&1 || [ ! -x "$PG_BIN/initdb" ] ||
	    ! command -v psql >/dev/null; then
		echo "pg_lib: no PostgreSQL server here (apt-get install postgresql)" >&2
		return 1
	fi
	PG_DIR=$(mktemp -d /tmp/porthole-pg.XXXXXX) || return 1
	PG_SOCK=$PG_DIR
	chown postgres: "$PG_DIR"
	if ! pg_as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres \
	    --auth-local=peer --auth-host=reject -E UTF8 --locale=C.UTF-8 \
	    >"$PG_DIR/initdb.log" 2>&1; then
		echo "pg_lib: initdb failed: $(tail -n 3 "$PG_DIR/initdb.log")" >&2
		return 1
	fi
	pg_resume || return 1
	if ! pg_as_postgres psql -X -q -h "$PG_SOCK" -U postgres -d postgres \
	    -v ON_ERROR_STOP=1 \
	    -c "CREATE ROLE \"$(id -un)\" LOGIN" \
	    -c "CREATE DATABASE porthole OWNER \"$(id -un)\"" \
	    >"$PG_DIR/setup.log" 2>&1; then
		echo "pg_lib: cannot create the role and database: $(cat "$PG_DIR/setup.log")" >&2
		return 1
	fi
	PG_URI="postgresql:///porthole?host=$PG_SOCK"
	return 0
}

pg_start_or_skip() {
	trap 'stop_all; pg_destroy; cleanup' EXIT
	if ! pg_start; then
		echo "# no PostgreSQL server could be started here: skipped"
		exit 77
	fi
}

pg_resume() {
	if ! pg_as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -t 60 \
	    -l "$PG_DIR/server.log" \
	    -o "-c listen_addresses='' -c unix_socket_directories='$PG_SOCK' -c fsync=on -c synchronous_commit=on" \
	    start >"$PG_DIR/pg_ctl.log" 2>&1; then
		echo "pg_lib: the server did not start: $(tail -n 5 "$PG_DIR/server.log" 2>/dev/null)" >&2
		return 1
	fi
}

pg_stop() {
	[ -n "$PG_DIR" ] && [ -f "$PG_DIR/data/postmaster.pid" ] &&
	    pg_as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -t 60 \
	    -m fast stop >>"$PG_DIR/pg_ctl.log" 2>&1
}

pg_destroy() {
	[ -n "$PG_DIR" ] || return 0
	pg_stop
	rm -rf "$PG_DIR"
	PG_DIR=""
}

pg_sql() {
	psql -X -q -A -t -h "$PG_SOCK" -d porthole -v ON_ERROR_STOP=1 -c "$1"
}
