#!/bin/sh
# One sandbox per session: a hostile diagnostic (built here) tries to
# reach the network through io_uring, local datagram sockets through
# socketpair(2), to kill another engineer's session and to leave a
# double-forked sleeper behind; all four fail, and
# nothing it starts survives its end, the timeout, porthole kill, the
# engineer hanging up or its monitor being killed.  A session child
# killed by a signal the gateway did not send is audited.
. "$(dirname "$0")/lib.sh"

if ! command -v cc >/dev/null; then
	echo "# no C compiler to build the hostile diagnostic: skipped"
	exit 77
fi
chmod 711 "$T"
cc -O1 -o "$T/hostile" "$top_srcdir/tests/integration/hostile_diag.c" \
    2>"$T/cc.err" || { fail "cc: $(cat "$T/cc.err")"; finish; }
chmod 755 "$T/hostile"

# A listener the io_uring attempt aims at; each connection adds a line.
LPORT=$(free_port)
socat TCP-LISTEN:"$LPORT",bind=127.0.0.1,reuseaddr,fork \
    SYSTEM:"echo accepted >>$T/conn.log" >/dev/null 2>&1 &
PIDS="$PIDS $!"

make_vendor
"$CERTS"/porthole-issue-engineer -c "$T/ca/support_ca" -o "$T/eng" bob SUP-99 +1h \
    >/dev/null
make_cluster acme-prod
write_relay_conf
CMD_TIMEOUT=8s
EXTRA_COMMANDS="uring = $T/hostile uring {port:int}
signal = $T/hostile signal {a:int} {b:int} {c:int}
escape = $T/hostile escape {marker:word} {hold:int}
clone3 = $T/hostile clone3
dgram = $T/hostile dgram $T/dgram.sock porthole-dgram-$$" write_gateway_conf acme-prod
ENGINEER=bob write_ssh_config
mv "$T/ssh_config" "$T/ssh_config.bob"
write_ssh_config
start_relay
start_gateway acme-prod
CONF=$T/acme-prod/porthole.conf
AUDIT=$T/acme-prod/audit/audit.log
GW_PID=$(cat "$T/acme-prod/gateway.pid")

children() { cat /proc/"$1"/task/"$1"/children 2>/dev/null; }
# descendants PID: every process beneath PID, depth first.
descendants() {
	for c in $(children "$1"); do
		echo "$c"
		descendants "$c"
	done
}
# sleepers MARKER: the live sleepers a hostile diagnostic left, by pid.
sleepers() {
	for p in $(pgrep -f "^$T/hostile sleeper $1\$"); do
		alive "$p" && echo "$p"
	done
}
# no_sleeper MARKER WHAT: within 3 s none is left (any left is killed).
no_sleeper() {
	n=30
	while [ "$n" -gt 0 ] && [ -n "$(sleepers "$1")" ]; do
		sleep 0.1; n=$((n - 1))
	done
	left=$(sleepers "$1")
	[ -z "$left" ] && pass "nothing the diagnostic started survives $2" ||
	    { fail "a sleeper survives $2: pid $left"; kill -KILL $left; }
}
# wait_sleeper MARKER: until its sleeper runs (5 s at most).
wait_sleeper() {
	n=50
	while [ "$n" -gt 0 ] && [ -z "$(sleepers "$1")" ]; do
		sleep 0.1; n=$((n - 1))
	done
	[ -n "$(sleepers "$1")" ] && pass "the sleeper $1 runs" ||
	    fail "the sleeper $1 did not start"
}
# monitors: the session monitors now running (the broker's children).
monitors() { children "$GW_PID"; }
# find_session CMDLINE: the session whose diagnostic runs CMDLINE: its
# monitor, session child and diagnostic in MON, CHILD and DIAG.
find_session() {
	MON="" CHILD="" DIAG=""
	n=50
	while [ "$n" -gt 0 ] && [ -z "$DIAG" ]; do
		for m in $(monitors); do
			for p in $(descendants "$m"); do
				[ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" = "$1 " ] &&
				    MON=$m DIAG=$p
			done
		done
		[ -n "$DIAG" ] || { sleep 0.1; n=$((n - 1)); }
	done
	for p in $(children "$MON"); do
		[ "$(cat /proc/"$p"/comm 2>/dev/null)" = portholed ] && CHILD=$p
	done
}

# (a) io_uring: the listener takes connections, but not from a diagnostic.
socat /dev/null TCP:127.0.0.1:"$LPORT" 2>/dev/null
wait_for "$T/conn.log" accepted 3 ||
    fail "the listener does not take connections: the check below means nothing"
before=$(count_lines "$T/conn.log" accepted)
out=$(essh acme-prod uring "$LPORT" 2>&1)
sleep 0.5
[ "$(count_lines "$T/conn.log" accepted)" -eq "$before" ] &&
    pass "io_uring opens no connection from a diagnostic ($out)" ||
    fail "io_uring connected: '$out'"
out=$(essh acme-prod clone3 2>&1)
[ "$out" = "clone3: Function not implemented" ] &&
    pass "clone3 is answered ENOSYS (glibc falls back to clone)" ||
    fail "clone3: '$out'"

# (a2) Local datagram sockets, which socketpair(2) and an address reach
# without socket(2): one at a path anyone may write to, one abstract.
# Each datagram that arrives adds a line.
python3 -c '
import os, select, socket, sys, time
p = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
p.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
a = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
a.bind("\0" + sys.argv[2])
print("bound", flush=True)
end = time.time() + 120
while time.time() < end:
    for s in select.select([p, a], [], [], 1)[0]:
        print("got", s.recv(256).decode(errors="replace"), flush=True)
' "$T/dgram.sock" "porthole-dgram-$$" >"$T/dgram.log" &
PIDS="$PIDS $!"
wait_for "$T/dgram.log" "^bound" 5 || fail "the datagram listener did not start"
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"probe", sys.argv[1])
s.sendto(b"probe", "\0" + sys.argv[2])' "$T/dgram.sock" "porthole-dgram-$$"
wait_count "$T/dgram.log" "^got probe" 1 3 ||
    fail "the datagram listener does not receive: the check below means nothing"
before=$(count_lines "$T/dgram.log" "^got")
out=$(essh acme-prod dgram 2>&1)
sleep 0.5
[ "$(count_lines "$T/dgram.log" "^got")" -eq "$before" ] &&
    pass "a diagnostic sends no datagram to a local socket, by path or abstract name ($(echo "$out" | tr '\n' ';'))" ||
    fail "a diagnostic reached a local datagram socket: $(grep '^got' "$T/dgram.log" | grep -v probe | tr '\n' ';') ($(echo "$out" | tr '\n' ';'))"

# (b) Bob's session runs a diagnostic; alice's hostile one is given the
# pids of bob's session child, diagnostic and monitor to kill.  Bob's
# session is waited for at the end, after it had time to be hit.
ssh -F "$T/ssh_config.bob" acme-prod sleepy 7 </dev/null >"$T/bob.out" \
    2>"$T/bob.err" &
bob=$!
find_session "/bin/sleep 7"
bmon=$MON bchild=$CHILD bdiag=$DIAG
if [ -n "$bdiag" ] && [ -n "$bchild" ]; then
	[ "$(readlink /proc/"$bdiag"/ns/pid)" != "$(readlink /proc/"$GW_PID"/ns/pid)" ] &&
	    pass "a diagnostic runs in a PID namespace of its own" ||
	    fail "the diagnostic shares the gateway's PID namespace"
	[ "$(readlink /proc/"$bdiag"/ns/net)" != "$(readlink /proc/"$GW_PID"/ns/net)" ] &&
	    pass "a diagnostic runs in a network namespace of its own" ||
	    fail "the diagnostic shares the gateway's network namespace"
	# Its reaper needed root only to mount /proc: it runs on as the
	# session's user, without capabilities, with no_new_privs.
	reaper=$(awk '/^PPid:/ { print $2 }' /proc/"$bdiag"/status)
	st=$(grep -E '^(Uid|CapEff|CapPrm|NoNewPrivs):' /proc/"$reaper"/status 2>/dev/null | tr -s '\t' ' ' | tr '\n' ';')
	nobody=$(id -u nobody)
	[ "$(cat /proc/"$reaper"/comm 2>/dev/null)" = portholed-pid1 ] &&
	    [ "$st" = "Uid: $nobody $nobody $nobody $nobody;CapPrm: 0000000000000000;CapEff: 0000000000000000;NoNewPrivs: 1;" ] &&
	    pass "the diagnostic's reaper runs as nobody, without capabilities, with no_new_privs" ||
	    fail "the reaper (pid $reaper, $(cat /proc/"$reaper"/comm 2>/dev/null)): $st"
	out=$(essh acme-prod signal "$bchild" "$bdiag" "$bmon" 2>&1)
	echo "# hostile: $(echo "$out" | tr '\n' ';')"
	alive "$bchild" && alive "$bdiag" && alive "$bmon" &&
	    pass "a diagnostic cannot signal another session's processes" ||
	    fail "bob's session was hit: $out"
else
	fail "bob's session child and diagnostic not found"
fi

# (c) A setsid + double-forked sleeper goes with its diagnostic's end ...
out=$(essh acme-prod escape "m1$$" 0 2>&1)
[ "$out" = "escape: sleeper started" ] || fail "escape: '$out'"
no_sleeper "m1$$" "the diagnostic's exit"

# ... with the diagnostic timeout ...
out=$(essh acme-prod escape "m2$$" 60 2>&1); rc=$?
[ "$rc" -eq 124 ] || fail "escape past the timeout: rc=$rc '$out'"
no_sleeper "m2$$" "the diagnostic timeout"

# ... with porthole kill ...
essh acme-prod escape "m3$$" 60 >/dev/null 2>&1 &
eng=$!
wait_sleeper "m3$$"
sid=$("$CLI_BIN" -f "$CONF" sessions 2>/dev/null |
    awk '$3 == "alice" { print $1 }' | head -n 1)
"$CLI_BIN" -f "$CONF" kill "$sid" >/dev/null 2>&1 ||
    fail "porthole kill $sid refused"
wait "$eng"
no_sleeper "m3$$" "porthole kill"

# ... with the engineer hanging up ...
essh acme-prod escape "m4$$" 60 >/dev/null 2>&1 &
eng=$!
wait_sleeper "m4$$"
# As a closed terminal would: ssh and its ProxyJump ssh get SIGHUP.
kill -HUP $(children "$eng") "$eng"
wait "$eng"
no_sleeper "m4$$" "the engineer hanging up"

# ... and with its monitor killed outright.
essh acme-prod escape "m5$$" 60 >/dev/null 2>&1 &
eng=$!
wait_sleeper "m5$$"
find_session "$T/hostile escape m5$$ 60"
[ -n "$MON" ] && kill -KILL "$MON"
wait "$eng"
no_sleeper "m5$$" "its monitor being killed"

# A session child killed by someone else's SIGKILL is not the gateway's
# own kill: it is audited.
before=$(count_lines "$AUDIT" '"type":"session_violation".*"signal":9')
essh acme-prod sleepy 5 >/dev/null 2>&1 &
eng=$!
find_session "/bin/sleep 5"
child=$CHILD
[ -n "$child" ] && kill -KILL "$child"
wait "$eng"
wait_count "$AUDIT" '"type":"session_violation".*"signal":9' "$before" 5 &&
    pass "a session child killed by another's SIGKILL is audited" ||
    fail "the outside SIGKILL of the session child is not audited"

wait "$bob"; rc=$?
[ "$rc" -eq 0 ] && pass "the other engineer's diagnostic ended normally" ||
    fail "bob: rc=$rc $(cat "$T/bob.err")"

finish
