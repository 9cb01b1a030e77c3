#!/bin/sh
# The command lines as an operator and a customer meet them: --help and
# --version, usage errors (2) apart from refusals (1), porthole status's
# exit status and --json, --json on every relay report with what a
# cluster sent shown escaped in the tables and exact in JSON, relative
# times for --since, a missing -f file, and what a user who may not use
# the control socket is told.
. "$(dirname "$0")/lib.sh"

SEAL_EVERY=3 standard_setup
CONF=$T/acme-prod/porthole.conf
cli() { "$CLI_BIN" -f "$CONF" "$@"; }
relay_q() { "$RELAY_BIN" -f "$T/relay.conf" "$@"; }

# --help, --version and usage errors.
out=$("$CLI_BIN" --version); rc=$?
[ "$rc" -eq 0 ] && echo "$out" | grep -qx "porthole [0-9][0-9.]*" &&
    pass "porthole --version prints the version, exit 0" ||
    fail "--version: rc=$rc out='$out'"
out=$("$CLI_BIN" --help); rc=$?
[ "$rc" -eq 0 ] && echo "$out" | grep -q "^usage: porthole " &&
    echo "$out" | grep -q "porthole status \[--json\]" &&
    echo "$out" | grep -q "porthole audit list \[--since T\]" &&
    pass "porthole --help lists the commands on stdout, exit 0" ||
    fail "--help: rc=$rc out='$out'"
out=$(cli status --help); rc=$?
[ "$rc" -eq 0 ] && echo "$out" | grep -q "^usage: porthole status \[--json\]" &&
    pass "porthole status --help gives its usage, exit 0" ||
    fail "status --help: rc=$rc out='$out'"
"$CLI_BIN" --no-such-option status >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "^usage: porthole " "$T/err" &&
    pass "an unknown option is a usage error: exit 2 with the usage" ||
    fail "unknown option: rc=$rc err='$(cat "$T/err")'"
cli frobnicate >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "unknown command 'frobnicate'" "$T/err" &&
    pass "an unknown command exits 2, naming it" ||
    fail "unknown command: rc=$rc err='$(cat "$T/err")'"
cli status --bogus >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "^usage: porthole status" "$T/err" &&
    pass "status with a stray word exits 2" ||
    fail "status --bogus: rc=$rc err='$(cat "$T/err")'"

# A -f file that is not there is an error naming it, not a question to
# the default gateway (run_dir /run/porthole) instead.
"$CLI_BIN" -f "$T/nonexistent.conf" status >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "$T/nonexistent.conf: No such file or directory" "$T/err" &&
    ! grep -q "control.sock" "$T/err" && ! grep -q . "$T/out" &&
    pass "porthole -f MISSING status exits 1 naming the file" ||
    fail "-f missing: rc=$rc err='$(cat "$T/err")' out='$(cat "$T/out")'"
"$CLI_BIN" -f "$T" status >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "$T: not a regular file" "$T/err" &&
    ! grep -q "control.sock" "$T/err" && ! grep -q . "$T/out" &&
    pass "porthole -f DIRECTORY status exits 1 naming it" ||
    fail "-f directory: rc=$rc err='$(cat "$T/err")' out='$(cat "$T/out")'"

# status: exit 0 with the tunnel up; --json holds what the view shows.
out=$(cli status); rc=$?
[ "$rc" -eq 0 ] && echo "$out" | grep -q "(tunnel up since" &&
    pass "porthole status exits 0 with the tunnel up" ||
    fail "status up: rc=$rc out='$out'"
cli status --json >"$T/status.json"; rc=$?
python3 -m json.tool "$T/status.json" >/dev/null 2>&1 &&
    [ "$rc" -eq 0 ] && [ "$(grep -c . "$T/status.json")" -eq 1 ] &&
    [ "$(json_get "$T/status.json" 'd["tunnel"]')" = up ] &&
    [ "$(json_get "$T/status.json" '[r["tunnel"] for r in d["relays"]]')" = "['up']" ] &&
    [ "$(json_get "$T/status.json" 'd["relays"][0]["relay"]')" = "127.0.0.1:$RELAY_PORT" ] &&
    [ "$(json_get "$T/status.json" 'd["cluster"]')" = acme-prod ] &&
    [ "$(json_get "$T/status.json" 'd["sessions"]')" = 0 ] &&
    [ "$(json_get "$T/status.json" 'd["spool_depth"]')" = "$(spool_depth acme-prod)" ] &&
    [ "$(json_get "$T/status.json" '"ok" in d')" = False ] &&
    pass "porthole status --json is one JSON document with the tunnel, relays, sessions and spool" ||
    fail "status --json: rc=$rc $(cat "$T/status.json")"

# What a cluster sends reaches the relay's store; the reports show it.
printf '{"hour":"2026-11-20T10:00:00Z","environment":"env-1","units":{"host_units":12.5}}\n' |
    cli send usage - >/dev/null || fail "send usage"
# ESC, a C1 CSI (U+009B), BEL and a backslash in an event field: the
# record validator keeps fields it does not know as they are.
printf '{"type":"node_added","ts":"2026-11-20T10:00:00Z","node":"\\u001b[2J\\u001b]0;pwned\\u0007\\u009b31mevil\\\\x"}\n' |
    cli send event - >"$T/send.out" 2>&1 ||
    fail "send event with ESC: $(cat "$T/send.out")"
i=0
while [ $i -lt 50 ] && ! relay_q events acme-prod 2>/dev/null | grep -q evil; do
	sleep 0.2; i=$((i + 1))
done
relay_q events acme-prod >"$T/events.txt" 2>&1
relay_q events acme-prod --json >"$T/events.json" 2>&1; rc=$?
grep -q 'node="\\\\u001B\[2J\\\\u001B\]0;pwned\\\\u0007\\xc2\\x9b31mevil\\\\\\\\x"$' "$T/events.txt" &&
    ! grep -q "$(printf '\033')" "$T/events.txt" &&
    ! grep -q "$(printf '\302\233')" "$T/events.txt" &&
    pass "relay events shows ESC, BEL and C1 in a cluster's field quoted and escaped" ||
    fail "events text: $(grep evil "$T/events.txt" | od -c | head -5)"
[ "$rc" -eq 0 ] && python3 -m json.tool "$T/events.json" >/dev/null 2>&1 &&
    [ "$(json_get "$T/events.json" '[e["record"]["node"] for e in d if e["type"] == "node_added" and "evil" in e["record"].get("node", "")] == ["\x1b[2J\x1b]0;pwned\x07\x9b31mevil\\x"]')" = True ] &&
    [ "$(json_get "$T/events.json" 'len(d)')" -eq "$(grep -c '^20' "$T/events.txt")" ] &&
    [ "$(json_get "$T/events.json" '[e["type"] for e in d][0]')" = "$(sed -n '2s/^[^ ]*  *\([^ ]*\) .*/\1/p' "$T/events.txt")" ] &&
    pass "relay events --json: every event, the field exactly as sent" ||
    fail "events --json: rc=$rc $(head -c 600 "$T/events.json")"

i=0
while [ $i -lt 50 ] && ! relay_q usage acme-prod 2>/dev/null | grep -q 12.5; do
	sleep 0.2; i=$((i + 1))
done
relay_q usage acme-prod >"$T/usage.txt" 2>&1
relay_q usage acme-prod --json >"$T/usage.json" 2>&1; rc=$?
[ "$rc" -eq 0 ] && grep -q "^2026-11-20T10:00:00Z  env-1  *host_units  *12.5$" "$T/usage.txt" &&
    [ "$(json_get "$T/usage.json" 'd')" = "[{'hour': '2026-11-20T10:00:00Z', 'environment': 'env-1', 'unit': 'host_units', 'amount': 12.5}]" ] &&
    pass "relay usage --json holds the row the table shows" ||
    fail "usage --json: rc=$rc $(cat "$T/usage.json") / $(cat "$T/usage.txt")"

# The gateway's first health record comes a second after its start; a
# fast machine gets here before it has been stored.
i=0
while [ $i -lt 50 ] && ! relay_q clusters 2>/dev/null | grep -q "1 node"; do
	sleep 0.2; i=$((i + 1))
done
relay_q clusters >"$T/clusters.txt" 2>&1
relay_q clusters --json >"$T/clusters.json" 2>&1; rc=$?
[ "$rc" -eq 0 ] && grep -q "^acme-prod  *full  .* yes  .* 1 node" "$T/clusters.txt" &&
    [ "$(json_get "$T/clusters.json" '[(c["cluster"], c["license"], c["connected"], c["health"]["nodes"]) for c in d]')" = "[('acme-prod', 'full', True, 1)]" ] &&
    [ "$(json_get "$T/clusters.json" 'd[0]["version"]')" = "$(awk '$1 == "acme-prod" { print $7 }' "$T/clusters.txt")" ] &&
    [ "$(json_get "$T/clusters.json" 'd[0]["records"]')" = "$(awk '$1 == "acme-prod" { print $8 }' "$T/clusters.txt")" ] &&
    pass "relay clusters --json holds the cluster, its license, connection, version, records and health" ||
    fail "clusters --json: rc=$rc $(cat "$T/clusters.json") / $(cat "$T/clusters.txt")"

relay_q known-hosts --json >"$T/kh.json" 2>&1; rc=$?
[ "$rc" -eq 0 ] &&
    [ "$(json_get "$T/kh.json" '[(k["cluster"], k["host_key"]) for k in d]')" = "[('acme-prod', '$(cut -d' ' -f1,2 "$T/acme-prod/session_host_key.pub")')]" ] &&
    relay_q known-hosts | grep -qx "acme-prod $(cut -d' ' -f1,2 "$T/acme-prod/session_host_key.pub")" &&
    pass "relay known-hosts --json holds the session host key the lines show" ||
    fail "known-hosts --json: rc=$rc $(cat "$T/kh.json")"

# Sessions make seals (every 3 events), whose heads reach the relay.
for i in 1 2; do essh acme-prod status >/dev/null 2>&1 || fail "session $i"; done
i=0
while [ $i -lt 150 ] && [ "$(relay_q anchors acme-prod 2>/dev/null | grep -vc '^#')" -lt 2 ]; do
	sleep 0.2; i=$((i + 1))
done
# The two views are read one after the other; a seal arriving between
# them makes them differ, so they are read again (at most three times).
for i in 1 2 3; do
	relay_q anchors acme-prod >"$T/anchors.txt" 2>&1
	relay_q anchors acme-prod --json >"$T/anchors.json" 2>&1; rc=$?
	[ "$(grep -vc '^#' "$T/anchors.txt")" -eq "$(json_get "$T/anchors.json" 'len(d)' 2>/dev/null)" ] && break
	sleep 1
done
[ "$rc" -eq 0 ] && [ "$(grep -vc '^#' "$T/anchors.txt")" -ge 2 ] &&
    [ "$(json_get "$T/anchors.json" '"".join("%d %d %s %s\n" % (a["epoch"], a["seq"], a["head"], a["received"]) for a in d)')" = "$(grep -v '^#' "$T/anchors.txt")" ] &&
    pass "relay anchors --json holds the anchors the file lists" ||
    fail "anchors --json: rc=$rc $(cat "$T/anchors.json") / $(cat "$T/anchors.txt")"
relay_q anchors --json >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "^usage: porthole-relay" "$T/err" &&
    pass "a relay report without its CLUSTER is a usage error (2)" ||
    fail "anchors without a cluster: rc=$rc $(cat "$T/err")"
relay_q events acme-prod --jsn >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "unknown option '--jsn'" "$T/err" &&
    pass "a relay report refuses an option it does not know (2)" ||
    fail "--jsn: rc=$rc $(cat "$T/err")"

# --since takes relative times: the last hour holds the sessions above,
# the next hour nothing; a word it does not know is a usage error.
cli audit list --since -1h --type session_opened >"$T/list.out" 2>&1; rc=$?
[ "$rc" -eq 0 ] && [ "$(grep -c session_opened "$T/list.out")" -eq 2 ] &&
    pass "audit list --since -1h lists the last hour's sessions" ||
    fail "--since -1h: rc=$rc $(cat "$T/list.out")"
cli audit list --since today --until tomorrow --type session_opened >"$T/list.out" 2>&1; rc=$?
[ "$rc" -eq 0 ] && [ "$(grep -c session_opened "$T/list.out")" -eq 2 ] &&
    pass "audit list --since today --until tomorrow" ||
    fail "--since today: rc=$rc $(cat "$T/list.out")"
cli audit list --since +1h >"$T/list.out" 2>"$T/err"; rc=$?
[ "$rc" -eq 0 ] && ! grep -q . "$T/list.out" && grep -q "no matching events" "$T/err" &&
    pass "audit list --since +1h lists nothing" ||
    fail "--since +1h: rc=$rc $(cat "$T/list.out" "$T/err")"
cli audit list --since "$(date -u -d '1 hour ago' +%Y-%m-%dT%H:%M:%S+00:00)" --type session_opened >"$T/list.out" 2>&1; rc=$?
[ "$rc" -eq 0 ] && [ "$(grep -c session_opened "$T/list.out")" -eq 2 ] &&
    pass "audit list --since with an RFC 3339 offset" ||
    fail "--since +00:00: rc=$rc $(cat "$T/list.out")"
cli audit list --since 2h >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "'2h' is not a time: expected RFC 3339.*-2h" "$T/err" &&
    pass "audit list --since 2h (no sign) exits 2 with the forms it takes" ||
    fail "--since 2h: rc=$rc $(cat "$T/err")"

# Someone who may not use the control socket is told who may.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	chmod 711 "$T" "$T/acme-prod"
	chmod 644 "$CONF"
	setpriv --reuid=65534 --regid=65534 --clear-groups \
	    "$CLI_BIN" -f "$CONF" status >"$T/out" 2>"$T/err"; rc=$?
	[ "$rc" -eq 1 ] && ! grep -q . "$T/out" &&
	    grep -q "control.sock: Permission denied: only root.* admin_group ${ADMIN_GROUP:-root}" "$T/err" &&
	    pass "a user outside admin_group is told who may use the control socket" ||
	    fail "non-root status: rc=$rc err='$(cat "$T/err")'"
else
	echo "# not root or no setpriv: the non-root check is not run"
fi

# The relay stopped: the tunnel is down, status exits 3 and says so.
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
i=0
while [ $i -lt 50 ] && cli status >/dev/null 2>&1; do sleep 0.2; i=$((i + 1)); done
out=$(cli status); rc=$?
[ "$rc" -eq 3 ] && echo "$out" | grep -q "(tunnel down since" &&
    pass "porthole status exits 3 when no relay's tunnel is up" ||
    fail "status with the relay stopped: rc=$rc out='$out'"
cli status --json >"$T/status.json"; rc=$?
[ "$rc" -eq 3 ] && python3 -m json.tool "$T/status.json" >/dev/null 2>&1 &&
    [ "$(json_get "$T/status.json" '[r["tunnel"] for r in d["relays"]]')" = "['down']" ] &&
    [ -n "$(json_get "$T/status.json" 'd["relays"][0]["error"]')" ] &&
    pass "status --json says the tunnel is down and why, exit 3" ||
    fail "status --json down: rc=$rc $(cat "$T/status.json")"

# The gateway stopped: it cannot be reached, exit 1.
stop_gateway acme-prod
cli status >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "is portholed running" "$T/err" &&
    pass "porthole status exits 1 when the gateway cannot be reached" ||
    fail "status, gateway stopped: rc=$rc $(cat "$T/err")"
cli status --json >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && ! grep -q . "$T/out" &&
    pass "status --json exits 1 and prints nothing when the gateway cannot be reached" ||
    fail "status --json, gateway stopped: rc=$rc $(cat "$T/out")"

finish
