#!/bin/sh
# The drain into PostgreSQL as a gateway and an operator see it, one
# relay, one gateway: batches of usage records go to the server whole
# (porthole-relay(8)), and what the relay acknowledged is what the
# database holds.  The relay's backend killed while a batch waits in
# the server: refused, sent again, stored once.  The database replaced
# under a live control channel (a standby promoted that had not
# received the last commits: the relay's connection drops and comes
# back to a store whose last_seq is lower than the relay acknowledged)
# is noticed at the next batch, as at a welcome: the relay refuses it
# as a gap, naming what the store has, rather than storing it past a
# hole and raising last_seq over the records the store lacks.  SKIP
# (77) when no PostgreSQL server can be started.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/pg_lib.sh"

pg_start_or_skip

make_vendor
make_cluster acme-prod
RELAY_DB=$PG_URI write_relay_conf
write_gateway_conf acme-prod
CONF=$T/acme-prod/porthole.conf
start_relay
start_gateway acme-prod
wait_for "$T/relay.log" "cluster acme-prod: control channel up" 20 ||
    { fail "no control channel: $(tail -n 5 "$T/relay.log")"; finish; }

keys() { pg_sql "SELECT count(*) FROM records WHERE cluster = 'acme-prod'"; }
last_seq() { pg_sql "SELECT last_seq FROM clusters WHERE id = 'acme-prod'"; }
drained() {
	i=0
	while [ $i -lt 150 ] && [ "$(spool_depth acme-prod)" != "0" ]; do
		sleep 0.2; i=$((i + 1))
	done
	[ "$(spool_depth acme-prod)" = "0" ]
}

usage_records 1 300 >"$T/a.json"
"$CLI_BIN" -f "$CONF" send usage "$T/a.json" >"$T/send.out" 2>&1 ||
    fail "send usage: $(cat "$T/send.out")"
# The gateway numbers its own records (health) among them.
drained && [ "$(keys)" = "$(last_seq)" ] &&
    [ "$(pg_sql "SELECT count(*) FROM records WHERE cluster = 'acme-prod' AND class = 'usage'")" = 300 ] &&
    pass "300 usage records drained into PostgreSQL, each once" ||
    fail "drain: spool $(spool_depth acme-prod), $(keys) keys, last_seq $(last_seq)"

# The relay's backend is killed while its batch waits in the server (for
# the cluster's lock, which another session holds for 3 s): the batch
# is refused as the database being away, sent again once the relay is
# connected again, and stored once.
usage_keys() { pg_sql "SELECT count(*) FROM records WHERE cluster = 'acme-prod' AND class = 'usage'"; }
pg_sql "BEGIN; SELECT 1 FROM clusters WHERE id = 'acme-prod' FOR UPDATE;
    SELECT pg_sleep(3); COMMIT" >/dev/null 2>&1 &
HOLD=$!
usage_records 301 200 >"$T/k.json"
"$CLI_BIN" -f "$CONF" send usage "$T/k.json" >"$T/sendk.out" 2>&1 ||
    fail "send usage: $(cat "$T/sendk.out")"
i=0
while [ $i -lt 100 ] && [ "$(pg_sql "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")" = 0 ]; do
	sleep 0.05; i=$((i + 1))
done
w=$(pg_sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
wait $HOLD
drained && [ "$w" -ge 1 ] && [ "$(usage_keys)" = 500 ] &&
    [ "$(pg_sql "SELECT count(*) FROM usage WHERE cluster = 'acme-prod'")" = 500 ] &&
    [ "$(keys)" = "$(last_seq)" ] &&
    grep -q "connected to the database again" "$T/relay.log" &&
    pass "a batch whose backend was killed in the server is sent again and stored once" ||
    fail "killed in the server ($w waited): spool $(spool_depth acme-prod), $(usage_keys) usage keys, $(keys) keys, last_seq $(last_seq)"
L=$(last_seq)

# The database loses its last 100 records and the relay's connection.
K=$((L - 100))
pg_sql "DELETE FROM records WHERE cluster = 'acme-prod' AND seq > $K;
    UPDATE clusters SET last_seq = $K WHERE id = 'acme-prod';
    SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
    WHERE datname = 'porthole' AND pid <> pg_backend_pid()" >/dev/null
n0=$(count_lines "$T/gateway-acme-prod.log" "refused records after seq $K: gap: the relay has up to seq $K,")
usage_records 501 100 >"$T/b.json"
"$CLI_BIN" -f "$CONF" send usage "$T/b.json" >"$T/send2.out" 2>&1 ||
    fail "send usage: $(cat "$T/send2.out")"
wait_count "$T/gateway-acme-prod.log" "refused records after seq $K: gap: the relay has up to seq $K," "$n0" 20 &&
    pass "a store that lost acknowledged records is noticed at the next batch" ||
    fail "no gap noticed: $(grep uplink "$T/gateway-acme-prod.log" | tail -n 3)"
# Whatever the gateway does next, last_seq never claims records the
# store does not have.
sleep 2
[ "$(pg_sql "SELECT count(*) FROM records WHERE cluster = 'acme-prod' AND seq <= (SELECT last_seq FROM clusters WHERE id = 'acme-prod')")" = "$(last_seq)" ] &&
    pass "last_seq is not raised over the records the store lacks" ||
    fail "last_seq $(last_seq) over $(keys) records"

finish
