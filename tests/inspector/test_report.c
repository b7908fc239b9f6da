// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of kvmlock-top's userspace logic (no BPF): histogram bounds
 * and percentiles, interval diffs, rows and totals, sorting, text and JSON
 * rendering, the command line, and parsing the kernel state fixtures.
 */
#include <argp.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "kstate.h"
#include "options.h"
#include "prom.h"
#include "report.h"

/* --- a small JSON reader: validates, and finds a value by path ------- */

static const char *ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* Returns the end of the value at p, or NULL when it is not valid JSON */
static const char *skip_value(const char *p)
{
	p = ws(p);
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if ((unsigned char)*p < 0x20)
				return NULL;
			if (*p == '\\' && !*++p)
				return NULL;
		}
		return *p ? p + 1 : NULL;
	}
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';

		p = ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				if (*ws(p) != '"' || !(p = skip_value(p)))
					return NULL;
				p = ws(p);
				if (*p++ != ':')
					return NULL;
			}
			if (!(p = skip_value(p)))
				return NULL;
			p = ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	if (!strncmp(p, "null", 4) || !strncmp(p, "true", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	if (*p == '-' || (*p >= '0' && *p <= '9')) {
		char *end;

		strtod(p, &end);
		return end;
	}
	return NULL;
}

static bool json_valid(const char *doc)
{
	const char *end = skip_value(doc);

	return end && *ws(end) == '\0';
}

/* "vms.0.slots.1.prot": the value's text (malloc'd), or NULL */
static char *json_get(const char *doc, const char *path)
{
	const char *p = ws(doc), *end;
	char key[64];

	while (*path) {
		size_t klen = strcspn(path, ".");

		memcpy(key, path, klen);
		key[klen] = '\0';
		path += klen + (path[klen] == '.');
		if (*p == '{') {
			p = ws(p + 1);
			for (;;) {
				const char *k = p;

				if (*p != '"')
					return NULL;
				p = skip_value(p);
				if (!p)
					return NULL;
				if ((size_t)(p - k - 2) == klen && !strncmp(k + 1, key, klen)) {
					p = ws(ws(p) + 1);
					break;
				}
				p = skip_value(ws(p) + 1);
				if (!p)
					return NULL;
				p = ws(p);
				if (*p++ != ',')
					return NULL;
				p = ws(p);
			}
		} else if (*p == '[') {
			long i, idx = strtol(key, NULL, 10);

			p = ws(p + 1);
			for (i = 0; i < idx; i++) {
				p = skip_value(p);
				if (!p)
					return NULL;
				p = ws(p);
				if (*p++ != ',')
					return NULL;
				p = ws(p);
			}
			if (*p == ']')
				return NULL;
		} else {
			return NULL;
		}
	}
	end = skip_value(p);
	if (!end)
		return NULL;
	return strndup(p, (size_t)(end - p));
}

#define assert_json(doc, path, want) do {				\
	char *v_ = json_get(doc, path);					\
	if (!v_)							\
		fail_msg("no %s in %s", path, doc);			\
	if (strcmp(v_, want))						\
		fail_msg("%s is %s, want %s", path, v_, want);		\
	free(v_);							\
} while (0)

/* --- histogram ------------------------------------------------------- */

static void test_hist_bounds(void **state)
{
	uint32_t b;

	(void)state;
	assert_int_equal(kt_hist_bucket(0), 0);
	assert_int_equal(kt_hist_bucket(7), 7);
	assert_int_equal(kt_hist_bucket(8), 8);
	assert_int_equal(kt_hist_bucket(16), 16);
	assert_int_equal(kt_hist_bucket(17), 16);
	assert_int_equal(kt_hist_bucket(18), 17);
	assert_int_equal(kt_hist_bucket(1000), 63);
	assert_int_equal(kt_hist_bucket(UINT64_MAX), KT_HIST_BUCKETS - 1);
	assert_int_equal(kt_hist_lower(16), 16);
	assert_int_equal(kt_hist_upper(16), 17);
	assert_int_equal(kt_hist_lower(63), 960);
	assert_int_equal(kt_hist_upper(63), 1023);
	assert_int_equal(kt_hist_upper(KT_HIST_BUCKETS - 1), UINT64_MAX);
	/* every bucket: contiguous, its bounds map back to it, width <= 1/8 */
	for (b = 0; b < KT_HIST_BUCKETS; b++) {
		uint64_t lo = kt_hist_lower(b), hi = kt_hist_upper(b);

		assert_int_equal(kt_hist_bucket(lo), b);
		assert_int_equal(kt_hist_bucket(hi), b);
		if (b + 1 < KT_HIST_BUCKETS)
			assert_int_equal(kt_hist_lower(b + 1), hi + 1);
		if (b >= KT_HIST_SUB)
			assert_true((hi - lo) <= lo / 8);
	}
}

static void test_percentiles(void **state)
{
	uint64_t hist[KT_HIST_BUCKETS] = {};
	struct kt_lat lat;

	(void)state;
	kt_lat_from_hist(hist, 0, &lat);
	assert_false(lat.valid);

	/* one sample of 1000: bucket [960, 1023], clamped to the max */
	hist[kt_hist_bucket(1000)] = 1;
	kt_lat_from_hist(hist, 1000, &lat);
	assert_true(lat.valid);
	assert_int_equal(lat.p50_ns, 1000);
	assert_int_equal(lat.p99_ns, 1000);
	assert_int_equal(lat.max_ns, 1000);

	/* 99 of 100 ([96, 103]) and 1 of 10000: p50 = p99 = 103 */
	memset(hist, 0, sizeof(hist));
	hist[kt_hist_bucket(100)] = 99;
	hist[kt_hist_bucket(10000)] = 1;
	kt_lat_from_hist(hist, 10000, &lat);
	assert_int_equal(lat.p50_ns, 103);
	assert_int_equal(lat.p99_ns, 103);
	assert_int_equal(lat.max_ns, 10000);
	/* 98 and 2: p99 is in the top bucket [9728, 10239], clamped */
	hist[kt_hist_bucket(100)] = 98;
	hist[kt_hist_bucket(10000)] = 2;
	kt_lat_from_hist(hist, 10000, &lat);
	assert_int_equal(lat.p99_ns, 10000);
	kt_lat_from_hist(hist, 20000, &lat);
	assert_int_equal(lat.p99_ns, 10239);
	/* small values are exact */
	memset(hist, 0, sizeof(hist));
	hist[3] = 1;
	hist[5] = 1;
	kt_lat_from_hist(hist, 5, &lat);
	assert_int_equal(lat.p50_ns, 3);
	assert_int_equal(lat.p99_ns, 5);
}

static void test_interval_diff(void **state)
{
	static struct kt_vm_stats prev, cur;
	static struct kt_agg iv;

	(void)state;
	prev.locks_ok = 3;
	prev.locks_failed = 1;
	prev.unlocks = 2;
	prev.account_failures = 1;
	prev.lat_max_ns = 5000;
	prev.lat_hist[kt_hist_bucket(5000)] = 1;
	prev.lat_hist[kt_hist_bucket(100)] = 2;
	cur = prev;
	cur.locks_ok = 5;
	cur.unlocks = 4;
	cur.unlocks_failed = 1;
	cur.deferred_ops = 2;
	cur.lat_hist[kt_hist_bucket(1000)] += 2;
	kt_agg_interval(&iv, &cur, &prev);
	assert_int_equal(iv.locks_ok, 2);
	assert_int_equal(iv.locks_failed, 0);
	assert_int_equal(iv.unlocks, 2);
	assert_int_equal(iv.unlocks_failed, 1);
	assert_int_equal(iv.account_failures, 0);
	assert_int_equal(iv.deferred_ops, 2);
	assert_int_equal(iv.lat_hist[kt_hist_bucket(1000)], 2);
	assert_int_equal(iv.lat_hist[kt_hist_bucket(100)], 0);
	/* max not raised: the top bucket's bound, 1023 */
	assert_int_equal(iv.lat_max_ns, 1023);
	/* raised: exact */
	cur.lat_max_ns = 9000;
	cur.lat_hist[kt_hist_bucket(9000)]++;
	kt_agg_interval(&iv, &cur, &prev);
	assert_int_equal(iv.lat_max_ns, 9000);
	/* nothing locked: 0; no previous: everything */
	kt_agg_interval(&iv, &prev, &prev);
	assert_int_equal(iv.lat_max_ns, 0);
	assert_int_equal(iv.locks_ok, 0);
	kt_agg_interval(&iv, &prev, NULL);
	assert_int_equal(iv.locks_ok, 3);
	assert_int_equal(iv.lat_max_ns, 5000);
}

/*
 * kt_build_report() of smp (4 KiB pages), which must succeed; the VMs it
 * found gone are freed, their number returned.
 */
static size_t build(struct kt_history *h, const struct kt_sample *smp,
		    const struct kt_opts *o, struct kt_report *r)
{
	uint64_t *gone;
	size_t nr_gone;

	assert_int_equal(kt_build_report(h, smp, o, 4096, r, &gone, &nr_gone), 0);
	free(gone);
	return nr_gone;
}

/* --- a sample: VMs 2 and 3 live, VM 9 gone --------------------------- */

static struct kt_stats_entry stats[3];
static struct kt_slot_entry slots[5];
static struct kt_live_vm vms[2];

static void make_sample(struct kt_sample *s)
{
	memset(stats, 0, sizeof(stats));
	memset(slots, 0, sizeof(slots));
	memset(vms, 0, sizeof(vms));

	stats[0].vm = 2;
	stats[0].s.pid = 59;
	stats[0].s.locks_ok = 2;
	stats[0].s.locks_failed = 1;
	stats[0].s.account_failures = 1;
	stats[0].s.last_acct_locked_vm = 64;
	stats[0].s.last_acct_limit = 72;
	stats[0].s.lat_max_ns = 2738976;
	stats[0].s.lat_hist[kt_hist_bucket(2738976)] = 1;
	stats[0].s.lat_hist[kt_hist_bucket(1000)] = 1;
	stats[0].s.lat_sum_ns = 2738976 + 1000;
	stats[0].s.last_event_ns = 900;
	stats[1].vm = 3;
	stats[1].s.pid = 60;
	stats[1].s.unlocks = 1;
	stats[1].s.last_event_ns = 100;
	stats[2].vm = 9;
	stats[2].s.locks_ok = 1;
	stats[2].s.unlocks = 1;
	stats[2].s.lat_max_ns = 500;
	stats[2].s.lat_hist[kt_hist_bucket(500)] = 1;
	stats[2].s.lat_sum_ns = 500;

	slots[0].key = (struct kt_slot_key){ .vm = 2, .slot = 1 };
	slots[0].val = (struct kt_slot){ .state = KT_SLOT_LIVE, .flags = KT_SLOT_F_RW,
		.pid = 59, .hva = 0x7f996c1000, .npages = 64, .ipa = 0x100000000,
		.size = 0x40000, .locked_at_ns = 400, .lock_duration_ns = 2738976 };
	slots[1].key = (struct kt_slot_key){ .vm = 2, .slot = 0 };
	slots[1].val = (struct kt_slot){ .state = KT_SLOT_LIVE, .flags = KT_SLOT_F_NOADDR,
		.pid = 59, .npages = 16, .locked_at_ns = 500, .lock_duration_ns = 1000 };
	slots[2].key = (struct kt_slot_key){ .vm = 2, .slot = 5 };
	slots[2].val = (struct kt_slot){ .state = KT_SLOT_TOMBSTONE, .npages = 8 };
	slots[3].key = (struct kt_slot_key){ .vm = 2, .slot = 6 };
	slots[3].val = (struct kt_slot){ .state = KT_SLOT_PENDING, .npages = 8 };
	slots[4].key = (struct kt_slot_key){ .vm = 11, .slot = 0 };
	slots[4].val = (struct kt_slot){ .state = KT_SLOT_LIVE, .npages = 1,
		.flags = KT_SLOT_F_SEEDED };

	vms[0].vm = 2;
	vms[0].pid = 59;
	vms[0].proc.known = true;
	strcpy(vms[0].proc.comm, "memslot_lock_te");
	vms[0].proc.vmlck_known = true;
	vms[0].proc.vmlck_bytes = 80 * 4096;
	vms[0].proc.limit_known = true;
	vms[0].proc.limit_bytes = 320 * 4096;
	vms[0].kstat_known = true;
	vms[0].kstat_locked_slots = 2;
	vms[0].kstat_locked_pages = 80;
	vms[1].vm = 3;
	vms[1].pid = 60;
	vms[1].proc.known = true;
	strcpy(vms[1].proc.comm, "qemu");
	vms[1].proc.vmlck_known = true;
	vms[1].proc.limit_known = true;
	vms[1].proc.limit_unlimited = true;
	/* libvirt's QEMU: its guest name and its machine scope */
	strcpy(vms[1].id.name, "db01");
	strcpy(vms[1].id.cgroup, "/machine.slice/machine-qemu\\x2d1\\x2ddb01.scope");
	vms[1].kstat_known = true;
	vms[1].kstat_locked_slots = 1;	/* a mismatch */

	memset(s, 0, sizeof(*s));
	s->stats = stats;
	s->nr_stats = 3;
	s->slots = slots;
	s->nr_slots = 5;
	s->vms = vms;
	s->nr_vms = 2;
	s->now_ns = 1000;
	s->wall.tv_sec = 1796083200;	/* 2026-12-01T00:00:00Z */
	s->wall.tv_nsec = 123456789;
	s->interval_ns = 1000000000;
	s->events_received = 12;
	s->events_lost_total = 3;
	s->tombstones = 1;
}

static void defaults(struct kt_opts *o)
{
	char *argv[] = { "kvmlock-top", NULL };

	assert_int_equal(kt_parse_args(1, argv, o, ARGP_NO_EXIT), 0);
}

static void test_build_report(void **state)
{
	struct kt_history h = {};
	struct kt_sample smp;
	struct kt_report r;
	struct kt_opts o;
	uint64_t *gone;
	size_t nr_gone;
	const struct kt_vm_row *row;

	(void)state;
	defaults(&o);
	h.rec.seeded = 4;
	h.rec.skipped = 1;
	make_sample(&smp);
	assert_int_equal(kt_build_report(&h, &smp, &o, 4096, &r, &gone, &nr_gone), 0);
	/* VM 9 (stats) and VM 11 (a seeded slot) are not live: gone */
	assert_int_equal(nr_gone, 2);
	assert_int_equal(gone[0], 9);
	assert_int_equal(gone[1], 11);
	free(gone);

	assert_int_equal(r.nr_vms, 2);
	assert_int_equal(r.nr_rows, 2);
	row = &r.rows[0];		/* sorted by pages: VM 2 first */
	assert_int_equal(row->vm, 2);
	assert_int_equal(row->locked_slots, 2);	/* not the tombstone or pending */
	assert_int_equal(row->locked_pages, 80);
	assert_int_equal(row->rw_pages, 64);
	assert_int_equal(row->ro_pages, 16);
	assert_true(row->pct_valid);
	assert_true(row->pct == 25.0);
	assert_int_equal(row->iv.locks_ok, 2);
	assert_int_equal(row->cum.locks_failed, 1);
	assert_true(row->lat.valid);
	assert_int_equal(row->lat.p50_ns, 1023);
	assert_int_equal(row->lat.max_ns, 2738976);
	assert_true(row->acct_seen);
	assert_int_equal(row->acct_locked_vm_pages, 64);
	assert_true(row->age_valid);
	assert_int_equal(row->age_ns, 100);
	assert_false(row->mismatch);
	assert_int_equal(row->nr_slots, 2);
	assert_int_equal(row->slots[0].slot, 0);	/* sorted by slot */
	assert_true(row->slots[0].noaddr);
	assert_int_equal(row->slots[1].ipa_end, 0x100040000);
	assert_int_equal(row->slots[1].locked_for_ns, 600);
	row = &r.rows[1];
	assert_int_equal(row->vm, 3);
	assert_false(row->pct_valid);
	assert_true(row->mismatch);
	assert_false(row->lat.valid);
	assert_int_equal(r.state_mismatches, 1);

	/* totals: live VMs plus VM 9's figures */
	assert_int_equal(r.totals.locked_pages, 80);
	assert_int_equal(r.totals.iv.locks_ok, 3);
	assert_int_equal(r.totals.cum.locks_ok, 3);
	assert_int_equal(r.totals.cum.unlocks, 2);
	assert_int_equal(r.totals.lat.max_ns, 2738976);
	assert_int_equal(r.events_lost, 3);
	assert_int_equal(r.events_received_total, 12);
	assert_int_equal(r.seeded, 4);
	assert_int_equal(r.tombstones, 1);
	kt_report_free(&r);

	/* next interval: VM 9 no longer in the maps; its total stays */
	make_sample(&smp);
	smp.nr_stats = 2;		/* VMs 2 and 3; VM 2 locked once more */
	stats[0].s.locks_ok = 3;
	stats[0].s.lat_hist[kt_hist_bucket(1000)]++;
	smp.nr_slots = 4;
	smp.events_received = 5;
	smp.events_lost_total = 4;
	assert_int_equal(build(&h, &smp, &o, &r), 0);
	assert_int_equal(r.rows[0].iv.locks_ok, 1);
	assert_int_equal(r.rows[0].iv.locks_failed, 0);
	assert_int_equal(r.rows[0].lat.max_ns, 1023);
	assert_int_equal(r.totals.iv.locks_ok, 1);
	assert_int_equal(r.totals.cum.locks_ok, 4);	/* 3 + VM 9's 1 */
	assert_int_equal(r.totals.cum.unlocks, 2);
	assert_int_equal(r.events_lost, 1);
	assert_int_equal(r.events_received_total, 17);
	kt_report_free(&r);
	kt_history_free(&h);
}

/*
 * z on the screen: what it shows ("shown") counts from the moment of the
 * reset; what is exported ("cum", the events) still counts since start.
 */
static void test_history_reset(void **state)
{
	struct kt_history h = {};
	struct kt_sample smp;
	struct kt_report r;
	struct kt_opts o;

	(void)state;
	defaults(&o);
	make_sample(&smp);
	build(&h, &smp, &o, &r);
	assert_int_equal(r.totals.cum.locks_ok, 3);	/* VM 9's lock with it */
	kt_report_free(&r);

	/* reset now: the maps hold VMs 2 and 3 as they were, lost = 3 */
	make_sample(&smp);
	assert_int_equal(kt_history_reset(&h, stats, 2, 3), 0);
	assert_int_equal(h.nr_base, 2);

	/* VM 2 locks once more (1000 ns); one event lost since the reset */
	make_sample(&smp);
	smp.nr_stats = 2;
	smp.nr_slots = 4;
	stats[0].s.locks_ok = 3;
	stats[0].s.lat_hist[kt_hist_bucket(1000)]++;
	smp.events_received = 5;
	smp.events_lost_total = 4;
	build(&h, &smp, &o, &r);
	assert_int_equal(r.rows[0].vm, 2);
	assert_int_equal(r.rows[0].shown.locks_ok, 1);
	assert_int_equal(r.rows[0].shown.locks_failed, 0);
	assert_int_equal(r.rows[0].shown.account_failures, 0);
	assert_int_equal(r.rows[0].shown.lat_max_ns, 1023);
	assert_int_equal(r.rows[0].iv.locks_ok, 1);
	assert_int_equal(r.rows[1].shown.unlocks, 0);
	assert_int_equal(r.totals.shown.locks_ok, 1);	/* VM 9 is forgotten */
	assert_int_equal(r.totals.shown.unlocks, 0);
	/* exported: since start, VM 9 with them */
	assert_int_equal(r.rows[0].cum.locks_ok, 3);
	assert_int_equal(r.rows[0].cum.locks_failed, 1);
	assert_int_equal(r.rows[0].cum.account_failures, 1);
	assert_int_equal(r.rows[1].cum.unlocks, 1);
	assert_int_equal(r.totals.cum.locks_ok, 4);
	assert_int_equal(r.totals.cum.unlocks, 2);
	assert_int_equal(r.events_received_total, 17);
	assert_int_equal(r.events_lost, 1);
	assert_int_equal(r.events_lost_total, 4);
	kt_report_free(&r);

	/* VM 2 exits: its lock since the reset stays in the totals, once */
	make_sample(&smp);
	smp.nr_stats = 2;
	smp.nr_slots = 0;
	stats[0].s.locks_ok = 3;
	stats[0].s.lat_hist[kt_hist_bucket(1000)]++;
	vms[0] = vms[1];
	smp.nr_vms = 1;
	smp.events_lost_total = 4;
	assert_int_equal(build(&h, &smp, &o, &r), 1);
	assert_int_equal(r.nr_rows, 1);
	assert_int_equal(r.totals.shown.locks_ok, 1);
	assert_int_equal(r.totals.cum.locks_ok, 4);
	assert_int_equal(r.totals.iv.locks_ok, 0);
	assert_int_equal(h.nr_base, 1);
	assert_int_equal(h.base[0].vm, 3);
	kt_report_free(&r);
	kt_history_free(&h);
}

/*
 * A VM gone is deleted after the report that found it: what its entry
 * counted after the sample's dump (a last unlock, say) comes with the
 * deletion and joins the totals of the next report. A VM whose entry was
 * gone already (zeroed) adds nothing; one with no entry in the dump (it
 * came after) adds all it has.
 */
static void test_history_add_late(void **state)
{
	struct kt_vm_stats last[3] = {};
	uint64_t late_gone[3] = { 9, 11, 12 };
	struct kt_history h = {};
	struct kt_sample smp;
	struct kt_report r;
	struct kt_opts o;

	(void)state;
	defaults(&o);
	make_sample(&smp);
	assert_int_equal(build(&h, &smp, &o, &r), 2);	/* 9 and 11 */
	assert_int_equal(r.totals.cum.locks_ok, 3);
	assert_int_equal(r.totals.cum.unlocks, 2);
	kt_report_free(&r);

	/* VM 9 unlocked once more after the dump; 11 was gone; 12 came late */
	last[0] = stats[2].s;
	last[0].unlocks = 2;
	last[0].last_event_ns = 1100;
	last[2].locks_failed = 1;
	last[2].account_failures = 1;
	last[2].last_event_ns = 1200;
	kt_history_add_late(&h, &smp, late_gone, last, 3);

	make_sample(&smp);
	smp.nr_stats = 2;	/* 9 deleted */
	build(&h, &smp, &o, &r);
	assert_int_equal(r.totals.cum.locks_ok, 3);
	assert_int_equal(r.totals.cum.unlocks, 3);
	assert_int_equal(r.totals.cum.locks_failed, 2);
	assert_int_equal(r.totals.cum.account_failures, 2);
	assert_int_equal(r.totals.shown.unlocks, 3);
	kt_report_free(&r);
	kt_history_free(&h);
}

/*
 * A VM whose directory could not be read this time (a new directory that
 * did not parse, say) is left out of the sample but alive: no VM of the
 * maps is gone then. VM 3 left out, VM 9 truly gone: neither is deleted,
 * both stay in the exported totals (which never go down), and VM 3 comes
 * back at the next sample with its counts and without a double count.
 */
static void test_left_out_not_gone(void **state)
{
	struct kt_history h = {};
	struct kt_sample smp;
	struct kt_report r;
	struct kt_opts o;

	(void)state;
	defaults(&o);
	make_sample(&smp);
	smp.nr_vms = 1;			/* VM 3 left out */
	smp.nr_vms_left_out = 1;
	assert_int_equal(build(&h, &smp, &o, &r), 0);
	assert_int_equal(r.nr_rows, 1);
	assert_int_equal(r.totals.cum.locks_ok, 3);
	assert_int_equal(r.totals.cum.unlocks, 2);
	assert_int_equal(r.totals.iv.unlocks, 2);
	assert_int_equal(h.nr_prev, 3);
	kt_report_free(&r);

	/* read again: VM 3 is back, unlocked once more; 9 now gone */
	make_sample(&smp);
	stats[1].s.unlocks = 2;
	assert_int_equal(build(&h, &smp, &o, &r), 2);	/* 9 and 11, slots only */
	assert_int_equal(r.nr_rows, 2);
	assert_int_equal(r.rows[1].vm, 3);
	assert_int_equal(r.rows[1].iv.unlocks, 1);
	assert_int_equal(r.rows[1].cum.unlocks, 2);
	assert_int_equal(r.totals.cum.locks_ok, 3);
	assert_int_equal(r.totals.cum.unlocks, 3);
	assert_int_equal(r.totals.iv.unlocks, 1);
	kt_report_free(&r);
	kt_history_free(&h);
}

static void test_sort_and_rows(void **state)
{
	static struct kt_vm_row rows[4];
	static const struct {
		const char *key;
		uint64_t order[4];
	} cases[] = {
		{ "pages", { 3, 1, 2, 4 } },
		{ "slots", { 1, 3, 2, 4 } },
		{ "memlock", { 2, 4, 1, 3 } },
		{ "pct", { 4, 2, 1, 3 } },
		{ "locks", { 4, 1, 2, 3 } },
		{ "fails", { 2, 3, 1, 4 } },
		{ "lat", { 3, 2, 1, 4 } },
		{ "pid", { 4, 3, 2, 1 } },
		{ "vm", { 1, 2, 3, 4 } },
	};
	struct kt_opts o;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = { "kvmlock-top", "-s", (char *)cases[i].key, NULL };

		memset(rows, 0, sizeof(rows));
		for (j = 0; j < 4; j++) {
			rows[j].vm = j + 1;
			rows[j].pid = 100 - (uint32_t)j;
		}
		rows[0].locked_pages = 50; rows[0].locked_slots = 3;
		rows[1].locked_pages = 10; rows[1].locked_slots = 2;
		rows[2].locked_pages = 90; rows[2].locked_slots = 3;
		rows[3].locked_pages = 0;
		rows[0].proc.vmlck_known = true; rows[0].proc.vmlck_bytes = 5;
		rows[1].proc.vmlck_known = true; rows[1].proc.vmlck_bytes = 9;
		rows[3].proc.vmlck_known = true; rows[3].proc.vmlck_bytes = 7;
		rows[0].pct_valid = true; rows[0].pct = 10;
		rows[1].pct_valid = true; rows[1].pct = 20;
		rows[3].pct_valid = true; rows[3].pct = 30;
		rows[0].iv.locks_ok = 2; rows[1].iv.locks_failed = 1;
		rows[3].iv.locks_ok = 5;
		rows[1].shown.locks_failed = 4; rows[2].shown.locks_failed = 2;
		rows[2].shown.account_failures = 2;
		rows[0].lat.valid = true; rows[0].lat.p99_ns = 100;
		rows[1].lat.valid = true; rows[1].lat.p99_ns = 100; rows[1].lat.max_ns = 300;
		rows[2].lat.valid = true; rows[2].lat.p99_ns = 900;
		rows[1].shown.locks_failed = 4;
		assert_int_equal(kt_parse_args(3, argv, &o, ARGP_NO_EXIT), 0);
		kt_sort_rows(rows, 4, o.sort);
		for (j = 0; j < 4; j++)
			if (rows[j].vm != cases[i].order[j])
				fail_msg("-s %s: row %zu is VM %llu, want %llu", cases[i].key,
					 j, (unsigned long long)rows[j].vm,
					 (unsigned long long)cases[i].order[j]);
	}
}

static void test_rows_limit_and_pid(void **state)
{
	char *argv[] = { "kvmlock-top", "-r", "1", "-s", "vm", NULL };
	char *argv2[] = { "kvmlock-top", "-p", "60", NULL };
	struct kt_history h = {};
	struct kt_sample smp;
	struct kt_report r;
	struct kt_opts o;

	(void)state;
	assert_int_equal(kt_parse_args(5, argv, &o, ARGP_NO_EXIT), 0);
	make_sample(&smp);
	build(&h, &smp, &o, &r);
	assert_int_equal(r.nr_rows, 1);
	assert_int_equal(r.nr_vms, 2);
	assert_int_equal(r.rows[0].vm, 2);
	assert_int_equal(r.totals.locked_pages, 80);	/* all VMs */
	kt_report_free(&r);
	kt_history_free(&h);

	assert_int_equal(kt_parse_args(3, argv2, &o, ARGP_NO_EXIT), 0);
	make_sample(&smp);
	assert_int_equal(build(&h, &smp, &o, &r), 2);	/* VM 2 is live: kept, though filtered */
	assert_int_equal(r.nr_rows, 1);
	assert_int_equal(r.rows[0].vm, 3);
	assert_int_equal(r.totals.locked_pages, 0);
	kt_report_free(&r);
	kt_history_free(&h);
}

enum fmt { TEXT, JSON, PROM };

/* render()'s comm of VM 2 and VM 3 instead of make_sample()'s, if set */
static const char *comm_of[2];

static char *render(enum fmt fmt, bool slots, struct kt_opts *o)
{
	struct kt_history h = {};
	struct kt_sample smp;
	struct kt_report r;
	size_t len;
	char *buf;
	FILE *f;

	o->slots = slots;
	make_sample(&smp);
	if (comm_of[0])
		strcpy(vms[0].proc.comm, comm_of[0]);
	if (comm_of[1])
		strcpy(vms[1].proc.comm, comm_of[1]);
	build(&h, &smp, o, &r);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	if (fmt == JSON)
		kt_render_json(f, &r);
	else if (fmt == PROM)
		assert_int_equal(kt_render_prom(f, &r), 0);
	else
		kt_render_text(f, &r);
	fclose(f);
	kt_report_free(&r);
	kt_history_free(&h);
	return buf;
}

/*
 * A comm is any bytes (PR_SET_NAME). JSON: valid UTF-8 as it is, control
 * characters escaped, other bytes U+FFFD. Text: nothing but printable
 * ASCII, in the same 10 columns.
 */
static void test_comm_bytes(void **state)
{
	struct kt_opts o;
	char *doc;

	(void)state;
	defaults(&o);
	comm_of[0] = "qemu-\xc3\xa9";		/* qemu-é */
	comm_of[1] = "\x1b[2J\nx\xff\xc3";	/* ESC, newline, invalid, cut */
	doc = render(JSON, false, &o);
	assert_true(json_valid(doc));
	assert_json(doc, "vms.0.comm", "\"qemu-\xc3\xa9\"");
	assert_json(doc, "vms.1.comm", "\"\\u001b[2J\\u000ax\\ufffd\\ufffd\"");
	free(doc);
	doc = render(TEXT, false, &o);
	assert_non_null(strstr(doc, " qemu-??     "));
	assert_non_null(strstr(doc, " ?[2J?x??    "));
	assert_null(strchr(doc, '\x1b'));
	assert_null(strstr(doc, "\xc3"));
	free(doc);
}

/* Also after a failed assertion: the next tests get make_sample()'s comms */
static int reset_comms(void **state)
{
	(void)state;
	comm_of[0] = comm_of[1] = NULL;
	return 0;
}

static void test_json(void **state)
{
	struct kt_opts o;
	char *doc;

	(void)state;
	defaults(&o);
	doc = render(JSON, true, &o);
	assert_true(json_valid(doc));
	assert_int_equal(strchr(doc, '\n') - doc, (long)strlen(doc) - 1);	/* one line */
	assert_json(doc, "version", "1");
	assert_json(doc, "type", "\"top\"");
	assert_json(doc, "time", "\"2026-12-01T00:00:00.123Z\"");
	assert_json(doc, "interval_ns", "1000000000");
	assert_json(doc, "vms.0.vm", "2");
	assert_json(doc, "vms.0.pid", "59");
	assert_json(doc, "vms.0.comm", "\"memslot_lock_te\"");
	assert_json(doc, "vms.0.locked_slots", "2");
	assert_json(doc, "vms.0.locked_pages", "80");
	assert_json(doc, "vms.0.locked_bytes", "327680");
	assert_json(doc, "vms.0.locked_rw_bytes", "262144");
	assert_json(doc, "vms.0.locked_ro_bytes", "65536");
	assert_json(doc, "vms.0.memlock_charged_bytes", "327680");
	assert_json(doc, "vms.0.vmlck_bytes", "327680");
	assert_json(doc, "vms.0.memlock_limit_bytes", "1310720");
	assert_json(doc, "vms.0.memlock_limit_unlimited", "false");
	assert_json(doc, "vms.0.memlock_used_pct", "25.0");
	assert_json(doc, "vms.0.lock_ops", "3");
	assert_json(doc, "vms.0.lock_ops_total", "3");
	assert_json(doc, "vms.0.lock_failures", "1");
	assert_json(doc, "vms.0.account_failures_total", "1");
	assert_json(doc, "vms.0.last_account_fail_locked_vm_bytes", "262144");
	assert_json(doc, "vms.0.last_account_fail_limit_bytes", "294912");
	assert_json(doc, "vms.0.lock_latency_p50_ns", "1023");
	assert_json(doc, "vms.0.lock_latency_p99_ns", "2738976");
	assert_json(doc, "vms.0.lock_latency_max_ns", "2738976");
	assert_json(doc, "vms.0.last_event_age_ns", "100");
	assert_json(doc, "vms.0.state_mismatch", "false");
	assert_json(doc, "vms.0.vmm_name", "null");
	assert_json(doc, "vms.0.cgroup", "null");
	assert_json(doc, "vms.0.slots.0.slot", "0");
	assert_json(doc, "vms.0.slots.0.ipa_start", "null");
	assert_json(doc, "vms.0.slots.0.hva", "null");
	assert_json(doc, "vms.0.slots.0.prot", "\"r\"");
	assert_json(doc, "vms.0.slots.0.pages", "16");
	assert_json(doc, "vms.0.slots.1.slot", "1");
	assert_json(doc, "vms.0.slots.1.ipa_start", "\"0x100000000\"");
	assert_json(doc, "vms.0.slots.1.ipa_end", "\"0x100040000\"");
	assert_json(doc, "vms.0.slots.1.bytes", "262144");
	assert_json(doc, "vms.0.slots.1.prot", "\"rw\"");
	assert_json(doc, "vms.0.slots.1.hva", "\"0x7f996c1000\"");
	assert_json(doc, "vms.0.slots.1.locked_for_ns", "600");
	assert_json(doc, "vms.0.slots.1.lock_latency_ns", "2738976");
	assert_json(doc, "vms.1.vm", "3");
	assert_json(doc, "vms.1.vmm_name", "\"db01\"");
	assert_json(doc, "vms.1.cgroup", "\"/machine.slice/machine-qemu\\\\x2d1\\\\x2ddb01.scope\"");
	assert_json(doc, "vms.1.memlock_limit_bytes", "null");
	assert_json(doc, "vms.1.memlock_limit_unlimited", "true");
	assert_json(doc, "vms.1.memlock_used_pct", "null");
	assert_json(doc, "vms.1.lock_latency_p50_ns", "null");
	assert_json(doc, "vms.1.last_account_fail_limit_bytes", "null");
	assert_json(doc, "vms.1.state_mismatch", "true");
	assert_json(doc, "vms.1.slots", "[]");
	assert_json(doc, "totals.vms", "2");
	assert_json(doc, "totals.locked_pages", "80");
	assert_json(doc, "totals.lock_ops", "4");
	assert_json(doc, "totals.unlock_ops_total", "2");
	assert_json(doc, "totals.lock_latency_max_ns", "2738976");
	assert_json(doc, "events_received", "12");
	assert_json(doc, "events_received_total", "12");
	assert_json(doc, "events_lost", "3");
	assert_json(doc, "events_lost_total", "3");
	assert_json(doc, "reconciled.tombstones", "1");
	assert_json(doc, "state_mismatches", "1");
	free(doc);

	/* without -S: no slots arrays */
	doc = render(JSON, false, &o);
	assert_true(json_valid(doc));
	assert_null(json_get(doc, "vms.0.slots"));
	free(doc);
}

static void test_text_width(void **state)
{
	struct kt_opts o;
	char *text, *line, *save;
	int n = 0;

	(void)state;
	defaults(&o);
	text = render(TEXT, true, &o);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strlen(line) > 80)
			fail_msg("%zu characters: '%s'", strlen(line), line);
		n++;
	}
	assert_true(n >= 10);
	free(text);
	text = render(TEXT, true, &o);
	assert_non_null(strstr(text, "memslot_lo"));
	assert_non_null(strstr(text, "0x100000000    0x100040000"));
	assert_non_null(strstr(text, "events lost: 3"));
	assert_non_null(strstr(text, "last RLIMIT_MEMLOCK refusal: 256K locked, limit 288K"));
	assert_non_null(strstr(text, "unlim"));
	free(text);
}

static void test_fmt(void **state)
{
	char b[16];

	(void)state;
	kt_fmt_bytes(b, sizeof(b), 0);
	assert_string_equal(b, "0B");
	kt_fmt_bytes(b, sizeof(b), 262144);
	assert_string_equal(b, "256K");
	kt_fmt_bytes(b, sizeof(b), 1536ULL << 20);
	assert_string_equal(b, "1.5G");
	kt_fmt_ns(b, sizeof(b), 2738976);
	assert_string_equal(b, "2.7ms");
	kt_fmt_ns(b, sizeof(b), 999);
	assert_string_equal(b, "999ns");
	kt_fmt_ns(b, sizeof(b), 123456789);
	assert_string_equal(b, "123ms");
}

/* --- Prometheus ------------------------------------------------------ */

/* The sample of make_sample(), every metric, exactly */
static const char prom_fixture[] =
	"# HELP kvmlock_exporter_build_info kvmlock-top's version, as a label; the value is always 1.\n"
	"# TYPE kvmlock_exporter_build_info gauge\n"
	"kvmlock_exporter_build_info{version=\"0.1\"} 1\n"
	"# HELP kvmlock_vms Live VMs (those of the -p VMMs with -p).\n"
	"# TYPE kvmlock_vms gauge\n"
	"kvmlock_vms 2\n"
	"# HELP kvmlock_events_received_total kvm_memslot_* events of the VMs watched, counted by the BPF programs.\n"
	"# TYPE kvmlock_events_received_total counter\n"
	"kvmlock_events_received_total 12\n"
	"# HELP kvmlock_events_lost_total Event records lost to a full ring buffer: 0, top streams none.\n"
	"# TYPE kvmlock_events_lost_total counter\n"
	"kvmlock_events_lost_total 3\n"
	"# HELP kvmlock_reconciled_slots_total Start-up reconciliation: slots seeded from the kernel state, skipped (events had them), tombstones.\n"
	"# TYPE kvmlock_reconciled_slots_total counter\n"
	"kvmlock_reconciled_slots_total{kind=\"seeded\"} 0\n"
	"kvmlock_reconciled_slots_total{kind=\"skipped\"} 0\n"
	"kvmlock_reconciled_slots_total{kind=\"tombstone\"} 1\n"
	"# HELP kvmlock_state_mismatch_vms VMs whose kernel locked_slots/locked_pages differ from kvmlock-top's figures.\n"
	"# TYPE kvmlock_state_mismatch_vms gauge\n"
	"kvmlock_state_mismatch_vms 1\n"
	"# HELP kvmlock_map_update_errors_total BPF map updates lost to full maps.\n"
	"# TYPE kvmlock_map_update_errors_total counter\n"
	"kvmlock_map_update_errors_total 0\n"
	"# HELP kvmlock_exporter_write_failures_total Writes of this file that failed; each is retried at the next interval, and 5 in a row end kvmlock-top.\n"
	"# TYPE kvmlock_exporter_write_failures_total counter\n"
	"kvmlock_exporter_write_failures_total 0\n"
	"# HELP kvmlock_host_lock_operations_total Memslot LOCK operations that ended, by result, of every VM (gone ones too) since kvmlock-top started.\n"
	"# TYPE kvmlock_host_lock_operations_total counter\n"
	"kvmlock_host_lock_operations_total{result=\"ok\"} 3\n"
	"kvmlock_host_lock_operations_total{result=\"failed\"} 1\n"
	"# HELP kvmlock_host_unlocked_slots_total Memslots unlocked, of every VM (gone ones too) since kvmlock-top started.\n"
	"# TYPE kvmlock_host_unlocked_slots_total counter\n"
	"kvmlock_host_unlocked_slots_total 2\n"
	"# HELP kvmlock_host_unlock_failures_total Memslot UNLOCK operations that failed, of every VM (gone ones too) since kvmlock-top started.\n"
	"# TYPE kvmlock_host_unlock_failures_total counter\n"
	"kvmlock_host_unlock_failures_total 0\n"
	"# HELP kvmlock_host_memlock_account_failures_total LOCKs refused because RLIMIT_MEMLOCK would be exceeded, of every VM (gone ones too) since kvmlock-top started.\n"
	"# TYPE kvmlock_host_memlock_account_failures_total counter\n"
	"kvmlock_host_memlock_account_failures_total 1\n"
	"# HELP kvmlock_host_lock_duration_seconds Duration of the successful memslot LOCKs of every VM (gone ones too) since kvmlock-top started.\n"
	"# TYPE kvmlock_host_lock_duration_seconds histogram\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.000016383\"} 2\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.000032767\"} 2\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.000065535\"} 2\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.000131071\"} 2\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.000262143\"} 2\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.000524287\"} 2\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.001048575\"} 2\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.002097151\"} 2\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.004194303\"} 3\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.008388607\"} 3\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.016777215\"} 3\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.033554431\"} 3\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.067108863\"} 3\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.134217727\"} 3\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.268435455\"} 3\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.536870911\"} 3\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"1.073741823\"} 3\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"2.147483647\"} 3\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"4.294967295\"} 3\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"8.589934591\"} 3\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"17.179869183\"} 3\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"34.359738367\"} 3\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"68.719476735\"} 3\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"137.438953471\"} 3\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"274.877906943\"} 3\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"+Inf\"} 3\n"
	"kvmlock_host_lock_duration_seconds_sum 0.002740476\n"
	"kvmlock_host_lock_duration_seconds_count 3\n"
	"# HELP kvmlock_vmm_locked_bytes The VMM's whole locked memory (VmLck of /proc/PID/status).\n"
	"# TYPE kvmlock_vmm_locked_bytes gauge\n"
	"kvmlock_vmm_locked_bytes{pid=\"59\"} 327680\n"
	"kvmlock_vmm_locked_bytes{pid=\"60\"} 0\n"
	"# HELP kvmlock_vmm_memlock_limit_bytes The VMM's RLIMIT_MEMLOCK soft limit; +Inf when unlimited.\n"
	"# TYPE kvmlock_vmm_memlock_limit_bytes gauge\n"
	"kvmlock_vmm_memlock_limit_bytes{pid=\"59\"} 1310720\n"
	"kvmlock_vmm_memlock_limit_bytes{pid=\"60\"} +Inf\n"
	"# HELP kvmlock_vm_info A live VM and its VMM: pid, comm (empty when the process is gone), and when known QEMU's -name (name) and its cgroup; the value is always 1.\n"
	"# TYPE kvmlock_vm_info gauge\n"
	"kvmlock_vm_info{vm=\"2\",pid=\"59\",comm=\"memslot_lock_te\"} 1\n"
	"kvmlock_vm_info{vm=\"3\",pid=\"60\",comm=\"qemu\",name=\"db01\",cgroup=\"/machine.slice/machine-qemu\\\\x2d1\\\\x2ddb01.scope\"} 1\n"
	"# HELP kvmlock_locked_slots Memslots the VM has locked now.\n"
	"# TYPE kvmlock_locked_slots gauge\n"
	"kvmlock_locked_slots{vm=\"2\"} 2\n"
	"kvmlock_locked_slots{vm=\"3\"} 0\n"
	"# HELP kvmlock_locked_pages Pages of the VM's locked memslots.\n"
	"# TYPE kvmlock_locked_pages gauge\n"
	"kvmlock_locked_pages{vm=\"2\"} 80\n"
	"kvmlock_locked_pages{vm=\"3\"} 0\n"
	"# HELP kvmlock_locked_bytes Memory of the VM's locked memslots, by mode: rw (KVM_ARM_LOCK_MEM_WRITE) or ro; all of it is charged to the VMM's RLIMIT_MEMLOCK.\n"
	"# TYPE kvmlock_locked_bytes gauge\n"
	"kvmlock_locked_bytes{vm=\"2\",mode=\"rw\"} 262144\n"
	"kvmlock_locked_bytes{vm=\"2\",mode=\"ro\"} 65536\n"
	"kvmlock_locked_bytes{vm=\"3\",mode=\"rw\"} 0\n"
	"kvmlock_locked_bytes{vm=\"3\",mode=\"ro\"} 0\n"
	"# HELP kvmlock_lock_operations_total Memslot LOCK operations that ended, by result.\n"
	"# TYPE kvmlock_lock_operations_total counter\n"
	"kvmlock_lock_operations_total{vm=\"2\",result=\"ok\"} 2\n"
	"kvmlock_lock_operations_total{vm=\"2\",result=\"failed\"} 1\n"
	"kvmlock_lock_operations_total{vm=\"3\",result=\"ok\"} 0\n"
	"kvmlock_lock_operations_total{vm=\"3\",result=\"failed\"} 0\n"
	"# HELP kvmlock_unlocked_slots_total Memslots unlocked: by UNLOCK, UNLOCK_ALL or the VM's destruction.\n"
	"# TYPE kvmlock_unlocked_slots_total counter\n"
	"kvmlock_unlocked_slots_total{vm=\"2\"} 0\n"
	"kvmlock_unlocked_slots_total{vm=\"3\"} 1\n"
	"# HELP kvmlock_unlock_failures_total Memslot UNLOCK operations that failed.\n"
	"# TYPE kvmlock_unlock_failures_total counter\n"
	"kvmlock_unlock_failures_total{vm=\"2\"} 0\n"
	"kvmlock_unlock_failures_total{vm=\"3\"} 0\n"
	"# HELP kvmlock_memlock_account_failures_total LOCKs refused because RLIMIT_MEMLOCK would be exceeded.\n"
	"# TYPE kvmlock_memlock_account_failures_total counter\n"
	"kvmlock_memlock_account_failures_total{vm=\"2\"} 1\n"
	"kvmlock_memlock_account_failures_total{vm=\"3\"} 0\n"
	"# HELP kvmlock_deferred_operations_total Deferred memslot operations (first runs, cache maintenance).\n"
	"# TYPE kvmlock_deferred_operations_total counter\n"
	"kvmlock_deferred_operations_total{vm=\"2\"} 0\n"
	"kvmlock_deferred_operations_total{vm=\"3\"} 0\n"
	"# HELP kvmlock_lock_duration_seconds Duration of the VM's successful memslot LOCKs since kvmlock-top started (the buckets: kvmlock_host_lock_duration_seconds).\n"
	"# TYPE kvmlock_lock_duration_seconds summary\n"
	"kvmlock_lock_duration_seconds_sum{vm=\"2\"} 0.002739976\n"
	"kvmlock_lock_duration_seconds_count{vm=\"2\"} 2\n"
	"kvmlock_lock_duration_seconds_sum{vm=\"3\"} 0\n"
	"kvmlock_lock_duration_seconds_count{vm=\"3\"} 0\n"
	"# HELP kvmlock_last_event_timestamp_seconds When the VM's last kvm_memslot_* event happened, in seconds since the epoch.\n"
	"# TYPE kvmlock_last_event_timestamp_seconds gauge\n"
	"kvmlock_last_event_timestamp_seconds{vm=\"2\"} 1796083200.123456689\n"
	"kvmlock_last_event_timestamp_seconds{vm=\"3\"} 1796083200.123455889\n";

static const char prom_no_vms[] =
	"# HELP kvmlock_exporter_build_info kvmlock-top's version, as a label; the value is always 1.\n"
	"# TYPE kvmlock_exporter_build_info gauge\n"
	"kvmlock_exporter_build_info{version=\"0.1\"} 1\n"
	"# HELP kvmlock_vms Live VMs (those of the -p VMMs with -p).\n"
	"# TYPE kvmlock_vms gauge\n"
	"kvmlock_vms 0\n"
	"# HELP kvmlock_events_received_total kvm_memslot_* events of the VMs watched, counted by the BPF programs.\n"
	"# TYPE kvmlock_events_received_total counter\n"
	"kvmlock_events_received_total 0\n"
	"# HELP kvmlock_events_lost_total Event records lost to a full ring buffer: 0, top streams none.\n"
	"# TYPE kvmlock_events_lost_total counter\n"
	"kvmlock_events_lost_total 0\n"
	"# HELP kvmlock_reconciled_slots_total Start-up reconciliation: slots seeded from the kernel state, skipped (events had them), tombstones.\n"
	"# TYPE kvmlock_reconciled_slots_total counter\n"
	"kvmlock_reconciled_slots_total{kind=\"seeded\"} 0\n"
	"kvmlock_reconciled_slots_total{kind=\"skipped\"} 0\n"
	"kvmlock_reconciled_slots_total{kind=\"tombstone\"} 0\n"
	"# HELP kvmlock_state_mismatch_vms VMs whose kernel locked_slots/locked_pages differ from kvmlock-top's figures.\n"
	"# TYPE kvmlock_state_mismatch_vms gauge\n"
	"kvmlock_state_mismatch_vms 0\n"
	"# HELP kvmlock_map_update_errors_total BPF map updates lost to full maps.\n"
	"# TYPE kvmlock_map_update_errors_total counter\n"
	"kvmlock_map_update_errors_total 0\n"
	"# HELP kvmlock_exporter_write_failures_total Writes of this file that failed; each is retried at the next interval, and 5 in a row end kvmlock-top.\n"
	"# TYPE kvmlock_exporter_write_failures_total counter\n"
	"kvmlock_exporter_write_failures_total 0\n"
	"# HELP kvmlock_host_lock_operations_total Memslot LOCK operations that ended, by result, of every VM (gone ones too) since kvmlock-top started.\n"
	"# TYPE kvmlock_host_lock_operations_total counter\n"
	"kvmlock_host_lock_operations_total{result=\"ok\"} 0\n"
	"kvmlock_host_lock_operations_total{result=\"failed\"} 0\n"
	"# HELP kvmlock_host_unlocked_slots_total Memslots unlocked, of every VM (gone ones too) since kvmlock-top started.\n"
	"# TYPE kvmlock_host_unlocked_slots_total counter\n"
	"kvmlock_host_unlocked_slots_total 0\n"
	"# HELP kvmlock_host_unlock_failures_total Memslot UNLOCK operations that failed, of every VM (gone ones too) since kvmlock-top started.\n"
	"# TYPE kvmlock_host_unlock_failures_total counter\n"
	"kvmlock_host_unlock_failures_total 0\n"
	"# HELP kvmlock_host_memlock_account_failures_total LOCKs refused because RLIMIT_MEMLOCK would be exceeded, of every VM (gone ones too) since kvmlock-top started.\n"
	"# TYPE kvmlock_host_memlock_account_failures_total counter\n"
	"kvmlock_host_memlock_account_failures_total 0\n"
	"# HELP kvmlock_host_lock_duration_seconds Duration of the successful memslot LOCKs of every VM (gone ones too) since kvmlock-top started.\n"
	"# TYPE kvmlock_host_lock_duration_seconds histogram\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.000016383\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.000032767\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.000065535\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.000131071\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.000262143\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.000524287\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.001048575\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.002097151\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.004194303\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.008388607\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.016777215\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.033554431\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.067108863\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.134217727\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.268435455\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"0.536870911\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"1.073741823\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"2.147483647\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"4.294967295\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"8.589934591\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"17.179869183\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"34.359738367\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"68.719476735\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"137.438953471\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"274.877906943\"} 0\n"
	"kvmlock_host_lock_duration_seconds_bucket{le=\"+Inf\"} 0\n"
	"kvmlock_host_lock_duration_seconds_sum 0\n"
	"kvmlock_host_lock_duration_seconds_count 0\n";

/*
 * The report of smp in the text format. With KT_PROM_OUT=DIR in the
 * environment, also written to DIR/name by kt_prom_write(), for promtool
 * and the Prometheus end-to-end test (tests/host/test_kvmlock_top_prom.sh).
 */
static char *prom_of(struct kt_history *h, struct kt_sample *smp, struct kt_opts *o,
		     const char *name)
{
	const char *dir = getenv("KT_PROM_OUT");
	char path[512], err[700];
	struct kt_report r;
	char *buf;
	size_t len;
	FILE *f;

	build(h, smp, o, &r);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(kt_render_prom(f, &r), 0);
	fclose(f);
	if (dir && name) {
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (kt_prom_write(path, &r, err, sizeof(err)))
			fail_msg("%s", err);
	}
	kt_report_free(&r);
	return buf;
}

static void test_prom_fixture(void **state)
{
	static const char *const argvs[][6] = {
		{ "kvmlock-top", NULL },
		/* -r and -s shape the text rows, not the metrics */
		{ "kvmlock-top", "-r", "1", "-s", "pct", NULL },
	};
	struct kt_history h = {};
	struct kt_sample smp;
	struct kt_opts o;
	size_t i;
	char *t;

	(void)state;
	for (i = 0; i < 2; i++) {
		int argc = 0;

		while (argvs[i][argc])
			argc++;
		assert_int_equal(kt_parse_args(argc, (char **)argvs[i], &o, ARGP_NO_EXIT), 0);
		make_sample(&smp);
		t = prom_of(&h, &smp, &o, i ? NULL : "fixture.prom");
		assert_string_equal(t, prom_fixture);
		free(t);
		kt_history_free(&h);
		h = (struct kt_history){};
	}
}

static void test_prom_no_vms(void **state)
{
	struct kt_history h = {};
	struct kt_sample smp = {};
	struct kt_opts o;
	char *t;

	(void)state;
	defaults(&o);
	t = prom_of(&h, &smp, &o, "novms.prom");
	assert_string_equal(t, prom_no_vms);
	free(t);
	kt_history_free(&h);
}

static void test_prom_label_escape(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "qemu", "qemu" },
		{ "a\"b\\c\nd", "a\\\"b\\\\c\\nd" },
		{ "tab\there", "tab\there" },		/* legal as it is */
		{ "caf\xc3\xa9", "caf\xc3\xa9" },	/* valid UTF-8 stays */
		{ "\xf0\x9f\x98\x80!", "\xf0\x9f\x98\x80!" },
		{ "x\xffy", "x?y" },			/* not UTF-8: '?' */
		{ "\xc0\xaf", "??" },			/* overlong */
		{ "\xed\xa0\x80", "???" },		/* a surrogate */
		{ "\xc3", "?" },			/* cut short */
		{ "\xe2\x82", "??" },
	};
	struct kt_history h = {};
	struct kt_sample smp;
	struct kt_opts o;
	char buf[64], *t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		kt_prom_label_value(buf, sizeof(buf), cases[i].in);
		if (strcmp(buf, cases[i].out))
			fail_msg("case %zu: got '%s', want '%s'", i, buf, cases[i].out);
	}
	/* a buffer too small: cut, terminated, never overrun */
	memset(buf, 'X', sizeof(buf));
	kt_prom_label_value(buf, 8, "\\\\\\\\\\\\");
	assert_string_equal(buf, "\\\\\\\\");
	assert_int_equal(buf[8], 'X');

	/* in a file: the worst comm the kernel allows (15 bytes) */
	defaults(&o);
	make_sample(&smp);
	strcpy(vms[1].proc.comm, "q\"\\\n\xff\xc3\xa9-x");
	t = prom_of(&h, &smp, &o, "escape.prom");
	assert_non_null(strstr(t, "kvmlock_vm_info{vm=\"3\",pid=\"60\",comm=\"q\\\"\\\\\\n?\xc3\xa9-x\",name=\"db01\","));
	free(t);
	kt_history_free(&h);
}

/* A VMM gone from /proc: no comm, and no VmLck or limit samples */
static void test_prom_vmm_gone(void **state)
{
	struct kt_history h = {};
	struct kt_sample smp;
	struct kt_opts o;
	char *t;

	(void)state;
	defaults(&o);
	make_sample(&smp);
	memset(&vms[0].proc, 0, sizeof(vms[0].proc));
	strcpy(vms[0].proc.comm, "?");
	t = prom_of(&h, &smp, &o, "vmm-gone.prom");
	assert_non_null(strstr(t, "kvmlock_vm_info{vm=\"2\",pid=\"59\",comm=\"\"} 1\n"));
	assert_non_null(strstr(t, "kvmlock_locked_pages{vm=\"2\"} 80\n"));
	assert_null(strstr(t, "kvmlock_vmm_locked_bytes{pid=\"59\"}"));
	assert_null(strstr(t, "kvmlock_vmm_memlock_limit_bytes{pid=\"59\"}"));
	/* VM 3's VMM: unlimited */
	assert_non_null(strstr(t, "kvmlock_vmm_memlock_limit_bytes{pid=\"60\"} +Inf\n"));
	free(t);
	/* no VMM known at all: not even the HELP and TYPE of those two */
	make_sample(&smp);
	smp.nr_vms = 1;
	memset(&vms[0].proc, 0, sizeof(vms[0].proc));
	t = prom_of(&h, &smp, &o, NULL);
	assert_null(strstr(t, "kvmlock_vmm_locked_bytes"));
	assert_null(strstr(t, "kvmlock_vmm_memlock_limit_bytes"));
	assert_non_null(strstr(t, "# TYPE kvmlock_locked_pages gauge\n"));
	free(t);
	kt_history_free(&h);
}

/*
 * Two VMs of one VMM: its VmLck and limit are one series (sum() over
 * VMMs counts them once), and both VMs name it with one comm, the one
 * read with its lower VM, even when the other row read another name.
 */
static void test_prom_vmm_shared(void **state)
{
	struct kt_history h = {};
	struct kt_sample smp;
	struct kt_opts o;
	char *t;

	(void)state;
	defaults(&o);
	make_sample(&smp);
	vms[1].pid = 59;
	stats[1].s.pid = 59;
	t = prom_of(&h, &smp, &o, "vmm-shared.prom");
	assert_non_null(strstr(t, "# TYPE kvmlock_vmm_locked_bytes gauge\n"
				  "kvmlock_vmm_locked_bytes{pid=\"59\"} 327680\n"
				  "# HELP kvmlock_vmm_memlock_limit_bytes"));
	assert_non_null(strstr(t, "# TYPE kvmlock_vmm_memlock_limit_bytes gauge\n"
				  "kvmlock_vmm_memlock_limit_bytes{pid=\"59\"} 1310720\n"
				  "# HELP kvmlock_vm_info"));
	assert_non_null(strstr(t, "kvmlock_vm_info{vm=\"2\",pid=\"59\",comm=\"memslot_lock_te\"} 1\n"
				  "kvmlock_vm_info{vm=\"3\",pid=\"59\",comm=\"memslot_lock_te\"} 1\n"));
	free(t);
	/* the lower VM's VMM row did not find the process: the other's */
	make_sample(&smp);
	vms[1].pid = 59;
	stats[1].s.pid = 59;
	memset(&vms[0].proc, 0, sizeof(vms[0].proc));
	t = prom_of(&h, &smp, &o, NULL);
	assert_non_null(strstr(t, "kvmlock_vmm_memlock_limit_bytes{pid=\"59\"} +Inf\n"));
	assert_non_null(strstr(t, "kvmlock_vm_info{vm=\"2\",pid=\"59\",comm=\"qemu\"} 1\n"
				  "kvmlock_vm_info{vm=\"3\",pid=\"59\",comm=\"qemu\"} 1\n"));
	free(t);
	kt_history_free(&h);
}

/* Counters only grow from one interval to the next; a VM gone is gone */
static void test_prom_counters(void **state)
{
	struct kt_history h = {};
	struct kt_sample smp;
	struct kt_opts o;
	char *t;

	(void)state;
	defaults(&o);
	make_sample(&smp);
	t = prom_of(&h, &smp, &o, NULL);
	assert_string_equal(t, prom_fixture);
	free(t);

	make_sample(&smp);
	smp.nr_vms = 1;			/* VM 3 exited */
	smp.nr_stats = 2;		/* VM 9 was deleted as gone */
	stats[0].s.locks_ok = 3;
	stats[0].s.lat_sum_ns += 3000000;
	stats[0].s.lat_hist[kt_hist_bucket(3000000)]++;
	smp.events_received = 5;
	smp.events_lost_total = 4;
	t = prom_of(&h, &smp, &o, "second.prom");
	assert_null(strstr(t, "vm=\"3\""));
	assert_non_null(strstr(t, "kvmlock_vms 1\n"));
	assert_non_null(strstr(t, "kvmlock_events_received_total 17\n"));
	assert_non_null(strstr(t, "kvmlock_events_lost_total 4\n"));
	assert_non_null(strstr(t, "kvmlock_lock_operations_total{vm=\"2\",result=\"ok\"} 3\n"));
	assert_non_null(strstr(t, "kvmlock_lock_duration_seconds_sum{vm=\"2\"} 0.005739976\n"));
	assert_non_null(strstr(t, "kvmlock_lock_duration_seconds_count{vm=\"2\"} 3\n"));
	/* the host's histogram: VM 2's third lock, and VM 9's (gone) */
	assert_non_null(strstr(t, "kvmlock_host_lock_duration_seconds_bucket{le=\"0.004194303\"} 4\n"));
	assert_non_null(strstr(t, "kvmlock_host_lock_duration_seconds_count 4\n"));
	free(t);
	kt_history_free(&h);
}

static char *slurp(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static size_t entries(const char *dir)
{
	char cmd[600];
	FILE *p;
	size_t n = 0;
	int c;

	snprintf(cmd, sizeof(cmd), "ls -A %s", dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	while ((c = fgetc(p)) != EOF)
		n += c == '\n';
	pclose(p);
	return n;
}

static void test_prom_write(void **state)
{
	char root[] = "/tmp/kvmlock-top-prom.XXXXXX", path[600], bad[700];
	char err[1024], want[1024];
	struct kt_history h = {};
	struct kt_sample smp;
	struct kt_report r;
	struct kt_opts o;
	struct stat st;
	char *text;
	int i;

	(void)state;
	defaults(&o);
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/kvmlock.prom", root);
	assert_int_equal(kt_prom_check(path, err, sizeof(err)), 0);
	assert_int_equal(entries(root), 0);	/* the probe is gone */

	make_sample(&smp);
	build(&h, &smp, &o, &r);
	umask(077);	/* the file is for another user all the same */
	for (i = 0; i < 2; i++)	/* a new file, then one replaced */
		assert_int_equal(kt_prom_write(path, &r, err, sizeof(err)), 0);
	umask(022);
	text = slurp(path);
	assert_non_null(text);
	assert_string_equal(text, prom_fixture);
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(entries(root), 1);	/* no temporary file left */

	/* errors, each one line */
	snprintf(bad, sizeof(bad), "%s/missing/kvmlock.prom", root);
	assert_int_equal(kt_prom_check(bad, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "--prom-file %s: directory %s/missing does not exist",
		 bad, root);
	assert_string_equal(err, want);
	assert_int_equal(kt_prom_write(bad, &r, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "cannot write %s: No such file or directory", bad);
	assert_string_equal(err, want);
	assert_int_equal(kt_prom_check(root, err, sizeof(err)), -EISDIR);
	snprintf(want, sizeof(want), "--prom-file %s: a directory, not a file", root);
	assert_string_equal(err, want);
	snprintf(bad, sizeof(bad), "%s/kvmlock.prom/x.prom", root);
	assert_int_equal(kt_prom_check(bad, err, sizeof(err)), -ENOTDIR);
	snprintf(want, sizeof(want), "--prom-file %s: %s/kvmlock.prom is not a directory",
		 bad, root);
	assert_string_equal(err, want);
	assert_int_equal(kt_prom_check("/proc/kvmlock.prom", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "--prom-file /proc/kvmlock.prom: cannot create files in /proc: No such file or directory");

	kt_report_free(&r);
	kt_history_free(&h);
	snprintf(bad, sizeof(bad), "rm -rf %s", root);
	assert_int_equal(system(bad), 0);
}

/* --- options --------------------------------------------------------- */

static void test_options(void **state)
{
	char *a1[] = { "kvmlock-top", NULL };
	char *a2[] = { "kvmlock-top", "-p", "12", "--pid=13", "-s", "lat", "-r", "5",
		       "-S", "-b", "-j", "-v", "5", "10", NULL };
	char *a3[] = { "kvmlock-top", "trace", "--ringbuf-size", "64K", NULL };
	char *a4[] = { "kvmlock-top", "trace", "--min-latency", "250ms", NULL };
	char *a5[] = { "kvmlock-top", "hist", "-T", "5", NULL };
	struct kt_opts o;

	(void)state;
	assert_int_equal(kt_parse_args(1, a1, &o, ARGP_NO_EXIT), 0);
	assert_int_equal(o.interval_s, 1);
	assert_int_equal(o.count, 0);
	assert_int_equal(o.sort, KT_SORT_PAGES);
	assert_int_equal(o.ringbuf_size, KT_RINGBUF_DEFAULT);
	assert_int_equal(o.nr_pids, 0);
	assert_false(o.json || o.batch || o.slots || o.verbose);
	assert_int_equal(kt_parse_args(14, a2, &o, ARGP_NO_EXIT), 0);
	assert_int_equal(o.nr_pids, 2);
	assert_int_equal(o.pids[1], 13);
	assert_int_equal(o.sort, KT_SORT_LAT);
	assert_int_equal(o.rows, 5);
	assert_true(o.json && o.batch && o.slots && o.verbose);
	assert_int_equal(o.interval_s, 5);
	assert_int_equal(o.count, 10);
	assert_true(kt_pid_wanted(&o, 13));
	assert_false(kt_pid_wanted(&o, 14));
	/* the ring buffer: trace's only */
	assert_int_equal(kt_parse_args(4, a3, &o, ARGP_NO_EXIT), 0);
	assert_int_equal(o.mode, KT_MODE_TRACE);
	assert_int_equal(o.ringbuf_size, 65536);
	assert_int_equal(o.min_latency_ns, 0);
	assert_int_equal(kt_parse_args(4, a4, &o, ARGP_NO_EXIT), 0);
	assert_int_equal(o.min_latency_ns, 250000000);
	assert_int_equal(kt_parse_args(4, a5, &o, ARGP_NO_EXIT), 0);
	assert_int_equal(o.mode, KT_MODE_HIST);
	assert_true(o.wall_clock);
	assert_int_equal(o.interval_s, 5);
}

static void test_pin_options(void **state)
{
	char *a1[] = { "kvmlock-top", NULL };
	char *a2[] = { "kvmlock-top", "--pin", "-b", "1", NULL };
	char *a3[] = { "kvmlock-top", "top", "--keep-pinned", NULL };
	char *a4[] = { "kvmlock-top", "--pin-dir", "/sys/fs/bpf/kt2", NULL };
	char *a5[] = { "kvmlock-top", "--pin-dir=/mnt/bpf/x/", "--keep-pinned", "--pin", NULL };
	struct kt_opts o;

	(void)state;
	assert_int_equal(kt_parse_args(1, a1, &o, ARGP_NO_EXIT), 0);
	assert_false(o.pin || o.keep_pinned);
	assert_string_equal(o.pin_dir, "/sys/fs/bpf/kvmlock");
	assert_int_equal(kt_parse_args(4, a2, &o, ARGP_NO_EXIT), 0);
	assert_true(o.pin && o.batch);
	assert_false(o.keep_pinned);
	assert_string_equal(o.pin_dir, KT_PIN_DIR);
	assert_int_equal(o.interval_s, 1);
	/* --keep-pinned and --pin-dir imply --pin */
	assert_int_equal(kt_parse_args(3, a3, &o, ARGP_NO_EXIT), 0);
	assert_true(o.pin && o.keep_pinned);
	assert_int_equal(kt_parse_args(3, a4, &o, ARGP_NO_EXIT), 0);
	assert_true(o.pin);
	assert_false(o.keep_pinned);
	assert_string_equal(o.pin_dir, "/sys/fs/bpf/kt2");
	assert_int_equal(kt_parse_args(4, a5, &o, ARGP_NO_EXIT), 0);
	assert_true(o.pin && o.keep_pinned);
	assert_string_equal(o.pin_dir, "/mnt/bpf/x/");
}

static void test_option_errors(void **state)
{
	static const struct {
		const char *args[4];
		const char *msg;
	} cases[] = {
		{ { "0" }, "invalid interval '0': whole seconds from 1 to 86400" },
		{ { "x" }, "invalid interval 'x': whole seconds from 1 to 86400" },
		{ { "1.5" }, "invalid interval '1.5': whole seconds from 1 to 86400" },
		{ { "-1" }, "bad option '-1' (see kvmlock-top --help)" },
		{ { "1", "0" }, "invalid count '0': a number from 1" },
		{ { "1", "2", "3" }, "unexpected argument '3' (only [interval] [count])" },
		{ { "-s", "size" }, "unknown sort key 'size' (pages, slots, memlock, pct, locks, fails, lat, pid, vm)" },
		{ { "-p", "abc" }, "invalid pid 'abc'" },
		{ { "-p", "0" }, "invalid pid '0'" },
		{ { "-p" }, "bad option '-p' (see kvmlock-top --help)" },
		{ { "-r", "0" }, "invalid row count '0': a number from 1" },
		{ { "trace", "--ringbuf-size", "5000" }, "invalid ring buffer size '5000': a power of two, a multiple of the page size (4096), at most 1G" },
		{ { "trace", "--ringbuf-size", "1024" }, "invalid ring buffer size '1024': a power of two, a multiple of the page size (4096), at most 1G" },
		{ { "trace", "--ringbuf-size", "2G" }, "invalid ring buffer size '2G': a power of two, a multiple of the page size (4096), at most 1G" },
		{ { "--bogus" }, "bad option '--bogus' (see kvmlock-top --help)" },
		{ { "--pin-dir" }, "bad option '--pin-dir' (see kvmlock-top --help)" },
		{ { "--pin-dir", "" }, "invalid --pin-dir '': a directory to create in a bpffs mount" },
		{ { "--pin-dir", "/" }, "invalid --pin-dir '/': a directory to create in a bpffs mount" },
		{ { "--pin=x" }, "bad option '--pin=x' (see kvmlock-top --help)" },
		{ { "trace", "--min-latency", "100" }, "invalid latency '100': a whole number from 1 and ns, us, ms or s (100ms)" },
		{ { "trace", "--min-latency", "0ms" }, "invalid latency '0ms': a whole number from 1 and ns, us, ms or s (100ms)" },
		{ { "trace", "--min-latency", "1.5ms" }, "invalid latency '1.5ms': a whole number from 1 and ns, us, ms or s (100ms)" },
		{ { "trace", "--min-latency", "10m" }, "invalid latency '10m': a whole number from 1 and ns, us, ms or s (100ms)" },
		{ { "trace", "--min-latency", "99999999999999999999s" }, "invalid latency '99999999999999999999s': a whole number from 1 and ns, us, ms or s (100ms)" },
		{ { "--min-latency", "1ms" }, "bad option '--min-latency' (see kvmlock-top --help)" },
		{ { "-T" }, "bad option '-T' (see kvmlock-top --help)" },
		/* trace only */
		{ { "--ringbuf-size", "64K" }, "bad option '--ringbuf-size' (see kvmlock-top --help)" },
		{ { "hist", "--ringbuf-size", "64K" }, "bad option '--ringbuf-size' (see kvmlock-top hist --help)" },
		/* top only */
		{ { "trace", "--pin" }, "bad option '--pin' (see kvmlock-top trace --help)" },
		{ { "hist", "--keep-pinned" }, "bad option '--keep-pinned' (see kvmlock-top hist --help)" },
		{ { "trace", "--pin-dir", "/sys/fs/bpf/x" }, "bad option '--pin-dir' (see kvmlock-top trace --help)" },
	};
	struct kt_opts o;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[5] = { "kvmlock-top" };
		int argc = 1, j;

		for (j = 0; j < 3 && cases[i].args[j]; j++)
			argv[argc++] = (char *)cases[i].args[j];
		if (!kt_parse_args(argc, argv, &o, ARGP_NO_EXIT))
			fail_msg("'%s' was accepted", cases[i].args[0]);
		if (strcmp(o.err, cases[i].msg))
			fail_msg("'%s': got '%s'", cases[i].args[0], o.err);
	}
	{
		char *argv[2 * KT_MAX_PIDS + 4] = { "kvmlock-top" };
		int argc = 1;

		for (i = 0; i <= KT_MAX_PIDS; i++) {
			argv[argc++] = "-p";
			argv[argc++] = "5";
		}
		assert_int_not_equal(kt_parse_args(argc, argv, &o, ARGP_NO_EXIT), 0);
		assert_string_equal(o.err, "at most 16 -p options");
	}
}

/* --- kernel state fixtures ------------------------------------------- */

static const char good_memslots[] =
	"vm 2 pid 59\n"
	"slot ipa_start ipa_end npages prot hva locked_at_ns lock_duration_ns\n"
	"1 0x100000000 0x100040000 64 rw 0xffff9c1000 123456789012 2738976\n"
	"3 0x200000000 0x200010000 16 r 0xffff800000 123456789999 1000\n";

static void test_parse_memslots(void **state)
{
	struct kt_kvm k;
	char err[256];

	(void)state;
	assert_int_equal(kt_parse_locked_memslots(good_memslots, &k, err, sizeof(err)), 0);
	assert_int_equal(k.vm, 2);
	assert_int_equal(k.pid, 59);
	assert_int_equal(k.nr_slots, 2);
	assert_int_equal(k.slots[0].slot, 1);
	assert_true(k.slots[0].rw);
	assert_int_equal(k.slots[0].ipa_start, 0x100000000);
	assert_int_equal(k.slots[0].ipa_end, 0x100040000);
	assert_int_equal(k.slots[0].npages, 64);
	assert_int_equal(k.slots[0].hva, 0xffff9c1000);
	assert_int_equal(k.slots[0].locked_at_ns, 123456789012);
	assert_int_equal(k.slots[0].lock_duration_ns, 2738976);
	assert_int_equal(k.slots[1].slot, 3);
	assert_false(k.slots[1].rw);
	free(k.slots);

	/* a VM with nothing locked */
	assert_int_equal(kt_parse_locked_memslots(
		"vm 5 pid 60\nslot ipa_start ipa_end npages prot hva locked_at_ns lock_duration_ns\n",
		&k, err, sizeof(err)), 0);
	assert_int_equal(k.vm, 5);
	assert_int_equal(k.nr_slots, 0);

	assert_int_equal(kt_parse_locked_memslots(
		"vm 5 pid 60\nslot ipa_start ipa_end npages prot hva locked_at_ns lock_duration_ns\n"
		"1 0x100000000 0x100040000 64 rw 0xffff9c1000 123456789012\n",
		&k, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "locked_memslots:3: malformed line '1 0x100000000 0x100040000 64 rw 0xffff9c1000 123456789012'");
	assert_int_equal(kt_parse_locked_memslots(
		"vm 5 pid 60\nslot ipa_start ipa_end npages prot hva locked_at_ns lock_duration_ns\n"
		"1 0x100000000 0x100040000 64 w 0xffff9c1000 1 2\n",
		&k, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "locked_memslots:3: malformed line '1 0x100000000 0x100040000 64 w 0xffff9c1000 1 2'");
	assert_int_equal(kt_parse_locked_memslots("vm x pid 60\n", &k, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "locked_memslots:1: malformed line 'vm x pid 60'");
	assert_int_equal(kt_parse_locked_memslots("vm 1 pid 60\nslot\n", &k, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "locked_memslots:2: malformed line 'slot'");
	assert_int_equal(kt_parse_locked_memslots("", &k, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "locked_memslots: 0 lines, want 2 or more");
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A /proc/PID/stat text: a comm with ") " in it, starttime (field 22) */
static void put_stat(const char *dir, unsigned int pid, unsigned long long start)
{
	char text[256];

	snprintf(text, sizeof(text), "%u (a) (b) S 1 1 1 0 -1 4194560 100 0 0 0 0 0 "
		 "0 0 20 0 1 0 %llu 10000000 100 18446744073709551615\n", pid, start);
	put(dir, "stat", text);
}

/* The clock tick, in /proc/PID/stat's unit, of CLOCK_BOOTTIME now + s */
static unsigned long long ticks_from_now(long s)
{
	struct timespec bt;

	clock_gettime(CLOCK_BOOTTIME, &bt);
	return (unsigned long long)(bt.tv_sec + s) * (unsigned long long)sysconf(_SC_CLK_TCK);
}

static void test_list_vms(void **state)
{
	char root[] = "/tmp/kvmlock-top-test.XXXXXX", d[600], err[256];
	struct kt_kvm *vms;
	uint64_t s, p;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(d, sizeof(d), "%s/59-11", root);
	mkdir(d, 0755);
	put(d, "locked_memslots", good_memslots);
	put(d, "locked_slots", "2\n");
	put(d, "locked_pages", "80\n");
	snprintf(d, sizeof(d), "%s/70-12", root);	/* a VM of a kernel without the file */
	mkdir(d, 0755);
	put(root, "vcpu_stat", "0\n");
	assert_int_equal(kt_list_vms(root, &vms, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(vms[0].dir, "59-11");
	assert_int_equal(vms[0].vm, 2);
	assert_int_equal(vms[0].nr_slots, 2);
	kt_free_vms(vms, n);
	assert_int_equal(kt_read_kstats(root, "59-11", &s, &p), 0);
	assert_int_equal(s, 2);
	assert_int_equal(p, 80);
	assert_int_not_equal(kt_read_kstats(root, "70-12", &s, &p), 0);

	put(d, "locked_memslots", "vm 3 pid 70\nbad header\n");
	assert_int_equal(kt_list_vms(root, &vms, &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "/70-12/locked_memslots:2: malformed line 'bad header'"));

	snprintf(d, sizeof(d), "rm -rf %s", root);
	assert_int_equal(system(d), 0);
	assert_int_equal(kt_list_vms("/nonexistent/kvm", &vms, &n, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "cannot read /nonexistent/kvm: No such file or directory");
}

static const struct kt_vm_dir *live(const struct kt_vm_dirs *dirs, const char *name)
{
	size_t i;

	for (i = 0; i < dirs->n; i++)
		if (!strcmp(dirs->d[i].dir, name))
			return &dirs->d[i];
	return NULL;
}

/*
 * A sample's VM list: a directory it knows is not read again (a VM's lock
 * may make its file wait); a new one is, and so is a new directory under
 * an old name (a VMM's next VM on the same fd: another inode). Each VM's
 * VMM is the process of the thread that created it, read once.
 */
static void test_live_vms(void **state)
{
	char root[] = "/tmp/kvmlock-top-test.XXXXXX", d[600], d2[600], err[256];
	char proc[] = "/tmp/kvmlock-top-proc.XXXXXX", pd[600], pd2[600];
	struct kt_vm_dirs dirs = {};

	(void)state;
	assert_non_null(mkdtemp(root));
	/*
	 * thread 59 of process 50 (started at tick 100) created VM 2; 70 is
	 * gone from /proc
	 */
	assert_non_null(mkdtemp(proc));
	snprintf(pd, sizeof(pd), "%s/59", proc);
	mkdir(pd, 0755);
	put(pd, "status", "Name:\tworker\nTgid:\t50\nPid:\t59\n");
	put_stat(pd, 59, 120);
	snprintf(pd2, sizeof(pd2), "%s/50", proc);
	mkdir(pd2, 0755);
	put_stat(pd2, 50, 100);
	{
		/* QEMU's command line: NUL-separated */
		char cl[700];
		FILE *f;

		snprintf(cl, sizeof(cl), "%s/cmdline", pd2);
		f = fopen(cl, "w");
		assert_non_null(f);
		fwrite("qemu\0-name\0guest=db01,debug-threads=on\0", 1, 39, f);
		fclose(f);
	}
	put(pd2, "cgroup", "0::/machine.slice/vm-db01.scope\n");
	snprintf(d, sizeof(d), "%s/59-11", root);
	mkdir(d, 0755);
	put(d, "locked_memslots", good_memslots);
	snprintf(d, sizeof(d), "%s/70-12", root);
	mkdir(d, 0755);
	put(d, "locked_memslots", "vm 3 pid 70\n"
	    "slot ipa_start ipa_end npages prot hva locked_at_ns lock_duration_ns\n");
	put(root, "vcpu_stat", "0\n");
	assert_int_equal(kt_live_vms(root, proc, &dirs, err, sizeof(err)), 0);
	assert_int_equal(dirs.n, 2);
	assert_int_equal(live(&dirs, "59-11")->vm, 2);
	assert_int_equal(live(&dirs, "59-11")->pid, 59);
	assert_int_equal(live(&dirs, "59-11")->tgid, 50);
	assert_int_equal(live(&dirs, "59-11")->start, 100);
	assert_string_equal(live(&dirs, "59-11")->id.name, "db01");
	assert_string_equal(live(&dirs, "59-11")->id.cgroup, "/machine.slice/vm-db01.scope");
	assert_string_equal(live(&dirs, "70-12")->id.name, "");
	assert_int_equal(live(&dirs, "70-12")->vm, 3);
	assert_int_equal(live(&dirs, "70-12")->tgid, 70);
	/* its creator gone: no process is taken for its VMM */
	assert_true(live(&dirs, "70-12")->start == KT_START_GONE);

	/*
	 * known: not read (it would not parse now), nor its creator's Tgid
	 * (thread 59 gone, its pid another process's)
	 */
	snprintf(d, sizeof(d), "%s/59-11", root);
	put(d, "locked_memslots", "garbage\n");
	put(pd, "status", "Name:\tother\nTgid:\t59\nPid:\t59\n");
	assert_int_equal(kt_live_vms(root, proc, &dirs, err, sizeof(err)), 0);
	assert_int_equal(dirs.n, 2);
	assert_int_equal(live(&dirs, "59-11")->vm, 2);
	assert_int_equal(live(&dirs, "59-11")->tgid, 50);

	/* the same name, a new directory: read */
	snprintf(d2, sizeof(d2), "%s/new", root);
	mkdir(d2, 0755);
	put(d2, "locked_memslots", "vm 9 pid 59\n"
	    "slot ipa_start ipa_end npages prot hva locked_at_ns lock_duration_ns\n");
	unlink(strcat(d, "/locked_memslots"));
	snprintf(d, sizeof(d), "%s/59-11", root);
	assert_int_equal(rmdir(d), 0);
	assert_int_equal(rename(d2, d), 0);
	assert_int_equal(kt_live_vms(root, proc, &dirs, err, sizeof(err)), 0);
	assert_int_equal(dirs.n, 2);
	assert_int_equal(live(&dirs, "59-11")->vm, 9);

	/*
	 * Gone: left out. A new one that does not parse: left out too, the
	 * others listed, its message in err; read again the next time.
	 */
	snprintf(d, sizeof(d), "rm -r %s/70-12", root);
	assert_int_equal(system(d), 0);
	snprintf(d, sizeof(d), "%s/80-13", root);
	mkdir(d, 0755);
	put(d, "locked_memslots", "vm 4 pid 80\nbad header\n");
	assert_int_equal(kt_live_vms(root, proc, &dirs, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "/80-13/locked_memslots:2: malformed line 'bad header'"));
	assert_int_equal(dirs.n, 1);
	assert_int_equal(live(&dirs, "59-11")->vm, 9);
	put(d, "locked_memslots", "vm 4 pid 80\n"
	    "slot ipa_start ipa_end npages prot hva locked_at_ns lock_duration_ns\n");
	assert_int_equal(kt_live_vms(root, proc, &dirs, err, sizeof(err)), 0);
	assert_int_equal(dirs.n, 2);
	assert_null(live(&dirs, "70-12"));
	assert_int_equal(live(&dirs, "80-13")->vm, 4);
	/* thread 80 not in /proc: gone, its process not known */
	assert_int_equal(live(&dirs, "80-13")->tgid, 80);
	assert_true(live(&dirs, "80-13")->start == KT_START_GONE);

	/*
	 * A thread 81 that started an hour after VM 5's directory was made
	 * is not its creator: that one is gone, pid 81 reused. One that
	 * started before it, at tick 1, is (no process 81 stat: 0).
	 */
	snprintf(pd, sizeof(pd), "%s/81", proc);
	mkdir(pd, 0755);
	put(pd, "status", "Name:\tother\nTgid:\t81\nPid:\t81\n");
	put_stat(pd, 81, ticks_from_now(3600));
	snprintf(d, sizeof(d), "%s/81-14", root);
	mkdir(d, 0755);
	put(d, "locked_memslots", "vm 5 pid 81\n"
	    "slot ipa_start ipa_end npages prot hva locked_at_ns lock_duration_ns\n");
	assert_int_equal(kt_live_vms(root, proc, &dirs, err, sizeof(err)), 0);
	assert_int_equal(live(&dirs, "81-14")->tgid, 81);
	assert_true(live(&dirs, "81-14")->start == KT_START_GONE);
	put_stat(pd, 81, 1);
	snprintf(d2, sizeof(d2), "%s/new", root);
	mkdir(d2, 0755);
	put(d2, "locked_memslots", "vm 6 pid 81\n"
	    "slot ipa_start ipa_end npages prot hva locked_at_ns lock_duration_ns\n");
	snprintf(d, sizeof(d), "rm -r %s/81-14", root);
	assert_int_equal(system(d), 0);
	snprintf(d, sizeof(d), "%s/81-14", root);
	assert_int_equal(rename(d2, d), 0);
	assert_int_equal(kt_live_vms(root, proc, &dirs, err, sizeof(err)), 0);
	assert_int_equal(live(&dirs, "81-14")->vm, 6);
	assert_int_equal(live(&dirs, "81-14")->tgid, 81);
	assert_int_equal(live(&dirs, "81-14")->start, 1);

	/* the root unreadable: an error, dirs as they were */
	assert_int_equal(kt_live_vms("/nonexistent/kvm", proc, &dirs, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "cannot read /nonexistent/kvm: No such file or directory");
	assert_int_equal(dirs.n, 3);
	kt_vm_dirs_free(&dirs);

	snprintf(d, sizeof(d), "rm -rf %s %s", root, proc);
	assert_int_equal(system(d), 0);
}

static const char status_text[] =
	"Name:\tqemu\nUmask:\t0022\nVmPeak:\t  100 kB\nVmLck:\t     320 kB\nVmPin:\t 0 kB\n";
static const char limits_text[] =
	"Limit                     Soft Limit           Hard Limit           Units     \n"
	"Max stack size            8388608              unlimited            bytes     \n"
	"Max locked memory         8388608              16777216             bytes     \n";
static const char limits_unlim[] =
	"Limit                     Soft Limit           Hard Limit           Units     \n"
	"Max locked memory         unlimited            unlimited            bytes     \n";

static void test_proc(void **state)
{
	char root[] = "/tmp/kvmlock-top-proc.XXXXXX", d[600];
	struct kt_proc p;
	uint32_t tgid;
	uint64_t v;
	bool unl;

	(void)state;
	assert_int_equal(kt_parse_proc_status(status_text, &v), 0);
	assert_int_equal(v, 320 * 1024);
	assert_int_equal(kt_parse_proc_status("Name:\tx\n", &v), -ENOENT);
	assert_int_equal(kt_parse_proc_tgid("Name:\tCPU 0/KVM\nTgid:\t50\nPid:\t59\n", &tgid), 0);
	assert_int_equal(tgid, 50);
	assert_int_equal(kt_parse_proc_tgid("Tgid:\t7\n", &tgid), 0);
	assert_int_equal(tgid, 7);
	assert_int_equal(kt_parse_proc_tgid("Name:\tx\nNgid:\t0\n", &tgid), -ENOENT);
	assert_int_equal(kt_parse_proc_limits(limits_text, &unl, &v), 0);
	assert_false(unl);
	assert_int_equal(v, 8388608);
	assert_int_equal(kt_parse_proc_limits(limits_unlim, &unl, &v), 0);
	assert_true(unl);
	assert_int_equal(kt_parse_proc_limits("Max locked memory  lots\n", &unl, &v), -EINVAL);
	assert_int_equal(kt_parse_proc_limits("nothing\n", &unl, &v), -ENOENT);

	assert_non_null(mkdtemp(root));
	snprintf(d, sizeof(d), "%s/59", root);
	mkdir(d, 0755);
	put(d, "comm", "qemu-system-aarch64\n");
	put(d, "status", status_text);
	put(d, "limits", limits_unlim);
	kt_read_proc(root, 59, 0, &p);
	assert_true(p.known);
	assert_string_equal(p.comm, "qemu-system-aar");	/* TASK_COMM_LEN - 1 */
	assert_true(p.vmlck_known);
	assert_int_equal(p.vmlck_bytes, 320 * 1024);
	assert_true(p.limit_known);
	assert_true(p.limit_unlimited);
	kt_read_proc(root, 60, 0, &p);	/* gone */
	assert_false(p.known);
	assert_string_equal(p.comm, "?");
	assert_false(p.vmlck_known);

	/*
	 * The VMM is the process with its start time: another one with its
	 * pid (the VMM gone, the pid reused) is not taken for it
	 */
	put_stat(d, 59, 4242);
	kt_read_proc(root, 59, 4242, &p);
	assert_true(p.known);
	assert_true(p.vmlck_known);
	kt_read_proc(root, 59, 4241, &p);
	assert_false(p.known);
	assert_string_equal(p.comm, "?");
	assert_false(p.vmlck_known);
	assert_false(p.limit_known);
	kt_read_proc(root, 59, KT_START_GONE, &p);
	assert_false(p.known);
	kt_read_proc(root, 60, 4242, &p);
	assert_false(p.known);

	/* QEMU's -name: the guest's name, in either form */
	{
		static const struct {
			const char *cmdline;	/* '|' for NUL */
			const char *name;	/* NULL: none */
		} cases[] = {
			{ "qemu-system-aarch64|-name|db01|-m|1G|", "db01" },
			{ "qemu|-name|guest=db01,debug-threads=on|", "db01" },
			{ "qemu|-name|process=q1,guest=db02|", "db02" },
			{ "qemu|--name|web,debug-threads=on|", "web" },
			{ "qemu|-name|debug-threads=on|", NULL },
			{ "qemu|-m|1G|", NULL },
			{ "qemu|-name|", NULL },
			{ "qemu|-name", NULL },
		};
		char cmd[128], name[64];
		size_t i, j, n;

		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			n = strlen(cases[i].cmdline);
			for (j = 0; j < n; j++)
				cmd[j] = cases[i].cmdline[j] == '|' ? '\0' : cases[i].cmdline[j];
			name[0] = '\0';
			if (kt_parse_qemu_name(cmd, n, name, sizeof(name)) !=
			    (cases[i].name ? 0 : -ENOENT) ||
			    strcmp(name, cases[i].name ? cases[i].name : ""))
				fail_msg("case %zu: got '%s'", i, name);
		}
	}
	/* the cgroup: v2's, else v1's systemd hierarchy */
	{
		char cg[256];

		assert_int_equal(kt_parse_proc_cgroup("0::/machine.slice/machine-qemu\\x2d1\\x2ddb01.scope\n",
						      cg, sizeof(cg)), 0);
		assert_string_equal(cg, "/machine.slice/machine-qemu\\x2d1\\x2ddb01.scope");
		assert_int_equal(kt_parse_proc_cgroup("12:cpu,cpuacct:/x\n1:name=systemd:/system.slice/vm.service\n0::/\n",
						      cg, sizeof(cg)), 0);
		assert_string_equal(cg, "/");
		assert_int_equal(kt_parse_proc_cgroup("12:cpu,cpuacct:/x\n1:name=systemd:/system.slice/vm.service\n",
						      cg, sizeof(cg)), 0);
		assert_string_equal(cg, "/system.slice/vm.service");
		assert_int_equal(kt_parse_proc_cgroup("12:cpu:/x\n", cg, sizeof(cg)), -ENOENT);
		assert_int_equal(kt_parse_proc_cgroup("", cg, sizeof(cg)), -ENOENT);
	}

	/* field 22, whatever the comm holds */
	assert_int_equal(kt_parse_proc_stat_start("7 (a) b) c) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 "
						  "20 0 1 0 555 0\n", &v), 0);
	assert_int_equal(v, 555);
	assert_int_equal(kt_parse_proc_stat_start("7 (x) S 1 1\n", &v), -ENOENT);
	assert_int_equal(kt_parse_proc_stat_start("garbage", &v), -ENOENT);
	/* this process's, from the real /proc: after boot, not after now */
	v = kt_proc_start("/proc", (uint32_t)getpid());
	assert_true(v > 0 && v <= ticks_from_now(1));
	snprintf(d, sizeof(d), "rm -rf %s", root);
	assert_int_equal(system(d), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hist_bounds),
		cmocka_unit_test(test_percentiles),
		cmocka_unit_test(test_interval_diff),
		cmocka_unit_test(test_build_report),
		cmocka_unit_test(test_history_reset),
		cmocka_unit_test(test_history_add_late),
		cmocka_unit_test(test_left_out_not_gone),
		cmocka_unit_test(test_sort_and_rows),
		cmocka_unit_test(test_rows_limit_and_pid),
		cmocka_unit_test(test_json),
		cmocka_unit_test_teardown(test_comm_bytes, reset_comms),
		cmocka_unit_test(test_text_width),
		cmocka_unit_test(test_fmt),
		cmocka_unit_test(test_prom_fixture),
		cmocka_unit_test(test_prom_no_vms),
		cmocka_unit_test(test_prom_label_escape),
		cmocka_unit_test(test_prom_vmm_gone),
		cmocka_unit_test(test_prom_vmm_shared),
		cmocka_unit_test(test_prom_counters),
		cmocka_unit_test(test_prom_write),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_pin_options),
		cmocka_unit_test(test_option_errors),
		cmocka_unit_test(test_parse_memslots),
		cmocka_unit_test(test_list_vms),
		cmocka_unit_test(test_live_vms),
		cmocka_unit_test(test_proc),
	};

	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
