#!/usr/bin/env bash
# make check: host-side tests (tests/host/test_*.sh), then the guest tests in
# the test VM, on a CPU with FWB, on one without, and with a movable zone
# (tests/vm/movable-tests.list). After each suite (a host test file, a VM
# boot) it prints the suite's wall time; before the end, the ten slowest
# guest tests (report.sh's per-test times). Ends with one line
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
# "<seconds>\t<test> (<suite>)" of every guest test with a time.
TEST_TIMES=()
# The line every suite ends with (tests/host/lib.sh finish, report.sh).
SUMMARY='^[^ ]+: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$'

# Run one suite, show its output and add its counts, taken from its last
# line, which must be its summary. A suite that ends otherwise (died before
# its summary, or printed nothing) counts as one failure; so does one that
# exits non-zero while its summary says 0 failed. Never both.
# run_suite --tests N CMD...: a test VM boot, whose report (tests/vm/report.sh)
# must say it listed N tests ("vm: N tests listed, ..."); one failure more
# when it does not. --name NAME (first) names the suite in the time lines
# (default: the command).
run_suite() {
	local out rc last n want='' listed name='' start t
	if [ "$1" = --name ]; then
		name=$2
		shift 2
	fi
	if [ "$1" = --tests ]; then
		want=$2
		shift 2
	fi
	name=${name:-$*}
	out=$(mktemp)
	start=$EPOCHREALTIME
	"$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	echo "check: $name took $(awk -v a="${start/,/.}" -v b="${EPOCHREALTIME/,/.}" 'BEGIN { printf "%.1f", b - a }')s"
	last=$(tail -n 1 "$out")
	listed=$(sed -nE 's/^vm: ([0-9]+) tests listed, .*/\1/p' "$out" | tail -n 1)
	# report.sh's lines: "PASS|FAIL|SKIP  <test> <seconds>s ..."
	while read -r t; do
		TEST_TIMES+=("${t#* }"$'\t'"${t%% *} ($name)")
	done < <(sed -nE 's/^(PASS|FAIL|SKIP)  +([^ ]+) +([0-9.]+)s( .*)?$/\2 \3/p' "$out")
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
		run_suite --name "host ${t##*/}" bash "$t"
	done
}

# The ten slowest guest tests of all boots, slowest first.
slowest_tests() {
	[ ${#TEST_TIMES[@]} -gt 0 ] || return 0
	echo "check: the ten slowest tests:"
	printf '%s\n' "${TEST_TIMES[@]}" | sort -t$'\t' -s -k1,1gr | head -n 10 |
		awk -F'\t' '{ printf "%8.1fs  %s\n", $1, $2 }'
}

# One boot of the test VM on kernel $1 in run directory $2 with every test
# of lists $3 (space-separated), in the environment VAR=VALUE... after.
boot() {
	local kdir=$1 run=$2 lists=$3 n
	shift 3
	# shellcheck disable=SC2086 # one list a word
	n=$(count_tests $lists) || n=unknown
	run_suite --name "boot ${run##*/}" --tests "$n" env VM_TEST_LISTS="$lists" VM_RUN_DIR="$run" "$@" \
		"$TOP/tests/vm/run.sh" "$kdir" "$ROOTFS"
}

vm_suites() {
	local vm=$TOP/tests/vm
	echo "== guest: test VM"
	boot "$KDIR" "$BUILD/vm" "$vm/kvm-selftests.list $vm/guest-tests.list"
	# What kvmlock-top exported in that run, through the real Prometheus.
	echo "== host: kvmlock-top's Prometheus files from the test VM"
	run_suite --name "host prom_check.sh" "$TOP/tests/vm/prom_check.sh" "$BUILD/vm/payload/results"
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
	slowest_tests
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
}

# Sourced (tests/host/test_check.sh): only the functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
