#!/bin/sh
# A relay that is not trusted, playing its worst with update notices it
# cannot forge: a bad frame right behind a message, a notice offered
# again under new ids (a flood of them, or one kept back until after a
# newer version is installed), an older signed notice for the same
# version offered to swap the package, and a package piece it damaged.
# The gateway stays up, installs nothing older or other than the newest
# notice it was given, and its logs stay short.
. "$(dirname "$0")/updates_lib.sh"

if [ "${PORTHOLE_TEST_HOOKS:-no}" != yes ]; then
	echo "SKIP: a hostile relay and moving the clock need ./configure --enable-test-hooks"
	exit 77
fi

DB=$T/relay.db
# The window: ten minutes from now, local time, every day.
WINDOW="daily $(date -d @$(( $(date +%s) + 600 )) +%H:%M)"

# restart_relay [FRAME]: the relay again, sending FRAME after each message.
restart_relay() {
	kill "$RELAY_PID" 2>/dev/null
	wait "$RELAY_PID" 2>/dev/null
	PORTHOLE_TEST_AFTER_MSG=${1:-} start_relay
}
# gw_alive ID: gateway ID's process is still there.
gw_alive() {
	kill -0 "$(cat "$T/$1/gateway.pid")" 2>/dev/null
}
# gw_died ID: fail, with how gateway ID ended.
gw_died() {
	wait "$(cat "$T/$1/gateway.pid")"
	fail "gateway $1 died: exit status $?"
}
# restart_gateway ID [CLOCK-OFFSET]
restart_gateway() {
	stop_gateway "$1"
	if [ -n "${2:-}" ]; then
		PORTHOLE_CLOCK_OFFSET=$2 start_gateway "$1"
	else
		start_gateway "$1"
	fi
}

# --- A bad frame right behind a message.  Storing the message starts
# the package's fetch; the gateway must not read the next frame from
# inside its own read loop (it did, and the protocol error freed the
# reader under it: a crash).
update_setup
restart_relay '{"t":"welcome","seq":0}'
make_package "$T/p130.tar" 64
make_notice "$T/n130.json" 1.3.0 "$T/p130.tar"
sign "$T/n130.json"
publish "$T/n130.json" "$T/p130.tar" || fail "publish: $(cat "$T/publish.out")"
wait_for "$T/gateway-acme-prod.log" "control channel closed: protocol error" 20 ||
    fail "the bad frame was not noticed"
sleep 1
gw_alive acme-prod && pass "a bad frame behind a message closes the channel, the gateway stays up" ||
    gw_died acme-prod
restart_relay
wait_ufield acme-prod 1.3.0 package downloaded 30 &&
    wait_ufield acme-prod 1.3.0 state scheduled 10 &&
    pass "with an honest relay again it goes on: 1.3.0 scheduled, its package here" ||
    fail "1.3.0: $(ufield acme-prod 1.3.0 state) $(ufield acme-prod 1.3.0 package)"

# --- The same signed notice under a second id (a relay offering it
# again, or the vendor publishing twice): acknowledged as a duplicate,
# not stored.  Then 1.4.0 is installed; the second 1.3.0 message must
# not bring 1.3.0 back at a restart (it did: rolled back to 1.3.0).
inbox_files() {
	ls "$T/acme-prod/state/inbox" | grep -c '^[0-9]*\.json$'
}
# acked ID: the relay's record of the gateway's answer to message ID.
acked() {
	sqlite3 "$DB" "SELECT result FROM deliveries WHERE message_id = $1 AND cluster = 'acme-prod' AND acked <> 0"
}
wait_acked() {
	n=$(( ${2:-20} * 5 ))
	while [ $n -gt 0 ] && [ -z "$(acked "$1")" ]; do sleep 0.2; n=$((n - 1)); done
	[ -n "$(acked "$1")" ]
}
# msg_id: the id the last publish got.
msg_id() {
	sed -n 's/.* published as message \([0-9]*\) .*/\1/p' "$T/publish.out"
}
id130=$(msg_id)
publish "$T/n130.json" "$T/p130.tar" || fail "publish again: $(cat "$T/publish.out")"
dup=$(msg_id)
wait_acked "$dup" && [ "$(acked "$dup")" = accepted ] &&
    [ "$(inbox_files)" -eq 1 ] && [ "$(ufield acme-prod 1.3.0 message_id)" = "$id130" ] &&
    pass "a second id for an announced notice is acknowledged, not stored" ||
    fail "second id $dup: '$(acked "$dup")', inbox: $(ls "$T/acme-prod/state/inbox")"
audit_has acme-prod '"type":"message_received"' "\"id\":$dup," '"verdict":"duplicate"' &&
    pass "and audited as a duplicate" || fail "no message_received duplicate for $dup"
make_package "$T/p140.tar" 64
make_notice "$T/n140.json" 1.4.0 "$T/p140.tar"
sign "$T/n140.json"
publish "$T/n140.json" "$T/p140.tar" || fail "publish 1.4.0: $(cat "$T/publish.out")"
wait_ufield acme-prod 1.4.0 package downloaded 30 && wait_ufield acme-prod 1.4.0 state scheduled 10 ||
    fail "1.4.0: $(ufield acme-prod 1.4.0 state)"
[ "$(ufield acme-prod 1.3.0 state)" = superseded ] || fail "1.3.0: $(ufield acme-prod 1.3.0 state)"
when=$(ufield acme-prod 1.4.0 when)
announced=$(grep -c '"type":"update_announced"' "$T/acme-prod/audit/audit.log")
restart_gateway acme-prod $(( $(epoch "$when") - $(date +%s) - 5 ))
wait_ufield acme-prod 1.4.0 state installed 40 || fail "1.4.0 not installed: $(ufield acme-prod 1.4.0 state)"
restart_gateway acme-prod
sleep 3
[ "$(ufield acme-prod 1.3.0 state)" = superseded ] && [ "$(uj acme-prod | jq -r .installed)" = 1.4.0 ] &&
    pass "after a restart 1.3.0 stays superseded, 1.4.0 installed" ||
    fail "after a restart: 1.3.0 $(ufield acme-prod 1.3.0 state) at $(ufield acme-prod 1.3.0 when), installed $(uj acme-prod | jq -r .installed)"
[ "$(grep -c '"type":"update_announced"' "$T/acme-prod/audit/audit.log")" -eq "$announced" ] &&
    pass "restarts announce nothing" || fail "announced at a restart: $(grep '"type":"update_announced"' "$T/acme-prod/audit/audit.log" | tail -1)"
[ "$(inbox_files)" -eq 0 ] && pass "finished messages leave the inbox" ||
    fail "inbox: $(ls "$T/acme-prod/state/inbox")"
# The relay offers the finished 1.3.0 message again (its answer lost).
sqlite3 "$DB" "DELETE FROM deliveries WHERE message_id = $id130"
restart_relay
wait_acked "$id130" && [ "$(acked "$id130")" = accepted ] && [ "$(inbox_files)" -eq 0 ] &&
    [ "$(ufield acme-prod 1.3.0 state)" = superseded ] &&
    pass "a finished message offered again is acknowledged as had, nothing done" ||
    fail "re-offered $id130: '$(acked "$id130")', 1.3.0 $(ufield acme-prod 1.3.0 state)"
[ "$(grep -c '1.3.0' "$T/upgraded")" -eq 0 ] && pass "1.3.0 never ran" || fail "ran: $(cat "$T/upgraded")"

# --- A message the inbox cannot store is not audited as accepted (it
# was, before the store was tried).
make_package "$T/p150.tar" 16
make_notice "$T/n150.json" 1.5.0 "$T/p150.tar"
sign "$T/n150.json"
next=$(sqlite3 "$DB" "SELECT coalesce(max(id), 0) + 1 FROM messages")
mkdir -p "$T/acme-prod/state/inbox/$next.json/in-the-way"
publish "$T/n150.json" "$T/p150.tar" || fail "publish 1.5.0: $(cat "$T/publish.out")"
[ "$(msg_id)" = "$next" ] || fail "1.5.0 is message $(msg_id), not $next"
wait_for "$T/gateway-acme-prod.log" "message $next not acknowledged.*: $T/acme-prod/state/inbox/$next.json: " 20 &&
    ! audit_has acme-prod '"type":"message_received"' "\"id\":$next," &&
    pass "a message the inbox cannot store is not acknowledged, nor audited as accepted" ||
    fail "message $next: $(grep "\"id\":$next," "$T/acme-prod/audit/audit.log" | cut -c1-200)"
rm -rf "$T/acme-prod/state/inbox/$next.json"
restart_relay
wait_acked "$next" && wait_ufield acme-prod 1.5.0 state scheduled 20 &&
    [ "$(grep '"type":"message_received"' "$T/acme-prod/audit/audit.log" | grep -c "\"id\":$next,.*\"accepted\"")" -eq 1 ] &&
    pass "stored once it can be, and audited as accepted once" ||
    fail "message $next: '$(acked "$next")', 1.5.0 $(ufield acme-prod 1.5.0 state)"

# --- A flood: the 1.5.0 notice under 3000 more ids, each followed by a
# package piece nobody asked for.  Every copy is acknowledged as a
# duplicate; none is stored, and the audit log and the gateway's own
# log get a ration and a summary, not a line (or two) a copy.
wait_ufield acme-prod 1.5.0 package downloaded 20 || fail "1.5.0 not fetched"
id150=$next
restart_relay "{\"t\":\"pkg_chunk\",\"sha256\":\"$(sha256sum "$T/p150.tar" | cut -d' ' -f1)\",\"offset\":0,\"data\":\"\"}"
L0=$(wc -l <"$T/gateway-acme-prod.log")
sqlite3 "$DB" "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000)
    INSERT INTO messages (cluster, kind, body, created) SELECT NULL, kind, body, created FROM messages, c WHERE id = $id150"
last=$(sqlite3 "$DB" "SELECT max(id) FROM messages")
wait_acked "$last" 180 && [ "$(sqlite3 "$DB" "SELECT count(*) FROM deliveries WHERE message_id > $id150 AND acked <> 0")" -eq 3000 ] &&
    pass "all 3000 copies are acknowledged" ||
    fail "flood: $(sqlite3 "$DB" "SELECT count(*) FROM deliveries WHERE message_id > $id150 AND acked <> 0") acknowledged"
[ "$(inbox_files)" -eq 1 ] && pass "none of them is stored" || fail "inbox: $(inbox_files) files"
sleep 1
lines=$(( $(wc -l <"$T/gateway-acme-prod.log") - L0 ))
[ "$lines" -lt 60 ] && pass "the gateway's log grew by $lines lines, not thousands" ||
    fail "the gateway's log grew by $lines lines: $(tail -n 3 "$T/gateway-acme-prod.log")"
grep -q "pieces\? nobody asked for ignored ([0-9]* so far)" "$T/gateway-acme-prod.log" &&
    pass "the pieces nobody asked for are counted" || fail "no count of unsolicited pieces"
stop_gateway acme-prod
total=$(grep '"type":"message_burst"' "$T/acme-prod/audit/audit.log" | sed 's/.*"count":\([0-9]*\).*/\1/' | awk '{ s += $1 } END { print s + 0 }')
[ "$total" -ge 2900 ] && pass "the audit log summarises $total of them in message_burst lines" ||
    fail "message_burst counts $total"
"$CLI_BIN" audit verify --key "$(cat "$T/acme-prod/audit.k0")" "$T/acme-prod/audit" >/dev/null 2>&1 &&
    pass "the audit log verifies" || fail "audit verify"

# --- The relay swaps the package: an older signed notice for the same
# version (1.6.0, package A, published an hour ago) offered after the
# newer one (package B, published a minute ago).  It is refused; B, its
# notes and its time stand, and the admins are not told anything new.
# A later notice for 1.6.0 (package C) is a new announcement.
restart_relay
start_gateway acme-prod
make_package "$T/pA.tar" 16
make_package "$T/pB.tar" 16
make_package "$T/pC.tar" 16
PUBLISHED_AGO=3600 make_notice "$T/nA.json" 1.6.0 "$T/pA.tar" 2592000 "package A"
make_notice "$T/nB.json" 1.6.0 "$T/pB.tar" 2592000 "package B (fixed)"
PUBLISHED_AGO=10 make_notice "$T/nC.json" 1.6.0 "$T/pC.tar" 2592000 "package C"
for v in A B C; do sign "$T/n$v.json"; done
shaB=$(sha256sum "$T/pB.tar" | cut -d' ' -f1)
shaC=$(sha256sum "$T/pC.tar" | cut -d' ' -f1)
publish "$T/nB.json" "$T/pB.tar" || fail "publish B: $(cat "$T/publish.out")"
wait_ufield acme-prod 1.6.0 package downloaded 20 && wait_ufield acme-prod 1.6.0 state scheduled 10 ||
    fail "B: $(ufield acme-prod 1.6.0 state)"
whenB=$(ufield acme-prod 1.6.0 when)
told=$(count_lines "$T/notified" "^1.6.0 ")
publish "$T/nA.json" "$T/pA.tar" || fail "publish A: $(cat "$T/publish.out")"
idA=$(msg_id)
wait_acked "$idA" && acked "$idA" | grep -q "^refused: an older notice for 1.6.0: published .*, the one scheduled was published" &&
    pass "an older notice for the same version is refused, the relay told why" ||
    fail "A: '$(acked "$idA")'"
[ "$(ufield acme-prod 1.6.0 sha256)" = "$shaB" ] && [ "$(ufield acme-prod 1.6.0 notes)" = "package B (fixed)" ] &&
    [ "$(ufield acme-prod 1.6.0 when)" = "$whenB" ] && [ "$(ufield acme-prod 1.6.0 package)" = downloaded ] &&
    [ "$(count_lines "$T/notified" "^1.6.0 ")" -eq "$told" ] &&
    pass "package B, its notes and its time stand" ||
    fail "after A: $(uj acme-prod | jq -c '.updates[] | select(.version == "1.6.0") | {sha256, notes, when, package}')"
audit_has acme-prod '"type":"update_refused"' '"version":"1.6.0"' 'an older notice for 1.6.0' '"update_state":"scheduled"' &&
    pass "and the refusal is audited, with the update it leaves scheduled" || fail "A's refusal not audited"
rv=$(timeout 10 "$RELAY_BIN" -f "$T/relay.conf" updates --json 2>/dev/null |
    jq -r '.[] | select(.cluster == "acme-prod" and .version == "1.6.0") | .state')
[ "$rv" = scheduled ] && pass "the relay's view still says 1.6.0 is scheduled, not refused" ||
    fail "the relay's view of 1.6.0: '$rv'"
tC=$(date +%s)
publish "$T/nC.json" "$T/pC.tar" || fail "publish C: $(cat "$T/publish.out")"
wait_ufield acme-prod 1.6.0 sha256 "$shaC" 20 && wait_ufield acme-prod 1.6.0 state scheduled 20 &&
    wait_count "$T/notified" "^1.6.0 " "$told" 20 &&
    [ "$(ufield acme-prod 1.6.0 notes)" = "package C" ] &&
    [ "$(epoch "$(ufield acme-prod 1.6.0 notified)")" -ge "$tC" ] &&
    [ $(( $(epoch "$(ufield acme-prod 1.6.0 earliest)") - $(epoch "$(ufield acme-prod 1.6.0 notified)") )) -eq 86400 ] &&
    pass "a later notice for the same version is announced anew: the admins told again, 24 hours from then" ||
    fail "C: $(uj acme-prod | jq -c '.updates[] | select(.version == "1.6.0") | {state, sha256, notified, earliest, when}')"
[ ! -e "$T/acme-prod/state/updates/$shaB.pkg" ] && pass "B's package is gone" || fail "B's package kept"

# --- One damaged piece does not refuse a version: the part is thrown
# away and fetched again, and a relay whose store is repaired meanwhile
# delivers the package.
stop_gateway acme-prod
make_package "$T/p170.tar" 1200
make_notice "$T/n170.json" 1.7.0 "$T/p170.tar"
sign "$T/n170.json"
publish "$T/n170.json" "$T/p170.tar" || fail "publish 1.7.0: $(cat "$T/publish.out")"
sha170=$(sha256sum "$T/p170.tar" | cut -d' ' -f1)
sqlite3 "$DB" "UPDATE package_chunks SET data = zeroblob(length(data)) WHERE sha256 = '$sha170' AND \"offset\" = 0"
start_gateway acme-prod
wait_for "$T/gateway-acme-prod.log" "package $(echo "$sha170" | cut -c1-16)\.\.\.: the package the relay sent has SHA-256 .*fetched again in 5s" 30 ||
    fail "1.7.0: $(ufield acme-prod 1.7.0 state) $(ufield acme-prod 1.7.0 package_waiting)"
head -c 1048576 "$T/p170.tar" >"$T/chunk0"
sqlite3 "$DB" "UPDATE package_chunks SET data = readfile('$T/chunk0') WHERE sha256 = '$sha170' AND \"offset\" = 0"
wait_ufield acme-prod 1.7.0 package downloaded 30 && [ "$(ufield acme-prod 1.7.0 state)" = scheduled ] &&
    cmp -s "$T/p170.tar" "$T/acme-prod/state/updates/$sha170.pkg" &&
    pass "a damaged piece is fetched again; once the relay has it right, the package arrives" ||
    fail "1.7.0: $(ufield acme-prod 1.7.0 state) $(ufield acme-prod 1.7.0 package): $(ufield acme-prod 1.7.0 reason)"

# --- A notice that expires before its window (a relay can hold one back
# until just before it expires): refused when it is to run, not run; a
# reschedule past its expiry is refused too.
make_package "$T/p180.tar" 16
make_notice "$T/n180.json" 1.8.0 "$T/p180.tar" 120
sign "$T/n180.json"
publish "$T/n180.json" "$T/p180.tar" || fail "publish 1.8.0: $(cat "$T/publish.out")"
wait_ufield acme-prod 1.8.0 state scheduled 20 && wait_ufield acme-prod 1.8.0 package downloaded 20 ||
    fail "1.8.0: $(ufield acme-prod 1.8.0 state)"
when=$(ufield acme-prod 1.8.0 when)
out=$("$CLI_BIN" -f "$T/acme-prod/porthole.conf" updates reschedule 1.8.0 \
    "$(date -u -d @$(( $(epoch "$when") + 86400 )) +%Y-%m-%dT%H:%M:%SZ)" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "1.8.0 may not run after its notice expires at" &&
    pass "a reschedule past the notice's expiry is refused" || fail "reschedule: rc=$rc $out"
restart_gateway acme-prod $(( $(epoch "$when") - $(date +%s) - 5 ))
wait_ufield acme-prod 1.8.0 state refused 30 &&
    ufield acme-prod 1.8.0 reason | grep -q "^its notice expired at .*, before it was installed$" &&
    audit_has acme-prod '"type":"update_refused"' '"version":"1.8.0"' 'its notice expired at' &&
    pass "a notice expired by its window is refused then, and audited" ||
    fail "1.8.0: $(ufield acme-prod 1.8.0 state) $(ufield acme-prod 1.8.0 reason)"
sleep 2
! grep -q " 1.8.0 " "$T/upgraded" && pass "and 1.8.0 does not run" || fail "1.8.0 ran: $(cat "$T/upgraded")"
restart_gateway acme-prod

# --- The wall clock stepped ahead (a bad time source, a mistake): the
# admins' 24 hours are measured on the boot clock as well, so the
# update does not start in a window the wall clock reached too soon.
# (PORTHOLE_CLOCK_STEP moves the wall clock only; PORTHOLE_CLOCK_OFFSET
# moves both, as if the time had passed.)
make_package "$T/p190.tar" 16
make_notice "$T/n190.json" 1.9.0 "$T/p190.tar"
sign "$T/n190.json"
publish "$T/n190.json" "$T/p190.tar" || fail "publish 1.9.0: $(cat "$T/publish.out")"
wait_ufield acme-prod 1.9.0 state scheduled 20 && wait_ufield acme-prod 1.9.0 package downloaded 20 ||
    fail "1.9.0: $(ufield acme-prod 1.9.0 state)"
when=$(ufield acme-prod 1.9.0 when)
stop_gateway acme-prod
PORTHOLE_CLOCK_STEP=$(( $(epoch "$when") - $(date +%s) - 5 )) start_gateway acme-prod
n=0
while [ $n -lt 100 ] && ! ufield acme-prod 1.9.0 waiting | grep -q "^the wall clock is [0-9]*s ahead"; do
	sleep 0.2; n=$((n + 1))
done
sleep 2
ufield acme-prod 1.9.0 waiting | grep -q "^the wall clock is [0-9]*s ahead of the time that passed since the admins were told" &&
    [ "$(ufield acme-prod 1.9.0 state)" = scheduled ] && ! grep -q " 1.9.0 " "$T/upgraded" &&
    pass "a wall clock stepped ahead does not start an update before 24 hours have passed" ||
    fail "1.9.0: $(ufield acme-prod 1.9.0 state): $(ufield acme-prod 1.9.0 waiting)"
restart_gateway acme-prod $(( $(epoch "$when") - $(date +%s) - 5 ))
wait_ufield acme-prod 1.9.0 state installed 30 &&
    pass "once the time has passed it runs in its window" || fail "1.9.0: $(ufield acme-prod 1.9.0 state)"

finish
