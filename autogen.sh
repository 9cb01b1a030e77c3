#!/bin/sh
# Prepare the build: `./autogen.sh` runs autoreconf; `./autogen.sh --deps`
# first installs the Debian packages the build and the tests need, and
# `./autogen.sh --fuzz-deps` those for the libFuzzer targets (as root).
set -eu
cd "$(dirname "$0")"

DEPS="build-essential autoconf automake libtool pkg-config
libssh-dev libssl-dev libevent-dev libseccomp-dev libinih-dev
libjansson-dev libsqlite3-dev sqlite3 libpq-dev postgresql libcmocka-dev
libarchive-dev
openssh-client iproute2 procps tmux asciinema socat python3 jq systemd"

FUZZ_DEPS="clang libclang-rt-dev"

case "${1:-}" in
--deps) ;;
--fuzz-deps) DEPS="$DEPS $FUZZ_DEPS" ;;
"") ;;
*) echo "usage: ./autogen.sh [--deps | --fuzz-deps]" >&2; exit 2 ;;
esac
if [ -n "${1:-}" ]; then
	missing=""
	for p in $DEPS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		if [ "$(id -u)" -ne 0 ]; then
			echo "autogen.sh: missing packages:$missing (run as root to install them)" >&2
			exit 1
		fi
		echo "autogen.sh: installing$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $missing
	fi
fi
mkdir -p m4 build-aux
autoreconf -fi
