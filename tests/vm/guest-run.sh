#!/bin/sh
# Runs inside the test VM (busybox sh): executes each test of
# /kvmlock/tests.list ("<name> <timeout> <command...>", written by
# tests/vm/run.sh) with its own timeout, keeps its output in
# /kvmlock/results/<name>.log and its exit status in <name>.rc, and prints
# markers on the console for the host runner (tests/vm/report.sh, and the
# host watchdog tests/vm/watchdog.sh).
#
# <name>.rc holds "<exit status> <start> <end> <taint before> <taint after>
# <debug_locks before> <after>": uptimes, the kernel's taint flags
# (/proc/sys/kernel/tainted: a WARN, an oops, a bad page, a soft lockup
# taint it) and, on a kernel with lockdep, its debug_locks (0 once lockdep
# has turned itself off after a report; "-" without lockdep), so that the
# host sees them even when the console lost the line.
#
# Each test runs in a session of its own (setsid). When it ends, whatever is
# left in that session (a bpftrace in the background, a forked VMM, the
# timeout's watcher) is killed, and named at the end of its log, so that
# nothing of one test runs into the next. KVMLOCK_PAYLOAD (default
# /kvmlock) lets the host test tests/host/test_guest_run.sh run it.
cd "${KVMLOCK_PAYLOAD:-/kvmlock}" || exit 1
mkdir -p results

# Kill (SIGKILL) every live process of session $1 and print " <pid>(<comm>)"
# for each. Repeats while any is left (a fork racing the kill, one still
# dying), at most 10 rounds; one that cannot die (D state) is printed once.
kill_session() {
	ks_sid=$1 ks_round=0 ks_all='' ks_live=x
	while [ -n "$ks_live" ] && [ $ks_round -lt 10 ]; do
		ks_live=
		for ks_stat in /proc/[0-9]*/stat; do
			ks_line=
			read -r ks_line 2>/dev/null <"$ks_stat" || continue
			# pid (comm) state ppid pgrp session ...: comm may hold spaces.
			ks_comm=${ks_line#*\(}
			ks_comm=${ks_comm%\)*}
			# shellcheck disable=SC2086 # split the fields on purpose
			set -- ${ks_line##*\) }
			if [ "${4:-}" != "$ks_sid" ] || [ "$1" = Z ]; then continue; fi
			ks_pid=${ks_stat#/proc/}
			ks_pid=${ks_pid%/stat}
			kill -KILL "$ks_pid" 2>/dev/null || continue
			ks_live=x
			case $ks_all in *" $ks_pid("*) ;; *) ks_all="$ks_all $ks_pid($ks_comm)" ;; esac
		done
		[ -z "$ks_live" ] || sleep 0.2
		ks_round=$((ks_round + 1))
	done
	printf '%s' "$ks_all"
}

# "<taint flags> <debug_locks>", "-" for what the kernel does not show.
kernel_state() {
	st_taint=$(cat /proc/sys/kernel/tainted 2>/dev/null)
	st_locks=$(sed -n 's/^ *debug_locks: *//p' /proc/lockdep_stats 2>/dev/null)
	echo "${st_taint:--} ${st_locks:--}"
}

echo "KVMLOCK-BOOTED uptime=$(cut -d' ' -f1 /proc/uptime)"
while read -r name limit cmd; do
	case $name in '' | '#'*) continue ;; esac
	safe=$(echo "$name" | tr / _)
	echo "KVMLOCK-TEST-BEGIN $name"
	before=$(kernel_state)
	start=$(cut -d' ' -f1 /proc/uptime)
	# In the background, so not a process group leader: setsid makes the
	# new session in place, and its pid is the session id.
	# shellcheck disable=SC2016 # expanded by the inner sh
	setsid sh -c 'exec timeout -s KILL "$0" sh -c "exec $1"' "$limit" "$cmd" \
		>"results/$safe.log" 2>&1 </dev/null &
	pid=$!
	wait "$pid" 2>/dev/null
	rc=$?
	end=$(cut -d' ' -f1 /proc/uptime)
	left=$(kill_session "$pid")
	if [ -n "$left" ]; then
		echo "guest-run: killed what the test left running:$left" >>"results/$safe.log"
	fi
	after=$(kernel_state)
	echo "$rc $start $end ${before% *} ${after% *} ${before#* } ${after#* }" >"results/$safe.rc"
	echo "KVMLOCK-TEST-END $name rc=$rc"
done <tests.list
sync
echo "KVMLOCK-ALL-DONE"
