#!/bin/sh
# What the gateway refuses, and how an admin moves or runs an update.
# Refused and audited: a notice signed by another key, for another
# namespace, changed after it was signed, for a version not newer than
# the installed one, expired, with an over-long or unprintable field,
# every notice at a gateway without vendor_key, and a package the
# relay changed; the relay is told why.  A gateway that was offline
# gets what was published meanwhile.  reschedule keeps to its bounds
# and tells the admins again; run-now installs at once.
. "$(dirname "$0")/updates_lib.sh"

make_vendor
make_cluster acme-prod
make_cluster beta
make_update_key
make_update_key other_key
write_relay_conf
write_gateway_conf acme-prod
write_gateway_conf beta
write_update_scripts
updates_section acme-prod
NO_VENDOR_KEY=1 updates_section beta
start_relay
start_gateway acme-prod
start_gateway beta
DB=$T/relay.db

# answer CLUSTER VERSION: the relay's view of that version at CLUSTER.
answer() {
	"$RELAY_BIN" -f "$T/relay.conf" updates --json 2>/dev/null |
	    jq -r --arg c "$1" --arg v "$2" \
	    '.[] | select(.cluster == $c and .version == $v) | "\(.state): \(.detail)"'
}
# wait_answer CLUSTER VERSION PATTERN
wait_answer() {
	n=75
	while [ $n -gt 0 ]; do
		answer "$1" "$2" | grep -q -- "$3" && return 0
		sleep 0.2; n=$((n - 1))
	done
	return 1
}
# refused WHAT VERSION PATTERN: acme-prod refused it, audited, relay told.
refused() {
	wait_answer acme-prod "$2" "^refused: .*$3" &&
	    audit_has acme-prod '"type":"update_refused"' "$3" &&
	    pass "$1 is refused, audited and the relay told why" ||
	    fail "$1: relay says '$(answer acme-prod "$2")'"
}

make_package "$T/pkg" 64

# Signed by a key the customer did not pin.
make_notice "$T/n1.json" 1.3.1 "$T/pkg"
sign "$T/n1.json" other_key
publish "$T/n1.json" "$T/pkg" || fail "publish: $(cat "$T/publish.out")"
refused "a notice signed by another key" 1.3.1 "bad signature: signed by another key"
wait_answer beta 1.3.1 "^refused: no vendor_key" &&
    audit_has beta '"type":"update_refused"' 'no vendor_key' &&
    pass "without vendor_key every notice is refused" || fail "beta: $(answer beta 1.3.1)"

# Signed for another purpose with the right key.
make_notice "$T/n2.json" 1.3.2 "$T/pkg"
sign "$T/n2.json" update_key file
publish "$T/n2.json" "$T/pkg" || fail "publish: $(cat "$T/publish.out")"
refused "a notice signed for another namespace" 1.3.2 "namespace is 'file', not 'porthole-update'"

# Changed after it was signed: a relay raising the size.
make_notice "$T/n3.json" 1.3.3 "$T/pkg"
sign "$T/n3.json"
sed -i 's/Fixes and improvements/Fixes and improvements!/' "$T/n3.json"
publish "$T/n3.json" "$T/pkg" || fail "publish: $(cat "$T/publish.out")"
refused "a notice changed after signing" 1.3.3 "signature does not match"

# Older than what version_command says is installed (1.2.0).
make_notice "$T/n4.json" 1.1.9 "$T/pkg"
sign "$T/n4.json"
publish "$T/n4.json" "$T/pkg" || fail "publish: $(cat "$T/publish.out")"
refused "a notice for an older version" 1.1.9 "not newer than the installed 1.2.0"

# Fields the relay would not publish, put in its store by hand: the
# gateway checks them itself.
inject() {
	jq -cn --rawfile n "$1" --rawfile s "$1.sig" '{notice: $n, signature: $s}' >"$T/body.json"
	sqlite3 "$DB" "INSERT INTO messages (cluster, kind, body, created) VALUES (NULL, 'update_notice', readfile('$T/body.json'), 0)"
}
long=$(head -c 5000 /dev/zero | tr '\0' x)
make_notice "$T/n5.json" 1.3.5 "$T/pkg" 2592000 "$long"
sign "$T/n5.json"
publish "$T/n5.json" "$T/pkg" && fail "the relay published notes of 5000 bytes" ||
    { grep -q 'notes" of 5000 bytes' "$T/publish.out" &&
    pass "the relay refuses to publish an over-long field" || fail "publish: $(cat "$T/publish.out")"; }
inject "$T/n5.json"
n=0
while [ $n -lt 50 ] && ! audit_has acme-prod '"type":"update_refused"' 'notes\\" of 5000 bytes'; do sleep 0.2; n=$((n + 1)); done
audit_has acme-prod '"type":"update_refused"' 'notes\\" of 5000 bytes' &&
    pass "the gateway refuses an over-long field itself" || fail "over-long notes not refused"
make_notice "$T/n6.json" 1.3.6 "$T/pkg" 2592000 'look \u001b]0;pwned\u0007 here'
sign "$T/n6.json"
inject "$T/n6.json"
n=0
while [ $n -lt 50 ] && ! audit_has acme-prod '"type":"update_refused"' 'hold a control character'; do sleep 0.2; n=$((n + 1)); done
audit_has acme-prod '"type":"update_refused"' 'hold a control character' &&
    pass "notes holding terminal controls are refused" || fail "control characters in notes"

# Published while acme-prod is offline: an expired notice, and a good
# one whose package the relay then changes in its store.
stop_gateway acme-prod
make_notice "$T/n7.json" 1.3.7 "$T/pkg" 3
sign "$T/n7.json"
publish "$T/n7.json" "$T/pkg" || fail "publish: $(cat "$T/publish.out")"
make_package "$T/pkg8" 1200
make_notice "$T/n8.json" 1.3.8 "$T/pkg8"
sign "$T/n8.json"
publish "$T/n8.json" "$T/pkg8" || fail "publish: $(cat "$T/publish.out")"
sha8=$(sha256sum "$T/pkg8" | cut -d' ' -f1)
sqlite3 "$DB" "UPDATE package_chunks SET data = zeroblob(length(data)) WHERE sha256 = '$sha8' AND \"offset\" = 0"
[ "$(answer acme-prod 1.3.8)" = "not offered yet: " ] &&
    pass "the relay shows it not offered to a cluster that is offline" || fail "offline: $(answer acme-prod 1.3.8)"
sleep 4
start_gateway acme-prod
refused "an expired notice" 1.3.7 "notice for 1.3.7 expired at"
wait_for "$T/gateway-acme-prod.log" "package $(echo "$sha8" | cut -c1-16)\.\.\.: the package the relay sent has SHA-256 .*; the part is thrown away and fetched again in 5s (try 2 of 3)" 30 &&
    pass "a notice published while the gateway was offline arrives on reconnect" &&
    pass "a damaged package is thrown away and fetched again" ||
    fail "1.3.8: $(ufield acme-prod 1.3.8 state) $(ufield acme-prod 1.3.8 package_waiting)"
wait_ufield acme-prod 1.3.8 state refused 60 &&
    [ "$(grep -c "package $(echo "$sha8" | cut -c1-16)\.\.\.: .*the package the relay sent has SHA-256" "$T/gateway-acme-prod.log")" -eq 3 ] &&
    pass "refused after the third fetch" || fail "1.3.8: $(ufield acme-prod 1.3.8 state)"
ufield acme-prod 1.3.8 reason | grep -q "the package the relay sent has SHA-256 [0-9a-f]*; the signed notice gives $sha8" &&
    audit_has acme-prod '"type":"update_refused"' '"version":"1.3.8"' 'the package the relay sent' &&
    pass "a package the relay changed is refused and audited" || fail "1.3.8: $(ufield acme-prod 1.3.8 reason)"
[ ! -e "$T/acme-prod/state/updates/$sha8.part" ] && [ ! -e "$T/acme-prod/state/updates/$sha8.pkg" ] &&
    pass "nothing of it is kept" || fail "the refused package is kept"
wait_answer acme-prod 1.3.8 "^refused: the package the relay sent" &&
    pass "the relay shows why" || fail "relay: $(answer acme-prod 1.3.8)"
# The relay's store repaired and the notice offered again: not refused
# for good, it is taken up again where it was.
head -c 1048576 "$T/pkg8" >"$T/chunk0"
sqlite3 "$DB" "UPDATE package_chunks SET data = readfile('$T/chunk0') WHERE sha256 = '$sha8' AND \"offset\" = 0"
notified8=$(ufield acme-prod 1.3.8 notified)
publish "$T/n8.json" "$T/pkg8" || fail "publish again: $(cat "$T/publish.out")"
wait_ufield acme-prod 1.3.8 package downloaded 30 && [ "$(ufield acme-prod 1.3.8 state)" = scheduled ] &&
    [ "$(ufield acme-prod 1.3.8 notified)" = "$notified8" ] &&
    pass "a refused package offered again is fetched again, the update taken up where it was" ||
    fail "1.3.8 again: $(ufield acme-prod 1.3.8 state) $(ufield acme-prod 1.3.8 package)"

# A good one: 1.4.0.  Reschedule within bounds, not past them; run-now.
make_package "$T/pkg40" 300
make_notice "$T/n40.json" 1.4.0 "$T/pkg40"
sign "$T/n40.json"
publish "$T/n40.json" "$T/pkg40" || fail "publish: $(cat "$T/publish.out")"
wait_ufield acme-prod 1.4.0 state scheduled 20 && pass "1.4.0 is scheduled" ||
    fail "1.4.0: $(ufield acme-prod 1.4.0 state) $(ufield acme-prod 1.4.0 reason)"
notified=$(epoch "$(ufield acme-prod 1.4.0 notified)")
latest=$(epoch "$(ufield acme-prod 1.4.0 latest)")
first=$(epoch "$(ufield acme-prod 1.4.0 when)")
[ $((latest - first)) -eq 604800 ] && pass "it may be delayed 7 days past its first window" ||
    fail "latest $latest first $first"
r() { "$CLI_BIN" -f "$T/acme-prod/porthole.conf" updates reschedule "$@" 2>&1; }
out=$(r 1.4.0 "$(date -u -d @$((latest + 3600)) +%Y-%m-%dT%H:%M:%SZ)"); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "may not run after .*7 days after its first window: updates are delayed, not skipped" &&
    pass "a reschedule past 7 days is refused" || fail "past 7 days: rc=$rc $out"
out=$(r 1.4.0 "$(date -u -d @$((notified + 3600)) +%Y-%m-%dT%H:%M:%SZ)"); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "may not run before .*24 hours after the admins were first notified" &&
    pass "a reschedule before the 24 hours' notice is refused" || fail "too early: rc=$rc $out"
new=$(date -u -d @$((first + 2 * 86400)) +%Y-%m-%dT%H:%M:%SZ)
before=$(count_lines "$T/notified" "^1.4.0 ")
out=$(r 1.4.0 "$new"); rc=$?
[ $rc -eq 0 ] && [ "$(ufield acme-prod 1.4.0 when)" = "$new" ] &&
    pass "a reschedule within the bounds is taken" || fail "reschedule: rc=$rc $out"
wait_count "$T/notified" "^1.4.0 $new rescheduled" 0 10 &&
    pass "and the admins are notified again, with the new time" || fail "notified: $(cat "$T/notified")"
audit_has acme-prod '"type":"update_scheduled"' '"version":"1.4.0"' '"reason":"rescheduled"' '"by":"uid 0 (root)"' &&
    pass "it is audited with who asked" || fail "reschedule not audited"
[ "$before" -ge 1 ] || fail "no first notification"
out=$("$CLI_BIN" -f "$T/acme-prod/porthole.conf" updates run-now 1.4.0 2>&1); rc=$?
[ $rc -eq 0 ] && wait_for "$T/upgraded" " 1.4.0 " 20 && pass "run-now installs at once" ||
    fail "run-now: rc=$rc $out"
wait_ufield acme-prod 1.4.0 state installed 20 &&
    audit_has acme-prod '"type":"update_scheduled"' '"reason":"run now"' '"by":"uid 0 (root)"' &&
    pass "installed, and run-now is audited with who asked" || fail "after run-now: $(ufield acme-prod 1.4.0 state)"
out=$("$CLI_BIN" -f "$T/acme-prod/porthole.conf" updates run-now 1.4.0 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "update 1.4.0 is installed" &&
    pass "run-now of an installed update is refused" || fail "run-now again: rc=$rc $out"
"$CLI_BIN" -f "$T/acme-prod/porthole.conf" updates >"$T/updates.txt" 2>&1
grep -q "^installed   1.4.0 (installed by porthole" "$T/updates.txt" &&
    grep -q "^1.3.8  superseded" "$T/updates.txt" &&
    grep -q "notes from the vendor" "$T/updates.txt" &&
    pass "porthole updates lists them" || fail "porthole updates: $(cat "$T/updates.txt")"

# The product upgraded by other means: version_command is read again
# before a notice is judged and before an update runs, and the higher
# of what it says and porthole's own record is what is installed.
echo 1.6.0 >"$T/product_version"
make_notice "$T/n15.json" 1.5.0 "$T/pkg"
sign "$T/n15.json"
publish "$T/n15.json" "$T/pkg" || fail "publish: $(cat "$T/publish.out")"
refused "a notice older than a version installed by other means" 1.5.0 "not newer than the installed 1.6.0"
make_notice "$T/n17.json" 1.7.0 "$T/pkg"
sign "$T/n17.json"
publish "$T/n17.json" "$T/pkg" || fail "publish: $(cat "$T/publish.out")"
wait_ufield acme-prod 1.7.0 state scheduled 20 || fail "1.7.0: $(ufield acme-prod 1.7.0 state)"
wait_ufield acme-prod 1.7.0 package downloaded 20 || fail "1.7.0 not fetched"
echo 1.8.0 >"$T/product_version"
"$CLI_BIN" -f "$T/acme-prod/porthole.conf" updates run-now 1.7.0 >/dev/null 2>&1 || fail "run-now 1.7.0"
wait_ufield acme-prod 1.7.0 state superseded 20 &&
    [ "$(ufield acme-prod 1.7.0 reason)" = "version 1.8.0 is installed already" ] &&
    ! grep -q " 1.7.0 " "$T/upgraded" &&
    pass "an update the product has reached by other means before it runs is not installed" ||
    fail "1.7.0: $(ufield acme-prod 1.7.0 state): $(ufield acme-prod 1.7.0 reason)"
[ "$(uj acme-prod | jq -r '.installed + " " + .installed_from')" = "1.8.0 version_command" ] &&
    pass "porthole updates shows 1.8.0 installed, as version_command says" ||
    fail "installed: $(uj acme-prod | jq -c '{installed, installed_from, version_command}')"
"$CLI_BIN" audit verify --key "$(cat "$T/acme-prod/audit.k0")" "$T/acme-prod/audit" >/dev/null 2>&1 &&
    pass "the audit log verifies" || fail "audit verify"

# Notices are believed only with version_command beside vendor_key.
grep -v "^version_command" "$T/acme-prod/porthole.conf" >"$T/noversion.conf"
out=$("$CLI_BIN" policy check "$T/noversion.conf" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "noversion.conf:[0-9]*: \[updates\] vendor_key: needs \[updates\] version_command" &&
    pass "policy check refuses vendor_key without version_command, naming the line" ||
    fail "policy check: rc=$rc $out"

# A vendor_key that is not an Ed25519 public key stops a start.
sed "s|^vendor_key = .*|vendor_key = $T/acme-prod/session_host_key|" "$T/acme-prod/porthole.conf" >"$T/badkey.conf"
out=$("$CLI_BIN" policy check "$T/badkey.conf" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "badkey.conf:[0-9]*: \[updates\] vendor_key" &&
    pass "policy check refuses a vendor_key that is no public key, naming the line" ||
    fail "policy check: rc=$rc $out"
finish
