#!/bin/sh
# [actions]: a change the engineer asks for with `ssh ... action NAME
# WORDS` waits for the customer's `porthole action approve ID`, runs
# outside the diagnostic sandbox as the gateway's user, streams its
# output to the engineer and is on record with its argv, approver,
# exit status and output's SHA-256; a denied one changes nothing, one
# nobody decides within approval_timeout expires, and its output file
# goes after [actions] output_keep.
. "$(dirname "$0")/lib.sh"

standard_setup
CONF=$T/acme-prod/porthole.conf
AUDIT=$T/acme-prod/audit/audit.log
STATE=$T/acme-prod/state
MARK=$T/acme-prod/product/version

# The product's upgrade step: it writes where no diagnostic may.
cat >"$T/upgrade.sh" <<EOS
#!/bin/sh
echo "upgrading to \$1"
echo "\$1" >>"$MARK"
echo "done, as \$(id -un), action \$PORTHOLE_ACTION_ID"
EOS
chmod 755 "$T/upgrade.sh"
# One that says something, then waits for the test to read it.
cat >"$T/stream.sh" <<EOS
#!/bin/sh
echo "first line"
while [ ! -e "$T/go" ]; do sleep 0.1; done
echo "second line"
EOS
chmod 755 "$T/stream.sh"
# One that prints a secret, which [redact] stars on its way out.
cat >"$T/leak.sh" <<EOS
#!/bin/sh
echo "db password = hunter2 pool=8"
echo "nothing secret"
EOS
chmod 755 "$T/leak.sh"
cat >>"$CONF" <<EOC

[redact]
pattern.secret = password *= *[^ ]+

[actions]
enabled = yes
approval = required
timeout = 2s
upgrade = $T/upgrade.sh {version:word}
slow = /bin/sleep {s:int}
stream = $T/stream.sh
leak = $T/leak.sh
EOC
"$CLI_BIN" -f "$CONF" reload >/dev/null || fail "reload with [actions]"


# Asked for: it waits, and nothing has changed yet.
ssh -F "$T/ssh_config" acme-prod action upgrade 2.4.1 </dev/null \
    >"$T/out1" 2>"$T/err1" &
eng=$!
id=$(listed_id "$CONF" actions waiting) || fail "no action waiting"
wait_for "$T/err1" "waits for the customer's approval" 10
[ ! -e "$MARK" ] && kill -0 "$eng" 2>/dev/null &&
    grep -q "porthole: action upgrade waits for the customer's approval (porthole action approve $id)" "$T/err1" &&
    pass "the action waits for approval, the engineer is told its id, nothing changed" ||
    fail "waiting: mark=$(cat "$MARK" 2>&1) err=$(cat "$T/err1")"
"$CLI_BIN" -f "$CONF" actions >"$T/list"
grep -q "^$id  *waiting .* alice  *upgrade 2.4.1\$" "$T/list" &&
    "$CLI_BIN" -f "$CONF" actions --json | grep -q "\"id\":\"$id\".*\"argv\":\\[\"$T/upgrade.sh\",\"2.4.1\"\\]" &&
    pass "porthole actions [--json] lists it with its engineer and argv" ||
    fail "actions: $(cat "$T/list")"
grep -q "\"type\":\"action_requested\".*\"action_id\":\"$id\".*\"approval\":\"required\"" "$AUDIT" ||
    fail "no action_requested"

"$CLI_BIN" -f "$CONF" action approve "$id" --reason "upgrade window" \
    >"$T/cli" 2>&1 || fail "action approve: $(cat "$T/cli")"
wait "$eng"; erc=$?
[ "$erc" -eq 0 ] && [ "$(cat "$MARK")" = "2.4.1" ] &&
    grep -q "^upgrading to 2.4.1\$" "$T/out1" &&
    grep -q "^done, as root, action $id\$" "$T/out1" &&
    grep -q "approved by uid 0 (root); it runs now" "$T/err1" &&
    pass "approved: it runs as the gateway's user, changes the file, the engineer reads its output" ||
    fail "approved run: rc=$erc mark=$(cat "$MARK" 2>&1) out=$(cat "$T/out1") err=$(cat "$T/err1")"
grep -q "\"type\":\"action_approved\".*\"action_id\":\"$id\".*\"reason\":\"upgrade window\"" "$AUDIT" ||
    grep "\"type\":\"action_approved\"" "$AUDIT" | grep -q "\"reason\":\"upgrade window\"" ||
    fail "action_approved: $(grep action_approved "$AUDIT")"
fin=$(grep "\"type\":\"action_finished\".*\"action_id\":\"$id\"" "$AUDIT")
sha=$(sha256sum <"$T/out1" | cut -d' ' -f1)
echo "$fin" | grep -q "\"argv\":\\[\"$T/upgrade.sh\",\"2.4.1\"\\]" &&
    echo "$fin" | grep -q "\"approved_by\":\"uid 0 (root)\"" &&
    echo "$fin" | grep -q "\"exit_status\":0," &&
    echo "$fin" | grep -q "\"output_sha256\":\"$sha\"" &&
    cmp -s "$STATE/actions/$id.log" "$T/out1" &&
    pass "action_finished names argv, approver, exit status and the SHA-256 of what the engineer read" ||
    fail "action_finished: $fin (sha of output $sha)"

# Denied with porthole deny ID, as a session would be: nothing changes.
ssh -F "$T/ssh_config" acme-prod action upgrade 9.9 </dev/null \
    >"$T/out2" 2>"$T/err2" &
eng=$!
id2=$(listed_id "$CONF" actions waiting) || fail "no second action waiting"
"$CLI_BIN" -f "$CONF" deny "$id2" >"$T/cli" 2>&1 &&
    grep -q "^action $id2 denied\$" "$T/cli" || fail "deny: $(cat "$T/cli")"
wait "$eng"; erc=$?
[ "$erc" -ne 0 ] && [ "$(cat "$MARK")" = "2.4.1" ] && [ ! -s "$T/out2" ] &&
    grep -q "porthole: action upgrade: denied by uid 0 (root)" "$T/err2" &&
    grep -q "\"type\":\"action_denied\".*\"action_id\":\"$id2\"" "$AUDIT" &&
    ! grep -q "\"type\":\"action_finished\".*\"action_id\":\"$id2\"" "$AUDIT" &&
    pass "denied: nothing runs, nothing changes, the engineer is told, on record" ||
    fail "denied: rc=$erc mark=$(cat "$MARK") err=$(cat "$T/err2")"
"$CLI_BIN" -f "$CONF" action approve "$id2" >/dev/null 2>"$T/err"
[ $? -eq 1 ] && grep -q "no such action (it may have ended)" "$T/err" &&
    pass "an action decided already cannot be approved" ||
    fail "approve after deny: $(cat "$T/err")"

# Anything not listed, or words that do not fit, never wait at all.
essh acme-prod action reboot >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -ne 0 ] && grep -q "porthole: refused: action 'reboot' is not allowed on this cluster" "$T/err" &&
    grep -q '"type":"action_refused".*"command":"reboot"' "$AUDIT" &&
    pass "an action that is not listed is refused, on record" ||
    fail "unlisted: rc=$rc $(cat "$T/err")"
essh acme-prod action upgrade --all >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -ne 0 ] && grep -q "argument '--all' is not a valid word (version)" "$T/err" &&
    pass "a word that is not a valid placeholder value is refused" ||
    fail "bad word: rc=$rc $(cat "$T/err")"
essh acme-prod upgrade 1.0 >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -ne 0 ] && grep -q "command 'upgrade' is not allowed" "$T/err" &&
    pass "an action is no diagnostic: without 'action' it is refused" ||
    fail "as a command: rc=$rc $(cat "$T/err")"

# The engineer leaves while it waits: it is withdrawn.
ssh -F "$T/ssh_config" acme-prod action upgrade 3.0 </dev/null \
    >/dev/null 2>&1 &
eng=$!
id3=$(listed_id "$CONF" actions waiting) || fail "no third action waiting"
kill "$eng"; wait "$eng" 2>/dev/null
wait_for "$AUDIT" "\"type\":\"action_withdrawn\".*\"action_id\":\"$id3\"" 10 &&
    ! "$CLI_BIN" -f "$CONF" actions | grep -q "$id3" &&
    "$CLI_BIN" -f "$CONF" action approve "$id3" >/dev/null 2>&1; rc=$?
[ "$rc" -eq 1 ] && [ "$(cat "$MARK")" = "2.4.1" ] &&
    pass "the engineer left before the decision: withdrawn, and it cannot run" ||
    fail "withdrawn: rc=$rc $(grep "$id3" "$AUDIT")"

# One that outlives [actions] timeout is stopped, and says so.
ssh -F "$T/ssh_config" acme-prod action slow 30 </dev/null \
    >/dev/null 2>"$T/err4" &
eng=$!
id4=$(listed_id "$CONF" actions waiting) || fail "no slow action waiting"
"$CLI_BIN" -f "$CONF" approve "$id4" >/dev/null || fail "approve slow"
wait "$eng"; erc=$?
[ "$erc" -eq 124 ] && grep -q "porthole: action slow: timed out after 2s" "$T/err4" &&
    grep -q "\"type\":\"action_finished\".*\"action_id\":\"$id4\".*\"timed_out\":true" "$AUDIT" &&
    pass "an action past its timeout is stopped, the engineer told, on record" ||
    fail "timeout: rc=$erc $(cat "$T/err4") $(grep "action_finished.*$id4" "$AUDIT")"

# Its output reaches the engineer as it comes, not when it ends.
ssh -F "$T/ssh_config" acme-prod action stream </dev/null >"$T/out5" \
    2>/dev/null &
eng=$!
id5=$(listed_id "$CONF" actions waiting) || fail "no stream action waiting"
"$CLI_BIN" -f "$CONF" action approve "$id5" >/dev/null || fail "approve stream"
wait_for "$T/out5" "first line" 10 && ! grep -q "second" "$T/out5" &&
    pass "the engineer reads its output while it runs" ||
    fail "streaming: $(cat "$T/out5")"
touch "$T/go"
wait "$eng" && grep -q "second line" "$T/out5" || fail "stream end: $(cat "$T/out5")"

# Nobody decides within [remote_access] approval_timeout, the bound a
# waiting session has: it expires, the engineer is told once and ends
# non-zero, the customer sees it expired and can no longer decide it.
sed -i '/^\[remote_access\]$/a approval_timeout = 10s' "$CONF"
"$CLI_BIN" -f "$CONF" reload >/dev/null 2>"$T/err" ||
    fail "reload with approval_timeout = 10s: $(cat "$T/err")"
ssh -F "$T/ssh_config" acme-prod action upgrade 7.0 </dev/null \
    >"$T/out8" 2>"$T/err8" &
eng=$!
id8=$(listed_id "$CONF" actions waiting) || fail "no action waiting to expire"
n=250
while kill -0 "$eng" 2>/dev/null && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
kill "$eng" 2>/dev/null
wait "$eng"; erc=$?
[ "$erc" -eq 1 ] && [ "$(cat "$MARK")" = "2.4.1" ] && [ ! -s "$T/out8" ] &&
    [ "$(grep -c "not approved in time" "$T/err8")" -eq 1 ] &&
    grep -qx "porthole: action upgrade: not approved in time: nobody decided it within approval_timeout (10s)" "$T/err8" &&
    pass "nobody approved the action within approval_timeout: it ends, the engineer told in one line, exit 1" ||
    fail "action expiry: rc=$erc mark=$(cat "$MARK") err=$(cat "$T/err8")"
ev=$(grep "\"type\":\"action_denied\".*\"action_id\":\"$id8\"" "$AUDIT")
"$CLI_BIN" -f "$CONF" actions >"$T/list"
grep -q "^$id8  *expired .* alice  *upgrade 7.0\$" "$T/list" &&
    "$CLI_BIN" -f "$CONF" actions --json | grep -q "\"id\":\"$id8\"[^}]*\"state\":\"expired\"" &&
    echo "$ev" | grep -q '"by":"timeout"' &&
    echo "$ev" | grep -q '"reason":"not approved in time: nobody decided it within approval_timeout (10s)"' &&
    echo "$ev" | grep -q "\"argv\":\\[\"$T/upgrade.sh\",\"7.0\"\\]" &&
    ! grep -q "\"type\":\"action_finished\".*\"action_id\":\"$id8\"" "$AUDIT" &&
    pass "the expired action is listed as expired and on record as denied by timeout, with the reason" ||
    fail "expired listing/audit: $(cat "$T/list") ev=$ev"
"$CLI_BIN" -f "$CONF" action approve "$id8" >/dev/null 2>"$T/err"; rc=$?
"$CLI_BIN" -f "$CONF" deny "$id8" >/dev/null 2>"$T/err2"; rc2=$?
[ "$rc" -eq 1 ] && [ "$rc2" -eq 1 ] &&
    grep -q "^porthole: action approve: action $id8 expired at .*: nobody decided it within approval_timeout; the engineer must ask again\$" "$T/err" &&
    grep -q "action $id8 expired at " "$T/err2" &&
    [ "$(cat "$MARK")" = "2.4.1" ] && sleep 1 && [ "$(cat "$MARK")" = "2.4.1" ] &&
    pass "approve or deny after the expiry is refused with a clear line; nothing runs" ||
    fail "decide after expiry: rc=$rc/$rc2 $(cat "$T/err" "$T/err2")"

# approval = none: it runs at once, and that is on record as such.
# ([remote_access] approval is none already; this is [actions]'.)
sed -i 's/^approval = required$/approval = none/' "$CONF"
"$CLI_BIN" -f "$CONF" reload >/dev/null || fail "reload with approval = none"
essh acme-prod action upgrade 2.5 >"$T/out6" 2>"$T/err6"; rc=$?
[ "$rc" -eq 0 ] && [ "$(tail -n 1 "$MARK")" = "2.5" ] &&
    ! grep -q "waits" "$T/err6" &&
    grep -q '"type":"action_requested".*"approval":"none"' "$AUDIT" &&
    grep -q '"type":"action_finished".*"approved_by":"approval = none"' "$AUDIT" &&
    pass "approval = none: it runs at once, on record as such" ||
    fail "approval none: rc=$rc $(cat "$T/err6") $(grep action_finished "$AUDIT" | tail -n 1)"

# [redact] stars what an action prints, and counts it on the record.
essh acme-prod action leak >"$T/out7" 2>"$T/err7"; rc=$?
lid=$(grep '"type":"action_requested".*"argv":\["'"$T"'/leak.sh"\]' "$AUDIT" |
    sed 's/.*"action_id":"\([0-9a-f]*\)".*/\1/' | tail -n 1)
[ "$rc" -eq 0 ] && grep -qx "db \*\{18\} pool=8" "$T/out7" &&
    grep -qx "nothing secret" "$T/out7" && ! grep -q hunter2 "$T/out7" &&
    grep -q "\"type\":\"action_output\".*\"redactions\":1.*\"action\":\"$lid\"" "$AUDIT" &&
    ! grep -q hunter2 "$AUDIT" &&
    pass "an action's output is redacted on its way to the engineer, the matches on record" ||
    fail "redacted action: rc=$rc out=$(cat "$T/out7") $(grep action_output "$AUDIT")"

# The gateway stops while one runs: it is stopped, and that is on record.
essh acme-prod action slow 47 >/dev/null 2>&1 &
eng=$!
wait_for "$AUDIT" '"type":"action_requested".*"argv":\["/bin/sleep","47"\],"approval":"none"' 10 ||
    fail "no slow action under approval = none"
sleep 0.5
stop_gateway acme-prod
wait "$eng" 2>/dev/null
grep -q '"type":"action_finished".*"argv":\["/bin/sleep","47"\].*"result":"stopped: the gateway stops"' "$AUDIT" &&
    ! pgrep -f "^/bin/sleep 47$" >/dev/null &&
    pass "an action running when the gateway stops is stopped, on record" ||
    fail "stop: $(grep action_finished "$AUDIT" | tail -n 1)"

# An output older than [actions] output_keep (30 days) is removed at the
# next start (and hourly); a newer one, and a file the gateway did not
# name, stay.  Its SHA-256 stays in the audit log.
old=$(( $(date +%s) - 31 * 86400 ))
touch -d "@$old" "$STATE/actions/$id.log"
echo "the operator's" >"$STATE/actions/notes.txt"
touch -d "@$old" "$STATE/actions/notes.txt"
[ -f "$STATE/actions/$id.log" ] && [ -f "$STATE/actions/$id5.log" ] ||
    fail "no action outputs to keep or remove: $(ls "$STATE/actions")"
start_gateway acme-prod
wait_for "$T/gateway-acme-prod.log" "action output older than output_keep (30d) removed" 10
[ ! -e "$STATE/actions/$id.log" ] && [ -f "$STATE/actions/$id5.log" ] &&
    [ -f "$STATE/actions/notes.txt" ] &&
    grep -q "\"type\":\"action_finished\".*\"action_id\":\"$id\".*\"output_sha256\":\"$sha\"" "$AUDIT" &&
    pass "an action's output older than output_keep is removed, a newer one and other files stay" ||
    fail "output_keep: $(ls "$STATE/actions") $(grep "output_keep" "$T/gateway-acme-prod.log")"
stop_gateway acme-prod

"$CLI_BIN" -f "$CONF" audit verify >"$T/verify" 2>&1 &&
    pass "the audit log with its actions verifies" || fail "verify: $(cat "$T/verify")"

finish
