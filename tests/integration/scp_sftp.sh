#!/bin/sh
# Every channel that ends says how (exit-status): scp in its default
# SFTP mode exits 0, as do sftp and a diagnostic; the legacy scp
# protocol (scp -O) is refused by name; and an SFTP client that opens
# more files at once than the server allows gets a failure status for
# the extra ones, not a dropped session.
. "$(dirname "$0")/lib.sh"

FILES_ENABLED=yes
standard_setup
AUDIT=$T/acme-prod/audit/audit.log
P=$T/acme-prod/product
printf 'line one\nline two\n' >"$P/log/server.log"

scp -F "$T/ssh_config" -q "acme-prod:$P/log/server.log" "$T/got.log" \
    </dev/null 2>"$T/scp.err"; rc=$?
[ "$rc" -eq 0 ] && cmp -s "$P/log/server.log" "$T/got.log" &&
    pass "scp (SFTP mode) copies a granted file and exits 0" ||
    fail "scp: rc=$rc $(cat "$T/scp.err")"

echo "get $P/log/server.log $T/got2.log" |
    sftp -F "$T/ssh_config" -q -b - acme-prod >"$T/sftp.out" 2>&1; rc=$?
[ "$rc" -eq 0 ] && cmp -s "$P/log/server.log" "$T/got2.log" &&
    pass "sftp exits 0" || fail "sftp: rc=$rc $(cat "$T/sftp.out")"

# ssh -s sftp with the client's stdin closed at once: the subsystem
# channel ends, and ssh reports its exit status (255 without one).
ssh -F "$T/ssh_config" -s acme-prod sftp </dev/null >/dev/null 2>&1; rc=$?
[ "$rc" -eq 0 ] && pass "an sftp subsystem channel ends with exit status 0" ||
    fail "ssh -s sftp: rc=$rc"

before=$(count_lines "$AUDIT" '"type":"command_refused".*legacy scp protocol')
scp -O -F "$T/ssh_config" -q "acme-prod:$P/log/server.log" "$T/got3.log" \
    </dev/null 2>"$T/scpO.err"; rc=$?
[ "$rc" -ne 0 ] && [ ! -s "$T/got3.log" ] &&
    grep -q "the legacy scp protocol is not supported" "$T/scpO.err" &&
    ! grep -q "is not allowed" "$T/scpO.err" &&
    pass "scp -O is told the legacy scp protocol is not supported" ||
    fail "scp -O: rc=$rc $(cat "$T/scpO.err")"
wait_count "$AUDIT" '"type":"command_refused".*legacy scp protocol' "$before" 3 &&
    pass "the legacy scp request is audited as refused, with the reason" ||
    fail "no command_refused for scp -O"

out=$(essh acme-prod status); rc=$?
[ "$rc" -eq 0 ] && [ "$out" = "cluster acme-prod is healthy" ] &&
    pass "ssh ... status gets its output and exit status 0" ||
    fail "status: rc=$rc '$out'"
essh acme-prod fail; rc=$?
[ "$rc" -eq 1 ] && pass "a failing diagnostic's exit status reaches ssh" ||
    fail "fail: rc=$rc"

# A small SFTPv3 client: N OPENs sent at once, then one READ on the first
# handle, then the handles closed.  It prints what it got.
cat >"$T/sftp_many.py" <<'EOF'
import struct, subprocess, sys

cfg, path, n = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
p = subprocess.Popen(["ssh", "-F", cfg, "-s", "acme-prod", "sftp"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

def send(kind, payload):
    body = bytes([kind]) + payload
    p.stdin.write(struct.pack(">I", len(body)) + body)
    p.stdin.flush()

def exactly(k):
    data = b""
    while len(data) < k:
        more = p.stdout.read(k - len(data))
        if not more:
            print("session dropped")
            sys.exit(0)
        data += more
    return data

def recv():
    body = exactly(struct.unpack(">I", exactly(4))[0])
    return body[0], body[1:]

def sstr(b):
    return struct.pack(">I", len(b)) + b

send(1, struct.pack(">I", 3))                       # INIT
recv()                                              # VERSION
for i in range(n):                                  # OPEN, read-only
    send(3, struct.pack(">I", i + 1) + sstr(path) + struct.pack(">II", 1, 0))
handles, refused = [], set()
for i in range(n):
    kind, body = recv()
    if kind == 102:                                 # HANDLE
        handles.append(body[8:8 + struct.unpack(">I", body[4:8])[0]])
    elif kind == 101:                               # STATUS
        ln = struct.unpack(">I", body[8:12])[0]
        refused.add("%d:%s" % (struct.unpack(">I", body[4:8])[0],
                               body[12:12 + ln].decode()))
send(5, struct.pack(">I", 9999) + sstr(handles[0]) + struct.pack(">QI", 0, 8))
kind, body = recv()
data = body[8:].decode() if kind == 103 else "(no data)"
for i, h in enumerate(handles):                     # CLOSE
    send(4, struct.pack(">I", 20000 + i) + sstr(h))
closed = sum(1 for h in handles if recv()[0] == 101)
print("opened %d refused %d %s read '%s' closed %d" % (len(handles),
      n - len(handles), ",".join(sorted(refused)), data, closed))
EOF
out=$(python3 "$T/sftp_many.py" "$T/ssh_config" "$P/log/server.log" 70 2>&1)
[ "$out" = "opened 64 refused 6 4:too many handles read 'line one' closed 64" ] &&
    pass "70 files opened at once: 64 handles, a failure status for the rest, the session goes on" ||
    fail "many open files: '$out'"

finish
