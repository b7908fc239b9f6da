#!/usr/bin/env bash
# make stress: memslot_lock_stress for a long time (STRESS_DURATION, default
# 1800) with 4 workers, kills and a 256 MiB memslot, on the kernel of
# KERNEL_DIR (make KERNEL_VARIANT=kasan stress for the kasan kernel), with a
# random seed it prints (STRESS_SEED=N repeats a run). On a kernel with
# kmemleak (kasan), kmemleak's scan follows (tests/vm/kmemleak-tests.list's
# kmemleak entry). Prints the program's figures; fails when it fails, when
# the console shows a splat, when kmemleak finds a leak, or on a hang.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

KDIR=${1:?usage: stress.sh KERNEL_DIR ROOTFS_DIR}
ROOTFS=${2:?usage: stress.sh KERNEL_DIR ROOTFS_DIR}
DURATION=${STRESS_DURATION:-1800}
WORKERS=${STRESS_WORKERS:-4}
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "STRESS_DURATION must be a number of seconds (got '$DURATION')"
[[ $WORKERS =~ ^[1-9][0-9]?$ ]] || die "STRESS_WORKERS must be 1 to 99 (got '$WORKERS')"
seed=${STRESS_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
[[ $seed =~ ^[0-9]+$ ]] || die "STRESS_SEED must be a number (got '$seed')"
run=$BUILD/vm-stress-$(basename "$KDIR" .out)
mkdir -p "$BUILD"
list=$BUILD/stress-$$.list
trap 'rm -f "$list"' EXIT
# the program's own grace period is 30 s; the VM's limit adds the boot's
echo "memslot_lock_stress_long $((DURATION + 120)) allow=locked-fault" \
	"kselftest/memslot_lock_stress -s $seed -t $DURATION -p $WORKERS -k -b 256" >"$list"
[ -f "$KDIR/.config" ] || die "no $KDIR/.config: cannot tell whether the kernel has kmemleak"
if grep -qx 'CONFIG_DEBUG_KMEMLEAK=y' "$KDIR/.config"; then
	grep '^kmemleak ' "$TOP/tests/vm/kmemleak-tests.list" >>"$list"
fi
note "seed $seed, $DURATION s, $WORKERS workers (STRESS_SEED=$seed repeats it)"
status=0
VM_TEST_LISTS=$list VM_RUN_DIR=$run "$TOP/tests/vm/run.sh" "$KDIR" "$ROOTFS" || status=$?
log=$run/payload/results/memslot_lock_stress_long.log
if [ -f "$log" ]; then
	sed -n '/^FIGURES/,$p' "$log"
fi
exit $status
