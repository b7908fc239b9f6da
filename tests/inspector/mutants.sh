#!/usr/bin/env bash
# make mutants-inspector (and make mutants): would kvmlock-top's host tests
# catch the bugs they are there for? Each tests/mutants/inspector/NAME.diff
# puts a bug into bpf/ or inspector/; its first lines say which, and its
# line "Caught by: BINARY TEST..." names the cmocka binary
# (tests/inspector/BINARY.c) and the tests of it that must fail. Host
# only: no kernel is built, no VM booted (test_bpf needs root).
#
# What the inspector's tests are built from (bpf/, include/, inspector/,
# tests/inspector/) is copied to $BUILD/inspector-mutants/control, its test
# binaries built (inspector/Makefile's "tests") and run there: the control,
# where every named test must pass. Then for each mutant (MUTANTS="a b" for
# some) a copy of the control with the diff applied is rebuilt, and the
# named binary run. cmocka's tests are deterministic, so the verdicts are:
#   caught                     the named tests failed, all of them, and no
#                              other
#   survived                   every test passed
#   not caught (failed: X, expected: Y)
#                              other tests failed, or not all the named
#                              ones, or the binary failed outside any test
#                              (X is then "the run, exit N")
#   invalid: control failed    a named test did not pass without the mutant
#   invalid: does not apply    the diff does not apply to the sources
#   invalid: does not build    the mutant's sources do not build
# It ends with a table: mutant, verdict, the tests that caught it. Each
# run's output is left in $BUILD/inspector-mutants/NAME.
#
#   mutants.sh VMLINUX_BTF
#
# Exits non-zero unless every mutant was caught.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

BTF=${1:?usage: mutants.sh VMLINUX_BTF}
[ -f "$BTF" ] || die "no kernel BTF $BTF (make kernel, or VMLINUX_BTF=FILE)"
DIR=$TOP/tests/mutants/inspector
WORK=$BUILD/inspector-mutants
read -r -a names <<<"${MUTANTS:-}"
if [ ${#names[@]} -eq 0 ]; then
	for diff in "$DIR"/*.diff; do
		[ -f "$diff" ] && names+=("$(basename "$diff" .diff)")
	done
fi
[ ${#names[@]} -gt 0 ] || die "no mutants in tests/mutants/inspector"
# Every header is read before anything is built: a bad one stops all.
declare -A BIN CAUGHT_BY VERDICT BY
for m in "${names[@]}"; do
	diff=$DIR/$m.diff
	[ -f "$diff" ] || die "no inspector mutant '$m' (tests/mutants/inspector/$m.diff)"
	# Only the prose before the diff: a "Caught by:" the diff adds is code.
	by=$(sed -n '/^diff --git /q; s/^Caught by: *//p' "$diff")
	read -r bin tests <<<"$by" || true
	if [ "$(grep -c . <<<"$by")" -ne 1 ] || [ -z "${tests:-}" ]; then
		die "tests/mutants/inspector/$m.diff needs one line 'Caught by: BINARY TEST...' before its diff"
	fi
	[ -f "$TOP/tests/inspector/$bin.c" ] ||
		die "tests/mutants/inspector/$m.diff: no test binary '$bin' (tests/inspector/$bin.c)"
	BIN[$m]=$bin
	read -r -a words <<<"$tests"
	CAUGHT_BY[$m]=${words[*]}
done

# build TREE LOG: the test binaries of TREE (a copy of the sources) into
# TREE/build.
build() {
	make -C "$1/inspector" --no-print-directory TOP="$1" BUILD="$1/build" \
		VMLINUX_BTF="$BTF" tests >"$2" 2>&1
}

# run TREE BIN OUT: runs the test binary, its output in OUT; sets $status,
# $failed (the tests cmocka says failed, space-separated, in order) and
# $passed (those it says passed).
run() {
	status=0
	"$1/build/inspector/host/$2" >"$3" 2>&1 || status=$?
	failed=$(sed -n 's/^\[  FAILED  \] \([A-Za-z0-9_]*\)$/\1/p' "$3" | awk '!seen[$0]++' | paste -sd' ' -)
	passed=$(sed -n 's/^\[       OK \] \([A-Za-z0-9_]*\)$/\1/p' "$3" | paste -sd' ' -)
}

# verdict: mutant $m's verdict from its run ($failed, $status) into
# VERDICT[$m], and the tests that caught it into BY[$m].
verdict() {
	local t other='' missing='' outside=''
	for t in $failed; do
		case " ${CAUGHT_BY[$m]} " in *" $t "*) ;; *) other+="${other:+ }$t" ;; esac
	done
	for t in ${CAUGHT_BY[$m]}; do
		case " $failed " in *" $t "*) ;; *) missing+="${missing:+ }$t" ;; esac
	done
	# cmocka exits with the number of tests that failed: any other status
	# (a crash, an abort) is a failure outside them.
	[ "$status" -eq "$(wc -w <<<"$failed")" ] || outside="the run, exit $status"
	if [ -n "$failed" ] && [ -z "$other$missing$outside" ]; then
		VERDICT[$m]=caught BY[$m]="${BIN[$m]} $failed"
	elif [ -z "$failed$outside" ]; then
		VERDICT[$m]=survived
	else
		failed+="${failed:+${outside:+ }}$outside"
		VERDICT[$m]="not caught (failed: $failed, expected: ${CAUGHT_BY[$m]})"
	fi
}

# What inspector/Makefile builds the tests from, in a tree of their own.
rm -rf "$WORK"
mkdir -p "$WORK/control/tests"
cp -a "$TOP/bpf" "$TOP/include" "$TOP/inspector" "$WORK/control/"
cp -a "$TOP/tests/inspector" "$WORK/control/tests/"
# Its own repository: git apply in it applies there, not to the clone's.
git -C "$WORK/control" init -q
control_ok=1
note "control: building the inspector's tests without a mutant (log: ${WORK#"$TOP"/}/control.build)"
if ! build "$WORK/control" "$WORK/control.build"; then
	control_ok=0
	note "control: the inspector's tests do not build without a mutant"
fi
declare -A CPASSED
for m in "${names[@]}"; do
	bin=${BIN[$m]}
	[ "$control_ok" = 1 ] || break
	[ -z "${CPASSED[$bin]+set}" ] || continue
	run "$WORK/control" "$bin" "$WORK/control.$bin"
	# A failure elsewhere in the binary would blur a mutant's verdict too.
	if [ "$status" -ne 0 ]; then
		note "control: $bin failed (${failed:-exit $status}): its mutants prove nothing"
		passed=''
	fi
	CPASSED[$bin]=$passed
done

for m in "${names[@]}"; do
	bin=${BIN[$m]} tree=$WORK/$m
	BY[$m]=''
	missing=''
	for t in ${CAUGHT_BY[$m]}; do
		case " ${CPASSED[$bin]:-} " in *" $t "*) ;; *) missing+="${missing:+ }$t" ;; esac
	done
	if [ "$control_ok" = 0 ] || [ -n "$missing" ]; then
		VERDICT[$m]="invalid: control failed"
		note "$m: INVALID: without the mutant, $bin's ${missing:-tests} did not pass (${WORK#"$TOP"/}/control.*)"
		continue
	fi
	# The control's build too: make rebuilds what the diff touches.
	cp -a "$WORK/control" "$tree"
	if ! git -C "$tree" apply "$DIR/$m.diff" >"$tree.apply" 2>&1; then
		VERDICT[$m]="invalid: does not apply"
		note "$m: INVALID: tests/mutants/inspector/$m.diff does not apply: $(head -n 1 "$tree.apply")"
		continue
	fi
	if ! build "$tree" "$tree.build"; then
		VERDICT[$m]="invalid: does not build"
		note "$m: INVALID: it does not build (${tree#"$TOP"/}.build)"
		continue
	fi
	run "$tree" "$bin" "$tree.out"
	verdict
	note "$m: ${VERDICT[$m]}${BY[$m]:+ by ${BY[$m]}}"
	# What the tests said: the assertions that failed
	# (fail_msg()'s is a line "ERROR: TEXT", and an empty ERROR on LINE's)
	sed 's/\(.\)\(\[   LINE   \]\)/\1\n\2/' "$tree.out" |
		sed -n -e 's#^ERROR: #    #p' \
			-e "s#^\[ *\(ERROR\|LINE\) *\] --- \($WORK/[^/]*/\)\?\(..*\)#    \3#p" >&2
done

# The table, and the exit status: every mutant caught.
n_caught=0
printf '%-24s %-60s %s\n' mutant verdict "caught by"
for m in "${names[@]}"; do
	printf '%-24s %-60s %s\n' "$m" "${VERDICT[$m]}" "${BY[$m]:--}"
	[ "${VERDICT[$m]}" != caught ] || n_caught=$((n_caught + 1))
done
echo "inspector mutants: $n_caught of ${#names[@]} caught"
[ "$n_caught" -eq ${#names[@]} ]
