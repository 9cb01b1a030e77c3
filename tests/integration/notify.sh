#!/bin/sh
# [remote_access] notify_command: run when a session waits for
# approval, with the session's id, engineer, key id, ticket and origin
# in its environment (control characters escaped), never waited for by
# the gateway, stopped at notify_timeout, and its failure audited.
. "$(dirname "$0")/lib.sh"

APPROVAL=required
make_vendor
make_cluster acme-prod
write_relay_conf
write_gateway_conf acme-prod
CONF=$T/acme-prod/porthole.conf
AUDIT=$T/acme-prod/audit/audit.log
# A key id a shell would act on: it reaches the program as text.  (One
# with control characters never gets this far: the relay and the
# gateway refuse such a certificate.)
"$CERTS"/porthole-issue-engineer -c "$T/ca/support_ca" -o "$T/eng" bob \
    SUP-9999 +1h >/dev/null
ssh-keygen -q -s "$T/ca/support_ca" -I "bob \$(touch $T/pwned) \"x\"" \
    -n bob -V -5m:+1h -O extension:ticket@porthole=SUP-9999 \
    "$T/eng/bob.pub" || fail "cannot sign bob's odd certificate"
cat >"$T/notify" <<EOS
#!/bin/sh
env | grep '^PORTHOLE_' | sort >"$T/notified.\$PORTHOLE_SESSION_ID"
EOS
cat >"$T/notify-hang" <<EOS
#!/bin/sh
echo "\$PORTHOLE_SESSION_ID" >"$T/hung"
exec sleep 300
EOS
chmod 755 "$T/notify" "$T/notify-hang"
sed -i "/^approval = /a notify_command = $T/notify" "$CONF"
write_ssh_config
ENGINEER=bob write_ssh_config
start_relay
start_gateway acme-prod


essh acme-prod status >/dev/null 2>&1 &
eng=$!
id=$(listed_id "$CONF" sessions pending) || fail "no pending session"
wait_for "$T/notified.$id" PORTHOLE_TICKET 10 &&
    grep -qx "PORTHOLE_SESSION_ID=$id" "$T/notified.$id" &&
    grep -qx "PORTHOLE_ENGINEER=bob" "$T/notified.$id" &&
    grep -qx "PORTHOLE_TICKET=SUP-9999" "$T/notified.$id" &&
    grep -qxF "PORTHOLE_KEY_ID=bob \$(touch $T/pwned) \"x\"" "$T/notified.$id" &&
    [ ! -e "$T/pwned" ] &&
    grep -q '^PORTHOLE_FROM=127.0.0.1:[0-9]*$' "$T/notified.$id" &&
    pass "notify_command runs when a session waits, told who, and nothing of it is run by a shell" ||
    fail "notify environment: $(cat "$T/notified.$id" 2>/dev/null)"
wait_for "$AUDIT" "\"type\":\"notify_sent\".*\"session\":\"$id\"" 10 &&
    pass "its run is on record" || fail "notify_sent not audited"
"$CLI_BIN" -f "$CONF" deny "$id" >/dev/null
wait "$eng"

# One that hangs holds nothing up and is stopped at notify_timeout.
sed -i -e "s|^notify_command = .*|notify_command = $T/notify-hang|" \
    -e "/^notify_command = /a notify_timeout = 2s" "$CONF"
"$CLI_BIN" -f "$CONF" reload >/dev/null 2>"$T/err" ||
    fail "reload: $(cat "$T/err")"
essh acme-prod status >"$T/out" 2>&1 &
eng=$!
id=$(listed_id "$CONF" sessions pending) || fail "no pending session with the hanging notify"
wait_for "$T/hung" "$id" 10 || fail "the hanging notify did not start"
"$CLI_BIN" -f "$CONF" approve "$id" >/dev/null 2>&1
wait "$eng" && grep -q healthy "$T/out" &&
    pass "the session is approved and runs while notify_command hangs" ||
    fail "session under a hanging notify: $(cat "$T/out")"
wait_for "$AUDIT" "\"type\":\"notify_failed\".*\"session\":\"$id\".*\"result\":\"timed out after 2s\"" 10 &&
    pass "a hanging notify_command is stopped at its timeout, audited as notify_failed" ||
    fail "hanging notify: $(grep notify_ "$AUDIT" | tail -n 2)"
pgrep -f "$T/notify-hang" >/dev/null &&
    fail "the hanging notify_command still runs"

# One that fails is on record with its exit status and last line.
printf '#!/bin/sh\necho "mail server down" >&2\nexit 3\n' >"$T/notify-fail"
chmod 755 "$T/notify-fail"
sed -i "s|^notify_command = .*|notify_command = $T/notify-fail|" "$CONF"
"$CLI_BIN" -f "$CONF" reload >/dev/null 2>&1
essh acme-prod status >/dev/null 2>&1 &
eng=$!
id=$(listed_id "$CONF" sessions pending) || fail "no pending session with the failing notify"
wait_for "$AUDIT" "\"type\":\"notify_failed\".*\"session\":\"$id\".*\"output\":\"mail server down\".*\"result\":\"exit 3\"" 10 ||
wait_for "$AUDIT" "\"type\":\"notify_failed\".*\"session\":\"$id\".*\"result\":\"exit 3\"" 1 &&
    pass "a failing notify_command is audited with its exit status" ||
    fail "failing notify: $(grep notify_failed "$AUDIT" | tail -n 1)"
"$CLI_BIN" -f "$CONF" deny "$id" >/dev/null 2>&1
wait "$eng"

finish
