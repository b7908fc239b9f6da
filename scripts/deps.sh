#!/usr/bin/env bash
# Install what kvmlock's build and tests need, from Debian's archive through
# the machine's own apt configuration. Idempotent and silent when all is
# there. Needs root only when something is missing. What it changes on the
# machine (docs/testing.md lists it):
#  - arm64 becomes a dpkg foreign architecture, and apt fetches its lists;
#  - the host packages of HOST_PACKAGES that are missing are installed,
#    without recommends, after it printed what apt will install and upgrade
#    (it refuses when apt would remove a package or install one of arm64);
#    meanwhile a policy-rc.d of ours refuses service starts, and the
#    services the install enabled at boot are disabled after it;
#  - nothing else is installed: the arm64 libraries that the static arm64
#    build of our tools links (ARM64_PACKAGES) and Prometheus
#    (PROMETHEUS_PACKAGES) are downloaded (apt-get download) and unpacked
#    (dpkg-deb -x) into the cache, $CACHE/deps/<set>-<key>, the key
#    hashing their versions; $BUILD/deps/<set> links to it (arm64:
#    inspector/Makefile, prometheus: tests/prometheus/lib.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# The Debian source of every base kernel (KERNEL_BASES, scripts/lib.sh).
HOST_PACKAGES=(
	"${KERNEL_BASES[@]/#/linux-source-}" gcc libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm
	bpftool libbpf-dev clang llvm dwarves libelf-dev zlib1g-dev bc flex
	bison libssl-dev cpio ccache mmdebstrap make git rsync python3
	util-linux coreutils gawk libcmocka-dev file libncurses-dev tmux
	mandoc jq curl
)
# Static arm64 builds of our userspace for the guest link against these
# (their .a files and headers). Guest programs (busybox, bpftrace, ...) come
# from the guest root that tests/vm/rootfs.sh unpacks.
ARM64_PACKAGES=(
	libbpf-dev:arm64 libelf-dev:arm64 zlib1g-dev:arm64 libzstd-dev:arm64
	libncurses-dev:arm64
)
# Daemons the tests start themselves, on 127.0.0.1 and only while they run.
PROMETHEUS_PACKAGES=(prometheus prometheus-node-exporter)

POLICY_RC_D=${KVMLOCK_POLICY_RC_D:-/usr/sbin/policy-rc.d}
POLICY_MARK='# kvmlock make deps: no service starts while it installs'
ETC=${KVMLOCK_ETC:-/etc}
APT_LISTS=${KVMLOCK_APT_LISTS:-/var/lib/apt/lists}

missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null |
			grep -qx installed || echo "$p"
	done
}

need_root() { # what for
	[ "$(id -u)" -eq 0 ] || die "$1; run 'make deps' as root"
}

# What apt-get will do to install "$@": printed, every package it installs
# or upgrades; a removal, or anything of arm64 on the host, is refused
# before anything changes.
apt_plan() {
	local sim new=() up=() rm=() foreign=() line
	sim=$(apt-get -s install --no-install-recommends "$@") ||
		die "apt-get cannot install: $*"
	while IFS= read -r line; do
		case $line in
		Inst\ *\[arm64\]\)) foreign+=("$(cut -d' ' -f2 <<<"$line")") ;;
		Inst\ *\ \[*\]\ \(*) up+=("$(sed -E 's/^Inst ([^ ]+) \[([^]]+)\] \(([^ ]+) .*/\1 \2 -> \3/' <<<"$line")") ;;
		Inst\ *) new+=("$(sed -E 's/^Inst ([^ ]+) \(([^ ]+) .*/\1 \2/' <<<"$line")") ;;
		Remv\ *) rm+=("$(cut -d' ' -f2 <<<"$line")") ;;
		esac
	done <<<"$sim"
	[ ${#rm[@]} -eq 0 ] ||
		die "apt-get would remove ${rm[*]} to install $*; nothing changed (install them by hand if you want that)"
	[ ${#foreign[@]} -eq 0 ] ||
		die "apt-get would install arm64 packages on the host (${foreign[*]}); nothing changed"
	note "apt-get installs ${#new[@]} package(s):"
	printf '  %s\n' "${new[@]}" >&2
	if [ ${#up[@]} -gt 0 ]; then
		note "and upgrades ${#up[@]} installed package(s), whose new versions those need:"
		printf '  %s\n' "${up[@]}" >&2
	fi
}

# The services that start at boot: systemd's wants links and SysV's
# S links, one path (under $ETC) a line.
enabled_services() {
	local f
	for f in "$ETC"/systemd/system/*.wants/* "$ETC"/rc[2-5].d/S*; do
		if [ -e "$f" ] || [ -L "$f" ]; then echo "${f#"$ETC"/}"; fi
	done | sort
}

# Disable at boot what is enabled now and was not in $1 (enabled_services'
# output from before the install).
disable_new_services() {
	local before=$1 new units=() scripts=() u
	new=$(comm -13 <(echo "$before") <(enabled_services))
	[ -n "$new" ] || return 0
	mapfile -t units < <(grep '^systemd/' <<<"$new" | sed 's|.*/||' | sort -u)
	for u in "${units[@]}"; do
		systemctl disable --quiet "$u" || die "could not disable $u, which the install enabled: disable it by hand"
	done
	mapfile -t scripts < <(comm -13 <(echo "$before") <(enabled_services) |
		sed -n 's|^rc[2-5]\.d/S[0-9]*||p' | sort -u)
	for u in "${scripts[@]}"; do
		update-rc.d "$u" disable >/dev/null ||
			die "could not disable /etc/init.d/$u, which the install enabled: disable it by hand"
	done
	note "disabled at boot what the install enabled: ${units[*]} ${scripts[*]}"
}

# policy-rc.d (Debian's way) refuses every service start while we install;
# a machine's own is left as it is. Ours is marked, so that one left by a
# killed run is known for ours and removed.
install_host_packages() {
	local before
	apt_plan "$@"
	if [ ! -e "$POLICY_RC_D" ]; then
		printf '#!/bin/sh\n%s\nexit 101\n' "$POLICY_MARK" >"$POLICY_RC_D"
		chmod 0755 "$POLICY_RC_D"
		on_exit "rm -f $(printf %q "$POLICY_RC_D")"
	fi
	before=$(enabled_services)
	apt-get install -y -qq --no-install-recommends "$@" >/dev/null
	disable_new_services "$before"
}

# The versions apt resolves for packages "$@": "<name>:<arch> <version>",
# a line each, in order (one apt-cache call: it takes a second or two).
versions() {
	local out
	out=$(apt-cache show --no-all-versions "$@" 2>/dev/null |
		awk '/^Package:/ { p = $2 } /^Architecture:/ { a = $2 } /^Version:/ { v = $2 }
			/^$/ && p != "" { print p ":" a " " v; p = "" }
			END { if (p != "") print p ":" a " " v }')
	# One stanza per package, each the one asked for.
	[ "$(awk '{ sub(/:.*/, "", $1); print $1 }' <<<"$out" | paste -sd' ')" = "$(printf '%s\n' "$@" | sed 's/:.*//' | paste -sd' ')" ] ||
		die "apt does not know all of $* (run 'make deps' as root: it adds the arm64 architecture and updates apt's lists)"
	echo "$out"
}

# unpack SET LIST: the packages of LIST ("<name>:<arch> <version>" lines)
# unpacked into $CACHE/deps/SET-<key> (downloaded when not there), linked
# as $BUILD/deps/SET.
unpack() {
	local set=$1 list=$2 key dir
	key=$(echo "$list" | sha256sum | cut -c1-16)
	dir=$CACHE/deps/$set-$key
	if [ ! -f "$dir/.kvmlock-done" ]; then
		if ! mkdir -p "$CACHE/deps" 2>/dev/null || [ ! -w "$CACHE/deps" ]; then
			need_root "the $set packages are not in $CACHE/deps"
		fi
		with_lock "deps-$set" fetch_into "$dir" "$list"
	fi
	mkdir -p "$BUILD/deps"
	ln -sfn "$dir" "$BUILD/deps/$set"
}

# fetch_into DIR LIST: download and unpack LIST ("<name>:<arch> <version>"
# lines) into DIR, through DIR.tmp.PID; a failed or killed run leaves
# nothing there.
fetch_into() {
	local dir=$1 list=$2 tmp deb
	[ ! -f "$dir/.kvmlock-done" ] || return 0
	rm -rf "$dir".tmp.*
	tmp=$dir.tmp.$BASHPID
	on_exit "rm -rf $(printf %q "$tmp")"
	mkdir -p "$tmp/.debs"
	note "downloading and unpacking into $dir:"
	printf '  %s\n' "$list" | sed '2,$s/^/  /' >&2
	# apt's download sandbox user must be able to write there.
	if id _apt >/dev/null 2>&1; then chown _apt "$tmp/.debs"; fi
	# shellcheck disable=SC2086 # one name=version a word
	(cd "$tmp/.debs" && apt-get download -qq ${list// /=}) ||
		die "apt-get download failed"
	for deb in "$tmp"/.debs/*.deb; do
		dpkg-deb -x "$deb" "$tmp"
	done
	rm -rf "$tmp/.debs"
	echo "$list" >"$tmp/.kvmlock-packages"
	touch "$tmp/.kvmlock-done"
	rm -rf "$dir"
	mv "$tmp" "$dir"
}

if grep -qxF "$POLICY_MARK" "$POLICY_RC_D" 2>/dev/null; then
	need_root "$POLICY_RC_D, left by an interrupted make deps, refuses every service start"
	rm -f "$POLICY_RC_D"
	note "removed $POLICY_RC_D, left by an interrupted make deps"
fi

mapfile -t need < <(missing "${HOST_PACKAGES[@]}")
if [ ${#need[@]} -gt 0 ] || ! dpkg --print-foreign-architectures | grep -qx arm64; then
	need_root "missing: ${need[*]:-the arm64 architecture}"
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		dpkg --add-architecture arm64
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	if [ ${#need[@]} -gt 0 ]; then
		install_host_packages "${need[@]}"
		mapfile -t still < <(missing "${HOST_PACKAGES[@]}")
		[ ${#still[@]} -eq 0 ] || die "still missing after apt-get install: ${still[*]}"
	fi
fi
# The versions can only have changed when apt's lists did (apt-get update):
# until then, the links made last time stand.
current() { # link: made since apt's lists last changed, to a full entry
	[ -f "$1/.kvmlock-done" ] && [ -d "$APT_LISTS" ] &&
		[ -z "$(find "$APT_LISTS" -maxdepth 1 -newer "$1" -print -quit)" ]
}
if ! current "$BUILD/deps/arm64" || ! current "$BUILD/deps/prometheus"; then
	all=$(versions "${ARM64_PACKAGES[@]}" "${PROMETHEUS_PACKAGES[@]}")
	unpack arm64 "$(head -n ${#ARM64_PACKAGES[@]} <<<"$all")"
	unpack prometheus "$(tail -n +$((${#ARM64_PACKAGES[@]} + 1)) <<<"$all")"
fi
