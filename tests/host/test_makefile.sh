#!/usr/bin/env bash
# The Makefile's small contracts, in a scratch copy whose scripts are
# stand-ins that print their arguments (make -o: deps, kernel and rootfs
# are not remade):
#  - make vm-test T='...' passes globs to run.sh unexpanded, even where a
#    file in the top directory matches them;
#  - check-host and check-vm run the host tests only and the VM only;
#    check names the debug kernels (none when KERNEL_VARIANT is not
#    default), and refuses, before deps, an environment that would change
#    what it tests; the command line cannot change its kernel either;
#  - whatever boots the test VM builds the inspector first, against the
#    built kernel's BTF;
#  - make mutants runs the inspector's mutants, then the kernel's, each
#    script given its own of MUTANTS (and not run when none is), refuses
#    a name of neither, and fails when either fails;
#  - make clean removes every test VM run directory and nothing else.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/lib.sh"

top=$tmp/top
mkdir -p "$top/tests/vm"
cp "$TOP/Makefile" "$top/"
for s in tests/vm/run.sh tests/check.sh; do
	printf '#!/bin/sh\nprintf "%s" "%s"; printf " [%%s]" "$@"; echo\n' '%s' "$s" >"$top/$s"
	chmod +x "$top/$s"
done
# The inspector's build, a stand-in that says what it was given.
mkdir -p "$top/inspector"
printf 'all:\n\t@echo "inspector [$(VMLINUX_BTF)]"\n' >"$top/inspector/Makefile"
built="inspector [$top/build/6.12/kernel-default.out/vmlinux.btf]"
# Files the globs would match if the shell expanded them.
touch "$top/tests_x" "$top/test1"
mk() { make -s -C "$top" -o deps -o kernel -o rootfs TOP="$top" BUILD="$top/build" "$@" 2>&1; }

expect "vm-test: globs reach run.sh as they are" \
	"$built
tests/vm/run.sh [$top/build/6.12/kernel-default.out] [$top/build/rootfs] [*test*] [aarch64/*] [kvm_smoke_test]" \
	"$(mk vm-test T='*test* aarch64/* kvm_smoke_test')"
expect "vm-test without T: every test" \
	"$built
tests/vm/run.sh [$top/build/6.12/kernel-default.out] [$top/build/rootfs]" "$(mk vm-test)"
expect "check-host: the host tests only" \
	"tests/check.sh [--host] [$top/build/6.12/kernel-default.out]" "$(mk check-host)"
expect "check-vm: the test VM only" \
	"$built
tests/check.sh [--vm] [--variants] [debug kasan] [--bases] [6.1] [$top/build/6.12/kernel-default.out] [$top/build/rootfs]" "$(mk check-vm)"
expect "check: both, and the debug kernels" \
	"$built
tests/check.sh [--variants] [debug kasan] [--bases] [6.1] [$top/build/6.12/kernel-default.out] [$top/build/rootfs]" "$(mk check)"
built_debug="inspector [$top/build/6.12/kernel-debug.out/vmlinux.btf]"
expect "check on another variant: no debug kernels besides; CHECK_VARIANTS on the command line changes nothing" \
	"$built_debug
tests/check.sh [--variants] [] [--bases] [] [$top/build/6.12/kernel-debug.out] [$top/build/rootfs]" \
	"$(mk check KERNEL_VARIANT=debug CHECK_VARIANTS=kasan CHECK_KERNELS=kasan)"
expect "check: KERNEL_DIR and ROOTFS_DIR on the command line change nothing" \
	"$built
tests/check.sh [--variants] [debug kasan] [--bases] [6.1] [$top/build/6.12/kernel-default.out] [$top/build/rootfs]" \
	"$(mk check KERNEL_DIR=/elsewhere ROOTFS_DIR=/elsewhere)"
# make mutants: each kind of mutant to its script, MUTANTS split between
# them (a script given none is not run), a name of neither refused.
mkdir -p "$top/tests/inspector" "$top/tests/mutants/inspector"
for s in tests/vm/mutants.sh tests/inspector/mutants.sh; do
	printf '#!/bin/sh\nprintf "%%s [%%s]" "%s" "$MUTANTS"; printf " [%%s]" "$@"; echo\n' "$s" >"$top/$s"
	chmod +x "$top/$s"
done
touch "$top/tests/mutants/cap.diff" "$top/tests/mutants/undo.diff" "$top/tests/mutants/undo.list" \
	"$top/tests/mutants/inspector/busy.diff" "$top/tests/mutants/inspector/log2.diff"
inspector_mutants="tests/inspector/mutants.sh [busy log2] [$top/build/6.12/kernel-default.out/vmlinux.btf]"
expect "mutants: the inspector's first, against the kernel's BTF, then the kernel's" \
	"$inspector_mutants
tests/vm/mutants.sh [cap undo] [$top/build/rootfs]" "$(mk mutants)"
expect "mutants MUTANTS=...: each script its own" \
	"tests/inspector/mutants.sh [log2] [$top/build/6.12/kernel-default.out/vmlinux.btf]
tests/vm/mutants.sh [undo] [$top/build/rootfs]" "$(mk mutants MUTANTS='undo log2')"
expect "mutants MUTANTS=...: a script with none of them is not run" \
	"tests/vm/mutants.sh [cap] [$top/build/rootfs]" "$(mk mutants MUTANTS=cap)"
expect_fail "mutants: a name of no mutant is refused, nothing run" \
	"^mutants: no mutant nope \(tests/mutants/NAME.diff, tests/mutants/inspector/NAME.diff\)\$" \
	mk mutants MUTANTS='cap nope'
expect "mutants-inspector: the inspector's alone, MUTANTS as given" \
	"tests/inspector/mutants.sh [x] [/b.btf]" "$(mk mutants-inspector MUTANTS=x VMLINUX_BTF=/b.btf)"
printf '#!/bin/sh\necho "$0 $MUTANTS"; exit 1\n' >"$top/tests/inspector/mutants.sh"
out=$(mk mutants)
rc=$?
expect "mutants: the kernel's run after the inspector's failed, and make fails" \
	"tests/inspector/mutants.sh busy log2|tests/vm/mutants.sh [cap undo] [$top/build/rootfs]|exit 2" \
	"$(grep -v '^make' <<<"$out" | paste -sd'|')|exit $rc"

mkdir -p "$top/build/vm/payload" "$top/build/vm-nofwb" "$top/build/vm-demo" "$top/build/6.12/linux"
touch "$top/build/vm.lock" "$top/build/vm-nofwb.lock" "$top/build/6.12/kernel-default.out"
mk clean >/dev/null
expect "clean removes every run directory and lock, and keeps the kernel trees" \
	"6.12 6.12/kernel-default.out 6.12/linux" "$(cd "$top/build" && echo * 6.12/*)"

# With deps, kernel and rootfs made by stand-ins: check.sh --refuse-env
# comes before anything else.
mkdir -p "$top/scripts" "$top/kernel/scripts"
printf '#!/bin/sh\necho deps >&2\n' >"$top/scripts/deps.sh"
printf '#!/bin/sh\necho "%s/build/k"\n' "$top" >"$top/kernel/scripts/kernel.sh"
printf '#!/bin/sh\necho "%s/build/r"\n' "$top" >"$top/tests/vm/rootfs.sh"
chmod +x "$top/scripts/deps.sh" "$top/kernel/scripts/kernel.sh" "$top/tests/vm/rootfs.sh"
first2() { make -s -C "$top" TOP="$top" BUILD="$top/build" "$1" 2>&1 | head -n 2 | paste -sd'|'; }
for goal in check check-host check-vm; do
	expect "$goal: the environment is checked before deps" \
		"tests/check.sh [--refuse-env]|deps" "$(first2 "$goal")"
done
expect "vm-test: no check of the environment" "deps|kernel: $top/build/k" "$(first2 vm-test)"

finish makefile
