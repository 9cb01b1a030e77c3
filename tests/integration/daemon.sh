#!/bin/sh
# The daemons run the way an operator runs them: without -d.  They
# detach only once ready, with every start-up problem on the terminal
# and exit 1; one instance per run_dir; the relay's reports cannot take
# acknowledged records from a running relay; -t, the start and
# `porthole policy check` refuse the same mistakes with the same lines;
# systemd hears READY=1 on $NOTIFY_SOCKET.
. "$(dirname "$0")/lib.sh"

# A detached daemon's stderr is /dev/null: under --enable-sanitizers
# their reports go to files, checked at the end.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T/sanitizer"
UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T/sanitizer"
export ASAN_OPTIONS UBSAN_OPTIONS

make_vendor
make_cluster acme-prod
write_relay_conf
write_gateway_conf acme-prod
CONF=$T/acme-prod/porthole.conf
RELAY_PIDFILE=$T/relay-run/porthole-relay.pid
GW_PIDFILE=$T/acme-prod/run/portholed.pid
relay_q() { "$RELAY_BIN" -f "$T/relay.conf" "$@"; }
"$CLI_BIN" -f "$CONF" audit init >"$T/acme-prod/audit.k0" 2>/dev/null ||
    fail "porthole audit init failed"

# A daemon started without -d: the test's cleanup must stop it too.
daemon_pid() {
	p=$(cat "$1" 2>/dev/null)
	[ -n "$p" ] && alive "$p" && echo "$p"
}
stop_daemon() {
	p=$(cat "$1" 2>/dev/null)
	[ -n "$p" ] || return 0
	kill "$p" 2>/dev/null
	gone 10 "$p" || fail "pid $p did not stop"
}
trap 'stop_daemon "$GW_PIDFILE"; stop_daemon "$RELAY_PIDFILE"; cleanup' EXIT
listening() { ss -Htln "sport = :$RELAY_PORT" | grep -q .; }
usage_rows() {
	relay_q usage acme-prod 2>/dev/null |
	    grep -c "2026-11-24T09:00:00Z  *env-[0-9]*  *host_units  *1$"
}
drained() {
	i=0
	while [ $i -lt 100 ] && [ "$(spool_depth acme-prod)" != "0" ]; do
		sleep 0.1; i=$((i + 1))
	done
	[ "$(spool_depth acme-prod)" = "0" ]
}
# send FIRST COUNT: usage records, each acknowledged by the gateway.
send() {
	usage_records "$1" "$2" >"$T/batch.json"
	n=$("$CLI_BIN" -f "$CONF" send usage "$T/batch.json" 2>&1 | grep -c stored)
	[ "$n" -eq "$2" ] || fail "records $1..: $n of $2 stored by the gateway"
}

# The relay detaches once it listens and its store is open.
"$RELAY_BIN" -f "$T/relay.conf" >"$T/start.out" 2>&1; rc=$?
listening; up=$?
rpid=$(daemon_pid "$RELAY_PIDFILE")
[ "$rc" -eq 0 ] && [ ! -s "$T/start.out" ] && [ "$up" -eq 0 ] &&
    [ -n "$rpid" ] && [ -f "$T/relay.db" ] &&
    pass "porthole-relay returns once it listens; its pid is in run_dir" ||
    fail "relay start: rc=$rc up=$up pid='$rpid' $(cat "$T/start.out")"

# So does the gateway: its control socket answers at once.  The tunnel
# may still be connecting (status 3): connecting holds nothing up.
"$GATEWAY_BIN" -f "$CONF" >"$T/start.out" 2>&1; rc=$?
"$CLI_BIN" -f "$CONF" status >"$T/status.out" 2>&1; st=$?
gpid=$(daemon_pid "$GW_PIDFILE")
[ "$rc" -eq 0 ] && [ ! -s "$T/start.out" ] &&
    { [ "$st" -eq 0 ] || [ "$st" -eq 3 ]; } &&
    [ -n "$gpid" ] && grep -q "^cluster        acme-prod" "$T/status.out" &&
    pass "portholed returns once its sockets, audit log and tunnel are started" ||
    fail "gateway start: rc=$rc status=$st pid='$gpid' $(cat "$T/start.out" "$T/status.out")"
i=0
while [ $i -lt 100 ] && ! "$CLI_BIN" -f "$CONF" status | grep -q "(tunnel up"; do
	sleep 0.1; i=$((i + 1))
done

# Records the relay acknowledged (the gateway's spool is empty again),
# a report while it runs, more records, another report, kill -9: the
# restarted relay has every record.  A report used to checkpoint and
# delete the live WAL (the store was opened before the fork, which
# drops SQLite's locks), and what followed was lost with the relay.
send 0 100
drained || fail "the first 100 records were not acknowledged"
relay_q clusters >"$T/clusters.out" 2>&1 ||
    fail "clusters report: $(cat "$T/clusters.out")"
send 100 100
drained || fail "the next 100 records were not acknowledged"
[ "$(usage_rows)" -eq 200 ] ||
    fail "a report sees $(usage_rows) of 200 acknowledged records"
[ -f "$T/relay.db-wal" ] || fail "a report removed the running relay's WAL"
kill -9 "$rpid"
gone 5 "$rpid" || fail "the relay survived kill -9"
"$RELAY_BIN" -f "$T/relay.conf" >"$T/start.out" 2>&1 ||
    fail "relay restart after kill -9: $(cat "$T/start.out")"
n=$(usage_rows)
[ "$n" -eq 200 ] &&
    pass "after reports and kill -9 the relay's store has all 200 acknowledged records" ||
    fail "after kill -9 the store has $n of 200 acknowledged records"
rpid=$(daemon_pid "$RELAY_PIDFILE")

# One instance: a second start is refused whichever way it is started,
# and the first runs on with an audit log that verifies.
lines=$(count_lines "$T/acme-prod/audit/audit.log" .)
for how in "" -d; do
	"$GATEWAY_BIN" $how -f "$CONF" >/dev/null 2>"$T/err"; rc=$?
	[ "$rc" -eq 1 ] &&
	    grep -q "another portholed (pid $gpid) runs with $GW_PIDFILE" "$T/err" &&
	    pass "a second portholed ${how:-(daemon mode)} is refused, naming the first" ||
	    fail "second gateway $how: rc=$rc $(cat "$T/err")"
	"$RELAY_BIN" $how -f "$T/relay.conf" >/dev/null 2>"$T/err"; rc=$?
	[ "$rc" -eq 1 ] &&
	    grep -q "another porthole-relay (pid $rpid) runs with $RELAY_PIDFILE" "$T/err" &&
	    pass "a second porthole-relay ${how:-(daemon mode)} is refused, naming the first" ||
	    fail "second relay $how: rc=$rc $(cat "$T/err")"
done
n=$(count_lines "$T/acme-prod/audit/audit.log" .)
alive "$gpid" && alive "$rpid" && [ "$n" -eq "$lines" ] &&
    pass "the first gateway and relay run on; nothing was added to the audit log" ||
    fail "after second starts: audit log $lines -> $n lines"
"$CLI_BIN" -f "$CONF" audit verify --key "$(head -1 "$T/acme-prod/audit.k0")" \
    >"$T/verify.out" 2>&1 &&
    pass "the audit log verifies" || fail "audit verify: $(cat "$T/verify.out")"

# -t beside the running relay of the same run_dir: the port that relay
# listens on is its own and passes; a new listen address that another
# program holds is named, as it is when no relay runs.
"$RELAY_BIN" -t -f "$T/relay.conf" >"$T/t.out" 2>&1 && [ ! -s "$T/t.out" ] &&
    pass "-t beside the running relay accepts the port it listens on" ||
    fail "-t beside the relay: $(cat "$T/t.out")"
OTHER_PORT=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
print("listening", flush=True)
time.sleep(30)' "$OTHER_PORT" >"$T/other.out" &
other=$!
wait_for "$T/other.out" "^listening" 5 || fail "the other program did not listen"
sed "s|^listen = .*|listen = 127.0.0.1:$OTHER_PORT|" "$T/relay.conf" >"$T/relay-other.conf"
"$RELAY_BIN" -t -f "$T/relay-other.conf" >"$T/t.out" 2>&1; rc=$?
[ "$rc" -eq 1 ] &&
    grep -q "^$T/relay-other.conf:[0-9]*: \[relay\] listen: 127.0.0.1:$OTHER_PORT is in use by another program" "$T/t.out" &&
    pass "-t beside the running relay names a new port another program holds" ||
    fail "-t with the other program's port: rc=$rc $(cat "$T/t.out")"
kill "$other"; wait "$other" 2>/dev/null

# A clean stop removes the pid file; the next start takes it again.
stop_daemon "$GW_PIDFILE"
[ ! -e "$GW_PIDFILE" ] && pass "a stopped gateway leaves no pid file" ||
    fail "pid file after stop: $(cat "$GW_PIDFILE")"
stop_daemon "$RELAY_PIDFILE"

# Each mistake is refused by -t, by a start in daemon mode (with the
# very same lines) and, for the gateway, by porthole policy check.
# refused NAME PROGRAM CONF PATTERN
refused() {
	"$2" -t -f "$3" >"$T/t.out" 2>&1; trc=$?
	"$2" -f "$3" >"$T/start.out" 2>&1; src=$?
	ok=1
	[ "$trc" -eq 1 ] && [ "$src" -eq 1 ] && grep -q -- "$4" "$T/t.out" &&
	    cmp -s "$T/t.out" "$T/start.out" || ok=0
	if [ "$2" = "$GATEWAY_BIN" ]; then
		"$CLI_BIN" policy check "$3" >/dev/null 2>"$T/pc.out"
		[ $? -eq 1 ] && cmp -s "$T/t.out" "$T/pc.out" || ok=0
	fi
	# Nothing may be left running; if something was, stop it.
	for f in "$GW_PIDFILE" "$RELAY_PIDFILE"; do
		[ -z "$(daemon_pid "$f")" ] || { ok=0; stop_daemon "$f"; }
	done
	[ $ok -eq 1 ] && pass "refused by -t and by a start, same lines: $1" ||
	    fail "$1: -t rc=$trc start rc=$src; -t said: $(cat "$T/t.out"); start said: $(cat "$T/start.out")"
}
# bad NAME SED: a copy of the gateway's config, changed.
bad() {
	sed "$2" "$CONF" >"$T/$1.conf"
	echo "$T/$1.conf"
}
lineof() { grep -n "^$1 = " "$CONF" | cut -d: -f1; }

c=$(bad nokey "s|^cluster_key = .*|cluster_key = $T/acme-prod/gone.key|")
refused "a missing cluster key" "$GATEWAY_BIN" "$c" \
    "^$c:$(lineof cluster_key): \[gateway\] cluster_key: $T/acme-prod/gone.key: No such file or directory$"
c=$(bad pubkey "s|^session_host_key = .*|session_host_key = $T/acme-prod/session_host_key.pub|")
refused "a .pub as the session host key" "$GATEWAY_BIN" "$c" \
    "^$c:$(lineof session_host_key): \[gateway\] session_host_key: $T/acme-prod/session_host_key.pub is a public key; name the private key, $T/acme-prod/session_host_key$"
c=$(bad nouser "s|^user = .*|user = porthole-test-nobody|")
refused "an unknown user" "$GATEWAY_BIN" "$c" \
    "^$c:$(lineof user): \[gateway\] user: 'porthole-test-nobody' does not exist"
cp "$T/acme-prod/acme-prod.key" "$T/acme-prod/loose.key"
chmod 644 "$T/acme-prod/loose.key"
c=$(bad loose "s|^cluster_key = .*|cluster_key = $T/acme-prod/loose.key|")
refused "a private key of mode 0644" "$GATEWAY_BIN" "$c" \
    "^$T/acme-prod/loose.key: group or others may read it (mode 0644); chmod 600 $T/acme-prod/loose.key$"
c=$(bad writable "")
chmod 666 "$c"
refused "a world-writable porthole.conf" "$GATEWAY_BIN" "$c" \
    "^$c: writable by group or others (mode 0666); chmod go-w $c$"
c=$(bad noprog "s|^status = .*|status = $T/product/bin/status --json|")
refused "a diagnostic whose program is missing" "$GATEWAY_BIN" "$c" \
    "^$c:$(lineof status): \[commands\] status: $T/product/bin/status: No such file or directory$"
: >"$T/not-a-dir"
c=$(bad rundir "s|^run_dir = .*|run_dir = $T/not-a-dir|")
refused "a gateway run_dir that cannot be created" "$GATEWAY_BIN" "$c" \
    "^$c:$(lineof run_dir): \[gateway\] run_dir: $T/not-a-dir exists and is not a directory"
sed "s|^run_dir = .*|run_dir = $T/not-a-dir|" "$T/relay.conf" >"$T/relay-rundir.conf"
refused "a relay run_dir that cannot be created" "$RELAY_BIN" "$T/relay-rundir.conf" \
    "^$T/relay-rundir.conf:[0-9]*: \[relay\] run_dir: $T/not-a-dir exists and is not a directory"
python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
time.sleep(30)' "$RELAY_PORT" &
holder=$!
i=0; while [ $i -lt 50 ] && ! listening; do sleep 0.1; i=$((i + 1)); done
refused "a relay port in use" "$RELAY_BIN" "$T/relay.conf" \
    "^$T/relay.conf:[0-9]*: \[relay\] listen: 127.0.0.1:$RELAY_PORT is in use by another program"
kill "$holder"; wait "$holder" 2>/dev/null

# The directories a daemon writes to are as safe as the files it reads:
# owned by root (or the daemon) and writable by nobody else.
mkdir -m 0777 "$T/open-state"
c=$(bad openstate "s|^state_dir = .*|state_dir = $T/open-state|")
refused "a state_dir others may write" "$GATEWAY_BIN" "$c" \
    "^$c:$(lineof state_dir): \[gateway\] state_dir: $T/open-state: writable by group or others (mode 0777); chmod go-w $T/open-state$"
if id nobody >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
	mkdir -m 0755 "$T/nobody-run"
	chown nobody "$T/nobody-run"
	c=$(bad nobodyrun "s|^run_dir = .*|run_dir = $T/nobody-run|")
	refused "a run_dir owned by nobody" "$GATEWAY_BIN" "$c" \
	    "^$c:$(lineof run_dir): \[gateway\] run_dir: $T/nobody-run: owned by uid $(id -u nobody) (nobody); chown root $T/nobody-run$"
	# A pid file planted by another user is not the daemon's to write.
	echo planted >"$GW_PIDFILE"
	chown nobody "$GW_PIDFILE"
	"$GATEWAY_BIN" -f "$CONF" >"$T/start.out" 2>&1; rc=$?
	[ "$rc" -eq 1 ] && [ "$(cat "$GW_PIDFILE")" = planted ] &&
	    grep -q "error: $GW_PIDFILE: owned by uid $(id -u nobody) (nobody), not by portholed (uid 0): not its pid file; rm $GW_PIDFILE$" "$T/start.out" &&
	    pass "a pid file planted by nobody is refused, not written" ||
	    fail "planted pid file: rc=$rc pid file '$(cat "$GW_PIDFILE")' $(cat "$T/start.out")"
	[ "$(cat "$GW_PIDFILE")" = planted ] || stop_daemon "$GW_PIDFILE"
	rm -f "$GW_PIDFILE"
else
	echo "# not root or no user nobody: owner rows skipped"
fi

# Every problem of a file is listed, not only the first.
c=$(bad many "s|^user = .*|user = porthole-test-nobody|; s|^cluster_key = .*|cluster_key = $T/acme-prod/gone.key|")
"$GATEWAY_BIN" -t -f "$c" >"$T/t.out" 2>&1
[ "$(grep -c . "$T/t.out")" -eq 2 ] && pass "-t lists every problem, one line each" ||
    fail "-t on two problems: $(cat "$T/t.out")"

# An error found only after the fork still reaches the terminal: the
# seal key is missing (porthole audit init was not run).
mv "$T/acme-prod/state/audit.key" "$T/audit.key.away"
"$GATEWAY_BIN" -f "$CONF" >"$T/start.out" 2>&1; rc=$?
[ "$rc" -eq 1 ] && grep -q "audit.key: .*porthole audit init" "$T/start.out" &&
    [ -z "$(daemon_pid "$GW_PIDFILE")" ] &&
    pass "an error of the detached child is printed and the start exits 1" ||
    fail "late error: rc=$rc $(cat "$T/start.out")"
mv "$T/audit.key.away" "$T/acme-prod/state/audit.key"
"$GATEWAY_BIN" -t -f "$CONF" >"$T/t.out" 2>&1 && [ ! -s "$T/t.out" ] &&
    pass "-t on a good file is silent and exits 0" ||
    fail "-t on the good file: $(cat "$T/t.out")"

# systemd: READY=1 on $NOTIFY_SOCKET (a path, or '@' for an abstract
# name), MAINPID= naming the detached child; RELOADING=1 around a reload.
# notify_listen ADDRESS OUT: collect the datagrams, one per line.
notify_listen() {
	python3 -c '
import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + a[1:] if a.startswith("@") else a)
s.settimeout(20)
with open(sys.argv[2], "w") as out:
    print("bound", file=out, flush=True)
    while True:
        try:
            m = s.recv(4096).decode()
        except socket.timeout:
            break
        print(m.replace("\n", " "), file=out, flush=True)
        if "STOPPING=1" in m:
            break' "$1" "$2" &
	NL=$!
	wait_for "$2" "^bound" 5 || fail "the notify listener did not start"
}
notify_listen "$T/notify.sock" "$T/notify.out"
NOTIFY_SOCKET=$T/notify.sock "$RELAY_BIN" -f "$T/relay.conf" >"$T/start.out" 2>&1 ||
    fail "relay start with NOTIFY_SOCKET: $(cat "$T/start.out")"
rpid=$(daemon_pid "$RELAY_PIDFILE")
wait_for "$T/notify.out" "^MAINPID=$rpid READY=1$" 5 &&
    pass "the detached relay is announced: MAINPID=$rpid READY=1" ||
    fail "relay notify: $(cat "$T/notify.out")"
stop_daemon "$RELAY_PIDFILE"
wait_for "$T/notify.out" "^STOPPING=1$" 5 || fail "no STOPPING=1 from the relay"
wait "$NL" 2>/dev/null

notify_listen "@porthole-test-$$" "$T/notify2.out"
NOTIFY_SOCKET=@porthole-test-$$ "$GATEWAY_BIN" -d -f "$CONF" \
    >>"$T/gateway-acme-prod.log" 2>&1 &
gpid=$!
PIDS="$PIDS $gpid"
wait_for "$T/notify2.out" "^READY=1$" 10 &&
    pass "portholed in the foreground sends READY=1 to an abstract socket" ||
    fail "gateway notify: $(cat "$T/notify2.out")"
"$CLI_BIN" -f "$CONF" reload >/dev/null 2>&1 || fail "reload failed"
wait_count "$T/notify2.out" "^READY=1$" 1 5 &&
    grep -q "^RELOADING=1 MONOTONIC_USEC=[0-9]*$" "$T/notify2.out" &&
    pass "a reload is announced with RELOADING=1 and READY=1" ||
    fail "reload notify: $(cat "$T/notify2.out")"
kill "$gpid"
wait_for "$T/notify2.out" "^STOPPING=1$" 5 || fail "no STOPPING=1 from the gateway"
wait "$gpid" 2>/dev/null
wait "$NL" 2>/dev/null

# --help and --version.
for b in "$GATEWAY_BIN" "$RELAY_BIN"; do
	n=$(basename "$b")
	"$b" --help >"$T/help.out" 2>&1; hrc=$?
	"$b" --version >"$T/version.out" 2>&1; vrc=$?
	[ "$hrc" -eq 0 ] && grep -q "^usage: $n -f FILE \[-d\] \[-t\] \[-v\]$" "$T/help.out" &&
	    [ "$vrc" -eq 0 ] && grep -q "^$n [0-9][0-9.]*$" "$T/version.out" &&
	    pass "$n --help and --version print on stdout and exit 0" ||
	    fail "$n --help/--version: $hrc $vrc $(cat "$T/help.out" "$T/version.out")"
done

for f in "$T"/sanitizer.*; do
	[ -f "$f" ] || continue
	fail "sanitizer report $(basename "$f"): $(head -5 "$f")"
done
finish
