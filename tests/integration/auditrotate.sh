#!/bin/sh
# A long-running gateway's audit log is rotated after a seal into parts
# named for their first seq, and the chain runs on across them: the
# auditor's tools read the directory as one log (verify with the key and
# the relay's anchors, list, show), and a part removed or cut short is
# caught.
. "$(dirname "$0")/lib.sh"

SEAL_EVERY=4 AUDIT_ROTATE=16K standard_setup
DIR=$T/acme-prod/audit
CONF=$T/acme-prod/porthole.conf
K0=$(cat "$T/acme-prod/audit.k0")
# Sessions until the log has rotated at least twice.
n=0
while [ $n -lt 80 ] && [ "$(ls "$DIR" | grep -c '^audit-[0-9]\{20\}\.log$')" -lt 2 ]; do
	essh acme-prod status >/dev/null 2>&1 || fail "session $n"
	n=$((n + 1))
done
parts=$(ls "$DIR" | grep -c '^audit-[0-9]\{20\}\.log$')
[ "$parts" -ge 2 ] && pass "after $n sessions the log is in $parts parts and audit.log" ||
    fail "no rotation after $n sessions: $(ls "$DIR")"
first=$(ls "$DIR" | grep '^audit-' | head -1)
[ "$first" = "audit-00000000000000000001.log" ] && tail -n 1 "$DIR/$first" | grep -q '"type":"seal"' &&
    pass "the first part is named for seq 1 and ends in a seal" ||
    fail "first part $first: $(tail -n 1 "$DIR/$first" | cut -c1-80)"
for f in "$DIR"/audit-*.log; do
	[ "$(stat -c %s "$f")" -lt $((16384 + 8192)) ] || fail "$f: $(stat -c %s "$f") bytes"
done

essh acme-prod status >/dev/null 2>&1 || fail "the last session"
stop_gateway acme-prod
out=$("$CLI_BIN" audit verify --key "$K0" "$DIR" 2>&1); rc=$?
[ "$rc" -eq 0 ] && echo "$out" | grep -q "$((parts + 1)) files, the chain running on" &&
    echo "$out" | grep -q "seals verified with the key" &&
    pass "audit verify with the key holds across the parts" ||
    fail "verify: rc=$rc $out"
opened=$("$CLI_BIN" -f "$CONF" audit list --type session_opened --json | wc -l)
[ "$opened" -eq $((n + 1)) ] &&
    pass "audit list reads every part: $opened sessions opened" ||
    fail "audit list: $opened of $((n + 1)) session_opened events"
sid=$("$CLI_BIN" -f "$CONF" audit list --type session_opened --json | head -1 |
    sed 's/.*"session":"\([^"]*\)".*/\1/')
grep -q "\"session\":\"$sid\"" "$DIR/$first" &&
    "$CLI_BIN" -f "$CONF" audit show "$sid" | grep -q "session_closed" &&
    pass "audit show gives a session from the first part" ||
    fail "audit show $sid"

# The relay's anchors hold across the parts too.
"$RELAY_BIN" -f "$T/relay.conf" anchors acme-prod >"$T/anchors.txt"
na=$(grep -vc '^#' "$T/anchors.txt")
out=$("$CLI_BIN" audit verify --key "$K0" --anchors "$T/anchors.txt" "$DIR" 2>&1); rc=$?
[ "$rc" -eq 0 ] && [ "$na" -gt 4 ] && echo "$out" | grep -q "$na seal heads held at the relay match" &&
    pass "all $na anchors match lines across the parts" ||
    fail "verify --anchors: rc=$rc $out"

# Tampering with the parts.
second=$(ls "$DIR" | grep '^audit-' | sed -n 2p)
mv "$DIR/$second" "$T/$second"
out=$("$CLI_BIN" audit verify --key "$K0" "$DIR" 2>&1); rc=$?
[ "$rc" -eq 1 ] && echo "$out" | grep -q "a part is missing, added or renamed" &&
    pass "a part taken away is caught" || fail "missing part: rc=$rc $out"
mv "$T/$second" "$DIR/$second"
cp "$DIR/$first" "$T/first.orig"
sed -i '$d' "$DIR/$first"
out=$("$CLI_BIN" audit verify --key "$K0" "$DIR" 2>&1); rc=$?
[ "$rc" -eq 1 ] && echo "$out" | grep -q "$first:.*does not end in a seal" &&
    pass "a part whose closing seal was cut off is caught" || fail "cut part: rc=$rc $out"
cp "$T/first.orig" "$DIR/$first"
"$CLI_BIN" audit verify --key "$K0" "$DIR" >/dev/null 2>&1 ||
    fail "the restored log does not verify"

# The gateway starts again on the rotated log and goes on with it.
start_gateway acme-prod
essh acme-prod status >/dev/null 2>&1 || fail "session after the restart"
stop_gateway acme-prod
out=$("$CLI_BIN" audit verify --key "$K0" "$DIR" 2>&1); rc=$?
[ "$rc" -eq 0 ] && pass "after a restart the log still verifies as one" ||
    fail "verify after restart: rc=$rc $out"
finish
