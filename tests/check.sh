#!/usr/bin/env bash
# make check: host-side tests (tests/host/test_*.sh), then the guest tests in
# the test VM. Ends with one line "N passed, N failed, N skipped" over all.
set -uo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

KDIR=${1:?usage: check.sh KERNEL_DIR ROOTFS_DIR}
ROOTFS=${2:?usage: check.sh KERNEL_DIR ROOTFS_DIR}
passed=0 failed=0 skipped=0

# Add the counts of a "... N passed, N failed[, N skipped]" line.
tally() {
	local line
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		return
	fi
	passed=$((passed + $(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line")))
	failed=$((failed + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
	if grep -q skipped <<<"$line"; then
		skipped=$((skipped + $(sed -E 's/.* ([0-9]+) skipped.*/\1/' <<<"$line")))
	fi
}

# Run one suite, show its output, add its counts; a suite that fails
# without saying so counts as one failure.
run_suite() {
	"$@" 2>&1 | tee "$out"
	local rc=${PIPESTATUS[0]}
	tally "$out"
	if [ "$rc" -ne 0 ] && ! grep -qE '[1-9][0-9]* failed' "$out"; then
		failed=$((failed + 1))
	fi
}

export KVMLOCK_KERNEL_DIR=$KDIR
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in "$TOP"/tests/host/test_*.sh; do
	[ -e "$t" ] || continue
	echo "== host: ${t##*/}"
	run_suite bash "$t"
done
echo "== guest: test VM"
run_suite "$TOP/tests/vm/run.sh" "$KDIR" "$ROOTFS"
# QEMU's -cpu max has FWB, so the cache maintenance that locking defers
# without it only runs on an older CPU: neoverse-n1 (no MTE either).
echo "== guest: test VM without FWB (-cpu neoverse-n1)"
VM_CPU=neoverse-n1 VM_MACHINE=virt,virtualization=on,gic-version=3 \
	VM_TEST_LISTS="$TOP/tests/vm/nofwb-tests.list" VM_RUN_DIR="$BUILD/vm-nofwb" \
	run_suite "$TOP/tests/vm/run.sh" "$KDIR" "$ROOTFS"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
