#!/usr/bin/env bash
# make check: host-side tests (tests/host/test_*.sh), then the guest tests in
# the test VM, on a CPU with FWB, on one without, and with a movable zone
# (tests/vm/movable-tests.list). After each suite (a host test file, a VM
# boot) it prints the suite's wall time; before the end, the ten slowest
# guest tests (report.sh's per-test times). Ends with one line
# "N passed, N failed, N skipped" over all.
#
# In two lanes, with two CPUs or more (CHECK_LANES=1: one): the debug
# kernels, and those of the other bases of --bases, are built (or taken
# from the cache) first; then the main lane boots the test VM (then
# prom_check.sh on its files), the movable-zone VM and the VM on the
# first debug kernel, its output shown as it goes, while the side lane, a
# session of its own, runs the host tests, then boots the VM without FWB
# and on the other debug kernels, its output in $BUILD/check-side.log,
# shown after. QEMU's two vCPU threads are busy together only for a part
# of a boot (the stress runs), so the two lanes fit in two CPUs. In one
# lane: host tests, main lane, then the side lane's boots. Last, alone,
# the VM on each other base's kernel (its kernel tests and kvmlock-top's).
#
#   check.sh [--host | --vm] [--variants 'V...'] [--bases 'B...'] KERNEL_DIR [ROOTFS_DIR]
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
# This script, for the side lane to source.
CHECK_SH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/${BASH_SOURCE[0]##*/}

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

# The kernel tests on each debug kernel of "VARIANT=KERNEL_DIR ...":
# lockdep and atomic-sleep checks (debug), KASAN and kmemleak (kasan).
variant_boots() {
	local vm=$TOP/tests/vm v kdir lists
	for v; do
		kdir=${v#*=} v=${v%%=*}
		echo "== guest: kernel tests on the $v kernel"
		lists=$vm/debug-tests.list
		[ "$v" != kasan ] || lists="$lists $vm/kmemleak-tests.list"
		boot "$kdir" "$BUILD/vm-$v" "$lists"
	done
}

# The main lane's boots: the test VM (every test of the base's selftests
# list, guest-tests.list and doc-tests.list: main_test_lists), the movable
# zone, then the first debug kernel of VARIANT_KDIRS.
main_boots() {
	local vm=$TOP/tests/vm
	# shellcheck disable=SC2086 # one kernel a word
	set -- $VARIANT_KDIRS
	echo "== guest: test VM"
	boot "$KDIR" "$BUILD/vm" "$(main_test_lists "$KERNEL_BASE")"
	# What kvmlock-top exported in that run, through the real Prometheus.
	echo "== host: kvmlock-top's Prometheus files from the test VM"
	run_suite --name "host prom_check.sh" "$TOP/tests/vm/prom_check.sh" "$BUILD/vm/payload/results"
	# Long-term pins migrate pages out of ZONE_MOVABLE, which the other
	# boots have none of: LOCK with every page migrated first.
	echo "== guest: test VM with a movable zone (movablecore=1G)"
	boot "$KDIR" "$BUILD/vm-movable" "$vm/movable-tests.list" VM_KERNEL_ARGS=movablecore=1G
	[ $# -eq 0 ] || variant_boots "$1"
}

# The side lane's boots (after the host tests): without FWB, then the
# other debug kernels of VARIANT_KDIRS.
side_boots() {
	local vm=$TOP/tests/vm
	# shellcheck disable=SC2086 # one kernel a word
	set -- $VARIANT_KDIRS
	# QEMU's -cpu max has FWB, so the cache maintenance that locking defers
	# without it only runs on an older CPU: neoverse-n1 (no MTE either).
	echo "== guest: test VM without FWB (-cpu neoverse-n1)"
	boot "$KDIR" "$BUILD/vm-nofwb" "$vm/nofwb-tests.list" \
		VM_CPU=neoverse-n1 VM_MACHINE=virt,virtualization=on,gic-version=3
	[ $# -le 1 ] || variant_boots "${@:2}"
}

# The other bases' kernels (BASE_KDIRS, "BASE=KERNEL_DIR ..."), after both
# lanes, alone: the upstream and our kernel tests, and kvmlock-top's guest
# tests with the same kvmlock-top binary, built once against this base's
# BTF. Beside another boot their timing-sensitive tests (kills aimed at a
# LOCK, screen frames) failed now and then.
base_boots() {
	local vm=$TOP/tests/vm v kdir
	for v in $BASE_KDIRS; do
		kdir=${v#*=} v=${v%%=*}
		echo "== guest: test VM on the Linux $v series"
		boot "$kdir" "$BUILD/vm-$v" "$(kvm_selftest_list "$v") $vm/guest-tests.list"
	done
}

# Builds (or takes from the cache) each debug kernel of VARIANTS, before
# any boot: a build then never runs beside a test VM. VARIANT_KDIRS gets
# "VARIANT=KERNEL_DIR" of each built; one that does not build is one
# failure.
build_variants() {
	local v kdir
	VARIANT_KDIRS= BASE_KDIRS=
	for v in $VARIANTS; do
		echo "== kernel: the $v kernel"
		if kdir=$("$TOP/kernel/scripts/kernel.sh" build "$v"); then
			VARIANT_KDIRS+=" $v=$kdir"
		else
			echo "check: the $v kernel did not build: counted as 1 failure"
			failed=$((failed + 1))
		fi
	done
	for v in $BASES; do
		echo "== kernel: the Linux $v series' kernel"
		if kdir=$(KERNEL_BASE=$v "$TOP/kernel/scripts/kernel.sh" build default); then
			BASE_KDIRS+=" $v=$kdir"
		else
			echo "check: the Linux $v series' kernel did not build: counted as 1 failure"
			failed=$((failed + 1))
		fi
	done
}

# The side lane (run in a session of its own by start_side): the host
# tests when $1 is 1, then side_boots when $2 (ROOTFS_DIR) is set. Its
# counts and test times go to $BUILD/check-side.counts when it ends:
# "passed failed skipped", then TEST_TIMES, one a line.
side_lane() {
	local counts=$BUILD/check-side.counts t
	ROOTFS=$2 VARIANT_KDIRS=$3
	passed=0 failed=0 skipped=0 TEST_TIMES=()
	[ "$1" != 1 ] || host_suites
	[ -z "$ROOTFS" ] || side_boots
	{
		echo "$passed $failed $skipped"
		for t in "${TEST_TIMES[@]}"; do printf '%s\n' "$t"; done
	} >"$counts.tmp" && mv "$counts.tmp" "$counts"
}

# Starts the side lane in the background (side_lane's arguments), in a
# session of its own: the terminal's SIGINT reaches only the main lane,
# and the EXIT trap stops the side lane whole (run.sh stops its QEMU on
# SIGTERM). Its output goes to $BUILD/check-side.log.
start_side() {
	SIDE_LOG=$BUILD/check-side.log
	mkdir -p "$BUILD"
	rm -f "$BUILD/check-side.counts"
	local what="the boot without FWB"
	# shellcheck disable=SC2086 # one kernel a word
	[ "$(set -- $3 && echo $#)" -le 1 ] || what="$what, on the other debug kernels"
	[ "$1" != 1 ] || what="the host tests, then $what"
	echo "check: meanwhile the side lane runs $what; its output: $SIDE_LOG, shown at the end"
	# shellcheck disable=SC2016 # expanded by that bash
	KDIR=$KDIR TOP=$TOP BUILD=$BUILD setsid bash -c '. "$1" && shift && side_lane "$@"' check.sh \
		"$CHECK_SH" "$@" </dev/null >"$SIDE_LOG" 2>&1 &
	SIDE_PID=$!
	# shellcheck disable=SC2064 # the pid, now
	trap "kill -TERM -- -$SIDE_PID 2>/dev/null; wait $SIDE_PID 2>/dev/null" EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

# Waits for the side lane, shows its output and adds its counts and test
# times; a side lane that ends without its counts is one failure.
finish_side() {
	local counts=$BUILD/check-side.counts line n c
	if kill -0 "$SIDE_PID" 2>/dev/null; then
		echo "check: waiting for the side lane ($SIDE_LOG)"
	fi
	wait "$SIDE_PID"
	trap - EXIT INT TERM HUP
	echo "== check: the side lane's output ($SIDE_LOG):"
	cat "$SIDE_LOG"
	if [ ! -f "$counts" ]; then
		echo "check: the side lane ended without its counts: counted as 1 failure"
		failed=$((failed + 1))
		return
	fi
	n=0
	while IFS= read -r line; do
		n=$((n + 1))
		if [ "$n" -eq 1 ]; then
			read -r -a c <<<"$line"
			passed=$((passed + c[0])) failed=$((failed + c[1])) skipped=$((skipped + c[2]))
		else
			TEST_TIMES+=("$line")
		fi
	done <"$counts"
}

# Two lanes unless CHECK_LANES=1 or this machine has one CPU.
two_lanes() {
	[ "${CHECK_LANES:-2}" != 1 ] && [ "$(nproc 2>/dev/null || echo 1)" -ge 2 ]
}

main() {
	local parts="host vm"
	VARIANTS="debug kasan" BASES=
	refuse_env
	while :; do
		case ${1:-} in
		--host) parts=host; shift ;;
		--vm) parts=vm; shift ;;
		--variants) VARIANTS=${2?}; shift 2 ;;
		--bases) BASES=${2?}; shift 2 ;;
		--refuse-env) exit 0 ;;
		*) break ;;
		esac
	done
	KDIR=${1:?usage: check.sh [--host | --vm] [--variants 'V...'] KERNEL_DIR [ROOTFS_DIR]}
	ROOTFS=${2:-}
	[[ $parts != *vm* ]] || [ -n "$ROOTFS" ] || die "usage: check.sh [--vm] KERNEL_DIR ROOTFS_DIR"
	if [[ $parts != *vm* ]]; then
		host_suites
	else
		build_variants
		if two_lanes; then
			start_side "$([[ $parts == *host* ]] && echo 1 || echo 0)" "$ROOTFS" "$VARIANT_KDIRS"
			main_boots
			finish_side
		else
			[[ $parts != *host* ]] || host_suites
			main_boots
			side_boots
		fi
		base_boots
	fi
	slowest_tests
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
}

# Sourced (tests/host/test_check.sh): only the functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
