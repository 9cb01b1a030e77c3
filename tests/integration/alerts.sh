#!/bin/sh
# Alerts and the health view, driven as an operator and a customer drive
# them: a disk alert raised with a tiny threshold and a short health
# interval, visible at the relay, down at the customer's gateway
# (porthole alerts, status, the notify command, the audit log), cleared
# once the threshold is raised and the relay reloaded; a probed service stopped and started
# gives service_down/service_up events and an alert after N probes; a
# product's three-node health record shows three nodes at the relay,
# merged with the gateway's own; an expert's alert is kept exactly and
# shown escaped at the relay and stripped of control characters at the
# customer's; rules that do not parse stop the relay with FILE:LINE;
# the usage export opens in Python's csv module with the right sums.
. "$(dirname "$0")/lib.sh"

relay_q() { "$RELAY_BIN" -f "$T/relay.conf" "$@"; }
HOST=$(hostname)

# alert_state RULE SUBJECT: the state of that alert at the relay, or "".
alert_state() {
	relay_q alerts acme-prod --json 2>/dev/null | python3 -c '
import json, sys
rows = [a for a in json.load(sys.stdin)
        if a["rule"] == sys.argv[1] and a["subject"] == sys.argv[2]]
print(rows[-1]["state"] if rows else "")' "$1" "$2"
}

# wait_state RULE SUBJECT STATE SECONDS
wait_state() {
	n=$(( $4 * 5 ))
	while [ "$n" -gt 0 ]; do
		[ "$(alert_state "$1" "$2")" = "$3" ] && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}

# wait_event TYPE SECONDS: until the relay has an event of TYPE.
wait_event() {
	n=$(( $2 * 5 ))
	while [ "$n" -gt 0 ]; do
		relay_q events acme-prod 2>/dev/null | grep -q " $1 " && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}

# A product service the gateway probes: a listener that can be stopped.
SVC_PORT=$(free_port)
start_service() {
	python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
time.sleep(3600)' "$SVC_PORT" &
	SVC_PID=$!
	PIDS="$PIDS $SVC_PID"
	i=0
	while [ $i -lt 50 ] && ! ss -Hltn "sport = :$SVC_PORT" | grep -q .; do
		sleep 0.1; i=$((i + 1))
	done
}

make_vendor
make_cluster acme-prod
write_relay_conf
cat >>"$T/relay.conf" <<EOC

[alerts]
disk_used = 1%
for = 0s
service_down = 2
# This machine's own load and memory are not the test's to judge: a
# busy host would raise alerts of its own beside the disk's.
load_per_core = off
memory_available = off
EOC
write_gateway_conf acme-prod
# The customer's notify command: what it was told, one file per call;
# it fails for a text that says so.
cat >"$T/notify.sh" <<EOS
#!/bin/sh
env | grep '^PORTHOLE_ALERT_' | sort >"$T/notify.\$PORTHOLE_ALERT_ID.\$PORTHOLE_ALERT_STATE"
case "\$PORTHOLE_ALERT_TEXT" in *please-fail*) exit 3 ;; esac
exit 0
EOS
chmod 755 "$T/notify.sh"
cat >>"$T/acme-prod/porthole.conf" <<EOC

[telemetry]
health_interval = 10s
disks = /
disk_warn = 1%
services = server=127.0.0.1:$SVC_PORT

[alerts]
notify_command = $T/notify.sh
EOC
start_service
start_relay
start_gateway acme-prod
CONF=$T/acme-prod/porthole.conf

# A disk over a tiny threshold: an alert at the relay, and the gateway's
# own disk_warn event.
wait_state disk_used "$HOST:/" open 20 &&
    relay_q alerts acme-prod | grep -q "^ *[0-9]*  *acme-prod  *open  *warning  *disk_used  *$HOST:/ .* disk / on $HOST is .*% used (warning at 1%)$" &&
    pass "a disk over disk_used = 1% is an open warning at the relay" ||
    fail "disk alert: $(relay_q alerts acme-prod 2>&1)"
DISK_ID=$(relay_q alerts acme-prod --json | python3 -c '
import json, sys
print([a["id"] for a in json.load(sys.stdin) if a["rule"] == "disk_used"][0])')

# ... and at the customer's: porthole alerts, status, the notify command
# with the alert in its environment, and the audit log.
i=0
while [ $i -lt 50 ] && [ ! -f "$T/notify.$DISK_ID.raised" ]; do
	sleep 0.2; i=$((i + 1))
done
cli() { "$CLI_BIN" -f "$T/acme-prod/porthole.conf" "$@"; }
cli alerts >"$T/c_alerts.txt" 2>&1
grep -q "^alerts from the vendor" "$T/c_alerts.txt" &&
    grep -q "^ *$DISK_ID  open  *warning  *disk_used  *$HOST:/ .*disk / on $HOST is" "$T/c_alerts.txt" &&
    pass "the alert reaches the customer: porthole alerts lists it as the vendor's" ||
    fail "porthole alerts: $(cat "$T/c_alerts.txt")"
grep -qx "PORTHOLE_ALERT_ID=$DISK_ID" "$T/notify.$DISK_ID.raised" 2>/dev/null &&
    grep -qx "PORTHOLE_ALERT_STATE=raised" "$T/notify.$DISK_ID.raised" &&
    grep -qx "PORTHOLE_ALERT_SEVERITY=warning" "$T/notify.$DISK_ID.raised" &&
    grep -qx "PORTHOLE_ALERT_RULE=disk_used" "$T/notify.$DISK_ID.raised" &&
    grep -qx "PORTHOLE_ALERT_SUBJECT=$HOST:/" "$T/notify.$DISK_ID.raised" &&
    grep -q "^PORTHOLE_ALERT_TEXT=disk / on $HOST is .*% used" "$T/notify.$DISK_ID.raised" &&
    pass "notify_command ran with the alert in its environment" ||
    fail "notify: $(cat "$T/notify.$DISK_ID.raised" 2>&1)"
cli status >"$T/c_status.txt" 2>&1
grep -q "^alerts  *1 open from the vendor (0 critical)" "$T/c_status.txt" &&
    grep -q "warning $DISK_ID since .*: vendor says: disk / on" "$T/c_status.txt" &&
    pass "porthole status shows the open alert" ||
    fail "status: $(cat "$T/c_status.txt")"
grep -q "\"type\":\"alert_raised\".*\"alert\":$DISK_ID.*\"from\":\"vendor\"" "$T/acme-prod/audit/audit.log" &&
    pass "the gateway audits alert_raised" ||
    fail "no alert_raised in the audit log"
wait_event disk_warn 10 &&
    relay_q events acme-prod | grep -q "disk_warn .*path=/ .*warn_pct=1" &&
    pass "the gateway sent disk_warn for / (disk_warn = 1%)" ||
    fail "no disk_warn event: $(relay_q events acme-prod | tail -5)"

# A product's own health record with three nodes, one of them this host:
# the same node merges with the gateway's, the others add up.
printf '{"ts":"%s","nodes":[{"name":"%s","product":"1.290.3"},{"name":"node-2","cores":8,"load1":0.5,"mem_total":8589934592,"mem_available":4294967296,"disks":[{"path":"/data","size":1000000,"used":10,"free":999990}]},{"name":"node-3","cores":8}]}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$HOST" |
    "$CLI_BIN" -f "$CONF" send health - >/dev/null ||
    fail "porthole send health"
i=0
while [ $i -lt 50 ] && ! relay_q health acme-prod 2>/dev/null | grep -q "^node-3 "; do
	sleep 0.2; i=$((i + 1))
done
relay_q health acme-prod --json >"$T/health.json" 2>&1
python3 - "$T/health.json" "$HOST" <<'EOP' && pass "a three-node product record shows three nodes at the relay, this host's merged with the gateway's" || fail "health: $(cat "$T/health.json")"
import json, sys
rows = json.load(open(sys.argv[1]))
nodes = {r["name"]: r for r in rows if r["kind"] == "node"}
assert sorted(nodes) == sorted([sys.argv[2], "node-2", "node-3"]), nodes
me = nodes[sys.argv[2]]
assert me["product"] == "1.290.3" and me["cores"] >= 1, me
assert any(d["path"] == "/" for d in me["disks"]), me
assert nodes["node-2"]["disks"][0]["path"] == "/data"
EOP
relay_q health acme-prod >"$T/health.txt" 2>&1
grep -q "^node-2  *8  *0.5 - -  *4.0G of 8.0G " "$T/health.txt" &&
    grep -q "^server  *127.0.0.1:$SVC_PORT  *up  *0 " "$T/health.txt" &&
    grep -q "^node-2  */data  *976.6K" "$T/health.txt" &&
    relay_q clusters | grep -q "acme-prod .* 3 nodes, 1/1 services up" &&
    pass "porthole-relay health shows nodes, services and disks; clusters counts 3 nodes" ||
    fail "health text: $(cat "$T/health.txt"; relay_q clusters)"

# A service stopped: service_down, then an alert after two failed
# probes; started again: service_up, and the alert clears.
kill "$SVC_PID"; wait "$SVC_PID" 2>/dev/null
wait_event service_down 25 &&
    relay_q events acme-prod | grep -q "service_down .*service=server .*error=\"connect: Connection refused\"" &&
    pass "a stopped service is a service_down event" ||
    fail "no service_down: $(relay_q events acme-prod | tail -5)"
wait_state service_down server open 25 &&
    relay_q alerts acme-prod | grep -q "open  *critical  *service_down  *server .*2 failed probes in a row" &&
    pass "after two failed probes a critical service_down alert is open" ||
    fail "service alert: $(relay_q alerts acme-prod 2>&1)"
start_service
wait_event service_up 25 &&
    pass "the service started again is a service_up event" ||
    fail "no service_up: $(relay_q events acme-prod | tail -5)"
wait_state service_down server cleared 25 &&
    pass "the service_down alert clears when the service answers" ||
    fail "service alert not cleared: $(relay_q alerts acme-prod 2>&1)"

# The threshold raised again and the relay reloaded (SIGHUP): the next
# health record clears the disk alert.
sed -i 's/^disk_used = 1%$/disk_used = 100%/' "$T/relay.conf"
kill -HUP "$RELAY_PID"
wait_for "$T/relay.log" "relay.conf: reloaded" 10 ||
    fail "no reload: $(tail -3 "$T/relay.log")"
wait_state disk_used "$HOST:/" cleared 25 &&
    [ "$(relay_q alerts acme-prod --json | python3 -c 'import json,sys; print(len([a for a in json.load(sys.stdin) if a["rule"] == "disk_used"]))')" = 1 ] &&
    pass "with disk_used = 100% the disk alert clears (one alert, no duplicate)" ||
    fail "disk alert not cleared: $(relay_q alerts acme-prod 2>&1)"
i=0
while [ $i -lt 50 ] && [ ! -f "$T/notify.$DISK_ID.cleared" ]; do
	sleep 0.2; i=$((i + 1))
done
grep -qx "PORTHOLE_ALERT_STATE=cleared" "$T/notify.$DISK_ID.cleared" 2>/dev/null &&
    cli alerts | grep -q "^ *$DISK_ID  cleared  *warning  *disk_used " &&
    grep -q "\"type\":\"alert_cleared\".*\"alert\":$DISK_ID" "$T/acme-prod/audit/audit.log" &&
    pass "the clear reaches the customer too: listed, notified, audited" ||
    fail "clear at the customer's: $(cli alerts 2>&1)"

# An expert's own alert: kept exactly, shown escaped.
out=$(relay_q alert acme-prod --severity warning "more memory is required:$(printf '\033[31m') 64G") &&
    echo "$out" | grep -q "^alert [0-9]* raised for acme-prod$" ||
    fail "alert command: $out"
relay_q alerts acme-prod >"$T/alerts.txt" 2>&1
relay_q alerts --json >"$T/alerts.json" 2>&1
grep -q 'open  *warning  *expert  *vendor .*more memory is required:\\x1b\[31m 64G$' "$T/alerts.txt" &&
    ! grep -q "$(printf '\033')" "$T/alerts.txt" &&
    python3 -c 'import json,sys; a=[x for x in json.load(open(sys.argv[1])) if x["rule"]=="expert"]; sys.exit(a[0]["text"] != "more memory is required:\x1b[31m 64G")' "$T/alerts.json" &&
    pass "an expert's alert is in the store, escaped in the table and exact in JSON" ||
    fail "expert alert: $(cat "$T/alerts.txt")"
EXPERT_ID=$(relay_q alerts acme-prod --json | python3 -c '
import json, sys
print([a["id"] for a in json.load(sys.stdin) if a["rule"] == "expert"][0])')
i=0
while [ $i -lt 50 ] && [ ! -f "$T/notify.$EXPERT_ID.raised" ]; do
	sleep 0.2; i=$((i + 1))
done
cli alerts --json >"$T/c_alerts.json" 2>&1
python3 - "$T/c_alerts.json" "$EXPERT_ID" <<'EOP' && pass "an expert's alert reaches the customer, control characters stripped, as the vendor's" || fail "expert at the customer's: $(cat "$T/c_alerts.json")"
import json, sys
a = [x for x in json.load(open(sys.argv[1])) if x["id"] == int(sys.argv[2])][0]
assert a["text"] == "more memory is required:[31m 64G", a
assert a["from"] == "vendor" and a["rule"] == "expert" and a["state"] == "open", a
EOP
grep -qx "PORTHOLE_ALERT_TEXT=more memory is required:\[31m 64G" "$T/notify.$EXPERT_ID.raised" &&
    pass "the notify command gets the stripped text" ||
    fail "notify text: $(od -c "$T/notify.$EXPERT_ID.raised" | head)"
# A text with a newline and a notify command that fails: the line is
# one line at the customer's, and the failure is audited.
relay_q alert acme-prod --severity critical --subject twolines \
    "$(printf 'first line\nsecond line please-fail')" >/dev/null
ID2=$(relay_q alerts acme-prod --json | python3 -c '
import json, sys
print([a["id"] for a in json.load(sys.stdin) if a["subject"] == "twolines"][0])')
wait_for "$T/acme-prod/audit/audit.log" "\"type\":\"alert_notify_failed\".*\"alert\":$ID2" 15 &&
    grep -q "\"type\":\"alert_notify_failed\".*\"alert\":$ID2.*exit 3" "$T/acme-prod/audit/audit.log" &&
    cli alerts | grep -q "^ *$ID2  open  *critical  *expert  *twolines .*first line second line please-fail$" &&
    pass "a newline becomes a space, a failing notify command is audited" ||
    fail "twolines: $(grep "$ID2" "$T/acme-prod/audit/audit.log" | tail -2; cli alerts)"
out=$(relay_q alert acme-prod --clear "$ID2") &&
    wait_for "$T/acme-prod/audit/audit.log" "\"type\":\"alert_cleared\".*\"alert\":$ID2" 15 &&
    pass "the expert's clear reaches the customer" || fail "clear $ID2: $out"
# A relay that sends what no honest one would (written straight into
# its store): a malformed alert is refused with the reason, an over-long
# text full of control characters is cut and cleaned.
now=$(date +%s)
long=$(python3 -c 'print(("\\u001b[2J\\u0007x" * 2000))')
sqlite3 "$T/relay.db" "INSERT INTO messages (cluster, kind, body, created) VALUES
    ('acme-prod', 'alert', '{\"alert\":90,\"state\":\"maybe\",\"severity\":\"warning\",\"rule\":\"x\",\"subject\":\"s\",\"text\":\"t\",\"at\":\"2026-11-20T10:00:00Z\"}', $now),
    ('acme-prod', 'alert', '{\"alert\":91,\"state\":\"raised\",\"severity\":\"critical\",\"rule\":\"hostile\",\"subject\":\"s\",\"text\":\"$long\",\"at\":\"2026-11-20T10:00:00Z\"}', $now)"
i=0
while [ $i -lt 50 ] && [ "$(sqlite3 "$T/relay.db" "SELECT count(*) FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE m.body LIKE '%\"alert\":9%' AND d.acked > 0")" != 2 ]; do
	sleep 0.2; i=$((i + 1))
done
sqlite3 "$T/relay.db" "SELECT d.result FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE m.body LIKE '%\"alert\":90,%'" |
    grep -q "refused: 'state' must be raised or cleared" &&
    pass "a malformed alert is refused with the reason, which the relay keeps" ||
    fail "malformed alert: $(sqlite3 "$T/relay.db" "SELECT message_id, result FROM deliveries")"
cli alerts --json >"$T/c_hostile.json" 2>&1
python3 - "$T/c_hostile.json" <<'EOP' && pass "an over-long text of control characters is cut at 512 bytes and cleaned" || fail "hostile text: $(head -c 300 "$T/c_hostile.json")"
import json, sys
a = [x for x in json.load(open(sys.argv[1])) if x["id"] == 91][0]
t = a["text"]
assert len(t.encode()) <= 512 and t.startswith("[2Jx[2Jx"), t[:40]
assert not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in t), t[:40]
EOP
out=$(relay_q alert acme-prod --severity urgent "x" 2>&1); rc=$?
[ "$rc" -eq 1 ] && echo "$out" | grep -q "severity must be warning or critical" &&
    pass "an unknown severity is refused" || fail "severity: rc=$rc $out"
out=$(relay_q alert nosuch --severity warning "x" 2>&1); rc=$?
[ "$rc" -eq 1 ] && echo "$out" | grep -q "no cluster 'nosuch'" &&
    pass "an alert for a cluster not in relay.conf is refused" ||
    fail "unknown cluster: rc=$rc $out"

# Rules that do not parse: the relay does not start, and says where.
cp "$T/relay.conf" "$T/bad.conf"
sed -i 's/^service_down = 2$/service_down = often/' "$T/bad.conf"
line=$(grep -n '^service_down' "$T/bad.conf" | cut -d: -f1)
out=$("$RELAY_BIN" -f "$T/bad.conf" -d 2>&1); rc=$?
[ "$rc" -eq 1 ] && echo "$out" | grep -q "$T/bad.conf:$line: service_down: expected" &&
    pass "a rule that does not parse: FILE:LINE and no relay" ||
    fail "bad rule: rc=$rc $out"

# Licensing export: the newest record of an hour and environment counts.
usage() {
	printf '{"hour":"2026-11-24T%s:00:00Z","environment":"%s","units":{"host_units":%s,"dem_units":%s}}\n' "$@"
}
{
	usage 08 env-1 1.5 10
	usage 09 env-1 2.25 20
	usage 09 env-2 4 1
	usage 09 env-1 3.75 30		# replaces the 09:00 env-1 record
	usage 10 env-1 100 100		# outside --until
} | "$CLI_BIN" -f "$CONF" send usage - >/dev/null || fail "send usage"
i=0
while [ $i -lt 50 ] && ! relay_q usage acme-prod 2>/dev/null | grep -q "T10:00:00Z"; do
	sleep 0.2; i=$((i + 1))
done
relay_q usage acme-prod --csv --since 2026-11-24T08:00:00Z \
    --until 2026-11-24T10:00:00Z >"$T/usage.csv" 2>&1
python3 - "$T/usage.csv" <<'EOP' && pass "the CSV export reads in Python's csv module with the right sums" || fail "csv: $(cat "$T/usage.csv")"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["cluster", "hour", "environment", "unit", "amount"], rows[0]
sums = {}
for c, h, e, u, a in rows[1:]:
    assert c == "acme-prod" and h < "2026-11-24T10", (c, h)
    sums[u] = sums.get(u, 0) + float(a)
assert sums == {"host_units": 1.5 + 3.75 + 4, "dem_units": 10 + 30 + 1}, sums
EOP
out=$(relay_q usage acme-prod --csv --json 2>&1); rc=$?
[ "$rc" -eq 2 ] && pass "--csv with --json is a usage error" ||
    fail "--csv --json: rc=$rc $out"
out=$(relay_q usage acme-prod --since yesterdayish 2>&1); rc=$?
[ "$rc" -eq 2 ] && echo "$out" | grep -q "expected RFC 3339" &&
    pass "a bad --since is refused with the forms it takes" ||
    fail "--since: rc=$rc $out"
finish
