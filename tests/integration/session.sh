#!/bin/sh
# An engineer reaches a cluster through the relay with the stock OpenSSH
# client and runs what the customer allowed, and nothing else.
. "$(dirname "$0")/lib.sh"

# Bulk transfers below must not race the diagnostics' timeout on a busy
# machine: a stall would show as a hang, not as a truncated transfer.
CMD_TIMEOUT=120s
standard_setup
AUDIT=$T/acme-prod/audit/audit.log

# An allowed diagnostic: its output and exit status reach the engineer.
out=$(essh acme-prod status 2>"$T/err"); rc=$?
[ "$rc" -eq 0 ] && [ "$out" = "cluster acme-prod is healthy" ] &&
    pass "allowed command runs" ||
    fail "allowed command: rc=$rc out='$out' err='$(cat "$T/err")'"

# Placeholders take the engineer's words, validated.
out=$(essh acme-prod greet world 2>/dev/null)
[ "$out" = "hello world" ] && pass "argument fills a {word} placeholder" ||
    fail "greet world gave '$out'"
essh acme-prod greet 'a;b' >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -ne 0 ] && grep -q "refused" "$T/err" &&
    pass "invalid argument refused" || fail "greet 'a;b': rc=$rc"
essh acme-prod greet >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -ne 0 ] && grep -q "needs 1 argument" "$T/err" &&
    pass "missing argument refused" ||
    fail "greet without argument: rc=$rc err='$(cat "$T/err")'"

# The remote exit status is the command's.
essh acme-prod fail >/dev/null 2>&1; rc=$?
[ "$rc" -eq 1 ] && pass "exit status passes through" ||
    fail "fail gave exit status $rc"

# An unlisted command is refused with a reason and a non-zero exit.
out=$(essh acme-prod cat /etc/shadow 2>"$T/err"); rc=$?
[ "$rc" -ne 0 ] && [ -z "$out" ] &&
    grep -q "porthole: refused: command 'cat' is not allowed" "$T/err" &&
    pass "unlisted command refused" ||
    fail "unlisted command: rc=$rc out='$out' err='$(cat "$T/err")'"

# The support shell is not a way around the allow-list: without a
# terminal it reads commands from stdin, and only its own commands.
out=$(printf 'status\nsh -c id\nexit\n' | ssh -F "$T/ssh_config" -T acme-prod 2>&1); rc=$?
if [ "$rc" -eq 0 ] && echo "$out" | grep -q "cluster acme-prod is healthy" &&
    echo "$out" | grep -q "unknown command 'sh'" && ! echo "$out" | grep -q "uid="; then
	pass "the support shell runs allowed commands only"
else
	fail "shell from stdin: rc=$rc out='$out'"
fi

# Bulk output crosses relay and tunnel intact (flow control both ways).
n=$(essh acme-prod lines 20000000 2>/dev/null | wc -c)
[ "$n" -eq 20000000 ] && pass "20 MB of output arrives whole" ||
    fail "bulk output: $n bytes"

# Key re-exchanges on every hop in the middle of a transfer lose nothing.
sed 's/^Host \*$/Host *\n\tRekeyLimit 4M/' "$T/ssh_config" >"$T/ssh_config.rekey"
n=$(ssh -F "$T/ssh_config.rekey" acme-prod lines 40000000 2>"$T/err" </dev/null | wc -c)
if [ "$n" -eq 40000000 ]; then
	pass "40 MB arrive whole across repeated rekeys"
else
	fail "rekeyed transfer: $n bytes; ssh said: $(head -c 600 "$T/err");" \
	    "audit: $(grep '"command":"lines 40000000"' "$AUDIT" | tail -n 1)"
fi

# Input the engineer sends while a command runs is carried too.
n=$(head -c 3000000 /dev/zero | ssh -F "$T/ssh_config" acme-prod status 2>/dev/null | wc -l)
[ "$n" -eq 1 ] && pass "engineer input does not disturb the session" ||
    fail "session with input: $n lines"

# The audit log tells who did what.
grep -q '"type":"auth_accepted".*"engineer":"alice".*"ticket":"SUP-1234"' "$AUDIT" &&
    pass "audit: login with engineer and ticket" || fail "no auth_accepted line"
grep -q '"type":"command_refused".*"command":"cat /etc/shadow"' "$AUDIT" &&
    pass "audit: refused command" || fail "no command_refused line"
grep -q '"type":"command_finished".*"command":"status".*"exit_status":0' "$AUDIT" &&
    pass "audit: finished command" || fail "no command_finished line"
wait_for "$AUDIT" '"type":"session_closed"' 5 &&
    grep -q '"type":"session_closed".*"bytes_out":[1-9]' "$AUDIT" &&
    pass "audit: session closed with byte counts" ||
    fail "no session_closed line with bytes"
grep -q '"seq":1,"ts":"[0-9T:-]*Z","type":"gateway_start","prev":"0\{64\}"' "$AUDIT" &&
    pass "audit: first line starts the chain" || fail "audit chain start"

# Two sessions at once.
essh acme-prod sleepy 2 >/dev/null 2>&1 &
p1=$!
out=$(essh acme-prod status 2>/dev/null)
wait $p1; rc=$?
[ "$rc" -eq 0 ] && [ "$out" = "cluster acme-prod is healthy" ] &&
    pass "two sessions at once" || fail "concurrent sessions: rc=$rc"

# A diagnostic that runs too long is killed at the timeout.
finish
