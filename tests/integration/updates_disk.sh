#!/bin/sh
# Vendor's messages arrive while the gateway cannot write what it must
# keep of them.  An update notice, while it cannot write the state of
# its updates (state_dir/updates read-only, as a full or failing disk
# would leave it).  The gateway does not take the notice: it is not
# acknowledged, nobody is notified, and the log says once which file
# cannot be written and why.  A gateway killed meanwhile loses nothing:
# once the directory takes writes again, the update is announced and
# scheduled, once.  The same for an alert while alerts.json cannot be
# replaced.  The directory is made read-only with a bind mount
# in a mount namespace of the test's own.
if [ -z "${PH_UPDATES_DISK_NS:-}" ]; then
	if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null ||
	    ! unshare --mount --propagation private true 2>/dev/null; then
		echo "# needs root and a mount namespace (unshare -m): skipped"
		exit 77
	fi
	PH_UPDATES_DISK_NS=1 exec unshare --mount --propagation private \
	    sh "$0" "$@"
fi
. "$(dirname "$0")/updates_lib.sh"

U=$T/acme-prod/state/updates
LOG=$T/gateway-acme-prod.log
trap 'umount "$U" "$T/acme-prod/state/alerts.json" 2>/dev/null; cleanup' EXIT

# acked ID: 1 once the relay has acme-prod's acknowledgement of ID, or 0.
acked() {
	sqlite3 -cmd ".timeout 5000" "$T/relay.db" "SELECT count(*) FROM deliveries WHERE message_id = $1 AND cluster = 'acme-prod' AND acked <> 0"
}

update_setup
if ! mount --bind "$U" "$U" 2>"$T/mount.err" ||
    ! mount -o remount,bind,ro "$U" 2>>"$T/mount.err"; then
	echo "# cannot make $U read-only here: $(cat "$T/mount.err")"
	exit 77
fi
if touch "$U/probe" 2>/dev/null; then
	echo "# $U is still writable after a read-only bind mount"
	exit 77
fi

publish_version 1.3.0 64
id=$(sqlite3 "$T/relay.db" "SELECT max(id) FROM messages")
wait_for "$LOG" "message $id not acknowledged.*: $U/state.json: .*Read-only file system" 20 &&
    pass "the gateway says which file cannot be written, and why" ||
    fail "no such line: $(grep -i "state\|message $id" "$LOG" | tail -3)"
# The gateway tries it again every 10 seconds: still one line.
sleep 12
[ "$(count_lines "$LOG" "state.json")" -eq 1 ] &&
    pass "said once, not at every try" || fail "$(count_lines "$LOG" "state.json") lines name state.json"
[ "$(acked "$id")" -eq 0 ] && pass "the notice is not acknowledged to the relay" ||
    fail "message $id was acknowledged though nothing of it could be kept"
[ ! -f "$T/notified" ] && pass "nobody is told of an update the gateway could not keep" ||
    fail "notify_command ran: $(cat "$T/notified")"
[ -z "$(ufield acme-prod 1.3.0 state)" ] && pass "porthole updates does not list it" ||
    fail "listed as $(ufield acme-prod 1.3.0 state)"

# Killed while the disk is still read-only, and started again.
kill -9 "$(cat "$T/acme-prod/gateway.pid")"
gone 10 "$(cat "$T/acme-prod/gateway.pid")" || fail "the gateway did not die"
before=$(count_lines "$LOG" "message $id not acknowledged")
start_gateway acme-prod
wait_count "$LOG" "message $id not acknowledged" "$before" 20 &&
    pass "restarted, it still does not take it" || fail "after the restart: $(tail -3 "$LOG")"

# The disk takes writes again: the update goes in, without a restart.
umount "$U" || fail "umount $U"
wait_ufield acme-prod 1.3.0 state scheduled 40 &&
    pass "once it can be written, 1.3.0 is announced and scheduled" ||
    fail "state: '$(ufield acme-prod 1.3.0 state)'"
wait_for "$T/notified" "^1.3.0 " 10 && pass "the admins are notified" ||
    fail "notify_command did not run"
n=0
while [ "$(acked "$id")" -eq 0 ] && [ $n -lt 50 ]; do sleep 0.2; n=$((n + 1)); done
[ "$(acked "$id")" -eq 1 ] && pass "and the relay has its acknowledgement" ||
    fail "message $id is not acknowledged"
wait_ufield acme-prod 1.3.0 package downloaded 30 && pass "its package is fetched" ||
    fail "package: $(ufield acme-prod 1.3.0 package)"
sleep 11
[ "$(grep -c '"type":"update_announced"' "$T/acme-prod/audit/audit.log")" -eq 1 ] &&
    [ "$(grep -c '^1.3.0 ' "$T/notified")" -eq 1 ] &&
    pass "announced and notified once" ||
    fail "announced $(grep -c '"type":"update_announced"' "$T/acme-prod/audit/audit.log") times, notified $(grep -c '^1.3.0 ' "$T/notified")"
grep -q "$U/state.json is written again\|updates: the state cannot be saved" "$LOG" &&
    fail "the state was left unsaved: $(grep 'state.json' "$LOG" | tail -2)" ||
    pass "no change was left unsaved"

# --- An alert from the vendor while state_dir/alerts.json cannot be
# replaced (a file is mounted over it, so the rename onto it fails): not
# acknowledged, not shown, said once; shown once it can be written, and
# still there after a restart.
AL=$T/acme-prod/state/alerts.json
[ -f "$AL" ] || echo '{"version":1,"alerts":[],"owed":[]}' >"$AL"
: >"$T/blocker"
mount --bind "$T/blocker" "$AL" || fail "mount over $AL"
out=$("$RELAY_BIN" -f "$T/relay.conf" alert acme-prod --severity warning "more memory is required" 2>&1) ||
    fail "alert: $out"
aid=$(sqlite3 "$T/relay.db" "SELECT max(id) FROM messages")
wait_for "$LOG" "message $aid not acknowledged.*: $AL: " 20 &&
    pass "an alert that cannot be kept: the gateway says which file and why" ||
    fail "alert message $aid: $(tail -3 "$LOG")"
sleep 11
[ "$(count_lines "$LOG" "$AL")" -eq 1 ] && [ "$(acked "$aid")" -eq 0 ] &&
    ! "$CLI_BIN" -f "$T/acme-prod/porthole.conf" alerts --json | grep -q "more memory" &&
    ! grep -q '"type":"alert_raised"' "$T/acme-prod/audit/audit.log" &&
    pass "it is not acknowledged, shown or audited, and said once" ||
    fail "alert $aid: acked $(acked "$aid"), $(count_lines "$LOG" "$AL") lines, $("$CLI_BIN" -f "$T/acme-prod/porthole.conf" alerts 2>&1 | tail -1)"
umount "$AL" || fail "umount $AL"
n=0
while [ "$(acked "$aid")" -eq 0 ] && [ $n -lt 100 ]; do sleep 0.2; n=$((n + 1)); done
"$CLI_BIN" -f "$T/acme-prod/porthole.conf" alerts --json | grep -q "more memory is required" &&
    [ "$(acked "$aid")" -eq 1 ] &&
    pass "once alerts.json can be written, the alert is shown and acknowledged" ||
    fail "after umount: acked $(acked "$aid"), $("$CLI_BIN" -f "$T/acme-prod/porthole.conf" alerts 2>&1 | tail -1)"
stop_gateway acme-prod
start_gateway acme-prod
"$CLI_BIN" -f "$T/acme-prod/porthole.conf" alerts --json | grep -q "more memory is required" &&
    [ "$(grep -c '"type":"alert_raised"' "$T/acme-prod/audit/audit.log")" -eq 1 ] &&
    pass "and after a restart it is still there, raised once" ||
    fail "after a restart: $("$CLI_BIN" -f "$T/acme-prod/porthole.conf" alerts 2>&1 | tail -1), $(grep -c '"type":"alert_raised"' "$T/acme-prod/audit/audit.log") alert_raised"
"$CLI_BIN" audit verify --key "$(cat "$T/acme-prod/audit.k0")" "$T/acme-prod/audit" >/dev/null 2>&1 &&
    pass "the audit log verifies" || fail "audit verify"
finish
