#!/bin/sh
# Support bundles: requested by the engineer (ssh ... bundle, the ticket
# from the certificate), by the vendor (porthole-relay bundle request)
# and by the product (an event [bundle] on_events names); built by a
# process of their own into a tar.gz whose MANIFEST.json lists what it
# holds and whose SHA-256 is in the audit log; redacted; waiting for the
# customer's porthole bundle approve, or removed by deny; then uploaded
# over the control channel, whole, to the relay, where porthole-relay
# bundle get gives the same bytes.  bundle_upload.sh: the upload across
# relay restarts and against a relay that lies.
. "$(dirname "$0")/bundle_lib.sh"

FILES_ENABLED=yes
make_vendor
make_cluster acme-prod
P=$T/acme-prod/product
EXTRA_COMMANDS="showlog = /bin/cat $P/log/product.log"
write_relay_conf
write_gateway_conf acme-prod
CONF=$T/acme-prod/porthole.conf
cat >>"$CONF" <<EOC

[redact]
pattern.secret = (password|secret|token) *[=:] *[^ ]+
pattern.aws = AKIA[0-9A-Z]{16}

[bundle]
enabled = yes
paths = $P/log/*.log
commands = status, showlog
approval = required
on_events = product_crash
EOC
write_ssh_config
AUDIT=$T/acme-prod/audit/audit.log
BUNDLES=$T/acme-prod/state/bundles
cat >"$P/log/product.log" <<'EOF'
2026-12-01T10:00:01Z INFO db connect password = hunter2 pool=8
2026-12-01T10:00:02Z INFO s3 upload with AKIAABCDEFGHIJKLMNOP done
EOF
printf 'not a log, not in the bundle\n' >"$P/log/notes.txt"
chmod 711 "$T" "$T/acme-prod"
chmod -R go+rX "$P"
start_relay
start_gateway acme-prod

# check_archive ID WHO: what a built bundle holds, as the customer sees it.
check_archive() {
	f=$BUNDLES/$1.tar.gz
	lists_manifest "$f" "$1" 3 &&
	    pass "$2: tar -tzf lists the manifest's entries (two outputs, one log)" ||
	    fail "$2: manifest and archive differ: $(cat "$T/list-$1" "$T/tar.err")"
	! tar -xzOf "$f" | grep -aq 'hunter2\|AKIAABCD' &&
	    tar -xzOf "$f" "porthole-bundle-$1/files$P/log/product.log" |
	    grep -q 'db connect \*\*\*\*\*\*\*\*\*\*\*\*\*\*\*\*\*\* pool=8' &&
	    tar -xzOf "$f" "porthole-bundle-$1/commands/showlog.out" |
	    grep -q 'upload with \*\*\*\*\*\*\*\*\*\*\*\*\*\*\*\*\*\*\*\* done' &&
	    pass "$2: the bundle holds no secret, the log and the diagnostic's output redacted" ||
	    fail "$2: a secret in the bundle"
	sum=$(sha256sum "$f" | cut -d' ' -f1)
	grep -q "\"type\":\"bundle_built\".*\"bundle\":\"$1\",\"sha256\":\"$sum\"" "$AUDIT" &&
	    pass "$2: its SHA-256 is in the audit log" ||
	    fail "$2: bundle_built: $(grep "bundle_built.*$1" "$AUDIT")"
}

# The engineer asks; the ticket is the certificate's.
essh acme-prod bundle >"$T/eng.out" 2>&1; rc=$?
ENG=$(sed -n 's/^porthole: support bundle \([0-9a-f]*\) requested.*/\1/p' "$T/eng.out")
[ "$rc" -eq 0 ] && [ -n "$ENG" ] && grep -q "for ticket SUP-1234" "$T/eng.out" &&
    grep -q "once the customer approves it" "$T/eng.out" &&
    pass "ssh ... bundle: the engineer is told the bundle's id and that it waits for approval" ||
    fail "ssh bundle: rc=$rc $(cat "$T/eng.out")"
grep -q "\"type\":\"bundle_requested\".*\"bundle\":\"$ENG\",\"source\":\"engineer\",\"requested_by\":\"engineer alice\",\"ticket\":\"SUP-1234\",\"session\":" "$AUDIT" &&
    pass "the request is audited with the engineer, the ticket and the session" ||
    fail "bundle_requested: $(grep bundle_requested "$AUDIT")"
essh acme-prod bundle now >"$T/words.out" 2>&1; rc=$?
[ "$rc" -ne 0 ] && grep -q "bundle takes no words" "$T/words.out" &&
    pass "bundle with words is refused with why" || fail "bundle now: rc=$rc $(cat "$T/words.out")"

wait_state "$ENG" waiting 30 &&
    pass "the engineer's bundle is built and waits for approval" ||
    fail "engineer's bundle: $(porthole bundles)"
check_archive "$ENG" "engineer's bundle"
porthole bundle show "$ENG" >"$T/show.out" 2>&1 &&
    grep -q "MANIFEST.json:" "$T/show.out" && grep -q "\"requested_by\": \"engineer alice\"" "$T/show.out" &&
    grep -q "\"whole_lines\": 0" "$T/show.out" &&
    pass "porthole bundle show gives the manifest" || fail "bundle show: $(cat "$T/show.out")"
! grep -q 'notes.txt' "$T/man-$ENG.json" &&
    pass "a file the [bundle] globs do not name stays out" || fail "notes.txt in the bundle"

# The vendor asks, through the relay.
"$RELAY_BIN" -f "$T/relay.conf" bundle request acme-prod --ticket SUP-9 >"$T/req.out" 2>&1 ||
    fail "bundle request: $(cat "$T/req.out")"
wait_for "$AUDIT" '"type":"bundle_requested".*"source":"vendor".*"ticket":"SUP-9"' 15 &&
    pass "the vendor's request reaches the gateway as a message and is audited" ||
    fail "vendor request: $(grep 'message_\|bundle_' "$AUDIT" | tail -3)"
VEN=$(grep '"type":"bundle_requested".*"source":"vendor"' "$AUDIT" | sed 's/.*"bundle":"\([0-9a-f]*\)".*/\1/')
wait_state "$VEN" waiting 30 && check_archive "$VEN" "vendor's bundle" ||
    fail "vendor's bundle: $(porthole bundles)"
"$RELAY_BIN" -f "$T/relay.conf" bundle request nowhere --ticket SUP-9 >"$T/req2.out" 2>&1; rc=$?
[ "$rc" -eq 1 ] && grep -q "no cluster 'nowhere'" "$T/req2.out" &&
    pass "a request for an unknown cluster is refused" || fail "unknown cluster: rc=$rc $(cat "$T/req2.out")"
"$RELAY_BIN" -f "$T/relay.conf" bundle request acme-prod --ticket 'a b' >"$T/req3.out" 2>&1; rc=$?
[ "$rc" -eq 1 ] && grep -q -- "--ticket" "$T/req3.out" &&
    pass "a ticket that is not a plain name is refused" || fail "bad ticket: rc=$rc"

# The product's crash gathers one; a second within the hour does not.
echo '{"class":"event","type":"product_crash","ts":"2026-12-01T10:00:00Z"}' |
    porthole send event - >/dev/null 2>&1 || fail "porthole send event"
echo '{"class":"event","type":"product_crash","ts":"2026-12-01T10:00:05Z"}' |
    porthole send event - >/dev/null 2>&1
wait_for "$AUDIT" '"type":"bundle_requested".*"source":"event","requested_by":"event product_crash"' 10 &&
    pass "an on_events event gathers a bundle" || fail "no bundle for the event"
sleep 1
[ "$(count_lines "$AUDIT" '"type":"bundle_requested".*"source":"event"')" -eq 1 ] &&
    pass "a second crash within the hour gathers no second bundle" ||
    fail "event bundles: $(count_lines "$AUDIT" '"source":"event"')"
EVT=$(grep '"type":"bundle_requested".*"source":"event"' "$AUDIT" | sed 's/.*"bundle":"\([0-9a-f]*\)".*/\1/')
wait_state "$EVT" waiting 30 || fail "event bundle not built"

# Nothing leaves before the customer approves.
sleep 1
[ "$(at_relay "$ENG")" = 0 ] && [ "$(at_relay "$VEN")" = 0 ] &&
    [ "$(relay bundles --json)" = "[]" ] &&
    pass "with approval required, no bundle reaches the relay before porthole bundle approve" ||
    fail "a bundle left before approval: $(relay bundles)"

# decided TYPE ID REASON SUDO_USER: the audit log's TYPE event for
# bundle ID names the actor as every other decision does (actor.c): by,
# and the uid, user, login uid and SUDO_USER as claimed, and the reason.
decided() {
	grep "\"type\":\"$1\".*\"bundle\":\"$2\"" "$AUDIT" | tail -1 |
	    python3 -c 'import json, sys
e = json.loads(sys.stdin.read())
e = e.get("fields", e)
a = e["actor"]
by = "uid 0 (root)"
ok = (a["uid"] == 0 and a["user"] == "root" and "loginuid" in a and
      "login_user" in a and a["sudo_user_claimed"] == sys.argv[2] and
      e["by"].startswith(by) and e["reason"] == sys.argv[1] and
      (sys.argv[2] == "" or e["by"].endswith(", SUDO_USER %s (claimed)" % sys.argv[2])))
sys.exit(0 if ok else 1)' "$3" "$4"
}

# The customer decides.
porthole bundle deny "$EVT" --reason "not now" >"$T/deny.out" 2>&1 &&
    [ "$(bundle_field "$EVT" state)" = denied ] && [ ! -e "$BUNDLES/$EVT.tar.gz" ] &&
    decided bundle_denied "$EVT" "not now" "" &&
    pass "porthole bundle deny: the archive is removed, the decision audited with who and why" ||
    fail "deny: $(cat "$T/deny.out")"
porthole bundle approve "$EVT" >"$T/approve2.out" 2>&1; rc=$?
[ "$rc" -eq 1 ] && grep -q "is denied, not waiting for approval" "$T/approve2.out" &&
    pass "a denied bundle cannot be approved afterwards" || fail "approve after deny: rc=$rc $(cat "$T/approve2.out")"
porthole bundle approve 0123456789abcdef >"$T/approve3.out" 2>&1; rc=$?
[ "$rc" -eq 1 ] && grep -q "no such bundle" "$T/approve3.out" &&
    pass "an unknown bundle is refused" || fail "unknown bundle: rc=$rc"
porthole bundle approve "$ENG" >/dev/null 2>&1 || fail "approve $ENG"
# Under a claimed SUDO_USER, as accountability.sh does for sessions.
SUDO_USER=mallory porthole bundle approve "$VEN" --reason "for SUP-9" >/dev/null 2>&1 ||
    fail "approve $VEN"
decided bundle_approved "$VEN" "for SUP-9" mallory &&
    pass "porthole bundle approve is audited with who (uid, login uid, SUDO_USER as claimed) and why" ||
    fail "bundle_approved: $(grep bundle_approved "$AUDIT")"
porthole bundle show "$VEN" >"$T/show-ven.out" 2>&1 &&
    grep -q "approved by uid 0 (root).*, SUDO_USER mallory (claimed): for SUP-9" "$T/show-ven.out" &&
    pass "porthole bundle show names the whole actor" ||
    fail "bundle show after approve: $(cat "$T/show-ven.out")"
wait_relay "$ENG" 30 && pass "the engineer's bundle arrives at the relay once approved" ||
    fail "engineer's bundle at the relay: $(relay bundles)"
fetched "$ENG" "engineer's bundle"
wait_relay "$VEN" 30 && pass "the vendor's bundle arrives at the relay once approved" ||
    fail "vendor's bundle at the relay: $(relay bundles)"
fetched "$VEN" "vendor's bundle"
relay bundles acme-prod >"$T/relay-list.out" 2>&1 &&
    grep -q "^$VEN  acme-prod .* complete" "$T/relay-list.out" &&
    grep -q "requested by vendor (root), ticket SUP-9 (vendor)" "$T/relay-list.out" &&
    pass "porthole-relay bundles lists them, complete, with who asked" ||
    fail "relay bundles: $(cat "$T/relay-list.out")"
[ "$(at_relay "$EVT")" = 0 ] && pass "the denied bundle never reaches the relay" ||
    fail "a denied bundle at the relay"

# Switched off, a request is refused with the reason.
sed -i '/^\[bundle\]/,$ s/^enabled = yes/enabled = no/' "$CONF"
porthole reload >/dev/null 2>&1 || fail "reload"
essh acme-prod bundle >"$T/off.out" 2>&1; rc=$?
[ "$rc" -ne 0 ] && grep -q "support bundles are disabled on this cluster" "$T/off.out" &&
    pass "with [bundle] off, ssh ... bundle is refused with why" ||
    fail "bundle off: rc=$rc $(cat "$T/off.out")"
sed -i '/^\[bundle\]/,$ s/^enabled = no/enabled = yes/' "$CONF"
porthole reload >/dev/null 2>&1 || fail "reload"

finish
