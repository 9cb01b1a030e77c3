#!/bin/sh
# Two relays of one fleet (one host key, each with a store of its own
# until the fleet shares one) and a gateway with both in [gateway] relay:
# an engineer reaches the cluster through either; with one relay killed
# (kill -9) the next session goes through the other while a session
# there runs on, porthole status shows both and exits 4, telemetry moves
# to the surviving relay, and 1,000 usage records sent meanwhile all
# arrive once the killed relay is back.  Here each relay's SQLite store
# holds what went through it, and nothing is lost; that each record is
# stored exactly once across the relays of a shared PostgreSQL store is
# fleet_pg.sh's.
. "$(dirname "$0")/lib.sh"

make_vendor
make_cluster acme-prod
write_relay_conf
# The second relay: the same host key, its own port, store and run_dir.
fleet_relay2_conf "$T/relay2.db"
write_gateway_conf acme-prod
CONF=$T/acme-prod/porthole.conf
fleet_gateway_relays acme-prod
# An engineer who knows both relays: -J relay or -J relay2.
fleet_ssh_config

start_relay
RELAY1_PID=$RELAY_PID
start_relay relay2
RELAY2_PID=$RELAY_PID
start_gateway acme-prod
wait_count "$T/relay2.log" "cluster acme-prod online" 0 10 ||
    fail "no tunnel to relay 2"

# Through each relay, and each says so in its own log.
via_both &&
    pass "an engineer reaches the cluster through either relay" ||
    fail "through each relay: '$O1' '$O2' $(cat "$T/via.err")"

status_json; rc=$?
[ "$rc" -eq 0 ] &&
    [ "$(json_get "$T/status.json" '[(r["relay"], r["tunnel"]) for r in d["relays"]]')" = \
      "[('127.0.0.1:$R1', 'up'), ('127.0.0.1:$R2', 'up')]" ] &&
    pass "porthole status lists both relays up and exits 0" ||
    fail "status with both up: rc=$rc $(cat "$T/status.json" "$T/status.err")"
# Each relay's own view: the cluster is connected to it.
"$RELAY_BIN" -f "$T/relay2.conf" clusters --json >"$T/clusters2.json" 2>&1
[ "$(json_get "$T/clusters2.json" '[(c["cluster"], c["connected"], [r.endswith(":'"$R2"'") for r in c["relays"]]) for c in d]')" = \
  "[('acme-prod', True, [True])]" ] &&
    "$RELAY_BIN" -f "$T/relay2.conf" clusters |
    grep -q "^acme-prod .* yes .*:$R2 *\$" &&
    pass "relay 2's clusters report names itself among the cluster's relays" ||
    fail "clusters report: $(cat "$T/clusters2.json")"

# The relay that carries telemetry is the one killed.
fleet_uplink_relay ||
    { fail "telemetry goes over no relay: '$UP'"; finish; }

# A session through the other relay runs across the kill.
ssh -F "$T/ssh_config" -J "$ONAME" acme-prod sleepy 4 </dev/null \
    >/dev/null 2>"$T/long.err" &
LONG=$!
sleep 1
fleet_kill_midway

i=0
while [ $i -lt 50 ]; do
	status_json; rc=$?
	[ "$rc" -eq 4 ] && break
	sleep 0.1; i=$((i + 1))
done
[ "$rc" -eq 4 ] &&
    [ "$(json_get "$T/status.json" 'sorted(r["tunnel"] for r in d["relays"])')" = "['down', 'up']" ] &&
    "$CLI_BIN" -f "$CONF" status | grep -q "^relay  .*127.0.0.1:$R1 (tunnel" &&
    "$CLI_BIN" -f "$CONF" status | grep -q "^relay  .*127.0.0.1:$R2 (tunnel" &&
    pass "with one relay killed porthole status shows both and exits 4" ||
    fail "status with one relay down: rc=$rc $(cat "$T/status.json")"

s=$(sessions_at "$OLOG")
o=$(via "$ONAME" acme-prod)
[ "$o" = "cluster acme-prod is healthy" ] &&
    [ "$(sessions_at "$OLOG")" -eq $((s + 1)) ] &&
    pass "the engineer's next session goes through the surviving relay" ||
    fail "through the surviving relay: '$o' $(cat "$T/via.err")"
wait "$LONG"; lrc=$?
[ "$lrc" -eq 0 ] &&
    pass "a session through the other relay runs on across the kill" ||
    fail "the session through $ONAME ended with $lrc: $(cat "$T/long.err")"
wait_for "$T/gateway-acme-prod.log" "uplink: the control channel runs over the tunnel to relay 127.0.0.1:$(
    [ "$KNAME" = relay ] && echo "$R2" || echo "$R1")" 5 &&
    pass "telemetry moves to the surviving relay" ||
    fail "the uplink did not move"

# The killed relay comes back; the gateway rejoins it.
k0=$(count_lines "$KLOG" "cluster acme-prod online")
start_relay "$KNAME"
wait_count "$KLOG" "cluster acme-prod online" "$k0" 10 &&
    status_json && pass "the gateway rejoins the restarted relay; status exits 0" ||
    fail "no tunnel to the restarted relay: $(cat "$T/status.json")"

i=0
while [ $i -lt 150 ] && [ "$(spool_depth acme-prod)" != "0" ]; do
	sleep 0.2; i=$((i + 1))
done
[ "$(spool_depth acme-prod)" = "0" ] && pass "the gateway's spool drains" ||
    fail "spool depth $(spool_depth acme-prod)"

# Across both stores every record is there; a record the killed relay
# had stored but not acknowledged was sent again through the other.
for c in relay relay2; do
	"$RELAY_BIN" -f "$T/$c.conf" usage acme-prod 2>/dev/null |
	    awk '$1 == "2026-11-24T09:00:00Z" && $3 == "host_units" && $4 == 1 { print $2 }'
done >"$T/envs"
total=$(wc -l <"$T/envs")
distinct=$(sort -u "$T/envs" | wc -l)
[ "$distinct" -eq 1000 ] && [ "$(sort -u "$T/envs" | grep -c '^env-0[0-9]*$')" -eq 1000 ] &&
    pass "all 1,000 records are in the two stores ($((total - distinct)) in both)" ||
    fail "the stores hold $distinct distinct of 1000 records ($total rows)"

finish
