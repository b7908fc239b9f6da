/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmlock-top --prom-file: a report in the Prometheus text exposition
 * format 0.0.4 (not OpenMetrics: node_exporter's textfile collector reads
 * only the former), and its atomic replacement on disk. The metrics are
 * listed in docs/kvmlock-top.md ("Prometheus").
 */
#ifndef KVMLOCK_PROM_H
#define KVMLOCK_PROM_H

#include <stddef.h>
#include <stdio.h>

#include "report.h"

/*
 * The "le" bounds of kvmlock_host_lock_duration_seconds, in ns: 2^k - 1
 * for k from KT_PROM_LE_FIRST to KT_PROM_LE_LAST (about 16 us to 275 s:
 * the LOCK of one small slot takes tens of microseconds, of hundreds of
 * GiB of 4 KiB pages minutes). Each is the upper bound of a bucket of the
 * log-linear histogram, so the cumulative counts are exact. Per VM, only
 * the sum and count of kvmlock_lock_duration_seconds.
 */
#define KT_PROM_LE_FIRST	14
#define KT_PROM_LE_LAST		38

/*
 * Every live VM (all of them: -r limits only the text and JSON rows) and
 * the host's figures. Counters are cumulative since the tool started; no
 * timestamps. Returns 0, or -ENOMEM (nothing useful was written then).
 */
int kt_render_prom(FILE *f, const struct kt_report *r);

/* A label value escaped as the text format wants it, in buf */
void kt_prom_label_value(char *buf, size_t len, const char *s);

/*
 * Fails early when the directory of path is missing or not writable, or
 * path is a directory, by creating and removing a temporary file there.
 * Returns 0, or -errno with a one-line message in err.
 */
int kt_prom_check(const char *path, char *err, size_t errlen);

/*
 * Renders r into a temporary file beside path (readable by all: the
 * exporter often runs as another user), then rename()s it over path, so
 * a reader sees the old file or the new one, never a part. Returns 0, or
 * -errno with a one-line message in err; no temporary file is left.
 */
int kt_prom_write(const char *path, const struct kt_report *r, char *err,
		  size_t errlen);

/*
 * A failed write is retried at the next interval (the directory being
 * recreated, a full disk freed); this many in a row end the tool.
 */
#define KT_PROM_MAX_FAILURES	5

#endif /* KVMLOCK_PROM_H */
