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

# Unknown cluster and wrong port are refused by the relay.
essh nosuch-cluster status >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 255 ] && wait_for "$T/relay.log" "unknown cluster 'nosuch-cluster'" 3 &&
    pass "unknown cluster refused" || fail "unknown cluster: rc=$rc"
ssh -F "$T/ssh_config" -W acme-prod:80 relay </dev/null >/dev/null 2>&1; rc=$?
[ "$rc" -ne 0 ] && wait_for "$T/relay.log" "only port 22 of cluster 'acme-prod'" 3 &&
    pass "other destination refused" || fail "port 80: rc=$rc"

# The customer's grant has expired.
stop_gateway acme-prod
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
