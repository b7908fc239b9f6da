#!/usr/bin/env bash
# tests/check.sh's counting (run_suite) on stand-in suites: counts come from
# the suite's last line only, a suite that dies before its summary or exits
# non-zero with "0 failed" is one failure, and never two.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/lib.sh"
# check.sh's own counters, kept apart from this test's.
mine_passed=$passed mine_failed=$failed
. "$TOP/tests/check.sh"

suite() { # exit status, output lines...: a stand-in suite
	local rc=$1
	shift
	printf '%s\n' "$@"
	return "$rc"
}
counts() { # suite arguments: "passed failed skipped" that run_suite adds
	passed=0 failed=0 skipped=0
	run_suite suite "$@" >/dev/null
	echo "$passed $failed $skipped"
}
record() { # name expected actual, into this test's counters
	local p=$passed f=$failed
	passed=$mine_passed failed=$mine_failed
	expect "$@"
	mine_passed=$passed mine_failed=$failed
	passed=$p failed=$f
}

record "a passing suite" "3 0 0" "$(counts 0 "ok - a" "x: 3 passed, 0 failed")"
record "the test VM's skips" "1 0 2" "$(counts 0 "vm: 1 passed, 0 failed, 2 skipped")"
record "a failing suite counts its failures once" "2 1 0" \
	"$(counts 1 "not ok - b" "x: 2 passed, 1 failed")"
record "a suite that dies before its summary: one failure, not two" "0 1 0" \
	"$(counts 2 "ok - a" "x.sh: line 9: KVMLOCK_KERNEL_DIR: run from make check")"
record "a summary-like line in a log tail is not the summary" "0 1 0" \
	"$(counts 2 "      > inner: 5 passed, 0 failed" "run.sh: error: boom")"
record "'N failed' elsewhere does not hide a non-zero exit with 0 failed" "2 1 0" \
	"$(counts 1 "tool: 1 failed" "x: 2 passed, 0 failed")"
record "a suite that prints nothing fails" "0 1 0" "$(counts 0)"
record "exit 0 without a summary fails" "0 1 0" "$(counts 0 "all good, trust me")"

passed=$mine_passed failed=$mine_failed
finish check-counting
