# shellcheck shell=bash
# Helpers of every host test (tests/host/test_*.sh): source after
# scripts/lib.sh. Gives $tmp (a directory removed on exit) and
#   expect NAME EXPECTED ACTUAL   passes when the two strings are equal
#   ok NAME / not_ok NAME [DETAIL]
#   check NAME CMD...             passes when CMD exits 0 (its output is shown
#                                 on failure)
#   expect_fail NAME PATTERN CMD...  passes when CMD exits non-zero and its
#                                 output (stdout and stderr) matches PATTERN
#   finish SUITE                  prints "SUITE: N passed, N failed", the
#                                 summary line tests/check.sh counts, and
#                                 fails when anything failed or nothing ran.
#   build_inspector SUITE         make inspector against the kernel's BTF
#                                 (sets $btf), or ends the suite saying why
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

ok() {
	passed=$((passed + 1))
	echo "ok - $1"
}

not_ok() {
	failed=$((failed + 1))
	echo "not ok - $1"
	if [ -n "${2:-}" ]; then sed 's/^/#   /' <<<"$2"; fi
}

expect() { # name, expected, actual
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "$(diff <(echo "$2") <(echo "$3"))"
	fi
}

check() { # name, command...
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		not_ok "$name (exit $?)" "$out"
	fi
}

expect_fail() { # name, pattern, command...
	local name=$1 pattern=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] && grep -qE -- "$pattern" <<<"$out"; then
		ok "$name"
	else
		not_ok "$name (exit $rc, wanted a failure saying '$pattern')" "$out"
	fi
}

finish() { # suite name
	if [ $((passed + failed)) -eq 0 ]; then
		failed=1
		echo "not ok - no test ran"
	fi
	echo "$1: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

# build_inspector SUITE: make inspector (kvmlock-top and its test binaries)
# against the kernel's BTF: $VMLINUX_BTF, else the vmlinux.btf of
# $KVMLOCK_KERNEL_DIR (make check). Sets $btf. When it cannot, says why
# and ends the suite.
build_inspector() {
	local out
	btf=${VMLINUX_BTF:-${KVMLOCK_KERNEL_DIR:+$KVMLOCK_KERNEL_DIR/vmlinux.btf}}
	if [ -z "$btf" ] || [ ! -f "$btf" ]; then
		not_ok "kvmlock-top builds" \
			"no kernel BTF: set VMLINUX_BTF, or KVMLOCK_KERNEL_DIR to a kernel output with vmlinux.btf (got '${btf:-nothing}')"
	elif out=$(make -C "$TOP" --no-print-directory inspector VMLINUX_BTF="$btf" 2>&1); then
		ok "make inspector builds the tool and its tests"
		return 0
	else
		not_ok "make inspector builds the tool and its tests" "$out"
	fi
	finish "$1"
	exit
}
