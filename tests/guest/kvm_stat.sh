#!/bin/sh
# The kernel tree's own kvm_stat (tools/kvm/kvm_stat of the kernel's base,
# run by Debian's python3 in the guest root) sees the VM statistics the
# series adds. A VMM (kvmlock-workload) with RLIMIT_MEMLOCK at 96 pages
# locks slot 1 of VM A (64 pages, RW) and slot 2 (32 pages, R), has a LOCK
# of slot 3 (16 pages) refused by the limit, and unlocks slot 2. Then
#   kvm_stat -1 -d -i -p PID -f '^(locked_|slot_|memlock_)'
# (once, debugfs, counts since the VM was created, that VMM's VMs only;
# run as python3 kvm_stat: the guest root has no /usr/bin/env)
# gives each statistic's value, and each one's debugfs file has the mode
# KVM gives its kind: 0444 for the instant ones (locked_slots,
# locked_pages, locked_pages_writable: what is locked now), 0644 for the
# cumulative ones (slot_locks, slot_lock_failures, slot_unlocks,
# memlock_account_failures: since the VM was created).
. "$(dirname "$0")/lib.sh"
kvmlock_top_setup kvm-stat
KVM_STAT=$P/inspector/kvm_stat

fail_cleanup() {
	[ -n "${pid_w:-}" ] && kill "$pid_w" 2>/dev/null
}

[ -x $KVM_STAT ] || fail_now "no $KVM_STAT in the payload (tests/vm/run.sh takes it from the kernel's linux-source)"
[ -x $WL ] || fail_now "no $WL in the payload"
command -v python3 >/dev/null || fail_now "python3 is in the guest root"

start w 3
must w "vm A"
fd=${reply#* fd=}
fd=${fd%% *}
must w "rlimit $((96 * PAGE))"
must w "slot A 1 64"
must w "slot A 2 32"
must w "slot A 3 16"
must w "lock A 1 rw"
must w "lock A 2 r"
cmd w "lock A 3 r"
case $reply in "err ENOMEM"*) rc=0 ;; *) rc=1 ;; esac
result $rc "the LOCK of slot 3 is refused by RLIMIT_MEMLOCK ($reply)"
must w "unlock A 2"

python3 $KVM_STAT -1 -d -i -p $pid_w -f '^(locked_|slot_|memlock_)' >$D/stat.out 2>$D/stat.err
rc=$?
got=$(awk '{ print $1, $2 }' $D/stat.out)
want="locked_pages 64
locked_pages_writable 64
locked_slots 1
memlock_account_failures 1
slot_lock_failures 1
slot_locks 2
slot_unlocks 1"
[ $rc = 0 ] && [ "$got" = "$want" ] && [ ! -s $D/stat.err ]
result $? "kvm_stat -1 -d -i -p $pid_w: each statistic of the series, exactly (exit $rc)"
sed 's/^/# /' $D/stat.out $D/stat.err

dir=/sys/kernel/debug/kvm/$pid_w-$fd
got=$(cd $dir && stat -c '%a %n' locked_slots locked_pages locked_pages_writable \
	slot_locks slot_lock_failures slot_unlocks memlock_account_failures 2>&1 | tr '\n' ' ')
[ "$got" = "444 locked_slots 444 locked_pages 444 locked_pages_writable 644 slot_locks 644 slot_lock_failures 644 slot_unlocks 644 memlock_account_failures " ]
result $? "their kinds, as KVM gives them debugfs modes: instant 0444, cumulative 0644 ($got)"

echo exit >&3
exec 3>&-
wait $pid_w
pid_w=
summary
exit $fail
