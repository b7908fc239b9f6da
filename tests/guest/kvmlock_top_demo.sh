#!/bin/sh
# make demo: a VMM with two VMs locks and unlocks memslots over a few
# seconds, one LOCK is refused by RLIMIT_MEMLOCK, and kvmlock-top reports
# it every second: in batch output to the log, and on its interactive
# screen in a tmux pane, saved as frames that make demo shows live when it
# runs on a terminal. The checks only say that it ran and saw the two VMs.
. "$(dirname "$0")/lib.sh"
kvmlock_top_setup kvmlock-top-demo

$TOOL -b 1 >$D/top.txt 2>$D/top.err &
tool=$!
# The interactive screen too, in a tmux pane whose text is saved every
# half second as frame-NNNN.txt in the results, where make demo shows it
# live on a terminal (tests/demo.sh).
FRAMES=$P/results/kvmlock-top-demo-screen
T="tmux -L kvmlock-demo -f /dev/null"
rm -rf $FRAMES
mkdir -p $FRAMES
tmux_ready
$T new-session -d -s demo -x 80 -y 24 "$TOOL -S 1; echo EXIT=\$?; sleep 1000"
(
	n=0
	while $T has-session -t demo 2>/dev/null; do
		f=$(printf 'frame-%04d.txt' $n)
		$T capture-pane -p -t demo >$FRAMES/.tmp 2>/dev/null &&
			mv $FRAMES/.tmp $FRAMES/$f
		n=$((n + 1))
		sleep 0.5
	done
) &
mirror=$!
sleep 2

# One command a second or so, as a VMM setting up and tearing down guests.
mkfifo $D/w.in
$WL <$D/w.in >$D/w.out 2>&1 &
wl=$!
exec 3>$D/w.in
send() { # COMMAND...: send them, wait for their replies
	for c in "$@"; do echo "$c" >&3; done
	want=$(($(cat $D/sent 2>/dev/null || echo 0) + $#))
	echo $want >$D/sent
	i=0
	while [ "$(wc -l <$D/w.out)" -lt $want ] && [ $i -lt 600 ]; do
		sleep 0.05
		i=$((i + 1))
	done
}
send "vm web" "vm db" "slot web 1 4096" "slot web 2 1024" "slot db 1 8192" \
	"slot db 2 512" "lock web 1 rw" "sleep 1000" "lock db 1 rw" "sleep 1000" \
	"lock web 2 r"
# What one more kvmlock-top, started now, sees: each slot, and as JSON.
$TOOL -b -S 1 1 >$D/slots.txt 2>&1
$TOOL -j -S 1 1 >$D/one.json 2>&1
send "sleep 1000" "rlimit $((13312 * PAGE))" "lock db 2 rw" \
	"sleep 1000" "unlock web 2" "sleep 1000" "unlockall db" "sleep 1000" \
	"close db" "sleep 1500"
echo exit >&3
exec 3>&-
wait $wl
sleep 1.5
kill -INT $tool
wait $tool
rc=$?
$T send-keys -t demo q
i=0
while ! $T capture-pane -p -t demo | grep -q "^EXIT=" && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
screen_rc=$($T capture-pane -p -t demo | sed -n 's/^EXIT=//p')
$T kill-server
wait $mirror
echo "# kvmlock-workload answered:"
sed 's/^/#   /' $D/w.out
echo "# kvmlock-top -b 1:"
cat $D/top.txt
echo "# kvmlock-top -b -S 1 1, started with 3 slots locked:"
cat $D/slots.txt
echo "# kvmlock-top -j -S 1 1 | jq ., then:"
jq . $D/one.json
[ $rc = 0 ] && [ ! -s $D/top.err ]
result $? "kvmlock-top ran and stopped cleanly on SIGINT (exit $rc)"
[ -s $D/top.err ] && sed 's/^/# /' $D/top.err
grep -q "err ENOMEM" $D/w.out
result $? "one LOCK was refused by RLIMIT_MEMLOCK"
[ "$(grep -c '^ok' $D/w.out)" -ge 20 ]
result $? "the workload did the rest"
[ "$screen_rc" = 0 ]
result $? "the interactive screen ran in tmux and quit on q (exit $screen_rc)"
# At least two, one showing both VMs: how many depends on how fast
# capture-pane runs on a loaded machine (9 of a usual 20 or more, once).
frames=$(ls $FRAMES | wc -l)
[ "$frames" -ge 2 ] && grep -q "^VMs 2 " $FRAMES/frame-*.txt
result $? "$frames frames of the screen saved for make demo"
jq -e '.reconciled.seeded == 3 and ([.vms[].slots[]] | length) == 3' $D/one.json >/dev/null
result $? "the one started later saw the 3 locked slots"
jq -e '[.vms[].slots[] | .hva, .ipa_start, .ipa_end | test("^0x[0-9a-f]+$")] |
	length == 9 and all' $D/one.json >/dev/null
result $? "-j -S: each slot's hva, ipa_start and ipa_end are \"0x...\" strings, as trace has them"
exit $fail
