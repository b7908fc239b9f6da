#!/bin/sh
# kvmlock-top and a VMM's pid reused. A VM outlives its VMM (the VMM,
# kvmlock-workload, forks a child that keeps the VM's fd, then exits), and
# another process gets the VMM's pid (pid_max lowered so that pids wrap
# onto it). That process is not the VM's VMM: neither the kvmlock-top that
# knew the VMM (following since before the VM) nor one started after the
# pid was reused may show its comm, VmLck or limit for the VM, in JSON or
# in the Prometheus file. pid_max is restored whatever happens. The VMM
# runs with QEMU's -name on its command line: kvmlock-top gives the VM
# that name (vmm_name, the name label), also once the VMM is gone.
. "$(dirname "$0")/lib.sh"
kvmlock_top_setup kvmlock-top-vmm
PID_MAX=$(cat /proc/sys/kernel/pid_max)

restore() {
	echo "$PID_MAX" >/proc/sys/kernel/pid_max
	for p in ${impostor:-} ${child:-} ${pid_w:-}; do
		kill "$p" 2>/dev/null
	done
}
fail_cleanup() {
	restore
	[ -n "${tool:-}" ] && kill -INT "$tool" 2>/dev/null
}

# The JSON object of VM $id in the last report of FILE, up to its end
row() {
	tail -n 1 "$1" | grep -o "{\"vm\":$id,\"pid\":[0-9]*,[^}]*"
}
# Waits up to 30 s for a command to succeed
wait_for() {
	i=0
	while ! "$@"; do
		i=$((i + 1))
		[ $i -gt 300 ] && return 1
		sleep 0.1
	done
}
lines() { wc -l <$D/follow.out; }

[ -x $TOOL ] && [ -x $WL ] || fail_now "no $TOOL or $WL in the payload"

# pid_max is 301 at the least: the VMM's pid must be above it (a boot
# that ran only this test is not there yet).
p=0
while [ "$p" -le 400 ]; do
	(:) &
	p=$!
	wait $p
done
mkdir -p $D/prom
$TOOL -j --prom-file $D/prom/k.prom 1 >$D/follow.out 2>$D/follow.err &
tool=$!
# QEMU's -name on its command line: the VM's name for kvmlock-top
start w 3 -name guest=db01,debug-threads=on
W=$pid_w
[ "$W" -gt 301 ] || fail_now "the VMM's pid $W is below the lowest pid_max (301)"
must w "vm A"
id=${reply#ok vm=}
id=${id%% *}
known() { row $D/follow.out | grep -q "^{\"vm\":$id,\"pid\":$W,\"comm\":\"kvmlock-workloa\","; }
wait_for known
result $? "the follower shows VM $id under its VMM $W, kvmlock-workloa"
row $D/follow.out | grep -q ',"vmm_name":"db01","cgroup":null,'
result $? "its VMM's QEMU -name, db01, as vmm_name; no cgroup (this kernel has none)"
wait_for grep -qx "kvmlock_vm_info{vm=\"$id\",pid=\"$W\",comm=\"kvmlock-workloa\",name=\"db01\"} 1" $D/prom/k.prom
result $? "its .prom file: kvmlock_vm_info with the VMM's comm and name"

must w fork
child=${reply#ok child=}
echo exit >&3
exec 3>&-
wait $pid_w
pid_w=
ls -d /sys/kernel/debug/kvm/$W-* >/dev/null 2>&1 && kill -0 "$child"
result $? "VM $id outlives its VMM $W: its child $child keeps the VM's fd"

# Pids wrap at pid_max: with it at W + 1, the next ones run from 300 up
# to W, the first free one. Each try is a subshell blocked opening a FIFO
# (no exec, no child: cheap); the one that got W stays, as "sh".
echo $((W + 1)) >/proc/sys/kernel/pid_max
mkfifo $D/hold
# Twice round without W (another process took it): given up.
n=0 last=0 wraps=0
while [ $wraps -lt 2 ]; do
	(read -r x <$D/hold) &
	p=$!
	if [ "$p" = "$W" ]; then
		impostor=$p
		break
	fi
	kill "$p"
	wait "$p" 2>/dev/null
	[ "$p" -lt "$last" ] && wraps=$((wraps + 1))
	last=$p n=$((n + 1))
done
echo "$PID_MAX" >/proc/sys/kernel/pid_max
[ -n "${impostor:-}" ] && [ "$(cat /proc/$W/comm)" = sh ]
result $? "another process has pid $W now ($n pids went by): comm $(cat /proc/$W/comm 2>&1)"
[ -n "${impostor:-}" ] || fail_now "pid $W was not reused"

# Two reports after the pid was reused
seen=$(lines)
wait_for sh -c "[ \$(wc -l <$D/follow.out) -ge $((seen + 2)) ]"
got=$(row $D/follow.out)
case $got in
"{\"vm\":$id,\"pid\":$W,\"comm\":null,"*"\"vmlck_bytes\":null,\"memlock_limit_bytes\":null,\"memlock_limit_unlimited\":false,"*) rc=0 ;;
*) rc=1 ;;
esac
result $rc "the follower: VM $id's VMM $W is gone, no comm, VmLck or limit of process $W"
[ $rc = 0 ] || echo "# $got"
grep -qx "kvmlock_vm_info{vm=\"$id\",pid=\"$W\",comm=\"\",name=\"db01\"} 1" $D/prom/k.prom &&
	! grep -q "^kvmlock_vmm_[a-z_]*{pid=\"$W\"}" $D/prom/k.prom
result $? "its .prom file: kvmlock_vm_info with comm \"\" (the VM's name kept), no kvmlock_vmm_* series of pid $W"

# Started now: the thread $W began after VM $id's debugfs directory was
# made, so it is not the one that created the VM.
$TOOL -b -j 1 1 >$D/late.out 2>$D/late.err
rc=$?
got=$(row $D/late.out)
case $got in
"{\"vm\":$id,\"pid\":$W,\"comm\":null,"*"\"vmlck_bytes\":null,"*) ok=0 ;;
*) ok=1 ;;
esac
[ $rc = 0 ] && [ ! -s $D/late.err ] && [ $ok = 0 ]
result $? "started after the reuse (exit $rc): VM $id's VMM $W is gone, not process $W"
[ $ok = 0 ] || echo "# $got"

restore
impostor= child=
kill -INT $tool
wait $tool
rc=$?
[ $rc = 0 ] && [ ! -s $D/follow.err ]
result $? "the follower exits 0 on SIGINT, nothing on stderr"
[ -s $D/follow.err ] && sed 's/^/# /' $D/follow.err
summary
exit $fail
