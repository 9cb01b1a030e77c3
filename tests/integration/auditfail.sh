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
audit_failing "$eng"
kill -0 "$GW_PID" && [ "$(stat -c %s "$AUDIT")" -eq "$size" ] &&
    pass "the gateway survives and leaves no partial line" ||
    fail "gateway died or the log grew"

# Space again: service resumes without a restart.
prlimit --pid "$GW_PID" --fsize=unlimited:unlimited
audit_resumed
out=$("$CLI_BIN" audit verify --key "$(cat "$T/acme-prod/audit.k0")" \
    "$T/acme-prod/audit" 2>&1); rc=$?
[ "$rc" -eq 0 ] && pass "the log verifies after the outage" ||
    fail "verify after outage: $out"

finish
