#!/bin/sh
# Reload: an invalid file changes nothing and says why; a valid one applies
# to new sessions at once and ends running sessions whose grant it
# withdraws.
. "$(dirname "$0")/lib.sh"

standard_setup
CONF=$T/acme-prod/porthole.conf
AUDIT=$T/acme-prod/audit/audit.log
GW_PID=$(cat "$T/acme-prod/gateway.pid")
cp "$CONF" "$T/good.conf"

essh acme-prod sleepy 60 >/dev/null 2>&1 &
eng=$!
n=100
while [ "$n" -gt 0 ] && ! running "/bin/sleep 60"; do sleep 0.1; n=$((n - 1)); done

# An invalid file: refused with FILE:LINE, nothing changes.
sed 's/^max_sessions = 4/max_sessions = many/' "$T/good.conf" >"$CONF"
"$CLI_BIN" -f "$CONF" reload >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "$CONF:[0-9]*: max_sessions" "$T/err" &&
    pass "an invalid file is refused with FILE:LINE" ||
    fail "invalid reload: rc=$rc err='$(cat "$T/err")'"
grep -q '"type":"policy_reload_refused".*"by":"uid ' "$AUDIT" &&
    pass "the daemon itself refused that reload, audited with who asked" ||
    fail "the CLI's refused reload never reached the daemon"
"$CLI_BIN" -f "$CONF" sessions >"$T/sessions" 2>"$T/err" &&
    grep -q "alice" "$T/sessions" &&
    pass "with a broken file the customer still reaches the daemon" ||
    fail "sessions with a broken file: $(cat "$T/err")"
kill -HUP "$GW_PID"
wait_for "$T/gateway-acme-prod.log" "reload refused" 3 &&
    pass "SIGHUP with an invalid file is refused and logged" ||
    fail "SIGHUP invalid not logged"
kill -0 "$eng" 2>/dev/null && [ "$(essh acme-prod status 2>/dev/null)" = "cluster acme-prod is healthy" ] &&
    pass "after a refused reload the running policy still holds" ||
    fail "refused reload disturbed sessions"

# A file that parses but fails what a start checks is refused as a start
# refuses it: here a [commands] program that nobody owns, in a directory
# anyone may write to.  The lines are those of portholed -t.
if id nobody >/dev/null 2>&1; then
	chmod 711 "$T"
	mkdir "$T/evil"
	printf '#!/bin/sh\necho planted by nobody\n' >"$T/evil/prog"
	chown nobody "$T/evil" "$T/evil/prog"
	chmod 0777 "$T/evil" "$T/evil/prog"
	sed "s|^fail = /bin/false|fail = /bin/false\nplanted = $T/evil/prog|" \
	    "$T/good.conf" >"$CONF"
	"$GATEWAY_BIN" -t -f "$CONF" >"$T/t.out" 2>&1
	"$CLI_BIN" -f "$CONF" reload >/dev/null 2>"$T/err"; rc=$?
	n=$(grep -c . "$T/t.out")
	[ "$rc" -eq 1 ] && [ "$n" -ge 3 ] &&
	    grep -q "^$T/evil/prog: owned by uid $(id -u nobody) (nobody); chown root $T/evil/prog$" "$T/err" &&
	    [ "$(grep -c -F -x -f "$T/t.out" "$T/err")" -eq "$n" ] &&
	    pass "reload refuses a program others may replace, with the lines of -t" ||
	    fail "reload of a planted program: rc=$rc -t said '$(cat "$T/t.out")' reload said '$(cat "$T/err")'"
	wait_count "$AUDIT" '"type":"policy_reload_refused".*evil/prog: owned by' 0 3 &&
	    pass "that refusal is audited with its problems" ||
	    fail "no policy_reload_refused naming the program"
	out=$(essh acme-prod planted 2>&1)
	case $out in
	*"planted by nobody"*) fail "the planted program ran: $out" ;;
	*) pass "the planted program is not a command" ;;
	esac
	kill -HUP "$GW_PID"
	wait_count "$T/gateway-acme-prod.log" "reload refused.*evil/prog" 0 3 &&
	    pass "SIGHUP refuses it too, and logs why" ||
	    fail "SIGHUP with the planted program not refused"
else
	echo "# no user nobody: the planted-program rows are skipped"
fi

# A valid file adds a command and withdraws alice.
{ sed 's/^engineers = .*/engineers = bob/' "$T/good.conf"
  } | sed "/^sleepy = /a hostname = /bin/echo new-command" >"$CONF"
"$CLI_BIN" -f "$CONF" reload >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 0 ] && pass "a valid file is reloaded" ||
    fail "valid reload: rc=$rc err='$(cat "$T/err")'"
n=50
while kill -0 "$eng" 2>/dev/null && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
! kill -0 "$eng" 2>/dev/null &&
    grep -q '"type":"session_ended".*"reason":"grant withdrawn".*not allowed' "$AUDIT" &&
    pass "alice's running session ends when her grant is withdrawn" ||
    fail "withdrawn session still running or not audited"
essh acme-prod status >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 255 ] && grep -q "engineer 'alice' is not allowed" "$T/err" &&
    pass "new sessions follow the reloaded policy" || fail "alice after reload: rc=$rc"
"$CERTS"/porthole-issue-engineer -c "$T/ca/support_ca" -o "$T/eng" bob SUP-5 +1h >/dev/null
ENGINEER=bob write_ssh_config
out=$(essh acme-prod hostname 2>/dev/null)
[ "$out" = "new-command" ] && pass "a command added by reload is available" ||
    fail "new command: '$out'"
grep -q '"type":"policy_reloaded".*"by":"uid ' "$AUDIT" &&
    grep -q '"type":"policy_reload_refused"' "$AUDIT" &&
    pass "audit: reloads and refusals" || fail "reloads not audited"

finish
