#!/bin/sh
# The relay's disk fills up: its store cannot commit, so it refuses the
# gateway's batches (an ack with an error).  The gateway keeps every
# record, waits longer before each new try (1 s, 2 s, 4 s, ...) instead
# of resending in a loop, and says so in `porthole status`; once there is
# space again, everything arrives, each record once.  Needs root (to
# mount a tmpfs for the relay's database): skipped otherwise.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "# not root: cannot mount a tmpfs for the relay's database"
	exit 77
fi
mkdir "$T/rdb"
if ! mount -t tmpfs -o size=4m,mode=0700 porthole-test "$T/rdb" 2>"$T/mount.err"; then
	echo "# cannot mount a tmpfs here: $(cat "$T/mount.err")"
	exit 77
fi
trap 'stop_all; umount "$T/rdb" 2>/dev/null; cleanup' EXIT
RELAY_DB=$T/rdb/relay.db standard_setup
CONF=$T/acme-prod/porthole.conf
relay_q() { "$RELAY_BIN" -f "$T/relay.conf" "$@"; }
depth() { spool_depth acme-prod; }
# usage FIRST COUNT NAME: send usage_records FIRST COUNT NAME.
usage() {
	usage_records "$1" "$2" "$3" >"$T/u.json"
	[ "$("$CLI_BIN" -f "$CONF" send usage "$T/u.json" 2>&1 | grep -c stored)" -eq "$2" ] ||
	    fail "usage $3: not all $2 stored by the gateway"
}
arrived() { relay_q usage acme-prod | grep -c "  *$1-[0-9]*  *host_units  *1$"; }

usage 0 100 before
i=0
while [ $i -lt 50 ] && [ "$(arrived before)" -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
[ "$(arrived before)" -eq 100 ] || fail "before the disk filled: $(arrived before) of 100"

# Fill what is left of the relay's filesystem.
dd if=/dev/zero of="$T/rdb/filler" bs=4096 >/dev/null 2>&1
refused=$(count_lines "$T/relay.log" "batch not stored")
usage 0 3000 full
wait_count "$T/relay.log" "batch not stored" "$refused" 10 ||
    fail "the relay stored a batch on a full disk"
sleep 6
tries=$(($(count_lines "$T/relay.log" "batch not stored") - refused))
[ "$tries" -ge 2 ] && [ "$tries" -le 5 ] &&
    pass "the gateway backs off: $tries tries in about 6 s, not a loop" ||
    fail "$tries refused batches in about 6 s"
grep "the relay refused records" "$T/gateway-acme-prod.log" |
    sed -n 's/.*sending again in \([0-9]*\)s$/\1/p' | head -3 | tr '\n' ' ' >"$T/waits"
[ "$(cat "$T/waits")" = "1 2 4 " ] &&
    pass "each wait is twice the one before (1 s, 2 s, 4 s)" ||
    fail "waits between tries: '$(cat "$T/waits")'"
"$CLI_BIN" -f "$CONF" status >"$T/status.out"
grep -q "^uplink .*the relay refuses records after seq [0-9]*: " "$T/status.out" &&
    [ "$(depth)" -gt 0 ] &&
    pass "porthole status says the relay refuses records, and they wait in the spool" ||
    fail "status: $(grep -E '^(uplink|spool)' "$T/status.out")"

# Space again: the next try goes through, and nothing is lost or doubled.
rm -f "$T/rdb/filler"
i=0
while [ $i -lt 150 ] && [ "$(depth)" != "0" ]; do sleep 0.2; i=$((i + 1)); done
[ "$(depth)" = "0" ] && [ "$(arrived full)" -eq 3000 ] && [ "$(arrived before)" -eq 100 ] &&
    grep -q "the relay takes records again" "$T/gateway-acme-prod.log" &&
    pass "once the relay has space, all 3000 records arrive, each once" ||
    fail "after space: depth $(depth), $(arrived full) of 3000 at the relay"
"$CLI_BIN" -f "$CONF" status | grep -q "refuses" &&
    fail "status still says the relay refuses records"
finish
