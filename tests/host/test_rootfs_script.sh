#!/usr/bin/env bash
# Host tests of tests/vm/rootfs.sh with stand-ins for apt-cache and
# mmdebstrap (nothing is downloaded), in a cache of its own:
#  - a build fills the cache (init installed, /bin/sh, the package list) and
#    the next run reuses it;
#  - the key follows the package versions apt resolves: a new version makes
#    a new root filesystem;
#  - a failed unpack leaves no part-built directory; apt-cache failing to
#    resolve the packages fails the run.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/lib.sh"

export KVMLOCK_CACHE=$tmp/cache
ROOTFS_SH=$TOP/tests/vm/rootfs.sh
mkdir -p "$tmp/bin"
# apt-cache depends: two names (and lines rootfs.sh must skip); show: one
# record per name, version $FAKE_VERSION; FAKE_APT=fail fails.
cat >"$tmp/bin/apt-cache" <<'EOF'
#!/bin/sh
[ "${FAKE_APT:-}" != fail ] || { echo "E: broken" >&2; exit 100; }
case $1 in
depends) printf 'bpftrace:arm64\n  Depends: libc6\n<virtual>\nlibc6:arm64\n' ;;
show)
	shift 2
	for p; do
		printf 'Package: %s\nVersion: %s\nArchitecture: arm64\n\n' "${p%:*}" "${FAKE_VERSION:-1.0}"
	done
	;;
esac
EOF
# mmdebstrap: unpacks a busybox into its target, or fails half-way.
cat >"$tmp/bin/mmdebstrap" <<'EOF'
#!/bin/sh
for a; do target=$prev; prev=$a; done
for a; do case $a in /*) target=$a; break ;; esac; done
mkdir -p "$target/bin"
echo busybox >"$target/bin/busybox"
echo "mmdebstrap: called" >&2
[ "${FAKE_MMDEBSTRAP:-}" != fail ] || exit 1
EOF
chmod +x "$tmp/bin/apt-cache" "$tmp/bin/mmdebstrap"
export PATH=$tmp/bin:$PATH

if dir=$("$ROOTFS_SH" 2>"$tmp/err") && [ -f "$dir/.kvmlock-done" ] &&
	[ -x "$dir/sbin/kvmlock-init" ] && [ "$(readlink "$dir/bin/sh")" = busybox ]; then
	ok "a build fills the cache: init, /bin/sh"
else
	not_ok "a build fills the cache: init, /bin/sh" "$(cat "$tmp/err")"
fi
expect "the cache entry lists the resolved versions" \
	"bpftrace:arm64 1.0
libc6:arm64 1.0" "$(cat "${dir:-/nonexistent}/.kvmlock-packages" 2>&1)"
expect "the next run reuses it (no unpack)" "$dir" \
	"$(FAKE_MMDEBSTRAP=fail "$ROOTFS_SH" 2>/dev/null)"
expect_fail "a new package version makes a new root filesystem (here: unpack fails)" \
	"mmdebstrap: called" env FAKE_VERSION=1.1 FAKE_MMDEBSTRAP=fail "$ROOTFS_SH"
expect "a failed unpack leaves nothing in the cache" "$(basename "$dir")" \
	"$(ls "$KVMLOCK_CACHE/rootfs")"
mkdir -p "$KVMLOCK_CACHE/rootfs/0123456789abcdef.tmp.99999"
new=$(FAKE_VERSION=1.1 "$ROOTFS_SH" 2>/dev/null)
if [ -n "$new" ] && [ "$new" != "$dir" ] && [ -f "$new/.kvmlock-done" ]; then
	ok "a new version gets its own entry"
else
	not_ok "a new version gets its own entry" "$new"
fi
expect "what a killed run left is removed" "" \
	"$(cd "$KVMLOCK_CACHE/rootfs" && ls -d -- *.tmp.* 2>/dev/null)"
expect_fail "apt-cache failing to resolve the packages fails the run" \
	"cannot resolve the guest packages" env FAKE_APT=fail "$ROOTFS_SH"

finish rootfs-script
