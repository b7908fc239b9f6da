// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_smoke_test - smoke test of the kvmlock test bed, run in the test VM.
 *
 * KVM came up in VHE mode, a VM with a memslot and a vCPU can be created, and
 * the vCPU runs guest code that stores to an IPA no memslot backs and exits
 * to userspace with KVM_EXIT_MMIO carrying exactly that address and value.
 *
 * Without /dev/kvm this test fails (KSFT_FAIL): it is the one that says KVM
 * came up, so it must not skip as the selftest library would.
 *
 * Built against the KVM selftest library of the kernel tree (like the
 * upstream tests). A hand-rolled guest (raw ioctls, our own stage 1 tables)
 * executed zeros under QEMU 7.2's nested TCG here, while the library's guests
 * run: see docs/testing.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/klog.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

#define MMIO_GPA	(1ULL << 38)	/* inside 40-bit IPA, outside memslots */
#define MMIO_VALUE	0xbeefULL

static void guest_code(void)
{
	WRITE_ONCE(*(volatile uint64_t *)MMIO_GPA, MMIO_VALUE);
	for (;;)
		;
}

static bool kernel_log_says(const char *needle)
{
	int len = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *buf;
	bool found;

	if (len <= 0)
		return false;
	buf = calloc(1, len + 1);
	TEST_ASSERT(buf, "calloc");
	len = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, len);
	found = len > 0 && strstr(buf, needle);
	free(buf);
	return found;
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct kvm_run *run;
	uint64_t value = 0;

	ksft_print_header();
	ksft_set_plan(3);

	ksft_test_result(kernel_log_says("kvm [1]: VHE mode initialized successfully"),
			 "KVM initialised in VHE mode\n");

	/* vm_create would exit with KSFT_SKIP when KVM is missing. */
	if (access("/dev/kvm", R_OK | W_OK))
		ksft_exit_fail_msg("/dev/kvm: %s: KVM is not available\n", strerror(errno));

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	virt_map(vm, MMIO_GPA, MMIO_GPA, 1);
	vcpu_run(vcpu);
	run = vcpu->run;
	ksft_test_result(run->exit_reason == KVM_EXIT_MMIO,
			 "KVM_RUN exits with KVM_EXIT_MMIO (exit reason %u)\n",
			 run->exit_reason);

	memcpy(&value, run->mmio.data, sizeof(value));
	ksft_print_msg("mmio: addr %#llx len %u is_write %u data %#lx\n",
		       run->mmio.phys_addr, run->mmio.len, run->mmio.is_write, value);
	ksft_test_result(run->mmio.phys_addr == MMIO_GPA && run->mmio.len == 8 &&
			 run->mmio.is_write && value == MMIO_VALUE,
			 "the exit carries the guest's address, size and value\n");

	kvm_vm_free(vm);
	ksft_finished();
}
