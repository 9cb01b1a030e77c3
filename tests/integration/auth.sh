#!/bin/sh
# Only a valid certificate from the vendor CA, for an engineer and a
# ticket the customer accepts, opens a session.
. "$(dirname "$0")/lib.sh"

standard_setup
AUDIT=$T/acme-prod/audit/audit.log

# use_identity KEY [CERT]: point the client at other credentials for the
# gateway, while the jump to the relay still logs in as alice with her
# good certificate. The jump is a ProxyCommand in the file itself: a
# "-o ProxyJump=none" on the command line would also cancel a later
# ProxyCommand in OpenSSH 9.2p1-2+deb12u6.
use_identity() {
	sed -e "s|IdentityFile .*|IdentityFile $1|" \
	    -e "s|CertificateFile .*|CertificateFile ${2:-/dev/null}|" \
	    -e "s|ProxyJump relay|ProxyCommand ssh -F $T/ssh_config -W %h:%p relay|" \
	    "$T/ssh_config" >"$T/ssh_config.alt"
}
# Log in to the relay as alice, but present other credentials to the gateway.
alt_ssh() {
	ssh -F "$T/ssh_config.alt" "$@" </dev/null
}

# Baseline: the good certificate works.
essh acme-prod status >/dev/null 2>&1 && pass "valid certificate accepted" ||
    fail "valid certificate refused"

# A plain key, no certificate.
ssh-keygen -q -t ed25519 -N '' -f "$T/plain" -C plain
use_identity "$T/plain"
alt_ssh acme-prod status >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 255 ] && grep -q "Permission denied" "$T/err" &&
    pass "plain key refused" || fail "plain key: rc=$rc"
grep -q '"type":"auth_refused".*plain keys are not accepted' "$AUDIT" &&
    pass "audit: plain key refusal" || fail "plain key refusal not audited"

# A certificate from another CA.
"$CERTS"/porthole-make-ca "$T/ca2" >/dev/null
"$CERTS"/porthole-issue-engineer -c "$T/ca2/support_ca" -o "$T/eng2" alice SUP-1 +1h >/dev/null
use_identity "$T/eng2/alice" "$T/eng2/alice-cert.pub"
alt_ssh acme-prod status >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 255 ] && grep -q "unknown CA" "$T/err" &&
    pass "certificate from another CA refused, reason shown" ||
    fail "other CA: rc=$rc err='$(cat "$T/err")'"

# An expired certificate (valid in 2020 only).
mkdir -p "$T/old"
ssh-keygen -q -t ed25519 -N '' -f "$T/old/alice" -C alice
ssh-keygen -q -s "$T/ca/support_ca" -I alice@vendor -n alice \
    -V 20200101:20200102 -O extension:ticket@porthole=SUP-1 "$T/old/alice.pub"
use_identity "$T/old/alice" "$T/old/alice-cert.pub"
alt_ssh acme-prod status >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 255 ] && grep -q "certificate expired" "$T/err" &&
    pass "expired certificate refused" ||
    fail "expired: rc=$rc err='$(cat "$T/err")'"
# ssh then offers the certificate's bare key: that is no news to the
# engineer, who was told why the certificate was refused.
! grep -q "plain keys are not accepted" "$T/err" &&
    pass "the bare key retried after a refused certificate adds no second reason" ||
    fail "the engineer also saw: $(grep "plain keys" "$T/err")"

# A key id or a principal that is not UTF-8: refused, and the refusal's
# record names the certificate (key id escaped, serial, reason).
mkdir -p "$T/latin1"
ssh-keygen -q -t ed25519 -N '' -f "$T/latin1/alice" -C alice
ssh-keygen -q -s "$T/ca/support_ca" -I "$(printf 'al\351ce@vendor')" -n alice \
    -z 77 -V -5m:+1h -O extension:ticket@porthole=SUP-1 "$T/latin1/alice.pub"
use_identity "$T/latin1/alice" "$T/latin1/alice-cert.pub"
alt_ssh acme-prod status >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 255 ] && grep -q "certificate key id is not UTF-8 text" "$T/err" &&
    grep -q '"type":"auth_refused".*"key_id":"al\\\\xe9ce@vendor","reason":"certificate key id is not UTF-8 text","serial":77,"principals":\["alice"\]' "$AUDIT" &&
    pass "a key id that is not UTF-8: refused, audited with key id (escaped), serial and reason" ||
    fail "latin-1 key id: rc=$rc err='$(cat "$T/err")' $(grep auth_refused "$AUDIT" | tail -n 2)"
ssh-keygen -q -s "$T/ca/support_ca" -I alice@vendor -n "alice,$(printf 'b\351b')" \
    -z 78 -V -5m:+1h -O extension:ticket@porthole=SUP-1 "$T/latin1/alice.pub"
alt_ssh acme-prod status >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 255 ] && grep -q "certificate principal 2 is not UTF-8 text" "$T/err" &&
    grep -q '"type":"auth_refused".*"key_id":"alice@vendor","reason":"certificate principal 2 is not UTF-8 text","serial":78,"principals":\["alice","b\\\\xe9b"\]' "$AUDIT" &&
    pass "a principal that is not UTF-8: refused, audited with the certificate's fields" ||
    fail "latin-1 principal: rc=$rc err='$(cat "$T/err")' $(grep auth_refused "$AUDIT" | tail -n 2)"

# No ticket while require_ticket = yes.
mkdir -p "$T/nt"
ssh-keygen -q -t ed25519 -N '' -f "$T/nt/alice" -C alice
ssh-keygen -q -s "$T/ca/support_ca" -I alice@vendor -n alice -V -5m:+1h \
    "$T/nt/alice.pub"
use_identity "$T/nt/alice" "$T/nt/alice-cert.pub"
alt_ssh acme-prod status >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 255 ] && grep -q "ticket is required" "$T/err" &&
    pass "certificate without ticket refused" ||
    fail "no ticket: rc=$rc err='$(cat "$T/err")'"

# An engineer the customer did not list.
"$CERTS"/porthole-issue-engineer -c "$T/ca/support_ca" -o "$T/eng" mallory SUP-9 +1h >/dev/null
use_identity "$T/eng/mallory" "$T/eng/mallory-cert.pub"
alt_ssh acme-prod status >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 255 ] && grep -q "engineer 'mallory' is not allowed" "$T/err" &&
    pass "unlisted engineer refused" ||
    fail "mallory: rc=$rc err='$(cat "$T/err")'"

# An engineer the customer never listed can neither lock support out nor
# flood the audit log: a channel is a login in progress until its
# certificate is accepted, and takes no session slot; logins in progress
# have their own bound, and their refusals are summarised.  Mallory
# connects from 127.0.0.2 (everyone is 127.0.0.1 otherwise on loopback),
# holds 20 channels open through the relay without logging in, and
# fails to log in 60 times.
LP=$(free_port)
cat >"$T/ssh_config.mallory" <<EOC
Host relay
	HostName 127.0.0.1
	Port $RELAY_PORT
	User mallory
	BindAddress 127.0.0.2
Host door
	HostName 127.0.0.1
	Port $LP
	HostKeyAlias acme-prod
	User support
Host *
	IdentitiesOnly yes
	IdentityFile $T/eng/mallory
	CertificateFile $T/eng/mallory-cert.pub
	UserKnownHostsFile $T/known_hosts
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	BatchMode yes
	LogLevel ERROR
EOC
ssh -F "$T/ssh_config.mallory" -N -o ExitOnForwardFailure=yes \
    -L "127.0.0.1:$LP:acme-prod:22" relay </dev/null 2>"$T/mallory.err" &
PIDS="$PIDS $!"
n=100
while [ "$n" -gt 0 ] && ! ss -Htln "sport = :$LP" | grep -q .; do
	sleep 0.1; n=$((n - 1))
done
MARK=$(wc -l <"$AUDIT")
HOLD=""
i=0
while [ $i -lt 20 ]; do
	sleep 40 | socat - TCP:127.0.0.1:"$LP" >/dev/null 2>&1 &
	HOLD="$HOLD $!"
	i=$((i + 1))
done
logins() {
	"$CLI_BIN" -f "$T/acme-prod/porthole.conf" sessions 2>/dev/null |
	    awk '$2 == "login"' | wc -l
}
n=100
while [ "$n" -gt 0 ] && [ "$(logins)" -lt 8 ]; do sleep 0.1; n=$((n - 1)); done
held=$(logins)
out=$(essh acme-prod status 2>"$T/err"); rc=$?
[ "$held" -ge 8 ] && [ "$rc" -eq 0 ] && [ "$out" = "cluster acme-prod is healthy" ] &&
    pass "alice logs in while an unlisted engineer holds $held channels open" ||
    fail "alice with $held channels held: rc=$rc out='$out' err='$(cat "$T/err")'"
tries=""
i=0
while [ $i -lt 60 ]; do
	ssh -F "$T/ssh_config.mallory" door status </dev/null >/dev/null 2>&1 &
	tries="$tries $!"
	i=$((i + 1))
	# Six at a time; alice once in the middle of it.
	[ $((i % 6)) -eq 0 ] && { wait $tries; tries=""; }
	[ $i -eq 30 ] && { out=$(essh acme-prod status 2>/dev/null); rc=$?; }
done
[ "$rc" -eq 0 ] && [ "$out" = "cluster acme-prod is healthy" ] &&
    pass "alice logs in while mallory fails to, over and over" ||
    fail "alice during the flood: rc=$rc out='$out'"
kill $HOLD 2>/dev/null
summary='"type":"refusal_summary".*"event":"auth_refused","reason":"engineer '"'"'mallory'"'"' is not allowed on this cluster","principal":"mallory","count":'
wait_for "$AUDIT" "$summary" 15
count=$(grep -o "$summary[0-9]*" "$AUDIT" | sed 's/.*"count"://' |
    awk '{ n += $1 } END { print n + 0 }')
full=$(tail -n +"$((MARK + 1))" "$AUDIT" |
    grep -c '"type":"auth_refused".*"principals":\["mallory"\]')
[ $((count + full)) -eq 60 ] && [ "$full" -le 3 ] &&
    pass "60 refusals of mallory: $full line(s) in full, the other $count counted in a summary" ||
    fail "mallory's refusals: full=${full:-?} counted=${count:-?}: $(grep -c . "$AUDIT") lines"
wait_for "$AUDIT" '"type":"refusal_summary".*"event":"session_refused".*"from":"127.0.0.2"' 25 &&
    pass "the channels held open are summarised by their source" ||
    fail "no summary of the held channels from 127.0.0.2"
added=$(( $(wc -l <"$AUDIT") - MARK ))
[ "$added" -lt 40 ] &&
    pass "$added audit lines for 80 failed logins, not hundreds" ||
    fail "$added audit lines for 80 failed logins"

# Certificates from one's own CA claim anything: mallory, through the
# relay with her good certificate, presents 30 of her own, each naming
# another principal and the key id alice@vendor.  Their fields are not
# facts (claimed_*), and the refusals are summarised by where they came
# from (127.0.0.4), not by the principal each one names.
LP4=$(free_port)
cat >"$T/ssh_config.rogue" <<EOC
Host relay
	HostName 127.0.0.1
	Port $RELAY_PORT
	User mallory
	BindAddress 127.0.0.4
	IdentityFile $T/eng/mallory
	CertificateFile $T/eng/mallory-cert.pub
Host door
	HostName 127.0.0.1
	Port $LP4
	HostKeyAlias acme-prod
	User support
Host *
	IdentitiesOnly yes
	UserKnownHostsFile $T/known_hosts
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	BatchMode yes
	LogLevel ERROR
EOC
ssh -F "$T/ssh_config.rogue" -N -o ExitOnForwardFailure=yes \
    -L "127.0.0.1:$LP4:acme-prod:22" relay </dev/null 2>"$T/rogue.err" &
PIDS="$PIDS $!"
n=100
while [ "$n" -gt 0 ] && ! ss -Htln "sport = :$LP4" | grep -q .; do
	sleep 0.1; n=$((n - 1))
done
mkdir -p "$T/rogue"
ssh-keygen -q -t ed25519 -N '' -f "$T/rogue/ca"
MARK=$(wc -l <"$AUDIT")
i=0
while [ $i -lt 30 ]; do
	ssh-keygen -q -t ed25519 -N '' -f "$T/rogue/k$i"
	ssh-keygen -q -s "$T/rogue/ca" -I alice@vendor -n "alice$i" -V +1h \
	    "$T/rogue/k$i.pub"
	ssh -F "$T/ssh_config.rogue" -i "$T/rogue/k$i" \
	    -o CertificateFile="$T/rogue/k$i-cert.pub" door status \
	    </dev/null >/dev/null 2>&1
	i=$((i + 1))
done
rogue='"event":"auth_refused","reason":"certificate signed by an unknown CA","from":"127.0.0.4","count":'
wait_for "$AUDIT" "$rogue" 15
tail -n +"$((MARK + 1))" "$AUDIT" >"$T/rogue.audit"
full=$(grep -c '"type":"auth_refused".*"reason":"certificate signed by an unknown CA"' "$T/rogue.audit")
counted=$(grep -o "$rogue[0-9]*" "$T/rogue.audit" | sed 's/.*"count"://' |
    awk '{ n += $1 } END { print n + 0 }')
[ "$full" -eq 1 ] && [ $((full + counted)) -eq 30 ] &&
    pass "30 certificates of a rogue CA, each naming another principal: 1 line in full, $counted counted by their source" ||
    fail "rogue CA: $full in full, $counted counted: $(grep -c . "$T/rogue.audit") lines"
grep -q '"type":"auth_refused".*"claimed_key_id":"alice@vendor","reason":"certificate signed by an unknown CA","claimed_serial":0,"claimed_principals":\["alice0"\]' "$T/rogue.audit" &&
    ! grep -q '"key_id":"alice@vendor"\|"principals":\["alice' "$T/rogue.audit" &&
    pass "what a certificate the CA did not sign says is recorded as claimed, never as who it was" ||
    fail "rogue CA fields: $(grep auth_refused "$T/rogue.audit" | head -n 2)"
[ "$(grep -c . "$T/rogue.audit")" -le 6 ] &&
    pass "$(grep -c . "$T/rogue.audit") audit lines for 30 rogue certificates" ||
    fail "$(grep -c . "$T/rogue.audit") audit lines for 30 rogue certificates"

# The relay itself refuses an engineer without a valid certificate.
cat >"$T/ssh_config.relay" <<EOC
Host relay
	HostName 127.0.0.1
	Port $RELAY_PORT
	User alice
	IdentitiesOnly yes
	IdentityFile $T/plain
	UserKnownHostsFile $T/known_hosts
	BatchMode yes
	LogLevel ERROR
EOC
ssh -F "$T/ssh_config.relay" -W acme-prod:22 relay </dev/null >/dev/null 2>&1; rc=$?
[ "$rc" -eq 255 ] && grep -q "login as 'alice' refused" "$T/relay.log" &&
    pass "relay refuses a plain key" || fail "relay plain key: rc=$rc"

# Failed logins at the relay come in bursts (three keys a connection, a
# client retrying): the first of a burst is logged in full, the rest
# are counted in one line when it ends.  From 127.0.0.3, alone.
for k in 1 2 3; do ssh-keygen -q -t ed25519 -N '' -f "$T/flood$k" -C flood; done
sed -e "s|^	IdentityFile .*|	BindAddress 127.0.0.3\n	IdentityFile $T/flood1\n	IdentityFile $T/flood2\n	IdentityFile $T/flood3|" \
    "$T/ssh_config.relay" >"$T/ssh_config.flood"
i=0
while [ $i -lt 8 ]; do
	ssh -F "$T/ssh_config.flood" -W acme-prod:22 relay </dev/null >/dev/null 2>&1
	i=$((i + 1))
done
full=$(count_lines "$T/relay.log" "127.0.0.3:[0-9]*: login as 'alice' refused")
if wait_for "$T/relay.log" "refused [0-9]* more logins as 'alice' from 127.0.0.3 in [0-9]* s" 12; then
	more=$(sed -n "s/.*refused \([0-9]*\) more logins as 'alice' from 127.0.0.3 in.*/\1/p" "$T/relay.log" | tail -n 1)
	[ "$full" -eq 1 ] && [ "$more" -ge 15 ] &&
	    pass "$((more + 1)) failed logins at the relay: one line in full, the rest in one summary" ||
	    fail "relay login burst: $full in full, $more counted"
else
	fail "relay login burst: $full lines in full and no summary"
fi
# A new user name each time is a new kind of refusal: an address gets
# only so many full lines for them (8 a minute), the rest are counted.
sed -e "s|^	IdentityFile .*|	BindAddress 127.0.0.5\n	IdentityFile $T/plain|" \
    "$T/ssh_config.relay" >"$T/ssh_config.names"
i=0
while [ $i -lt 14 ]; do
	ssh -F "$T/ssh_config.names" -l "name$i" -W acme-prod:22 relay \
	    </dev/null >/dev/null 2>&1
	i=$((i + 1))
done
names="refused \([0-9]*\) more logins from 127.0.0.5 in [0-9]* s, under names not logged"
if wait_for "$T/relay.log" "$names" 12; then
	full=$(count_lines "$T/relay.log" "127.0.0.5:[0-9]*: login as 'name[0-9]*' refused")
	more=$(sed -n "s/.*$names.*/\1/p" "$T/relay.log" | awk '{ n += $1 } END { print n + 0 }')
	[ "$full" -eq 8 ] && [ $((full + more)) -eq 14 ] &&
	    pass "14 failed logins under 14 names from one address: $full lines in full, $more counted" ||
	    fail "relay names: $full in full, $more counted"
else
	fail "relay names: $(count_lines "$T/relay.log" "127.0.0.5:[0-9]*: login as") lines in full and no summary"
fi
# A user name chosen before authentication reaches the log escaped.
ssh -F "$T/ssh_config.relay" -l "$(printf 'a\302\233[6n\177')" -W acme-prod:22 \
    relay </dev/null >/dev/null 2>&1
wait_for "$T/relay.log" "login as 'a\\\\xc2\\\\x9b\\[6n\\\\x7f' refused" 3 &&
    ! grep -q "$(printf '\302\233')" "$T/relay.log" &&
    pass "a C1 control and DEL in a user name are logged as \\xNN" ||
    fail "the user name's C1 and DEL: $(grep -a "login as 'a" "$T/relay.log" | tail -n 1)"

# Unknown cluster and wrong port are refused by the relay; an engineer
# who asked for a cluster is told why by a disconnect their ssh prints.
essh nosuch-cluster status >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 255 ] && wait_for "$T/relay.log" "unknown cluster 'nosuch-cluster'" 3 &&
    grep -q "^Received disconnect from .*: porthole-relay: unknown cluster: none of that name on this relay" "$T/err" &&
    pass "unknown cluster refused, and the engineer told so" ||
    fail "unknown cluster: rc=$rc $(cat "$T/err")"
ssh -F "$T/ssh_config" -W acme-prod:80 relay </dev/null >/dev/null 2>&1; rc=$?
[ "$rc" -ne 0 ] && wait_for "$T/relay.log" "only port 22 of cluster 'acme-prod'" 3 &&
    pass "other destination refused" || fail "port 80: rc=$rc"

# The customer's grant has expired.
stop_gateway acme-prod
# Meanwhile the cluster is offline: refused at once, and said so.
essh acme-prod status >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 255 ] &&
    grep -q "^Received disconnect from .*: porthole-relay: cluster acme-prod is offline: its gateway has no tunnel to this relay" "$T/err" &&
    pass "an offline cluster is refused, and the engineer told so" ||
    fail "offline cluster: rc=$rc $(cat "$T/err")"
EXPIRES=2020-01-01T00:00:00Z write_gateway_conf acme-prod
start_gateway acme-prod
essh acme-prod status >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 255 ] && grep -q "remote access grant expired" "$T/err" &&
    pass "an expired grant refuses sessions" ||
    fail "expires: rc=$rc err='$(cat "$T/err")'"

# Remote access switched off by the customer.
stop_gateway acme-prod
RA_ENABLED=no write_gateway_conf acme-prod
start_gateway acme-prod
essh acme-prod status >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 255 ] && grep -q "remote access is disabled" "$T/err" &&
    pass "remote access disabled refuses sessions" ||
    fail "disabled: rc=$rc err='$(cat "$T/err")'"

# Each grant flipped by the customer's file and a reload, seen by the
# same stock client a moment later.
CONF=$T/acme-prod/porthole.conf
flip() {
	"$CLI_BIN" -f "$CONF" reload >/dev/null 2>"$T/reload.err" ||
	    fail "reload ($1): $(cat "$T/reload.err")"
}
REQUIRE_TICKET=no write_gateway_conf acme-prod; flip require_ticket=no
use_identity "$T/nt/alice" "$T/nt/alice-cert.pub"
out=$(alt_ssh acme-prod status 2>"$T/err"); rc=$?
[ "$rc" -eq 0 ] && [ "$out" = "cluster acme-prod is healthy" ] &&
    wait_for "$AUDIT" '"type":"auth_accepted".*"engineer":"alice".*"ticket":""' 3 &&
    pass "require_ticket = no: a certificate without a ticket gets in, audited without one" ||
    fail "require_ticket=no: rc=$rc out='$out' err='$(cat "$T/err")'"
use_identity "$T/eng/mallory" "$T/eng/mallory-cert.pub"
alt_ssh acme-prod status >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 255 ] && grep -q "engineer 'mallory' is not allowed" "$T/err" &&
    pass "require_ticket = no still leaves out unlisted engineers" ||
    fail "mallory with require_ticket=no: rc=$rc"
ENGINEERS='*' write_gateway_conf acme-prod; flip "engineers=*"
out=$(alt_ssh acme-prod status 2>"$T/err"); rc=$?
[ "$rc" -eq 0 ] && [ "$out" = "cluster acme-prod is healthy" ] &&
    wait_for "$AUDIT" '"type":"auth_accepted".*"engineer":"mallory"' 3 &&
    pass "engineers = *: any engineer the vendor CA certifies gets in" ||
    fail "engineers=*: rc=$rc out='$out' err='$(cat "$T/err")'"
COMMANDS_ENABLED=no write_gateway_conf acme-prod; flip "commands off"
essh acme-prod status >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" -ne 0 ] && [ ! -s "$T/out" ] && grep -q "diagnostics are disabled on this cluster" "$T/err" &&
    wait_for "$AUDIT" '"type":"command_refused".*"reason":"diagnostics are disabled' 3 &&
    pass "[commands] enabled = no: a listed diagnostic is refused with the reason, audited" ||
    fail "commands off: rc=$rc out='$(cat "$T/out")' err='$(cat "$T/err")'"
write_gateway_conf acme-prod; flip "back"
out=$(essh acme-prod status 2>&1); rc=$?
[ "$rc" -eq 0 ] && [ "$out" = "cluster acme-prod is healthy" ] &&
    pass "the grant switched back on works again without a restart" ||
    fail "commands on again: rc=$rc out='$out'"

finish
