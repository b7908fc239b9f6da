// SPDX-License-Identifier: GPL-2.0
/*
 * memslot_lock_bench - how long locking and unlocking a memslot takes, and
 * the references it competes with, for make bench (never make check).
 *
 * For each memslot size: lock + unlock, memory pre-faulted or not, locked
 * for reading or for reading and writing, with a KVM_RUN in between (as a
 * VMM unlocks a running VM: stage 2 stays mapped), and once unlocking
 * before any vCPU ran (which unmaps stage 2); then, on the same memory,
 * mlock() + munlock(), MADV_POPULATE_WRITE of freshly dropped memory, and a
 * guest writing every page of the unlocked memslot (the stage 2 faults that
 * locking saves). Then, on a memslot backed by transparent huge pages,
 * a first lock (unlocked before any vCPU ran, so stage 2 is empty for the
 * next) and mlock(): 2 MiB pages are pinned in one step and can be mapped
 * at stage 2 as blocks. Each case runs REPS times; one line per case:
 *
 *   case SIZE_MIB NAME median_us p90_us [unlock median_us p90_us]
 *
 * and for the THP-backed memslot, how much of it THP backs:
 *
 *   thp SIZE_MIB THP_MIB
 *
 * Built against the KVM selftest library of the kernel tree.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "selftest_compat.h"
#include "timing.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif

#define PAGE_SIZE	4096UL
#define SLOT		1
#define GPA		(1ULL << 32)
#define MAX_REPS	101

#define LOCK		KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK
#define UNLOCK		KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_UNLOCK
#define RW		(KVM_ARM_LOCK_MEM_READ | KVM_ARM_LOCK_MEM_WRITE)
#define RO		KVM_ARM_LOCK_MEM_READ

/* Touch every page of the memslot when the VMM sets touch_pages. */
static bool touch_pages;

static void guest_code(uint64_t gva, uint64_t npages)
{
	uint64_t i;

	for (;;) {
		for (i = 0; READ_ONCE(touch_pages) && i < npages; i++)
			WRITE_ONCE(*(uint64_t *)(gva + i * PAGE_SIZE), i);
		GUEST_SYNC(0);
	}
}

static void run_guest(struct kvm_vm *vm, struct kvm_vcpu *vcpu, bool touch)
{
	struct ucall uc;

	touch_pages = touch;
	sync_global_to_guest(vm, touch_pages);
	vcpu_run(vcpu);
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC, "guest stopped: %lu",
		    uc.cmd);
}

static uint64_t pct_us(uint64_t *v, unsigned int n, unsigned int pct)
{
	return percentile(v, n, pct) / 1000;
}

static void report(unsigned long mib, const char *name, uint64_t *a,
		   uint64_t *b, unsigned int n)
{
	printf("case %lu %s %lu %lu", mib, name, pct_us(a, n, 50),
	       pct_us(a, n, 90));
	if (b)
		printf(" unlock %lu %lu", pct_us(b, n, 50), pct_us(b, n, 90));
	printf("\n");
}

static void lock_cap(struct kvm_vm *vm, uint32_t flags, uint64_t arg)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_ARM_LOCK_USER_MEMORY_REGION,
		.flags = flags,
		.args = { SLOT, arg },
	};

	TEST_ASSERT(!__vm_ioctl(vm, KVM_ENABLE_CAP, &cap), "%s: %s",
		    flags == LOCK ? "lock" : "unlock", strerror(errno));
}

static void drop(void *hva, size_t size)
{
	TEST_ASSERT(!madvise(hva, size, MADV_DONTNEED), "MADV_DONTNEED");
}

static void populate(void *hva, size_t size)
{
	TEST_ASSERT(!madvise(hva, size, MADV_POPULATE_WRITE),
		    "MADV_POPULATE_WRITE: %s", strerror(errno));
}

/* Time one LOCK and one UNLOCK, with a KVM_RUN between them or not. */
static void time_lock_unlock(struct kvm_vm *vm, struct kvm_vcpu *vcpu,
			     uint64_t perm, bool run, uint64_t *lock_ns,
			     uint64_t *unlock_ns)
{
	uint64_t t = now_ns();

	lock_cap(vm, LOCK, perm);
	*lock_ns = now_ns() - t;
	if (run)
		run_guest(vm, vcpu, false);
	t = now_ns();
	lock_cap(vm, UNLOCK, 0);
	*unlock_ns = now_ns() - t;
}

/* A first lock: LOCK, then UNLOCK before any KVM_RUN, which unmaps stage 2. */
static void bench_first_lock(struct kvm_vm *vm, struct kvm_vcpu *vcpu,
			     unsigned long mib, const char *name, void *hva,
			     size_t size, unsigned int reps)
{
	uint64_t a[MAX_REPS], b[MAX_REPS];
	unsigned int i;

	for (i = 0; i < reps; i++) {
		populate(hva, size);
		time_lock_unlock(vm, vcpu, RW, false, &a[i], &b[i]);
	}
	report(mib, name, a, b, reps);
}

/* mlock() + munlock() of the range, pre-faulted or dropped before each. */
static void bench_mlock(unsigned long mib, const char *name, void *hva,
			size_t size, bool prefault, unsigned int reps)
{
	uint64_t a[MAX_REPS], b[MAX_REPS], t;
	unsigned int i;

	for (i = 0; i < reps; i++) {
		if (prefault)
			populate(hva, size);
		else
			drop(hva, size);
		t = now_ns();
		TEST_ASSERT(!mlock(hva, size), "mlock: %s", strerror(errno));
		a[i] = now_ns() - t;
		t = now_ns();
		TEST_ASSERT(!munlock(hva, size), "munlock");
		b[i] = now_ns() - t;
	}
	report(mib, name, a, b, reps);
}

/*
 * A VM whose vCPU runs guest_code over a memslot of @npages pages of @src
 * at GPA; *@hva gets the memslot's address in the VMM.
 */
static struct kvm_vm *create_bench_vm(struct kvm_vcpu **vcpu, uint64_t npages,
				      enum vm_mem_backing_src_type src, void **hva)
{
	/*
	 * Room in memslot 0 for the guest's page tables over the memslot: in
	 * this tree the extra pages only size those page tables.
	 */
	struct kvm_vm *vm = __vm_create_with_one_vcpu(vcpu, npages, guest_code);

	vm_userspace_mem_region_add(vm, src, GPA, SLOT, npages, 0);
	virt_map(vm, GPA, GPA, npages);
	kvmlock_ucall_init(vm);
	vcpu_args_set(*vcpu, 2, GPA, npages);
	*hva = addr_gpa2hva(vm, GPA);
	return vm;
}

/* AnonHugePages of this process, in MiB. */
static unsigned long anon_huge_mib(void)
{
	unsigned long kb = 0;
	char line[128];
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	TEST_ASSERT(f, "open smaps_rollup: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return kb >> 10;
}

/* One memslot of SIZE MiB, backed by transparent huge pages. */
static void bench_thp(unsigned long mib, unsigned int reps)
{
	uint64_t npages = mib << 8;
	size_t size = npages * PAGE_SIZE;
	struct kvm_vcpu *vcpu;
	unsigned long thp_mib;
	struct kvm_vm *vm;
	void *hva;

	vm = create_bench_vm(&vcpu, npages, VM_MEM_SRC_ANONYMOUS_THP, &hva);
	populate(hva, size);
	thp_mib = anon_huge_mib();
	bench_first_lock(vm, vcpu, mib, "lock-rw-thp-prefaulted-unlock-before-run",
			 hva, size, reps);
	printf("thp %lu %lu\n", mib, thp_mib);
	bench_mlock(mib, "mlock-thp-prefaulted", hva, size, true, reps);
	kvm_vm_free(vm);
}

static void bench_size(unsigned long mib, unsigned int reps)
{
	uint64_t npages = mib << 8, a[MAX_REPS], b[MAX_REPS], t;
	size_t size = npages * PAGE_SIZE;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	static const uint64_t perms[] = { RW, RO };
	unsigned int i, p;
	int prefault;
	char name[64];
	void *hva;

	vm = create_bench_vm(&vcpu, npages, VM_MEM_SRC_ANONYMOUS, &hva);

	for (prefault = 1; prefault >= 0; prefault--) {
		for (p = 0; p < ARRAY_SIZE(perms); p++) {
			for (i = 0; i < reps; i++) {
				if (prefault)
					populate(hva, size);
				else
					drop(hva, size);
				time_lock_unlock(vm, vcpu, perms[p], true,
						 &a[i], &b[i]);
			}
			snprintf(name, sizeof(name), "lock-%s-%s",
				 perms[p] == RW ? "rw" : "r",
				 prefault ? "prefaulted" : "cold");
			report(mib, name, a, b, reps);
		}
	}

	bench_first_lock(vm, vcpu, mib, "lock-rw-prefaulted-unlock-before-run",
			 hva, size, reps);
	bench_mlock(mib, "mlock-prefaulted", hva, size, true, reps);
	bench_mlock(mib, "mlock-cold", hva, size, false, reps);

	for (i = 0; i < reps; i++) {
		drop(hva, size);
		t = now_ns();
		populate(hva, size);
		a[i] = now_ns() - t;
	}
	report(mib, "populate-write", a, NULL, reps);

	/*
	 * Dropping and populating again invalidates stage 2 (MMU notifier):
	 * the guest then takes one stage 2 fault per page it writes.
	 */
	for (i = 0; i < reps; i++) {
		drop(hva, size);
		populate(hva, size);
		t = now_ns();
		run_guest(vm, vcpu, true);
		a[i] = now_ns() - t;
	}
	report(mib, "guest-touch-unlocked", a, NULL, reps);

	kvm_vm_free(vm);
}

static unsigned long number(const char *arg, unsigned long max)
{
	unsigned long value;
	char *end;

	errno = 0;
	value = strtoul(arg, &end, 10);
	if (errno || end == arg || (*end && *end != ',') || !value ||
	    value > max) {
		fprintf(stderr, "memslot_lock_bench: invalid number: %s\n", arg);
		exit(2);
	}
	return value;
}

int main(int argc, char *argv[])
{
	const char *sizes = "64,256,1024";
	unsigned int reps = 5;
	const char *p;
	int opt;

	while ((opt = getopt(argc, argv, "s:n:")) != -1) {
		switch (opt) {
		case 's':
			sizes = optarg;
			break;
		case 'n':
			reps = number(optarg, MAX_REPS);
			break;
		default:
			fprintf(stderr, "usage: %s [-s MIB[,MIB...]] [-n REPS]\n",
				argv[0]);
			return 2;
		}
	}

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (p = sizes; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		number(p, 1UL << 16);
	for (p = sizes; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		unsigned long mib = number(p, 1UL << 16);

		bench_size(mib, reps);
		bench_thp(mib, reps);
	}
	return 0;
}
