#!/bin/sh
# The policy on the record: at start and at each reload the gateway
# keeps the effective policy (what `porthole policy show` prints) under
# audit_dir/policies/SHA256.conf and names it in a policy_loaded event;
# `audit show` says which policy a session ran under, `audit policy`
# prints it, and `audit verify` fails when a kept policy was edited.
. "$(dirname "$0")/lib.sh"

standard_setup
CONF=$T/acme-prod/porthole.conf
AUDIT=$T/acme-prod/audit/audit.log
ADIR=$T/acme-prod/audit

sha_of_show() {
	"$CLI_BIN" policy show "$CONF" | sha256sum | cut -d' ' -f1
}

first=$(sha_of_show)
grep -q "\"type\":\"policy_loaded\".*\"sha256\":\"$first\".*\"on\":\"start\"" "$AUDIT" &&
    [ "$(stat -c %a "$ADIR/policies/$first.conf")" = 444 ] &&
    pass "at start the effective policy is kept read-only and named by its SHA-256" ||
    fail "start: $(grep policy_loaded "$AUDIT")"
essh acme-prod status >/dev/null 2>&1 || fail "first session"
s1=$(sed -n 's/.*"type":"auth_accepted".*"session":"\([0-9a-f]*\)".*/\1/p' "$AUDIT" | tail -n 1)

# A session that runs across a reload, and a reload that changes grants.
essh acme-prod sleepy 4 >/dev/null 2>&1 &
eng=$!
wait_for "$AUDIT" '"type":"command_allowed".*"sleepy 4"' 10 || fail "sleepy"
s2=$(sed -n 's/.*"type":"command_allowed".*"session":"\([0-9a-f]*\)".*"sleepy 4".*/\1/p' "$AUDIT" |
    tail -n 1)
[ -n "$s2" ] || s2=$(grep '"sleepy 4"' "$AUDIT" | sed -n 's/.*"session":"\([0-9a-f]*\)".*/\1/p' | tail -n 1)
sed -i 's/^timeout = 10s/timeout = 20s/' "$CONF"
"$CLI_BIN" -f "$CONF" reload >/dev/null || fail "reload"
second=$(sha_of_show)
[ "$second" != "$first" ] &&
    grep -q "\"type\":\"policy_loaded\".*\"sha256\":\"$second\".*\"on\":\"reload\".*\"by\":\"uid 0 (root)\"" "$AUDIT" &&
    pass "a reload keeps the new policy and names it, with who reloaded" ||
    fail "reload: $(grep policy_loaded "$AUDIT" | tail -n 1)"
wait "$eng"
essh acme-prod status >/dev/null 2>&1 || fail "third session"
s3=$(sed -n 's/.*"type":"auth_accepted".*"session":"\([0-9a-f]*\)".*/\1/p' "$AUDIT" | tail -n 1)

"$CLI_BIN" -f "$CONF" audit show "$s1" >"$T/show1"
"$CLI_BIN" -f "$CONF" audit show "$s3" >"$T/show3"
"$CLI_BIN" -f "$CONF" audit show "$s2" >"$T/show2"
grep -q "^policy $first (in force since seq" "$T/show1" &&
    grep -q "^policy $second (in force since seq" "$T/show3" &&
    pass "audit show names the policy each session ran under" ||
    fail "audit show: $(head -n 1 "$T/show1") / $(head -n 1 "$T/show3")"
grep -q "^policy $first " "$T/show2" &&
    grep -q "policy reloaded while it ran: $second" "$T/show2" &&
    pass "... and a reload while it ran" ||
    fail "audit show across a reload: $(cat "$T/show2")"
"$CLI_BIN" -f "$CONF" audit policy "$second" >"$T/kept" &&
    "$CLI_BIN" policy show "$CONF" | cmp -s - "$T/kept" &&
    pass "audit policy SHA prints the kept policy, as policy show printed it" ||
    fail "audit policy: $(head -n 3 "$T/kept")"
"$CLI_BIN" -f "$CONF" audit policy 1234 >/dev/null 2>"$T/err"
[ $? -eq 1 ] && grep -q "is not a SHA-256" "$T/err" &&
    pass "audit policy refuses what is not a SHA-256" || fail "bad sha: $(cat "$T/err")"

"$CLI_BIN" -f "$CONF" audit verify >"$T/verify" 2>&1 &&
    grep -q "policies/: 2 policies match their names and the audit log\|/policies: 2 policies match" "$T/verify" &&
    pass "audit verify holds the kept policies to the log" ||
    fail "verify: $(cat "$T/verify")"

# Someone widens the grants in a kept policy after the fact.
chmod u+w "$ADIR/policies/$first.conf"
sed -i 's/^enabled = no/enabled = yes/' "$ADIR/policies/$first.conf"
"$CLI_BIN" -f "$CONF" audit verify >"$T/verify" 2>&1; rc=$?
[ "$rc" -eq 1 ] && grep -q "$first.conf: does not match its name" "$T/verify" &&
    pass "an edited kept policy fails audit verify (exit 1)" ||
    fail "verify after edit: rc=$rc $(cat "$T/verify")"
"$CLI_BIN" -f "$CONF" audit policy "$first" >/dev/null 2>"$T/err"
[ $? -eq 1 ] && grep -q "does not match its name" "$T/err" &&
    pass "... and audit policy refuses to print it" || fail "audit policy of an edited file"
rm -f "$ADIR/policies/$first.conf"
"$CLI_BIN" -f "$CONF" audit verify >"$T/verify" 2>&1; rc=$?
[ "$rc" -eq 1 ] && grep -q "$first.conf: No such file or directory (named by the audit log, seq" "$T/verify" &&
    pass "a kept policy taken away fails audit verify" ||
    fail "verify after rm: rc=$rc $(cat "$T/verify")"

finish
