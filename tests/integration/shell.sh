#!/bin/sh
# The support shell, driven like a person would: the stock ssh in a tmux
# pane, keys sent with send-keys, the screen read with capture-pane.
# Afterwards the recording plays back with asciinema and its hash is in
# the audit chain.
. "$(dirname "$0")/lib.sh"

FILES_ENABLED=yes
SETTINGS_ENABLED=yes
standard_setup
AUDIT=$T/acme-prod/audit/audit.log
P=$T/acme-prod/product
printf 'alpha\nbeta\ngamma\n' >"$P/log/app.log"

shell_tmux "$$" 100 30 \
    "ssh -F $T/ssh_config -tt acme-prod; echo SSH-EXITED \$?; sleep 30"

screen_has "support@acme-prod" 15 && pass "the shell shows its prompt" ||
    fail "no prompt: $(cat "$T/screen")"
grep -q "recorded" "$T/screen" && pass "the banner says the session is recorded" ||
    fail "no recording notice in the banner"

type_line "help"
screen_has "greet" && pass "help lists the diagnostics" || fail "help"

type_line "status"
screen_has "cluster acme-prod is healthy" && pass "a diagnostic runs" ||
    fail "status in the shell"

type_line "cat $P/log/app.log"
screen_has "gamma" && pass "cat shows an allowed file" || fail "cat"

printf 'one\ntwo\nlast-line-here\n' >"$P/log/tail.log"
type_line "tail -n 1 tail.log"
screen_has "last-line-here" && pass "tail shows the end of a file" || fail "tail"
# tail -f follows the file as it grows, until ^C; the monitor closes
# the file on the record.
type_line "tail -n 1 -f tail.log"
sleep 1
echo "appended-while-following" >>"$P/log/tail.log"
screen_has "appended-while-following" 5 && pass "tail -f shows a line appended while it follows" ||
    fail "tail -f: $(tail -3 "$T/screen")"
closed=$(count_lines "$AUDIT" '"type":"file_closed".*tail.log')
$TM send-keys C-c
wait_count "$AUDIT" '"type":"file_closed".*tail.log' "$closed" 5 &&
    type_line "greet after-tail" && screen_has "hello after-tail" &&
    pass "^C ends tail -f: the file is closed on the record, the prompt is back" ||
    fail "^C in tail -f: $(tail -3 "$T/screen")"

# The pager: a file longer than the window, a page at a time, q to quit.
seq 1 500 | sed 's/^/pager-line-/' >"$P/log/long.log"
type_line "less long.log"
last_shown() { $TM capture-pane -p | sed -n 's/^pager-line-\([0-9]*\)$/\1/p' | tail -1; }
screen_has "pager-line-1" 5 && sleep 0.5 && first=$(last_shown) &&
    [ -n "$first" ] && [ "$first" -lt 100 ] &&
    pass "less shows the first page only (to line $first)" ||
    fail "less: $(tail -3 "$T/screen")"
$TM send-keys Space
i=0; next=$first
while [ $i -lt 50 ] && [ "${next:-0}" -le "${first:-0}" ]; do
	sleep 0.1; next=$(last_shown); i=$((i + 1))
done
[ "${next:-0}" -gt "${first:-0}" ] && [ "$next" -lt 200 ] &&
    pass "space shows the next page (to line $next)" ||
    fail "less, space: $(tail -3 "$T/screen")"
# q and the next command typed at once: the keys after q are not lost.
type_line "qgreet after-less"
screen_has "hello after-less" && pass "q leaves the pager, and what was typed after it is the next command" ||
    fail "less, q: $(tail -3 "$T/screen")"

type_line "cat /etc/passwd"
screen_has "outside" && pass "a file outside the paths is refused" ||
    fail "cat /etc/passwd: $(tail -3 "$T/screen")"

# Line editing: a typo fixed with backspace.
$TM send-keys -l -- "greet wox"
$TM send-keys BSpace BSpace
$TM send-keys -l -- "orld"
$TM send-keys Enter
screen_has "hello world" && pass "backspace edits the line" ||
    fail "line editing: $(tail -3 "$T/screen")"
# The cursor keys of the stock client: left, home, and up for the last line.
$TM send-keys -l -- "greet arow-keys"
$TM send-keys Left Left Left Left Left Left Left
$TM send-keys -l -- "r"
$TM send-keys Enter
screen_has "hello arrow-keys" && pass "the left key moves the cursor back into the line" ||
    fail "left key: $(tail -3 "$T/screen")"
$TM send-keys -l -- "reet from-home"
$TM send-keys Home
$TM send-keys -l -- "g"
$TM send-keys End
$TM send-keys -l -- "-end"
$TM send-keys Enter
screen_has "hello from-home-end" && pass "home and end move to either end of the line" ||
    fail "home/end: $(tail -3 "$T/screen")"
$TM send-keys Up
$TM send-keys Enter
i=0
while [ $i -lt 50 ] && [ "$($TM capture-pane -p -S -200 | grep -c "^hello from-home-end")" -lt 2 ]; do
	sleep 0.1; i=$((i + 1))
done
[ "$($TM capture-pane -p -S -200 | grep -c "^hello from-home-end")" -eq 2 ] &&
    pass "the up key brings back the last command" ||
    fail "up key: $(tail -3 "$T/screen")"

type_line "settings set jvm.heap 4g"
screen_has "2g -> 4g" && grep -q "^jvm.heap = 4g" "$P/config/cluster.ini" &&
    pass "settings set changes a listed key" ||
    fail "settings set: $(tail -3 "$T/screen") / $(cat "$P/config/cluster.ini")"
type_line "settings set secret.token x"
screen_has "not a listed setting" && grep -q "^secret.token = s3cr3t" "$P/config/cluster.ini" &&
    pass "an unlisted setting is refused" || fail "unlisted setting"

type_line "rm -rf /"
screen_has "unknown command" && pass "no system commands" || fail "rm -rf /"

# Bytes that are not valid UTF-8 (a lone surrogate) do not spoil the
# recording: asciinema below must still play it.
printf 'caf\303\251 \355\240\200 end-of-odd\n' >"$P/log/odd.txt"
type_line "cat odd.txt"
screen_has "end-of-odd" || fail "cat odd.txt"

# C1 controls in a file - a CSI that clears, an OSC 52 that would set
# the engineer's clipboard, a raw 0x9b - are shown as text (and so
# recorded as text, checked below).
printf 'c1: \302\2332J \302\23552;c;cm0gLXJmIH4K\302\234 \233 end-of-c1\n' >"$P/log/c1.txt"
type_line "cat c1.txt"
screen_has 'c1: \xc2\x9b2J \xc2\x9d52;c;cm0gLXJmIH4K\xc2\x9c \x9b end-of-c1' &&
    pass "C1 controls in a file are shown escaped" ||
    fail "cat c1.txt: $(grep c1: "$T/screen")"

# ^C stops a running diagnostic at once, and the monitor ends it.
type_line "sleepy 9"
sleep 1
dpids=$(diag_pids "/bin/sleep 9")
[ -n "$dpids" ] || fail "sleepy 9 is not running"
$TM send-keys C-c
gone 3 $dpids &&
    wait_for "$AUDIT" '"type":"command_finished".*"sleepy 9".*"cancelled":true' 3 &&
    pass "^C ends a running diagnostic, audited as cancelled" ||
    fail "^C: diagnostic still running or not audited"

# A window size change reaches the shell's terminal.
$TM resize-window -x 120 -y 40 2>/dev/null || $TM resize-pane -x 120 -y 40
sleep 0.5

type_line "exit"
screen_has "SSH-EXITED 0" && pass "exit ends the session" ||
    fail "exit: $(tail -3 "$T/screen")"

# The recording: where the audit log says, with the hash it says.
wait_for "$AUDIT" '"type":"shell_closed"' 5 || fail "no shell_closed event"
rec=$(grep '"type":"shell_closed"' "$AUDIT" | sed 's/.*"recording":"\([^"]*\)".*/\1/')
sha=$(grep '"type":"shell_closed"' "$AUDIT" | sed 's/.*"sha256":"\([0-9a-f]*\)".*/\1/')
f=$T/acme-prod/audit/recordings/$rec
[ -f "$f" ] && [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$sha" ] &&
    pass "the recording's SHA-256 is in the audit log" ||
    fail "recording $rec: hash mismatch or missing"
! LC_ALL=C grep -q "$(printf '\302[\200-\237]')" "$f" &&
    ! grep -qi '\\u00[89][0-9a-f]' "$f" &&
    grep -qF 'c1: \\xc2\\x9b2J' "$f" &&
    pass "the recording holds the C1 controls as text, never raw" ||
    fail "C1 controls in the recording: $(grep -a 'c1:' "$f" | od -c | head)"
grep -q '^\[[0-9.]*, "r", "120x40"\]$' "$f" &&
    pass "the window size change is honoured and recorded as a resize event" ||
    fail "no resize event 120x40 in the recording"
if command -v asciinema >/dev/null; then
	# asciinema reads /dev/tty: give it a terminal with script(1).
	script -qec "asciinema cat $f" /dev/null >"$T/replay" 2>"$T/replay.err" &&
	    grep -q "cluster acme-prod is healthy" "$T/replay" &&
	    pass "asciinema cat plays the recording" ||
	    fail "asciinema cat: $(head -3 "$T/replay.err")"
else
	fail "asciinema is not installed (./autogen.sh --deps installs it)"
fi
$TM kill-server 2>/dev/null

# The auditor's tools: verify checks the recording, export and replay
# show it (and are themselves audited).
CONF=$T/acme-prod/porthole.conf
K0=$(cat "$T/acme-prod/audit.k0")
sid=${rec%.cast}
out=$("$CLI_BIN" audit verify --key "$K0" "$T/acme-prod/audit" 2>&1); rc=$?
[ "$rc" -eq 0 ] && echo "$out" | grep -q "1 recording match the audit log" &&
    pass "audit verify checks the recording" || fail "verify: rc=$rc $out"
"$CLI_BIN" -f "$CONF" audit export "$sid" >"$T/export.cast" 2>"$T/export.err" &&
    cmp -s "$T/export.cast" "$f" &&
    wait_for "$AUDIT" '"type":"recording_viewed".*"action":"export"' 3 &&
    pass "audit export gives the recording, and the export is audited" ||
    fail "export: $(cat "$T/export.err")"
"$CLI_BIN" -f "$CONF" audit replay "$sid" --speed 1000 >"$T/replay2" 2>&1 &&
    grep -q "cluster acme-prod is healthy" "$T/replay2" &&
    pass "audit replay plays the session" || fail "replay: $(head -3 "$T/replay2")"
# Naming the live audit directory by a path (here through a symlink) is
# still the live log: the viewing goes on record.
ln -s "$T/acme-prod/audit" "$T/live-audit"
views=$(grep -c '"type":"recording_viewed"' "$AUDIT")
"$CLI_BIN" -f "$CONF" audit export "$sid" "$T/live-audit" >"$T/export2.cast" 2>"$T/export2.err" &&
    cmp -s "$T/export2.cast" "$f" && ! grep -q "is a copy" "$T/export2.err" &&
    [ "$(grep -c '"type":"recording_viewed"' "$AUDIT")" -eq $((views + 1)) ] &&
    pass "exporting from the live audit dir named as DIR is audited too" ||
    fail "export of the live dir by path: $(cat "$T/export2.err")"
# A recording made before the shell escaped C1 controls, or edited by
# hand, may hold sequences that act on the auditor's terminal: replay
# leaves them out, even split across two events, and says so.
cp -r "$T/acme-prod/audit" "$T/planted"
pf=$T/planted/recordings/$rec
printf '%s\n' '[0.1, "o", "before\u001b]52;c;cm0gLXJmIH4K"]' \
    '[0.1, "o", "\u0007\u001b]0;pwned\u001b\\after\u001b[1;31mred\u001b[0m\u009d52;c;eA==\u009cend-of-planted"]' >>"$pf"
psha=$(sha256sum "$pf" | cut -d' ' -f1)
obytes=$(grep '"type":"shell_closed"' "$AUDIT" | sed 's/.*"bytes":\([0-9]*\).*/\1/')
sed -i "/\"type\":\"shell_closed\"/ { s/$sha/$psha/; s/\"bytes\":$obytes,/\"bytes\":$(wc -c <"$pf"),/; }" \
    "$T/planted/audit.log"
"$CLI_BIN" -f "$CONF" audit replay "$sid" --speed 1000 "$T/planted" >"$T/replay3" 2>"$T/replay3.err"
grep -q "beforeafter.*end-of-planted" "$T/replay3" &&
    ! grep -q "$(printf '\033]')" "$T/replay3" &&
    ! LC_ALL=C grep -q "$(printf '\302\235')" "$T/replay3" &&
    grep -qF "$(printf 'after\033[1;31mred\033[0m')" "$T/replay3" &&
    grep -q "left out" "$T/replay3.err" &&
    pass "replay drops an OSC 52 and a title (split across events, and in C1 form), keeps colours" ||
    fail "replay of planted sequences: $(grep -a before "$T/replay3" | od -c | head -20) $(cat "$T/replay3.err")"
# An event line longer than replay reads (1 MiB) stops the replay, saying
# where, rather than being skipped without a word.
cp -r "$T/acme-prod/audit" "$T/huge"
hf=$T/huge/recordings/$rec
python3 -c 'print("[0.1, \"o\", \"" + "x" * (1 << 20) + "\"]")
print("[0.2, \"o\", \"after-the-long-one\"]")' >>"$hf"
hsha=$(sha256sum "$hf" | cut -d' ' -f1)
hline=$(grep -c . "$hf")
sed -i "/\"type\":\"shell_closed\"/ { s/$sha/$hsha/; s/\"bytes\":$obytes,/\"bytes\":$(wc -c <"$hf"),/; }" \
    "$T/huge/audit.log"
"$CLI_BIN" -f "$CONF" audit replay "$sid" --speed 1000 "$T/huge" >"$T/replay4" 2>"$T/replay4.err"; rc=$?
[ "$rc" -eq 1 ] && ! grep -q "after-the-long-one" "$T/replay4" &&
    grep -q "$hf:$((hline - 1)): an event longer than 1 MiB" "$T/replay4.err" &&
    pass "replay stops at an event line over 1 MiB and names it" ||
    fail "replay of a 1 MiB event: rc=$rc $(cat "$T/replay4.err")"
cp -r "$T/acme-prod/audit" "$T/audit-copy"
"$CLI_BIN" -f "$CONF" audit export "$sid" "$T/audit-copy" >/dev/null 2>"$T/export3.err" &&
    grep -q "is a copy" "$T/export3.err" &&
    pass "a copy of the log elsewhere is said to be a copy" ||
    fail "export of a copy: $(cat "$T/export3.err")"
cp "$f" "$T/rec.orig"
sed -i 's/healthy/HEALTHY/' "$f"
out=$("$CLI_BIN" audit verify --key "$K0" "$T/acme-prod/audit" 2>&1); rc=$?
[ "$rc" -eq 1 ] && echo "$out" | grep -q "$rec: does not match the audit log" &&
    pass "an edited recording is detected" || fail "tampered recording: rc=$rc $out"
"$CLI_BIN" -f "$CONF" audit export "$sid" >/dev/null 2>"$T/export.err" &&
    fail "a tampered recording was exported" ||
    pass "a tampered recording is not exported"
cp "$T/rec.orig" "$f"

# Settings as a command line too, and the [settings] switch.
out=$(essh acme-prod settings get jvm.heap 2>&1)
[ "$out" = "4g" ] && pass "settings get as a command" || fail "settings get: '$out'"
out=$(essh acme-prod settings set ingest.queue_size 2000 2>&1)
[ "$out" = "ingest.queue_size: 1000 -> 2000" ] &&
    grep -q "^ingest.queue_size = 2000" "$P/config/cluster.ini" &&
    grep -q '"type":"setting_changed".*"old":"1000","new":"2000"' "$AUDIT" &&
    pass "settings set as a command, audited with old and new value" ||
    fail "settings set: '$out'"
sed -i '/^\[settings\]/,/^\[/ s/^enabled = yes/enabled = no/' "$T/acme-prod/porthole.conf"
"$CLI_BIN" -f "$T/acme-prod/porthole.conf" reload >/dev/null 2>&1
cp "$P/config/cluster.ini" "$T/before.ini"
out=$(essh acme-prod settings set jvm.heap 1g 2>&1); rc=$?
[ "$rc" -ne 0 ] && echo "$out" | grep -q "disabled" &&
    cmp -s "$P/config/cluster.ini" "$T/before.ini" &&
    pass "settings off: refused, file untouched" ||
    fail "settings off: rc=$rc '$out'"

# The engineer's ssh goes away while tail -f holds a file open: the
# monitor closes it on the record (the byte count went with the shell).
# A tmux server of its own: one just killed may still be going away.
shell_tmux "$$-2" 100 30 "ssh -F $T/ssh_config -tt acme-prod; sleep 30"
screen_has "support@acme-prod" 15 || fail "second shell: no prompt"
opened=$(count_lines "$AUDIT" '"type":"file_opened".*tail.log')
type_line "tail -f tail.log"
wait_count "$AUDIT" '"type":"file_opened".*tail.log' "$opened" 5 ||
    fail "tail -f in the second shell did not open the file"
abandoned=$(count_lines "$AUDIT" '"type":"file_closed".*tail.log.*"bytes":null')
pkill -f "ssh -F $T/ssh_config -tt acme-prod"
wait_count "$AUDIT" '"type":"file_closed".*tail.log.*"bytes":null' "$abandoned" 10 &&
    pass "a file open when the engineer's ssh went away is audited closed" ||
    fail "no file_closed for tail -f when the ssh went away"
finish
