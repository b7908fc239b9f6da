#!/bin/sh
# The guest userland's observability tools work on this kernel: bpftool reads
# its BTF, perf counts a KVM tracepoint over a known workload, and bpftrace
# attaches a program and prints from it. Later tests build on all three.
. "$(dirname "$0")/lib.sh"

bpftool btf dump file /sys/kernel/btf/vmlinux format raw >/tmp/btf.txt 2>&1
grep -q "STRUCT 'kvm' size=" /tmp/btf.txt
result $? "bpftool reads the kernel BTF and finds struct kvm"

# kvm_smoke_test issues KVM_RUN once, which returns on its MMIO exit:
# kvm_userspace_exit fires once per KVM_RUN.
perf stat -x, -e kvm:kvm_userspace_exit -- /kvmlock/kselftest/kvm_smoke_test \
	>/dev/null 2>/tmp/perf.txt
count=$(grep 'kvm:kvm_userspace_exit' /tmp/perf.txt | cut -d, -f1)
echo "# perf: kvm:kvm_userspace_exit = $count"
[ "$count" = 1 ]
result $? "perf stat counts exactly 1 kvm:kvm_userspace_exit for one MMIO exit"

out=$(bpftrace -e 'BEGIN { printf("bpftrace-%d\n", 6 * 7); exit(); }' 2>&1)
echo "$out" | grep -qx 'bpftrace-42'
result $? "bpftrace runs a program and prints from it"
[ "$fail" = 0 ] || echo "$out" | sed 's/^/# /'
exit $fail
