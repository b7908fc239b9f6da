#!/usr/bin/env bash
# make check: host-side tests (tests/host/test_*.sh), then the guest tests in
# the test VM, on a CPU with FWB, on one without, and with a movable zone
# (tests/vm/movable-tests.list). Ends with one line
# "N passed, N failed, N skipped" over all.
#
#   check.sh [--host | --vm] KERNEL_DIR [ROOTFS_DIR]
#
# --host runs the host tests only (make check-host), --vm the test VM boots
# only (make check-vm): three on KERNEL_DIR, then one per debug kernel of
# CHECK_VARIANTS; ROOTFS_DIR is needed for the VM.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

passed=0 failed=0 skipped=0
# The line every suite ends with (tests/host/lib.sh finish, report.sh).
SUMMARY='^[^ ]+: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$'

# Run one suite, show its output and add its counts, taken from its last
# line, which must be its summary. A suite that ends otherwise (died before
# its summary, or printed nothing) counts as one failure; so does one that
# exits non-zero while its summary says 0 failed. Never both.
run_suite() {
	local out rc last n
	out=$(mktemp)
	"$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	last=$(tail -n 1 "$out")
	rm -f "$out"
	if ! grep -qE "$SUMMARY" <<<"$last"; then
		echo "check: $* ended (exit $rc) without its summary line: counted as 1 failure"
		failed=$((failed + 1))
		return
	fi
	passed=$((passed + $(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$last")))
	n=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$last")
	failed=$((failed + n))
	if grep -q skipped <<<"$last"; then
		skipped=$((skipped + $(sed -E 's/.* ([0-9]+) skipped.*/\1/' <<<"$last")))
	fi
	if [ "$rc" -ne 0 ] && [ "$n" -eq 0 ]; then
		echo "check: $* exited $rc although its summary says 0 failed: counted as 1 failure"
		failed=$((failed + 1))
	fi
}

host_suites() {
	local t
	export KVMLOCK_KERNEL_DIR=$KDIR
	for t in "$TOP"/tests/host/test_*.sh; do
		[ -e "$t" ] || continue
		echo "== host: ${t##*/}"
		run_suite bash "$t"
	done
}

vm_suites() {
	echo "== guest: test VM"
	run_suite "$TOP/tests/vm/run.sh" "$KDIR" "$ROOTFS"
	# What kvmlock-top exported in that run, through the real Prometheus.
	echo "== host: kvmlock-top's Prometheus files from the test VM"
	run_suite "$TOP/tests/vm/prom_check.sh" "$BUILD/vm/payload/results"
	# QEMU's -cpu max has FWB, so the cache maintenance that locking defers
	# without it only runs on an older CPU: neoverse-n1 (no MTE either).
	echo "== guest: test VM without FWB (-cpu neoverse-n1)"
	VM_CPU=neoverse-n1 VM_MACHINE=virt,virtualization=on,gic-version=3 \
		VM_TEST_LISTS="$TOP/tests/vm/nofwb-tests.list" VM_RUN_DIR="$BUILD/vm-nofwb" \
		run_suite "$TOP/tests/vm/run.sh" "$KDIR" "$ROOTFS"
	# Long-term pins migrate pages out of ZONE_MOVABLE, which the other
	# boots have none of: LOCK with every page migrated first.
	echo "== guest: test VM with a movable zone (movablecore=1G)"
	VM_KERNEL_ARGS=movablecore=1G VM_TEST_LISTS="$TOP/tests/vm/movable-tests.list" \
		VM_RUN_DIR="$BUILD/vm-movable" run_suite "$TOP/tests/vm/run.sh" "$KDIR" "$ROOTFS"
}

# The kernel tests again on the debug kernels, each built (or taken from
# the cache) here: lockdep and atomic-sleep checks (debug), KASAN and
# kmemleak (kasan). CHECK_VARIANTS names them (make check sets it; empty
# when KERNEL_VARIANT is not default).
variant_suites() {
	local v kdir lists
	for v in ${CHECK_VARIANTS:-}; do
		echo "== guest: kernel tests on the $v kernel"
		if ! kdir=$("$TOP/kernel/scripts/kernel.sh" build "$v"); then
			echo "check: the $v kernel did not build: counted as 1 failure"
			failed=$((failed + 1))
			continue
		fi
		lists=$TOP/tests/vm/debug-tests.list
		[ "$v" != kasan ] || lists="$lists $TOP/tests/vm/kmemleak-tests.list"
		VM_TEST_LISTS=$lists VM_RUN_DIR="$BUILD/vm-$v" \
			run_suite "$TOP/tests/vm/run.sh" "$kdir" "$ROOTFS"
	done
}

main() {
	local parts="host vm"
	case ${1:-} in
	--host) parts=host; shift ;;
	--vm) parts=vm; shift ;;
	esac
	KDIR=${1:?usage: check.sh [--host | --vm] KERNEL_DIR [ROOTFS_DIR]}
	ROOTFS=${2:-}
	[[ $parts != *vm* ]] || [ -n "$ROOTFS" ] || die "usage: check.sh [--vm] KERNEL_DIR ROOTFS_DIR"
	[[ $parts != *host* ]] || host_suites
	[[ $parts != *vm* ]] || vm_suites
	[[ $parts != *vm* ]] || variant_suites
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
}

# Sourced (tests/host/test_check.sh): only the functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
