#!/bin/sh
# The gateway killed (kill -9) at the steps of an update where a crash
# could lose a notice or act on it twice; the kill comes from inside
# the gateway at that step (PORTHOLE_TEST_KILL_AT, test builds only).
#  - Right after a notice is stored in the inbox, before it is taken:
#    never acknowledged, the relay offers it again to the restarted
#    gateway, which takes it (it was lost: the inbox found no update of
#    it and took it for finished).
#  - Right after update_command has started: the restarted gateway
#    must not run it a second time.  The install is on record as
#    started before the command can run, so the restart finds it
#    interrupted - failed, its outcome not known - as after any stop.
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
# kill_at STEP: gateway acme-prod started again, to be killed at STEP.
kill_at() {
	stop_gateway acme-prod
	export PORTHOLE_TEST_KILL_AT=$1
	start_gateway acme-prod
	unset PORTHOLE_TEST_KILL_AT
	pid=$(cat "$T/acme-prod/gateway.pid")
}

kill_at inbox_stored
publish_version 1.3.0 64
gone 20 "$pid" && [ -f "$T/acme-prod/state/inbox/1.json" ] &&
    pass "the gateway is killed right after it stored the notice" ||
    fail "not killed there: $(ls "$T/acme-prod/state/inbox")"
start_gateway acme-prod
wait_ufield acme-prod 1.3.0 state scheduled 30 &&
    pass "restarted, it takes the notice the relay offers again" ||
    fail "1.3.0: '$(ufield acme-prod 1.3.0 state)'"
wait_for "$T/notified" "^1.3.0 " 10 && pass "and the admins are notified" ||
    fail "notify_command did not run"
wait_ufield acme-prod 1.3.0 package downloaded 30 && wait_ufield acme-prod 1.3.0 state scheduled 10 ||
    fail "1.3.0: $(ufield acme-prod 1.3.0 state) $(ufield acme-prod 1.3.0 package)"

kill_at install
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
