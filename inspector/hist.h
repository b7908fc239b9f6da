/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmlock-top hist: interval diffs of the BPF side's log2 latency
 * histograms (struct kt_vm_stats lock_us/ms, unlock_us/ms), rendered as
 * biolatency does (print_log2_hist) or as one JSON object. Pure.
 */
#ifndef KVMLOCK_HIST_H
#define KVMLOCK_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "kvmlock/kvmlock-top.h"
#include "report.h"

struct kt_hist_vm {
	uint64_t vm;
	uint32_t pid;
	char comm[KT_COMM_LEN];		/* the caller's to fill; "" unknown */
	uint64_t lock[KT_LOG2_SLOTS];
	uint64_t unlock[KT_LOG2_SLOTS];
};

/*
 * The histograms of cur minus prev (prev: the previous dump, or NULL),
 * in usecs or msecs: one entry per VM with a count in the interval,
 * ordered by vm id; with all, a single entry summing every VM (always
 * there, vm and pid 0). *out is malloc'd. Returns 0 or -ENOMEM.
 */
int kt_hist_build(const struct kt_stats_entry *cur, size_t nr,
		  const struct kt_stats_entry *prev, size_t nr_prev,
		  bool msecs, bool all, struct kt_hist_vm **out, size_t *nr_out);

/* bcc's print_log2_hist() on 64-bit counts: nothing when all are 0 */
void kt_print_log2_hist(FILE *f, const uint64_t *vals, int n, const char *val_type);

/*
 * map_errors: the BPF side's map_update_errors so far; not 0, the counts
 * are low (a map was full), which text says after the histograms.
 */
void kt_hist_render_text(FILE *f, const struct kt_hist_vm *v, size_t n,
			 bool all, bool msecs, uint64_t map_errors);
void kt_hist_render_json(FILE *f, const struct kt_hist_vm *v, size_t n,
			 bool all, bool msecs, const struct timespec *wall,
			 uint64_t map_errors);

#endif /* KVMLOCK_HIST_H */
