#!/usr/bin/env bash
# make demo: boot the patched kernel under QEMU and show VMs running in it,
# one of them locking its memory (KVM_CAP_ARM_LOCK_USER_MEMORY_REGION), and
# the trace events those locks emit, and kvmlock-top reporting a VMM that
# locks and unlocks memslots of two VMs over a few seconds.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

KDIR=${1:?usage: demo.sh KERNEL_DIR ROOTFS_DIR}
ROOTFS=${2:?usage: demo.sh KERNEL_DIR ROOTFS_DIR}
echo "kernel series (newest first):"
sed 's/^/  /' "$KDIR/series.log"
status=0
# A run directory of its own: a make check in this clone cannot remove it
# between the run and the lines shown below.
export VM_RUN_DIR=$BUILD/vm-demo
"$TOP/tests/vm/run.sh" "$KDIR" "$ROOTFS" kvm_smoke_test aarch64/memslot_lock_test \
	trace_events kvmlock_top_demo ||
	status=$?
echo "--- guest console: KVM"
grep -aE 'kvm \[|KVMLOCK-BOOTED' "$VM_RUN_DIR/console.txt" || true
# trace_events shows the kvm_memslot_* events of a VMM locking memory.
for t in kvm_smoke_test aarch64_memslot_lock_test trace_events kvmlock_top_demo; do
	echo "--- $t"
	cat "$VM_RUN_DIR/payload/results/$t.log"
done
exit $status
