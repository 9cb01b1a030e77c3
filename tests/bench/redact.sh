#!/bin/sh
# redact.sh - how fast the redaction engine (lib/redact.h) passes a
# product log: a generated text file of BENCH_REDACT_MIB (default 512)
# MiB, warm in the page cache, read in 256 KiB chunks and written to
# /dev/null - as a plain copy, through a stream with no pattern, with
# the two patterns of issue 20, and with an unanchored 40-character
# class that has no literal to prefilter on.  Three runs each, the
# median appended to BENCHMARKS.md.  Part of `make bench`; what the
# gateway's [redact] costs an engineer's sftp get, next to the OpenSSH
# set-up, is measured by sftp_redact.sh.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
OUT=${BENCH_OUT:-$top_srcdir/BENCHMARKS.md}
MIB=${BENCH_REDACT_MIB:-512}
D=$(mktemp -d "${TMPDIR:-/tmp}/porthole-redact.XXXXXX")
trap 'rm -rf "$D"' EXIT

# The engine as the build made it (lib/libph.a), not a copy, with the
# build's sanitizers if it has them.
san=$(sed -n 's/^SAN_CFLAGS = //p' "$top_builddir/Makefile" 2>/dev/null || true)
cc -O2 $san -I"$top_srcdir" -D_GNU_SOURCE -o "$D/redactbench" \
    "$top_srcdir/tests/bench/redactbench.c" "$top_builddir/lib/libph.a"
"$D/redactbench" make "$D/product.log" "$MIB"
cat "$D/product.log" >/dev/null		# warm the page cache
load=$(cut -d' ' -f1 /proc/loadavg)

SECRET='secret=(password|secret|token) *[=:] *[^ ]+'
AWS='aws=AKIA[0-9A-Z]{16}'
CLASS='key=[A-Za-z0-9/+]{40}'

# median3 CMD...: the median of three runs' MiB/s; the rest of the
# last run's line (the matches) goes to $D/extra.
median3() {
	rates=""
	for run in 1 2 3; do
		line=$("$D/redactbench" "$@")
		rates="$rates ${line%% *}"
		case $line in *" "*) echo "${line#* }" >"$D/extra" ;; esac
	done
	echo $rates | tr ' ' '\n' | sort -n | sed -n 2p
}

copy=$(median3 copy "$D/product.log")
none=$(median3 redact "$D/product.log")
two=$(median3 redact "$D/product.log" "$SECRET" "$AWS")
matches=$(cat "$D/extra")
[ "$matches" -gt 0 ] || { echo "redact.sh: no match: nothing was redacted" >&2; exit 1; }
class=$(median3 redact "$D/product.log" "$CLASS")
bytes=$(stat -c %s "$D/product.log")
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
{
	echo
	echo "## Redaction speed"
	echo
	echo "The redaction engine on a generated $((bytes / 1048576)) MiB product log"
	echo "(lines of about 100 bytes; one in 997 holds a password, one in 1999 an"
	echo "access key id), warm page cache, read in 256 KiB chunks and written to"
	echo "/dev/null on one core ($cpu; load average $load at the"
	echo "start), median of 3 runs:"
	echo
	echo "| | MiB/s |"
	echo "|---|---:|"
	echo "| plain copy (read, write) | $copy |"
	echo "| redaction stream, no pattern | $none |"
	echo "| \`pattern.secret = (password\\|secret\\|token) *[=:] *[^ ]+\` and \`pattern.aws = AKIA[0-9A-Z]{16}\` ($matches matches) | $two |"
	echo "| \`pattern.key = [A-Za-z0-9/+]{40}\` (no literal to prefilter on) | $class |"
	echo
	echo "With no pattern a stream hands the bytes on untouched, so a cluster"
	echo "without \`[redact]\` pays nothing. The two patterns are found by their"
	echo "literals (memchr for a rare byte over many lines; regexec only on a line"
	echo "that holds one);"
	echo "a pattern without a literal runs regexec on every line, which costs what"
	echo "glibc's matcher costs. Written by \`tests/bench/redact.sh\`"
	echo "(\`BENCH_REDACT_MIB=$MIB\`), run by \`make bench\`."
} >>"$OUT"
echo "# redaction: copy $copy MiB/s, no pattern $none, secret+aws $two ($matches matches), 40-character class $class"
