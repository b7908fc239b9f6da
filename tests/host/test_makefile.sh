#!/usr/bin/env bash
# The Makefile's small contracts, in a scratch copy whose scripts are
# stand-ins that print their arguments (make -o: deps, kernel and rootfs
# are not remade):
#  - make vm-test T='...' passes globs to run.sh unexpanded, even where a
#    file in the top directory matches them;
#  - check-host and check-vm run the host tests only and the VM only;
#  - whatever boots the test VM builds the inspector first, against the
#    built kernel's BTF;
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
built="inspector [$top/build/kernel-default.out/vmlinux.btf]"
# Files the globs would match if the shell expanded them.
touch "$top/tests_x" "$top/test1"
mk() { make -s -C "$top" -o deps -o kernel -o rootfs TOP="$top" BUILD="$top/build" "$@" 2>&1; }

expect "vm-test: globs reach run.sh as they are" \
	"$built
tests/vm/run.sh [$top/build/kernel-default.out] [$top/build/rootfs] [*test*] [aarch64/*] [kvm_smoke_test]" \
	"$(mk vm-test T='*test* aarch64/* kvm_smoke_test')"
expect "vm-test without T: every test" \
	"$built
tests/vm/run.sh [$top/build/kernel-default.out] [$top/build/rootfs]" "$(mk vm-test)"
expect "check-host: the host tests only" \
	"tests/check.sh [--host] [$top/build/kernel-default.out]" "$(mk check-host)"
expect "check-vm: the test VM only" \
	"$built
tests/check.sh [--vm] [$top/build/kernel-default.out] [$top/build/rootfs]" "$(mk check-vm)"
expect "check: both" \
	"$built
tests/check.sh [$top/build/kernel-default.out] [$top/build/rootfs]" "$(mk check)"

mkdir -p "$top/build/vm/payload" "$top/build/vm-nofwb" "$top/build/vm-demo" "$top/build/linux"
touch "$top/build/vm.lock" "$top/build/vm-nofwb.lock" "$top/build/kernel-default.out"
mk clean >/dev/null
expect "clean removes every run directory and lock, and keeps the kernel tree" \
	"kernel-default.out linux" "$(cd "$top/build" && echo *)"

finish makefile
