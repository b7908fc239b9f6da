#!/bin/sh
# make demo: a VMM with two VMs locks and unlocks memslots over a few
# seconds, one LOCK is refused by RLIMIT_MEMLOCK, and kvmlock-top (batch
# output: this is no terminal) reports it every second. Its output goes to
# the log; the checks only say that it ran and saw the two VMs.
. "$(dirname "$0")/lib.sh"
P=/kvmlock
TOOL=$P/inspector/kvmlock-top
WL=$P/inspector/kvmlock-workload
D=/tmp/kvmlock-top-demo
# (busybox has no getconf)
PAGE=$(awk '/^KernelPageSize:/ { print $2 * 1024; exit }' /proc/self/smaps)
rm -rf $D
mkdir -p $D

$TOOL -b 1 >$D/top.txt 2>$D/top.err &
tool=$!
sleep 2

# One command a second or so, as a VMM setting up and tearing down guests.
mkfifo $D/w.in
$WL <$D/w.in >$D/w.out 2>&1 &
wl=$!
exec 3>$D/w.in
for c in "vm web" "vm db" "slot web 1 4096" "slot web 2 1024" "slot db 1 8192" \
	"slot db 2 512" "lock web 1 rw" "sleep 1000" "lock db 1 rw" "sleep 1000" \
	"lock web 2 r" "sleep 1000" "rlimit $((13312 * PAGE))" "lock db 2 rw" \
	"sleep 1000" "unlock web 2" "sleep 1000" "unlockall db" "sleep 1000" \
	"close db" "sleep 1500" "exit"; do
	echo "$c" >&3
done
exec 3>&-
wait $wl
sleep 1.5
kill -INT $tool
wait $tool
rc=$?
echo "# kvmlock-workload answered:"
sed 's/^/#   /' $D/w.out
echo "# kvmlock-top -b 1:"
cat $D/top.txt
[ $rc = 0 ] && [ ! -s $D/top.err ]
check $? "kvmlock-top ran and stopped cleanly on SIGINT (exit $rc)"
[ -s $D/top.err ] && sed 's/^/# /' $D/top.err
grep -q "err ENOMEM" $D/w.out
check $? "one LOCK was refused by RLIMIT_MEMLOCK"
[ "$(grep -c '^ok' $D/w.out)" -ge 15 ]
check $? "the workload did the rest"
exit $fail
