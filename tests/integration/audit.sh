#!/bin/sh
# The auditor's view: the log of real sessions verifies, an edited line is
# found and named, and events can be listed and shown per session.
. "$(dirname "$0")/lib.sh"

SEAL_EVERY=3
standard_setup
CONF=$T/acme-prod/porthole.conf
DIR=$T/acme-prod/audit
essh acme-prod status >/dev/null 2>&1
essh acme-prod cat /etc/shadow >/dev/null 2>&1
wait_count "$DIR/audit.log" '"type":"session_closed"' 1 5 ||
    fail "sessions did not close"
stop_all

out=$("$CLI_BIN" -f "$CONF" audit verify 2>/dev/null); rc=$?
[ "$rc" -eq 0 ] && echo "$out" | grep -q "events, chain intact" &&
    pass "audit verify accepts the untouched log" ||
    fail "verify: rc=$rc out='$out'"

# Seals: checked with the key the customer kept from `porthole audit init`.
K0=$(cat "$T/acme-prod/audit.k0")
out=$("$CLI_BIN" audit verify --key "$K0" "$DIR" 2>/dev/null); rc=$?
[ "$rc" -eq 0 ] && echo "$out" | grep -q "[1-9][0-9]* seals verified with the key" &&
    pass "seals verify with the customer's key" ||
    fail "verify --key: rc=$rc out='$out'"
"$CLI_BIN" audit verify --key "$(printf '%064d' 0)" "$DIR" >"$T/out" 2>&1; rc=$?
[ "$rc" -eq 1 ] && grep -q "does not match the key" "$T/out" &&
    pass "a wrong key is caught" || fail "wrong key: rc=$rc $(cat "$T/out")"
[ "$(awk '{ print $3 }' "$T/acme-prod/state/audit.key")" -gt 0 ] &&
    ! grep -q "$K0" "$T/acme-prod/state/audit.key" &&
    pass "the key on the host has moved on; epoch 0's key is gone from it" ||
    fail "the key file still holds the first key"

# Someone who owns the host rewrites an event and recomputes the whole
# hash chain: the chain alone then looks fine, the seals do not.
cp "$DIR/audit.log" "$T/sealed.log"
line=$(grep -n '"type":"command_refused"' "$DIR/audit.log" | cut -d: -f1)
sed "${line}s/cat \/etc\/shadow/cat \/etc\/motd  /" "$T/sealed.log" |
{
	prev=$(printf '%064d' 0)
	while IFS= read -r l; do
		l=$(printf '%s' "$l" | sed "s/\"prev\":\"[0-9a-f]*\"/\"prev\":\"$prev\"/")
		printf '%s\n' "$l"
		prev=$(printf '%s' "$l" | sha256sum | cut -d' ' -f1)
	done
} >"$DIR/audit.log"
"$CLI_BIN" audit verify "$DIR" >/dev/null 2>&1; rc_nokey=$?
"$CLI_BIN" audit verify --key "$K0" "$DIR" >"$T/out" 2>&1; rc=$?
[ "$rc_nokey" -eq 0 ] && [ "$rc" -eq 1 ] && grep -q "forged or altered" "$T/out" &&
    pass "a rewritten, re-chained log passes the chain check but not the seals" ||
    fail "rechain: no-key rc=$rc_nokey key rc=$rc $(cat "$T/out")"
cp "$T/sealed.log" "$DIR/audit.log"

# list and show
n=$("$CLI_BIN" audit list --engineer alice --json "$DIR" | wc -l)
m=$(grep -c '"engineer":"alice"' "$DIR/audit.log")
[ "$n" -gt 0 ] && [ "$n" -eq "$m" ] &&
    pass "audit list --engineer selects alice's $n events" ||
    fail "list --engineer: $n vs $m"
sid=$(grep '"type":"command_refused"' "$DIR/audit.log" |
    sed 's/.*"session":"\([0-9a-f]*\)".*/\1/')
"$CLI_BIN" audit show "$sid" "$DIR" >"$T/show.out"
grep -q "auth_accepted" "$T/show.out" &&
    grep -q "command=cat /etc/shadow" "$T/show.out" &&
    grep -q "session_closed" "$T/show.out" &&
    ! grep -q "command=status" "$T/show.out" &&
    pass "audit show gives one session's timeline" ||
    fail "show: $(cat "$T/show.out")"
"$CLI_BIN" audit list --type command_refused --json "$DIR" |
    grep -q '"reason":"command '"'"'cat'"'"' is not allowed' &&
    pass "audit list --type filters by event type" || fail "list --type"

# Someone edits a line: verify names the file and the line after it.
cp "$DIR/audit.log" "$T/orig.log"
line=$(grep -n '"type":"command_refused"' "$DIR/audit.log" | cut -d: -f1)
sed -i "${line}s/cat \/etc\/shadow/cat \/etc\/motd  /" "$DIR/audit.log"
out=$("$CLI_BIN" audit verify "$DIR" 2>/dev/null); rc=$?
[ "$rc" -eq 1 ] && echo "$out" | grep -q "audit.log:$((line + 1)): prev does not match" &&
    pass "an edited event is detected at the next line" ||
    fail "tamper: rc=$rc out='$out'"
# A line deleted.
cp "$T/orig.log" "$DIR/audit.log"
sed -i "${line}d" "$DIR/audit.log"
"$CLI_BIN" audit verify "$DIR" >/dev/null 2>&1; rc=$?
[ "$rc" -eq 1 ] && pass "a deleted event is detected" || fail "delete: rc=$rc"
# A line duplicated, two lines swapped, a forged line inserted.
for edit in "${line}p" "${line}{h;d};$((line + 1))G" \
    "${line}i{\"seq\":$line,\"ts\":\"2026-01-01T00:00:00Z\",\"type\":\"x\",\"prev\":\"$(printf '%064d' 0)\"}"; do
	cp "$T/orig.log" "$DIR/audit.log"
	sed -i "$edit" "$DIR/audit.log"
	"$CLI_BIN" audit verify "$DIR" >/dev/null 2>&1; rc=$?
	[ "$rc" -eq 1 ] || fail "edit '$edit' went unnoticed"
done
pass "duplicated, swapped and inserted lines are detected"

# A torn tail from a crash is not tampering.
cp "$T/orig.log" "$DIR/audit.log"
printf '{"seq":99,"ts":"2026-' >>"$DIR/audit.log"
out=$("$CLI_BIN" audit verify "$DIR" 2>/dev/null); rc=$?
[ "$rc" -eq 0 ] && echo "$out" | grep -q "torn" &&
    pass "a torn last line is reported as a crash, not tampering" ||
    fail "torn: rc=$rc out='$out'"

# The newest seal's time edited, and the old one added again as a second
# "ts" (which a JSON reader keeps, and which the seal's MAC covers).  It
# is the log's last line, so no later prev betrays it: only the rule
# that no field appears twice does.
cp "$T/orig.log" "$DIR/audit.log"
last=$(grep -n '"type":"seal"' "$DIR/audit.log" | tail -1 | cut -d: -f1)
sed -i "${last}s/\"ts\":\"\([^\"]*\)\"\(.*\)}\$/\"ts\":\"2030-01-01T00:00:00Z\"\2,\"ts\":\"\1\"}/" "$DIR/audit.log"
grep -q '"ts":"2030-01-01T00:00:00Z".*"ts":"' "$DIR/audit.log" || fail "the seal was not edited"
out=$("$CLI_BIN" audit verify --key "$K0" "$DIR" 2>&1); rc=$?
[ "$rc" -eq 1 ] && echo "$out" | grep -q "audit.log:$last: .*a field twice" &&
    pass "a seal carrying its time twice is caught" ||
    fail "seal ts twice: rc=$rc $out"

# The thief of the host cuts the log back to its first seal and lets the
# gateway go on: its key has moved on since, so the next seal skips
# epochs, and that is caught - with the key and without it.
first=$(grep -n '"type":"seal"' "$T/orig.log" | head -1 | cut -d: -f1)
head -n "$first" "$T/orig.log" >"$DIR/audit.log"
start_relay
start_gateway acme-prod
essh acme-prod status >/dev/null 2>&1
stop_gateway acme-prod
grep -q "audit verify will report the gap" "$T/gateway-acme-prod.log" &&
    pass "the gateway warns that its next seal leaves a gap" ||
    fail "no warning about the epoch gap"
for key in "" "--key $K0"; do
	# shellcheck disable=SC2086
	out=$("$CLI_BIN" audit verify $key "$DIR" 2>&1); rc=$?
	[ "$rc" -eq 1 ] && echo "$out" | grep -q "does not follow epoch 0 (a re-sealed log)" ||
	    fail "cut back and re-sealed (${key:-no key}): rc=$rc $out"
done
pass "a log cut back to an old seal and sealed again with a later key is caught"

finish
