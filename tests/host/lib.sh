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
