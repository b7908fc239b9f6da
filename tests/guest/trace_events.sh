#!/bin/sh
# The kvm_memslot_* trace events, read through ftrace: the workload's known
# sequence of lock operations (kselftest/memslot_lock_workload) emits exactly
# the events of trace_events.expected, in order, with the expected field
# values; the values that vary (VM id, pid, hva, durations) are checked
# against what the workload says and against each other.
#
#   trace_events.sh [fwb|nofwb]
#
# The work deferred to KVM_RUN depends on the CPU having FWB (the default)
# or not: lines of trace_events.expected tagged "fwb: " or "nofwb: " hold
# for that CPU only.
#
# trace_events.expected counts pages of 4 KiB. The workload's memslots and
# limit are sizes in bytes, so on a 16 or 64 KiB page kernel the script
# divides the page counts (npages, locked_vm, limit) by 4 or 16, rounding
# down as the kernel does for the limit.
T=/sys/kernel/tracing
HERE=$(dirname "$0")
. "$(dirname "$0")/lib.sh"
CPU=${1:-fwb}
PAGE_KB=$(($(page_size) / 1024))
sed -n -e "s/^$CPU: //p" -e t -e '/^[a-z]*fwb: /!p' "$HERE/trace_events.expected" |
awk -v per=$((PAGE_KB / 4)) '{
	for (i = 2; i <= NF; i++)
		if (split($i, kv, "=") == 2 &&
		    (kv[1] == "npages" || kv[1] == "locked_vm" || kv[1] == "limit"))
			$i = kv[1] "=" int(kv[2] / per)
	print
}' >/tmp/events.expected

events=$(ls -d $T/events/kvm/kvm_memslot_* | wc -l)
[ "$events" = 9 ]
result $? "tracefs has the 9 kvm_memslot_* events (found $events)"

echo 0 >$T/tracing_on
echo >$T/trace
echo 8192 >$T/buffer_size_kb
for e in $T/events/kvm/kvm_memslot_*; do echo 1 >"$e/enable"; done
echo 1 >$T/tracing_on
/kvmlock/kselftest/memslot_lock_workload >/tmp/workload.txt 2>&1
rc=$?
echo 0 >$T/tracing_on
for e in $T/events/kvm/kvm_memslot_*; do echo 0 >"$e/enable"; done
sed 's/^/# workload: /' /tmp/workload.txt
result $rc "the workload ran every step with the expected result"

grep ' kvm_memslot_' $T/trace | sed 's/^.* \(kvm_memslot_[a-z_]*\): /\1 /' >/tmp/events.txt
sed -e 's/vm=[0-9]*/vm=VM/' -e 's/pid=[0-9]*/pid=PID/' \
	-e 's/hva=0x[0-9a-f]*/hva=HVA/' -e 's/duration_ns=[0-9]*/duration_ns=NS/' \
	/tmp/events.txt >/tmp/events.norm
diff -u /tmp/events.expected /tmp/events.norm
result $? "exactly the $(wc -l </tmp/events.expected) events of trace_events.expected ($CPU lines, $PAGE_KB KiB pages), in order, with the expected fields"

pid=$(sed -n 's/^pid \([0-9]*\)$/\1/p' /tmp/workload.txt)
hva1=$(sed -n 's/^slot 1: .* hva \(0x[0-9a-f]*\) .*/\1/p' /tmp/workload.txt)
hva2=$(sed -n 's/^slot 2: .* hva \(0x[0-9a-f]*\) .*/\1/p' /tmp/workload.txt)
awk -v pid="$pid" -v hva1="$hva1" -v hva2="$hva2" '
function field(name,   i) {
	for (i = 2; i <= NF; i++)
		if (index($i, name "=") == 1)
			return substr($i, length(name) + 2)
	return ""
}
{
	if (vm == "") vm = field("vm")
	if (field("vm") != vm) { print "# VM id " field("vm") " != " vm; bad = 1 }
	if (field("pid") != pid) { print "# pid " field("pid") " != " pid; bad = 1 }
}
$1 == "kvm_memslot_pin" {
	want = field("slot") == 1 ? hva1 : hva2
	if (field("hva") != want) { print "# hva " field("hva") " != " want; bad = 1 }
	pin = field("duration_ns") + 0
}
$1 == "kvm_memslot_map" { map = field("duration_ns") + 0 }
$1 == "kvm_memslot_lock_end" && field("ret") == "0" {
	# The whole lock took at least its pinning plus its mapping.
	if (pin <= 0 || map <= 0 || field("duration_ns") + 0 < pin + map) {
		print "# lock took " field("duration_ns") " ns, pin " pin " map " map
		bad = 1
	}
	locks++
}
END { if (vm + 0 < 1 || locks != 4) bad = 1; exit bad }' /tmp/events.txt
result $? "one VM id, the workload's pid and hvas, lock time >= pin + map time (workload pid $pid)"
sed 's/^/# event: /' /tmp/events.txt
exit $fail
