#!/usr/bin/env bash
# The verdicts of one test VM run (tests/vm/run.sh runs it after QEMU; the
# host test tests/host/test_vm_report.sh runs it on fixtures):
#
#   report.sh RUN_DIR
#
# RUN_DIR holds tests.meta ("<name> <timeout> [tags...]" per test, in order,
# from the test lists), console.log (the serial console, lines ending in
# \r\n), payload/results/<name>.log and <name>.rc ("<exit status> <start>
# <end> <taint before> <taint after> <debug_locks before> <after>": guest
# uptime, /proc/sys/kernel/tainted, lockdep's debug_locks or "-"; written
# by tests/vm/guest-run.sh), watchdog when tests/vm/watchdog.sh stopped QEMU
# ("test <name> <seconds> <timeout>", "boot <seconds>" or "outside
# <seconds> <limit> <last test begun or ->"), and qemu-timeout (the limit
# in seconds) when QEMU ran to the VM's time limit.
#
# Prints one line per test, "vm: N tests listed, N with a result" (which
# tests/check.sh compares with its lists) and "vm: N passed, N failed, N
# skipped" (the skipped count has the case skips of tests that passed);
# exits 1 when anything failed (no test listed too). A test fails when it
# exits non-zero (4 too, unless its list entry says skip=whole), when a
# kselftest case skips ("ok N # SKIP"; in a test that exits 0 also a
# child's "1..0 # SKIP" and print_skip()'s ", skipping test") without a
# skip-case= glob allowing it,
# when the console shows a kernel splat or lost lines while it ran, or the
# series' "unexpected ... fault on locked memslot" warning without
# allow=locked-fault, when the kernel was tainted or lockdep turned itself
# off while it ran, and when it has no result. The run fails as well when
# the VM did not finish, hung outside any test or ran to its time limit,
# or the console shows either, or the kernel's state changed, outside any
# test.
set -euo pipefail

RUN=${1:?usage: report.sh RUN_DIR}
RESULTS=$RUN/payload/results
# Console lines that mean the kernel is unhealthy, whatever the tests say:
# panics, oopses, BUG/WARN, stack dumps (arm64 prints "Call trace:" for
# every dump_stack: lockdep, KASAN, KFENCE, UBSAN, OOM, ...), the hung-task
# and soft-lockup detectors, RCU stalls, KASAN, UBSAN and kmemleak reports.
# Lines lost are as bad: what a ratelimit suppressed ("FUNCTION: N
# callbacks suppressed") and what printk dropped.
SPLAT='Kernel panic|Oops|BUG:|WARNING:|Call trace:|kernel BUG at|INFO: task .* blocked for more than|watchdog: BUG: soft lockup|rcu: INFO:|UBSAN:|unreferenced object|new suspected memory leak|callbacks suppressed|printk messages dropped'
# The series' own warning (patch 9): a stage 2 fault on a locked memslot.
# It is ratelimited: where it is allowed, so is the count of those its
# function (warn_unexpected_locked_fault) suppressed.
LOCKED_FAULT='unexpected [a-z]+ fault on locked memslot'
LOCKED_FAULT_SUPPRESSED='warn_unexpected_locked_fault: [0-9]+ callbacks suppressed'

# The console once without its carriage returns, every line (or piece of a
# line glued to a marker) prefixed with the test that was running ("-" for
# none) and a tab (tests/vm/console.awk).
[ -f "$RUN/console.log" ] || : >"$RUN/console.log"
tr -d '\r' <"$RUN/console.log" >"$RUN/console.txt"
# Tests that began are listed in console.begun.
awk -v meta="$RUN/tests.meta" -v begun="$RUN/console.begun" -f "$(dirname "$0")/console.awk" \
	"$RUN/console.txt" >"$RUN/console.by-test"

lines_of() { # test ("-": outside any test), ERE: matching console lines
	awk -F'\t' -v t="$1" '$1 == t { sub(/^[^\t]*\t/, ""); print }' "$RUN/console.by-test" |
		grep -E -- "$2" || true
}

# The skips a log shows when its test exits 0: kselftest's "1..0 # SKIP
# TEXT" (ksft_exit_skip(), which TEST_REQUIRE calls, in a child whose exit
# status 4 the test ignored: get-reg-list forks one per configuration and
# exits 0) and print_skip()'s "TEXT, skipping test" (or the line before,
# when TEXT ends in a newline); one TEXT a line.
swallowed_skips() {
	awk '/^1\.\.0 # [Ss][Kk][Ii][Pp]/ {
		r = $0
		sub(/^1\.\.0 # [Ss][Kk][Ii][Pp]:? ?/, "", r)
		print r
		prev = $0
		next
	}
	/, skipping test$/ {
		r = $0
		sub(/, skipping test$/, "", r)
		print (r == "" ? prev : r)
	}
	{ prev = $0 }' "$1"
}

# The first line of a log giving a skip's reason.
skip_reason() {
	grep -m1 -E '# SKIP|[Ss]kip' "$1" 2>/dev/null | cut -c1-120 || true
}

# The letters of taint flags set in $1 and not in $2 (kernel/panic.c's
# taint_flags, bit 0 first), space-separated.
taint_letters() {
	local set=$1 was=${2:-0} letters=PFSRMBUDAWCIOELKXTN i flags=()
	for ((i = 0; i < ${#letters}; i++)); do
		if (((set >> i) & 1 && !((was >> i) & 1))); then flags+=("${letters:i:1}"); fi
	done
	echo "${flags[*]}"
}

join() { # separator, strings...
	local sep=$1 out='' x
	shift
	for x; do out+="${out:+$sep}$x"; done
	echo "$out"
}

watchdog=()
[ ! -f "$RUN/watchdog" ] || read -r -a watchdog <"$RUN/watchdog"
passed=0 failed=0 skipped=0 listed=0 results=0
# The kernel's state after the last test with a result: taint flags,
# debug_locks; and that test. Changes between tests fail the run.
prev_taint='' prev_locks='' prev_name='' outside_state=()
while read -r name limit tags; do
	case $name in '' | '#'*) continue ;; esac
	safe=${name//\//_}
	log=$RESULTS/$safe.log
	listed=$((listed + 1))
	[ ! -f "$RESULTS/$safe.rc" ] || results=$((results + 1))
	why=() notes=() shown=()
	may_skip=0 allow_fault=0 case_globs=()
	read -r -a tagv <<<"$tags"
	for tag in "${tagv[@]}"; do
		case $tag in
		skip=whole) may_skip=1 ;;
		allow=locked-fault) allow_fault=1 ;;
		skip-case=*) IFS=, read -r -a g <<<"${tag#skip-case=}" && case_globs+=("${g[@]}") ;;
		esac
	done
	rc=- secs='?'
	if [ "${watchdog[0]:-}" = test ] && [ "${watchdog[1]:-}" = "$name" ]; then
		secs=${watchdog[2]}
		why+=("hung: no result after ${watchdog[2]}s (its timeout ${limit}s), QEMU killed by the host watchdog")
	elif [ ! -f "$RESULTS/$safe.rc" ]; then
		if grep -qxF -- "$name" "$RUN/console.begun"; then
			why+=("no result: the VM died or hung during this test")
		else
			why+=("not run: the VM stopped before this test")
		fi
	else
		taint0='' taint1='' locks0='' locks1=''
		read -r rc start end taint0 taint1 locks0 locks1 <"$RESULTS/$safe.rc" || true
		secs=$(awk -v a="${start:-0}" -v b="${end:-0}" 'BEGIN { printf "%.1f", b - a }')
		case $rc in
		0) ;;
		4) [ "$may_skip" = 1 ] || why+=("skipped (exit 4), which its list entry does not allow: $(skip_reason "$log")") ;;
		137) why+=("killed after its ${limit}s timeout (SIGKILL; or by the OOM killer)") ;;
		*) why+=("exit status $rc") ;;
		esac
		# The kernel's own record (tests/vm/guest-run.sh): a WARN, an oops,
		# a bad page, a soft lockup taint it; lockdep turns itself off
		# after its first report. Both hold when the console lost the line.
		if [[ ! $taint0 =~ ^[0-9]+$ || ! $taint1 =~ ^[0-9]+$ ]]; then
			why+=("no record of the kernel's taint flags in its .rc")
		else
			if [ "$taint1" != "$taint0" ]; then
				why+=("the kernel was tainted while it ran: $taint0 -> $taint1 (new: $(taint_letters "$taint1" "$taint0"))")
			fi
			if [ -z "$prev_taint" ] && [ "$taint0" != 0 ]; then
				outside_state+=("the kernel was tainted before the first test: $taint0 ($(taint_letters "$taint0"))")
			elif [ -n "$prev_taint" ] && [ "$taint0" != "$prev_taint" ]; then
				outside_state+=("the kernel was tainted between $prev_name and $name: $prev_taint -> $taint0 (new: $(taint_letters "$taint0" "$prev_taint"))")
			fi
			if [ "$locks0" = 1 ] && [ "$locks1" = 0 ]; then
				why+=("lockdep turned itself off while it ran (debug_locks 1 -> 0)")
			fi
			if [ -z "$prev_taint" ] && [ "$locks0" = 0 ]; then
				outside_state+=("lockdep was off before the first test (debug_locks 0)")
			elif [ "$prev_locks" = 1 ] && [ "$locks0" = 0 ]; then
				outside_state+=("lockdep turned itself off between $prev_name and $name (debug_locks 1 -> 0)")
			fi
			prev_taint=$taint1 prev_locks=$locks1 prev_name=$name
		fi
	fi
	# kselftest cases that skipped: "ok N # SKIP TEXT" (or "ok N DESC #
	# SKIP TEXT"), and in a test that exited 0 the parts swallowed_skips
	# finds; each allowed by skip=whole or a skip-case= glob.
	if [ -f "$log" ]; then
		while IFS=$'\t' read -r kind text; do
			allowed=$may_skip
			for g in "${case_globs[@]}"; do
				# shellcheck disable=SC2053 # glob match on purpose
				[[ $text == $g ]] && allowed=1
			done
			if [ "$allowed" = 1 ]; then
				notes+=("$text")
			else
				why+=("a $kind skipped, which its list entry does not allow: $text")
			fi
		done < <(
			sed -nE 's/^ok [0-9]+ (.* )?# [Ss][Kk][Ii][Pp]:? ?/case\t/p' "$log"
			if [ "$rc" = 0 ]; then swallowed_skips "$log" | sed 's/^/part\t/'; fi
		)
	fi
	splat=$(lines_of "$name" "$SPLAT")
	if [ "$allow_fault" = 1 ]; then
		splat=$(grep -vE -- "$LOCKED_FAULT_SUPPRESSED" <<<"$splat" || true)
	fi
	if [ -n "$splat" ]; then
		why+=("kernel splat on the console")
		shown+=("$splat")
	fi
	fault=$(lines_of "$name" "$LOCKED_FAULT")
	if [ -n "$fault" ] && [ "$allow_fault" = 0 ]; then
		why+=("the series' warning of an unexpected fault on a locked memslot")
		shown+=("$fault")
	fi
	if [ ${#why[@]} -gt 0 ]; then
		failed=$((failed + 1))
		printf 'FAIL  %-40s %6ss  %s\n' "$name" "$secs" "$(join '; ' "${why[@]}")"
		if [ ${#shown[@]} -gt 0 ]; then
			printf '%s\n' "${shown[@]}" | head -n 8 | sed 's/^/      | /'
		fi
		if [ -f "$log" ]; then tail -n 15 "$log" | sed 's/^/      > /'; fi
	elif [ "$rc" = 4 ]; then
		skipped=$((skipped + 1))
		printf 'SKIP  %-40s %6ss  %s\n' "$name" "$secs" "$(skip_reason "$log")"
	else
		passed=$((passed + 1))
		# Case skips count as skips in the summary too.
		skipped=$((skipped + ${#notes[@]}))
		if [ ${#notes[@]} -gt 0 ]; then
			printf 'PASS  %-40s %6ss  (%d case(s) skipped as its list allows: %s)\n' \
				"$name" "$secs" "${#notes[@]}" "$(join ' | ' "${notes[@]}")"
		else
			printf 'PASS  %-40s %6ss\n' "$name" "$secs"
		fi
	fi
done <"$RUN/tests.meta"

if [ "$listed" -eq 0 ]; then
	echo "no test listed in $RUN/tests.meta"
	failed=$((failed + 1))
fi
for line in "${outside_state[@]}"; do
	echo "$line"
	failed=$((failed + 1))
done
case ${watchdog[0]:-} in
boot)
	echo "hung: the guest did not reach its first test in ${watchdog[1]}s; QEMU killed by the host watchdog"
	failed=$((failed + 1))
	;;
outside)
	after="${watchdog[3]:--} ended"
	[ "$after" != "- ended" ] || after=boot
	echo "hung outside any test: nothing for ${watchdog[1]}s after $after (limit ${watchdog[2]}s), QEMU killed by the host watchdog"
	failed=$((failed + 1))
	;;
esac
if [ -f "$RUN/qemu-timeout" ]; then
	echo "hung: QEMU killed at the VM's time limit ($(cat "$RUN/qemu-timeout")s)"
	failed=$((failed + 1))
fi
if ! grep -q KVMLOCK-ALL-DONE "$RUN/console.txt"; then
	echo "the VM did not finish its test list; last console lines:"
	tail -n 30 "$RUN/console.txt" | sed 's/^/      | /'
	[ "$failed" -gt 0 ] || failed=1
fi
outside=$(lines_of - "$SPLAT|$LOCKED_FAULT")
if [ -n "$outside" ]; then
	echo "kernel splat or locked-memslot warning outside any test:"
	head -n 8 <<<"$outside" | sed 's/^/      | /'
	failed=$((failed + 1))
fi
echo "vm: $listed tests listed, $results with a result"
echo "vm: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
