#!/usr/bin/env bash
# Boot the built kernel under QEMU (TCG, nested virtualization, VHE) and run
# guest tests in it. Prints one line per test and "N passed, N failed, N
# skipped" (tests/vm/report.sh); exits non-zero when anything failed.
#
# VM_CPU (default max) and VM_MACHINE choose the emulated CPU and machine:
# tests/check.sh boots a CPU without FWB too (tests/vm/nofwb-tests.list).
# VM_KERNEL_ARGS adds to the guest kernel's command line (movablecore=1G
# gives it a ZONE_MOVABLE: docs/reliability.md).
#
#   run.sh KERNEL_DIR ROOTFS_DIR [NAME_PATTERN...]
#
# KERNEL_DIR holds Image and selftests/ (kernel/scripts/kernel.sh build);
# ROOTFS_DIR is the guest userland (tests/vm/rootfs.sh). Tests come from
# the base's tests/vm/kvm-selftests-<base>.list (KERNEL_BASE), then
# tests/vm/guest-tests.list and tests/vm/doc-tests.list (VM_TEST_LISTS:
# other lists), in the format of scripts/lib.sh load_test_list; patterns
# (shell globs on the test name) select a subset. Our own guest tests are
# built with the kernel (KERNEL_DIR/kselftest).
#
# The run directory (VM_RUN_DIR, default build/vm) is locked for the whole
# run: a second run in the same clone waits instead of deleting it. A
# watchdog (tests/vm/watchdog.sh) stops QEMU when a test overruns its own
# timeout by VM_WATCHDOG_SLACK (30) seconds, or the guest spends
# VM_OUTSIDE_LIMIT (60) seconds outside any test; the sum of all timeouts
# plus 60 s stays as a last limit, and QEMU stopped there fails the run
# ($RUN/qemu-timeout).
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

KDIR=${1:?usage: run.sh KERNEL_DIR ROOTFS_DIR [NAME_PATTERN...]}
ROOTFS=${2:?usage: run.sh KERNEL_DIR ROOTFS_DIR [NAME_PATTERN...]}
shift 2
PATTERNS=("$@")
# 4 GiB for the tests, and 1 GiB more that the guest kernel reserves as a
# 1 GiB huge page (hugepagesz=1G below) for memslot_lock_test.
VM_MEM=${VM_MEM:-5G}
VM_CPUS=${VM_CPUS:-2}
BOOT_SLACK=60

# Another directory lets a second boot keep the first one's results.
RUN=${VM_RUN_DIR:-$BUILD/vm}
PAYLOAD=$RUN/payload
CONSOLE=$RUN/console.log

selected() {
	local name=$1 p
	[ ${#PATTERNS[@]} -eq 0 ] && return 0
	for p in "${PATTERNS[@]}"; do
		# shellcheck disable=SC2053 # glob match on purpose
		[[ $name == $p ]] && return 0
	done
	return 1
}

# The selected tests of the lists: "<name> <timeout> <command...>" for the
# guest runner in $PAYLOAD/tests.list, "<name> <timeout> [tags...]" for
# the watchdog and report.sh in $RUN/tests.meta.
collect_tests() {
	local list i seen=' '
	if [ -n "${VM_TEST_LISTS:-}" ]; then
		for list in $VM_TEST_LISTS; do load_test_list "$list"; done
	else
		for list in $(main_test_lists "$KERNEL_BASE"); do load_test_list "$list"; done
	fi
	: >"$PAYLOAD/tests.list"
	: >"$RUN/tests.meta"
	for i in "${!TL_NAME[@]}"; do
		selected "${TL_NAME[i]}" || continue
		case $seen in *" ${TL_NAME[i]} "*) die "two tests are named ${TL_NAME[i]}" ;; esac
		seen+="${TL_NAME[i]} "
		echo "${TL_NAME[i]} ${TL_LIMIT[i]} ${TL_CMD[i]}" >>"$PAYLOAD/tests.list"
		echo "${TL_NAME[i]} ${TL_LIMIT[i]}${TL_TAGS[i]:+ ${TL_TAGS[i]}}" >>"$RUN/tests.meta"
	done
}

# The kernel tree's tools/kvm/kvm_stat of KDIR's kernel: its version from
# its .config, the script from that base's linux-source tarball (the
# series does not touch it), extracted once into $CACHE/tools. Prints its
# path, or nothing for a kernel of no base here.
kvm_stat_of_kernel() {
	local ver base tarball dir tmp
	ver=$(sed -n 's|^# Linux/arm64 \([0-9.]*\) Kernel Configuration$|\1|p' "$KDIR/.config" 2>/dev/null)
	base=$(cut -d. -f1,2 <<<"$ver")
	tarball=/usr/src/linux-source-$base.tar.xz
	[ -n "$ver" ] && [ -f "$tarball" ] || return 0
	dir=$CACHE/tools/linux-$ver
	if [ ! -s "$dir/kvm_stat" ]; then
		mkdir -p "$dir"
		tmp=$(mktemp -d "$dir/tmp.XXXXXX")
		tar -xJf "$tarball" -C "$tmp" --wildcards --occurrence=1 --strip-components=4 \
			'*/tools/kvm/kvm_stat/kvm_stat' ||
			die "cannot extract tools/kvm/kvm_stat from $tarball"
		mv "$tmp/kvm_stat" "$dir/kvm_stat"
		rm -rf "$tmp"
	fi
	echo "$dir/kvm_stat"
}

make_payload() {
	rm -rf "$RUN"
	mkdir -p "$PAYLOAD/results"
	collect_tests
	[ -s "$PAYLOAD/tests.list" ] || die "no test matches: ${PATTERNS[*]}"
	cp -a "$KDIR/selftests" "$PAYLOAD/"
	# Absent from a kernel built without the series (make bench).
	if [ -d "$KDIR/kselftest" ]; then cp -a "$KDIR/kselftest" "$PAYLOAD/"; fi
	mkdir -p "$PAYLOAD/scripts"
	cp -a "$TOP"/tests/guest/*.sh "$TOP"/tests/guest/*.expected \
		"$TOP"/tests/bench/*.sh "$PAYLOAD/scripts/"
	# Tests run what the docs and tools give users, as they are.
	mkdir -p "$PAYLOAD/docs" "$PAYLOAD/inspector"
	cp -a "$TOP"/docs/*.md "$PAYLOAD/docs/"
	cp -a "$TOP"/inspector/perf-lock-latency "$PAYLOAD/inspector/"
	kvm_stat=$(kvm_stat_of_kernel)
	[ -z "$kvm_stat" ] || install -m 0755 "$kvm_stat" "$PAYLOAD/inspector/kvm_stat"
	# kvmlock-top and its test workload, static arm64 (make inspector);
	# tests that need them fail without them.
	for f in kvmlock-top kvmlock-workload; do
		if [ -x "$BUILD/inspector/arm64/$f" ]; then
			cp -a "$BUILD/inspector/arm64/$f" "$PAYLOAD/inspector/"
		fi
	done
	install -m 0755 "$TOP/tests/vm/guest-run.sh" "$PAYLOAD/guest-run.sh"
}

# Run in the background: exec, so that $! is the timeout process, which
# passes a SIGTERM on to QEMU (and SIGKILLs it 5 s later).
run_qemu() {
	local limit=$1
	# shellcheck disable=SC2086 # VM_QEMU_EXTRA is split on purpose
	exec timeout -k 5 "$limit" qemu-system-aarch64 \
		-M "${VM_MACHINE:-virt,virtualization=on,gic-version=3,mte=on}" -cpu "${VM_CPU:-max}" \
		-smp "$VM_CPUS" -m "$VM_MEM" \
		-display none -monitor none -nic none -no-reboot -serial "file:$CONSOLE" \
		-kernel "$KDIR/Image" \
		-append "console=ttyAMA0 root=rootfs rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=262144 ro init=/sbin/kvmlock-init hugepagesz=1G hugepages=1 panic=-1${VM_KERNEL_ARGS:+ $VM_KERNEL_ARGS}" \
		-fsdev "local,id=rootfs,path=$ROOTFS,security_model=none,readonly=on" \
		-device virtio-9p-pci,fsdev=rootfs,mount_tag=rootfs \
		-fsdev "local,id=payload,path=$PAYLOAD,security_model=none" \
		-device virtio-9p-pci,fsdev=payload,mount_tag=kvmlock ${VM_QEMU_EXTRA:-}
}

run() {
	local limit qpid wpid qrc booted
	make_payload
	limit=$(awk '{ s += $2 } END { print s + '"$BOOT_SLACK"' }' "$RUN/tests.meta")
	note "booting $(basename "$KDIR") with $(wc -l <"$RUN/tests.meta") test(s), limit ${limit}s"
	: >"$CONSOLE"
	run_qemu "$limit" &
	qpid=$!
	"$TOP/tests/vm/watchdog.sh" "$CONSOLE" "$RUN/tests.meta" "$qpid" "$RUN/watchdog" &
	wpid=$!
	# Background jobs ignore SIGINT here: stop both when this run ends,
	# however it ends.
	# shellcheck disable=SC2064 # the pids, now
	trap "kill $qpid $wpid 2>/dev/null || true" EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	qrc=0
	wait "$qpid" || qrc=$?
	kill "$wpid" 2>/dev/null || true
	wait "$wpid" 2>/dev/null || true
	trap - EXIT
	# report.sh fails the run on it.
	[ "$qrc" -ne 124 ] || echo "$limit" >"$RUN/qemu-timeout"
	booted=$(tr -d '\r' <"$CONSOLE" | sed -n 's/.*KVMLOCK-BOOTED uptime=//p')
	[ -z "$booted" ] || note "guest reached its first test ${booted}s after boot"
	"$TOP/tests/vm/report.sh" "$RUN"
}

# One run at a time in a run directory: the other waits rather than
# deleting this one's payload under its QEMU.
mkdir -p "$(dirname "$RUN")"
with_lock_file "$RUN.lock" "another test VM run in $RUN" run
