#!/usr/bin/env bash
# make demo: boot the patched kernel under QEMU and show a VM running in it.
# (Later issues grow this into locking a memslot under kvmlock-top.)
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

KDIR=${1:?usage: demo.sh KERNEL_DIR ROOTFS_DIR}
ROOTFS=${2:?usage: demo.sh KERNEL_DIR ROOTFS_DIR}
echo "kernel: $(head -n 1 "$KDIR/series.log" 2>/dev/null || echo base)"
status=0
"$TOP/tests/vm/run.sh" "$KDIR" "$ROOTFS" kvm_smoke_test || status=$?
echo "--- guest console: KVM"
grep -E 'kvm \[|KVMLOCK-BOOTED' "$BUILD/vm/console.log" | tr -d '\r' || true
echo "--- kvm_smoke_test output"
cat "$BUILD/vm/payload/results/kvm_smoke_test.log"
exit $status
