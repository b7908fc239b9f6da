/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The user API of KVM_CAP_ARM_LOCK_USER_MEMORY_REGION, for userspace built
 * against headers that predate the kvmlock series (the system's
 * <linux/kvm.h>). The values are those of include/uapi/linux/kvm.h in
 * kernel/patches; tests/host checks that they agree.
 */
#ifndef KVMLOCK_UAPI_H
#define KVMLOCK_UAPI_H

#include <linux/kvm.h>

#ifndef KVM_CAP_ARM_LOCK_USER_MEMORY_REGION
#define KVM_CAP_ARM_LOCK_USER_MEMORY_REGION 1000

/* kvm_enable_cap.flags */
#define KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK	(1 << 0)
#define KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_UNLOCK	(1 << 1)
/* kvm_enable_cap.args[1] with FLAGS_LOCK */
#define KVM_ARM_LOCK_MEM_READ				(1 << 0)
#define KVM_ARM_LOCK_MEM_WRITE				(1 << 1)
/* kvm_enable_cap.args[1] with FLAGS_UNLOCK */
#define KVM_ARM_UNLOCK_MEM_ALL				(1 << 0)
#endif

#endif /* KVMLOCK_UAPI_H */
