#!/bin/sh
# porthole watch: a customer admin sees a running support shell live,
# read-only, in one tmux pane while the engineer types in another; the
# shell redraws for the watcher and tells the engineer who watches; ^C
# leaves; [remote_access] require_watch holds a shell until someone
# watches.  Every watch is on record.
. "$(dirname "$0")/lib.sh"

command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux is not installed"; exit 77; }

standard_setup
CONF=$T/acme-prod/porthole.conf
AUDIT=$T/acme-prod/audit/audit.log

TM="tmux -L porthole-w$$ -f /dev/null"
$TM new-session -d -s eng -x 100 -y 30 \
    "ssh -F $T/ssh_config -tt acme-prod; echo SSH-EXITED; sleep 30"
trap '$TM kill-server 2>/dev/null; cleanup' EXIT

# screen_has PANE TEXT [SECONDS]: wait until the pane shows TEXT.
screen_has() {
	i=0
	while [ $i -lt $((${3:-10} * 10)) ]; do
		$TM capture-pane -p -t "$1" -S -200 >"$T/screen.$1" 2>/dev/null
		grep -qF -- "$2" "$T/screen.$1" && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
type_line() {
	$TM send-keys -t "$1" -l -- "$2"
	$TM send-keys -t "$1" Enter
}
shell_session() {
	grep '"type":"shell_opened"' "$AUDIT" | tail -n 1 |
	    sed 's/.*"session":"\([0-9a-f]*\)".*/\1/'
}

screen_has eng "support@acme-prod" 15 || fail "no prompt: $(cat "$T/screen.eng")"
sid=$(shell_session)
[ -n "$sid" ] || fail "no shell_opened"
type_line eng "greet before"
screen_has eng "hello before" || fail "greet before"

$TM new-session -d -s adm -x 100 -y 30 \
    "$CLI_BIN -f $CONF watch $sid; echo WATCH-EXITED \$?; sleep 30"
screen_has adm "watching session $sid, read-only" &&
    screen_has adm "support@acme-prod" &&
    ! grep -q "hello before" "$T/screen.adm" &&
    pass "the watcher sees the shell redrawn from the moment they join" ||
    fail "watch start: $(cat "$T/screen.adm")"
screen_has eng "[porthole: uid 0 (root) is watching this shell, read-only]" &&
    pass "the engineer's shell says who is watching" ||
    fail "no watching notice: $(cat "$T/screen.eng")"
grep -q "\"type\":\"session_watched\".*\"session\":\"$sid\".*\"by\":\"uid 0 (root)\"" "$AUDIT" &&
    pass "session_watched names the watcher" ||
    fail "session_watched: $(grep session_watch "$AUDIT")"

type_line eng "greet watcher"
screen_has adm "hello watcher" &&
    pass "what the engineer types shows in the watcher's pane" ||
    fail "live: $(cat "$T/screen.adm")"
# Read-only: the watcher's keys go nowhere.
type_line adm "greet intruder"
sleep 1
if screen_has eng "hello intruder" 1 || screen_has adm "greet intruder" 1; then
	fail "the watcher's keys reached the shell, or look as if they did"
else
	pass "the watcher's keys never reach the shell, and are not echoed"
fi

# A session that is not a shell cannot be watched.
essh acme-prod sleepy 3 >/dev/null 2>&1 &
eng2=$!
wait_for "$AUDIT" '"type":"command_allowed".*"sleepy 3"' 10 || fail "sleepy"
s2=$(grep '"type":"command_allowed".*"sleepy 3"' "$AUDIT" | tail -n 1 |
    sed 's/.*"session":"\([0-9a-f]*\)".*/\1/')
"$CLI_BIN" -f "$CONF" watch "$s2" >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "session $s2 runs no support shell" "$T/err" &&
    pass "a session without a shell cannot be watched" ||
    fail "watch of no shell: rc=$rc $(cat "$T/err")"
wait "$eng2"
"$CLI_BIN" -f "$CONF" watch 0123456789abcdef >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "no such session" "$T/err" &&
    pass "a session that is not there cannot be watched" ||
    fail "watch of nothing: rc=$rc $(cat "$T/err")"

# ^C leaves the watch; the session goes on.
$TM send-keys -t adm C-c
screen_has adm "left the watch of session $sid" && screen_has adm "WATCH-EXITED 0" &&
    wait_for "$AUDIT" "\"type\":\"session_watch_ended\".*\"session\":\"$sid\"" 5 &&
    pass "^C leaves the watch, on record" ||
    fail "leave: $(cat "$T/screen.adm")"
type_line eng "greet after"
screen_has eng "hello after" &&
    screen_has eng "[porthole: uid 0 (root) stopped watching this shell]" &&
    pass "the session goes on, and the engineer is told the watcher left" ||
    fail "after the watch: $(cat "$T/screen.eng")"
type_line eng "exit"
screen_has eng "SSH-EXITED" || fail "shell exit"

# require_watch: the shell waits for a watcher.
sed -i 's/^\[remote_access\]$/[remote_access]\nrequire_watch = yes/' "$CONF"
"$CLI_BIN" -f "$CONF" reload >/dev/null || fail "reload with require_watch"
$TM new-session -d -s eng3 -x 100 -y 30 \
    "ssh -F $T/ssh_config -tt acme-prod; echo SSH-EXITED; sleep 30"
screen_has eng3 "this shell starts once the customer watches it: porthole watch" 15 ||
    fail "held: $(cat "$T/screen.eng3")"
sid3=$(shell_session)
type_line eng3 "greet early"
sleep 1
! screen_has eng3 "support@acme-prod" 1 &&
    ! grep -q "hello early" "$T/screen.eng3" &&
    pass "require_watch: the shell shows nothing and takes no keys before a watcher" ||
    fail "not held: $(cat "$T/screen.eng3")"
$TM new-session -d -s adm3 -x 100 -y 30 \
    "$CLI_BIN -f $CONF watch $sid3; sleep 30"
screen_has eng3 "support@acme-prod" 10 && screen_has adm3 "support@acme-prod" &&
    ! screen_has eng3 "hello early" 1 || fail "release: $(cat "$T/screen.eng3")"
type_line eng3 "greet watched"
screen_has eng3 "hello watched" && screen_has adm3 "hello watched" &&
    pass "... and starts once someone watches, both seeing it" ||
    fail "watched shell: $(cat "$T/screen.adm3")"
type_line eng3 "exit"
screen_has adm3 "session $sid3 ended" 10 &&
    pass "the watch ends with the session" ||
    fail "end: $(cat "$T/screen.adm3")"

finish
