#!/bin/sh
# kvmlock-top end to end, against the ground truth. Three VMMs
# (kvmlock-workload, driven through FIFOs) lock and unlock memslots: W1 runs
# VMs A, B and E, W2 runs C, W3 runs D. After every step:
#   - a kvmlock-top started then (-b --json 1 1: every run is a late start,
#     from the kernel's state) and
#   - one started before any VM (following the events all along)
# must both show exactly the VMs alive, each with the slots, pages, RW/RO
# bytes and memlock charge the workload locked, which the kernel's own
# statistics (debugfs) must show as well. The follower also writes
# --prom-file: after each step its file and the ground truth are kept in
# results/kvmlock-top-prom/ for the host (tests/vm/prom_check.sh: promtool,
# node_exporter and prometheus). The follower's counters since it
# started (LOCKs, failures, RLIMIT_MEMLOCK refusals with locked_vm and the
# limit) must be exact too. Steps: R and RW locks of several sizes, a LOCK
# refused by RLIMIT_MEMLOCK, UNLOCK_ALL, a VM closed with a memslot locked,
# a new VM on the closed one's fd (so its debugfs name), a VM created by
# another thread of its VMM than the one that locks it, a VMM SIGKILLed
# with memslots locked, and one SIGKILLed while it locks. During a LOCK of
# several seconds the follower writes its intervals and .prom file.
. "$(dirname "$0")/lib.sh"
kvmlock_top_setup kvmlock-top-e2e
PROM=$P/results/kvmlock-top-prom
rm -rf $PROM
mkdir -p $PROM

# The tool's JSON, one VM per line: the fields the ground truth sets.
VM_ROWS='.vms | sort_by(.vm) | .[] |
	"\(.vm) pid=\(.pid) slots=\(.locked_slots) pages=\(.locked_pages) bytes=\(.locked_bytes) rw=\(.locked_rw_bytes) ro=\(.locked_ro_bytes) memlock=\(.memlock_charged_bytes)"'

# The ground truth, per VM: ${slots,pages,rw,ro}_X; vm_X its event id,
# wpid_X its VMM; alive lists the live VMs, in creation (id) order.
alive=
new_vm() { # W NAME [thr]
	must "$1" "vm $2${3:+ $3}"
	id=${reply#ok vm=}
	id=${id%% *}
	eval "tid_$2=${reply##* tid=}"
	eval "vm_$2=$id wpid_$2=\$pid_$1 slots_$2=0 pages_$2=0 rw_$2=0 ro_$2=0"
	alive="$alive $2"
}
gone() { # NAME...: VMs that went away
	left=
	for v in $alive; do
		case " $* " in *" $v "*) ;; *) left="$left $v" ;; esac
	done
	alive=$left
}
add() { # NAME SLOTS PAGES RW: add to the truth
	eval "slots_$1=\$((slots_$1 + $2)) pages_$1=\$((pages_$1 + $3))"
	if [ "$4" = rw ]; then
		eval "rw_$1=\$((rw_$1 + $3))"
	else
		eval "ro_$1=\$((ro_$1 + $3))"
	fi
}
lock() { # W NAME SLOT NPAGES r|rw
	must "$1" "lock $2 $3 $5"
	add "$2" 1 "$4" "$5"
}
unlock() { # W NAME SLOT NPAGES r|rw
	must "$1" "unlock $2 $3"
	add "$2" -1 "-$4" "$5"
}
unlock_all() { # W NAME
	must "$1" "unlockall $2"
	eval "slots_$2=0 pages_$2=0 rw_$2=0 ro_$2=0"
}

truth() { # the expected VM_ROWS lines
	for v in $alive; do
		eval "echo \"\$vm_$v pid=\$wpid_$v slots=\$slots_$v pages=\$pages_$v" \
			"bytes=\$((pages_$v * PAGE)) rw=\$((rw_$v * PAGE))" \
			"ro=\$((ro_$v * PAGE)) memlock=\$((pages_$v * PAGE))\""
	done
}

# The debugfs directory name of VM NAME
dir_of() {
	for d in /sys/kernel/debug/kvm/*-*; do
		head -n 1 "$d/locked_memslots" 2>/dev/null |
			grep -q "^vm $(eval echo \$vm_$1) " && echo "${d##*/}"
	done
}

# The kernel's view of the live VMs: their debugfs statistics, as VM_ROWS
# shows them.
kernel_view() {
	for v in $alive; do
		for d in $(dir_of $v); do
			d=/sys/kernel/debug/kvm/$d
			s=$(cat "$d/locked_slots") p=$(cat "$d/locked_pages")
			w=$(cat "$d/locked_pages_writable")
			eval "echo \"\$vm_$v pid=\$wpid_$v slots=$s pages=$p bytes=$((p * PAGE))" \
				"rw=$((w * PAGE)) ro=$(((p - w) * PAGE)) memlock=$((p * PAGE))\""
		done
	done
}

# Wait until the follower wrote 2 intervals after now: the last began after.
follower_line() {
	n=$(wc -l <$D/follow.ndjson)
	i=0
	while [ "$(wc -l <$D/follow.ndjson)" -lt $((n + 2)) ]; do
		i=$((i + 1))
		[ $i -gt 200 ] && fail_now "the follower wrote no interval in 10 s"
		sleep 0.05
	done
	tail -n 1 $D/follow.ndjson
}

step=0
verify() { # what was done
	step=$((step + 1))
	want=$(truth)
	got=$(kernel_view)
	[ "$got" = "$want" ]
	result $? "step $step ($1): the kernel's statistics match the truth"
	[ "$got" = "$want" ] || printf '# want:\n%s\n# kernel:\n%s\n' "$want" "$got"
	# A kvmlock-top started now, while the follower writes its next
	# intervals (each takes a second or more; nothing changes meanwhile).
	$TOOL -b --json 1 1 >$D/late.ndjson 2>$D/late.err &
	late=$!
	follower_line >$D/last.json
	# Its .prom file is written after each JSON line: one more line, and
	# the file holds this state.
	n=$(wc -l <$D/follow.ndjson)
	i=0
	while [ "$(wc -l <$D/follow.ndjson)" -le "$n" ] && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	cp $PROM/kvmlock.prom $PROM/step-$step.prom
	echo "$want" >$PROM/step-$step.truth
	wait $late
	rc=$?
	# One jq: the slots it seeded (first line), then its VMs.
	out=$(jq -r "(.reconciled.seeded | tostring), ($VM_ROWS)" $D/late.ndjson 2>&1)
	got=$(echo "$out" | sed 1d)
	[ $rc = 0 ] && [ "$(wc -l <$D/late.ndjson)" = 1 ] && [ "$got" = "$want" ]
	result $? "step $step ($1): kvmlock-top started now shows exactly it"
	[ "$got" = "$want" ] || printf '# want:\n%s\n# got (exit %s):\n%s\n' "$want" $rc "$out"
	# Nothing changes while it starts: it seeds every locked slot.
	n=0
	for v in $alive; do eval "n=\$((n + slots_$v))"; done
	got=$(echo "$out" | head -n 1)
	[ "$got" = $n ]
	result $? "step $step ($1): it seeded the $n locked slots from the kernel ($got)"
	got=$(jq -r "$VM_ROWS" $D/last.json 2>&1)
	[ "$got" = "$want" ]
	result $? "step $step ($1): kvmlock-top following the events shows exactly it"
	[ "$got" = "$want" ] || printf '# want:\n%s\n# got:\n%s\n' "$want" "$got"
}

# follower_counts NAME: the follower's counters since it started for VM NAME.
follower_counts() {
	jq -r --argjson vm "$(eval echo \$vm_$1)" '.vms[] | select(.vm == $vm) |
		"locks=\(.lock_ops_total) failed=\(.lock_failures_total) unlocks=\(.unlock_ops_total) account_failures=\(.account_failures_total) locked_vm=\(.last_account_fail_locked_vm_bytes) limit=\(.last_account_fail_limit_bytes)"' \
		$D/last.json
}

[ -x $TOOL ] && [ -x $WL ] || fail_now "no $TOOL or $WL in the payload"
$TOOL -b --json --prom-file $PROM/kvmlock.prom 1 >$D/follow.ndjson 2>$D/follow.err &
tool=$!
# Attached once it printed its first interval.
i=0
while [ ! -s $D/follow.ndjson ]; do
	i=$((i + 1))
	[ $i -gt 600 ] && fail_now "kvmlock-top printed nothing in 30 s"
	sleep 0.05
done

start w1 3
start w2 4
# A: created by another thread of W1 than the one that locks it, so KVM
# names it by that thread; kvmlock-top must show it as W1's.
new_vm w1 A thr
[ "$tid_A" != "$pid_w1" ] && [ -d /sys/kernel/debug/kvm/$tid_A-* ]
result $? "A is named by the thread of W1 that created it ($(dir_of A), W1 $pid_w1)"
new_vm w1 B
new_vm w2 C
must w1 "slot A 1 256"
must w1 "slot A 2 64"
must w1 "slot B 1 128"
must w1 "slot B 2 16"
must w2 "slot C 1 512"
must w2 "slot C 2 32"
verify "3 VMs, nothing locked"

lock w1 A 1 256 rw
verify "A: 1 MiB locked RW"
lock w1 A 2 64 r
lock w1 B 1 128 rw
lock w2 C 1 512 r
lock w2 C 2 32 rw
verify "A R and RW, B RW, C R and RW"
# -p: W1's VMs only. -s pages -r 1: the VM with most pages, C (544).
got=$($TOOL -b --json -p $pid_w1 1 1 | jq -r "$VM_ROWS")
want=$(truth | grep " pid=$pid_w1 ")
[ "$got" = "$want" ]
result $? "-p $pid_w1 shows W1's VMs A and B only"
[ "$got" = "$want" ] || printf '# want:\n%s\n# got:\n%s\n' "$want" "$got"
got=$($TOOL -b --json -s pages -r 1 1 1 | jq -r '[.vms[].vm] | join(" ")')
[ "$got" = "$vm_C" ]
result $? "-s pages -r 1 shows the VM with most pages, C ($got)"

# W1 has 256 + 64 + 128 pages locked: its limit, then B's 16 pages more.
must w1 "rlimit $((448 * PAGE))"
cmd w1 "lock B 2 r"
[ "$reply" = "err ENOMEM KVM_ENABLE_CAP" ]
result $? "B's lock over RLIMIT_MEMLOCK fails with ENOMEM ($reply)"
verify "B refused by RLIMIT_MEMLOCK"
got=$(follower_counts B)
want="locks=2 failed=1 unlocks=0 account_failures=1 locked_vm=$((448 * PAGE)) limit=$((448 * PAGE))"
[ "$got" = "$want" ]
result $? "the follower counted B's refusal: $got"
echo "$vm_B 1" >$PROM/step-$step.account_failures
[ "$got" = "$want" ] || echo "# want: $want"

unlock w2 C 2 32 rw
verify "C unlocked its RW slot"
unlock_all w1 A
verify "A unlocked all"
got=$(follower_counts A)
want="locks=2 failed=0 unlocks=2 account_failures=0 locked_vm=null limit=null"
[ "$got" = "$want" ]
result $? "the follower counted A's locks and unlocks: $got"
[ "$got" = "$want" ] || echo "# want: $want"

# B closed with a memslot locked; at once (within the follower's
# interval) W1's next VM E gets the fd B had, so B's debugfs name
# (<pid>-<fd>): a new directory all the same, which the tool must read
# anew, not take for B.
dir_B=$(dir_of B)
must w1 "close B"
gone B
new_vm w1 E
must w1 "slot E 1 16"
lock w1 E 1 16 r
[ -n "$dir_B" ] && [ "$(dir_of E)" = "$dir_B" ]
result $? "E, W1's next VM, has the debugfs name B had ($dir_B, E: $(dir_of E))"
verify "B closed with a memslot locked, E on its fd with 16 pages R"

kill -9 $pid_w2
wait $pid_w2 2>/dev/null
gone C
verify "W2 (C) SIGKILLed with a memslot locked"

# A LOCK of several seconds (lib.sh's long_lock_*), SIGKILLed after the
# check: the follower goes on meanwhile, its sampler reading nothing the
# LOCK holds: two more intervals and its .prom file rewritten between the
# LOCK's kvm_memslot_lock_begin and its lock_end.
long_lock_start $D/long.out
n=$(wc -l <$D/follow.ndjson)
prom=$(stat -c %y $PROM/kvmlock.prom)
i=0
while [ "$(wc -l <$D/follow.ndjson)" -lt $((n + 2)) ] && ! long_lock_ended && [ $i -lt 400 ]; do
	sleep 0.05
	i=$((i + 1))
done
lines=$(($(wc -l <$D/follow.ndjson) - n))
ended=$(long_lock_ended && echo yes || echo no)
[ "$lines" -ge 2 ] && [ "$ended" = no ] && [ "$(stat -c %y $PROM/kvmlock.prom)" != "$prom" ]
result $? "during a LOCK of 2 GiB the follower wrote $lines intervals and its .prom file (LOCK ended: $ended)"
long_lock_kill
grep -q "kvm_memslot_lock_end: .* pid=$long .* ret=-4 " $TRACEFS/trace
result $? "... and the LOCK ended with -EINTR at the SIGKILL"

# D: a VMM killed while it locks 256 MiB (seconds under TCG).
start w3 5
new_vm w3 D
must w3 "slot D 1 65536"
eval "echo 'lock D 1 rw' >&\$fd_w3"
sleep 0.3
kill -9 $pid_w3
wait $pid_w3 2>/dev/null
gone D
verify "W3 (D) SIGKILLed while locking"

echo exit >&3
wait $pid_w1 2>/dev/null
gone A E
verify "W1 exited: no VM left"

kill -INT $tool
wait $tool
rc=$?
[ $rc = 0 ] && [ ! -s $D/follow.err ]
result $? "the follower exits 0 on SIGINT, nothing on stderr (exit $rc)"
[ -s $D/follow.err ] && sed 's/^/# /' $D/follow.err
jq -e '.events_lost_total == 0 and .events_received_total > 0' $D/last.json >/dev/null
result $? "events counted, none lost (top streams none)"

# SIGTERM as SIGINT: the interval under way is printed, exit 0.
$TOOL -b --json 5 >$D/term.ndjson 2>$D/term.err &
t=$!
i=0
while [ ! -s $D/term.ndjson ] && [ $i -lt 600 ]; do
	sleep 0.05
	i=$((i + 1))
done
kill -TERM $t
wait $t
rc=$?
[ $rc = 0 ] && [ "$(wc -l <$D/term.ndjson)" = 2 ] && [ ! -s $D/term.err ] &&
	tail -n 1 $D/term.ndjson | jq -e '.interval_ns < 5000000000' >/dev/null
result $? "SIGTERM: exit $rc, the short last interval printed, nothing on stderr"

# Errors: one line on stderr, a non-zero exit, nothing left loaded. (Not
# root is checked by the host tests: busybox here cannot drop root.)
one_error() { # what, pattern, command...
	what=$1 pattern=$2
	shift 2
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	[ $rc != 0 ] && [ "$(echo "$out" | wc -l)" = 1 ] &&
		echo "$out" | grep -q "^kvmlock-top: .*$pattern"
	result $? "$what: exit $rc, one line: $out"
}
one_error "debugfs not mounted" "debugfs" \
	unshare -m sh -c "umount /sys/kernel/debug && exec $TOOL -b 1 1"
one_error "a bad option" "sort" $TOOL -b -s nosuchkey 1 1
! bpftool prog show | grep -q kvm_memslot
result $? "no kvmlock-top program left loaded"
exit $fail
