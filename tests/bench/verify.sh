#!/bin/sh
# verify.sh - how fast `porthole audit verify` reads a large log: build a
# valid chained log of BENCH_AUDIT_MB (default 512) MB with auditgen.c,
# verify it three times (the file warm in the page cache), append the
# median to BENCHMARKS.md.  Part of `make bench`.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
OUT=${BENCH_OUT:-$top_srcdir/BENCHMARKS.md}
MB=${BENCH_AUDIT_MB:-512}
D=$(mktemp -d "${TMPDIR:-/tmp}/porthole-verify.XXXXXX")
trap 'rm -rf "$D"' EXIT

cc -O2 -o "$D/auditgen" "$top_srcdir/tests/bench/auditgen.c" \
    $(pkg-config --cflags --libs libcrypto)
# About 260 bytes an event.
n=$((MB * 1048576 / 260))
"$D/auditgen" "$n" >"$D/audit.log"
bytes=$(stat -c %s "$D/audit.log")
rates=""
for run in 1 2 3; do
	t0=$(date +%s%N)
	"$top_builddir/cli/porthole" audit verify "$D" >"$D/out" 2>/dev/null ||
	    { echo "verify failed: $(cat "$D/out")" >&2; exit 1; }
	t1=$(date +%s%N)
	rates="$rates $(awk -v b="$bytes" -v ns=$((t1 - t0)) \
	    'BEGIN { printf "%.0f", b / 1048576 / (ns / 1e9) }')"
done
median=$(echo $rates | tr ' ' '\n' | sort -n | sed -n 2p)
grep -q "$n events, chain intact" "$D/out"
{
	echo
	echo "## Audit verification speed"
	echo
	echo "\`porthole audit verify\` on a generated, valid $((bytes / 1048576)) MiB log"
	echo "($n events, \`tests/bench/auditgen.c\`), warm page cache, 3 runs:"
	echo "median **$median MiB/s** (runs:$rates MiB/s). Written by"
	echo "\`tests/bench/verify.sh\`, run by \`make bench\`."
} >>"$OUT"
echo "# audit verify: $median MiB/s (runs:$rates)"
