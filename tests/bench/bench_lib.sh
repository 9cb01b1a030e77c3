# bench_lib.sh - helpers for tests/bench/bench.sh and sftp_redact.sh
# (sourced after tests/integration/lib.sh): process trees and their
# memory and CPU, statistics over numbers on stdin, ports, the small C
# programs, and the two set-ups compared: porthole and the OpenSSH one.

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

# ------------------------------------------------- the two set-ups
CIPHER=${BENCH_CIPHER:-chacha20-poly1305@openssh.com}
KEX=curve25519-sha256
SSHD=/usr/sbin/sshd
SFTP_SERVER=/usr/lib/openssh/sftp-server
START_NS=$(now_ns)

LOADGEN_PID=""
SLEEP_PID=""
ECHO_PID=""
SFTP_DST=""
bench_cleanup() {
	[ -n "$SLEEP_PID" ] && kill "$SLEEP_PID" 2>/dev/null
	[ -n "$ECHO_PID" ] && kill "$ECHO_PID" 2>/dev/null
	[ -n "$SFTP_DST" ] && rm -f "$SFTP_DST"
	# Clients first, so that the sshd connection processes go away with
	# their sockets; then the daemons (lib.sh's cleanup: PIDS, $T).
	[ -n "$LOADGEN_PID" ] && kill "$LOADGEN_PID" 2>/dev/null
	[ -n "${TUNNEL_PID:-}" ] && kill "$TUNNEL_PID" 2>/dev/null
	[ -n "$LOADGEN_PID" ] && wait "$LOADGEN_PID" 2>/dev/null
	[ -n "${TUNNEL_PID:-}" ] && wait "$TUNNEL_PID" 2>/dev/null
	for p in ${BASTION_PID:-} ${CUSTOMER_PID:-}; do
		for c in $(tree_pids "$p"); do
			[ "$c" != "$p" ] && kill "$c" 2>/dev/null
		done
	done
	if [ -n "${USER_ADDED:-}" ]; then
		sleep 0.5
		userdel "$BENCH_USER" 2>/dev/null
	fi
	cleanup
}

# die TEXT: fail the benchmark saying why, with the tail of each log;
# BENCH_NAME (bench unless set) says which benchmark.
die() {
	echo "${BENCH_NAME:-bench}: $*" >&2
	FAILS=$((FAILS + 1))
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $f (last 15 lines)" >&2
		tail -n 15 "$f" >&2
	done
	exit 1
}
# note TEXT: progress on stderr, with the seconds since the start.
note() { printf '# [%4ds] %s\n' $(( ($(now_ns) - START_NS) / 1000000000 )) "$*" >&2; }

# bench_need: what both set-ups need, or die saying what is missing.
bench_need() {
	[ "$(id -u)" -eq 0 ] || die "run as root (sshd needs it)"
	[ -x "$SSHD" ] || die "$SSHD missing: apt-get install openssh-server"
	[ -x "$SFTP_SERVER" ] || die "$SFTP_SERVER missing: apt-get install openssh-sftp-server"
	[ -x "$RELAY_BIN" ] && [ -x "$GATEWAY_BIN" ] || die "build porthole first"
}

# bench_porthole_conf: acme-prod's porthole.conf (sftp of $T/files, the
# zeros and true commands) and the engineer's ssh_config, after
# make_vendor, make_cluster acme-prod and write_relay_conf.
bench_porthole_conf() {
	mkdir -p "$T/acme-prod/state" "$T/acme-prod/audit" "$T/acme-prod/run"
	cat >"$T/acme-prod/porthole.conf" <<EOC
[gateway]
cluster_id = acme-prod
relay = 127.0.0.1:$RELAY_PORT
relay_host_key = $T/relay_host_key.pub
cluster_key = $T/acme-prod/acme-prod.key
session_host_key = $T/acme-prod/session_host_key
support_ca = $T/ca/support_ca.pub
state_dir = $T/acme-prod/state
audit_dir = $T/acme-prod/audit
run_dir = $T/acme-prod/run
user = nobody
admin_group = root

[remote_access]
enabled = yes
approval = none
engineers = alice
require_ticket = yes
max_sessions = 4
idle_timeout = 15m
max_session = 2h

[commands]
enabled = yes
timeout = 900s
zeros = /usr/bin/head -c {n:int} /dev/zero
true = /bin/true

[files]
enabled = yes
paths = $T/files
EOC
	write_ssh_config
	cat >>"$T/ssh_config" <<EOC
Host *
	Ciphers $CIPHER
	KexAlgorithms $KEX
	LogLevel ERROR
EOC
}

# bench_openssh_up: the OpenSSH set-up a customer would build instead,
# with porthole's keys: bastion sshd, customer sshd, the customer's
# ssh -R tunnel to the bastion; the engineer's ossh_config reaches the
# customer sshd with ssh -J (ProxyJump).  After bench_porthole_conf.
bench_openssh_up() {
	mkdir -p /run/sshd "$T/ossh"
	# The customer's support account: a throwaway system user with
	# /bin/sh, as a customer would set up (root's bash here sources
	# ~/.bashrc for every command sshd runs, which measures the build
	# machine's shell set-up, not ssh).  Removed again at exit.
	BENCH_USER=phbench
	if ! getent passwd "$BENCH_USER" >/dev/null; then
		useradd -r -M -N -d "$T/home" -s /bin/sh -p '*' "$BENCH_USER" ||
		    die "useradd $BENCH_USER failed"
		USER_ADDED=1
	else
		usermod -d "$T/home" "$BENCH_USER"
	fi
	mkdir -p "$T/home"
	chown "$BENCH_USER" "$T/home"
	# sshd reads AuthorizedKeysFile as the user logging in.
	chmod 711 "$T" "$T/ossh"
	BASTION_PORT=$(port)
	CUSTOMER_PORT=$(port)
	FWD_PORT=$(port)
	CA_PUB=$(cat "$T/ca/support_ca.pub")
	# The engineer logs in with the same vendor-CA certificate; the
	# customer's tunnel uses the same key as portholed's; the hosts use
	# the same host keys.
	{
		echo "cert-authority,principals=\"alice\" $CA_PUB"
		echo "restrict,port-forwarding $(cut -d' ' -f1,2 "$T/acme-prod/acme-prod.key.pub") customer tunnel"
	} >"$T/ossh/bastion_authorized_keys"
	echo "cert-authority,principals=\"alice\" $CA_PUB" \
	    >"$T/ossh/customer_authorized_keys"
	chmod 644 "$T/ossh/bastion_authorized_keys" "$T/ossh/customer_authorized_keys"
	write_sshd_conf() {	# NAME PORT HOSTKEY [EXTRA-LINE]
		cat >"$T/ossh/$1.conf" <<EOC
ListenAddress 127.0.0.1:$2
HostKey $3
PidFile none
UsePAM no
StrictModes no
AuthorizedKeysFile $T/ossh/$1_authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers root $BENCH_USER
AllowTcpForwarding yes
GatewayPorts no
X11Forwarding no
PrintMotd no
PrintLastLog no
UseDNS no
MaxStartups 100:30:1000
Ciphers $CIPHER
KexAlgorithms $KEX
LogLevel ERROR
${4:-}
EOC
		"$SSHD" -t -f "$T/ossh/$1.conf" || die "sshd -t $1.conf failed"
	}
	write_sshd_conf bastion "$BASTION_PORT" "$T/relay_host_key"
	write_sshd_conf customer "$CUSTOMER_PORT" "$T/acme-prod/session_host_key" \
	    "Subsystem sftp $SFTP_SERVER"
	"$SSHD" -D -e -f "$T/ossh/bastion.conf" >>"$T/sshd-bastion.log" 2>&1 &
	BASTION_PID=$!
	PIDS="$PIDS $BASTION_PID"
	"$SSHD" -D -e -f "$T/ossh/customer.conf" >>"$T/sshd-customer.log" 2>&1 &
	CUSTOMER_PID=$!
	PIDS="$PIDS $CUSTOMER_PID"
	wait_listen "$BASTION_PORT" || die "bastion sshd did not start"
	wait_listen "$CUSTOMER_PORT" || die "customer sshd did not start"

	{
		echo "[127.0.0.1]:$BASTION_PORT $(cut -d' ' -f1,2 "$T/relay_host_key.pub")"
		echo "[127.0.0.1]:$FWD_PORT $(cut -d' ' -f1,2 "$T/acme-prod/session_host_key.pub")"
	} >>"$T/known_hosts"
	COMMON="	UserKnownHostsFile $T/known_hosts
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	BatchMode yes
	ConnectTimeout 10
	Ciphers $CIPHER
	KexAlgorithms $KEX
	LogLevel ERROR"
	cat >"$T/tunnel_config" <<EOC
Host bastion
	HostName 127.0.0.1
	Port $BASTION_PORT
	User root
	IdentitiesOnly yes
	IdentityFile $T/acme-prod/acme-prod.key
	ExitOnForwardFailure yes
	ServerAliveInterval 30
$COMMON
EOC
	cat >"$T/ossh_config" <<EOC
Host bastion
	HostName 127.0.0.1
	Port $BASTION_PORT
	User root
Host customer
	HostName 127.0.0.1
	Port $FWD_PORT
	User $BENCH_USER
	ProxyJump bastion
Host *
	IdentitiesOnly yes
	IdentityFile $T/eng/alice
	CertificateFile $T/eng/alice-cert.pub
$COMMON
EOC
	# The customer's reverse tunnel, kept open like portholed's.
	ssh -F "$T/tunnel_config" -N -R "127.0.0.1:$FWD_PORT:127.0.0.1:$CUSTOMER_PORT" \
	    bastion </dev/null >>"$T/ssh-tunnel.log" 2>&1 &
	TUNNEL_PID=$!
	wait_listen "$FWD_PORT" || die "ssh -R tunnel did not come up"

}
ph() { ssh -F "$T/ssh_config" acme-prod "$@" </dev/null; }
os() { ssh -F "$T/ossh_config" customer "$@" </dev/null; }
ph_sftp() { sftp -F "$T/ssh_config" -q -b - acme-prod; }
os_sftp() { sftp -F "$T/ossh_config" -q -b - customer; }

# xfer_record KIND PATH WANT GOT NS LABEL MIB: a run that delivered every
# byte counts; a short (corrupted, aborted) one is kept aside and
# reported as such.
xfer_record() {
	if [ "$4" -eq "$3" ]; then
		awk -v m="$7" -v ns="$5" 'BEGIN { print m / (ns / 1e9) }' >>"$T/$1_$2"
		note "$6 run $i: $(tail -n 1 "$T/$1_$2") MiB/s"
	else
		echo "$4" >>"$T/$1_$2_bad"
		note "$6 run $i: FAILED, $4 of $3 bytes arrived"
	fi
}
# xfer_cell KIND PATH RUNS: median MiB/s of the complete runs, and the
# failed ones.
xfer_cell() {
	ok=$(wc -l <"$T/$1_$2"); bad=$(wc -l <"$T/$1_$2_bad")
	if [ "$ok" -gt 0 ]; then
		printf '%s' "$(fmt "$(median <"$T/$1_$2")")"
		[ "$bad" -gt 0 ] && printf ' (%s of %s runs; ' "$ok" "$3"
	else
		printf 'FAILED ('
	fi
	if [ "$bad" -gt 0 ]; then
		printf '%s of %s runs broke off after %s bytes)' "$bad" "$3" \
		    "$(tr '\n' ' ' <"$T/$1_$2_bad" | sed 's/ $//; s/ /, /g')"
	fi
}
xfer_median() { if [ -s "$T/$1_$2" ]; then median <"$T/$1_$2"; else echo 0; fi; }
# sftp_get PATH FILE: fetch FILE with the stock sftp (PATH ph or os) into
# $SFTP_DST.
sftp_get() {
	rm -f "$SFTP_DST"
	echo "get $2 $SFTP_DST" | "$1"_sftp >>"$T/sftp-$1.log" 2>&1
}
# sftp_check EXPECTED: prints the bytes that arrived intact, which is
# fewer than a full count if the copy differs from EXPECTED.
sftp_check() {
	if [ -f "$SFTP_DST" ] && cmp -s "$1" "$SFTP_DST"; then
		stat -c %s "$SFTP_DST"
	elif [ -f "$SFTP_DST" ]; then
		echo "$(( $(stat -c %s "$SFTP_DST") - 1 ))"	# never a full count
	else
		echo 0
	fi
	rm -f "$SFTP_DST"
}
