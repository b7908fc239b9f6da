#!/usr/bin/env bash
# make check: host-side tests (tests/host/test_*.sh), then the guest tests in
# the test VM, on a CPU with FWB, on one without, and with a movable zone
# (tests/vm/movable-tests.list). Ends with one line
# "N passed, N failed, N skipped" over all.
#
#   check.sh [--host | --vm] [--variants 'V...'] KERNEL_DIR [ROOTFS_DIR]
#   check.sh --refuse-env
#
# --host runs the host tests only (make check-host), --vm the test VM boots
# only (make check-vm): three on KERNEL_DIR, then one per debug kernel of
# --variants (default 'debug kasan'; make check gives none when
# KERNEL_VARIANT is not default); ROOTFS_DIR is needed for the VM. Each
# boot runs every test of its lists, and must report as many as they name.
#
# The environment cannot change what is tested: check.sh refuses to start
# when a variable of REFUSED_ENV is set (even empty), with one line naming
# them; they are for the targets that mean to use them (make vm-test,
# bench-*, check-pages, stress, mutants). --refuse-env does only that
# (make check runs it before it builds anything).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

# The test VM's settings (tests/vm/run.sh, watchdog.sh) and the kernel's
# inputs (kernel/scripts/kernel.sh).
REFUSED_ENV=(
	VM_TEST_LISTS VM_RUN_DIR VM_KERNEL_ARGS VM_CPU VM_CPUS VM_MEM VM_MACHINE
	VM_QEMU_EXTRA VM_WATCHDOG_SLACK VM_WATCHDOG_POLL VM_BOOT_LIMIT VM_OUTSIDE_LIMIT
	KVMLOCK_PATCHES KVMLOCK_CONFIG_DIR KVMLOCK_OWN_SELFTESTS CHECK_VARIANTS
)

refuse_env() {
	local v set=()
	for v in "${REFUSED_ENV[@]}"; do
		[ -z "${!v+x}" ] || set+=("$v")
	done
	[ ${#set[@]} -eq 0 ] ||
		die "${set[*]} set: make check runs its own lists on its own kernels and VM settings; unset them (they are for make vm-test, bench-*, check-pages, stress, mutants)"
}

# count_tests LIST...: how many tests the lists name.
count_tests() {
	local list
	TL_NAME=()
	for list; do load_test_list "$list"; done
	echo "${#TL_NAME[@]}"
}

passed=0 failed=0 skipped=0
# The line every suite ends with (tests/host/lib.sh finish, report.sh).
SUMMARY='^[^ ]+: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$'

# Run one suite, show its output and add its counts, taken from its last
# line, which must be its summary. A suite that ends otherwise (died before
# its summary, or printed nothing) counts as one failure; so does one that
# exits non-zero while its summary says 0 failed. Never both.
# run_suite --tests N CMD...: a test VM boot, whose report (tests/vm/report.sh)
# must say it listed N tests ("vm: N tests listed, ..."); one failure more
# when it does not.
run_suite() {
	local out rc last n want='' listed
	if [ "$1" = --tests ]; then
		want=$2
		shift 2
	fi
	out=$(mktemp)
	"$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	last=$(tail -n 1 "$out")
	listed=$(sed -nE 's/^vm: ([0-9]+) tests listed, .*/\1/p' "$out" | tail -n 1)
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
	elif [ -n "$want" ] && [ "${listed:-none}" != "$want" ]; then
		echo "check: $* ran ${listed:-no} tests where its lists name $want: counted as 1 failure"
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

# One boot of the test VM on kernel $1 in run directory $2 with every test
# of lists $3 (space-separated), in the environment VAR=VALUE... after.
boot() {
	local kdir=$1 run=$2 lists=$3 n
	shift 3
	# shellcheck disable=SC2086 # one list a word
	n=$(count_tests $lists) || n=unknown
	run_suite --tests "$n" env VM_TEST_LISTS="$lists" VM_RUN_DIR="$run" "$@" \
		"$TOP/tests/vm/run.sh" "$kdir" "$ROOTFS"
}

vm_suites() {
	local vm=$TOP/tests/vm
	echo "== guest: test VM"
	boot "$KDIR" "$BUILD/vm" "$vm/kvm-selftests.list $vm/guest-tests.list"
	# What kvmlock-top exported in that run, through the real Prometheus.
	echo "== host: kvmlock-top's Prometheus files from the test VM"
	run_suite "$TOP/tests/vm/prom_check.sh" "$BUILD/vm/payload/results"
	# QEMU's -cpu max has FWB, so the cache maintenance that locking defers
	# without it only runs on an older CPU: neoverse-n1 (no MTE either).
	echo "== guest: test VM without FWB (-cpu neoverse-n1)"
	boot "$KDIR" "$BUILD/vm-nofwb" "$vm/nofwb-tests.list" \
		VM_CPU=neoverse-n1 VM_MACHINE=virt,virtualization=on,gic-version=3
	# Long-term pins migrate pages out of ZONE_MOVABLE, which the other
	# boots have none of: LOCK with every page migrated first.
	echo "== guest: test VM with a movable zone (movablecore=1G)"
	boot "$KDIR" "$BUILD/vm-movable" "$vm/movable-tests.list" VM_KERNEL_ARGS=movablecore=1G
}

# The kernel tests again on the debug kernels, each built (or taken from
# the cache) here: lockdep and atomic-sleep checks (debug), KASAN and
# kmemleak (kasan).
variant_suites() {
	local v kdir lists
	for v in $VARIANTS; do
		echo "== guest: kernel tests on the $v kernel"
		if ! kdir=$("$TOP/kernel/scripts/kernel.sh" build "$v"); then
			echo "check: the $v kernel did not build: counted as 1 failure"
			failed=$((failed + 1))
			continue
		fi
		lists=$TOP/tests/vm/debug-tests.list
		[ "$v" != kasan ] || lists="$lists $TOP/tests/vm/kmemleak-tests.list"
		boot "$kdir" "$BUILD/vm-$v" "$lists"
	done
}

main() {
	local parts="host vm"
	VARIANTS="debug kasan"
	refuse_env
	while :; do
		case ${1:-} in
		--host) parts=host; shift ;;
		--vm) parts=vm; shift ;;
		--variants) VARIANTS=${2?}; shift 2 ;;
		--refuse-env) exit 0 ;;
		*) break ;;
		esac
	done
	KDIR=${1:?usage: check.sh [--host | --vm] [--variants 'V...'] KERNEL_DIR [ROOTFS_DIR]}
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
