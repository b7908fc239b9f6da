#!/usr/bin/env bash
# tests/bench/kvmlock_top_cost.sh (make bench-kvmlock-top's guest script)
# on the host with a stand-in kvmlock-top and workload: the exact table
# from fixed medians and event counts; the tool's CPU read from /proc; it
# fails when a workload or the tool fails or gives no figures (a benchmark
# fails only then, never on a figure).
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/lib.sh"

# kvmlock-top: trace prints 3 lines; -j prints 4 reports with 400 events
# received and 2 lost; -b prints one line. Then it waits for SIGINT (which
# a background job of sh ignores, so it sets its own handler, as the real
# tool does). FAKE=dies: exits at once; FAKE=stderr: complains; FAKE=burn:
# spins while it waits.
cat >"$tmp/tool" <<'PY'
#!/usr/bin/env python3
import os, signal, sys, time
fake = os.environ.get("FAKE", "")
if fake == "dies":
    sys.exit("kvmlock-top: cannot attach")
if fake == "stderr":
    print("kvmlock-top: warning: something", file=sys.stderr)
stop = []
signal.signal(signal.SIGINT, lambda s, f: stop.append(s))
args = sys.argv[1:]
if args[0] == "trace":
    print("a\nb\nc")
elif args[0] == "-j":
    for i in range(1, 5):
        print('{"version":1,"type":"top","time":"t","events_received":100,"events_received_total":%d,'
              '"events_lost":0,"events_lost_total":2,"state_mismatches":0}' % (100 * i))
else:
    print("kvmlock-top line")
sys.stdout.flush()
while not stop:
    if fake == "burn":
        sum(range(1000))
    else:
        signal.pause()
PY
# The workload: -n 1000000 loops until killed (FAKE=loopdies: exits);
# otherwise medians 100/200 us (FAKE=fail: exit 1, FAKE=silent: none).
cat >"$tmp/workload" <<'EOF2'
#!/bin/sh
case "$*" in
*"-n 1000000"*)
	[ "${FAKE:-}" = loopdies ] && { echo "loop: Bad address"; exit 1; }
	while :; do sleep 0.1; done ;;
esac
case ${FAKE:-} in
fail) echo "lock: Cannot allocate memory"; exit 1 ;;
silent) echo "nothing useful"; exit 0 ;;
esac
echo "median of 3: lock 100 us unlock 200 us"
EOF2
# bpftool prog show: two of kvmlock-top's programs and another; run
# figures only while $tmp/bpf_stats (kernel.bpf_stats_enabled) is 1.
cat >"$tmp/bpftool" <<EOF2
#!/bin/sh
[ "\$(cat $tmp/bpf_stats)" = 1 ] || { echo "7: raw_tracepoint  name mslot_pin  tag 01  gpl"; exit 0; }
echo "7: raw_tracepoint  name mslot_pin  tag 01  gpl run_time_ns 3000 run_cnt 10"
echo "	loaded_at 2026-12-07T10:00:00+0000  uid 0"
echo "8: raw_tracepoint  name mslot_map  tag 02  gpl run_time_ns 1000 run_cnt 10"
echo "9: kprobe  name other  tag 03  gpl run_time_ns 99999 run_cnt 1"
EOF2
echo 0 >"$tmp/bpf_stats"
chmod +x "$tmp/tool" "$tmp/workload" "$tmp/bpftool"
# Short waits (the benchmark's are 1 s and 20 s): the stand-ins start in
# milliseconds.
cost() {
	TMPDIR=$tmp TOOL=$tmp/tool WORKLOAD=$tmp/workload BPFTOOL=$tmp/bpftool \
		BPF_STATS=$tmp/bpf_stats MIB=8 REPS=3 LOOP_S=0.5 \
		SETTLE_S=0.5 VMS="1 2" LOOP_MIB=1 sh "$TOP/tests/bench/kvmlock_top_cost.sh" 2>"$tmp/err"
}

out=$(cost)
rc=$?
expect "fixed medians and events: the tables; exit 0" \
	"kvmlock-top cost, 8 MiB memslot, median of 3 (us):
                                     lock     unlock
tool detached                         100        200
kvmlock-top -b 1 attached             100        200
kvmlock-top trace streaming           100        200
tool detached again                   100        200
vs detached: attached lock 1.000 unlock 1.000; trace lock 1.000 unlock 1.000 (detached again: lock 1.000)
trace lines streamed: 3
kvmlock-top CPU at a 1 s interval, VMs locking 1 MiB in a loop for 0.5 s:
VMs     events/s     CPU ms/s    CPU %     lost  BPF ns/ev
1            100         0.00    0.000        2        200
2            100         0.00    0.000        2        200
BPF ns/event with trace streaming, 2 VMs: 200 (top: 200)
exit 0" "$out
exit $rc"
expect "kernel.bpf_stats_enabled as it was after the run" 0 "$(cat "$tmp/bpf_stats")"
expect "no workload left running" "" "$(pgrep -f "$tmp/workload" || true)"
out=$(FAKE=burn cost)
rc=$?
cpu=$(awk '$1 == 2 { print $3 }' <<<"$out")
if [ "$rc" -eq 0 ] && awk -v c="${cpu:-0}" 'BEGIN { exit !(c > 100) }'; then
	ok "a spinning tool's CPU is read from /proc ($cpu ms/s)"
else
	not_ok "a spinning tool's CPU is read from /proc (exit $rc)" "$out$(cat "$tmp/err")"
fi
out=$(FAKE=fail cost)
rc=$?
expect "a failing workload fails the benchmark, with no table" \
	"1 |kvmlock_top_cost: the workload failed (detached)" "$rc |$out$(tail -n 1 "$tmp/err")"
out=$(FAKE=silent cost)
rc=$?
expect "no medians fail the benchmark" \
	"1 |kvmlock_top_cost: no medians in the workload's output (detached)" \
	"$rc |$out$(tail -n 1 "$tmp/err")"
out=$(FAKE=dies cost)
rc=$?
expect "a tool that cannot start fails the benchmark" \
	"1 |kvmlock_top_cost: kvmlock-top -b 1 exited at start: kvmlock-top: cannot attach" \
	"$rc |$out$(tail -n 1 "$tmp/err")"
out=$(FAKE=stderr cost)
rc=$?
expect "a tool complaining on stderr fails the benchmark" \
	"1 |kvmlock_top_cost: kvmlock-top wrote to stderr: kvmlock-top: warning: something" \
	"$rc |$out$(tail -n 1 "$tmp/err")"
out=$(FAKE=loopdies cost)
rc=$?
expect "a looping workload that exits early fails the benchmark" "1" "$rc"
grep -q "a looping workload (1 VMs) exited early" "$tmp/err" && ok "... saying so" ||
	not_ok "... saying so" "$(cat "$tmp/err")"
sleep 0.2
expect "nothing left running after the failures" "" \
	"$(pgrep -f "$tmp/workload|$tmp/tool" || true)"

finish kvmlock-top-cost
