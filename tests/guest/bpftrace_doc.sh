#!/bin/sh
# Every bpftrace one-liner of docs/bpftrace.md, run as the doc gives it while
# kselftest/memslot_lock_workload runs its known sequence of lock operations,
# and its output checked exactly; the one-liners that give the workload the
# same options watch one run of it, four at a time. The "<!-- test: ID
# [workload options] -->" line above each one-liner names its check below;
# a one-liner without one, or an ID without a check, fails.
DOC=/kvmlock/docs/bpftrace.md
W=/kvmlock/kselftest/memslot_lock_workload
. "$(dirname "$0")/lib.sh"

# id, workload options and command, one per line: "id|options|command".
awk '
/^<!-- test: / { n = split($0, w, " "); id = w[3]; opts = ""
	for (i = 4; i < n; i++) opts = opts (opts ? " " : "") w[i]; next }
/^bpftrace -e / { print (id ? id : "NO-TEST-MARKER") "|" opts "|" $0; id = "" }
' $DOC >/tmp/oneliners.txt
total=$(grep -c '^bpftrace -e ' $DOC)
marked=$(grep -vc '^NO-TEST-MARKER|' /tmp/oneliners.txt)
[ "$total" -ge 8 ] && [ "$marked" = "$total" ]
result $? "docs/bpftrace.md has $total one-liners (at least 8), each with a test marker"

# Each pid's kvm_memslot_* tracepoints, as bpftool shows them once attached
# ("pid PID  fd N: prog_id N  tracepoint  kvm_memslot_..."), in $1.
perf_show() {
	bpftool perf show >"$1" 2>/dev/null
}
attached() { # pid, perf_show's file
	grep "^pid $1 " "$2" | grep -c 'tracepoint  kvm_memslot_'
}

hist_totals() { # "@map[key]: total" for each histogram in the output
	awk '/^@.*: *$/ { key = $0; sub(/: *$/, "", key); next }
	/^\[/ { line = $0; sub(/^[^])]*[])] */, "", line); split(line, f, " "); t[key] += f[1] }
	END { for (k in t) print k ": " t[k] }' "$1" | sort
}

verify() { # id, output file, workload pid
	id=$1 out=$2 pid=$3
	case $id in
	pages-per-vm)
		[ "$(grep '^@pages_locked' "$out")" = "$(grep -x "@pages_locked\[$pid, [0-9]*\]: 208" "$out")" ] &&
			[ "$(grep -c '^@pages_locked' "$out")" = 1 ] ;;
	live-slots)
		grep -qx "@locked\[$pid, [0-9]*, 1\]: 64" "$out" ;;
	latency-hist)
		[ "$(hist_totals "$out" | tr '\n' ' ')" = "@lock_us[-12]: 1 @lock_us[-16]: 1 @lock_us[0]: 4 " ] ;;
	latency-pair)
		[ "$(hist_totals "$out")" = "@lock_latency_us: 6" ] ;;
	account-failures)
		[ "$(grep -c '^pid ' "$out")" = 1 ] &&
			grep -qx "pid $pid vm [0-9]* slot 2: 16 pages refused: 64 locked, limit 72, CAP_IPC_LOCK 0, error -12" "$out" ;;
	unlocks-by-reason)
		[ "$(grep '^@' "$out" | sort | tr '\n' ' ')" = "@unlocks_by_reason[0]: 2 @unlocks_by_reason[1]: 1 @unlocks_by_reason[2]: 1 " ] ;;
	slowest-locks)
		[ "$(grep '^@' "$out" | sed 's/\]: [0-9]*$/]/' | sort | tr '\n' ' ')" = \
			"@slowest_us[$pid, 1, -16] @slowest_us[$pid, 1, 0] @slowest_us[$pid, 2, -12] @slowest_us[$pid, 2, 0] " ] ;;
	pin-vs-map)
		grep -q '^@pin_ns: count 4, average [1-9][0-9]*, total [1-9][0-9]*$' "$out" &&
			grep -q '^@map_ns: count 4, average [1-9][0-9]*, total [1-9][0-9]*$' "$out" ;;
	errors)
		[ "$(grep '^@' "$out" | sort | tr '\n' ' ')" = \
			"@lock_errors[$pid, 1, -16]: 1 @lock_errors[$pid, 2, -12]: 1 @unlock_errors[$pid, 2, -22]: 1 " ] ;;
	unpinned-pages)
		[ "$(grep '^@' "$out")" = "@unpinned_pages[$pid, 1]: 208" ] ;;
	run-waits)
		# The workload runs its vCPU twice around a reset; with FWB
		# (-cpu max) only the first run has work: first-run (1).
		[ "$(grep -c '^@' "$out")" = 2 ] &&
			grep -qx "@run_waits\[$pid, [0-9]*, 1\]: 1" "$out" &&
			grep -qx "@longest_wait_us\[$pid, [0-9]*\]: [0-9]*" "$out" ;;
	pin-retries)
		[ "$(grep '^@' "$out" | sed 's/, [0-9]*, /, VM, /' | sort | tr '\n' ' ')" = \
			"@batches_pinned_again[$pid, VM, 1]: 0 @batches_pinned_again[$pid, VM, 2]: 0 " ] ;;
	*)
		echo "# no check for one-liner $id"
		false ;;
	esac
}

# One-liners that give the workload the same options watch one run of it
# together, up to 4 (memory: a bpftrace holds LLVM), each as if alone (its
# checks are about the workload's pid and VMs; nothing else locks
# meanwhile): started at once, since each bpftrace's start (over 10 s of
# CPU under TCG) keeps one vCPU busy; the workload run once every one is
# attached (or 60 s, and 15 s more for each one-liner, have passed); each
# stopped with Ctrl-C and its output checked. Groups in doc order of their
# first one-liner; /tmp/oneliners.txt gets each one's group first.
awk -F'|' '{ n = seen[$2]++; print int(n / 4) "/" $2 "|" $0 }' /tmp/oneliners.txt >/tmp/grouped.txt
cut -d'|' -f1 /tmp/grouped.txt | awk '!seen[$0]++' >/tmp/groups.txt
rm -f /tmp/attached-* /tmp/stopped-*
g=0
while IFS= read -r group; do
	g=$((g + 1))
	gopts=${group#*/}
	: >/tmp/group.txt
	while IFS='|' read -r grp id opts cmd; do
		[ "$grp" = "$group" ] || continue
		probes=$(echo "$cmd" | grep -o 'tracepoint:kvm:kvm_memslot_[a-z_]*' | wc -l)
		sh -c "exec $cmd" </dev/null >/tmp/bpftrace-$id.txt 2>&1 &
		echo "$id $! $probes" >>/tmp/group.txt
	done </tmp/grouped.txt
	limit=$((120 + 30 * $(wc -l </tmp/group.txt)))
	i=0
	while :; do
		perf_show /tmp/perf-show.txt
		pending=0
		while read -r id bt probes; do
			[ -e /tmp/attached-$id ] && continue
			kill -0 $bt 2>/dev/null || continue
			if [ "$(attached $bt /tmp/perf-show.txt)" = "$probes" ]; then
				echo $((i / 2)) >/tmp/attached-$id
			else
				pending=$((pending + 1))
			fi
		done </tmp/group.txt
		[ $pending = 0 ] || [ $i -ge $limit ] && break
		sleep 0.5
		i=$((i + 1))
	done
	$W $gopts </dev/null >/tmp/workload-$g.txt 2>&1
	rc=$?
	pid=$(sed -n 's/^pid \([0-9]*\)$/\1/p' /tmp/workload-$g.txt)
	# Ctrl-C, as a user stops it. Bounded: one CI run saw a bpftrace that
	# never exited after it (nothing on the console), which hung the whole
	# test; a second SIGINT is sent after 20 s, and a bpftrace alive 20 s
	# after that is killed and fails the one-liner.
	for sig in INT INT KILL; do
		alive=
		while read -r id bt probes; do
			kill -0 $bt 2>/dev/null || continue
			kill -$sig $bt 2>/dev/null
			alive="$alive $id:$bt"
		done </tmp/group.txt
		[ -n "$alive" ] || break
		i2=0
		while [ $i2 -lt 40 ]; do
			left=0
			for a in $alive; do kill -0 ${a#*:} 2>/dev/null && left=1; done
			[ $left = 0 ] && break
			sleep 0.5
			i2=$((i2 + 1))
		done
		for a in $alive; do
			kill -0 ${a#*:} 2>/dev/null || continue
			echo x >>/tmp/stopped-${a%%:*}
			echo "# one-liner ${a%%:*}: bpftrace still running 20 s after SIG$sig"
		done
	done
	while read -r id bt probes; do
		wait $bt
		out=/tmp/bpftrace-$id.txt
		stopped=$(cat /tmp/stopped-$id 2>/dev/null | wc -l)
		[ $rc = 0 ] && [ $stopped -lt 2 ] && verify "$id" "$out" "$pid"
		ok=$?
		att="attached after $(cat /tmp/attached-$id 2>/dev/null)s"
		[ -e /tmp/attached-$id ] || att="never attached"
		result $ok "one-liner $id ($att, workload pid $pid)"
		grep -v '^Attaching\|^$' "$out" | sed 's/^/#   /'
		[ $ok = 0 ] || sed 's/^/#   /' /tmp/workload-$g.txt
	done </tmp/group.txt
done </tmp/groups.txt
exit $fail
