#!/bin/sh
# kvmlock-top's interactive screen, used as a person would: in a real
# terminal (tmux, 80x24) while two VMMs (kvmlock-workload) hold three
# locked memslots, one of them refused a lock by RLIMIT_MEMLOCK. Keys are
# typed with send-keys and the pane is read with capture-pane after each:
#   - the first screen: header, totals, one row per VM with its figures,
#     the key hint on the last line, nothing wider than 80 columns;
#   - s (sort key), r (reverse), p PID Enter (one VMM) and p Enter, d
#     (slot rows), + and - (interval), h (help and back), z (FAILS zeroed
#     from the next interval on, --prom-file's counters not), a lock made
#     while it runs shows up;
#   - a resize to 100x30 redraws at the new size;
#   - no flicker: the screen is cleared once, at start (tmux pipe-pane
#     keeps every byte the tool wrote);
#   - q, SIGTERM, and a fatal error (the --prom-file directory removed
#     under it: a warning on the screen at each failed write, the fifth in
#     a row ends it) each give the terminal back: no alternate screen,
#     cursor shown, keypad off, the shell runs what is typed; the fatal
#     error is one line after the screen is gone, exit 1.
# Each step's pane is kept in results/kvmlock-top-screen/ (the docs quote
# them).
. "$(dirname "$0")/lib.sh"
kvmlock_top_setup kvmlock-top-screen
OUT=$P/results/kvmlock-top-screen
T="tmux -L kvmlock-screen -f /dev/null"
rm -rf $OUT
mkdir -p $OUT

# The tmux server is a daemon, in a session of its own.
fail_cleanup() { $T kill-server 2>/dev/null; }

tmux_ready

# VMM a: VM "a", slots 1 (64 pages, rw) and 2 (32, r). VMM b: VM "b",
# slot 1 (16, r), and, once the screen is up, a lock refused by
# RLIMIT_MEMLOCK. Commands go through a FIFO; each waits for its reply.
start a 3
start b 4
for c in "vm a" "slot a 1 64" "slot a 2 32" "slot a 3 8" "lock a 1 rw" "lock a 2 r"; do
	cmd a "$c"
done
for c in "vm b" "slot b 1 16" "slot b 2 64" "lock b 1 r" "rlimit $((32 * PAGE))"; do
	cmd b "$c"
done
[ "$(grep -c '^ok' $D/a.out) $(grep -c '^ok' $D/b.out)" = "6 5" ]
result $? "two VMMs ($pid_a, $pid_b): 3 memslots locked"

# The pane as text, and as what the tool wrote
pane() { $T capture-pane -p -t top; }
# waits until the pane matches the extended regexp $1 (10 s)
wait_pane() {
	i=0
	while ! pane | grep -qE -- "$1"; do
		i=$((i + 1))
		[ $i -gt 200 ] && return 1
		sleep 0.05
	done
}
# waits, as wait_pane, until the shell condition $1 holds: a status line
# can be on the pane before the rows under it are redrawn
wait_cond() {
	i=0
	while ! eval "$1"; do
		i=$((i + 1))
		[ $i -gt 200 ] && return 1
		sleep 0.05
	done
}
# keeps the pane of step $1
keep() { pane >$OUT/$1.txt; }
# the row of VM id $1: "<id> <pid> ..."
row() { pane | awk -v vm="$1" '$1 == vm && $2 ~ /^[0-9]+$/'; }
# the pid of the kvmlock-top running in the pane (busybox has no pkill)
tool_pid() { grep -lx kvmlock-top /proc/[0-9]*/comm 2>/dev/null | cut -d/ -f3; }
terminal_restored() {
	[ "$($T display -p -t top '#{alternate_on} #{cursor_flag} #{keypad_flag}')" = "0 1 0" ]
}

vm_a=$(sed -n 's/^ok vm=\([0-9]*\) .*/\1/p' $D/a.out)
vm_b=$(sed -n 's/^ok vm=\([0-9]*\) .*/\1/p' $D/b.out)
if ! $T new-session -d -s top -x 80 -y 24 "cd $D; PS1='$ ' exec sh"; then
	result 1 "tmux starts a session"
	summary
	exit 1
fi
$T pipe-pane -t top -o "cat >$D/raw"
# before the tool starts: it refuses a --prom-file directory that is not there
mkdir -p $D/prom
$T send-keys -t top "$TOOL --prom-file $D/prom/top.prom 1; echo EXIT=\$?" Enter
wait_pane "VMs 2 +slots 3"
result $? "the screen comes up: VMs 2, slots 3"
sleep 1.2
keep 0-start
ra=$(row "$vm_a")
rb=$(row "$vm_b")
echo "# VM a: $ra"
echo "# VM b: $rb"
pane | head -n 1 | grep -qE "^kvmlock-top  [0-9-]+T[0-9:]+.*  every 1s  sort pages desc$"
result $? "header: time, interval 1 s, sort pages desc"
# VM PID COMM SLOTS LOCKED VMLCK LIMIT USE% LOCKS FAILS P99
echo "$ra" | awk -v p="$pid_a" -v k=$((96 * PAGE / 1024)) '
	$2 == p && $3 ~ /^kvmlock-wo/ && $4 == 2 && $5 == k "K" && $9 == 0 && $10 == 0 { ok = 1 }
	END { exit !ok }'
result $? "VM a's row: pid, comm, 2 slots, $((96 * PAGE / 1024))K locked, no lock this interval, no failure"
echo "$rb" | awk -v p="$pid_b" -v k=$((16 * PAGE / 1024)) -v l=$((32 * PAGE / 1024)) '
	$2 == p && $4 == 1 && $5 == k "K" && $7 == l "K" && $8 == "50.0" && $10 == 0 { ok = 1 }
	END { exit !ok }'
result $? "VM b's row: 1 slot, $((16 * PAGE / 1024))K locked, limit $((32 * PAGE / 1024))K, 50.0 %"
[ "$(pane | awk 'NR == 1 { first = $1 } /^ *[0-9]+ +[0-9]+ / { print $1 }' | paste -sd' ')" = "$vm_a $vm_b" ]
result $? "sorted by pages, largest first: VM $vm_a then $vm_b"
pane | tail -n 1 | grep -q "^h help  q quit  s sort  r reverse  p pid  d slots  +/- interval  z zero"
result $? "the key hint is on the last line"
[ "$(pane | wc -l)" = 24 ] && [ "$(pane | awk 'length > 80' | wc -l)" = 0 ]
result $? "24 lines, none over 80 columns"

# A LOCK refused by RLIMIT_MEMLOCK while it runs, at a 3 s interval: the
# screen of the lock's interval (LOCKS 1) shows for 3 s, which the reads
# below do not miss on a loaded machine as they could miss a 1 s one.
$T send-keys -t top + +
wait_pane "every 3s"
cmd b "lock b 2 rw"
grep -q "^err ENOMEM" $D/b.out
result $? "VMM b's LOCK of 64 pages is refused (ENOMEM)"
# One read of the row for both columns: a second read may already show the
# next interval.
i=0
r=$(row "$vm_b")
while [ "$(echo "$r" | awk '{ print $10 }')" != 1 ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
	r=$(row "$vm_b")
done
[ "$(echo "$r" | awk '{ print $9, $10 }')" = "1 1" ]
result $? "... VM b's row: LOCKS 1 in that interval, FAILS 1"
keep 1-refused
$T send-keys -t top - -
wait_pane "every 1s"

order() { pane | awk '/^ *[0-9]+ +[0-9]+ / { print $1 }' | paste -sd' '; }
$T send-keys -t top s
wait_pane "sort slots desc"
result $? "s: the next sort key, slots"
keep 2-sort-slots
wait_cond '[ "$(order)" = "$vm_a $vm_b" ]'
result $? "... VM $vm_a (2 slots) first"
$T send-keys -t top r
wait_pane "sort slots asc" && wait_cond '[ "$(order)" = "$vm_b $vm_a" ]'
result $? "r: reversed, VM $vm_b (1 slot) first"
keep 3-reverse
$T send-keys -t top p
wait_pane "^pid: _"
result $? "p: a pid prompt on the last line"
$T send-keys -t top "$pid_b" Enter
wait_pane "  pid $pid_b\$" && wait_cond '[ "$(order)" = "$vm_b" ]'
result $? "p $pid_b Enter: only VMM $pid_b's VM"
keep 4-pid
$T send-keys -t top p Enter
wait_pane "every VM" && wait_cond '[ "$(order)" = "$vm_b $vm_a" ]'
result $? "p Enter: every VM again"
$T send-keys -t top d
wait_pane "IPA-START"
result $? "d: a row per locked memslot"
keep 5-slots
[ "$(pane | grep -cE '^ +[0-9]+ +0x[0-9a-f]+ +0x[0-9a-f]+ ')" = 3 ]
result $? "... the 3 locked memslots"
$T send-keys -t top d
wait_pane "^h help" && ! pane | grep -q IPA-START
result $? "d again: no slot rows"
$T send-keys -t top +
wait_pane "every 2s"
result $? "+: every 2 s"
$T send-keys -t top -
wait_pane "every 1s"
result $? "-: every 1 s"
$T send-keys -t top h
wait_pane "^Keys"
result $? "h: the help"
keep 6-help
for k in "q " "s " "r " "p " "d " "+ -" "z " "h ?"; do
	pane | grep -q "^  $k" || { echo "# no help line for '$k'"; false; } || break
done
result $? "the help names every key"
$T send-keys -t top h
wait_pane "^h help" && ! pane | grep -q "^Keys"
result $? "h again: the table"

# A lock while it runs
cmd a "lock a 3 rw"
wait_pane "VMs 2 +slots 4"
result $? "a lock made while it runs: slots 4"
# z: VM b's FAILS counts from now on; the exported counter does not
prom_fails_b() {
	sed -n "s/^kvmlock_lock_operations_total{vm=\"$vm_b\",.*result=\"failed\"} //p" \
		$D/prom/top.prom
}
fails_b=$(prom_fails_b)
$T send-keys -t top z
wait_pane "counters zeroed"
result $? "z: counters zeroed"
sleep 2.2
keep 7-zeroed
[ "$(row "$vm_b" | awk '{ print $10 }')" = 0 ]
result $? "... VM b's FAILS is 0 from the next interval"
[ "${fails_b:-0}" -gt 0 ] && [ "$(prom_fails_b)" = "$fails_b" ]
result $? "... its exported failed LOCKs stay $fails_b (--prom-file: $(prom_fails_b))"

# No flicker: after the first frame, ncurses only rewrites what changed.
# The terminal's clear-screen (\E[H\E[J) must appear once, at start,
# whatever the keys did (help, slot rows, sort, filter) over 20 s.
clears=$(od -An -c $D/raw | tr -d ' \n' | grep -o '033\[H033\[J' | wc -l)
[ "$clears" -eq 1 ]
result $? "no flicker: the screen was cleared $clears time(s) in $(wc -c <$D/raw) bytes written"

$T resize-window -t top -x 100 -y 30
sleep 1.5
keep 8-resized
[ "$(pane | wc -l)" = 30 ] && pane | tail -n 1 | grep -q "^h help" &&
	pane | head -n 1 | grep -q "^kvmlock-top"
result $? "resized to 100x30: redrawn, the key hint on line 30"

$T send-keys -t top q
wait_pane "^EXIT=0"
result $? "q: exit 0"
keep 9-quit
terminal_restored
result $? "... the terminal is restored (no alternate screen, cursor on, keypad off)"
$T send-keys -t top "echo typed-\$((6 * 7))" Enter
wait_pane "^typed-42"
result $? "... the shell runs what is typed"
[ -s $D/prom/top.prom ]
result $? "... --prom-file was written meanwhile"

# SIGTERM
$T send-keys -t top clear Enter "$TOOL 1; echo EXIT=\$?" Enter
wait_pane "VMs 2 +slots 4"
kill -TERM "$(tool_pid)"
wait_pane "^EXIT=0"
result $? "SIGTERM: exit 0"
terminal_restored
result $? "... the terminal is restored"

# A fatal error under the screen: --prom-file's directory goes away. Each
# failed write is a warning on the status line, and 5 in a row end it.
mkdir -p $D/gone
$T send-keys -t top clear Enter "$TOOL --prom-file $D/gone/x.prom 1; echo EXIT=\$?" Enter
wait_pane "VMs 2 +slots 4"
rm -rf $D/gone
wait_pane "^warning: --prom-file write failed, 1 in a row \(5 end it\): cannot write"
result $? "the --prom-file directory removed: a warning on the screen"
keep 10-warning
wait_pane "^EXIT=1"
result $? "... 5 failed writes in a row: exit 1"
keep 11-fatal
# (-J: the line as written, not as the 80 columns wrap it)
$T capture-pane -p -J -t top | grep -B1 "^EXIT=1" | head -n 1 |
	grep -q "^kvmlock-top: cannot write $D/gone/x.prom: .* (5 times in a row)$"
result $? "... its message, one line, after the screen is gone"
terminal_restored
result $? "... the terminal is restored"

$T kill-server
echo exit >&3
echo exit >&4
exec 3>&- 4>&-
wait
for f in $OUT/*.txt; do
	echo "# $(basename "$f"):"
	sed 's/^/#   /' "$f"
done
summary
exit $fail
