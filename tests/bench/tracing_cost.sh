#!/bin/sh
# What the kvm_memslot_* events cost: lock + unlock of a pre-faulted 256 MiB
# memslot, REPS times, with the events off, then on (every kvm_memslot_*
# event enabled in ftrace, which also turns on the pin/map timing), then
# off again.
# Prints medians and the on/off ratio. A benchmark: it fails only when the
# workload does, never on a figure.
T=/sys/kernel/tracing
W=/kvmlock/kselftest/memslot_lock_workload
MIB=${MIB:-256}
REPS=${REPS:-7}

events() {
	for e in $T/events/kvm/kvm_memslot_*; do echo "$1" >"$e/enable"; done
}

run() { # label
	$W -b "$MIB" -n "$REPS" >/tmp/bench-$1.txt || exit 1
	sed "s/^/# $1: /" /tmp/bench-$1.txt >&2
	sed -n 's/^median of [0-9]*: lock \([0-9]*\) us unlock \([0-9]*\) us.*/\1 \2/p' /tmp/bench-$1.txt
}

echo 0 >$T/tracing_on
echo >$T/trace
events 0
set -- $(run off)
off_lock=$1 off_unlock=$2
events 1
echo 1 >$T/tracing_on
set -- $(run on)
on_lock=$1 on_unlock=$2
echo 0 >$T/tracing_on
events 0
emitted=$(grep -c ' kvm_memslot_' $T/trace)
set -- $(run off-again)
again_lock=$1 again_unlock=$2

echo "tracing cost, ${MIB} MiB memslot, median of $REPS (us):"
printf '%-22s %12s %12s\n' "" lock unlock
printf '%-22s %12s %12s\n' "events off" "$off_lock" "$off_unlock"
printf '%-22s %12s %12s\n' "events on (ftrace)" "$on_lock" "$on_unlock"
printf '%-22s %12s %12s\n' "events off again" "$again_lock" "$again_unlock"
awk -v a="$off_lock" -v b="$on_lock" -v c="$off_unlock" -v d="$on_unlock" -v e="$again_lock" \
	'BEGIN { printf "on/off ratio: lock %.3f unlock %.3f (off vs off again: %.3f)\n", b / a, d / c, e / a }'
echo "events emitted while on: $emitted (7 per lock + unlock: begin, pin, map, end; begin, unlock, end)"
