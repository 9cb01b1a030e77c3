#!/bin/sh
# Messages from the vendor down the control channel: each is answered
# once the gateway judged it (a kind it does not know is refused, with
# the reason kept at the relay), a cluster that was offline gets what
# was stored meanwhile, and a relay store flooding the gateway with
# thousands of messages is summarised in the audit log, not written
# line by line.
. "$(dirname "$0")/lib.sh"

standard_setup
DB=$T/relay.db
AUDIT=$T/acme-prod/audit/audit.log

# msg CLUSTER|NULL KIND BODY: store a message as a relay would.
msg() {
	c=$1
	[ "$c" = NULL ] || c="'$c'"
	# The relay writes too: wait for its lock rather than lose the row.
	sqlite3 -cmd ".timeout 5000" "$DB" "INSERT INTO messages (cluster, kind, body, created) VALUES ($c, '$2', '$3', strftime('%s','now'))"
}

# A kind the gateway does not know is refused, not a protocol error.
msg acme-prod greeting '{"text":"hello"}'
wait_msg_answer 1 10 && msg_answered 1 | grep -q "^refused: this gateway knows no messages of kind 'greeting'" &&
    pass "an unknown kind is refused, and the relay keeps why" ||
    fail "answer to message 1: '$(msg_answered 1)'"
grep '"type":"message_received"' "$AUDIT" | grep -q '"id":1,"kind":"greeting","verdict":"refused"' &&
    pass "its arrival is audited with the verdict" || fail "no message_received for 1"
grep -q "control channel protocol error\|control channel closed" "$T/relay.log" "$T/gateway-acme-prod.log" &&
    fail "the channel was closed over an unknown kind" || pass "the channel stays up"

# Messages stored while the gateway is down arrive once it is back, and
# one for another cluster never reaches it.
stop_gateway acme-prod
msg NULL greeting '{"text":"to everyone"}'
msg other-cluster greeting '{"text":"not for acme"}'
start_gateway acme-prod
wait_msg_answer 2 15 && pass "a message stored while the cluster was offline arrives on reconnect" ||
    fail "message 2 never answered"
sleep 1
[ -z "$(msg_answered 3)" ] && ! grep -q '"id":3,' "$AUDIT" &&
    pass "a message for another cluster is not offered" || fail "message 3 reached acme-prod"

# A flood: thousands of messages, each answered, and the audit log
# gets at most its ration of message_received lines plus a summary.
N=2000
i=0
{
	echo "BEGIN;"
	while [ $i -lt $N ]; do
		echo "INSERT INTO messages (cluster, kind, body, created) VALUES ('acme-prod', 'junk', '{\"n\":$i}', 0);"
		i=$((i + 1))
	done
	echo "COMMIT;"
} | sqlite3 -cmd ".timeout 5000" "$DB"
last=$(sqlite3 "$DB" "SELECT max(id) FROM messages")
wait_msg_answer "$last" 120 && pass "all $N messages of the flood answered" ||
    fail "flood: $(sqlite3 "$DB" "SELECT count(*) FROM deliveries WHERE acked <> 0") answered"
stop_gateway acme-prod
lines=$(grep -c '"type":"message_received"' "$AUDIT")
[ "$lines" -le 60 ] && pass "the audit log holds $lines message_received lines, not $N" ||
    fail "$lines message_received lines"
grep '"type":"message_burst"' "$AUDIT" | grep -q '"kinds":{"junk":' &&
    pass "the rest is summarised in message_burst lines" || fail "no message_burst summary"
total=$(grep '"type":"message_burst"' "$AUDIT" | sed 's/.*"count":\([0-9]*\).*/\1/' | awk '{ s += $1 } END { print s + 0 }')
[ $((total + lines)) -ge $((N + 2)) ] &&
    pass "every message is either audited or counted ($lines + $total)" ||
    fail "audited $lines, counted $total, sent $((N + 2))"
"$CLI_BIN" audit verify --key "$(cat "$T/acme-prod/audit.k0")" "$T/acme-prod/audit" >/dev/null 2>&1 &&
    pass "the audit log verifies" || fail "audit verify"
finish
