#!/bin/sh
# Port forwarding reaches only the product's services listed in
# [forward] targets; every forward is audited with its bytes.
. "$(dirname "$0")/lib.sh"

# The product's service: an echo server on loopback, and a second
# service that is not listed.
EP=$(free_port)
OTHER=$(free_port)
socat TCP-LISTEN:"$EP",bind=127.0.0.1,reuseaddr,fork EXEC:/bin/cat \
    >/dev/null 2>&1 &
PIDS="$PIDS $!"
socat TCP-LISTEN:"$OTHER",bind=127.0.0.1,reuseaddr,fork EXEC:/bin/cat \
    >/dev/null 2>&1 &
PIDS="$PIDS $!"

FORWARD_ENABLED=yes
FORWARD_TARGETS="127.0.0.1:$EP"
standard_setup
AUDIT=$T/acme-prod/audit/audit.log

# ssh -W is a direct-tcpip forward on stdin and stdout.
ew() {
	ssh -F "$T/ssh_config" -W "$1" acme-prod
}

out=$(echo "hello service" | ew "127.0.0.1:$EP" 2>"$T/err")
[ "$out" = "hello service" ] && pass "forward to a listed target carries data" ||
    fail "forward: out='$out' err='$(cat "$T/err")'"

head -c 4000000 /dev/urandom >"$T/blob"
ew "127.0.0.1:$EP" <"$T/blob" >"$T/blob.back" 2>/dev/null
cmp -s "$T/blob" "$T/blob.back" && pass "4 MB there and back intact" ||
    fail "bulk forward: $(wc -c <"$T/blob.back") bytes back"
wait_for "$AUDIT" '"bytes_to_target":4000000,"bytes_from_target":4000000' 5 &&
    pass "forward_closed audited with bytes each way" ||
    fail "no forward_closed with 4000000 bytes each way"

# A name that no target has is refused before any lookup, even one that
# would resolve to a listed address (forward_dns.sh watches the resolver).
before=$(count_lines "$AUDIT" '"type":"forward_refused"')
out=$(echo named | ew "localhost:$EP" 2>/dev/null)
[ -z "$out" ] && wait_count "$AUDIT" '"type":"forward_refused".*not a forwarding target' "$before" 3 &&
    pass "localhost, not a target's name, is refused although it resolves to one" ||
    fail "localhost:$EP gave '$out'"

# Anything else is refused and audited.
for target in "127.0.0.1:$OTHER" "127.0.0.1:$RELAY_PORT" "10.0.0.1:$EP"; do
	before=$(count_lines "$AUDIT" '"type":"forward_refused"')
	out=$(echo leak | ew "$target" 2>/dev/null)
	after=$(count_lines "$AUDIT" '"type":"forward_refused"')
	[ -z "$out" ] && [ "$after" -gt "$before" ] &&
	    pass "refused and audited: $target" ||
	    fail "target $target: out='$out' audited=$((after - before))"
done

# start_L PORT NAME: ssh -N -L from local PORT to the service; the
# ssh's pid in L_PID, its stderr in $T/NAME.err.
start_L() {
	ssh -F "$T/ssh_config" -N -o ExitOnForwardFailure=yes \
	    -L "127.0.0.1:$1:127.0.0.1:$EP" acme-prod </dev/null 2>"$T/$2.err" &
	L_PID=$!
	PIDS="$PIDS $L_PID"
}

# -L works the same way, from a local port.
LP=$(free_port)
start_L "$LP" L
LPID=$L_PID
i=0
while [ $i -lt 50 ] && ! out=$(echo via-L | socat -t 2 - TCP:127.0.0.1:"$LP" 2>/dev/null); do
	sleep 0.2; i=$((i + 1))
done
[ "$out" = "via-L" ] && pass "ssh -L to a listed target" ||
    fail "ssh -L: '$out' $(cat "$T/L.err")"

# A forward still open when the engineer's ssh goes away is closed on
# the record with what it carried.
LP2=$(free_port)
start_L "$LP2" L2
L2PID=$L_PID
i=0
while [ $i -lt 50 ] && ! ss -Htln "sport = :$LP2" | grep -q .; do sleep 0.2; i=$((i + 1)); done
(printf 'held-open\n'; sleep 30) | socat - TCP:127.0.0.1:"$LP2" \
    >"$T/held.out" 2>/dev/null &
HELD=$!
PIDS="$PIDS $HELD"
wait_for "$T/held.out" 'held-open' 10 || fail "held forward: no echo"
kill "$L2PID"
wait_for "$AUDIT" '"type":"forward_closed".*"bytes_to_target":10,"bytes_from_target":10' 10 &&
    pass "a forward open when ssh went away is audited closed with its bytes" ||
    fail "no forward_closed for the forward held open when ssh went away"
kill "$HELD" 2>/dev/null

# Remote forwarding is never allowed.
ssh -F "$T/ssh_config" -N -o ExitOnForwardFailure=yes \
    -R "127.0.0.1:$(free_port):127.0.0.1:22" acme-prod </dev/null \
    >/dev/null 2>&1 &
RPID=$!
sleep 3
if kill -0 "$RPID" 2>/dev/null; then
	kill "$RPID"
	fail "ssh -R was accepted"
else
	grep -q '"request":"tcpip-forward"' "$AUDIT" &&
	    pass "ssh -R refused and audited" || fail "-R refusal not audited"
fi

# A connection held open on the -L session, to be cut by the reload.
(printf 'cut\n'; sleep 30) | socat - TCP:127.0.0.1:"$LP" >"$T/cut.out" 2>/dev/null &
CUT=$!
PIDS="$PIDS $CUT"
wait_for "$T/cut.out" 'cut' 10 || fail "cut forward: no echo"

# With forwarding off, nothing is connected.
sed -i '/^\[forward\]/,/^\[/ s/^enabled = yes/enabled = no/' "$T/acme-prod/porthole.conf"
"$CLI_BIN" -f "$T/acme-prod/porthole.conf" reload >/dev/null 2>&1
out=$(echo off | ew "127.0.0.1:$EP" 2>/dev/null)
[ -z "$out" ] && pass "forwarding off: refused" || fail "forwarding off: '$out'"
# The -L session relied on forwarding: the reload ended it.
i=0
while [ $i -lt 50 ] && kill -0 "$LPID" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
! kill -0 "$LPID" 2>/dev/null &&
    grep -q '"type":"session_ended".*"reason":"grant withdrawn".*port forwarding is disabled' "$AUDIT" &&
    pass "the running forward session ended when forwarding was withdrawn" ||
    fail "withdrawn forward: ssh -L still running or not audited"
# The forward it held open is closed on the record too.
wait_for "$AUDIT" '"type":"forward_closed".*"bytes_to_target":null.*"reason":"the session ended"' 5 &&
    pass "the forward open when the grant was withdrawn is audited closed" ||
    fail "no forward_closed for the forward open at the withdrawal"
finish
