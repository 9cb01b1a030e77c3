#!/bin/sh
# bundle.sh - a support bundle's upload, and what it costs the sessions
# on the same tunnel: a gateway and a relay on loopback (the integration
# tests' set-up), a bundle of a BENCH_BUNDLE_MIB (default 200) MiB log
# of incompressible text, built and uploaded with approval = none; the
# upload's time from its first piece to the relay's confirmation, and
# the round trip of an engineer's `ssh ... status` while it runs,
# against the same with the tunnel idle (median of BENCH_BUNDLE_RUNS,
# default 9, each).  Appended to BENCHMARKS.md; part of `make bench`.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
export top_srcdir top_builddir
OUT=${BENCH_OUT:-$top_srcdir/BENCHMARKS.md}
MIB=${BENCH_BUNDLE_MIB:-200}
RUNS=${BENCH_BUNDLE_RUNS:-9}
. "$top_srcdir/tests/integration/bundle_lib.sh"

FILES_ENABLED=yes
make_vendor
make_cluster acme-prod
P=$T/acme-prod/product
write_relay_conf
write_gateway_conf acme-prod
CONF=$T/acme-prod/porthole.conf
cat >>"$CONF" <<EOC

[bundle]
enabled = yes
paths = $P/log/*.log
approval = none
max_size = $((MIB * 2))M
EOC
write_ssh_config
AUDIT=$T/acme-prod/audit/audit.log
BUNDLES=$T/acme-prod/state/bundles
GWLOG=$T/gateway-acme-prod.log
mkdir -p "$P/log"
# base64 of random bytes: 3/4 of it survives gzip, as a log's would not.
head -c $((MIB * 1048576 * 3 / 4)) /dev/urandom | base64 -w 100 >"$P/log/big.log"
chmod 711 "$T" "$T/acme-prod"
chmod -R go+rX "$P"
start_relay
start_gateway acme-prod
load=$(cut -d' ' -f1 /proc/loadavg)

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# rtts N FILE: N round trips of ssh ... status, in ms, one a line.
rtts() {
	i=0
	while [ "$i" -lt "$1" ]; do
		t0=$(now_ms)
		essh acme-prod status >/dev/null 2>&1 || echo "bundle.sh: ssh failed" >&2
		echo $(( $(now_ms) - t0 )) >>"$2"
		i=$((i + 1))
	done
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

rtts "$RUNS" "$T/idle"
relay bundle request acme-prod --ticket BENCH >/dev/null 2>&1
wait_for "$AUDIT" '"type":"bundle_requested".*"ticket":"BENCH"' 30 || { echo "bundle.sh: not requested" >&2; exit 1; }
ID=$(requested_id '"ticket":"BENCH"')
wait_for "$GWLOG" "bundle $ID: uploading to relay" 600 || { echo "bundle.sh: not built" >&2; exit 1; }
t0=$(now_ms)
# The sessions' round trips beside the upload, not after it.
rtts "$RUNS" "$T/busy" &
rpid=$!
wait_for "$AUDIT" "\"type\":\"bundle_uploaded\".*\"bundle\":\"$ID\"" 1200 || { echo "bundle.sh: not uploaded" >&2; exit 1; }
ms=$(( $(now_ms) - t0 ))
wait "$rpid"
size=$(bundle_field "$ID" size)
idle=$(median <"$T/idle")
busy=$(median <"$T/busy")
rate=$(awk -v b="$size" -v ms="$ms" 'BEGIN { printf "%.1f", b / 1048576 / (ms / 1000) }')
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
{
	echo
	echo "## Support bundle upload"
	echo
	echo "A $((size / 1048576)) MiB bundle (a $MIB MiB log of incompressible text)"
	echo "uploaded over the control channel to a relay with an SQLite store, on"
	echo "loopback ($cpu; load average $load at the start): **$rate MiB/s**"
	echo "($ms ms from the first piece to the relay's confirmation that the"
	echo "SHA-256 matched), one piece of at most 512 KiB in flight at a time."
	echo "An engineer's \`ssh ... status\` through the same tunnel, median of"
	echo "$RUNS: $idle ms with the tunnel idle, $busy ms while the bundle goes"
	echo "up. Written by \`tests/bench/bundle.sh\` (\`BENCH_BUNDLE_MIB=$MIB\`),"
	echo "run by \`make bench\`."
} >>"$OUT"
echo "# bundle: $((size / 1048576)) MiB at $rate MiB/s; ssh status $idle ms idle, $busy ms during the upload"
finish
