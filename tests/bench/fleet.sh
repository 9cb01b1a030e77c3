#!/bin/sh
# fleet.sh - `make bench`, the relay fleet's figures (issue 22):
#
#   7. the telemetry backlog drained into the store, SQLite next to
#      PostgreSQL: a relay and a gateway on loopback, the relay stopped,
#      BENCH_FLEET_DRAIN_RECORDS usage records into the gateway's spool,
#      the relay started again, and the drain timed from the moment the
#      uplink is open until the spool is empty; the records the store
#      then holds are counted.  PostgreSQL is a throwaway server
#      (tests/pg_lib.sh) on a Unix socket with fsync and
#      synchronous_commit on, as shipped.
#   7s. the store alone (storebench.c): the same records stored by
#      store_records() in batches of BENCH_FLEET_STORE_BATCH, without
#      the gateway and the channel, each batch waited for before the
#      next is built, into a fresh SQLite file and into the same
#      PostgreSQL database.
#   8. one relay holding BENCH_FLEET_TUNNELS idle tunnels (loadgen.c):
#      its resident memory per tunnel, and its descriptors against the
#      limit it runs under.
#
# Appends a section to BENCH_OUT (default BENCHMARKS.md) and prints it:
# each figure for SQLite and PostgreSQL side by side and their ratio,
# with the command that gives them again.  The defaults keep `make
# bench` to a few minutes; the issue's sizes are
#   BENCH_FLEET_DRAIN_RECORDS=1000000 BENCH_FLEET_TUNNELS=10000 \
#       sh tests/bench/fleet.sh
# Needs root (PostgreSQL runs as postgres), libssh-dev for loadgen and a
# C compiler; without a PostgreSQL server it says so and exits 77.
# Knobs (environment), defaults in brackets:
#   BENCH_FLEET_DRAIN_RECORDS (100000, 0 = skip)
#   BENCH_FLEET_TUNNELS (1000, 0 = skip)
#   BENCH_FLEET_TIMEOUT (300)	seconds a drain may take
#   BENCH_FLEET_HEALTH_EVERY (0)	a health snapshot every this many
#	records in the backlog instead of a usage record (0: usage only;
#	a batch with one goes to the store the careful way, see
#	porthole-relay(8))
#   BENCH_FLEET_STORE_BATCH (1000)	records per batch in 7s (the
#	gateway's UPLINK_BATCH)
#   BENCH_OUT ($top_srcdir/BENCHMARKS.md)
. "$(dirname "$0")/../integration/lib.sh"
. "$top_srcdir/tests/bench/bench_lib.sh"
. "$top_srcdir/tests/pg_lib.sh"

N=${BENCH_FLEET_DRAIN_RECORDS:-100000}
NTUN=${BENCH_FLEET_TUNNELS:-1000}
TIMEOUT=${BENCH_FLEET_TIMEOUT:-300}
SB=${BENCH_FLEET_STORE_BATCH:-1000}
HE=${BENCH_FLEET_HEALTH_EVERY:-0}
OUT=${BENCH_OUT:-$top_srcdir/BENCHMARKS.md}
HZ=$(getconf CLK_TCK)
BENCH_NAME="fleet bench"
BASE=$T
KDIR=""
trap 'stop_all; pg_destroy; [ -z "$KDIR" ] || rm -rf "$KDIR"; T=$BASE; cleanup' EXIT

[ "$(id -u)" -eq 0 ] || die "run as root (PostgreSQL runs as postgres)"
[ -x "$RELAY_BIN" ] && [ -x "$GATEWAY_BIN" ] || die "build porthole first"
build intakegen || die "intakegen.c did not build: $(cat "$T/intakegen-cc.log")"
build loadgen $(pkg-config --cflags --libs libssh) ||
    die "loadgen.c did not build: $(cat "$T/loadgen-cc.log")"
# storebench links the relay's store and lib/, built as this tree's
# Makefile built them (with the sanitizers when configured so).
SAN=$(sed -n 's/^SAN_CFLAGS = //p' "$top_builddir/Makefile" 2>/dev/null)
build storebench $SAN -D_GNU_SOURCE -I"$top_srcdir" \
    "$top_srcdir/relay/store.c" "$top_srcdir/relay/store_sqlite.c" \
    "$top_srcdir/relay/store_pg.c" "$top_srcdir/relay/store_uri.c" \
    "$top_builddir/telemetry/libtelemetry.a" "$top_builddir/lib/libph.a" \
    $(pkg-config --cflags --libs libpq sqlite3 jansson libcrypto inih) ||
    die "storebench.c did not build: $(cat "$T/storebench-cc.log")"
INTAKEGEN=$T/intakegen
LOADGEN=$T/loadgen

# drain NAME DATABASE: the backlog drain into DATABASE, in $BASE/NAME.
# Sets DR_RATE, DR_S, DR_STORED, DR_CPU_R (relay CPU s) and DR_CPU_DB
# (the PostgreSQL server's CPU s, or -).
drain() {
	T=$BASE/$1
	mkdir -p "$T"
	make_vendor
	make_cluster acme-prod
	RELAY_DB=$2 write_relay_conf
	write_gateway_conf acme-prod
	start_relay
	start_gateway acme-prod
	[ "$FAILS" -eq 0 ] || die "$1: the set-up failed"
	CONF=$T/acme-prod/porthole.conf
	kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
	note "$1: $N records into the spool, relay stopped"
	"$INTAKEGEN" "$T/acme-prod/run/intake.sock" "$N" 8 256 0 "$HE" \
	    >"$T/fill.out" 2>"$T/intakegen.log" ||
	    die "intakegen: $(cat "$T/fill.out" "$T/intakegen.log")"
	d0=$(spool_waiting)
	start_relay
	wait_uplink_open || die "$1: the uplink did not reopen within 60 s"
	r0=$(tree_cpu "$RELAY_PID")
	p0=0
	[ -n "$PGPID" ] && p0=$(tree_cpu "$PGPID")
	wait_spool_empty "$TIMEOUT" ||
	    die "$1: $SPOOL_LEFT of $d0 still waiting after $TIMEOUT s"
	DR_S=$(elapsed_s "$UP_NS" "$(now_ns)")
	DR_RATE=$(awk -v n="$d0" -v s="$DR_S" 'BEGIN { printf "%.0f", n / s }')
	DR_CPU_R=$(awk -v t=$(( $(tree_cpu "$RELAY_PID") - r0 )) -v hz="$HZ" 'BEGIN { printf "%.1f", t / hz }')
	DR_CPU_DB=-
	[ -n "$PGPID" ] && DR_CPU_DB=$(awk -v t=$(( $(tree_cpu "$PGPID") - p0 )) -v hz="$HZ" 'BEGIN { printf "%.1f", t / hz }')
	DR_N=$d0
	note "$1: $d0 records in $DR_S s: $DR_RATE/s (CPU s: relay $DR_CPU_R, PostgreSQL $DR_CPU_DB)"
	stop_all
}

# storebench SPEC: the store alone (7s); SB_RATE is its records/s.
storebench() {
	sb_out=$("$BASE/storebench" "$1" "$N" "$SB" 2>"$BASE/storebench.log") ||
	    die "storebench $1: $(cat "$BASE/storebench.log")"
	note "store alone, $1: $sb_out (load $(cut -d' ' -f1 /proc/loadavg))"
	SB_RATE=$(echo "$sb_out" | awk '{ printf "%.0f", $8 }')
}

if [ "$N" -gt 0 ]; then
	PGPID=""
	drain sqlite "$BASE/sqlite/relay.db"
	SQ_RATE=$DR_RATE; SQ_S=$DR_S; SQ_CPU=$DR_CPU_R; SQ_N=$DR_N
	SQ_STORED=$(sqlite3 "file:$BASE/sqlite/relay.db?mode=ro" \
	    "SELECT count(*) FROM records WHERE class = 'usage'" 2>/dev/null || echo "?")
	storebench "$BASE/storebench.db"; SQ_ALONE=$SB_RATE

	if ! pg_start; then
		echo "fleet bench: SKIP: no PostgreSQL server could be started" >&2
		exit 77
	fi
	PGPID=$(head -n 1 "$PG_DIR/data/postmaster.pid")
	PG_SETTINGS="fsync $(pg_sql 'SHOW fsync'), synchronous_commit $(pg_sql 'SHOW synchronous_commit'), wal_sync_method $(pg_sql 'SHOW wal_sync_method'), shared_buffers $(pg_sql 'SHOW shared_buffers')"
	PG_VERSION=$(pg_sql 'SHOW server_version')
	drain pg "$PG_URI"
	PQ_RATE=$DR_RATE; PQ_S=$DR_S; PQ_CPU=$DR_CPU_R; PQ_DB=$DR_CPU_DB; PQ_N=$DR_N
	PQ_STORED=$(pg_sql "SELECT count(*) FROM records WHERE class = 'usage'")
	storebench "$PG_URI"; PQ_ALONE=$SB_RATE
	pg_destroy
fi

if [ "$NTUN" -gt 0 ]; then
	T=$BASE/tunnels
	mkdir -p "$T/tunk"
	make_vendor
	# One key for every cluster: the relay neither knows nor cares, and
	# 10,000 keys would take longer to make than to log in with.
	"$CERTS"/porthole-make-cluster-key "$T/onekey" onekey >/dev/null ||
	    die "porthole-make-cluster-key failed"
	note "tunnels: $NTUN clusters in relay.conf"
	# relay.conf is read only up to 1 MiB: the key by a short name keeps
	# 10,000 sections within it.
	KDIR=$(mktemp -d /tmp/phk.XXXXXX) || die "mktemp failed"
	ln -s "$T/onekey/onekey.key.pub" "$KDIR/k"
	awk -v n="$NTUN" -v k="$KDIR/k" 'BEGIN {
	    for (i = 0; i < n; i++)
		printf "[cluster bench-%03d]\nkey = %s\n", i, k }' \
	    >"$T/relay_clusters.conf"
	i=0
	while [ "$i" -lt "$NTUN" ]; do
		id=$(printf 'bench-%03d' "$i")
		mkdir -p "$T/tunk/$id"
		ln -s "$T/onekey/onekey.key" "$T/tunk/$id/$id.key"
		i=$((i + 1))
	done
	write_relay_conf
	start_relay
	sleep 1
	r0=$(rss_kb "$RELAY_PID")
	f0=$(ls "/proc/$RELAY_PID/fd" | wc -l)
	LIMIT=$(awk '/^Max open files/ { print $4 " soft, " $5 " hard" }' "/proc/$RELAY_PID/limits")
	s=$(now_ns)
	"$LOADGEN" porthole 127.0.0.1 "$RELAY_PORT" "$NTUN" "$T/tunk" bench- \
	    >"$T/loadgen.out" 2>"$T/loadgen.log" &
	LOADGEN_PID=$!
	PIDS="$PIDS $LOADGEN_PID"
	wait_for "$T/loadgen.out" "^ready" 900 ||
	    die "loadgen did not finish: $(tail -n 3 "$T/loadgen.log")"
	wait_count "$T/relay.log" "cluster bench-.* online" $((NTUN - 1)) 60 ||
	    die "the relay did not see $NTUN tunnels"
	TUN_S=$(elapsed_s "$s" "$(now_ns)")
	sleep 5
	r1=$(rss_kb "$RELAY_PID")
	f1=$(ls "/proc/$RELAY_PID/fd" | wc -l)
	TUN_RSS=$(( (r1 - r0) / NTUN ))
	TUN_TOTAL=$r1
	TUN_FDS=$f1
	TUN_FD_PER=$(awk -v a="$f1" -v b="$f0" -v n="$NTUN" 'BEGIN { printf "%.2f", (a - b) / n }')
	TUN_ACCEPT_ERRORS=$(count_lines "$T/relay.log" "accept")
	note "tunnels: $NTUN up in $TUN_S s; relay RSS $r0 -> $r1 kB, descriptors $f0 -> $f1 ($LIMIT)"
	kill "$LOADGEN_PID"; wait "$LOADGEN_PID" 2>/dev/null
	stop_all
fi
T=$BASE

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
{
	echo
	echo "## The relay fleet: the store's drain, SQLite next to PostgreSQL, and idle tunnels"
	echo
	echo "Written by \`tests/bench/fleet.sh\` (part of \`make bench\`) on $(date -u '+%Y-%m-%d %H:%M UTC'),"
	echo "source revision $(git -C "$top_srcdir" rev-parse --short HEAD 2>/dev/null || echo '?');"
	echo "$(nproc) cores ($cpu), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
	echo "(a machine shared with other work: the wall times move with it, the"
	echo "CPU seconds less). Again with:"
	echo
	echo "    BENCH_FLEET_DRAIN_RECORDS=$N BENCH_FLEET_TUNNELS=$NTUN$([ "$HE" -gt 0 ] && echo " BENCH_FLEET_HEALTH_EVERY=$HE") sh tests/bench/fleet.sh"
	echo
	echo "| metric | SQLite | PostgreSQL | PostgreSQL / SQLite |"
	echo "|---|---:|---:|---:|"
	if [ "$N" -gt 0 ]; then
		what="usage records"
		[ "$HE" -gt 0 ] && what="records (one in $HE a health snapshot, the rest usage)"
		echo "| 7a. backlog of $(thousands "$N") $what drained to the relay's store, records/s (goal for PostgreSQL: 50,000) | $(thousands "$SQ_RATE") | $(thousands "$PQ_RATE") | $(ratio "$SQ_RATE" "$PQ_RATE") |"
		echo "| 7b. the drain's wall time, s | $SQ_S | $PQ_S | $(ratio "$SQ_S" "$PQ_S") |"
		echo "| 7c. relay CPU over the drain, s (PostgreSQL server's beside it) | $SQ_CPU | $PQ_CPU ($PQ_DB) | $(ratio "$SQ_CPU" "$PQ_CPU") |"
		NU=$N
		[ "$HE" -gt 0 ] && NU=$((N - N / HE))
		echo "| 7d. usage records in the store afterwards, of $(thousands "$NU") sent (each once) | $SQ_STORED | $PQ_STORED | - |"
		same="the same records"
		[ "$HE" -gt 0 ] && same="$(thousands "$N") usage records (storebench makes no health snapshot)"
		echo "| 7s. the store alone: $same through store_records() in batches of $(thousands "$SB"), records/s | $(thousands "$SQ_ALONE") | $(thousands "$PQ_ALONE") | $(ratio "$SQ_ALONE" "$PQ_ALONE") |"
	fi
	if [ "$NTUN" -gt 0 ]; then
		echo "| 8a. idle tunnels on one relay, all up (SQLite store) | $(thousands "$NTUN") in $TUN_S s | - | - |"
		echo "| 8b. relay memory per idle tunnel, kB RSS (relay total, kB) | $TUN_RSS ($TUN_TOTAL) | - | - |"
		echo "| 8c. relay descriptors with every tunnel up, per tunnel (limit: $LIMIT) | $TUN_FDS, $TUN_FD_PER | - | - |"
		echo "| 8d. relay log lines about accept() failing | $TUN_ACCEPT_ERRORS | - | - |"
	fi
	echo
	if [ "$N" -gt 0 ]; then
		echo "PostgreSQL $PG_VERSION (Debian), a throwaway cluster made by initdb with its"
		echo "defaults and $PG_SETTINGS, on a Unix"
		echo "socket on the same machine and disk as the relay: every batch (1,000"
		echo "records from the gateway) is one transaction whose commit waits for"
		echo "the WAL's fsync, as the relay's acknowledgement requires. The relay"
		echo "sends a batch of usage records whole, as one pipeline of statements"
		echo "of bound arrays (BEGIN, the cluster locked, the keys, the usage rows,"
		echo "last_seq, COMMIT), and reads and checks the next batch while the"
		echo "server stores it; timed from the moment the uplink is open until"
		echo "the spool is empty. 7s times store_records() alone (storebench.c)"
		echo "on the same server, its batches one after another, each waited for."
	fi
} >"$T/section.md"
cat "$T/section.md" >>"$OUT"
cat "$T/section.md"
finish
