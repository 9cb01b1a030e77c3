#!/bin/sh
# make demo: a vendor relay and a customer gateway on this machine, with
# throwaway keys; support sessions through them with stock ssh and sftp,
# and a telemetry record on its way to Mission Control.
. "$(dirname "$0")/lib.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; }

say "Vendor: a support CA, the relay's host key, a certificate for alice (ticket SUP-1234)"
make_vendor
ssh-keygen -L -f "$T/eng/alice-cert.pub" | grep -E 'Type|Key ID|Valid|alice$|ticket'
say "Customer: cluster acme-prod's tunnel key and session host key"
make_cluster acme-prod
write_relay_conf
FILES_ENABLED=yes write_gateway_conf acme-prod
printf '2026-11-25 10:00:01 INFO server started\n2026-11-25 10:00:02 WARN disk 91%% full\n' \
    >"$T/acme-prod/product/log/server.log"
write_ssh_config
say "The customer's grants (porthole.conf)"
sed -n '/^\[remote_access\]/,$p' "$T/acme-prod/porthole.conf"
say "Start porthole-relay on 127.0.0.1:$RELAY_PORT and portholed (outbound tunnel only)"
start_relay
start_gateway acme-prod
grep "cluster acme-prod online" "$T/relay.log" | tail -n 1

say "The engineer's ~/.ssh/config: jump through the relay, log in as 'support'"
sed -n '1,8p' "$T/ssh_config"

say "An allowed diagnostic"
show "ssh -J alice@relay support@acme-prod status"
essh acme-prod status
echo "(exit status $?)"
show "ssh -J alice@relay support@acme-prod greet world"
essh acme-prod greet world

say "Anything else is refused"
show "ssh -J alice@relay support@acme-prod cat /etc/shadow"
essh acme-prod cat /etc/shadow
echo "(exit status $?)"

say "Read-only product files with the stock sftp"
show "sftp -J alice@relay support@acme-prod  (get server.log)"
echo "get server.log $T/server.log" | sftp -F "$T/ssh_config" -q -b - acme-prod
cat "$T/server.log"
show "sftp ... get /etc/passwd"
echo "get /etc/passwd $T/passwd" | sftp -F "$T/ssh_config" -q -b - acme-prod
echo "(refused)"

say "Telemetry: the product hands over a usage record; Mission Control stores it"
show "porthole send usage"
echo '{"hour":"2026-11-25T10:00:00Z","environment":"env-1","units":{"host_units":12.5}}' |
    "$CLI_BIN" -f "$T/acme-prod/porthole.conf" send usage -
sleep 1
show "porthole-relay -f relay.conf usage acme-prod"
"$RELAY_BIN" -f "$T/relay.conf" usage acme-prod
show "porthole status"
"$CLI_BIN" -f "$T/acme-prod/porthole.conf" status

wait_count "$T/acme-prod/audit/audit.log" '"type":"session_closed"' 2 3
say "The audit log ($T/acme-prod/audit/audit.log)"
cat "$T/acme-prod/audit/audit.log"

stop_all	# the gateway seals the log as it stops
say "The auditor checks the chain and the seals with the key from 'porthole audit init'"
show "porthole audit verify --key \$(cat audit.k0)"
"$CLI_BIN" -f "$T/acme-prod/porthole.conf" audit verify --key "$(cat "$T/acme-prod/audit.k0")"

say "Stopping everything"
exit 0
