#!/usr/bin/env bash
# Host-side watchdog of a test VM run (started by tests/vm/run.sh):
#
#   watchdog.sh CONSOLE META PID OUT
#
# Follows the serial console CONSOLE (read as tests/vm/console.awk reads
# it: markers count wherever they sit on a line) and stops PID (the
# timeout process around QEMU, which passes SIGTERM on to QEMU and
# SIGKILLs it 5 s later) when the guest hangs:
#  - the current test (the last KVMLOCK-TEST-BEGIN without its END) has run
#    longer than its own timeout (from META: "<name> <timeout> [tags...]")
#    plus VM_WATCHDOG_SLACK seconds (default 30): OUT gets
#    "test <name> <seconds> <timeout>";
#  - the guest has not reached its first test (KVMLOCK-BOOTED) after
#    VM_BOOT_LIMIT seconds (default 120): OUT gets "boot <seconds>";
#  - it has spent VM_OUTSIDE_LIMIT seconds (default 60) outside any test:
#    after boot before its first test, between two tests, or after its
#    last test without powering off: OUT gets "outside <seconds> <limit>
#    <the last test begun, or ->".
# tests/vm/report.sh names the test from OUT. Returns when PID has ended.
set -uo pipefail

CONSOLE=${1:?usage: watchdog.sh CONSOLE META PID OUT}
META=${2:?usage: watchdog.sh CONSOLE META PID OUT}
PID=${3:?usage: watchdog.sh CONSOLE META PID OUT}
OUT=${4:?usage: watchdog.sh CONSOLE META PID OUT}
SLACK=${VM_WATCHDOG_SLACK:-30}
BOOT_LIMIT=${VM_BOOT_LIMIT:-120}
OUTSIDE_LIMIT=${VM_OUTSIDE_LIMIT:-60}
POLL=${VM_WATCHDOG_POLL:-2}

declare -A limit
while read -r name lim _; do
	case $name in '' | '#'*) continue ;; esac
	limit[$name]=$lim
done <"$META"

stop() { # what to record
	echo "$1" >"$OUT"
	echo "watchdog: $1: stopping QEMU" >&2
	kill -TERM "$PID" 2>/dev/null
	exit 0
}

started=$SECONDS current='' since=0
while kill -0 "$PID" 2>/dev/null; do
	# "<booted 0|1> <tests begun> <current test or -> <last begun or ->"
	read -r booted begun test last < <(tr -d '\r' <"$CONSOLE" 2>/dev/null |
		awk -v meta="$META" -v mode=state -f "$(dirname "$0")/console.awk")
	now=$SECONDS
	if [ "${booted:-0}" = 0 ]; then
		[ $((now - started)) -le "$BOOT_LIMIT" ] || stop "boot $((now - started))"
	else
		if [ "$begun $test" != "$current" ]; then
			current="$begun $test"
			since=$now
		fi
		if [ "$test" = - ]; then
			[ $((now - since)) -le "$OUTSIDE_LIMIT" ] ||
				stop "outside $((now - since)) $OUTSIDE_LIMIT $last"
		else
			lim=${limit[$test]:-}
			if [ -n "$lim" ] && [ $((now - since)) -gt $((lim + SLACK)) ]; then
				stop "test $test $((now - since)) $lim"
			fi
		fi
	fi
	sleep "$POLL"
done
