// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlock-top: per-VM locked memslots, memlock and lock latency, live.
 *
 * Attach first, then read the kernel state and reconcile it into the BPF
 * slot map (see reconcile()), then every interval: drain the ring buffer,
 * dump the maps, list the live VMs, print, and forget VMs that are gone.
 * On a terminal, top is an ncurses screen (screen.c) that keys change.
 */
#include <argp.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpfstate.h"
#include "hist.h"
#include "kstate.h"
#include "kvmlock-top.skel.h"
#include "options.h"
#include "prom.h"
#include "report.h"
#include "screen.h"
#include "syscheck.h"
#include "trace.h"

static volatile sig_atomic_t exiting;
static bool verbose;
/* The BPF side's events_seen at the last interval's end (or z) */
static uint64_t events_seen_prev;
/* The VM directories of the last sample (take_sample, hist_prune) */
static struct kt_vm_dirs vm_dirs;


/* A fatal error while the screen is up: printed once it is gone */
static char fatal_msg[PATH_MAX + 256];

static void die_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (kt_screen_active()) {
		/* the first one: what follows is its consequence */
		if (!fatal_msg[0])
			vsnprintf(fatal_msg, sizeof(fatal_msg), fmt, ap);
	} else {
		fputs("kvmlock-top: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

/* A warning: on the screen's status line (st), else one line on stderr */
__attribute__((format(printf, 2, 3)))
static void warn_msg(struct kt_screen_state *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (st) {
		vsnprintf(st->status, sizeof(st->status), fmt, ap);
	} else {
		fputs("kvmlock-top: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

/*
 * After each report or batch of events. A reader gone (EPIPE, SIGPIPE
 * being ignored: "kvmlock-top -b | head") ends the tool as a signal
 * does, exit 0 and pins removed; any other write error is fatal.
 */
static int flush_output(void)
{
	int err;

	/* a renderer's own fflush() may have failed first: its errno stands */
	if (!ferror(stdout)) {
		errno = 0;
		if (!fflush(stdout) && !ferror(stdout))
			return 0;
	}
	err = errno ? errno : EIO;
	if (err == EPIPE) {
		exiting = 1;
		return 0;
	}
	die_msg("cannot write the output: %s", strerror(err));
	return -err;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	/* it would be written over the screen, and the screen over it */
	if (kt_screen_active())
		return 0;
	return vfprintf(stderr, fmt, args);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * What the mode needs of the host, before anything is loaded: the first
 * thing missing is the one line of its refusal. Not the kernel's BTF: the
 * programs are raw tracepoints without CO-RE relocations; BTF only finds
 * the events when tracefs cannot, and checks their arguments.
 */
static int check_system(enum kt_mode mode)
{
	struct kt_check checks[KT_NR_CHECKS];
	const struct kt_check *blocker;

	kt_probe_system(checks, false);
	blocker = kt_check_blocker(checks, mode);
	if (!blocker)
		return 0;
	die_msg("%s", blocker->text);
	return -1;
}

/* kvmlock-top check: every check, the programs loaded too */
static int run_check(const struct kt_opts *o)
{
	struct kt_check checks[KT_NR_CHECKS];
	struct timespec wall;
	int ret;

	kt_probe_system(checks, true);
	clock_gettime(CLOCK_REALTIME, &wall);
	ret = kt_render_checks(stdout, checks, o->json, &wall);
	if (flush_output())
		return 1;
	return ret;
}

/* top and hist: nothing is streamed (stream_events is off) */
static int on_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	return 0;
}

/* trace: one line per event, as it arrives */
static int on_trace_event(void *ctx, void *data, size_t size)
{
	if (size < sizeof(struct kt_event) || !kt_trace_wanted(data, ctx))
		return 0;
	kt_trace_print(stdout, data, ctx);
	return 0;
}

/*
 * trace's loop: print what the ring buffer brings, and after each poll
 * whatever the BPF side could not reserve since the last one, in the
 * stream where it happened.
 */
static int run_trace(struct kvmlock_top_bpf *skel, struct ring_buffer *rb,
		     const struct kt_opts *o, const struct kt_trace_fmt *t)
{
	uint64_t end = o->duration_s ? mono_ns() + o->duration_s * 1000000000ULL
				     : UINT64_MAX;
	uint64_t lost, lost_seen = 0, now;
	bool last = false;
	int err;

	while (!last) {
		now = mono_ns();
		/* one more round after the end, to drain and count the rest */
		last = exiting || now >= end;
		if (last) {
			err = ring_buffer__consume(rb);
		} else {
			uint64_t ms = (end - now + 999999) / 1000000;

			err = ring_buffer__poll(rb, ms > 100 ? 100 : (int)ms);
		}
		if (err < 0 && err != -EINTR) {
			die_msg("reading the ring buffer: %s", strerror(-err));
			return err;
		}
		lost = __atomic_load_n(&skel->bss->events_lost, __ATOMIC_RELAXED);
		if (lost > lost_seen) {
			kt_trace_print_lost(stdout, lost - lost_seen, t);
			lost_seen = lost;
		}
		err = flush_output();
		if (err)
			return err;
	}
	return 0;
}

/*
 * Late start, exact. The programs are attached already; now read every
 * VM's locked_memslots and insert each listed slot as LIVE with
 * BPF_NOEXIST, i.e. only where "slots" has no entry for {vm, slot}.
 * A lock or unlock racing with start-up is, relative to attach (A) and
 * the snapshot (S):
 *  - done before A: no event; S lists the slot iff it is locked: seeded.
 *  - lock after A, done before S: a LIVE entry, S lists it: EEXIST, the
 *    event's entry stays (skipped).
 *  - lock after A, finishing after S: S does not list it; the PENDING
 *    entry turns LIVE at lock_end, or goes when the lock fails.
 *  - lock straddling A (pin/map before it): lock_end makes a LIVE entry
 *    without addresses (KT_SLOT_F_NOADDR); S lists it or not: skipped.
 *  - unlock after A of a slot locked before A: no entry, so the unlock
 *    leaves a TOMBSTONE; whether S saw it locked or not, the insert finds
 *    the tombstone and does nothing.
 *  - lock and unlock after A, S seeing it locked: until reconcile_done
 *    the unlock leaves a TOMBSTONE (not a deletion), so the stale S
 *    cannot bring the slot back.
 *  - unlock after S: the seeded entry is deleted or tombstoned.
 * Tombstones live until their VM goes. VMs created after A have every
 * event. Only then does reconcile_done let unlocks delete entries.
 */
static int reconcile(struct kvmlock_top_bpf *skel, const struct kt_opts *o,
		     struct kt_reconciled *rec)
{
	struct kt_kvm *vms;
	size_t nr, i;
	char err[400];
	int ret;

	ret = kt_list_vms(KT_DEBUGFS_KVM, &vms, &nr, err, sizeof(err));
	if (ret) {
		die_msg("%s", err);
		return ret;
	}
	for (i = 0; i < nr; i++)
		vms[i].tgid = kt_proc_tgid(KT_PROC, vms[i].pid);
	ret = kt_reconcile(bpf_map__fd(skel->maps.slots), vms, nr, o, rec);
	kt_free_vms(vms, nr);
	if (ret) {
		die_msg("cannot seed the slots map: %s", strerror(-ret));
		return ret;
	}
	__atomic_store_n(&skel->bss->reconcile_done, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static void free_sample(struct kt_sample *s)
{
	free(s->stats);
	free(s->slots);
	free(s->vms);
	memset(s, 0, sizeof(*s));
}

/*
 * Maps first, then the live VMs: a VM created in between is not deleted.
 * dirs: the VM directories of the previous sample, whose files are not
 * read again. A VM whose file does not parse is left out of this sample,
 * with a warning (st: on the screen), and read again at the next.
 */
static int take_sample(struct kvmlock_top_bpf *skel, struct kt_vm_dirs *dirs,
		       struct kt_sample *s, struct kt_screen_state *st)
{
	size_t nr, i;
	char err[400];
	int ret;

	ret = kt_dump_stats(bpf_map__fd(skel->maps.vm_stats), &s->stats, &s->nr_stats);
	if (!ret)
		ret = kt_dump_slots(bpf_map__fd(skel->maps.slots), &s->slots, &s->nr_slots);
	if (ret) {
		die_msg("cannot read the BPF maps: %s", strerror(-ret));
		return ret;
	}
	ret = kt_live_vms(KT_DEBUGFS_KVM, KT_PROC, dirs, err, sizeof(err));
	if (ret < 0) {
		die_msg("%s", err);
		return ret;
	}
	if (ret)
		warn_msg(st, "warning: %s: %d VM(s) left out of this report", err, ret);
	s->nr_vms_left_out = ret;
	nr = dirs->n;
	s->vms = calloc(nr ? nr : 1, sizeof(*s->vms));
	if (!s->vms) {
		die_msg("out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < nr; i++) {
		struct kt_live_vm *v = &s->vms[i];

		v->vm = dirs->d[i].vm;
		v->pid = dirs->d[i].tgid;
		kt_read_proc(KT_PROC, v->pid, dirs->d[i].start, &v->proc);
		v->id = dirs->d[i].id;
		v->kstat_known = !kt_read_kstats(KT_DEBUGFS_KVM, dirs->d[i].dir,
						 &v->kstat_locked_slots,
						 &v->kstat_locked_pages);
		/*
		 * An operation that ended between the dump and that read would
		 * show as a mismatch for this report: not compared then.
		 */
		if (v->kstat_known &&
		    kt_vm_changed(bpf_map__fd(skel->maps.vm_stats), v->vm,
				  kt_find_stats(s->stats, s->nr_stats, v->vm)))
			v->kstat_known = false;
	}
	s->nr_vms = nr;
	s->now_ns = mono_ns();
	clock_gettime(CLOCK_REALTIME, &s->wall);
	s->events_seen_total = __atomic_load_n(&skel->bss->events_seen, __ATOMIC_RELAXED);
	s->events_lost_total = __atomic_load_n(&skel->bss->events_lost, __ATOMIC_RELAXED);
	s->tombstones = __atomic_load_n(&skel->bss->tombstones, __ATOMIC_RELAXED);
	s->map_update_errors = __atomic_load_n(&skel->bss->map_update_errors,
					       __ATOMIC_RELAXED);
	return 0;
}

/* Drains the ring buffer until the deadline; signals end it early */
static int wait_interval(struct ring_buffer *rb, uint64_t deadline)
{
	uint64_t now;
	int err;

	while (!exiting && (now = mono_ns()) < deadline) {
		uint64_t ms = (deadline - now + 999999) / 1000000;

		err = ring_buffer__poll(rb, ms > 200 ? 200 : (int)ms);
		if (err < 0 && err != -EINTR) {
			die_msg("reading the ring buffer: %s", strerror(-err));
			return err;
		}
	}
	err = ring_buffer__consume(rb);
	return err < 0 && err != -EINTR ? err : 0;
}

/*
 * hist: the VMs of a dump of vm_stats that debugfs does not list any more
 * are deleted from the maps, so that VMs gone do not fill them; their
 * last counts stay in the dump, for the interval under way. Without
 * debugfs (not root) hist cannot tell, and says so once: returns false,
 * and VMs gone stay (the map holds KT_MAX_VMS).
 */
static bool hist_prune(struct kvmlock_top_bpf *skel, struct kt_stats_entry *cur,
		       size_t nr)
{
	uint64_t *live;
	char err[400];
	size_t i;
	int ret;

	ret = kt_live_vms(KT_DEBUGFS_KVM, KT_PROC, &vm_dirs, err, sizeof(err));
	if (ret < 0) {
		warn_msg(NULL, "warning: %s: VMs gone stay in the map (%d at most)",
			 err, KT_MAX_VMS);
		return false;
	}
	if (ret)	/* a VM left out: none can be taken for gone */
		return true;
	live = calloc(vm_dirs.n ? vm_dirs.n : 1, sizeof(*live));
	if (!live) {
		warn_msg(NULL, "warning: out of memory: VMs gone not forgotten this time");
		return true;
	}
	for (i = 0; i < vm_dirs.n; i++)
		live[i] = vm_dirs.d[i].vm;
	ret = kt_prune_vms(bpf_map__fd(skel->maps.vm_stats), bpf_map__fd(skel->maps.slots),
			   cur, nr, live, vm_dirs.n);
	if (ret < 0)
		warn_msg(NULL, "warning: cannot forget a VM gone: %s", strerror(-ret));
	free(live);
	return true;
}

/*
 * hist: the VMM of VM vm, whose events name thread pid: its process (and
 * start time, *start), as debugfs's directory of the VM made it known,
 * else as /proc has it now (*start 0: not checked).
 */
static uint32_t vmm_of(uint64_t vm, uint32_t pid, uint64_t *start)
{
	uint32_t tgid;
	size_t i;

	for (i = 0; i < vm_dirs.n; i++)
		if (vm_dirs.d[i].vm == vm) {
			*start = vm_dirs.d[i].start;
			return vm_dirs.d[i].tgid;
		}
	*start = 0;
	tgid = kt_proc_tgid(KT_PROC, pid);
	return tgid ? tgid : pid;
}

/*
 * hist's loop: at the end of each interval (or only at Ctrl-C) dump
 * vm_stats and print its histograms minus the previous dump's: the BPF
 * counters are never reset. VMs gone are deleted after their last
 * interval (hist_prune).
 */
static int run_hist(struct kvmlock_top_bpf *skel, struct ring_buffer *rb,
		    const struct kt_opts *o)
{
	struct kt_stats_entry *prev = NULL, *cur = NULL;
	size_t nr_prev = 0, nr = 0, nv, i;
	struct kt_hist_vm *v = NULL;
	uint64_t last = mono_ns(), n, map_errors;
	struct timespec wall;
	bool prune = true;
	int err = 0;

	if (!o->json) {
		printf("Tracing lock and unlock latency... Hit Ctrl-C to end.\n");
		fflush(stdout);
	}
	for (n = 0; !o->count || n < o->count; n++) {
		err = wait_interval(rb, o->interval_s ?
				    last + o->interval_s * 1000000000ULL : UINT64_MAX / 2);
		if (err)
			break;
		last = mono_ns();
		clock_gettime(CLOCK_REALTIME, &wall);
		err = kt_dump_stats(bpf_map__fd(skel->maps.vm_stats), &cur, &nr);
		if (err) {
			die_msg("cannot read the BPF maps: %s", strerror(-err));
			break;
		}
		if (prune)
			prune = hist_prune(skel, cur, nr);
		map_errors = __atomic_load_n(&skel->bss->map_update_errors, __ATOMIC_RELAXED);
		err = kt_hist_build(cur, nr, prev, nr_prev, o->msecs, o->all_vms, &v, &nv);
		if (err) {
			die_msg("out of memory");
			break;
		}
		for (i = 0; !o->all_vms && i < nv; i++) {
			struct kt_proc p = {};
			uint64_t start;

			v[i].pid = vmm_of(v[i].vm, v[i].pid, &start);
			kt_read_proc(KT_PROC, v[i].pid, start, &p);
			if (p.known)
				memcpy(v[i].comm, p.comm, sizeof(v[i].comm));
		}
		if (o->json) {
			kt_hist_render_json(stdout, v, nv, o->all_vms, o->msecs, &wall,
					    map_errors);
		} else {
			if (o->wall_clock) {
				char ts[64];

				kt_fmt_iso(ts, sizeof(ts), &wall);
				printf("\n%s\n", ts);
			}
			kt_hist_render_text(stdout, v, nv, o->all_vms, o->msecs,
					    map_errors);
		}
		err = flush_output();
		free(v);
		v = NULL;
		free(prev);
		prev = cur, nr_prev = nr;
		cur = NULL;
		if (err || exiting)
			break;
	}
	free(cur);
	free(prev);
	return err;
}

/*
 * The interactive wait: the ring buffer and the keyboard together, until
 * the deadline, a signal or a key (*key, else KT_SCREEN_NO_KEY).
 */
static int wait_key(struct ring_buffer *rb, uint64_t deadline, int *key)
{
	struct pollfd fds[2] = {
		{ .fd = ring_buffer__epoll_fd(rb), .events = POLLIN },
		{ .fd = STDIN_FILENO, .events = POLLIN },
	};
	uint64_t now;
	int err;

	/* first the keys curses has read already: poll() cannot see them */
	while ((*key = kt_screen_read_key()) == KT_SCREEN_NO_KEY &&
	       !exiting && (now = mono_ns()) < deadline) {
		uint64_t ms = (deadline - now + 999999) / 1000000;

		/* a signal (SIGWINCH too: a KEY_RESIZE then) ends it early */
		if (poll(fds, 2, ms > 200 ? 200 : (int)ms) < 0 && errno != EINTR) {
			err = -errno;
			die_msg("waiting for events and keys: %s", strerror(-err));
			return err;
		}
		if (fds[1].revents & (POLLHUP | POLLERR | POLLNVAL))
			exiting = 1;	/* the terminal is gone */
		if (fds[0].revents & POLLIN) {
			err = ring_buffer__consume(rb);
			if (err < 0 && err != -EINTR) {
				die_msg("reading the ring buffer: %s", strerror(-err));
				return err;
			}
		}
	}
	err = ring_buffer__consume(rb);
	return err < 0 && err != -EINTR ? err : 0;
}

/* What st says about r (NULL: none yet), on the screen at its size now */
static int show(struct kt_report *r, const struct kt_screen_state *st)
{
	struct kt_screen_lines l;
	int cols, rows;

	kt_screen_size(&cols, &rows);
	if (kt_screen_lines(r, st, cols, rows, &l)) {
		die_msg("out of memory");
		return -ENOMEM;
	}
	kt_screen_draw(&l);
	kt_screen_lines_free(&l);
	return 0;
}

/* z: the totals count from now, and the interval under way restarts */
static int zero_counters(struct kvmlock_top_bpf *skel, struct kt_history *h,
			 uint64_t *last)
{
	struct kt_stats_entry *stats = NULL;
	size_t nr = 0;
	int err;

	err = kt_dump_stats(bpf_map__fd(skel->maps.vm_stats), &stats, &nr);
	if (!err)
		err = kt_history_reset(h, stats, nr,
				       __atomic_load_n(&skel->bss->events_lost,
						       __ATOMIC_RELAXED));
	free(stats);
	if (err) {
		die_msg("cannot zero the counters: %s", strerror(-err));
		return err;
	}
	events_seen_prev = __atomic_load_n(&skel->bss->events_seen, __ATOMIC_RELAXED);
	*last = mono_ns();
	return 0;
}

/*
 * A VM whose locked slots and pages differ from the kernel's in this many
 * reports in a row (each taken while the VM had no operation) lost an
 * event for good: its slots are read anew from the kernel.
 */
#define KT_RESEED_AFTER 3

/*
 * Counts each live VM's reports in a row with a mismatch (rows: every
 * live VM of the report) and reseeds those at KT_RESEED_AFTER, each
 * when it had no event from the sample's dump (smp) to the reseed's end
 * (else it waits for the next report). Says so as a warning.
 */
static void reseed_mismatched(struct kvmlock_top_bpf *skel, const struct kt_sample *smp,
			      const struct kt_vm_row *rows, size_t nr,
			      struct kt_screen_state *st)
{
	int stats_fd = bpf_map__fd(skel->maps.vm_stats);
	const struct kt_vm_stats *dumped;
	struct kt_vm_dir *d;
	char err[400];
	struct kt_kvm k;
	size_t i, j;
	int ret;

	for (i = 0; i < vm_dirs.n; i++) {
		d = &vm_dirs.d[i];
		for (j = 0; j < nr && rows[j].vm != d->vm; j++)
			;
		if (j == nr || !rows[j].mismatch) {
			d->mismatches = 0;
			continue;
		}
		if (++d->mismatches < KT_RESEED_AFTER)
			continue;
		dumped = kt_find_stats(smp->stats, smp->nr_stats, d->vm);
		if (kt_vm_changed(stats_fd, d->vm, dumped))
			continue;
		ret = kt_read_vm(KT_DEBUGFS_KVM, d->dir, &k, err, sizeof(err));
		if (!ret) {
			ret = kt_reseed_vm(bpf_map__fd(skel->maps.slots), &k);
			free(k.slots);
			if (!ret && kt_vm_changed(stats_fd, d->vm, dumped))
				continue;	/* raced: again at the next report */
		}
		if (ret) {
			warn_msg(st, "warning: VM %" PRIu64 ": cannot read its state anew: %s",
				 d->vm, ret == -ENOENT || ret == -EINVAL ? err : strerror(-ret));
			continue;
		}
		warn_msg(st, "warning: VM %" PRIu64 ": its locked slots differed from the kernel's in %u reports in a row: read anew from the kernel",
			 d->vm, d->mismatches);
		d->mismatches = 0;
	}
}

/*
 * One interval's end: sample, build *rep (the previous one freed only
 * now: the screen redraws it until then), forget the VMs gone. A warning
 * goes to the screen's status when there is one (st), else to stderr.
 */
static int end_interval(struct kvmlock_top_bpf *skel, const struct kt_opts *o,
			struct kt_history *hist, uint64_t page_size, uint64_t *last,
			struct kt_report *rep, struct kt_screen_state *st)
{
	struct kt_vm_stats *final = NULL;
	struct kt_sample smp = {};
	struct kt_report next;
	uint64_t *gone;
	size_t nr_gone;
	int err;

	err = take_sample(skel, &vm_dirs, &smp, st);
	if (err) {
		free_sample(&smp);
		return err;
	}
	smp.interval_ns = smp.now_ns - *last;
	smp.events_received = smp.events_seen_total - events_seen_prev;
	events_seen_prev = smp.events_seen_total;
	*last = smp.now_ns;
	err = kt_build_report(hist, &smp, o, page_size, &next, &gone, &nr_gone);
	if (!err && nr_gone && !(final = calloc(nr_gone, sizeof(*final))))
		err = -ENOMEM;
	if (err) {
		kt_report_free(&next);
		free(gone);
		free_sample(&smp);
		die_msg("out of memory");
		return err;
	}
	kt_report_free(rep);
	*rep = next;
	reseed_mismatched(skel, &smp, rep->rows, rep->nr_vms, st);
	/*
	 * Their figures of the dump are in the totals now; what they counted
	 * since (a last unlock) comes with the deletion, for the next report.
	 */
	if (kt_delete_vms(bpf_map__fd(skel->maps.vm_stats),
			  bpf_map__fd(skel->maps.slots), gone, nr_gone, final))
		warn_msg(st, "warning: cannot forget a VM gone");
	else
		kt_history_add_late(hist, &smp, gone, final, nr_gone);
	free(final);
	free(gone);
	free_sample(&smp);
	return 0;
}

/*
 * --prom-file after a report: a failure is a warning and a retry at the
 * next interval (the file's failure counter says how many), until
 * KT_PROM_MAX_FAILURES in a row end the tool. *in_row: the failures in a
 * row so far, *failures: all of them.
 */
static int write_prom(const char *path, struct kt_report *rep, struct kt_screen_state *st,
		      unsigned int *in_row, uint64_t *failures)
{
	char perr[PATH_MAX + 200];

	rep->prom_write_failures = *failures;
	if (!kt_prom_write(path, rep, perr, sizeof(perr))) {
		*in_row = 0;
		return 0;
	}
	++*failures;
	if (++*in_row >= KT_PROM_MAX_FAILURES) {
		die_msg("%s (%u times in a row)", perr, *in_row);
		return -EIO;
	}
	/* the count first: the screen's status line keeps 80 columns */
	warn_msg(st, "warning: --prom-file write failed, %u in a row (%u end it): %s",
		 *in_row, KT_PROM_MAX_FAILURES, perr);
	return 0;
}

/* A key on the screen: 1 to quit, 0, or a negative errno */
static int on_key(struct kvmlock_top_bpf *skel, struct kt_history *hist,
		  struct kt_screen_state *st, int key, struct kt_report *rep,
		  uint64_t *last)
{
	int err;

	switch (kt_screen_key(st, key)) {
	case KT_SCREEN_QUIT:
		return 1;
	case KT_SCREEN_ZERO:
		err = zero_counters(skel, hist, last);
		if (err)
			return err;
		/* fallthrough */
	case KT_SCREEN_REDRAW:
	case KT_SCREEN_RESAMPLE:	/* the loop's deadline follows st */
		return show(rep, st);
	case KT_SCREEN_NONE:
		break;
	}
	return 0;
}

/*
 * top's loop: a report per interval, as text or JSON, or on the screen
 * (interactive), where keys between two intervals redraw the last report
 * without sampling. The caller ends the screen.
 */
static int run_top(struct kvmlock_top_bpf *skel, struct ring_buffer *rb,
		   const struct kt_opts *o, struct kt_history *hist,
		   uint64_t page_size, bool interactive)
{
	struct kt_screen_state st, *scr = interactive ? &st : NULL;
	struct kt_report rep = {};
	uint64_t last, n = 0, prom_failures = 0;
	unsigned int prom_in_row = 0;
	char msg[256];
	int err, key;

	kt_screen_init(&st, o);
	last = mono_ns();
	err = reconcile(skel, o, &hist->rec);
	if (err)
		return err;
	if (interactive) {
		if (kt_screen_start(msg, sizeof(msg))) {
			die_msg("%s", msg);
			return -1;
		}
		err = show(NULL, &st);
	}
	while (!err && (!o->count || n < o->count)) {
		uint64_t deadline = last + st.interval_s * 1000000000ULL;

		if (!interactive) {
			err = wait_interval(rb, deadline);
		} else {
			err = wait_key(rb, deadline, &key);
			if (err || exiting)
				break;
			if (key != KT_SCREEN_NO_KEY) {
				err = on_key(skel, hist, &st, key, n ? &rep : NULL, &last);
				if (err == 1)
					err = 0;
				else if (!err)
					continue;
				break;
			}
		}
		if (!err)
			err = end_interval(skel, o, hist, page_size, &last, &rep, scr);
		if (err)
			break;
		n++;
		if (interactive) {
			err = show(&rep, &st);
			st.status[0] = '\0';
		} else {
			if (o->json)
				kt_render_json(stdout, &rep);
			else
				kt_render_text(stdout, &rep);
			err = flush_output();
		}
		if (!err && o->prom_file) {
			err = write_prom(o->prom_file, &rep, scr, &prom_in_row,
					 &prom_failures);
			/* the warning now, not a whole interval later */
			if (!err && interactive && st.status[0]) {
				err = show(&rep, &st);
				st.status[0] = '\0';
			}
		}
		if (exiting)
			break;
	}
	kt_report_free(&rep);
	return err;
}

int main(int argc, char **argv)
{
	struct kvmlock_top_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	struct kt_history hist = {};
	struct kt_trace_fmt tfmt = {};
	struct sigaction sa = {};
	bool pinned = false, pin_dir_created = false, interactive;
	struct kt_pin pins[4];
	uint64_t page_size;
	struct kt_opts o;
	int err;

	if (kt_parse_args(argc, argv, &o, 0)) {
		die_msg("%s", o.err);
		return 2;
	}
	if (o.done)
		return 0;
	/* before anything is loaded: a typo must not wait for the first interval */
	if (o.prom_file) {
		char perr[PATH_MAX + 200];

		if (kt_prom_check(o.prom_file, perr, sizeof(perr))) {
			die_msg("%s", perr);
			return 1;
		}
	}
	/*
	 * The screen: top on a terminal, unless -b or -j. Keys come from
	 * stdin, so it must be the terminal too (</dev/null: plain text).
	 */
	interactive = o.mode == KT_MODE_TOP && !o.batch && !o.json &&
		      isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	verbose = o.verbose;
	libbpf_set_print(libbpf_print);
	page_size = (uint64_t)sysconf(_SC_PAGESIZE);

	if (o.mode == KT_MODE_CHECK)
		return run_check(&o);
	if (check_system(o.mode))
		return 1;

	err = 1;
	skel = kvmlock_top_bpf__open();
	if (!skel) {
		die_msg("cannot open the BPF object: %s", strerror(errno));
		goto cleanup;
	}
	memcpy((void *)skel->rodata->target_pids, o.pids, sizeof(o.pids));
	skel->rodata->nr_target_pids = o.nr_pids;
	/* only trace streams events: the others' ring stays empty, and small */
	skel->rodata->stream_events = o.mode == KT_MODE_TRACE;
	if (bpf_map__set_max_entries(skel->maps.events, o.mode == KT_MODE_TRACE ?
				     (uint32_t)o.ringbuf_size : (uint32_t)page_size)) {
		die_msg("cannot size the ring buffer");
		goto cleanup;
	}
	if (kvmlock_top_bpf__load(skel)) {
		die_msg("cannot load the BPF programs (run with -v for the verifier's log)");
		goto cleanup;
	}
	/*
	 * No SA_RESTART: a signal must end ring_buffer__poll() at once.
	 * Before pinning, so that these signals always unpin.
	 */
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);	/* the ssh session or terminal gone */
	sigaction(SIGQUIT, &sa, NULL);
	/* a closed pipe is EPIPE at the next write: flush_output() */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/*
	 * --pin: once the maps exist, before attaching, so that a refusal
	 * (no bpffs, the directory taken) leaves nothing attached and the
	 * pins cover every event; unpinned in the cleanup below.
	 */
	if (o.pin) {
		char perr[PATH_MAX * 2 + 200];

		pins[0] = (struct kt_pin){ "slots", bpf_map__fd(skel->maps.slots) };
		pins[1] = (struct kt_pin){ "vm_stats", bpf_map__fd(skel->maps.vm_stats) };
		pins[2] = (struct kt_pin){ "events", bpf_map__fd(skel->maps.events) };
		pins[3] = (struct kt_pin){ "counters", bpf_map__fd(skel->maps.bss) };
		if (kt_pin_maps(o.pin_dir, pins, 4, &pin_dir_created, perr, sizeof(perr))) {
			die_msg("%s", perr);
			goto cleanup;
		}
		pinned = true;
	}
	/* time 0 of trace: before attaching, so no event predates it */
	tfmt.mono0_ns = mono_ns();
	clock_gettime(CLOCK_REALTIME, &tfmt.wall0);
	tfmt.wall_clock = o.wall_clock;
	tfmt.json = o.json;
	tfmt.page_size = page_size;
	tfmt.min_latency_ns = o.min_latency_ns;
	if (kvmlock_top_bpf__attach(skel)) {
		die_msg("cannot attach to the kvm_memslot_* events: %s", strerror(errno));
		goto cleanup;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events),
			      o.mode == KT_MODE_TRACE ? on_trace_event : on_event,
			      &tfmt, NULL);
	if (!rb) {
		die_msg("cannot open the ring buffer: %s", strerror(errno));
		goto cleanup;
	}
	if (o.mode == KT_MODE_TOP) {
		if (!run_top(skel, rb, &o, &hist, page_size, interactive))
			err = 0;
	} else {
		/* no snapshot to reconcile with: unlocks may delete entries */
		skel->bss->reconcile_done = 1;
		if (o.mode == KT_MODE_TRACE ? !run_trace(skel, rb, &o, &tfmt)
					    : !run_hist(skel, rb, &o))
			err = 0;
	}
cleanup:
	kt_screen_end();
	if (fatal_msg[0])
		fprintf(stderr, "kvmlock-top: %s\n", fatal_msg);
	if (pinned && !o.keep_pinned &&
	    kt_unpin_maps(o.pin_dir, pins, 4, pin_dir_created))
		fprintf(stderr, "kvmlock-top: warning: cannot unpin the maps in %s\n",
			o.pin_dir);
	ring_buffer__free(rb);
	kvmlock_top_bpf__destroy(skel);
	kt_history_free(&hist);
	kt_vm_dirs_free(&vm_dirs);
	return err;
}
