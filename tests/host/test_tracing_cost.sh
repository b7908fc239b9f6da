#!/usr/bin/env bash
# tests/bench/tracing_cost.sh (make bench-tracing's guest script) on the
# host with a stand-in tracefs directory and workload: exact table from fixed
# medians; it fails when the workload fails or prints no medians (a
# benchmark fails only then, never on a figure).
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/lib.sh"

T=$tmp/tracing
mkdir -p "$T/events/kvm/kvm_memslot_lock_begin" "$T/events/kvm/kvm_memslot_pin"
: >"$T/tracing_on"
echo "left over from before" >"$T/trace"
# The workload: medians 100/200 us, and 2 events while tracing is on; or
# FAKE=fail (exit 1), FAKE=silent.
cat >"$tmp/workload" <<'EOF'
#!/bin/sh
if [ "$(cat "$TRACING/tracing_on")" = 1 ]; then
	printf ' w-1 [000] 1.0: kvm_memslot_lock_begin: x\n w-1 [000] 1.1: kvm_memslot_pin: y\n' >>"$TRACING/trace"
fi
case ${FAKE:-} in
fail) echo "lock: Cannot allocate memory"; exit 1 ;;
silent) echo "nothing useful"; exit 0 ;;
esac
echo "median of 7: lock 100 us unlock 200 us"
EOF
chmod +x "$tmp/workload"
cost() { TMPDIR=$tmp TRACING=$T WORKLOAD=$tmp/workload sh "$TOP/tests/bench/tracing_cost.sh" 2>"$tmp/err"; }

out=$(cost)
rc=$?
expect "fixed medians: the table, ratios and event count; exit 0" \
	"tracing cost, 256 MiB memslot, median of 7 (us):
                               lock       unlock
events off                      100          200
events on (ftrace)              100          200
events off again                100          200
on/off ratio: lock 1.000 unlock 1.000 (off vs off again: 1.000)
events emitted while on: 2 (7 per lock + unlock: begin, pin, map, end; begin, unlock, end)
exit 0" "$out
exit $rc"
expect "the events were switched on and off again" "0 0" \
	"$(cat "$T/events/kvm/kvm_memslot_pin/enable" "$T/tracing_on" | paste -sd' ')"
out=$(FAKE=fail cost)
rc=$?
expect "a failing workload fails the benchmark, with no table" "1 |tracing_cost: the workload failed (off)" \
	"$rc |$out$(tail -n 1 "$tmp/err")"
out=$(FAKE=silent cost)
rc=$?
expect "no medians fail the benchmark" "1 |tracing_cost: no medians in the workload's output (off)" \
	"$rc |$out$(tail -n 1 "$tmp/err")"

finish tracing-cost
