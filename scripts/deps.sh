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
	util-linux coreutils gawk libcmocka-dev file libncurses-dev tmux
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

# Daemons the tests start themselves, on 127.0.0.1 and only while they run:
# installing them must neither start nor enable their system services.
DAEMON_PACKAGES=(prometheus prometheus-node-exporter)
POLICY_RC_D=${KVMLOCK_POLICY_RC_D:-/usr/sbin/policy-rc.d}

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
daemons=()
for p in "${need[@]}"; do
	case " ${DAEMON_PACKAGES[*]} " in *" $p "*) daemons+=("$p") ;; esac
done
# policy-rc.d (Debian's way) refuses every service start while we install;
# a machine's own policy-rc.d is left as it is.
if [ ${#daemons[@]} -gt 0 ] && [ ! -e "$POLICY_RC_D" ]; then
	printf '#!/bin/sh\n# kvmlock make deps: no service starts while it installs\nexit 101\n' \
		>"$POLICY_RC_D"
	chmod 0755 "$POLICY_RC_D"
	trap 'rm -f "$POLICY_RC_D"' EXIT
fi
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
if [ ${#daemons[@]} -gt 0 ] && [ -d /run/systemd/system ]; then
	systemctl disable --quiet "${daemons[@]/%/.service}" ||
		note "could not disable ${daemons[*]}: they may start at boot"
fi
mapfile -t still < <(missing "${HOST_PACKAGES[@]}" "${ARM64_PACKAGES[@]}")
[ ${#still[@]} -eq 0 ] || die "still missing after apt-get install: ${still[*]}"
