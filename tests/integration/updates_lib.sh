# updates_lib.sh - what the update tests share: the vendor's signing key
# and notices made and signed with stock ssh-keygen, the customer's
# [updates] commands as scripts that write down what they were given,
# and short ways to ask both ends what they think.
. "$(dirname "$0")/lib.sh"

# make_update_key [NAME]: an Ed25519 signing key $T/NAME (update_key).
make_update_key() {
	ssh-keygen -q -t ed25519 -N '' -C "vendor ${1:-update_key}" \
	    -f "$T/${1:-update_key}" || fail "ssh-keygen"
}

# make_package FILE KIB: a package of KIB KiB of random bytes.
make_package() {
	head -c "$(( $2 * 1024 ))" /dev/urandom >"$1"
}

# rfc3339 SECONDS-FROM-NOW
rfc3339() {
	date -u -d "@$(( $(date +%s) + $1 ))" +%Y-%m-%dT%H:%M:%SZ
}

# make_notice FILE VERSION PACKAGE [EXPIRES-IN-SECONDS] [NOTES]
# (published PUBLISHED_AGO seconds ago, a minute unless set)
make_notice() {
	sha=$(sha256sum "$3" | cut -d' ' -f1)
	size=$(stat -c %s "$3")
	printf '{"version":"%s","sha256":"%s","size":%s,"published":"%s","expires":"%s","notes":"%s"}\n' \
	    "$2" "$sha" "$size" "$(rfc3339 "-${PUBLISHED_AGO:-60}")" "$(rfc3339 "${4:-2592000}")" \
	    "${5:-Fixes and improvements.\\nRestarts the server.}" >"$1"
}

# sign NOTICE [KEY] [NAMESPACE]: NOTICE.sig as the vendor makes it.
sign() {
	rm -f "$1.sig"
	ssh-keygen -q -Y sign -f "$T/${2:-update_key}" -n "${3:-porthole-update}" \
	    "$1" 2>/dev/null || fail "ssh-keygen -Y sign $1"
}

# publish NOTICE PACKAGE: porthole-relay update publish, output kept.
publish() {
	"$RELAY_BIN" -f "$T/relay.conf" update publish "$1" "$1.sig" "$2" \
	    >"$T/publish.out" 2>&1
}

# publish_version VERSION KIB: a package of KIB KiB, its notice signed
# and published ($T/pVERSION.tar, $T/nVERSION.json); fails the test if not.
publish_version() {
	make_package "$T/p$1.tar" "$2"
	make_notice "$T/n$1.json" "$1" "$T/p$1.tar"
	sign "$T/n$1.json"
	publish "$T/n$1.json" "$T/p$1.tar" || fail "publish $1: $(cat "$T/publish.out")"
}

# write_update_scripts: the customer's commands, as scripts.
write_update_scripts() {
	mkdir -p "$T/bin"
	echo "${PRODUCT_VERSION:-1.2.0}" >"$T/product_version"
	cat >"$T/bin/version" <<EOS
#!/bin/sh
cat $T/product_version
EOS
	cat >"$T/bin/notify" <<EOS
#!/bin/sh
echo "\$PORTHOLE_UPDATE_VERSION \$PORTHOLE_UPDATE_WHEN \$PORTHOLE_UPDATE_EVENT" >>$T/notified
printf '%s' "\$PORTHOLE_UPDATE_NOTES" >$T/notified.notes
exit \$(cat $T/notify_rc 2>/dev/null || echo 0)
EOS
	cat >"$T/bin/upgrade" <<EOS
#!/bin/sh
echo "upgrading to \$2 from \$1"
echo "\$1 \$2 \$PORTHOLE_UPDATE_PACKAGE \$PORTHOLE_UPDATE_VERSION \$(sha256sum "\$1" | cut -d' ' -f1) \$(stat -c '%a %u' "\$1")" >>$T/upgraded
sleep \$(cat $T/upgrade_sleep 2>/dev/null || echo 0)
echo "\$2" >$T/product_version
exit \$(cat $T/upgrade_rc 2>/dev/null || echo 0)
EOS
	chmod 755 "$T/bin/version" "$T/bin/notify" "$T/bin/upgrade"
}

# updates_section ID: append [updates] to gateway ID's porthole.conf.
# WINDOW (daily HH:MM / weekly DAY HH:MM) and NO_NOTIFY may be set.
updates_section() {
	cat >>"$T/$1/porthole.conf" <<EOC

[updates]
${NO_VENDOR_KEY:+;}vendor_key = $T/update_key.pub
version_command = $T/bin/version
${WINDOW:+window = $WINDOW}
${NO_NOTIFY:+;}notify_command = $T/bin/notify
update_command = $T/bin/upgrade {package} {version}
timeout = ${UPDATE_TIMEOUT:-2h}
EOC
}

# uj ID: porthole updates --json of gateway ID.
uj() {
	# Bounded: a gateway stuck in its event loop answers nothing.
	timeout 10 "$CLI_BIN" -f "$T/$1/porthole.conf" updates --json 2>/dev/null
}

# ufield ID VERSION FIELD: one field of one update, as the gateway says.
ufield() {
	uj "$1" | jq -r --arg v "$2" --arg f "$3" \
	    '.updates[] | select(.version == $v) | .[$f] // empty'
}

# wait_ufield ID VERSION FIELD VALUE [SECONDS]
wait_ufield() {
	n=$(( ${5:-20} * 5 ))
	while [ "$n" -gt 0 ]; do
		[ "$(ufield "$1" "$2" "$3")" = "$4" ] && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}

# audit_has ID PATTERN...: a line of gateway ID's audit log matching all.
audit_has() {
	a=$T/$1/audit/audit.log
	shift
	l=$(cat "$a")
	for p in "$@"; do
		l=$(printf '%s\n' "$l" | grep -- "$p")
	done
	[ -n "$l" ]
}

# epoch RFC3339
epoch() {
	date -u -d "$1" +%s
}

# update_setup: vendor, relay, acme-prod with [updates], started.
update_setup() {
	make_vendor
	make_cluster acme-prod
	make_update_key
	write_relay_conf
	write_gateway_conf acme-prod
	write_update_scripts
	updates_section acme-prod
	write_ssh_config
	start_relay
	start_gateway acme-prod
}
