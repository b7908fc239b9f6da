/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmlock-top's side of the BPF maps: dumping "vm_stats" and "slots",
 * deleting the entries of VMs gone, and the start-up reconciliation.
 */
#ifndef KVMLOCK_BPFSTATE_H
#define KVMLOCK_BPFSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "kstate.h"
#include "options.h"
#include "report.h"

/* Every entry of a map (malloc'd). Returns 0 or a negative errno. */
int kt_dump_stats(int fd, struct kt_stats_entry **out, size_t *nr);
int kt_dump_slots(int fd, struct kt_slot_entry **out, size_t *nr);

/* Deletes the vm_stats and slots entries of these VMs */
int kt_delete_vms(int stats_fd, int slots_fd, const uint64_t *vms, size_t nr);

/*
 * Seeds "slots" with the locked memslots the kernel listed (of the VMs o
 * wants), each only where the map has no entry for it at all; counts what
 * was seeded and what events already covered. Returns 0 or a negative
 * errno (a full map, say).
 */
int kt_reconcile(int slots_fd, const struct kt_kvm *vms, size_t nr,
		 const struct kt_opts *o, struct kt_reconciled *rec);

#endif /* KVMLOCK_BPFSTATE_H */
