#!/bin/sh
# bench.sh - `make bench`: porthole next to the OpenSSH set-up a customer
# would build instead (bastion sshd + `ssh -R` reverse tunnel + customer
# sshd), on loopback, with the same keys and ciphers, and write the table
# to BENCHMARKS.md.  Needs root, openssh-server (/usr/sbin/sshd, never the
# system service), openssh-client and libssh-dev (for tests/bench/loadgen.c).
#
# Knobs (environment): BENCH_BULK_MIB (1024), BENCH_BULK_RUNS (3),
# BENCH_RUNS (20), BENCH_IDLE (60 s), BENCH_TUNNELS (200, 0 = skip),
# BENCH_CIPHER (chacha20-poly1305@openssh.com), BENCH_OUT
# ($top_srcdir/BENCHMARKS.md).  Every figure written to BENCH_OUT is
# measured by this run.
. "$(dirname "$0")/../integration/lib.sh"

BULK_MIB=${BENCH_BULK_MIB:-1024}
BULK_RUNS=${BENCH_BULK_RUNS:-3}
RUNS=${BENCH_RUNS:-20}
IDLE=${BENCH_IDLE:-60}
NTUN=${BENCH_TUNNELS:-200}
CIPHER=${BENCH_CIPHER:-chacha20-poly1305@openssh.com}
KEX=curve25519-sha256
OUT=${BENCH_OUT:-$top_srcdir/BENCHMARKS.md}
SSHD=/usr/sbin/sshd
HZ=$(getconf CLK_TCK)
BULK_BYTES=$((BULK_MIB * 1048576))
STARTED=$(date -u '+%Y-%m-%d %H:%M:%S UTC')

LOADGEN_PID=""
SLEEP_PID=""
bench_cleanup() {
	[ -n "$SLEEP_PID" ] && kill "$SLEEP_PID" 2>/dev/null
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
trap bench_cleanup EXIT

die() {
	echo "bench: $*" >&2
	FAILS=$((FAILS + 1))
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $f (last 15 lines)" >&2
		tail -n 15 "$f" >&2
	done
	exit 1
}
note() { printf '# %s\n' "$*" >&2; }

[ "$(id -u)" -eq 0 ] || die "run as root (sshd needs it)"
[ -x "$SSHD" ] || die "$SSHD missing: apt-get install openssh-server"
[ -x "$RELAY_BIN" ] && [ -x "$GATEWAY_BIN" ] || die "build porthole first"

# ---------------------------------------------------------------- helpers

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
# median / min / max of numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
minv() { sort -g | head -n 1; }
maxv() { sort -g | tail -n 1; }
fmt() { awk -v v="$1" -v d="${2:-1}" 'BEGIN { printf "%.*f", d, v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 == 0) print "n/a"; else printf "%.2fx", b / a }'; }

# distinct free ports
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

# ------------------------------------------------------------- porthole
note "keys and configuration in $T"
make_vendor
PORTS_TAKEN=$RELAY_PORT
make_cluster acme-prod
i=0
while [ "$i" -lt "$NTUN" ]; do
	id=$(printf 'bench-%03d' "$i")
	"$CERTS"/make-cluster-key "$T/tun" "$id" >/dev/null
	printf '\n[cluster %s]\nkey = %s\nlicense = full\n' "$id" \
	    "$T/tun/$id.key.pub" >>"$T/relay_clusters.conf"
	i=$((i + 1))
done
# make-cluster-key puts both files in one directory; loadgen wants
# DIR/ID/ID.key.
i=0
while [ "$i" -lt "$NTUN" ]; do
	id=$(printf 'bench-%03d' "$i")
	mkdir -p "$T/tunk/$id" && cp "$T/tun/$id.key" "$T/tunk/$id/"
	i=$((i + 1))
done
write_relay_conf

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
EOC
write_ssh_config
cat >>"$T/ssh_config" <<EOC
Host *
	Ciphers $CIPHER
	KexAlgorithms $KEX
	LogLevel ERROR
EOC
start_relay
start_gateway acme-prod
[ "$FAILS" -eq 0 ] || die "porthole did not come up"
GATEWAY_PID=$(cat "$T/acme-prod/gateway.pid")

# ------------------------------------------------------------- OpenSSH
mkdir -p /run/sshd "$T/ossh"
# The customer's support account: a throwaway system user with /bin/sh, as
# a customer would set up (root's bash here sources ~/.bashrc for every
# command sshd runs, which measures the build machine's shell set-up, not
# ssh).  Removed again at exit.
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
# The engineer logs in with the same vendor-CA certificate; the customer's
# tunnel uses the same key as portholed's; the hosts use the same host keys.
{
	echo "cert-authority,principals=\"alice\" $CA_PUB"
	echo "restrict,port-forwarding $(cut -d' ' -f1,2 "$T/acme-prod/acme-prod.key.pub") customer tunnel"
} >"$T/ossh/bastion_authorized_keys"
echo "cert-authority,principals=\"alice\" $CA_PUB" \
    >"$T/ossh/customer_authorized_keys"
chmod 644 "$T/ossh/bastion_authorized_keys" "$T/ossh/customer_authorized_keys"
write_sshd_conf() {	# NAME PORT HOSTKEY
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
EOC
	"$SSHD" -t -f "$T/ossh/$1.conf" || die "sshd -t $1.conf failed"
}
write_sshd_conf bastion "$BASTION_PORT" "$T/relay_host_key"
write_sshd_conf customer "$CUSTOMER_PORT" "$T/acme-prod/session_host_key"
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

ph() { ssh -F "$T/ssh_config" acme-prod "$@" </dev/null; }
os() { ssh -F "$T/ossh_config" customer "$@" </dev/null; }

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

# ------------------------------------------- 3. idle footprint (customer)
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
IDLE_T_CPU=$(( (t1 - t0) * 1000 / HZ ))
IDLE_TC_CPU=$(( (t1 - t0 + c1 - c0) * 1000 / HZ ))

# ------------------------------------------------------ 1. bulk download
note "bulk: ${BULK_MIB} MiB x $BULK_RUNS per path, alternating"
: >"$T/bulk_ph"; : >"$T/bulk_os"; : >"$T/bulk_ph_bad"; : >"$T/bulk_os_bad"
# bulk_record PATH BYTES NS LABEL: a run that delivered every byte counts;
# a short (corrupted, aborted) one is kept aside and reported as such.
bulk_record() {
	if [ "$2" -eq "$BULK_BYTES" ]; then
		awk -v m="$BULK_MIB" -v ns="$3" 'BEGIN { print m / (ns / 1e9) }' >>"$T/bulk_$1"
		note "$4 run $i: $(tail -n 1 "$T/bulk_$1") MiB/s"
	else
		echo "$2" >>"$T/bulk_$1_bad"
		note "$4 run $i: FAILED, $2 of $BULK_BYTES bytes arrived"
	fi
}
CPU_R=0; CPU_G=0; CPU_B=0; CPU_C=0; BYTES_PH=0; BYTES_OS=0
i=0
while [ "$i" -lt "$BULK_RUNS" ]; do
	r0=$(tree_cpu "$RELAY_PID"); g0=$(tree_cpu "$GATEWAY_PID")
	s=$(now_ns)
	n=$(ph zeros "$BULK_BYTES" | wc -c)
	e=$(now_ns)
	CPU_R=$((CPU_R + $(tree_cpu "$RELAY_PID") - r0))
	CPU_G=$((CPU_G + $(tree_cpu "$GATEWAY_PID") - g0))
	BYTES_PH=$((BYTES_PH + n))
	bulk_record ph "$n" $((e - s)) porthole

	b0=$(tree_cpu "$BASTION_PID"); c0=$(( $(tree_cpu "$CUSTOMER_PID") + $(tree_cpu "$TUNNEL_PID") ))
	s=$(now_ns)
	n=$(os head -c "$BULK_BYTES" /dev/zero | wc -c)
	e=$(now_ns)
	CPU_B=$((CPU_B + $(tree_cpu "$BASTION_PID") - b0))
	CPU_C=$((CPU_C + $(tree_cpu "$CUSTOMER_PID") + $(tree_cpu "$TUNNEL_PID") - c0))
	BYTES_OS=$((BYTES_OS + n))
	bulk_record os "$n" $((e - s)) "openssh "
	i=$((i + 1))
done
# bulk_cell PATH: median MiB/s of the complete runs, and the failed ones.
bulk_cell() {
	ok=$(wc -l <"$T/bulk_$1"); bad=$(wc -l <"$T/bulk_$1_bad")
	if [ "$ok" -gt 0 ]; then
		printf '%s' "$(fmt "$(median <"$T/bulk_$1")")"
		[ "$bad" -gt 0 ] && printf ' (%s of %s runs; ' "$ok" "$BULK_RUNS"
	else
		printf 'FAILED ('
	fi
	if [ "$bad" -gt 0 ]; then
		printf '%s of %s runs broke off after %s bytes)' "$bad" "$BULK_RUNS" \
		    "$(tr '\n' ' ' <"$T/bulk_$1_bad" | sed 's/ $//; s/ /, /g')"
	fi
}
BULK_PH=$( [ -s "$T/bulk_ph" ] && median <"$T/bulk_ph" || echo 0)
BULK_OS=$( [ -s "$T/bulk_os" ] && median <"$T/bulk_os" || echo 0)
# CPU seconds per GiB actually delivered to the engineer
cpg() { awk -v t="$1" -v hz="$HZ" -v b="$2" 'BEGIN { print (b > 0) ? t / hz / (b / 1073741824) : 0 }'; }
CPG_R=$(cpg "$CPU_R" "$BYTES_PH"); CPG_G=$(cpg "$CPU_G" "$BYTES_PH")
CPG_B=$(cpg "$CPU_B" "$BYTES_OS"); CPG_C=$(cpg "$CPU_C" "$BYTES_OS")

# ---------------------------------------------------- 2. session set-up
note "set-up: 'true' x $RUNS per path, alternating (2 warm-up each)"
ph true; os true; ph true; os true
: >"$T/rt_ph"; : >"$T/rt_os"
i=0
while [ "$i" -lt "$RUNS" ]; do
	s=$(now_ns); ph true || die "porthole true failed"; e=$(now_ns)
	echo $(( (e - s) / 1000 )) >>"$T/rt_ph"
	s=$(now_ns); os true || die "openssh true failed"; e=$(now_ns)
	echo $(( (e - s) / 1000 )) >>"$T/rt_os"
	i=$((i + 1))
done
ms() { awk '{ print $1 / 1000 }'; }
RT_PH=$(ms <"$T/rt_ph" | median); RT_OS=$(ms <"$T/rt_os" | median)
RT_PH_LO=$(ms <"$T/rt_ph" | minv); RT_PH_HI=$(ms <"$T/rt_ph" | maxv)
RT_OS_LO=$(ms <"$T/rt_os" | minv); RT_OS_HI=$(ms <"$T/rt_os" | maxv)

# Resident memory once the sessions are over (after 1 GiB x 3 went through).
sleep 2
AFTER_G_RSS=$(tree_rss "$GATEWAY_PID")
AFTER_T_RSS=$(tree_rss "$TUNNEL_PID")
AFTER_R_RSS=$(rss_kb "$RELAY_PID")
AFTER_B_RSS=$(tree_rss "$BASTION_PID")

# -------------------------------------- 4. vendor memory per idle tunnel
TUN_NOTE=""
if [ "$NTUN" -gt 0 ]; then
	if ! cc -O2 -o "$T/loadgen" "$top_srcdir/tests/bench/loadgen.c" \
	    $(pkg-config --cflags --libs libssh) 2>"$T/loadgen-cc.log"; then
		TUN_NOTE="loadgen did not build (libssh-dev?)"
		NTUN=0
	fi
fi
if [ "$NTUN" -gt 0 ]; then
	note "idle tunnels: $NTUN to porthole-relay, then $NTUN to the bastion sshd"
	sleep 1
	online0=$(count_lines "$T/relay.log" "cluster bench-")
	r0=$(rss_kb "$RELAY_PID"); rp0=$(pss_kb "$RELAY_PID")
	"$T/loadgen" porthole 127.0.0.1 "$RELAY_PORT" "$NTUN" "$T/tunk" bench- \
	    >"$T/loadgen-ph.out" 2>>"$T/loadgen-ph.log" &
	LOADGEN_PID=$!
	wait_for "$T/loadgen-ph.out" "^ready" 300 || die "loadgen (porthole) did not finish"
	wait_count "$T/relay.log" "cluster bench-.* online" $((NTUN - 1 + online0)) 30 ||
	    die "relay did not see $NTUN tunnels"
	sleep 3
	r1=$(rss_kb "$RELAY_PID"); rp1=$(pss_kb "$RELAY_PID")
	TUN_PH_RSS=$(( (r1 - r0) / NTUN ))
	TUN_PH_PSS=$(( (rp1 - rp0) / NTUN ))
	TUN_PH_TOTAL=$r1
	kill "$LOADGEN_PID"; wait "$LOADGEN_PID" 2>/dev/null; LOADGEN_PID=""

	sleep 1
	bp=$(tree_pids "$BASTION_PID")
	b0=$(rss_kb $bp); bp0=$(pss_kb $bp); bn0=$(echo "$bp" | wc -l)
	"$T/loadgen" openssh 127.0.0.1 "$BASTION_PORT" "$NTUN" \
	    "$T/acme-prod/acme-prod.key" root \
	    >"$T/loadgen-os.out" 2>>"$T/loadgen-os.log" &
	LOADGEN_PID=$!
	wait_for "$T/loadgen-os.out" "^ready" 300 || die "loadgen (openssh) did not finish"
	sleep 3
	bp=$(tree_pids "$BASTION_PID")
	b1=$(rss_kb $bp); bp1=$(pss_kb $bp); bn1=$(echo "$bp" | wc -l)
	TUN_OS_RSS=$(( (b1 - b0) / NTUN ))
	TUN_OS_PSS=$(( (bp1 - bp0) / NTUN ))
	TUN_OS_PROCS=$(awk -v a="$bn1" -v b="$bn0" -v n="$NTUN" 'BEGIN { printf "%.1f", (a - b) / n }')
	kill "$LOADGEN_PID"; wait "$LOADGEN_PID" 2>/dev/null; LOADGEN_PID=""
elif [ -z "$TUN_NOTE" ]; then
	TUN_NOTE="skipped (BENCH_TUNNELS=0)"
fi

# ------------------------------------------------------------- report
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
MEM=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
OSSH_V=$(ssh -V 2>&1)
SSHD_V=$(dpkg-query -W -f '${Version}' openssh-server 2>/dev/null)
LIBSSH_V=$(pkg-config --modversion libssh 2>/dev/null)
LIBSSH_DEB=$(dpkg-query -W -f '${Version}' libssh-4 2>/dev/null)
REV=$(git -C "$top_srcdir" rev-parse --short HEAD 2>/dev/null || echo "unknown (not a git checkout)")
if [ -n "$(git -C "$top_srcdir" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	REV="$REV + uncommitted changes"
fi
FINISHED=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
KNOBS=$(env | grep '^BENCH_' | sort | tr '\n' ' ')
if [ -n "${MAKELEVEL:-}" ]; then
	CMDLINE="cd $top_builddir && ${KNOBS}make bench"
else
	CMDLINE="${KNOBS}top_srcdir=$top_srcdir top_builddir=$top_builddir sh $0"
fi

row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4"; }
table() {
	echo "| metric | OpenSSH | porthole | ratio (porthole / OpenSSH) |"
	echo "|---|---|---|---|"
	row "1. bulk download, ${BULK_MIB} MiB of zeros, MiB/s (median of $BULK_RUNS)" \
	    "$(bulk_cell os)" "$(bulk_cell ph)" \
	    "$( [ "$BULK_PH" = 0 ] && echo n/a || ratio "$BULK_OS" "$BULK_PH")"
	row "1a. vendor-side CPU per GiB, s (bastion sshd tree / porthole-relay)" \
	    "$(fmt "$CPG_B" 2)" "$(fmt "$CPG_R" 2)" "$(ratio "$CPG_B" "$CPG_R")"
	row "1b. customer-side CPU per GiB, s (ssh -R + customer sshd tree / portholed tree)" \
	    "$(fmt "$CPG_C" 2)" "$(fmt "$CPG_G" 2)" "$(ratio "$CPG_C" "$CPG_G")"
	row "2. session set-up, \`true\` round trip, ms: median (min-max of $RUNS)" \
	    "$(fmt "$RT_OS") ($(fmt "$RT_OS_LO")-$(fmt "$RT_OS_HI"))" \
	    "$(fmt "$RT_PH") ($(fmt "$RT_PH_LO")-$(fmt "$RT_PH_HI"))" \
	    "$(ratio "$RT_OS" "$RT_PH")"
	row "3a. customer side idle RSS, kB (ssh -R client / portholed, processes: $IDLE_G_NPROC)" \
	    "$IDLE_T_RSS" "$IDLE_G_RSS" "$(ratio "$IDLE_T_RSS" "$IDLE_G_RSS")"
	row "3b. customer side idle RSS incl. customer sshd listener, kB" \
	    "$IDLE_TC_RSS" "$IDLE_G_RSS" "$(ratio "$IDLE_TC_RSS" "$IDLE_G_RSS")"
	row "3c. customer side idle CPU over ${IDLE} s, ms (ssh -R + customer sshd / portholed)" \
	    "$IDLE_TC_CPU" "$IDLE_G_CPU" "$(ratio "$IDLE_TC_CPU" "$IDLE_G_CPU")"
	row "3d. customer side RSS after metrics 1-2, kB (ssh -R client / portholed)" \
	    "$AFTER_T_RSS" "$AFTER_G_RSS" "$(ratio "$AFTER_T_RSS" "$AFTER_G_RSS")"
	row "3e. vendor side RSS after metrics 1-2, kB (bastion sshd tree / relay)" \
	    "$AFTER_B_RSS" "$AFTER_R_RSS" "$(ratio "$AFTER_B_RSS" "$AFTER_R_RSS")"
	if [ "$NTUN" -gt 0 ]; then
		row "4a. vendor memory per idle tunnel, N=$NTUN, kB RSS (sshd processes sum / relay delta)" \
		    "$TUN_OS_RSS" "$TUN_PH_RSS" "$(ratio "$TUN_OS_RSS" "$TUN_PH_RSS")"
		row "4b. vendor memory per idle tunnel, N=$NTUN, kB PSS" \
		    "$TUN_OS_PSS" "$TUN_PH_PSS" "$(ratio "$TUN_OS_PSS" "$TUN_PH_PSS")"
	else
		row "4. vendor memory per idle tunnel" "-" "-" "$TUN_NOTE"
	fi
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
source revision $REV, started $STARTED, finished $FINISHED.

## Machine

- nproc: $(nproc); CPU: $CPU_MODEL; memory: $MEM
- kernel: $(uname -srm)
- Debian $(cat /etc/debian_version 2>/dev/null)
- OpenSSH (client, sshd, bastion and customer): $OSSH_V; openssh-server $SSHD_V
- libssh $LIBSSH_V (Debian libssh-4 $LIBSSH_DEB), used by portholed, porthole-relay and loadgen

## Results

EOF
	table
	cat <<EOF

## The two set-ups

- **OpenSSH**: a bastion \`sshd\` (the vendor side; host key = the relay's),
  a customer \`sshd\` (host key = the cluster's session host key), and the
  customer's \`ssh -N -R 127.0.0.1:PORT:127.0.0.1:CUSTOMER_SSHD bastion\`
  (cluster key, \`ServerAliveInterval 30\`). The engineer runs
  \`ssh -J root@bastion -p PORT phbench@127.0.0.1 CMD\`, authenticating to
  both sshds with the same vendor-CA certificate (\`cert-authority\` lines).
  phbench is a throwaway system user with \`/bin/sh\` (dash) as its shell,
  so the remote commands run through \`sh -c\`.
- **porthole**: \`porthole-relay\`, \`portholed\` (one tunnel), and the engineer's
  \`ssh -J alice@relay support@acme-prod CMD\` with the diagnostics
  \`zeros = /usr/bin/head -c {n:int} /dev/zero\` and \`true = /bin/true\`.
- Both engineer clients and all OpenSSH hops force \`$CIPHER\` and \`$KEX\`.
  Ciphers the engineer's \`ssh -v\` saw on its two hops: OpenSSH: $NEG_OS;
  porthole: $NEG_PH. The gateway-relay tunnel hop is negotiated by libssh on
  both ends from its defaults (porthole does not let it be configured).

## How each figure is measured

1. \`ssh ... CMD | wc -c\` timed with \`date +%s%N\`; byte count checked.
   The two paths alternate run by run. 1a/1b: utime+stime+cutime+cstime
   from \`/proc/PID/stat\` summed over each daemon's process tree, before and
   after each run (finished, reaped children included), divided by the GiB
   that reached the engineer.
   The engineer's own \`ssh\` processes are not counted on either side.
2. Wall time of \`ssh ... true\` (full connection: two key exchanges, two
   logins, session, exit status), $RUNS runs each, alternating, after two
   warm-up runs each; own loop with \`date +%s%N\`.
3. With both tunnels up and no session, VmRSS from \`/proc/PID/status\` and
   CPU ticks over ${IDLE} s. portholed is counted with all its processes.
   3d/3e repeat the RSS reading after the bulk and set-up runs.
4. \`tests/bench/loadgen.c\` (libssh client, one process) opens N tunnels:
   to porthole-relay logging in as N clusters listed in relay.conf, each with
   its own key; to the bastion sshd as root with one key, each asking for a
   reverse forward (\`tcpip-forward 127.0.0.1:0\`, as \`ssh -R\`). porthole:
   relay RSS (PSS) after minus before, / N. OpenSSH: RSS (PSS) summed over the
   bastion sshd's process tree after minus before, / N
   (${TUN_OS_PROCS:-?} sshd processes per connection). RSS sums count shared
   pages once per process; PSS divides them among the sharers.
EOF
	if [ -f "$top_srcdir/tests/bench/findings.md" ]; then
		echo
		cat "$top_srcdir/tests/bench/findings.md"
	fi
} >"$OUT"
echo
note "written to $OUT"
exit 0
