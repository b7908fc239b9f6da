/* SPDX-License-Identifier: GPL-2.0 */
/* kvmlock-top's command line (argp) */
#ifndef KVMLOCK_OPTIONS_H
#define KVMLOCK_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmlock/kvmlock-top.h"

#define KT_VERSION "0.1"
#define KT_PIN_DIR "/sys/fs/bpf/kvmlock"	/* --pin's default directory */

enum kt_sort {
	KT_SORT_PAGES,		/* locked pages, largest first (default) */
	KT_SORT_SLOTS,		/* locked memslots */
	KT_SORT_MEMLOCK,	/* the VMM's VmLck */
	KT_SORT_PCT,		/* VmLck / RLIMIT_MEMLOCK */
	KT_SORT_LOCKS,		/* LOCKs in the interval */
	KT_SORT_FAILS,		/* failed LOCKs since start (refusals among them) */
	KT_SORT_LAT,		/* p99 lock latency of the interval */
	KT_SORT_PID,		/* VMM pid, ascending */
	KT_SORT_VM,		/* VM id, ascending */
};

/* The first word of the command line: kvmlock-top [top|trace|hist|check] ... */
enum kt_mode {
	KT_MODE_TOP,		/* per-VM table each interval (default) */
	KT_MODE_TRACE,		/* one line per event */
	KT_MODE_HIST,		/* log2 latency histograms */
	KT_MODE_CHECK,		/* what the host has and lacks for the others */
};

struct kt_opts {
	enum kt_mode mode;
	uint64_t interval_s;		/* >= 1; hist: 0 means once, at the end */
	uint64_t count;			/* intervals; 0: until a signal */
	uint32_t pids[KT_MAX_PIDS];
	uint32_t nr_pids;
	enum kt_sort sort;
	uint64_t rows;			/* 0: all */
	uint64_t ringbuf_size;		/* bytes */
	const char *prom_file;		/* --prom-file: argv's string, or NULL */
	bool slots;			/* -S */
	bool batch;			/* -b */
	bool json;			/* -j */
	bool verbose;			/* -v */
	bool wall_clock;		/* trace, hist -T: ISO 8601 timestamps */
	uint64_t duration_s;		/* trace -d: 0 until a signal */
	uint64_t min_latency_ns;	/* trace --min-latency: 0, every event */
	bool all_vms;			/* hist -A: one histogram for all VMs */
	bool msecs;			/* hist -m: msecs, not usecs */
	bool pin;			/* --pin (or --keep-pinned, --pin-dir) */
	bool keep_pinned;		/* --keep-pinned: not unpinned at exit */
	const char *pin_dir;		/* KT_PIN_DIR, or --pin-dir's argv string */
	bool done;			/* --help, --usage, --version printed */
	char err[256];			/* the message of a parse error */
};

extern const char *kt_sort_names[];

/*
 * Parses argv into o (defaults first). Returns 0, or non-zero with o->err
 * set to one line. --help, --usage and --version print to stdout and set
 * o->done. argp_flags are added to argp_parse()'s.
 */
int kt_parse_args(int argc, char **argv, struct kt_opts *o, unsigned int argp_flags);
bool kt_pid_wanted(const struct kt_opts *o, uint32_t pid);

#endif /* KVMLOCK_OPTIONS_H */
