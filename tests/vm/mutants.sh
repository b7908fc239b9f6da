#!/usr/bin/env bash
# make mutants: would the tests catch the bugs they are there for? Each
# tests/mutants/NAME.diff puts a bug back into the series (its first lines
# say which, and what should catch it); NAME.list is the test list to boot
# it with, its "#: kernel VARIANT" directive picks the kernel (default:
# default), and a "#: kernel-args ARGS" one adds to the guest kernel's
# command line (VM_KERNEL_ARGS); scripts/lib.sh load_test_list reads both.
# For each mutant (MUTANTS="a b" for some), this builds that
# kernel with the diff (kernel.sh mutant: the tree is restored after, the
# cache untouched), boots it with the list, and says "caught" when a test
# that began failed, "survived" when every test passed.
#
#   mutants.sh ROOTFS_DIR
#
# Exits non-zero when a mutant survived, or did not build or boot.
set -euo pipefail
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
declare -A VARIANT ARGS
for m in "${names[@]}"; do
	[ -f "$DIR/$m.diff" ] || die "no mutant '$m' (tests/mutants/$m.diff)"
	[ -f "$DIR/$m.list" ] || die "mutant '$m' has no test list (tests/mutants/$m.list)"
	load_test_list "$DIR/$m.list"
	VARIANT[$m]=${TL_KERNEL:-default}
	ARGS[$m]=$TL_KERNEL_ARGS
done

caught=() survived=()
for m in "${names[@]}"; do
	variant=${VARIANT[$m]}
	args=${ARGS[$m]}
	kdir=$BUILD/kernel-mutant-$m
	run=$BUILD/vm-mutant-$m
	"$TOP/kernel/scripts/kernel.sh" build "$variant" >/dev/null ||
		die "$m: the $variant kernel did not build"
	"$TOP/kernel/scripts/kernel.sh" mutant "$variant" "$DIR/$m.diff" "$kdir" ||
		die "$m: the mutant $variant kernel did not build"
	note "$m: booting the mutant $variant kernel with tests/mutants/$m.list"
	status=0
	VM_KERNEL_ARGS=$args VM_TEST_LISTS=$DIR/$m.list VM_RUN_DIR=$run \
		"$TOP/tests/vm/run.sh" "$kdir" "$ROOTFS" |
		tee "$run.out" || status=$?
	# A kernel that does not boot fails every test without catching anything.
	[ -s "$run/console.begun" ] || die "$m: no test began: the mutant kernel did not boot"
	failed=$(sed -n 's/^FAIL  *\([^ ]*\).*/\1/p' "$run.out" | paste -sd' ' -)
	if [ "$status" -ne 0 ] && [ -n "$failed" ]; then
		caught+=("$m")
		note "$m: caught by $failed"
	else
		survived+=("$m")
		note "$m: SURVIVED: every test of tests/mutants/$m.list passed"
	fi
done
echo "mutants: ${#caught[@]} caught${caught:+ (${caught[*]})}, ${#survived[@]} survived${survived:+ (${survived[*]})}"
[ ${#survived[@]} -eq 0 ]
