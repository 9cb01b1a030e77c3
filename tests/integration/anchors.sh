#!/bin/sh
# Audit seal heads go to the relay as anchors, so cutting sealed events
# off the end of the log - invisible to the log's own chain and seals -
# is caught by holding the log to the anchors.
. "$(dirname "$0")/lib.sh"

SEAL_EVERY=3 standard_setup
DIR=$T/acme-prod/audit
K0=$(cat "$T/acme-prod/audit.k0")
for i in 1 2 3 4; do
	essh acme-prod status >/dev/null 2>&1 || fail "session $i"
done
anchors() { "$RELAY_BIN" -f "$T/relay.conf" anchors acme-prod; }
i=0
while [ $i -lt 50 ] && [ "$(anchors 2>/dev/null | grep -vc '^#')" -lt 4 ]; do
	sleep 0.2; i=$((i + 1))
done
n=$(anchors | grep -vc '^#')
[ "$n" -ge 4 ] && pass "the relay holds $n seal heads of acme-prod" ||
    fail "anchors at the relay: $n"
stop_gateway acme-prod
anchors >"$T/anchors.txt"
n=$(grep -vc '^#' "$T/anchors.txt")	# the last seals may have arrived since
out=$("$CLI_BIN" audit verify --key "$K0" --anchors "$T/anchors.txt" "$DIR" 2>&1); rc=$?
[ "$rc" -eq 0 ] && echo "$out" | grep -q "$n seal heads held at the relay match" &&
    pass "the log matches every anchor" || fail "verify --anchors: rc=$rc $out"

# Cut the log just before the last anchored seal: the chain and the
# remaining seals still verify, the anchors do not.
last=$(grep -v '^#' "$T/anchors.txt" | sort -n -k2 | tail -1 | cut -d' ' -f2)
cp "$DIR/audit.log" "$T/audit.full"
head -n $((last - 1)) "$T/audit.full" >"$DIR/audit.log"
"$CLI_BIN" audit verify --key "$K0" "$DIR" >/dev/null 2>&1 &&
    pass "(the cut log still verifies on its own)" ||
    fail "the cut log should verify without anchors"
out=$("$CLI_BIN" audit verify --key "$K0" --anchors "$T/anchors.txt" "$DIR" 2>&1); rc=$?
[ "$rc" -eq 1 ] && echo "$out" | grep -q "sealed events were cut off" &&
    pass "truncation after a seal is caught by the anchors" ||
    fail "truncated log: rc=$rc $out"

# An edited anchored line is caught too.
sed "${last}s/\"mac\":\"./\"mac\":\"Z/" "$T/audit.full" >"$DIR/audit.log"
out=$("$CLI_BIN" audit verify --anchors "$T/anchors.txt" "$DIR" 2>&1); rc=$?
[ "$rc" -eq 1 ] && pass "a changed anchored line is caught" ||
    fail "changed line: rc=$rc $out"
cp "$T/audit.full" "$DIR/audit.log"

# A clean stop seals the log while the tunnel is up: the relay holds the
# final seal, so a log cut back to the seal before it is caught too.
final=$(wc -l <"$DIR/audit.log")
tail -n 1 "$DIR/audit.log" | grep -q '"type":"seal"' &&
    grep -q "^[0-9]* $final " "$T/anchors.txt" &&
    pass "the final seal of a clean stop reaches the relay" ||
    fail "final seal (seq $final) not at the relay: $(tail -3 "$T/anchors.txt")"
prev=$(grep -n '"type":"seal"' "$T/audit.full" | tail -n 2 | head -n 1 | cut -d: -f1)
head -n "$prev" "$T/audit.full" >"$DIR/audit.log"
out=$("$CLI_BIN" audit verify --key "$K0" --anchors "$T/anchors.txt" "$DIR" 2>&1); rc=$?
[ "$rc" -eq 1 ] && echo "$out" | grep -q "sealed events were cut off" &&
    pass "a log cut back to its last seal before a clean stop fails verify --anchors" ||
    fail "cut back to seq $prev after a clean stop: rc=$rc $out"
cp "$T/audit.full" "$DIR/audit.log"

# Seals made while the relay is down reach it once it is back: the
# newest one the relay has not acknowledged waits in state_dir, across
# a restart too, and verify --anchors says which epochs it never got.
CONF=$T/acme-prod/porthole.conf
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
"$GATEWAY_BIN" -f "$CONF" -d >>"$T/gateway-acme-prod.log" 2>&1 &
echo $! >"$T/acme-prod/gateway.pid"
PIDS="$PIDS $!"
i=0
while [ $i -lt 50 ] && ! "$CLI_BIN" -f "$CONF" status >/dev/null 2>&1; do
	sleep 0.1; i=$((i + 1))
done
# seal_now: reloads (each two audit events: policy_loaded and
# policy_reloaded) until a new seal is written.
seal_now() {
	before=$(grep -c '"type":"seal"' "$DIR/audit.log")
	for j in 1 2 3; do
		[ "$(grep -c '"type":"seal"' "$DIR/audit.log")" -gt "$before" ] &&
		    break
		"$CLI_BIN" -f "$CONF" reload >/dev/null 2>&1
	done
	[ "$(grep -c '"type":"seal"' "$DIR/audit.log")" -gt "$before" ] ||
	    fail "no seal after three reloads"
	grep -n '"type":"seal"' "$DIR/audit.log" | tail -n 1 | cut -d: -f1
}
down=$(seal_now)
grep -q "\"seq\":$down," "$T/acme-prod/state/anchor.json" &&
    pass "a seal made while the relay is down is kept in state_dir" ||
    fail "anchor.json: $(cat "$T/acme-prod/state/anchor.json" 2>&1)"
start_relay
has_anchor() {	# SEQ [SECONDS]
	i=0
	while [ $i -lt $((${2:-40} * 10)) ]; do
		anchors 2>/dev/null | grep -q "^[0-9]* $1 " && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
has_anchor "$down" &&
    pass "it reaches the relay once the relay is back" ||
    fail "seal at seq $down never reached the relay"
i=0
while [ $i -lt 50 ] && [ -f "$T/acme-prod/state/anchor.json" ]; do
	sleep 0.1; i=$((i + 1))
done
[ ! -f "$T/acme-prod/state/anchor.json" ] &&
    pass "acknowledged, it is forgotten" || fail "anchor.json stays after the ack"
# Down again: a seal, then a clean stop, whose final seal cannot go up.
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
missed=$(seal_now)
stop_gateway acme-prod
final=$(wc -l <"$DIR/audit.log")
grep -q "\"seq\":$final," "$T/acme-prod/state/anchor.json" &&
    grep -q "has not acknowledged the final seal" "$T/gateway-acme-prod.log" &&
    pass "a clean stop with the relay down keeps its final seal in state_dir" ||
    fail "final seal $final: $(cat "$T/acme-prod/state/anchor.json" 2>&1)"
e_missed=$(sed -n "${missed}p" "$DIR/audit.log" | sed 's/.*"epoch":\([0-9]*\).*/\1/')
e_final=$(sed -n "${final}p" "$DIR/audit.log" | sed 's/.*"epoch":\([0-9]*\).*/\1/')
anchors >"$T/anchors2.txt"
out=$("$CLI_BIN" audit verify --key "$K0" --anchors "$T/anchors2.txt" "$DIR" 2>&1); rc=$?
[ "$rc" -eq 0 ] && echo "$out" | grep -q "never received the seal heads of epochs $e_missed-$e_final, the last 2: events after seq $down could be cut off" &&
    pass "verify --anchors names the epochs the relay never received" ||
    fail "verify --anchors with seals missing: rc=$rc $out"
start_relay
start_gateway acme-prod
has_anchor "$final" &&
    pass "after a restart the final seal of the last run reaches the relay" ||
    fail "seal at seq $final never reached the relay after the restart"
stop_gateway acme-prod
anchors >"$T/anchors3.txt"
out=$("$CLI_BIN" audit verify --key "$K0" --anchors "$T/anchors3.txt" "$DIR" 2>&1); rc=$?
[ "$rc" -eq 0 ] && echo "$out" | grep -q "never received the seal heads of epochs \(.*, \)\?$e_missed\(, .*\)\?; a later one it holds covers them" &&
    ! echo "$out" | grep -q "could be cut off" &&
    pass "verify --anchors: a seal the relay missed is covered by a later one" ||
    fail "verify --anchors after the restart: rc=$rc $out"
finish
