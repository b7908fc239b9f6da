/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmlock-top's side of the BPF maps: dumping "vm_stats" and "slots",
 * deleting the entries of VMs gone, and the start-up reconciliation.
 */
#ifndef KVMLOCK_BPFSTATE_H
#define KVMLOCK_BPFSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kstate.h"
#include "options.h"
#include "report.h"

struct btf;

/*
 * The nine kvm_memslot_* events, each with its arguments as the BPF
 * programs read them (by position: raw tracepoints): byte sizes, in
 * order. Change with bpf/kvmlock-top.bpf.c.
 */
#define KT_NR_EVENTS		9
#define KT_EVENT_MAX_ARGS	8
struct kt_event_layout {
	const char *name;
	unsigned int nr_args;
	uint8_t size[KT_EVENT_MAX_ARGS];
};
extern const struct kt_event_layout kt_event_layouts[KT_NR_EVENTS];

/*
 * Compares each event's arguments in btf (the prototype of its
 * btf_trace_<event> typedef: a context pointer, then the arguments) with
 * what the programs read. An event btf lacks is not compared (the caller
 * looks for missing events). Returns how many differ, err naming the
 * first in one line; or -EINVAL when a btf_trace_ type is not a pointer to
 * a prototype.
 */
int kt_check_event_layouts(const struct btf *btf, char *err, size_t errlen);

/*
 * Whether VM vm had an event since its entry read dumped (NULL: it had
 * none then): its vm_stats entry's last_event_ns moved, or the entry
 * came or went. Its kernel statistics read meanwhile may be from either
 * side of that event. Returns 1, 0, or a negative errno.
 */
int kt_vm_changed(int stats_fd, uint64_t vm, const struct kt_vm_stats *dumped);

/* Every entry of a map (malloc'd). Returns 0 or a negative errno. */
int kt_dump_stats(int fd, struct kt_stats_entry **out, size_t *nr);
int kt_dump_slots(int fd, struct kt_slot_entry **out, size_t *nr);

/*
 * Deletes the vm_stats and slots entries of these VMs. last (NULL, or nr
 * of them): each VM's vm_stats as it was deleted, with the events since
 * the caller's dump (atomically: BPF_MAP_LOOKUP_AND_DELETE_ELEM), zeroed
 * where it had none (an entry's last_event_ns is never 0).
 */
int kt_delete_vms(int stats_fd, int slots_fd, const uint64_t *vms, size_t nr,
		  struct kt_vm_stats *last);

/*
 * hist: deletes the entries of the VMs of cur (a dump of vm_stats, nr
 * entries) that live (nr_live VM ids) does not have, as kt_delete_vms()
 * does, and gives each one's cur entry what it counted up to then, events
 * since the dump too (an entry deleted already: cur's kept). Returns how
 * many VMs of cur are not live, or a negative errno.
 */
int kt_prune_vms(int stats_fd, int slots_fd, struct kt_stats_entry *cur, size_t nr,
		 const uint64_t *live, size_t nr_live);

/*
 * Seeds "slots" with the locked memslots the kernel listed (of the VMs o
 * wants), each only where the map has no entry for it at all; counts what
 * was seeded and what events already covered. Returns 0 or a negative
 * errno (a full map, say).
 */
int kt_reconcile(int slots_fd, const struct kt_kvm *vms, size_t nr,
		 const struct kt_opts *o, struct kt_reconciled *rec);

/*
 * Makes the "slots" entries of VM k->vm what the kernel lists (k, read
 * just now): every entry of the VM but a LOCK's in flight (PENDING) is
 * deleted, then k's slots are seeded as kt_reconcile() does. For a VM
 * whose state differs from the kernel's for good (an event lost); the
 * caller makes sure no event of the VM came meanwhile. Returns 0 or a
 * negative errno.
 */
int kt_reseed_vm(int slots_fd, const struct kt_kvm *k);

/* --pin: one map to pin, as DIR/name */
struct kt_pin {
	const char *name;	/* a file name: no '/' */
	int fd;			/* the map's */
};

/*
 * Pins each map as dir/name. dir's parent must be a bpffs mount (statfs);
 * dir is created (mode 0700) unless it exists, and *created says which.
 * An existing dir must be empty: anything in it means another kvmlock-top
 * --pin, or an earlier --keep-pinned, owns it. On failure nothing of ours
 * is left (the pins made so far are removed, and dir when we created it),
 * nothing pinned by anyone else is touched, err holds one line and the
 * result is a negative errno:
 *   -ENODEV  the parent is not bpffs (or does not exist)
 *   -EEXIST  dir, or one of the pins, is there already
 *   other    mkdir or BPF_OBJ_PIN failed (-EACCES, -EPERM ...)
 */
int kt_pin_maps(const char *dir, const struct kt_pin *pins, size_t nr,
		bool *created, char *err, size_t errlen);

/*
 * Removes dir/name for each of pins (a missing one is fine), then dir when
 * created and empty. Returns 0, or the negative errno of the first failure
 * (all are tried).
 */
int kt_unpin_maps(const char *dir, const struct kt_pin *pins, size_t nr,
		  bool created);

#endif /* KVMLOCK_BPFSTATE_H */
