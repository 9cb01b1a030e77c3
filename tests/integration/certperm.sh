#!/bin/sh
# What an engineer's certificate permits is what the gateway allows, as
# with sshd: certificates made with ssh-keygen -O no-pty, -O
# no-port-forwarding and -O clear lose a terminal, forwards or both, and
# a session ends when its certificate expires.  Requests porthole never
# grants (agent and X11 forwarding, environment variables) and command
# lines it cannot take are refused on the record, and keepalives do not
# keep a session from idle_timeout.
. "$(dirname "$0")/lib.sh"

# A product service to forward to: an echo server on loopback.
EP=$(free_port)
socat TCP-LISTEN:"$EP",bind=127.0.0.1,reuseaddr,fork EXEC:/bin/cat \
    >/dev/null 2>&1 &
PIDS="$PIDS $!"

FORWARD_ENABLED=yes
FORWARD_TARGETS="127.0.0.1:$EP"
CMD_TIMEOUT=60s
IDLE_TIMEOUT=10s
standard_setup
AUDIT=$T/acme-prod/audit/audit.log

# cert NAME [SSH-KEYGEN-OPTIONS...]: alice's key in $T/NAME, certified
# with these options (before the ticket, so that -O clear keeps it).
cert() {
	d=$T/$1; shift
	mkdir -p "$d"
	[ -f "$d/alice" ] || ssh-keygen -q -t ed25519 -N '' -f "$d/alice" -C alice
	ssh-keygen -q -s "$T/ca/support_ca" -I alice@vendor -n alice \
	    -V "${VALID:--5m:+1h}" "$@" -O extension:ticket@porthole=SUP-1234 \
	    "$d/alice.pub" 2>/dev/null
}
# with NAME: an ssh_config that uses that certificate on both hops, the
# relay's and the gateway's.  The relay does not read the permissions:
# there ssh -J is itself a forward, which no-port-forwarding must not stop.
with() {
	sed -e "s|IdentityFile .*|IdentityFile $T/$1/alice|" \
	    -e "s|CertificateFile .*|CertificateFile $T/$1/alice-cert.pub|" \
	    "$T/ssh_config" >"$T/ssh_config.$1"
	CFG=$T/ssh_config.$1
}
# audited PATTERN: a new audit line (after mark) matches PATTERN.
mark() {
	MARK=$(wc -l <"$AUDIT")
}
audited() {
	n=30
	while [ "$n" -gt 0 ]; do
		tail -n +"$((MARK + 1))" "$AUDIT" | grep -q -- "$1" && return 0
		sleep 0.1; n=$((n - 1))
	done
	return 1
}
# forward_through CFG: one connection through ssh -L to the echo
# service; prints what came back.
forward_through() {
	lp=$(free_port)
	ssh -F "$1" -N -L "127.0.0.1:$lp:127.0.0.1:$EP" acme-prod \
	    </dev/null 2>"$T/L.err" &
	lpid=$!
	n=100
	while [ "$n" -gt 0 ] && ! ss -Htln "sport = :$lp" | grep -q .; do
		sleep 0.1; n=$((n - 1))
	done
	echo ping | timeout 5 socat -t 2 - TCP:127.0.0.1:"$lp" 2>/dev/null
	kill "$lpid" 2>/dev/null
	wait "$lpid" 2>/dev/null
}

cert full
cert nopty -O no-pty
cert nofwd -O no-port-forwarding
cert clear -O clear

# The default certificate: a terminal and forwards, as before.
with full
out=$(forward_through "$CFG")
[ "$out" = "ping" ] && pass "a default certificate forwards" ||
    fail "default certificate forward: '$out' $(cat "$T/L.err")"

# no-pty: no terminal and no support shell, but diagnostics run.  ssh
# -t gives up when the terminal is refused, as it does with sshd.
with nopty
mark
out=$(ssh -F "$CFG" -tt acme-prod status </dev/null 2>"$T/err"); rc=$?
[ "$rc" -eq 255 ] && ! echo "$out" | grep -q healthy &&
    grep -q "PTY allocation request failed" "$T/err" &&
    audited '"type":"request_refused".*"request":"pty-req".*"reason":"the certificate does not permit a terminal (no-pty)"' &&
    pass "no-pty: ssh -t is refused a terminal, audited" ||
    fail "no-pty ssh -tt status: rc=$rc out='$out' err='$(cat "$T/err")'"
mark
ssh -F "$CFG" -tt acme-prod </dev/null >"$T/out" 2>&1; rc=$?
[ "$rc" -eq 255 ] && grep -q "PTY allocation request failed" "$T/out" &&
    audited '"type":"request_refused".*"request":"pty-req"' &&
    pass "no-pty: ssh -t to the support shell is refused, audited" ||
    fail "no-pty shell: rc=$rc out='$(cat "$T/out")'"
mark
printf 'status\nexit\n' | ssh -F "$CFG" -T acme-prod >"$T/out" 2>&1; rc=$?
[ "$rc" -eq 1 ] && ! grep -q healthy "$T/out" &&
    grep -q "porthole: refused: the certificate does not permit a terminal (no-pty)" "$T/out" &&
    audited '"type":"request_refused".*"request":"shell".*"reason":"the certificate does not permit a terminal (no-pty)"' &&
    pass "no-pty: the support shell is refused without a terminal too (ssh -T), audited" ||
    fail "no-pty ssh -T: rc=$rc out='$(cat "$T/out")'"
out=$(ssh -F "$CFG" acme-prod status </dev/null 2>"$T/err"); rc=$?
[ "$rc" -eq 0 ] && [ "$out" = "cluster acme-prod is healthy" ] &&
    pass "no-pty: ssh ... status works" ||
    fail "no-pty status: rc=$rc out='$out' err='$(cat "$T/err")'"
out=$(forward_through "$CFG")
[ "$out" = "ping" ] && pass "no-pty: forwards still work" ||
    fail "no-pty forward: '$out'"

# no-port-forwarding: the relay still carries ssh -J; the gateway
# refuses the forward itself.
with nofwd
out=$(ssh -F "$CFG" acme-prod status </dev/null 2>"$T/err"); rc=$?
[ "$rc" -eq 0 ] && [ "$out" = "cluster acme-prod is healthy" ] &&
    pass "no-port-forwarding: ssh -J through the relay still reaches the cluster" ||
    fail "no-port-forwarding status: rc=$rc out='$out' err='$(cat "$T/err")'"
mark
out=$(forward_through "$CFG")
[ -z "$out" ] &&
    audited "\"type\":\"forward_refused\".*\"target\":\"127.0.0.1:$EP\".*\"reason\":\"the certificate does not permit port forwarding (no-port-forwarding)\"" &&
    pass "no-port-forwarding: ssh -L to a listed target is refused, audited with the reason" ||
    fail "no-port-forwarding forward: out='$out' $(tail -n 2 "$AUDIT")"
out=$(echo ping | ssh -F "$CFG" -W "127.0.0.1:$EP" acme-prod 2>/dev/null)
[ -z "$out" ] && pass "no-port-forwarding: ssh -W to the cluster is refused too" ||
    fail "no-port-forwarding -W: '$out'"

# -O clear: neither.
with clear
mark
ssh -F "$CFG" -tt acme-prod </dev/null >"$T/out" 2>&1; rc=$?
[ "$rc" -eq 255 ] && grep -q "PTY allocation request failed" "$T/out" &&
    audited '"request":"pty-req".*"reason":"the certificate does not permit a terminal' &&
    pass "-O clear: no terminal, no shell" ||
    fail "-O clear shell: rc=$rc out='$(cat "$T/out")'"
mark
out=$(forward_through "$CFG")
[ -z "$out" ] && audited '"type":"forward_refused".*(no-port-forwarding)' &&
    pass "-O clear: no forwards" || fail "-O clear forward: '$out'"
out=$(ssh -F "$CFG" acme-prod status </dev/null 2>/dev/null); rc=$?
[ "$rc" -eq 0 ] && [ "$out" = "cluster acme-prod is healthy" ] &&
    pass "-O clear: diagnostics still run" || fail "-O clear status: rc=$rc '$out'"

# Agent forwarding, X11 and environment variables: never granted, now on
# the record (with the certificate's reason where it has one).
eval "$(ssh-agent -s)" >/dev/null
ssh-add -q "$T/full/alice" 2>/dev/null
with full
mark
ssh -F "$CFG" -A acme-prod status </dev/null >/dev/null 2>&1
audited '"type":"request_refused".*"request":"auth-agent-req@openssh.com".*"reason":"agent forwarding is not offered on this gateway"' &&
    pass "ssh -A: the agent request is refused on the record" ||
    fail "ssh -A not audited: $(tail -n 3 "$AUDIT")"
with clear
mark
ssh -F "$CFG" -A acme-prod status </dev/null >/dev/null 2>&1
audited '"request":"auth-agent-req@openssh.com".*"reason":"the certificate does not permit agent forwarding (no-agent-forwarding)"' &&
    pass "ssh -A with -O clear: refused with the certificate's reason" ||
    fail "ssh -A clear: $(tail -n 3 "$AUDIT")"
ssh-agent -k >/dev/null 2>&1
with full
mark
DISPLAY=127.0.0.1:99 ssh -F "$CFG" -o ForwardX11=yes acme-prod status \
    </dev/null >/dev/null 2>&1
audited '"type":"request_refused".*"request":"x11-req".*"reason":"X11 forwarding is not offered on this gateway"' &&
    pass "ssh -X: the X11 request is refused on the record" ||
    fail "ssh -X not audited: $(tail -n 3 "$AUDIT")"
mark
out=$(ssh -F "$CFG" -o "SetEnv=FOO=bar LANG=C" acme-prod status \
    </dev/null 2>/dev/null)
[ "$out" = "cluster acme-prod is healthy" ] &&
    audited '"type":"request_refused".*"request":"env".*"detail":"FOO, LANG".*"reason":"environment variables are not passed on"' &&
    ! tail -n +"$((MARK + 1))" "$AUDIT" | grep -q bar &&
    pass "SetEnv: refused in one line naming the variables (not their values)" ||
    fail "SetEnv: out='$out' $(tail -n 3 "$AUDIT")"

# A client may ask again and again on one channel: each kind of refused
# request is one line per channel, with how many there were.  The client
# (built here, on libssh) asks for agent forwarding with want-reply and
# is told what portholed(8) says libssh 0.10 answers: success, though no
# agent channel is ever opened.
if command -v cc >/dev/null && pkg-config --exists libssh; then
	cc -O1 -o "$T/chanreq" "$top_srcdir/tests/integration/chanreq.c" \
	    $(pkg-config --cflags --libs libssh) 2>"$T/cc.err" ||
	    fail "cc chanreq: $(cat "$T/cc.err")"
	lp=$(free_port)
	ssh -F "$CFG" -N -o ExitOnForwardFailure=yes \
	    -L "127.0.0.1:$lp:acme-prod:22" relay </dev/null 2>"$T/L.err" &
	lpid=$!
	n=100
	while [ "$n" -gt 0 ] && ! ss -Htln "sport = :$lp" | grep -q .; do
		sleep 0.1; n=$((n - 1))
	done
	mark
	"$T/chanreq" 127.0.0.1 "$lp" "$T/full/alice" "$T/full/alice-cert.pub" \
	    status >"$T/chanreq.out" 2>&1; rc=$?
	kill $lpid 2>/dev/null
	audited '"type":"session_closed"'
	tail -n +"$((MARK + 1))" "$AUDIT" | grep '"type":"request_refused"' \
	    >"$T/chanreq.audit"
	[ "$rc" -eq 0 ] && grep -q "cluster acme-prod is healthy" "$T/chanreq.out" &&
	    [ "$(grep -c . "$T/chanreq.audit")" -eq 3 ] &&
	    grep -q '"request":"auth-agent-req@openssh.com","reason":"agent forwarding is not offered on this gateway","count":5' "$T/chanreq.audit" &&
	    grep -q '"request":"x11-req","reason":"X11 forwarding is not offered on this gateway","count":5' "$T/chanreq.audit" &&
	    grep -q '"request":"env","detail":"VAR0, VAR1, VAR2, VAR3, VAR4"' "$T/chanreq.audit" &&
	    pass "5 agent, 5 X11 and 5 env requests on one channel: 3 audit lines, each with its count" ||
	    fail "repeated requests: rc=$rc $(cat "$T/chanreq.out") $(cat "$T/chanreq.audit")"
	[ "$(grep -c '^x11 failure' "$T/chanreq.out")" -eq 5 ] &&
	    [ "$(grep -c '^env failure' "$T/chanreq.out")" -eq 5 ] &&
	    [ "$(grep -c '^agent success' "$T/chanreq.out")" -eq 5 ] &&
	    pass "the client is told failure for X11 and env, and (libssh 0.10, as documented) success for the agent" ||
	    fail "what the client was told: $(cat "$T/chanreq.out")"
else
	echo "# no C compiler or libssh headers: repeated requests not tried"
fi

# Command lines that cannot be passed on are refused, with the reason.
mark
ssh -F "$CFG" acme-prod "$(printf 'greet w\377rld')" </dev/null >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "porthole: refused: the command line is not UTF-8 text" "$T/err" &&
    audited '"type":"command_refused".*"command":"greet w\\\\xffrld".*"length":11.*"reason":"the command line is not UTF-8 text"' &&
    pass "a command line that is not UTF-8: command_refused with the reason" ||
    fail "not UTF-8: rc=$rc err='$(cat "$T/err")' $(tail -n 2 "$AUDIT")"
ssh -F "$CFG" acme-prod "$(head -c 3000 /dev/zero | tr '\0' '\377')" </dev/null \
    >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "porthole: refused: the command line is not UTF-8 text" "$T/err" &&
    pass "3000 bytes that are not UTF-8: refused the same way, recorded cut short" ||
    fail "3000 stray bytes: rc=$rc err='$(head -c 300 "$T/err")'"
mark
long=$(head -c 17000 /dev/zero | tr '\0' a)
ssh -F "$CFG" acme-prod "status $long" </dev/null >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "porthole: refused: the command line is longer than 1024 bytes" "$T/err" &&
    audited '"type":"command_refused".*"command":"status aaa.*"length":17007.*"reason":"the command line is longer than 1024 bytes"' &&
    pass "a command line over 16 KB: command_refused with the reason" ||
    fail "17 KB command: rc=$rc err='$(head -c 300 "$T/err")' $(tail -n 2 "$AUDIT" | cut -c1-300)"

# Keepalives are not activity: ServerAliveInterval=1 does not hold a
# silent session past idle_timeout (10 s here).
start=$(date +%s)
ssh -F "$CFG" -o ServerAliveInterval=1 acme-prod sleepy 40 </dev/null \
    >/dev/null 2>"$T/idle.err"
took=$(( $(date +%s) - start ))
[ "$took" -ge 9 ] && [ "$took" -le 20 ] &&
    grep -q "porthole: session ended: idle for longer than idle_timeout" "$T/idle.err" &&
    pass "ServerAliveInterval=1 does not keep a silent session past idle_timeout (${took}s for 10s)" ||
    fail "keepalives: ended after ${took}s: '$(cat "$T/idle.err")'"
# A certificate valid for a few seconds: the session ends when it
# expires (end_at_cert_expiry = yes, the default), busy or idle.
stop_gateway acme-prod
IDLE_TIMEOUT=15m write_gateway_conf acme-prod
start_gateway acme-prod
VALID=-1m:+10s cert short
with short
start=$(date +%s)
ssh -F "$CFG" acme-prod sleepy 40 </dev/null >/dev/null 2>"$T/exp.err"; rc=$?
took=$(( $(date +%s) - start ))
[ "$rc" -ne 0 ] && [ "$took" -le 15 ] &&
    grep -q "porthole: session ended: the certificate expired" "$T/exp.err" &&
    wait_for "$AUDIT" '"type":"session_ended".*"reason":"certificate expired".*"valid_before":"' 3 &&
    pass "end_at_cert_expiry: the session ends when the certificate expires (after ${took}s), audited" ||
    fail "expiry: rc=$rc after ${took}s err='$(cat "$T/exp.err")'"

stop_gateway acme-prod
out=$("$CLI_BIN" -f "$T/acme-prod/porthole.conf" audit verify 2>&1); rc=$?
[ "$rc" -eq 0 ] && pass "the audit log with all of the above verifies" ||
    fail "audit verify: rc=$rc $out"

finish
