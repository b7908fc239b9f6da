#!/bin/sh
# A VMM killed (SIGKILL) while it locks a large memslot: the lock stops
# between batches with -EINTR (kvm_memslot_lock_end ret=-4) and leaves no
# page pinned. The memslot is cold (not pre-faulted), so locking it
# faults in 2 GiB and takes seconds under TCG: the kill lands during it.
T=/sys/kernel/tracing
W=/kvmlock/kselftest/memslot_lock_workload
. "$(dirname "$0")/lib.sh"
pins() { # pages pinned now, system-wide
	echo 1 >/proc/sys/vm/stat_refresh
	awk '$1 == "nr_foll_pin_acquired" { a = $2 } $1 == "nr_foll_pin_released" { r = $2 }
	     END { print a - r }' /proc/vmstat
}

before=$(pins)
echo 0 >$T/tracing_on
echo >$T/trace
echo 1 >$T/events/kvm/kvm_memslot_lock_begin/enable
echo 1 >$T/events/kvm/kvm_memslot_lock_end/enable
echo 1 >$T/tracing_on
$W -c -b 2048 -n 1 >/tmp/interrupt.txt 2>&1 &
pid=$!
i=0
while ! grep -q "kvm_memslot_lock_begin: .* pid=$pid " $T/trace && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
sleep 0.3
kill -9 $pid
wait $pid
rc=$?
echo 0 >$T/tracing_on
echo 0 >$T/events/kvm/kvm_memslot_lock_begin/enable
echo 0 >$T/events/kvm/kvm_memslot_lock_end/enable
grep " kvm_memslot_lock_" $T/trace | sed 's/^.* kvm_memslot/# kvm_memslot/'
[ $rc = 137 ]
result $? "the VMM died of SIGKILL (status $rc)"
grep -q "kvm_memslot_lock_end: .* pid=$pid slot=1 flags=R|W npages=0 ret=-4 " $T/trace
result $? "the lock ended with -EINTR, nothing locked"
after=$(pins)
[ "$before" = "$after" ]
result $? "pages pinned before and after: $before, $after"
exit $fail
