// SPDX-License-Identifier: GPL-2.0
/* kvmlock-top's rows, totals, percentiles and their text and JSON forms */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* --- histogram ------------------------------------------------------- */

/* Smallest value of a bucket (see kt_hist_bucket()) */
uint64_t kt_hist_lower(uint32_t b)
{
	uint32_t e, sub;

	if (b < KT_HIST_SUB)
		return b;
	e = b / KT_HIST_SUB + KT_HIST_SUB_BITS - 1;
	sub = b % KT_HIST_SUB;
	return (uint64_t)(KT_HIST_SUB + sub) << (e - KT_HIST_SUB_BITS);
}

/* Largest value of a bucket */
uint64_t kt_hist_upper(uint32_t b)
{
	if (b < KT_HIST_SUB)
		return b;
	if (b + 1 >= KT_HIST_BUCKETS)
		return UINT64_MAX;
	return kt_hist_lower(b + 1) - 1;
}

/*
 * Nearest-rank percentiles: the upper bound of the bucket holding the
 * rank, at most max_ns (the largest value seen, which the bound of its
 * bucket could pass).
 */
static uint64_t percentile(const uint64_t *hist, uint64_t total, unsigned int pct,
			   uint64_t max_ns)
{
	uint64_t rank = (total * pct + 99) / 100, seen = 0, v;
	uint32_t b;

	if (rank == 0)
		rank = 1;
	for (b = 0; b < KT_HIST_BUCKETS; b++) {
		seen += hist[b];
		if (seen >= rank) {
			v = kt_hist_upper(b);
			return v < max_ns ? v : max_ns;
		}
	}
	return max_ns;
}

void kt_lat_from_hist(const uint64_t *hist, uint64_t max_ns, struct kt_lat *lat)
{
	uint64_t total = 0;
	uint32_t b;

	for (b = 0; b < KT_HIST_BUCKETS; b++)
		total += hist[b];
	memset(lat, 0, sizeof(*lat));
	if (!total)
		return;
	lat->valid = true;
	lat->max_ns = max_ns;
	lat->p50_ns = percentile(hist, total, 50, max_ns);
	lat->p99_ns = percentile(hist, total, 99, max_ns);
}

/* --- counters -------------------------------------------------------- */

void kt_agg_from_stats(struct kt_agg *a, const struct kt_vm_stats *s)
{
	a->locks_ok = s->locks_ok;
	a->locks_failed = s->locks_failed;
	a->unlocks = s->unlocks;
	a->unlocks_failed = s->unlocks_failed;
	a->account_failures = s->account_failures;
	a->deferred_ops = s->deferred_ops;
	a->lat_max_ns = s->lat_max_ns;
	a->lat_sum_ns = s->lat_sum_ns;
	memcpy(a->lat_hist, s->lat_hist, sizeof(a->lat_hist));
}

/*
 * cur - prev (prev NULL: zero). The maximum of the interval is exact when
 * the interval raised the maximum since start; otherwise it is the upper
 * bound of the highest bucket the interval used, at most that maximum.
 */
void kt_agg_interval(struct kt_agg *iv, const struct kt_vm_stats *cur,
		     const struct kt_vm_stats *prev)
{
	static const struct kt_vm_stats zero;
	int64_t top = -1;
	uint32_t b;

	if (!prev)
		prev = &zero;
	iv->locks_ok = cur->locks_ok - prev->locks_ok;
	iv->locks_failed = cur->locks_failed - prev->locks_failed;
	iv->unlocks = cur->unlocks - prev->unlocks;
	iv->unlocks_failed = cur->unlocks_failed - prev->unlocks_failed;
	iv->account_failures = cur->account_failures - prev->account_failures;
	iv->deferred_ops = cur->deferred_ops - prev->deferred_ops;
	iv->lat_sum_ns = cur->lat_sum_ns - prev->lat_sum_ns;
	for (b = 0; b < KT_HIST_BUCKETS; b++) {
		iv->lat_hist[b] = cur->lat_hist[b] - prev->lat_hist[b];
		if (iv->lat_hist[b])
			top = b;
	}
	if (top < 0)
		iv->lat_max_ns = 0;
	else if (cur->lat_max_ns > prev->lat_max_ns)
		iv->lat_max_ns = cur->lat_max_ns;
	else if (kt_hist_upper((uint32_t)top) < cur->lat_max_ns)
		iv->lat_max_ns = kt_hist_upper((uint32_t)top);
	else
		iv->lat_max_ns = cur->lat_max_ns;
}

void kt_agg_add(struct kt_agg *sum, const struct kt_agg *a)
{
	uint32_t b;

	sum->locks_ok += a->locks_ok;
	sum->locks_failed += a->locks_failed;
	sum->unlocks += a->unlocks;
	sum->unlocks_failed += a->unlocks_failed;
	sum->account_failures += a->account_failures;
	sum->deferred_ops += a->deferred_ops;
	sum->lat_sum_ns += a->lat_sum_ns;
	if (a->lat_max_ns > sum->lat_max_ns)
		sum->lat_max_ns = a->lat_max_ns;
	for (b = 0; b < KT_HIST_BUCKETS; b++)
		sum->lat_hist[b] += a->lat_hist[b];
}

/* --- one interval ---------------------------------------------------- */

const struct kt_vm_stats *kt_find_stats(const struct kt_stats_entry *e, size_t n,
				       uint64_t vm)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (e[i].vm == vm)
			return &e[i].s;
	return NULL;
}

static bool vm_is_live(const struct kt_sample *smp, uint64_t vm)
{
	size_t i;

	for (i = 0; i < smp->nr_vms; i++)
		if (smp->vms[i].vm == vm)
			return true;
	return false;
}

static int add_gone(uint64_t **gone, size_t *nr, uint64_t vm)
{
	uint64_t *n;
	size_t i;

	for (i = 0; i < *nr; i++)
		if ((*gone)[i] == vm)
			return 0;
	n = realloc(*gone, (*nr + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	n[(*nr)++] = vm;
	*gone = n;
	return 0;
}

/* Since the last kt_history_reset() when vm was there, else since start */
static void since_reset(struct kt_agg *cum, const struct kt_vm_stats *cur,
		       const struct kt_history *h, uint64_t vm)
{
	const struct kt_vm_stats *base = kt_find_stats(h->base, h->nr_base, vm);

	if (base)
		kt_agg_interval(cum, cur, base);
	else
		kt_agg_from_stats(cum, cur);
}

/* A VM gone: no base any more (its id may come back as another VM's) */
static void forget_base(struct kt_history *h, uint64_t vm)
{
	size_t i;

	for (i = 0; i < h->nr_base; i++)
		if (h->base[i].vm == vm) {
			h->base[i] = h->base[--h->nr_base];
			return;
		}
}

static int fill_row(struct kt_vm_row *row, const struct kt_live_vm *v,
		    const struct kt_sample *smp, const struct kt_history *h,
		    uint64_t page_size)
{
	const struct kt_vm_stats *cur, *prev;
	static const struct kt_vm_stats zero;
	size_t i, n = 0;

	memset(row, 0, sizeof(*row));
	row->vm = v->vm;
	row->pid = v->pid;
	row->proc = v->proc;
	row->id = v->id;
	cur = kt_find_stats(smp->stats, smp->nr_stats, v->vm);
	prev = kt_find_stats(h->prev, h->nr_prev, v->vm);
	if (!cur)
		cur = &zero;
	kt_agg_from_stats(&row->cum, cur);
	since_reset(&row->shown, cur, h, v->vm);
	kt_agg_interval(&row->iv, cur, prev);
	kt_lat_from_hist(row->iv.lat_hist, row->iv.lat_max_ns, &row->lat);
	if (cur->account_failures) {
		row->acct_seen = true;
		row->acct_locked_vm_pages = cur->last_acct_locked_vm;
		row->acct_limit_pages = cur->last_acct_limit;
	}
	if (cur->last_event_ns) {
		row->age_valid = true;
		row->age_ns = smp->now_ns > cur->last_event_ns ?
			      smp->now_ns - cur->last_event_ns : 0;
	}

	for (i = 0; i < smp->nr_slots; i++)
		if (smp->slots[i].key.vm == v->vm &&
		    smp->slots[i].val.state == KT_SLOT_LIVE)
			n++;
	if (n) {
		row->slots = calloc(n, sizeof(*row->slots));
		if (!row->slots)
			return -ENOMEM;
	}
	for (i = 0; i < smp->nr_slots; i++) {
		const struct kt_slot *s = &smp->slots[i].val;
		struct kt_slot_row *sr;

		if (smp->slots[i].key.vm != v->vm || s->state != KT_SLOT_LIVE)
			continue;
		sr = &row->slots[row->nr_slots++];
		sr->slot = smp->slots[i].key.slot;
		sr->noaddr = s->flags & KT_SLOT_F_NOADDR;
		sr->rw = s->flags & KT_SLOT_F_RW;
		sr->hva = s->hva;
		sr->ipa_start = s->ipa;
		sr->ipa_end = s->ipa + (s->size ? s->size : s->npages * page_size);
		sr->npages = s->npages;
		sr->bytes = s->npages * page_size;
		sr->locked_for_ns = smp->now_ns > s->locked_at_ns ?
				    smp->now_ns - s->locked_at_ns : 0;
		sr->lock_latency_ns = s->lock_duration_ns;
		row->locked_slots++;
		row->locked_pages += s->npages;
		if (sr->rw)
			row->rw_pages += s->npages;
		else
			row->ro_pages += s->npages;
	}
	if (v->kstat_known && (v->kstat_locked_slots != row->locked_slots ||
			       v->kstat_locked_pages != row->locked_pages))
		row->mismatch = true;
	if (v->proc.vmlck_known && v->proc.limit_known &&
	    !v->proc.limit_unlimited && v->proc.limit_bytes) {
		row->pct_valid = true;
		row->pct = 100.0 * (double)v->proc.vmlck_bytes /
			   (double)v->proc.limit_bytes;
	}
	return 0;
}

static int slot_cmp(const void *a, const void *b)
{
	const struct kt_slot_row *x = a, *y = b;

	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

int kt_build_report(struct kt_history *h, const struct kt_sample *smp,
		    const struct kt_opts *o, uint64_t page_size,
		    struct kt_report *r, uint64_t **gone, size_t *nr_gone)
{
	struct kt_stats_entry *next = NULL;
	struct kt_agg gone_iv;
	size_t i, nnext = 0, nrows = 0;

	memset(r, 0, sizeof(*r));
	*gone = NULL;
	*nr_gone = 0;
	r->wall = smp->wall;
	r->interval_ns = smp->interval_ns;
	r->page_size = page_size;
	r->show_slots = o->slots;
	if (smp->nr_vms) {
		r->rows = calloc(smp->nr_vms, sizeof(*r->rows));
		if (!r->rows)
			return -ENOMEM;
	}
	for (i = 0; i < smp->nr_vms; i++) {
		struct kt_vm_row *row = &r->rows[nrows];

		if (!kt_pid_wanted(o, smp->vms[i].pid))
			continue;
		if (fill_row(row, &smp->vms[i], smp, h, page_size))
			goto nomem;
		nrows++;
		qsort(row->slots, row->nr_slots, sizeof(*row->slots), slot_cmp);
		r->totals.locked_slots += row->locked_slots;
		r->totals.locked_pages += row->locked_pages;
		r->totals.rw_pages += row->rw_pages;
		r->totals.ro_pages += row->ro_pages;
		kt_agg_add(&r->totals.iv, &row->iv);
		kt_agg_add(&r->totals.cum, &row->cum);
		kt_agg_add(&r->totals.shown, &row->shown);
		if (row->mismatch)
			r->state_mismatches++;
	}
	r->nr_rows = r->nr_vms = nrows;

	/* VMs in the maps that are not live any more: counted, then gone */
	if (smp->nr_stats) {
		next = calloc(smp->nr_stats, sizeof(*next));
		if (!next)
			goto nomem;
	}
	for (i = 0; i < smp->nr_stats; i++) {
		const struct kt_stats_entry *e = &smp->stats[i];
		struct kt_agg cum, shown;

		if (vm_is_live(smp, e->vm)) {
			next[nnext++] = *e;
			continue;
		}
		kt_agg_interval(&gone_iv, &e->s, kt_find_stats(h->prev, h->nr_prev, e->vm));
		kt_agg_add(&r->totals.iv, &gone_iv);
		kt_agg_from_stats(&cum, &e->s);
		since_reset(&shown, &e->s, h, e->vm);
		if (smp->nr_vms_left_out) {
			/* perhaps one left out: in the totals, not a row, kept */
			kt_agg_add(&r->totals.cum, &cum);
			kt_agg_add(&r->totals.shown, &shown);
			next[nnext++] = *e;
			continue;
		}
		kt_agg_add(&h->departed, &cum);
		kt_agg_add(&h->departed_shown, &shown);
		forget_base(h, e->vm);
		if (add_gone(gone, nr_gone, e->vm))
			goto nomem;
	}
	for (i = 0; i < smp->nr_slots && !smp->nr_vms_left_out; i++)
		if (!vm_is_live(smp, smp->slots[i].key.vm) &&
		    add_gone(gone, nr_gone, smp->slots[i].key.vm))
			goto nomem;
	kt_agg_add(&r->totals.cum, &h->departed);
	kt_agg_add(&r->totals.shown, &h->departed_shown);
	kt_lat_from_hist(r->totals.iv.lat_hist, r->totals.iv.lat_max_ns,
			 &r->totals.lat);

	free(h->prev);
	h->prev = next;
	h->nr_prev = nnext;

	h->events_received_total += smp->events_received;
	r->events_received = smp->events_received;
	r->events_received_total = h->events_received_total;
	r->events_lost_total = smp->events_lost_total;
	r->events_lost = smp->events_lost_total - h->events_lost_prev;
	h->events_lost_prev = smp->events_lost_total;
	r->seeded = h->rec.seeded;
	r->skipped = h->rec.skipped;
	r->tombstones = smp->tombstones;
	r->map_update_errors = smp->map_update_errors;

	kt_sort_rows(r->rows, r->nr_rows, o->sort);
	if (o->rows && r->nr_rows > o->rows)
		r->nr_rows = o->rows;
	return 0;
nomem:
	free(next);
	free(*gone);
	*gone = NULL;
	*nr_gone = 0;
	r->nr_vms = nrows;
	r->nr_rows = nrows;
	kt_report_free(r);
	return -ENOMEM;
}

void kt_report_free(struct kt_report *r)
{
	size_t i;

	/* every row built, also those -r hides */
	for (i = 0; i < r->nr_vms; i++)
		free(r->rows[i].slots);
	free(r->rows);
	r->rows = NULL;
	r->nr_rows = r->nr_vms = 0;
}

void kt_history_free(struct kt_history *h)
{
	free(h->prev);
	h->prev = NULL;
	h->nr_prev = 0;
	free(h->base);
	h->base = NULL;
	h->nr_base = 0;
}

void kt_history_add_late(struct kt_history *h, const struct kt_sample *smp,
			 const uint64_t *gone, const struct kt_vm_stats *last, size_t nr)
{
	struct kt_agg late;
	size_t i;

	for (i = 0; i < nr; i++) {
		const struct kt_vm_stats *dumped = kt_find_stats(smp->stats, smp->nr_stats,
							      gone[i]);

		/* gone already (every event sets last_event_ns) */
		if (!last[i].last_event_ns)
			continue;
		/* none in the dump: a slots entry only, or it came after */
		if (dumped)
			kt_agg_interval(&late, &last[i], dumped);
		else
			kt_agg_from_stats(&late, &last[i]);
		kt_agg_add(&h->departed, &late);
		kt_agg_add(&h->departed_shown, &late);
	}
}

int kt_history_reset(struct kt_history *h, const struct kt_stats_entry *stats,
		     size_t nr, uint64_t events_lost_total)
{
	size_t size = (nr ? nr : 1) * sizeof(*stats);
	struct kt_stats_entry *prev = malloc(size), *base = malloc(size);

	if (!prev || !base) {
		free(prev);
		free(base);
		return -ENOMEM;
	}
	if (nr) {
		memcpy(prev, stats, nr * sizeof(*stats));
		memcpy(base, stats, nr * sizeof(*stats));
	}
	free(h->prev);
	free(h->base);
	h->prev = prev;
	h->nr_prev = nr;
	h->base = base;
	h->nr_base = nr;
	memset(&h->departed_shown, 0, sizeof(h->departed_shown));
	h->events_lost_prev = events_lost_total;
	return 0;
}

/* --- sorting --------------------------------------------------------- */

static enum kt_sort sort_key;

#define CMP_DESC(a, b) do { if ((a) != (b)) return (a) > (b) ? -1 : 1; } while (0)
#define CMP_ASC(a, b) do { if ((a) != (b)) return (a) < (b) ? -1 : 1; } while (0)

static int row_cmp(const void *pa, const void *pb)
{
	const struct kt_vm_row *a = pa, *b = pb;

	switch (sort_key) {
	case KT_SORT_PAGES:
		CMP_DESC(a->locked_pages, b->locked_pages);
		break;
	case KT_SORT_SLOTS:
		CMP_DESC(a->locked_slots, b->locked_slots);
		break;
	case KT_SORT_MEMLOCK:
		CMP_DESC(a->proc.vmlck_known, b->proc.vmlck_known);
		CMP_DESC(a->proc.vmlck_bytes, b->proc.vmlck_bytes);
		break;
	case KT_SORT_PCT:
		CMP_DESC(a->pct_valid, b->pct_valid);
		CMP_DESC(a->pct, b->pct);
		break;
	case KT_SORT_LOCKS:
		CMP_DESC(a->iv.locks_ok + a->iv.locks_failed,
			 b->iv.locks_ok + b->iv.locks_failed);
		break;
	case KT_SORT_FAILS:
		CMP_DESC(a->shown.locks_failed, b->shown.locks_failed);
		break;
	case KT_SORT_LAT:
		CMP_DESC(a->lat.valid, b->lat.valid);
		CMP_DESC(a->lat.p99_ns, b->lat.p99_ns);
		CMP_DESC(a->lat.max_ns, b->lat.max_ns);
		break;
	case KT_SORT_PID:
		CMP_ASC(a->pid, b->pid);
		break;
	case KT_SORT_VM:
		break;
	}
	CMP_ASC(a->vm, b->vm);
	return 0;
}

void kt_sort_rows(struct kt_vm_row *rows, size_t n, enum kt_sort key)
{
	sort_key = key;
	qsort(rows, n, sizeof(*rows), row_cmp);
}

/* --- text ------------------------------------------------------------ */

static void fmt_scaled(char *buf, size_t len, uint64_t v, const char *const *units,
		       unsigned int nunits, uint64_t step)
{
	double d = (double)v;
	unsigned int u = 0;

	while (u + 1 < nunits && d >= (double)step) {
		d /= (double)step;
		u++;
	}
	if (u == 0 || d == (double)(uint64_t)d)
		snprintf(buf, len, "%.0f%s", d, units[u]);
	else if (d < 100)
		snprintf(buf, len, "%.1f%s", d, units[u]);
	else
		snprintf(buf, len, "%.0f%s", d, units[u]);
}

void kt_fmt_bytes(char *buf, size_t len, uint64_t bytes)
{
	static const char *const units[] = { "B", "K", "M", "G", "T", "P" };

	fmt_scaled(buf, len, bytes, units, 6, 1024);
}

void kt_fmt_ns(char *buf, size_t len, uint64_t ns)
{
	static const char *const units[] = { "ns", "us", "ms", "s" };

	fmt_scaled(buf, len, ns, units, 4, 1000);
}

void kt_fmt_iso(char *buf, size_t len, const struct timespec *ts)
{
	struct tm tm;
	char base[32];

	gmtime_r(&ts->tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03uZ", base,
		 (unsigned int)((unsigned long)ts->tv_nsec / 1000000 % 1000));
}

static void fmt_pair(char *buf, size_t len, uint64_t a, uint64_t b)
{
	snprintf(buf, len, "%" PRIu64 "/%" PRIu64, a, b);
}

/* One line, without the blanks that empty columns (totals) leave at its end */
__attribute__((format(printf, 2, 3)))
static void puts_trimmed(FILE *f, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	while (n && line[n - 1] == ' ')
		line[--n] = '\0';
	fprintf(f, "%s\n", line);
}

static void print_mem_line(FILE *f, const char *vm, const char *pid, const char *comm,
			   uint64_t slots, uint64_t pages, uint64_t ps, uint64_t rw,
			   uint64_t ro, const char *vmlck, const char *limit,
			   const char *pct)
{
	char b1[16], b2[16], b3[16];

	kt_fmt_bytes(b1, sizeof(b1), pages * ps);
	kt_fmt_bytes(b2, sizeof(b2), rw * ps);
	kt_fmt_bytes(b3, sizeof(b3), ro * ps);
	puts_trimmed(f, "%5s %7s %-10.10s %5" PRIu64 " %8" PRIu64 " %6s %6s %6s %6s %6s %5s",
		     vm, pid, comm, slots, pages, b1, b2, b3, vmlck, limit, pct);
}

static void print_ops_line(FILE *f, const char *vm, const struct kt_agg *iv,
			   const struct kt_agg *cum, const struct kt_lat *lat,
			   const char *age)
{
	char locks[24], lfail[24], unl[24], ufail[24], acct[24];
	char p50[16] = "-", p99[16] = "-", max[16] = "-";

	fmt_pair(locks, sizeof(locks), iv->locks_ok + iv->locks_failed,
		 cum->locks_ok + cum->locks_failed);
	fmt_pair(lfail, sizeof(lfail), iv->locks_failed, cum->locks_failed);
	fmt_pair(unl, sizeof(unl), iv->unlocks, cum->unlocks);
	fmt_pair(ufail, sizeof(ufail), iv->unlocks_failed, cum->unlocks_failed);
	fmt_pair(acct, sizeof(acct), iv->account_failures, cum->account_failures);
	if (lat->valid) {
		kt_fmt_ns(p50, sizeof(p50), lat->p50_ns);
		kt_fmt_ns(p99, sizeof(p99), lat->p99_ns);
		kt_fmt_ns(max, sizeof(max), lat->max_ns);
	}
	puts_trimmed(f, "%5s %9s %9s %9s %7s %7s %6s %6s %6s %6s", vm, locks, lfail,
		     unl, ufail, acct, p50, p99, max, age);
}

/* The lines that only say something when something is wrong or unusual */
void kt_render_notes(FILE *f, const struct kt_report *r)
{
	if (r->events_lost)
		fprintf(f, "events lost: %" PRIu64 " (%" PRIu64 " since start): ring buffer full; counts stay exact\n",
			r->events_lost, r->events_lost_total);
	if (r->seeded || r->skipped || r->tombstones)
		fprintf(f, "start-up: %" PRIu64 " slots seeded, %" PRIu64
			" covered by events, %" PRIu64 " tombstones\n",
			r->seeded, r->skipped, r->tombstones);
	if (r->state_mismatches)
		fprintf(f, "kernel stats differ for %" PRIu64 " VMs (marked *)\n",
			r->state_mismatches);
	if (r->map_update_errors)
		fprintf(f, "BPF maps full: %" PRIu64 " updates lost\n", r->map_update_errors);
}

/* The memory table's strings of a row: VM (with its mismatch mark) to USE% */
void kt_row_text(const struct kt_vm_row *row, struct kt_row_text *t)
{
	snprintf(t->vm, sizeof(t->vm), "%s%" PRIu64, row->mismatch ? "*" : "", row->vm);
	snprintf(t->pid, sizeof(t->pid), "%" PRIu32, row->pid);
	strcpy(t->vmlck, "-");
	strcpy(t->limit, "-");
	strcpy(t->pct, "-");
	if (row->proc.vmlck_known)
		kt_fmt_bytes(t->vmlck, sizeof(t->vmlck), row->proc.vmlck_bytes);
	if (row->proc.limit_known && row->proc.limit_unlimited)
		strcpy(t->limit, "unlim");
	else if (row->proc.limit_known)
		kt_fmt_bytes(t->limit, sizeof(t->limit), row->proc.limit_bytes);
	if (row->pct_valid)
		snprintf(t->pct, sizeof(t->pct), "%.1f", row->pct);
}

/* A row of the slot table; vm is the first column's text */
void kt_fmt_slot(char *buf, size_t len, const char *vm, const struct kt_slot_row *s)
{
	char ipa0[24] = "?", ipa1[24] = "?", a[16], c[16];

	if (!s->noaddr) {
		snprintf(ipa0, sizeof(ipa0), "0x%" PRIx64, s->ipa_start);
		snprintf(ipa1, sizeof(ipa1), "0x%" PRIx64, s->ipa_end);
	}
	kt_fmt_ns(a, sizeof(a), s->locked_for_ns);
	kt_fmt_ns(c, sizeof(c), s->lock_latency_ns);
	snprintf(buf, len, "%5s %5" PRIu32 " %14s %14s %9" PRIu64 " %4s %10s %8s",
		 vm, s->slot, ipa0, ipa1, s->npages, s->rw ? "rw" : "r", a, c);
}

void kt_render_text(FILE *f, const struct kt_report *r)
{
	char ts[64], vm[24], age[16], a[16], b[16], line[128], comm[KT_COMM_LEN];
	const struct kt_vm_row *row;
	struct kt_row_text t;
	uint64_t ps = r->page_size;
	size_t i, j;

	kt_fmt_iso(ts, sizeof(ts), &r->wall);
	kt_fmt_bytes(a, sizeof(a), r->totals.locked_pages * ps);
	fprintf(f, "%s  VMs %zu  slots %" PRIu64 "  locked %s  events %" PRIu64 "\n",
		ts, r->nr_vms, r->totals.locked_slots, a, r->events_received);
	kt_render_notes(f, r);

	fprintf(f, "%5s %7s %-10s %5s %8s %6s %6s %6s %6s %6s %5s\n", "VM", "PID",
		"COMM", "SLOTS", "PAGES", "LOCKED", "RW", "RO", "VMLCK", "LIMIT", "USE%");
	for (i = 0; i < r->nr_rows; i++) {
		row = &r->rows[i];
		kt_row_text(row, &t);
		kt_text_comm(comm, sizeof(comm), row->proc.comm);
		print_mem_line(f, t.vm, t.pid, comm, row->locked_slots,
			       row->locked_pages, ps, row->rw_pages, row->ro_pages,
			       t.vmlck, t.limit, t.pct);
	}
	print_mem_line(f, "TOTAL", "", "", r->totals.locked_slots,
		       r->totals.locked_pages, ps, r->totals.rw_pages,
		       r->totals.ro_pages, "", "", "");

	fprintf(f, "%5s %9s %9s %9s %7s %7s %6s %6s %6s %6s\n", "VM", "LOCKS",
		"LFAIL", "UNLOCKS", "UFAIL", "ACCTF", "P50", "P99", "MAX", "AGE");
	for (i = 0; i < r->nr_rows; i++) {
		row = &r->rows[i];
		snprintf(vm, sizeof(vm), "%" PRIu64, row->vm);
		strcpy(age, "-");
		if (row->age_valid)
			kt_fmt_ns(age, sizeof(age), row->age_ns);
		print_ops_line(f, vm, &row->iv, &row->cum, &row->lat, age);
	}
	print_ops_line(f, "TOTAL", &r->totals.iv, &r->totals.cum, &r->totals.lat, "");

	for (i = 0; i < r->nr_rows; i++) {
		row = &r->rows[i];
		if (!row->acct_seen)
			continue;
		kt_fmt_bytes(a, sizeof(a), row->acct_locked_vm_pages * ps);
		kt_fmt_bytes(b, sizeof(b), row->acct_limit_pages * ps);
		fprintf(f, "VM %" PRIu64 ": last RLIMIT_MEMLOCK refusal: %s locked, limit %s\n",
			row->vm, a, b);
	}

	if (r->show_slots) {
		fprintf(f, "%5s %5s %14s %14s %9s %4s %10s %8s\n", "VM", "SLOT",
			"IPA-START", "IPA-END", "PAGES", "PROT", "LOCKED-FOR",
			"LOCK-LAT");
		for (i = 0; i < r->nr_rows; i++) {
			row = &r->rows[i];
			snprintf(vm, sizeof(vm), "%" PRIu64, row->vm);
			for (j = 0; j < row->nr_slots; j++) {
				kt_fmt_slot(line, sizeof(line), vm, &row->slots[j]);
				fprintf(f, "%s\n", line);
			}
		}
	}
	fputc('\n', f);
	fflush(f);
}

/* --- JSON ------------------------------------------------------------ */

size_t kt_utf8_len(const unsigned char *p)
{
	size_t n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
		return 0;
	return n;
}

void kt_printable(char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			s[i] = '?';
}

void kt_text_comm(char *buf, size_t len, const char *comm)
{
	if (!len)
		return;
	snprintf(buf, len, "%s", comm);
	kt_printable(buf, strlen(buf));
}

/*
 * A comm is any bytes: valid UTF-8 goes out as it is (JSON text is
 * UTF-8), control characters as JSON escapes, any other byte as U+FFFD.
 */
static void json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	fputc('"', f);
	while (*p) {
		if (*p == '"' || *p == '\\') {
			fprintf(f, "\\%c", *p++);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p++);
		} else if (*p < 0x80) {
			fputc(*p++, f);
		} else if ((n = kt_utf8_len(p))) {
			fwrite(p, 1, n, f);
			p += n;
		} else {
			fputs("\\ufffd", f);
			p++;
		}
	}
	fputc('"', f);
}

void kt_json_str(FILE *f, const char *s)
{
	json_str(f, s);
}

static void json_u64(FILE *f, const char *key, uint64_t v)
{
	fprintf(f, ",\"%s\":%" PRIu64, key, v);
}

static void json_opt_u64(FILE *f, const char *key, bool valid, uint64_t v)
{
	if (valid)
		json_u64(f, key, v);
	else
		fprintf(f, ",\"%s\":null", key);
}

/* A string, null when empty (unknown) */
static void json_opt_str(FILE *f, const char *key, const char *s)
{
	fprintf(f, ",\"%s\":", key);
	if (*s)
		json_str(f, s);
	else
		fputs("null", f);
}

/* An address as trace has it: a "0x..." string (they pass 2^53) */
static void json_opt_hex(FILE *f, const char *key, bool valid, uint64_t v)
{
	if (valid)
		fprintf(f, ",\"%s\":\"0x%" PRIx64 "\"", key, v);
	else
		fprintf(f, ",\"%s\":null", key);
}

static void json_ops(FILE *f, const struct kt_agg *iv, const struct kt_agg *cum,
		     const struct kt_lat *lat)
{
	json_u64(f, "lock_ops", iv->locks_ok + iv->locks_failed);
	json_u64(f, "lock_ops_total", cum->locks_ok + cum->locks_failed);
	json_u64(f, "lock_failures", iv->locks_failed);
	json_u64(f, "lock_failures_total", cum->locks_failed);
	json_u64(f, "unlock_ops", iv->unlocks);
	json_u64(f, "unlock_ops_total", cum->unlocks);
	json_u64(f, "unlock_failures", iv->unlocks_failed);
	json_u64(f, "unlock_failures_total", cum->unlocks_failed);
	json_u64(f, "account_failures", iv->account_failures);
	json_u64(f, "account_failures_total", cum->account_failures);
	json_u64(f, "deferred_ops", iv->deferred_ops);
	json_u64(f, "deferred_ops_total", cum->deferred_ops);
	json_opt_u64(f, "lock_latency_p50_ns", lat->valid, lat->p50_ns);
	json_opt_u64(f, "lock_latency_p99_ns", lat->valid, lat->p99_ns);
	json_opt_u64(f, "lock_latency_max_ns", lat->valid, lat->max_ns);
	json_opt_u64(f, "lock_latency_max_total_ns", cum->locks_ok > 0, cum->lat_max_ns);
}

static void json_locked(FILE *f, uint64_t slots, uint64_t pages, uint64_t rw,
			uint64_t ro, uint64_t ps)
{
	json_u64(f, "locked_slots", slots);
	json_u64(f, "locked_pages", pages);
	json_u64(f, "locked_bytes", pages * ps);
	json_u64(f, "locked_rw_bytes", rw * ps);
	json_u64(f, "locked_ro_bytes", ro * ps);
	json_u64(f, "memlock_charged_bytes", pages * ps);
}

static void json_row(FILE *f, const struct kt_vm_row *row, uint64_t ps, bool slots)
{
	const struct kt_proc *p = &row->proc;
	size_t j;

	fprintf(f, "{\"vm\":%" PRIu64 ",\"pid\":%" PRIu32 ",\"comm\":", row->vm, row->pid);
	if (p->known)
		json_str(f, p->comm);
	else
		fputs("null", f);
	json_opt_str(f, "vmm_name", row->id.name);
	json_opt_str(f, "cgroup", row->id.cgroup);
	json_locked(f, row->locked_slots, row->locked_pages, row->rw_pages,
		    row->ro_pages, ps);
	json_opt_u64(f, "vmlck_bytes", p->vmlck_known, p->vmlck_bytes);
	json_opt_u64(f, "memlock_limit_bytes", p->limit_known && !p->limit_unlimited,
		     p->limit_bytes);
	fprintf(f, ",\"memlock_limit_unlimited\":%s",
		p->limit_known && p->limit_unlimited ? "true" : "false");
	if (row->pct_valid)
		fprintf(f, ",\"memlock_used_pct\":%.1f", row->pct);
	else
		fputs(",\"memlock_used_pct\":null", f);
	json_ops(f, &row->iv, &row->cum, &row->lat);
	json_opt_u64(f, "last_account_fail_locked_vm_bytes", row->acct_seen,
		     row->acct_locked_vm_pages * ps);
	json_opt_u64(f, "last_account_fail_limit_bytes", row->acct_seen,
		     row->acct_limit_pages * ps);
	json_opt_u64(f, "last_event_age_ns", row->age_valid, row->age_ns);
	fprintf(f, ",\"state_mismatch\":%s", row->mismatch ? "true" : "false");
	if (slots) {
		fputs(",\"slots\":[", f);
		for (j = 0; j < row->nr_slots; j++) {
			const struct kt_slot_row *s = &row->slots[j];

			fprintf(f, "%s{\"slot\":%" PRIu32, j ? "," : "", s->slot);
			json_opt_hex(f, "ipa_start", !s->noaddr, s->ipa_start);
			json_opt_hex(f, "ipa_end", !s->noaddr, s->ipa_end);
			json_u64(f, "pages", s->npages);
			json_u64(f, "bytes", s->bytes);
			fprintf(f, ",\"prot\":\"%s\"", s->rw ? "rw" : "r");
			json_opt_hex(f, "hva", !s->noaddr, s->hva);
			json_u64(f, "locked_for_ns", s->locked_for_ns);
			json_u64(f, "lock_latency_ns", s->lock_latency_ns);
			fputc('}', f);
		}
		fputc(']', f);
	}
	fputc('}', f);
}

void kt_json_open(FILE *f, const char *type, const char *iso)
{
	fprintf(f, "{\"version\":%d,\"type\":\"%s\",\"time\":\"%s\"",
		KT_JSON_VERSION, type, iso);
}

void kt_render_json(FILE *f, const struct kt_report *r)
{
	char ts[64];
	size_t i;

	kt_fmt_iso(ts, sizeof(ts), &r->wall);
	kt_json_open(f, "top", ts);
	json_u64(f, "interval_ns", r->interval_ns);
	json_u64(f, "page_size_bytes", r->page_size);
	fputs(",\"vms\":[", f);
	for (i = 0; i < r->nr_rows; i++) {
		if (i)
			fputc(',', f);
		json_row(f, &r->rows[i], r->page_size, r->show_slots);
	}
	fputs("],\"totals\":{", f);
	fprintf(f, "\"vms\":%zu", r->nr_vms);
	json_locked(f, r->totals.locked_slots, r->totals.locked_pages,
		    r->totals.rw_pages, r->totals.ro_pages, r->page_size);
	json_ops(f, &r->totals.iv, &r->totals.cum, &r->totals.lat);
	fputc('}', f);
	json_u64(f, "events_received", r->events_received);
	json_u64(f, "events_received_total", r->events_received_total);
	json_u64(f, "events_lost", r->events_lost);
	json_u64(f, "events_lost_total", r->events_lost_total);
	fprintf(f, ",\"reconciled\":{\"seeded\":%" PRIu64 ",\"skipped\":%" PRIu64
		",\"tombstones\":%" PRIu64 "}", r->seeded, r->skipped, r->tombstones);
	json_u64(f, "state_mismatches", r->state_mismatches);
	json_u64(f, "map_update_errors", r->map_update_errors);
	fputs("}\n", f);
	fflush(f);
}
