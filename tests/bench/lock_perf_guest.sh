#!/bin/sh
# make bench, in the test VM: the lock/unlock matrix of memslot_lock_bench,
# then the memory KVM allocates to track a locked memslot, measured: bpftrace
# sums the sizes given to kmalloc and kvmalloc, and the pages taken from the
# page allocator but for stage 2 page tables (the memory cache's top-up),
# during KVM's lock function while memslot_lock_workload locks one memslot
# of each size.
#   lock_perf_guest.sh SIZES REPS     (SIZES: MiB, comma-separated)
B=/kvmlock/kselftest/memslot_lock_bench
W=/kvmlock/kselftest/memslot_lock_workload
SIZES=${1:?usage: lock_perf_guest.sh SIZES REPS}
REPS=${2:?usage: lock_perf_guest.sh SIZES REPS}

$B -s "$SIZES" -n "$REPS" || exit 1

# The allocators' names in this kernel: 6.1's kvmalloc_node, kmalloc_trace,
# __kmalloc and __get_free_pages are 6.12's __kvmalloc_node_noprof,
# __kmalloc_cache_noprof, __kmalloc_noprof and get_free_pages_noprof, the
# size (or order) the same argument.
symbol() {
	for s; do
		awk -v s="$s" '$3 == s { found = 1 } END { exit !found }' /proc/kallsyms &&
			echo "$s" && return
	done
	echo "lock_perf_guest.sh: none of $* in /proc/kallsyms" >&2
	exit 1
}
kvmalloc=$(symbol kvmalloc_node __kvmalloc_node_noprof) || exit 1
kmalloc_trace=$(symbol kmalloc_trace __kmalloc_cache_noprof) || exit 1
kmalloc=$(symbol __kmalloc __kmalloc_noprof) || exit 1
get_free_pages=$(symbol __get_free_pages get_free_pages_noprof) || exit 1
PAGE=$(getconf PAGESIZE) || exit 1

# One probe a line: the wait below counts them.
PROG='kprobe:kvm_mmu_lock_memslot { @in[tid] = 1; }
kretprobe:kvm_mmu_lock_memslot { delete(@in[tid]); }
kprobe:'"$kvmalloc"' /@in[tid]/ { @bytes = sum(arg0); }
kprobe:'"$kmalloc_trace"' /@in[tid]/ { @bytes = sum(arg2); }
kprobe:'"$kmalloc"' /@in[tid]/ { @bytes = sum(arg0); }
kprobe:kvm_mmu_topup_memory_cache { @topup[tid] = 1; }
kretprobe:kvm_mmu_topup_memory_cache { delete(@topup[tid]); }
kprobe:'"$get_free_pages"' /@in[tid] && !@topup[tid]/ { @bytes = sum('"$PAGE"' << arg1); }
tracepoint:kvm:kvm_memslot_lock_end /args->ret == 0/ { @pages = sum(args->npages); }'
PROBES=$(printf '%s\n' "$PROG" | grep -c .)

for mib in $(echo "$SIZES" | tr , ' '); do
	# Bounded: a bpftrace that never attaches must not hang the benchmark.
	timeout -s INT 300 bpftrace -e "$PROG" </dev/null >/tmp/tracking.txt 2>&1 &
	bt=$!
	i=0
	# attached: bpftool lists one perf event of bpftrace's per probe
	while [ "$(bpftool perf show pid $bt 2>/dev/null | wc -l)" -lt "$PROBES" ] &&
		kill -0 $bt 2>/dev/null && [ $i -lt 120 ]; do
		sleep 0.5
		i=$((i + 1))
	done
	echo "# tracking $mib MiB: bpftrace attached after $((i / 2)) s" >&2
	$W -b "$mib" -n 1 >/dev/null || exit 1
	kill -INT $bt
	wait $bt
	bytes=$(sed -n 's/^@bytes: //p' /tmp/tracking.txt)
	pages=$(sed -n 's/^@pages: //p' /tmp/tracking.txt)
	[ -n "$bytes" ] && [ -n "$pages" ] || { cat /tmp/tracking.txt; exit 1; }
	echo "tracking $mib $bytes $pages"
done
