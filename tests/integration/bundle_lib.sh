# bundle_lib.sh - what the support bundle tests share: short ways to ask
# the customer's porthole and the vendor's porthole-relay about bundles,
# and the checks of an archive fetched from the relay.  The test sets
# CONF (the gateway's porthole.conf), AUDIT (its audit log) and BUNDLES
# (its state_dir/bundles).
# (tests/bench/bundle.sh uses it too: lib.sh is found from top_srcdir.)
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

porthole() { "$CLI_BIN" -f "$CONF" "$@"; }
relay() { "$RELAY_BIN" -f "$T/relay.conf" "$@"; }

# bundle_field ID FIELD: a field of porthole bundles --json.
bundle_field() {
	porthole bundles --json | python3 -c 'import json, sys
for b in json.load(sys.stdin)["bundles"]:
    if b["id"] == sys.argv[1]:
        print(b[sys.argv[2]])' "$1" "$2"
}

# wait_state ID STATE [SECONDS]
wait_state() {
	n=$(( ${3:-20} * 10 ))
	while [ "$n" -gt 0 ]; do
		[ "$(bundle_field "$1" state)" = "$2" ] && return 0
		sleep 0.1; n=$((n - 1))
	done
	return 1
}

# requested_id PATTERN: the bundle of the newest bundle_requested event
# that matches PATTERN.
requested_id() {
	grep "\"type\":\"bundle_requested\".*$1" "$AUDIT" | tail -1 |
	    sed 's/.*"bundle":"\([0-9a-f]*\)".*/\1/'
}

# at_relay ID: 1 when the relay's store holds bundle ID whole, else 0.
at_relay() {
	relay bundles --json 2>/dev/null | python3 -c 'import json, sys
print(sum(1 for b in json.load(sys.stdin) if b["id"] == sys.argv[1] and b["complete"]))' "$1"
}

# wait_relay ID [SECONDS]
wait_relay() {
	n=$(( ${2:-20} * 10 ))
	while [ "$n" -gt 0 ]; do
		[ "$(at_relay "$1")" = 1 ] && return 0
		sleep 0.1; n=$((n - 1))
	done
	return 1
}

# lists_manifest FILE ID [N]: tar -tzf FILE lists MANIFEST.json and
# exactly the entries it names (N of them, if given); the manifest is
# left in $T/man-ID.json.
lists_manifest() {
	tar -tzf "$1" >"$T/list-$2" 2>"$T/tar.err" || return 1
	tar -xzOf "$1" "porthole-bundle-$2/MANIFEST.json" >"$T/man-$2.json" ||
	    return 1
	python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
names = sorted("porthole-bundle-%s/%s" % (m["id"], e["name"]) for e in m["entries"])
listed = sorted(l.strip() for l in open(sys.argv[2]) if not l.strip().endswith("/MANIFEST.json"))
want = int(sys.argv[3]) if sys.argv[3] else len(names)
sys.exit(0 if names == listed and len(names) == want > 0 else 1)' \
	    "$T/man-$2.json" "$T/list-$2" "${3:-}"
}

# fetched ID WHO: porthole-relay bundle get writes the archive whose
# SHA-256 the gateway audited when it built and when it uploaded it,
# tar -tzf lists the manifest's files, no secret is inside; the gateway
# removed its copy and keeps the manifest.
fetched() {
	# The relay's store has it before the gateway reads the relay's word.
	wait_for "$AUDIT" "\"type\":\"bundle_uploaded\".*\"bundle\":\"$1\"" 15 ||
	    fail "$2: no bundle_uploaded in the audit log"
	relay bundle get "$1" -o "$T/got-$1.tar.gz" >"$T/get.out" 2>&1 ||
	    { fail "$2: bundle get: $(cat "$T/get.out")"; return; }
	sum=$(sha256sum "$T/got-$1.tar.gz" | cut -d' ' -f1)
	grep -q "\"type\":\"bundle_built\".*\"bundle\":\"$1\",\"sha256\":\"$sum\"" "$AUDIT" &&
	    grep -q "\"type\":\"bundle_uploaded\".*\"bundle\":\"$1\",\"sha256\":\"$sum\"" "$AUDIT" &&
	    pass "$2: bundle get at the relay writes the archive whose SHA-256 the audit log holds" ||
	    fail "$2: fetched $sum: $(grep "bundle_.*$1" "$AUDIT")"
	lists_manifest "$T/got-$1.tar.gz" "$1" &&
	    ! tar -xzOf "$T/got-$1.tar.gz" | grep -aq 'hunter2\|AKIAABCD' &&
	    pass "$2: tar -tzf lists the manifest's files, no secret inside" ||
	    fail "$2: the fetched archive: $(cat "$T/list-$1" "$T/tar.err")"
	[ ! -e "$BUNDLES/$1.tar.gz" ] && [ -e "$BUNDLES/$1.manifest.json" ] &&
	    [ "$(bundle_field "$1" state)" = uploaded ] &&
	    pass "$2: uploaded, the archive is removed at the gateway, the manifest kept" ||
	    fail "$2: after the upload: $(ls "$BUNDLES")"
}
