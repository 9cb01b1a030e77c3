#!/bin/sh
# Support bundles in a fleet of two relays on one PostgreSQL store
# (tests/pg_lib.sh): the vendor asks through relay 2's command; the
# bundle goes up through whichever relay carries the gateway's control
# channel, which is killed (kill -9) midway; the gateway moves to the
# other relay, which goes on from the bytes the shared store holds; the
# bundle arrives whole, and either relay's bundle get writes it, with the
# SHA-256 of the audit log.  SKIP (77) without PostgreSQL or the test
# hooks that pace the upload.
. "$(dirname "$0")/bundle_lib.sh"
. "$top_srcdir/tests/pg_lib.sh"

if [ "${PORTHOLE_TEST_HOOKS:-no}" != yes ]; then
	echo "SKIP: pacing the upload needs ./configure --enable-test-hooks"
	exit 77
fi
pg_start_or_skip

FILES_ENABLED=yes
make_vendor
make_cluster acme-prod
P=$T/acme-prod/product
RELAY_DB=$PG_URI write_relay_conf
fleet_relay2_conf
write_gateway_conf acme-prod
fleet_gateway_relays acme-prod
CONF=$T/acme-prod/porthole.conf
cat >>"$CONF" <<EOC

[bundle]
enabled = yes
paths = $P/log/*.log
approval = none
EOC
AUDIT=$T/acme-prod/audit/audit.log
BUNDLES=$T/acme-prod/state/bundles
GWLOG=$T/gateway-acme-prod.log
mkdir -p "$P/log"
head -c 6000000 /dev/urandom | base64 >"$P/log/big.log"
chmod 711 "$T" "$T/acme-prod"
chmod -R go+rX "$P"

start_relay
RELAY1_PID=$RELAY_PID
start_relay relay2
RELAY2_PID=$RELAY_PID
export PORTHOLE_UPLOAD_PACE_MS=200
start_gateway acme-prod
unset PORTHOLE_UPLOAD_PACE_MS
wait_count "$T/relay2.log" "cluster acme-prod online" 0 10 ||
    fail "no tunnel to relay 2"

"$RELAY_BIN" -f "$T/relay2.conf" bundle request acme-prod --ticket SUP-FLEET \
    >"$T/req.out" 2>&1 || fail "bundle request: $(cat "$T/req.out")"
wait_for "$AUDIT" '"type":"bundle_requested".*"ticket":"SUP-FLEET"' 15 ||
    fail "SUP-FLEET not requested"
ID=$(requested_id '"ticket":"SUP-FLEET"')
received() { pg_sql "SELECT received FROM bundles WHERE id = '$ID'"; }
n=0 got=0
while [ "$n" -lt 600 ] && [ "$got" -lt 1500000 ]; do
	sleep 0.1; n=$((n + 1)); got=$(received); got=${got:-0}
done
# The relay the upload goes through.
up=$(sed -n "s/.*bundle $ID: uploading to relay \([0-9.:]*\) from byte 0 .*/\1/p" "$GWLOG" | tail -1)
case $up in
"127.0.0.1:$R1") kill -9 "$RELAY1_PID"; wait "$RELAY1_PID" 2>/dev/null; other=127.0.0.1:$R2 ;;
"127.0.0.1:$R2") kill -9 "$RELAY2_PID"; wait "$RELAY2_PID" 2>/dev/null; other=127.0.0.1:$R1 ;;
*) fail "no upload began: $(grep "bundle $ID" "$GWLOG")"; finish ;;
esac
size=$(bundle_field "$ID" size)
[ "$got" -ge 1500000 ] && [ "$got" -lt "${size:-0}" ] &&
    pass "the relay carrying the upload is killed (kill -9) with $got of $size bytes in the store" ||
    fail "killed at $got of ${size:-?} bytes"
wait_for "$AUDIT" "\"type\":\"bundle_uploaded\".*\"bundle\":\"$ID\".*\"relay\":\"$other\"" 60 &&
    pass "the other relay takes the upload over and confirms the bundle whole" ||
    fail "not uploaded through $other: $(grep "bundle $ID" "$GWLOG" | tail -4)"
resumed=$(sed -n "s/.*bundle $ID: uploading to relay $other from byte \([0-9]*\) of.*/\1/p" "$GWLOG" | tail -1)
[ "${resumed:-0}" -ge "$got" ] &&
    pass "it went on from the shared store's offset ($resumed), not from the start" ||
    fail "resumed at ${resumed:-none}, $got were stored"
[ "$(pg_sql "SELECT count(*) FROM bundle_chunks WHERE bundle = '$ID'")" -gt 1 ] &&
    [ "$(pg_sql "SELECT completed > 0 FROM bundles WHERE id = '$ID'")" = t ] &&
    pass "PostgreSQL holds it in chunks, complete" ||
    fail "in PostgreSQL: $(pg_sql "SELECT received, completed FROM bundles")"

# Both relays' configurations serve it; the one killed need not run.
for r in relay relay2; do
	relay() { "$RELAY_BIN" -f "$T/$r.conf" "$@"; }
	fetched "$ID" "bundle get with $r.conf"
done

finish
