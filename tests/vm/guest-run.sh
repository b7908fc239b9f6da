#!/bin/sh
# Runs inside the test VM (busybox sh): executes each test of
# /kvmlock/tests.list ("<name> <timeout> <command...>") with its own timeout,
# keeps its output in /kvmlock/results/<name>.log and its exit status in
# <name>.rc, and prints markers on the console for the host runner.
cd /kvmlock || exit 1
mkdir -p results
echo "KVMLOCK-BOOTED uptime=$(cut -d' ' -f1 /proc/uptime)"
while read -r name limit cmd; do
	case $name in '' | '#'*) continue ;; esac
	safe=$(echo "$name" | tr / _)
	echo "KVMLOCK-TEST-BEGIN $name"
	start=$(cut -d' ' -f1 /proc/uptime)
	# shellcheck disable=SC2086 # the command line is split on purpose
	timeout -s KILL "$limit" sh -c "exec $cmd" >"results/$safe.log" 2>&1 </dev/null
	rc=$?
	end=$(cut -d' ' -f1 /proc/uptime)
	echo "$rc $start $end" >"results/$safe.rc"
	echo "KVMLOCK-TEST-END $name rc=$rc"
done <tests.list
sync
echo "KVMLOCK-ALL-DONE"
