#!/bin/sh
# Who did it: every control action is on record with the peer's uid and
# user name, its login uid (which survives sudo), SUDO_USER as claimed,
# and --reason.  A second admin, a user and group this test creates
# (root only, else SKIP), approves under sudo and kills a session as
# themselves.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to create an admin"; exit 77; }
for p in useradd groupadd userdel groupdel runuser sudo; do
	command -v "$p" >/dev/null 2>&1 ||
	    { echo "SKIP: $p is not installed"; exit 77; }
done

ADM=ph21a$$
GRP=ph21g$$
SUDOERS=/etc/sudoers.d/porthole-test-$$
groupadd "$GRP" || { echo "SKIP: cannot create a group"; exit 77; }
if ! useradd -M -N -g "$GRP" -s /bin/sh "$ADM"; then
	groupdel "$GRP"
	echo "SKIP: cannot create a user"; exit 77
fi
undo() {
	rm -f "$SUDOERS"
	userdel "$ADM" 2>/dev/null
	groupdel "$GRP" 2>/dev/null
	cleanup
}
trap undo EXIT
ADM_UID=$(id -u "$ADM")

APPROVAL=required
ADMIN_GROUP=$GRP
standard_setup
CONF=$T/acme-prod/porthole.conf
AUDIT=$T/acme-prod/audit/audit.log
# The admin reaches the configuration and the control socket, and runs a
# copy of porthole in the test's directory: the build tree may be where
# only root can go (/root/porthole on a fresh machine).
chmod 755 "$T"
ADM_CLI=$T/porthole
install -m 0755 "$CLI_BIN" "$ADM_CLI"


# The admin as themselves: uid and name are the kernel's word.
essh acme-prod sleepy 30 >/dev/null 2>&1 &
eng=$!
id=$(listed_id "$CONF" sessions pending) || fail "no pending session"
runuser -u "$ADM" -- "$ADM_CLI" -f "$CONF" approve "$id" --reason \
    "ticket SUP-1234: checking the ingest queue" >"$T/out" 2>&1 ||
    fail "the admin's approve: $(cat "$T/out")"
grep -q "\"type\":\"session_approved\".*\"session\":\"$id\".*\"by\":\"uid $ADM_UID ($ADM)\"" "$AUDIT" &&
    grep "\"type\":\"session_approved\".*\"session\":\"$id\"" "$AUDIT" |
    grep -q "\"reason\":\"ticket SUP-1234: checking the ingest queue\"" &&
    pass "approve by a member of admin_group: their uid, name and --reason on record" ||
    fail "approve record: $(grep "\"session_approved\".*$id" "$AUDIT")"
wait_for "$AUDIT" "\"type\":\"command_allowed\".*\"session\":\"$id\"" 10 ||
    fail "the approved session did not run"
runuser -u "$ADM" -- "$ADM_CLI" -f "$CONF" kill "$id" --reason "done" \
    >/dev/null 2>&1 || fail "the admin's kill"
wait "$eng"
grep "\"type\":\"session_killed\".*\"session\":\"$id\"" "$AUDIT" |
    grep -q "\"user\":\"$ADM\".*\"reason\":\"done\"" &&
    pass "kill --reason: who and why on record" ||
    fail "kill record: $(grep "\"session_killed\".*$id" "$AUDIT")"

# Under sudo: uid 0, but the login uid names the admin, and SUDO_USER
# is recorded as what it is, a claim.  The login uid is set as a login
# (pam_loginuid) would set it; a kernel without audit support cannot.
echo "$ADM ALL=(root) NOPASSWD: $ADM_CLI" >"$SUDOERS"
chmod 440 "$SUDOERS"
essh acme-prod status >/dev/null 2>&1 &
eng=$!
id=$(listed_id "$CONF" sessions pending) || fail "no pending session for sudo"
if sh -c "echo $ADM_UID >/proc/self/loginuid" 2>/dev/null; then
	sh -c "echo $ADM_UID >/proc/self/loginuid && exec runuser -u $ADM -- sudo -n $ADM_CLI -f $CONF approve $id --reason 'as root'" \
	    >"$T/out" 2>&1 || fail "approve under sudo: $(cat "$T/out")"
	line=$(grep "\"type\":\"session_approved\".*\"session\":\"$id\"" "$AUDIT")
	echo "$line" | grep -q "\"uid\":0," &&
	    echo "$line" | grep -q "\"loginuid\":$ADM_UID,\"login_user\":\"$ADM\"" &&
	    echo "$line" | grep -q "\"sudo_user_claimed\":\"$ADM\"" &&
	    echo "$line" | grep -q "\"by\":\"uid 0 (root), login uid $ADM_UID ($ADM), SUDO_USER $ADM (claimed)\"" &&
	    pass "approve under sudo: uid 0, the admin's login uid, SUDO_USER as claimed" ||
	    fail "sudo approve record: $line"
else
	echo "# this kernel keeps login uids fixed: approving as root instead"
	"$CLI_BIN" -f "$CONF" approve "$id" >/dev/null 2>&1
fi
wait "$eng"

# A claim is only a claim: root saying SUDO_USER=mallory is recorded so.
essh acme-prod status >/dev/null 2>&1 &
eng=$!
id=$(listed_id "$CONF" sessions pending) || fail "no pending session for the claim"
SUDO_USER=mallory "$CLI_BIN" -f "$CONF" deny "$id" >/dev/null 2>&1 ||
    fail "deny with a claimed SUDO_USER"
wait "$eng"
grep "\"type\":\"session_denied\".*\"session\":\"$id\"" "$AUDIT" |
    grep -q '"by":"uid 0 (root), SUDO_USER mallory (claimed)"' &&
    pass "SUDO_USER is recorded as claimed beside the uid the kernel gives" ||
    fail "claim record: $(grep "\"session_denied\".*$id" "$AUDIT")"

# Bad input is refused with a clear line, and nothing is done.
"$CLI_BIN" -f "$CONF" kill 0123456789abcdef --reason "$(printf 'a\033[2Jb')" \
    >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "reason: at most 256 bytes of UTF-8 text without control characters" "$T/err" &&
    pass "a --reason with control characters is refused" ||
    fail "bad reason: rc=$rc $(cat "$T/err")"
SUDO_USER='x y' "$CLI_BIN" -f "$CONF" sessions >/dev/null 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] && grep -q "SUDO_USER is not a user name" "$T/err" &&
    pass "a SUDO_USER that is not a user name is refused" ||
    fail "bad SUDO_USER: rc=$rc $(cat "$T/err")"
"$CLI_BIN" -f "$CONF" reload >/dev/null 2>&1
grep -q '"type":"policy_reloaded".*"by":"uid 0 (root)"' "$AUDIT" &&
    pass "reload names its uid and user" || fail "reload record"

finish
