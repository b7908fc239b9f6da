#!/bin/sh
# What the kvm_memslot_* events cost: lock + unlock of a pre-faulted 256 MiB
# memslot, REPS times, with the events off, then on (every kvm_memslot_*
# event enabled in ftrace, which also turns on the pin/map timing), then
# off again.
# Prints medians and the on/off ratio. A benchmark: it fails only when the
# workload does (or gives no medians), never on a figure.
# TRACING and WORKLOAD override the paths (tests/host/test_tracing_cost.sh).
T=${TRACING:-/sys/kernel/tracing}
W=${WORKLOAD:-/kvmlock/kselftest/memslot_lock_workload}
MIB=${MIB:-256}
REPS=${REPS:-7}

events() {
	for e in $T/events/kvm/kvm_memslot_*; do echo "$1" >"$e/enable"; done
}

# Run the workload (label $1) and set $lock and $unlock to its medians. Not
# in $(...): its failure must end this script, not a subshell.
run() {
	name=$1 out=${TMPDIR:-/tmp}/bench-$1.txt
	if ! $W -b "$MIB" -n "$REPS" >"$out"; then
		sed "s/^/# $name: /" "$out" >&2
		echo "tracing_cost: the workload failed ($name)" >&2
		exit 1
	fi
	sed "s/^/# $name: /" "$out" >&2
	# shellcheck disable=SC2046 # two numbers
	set -- $(sed -n 's/^median of [0-9]*: lock \([0-9]*\) us unlock \([0-9]*\) us.*/\1 \2/p' "$out")
	if [ $# -ne 2 ]; then
		echo "tracing_cost: no medians in the workload's output ($name)" >&2
		exit 1
	fi
	lock=$1 unlock=$2
}

echo 0 >$T/tracing_on
echo >$T/trace
events 0
run off
off_lock=$lock off_unlock=$unlock
events 1
echo 1 >$T/tracing_on
run on
on_lock=$lock on_unlock=$unlock
echo 0 >$T/tracing_on
events 0
emitted=$(grep -c ' kvm_memslot_' $T/trace)
run off-again
again_lock=$lock again_unlock=$unlock

echo "tracing cost, ${MIB} MiB memslot, median of $REPS (us):"
printf '%-22s %12s %12s\n' "" lock unlock
printf '%-22s %12s %12s\n' "events off" "$off_lock" "$off_unlock"
printf '%-22s %12s %12s\n' "events on (ftrace)" "$on_lock" "$on_unlock"
printf '%-22s %12s %12s\n' "events off again" "$again_lock" "$again_unlock"
awk -v a="$off_lock" -v b="$on_lock" -v c="$off_unlock" -v d="$on_unlock" -v e="$again_lock" \
	'BEGIN { printf "on/off ratio: lock %.3f unlock %.3f (off vs off again: %.3f)\n", b / a, d / c, e / a }'
echo "events emitted while on: $emitted (7 per lock + unlock: begin, pin, map, end; begin, unlock, end)"
