# bench_report.sh - the table and BENCHMARKS.md, from what
# tests/bench/bench.sh measured (sourced by it at the end).

CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
MEM=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
OSSH_V=$(ssh -V 2>&1)
SSHD_V=$(dpkg-query -W -f '${Version}' openssh-server 2>/dev/null)
SFTPS_V=$(dpkg-query -W -f '${Version}' openssh-sftp-server 2>/dev/null)
LIBSSH_V=$(pkg-config --modversion libssh 2>/dev/null)
LIBSSH_DEB=$(dpkg-query -W -f '${Version}' libssh-4 2>/dev/null)
HF_V=$([ -n "$HYPERFINE" ] && "$HYPERFINE" --version 2>/dev/null)
SQLITE_V=$(dpkg-query -W -f '${Version}' libsqlite3-0 2>/dev/null)
REV=$(git -C "$top_srcdir" rev-parse --short HEAD 2>/dev/null || echo "unknown (not a git checkout)")
# BENCHMARKS.md is this script's own output: its changes do not count.
if [ -n "$(git -C "$top_srcdir" status --porcelain --untracked-files=no -- . ':!BENCHMARKS.md' 2>/dev/null)" ]; then
	REV="$REV + uncommitted changes"
fi
FINISHED=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
TOOK=$(awk -v s="$(elapsed_s "$START_NS" "$(now_ns)")" 'BEGIN { printf "%d min %02d s", s / 60, s % 60 }')
KNOBS=$(env | grep '^BENCH_' | sort | tr '\n' ' ')
if [ -n "${MAKELEVEL:-}" ]; then
	CMDLINE="cd $top_builddir && ${KNOBS}make bench"
else
	CMDLINE="${KNOBS}top_srcdir=$top_srcdir top_builddir=$top_builddir sh $0"
fi

# target VALUE OP LIMIT: "met" or "NOT met" for a figure against a target.
target() {
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
		ok = (op == ">=") ? v >= l : v <= l
		print ok ? "met" : "NOT met"
	}'
}
# rate_cell RATE: "N/s" with thousands separators.
rate_cell() { printf '%s/s' "$(thousands "$1")"; }

row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4"; }
table() {
	echo "| metric | OpenSSH | porthole | ratio (porthole / OpenSSH) |"
	echo "|---|---|---|---|"
	row "1. bulk download, ${BULK_MIB} MiB of zeros from a command, MiB/s (median of $BULK_RUNS; target ratio >= 2)" \
	    "$(xfer_cell bulk os "$BULK_RUNS")" "$(xfer_cell bulk ph "$BULK_RUNS")" \
	    "$( [ "$BULK_PH" = 0 ] && echo n/a || ratio "$BULK_OS" "$BULK_PH")"
	row "1a. vendor-side CPU per GiB, s (bastion sshd tree / porthole-relay)" \
	    "$(fmt "$CPG_B" 2)" "$(fmt "$CPG_R" 2)" "$(ratio "$CPG_B" "$CPG_R")"
	row "1b. customer-side CPU per GiB, s (ssh -R + customer sshd tree / portholed tree)" \
	    "$(fmt "$CPG_C" 2)" "$(fmt "$CPG_G" 2)" "$(ratio "$CPG_C" "$CPG_G")"
	row "1c. sftp get of a ${SFTP_MIB} MiB file, MiB/s (median of $SFTP_RUNS; target ratio >= 2)" \
	    "$(xfer_cell sftp os "$SFTP_RUNS")" "$(xfer_cell sftp ph "$SFTP_RUNS")" \
	    "$( [ "$SFTP_PH" = 0 ] && echo n/a || ratio "$SFTP_OS" "$SFTP_PH")"
	row "1d. sftp: vendor-side CPU per GiB, s" \
	    "$(fmt "$SCPG_B" 2)" "$(fmt "$SCPG_R" 2)" "$(ratio "$SCPG_B" "$SCPG_R")"
	row "1e. sftp: customer-side CPU per GiB, s (customer sshd tree incl. sftp-server + ssh -R / portholed tree)" \
	    "$(fmt "$SCPG_C" 2)" "$(fmt "$SCPG_G" 2)" "$(ratio "$SCPG_C" "$SCPG_G")"
	row "2. session set-up, \`true\` round trip, ms: median (min-max of $RT_N; target ratio <= 1)" \
	    "$(fmt "$RT_OS") ($(fmt "$RT_OS_LO")-$(fmt "$RT_OS_HI"))" \
	    "$(fmt "$RT_PH") ($(fmt "$RT_PH_LO")-$(fmt "$RT_PH_HI"))" \
	    "$(ratio "$RT_OS" "$RT_PH")"
	if [ -n "$STALLS_PH" ]; then
		row "2a. set-up: pauses of 30 ms or more in the engineer's ssh, per connection under strace: count in each of 3 runs (median total)" \
		    "$STALLS_OS" "$STALLS_PH" "-"
	fi
	row "3a. echo latency through a PTY, ms: median of $ECHO_N keystrokes (target ratio <= 1)" \
	    "$(fmt "$ECHO_OS_MED" 2)" "$(fmt "$ECHO_PH_MED" 2)" \
	    "$(ratio "$ECHO_OS_MED" "$ECHO_PH_MED")"
	row "3b. echo latency through a PTY, ms: 99th percentile" \
	    "$(fmt "$ECHO_OS_P99" 2)" "$(fmt "$ECHO_PH_P99" 2)" \
	    "$(ratio "$ECHO_OS_P99" "$ECHO_PH_P99")"
	row "3c. TCP sockets on the keystroke's path with TCP_NODELAY off, as found" \
	    "$(nd_cell os)" "$(nd_cell ph)" "-"
	if [ "$NTUN" -gt 0 ]; then
		row "4a. vendor memory per idle tunnel, N=$NTUN, kB RSS (sshd processes sum / relay delta; target ratio <= 0.05)" \
		    "$TUN_OS_RSS" "$TUN_PH_RSS" "$(ratio "$TUN_OS_RSS" "$TUN_PH_RSS")"
		row "4b. vendor memory per idle tunnel, N=$NTUN, kB PSS" \
		    "$TUN_OS_PSS" "$TUN_PH_PSS" "$(ratio "$TUN_OS_PSS" "$TUN_PH_PSS")"
	else
		row "4. vendor memory per idle tunnel" "-" "-" "$TUN_NOTE"
	fi
	row "5a. customer side idle RSS, kB (ssh -R client / portholed, processes: $IDLE_G_NPROC; target < 10240)" \
	    "$IDLE_T_RSS" "$IDLE_G_RSS" "$(ratio "$IDLE_T_RSS" "$IDLE_G_RSS")"
	row "5b. customer side idle RSS incl. customer sshd listener, kB" \
	    "$IDLE_TC_RSS" "$IDLE_G_RSS" "$(ratio "$IDLE_TC_RSS" "$IDLE_G_RSS")"
	row "5c. customer side idle CPU over ${IDLE} s, ms (ssh -R + customer sshd / portholed)" \
	    "$IDLE_TC_CPU" "$IDLE_G_CPU" "$(ratio "$IDLE_TC_CPU" "$IDLE_G_CPU")"
	row "5d. customer side RSS after metrics 1-3, kB (ssh -R client / portholed)" \
	    "$AFTER_T_RSS" "$AFTER_G_RSS" "$(ratio "$AFTER_T_RSS" "$AFTER_G_RSS")"
	row "5e. vendor side RSS after metrics 1-3, kB (bastion sshd tree / relay)" \
	    "$AFTER_B_RSS" "$AFTER_R_RSS" "$(ratio "$AFTER_B_RSS" "$AFTER_R_RSS")"
	row "6a. telemetry: durable intake, $(thousands "$INTAKE_N") usage records, $INTAKE_CONNS producers, relay connected, records/s (target >= 20,000)" \
	    "no equivalent" "$(rate_cell "$INTAKE_RATE")" \
	    "target $(target "$INTAKE_RATE" ">=" 20000)"
	if [ "$DRAIN_N" -gt 0 ]; then
		row "6b. telemetry: durable intake into the spool, $(thousands "$DRAIN_N") records, relay stopped, records/s" \
		    "no equivalent" "$(rate_cell "$FILL_RATE")" "-"
		row "6c. telemetry: backlog of $(thousands "$DRAIN_D0") records drained to the relay's store, records/s (target >= 50,000)" \
		    "no equivalent" \
		    "$(rate_cell "$DRAIN_RATE") ($(thousands "$DRAIN_DONE") in $(fmt "$DRAIN_S") s; CPU busy: relay ${DRAIN_CPU_R}%, portholed ${DRAIN_CPU_G}%${DRAIN_NOTE:+; $DRAIN_NOTE})" \
		    "target $(target "$DRAIN_RATE" ">=" 50000)"
	else
		row "6b-c. telemetry backlog drain" "-" "-" "skipped (BENCH_DRAIN_RECORDS=0)"
	fi
}

# The TCP_NODELAY state nodelay.c found, one entry per socket (a socket
# shared by processes or descriptors once), each named by what is at its
# other end: a listening port, or the process that owns that end.
nodelay_list() {
	awk -v relay="$RELAY_PORT" -v bastion="$BASTION_PORT" \
	    -v fwd="$FWD_PORT" -v cust="$CUSTOMER_PORT" '
	    BEGIN {
		name[relay] = "porthole-relay"; name[bastion] = "bastion sshd"
		name[fwd] = "the ssh -R port"; name[cust] = "customer sshd"
	    }
	    !seen[$7]++ {
		n++; role[n] = $1; comm[n] = $3; l[n] = $4; r[n] = $5
		on[n] = $NF == "nodelay=1"
		if (!(($4) in name)) owner[$4] = $1
	    }
	    END {
		for (i = 1; i <= n; i++) {
			if (r[i] in name) peer = "to " name[r[i]]
			else if (r[i] in owner) peer = "from " owner[r[i]] \
			    (l[i] in name ? " on " name[l[i]] : "")
			else peer = "port " l[i] " to " r[i]
			printf "%s%s (%s) %s: %s", sep, role[i], comm[i], peer,
			    on[i] ? "on" : "OFF"
			sep = "; "
		}
	    }' "$T/nodelay_$1"
}

echo
table
{
	cat <<EOF
# porthole benchmarks

porthole next to the set-up a customer would build with stock OpenSSH
instead, both on loopback on one machine. Written by \`tests/bench/bench.sh\`;
every figure below is that run's output.

Command: \`$CMDLINE\`,
source revision $REV, started $STARTED, finished $FINISHED ($TOOK).

## Machine

- nproc: $(nproc); CPU: $CPU_MODEL; memory: $MEM
- kernel: $(uname -srm)
- Debian $(cat /etc/debian_version 2>/dev/null)
- OpenSSH (client, sshd, bastion and customer): $OSSH_V; openssh-server $SSHD_V, openssh-sftp-server $SFTPS_V
- libssh $LIBSSH_V (Debian libssh-4 $LIBSSH_DEB), used by portholed, porthole-relay and loadgen; SQLite $SQLITE_V (the relay's store)
- ${HF_V:-hyperfine not installed}
- Other work may run on the machine at the same time; the two paths alternate so that both see it.

## Results

EOF
	table
	cat <<EOF

## The two set-ups

- **OpenSSH**: a bastion \`sshd\` (the vendor side; host key = the relay's),
  a customer \`sshd\` (host key = the cluster's session host key;
  \`Subsystem sftp $SFTP_SERVER\`), and the
  customer's \`ssh -N -R 127.0.0.1:PORT:127.0.0.1:CUSTOMER_SSHD bastion\`
  (cluster key, \`ServerAliveInterval 30\`). The engineer runs
  \`ssh -J root@bastion -p PORT phbench@127.0.0.1 CMD\`, authenticating to
  both sshds with the same vendor-CA certificate (\`cert-authority\` lines).
  phbench is a throwaway system user with \`/bin/sh\` (dash) as its shell,
  so the remote commands run through \`sh -c\`.
- **porthole**: \`porthole-relay\`, \`portholed\` (one tunnel), and the engineer's
  \`ssh -J alice@relay support@acme-prod CMD\` with the diagnostics
  \`zeros = /usr/bin/head -c {n:int} /dev/zero\` and \`true = /bin/true\`,
  and \`[files] paths\` holding the file that sftp fetches.
- Both engineer clients and all OpenSSH hops force \`$CIPHER\` and \`$KEX\`.
  Ciphers the engineer's \`ssh -v\` saw on its two hops: OpenSSH: $NEG_OS;
  porthole: $NEG_PH. The gateway-relay tunnel hop is negotiated by libssh on
  both ends from its defaults (porthole does not let it be configured).

## How each figure is measured

1. \`ssh ... CMD | wc -c\` timed with \`date +%s%N\`; byte count checked.
   1c: \`sftp -b -\` with \`get\` of an incompressible ${SFTP_MIB} MiB file
   (warm in the page cache) into /dev/shm, timed the same way, the copy
   compared with \`cmp\`; porthole serves it from its read-only SFTP server,
   OpenSSH from \`sftp-server\`. The two paths alternate run by run.
   CPU rows: utime+stime+cutime+cstime from \`/proc/PID/stat\` summed over
   each daemon's process tree, before and after each run (finished, reaped
   children included), divided by the GiB that reached the engineer.
   The engineer's own \`ssh\`/\`sftp\` processes are not counted on either side.
2. Wall time of \`ssh ... true\` (full connection: two key exchanges, two
   logins, session, exit status): $RT_HOW.
   porthole runs its \`true\` diagnostic (\`/bin/true\`).
   2a: three more connections per path, each under \`strace -f -tt\`
   (which slows it, so it is not timed); counted are the gaps of 30 ms or
   more between two system calls of the engineer's ssh processes, that
   is, times when the client was waiting for the network and nothing
   else. About 40 ms is Linux's minimum delayed-ACK timeout: a gap of that
   size is a small segment held back by Nagle's algorithm until the peer's
   delayed ACK came.
3. \`tests/bench/echolat.c\` runs \`ssh -tt\` on a new pseudo-terminal,
   waits until ssh has put it in raw mode (and, for porthole, for the
   support shell's prompt), then types one letter every ${ECHO_MS} ms and times
   until it comes back.  On the far side the support shell echoes each
   letter itself (it edits its own command line, as readline does in a
   login shell), while under the customer sshd the pty's line discipline
   echoes for \`cat\`: one process hop fewer. Every 40 letters the line is killed with ^U (not
   timed). $ECHO_ROUNDS sessions per path, alternating, 5 warm-up letters each,
   $ECHO_N letters timed per path in all; median and nearest-rank 99th
   percentile.
   3c: during the first session of each path, \`tests/bench/nodelay.c\`
   borrows every TCP socket of the processes on the path (pidfd_getfd)
   and reads TCP_NODELAY with getsockopt. Found:
   - OpenSSH: $(nodelay_list os).
   - porthole: $(nodelay_list ph).
4. \`tests/bench/loadgen.c\` (libssh client, one process) opens N tunnels:
   to porthole-relay logging in as N clusters listed in relay.conf, each with
   its own key; to the bastion sshd as root with one key, each asking for a
   reverse forward (\`tcpip-forward 127.0.0.1:0\`, as \`ssh -R\`). porthole:
   relay RSS (PSS) after minus before, / N. OpenSSH: RSS (PSS) summed over the
   bastion sshd's process tree after minus before, / N
   (${TUN_OS_PROCS:-?} sshd processes per connection). RSS sums count shared
   pages once per process; PSS divides them among the sharers.
   ${NOFILE_NOTE:+$NOFILE_NOTE. }N tunnels took ${TUN_PH_S:-?} s to come up to the relay,
   ${TUN_OS_S:-?} s to the bastion sshd.
5. With both tunnels up and no session, VmRSS from \`/proc/PID/status\` and
   CPU ticks over ${IDLE} s. portholed is counted with all its processes.
   5d/5e repeat the RSS reading after the bulk, set-up and echo runs.
6. \`tests/bench/intakegen.c\` hands usage records (one hour of one of
   1,000 environments each, no two alike) to the gateway's intake socket
   over $INTAKE_CONNS connections, each keeping up to 256 records unanswered, and
   times until every record is answered; the gateway answers after the
   group commit (fdatasync) that made the record durable.
   6a runs with the relay connected, so the uplink drains while producers
   send. 6b: the relay is stopped and $(thousands "$DRAIN_N") more records are spooled
   (spool: $(( ${DRAIN_BYTES:-0} / 1024 )) MiB on disk). 6c: the relay is started again,
   and \`porthole status\` is polled every 0.1 s; timed from the last poll
   that still showed the uplink down (the tunnel came back ${DRAIN_WAIT:-?} s after
   the relay started, after the gateway's reconnect back-off) to the first
   showing 0 records waiting: every record acknowledged by the relay after
   its SQLite commit. CPU busy: the process's CPU time over the drain
   (portholed: all its processes) divided by the drain's wall time; 100%
   is one core. The relay's store then held $(thousands "${DRAIN_STORED:-0}") usage
   records of acme-prod, of $(thousands $((INTAKE_N + DRAIN_N))) sent in 6a and 6b
   (\`sqlite3\` count of its records table).
EOF
	if [ -f "$top_srcdir/tests/bench/findings.md" ]; then
		echo
		cat "$top_srcdir/tests/bench/findings.md"
	fi
} >"$OUT"
echo
note "written to $OUT"
