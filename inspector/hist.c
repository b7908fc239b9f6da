// SPDX-License-Identifier: GPL-2.0
/* kvmlock-top hist: interval histograms and their rendering */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

static const struct kt_stats_entry *find(const struct kt_stats_entry *e, size_t n,
					 uint64_t vm)
{
	size_t i;

	for (i = 0; e && i < n; i++)
		if (e[i].vm == vm)
			return &e[i];
	return NULL;
}

/* Counters only grow; a smaller one is a VM id reused: take it whole */
static uint64_t diff(uint64_t cur, uint64_t prev)
{
	return cur >= prev ? cur - prev : cur;
}

static bool any(const uint64_t *v)
{
	int i;

	for (i = 0; i < KT_LOG2_SLOTS; i++)
		if (v[i])
			return true;
	return false;
}

static int cmp_vm(const void *a, const void *b)
{
	const struct kt_hist_vm *x = a, *y = b;

	return x->vm < y->vm ? -1 : x->vm > y->vm;
}

int kt_hist_build(const struct kt_stats_entry *cur, size_t nr,
		  const struct kt_stats_entry *prev, size_t nr_prev,
		  bool msecs, bool all, struct kt_hist_vm **out, size_t *nr_out)
{
	struct kt_hist_vm *v, one;
	size_t i, n = 0;
	int s;

	v = calloc(nr ? nr : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		const struct kt_stats_entry *p = find(prev, nr_prev, cur[i].vm);
		const struct kt_vm_stats *c = &cur[i].s;
		const uint64_t *cl = msecs ? c->lock_ms : c->lock_us;
		const uint64_t *cu = msecs ? c->unlock_ms : c->unlock_us;

		memset(&one, 0, sizeof(one));
		one.vm = cur[i].vm;
		one.pid = c->pid;
		for (s = 0; s < KT_LOG2_SLOTS; s++) {
			one.lock[s] = diff(cl[s], !p ? 0 : msecs ? p->s.lock_ms[s] : p->s.lock_us[s]);
			one.unlock[s] = diff(cu[s], !p ? 0 : msecs ? p->s.unlock_ms[s] : p->s.unlock_us[s]);
		}
		if (all) {
			for (s = 0; s < KT_LOG2_SLOTS; s++) {
				v[0].lock[s] += one.lock[s];
				v[0].unlock[s] += one.unlock[s];
			}
			n = 1;
		} else if (any(one.lock) || any(one.unlock)) {
			v[n++] = one;
		}
	}
	if (all)
		n = 1;
	qsort(v, n, sizeof(*v), cmp_vm);
	*out = v;
	*nr_out = n;
	return 0;
}

static void print_stars(FILE *f, uint64_t val, uint64_t val_max, int width)
{
	int num_stars, i;

	num_stars = (int)((val < val_max ? val : val_max) * (uint64_t)width / val_max);
	for (i = 0; i < num_stars; i++)
		fputc('*', f);
	for (; i < width; i++)
		fputc(' ', f);
	if (val > val_max)
		fputc('+', f);
}

/* libbpf-tools' trace_helpers.c print_log2_hist(), format for format */
void kt_print_log2_hist(FILE *f, const uint64_t *vals, int n, const char *val_type)
{
	int stars_max = 40, idx_max = -1, stars, width, i;
	uint64_t val, val_max = 0, low, high;

	for (i = 0; i < n; i++) {
		val = vals[i];
		if (val > 0)
			idx_max = i;
		if (val > val_max)
			val_max = val;
	}
	if (idx_max < 0)
		return;
	fprintf(f, "%*s%-*s : count    distribution\n", idx_max <= 32 ? 5 : 15, "",
		idx_max <= 32 ? 19 : 29, val_type);
	stars = idx_max <= 32 ? stars_max : stars_max / 2;
	for (i = 0; i <= idx_max; i++) {
		low = (1ULL << (i + 1)) >> 1;
		high = (1ULL << (i + 1)) - 1;
		if (low == high)
			low -= 1;
		val = vals[i];
		width = idx_max <= 32 ? 10 : 20;
		fprintf(f, "%*" PRIu64 " -> %-*" PRIu64 " : %-8" PRIu64 " |",
			width, low, width, high, val);
		print_stars(f, val, val_max, stars);
		fputs("|\n", f);
	}
}

static void text_one(FILE *f, const char *what, const uint64_t *h, bool msecs)
{
	if (!any(h)) {
		fprintf(f, "%s latency: none\n", what);
		return;
	}
	fprintf(f, "%s latency:\n", what);
	kt_print_log2_hist(f, h, KT_LOG2_SLOTS, msecs ? "msecs" : "usecs");
}

static void text_map_errors(FILE *f, uint64_t map_errors)
{
	if (map_errors)
		fprintf(f, "\nWARNING: %" PRIu64 " BPF map updates lost (a map was full): these counts are low\n",
			map_errors);
}

void kt_hist_render_text(FILE *f, const struct kt_hist_vm *v, size_t n,
			 bool all, bool msecs, uint64_t map_errors)
{
	size_t i;

	if (!n) {
		fputs("\nno lock or unlock\n", f);
		text_map_errors(f, map_errors);
		return;
	}
	for (i = 0; i < n; i++) {
		char comm[KT_COMM_LEN];

		fputc('\n', f);
		kt_text_comm(comm, sizeof(comm), v[i].comm[0] ? v[i].comm : "?");
		if (!all)
			fprintf(f, "vm = %" PRIu64 " pid = %" PRIu32 " %s\n", v[i].vm,
				v[i].pid, comm);
		text_one(f, "lock", v[i].lock, msecs);
		text_one(f, "unlock", v[i].unlock, msecs);
	}
	text_map_errors(f, map_errors);
}

/*
 * The rows the text shows: slot 0 to the last non-empty one. The keys
 * are the same in either unit (the object's "unit" says which).
 */
static void json_buckets(FILE *f, const char *key, const uint64_t *h)
{
	int i, last = -1;
	uint64_t low, high;

	for (i = 0; i < KT_LOG2_SLOTS; i++)
		if (h[i])
			last = i;
	fprintf(f, "\"%s\":[", key);
	for (i = 0; i <= last; i++) {
		low = (1ULL << (i + 1)) >> 1;
		high = (1ULL << (i + 1)) - 1;
		if (low == high)
			low -= 1;
		fprintf(f, "%s{\"low\":%" PRIu64 ",\"high\":%" PRIu64
			",\"count\":%" PRIu64 "}", i ? "," : "", low, high, h[i]);
	}
	fputc(']', f);
}

static void json_pair(FILE *f, const uint64_t *lock, const uint64_t *unlock)
{
	json_buckets(f, "lock", lock);
	fputc(',', f);
	json_buckets(f, "unlock", unlock);
}

void kt_hist_render_json(FILE *f, const struct kt_hist_vm *v, size_t n,
			 bool all, bool msecs, const struct timespec *wall,
			 uint64_t map_errors)
{
	uint64_t lock[KT_LOG2_SLOTS] = {}, unlock[KT_LOG2_SLOTS] = {};
	char ts[32];
	size_t i;
	int b;

	kt_fmt_iso(ts, sizeof(ts), wall);
	kt_json_open(f, "hist", ts);
	fprintf(f, ",\"unit\":\"%s\",\"map_update_errors\":%" PRIu64 ",",
		msecs ? "msecs" : "usecs", map_errors);
	/* the same keys with or without -A: "all" always, "vms" null with it */
	for (i = 0; i < n; i++)
		for (b = 0; b < KT_LOG2_SLOTS; b++) {
			lock[b] += v[i].lock[b];
			unlock[b] += v[i].unlock[b];
		}
	fputs("\"all\":{", f);
	json_pair(f, lock, unlock);
	fputs("},\"vms\":", f);
	if (all) {
		fputs("null}\n", f);
		return;
	}
	fputc('[', f);
	for (i = 0; i < n; i++) {
		fprintf(f, "%s{\"vm\":%" PRIu64 ",\"pid\":%" PRIu32 ",\"comm\":",
			i ? "," : "", v[i].vm, v[i].pid);
		/* unknown (the VMM gone): null, as top has it */
		if (v[i].comm[0])
			kt_json_str(f, v[i].comm);
		else
			fputs("null", f);
		fputc(',', f);
		json_pair(f, v[i].lock, v[i].unlock);
		fputc('}', f);
	}
	fputs("]}\n", f);
}
