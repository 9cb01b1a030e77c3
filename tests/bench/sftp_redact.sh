#!/bin/sh
# sftp_redact.sh - part of `make bench`: what [redact] costs an engineer's
# sftp get, next to the OpenSSH set-up a customer would build instead
# (bench.sh's, from bench_lib.sh).  One generated product log of
# BENCH_SFTP_MIB (512) MiB with passwords and access key ids in it
# (redactbench make), fetched BENCH_SFTP_RUNS (3) times on each of three
# rows, the rows alternating run by run:
#   openssh	the OpenSSH set-up, nothing redacted
#   porthole	porthole, from a directory [redact] does not cover
#   redacted	porthole, the same bytes from a directory under
#		[redact] with the two patterns of issue 20
# Every run's download is compared with what it must be: the file itself,
# or the file with each match starred (perl, independent of the engine);
# the redacted download must hold neither 'hunter' nor 'AKIA' and keep the
# file's size, so a broken path cannot be measured as a fast one.  The
# medians are appended to BENCH_OUT (BENCHMARKS.md).
#
# Needs root, openssh-server, openssh-sftp-server, perl, and porthole built.
. "$(dirname "$0")/../integration/lib.sh"
. "$top_srcdir/tests/bench/bench_lib.sh"

MIB=${BENCH_SFTP_MIB:-512}
RUNS=${BENCH_SFTP_RUNS:-3}
OUT=${BENCH_OUT:-$top_srcdir/BENCHMARKS.md}
BYTES=0
# The download lands in memory, not on the disk under test.
SFTP_DST=/dev/shm/porthole-redact-bench.$$
trap bench_cleanup EXIT

bench_need
command -v perl >/dev/null || die "perl missing: apt-get install perl"
case $MIB in
''|*[!0-9]*|0) die "BENCH_SFTP_MIB: '$MIB' is not a positive number of MiB" ;;
esac
case $RUNS in
''|*[!0-9]*|0) die "BENCH_SFTP_RUNS: '$RUNS' is not a positive number" ;;
esac

# ----------------------------------------------------------- the log
note "product log: $MIB MiB (redactbench make)"
# Linked with the build's lib/libph.a, and with its sanitizers if it has
# them (./configure --enable-sanitizers).
san=$(sed -n 's/^SAN_CFLAGS = //p' "$top_builddir/Makefile" 2>/dev/null)
cc -O2 $san -I"$top_srcdir" -D_GNU_SOURCE -o "$T/redactbench" \
    "$top_srcdir/tests/bench/redactbench.c" "$top_builddir/lib/libph.a" \
    2>"$T/redactbench-cc.log" ||
    die "redactbench.c did not build: $(cat "$T/redactbench-cc.log")"
mkdir -p "$T/files/plain" "$T/files/red"
"$T/redactbench" make "$T/files/plain/product.log" "$MIB" ||
    die "redactbench make $MIB failed"
# Two copies, not links: each path reads its own file, warm in the page
# cache like the other's.
cp "$T/files/plain/product.log" "$T/files/red/product.log"
chmod 755 "$T/files" "$T/files/plain" "$T/files/red"
chmod 644 "$T/files/plain/product.log" "$T/files/red/product.log"
BYTES=$(stat -c %s "$T/files/plain/product.log")
# What the redacted download must be: each match of either pattern
# starred, as long as it was.
perl -pe 's/((password|secret|token) *[=:] *[^ \n]+)/"*" x length($1)/ge;
    s/(AKIA[0-9A-Z]{16})/"*" x length($1)/ge' \
    <"$T/files/plain/product.log" >"$T/expected.log"
grep -q 'hunter' "$T/files/plain/product.log" &&
    grep -q 'AKIA[0-9]' "$T/files/plain/product.log" ||
    die "the product log holds no secret: nothing would be redacted"
! grep -q 'hunter\|AKIA' "$T/expected.log" ||
    die "the expected redacted log still holds a secret"
MATCHES=$(grep -c 'password = hunter\|AKIA' "$T/files/plain/product.log")

# ------------------------------------------------------ the set-ups
note "porthole and the OpenSSH set-up in $T"
make_vendor
PORTS_TAKEN=$RELAY_PORT
make_cluster acme-prod
write_relay_conf
bench_porthole_conf
cat >>"$T/acme-prod/porthole.conf" <<EOC

[redact]
pattern.secret = (password|secret|token) *[=:] *[^ ]+
pattern.aws = AKIA[0-9A-Z]{16}
paths = $T/files/red
EOC
start_relay
start_gateway acme-prod
[ "$FAILS" -eq 0 ] || die "porthole did not come up"
bench_openssh_up
[ "$(ph true; echo $?)" = 0 ] || die "porthole: 'true' failed"
[ "$(os true; echo $?)" = 0 ] || die "openssh: 'true' failed"

# run ROW: one timed get on ROW, recorded in $T/sftp_ROW (MiB/s) or, if
# the download is not what it must be, in $T/sftp_ROW_bad.
run() {
	case $1 in
	openssh) p=os; f=$T/files/plain/product.log; want=$f ;;
	porthole) p=ph; f=$T/files/plain/product.log; want=$f ;;
	redacted) p=ph; f=$T/files/red/product.log; want=$T/expected.log ;;
	esac
	s=$(now_ns); sftp_get "$p" "$f"; e=$(now_ns)
	if [ "$1" = redacted ] && [ -f "$SFTP_DST" ] &&
	    grep -q 'hunter\|AKIA' "$SFTP_DST"; then
		rm -f "$SFTP_DST"
		die "the redacted download holds a secret"
	fi
	n=$(sftp_check "$want")
	xfer_record sftp "$1" "$BYTES" "$n" $((e - s)) "$1" \
	    "$(awk -v b="$BYTES" 'BEGIN { print b / 1048576 }')"
}

note "sftp get of the product log x $RUNS per row, rows alternating"
for r in openssh porthole redacted; do
	: >"$T/sftp_$r"; : >"$T/sftp_${r}_bad"
done
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
i=0
while [ "$i" -lt "$RUNS" ]; do
	# The first row changes from run to run, so no row always follows
	# the same one.
	case $((i % 3)) in
	0) run openssh; run porthole; run redacted ;;
	1) run porthole; run redacted; run openssh ;;
	2) run redacted; run openssh; run porthole ;;
	esac
	i=$((i + 1))
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
OS=$(xfer_median sftp openssh)
PH=$(xfer_median sftp porthole)
RED=$(xfer_median sftp redacted)
for r in openssh porthole redacted; do
	[ -s "$T/sftp_${r}_bad" ] && die "$r: $(wc -l <"$T/sftp_${r}_bad") of $RUNS downloads were not what they must be"
done

if awk -v a="$RED" -v b="$OS" 'BEGIN { exit !(a > b) }'; then
	VERDICT="Redacted, porthole stays ahead of the OpenSSH set-up's unredacted download"
else
	VERDICT="Redacted, porthole falls behind the OpenSSH set-up's unredacted download"
fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
{
	echo
	echo "## sftp get with redaction"
	echo
	echo "\`sftp get\` of a generated $((BYTES / 1048576)) MiB product log (lines of about"
	echo "100 bytes, $MATCHES of them with a password or an access key id) on"
	echo "loopback with \`$CIPHER\`, into /dev/shm, median of $RUNS runs"
	echo "per row, the rows alternating ($cpu, $(nproc) cores; load"
	echo "average $LOAD at the start, $LOAD_END at the end):"
	echo
	echo "| | MiB/s | vs OpenSSH |"
	echo "|---|---:|---:|"
	echo "| OpenSSH set-up (ssh -J through the bastion to the customer's sshd), nothing redacted | $(xfer_cell sftp openssh "$RUNS") | 1.00x |"
	echo "| porthole, a file outside \`[redact] paths\` | $(xfer_cell sftp porthole "$RUNS") | $(ratio "$OS" "$PH") |"
	echo "| porthole, \`pattern.secret = (password\\|secret\\|token) *[=:] *[^ ]+\` and \`pattern.aws = AKIA[0-9A-Z]{16}\` | $(xfer_cell sftp redacted "$RUNS") | $(ratio "$OS" "$RED") |"
	echo
	echo "$VERDICT ($(fmt "$RED") against $(fmt "$OS") MiB/s)."
	echo "The redacted time includes the monitor's pass over the whole file"
	echo "at open, which writes the starred copy (past 64 MiB an unnamed file"
	echo "in \`state_dir\`) that the session child then serves. Every download"
	echo "was compared with the file, or with the file starred by perl, and the"
	echo "redacted ones held no password and no key id. Written by"
	echo "\`tests/bench/sftp_redact.sh\` (\`BENCH_SFTP_MIB=$MIB BENCH_SFTP_RUNS=$RUNS\`),"
	echo "run by \`make bench\`."
} >>"$OUT"
echo "# sftp get ($MIB MiB): openssh $(fmt "$OS"), porthole $(fmt "$PH"), redacted $(fmt "$RED") MiB/s"
exit 0
