/* SPDX-License-Identifier: GPL-2.0 */
/* Timing helpers of the memslot lock workload and benchmark. */
#ifndef KVMLOCK_TIMING_H
#define KVMLOCK_TIMING_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static inline int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The nearest-rank @pct percentile of the @n values of @v, which it sorts. */
static inline uint64_t percentile(uint64_t *v, unsigned int n, unsigned int pct)
{
	unsigned int rank = (pct * n + 99) / 100;

	qsort(v, n, sizeof(*v), cmp_u64);
	return v[(rank ? rank : 1) - 1];
}

#endif
