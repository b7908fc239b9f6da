#!/bin/sh
# kvmlock-top --pin and --keep-pinned, read with the real bpftool. While
# kvmlock-top --pin runs, a VMM (kvmlock-workload) locks two memslots of a
# VM, one R and one RW; then:
#   - bpftool map dump pinned /sys/fs/bpf/kvmlock/{slots,vm_stats,counters}
#     decodes (BTF) exactly what the workload did;
#   - bpftool prog show lists the nine programs by their events' names;
#   - a second kvmlock-top --pin is refused (one line, exit 1) and the
#     first one is unharmed;
#   - a slot's entry deleted with bpftool (a lost event): after 3 reports
#     that differ from the kernel the tool reads the VM anew, with one
#     warning, and its reports agree again;
#   - on SIGINT it exits 0 and /sys/fs/bpf/kvmlock is gone.
# Then kvmlock-top --keep-pinned -b 1 1: after it exits the pins are still
# there and dumpable (the kernel's locked slots, seeded at start), no
# program is left loaded, and rm -r removes them. Last, SIGHUP, SIGQUIT
# and a closed pipe (| head -n 1) end kvmlock-top --pin as SIGINT does:
# exit 0, nothing on stderr, nothing pinned.
. "$(dirname "$0")/lib.sh"
kvmlock_top_setup kvmlock-top-pin
PIN=/sys/fs/bpf/kvmlock

# kvmlock-top --pin removes its pins on SIGINT.
fail_cleanup() {
	[ -n "${tool:-}" ] && kill -INT $tool 2>/dev/null
	[ -n "${wl:-}" ] && kill $wl 2>/dev/null
}

# dump MAP: bpftool's JSON of the pinned map, each entry decoded from BTF
# (bpftool 7.1 gives the bytes, and "formatted": the decoded key and value)
dump() {
	bpftool -j map dump pinned $PIN/$1 | jq -c 'map(.formatted // .)'
}

# The nine programs' names, as bpftool shows them ("ID: TYPE  name NAME
# tag ..."), sorted. (Not through jq: 5 calls, a second or more each
# under TCG.)
PROGS="mslot_account_fail mslot_deferred_ops mslot_lock_begin mslot_lock_end mslot_map mslot_pin mslot_unlock mslot_unlock_begin mslot_unlock_end"
progs() {
	bpftool prog show | grep -o ' name mslot_[a-z_]*' | cut -d' ' -f3 | sort | tr '\n' ' ' | sed 's/ $//'
}

[ -x $TOOL ] && [ -x $WL ] || fail_now "no $TOOL or $WL in the payload"
command -v bpftool >/dev/null && command -v jq >/dev/null ||
	fail_now "bpftool and jq are in the guest"

# The guest's init mounts no bpffs.
grep -q '^[^ ]* /sys/fs/bpf bpf ' /proc/mounts || mount -t bpf bpf /sys/fs/bpf
grep -q '^[^ ]* /sys/fs/bpf bpf ' /proc/mounts
result $? "bpffs is mounted at /sys/fs/bpf"
rm -rf $PIN
[ -z "$(progs)" ] || fail_now "no kvmlock-top program loaded before the test ($(progs))"

# The VMM, driven through a FIFO: one reply line per command ($reply).
start w 3
wl=$pid_w

# Starts kvmlock-top --pin -b 1, output in $D/NAME.out and .err, its pid
# in $tool. The maps are pinned before the programs are attached: waits
# for the pins, then for the first report (attached and reconciled).
pin_start() { # NAME
	$TOOL --pin -b 1 >$D/$1.out 2>$D/$1.err &
	tool=$!
	i=0
	while [ ! -e $PIN/slots ] || [ ! -s $D/$1.out ]; do
		i=$((i + 1))
		kill -0 $tool 2>/dev/null || fail_now "kvmlock-top --pin exited at start"
		[ $i -gt 600 ] && fail_now "kvmlock-top --pin: no $PIN/slots and a report in 30 s"
		sleep 0.05
	done
}

pin_start top
got=$(ls $PIN | sort | tr '\n' ' ')
[ "$got" = "counters events slots vm_stats " ]
result $? "kvmlock-top --pin pinned counters, events, slots and vm_stats in $PIN ($got)"

# The ground truth: VM X, slot 1 of 64 pages locked RW, slot 2 of 32 R,
# at IPA 4 GiB + slot GiB (kvmlock-workload's layout).
must w "vm X"
vm=${reply#ok vm=}
vm=${vm%% *}
must w "slot X 1 64"
hva1=$((${reply#ok hva=}))
must w "slot X 2 32"
hva2=$((${reply#ok hva=}))
must w "lock X 1 rw"
must w "lock X 2 r"
echo "# VM $vm of VMM $wl: slot 1 at hva $hva1, slot 2 at hva $hva2"

# kt_slot: state 2 is LIVE, flags 1 is RW (include/kvmlock/kvmlock-top.h)
dump slots >$D/slots.json 2>$D/slots.err
got=$(jq -r --argjson vm "$vm" '[.[] | select(.key.vm == $vm)] | sort_by(.key.slot) | .[] |
	"slot=\(.key.slot) npages=\(.value.npages) flags=\(.value.flags) state=\(.value.state) pid=\(.value.pid)"' \
	$D/slots.json 2>&1)
want="slot=1 npages=64 flags=1 state=2 pid=$wl
slot=2 npages=32 flags=0 state=2 pid=$wl"
[ "$got" = "$want" ]
result $? "bpftool map dump pinned $PIN/slots: the two slots, npages, RW flag, LIVE"
[ "$got" = "$want" ] || printf '# want:\n%s\n# got:\n%s\n' "$want" "$got"
got=$(jq -r --argjson vm "$vm" '[.[] | select(.key.vm == $vm)] | sort_by(.key.slot) | .[] |
	"slot=\(.key.slot) hva=\(.value.hva) ipa=\(.value.ipa) size=\(.value.size)"' $D/slots.json 2>&1)
want="slot=1 hva=$hva1 ipa=$(((1 << 32) + (1 << 30))) size=$((64 * PAGE))
slot=2 hva=$hva2 ipa=$(((1 << 32) + (2 << 30))) size=$((32 * PAGE))"
[ "$got" = "$want" ]
result $? "bpftool map dump pinned $PIN/slots: each slot's hva, ipa and size"
[ "$got" = "$want" ] || printf '# want:\n%s\n# got:\n%s\n' "$want" "$got"

dump vm_stats >$D/vm_stats.json 2>$D/vm_stats.err
got=$(jq -r --argjson vm "$vm" '.[] | select(.key == $vm) | .value |
	"pid=\(.pid) locks_ok=\(.locks_ok) locks_failed=\(.locks_failed) unlocks=\(.unlocks) account_failures=\(.account_failures) lat_hist=\(.lat_hist | add) lock_us=\(.lock_us | add)"' \
	$D/vm_stats.json 2>&1)
want="pid=$wl locks_ok=2 locks_failed=0 unlocks=0 account_failures=0 lat_hist=2 lock_us=2"
[ "$got" = "$want" ]
result $? "bpftool map dump pinned $PIN/vm_stats: the VM's 2 locks ($got)"

dump counters >$D/counters.json 2>$D/counters.err
got=$(jq -r '.[0].value[".bss"] | map(to_entries[0]) | from_entries |
	"events_lost=\(.events_lost) map_update_errors=\(.map_update_errors) reconcile_done=\(.reconcile_done)"' \
	$D/counters.json 2>&1)
[ "$got" = "events_lost=0 map_update_errors=0 reconcile_done=1" ]
result $? "bpftool map dump pinned $PIN/counters: the .bss counters ($got)"

got=$(progs)
[ "$got" = "$PROGS" ]
result $? "bpftool prog show names the nine programs by their events"
[ "$got" = "$PROGS" ] || printf '# want: %s\n# got:  %s\n' "$PROGS" "$got"

# A second one: refused before attaching, the first one's pins untouched.
$TOOL --pin -b 1 1 >$D/second.out 2>$D/second.err
rc=$?
want="kvmlock-top: $PIN already holds pinned maps (another kvmlock-top --pin, or an earlier --keep-pinned): remove them with rm -r $PIN"
[ $rc = 1 ] && [ "$(cat $D/second.err)" = "$want" ] && [ ! -s $D/second.out ]
result $? "a second kvmlock-top --pin: exit $rc, one line: $(cat $D/second.err)"
dump slots >$D/slots2.json 2>&1
kill -0 $tool 2>/dev/null && [ "$(ls $PIN | sort | tr '\n' ' ')" = "counters events slots vm_stats " ] &&
	cmp -s $D/slots.json $D/slots2.json && [ "$(progs)" = "$PROGS" ]
result $? "the first one runs on, its pins and maps as they were, its programs only"

# A lost event, made with bpftool: slot 2's entry deleted (as if its
# UNLOCK had been seen). The reports mark the VM (1 slot, the kernel's
# 2) until the third in a row, which reads the VM anew from the kernel:
# one warning, slot 2 seeded back, no mark since.
key=$(bpftool -j map dump pinned $PIN/slots | jq -r --argjson vm "$vm" \
	'.[] | select(.formatted.key.vm == $vm and .formatted.key.slot == 2) | .key | join(" ")' 2>&1)
n=$(grep -c "differ" $D/top.out)
bpftool map delete pinned $PIN/slots key $key
want="kvmlock-top: warning: VM $vm: its locked slots differed from the kernel's in 3 reports in a row: read anew from the kernel"
i=0
while [ "$(cat $D/top.err)" != "$want" ] && [ $i -lt 400 ]; do
	sleep 0.05
	i=$((i + 1))
done
dump slots >$D/slots3.json 2>&1
got=$(jq -r --argjson vm "$vm" '.[] | select(.key.vm == $vm and .key.slot == 2) |
	"npages=\(.value.npages) flags=\(.value.flags) state=\(.value.state)"' $D/slots3.json 2>&1)
marked=$(($(grep -c "differ" $D/top.out) - n))
[ "$(cat $D/top.err)" = "$want" ] && [ "$got" = "npages=32 flags=2 state=2" ] && [ "$marked" -ge 3 ]
result $? "a lost event: $marked reports marked, then one warning and slot 2 seeded from the kernel ($got)"
sed 's/^/# /' $D/top.err
: >$D/top.err
n=$(wc -l <$D/top.out)
i=0
while [ "$(wc -l <$D/top.out)" -le $((n + 20)) ] && [ $i -lt 400 ]; do
	sleep 0.05
	i=$((i + 1))
done
! tail -n +$((n + 1)) $D/top.out | grep -q differ
result $? "no report marks it since"

# SIGINT: exit 0, nothing left pinned.
kill -INT $tool
wait $tool
rc=$?
tool=
[ $rc = 0 ] && [ ! -s $D/top.err ] && [ ! -e $PIN ]
result $? "on SIGINT: exit $rc, nothing on stderr, $PIN gone"
[ -s $D/top.err ] && sed 's/^/# /' $D/top.err
[ -z "$(progs)" ]
result $? "no program left loaded"

# --keep-pinned: one interval; the pins stay, with what the tool knew
# when it exited. It started with the slots locked: it seeded them (flags
# 3, RW and SEEDED; 2, SEEDED) and saw no event, so vm_stats is empty.
$TOOL --keep-pinned -b 1 1 >$D/keep.out 2>$D/keep.err
rc=$?
[ $rc = 0 ] && [ ! -s $D/keep.err ] && [ -s $D/keep.out ]
result $? "kvmlock-top --keep-pinned -b 1 1: exit $rc, a report, nothing on stderr"
[ -s $D/keep.err ] && sed 's/^/# /' $D/keep.err
got=$(ls $PIN 2>&1 | sort | tr '\n' ' ')
[ "$got" = "counters events slots vm_stats " ]
result $? "after it exited the pins are there ($got)"
# Unlocking now changes nothing in them: no program is attached.
must w "unlock X 2"
got=$(dump slots 2>&1 | jq -r --argjson vm "$vm" '[.[] | select(.key.vm == $vm)] | sort_by(.key.slot) | .[] |
	"slot=\(.key.slot) npages=\(.value.npages) flags=\(.value.flags) state=\(.value.state)"' 2>&1)
want="slot=1 npages=64 flags=3 state=2
slot=2 npages=32 flags=2 state=2"
[ "$got" = "$want" ]
result $? "bpftool map dump pinned $PIN/slots after exit: the 2 seeded slots"
[ "$got" = "$want" ] || printf '# want:\n%s\n# got:\n%s\n' "$want" "$got"
got=$(dump vm_stats 2>&1)
[ "$got" = "[]" ]
result $? "bpftool map dump pinned $PIN/vm_stats after exit: dumpable, empty ($got)"
[ -z "$(progs)" ]
result $? "no program left loaded after --keep-pinned"
rm -r $PIN && [ ! -e $PIN ]
result $? "rm -r $PIN removes them"

# SIGHUP (the ssh session gone) and SIGQUIT end it as SIGINT does.
for sig in HUP QUIT; do
	pin_start $sig
	kill -$sig $tool
	wait $tool
	rc=$?
	tool=
	[ $rc = 0 ] && [ ! -s $D/$sig.err ] && [ ! -e $PIN ] && [ -z "$(progs)" ]
	result $? "on SIG$sig: exit $rc, nothing on stderr, $PIN gone, no program loaded"
	[ -s $D/$sig.err ] && sed 's/^/# /' $D/$sig.err
done
# A reader gone: the next report's write fails (EPIPE), which ends it.
{ $TOOL --pin -b 1 2>$D/pipe.err; echo $? >$D/pipe.rc; } | head -n 1 >$D/pipe.out
rc=$(cat $D/pipe.rc)
[ "$rc" = 0 ] && [ ! -s $D/pipe.err ] && [ -s $D/pipe.out ] && [ ! -e $PIN ] &&
	[ -z "$(progs)" ]
result $? "kvmlock-top --pin -b 1 | head -n 1: exit $rc, nothing on stderr, $PIN gone"
[ -s $D/pipe.err ] && sed 's/^/# /' $D/pipe.err
rm -rf $PIN

echo exit >&3
exec 3>&-
wait $wl
echo "# kvmlock-top --pin -b 1 (its first and last reports):"
head -n 20 $D/top.out
echo "# bpftool -j map dump pinned $PIN/slots (decoded):"
jq -c '.[]' $D/slots.json
echo "# bpftool -j map dump pinned $PIN/vm_stats (decoded, without histograms):"
jq -c '.[] | .value |= del(.lat_hist, .lock_us, .lock_ms, .unlock_us, .unlock_ms)' $D/vm_stats.json
summary
exit $fail
