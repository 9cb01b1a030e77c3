#!/bin/sh
# Approvals per ticket for a time, with approval = required: once the
# customer approves ticket SUP-1234 for an hour, ssh, sftp and scp with
# it go in without waiting and are told until when; another ticket still
# waits; revoke ends the sessions of the ticket; the approval outlives a
# restart of the gateway and ends when its time is up.
. "$(dirname "$0")/lib.sh"

APPROVAL=required
FILES_ENABLED=yes
standard_setup
CONF=$T/acme-prod/porthole.conf
AUDIT=$T/acme-prod/audit/audit.log
P=$T/acme-prod/product
printf 'line one\nline two\n' >"$P/log/server.log"
# bob holds ticket SUP-9999, for three hours.
"$CERTS"/porthole-issue-engineer -c "$T/ca/support_ca" -o "$T/eng" bob \
    SUP-9999 +3h >/dev/null
cp "$T/ssh_config" "$T/ssh_config.alice"
ENGINEER=bob write_ssh_config
mv "$T/ssh_config" "$T/ssh_config.bob"
cp "$T/ssh_config.alice" "$T/ssh_config"
# The customer is told of every session that waits.
printf '#!/bin/sh\necho "$PORTHOLE_SESSION_ID $PORTHOLE_ENGINEER $PORTHOLE_TICKET" >>%s\n' \
    "$T/notified" >"$T/notify"
chmod 755 "$T/notify"
sed -i "/^approval = /a notify_command = $T/notify" "$CONF"
"$CLI_BIN" -f "$CONF" reload >/dev/null || fail "reload with notify_command"

pending_id() {
	n=100
	while [ "$n" -gt 0 ]; do
		id=$("$CLI_BIN" -f "$CONF" sessions 2>/dev/null |
		    awk -v e="$1" '$2 == "pending" && $3 == e { print $1 }' |
		    head -n 1)
		[ -n "$id" ] && { echo "$id"; return 0; }
		sleep 0.1; n=$((n - 1))
	done
	return 1
}
# within SECONDS CMD...: run CMD, killed after SECONDS (a session that
# waits for approval would otherwise hang the test).
within() {
	s=$1; shift
	"$@" & w=$!
	( sleep "$s"; kill "$w" 2>/dev/null ) & k=$!
	wait "$w"; r=$?
	kill "$k" 2>/dev/null; wait "$k" 2>/dev/null
	return $r
}

# Bad input: refused with a clear line, nothing approved.
"$CLI_BIN" -f "$CONF" approve --ticket 'SUP 12' --for 1h >/dev/null 2>"$T/err"
[ $? -eq 1 ] && grep -q "porthole: --ticket: expected 1 to 256 printable ASCII characters without blanks" "$T/err" &&
    pass "a ticket that is not as ticket@porthole holds one is refused" ||
    fail "bad ticket: $(cat "$T/err")"
for d in 30s 8d soon; do
	"$CLI_BIN" -f "$CONF" approve --ticket SUP-1234 --for "$d" >/dev/null 2>"$T/err"
	[ $? -eq 1 ] && grep -q "porthole: --for: expected a duration from 1m to 7d" "$T/err" ||
	    fail "--for $d: $(cat "$T/err")"
done
pass "a duration outside 1m to 7d is refused"
"$CLI_BIN" -f "$CONF" approve 0123456789abcdef >/dev/null 2>"$T/err"
[ $? -eq 1 ] && grep -q "no such session or action (it may have ended)" "$T/err" &&
    pass "approving a session that is not there (or ended) is refused" ||
    fail "approve of no session: $(cat "$T/err")"
"$CLI_BIN" -f "$CONF" revoke --ticket SUP-1234 >/dev/null 2>"$T/err"
[ $? -eq 1 ] && grep -q "ticket SUP-1234 is not approved" "$T/err" &&
    pass "revoking a ticket that is not approved is refused" ||
    fail "revoke of nothing: $(cat "$T/err")"
grep -q '"type":"ticket_approved"' "$AUDIT" &&
    fail "a refused approval is on record as given"

# A session that already waits goes in when its ticket is approved.
within 20 ssh -F "$T/ssh_config" acme-prod status </dev/null \
    >"$T/out0" 2>"$T/err0" &
eng=$!
pending_id alice >/dev/null || fail "no pending session"
"$CLI_BIN" -f "$CONF" approve --ticket SUP-1234 --for 1h \
    --reason "upgrade support" >"$T/out" 2>"$T/err" ||
    fail "approve --ticket: $(cat "$T/err")"
grep -q "ticket SUP-1234 approved until 20.*; 1 waiting session let in" "$T/out" &&
    pass "approve --ticket says until when, and lets the waiting session in" ||
    fail "approve --ticket said: $(cat "$T/out")"
wait "$eng" && [ "$(cat "$T/out0")" = "cluster acme-prod is healthy" ] &&
    pass "the waiting session runs" || fail "waiting session: $(cat "$T/err0")"
grep -q '"type":"ticket_approved".*"reason":"upgrade support".*"ticket":"SUP-1234"' "$AUDIT" &&
    pass "the approval is on record with who and why" ||
    fail "ticket_approved: $(grep ticket_approved "$AUDIT")"

# ssh, sftp and scp with the ticket go in without waiting.
within 15 essh acme-prod status >"$T/out1" 2>"$T/err1"; rc=$?
[ "$rc" -eq 0 ] && [ "$(cat "$T/out1")" = "cluster acme-prod is healthy" ] &&
    ! grep -q "waits for the customer's approval" "$T/err1" &&
    grep -q "porthole: approved for ticket SUP-1234 until 20.*left), by uid 0 (root)" "$T/err1" &&
    pass "ssh goes in at once and is told how long the approval lasts" ||
    fail "ssh: rc=$rc $(cat "$T/err1")"
echo "get $P/log/server.log $T/got1.log" >"$T/batch"
within 15 sftp -F "$T/ssh_config" -q -b "$T/batch" acme-prod \
    >"$T/sftp.out" 2>&1; rc=$?
[ "$rc" -eq 0 ] && cmp -s "$P/log/server.log" "$T/got1.log" &&
    pass "sftp goes in at once" || fail "sftp: rc=$rc $(cat "$T/sftp.out")"
within 15 scp -F "$T/ssh_config" -q "acme-prod:$P/log/server.log" \
    "$T/got2.log" </dev/null 2>"$T/scp.err"; rc=$?
[ "$rc" -eq 0 ] && cmp -s "$P/log/server.log" "$T/got2.log" &&
    pass "scp goes in at once" || fail "scp: rc=$rc $(cat "$T/scp.err")"
! grep -q '"type":"session_pending".*"ticket":"SUP-1234"' "$AUDIT" ||
[ "$(grep -c '"type":"session_pending".*"ticket":"SUP-1234"' "$AUDIT")" -eq 1 ] &&
    pass "none of them was pending" || fail "a ticket session waited"
[ "$(grep -c '"type":"session_approved".*"by":"ticket approval".*"ticket":"SUP-1234"' "$AUDIT")" -ge 4 ] &&
    pass "each is on record as let in on the ticket's approval" ||
    fail "ticket admissions: $(grep -c '"by":"ticket approval"' "$AUDIT")"
"$CLI_BIN" -f "$CONF" approvals --json >"$T/apps.json"
jq -e '.[0].ticket == "SUP-1234" and .[0].reason == "upgrade support" and .[0].left_s > 3500' \
    "$T/apps.json" >/dev/null && "$CLI_BIN" -f "$CONF" approvals | grep -q "^SUP-1234 " &&
    pass "porthole approvals lists it (--json too)" ||
    fail "approvals: $(cat "$T/apps.json")"

# Another ticket still waits.
within 30 ssh -F "$T/ssh_config.bob" acme-prod status </dev/null \
    >"$T/outb" 2>"$T/errb" &
bob=$!
bid=$(pending_id bob) && pass "a session with another ticket waits" ||
    fail "bob's session did not wait"
wait_for "$T/notified" "^$bid bob SUP-9999\$" 10 &&
    pass "... and notify_command tells the customer" ||
    fail "notified: $(cat "$T/notified" 2>/dev/null)"
! grep -q " SUP-1234\$" "$T/notified" || [ "$(grep -c " SUP-1234\$" "$T/notified")" -eq 1 ] &&
    pass "sessions let in on the ticket's approval notify nobody" ||
    fail "notified for approved ticket: $(cat "$T/notified")"
"$CLI_BIN" -f "$CONF" deny "$bid" >/dev/null
wait "$bob"

# Revoke ends the running sessions of the ticket, and the next one waits.
within 60 essh acme-prod sleepy 50 >/dev/null 2>"$T/errs1" &
s1=$!
within 60 essh acme-prod sleepy 50 >/dev/null 2>"$T/errs2" &
s2=$!
wait_count "$AUDIT" '"type":"command_allowed".*"sleepy 50"' 0 10 &&
wait_count "$AUDIT" '"type":"command_allowed".*"sleepy 50"' 1 10 ||
    fail "the sleepy sessions did not start"
"$CLI_BIN" -f "$CONF" revoke --ticket SUP-1234 --reason "done" \
    >"$T/out" 2>"$T/err" || fail "revoke: $(cat "$T/err")"
grep -q "ticket SUP-1234: approval revoked; 2 sessions ended" "$T/out" &&
    pass "revoke says how many sessions it ended" || fail "revoke said: $(cat "$T/out")"
wait "$s1"; wait "$s2"
grep -q "the customer revoked the approval of its ticket" "$T/errs1" &&
    pass "revoke ends the running sessions of the ticket, and says why" ||
    fail "after revoke: $(cat "$T/errs1")"
grep -q '"type":"ticket_revoked".*"reason":"done".*"ticket":"SUP-1234"' "$AUDIT" &&
    [ "$(grep -c '"type":"session_ended".*"reason":"the approval of ticket SUP-1234 was revoked"' "$AUDIT")" -eq 2 ] &&
    pass "revoke and the sessions it ended are on record" ||
    fail "revoke record: $(grep -c revoked "$AUDIT")"
within 20 essh acme-prod status >/dev/null 2>&1 &
eng=$!
id=$(pending_id alice) && pass "after revoke a session with the ticket waits again" ||
    fail "no wait after revoke"
"$CLI_BIN" -f "$CONF" deny "$id" >/dev/null 2>&1
wait "$eng"

# The approval outlives a restart, and ends when its time is up (the
# clock moved on past it, bob's certificate still valid).
"$CLI_BIN" -f "$CONF" approve --ticket SUP-9999 --for 1h >/dev/null ||
    fail "approve SUP-9999"
stop_gateway acme-prod
start_gateway acme-prod
"$CLI_BIN" -f "$CONF" approvals | grep -q "^SUP-9999 " &&
    pass "the approval is still there after a restart" ||
    fail "approvals after restart: $("$CLI_BIN" -f "$CONF" approvals)"
within 15 ssh -F "$T/ssh_config.bob" acme-prod status </dev/null \
    >"$T/outb" 2>&1 && grep -q "healthy" "$T/outb" &&
    pass "... and lets its sessions in" || fail "after restart: $(cat "$T/outb")"
# Moving the gateway's clock past the hour needs a test build.
if [ "${PORTHOLE_TEST_HOOKS:-no}" = yes ]; then
	stop_gateway acme-prod
	before=$(count_lines "$T/relay.log" "cluster acme-prod online")
	PORTHOLE_CLOCK_OFFSET=3700 "$GATEWAY_BIN" -f "$CONF" -d \
	    >>"$T/gateway-acme-prod.log" 2>&1 &
	echo $! >"$T/acme-prod/gateway.pid"
	PIDS="$PIDS $!"
	wait_count "$T/relay.log" "cluster acme-prod online" "$before" 10 ||
	    fail "gateway did not come back"
	[ -z "$("$CLI_BIN" -f "$CONF" approvals --json | jq '.[]')" ] &&
	    pass "an approval whose time is up is gone" ||
	    fail "expired approval listed: $("$CLI_BIN" -f "$CONF" approvals)"
	within 20 ssh -F "$T/ssh_config.bob" acme-prod status </dev/null \
	    >/dev/null 2>&1 &
	bob=$!
	bid=$(pending_id bob) && pass "... and its ticket waits again" ||
	    fail "bob did not wait after the approval's end"
	"$CLI_BIN" -f "$CONF" deny "$bid" >/dev/null 2>&1
	wait "$bob"
else
	echo "# built without --enable-test-hooks: the approval's end (an hour later) is not checked"
fi

finish
