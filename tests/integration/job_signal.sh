#!/bin/sh
# A job the gateway forks (version_command, notify_command,
# update_command) starts with every signal held until it has put back
# the default handlers: a signal that reached it before then ran the
# event loop's handler, which writes to a socket the child still shares
# with the gateway, so a SIGTERM meant for a job just started stopped
# the whole gateway.  Test builds hold the new child 6 seconds at that
# point (PORTHOLE_TEST_JOB_PAUSE); the test sends it SIGTERM there.
. "$(dirname "$0")/updates_lib.sh"

if [ "${PORTHOLE_TEST_HOOKS:-no}" != yes ]; then
	echo "SKIP: holding a job at its start needs ./configure --enable-test-hooks"
	exit 77
fi

export PORTHOLE_TEST_JOB_PAUSE=6
update_setup
unset PORTHOLE_TEST_JOB_PAUSE
GW=$(cat "$T/acme-prod/gateway.pid")
# The reading at start comes before the gateway's own signal handlers;
# a notice's jobs (version_command again, notify_command) come after.
wait_for "$T/gateway-acme-prod.log" "version_command says 1.2.0 is installed" 15 ||
    fail "version_command did not run at start"
make_package "$T/product-1.3.0.tar" 16
make_notice "$T/n130.json" 1.3.0 "$T/product-1.3.0.tar"
sign "$T/n130.json"
publish "$T/n130.json" "$T/product-1.3.0.tar" || fail "publish: $(cat "$T/publish.out")"

# The job: a child of the gateway that has not yet run its program.
job=""
n=100
while [ -z "$job" ] && [ "$n" -gt 0 ]; do
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		[ "$(sed 's/^.*) //' "$d/stat" 2>/dev/null | cut -d' ' -f2)" = "$GW" ] &&
		    [ "$(cat "$d/comm" 2>/dev/null)" = portholed ] && job=$p
	done
	[ -n "$job" ] || { sleep 0.1; n=$((n - 1)); }
done
[ -n "$job" ] || fail "no job forked by the gateway $GW was found"
kill -TERM "$job"
sleep 7
kill -0 "$GW" 2>/dev/null &&
    ! grep -q "shutting down\|stopping" "$T/gateway-acme-prod.log" &&
    pass "a SIGTERM to a job just forked ends the job, not the gateway" ||
    fail "the gateway stopped: $(tail -n 3 "$T/gateway-acme-prod.log")"
out=$("$CLI_BIN" -f "$T/acme-prod/porthole.conf" status 2>&1); rc=$?
[ "$rc" -eq 0 ] && pass "porthole status: the gateway still serves" ||
    fail "status: rc=$rc $out"
finish
