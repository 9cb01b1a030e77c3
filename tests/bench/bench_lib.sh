# bench_lib.sh - helpers for tests/bench/bench.sh (sourced after
# tests/integration/lib.sh): process trees and their memory and CPU,
# statistics over numbers on stdin, ports, and the small C programs.

# tree_pids ROOT: ROOT and all its descendants.
tree_pids() {
	ps -e -o pid=,ppid= | awk -v r="$1" '
	    { par[$1] = $2 }
	    END {
		in_t[r] = 1; print r
		do {
			more = 0
			for (p in par)
				if (!(p in in_t) && (par[p] in in_t)) {
					in_t[p] = 1; print p; more = 1
				}
		} while (more)
	    }'
}
# rss_kb PID...: summed VmRSS.  pss_kb PID...: summed Pss.
rss_kb() {
	for p in "$@"; do
		awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null
	done | awk '{ s += $1 } END { print s + 0 }'
}
pss_kb() {
	for p in "$@"; do
		awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null
	done | awk '{ s += $1 } END { print s + 0 }'
}
# cpu_ticks PID...: utime+stime+cutime+cstime, summed.  Over a whole
# process tree this counts finished (reaped) descendants too.
cpu_ticks() {
	for p in "$@"; do
		sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null
	done | awk '{ s += $12 + $13 + $14 + $15 } END { print s + 0 }'
}
tree_rss() { rss_kb $(tree_pids "$1"); }
tree_cpu() { cpu_ticks $(tree_pids "$1"); }
now_ns() { date +%s%N; }

# Statistics of the numbers on stdin, one a line.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# pct P: the nearest-rank P-th percentile.
pct() { sort -g | awk -v p="$1" '{ v[NR] = $1 } END { r = int((NR * p + 99) / 100); if (r < 1) r = 1; print v[r] }'; }
minv() { sort -g | head -n 1; }
maxv() { sort -g | tail -n 1; }
fmt() { awk -v v="$1" -v d="${2:-1}" 'BEGIN { printf "%.*f", d, v }'; }
# thousands N: an integer with thousands separators.
thousands() { awk -v v="$1" 'BEGIN { s = sprintf("%.0f", v); o = ""; while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) } print s o }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 == 0) print "n/a"; else printf "%.2fx", b / a }'; }
# elapsed_s START_NS END_NS
elapsed_s() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

# port: a free port that this run has not handed out yet.
PORTS_TAKEN=""
port() {
	while :; do
		p=$(free_port)
		case " $PORTS_TAKEN " in *" $p "*) continue ;; esac
		PORTS_TAKEN="$PORTS_TAKEN $p"
		echo "$p"
		return
	done
}
wait_listen() {
	n=100
	while [ "$n" -gt 0 ]; do
		ss -Htln "sport = :$1" | grep -q . && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
# wait_file FILE SECONDS: until FILE exists.
wait_file() {
	n=$(( $2 * 20 ))
	while [ "$n" -gt 0 ]; do
		[ -e "$1" ] && return 0
		sleep 0.05
		n=$((n - 1))
	done
	return 1
}

# build NAME [LIBS...]: compile tests/bench/NAME.c into $T/NAME.
build() {
	b_name=$1
	shift
	cc -std=c11 -O2 -Wall -Wextra -o "$T/$b_name" \
	    "$top_srcdir/tests/bench/$b_name.c" "$@" 2>"$T/$b_name-cc.log"
}

# hf_times FILE NAME: run times in seconds of the command named NAME in
# a `hyperfine --export-json` file, one a line.
hf_times() {
	awk -v name="$2" '
	    /"command":/ {
		cur = $0
		sub(/^[^:]*: *"/, "", cur); sub(/".*$/, "", cur)
	    }
	    /"times":/ { intimes = (cur == name); next }
	    intimes && /\]/ { intimes = 0; next }
	    intimes { gsub(/[ ,]/, ""); if ($0 != "") print }
	' "$1"
}

# The drain of a gateway's spool, read from `porthole -f $CONF status`.
gw_status() { "$CLI_BIN" -f "$CONF" status 2>/dev/null; }
spool_waiting() { gw_status | sed -n 's/^spool *\([0-9]*\) records waiting.*/\1/p'; }
uplink_state() { gw_status | sed -n 's/^uplink *\([a-z]*\).*/\1/p'; }

# wait_uplink_open: the relay was just started; wait (60 s at most) for
# the gateway's uplink to open again.  UP_NS: the last poll that still
# saw it down, so that a drain timed from there errs on the slow side.
wait_uplink_open() {
	wu_start=$(now_ns)
	UP_NS=$wu_start
	while [ "$(uplink_state)" != open ]; do
		UP_NS=$(now_ns)
		[ $(( (UP_NS - wu_start) / 1000000000 )) -lt 60 ] || return 1
		sleep 0.05
	done
}

# wait_spool_empty SECONDS: until the spool is empty, at most SECONDS
# after UP_NS; 1 with SPOOL_LEFT records still waiting.
wait_spool_empty() {
	ws_deadline=$(( UP_NS + $1 * 1000000000 ))
	while SPOOL_LEFT=$(spool_waiting) && [ "$SPOOL_LEFT" != 0 ]; do
		[ "$(now_ns)" -lt "$ws_deadline" ] || return 1
		sleep 0.05
	done
}
