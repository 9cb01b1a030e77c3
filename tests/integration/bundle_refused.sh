#!/bin/sh
# A bundle the relay refuses - here over the cluster's [relay]
# bundle_quota - waits, longer after each refusal, while the bundles
# behind it go first; after 8 refusals in a row it is failed with the
# relay's words in porthole bundles, bundle show and the audit log;
# once the vendor raised the quota, porthole bundle retry sends it
# again, on record with who asked; porthole-relay bundle remove
# deletes one from the store.  With BUNDLE_PG=yes
# (bundle_refused_pg.sh) the relay's store is a PostgreSQL server
# (tests/pg_lib.sh).  SKIP (77) without the test hook that shortens the
# waits, or, for PostgreSQL, without a server.
. "$(dirname "$0")/bundle_lib.sh"

if [ "${PORTHOLE_TEST_HOOKS:-no}" != yes ]; then
	echo "SKIP: shortening the waits after a refusal needs ./configure --enable-test-hooks"
	exit 77
fi
if [ "${BUNDLE_PG:-no}" = yes ]; then
	. "$top_srcdir/tests/pg_lib.sh"
	trap 'stop_all; pg_destroy; cleanup' EXIT
	if ! pg_start; then
		echo "# no PostgreSQL server could be started here: skipped"
		exit 77
	fi
	RELAY_DB=$PG_URI
fi

FILES_ENABLED=yes
make_vendor
make_cluster acme-prod
P=$T/acme-prod/product
write_relay_conf
sed -i 's/^engineers = \*$/&\nbundle_quota = 1M/' "$T/relay.conf"
write_gateway_conf acme-prod
CONF=$T/acme-prod/porthole.conf
cat >>"$CONF" <<EOC

[bundle]
enabled = yes
paths = $P/log/*.log
approval = none
on_events = product_oom
EOC
AUDIT=$T/acme-prod/audit/audit.log
BUNDLES=$T/acme-prod/state/bundles
GWLOG=$T/gateway-acme-prod.log
mkdir -p "$P/log"
printf '2026-12-01T10:00:01Z INFO started\n' >"$P/log/product.log"
# About 2 MB that does not compress: over the 1M quota on its own.
head -c 1500000 /dev/urandom | base64 >"$P/log/big.log"
chmod 711 "$T" "$T/acme-prod"
chmod -R go+rX "$P"
start_relay
if [ "${BUNDLE_PG:-no}" = yes ]; then
	grep -q "store: .* (PostgreSQL)" "$T/relay.log" &&
	    pass "the relay's store is the PostgreSQL server" ||
	    fail "not on PostgreSQL: $(grep 'store:' "$T/relay.log")"
fi
# The first wait after a refusal 100 ms (5 s without the hook): 8
# refusals take about 13 s.
export PORTHOLE_UPLOAD_RETRY_MS=100
start_gateway acme-prod
unset PORTHOLE_UPLOAD_RETRY_MS

relay bundle request acme-prod --ticket SUP-BIG >/dev/null 2>&1 || fail "request SUP-BIG"
wait_for "$AUDIT" '"type":"bundle_requested".*"ticket":"SUP-BIG"' 15 || fail "SUP-BIG not requested"
BIG=$(requested_id '"ticket":"SUP-BIG"')
wait_for "$AUDIT" "\"type\":\"bundle_refused\".*\"bundle\":\"$BIG\".*\"refused\":\"over the cluster's bundle quota: the relay holds 0 bytes (0) of cluster acme-prod's bundles, and this one's [0-9]* bytes would pass \[relay\] bundle_quota = 1M\"" 30 &&
    pass "the relay refuses a bundle over [relay] bundle_quota, and the audit log has its words" ||
    fail "no quota refusal: $(grep "bundle_.*$BIG" "$AUDIT") / $(grep "bundle $BIG" "$T/relay.log")"
[ "$(relay bundles --json)" = "[]" ] &&
    pass "nothing of the refused bundle is stored at the relay" ||
    fail "refused, yet stored: $(relay bundles)"
porthole bundles >"$T/list.out" 2>&1
grep -q "^$BIG .* uploading (refused by the relay, tried again later)" "$T/list.out" &&
    grep -q "refused by the relay [0-9]* times*: over the cluster's bundle quota" "$T/list.out" &&
    pass "porthole bundles says the relay refuses it, and why" ||
    fail "bundles while refused: $(cat "$T/list.out")"

# The next bundle is not held back behind the refused one.
rm -f "$P/log/big.log"
relay bundle request acme-prod --ticket SUP-SMALL >/dev/null 2>&1 || fail "request SUP-SMALL"
wait_for "$AUDIT" '"type":"bundle_requested".*"ticket":"SUP-SMALL"' 15 || fail "SUP-SMALL not requested"
SMALL=$(requested_id '"ticket":"SUP-SMALL"')
wait_relay "$SMALL" 30 && [ "$(bundle_field "$BIG" state)" = ready ] &&
    pass "a later bundle goes up while the refused one waits" ||
    fail "the later bundle: $(relay bundles) / $(porthole bundles)"
fetched "$SMALL" "the later bundle"
relay bundle remove "$SMALL" >"$T/rm.out" 2>&1 &&
    grep -q "^bundle $SMALL of acme-prod removed: [0-9]* bytes$" "$T/rm.out" &&
    ! relay bundles --json | grep -q "$SMALL" &&
    pass "porthole-relay bundle remove deletes a bundle from the store" ||
    fail "bundle remove: $(cat "$T/rm.out") / $(relay bundles)"
relay bundle remove "$SMALL" >"$T/rm2.out" 2>&1; rc=$?
[ "$rc" -eq 1 ] && grep -q "bundle $SMALL is not in the store" "$T/rm2.out" &&
    pass "removing it again says it is not there" ||
    fail "remove again: rc=$rc $(cat "$T/rm2.out")"

# Refused 8 times in a row, it is failed, with the relay's words.
wait_state "$BIG" failed 40 &&
    pass "after 8 refusals in a row the bundle is failed" ||
    fail "never failed: $(porthole bundles)"
porthole bundle show "$BIG" >"$T/show.out" 2>&1
grep -q "^$BIG .* failed$" "$T/show.out" &&
    grep -q "why: the relay refused it 8 times in a row" "$T/show.out" &&
    grep -q "refused by the relay 8 times: over the cluster's bundle quota: .* bundle_quota = 1M" "$T/show.out" &&
    grep -q "porthole bundle retry $BIG sends it again" "$T/show.out" &&
    pass "porthole bundle show gives the failure, the relay's reason and how to retry" ||
    fail "bundle show: $(cat "$T/show.out")"
grep -q "\"type\":\"bundle_failed\".*\"bundle\":\"$BIG\",\"reason\":\"the relay refused it 8 times in a row\",\"relay\":\"[^\"]*\",\"refused\":\"over the cluster's bundle quota: .*\",\"refusals\":8" "$AUDIT" &&
    [ "$(count_lines "$AUDIT" "\"type\":\"bundle_refused\".*\"bundle\":\"$BIG\"")" -eq 7 ] &&
    pass "the audit log has each refusal (7) and the failure with the relay's reason" ||
    fail "audit: $(grep "bundle_\(refused\|failed\).*$BIG" "$AUDIT")"
# The waits grew: each refusal's retry_ms is twice the one before.
grep "\"type\":\"bundle_refused\".*\"bundle\":\"$BIG\"" "$AUDIT" |
    sed 's/.*"retry_ms":\([0-9]*\).*/\1/' | tr '\n' ' ' >"$T/waits"
[ "$(cat "$T/waits")" = "100 200 400 800 1600 3200 6400 " ] &&
    pass "the waits between refusals double" || fail "waits: $(cat "$T/waits")"
[ -e "$BUNDLES/$BIG.tar.gz" ] && pass "the failed bundle's archive is kept" ||
    fail "the archive is gone: $(ls "$BUNDLES")"
tried=$(count_lines "$T/relay.log" "bundle $BIG refused")
sleep 2
[ "$(count_lines "$T/relay.log" "bundle $BIG refused")" -eq "$tried" ] &&
    pass "a failed bundle is not offered to the relay again" ||
    fail "offered after failing: $(grep -c "bundle $BIG refused" "$T/relay.log")"

# Only a failed bundle is retried.
porthole bundle retry "$SMALL" >"$T/retry1.out" 2>&1; rc=$?
[ "$rc" -eq 1 ] && grep -q "bundle $SMALL is uploaded, not failed" "$T/retry1.out" &&
    pass "porthole bundle retry refuses a bundle that did not fail" ||
    fail "retry uploaded: rc=$rc $(cat "$T/retry1.out")"

# The vendor raises the quota; the customer sends it again.
sed -i 's/^bundle_quota = 1M$/bundle_quota = 64M/' "$T/relay.conf"
before=$(count_lines "$T/relay.log" "reloaded")
kill -HUP "$RELAY_PID"
wait_count "$T/relay.log" "reloaded" "$before" 10 || fail "relay reload"
SUDO_USER=mallory porthole bundle retry "$BIG" --reason "quota raised" >"$T/retry.out" 2>&1 ||
    fail "bundle retry: $(cat "$T/retry.out")"
grep "\"type\":\"bundle_retried\".*\"bundle\":\"$BIG\"" "$AUDIT" | python3 -c 'import json, sys
e = json.loads(sys.stdin.read())
e = e.get("fields", e)
a = e["actor"]
sys.exit(0 if a["uid"] == 0 and "loginuid" in a and
    a["sudo_user_claimed"] == "mallory" and e["reason"] == "quota raised" and
    e["by"].endswith("SUDO_USER mallory (claimed)") and e["refusals"] == 8 else 1)' &&
    pass "porthole bundle retry is audited with the actor and the reason" ||
    fail "bundle_retried: $(grep bundle_retried "$AUDIT")"
wait_relay "$BIG" 30 && pass "retried under the raised quota, it arrives whole" ||
    fail "retried bundle: $(relay bundles) / $(grep "bundle $BIG" "$GWLOG" | tail -3)"
fetched "$BIG" "the retried bundle"

# An archive changed on disk after it was built and audited: the relay
# finds another SHA-256 each time it has stored it all, and after the
# third the bundle fails - stored bytes between do not reset that count.
# Three pieces, so that each round stores bytes before the check.
head -c 1000000 /dev/urandom | base64 >"$P/log/mid.log"
chmod go+r "$P/log/mid.log"
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
echo '{"class":"event","type":"product_oom","ts":"2026-12-01T11:00:00Z"}' |
    porthole send event - >/dev/null 2>&1 || fail "send product_oom"
wait_for "$AUDIT" '"type":"bundle_requested".*"requested_by":"event product_oom"' 10 ||
    fail "no bundle for product_oom"
OOM=$(requested_id '"requested_by":"event product_oom"')
wait_state "$OOM" ready 30 || fail "offline bundle: $(porthole bundles)"
printf 'X' | dd of="$BUNDLES/$OOM.tar.gz" bs=1 seek=20 conv=notrunc 2>/dev/null
start_relay
wait_state "$OOM" failed 60 &&
    [ "$(bundle_field "$OOM" reason)" = "the relay found its SHA-256 different 3 times" ] &&
    grep -q "\"type\":\"bundle_failed\".*\"bundle\":\"$OOM\",\"reason\":\"the relay found its SHA-256 different 3 times\"" "$AUDIT" &&
    [ "$(count_lines "$T/relay.log" "bundle $OOM: its SHA-256 is not the one announced")" -eq 3 ] &&
    pass "a bundle whose bytes are not what was audited fails after the relay's third mismatch" ||
    fail "tampered: $(bundle_field "$OOM" state) $(grep -c "bundle $OOM: its SHA-256" "$T/relay.log")"

finish
