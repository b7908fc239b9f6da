/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmlock-top's pure part: from what the maps and the kernel state hold at
 * the end of an interval, the per-VM rows and totals (interval diffs,
 * percentiles), sorted and rendered as text or NDJSON. No BPF, no I/O but
 * the FILE it renders to, so the host unit tests drive it with fixtures.
 */
#ifndef KVMLOCK_REPORT_H
#define KVMLOCK_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "kvmlock/kvmlock-top.h"
#include "options.h"

/* The VMM process, from /proc/<pid>/{comm,status,limits} */
struct kt_proc {
	bool known;			/* /proc/<pid> was there */
	char comm[KT_COMM_LEN];
	bool vmlck_known;
	uint64_t vmlck_bytes;		/* VmLck */
	bool limit_known;
	bool limit_unlimited;
	uint64_t limit_bytes;		/* RLIMIT_MEMLOCK, soft */
};

/* A live VM: a directory of /sys/kernel/debug/kvm with locked_memslots */
/*
 * Who a VMM is beyond its comm, read once with its process when its VM
 * is new: QEMU's -name (the guest's name), and its cgroup (v2; else v1's
 * systemd hierarchy), which names the VM's unit under libvirt or systemd.
 * "" when unknown.
 */
struct kt_vmm_id {
	char name[64];
	char cgroup[256];
};

struct kt_live_vm {
	uint64_t vm;
	uint32_t pid;
	struct kt_proc proc;
	struct kt_vmm_id id;
	bool kstat_known;		/* locked_slots, locked_pages read */
	uint64_t kstat_locked_slots;
	uint64_t kstat_locked_pages;
};

/* One entry of the "slots" map */
struct kt_slot_entry {
	struct kt_slot_key key;
	struct kt_slot val;
};

/* One entry of the "vm_stats" map */
struct kt_stats_entry {
	uint64_t vm;
	struct kt_vm_stats s;
};

/* What one interval read: the maps, then the live VMs */
struct kt_sample {
	struct kt_stats_entry *stats;
	size_t nr_stats;
	struct kt_slot_entry *slots;
	size_t nr_slots;
	struct kt_live_vm *vms;
	size_t nr_vms;
	/*
	 * VM directories that could not be read this time: their VMs are
	 * not in vms, yet alive, so no VM of the maps is taken for gone.
	 */
	size_t nr_vms_left_out;
	uint64_t now_ns;		/* CLOCK_MONOTONIC, after the reads */
	struct timespec wall;		/* CLOCK_REALTIME, same moment */
	uint64_t interval_ns;		/* since the previous sample */
	uint64_t events_received;	/* this interval */
	uint64_t events_seen_total;	/* the BPF counters */
	uint64_t events_lost_total;
	uint64_t tombstones;		/* the BPF counter */
	uint64_t map_update_errors;	/* the BPF counter */
};

/* Operation counters: cumulative, or over an interval */
struct kt_agg {
	uint64_t locks_ok;
	uint64_t locks_failed;
	uint64_t unlocks;
	uint64_t unlocks_failed;
	uint64_t account_failures;
	uint64_t deferred_ops;
	uint64_t lat_max_ns;
	uint64_t lat_sum_ns;		/* successful locks' durations */
	uint64_t lat_hist[KT_HIST_BUCKETS];
};

struct kt_lat {
	bool valid;			/* a successful lock in the interval */
	uint64_t p50_ns, p99_ns, max_ns;
};

struct kt_slot_row {
	uint32_t slot;
	bool noaddr;			/* hva/ipa unknown (see KT_SLOT_F_NOADDR) */
	bool rw;
	uint64_t ipa_start, ipa_end, hva;
	uint64_t npages, bytes;
	uint64_t locked_for_ns;
	uint64_t lock_latency_ns;
};

struct kt_vm_row {
	uint64_t vm;
	uint32_t pid;
	struct kt_proc proc;
	struct kt_vmm_id id;
	uint64_t locked_slots, locked_pages, rw_pages, ro_pages;
	bool pct_valid;
	double pct;			/* VmLck / RLIMIT_MEMLOCK */
	/*
	 * The interval, since start (exported: never reset) and since the
	 * screen's z (shown on the screen; since start without one).
	 */
	struct kt_agg iv, cum, shown;
	struct kt_lat lat;
	bool acct_seen;
	uint64_t acct_locked_vm_pages, acct_limit_pages;
	bool age_valid;
	uint64_t age_ns;
	bool mismatch;			/* the kernel's locked_slots/pages differ */
	struct kt_slot_row *slots;
	size_t nr_slots;
};

struct kt_report {
	struct timespec wall;
	uint64_t interval_ns;
	uint64_t page_size;
	struct kt_vm_row *rows;		/* sorted, at most -r of them */
	size_t nr_rows;
	size_t nr_vms;			/* live VMs shown or not */
	struct {
		uint64_t locked_slots, locked_pages, rw_pages, ro_pages;
		struct kt_agg iv, cum, shown;	/* with VMs that exited */
		struct kt_lat lat;
	} totals;
	uint64_t events_received, events_received_total;
	uint64_t events_lost, events_lost_total;
	uint64_t seeded, skipped, tombstones;
	uint64_t state_mismatches;	/* VMs of this interval */
	uint64_t map_update_errors;
	uint64_t prom_write_failures;	/* --prom-file writes failed so far */
	bool show_slots;
};

/* Reconciliation at start-up (bpfstate.c counts it) */
struct kt_reconciled {
	uint64_t seeded;		/* slots inserted from the kernel state */
	uint64_t skipped;		/* an entry (events after attach) existed */
};

/* What the engine remembers between intervals */
struct kt_history {
	struct kt_stats_entry *prev;	/* the previous interval's dump */
	size_t nr_prev;
	struct kt_agg departed;		/* VMs gone: their last cumulative */
	struct kt_agg departed_shown;	/* the same since the last z */
	uint64_t events_received_total;
	uint64_t events_lost_prev;
	struct kt_reconciled rec;
	/*
	 * The counters at the last kt_history_reset(): the "shown" figures
	 * are counted from them (none: from the BPF maps' zero).
	 */
	struct kt_stats_entry *base;
	size_t nr_base;
};

/* Histogram */
uint64_t kt_hist_upper(uint32_t bucket);
uint64_t kt_hist_lower(uint32_t bucket);
void kt_lat_from_hist(const uint64_t *hist, uint64_t max_ns, struct kt_lat *lat);

/* vm's entry among e (n of them), or NULL */
const struct kt_vm_stats *kt_find_stats(const struct kt_stats_entry *e, size_t n,
				       uint64_t vm);

/* Counters */
void kt_agg_from_stats(struct kt_agg *a, const struct kt_vm_stats *s);
void kt_agg_interval(struct kt_agg *iv, const struct kt_vm_stats *cur,
		     const struct kt_vm_stats *prev);
void kt_agg_add(struct kt_agg *sum, const struct kt_agg *a);

/*
 * One interval: rows of the live VMs (not filtered out by the pids of o),
 * sorted and limited as o says, and totals. Updates h (previous snapshot,
 * VMs gone). The vm ids of VMs in the sample's maps that are not live any
 * more are stored in *gone (malloc'd, *nr_gone of them): the caller
 * deletes their map entries. With VMs left out of the sample, none is
 * gone: a VM of the maps not live is counted in the totals and kept.
 * Returns 0 or -ENOMEM.
 */
int kt_build_report(struct kt_history *h, const struct kt_sample *smp,
		    const struct kt_opts *o, uint64_t page_size,
		    struct kt_report *r, uint64_t **gone, size_t *nr_gone);
void kt_report_free(struct kt_report *r);
void kt_history_free(struct kt_history *h);
/*
 * The screen's z: stats (a dump of vm_stats made now) becomes both the
 * previous interval's dump and the base of the "shown" counters, which
 * start from zero again. The exported counters ("cum", the events
 * received and lost) keep counting since start: a Prometheus counter
 * never goes down while the tool runs. events_lost_total: the BPF counter
 * now. Returns 0 or -ENOMEM (h as it was).
 */
int kt_history_reset(struct kt_history *h, const struct kt_stats_entry *stats,
		     size_t nr, uint64_t events_lost_total);

/*
 * The VMs kt_build_report() found gone, as their entries were deleted
 * (last, nr of them, in the order of gone): what they counted after the
 * sample's dump (smp, the one given to kt_build_report()) joins the
 * departed totals, so the next report has it. Events that land between
 * a sample's dump and the deletion are not lost.
 */
void kt_history_add_late(struct kt_history *h, const struct kt_sample *smp,
			 const uint64_t *gone, const struct kt_vm_stats *last, size_t nr);

void kt_sort_rows(struct kt_vm_row *rows, size_t n, enum kt_sort key);

void kt_render_text(FILE *f, const struct kt_report *r);
/* Text mode's conditional lines: events lost, start-up, mismatches, maps full */
void kt_render_notes(FILE *f, const struct kt_report *r);

/* A VM row's memory columns as the text report shows them ("-": unknown) */
struct kt_row_text {
	char vm[24];			/* "*" first when the kernel's counts differ */
	char pid[16];
	char vmlck[16];
	char limit[16];			/* "unlim" when unlimited */
	char pct[16];
};
void kt_row_text(const struct kt_vm_row *row, struct kt_row_text *t);
/* A slot table row (76 characters), vm its first column */
void kt_fmt_slot(char *buf, size_t len, const char *vm, const struct kt_slot_row *s);
void kt_render_json(FILE *f, const struct kt_report *r);
/* s as a JSON string, quoted and escaped */
void kt_json_str(FILE *f, const char *s);
/*
 * Every JSON object of every mode opens the same way: the schema's
 * version, the object's type ("top", "event", "lost", "hist") and its
 * time (ISO 8601, UTC: iso). What follows is the type's.
 */
#define KT_JSON_VERSION 1
void kt_json_open(FILE *f, const char *type, const char *iso);
/* Length of the valid UTF-8 sequence at p (not ASCII), 0 if invalid */
size_t kt_utf8_len(const unsigned char *p);
/*
 * The first len bytes of s, in place: any byte a terminal or a line
 * parser could act on (control, not ASCII) becomes '?'. A comm is any
 * bytes (PR_SET_NAME).
 */
void kt_printable(char *s, size_t len);
/* comm for the text outputs, at most len - 1 bytes, kt_printable() */
void kt_text_comm(char *buf, size_t len, const char *comm);

/* "1.5G", "768K", "12.3ms": at most 6 characters */
void kt_fmt_bytes(char *buf, size_t len, uint64_t bytes);
void kt_fmt_ns(char *buf, size_t len, uint64_t ns);
/* "2026-12-01T00:00:00.123Z" */
void kt_fmt_iso(char *buf, size_t len, const struct timespec *ts);

#endif /* KVMLOCK_REPORT_H */
