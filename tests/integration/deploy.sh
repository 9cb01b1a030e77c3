#!/bin/sh
# README.md's "Deploy" section, followed command by command against this
# tree's `make install DESTDIR=...`, so that it cannot rot.
#
# Every machine of the walkthrough (signing machine, relay, gateway,
# alice's workstation) is this one, inside a mount and network namespace
# of the test's own: /etc is a copy of the real one, and the directories
# `make install` and systemd-tmpfiles write (the prefix, systemd's unit,
# sysusers.d and tmpfiles.d directories, the state and run directories)
# are the DESTDIR's, so the README's commands run as written and change
# nothing outside the test directory.  relay.example.com is 127.0.0.1 on
# the namespace's own loopback; "handing" a file to another machine is a
# copy into that machine's working directory.
#
# No systemd runs as PID 1 here: `systemctl enable --now UNIT` runs the
# installed unit's ExecStart= with its User=, Group=, UMask=,
# NoNewPrivileges=, CapabilityBoundingSet= and a $NOTIFY_SOCKET the test
# listens on.  The rest of a unit's sandboxing is judged by
# systemd-analyze (verify, and security for the relay), not run.
#
# A command runs only if the Deploy section has that exact line, and
# every command line of the section must be run or stood in for here: a
# README change this test does not follow fails it.

if [ -z "${PH_DEPLOY_NS:-}" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "# not root: cannot make users or mount and network namespaces"
		exit 77
	fi
	if ! unshare --mount --net true 2>/dev/null; then
		# In a chroot / is no mount point, and mounts could not be
		# made private: they might show outside.
		if unshare --mount --net --propagation unchanged true \
		    2>/dev/null; then
			echo "# / cannot be made private here (a chroot?)"
		else
			echo "# cannot create mount and network namespaces here"
		fi
		exit 77
	fi
	PH_DEPLOY_NS=1 exec unshare --mount --net --propagation private \
	    sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

for c in systemd-analyze systemd-sysusers systemd-tmpfiles setpriv socat \
    useradd ip make ssh ssh-keygen; do
	command -v "$c" >/dev/null ||
	    { fail "$c is missing (./autogen.sh --deps installs it)"; finish; }
done
ip link set lo up || { fail "cannot bring up lo in the namespace"; finish; }

README=$top_srcdir/README.md
ROOT=$T/root
chmod 711 "$T"

# The Deploy section; its ```sh command lines; its ```ini and
# ```ssh-config blocks, one file each.
awk '/^## Deploy$/ { on = 1; next } /^## / { on = 0 } on' "$README" \
    >"$T/deploy.md"
awk '/^```sh$/ { on = 1; next } /^```$/ { on = 0 } on && NF' \
    "$T/deploy.md" >"$T/readme.cmds"
mkdir "$T/blocks"
awk -v d="$T/blocks" '
/^```(ini|ssh-config)$/ { n++; f = d "/" n "." substr($1, 4); next }
/^```$/ { f = ""; next }
f != "" { print >f }' "$T/deploy.md"
[ -s "$T/readme.cmds" ] ||
    { fail "README.md has no Deploy section with sh blocks"; finish; }
: >"$T/followed"

# in_readme LINE: is LINE a command line of the Deploy section?
in_readme() {
	grep -Fxq -- "$1" "$T/readme.cmds"
}

# followed LINE: the README's LINE, which the test stands in for.
followed() {
	in_readme "$1" ||
	    { fail "README.md's Deploy section no longer has: $1"; finish; }
	echo "$1" >>"$T/followed"
}

# on MACHINE COMMAND: run COMMAND as the README's MACHINE does: root in
# that machine's working directory, or alice or an admin in their home.
on() {
	case $1 in
	alice|admin)
		setpriv --reuid="$1" --regid="$1" --init-groups \
		    env -i HOME="$T/$1" USER="$1" LOGNAME="$1" PATH="$USER_PATH" \
		    sh -c "cd && $2" ;;
	*)
		(cd "$T/m/$1" && env -i HOME=/root PATH="$ROOT_PATH" \
		    sh -c "$2") ;;
	esac
}

# step MACHINE LINE [RUN]: the README's LINE on MACHINE (or RUN in its
# place, for a line with a placeholder); stops the test if it fails.
# Its output is in $T/step.out.
step() {
	followed "$2"
	echo "# $1: ${3:-$2}"
	on "$1" "${3:-$2}" >"$T/step.out" 2>&1; rc=$?
	sed 's/^/#   /' "$T/step.out"
	[ "$rc" -eq 0 ] || { fail "on $1: '${3:-$2}' exited $rc"; finish; }
}

# hand FILE MACHINE [NAME]: give FILE to MACHINE, over a trusted channel.
hand() {
	cp "$1" "$T/m/$2/${3:-$(basename "$1")}" ||
	    { fail "cannot hand $1 to $2"; finish; }
}

# fp FILE-OR-OUTPUT: the SHA256 fingerprint(s) in ssh-keygen -l output.
fp() {
	grep -o 'SHA256:[A-Za-z0-9+/]*' "$1"
}

# same_fp WHAT WANT: the step just run printed fingerprint WANT.
same_fp() {
	[ -n "$2" ] && fp "$T/step.out" | grep -Fxq -- "$2" &&
	    pass "$1: the fingerprint matches the one its maker printed" ||
	    fail "$1: fingerprint '$(fp "$T/step.out")', its maker printed '$2'"
}

# ---- 1. Install -------------------------------------------------------
# The tree is built already; `make install` goes to DESTDIR with the
# directories the README's ./configure line names and configure's
# defaults for the rest.
conf_line=$(grep '^\./configure' "$T/readme.cmds" | head -n 1)
followed "./autogen.sh --deps"
followed "$conf_line"
followed "make"
followed "make install"
prefix=/usr/local sysconfdir="" localstatedir="" runstatedir=""
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null)
sysusersdir=$(pkg-config --variable=sysusersdir systemd 2>/dev/null)
tmpfilesdir=$(pkg-config --variable=tmpfilesdir systemd 2>/dev/null)
for o in ${conf_line#./configure}; do
	v=${o#*=}
	case $v in
	/*) ;;
	*) fail "README's configure option $o: not a directory"; finish ;;
	esac
	case $o in
	--prefix=*) prefix=$v ;;
	--sysconfdir=*) sysconfdir=$v ;;
	--localstatedir=*) localstatedir=$v ;;
	--runstatedir=*) runstatedir=$v ;;
	--with-systemdsystemunitdir=*) unitdir=$v ;;
	--with-sysusersdir=*) sysusersdir=$v ;;
	--with-tmpfilesdir=*) tmpfilesdir=$v ;;
	*) fail "README's configure option $o is not one this test knows"
	   finish ;;
	esac
done
sysconfdir=${sysconfdir:-$prefix/etc}
localstatedir=${localstatedir:-$prefix/var}
runstatedir=${runstatedir:-$localstatedir/run}
unitdir=${unitdir:-/lib/systemd/system}
sysusersdir=${sysusersdir:-/usr/lib/sysusers.d}
tmpfilesdir=${tmpfilesdir:-/usr/lib/tmpfiles.d}
docdir=$prefix/share/doc/porthole
mandir=$prefix/share/man
ROOT_PATH=$prefix/sbin:$prefix/bin:/usr/sbin:/usr/bin:/sbin:/bin
USER_PATH=$prefix/bin:/usr/bin:/bin
for v in systemdsystemunitdir sysusersdir tmpfilesdir; do
	if grep -q "^$v = no\$" "$top_builddir/Makefile"; then
		echo "# configured with --with-$v=no: nothing to follow the README with"
		exit 77
	fi
done
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$top_builddir" install \
    DESTDIR="$ROOT" prefix="$prefix" exec_prefix="$prefix" \
    bindir="$prefix/bin" sbindir="$prefix/sbin" \
    datarootdir="$prefix/share" docdir="$docdir" mandir="$mandir" \
    sysconfdir="$sysconfdir" localstatedir="$localstatedir" \
    runstatedir="$runstatedir" systemdsystemunitdir="$unitdir" \
    sysusersdir="$sysusersdir" tmpfilesdir="$tmpfilesdir" \
    >"$T/install.log" 2>&1 ||
    { fail "make install DESTDIR: $(tail -n 5 "$T/install.log")"; finish; }
for f in "$prefix/sbin/portholed" "$prefix/sbin/porthole-relay" \
    "$prefix/bin/porthole" "$prefix/bin/porthole-make-ca" \
    "$prefix/bin/porthole-make-host-key" \
    "$prefix/bin/porthole-make-cluster-key" \
    "$prefix/bin/porthole-issue-engineer" \
    "$unitdir/portholed.service" "$unitdir/porthole-relay.service" \
    "$sysusersdir/porthole.conf" "$tmpfilesdir/porthole.conf" \
    "$docdir/examples/porthole.conf" "$docdir/examples/relay.conf"; do
	[ -f "$ROOT$f" ] || fail "make install did not install $f"
done

# The users from the installed sysusers.d file, in an empty root.
mkdir -p "$ROOT/etc"
systemd-sysusers --root="$ROOT" >"$T/sysusers.log" 2>&1 &&
    grep -q '^porthole:' "$ROOT/etc/passwd" &&
    grep -q '^porthole-relay:' "$ROOT/etc/passwd" &&
    grep -q '^porthole-admin:' "$ROOT/etc/group" &&
    pass "systemd-sysusers --root=DESTDIR creates porthole, porthole-relay and porthole-admin" ||
    fail "sysusers: $(cat "$T/sysusers.log" "$ROOT/etc/passwd")"

# The units, in a copy of DESTDIR with this system's units beside them so
# their dependencies resolve, and the system's kill for ExecReload=.
VROOT=$T/vroot
mkdir -p "$VROOT$unitdir" "$VROOT/bin"
cp -a "$unitdir/." "$VROOT$unitdir/" 2>/dev/null
cp -a "$ROOT/." "$VROOT/"
cp /bin/kill "$VROOT/bin/kill"
systemd-analyze verify --man=no --root="$VROOT" \
    "$unitdir/portholed.service" "$unitdir/porthole-relay.service" \
    >"$T/verify.out" 2>&1; rc=$?
[ "$rc" -eq 0 ] && [ ! -s "$T/verify.out" ] &&
    pass "systemd-analyze verify --root=DESTDIR accepts both units" ||
    fail "systemd-analyze verify: rc=$rc $(cat "$T/verify.out")"
for u in portholed porthole-relay; do
	for m in $(sed -n 's/^Documentation=//p' "$ROOT$unitdir/$u.service"); do
		page=${m#man:}
		sect=${page#*(}; sect=${sect%)}; page=${page%(*}
		[ -f "$ROOT$mandir/man$sect/$page.$sect" ] ||
		    fail "$u.service names $m, which is not installed"
	done
done
for u in porthole-relay portholed; do
	systemd-analyze security --offline=true --root="$VROOT" "$u.service" \
	    >"$T/security-$u.out" 2>&1
	sed -n 's/^.*Overall exposure level for /# /p' "$T/security-$u.out"
done
level=$(sed -n 's/^.*Overall exposure level for porthole-relay.service: [0-9.]* \([A-Z]*\).*/\1/p' \
    "$T/security-porthole-relay.out")
case $level in
OK|SAFE|PERFECT)
	pass "systemd-analyze security rates porthole-relay.service $level" ;;
*)
	fail "porthole-relay.service is rated '$level': $(grep '✗' "$T/security-porthole-relay.out")" ;;
esac

# This machine as all four: /etc a copy (with relay.example.com), the
# installed trees where the README's commands expect them.
cp -a /etc "$T/etc" || { fail "cannot copy /etc"; finish; }
rm -f "$T/etc/hosts"
{ cat /etc/hosts 2>/dev/null; echo "127.0.0.1 relay.example.com"; } \
    >"$T/etc/hosts"
mkdir -p "$ROOT$localstatedir" "$ROOT$runstatedir"
binds="/etc $prefix $unitdir $sysusersdir $tmpfilesdir $localstatedir $runstatedir"
# Over an existing directory only, and never over the test's own.
for at in $binds; do
	case $T/ in
	"$at"/*) echo "# the test directory $T is beneath $at"; exit 77 ;;
	esac
	[ -d "$at" ] || { echo "# $at does not exist here to mount on"; exit 77; }
done
case $sysconfdir/ in
/etc/*|"$prefix"/*) ;;
*) echo "# $sysconfdir is beneath neither /etc nor $prefix"; exit 77 ;;
esac
for at in $binds; do
	src=$ROOT$at
	[ "$at" = /etc ] && src=$T/etc
	mount --bind "$src" "$at" || { fail "mount --bind $src $at"; finish; }
done
mkdir -p "$T/m/signing" "$T/m/relay" "$T/m/gateway"

step relay "systemd-sysusers porthole.conf"
step relay "systemd-tmpfiles --create porthole.conf"
id porthole >/dev/null 2>&1 && id porthole-relay >/dev/null 2>&1 &&
    getent group porthole-admin >/dev/null &&
    pass "systemd-sysusers porthole.conf creates the users and the group" ||
    fail "users after systemd-sysusers: $(getent passwd porthole porthole-relay)"
# The directories the example configurations name exist, with owners
# the daemons can use.
EX=$docdir/examples
for k in state_dir audit_dir run_dir; do
	d=$(sed -n "s/^$k = //p" "$EX/porthole.conf")
	[ -n "$d" ] && [ "$(stat -c %U "$d" 2>/dev/null)" = root ] ||
	    fail "porthole.conf's $k ($d) is not a directory of root's"
done
d=$(dirname "$(sed -n 's/^database = //p' "$EX/relay.conf")")
[ "$(stat -c '%U %a' "$d" 2>/dev/null)" = "porthole-relay 700" ] &&
    [ "$(stat -c '%U %a' "$runstatedir/porthole-relay" 2>/dev/null)" = "porthole-relay 700" ] &&
    pass "systemd-tmpfiles makes the directories the example configurations name" ||
    fail "relay directories: $(ls -ld "$d" "$runstatedir/porthole-relay" 2>&1)"

# ---- 2. Keys ----------------------------------------------------------
step signing "porthole-make-ca /etc/porthole-ca"
FP_CA=$(fp "$T/step.out")
hand /etc/porthole-ca/support_ca.pub relay
hand /etc/porthole-ca/support_ca.pub gateway
step relay "install -d -m 755 /etc/porthole-relay"
step relay "porthole-make-host-key /etc/porthole-relay/host_key relay.example.com"
FP_RELAY=$(fp "$T/step.out")
step relay "chown porthole-relay: /etc/porthole-relay/host_key"
step relay "install -m 644 support_ca.pub /etc/porthole-relay/"
step relay "ssh-keygen -lf /etc/porthole-relay/support_ca.pub"
same_fp "the relay's support_ca.pub" "$FP_CA"
hand /etc/porthole-relay/host_key.pub gateway relay_host_key.pub
step gateway "install -d -m 755 /etc/porthole"
step gateway "porthole-make-cluster-key /etc/porthole acme-prod"
FP_CLUSTER=$(fp "$T/step.out")
step gateway "porthole-make-host-key /etc/porthole/session_host_key acme-prod"
FP_SESSION=$(fp "$T/step.out")
step gateway "install -m 644 support_ca.pub relay_host_key.pub /etc/porthole/"
step gateway "ssh-keygen -lf /etc/porthole/support_ca.pub"
same_fp "the gateway's support_ca.pub" "$FP_CA"
step gateway "ssh-keygen -lf /etc/porthole/relay_host_key.pub"
same_fp "the gateway's relay_host_key.pub" "$FP_RELAY"
hand /etc/porthole/acme-prod.key.pub relay
step relay "install -D -m 644 acme-prod.key.pub /etc/porthole-relay/clusters/acme-prod.key.pub"
step relay "ssh-keygen -lf /etc/porthole-relay/clusters/acme-prod.key.pub"
same_fp "the relay's acme-prod.key.pub" "$FP_CLUSTER"
[ "$(stat -c '%U %a' /etc/porthole-relay/host_key)" = "porthole-relay 600" ] &&
    pass "the relay's host key is its user's alone" ||
    fail "host_key: $(ls -l /etc/porthole-relay/host_key)"

# ---- 3. Configure -----------------------------------------------------
# ini_apply BLOCK: set each KEY = VALUE of the README's block in the file
# its first line names (; in FILE): in place of the section's line for
# that key, else first in the section, else in a section added at the end.
ini_apply() {
	target=$(sed -n '1s/^; in //p' "$1")
	[ -f "$target" ] || { fail "ini block $1 names no file: $target"; finish; }
	awk '
	FNR == NR {
		if ($0 ~ /^\[.*\]$/) { sec = $0; order[++nsec] = sec; next }
		if ($0 ~ /^[a-z_.]+ = /) {
			k = $1; v = $0; sub(/^[^=]*= /, "", v)
			val[sec, k] = v; keys[sec] = keys[sec] " " k
		}
		next
	}
	/^\[.*\]$/ {
		cur = $0; seen[cur] = 1; print; add(cur); next
	}
	cur != "" && /^[a-z_.]+ =( |$)/ && ((cur, $1) in val) { next }
	{ print }
	END {
		for (i = 1; i <= nsec; i++)
			if (!(order[i] in seen)) { print ""; print order[i]; add(order[i]) }
	}
	function add(s,   n, ks, j) {
		n = split(keys[s], ks, " ")
		for (j = 1; j <= n; j++) print ks[j] " = " val[s, ks[j]]
	}' "$1" "$target" >"$target.new" && mv "$target.new" "$target" ||
	    { fail "cannot edit $target"; finish; }
	echo "# set in $target: $(grep -v '^;' "$1" | tr '\n' ' ')"
	echo "$target" >>"$T/edited"
}
: >"$T/edited"

step relay "install -m 644 $EX/relay.conf /etc/porthole-relay/"
step gateway "install -m 644 $EX/porthole.conf /etc/porthole/"
# The example as installed: valid once the keys it names exist, every
# grant off, and every key the loader knows is in it (set or commented).
"$prefix/bin/porthole" policy check /etc/porthole/porthole.conf \
    >"$T/check.out" 2>&1; rc=$?
[ "$rc" -eq 0 ] &&
    grep -q "valid; remote access off, commands off, files off, forward off, settings off" "$T/check.out" &&
    pass "the installed example porthole.conf is valid with every grant off" ||
    fail "example porthole.conf: rc=$rc $(cat "$T/check.out")"
"$prefix/bin/porthole" policy keys --man | awk '
	/^\.SS / { s = $2; gsub(/[\"\[\]]/, "", s) } /^\.B / { print s, $2 }' \
    | sort >"$T/keys.loader"
awk '/^\[[a-z_]+\]$/ { s = substr($0, 2, length($0) - 2) }
    /^(; )?[a-z_]+ =( |$)/ { k = $1 == ";" ? $2 : $1; print s, k }' \
    "$EX/porthole.conf" | sort -u >"$T/keys.example"
missing=$(comm -23 "$T/keys.loader" "$T/keys.example" | tr '\n' ',')
[ -s "$T/keys.loader" ] && [ -z "$missing" ] &&
    pass "the example porthole.conf shows every key the loader knows" ||
    fail "keys missing from the example porthole.conf: $missing"
for b in "$T"/blocks/*.ini; do
	ini_apply "$b"
done
grep -qx /etc/porthole-relay/relay.conf "$T/edited" &&
    grep -qx /etc/porthole/porthole.conf "$T/edited" ||
    fail "the README does not set up both configurations: $(cat "$T/edited")"
step gateway "porthole policy check"
grep -q "valid; remote access on, 1 command," "$T/step.out" ||
    fail "policy check after the README's edits: $(cat "$T/step.out")"
step gateway "porthole audit init"
AUDIT_KEY=$(grep -x '[0-9a-f]\{64\}' "$T/step.out")
[ -n "$AUDIT_KEY" ] || fail "porthole audit init printed no key"
# The CA's private half is on the signing machine alone: no private key
# in the relay's or the gateway's files is it, and none names where it is.
ca_pub=$(cut -d' ' -f2 /etc/porthole-ca/support_ca.pub)
leak=$(grep -rlsF -e /etc/porthole-ca /etc/porthole-relay /etc/porthole)
for k in $(grep -rlsx -e '-----BEGIN OPENSSH PRIVATE KEY-----' \
    /etc/porthole-relay /etc/porthole); do
	[ "$(ssh-keygen -y -f "$k" | cut -d' ' -f2)" = "$ca_pub" ] &&
	    leak="$leak $k"
done
[ -n "$ca_pub" ] && [ -z "$leak" ] &&
    pass "the support CA's private key is kept off the relay and the gateway" ||
    fail "the CA's private key reaches$leak"

# ---- 4. Start ---------------------------------------------------------
# start_unit UNIT LOG READY-LOG-LINE: the unit's ExecStart as systemd
# would run it.  Its readiness is READY=1 on $NOTIFY_SOCKET where the
# program sends it; a program that does not yet is waited for by its log.
start_unit() {
	unit=$1 log=$2 ready=$3 readylog=${4:-$2}
	u=$unitdir/$unit
	cmd=$(sed -n 's/^ExecStart=//p' "$u")
	user=$(sed -n 's/^User=//p' "$u")
	group=$(sed -n 's/^Group=//p' "$u")
	um=$(sed -n 's/^UMask=//p' "$u")
	case $cmd in
	/*) ;;
	*) fail "$unit: ExecStart '$cmd' is not an absolute path"; finish ;;
	esac
	mkdir -p "$runstatedir/test-notify"
	sock=$runstatedir/test-notify/$unit
	socat -u UNIX-RECV:"$sock" OPEN:"$T/$unit.notify",creat,append \
	    >/dev/null 2>&1 &
	PIDS="$PIDS $!"
	n=50
	while [ ! -S "$sock" ] && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
	chmod 666 "$sock"
	set --
	if [ -n "$user" ]; then
		set -- "$@" --reuid="$user" --regid="${group:-$user}" \
		    --init-groups
		home=$(getent passwd "$user" | cut -d: -f6)
	fi
	grep -qx NoNewPrivileges=yes "$u" && set -- "$@" --no-new-privs
	grep -qx CapabilityBoundingSet= "$u" &&
	    set -- "$@" --bounding-set=-all --inh-caps=-all
	[ $# -eq 0 ] || set -- setpriv "$@"
	# shellcheck disable=SC2086
	(cd / && umask "${um:-0022}" && exec env -i \
	    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	    NOTIFY_SOCKET="$sock" ${user:+USER=$user LOGNAME=$user HOME=$home} \
	    "$@" $cmd) >>"$T/$log.log" 2>&1 &
	UNIT_PID=$!
	PIDS="$PIDS $UNIT_PID"
	wait_for "$T/$unit.notify" "READY=1" 10 &&
	    pass "$unit sends READY=1 to \$NOTIFY_SOCKET" ||
	    { fail "$unit sent no READY=1 (Type=notify)"; finish; }
	wait_for "$T/$readylog.log" "$ready" 10 ||
	    { fail "$unit says it is ready but did not start"; finish; }
}

followed "systemctl enable --now porthole-relay.service"
start_unit porthole-relay.service relay "listening on"
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$UNIT_PID/status")" = "$(id -u porthole-relay)" ] &&
    pass "porthole-relay runs as porthole-relay" ||
    fail "porthole-relay does not run as its user"
followed "systemctl enable --now portholed.service"
start_unit portholed.service gateway "cluster acme-prod online" relay
wait_for "$T/relay.log" "cluster acme-prod online" 10 &&
    pass "the gateway's tunnel to relay.example.com is up" ||
    fail "the gateway did not reach the relay"
step relay "porthole-relay -f /etc/porthole-relay/relay.conf clusters"
grep -q "acme-prod" "$T/step.out" ||
    fail "the clusters report does not show acme-prod"
step relay "echo \"[relay.example.com]:2222 \$(cat /etc/porthole-relay/host_key.pub)\" >porthole_known_hosts"
step relay "porthole-relay -f /etc/porthole-relay/relay.conf known-hosts >>porthole_known_hosts"
ssh-keygen -lf "$T/m/relay/porthole_known_hosts" >"$T/kh.out" 2>&1
fp "$T/kh.out" | grep -Fxq -- "$FP_SESSION" &&
    fp "$T/kh.out" | grep -Fxq -- "$FP_RELAY" &&
    pass "porthole_known_hosts holds the relay's and acme-prod's keys as their makers printed them" ||
    fail "porthole_known_hosts: $(cat "$T/kh.out")"

# ---- 5. The engineer --------------------------------------------------
step signing "porthole-issue-engineer -c /etc/porthole-ca/support_ca -o /etc/porthole-ca/engineers alice SUP-1234 +8h"
FP_ALICE=$(fp "$T/step.out")
# alice's workstation account, and someone in porthole-admin on the
# gateway.
getent passwd alice >/dev/null && userdel alice
getent passwd admin >/dev/null && userdel admin
useradd -M -d "$T/alice" -s /bin/sh alice &&
    useradd -M -d "$T/admin" -s /bin/sh -G porthole-admin admin ||
    { fail "useradd"; finish; }
mkdir -p "$T/alice/.ssh" "$T/admin" "$T/m/alice"
hand /etc/porthole-ca/engineers/alice alice
hand /etc/porthole-ca/engineers/alice-cert.pub alice
hand "$T/m/relay/porthole_known_hosts" alice
cp "$T/m/alice/alice" "$T/m/alice/alice-cert.pub" \
    "$T/m/alice/porthole_known_hosts" "$T/alice/.ssh/"
chmod 600 "$T/alice/.ssh/alice"
cfg=$(ls "$T"/blocks/*.ssh-config 2>/dev/null | head -n 1)
[ -n "$cfg" ] || { fail "the Deploy section has no ssh-config block"; finish; }
cp "$cfg" "$T/alice/.ssh/config"
chown -R alice: "$T/alice"
chown admin: "$T/admin"
ssh-keygen -lf "$T/alice/.ssh/alice-cert.pub" | fp /dev/stdin |
    grep -Fxq -- "$FP_ALICE" ||
    fail "alice's certificate is not for the key porthole-issue-engineer printed"

# ---- 6. The first session ---------------------------------------------
# alice LINE: run the README's LINE as alice in the background; its
# output in $T/alice.out, its pid in ALICE_PID.
alice() {
	followed "$1"
	echo "# alice: $1"
	on alice "$1 </dev/null" >"$T/alice.out" 2>&1 &
	ALICE_PID=$!
}

# approve: as the README's admin, list the waiting session and let it in.
approve() {
	n=100
	id=""
	while [ -z "$id" ] && [ "$n" -gt 0 ]; do
		on admin "porthole sessions" >"$T/sessions.out" 2>&1
		id=$(awk '$2 == "pending" { print $1 }' "$T/sessions.out" | head -n 1)
		[ -n "$id" ] || sleep 0.1
		n=$((n - 1))
	done
	step admin "porthole sessions"
	[ -n "$id" ] && grep -q "pending  alice .*SUP-1234" "$T/sessions.out" &&
	    pass "porthole-admin's member sees alice's session wait, with its ticket" ||
	    { fail "no pending session: $(cat "$T/sessions.out")"; finish; }
	step admin "porthole approve ID" "porthole approve $id"
}

# session_ran WHAT: alice's ssh ended with the diagnostic's output.
session_ran() {
	wait "$ALICE_PID"; rc=$?
	sed 's/^/#   /' "$T/alice.out"
	[ "$rc" -eq 0 ] && grep -q "^Filesystem" "$T/alice.out" &&
	    pass "$1" || fail "$1: rc=$rc"
}

alice "ssh acme-prod status"
approve
session_ran "alice's first session, approved, runs status on acme-prod"

# The example of "Using it" works with the same ~/.ssh/config.
jline=$(sed -n 's/^\(ssh  *-J alice@relay.example.com:2222 support@acme-prod status\)  *#.*/\1/p' \
    "$README")
[ -n "$jline" ] || fail "README.md has no 'ssh -J ... support@acme-prod status' line"
if [ -n "$jline" ]; then
	echo "$jline" >>"$T/readme.cmds"
	alice "$jline"
	approve
	session_ran "the README's ssh -J line works as written"
fi

step gateway "porthole audit verify --key KEY" \
    "porthole audit verify --key $AUDIT_KEY"

# Every command line of the Deploy section was run or stood in for.
sort -u "$T/readme.cmds" >"$T/readme.sorted"
sort -u "$T/followed" >"$T/followed.sorted"
left=$(comm -23 "$T/readme.sorted" "$T/followed.sorted")
[ -z "$left" ] && pass "every command of README's Deploy section was followed" ||
    fail "README commands this test does not follow: $left"

finish
