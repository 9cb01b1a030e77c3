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
finish
