#!/bin/sh
# When a reload applies each key, as porthole.conf(5) says: a file that
# changes a key the gateway reads only at start (run_dir, state_dir, ...)
# is refused as a whole with FILE:LINE: KEY takes effect at restart, and
# nothing else in it is applied; the audit log's seal_every,
# seal_interval and audit_rotate take effect at the reload (they used to
# be ignored until a restart).
. "$(dirname "$0")/lib.sh"

standard_setup
CONF=$T/acme-prod/porthole.conf
AUDIT=$T/acme-prod/audit/audit.log
DIR=$T/acme-prod/audit
GW_PID=$(cat "$T/acme-prod/gateway.pid")
cp "$CONF" "$T/good.conf"
lineof() { grep -n "^$1" "$T/good.conf" | head -1 | cut -d: -f1; }
seals() { grep -c '"type":"seal"' "$AUDIT"; }
reload_ok() {
	"$CLI_BIN" -f "$CONF" reload >/dev/null 2>"$T/err" ||
	    fail "reload ($1): $(cat "$T/err")"
}

# A changed audit_dir: refused, naming its line; the command added beside
# it is not applied either.
sed "s|^audit_dir = .*|audit_dir = $T/elsewhere|" "$T/good.conf" |
    sed "/^sleepy = /a hostname = /bin/echo new-command" >"$CONF"
"$CLI_BIN" -f "$CONF" reload >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] &&
    grep -qF "$CONF:$(lineof audit_dir): audit_dir takes effect at restart" "$T/err" &&
    pass "a reload that changes audit_dir is refused with FILE:LINE: audit_dir takes effect at restart" ||
    fail "audit_dir reload: rc=$rc err='$(cat "$T/err")'"
out=$(essh acme-prod hostname 2>&1)
echo "$out" | grep -q "command 'hostname' is not allowed" &&
    pass "nothing else in the refused file took effect" ||
    fail "the refused file was applied in part: '$out'"
grep -q '"type":"policy_reload_refused".*audit_dir takes effect at restart' "$AUDIT" &&
    pass "the refusal is audited with its reason" ||
    fail "refusal not audited"

# run_dir (where porthole itself finds the gateway) by SIGHUP.
sed "s|^run_dir = .*|run_dir = $T/elsewhere|" "$T/good.conf" >"$CONF"
kill -HUP "$GW_PID"
wait_for "$T/gateway-acme-prod.log" \
    "reload refused.*$CONF:$(lineof run_dir): run_dir takes effect at restart" 5 &&
    pass "SIGHUP: a changed run_dir is refused the same way" ||
    fail "run_dir by SIGHUP: $(tail -n 3 "$T/gateway-acme-prod.log")"

# A start-only key taken out of the file (back to its default) is named
# where its section starts.
sed '/^state_dir = /d' "$T/good.conf" >"$CONF"
kill -HUP "$GW_PID"
wait_for "$T/gateway-acme-prod.log" \
    "reload refused.*$CONF:$(lineof '\[gateway\]'): state_dir takes effect at restart" 5 &&
    pass "a state_dir taken out is refused, naming [gateway]'s line" ||
    fail "state_dir removed: $(tail -n 3 "$T/gateway-acme-prod.log")"
[ "$(essh acme-prod status 2>/dev/null)" = "cluster acme-prod is healthy" ] &&
    pass "the gateway runs on under the policy it had" ||
    fail "a refused reload disturbed the gateway"

# seal_every at a reload: from then on every event is sealed at once
# (the file said 100).
sed 's/^seal_every = .*/seal_every = 1/' "$T/good.conf" >"$CONF"
reload_ok "seal_every = 1"
mark=$(wc -l <"$AUDIT")
essh acme-prod status >/dev/null 2>&1 || fail "session after seal_every"
# Events since the mark not followed by their seal (an event and its
# seal are two writes: a moment is allowed between them).
unsealed() {
	tail -n +"$((mark + 1))" "$AUDIT" | awk '
	    /"type":"seal"/ { open = 0; next }
	    { if (open) n++; open = 1 }
	    END { print n + open }'
}
# The session's last event (session_closed) may come after ssh returns:
# wait for it, and judge by the same reading that saw it.
n=0
while :; do
	unsealed=$(unsealed)
	tail -n +"$((mark + 1))" "$AUDIT" | grep -q '"type":"session_closed"' &&
	    [ "$unsealed" -eq 0 ] && break
	[ $n -ge 50 ] && break
	sleep 0.1
	n=$((n + 1))
done
[ "$(tail -n +"$((mark + 1))" "$AUDIT" | grep -vc '"type":"seal"')" -ge 3 ] &&
    [ "$unsealed" -eq 0 ] &&
    pass "seal_every = 1 takes effect at the reload: each event is sealed" ||
    fail "seal_every after reload: $unsealed events without their seal"

# seal_interval at a reload: a quiet log is sealed within it (the file
# said 5m).
sed 's/^seal_interval = .*/seal_interval = 1s/' "$T/good.conf" >"$CONF"
reload_ok "seal_interval = 1s"
before=$(seals)
n=0
while [ $n -lt 60 ] && [ "$(seals)" -le "$before" ]; do sleep 0.1; n=$((n + 1)); done
[ "$(seals)" -gt "$before" ] &&
    pass "seal_interval = 1s takes effect at the reload: a quiet log is sealed" ||
    fail "no seal within 6s of seal_interval = 1s"

# audit_rotate at a reload: the log is rotated into parts (the file said
# 64M).
sed 's/^audit_rotate = .*/audit_rotate = 16K/; s/^seal_every = .*/seal_every = 4/' \
    "$T/good.conf" >"$CONF"
reload_ok "audit_rotate = 16K"
n=0
while [ $n -lt 60 ] && ! ls "$DIR" | grep -q '^audit-[0-9]\{20\}\.log$'; do
	essh acme-prod status >/dev/null 2>&1 || fail "session $n"
	n=$((n + 1))
done
ls "$DIR" | grep -q '^audit-[0-9]\{20\}\.log$' &&
    pass "audit_rotate = 16K takes effect at the reload: the log rotated" ||
    fail "no rotation after $n sessions: $(ls "$DIR")"

finish
