#!/usr/bin/env bash
# Install what kvmlock's build and tests need, from Debian's archive through
# the machine's own apt configuration. Idempotent and silent when all is
# there. Needs root (apt-get) only when something is missing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

HOST_PACKAGES=(
	"$KSRC_PKG" gcc libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm
	bpftool libbpf-dev clang llvm dwarves libelf-dev zlib1g-dev bc flex
	bison libssl-dev cpio ccache mmdebstrap make git rsync python3
	util-linux coreutils gawk libcmocka-dev file
	prometheus prometheus-node-exporter mandoc jq curl
)
# Static arm64 builds of our userspace for the guest link against these.
# Only Multi-Arch: same libraries, which sit beside the host's own and can
# never replace one. Guest programs (busybox, bpftrace, ...) come from the
# guest root that tests/vm/rootfs.sh unpacks, never from the host's dpkg.
ARM64_PACKAGES=(
	libbpf-dev:arm64 libelf-dev:arm64 zlib1g-dev:arm64 libzstd-dev:arm64
	libncurses-dev:arm64
)

missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null |
			grep -qx installed || echo "$p"
	done
}

mapfile -t need < <(missing "${HOST_PACKAGES[@]}" "${ARM64_PACKAGES[@]}")
[ ${#need[@]} -eq 0 ] && exit 0

[ "$(id -u)" -eq 0 ] || die "missing packages (${need[*]}); run 'make deps' as root"
note "installing: ${need[*]}"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	dpkg --add-architecture arm64
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
mapfile -t still < <(missing "${HOST_PACKAGES[@]}" "${ARM64_PACKAGES[@]}")
[ ${#still[@]} -eq 0 ] || die "still missing after apt-get install: ${still[*]}"
