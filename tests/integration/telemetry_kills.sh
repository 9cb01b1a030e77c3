#!/bin/sh
# 10,000 usage records while the relay is killed and restarted several
# times (once in the middle of draining the backlog) and the gateway is
# killed with SIGKILL once: the relay's store ends with each record
# exactly once.
. "$(dirname "$0")/lib.sh"

standard_setup
CONF=$T/acme-prod/porthole.conf
relay_q() { "$RELAY_BIN" -f "$T/relay.conf" "$@"; }
depth() { spool_depth acme-prod; }
# chunk FIRST COUNT [NAME]: send usage_records FIRST COUNT NAME.
chunk() {
	usage_records "$1" "$2" "${3:-}" >"$T/chunk.json"
	out=$("$CLI_BIN" -f "$CONF" send usage "$T/chunk.json" 2>&1)
	[ "$(echo "$out" | grep -c stored)" -eq "$2" ] ||
	    fail "chunk at $1: $(echo "$out" | grep -vc stored) records not stored"
}
kill_relay() { kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null; }
restart_gateway() {
	before=$(count_lines "$T/gateway-acme-prod.log" "gateway started")
	"$GATEWAY_BIN" -f "$CONF" -d >>"$T/gateway-acme-prod.log" 2>&1 &
	echo $! >"$T/acme-prod/gateway.pid"
	PIDS="$PIDS $!"
	wait_count "$T/gateway-acme-prod.log" "gateway started" "$before" 10 ||
	    fail "gateway did not restart"
}

chunk 0 2000
kill_relay
chunk 2000 2000
start_relay
chunk 4000 2000
kill_relay
kill -9 "$(cat "$T/acme-prod/gateway.pid")"
sleep 0.3
restart_gateway
chunk 6000 2000
start_relay
sleep 0.3
kill_relay		# in the middle of draining
start_relay
wait_drained() {
	i=0
	while [ $i -lt 300 ] && [ "$(depth)" != "0" ]; do sleep 0.2; i=$((i + 1)); done
	[ "$(depth)" = "0" ]
}
chunk 8000 2000
wait_drained && pass "the spool drained" || fail "spool depth $(depth)"

relay_q usage acme-prod >"$T/usage.out" 2>&1
rows=$(grep -c "2026-11-24T09:00:00Z  *env-[0-9]*  *host_units" "$T/usage.out")
ones=$(grep -c "2026-11-24T09:00:00Z  *env-[0-9]*  *host_units  *1$" "$T/usage.out")
[ "$rows" -eq 10000 ] && [ "$ones" -eq 10000 ] &&
    pass "10,000 records at the relay, each exactly once" ||
    fail "store: $rows rows, $ones with amount 1 ($(head -3 "$T/usage.out"))"

# SIGKILL in the middle of a stream: a producer sends a record every
# millisecond and the gateway is killed a second in.  Every record it
# acknowledged survives; the producer sends the rest again, and the
# relay ends with each one, none counted twice.
python3 -c '
import sys, time
for i in range(1, 3001):
    print("{\"hour\":\"2026-11-24T09:00:00Z\",\"environment\":\"killed-%05d\",\"units\":{\"host_units\":1}}" % i)
    sys.stdout.flush()
    time.sleep(0.001)
' 2>/dev/null | "$CLI_BIN" -f "$CONF" send usage - >"$T/killed.out" 2>&1 &
producer=$!
sleep 1
kill -9 "$(cat "$T/acme-prod/gateway.pid")"
wait "$producer" 2>/dev/null
acked=$(grep -c "^record [0-9]* stored" "$T/killed.out")
[ "$acked" -gt 0 ] && [ "$acked" -lt 3000 ] ||
    fail "the kill did not land in the middle of the stream ($acked of 3000 acknowledged)"
restart_gateway
sed -n 's/^record \([0-9]*\) stored.*/\1/p' "$T/killed.out" >"$T/acked.txt"
awk 'NR == FNR { ok[$1] = 1; next } END { for (i = 1; i <= 3000; i++) if (!(i in ok))
    printf "{\"hour\":\"2026-11-24T09:00:00Z\",\"environment\":\"killed-%05d\",\"units\":{\"host_units\":1}}\n", i }' \
    "$T/acked.txt" /dev/null >"$T/resend.json"
"$CLI_BIN" -f "$CONF" send usage "$T/resend.json" >"$T/resend.out" 2>&1
[ "$(grep -c stored "$T/resend.out")" -eq $((3000 - acked)) ] ||
    fail "resending: $(grep -c stored "$T/resend.out") of $((3000 - acked)) stored"
wait_drained || fail "spool depth $(depth) after the kill"
killed() { relay_q usage acme-prod | grep -c "2026-11-24T09:00:00Z  *killed-[0-9]*  *host_units  *1$"; }
[ "$(killed)" -eq 3000 ] &&
    pass "killed mid-stream after $acked acknowledged: all 3000 records arrive, each counted once" ||
    fail "after the kill mid-stream: $(killed) of 3000 at the relay"

# A wiped state_dir gives the gateway a new spool, whose numbers start
# at 1 again - numbers the relay already holds and would drop as
# duplicates.  The gateway numbers its records after the relay's, and
# none is lost; so does a spool restored from a copy older than the
# relay's store.
arrived() { relay_q usage acme-prod | grep -c "2026-11-24T09:00:00Z  *$1-[0-9]*  *host_units  *1$"; }
SPOOL=$T/acme-prod/state/spool
stop_gateway acme-prod
cp -a "$SPOOL" "$T/spool.old"
restart_gateway
chunk 0 300 later
wait_drained || fail "spool depth $(depth) after the copy"
stop_gateway acme-prod
rm -rf "$SPOOL"
moved=$(count_lines "$T/gateway-acme-prod.log" "numbered from")
restart_gateway
chunk 0 300 wiped
wait_drained || fail "spool depth $(depth) after the wipe"
[ "$(arrived wiped)" -eq 300 ] &&
    [ "$(count_lines "$T/gateway-acme-prod.log" "numbered from")" -gt "$moved" ] &&
    pass "after state_dir was wiped, the new spool's 300 records all arrive" ||
    fail "wiped spool: $(arrived wiped) of 300 records at the relay"
stop_gateway acme-prod
rm -rf "$SPOOL"
mv "$T/spool.old" "$SPOOL"
restart_gateway
chunk 0 300 restored
wait_drained || fail "spool depth $(depth) after the restore"
[ "$(arrived restored)" -eq 300 ] && [ "$(arrived later)" -eq 300 ] &&
    [ "$(arrived env)" -eq 10000 ] &&
    pass "a spool restored from an old copy: its 300 new records all arrive" ||
    fail "restored spool: $(arrived restored) of 300 at the relay"
# The relay's database is lost: the gateway says which acknowledged
# records are gone, and what it sends next is stored, not refused.
kill_relay
rm -f "$T/relay.db" "$T/relay.db-wal" "$T/relay.db-shm"
starts_lost=$(count_lines "$T/gateway-acme-prod.log" "gateway started")
start_relay
chunk 0 100 lost
wait_drained || fail "spool depth $(depth) after the relay's database was lost"
[ "$(arrived lost)" -eq 100 ] &&
    grep -q "the relay's store has records up to seq 0 only: seq 1 to [0-9]* were acknowledged" \
    "$T/gateway-acme-prod.log" &&
    pass "a relay that lost its database: the gateway names the lost seqs, and new records arrive" ||
    fail "lost relay database: $(arrived lost) of 100 at the relay"

# The spool is bounded (test builds lower the bound): when it is full,
# the oldest health records go to make room; usage is never dropped -
# once no health is left it is refused with "spool full" - and what was
# accepted all arrives.
# The gateway again, with the spool's bound lowered (a test hook).
small_spool_gateway() {
	before=$(count_lines "$T/gateway-acme-prod.log" "gateway started")
	PORTHOLE_SPOOL_MAX=262144 "$GATEWAY_BIN" -f "$CONF" -d \
	    >>"$T/gateway-acme-prod.log" 2>&1 &
	echo $! >"$T/acme-prod/gateway.pid"
	PIDS="$PIDS $!"
	wait_count "$T/gateway-acme-prod.log" "gateway started" "$before" 10
}
if [ "${PORTHOLE_TEST_HOOKS:-no}" = yes ]; then
	kill_relay
	stop_gateway acme-prod
	small_spool_gateway
	pad=$(head -c 600 /dev/zero | tr '\0' 'p')
	awk -v pad="$pad" 'BEGIN { for (i = 0; i < 1000; i++)
	    printf "{\"ts\":\"2026-11-24T10:00:00Z\",\"n\":%d,\"pad\":\"%s\"}\n", i, pad }' \
	    >"$T/health.json"
	"$CLI_BIN" -f "$CONF" send health "$T/health.json" >"$T/h.out" 2>&1
	dropped=$("$CLI_BIN" -f "$CONF" status | sed -n 's/.* \([0-9]*\) health records dropped/\1/p')
	[ "$(grep -c stored "$T/h.out")" -eq 1000 ] && [ "${dropped:-0}" -gt 0 ] &&
	    pass "a full spool takes new health records and drops $dropped old ones" ||
	    fail "health into a full spool: $(grep -c stored "$T/h.out") stored, dropped '$dropped'"
	awk 'BEGIN { for (i = 0; i < 3000; i++)
	    printf "{\"hour\":\"2026-11-24T11:00:00Z\",\"environment\":\"full-%05d\",\"units\":{\"host_units\":1}}\n", i }' \
	    >"$T/full.json"
	"$CLI_BIN" -f "$CONF" send usage "$T/full.json" >"$T/u.out" 2>&1
	ok=$(grep -c stored "$T/u.out")
	full=$(grep -c "spool full" "$T/u.out")
	[ "$full" -gt 0 ] && [ $((ok + full)) -eq 3000 ] &&
	    pass "usage beyond the bound is refused with \"spool full\" ($ok kept, $full refused)" ||
	    fail "usage into a full spool: $ok stored, $full refused"
	# An announcement the full spool refuses is made again later, not
	# marked as made: a gateway that forgot its inventory starts into
	# the full spool, and its node_added arrives once there is room.
	stop_gateway acme-prod
	rm -f "$T/acme-prod/state/collect.json"
	printf '\n[telemetry]\nhealth_interval = 10s\n' >>"$CONF"
	announced=$(count_lines "$T/gateway-acme-prod.log" "health: node .* added")
	small_spool_gateway
	wait_count "$T/gateway-acme-prod.log" "health: node .* added" "$announced" 10 ||
	    fail "the gateway announced no node"
	tail -n 5 "$T/gateway-acme-prod.log" | grep -q "event record not spooled: spool full" ||
	    fail "the full spool did not refuse node_added"
	# Its own server_start found no room either: it is held, in memory,
	# and spooled once there is room - one per start since the relay's
	# database was lost, none lost.
	"$CLI_BIN" -f "$CONF" status | grep -q "^spool .*, 1 gateway events held until there is room" &&
	    pass "porthole status shows the server_start held for want of room" ||
	    fail "status: $("$CLI_BIN" -f "$CONF" status | grep '^spool')"
	starts=$(($(count_lines "$T/gateway-acme-prod.log" "gateway started") - starts_lost))
	start_relay
	wait_drained
	# events_reach TYPE N: wait up to 20 s for N TYPE events at the relay.
	events() { relay_q events acme-prod | grep -c "$1"; }
	events_reach() {
		i=0
		while [ $i -lt 100 ] && [ "$(events "$1")" -lt "$2" ]; do
			sleep 0.2; i=$((i + 1))
		done
		[ "$(events "$1")" -ge "$2" ]
	}
	events_reach node_added $(($(events node_added) + 1)) &&
	    pass "a node_added the full spool refused is announced again once there is room" ||
	    fail "node_added refused by the full spool never arrived"
	events_reach server_start "$starts" &&
	    pass "a server_start the full spool refused arrives once there is room ($starts starts)" ||
	    fail "$(relay_q events acme-prod | grep -c server_start) server_start events at the relay for $starts starts"
	got=$(relay_q usage acme-prod | grep -c "2026-11-24T11:00:00Z  *full-")
	[ "$got" -eq "$ok" ] && pass "every accepted usage record arrived ($got)" ||
	    fail "after the full spool: $got of $ok usage records at the relay"
else
	echo "# built without --enable-test-hooks: the spool bound is not lowered"
fi
finish
