#!/bin/sh
# Fail closed: when the audit log cannot be written, new sessions are
# refused and running ones end; `porthole status` says so; service resumes
# by itself once the log can be written again.
. "$(dirname "$0")/lib.sh"

standard_setup
CONF=$T/acme-prod/porthole.conf
AUDIT=$T/acme-prod/audit/audit.log
GW_PID=$(cat "$T/acme-prod/gateway.pid")

essh acme-prod sleepy 30 >/dev/null 2>&1 &
eng=$!
n=100
while [ "$n" -gt 0 ] && ! running "/bin/sleep 30"; do sleep 0.1; n=$((n - 1)); done

# The disk is "full": the gateway may not grow any file.
size=$(stat -c %s "$AUDIT")
prlimit --pid "$GW_PID" --fsize="$size":unlimited ||
    { fail "prlimit failed"; finish; }
essh acme-prod status >/dev/null 2>"$T/refused.err"; rc=$?
[ "$rc" -ne 0 ] && pass "a new session is refused while the log cannot be written" ||
    fail "session accepted without an audit log (rc=$rc)"
grep -q "porthole: refused: the gateway cannot write its audit log" "$T/refused.err" &&
    pass "the refused engineer is told the audit log cannot be written" ||
    fail "refused engineer saw '$(cat "$T/refused.err")'"
n=50
while kill -0 "$eng" 2>/dev/null && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
! kill -0 "$eng" 2>/dev/null && pass "the running session is ended" ||
    fail "running session goes on without an audit log"
"$CLI_BIN" -f "$CONF" status >"$T/status.out" 2>&1
grep -q "^audit log      FAILING" "$T/status.out" &&
    pass "porthole status shows the audit failure" ||
    fail "status: $(cat "$T/status.out")"
kill -0 "$GW_PID" && [ "$(stat -c %s "$AUDIT")" -eq "$size" ] &&
    pass "the gateway survives and leaves no partial line" ||
    fail "gateway died or the log grew"

# Space again: service resumes without a restart.
prlimit --pid "$GW_PID" --fsize=unlimited:unlimited
wait_for "$AUDIT" '"type":"audit_resumed"' 5 &&
    pass "writing resumes and is recorded" || fail "no audit_resumed"
out=$(essh acme-prod status 2>/dev/null)
[ "$out" = "cluster acme-prod is healthy" ] &&
    "$CLI_BIN" -f "$CONF" status | grep -q "^audit log      ok" &&
    pass "sessions are accepted again" || fail "after resume: '$out'"
out=$("$CLI_BIN" audit verify --key "$(cat "$T/acme-prod/audit.k0")" \
    "$T/acme-prod/audit" 2>&1); rc=$?
[ "$rc" -eq 0 ] && pass "the log verifies after the outage" ||
    fail "verify after outage: $out"

finish
