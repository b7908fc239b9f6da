/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmlock-top trace: one ring buffer record (struct kt_event) as one text
 * line or one JSON object. Pure: no BPF, no I/O but the FILE written to.
 */
#ifndef KVMLOCK_TRACE_H
#define KVMLOCK_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "kvmlock/kvmlock-top.h"

/* Bits of kvm_memslot_map's prot (enum kvm_pgtable_prot) */
#define KT_PROT_X		1
#define KT_PROT_W		2
#define KT_PROT_R		4

/* Bits of kvm_memslot_deferred_ops' ops */
#define KT_OPS_FIRST_RUN	1
#define KT_OPS_CLEAN_DCACHE	2
#define KT_OPS_INVAL_ICACHE	4
#define KT_OPS_CLEAR_TAGS	8

struct kt_trace_fmt {
	uint64_t mono0_ns;	/* CLOCK_MONOTONIC at start: time 0 */
	struct timespec wall0;	/* CLOCK_REALTIME at that same moment */
	bool wall_clock;	/* -T: ISO 8601 (UTC), not seconds since start */
	bool json;
	uint64_t page_size;	/* account_fail's pages in bytes */
	uint64_t min_latency_ns;	/* --min-latency: 0, every event */
};

/*
 * Whether trace prints e: every event, or with min_latency_ns only the
 * ends of the LOCKs and UNLOCKs that took that long or more.
 */
bool kt_trace_wanted(const struct kt_event *e, const struct kt_trace_fmt *t);

/* "ENOMEM" for -12 (a table of the errnos LOCK/UNLOCK give), else "-N" */
const char *kt_errno_name(int ret, char *buf, size_t len);
const char *kt_event_name(uint32_t type);

/* The event as one line (text, or a JSON object), newline included */
void kt_trace_print(FILE *f, const struct kt_event *e, const struct kt_trace_fmt *t);
/* "LOST n events", or {"event":"lost","count":n} */
void kt_trace_print_lost(FILE *f, uint64_t n, const struct kt_trace_fmt *t);

#endif /* KVMLOCK_TRACE_H */
