#!/bin/sh
# The tunnel: relay host key pinned, reconnects after a relay restart,
# several clusters and engineers at once, a dropped relay ends sessions
# cleanly.
. "$(dirname "$0")/lib.sh"

make_vendor
make_cluster acme-prod
make_cluster globex
write_relay_conf
write_gateway_conf acme-prod
write_gateway_conf globex
write_ssh_config
"$CERTS"/porthole-issue-engineer -c "$T/ca/support_ca" -o "$T/eng" bob SUP-77 +1h >/dev/null
start_relay
start_gateway acme-prod
start_gateway globex

# Two engineers on two clusters at once.
ENGINEER=bob write_ssh_config
cp "$T/ssh_config" "$T/ssh_config.bob"
ENGINEER=alice write_ssh_config
ssh -F "$T/ssh_config.bob" globex status >"$T/bob.out" 2>&1 </dev/null &
pb=$!
ssh -F "$T/ssh_config" acme-prod status >"$T/alice.out" 2>&1 </dev/null &
pa=$!
wait $pb; rb=$?
wait $pa; ra=$?
[ "$ra" -eq 0 ] && [ "$rb" -eq 0 ] &&
    grep -qx "cluster acme-prod is healthy" "$T/alice.out" &&
    grep -qx "cluster globex is healthy" "$T/bob.out" &&
    pass "two engineers on two clusters at once" ||
    fail "two clusters: alice rc=$ra bob rc=$rb"
grep -q '"engineer":"bob"' "$T/globex/audit/audit.log" &&
    ! grep -q '"engineer":"bob"' "$T/acme-prod/audit/audit.log" &&
    pass "each cluster audits its own sessions" || fail "audit per cluster"

# The relay restarted under live gateways: both rejoin within 5 seconds.
a0=$(count_lines "$T/relay.log" "cluster acme-prod online")
g0=$(count_lines "$T/relay.log" "cluster globex online")
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
start_relay
wait_count "$T/relay.log" "cluster acme-prod online" "$a0" 5 &&
    wait_count "$T/relay.log" "cluster globex online" "$g0" 5 &&
    pass "gateways rejoin a restarted relay within 5 s" ||
    fail "gateways did not rejoin within 5 s"
out=$(essh acme-prod status 2>/dev/null)
[ "$out" = "cluster acme-prod is healthy" ] &&
    pass "a new session works after the restart" ||
    fail "session after restart: '$out'"

# A relay that drops mid-session: the engineer's ssh ends, nothing hangs,
# the session process is gone and the gateway reconnects.
essh acme-prod sleepy 30 >/dev/null 2>&1 &
ps_=$!
sleep 1
a0=$(count_lines "$T/relay.log" "cluster acme-prod online")
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
n=50
while kill -0 "$ps_" 2>/dev/null && [ "$n" -gt 0 ]; do
	sleep 0.1; n=$((n - 1))
done
kill -0 "$ps_" 2>/dev/null && { fail "engineer ssh hangs after relay drop"; kill "$ps_"; } ||
    pass "engineer ssh ends when the relay drops"
wait_for "$T/acme-prod/audit/audit.log" '"command":"sleepy 30"' 1
wait_count "$T/acme-prod/audit/audit.log" '"type":"session_closed"' \
    "$(( $(count_lines "$T/acme-prod/audit/audit.log" '"type":"session_closed"') - 1 ))" 5 &&
    pass "the dropped session is closed in the audit log" ||
    fail "dropped session not closed"
start_relay
wait_count "$T/relay.log" "cluster acme-prod online" "$a0" 5 ||
    fail "gateway did not rejoin after a mid-session drop"

# A relay presenting another host key: the gateway refuses to connect.
"$CERTS"/porthole-make-host-key "$T/evil_host_key" evil >/dev/null
stop_gateway globex
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
sed -i "s|^host_key = .*|host_key = $T/evil_host_key|" "$T/relay.conf"
: >"$T/relay.log"
start_relay
"$GATEWAY_BIN" -f "$T/globex/porthole.conf" -d >>"$T/gateway-globex-2.log" 2>&1 &
PIDS="$PIDS $!"
wait_for "$T/gateway-globex-2.log" "does not match" 5 &&
    pass "gateway refuses a relay with the wrong host key" ||
    fail "no host key mismatch refusal"
sleep 1
! grep -q "cluster globex online" "$T/relay.log" &&
    pass "no tunnel to the impostor relay" || fail "tunnel to impostor relay"
"$CLI_BIN" -f "$T/globex/porthole.conf" status >"$T/status.out" 2>&1
grep -q "tunnel down since" "$T/status.out" &&
    grep -q "^tunnel error   the relay's host key does not match" "$T/status.out" &&
    pass "porthole status says why the tunnel is down" ||
    fail "status while refused: $(cat "$T/status.out")"

finish
