#!/bin/sh
# What leaves the cluster, as the customer reads it back: porthole
# telemetry lists every record the gateway sent (class, seq, time,
# acknowledged) and telemetry show prints one byte for byte as sent;
# nothing is listed before it is sent; porthole events and porthole
# usage read the same copy, usage counted as the relay counts it; the
# copy is kept for outbox_keep and at most outbox_max; when the copy
# cannot be written nothing is sent.
. "$(dirname "$0")/lib.sh"

CONF=$T/acme-prod/porthole.conf
OUTBOX=$T/acme-prod/state/outbox
make_vendor
make_cluster acme-prod
write_relay_conf
write_gateway_conf acme-prod
# The outbox on a small file system of its own, so that it can be made
# full while the gateway runs (root only; said when not possible).
mkdir -p "$OUTBOX"
TMPFS=""
if [ "$(id -u)" -eq 0 ] &&
    mount -t tmpfs -o size=2m,mode=0700 porthole-test "$OUTBOX" 2>/dev/null; then
	TMPFS=$OUTBOX
	trap 'stop_all; umount "$TMPFS" 2>/dev/null; cleanup' EXIT
fi
start_relay
start_gateway acme-prod
# The collector's first round (health, node_added) is out before we start.
wait_for "$T/gateway-acme-prod.log" "health: node .* added" 10
cli() { "$CLI_BIN" -f "$CONF" "$@"; }
relay_q() { "$RELAY_BIN" -f "$T/relay.conf" "$@"; }
# wait_acked: until the spool is empty (every record acknowledged), and
# the outbox has noted it (within half a second).
wait_acked() {
	i=0
	while [ $i -lt 100 ] && [ "$(spool_depth acme-prod)" != 0 ]; do
		sleep 0.1; i=$((i + 1))
	done
	i=0
	while [ $i -lt 50 ] && ! cli telemetry --json 2>/dev/null | python3 -c '
import json, sys
sys.exit(not all(r["acknowledged"] for r in json.load(sys.stdin)))'; do
		sleep 0.1; i=$((i + 1))
	done
}
# seq_of OUTPUT-OF-SEND: the seq porthole send said the record got.
seq_of() { sed -n 's/.*stored (seq \([0-9]*\)).*/\1/p' | tail -1; }

# A record handed over as the gateway writes JSON comes out byte for byte.
printf '%s' '{"class":"usage","hour":"2026-11-20T10:00:00Z","environment":"env-1","units":{"host_units":12.5,"dem_units":300}}' >"$T/u1.json"
s1=$(cli send usage "$T/u1.json" | seq_of)
# One written with blanks and over lines: what left is the gateway's
# compact form of it, and show says exactly that.
cat >"$T/e1.json" <<'EOF'
{ "type" : "node_added",
  "node" : "node-3",
  "ts" : "2026-11-20T10:04:00Z" }
EOF
s2=$(cli send event "$T/e1.json" | seq_of)
wait_acked
[ -n "$s1" ] && [ -n "$s2" ] || fail "send: seqs '$s1' '$s2'"
cli telemetry show "$s1" >"$T/show1" 2>&1 &&
    cmp -s "$T/u1.json" "$T/show1" &&
    pass "telemetry show prints exactly the bytes handed to porthole send" ||
    fail "show $s1: $(cat "$T/show1")"
cli telemetry show "$s2" >"$T/show2" 2>&1
python3 - "$T/e1.json" "$T/show2" <<'EOP' && pass "a record written with blanks is shown as the compact JSON that left, nothing else" || fail "show $s2: $(cat "$T/show2")"
import json, sys
given = json.load(open(sys.argv[1]))
given["class"] = "event"
sent = open(sys.argv[2], "rb").read()
assert sent == json.dumps(given, separators=(",", ":")).encode(), sent
EOP
# ... and it is what the relay's store holds.
relay_q events acme-prod --json >"$T/relay_events.json"
python3 - "$T/relay_events.json" "$T/show2" "$s2" <<'EOP' && pass "the relay stored the same record under the same seq" || fail "relay events: $(cat "$T/relay_events.json" | head -c 600)"
import json, sys
rows = json.load(open(sys.argv[1]))
row = [r for r in rows if r["seq"] == int(sys.argv[3])][0]
assert row["record"] == json.load(open(sys.argv[2])), row
EOP

# The listing: every record sent, with its class and whether the relay
# has it.
cli telemetry >"$T/list.txt" 2>&1
cli telemetry --json >"$T/list.json" 2>&1
grep -q "^ *$s1  usage   .*  yes  " "$T/list.txt" &&
    grep -q "^ *$s2  event   .*  yes  " "$T/list.txt" &&
    grep -q "  health  " "$T/list.txt" &&
    python3 - "$T/list.json" "$s1" "$T/u1.json" <<'EOP' &&
import json, os, sys
rows = json.load(open(sys.argv[1]))
r = [x for x in rows if x["seq"] == int(sys.argv[2])][0]
assert r["class"] == "usage" and r["acknowledged"] is True, r
assert r["bytes"] == os.path.getsize(sys.argv[3]), r
assert [x["seq"] for x in rows] == sorted(x["seq"] for x in rows)
assert {x["class"] for x in rows} >= {"usage", "event", "health"}
EOP
    pass "porthole telemetry lists every record sent: seq, class, time, acknowledged" ||
    fail "telemetry: $(cat "$T/list.txt")"

# Records spooled while the relay is down have not left: not listed;
# once sent they are, unacknowledged until the relay has them is not
# visible here, acknowledged after.
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
printf '%s\n' '{"hour":"2026-11-20T11:00:00Z","environment":"env-1","units":{"host_units":1}}' |
    cli send usage - >"$T/send3" 2>&1
s3=$(seq_of <"$T/send3")
cli telemetry --json >"$T/list2.json" 2>&1
python3 -c 'import json,sys; sys.exit(any(x["seq"] == int(sys.argv[2]) for x in json.load(open(sys.argv[1]))))' "$T/list2.json" "$s3" &&
    pass "a record waiting in the spool (relay down) is not listed as sent" ||
    fail "unsent record listed: $(cat "$T/list2.json" | head -c 300)"
start_relay
wait_count "$T/relay.log" "cluster acme-prod online" 1 20
wait_acked
cli telemetry | grep -q "^ *$s3  usage   .*  yes  " &&
    pass "sent and acknowledged once the relay is back" ||
    fail "after reconnect: $(cli telemetry | tail -3)"

# Events: the cluster's events that were sent.
cli events >"$T/events.txt" 2>&1
cli events --json >"$T/events.json" 2>&1
grep -q "^2026-11-20T10:04:00Z  node_added  .*  $s2  .*node=node-3" "$T/events.txt" &&
    grep -q "  server_start  " "$T/events.txt" &&
    python3 -c 'import json,sys; r=[x for x in json.load(open(sys.argv[1])) if x["seq"]==int(sys.argv[2])][0]; sys.exit(r["record"]["node"] != "node-3")' "$T/events.json" "$s2" &&
    pass "porthole events lists the events sent, as a table and as JSON" ||
    fail "events: $(cat "$T/events.txt")"
printf '%s\n' '{"type":"x_evil","ts":"2026-11-20T10:05:00Z","note":"a\u001b[2Jb"}' |
    cli send event - >/dev/null
wait_acked
cli events | grep -q 'x_evil .*note=a\\x1b\[2Jb' &&
    ! cli events | grep -q "$(printf '\033')" &&
    pass "an event's control characters are shown escaped" ||
    fail "escaping: $(cli events | grep x_evil | od -c | head)"

# Usage: the newest record of an hour and environment replaces older ones.
{
	echo '{"hour":"2026-11-21T08:00:00Z","environment":"env-1","units":{"host_units":2}}'
	echo '{"hour":"2026-11-21T08:00:00Z","environment":"env-2","units":{"host_units":4,"dem_units":7}}'
	echo '{"hour":"2026-11-21T08:00:00Z","environment":"env-1","units":{"host_units":3.5}}'
	echo '{"hour":"2026-11-21T09:00:00Z","environment":"env-1","units":{"host_units":1.25}}'
} | cli send usage - >/dev/null
wait_acked
cli usage --csv --since 2026-11-21T00:00:00Z >"$T/usage.csv" 2>&1
python3 - "$T/usage.csv" <<'EOP' && pass "porthole usage --csv: the relay's counting, read by Python's csv module" || fail "usage csv: $(cat "$T/usage.csv")"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["cluster", "hour", "environment", "unit", "amount"], rows
sums = {}
for c, h, e, u, a in rows[1:]:
    assert c == "acme-prod", c
    sums[u] = sums.get(u, 0) + float(a)
assert sums == {"host_units": 3.5 + 4 + 1.25, "dem_units": 7}, sums
EOP
relay_q usage acme-prod --csv --since 2026-11-21T00:00:00Z >"$T/relay_usage.csv"
cmp -s "$T/usage.csv" "$T/relay_usage.csv" &&
    pass "the customer's export and the relay's are the same bytes" ||
    fail "usage differs: $(diff "$T/usage.csv" "$T/relay_usage.csv")"
cli usage --json --since 2026-11-21T09:00:00Z >"$T/usage.json"
[ "$(cat "$T/usage.json")" = '[{"hour":"2026-11-21T09:00:00Z","environment":"env-1","unit":"host_units","amount":1.25}]' ] &&
    pass "porthole usage --json with --since" || fail "usage json: $(cat "$T/usage.json")"

# Refusals.
out=$(cli telemetry show abc 2>&1); rc=$?
[ "$rc" -eq 2 ] && echo "$out" | grep -q "'abc' is not a sequence number" &&
    pass "telemetry show of a non-number is a usage error" ||
    fail "show abc: rc=$rc $out"
out=$(cli telemetry show 999999 2>&1); rc=$?
[ "$rc" -eq 1 ] && echo "$out" | grep -q "no record 999999 in $OUTBOX" &&
    pass "telemetry show of a seq never sent says so" ||
    fail "show 999999: rc=$rc $out"
out=$(cli usage --json --csv 2>&1); rc=$?
[ "$rc" -eq 2 ] && echo "$out" | grep -q "^usage: porthole telemetry" &&
    pass "usage --json --csv is a usage error" ||
    fail "usage --json --csv: rc=$rc $out"

# Fail closed: a copy that cannot be written stops the sending, and the
# records wait in the spool until it can.
if [ -n "$TMPFS" ]; then
	dd if=/dev/zero of="$OUTBOX/filler" bs=4k 2>/dev/null
	# Larger than a page: it cannot fit in the last page's slack.
	printf '{"hour":"2026-11-22T08:00:00Z","environment":"env-9","units":{"host_units":9},"pad":"%08000d"}\n' 0 |
	    cli send usage - >"$T/send4" 2>&1
	s4=$(seq_of <"$T/send4")
	sleep 2
	! relay_q usage acme-prod | grep -q env-9 &&
	    [ "$(spool_depth acme-prod)" != 0 ] &&
	    grep -q "outbox.*No space left on device: nothing is sent until the copy of it can be kept" "$T/gateway-acme-prod.log" &&
	    pass "a copy that cannot be written (disk full): nothing is sent, the record waits" ||
	    fail "sent without a copy: $(relay_q usage acme-prod | grep env-9) depth $(spool_depth acme-prod)"
	rm -f "$OUTBOX/filler"
	wait_acked
	relay_q usage acme-prod | grep -q env-9 &&
	    cli telemetry show "$s4" | grep -q env-9 &&
	    grep -q "the outbox is written again; sending resumes" "$T/gateway-acme-prod.log" &&
	    pass "once it can be written again the record is copied and sent" ||
	    fail "no resume: $(tail -5 "$T/gateway-acme-prod.log")"
else
	echo "# skip: no tmpfs for the outbox here (not root, or mount refused): the disk-full check is not run"
fi

# Kept for outbox_keep: a gateway started 31 days later drops the copy.
stop_gateway acme-prod
cat >>"$CONF" <<EOC

[telemetry]
outbox_keep = 30d
outbox_max = 1M
EOC
# Moving the gateway's clock needs a test build; the bound on size below
# is checked in every build.
OFF=0
if [ "${PORTHOLE_TEST_HOOKS:-no}" = yes ]; then
	OFF=$((31 * 86400))
	PORTHOLE_CLOCK_OFFSET=$OFF start_gateway acme-prod
	wait_for "$T/gateway-acme-prod.log" "longer ago than outbox_keep" 10
	grep -q "outbox/00000000000000000001.out: .* bytes of records sent longer ago than outbox_keep dropped" "$T/gateway-acme-prod.log" &&
	    ! PORTHOLE_CLOCK_OFFSET=$OFF cli telemetry show "$s1" >/dev/null 2>&1 &&
	    pass "records sent longer ago than outbox_keep are dropped from the copy" ||
	    fail "outbox_keep: $(ls -l "$OUTBOX"; grep outbox "$T/gateway-acme-prod.log")"
else
	echo "# built without --enable-test-hooks: outbox_keep (31 days later) is not checked"
	start_gateway acme-prod
fi
# At most outbox_max: 3 MB of events sent, no more than 1 MB kept.
awk 'BEGIN { for (i = 0; i < 3000; i++)
    printf "{\"type\":\"bulk\",\"ts\":\"2026-11-20T10:00:00Z\",\"pad\":\"%01000d\"}\n", i }' |
    cli send event - >/dev/null
wait_acked
[ "$(du -sk --apparent-size "$OUTBOX" | cut -f1)" -le 1024 ] &&
    [ "$(PORTHOLE_CLOCK_OFFSET=$OFF cli events | grep -c bulk)" -gt 500 ] &&
    pass "the copy stays within outbox_max, the oldest dropped, the newest kept" ||
    fail "outbox_max: $(du -sk "$OUTBOX") $(ls -l "$OUTBOX" | head)"
finish
