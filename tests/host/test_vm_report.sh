#!/usr/bin/env bash
# tests/vm/report.sh, the verdicts of a test VM run, on fixture runs: a
# console with \r\n line ends as the serial console writes it, tests.meta
# from the lists, results/<name>.rc and .log, and the watchdog's record.
# Each case checks the exact verdict lines, the summary and the exit status.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/lib.sh"

REPORT=$TOP/tests/vm/report.sh

# fixture META CONSOLE: a new run directory; META is tests.meta, CONSOLE the
# console text (given with \n, written with \r\n). Prints its path.
fixture() {
	local dir
	dir=$(mktemp -d "$tmp/run.XXXX")
	mkdir -p "$dir/payload/results"
	printf '%s\n' "$1" >"$dir/tests.meta"
	printf '%s\n' "$2" | sed 's/$/\r/' >"$dir/console.log"
	echo "$dir"
}
result() { # dir name rc [log]: the test's .rc (10 s, the kernel untainted, no lockdep) and .log
	local safe=${2//\//_}
	echo "$3 1.00 11.00 0 0 - -" >"$1/payload/results/$safe.rc"
	printf '%s\n' "${4:-output of $2}" >"$1/payload/results/$safe.log"
}
state() { # dir name taint_before taint_after [debug_locks_before after]: the kernel's state around a passing test
	result "$1" "$2" 0
	echo "0 1.00 11.00 $3 $4 ${5:--} ${6:--}" >"$1/payload/results/${2//\//_}.rc"
}
verdict() { # dir: report.sh's output without log tails and count, then "exit N"
	local out rc
	out=$("$REPORT" "$1" 2>&1)
	rc=$?
	grep -v -e '^      > ' -e '^vm: [0-9]* tests listed' <<<"$out" | sed -E 's/ +/ /g'
	echo "exit $rc"
}
console() { # name body: a test's markers around body (may be empty)
	printf 'KVMLOCK-TEST-BEGIN %s\n%s%sKVMLOCK-TEST-END %s rc=0' "$1" "$2" "${2:+$'\n'}" "$1"
}

# 1. A splat inside a test fails that test, naming it, on a \r\n console.
d=$(fixture "first 60
aarch64/get-reg-list 60
third 60" "[    0.500000] Booting Linux
KVMLOCK-BOOTED uptime=0.80
$(console first "")
$(console aarch64/get-reg-list "[    5.000000] WARNING: CPU: 1 PID: 80 at arch/arm64/kvm/mmu.c:1234 kvm_foo+0x10/0x20
[    5.000001] Call trace:")
$(console third "[    6.000000] kvm [90]: VHE mode initialized successfully")
KVMLOCK-ALL-DONE")
for t in first aarch64/get-reg-list third; do result "$d" "$t" 0; done
expect "CRLF console: a splat fails the test it happened in, and only it" \
	"PASS first 10.0s
FAIL aarch64/get-reg-list 10.0s kernel splat on the console
 | [ 5.000000] WARNING: CPU: 1 PID: 80 at arch/arm64/kvm/mmu.c:1234 kvm_foo+0x10/0x20
 | [ 5.000001] Call trace:
PASS third 10.0s
vm: 2 passed, 1 failed, 0 skipped
exit 1" "$(verdict "$d")"
if [ -f "$d/console.txt" ] && ! grep -q $'\r' "$d/console.txt"; then
	ok "console.txt is the console without carriage returns"
else
	not_ok "console.txt is the console without carriage returns"
fi

# 2. Skips: exit 4 fails unless skip=whole; the reason shows either way.
d=$(fixture "aarch64/aarch32_id_regs 60 skip=whole
kvm_smoke_test 60" "KVMLOCK-BOOTED uptime=0.80
$(console aarch64/aarch32_id_regs "")
$(console kvm_smoke_test "")
KVMLOCK-ALL-DONE")
result "$d" aarch64/aarch32_id_regs 4 "1..0 # SKIP vcpu_aarch64_only(vcpu): AArch32 at EL0, skipping test"
result "$d" kvm_smoke_test 4 "TAP version 13
- /dev/kvm not available (No such file or directory), skipping test"
expect "exit 4: SKIP when the list allows it, FAIL otherwise, with the reason" \
	"SKIP aarch64/aarch32_id_regs 10.0s 1..0 # SKIP vcpu_aarch64_only(vcpu): AArch32 at EL0, skipping test
FAIL kvm_smoke_test 10.0s skipped (exit 4), which its list entry does not allow: - /dev/kvm not available (No such file or directory), skipping test
vm: 0 passed, 1 failed, 1 skipped
exit 1" "$(verdict "$d")"

# 3. kselftest cases that skip inside a binary that exits 0.
tap="TAP version 13
1..3
ok 1 bad arguments: exact errors, nothing changed
ok 2 # SKIP MTE enabled after locking; shared memory fails KVM_RUN: no KVM_CAP_ARM_MTE
ok 3 # SKIP MTE: the guest reads stale tags cleared, VMM's kept: no KVM_CAP_ARM_MTE
# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:2 error:0"
d=$(fixture "memslot_lock_test 300 allow=locked-fault
nofwb_memslot_lock_test 300 skip-case=MTE* allow=locked-fault
other 60 skip-case=THP*,*hugepage*" "KVMLOCK-BOOTED uptime=0.80
$(console memslot_lock_test "")
$(console nofwb_memslot_lock_test "")
$(console other "")
KVMLOCK-ALL-DONE")
result "$d" memslot_lock_test 0 "$tap"
result "$d" nofwb_memslot_lock_test 0 "$tap"
result "$d" other 0 "ok 1 # SKIP MTE: not here"
expect "a case skip fails unless a skip-case glob allows it; allowed ones are named" \
	"FAIL memslot_lock_test 10.0s a case skipped, which its list entry does not allow: MTE enabled after locking; shared memory fails KVM_RUN: no KVM_CAP_ARM_MTE; a case skipped, which its list entry does not allow: MTE: the guest reads stale tags cleared, VMM's kept: no KVM_CAP_ARM_MTE
PASS nofwb_memslot_lock_test 10.0s (2 case(s) skipped as its list allows: MTE enabled after locking; shared memory fails KVM_RUN: no KVM_CAP_ARM_MTE | MTE: the guest reads stale tags cleared, VMM's kept: no KVM_CAP_ARM_MTE)
FAIL other 10.0s a case skipped, which its list entry does not allow: MTE: not here
vm: 1 passed, 2 failed, 2 skipped
exit 1" "$(verdict "$d")"

# Skips in a test that exits 0: a child's "1..0 # SKIP" (get-reg-list
# forks one per configuration, ignores a child's exit 4 and exits 0; its
# real output) and print_skip()'s ", skipping test": allowed only by
# skip-case= (or skip=whole), and counted.
reglist="vregs: PASS
vregs+pmu: PASS
1..0 # SKIP - sve: sve not available, skipping tests

1..0 # SKIP - sve+pmu: sve not available, skipping tests
"
d=$(fixture "aarch64/get-reg-list 60
allowed 60 skip-case=-?sve*:?sve?not?available*
whole 60 skip=whole
printskip 60
printskip2 60" "KVMLOCK-BOOTED uptime=0.80
$(console aarch64/get-reg-list "")
$(console allowed "")
$(console whole "")
$(console printskip "")
$(console printskip2 "")
KVMLOCK-ALL-DONE")
result "$d" aarch64/get-reg-list 0 "$reglist"
result "$d" allowed 0 "$reglist"
result "$d" whole 0 "$reglist"
result "$d" printskip 0 "__NR_userfaultfd must be present for userfaultfd test, skipping test"
result "$d" printskip2 0 "KVM_CAP_ARM_MTE not available
, skipping test"
expect "skips in a test that exits 0: fail unless allowed, and count" \
	"FAIL aarch64/get-reg-list 10.0s a part skipped, which its list entry does not allow: - sve: sve not available, skipping tests; a part skipped, which its list entry does not allow: - sve+pmu: sve not available, skipping tests
PASS allowed 10.0s (2 case(s) skipped as its list allows: - sve: sve not available, skipping tests | - sve+pmu: sve not available, skipping tests)
PASS whole 10.0s (2 case(s) skipped as its list allows: - sve: sve not available, skipping tests | - sve+pmu: sve not available, skipping tests)
FAIL printskip 10.0s a part skipped, which its list entry does not allow: __NR_userfaultfd must be present for userfaultfd test
FAIL printskip2 10.0s a part skipped, which its list entry does not allow: KVM_CAP_ARM_MTE not available
vm: 2 passed, 3 failed, 4 skipped
exit 1" "$(verdict "$d")"

# 4. 137, another exit status, a missing .rc, a missing ALL-DONE.
d=$(fixture "killed 60
exits 60
died 120
never 60" "KVMLOCK-BOOTED uptime=0.80
$(console killed "")
$(console exits "")
KVMLOCK-TEST-BEGIN died
[   99.000000] rcu: INFO: rcu_sched self-detected stall on CPU")
result "$d" killed 137
result "$d" exits 1
expect "137, exit 1, no .rc (the test it died in, and the one never run), no ALL-DONE" \
	"FAIL killed 10.0s killed after its 60s timeout (SIGKILL; or by the OOM killer)
FAIL exits 10.0s exit status 1
FAIL died ?s no result: the VM died or hung during this test; kernel splat on the console
 | [ 99.000000] rcu: INFO: rcu_sched self-detected stall on CPU
FAIL never ?s not run: the VM stopped before this test
the VM did not finish its test list; last console lines:
 | KVMLOCK-BOOTED uptime=0.80
 | KVMLOCK-TEST-BEGIN killed
 | KVMLOCK-TEST-END killed rc=0
 | KVMLOCK-TEST-BEGIN exits
 | KVMLOCK-TEST-END exits rc=0
 | KVMLOCK-TEST-BEGIN died
 | [ 99.000000] rcu: INFO: rcu_sched self-detected stall on CPU
vm: 0 passed, 4 failed, 0 skipped
exit 1" "$(verdict "$d")"

expect "the count of tests listed and with a result" "vm: 4 tests listed, 2 with a result" \
	"$("$REPORT" "$d" 2>&1 | grep '^vm: [0-9]* tests listed')"

d=$(fixture "passes 60" "KVMLOCK-BOOTED uptime=0.80
$(console passes "")")
result "$d" passes 0
expect "all passed but no ALL-DONE: the run fails" \
	"PASS passes 10.0s
the VM did not finish its test list; last console lines:
 | KVMLOCK-BOOTED uptime=0.80
 | KVMLOCK-TEST-BEGIN passes
 | KVMLOCK-TEST-END passes rc=0
vm: 1 passed, 1 failed, 0 skipped
exit 1" "$(verdict "$d")"

# 5. A splat outside any test fails the run, not a test.
d=$(fixture "passes 60" "[    0.100000] BUG: KASAN: slab-out-of-bounds in foo+0x1/0x2
KVMLOCK-BOOTED uptime=0.80
$(console passes "")
[   50.000000] kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)
KVMLOCK-ALL-DONE")
result "$d" passes 0
expect "splats outside any test fail the run" \
	"PASS passes 10.0s
kernel splat or locked-memslot warning outside any test:
 | [ 0.100000] BUG: KASAN: slab-out-of-bounds in foo+0x1/0x2
 | [ 50.000000] kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)
vm: 1 passed, 1 failed, 0 skipped
exit 1" "$(verdict "$d")"

# 6. The series' warning: allowed only where the list says so.
fault="[   20.000000] kvm [321]: unexpected write fault on locked memslot 1 at IPA 0x40003000, ESR 0x92000047"
d=$(fixture "aarch64/memslot_lock_test 300 allow=locked-fault
trace_events 120" "KVMLOCK-BOOTED uptime=0.80
$(console aarch64/memslot_lock_test "$fault")
$(console trace_events "${fault/write/read}")
${fault/write/access}
KVMLOCK-ALL-DONE")
result "$d" aarch64/memslot_lock_test 0
result "$d" trace_events 0
expect "unexpected fault on a locked memslot: fails unless allowed, and outside any test" \
	"PASS aarch64/memslot_lock_test 10.0s
FAIL trace_events 10.0s the series' warning of an unexpected fault on a locked memslot
 | [ 20.000000] kvm [321]: unexpected read fault on locked memslot 1 at IPA 0x40003000, ESR 0x92000047
kernel splat or locked-memslot warning outside any test:
 | [ 20.000000] kvm [321]: unexpected access fault on locked memslot 1 at IPA 0x40003000, ESR 0x92000047
vm: 1 passed, 2 failed, 0 skipped
exit 1" "$(verdict "$d")"

# Lost console lines: what the ratelimit suppressed, what printk dropped.
# The series' own warning is ratelimited: its suppressed count is allowed
# where the warning is.
d=$(fixture "faults 60 allow=locked-fault
other 60 allow=locked-fault
plain 60" "KVMLOCK-BOOTED uptime=0.80
$(console faults "$fault
[   25.000000] warn_unexpected_locked_fault: 12 callbacks suppressed")
$(console other "[   26.000000] kvm_handle_guest_abort: 3 callbacks suppressed")
$(console plain "[   27.000000] warn_unexpected_locked_fault: 2 callbacks suppressed")
[   28.000000] ** 5 printk messages dropped **
KVMLOCK-ALL-DONE")
for t in faults other plain; do result "$d" $t 0; done
expect "callbacks suppressed and printk messages dropped fail, but the series' own where it may warn" \
	"PASS faults 10.0s
FAIL other 10.0s kernel splat on the console
 | [ 26.000000] kvm_handle_guest_abort: 3 callbacks suppressed
FAIL plain 10.0s kernel splat on the console
 | [ 27.000000] warn_unexpected_locked_fault: 2 callbacks suppressed
kernel splat or locked-memslot warning outside any test:
 | [ 28.000000] ** 5 printk messages dropped **
vm: 1 passed, 3 failed, 0 skipped
exit 1" "$(verdict "$d")"

# The kernel's own record, whatever the console shows: its taint flags and
# (with lockdep) debug_locks before and after each test.
d=$(fixture "warns 60
locks 60
clean 60
between 60
old 60" "KVMLOCK-BOOTED uptime=0.80
$(console warns "")
$(console locks "")
$(console clean "")
$(console between "")
$(console old "")
KVMLOCK-ALL-DONE")
state "$d" warns 0 512 1 1
state "$d" locks 512 512 1 0
state "$d" clean 512 512 0 0
state "$d" between 4608 4608 0 0
result "$d" old 0
echo "0 1.00 11.00" >"$d/payload/results/old.rc"
expect "a taint or lockdep turned off while a test ran fails it, with no console line; so does no record" \
	"FAIL warns 10.0s the kernel was tainted while it ran: 0 -> 512 (new: W)
FAIL locks 10.0s lockdep turned itself off while it ran (debug_locks 1 -> 0)
PASS clean 10.0s
PASS between 10.0s
FAIL old 10.0s no record of the kernel's taint flags in its .rc
the kernel was tainted between clean and between: 512 -> 4608 (new: O)
vm: 2 passed, 4 failed, 0 skipped
exit 1" "$(verdict "$d")"
d=$(fixture "first 60" "KVMLOCK-BOOTED uptime=0.80
$(console first "")
KVMLOCK-ALL-DONE")
state "$d" first 640 640 0 0
expect "tainted, or lockdep off, before the first test: the run fails" \
	"PASS first 10.0s
the kernel was tainted before the first test: 640 (D W)
lockdep was off before the first test (debug_locks 0)
vm: 1 passed, 2 failed, 0 skipped
exit 1" "$(verdict "$d")"
d=$(fixture "first 60
second 60" "KVMLOCK-BOOTED uptime=0.80
$(console first "")
$(console second "")
KVMLOCK-ALL-DONE")
state "$d" first 0 0 1 1
state "$d" second 0 0 0 0
expect "lockdep turned off between two tests: the run fails" \
	"PASS first 10.0s
PASS second 10.0s
lockdep turned itself off between first and second (debug_locks 1 -> 0)
vm: 2 passed, 1 failed, 0 skipped
exit 1" "$(verdict "$d")"

# 7. What the lockup and memory detectors print is a splat.
i=0
for line in "INFO: task kworker/0:1:12 blocked for more than 60 seconds." \
	"watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [memslot_lock_te:99]" \
	"BUG: KASAN: use-after-free in kvm_arch_flush_shadow_memslot+0x1c/0x40" \
	"unreferenced object 0xffff000012345678 (size 64):" \
	"kmemleak: 3 new suspected memory leaks (see /sys/kernel/debug/kmemleak)" \
	"UBSAN: shift-out-of-bounds in arch/arm64/kvm/mmu.c:10:2" \
	"kernel BUG at arch/arm64/kvm/mmu.c:99!" \
	"Internal error: Oops: 96000004 [#1] SMP" \
	"Kernel panic - not syncing: Oops: Fatal exception"; do
	i=$((i + 1))
	d=$(fixture "t 60" "KVMLOCK-BOOTED uptime=0.80
$(console t "[   30.000000] $line")
KVMLOCK-ALL-DONE")
	result "$d" t 0
	expect "a splat: $line" "FAIL t 10.0s kernel splat on the console
 | [ 30.000000] $line
vm: 0 passed, 1 failed, 0 skipped
exit 1" "$(verdict "$d")"
done

# 8. The host watchdog's record names the hung test, or the boot.
d=$(fixture "first 60
hangs 60
after 60" "KVMLOCK-BOOTED uptime=0.80
$(console first "")
KVMLOCK-TEST-BEGIN hangs")
result "$d" first 0
echo "test hangs 92 60" >"$d/watchdog"
expect "a test the watchdog stopped is named hung" \
	"PASS first 10.0s
FAIL hangs 92s hung: no result after 92s (its timeout 60s), QEMU killed by the host watchdog
FAIL after ?s not run: the VM stopped before this test
the VM did not finish its test list; last console lines:
 | KVMLOCK-BOOTED uptime=0.80
 | KVMLOCK-TEST-BEGIN first
 | KVMLOCK-TEST-END first rc=0
 | KVMLOCK-TEST-BEGIN hangs
vm: 1 passed, 2 failed, 0 skipped
exit 1" "$(verdict "$d")"
# stopped FILE CONTENT: the verdict on a run whose one test passed, with
# FILE (watchdog, qemu-timeout) in its directory holding CONTENT.
stopped() {
	local d
	d=$(fixture "first 60" "KVMLOCK-BOOTED uptime=0.80
$(console first "")
KVMLOCK-ALL-DONE")
	result "$d" first 0
	echo "$2" >"$d/$1"
	verdict "$d"
}
expect "a guest the watchdog stopped outside any test (here: after its last test) fails the run" \
	"PASS first 10.0s
hung outside any test: nothing for 62s after first ended (limit 60s), QEMU killed by the host watchdog
vm: 1 passed, 1 failed, 0 skipped
exit 1" "$(stopped watchdog "outside 62 60 first")"
d=$(fixture "first 60" "KVMLOCK-BOOTED uptime=0.80")
echo "outside 61 60 -" >"$d/watchdog"
expect "... or before its first test" \
	"FAIL first ?s not run: the VM stopped before this test
hung outside any test: nothing for 61s after boot (limit 60s), QEMU killed by the host watchdog
the VM did not finish its test list; last console lines:
 | KVMLOCK-BOOTED uptime=0.80
vm: 0 passed, 2 failed, 0 skipped
exit 1" "$(verdict "$d")"
expect "QEMU stopped at the VM's time limit fails the run" \
	"PASS first 10.0s
hung: QEMU killed at the VM's time limit (120s)
vm: 1 passed, 1 failed, 0 skipped
exit 1" "$(stopped qemu-timeout 120)"
d=$(fixture "first 60" "[    0.100000] Booting Linux")
echo "boot 121" >"$d/watchdog"
expect "a boot the watchdog stopped fails the run" \
	"FAIL first ?s not run: the VM stopped before this test
hung: the guest did not reach its first test in 121s; QEMU killed by the host watchdog
the VM did not finish its test list; last console lines:
 | [ 0.100000] Booting Linux
vm: 0 passed, 2 failed, 0 skipped
exit 1" "$(verdict "$d")"

# 10. Markers glued to kernel text (a printk landing between a marker and
# its line end, or just before it): the marker still counts, the text is
# scanned inside the right test; a marker naming no listed test is
# "outside any test".
d=$(fixture "first 60
glued 60
memslot_lock_stress 60
memslot_lock_stress_workers 60" "KVMLOCK-BOOTED uptime=0.80
$(console first "")
KVMLOCK-TEST-BEGIN glued[    5.000000] kvm [9]: unexpected write fault on locked memslot 1 at IPA 0x40003000, ESR 0x92000047
[    5.100000] BUG: KASAN: use-after-free in kvm_foo+0x1c/0x40
[    5.200000] WARNING: CPU: 1 PID: 80 at arch/arm64/kvm/mmu.c:99 kvm_bar+0x1/0x2KVMLOCK-TEST-END glued rc=0
[    6.000000] kvm [9]: a line after glued ended
KVMLOCK-TEST-BEGIN memslot_lock_stress
KVMLOCK-TEST-END memslot_lock_stress rc=0[    7.000000] Call trace:
KVMLOCK-TEST-BEGIN memslot_lock_stress_workers
KVMLOCK-TEST-END memslot_lock_stress_workers rc=0
KVMLOCK-ALL-DONE")
for t in first glued memslot_lock_stress memslot_lock_stress_workers; do result "$d" "$t" 0; done
expect "text glued to a BEGIN or END marker is scanned inside its test; the next test still counts" \
	"PASS first 10.0s
FAIL glued 10.0s kernel splat on the console; the series' warning of an unexpected fault on a locked memslot
 | [ 5.100000] BUG: KASAN: use-after-free in kvm_foo+0x1c/0x40
 | [ 5.200000] WARNING: CPU: 1 PID: 80 at arch/arm64/kvm/mmu.c:99 kvm_bar+0x1/0x2
 | [ 5.000000] kvm [9]: unexpected write fault on locked memslot 1 at IPA 0x40003000, ESR 0x92000047
PASS memslot_lock_stress 10.0s
PASS memslot_lock_stress_workers 10.0s
kernel splat or locked-memslot warning outside any test:
 | [ 7.000000] Call trace:
vm: 3 passed, 2 failed, 0 skipped
exit 1" "$(verdict "$d")"
d=$(fixture "known 60" "KVMLOCK-BOOTED uptime=0.80
KVMLOCK-TEST-BEGIN kn[    3.000000] own
[    3.100000] BUG: unable to handle page fault
KVMLOCK-TEST-END known rc=0
KVMLOCK-ALL-DONE")
result "$d" known 0
expect "a marker naming no listed test: what follows is outside any test" \
	"PASS known 10.0s
kernel splat or locked-memslot warning outside any test:
 | [ 3.100000] BUG: unable to handle page fault
vm: 1 passed, 1 failed, 0 skipped
exit 1" "$(verdict "$d")"

# 9. Fail closed: no console at all; a clean run passes.
d=$(fixture "t 60" "")
rm "$d/console.log"
result "$d" t 0
expect "no console: the run fails" "PASS t 10.0s
the VM did not finish its test list; last console lines:
vm: 1 passed, 1 failed, 0 skipped
exit 1" "$(verdict "$d")"
d=$(fixture "# nothing" "KVMLOCK-BOOTED uptime=0.80
KVMLOCK-ALL-DONE")
expect "no test listed: the run fails" "no test listed in $d/tests.meta
vm: 0 passed, 1 failed, 0 skipped
exit 1" "$(verdict "$d")"
d=$(fixture "a 60
b 60 skip=whole" "KVMLOCK-BOOTED uptime=0.80
$(console a "[    9.000000] kvm [5]: some harmless line")
$(console b "")
KVMLOCK-ALL-DONE")
result "$d" a 0
result "$d" b 0
expect "a clean run passes (a test allowed to skip that does not skip passes)" \
	"PASS a 10.0s
PASS b 10.0s
vm: 2 passed, 0 failed, 0 skipped
exit 0" "$(verdict "$d")"

finish vm-report
