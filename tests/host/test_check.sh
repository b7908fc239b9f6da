#!/usr/bin/env bash
# tests/check.sh's counting (run_suite) on stand-in suites: counts come from
# the suite's last line only, a suite that dies before its summary or exits
# non-zero with "0 failed" is one failure, and never two; each suite's wall
# time, and the ten slowest guest tests from report.sh's lines of every
# boot. Then check.sh end to end with stand-ins for the host tests, run.sh
# and kernel.sh:
#  - the five boots, each with its lists and VM settings given explicitly;
#  - two lanes: the main lane (the test VM, prom_check, the movable zone)
#    shown as it runs, the side lane (host tests, no FWB, the debug
#    kernels) beside it, shown after, its counts added; a side lane that
#    dies is one failure, and an interrupted check.sh leaves nothing of
#    it running; CHECK_LANES=1 and one CPU: one lane, in that order;
#  - a time line for each suite, and the ten slowest tests before the end;
#  - a boot that reports fewer tests than its lists name fails;
#  - the environment cannot change what is tested: each knob of the test
#    VM and the kernel build set (even empty) stops it before anything
#    runs, in one line; every knob run.sh, watchdog.sh and kernel.sh read
#    is among them.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/lib.sh"
# check.sh's own counters, kept apart from this test's.
mine_passed=$passed mine_failed=$failed
. "$TOP/tests/check.sh"

suite() { # exit status, output lines...: a stand-in suite
	local rc=$1
	shift
	printf '%s\n' "$@"
	return "$rc"
}
counts() { # suite arguments: "passed failed skipped" that run_suite adds
	passed=0 failed=0 skipped=0
	run_suite suite "$@" >/dev/null
	echo "$passed $failed $skipped"
}
record() { # name expected actual, into this test's counters
	local p=$passed f=$failed
	passed=$mine_passed failed=$mine_failed
	expect "$@"
	mine_passed=$passed mine_failed=$failed
	passed=$p failed=$f
}

record "a passing suite" "3 0 0" "$(counts 0 "ok - a" "x: 3 passed, 0 failed")"
record "the test VM's skips" "1 0 2" "$(counts 0 "vm: 1 passed, 0 failed, 2 skipped")"
record "a failing suite counts its failures once" "2 1 0" \
	"$(counts 1 "not ok - b" "x: 2 passed, 1 failed")"
record "a suite that dies before its summary: one failure, not two" "0 1 0" \
	"$(counts 2 "ok - a" "x.sh: line 9: KVMLOCK_KERNEL_DIR: run from make check")"
record "a summary-like line in a log tail is not the summary" "0 1 0" \
	"$(counts 2 "      > inner: 5 passed, 0 failed" "run.sh: error: boom")"
record "'N failed' elsewhere does not hide a non-zero exit with 0 failed" "2 1 0" \
	"$(counts 1 "tool: 1 failed" "x: 2 passed, 0 failed")"
record "a suite that prints nothing fails" "0 1 0" "$(counts 0)"
record "exit 0 without a summary fails" "0 1 0" "$(counts 0 "all good, trust me")"

record "a boot listing the tests its lists name" "2 0 0" \
	"$(passed=0 failed=0 skipped=0
	run_suite --tests 2 suite 0 "vm: 2 tests listed, 2 with a result" "vm: 2 passed, 0 failed, 0 skipped" >/dev/null
	echo "$passed $failed $skipped")"
record "a boot listing fewer tests than its lists name: one failure" "1 1 0" \
	"$(passed=0 failed=0 skipped=0
	run_suite --tests 2 suite 0 "vm: 1 tests listed, 1 with a result" "vm: 1 passed, 0 failed, 0 skipped" >/dev/null
	echo "$passed $failed $skipped")"
record "a boot that does not say how many tests it listed: one failure" "2 1 0" \
	"$(passed=0 failed=0 skipped=0
	run_suite --tests 2 suite 0 "vm: 2 passed, 0 failed, 0 skipped" >/dev/null
	echo "$passed $failed $skipped")"

# Times: each suite's, and the ten slowest guest tests of all suites, from
# report.sh's PASS, FAIL and SKIP lines ("?s", no time, left out).
out=$(passed=0 failed=0 skipped=0
	run_suite --name "boot a" suite 1 "PASS  t1                 12.5s" \
		"FAIL  t2                300.0s  hung: no result after 300.0s" "      > t2's log: PASS  x 999.0s" \
		"SKIP  t3                  1.0s  no MTE" "FAIL  t4                     ?s  not run" \
		"vm: 1 passed, 2 failed, 1 skipped"
	run_suite --name "boot b" suite 0 "PASS  t1   40.0s" "PASS  u2   2.0s" "PASS  u3   3.0s" \
		"PASS  u4   4.0s" "PASS  u5   5.0s" "PASS  u6   6.0s" "PASS  u7   7.0s" "PASS  u8   8.0s" \
		"PASS  u9   0.5s" "vm: 9 passed, 0 failed, 0 skipped"
	slowest_tests)
record "each suite's time, named, after its output" "check: boot a took N.Ns|check: boot b took N.Ns" \
	"$(grep '^check: .* took' <<<"$out" | sed -E 's/took [0-9]+\.[0-9]s$/took N.Ns/' | paste -sd'|' -)"
record "the ten slowest tests of all boots, slowest first, with their boot" \
	"check: the ten slowest tests:
   300.0s  t2 (boot a)
    40.0s  t1 (boot b)
    12.5s  t1 (boot a)
     8.0s  u8 (boot b)
     7.0s  u7 (boot b)
     6.0s  u6 (boot b)
     5.0s  u5 (boot b)
     4.0s  u4 (boot b)
     3.0s  u3 (boot b)
     2.0s  u2 (boot b)" \
	"$(sed -n '/^check: the ten slowest tests:$/,$p' <<<"$out")"
record "no guest test: no slowest list" "" "$(TEST_TIMES=()
	slowest_tests)"

# check.sh end to end in a scratch top directory: the real lists, stand-ins
# that log how they were called.
passed=$mine_passed failed=$mine_failed
fake=$tmp/top
mkdir -p "$fake/tests/host" "$fake/tests/vm" "$fake/kernel/scripts"
cp "$TOP"/tests/vm/*.list "$fake/tests/vm/"
cat >"$fake/tests/host/test_a.sh" <<'EOS'
#!/bin/sh
echo "host test ran" >>"$FAKE_LOG"
# FAKE_SIDE_DIES=1: its whole lane is killed, as by the OOM killer.
[ -z "${FAKE_SIDE_DIES:-}" ] || kill -KILL 0
echo "a: 1 passed, 0 failed"
EOS
cat >"$fake/tests/vm/prom_check.sh" <<'EOS'
#!/bin/sh
echo "prom_check $*" >>"$FAKE_LOG"
echo "prom: 1 passed, 0 failed"
EOS
cat >"$fake/kernel/scripts/kernel.sh" <<'EOS'
#!/bin/sh
case ${KERNEL_BASE:-6.12} in
6.12) echo "$FAKE_KERNELS/$2" ;;
*) echo "$FAKE_KERNELS/$KERNEL_BASE-$2" ;;
esac
EOS
cat >"$fake/tests/vm/run.sh" <<'EOS'
#!/bin/sh
# Says how it was called; reports every test of its lists (one less with
# FAKE_SHORT=1) as passed, the Nth in N seconds.
echo "run.sh ${1##*/} run=${VM_RUN_DIR##*/} lists=$(for l in $VM_TEST_LISTS; do printf '%s ' "${l##*/}"; done)cpu=${VM_CPU:-} machine=${VM_MACHINE:-} args=${VM_KERNEL_ARGS:-}" >>"$FAKE_LOG"
# FAKE_HANG=RUN: that boot never ends (a QEMU that runs on).
[ "${FAKE_HANG:-}" != "${VM_RUN_DIR##*/}" ] || exec sleep 613
n=$(cat $VM_TEST_LISTS | grep -cv '^[[:space:]]*\(#\|$\)')
n=$((n - ${FAKE_SHORT:-0}))
cat $VM_TEST_LISTS | grep -v '^[[:space:]]*\(#\|$\)' | head -n "$n" | awk '{ printf "PASS  %-40s %6.1fs\n", $1, NR }'
echo "vm: $n tests listed, $n with a result"
echo "vm: $n passed, 0 failed, 0 skipped"
EOS
chmod +x "$fake"/tests/host/*.sh "$fake"/tests/vm/*.sh "$fake/kernel/scripts/kernel.sh"
# nproc: FAKE_CPUS CPUs (2).
mkdir -p "$tmp/bin"
# shellcheck disable=SC2016 # expanded by the stand-in
printf '#!/bin/sh\necho "${FAKE_CPUS:-2}"\n' >"$tmp/bin/nproc"
chmod +x "$tmp/bin/nproc"
CHECK_SH=$TOP/tests/check.sh
fake_check() { # check.sh arguments: its output and exit status; its calls in $tmp/log
	: >"$tmp/log"
	PATH=$tmp/bin:$PATH TOP=$fake BUILD=$tmp/build FAKE_LOG=$tmp/log FAKE_KERNELS=$tmp/kernels \
		bash "$CHECK_SH" "$@" 2>&1
	echo "exit $?"
}
count() { grep -cv '^[[:space:]]*\(#\|$\)' "$@" | awk -F: '{ s += $NF } END { print s }'; }
main_n=$(count "$TOP/tests/vm/kvm-selftests-6.12.list" "$TOP/tests/vm/guest-tests.list" "$TOP/tests/vm/doc-tests.list")
debug_n=$(count "$TOP/tests/vm/debug-tests.list")
kasan_n=$(count "$TOP/tests/vm/debug-tests.list" "$TOP/tests/vm/kmemleak-tests.list")
total=$((1 + main_n + 1 + $(count "$TOP/tests/vm/nofwb-tests.list") +
	$(count "$TOP/tests/vm/movable-tests.list") + debug_n + kasan_n))
main_lane="run.sh kdir run=vm lists=kvm-selftests-6.12.list guest-tests.list doc-tests.list cpu= machine= args=
prom_check $tmp/build/vm/payload/results
run.sh kdir run=vm-movable lists=movable-tests.list cpu= machine= args=movablecore=1G
run.sh debug run=vm-debug lists=debug-tests.list cpu= machine= args="
side_lane="host test ran
run.sh kdir run=vm-nofwb lists=nofwb-tests.list cpu=neoverse-n1 machine=virt,virtualization=on,gic-version=3 args=
run.sh kasan run=vm-kasan lists=debug-tests.list kmemleak-tests.list cpu= machine= args="
out=$(fake_check "$tmp/kdir" "$tmp/rootfs")
expect "make check: five boots, each with its own lists and settings; the main lane's in order" \
	"$main_lane" "$(grep -vxF -f <(echo "$side_lane") "$tmp/log")"
expect "... and the side lane's" "$side_lane" "$(grep -vxF -f <(echo "$main_lane") "$tmp/log")"
expect "make check: all counted" "$total passed, 0 failed, 0 skipped
exit 0" "$(tail -n 2 <<<"$out")"
expect "make check: a time line for each suite, the main lane's, then the side lane's output after it" \
	"check: boot vm took
check: host prom_check.sh took
check: boot vm-movable took
check: boot vm-debug took
== check: the side lane's output ($tmp/build/check-side.log):
check: host test_a.sh took
check: boot vm-nofwb took
check: boot vm-kasan took" \
	"$(sed -nE 's/^(check: .* took) [0-9]+\.[0-9]s$/\1/p; /^== check: the side lane/p' <<<"$out")"
expect "make check: then the ten slowest tests, all of the main boot (its list is the longest)" \
	"$(for i in $(seq "$main_n" -1 $((main_n - 9))); do printf '%8.1fs  (boot vm)\n' "$i"; done)" \
	"$(sed -n '/^check: the ten slowest tests:$/,/^[0-9]* passed/p' <<<"$out" | sed '1d;$d' | sed -E 's/  [^ ]+ \(/  (/')"
sequential="host test ran
$main_lane
${side_lane#*$'\n'}"
out=$(CHECK_LANES=1 fake_check "$tmp/kdir" "$tmp/rootfs")
expect "CHECK_LANES=1: one lane, host tests, main lane, side lane's boots" \
	"$sequential|$total passed, 0 failed, 0 skipped" "$(cat "$tmp/log")|$(tail -n 2 <<<"$out" | head -n 1)"
out=$(FAKE_CPUS=1 fake_check "$tmp/kdir" "$tmp/rootfs")
expect "one CPU: one lane" "$sequential|$total passed, 0 failed, 0 skipped" \
	"$(cat "$tmp/log")|$(tail -n 2 <<<"$out" | head -n 1)"
out=$(FAKE_SIDE_DIES=1 fake_check "$tmp/kdir" "$tmp/rootfs")
expect "a side lane killed: the main lane's counts and one failure" \
	"check: the side lane ended without its counts: counted as 1 failure|$((1 + main_n + $(count "$TOP/tests/vm/movable-tests.list") + debug_n)) passed, 1 failed, 0 skipped|exit 1" \
	"$(grep 'side lane ended' <<<"$out")|$(tail -n 2 <<<"$out" | paste -sd'|')"
# Interrupted while the side lane's first boot runs on: nothing of it left.
: >"$tmp/log"
PATH=$tmp/bin:$PATH TOP=$fake BUILD=$tmp/build FAKE_LOG=$tmp/log FAKE_KERNELS=$tmp/kernels \
	FAKE_HANG=vm-nofwb bash "$CHECK_SH" --vm --variants '' "$tmp/kdir" "$tmp/rootfs" >"$tmp/int.out" 2>&1 &
pid=$!
for _ in $(seq 100); do
	grep -q 'waiting for the side lane' "$tmp/int.out" && pgrep -f 'sleep 613' >/dev/null && break
	sleep 0.1
done
kill -TERM "$pid"
wait "$pid"
rc=$?
sleep 0.2
expect "check.sh stopped while the side lane runs: exit 143, nothing of the side lane left" \
	"143|" "$rc|$(pgrep -af 'sleep 613')"
out=$(fake_check --bases 6.1 "$tmp/kdir" "$tmp/rootfs")
expect "--bases 6.1: the 6.1 kernel boots last, after both lanes, with its selftests and the guest tests" \
	"$side_lane
run.sh 6.1-default run=vm-6.1 lists=kvm-selftests-6.1.list guest-tests.list cpu= machine= args=" \
	"$(grep -vxF -f <(echo "$main_lane") "$tmp/log")"
expect "--bases 6.1: its tests counted too" \
	"$((total + $(count "$TOP/tests/vm/kvm-selftests-6.1.list" "$TOP/tests/vm/guest-tests.list"))) passed, 0 failed, 0 skipped
exit 0" "$(tail -n 2 <<<"$out")"
out=$(fake_check --vm --variants '' "$tmp/kdir" "$tmp/rootfs")
expect "--variants '': no debug kernel boots" "3" "$(grep -c '^run.sh' "$tmp/log")"
out=$(FAKE_SHORT=1 fake_check --vm --variants debug "$tmp/kdir" "$tmp/rootfs")
expect "each boot that ran one test less than its lists name: one failure (4 boots)" \
	"4 failed|check: env VM_TEST_LISTS=$fake/tests/vm/debug-tests.list VM_RUN_DIR=$tmp/build/vm-debug $fake/tests/vm/run.sh $tmp/kernels/debug $tmp/rootfs ran $((debug_n - 1)) tests where its lists name $debug_n: counted as 1 failure" \
	"$(tail -n 2 <<<"$out" | head -n 1 | grep -oE '[0-9]+ failed')|$(grep 'vm-debug.*counted' <<<"$out")"

# Every knob of the test VM and the kernel build: set, even empty, it stops
# check.sh (make check, check-host, check-vm) before anything runs.
mapfile -t knobs < <(grep -ohE '\$\{?(VM|KVMLOCK)_[A-Z_]+' "$TOP/tests/vm/run.sh" \
	"$TOP/tests/vm/watchdog.sh" "$TOP/kernel/scripts/kernel.sh" | tr -d "\${" | sort -u |
	grep -vx -e KVMLOCK_CACHE)
check "the knobs found (${#knobs[@]}) include VM_TEST_LISTS and KVMLOCK_PATCHES" \
	bash -c '[[ " $* " == *" VM_TEST_LISTS "* && " $* " == *" KVMLOCK_PATCHES "* ]]' _ "${knobs[@]}"
for v in "${knobs[@]}" CHECK_VARIANTS; do
	for mode in "" --host --vm; do
		# shellcheck disable=SC2086 # no mode: no argument
		out=$(export "$v=" && fake_check $mode "$tmp/kdir" "$tmp/rootfs")
		lines=$(grep -c . <<<"$out")
		if [ "$lines" = 2 ] && grep -q "^check.sh: error: $v set: make check runs its own" <<<"$out" &&
			[ "$(tail -n 1 <<<"$out")" = "exit 1" ] && [ ! -s "$tmp/log" ]; then
			ok "$v set (empty), check.sh $mode: refused in one line, nothing run"
		else
			not_ok "$v set (empty), check.sh $mode: refused in one line, nothing run" \
				"$out
calls: $(cat "$tmp/log")"
		fi
	done
done
out=$(VM_KERNEL_ARGS=loglevel=1 VM_TEST_LISTS=x bash "$TOP/tests/check.sh" --refuse-env 2>&1)
expect "--refuse-env names every knob set, in one line" \
	"check.sh: error: VM_TEST_LISTS VM_KERNEL_ARGS set: make check runs its own lists on its own kernels and VM settings; unset them (they are for make vm-test, bench-*, check-pages, stress, mutants)|exit 1" \
	"$out|exit $?"
check "--refuse-env in a clean environment: nothing said, exit 0" \
	test -z "$(bash "$TOP/tests/check.sh" --refuse-env 2>&1)"

finish check-counting
