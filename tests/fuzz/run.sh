#!/bin/sh
# Run every libFuzzer target for FUZZ_SECONDS (default 20) from its seed
# corpus (tests/fuzz/corpus_NAME, read, never written: what the run finds
# goes to a scratch directory).  Exits 1 naming each target that crashed,
# leaked, timed out or ran out of memory, with the input that did it.
# Needs a build configured with --enable-fuzzing CC=clang.
set -u
src=${top_srcdir:-.}/tests/fuzz
bin=${top_builddir:-.}/tests/fuzz
secs=${FUZZ_SECONDS:-20}
case $secs in ''|*[!0-9]*) echo "run.sh: FUZZ_SECONDS must be a number" >&2; exit 2 ;; esac
work=$(mktemp -d /tmp/porthole-fuzz.XXXXXX) || exit 2
trap 'rm -rf "$work"' EXIT
failed=""
for corpus in "$src"/corpus_*; do
	name=${corpus##*/corpus_}
	target=$bin/fuzz_$name
	if [ ! -x "$target" ]; then
		echo "run.sh: $target is not built (./configure --enable-fuzzing CC=clang)" >&2
		exit 2
	fi
	mkdir -p "$work/$name/new" "$work/$name/crash"
	if "$target" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$work/$name/crash/" \
	    "$work/$name/new" "$corpus" >"$work/$name/log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name/log")
		echo "fuzz_$name: ${runs:-?} inputs in ${secs} s, no failure"
	else
		echo "FAIL: fuzz_$name:"
		tail -n 40 "$work/$name/log"
		for f in "$work/$name/crash"/*; do
			[ -f "$f" ] || continue
			echo "input $(basename "$f") (base64):"
			head -c 4096 "$f" | base64
		done
		failed="$failed fuzz_$name"
	fi
done
[ -z "$failed" ] || { echo "fuzzing failed:$failed"; exit 1; }
