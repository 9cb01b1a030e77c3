#!/bin/sh
# A package travels in pieces and resumes: the relay killed in the
# middle of a transfer and started again, and the gateway restarted in
# the middle of another, each carry on from the bytes the gateway
# holds (its .part file never goes back to zero) and end with the
# package the notice describes.
. "$(dirname "$0")/updates_lib.sh"

update_setup
UPD=$T/acme-prod/state/updates

# part_size SHA: bytes in the part file (-1 when there is none).
part_size() {
	if [ -f "$UPD/$1.part" ]; then stat -c %s "$UPD/$1.part"; else echo -1; fi
}
# wait_part SHA BYTES: until the part holds at least BYTES.
wait_part() {
	n=600
	while [ $n -gt 0 ]; do
		s=$(part_size "$1")
		[ "$s" -ge "$2" ] && return 0
		[ -f "$UPD/$1.pkg" ] && return 1
		sleep 0.02; n=$((n - 1))
	done
	return 1
}
# watch_part SHA: until the package is complete, the part's size each
# time it is looked at, one per line, into $T/sizes.
watch_part() {
	: >"$T/sizes"
	n=3000
	while [ $n -gt 0 ] && [ ! -f "$UPD/$1.pkg" ]; do
		part_size "$1" >>"$T/sizes"
		sleep 0.02; n=$((n - 1))
	done
}
# never_back FROM: no size in $T/sizes is below FROM, or zero.
never_back() {
	awk -v from="$1" '$1 >= 0 && ($1 < from || $1 == 0) { bad = 1 } END { exit bad }' "$T/sizes"
}

# A relay killed while the gateway fetches 1.3.0.
make_package "$T/p130" 32768
make_notice "$T/n130.json" 1.3.0 "$T/p130"
sign "$T/n130.json"
publish "$T/n130.json" "$T/p130" || fail "publish: $(cat "$T/publish.out")"
sha=$(sha256sum "$T/p130" | cut -d' ' -f1)
if wait_part "$sha" 2097152; then
	kill -9 "$RELAY_PID"
	wait "$RELAY_PID" 2>/dev/null
	# A piece already on its way may still land; then nothing more.
	sleep 0.5
	at=$(part_size "$sha")
	pass "the relay is killed with $at of 33554432 bytes fetched"
	sleep 1
	[ "$(part_size "$sha")" -eq "$at" ] && pass "the part stays while the relay is away" ||
	    fail "the part changed to $(part_size "$sha") without a relay"
	start_relay
	watch_part "$sha"
	never_back "$at" && pass "the transfer resumes from $at, not from zero" ||
	    fail "the part went back: $(sort -n "$T/sizes" | uniq | head -5 | tr '\n' ' ')"
else
	fail "the transfer ended before the relay could be killed ($(part_size "$sha"))"
fi
wait_ufield acme-prod 1.3.0 package downloaded 60 && cmp -s "$T/p130" "$UPD/$sha.pkg" &&
    pass "the package arrives whole and unchanged" || fail "package: $(ufield acme-prod 1.3.0 package)"

# A gateway stopped while it fetches 1.4.0 picks up from its part.
make_package "$T/p140" 32768
make_notice "$T/n140.json" 1.4.0 "$T/p140"
sign "$T/n140.json"
publish "$T/n140.json" "$T/p140" || fail "publish: $(cat "$T/publish.out")"
sha=$(sha256sum "$T/p140" | cut -d' ' -f1)
if wait_part "$sha" 2097152; then
	stop_gateway acme-prod
	at=$(part_size "$sha")
	start_gateway acme-prod
	watch_part "$sha"
	grep -q "package ${sha%"${sha#????????????????}"}...: resuming at $at of 33554432 bytes" "$T/gateway-acme-prod.log" &&
	    never_back "$at" && pass "after a gateway restart the transfer resumes at $at" ||
	    fail "gateway restart: $(grep resuming "$T/gateway-acme-prod.log")"
else
	fail "the transfer ended before the gateway could be stopped"
fi
wait_ufield acme-prod 1.4.0 package downloaded 60 && cmp -s "$T/p140" "$UPD/$sha.pkg" &&
    pass "that package arrives whole too" || fail "package: $(ufield acme-prod 1.4.0 package)"
[ "$(ufield acme-prod 1.3.0 state)" = superseded ] &&
    [ ! -e "$UPD/$(sha256sum "$T/p130" | cut -d' ' -f1).part" ] &&
    [ ! -e "$UPD/$(sha256sum "$T/p130" | cut -d' ' -f1).pkg" ] &&
    pass "1.4.0 supersedes 1.3.0, which had not started, and its package goes" || fail "1.3.0: $(ufield acme-prod 1.3.0 state)"
finish
