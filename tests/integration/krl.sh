#!/bin/sh
# Revoked certificates.  revoked_keys names an OpenSSH KRL made by
# ssh-keygen -k, or a list of public keys; the relay and the gateway each
# refuse what it lists on their own (the gateway audits why), a reload
# refuses the next login and ends what is running under a certificate it
# now revokes, and a list that cannot be read refuses the start or the
# reload and changes nothing.
. "$(dirname "$0")/lib.sh"

standard_setup
CONF=$T/acme-prod/porthole.conf
AUDIT=$T/acme-prod/audit/audit.log
RLOG=$T/relay.log
CM=$T/cm
cp "$CONF" "$T/good.conf"
cp "$T/relay.conf" "$T/relay-good.conf"
"$CERTS"/porthole-issue-engineer -c "$T/ca/support_ca" -o "$T/eng" bob SUP-5 +1h \
    >/dev/null
ENGINEER=bob write_ssh_config
mv "$T/ssh_config" "$T/ssh_config.bob"
write_ssh_config
bessh() {
	ssh -F "$T/ssh_config.bob" "$@" </dev/null
}

# alice's certificate, revoked by its serial under the support CA.
SERIAL=$(ssh-keygen -L -f "$T/eng/alice-cert.pub" | sed -n 's/^ *Serial: //p')
[ -n "$SERIAL" ] && [ "$SERIAL" -ne 0 ] || fail "alice's certificate has no serial"
echo "serial: $SERIAL" >"$T/alice.spec"
ssh-keygen -q -k -f "$T/alice.krl" -s "$T/ca/support_ca.pub" "$T/alice.spec"
ssh-keygen -Q -f "$T/alice.krl" "$T/eng/alice-cert.pub" >/dev/null 2>&1 &&
    fail "ssh-keygen -Q does not find alice in the KRL"
head -c 60 "$T/alice.krl" >"$T/truncated.krl"

# issue-engineer gives each certificate its own serial, counted in a file
# beside the CA key, also when several run at once.
BOB_SERIAL=$(ssh-keygen -L -f "$T/eng/bob-cert.pub" | sed -n 's/^ *Serial: //p')
issuers=""
for i in 1 2 3 4 5 6; do
	"$CERTS"/porthole-issue-engineer -c "$T/ca/support_ca" -o "$T/par$i" carol \
	    >/dev/null &
	issuers="$issuers $!"
done
for p in $issuers; do
	wait "$p"
done
for i in 1 2 3 4 5 6; do
	ssh-keygen -L -f "$T/par$i/carol-cert.pub" | sed -n 's/^ *Serial: //p'
done | sort -n | tr '\n' ' ' >"$T/serials"
[ "$SERIAL" -eq 1 ] && [ "$BOB_SERIAL" -eq 2 ] &&
    [ "$(cat "$T/serials")" = "3 4 5 6 7 8 " ] &&
    [ "$(cat "$T/ca/support_ca.serial")" = 8 ] &&
    pass "issue-engineer: serials 1, 2, ... from support_ca.serial, none twice" ||
    fail "issue-engineer serials: alice $SERIAL, bob $BOB_SERIAL, then $(cat "$T/serials")"

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
# ended PID: the process ends within 5 seconds.
ended() {
	n=50
	while [ "$n" -gt 0 ] && kill -0 "$1" 2>/dev/null; do
		sleep 0.1; n=$((n - 1))
	done
	! kill -0 "$1" 2>/dev/null
}
# relay_hup FILE: relay.conf becomes FILE; wait for the reload or refusal.
relay_hup() {
	cp "$1" "$T/relay.conf"
	before=$(count_lines "$RLOG" "reload")
	kill -HUP "$RELAY_PID"
	wait_count "$RLOG" "reload" "$before" 10
}
# gw_reload SED-SCRIPT: the good porthole.conf, edited, reloaded.
gw_reload() {
	sed "$1" "$T/good.conf" >"$CONF"
	"$CLI_BIN" -f "$CONF" reload >/dev/null 2>"$T/reload.err"
}
with_revoked() {
	sed "/^engineers = /a revoked_keys = $1" "$T/relay-good.conf" \
	    >"$T/relay-krl.conf"
	relay_hup "$T/relay-krl.conf"
}

# --- At the relay (the gateway has no list) ---
open_master
auth_before=$(count_lines "$AUDIT" '"type":"auth_')
with_revoked "$T/alice.krl"
grep -q "revoked_keys $T/alice.krl: KRL version" "$RLOG" &&
    pass "the relay reads the KRL on SIGHUP" || fail "KRL not loaded"
ended "$MASTER" &&
    grep -q "closed (certificate revoked (serial $SERIAL))" "$RLOG" &&
    pass "relay: alice's running connection ends when her serial is revoked" ||
    fail "relay: alice's connection goes on"
essh acme-prod status >/dev/null 2>&1; rc=$?
[ "$rc" -eq 255 ] &&
    grep -q "login as 'alice' refused: certificate revoked (serial $SERIAL)" "$RLOG" &&
    pass "relay: alice's certificate is refused, serial in the log" ||
    fail "relay: revoked alice: rc=$rc"
[ "$(count_lines "$AUDIT" '"type":"auth_')" -eq "$auth_before" ] &&
    pass "relay: the refusal happens at the relay, the gateway never sees it" ||
    fail "relay: the revoked login reached the gateway"
[ "$(bessh acme-prod status 2>/dev/null)" = "cluster acme-prod is healthy" ] &&
    pass "relay: bob, not revoked, gets in" || fail "relay: bob refused"

# A list that cannot be read: the reload is refused, the old list holds.
with_revoked "$T/truncated.krl"
grep -q "reload refused.*$T/truncated.krl: truncated KRL at byte" "$RLOG" &&
    pass "relay: a truncated KRL refuses the reload, saying where" ||
    fail "relay: truncated KRL: $(grep 'reload' "$RLOG" | tail -1)"
essh acme-prod status >/dev/null 2>&1; rc=$?
[ "$rc" -eq 255 ] && [ "$(bessh acme-prod status 2>/dev/null)" = "cluster acme-prod is healthy" ] &&
    pass "relay: after the refused reload the old list still holds" ||
    fail "relay: refused reload changed the list (alice rc=$rc)"

# ... and refuses a start.
RELAY2_PORT=$(free_port)
sed -e "s/^listen = .*/listen = 127.0.0.1:$RELAY2_PORT/" \
    -e "s|^database = .*|database = $T/relay2.db|" "$T/relay-krl.conf" \
    >"$T/relay2.conf"
timeout 10 "$RELAY_BIN" -f "$T/relay2.conf" -d >"$T/relay2.out" 2>&1; rc=$?
[ "$rc" -eq 1 ] && grep -q "$T/truncated.krl: truncated KRL at byte" "$T/relay2.out" &&
    pass "relay: a truncated KRL refuses the start" ||
    fail "relay start with a truncated KRL: rc=$rc $(cat "$T/relay2.out")"

# A list of public keys: bob's key.
cp "$T/eng/bob.pub" "$T/bob.keys"
with_revoked "$T/bob.keys"
bessh acme-prod status >/dev/null 2>&1; rc=$?
[ "$rc" -eq 255 ] &&
    grep -q "login as 'bob' refused: certificate key revoked (SHA256:" "$RLOG" &&
    [ "$(essh acme-prod status 2>/dev/null)" = "cluster acme-prod is healthy" ] &&
    pass "relay: a list of public keys revokes bob's certificate, not alice's" ||
    fail "relay: key list: bob rc=$rc"
relay_hup "$T/relay-good.conf"

# --- At the gateway (the relay lets everyone through) ---
open_master
[ "$(ssh -F "$T/ssh_config" -S "$CM" -o ControlMaster=no acme-prod status \
    </dev/null 2>/dev/null)" = "cluster acme-prod is healthy" ] ||
    fail "gateway: alice's session did not open"
gw_reload "/^support_ca = /a revoked_keys = $T/alice.krl" &&
    pass "gateway: reloaded with revoked_keys" ||
    fail "gateway: reload: $(cat "$T/reload.err")"
ended "$MASTER" &&
    grep -q "\"type\":\"session_ended\".*\"reason\":\"grant withdrawn\",\"detail\":\"certificate revoked (serial $SERIAL)\"" "$AUDIT" &&
    pass "gateway: alice's running session ends, audited with the serial" ||
    fail "gateway: alice's session goes on after the reload"
refused_before=$(count_lines "$RLOG" "login as 'alice' refused")
essh acme-prod status >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 255 ] && grep -q "certificate revoked (serial $SERIAL)" "$T/err" &&
    grep -q "\"type\":\"auth_refused\".*\"reason\":\"certificate revoked (serial $SERIAL)\"" "$AUDIT" &&
    pass "gateway: alice's next login is refused and audited with the reason" ||
    fail "gateway: revoked alice: rc=$rc $(cat "$T/err")"
[ "$(count_lines "$RLOG" "login as 'alice' refused")" -eq "$refused_before" ] &&
    pass "gateway: the relay let alice through; the gateway refused her" ||
    fail "gateway: the relay refused alice itself"
[ "$(bessh acme-prod status 2>/dev/null)" = "cluster acme-prod is healthy" ] &&
    pass "gateway: bob gets in" || fail "gateway: bob refused"

# A list of public keys, and then a list that cannot be read.
gw_reload "/^support_ca = /a revoked_keys = $T/bob.keys" ||
    fail "gateway: reload with the key list: $(cat "$T/reload.err")"
bessh acme-prod status >/dev/null 2>&1; rc=$?
[ "$rc" -eq 255 ] &&
    grep -q '"type":"auth_refused".*"reason":"certificate key revoked (SHA256:' "$AUDIT" &&
    [ "$(essh acme-prod status 2>/dev/null)" = "cluster acme-prod is healthy" ] &&
    pass "gateway: the key list revokes bob; alice is back" ||
    fail "gateway: key list: bob rc=$rc"
gw_reload "/^support_ca = /a revoked_keys = $T/truncated.krl"; rc=$?
[ "$rc" -eq 1 ] && grep -q "$T/truncated.krl: truncated KRL at byte" "$T/reload.err" &&
    grep -q '"type":"policy_reload_refused".*truncated KRL' "$AUDIT" &&
    pass "gateway: a truncated KRL refuses the reload, audited" ||
    fail "gateway: truncated KRL reload: rc=$rc $(cat "$T/reload.err")"
bessh acme-prod status >/dev/null 2>&1; rc=$?
[ "$rc" -eq 255 ] && [ "$(essh acme-prod status 2>/dev/null)" = "cluster acme-prod is healthy" ] &&
    pass "gateway: after the refused reload the old list still holds" ||
    fail "gateway: refused reload changed the list (bob rc=$rc)"
out=$("$CLI_BIN" policy check "$CONF" 2>&1); rc=$?
[ "$rc" -eq 1 ] && echo "$out" | grep -q "revoked_keys: $T/truncated.krl: truncated KRL" &&
    pass "gateway: porthole policy check refuses the truncated KRL" ||
    fail "policy check: rc=$rc $out"
stop_gateway acme-prod
timeout 10 "$GATEWAY_BIN" -f "$CONF" -d >"$T/gw2.out" 2>&1; rc=$?
[ "$rc" -eq 1 ] && grep -q "$T/truncated.krl: truncated KRL at byte" "$T/gw2.out" &&
    pass "gateway: a truncated KRL refuses the start" ||
    fail "gateway start with a truncated KRL: rc=$rc $(cat "$T/gw2.out")"

finish
