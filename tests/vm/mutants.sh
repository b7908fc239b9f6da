#!/usr/bin/env bash
# make mutants: would the tests catch the bugs they are there for? Each
# tests/mutants/NAME.diff puts a bug back into the series (its first lines
# say which, and what should catch it); NAME.list is the test list to boot
# it with. Its directives (scripts/lib.sh load_test_list) say the rest:
# "#: caught-by TEST..." the tests that must catch it (required), "#:
# kernel VARIANT" the kernel (default: default) and "#: kernel-args ARGS"
# what to add to the guest kernel's command line (VM_KERNEL_ARGS).
#
# For each mutant (MUTANTS="a b" for some), this boots the list first on
# the unmutated kernel of that variant (kernel.sh build: the cached one),
# the control, where every test must pass; then builds that kernel with
# the diff (kernel.sh mutant: the tree is restored after, the cache
# untouched) and boots it with the list. Verdicts:
#   caught                     a caught-by test failed, and no other test
#   survived                   every test passed
#   not caught (failed: X, expected: Y)
#                              tests other than the caught-by ones failed
#                              (a timeout or flake of another test), or the
#                              run failed outside any test
#   invalid: control failed    the list failed on the unmutated kernel: a
#                              failure on the mutant would prove nothing
#                              (the mutant is not built)
#   invalid: no test began     the mutant kernel did not boot
# It ends with a table: mutant, verdict, the tests that caught it.
#
#   mutants.sh ROOTFS_DIR
#
# Exits non-zero when a mutant was not caught, or did not build. The
# mutants are written against the Linux 6.1 series: KERNEL_BASE is 6.1 here,
# whatever the environment says.
set -euo pipefail
export KERNEL_BASE=6.1
. "$(dirname "$0")/../../scripts/lib.sh"

ROOTFS=${1:?usage: mutants.sh ROOTFS_DIR}
DIR=$TOP/tests/mutants
read -r -a names <<<"${MUTANTS:-}"
if [ ${#names[@]} -eq 0 ]; then
	for diff in "$DIR"/*.diff; do
		[ -f "$diff" ] && names+=("$(basename "$diff" .diff)")
	done
fi
[ ${#names[@]} -gt 0 ] || die "no mutants in tests/mutants"
# Every list loads (here, in this shell: a bad one dies naming its line)
# before anything is built.
declare -A VARIANT ARGS CAUGHT_BY VERDICT BY
for m in "${names[@]}"; do
	[ -f "$DIR/$m.diff" ] || die "no mutant '$m' (tests/mutants/$m.diff)"
	[ -f "$DIR/$m.list" ] || die "mutant '$m' has no test list (tests/mutants/$m.list)"
	load_test_list "$DIR/$m.list"
	[ -n "$TL_CAUGHT_BY" ] || die "tests/mutants/$m.list names no test that catches it ('#: caught-by TEST...')"
	VARIANT[$m]=${TL_KERNEL:-default}
	ARGS[$m]=$TL_KERNEL_ARGS
	CAUGHT_BY[$m]=$TL_CAUGHT_BY
done

# boot KERNEL_DIR RUN_DIR: mutant $m's list on that kernel; sets $status
# (run.sh's), $failed (the tests that failed, space-separated) and $begun
# (empty when no test began).
boot() {
	local kdir=$1 run=$2
	status=0
	VM_KERNEL_ARGS=${ARGS[$m]} VM_TEST_LISTS=$DIR/$m.list VM_RUN_DIR=$run \
		"$TOP/tests/vm/run.sh" "$kdir" "$ROOTFS" |
		tee "$run.out" || status=$?
	failed=$(sed -n 's/^FAIL  *\([^ ]*\).*/\1/p' "$run.out" | paste -sd' ' -)
	begun=$(cat "$run/console.begun" 2>/dev/null || true)
}

# verdict: mutant $m's verdict from its boot ($failed, $status) into
# VERDICT[$m], and the tests that caught it into BY[$m].
verdict() {
	local t other='' named=''
	for t in $failed; do
		case " ${CAUGHT_BY[$m]} " in
		*" $t "*) named+="${named:+ }$t" ;;
		*) other+="${other:+ }$t" ;;
		esac
	done
	if [ -n "$named" ] && [ -z "$other" ]; then
		VERDICT[$m]=caught BY[$m]=$named
	elif [ -z "$failed" ] && [ "$status" -eq 0 ]; then
		VERDICT[$m]=survived
	else
		VERDICT[$m]="not caught (failed: ${failed:-the run, outside any test}, expected: ${CAUGHT_BY[$m]})"
	fi
}

mkdir -p "$BUILD"
for m in "${names[@]}"; do
	variant=${VARIANT[$m]}
	kdir=$BUILD/kernel-mutant-$m
	run=$BUILD/vm-mutant-$m
	ctl=$("$TOP/kernel/scripts/kernel.sh" build "$variant") ||
		die "$m: the $variant kernel did not build"
	note "$m: control: booting the $variant kernel without the mutant with tests/mutants/$m.list"
	boot "$ctl" "$run-control"
	BY[$m]=''
	if [ "$status" -ne 0 ] || [ -n "$failed" ] || [ -z "$begun" ]; then
		VERDICT[$m]="invalid: control failed"
		note "$m: INVALID: the control boot failed (${failed:-exit $status}): a failure with the mutant would prove nothing"
		continue
	fi
	"$TOP/kernel/scripts/kernel.sh" mutant "$variant" "$DIR/$m.diff" "$kdir" ||
		die "$m: the mutant $variant kernel did not build"
	note "$m: booting the mutant $variant kernel with tests/mutants/$m.list"
	boot "$kdir" "$run"
	# A kernel that does not boot fails every test without catching anything.
	if [ -z "$begun" ]; then
		VERDICT[$m]="invalid: no test began"
		note "$m: INVALID: no test began: the mutant kernel did not boot"
		continue
	fi
	verdict
	note "$m: ${VERDICT[$m]}${BY[$m]:+ by ${BY[$m]}}"
done

# The table, and the exit status: every mutant caught.
n_caught=0
printf '%-12s %-60s %s\n' mutant verdict "caught by"
for m in "${names[@]}"; do
	printf '%-12s %-60s %s\n' "$m" "${VERDICT[$m]}" "${BY[$m]:--}"
	[ "${VERDICT[$m]}" != caught ] || n_caught=$((n_caught + 1))
done
echo "mutants: $n_caught of ${#names[@]} caught"
[ "$n_caught" -eq ${#names[@]} ]
