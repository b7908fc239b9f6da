// SPDX-License-Identifier: GPL-2.0
/*
 * memslot_lock_faults - memslot locking under allocation failures.
 *
 * With fault injection (CONFIG_FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC),
 * /proc/thread-self/fail-nth makes the Nth slab or page allocation of the
 * calling task fail. For each operation below, and for N = 1, 2, ... until
 * the operation makes fewer than N allocations, the Nth allocation fails
 * and then:
 *  - the call succeeds, or fails with an errno api.rst documents for it;
 *  - pins (nr_foll_pin_acquired - nr_foll_pin_released), the VMM's VmLck,
 *    the VM's statistics (locked_slots, locked_pages,
 *    slot_lock_failures) and the memslot's lock state are exactly what the
 *    result says: all of it locked, or nothing changed;
 *  - the memslot locks and unlocks normally afterwards, and the guest
 *    writes to it and the VMM reads what it wrote.
 * Operations: LOCK RW and LOCK R of a memslot of two stage 2 tables' worth
 * of pages, the first FRESH_PAGES of the second of which the VMM has not
 * touched (dropped again before each LOCK): faulting them in allocates, so
 * that a failure in the second batch must undo the first; the first
 * KVM_RUN after a LOCK (the deferred cache maintenance), UNLOCK, and
 * closing a VM with the memslot locked.
 * A watchdog child shows where the run is stuck, should an operation hang
 * under an allocation failure. The kasan kernel runs it;
 * tests/guest/kmemleak.sh then scans for objects an error path leaked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "selftest_compat.h"

#include "memslot_footprint.h"

#define TEST_SLOT	1
#define TEST_GPA	(1ULL << 32)
#define TEST_MIB	4
/* pages a LOCK faults in itself, from the start of its second batch on */
#define FRESH_PAGES	16
#define PATTERN		0x6661756c74UL
#define MAX_NTH		20000

#define LOCK		KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK
#define UNLOCK		KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_UNLOCK
#define READ		KVM_ARM_LOCK_MEM_READ
#define WRITE		KVM_ARM_LOCK_MEM_WRITE

static long host_page;		/* getpagesize() */
static uint64_t npages;		/* host pages of the memslot */
static uint64_t fresh_first;	/* its first page of the second batch */
static int nth_fd = -1;
static unsigned long injected, violations;

/* Writes PATTERN ^ page index at the start of each of its pages. */
static void guest_code(uint64_t gva, uint64_t pages, uint64_t page_size)
{
	uint64_t i;

	for (;;) {
		for (i = 0; i < pages; i++)
			WRITE_ONCE(*(uint64_t *)(gva + i * page_size), PATTERN ^ i);
		GUEST_SYNC(0);
	}
}

/* Arms the Nth allocation of this thread to fail (0: disarms) */
static void set_nth(unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	TEST_ASSERT(pwrite(nth_fd, buf, len, 0) == len, "fail-nth: %s", strerror(errno));
}

/*
 * Disarms, and says whether the failure was injected: fail-nth counts
 * down to 0 when it is, and keeps what is left otherwise.
 */
static bool disarm(void)
{
	char buf[16] = "";
	ssize_t n = pread(nth_fd, buf, sizeof(buf) - 1, 0);

	TEST_ASSERT(n > 0, "read fail-nth: %s", strerror(errno));
	set_nth(0);
	if (atoi(buf))
		return false;
	injected++;
	return true;
}

/* Faults of every allocation size and context, printing nothing */
static void setup_fault_injection(void)
{
	static const char *const knobs[][2] = {
		{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/failslab/verbose", "0" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/min-order", "0" },
		{ "/sys/kernel/debug/fail_page_alloc/verbose", "0" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(knobs); i++)
		write_file(knobs[i][0], knobs[i][1]);
}

static uint64_t stat_of(struct kvm_vm *vm, const char *name)
{
	return vm_get_stat(vm, name);
}

struct vm_ctx {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	uint64_t *hva;
};

/*
 * The memslot is made with the ioctl, not the library, whose kvm_vm_free()
 * deletes its memslots first, which a locked one refuses: closing the VM
 * unlocks it. vm_teardown() unmaps its memory.
 */
static void vm_setup(struct vm_ctx *c)
{
	uint64_t bytes = TEST_MIB * (1ULL << 20), vm_pages, i;
	struct kvm_userspace_memory_region region = {
		.slot = TEST_SLOT,
		.guest_phys_addr = TEST_GPA,
		.memory_size = bytes,
	};

	/* extra pages for the guest page tables of the memslot, in memslot 0 */
	c->vm = __vm_create_with_one_vcpu(&c->vcpu, bytes / 4096, guest_code);
	kvmlock_ucall_init(c->vm);
	c->hva = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	TEST_ASSERT(c->hva != MAP_FAILED, "mmap: %s", strerror(errno));
	/* pages, not a huge page, which the fresh ones would be part of */
	TEST_ASSERT(!madvise(c->hva, bytes, MADV_NOHUGEPAGE), "madvise: %s", strerror(errno));
	/*
	 * Every page but the fresh ones a real one; the LOCK faults those in
	 * for writing (never the zero page): pins are exact.
	 */
	for (i = 0; i < npages; i++)
		if (i < fresh_first || i >= fresh_first + FRESH_PAGES)
			c->hva[i * host_page / 8] = i;
	region.userspace_addr = (uintptr_t)c->hva;
	vm_ioctl(c->vm, KVM_SET_USER_MEMORY_REGION, &region);
	vm_pages = bytes / c->vm->page_size;
	virt_map(c->vm, TEST_GPA, TEST_GPA, vm_pages);
	vcpu_args_set(c->vcpu, 3, TEST_GPA, vm_pages, c->vm->page_size);
}

/*
 * Gives the fresh pages back, so that the next LOCK faults them in again:
 * the first in the second batch's first pin, whose failure is the LOCK's
 * (GUP goes on after a later one).
 */
static void drop_fresh(struct vm_ctx *c)
{
	TEST_ASSERT(!madvise((char *)c->hva + fresh_first * host_page,
			     FRESH_PAGES * host_page, MADV_DONTNEED),
		    "madvise: %s", strerror(errno));
}

static void vm_teardown(struct vm_ctx *c)
{
	kvm_vm_free(c->vm);
	TEST_ASSERT(!munmap(c->hva, TEST_MIB * (1ULL << 20)), "munmap: %s",
		    strerror(errno));
}

/* The VMM reads, in every page, what the guest wrote there */
static bool vmm_reads_guest_writes(struct vm_ctx *c)
{
	uint64_t vm_pages = TEST_MIB * (1ULL << 20) / c->vm->page_size, i;

	for (i = 0; i < vm_pages; i++)
		if (c->hva[i * c->vm->page_size / 8] != (PATTERN ^ i)) {
			printf("# guest page %lu: the VMM reads %#lx, the guest wrote %#lx\n",
			       i, c->hva[i * c->vm->page_size / 8], PATTERN ^ i);
			return false;
		}
	return true;
}

/* The guest writes every page once; the VMM reads what it wrote */
static bool guest_writes(struct vm_ctx *c)
{
	struct ucall uc;

	memset(c->hva, 0, 8);
	vcpu_run(c->vcpu);
	if (get_ucall(c->vcpu, &uc) != UCALL_SYNC) {
		printf("# the guest did not reach GUEST_SYNC (ucall %lu)\n", uc.cmd);
		return false;
	}
	return vmm_reads_guest_writes(c);
}

/*
 * The VM's locked state and the process' footprint against @base: @locked
 * says whether the memslot is locked (all its pages pinned and charged)
 * or not (nothing).
 */
static bool consistent(struct vm_ctx *c, struct footprint base, bool locked,
		       const char *what, unsigned int n, int r)
{
	struct footprint fp = footprint();
	long want = locked ? (long)npages : 0;
	uint64_t slots = stat_of(c->vm, "locked_slots");
	uint64_t pages = stat_of(c->vm, "locked_pages");
	int again;

	if (fp.pins - base.pins != want ||
	    fp.vmlck_kb - base.vmlck_kb != want * (host_page / 1024) ||
	    slots != (locked ? 1 : 0) || pages != (locked ? npages : 0)) {
		printf("# %s, allocation %u failed (result %d): pins %+ld VmLck %+ld kB "
		       "locked_slots %lu locked_pages %lu, want %s\n", what, n, r,
		       fp.pins - base.pins, fp.vmlck_kb - base.vmlck_kb, slots,
		       pages, locked ? "all locked" : "nothing");
		violations++;
		return false;
	}
	/* the lock state itself: LOCK again is EBUSY exactly when locked */
	again = lock_cap(c->vm, LOCK, TEST_SLOT, READ);
	if (locked ? again != -EBUSY : again != 0) {
		printf("# %s, allocation %u failed: LOCK again gave %d\n", what, n, again);
		violations++;
		return false;
	}
	if (!locked && lock_cap(c->vm, UNLOCK, TEST_SLOT, 0)) {
		printf("# %s, allocation %u failed: cannot unlock\n", what, n);
		violations++;
		return false;
	}
	return true;
}

struct tally {
	const char *what;
	unsigned int calls;		/* allocations made by the operation */
	unsigned int ok, enomem, other;
};

/* Where the run is, for the watchdog: the operation and N */
struct heartbeat {
	char what[32];
	unsigned int n;
	unsigned long beats;
};
static struct heartbeat *beat;
static pid_t watchdog;

static void stop_watchdog(void)
{
	if (watchdog > 0)
		kill(watchdog, SIGKILL);
}

/* A line now and then: a slow run shows where it is */
static void progress(const struct tally *t, unsigned int n)
{
	snprintf(beat->what, sizeof(beat->what), "%s", t->what);
	beat->n = n;
	__atomic_add_fetch(&beat->beats, 1, __ATOMIC_SEQ_CST);
	if (n % 25 == 0)
		printf("# %s: allocation %u\n", t->what, n);
}

static void print_file(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		printf("# %s:\n%s\n", path, buf);
	}
}

/*
 * A child that, when the run makes no progress for a minute, shows where
 * it is stuck (the operation, N, the kernel stack) and ends it: a hang
 * under an allocation failure is a finding, not a timeout.
 */
static void start_watchdog(void)
{
	pid_t parent = getpid();
	unsigned long last = 0;
	char path[64];
	int still = 0, fd;

	beat = mmap(NULL, sizeof(*beat), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(beat != MAP_FAILED, "mmap: %s", strerror(errno));
	watchdog = fork();
	TEST_ASSERT(watchdog >= 0, "fork: %s", strerror(errno));
	if (watchdog) {
		atexit(stop_watchdog);
		return;
	}
	for (;;) {
		sleep(5);
		if (getppid() != parent)
			_exit(0);
		if (beat->beats != last) {
			last = beat->beats;
			still = 0;
			continue;
		}
		if (++still < 12)
			continue;
		printf("# no progress for 60 s: %s, allocation %u failed\n", beat->what,
		       beat->n);
		snprintf(path, sizeof(path), "/proc/%d/stack", parent);
		print_file(path);
		snprintf(path, sizeof(path), "/proc/%d/wchan", parent);
		print_file(path);
		snprintf(path, sizeof(path), "/proc/%d/stat", parent);
		print_file(path);
		/* the backtraces of the CPUs, on the console */
		fd = open("/proc/sysrq-trigger", O_WRONLY);
		if (fd >= 0 && write(fd, "l", 1) == 1)
			sleep(3);
		if (fd >= 0)
			close(fd);
		printf("memslot_lock_faults: FAIL (hang)\n");
		kill(parent, SIGKILL);
		_exit(1);
	}
}

static void tally_result(struct tally *t, int r)
{
	if (!r)
		t->ok++;
	else if (r == -ENOMEM)
		t->enomem++;
	else
		t->other++;
}

static void print_tally(const struct tally *t)
{
	printf("%-26s %6u %6u %6u %6u\n", t->what, t->calls, t->ok, t->enomem, t->other);
}

/*
 * LOCK under its Nth allocation failing: all or nothing, and the failures
 * are counted in slot_lock_failures.
 */
static void faults_in_lock(struct tally *t, uint64_t perm)
{
	struct footprint base = footprint();
	struct vm_ctx c;
	unsigned int n;

	vm_setup(&c);
	base = footprint();
	for (n = 1; n <= MAX_NTH; n++) {
		uint64_t fails = stat_of(c.vm, "slot_lock_failures");
		bool hit;
		int r;

		drop_fresh(&c);
		progress(t, n);
		set_nth(n);
		r = lock_cap(c.vm, LOCK, TEST_SLOT, perm);
		hit = disarm();
		if (r && r != -ENOMEM) {
			printf("# %s, allocation %u failed: undocumented %s\n", t->what, n,
			       strerror(-r));
			violations++;
		}
		if (hit)
			tally_result(t, r);
		if (stat_of(c.vm, "slot_lock_failures") != fails + !!r) {
			printf("# %s, allocation %u failed: slot_lock_failures did not count it\n",
			       t->what, n);
			violations++;
		}
		if (!consistent(&c, base, !r, t->what, n, r))
			break;
		if (!r)
			TEST_ASSERT(!lock_cap(c.vm, UNLOCK, TEST_SLOT, 0), "unlock");
		if (!hit) {
			t->calls = n - 1;
			break;
		}
	}
	TEST_ASSERT(n <= MAX_NTH, "%s: still allocating after %u", t->what, MAX_NTH);
	TEST_ASSERT(!lock_cap(c.vm, LOCK, TEST_SLOT, perm), "%s: a last LOCK", t->what);
	if (!guest_writes(&c))
		violations++;
	vm_teardown(&c);
}

/*
 * The first KVM_RUN after a LOCK does the deferred cache maintenance: it
 * may fail, and then the next one must do it and run the guest.
 */
static void faults_in_first_run(struct tally *t)
{
	struct footprint base;
	struct ucall uc;
	struct vm_ctx c;
	unsigned int n;

	vm_setup(&c);
	base = footprint();
	for (n = 1; n <= MAX_NTH; n++) {
		bool hit;
		int r;

		TEST_ASSERT(!lock_cap(c.vm, LOCK, TEST_SLOT, READ | WRITE), "lock");
		memset(c.hva, 0, 8);
		progress(t, n);
		set_nth(n);
		r = __vcpu_run(c.vcpu) ? -errno : 0;
		hit = disarm();
		if (hit)
			tally_result(t, r);
		if (r && r != -ENOMEM && r != -EFAULT) {
			printf("# %s, allocation %u failed: undocumented %s\n", t->what, n,
			       strerror(-r));
			violations++;
		}
		/* the run got the guest to GUEST_SYNC, or the next one does */
		if (!r && get_ucall(c.vcpu, &uc) == UCALL_SYNC) {
			if (!vmm_reads_guest_writes(&c))
				violations++;
		} else if (!guest_writes(&c)) {
			violations++;
		}
		TEST_ASSERT(!lock_cap(c.vm, UNLOCK, TEST_SLOT, 0), "unlock");
		if (!consistent(&c, base, false, t->what, n, r))
			break;
		if (!hit) {
			t->calls = n - 1;
			break;
		}
	}
	TEST_ASSERT(n <= MAX_NTH, "%s: still allocating after %u", t->what, MAX_NTH);
	vm_teardown(&c);
}

/* UNLOCK under its Nth allocation failing: it still unlocks everything */
static void faults_in_unlock(struct tally *t)
{
	struct footprint base;
	struct vm_ctx c;
	unsigned int n;

	vm_setup(&c);
	base = footprint();
	for (n = 1; n <= MAX_NTH; n++) {
		bool hit;
		int r;

		TEST_ASSERT(!lock_cap(c.vm, LOCK, TEST_SLOT, READ | WRITE), "lock");
		if (n & 1 && !guest_writes(&c))	/* after a run, and before any */
			violations++;
		progress(t, n);
		set_nth(n);
		r = lock_cap(c.vm, UNLOCK, TEST_SLOT, 0);
		hit = disarm();
		if (hit)
			tally_result(t, r);
		if (r) {
			printf("# %s, allocation %u failed: UNLOCK failed with %s\n", t->what,
			       n, strerror(-r));
			violations++;
			lock_cap(c.vm, UNLOCK, TEST_SLOT, 0);
		}
		if (!consistent(&c, base, false, t->what, n, r))
			break;
		if (!hit) {
			t->calls = n - 1;
			break;
		}
	}
	TEST_ASSERT(n <= MAX_NTH, "%s: still allocating after %u", t->what, MAX_NTH);
	vm_teardown(&c);
}

/*
 * Closing a VM with a memslot locked: nothing stays pinned or charged.
 * The VM goes with its last fd, a dup(), closed with the Nth allocation
 * failing after the library freed the rest.
 */
static void faults_in_close(struct tally *t)
{
	struct footprint base = footprint(), fp;
	unsigned int n;

	for (n = 1; n <= MAX_NTH; n++) {
		struct vm_ctx c;
		bool hit;
		int fd;

		vm_setup(&c);
		TEST_ASSERT(!lock_cap(c.vm, LOCK, TEST_SLOT, READ | WRITE), "lock");
		if (n & 1 && !guest_writes(&c))
			violations++;
		fd = dup(c.vm->fd);
		TEST_ASSERT(fd >= 0, "dup: %s", strerror(errno));
		kvm_vm_free(c.vm);
		progress(t, n);
		set_nth(n);
		TEST_ASSERT(!close(fd), "close: %s", strerror(errno));
		hit = disarm();
		TEST_ASSERT(!munmap(c.hva, TEST_MIB * (1ULL << 20)), "munmap");
		if (hit)
			tally_result(t, 0);
		fp = footprint();
		if (fp.pins != base.pins || fp.vmlck_kb != base.vmlck_kb) {
			printf("# %s, allocation %u failed: pins %+ld VmLck %+ld kB left\n",
			       t->what, n, fp.pins - base.pins, fp.vmlck_kb - base.vmlck_kb);
			violations++;
			break;
		}
		if (!hit) {
			t->calls = n - 1;
			break;
		}
	}
	TEST_ASSERT(n <= MAX_NTH, "%s: still allocating after %u", t->what, MAX_NTH);
}

int main(void)
{
	struct tally tallies[] = {
		{ .what = "LOCK RW" }, { .what = "LOCK R" },
		{ .what = "first KVM_RUN after LOCK" }, { .what = "UNLOCK" },
		{ .what = "VM close, memslot locked" },
	};
	struct footprint base, end;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	start_watchdog();
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_ARM_LOCK_USER_MEMORY_REGION));
	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	TEST_ASSERT(nth_fd >= 0, "no /proc/thread-self/fail-nth (%s): this kernel lacks "
		    "CONFIG_FAULT_INJECTION", strerror(errno));
	setup_fault_injection();
	host_page = getpagesize();
	npages = TEST_MIB * (1ULL << 20) / host_page;
	/* a batch is a last-level table's pages; the memslot is 2 or more */
	fresh_first = host_page / 8;
	TEST_ASSERT(npages >= fresh_first + FRESH_PAGES, "the memslot is one batch");
	base = footprint();

	faults_in_lock(&tallies[0], READ | WRITE);
	printf("# %s: done, %u allocations\n", tallies[0].what, tallies[0].calls);
	faults_in_lock(&tallies[1], READ);
	printf("# %s: done, %u allocations\n", tallies[1].what, tallies[1].calls);
	faults_in_first_run(&tallies[2]);
	printf("# %s: done, %u allocations\n", tallies[2].what, tallies[2].calls);
	faults_in_unlock(&tallies[3]);
	printf("# %s: done, %u allocations\n", tallies[3].what, tallies[3].calls);
	faults_in_close(&tallies[4]);

	end = footprint();
	printf("%-26s %6s %6s %6s %6s\n", "allocation N failed in", "N max", "ok",
	       "ENOMEM", "other");
	for (i = 0; i < ARRAY_SIZE(tallies); i++)
		print_tally(&tallies[i]);
	printf("faults injected %lu, invariant violations %lu, pins left %+ld, VmLck left %+ld kB\n",
	       injected, violations, end.pins - base.pins, end.vmlck_kb - base.vmlck_kb);
	/* no allocation to fail in a LOCK would mean no fault injection */
	TEST_ASSERT(tallies[0].calls && tallies[1].calls,
		    "LOCK made no allocation to fail");
	TEST_ASSERT(!violations && end.pins == base.pins && end.vmlck_kb == base.vmlck_kb,
		    "%lu invariant violations", violations);
	printf("memslot_lock_faults: PASS\n");
	return 0;
}
