# lib.sh - shared set-up for porthole's integration tests.
#
# Each test gets a fresh directory with throwaway keys made by the certs/
# scripts, a relay and a gateway on loopback ports, and an OpenSSH client
# configuration an engineer would write: ProxyJump through the relay,
# a certificate from the vendor CA, strict host key checking.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
RELAY_BIN=$top_builddir/relay/porthole-relay
GATEWAY_BIN=$top_builddir/gateway/portholed
CLI_BIN=$top_builddir/cli/porthole
CERTS=$top_srcdir/certs

T=$(mktemp -d "${TMPDIR:-/tmp}/porthole-test.XXXXXX")
PIDS=""
FAILS=0
TESTNAME=$(basename "$0" .sh)

cleanup() {
	stop_all
	if [ "$FAILS" -ne 0 ] || [ -n "${KEEP:-}" ]; then
		echo "# test directory kept: $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*"
	FAILS=$((FAILS + 1))
}
pass() {
	echo "ok: $*"
}
# A daemon the test stopped itself (stop_gateway, a relay killed and
# started again) is long gone by the end, and its pid may belong to
# another test's process by then (pid_max is often 32768, and make check
# runs tests side by side): only this shell's own children are killed.
stop_all() {
	for p in $PIDS; do
		[ "$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)" = "$$" ] &&
		    kill "$p" 2>/dev/null
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null
	done
	PIDS=""
}

finish() {
	# Stop the daemons first: sanitizers report at exit.
	stop_all
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		if grep -q "ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer" "$f"; then
			fail "sanitizer report in $(basename "$f")"
		fi
	done
	if [ "$FAILS" -ne 0 ]; then
		echo "$TESTNAME: $FAILS check(s) failed"
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			echo "--- $f (last 30 lines)"
			tail -n 30 "$f"
		done
		exit 1
	fi
	exit 0
}

# A TCP port on 127.0.0.1 that nothing uses now, below Linux's ephemeral
# range (32768-60999) so that no outgoing connection can be holding it.
free_port() {
	while :; do
		p=$(( (($$ * 7919) + $(od -An -N2 -tu2 /dev/urandom)) % 20000 + 12000 ))
		if ! ss -Htan "sport = :$p" | grep -q .; then
			echo "$p"
			return
		fi
	done
}

# listed_id CONF LIST STATE: wait until `porthole LIST` (sessions,
# actions) has a row in STATE, and print the first one's id.
listed_id() {
	n=100
	while [ "$n" -gt 0 ]; do
		id=$("$CLI_BIN" -f "$1" "$2" 2>/dev/null |
		    awk -v st="$3" '$2 == st { print $1 }' | head -n 1)
		[ -n "$id" ] && { echo "$id"; return 0; }
		sleep 0.1; n=$((n - 1))
	done
	return 1
}

# wait_for FILE PATTERN [SECONDS]: until FILE has a line matching PATTERN.
wait_for() {
	n=$(( ${3:-10} * 10 ))
	while [ "$n" -gt 0 ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# spool_depth ID: the records waiting in gateway ID's spool, as
# `porthole status` shows them.
spool_depth() {
	"$CLI_BIN" -f "$T/$1/porthole.conf" status 2>/dev/null |
	    sed -n 's/^spool *\([0-9]*\) records waiting.*/\1/p'
}

# usage_records FIRST COUNT [NAME]: usage records for environments
# NAME-FIRST.. (env- unless named), one host unit each, hour 09:00 of
# 2026-11-24, on stdout.
usage_records() {
	awk -v f="$1" -v n="$2" -v p="${3:-env}" 'BEGIN { for (i = f; i < f + n; i++)
	    printf "{\"hour\":\"2026-11-24T09:00:00Z\",\"environment\":\"%s-%05d\",\"units\":{\"host_units\":1}}\n", p, i }'
}

# audit_failing ENGINEER-PID: while gateway acme-prod cannot write its
# audit log, the engineer's running session must end and porthole status
# must say so.
audit_failing() {
	n=50
	while kill -0 "$1" 2>/dev/null && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
	! kill -0 "$1" 2>/dev/null && pass "the running session is ended" ||
	    fail "the running session goes on without an audit log"
	"$CLI_BIN" -f "$T/acme-prod/porthole.conf" status >"$T/status.out" 2>&1
	grep -q "^audit log      FAILING" "$T/status.out" &&
	    pass "porthole status shows the audit failure" ||
	    fail "status: $(cat "$T/status.out")"
}

# audit_resumed: once it can write again, gateway acme-prod records that
# and takes sessions again, without a restart.
audit_resumed() {
	wait_for "$T/acme-prod/audit/audit.log" '"type":"audit_resumed"' 10 &&
	    pass "writing resumes and is recorded" || fail "no audit_resumed"
	out=$(essh acme-prod status 2>/dev/null)
	[ "$out" = "cluster acme-prod is healthy" ] &&
	    "$CLI_BIN" -f "$T/acme-prod/porthole.conf" status | grep -q "^audit log      ok" &&
	    pass "sessions are accepted again" || fail "after resume: '$out'"
}

# count_lines FILE PATTERN
count_lines() {
	n=$(grep -c -- "$2" "$1" 2>/dev/null)
	echo "${n:-0}"
}

# wait_count FILE PATTERN N [SECONDS]: until more than N lines match.
wait_count() {
	n=$(( ${4:-10} * 10 ))
	while [ "$n" -gt 0 ]; do
		[ "$(count_lines "$1" "$2")" -gt "$3" ] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# diag_pids CMDLINE-PREFIX: the live processes with this command line
# beneath one of this test's gateways. Tests run in parallel under make
# check, and another test's diagnostic must not count.
diag_pids() {
	gws=$(cat "$T"/*/gateway.pid 2>/dev/null)
	for d in /proc/[0-9]*; do
		c=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null)
		case $c in
		"$1"*)
			alive "${d#/proc/}" && beneath_gateway "${d#/proc/}" "$gws" &&
			    echo "${d#/proc/}" ;;
		esac
	done
}

# running CMDLINE-PREFIX: is such a process alive beneath our gateways?
running() {
	[ -n "$(diag_pids "$1")" ]
}

# alive PID...: is any of these processes alive (a zombie is not)? Once
# found beneath a gateway, a process is followed by its pid, so one that
# escaped its session (reparented to init) still counts.
alive() {
	for p in "$@"; do
		st=$(awk '/^State:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		[ -n "$st" ] && [ "$st" != Z ] && return 0
	done
	return 1
}

# gone SECONDS PID...: wait until none of these processes is alive.
gone() {
	n=$(( $1 * 10 )); shift
	while [ "$n" -gt 0 ] && alive "$@"; do sleep 0.1; n=$((n - 1)); done
	! alive "$@"
}

# beneath_gateway PID "GATEWAY-PIDS": does PID descend from one of them?
beneath_gateway() {
	p=$1; depth=0
	while [ "$p" -gt 1 ] && [ $depth -lt 16 ]; do
		for g in $2; do [ "$p" = "$g" ] && return 0; done
		p=$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		[ -n "$p" ] || return 1
		depth=$((depth + 1))
	done
	return 1
}

# Vendor side: CA, relay host key, an engineer certificate for alice.
make_vendor() {
	"$CERTS"/porthole-make-ca "$T/ca" >/dev/null
	"$CERTS"/porthole-make-host-key "$T/relay_host_key" relay >/dev/null
	mkdir -p "$T/eng"
	"$CERTS"/porthole-issue-engineer -c "$T/ca/support_ca" -o "$T/eng" alice \
	    SUP-1234 +1h >/dev/null
	RELAY_PORT=$(free_port)
	: >"$T/known_hosts"
	echo "[127.0.0.1]:$RELAY_PORT $(cut -d' ' -f1,2 "$T/relay_host_key.pub")" \
	    >>"$T/known_hosts"
	: >"$T/relay_clusters.conf"
}

# make_cluster ID: the cluster's tunnel key and session host key.
make_cluster() {
	mkdir -p "$T/$1"
	"$CERTS"/porthole-make-cluster-key "$T/$1" "$1" >/dev/null
	"$CERTS"/porthole-make-host-key "$T/$1/session_host_key" "$1" >/dev/null
	echo "$1 $(cut -d' ' -f1,2 "$T/$1/session_host_key.pub")" \
	    >>"$T/known_hosts"
	cat >>"$T/relay_clusters.conf" <<EOC

[cluster $1]
key = $T/$1/$1.key.pub
license = ${LICENSE:-full}
EOC
}

write_relay_conf() {
	cat >"$T/relay.conf" <<EOC
[relay]
listen = 127.0.0.1:$RELAY_PORT
host_key = $T/relay_host_key
support_ca = $T/ca/support_ca.pub
database = ${RELAY_DB:-$T/relay.db}
run_dir = ${RELAY_RUN_DIR:-$T/relay-run}
engineers = *
EOC
	cat "$T/relay_clusters.conf" >>"$T/relay.conf"
}

# write_gateway_conf ID [EXTRA-INI-FILE]: a gateway config with the
# test's grants (remote access and diagnostics on, approval off).
write_gateway_conf() {
	id=$1
	P=$T/$id/product
	mkdir -p "$P/log" "$P/etc" "$P/config"
	[ -f "$P/config/cluster.ini" ] ||
	    printf '# product settings\njvm.heap = 2g\ningest.queue_size = 1000\nsecret.token = s3cr3t\n' \
	    >"$P/config/cluster.ini"
	cat >"$T/$id/porthole.conf" <<EOC
[gateway]
cluster_id = $id
relay = 127.0.0.1:$RELAY_PORT
relay_host_key = $T/relay_host_key.pub
cluster_key = $T/$id/$id.key
session_host_key = $T/$id/session_host_key
support_ca = $T/ca/support_ca.pub
state_dir = $T/$id/state
audit_dir = $T/$id/audit
run_dir = $T/$id/run
user = nobody
seal_every = ${SEAL_EVERY:-100}
audit_rotate = ${AUDIT_ROTATE:-64M}
seal_interval = ${SEAL_INTERVAL:-5m}
admin_group = ${ADMIN_GROUP:-root}

[remote_access]
enabled = ${RA_ENABLED:-yes}
approval = ${APPROVAL:-none}
engineers = ${ENGINEERS:-alice, bob}
require_ticket = ${REQUIRE_TICKET:-yes}
max_sessions = ${MAX_SESSIONS:-4}
idle_timeout = ${IDLE_TIMEOUT:-15m}
max_session = ${MAX_SESSION:-2h}
${EXPIRES:+expires = $EXPIRES}

[commands]
enabled = ${COMMANDS_ENABLED:-yes}
timeout = ${CMD_TIMEOUT:-10s}
status = /bin/echo cluster $id is healthy
greet = /bin/echo hello {who:word}
lines = /usr/bin/head -c {n:int} /dev/zero
fail = /bin/false
sleepy = /bin/sleep {s:int}
${EXTRA_COMMANDS:-}

[files]
enabled = ${FILES_ENABLED:-no}
paths = ${FILE_PATHS:-$P/log, $P/etc}
deny = *.key, *.pem, secret*

[forward]
enabled = ${FORWARD_ENABLED:-no}
targets = ${FORWARD_TARGETS:-127.0.0.1:1}

[settings]
enabled = ${SETTINGS_ENABLED:-no}
file = $P/config/cluster.ini
keys = jvm.heap, ingest.queue_size
EOC
}

# start_relay [NAME]: start relay NAME (default relay: relay.conf, its
# log relay.log); its pid in RELAY_PID.
start_relay() {
	"$RELAY_BIN" -f "$T/${1:-relay}.conf" -d >>"$T/${1:-relay}.log" 2>&1 &
	RELAY_PID=$!
	PIDS="$PIDS $RELAY_PID"
	wait_for "$T/${1:-relay}.log" "listening on" 10 ||
	    { fail "${1:-relay} did not start"; finish; }
}

# start_gateway ID: start it and wait until its tunnel is up.
start_gateway() {
	# The customer initialises the audit log once and keeps the key.
	if [ ! -f "$T/$1/state/audit.key" ]; then
		"$CLI_BIN" -f "$T/$1/porthole.conf" audit init \
		    >"$T/$1/audit.k0" 2>/dev/null ||
		    fail "porthole audit init failed"
	fi
	before=$(count_lines "$T/relay.log" "cluster $1 online")
	"$GATEWAY_BIN" -f "$T/$1/porthole.conf" -d >>"$T/gateway-$1.log" 2>&1 &
	echo $! >"$T/$1/gateway.pid"
	PIDS="$PIDS $!"
	wait_count "$T/relay.log" "cluster $1 online" "$before" 10 ||
	    fail "gateway $1 did not connect"
}

# stop_gateway ID
stop_gateway() {
	pid=$(cat "$T/$1/gateway.pid")
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# The engineer's OpenSSH client configuration.
write_ssh_config() {
	cat >"$T/ssh_config" <<EOC
Host relay
	HostName 127.0.0.1
	Port $RELAY_PORT
	User ${ENGINEER:-alice}
Host * !relay
	ProxyJump relay
	User support
Host *
	IdentitiesOnly yes
	IdentityFile $T/eng/${ENGINEER:-alice}
	CertificateFile $T/eng/${ENGINEER:-alice}-cert.pub
	UserKnownHostsFile $T/known_hosts
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	BatchMode yes
	ConnectTimeout 10
	LogLevel INFO
EOC
}

# essh HOST [COMMAND...]: ssh as the engineer, through the relay.
essh() {
	ssh -F "$T/ssh_config" "$@" </dev/null
}

# One standard setup: a relay and one gateway for acme-prod.
standard_setup() {
	make_vendor
	make_cluster acme-prod
	write_relay_conf
	write_gateway_conf acme-prod
	write_ssh_config
	start_relay
	start_gateway acme-prod
}

# msg_answered ID: acme-prod's answer to message ID, as the relay keeps it
# in ${DB:-$T/relay.db}; wait_msg_answer ID [SECONDS] waits for one.
msg_answered() {
	sqlite3 "${DB:-$T/relay.db}" "SELECT result FROM deliveries WHERE message_id = $1 AND cluster = 'acme-prod' AND acked <> 0"
}
wait_msg_answer() {
	n=$(( ${2:-10} * 10 ))
	while [ "$n" -gt 0 ]; do
		[ -n "$(msg_answered "$1")" ] && return 0
		sleep 0.1; n=$((n - 1))
	done
	return 1
}

# json_get FILE EXPR: EXPR (Python, over the document d) from a JSON file.
json_get() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2"
}

# A fleet of two relays with one host key, after write_relay_conf:
# fleet_relay2_conf [DATABASE] writes relay2.conf, relay.conf with its
# own port (R2; R1 is relay.conf's) and run_dir, and its own store in
# DATABASE if given (else the store relay.conf names, shared), and
# makes it known to the engineer's known_hosts.
fleet_relay2_conf() {
	R1=$RELAY_PORT
	R2=$(free_port)
	sed -e "s|^listen = .*|listen = 127.0.0.1:$R2|" \
	    ${1:+-e "s|^database = .*|database = $1|"} \
	    -e "s|^run_dir = .*|run_dir = $T/relay2-run|" \
	    "$T/relay.conf" >"$T/relay2.conf"
	echo "[127.0.0.1]:$R2 $(cut -d' ' -f1,2 "$T/relay_host_key.pub")" \
	    >>"$T/known_hosts"
}
# fleet_gateway_relays ID: ID's gateway lists both relays.
fleet_gateway_relays() {
	sed -i "s|^relay = .*|relay = 127.0.0.1:$R1, 127.0.0.1:$R2|" \
	    "$T/$1/porthole.conf"
}
# fleet_ssh_config: the engineer's ssh_config, with -J relay or -J relay2.
fleet_ssh_config() {
	write_ssh_config
	sed -i 's/^Host \* !relay$/Host * !relay !relay2/' "$T/ssh_config"
	cat >>"$T/ssh_config" <<EOC
Host relay2
	HostName 127.0.0.1
	Port $R2
	User alice
EOC
}
# status_json: porthole status --json of the gateway $CONF names, in
# $T/status.json; its exit status.
status_json() {
	"$CLI_BIN" -f "$CONF" status --json >"$T/status.json" 2>"$T/status.err"
}
# via RELAY HOST: the engineer's status command through that relay.
via() {
	ssh -F "$T/ssh_config" -J "$1" "$2" status </dev/null 2>"$T/via.err"
}
# sessions_at LOG: how many of alice's sessions to acme-prod a relay's
# log names.
sessions_at() { count_lines "$1" "session [0-9]*: engineer alice.* -> cluster acme-prod"; }
# via_both: true if the engineer reaches acme-prod through each relay,
# each relay's log naming one session more; the answers in O1 and O2.
via_both() {
	s1=$(sessions_at "$T/relay.log"); s2=$(sessions_at "$T/relay2.log")
	O1=$(via relay acme-prod); O2=$(via relay2 acme-prod)
	[ "$O1" = "cluster acme-prod is healthy" ] &&
	    [ "$O2" = "cluster acme-prod is healthy" ] &&
	    [ "$(sessions_at "$T/relay.log")" -eq $((s1 + 1)) ] &&
	    [ "$(sessions_at "$T/relay2.log")" -eq $((s2 + 1)) ]
}
# fleet_uplink_relay: which relay carries the gateway's telemetry (from
# $T/status.json): KPID, KLOG and KNAME say which, OLOG and ONAME
# the other; false (with UP the relay named) if neither.
fleet_uplink_relay() {
	UP=$(json_get "$T/status.json" 'd["uplink_relay"]')
	case $UP in
	"127.0.0.1:$R1")
		KPID=$RELAY1_PID; KLOG=$T/relay.log; KNAME=relay
		OLOG=$T/relay2.log; ONAME=relay2 ;;
	"127.0.0.1:$R2")
		KPID=$RELAY2_PID; KLOG=$T/relay2.log; KNAME=relay2
		OLOG=$T/relay.log; ONAME=relay ;;
	*)	return 1 ;;
	esac
}

# fleet_kill_midway: 1,000 usage records sent to the gateway $CONF
# names, and the relay carrying its telemetry (KPID) killed (kill -9)
# after the first 500, while some of them are on their way to it.
fleet_kill_midway() {
	usage_records 0 500 >"$T/a.json"
	"$CLI_BIN" -f "$CONF" send usage "$T/a.json" >"$T/send.out" 2>&1
	kill -9 "$KPID"
	wait "$KPID" 2>/dev/null
	usage_records 500 500 >"$T/b.json"
	"$CLI_BIN" -f "$CONF" send usage "$T/b.json" >>"$T/send.out" 2>&1
	[ "$(grep -c stored "$T/send.out")" -eq 1000 ] ||
	    fail "the gateway took $(grep -c stored "$T/send.out") of 1000 records"
}

# The support shell as a person drives it: the stock ssh in a pane of a
# tmux server of the test's own ($TM), keys sent with send-keys, the
# screen read with capture-pane.
# shell_tmux NAME COLS ROWS COMMAND: a new tmux server (socket
# porthole-NAME, the one before it killed: a new session on the socket
# of one still going away can find it exiting) running COMMAND in a
# pane of COLS x ROWS; killed when the test exits.
shell_tmux() {
	[ -z "${TM:-}" ] || $TM kill-server 2>/dev/null
	TM="tmux -L porthole-$1 -f /dev/null"
	$TM new-session -d -x "$2" -y "$3" "$4"
	trap '$TM kill-server 2>/dev/null; cleanup' EXIT
}
# screen_has TEXT [SECONDS]: wait until the pane, with its last
# ${SCREEN_HISTORY:-200} lines of history, shows TEXT (in $T/screen).
screen_has() {
	i=0
	while [ $i -lt $((${2:-10} * 10)) ]; do
		$TM capture-pane -p -S "-${SCREEN_HISTORY:-200}" \
		    >"$T/screen" 2>/dev/null
		grep -qF -- "$1" "$T/screen" && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
# type_line TEXT: TEXT typed into the pane, then Enter.
type_line() {
	$TM send-keys -l -- "$1"
	$TM send-keys Enter
}
