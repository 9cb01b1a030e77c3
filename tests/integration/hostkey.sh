#!/bin/sh
# The private keys live only where they are used.  The session host key
# is in the sandboxed session child, which signs the key exchange and
# every key re-exchange with it.  The gateway's main process keeps the
# key file's bytes in a sealed memory file and never parses them
# (libssh leaves the text of a key it read in freed memory); the monitor
# passes the file to the child and closes it, so the support shell,
# which the monitor forks later, has neither the key nor a way to read
# it.  The cluster key, with which the main process logs in to the
# relay, is likewise kept as a sealed file and parsed only by the key
# agent, a process of its own that signs the logins (keyagent.h): no
# process forked from the main process carries it.
#
# Checked from the outside, as an attacker who owns a process would look:
# every readable mapping of each process (/proc/PID/maps, /proc/PID/mem)
# is searched for each key's 32-byte Ed25519 seed and for the base64 text
# of its file, and its open descriptors for the keys' memory files.
# The session child must hold the host key's seed and the agent the
# cluster key's (else the search proves nothing); the main process, the
# monitor and the shell must hold neither key.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "SKIP: reading another process's memory needs root"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: needs python3"; exit 77; }

standard_setup
GW=$(cat "$T/acme-prod/gateway.pid")

# A support shell, held open by a pipe that stays open.
mkfifo "$T/keys"
sleep 60 >"$T/keys" &
PIDS="$PIDS $!"
ssh -F "$T/ssh_config" -tt acme-prod <"$T/keys" >"$T/shell.out" 2>&1 &
PIDS="$PIDS $!"
wait_for "$T/shell.out" "support@acme-prod" 15 ||
    fail "the support shell did not start: $(cat "$T/shell.out")"

# stat PID FIELD: a field of /proc/PID/stat after the name (3 = ppid,
# 5 = session); the name, in parentheses, may hold spaces.
stat() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f"$(($2 - 1))"; }
children() {
	for d in /proc/[0-9]*; do
		[ "$(stat "${d#/proc/}" 3)" = "$1" ] && echo "${d#/proc/}"
	done
}
# The gateway's children: the session's monitor (which has children of
# its own) and the cluster key's agent (which has none).
MON=""
AGENT=""
for p in $(children "$GW"); do
	if [ -n "$(children "$p")" ]; then MON=$p; else AGENT=$p; fi
done
SHELLP=""
CHILD=""
for p in $(children "$MON"); do
	# The shell leads its terminal's session; the child does not.
	if [ "$(stat "$p" 5)" = "$p" ]; then SHELLP=$p; else CHILD=$p; fi
done
[ -n "$MON" ] && [ -n "$SHELLP" ] && [ -n "$CHILD" ] && [ -n "$AGENT" ] ||
    fail "processes not found: gateway $GW monitor '$MON' shell '$SHELLP' child '$CHILD' agent '$AGENT'"

cat >"$T/scan.py" <<'EOF'
import base64, struct, sys

def seed_and_text(path):
    lines = [l for l in open(path).read().splitlines()
             if l and not l.startswith('-----')]
    blob = base64.b64decode(''.join(lines))
    magic = b'openssh-key-v1\0'
    assert blob.startswith(magic)
    pos = len(magic)
    def string():
        nonlocal pos
        n, = struct.unpack('>I', blob[pos:pos + 4])
        pos += 4 + n
        return blob[pos - n:pos]
    cipher, kdf, kdfopts = string(), string(), string()
    assert cipher == b'none'
    pos += 4                                   # number of keys: 1
    string()                                   # the public key
    priv = string()
    pos = 8                                    # two check words
    def pstring():
        nonlocal pos
        n, = struct.unpack('>I', priv[pos:pos + 4])
        pos += 4 + n
        return priv[pos - n:pos]
    assert pstring() == b'ssh-ed25519'
    pstring()                                  # the public half
    sk = pstring()                             # seed || public
    # Each line of the file's text but the first (which is all header
    # and public key) encodes some of the private section.
    return sk[:32], [l.encode() for l in lines[1:]]

# Regions of more than this are a sanitizer's shadow memory, not data.
REGION_MAX = 4 << 30
CHUNK = 8 << 20

def scan(pid, needles):
    found = set()
    keep = max(len(n) for _, n in needles) - 1
    with open('/proc/%s/maps' % pid) as maps, \
         open('/proc/%s/mem' % pid, 'rb', 0) as mem:
        for m in maps:
            f = m.split()
            lo, hi = (int(x, 16) for x in f[0].split('-'))
            if 'r' not in f[1] or hi - lo > REGION_MAX or (len(f) > 5 and
                    f[5] in ('[vvar]', '[vsyscall]')):
                continue
            # In chunks, each with the tail of the one before it, so a
            # needle across two chunks is found too.
            tail = b''
            for at in range(lo, hi, CHUNK):
                try:
                    mem.seek(at)
                    data = tail + mem.read(min(CHUNK, hi - at))
                except OSError:
                    break
                for name, n in needles:
                    if n in data:
                        found.add(name)
                tail = data[-keep:]
    return found

seed, text = seed_and_text(sys.argv[1])
needles = [('seed', seed)] + [('file text', l) for l in text]
for pid in sys.argv[2:]:
    print(pid, ' '.join(sorted(scan(pid, needles))) or 'clean')
EOF
python3 "$T/scan.py" "$T/acme-prod/session_host_key" "$GW" "$CHILD" "$MON" \
    "$SHELLP" "$AGENT" >"$T/scan.out" 2>&1 || fail "scan: $(cat "$T/scan.out")"
python3 "$T/scan.py" "$T/acme-prod/acme-prod.key" "$GW" "$CHILD" "$MON" \
    "$SHELLP" "$AGENT" >"$T/scan.cluster" 2>&1 ||
    fail "scan: $(cat "$T/scan.cluster")"
holds() { sed -n "s/^$1 //p" "$T/scan.out"; }
holds_cluster() { sed -n "s/^$1 //p" "$T/scan.cluster"; }

# The control: a search that finds nothing where the key must be proves
# nothing where it must not be.
holds "$CHILD" | grep -q seed &&
    pass "the session child holds the key (the search finds it)" ||
    fail "the search finds no key in the session child: $(cat "$T/scan.out")"
[ "$(holds "$GW")" = clean ] &&
    pass "the gateway's main process holds no copy of the key" ||
    fail "the main process holds the key: $(holds "$GW")"
[ "$(holds "$MON")" = clean ] &&
    pass "the monitor holds no copy of the key" ||
    fail "the monitor holds the key: $(holds "$MON")"
[ "$(holds "$SHELLP")" = clean ] &&
    pass "the support shell's process image holds no trace of the key" ||
    fail "the support shell holds the key: $(holds "$SHELLP")"
# keyfds PID: its descriptors on the key's memory file.
keyfds() { ls -l "/proc/$1/fd" 2>/dev/null | grep -c 'memfd:session_host_key'; }
[ "$(keyfds "$GW")" -eq 1 ] && [ "$(keyfds "$MON")" -eq 0 ] &&
    [ "$(keyfds "$SHELLP")" -eq 0 ] && [ "$(keyfds "$CHILD")" -eq 0 ] &&
    pass "only the main process keeps the key's file open, for new sessions" ||
    fail "descriptors on the key: main $(keyfds "$GW"), monitor $(keyfds "$MON"), shell $(keyfds "$SHELLP"), child $(keyfds "$CHILD")"

# The cluster key: only its agent holds it.
holds_cluster "$AGENT" | grep -q seed &&
    pass "the cluster key's agent holds the cluster key (the search finds it)" ||
    fail "the search finds no cluster key in its agent: $(cat "$T/scan.cluster")"
for who in "main process:$GW" "monitor:$MON" "session child:$CHILD" \
    "support shell:$SHELLP"; do
	[ "$(holds_cluster "${who#*:}")" = clean ] &&
	    pass "the ${who%:*} holds no trace of the cluster key" ||
	    fail "the ${who%:*} holds the cluster key: $(holds_cluster "${who#*:}")"
done
clusterfds() { ls -l "/proc/$1/fd" 2>/dev/null | grep -c 'memfd:cluster_key'; }
[ "$(clusterfds "$GW")" -eq 1 ] && [ "$(clusterfds "$MON")" -eq 0 ] &&
    [ "$(clusterfds "$SHELLP")" -eq 0 ] && [ "$(clusterfds "$CHILD")" -eq 0 ] &&
    [ "$(clusterfds "$AGENT")" -eq 0 ] &&
    pass "only the main process keeps the cluster key's file open, for a new agent" ||
    fail "descriptors on the cluster key: main $(clusterfds "$GW"), monitor $(clusterfds "$MON"), shell $(clusterfds "$SHELLP"), child $(clusterfds "$CHILD"), agent $(clusterfds "$AGENT")"

# An agent that died is started again for the next login: the tunnel,
# dropped with the relay's restart, comes back up.
kill -9 "$AGENT"
online=$(count_lines "$T/relay.log" "cluster acme-prod online")
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
start_relay
wait_count "$T/relay.log" "cluster acme-prod online" "$online" 20 &&
    pass "the tunnel logs in again after its key agent was killed" ||
    fail "no login after the agent was killed: $(tail -n 3 "$T/gateway-acme-prod.log")"

# That the child still signs its key re-exchanges without the monitor's
# copy, session.sh shows (40 MB across repeated rekeys).
finish
