// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlock-workload: a minimal VMM that creates VMs and memslots and locks
 * and unlocks them (KVM_CAP_ARM_LOCK_USER_MEMORY_REGION) on command, for the
 * kvmlock-top end-to-end test and the demo. No vCPU: locking needs none.
 *
 * Reads one command per line on stdin and answers each with one line on
 * stdout ("ok ..." or "err ERRNO-NAME ..."), so that a shell script can
 * drive it step by step through a FIFO:
 *
 *   vm NAME [thr]             create a VM: "ok vm=<event id> fd=<fd>
 *                             tid=<tid>"; with thr, from a thread that
 *                             then sleeps until exit (tid: the thread's)
 *   slot NAME SLOT NPAGES     add memslot SLOT of NPAGES written pages, at
 *                             IPA 4 GiB + SLOT GiB
 *   lock NAME SLOT r|rw       lock it for reading (and writing)
 *   unlock NAME SLOT          unlock it
 *   unlockall NAME            unlock every memslot of the VM
 *   close NAME                close the VM's fd (the VM goes away)
 *   fork                      fork a child that keeps every fd (so every VM)
 *                             and sleeps until killed: "ok child=<pid>";
 *                             the VMs outlive this process's exit then
 *   rlimit BYTES              set RLIMIT_MEMLOCK and drop CAP_IPC_LOCK, so
 *                             that the limit applies
 *   sleep MS                  sleep
 *   exit                      exit (every VM goes away)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kvmlock/uapi.h"

#define MAX_VMS		8
#define NAME_LEN	16
#define SLOT_BASE	(1ULL << 32)
#define SLOT_STRIDE	(1ULL << 30)

struct vm {
	char name[NAME_LEN];
	int fd;
};

static struct vm vms[MAX_VMS];
static int kvm_fd = -1;
static long page_size;

/* Every command answers with one line: it returns what this returns. */
__attribute__((format(printf, 1, 2)))
static int reply(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return 0;
}

static int reply_errno(const char *what)
{
	return reply("err %s %s", strerrorname_np(errno) ?: "?", what);
}

static struct vm *find_vm(const char *name)
{
	int i;

	for (i = 0; i < MAX_VMS; i++)
		if (vms[i].fd >= 0 && !strcmp(vms[i].name, name))
			return &vms[i];
	return NULL;
}

/*
 * The VM's id in the trace events, from its debugfs locked_memslots
 * (<tid>-<fd>: tid, the thread that created it).
 */
static long long vm_event_id(pid_t tid, int fd)
{
	char path[96];
	long long id = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%d-%d/locked_memslots",
		 (int)tid, fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "vm %lld", &id) != 1)
		id = -1;
	fclose(f);
	return id;
}

/*
 * KVM_CREATE_VM in a thread of its own, which then stays (until exit),
 * asleep: KVM names the VM by that thread's pid, not the process's.
 */
struct vm_thread {
	int fd;
	int err;
	pid_t tid;
	int done[2];			/* a pipe: created */
};

static void *create_vm_thread(void *arg)
{
	struct vm_thread *t = arg;
	char c = 1;

	t->tid = gettid();
	t->fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	t->err = errno;
	if (write(t->done[1], &c, 1) != 1)
		abort();
	for (;;)
		pause();
	return NULL;
}

/* thread: the VM created by another thread of this process (see above) */
static int cmd_vm(const char *name, bool thread)
{
	struct vm_thread t = { .tid = getpid() };
	pthread_t th;
	char c;
	int i;

	if (find_vm(name))
		return reply("err EEXIST vm %s exists", name);
	for (i = 0; i < MAX_VMS && vms[i].fd >= 0; i++)
		;
	if (i == MAX_VMS)
		return reply("err ENOSPC too many VMs");
	if (!thread) {
		t.fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	} else {
		if (pipe(t.done))
			return reply_errno("pipe");
		errno = pthread_create(&th, NULL, create_vm_thread, &t);
		if (!errno && read(t.done[0], &c, 1) != 1)
			errno = EIO;
		close(t.done[0]);
		close(t.done[1]);
		if (errno)
			return reply_errno("pthread_create");
		pthread_detach(th);
		errno = t.err;
	}
	if (t.fd < 0)
		return reply_errno("KVM_CREATE_VM");
	vms[i].fd = t.fd;
	snprintf(vms[i].name, sizeof(vms[i].name), "%s", name);
	return reply("ok vm=%lld fd=%d tid=%d", vm_event_id(t.tid, t.fd), t.fd, (int)t.tid);
}

static int cmd_slot(struct vm *vm, unsigned int slot, unsigned long npages)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.guest_phys_addr = SLOT_BASE + slot * SLOT_STRIDE,
		.memory_size = npages * page_size,
	};
	char *mem;

	mem = mmap(NULL, region.memory_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return reply_errno("mmap");
	/* Written, so that a lock pins real pages, not the zero page. */
	memset(mem, 0x6b, region.memory_size);
	region.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region)) {
		reply_errno("KVM_SET_USER_MEMORY_REGION");
		munmap(mem, region.memory_size);
		return 0;
	}
	return reply("ok hva=%p", mem);
}

static int lock_cap(struct vm *vm, uint32_t flags, uint64_t a0, uint64_t a1)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_ARM_LOCK_USER_MEMORY_REGION,
		.flags = flags,
		.args = { a0, a1 },
	};

	if (ioctl(vm->fd, KVM_ENABLE_CAP, &cap))
		return reply_errno("KVM_ENABLE_CAP");
	return reply("ok");
}

static void drop_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return;
	data[0].effective &= ~(1U << CAP_IPC_LOCK);
	syscall(SYS_capset, &hdr, data);
}

static int cmd_rlimit(unsigned long long bytes)
{
	struct rlimit rl = { .rlim_cur = bytes, .rlim_max = bytes };

	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		return reply_errno("setrlimit");
	drop_ipc_lock();
	return reply("ok");
}

static int cmd_fork(void)
{
	pid_t child = fork();

	if (child < 0)
		return reply_errno("fork");
	if (!child)
		for (;;)
			pause();
	return reply("ok child=%d", (int)child);
}

static int run(char *line)
{
	char cmd[16], name[NAME_LEN], perm[4];
	unsigned long long n;
	unsigned int slot;
	struct vm *vm;
	int words;

	words = sscanf(line, "%15s %15s %u %3s", cmd, name, &slot, perm);
	if (words < 1)
		return reply("err EINVAL empty command");
	if (!strcmp(cmd, "exit"))
		exit(0);
	if (!strcmp(cmd, "rlimit") && sscanf(line, "%*s %llu", &n) == 1)
		return cmd_rlimit(n);
	if (!strcmp(cmd, "fork"))
		return cmd_fork();
	if (!strcmp(cmd, "sleep") && sscanf(line, "%*s %llu", &n) == 1) {
		usleep(n * 1000);
		return reply("ok");
	}
	if (words < 2)
		return reply("err EINVAL bad command: %s", line);
	if (!strcmp(cmd, "vm"))
		return cmd_vm(name, sscanf(line, "%*s %*s %3s", perm) == 1 &&
			      !strcmp(perm, "thr"));
	vm = find_vm(name);
	if (!vm)
		return reply("err ENOENT no vm %s", name);
	if (!strcmp(cmd, "close")) {
		close(vm->fd);
		vm->fd = -1;
		return reply("ok");
	}
	if (!strcmp(cmd, "unlockall"))
		return lock_cap(vm, KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_UNLOCK, 0,
				KVM_ARM_UNLOCK_MEM_ALL);
	if (words >= 3 && !strcmp(cmd, "unlock"))
		return lock_cap(vm, KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_UNLOCK, slot, 0);
	if (words == 4 && !strcmp(cmd, "lock") &&
	    (!strcmp(perm, "r") || !strcmp(perm, "rw")))
		return lock_cap(vm, KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK, slot,
				KVM_ARM_LOCK_MEM_READ |
				(perm[1] ? KVM_ARM_LOCK_MEM_WRITE : 0));
	if (!strcmp(cmd, "slot") && sscanf(line, "%*s %*s %*u %llu", &n) == 1 && n)
		return cmd_slot(vm, slot, n);
	return reply("err EINVAL bad command: %s", line);
}

int main(void)
{
	char line[256];
	int i;

	for (i = 0; i < MAX_VMS; i++)
		vms[i].fd = -1;
	page_size = sysconf(_SC_PAGESIZE);
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		fprintf(stderr, "kvmlock-workload: /dev/kvm: %s\n", strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		run(line);
	}
	return 0;
}
