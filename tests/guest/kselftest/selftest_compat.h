/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the KVM selftest libraries of the kernels our guest
 * programs build against (Linux 6.1 and 6.12). Include after kvm_util.h.
 */
#ifndef KVMLOCK_SELFTEST_COMPAT_H
#define KVMLOCK_SELFTEST_COMPAT_H

/*
 * Linux 6.1 leaves the ucall MMIO page to the test, which picks an IPA
 * outside every memslot it has added: call this after adding them. Since
 * 6.5 (VM shapes), creating the VM sets ucall up already, past memslot 0.
 */
#ifdef VM_SHAPE_DEFAULT
#define kvmlock_ucall_init(vm)	do { (void)(vm); } while (0)
#else
#define kvmlock_ucall_init(vm)	ucall_init(vm, NULL)
#endif

#endif
