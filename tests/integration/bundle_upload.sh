#!/bin/sh
# Support bundles on their way up: a 20 MiB bundle whose relay is
# killed (kill -9) midway goes on, once the relay is back, from the
# bytes its store holds and arrives whole; one built while the tunnel
# is down goes up once it is back; and a relay that lies about what it
# stored - bytes it was never sent, a bundle whole before its end, an
# offset past the end - is refused: the gateway drops the channel and
# keeps the bundle until an honest relay confirms it whole.
. "$(dirname "$0")/bundle_lib.sh"

if [ "${PORTHOLE_TEST_HOOKS:-no}" != yes ]; then
	echo "SKIP: pacing the upload and a lying relay need ./configure --enable-test-hooks"
	exit 77
fi

FILES_ENABLED=yes
make_vendor
make_cluster acme-prod
P=$T/acme-prod/product
write_relay_conf
write_gateway_conf acme-prod
CONF=$T/acme-prod/porthole.conf
cat >>"$CONF" <<EOC

[redact]
pattern.secret = (password|secret|token) *[=:] *[^ ]+

[bundle]
enabled = yes
paths = $P/log/*.log
approval = none
on_events = product_oom
EOC
write_ssh_config
AUDIT=$T/acme-prod/audit/audit.log
BUNDLES=$T/acme-prod/state/bundles
GWLOG=$T/gateway-acme-prod.log
mkdir -p "$P/log"
printf '2026-12-01T10:00:01Z INFO db connect password = hunter2 pool=8\n' >"$P/log/product.log"
chmod 711 "$T" "$T/acme-prod"
chmod -R go+rX "$P"
start_relay
# A piece every 200 ms: slow enough to stop the relay midway.
export PORTHOLE_UPLOAD_PACE_MS=200
start_gateway acme-prod
unset PORTHOLE_UPLOAD_PACE_MS

# restart_relay [LIE]: the relay again, lying as PORTHOLE_TEST_BUNDLE_ACK
# says (mc.c), or honest.
restart_relay() {
	kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
	if [ -n "${1:-}" ]; then
		export PORTHOLE_TEST_BUNDLE_ACK="$1"
	else
		unset PORTHOLE_TEST_BUNDLE_ACK
	fi
	start_relay
	unset PORTHOLE_TEST_BUNDLE_ACK
}
# big_log NAME BYTES: a log of random text, BYTES before base64.
big_log() {
	head -c "$2" /dev/urandom | base64 >"$P/log/$1"
	chmod go+r "$P/log/$1"
}

# A relay that lies is refused, each way, and nothing is lost.
big_log mid.log 1500000
restart_relay ahead
relay bundle request acme-prod --ticket SUP-LIE >/dev/null 2>&1 || fail "request SUP-LIE"
wait_for "$AUDIT" '"type":"bundle_requested".*"ticket":"SUP-LIE"' 15 || fail "SUP-LIE not requested"
LIE=$(requested_id '"ticket":"SUP-LIE"')
wait_for "$GWLOG" "protocol error: relay .*: bundle $LIE: a bundle_ack at byte [0-9]* for the piece that ends at [0-9]*, refused" 30 &&
    pass "an ack for bytes the gateway never sent is refused" ||
    fail "ahead: $(grep "bundle $LIE" "$GWLOG")"
restart_relay done
wait_for "$GWLOG" "protocol error: relay .*: bundle $LIE: a bundle_ack that says it is whole at byte [0-9]* of [0-9]*, refused" 30 &&
    pass "an ack that says the bundle is whole before its last piece is refused" ||
    fail "done: $(grep "bundle $LIE" "$GWLOG")"
restart_relay past
wait_for "$GWLOG" "protocol error: relay .*: bundle $LIE: a bundle_ack at byte [0-9]*, past its [0-9]* bytes, refused" 30 &&
    pass "an ack past the bundle's end is refused" ||
    fail "past: $(grep "bundle $LIE" "$GWLOG")"
[ "$(bundle_field "$LIE" state)" = ready ] && [ -e "$BUNDLES/$LIE.tar.gz" ] &&
    ! grep -q "\"type\":\"bundle_uploaded\".*\"bundle\":\"$LIE\"" "$AUDIT" &&
    pass "the lying relays got nothing confirmed: the bundle is kept, ready to go" ||
    fail "after the lies: $(bundle_field "$LIE" state) $(ls "$BUNDLES")"
restart_relay
wait_relay "$LIE" 30 && pass "an honest relay then gets it whole" ||
    fail "SUP-LIE at the relay: $(relay bundles)"
fetched "$LIE" "the bundle the liars had"
rm -f "$P/log/mid.log"

# A 20 MiB bundle survives a relay killed midway: the upload goes on
# from the bytes the relay's store holds.
big_log big.log 15000000
relay bundle request acme-prod --ticket SUP-BIG >/dev/null 2>&1 || fail "request SUP-BIG"
wait_for "$AUDIT" '"type":"bundle_requested".*"ticket":"SUP-BIG"' 15 || fail "SUP-BIG not requested"
BIG=$(requested_id '"ticket":"SUP-BIG"')
received() { sqlite3 "$T/relay.db" "SELECT received FROM bundles WHERE id = '$BIG'" 2>/dev/null; }
n=0 got=0
while [ "$n" -lt 600 ] && [ "$got" -lt 3000000 ]; do
	sleep 0.1; n=$((n + 1)); got=$(received); got=${got:-0}
done
kill -9 "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
size=$(bundle_field "$BIG" size)
[ "${size:-0}" -gt 10000000 ] && [ "${got:-0}" -ge 3000000 ] && [ "${got:-0}" -lt "$size" ] &&
    pass "the relay is killed (kill -9) with $got of $size bytes stored" ||
    fail "relay killed at ${got:-none} of ${size:-?} bytes"
start_relay
wait_relay "$BIG" 60 && pass "after the relay's restart the 20 MiB bundle arrives whole" ||
    fail "big bundle: $(relay bundles) / $(grep "bundle $BIG" "$GWLOG" | tail -3)"
resumed=$(sed -n "s/.*bundle $BIG: uploading to relay .* from byte \([0-9]*\) of.*/\1/p" "$GWLOG" | tail -1)
[ "${resumed:-0}" -ge "$got" ] &&
    pass "the upload went on from the relay's stored offset ($resumed), not from the start" ||
    fail "no resumed upload: $(grep "bundle $BIG" "$GWLOG")"
fetched "$BIG" "the 20 MiB bundle"
rm -f "$P/log/big.log"

# Gathered while the tunnel is down: built, kept, uploaded once it is up.
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
echo '{"class":"event","type":"product_oom","ts":"2026-12-01T11:00:00Z"}' |
    porthole send event - >/dev/null 2>&1 || fail "send product_oom"
wait_for "$AUDIT" '"type":"bundle_requested".*"requested_by":"event product_oom"' 10 ||
    fail "no bundle for product_oom"
OOM=$(requested_id '"requested_by":"event product_oom"')
wait_state "$OOM" ready 30 &&
    pass "with the tunnel down a bundle is built and waits to go" ||
    fail "offline bundle: $(porthole bundles)"
start_relay
wait_relay "$OOM" 30 && pass "once the tunnel is back it arrives at the relay" ||
    fail "offline bundle never arrived: $(relay bundles)"
fetched "$OOM" "the bundle gathered offline"

finish
