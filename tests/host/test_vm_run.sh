#!/usr/bin/env bash
# tests/vm/run.sh end to end on the host: a stand-in for qemu-system-aarch64
# runs the payload's guest runner (tests/vm/guest-run.sh) with the host's
# sh, writing a console with \r\n line ends as the serial console does;
# tests are host commands from a list in the common format. Checks:
#  - list tags reach the verdicts (skip=whole, a skip that is not allowed);
#  - VM_KERNEL_ARGS reaches the kernel command line;
#  - the host watchdog stops a VM hung in a test, after that test's own
#    timeout plus the slack, and the report names the test; a VM that never
#    boots, hangs between tests or never powers off is stopped too; QEMU
#    stopped at the VM's time limit fails the run;
#  - a second run in the same run directory waits for the first (saying so)
#    instead of deleting it;
#  - malformed list entries stop the run before QEMU, naming file and line;
#    every list of tests/vm, tests/bench and tests/mutants loads, and
#    docs/testing.md's "Test lists" names it.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/lib.sh"

RUN_SH=$TOP/tests/vm/run.sh
mkdir -p "$tmp/bin" "$tmp/kdir/selftests" "$tmp/rootfs"
: >"$tmp/kdir/Image"
cat >"$tmp/bin/qemu-system-aarch64" <<'EOF'
#!/usr/bin/env bash
# Stand-in for QEMU: FAKE_QEMU=run (the guest runner on the payload),
# hang (boots, begins the first test, never ends), hang-glued (the same,
# with a kernel line glued to the marker), hang-between (ends the first
# test, never begins the next), hang-done (runs the tests, never powers
# off), noboot (never boots).
console='' payload=''
while [ $# -gt 0 ]; do
	case $1 in
	-serial) console=${2#file:}; shift ;;
	-append) [ -z "${FAKE_QEMU_APPEND:-}" ] || echo "$2" >"$FAKE_QEMU_APPEND"; shift ;;
	-fsdev) case $2 in *id=payload,*) payload=${2#*path=}; payload=${payload%%,*} ;; esac; shift ;;
	esac
	shift
done
case ${FAKE_QEMU:-run} in
run) KVMLOCK_PAYLOAD=$payload sh "$payload/guest-run.sh" 2>&1 | sed -u 's/$/\r/' >"$console" ;;
hang | hang-glued)
	glued=
	[ "$FAKE_QEMU" = hang ] || glued='[    5.000000] kvm [9]: a kernel line'
	printf 'KVMLOCK-BOOTED uptime=0.5\r\nKVMLOCK-TEST-BEGIN %s%s\r\n' \
		"$(head -n 1 "$payload/tests.list" | cut -d' ' -f1)" "$glued" >"$console"
	exec sleep 617
	;;
hang-between)
	t=$(head -n 1 "$payload/tests.list" | cut -d' ' -f1)
	printf 'KVMLOCK-BOOTED uptime=0.5\r\nKVMLOCK-TEST-BEGIN %s\r\nKVMLOCK-TEST-END %s rc=0\r\n' \
		"$t" "$t" >"$console"
	echo "0 1.0 2.0 0 0 - -" >"$payload/results/$t.rc"
	exec sleep 617
	;;
hang-done)
	KVMLOCK_PAYLOAD=$payload sh "$payload/guest-run.sh" 2>&1 | sed -u 's/$/\r/' >"$console"
	exec sleep 617
	;;
noboot)
	printf '[    0.000000] Booting Linux\r\n' >"$console"
	exec sleep 617
	;;
esac
EOF
chmod +x "$tmp/bin/qemu-system-aarch64"
# timeout: run.sh's around QEMU ("-k 5 LIMIT ...") stops at FAKE_VM_LIMIT
# seconds when that is set; every other call is the real one's.
cat >"$tmp/bin/timeout" <<EOF
#!/usr/bin/env bash
if [ -n "\${FAKE_VM_LIMIT:-}" ] && [ "\$1 \$2" = "-k 5" ]; then
	exec $(command -v timeout) -k 1 "\$FAKE_VM_LIMIT" "\${@:4}"
fi
exec $(command -v timeout) "\$@"
EOF
chmod +x "$tmp/bin/timeout"
export PATH=$tmp/bin:$PATH VM_RUN_DIR=$tmp/vm VM_WATCHDOG_POLL=0.2

cat >"$tmp/host.list" <<'EOF'
# name timeout [tags] command
says_hello 10 echo hello
may_skip 10 skip=whole sh -c 'echo "1..0 # SKIP not here"; exit 4'
must_not_skip 10 sh -c 'echo "1..0 # SKIP not here either"; exit 4'
EOF
run() { VM_TEST_LISTS="$1" "$RUN_SH" "$tmp/kdir" "$tmp/rootfs" "${@:2}" 2>&1; }

out=$(run "$tmp/host.list")
rc=$?
expect "a run: verdicts from the list's tags, summary, exit status" \
	"PASS says_hello
SKIP may_skip 1..0 # SKIP not here
FAIL must_not_skip skipped (exit 4), which its list entry does not allow: 1..0 # SKIP not here either
vm: 3 tests listed, 3 with a result
vm: 1 passed, 1 failed, 1 skipped
rc=1" "$(grep -E '^(PASS|SKIP|FAIL|vm:)' <<<"$out" | sed -E 's/ +[0-9.]+s( +|$)/ /; s/ +/ /g; s/ $//'; echo "rc=$rc")"
expect "tests.meta keeps the tags, the guest's tests.list the commands" \
	"may_skip 10 skip=whole
may_skip 10 sh -c 'echo \"1..0 # SKIP not here\"; exit 4'" \
	"$(grep -h '^may_skip' "$tmp/vm/tests.meta" "$tmp/vm/payload/tests.list")"
out=$(run "$tmp/host.list" 'says_*')
expect "patterns select tests" "PASS says_hello|vm: 1 tests listed, 1 with a result|vm: 1 passed, 0 failed, 0 skipped" \
	"$(grep -E '^(PASS|SKIP|FAIL|vm:)' <<<"$out" | sed -E 's/ +[0-9.]+s$//; s/ +/ /g' | paste -sd'|')"

# VM_KERNEL_ARGS ends the kernel command line; without it, it ends as always.
FAKE_QEMU_APPEND=$tmp/append run "$tmp/host.list" 'says_*' >/dev/null
plain=$(cat "$tmp/append")
FAKE_QEMU_APPEND=$tmp/append VM_KERNEL_ARGS="movablecore=1G quiet" run "$tmp/host.list" 'says_*' >/dev/null
expect "VM_KERNEL_ARGS ends the kernel command line, which otherwise ends in panic=-1" \
	"panic=-1|$plain movablecore=1G quiet" "${plain##* }|$(cat "$tmp/append")"

# A VM hung in a test: stopped after its timeout (1 s) plus the slack (1 s).
echo "stuck 1 echo never-runs" >"$tmp/stuck.list"
# A run of list $3 with environment $4... fails within 20 s, printing a line
# that matches the ERE $2; $1 names the case. The cases spend their time
# waiting for the watchdog: each runs in the background, in a run
# directory of its own ($tmp/stopped-N/vm), and stopped_results checks
# them in order once all ended.
stopped_n=0 stopped_pids=()
expect_stopped() {
	local what=$1 pattern=$2 list=$3 d
	shift 3
	stopped_n=$((stopped_n + 1))
	d=$tmp/stopped-$stopped_n
	mkdir -p "$d"
	printf '%s\n' "$what" >"$d/what"
	printf '%s\n' "$pattern" >"$d/pattern"
	(
		SECONDS=0
		out=$(export VM_RUN_DIR="$d/vm" "$@" && run "$list")
		echo "$? $SECONDS" >"$d/rc"
		printf '%s\n' "$out" >"$d/out"
	) &
	stopped_pids+=($!)
}
stopped_results() {
	local i d what rc took out
	wait "${stopped_pids[@]}"
	for ((i = 1; i <= stopped_n; i++)); do
		d=$tmp/stopped-$i
		what=$(cat "$d/what")
		read -r rc took <"$d/rc"
		out=$(cat "$d/out")
		if [ "$rc" -ne 0 ] && grep -qE "$(cat "$d/pattern")" <<<"$out" && [ "$took" -lt 20 ]; then
			ok "$what (${took}s)"
		else
			not_ok "$what (${took}s, exit $rc)" "$out"
		fi
	done
}
expect_stopped "a hung test: the watchdog stops QEMU after its timeout + slack and names it" \
	'^FAIL +stuck +[0-9]+s +hung: no result after [0-9]+s \(its timeout 1s\), QEMU killed by the host watchdog' \
	"$tmp/stuck.list" FAKE_QEMU=hang VM_WATCHDOG_SLACK=1
expect_stopped "a hung test whose marker has a kernel line glued to it: stopped and named too" \
	'^FAIL +stuck +[0-9]+s +hung: no result after [0-9]+s \(its timeout 1s\), QEMU killed by the host watchdog' \
	"$tmp/stuck.list" FAKE_QEMU=hang-glued VM_WATCHDOG_SLACK=1
printf 'first 10 true\nsecond 10 true\n' >"$tmp/two.list"
expect_stopped "a guest that hangs between two tests is stopped after the limit outside tests" \
	'^hung outside any test: nothing for [0-9]+s after first ended \(limit 1s\), QEMU killed by the host watchdog' \
	"$tmp/two.list" FAKE_QEMU=hang-between VM_OUTSIDE_LIMIT=1
expect_stopped "a guest that never powers off after its last test is stopped" \
	'^hung outside any test: nothing for [0-9]+s after second ended \(limit 1s\), QEMU killed by the host watchdog' \
	"$tmp/two.list" FAKE_QEMU=hang-done VM_OUTSIDE_LIMIT=1
expect_stopped "QEMU stopped at the VM's time limit fails the run, saying so" \
	"^hung: QEMU killed at the VM's time limit \\(80s\\)" \
	"$tmp/two.list" FAKE_QEMU=hang-done VM_OUTSIDE_LIMIT=600 FAKE_VM_LIMIT=2
expect_stopped "a guest that never boots is stopped" \
	'^hung: the guest did not reach its first test in [0-9]*s' \
	"$tmp/stuck.list" FAKE_QEMU=noboot VM_BOOT_LIMIT=1
stopped_results
expect "... QEMU stopped at the time limit is recorded in the run directory" "80" \
	"$(cat "$tmp/stopped-5/vm/qemu-timeout" 2>&1)"
expect "no stand-in QEMU is left running" "" "$(pgrep -a -x -f 'sleep 617')"

# Two runs in one run directory: the second waits, both complete.
echo "slow 10 sleep 2" >"$tmp/slow.list"
run "$tmp/slow.list" >"$tmp/first.out" &
first=$!
sleep 0.5
second=$(run "$tmp/slow.list")
wait "$first"
rc1=$?
if [ "$rc1" -eq 0 ] && grep -q "waiting for another test VM run in $tmp/vm" <<<"$second" &&
	grep -q '^vm: 1 passed, 0 failed' "$tmp/first.out" &&
	grep -q '^vm: 1 passed, 0 failed' <<<"$second"; then
	ok "a second run in the same directory waits for the first, saying so"
else
	not_ok "a second run in the same directory waits for the first, saying so" \
		"first (exit $rc1): $(cat "$tmp/first.out")
second: $second"
fi

# Malformed entries stop the run before anything boots.
printf 'ok 10 echo ok\nbad 10 skip=sometimes echo x\n' >"$tmp/bad.list"
expect_fail "an unknown tag stops the run, naming file and line" \
	"bad.list:2: unknown tag 'skip=sometimes'" run "$tmp/bad.list"
printf 'notimeout echo x\n' >"$tmp/bad.list"
expect_fail "a missing timeout stops the run" "bad.list:1: 'notimeout' needs a timeout" run "$tmp/bad.list"
printf 'a 10 echo x\na 10 echo y\n' >"$tmp/bad.list"
expect_fail "two tests of one name stop the run" "two tests are named a" run "$tmp/bad.list"
printf 'notags 10 allow=locked-fault\n' >"$tmp/bad.list"
expect_fail "an entry without a command stops the run" "'notags' has no command" run "$tmp/bad.list"

# The lists themselves: each loads, and docs/testing.md's "Test lists"
# names it.
sed -n '/^## Test lists$/,/^## /p' "$TOP/docs/testing.md" >"$tmp/lists.md"
for list in "$TOP"/tests/vm/*.list "$TOP"/tests/bench/*.list "$TOP"/tests/mutants/*.list; do
	rel=${list#"$TOP"/}
	check "$rel loads" bash -c '. "$1/scripts/lib.sh" && load_test_list "$2" && [ ${#TL_NAME[@]} -gt 0 ]' _ "$TOP" "$list"
	check "docs/testing.md's Test lists names $rel" grep -qF "\`$rel\`" "$tmp/lists.md"
done

finish vm-run
