#!/bin/sh
# What the gateway does with its own files and commands around an
# update: update_command's placeholders are filled in once, left to
# right, whatever the paths hold (a state_dir holding "{package}" once
# made the gateway loop for ever); an install a stop interrupted leaves
# no package behind (its copy stays for the admins to look at), and
# that copy goes once the next update starts.  An admin's reschedule or
# run-now the state file cannot keep is refused, not audited as done.
. "$(dirname "$0")/updates_lib.sh"

make_vendor
make_cluster acme-prod
make_cluster beta
make_update_key
write_relay_conf
write_gateway_conf acme-prod
write_gateway_conf beta
BETA_STATE="$T/beta/st{package}{version}"
sed -i "s|^state_dir = .*|state_dir = $BETA_STATE|" "$T/beta/porthole.conf"
write_update_scripts
updates_section acme-prod
updates_section beta
start_relay
start_gateway acme-prod
start_gateway beta
UPD=$T/acme-prod/state/updates

# run_now ID VERSION: porthole updates run-now, given ten seconds.
run_now() {
	timeout 10 "$CLI_BIN" -f "$T/$1/porthole.conf" updates run-now "$2" >"$T/run-now.out" 2>&1
}

publish_version 1.3.0 64
sha130=$(sha256sum "$T/p1.3.0.tar" | cut -d' ' -f1)
for id in beta acme-prod; do
	wait_ufield "$id" 1.3.0 package downloaded 30 && wait_ufield "$id" 1.3.0 state scheduled 10 ||
	    fail "$id 1.3.0: $(ufield "$id" 1.3.0 state)"
done

# beta's state_dir holds {package} and {version}: they stay as they are.
copy="$BETA_STATE/updates/install/1.3.0.pkg"
if run_now beta 1.3.0 && wait_ufield beta 1.3.0 state installed 20; then
	grep -qF "$copy 1.3.0 $copy 1.3.0 $sha130 " "$T/upgraded" &&
	    pass "update_command gets {package} and {version} filled in once, whatever the path holds" ||
	    fail "update_command got: $(cat "$T/upgraded")"
else
	# A gateway stuck in its event loop answers nothing, SIGTERM neither.
	timeout 5 "$CLI_BIN" -f "$T/beta/porthole.conf" updates --json >"$T/beta.json" 2>&1 ||
	    kill -9 "$(cat "$T/beta/gateway.pid")" 2>/dev/null
	fail "beta: run-now $(cat "$T/run-now.out"), 1.3.0 $(jq -r '.updates[] | select(.version == "1.3.0") | .state' "$T/beta.json" 2>/dev/null)"
fi

# acme-prod: 1.3.0's update_command interrupted by a stop.  Both
# gateways read the one product_version: acme-prod's product is 1.2.0.
echo 1.2.0 >"$T/product_version"
echo 30 >"$T/upgrade_sleep"
run_now acme-prod 1.3.0 || fail "run-now: $(cat "$T/run-now.out")"
wait_for "$T/upgraded" "^$UPD/install/1.3.0.pkg " 20 || fail "update_command did not start"
stop_gateway acme-prod
rm -f "$T/upgrade_sleep"
start_gateway acme-prod
wait_ufield acme-prod 1.3.0 state failed 20 && [ "$(ufield acme-prod 1.3.0 result)" = interrupted ] ||
    fail "1.3.0: $(ufield acme-prod 1.3.0 state) $(ufield acme-prod 1.3.0 result)"
[ ! -e "$UPD/$sha130.pkg" ] && [ -e "$UPD/install/1.3.0.pkg" ] &&
    pass "an interrupted install leaves no package behind; its copy stays for the admins" ||
    fail "after the interruption: $(ls "$UPD" "$UPD/install")"

# 1.4.0 runs: the failed copy goes when it starts.
publish_version 1.4.0 64
wait_ufield acme-prod 1.4.0 package downloaded 30 && wait_ufield acme-prod 1.4.0 state scheduled 10 ||
    fail "1.4.0: $(ufield acme-prod 1.4.0 state)"
run_now acme-prod 1.4.0 || fail "run-now: $(cat "$T/run-now.out")"
wait_ufield acme-prod 1.4.0 state installed 20 || fail "1.4.0: $(ufield acme-prod 1.4.0 state)"
[ ! -e "$UPD/install/1.3.0.pkg" ] && [ ! -e "$UPD/install/1.4.0.pkg" ] &&
    [ -z "$(ls "$UPD" | grep -E '\.(part|pkg)$')" ] &&
    pass "the failed update's copy goes once the next one starts; nothing is left behind" ||
    fail "left behind: $(ls "$UPD" "$UPD/install")"
[ -e "$UPD/1.3.0.log" ] && [ -e "$UPD/1.4.0.log" ] &&
    pass "the logs stay while their updates are listed" || fail "logs: $(ls "$UPD")"

# 1.5.0 scheduled; then state.json cannot be replaced (a directory
# stands in its place, as a full or read-only disk would refuse it).
publish_version 1.5.0 16
wait_ufield acme-prod 1.5.0 package downloaded 30 && wait_ufield acme-prod 1.5.0 state scheduled 10 ||
    fail "1.5.0: $(ufield acme-prod 1.5.0 state)"
when=$(ufield acme-prod 1.5.0 when)
rm -f "$UPD/state.json" && mkdir "$UPD/state.json"
later=$(date -u -d "@$(( $(date -u -d "$when" +%s) + 3600 ))" +%Y-%m-%dT%H:%M:%SZ)
out=$(timeout 10 "$CLI_BIN" -f "$T/acme-prod/porthole.conf" updates reschedule 1.5.0 "$later" 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "nothing changed: the state of the updates cannot be saved" &&
    [ "$(ufield acme-prod 1.5.0 when)" = "$when" ] &&
    pass "a reschedule the state file cannot keep is refused, and nothing changes" ||
    fail "reschedule: rc=$rc $out; when $(ufield acme-prod 1.5.0 when), was $when"
out=$(timeout 10 "$CLI_BIN" -f "$T/acme-prod/porthole.conf" updates run-now 1.5.0 2>&1); rc=$?
[ $rc -ne 0 ] && [ "$(ufield acme-prod 1.5.0 state)" = scheduled ] && [ ! -e "$UPD/1.5.0.log" ] &&
    pass "so is a run-now: 1.5.0 does not run" ||
    fail "run-now: rc=$rc $out; 1.5.0 $(ufield acme-prod 1.5.0 state)"
audit_has acme-prod '"type":"update_scheduled"' '"version":"1.5.0"' '"reason":"rescheduled"' ||
    audit_has acme-prod '"type":"update_scheduled"' '"version":"1.5.0"' '"reason":"run now"' &&
    fail "the audit log says 1.5.0 was rescheduled or run now" ||
    pass "the audit log does not say what did not happen"
rmdir "$UPD/state.json"
finish
