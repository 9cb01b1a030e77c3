#!/bin/sh
# Bad input and misbehaving sessions: garbage on the relay's port or in a
# session stream, a session process that crashes, a diagnostic that runs
# too long, an engineer who stops reading.  Each ends only what it
# touched; the relay, the tunnel and other sessions go on.
. "$(dirname "$0")/lib.sh"

# Freed memory goes back at once, so RSS shows what is really buffered.
ASAN_OPTIONS="quarantine_size_mb=0:${ASAN_OPTIONS:-}"
export ASAN_OPTIONS
CMD_TIMEOUT=5s
standard_setup
AUDIT=$T/acme-prod/audit/audit.log
GW_PID=$(cat "$T/acme-prod/gateway.pid")

works() {
	out=$(essh acme-prod status 2>/dev/null)
	[ "$out" = "cluster acme-prod is healthy" ]
}

# Random bytes at the relay's SSH port.
bash -c "exec 3<>/dev/tcp/127.0.0.1/$RELAY_PORT; head -c 300000 /dev/urandom >&3; sleep 0.5" 2>/dev/null
# An SSH banner followed by an over-long garbage line.
bash -c "exec 3<>/dev/tcp/127.0.0.1/$RELAY_PORT; printf 'SSH-2.0-x\r\n' >&3; head -c 70000 /dev/zero | tr '\0' A >&3; sleep 0.5" 2>/dev/null
kill -0 "$RELAY_PID" && works &&
    pass "garbage on the relay port ends only that connection" ||
    fail "relay after garbage"

# Random bytes into a session stream, through the relay to the gateway.
head -c 200000 /dev/urandom |
    ssh -F "$T/ssh_config" -W acme-prod:22 relay >/dev/null 2>&1
kill -0 "$GW_PID" && works &&
    pass "garbage in a session stream ends only that session" ||
    fail "gateway after garbage session"

# A diagnostic that runs too long is killed at the timeout (5 s here).
start=$(date +%s)
essh acme-prod sleepy 30 >/dev/null 2>"$T/err"; rc=$?
took=$(( $(date +%s) - start ))
[ "$rc" -eq 124 ] && [ "$took" -lt 10 ] && grep -q "timeout of 5s" "$T/err" &&
    pass "diagnostic killed at the timeout (exit 124 after ${took}s)" ||
    fail "timeout: rc=$rc after ${took}s err='$(cat "$T/err")'"
grep -q '"command":"sleepy 30".*"timed_out":true' "$AUDIT" &&
    pass "audit: timed-out diagnostic" || fail "timeout not audited"

# A session process that crashes: audited, nothing else disturbed.
essh acme-prod sleepy 4 >/dev/null 2>&1 &
victim_ssh=$!
# Wait until the diagnostic runs: the session is well under way.
n=100
while [ "$n" -gt 0 ] && ! running "/bin/sleep 4"; do
	sleep 0.1; n=$((n - 1))
done
kids=$(cat /proc/"$GW_PID"/task/"$GW_PID"/children 2>/dev/null)
# SIGABRT: a crash that sanitizers do not intercept either.
for k in $kids; do kill -ABRT "$k"; done
wait $victim_ssh; rc=$?
[ "$rc" -ne 0 ] && works && pass "a crashed session leaves the gateway working" ||
    fail "crash: ssh rc=$rc"
wait_for "$AUDIT" '"type":"session_closed".*"signal":6' 5 &&
    pass "audit: the crash is recorded with its signal" ||
    fail "crash not audited"

# An engineer who stops reading: relay and gateway do not buffer the
# output; the sender is held back, and the stream is whole afterwards.
rss() { awk '/^VmRSS/ { print $2 }' /proc/"$1"/status; }
r0=$(rss "$RELAY_PID"); g0=$(rss "$GW_PID")
essh acme-prod lines 30000000 2>/dev/null | { sleep 2; wc -c >"$T/slow.count"; } &
slow=$!
sleep 1.5
r1=$(rss "$RELAY_PID"); g1=$(rss "$GW_PID")
wait $slow
n=$(cat "$T/slow.count")
rg=$(( (r1 - r0) / 1024 )); gg=$(( (g1 - g0) / 1024 ))
echo "# while the reader stalled: relay RSS +${rg} MiB, gateway RSS +${gg} MiB"
[ "$rg" -lt 16 ] && [ "$gg" -lt 16 ] &&
    pass "a stalled reader holds back 30 MB without buffering it" ||
    fail "buffering while stalled: relay +${rg} MiB, gateway +${gg} MiB"
[ "$n" -eq 30000000 ] && pass "the stalled stream arrives whole" ||
    fail "stalled stream: $n bytes"

finish
