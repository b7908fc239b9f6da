#!/bin/sh
# What kvmlock-top costs (make bench-kvmlock-top; never make check):
#  1. lock + unlock of a pre-faulted MIB memslot, REPS times, with the tool
#     detached, attached (top mode, -b 1, output to a file), attached in
#     trace mode (every event streamed to a file), then detached again;
#     medians as the VMM sees them.
#  2. the tool's own CPU time at a 1 s interval (-j 1) while 1, then 16,
#     VMs (one VMM each) lock and unlock a LOOP_MIB memslot in a loop for
#     LOOP_S seconds: utime + stime from /proc/<pid>/stat, the events it
#     received and lost (its NDJSON), and what its BPF programs cost per
#     event, in the VMMs' context (bpftool prog show's run_time_ns over
#     run_cnt, kernel.bpf_stats_enabled on meanwhile); then the same BPF
#     figure with trace streaming every event, at the last VM count.
# A benchmark: it fails only when a workload or the tool fails, or prints
# no figures, never on a figure. TOOL, WORKLOAD, PROC, BPFTOOL,
# BPF_STATS, the sizes and SETTLE_S (1: the seconds given the tool to
# attach, and the looping VMs to start, before a measure) override
# (tests/host/test_kvmlock_top_cost.sh runs it with stand-ins and short
# waits).
TOOL=${TOOL:-/kvmlock/inspector/kvmlock-top}
W=${WORKLOAD:-/kvmlock/kselftest/memslot_lock_workload}
PROC=${PROC:-/proc}
BPFTOOL=${BPFTOOL:-bpftool}
BPF_STATS=${BPF_STATS:-/proc/sys/kernel/bpf_stats_enabled}
MIB=${MIB:-256}
REPS=${REPS:-7}
LOOP_MIB=${LOOP_MIB:-4}
LOOP_S=${LOOP_S:-20}
VMS=${VMS:-1 16}
SETTLE_S=${SETTLE_S:-1}
HZ=${HZ:-100}			# USER_HZ: /proc/<pid>/stat counts in 1/100 s
D=${TMPDIR:-/tmp}/kvmlock-top-cost
rm -rf "$D"
mkdir -p "$D"
tool= pids= stats_was=

fail() {
	echo "kvmlock_top_cost: $*" >&2
	exit 1
}

# Whatever way it ends, nothing it started runs on.
cleanup() {
	# shellcheck disable=SC2086 # pids
	kill $tool $pids 2>/dev/null
	wait 2>/dev/null
	[ -z "$stats_was" ] || echo "$stats_was" >"$BPF_STATS"
}
trap cleanup EXIT

# Starts the tool (arguments: its command line), output in $D/tool.out;
# $tool is its pid. Attached once its first line is out (top -j 1 prints
# every second) or, for trace, after a second (SETTLE_S).
tool_start() {
	"$TOOL" "$@" >"$D/tool.out" 2>"$D/tool.err" &
	tool=$!
	sleep "$SETTLE_S"
	kill -0 $tool 2>/dev/null || fail "kvmlock-top $* exited at start: $(head -n 1 "$D/tool.err")"
}

tool_stop() {
	kill -INT $tool
	wait $tool || fail "kvmlock-top exited $? on SIGINT: $(head -n 1 "$D/tool.err")"
	tool=
	[ -s "$D/tool.err" ] && fail "kvmlock-top wrote to stderr: $(head -n 1 "$D/tool.err")"
	return 0
}

# ns per run of the kvmlock-top programs loaded now: run_time_ns over
# run_cnt of bpftool prog show's mslot_* programs; "-" without runs.
bpf_ns() {
	"$BPFTOOL" prog show 2>/dev/null | awk '/ name mslot_/ {
		for (i = 1; i < NF; i++) {
			if ($i == "run_time_ns") t += $(i + 1)
			if ($i == "run_cnt") c += $(i + 1)
		}
	} END { if (c) printf "%.0f\n", t / c; else print "-" }'
}

# Starts $1 looping workloads: their pids in $pids.
loops_start() {
	pids=
	i=0
	while [ $i -lt "$1" ]; do
		$W -b "$LOOP_MIB" -n 1000000 >"$D/loop-$i.txt" 2>&1 &
		pids="$pids $!"
		i=$((i + 1))
	done
}

# Stops them; fails when one of the $1 ended early.
loops_stop() {
	for p in $pids; do
		kill -0 "$p" 2>/dev/null || fail "a looping workload ($1 VMs) exited early: $(tail -n 1 "$D"/loop-*.txt | head -n 3)"
	done
	# shellcheck disable=SC2086 # pids
	kill $pids
	# shellcheck disable=SC2086
	wait $pids 2>/dev/null
	pids=
}

# utime + stime of pid $1, in ticks
cpu_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "$PROC/$1/stat"
}

# Runs the lock/unlock workload (label $1); sets $lock and $unlock to its
# medians. Not in $(...): its failure must end this script.
run() {
	label=$1 out=$D/bench-$1.txt
	if ! $W -b "$MIB" -n "$REPS" >"$out"; then
		sed "s/^/# $label: /" "$out" >&2
		fail "the workload failed ($label)"
	fi
	sed "s/^/# $label: /" "$out" >&2
	# shellcheck disable=SC2046 # two numbers
	set -- $(sed -n 's/^median of [0-9]*: lock \([0-9]*\) us unlock \([0-9]*\) us.*/\1 \2/p' "$out")
	[ $# -eq 2 ] || fail "no medians in the workload's output ($label)"
	lock=$1 unlock=$2
}

run detached
off_lock=$lock off_unlock=$unlock
tool_start -b 1
run attached
tool_stop
top_lock=$lock top_unlock=$unlock
tool_start trace
run trace
tool_stop
traced=$(grep -c . "$D/tool.out")
trace_lock=$lock trace_unlock=$unlock
run detached-again
again_lock=$lock again_unlock=$unlock

echo "kvmlock-top cost, ${MIB} MiB memslot, median of $REPS (us):"
printf '%-30s %10s %10s\n' "" lock unlock
printf '%-30s %10s %10s\n' "tool detached" "$off_lock" "$off_unlock"
printf '%-30s %10s %10s\n' "kvmlock-top -b 1 attached" "$top_lock" "$top_unlock"
printf '%-30s %10s %10s\n' "kvmlock-top trace streaming" "$trace_lock" "$trace_unlock"
printf '%-30s %10s %10s\n' "tool detached again" "$again_lock" "$again_unlock"
awk -v a="$off_lock" -v b="$top_lock" -v c="$trace_lock" -v e="$again_lock" \
	-v u="$off_unlock" -v v="$top_unlock" -v w="$trace_unlock" \
	'BEGIN { printf "vs detached: attached lock %.3f unlock %.3f; trace lock %.3f unlock %.3f (detached again: lock %.3f)\n",
		 b / a, v / u, c / a, w / u, e / a }'
echo "trace lines streamed: $traced"

stats_was=$(cat "$BPF_STATS" 2>/dev/null) || fail "cannot read $BPF_STATS"
echo 1 >"$BPF_STATS" || fail "cannot enable $BPF_STATS"
echo "kvmlock-top CPU at a 1 s interval, VMs locking ${LOOP_MIB} MiB in a loop for ${LOOP_S} s:"
printf '%-5s %10s %12s %8s %8s %10s\n' VMs events/s "CPU ms/s" "CPU %" lost "BPF ns/ev"
for n in $VMS; do
	tool_start -j 1
	loops_start "$n"
	sleep "$SETTLE_S"
	t0=$(cpu_ticks $tool)
	sleep "$LOOP_S"
	t1=$(cpu_ticks $tool)
	bns=$(bpf_ns)
	loops_stop "$n"
	tool_stop
	# events over the run: the NDJSON's totals, last report
	last=$(grep '^{' "$D/tool.out" | tail -n 1)
	[ -n "$last" ] || fail "kvmlock-top printed no report ($n VMs)"
	ev=$(echo "$last" | sed -n 's/.*"events_received_total":\([0-9]*\).*/\1/p')
	lost=$(echo "$last" | sed -n 's/.*"events_lost_total":\([0-9]*\).*/\1/p')
	secs=$(grep -c '^{' "$D/tool.out")
	[ -n "$ev" ] && [ -n "$lost" ] && [ -n "$t0" ] && [ -n "$t1" ] ||
		fail "no figures from kvmlock-top ($n VMs)"
	awk -v n="$n" -v ev="$ev" -v s="$secs" -v t="$((t1 - t0))" -v hz="$HZ" \
		-v ls="$LOOP_S" -v lost="$lost" -v bns="$bns" \
		'BEGIN { ms = t * 1000 / hz / ls;
			 printf "%-5d %10.0f %12.2f %8.3f %8d %10s\n", n, ev / s, ms, ms / 10, lost, bns }'
done
# The BPF side again, with every event streamed (trace)
tool_start trace
loops_start "$n"
sleep "$SETTLE_S"
sleep "$LOOP_S"
tbns=$(bpf_ns)
loops_stop "$n"
tool_stop
echo "BPF ns/event with trace streaming, $n VMs: $tbns (top: $bns)"
