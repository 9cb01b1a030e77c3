#!/bin/sh
# A gateway killed (kill -9) the moment update_command has started: the
# restarted gateway must not run it a second time.  The install is on
# record as started before the command can run, so the restart finds
# it interrupted - failed, its outcome not known - as after any stop.
# The kill comes from inside the gateway at that step
# (PORTHOLE_TEST_KILL_AT=install, test builds only).
. "$(dirname "$0")/updates_lib.sh"

if [ "${PORTHOLE_TEST_HOOKS:-no}" != yes ]; then
	echo "SKIP: killing the gateway at a step needs ./configure --enable-test-hooks"
	exit 77
fi

update_setup
# update_command writes down each run before it prints anything: the
# pipe to a killed gateway ends it at its first line of output.
cat >"$T/bin/upgrade" <<EOS
#!/bin/sh
echo "\$2" >>$T/runs
sleep 3
echo "installed \$2"
EOS
publish_version 1.3.0 64
wait_ufield acme-prod 1.3.0 package downloaded 30 && wait_ufield acme-prod 1.3.0 state scheduled 10 ||
    fail "1.3.0: $(ufield acme-prod 1.3.0 state) $(ufield acme-prod 1.3.0 package)"

# Started again with the kill armed.
stop_gateway acme-prod
export PORTHOLE_TEST_KILL_AT=install
start_gateway acme-prod
unset PORTHOLE_TEST_KILL_AT
pid=$(cat "$T/acme-prod/gateway.pid")
timeout 10 "$CLI_BIN" -f "$T/acme-prod/porthole.conf" updates run-now 1.3.0 >"$T/run-now.out" 2>&1
gone 10 "$pid" && pass "the gateway is killed right after update_command started" ||
    fail "the gateway still runs: $(cat "$T/run-now.out")"
wait_for "$T/runs" "^1.3.0$" 20 || fail "update_command did not run"

start_gateway acme-prod
wait_ufield acme-prod 1.3.0 state failed 20 &&
    [ "$(ufield acme-prod 1.3.0 result)" = interrupted ] &&
    pass "restarted, it finds the install interrupted" ||
    fail "1.3.0: $(ufield acme-prod 1.3.0 state) $(ufield acme-prod 1.3.0 result)"
# Two looks at the schedule later, still once.
sleep 11
[ "$(grep -c '^1.3.0$' "$T/runs")" -eq 1 ] &&
    pass "update_command ran once, not again after the restart" ||
    fail "update_command ran $(grep -c '^1.3.0$' "$T/runs") times"
audit_has acme-prod '"type":"update_failed"' '"version":"1.3.0"' &&
    pass "the interruption is audited" || fail "no update_failed"
finish
