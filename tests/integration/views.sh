#!/bin/sh
# Text an engineer chose - a refused command line, a certificate's key id
# - reaches the customer's and the auditor's views escaped: an ESC
# sequence, a C1 CSI, BEL and CR are shown as \xNN and cannot rewrite
# the screen or forge a line; --json holds the exact bytes.
. "$(dirname "$0")/lib.sh"

standard_setup
CONF=$T/acme-prod/porthole.conf
DIR=$T/acme-prod/audit

# ESC [2J (clear), an OSC title ended by BEL, a C1 CSI (U+009B) that
# clears too, and a CR that would start the line again.
evil=$(printf '\033[2J\033]0;pwned\007\302\2332Jfake\rok')
printf '%s' "$evil" >"$T/evil.raw"
essh acme-prod "$evil" >/dev/null 2>&1 && fail "the command was run"
wait_for "$DIR/audit.log" '"type":"command_refused"' 5 ||
    fail "no command_refused event"
shown='\x1b[2J\x1b]0;pwned\x07\xc2\x9b2Jfake\x0dok'

# raw FILE: does it hold an ESC, a BEL, a CR or a C1 control?
raw() {
	LC_ALL=C grep -q "$(printf '[\033\007\r]')" "$1" ||
	    LC_ALL=C grep -q "$(printf '\302[\200-\237]')" "$1"
}
"$CLI_BIN" -f "$CONF" audit list --type command_refused >"$T/list.out" 2>&1
grep -qF -- "$shown" "$T/list.out" && ! raw "$T/list.out" &&
    pass "audit list shows the refused command escaped" ||
    fail "audit list: $(od -c "$T/list.out" | head -20)"
sid=$(jq -r 'select(.type == "command_refused") | .session' "$DIR/audit.log" | head -1)
"$CLI_BIN" -f "$CONF" audit show "$sid" >"$T/show.out" 2>&1
grep -qF -- "$shown" "$T/show.out" && ! raw "$T/show.out" &&
    pass "audit show shows it escaped" ||
    fail "audit show: $(od -c "$T/show.out" | head -20)"
# A backslash the engineer typed cannot pass for an escape.
essh acme-prod 'forged\x1b[2J' >/dev/null 2>&1
"$CLI_BIN" -f "$CONF" audit list --type command_refused >"$T/list2.out" 2>&1
grep -qF -- 'command=forged\\x1b[2J' "$T/list2.out" &&
    pass "a typed backslash is shown doubled, so every backslash starts an escape" ||
    fail "backslash: $(grep forged "$T/list2.out")"
# --json is the log's own line: the exact bytes, for jq.
"$CLI_BIN" -f "$CONF" audit list --type command_refused --json |
    jq -j 'select(.command != null) | .command' | head -c "$(wc -c <"$T/evil.raw")" \
    >"$T/json.raw"
cmp -s "$T/json.raw" "$T/evil.raw" &&
    pass "audit list --json holds the exact bytes" ||
    fail "--json: $(od -c "$T/json.raw" | head)"

# Whatever answers where the relay should be chose the text of the
# tunnel's error (here its SSH banner, with an OSC title and a clear):
# porthole status shows it escaped.
make_cluster evil-net
EVIL_PORT=$(free_port)
printf 'SSH-1.5-\033]0;pwned\007\033[2Jnot-ssh\r\n' >"$T/banner"
socat TCP-LISTEN:"$EVIL_PORT",bind=127.0.0.1,reuseaddr,fork \
    SYSTEM:"cat $T/banner; sleep 1" >/dev/null 2>&1 &
PIDS="$PIDS $!"
write_gateway_conf evil-net
sed -i "s/^relay = .*/relay = 127.0.0.1:$EVIL_PORT/" "$T/evil-net/porthole.conf"
"$CLI_BIN" -f "$T/evil-net/porthole.conf" audit init >/dev/null 2>&1
"$GATEWAY_BIN" -f "$T/evil-net/porthole.conf" -d >>"$T/gateway-evil-net.log" 2>&1 &
PIDS="$PIDS $!"
# Its exit status says the tunnel is down: what it shows counts here.
status_shows() {
	"$CLI_BIN" -f "$T/evil-net/porthole.conf" status >"$T/status.out" 2>&1
	grep -q pwned "$T/status.out"
}
i=0
while [ $i -lt 100 ] && ! status_shows; do
	sleep 0.1; i=$((i + 1))
done
grep -qF 'x1b]0;pwned\x07\x1b[2Jnot-ssh' "$T/status.out" && ! raw "$T/status.out" &&
    pass "porthole status shows a hostile peer's text escaped" ||
    fail "status: $(od -c "$T/status.out" | head -30)"
"$CLI_BIN" -f "$CONF" sessions >"$T/sessions.out" 2>&1 && ! raw "$T/sessions.out" &&
    pass "porthole sessions shows no raw control" ||
    fail "sessions: $(cat "$T/sessions.out")"
finish
