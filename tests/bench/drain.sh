#!/bin/sh
# drain.sh - the telemetry backlog drain of `make bench` (metric 6c) on
# its own, with health records mixed in, so that the relay's analysis
# (relay/analysis.c) and the gateway's outbox can be timed against a
# build without them.  A relay and a gateway on loopback; the relay is
# stopped, the records go into the gateway's spool, the relay starts
# again, and the drain is timed from the moment the uplink is open
# until the spool is empty.  Prints one line:
#	drain N records (health every K, alerts A) in S s: R/s;
#	    CPU s: relay C1, portholed C2
# (the CPU seconds each side used over the drain: on a machine shared
# with other work they move less than the wall time does).
#
# Knobs (environment), defaults in brackets:
#   DRAIN_RECORDS (200000)	records in the backlog
#   DRAIN_HEALTH_EVERY (10)	every Kth is a 3-node health record; 0: none
#   DRAIN_ALERTS (default)	default: relay.conf without [alerts] (the
#				rules on, as DESIGN.md sets them); off: every
#				rule off (only for a relay that knows [alerts])
#   DRAIN_OUTBOX (default)	default: the gateway keeps its copy of what
#				it sent (outbox_max 64M); off: outbox_max = 0
#				(only for a gateway that knows the key)
#   DRAIN_CONNS (8)		producer connections
#   DRAIN_TIMEOUT (240)		seconds the drain may take
#   top_builddir		the build whose binaries run (this tree's)
. "$(dirname "$0")/../integration/lib.sh"
. "$top_srcdir/tests/bench/bench_lib.sh"

N=${DRAIN_RECORDS:-200000}
EVERY=${DRAIN_HEALTH_EVERY:-10}
ALERTS=${DRAIN_ALERTS:-default}
CONNS=${DRAIN_CONNS:-8}
TIMEOUT=${DRAIN_TIMEOUT:-240}

die() {
	echo "drain: $*" >&2
	for f in "$T"/*.log; do
		[ -f "$f" ] && { echo "--- $f" >&2; tail -n 10 "$f" >&2; }
	done
	exit 1
}

[ -x "$RELAY_BIN" ] && [ -x "$GATEWAY_BIN" ] || die "build porthole first"
cc -O2 -o "$T/intakegen" "$top_srcdir/tests/bench/intakegen.c" \
    2>"$T/cc.log" || die "intakegen.c did not build: $(cat "$T/cc.log")"

make_vendor
make_cluster acme-prod
write_relay_conf
if [ "$ALERTS" = off ]; then
	cat >>"$T/relay.conf" <<EOC

[alerts]
disk_used = off
memory_available = off
load_per_core = off
service_down = off
offline = off
node_lost = no
EOC
fi
write_gateway_conf acme-prod
[ "${DRAIN_OUTBOX:-default}" = off ] &&
    printf '\n[telemetry]\noutbox_max = 0\n' >>"$T/acme-prod/porthole.conf"
start_relay
start_gateway acme-prod
[ "$FAILS" -eq 0 ] || die "the set-up failed"

CONF=$T/acme-prod/porthole.conf
status() { "$CLI_BIN" -f "$CONF" status 2>/dev/null; }
depth() { status | sed -n 's/^spool *\([0-9]*\) records waiting.*/\1/p'; }
uplink() { status | sed -n 's/^uplink *\([a-z]*\).*/\1/p'; }

kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
"$T/intakegen" "$T/acme-prod/run/intake.sock" "$N" "$CONNS" 256 0 "$EVERY" \
    >"$T/fill.out" 2>"$T/intakegen.log" ||
    die "intakegen failed: $(cat "$T/fill.out" "$T/intakegen.log")"
d0=$(depth)
start_relay
rs=$(now_ns)
last_down=$rs
while [ "$(uplink)" != open ]; do
	last_down=$(now_ns)
	[ $(( (last_down - rs) / 1000000000 )) -lt 60 ] ||
	    die "the uplink did not reopen within 60 s"
	sleep 0.05
done
HZ=$(getconf CLK_TCK)
GATEWAY_PID=$(cat "$T/acme-prod/gateway.pid")
r0=$(tree_cpu "$RELAY_PID"); g0=$(tree_cpu "$GATEWAY_PID")
deadline=$(( last_down + TIMEOUT * 1000000000 ))
while d=$(depth) && [ "$d" != 0 ]; do
	[ "$(now_ns)" -lt "$deadline" ] ||
	    die "stopped after $TIMEOUT s with $d of $d0 waiting"
	sleep 0.05
done
s=$(elapsed_s "$last_down" "$(now_ns)")
cr=$(awk -v t=$(( $(tree_cpu "$RELAY_PID") - r0 )) -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }')
cg=$(awk -v t=$(( $(tree_cpu "$GATEWAY_PID") - g0 )) -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }')
echo "drain $d0 records (health every $EVERY, alerts $ALERTS, outbox ${DRAIN_OUTBOX:-default}) in $s s: $(awk -v n="$d0" -v s="$s" 'BEGIN { printf "%.0f", n / s }')/s; CPU s: relay $cr, portholed $cg"
finish
