#!/usr/bin/env bash
# tests/vm/mutants.sh (make mutants) on the host, with stand-ins for
# kernel.sh and tests/vm/run.sh: the kernel each mutant is built on, its
# test list and its directives (a bad one refused, naming its line), the
# control boot on the unmutated kernel before the mutant's, each verdict
# (caught only by a caught-by test on a passing control; survived; not
# caught when another test failed or the run did; invalid when the
# control failed or the mutant did not boot), the final table, and clear
# errors for bad input. Then every mutant of tests/mutants has a list and
# a diff that applies to the series, in a tree of this test's own (never
# build/linux, whatever state another target left it in).
set -uo pipefail
# The mutants are written against the 6.1 series (tests/vm/mutants.sh).
export KERNEL_BASE=6.1
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/lib.sh"

fake=$tmp/top
mkdir -p "$fake/tests/vm" "$fake/tests/mutants" "$fake/scripts" "$fake/kernel/scripts"
cp "$TOP/scripts/lib.sh" "$fake/scripts/"
cp "$TOP/tests/vm/mutants.sh" "$fake/tests/vm/"
# kernel.sh: logs its calls; "build" prints the cached kernel's
# directory, "mutant" makes DEST
cat >"$fake/kernel/scripts/kernel.sh" <<'EOF'
#!/usr/bin/env bash
echo "$*" >>"$CALLS"
[ "$1" != build ] || echo "$KERNELS/$2"
[ "$1" != mutant ] || mkdir -p "$4"
EOF
# run.sh: what the guest did, FAKE_MUTANT on a mutant kernel, FAKE_CONTROL
# (default pass) on the others: pass, noboot, outside (a failure outside
# any test), or the tests that failed (space-separated), the others of t1
# and t2 passing
cat >"$fake/tests/vm/run.sh" <<'EOF'
#!/usr/bin/env bash
echo "run $1 $VM_TEST_LISTS $VM_RUN_DIR${VM_KERNEL_ARGS:+ args: $VM_KERNEL_ARGS}" >>"$CALLS"
mkdir -p "$VM_RUN_DIR"
case $1 in
*/kernel-mutant-*) what=$FAKE_MUTANT ;;
*) what=${FAKE_CONTROL:-pass} ;;
esac
case $what in
noboot) : >"$VM_RUN_DIR/console.begun"; echo "FAIL  t1   0.0s  no result"; exit 1 ;;
outside)
	printf 't1\nt2\n' >"$VM_RUN_DIR/console.begun"
	echo "PASS  t1   1.0s"; echo "PASS  t2   1.0s"; echo "hung outside any test"
	exit 1
	;;
esac
printf 't1\nt2\n' >"$VM_RUN_DIR/console.begun"
rc=0
for t in t1 t2; do
	case " $what " in
	*" $t "*) echo "FAIL  $t   1.0s  exit 1"; rc=1 ;;
	*) echo "PASS  $t   1.0s" ;;
	esac
done
exit $rc
EOF
chmod +x "$fake/kernel/scripts/kernel.sh" "$fake/tests/vm/run.sh"
printf 'the bug\n\ndiff --git a/x b/x\n' >"$fake/tests/mutants/alpha.diff"
printf '# what alpha needs\n#: kernel kasan\n#: kernel-args movablecore=1G\n#: caught-by t1\nt1 60 kselftest/t1\nt2 60 kselftest/t2\n' \
	>"$fake/tests/mutants/alpha.list"
printf 'the other bug\n\ndiff --git a/y b/y\n' >"$fake/tests/mutants/beta.diff"
printf '# what beta needs\n#: caught-by t1 t2\nt1 60 kselftest/t1\nt2 60 kselftest/t2\n' >"$fake/tests/mutants/beta.list"

run_mutants() { # what the mutant boot did (FAKE_MUTANT), then env assignments
	local what=$1
	shift
	: >"$tmp/calls"
	env CALLS="$tmp/calls" KERNELS="$tmp/kernels" FAKE_MUTANT="$what" TOP="$fake" BUILD="$tmp/build" "$@" \
		bash "$fake/tests/vm/mutants.sh" "$tmp/rootfs"
}
# the same, its output in $tmp/out, its exit status in $rc
mutants() {
	run_mutants "$@" >"$tmp/out" 2>&1
	rc=$?
}
# the table's row of mutant $1, its blanks squeezed
row() { sed -n "s/^$1  *//p" "$tmp/out" | tr -s ' '; }

mutants t1 MUTANTS=alpha
expect "a caught-by test fails, the control passed: exit 0" "0" "$rc"
expect "alpha: its list's kernel (kasan) built, booted without the mutant (the control), then the mutant built and booted, each with its list and kernel arguments" \
	"build kasan
run $tmp/kernels/kasan $fake/tests/mutants/alpha.list $tmp/build/vm-mutant-alpha-control args: movablecore=1G
mutant kasan $fake/tests/mutants/alpha.diff $tmp/build/kernel-mutant-alpha
run $tmp/build/kernel-mutant-alpha $fake/tests/mutants/alpha.list $tmp/build/vm-mutant-alpha args: movablecore=1G" \
	"$(cat "$tmp/calls")"
expect "the table: a header, the mutant caught by the test that caught it, the sum" \
	"mutant verdict caught by
alpha caught t1
mutants: 1 of 1 caught" \
	"$(grep -v '^mutants.sh: \|^PASS\|^FAIL' "$tmp/out" | tr -s ' ')"
check "it says who caught it as it goes" grep -qx "mutants.sh: alpha: caught by t1" "$tmp/out"

mutants "t1 t2" MUTANTS=beta
expect "no '#: kernel' directive: the default kernel; no '#: kernel-args', none; two caught-by tests failing: caught by both" \
	"build default|mutant default $fake/tests/mutants/beta.diff $tmp/build/kernel-mutant-beta|caught t1 t2|0" \
	"$(sed -n 1p "$tmp/calls")|$(sed -n 3p "$tmp/calls")|$(row beta)|$rc"

mutants pass MUTANTS=beta
expect "every test passed: survived, exit 1" "survived -|1" "$(row beta)|$rc"

mutants t2 MUTANTS=alpha
expect "a test caught-by does not name failed, alone: not caught, exit 1" \
	"not caught (failed: t2, expected: t1) -|1" "$(row alpha)|$rc"
mutants "t1 t2" MUTANTS=alpha
expect "a caught-by test and another failed (a flake, a timeout): not caught" \
	"not caught (failed: t1 t2, expected: t1) -|1" "$(row alpha)|$rc"
mutants outside MUTANTS=alpha
expect "every test passed but the run failed: not caught" \
	"not caught (failed: the run, outside any test, expected: t1) -|1" "$(row alpha)|$rc"

mutants t1 MUTANTS=alpha FAKE_CONTROL=t2
expect "the control failed: invalid, exit 1, whatever the mutant does" \
	"invalid: control failed -|1" "$(row alpha)|$rc"
check "... and the mutant is neither built nor booted" bash -c '! grep -q kernel-mutant- "$1"' _ "$tmp/calls"
check "... and it says which test failed without the mutant" \
	grep -qx "mutants.sh: alpha: INVALID: the control boot failed (t2): a failure with the mutant would prove nothing" "$tmp/out"
mutants t1 MUTANTS=alpha FAKE_CONTROL=outside
expect "the control failed outside any test: invalid" "invalid: control failed -|1" "$(row alpha)|$rc"
mutants t1 MUTANTS=alpha FAKE_CONTROL=noboot
expect "the control did not boot: invalid" "invalid: control failed -|1" "$(row alpha)|$rc"

mutants noboot MUTANTS=alpha
expect "a mutant kernel that runs no test: invalid, not a catch" "invalid: no test began -|1" "$(row alpha)|$rc"

mutants t1 FAKE_CONTROL=t2
expect "no MUTANTS: every mutant, in order, each in the table" \
	"alpha beta|invalid: control failed -|invalid: control failed -|mutants: 0 of 2 caught" \
	"$(sed -n 's/^run [^ ]* [^ ]*\/\([a-z]*\)\.list .*/\1/p' "$tmp/calls" | paste -sd' ' -)|$(row alpha)|$(row beta)|$(tail -n 1 "$tmp/out")"

expect_fail "an unknown mutant is refused" "no mutant 'gamma' \(tests/mutants/gamma.diff\)" \
	run_mutants t1 MUTANTS=gamma
# Directives are load_test_list's: a bad one stops everything, naming its
# line, before any kernel is built.
for bad in "#: kernels kasan|gamma.list:2: unknown directive 'kernels' \(there are kernel, kernel-args, caught-by\)" \
	"#: kernel|gamma.list:2: '#: kernel' needs one kernel variant, not ''" \
	"#: kernel kasan debug|gamma.list:2: '#: kernel' needs one kernel variant, not 'kasan debug'" \
	"#: kernel-args|gamma.list:2: '#: kernel-args' needs arguments" \
	"#: kernel kasan\n#: kernel debug|gamma.list:3: a second 'kernel' directive" \
	"t1 60 kselftest/t1\n#: kernel kasan|gamma.list:3: directive 'kernel' after the first test" \
	"#: caught-by|gamma.list:2: '#: caught-by' needs test names" \
	"#: caught-by t2 t3|gamma.list:2: caught-by names 't3', which is not a test of this list" \
	"#: kernel kasan|tests/mutants/gamma.list names no test that catches it"; do
	printf '# gamma\n%b\nt2 60 kselftest/t2\n' "${bad%%|*}" >"$fake/tests/mutants/gamma.list"
	: >"$fake/tests/mutants/gamma.diff"
	expect_fail "a bad or missing directive is refused: ${bad%%|*}" "${bad#*|}" \
		run_mutants t1 MUTANTS="alpha gamma"
	check "... before anything was built" test ! -s "$tmp/calls"
done
rm "$fake/tests/mutants/gamma.list" "$fake/tests/mutants/gamma.diff"
rm "$fake/tests/mutants/beta.list"
expect_fail "a mutant without a list is refused" "mutant 'beta' has no test list" \
	run_mutants t1
printf '#!/usr/bin/env bash\n[ "$1" != build ] || echo "$KERNELS/$2"\n[ "$1" != mutant ]\n' >"$fake/kernel/scripts/kernel.sh"
expect_fail "a mutant that does not build is an error" "alpha: the mutant kasan kernel did not build" \
	run_mutants t1 MUTANTS=alpha
printf '#!/usr/bin/env bash\n[ "$1" != build ]\n' >"$fake/kernel/scripts/kernel.sh"
expect_fail "a kernel that does not build is an error" "alpha: the kasan kernel did not build" \
	run_mutants t1 MUTANTS=alpha

# The series' tree, thrown away after: a git repository whose index is the
# base with kernel/<base>/patches applied. The base is the kvmlock-base commit of
# a tree kernel.sh extracted for the installed Debian version (build/<base>/linux,
# or test_kernel_script.sh's $KVMLOCK_CACHE/host-test/<base>/linux, under a
# shared lock against that test in another clone), its objects borrowed,
# never copied; else the files the series and the mutants touch, extracted
# from Debian's tarball. Never a tree's working files: make bench leaves
# build/<base>/linux at part of the series. Sets $series_from, or says why not.
series_tree() {
	local work=$1 kver src tree='' top p
	kver=$(debian_kernel_version 2>&1) || { echo "$kver"; return 1; }
	git init -q "$work" || return 1
	for src in "$KBUILD/linux" "$CACHE/host-test/$KERNEL_BASE/linux"; do
		if [ "$src" = "$CACHE/host-test/$KERNEL_BASE/linux" ] && [ -d "$src" ]; then
			exec 8>>"$CACHE/host-test.lock" && flock -s 8
		fi
		[ "$(cat "$src/.git/kvmlock-debian-version" 2>/dev/null)" = "$kver" ] || continue
		tree=$(git -C "$src" rev-parse -q --verify 'kvmlock-base^{tree}') || continue
		echo "$src/.git/objects" >"$work/.git/objects/info/alternates"
		series_from="the base commit of ${src#"$TOP"/}"
		break
	done
	if [ -z "$tree" ]; then
		[ -f "$KSRC_TARBALL" ] || {
			echo "no base for the series: no tree kernel.sh extracted for Debian $KSRC_PKG $kver ($KBUILD/linux, $CACHE/host-test/$KERNEL_BASE/linux), and no $KSRC_TARBALL (run: make deps)"
			return 1
		}
		top=$(tar -tJf "$KSRC_TARBALL" | head -n 1)
		mapfile -t paths < <(sed -n 's|^diff --git a/\([^ ]*\) b/.*|'"$top"'\1|p' \
			"$TOP"/kernel/$KERNEL_BASE/patches/*.patch "$TOP"/tests/mutants/*.diff | sort -u)
		# Files the series creates are not in the tarball: tar says so,
		# and the patches below fail if anything else is missing.
		tar -xJf "$KSRC_TARBALL" -C "$work" --strip-components=1 "${paths[@]}" 2>/dev/null
		git -C "$work" add -A --force && tree=$(git -C "$work" write-tree) || return 1
		series_from="the files it touches in $KSRC_TARBALL"
	fi
	git -C "$work" read-tree "$tree" || return 1
	while read -r p || [ -n "$p" ]; do
		case $p in '' | '#'*) continue ;; esac
		git -C "$work" apply --cached "$TOP/kernel/$KERNEL_BASE/patches/$p" || { echo "kernel/$KERNEL_BASE/patches/$p does not apply"; return 1; }
	done <"$TOP/kernel/$KERNEL_BASE/patches/series"
}
series_from='' series_ok=0
series_tree "$tmp/series" >"$tmp/series.out" 2>&1 && series_ok=1
if [ "$series_ok" = 1 ]; then
	ok "the series applies to $series_from, in a tree of this test's own"
else
	not_ok "the series applies to a base of this test's own" "$(cat "$tmp/series.out")"
fi

# The real mutants: each has a list naming a kernel that exists and the
# tests that catch it, and its diff applies to that tree.
n=0
for diff in "$TOP"/tests/mutants/*.diff; do
	m=$(basename "$diff" .diff)
	n=$((n + 1))
	list=${diff%.diff}.list
	variant=$(
		TL_NAME=()
		load_test_list "$list" 2>&1 && [ ${#TL_NAME[@]} -gt 0 ] && [ -n "$TL_CAUGHT_BY" ] || exit 1
		echo "${TL_KERNEL:-default}"
	)
	case $variant in
	default) true ;;
	*) [ -f "$TOP/kernel/config/$variant.config" ] ;;
	esac
	check "tests/mutants/$m: a list that loads, with tests and caught-by, on a kernel that exists (${variant:-none})" test $? = 0
	if [ "$series_ok" = 1 ]; then
		check "tests/mutants/$m.diff applies to the series" git -C "$tmp/series" apply --cached --check "$diff"
	else
		not_ok "tests/mutants/$m.diff applies to the series" "no tree of the series to apply it to (above)"
	fi
done
[ "$n" -gt 0 ]
check "tests/mutants has mutants ($n)" test $? = 0

# memslot_lock_test's sub-tests are chosen by name (a test_NAME function of
# the series' memslot_lock_test.c without "test_"): a number would pick
# another case once one is inserted before it.
mapfile -t subtests < <(sed -n 's/^+static void test_\([a-z0-9_]*\)(.*/\1/p' "$TOP"/kernel/$KERNEL_BASE/patches/*.patch | sort -u)
check "the series' memslot_lock_test has sub-tests (${#subtests[@]}), huge_memslot among them" \
	grep -qx huge_memslot <(printf '%s\n' "${subtests[@]}")
named=0
for list in "$TOP"/tests/vm/*.list "$TOP"/tests/bench/*.list "$TOP"/tests/mutants/*.list; do
	TL_NAME=() TL_CMD=()
	load_test_list "$list"
	for cmd in "${TL_CMD[@]}"; do
		read -r -a words <<<"$cmd"
		[ "${words[0]}" = selftests/aarch64/memslot_lock_test ] && [ ${#words[@]} -gt 1 ] || continue
		for w in "${words[@]:1}"; do
			named=$((named + 1))
			check "${list#"$TOP"/}: memslot_lock_test's sub-test '$w' is one of its names" \
				grep -qx -- "$w" <(printf '%s\n' "${subtests[@]}")
		done
	done
done
check "the lists choose memslot_lock_test sub-tests ($named)" test "$named" -gt 0
finish test_mutants_script
