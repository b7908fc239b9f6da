#!/usr/bin/env bash
# tests/inspector/mutants.sh (make mutants-inspector) on fixtures, with a
# stand-in for make whose "test binary" fails the tests the sources it was
# built from say: each verdict (caught only when exactly the tests the
# header names fail, on a control where they pass; survived; not caught
# when another test failed, not all named ones did, or the binary crashed;
# invalid when the control failed, the diff does not apply or does not
# build), the assertions it shows, the table, and clear errors for bad
# headers. Then every real mutant of tests/mutants/inspector names a test
# binary and tests that exist, and its diff applies to the sources as
# they are now. Nothing is compiled.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/lib.sh"

fake=$tmp/top
mkdir -p "$fake/scripts" "$fake/tests/inspector" "$fake/tests/mutants/inspector" \
	"$fake/bpf" "$fake/include" "$fake/inspector" "$tmp/bin"
cp "$TOP/scripts/lib.sh" "$fake/scripts/"
cp "$TOP/tests/inspector/mutants.sh" "$fake/tests/inspector/"
# The sources: test_a's tests, one a line; prog.c says what goes wrong
# ("fail TEST", "crash", "syntax error").
printf 't1\nt2\nt3\n' >"$fake/tests/inspector/test_a.c"
printf 'int main;\n' >"$fake/bpf/prog.c"
: >"$fake/include/kt.h"
: >"$fake/inspector/Makefile"
# make -C TREE/inspector TOP=TREE BUILD=... VMLINUX_BTF=... tests: logs
# its call; fails on a syntax error; else writes BUILD/inspector/host/test_a,
# which runs test_a's tests as cmocka does, failing those prog.c says.
cat >"$tmp/bin/make" <<'EOF'
#!/usr/bin/env bash
for a; do case $a in TOP=* | BUILD=* | VMLINUX_BTF=*) declare "$a" ;; esac; done
echo "make $TOP $VMLINUX_BTF" >>"$CALLS"
! grep -qx 'syntax error' "$TOP/bpf/prog.c" || { echo "prog.c:1: error"; exit 2; }
mkdir -p "$BUILD/inspector/host"
cat >"$BUILD/inspector/host/test_a" <<EOT
#!/usr/bin/env bash
top=$TOP
EOT
cat >>"$BUILD/inspector/host/test_a" <<'EOT'
n=0 failed=()
while read -r t; do
	echo "[ RUN      ] $t"
	if grep -qx "fail $t" "$top/bpf/prog.c"; then
		echo "[  ERROR   ] --- 0x1 != 0x2"
		echo "[   LINE   ] --- $top/tests/inspector/test_a.c:12: error: Failure!"
		echo "[  FAILED  ] $t"
		failed+=("$t")
	else
		echo "[       OK ] $t"
	fi
done <"$top/tests/inspector/test_a.c"
! grep -qx crash "$top/bpf/prog.c" || exit 139
if [ ${#failed[@]} -gt 0 ]; then
	echo "[  FAILED  ] ${#failed[@]} test(s), listed below:"
	printf '[  FAILED  ] %s\n' "${failed[@]}"
fi
exit ${#failed[@]}
EOT
chmod +x "$BUILD/inspector/host/test_a"
EOF
chmod +x "$tmp/bin/make"
git -C "$fake" init -q
git -C "$fake" add -A
git -C "$fake" -c user.name=t -c user.email=t@t commit -qm fixture
: >"$tmp/vmlinux.btf"

# mutant NAME CAUGHT-BY LINES: tests/mutants/inspector/NAME.diff adds
# LINES (printf's %b) to prog.c, its header naming CAUGHT-BY ("" none).
mutant() {
	printf 'int main;\n%b' "$3" >"$fake/bpf/prog.c"
	{
		echo "The bug $1."
		[ -z "$2" ] || echo "Caught by: $2"
		echo
		git -C "$fake" diff bpf/prog.c
	} >"$fake/tests/mutants/inspector/$1.diff"
	git -C "$fake" checkout -q bpf/prog.c
}
mutant alpha "test_a t1" 'fail t1\n'
mutant beta "test_a t1 t2" 'fail t2\nfail t1\n'
mutant half "test_a t1 t2" 'fail t1\n'
mutant other "test_a t1" 'fail t1\nfail t3\n'
mutant none "test_a t1" '/* a comment */\n'
mutant crash "test_a t1" 'fail t1\ncrash\n'
mutant nobuild "test_a t1" 'syntax error\n'
mutant gone "test_a t9" 'fail t1\n'
mutant stale "test_a t1" 'fail t1\n'
sed -i 's/^ int main;$/ int main(void);/' "$fake/tests/mutants/inspector/stale.diff"

run_mutants() { # env assignments
	: >"$tmp/calls"
	env PATH="$tmp/bin:$PATH" CALLS="$tmp/calls" TOP="$fake" BUILD="$tmp/build" "$@" \
		bash "$fake/tests/inspector/mutants.sh" "$tmp/vmlinux.btf"
}
# the same, its output in $tmp/out, its exit status in $rc
mutants() {
	run_mutants "$@" >"$tmp/out" 2>&1
	rc=$?
}
# the table's row of mutant $1, its blanks squeezed
row() { sed -n "s/^$1  *//p" "$tmp/out" | tr -s ' '; }
# the mutants of the table, in its order
table() { sed -n '/^mutant  /,$p' "$tmp/out" | sed -n '2,$s/^\([a-z][a-z-]*\)  .*/\1/p'; }

mutants MUTANTS=alpha
expect "exactly the named test fails, the control passed: caught, exit 0" "caught test_a t1|0" "$(row alpha)|$rc"
expect "the control built and ran once, then the mutant, each in a tree of its own, with the BTF given" \
	"make $tmp/build/inspector-mutants/control $tmp/vmlinux.btf
make $tmp/build/inspector-mutants/alpha $tmp/vmlinux.btf" "$(cat "$tmp/calls")"
check "... the mutant's tree has the diff, the control's not" \
	bash -c 'grep -qx "fail t1" "$1/alpha/bpf/prog.c" && ! grep -q fail "$1/control/bpf/prog.c"' _ "$tmp/build/inspector-mutants"
check "... the clone's sources are untouched" git -C "$fake" diff --quiet
expect "the table: a header, the mutant caught by its binary's test, the sum" \
	"mutant verdict caught by
alpha caught test_a t1
inspector mutants: 1 of 1 caught" \
	"$(grep -v '^mutants.sh: \|^    ' "$tmp/out" | tr -s ' ')"
expect "it says who caught it, and the assertion that failed, its path in the tree" \
	"mutants.sh: alpha: caught by test_a t1
    0x1 != 0x2
    tests/inspector/test_a.c:12: error: Failure!" \
	"$(grep '^mutants.sh: alpha\|^    ' "$tmp/out")"

mutants MUTANTS=beta
expect "two named tests fail: caught by both" "caught test_a t1 t2|0" "$(row beta)|$rc"
mutants MUTANTS=half
expect "one of two named tests fails: not caught" "not caught (failed: t1, expected: t1 t2) -|1" "$(row half)|$rc"
mutants MUTANTS=other
expect "the named test and another fail: not caught" "not caught (failed: t1 t3, expected: t1) -|1" "$(row other)|$rc"
mutants MUTANTS=none
expect "every test passes: survived, exit 1" "survived -|1" "$(row none)|$rc"
mutants MUTANTS=crash
expect "the named test fails, then the binary crashes: not caught" \
	"not caught (failed: t1 the run, exit 139, expected: t1) -|1" "$(row crash)|$rc"
mutants MUTANTS=nobuild
expect "a mutant that does not build: invalid" "invalid: does not build -|1" "$(row nobuild)|$rc"
mutants MUTANTS=stale
expect "a diff that does not apply: invalid" "invalid: does not apply -|1" "$(row stale)|$rc"
check "... saying what git apply said" grep -q "^mutants.sh: stale: INVALID: tests/mutants/inspector/stale.diff does not apply: error: " "$tmp/out"
mutants MUTANTS=gone
expect "a named test the binary does not have: invalid, the control never passed it" \
	"invalid: control failed -|1" "$(row gone)|$rc"
check "... and the mutant is not built" test "$(wc -l <"$tmp/calls")" -eq 1

printf 'int main;\nfail t2\n' >"$fake/bpf/prog.c"
mutants MUTANTS="alpha none"
expect "another test of the binary fails without the mutant: every mutant of it invalid, none built" \
	"invalid: control failed -|invalid: control failed -|1|1" \
	"$(row alpha)|$(row none)|$rc|$(wc -l <"$tmp/calls")"
check "... saying the control failed, and which test" grep -qx "mutants.sh: control: test_a failed (t2): its mutants prove nothing" "$tmp/out"
printf 'int main;\nsyntax error\n' >"$fake/bpf/prog.c"
mutants MUTANTS=alpha
expect "the control does not build: invalid" "invalid: control failed -|1" "$(row alpha)|$rc"
git -C "$fake" checkout -q bpf/prog.c

mutants MUTANTS="none alpha"
expect "MUTANTS: those, in that order, and the sum" \
	"none|alpha|inspector mutants: 1 of 2 caught|1" \
	"$(table | paste -sd'|' -)|$(tail -n 1 "$tmp/out")|$rc"
mutants
expect "no MUTANTS: every mutant, in order" "alpha beta crash gone half nobuild none other stale" \
	"$(table | paste -sd' ' -)"

# Bad input stops everything before anything is built.
expect_fail "an unknown mutant is refused" "no inspector mutant 'gamma' \(tests/mutants/inspector/gamma.diff\)" \
	run_mutants MUTANTS="alpha gamma"
check "... before anything was built" test ! -s "$tmp/calls"
for bad in "|needs one line 'Caught by: BINARY TEST...' before its diff" \
	"test_a|needs one line 'Caught by: BINARY TEST...' before its diff" \
	"test_b t1|gamma.diff: no test binary 'test_b' \(tests/inspector/test_b.c\)"; do
	mutant gamma "${bad%%|*}" 'fail t1\n'
	expect_fail "a bad header is refused: 'Caught by: ${bad%%|*}'" "${bad#*|}" run_mutants MUTANTS="alpha gamma"
	check "... before anything was built" test ! -s "$tmp/calls"
done
mutant gamma "test_a t1" 'fail t1\n'
sed -i '1a Caught by: test_a t2' "$fake/tests/mutants/inspector/gamma.diff"
expect_fail "two 'Caught by:' lines are refused" "needs one line 'Caught by" run_mutants MUTANTS=gamma
mutant gamma "" 'Caught by: test_a t1\n'
expect_fail "a 'Caught by:' only in the diff is no header" "needs one line 'Caught by" run_mutants MUTANTS=gamma
rm "$fake/tests/mutants/inspector/gamma.diff"
expect_fail "no kernel BTF: refused" "no kernel BTF $tmp/none" \
	env TOP="$fake" BUILD="$tmp/build" bash "$fake/tests/inspector/mutants.sh" "$tmp/none"

# The real mutants: a header naming a test binary of inspector/Makefile's
# tests and tests its main() runs; a diff that applies to the sources
# now, in a copy of the files the script copies (never the clone itself).
real=$tmp/real
mkdir -p "$real/tests"
cp -a "$TOP/bpf" "$TOP/include" "$TOP/inspector" "$real/"
cp -a "$TOP/tests/inspector" "$real/tests/"
git -C "$real" init -q
n=0
for diff in "$TOP"/tests/mutants/inspector/*.diff; do
	m=tests/mutants/inspector/$(basename "$diff")
	n=$((n + 1))
	read -r bin tests < <(sed -n '/^diff --git /q; s/^Caught by: *//p' "$diff")
	check "$m: its binary ${bin:-(none)} is one inspector/Makefile's tests builds" \
		grep -q "^tests:.*\$(OUT)/host/${bin:-none}\b" <(sed ':a;/\\$/{N;s/\\\n//;ba}' "$TOP/inspector/Makefile")
	for t in ${tests:-}; do
		check "$m: $bin runs its test $t" \
			grep -q "cmocka_unit_test[a-z_]*($t\b" "$TOP/tests/inspector/$bin.c"
	done
	check "$m names tests" test -n "${tests:-}"
	check "$m applies to the sources" git -C "$real" apply --check "$diff"
	check "$m: no kernel mutant has its name" test ! -e "$TOP/tests/mutants/$(basename "$diff")"
done
[ "$n" -ge 4 ]
check "tests/mutants/inspector has mutants ($n)" test $? = 0
finish test_inspector_mutants
