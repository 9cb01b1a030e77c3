#!/bin/sh
# Messages the gateway cannot take yet do not hold back the rest: the
# relay offers a few at a time, and four notices waiting for
# version_command used to keep every later message from the cluster
# (offered again every minute, the same four).  The gateway now says
# msg_wait, the relay offers the next one, and the ones that waited are
# answered once the gateway can take them.
. "$(dirname "$0")/updates_lib.sh"

make_vendor
make_cluster acme-prod
make_update_key
write_relay_conf
write_gateway_conf acme-prod
write_update_scripts
updates_section acme-prod
# version_command takes 25 s while version_slow is there.
cat >"$T/bin/version" <<EOS
#!/bin/sh
[ -e $T/version_slow ] && sleep 25
cat $T/product_version
EOS
touch "$T/version_slow"
start_relay
start_gateway acme-prod
DB=$T/relay.db

# Message 1, a signed notice, and three more copies of it (4 in all,
# as many as the relay offers at a time): each waits for the reading
# of the installed version.
publish_version 1.3.0 16
for i in 2 3 4; do
	sqlite3 -cmd ".timeout 5000" "$DB" "INSERT INTO messages (cluster, kind, body, created) SELECT cluster, kind, body, created FROM messages WHERE id = 1"
done
wait_for "$T/gateway-acme-prod.log" "message 1 not acknowledged" 10 ||
    fail "message 1 did not wait: $(msg_answered 1)"

# Message 5 is of a kind the gateway does not know: refused at once.
sqlite3 -cmd ".timeout 5000" "$DB" "INSERT INTO messages (cluster, kind, body, created) VALUES ('acme-prod', 'greeting', '{\"text\":\"hello\"}', strftime('%s','now'))"
if wait_msg_answer 5 10; then
	[ -z "$(msg_answered 1)" ] &&
	    pass "a later message is answered while four wait at the gateway" ||
	    fail "message 1 was answered first: $(msg_answered 1)"
else
	fail "message 5 was not answered while 1-4 waited"
fi
grep -q "message 1 waits at the gateway: the installed version is being read" "$T/relay.log" &&
    pass "the relay says why a message waits" || fail "the relay did not say why 1 waits"

# version_command answers: the four that waited are answered.
rm -f "$T/version_slow"
ok=1
for i in 1 2 3 4; do
	wait_msg_answer "$i" 60 || { ok=0; fail "message $i never answered"; }
done
[ "$ok" = 1 ] && [ "$(msg_answered 1)" = accepted ] &&
    [ "$(uj acme-prod | jq -r '.updates[0].version')" = 1.3.0 ] &&
    pass "the messages that waited are answered once the gateway can take them" ||
    fail "after the wait: 1 '$(msg_answered 1)'"
grep -q "control channel protocol error" "$T/relay.log" "$T/gateway-acme-prod.log" &&
    fail "the channel was closed" || pass "the channel stays up"
finish
