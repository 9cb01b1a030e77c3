#!/bin/sh
# A silent partition: the relay and the gateway in network namespaces of
# their own, joined by a veth pair whose gateway end is set down - no
# reset, no error, only silence.  With keepalives of 1 s x 3 both ends
# notice within the bound: the relay lists the cluster offline and turns
# an engineer away at once, the gateway logs its tunnel down; when the
# link comes back the gateway reconnects and sessions work again.
# Needs root (namespaces, links); skipped otherwise.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
	echo "# needs root and ip(8) to make network namespaces: skipped"
	exit 77
fi
NSR=phr-$$
NSG=phg-$$
VR=phr$$
VG=phg$$
# 10.R.G.0/30 of a namespace of our own; nothing outside sees it.
NET=10.$(( $$ % 200 + 20 )).$(( ($$ / 200) % 250 + 1 ))
ADDR_R=$NET.1
ADDR_G=$NET.2
partition_cleanup() {
	stop_all
	ip netns del "$NSG" 2>/dev/null
	ip netns del "$NSR" 2>/dev/null
}
trap 'partition_cleanup; cleanup' EXIT
# Into a namespace by nsenter, not ip -n or ip netns exec: those also make
# / a slave mount, which fails where / is not a mount point (a chroot such
# as a fresh Debian root), and nothing here needs a mount namespace.
inns() { _ns=$1; shift; nsenter --net="/run/netns/$_ns" "$@"; }
if ! ip netns add "$NSR" 2>/dev/null || ! ip netns add "$NSG" 2>/dev/null ||
    ! ip link add "$VR" netns "$NSR" type veth peer name "$VG" \
    netns "$NSG" 2>/dev/null; then
	echo "# cannot make network namespaces here: skipped"
	exit 77
fi
inns "$NSR" ip addr add "$ADDR_R/30" dev "$VR" &&
    inns "$NSG" ip addr add "$ADDR_G/30" dev "$VG" &&
    inns "$NSR" ip link set lo up && inns "$NSG" ip link set lo up &&
    inns "$NSR" ip link set "$VR" up && inns "$NSG" ip link set "$VG" up ||
    { fail "cannot set up the veth pair"; finish; }

make_vendor
make_cluster acme-prod
# Short keepalives at both ends: a silent tunnel goes after 3 s.
write_relay_conf
sed -i -e "s|^listen = .*|listen = $ADDR_R:$RELAY_PORT|" \
    -e '/^\[relay\]$/a keepalive_interval = 1s' \
    -e '/^\[relay\]$/a keepalive_count = 3' "$T/relay.conf"
write_gateway_conf acme-prod
CONF=$T/acme-prod/porthole.conf
sed -i -e "s|^relay = .*|relay = $ADDR_R:$RELAY_PORT|" \
    -e '/^\[gateway\]$/a keepalive_interval = 1s' \
    -e '/^\[gateway\]$/a keepalive_count = 3' "$CONF"
write_ssh_config
sed -i "s|HostName 127.0.0.1|HostName $ADDR_R|" "$T/ssh_config"
sed -i "s|^\[127.0.0.1\]:$RELAY_PORT |[$ADDR_R]:$RELAY_PORT |" "$T/known_hosts"
"$CLI_BIN" -f "$CONF" audit init >"$T/acme-prod/audit.k0" 2>/dev/null ||
    fail "porthole audit init failed"

# The engineer and the relay on one side, the gateway on the other.
ensh() { inns "$NSR" ssh -F "$T/ssh_config" "$@" </dev/null; }
clusters() {
	"$RELAY_BIN" -f "$T/relay.conf" clusters --json 2>/dev/null |
	    python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["connected"])'
}
now_ms() { date +%s%3N; }

inns "$NSR" "$RELAY_BIN" -f "$T/relay.conf" -d >>"$T/relay.log" 2>&1 &
PIDS="$PIDS $!"
wait_for "$T/relay.log" "listening on" 10 || { fail "relay did not start"; finish; }
inns "$NSG" "$GATEWAY_BIN" -f "$CONF" -d >>"$T/gateway-acme-prod.log" 2>&1 &
PIDS="$PIDS $!"
wait_for "$T/relay.log" "cluster acme-prod online" 10 ||
    { fail "the gateway did not connect"; finish; }
out=$(ensh acme-prod status 2>&1)
[ "$out" = "cluster acme-prod is healthy" ] &&
    pass "an engineer reaches the cluster across the veth pair" ||
    fail "session before the partition: '$out'"
# Idle tunnels stay up: keepalives answered keep them so.
sleep 4
[ "$(count_lines "$T/relay.log" "cluster acme-prod offline")" -eq 0 ] &&
    [ "$(count_lines "$T/gateway-acme-prod.log" "down:")" -eq 0 ] &&
    pass "an idle tunnel outlives keepalive_interval x keepalive_count" ||
    fail "an idle tunnel was dropped"

# The partition: the gateway's end goes down; nothing says so.
r0=$(count_lines "$T/relay.log" "cluster acme-prod online")
t0=$(now_ms)
inns "$NSG" ip link set "$VG" down
wait_for "$T/relay.log" "cluster acme-prod offline (nothing heard" 10; rr=$?
tr=$(( $(now_ms) - t0 ))
wait_for "$T/gateway-acme-prod.log" "down: nothing heard from the relay" 10; rg=$?
tg=$(( $(now_ms) - t0 ))
# Silence began at most an interval before the link went down, and the
# check that sees it comes round within the next second.
[ "$rr" -eq 0 ] && [ "$tr" -le 5000 ] &&
    pass "the relay notices the silence within the bound ($tr ms)" ||
    fail "relay: noticed=$((rr == 0)) after $tr ms"
[ "$rg" -eq 0 ] && [ "$tg" -le 5000 ] &&
    pass "the gateway notices the silence within the bound ($tg ms)" ||
    fail "gateway: noticed=$((rg == 0)) after $tg ms"
[ "$(clusters)" = False ] &&
    pass "the relay lists the cluster offline" ||
    fail "the relay's clusters report: $(clusters)"
t1=$(now_ms)
out=$(ensh acme-prod status 2>&1)
t1=$(( $(now_ms) - t1 ))
echo "$out" | grep -q "porthole-relay: cluster acme-prod is offline" &&
    [ "$t1" -lt 5000 ] &&
    pass "an engineer is turned away at once, told the cluster is offline" ||
    fail "engineer during the partition ($t1 ms): $out"

# The link comes back: the gateway connects again by itself.
inns "$NSG" ip link set "$VG" up
wait_count "$T/relay.log" "cluster acme-prod online" "$r0" 40 &&
    pass "the gateway reconnects when the link is back" ||
    fail "no reconnection after the link came back"
out=$(ensh acme-prod status 2>&1)
[ "$out" = "cluster acme-prod is healthy" ] &&
    pass "sessions work again" || fail "session after the partition: '$out'"

finish
