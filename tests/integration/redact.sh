#!/bin/sh
# [redact] enforced where the bytes leave the cluster: a product log
# holding a password and an AWS-style key comes out of sftp, scp, the
# support shell's cat and tail -f, and a diagnostic that prints it with
# every secret starred at its own length; the shell's recording and the
# audit log hold no secret, the audit log counts what was starred.  A
# compressed file under a redacted path is refused; a file outside the
# redacted paths is not touched.
. "$(dirname "$0")/lib.sh"

FILES_ENABLED=yes
make_vendor
make_cluster acme-prod
P=$T/acme-prod/product
EXTRA_COMMANDS="showlog = /bin/cat $P/log/product.log"
write_relay_conf
write_gateway_conf acme-prod
cat >>"$T/acme-prod/porthole.conf" <<EOC

[redact]
pattern.secret = (password|secret|token) *[=:] *[^ ]+
pattern.aws = AKIA[0-9A-Z]{16}
paths = $P/log
EOC
write_ssh_config
AUDIT=$T/acme-prod/audit/audit.log

# The expected text: each match of either pattern starred, same length.
star() {
	perl -pe 's/((password|secret|token) *[=:] *[^ \n]+)/"*" x length($1)/ge;
	    s/(AKIA[0-9A-Z]{16})/"*" x length($1)/ge'
}
cat >"$P/log/product.log" <<'EOF'
2026-12-01T10:00:00Z INFO server starting
2026-12-01T10:00:01Z INFO db connect password = hunter2 pool=8
2026-12-01T10:00:02Z INFO s3 upload with AKIAABCDEFGHIJKLMNOP done
2026-12-01T10:00:03Z INFO ready
EOF
star <"$P/log/product.log" >"$T/expected.log"
# A larger log, read by sftp in many pieces at offsets.
awk 'BEGIN { for (i = 0; i < 60000; i++) {
	if (i % 997 == 0) printf "line %06d token: t0k%dsecret-%d\n", i, i, i
	else if (i % 1999 == 0) printf "line %06d key AKIA%016d\n", i, i
	else printf "line %06d nothing to hide here, just a log line\n", i } }' \
    >"$P/log/big.log"
star <"$P/log/big.log" >"$T/expected-big.log"
printf 'password = plain-config\n' >"$P/etc/app.conf"
printf 'password = hunter2\n' | gzip >"$P/log/old.log.gz"
printf 'a\000password = hunter2\n' >"$P/log/core.bin"

# The diagnostic runs as the unprivileged user: it may read the log.
chmod 711 "$T" "$T/acme-prod"
chmod -R go+rX "$P"

start_relay
# Copies past 1 MiB go to state_dir, as past 64 MiB outside test builds.
export PORTHOLE_REDACT_MEM_MAX=1048576
start_gateway acme-prod
unset PORTHOLE_REDACT_MEM_MAX

grep -q hunter2 "$T/expected.log" && fail "the expected text holds the secret"
[ "$(wc -c <"$T/expected.log")" -eq "$(wc -c <"$P/log/product.log")" ] ||
    fail "the expected text is not as long as the log"

echo "get $P/log/product.log $T/sftp.log" |
    sftp -F "$T/ssh_config" -q -b - acme-prod >"$T/sftp.out" 2>&1; rc=$?
[ "$rc" -eq 0 ] && cmp -s "$T/sftp.log" "$T/expected.log" &&
    pass "sftp get: the password and the key are stars of the same length" ||
    fail "sftp: rc=$rc $(cat "$T/sftp.out"; cat "$T/sftp.log")"

echo "get $P/log/big.log $T/sftp-big.log" |
    sftp -F "$T/ssh_config" -q -b - acme-prod >"$T/sftp2.out" 2>&1; rc=$?
[ "$rc" -eq 0 ] && cmp -s "$T/sftp-big.log" "$T/expected-big.log" &&
    pass "sftp get of a $(wc -c <"$P/log/big.log")-byte log read in pieces: every secret starred, size kept" ||
    fail "sftp big: rc=$rc $(cat "$T/sftp2.out"; cmp "$T/sftp-big.log" "$T/expected-big.log")"
# Its copy was an unnamed file in state_dir: nothing of it is left.
[ -z "$(find "$T/acme-prod/state" -maxdepth 1 -type f -newer "$P/log/big.log" ! -name '*.json' ! -name 'audit.key')" ] &&
    pass "the copy on disk leaves nothing behind in state_dir" ||
    fail "state_dir: $(ls -la "$T/acme-prod/state")"

scp -F "$T/ssh_config" -q "acme-prod:$P/log/product.log" "$T/scp.log" \
    </dev/null 2>"$T/scp.err"; rc=$?
[ "$rc" -eq 0 ] && cmp -s "$T/scp.log" "$T/expected.log" &&
    pass "scp: the same stars" || fail "scp: rc=$rc $(cat "$T/scp.err")"

essh acme-prod showlog >"$T/diag.log" 2>"$T/diag.err"; rc=$?
[ "$rc" -eq 0 ] && cmp -s "$T/diag.log" "$T/expected.log" &&
    pass "a diagnostic that prints the file: its output starred on the way" ||
    fail "diagnostic: rc=$rc $(cat "$T/diag.err" "$T/diag.log")"

echo "get $P/etc/app.conf $T/app.conf" |
    sftp -F "$T/ssh_config" -q -b - acme-prod >"$T/sftp3.out" 2>&1
cmp -s "$T/app.conf" "$P/etc/app.conf" &&
    pass "a file outside [redact] paths comes as it is" ||
    fail "outside the redacted paths: $(cat "$T/app.conf" "$T/sftp3.out")"

for f in old.log.gz core.bin; do
	echo "get $P/log/$f $T/$f" |
	    sftp -F "$T/ssh_config" -q -b - acme-prod >"$T/sftp-$f.out" 2>&1; rc=$?
	[ "$rc" -ne 0 ] && [ ! -s "$T/$f" ] &&
	    grep -q "\"type\":\"file_refused\".*$f.*under a redacted path" "$AUDIT" &&
	    pass "$f under a redacted path is refused, the reason audited" ||
	    fail "$f: rc=$rc $(cat "$T/sftp-$f.out")"
done
grep -q '"reason":"[^"]*compressed file (gzip) under a redacted path' "$AUDIT" &&
    grep -q '"reason":"[^"]*binary file (it holds a NUL byte) under a redacted path' "$AUDIT" &&
    pass "the refusals say why: compressed, binary" ||
    fail "refusal reasons: $(grep file_refused "$AUDIT")"

# The support shell, as the engineer drives it.
SCREEN_HISTORY=300
shell_tmux "$$" 120 40 \
    "ssh -F $T/ssh_config -tt acme-prod; echo SSH-EXITED \$?; sleep 30"
screen_has "support@acme-prod" 15 || fail "no shell prompt: $(cat "$T/screen")"
type_line "cat $P/log/product.log"
screen_has "INFO ready" && grep -qF "db connect ****************** pool=8" "$T/screen" &&
    grep -qF "s3 upload with ******************** done" "$T/screen" &&
    pass "the shell's cat shows the stars" ||
    fail "cat in the shell: $(cat "$T/screen")"
type_line "showlog"
screen_has "INFO ready" 5
type_line "less $P/log/product.log"
screen_has "s3 upload with ******************** done" 5 || fail "less"
# A file shorter than the screen: less shows it and is done.
type_line "tail -n 2 -f $P/log/product.log"
sleep 1
line='appended token=tail-secret-1 and AKIAZZZZZZZZZZZZZZZZ'
printf '%s\n' "$line" >>"$P/log/product.log"
want=$(echo "$line" | star)
screen_has "$want" 5 &&
    pass "tail -f: a line appended while it follows comes starred" ||
    fail "tail -f: $(tail -5 "$T/screen")"
# A line written in two pieces: the secret is starred once its line is whole.
printf 'half password=' >>"$P/log/product.log"
sleep 0.6
printf 'second-half-secret end\n' >>"$P/log/product.log"
screen_has "$(echo 'half password=second-half-secret end' | star)" 5 &&
    pass "tail -f: a secret written in two pieces is starred whole" ||
    fail "tail -f, split line: $(tail -5 "$T/screen")"
$TM send-keys C-c
type_line "exit"
screen_has "SSH-EXITED 0" 10 || fail "exit: $(tail -3 "$T/screen")"

wait_for "$AUDIT" '"type":"shell_closed"' 5 || fail "no shell_closed event"
rec=$(grep '"type":"shell_closed"' "$AUDIT" | sed 's/.*"recording":"\([^"]*\)".*/\1/')
f=$T/acme-prod/audit/recordings/$rec
[ -s "$f" ] && grep -aqF '******************' "$f" &&
    ! grep -aq 'hunter2\|AKIAABCD\|AKIAZZZZ\|tail-secret\|second-half-secret' "$f" &&
    pass "the recording holds the stars and no secret" ||
    fail "recording $f: $(grep -a 'hunter2\|AKIA\|secret' "$f" | head -3)"

! grep -q 'hunter2\|AKIAABCD\|tail-secret\|t0k997secret' "$AUDIT" &&
    pass "the audit log holds no secret" || fail "a secret in the audit log"
grep -q '"type":"file_opened".*product.log.*"redacted":true.*"redactions":2.*"patterns":{"secret":1,"aws":1,"whole_lines":0}' "$AUDIT" &&
    pass "the audit log counts a file's redactions per pattern" ||
    fail "file_opened: $(grep file_opened "$AUDIT" | head -2)"
grep -q '"type":"command_finished".*"command":"showlog".*"redactions":2' "$AUDIT" &&
    pass "the audit log counts a diagnostic's redactions" ||
    fail "command_finished: $(grep command_finished "$AUDIT")"
grep -q '"type":"file_closed".*product.log.*"redactions":5' "$AUDIT" &&
    pass "tail -f's redactions are counted when the file is closed" ||
    fail "file_closed after tail -f: $(grep 'file_closed.*product' "$AUDIT")"

# A reload that changes the patterns ends a session that holds a
# redacted file open: its copy was made under the old ones.
# A server of its own: a new session on the socket of one still going
# away can find it exiting ("server exited unexpectedly").
shell_tmux "$$-2" 120 40 \
    "ssh -F $T/ssh_config -tt acme-prod; echo SSH-EXITED \$?; sleep 30"
screen_has "support@acme-prod" 15 || fail "no second shell prompt"
type_line "tail -f $P/log/product.log"
sleep 1
echo 'pattern.host = db[0-9]+' >>"$T/acme-prod/porthole.conf"
"$CLI_BIN" -f "$T/acme-prod/porthole.conf" reload >"$T/reload.out" 2>&1 ||
    fail "reload: $(cat "$T/reload.out")"
wait_for "$AUDIT" '"type":"session_ended".*"detail":"[^"]*product.log is redacted by other \[redact\] patterns now' 5 &&
    screen_has "SSH-EXITED" 5 &&
    pass "a reload with other patterns ends a session holding a redacted file" ||
    fail "reload with new patterns: $(grep session_ended "$AUDIT" | tail -1)"

finish
