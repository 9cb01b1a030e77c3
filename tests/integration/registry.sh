#!/bin/sh
# The cluster registry on one relay with its SQLite store: a cluster
# added with `porthole-relay cluster add` (no [cluster] section) logs in
# and is answered the registry's license; relay.conf's section for the
# same cluster and key takes over its license at a reload and keeps the
# tunnel; relay.conf naming a cluster with another key than the
# registry's refuses it, and cluster add refuses to make that
# disagreement; a cluster removed loses its tunnel at once; the registry
# outlives a restart of the relay.
. "$(dirname "$0")/lib.sh"

make_vendor
make_cluster acme-prod
make_cluster beta
: >"$T/relay_clusters.conf"
write_relay_conf
cp "$T/relay.conf" "$T/relay-base.conf"
write_gateway_conf acme-prod
write_gateway_conf beta
write_ssh_config
start_relay
RLOG=$T/relay.log
R() { "$RELAY_BIN" -f "$T/relay.conf" "$@"; }
reload() {
	n=$(count_lines "$RLOG" "reloaded:")
	kill -HUP "$RELAY_PID"
	wait_count "$RLOG" "reloaded:" "$n" 5 || fail "no reload: $(tail -n 3 "$RLOG")"
}

R cluster add acme-prod --key "$T/acme-prod/acme-prod.key.pub" \
    --license trial --expires 2027-06-30T00:00:00Z >"$T/add.out" 2>&1 ||
    fail "cluster add: $(cat "$T/add.out")"
start_gateway acme-prod
out=$(essh acme-prod status 2>&1)
# The gateway asks for its license once its control channel is up.
i=0
while [ $i -lt 50 ] && ! "$CLI_BIN" -f "$T/acme-prod/porthole.conf" status |
    grep -q "^license  *trial, expires 2027-06-30T00:00:00Z"; do
	sleep 0.2; i=$((i + 1))
done
[ "$out" = "cluster acme-prod is healthy" ] && [ $i -lt 50 ] &&
    pass "a cluster from the registry logs in and is answered its license" ||
    fail "registry cluster: '$out' $("$CLI_BIN" -f "$T/acme-prod/porthole.conf" status | grep license)"

# relay.conf names it too, same key, another license: relay.conf's.
cp "$T/relay-base.conf" "$T/relay.conf"
cat >>"$T/relay.conf" <<EOC

[cluster acme-prod]
key = $T/acme-prod/acme-prod.key.pub
license = full
EOC
reload
R clusters --json >"$T/c.json"
! grep -q "cluster acme-prod offline" "$RLOG" &&
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if [(c["cluster"], c["source"], c["license"], c["connected"]) for c in d] == [("acme-prod", "relay.conf", "full", True)] else 1)' "$T/c.json" &&
    pass "relay.conf's section for the same key takes over, the tunnel stays" ||
    fail "relay.conf and registry, same key: $(cat "$T/c.json")"

# beta in the registry, and relay.conf giving beta another key.
R cluster add beta --key "$T/beta/beta.key.pub" >"$T/add2.out" 2>&1 ||
    fail "cluster add beta: $(cat "$T/add2.out")"
cat >>"$T/relay.conf" <<EOC

[cluster beta]
key = $T/acme-prod/acme-prod.key.pub
EOC
reload
start_gateway_bg() {
	"$CLI_BIN" -f "$T/$1/porthole.conf" audit init >/dev/null 2>&1
	"$GATEWAY_BIN" -f "$T/$1/porthole.conf" -d >>"$T/gateway-$1.log" 2>&1 &
	echo $! >"$T/$1/gateway.pid"
	PIDS="$PIDS $!"
}
start_gateway_bg beta
wait_for "$RLOG" "login as 'beta' refused: cluster 'beta' has one key in relay.conf (line [0-9]*) and another in the cluster registry: refused until they agree" 10 &&
    ! grep -q "cluster beta online" "$RLOG" &&
    pass "relay.conf and the registry disagreeing on a key refuse the cluster" ||
    fail "the disagreement: $(grep beta "$RLOG" | tail -n 3)"
R cluster add beta --replace --key "$T/beta/beta.key.pub" >"$T/add3.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] &&
    grep -q "relay.conf:[0-9]*: \[cluster beta\] has another key" "$T/add3.out" &&
    pass "cluster add refuses to disagree with this relay's relay.conf" ||
    fail "cluster add against relay.conf: rc=$rc $(cat "$T/add3.out")"

# relay.conf's beta goes: the registry's key lets beta in.
sed -i '/^\[cluster beta\]/,$d' "$T/relay.conf"
b=$(count_lines "$RLOG" "cluster beta online")
reload
wait_count "$RLOG" "cluster beta online" "$b" 40 &&
    pass "once they agree the gateway's next login is let in" ||
    fail "beta not let in: $(grep beta "$RLOG" | tail -n 3)"

# The registry survives a restart of the relay.
kill "$RELAY_PID"
wait "$RELAY_PID" 2>/dev/null
b=$(count_lines "$RLOG" "cluster beta online")
start_relay
wait_count "$RLOG" "cluster beta online" "$b" 40 &&
    pass "after a restart the registry's cluster logs in again" ||
    fail "beta after a restart: $(grep beta "$RLOG" | tail -n 3)"

# Removed: its tunnel closes at once, and it cannot log in again.
R cluster remove beta >"$T/rm.out" 2>&1 &&
    wait_for "$RLOG" "cluster beta offline (cluster removed from the cluster registry)" 10 &&
    wait_for "$RLOG" "login as 'beta' refused: unknown cluster 'beta'" 40 &&
    pass "a cluster removed loses its tunnel and is refused" ||
    fail "cluster remove: $(cat "$T/rm.out"; grep beta "$RLOG" | tail -n 3)"
R cluster remove beta >"$T/rm2.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q "no cluster 'beta' in the cluster registry" "$T/rm2.out" &&
    pass "removing it again is refused" || fail "second remove: rc=$rc $(cat "$T/rm2.out")"

finish
