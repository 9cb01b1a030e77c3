#!/bin/sh
# approval = required: a session waits until the customer approves or
# denies it, the engineer is told, and every decision is audited.
. "$(dirname "$0")/lib.sh"

APPROVAL=required
standard_setup
CONF=$T/acme-prod/porthole.conf
AUDIT=$T/acme-prod/audit/audit.log

# pending_id: wait for a pending session and print its id.
pending_id() {
	n=100
	while [ "$n" -gt 0 ]; do
		id=$("$CLI_BIN" -f "$CONF" sessions 2>/dev/null |
		    awk '$2 == "pending" { print $1 }' | head -n 1)
		[ -n "$id" ] && { echo "$id"; return 0; }
		sleep 0.1; n=$((n - 1))
	done
	return 1
}

essh acme-prod status >"$T/out1" 2>"$T/err1" &
eng=$!
id=$(pending_id) && pass "the session waits in state pending" ||
    fail "no pending session"
"$CLI_BIN" -f "$CONF" sessions | grep -q "pending  alice .*SUP-1234 .*alice@vendor " &&
    pass "porthole sessions shows engineer, ticket and key id of the waiting session" ||
    fail "sessions listing of the pending session"
kill -0 "$eng" 2>/dev/null && [ ! -s "$T/out1" ] &&
    pass "nothing runs before approval" || fail "ran before approval"
"$CLI_BIN" -f "$CONF" approve "$id" >/dev/null; rc=$?
wait $eng; erc=$?
[ "$rc" -eq 0 ] && [ "$erc" -eq 0 ] &&
    [ "$(cat "$T/out1")" = "cluster acme-prod is healthy" ] &&
    pass "approved: the command runs" ||
    fail "approve: rc=$rc ssh rc=$erc out='$(cat "$T/out1")'"
grep -q "waits for the customer's approval" "$T/err1" &&
    pass "the engineer is told the session waits for approval" ||
    fail "no waiting notice: '$(cat "$T/err1")'"
grep -q '"type":"session_approved".*"by":"uid ' "$AUDIT" &&
    grep -q '"type":"session_pending".*"ticket":"SUP-1234"' "$AUDIT" &&
    pass "audit: pending and approved, with who decided" ||
    fail "approval not audited"

essh acme-prod status >"$T/out2" 2>"$T/err2" &
eng=$!
id=$(pending_id)
"$CLI_BIN" -f "$CONF" deny "$id" >/dev/null; rc=$?
wait $eng; erc=$?
[ "$rc" -eq 0 ] && [ "$erc" -eq 255 ] && [ ! -s "$T/out2" ] &&
    grep -q "the customer denied this session" "$T/err2" &&
    pass "denied: the engineer is refused and told why" ||
    fail "deny: rc=$rc ssh rc=$erc err='$(cat "$T/err2")'"
grep -q '"type":"session_denied"' "$AUDIT" &&
    pass "audit: denial" || fail "denial not audited"
"$CLI_BIN" -f "$CONF" approve "$id" >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && pass "a decided session cannot be approved again" ||
    fail "re-approve rc=$rc"

# The engineer hangs up while the session waits: it ends at once, on
# the record, and nobody can approve it afterwards.
ssh -F "$T/ssh_config" acme-prod status </dev/null >/dev/null 2>&1 &
eng=$!
id=$(pending_id) || fail "no pending session to hang up on"
kill "$eng"
wait "$eng" 2>/dev/null
wait_for "$AUDIT" "\"type\":\"session_ended\".*\"session\":\"$id\".*\"reason\":\"the engineer left before the customer decided\"" 10 &&
    pass "a pending session whose engineer hung up is ended, audited" ||
    fail "hung-up pending session $id not ended: $(grep "$id" "$AUDIT" | tail -n 2)"
"$CLI_BIN" -f "$CONF" approve "$id" >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && ! grep -q "\"type\":\"auth_accepted\".*\"session\":\"$id\"" "$AUDIT" &&
    pass "porthole approve on it is refused; it never logs in" ||
    fail "approve after hang-up: rc=$rc $(cat "$T/err")"
wait_for "$AUDIT" "\"type\":\"session_closed\".*\"session\":\"$id\".*\"exit_status\":1" 5 &&
    pass "it closes with exit status 1, not as a session that ran" ||
    fail "close of $id: $(grep "\"session_closed\".*$id" "$AUDIT")"

# Nobody decides within approval_timeout: the session is refused.
sed '/^approval = /a approval_timeout = 10s' "$CONF" >"$T/timeout.conf"
cp "$T/timeout.conf" "$CONF"
"$CLI_BIN" -f "$CONF" reload >/dev/null 2>"$T/err" ||
    fail "reload with approval_timeout: $(cat "$T/err")"
essh acme-prod status >"$T/out3" 2>"$T/err3" &
eng=$!
id=$(pending_id) || fail "no pending session before the timeout"
n=250
while kill -0 "$eng" 2>/dev/null && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
wait $eng; erc=$?
[ "$erc" -eq 255 ] && [ ! -s "$T/out3" ] &&
    grep -q "nobody approved this session in time" "$T/err3" &&
    grep -q "\"type\":\"session_denied\".*\"session\":\"$id\".*\"by\":\"timeout\"" "$AUDIT" &&
    pass "nobody approved within approval_timeout: refused, told, audited" ||
    fail "approval timeout: ssh rc=$erc err='$(cat "$T/err3")'"

finish
