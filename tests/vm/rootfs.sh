#!/usr/bin/env bash
# Build (or reuse) the guest root filesystem: a Debian arm64 userland with
# bpftrace, bpftool, perf, jq (to check kvmlock-top's JSON) and tmux with
# ncurses-base's terminfo and libc-bin's C.UTF-8 locale, which tmux needs
# (to drive kvmlock-top's screen), python3 (for the kernel tree's
# tools/kvm/kvm_stat), unpacked from
# Debian's packages with the machine's own apt sources (no emulation
# needed), plus our init shim.
# Prints the cached directory. Booted read-only over 9p. Cached in
# $CACHE/rootfs/<key>, keyed by the package versions apt resolves and the
# scripts; .kvmlock-packages there lists the versions.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

PACKAGES=busybox-static,bpftrace,bpftool,linux-perf,jq,tmux,ncurses-base,libc-bin,libc6,python3
SUITE=bookworm

# The machine's apt source files that name Debian's archive.
apt_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources; do
		[ -s "$f" ] && grep -qiE '^[^#]*debian' "$f" && echo "$f"
	done
	return 0
}

# The versions apt would unpack for the guest: every package of $PACKAGES
# and of their dependencies, for arm64, as the machine's apt lists give them
# (arm64 is a foreign architecture there, added by make deps). In the cache
# key, so that a new version (after apt-get update) makes a new userland.
package_versions() {
	local names
	# shellcheck disable=SC2046 # one argument per package
	names=$(apt-cache depends --recurse --no-recommends --no-suggests \
		--no-conflicts --no-breaks --no-replaces --no-enhances \
		$(tr ',' '\n' <<<"$PACKAGES" | sed 's/$/:arm64/')) || return 1
	names=$(grep -v '^[[:space:]<]' <<<"$names" | sort -u)
	[ -n "$names" ] || return 1
	# shellcheck disable=SC2086 # one package name per word
	apt-cache show --no-all-versions $names |
		awk 'function out() { if (p != "") print p ":" a " " v; p = a = v = "" }
			/^Package:/ { p = $2 } /^Architecture:/ { a = $2 } /^Version:/ { v = $2 }
			/^$/ { out() } END { out() }' | sort -u
}

build_rootfs() {
	local key dest tmp sources versions
	versions=$(package_versions) && [ -n "$versions" ] ||
		die "apt-cache cannot resolve the guest packages ($PACKAGES) for arm64 (run: make deps)"
	key=$({
		echo "$PACKAGES $SUITE"
		echo "$versions"
		hash_files "$TOP/tests/vm/rootfs.sh" "$TOP/tests/vm/guest-init" "$TOP/scripts/lib.sh"
	} | sha256sum | cut -c1-16)
	dest=$CACHE/rootfs/$key
	if [ -f "$dest/.kvmlock-done" ]; then
		echo "$dest"
		return 0
	fi
	exec 3>&1 1>&2
	mapfile -t sources < <(apt_sources)
	[ ${#sources[@]} -gt 0 ] || die "no Debian apt source file found in /etc/apt"
	mkdir -p "$(dirname "$dest")"
	# The lock is ours: other part-built directories are left over from a
	# killed run. Ours goes whatever happens.
	rm -rf "$CACHE"/rootfs/*.tmp.*
	tmp=$dest.tmp.$BASHPID
	on_exit "rm -rf $(printf %q "$tmp")"
	note "unpacking arm64 userland ($PACKAGES) into $dest"
	mmdebstrap --quiet --variant=extract --architectures=arm64 \
		--include="$PACKAGES" "$SUITE" "$tmp" "${sources[@]}" >&2
	mkdir -p "$tmp"/{proc,sys,dev,tmp,run,mnt,kvmlock,sbin,bin,root,var/tmp}
	install -m 0755 "$TOP/tests/vm/guest-init" "$tmp/sbin/kvmlock-init"
	# --variant=extract runs no maintainer scripts, so nothing made /bin/sh,
	# and bpftrace's popen() of a shell (for tracepoint args->) crashes
	# without one.
	[ -e "$tmp/bin/sh" ] || ln -s busybox "$tmp/bin/sh"
	echo "$versions" >"$tmp/.kvmlock-packages"
	touch "$tmp/.kvmlock-done"
	rm -rf "$dest"
	mv "$tmp" "$dest"
	echo "$dest" >&3
}

with_lock rootfs build_rootfs
