#!/usr/bin/env bash
# Build (or reuse) the guest root filesystem: a Debian arm64 userland with
# bpftrace, bpftool and perf, unpacked from Debian's packages with the
# machine's own apt sources (no emulation needed), plus our init shim.
# Prints the cached directory. Booted read-only over 9p.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

PACKAGES=busybox-static,bpftrace,bpftool,linux-perf,libc6
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

build_rootfs() {
	local key dest tmp sources
	key=$({
		echo "$PACKAGES $SUITE"
		hash_files "$TOP/tests/vm/rootfs.sh" "$TOP/tests/vm/guest-init"
	} | sha256sum | cut -c1-16)
	dest=$CACHE/rootfs/$key
	if [ -f "$dest/.kvmlock-done" ]; then
		echo "$dest"
		return 0
	fi
	exec 3>&1 1>&2
	mapfile -t sources < <(apt_sources)
	[ ${#sources[@]} -gt 0 ] || die "no Debian apt source file found in /etc/apt"
	tmp=$dest.tmp.$$
	rm -rf "$tmp"
	mkdir -p "$(dirname "$dest")"
	note "unpacking arm64 userland ($PACKAGES) into $dest"
	mmdebstrap --quiet --variant=extract --architectures=arm64 \
		--include="$PACKAGES" "$SUITE" "$tmp" "${sources[@]}" >&2
	mkdir -p "$tmp"/{proc,sys,dev,tmp,run,mnt,kvmlock,sbin,bin,root,var/tmp}
	install -m 0755 "$TOP/tests/vm/guest-init" "$tmp/sbin/kvmlock-init"
	# --variant=extract runs no maintainer scripts, so nothing made /bin/sh,
	# and bpftrace's popen() of a shell (for tracepoint args->) crashes
	# without one.
	[ -e "$tmp/bin/sh" ] || ln -s busybox "$tmp/bin/sh"
	touch "$tmp/.kvmlock-done"
	rm -rf "$dest"
	mv "$tmp" "$dest"
	echo "$dest" >&3
}

with_lock rootfs build_rootfs
