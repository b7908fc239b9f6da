// SPDX-License-Identifier: GPL-2.0
/* What the host has and lacks for kvmlock-top (kvmlock-top check) */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpfstate.h"
#include "kstate.h"
#include "kvmlock-top.skel.h"
#include "report.h"
#include "syscheck.h"

#define DEBUGFS_MAGIC		0x64626720
#define BPF_FS_MAGIC		0xcafe4a11
#define CAP_SYS_ADMIN_BIT	21
#define CAP_PERFMON_BIT		38
#define CAP_BPF_BIT		39

#define ALL_MODES	(1U << KT_MODE_TOP | 1U << KT_MODE_TRACE | 1U << KT_MODE_HIST)

static const char *const mode_words[] = {
	[KT_MODE_TOP] = "top", [KT_MODE_TRACE] = "trace", [KT_MODE_HIST] = "hist",
};

__attribute__((format(printf, 3, 4)))
static void set(struct kt_check *c, enum kt_check_state state, const char *fmt, ...)
{
	va_list ap;

	c->state = state;
	va_start(ap, fmt);
	vsnprintf(c->text, sizeof(c->text), fmt, ap);
	va_end(ap);
}

/* CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON, in the effective set */
static void check_privileges(struct kt_check *c)
{
	char *status = kt_read_file("/proc/self/status"), *p;
	unsigned long long eff = 0;

	if (!status) {
		if (geteuid() == 0)
			set(c, KT_CHECK_OK, "root");
		else
			set(c, KT_CHECK_NO, "needs root, or CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)");
		return;
	}
	p = strstr(status, "\nCapEff:");
	if (p)
		eff = strtoull(p + 8, NULL, 16);
	free(status);
	if (eff >> CAP_SYS_ADMIN_BIT & 1)
		set(c, KT_CHECK_OK, "CAP_SYS_ADMIN%s", geteuid() ? "" : " (root)");
	else if ((eff >> CAP_BPF_BIT & 1) && (eff >> CAP_PERFMON_BIT & 1))
		set(c, KT_CHECK_OK, "CAP_BPF and CAP_PERFMON");
	else
		set(c, KT_CHECK_NO, "needs root, or CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)");
}

/* tracefs's events directory, or NULL */
static const char *events_dir(void)
{
	static const char *const dirs[] = {
		"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events",
	};
	struct stat st;
	size_t i;

	for (i = 0; i < 2; i++)
		if (!stat(dirs[i], &st) && S_ISDIR(st.st_mode))
			return dirs[i];
	return NULL;
}

/*
 * Names the kvm_memslot_* events the kernel lacks into buf. tracefs when
 * mounted; otherwise the raw tracepoints' btf_trace_* types in btf, the
 * kernel's BTF (NULL: it has none), which every tracepoint has and raw_tp
 * attaching needs. -1 when there is neither.
 */
static int missing_events(const char *events, const struct btf *btf, char *buf,
			  size_t len)
{
	char path[256], name[64];
	size_t i, off = 0;
	struct stat st;
	int n = 0;

	buf[0] = '\0';
	if (!events && !btf)
		return -1;
	for (i = 0; i < KT_NR_EVENTS; i++) {
		bool there;

		if (events) {
			snprintf(path, sizeof(path), "%s/kvm/%s", events, kt_event_layouts[i].name);
			there = !stat(path, &st);
		} else {
			snprintf(name, sizeof(name), "btf_trace_%s", kt_event_layouts[i].name);
			there = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) > 0;
		}
		if (there)
			continue;
		off += snprintf(buf + off, off < len ? len - off : 0, "%s%s",
				n++ ? ", " : "", kt_event_layouts[i].name);
	}
	return n;
}

/*
 * The events, and their arguments: the programs read them by position, so
 * a build for another version of the series would take one argument for
 * another. Checked where the kernel has BTF (without it, not at all).
 */
static void check_events(struct kt_check *c)
{
	struct kt_check *ev = &c[KT_CHECK_EVENTS], *args = &c[KT_CHECK_ARGS];
	const char *events = events_dir();
	struct btf *btf = NULL;
	char missing[512];
	struct stat st;
	bool has_btf;
	int n;

	if (events)
		set(&c[KT_CHECK_TRACEFS], KT_CHECK_OK, "%.*s",
		    (int)(strlen(events) - strlen("/events")), events);
	else
		set(&c[KT_CHECK_TRACEFS], KT_CHECK_NO,
		    "not mounted (mount -t tracefs none /sys/kernel/tracing): the events are looked for in the kernel's BTF");
	/*
	 * The kernel's BTF, read once for both checks. Looked for here, not
	 * by libbpf's own search: its warning would be a second line.
	 */
	has_btf = !stat("/sys/kernel/btf/vmlinux", &st);
	if (has_btf)
		btf = btf__load_vmlinux_btf();
	if (btf)
		set(&c[KT_CHECK_BTF], KT_CHECK_OK, "/sys/kernel/btf/vmlinux");
	else if (has_btf)
		set(&c[KT_CHECK_BTF], KT_CHECK_NO, "/sys/kernel/btf/vmlinux does not parse");
	else
		set(&c[KT_CHECK_BTF], KT_CHECK_NO,
		    "no /sys/kernel/btf/vmlinux: the events' arguments are not checked");

	n = missing_events(events, btf, missing, sizeof(missing));
	if (n < 0)
		set(ev, KT_CHECK_NO, "cannot look for the kvm_memslot_* events: no tracefs (mount -t tracefs none /sys/kernel/tracing) and no kernel BTF (/sys/kernel/btf/vmlinux)");
	else if (n)
		set(ev, KT_CHECK_NO, "the kernel lacks %d of the 9 kvm_memslot_* trace events (%s): it needs the kvmlock series",
		    n, missing);
	else
		set(ev, KT_CHECK_OK, "the 9 kvm_memslot_* trace events (in %s)",
		    events ? "tracefs" : "the kernel's BTF");

	if (ev->state != KT_CHECK_OK)
		set(args, KT_CHECK_SKIPPED, "not checked: the events are missing");
	else if (!has_btf)
		set(args, KT_CHECK_SKIPPED, "not checked: the kernel has no BTF");
	else if (!btf || (n = kt_check_event_layouts(btf, missing, sizeof(missing))) < 0)
		set(args, KT_CHECK_NO, "cannot read the kvm_memslot_* events' arguments in the kernel's BTF");
	else if (n)
		set(args, KT_CHECK_NO, "%s%s", missing, n > 1 ? " (and other events)" : "");
	else
		set(args, KT_CHECK_OK, "as this build reads them");
	btf__free(btf);
}

/* Only top reads debugfs (the kernel's locked memslots) */
static void check_debugfs(struct kt_check *c)
{
	struct statfs sfs;
	struct stat st;

	if (!stat(KT_DEBUGFS_KVM, &st)) {
		if (S_ISDIR(st.st_mode)) {
			set(c, KT_CHECK_OK, "%s", KT_DEBUGFS_KVM);
			return;
		}
		errno = ENOTDIR;
	}
	if (errno == EACCES)
		set(c, KT_CHECK_NO, "cannot read %s: %s (top reads debugfs, which is root's; trace and hist do not)",
		    KT_DEBUGFS_KVM, strerror(EACCES));
	else if (statfs("/sys/kernel/debug", &sfs) || sfs.f_type != DEBUGFS_MAGIC)
		set(c, KT_CHECK_NO, "debugfs is not mounted (no %s): mount -t debugfs none /sys/kernel/debug",
		    KT_DEBUGFS_KVM);
	else
		set(c, KT_CHECK_NO, "no %s: is KVM enabled in this kernel?", KT_DEBUGFS_KVM);
}

/* The programs through the verifier, and unloaded: nothing attached */
static void check_load(struct kt_check *c, const struct kt_check *priv)
{
	struct kvmlock_top_bpf *skel;
	int err;

	if (priv->state != KT_CHECK_OK) {
		set(c, KT_CHECK_SKIPPED, "not tried: no privileges");
		return;
	}
	skel = kvmlock_top_bpf__open();
	if (!skel) {
		set(c, KT_CHECK_NO, "cannot open the BPF object: %s", strerror(errno));
		return;
	}
	/* the smallest ring buffer: nothing is streamed here */
	err = bpf_map__set_max_entries(skel->maps.events, (uint32_t)sysconf(_SC_PAGESIZE));
	if (!err)
		err = kvmlock_top_bpf__load(skel);
	if (err)
		set(c, KT_CHECK_NO, "cannot load the BPF programs: %s (kvmlock-top check -v: the verifier's log)",
		    strerror(-err));
	else
		set(c, KT_CHECK_OK, "the verifier accepts the 9 programs");
	kvmlock_top_bpf__destroy(skel);
}

static void check_bpffs(struct kt_check *c)
{
	struct statfs sfs;

	if (!statfs("/sys/fs/bpf", &sfs) && sfs.f_type == BPF_FS_MAGIC)
		set(c, KT_CHECK_OK, "/sys/fs/bpf");
	else
		set(c, KT_CHECK_NO, "not mounted at /sys/fs/bpf: only --pin needs it (mount -t bpf bpf /sys/fs/bpf)");
}

void kt_probe_system(struct kt_check *c, bool load)
{
	static const struct {
		const char *name;
		unsigned int needed_by;
	} what[KT_NR_CHECKS] = {
		[KT_CHECK_PRIV] = { "privileges", ALL_MODES },
		[KT_CHECK_TRACEFS] = { "tracefs", 0 },
		[KT_CHECK_BTF] = { "kernel BTF", 0 },
		[KT_CHECK_EVENTS] = { "events", ALL_MODES },
		[KT_CHECK_ARGS] = { "arguments", ALL_MODES },
		[KT_CHECK_DEBUGFS] = { "debugfs", 1U << KT_MODE_TOP },
		[KT_CHECK_LOAD] = { "programs", ALL_MODES },
		[KT_CHECK_BPFFS] = { "bpffs", 0 },
	};
	size_t i;

	for (i = 0; i < KT_NR_CHECKS; i++) {
		c[i].name = what[i].name;
		c[i].needed_by = what[i].needed_by;
	}
	check_privileges(&c[KT_CHECK_PRIV]);
	check_events(c);
	check_debugfs(&c[KT_CHECK_DEBUGFS]);
	if (load)
		check_load(&c[KT_CHECK_LOAD], &c[KT_CHECK_PRIV]);
	else
		set(&c[KT_CHECK_LOAD], KT_CHECK_SKIPPED, "not tried");
	check_bpffs(&c[KT_CHECK_BPFFS]);
}

const struct kt_check *kt_check_blocker(const struct kt_check *c, enum kt_mode mode)
{
	size_t i;

	for (i = 0; i < KT_NR_CHECKS; i++)
		if (c[i].state == KT_CHECK_NO && (c[i].needed_by >> mode & 1))
			return &c[i];
	return NULL;
}

int kt_render_checks(FILE *f, const struct kt_check *c, bool json,
		     const struct timespec *wall)
{
	static const char *const states[] = {
		[KT_CHECK_OK] = "ok", [KT_CHECK_NO] = "missing", [KT_CHECK_SKIPPED] = "skipped",
	};
	static const char *const marks[] = {
		[KT_CHECK_OK] = "ok", [KT_CHECK_NO] = "NO", [KT_CHECK_SKIPPED] = "-",
	};
	char iso[40], line[128];
	size_t off = 0;
	bool all = true;
	int m, i, ok;

	if (json) {
		kt_fmt_iso(iso, sizeof(iso), wall);
		kt_json_open(f, "check", iso);
		fputs(",\"checks\":[", f);
		for (i = 0; i < KT_NR_CHECKS; i++) {
			fprintf(f, "%s{\"name\":\"%s\",\"state\":\"%s\",\"text\":", i ? "," : "",
				c[i].name, states[c[i].state]);
			kt_json_str(f, c[i].text);
			fputc('}', f);
		}
		fputs("],\"can_run\":{", f);
		for (m = KT_MODE_TOP; m <= KT_MODE_HIST; m++) {
			ok = !kt_check_blocker(c, (enum kt_mode)m);
			all &= ok;
			fprintf(f, "%s\"%s\":%s", m ? "," : "", mode_words[m], ok ? "true" : "false");
		}
		fputs("}}\n", f);
		return all ? 0 : 1;
	}
	fprintf(f, "kvmlock-top %s on this host:\n", KT_VERSION);
	for (i = 0; i < KT_NR_CHECKS; i++)
		fprintf(f, "  %-10s %-3s %s\n", c[i].name, marks[c[i].state], c[i].text);
	/* "can run: trace, hist; cannot run: top (debugfs)" */
	for (ok = 1; ok >= 0; ok--) {
		off = 0;
		for (m = KT_MODE_TOP; m <= KT_MODE_HIST; m++) {
			const struct kt_check *b = kt_check_blocker(c, (enum kt_mode)m);

			if (!!b == ok)
				continue;
			all &= !b;
			off += snprintf(line + off, sizeof(line) - off, "%s%s%s%s%s",
					off ? ", " : "", mode_words[m], b ? " (" : "",
					b ? b->name : "", b ? ")" : "");
		}
		if (ok)
			fprintf(f, "can run: %s", off ? line : "none");
		else if (off)
			fprintf(f, "; cannot run: %s", line);
	}
	fputc('\n', f);
	return all ? 0 : 1;
}
