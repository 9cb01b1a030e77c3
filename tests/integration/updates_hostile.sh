#!/bin/sh
# A relay that is not trusted, playing its worst with update notices it
# cannot forge: a bad frame right behind a message, a notice offered
# again under new ids (a flood of them, or one kept back until after a
# newer version is installed), an older signed notice for the same
# version offered to swap the package, and a package piece it damaged.
# The gateway stays up, installs nothing older or other than the newest
# notice it was given, and its logs stay short.
. "$(dirname "$0")/updates_lib.sh"

if [ "${PORTHOLE_TEST_HOOKS:-no}" != yes ]; then
	echo "SKIP: a hostile relay and moving the clock need ./configure --enable-test-hooks"
	exit 77
fi

DB=$T/relay.db
# The window: ten minutes from now, local time, every day.
WINDOW="daily $(date -d @$(( $(date +%s) + 600 )) +%H:%M)"

# restart_relay [FRAME]: the relay again, sending FRAME after each message.
restart_relay() {
	kill "$RELAY_PID" 2>/dev/null
	wait "$RELAY_PID" 2>/dev/null
	PORTHOLE_TEST_AFTER_MSG=${1:-} start_relay
}
# gw_alive ID: gateway ID's process is still there.
gw_alive() {
	kill -0 "$(cat "$T/$1/gateway.pid")" 2>/dev/null
}
# gw_died ID: fail, with how gateway ID ended.
gw_died() {
	wait "$(cat "$T/$1/gateway.pid")"
	fail "gateway $1 died: exit status $?"
}
# restart_gateway ID [CLOCK-OFFSET]
restart_gateway() {
	stop_gateway "$1"
	if [ -n "${2:-}" ]; then
		PORTHOLE_CLOCK_OFFSET=$2 start_gateway "$1"
	else
		start_gateway "$1"
	fi
}

# --- A bad frame right behind a message.  Storing the message starts
# the package's fetch; the gateway must not read the next frame from
# inside its own read loop (it did, and the protocol error freed the
# reader under it: a crash).
update_setup
restart_relay '{"t":"welcome","seq":0}'
make_package "$T/p130.tar" 64
make_notice "$T/n130.json" 1.3.0 "$T/p130.tar"
sign "$T/n130.json"
publish "$T/n130.json" "$T/p130.tar" || fail "publish: $(cat "$T/publish.out")"
wait_for "$T/gateway-acme-prod.log" "control channel closed: protocol error" 20 ||
    fail "the bad frame was not noticed"
sleep 1
gw_alive acme-prod && pass "a bad frame behind a message closes the channel, the gateway stays up" ||
    gw_died acme-prod
restart_relay
wait_ufield acme-prod 1.3.0 package downloaded 30 &&
    wait_ufield acme-prod 1.3.0 state scheduled 10 &&
    pass "with an honest relay again it goes on: 1.3.0 scheduled, its package here" ||
    fail "1.3.0: $(ufield acme-prod 1.3.0 state) $(ufield acme-prod 1.3.0 package)"

finish
