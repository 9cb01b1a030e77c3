#!/bin/sh
# A reload reaches sessions already open: an OpenSSH ControlMaster keeps one
# session to the gateway, and each capability the customer withdraws is
# refused on it at once, or ends it when it relied on the capability.
. "$(dirname "$0")/lib.sh"

FILES_ENABLED=yes
SETTINGS_ENABLED=yes
CMD_TIMEOUT=120s
standard_setup
CONF=$T/acme-prod/porthole.conf
AUDIT=$T/acme-prod/audit/audit.log
cp "$CONF" "$T/good.conf"
CM=$T/cm
LOG=$T/acme-prod/product/log/app.log
echo "line one" >"$LOG"

# open_master: one session, held open by the ssh master process.
open_master() {
	rm -f "$CM"
	ssh -F "$T/ssh_config" -M -S "$CM" -N acme-prod </dev/null \
	    2>"$T/master.err" &
	MASTER=$!
	n=100
	while [ "$n" -gt 0 ] && ! ssh -S "$CM" -O check acme-prod 2>/dev/null; do
		sleep 0.1; n=$((n - 1))
	done
	[ "$n" -gt 0 ] || fail "master did not open: $(cat "$T/master.err")"
}
# mux COMMAND...: a new channel on the master's session.
mux() {
	ssh -F "$T/ssh_config" -S "$CM" -o ControlMaster=no acme-prod "$@" </dev/null
}
# apply SED-SCRIPT: the good file, edited, reloaded.
apply() {
	sed "$1" "$T/good.conf" >"$CONF"
	"$CLI_BIN" -f "$CONF" reload >/dev/null 2>"$T/reload.err" ||
	    fail "reload ($1): $(cat "$T/reload.err")"
}
# ended PID SECONDS: the process ends within SECONDS.
ended() {
	n=$(($2 * 10))
	while [ "$n" -gt 0 ] && kill -0 "$1" 2>/dev/null; do
		sleep 0.1; n=$((n - 1))
	done
	! kill -0 "$1" 2>/dev/null
}
close_master() {
	ssh -S "$CM" -O exit acme-prod >/dev/null 2>&1
	ended "$MASTER" 5 || kill "$MASTER" 2>/dev/null
	wait "$MASTER" 2>/dev/null
}

open_master
sessions=$(count_lines "$AUDIT" '"type":"session_opened"')
[ "$(mux status 2>/dev/null)" = "cluster acme-prod is healthy" ] &&
    [ "$(mux settings get jvm.heap 2>/dev/null)" = "2g" ] &&
    echo "get $LOG $T/got" | sftp -q -o ControlPath="$CM" \
	-F "$T/ssh_config" -b - acme-prod >/dev/null 2>&1 &&
    cmp -s "$LOG" "$T/got" &&
    pass "one master session carries commands, settings and sftp" ||
    fail "master session: commands, settings or sftp failed"

# A command removed by reload: refused on the open session.
apply '/^greet = /d'
out=$(mux greet world 2>&1); rc=$?
[ "$rc" -ne 0 ] && [ "$out" != "hello world" ] &&
    [ "$(mux status 2>/dev/null)" = "cluster acme-prod is healthy" ] &&
    pass "a command removed by reload is refused on an open session" ||
    fail "removed command on the open session: rc=$rc '$out'"

# Settings switched off: the session that used them ends; a new one is
# refused and the file stays untouched.
cp "$T/acme-prod/product/config/cluster.ini" "$T/before.ini"
apply '/^\[settings\]/,/^\[/ s/^enabled = yes/enabled = no/'
ended "$MASTER" 5 &&
    grep -q '"type":"session_ended".*"reason":"grant withdrawn","detail":"settings are disabled' "$AUDIT" &&
    pass "settings switched off end the session that used them" ||
    fail "settings off: the session that used them goes on"
close_master
out=$(essh acme-prod settings set jvm.heap 1g 2>&1); rc=$?
[ "$rc" -ne 0 ] && echo "$out" | grep -q "disabled" &&
    cmp -s "$T/acme-prod/product/config/cluster.ini" "$T/before.ini" &&
    pass "settings switched off are refused, the file untouched" ||
    fail "settings off: rc=$rc '$out'"

# Files switched off on a session that has not used them yet: sftp on it
# is refused, and the session itself stays.
cp "$T/good.conf" "$CONF"
"$CLI_BIN" -f "$CONF" reload >/dev/null 2>&1
open_master
apply '/^\[files\]/,/^\[/ s/^enabled = yes/enabled = no/'
rm -f "$T/got"
echo "get $LOG $T/got" | sftp -q -o ControlPath="$CM" -F "$T/ssh_config" \
    -b - acme-prod >"$T/sftp.out" 2>&1; rc=$?
[ "$rc" -ne 0 ] && [ ! -s "$T/got" ] &&
    grep -q '"type":"file_refused".*"reason":"file access is disabled' "$AUDIT" &&
    pass "files switched off: sftp refused on an open session" ||
    fail "sftp after files off: rc=$rc $(cat "$T/sftp.out")"
ssh -S "$CM" -O check acme-prod 2>/dev/null &&
    pass "that session stays open: nothing it ran relied on the grant" ||
    fail "the master session ended"
close_master

# A running diagnostic whose grant is withdrawn ends the session.
cp "$T/good.conf" "$CONF"
"$CLI_BIN" -f "$CONF" reload >/dev/null 2>&1
open_master
mux sleepy 60 >/dev/null 2>&1 &
eng=$!
wait_for "$AUDIT" '"command":"sleepy 60"' 10 || fail "sleepy did not start"
apply '/^\[commands\]/,/^\[/ s/^enabled = yes/enabled = no/'
ended "$eng" 5 && ended "$MASTER" 5 &&
    grep -q '"type":"session_ended".*"reason":"grant withdrawn"' "$AUDIT" &&
    pass "commands switched off end the session running one" ||
    fail "commands off: the session running 'sleepy 60' goes on"
wait "$eng" 2>/dev/null
close_master

# The master switch ends an idle session too.
cp "$T/good.conf" "$CONF"
"$CLI_BIN" -f "$CONF" reload >/dev/null 2>&1
open_master
apply '/^\[remote_access\]/,/^\[/ s/^enabled = yes/enabled = no/'
ended "$MASTER" 5 &&
    pass "remote access switched off ends an idle open session" ||
    fail "master switch off: the idle session goes on"
close_master

# An expiry that passes during a session ends it, without any reload.
exp=$(date -u -d '+6 seconds' +%Y-%m-%dT%H:%M:%SZ)
sed "/^require_ticket = /a expires = $exp" "$T/good.conf" >"$CONF"
"$CLI_BIN" -f "$CONF" reload >/dev/null 2>"$T/reload.err" ||
    fail "reload with expires: $(cat "$T/reload.err")"
open_master
ssh -S "$CM" -O check acme-prod 2>/dev/null ||
    fail "no session before the expiry"
ended "$MASTER" 15 &&
    grep -q '"type":"session_ended".*"detail":"remote access grant expired' "$AUDIT" &&
    pass "a session ends when the grant's expiry passes" ||
    fail "expired grant: the session goes on"
close_master
out=$(essh acme-prod status 2>&1); rc=$?
[ "$rc" -eq 255 ] && echo "$out" | grep -qi "expired" &&
    pass "after the expiry new sessions are refused" ||
    fail "after the expiry: rc=$rc '$out'"

finish
