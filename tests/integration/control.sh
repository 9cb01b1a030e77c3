#!/bin/sh
# The customer's live view and control: porthole status, sessions and
# kill, over the gateway's control socket, refused to other users.
. "$(dirname "$0")/lib.sh"

standard_setup
CONF=$T/acme-prod/porthole.conf
AUDIT=$T/acme-prod/audit/audit.log

out=$("$CLI_BIN" -f "$CONF" status); rc=$?
[ "$rc" -eq 0 ] && echo "$out" | grep -q "relay .*127.0.0.1:$RELAY_PORT (tunnel up since 20" &&
    echo "$out" | grep -q "^sandbox        seccomp" &&
    pass "porthole status shows the tunnel up and the sandbox" ||
    fail "status: rc=$rc out='$out'"

essh acme-prod sleepy 30 >/dev/null 2>"$T/killed.err" &
eng=$!
n=50
while [ "$n" -gt 0 ]; do
	"$CLI_BIN" -f "$CONF" sessions >"$T/sessions.out" 2>&1
	grep -q " alice .*sleepy 30" "$T/sessions.out" && break
	sleep 0.1; n=$((n - 1))
done
grep -q " active   alice .*127.0.0.1:.*  sleepy 30$" "$T/sessions.out" &&
    pass "porthole sessions lists alice's session and what it runs" ||
    fail "sessions: $(cat "$T/sessions.out")"
sid=$(awk '$3 == "alice" { print $1 }' "$T/sessions.out" | head -n 1)
today=$(date -u +%Y-%m-%dT)
grep -q " alice .* alice@vendor .* $today[0-9:]*Z  *[0-9]*s  *[0-9]*s " "$T/sessions.out" &&
    pass "porthole sessions shows the certificate's key id, start time, age and idle time" ||
    fail "sessions columns: $(cat "$T/sessions.out")"
"$CLI_BIN" -f "$CONF" sessions --json >"$T/sessions.json" 2>&1; rc=$?
[ "$rc" -eq 0 ] && [ "$(grep -c . "$T/sessions.json")" -eq 1 ] &&
    grep -q "\"id\":\"$sid\"" "$T/sessions.json" &&
    grep -q '"key_id":"alice@vendor"' "$T/sessions.json" &&
    grep -q '"idle_s":[0-9]' "$T/sessions.json" &&
    grep -q '"doing":"sleepy 30"' "$T/sessions.json" &&
    pass "porthole sessions --json is one JSON document with the same sessions" ||
    fail "sessions --json: rc=$rc $(cat "$T/sessions.json")"

# Someone outside root and admin_group may not use the socket.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	chmod 711 "$T" "$T/acme-prod"
	chmod 644 "$CONF"
	setpriv --reuid nobody --regid nogroup --clear-groups \
	    "$CLI_BIN" -f "$CONF" kill "$sid" >/dev/null 2>"$T/err"; rc=$?
	[ "$rc" -eq 1 ] && grep -q "Permission denied" "$T/err" &&
	    kill -0 "$eng" 2>/dev/null &&
	    pass "another user cannot kill sessions" ||
	    fail "nobody's kill: rc=$rc err='$(cat "$T/err")'"
	as_nobody() {
		setpriv --reuid nobody --regid nogroup --clear-groups \
		    "$CLI_BIN" -f "$CONF" "$@"
	}
	# Past a socket mode opened by mistake, the daemon checks the
	# peer's credentials itself, and puts the knock on record.
	chmod 666 "$T/acme-prod/run/control.sock"
	as_nobody sessions >"$T/nobody.out" 2>"$T/err"; rc=$?
	[ "$rc" -eq 1 ] && ! grep -q alice "$T/nobody.out" &&
	    grep -q "only root.* admin_group ${ADMIN_GROUP:-root}" "$T/err" &&
	    wait_for "$AUDIT" '"type":"control_refused".*"uid":65534' 3 &&
	    pass "a peer outside admin_group is refused by its credentials, audited with its uid" ||
	    fail "nobody past mode 0666: rc=$rc out='$(cat "$T/nobody.out" "$T/err")'"
	# admin_group applies at a reload, to the socket and the check.
	sed -i 's/^admin_group = .*/admin_group = nogroup/' "$CONF"
	"$CLI_BIN" -f "$CONF" reload >/dev/null 2>"$T/err" ||
	    fail "reload with admin_group: $(cat "$T/err")"
	as_nobody sessions >"$T/nobody.out" 2>"$T/err"; rc=$?
	[ "$rc" -eq 0 ] && grep -q " alice " "$T/nobody.out" &&
	    [ "$(stat -c '%G %a' "$T/acme-prod/run/control.sock")" = "nogroup 666" ] &&
	    pass "a reload naming a group as admin_group lets its members in" ||
	    fail "admin_group reload: rc=$rc $(stat -c '%G %a' "$T/acme-prod/run/control.sock") $(cat "$T/err")"
	chmod 660 "$T/acme-prod/run/control.sock"
	sed -i 's/^admin_group = nogroup$/admin_group = root/' "$CONF"
	"$CLI_BIN" -f "$CONF" reload >/dev/null 2>"$T/err" ||
	    fail "reload without admin_group: $(cat "$T/err")"
	# Without the key the default group applies: porthole-admin where
	# it exists (as once the sysusers.d file is installed), else root.
	dflt=root
	getent group porthole-admin >/dev/null && dflt=porthole-admin
	as_nobody sessions >"$T/nobody.out" 2>"$T/err"; rc=$?
	[ "$rc" -eq 1 ] && [ "$(stat -c %G "$T/acme-prod/run/control.sock")" = "$dflt" ] &&
	    pass "a reload that drops the group shuts its members out again" ||
	    fail "admin_group dropped: rc=$rc $(stat -c %G "$T/acme-prod/run/control.sock"), want $dflt"
fi

# The diagnostic's pid, followed after the kill even if it left the tree.
n=50
while [ "$n" -gt 0 ]; do
	dpids=$(diag_pids "/bin/sleep 30")
	[ -n "$dpids" ] && break
	sleep 0.1; n=$((n - 1))
done
[ -n "$dpids" ] || fail "the diagnostic 'sleepy 30' is not running"
start=$(date +%s)
out=$("$CLI_BIN" -f "$CONF" kill "$sid"); rc=$?
wait $eng; erc=$?
took=$(( $(date +%s) - start ))
[ "$rc" -eq 0 ] && [ "$erc" -ne 0 ] && [ "$took" -lt 5 ] &&
    pass "porthole kill ends the session at once (${took}s)" ||
    fail "kill: rc=$rc ssh rc=$erc after ${took}s"
grep -q "porthole: session ended by the customer" "$T/killed.err" &&
    pass "the engineer is told the customer ended the session" ||
    fail "kill: engineer saw '$(cat "$T/killed.err")'"
wait_for "$AUDIT" '"type":"session_killed".*"session":"'"$sid"'"' 2 &&
    pass "the kill is audited with the session" || fail "kill not audited"
gone 3 $dpids &&
    pass "the killed session's diagnostic is gone" ||
    fail "diagnostic survived the kill"
"$CLI_BIN" -f "$CONF" kill 0123456789abcdef >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "no such session" "$T/err" &&
    pass "killing an unknown session is refused" || fail "unknown kill rc=$rc"

# idle_timeout: a session with no traffic either way is ended and audited.
stop_gateway acme-prod
IDLE_TIMEOUT=10s CMD_TIMEOUT=60s write_gateway_conf acme-prod
start_gateway acme-prod
start=$(date +%s)
ssh -F "$T/ssh_config" acme-prod sleepy 40 </dev/null >/dev/null 2>"$T/idle.err"; rc=$?
took=$(( $(date +%s) - start ))
[ "$took" -ge 9 ] && [ "$took" -le 20 ] &&
    wait_for "$AUDIT" '"type":"session_ended".*"reason":"idle_timeout"' 3 &&
    pass "an idle session ends after idle_timeout (${took}s for 10s)" ||
    fail "idle: ssh rc=$rc after ${took}s"
grep -q "porthole: session ended: idle for longer than idle_timeout" "$T/idle.err" &&
    pass "the engineer is told the session was idle too long" ||
    fail "idle: engineer saw '$(cat "$T/idle.err")'"

# A compromised session child that says it is busy every second does not
# keep a silent session past idle_timeout: the broker, which splices the
# engineer's stream, saw no bytes move (test builds: the child lies when
# PORTHOLE_TEST_CLAIM_ACTIVE is set).
if [ "${PORTHOLE_TEST_HOOKS:-no}" = yes ]; then
	stop_gateway acme-prod
	export PORTHOLE_TEST_CLAIM_ACTIVE=1
	start_gateway acme-prod
	unset PORTHOLE_TEST_CLAIM_ACTIVE
	mark=$(wc -l <"$AUDIT")
	start=$(date +%s)
	ssh -F "$T/ssh_config" acme-prod sleepy 40 </dev/null >/dev/null \
	    2>"$T/lie.err"
	took=$(( $(date +%s) - start ))
	[ "$took" -ge 9 ] && [ "$took" -le 20 ] &&
	    grep -q "porthole: session ended: idle for longer than idle_timeout" "$T/lie.err" &&
	    tail -n +"$((mark + 1))" "$AUDIT" | grep -q '"type":"session_ended".*"reason":"idle_timeout"' &&
	    pass "a child claiming activity with no bytes moving is ended at idle_timeout (${took}s for 10s)" ||
	    fail "lying child: ended after ${took}s: '$(cat "$T/lie.err")'"
fi

# max_session: a session ends after that long, busy or not.
stop_gateway acme-prod
MAX_SESSION=10s CMD_TIMEOUT=60s write_gateway_conf acme-prod
start_gateway acme-prod
start=$(date +%s)
ssh -F "$T/ssh_config" -o ServerAliveInterval=2 acme-prod sleepy 40 \
    </dev/null >/dev/null 2>"$T/max.err"
took=$(( $(date +%s) - start ))
grep -q "porthole: session ended: it reached max_session" "$T/max.err" &&
    pass "the engineer is told max_session was reached" ||
    fail "max_session: engineer saw '$(cat "$T/max.err")'"
[ "$took" -ge 9 ] && [ "$took" -le 20 ] &&
    wait_for "$AUDIT" '"type":"session_ended".*"reason":"max_session reached"' 3 &&
    pass "max_session ends a session that keeps talking (${took}s for 10s)" ||
    fail "max_session: after ${took}s"

# max_sessions: one more than allowed is refused.
stop_gateway acme-prod
MAX_SESSIONS=2 write_gateway_conf acme-prod
start_gateway acme-prod
essh acme-prod sleepy 5 >/dev/null 2>&1 &
s1=$!
essh acme-prod sleepy 5 >/dev/null 2>&1 &
s2=$!
n=100
while [ "$n" -gt 0 ] && [ "$("$CLI_BIN" -f "$CONF" sessions 2>/dev/null | grep -c active)" -lt 2 ]; do
	sleep 0.1; n=$((n - 1))
done
essh acme-prod status >/dev/null 2>"$T/max.err"; rc=$?
[ "$rc" -ne 0 ] && grep -q '"type":"session_refused".*"reason":"max_sessions reached"' "$AUDIT" &&
    pass "a session beyond max_sessions is refused and audited" ||
    fail "max_sessions: rc=$rc"
grep -q "Received disconnect from .*: porthole: refused: the customer allows 2 sessions at once" "$T/max.err" &&
    pass "the engineer refused by max_sessions is told why" ||
    fail "max_sessions: engineer saw '$(cat "$T/max.err")'"
wait $s1 $s2

# A client that connects and says nothing is not kept forever.
start=$(date +%s)
mkfifo "$T/silent"
exec 3<>"$T/silent"	# held open: socat reads no end of input
timeout 25 socat - UNIX-CONNECT:"$T/acme-prod/run/control.sock" <"$T/silent" >/dev/null 2>&1
exec 3>&-
took=$(( $(date +%s) - start ))
[ "$took" -ge 9 ] && [ "$took" -lt 25 ] &&
    pass "a silent control client is hung up on (${took}s for 10s)" ||
    fail "silent control client kept ${took}s"

stop_gateway acme-prod
out=$("$CLI_BIN" -f "$CONF" audit verify 2>&1); rc=$?
[ "$rc" -eq 0 ] && pass "the audit log with all of the above verifies" ||
    fail "audit verify: rc=$rc $out"
"$CLI_BIN" -f "$CONF" status >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "is portholed running" "$T/err" &&
    pass "status says when the gateway is not running" || fail "status down rc=$rc"

finish
