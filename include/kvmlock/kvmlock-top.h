/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmlock-top: what the BPF programs (bpf/kvmlock-top.bpf.c) and the tool
 * (inspector/) share. Fixed-width types only: this is compiled against
 * vmlinux.h on the BPF side and against libc on the user side.
 */
#ifndef KVMLOCK_TOP_H
#define KVMLOCK_TOP_H

#ifdef __KVMLOCK_BPF__
typedef __u8 kt_u8;
typedef __u32 kt_u32;
typedef __s32 kt_s32;
typedef __u64 kt_u64;
#define KT_INLINE static __always_inline
#else
#include <stdint.h>
typedef uint8_t kt_u8;
typedef uint32_t kt_u32;
typedef int32_t kt_s32;
typedef uint64_t kt_u64;
#define KT_INLINE static inline
#endif

#define KT_COMM_LEN		16
#define KT_MAX_PIDS		16	/* -p given at most this often */
#define KT_MAX_VMS		1024	/* entries of vm_stats */
#define KT_MAX_SLOT_ENTRIES	16384	/* entries of slots */
#define KT_RINGBUF_DEFAULT	(256 * 1024)

/* Lock flags (KVM_ARM_LOCK_MEM_*) and unlock reasons, as the events give them */
#define KT_LOCK_READ		1
#define KT_LOCK_WRITE		2
#define KT_UNLOCK_ALL		1
enum kt_unlock_reason {
	KT_REASON_UNLOCK = 0,
	KT_REASON_UNLOCK_ALL = 1,
	KT_REASON_VM_DESTROY = 2,
};

/* The nine kvm_memslot_* events, also the type of a ring buffer record */
enum kt_event_type {
	KT_EV_LOCK_BEGIN = 1,
	KT_EV_PIN,
	KT_EV_MAP,
	KT_EV_ACCOUNT_FAIL,
	KT_EV_LOCK_END,
	KT_EV_UNLOCK_BEGIN,
	KT_EV_UNLOCK,
	KT_EV_UNLOCK_END,
	KT_EV_DEFERRED_OPS,
	KT_EV_MAX,
};

/*
 * Map "slots": one entry per memslot of a VM that events (or the start-up
 * reconciliation) told us about.
 */
struct kt_slot_key {
	kt_u64 vm;
	kt_u32 slot;
	kt_u32 pad;	/* always 0: hash keys compare every byte */
};

enum kt_slot_state {
	KT_SLOT_PENDING = 1,	/* pin/map seen, lock_end not yet */
	KT_SLOT_LIVE = 2,	/* locked */
	/*
	 * Unlocked while the start-up reconciliation could still insert it
	 * from an older snapshot of the kernel state, or unlocked with no
	 * entry at all (locked before the tool started). Either way events
	 * after attach cover the slot, so reconciliation must not seed it.
	 */
	KT_SLOT_TOMBSTONE = 3,
};

#define KT_SLOT_F_RW		0x1	/* locked with KVM_ARM_LOCK_MEM_WRITE */
#define KT_SLOT_F_SEEDED	0x2	/* from the kernel state, not events */
#define KT_SLOT_F_NOADDR	0x4	/* pin and map fired before attach: no hva/ipa */

struct kt_slot {
	kt_u32 state;		/* enum kt_slot_state */
	kt_u32 flags;		/* KT_SLOT_F_* */
	kt_u32 pid;
	kt_u32 pad;
	kt_u64 hva;
	kt_u64 npages;
	kt_u64 ipa;
	kt_u64 size;		/* bytes */
	kt_u64 locked_at_ns;	/* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	kt_u64 lock_duration_ns;
};

/*
 * Log-linear latency histogram: values below 8 have a bucket each; above,
 * each power of two is split into 8 equal sub-buckets, so a bucket's upper
 * bound is at most 12.5% above any value in it.
 */
#define KT_HIST_SUB_BITS	3
#define KT_HIST_SUB		(1 << KT_HIST_SUB_BITS)
#define KT_HIST_BUCKETS		((64 - KT_HIST_SUB_BITS + 1) * KT_HIST_SUB)	/* 496 */

/* floor(log2(v)) for v > 0, without clz (BPF has none) */
KT_INLINE kt_u32 kt_log2(kt_u64 v)
{
	kt_u32 r = 0, s;

	s = (v > 0xffffffffULL) << 5; v >>= s; r |= s;
	s = (v > 0xffffULL) << 4; v >>= s; r |= s;
	s = (v > 0xffULL) << 3; v >>= s; r |= s;
	s = (v > 0xfULL) << 2; v >>= s; r |= s;
	s = (v > 0x3ULL) << 1; v >>= s; r |= s;
	r |= (kt_u32)(v >> 1);
	return r;
}

KT_INLINE kt_u32 kt_hist_bucket(kt_u64 v)
{
	kt_u32 e, sub;

	if (v < KT_HIST_SUB)
		return (kt_u32)v;
	e = kt_log2(v);
	sub = (kt_u32)(v >> (e - KT_HIST_SUB_BITS)) & (KT_HIST_SUB - 1);
	return (e - KT_HIST_SUB_BITS + 1) * KT_HIST_SUB + sub;
}

/*
 * log2 histograms as biolatency keeps them: slot s counts values v with
 * floor(log2(v)) == s (0 and 1 in slot 0), v in usecs or msecs; the last
 * slot also takes everything above (2^31 usecs is 35 minutes). Kept in
 * both units because neither folds exactly into the other, nor into
 * lat_hist's nanosecond buckets (1000 is not a power of two).
 */
#define KT_LOG2_SLOTS		32

KT_INLINE kt_u32 kt_log2_slot(kt_u64 v)
{
	kt_u32 s = v ? kt_log2(v) : 0;

	return s < KT_LOG2_SLOTS ? s : KT_LOG2_SLOTS - 1;
}

/* Per-VM counters (map "vm_stats", keyed by the events' vm id). Cumulative. */
struct kt_vm_stats {
	kt_u32 pid;
	kt_u32 pad;
	kt_u64 locks_ok;		/* lock_end, ret == 0 */
	kt_u64 locks_failed;		/* lock_end, ret != 0 */
	kt_u64 unlocks;			/* unlock: memslots unlocked, any reason */
	kt_u64 unlocks_failed;		/* unlock_end, ret != 0 */
	kt_u64 account_failures;	/* account_fail */
	kt_u64 last_acct_locked_vm;	/* pages, of the last account_fail */
	kt_u64 last_acct_limit;		/* pages, of the last account_fail */
	kt_u64 deferred_ops;		/* deferred_ops events */
	kt_u64 last_event_ns;		/* bpf_ktime_get_ns() */
	kt_u64 lat_max_ns;		/* successful locks */
	kt_u64 lat_sum_ns;
	kt_u64 lat_hist[KT_HIST_BUCKETS];
	/* kvmlock-top hist: successful locks', and each unlock's, durations */
	kt_u64 lock_us[KT_LOG2_SLOTS];
	kt_u64 lock_ms[KT_LOG2_SLOTS];
	kt_u64 unlock_us[KT_LOG2_SLOTS];
	kt_u64 unlock_ms[KT_LOG2_SLOTS];
};

/*
 * Ring buffer record: one per event. a[] holds the event's fields after
 * vm, pid and slot, in the order of the tracepoint (docs/kvmlock-top.md).
 */
#define KT_EV_ARGS 5
struct kt_event {
	kt_u64 ts_ns;
	kt_u64 vm;
	kt_u32 pid;
	kt_u32 slot;
	kt_u32 type;		/* enum kt_event_type */
	kt_s32 ret;		/* lock_end, unlock_end; err of account_fail */
	kt_u64 a[KT_EV_ARGS];
};

#endif /* KVMLOCK_TOP_H */
