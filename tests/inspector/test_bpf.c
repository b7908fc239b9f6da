// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlock-top's BPF programs, loaded (never attached) on the host and run
 * with BPF_PROG_TEST_RUN: each raw_tp program gets the event's arguments
 * as its u64 context, as the tracepoint would pass them. Then the maps
 * must hold exactly what the event sequences imply. Needs root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpfstate.h"
#include "kvmlock-top.skel.h"

static struct kvmlock_top_bpf *skel;

#define VM	7ULL
#define PID	4242ULL
#define NEG(x)	((uint64_t)(int64_t)(x))

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* ringbuf: its size, and the events streamed to it (trace); 0: neither */
static struct kvmlock_top_bpf *load(const uint32_t *pids, uint32_t npids,
				    uint32_t ringbuf)
{
	struct kvmlock_top_bpf *s = kvmlock_top_bpf__open();

	assert_non_null(s);
	s->rodata->stream_events = ringbuf != 0;
	if (npids) {
		memcpy((void *)s->rodata->target_pids, pids, npids * sizeof(*pids));
		s->rodata->nr_target_pids = npids;
	}
	if (ringbuf)
		assert_int_equal(bpf_map__set_max_entries(s->maps.events, ringbuf), 0);
	assert_int_equal(kvmlock_top_bpf__load(s), 0);
	return s;
}

static int setup(void **state)
{
	(void)state;
	skel = load(NULL, 0, 0);
	skel->bss->reconcile_done = 1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	kvmlock_top_bpf__destroy(skel);
	skel = NULL;
	return 0;
}

static void run(struct bpf_program *prog, const uint64_t *args, size_t n)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args,
		    .ctx_size_in = (uint32_t)(n * sizeof(*args)));

	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(prog), &opts), 0);
	assert_int_equal(opts.retval, 0);
}

#define RUN(prog, ...) do {						\
	uint64_t a_[] = { __VA_ARGS__ };				\
	run(skel->progs.prog, a_, sizeof(a_) / sizeof(a_[0]));		\
} while (0)

/* The events of a LOCK, as the kernel emits them */
static void lock_ok(uint64_t vm, uint64_t pid, uint32_t slot, uint64_t flags,
		    uint64_t hva, uint64_t npages, uint64_t ipa, uint64_t dur)
{
	RUN(mslot_lock_begin, vm, pid, slot, flags);
	RUN(mslot_pin, vm, pid, slot, hva, npages, !!(flags & KT_LOCK_WRITE), 0, dur / 2);
	RUN(mslot_map, vm, pid, slot, ipa, npages * 4096, flags, dur / 4);
	RUN(mslot_lock_end, vm, pid, slot, flags, npages, 0, dur);
}

static void unlock_one(uint64_t vm, uint64_t pid, uint32_t slot, uint64_t npages,
		       uint64_t reason)
{
	RUN(mslot_unlock, vm, pid, slot, npages, 1, 1, reason, 1000);
}

static bool get_slot(uint64_t vm, uint32_t slot, struct kt_slot *out)
{
	struct kt_slot_key key = { .vm = vm, .slot = slot };

	return !bpf_map_lookup_elem(bpf_map__fd(skel->maps.slots), &key, out);
}

static struct kt_vm_stats *get_stats(uint64_t vm)
{
	static struct kt_vm_stats s;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.vm_stats), &vm, &s))
		return NULL;
	return &s;
}

static size_t count_entries(struct bpf_map *map)
{
	struct kt_slot_entry *e = NULL;
	struct kt_stats_entry *s = NULL;
	size_t n = 0;

	if (map == skel->maps.slots) {
		assert_int_equal(kt_dump_slots(bpf_map__fd(map), &e, &n), 0);
		free(e);
	} else {
		assert_int_equal(kt_dump_stats(bpf_map__fd(map), &s, &n), 0);
		free(s);
	}
	return n;
}

static void test_lock_ok(void **state)
{
	struct kt_vm_stats *st;
	struct kt_slot s;

	(void)state;
	lock_ok(VM, PID, 1, KT_LOCK_READ | KT_LOCK_WRITE, 0x7f996c1000ULL, 64,
		0x100000000ULL, 2738976);
	lock_ok(VM, PID, 2, KT_LOCK_READ, 0x7f00000000ULL, 16, 0x200000000ULL, 1000);

	assert_true(get_slot(VM, 1, &s));
	assert_int_equal(s.state, KT_SLOT_LIVE);
	assert_int_equal(s.flags, KT_SLOT_F_RW);
	assert_int_equal(s.pid, PID);
	assert_int_equal(s.hva, 0x7f996c1000ULL);
	assert_int_equal(s.npages, 64);
	assert_int_equal(s.ipa, 0x100000000ULL);
	assert_int_equal(s.size, 64 * 4096);
	assert_int_equal(s.lock_duration_ns, 2738976);
	assert_true(s.locked_at_ns > 0);

	assert_true(get_slot(VM, 2, &s));
	assert_int_equal(s.state, KT_SLOT_LIVE);
	assert_int_equal(s.flags, 0);	/* read-only */
	assert_int_equal(s.npages, 16);

	st = get_stats(VM);
	assert_non_null(st);
	assert_int_equal(st->pid, PID);
	assert_int_equal(st->locks_ok, 2);
	assert_int_equal(st->locks_failed, 0);
	assert_int_equal(st->account_failures, 0);
	assert_int_equal(st->unlocks, 0);
	assert_int_equal(st->lat_max_ns, 2738976);
	assert_int_equal(st->lat_sum_ns, 2738976 + 1000);
	assert_int_equal(st->lat_hist[kt_hist_bucket(2738976)], 1);
	assert_int_equal(st->lat_hist[kt_hist_bucket(1000)], 1);
	assert_true(st->last_event_ns >= s.locked_at_ns);
	assert_int_equal(count_entries(skel->maps.slots), 2);
	assert_int_equal(skel->bss->events_lost, 0);
}

static void test_lock_account_fail(void **state)
{
	struct kt_vm_stats *st;
	struct kt_slot s;

	(void)state;
	RUN(mslot_lock_begin, VM, PID, 2, 3);
	RUN(mslot_account_fail, VM, PID, 2, 16, 64, 72, 0, NEG(-12));
	RUN(mslot_lock_end, VM, PID, 2, 3, 0, NEG(-12), 5000);
	/* another failure: EFAULT, no account_fail */
	RUN(mslot_lock_begin, VM, PID, 3, 1);
	RUN(mslot_lock_end, VM, PID, 3, 1, 0, NEG(-14), 800);

	assert_false(get_slot(VM, 2, &s));
	assert_false(get_slot(VM, 3, &s));
	st = get_stats(VM);
	assert_non_null(st);
	assert_int_equal(st->locks_ok, 0);
	assert_int_equal(st->locks_failed, 2);
	assert_int_equal(st->account_failures, 1);
	assert_int_equal(st->last_acct_locked_vm, 64);
	assert_int_equal(st->last_acct_limit, 72);
	/* failed locks stay out of the latency figures */
	assert_int_equal(st->lat_max_ns, 0);
	assert_int_equal(st->lat_sum_ns, 0);
}

static void test_lock_busy_keeps_live(void **state)
{
	struct kt_slot s;

	(void)state;
	lock_ok(VM, PID, 1, 3, 0x1000, 8, 0x8000000, 100);
	/* LOCK of a locked slot: EBUSY, no pin */
	RUN(mslot_lock_begin, VM, PID, 1, 3);
	RUN(mslot_lock_end, VM, PID, 1, 3, 0, NEG(-16), 50);
	assert_true(get_slot(VM, 1, &s));
	assert_int_equal(s.state, KT_SLOT_LIVE);
	assert_int_equal(s.npages, 8);
	assert_int_equal(get_stats(VM)->locks_failed, 1);
}

static void test_lock_failed_after_pin(void **state)
{
	struct kt_slot s;

	(void)state;
	RUN(mslot_lock_begin, VM, PID, 4, 3);
	RUN(mslot_pin, VM, PID, 4, 0x1000, 8, 1, 0, 10);
	assert_true(get_slot(VM, 4, &s));
	assert_int_equal(s.state, KT_SLOT_PENDING);
	RUN(mslot_lock_end, VM, PID, 4, 3, 0, NEG(-4), 50);
	assert_false(get_slot(VM, 4, &s));
}

static void test_unlock(void **state)
{
	struct kt_vm_stats *st;
	struct kt_slot s;

	(void)state;
	lock_ok(VM, PID, 1, 3, 0x1000, 8, 0x8000000, 100);
	RUN(mslot_unlock_begin, VM, PID, 1, 0);
	unlock_one(VM, PID, 1, 8, KT_REASON_UNLOCK);
	RUN(mslot_unlock_end, VM, PID, 1, 0, 1, 0, 2000);
	assert_false(get_slot(VM, 1, &s));
	/* UNLOCK of a slot not locked: -EINVAL, no unlock event */
	RUN(mslot_unlock_begin, VM, PID, 1, 0);
	RUN(mslot_unlock_end, VM, PID, 1, 0, 0, NEG(-22), 300);
	st = get_stats(VM);
	assert_int_equal(st->unlocks, 1);
	assert_int_equal(st->unlocks_failed, 1);
	assert_int_equal(count_entries(skel->maps.slots), 0);
	assert_int_equal(skel->bss->tombstones, 0);
}

static void test_unlock_all_and_destroy(void **state)
{
	struct kt_slot s;
	uint32_t i;

	(void)state;
	for (i = 0; i < 3; i++)
		lock_ok(VM, PID, i, 3, 0x1000 * (i + 1), 4, 0x1000000 * (i + 1), 100);
	for (i = 0; i < 2; i++)
		lock_ok(VM + 1, PID + 1, i, 1, 0x1000, 4, 0x1000000 * (i + 1), 100);
	RUN(mslot_unlock_begin, VM, PID, 0, KT_UNLOCK_ALL);
	for (i = 0; i < 3; i++)
		unlock_one(VM, PID, i, 4, KT_REASON_UNLOCK_ALL);
	RUN(mslot_unlock_end, VM, PID, 0, KT_UNLOCK_ALL, 3, 0, 5000);
	/* the other VM's VMM exits: vm-destroy unlocks, no begin/end */
	for (i = 0; i < 2; i++)
		unlock_one(VM + 1, PID + 1, i, 4, KT_REASON_VM_DESTROY);
	for (i = 0; i < 3; i++)
		assert_false(get_slot(VM, i, &s));
	assert_int_equal(count_entries(skel->maps.slots), 0);
	assert_int_equal(get_stats(VM)->unlocks, 3);
	assert_int_equal(get_stats(VM + 1)->unlocks, 2);
	assert_int_equal(get_stats(VM)->unlocks_failed, 0);
	assert_int_equal(get_stats(VM)->locks_ok, 3);
	assert_int_equal(get_stats(VM + 1)->locks_ok, 2);
}

static void test_unlock_unknown_tombstone(void **state)
{
	struct kt_slot s;

	(void)state;
	/* locked before the tool started, unlocked before its snapshot */
	skel->bss->reconcile_done = 0;
	unlock_one(VM, PID, 5, 32, KT_REASON_UNLOCK);
	assert_true(get_slot(VM, 5, &s));
	assert_int_equal(s.state, KT_SLOT_TOMBSTONE);
	assert_int_equal(s.npages, 32);
	assert_int_equal(skel->bss->tombstones, 1);
	assert_int_equal(get_stats(VM)->unlocks, 1);
	/* locked again: the tombstone turns PENDING, then LIVE */
	RUN(mslot_lock_begin, VM, PID, 5, 1);
	RUN(mslot_pin, VM, PID, 5, 0x5000, 16, 0, 0, 10);
	assert_true(get_slot(VM, 5, &s));
	assert_int_equal(s.state, KT_SLOT_PENDING);
	RUN(mslot_map, VM, PID, 5, 0x50000000, 16 * 4096, 1, 10);
	RUN(mslot_lock_end, VM, PID, 5, 1, 16, 0, 77);
	assert_true(get_slot(VM, 5, &s));
	assert_int_equal(s.state, KT_SLOT_LIVE);
	assert_int_equal(s.npages, 16);
	assert_int_equal(s.ipa, 0x50000000);
	assert_int_equal(s.hva, 0x5000);
	assert_int_equal(s.flags, 0);
	assert_int_equal(skel->bss->tombstones, 1);
}

/*
 * After the snapshot no stale state can seed a slot: an unlock of one
 * with no entry (a VM already forgotten, whose vm-destroy unlocks come
 * after its debugfs directory went) counts, but leaves no tombstone.
 */
static void test_unlock_unknown_after_reconcile(void **state)
{
	struct kt_slot s;

	(void)state;
	unlock_one(VM, PID, 5, 32, KT_REASON_VM_DESTROY);
	assert_false(get_slot(VM, 5, &s));
	assert_int_equal(count_entries(skel->maps.slots), 0);
	assert_int_equal(skel->bss->tombstones, 0);
	assert_int_equal(get_stats(VM)->unlocks, 1);
}

static void test_unlock_before_reconcile(void **state)
{
	struct kt_slot s;

	(void)state;
	skel->bss->reconcile_done = 0;
	lock_ok(VM, PID, 1, 3, 0x1000, 8, 0x8000000, 100);
	unlock_one(VM, PID, 1, 8, KT_REASON_UNLOCK);
	/* a snapshot read before the unlock must not bring it back */
	assert_true(get_slot(VM, 1, &s));
	assert_int_equal(s.state, KT_SLOT_TOMBSTONE);
	assert_int_equal(skel->bss->tombstones, 0);
}

static void test_lock_straddling_attach(void **state)
{
	struct kt_slot s;

	(void)state;
	/* lock_begin, pin and map fired before attach */
	RUN(mslot_lock_end, VM, PID, 9, 3, 128, 0, 4000);
	assert_true(get_slot(VM, 9, &s));
	assert_int_equal(s.state, KT_SLOT_LIVE);
	assert_int_equal(s.flags, KT_SLOT_F_RW | KT_SLOT_F_NOADDR);
	assert_int_equal(s.npages, 128);
	assert_int_equal(s.lock_duration_ns, 4000);
}

static void test_deferred_ops(void **state)
{
	(void)state;
	RUN(mslot_deferred_ops, VM, PID, 1 | 2, 1, 64, 38352);
	RUN(mslot_deferred_ops, VM, PID, 2 | 4, 1, 64, 55504);
	assert_int_equal(get_stats(VM)->deferred_ops, 2);
}

static void test_pid_filter(void **state)
{
	const uint32_t pids[] = { 100, 300 };
	struct kt_slot s;

	(void)state;
	kvmlock_top_bpf__destroy(skel);
	skel = load(pids, 2, 0);
	lock_ok(VM, 200, 1, 3, 0x1000, 8, 0x8000000, 100);
	unlock_one(VM + 5, 200, 3, 8, KT_REASON_UNLOCK);
	RUN(mslot_deferred_ops, VM, 200, 1, 1, 8, 10);
	assert_int_equal(count_entries(skel->maps.slots), 0);
	assert_int_equal(count_entries(skel->maps.vm_stats), 0);
	lock_ok(VM + 1, 100, 1, 3, 0x1000, 8, 0x8000000, 100);
	lock_ok(VM + 2, 300, 1, 3, 0x1000, 8, 0x8000000, 100);
	assert_true(get_slot(VM + 1, 1, &s));
	assert_true(get_slot(VM + 2, 1, &s));
	assert_int_equal(count_entries(skel->maps.slots), 2);
	assert_int_equal(count_entries(skel->maps.vm_stats), 2);
	assert_int_equal(skel->bss->tombstones, 0);
}

/*
 * -p names the VMM process: an event of a VM created by another of its
 * threads (the event's pid, 200) counts when the VMM itself runs it (here
 * this test, whose tgid is in the list, runs the programs).
 */
static void test_pid_filter_tgid(void **state)
{
	const uint32_t pids[] = { 100, (uint32_t)getpid() };
	struct kt_slot s;

	(void)state;
	assert_true(getpid() != 200);
	kvmlock_top_bpf__destroy(skel);
	skel = load(pids, 2, 0);
	lock_ok(VM, 200, 1, 3, 0x1000, 8, 0x8000000, 100);
	assert_true(get_slot(VM, 1, &s));
	assert_int_equal(get_stats(VM)->locks_ok, 1);
	assert_int_equal(get_stats(VM)->pid, 200);
}

static void test_latency_histogram(void **state)
{
	static const uint64_t d[] = { 1, 7, 8, 15, 16, 17, 1000, 1000000, 1000000 };
	struct kt_vm_stats *st;
	uint32_t i, total = 0;

	(void)state;
	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		RUN(mslot_lock_end, VM, PID, i, 1, 1, 0, d[i]);
	st = get_stats(VM);
	/* bucket indexes worked out by hand: v < 8 is v; then 8 a power of 2 */
	assert_int_equal(st->lat_hist[1], 1);
	assert_int_equal(st->lat_hist[7], 1);
	assert_int_equal(st->lat_hist[8], 1);
	assert_int_equal(st->lat_hist[15], 1);
	assert_int_equal(st->lat_hist[16], 2);	/* 16 and 17 */
	assert_int_equal(st->lat_hist[63], 1);	/* 1000: 2^9, sub 7 */
	assert_int_equal(st->lat_hist[143], 2);	/* 1000000: 2^19, sub 7 */
	for (i = 0; i < KT_HIST_BUCKETS; i++)
		total += (uint32_t)st->lat_hist[i];
	assert_int_equal(total, 9);
	assert_int_equal(st->lat_max_ns, 1000000);
	assert_int_equal(st->locks_ok, 9);
}

/* hist's log2 slots: biolatency's, in usecs and msecs, the last one open */
static void test_log2_histograms(void **state)
{
	struct kt_vm_stats *st;
	int i;

	(void)state;
	RUN(mslot_lock_end, VM, PID, 1, KT_LOCK_READ, 1, 0, 999);		/* 0 us, 0 ms */
	RUN(mslot_lock_end, VM, PID, 2, KT_LOCK_READ, 1, 0, 2738976);	/* 2738 us, 2 ms */
	RUN(mslot_lock_end, VM, PID, 3, KT_LOCK_READ, 1, 0, 5000000000ULL); /* 5e6 us, 5000 ms */
	RUN(mslot_lock_end, VM, PID, 4, KT_LOCK_READ, 0, NEG(-16), 1000000); /* failed: not counted */
	RUN(mslot_unlock, VM, PID, 1, 1, 1, 1, KT_REASON_UNLOCK, 1297552);	/* 1297 us, 1 ms */
	RUN(mslot_unlock, VM, PID, 2, 1, 1, 1, KT_REASON_UNLOCK, 3000);	/* 3 us, 0 ms */
	RUN(mslot_unlock, VM, PID, 3, 1, 1, 1, KT_REASON_UNLOCK, 1ULL << 40); /* 2^30.03 us */
	RUN(mslot_unlock, VM, PID, 4, 1, 1, 1, KT_REASON_VM_DESTROY, 1ULL << 62); /* past the last slot */

	st = get_stats(VM);
	assert_non_null(st);
	{
		static const struct { int slot; uint64_t n; } lus[] = { { 0, 1 }, { 11, 1 }, { 22, 1 } },
			lms[] = { { 0, 1 }, { 1, 1 }, { 12, 1 } },
			uus[] = { { 1, 1 }, { 10, 1 }, { 30, 1 }, { 31, 1 } },
			ums[] = { { 0, 2 }, { 20, 1 }, { 31, 1 } };
		uint64_t want[4][KT_LOG2_SLOTS] = {};
		size_t j;

		for (j = 0; j < 3; j++) {
			want[0][lus[j].slot] = lus[j].n;
			want[1][lms[j].slot] = lms[j].n;
		}
		for (j = 0; j < 4; j++)
			want[2][uus[j].slot] = uus[j].n;
		for (j = 0; j < 3; j++)
			want[3][ums[j].slot] = ums[j].n;
		for (i = 0; i < KT_LOG2_SLOTS; i++) {
			assert_int_equal(st->lock_us[i], want[0][i]);
			assert_int_equal(st->lock_ms[i], want[1][i]);
			assert_int_equal(st->unlock_us[i], want[2][i]);
			assert_int_equal(st->unlock_ms[i], want[3][i]);
		}
	}
}

static void test_reconcile(void **state)
{
	struct kt_kslot ks[] = {
		{ .slot = 1, .rw = true, .ipa_start = 0x1000000, .ipa_end = 0x1008000,
		  .npages = 8, .hva = 0xa000, .locked_at_ns = 11, .lock_duration_ns = 12 },
		{ .slot = 2, .rw = true, .ipa_start = 0x2000000, .ipa_end = 0x2008000,
		  .npages = 8, .hva = 0xb000, .locked_at_ns = 21, .lock_duration_ns = 22 },
		{ .slot = 3, .rw = false, .ipa_start = 0x3000000, .ipa_end = 0x3008000,
		  .npages = 8, .hva = 0xc000, .locked_at_ns = 31, .lock_duration_ns = 32 },
		{ .slot = 4, .rw = false, .ipa_start = 0x4000000, .ipa_end = 0x4010000,
		  .npages = 16, .hva = 0xd000, .locked_at_ns = 41, .lock_duration_ns = 42 },
	};
	struct kt_kslot other[] = {
		{ .slot = 0, .rw = true, .ipa_start = 0, .ipa_end = 0x1000, .npages = 1 },
	};
	struct kt_kvm vms[] = {
		{ .vm = VM, .pid = PID, .slots = ks, .nr_slots = 4 },
		{ .vm = VM + 1, .pid = PID + 1, .slots = other, .nr_slots = 1 },
	};
	struct kt_reconciled rec = {};
	struct kt_opts o = {};
	struct kt_slot s;

	(void)state;
	skel->bss->reconcile_done = 0;
	/* events after attach: slot 1 being locked, 2 locked, 3 unlocked */
	RUN(mslot_lock_begin, VM, PID, 1, 3);
	RUN(mslot_pin, VM, PID, 1, 0xe000, 8, 1, 0, 10);
	lock_ok(VM, PID, 2, 3, 0xf000, 8, 0x2000000, 100);
	unlock_one(VM, PID, 3, 8, KT_REASON_UNLOCK);

	o.nr_pids = 1;
	o.pids[0] = PID;
	assert_int_equal(kt_reconcile(bpf_map__fd(skel->maps.slots), vms, 2, &o, &rec), 0);
	assert_int_equal(rec.seeded, 1);
	assert_int_equal(rec.skipped, 3);

	assert_true(get_slot(VM, 1, &s));
	assert_int_equal(s.state, KT_SLOT_PENDING);
	assert_int_equal(s.hva, 0xe000);
	assert_true(get_slot(VM, 2, &s));
	assert_int_equal(s.state, KT_SLOT_LIVE);
	assert_int_equal(s.hva, 0xf000);	/* the event's, not the snapshot's */
	assert_int_equal(s.lock_duration_ns, 100);
	assert_true(get_slot(VM, 3, &s));
	assert_int_equal(s.state, KT_SLOT_TOMBSTONE);
	assert_true(get_slot(VM, 4, &s));
	assert_int_equal(s.state, KT_SLOT_LIVE);
	assert_int_equal(s.flags, KT_SLOT_F_SEEDED);
	assert_int_equal(s.pid, PID);
	assert_int_equal(s.npages, 16);
	assert_int_equal(s.ipa, 0x4000000);
	assert_int_equal(s.size, 0x10000);
	assert_int_equal(s.hva, 0xd000);
	assert_int_equal(s.locked_at_ns, 41);
	assert_int_equal(s.lock_duration_ns, 42);
	/* the VM of another VMM (-p) is not seeded */
	assert_false(get_slot(VM + 1, 0, &s));

	/* the pending lock completes; unlocking the seeded slot tombstones it */
	RUN(mslot_map, VM, PID, 1, 0x1000000, 8 * 4096, 3, 10);
	RUN(mslot_lock_end, VM, PID, 1, 3, 8, 0, 500);
	assert_true(get_slot(VM, 1, &s));
	assert_int_equal(s.state, KT_SLOT_LIVE);
	assert_int_equal(s.flags, KT_SLOT_F_RW);

	/* without -p, the other VM is seeded; a second pass seeds nothing */
	memset(&o, 0, sizeof(o));
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(kt_reconcile(bpf_map__fd(skel->maps.slots), vms, 2, &o, &rec), 0);
	assert_int_equal(rec.seeded, 1);
	assert_int_equal(rec.skipped, 4);
	assert_true(get_slot(VM + 1, 0, &s));
	assert_int_equal(s.flags, KT_SLOT_F_SEEDED | KT_SLOT_F_RW);
}

static void test_delete_vms(void **state)
{
	uint64_t gone[] = { VM, VM + 9 };
	struct kt_slot s;

	(void)state;
	lock_ok(VM, PID, 1, 3, 0x1000, 8, 0x8000000, 100);
	lock_ok(VM, PID, 2, 3, 0x1000, 8, 0x9000000, 100);
	skel->bss->reconcile_done = 0;
	unlock_one(VM, PID, 3, 8, KT_REASON_UNLOCK);	/* a tombstone */
	skel->bss->reconcile_done = 1;
	lock_ok(VM + 1, PID + 1, 1, 3, 0x1000, 8, 0x8000000, 100);
	assert_int_equal(kt_delete_vms(bpf_map__fd(skel->maps.vm_stats),
				       bpf_map__fd(skel->maps.slots), gone, 2, NULL), 0);
	assert_null(get_stats(VM));
	assert_non_null(get_stats(VM + 1));
	assert_int_equal(count_entries(skel->maps.slots), 1);
	assert_true(get_slot(VM + 1, 1, &s));
}

/*
 * The deletion of VMs gone returns each one's entry as it was deleted,
 * with what came after the sample's dump; zeroed when it had none.
 */
static void test_delete_vms_final(void **state)
{
	uint64_t gone[] = { VM, VM + 9 };
	struct kt_stats_entry *dump;
	struct kt_vm_stats final[2];
	size_t n;

	(void)state;
	lock_ok(VM, PID, 1, 3, 0x1000, 8, 0x8000000, 100);
	assert_int_equal(kt_dump_stats(bpf_map__fd(skel->maps.vm_stats), &dump, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(dump[0].s.unlocks, 0);
	free(dump);
	/* after the dump: the VM's vm-destroy unlock */
	unlock_one(VM, PID, 1, 8, KT_REASON_VM_DESTROY);
	memset(final, 0xff, sizeof(final));
	assert_int_equal(kt_delete_vms(bpf_map__fd(skel->maps.vm_stats),
				       bpf_map__fd(skel->maps.slots), gone, 2, final), 0);
	assert_int_equal(final[0].locks_ok, 1);
	assert_int_equal(final[0].unlocks, 1);
	assert_int_not_equal(final[0].last_event_ns, 0);
	assert_int_equal(final[1].locks_ok, 0);
	assert_int_equal(final[1].last_event_ns, 0);
	assert_null(get_stats(VM));
	assert_int_equal(count_entries(skel->maps.slots), 0);
}

/*
 * hist's pruning: of a dump holding VMs VM and VM + 1, only VM lives. VM
 * + 1 is deleted with its slot, and its dump entry takes the unlock it
 * had after the dump; VM stays as it was.
 */
static void test_prune_vms(void **state)
{
	int stats_fd = bpf_map__fd(skel->maps.vm_stats);
	int slots_fd = bpf_map__fd(skel->maps.slots);
	uint64_t live = VM;
	struct kt_stats_entry *dump;
	size_t n, i;

	(void)state;
	lock_ok(VM, PID, 1, 3, 0x1000, 8, 0x8000000, 100);
	lock_ok(VM + 1, PID, 2, 3, 0x2000, 8, 0x9000000, 100);
	assert_int_equal(kt_dump_stats(stats_fd, &dump, &n), 0);
	assert_int_equal(n, 2);
	unlock_one(VM + 1, PID, 2, 8, KT_REASON_VM_DESTROY);
	assert_int_equal(kt_prune_vms(stats_fd, slots_fd, dump, n, &live, 1), 1);
	for (i = 0; i < n; i++) {
		assert_int_equal(dump[i].s.locks_ok, 1);
		assert_int_equal(dump[i].s.unlocks, dump[i].vm == VM ? 0 : 1);
	}
	assert_non_null(get_stats(VM));
	assert_null(get_stats(VM + 1));
	assert_int_equal(count_entries(skel->maps.slots), 1);
	/* VM + 1 again, deleted already: its dump entry kept as it was */
	assert_int_equal(kt_prune_vms(stats_fd, slots_fd, dump, n, &live, 1), 1);
	for (i = 0; i < n; i++)
		assert_int_equal(dump[i].s.unlocks, dump[i].vm == VM ? 0 : 1);
	assert_int_equal(kt_prune_vms(stats_fd, slots_fd, dump, 0, NULL, 0), 0);
	free(dump);
}

/*
 * A VM reseeded from the kernel's list: slot 1 (listed, LIVE) is the
 * kernel's now, slot 2 (LIVE, not listed: its unlock lost) and a
 * tombstone (slot 5) are gone, slot 3 (a LOCK in flight) stays, slot 4
 * (listed, missing: its lock lost) is seeded; another VM's slot untouched.
 */
static void test_reseed_vm(void **state)
{
	int fd = bpf_map__fd(skel->maps.slots);
	struct kt_kslot ks[2] = {
		{ .slot = 1, .rw = true, .ipa_start = 0x8000000, .ipa_end = 0x8008000,
		  .npages = 8, .hva = 0x1000, .locked_at_ns = 10, .lock_duration_ns = 5 },
		{ .slot = 4, .ipa_start = 0xa000000, .ipa_end = 0xa002000,
		  .npages = 2, .hva = 0x4000, .locked_at_ns = 20, .lock_duration_ns = 6 },
	};
	struct kt_kvm k = { .vm = VM, .pid = PID, .slots = ks, .nr_slots = 2 };
	struct kt_slot_key key = { .vm = VM, .slot = 5 };
	struct kt_slot t = { .state = KT_SLOT_TOMBSTONE, .npages = 1 };
	struct kt_slot s;

	(void)state;
	lock_ok(VM, PID, 1, 3, 0x1000, 8, 0x8000000, 100);
	lock_ok(VM, PID, 2, 3, 0x2000, 4, 0x9000000, 100);
	RUN(mslot_lock_begin, VM, PID, 3, 3);
	RUN(mslot_pin, VM, PID, 3, 0x3000, 4, 1, 0, 50);
	assert_int_equal(bpf_map_update_elem(fd, &key, &t, BPF_NOEXIST), 0);
	lock_ok(VM + 1, PID, 1, 3, 0x1000, 8, 0x8000000, 100);
	assert_int_equal(kt_reseed_vm(fd, &k), 0);
	assert_true(get_slot(VM, 1, &s));
	assert_int_equal(s.state, KT_SLOT_LIVE);
	assert_true(s.flags & KT_SLOT_F_SEEDED);
	assert_int_equal(s.npages, 8);
	assert_false(get_slot(VM, 2, &s));
	assert_true(get_slot(VM, 3, &s));
	assert_int_equal(s.state, KT_SLOT_PENDING);
	assert_true(get_slot(VM, 4, &s));
	assert_int_equal(s.npages, 2);
	assert_false(s.flags & KT_SLOT_F_RW);
	assert_false(get_slot(VM, 5, &s));
	assert_true(get_slot(VM + 1, 1, &s));
	assert_int_equal(count_entries(skel->maps.slots), 4);
}

/*
 * A VM's events between the sample's dump and the read of its kernel
 * statistics: the tool does not compare the two for that report.
 */
static void test_vm_changed(void **state)
{
	int fd = bpf_map__fd(skel->maps.vm_stats);
	struct kt_stats_entry *dump;
	size_t n;

	(void)state;
	/* no entry then, none now; none then, one now */
	assert_int_equal(kt_vm_changed(fd, VM, NULL), 0);
	lock_ok(VM, PID, 1, 3, 0x1000, 8, 0x8000000, 100);
	assert_int_equal(kt_vm_changed(fd, VM, NULL), 1);
	assert_int_equal(kt_dump_stats(fd, &dump, &n), 0);
	assert_int_equal(n, 1);
	/* nothing since the dump; an unlock since; the entry gone since */
	assert_int_equal(kt_vm_changed(fd, VM, &dump[0].s), 0);
	usleep(1000);
	unlock_one(VM, PID, 1, 8, KT_REASON_UNLOCK);
	assert_int_equal(kt_vm_changed(fd, VM, &dump[0].s), 1);
	assert_int_equal(bpf_map_delete_elem(fd, &dump[0].vm), 0);
	assert_int_equal(kt_vm_changed(fd, VM, &dump[0].s), 1);
	free(dump);
}

static int count_cb(void *ctx, void *data, size_t size)
{
	const struct kt_event *e = data;

	assert_int_equal(size, sizeof(*e));
	assert_true(e->type >= KT_EV_LOCK_BEGIN && e->type < KT_EV_MAX);
	(*(uint64_t *)ctx)++;
	return 0;
}

static void test_ringbuf_overflow(void **state)
{
	const uint32_t nlocks = 50, fired = nlocks * 4;
	struct ring_buffer *rb;
	struct kt_vm_stats *st;
	uint64_t delivered = 0;
	uint32_t i;

	(void)state;
	kvmlock_top_bpf__destroy(skel);
	skel = load(NULL, 0, 4096);	/* 4 KiB: about 56 records */
	skel->bss->reconcile_done = 1;
	for (i = 0; i < nlocks; i++)
		lock_ok(VM, PID, i, i & 1 ? 3 : 1, 0x1000 * i, i + 1, 0x100000 * i, 1000 + i);
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), count_cb, &delivered, NULL);
	assert_non_null(rb);
	assert_true(ring_buffer__consume(rb) >= 0);
	ring_buffer__free(rb);

	/* records of 8 + 64 bytes: 56 fit in 4096 */
	assert_int_equal(delivered, 4096 / (8 + sizeof(struct kt_event)));
	assert_int_equal(skel->bss->events_lost, fired - delivered);
	/* the maps are exact all the same */
	st = get_stats(VM);
	assert_int_equal(st->locks_ok, nlocks);
	assert_int_equal(st->lat_max_ns, 1000 + nlocks - 1);
	assert_int_equal(count_entries(skel->maps.slots), nlocks);
	for (i = 0; i < nlocks; i++) {
		struct kt_slot s;

		assert_true(get_slot(VM, i, &s));
		assert_int_equal(s.state, KT_SLOT_LIVE);
		assert_int_equal(s.npages, i + 1);
		assert_int_equal(s.flags, i & 1 ? KT_SLOT_F_RW : 0);
	}
}

static uint64_t poll_records(struct ring_buffer *rb, int timeout_ms)
{
	int n = ring_buffer__poll(rb, timeout_ms);

	assert_true(n >= 0);
	return (uint64_t)n;
}

/*
 * top and hist (stream_events off) get no record: the events are counted
 * in events_seen only, and nothing is lost. trace gets each one, each
 * waking the reader (a second's poll sees them), and counts it too.
 */
static void test_stream_only_in_trace(void **state)
{
	struct ring_buffer *rb;
	uint64_t delivered = 0;
	uint32_t i;

	(void)state;
	kvmlock_top_bpf__destroy(skel);
	skel = load(NULL, 0, 0);
	skel->bss->reconcile_done = 1;
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), count_cb, &delivered, NULL);
	assert_non_null(rb);
	for (i = 0; i < 100; i++)
		lock_ok(VM, PID, i, 1, 0x1000 * i, 1, 0x100000 * i, 1000);
	assert_int_equal(poll_records(rb, 100), 0);
	assert_int_equal(ring_buffer__consume(rb), 0);
	assert_int_equal(delivered, 0);
	assert_int_equal(skel->bss->events_seen, 400);
	assert_int_equal(skel->bss->events_lost, 0);
	assert_int_equal(get_stats(VM)->locks_ok, 100);
	ring_buffer__free(rb);

	kvmlock_top_bpf__destroy(skel);
	skel = load(NULL, 0, 4096);
	skel->bss->reconcile_done = 1;
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), count_cb, &delivered, NULL);
	assert_non_null(rb);
	lock_ok(VM, PID, 0, 1, 0x1000, 1, 0x100000, 1000);
	assert_int_equal(poll_records(rb, 1000), 4);
	assert_int_equal(skel->bss->events_seen, 4);
	ring_buffer__free(rb);
}

/*
 * A BTF with the nine btf_trace_kvm_memslot_* typedefs as the kernel has
 * them (pointer to a prototype: the context, then the arguments), of the
 * layouts the programs read; but event odd (if any) without its argument
 * drop, or with argument widen (if any) 8 bytes wide.
 */
static struct btf *trace_btf(const char *odd, int drop, int widen)
{
	struct btf *btf = btf__new_empty();
	int by_size[9], vptr, e;

	assert_non_null(btf);
	by_size[1] = btf__add_int(btf, "_Bool", 1, BTF_INT_BOOL);
	by_size[4] = btf__add_int(btf, "u32", 4, 0);
	by_size[8] = btf__add_int(btf, "u64", 8, 0);
	vptr = btf__add_ptr(btf, 0);
	for (e = 0; e < KT_NR_EVENTS; e++) {
		const struct kt_event_layout *l = &kt_event_layouts[e];
		bool is_odd = odd && !strcmp(l->name, odd);
		char name[64];
		int proto, i;

		proto = btf__add_func_proto(btf, 0);
		assert_true(proto > 0);
		assert_int_equal(btf__add_func_param(btf, "__data", vptr), 0);
		for (i = 0; i < (int)l->nr_args; i++) {
			if (is_odd && i == drop)
				continue;
			assert_int_equal(btf__add_func_param(btf, "",
					 by_size[is_odd && i == widen ? 8 : l->size[i]]), 0);
		}
		snprintf(name, sizeof(name), "btf_trace_%s", l->name);
		assert_true(btf__add_typedef(btf, name, btf__add_ptr(btf, proto)) > 0);
	}
	return btf;
}

/*
 * The start-up check of the events' arguments: a kernel of the series
 * this build reads passes; one whose kvm_memslot_pin has no retries
 * (before the batched pinning) or whose unlock reason is 8 bytes wide is
 * refused, naming the event and both layouts; an absent event is not
 * compared; and the kernel BTF the build used matches.
 */
static void test_event_layouts(void **state)
{
	char err[400] = "";
	struct btf *btf;

	(void)state;
	btf = trace_btf(NULL, -1, -1);
	assert_int_equal(kt_check_event_layouts(btf, err, sizeof(err)), 0);
	btf__free(btf);

	btf = trace_btf("kvm_memslot_pin", 6, -1);
	assert_int_equal(kt_check_event_layouts(btf, err, sizeof(err)), 1);
	assert_string_equal(err, "kvm_memslot_pin: the kernel passes 7 arguments (8 4 4 8 8 1 8 bytes), this kvmlock-top reads 8 (8 4 4 8 8 1 4 8): it was built for another version of the kvmlock series");
	btf__free(btf);

	btf = trace_btf("kvm_memslot_unlock", -1, 6);
	assert_int_equal(kt_check_event_layouts(btf, err, sizeof(err)), 1);
	assert_string_equal(err, "kvm_memslot_unlock: the kernel passes 8 arguments (8 4 4 8 1 1 8 8 bytes), this kvmlock-top reads 8 (8 4 4 8 1 1 4 8): it was built for another version of the kvmlock series");
	btf__free(btf);

	/* no typedefs at all: nothing compared */
	btf = btf__new_empty();
	assert_int_equal(kt_check_event_layouts(btf, err, sizeof(err)), 0);
	/* one that is not a pointer to a prototype */
	assert_true(btf__add_typedef(btf, "btf_trace_kvm_memslot_map",
				     btf__add_int(btf, "u64", 8, 0)) > 0);
	assert_int_equal(kt_check_event_layouts(btf, err, sizeof(err)), -EINVAL);
	btf__free(btf);

	/* the series kernel this build's BPF object was made against */
	btf = btf__parse(KT_TEST_KERNEL_BTF, NULL);
	if (!btf)
		fail_msg("cannot read %s", KT_TEST_KERNEL_BTF);
	for (int e = 0; e < KT_NR_EVENTS; e++) {
		char name[64];

		snprintf(name, sizeof(name), "btf_trace_%s", kt_event_layouts[e].name);
		if (btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) <= 0)
			fail_msg("%s has no %s", KT_TEST_KERNEL_BTF, name);
	}
	if (kt_check_event_layouts(btf, err, sizeof(err)))
		fail_msg("%s: %s", KT_TEST_KERNEL_BTF, err);
	btf__free(btf);
}

/*
 * bpftool prog show names each program by its event: the kernel keeps 15
 * characters of a name (BPF_OBJ_NAME_LEN), which must still tell the nine
 * apart; bpftool shows the full name, from BTF, when the kernel's is its
 * prefix.
 */
static void test_prog_names(void **state)
{
	static const char *const events[] = {
		"lock_begin", "pin", "map", "account_fail", "lock_end",
		"unlock_begin", "unlock", "unlock_end", "deferred_ops",
	};
	char kname[9][BPF_OBJ_NAME_LEN], cmd[160], want[64], line[4096];
	struct bpf_program *prog;
	size_t n = 0, i, j;

	(void)state;
	bpf_object__for_each_program(prog, skel->obj) {
		struct bpf_prog_info info = {};
		uint32_t len = sizeof(info);
		const char *name = bpf_program__name(prog);
		FILE *f;

		assert_true(n < 9);
		snprintf(want, sizeof(want), "mslot_%s", events[n]);
		assert_string_equal(name, want);
		snprintf(want, sizeof(want), "raw_tp/kvm_memslot_%s", events[n]);
		assert_string_equal(bpf_program__section_name(prog), want);
		assert_int_equal(bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len), 0);
		/* the kernel's name: the first 15 characters */
		assert_int_equal(strncmp(info.name, name, BPF_OBJ_NAME_LEN - 1), 0);
		assert_int_equal(strlen(info.name),
				 strlen(name) < BPF_OBJ_NAME_LEN ? strlen(name) : BPF_OBJ_NAME_LEN - 1);
		memcpy(kname[n], info.name, BPF_OBJ_NAME_LEN);
		/* and bpftool's: the whole name */
		snprintf(cmd, sizeof(cmd), "bpftool -j prog show id %u", info.id);
		f = popen(cmd, "r");
		assert_non_null(f);
		line[0] = '\0';
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		assert_int_equal(pclose(f), 0);
		snprintf(want, sizeof(want), "\"name\":\"%s\"", name);
		if (!strstr(line, want))
			fail_msg("bpftool prog show id %u: no %s in %s", info.id, want, line);
		n++;
	}
	assert_int_equal(n, 9);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (!strcmp(kname[i], kname[j]))
				fail_msg("two programs are %s to the kernel", kname[i]);
}

/* --- pinning (--pin) ------------------------------------------------ */

/*
 * A bpffs of our own: this process moves to a private mount namespace
 * (once) and mounts one on a fresh directory, which holds nothing else.
 */
static char bpffs[] = "/tmp/kt-bpffs.XXXXXX";
static char pin_dir[64];
static struct kt_pin pins[4];
static int bpffs_base;		/* entries of a new bpffs: maps.debug ... */

static void private_mounts(void)
{
	static bool done;

	if (done)
		return;
	assert_int_equal(unshare(CLONE_NEWNS), 0);
	assert_int_equal(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	done = true;
}

static void set_pins(struct kt_pin *p, struct kvmlock_top_bpf *s)
{
	p[0] = (struct kt_pin){ "slots", bpf_map__fd(s->maps.slots) };
	p[1] = (struct kt_pin){ "vm_stats", bpf_map__fd(s->maps.vm_stats) };
	p[2] = (struct kt_pin){ "events", bpf_map__fd(s->maps.events) };
	p[3] = (struct kt_pin){ "counters", bpf_map__fd(s->maps.bss) };
}

static int entries(const char *dir)
{
	char cmd[PATH_MAX + 64];
	FILE *f;
	int n;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &n), 1);
	pclose(f);
	return n;
}

static int setup_pin(void **state)
{
	setup(state);
	private_mounts();
	strcpy(bpffs, "/tmp/kt-bpffs.XXXXXX");
	assert_non_null(mkdtemp(bpffs));
	assert_int_equal(mount("bpf", bpffs, "bpf", 0, NULL), 0);
	snprintf(pin_dir, sizeof(pin_dir), "%s/kvmlock", bpffs);
	bpffs_base = entries(bpffs);
	set_pins(pins, skel);
	return 0;
}

static int teardown_pin(void **state)
{
	umount2(bpffs, MNT_DETACH);
	rmdir(bpffs);
	return teardown(state);
}

static uint32_t map_id(int fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

/* The map pinned at dir/name is the one of fd */
static bool pinned_is(const char *dir, const char *name, int fd)
{
	char path[PATH_MAX + 64];
	int pfd;
	bool same;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	pfd = bpf_obj_get(path);
	if (pfd < 0)
		return false;
	same = map_id(pfd) == map_id(fd);
	close(pfd);
	return same;
}

/*
 * bpftool -j map dump pinned dir/map, through the jq filter. bpftool 7.1
 * gives each entry as bytes, and decoded from BTF as "formatted": the
 * filter sees [{key, value}...] decoded.
 */
static void bpftool_jq(const char *map, const char *filter)
{
	char cmd[PATH_MAX + 2048];
	int rc;

	snprintf(cmd, sizeof(cmd),
		 "bpftool -j map dump pinned '%s/%s' | jq -e 'map(.formatted // .) | %s' >/dev/null",
		 pin_dir, map, filter);
	rc = system(cmd);
	if (rc) {
		snprintf(cmd, sizeof(cmd), "bpftool -j map dump pinned '%s/%s' | jq -c '.[0] | del(.key, .value)' | cut -c1-3000 >&2",
			 pin_dir, map);
		rc = system(cmd);
		fail_msg("bpftool map dump pinned %s/%s does not pass jq '%s' (%d)",
			 pin_dir, map, filter, rc);
	}
}

static void test_pin_unpin(void **state)
{
	bool created;
	char err[512];
	size_t i;

	(void)state;
	assert_int_equal(kt_pin_maps(pin_dir, pins, 4, &created, err, sizeof(err)), 0);
	assert_true(created);
	for (i = 0; i < 4; i++)
		assert_true(pinned_is(pin_dir, pins[i].name, pins[i].fd));
	assert_int_equal(entries(pin_dir), 4);

	/* what bpftool decodes from the BTF: the events' exact values */
	lock_ok(VM, PID, 1, KT_LOCK_READ | KT_LOCK_WRITE, 0x7f996c1000ULL, 64,
		0x100000000ULL, 2738976);
	lock_ok(VM, PID, 2, KT_LOCK_READ, 0x7f00000000ULL, 16, 0x200000000ULL, 1000);
	/* a slot locked before start, unlocked before the snapshot */
	skel->bss->reconcile_done = 0;
	RUN(mslot_unlock, VM, PID, 3, 8, 1, 1, KT_REASON_UNLOCK, 1297552);
	skel->bss->reconcile_done = 1;
	bpftool_jq("vm_stats",
		   "length == 1 and .[0].key == 7 and (.[0].value | .pid == 4242 and "
		   ".locks_ok == 2 and .locks_failed == 0 and .unlocks == 1 and "
		   ".lat_max_ns == 2738976 and .lat_sum_ns == 2739976 and "
		   ".lock_us[0] == 1 and .lock_us[11] == 1 and .unlock_us[10] == 1 and "
		   "(.lat_hist | length) == 496 and (.lat_hist | add) == 2)");
	bpftool_jq("slots",
		   "sort_by(.key.slot) | map([.key.vm, .key.slot, .value.state, .value.flags, "
		   ".value.pid, .value.npages, .value.hva, .value.ipa, .value.size, "
		   ".value.lock_duration_ns]) == [[7, 1, 2, 1, 4242, 64, 548034842624, 4294967296, 262144, 2738976], "
		   "[7, 2, 2, 0, 4242, 16, 545460846592, 8589934592, 65536, 1000], "
		   "[7, 3, 3, 0, 4242, 8, 0, 0, 0, 0]]");
	bpftool_jq("counters",
		   ".[0].value[\".bss\"] | "
		   "map(to_entries[0]) | from_entries | .tombstones == 1 and .events_lost == 0 and "
		   ".reconcile_done == 1 and .map_update_errors == 0");

	assert_int_equal(kt_unpin_maps(pin_dir, pins, 4, created), 0);
	assert_int_equal(access(pin_dir, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(entries(bpffs), bpffs_base);
	/* a second time: nothing to do, no error */
	assert_int_equal(kt_unpin_maps(pin_dir, pins, 4, created), 0);
}

#define BUSY_MSG(d) d " already holds pinned maps (another kvmlock-top --pin, or an earlier --keep-pinned): remove them with rm -r " d

static void test_pin_busy(void **state)
{
	struct kvmlock_top_bpf *other = load(NULL, 0, 0);
	struct kt_pin opins[4];
	char err[512], want[1024];
	bool created, ocreated;
	size_t i;

	(void)state;
	set_pins(opins, other);
	assert_int_equal(kt_pin_maps(pin_dir, pins, 4, &created, err, sizeof(err)), 0);
	/* a second kvmlock-top --pin: refused, and the first one's pins stay */
	ocreated = true;
	assert_int_equal(kt_pin_maps(pin_dir, opins, 4, &ocreated, err, sizeof(err)), -EEXIST);
	assert_false(ocreated);
	snprintf(want, sizeof(want), BUSY_MSG("%s"), pin_dir, pin_dir);
	assert_string_equal(err, want);
	for (i = 0; i < 4; i++)
		assert_true(pinned_is(pin_dir, pins[i].name, pins[i].fd));
	assert_int_equal(entries(pin_dir), 4);

	/* an earlier --keep-pinned left one pin: refused, nothing added */
	assert_int_equal(kt_unpin_maps(pin_dir, pins, 3, false), 0);
	assert_int_equal(entries(pin_dir), 1);
	assert_int_equal(kt_pin_maps(pin_dir, opins, 4, &ocreated, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, want);
	assert_int_equal(entries(pin_dir), 1);
	assert_true(pinned_is(pin_dir, "counters", pins[3].fd));
	assert_int_equal(kt_unpin_maps(pin_dir, pins, 4, created), 0);
	assert_int_equal(entries(bpffs), bpffs_base);

	/* an empty directory that was there is used, and left there */
	assert_int_equal(mkdir(pin_dir, 0755), 0);
	assert_int_equal(kt_pin_maps(pin_dir, opins, 4, &ocreated, err, sizeof(err)), 0);
	assert_false(ocreated);
	assert_int_equal(entries(pin_dir), 4);
	assert_int_equal(kt_unpin_maps(pin_dir, opins, 4, ocreated), 0);
	assert_int_equal(entries(pin_dir), 0);
	assert_int_equal(rmdir(pin_dir), 0);
	kvmlock_top_bpf__destroy(other);
}

static void test_pin_no_bpffs(void **state)
{
	char tmpfs[] = "/tmp/kt-tmpfs.XXXXXX", dir[PATH_MAX], err[512], want[1024];
	bool created = true;

	(void)state;
	assert_non_null(mkdtemp(tmpfs));
	assert_int_equal(mount("tmpfs", tmpfs, "tmpfs", 0, NULL), 0);
	snprintf(dir, sizeof(dir), "%s/kvmlock", tmpfs);
	assert_int_equal(kt_pin_maps(dir, pins, 4, &created, err, sizeof(err)), -ENODEV);
	assert_false(created);
	snprintf(want, sizeof(want), "bpffs is not mounted at %s: mount -t bpf bpf %s",
		 tmpfs, tmpfs);
	assert_string_equal(err, want);
	assert_int_equal(entries(tmpfs), 0);
	/* a parent that does not exist, and a trailing slash */
	snprintf(dir, sizeof(dir), "%s/none/kvmlock/", tmpfs);
	assert_int_equal(kt_pin_maps(dir, pins, 4, &created, err, sizeof(err)), -ENODEV);
	snprintf(want, sizeof(want), "bpffs is not mounted at %s/none: mount -t bpf bpf %s/none",
		 tmpfs, tmpfs);
	assert_string_equal(err, want);
	assert_int_equal(entries(tmpfs), 0);
	assert_int_equal(umount(tmpfs), 0);
	assert_int_equal(rmdir(tmpfs), 0);
}

/* Not allowed to create the directory: nobody, in a bpffs of mode 0755 */
static void test_pin_permission(void **state)
{
	char err[512] = "", want[1024];
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	(void)state;
	assert_int_equal(chmod(bpffs, 0755), 0);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		bool created;
		int ret = -1;

		close(fds[0]);
		if (!setresgid(65534, 65534, 65534) && !setresuid(65534, 65534, 65534))
			ret = kt_pin_maps(pin_dir, pins, 4, &created, err, sizeof(err));
		else
			snprintf(err, sizeof(err), "cannot become nobody");
		if (write(fds[1], err, strlen(err)) < 0)
			ret = -1;
		_exit(ret == -EACCES ? 0 : 1);
	}
	close(fds[1]);
	n = read(fds[0], err, sizeof(err) - 1);
	close(fds[0]);
	assert_true(n > 0);
	err[n] = '\0';
	assert_int_equal(waitpid(pid, &status, 0), pid);
	snprintf(want, sizeof(want), "cannot create %s: Permission denied", pin_dir);
	assert_string_equal(err, want);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(entries(bpffs), bpffs_base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lock_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_account_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_busy_keeps_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_failed_after_pin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlock_all_and_destroy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlock_unknown_tombstone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlock_unknown_after_reconcile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_vms_final, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_vms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reseed_vm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlock_before_reconcile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_straddling_attach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pid_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pid_filter_tgid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_latency_histogram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log2_histograms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconcile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_vms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ringbuf_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_only_in_trace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prog_names, setup, teardown),
		cmocka_unit_test(test_event_layouts),
		cmocka_unit_test_setup_teardown(test_pin_unpin, setup_pin, teardown_pin),
		cmocka_unit_test_setup_teardown(test_pin_busy, setup_pin, teardown_pin),
		cmocka_unit_test_setup_teardown(test_pin_no_bpffs, setup_pin, teardown_pin),
		cmocka_unit_test_setup_teardown(test_pin_permission, setup_pin, teardown_pin),
	};

	libbpf_set_print(silent);
	return cmocka_run_group_tests_name("bpf", tests, NULL, NULL);
}
