#!/bin/sh
# bench.sh - `make bench`: porthole next to the OpenSSH set-up a customer
# would build instead (bastion sshd + `ssh -R` reverse tunnel + customer
# sshd + `ssh -J`), on loopback, with the same keys and ciphers, the two
# paths alternating run by run; then porthole's telemetry, which has no
# OpenSSH equivalent, against the targets of issue 7.  Prints one table
# and writes it to BENCHMARKS.md (tests/bench/bench_report.sh).
#
# Needs root, openssh-server (/usr/sbin/sshd, never the system service,
# and /usr/lib/openssh/sftp-server), openssh-client, libssh-dev (for
# loadgen.c), hyperfine (set-up times; without it an own loop is used)
# and a C compiler for the small programs beside this file.
#
# Knobs (environment), defaults in brackets:
#   BENCH_BULK_MIB (1024), BENCH_BULK_RUNS (3)	bulk download of zeros
#   BENCH_SFTP_MIB (512), BENCH_SFTP_RUNS (3)	sftp get of a file
#   BENCH_RUNS (20)				set-up round trips per path
#   BENCH_ECHO_KEYS (200), BENCH_ECHO_ROUNDS (4),	keystrokes per path, in
#   BENCH_ECHO_MS (20)				rounds; pause before each
#   BENCH_IDLE (60)				seconds of idle footprint
#   BENCH_TUNNELS (1000, 0 = skip)		idle tunnels to the vendor side
#   BENCH_INTAKE_RECORDS (200000),		durable intake, relay up
#   BENCH_INTAKE_CONNS (8)			producer connections
#   BENCH_DRAIN_RECORDS (1000000, 0 = skip)	backlog spooled, relay down
#   BENCH_DRAIN_TIMEOUT (240)			seconds the drain may take
#   BENCH_CIPHER (chacha20-poly1305@openssh.com)
#   BENCH_OUT ($top_srcdir/BENCHMARKS.md)
# Every figure written to BENCH_OUT is measured by this run.
. "$(dirname "$0")/../integration/lib.sh"
. "$top_srcdir/tests/bench/bench_lib.sh"

BULK_MIB=${BENCH_BULK_MIB:-1024}
BULK_RUNS=${BENCH_BULK_RUNS:-3}
SFTP_MIB=${BENCH_SFTP_MIB:-512}
SFTP_RUNS=${BENCH_SFTP_RUNS:-3}
RUNS=${BENCH_RUNS:-20}
ECHO_KEYS=${BENCH_ECHO_KEYS:-200}
ECHO_ROUNDS=${BENCH_ECHO_ROUNDS:-4}
ECHO_MS=${BENCH_ECHO_MS:-20}
IDLE=${BENCH_IDLE:-60}
NTUN=${BENCH_TUNNELS:-1000}
INTAKE_N=${BENCH_INTAKE_RECORDS:-200000}
INTAKE_CONNS=${BENCH_INTAKE_CONNS:-8}
DRAIN_N=${BENCH_DRAIN_RECORDS:-1000000}
DRAIN_TIMEOUT=${BENCH_DRAIN_TIMEOUT:-240}
OUT=${BENCH_OUT:-$top_srcdir/BENCHMARKS.md}
HZ=$(getconf CLK_TCK)
BULK_BYTES=$((BULK_MIB * 1048576))
SFTP_BYTES=$((SFTP_MIB * 1048576))
STARTED=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
# The sftp download lands in memory, not on the disk under test.
SFTP_DST=/dev/shm/porthole-bench.$$

trap bench_cleanup EXIT


bench_need
HYPERFINE=$(command -v hyperfine || true)
[ -n "$HYPERFINE" ] ||
    note "hyperfine not found (apt-get install hyperfine): set-up times by an own loop"

# One process holds every idle tunnel, and the relay every other end.
NOFILE_NOTE=""
if [ "$NTUN" -gt 0 ]; then
	need=$((NTUN + 256))
	if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
		if ulimit -n "$need" 2>/dev/null; then
			NOFILE_NOTE="open files limit raised to $need"
		else
			NTUN=$(( $(ulimit -n) - 256 ))
			NOFILE_NOTE="open files limited to $(ulimit -n): N lowered to $NTUN"
			[ "$NTUN" -gt 0 ] || NTUN=0
		fi
		note "$NOFILE_NOTE"
	fi
fi

# ----------------------------------------------------------- programs
note "building the load generators"
build echolat -lutil || die "echolat.c did not build: $(cat "$T/echolat-cc.log")"
build nodelay || die "nodelay.c did not build: $(cat "$T/nodelay-cc.log")"
build intakegen || die "intakegen.c did not build: $(cat "$T/intakegen-cc.log")"
TUN_NOTE=""
if [ "$NTUN" -gt 0 ] && ! build loadgen $(pkg-config --cflags --libs libssh); then
	TUN_NOTE="loadgen did not build (apt-get install libssh-dev)"
	NTUN=0
fi

# ------------------------------------------------------------- porthole
note "keys and configuration in $T"
make_vendor
PORTS_TAKEN=$RELAY_PORT
make_cluster acme-prod
# The idle tunnels' clusters: loadgen wants DIR/ID/ID.key.
i=0
while [ "$i" -lt "$NTUN" ]; do
	id=$(printf 'bench-%03d' "$i")
	"$CERTS"/porthole-make-cluster-key "$T/tunk/$id" "$id" >/dev/null ||
	    die "porthole-make-cluster-key $id failed"
	printf '\n[cluster %s]\nkey = %s\nlicense = full\n' "$id" \
	    "$T/tunk/$id/$id.key.pub" >>"$T/relay_clusters.conf"
	i=$((i + 1))
done
write_relay_conf

# The file the engineers download: incompressible, read from the page
# cache by both servers.
mkdir -p "$T/files"
head -c "$SFTP_BYTES" /dev/urandom >"$T/files/big.bin"
chmod 755 "$T/files"
chmod 644 "$T/files/big.bin"

bench_porthole_conf
start_relay
start_gateway acme-prod
[ "$FAILS" -eq 0 ] || die "porthole did not come up"
GATEWAY_PID=$(cat "$T/acme-prod/gateway.pid")
CONF=$T/acme-prod/porthole.conf

# ------------------------------------------------------------- OpenSSH
bench_openssh_up

# Sanity, and which ciphers the hops negotiated.
[ "$(ph true; echo $?)" = 0 ] || die "porthole: 'true' failed"
[ "$(os true; echo $?)" = 0 ] || die "openssh: 'true' failed"
neg() {
	"$@" 2>&1 </dev/null | sed -n 's/^debug1: kex: server->client cipher: \([^ ]*\).*/\1/p' |
	    sort | uniq -c | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }'
}
NEG_PH=$(neg ssh -v -o LogLevel=DEBUG1 -F "$T/ssh_config" acme-prod true)
NEG_OS=$(neg ssh -v -o LogLevel=DEBUG1 -F "$T/ossh_config" customer true)
note "negotiated (engineer's client, both hops): porthole: $NEG_PH; openssh: $NEG_OS"

# ------------------------------------------ 5. idle footprint (customer)
note "idle footprint: ${IDLE}s with both tunnels up and idle"
sleep 2
g0=$(tree_cpu "$GATEWAY_PID"); t0=$(tree_cpu "$TUNNEL_PID")
c0=$(tree_cpu "$CUSTOMER_PID")
sleep "$IDLE" &
SLEEP_PID=$!
wait "$SLEEP_PID"
SLEEP_PID=""
g1=$(tree_cpu "$GATEWAY_PID"); t1=$(tree_cpu "$TUNNEL_PID")
c1=$(tree_cpu "$CUSTOMER_PID")
IDLE_G_RSS=$(tree_rss "$GATEWAY_PID")
IDLE_G_NPROC=$(tree_pids "$GATEWAY_PID" | wc -l)
IDLE_T_RSS=$(tree_rss "$TUNNEL_PID")
IDLE_TC_RSS=$((IDLE_T_RSS + $(tree_rss "$CUSTOMER_PID")))
IDLE_G_CPU=$(( (g1 - g0) * 1000 / HZ ))
IDLE_TC_CPU=$(( (t1 - t0 + c1 - c0) * 1000 / HZ ))

# ------------------------------------------------- 1. bulk downloads
# CPU seconds per GiB actually delivered to the engineer
cpg() { awk -v t="$1" -v hz="$HZ" -v b="$2" 'BEGIN { print (b > 0) ? t / hz / (b / 1073741824) : 0 }'; }
# Vendor side: relay / bastion sshd tree.  Customer side: portholed tree /
# customer sshd tree and the ssh -R client.
cpu_vendor_ph() { tree_cpu "$RELAY_PID"; }
cpu_customer_ph() { tree_cpu "$GATEWAY_PID"; }
cpu_vendor_os() { tree_cpu "$BASTION_PID"; }
cpu_customer_os() { echo $(( $(tree_cpu "$CUSTOMER_PID") + $(tree_cpu "$TUNNEL_PID") )); }

note "bulk: ${BULK_MIB} MiB of zeros x $BULK_RUNS per path, alternating"
: >"$T/bulk_ph"; : >"$T/bulk_os"; : >"$T/bulk_ph_bad"; : >"$T/bulk_os_bad"
CPU_R=0; CPU_G=0; CPU_B=0; CPU_C=0; BYTES_PH=0; BYTES_OS=0
i=0
while [ "$i" -lt "$BULK_RUNS" ]; do
	r0=$(cpu_vendor_ph); g0=$(cpu_customer_ph)
	s=$(now_ns)
	n=$(ph zeros "$BULK_BYTES" | wc -c)
	e=$(now_ns)
	CPU_R=$((CPU_R + $(cpu_vendor_ph) - r0))
	CPU_G=$((CPU_G + $(cpu_customer_ph) - g0))
	BYTES_PH=$((BYTES_PH + n))
	xfer_record bulk ph "$BULK_BYTES" "$n" $((e - s)) porthole "$BULK_MIB"

	b0=$(cpu_vendor_os); c0=$(cpu_customer_os)
	s=$(now_ns)
	n=$(os head -c "$BULK_BYTES" /dev/zero | wc -c)
	e=$(now_ns)
	CPU_B=$((CPU_B + $(cpu_vendor_os) - b0))
	CPU_C=$((CPU_C + $(cpu_customer_os) - c0))
	BYTES_OS=$((BYTES_OS + n))
	xfer_record bulk os "$BULK_BYTES" "$n" $((e - s)) "openssh " "$BULK_MIB"
	i=$((i + 1))
done
BULK_PH=$(xfer_median bulk ph); BULK_OS=$(xfer_median bulk os)
CPG_R=$(cpg "$CPU_R" "$BYTES_PH"); CPG_G=$(cpg "$CPU_G" "$BYTES_PH")
CPG_B=$(cpg "$CPU_B" "$BYTES_OS"); CPG_C=$(cpg "$CPU_C" "$BYTES_OS")

note "sftp: get ${SFTP_MIB} MiB x $SFTP_RUNS per path, alternating"
: >"$T/sftp_ph"; : >"$T/sftp_os"; : >"$T/sftp_ph_bad"; : >"$T/sftp_os_bad"
SCPU_R=0; SCPU_G=0; SCPU_B=0; SCPU_C=0; SBYTES_PH=0; SBYTES_OS=0
i=0
while [ "$i" -lt "$SFTP_RUNS" ]; do
	r0=$(cpu_vendor_ph); g0=$(cpu_customer_ph)
	s=$(now_ns); sftp_get ph "$T/files/big.bin"; e=$(now_ns)
	SCPU_R=$((SCPU_R + $(cpu_vendor_ph) - r0))
	SCPU_G=$((SCPU_G + $(cpu_customer_ph) - g0))
	n=$(sftp_check "$T/files/big.bin")
	SBYTES_PH=$((SBYTES_PH + n))
	xfer_record sftp ph "$SFTP_BYTES" "$n" $((e - s)) porthole "$SFTP_MIB"

	b0=$(cpu_vendor_os); c0=$(cpu_customer_os)
	s=$(now_ns); sftp_get os "$T/files/big.bin"; e=$(now_ns)
	SCPU_B=$((SCPU_B + $(cpu_vendor_os) - b0))
	SCPU_C=$((SCPU_C + $(cpu_customer_os) - c0))
	n=$(sftp_check "$T/files/big.bin")
	SBYTES_OS=$((SBYTES_OS + n))
	xfer_record sftp os "$SFTP_BYTES" "$n" $((e - s)) "openssh " "$SFTP_MIB"
	i=$((i + 1))
done
SFTP_PH=$(xfer_median sftp ph); SFTP_OS=$(xfer_median sftp os)
SCPG_R=$(cpg "$SCPU_R" "$SBYTES_PH"); SCPG_G=$(cpg "$SCPU_G" "$SBYTES_PH")
SCPG_B=$(cpg "$SCPU_B" "$SBYTES_OS"); SCPG_C=$(cpg "$SCPU_C" "$SBYTES_OS")

# ---------------------------------------------------- 2. session set-up
: >"$T/rt_ph"; : >"$T/rt_os"
if [ -n "$HYPERFINE" ]; then
	# hyperfine runs one command's runs back to back, so the two paths
	# alternate by rounds, the first path changing from round to round.
	per=$(( (RUNS + 3) / 4 ))
	RT_HOW="hyperfine, 4 rounds of $per runs per path (1 warm-up each)"
	note "set-up: $RT_HOW"
	r=0
	while [ "$r" -lt 4 ]; do
		ph_cmd="ssh -F $T/ssh_config acme-prod true"
		os_cmd="ssh -F $T/ossh_config customer true"
		if [ $((r % 2)) -eq 0 ]; then
			set -- -n porthole "$ph_cmd" -n openssh "$os_cmd"
		else
			set -- -n openssh "$os_cmd" -n porthole "$ph_cmd"
		fi
		"$HYPERFINE" -N --style none --warmup 1 --runs "$per" \
		    --export-json "$T/hf-$r.json" "$@" >>"$T/hyperfine.log" 2>&1 ||
		    die "hyperfine failed: $(tail -n 5 "$T/hyperfine.log")"
		hf_times "$T/hf-$r.json" porthole | awk '{ print $1 * 1e6 }' >>"$T/rt_ph"
		hf_times "$T/hf-$r.json" openssh | awk '{ print $1 * 1e6 }' >>"$T/rt_os"
		r=$((r + 1))
	done
else
	RT_HOW="own loop with \`date +%s%N\`, alternating run by run, 2 warm-up runs each"
	note "set-up: 'true' x $RUNS per path, alternating (2 warm-up each)"
	ph true; os true; ph true; os true
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		s=$(now_ns); ph true || die "porthole true failed"; e=$(now_ns)
		echo $(( (e - s) / 1000 )) >>"$T/rt_ph"
		s=$(now_ns); os true || die "openssh true failed"; e=$(now_ns)
		echo $(( (e - s) / 1000 )) >>"$T/rt_os"
		i=$((i + 1))
	done
fi
RT_N=$(wc -l <"$T/rt_ph")

# Where set-up time goes: one connection at a time under strace, the
# pauses of 30 ms or more in which none of the engineer's ssh processes
# made a system call.  A pause of about 40 ms is the signature of
# Nagle's algorithm waiting for a delayed ACK.
# stalls PATH RUN: prints "COUNT TOTAL-MS".
stalls() {
	strace -f -tt -e trace=read,write,poll,ppoll,select,pselect6 \
	    -o "$T/strace-$1-$2.txt" ssh -F "$T/$3" "$4" true </dev/null ||
	    die "ssh true under strace failed ($1)"
	awk '{
		split($2, hms, ":"); t = hms[1] * 3600 + hms[2] * 60 + hms[3]
		if (NR > 1 && t - p >= 0.030) { n++; ms += (t - p) * 1000 }
		p = t
	    } END { printf "%d %.0f\n", n, ms }' "$T/strace-$1-$2.txt"
}
STALLS_OS=""; STALLS_PH=""
if command -v strace >/dev/null; then
	note "set-up: 3 connections per path under strace"
	: >"$T/stalls_ph"; : >"$T/stalls_os"
	for r in 0 1 2; do
		stalls ph "$r" ssh_config acme-prod >>"$T/stalls_ph"
		stalls os "$r" ossh_config customer >>"$T/stalls_os"
	done
	# stall_cell PATH: "N/N/N (M ms)": counts per run, median total.
	stall_cell() {
		printf '%s (%s ms)' "$(cut -d' ' -f1 "$T/stalls_$1" | paste -sd/)" \
		    "$(cut -d' ' -f2 "$T/stalls_$1" | median)"
	}
	STALLS_OS=$(stall_cell os); STALLS_PH=$(stall_cell ph)
else
	note "strace not found (apt-get install strace): no set-up stall count"
fi
ms() { awk '{ print $1 / 1000 }'; }
RT_PH=$(ms <"$T/rt_ph" | median); RT_OS=$(ms <"$T/rt_os" | median)
RT_PH_LO=$(ms <"$T/rt_ph" | minv); RT_PH_HI=$(ms <"$T/rt_ph" | maxv)
RT_OS_LO=$(ms <"$T/rt_os" | minv); RT_OS_HI=$(ms <"$T/rt_os" | maxv)

# ------------------------------------------------ 3. interactive echo
# echo_run PATH N ROUND: N timed keystrokes appended to $T/echo_PATH.  In
# the first round the session pauses after its warm-up while nodelay.c
# reads TCP_NODELAY off every TCP socket of the processes on the path.
echo_run() {
	hold=$T/hold-$1
	hook=""
	[ "$3" -eq 0 ] && hook="echo \$ECHOLAT_PID >$hold.tmp && mv $hold.tmp $hold && while [ -e $hold ]; do sleep 0.05; done"
	if [ "$1" = ph ]; then
		set -- "$1" "$2" "$3" -r "support@acme-prod:" \
		    ssh -F "$T/ssh_config" -tt acme-prod
	else
		set -- "$1" "$2" "$3" ssh -F "$T/ossh_config" -tt customer cat
	fi
	e_path=$1
	shift 3
	"$T/echolat" -n "$e_n" -w 5 -i "$ECHO_MS" ${hook:+-x "$hook"} "$@" \
	    >>"$T/echo_$e_path" 2>>"$T/echolat-$e_path.log" &
	ECHO_PID=$!
	if [ -n "$hook" ]; then
		wait_file "$hold" 30 || die "echolat ($e_path) did not come up: $(tail -n 3 "$T/echolat-$e_path.log")"
		nodelay_scan "$e_path" "$(cat "$hold")" >"$T/nodelay_$e_path"
		rm -f "$hold"
	fi
	wait "$ECHO_PID" || die "echolat ($e_path) failed: $(tail -n 3 "$T/echolat-$e_path.log")"
	ECHO_PID=""
}
# nodelay_scan PATH ECHOLAT_PID: "ROLE PID COMM LPORT RPORT STATE INODE
# nodelay=X"
# for every TCP socket of every process on PATH.
nodelay_scan() {
	eng=$(tree_pids "$2" | grep -vx "$2")
	if [ "$1" = ph ]; then
		set -- "engineer-ssh:$eng" "relay:$RELAY_PID" \
		    "portholed:$(tree_pids "$GATEWAY_PID")"
	else
		set -- "engineer-ssh:$eng" "bastion-sshd:$(tree_pids "$BASTION_PID")" \
		    "ssh-R:$TUNNEL_PID" "customer-sshd:$(tree_pids "$CUSTOMER_PID")"
	fi
	for rp in "$@"; do
		"$T/nodelay" ${rp#*:} 2>>"$T/nodelay.log" |
		    sed "s/^/${rp%%:*} /"
	done
}
e_n=$(( (ECHO_KEYS + ECHO_ROUNDS - 1) / ECHO_ROUNDS ))
note "echo: $ECHO_ROUNDS rounds of $e_n keystrokes per path, ${ECHO_MS} ms apart, alternating"
: >"$T/echo_ph"; : >"$T/echo_os"
r=0
while [ "$r" -lt "$ECHO_ROUNDS" ]; do
	if [ $((r % 2)) -eq 0 ]; then
		echo_run ph "$e_n" "$r"; echo_run os "$e_n" "$r"
	else
		echo_run os "$e_n" "$r"; echo_run ph "$e_n" "$r"
	fi
	r=$((r + 1))
done
ECHO_N=$(wc -l <"$T/echo_ph")
ECHO_PH_MED=$(ms <"$T/echo_ph" | median); ECHO_OS_MED=$(ms <"$T/echo_os" | median)
ECHO_PH_P99=$(ms <"$T/echo_ph" | pct 99); ECHO_OS_P99=$(ms <"$T/echo_os" | pct 99)
# nd_cell PATH: sockets with TCP_NODELAY off, of those found (each socket
# once, however many descriptors and processes share it).
nd_cell() {
	awk '!seen[$7]++ { n++; if ($NF == "nodelay=0") off++ } END { printf "%d of %d off", off, n }' "$T/nodelay_$1"
}

# Resident memory once the sessions are over.
sleep 2
AFTER_G_RSS=$(tree_rss "$GATEWAY_PID")
AFTER_T_RSS=$(tree_rss "$TUNNEL_PID")
AFTER_R_RSS=$(rss_kb "$RELAY_PID")
AFTER_B_RSS=$(tree_rss "$BASTION_PID")

# -------------------------------------- 4. vendor memory per idle tunnel
if [ "$NTUN" -gt 0 ]; then
	note "idle tunnels: $NTUN to porthole-relay, then $NTUN to the bastion sshd"
	sleep 1
	online0=$(count_lines "$T/relay.log" "cluster bench-")
	r0=$(rss_kb "$RELAY_PID"); rp0=$(pss_kb "$RELAY_PID")
	s=$(now_ns)
	"$T/loadgen" porthole 127.0.0.1 "$RELAY_PORT" "$NTUN" "$T/tunk" bench- \
	    >"$T/loadgen-ph.out" 2>>"$T/loadgen-ph.log" &
	LOADGEN_PID=$!
	wait_for "$T/loadgen-ph.out" "^ready" 300 || die "loadgen (porthole) did not finish"
	wait_count "$T/relay.log" "cluster bench-.* online" $((NTUN - 1 + online0)) 30 ||
	    die "relay did not see $NTUN tunnels"
	TUN_PH_S=$(elapsed_s "$s" "$(now_ns)")
	sleep 3
	r1=$(rss_kb "$RELAY_PID"); rp1=$(pss_kb "$RELAY_PID")
	TUN_PH_RSS=$(( (r1 - r0) / NTUN ))
	TUN_PH_PSS=$(( (rp1 - rp0) / NTUN ))
	TUN_PH_TOTAL=$r1
	kill "$LOADGEN_PID"; wait "$LOADGEN_PID" 2>/dev/null; LOADGEN_PID=""

	sleep 1
	bp=$(tree_pids "$BASTION_PID")
	b0=$(rss_kb $bp); bp0=$(pss_kb $bp); bn0=$(echo "$bp" | wc -l)
	s=$(now_ns)
	"$T/loadgen" openssh 127.0.0.1 "$BASTION_PORT" "$NTUN" \
	    "$T/acme-prod/acme-prod.key" root \
	    >"$T/loadgen-os.out" 2>>"$T/loadgen-os.log" &
	LOADGEN_PID=$!
	wait_for "$T/loadgen-os.out" "^ready" 300 || die "loadgen (openssh) did not finish"
	TUN_OS_S=$(elapsed_s "$s" "$(now_ns)")
	sleep 3
	bp=$(tree_pids "$BASTION_PID")
	b1=$(rss_kb $bp); bp1=$(pss_kb $bp); bn1=$(echo "$bp" | wc -l)
	TUN_OS_RSS=$(( (b1 - b0) / NTUN ))
	TUN_OS_PSS=$(( (bp1 - bp0) / NTUN ))
	TUN_OS_PROCS=$(awk -v a="$bn1" -v b="$bn0" -v n="$NTUN" 'BEGIN { printf "%.1f", (a - b) / n }')
	kill "$LOADGEN_PID"; wait "$LOADGEN_PID" 2>/dev/null; LOADGEN_PID=""
	note "tunnels up in ${TUN_PH_S} s (porthole), ${TUN_OS_S} s (openssh)"
elif [ -z "$TUN_NOTE" ]; then
	TUN_NOTE="skipped (BENCH_TUNNELS=0)"
fi

# ------------------------------------------------------ 6. telemetry
status() { "$CLI_BIN" -f "$CONF" status 2>/dev/null; }
depth() { status | sed -n 's/^spool *\([0-9]*\) records waiting.*/\1/p'; }
uplink() { status | sed -n 's/^uplink *\([a-z]*\).*/\1/p'; }
INTAKE_SOCK=$T/acme-prod/run/intake.sock
# Until the uplink has sent what the earlier benchmarks spooled.
i=0
while [ "$(depth)" != 0 ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done

note "telemetry: $INTAKE_N usage records, $INTAKE_CONNS producers, relay connected"
"$T/intakegen" "$INTAKE_SOCK" "$INTAKE_N" "$INTAKE_CONNS" 256 0 \
    >"$T/intake.out" 2>>"$T/intakegen.log" ||
    die "intakegen failed: $(cat "$T/intake.out" "$T/intakegen.log")"
INTAKE_RATE=$(sed -n 's/.* rate \([0-9]*\)\/s$/\1/p' "$T/intake.out")
note "intake: $(cat "$T/intake.out")"

DRAIN_NOTE=""
if [ "$DRAIN_N" -gt 0 ]; then
	i=0
	while [ "$(depth)" != 0 ] && [ "$i" -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	d=$(depth)
	[ "$d" = 0 ] || note "drain: $d records still waiting from the intake run"
	note "telemetry backlog: relay stopped, $DRAIN_N records into the spool"
	kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
	"$T/intakegen" "$INTAKE_SOCK" "$DRAIN_N" "$INTAKE_CONNS" 256 "$INTAKE_N" \
	    >"$T/fill.out" 2>>"$T/intakegen.log" ||
	    die "intakegen (backlog) failed: $(cat "$T/fill.out" "$T/intakegen.log")"
	FILL_RATE=$(sed -n 's/.* rate \([0-9]*\)\/s$/\1/p' "$T/fill.out")
	note "spooled: $(cat "$T/fill.out")"
	DRAIN_D0=$(depth)
	DRAIN_BYTES=$(du -sk "$T/acme-prod/state/spool" | cut -f1)
	start_relay
	[ "$FAILS" -eq 0 ] || die "the relay did not restart"
	rs=$(now_ns)
	# The drain starts when the uplink opens; the gateway's tunnel comes
	# back after its reconnect back-off.  Timed from the last poll that
	# still saw it down, so the figure errs on the slow side.
	last_down=$rs
	while [ "$(uplink)" != open ]; do
		last_down=$(now_ns)
		[ $(( (last_down - rs) / 1000000000 )) -lt 60 ] ||
		    die "the uplink did not reopen within 60 s"
		sleep 0.05
	done
	DRAIN_WAIT=$(elapsed_s "$rs" "$last_down")
	dr0=$(cpu_vendor_ph); dg0=$(cpu_customer_ph)
	deadline=$(( last_down + DRAIN_TIMEOUT * 1000000000 ))
	while d=$(depth) && [ "$d" != 0 ]; do
		now=$(now_ns)
		if [ "$now" -gt "$deadline" ]; then
			DRAIN_NOTE="stopped after ${DRAIN_TIMEOUT} s with $d of $DRAIN_D0 waiting"
			break
		fi
		sleep 0.1
	done
	de=$(now_ns)
	DRAIN_S=$(elapsed_s "$last_down" "$de")
	# Busy share of each side over the drain: is it CPU or waiting?
	DRAIN_CPU_R=$(awk -v t=$(( $(cpu_vendor_ph) - dr0 )) -v hz="$HZ" -v s="$DRAIN_S" 'BEGIN { printf "%.0f", t / hz / s * 100 }')
	DRAIN_CPU_G=$(awk -v t=$(( $(cpu_customer_ph) - dg0 )) -v hz="$HZ" -v s="$DRAIN_S" 'BEGIN { printf "%.0f", t / hz / s * 100 }')
	DRAIN_DONE=$(( DRAIN_D0 - ${d:-0} ))
	DRAIN_RATE=$(awk -v n="$DRAIN_DONE" -v s="$DRAIN_S" 'BEGIN { printf "%.0f", n / s }')
	note "drain: $DRAIN_DONE records in $DRAIN_S s after the uplink opened ($DRAIN_WAIT s after the relay started)${DRAIN_NOTE:+; $DRAIN_NOTE}"
	# The relay's own count of what it stored, if sqlite3 is at hand.
	DRAIN_STORED=""
	if command -v sqlite3 >/dev/null; then
		DRAIN_STORED=$(sqlite3 "file:$T/relay.db?mode=ro" \
		    "SELECT count(*) FROM records WHERE cluster = 'acme-prod' AND class = 'usage'" 2>/dev/null)
	fi
fi

. "$top_srcdir/tests/bench/bench_report.sh"
exit 0
