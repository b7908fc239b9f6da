#!/usr/bin/env bash
# make bench: memslot lock/unlock performance of the per-page baseline and of
# the full series, side by side, from one run.
#
# Builds two kernels: the series up to BASELINE_PATCHES (the straightforward
# per-page implementation, with the trace events) and the whole series
# (with the optimisations), boots each in the test VM and runs
# kselftest/memslot_lock_bench there with the same arguments, then writes
# $BUILD/bench/lock-perf.md: median and p90 per case, the baseline/series
# ratio, and the references (mlock, MADV_POPULATE_WRITE, a guest faulting
# every page of an unlocked memslot). Then it runs upstream selftests of
# unlocked VMs (UNLOCKED_TESTS) on the kernel without the series (built
# without our own guest programs, which need the series) and on the series,
# for the figures that must not change.
#
#   SIZES=64,256,1024 REPS=5 VM_MEM=6G tests/bench/lock_perf.sh
#   PARTS=unlocked tests/bench/lock_perf.sh    (one part: lock or unlocked)
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

# The series before "Pin and map locked memslots in batches": lock/unlock
# one page at a time, with the trace events.
BASELINE_BEFORE=-KVM-arm64-Pin-and-map-locked-memslots-in-batches.patch
if [ -z "${BASELINE_PATCHES:-}" ]; then
	BASELINE_PATCHES=$(grep -n -- "$BASELINE_BEFORE" "$TOP/kernel/$KERNEL_BASE/patches/series" | cut -d: -f1)
	[ -n "$BASELINE_PATCHES" ] || die "kernel/$KERNEL_BASE/patches/series has no patch *$BASELINE_BEFORE"
	BASELINE_PATCHES=$((BASELINE_PATCHES - 1))
fi
SIZES=${SIZES:-64,256,1024}
REPS=${REPS:-5}
export VM_MEM=${VM_MEM:-6G}
OUT=$BUILD/bench
PARTS=${PARTS:-lock unlocked}
ROOTFS=$("$TOP/tests/vm/rootfs.sh")

mkdir -p "$OUT/baseline-patches"
rm -f "$OUT"/baseline-patches/*
head -n "$BASELINE_PATCHES" "$TOP/kernel/$KERNEL_BASE/patches/series" >"$OUT/baseline-patches/series"
[ "$(wc -l <"$OUT/baseline-patches/series")" = "$BASELINE_PATCHES" ] ||
	die "the series has fewer than $BASELINE_PATCHES patches"
while read -r p; do cp "$TOP/kernel/$KERNEL_BASE/patches/$p" "$OUT/baseline-patches/"; done \
	<"$OUT/baseline-patches/series"

echo "lock_perf $((REPS * 600)) sh scripts/lock_perf_guest.sh $SIZES $REPS" \
	>"$OUT/lock-perf.list"
UNLOCKED_TESTS="memslot_perf_test 300 selftests/memslot_perf_test -s 64 -f 1 -e 2 -l 3 -r 3
kvm_page_table_test 300 selftests/kvm_page_table_test -b 64M -v 1"
echo "$UNLOCKED_TESTS" >"$OUT/unlocked.list"
mkdir -p "$OUT/base-patches"
rm -f "$OUT"/base-patches/*
touch "$OUT/base-patches/series"

# Figures are kept per kernel build (its cache key names its series and
# the bench programs), guest script and arguments: a new patch on top
# re-runs the series only.
run_kernel() { # name, kernel dir[, list, results]
	local list=${3:-$OUT/lock-perf.list} results=${4:-lock_perf} key saved r
	key=$({
		basename "$(readlink -f "$2")"
		echo "$SIZES $REPS $VM_MEM $UNLOCKED_TESTS"
		hash_files "$TOP/tests/bench/lock_perf_guest.sh" "$list"
	} | sha256sum | cut -c1-16)
	saved=$CACHE/bench/lock-perf-$key.log
	if [ -s "$saved" ]; then
		note "$1 kernel: figures from $saved"
	else
		note "benchmarking the $1 kernel: $(head -n 1 "$2/series.log")"
		VM_TEST_LISTS=$list VM_RUN_DIR=$OUT/vm "$TOP/tests/vm/run.sh" "$2" "$ROOTFS" >&2
		mkdir -p "$CACHE/bench"
		for r in $results; do cat "$OUT/vm/payload/results/$r.log"; done >"$saved.tmp"
		mv "$saved.tmp" "$saved"
	fi
	cp "$saved" "$OUT/$1.log"
}

lock_table() {
	{
	echo "# Memslot lock benchmark"
	echo
	echo "\`make bench\` on $(date -u +%Y-%m-%d), $REPS repetitions, test VM (QEMU TCG, $VM_MEM)."
	echo "baseline: patches 1-$BASELINE_PATCHES, top: $(head -n 1 "$baseline/series.log" | cut -d' ' -f2-)"
	echo "series: patches 1-$(grep -c . "$TOP/kernel/$KERNEL_BASE/patches/series"), top: $(head -n 1 "$series/series.log" | cut -d' ' -f2-)"
	echo
	"$TOP/tests/bench/lock_perf_table.awk" "$OUT/baseline.log" "$OUT/series.log"
	} >"$OUT/lock-perf.md"
	cat "$OUT/lock-perf.md"
}

series=$("$TOP/kernel/scripts/kernel.sh" build default)
if [[ " $PARTS " == *" lock "* ]]; then
	baseline=$(KVMLOCK_PATCHES=$OUT/baseline-patches "$TOP/kernel/scripts/kernel.sh" build default)
	run_kernel baseline "$baseline"
	run_kernel series "$series"
	lock_table
fi
if [[ " $PARTS " == *" unlocked "* ]]; then
	unlocked_names=$(cut -d' ' -f1 "$OUT/unlocked.list")
	run_kernel series-unlocked "$series" "$OUT/unlocked.list" "$unlocked_names"
	base=$(KVMLOCK_PATCHES=$OUT/base-patches KVMLOCK_OWN_SELFTESTS=0 \
		"$TOP/kernel/scripts/kernel.sh" build default)
	run_kernel base-unlocked "$base" "$OUT/unlocked.list" "$unlocked_names"
	{
		echo "Unlocked VMs, upstream selftests (seconds), the kernel without the series and with it:"
		echo
		"$TOP/tests/bench/unlocked_table.awk" "$OUT/base-unlocked.log" "$OUT/series-unlocked.log"
	} >"$OUT/unlocked.md"
	cat "$OUT/unlocked.md"
fi
