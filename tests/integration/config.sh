#!/bin/sh
# Configuration mistakes are reported as FILE:LINE and stop the programs;
# nothing starts half-configured.
. "$(dirname "$0")/lib.sh"

make_vendor
make_cluster acme-prod
write_relay_conf
write_gateway_conf acme-prod
CONF=$T/acme-prod/porthole.conf

out=$("$CLI_BIN" policy check "$CONF"); rc=$?
[ "$rc" -eq 0 ] && echo "$out" | grep -q "valid; remote access on" &&
    pass "porthole policy check accepts a valid file" ||
    fail "policy check valid: rc=$rc out='$out'"

# policy show prints every key as a porthole.conf that reads back the same.
"$CLI_BIN" policy show "$CONF" >"$T/shown.conf" 2>"$T/err"; rc=$?
[ "$rc" -eq 0 ] && grep -q '^max_sessions = 4$' "$T/shown.conf" &&
    grep -q '^engineers = alice, bob$' "$T/shown.conf" &&
    grep -q '^seal_interval = 5m$' "$T/shown.conf" &&
    grep -q '^status = /bin/echo cluster acme-prod is healthy$' "$T/shown.conf" &&
    grep -q '^; ' "$T/shown.conf" &&
    pass "policy show prints the effective policy, defaults included" ||
    fail "policy show: rc=$rc err='$(cat "$T/err")'"
"$CLI_BIN" policy check "$T/shown.conf" >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 0 ] && pass "policy show output passes policy check" ||
    fail "policy check of shown.conf: rc=$rc err='$(cat "$T/err")'"
"$CLI_BIN" -f "$T/shown.conf" policy show >"$T/shown2.conf" 2>"$T/err"; rc=$?
[ "$rc" -eq 0 ] && cmp -s "$T/shown.conf" "$T/shown2.conf" &&
    pass "policy show of its own output is identical" ||
    fail "policy show round trip: rc=$rc $(diff "$T/shown.conf" "$T/shown2.conf")"

# A typo in a key: the CLI and the daemon both name the file and line.
sed 's/^max_sessions = 4/max_sesions = 4/' "$CONF" >"$T/typo.conf"
line=$(grep -n '^max_sesions' "$T/typo.conf" | cut -d: -f1)
"$CLI_BIN" policy check "$T/typo.conf" >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "^$T/typo.conf:$line: .*max_sesions" "$T/err" &&
    pass "policy check names FILE:LINE of an unknown key" ||
    fail "policy check typo: rc=$rc err='$(cat "$T/err")'"
"$CLI_BIN" policy show "$T/typo.conf" >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && [ ! -s "$T/out" ] &&
    grep -q "^$T/typo.conf:$line: .*max_sesions" "$T/err" &&
    pass "policy show of an invalid file names FILE:LINE, prints nothing" ||
    fail "policy show typo: rc=$rc err='$(cat "$T/err")'"
"$GATEWAY_BIN" -f "$T/typo.conf" -d >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "$T/typo.conf:$line:" "$T/err" &&
    pass "portholed refuses to start on an invalid file" ||
    fail "portholed typo: rc=$rc err='$(cat "$T/err")'"

# A line longer than the limit is an error, not silently split.
{ cat "$CONF"; printf 'status = /bin/echo %02000d\n' 0; } >"$T/long.conf"
"$CLI_BIN" policy check "$T/long.conf" >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "$T/long.conf:[0-9]*: .*long" "$T/err" &&
    pass "over-long line refused" || fail "long line: rc=$rc err='$(cat "$T/err")'"

# The relay: unknown key, and a cluster without a key.
printf 'bogus = 1\n' >>"$T/relay.conf"
"$RELAY_BIN" -f "$T/relay.conf" -d >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "relay.conf:[0-9]*: unknown key 'bogus'" "$T/err" &&
    pass "relay refuses an unknown key" || fail "relay bogus: rc=$rc err='$(cat "$T/err")'"

# A missing file and usage errors.
"$CLI_BIN" policy check "$T/nope.conf" >/dev/null 2>&1; rc=$?
[ "$rc" -eq 1 ] && pass "missing file is an error" || fail "missing file rc=$rc"
"$CLI_BIN" policy show "$CONF" "$CONF" >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] && pass "policy show with two files is a usage error" ||
    fail "policy show usage rc=$rc"
"$CLI_BIN" frobnicate >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] && pass "unknown command is a usage error" || fail "usage rc=$rc"
"$GATEWAY_BIN" >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] && pass "portholed without -f is a usage error" || fail "portholed usage rc=$rc"
"$RELAY_BIN" -x -f "$T/relay.conf" >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 2 ] && grep -q "usage: porthole-relay -f FILE" "$T/err" &&
    pass "an unknown option is a usage error" || fail "relay -x rc=$rc"

# policy check refuses what the gateway would refuse: a CA that is no key.
sed "s|^support_ca = .*|support_ca = $T/not-a-key|" "$CONF" >"$T/badca.conf"
echo "hello" >"$T/not-a-key"
out=$("$CLI_BIN" policy check "$T/badca.conf" 2>&1); rc=$?
[ "$rc" -eq 1 ] && echo "$out" | grep -q "badca.conf:[0-9]*: \[gateway\] support_ca: $T/not-a-key: " &&
    pass "policy check refuses a support_ca that is not an Ed25519 public key" ||
    fail "policy check bad CA: rc=$rc out='$out'"

# policy check run by an admin who is not root checks as portholed, which
# runs as root, does: that admin's own porthole.conf is refused.
if id nobody >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	chmod 711 "$T"
	mkdir -m 755 "$T/admin"
	cp "$CONF" "$T/admin/porthole.conf"
	chown nobody "$T/admin/porthole.conf"
	chmod 644 "$T/admin/porthole.conf"
	out=$(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
	    "$CLI_BIN" policy check "$T/admin/porthole.conf" 2>&1); rc=$?
	[ "$rc" -eq 1 ] &&
	    echo "$out" | grep -q "^$T/admin/porthole.conf: owned by uid $(id -u nobody) (nobody); chown root $T/admin/porthole.conf$" &&
	    pass "policy check by nobody refuses nobody's own porthole.conf, as portholed would" ||
	    fail "policy check as nobody: rc=$rc out='$out'"
else
	echo "# not root, no user nobody or no setpriv: the non-root policy check is skipped"
fi

# The man page's key list is the loader's own table, not a copy that drifts.
"$CLI_BIN" policy keys --man >"$T/keys.man" 2>"$T/err"; rc=$?
sed -n '/^\.\\" BEGIN KEYS/,/^\.\\" END KEYS/p' "$top_srcdir/doc/porthole.conf.5" |
    sed '1d;$d' >"$T/keys.page"
[ "$rc" -eq 0 ] && [ -s "$T/keys.man" ] && grep -q '^\.B max_sessions$' "$T/keys.man" &&
    cmp -s "$T/keys.man" "$T/keys.page" &&
    pass "doc/porthole.conf.5 lists exactly the keys the loader knows" ||
    fail "porthole.conf.5 differs from 'porthole policy keys --man' (rc=$rc): $(diff "$T/keys.page" "$T/keys.man" | head -5)"

finish
