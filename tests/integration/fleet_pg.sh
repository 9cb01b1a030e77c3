#!/bin/sh
# A fleet on one PostgreSQL store (tests/pg_lib.sh: a throwaway server,
# fsync on, peer authentication on its Unix socket): two relays started
# at the same moment on the empty database both make or find the schema;
# clusters come from the store's registry (`porthole-relay cluster add`),
# with no [cluster] section in either relay.conf; a gateway lists both
# relays.  An engineer reaches the cluster through each; the clusters
# report of either relay names both; 1,000 usage records sent while the
# relay carrying telemetry is killed (kill -9) and restarted are each
# stored once, counted in PostgreSQL; the engineer's next session goes
# through the surviving relay.  PostgreSQL stopped for a while: sessions
# still route, records wait in the gateway's spool and arrive once it is
# back.  A cluster added through one relay's command is accepted by the
# other at its gateway's next login, and one removed loses its tunnels,
# without a restart.  SKIP (77) when no PostgreSQL server can be started.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/pg_lib.sh"

pg_start_or_skip

make_vendor
make_cluster acme-prod
make_cluster beta
# The clusters are the registry's: no [cluster] sections.
: >"$T/relay_clusters.conf"
RELAY_DB=$PG_URI write_relay_conf
fleet_relay2_conf
for c in acme-prod beta; do
	write_gateway_conf "$c"
	fleet_gateway_relays "$c"
done
CONF=$T/acme-prod/porthole.conf
fleet_ssh_config
HOST=$(hostname)

# The usage records PostgreSQL holds for hour 09:00, and how many keys.
usage_rows() { pg_sql "SELECT count(*) FROM usage WHERE cluster = 'acme-prod' AND unit = 'host_units'"; }
usage_keys() { pg_sql "SELECT count(*) FROM records WHERE cluster = 'acme-prod' AND class = 'usage'"; }
# start_relay_bg NAME: start relay NAME without waiting; its pid in RELAY_PID.
start_relay_bg() {
	"$RELAY_BIN" -f "$T/$1.conf" -d >>"$T/$1.log" 2>&1 &
	RELAY_PID=$!
	PIDS="$PIDS $RELAY_PID"
}

# Both relays at once on the empty database.
start_relay_bg relay
RELAY1_PID=$RELAY_PID
start_relay_bg relay2
RELAY2_PID=$RELAY_PID
wait_for "$T/relay.log" "listening on" 20 && wait_for "$T/relay2.log" "listening on" 20 &&
    ! grep -q "error" "$T/relay.log" "$T/relay2.log" &&
    [ "$(pg_sql 'SELECT version FROM porthole_schema')" = 6 ] &&
    [ "$(pg_sql 'SELECT count(*) FROM porthole_schema')" = 1 ] &&
    [ "$(pg_sql "SELECT count(*) FROM pg_tables WHERE tablename = 'records'")" = 1 ] &&
    pass "two relays started at once on an empty database: one schema, no error" ||
    { fail "relays on an empty database: $(cat "$T/relay.log" "$T/relay2.log")"; finish; }
grep -q "store: postgresql:///porthole?host=$PG_SOCK (PostgreSQL)" "$T/relay.log" &&
    pass "the relay names its store by the URI" ||
    fail "store line: $(grep store "$T/relay.log")"

# The cluster registry: added through relay 1's command.
"$RELAY_BIN" -f "$T/relay.conf" cluster add acme-prod \
    --key "$T/acme-prod/acme-prod.key.pub" >"$T/add.out" 2>&1 &&
    grep -q "^cluster acme-prod added to the cluster registry (SHA256:" "$T/add.out" &&
    pass "cluster add puts acme-prod in the registry" ||
    fail "cluster add: $(cat "$T/add.out")"

start_gateway acme-prod
wait_count "$T/relay2.log" "cluster acme-prod online" 0 10 ||
    fail "no tunnel to relay 2"
via_both &&
    pass "an engineer reaches the registry's cluster through either relay" ||
    fail "through each relay: '$O1' '$O2' $(cat "$T/via.err")"

# Either relay's report names both relays the cluster is connected to.
for r in relay relay2; do
	"$RELAY_BIN" -f "$T/$r.conf" clusters --json >"$T/clusters-$r.json" 2>&1
done
# By name, as the report sorts them.
both=$(printf '%s\n' "$HOST:$R1" "$HOST:$R2" | LC_ALL=C sort | paste -sd, -)
want="[('acme-prod', 'registry', True, '$both')]"
[ "$(json_get "$T/clusters-relay.json" '[(c["cluster"], c["source"], c["connected"], ",".join(c["relays"])) for c in d]')" = "$want" ] &&
    [ "$(json_get "$T/clusters-relay2.json" '[(c["cluster"], c["source"], c["connected"], ",".join(c["relays"])) for c in d]')" = "$want" ] &&
    "$RELAY_BIN" -f "$T/relay2.conf" clusters | grep -q "^acme-prod .* yes .*  $both\$" &&
    pass "each relay's clusters report names both relays" ||
    fail "clusters reports: $(cat "$T/clusters-relay.json" "$T/clusters-relay2.json")"

# The relay that carries telemetry is killed while records are sent.
status_json
fleet_uplink_relay ||
    { fail "telemetry goes over no relay: '$UP'"; finish; }
fleet_kill_midway

s=$(sessions_at "$OLOG")
o=$(via "$ONAME" acme-prod)
[ "$o" = "cluster acme-prod is healthy" ] &&
    [ "$(sessions_at "$OLOG")" -eq $((s + 1)) ] &&
    pass "the engineer's next session goes through the surviving relay" ||
    fail "through the surviving relay: '$o' $(cat "$T/via.err")"

k0=$(count_lines "$KLOG" "cluster acme-prod online")
if [ "$KNAME" = relay ]; then start_relay relay; RELAY1_PID=$RELAY_PID
else start_relay relay2; RELAY2_PID=$RELAY_PID; fi
wait_count "$KLOG" "cluster acme-prod online" "$k0" 15 ||
    fail "no tunnel to the restarted relay"
i=0
while [ $i -lt 150 ] && [ "$(spool_depth acme-prod)" != "0" ]; do
	sleep 0.2; i=$((i + 1))
done
[ "$(spool_depth acme-prod)" = "0" ] && [ "$(usage_keys)" = 1000 ] &&
    [ "$(usage_rows)" = 1000 ] &&
    [ "$(pg_sql "SELECT count(DISTINCT environment) FROM usage WHERE cluster = 'acme-prod'")" = 1000 ] &&
    [ "$(pg_sql "SELECT sum(amount) FROM usage WHERE cluster = 'acme-prod'")" = 1000 ] &&
    pass "1,000 records sent across a kill -9 are each stored once in PostgreSQL" ||
    fail "spool $(spool_depth acme-prod), $(usage_keys) usage keys, $(usage_rows) usage rows"

# PostgreSQL stopped for a while.
pg_stop || fail "PostgreSQL did not stop"
usage_records 1000 200 >"$T/c.json"
"$CLI_BIN" -f "$CONF" send usage "$T/c.json" >"$T/send2.out" 2>&1
via_both &&
    pass "with PostgreSQL stopped, sessions still route through both relays" ||
    fail "sessions without the database: '$O1' '$O2' $(cat "$T/via.err")"
wait_for "$T/gateway-acme-prod.log" "the relay refused records after seq [0-9]*: the relay's database is unavailable" 10 &&
    [ "$(spool_depth acme-prod)" -ge 200 ] &&
    wait_for "$OLOG" "the database is unavailable (.*); sessions are routed meanwhile" 5 &&
    pass "the records wait in the gateway's spool, the refusal says why" ||
    fail "without the database: spool $(spool_depth acme-prod); $(tail -n 3 "$T/gateway-acme-prod.log")"
# The relay says so once, not for every call.
[ "$(grep -c "unavailable" "$OLOG")" -le 2 ] &&
    pass "the relay logs the outage once" ||
    fail "the relay logged the outage $(grep -c unavailable "$OLOG") times"
sleep 3
pg_resume || fail "PostgreSQL did not start again"
i=0
while [ $i -lt 300 ] && [ "$(spool_depth acme-prod)" != "0" ]; do
	sleep 0.2; i=$((i + 1))
done
[ "$(spool_depth acme-prod)" = "0" ] && [ "$(usage_keys)" = 1200 ] &&
    [ "$(usage_rows)" = 1200 ] &&
    grep -q "connected to the database again after" "$OLOG" &&
    pass "once PostgreSQL is back the 200 records arrive, each once" ||
    fail "after the outage: spool $(spool_depth acme-prod), $(usage_keys) keys"

# beta's gateway before beta is registered: refused by both relays.
b1=$(count_lines "$T/relay.log" "cluster beta online")
"$CLI_BIN" -f "$T/beta/porthole.conf" audit init >/dev/null 2>&1
"$GATEWAY_BIN" -f "$T/beta/porthole.conf" -d >>"$T/gateway-beta.log" 2>&1 &
PIDS="$PIDS $!"
wait_for "$T/relay.log" "login as 'beta' refused: unknown cluster 'beta'" 10 &&
    wait_for "$T/relay2.log" "login as 'beta' refused: unknown cluster 'beta'" 10 ||
    fail "an unregistered cluster was not refused"
# Added through relay 2's command: relay 1 takes it at the next login.
"$RELAY_BIN" -f "$T/relay2.conf" cluster add beta --license trial \
    --expires 2027-03-01T00:00:00Z --key "$T/beta/beta.key.pub" \
    >"$T/add2.out" 2>&1 || fail "cluster add beta: $(cat "$T/add2.out")"
wait_count "$T/relay.log" "cluster beta online" "$b1" 40 &&
    wait_for "$T/relay2.log" "cluster beta online" 10 &&
    "$RELAY_BIN" -f "$T/relay.conf" clusters | grep -q "^beta  *trial  *2027-03-01T00:00:00Z  *yes " &&
    pass "a cluster added through one relay is accepted by the other at its next login" ||
    fail "beta after cluster add: $(grep beta "$T/relay.log" | tail -n 3)"

# Removed: both relays close its tunnels, without a restart.
"$RELAY_BIN" -f "$T/relay.conf" cluster remove beta >"$T/rm.out" 2>&1 &&
    wait_for "$T/relay.log" "cluster beta offline (cluster removed from the cluster registry)" 10 &&
    wait_for "$T/relay2.log" "cluster beta offline (cluster removed from the cluster registry)" 10 &&
    pass "a cluster removed loses its tunnels on both relays" ||
    fail "cluster remove: $(cat "$T/rm.out"; grep beta "$T/relay.log" | tail -n 3)"

finish
