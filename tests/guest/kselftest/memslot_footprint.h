/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What memslot_lock_faults, memslot_lock_limits and memslot_lock_workload
 * share: the LOCK/UNLOCK call, and the exact footprint of locked memory
 * (system-wide pins, the process' VmLck). Include after kvm_util.h and
 * test_util.h.
 */
#ifndef KVMLOCK_MEMSLOT_FOOTPRINT_H
#define KVMLOCK_MEMSLOT_FOOTPRINT_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 0 or -errno */
static inline int lock_cap(struct kvm_vm *vm, uint32_t flags, uint64_t slot,
			   uint64_t arg)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_ARM_LOCK_USER_MEMORY_REGION,
		.flags = flags,
		.args = { slot, arg },
	};

	return __vm_ioctl(vm, KVM_ENABLE_CAP, &cap) ? -errno : 0;
}

static inline void write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	TEST_ASSERT(fd >= 0 && write(fd, val, strlen(val)) == (ssize_t)strlen(val),
		    "write %s to %s: %s", val, path, strerror(errno));
	close(fd);
}

/* The number after @key at the start of a line of @path */
static inline long read_field(const char *path, const char *key)
{
	char line[256];
	size_t len = strlen(key);
	long val = -1;
	FILE *f = fopen(path, "r");

	TEST_ASSERT(f, "open %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len)) {
			val = atol(line + len);
			break;
		}
	}
	fclose(f);
	TEST_ASSERT(val >= 0, "no %s in %s", key, path);
	return val;
}

struct footprint {
	long pins;		/* nr_foll_pin_acquired - nr_foll_pin_released */
	long vmlck_kb;		/* this process' VmLck */
};

static inline struct footprint footprint(void)
{
	struct footprint fp;

	/* vmstat counters are per-CPU first: fold them for an exact reading */
	write_file("/proc/sys/vm/stat_refresh", "1");
	fp.pins = read_field("/proc/vmstat", "nr_foll_pin_acquired ") -
		  read_field("/proc/vmstat", "nr_foll_pin_released ");
	fp.vmlck_kb = read_field("/proc/self/status", "VmLck:");
	return fp;
}

#endif /* KVMLOCK_MEMSLOT_FOOTPRINT_H */
