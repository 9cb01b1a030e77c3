#!/bin/sh
# Read-only product files with the stock sftp and scp: exactly what the
# [files] paths hold, byte for byte, and nothing beside or above them.
. "$(dirname "$0")/lib.sh"

FILES_ENABLED=yes
make_vendor
make_cluster acme-prod
write_relay_conf
write_gateway_conf acme-prod
write_ssh_config
AUDIT=$T/acme-prod/audit/audit.log
P=$T/acme-prod/product

# The product's files, and a row of traps among them.
head -c 3000000 /dev/urandom >"$P/log/server.log"
printf 'first\nsecond\n' >"$P/log/small.txt"
mkdir -p "$P/log/sub" && echo nested >"$P/log/sub/nested.txt"
echo outside >"$T/outside.txt"
ln "$T/outside.txt" "$P/log/hard.txt"
ln -s /etc/passwd "$P/log/passwd-link"
ln -s small.txt "$P/log/inner-link"
ln -s /proc/self/root "$P/log/root-link"
mkfifo "$P/log/fifo"
echo key >"$P/log/server.key"
echo notes >"$P/log/secret-notes.txt"
[ "$(id -u)" -eq 0 ] && mknod "$P/log/null" c 1 3
start_relay
start_gateway acme-prod

esftp() {
	sftp -F "$T/ssh_config" -q -b - acme-prod
}

# Fetching an allowed log: sftp and scp both get it byte for byte.
rm -f "$T/got.log"
echo "get $P/log/server.log $T/got.log" | esftp >"$T/sftp.out" 2>&1
cmp -s "$P/log/server.log" "$T/got.log" && pass "sftp get: 3 MB byte for byte" ||
    fail "sftp get: $(cat "$T/sftp.out")"
rm -f "$T/scp.log"
scp -F "$T/ssh_config" -q "acme-prod:$P/log/server.log" "$T/scp.log" \
    </dev/null 2>"$T/scp.err"
cmp -s "$P/log/server.log" "$T/scp.log" && pass "scp: 3 MB byte for byte" ||
    fail "scp: $(cat "$T/scp.err")"
n=$(count_lines "$AUDIT" '"type":"file_closed".*"bytes":3000000')
[ "$n" -eq 2 ] && pass "the audit log has the bytes read at close, for sftp and scp" ||
    fail "$n file_closed lines with 3000000 bytes in the audit log, not 2"

# Relative paths start in the first [files] path.
rm -f "$T/small.txt"
printf 'get small.txt %s/small.txt\n' "$T" | esftp >/dev/null 2>&1
cmp -s "$P/log/small.txt" "$T/small.txt" && pass "relative path from home" ||
    fail "get small.txt"

# Listing shows files and directories, never traps or denied names.
echo "ls -1 $P/log" | esftp >"$T/ls.out" 2>&1
if grep -q "server.log" "$T/ls.out" && grep -q "sub" "$T/ls.out" &&
    ! grep -q "server.key\|secret-notes\|fifo\|passwd-link\|root-link" "$T/ls.out"; then
	pass "listing shows only what may be read"
else
	fail "listing: $(tr '\n' ' ' <"$T/ls.out")"
fi

# Every escape attempt is refused and audited.
for path in \
    "$P/log/../../porthole.conf" \
    "/etc/passwd" \
    "$P/log/passwd-link" \
    "$P/log/inner-link" \
    "$P/log/root-link/etc/passwd" \
    "/proc/self/root/etc/passwd" \
    "$P/log/hard.txt" \
    "$P/log/fifo" \
    "$P/log/server.key" \
    "$P/log/secret-notes.txt" \
    "$P/logs/x" \
    "$T/acme-prod/product/config/cluster.ini"; do
	before=$(count_lines "$AUDIT" '"type":"file_refused"')
	rm -f "$T/escape.out"
	echo "get $path $T/escape.out" | esftp >/dev/null 2>&1; rc=$?
	after=$(count_lines "$AUDIT" '"type":"file_refused"')
	if [ "$rc" -ne 0 ] && [ ! -s "$T/escape.out" ] && [ "$after" -gt "$before" ]; then
		pass "refused and audited: $path"
	else
		fail "escape $path: rc=$rc audited=$((after - before))"
	fi
done
if [ -c "$P/log/null" ]; then
	echo "get $P/log/null $T/escape.out" | esftp >/dev/null 2>&1 &&
	    fail "a device node was read" || pass "refused: a device node"
fi

# Nothing can be written, removed or renamed; each attempt is audited,
# also under a name that is not UTF-8 (no audit line could spell it as
# it is), and the sftp session goes on after each refusal.
BAD=$(printf 'bad\377name')
for cmd in "put $T/outside.txt $P/log/new.txt" "rm $P/log/small.txt" \
    "rename $P/log/small.txt $P/log/moved.txt" "mkdir $P/log/newdir" \
    "chmod 777 $P/log/small.txt" "put $T/outside.txt $P/log/$BAD"; do
	before=$(count_lines "$AUDIT" '"type":"write_refused"')
	printf -- '-%s\nls -1 %s/log/small.txt\n' "$cmd" "$P" | esftp >"$T/w.out" 2>&1
	after=$(count_lines "$AUDIT" '"type":"write_refused"')
	[ "$after" -eq $((before + 1)) ] && grep -q "small.txt" "$T/w.out" &&
	    pass "refused, audited once, session goes on: $cmd" ||
	    fail "$cmd: audited $((after - before)) times; $(head -c 300 "$T/w.out")"
done
[ -f "$P/log/small.txt" ] && [ ! -e "$P/log/new.txt" ] &&
    [ ! -e "$P/log/newdir" ] && [ ! -e "$P/log/$BAD" ] &&
    pass "no file was changed" ||
    fail "files changed: $(ls "$P/log" | tr '\n' ' ')"
grep -q '"type":"write_refused".*"path":"[^"]*/log/bad\\\\xffname"' "$AUDIT" &&
    pass "the non-UTF-8 name is audited with its byte escaped" ||
    fail "no write_refused naming bad\\xffname"
# A file of such a name cannot be read or listed, and breaks nothing.
: >"$P/log/$BAD"
printf -- '-get %s/log/%s %s/bad.out\nls -1 %s/log\n' "$P" "$BAD" "$T" "$P" |
    esftp >"$T/bad.ls" 2>&1
[ ! -e "$T/bad.out" ] && grep -q "server.log" "$T/bad.ls" &&
    ! grep "^$P/log/" "$T/bad.ls" | grep -q "bad" &&
    pass "a non-UTF-8 name is neither served nor listed, and sftp goes on" ||
    fail "non-UTF-8 name: $(head -c 300 "$T/bad.ls")"
rm -f "$P/log/$BAD"

# Turning [files] off takes effect at a reload, for new sessions.
sed -i '/^\[files\]/,/^\[/ s/^enabled = yes/enabled = no/' "$T/acme-prod/porthole.conf"
"$CLI_BIN" -f "$T/acme-prod/porthole.conf" reload >/dev/null 2>&1 ||
    fail "reload failed"
rm -f "$T/off.log"
echo "get $P/log/small.txt $T/off.log" | esftp >"$T/off.out" 2>&1
[ ! -s "$T/off.log" ] && pass "files off: nothing can be fetched" ||
    fail "files off: fetched anyway"

"$CLI_BIN" audit verify --key "$(cat "$T/acme-prod/audit.k0")" \
    "$T/acme-prod/audit" >/dev/null 2>&1 && pass "audit log verifies" ||
    fail "audit verify"
finish
