// SPDX-License-Identifier: GPL-2.0
/*
 * memslot_lock_limits - RLIMIT_MEMLOCK and CAP_IPC_LOCK at their edges.
 *
 * A VMM without CAP_IPC_LOCK (dropped from its effective set) locks:
 *  - a memslot of exactly its limit: allowed; one page more: ENOMEM;
 *  - in two VMs: they share the one limit of the process;
 *  - after setrlimit() lowered the limit below what is locked: what is
 *    locked stays, the next LOCK is refused, and after an UNLOCK the new
 *    limit applies;
 *  - memory it mlock()ed first: the LOCK charges the pages again (VmLck
 *    counts both), so the limit must hold both;
 * and with CAP_IPC_LOCK, a limit of 0 does not refuse, but still charges.
 * After each step: the result, pins and VmLck exactly, and the VM's
 * memlock_account_failures. Also LOCK right after mlock() many times:
 * long-term pins of pages still in mlock's per-CPU batches could fail;
 * the count of failures is printed (and must be 0 here).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

#include "memslot_footprint.h"

#define GPA_BASE	(1ULL << 32)
#define SLOT_BASE	1
#define A_PAGES		64
#define B_PAGES		32
#define MLOCK_ROUNDS	50

#define LOCK		KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK
#define UNLOCK		KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_UNLOCK
#define READ		KVM_ARM_LOCK_MEM_READ
#define WRITE		KVM_ARM_LOCK_MEM_WRITE

static long page;		/* the host's page size */
static unsigned int checks;

static void guest_code(void)
{
	GUEST_DONE();
}

/* Pins and VmLck moved by exactly @pins and @charged pages since @base */
static void expect_footprint(struct footprint base, long pins, long charged,
			     const char *what)
{
	struct footprint now = footprint();

	TEST_ASSERT(now.pins - base.pins == pins &&
		    now.vmlck_kb - base.vmlck_kb == charged * (page / 1024),
		    "%s: pins %+ld (want %+ld), VmLck %+ld kB (want %+ld)", what,
		    now.pins - base.pins, pins, now.vmlck_kb - base.vmlck_kb,
		    charged * (page / 1024));
	checks++;
}

static void expect_result(int got, int want, const char *what)
{
	TEST_ASSERT(got == want, "%s: got %s, want %s", what,
		    got ? strerror(-got) : "success", want ? strerror(-want) : "success");
	checks++;
}

static void set_ipc_lock(bool on)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	TEST_ASSERT(!syscall(SYS_capget, &hdr, data), "capget");
	if (on)
		data[0].effective |= 1U << CAP_IPC_LOCK;
	else
		data[0].effective &= ~(1U << CAP_IPC_LOCK);
	TEST_ASSERT(!syscall(SYS_capset, &hdr, data), "capset");
}

/* RLIMIT_MEMLOCK, soft and hard, in host pages (root may raise it again) */
static void set_limit_pages(long pages)
{
	struct rlimit rl = { .rlim_cur = pages * page, .rlim_max = pages * page };

	TEST_ASSERT(!setrlimit(RLIMIT_MEMLOCK, &rl), "setrlimit: %s", strerror(errno));
}

/*
 * A VM with memslots of @npages[] host pages (0 ends), every page written,
 * their memory at *hva[]. The memslots are made with the ioctl, not the
 * library, whose kvm_vm_free() deletes its memslots first, which a locked
 * one refuses: closing the VM unlocks them (their memory stays mapped).
 */
static struct kvm_vm *create_vm(const long *npages, void **hva)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	int i;

	for (i = 0; npages[i]; i++) {
		struct kvm_userspace_memory_region region = {
			.slot = SLOT_BASE + i,
			.guest_phys_addr = GPA_BASE + ((uint64_t)i << 30),
			.memory_size = npages[i] * page,
		};
		void *mem = mmap(NULL, region.memory_size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		TEST_ASSERT(mem != MAP_FAILED, "mmap: %s", strerror(errno));
		memset(mem, 0x5a, region.memory_size);
		region.userspace_addr = (uintptr_t)mem;
		vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region);
		if (hva)
			hva[i] = mem;
	}
	return vm;
}

static uint64_t account_failures(struct kvm_vm *vm)
{
	return vm_get_stat(vm, "memlock_account_failures");
}

/* Exactly the limit is allowed, one page more is not */
static void test_exact_limit(void)
{
	struct kvm_vm *vm = create_vm((long[]){ A_PAGES, 0 }, NULL);
	struct footprint base = footprint();

	set_limit_pages(A_PAGES - 1);
	expect_result(lock_cap(vm, LOCK, SLOT_BASE, READ | WRITE), -ENOMEM,
		      "one page over the limit");
	expect_footprint(base, 0, 0, "one page over the limit");
	TEST_ASSERT(account_failures(vm) == 1, "memlock_account_failures %lu, want 1",
		    account_failures(vm));
	set_limit_pages(A_PAGES);
	expect_result(lock_cap(vm, LOCK, SLOT_BASE, READ | WRITE), 0, "exactly the limit");
	expect_footprint(base, A_PAGES, A_PAGES, "exactly the limit");
	expect_result(lock_cap(vm, UNLOCK, SLOT_BASE, 0), 0, "unlock");
	expect_footprint(base, 0, 0, "unlocked");
	kvm_vm_free(vm);
	printf("ok - exactly RLIMIT_MEMLOCK: locked; one page more: ENOMEM, counted\n");
}

/* Two VMs of one process share its limit */
static void test_two_vms(void)
{
	struct kvm_vm *vm1 = create_vm((long[]){ A_PAGES, 0 }, NULL);
	struct kvm_vm *vm2 = create_vm((long[]){ B_PAGES, 1, 0 }, NULL);
	struct footprint base = footprint();

	set_limit_pages(A_PAGES + B_PAGES);
	expect_result(lock_cap(vm1, LOCK, SLOT_BASE, READ | WRITE), 0, "VM 1");
	expect_result(lock_cap(vm2, LOCK, SLOT_BASE, READ), 0, "VM 2, up to the limit");
	expect_footprint(base, A_PAGES + B_PAGES, A_PAGES + B_PAGES, "two VMs");
	expect_result(lock_cap(vm2, LOCK, SLOT_BASE + 1, READ), -ENOMEM,
		      "VM 2, one page over the shared limit");
	expect_footprint(base, A_PAGES + B_PAGES, A_PAGES + B_PAGES, "refused");
	expect_result(lock_cap(vm1, UNLOCK, SLOT_BASE, 0), 0, "VM 1 unlocks");
	expect_result(lock_cap(vm2, LOCK, SLOT_BASE + 1, READ), 0,
		      "VM 2, after VM 1 unlocked");
	expect_footprint(base, B_PAGES + 1, B_PAGES + 1, "VM 2's two memslots");
	TEST_ASSERT(account_failures(vm1) == 0 && account_failures(vm2) == 1,
		    "memlock_account_failures %lu and %lu, want 0 and 1",
		    account_failures(vm1), account_failures(vm2));
	kvm_vm_free(vm1);
	kvm_vm_free(vm2);
	expect_footprint(base, 0, 0, "both VMs closed");
	printf("ok - two VMs of one process share its RLIMIT_MEMLOCK\n");
}

/* A limit lowered below what is locked: the locked stays, the next is refused */
static void test_lowered_limit(void)
{
	struct kvm_vm *vm = create_vm((long[]){ A_PAGES, 1, 0 }, NULL);
	struct footprint base = footprint();

	set_limit_pages(A_PAGES + 1);
	expect_result(lock_cap(vm, LOCK, SLOT_BASE, READ | WRITE), 0, "lock");
	set_limit_pages(A_PAGES / 2);
	expect_footprint(base, A_PAGES, A_PAGES, "limit lowered under the lock");
	expect_result(lock_cap(vm, LOCK, SLOT_BASE + 1, READ | WRITE), -ENOMEM,
		      "a page more, over the lowered limit");
	expect_result(lock_cap(vm, UNLOCK, SLOT_BASE, 0), 0, "unlock");
	expect_result(lock_cap(vm, LOCK, SLOT_BASE + 1, READ | WRITE), 0,
		      "a page, under the lowered limit");
	expect_result(lock_cap(vm, LOCK, SLOT_BASE, READ | WRITE), -ENOMEM,
		      "the big memslot again, over the lowered limit");
	expect_footprint(base, 1, 1, "one page locked");
	kvm_vm_free(vm);
	expect_footprint(base, 0, 0, "VM closed");
	printf("ok - setrlimit() lowered under the lock: it stays, the next LOCKs obey\n");
}

/* mlock()ed memory is charged by mlock and again by the LOCK */
static void test_mlocked(void)
{
	void *hva;
	struct kvm_vm *vm = create_vm((long[]){ A_PAGES, 0 }, &hva);
	struct footprint base = footprint();

	set_limit_pages(2 * A_PAGES);
	TEST_ASSERT(!mlock(hva, A_PAGES * page), "mlock: %s", strerror(errno));
	expect_footprint(base, 0, A_PAGES, "mlock()ed");
	set_limit_pages(2 * A_PAGES - 1);
	expect_result(lock_cap(vm, LOCK, SLOT_BASE, READ | WRITE), -ENOMEM,
		      "mlock()ed memory, limit short of both charges");
	set_limit_pages(2 * A_PAGES);
	expect_result(lock_cap(vm, LOCK, SLOT_BASE, READ | WRITE), 0,
		      "mlock()ed memory, limit for both charges");
	expect_footprint(base, A_PAGES, 2 * A_PAGES, "mlock()ed and locked");
	TEST_ASSERT(!munlock(hva, A_PAGES * page), "munlock: %s", strerror(errno));
	expect_footprint(base, A_PAGES, A_PAGES, "munlock()ed, still locked");
	expect_result(lock_cap(vm, UNLOCK, SLOT_BASE, 0), 0, "unlock");
	expect_footprint(base, 0, 0, "unlocked");
	kvm_vm_free(vm);
	printf("ok - mlock()ed memory: VmLck counts the mlock and the LOCK\n");
}

/* CAP_IPC_LOCK lifts the limit; the pages are charged all the same */
static void test_cap_ipc_lock(void)
{
	struct kvm_vm *vm = create_vm((long[]){ A_PAGES, 0 }, NULL);
	struct footprint base = footprint();

	set_limit_pages(0);
	set_ipc_lock(true);
	expect_result(lock_cap(vm, LOCK, SLOT_BASE, READ), 0, "limit 0, CAP_IPC_LOCK");
	expect_footprint(base, A_PAGES, A_PAGES, "limit 0, CAP_IPC_LOCK");
	set_ipc_lock(false);
	expect_result(lock_cap(vm, UNLOCK, SLOT_BASE, 0), 0, "unlock without it");
	expect_footprint(base, 0, 0, "unlocked");
	kvm_vm_free(vm);
	printf("ok - CAP_IPC_LOCK: no limit, the same charge\n");
}

/* Pages present in ZONE_MOVABLE (movablecore= or kernelcore= made one). */
static long movable_zone_pages(void)
{
	FILE *f = fopen("/proc/zoneinfo", "r");
	char line[256];
	long pages = 0, n;
	bool in_movable = false;

	TEST_ASSERT(f, "open /proc/zoneinfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Node ", 5))
			in_movable = strstr(line, "zone") && strstr(line, "Movable");
		else if (in_movable && sscanf(line, " present %ld", &n) == 1)
			pages += n;
	}
	fclose(f);
	return pages;
}

/*
 * LOCK right after mlock(): the pages may still sit in mlock's per-CPU
 * batches, holding a reference. A long-term pin migrates pages out of
 * ZONE_MOVABLE and CMA first, which such a reference would make fail
 * (ENOMEM); this kernel's GUP drains the batches before it migrates. Every
 * LOCK must succeed; with a movable zone (VM_KERNEL_ARGS=movablecore=...,
 * docs/reliability.md) the pins must have migrated pages, or the case was
 * not tried.
 */
static void test_lock_after_mlock(void)
{
	long movable = movable_zone_pages(), migrated;
	void *hva;
	struct kvm_vm *vm = create_vm((long[]){ A_PAGES, 0 }, &hva);
	int i, failed = 0, r;

	set_limit_pages(2 * A_PAGES);
	migrated = read_field("/proc/vmstat", "pgmigrate_success ");
	for (i = 0; i < MLOCK_ROUNDS; i++) {
		/* New pages each round: mlock() faults them in, in ZONE_MOVABLE if any. */
		TEST_ASSERT(!madvise(hva, A_PAGES * page, MADV_DONTNEED), "madvise: %s",
			    strerror(errno));
		TEST_ASSERT(!mlock(hva, A_PAGES * page), "mlock: %s", strerror(errno));
		r = lock_cap(vm, LOCK, SLOT_BASE, READ | WRITE);
		if (r) {
			TEST_ASSERT(r == -ENOMEM, "LOCK after mlock: %s", strerror(-r));
			failed++;
		} else {
			TEST_ASSERT(!lock_cap(vm, UNLOCK, SLOT_BASE, 0), "unlock");
		}
		TEST_ASSERT(!munlock(hva, A_PAGES * page), "munlock: %s", strerror(errno));
	}
	migrated = read_field("/proc/vmstat", "pgmigrate_success ") - migrated;
	kvm_vm_free(vm);
	printf("# LOCK right after mlock(): %d of %d failed; %ld pages migrated, ZONE_MOVABLE %ld pages\n",
	       failed, MLOCK_ROUNDS, migrated, movable);
	TEST_ASSERT(!failed, "%d LOCKs right after mlock() failed", failed);
	TEST_ASSERT(!movable || migrated > 0,
		    "a movable zone, but no page migrated: the pins never left it");
	checks++;
	printf("ok - LOCK right after mlock(), %d times\n", MLOCK_ROUNDS);
}

int main(void)
{
	struct rlimit old;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_ARM_LOCK_USER_MEMORY_REGION));
	page = getpagesize();
	TEST_ASSERT(!getrlimit(RLIMIT_MEMLOCK, &old), "getrlimit");
	set_ipc_lock(false);
	test_exact_limit();
	test_two_vms();
	test_lowered_limit();
	test_mlocked();
	test_cap_ipc_lock();
	test_lock_after_mlock();
	set_ipc_lock(true);
	TEST_ASSERT(!setrlimit(RLIMIT_MEMLOCK, &old), "setrlimit");
	printf("memslot_lock_limits: %u checks, PASS\n", checks);
	return 0;
}
