#!/bin/sh
# A software update end to end, as the vendor and the customer see it:
# the vendor signs a notice offline with ssh-keygen and publishes it on
# the relay; the gateway checks it, tells the admins (notify_command),
# fetches the package and schedules it in the first window 24 hours
# later; restarted with its clock just before that window, it runs
# update_command on a checked copy, and both `porthole updates` and
# the relay say installed.  A replay of the same notice is refused
# afterwards, and a window missed while the gateway is down moves to
# the next one.
. "$(dirname "$0")/updates_lib.sh"

if [ "${PORTHOLE_TEST_HOOKS:-no}" != yes ]; then
	echo "SKIP: moving the gateway's clock needs ./configure --enable-test-hooks"
	exit 77
fi

# The window: ten minutes from now, local time, every day.
WINDOW="daily $(date -d @$(( $(date +%s) + 600 )) +%H:%M)"
update_setup
make_package "$T/product-1.3.0.tar" 1600
make_notice "$T/n130.json" 1.3.0 "$T/product-1.3.0.tar"
sign "$T/n130.json"
publish "$T/n130.json" "$T/product-1.3.0.tar" &&
    grep -q "update 1.3.0 published as message [0-9]* for every cluster" "$T/publish.out" &&
    pass "the vendor publishes 1.3.0 on the relay" || fail "publish: $(cat "$T/publish.out")"

wait_for "$T/notified" "^1.3.0 " 20 && pass "the admins are notified (notify_command)" ||
    fail "notify_command did not run"
wait_ufield acme-prod 1.3.0 state scheduled 20 && pass "1.3.0 is scheduled" ||
    fail "state: $(ufield acme-prod 1.3.0 state)"
when=$(ufield acme-prod 1.3.0 when)
told=$(cut -d' ' -f2 "$T/notified" | head -1)
notified=$(ufield acme-prod 1.3.0 notified)
[ "$when" = "$told" ] && pass "the admins were told the time it runs: $when" ||
    fail "told $told, scheduled $when"
[ $(( $(epoch "$when") - $(epoch "$notified") )) -ge 86400 ] &&
    pass "at least 24 hours after they were told" || fail "notified $notified, runs $when"
[ "$(date -d "$when" +%H:%M)" = "${WINDOW#daily }" ] &&
    pass "in the customer's window (${WINDOW#daily }, local time)" ||
    fail "$when is not in the window $WINDOW"
grep -q "Fixes and improvements." "$T/notified.notes" &&
    pass "the vendor's notes reach notify_command" || fail "notes: $(cat "$T/notified.notes")"
wait_ufield acme-prod 1.3.0 package downloaded 30 && pass "the package is fetched" ||
    fail "package: $(ufield acme-prod 1.3.0 package)"
cmp -s "$T/product-1.3.0.tar" "$T/acme-prod/state/updates/$(sha256sum "$T/product-1.3.0.tar" | cut -d' ' -f1).pkg" &&
    pass "byte for byte" || fail "the fetched package differs"
"$CLI_BIN" -f "$T/acme-prod/porthole.conf" status >"$T/status.out" 2>&1
grep -q "^next update    1.3.0 at $when" "$T/status.out" &&
    pass "porthole status shows the next update" || fail "status: $(cat "$T/status.out")"
[ ! -f "$T/upgraded" ] && pass "nothing is installed before the window" || fail "installed early"
audit_has acme-prod '"type":"update_announced"' '"version":"1.3.0"' &&
    audit_has acme-prod '"type":"update_scheduled"' '"version":"1.3.0"' &&
    pass "announced and scheduled are audited" || fail "audit: no update_announced/scheduled"

# The gateway restarted five seconds before the window.
stop_gateway acme-prod
off=$(( $(epoch "$when") - $(date +%s) - 5 ))
export PORTHOLE_CLOCK_OFFSET=$off
start_gateway acme-prod
unset PORTHOLE_CLOCK_OFFSET
wait_for "$T/upgraded" "1.3.0" 30 && pass "update_command runs in the window" ||
    fail "update_command did not run"
set -- $(cat "$T/upgraded")
copy=$T/acme-prod/state/updates/install/1.3.0.pkg
[ "$1" = "$copy" ] && [ "$2" = 1.3.0 ] && [ "$3" = "$copy" ] && [ "$4" = 1.3.0 ] &&
    pass "with {package}, {version} and PORTHOLE_UPDATE_PACKAGE/_VERSION" ||
    fail "update_command got: $*"
[ "$5" = "$(sha256sum "$T/product-1.3.0.tar" | cut -d' ' -f1)" ] && [ "$6 $7" = "600 0" ] &&
    pass "on a copy only root can read or write, the package's bytes" ||
    fail "the copy: sha $5, mode/owner $6 $7"
[ "$(stat -c %a "$T/acme-prod/state/updates/install")" = 700 ] &&
    pass "in a directory of mode 0700" || fail "install dir mode"
wait_ufield acme-prod 1.3.0 state installed 20 && pass "porthole updates says installed" ||
    fail "state: $(ufield acme-prod 1.3.0 state)"
[ ! -e "$copy" ] && [ ! -e "$T/acme-prod/state/updates/$5.pkg" ] &&
    pass "the package and its copy are removed once installed" || fail "left behind: $(ls "$T/acme-prod/state/updates" "$T/acme-prod/state/updates/install")"
[ "$(uj acme-prod | jq -r .installed)" = 1.3.0 ] &&
    pass "1.3.0 is the installed version now" || fail "installed: $(uj acme-prod | jq -r .installed)"
logsha=$(sha256sum "$T/acme-prod/state/updates/1.3.0.log" | cut -d' ' -f1)
grep -q "upgrading to 1.3.0" "$T/acme-prod/state/updates/1.3.0.log" &&
    audit_has acme-prod '"type":"update_installed"' "\"log_sha256\":\"$logsha\"" &&
    pass "its output is kept, and its SHA-256 is in the audit log" ||
    fail "log or its hash missing"
audit_has acme-prod '"type":"update_started"' '"version":"1.3.0"' &&
    pass "update_started is audited" || fail "no update_started"
n=0
while [ $n -lt 50 ] && ! "$RELAY_BIN" -f "$T/relay.conf" events acme-prod 2>/dev/null |
    grep -q update_installed; do sleep 0.2; n=$((n + 1)); done
"$RELAY_BIN" -f "$T/relay.conf" events acme-prod >"$T/events.out" 2>&1
for e in update_announced update_scheduled update_started update_installed; do
	grep -q "$e" "$T/events.out" || fail "the relay has no $e event"
done
pass "the events reach the relay as telemetry"
"$RELAY_BIN" -f "$T/relay.conf" updates --json >"$T/rupdates.json" 2>&1
[ "$(jq -r '.[] | select(.cluster == "acme-prod") | .state' "$T/rupdates.json")" = installed ] &&
    [ "$(jq -r '.[] | select(.cluster == "acme-prod") | .version' "$T/rupdates.json")" = 1.3.0 ] &&
    pass "porthole-relay updates says installed" || fail "relay updates: $(cat "$T/rupdates.json")"

# The same notice again (a relay replaying it): not newer than 1.3.0.
sign "$T/n130.json"
publish "$T/n130.json" "$T/product-1.3.0.tar" || fail "publish again: $(cat "$T/publish.out")"
n=0
while [ $n -lt 50 ] && ! audit_has acme-prod '"type":"update_refused"' 'not newer than the installed 1.3.0'; do
	sleep 0.2; n=$((n + 1))
done
audit_has acme-prod '"type":"update_refused"' 'not newer than the installed 1.3.0' &&
    pass "a replayed notice is refused and audited" || fail "replay not refused"
[ "$(grep -c 1.3.0 "$T/upgraded")" -eq 1 ] && pass "and nothing runs twice" || fail "ran twice"
"$RELAY_BIN" -f "$T/relay.conf" updates >"$T/rupdates.txt" 2>&1
grep -q "^acme-prod  1.3.0    installed .*a notice offered again was refused: version 1.3.0 is not newer than the installed 1.3.0" "$T/rupdates.txt" &&
    pass "the relay still shows 1.3.0 installed, and the replay refused" || fail "relay: $(cat "$T/rupdates.txt")"

# 1.4.0 announced; its window missed while the gateway is down: the
# next window, never earlier.
make_package "$T/product-1.4.0.tar" 100
make_notice "$T/n140.json" 1.4.0 "$T/product-1.4.0.tar"
sign "$T/n140.json"
publish "$T/n140.json" "$T/product-1.4.0.tar" || fail "publish 1.4.0"
wait_ufield acme-prod 1.4.0 state scheduled 20 || fail "1.4.0 not scheduled"
wait_ufield acme-prod 1.4.0 package downloaded 20 || fail "1.4.0 not fetched"
w1=$(ufield acme-prod 1.4.0 when)
stop_gateway acme-prod
export PORTHOLE_CLOCK_OFFSET=$(( $(epoch "$w1") - $(date +%s) + 7200 ))
start_gateway acme-prod
unset PORTHOLE_CLOCK_OFFSET
n=0
while [ $n -lt 50 ] && [ "$(ufield acme-prod 1.4.0 when)" = "$w1" ]; do sleep 0.2; n=$((n + 1)); done
w2=$(ufield acme-prod 1.4.0 when)
[ "$(ufield acme-prod 1.4.0 state)" = scheduled ] && [ $(( $(epoch "$w2") - $(epoch "$w1") )) -ge 82800 ] &&
    [ "$(date -d "$w2" +%H:%M)" = "${WINDOW#daily }" ] &&
    pass "a missed window moves to the next one ($w1 -> $w2)" ||
    fail "after a missed window: $(ufield acme-prod 1.4.0 state) $w2"
audit_has acme-prod '"type":"update_scheduled"' '"version":"1.4.0"' 'was missed' &&
    pass "and that is audited" || fail "no audit of the missed window"
! grep -q 1.4.0 "$T/upgraded" && pass "1.4.0 did not run late" || fail "1.4.0 ran outside its window"
"$CLI_BIN" audit verify --key "$(cat "$T/acme-prod/audit.k0")" "$T/acme-prod/audit" >/dev/null 2>&1 &&
    pass "the audit log verifies" || fail "audit verify"
finish
