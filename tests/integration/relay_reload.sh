#!/bin/sh
# Relay reload (SIGHUP): a cluster added or removed, or an engineer
# removed, takes effect at once, while another cluster's engineer session
# goes on over the tunnel it had.  An invalid relay.conf, or one that
# changes a key read only at start, changes nothing and says where.
. "$(dirname "$0")/lib.sh"

CMD_TIMEOUT=120s
make_vendor
make_cluster acme-prod
write_relay_conf
cp "$T/relay.conf" "$T/relay-acme.conf"
make_cluster beta-prod
write_relay_conf
cp "$T/relay.conf" "$T/relay-both.conf"
cp "$T/relay-acme.conf" "$T/relay.conf"
write_gateway_conf acme-prod
write_gateway_conf beta-prod
write_ssh_config
start_relay
start_gateway acme-prod
RLOG=$T/relay.log
CM=$T/cm

# hup FILE PATTERN: relay.conf becomes FILE, SIGHUP, until the log says
# PATTERN (a line written after the signal).
hup() {
	cp "$1" "$T/relay.conf"
	before=$(count_lines "$RLOG" "$2")
	kill -HUP "$RELAY_PID"
	wait_count "$RLOG" "$2" "$before" 10
}
# held: acme-prod's engineer session is the one opened at the start,
# still carrying commands, and acme-prod's tunnel was never replaced.
held() {
	ssh -S "$CM" -O check acme-prod 2>/dev/null &&
	    [ "$(ssh -F "$T/ssh_config" -S "$CM" -o ControlMaster=no acme-prod \
	    status </dev/null 2>/dev/null)" = "cluster acme-prod is healthy" ] &&
	    [ "$(count_lines "$RLOG" "cluster acme-prod online")" -eq 1 ]
}

# alice's session to acme-prod, held open by an ssh master process, and a
# diagnostic that runs across the first reload.
ssh -F "$T/ssh_config" -M -S "$CM" -N acme-prod </dev/null 2>"$T/master.err" &
MASTER=$!
n=100
while [ "$n" -gt 0 ] && ! ssh -S "$CM" -O check acme-prod 2>/dev/null; do
	sleep 0.1; n=$((n - 1))
done
[ "$n" -gt 0 ] || fail "master did not open: $(cat "$T/master.err")"
{ essh acme-prod sleepy 4 >/dev/null 2>&1; echo $? >"$T/sleepy.rc"; } &
SLEEPY=$!
wait_for "$T/acme-prod/audit/audit.log" '"command":"sleepy 4"' 10 ||
    fail "the diagnostic did not start"

# A cluster added.
hup "$T/relay-both.conf" "reloaded: 2 clusters (1 added, 0 removed)" &&
    kill -0 "$RELAY_PID" 2>/dev/null &&
    pass "SIGHUP reloads relay.conf; the relay goes on" ||
    fail "SIGHUP did not reload relay.conf"
start_gateway beta-prod
[ "$(essh beta-prod status 2>/dev/null)" = "cluster beta-prod is healthy" ] &&
    pass "the added cluster is reachable" || fail "beta-prod not reachable"
wait "$SLEEPY"
[ "$(cat "$T/sleepy.rc")" = 0 ] && held &&
    pass "acme-prod's session and diagnostic went on across the reload" ||
    fail "acme-prod's session was disturbed (sleepy rc $(cat "$T/sleepy.rc"))"

# An invalid file changes nothing and names its line.
sed '1a bogus = 1' "$T/relay-acme.conf" >"$T/relay-bad.conf"
hup "$T/relay-bad.conf" "reload refused" &&
    grep -q "reload refused.*$T/relay.conf:2: unknown key 'bogus' in \[relay\]" "$RLOG" &&
    pass "an invalid relay.conf is refused with FILE:LINE" ||
    fail "invalid relay.conf: $(grep 'reload refused' "$RLOG" | tail -1)"
[ "$(essh beta-prod status 2>/dev/null)" = "cluster beta-prod is healthy" ] &&
    held && pass "after a refused reload the running configuration holds" ||
    fail "a refused reload changed something"

# A key read only at start refuses the whole reload, the cluster removal
# in the same file included.
NEW_PORT=$(free_port)
sed "s/^listen = .*/listen = 127.0.0.1:$NEW_PORT/" "$T/relay-acme.conf" \
    >"$T/relay-listen.conf"
hup "$T/relay-listen.conf" "reload refused" &&
    grep -q "reload refused.*$T/relay.conf:2: listen takes effect at restart" "$RLOG" &&
    pass "a changed listen address is refused: it takes effect at restart" ||
    fail "changed listen: $(grep 'reload refused' "$RLOG" | tail -1)"
[ "$(essh beta-prod status 2>/dev/null)" = "cluster beta-prod is healthy" ] &&
    ! ss -Htln "sport = :$NEW_PORT" | grep -q . && held &&
    pass "nothing of that file applied" ||
    fail "a reload refused for listen applied in part"
sed "s|^database = .*|database = $T/other.db|" "$T/relay-both.conf" \
    >"$T/relay-db.conf"
hup "$T/relay-db.conf" "reload refused" &&
    grep -q "reload refused.*$T/relay.conf:5: database takes effect at restart" "$RLOG" &&
    [ ! -e "$T/other.db" ] &&
    pass "a changed database is refused: it takes effect at restart" ||
    fail "changed database: $(grep 'reload refused' "$RLOG" | tail -1)"
sed "s|^run_dir = .*|run_dir = $T/other-run|" "$T/relay-both.conf" \
    >"$T/relay-rundir.conf"
hup "$T/relay-rundir.conf" "reload refused" &&
    grep -q "reload refused.*$T/relay.conf:6: run_dir takes effect at restart" "$RLOG" &&
    [ ! -e "$T/other-run" ] &&
    pass "a changed run_dir is refused: it takes effect at restart" ||
    fail "changed run_dir: $(grep 'reload refused' "$RLOG" | tail -1)"
sed "/^database = /d" "$T/relay-both.conf" >"$T/relay-nodb.conf"
hup "$T/relay-nodb.conf" "reload refused" &&
    grep -q "reload refused.*$T/relay.conf:1: database takes effect at restart" "$RLOG" &&
    pass "a database taken out is refused, named at [relay]" ||
    fail "database removed: $(grep 'reload refused' "$RLOG" | tail -1)"

# A cluster removed: its tunnel is dropped, its channels refused.
hup "$T/relay-acme.conf" "reloaded: 1 cluster (0 added, 1 removed)" &&
    grep -q "cluster beta-prod offline (cluster removed from relay.conf)" "$RLOG" &&
    pass "a removed cluster's tunnel is dropped" ||
    fail "removed cluster: tunnel not dropped"
essh beta-prod status >/dev/null 2>&1; rc=$?
[ "$rc" -ne 0 ] && grep -q "channel refused: unknown cluster 'beta-prod'" "$RLOG" &&
    pass "engineers' channels to the removed cluster are refused" ||
    fail "beta-prod after removal: rc=$rc"
held && pass "acme-prod's session went on across the removal" ||
    fail "the removal disturbed acme-prod's session"

# An engineer removed: the connection ends, new logins are refused.
sed 's/^engineers = .*/engineers = bob/' "$T/relay-acme.conf" \
    >"$T/relay-bob.conf"
hup "$T/relay-bob.conf" "reloaded:" &&
    grep -q "engineer 'alice' is no longer allowed on this relay" "$RLOG" &&
    pass "a removed engineer's connection is closed" ||
    fail "engineer removal not applied"
n=50
while [ "$n" -gt 0 ] && kill -0 "$MASTER" 2>/dev/null; do sleep 0.1; n=$((n - 1)); done
! kill -0 "$MASTER" 2>/dev/null && pass "alice's held session ended with it" ||
    fail "alice's session goes on"
essh acme-prod status >/dev/null 2>&1; rc=$?
[ "$rc" -eq 255 ] &&
    grep -q "login as 'alice' refused: engineer 'alice' is not allowed" "$RLOG" &&
    pass "alice's next login is refused at the relay" ||
    fail "alice after removal: rc=$rc"
hup "$T/relay-acme.conf" "reloaded:"
[ "$(essh acme-prod status 2>/dev/null)" = "cluster acme-prod is healthy" ] &&
    [ "$(count_lines "$RLOG" "cluster acme-prod online")" -eq 1 ] &&
    pass "alice back: acme-prod's tunnel stayed up throughout" ||
    fail "alice after restore"

finish
