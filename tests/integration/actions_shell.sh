#!/bin/sh
# [actions] from the support shell: `action NAME [WORDS]` typed at the
# prompt waits for the customer's `porthole action approve ID` as
# `ssh ... action NAME` does, shows its output, and comes back to the
# prompt; ^C while it waits withdraws it, and a shell that ends while it
# waits takes it away too; with [actions] off the shell says so.
# Driven with the stock ssh in a tmux pane.
. "$(dirname "$0")/lib.sh"

command -v tmux >/dev/null 2>&1 || { echo "# no tmux"; exit 77; }

standard_setup
CONF=$T/acme-prod/porthole.conf
AUDIT=$T/acme-prod/audit/audit.log
MARK=$T/acme-prod/product/version

cat >"$T/upgrade.sh" <<EOS
#!/bin/sh
echo "upgrading-to-\$1"
echo "\$1" >>"$MARK"
EOS
chmod 755 "$T/upgrade.sh"
cat >>"$CONF" <<EOC

[actions]
enabled = yes
approval = required
upgrade = $T/upgrade.sh {version:word}
EOC
"$CLI_BIN" -f "$CONF" reload >/dev/null || fail "reload with [actions]"

shell_tmux "$$" 120 40 \
    "ssh -F $T/ssh_config -tt acme-prod; echo SSH-EXITED \$?; sleep 30"

screen_has "support@acme-prod" 15 || fail "no prompt: $(cat "$T/screen")"
type_line "help"
screen_has "action NAME [WORDS]" &&
    pass "help lists the action command when [actions] lists some" ||
    fail "help: $(cat "$T/screen")"

# Asked for at the prompt: it waits, the customer approves, it runs.
type_line "action upgrade 2.4.1"
id=$(listed_id "$CONF" actions waiting) || fail "no action waiting: $(cat "$T/screen")"
screen_has "porthole: action upgrade waits for the customer's approval (porthole action approve $id)" &&
    [ ! -e "$MARK" ] &&
    pass "an action typed in the shell waits, and the engineer reads its id" ||
    fail "waiting in the shell: $(tail -5 "$T/screen")"
"$CLI_BIN" -f "$CONF" action approve "$id" >/dev/null || fail "approve $id"
screen_has "upgrading-to-2.4.1" &&
    wait_for "$AUDIT" "\"type\":\"action_finished\".*\"action_id\":\"$id\".*\"exit_status\":0," 10 &&
    [ "$(cat "$MARK")" = "2.4.1" ] &&
    type_line "status" && screen_has "cluster acme-prod is healthy" &&
    pass "approved: it runs, its output shows in the shell, on record, and the prompt is back" ||
    fail "approved in the shell: $(tail -5 "$T/screen") $(grep "$id" "$AUDIT" | tail -1)"

# ^C while it waits withdraws it: nothing runs, the prompt is back.
type_line "action upgrade 3.0"
id2=$(listed_id "$CONF" actions waiting) || fail "no second action waiting"
screen_has "porthole action approve $id2" || fail "second wait: $(tail -3 "$T/screen")"
$TM send-keys C-c
wait_for "$AUDIT" "\"type\":\"action_withdrawn\".*\"action_id\":\"$id2\"" 10 &&
    ! "$CLI_BIN" -f "$CONF" actions | grep -q "$id2" &&
    type_line "greet after-ctrl-c" && screen_has "hello after-ctrl-c" &&
    [ "$(cat "$MARK")" = "2.4.1" ] &&
    pass "^C while it waits withdraws it, on record; the shell goes on" ||
    fail "^C: $(tail -5 "$T/screen") $(grep "$id2" "$AUDIT")"
"$CLI_BIN" -f "$CONF" action approve "$id2" >/dev/null 2>&1 &&
    fail "a withdrawn action could be approved"

# Not listed: refused at the prompt, on record.
type_line "action reboot"
screen_has "action 'reboot' is not allowed on this cluster" &&
    wait_for "$AUDIT" '"type":"action_refused".*"command":"reboot"' 5 &&
    pass "an action that is not listed is refused in the shell, on record" ||
    fail "unlisted in the shell: $(tail -3 "$T/screen")"

# The engineer's terminal goes while one waits: it is withdrawn.
type_line "action upgrade 4.0"
id3=$(listed_id "$CONF" actions waiting) || fail "no third action waiting"
$TM kill-server 2>/dev/null
wait_for "$AUDIT" "\"type\":\"action_withdrawn\".*\"action_id\":\"$id3\"" 10 &&
    ! "$CLI_BIN" -f "$CONF" actions | grep -q "$id3" &&
    pass "a shell that ends while its action waits takes the action away" ||
    fail "shell gone: $(grep "$id3" "$AUDIT")"
[ "$(cat "$MARK")" = "2.4.1" ] || fail "an action ran that nobody approved: $(cat "$MARK")"

# [actions] off: a new shell says so, and the attempt is on record.  (A
# tmux server of its own: the one just killed may still be going away.)
sed -i '/^\[actions\]$/,$ s/^enabled = yes$/enabled = no/' "$CONF"
"$CLI_BIN" -f "$CONF" reload >/dev/null || fail "reload with [actions] off"
shell_tmux "$$-2" 120 40 \
    "ssh -F $T/ssh_config -tt acme-prod; echo SSH-EXITED \$?; sleep 30"
screen_has "support@acme-prod" 15 || fail "no second prompt: $(cat "$T/screen")"
type_line "action upgrade 5.0"
screen_has "actions are not enabled on this cluster" &&
    wait_for "$AUDIT" '"type":"request_refused".*"request":"action","detail":"upgrade"' 5 &&
    ! "$CLI_BIN" -f "$CONF" actions | grep -q waiting &&
    pass "with [actions] off the shell says so, on record, and nothing waits" ||
    fail "actions off: $(tail -3 "$T/screen") $(grep request_refused "$AUDIT")"
$TM kill-server 2>/dev/null

"$CLI_BIN" -f "$CONF" audit verify >"$T/verify" 2>&1 ||
    fail "verify: $(cat "$T/verify")"
finish
