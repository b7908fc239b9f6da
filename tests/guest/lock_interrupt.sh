#!/bin/sh
# A VMM killed (SIGKILL) while it locks a large memslot: the lock stops
# between batches with -EINTR (kvm_memslot_lock_end ret=-4) and leaves no
# page pinned. The memslot is cold (not pre-faulted), so locking it
# faults in 2 GiB and takes seconds under TCG: the kill lands during it
# (lib.sh's long_lock_*).
. "$(dirname "$0")/lib.sh"
pins() { # pages pinned now, system-wide
	echo 1 >/proc/sys/vm/stat_refresh
	awk '$1 == "nr_foll_pin_acquired" { a = $2 } $1 == "nr_foll_pin_released" { r = $2 }
	     END { print a - r }' /proc/vmstat
}

before=$(pins)
long_lock_start /tmp/interrupt.txt
pid=$long
sleep 0.3
long_lock_kill
rc=$long_rc
grep " kvm_memslot_lock_" $TRACEFS/trace | sed 's/^.* kvm_memslot/# kvm_memslot/'
[ $rc = 137 ]
result $? "the VMM died of SIGKILL (status $rc)"
grep -q "kvm_memslot_lock_end: .* pid=$pid slot=1 flags=R|W npages=0 ret=-4 " $TRACEFS/trace
result $? "the lock ended with -EINTR, nothing locked"
after=$(pins)
[ "$before" = "$after" ]
result $? "pages pinned before and after: $before, $after"
exit $fail
