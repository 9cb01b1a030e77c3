#!/bin/sh
# Telemetry through the tunnel: records a producer hands over are
# durable before they are acknowledged, reach Mission Control's store
# exactly once across relay outages and gateway crashes, and the
# customer's toggles keep what they block off the disk.  License checks
# and the offline rule ride the same channel.
. "$(dirname "$0")/lib.sh"

standard_setup
CONF=$T/acme-prod/porthole.conf
GWSTATE=$T/acme-prod/state
relay_q() { "$RELAY_BIN" -f "$T/relay.conf" "$@"; }
status() { "$CLI_BIN" -f "$CONF" status; }
depth() { spool_depth acme-prod; }
usage_rec() {
	printf '{"hour":"2026-11-%02dT%02d:00:00Z","environment":"env-1","units":{"host_units":%s}}\n' "$1" "$2" "$3"
}

# One usage record: acknowledged as stored, then visible at the relay.
out=$(usage_rec 20 10 12.5 | "$CLI_BIN" -f "$CONF" send usage -); rc=$?
[ "$rc" -eq 0 ] && echo "$out" | grep -q "stored (seq [0-9]*)" &&
    pass "send usage: stored with a sequence number" ||
    fail "send usage: rc=$rc out='$out'"
i=0
while [ $i -lt 50 ] && ! relay_q usage acme-prod 2>/dev/null | grep -q "2026-11-20T10:00:00Z.*env-1.*host_units.*12.5"; do
	sleep 0.2; i=$((i + 1))
done
relay_q usage acme-prod >"$T/usage.out" 2>&1
grep -q "2026-11-20T10:00:00Z.*env-1.*host_units.*12.5" "$T/usage.out" &&
    pass "the relay's store has the usage record" ||
    fail "relay usage: $(cat "$T/usage.out")"
# A producer unsure whether its record was kept sends it again: the hour
# is billed once (a usage record is the hour's total, not an increment).
out=$(usage_rec 20 10 12.5 | "$CLI_BIN" -f "$CONF" send usage -); rc=$?
seq2=$(echo "$out" | sed -n 's/.*stored (seq \([0-9]*\)).*/\1/p')
# Acknowledged by the relay once the gateway's spool is empty again.
i=0
while [ $i -lt 50 ] && [ "$(depth)" != 0 ]; do sleep 0.2; i=$((i + 1)); done
relay_q usage acme-prod >"$T/usage.out" 2>&1
[ "$rc" -eq 0 ] && [ -n "$seq2" ] && [ "$(depth)" = 0 ] &&
    [ "$(grep -c "2026-11-20T10:00:00Z.*env-1.*host_units" "$T/usage.out")" -eq 1 ] &&
    grep -q "2026-11-20T10:00:00Z.*env-1.*host_units  *12.5$" "$T/usage.out" &&
    pass "the same usage record sent twice is billed once (12.5, not 25)" ||
    fail "resent usage: rc=$rc seq=$seq2 $(cat "$T/usage.out")"
relay_q events acme-prod >"$T/events.out" 2>&1
grep -q "server_start.*portholed" "$T/events.out" &&
    pass "the gateway's start is an event at the relay" ||
    fail "events: $(cat "$T/events.out")"
# The gateway's own collectors: a health record and the node inventory.
i=0
while [ $i -lt 50 ] && ! relay_q events acme-prod 2>/dev/null | grep -q node_added; do
	sleep 0.2; i=$((i + 1))
done
relay_q events acme-prod | grep -q "node_added.*$(hostname)" &&
    pass "the collector announced this node (node_added)" ||
    fail "no node_added event: $(relay_q events acme-prod | tail -3)"
relay_q clusters | grep -q "acme-prod.*1 node" &&
    pass "the latest health snapshot is summarised in clusters" ||
    fail "health summary: $(relay_q clusters)"
relay_q known-hosts >"$T/kh.out" 2>&1
grep -qx "acme-prod $(cut -d' ' -f1,2 "$T/acme-prod/session_host_key.pub")" "$T/kh.out" &&
    pass "porthole-relay known-hosts prints the cluster's session host key" ||
    fail "known-hosts: $(cat "$T/kh.out")"
relay_q clusters >"$T/clusters.out" 2>&1
grep -q "acme-prod.*yes" "$T/clusters.out" &&
    pass "porthole-relay clusters lists acme-prod connected" ||
    fail "clusters: $(cat "$T/clusters.out")"

# Bad records are refused with a reason; nothing else is affected.
out=$(echo '{"hour":"2026-11-20T10:30:00Z","environment":"env-1","units":{}}' |
    "$CLI_BIN" -f "$CONF" send usage - 2>&1); rc=$?
[ "$rc" -eq 1 ] && echo "$out" | grep -q "hour" &&
    pass "a usage record off the hour is refused, naming the field" ||
    fail "bad record: rc=$rc out='$out'"
head -c 70000 /dev/zero | tr '\0' 'x' | sed 's/^/{"type":"x","ts":"2026-11-20T10:00:00Z","pad":"/; s/$/"}/' >"$T/big.json"
out=$("$CLI_BIN" -f "$CONF" send event "$T/big.json" 2>&1); rc=$?
[ "$rc" -eq 1 ] && echo "$out" | grep -q "record 1: .* more than the 65536" &&
    pass "porthole send refuses an oversized record, naming it" ||
    fail "oversized: rc=$rc out='$(echo "$out" | head -c 200)'"
# A producer writing straight to the socket: refused, then hung up on,
# and the rest of the line is not taken for a record.
{ cat "$T/big.json"; echo '{"class":"event","type":"after","ts":"2026-11-20T10:00:00Z"}'; } |
    socat -t 3 - UNIX-CONNECT:"$T/acme-prod/run/intake.sock" >"$T/raw.out" 2>/dev/null
grep -q '"ok":false.*longer than the limit' "$T/raw.out" &&
    [ "$(grep -c . "$T/raw.out")" -eq 1 ] &&
    pass "the intake refuses an over-long line and closes, nothing after it kept" ||
    fail "raw over-long line: $(head -c 300 "$T/raw.out")"
# A producer still writing the refused line when the refusal comes: it
# can go on writing a while and still read why (no EPIPE, no lost reply).
python3 - "$T/acme-prod/run/intake.sock" >"$T/slow.out" 2>&1 <<'EOP'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b'{"class":"event","pad":"' + b"x" * 70000)
time.sleep(0.5)			# the gateway has refused by now
s.sendall(b"y" * 20000 + b'"}\n')
s.shutdown(socket.SHUT_WR)
print(s.makefile("rb").read().decode())
EOP
grep -q '"ok":false.*longer than the limit' "$T/slow.out" &&
    [ "$(grep -c '"ok"' "$T/slow.out")" -eq 1 ] &&
    pass "a producer still writing the over-long line reads the refusal" ||
    fail "slow over-long producer: $(head -c 300 "$T/slow.out")"
# More records in one burst than the intake answers at once (1,024):
# every one is answered once the first ones are durable.
awk 'BEGIN { for (i = 0; i < 1050; i++)
    printf "{\"class\":\"event\",\"type\":\"b%d\",\"ts\":\"2026-11-20T10:00:00Z\"}\n", i % 10 }' |
    socat -t 5 - UNIX-CONNECT:"$T/acme-prod/run/intake.sock" >"$T/burst.out" 2>&1
[ "$(grep -c '"ok":true' "$T/burst.out")" -eq 1050 ] &&
    pass "a burst of 1,050 records is answered in full" ||
    fail "burst: $(grep -c '"ok":true' "$T/burst.out") of 1050 answered"

# Durable retry: the relay is down, records wait in the spool, the
# gateway is killed -9 and restarted, and all of them arrive once.
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
for h in $(seq 0 23); do usage_rec 21 "$h" 1; done >"$T/day.json"
for h in $(seq 0 23); do usage_rec 22 "$h" 2; done >>"$T/day.json"
"$CLI_BIN" -f "$CONF" send usage "$T/day.json" >"$T/send.out" 2>&1 &&
    [ "$(grep -c stored "$T/send.out")" -eq 48 ] &&
    pass "48 records acknowledged while the relay is down" ||
    fail "send while down: $(tail -3 "$T/send.out")"
d=$(depth)
[ "${d:-0}" -ge 48 ] && pass "porthole status shows $d records waiting" ||
    fail "spool depth while down: '$d' ($(status))"
kill -9 "$(cat "$T/acme-prod/gateway.pid")"
sleep 0.5
"$GATEWAY_BIN" -f "$CONF" -d >>"$T/gateway-acme-prod.log" 2>&1 &
echo $! >"$T/acme-prod/gateway.pid"
PIDS="$PIDS $!"
wait_for "$T/gateway-acme-prod.log" "gateway started" 10 ||
    fail "gateway did not restart"
sleep 0.5
d2=$(depth)
[ "${d2:-0}" -ge 48 ] && pass "after kill -9 the spool still holds them ($d2)" ||
    fail "after kill -9: depth '$d2'"
start_relay
i=0
while [ $i -lt 100 ] && [ "$(depth)" != "0" ]; do sleep 0.2; i=$((i + 1)); done
[ "$(depth)" = "0" ] && pass "the backlog drains once the relay is back" ||
    fail "backlog: depth $(depth)"
relay_q usage acme-prod >"$T/usage.out" 2>&1
n21=$(grep -c "2026-11-21T.*host_units *1$" "$T/usage.out")
n22=$(grep -c "2026-11-22T.*host_units *2$" "$T/usage.out")
[ "$n21" -eq 24 ] && [ "$n22" -eq 24 ] &&
    pass "all 48 hours arrived, each counted once" ||
    fail "after the outage: $n21 and $n22 hours right; $(grep -c . "$T/usage.out") lines"

# Privacy: usage turned off is never written.
sed -i '/^\[telemetry\]/,$ s/^usage = yes/usage = no/' "$CONF"
grep -q "^usage = no" "$CONF" || printf '\n[telemetry]\nusage = no\n' >>"$CONF"
"$CLI_BIN" -f "$CONF" reload >/dev/null || fail "reload"
before=$(du -sb "$GWSTATE/spool" | cut -f1)
out=$(usage_rec 23 1 5 | "$CLI_BIN" -f "$CONF" send usage -); rc=$?
after=$(du -sb "$GWSTATE/spool" | cut -f1)
[ "$rc" -eq 0 ] && echo "$out" | grep -q "not kept" &&
    [ "$before" = "$after" ] &&
    pass "usage off: the record is not kept and the spool did not grow" ||
    fail "usage off: rc=$rc out='$out' spool $before -> $after"

# License: the relay's answer is shown and written for the product.
i=0
while [ $i -lt 50 ] && ! grep -q '"license": "full"' "$GWSTATE/license.json" 2>/dev/null; do
	sleep 0.2; i=$((i + 1))
done
grep -q '"overage": "enabled"' "$GWSTATE/license.json" &&
    status | grep -q "^license *full, overages enabled" &&
    pass "license checked: full, overages enabled" ||
    fail "license: $(cat "$GWSTATE/license.json" 2>/dev/null)"

# The offline rule: 15 days without contact disables overages; contact
# restores them.
stop_gateway acme-prod
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
old=$(date -u -d '15 days ago' +%Y-%m-%dT%H:%M:%SZ)
sed -i "s/\"last_contact\": \"[^\"]*\"/\"last_contact\": \"$old\"/" "$GWSTATE/license.json"
"$GATEWAY_BIN" -f "$CONF" -d >>"$T/gateway-acme-prod.log" 2>&1 &
echo $! >"$T/acme-prod/gateway.pid"
PIDS="$PIDS $!"
wait_for "$T/gateway-acme-prod.log" "overages are disabled" 10 &&
    grep -q '"overage": "disabled' "$GWSTATE/license.json" &&
    status | grep -q "overages DISABLED" &&
    pass "15 days offline: overages disabled, in status and license.json" ||
    fail "offline rule: $(cat "$GWSTATE/license.json")"
start_relay
wait_for "$T/gateway-acme-prod.log" "overages are restored" 15 &&
    grep -q '"overage": "enabled"' "$GWSTATE/license.json" &&
    pass "contact again: overages restored" ||
    fail "restore: $(cat "$GWSTATE/license.json")"
i=0
while [ $i -lt 50 ] && ! relay_q events acme-prod 2>/dev/null | grep -q overage_restored; do
	sleep 0.2; i=$((i + 1))
done
relay_q events acme-prod | grep -q overage_disabled &&
    relay_q events acme-prod | grep -q overage_restored &&
    pass "both changes reached Mission Control as events" ||
    fail "overage events: $(relay_q events acme-prod | tail -5)"

# Test builds move the gateway's clock (PORTHOLE_CLOCK_OFFSET) to walk
# the boundaries: 14 days on a full license, 7 on a trial.
restart_gw() {
	stop_gateway acme-prod
	before=$(count_lines "$T/gateway-acme-prod.log" "gateway started")
	PORTHOLE_CLOCK_OFFSET=$1 "$GATEWAY_BIN" -f "$CONF" -d \
	    >>"$T/gateway-acme-prod.log" 2>&1 &
	echo $! >"$T/acme-prod/gateway.pid"
	PIDS="$PIDS $!"
	wait_count "$T/gateway-acme-prod.log" "gateway started" "$before" 10
	sleep 0.3
}
overage() { status | sed -n 's/^license .*overages \([A-Za-z]*\).*/\1/p'; }
if [ "${PORTHOLE_TEST_HOOKS:-no}" = yes ]; then
	kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
	day=86400
	restart_gw $((14 * day - 3600))
	[ "$(overage)" = "enabled" ] && pass "full license, 13 days 23 h offline: overages on" ||
	    fail "13d23h: $(status | grep license)"
	restart_gw $((14 * day + 60))
	[ "$(overage)" = "DISABLED" ] && pass "full license, 14 days offline: overages off" ||
	    fail "14d: $(status | grep license)"
	# Make it a trial license and let the gateway learn that.
	sed -i 's/^license = full/license = trial/' "$T/relay.conf"
	start_relay
	restart_gw 0
	i=0
	while [ $i -lt 50 ] && ! grep -q '"license": "trial"' "$GWSTATE/license.json"; do
		sleep 0.2; i=$((i + 1))
	done
	[ "$(overage)" = "enabled" ] && status | grep -q "^license *trial" &&
	    pass "after reconnecting: trial license, overages back on" ||
	    fail "trial: $(status | grep license)"
	kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
	restart_gw $((7 * day - 3600))
	[ "$(overage)" = "enabled" ] && pass "trial, 6 days 23 h offline: overages on" ||
	    fail "trial 6d23h: $(status | grep license)"
	restart_gw $((7 * day + 60))
	[ "$(overage)" = "DISABLED" ] && pass "trial, 7 days offline: overages off" ||
	    fail "trial 7d: $(status | grep license)"
else
	echo "# built without --enable-test-hooks: the 14/7-day clock walk is not run"
fi
finish
