// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlock-top's BPF side: raw tracepoints on the nine kvm_memslot_* events.
 * They read only the events' scalar arguments (no kernel structures), so
 * the object carries no CO-RE relocations and loads on any kernel with BTF.
 *
 * State lives in maps, not in the event stream: "slots" (per memslot) and
 * "vm_stats" (per-VM cumulative counters) stay exact when the ring buffer
 * "events" overflows; its reserve failures are counted in events_lost.
 * Only trace streams events (stream_events): top and hist read the maps,
 * and count events in events_seen.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define __KVMLOCK_BPF__
#include "kvmlock/kvmlock-top.h"

char LICENSE[] SEC("license") = "GPL";

/* -p PID...: set before load; nr_target_pids == 0 means every VM */
const volatile __u32 target_pids[KT_MAX_PIDS] = {};
const volatile __u32 nr_target_pids = 0;
/*
 * trace: a ring buffer record per event. top and hist: none; they read the
 * maps at the end of each interval, and a record per event only to count
 * it cost 4.7% of a CPU at 11,000 events/s (make bench-kvmlock-top).
 */
const volatile bool stream_events = false;

/* Read by the tool through the mmapped .bss */
__u64 events_seen = 0;		/* events of the VMs wanted, streamed or not */
__u64 events_lost = 0;		/* ring buffer reserve failures */
__u64 tombstones = 0;		/* unlocks of slots with no entry, before reconcile_done */
__u64 map_update_errors = 0;	/* a map was full */
/*
 * Set by the tool once the start-up reconciliation has seeded "slots":
 * from then on no stale snapshot can re-insert a slot, so an unlock may
 * delete its entry instead of leaving a tombstone.
 */
__u32 reconcile_done = 0;

/* Zeroed value to create vm_stats entries from (too big for the stack) */
struct kt_vm_stats zero_stats = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KT_MAX_SLOT_ENTRIES);
	__type(key, struct kt_slot_key);
	__type(value, struct kt_slot);
} slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KT_MAX_VMS);
	__type(key, __u64);
	__type(value, struct kt_vm_stats);
} vm_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, KT_RINGBUF_DEFAULT);
} events SEC(".maps");

/*
 * -p names VMMs (processes); an event names the thread that created its VM.
 * Either matches: the VMM's own calls (LOCK, UNLOCK, KVM_RUN) run in one of
 * its threads, whichever created the VM; the event's pid covers the rest
 * (a VM destroyed by its last reference's owner).
 */
static __always_inline bool pid_wanted(pid_t pid)
{
	__u32 tgid, i;

	if (!nr_target_pids)
		return true;
	tgid = bpf_get_current_pid_tgid() >> 32;
	for (i = 0; i < KT_MAX_PIDS; i++) {
		if (i >= nr_target_pids)
			break;
		if (target_pids[i] == (__u32)pid || target_pids[i] == tgid)
			return true;
	}
	return false;
}

static __always_inline struct kt_vm_stats *vm_get(__u64 vm, pid_t pid, __u64 now)
{
	struct kt_vm_stats *s;

	s = bpf_map_lookup_elem(&vm_stats, &vm);
	if (!s) {
		/* EEXIST: another CPU created it first, which is fine */
		bpf_map_update_elem(&vm_stats, &vm, &zero_stats, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&vm_stats, &vm);
		if (!s) {
			__sync_fetch_and_add(&map_update_errors, 1);
			return NULL;
		}
	}
	s->pid = pid;
	s->last_event_ns = now;
	return s;
}

static __always_inline void emit(__u32 type, __u64 vm, pid_t pid, __u32 slot,
				 int ret, __u64 a0, __u64 a1, __u64 a2, __u64 a3,
				 __u64 a4, __u64 now)
{
	struct kt_event *e;

	__sync_fetch_and_add(&events_seen, 1);
	if (!stream_events)
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&events_lost, 1);
		return;
	}
	e->ts_ns = now;
	e->vm = vm;
	e->pid = pid;
	e->slot = slot;
	e->type = type;
	e->ret = ret;
	e->a[0] = a0;
	e->a[1] = a1;
	e->a[2] = a2;
	e->a[3] = a3;
	e->a[4] = a4;
	bpf_ringbuf_submit(e, 0);
}

/* A PENDING entry for pin/map; a TOMBSTONE is replaced (the slot relocks) */
static __always_inline struct kt_slot *slot_pending(__u64 vm, pid_t pid, __u32 slot)
{
	struct kt_slot_key key = { .vm = vm, .slot = slot };
	struct kt_slot *s, fresh = {};

	s = bpf_map_lookup_elem(&slots, &key);
	if (s && s->state != KT_SLOT_TOMBSTONE)
		return s;
	fresh.state = KT_SLOT_PENDING;
	fresh.pid = pid;
	if (bpf_map_update_elem(&slots, &key, &fresh, BPF_ANY)) {
		__sync_fetch_and_add(&map_update_errors, 1);
		return NULL;
	}
	return bpf_map_lookup_elem(&slots, &key);
}

static __always_inline void lat_max(struct kt_vm_stats *s, __u64 d)
{
	__u64 old = s->lat_max_ns, prev;
	int i;

	/* Bounded compare-and-swap: several CPUs may end locks at once */
	for (i = 0; i < 8 && d > old; i++) {
		prev = __sync_val_compare_and_swap(&s->lat_max_ns, old, d);
		if (prev == old)
			break;
		old = prev;
	}
}

/* biolatency's slots, in both units (see kt_log2_slot()) */
static __always_inline void log2_add(__u64 *us, __u64 *ms, __u64 ns)
{
	__sync_fetch_and_add(&us[kt_log2_slot(ns / 1000)], 1);
	__sync_fetch_and_add(&ms[kt_log2_slot(ns / 1000000)], 1);
}

/*
 * Each program is named after its event, mslot_<event>, so that bpftool
 * prog show says which is which. The kernel keeps 15 characters of a name
 * (BPF_OBJ_NAME_LEN): mslot_lock_begi, mslot_account_f, mslot_unlock_be,
 * mslot_unlock_en, mslot_deferred_ (the others fit), still nine distinct
 * names; bpftool prints the whole one from BTF. A longer prefix would make
 * unlock_begin and unlock_end the same to the kernel.
 */
SEC("raw_tp/kvm_memslot_lock_begin")
int BPF_PROG(mslot_lock_begin, u64 vm, pid_t pid, u32 slot, u64 flags)
{
	__u64 now = bpf_ktime_get_ns();

	if (!pid_wanted(pid))
		return 0;
	vm_get(vm, pid, now);
	emit(KT_EV_LOCK_BEGIN, vm, pid, slot, 0, flags, 0, 0, 0, 0, now);
	return 0;
}

SEC("raw_tp/kvm_memslot_pin")
int BPF_PROG(mslot_pin, u64 vm, pid_t pid, u32 slot, u64 hva, u64 npages,
	     bool writable, u32 retries, u64 duration_ns)
{
	__u64 now = bpf_ktime_get_ns();
	struct kt_slot *s;

	if (!pid_wanted(pid))
		return 0;
	vm_get(vm, pid, now);
	s = slot_pending(vm, pid, slot);
	if (s && s->state == KT_SLOT_PENDING) {
		s->hva = hva;
		s->npages = npages;
	}
	emit(KT_EV_PIN, vm, pid, slot, 0, hva, npages, writable, retries,
	     duration_ns, now);
	return 0;
}

SEC("raw_tp/kvm_memslot_map")
int BPF_PROG(mslot_map, u64 vm, pid_t pid, u32 slot, u64 ipa, u64 size, u32 prot,
	     u64 duration_ns)
{
	__u64 now = bpf_ktime_get_ns();
	struct kt_slot *s;

	if (!pid_wanted(pid))
		return 0;
	vm_get(vm, pid, now);
	s = slot_pending(vm, pid, slot);
	if (s && s->state == KT_SLOT_PENDING) {
		s->ipa = ipa;
		s->size = size;
	}
	emit(KT_EV_MAP, vm, pid, slot, 0, ipa, size, prot, duration_ns, 0, now);
	return 0;
}

SEC("raw_tp/kvm_memslot_account_fail")
int BPF_PROG(mslot_account_fail, u64 vm, pid_t pid, u32 slot, u64 npages,
	     u64 locked_vm, u64 limit, bool cap_ipc_lock, int err)
{
	__u64 now = bpf_ktime_get_ns();
	struct kt_vm_stats *s;

	if (!pid_wanted(pid))
		return 0;
	s = vm_get(vm, pid, now);
	if (s) {
		__sync_fetch_and_add(&s->account_failures, 1);
		s->last_acct_locked_vm = locked_vm;
		s->last_acct_limit = limit;
	}
	emit(KT_EV_ACCOUNT_FAIL, vm, pid, slot, err, npages, locked_vm, limit,
	     cap_ipc_lock, 0, now);
	return 0;
}

SEC("raw_tp/kvm_memslot_lock_end")
int BPF_PROG(mslot_lock_end, u64 vm, pid_t pid, u32 slot, u64 flags, u64 npages,
	     int ret, u64 duration_ns)
{
	struct kt_slot_key key = { .vm = vm, .slot = slot };
	__u64 now = bpf_ktime_get_ns();
	struct kt_vm_stats *st;
	struct kt_slot *s;

	if (!pid_wanted(pid))
		return 0;
	st = vm_get(vm, pid, now);
	s = bpf_map_lookup_elem(&slots, &key);
	if (ret) {
		/*
		 * Only a PENDING entry is this lock's: EBUSY on a locked
		 * slot must not drop the LIVE entry of the earlier lock.
		 */
		if (s && s->state == KT_SLOT_PENDING)
			bpf_map_delete_elem(&slots, &key);
		if (st)
			__sync_fetch_and_add(&st->locks_failed, 1);
	} else {
		if (!s || s->state == KT_SLOT_TOMBSTONE) {
			/* pin and map fired before we attached */
			struct kt_slot fresh = {
				.state = KT_SLOT_PENDING,
				.flags = KT_SLOT_F_NOADDR,
				.pid = pid,
			};

			if (bpf_map_update_elem(&slots, &key, &fresh, BPF_ANY))
				__sync_fetch_and_add(&map_update_errors, 1);
			s = bpf_map_lookup_elem(&slots, &key);
		}
		if (s) {
			s->npages = npages;
			if (flags & KT_LOCK_WRITE)
				s->flags |= KT_SLOT_F_RW;
			s->pid = pid;
			s->locked_at_ns = now;
			s->lock_duration_ns = duration_ns;
			s->state = KT_SLOT_LIVE;
		}
		if (st) {
			__u32 b = kt_hist_bucket(duration_ns);

			__sync_fetch_and_add(&st->locks_ok, 1);
			__sync_fetch_and_add(&st->lat_sum_ns, duration_ns);
			if (b < KT_HIST_BUCKETS)
				__sync_fetch_and_add(&st->lat_hist[b], 1);
			lat_max(st, duration_ns);
			log2_add(st->lock_us, st->lock_ms, duration_ns);
		}
	}
	emit(KT_EV_LOCK_END, vm, pid, slot, ret, flags, npages, duration_ns, 0, 0,
	     now);
	return 0;
}

SEC("raw_tp/kvm_memslot_unlock_begin")
int BPF_PROG(mslot_unlock_begin, u64 vm, pid_t pid, u32 slot, u64 flags)
{
	__u64 now = bpf_ktime_get_ns();

	if (!pid_wanted(pid))
		return 0;
	vm_get(vm, pid, now);
	emit(KT_EV_UNLOCK_BEGIN, vm, pid, slot, 0, flags, 0, 0, 0, 0, now);
	return 0;
}

SEC("raw_tp/kvm_memslot_unlock")
int BPF_PROG(mslot_unlock, u64 vm, pid_t pid, u32 slot, u64 npages, bool dirtied,
	     bool unmapped, int reason, u64 duration_ns)
{
	struct kt_slot_key key = { .vm = vm, .slot = slot };
	__u64 now = bpf_ktime_get_ns();
	struct kt_vm_stats *st;
	struct kt_slot *s;

	if (!pid_wanted(pid))
		return 0;
	st = vm_get(vm, pid, now);
	if (st) {
		__sync_fetch_and_add(&st->unlocks, 1);
		log2_add(st->unlock_us, st->unlock_ms, duration_ns);
	}
	s = bpf_map_lookup_elem(&slots, &key);
	if (s && s->state != KT_SLOT_TOMBSTONE && reconcile_done) {
		bpf_map_delete_elem(&slots, &key);
	} else if (s) {
		s->state = KT_SLOT_TOMBSTONE;
	} else if (!reconcile_done) {
		struct kt_slot t = { .state = KT_SLOT_TOMBSTONE, .pid = pid,
				     .npages = npages };

		/* Locked before we started: the snapshot must not seed it */
		if (bpf_map_update_elem(&slots, &key, &t, BPF_NOEXIST))
			__sync_fetch_and_add(&map_update_errors, 1);
		else
			__sync_fetch_and_add(&tombstones, 1);
	}
	/*
	 * Else no snapshot can seed it any more: a slot of a VM the tool has
	 * forgotten (its fd closed: the VM's debugfs directory goes before
	 * its vm-destroy unlocks), or trace and hist, which keep no slots.
	 */
	emit(KT_EV_UNLOCK, vm, pid, slot, reason, npages, dirtied, unmapped,
	     duration_ns, 0, now);
	return 0;
}

SEC("raw_tp/kvm_memslot_unlock_end")
int BPF_PROG(mslot_unlock_end, u64 vm, pid_t pid, u32 slot, u64 flags,
	     u32 nr_slots, int ret, u64 duration_ns)
{
	__u64 now = bpf_ktime_get_ns();
	struct kt_vm_stats *st;

	if (!pid_wanted(pid))
		return 0;
	st = vm_get(vm, pid, now);
	if (st && ret)
		__sync_fetch_and_add(&st->unlocks_failed, 1);
	emit(KT_EV_UNLOCK_END, vm, pid, slot, ret, flags, nr_slots, duration_ns,
	     0, 0, now);
	return 0;
}

SEC("raw_tp/kvm_memslot_deferred_ops")
int BPF_PROG(mslot_deferred_ops, u64 vm, pid_t pid, unsigned long ops,
	     u32 nr_slots, u64 npages, u64 duration_ns)
{
	__u64 now = bpf_ktime_get_ns();
	struct kt_vm_stats *st;

	if (!pid_wanted(pid))
		return 0;
	st = vm_get(vm, pid, now);
	if (st)
		__sync_fetch_and_add(&st->deferred_ops, 1);
	emit(KT_EV_DEFERRED_OPS, vm, pid, 0, 0, ops, nr_slots, npages,
	     duration_ns, 0, now);
	return 0;
}
