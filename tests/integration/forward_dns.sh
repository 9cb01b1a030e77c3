#!/bin/sh
# A forward's host name reaches the customer's resolver only when a
# [forward] target has that name: any other name is refused before a
# lookup, so an engineer cannot make the cluster send DNS queries of
# their choosing.  The gateway runs in a mount namespace whose
# /etc/resolv.conf points at a resolver this test runs and watches.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null ||
    ! unshare -m true 2>/dev/null; then
	echo "# needs root and mount namespaces (unshare -m): skipped"
	exit 77
fi

# The resolver: a loopback address of its own, port 53, every query's
# name logged, every answer NXDOMAIN.
set -- $(od -An -N2 -tu1 /dev/urandom)
DNS=127.53.$(($1 % 250 + 1)).$(($2 % 250 + 1))
cat >"$T/dns.py" <<'EOF'
import socket, sys

addr, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, 53))
open(log, "w").close()
while True:
    q, peer = s.recvfrom(512)
    i, labels = 12, []
    while i < len(q) and q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
        i += 1 + q[i]
    with open(log, "a") as f:
        f.write(".".join(labels).lower() + "\n")
    flags = 0x8000 | ((q[2] & 1) << 8) | 0x0080 | 3     # NXDOMAIN
    s.sendto(q[:2] + flags.to_bytes(2, "big") + q[4:6] + bytes(6) +
             q[12:i + 5], peer)
EOF
python3 "$T/dns.py" "$DNS" "$T/dns.log" 2>"$T/dns.err" &
PIDS="$PIDS $!"
n=50
while [ ! -f "$T/dns.log" ] && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
[ -f "$T/dns.log" ] || { fail "the test resolver did not start: $(cat "$T/dns.err")"; finish; }
printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$DNS" >"$T/resolv.conf"

# The gateway, with that resolv.conf bound over its /etc/resolv.conf.
REAL_GATEWAY=$GATEWAY_BIN
GATEWAY_BIN=$T/gateway-in-ns
cat >"$GATEWAY_BIN" <<EOF
#!/bin/sh
exec unshare -m sh -c 'mount --bind "\$0" /etc/resolv.conf && exec "\$@"' \
    "$T/resolv.conf" "$REAL_GATEWAY" "\$@"
EOF
chmod 755 "$GATEWAY_BIN"

EP=$(free_port)
socat TCP-LISTEN:"$EP",bind=127.0.0.1,reuseaddr,fork EXEC:/bin/cat \
    >/dev/null 2>&1 &
PIDS="$PIDS $!"
LISTED=svc-$$.porthole.test
PROBE=probe-$$.porthole.test
FORWARD_ENABLED=yes
FORWARD_TARGETS="127.0.0.1:$EP, $LISTED:$EP"
standard_setup
AUDIT=$T/acme-prod/audit/audit.log

ew() {
	ssh -F "$T/ssh_config" -W "$1" acme-prod
}

out=$(echo hello | ew "127.0.0.1:$EP" 2>/dev/null)
[ "$out" = "hello" ] && pass "a forward to a listed address works" ||
    fail "127.0.0.1:$EP gave '$out'"

# A target's own name is looked up on the gateway: this is what the
# resolver sees, and why its silence below means something.
echo hello | ew "$LISTED:$EP" >/dev/null 2>&1
wait_for "$T/dns.log" "^$LISTED\$" 5 &&
    pass "a listed target's name is resolved by the gateway's resolver" ||
    fail "no query for $LISTED: the resolver is not the gateway's ($(cat "$T/dns.log"))"

before=$(count_lines "$AUDIT" '"type":"forward_refused".*not a forwarding target')
out=$(echo leak | ew "$PROBE:$EP" 2>/dev/null)
wait_count "$AUDIT" '"type":"forward_refused".*not a forwarding target' "$before" 3 &&
    [ -z "$out" ] && pass "a forward to an unlisted name is refused and audited" ||
    fail "$PROBE: out='$out'"
sleep 1
! grep -q "probe-$$" "$T/dns.log" &&
    pass "the unlisted name never reached the resolver" ||
    fail "the resolver was asked for $PROBE"

finish
