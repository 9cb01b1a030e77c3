#!/bin/sh
# Every session's SSH child runs confined: seccomp filter, no_new_privs,
# the unprivileged user when the gateway runs as root; the monitor
# records a child that breaks out of its allow-list.
. "$(dirname "$0")/lib.sh"

make_vendor
make_cluster acme-prod
write_relay_conf
# A product directory the diagnostics may read, and one file outside it.
chmod 711 "$T"
mkdir -m 755 "$T/product"
echo "product build 42" >"$T/product/info.txt"
chmod 644 "$T/product/info.txt"
EXTRA_COMMANDS="product = /bin/cat $T/product/info.txt
peek = /bin/cat /etc/passwd
net = /usr/bin/ssh-keyscan -T 2 -p $RELAY_PORT 127.0.0.1" \
FILE_PATHS=$T/product write_gateway_conf acme-prod
write_ssh_config
start_relay
start_gateway acme-prod
AUDIT=$T/acme-prod/audit/audit.log
GW_PID=$(cat "$T/acme-prod/gateway.pid")

children() { cat /proc/"$1"/task/"$1"/children 2>/dev/null; }
field() { awk -v k="$2:" '$1 == k { print $2 }' /proc/"$1"/status 2>/dev/null; }

essh acme-prod sleepy 4 >/dev/null 2>&1 &
eng=$!
# broker -> monitor -> { session child, reaper (PID 1) -> diagnostic }
child="" reaper="" diag=""
n=50
while [ "$n" -gt 0 ] && { [ -z "$child" ] || [ -z "$diag" ]; }; do
	for mon in $(children "$GW_PID"); do
		for p in $(children "$mon"); do
			case $(cat /proc/"$p"/comm 2>/dev/null) in
			portholed) child=$p ;;
			portholed-pid1) reaper=$p diag=$(echo $(children "$p")) ;;
			esac
		done
	done
	sleep 0.1; n=$((n - 1))
done
nspid() { awk '$1 == "NSpid:" { print $NF }' /proc/"$1"/status 2>/dev/null; }
[ -n "$reaper" ] && [ "$(nspid "$reaper")" = 1 ] && [ "$(nspid "$diag")" = 2 ] &&
    pass "the diagnostic runs beneath PID 1 of a PID namespace of its own" ||
    fail "no reaper as PID 1 above the diagnostic (reaper '$reaper', diag '$diag')"
[ -n "$child" ] && [ "$(field "$child" Seccomp)" = 2 ] &&
    pass "the session child runs under a seccomp filter" ||
    fail "no seccomp-filtered session child found"
[ -n "$diag" ] && [ "$(field "$diag" Seccomp)" = 2 ] &&
    pass "the diagnostic runs under its own seccomp filter" ||
    fail "diagnostic not filtered"
[ -n "$child" ] && [ "$(field "$child" NoNewPrivs)" = 1 ] &&
    pass "the session child has no_new_privs" || fail "no_new_privs not set"
if [ "$(id -u)" -eq 0 ]; then
	nobody=$(id -u nobody)
	[ -n "$child" ] && [ "$(field "$child" Uid)" = "$nobody" ] &&
	    pass "the session child runs as the unprivileged user" ||
	    fail "session child uid $(field "$child" Uid)"
	[ -n "$diag" ] && [ "$(field "$diag" Uid)" = "$nobody" ] &&
	    pass "the diagnostic runs as the unprivileged user" ||
	    fail "diagnostic uid $(field "$diag" Uid)"
fi
# Diagnostics read the product's paths, nothing else, and reach no network.
out=$(essh acme-prod product 2>&1)
[ "$out" = "product build 42" ] && pass "a diagnostic reads the product's files" ||
    fail "product file: '$out'"
if grep -q "Landlock (ABI" "$T/gateway-acme-prod.log"; then
	out=$(essh acme-prod peek 2>&1); rc=$?
	[ "$rc" -ne 0 ] && echo "$out" | grep -q "Permission denied" &&
	    pass "a diagnostic cannot read files outside the product's paths" ||
	    fail "peek /etc/passwd: rc=$rc out='$out'"
else
	echo "# no Landlock on this kernel: file confinement of diagnostics not checked"
fi
out=$(essh acme-prod net 2>&1); rc=$?
echo "$out" | grep -q "Permission denied" && ! echo "$out" | grep -q "^#" &&
    pass "a diagnostic cannot open a network socket" ||
    fail "net: rc=$rc out='$out'"

# A child killed for a forbidden system call is a recorded violation.
[ -n "$child" ] && kill -SYS "$child"
wait $eng
wait_for "$AUDIT" '"type":"session_violation".*forbidden system call' 5 &&
    pass "a sandbox violation is audited" || fail "no session_violation line"
# Gone, or a zombie waiting for its new parent to reap it.
alive() { [ -d /proc/"$1" ] && [ "$(field "$1" State)" != Z ]; }
n=30
while [ -n "$diag" ] && alive "$diag" && [ "$n" -gt 0 ]; do
	sleep 0.1; n=$((n - 1))
done
[ -z "$diag" ] || ! alive "$diag" &&
    pass "the diagnostic does not outlive its session" ||
    fail "diagnostic $diag still running"
out=$(essh acme-prod status 2>/dev/null)
[ "$out" = "cluster acme-prod is healthy" ] &&
    pass "other sessions are not disturbed" || fail "after violation: '$out'"

# A real forbidden call from inside the child (builds with test hooks).
if [ "${PORTHOLE_TEST_HOOKS:-no}" = yes ]; then
	before=$(count_lines "$AUDIT" '"signal":31')
	essh acme-prod __porthole_test_violation >/dev/null 2>&1; rc=$?
	[ "$rc" -eq 255 ] && pass "the engineer's connection ends at a violation" ||
	    fail "violation: ssh rc=$rc"
	wait_count "$AUDIT" '"type":"session_violation".*"signal":31.*"engineer":"alice"' "$before" 5 &&
	    pass "an injected forbidden system call is audited with the engineer" ||
	    fail "injected violation not audited"
	works_after=$(essh acme-prod status 2>/dev/null)
	[ "$works_after" = "cluster acme-prod is healthy" ] &&
	    pass "the tunnel survives the violation" || fail "after injected violation"
else
	echo "# built without --enable-test-hooks: injected violation not checked"
fi

finish
