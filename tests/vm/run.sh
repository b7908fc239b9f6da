#!/usr/bin/env bash
# Boot the built kernel under QEMU (TCG, nested virtualization, VHE) and run
# guest tests in it. Prints one line per test and "N passed, N failed, N
# skipped"; exits non-zero when anything failed.
#
# VM_CPU (default max) and VM_MACHINE choose the emulated CPU and machine:
# tests/check.sh boots a CPU without FWB too (tests/vm/nofwb-tests.list).
#
#   run.sh KERNEL_DIR ROOTFS_DIR [NAME_PATTERN...]
#
# KERNEL_DIR holds Image and selftests/ (kernel/scripts/kernel.sh build);
# ROOTFS_DIR is the guest userland (tests/vm/rootfs.sh). Tests come from
# tests/vm/kvm-selftests.list and tests/vm/guest-tests.list; patterns (shell
# globs on the test name) select a subset. Our own guest tests are built with
# the kernel (KERNEL_DIR/kselftest).
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

KDIR=${1:?usage: run.sh KERNEL_DIR ROOTFS_DIR [NAME_PATTERN...]}
ROOTFS=${2:?usage: run.sh KERNEL_DIR ROOTFS_DIR [NAME_PATTERN...]}
shift 2
PATTERNS=("$@")
VM_MEM=${VM_MEM:-4G}
VM_CPUS=${VM_CPUS:-2}
BOOT_SLACK=60
# Console lines that mean the kernel is unhealthy, whatever the tests say.
SPLAT='Kernel panic|Oops|BUG:|WARNING:|Call trace:|INFO: task .* blocked|rcu: INFO:'

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

# Emit "<name> <timeout> <command...>" lines for the guest runner from list
# file $1. With a directory $2 the command is $2/<name> <arguments>
# (selftests); without, the rest of the line is the command.
list_tests() {
	local name limit args
	while read -r name limit args; do
		case $name in '' | '#'*) continue ;; esac
		selected "$name" || continue
		echo "$name $limit ${2:+$2/$name }$args"
	done <"$1"
}

# VM_TEST_LISTS names other lists of guest commands (benchmarks) instead.
collect_tests() {
	local list
	if [ -n "${VM_TEST_LISTS:-}" ]; then
		for list in $VM_TEST_LISTS; do list_tests "$list"; done
		return
	fi
	list_tests "$TOP/tests/vm/kvm-selftests.list" selftests
	list_tests "$TOP/tests/vm/guest-tests.list"
}

make_payload() {
	rm -rf "$RUN"
	mkdir -p "$PAYLOAD/results"
	collect_tests >"$PAYLOAD/tests.list"
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
	install -m 0755 "$TOP/tests/vm/guest-run.sh" "$PAYLOAD/guest-run.sh"
}

run_qemu() {
	local limit=$1
	timeout -k 5 "$limit" qemu-system-aarch64 \
		-M "${VM_MACHINE:-virt,virtualization=on,gic-version=3,mte=on}" -cpu "${VM_CPU:-max}" \
		-smp "$VM_CPUS" -m "$VM_MEM" \
		-display none -monitor none -nic none -no-reboot -serial "file:$CONSOLE" \
		-kernel "$KDIR/Image" \
		-append "console=ttyAMA0 root=rootfs rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=262144 ro init=/sbin/kvmlock-init panic=-1" \
		-fsdev "local,id=rootfs,path=$ROOTFS,security_model=none,readonly=on" \
		-device virtio-9p-pci,fsdev=rootfs,mount_tag=rootfs \
		-fsdev "local,id=payload,path=$PAYLOAD,security_model=none" \
		-device virtio-9p-pci,fsdev=payload,mount_tag=kvmlock ${VM_QEMU_EXTRA:-}
}

# Console lines printed while test $1 ran.
console_of() {
	awk -v n="$1" '
		$0 ~ "KVMLOCK-TEST-BEGIN " n "$" { on = 1; next }
		$0 ~ "KVMLOCK-TEST-END " n " " { on = 0 }
		on' "$CONSOLE"
}

report() {
	local passed=0 failed=0 skipped=0 in_tests=0 name limit cmd safe rc start end \
		secs splat why
	while read -r name limit cmd; do
		safe=${name//\//_}
		splat=$(console_of "$name" | grep -E "$SPLAT" || true)
		[ -n "$splat" ] && in_tests=$((in_tests + $(echo "$splat" | wc -l)))
		splat=$(echo "$splat" | head -5)
		why=
		if [ ! -f "$PAYLOAD/results/$safe.rc" ]; then
			why="no result: the VM died or hung during this test"
			rc=-1 secs=?
		else
			read -r rc start end <"$PAYLOAD/results/$safe.rc"
			secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
			case $rc in
			0) ;;
			4) ;;
			137) why="killed after its ${limit}s timeout" ;;
			*) why="exit status $rc" ;;
			esac
		fi
		[ -n "$splat" ] && why="kernel splat on the console${why:+; $why}"
		if [ -n "$why" ]; then
			failed=$((failed + 1))
			printf 'FAIL  %-40s %6ss  %s\n' "$name" "$secs" "$why"
			[ -n "$splat" ] && printf '      | %s\n' "$splat"
			if [ -f "$PAYLOAD/results/$safe.log" ]; then
				tail -n 15 "$PAYLOAD/results/$safe.log" | sed 's/^/      > /'
			fi
		elif [ "$rc" = 4 ]; then
			skipped=$((skipped + 1))
			printf 'SKIP  %-40s %6ss  %s\n' "$name" "$secs" \
				"$(grep -m1 -iE 'skip' "$PAYLOAD/results/$safe.log" || true)"
		else
			passed=$((passed + 1))
			printf 'PASS  %-40s %6ss\n' "$name" "$secs"
		fi
	done <"$PAYLOAD/tests.list"
	if ! grep -q KVMLOCK-ALL-DONE "$CONSOLE"; then
		echo "the VM did not finish its test list; last console lines:"
		tail -n 30 "$CONSOLE" | sed 's/^/      | /'
		[ "$failed" -gt 0 ] || failed=1
	elif [ "$(grep -cE "$SPLAT" "$CONSOLE")" -gt "$in_tests" ]; then
		echo "kernel splat outside any test:"
		grep -E "$SPLAT" "$CONSOLE" | head -5 | sed 's/^/      | /'
		failed=$((failed + 1))
	fi
	echo "vm: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
}

make_payload
limit=$(awk '{ s += $2 } END { print s + '"$BOOT_SLACK"' }' "$PAYLOAD/tests.list")
note "booting $(basename "$KDIR") with $(wc -l <"$PAYLOAD/tests.list") test(s), limit ${limit}s"
set +e
run_qemu "$limit"
qrc=$?
set -e
[ "$qrc" -eq 124 ] && echo "QEMU killed at the VM time limit (${limit}s)"
booted=$(sed -n 's/.*KVMLOCK-BOOTED uptime=//p' "$CONSOLE" | tr -d '\r')
[ -n "$booted" ] && note "guest reached its first test ${booted}s after boot"
report
