// SPDX-License-Identifier: GPL-2.0
/* kvmlock-top's command line, kept apart from main() so tests parse it */
#include <argp.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"

const char *argp_program_version = "kvmlock-top " KT_VERSION;
const char *argp_program_bug_address = "<dev@kvmlock.invalid>";

static const char doc[] =
"Show the memslots that VMs lock (KVM_CAP_ARM_LOCK_USER_MEMORY_REGION): per VM,\n"
"locked slots, pages and memory, the VMM's VmLck against its RLIMIT_MEMLOCK,\n"
"lock and unlock operations, failures and lock latency.\n"
"\n"
"USAGE: kvmlock-top [top] [-S] [-b|-j] [-p PID] [-s KEY] [-r N]\n"
"                   [--prom-file FILE] [interval] [count]\n"
"       kvmlock-top trace [-j] [-T] [-p PID] [-d SECONDS]\n"
"       kvmlock-top hist [-A] [-m] [-j] [-p PID] [interval] [count]\n"
"       kvmlock-top check [-j]\n"
"\n"
"Modes, the first word: top (the default) is described here; trace prints one\n"
"line per event as it arrives, hist log2 histograms of lock and unlock latency,\n"
"check what this host has and lacks for them (kvmlock-top MODE --help).\n"
"\n"
"Sort keys (-s): pages (default), slots, memlock (VmLck), pct (VmLck/limit),\n"
"locks (in the interval), fails (failed locks, RLIMIT_MEMLOCK refusals among\n"
"them, since start), lat (p99 lock latency), largest first; pid and vm, ascending.\n"
"\n"
"On a terminal, an interactive screen redrawn every interval (h lists its\n"
"keys); otherwise, or with -b, plain text, one block per interval; with -j one\n"
"JSON object per line. --prom-file also writes every VM's figures, each\n"
"interval, to FILE in the Prometheus text format, for node_exporter's textfile\n"
"collector. Needs root (or CAP_BPF and CAP_PERFMON), debugfs and a kernel with\n"
"the kvmlock series (the kvm_memslot_* trace events).\n"
"\n"
"EXAMPLES:\n"
"    kvmlock-top             # every VM, each second, until Ctrl-C\n"
"    kvmlock-top -S 5        # also each locked memslot, every 5 s\n"
"    kvmlock-top -p 1234     # the VMs of VMM 1234 only\n"
"    kvmlock-top -s pct -r 5 # the 5 VMMs closest to their RLIMIT_MEMLOCK\n"
"    kvmlock-top -j 1 10     # 10 NDJSON objects, one a second\n"
"    kvmlock-top -b --prom-file /var/lib/prometheus/node-exporter/kvmlock.prom 15\n"
"                            # text on stdout, metrics for node_exporter\n"
"    kvmlock-top trace       # each event, until Ctrl-C\n"
"    kvmlock-top hist -m     # latency histograms in msecs, at Ctrl-C";


static const char trace_doc[] =
"Print each kvm_memslot_* event as it arrives, one line per event: the time,\n"
"the VM, the VMM's pid, the memslot, the event and its fields decoded; with -j\n"
"one JSON object per event (NDJSON). Events the ring buffer dropped are\n"
"reported in the stream (LOST n events). Runs until Ctrl-C, SIGTERM or -d.\n"
"\n"
"USAGE: kvmlock-top trace [-j] [-T] [-p PID] [-d SECONDS] [--min-latency TIME]\n"
"\n"
"EXAMPLES:\n"
"    kvmlock-top trace          # every event, seconds since start\n"
"    kvmlock-top trace -T -p 59 # VMM 59's, with wall clock timestamps\n"
"    kvmlock-top trace -j -d 10 # NDJSON for 10 seconds\n"
"    kvmlock-top trace --min-latency 100ms  # the LOCKs and UNLOCKs that\n"
"                               # took 100 ms or more";

static const char hist_doc[] =
"Summarise lock latency (successful LOCKs) and unlock latency (each memslot\n"
"unlocked) as log2 histograms, per VM or (-A) for all VMs, once at Ctrl-C or\n"
"every interval (the interval's operations only). With -j one JSON object per\n"
"interval (NDJSON).\n"
"\n"
"USAGE: kvmlock-top hist [-A] [-m] [-j] [-T] [-p PID] [interval] [count]\n"
"\n"
"EXAMPLES:\n"
"    kvmlock-top hist           # per VM, printed at Ctrl-C\n"
"    kvmlock-top hist -A -m 5   # all VMs together, msecs, every 5 s\n"
"    kvmlock-top hist -j 1 10   # 10 NDJSON objects, one a second";

static const char check_doc[] =
"List what this host has and lacks for kvmlock-top, one line each: the\n"
"privileges, the kvm_memslot_* trace events and their arguments (against what\n"
"this build reads), tracefs, the kernel's BTF, debugfs's KVM directory, the\n"
"BPF programs loading, and bpffs (for --pin). Then which modes can run. Exits\n"
"0 when every mode can, 1 otherwise. With -j one JSON object.\n"
"\n"
"USAGE: kvmlock-top check [-j]";

enum {
	OPT_RINGBUF = 0x100, OPT_USAGE, OPT_PROM_FILE, OPT_PIN, OPT_KEEP_PINNED,
	OPT_PIN_DIR, OPT_MIN_LATENCY,
};

#define OPT_RINGBUF_DOC \
	"Event ring buffer size: a power of two, a multiple of the page size, at most 1G (K, M, G suffixes; default 256K)"

static const struct argp_option opts[] = {
	{ "pid", 'p', "PID", 0, "Only the VMs of this VMM (repeatable, up to 16)", 0 },
	{ "sort", 's', "KEY", 0, "Sort VMs by KEY (see above)", 0 },
	{ "rows", 'r', "N", 0, "At most N VMs (totals still cover all)", 0 },
	{ "slots", 'S', NULL, 0, "Also one row per locked memslot", 0 },
	{ "batch", 'b', NULL, 0, "Plain text, not the interactive screen", 0 },
	{ "json", 'j', NULL, 0, "One JSON object per interval (NDJSON)", 0 },
	{ "prom-file", OPT_PROM_FILE, "FILE", 0,
	  "Also write each interval's figures to FILE (Prometheus text format, replaced atomically)", 0 },
	{ "pin", OPT_PIN, NULL, 0,
	  "Pin the maps (slots, vm_stats, events, counters) under " KT_PIN_DIR " for bpftool while running", 0 },
	{ "keep-pinned", OPT_KEEP_PINNED, NULL, 0, "--pin, and leave the pins there at exit", 0 },
	{ "pin-dir", OPT_PIN_DIR, "DIR", 0, "--pin, in DIR (its parent a bpffs mount) instead", 0 },
	{ "verbose", 'v', NULL, 0, "libbpf debug messages", 0 },
	{ "help", 'h', NULL, 0, "Show this help", -1 },
	{ "usage", OPT_USAGE, NULL, 0, "Show a short usage message", -1 },
	{ "version", 'V', NULL, 0, "Show the version", -1 },
	{},
};

static const struct argp_option trace_opts[] = {
	{ "pid", 'p', "PID", 0, "Only the VMs of this VMM (repeatable, up to 16)", 0 },
	{ "json", 'j', NULL, 0, "One JSON object per event (NDJSON)", 0 },
	{ "timestamp", 'T', NULL, 0, "Wall clock timestamps (ISO 8601, UTC), not seconds since start", 0 },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS (default: at Ctrl-C or SIGTERM)", 0 },
	{ "min-latency", OPT_MIN_LATENCY, "TIME", 0,
	  "Only the LOCKs and UNLOCKs that took TIME or more (their lock_end and unlock_end events): a number and ns, us, ms or s", 0 },
	{ "ringbuf-size", OPT_RINGBUF, "BYTES", 0, OPT_RINGBUF_DOC, 0 },
	{ "verbose", 'v', NULL, 0, "libbpf debug messages", 0 },
	{ "help", 'h', NULL, 0, "Show this help", -1 },
	{ "usage", OPT_USAGE, NULL, 0, "Show a short usage message", -1 },
	{ "version", 'V', NULL, 0, "Show the version", -1 },
	{},
};

static const struct argp_option check_opts[] = {
	{ "json", 'j', NULL, 0, "One JSON object", 0 },
	{ "verbose", 'v', NULL, 0, "libbpf debug messages", 0 },
	{ "help", 'h', NULL, 0, "Show this help", -1 },
	{ "usage", OPT_USAGE, NULL, 0, "Show a short usage message", -1 },
	{ "version", 'V', NULL, 0, "Show the version", -1 },
	{},
};

static const struct argp_option hist_opts[] = {
	{ "pid", 'p', "PID", 0, "Only the VMs of this VMM (repeatable, up to 16)", 0 },
	{ "all", 'A', NULL, 0, "One histogram for all VMs together, not one per VM", 0 },
	{ "milliseconds", 'm', NULL, 0, "Millisecond histograms (default: microseconds)", 0 },
	{ "json", 'j', NULL, 0, "One JSON object per interval (NDJSON)", 0 },
	{ "timestamp", 'T', NULL, 0, "A wall clock timestamp (ISO 8601, UTC) before each text output", 0 },
	{ "verbose", 'v', NULL, 0, "libbpf debug messages", 0 },
	{ "help", 'h', NULL, 0, "Show this help", -1 },
	{ "usage", OPT_USAGE, NULL, 0, "Show a short usage message", -1 },
	{ "version", 'V', NULL, 0, "Show the version", -1 },
	{},
};

static const char *const mode_names[] = {
	[KT_MODE_TOP] = "kvmlock-top",
	[KT_MODE_TRACE] = "kvmlock-top trace",
	[KT_MODE_HIST] = "kvmlock-top hist",
	[KT_MODE_CHECK] = "kvmlock-top check",
};

const char *kt_sort_names[] = {
	[KT_SORT_PAGES] = "pages",
	[KT_SORT_SLOTS] = "slots",
	[KT_SORT_MEMLOCK] = "memlock",
	[KT_SORT_PCT] = "pct",
	[KT_SORT_LOCKS] = "locks",
	[KT_SORT_FAILS] = "fails",
	[KT_SORT_LAT] = "lat",
	[KT_SORT_PID] = "pid",
	[KT_SORT_VM] = "vm",
	NULL,
};

static int fail(struct kt_opts *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(o->err, sizeof(o->err), fmt, ap);
	va_end(ap);
	return EINVAL;
}

/* A whole decimal number in [min, max], nothing else */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	unsigned long long x;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || *end || x < min || x > max)
		return -1;
	*v = x;
	return 0;
}

static int parse_size(const char *s, uint64_t *v)
{
	unsigned long long x, mult = 1;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end == 'K' || *end == 'k')
		mult = 1024, end++;
	else if (*end == 'M' || *end == 'm')
		mult = 1024 * 1024, end++;
	else if (*end == 'G' || *end == 'g')
		mult = 1024 * 1024 * 1024, end++;
	/* at most 1 GiB: ring buffer sizes are 32-bit, and that is plenty */
	if (*end || x > (1ULL << 30) / mult)
		return -1;
	*v = x * mult;
	return 0;
}

/* "100ms", "2s", "500us", "750ns": a whole number and its unit, in ns */
static int parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = { { "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", 1000000000 } };
	unsigned long long x;
	char *end;
	size_t i;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || !x)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(end, units[i].unit)) {
			if (x > UINT64_MAX / units[i].ns)
				return -1;
			*ns = x * units[i].ns;
			return 0;
		}
	return -1;
}

struct parse_state {
	struct kt_opts *o;
	int npos;
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct parse_state *ps = state->input;
	struct kt_opts *o = ps->o;
	uint64_t v;
	long page = sysconf(_SC_PAGESIZE);
	int i;

	switch (key) {
	case 'p':
		if (parse_u64(arg, 1, INT32_MAX, &v))
			return fail(o, "invalid pid '%s'", arg);
		if (o->nr_pids == KT_MAX_PIDS)
			return fail(o, "at most %d -p options", KT_MAX_PIDS);
		o->pids[o->nr_pids++] = (uint32_t)v;
		break;
	case 's':
		for (i = 0; kt_sort_names[i]; i++)
			if (!strcmp(arg, kt_sort_names[i]))
				break;
		if (!kt_sort_names[i])
			return fail(o, "unknown sort key '%s' (pages, slots, memlock, pct, locks, fails, lat, pid, vm)", arg);
		o->sort = (enum kt_sort)i;
		break;
	case 'r':
		if (parse_u64(arg, 1, 1000000, &v))
			return fail(o, "invalid row count '%s': a number from 1", arg);
		o->rows = v;
		break;
	case 'S':
		o->slots = true;
		break;
	case 'b':
		o->batch = true;
		break;
	case 'j':
		o->json = true;
		break;
	case 'v':
		o->verbose = true;
		break;
	case 'T':
		o->wall_clock = true;
		break;
	case 'd':
		if (parse_u64(arg, 1, 86400 * 365, &v))
			return fail(o, "invalid duration '%s': whole seconds from 1", arg);
		o->duration_s = v;
		break;
	case 'A':
		o->all_vms = true;
		break;
	case 'm':
		o->msecs = true;
		break;
	case OPT_MIN_LATENCY:
		if (parse_duration(arg, &v))
			return fail(o, "invalid latency '%s': a whole number from 1 and ns, us, ms or s (100ms)",
				    arg);
		o->min_latency_ns = v;
		break;
	case OPT_RINGBUF:
		if (parse_size(arg, &v) || v < (uint64_t)page || (v & (v - 1)) ||
		    v % (uint64_t)page)
			return fail(o, "invalid ring buffer size '%s': a power of two, a multiple of the page size (%ld), at most 1G",
				    arg, page);
		o->ringbuf_size = v;
		break;
	case OPT_PROM_FILE:
		if (!*arg)
			return fail(o, "invalid --prom-file '': a file name");
		o->prom_file = arg;
		break;
	case OPT_KEEP_PINNED:
		o->keep_pinned = true;
		/* fall through */
	case OPT_PIN:
		o->pin = true;
		break;
	case OPT_PIN_DIR:
		if (!*arg || !strcmp(arg, "/"))
			return fail(o, "invalid --pin-dir '%s': a directory to create in a bpffs mount", arg);
		o->pin_dir = arg;
		o->pin = true;
		break;
	/*
	 * Ours, not argp's: ARGP_NO_ERRS (one-line errors) silences argp's
	 * own --help as well.
	 */
	case 'h':
		argp_help(state->root_argp, stdout, ARGP_HELP_STD_HELP,
			  (char *)mode_names[o->mode]);
		o->done = true;
		break;
	case OPT_USAGE:
		argp_help(state->root_argp, stdout, ARGP_HELP_USAGE,
			  (char *)mode_names[o->mode]);
		putchar('\n');
		o->done = true;
		break;
	case 'V':
		printf("%s\n", argp_program_version);
		o->done = true;
		break;
	case ARGP_KEY_ARG:
		if (o->mode == KT_MODE_TRACE || o->mode == KT_MODE_CHECK)
			return fail(o, "unexpected argument '%s' (%s takes none)", arg,
				    o->mode == KT_MODE_TRACE ? "trace" : "check");
		if (ps->npos == 0) {
			if (parse_u64(arg, 1, 86400, &v))
				return fail(o, "invalid interval '%s': whole seconds from 1 to 86400", arg);
			o->interval_s = v;
		} else if (ps->npos == 1) {
			if (parse_u64(arg, 1, UINT32_MAX, &v))
				return fail(o, "invalid count '%s': a number from 1", arg);
			o->count = v;
		} else {
			return fail(o, "unexpected argument '%s' (only [interval] [count])", arg);
		}
		ps->npos++;
		break;
	case ARGP_KEY_ERROR:
		/* argp's own errors (unknown option, missing argument): name it */
		if (!o->err[0])
			fail(o, "bad option '%s' (see %s --help)",
			     state->next > 0 && state->next <= state->argc ?
			     state->argv[state->next - 1] : "?", mode_names[o->mode]);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int kt_parse_args(int argc, char **argv, struct kt_opts *o, unsigned int argp_flags)
{
	static const struct argp argps[] = {
		[KT_MODE_TOP] = { opts, parse_opt, "[interval] [count]", doc,
				  NULL, NULL, NULL },
		[KT_MODE_TRACE] = { trace_opts, parse_opt, NULL, trace_doc,
				    NULL, NULL, NULL },
		[KT_MODE_HIST] = { hist_opts, parse_opt, "[interval] [count]",
				   hist_doc, NULL, NULL, NULL },
		[KT_MODE_CHECK] = { check_opts, parse_opt, NULL, check_doc,
				    NULL, NULL, NULL },
	};
	struct parse_state ps = { .o = o };
	int err;

	memset(o, 0, sizeof(*o));
	o->interval_s = 1;
	o->sort = KT_SORT_PAGES;
	o->ringbuf_size = KT_RINGBUF_DEFAULT;
	o->pin_dir = KT_PIN_DIR;
	/*
	 * The mode is the first word, as with perf and bpftool; argp then
	 * sees it as the program name. Anything else is top's [interval].
	 */
	if (argc > 1 && !strcmp(argv[1], "top")) {
		argc--, argv++;
	} else if (argc > 1 && !strcmp(argv[1], "trace")) {
		o->mode = KT_MODE_TRACE;
		argc--, argv++;
	} else if (argc > 1 && !strcmp(argv[1], "hist")) {
		o->mode = KT_MODE_HIST;
		o->interval_s = 0;	/* once, at the end, like biolatency */
		argc--, argv++;
	} else if (argc > 1 && !strcmp(argv[1], "check")) {
		o->mode = KT_MODE_CHECK;
		argc--, argv++;
	}
	/* ARGP_NO_ERRS: one line of ours, not argp's two */
	err = argp_parse(&argps[o->mode], argc, argv,
			 ARGP_NO_ERRS | ARGP_NO_HELP | argp_flags, NULL, &ps);
	if (err && !o->err[0])
		fail(o, "bad command line (see %s --help)", mode_names[o->mode]);
	return err;
}

bool kt_pid_wanted(const struct kt_opts *o, uint32_t pid)
{
	uint32_t i;

	if (!o->nr_pids)
		return true;
	for (i = 0; i < o->nr_pids; i++)
		if (o->pids[i] == pid)
			return true;
	return false;
}
