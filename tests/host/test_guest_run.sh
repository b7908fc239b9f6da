#!/usr/bin/env bash
# tests/vm/guest-run.sh (the test VM's runner) on the host, with the host's
# sh, setsid and timeout in place of busybox's, on a payload of small tests:
#  - markers in order, exit status, times and the kernel's taint flags and
#    debug_locks in <name>.rc, output in .log;
#  - a test over its timeout is killed (137);
#  - what a test leaves running (a background sleep, a child in a session
#    of the test's) is killed when the test ends, and named in its log.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/lib.sh"

p=$tmp/payload
mkdir -p "$p/scripts"
cat >"$p/scripts/leaves.sh" <<'EOF'
sleep 300 &
echo "left $!"
sh -c 'sleep 301 & echo "left $!"; wait'  &
sleep 0.3
exit 0
EOF
cat >"$p/scripts/fails.sh" <<'EOF'
echo "about to fail"
exit 3
EOF
cat >"$p/tests.list" <<'EOF'
leaves 10 sh scripts/leaves.sh
fails 10 sh scripts/fails.sh
slow 1 sleep 30
dir/passes 10 echo "quoted  words"
EOF
out=$(KVMLOCK_PAYLOAD=$p sh "$TOP/tests/vm/guest-run.sh" 2>&1)
expect "markers in order" "KVMLOCK-BOOTED
KVMLOCK-TEST-BEGIN leaves
KVMLOCK-TEST-END leaves rc=0
KVMLOCK-TEST-BEGIN fails
KVMLOCK-TEST-END fails rc=3
KVMLOCK-TEST-BEGIN slow
KVMLOCK-TEST-END slow rc=137
KVMLOCK-TEST-BEGIN dir/passes
KVMLOCK-TEST-END dir/passes rc=0
KVMLOCK-ALL-DONE" "$(sed 's/ uptime=.*//' <<<"$out")"
expect "exit statuses and uptimes in .rc" "0 3 137 0" \
	"$(for t in leaves fails slow dir_passes; do
		awk '$2 ~ /^[0-9.]+$/ && $3 >= $2 { printf "%s ", $1 }' "$p/results/$t.rc"
	done | sed 's/ $//')"
# This host's taint flags, and its lockdep's debug_locks when it has one.
taint=$(cat /proc/sys/kernel/tainted)
locks=$(sed -n 's/^ *debug_locks: *//p' /proc/lockdep_stats 2>/dev/null)
expect "the kernel's taint flags and debug_locks before and after, in .rc" \
	"$taint $taint ${locks:--} ${locks:--}" "$(cut -d' ' -f4- "$p/results/fails.rc")"
expect "output in .log (a name with / becomes _)" "quoted  words" "$(cat "$p/results/dir_passes.log")"
expect "a failing test's output" "about to fail" "$(cat "$p/results/fails.log")"

mapfile -t left < <(sed -n 's/^left //p' "$p/results/leaves.log")
# Alive: there, and not a zombie waiting for its new parent to reap it.
alive=
for pid in "${left[@]}"; do
	state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
	if [ -n "$state" ] && [ "$state" != Z ]; then alive+=" $pid($state)"; kill "$pid"; fi
done
if [ ${#left[@]} -eq 2 ] && [ -z "$alive" ]; then
	ok "what a test leaves running is killed when it ends"
else
	not_ok "what a test leaves running is killed when it ends" \
		"left: ${left[*]}; still alive:$alive"
fi
if grep -qE "^guest-run: killed what the test left running:.* ${left[0]:-x}\(sleep\)" "$p/results/leaves.log"; then
	ok "and named at the end of its log"
else
	not_ok "and named at the end of its log" "$(cat "$p/results/leaves.log")"
fi
if grep -q "guest-run:" "$p/results/fails.log"; then
	not_ok "a test that leaves nothing gets no note" "$(cat "$p/results/fails.log")"
else
	ok "a test that leaves nothing gets no note"
fi

finish guest-run
