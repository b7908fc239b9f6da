#!/usr/bin/env bash
# make demo: boot the patched kernel under QEMU and show VMs running in it,
# one of them locking its memory (KVM_CAP_ARM_LOCK_USER_MEMORY_REGION), and
# the trace events those locks emit, and kvmlock-top reporting a VMM that
# locks and unlocks memslots of two VMs over a few seconds: live on its
# interactive screen when stdout is a terminal, in batch output always.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

KDIR=${1:?usage: demo.sh KERNEL_DIR ROOTFS_DIR}
ROOTFS=${2:?usage: demo.sh KERNEL_DIR ROOTFS_DIR}
echo "kernel series (newest first):"
sed 's/^/  /' "$KDIR/series.log"
status=0
# A run directory of its own: a make check in this clone cannot remove it
# between the run and the lines shown below.
export VM_RUN_DIR=$BUILD/vm-demo
TESTS=(kvm_smoke_test aarch64/memslot_lock_test trace_events kvmlock_top_demo)
FRAMES=$VM_RUN_DIR/payload/results/kvmlock-top-demo-screen

# On a terminal: while the VM runs, show kvmlock-top's interactive screen
# as the guest's tmux pane holds it (the frames kvmlock_top_demo saves
# every half second), on the alternate screen, and print the run's own
# lines after. Otherwise (a pipe, a log): the batch output below only.
show_frames() {
	local last="" f
	set +e +o pipefail	# no frames yet is no error
	while sleep 0.25; do
		f=$(find "$FRAMES" -name 'frame-*.txt' 2>/dev/null | sort | tail -n 1)
		[ -n "$f" ] && [ "$f" != "$last" ] || continue
		# home, each line then clear to its end, clear below: no flicker
		printf '\033[H%s\033[J' "$(sed 's/$/\x1b[K/' "$f")"
		last=$f
	done
}
if [ -t 1 ]; then
	printf '\033[?1049h\033[?25l\033[H\033[2J'
	echo "booting the test VM; kvmlock-top's screen shows here once its VMs run..."
	show_frames &
	viewer=$!
	# the terminal back, however this ends
	trap 'kill $viewer 2>/dev/null; printf "\033[?25h\033[?1049l"' EXIT
	"$TOP/tests/vm/run.sh" "$KDIR" "$ROOTFS" "${TESTS[@]}" >"$BUILD/demo-run.txt" 2>&1 ||
		status=$?
	sleep 0.5
	kill $viewer 2>/dev/null || true
	wait $viewer 2>/dev/null || true
	printf '\033[?25h\033[?1049l'
	trap - EXIT
	cat "$BUILD/demo-run.txt"
	# the last one with the screen on it (after q the pane holds the shell)
	last=$(grep -l '^kvmlock-top  ' "$FRAMES"/frame-*.txt 2>/dev/null | sort | tail -n 1)
	if [ -n "$last" ]; then
		echo "--- kvmlock-top's screen, as the demo last showed it:"
		cat "$last"
	fi
else
	"$TOP/tests/vm/run.sh" "$KDIR" "$ROOTFS" "${TESTS[@]}" || status=$?
fi
echo "--- guest console: KVM"
grep -aE 'kvm \[|KVMLOCK-BOOTED' "$VM_RUN_DIR/console.txt" || true
# trace_events shows the kvm_memslot_* events of a VMM locking memory.
for t in kvm_smoke_test aarch64_memslot_lock_test trace_events kvmlock_top_demo; do
	echo "--- $t"
	cat "$VM_RUN_DIR/payload/results/$t.log"
done
exit $status
