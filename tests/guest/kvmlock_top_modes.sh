#!/bin/sh
# kvmlock-top trace and hist on real events. While a VMM (kvmlock-workload)
# locks two memslots, has a third refused by RLIMIT_MEMLOCK, unlocks one,
# unlocks all, locks again and exits with a memslot locked, seven
# instances run: trace (text), trace -j, trace -j --min-latency 1ns, hist
# -m -T (printed at SIGINT), hist -j -A (printed at SIGINT), hist -j 1 and
# top -j (which streams no event, and counts them in BPF). Then:
#   - both traces show exactly the VM's 22 events, in order, with their
#     slot, result or reason (and the refusal's locked_vm and limit);
#   - no event is lost;
#   - both histograms count the 3 successful locks and the 3 unlocks;
#   - top counted as many events as trace -j streamed;
#   - --min-latency 1ns streamed the lock_end and unlock_end events only;
#   - hist -T printed a timestamp before its histograms;
#   - hist -j 1 deleted the VM gone from its map at the next interval,
#     and its intervals count all of the VM's locks and unlocks;
#   - top --prom-file: a failed write is a warning and a retry, counted in
#     the file when it is written again; 5 in a row end it (exit 1);
#   - each instance exits 0 on SIGINT with nothing on stderr;
#   - hist without debugfs runs, with one warning that it keeps VMs gone.
# First, kvmlock-top check: on this kernel every mode can run.
. "$(dirname "$0")/lib.sh"
kvmlock_top_setup kvmlock-top-modes

$TOOL check >$D/check.txt 2>&1
rc=$?
[ $rc = 0 ] && [ "$(tail -n 1 $D/check.txt)" = "can run: top, trace, hist" ] &&
	grep -qx '  events     ok  the 9 kvm_memslot_\* trace events (in tracefs)' $D/check.txt &&
	grep -qx '  arguments  ok  as this build reads them' $D/check.txt &&
	grep -qx '  debugfs    ok  /sys/kernel/debug/kvm' $D/check.txt &&
	grep -qx '  programs   ok  the verifier accepts the 9 programs' $D/check.txt
result $? "kvmlock-top check: exit $rc, the events, their arguments, debugfs and the programs there; every mode can run"
sed 's/^/# /' $D/check.txt

$TOOL trace >$D/trace.txt 2>$D/trace.err &
t1=$!
$TOOL trace -j >$D/trace.json 2>$D/trace-j.err &
t2=$!
$TOOL hist -m -T >$D/hist.txt 2>$D/hist.err &
t3=$!
$TOOL hist -j -A >$D/hist.json 2>$D/hist-j.err &
t4=$!
$TOOL -j 1 >$D/top.ndjson 2>$D/top.err &
t5=$!
$TOOL trace -j --min-latency 1ns >$D/slow.json 2>$D/slow.err &
t6=$!
$TOOL hist -j 1 >$D/hist-1.json 2>$D/hist-1.err &
t7=$!
# Attached once each of the seven has its nine raw tracepoint links (most
# print nothing before an event or the end), hist -m its first line and
# top -j its first report.
links() { bpftool link show | grep -c raw_tracepoint; }
i=0
while { [ ! -s $D/hist.txt ] || [ ! -s $D/top.ndjson ] || [ "$(links)" -lt 63 ]; } &&
	[ $i -lt 600 ]; do
	sleep 0.05
	i=$((i + 1))
done
[ "$(links)" = 63 ]
result $? "the seven instances attached ($(links) raw tracepoint links)"

printf '%s\n' "vm X" "slot X 1 64" "slot X 2 32" "slot X 3 16" "lock X 1 rw" \
	"lock X 2 r" "rlimit $((96 * PAGE))" "lock X 3 r" "unlock X 1" \
	"unlockall X" "lock X 2 r" "exit" | $WL >$D/w.out 2>&1
vm=$(sed -n 's/^ok vm=\([0-9]*\) .*/\1/p' $D/w.out)
sleep 1.5
# hist -j 1 forgot the VM, gone (no VM left), at an interval's end: its
# vm_stats map (one of the maps its fds hold) is empty.
n=$(wc -l <$D/hist-1.json)
i=0
while [ "$(wc -l <$D/hist-1.json)" -lt $((n + 1)) ] && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
id=
for m in $(sed -n 's/^map_id:[[:space:]]*//p' /proc/$t7/fdinfo/* 2>/dev/null); do
	bpftool map show id $m | grep -q " name vm_stats " && id=$m
done
left=$(bpftool -j map dump id "$id" 2>&1 | jq length 2>&1)
[ -n "$id" ] && [ "$left" = 0 ]
result $? "hist -j 1: the VM gone is forgotten at the next interval (map $id: $left entries left)"
kill -INT $t1 $t2 $t3 $t4 $t5 $t6 $t7
for t in $t1 $t2 $t3 $t4 $t5 $t6 $t7; do
	wait $t
	echo $? >>$D/rc
done
counts=$(jq -s -r --argjson vm "$vm" '[.[] | .vms[] | select(.vm == $vm)] |
	"\(map(.lock | map(.count) | add // 0) | add // 0) \(map(.unlock | map(.count) | add // 0) | add // 0)"' \
	$D/hist-1.json 2>&1)
[ "$counts" = "3 3" ]
result $? "hist -j 1: its intervals count 3 locks and 3 unlocks of the VM ($counts), the last unlock too"
echo "# the workload answered:"
sed 's/^/#   /' $D/w.out
[ "$(grep -c . $D/w.out)" = 11 ] && grep -q "^err ENOMEM" $D/w.out
result $? "the workload ran (VM $vm), one LOCK refused"

want="1 lock_begin
1 pin
1 map
1 lock_end ok
2 lock_begin
2 pin
2 map
2 lock_end ok
3 lock_begin
3 account_fail
3 lock_end ENOMEM
1 unlock_begin
1 unlock unlock
1 unlock_end ok
0 unlock_begin
2 unlock unlock-all
0 unlock_end ok
2 lock_begin
2 pin
2 map
2 lock_end ok
2 unlock vm-destroy"

got=$(awk -v vm="vm=$vm" '$2 == vm {
	slot = substr($4, 6); ev = $5; extra = ""
	for (i = 6; i <= NF; i++) {
		if ($i ~ /^result=/) extra = " " substr($i, 8)
		if ($i ~ /^reason=/) extra = " " substr($i, 8)
	}
	print slot, ev extra }' $D/trace.txt)
[ "$got" = "$want" ]
result $? "trace: the VM's 22 events, in order, with slot and result or reason"
[ "$got" = "$want" ] || { echo "# got:"; echo "$got" | sed 's/^/#   /'; }
grep "vm=$vm .* account_fail " $D/trace.txt |
	grep -q "npages=16 locked_vm=96 locked_vm_bytes=$((96 * PAGE)) limit=96 limit_bytes=$((96 * PAGE)) cap_ipc_lock=0 err=ENOMEM"
result $? "trace: the refusal's locked_vm and limit"

got=$(jq -r --argjson vm "$vm" 'select(.vm == $vm) |
	"\(.slot // 0) \(.event)\(if .result then " " + .result elif .reason then " " + .reason else "" end)"' \
	$D/trace.json 2>&1)
[ "$got" = "$want" ]
result $? "trace -j: the same 22 events"
[ "$got" = "$want" ] || { echo "# got:"; echo "$got" | sed 's/^/#   /'; }
jq -s -e --argjson vm "$vm" '[.[] | select(.vm == $vm and .event == "lock_end" and .slot == 1)] |
	length == 1 and .[0].npages == 64 and .[0].flags == "R|W" and .[0].duration_ns > 0' \
	$D/trace.json >/dev/null
result $? "trace -j: slot 1's lock_end: 64 pages, R|W, a duration"
# ts_ns (CLOCK_MONOTONIC passes 2^53 after 104 days) and the addresses
# are strings, so no JSON reader rounds them
jq -s -e 'map(select(.type == "event")) | length > 0 and all(.[];
	(.ts_ns | test("^[0-9]+$")) and ((.hva // "0x0") | test("^0x[0-9a-f]+$")) and
	((.ipa // "0x0") | test("^0x[0-9a-f]+$")))' $D/trace.json >/dev/null
result $? "trace -j: ts_ns a string of digits, hva and ipa \"0x...\" strings"
! grep -q LOST $D/trace.txt && ! grep -q '"lost"' $D/trace.json
result $? "no event lost"
# top -j's last report (printed at SIGINT): every event since it attached,
# counted in BPF, none streamed; it attached before the workload ran, and
# trace -j streamed them all.
streamed=$(grep -c '"event"' $D/trace.json)
counted=$(tail -n 1 $D/top.ndjson | jq -r '"\(.events_received_total) \(.events_lost_total)"' 2>&1)
[ "$counted" = "$streamed 0" ] && [ "$streamed" -ge 22 ]
result $? "top -j: $counted events counted (and lost), trace -j streamed $streamed"
# --min-latency 1ns: every operation took that long, and only their ends
ends=$(grep -c '"event":"\(lock_end\|unlock_end\)"' $D/trace.json)
slow=$(grep -c '"event":"\(lock_end\|unlock_end\)"' $D/slow.json)
[ "$ends" -ge 6 ] && [ "$slow" = "$ends" ] && [ "$(grep -c . $D/slow.json)" = "$ends" ]
result $? "trace --min-latency 1ns: the $slow lock_end and unlock_end events of trace's $ends, nothing else"

# hist -m: VM's header, then its lock and unlock histograms (count column).
counts=$(awk -v vm="vm = $vm " '
	index($0, vm) == 1 { on = 1; next }
	/^vm = / { on = 0 }
	on && /latency:/ { which = $1 }
	on && / -> / { n[which] += $5 }
	END { print n["lock"] + 0, n["unlock"] + 0 }' $D/hist.txt)
[ "$counts" = "3 3" ]
result $? "hist -m: 3 locks and 3 unlocks for VM $vm ($counts)"
grep -B2 "^vm = $vm " $D/hist.txt | grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$'
result $? "hist -T: a timestamp before the histograms"
counts=$(jq -r '[(.all.lock | map(.count) | add // 0), (.all.unlock | map(.count) | add // 0)] | join(" ")' \
	$D/hist.json 2>&1 | tail -n 1)
[ "$counts" = "3 3" ] && grep -q '"map_update_errors":0,' $D/hist.json
result $? "hist -j -A: 3 locks and 3 unlocks ($counts), no map update lost"
# One shape with or without -A and in either unit: "all" always (the
# sum of "vms"), "vms" null with -A, buckets {low, high, count}.
shape=$(jq -r '[(.all | keys | join(",")), (.vms | type),
	([.all.lock[], .all.unlock[] | keys | join(",")] | unique | join(" "))] | join(" ")' \
	$D/hist.json 2>&1 | sort -u)
sums=$(jq -r 'def n(f): [f | .count] | add // 0;
	(n(.all.lock[]) == n(.vms[].lock[])) and (n(.all.unlock[]) == n(.vms[].unlock[]))' \
	$D/hist-1.json 2>&1 | sort -u)
[ "$shape" = "lock,unlock null count,high,low" ] && [ "$sums" = true ]
result $? "hist -j: -A has vms null and {low,high,count} buckets ($shape); without it, all is the sum of vms in every interval ($sums)"

[ "$(cat $D/rc | tr '\n' ' ')" = "0 0 0 0 0 0 0 " ] && ! [ -s $D/trace.err ] && ! [ -s $D/trace-j.err ] &&
	! [ -s $D/hist.err ] && ! [ -s $D/hist-j.err ] && ! [ -s $D/top.err ] && ! [ -s $D/slow.err ] &&
	! [ -s $D/hist-1.err ]
result $? "all seven exit 0 on SIGINT, nothing on stderr ($(cat $D/rc | tr '\n' ' '))"
cat $D/*.err 2>/dev/null | sed 's/^/# /'
# hist without debugfs: it runs, and says once that it keeps VMs gone
out=$(unshare -m sh -c "umount /sys/kernel/debug && exec $TOOL hist -j 1 2" 2>&1 >/dev/null)
rc=$?
[ $rc = 0 ] && [ "$out" = "kvmlock-top: warning: cannot read /sys/kernel/debug/kvm: No such file or directory: VMs gone stay in the map (1024 at most)" ]
result $? "hist without debugfs: exit $rc, one warning: $out"

# --prom-file: a failed write (the directory removed) is a warning and a
# retry at each interval, counted in the file once it can be written again;
# 5 failures in a row end the tool. Waits on what it wrote, not on time.
wait_for() { # what, shell condition: up to 30 s
	i=0
	while ! eval "$2"; do
		i=$((i + 1))
		[ $i -gt 600 ] && { echo "# no $1 in 30 s"; return 1; }
		sleep 0.05
	done
}
mkdir -p $D/pf
$TOOL -b --prom-file $D/pf/k.prom 1 >/dev/null 2>$D/pf.err &
tp=$!
wait_for "first file" '[ -s $D/pf/k.prom ]'
rm -rf $D/pf
wait_for "warning" 'grep -q "warning: --prom-file write failed" $D/pf.err'
mkdir -p $D/pf
wait_for "file after the warning" '[ -s $D/pf/k.prom ]'
failures=$(sed -n 's/^kvmlock_exporter_write_failures_total //p' $D/pf/k.prom)
warnings=$(grep -c "^kvmlock-top: warning: --prom-file write failed, [0-9] in a row (5 end it): cannot write $D/pf/k.prom: No such file or directory$" $D/pf.err)
kill -0 $tp 2>/dev/null && [ "${failures:-0}" -ge 1 ] && [ "$failures" -le 4 ] &&
	[ "$warnings" = "$failures" ] && [ "$(grep -c . $D/pf.err)" = "$failures" ]
result $? "a failed --prom-file write: $warnings warning(s), it runs on, the file back with kvmlock_exporter_write_failures_total $failures"
sed 's/^/# /' $D/pf.err
rm -rf $D/pf
wait $tp
rc=$?
[ $rc = 1 ] && [ "$(tail -n 1 $D/pf.err)" = "kvmlock-top: cannot write $D/pf/k.prom: No such file or directory (5 times in a row)" ]
result $? "5 failed writes in a row: exit $rc, $(tail -n 1 $D/pf.err)"

echo "# kvmlock-top trace:"
grep "vm=$vm " $D/trace.txt
echo "# kvmlock-top trace -j (lock_end and account_fail):"
grep '"event":"\(lock_end\|account_fail\)"' $D/trace.json
echo "# kvmlock-top hist -m:"
cat $D/hist.txt
echo "# kvmlock-top hist -j -A:"
cat $D/hist.json
exit $fail
