#!/bin/sh
# Fail closed on a real full disk: the audit directory is a small tmpfs,
# and a file fills what is left of it.  New sessions are refused, the
# running one ends, no partial line is left, and once space is freed the
# gateway resumes by itself and the log still verifies.  Needs root (to
# mount the tmpfs): skipped otherwise, and said so.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "# not root: cannot mount a tmpfs for the audit directory"
	exit 77
fi
standard_setup
CONF=$T/acme-prod/porthole.conf
AUD=$T/acme-prod/audit
AUDIT=$AUD/audit.log
stop_gateway acme-prod
mv "$AUD" "$T/audit.before"
mkdir -m 0700 "$AUD"
if ! mount -t tmpfs -o size=1m,mode=0700 porthole-test "$AUD" 2>"$T/mount.err"; then
	echo "# cannot mount a tmpfs here: $(cat "$T/mount.err")"
	exit 77
fi
trap 'umount "$AUD" 2>/dev/null; cleanup' EXIT
cp -a "$T/audit.before/." "$AUD/"
start_gateway acme-prod
GW_PID=$(cat "$T/acme-prod/gateway.pid")

essh acme-prod sleepy 30 >/dev/null 2>&1 &
eng=$!
n=100
while [ "$n" -gt 0 ] && ! running "/bin/sleep 30"; do sleep 0.1; n=$((n - 1)); done
running "/bin/sleep 30" || fail "the long session did not start"

# Fill the filesystem.  What is left of the log's last page still takes
# a few lines, so sessions go on until a line finds no room (the session
# that meets it is cut off), and from then on they are refused.
dd if=/dev/zero of="$AUD/filler" bs=4096 >/dev/null 2>&1
[ "$(df --output=avail -B1 "$AUD" | tail -n 1)" -lt 4096 ] ||
    fail "the tmpfs is not full: $(df -h "$AUD" | tail -n 1)"
tries=0
refused=0
while [ $tries -lt 40 ]; do
	tries=$((tries + 1))
	if ! essh acme-prod status >/dev/null 2>"$T/refused.err" &&
	    grep -q "porthole: refused: the gateway cannot write its audit log" "$T/refused.err"; then
		refused=1
		break
	fi
done
[ $refused -eq 1 ] &&
    pass "with the disk full a new session is refused (after $tries), and the engineer is told why" ||
    fail "no refusal in $tries sessions on a full disk: '$(cat "$T/refused.err")'"
essh acme-prod status >/dev/null 2>&1 &&
    fail "a session was accepted after the refusal, the disk still full"
audit_failing "$eng"
[ "$(tail -c 1 "$AUDIT" | od -An -c | tr -d ' ')" = '\n' ] && kill -0 "$GW_PID" &&
    pass "the gateway survives and the log ends in a whole line" ||
    fail "the gateway died or the log ends in a partial line"

# Space again: service resumes without a restart.
rm -f "$AUD/filler"
audit_resumed
stop_gateway acme-prod
out=$("$CLI_BIN" audit verify --key "$(cat "$T/acme-prod/audit.k0")" "$AUD" 2>&1); rc=$?
[ "$rc" -eq 0 ] && pass "the log verifies with the key after the outage" ||
    fail "verify after the outage: $out"
finish
