// SPDX-License-Identifier: GPL-2.0
/* kvmlock-top --prom-file: the Prometheus text format, written atomically */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "options.h"
#include "prom.h"

/* --- values and labels ---------------------------------------------- */

/* ns as seconds, exactly: decimal digits, not a float's rounding */
static void fmt_seconds(char *buf, size_t len, uint64_t ns)
{
	uint64_t s = ns / 1000000000ULL, frac = ns % 1000000000ULL;
	size_t n;

	if (!frac) {
		snprintf(buf, len, "%" PRIu64, s);
		return;
	}
	snprintf(buf, len, "%" PRIu64 ".%09" PRIu64, s, frac);
	n = strlen(buf);
	while (buf[n - 1] == '0')
		buf[--n] = '\0';
}

/*
 * The text format escapes backslash, double quote and newline in label
 * values, and must be UTF-8: a comm is any bytes, so a byte that is not
 * part of valid UTF-8 becomes '?' (one bad comm must not void the file).
 */
void kt_prom_label_value(char *buf, size_t len, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, n;

	/* room for the longest step (4 bytes) and the NUL */
	while (*p && o + 4 < len) {
		if (*p == '\\' || *p == '"') {
			buf[o++] = '\\';
			buf[o++] = (char)*p++;
		} else if (*p == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
			p++;
		} else if (*p < 0x80) {
			buf[o++] = (char)*p++;
		} else if ((n = kt_utf8_len(p))) {
			memcpy(buf + o, p, n);
			o += n;
			p += n;
		} else {
			buf[o++] = '?';
			p++;
		}
	}
	buf[o] = '\0';
}

/* --- rendering ------------------------------------------------------- */

/*
 * A VMM: one process, however many VMs it has. Its comm is read with
 * each of its VMs' rows; the first row that found the process gives it,
 * so kvmlock_vm_info has one comm per pid in a file.
 */
struct vmm_ref {
	uint32_t pid;
	uint64_t vm;			/* the VM its process was read with */
	const struct kt_proc *proc;	/* NULL: the process is gone */
	const struct kt_vmm_id *id;	/* of its lowest VM's row */
	char labels[24];		/* pid="59" */
	char comm[4 * KT_COMM_LEN];	/* escaped; "" when gone */
	/* ,name="...",cgroup="..." (escaped), each only when known */
	char id_labels[16 + 2 * (4 * 64 + 4 * 256)];
};

struct vm_ref {
	const struct kt_vm_row *row;
	const struct vmm_ref *vmm;
	char labels[32];		/* vm="2" */
};

static int ref_cmp(const void *a, const void *b)
{
	const struct vm_ref *x = a, *y = b;

	return x->row->vm < y->row->vm ? -1 : x->row->vm > y->row->vm;
}

static int vmm_cmp(const void *a, const void *b)
{
	const struct vmm_ref *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* by pid, then VM id: the order collect_vmms() picks a process in */
static int vmm_vm_cmp(const void *a, const void *b)
{
	const struct vmm_ref *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->vm < y->vm ? -1 : x->vm > y->vm;
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, const char *labels,
		   const char *extra, const char *val)
{
	if (labels && extra)
		fprintf(f, "%s{%s,%s} %s\n", name, labels, extra, val);
	else if (labels || extra)
		fprintf(f, "%s{%s} %s\n", name, labels ? labels : extra, val);
	else
		fprintf(f, "%s %s\n", name, val);
}

static void sample_u64(FILE *f, const char *name, const char *labels,
		       const char *extra, uint64_t v)
{
	char val[24];

	snprintf(val, sizeof(val), "%" PRIu64, v);
	sample(f, name, labels, extra, val);
}

/* A family of one series without labels: the name is written once */
static void single(FILE *f, const char *name, const char *type, const char *help,
		   uint64_t v)
{
	family(f, name, type, help);
	sample_u64(f, name, NULL, NULL, v);
}

/* One gauge or counter of every VM, from a field of its row */
#define PER_VM(name, type, help, expr) do {				\
	family(f, name, type, help);					\
	for (i = 0; i < n; i++) {					\
		const struct kt_vm_row *row = v[i].row;			\
		sample_u64(f, name, v[i].labels, NULL, (expr));		\
	}								\
} while (0)

/*
 * The host's histogram of successful locks, from cum, the log-linear
 * histogram. Each le is 2^k - 1 ns, the upper bound of the last
 * sub-bucket below 2^k, so every count is exact.
 */
static void histogram_series(FILE *f, const char *name, const struct kt_agg *cum)
{
	char le[48], val[32], series[96];
	uint64_t count = 0;
	uint32_t b = 0, end;
	unsigned int k;

	snprintf(series, sizeof(series), "%s_bucket", name);
	for (k = KT_PROM_LE_FIRST; k <= KT_PROM_LE_LAST; k++) {
		end = kt_hist_bucket(1ULL << k);
		for (; b < end; b++)
			count += cum->lat_hist[b];
		fmt_seconds(val, sizeof(val), (1ULL << k) - 1);
		snprintf(le, sizeof(le), "le=\"%s\"", val);
		sample_u64(f, series, NULL, le, count);
	}
	for (; b < KT_HIST_BUCKETS; b++)
		count += cum->lat_hist[b];
	sample_u64(f, series, NULL, "le=\"+Inf\"", count);
	fmt_seconds(val, sizeof(val), cum->lat_sum_ns);
	snprintf(series, sizeof(series), "%s_sum", name);
	sample(f, series, NULL, NULL, val);
	snprintf(series, sizeof(series), "%s_count", name);
	sample_u64(f, series, NULL, NULL, count);
}

/*
 * The host's operation counters: every VM's since the tool started, VMs
 * gone included, each series there from the first file on (0 before any
 * operation). A per-VM series appears with its VM, its first value
 * already counted, which increase() and rate() cannot see: alerts on a
 * VM's first interval, or on a VM gone within one, need these.
 */
static void host_counters(FILE *f, const struct kt_report *r)
{
	const struct kt_agg *all = &r->totals.cum;

	family(f, "kvmlock_host_lock_operations_total", "counter",
	       "Memslot LOCK operations that ended, by result, of every VM (gone ones too) since kvmlock-top started.");
	sample_u64(f, "kvmlock_host_lock_operations_total", NULL, "result=\"ok\"",
		   all->locks_ok);
	sample_u64(f, "kvmlock_host_lock_operations_total", NULL, "result=\"failed\"",
		   all->locks_failed);
	single(f, "kvmlock_host_unlocked_slots_total", "counter",
	       "Memslots unlocked, of every VM (gone ones too) since kvmlock-top started.",
	       all->unlocks);
	single(f, "kvmlock_host_unlock_failures_total", "counter",
	       "Memslot UNLOCK operations that failed, of every VM (gone ones too) since kvmlock-top started.",
	       all->unlocks_failed);
	single(f, "kvmlock_host_memlock_account_failures_total", "counter",
	       "LOCKs refused because RLIMIT_MEMLOCK would be exceeded, of every VM (gone ones too) since kvmlock-top started.",
	       all->account_failures);
	family(f, "kvmlock_host_lock_duration_seconds", "histogram",
	       "Duration of the successful memslot LOCKs of every VM (gone ones too) since kvmlock-top started.");
	histogram_series(f, "kvmlock_host_lock_duration_seconds", all);
}

/* VmLck and the limit are the process's: one series per VMM, by pid */
static void per_vmm(FILE *f, const struct vmm_ref *m, size_t n)
{
	bool any;
	size_t i;

	for (i = 0, any = false; i < n; i++)
		any |= m[i].proc && m[i].proc->vmlck_known;
	if (any) {
		family(f, "kvmlock_vmm_locked_bytes", "gauge",
		       "The VMM's whole locked memory (VmLck of /proc/PID/status).");
		for (i = 0; i < n; i++)
			if (m[i].proc && m[i].proc->vmlck_known)
				sample_u64(f, "kvmlock_vmm_locked_bytes", m[i].labels,
					   NULL, m[i].proc->vmlck_bytes);
	}
	for (i = 0, any = false; i < n; i++)
		any |= m[i].proc && m[i].proc->limit_known;
	if (!any)
		return;
	family(f, "kvmlock_vmm_memlock_limit_bytes", "gauge",
	       "The VMM's RLIMIT_MEMLOCK soft limit; +Inf when unlimited.");
	for (i = 0; i < n; i++) {
		const struct kt_proc *p = m[i].proc;

		if (!p || !p->limit_known)
			continue;
		if (p->limit_unlimited)
			sample(f, "kvmlock_vmm_memlock_limit_bytes", m[i].labels,
			       NULL, "+Inf");
		else
			sample_u64(f, "kvmlock_vmm_memlock_limit_bytes", m[i].labels,
				   NULL, p->limit_bytes);
	}
}

static void per_vm(FILE *f, const struct vm_ref *v, size_t n, const struct kt_report *r)
{
	uint64_t wall_ns = (uint64_t)r->wall.tv_sec * 1000000000ULL + r->wall.tv_nsec;
	uint64_t ps = r->page_size;
	char val[32];
	bool any;
	size_t i;

	family(f, "kvmlock_vm_info", "gauge",
	       "A live VM and its VMM: pid, comm (empty when the process is gone), and when known QEMU's -name (name) and its cgroup; the value is always 1.");
	for (i = 0; i < n; i++) {
		const struct vmm_ref *m = v[i].vmm;
		char extra[sizeof(m->labels) + sizeof(m->comm) + sizeof(m->id_labels) + 16];

		snprintf(extra, sizeof(extra), "%s,comm=\"%s\"%s", m->labels, m->comm,
			 m->id_labels);
		sample(f, "kvmlock_vm_info", v[i].labels, extra, "1");
	}
	PER_VM("kvmlock_locked_slots", "gauge",
	       "Memslots the VM has locked now.", row->locked_slots);
	PER_VM("kvmlock_locked_pages", "gauge",
	       "Pages of the VM's locked memslots.", row->locked_pages);

	family(f, "kvmlock_locked_bytes", "gauge",
	       "Memory of the VM's locked memslots, by mode: rw (KVM_ARM_LOCK_MEM_WRITE) or ro; all of it is charged to the VMM's RLIMIT_MEMLOCK.");
	for (i = 0; i < n; i++) {
		sample_u64(f, "kvmlock_locked_bytes", v[i].labels, "mode=\"rw\"",
			   v[i].row->rw_pages * ps);
		sample_u64(f, "kvmlock_locked_bytes", v[i].labels, "mode=\"ro\"",
			   v[i].row->ro_pages * ps);
	}

	family(f, "kvmlock_lock_operations_total", "counter",
	       "Memslot LOCK operations that ended, by result.");
	for (i = 0; i < n; i++) {
		sample_u64(f, "kvmlock_lock_operations_total", v[i].labels,
			   "result=\"ok\"", v[i].row->cum.locks_ok);
		sample_u64(f, "kvmlock_lock_operations_total", v[i].labels,
			   "result=\"failed\"", v[i].row->cum.locks_failed);
	}
	PER_VM("kvmlock_unlocked_slots_total", "counter",
	       "Memslots unlocked: by UNLOCK, UNLOCK_ALL or the VM's destruction.",
	       row->cum.unlocks);
	PER_VM("kvmlock_unlock_failures_total", "counter",
	       "Memslot UNLOCK operations that failed.", row->cum.unlocks_failed);
	PER_VM("kvmlock_memlock_account_failures_total", "counter",
	       "LOCKs refused because RLIMIT_MEMLOCK would be exceeded.",
	       row->cum.account_failures);
	PER_VM("kvmlock_deferred_operations_total", "counter",
	       "Deferred memslot operations (first runs, cache maintenance).",
	       row->cum.deferred_ops);

	/* per VM, sum and count only: the buckets are the host's */
	family(f, "kvmlock_lock_duration_seconds", "summary",
	       "Duration of the VM's successful memslot LOCKs since kvmlock-top started (the buckets: kvmlock_host_lock_duration_seconds).");
	for (i = 0; i < n; i++) {
		const struct kt_agg *cum = &v[i].row->cum;

		fmt_seconds(val, sizeof(val), cum->lat_sum_ns);
		sample(f, "kvmlock_lock_duration_seconds_sum", v[i].labels, NULL, val);
		sample_u64(f, "kvmlock_lock_duration_seconds_count", v[i].labels, NULL,
			   cum->locks_ok);
	}

	for (i = 0, any = false; i < n; i++)
		any |= v[i].row->age_valid;
	if (!any)
		return;
	family(f, "kvmlock_last_event_timestamp_seconds", "gauge",
	       "When the VM's last kvm_memslot_* event happened, in seconds since the epoch.");
	for (i = 0; i < n; i++) {
		if (!v[i].row->age_valid)
			continue;
		fmt_seconds(val, sizeof(val), wall_ns - v[i].row->age_ns);
		sample(f, "kvmlock_last_event_timestamp_seconds", v[i].labels, NULL, val);
	}
}

/* name and cgroup, escaped, as more labels of kvmlock_vm_info */
static void id_labels(struct vmm_ref *m)
{
	char name[4 * sizeof(m->id->name)], cgroup[4 * sizeof(m->id->cgroup)];
	size_t off = 0;

	m->id_labels[0] = '\0';
	if (m->id->name[0]) {
		kt_prom_label_value(name, sizeof(name), m->id->name);
		off += snprintf(m->id_labels + off, sizeof(m->id_labels) - off,
				",name=\"%s\"", name);
	}
	if (m->id->cgroup[0]) {
		kt_prom_label_value(cgroup, sizeof(cgroup), m->id->cgroup);
		snprintf(m->id_labels + off, sizeof(m->id_labels) - off,
			 ",cgroup=\"%s\"", cgroup);
	}
}

/*
 * The VMMs of r's rows, one per pid, sorted by pid, in m; returns how
 * many. Each takes the process of its VM with the lowest id whose row
 * found it, whatever order -s gave the rows.
 */
static size_t collect_vmms(struct vmm_ref *m, const struct kt_report *r)
{
	size_t i, n = 0;

	for (i = 0; i < r->nr_vms; i++) {
		m[i].pid = r->rows[i].pid;
		m[i].vm = r->rows[i].vm;
		m[i].proc = r->rows[i].proc.known ? &r->rows[i].proc : NULL;
		m[i].id = &r->rows[i].id;
	}
	qsort(m, r->nr_vms, sizeof(*m), vmm_vm_cmp);
	for (i = 0; i < r->nr_vms; i++) {
		if (n && m[n - 1].pid == m[i].pid) {
			if (!m[n - 1].proc)
				m[n - 1].proc = m[i].proc;
			continue;
		}
		m[n++] = m[i];
	}
	for (i = 0; i < n; i++) {
		snprintf(m[i].labels, sizeof(m[i].labels), "pid=\"%" PRIu32 "\"", m[i].pid);
		kt_prom_label_value(m[i].comm, sizeof(m[i].comm),
				    m[i].proc ? m[i].proc->comm : "");
		id_labels(&m[i]);
	}
	return n;
}

int kt_render_prom(FILE *f, const struct kt_report *r)
{
	struct vm_ref *v = NULL;
	struct vmm_ref *m = NULL, key;
	size_t i, n = r->nr_vms, nm = 0;

	if (n) {
		v = calloc(n, sizeof(*v));
		m = calloc(n, sizeof(*m));
		if (!v || !m) {
			free(v);
			free(m);
			return -ENOMEM;
		}
		nm = collect_vmms(m, r);
	}
	for (i = 0; i < n; i++) {
		const struct kt_vm_row *row = &r->rows[i];

		v[i].row = row;
		key.pid = row->pid;
		v[i].vmm = bsearch(&key, m, nm, sizeof(*m), vmm_cmp);
		snprintf(v[i].labels, sizeof(v[i].labels), "vm=\"%" PRIu64 "\"", row->vm);
	}
	/* by VM id: a stable file whatever -s says */
	qsort(v, n, sizeof(*v), ref_cmp);

	family(f, "kvmlock_exporter_build_info", "gauge",
	       "kvmlock-top's version, as a label; the value is always 1.");
	sample(f, "kvmlock_exporter_build_info", NULL, "version=\"" KT_VERSION "\"", "1");
	single(f, "kvmlock_vms", "gauge", "Live VMs (those of the -p VMMs with -p).",
	       r->nr_vms);
	single(f, "kvmlock_events_received_total", "counter",
	       "kvm_memslot_* events of the VMs watched, counted by the BPF programs.",
	       r->events_received_total);
	single(f, "kvmlock_events_lost_total", "counter",
	       "Event records lost to a full ring buffer: 0, top streams none.",
	       r->events_lost_total);
	family(f, "kvmlock_reconciled_slots_total", "counter",
	       "Start-up reconciliation: slots seeded from the kernel state, skipped (events had them), tombstones.");
	sample_u64(f, "kvmlock_reconciled_slots_total", NULL, "kind=\"seeded\"", r->seeded);
	sample_u64(f, "kvmlock_reconciled_slots_total", NULL, "kind=\"skipped\"", r->skipped);
	sample_u64(f, "kvmlock_reconciled_slots_total", NULL, "kind=\"tombstone\"",
		   r->tombstones);
	single(f, "kvmlock_state_mismatch_vms", "gauge",
	       "VMs whose kernel locked_slots/locked_pages differ from kvmlock-top's figures.",
	       r->state_mismatches);
	single(f, "kvmlock_map_update_errors_total", "counter",
	       "BPF map updates lost to full maps.", r->map_update_errors);
	single(f, "kvmlock_exporter_write_failures_total", "counter",
	       "Writes of this file that failed; each is retried at the next interval, and 5 in a row end kvmlock-top.",
	       r->prom_write_failures);
	host_counters(f, r);

	if (n) {
		per_vmm(f, m, nm);
		per_vm(f, v, n, r);
	}
	free(v);
	free(m);
	return 0;
}

/* --- the file -------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static void fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/* path's directory into dir ("." for a bare name) */
static void dir_of(char *dir, size_t len, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(dir, len, ".");
	else if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

/* A temporary file beside path (not *.prom, so the collector skips it) */
static int open_tmp(const char *path, char *tmp, size_t len)
{
	int fd;

	if ((size_t)snprintf(tmp, len, "%s.tmp.XXXXXX", path) >= len)
		return -ENAMETOOLONG;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	/* mkstemp makes it 0600: node_exporter usually runs as another user */
	if (fchmod(fd, 0644)) {
		int e = -errno;

		close(fd);
		unlink(tmp);
		return e;
	}
	return fd;
}

int kt_prom_check(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	struct stat st;
	int fd;

	if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
		fail(err, errlen, "--prom-file %s: a directory, not a file", path);
		return -EISDIR;
	}
	dir_of(dir, sizeof(dir), path);
	if (stat(dir, &st)) {
		int e = errno;

		if (e == ENOENT)
			fail(err, errlen, "--prom-file %s: directory %s does not exist",
			     path, dir);
		else
			fail(err, errlen, "--prom-file %s: directory %s: %s", path, dir,
			     strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		fail(err, errlen, "--prom-file %s: %s is not a directory", path, dir);
		return -ENOTDIR;
	}
	/* the real test: access() says nothing of read-only mounts or ACLs */
	fd = open_tmp(path, tmp, sizeof(tmp));
	if (fd < 0) {
		fail(err, errlen, "--prom-file %s: cannot create files in %s: %s",
		     path, dir, strerror(-fd));
		return fd;
	}
	close(fd);
	unlink(tmp);
	return 0;
}

int kt_prom_write(const char *path, const struct kt_report *r, char *err,
		  size_t errlen)
{
	char tmp[PATH_MAX];
	int fd, ret;
	FILE *f;

	fd = open_tmp(path, tmp, sizeof(tmp));
	if (fd < 0) {
		fail(err, errlen, "cannot write %s: %s", path, strerror(-fd));
		return fd;
	}
	f = fdopen(fd, "w");
	if (!f) {
		ret = -errno;
		close(fd);
		goto out;
	}
	ret = kt_render_prom(f, r);
	if (fflush(f) || ferror(f))
		ret = -(errno ? errno : EIO);
	if (fclose(f) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
out:
	if (ret) {
		unlink(tmp);
		fail(err, errlen, "cannot write %s: %s", path, strerror(-ret));
	}
	return ret;
}
