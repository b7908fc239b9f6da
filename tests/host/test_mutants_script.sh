#!/usr/bin/env bash
# tests/vm/mutants.sh (make mutants) on the host, with stand-ins for
# kernel.sh and tests/vm/run.sh: the kernel each mutant is built on, its
# test list and its directives (a bad one refused, naming its line), the verdict (caught when a test failed, survived when all
# passed, an error when no test began), and clear errors for bad input.
# Then every mutant of tests/mutants has a list and a diff that applies to
# the series (git apply --check on the tree, when there is one).
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/lib.sh"

fake=$tmp/top
mkdir -p "$fake/tests/vm" "$fake/tests/mutants" "$fake/scripts" "$fake/kernel/scripts"
cp "$TOP/scripts/lib.sh" "$fake/scripts/"
cp "$TOP/tests/vm/mutants.sh" "$fake/tests/vm/"
# kernel.sh: logs its calls; "mutant" makes DEST
cat >"$fake/kernel/scripts/kernel.sh" <<'EOF'
#!/usr/bin/env bash
echo "$*" >>"$CALLS"
[ "$1" != mutant ] || mkdir -p "$4"
EOF
# run.sh: FAKE_VERDICT is what the guest did (pass, fail, noboot)
cat >"$fake/tests/vm/run.sh" <<'EOF'
#!/usr/bin/env bash
echo "run $1 $VM_TEST_LISTS $VM_RUN_DIR${VM_KERNEL_ARGS:+ args: $VM_KERNEL_ARGS}" >>"$CALLS"
mkdir -p "$VM_RUN_DIR"
case $FAKE_VERDICT in
pass) echo t1 >"$VM_RUN_DIR/console.begun"; echo "PASS  t1   1.0s"; echo "vm: 1 passed, 0 failed, 0 skipped" ;;
fail) echo t1 >"$VM_RUN_DIR/console.begun"; echo "FAIL  t1   1.0s  exit 1"; echo "vm: 0 passed, 1 failed, 0 skipped"; exit 1 ;;
noboot) : >"$VM_RUN_DIR/console.begun"; echo "FAIL  t1   0.0s  no result"; exit 1 ;;
esac
EOF
chmod +x "$fake/kernel/scripts/kernel.sh" "$fake/tests/vm/run.sh"
printf 'the bug\n\ndiff --git a/x b/x\n' >"$fake/tests/mutants/alpha.diff"
printf '# what alpha needs\n#: kernel kasan\n#: kernel-args movablecore=1G\nt1 60 kselftest/t1\n' >"$fake/tests/mutants/alpha.list"
printf 'the other bug\n\ndiff --git a/y b/y\n' >"$fake/tests/mutants/beta.diff"
printf '# what beta needs\nt1 60 kselftest/t1\n' >"$fake/tests/mutants/beta.list"

run_mutants() { # verdict, then env assignments
	local verdict=$1
	shift
	: >"$tmp/calls"
	env CALLS="$tmp/calls" FAKE_VERDICT="$verdict" TOP="$fake" BUILD="$tmp/build" "$@" \
		bash "$fake/tests/vm/mutants.sh" "$tmp/rootfs"
}
# the same, its output in $tmp/out
mutants() { run_mutants "$@" >"$tmp/out" 2>&1; }

mutants fail MUTANTS=alpha
rc=$?
expect "a failing test catches the mutant: exit 0" "0" "$rc"
expect "alpha: its list's kernel (kasan) built, then the mutant, then booted with its list and kernel arguments" \
	"build kasan
mutant kasan $fake/tests/mutants/alpha.diff $tmp/build/kernel-mutant-alpha
run $tmp/build/kernel-mutant-alpha $fake/tests/mutants/alpha.list $tmp/build/vm-mutant-alpha args: movablecore=1G" \
	"$(cat "$tmp/calls")"
grep -q "^mutants.sh: alpha: caught by t1$" "$tmp/out" &&
	grep -q "^mutants: 1 caught (alpha), 0 survived$" "$tmp/out"
check "it names the test that caught it, and sums up" test $? = 0

mutants fail MUTANTS=beta
grep -q "^mutant default " "$tmp/calls" && grep -q "vm-mutant-beta$" "$tmp/calls"
check "no '#: kernel' directive: the default kernel; no '#: kernel-args', none" test $? = 0

mutants pass MUTANTS=beta
rc=$?
expect "every test passed: the mutant survived, exit 1" "1" "$rc"
grep -q "^mutants.sh: beta: SURVIVED: every test of tests/mutants/beta.list passed$" "$tmp/out" &&
	grep -q "^mutants: 0 caught, 1 survived (beta)$" "$tmp/out"
check "a survivor is named" test $? = 0

mutants fail
expect "no MUTANTS: every mutant, in order" "alpha beta" \
	"$(sed -n 's/^mutant [a-z]* [^ ]*\/\([a-z]*\)\.diff .*/\1/p' "$tmp/calls" | paste -sd' ' -)"

expect_fail "a kernel that runs no test is an error, not a catch" \
	"alpha: no test began: the mutant kernel did not boot" run_mutants noboot MUTANTS=alpha
expect_fail "an unknown mutant is refused" "no mutant 'gamma' \(tests/mutants/gamma.diff\)" \
	run_mutants fail MUTANTS=gamma
# Directives are load_test_list's: a bad one stops everything, naming its
# line, before any kernel is built.
for bad in "#: kernels kasan|gamma.list:2: unknown directive 'kernels' \(there are kernel, kernel-args\)" \
	"#: kernel|gamma.list:2: '#: kernel' needs one kernel variant, not ''" \
	"#: kernel kasan debug|gamma.list:2: '#: kernel' needs one kernel variant, not 'kasan debug'" \
	"#: kernel-args|gamma.list:2: '#: kernel-args' needs arguments" \
	"#: kernel kasan\n#: kernel debug|gamma.list:3: a second 'kernel' directive" \
	"t1 60 kselftest/t1\n#: kernel kasan|gamma.list:3: directive 'kernel' after the first test"; do
	printf "# gamma\n${bad%%|*}\nt2 60 kselftest/t2\n" >"$fake/tests/mutants/gamma.list"
	: >"$fake/tests/mutants/gamma.diff"
	expect_fail "a bad directive is refused, naming its line: ${bad%%|*}" "${bad#*|}" \
		run_mutants fail MUTANTS="alpha gamma"
	check "... before anything was built" test ! -s "$tmp/calls"
done
rm "$fake/tests/mutants/gamma.list" "$fake/tests/mutants/gamma.diff"
rm "$fake/tests/mutants/beta.list"
expect_fail "a mutant without a list is refused" "mutant 'beta' has no test list" \
	run_mutants fail
printf '#!/usr/bin/env bash\n[ "$1" != mutant ]\n' >"$fake/kernel/scripts/kernel.sh"
expect_fail "a mutant that does not build is an error" "alpha: the mutant kasan kernel did not build" \
	run_mutants fail MUTANTS=alpha

# The real mutants: each has a list naming a kernel that exists, and its
# diff applies to the series as build/linux has it (skipped without one).
n=0
for diff in "$TOP"/tests/mutants/*.diff; do
	m=$(basename "$diff" .diff)
	n=$((n + 1))
	list=${diff%.diff}.list
	variant=$(
		TL_NAME=()
		load_test_list "$list" 2>&1 && [ ${#TL_NAME[@]} -gt 0 ] || exit 1
		echo "${TL_KERNEL:-default}"
	)
	case $variant in
	default) true ;;
	*) [ -f "$TOP/kernel/config/$variant.config" ] ;;
	esac
	check "tests/mutants/$m: a list that loads, with tests, on a kernel that exists (${variant:-none})" test $? = 0
	if [ -d "$BUILD/linux/.git" ] && [ -z "$(git -C "$BUILD/linux" status --porcelain)" ]; then
		check "tests/mutants/$m.diff applies to build/linux" git -C "$BUILD/linux" apply --check "$diff"
	fi
done
[ "$n" -gt 0 ]
check "tests/mutants has mutants ($n)" test $? = 0
finish test_mutants_script
