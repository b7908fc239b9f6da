// SPDX-License-Identifier: GPL-2.0
/*
 * memslot_lock_workload - a known sequence of memslot lock operations, for
 * the tests and benchmarks of the kvm_memslot_* trace events.
 *
 * Without -b it runs the "events" scenario below, every step of which the
 * tests know the exact trace events of (tests/guest/trace_events.expected):
 * locks that succeed, fail with EBUSY and with ENOMEM (RLIMIT_MEMLOCK,
 * without CAP_IPC_LOCK), unlocks of one memslot, of all, of an unlocked
 * memslot (EINVAL), before and after a vCPU ran, a vCPU reset with a
 * memslot locked, and a VM that goes away with a memslot locked. It checks
 * each step's result and exits non-zero on any surprise, so a test never
 * matches events of a workload gone wrong.
 *
 * With -b MIB it locks and unlocks one pre-faulted MIB memslot -n times and
 * prints the time of each lock and unlock as seen by the VMM, and medians;
 * with -c too, the memory is not pre-faulted (locking faults it in).
 *
 * Built against the KVM selftest library of the kernel tree.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "selftest_compat.h"
#include "timing.h"

/* lock_cap(): 0 or -errno, so that a step states the result it expects */
#include "memslot_footprint.h"

#define PAGE_SIZE	4096UL
#define SLOT_A		1
#define SLOT_B		2
#define GPA_A		(1ULL << 32)
#define GPA_B		(GPA_A + (1ULL << 20))
#define NPAGES_A	64
#define NPAGES_B	16
/* Room for SLOT_A, not for SLOT_A and SLOT_B. */
#define LIMIT_PAGES	(NPAGES_A + NPAGES_B / 2)

#define LOCK		KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK
#define UNLOCK		KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_UNLOCK
#define RW		(KVM_ARM_LOCK_MEM_READ | KVM_ARM_LOCK_MEM_WRITE)
#define RO		KVM_ARM_LOCK_MEM_READ
#define ALL		KVM_ARM_UNLOCK_MEM_ALL

static void guest_code(void)
{
	GUEST_DONE();
}

static void step(struct kvm_vm *vm, const char *what, uint32_t flags,
		 uint64_t slot, uint64_t arg, int expected)
{
	int ret = lock_cap(vm, flags, slot, arg);

	printf("%s: %d\n", what, ret);
	TEST_ASSERT(ret == expected, "%s: got %d, expected %d", what, ret,
		    expected);
}

static void drop_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	TEST_ASSERT(!syscall(SYS_capget, &hdr, data), "capget");
	data[0].effective &= ~(1U << CAP_IPC_LOCK);
	TEST_ASSERT(!syscall(SYS_capset, &hdr, data), "capset");
}

static void run_vcpu_once(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	vcpu_run(vcpu);
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_DONE, "guest did not finish");
	printf("vcpu ran\n");
}

/*
 * KVM_ARM_VCPU_INIT again, as a VMM resets a vCPU, then set the registers
 * it had on creation (the reset cleared them) and run the guest again.
 */
static void reset_and_run_vcpu(struct kvm_vcpu *vcpu, uint64_t sp, uint64_t pc)
{
	aarch64_vcpu_setup(vcpu, NULL);
	vcpu_set_reg(vcpu, ARM64_CORE_REG(sp_el1), sp);
	vcpu_set_reg(vcpu, ARM64_CORE_REG(regs.pc), pc);
	printf("vcpu reset\n");
	run_vcpu_once(vcpu);
}

static struct kvm_vm *create_vm(struct kvm_vcpu **vcpu)
{
	struct kvm_vm *vm = vm_create_with_one_vcpu(vcpu, guest_code);

	/* The tests read the VM's pid from the events: say which it is. */
	printf("pid %d\n", getpid());
	return vm;
}

static void add_slot(struct kvm_vm *vm, uint32_t slot, uint64_t gpa,
		     uint64_t npages)
{
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, gpa, slot,
				    npages, 0);
	printf("slot %u: gpa %#lx hva %p npages %lu\n", slot, gpa,
	       addr_gpa2hva(vm, gpa), npages);
}

static void events_scenario(unsigned int hold_seconds)
{
	struct rlimit limit = {
		.rlim_cur = LIMIT_PAGES * PAGE_SIZE,
		.rlim_max = RLIM_INFINITY,
	};
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = create_vm(&vcpu);
	uint64_t sp, pc;

	add_slot(vm, SLOT_A, GPA_A, NPAGES_A);
	add_slot(vm, SLOT_B, GPA_B, NPAGES_B);
	/* After adding the memslots: it picks an IPA outside all of them. */
	kvmlock_ucall_init(vm);

	step(vm, "lock slot 1 RW", LOCK, SLOT_A, RW, 0);
	step(vm, "lock slot 2 R", LOCK, SLOT_B, RO, 0);
	step(vm, "lock slot 1 RW again", LOCK, SLOT_A, RW, -EBUSY);
	step(vm, "unlock slot 2", UNLOCK, SLOT_B, 0, 0);
	step(vm, "unlock slot 2 again", UNLOCK, SLOT_B, 0, -EINVAL);

	TEST_ASSERT(!setrlimit(RLIMIT_MEMLOCK, &limit), "setrlimit");
	drop_ipc_lock();
	step(vm, "lock slot 2 RW beyond RLIMIT_MEMLOCK", LOCK, SLOT_B, RW,
	     -ENOMEM);

	step(vm, "unlock all", UNLOCK, 0, ALL, 0);
	vcpu_get_reg(vcpu, ARM64_CORE_REG(sp_el1), &sp);
	vcpu_get_reg(vcpu, ARM64_CORE_REG(regs.pc), &pc);
	step(vm, "lock slot 1 RW before running", LOCK, SLOT_A, RW, 0);
	run_vcpu_once(vcpu);
	/* Without FWB, a reset queues cache maintenance for the next run. */
	reset_and_run_vcpu(vcpu, sp, pc);
	step(vm, "unlock slot 1 after running", UNLOCK, SLOT_A, 0, 0);
	step(vm, "lock slot 1 RW to exit with", LOCK, SLOT_A, RW, 0);

	fflush(stdout);
	sleep(hold_seconds);
	/*
	 * Exit with slot 1 locked: the VM is destroyed with it (freeing the VM
	 * here would fail, as its locked memslot cannot be deleted).
	 */
	printf("exit with slot 1 locked\n");
}

static void bench(unsigned long mib, unsigned int reps, bool cold)
{
	uint64_t npages = mib << (20 - 12);
	uint64_t *lock_ns = calloc(reps, sizeof(*lock_ns));
	uint64_t *unlock_ns = calloc(reps, sizeof(*unlock_ns));
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = create_vm(&vcpu);
	unsigned int i;
	uint64_t t0;

	TEST_ASSERT(lock_ns && unlock_ns, "calloc");
	add_slot(vm, SLOT_A, GPA_A, npages);
	/* Pre-fault, so that the figures are pinning and mapping only. */
	if (!cold)
		memset(addr_gpa2hva(vm, GPA_A), 0x6b, npages * PAGE_SIZE);

	for (i = 0; i < reps; i++) {
		t0 = now_ns();
		TEST_ASSERT(!lock_cap(vm, LOCK, SLOT_A, RW), "lock: %s",
			    strerror(errno));
		lock_ns[i] = now_ns() - t0;
		t0 = now_ns();
		TEST_ASSERT(!lock_cap(vm, UNLOCK, SLOT_A, 0), "unlock: %s",
			    strerror(errno));
		unlock_ns[i] = now_ns() - t0;
		printf("rep %u: lock %lu us unlock %lu us\n", i,
		       lock_ns[i] / 1000, unlock_ns[i] / 1000);
	}
	printf("median of %u: lock %lu us unlock %lu us (%lu MiB)\n", reps,
	       percentile(lock_ns, reps, 50) / 1000,
	       percentile(unlock_ns, reps, 50) / 1000,
	       mib);
	kvm_vm_free(vm);
	free(lock_ns);
	free(unlock_ns);
}

static void usage(const char *name)
{
	fprintf(stderr, "usage: %s [-H SECONDS] | -b MIB [-n REPS] [-c]\n", name);
	exit(2);
}

static unsigned long number(const char *arg, unsigned long min)
{
	unsigned long value;
	char *end;

	errno = 0;
	value = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || value < min || value > 1UL << 20) {
		fprintf(stderr, "memslot_lock_workload: invalid number: %s\n", arg);
		exit(2);
	}
	return value;
}

int main(int argc, char *argv[])
{
	unsigned int hold = 0, reps = 5;
	unsigned long mib = 0;
	bool cold = false;
	int opt;

	while ((opt = getopt(argc, argv, "H:b:n:c")) != -1) {
		switch (opt) {
		case 'c':
			cold = true;
			break;
		case 'H':
			hold = number(optarg, 0);
			break;
		case 'b':
			mib = number(optarg, 1);
			break;
		case 'n':
			reps = number(optarg, 1);
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind != argc)
		usage(argv[0]);

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (mib)
		bench(mib, reps, cold);
	else
		events_scenario(hold);
	return 0;
}
