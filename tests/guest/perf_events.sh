#!/bin/sh
# perf sees the kvm_memslot_* events: perf list names all 9, perf stat counts
# exactly what the workload's known sequence emits (see
# trace_events.expected), perf record + perf script show their fields, and
# inspector/perf-lock-latency summarises that real recording.
W=/kvmlock/kselftest/memslot_lock_workload
EVENTS="lock_begin lock_end pin map account_fail unlock_begin unlock_end unlock deferred_ops"
. "$(dirname "$0")/lib.sh"

perf list 'kvm:*' 2>/dev/null >/tmp/list.txt
missing=
for e in $EVENTS; do
	grep -q "kvm:kvm_memslot_$e \+\[Tracepoint event\]" /tmp/list.txt ||
		missing="$missing $e"
done
[ -z "$missing" ]
result $? "perf list 'kvm:*' lists the 9 kvm_memslot_* tracepoints${missing:+ (missing:$missing)}"

ev=
for e in $EVENTS; do ev="$ev${ev:+,}kvm:kvm_memslot_$e"; done
perf stat -a -x, -e "$ev" -- $W >/dev/null 2>/tmp/stat.txt
rc=$?
counts=
for e in $EVENTS; do
	counts="$counts $e=$(grep ",kvm:kvm_memslot_$e," /tmp/stat.txt | cut -d, -f1)"
done
echo "# perf stat:$counts"
[ $rc = 0 ] && [ "$counts" = " lock_begin=6 lock_end=6 pin=4 map=4 account_fail=1 unlock_begin=4 unlock_end=4 unlock=4 deferred_ops=1" ]
result $? "perf stat counts each event exactly over the workload"

perf record -a -q -e 'kvm:kvm_memslot_*' -o /tmp/lock.data -- $W >/dev/null 2>/tmp/record.txt
rc=$?
perf script --ns -i /tmp/lock.data >/tmp/script.txt 2>/dev/null
# Kept for comparisons between kernels (docs/perf.md).
cp /tmp/script.txt /kvmlock/results/perf_events.script.txt
lines=$(grep -c 'kvm:kvm_memslot_' /tmp/script.txt)
grep -q 'kvm:kvm_memslot_account_fail: .* slot=2 npages=16 locked_vm=64 limit=72 cap_ipc_lock=0 err=-12$' /tmp/script.txt &&
	grep -q 'kvm:kvm_memslot_map: .* slot=1 ipa=0x100000000 size=262144 prot=R|W ' /tmp/script.txt &&
	grep -q 'kvm:kvm_memslot_unlock: .* slot=1 npages=64 dirtied=1 unmapped=0 reason=vm-destroy ' /tmp/script.txt
fields=$?
[ $rc = 0 ] && [ "$lines" = 34 ] && [ $fields = 0 ] || {
	echo "# record rc $rc, fields $fields"
	grep 'account_fail\|_map:\|vm-destroy' /tmp/script.txt | sed 's/^/# /'
	false
}
result $? "perf record + perf script: 34 events with their fields ($lines recorded)"

sh /kvmlock/inspector/perf-lock-latency /tmp/script.txt >/tmp/summary.txt 2>&1
rc=$?
sed 's/^/# /' /tmp/summary.txt
awk -v rc=$rc '
$1 == "lock" && $2 == "kernel" { lock = ($3 == 6 && $4 == 2 && $5 <= $7 && $7 <= $8 && $8 <= $9 && $5 <= $6 && $6 <= $9 && $5 > 0) }
$1 == "unlock" && $2 == "kernel" { unlock = ($3 == 4 && $4 == 1 && $5 <= $7 && $7 <= $8 && $8 <= $9 && $5 > 0) }
END { exit !(rc == 0 && lock && unlock && NR == 3) }' /tmp/summary.txt
result $? "perf-lock-latency summarises the recording: 6 locks (2 failed), 4 unlocks (1 failed)"
exit $fail
