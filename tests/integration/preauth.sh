#!/bin/sh
# Connections that never log in, against a relay with few descriptors:
# the relay raises its soft descriptor limit, pauses accept() instead of
# spinning when descriptors run out, bounds unauthenticated connections
# per source (max_per_source) and in all (max_startups), closes them
# after login_grace, logs refusals as bursts, and keeps one descriptor
# per tunnel. Meanwhile an engineer logs in and a gateway reconnects.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null && command -v prlimit >/dev/null ||
    { echo "SKIP: needs python3 and prlimit"; exit 77; }

make_vendor
make_cluster acme-prod
write_gateway_conf acme-prod
write_ssh_config
HZ=$(getconf CLK_TCK)

# flood.py SOURCES PORT COUNT SETTLE HOLD MODE OUT: COUNT raw TCP
# connections from the comma-separated SOURCES (round robin) that never
# send a byte. After SETTLE seconds it writes "held N": those open for
# at least half a second without an end of file. With MODE persist, a
# connection the relay closes is opened again (at most 200 a second).
# After HOLD seconds it writes "graced N MIN MAX" (the connections that
# got the relay's SSH banner and were closed later, with their lifetimes)
# and "done", and closes everything.
cat >"$T/flood.py" <<'EOF'
import select, socket, sys, time
srcs, port, count = sys.argv[1].split(","), int(sys.argv[2]), int(sys.argv[3])
settle, hold, mode, out = float(sys.argv[4]), float(sys.argv[5]), sys.argv[6], sys.argv[7]
start, conns, graced, retry = time.monotonic(), {}, [], []
poller = select.poll()

def connect(i):
    s = socket.socket()
    s.bind((srcs[i % len(srcs)], 0))
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        retry.append(i)
        return
    s.setblocking(False)
    conns[s.fileno()] = [s, time.monotonic(), False, i]
    poller.register(s, select.POLLIN)

def write(line):
    with open(out, "a") as f:
        f.write(line + "\n")

for i in range(count):
    connect(i)
reported, budget, paced = False, 0.0, time.monotonic()
while time.monotonic() - start < hold:
    for fd, _ in poller.poll(20):
        s, t, banner, i = conns[fd]
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if data:
            conns[fd][2] = banner or data.startswith(b"SSH-")
            continue
        if banner:
            graced.append(time.monotonic() - t)
        poller.unregister(s)
        del conns[fd]
        s.close()
        retry.append(i)
    if mode == "persist":
        now = time.monotonic()
        budget = min(20.0, budget + (now - paced) * 200)
        paced = now
        while retry and budget >= 1:
            connect(retry.pop(0))
            budget -= 1
    if not reported and time.monotonic() - start >= settle:
        now = time.monotonic()
        write("held %d" % sum(1 for c in conns.values() if now - c[1] >= 0.5))
        reported = True
if graced:
    write("graced %d %.1f %.1f" % (len(graced), min(graced), max(graced)))
else:
    write("graced 0 0 0")
write("done")
EOF

# flood NAME SOURCES COUNT SETTLE HOLD MODE: start one in the background.
flood() {
	: >"$T/$1.out"
	python3 "$T/flood.py" "$2" "$RELAY_PORT" "$3" "$4" "$5" "$6" \
	    "$T/$1.out" 2>>"$T/flood.err" &
	eval "${1}_PID=$!"
}
# held NAME: the count the flood reported after settling.
held() {
	wait_for "$T/$1.out" "^held" 10
	sed -n 's/^held //p' "$T/$1.out"
}

# start_relay_limited SOFT:HARD KEY=VALUE...: a relay under this
# descriptor limit with these [relay] keys, logging to a fresh relay.log
# (the previous one is kept as relay-N.log).
NRELAY=0
start_relay_limited() {
	nofile=$1; shift
	if [ -f "$T/relay.log" ]; then
		NRELAY=$((NRELAY + 1))
		mv "$T/relay.log" "$T/relay-$NRELAY.log"
	fi
	write_relay_conf
	for kv; do
		sed -i "/^engineers = /a $kv" "$T/relay.conf"
	done
	prlimit --nofile="$nofile" "$RELAY_BIN" -f "$T/relay.conf" -d \
	    >>"$T/relay.log" 2>&1 &
	RELAY_PID=$!
	PIDS="$PIDS $RELAY_PID"
	wait_for "$T/relay.log" "listening on" 10 ||
	    { fail "relay did not start"; finish; }
}
stop_relay() {
	kill "$RELAY_PID" 2>/dev/null
	wait "$RELAY_PID" 2>/dev/null
}

# CPU ticks the relay has used, and the lines of its log.
cpu() { awk '{ print $14 + $15 }' "/proc/$RELAY_PID/stat"; }
lines() { wc -l <"$T/relay.log"; }
# The relay's open sockets; sockets_to N: wait up to 5 s until it has N.
sockets() { ls -l "/proc/$RELAY_PID/fd" 2>/dev/null | grep -c 'socket:'; }
sockets_to() {
	n=50
	while [ "$(sockets)" -ne "$1" ] && [ "$n" -gt 0 ]; do
		sleep 0.1; n=$((n - 1))
	done
	[ "$(sockets)" -eq "$1" ]
}

# quiet_for SECONDS WHAT: the relay does not spin meanwhile: less than a
# fifth of a core and fewer than 20 log lines (it spun at 100 % writing
# about 30 MB/s of "Error from accept()" when descriptors ran out).
quiet_for() {
	c0=$(cpu); l0=$(lines)
	sleep "$1"
	c1=$(cpu); l1=$(lines)
	used=$((c1 - c0)); grew=$((l1 - l0))
	[ "$used" -lt $((HZ * $1 / 5)) ] && [ "$grew" -lt 20 ] &&
	    pass "$2: the relay does not spin ($used ticks, $grew log lines in $1 s)" ||
	    fail "$2: $used ticks of CPU (HZ $HZ) and $grew log lines in $1 s"
}

# login_as_engineer WHAT: alice reaches the cluster within 10 seconds.
login_as_engineer() {
	out=$(timeout 10 ssh -F "$T/ssh_config" acme-prod status 2>"$T/ssh.err" </dev/null)
	[ "$out" = "cluster acme-prod is healthy" ] &&
	    pass "$1: alice reaches the cluster" ||
	    fail "$1: '$out' $(tail -n 2 "$T/ssh.err")"
}

# --- relay.conf: bad values are refused with FILE:LINE ---------------
f0=$FAILS
for kv in "max_startups = 10:30" "max_startups = 0" "max_startups = 20:30:10" \
    "max_startups = 10:101:100" "max_per_source = 0" "login_grace = 0s" \
    "login_grace = 1h"; do
	write_relay_conf
	sed -i "/^engineers = /a $kv" "$T/relay.conf"
	"$RELAY_BIN" -f "$T/relay.conf" -d >/dev/null 2>"$T/err"; rc=$?
	key=${kv%% *}
	[ "$rc" -eq 1 ] && grep -q "relay.conf:[0-9]*: $key: " "$T/err" ||
	    fail "'$kv': rc=$rc '$(cat "$T/err")'"
done
[ "$FAILS" -eq "$f0" ] &&
    pass "bad max_startups, max_per_source and login_grace values are refused with FILE:LINE"

# --- Descriptors used up: accept() pauses instead of spinning ---------
# Limits too high to matter: only the descriptors bound the relay. Twice,
# with limits one apart: a relay that took two descriptors a connection
# spun only when the descriptors left were even.
f0=$FAILS
for limit in 48 49; do
	start_relay_limited $limit:$limit "max_startups = 1000" \
	    "max_per_source = 1000" "login_grace = 30s"
	grep -q "the descriptor limit ($limit) is below max_startups' full (1000)" \
	    "$T/relay.log" || fail "$limit: no warning about the descriptor limit"
	start_gateway acme-prod
	flood fill 127.0.0.3 100 1 4 once
	held fill >/dev/null
	quiet_for 2 "out of descriptors (limit $limit)"
	grep -q "accept: Too many open files (descriptor limit $limit)" "$T/relay.log" ||
	    fail "$limit: no 'accept: Too many open files' line"
	[ "$(count_lines "$T/relay.log" "accept: ")" -eq 1 ] ||
	    fail "$limit: accept failures logged $(count_lines "$T/relay.log" "accept:") times"
	# Once the connections go, the relay accepts again by itself.
	wait "$fill_PID"
	login_as_engineer "limit $limit, after the flood went"
	stop_gateway acme-prod
	stop_relay
done
[ "$FAILS" -eq "$f0" ] &&
    pass "the relay warned that descriptors run out first, and said once that they did"

# --- Unauthenticated connections bounded; logins go on ----------------
# The soft limit is raised to the hard one, 128: fewer than the flood,
# which used them all up before max_per_source.
start_relay_limited 32:128 "max_startups = 8:50:16" "max_per_source = 4" \
    "login_grace = 3s"
grep -q "descriptor limit raised from 32 to 128" "$T/relay.log" &&
    awk '/^Max open files/ { exit !($4 == 128 && $5 == 128) }' \
    "/proc/$RELAY_PID/limits" &&
    pass "the relay raises its soft descriptor limit to the hard one" ||
    fail "limits: $(grep '^Max open files' "/proc/$RELAY_PID/limits")"
start_gateway acme-prod
base=$(sockets)

# 150 connections from 127.0.0.2, reopened as the relay closes them.
flood many 127.0.0.2 150 1 7 persist
n=$(held many)
[ "$n" = 4 ] && pass "max_per_source: 127.0.0.2 holds 4 unauthenticated connections" ||
    fail "127.0.0.2 holds '$n' connections, not 4"
grep -q "127.0.0.2:[0-9]*: connection refused: 4 unauthenticated connections from this address (max_per_source 4)" \
    "$T/relay.log" && [ "$(count_lines "$T/relay.log" "connection refused")" -eq 1 ] &&
    pass "the first refusal is logged, the others are counted" ||
    fail "refusals logged: $(grep -c "refused" "$T/relay.log")"
quiet_for 2 "flood from 127.0.0.2"
login_as_engineer "during the flood from 127.0.0.2"
stop_gateway acme-prod
start_gateway acme-prod
login_as_engineer "the reconnected gateway's tunnel, during the flood"

# login_grace: the connections that got the banner and never logged in
# were closed after 3 s.
wait "$many_PID"
read -r _ g gmin gmax <<EOF
$(grep '^graced' "$T/many.out")
EOF
[ "${g:-0}" -ge 4 ] && awk -v a="$gmin" -v b="$gmax" 'BEGIN { exit !(a >= 2.5 && b <= 5) }' &&
    pass "login_grace: $g idle connections closed after $gmin-$gmax s" ||
    fail "login_grace: '$(grep '^graced' "$T/many.out")'"
grep -q "closed (login grace time exceeded)" "$T/relay.log" ||
    fail "no 'login grace time exceeded' in the relay's log"

# max_startups: 60 connections from 10 addresses (6 each, 4 at most
# admitted from each): the first 8 always get in, none past 16. First
# the relay lets go of the last flood's connections.
sockets_to "$base"
flood wide 127.0.0.10,127.0.0.11,127.0.0.12,127.0.0.13,127.0.0.14,127.0.0.15,127.0.0.16,127.0.0.17,127.0.0.18,127.0.0.19 \
    60 1 1.5 once
n=$(held wide)
[ -n "$n" ] && [ "$n" -ge 8 ] && [ "$n" -le 16 ] &&
    pass "max_startups 8:50:16: $n unauthenticated connections held" ||
    fail "max_startups: '$n' connections held, not 8-16"
wait "$wide_PID"

# The burst of refusals ends with one line that counts them.
wait_for "$T/relay.log" "refused [0-9]* more connections in [0-9]* s ([0-9]* past max_startups 8:50:16, [0-9]* past max_per_source 4; the latest from 127.0.0.1[0-9]); none since" 12 &&
    pass "the burst is summed up in one line: $(grep -o 'refused [0-9]* more connections in [0-9]* s' "$T/relay.log" | tail -n 1)" ||
    fail "no summary of the refusals"

# No descriptor left behind, and one per tunnel.
sockets_to "$base" &&
    pass "after the floods, logins and a reconnect the relay holds its $base sockets again" ||
    fail "the relay holds $(sockets) sockets, $base before"
off=$(count_lines "$T/relay.log" "cluster acme-prod offline")
stop_gateway acme-prod
wait_count "$T/relay.log" "cluster acme-prod offline" "$off" 5
sockets_to $((base - 1)) && pass "a tunnel holds one descriptor" ||
    fail "the tunnel held $((base - $(sockets))) descriptors"

finish
