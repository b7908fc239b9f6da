#!/usr/bin/env bash
# tests/vm/stress.sh (make stress) on the host, with a stand-in for
# tests/vm/run.sh: the test list it hands the VM (seed, duration, workers,
# the timeout; kmemleak's scan after it on a kernel with kmemleak), the
# figures it prints from the result, its exit status, and a clear error for
# bad settings.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/lib.sh"

STRESS=$TOP/tests/vm/stress.sh
fake=$tmp/top
mkdir -p "$fake/tests/vm" "$fake/scripts" "$tmp/kernel-kasan.out"
: >"$tmp/kernel-kasan.out/.config"
cp "$TOP/scripts/lib.sh" "$fake/scripts/"
cp "$TOP/tests/vm/kmemleak-tests.list" "$fake/tests/vm/"
# run.sh: keeps the list, writes a result log; FAKE_RC is its exit status
cat >"$fake/tests/vm/run.sh" <<'EOF2'
#!/usr/bin/env bash
cp "$VM_TEST_LISTS" "$SEEN"
mkdir -p "$VM_RUN_DIR/payload/results"
printf 'seed 5\nworker 0.0 seed 1\nFIGURES\n  invariant violations: 0\nmemslot_lock_stress: PASS\n' \
	>"$VM_RUN_DIR/payload/results/memslot_lock_stress_long.log"
exit "${FAKE_RC:-0}"
EOF2
chmod +x "$fake/tests/vm/run.sh"
cp "$STRESS" "$fake/tests/vm/stress.sh"
stress() {
	SEEN=$tmp/list TOP=$fake BUILD=$tmp/build bash "$fake/tests/vm/stress.sh" \
		"$tmp/kernel-kasan.out" "$tmp/rootfs" 2>"$tmp/err"
}

out=$(STRESS_SEED=5 STRESS_DURATION=60 STRESS_WORKERS=2 stress)
rc=$?
expect "the list: seed, duration, workers, kills, 256 MiB, timeout +120 s" \
	"memslot_lock_stress_long 180 allow=locked-fault kselftest/memslot_lock_stress -s 5 -t 60 -p 2 -k -b 256" \
	"$(cat "$tmp/list")"
expect "the figures printed, exit 0" "FIGURES
  invariant violations: 0
memslot_lock_stress: PASS
exit 0" "$out
exit $rc"
expect "it names the seed to repeat the run" \
	"stress.sh: seed 5, 60 s, 2 workers (STRESS_SEED=5 repeats it)" "$(cat "$tmp/err")"
[ -f "$tmp/build/vm-stress-kernel-kasan/payload/results/memslot_lock_stress_long.log" ]
check "a run directory per kernel (vm-stress-kernel-kasan)" test $? = 0
printf 'CONFIG_KASAN=y\nCONFIG_DEBUG_KMEMLEAK=y\n' >"$tmp/kernel-kasan.out/.config"
STRESS_SEED=5 STRESS_DURATION=60 STRESS_WORKERS=2 stress >/dev/null
expect "a kernel with kmemleak: its scan follows, as in make check's kasan boot" \
	"memslot_lock_stress_long 180 allow=locked-fault kselftest/memslot_lock_stress -s 5 -t 60 -p 2 -k -b 256
$(grep '^kmemleak ' "$TOP/tests/vm/kmemleak-tests.list")" "$(cat "$tmp/list")"
check "... that is, tests/guest/kmemleak.sh" grep -q '^kmemleak [0-9]* sh scripts/kmemleak.sh$' "$tmp/list"
printf 'CONFIG_KASAN=y\n# CONFIG_DEBUG_KMEMLEAK is not set\n' >"$tmp/kernel-kasan.out/.config"
STRESS_SEED=5 stress >/dev/null
check "a kernel without kmemleak: no scan" test "$(wc -l <"$tmp/list")" = 1
rm "$tmp/kernel-kasan.out/.config"
stress >/dev/null
rc=$?
expect "a kernel directory without .config: refused" \
	"stress.sh: error: no $tmp/kernel-kasan.out/.config: cannot tell whether the kernel has kmemleak|exit 1" \
	"$(cat "$tmp/err")|exit $rc"
printf 'CONFIG_KASAN=y\n' >"$tmp/kernel-kasan.out/.config"
STRESS_SEED=7 stress >/dev/null
grep -q -- "-s 7 -t 1800 -p 4 " "$tmp/list"
check "defaults: 1800 s, 4 workers" test $? = 0
unset STRESS_SEED
stress >/dev/null
seed=$(sed -n 's/.* -s \([0-9]*\) .*/\1/p' "$tmp/list")
[ -n "$seed" ] && grep -q "seed $seed," "$tmp/err"
check "no STRESS_SEED: a random seed, printed ($seed)" test $? = 0
FAKE_RC=1 STRESS_SEED=1 stress >/dev/null
check "a failed run fails make stress" test $? = 1
expect_fail "STRESS_DURATION=abc: refused" "STRESS_DURATION must be a number of seconds \(got 'abc'\)" \
	env STRESS_DURATION=abc SEEN=$tmp/list TOP=$fake BUILD=$tmp/build bash "$fake/tests/vm/stress.sh" k r
expect_fail "STRESS_WORKERS=0: refused" "STRESS_WORKERS must be 1 to 99 \(got '0'\)" \
	env STRESS_WORKERS=0 SEEN=$tmp/list TOP=$fake BUILD=$tmp/build bash "$fake/tests/vm/stress.sh" k r
expect_fail "STRESS_SEED=x: refused" "STRESS_SEED must be a number \(got 'x'\)" \
	env STRESS_SEED=x SEEN=$tmp/list TOP=$fake BUILD=$tmp/build bash "$fake/tests/vm/stress.sh" k r

finish stress-script
